"""Plumbing every kernel family shares: the registry, argument checks, conversions.

Kernels are stages on 1-D float64 arrays; everything a user may pass (Series, DataFrames,
2-D arrays along an axis, integer or nullable dtypes) is converted here, in plain Python,
before the stage's dispatcher picks a variant. A family module (``moving.py``; later
cumulative, ewm, grouped, fill, binning) defines its stages and public functions and adds
one :class:`KernelSpec` per function to :data:`REGISTRY`; the tests and benchmarks iterate
that table, so a kernel added there is tested and benchmarked.
"""

from __future__ import annotations

import numbers
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from vecpipe.errors import InvalidArgument
from vecpipe.stage import Stage


@dataclass(frozen=True)
class KernelSpec:
    """One public kernel: its function, its stage and what it must equal.

    Attributes
    ----------
    name : str
        The public name (``"rolling_mean"``).
    family : str
        The module that defines it (``"moving"``).
    function : callable
        The public function, ``function(x, *args, **kwargs)``.
    stage : Stage
        The stage the function dispatches through (1-D float64 in, 1-D float64 out).
    pandas : callable
        ``pandas(series, *args, **kwargs)``: the pandas expression the function equals.
    args : tuple
        Positional arguments after ``x`` for the fixed test cases and benchmarks.
    kwargs : dict
        Keyword arguments for them (``min_periods``...).
    """

    name: str
    family: str
    function: Callable[..., Any]
    stage: Stage
    pandas: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"KernelSpec({self.name!r})"


#: Every public kernel, in the order the families register them.
REGISTRY: list[KernelSpec] = []


def register(*specs: KernelSpec) -> None:
    """Add kernels to :data:`REGISTRY` (a name may appear only once)."""
    known = {k.name for k in REGISTRY}
    for spec in specs:
        if spec.name in known:
            msg = f"vecpipe.kernels: a kernel named {spec.name!r} is already registered"
            raise ValueError(msg)
        known.add(spec.name)
        REGISTRY.append(spec)


# -- argument checks ------------------------------------------------------------------------


_EXCERPT = reprlib.Repr()
_EXCERPT.maxlist = _EXCERPT.maxtuple = _EXCERPT.maxset = 6
_EXCERPT.maxdict = 4
_EXCERPT.maxstring = 60
_EXCERPT.maxother = 80
_EXCERPT_CHARS = 160


def excerpt(value: object) -> str:
    """A short, one-line repr of ``value`` for a message: an array shows its first and last
    three values and its shape; a Series or DataFrame its size (and a Series its dtype and
    name); anything else is cut short (``reprlib``, then 160 characters). A message never
    quotes a whole array (10^7 values, or one per row)."""
    if isinstance(value, np.ndarray):
        with np.printoptions(threshold=6, edgeitems=3, linewidth=1000):
            text = repr(value)
        if value.size > 6 and "shape=" not in text:  # NumPy < 2.2 prints no shape
            text = f"{text} (shape {value.shape})"
    elif isinstance(value, pd.Series | pd.Index):
        kind = type(value).__name__
        text = f"<{kind} of {len(value)} values, dtype {value.dtype}, name {value.name!r}>"
    elif isinstance(value, pd.DataFrame):
        text = f"<DataFrame of {value.shape[0]} rows x {value.shape[1]} columns>"
    else:
        text = _EXCERPT.repr(value)
    text = " ".join(text.split())  # one line
    if len(text) > _EXCERPT_CHARS:
        text = text[: _EXCERPT_CHARS - 3] + "..."
    return text


def reject(func: str, name: str, value: object, what: str) -> NoReturn:
    """Raise InvalidArgument in the one shape: function, argument, value, what to pass.

    The value is quoted as a short excerpt (:func:`excerpt`), never a whole array.
    """
    shown = excerpt(value)
    msg = f"vecpipe.kernels.{func}: {name}={shown} (of type {type(value).__name__}) {what}"
    raise InvalidArgument(msg)


