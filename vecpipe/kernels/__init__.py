"""Fast pandas-equivalent kernels, each a vecpipe stage with hand-written Numba variants.

Every public function equals a pandas (or NumPy) expression, its stage's reference, and
takes NumPy arrays, Series and DataFrames; :data:`REGISTRY` lists them with that
expression, for the tests and the benchmarks. Families: :mod:`vecpipe.kernels.moving`
(rolling windows), :mod:`vecpipe.kernels.cumulative` (running totals, expanding mean),
:mod:`vecpipe.kernels.ewm` (exponentially weighted), :mod:`vecpipe.kernels.fill`
(forward and backward fill), :mod:`vecpipe.kernels.binning` (digitize, histogram),
:mod:`vecpipe.kernels.grouped` (group-by aggregations),
:mod:`vecpipe.kernels.group_transforms` (group-wise cumsum, demean, zscore, rolling mean).

Examples
--------
>>> import numpy as np
>>> import vecpipe.kernels as vk
>>> vk.rolling_mean(np.arange(4.0), 2)
array([nan, 0.5, 1.5, 2.5])
"""

from __future__ import annotations

from vecpipe.kernels._core import REGISTRY, KernelSpec
from vecpipe.kernels.binning import digitize, histogram
from vecpipe.kernels.cumulative import cummax, cummin, cumprod, cumsum, expanding_mean
from vecpipe.kernels.ewm import ewm_mean, ewm_std, ewm_var
from vecpipe.kernels.fill import bfill, ffill
from vecpipe.kernels.group_transforms import (
    group_cumsum,
    group_demean,
    group_rolling_mean,
    group_zscore,
)
from vecpipe.kernels.grouped import (
    group_count,
    group_first,
    group_last,
    group_max,
    group_mean,
    group_min,
    group_prod,
    group_std,
    group_sum,
    group_var,
)
from vecpipe.kernels.moving import (
    rolling_count,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_std,
    rolling_sum,
    rolling_var,
)

__all__ = [
    "REGISTRY",
    "KernelSpec",
    "bfill",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "digitize",
    "ewm_mean",
    "ewm_std",
    "ewm_var",
    "expanding_mean",
    "ffill",
    "group_count",
    "group_cumsum",
    "group_demean",
    "group_first",
    "group_last",
    "group_max",
    "group_mean",
    "group_min",
    "group_prod",
    "group_rolling_mean",
    "group_std",
    "group_sum",
    "group_var",
    "group_zscore",
    "histogram",
    "rolling_count",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
]
