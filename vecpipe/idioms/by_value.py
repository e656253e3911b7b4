"""Mapping by value: computed once per distinct value, broadcast back to every row.

``Series.map(dict)``, ``Series.map(lambda v: d.get(v, default))``, ``Series.replace(...)``
and any scalar function mapped over text (or over numbers Numba cannot compile) give each
row a result that depends on its value alone. When distinct values are few compared with
rows, the values are factorized (codes in order of first appearance), pandas' own method
runs on a Series of the distinct values (one row each, the first with that value: the
same objects and dtype as the rows), and its result is taken back to the rows by code.
So the result is pandas' own, value for value, with the dtype pandas infers from those
values (the same set of values whether each appears once or many times).

The function is called once per distinct value instead of once per row, and in order of
first appearance: a function with side effects vecpipe can see is left to pandas, and
one it cannot see (a counter in a C extension...) would be called fewer times; stage such
functions with ``auto=False``.

Declined (pandas runs the call): an empty Series, categorical data (pandas already maps
its categories), dtypes where equal values need not behave alike (object columns holding
anything but text, float columns holding -0.0 and 0.0), missing values of several kinds
(None and NaN) in an object column, ``inplace=True``, and more than a quarter of the rows
distinct (:data:`MAX_DISTINCT_SHARE`).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

import numba
import numpy as np
import pandas as pd

from vecpipe.idioms._compile import describe
from vecpipe.idioms._intercept import Decline, Session, Target
from vecpipe.idioms._scan import side_effects
from vecpipe.idioms.rowwise import bind

__all__ = ["MAX_DISTINCT_SHARE", "SAMPLE", "TARGETS", "by_value", "label"]

#: Mapping by value is declined when more than this share of the rows are distinct.
MAX_DISTINCT_SHARE = 0.25
#: Rows looked at first: if most of them are distinct, the whole column is not factorized.
SAMPLE = 4096
_REPLACE = inspect.signature(pd.Series.replace)


def label(method: str, func: Any) -> str:
    """``Series.map(dict)``, ``Series.apply(a lambda (line 3))``..."""
    if isinstance(func, pd.Series):
        what = "Series"
    elif isinstance(func, Mapping):
        what = "dict"
    elif callable(func):
        what = describe(func)
    else:
        what = type(func).__name__
    return f"Series.{method}({what})"


@numba.njit(nogil=True, cache=True)
def _first_positions(codes, count):  # type: ignore[no-untyped-def]
    """The first row of each code (codes numbered in order of first appearance)."""
    first = np.empty(count, dtype=np.int64)
    found = 0
    for i in range(codes.shape[0]):
        if codes[i] == found:
            first[found] = i
            found += 1
            if found == count:
                break
    return first


def _check_values(s: pd.Series) -> None:
    """Decline values whose equal members need not behave alike (see the module doc)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        raise Decline("categorical data (pandas maps its categories once each itself)")
    if isinstance(dtype, pd.StringDtype):
        return
    if not isinstance(dtype, np.dtype):
        raise Decline(f"dtype {dtype} is not mapped by value")
    if dtype.kind in "iub":
        return
    values = s.to_numpy()
    if dtype.kind == "f":
        if bool(np.any((values == 0) & np.signbit(values))):
            msg = "the values hold -0.0, which factorizing merges with 0.0"
            raise Decline(msg, lasting=False)
        return
    if dtype.kind != "O":
        raise Decline(f"dtype {dtype} is not mapped by value")
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        msg = (
            "an object column holding more than text (equal values of different types, "
            "such as 1 and 1.0, would share one call)"
        )
        raise Decline(msg, lasting=False)
    missing = values[pd.isna(values)]
    if len({type(v) for v in missing}) > 1:
        msg = "missing values of several kinds (None and NaN), which would be merged"
        raise Decline(msg, lasting=False)


def by_value(
    session: Session,
    original: Callable[..., Any],
    s: pd.Series,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    what: str,
    method: str,
) -> pd.Series:
    """``original(s, *args, **kwargs)`` computed on the distinct values and taken back.

    ``original`` must be an elementwise pandas method of ``s`` (its result for a row
    depends on that row's value alone); ``what`` names the call in notes.
    """
    n = len(s)
    if n == 0:
        raise Decline("an empty Series", lasting=False)
    _check_values(s)
    if n > 2 * SAMPLE and s.iloc[:SAMPLE].nunique(dropna=False) > SAMPLE // 2:
        raise Decline(f"most of the first {SAMPLE:,} values are distinct", lasting=False)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    count = len(uniques)
    if count > MAX_DISTINCT_SHARE * n:
        msg = f"{count:,} distinct values of {n:,} (more than {MAX_DISTINCT_SHARE:.0%})"
        raise Decline(msg, lasting=False)
    # One row per distinct value, the first with it: its very value (and object), in a
    # Series of the same dtype. Its index does not matter (the result is taken back by
    # code), so none is taken.
    first = _first_positions(codes, count)
    distinct = type(s)(s.array.take(first), dtype=s.dtype, name=s.name, copy=False)
    mapped = original(distinct, *args, **kwargs)
    if not isinstance(mapped, pd.Series) or len(mapped) != count:
        raise Decline(f"it gives a {type(mapped).__name__}, not one value per row")
    values = mapped.array.take(codes)
    # dtype given: pandas inferred it from these values already (an object column of text
    # must stay object, where a new Series would infer str).
    result: Any = type(s)(values, index=s.index, dtype=mapped.dtype, name=mapped.name, copy=False)
    session.note(f"{what} -> {count:,} distinct values of {n:,}", accelerated=True)
    return result.__finalize__(s, method=method)


def replace_values(
    session: Session, original: Any, s: pd.Series, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``Series.replace``: by value, unless in place."""
    p = bind(_REPLACE, (s, *args), kwargs)
    if p["inplace"]:
        raise Decline("inplace=True")
    return by_value(session, original, s, args, kwargs, "Series.replace", "replace")


#: Functions from builtins and NumPy known to be pure: ``s.map(str.strip)``, ``s.map(len)``,
#: ``s.map(float)``, ``s.map(np.log)``.
_PURE = (types.BuiltinFunctionType, types.MethodDescriptorType, np.ufunc)
_PURE_TYPES = (str, int, float, bool, complex)


def check_function(func: Any) -> None:
    """Decline a function that must be called for every row, in order."""
    if isinstance(func, (Mapping, pd.Series, *_PURE)) or func in _PURE_TYPES:
        return
    if isinstance(func, types.FunctionType):
        effect = side_effects(func)
        if effect is not None:
            raise Decline(f"{describe(func)} {effect}")
        return
    raise Decline(f"{describe(func)} is not a plain function (it may keep state)")


TARGETS = (Target(pd.Series, "replace", replace_values, "Series.replace"),)
