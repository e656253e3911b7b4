"""``Series.map(func)`` and ``Series.apply(func)``: compiled element by element, or by value.

pandas hands ``func`` each value as a Python scalar (a float, an int, a bool) and infers
the result's dtype from what it returns. For numeric data, ``func`` itself, unchanged, is
compiled by Numba for that scalar type (with Python's error model: a division by zero
raises ZeroDivisionError, as it would in Python) and one compiled loop calls it for every
value; the result is float64, int64 or bool, as pandas infers it, on the Series' index
with its name. ``na_action="ignore"`` leaves NaN values NaN without calling ``func``
(int results then become float64, as in pandas).

Where ``func`` cannot be compiled (it reads a dict, works on text...) or the data are not
numeric, the call is mapped by value (:mod:`vecpipe.idioms.by_value`) when distinct values
are few; a mapping (``s.map(dict)``, ``s.map(other_series)``) always is.

Python ints are unbounded, compiled ints are 64-bit: results past 2**63 would differ (as
for any Numba variant).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Mapping
from typing import Any

import numba
import numpy as np
import pandas as pd

from vecpipe.idioms._compile import compile_scalar, describe, fill_present, fill_values, recheck
from vecpipe.idioms._intercept import Decline, Session, Target
from vecpipe.idioms.by_value import by_value, check_function, label
from vecpipe.idioms.rowwise import bind

__all__ = ["TARGETS", "apply_values", "map_values"]

_MAP = inspect.signature(pd.Series.map)
_APPLY = inspect.signature(pd.Series.apply)
_INT64_MAX = np.iinfo(np.int64).max


def _python_values(s: pd.Series) -> np.ndarray:
    """The values as pandas' map hands them over (Python floats, ints, bools), widened to
    the NumPy type of those scalars; Decline for other data."""
    dtype = s.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        raise Decline(f"dtype {dtype} is not compiled element by element")
    values = s.to_numpy()
    if dtype.kind == "b":
        return values
    if dtype.kind == "f":
        return values.astype(np.float64, copy=False)
    if dtype.kind == "u" and dtype.itemsize == 8 and values.max() > _INT64_MAX:
        raise Decline("uint64 values beyond int64", lasting=False)
    return values.astype(np.int64, copy=False)


def compiled(
    session: Session, s: pd.Series, func: Any, na_action: Any, what: str, method: str
) -> pd.Series:
    """``func`` compiled and called for every value (see the module docstring)."""
    if not isinstance(func, types.FunctionType):
        raise Decline(f"{describe(func)} is not a plain Python function")
    if len(s) == 0:
        raise Decline("an empty Series (pandas keeps its dtype)", lasting=False)
    values = _python_values(s)
    compiled = compile_scalar(func, (numba.from_dtype(values.dtype),), "python")
    missing = na_action == "ignore" and values.dtype.kind == "f" and bool(np.isnan(values).any())
    counts = compiled.counts()
    if missing:
        out = np.empty(len(values), dtype=np.float64)
        fill_present(values, out, counts, compiled.kernel)
    else:
        out = np.empty(len(values), dtype=compiled.dtype)
        fill_values(values, out, counts, compiled.kernel)
    dtype = compiled.dtype_for(counts, missing)
    if missing:
        present = ~np.isnan(values)
        kept = values[present]
        recheck(func, [kept], out[present], lambda i: func(kept[i].item()))
    else:
        recheck(func, [values], out, lambda i: func(values[i].item()))
    session.note(f"{what} -> compiled element by element", accelerated=True)
    result: Any = type(s)(out.astype(dtype, copy=False), index=s.index, name=s.name, copy=False)
    return result.__finalize__(s, method=method)


def _mapped(
    session: Session,
    original: Any,
    s: pd.Series,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    func: Any,
    na_action: Any,
    method: str,
) -> Any:
    what = label(method, func)
    if isinstance(func, Mapping | pd.Series):
        return by_value(session, original, s, args, kwargs, what, method)
    if not callable(func) or isinstance(func, str | np.ufunc):
        raise Decline(f"{what}: a {type(func).__name__}, which pandas runs on the whole Series")
    try:
        return compiled(session, s, func, na_action, what, method)
    except Decline as not_compiled:
        try:
            check_function(func)
            return by_value(session, original, s, args, kwargs, what, method)
        except Decline as not_by_value:
            msg = f"not compiled ({not_compiled}), not by value ({not_by_value})"
            lasting = not_compiled.lasting and not_by_value.lasting
            raise Decline(msg, lasting=lasting) from None


def map_values(
    session: Session, original: Any, s: pd.Series, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``Series.map``."""
    p = bind(_MAP, (s, *args), kwargs)
    if p["engine"] is not None or p["kwargs"] or p["func"] is None:
        raise Decline("engine=, keyword arguments for the function, or the deprecated arg=")
    return _mapped(session, original, s, args, kwargs, p["func"], p["na_action"], "map")


def apply_values(
    session: Session, original: Any, s: pd.Series, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``Series.apply``."""
    p = bind(_APPLY, (s, *args), kwargs)
    if p["args"] or p["kwargs"] or p["by_row"] != "compat":
        raise Decline("extra arguments for the function, or by_row")
    func = p["func"]
    if isinstance(func, Mapping | list):
        raise Decline(f"a {type(func).__name__} of functions")
    return _mapped(session, original, s, args, kwargs, func, None, "apply")


TARGETS = (
    Target(pd.Series, "map", map_values, "Series.map"),
    Target(pd.Series, "apply", apply_values, "Series.apply"),
)
