"""The ``.vp`` accessor: every kernel of :mod:`vecpipe.kernels` as a Series/DataFrame method.

``import vecpipe`` registers it; the methods come from :data:`vecpipe.kernels.REGISTRY`,
read when the accessor is first used (``s.vp.<name>`` or ``dir(s.vp)``), so the
accessor costs nothing until then and a kernel registered there is a method here.
``s.vp.rolling_mean(20)`` is ``vecpipe.kernels.rolling_mean(s, 20)``: a Series in, a
Series out (index and name kept); ``df.vp.rolling_mean(20)`` runs every column.
Group-by kernels take the key column's name on a DataFrame, as ``df.groupby``:
``df.vp.group_zscore("carrier")``. The same functions work with ``pipe``:
``df.pipe(vk.group_mean, "carrier")``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

# KERNEL_NAMES is a lazy attribute (see the module's __getattr__).
__all__ = ["KERNEL_NAMES", "DataFrameAccessor", "SeriesAccessor"]  # noqa: F822

_INSTALL_LOCK = threading.Lock()
_installed: tuple[str, ...] = ()


def _method(name: str, function: Callable[..., Any], owner: str) -> Callable[..., Any]:
    def method(self: _Accessor, *args: Any, **kwargs: Any) -> Any:
        return function(self._obj, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"``vecpipe.kernels.{name}(<this {owner}>, *args, **kwargs)``: see "
        f":func:`vecpipe.kernels.{name}` for the arguments and the pandas expression it equals."
    )
    return method


def _install() -> tuple[str, ...]:
    """Give both accessors one method per registered kernel (once); return their names."""
    global _installed
    with _INSTALL_LOCK:
        if not _installed:
            kernels = importlib.import_module("vecpipe.kernels")
            for spec in kernels.REGISTRY:
                setattr(SeriesAccessor, spec.name, _method(spec.name, spec.function, "Series"))
                setattr(
                    DataFrameAccessor, spec.name, _method(spec.name, spec.function, "DataFrame")
                )
            _installed = tuple(sorted(spec.name for spec in kernels.REGISTRY))
        return _installed


class _Accessor:
    def __init__(self, obj: Any) -> None:
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        # Called only for names the class does not have yet: the kernels' methods before
        # their first use, and names that are no kernel.
        if name.startswith("_"):
            raise AttributeError(name)
        names = _install()
        if name in names:
            return getattr(self, name)
        msg = (
            f"'{type(self._obj).__name__}.vp' has no kernel {name!r}; the kernels of "
            f"vecpipe.kernels are: {', '.join(names)}"
        )
        raise AttributeError(msg)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_install()))


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


def __getattr__(name: str) -> Any:
    # KERNEL_NAMES: the kernels the accessor offers, sorted (read from the registry on
    # first use, which imports the kernels).
    if name == "KERNEL_NAMES":
        return _install()
    msg = f"module 'vecpipe.pandas_accessor' has no attribute {name!r}"
    raise AttributeError(msg)


pd.api.extensions.register_series_accessor("vp")(SeriesAccessor)
pd.api.extensions.register_dataframe_accessor("vp")(DataFrameAccessor)
