"""Group-wise transforms: one value per row, computed within each row's group, as pandas.

``group_cumsum(x, keys)`` equals ``s.groupby(keys).cumsum()``; ``group_demean`` equals
``s - s.groupby(keys).transform("mean")``; ``group_zscore`` equals ``(s - mean) /
s.groupby(keys).transform("std")``; ``group_rolling_mean(x, keys, window)`` equals
``s.groupby(keys).rolling(window).mean()`` put back in the original row order. Rows keep
their place; a row whose key is missing (and dropped, ``dropna=True``) gets NaN.

Keys are factorized as for the aggregations (:mod:`vecpipe.kernels.grouped`), into codes
with -1 for a dropped key; each stage takes ``(values, codes)``. The Numba variants
follow pandas' arithmetic so that they compare exactly (zscore to rounding): the running
sum is Kahan-compensated without resetting the compensation after an infinity (pandas'
``group_cumsum``: everything after an infinity in a group is NaN), the means are the
aggregations' Kahan means, the standard deviation is their Welford ``ddof=1``. The
rolling mean runs the moving-window kernel of :mod:`vecpipe.kernels.moving` on each
group's rows in order, which is what pandas does (its windows restart at each group).
Scratch: O(groups) for cumsum, demean and zscore; the rolling mean gathers each group's
rows together, so it needs an O(rows) order and value buffer, as pandas does.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _alloc, _compile, _core
from vecpipe.kernels import grouped as _grouped
from vecpipe.kernels import moving as _moving

__all__ = ["STAGES", "group_cumsum", "group_demean", "group_rolling_mean", "group_zscore"]

_MAX_SIZE = 60
# order="C": the public functions pass contiguous arrays (see grouped._INPUTS).
_CODES = _spec.array("int64", max_size=_MAX_SIZE, min_value=-1, max_value=6, order="C")
_INPUTS = _spec.Spec(_spec.array("float64", max_size=_MAX_SIZE, order="C"), _CODES)
# zscore divides by a standard deviation: values bounded as for the moving var/std, where
# pandas' rounding residue in a constant group would otherwise meet our exact zero.
_ZSCORE_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE, min_value=-1e3, max_value=1e3, order="C"), _CODES
)
_ROLLING_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE, order="C"),
    _CODES,
    _spec.window(),
    _spec.sampled_from([None, 0, 1]),
)
# auto=False: the references are pandas calls. chunkable=False: a slice of the rows cuts
# groups in two.
_STAGE: dict[str, Any] = {"chunkable": False, "auto": False}


def _keys(codes: np.ndarray) -> np.ndarray:
    """Codes as pandas keys: -1 becomes NaN, which groupby drops."""
    return np.where(codes < 0, np.nan, codes.astype(np.float64))


# -- kernels --------------------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _cumsum_core(x, codes, ng):
    out = _alloc.empty(x.shape[0])
    acc = np.zeros(ng)
    comp = np.zeros(ng)
    for i in range(x.shape[0]):
        g = codes[i]
        v = x[i]
        if g < 0 or np.isnan(v):
            out[i] = np.nan
            continue
        y = v - comp[g]
        t = acc[g] + y
        comp[g] = t - acc[g] - y
        acc[g] = t
        out[i] = t
    return out


# error_model="numpy": x / 0 is inf or NaN, as in pandas, not ZeroDivisionError.
@numba.njit(nogil=True, cache=True, error_model="numpy")
def _standardize(x, codes, mean, scale, lo, hi, out):
    """``out[i] = (x[i] - mean[g]) / scale[g]`` (no scale: None), NaN for dropped keys."""
    for i in range(lo, hi):
        g = codes[i]
        if g < 0:
            out[i] = np.nan
        elif scale is None:
            out[i] = x[i] - mean[g]
        else:
            out[i] = (x[i] - mean[g]) / scale[g]


@numba.njit(nogil=True, cache=True, inline="always")
def _group_bounds(codes, ng):
    """Each group's rows together, in row order: ``order[starts[g]:starts[g + 1]]``."""
    starts = np.zeros(ng + 1, dtype=np.int64)
    for i in range(codes.shape[0]):
        if codes[i] >= 0:
            starts[codes[i] + 1] += 1
    for g in range(ng):
        starts[g + 1] += starts[g]
    order = np.empty(starts[ng], dtype=np.int64)
    fill = starts[:ng].copy()
    for i in range(codes.shape[0]):
        g = codes[i]
        if g >= 0:
            order[fill[g]] = i
            fill[g] += 1
    return order, starts


