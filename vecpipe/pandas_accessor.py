"""The ``.vp`` accessor: every kernel of :mod:`vecpipe.kernels` as a Series/DataFrame method.

``import vecpipe`` registers it; the kernels themselves are imported on first use, so the
accessor costs nothing until then. ``s.vp.rolling_mean(20)`` is
``vecpipe.kernels.rolling_mean(s, 20)``: a Series in, a Series out (index and name
kept); ``df.vp.rolling_mean(20)`` runs every column. Group-by kernels take the key
column's name on a DataFrame, as ``df.groupby``: ``df.vp.group_zscore("carrier")``.
The same functions work with ``pipe``: ``df.pipe(vk.group_mean, "carrier")``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["KERNEL_NAMES", "DataFrameAccessor", "SeriesAccessor"]

#: The kernels the accessor offers (a test checks this list against the registry, which
#: cannot be read here without importing every kernel module).
KERNEL_NAMES: tuple[str, ...] = (
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
)


def _method(name: str, owner: str) -> Callable[..., Any]:
    def method(self: _Accessor, *args: Any, **kwargs: Any) -> Any:
        kernels = importlib.import_module("vecpipe.kernels")
        return getattr(kernels, name)(self._obj, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"``vecpipe.kernels.{name}(<this {owner}>, *args, **kwargs)``: see "
        f":func:`vecpipe.kernels.{name}` for the arguments and the pandas expression it equals."
    )
    return method


class _Accessor:
    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(KERNEL_NAMES))


class SeriesAccessor(_Accessor):
    """``s.vp``: the kernels of :mod:`vecpipe.kernels` on a Series.

    Examples
    --------
    >>> import pandas as pd
    >>> import vecpipe  # registers the accessor
    >>> s = pd.Series([1.0, 2.0, 3.0, 4.0], name="price")
    >>> s.vp.rolling_mean(2)
    0    NaN
    1    1.5
    2    2.5
    3    3.5
    Name: price, dtype: float64
    """


class DataFrameAccessor(_Accessor):
    """``df.vp``: the kernels of :mod:`vecpipe.kernels` on a DataFrame, column by column.

    Group-by kernels take the name of the key column, as ``df.groupby`` does.

    Examples
    --------
    >>> import pandas as pd
    >>> import vecpipe  # registers the accessor
    >>> df = pd.DataFrame({"carrier": ["UA", "AA", "UA", "AA"], "delay": [3.0, 5.0, 9.0, 1.0]})
    >>> df.vp.group_mean("carrier")
             delay
    carrier
    AA         3.0
    UA         6.0
    >>> df[["delay"]].vp.cumsum()
       delay
    0    3.0
    1    8.0
    2   17.0
    3   18.0
    """


for _name in KERNEL_NAMES:
    setattr(SeriesAccessor, _name, _method(_name, "Series"))
    setattr(DataFrameAccessor, _name, _method(_name, "DataFrame"))


pd.api.extensions.register_series_accessor("vp")(SeriesAccessor)
pd.api.extensions.register_dataframe_accessor("vp")(DataFrameAccessor)