def _is_int(value: object) -> bool:
    if type(value) is int:  # the common case first: the ABC check costs ~10x more
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_window(func: str, window: object) -> int:
    """A positive int window."""
    if type(window) is int and window >= 1:  # the common case, without the calls below
        return window
    if not _is_int(window) or int(window) < 1:  # type: ignore[call-overload]
        reject(func, "window", window, "is not a positive int; pass a window such as 3")
    return int(window)  # type: ignore[call-overload]


def check_min_periods(func: str, min_periods: object, window: int) -> int | None:
    """None (the window) or an int in ``[0, window]``."""
    if min_periods is None:
        return None
    if not _is_int(min_periods) or not 0 <= int(min_periods) <= window:  # type: ignore[call-overload]
        reject(
            func,
            "min_periods",
            min_periods,
            f"is not an int between 0 and window={window}; pass such an int, or None "
            "for the window",
        )
    return int(min_periods)  # type: ignore[call-overload]


def check_nonnegative_int(func: str, name: str, value: object) -> int:
    """An int >= 0 (``ddof``...)."""
    if not _is_int(value) or int(value) < 0:  # type: ignore[call-overload]
        reject(func, name, value, "is not a non-negative int; pass 0 or 1")
    return int(value)  # type: ignore[call-overload]


def check_bool(func: str, name: str, value: object) -> bool:
    """A bool (NumPy's too)."""
    if value is True or value is False:  # the common case, without the check below
        return value
    if not isinstance(value, bool | np.bool_):
        reject(func, name, value, "is not a bool; pass True or False")
    return bool(value)