@numba.njit(nogil=True, cache=True, inline="always")
def _rolling_group(x, order, starts, g, window, minp, out):
    lo = starts[g]
    hi = starts[g + 1]
    if hi == lo:
        return
    rows = order[lo:hi]
    values = np.empty(hi - lo)
    for j in range(hi - lo):
        values[j] = x[rows[j]]
    result = np.empty(hi - lo)
    _moving._sum_core(values, window, minp, 0, hi - lo, result, True)
    for j in range(hi - lo):
        out[rows[j]] = result[j]


# -- stages ---------------------------------------------------------------------------------


@vp.stage(name="group_cumsum", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def group_cumsum_stage(x, codes):
    """``pd.Series(x).groupby(codes).cumsum()`` (code -1: a dropped key) as an array."""
    return pd.Series(x).groupby(_keys(codes)).cumsum().to_numpy(dtype=np.float64)


@group_cumsum_stage.variant("numba")
def _group_cumsum_numba(x, codes):
    return _cumsum_core(x, codes, _grouped._ngroups(codes))


@vp.stage(name="group_demean", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def group_demean_stage(x, codes):
    """``s - s.groupby(codes).transform("mean")`` as an array."""
    s = pd.Series(x)
    return (s - s.groupby(_keys(codes)).transform("mean")).to_numpy(dtype=np.float64)


# The means have two paths, as in pandas (3.1): sorted codes without NaN sum pairwise,
# the others with Kahan sums (see grouped._pairwise_means). Each variant runs a kernel for
# the Kahan path, which reports when the input takes the other one; only then is the
# pairwise kernel compiled and run (plain Python chooses: one kernel holding both paths
# compiled both for every call).


@numba.njit(nogil=True, cache=True)
def _demean_kahan(x, codes):
    """``(done, out)``; not done (nothing computed) when the codes are sorted without NaN."""
    if _grouped._sorted_without_nan(x, codes):
        return False, x[:0].copy()
    mean = _grouped._sum_core(x, codes, _grouped._ngroups(codes), True)
    out = _alloc.empty(x.shape[0])
    _standardize(x, codes, mean, None, 0, x.shape[0], out)
    return True, out


@numba.njit(nogil=True, cache=True)
def _demean_pairwise(x, codes):
    mean = _grouped._pairwise_means(x, codes, _grouped._ngroups(codes))
    out = _alloc.empty(x.shape[0])
    _standardize(x, codes, mean, None, 0, x.shape[0], out)
    return out


def _group_demean_numba(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x, codes = _grouped._contiguous(x, codes)
    done, out = _demean_kahan(x, codes)
    return out if done else _demean_pairwise(x, codes)  # type: ignore[no-any-return]


@numba.njit(nogil=True, cache=True, parallel=True)
def _demean_chunks(x, codes):
    """:func:`_demean_kahan` with the subtraction, the second pass over every row, in
    chunks (the means are one serial pass: Kahan, in pandas' order)."""
    n = x.shape[0]
    if _grouped._sorted_without_nan(x, codes):
        return False, x[:0].copy()
    mean = _grouped._sum_core(x, codes, _grouped._ngroups(codes), True)
    out = _alloc.empty(n)
    size = _grouped._chunk(n)
    for c in numba.prange((n + size - 1) // size):
        _standardize(x, codes, mean, None, c * size, min(n, c * size + size), out)
    return True, out


def _group_demean_parallel(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x, codes = _grouped._contiguous(x, codes)
    done, out = _demean_chunks(x, codes)
    return out if done else _demean_pairwise(x, codes)  # type: ignore[no-any-return]


_compile.add_compiled(group_demean_stage, _group_demean_numba, entry=_demean_kahan)
_compile.add_compiled(
    group_demean_stage, _group_demean_parallel, entry=_demean_chunks, parallel=True
)


@vp.stage(
    name="group_zscore", inputs=_ZSCORE_INPUTS, equal=vp.close(rtol=1e-9, atol=1e-12), **_STAGE
)
def group_zscore_stage(x, codes):
    """``(s - mean) / std`` within each group (``transform``; std with ddof=1)."""
    s = pd.Series(x)
    by = s.groupby(_keys(codes))
    return ((s - by.transform("mean")) / by.transform("std")).to_numpy(dtype=np.float64)


@numba.njit(nogil=True, cache=True)
def _zscore_kahan(x, codes):
    """``(done, out)`` as :func:`_demean_kahan`, divided by the groups' deviations."""
    if _grouped._sorted_without_nan(x, codes):
        return False, x[:0].copy()
    ng = _grouped._ngroups(codes)
    mean = _grouped._sum_core(x, codes, ng, True)
    std = _grouped._var_core(x, codes, ng, 1, True)
    out = _alloc.empty(x.shape[0])
    _standardize(x, codes, mean, std, 0, x.shape[0], out)
    return True, out


@numba.njit(nogil=True, cache=True)
def _zscore_pairwise(x, codes):
    ng = _grouped._ngroups(codes)
    mean = _grouped._pairwise_means(x, codes, ng)
    std = _grouped._var_core(x, codes, ng, 1, True)
    out = _alloc.empty(x.shape[0])
    _standardize(x, codes, mean, std, 0, x.shape[0], out)
    return out


def _group_zscore_numba(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x, codes = _grouped._contiguous(x, codes)
    done, out = _zscore_kahan(x, codes)
    return out if done else _zscore_pairwise(x, codes)  # type: ignore[no-any-return]


@numba.njit(nogil=True, cache=True, parallel=True)
def _zscore_chunks(x, codes):
    n = x.shape[0]
    if _grouped._sorted_without_nan(x, codes):
        return False, x[:0].copy()
    ng = _grouped._ngroups(codes)
    mean = _grouped._sum_core(x, codes, ng, True)
    std = _grouped._var_core(x, codes, ng, 1, True)
    out = _alloc.empty(n)
    size = _grouped._chunk(n)
    for c in numba.prange((n + size - 1) // size):
        _standardize(x, codes, mean, std, c * size, min(n, c * size + size), out)
    return True, out


def _group_zscore_parallel(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    x, codes = _grouped._contiguous(x, codes)
    done, out = _zscore_chunks(x, codes)
    return out if done else _zscore_pairwise(x, codes)  # type: ignore[no-any-return]


_compile.add_compiled(group_zscore_stage, _group_zscore_numba, entry=_zscore_kahan)
_compile.add_compiled(
    group_zscore_stage, _group_zscore_parallel, entry=_zscore_chunks, parallel=True
)


@vp.stage(name="group_rolling_mean", inputs=_ROLLING_INPUTS, **_STAGE)
def group_rolling_mean_stage(x, codes, window, min_periods=None):
    """``s.groupby(codes).rolling(window).mean()`` back in row order (NaN: dropped keys)."""
    s = pd.Series(x)
    if not (codes >= 0).any():  # pandas cannot roll over no groups at all
        return np.full(len(x), np.nan)
    rolled = s.groupby(_keys(codes)).rolling(window, min_periods=min_periods).mean()
    return rolled.droplevel(0).reindex(s.index).to_numpy(dtype=np.float64)


@group_rolling_mean_stage.variant("numba")
def _group_rolling_mean_numba(x, codes, window, min_periods=None):
    ng = _grouped._ngroups(codes)
    order, starts = _group_bounds(codes, ng)
    out = _alloc.full(x.shape[0], np.nan)
    minp = _moving._minp(window, min_periods)
    for g in range(ng):
        _rolling_group(x, order, starts, g, window, minp, out)
    return out


@group_rolling_mean_stage.variant("numba", parallel=True)
def _group_rolling_mean_parallel(x, codes, window, min_periods=None):
    # Groups are independent: one per task (rows of different groups never share a slot).
    ng = _grouped._ngroups(codes)
    order, starts = _group_bounds(codes, ng)
    out = _alloc.full(x.shape[0], np.nan)
    minp = _moving._minp(window, min_periods)
    for g in numba.prange(ng):
        _rolling_group(x, order, starts, g, window, minp, out)
    return out


STAGES: dict[str, vp.Stage] = {
    s.name: s
    for s in (group_cumsum_stage, group_demean_stage, group_zscore_stage, group_rolling_mean_stage)
}


# -- public functions -----------------------------------------------------------------------


def _run(func: str, x: Any, keys: Any, dropna: object, *args: Any) -> Any:
    drop = _core.check_bool(func, "dropna", dropna)
    x, columns, codes, *_ = _grouped.prepare(func, x, keys, drop, need_uniques=False)
    if args:  # group_rolling_mean's (window, min_periods): a group has at most every row
        args = _core.fit_window(codes.shape[0], args)
    stage = STAGES[func]
    outs = [stage(values, codes, *args) for values in columns]
    if isinstance(x, pd.Series):
        return pd.Series(outs[0], index=x.index, name=x.name)
    if isinstance(x, pd.DataFrame):
        frame = pd.DataFrame(dict(enumerate(outs)), index=x.index)
        frame.columns = x.columns
        return frame
    return outs[0]


_PARAMETERS = """x : 1-D array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA becomes
        NaN). A DataFrame runs column by column with the same keys.
    keys : 1-D array, Series, Categorical or column name
        One key per row: integers, floats, strings or categories, in any order; arrays
        pair with the rows by position, a Series by label as in pandas (aligned on
        ``x``'s index; with an array ``x``, only a Series with the default index); with
        a DataFrame ``x``, the name of one of its columns (then left out of the values).
    dropna : bool, default True
        True gives NaN to rows whose key is missing; False makes them one more group."""

_RETURNS = """ndarray, Series or DataFrame
        Float64, one value per row in ``x``'s row order and of ``x``'s type (a Series
        keeps its index and name, a DataFrame its index and columns)."""


def group_cumsum(x: Any, keys: Any, *, dropna: bool = True) -> Any:
    """Running sum within each group, as ``s.groupby(keys).cumsum()``.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    {returns}
        A NaN value gives NaN and leaves its group's sum unchanged. The sum is
        Kahan-compensated, as pandas'.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import group_cumsum
    >>> group_cumsum(np.array([1.0, 2.0, 3.0, np.nan, 5.0]), np.array(["a", "b", "a", "a", "b"]))
    array([ 1.,  2.,  4., nan,  7.])
    """
    return _run("group_cumsum", x, keys, dropna)


def group_demean(x: Any, keys: Any, *, dropna: bool = True) -> Any:
    """Each value minus its group's mean, as ``s - s.groupby(keys).transform("mean")``.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    {returns}
        The mean skips NaN values; a NaN value stays NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import group_demean
    >>> group_demean(np.array([1.0, 2.0, 3.0, 6.0]), np.array([0, 1, 0, 1]))
    array([-1., -2.,  1.,  2.])
    """
    return _run("group_demean", x, keys, dropna)


def group_zscore(x: Any, keys: Any, *, dropna: bool = True) -> Any:
    """Each value's z-score within its group: ``(s - mean) / std`` per group.

    Equals ``(s - s.groupby(keys).transform("mean")) / s.groupby(keys).transform("std")``.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    {returns}
        The standard deviation has ``ddof=1``: a group with one value gives NaN, and a
        constant group gives NaN (0 / 0), as in pandas.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import group_zscore
    >>> group_zscore(np.array([1.0, 10.0, 3.0, 30.0]), np.array([0, 1, 0, 1]))
    array([-0.70710678, -0.70710678,  0.70710678,  0.70710678])
    """
    return _run("group_zscore", x, keys, dropna)


def group_rolling_mean(
    x: Any, keys: Any, window: int, *, min_periods: int | None = None, dropna: bool = True
) -> Any:
    """Moving mean over each group's last ``window`` rows, in the original row order.

    Equals ``s.groupby(keys).rolling(window, min_periods=min_periods).mean()`` with its
    rows put back where they were in ``s`` (pandas returns them sorted by key, under a
    MultiIndex): ``.droplevel(0).reindex(s.index)``.

    Parameters
    ----------
    {parameters}
    window : int
        The number of the group's rows in each window (positive), counted in row order.
    min_periods : int, optional
        The fewest non-missing values a window needs, between 0 and ``window`` (default:
        ``window``); fewer give NaN.

    Returns
    -------
    {returns}

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import group_rolling_mean
    >>> group_rolling_mean(np.array([1.0, 10.0, 3.0, 30.0, 5.0]), np.array([0, 1, 0, 1, 0]), 2)
    array([nan, nan,  2., 20.,  4.])
    """
    func = "group_rolling_mean"
    w = _core.check_window(func, window)
    mp = _core.check_min_periods(func, min_periods, w)
    return _run(func, x, keys, dropna, w, mp)


for _function in (group_cumsum, group_demean, group_zscore, group_rolling_mean):
    assert _function.__doc__ is not None
    _function.__doc__ = _function.__doc__.replace("{parameters}", _PARAMETERS).replace(
        "{returns}", _RETURNS
    )


def _pandas_cumsum(s: Any, keys: Any, dropna: bool = True) -> Any:
    return s.groupby(keys, dropna=dropna).cumsum()


def _pandas_demean(s: Any, keys: Any, dropna: bool = True) -> Any:
    return s - s.groupby(keys, dropna=dropna).transform("mean")


def _pandas_zscore(s: Any, keys: Any, dropna: bool = True) -> Any:
    by = s.groupby(keys, dropna=dropna)
    return (s - by.transform("mean")) / by.transform("std")


def _pandas_rolling_mean(
    s: Any, keys: Any, window: int, min_periods: int | None = None, dropna: bool = True
) -> Any:
    rolled = s.groupby(keys, dropna=dropna).rolling(window, min_periods=min_periods).mean()
    return rolled.droplevel(0).reindex(s.index)


_KEYS = np.array([0, 1, 0, 2])
_core.register(
    _core.KernelSpec(
        "group_cumsum",
        "group_transforms",
        group_cumsum,
        group_cumsum_stage,
        _pandas_cumsum,
        (_KEYS,),
    ),
    _core.KernelSpec(
        "group_demean",
        "group_transforms",
        group_demean,
        group_demean_stage,
        _pandas_demean,
        (_KEYS,),
    ),
    _core.KernelSpec(
        "group_zscore",
        "group_transforms",
        group_zscore,
        group_zscore_stage,
        _pandas_zscore,
        (_KEYS,),
    ),
    _core.KernelSpec(
        "group_rolling_mean",
        "group_transforms",
        group_rolling_mean,
        group_rolling_mean_stage,
        _pandas_rolling_mean,
        (_KEYS, 2),
        {"min_periods": 1},
    ),
)