def fit_window(n: int, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``(window, min_periods, *counts)`` for a lane of ``n`` values, none above ``n + 1``.

    The same answer as the arguments given, in pandas and in the kernels: a window longer
    than the lane covers all of it at every row, as one of ``n + 1`` does; more than ``n``
    periods are never met, nor ``n + 1`` (and ``min_periods=None``, the window, stays
    None); a count such as ``ddof`` of ``n`` or more leaves no row a result, nor ``n + 1``.
    So the kernels' index arithmetic stays far inside int64 whatever the user passes
    (2**63 and more included), and the reference, pandas, accepts what it is given.
    """
    limit = n + 1
    window, min_periods, *counts = args
    if window <= limit and all(c <= limit for c in counts):  # min_periods <= window
        return args
    periods = None if min_periods is None else min(min_periods, limit)
    return (min(window, limit), periods, *(min(c, limit) for c in counts))


def check_axis(func: str, axis: object) -> int:
    """0 or 1 (``-1`` and ``-2`` count from the end, as in NumPy)."""
    if type(axis) is int and axis == 0:  # the default, without the calls below
        return 0
    if not _is_int(axis) or int(axis) not in (0, 1, -1, -2):  # type: ignore[call-overload]
        reject(func, "axis", axis, "is not 0 or 1; pass axis=0 (down columns) or axis=1")
    return int(axis) % 2  # type: ignore[call-overload]


# -- conversions ----------------------------------------------------------------------------

#: float64's dtype: NumPy's built-in dtypes are single objects, so the plain calls' fast
#: paths test ``x.dtype is FLOAT64`` (~0.1 µs less than ``==``); any other float64 (a
#: byte-swapped one) takes the general path, which converts it.
FLOAT64 = np.dtype(np.float64)
INT64 = np.dtype(np.int64)


def as_array(x: Any) -> np.ndarray:
    """``x`` (an array, list or tuple) as an array, keeping a masked array's mask, which
    :func:`_float_values` turns into NaN (``np.asarray`` would drop it silently)."""
    return x if isinstance(x, np.ma.MaskedArray) else np.asarray(x)


def _float_values(func: str, values: Any, what: str) -> np.ndarray:
    """Float64 C-contiguous values of an array or Series (pd.NA becomes NaN).

    A masked array's masked entries become NaN, as in ``pd.Series(masked_array)``: masked
    means missing.
    """
    dtype = getattr(values, "dtype", None)
    hint = (
        "; select the numeric columns first, e.g. df.select_dtypes('number')"
        if what.startswith("column")
        else " (convert strings or objects first, e.g. with pd.to_numeric)"
    )
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            reject(
                func,
                "x",
                dtype,
                f"is the dtype of {what}, which is not numeric; pass float, int or bool data"
                + hint,
            )
        return np.ascontiguousarray(values.to_numpy(dtype="float64", na_value=np.nan))
    arr = as_array(values)
    if arr.dtype.kind not in "biuf":
        reject(
            func,
            "x",
            arr.dtype,
            f"is the dtype of {what}, which is not numeric; pass float, int or bool data" + hint,
        )
    if isinstance(arr, np.ma.MaskedArray):
        # A copy: the user's data stays as it was; masked entries are missing values.
        out = np.array(np.ma.getdata(arr), dtype=np.float64, order="C")
        out[np.ma.getmaskarray(arr)] = np.nan
        return out
    return np.ascontiguousarray(arr, dtype=np.float64)


#: ``fit(n, args)``: the arguments for lanes of ``n`` values (see :func:`fit_window`).
Fit = Callable[[int, tuple[Any, ...]], tuple[Any, ...]]


def apply_along(
    func: str,
    kernel: Stage,
    x: Any,
    axis: int,
    args: tuple[Any, ...],
    fit: Fit | None = None,
) -> Any:
    """Run ``kernel(values, *args)`` on every 1-D lane of ``x`` and rebuild ``x``'s type.

    NumPy in gives NumPy out (float64; along axis 0 of a 2-D array, F-ordered), a Series
    gives a Series (same index and name), a DataFrame a DataFrame (same index and
    columns), column by column; 2-D arrays and DataFrames go along ``axis``. ``fit``, if
    given, turns ``args`` into the arguments for lanes of the length found (every lane
    of one call has the same length).
    """
    if type(x) is np.ndarray and x.dtype is FLOAT64 and x.ndim == 1 and x.flags.c_contiguous:
        # nothing to convert: the small-input path stays short
        return kernel(x, *(args if fit is None else fit(x.shape[0], args)))
    if isinstance(x, pd.Series):
        values = _float_values(func, x, "the Series")
        out = kernel(values, *(args if fit is None else fit(values.shape[0], args)))
        return pd.Series(out, index=x.index, name=x.name)
    if isinstance(x, pd.DataFrame):
        columns = [
            _float_values(func, x.iloc[:, j], f"column {x.columns[j]!r}") for j in range(x.shape[1])
        ]
        if axis == 0:  # each column is already a contiguous lane: no transposed copies
            lane_args = args if fit is None else fit(len(x), args)
            out = np.empty((len(columns), len(x)))
            for j, column in enumerate(columns):
                out[j] = kernel(column, *lane_args)
            # out.T is F-ordered (rows, columns): pandas keeps it as one block, uncopied.
            return pd.DataFrame(out.T, index=x.index, columns=x.columns, copy=False)
        values = np.column_stack(columns) if columns else np.empty((len(x), 0))
        return pd.DataFrame(
            _apply_2d(kernel, values, axis, args, fit), index=x.index, columns=x.columns
        )
    if isinstance(x, np.ndarray | list | tuple):
        arr = as_array(x)
        if arr.ndim == 1:
            values = _float_values(func, arr, "the array")
            return kernel(values, *(args if fit is None else fit(values.shape[0], args)))
        if arr.ndim == 2:
            return _apply_2d(kernel, _float_values(func, arr, "the array"), axis, args, fit)
        reject(func, "x", x, f"has {arr.ndim} dimensions; pass a 1-D or 2-D array")
    reject(func, "x", x, "is not an array, Series or DataFrame; pass one of those")


def _apply_2d(
    kernel: Stage, values: np.ndarray, axis: int, args: tuple[Any, ...], fit: Fit | None
) -> Any:
    # One contiguous row per lane. Along axis 0 of a C-ordered array that takes one
    # transposed copy in; the result goes back as a transposed view (F-ordered, same
    # shape and values), which saves the second copy (~2x the kernel time at 10^7).
    lanes = np.ascontiguousarray(values.T if axis == 0 else values)
    if fit is not None:
        args = fit(lanes.shape[1], args)
    out = np.empty_like(lanes)
    for j in range(lanes.shape[0]):
        out[j] = kernel(lanes[j], *args)
    return out.T if axis == 0 else out
