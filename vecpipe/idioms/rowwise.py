"""``DataFrame.apply(func, axis=1)``: the row function compiled over the columns' arrays.

pandas builds a Series for every row and calls ``func`` on it: a few microseconds a row
before ``func`` does anything. Here the columns ``func`` reads by name (``row["a"]``,
``row.a``) become the fields of a NumPy record per row, and ``func`` itself, unchanged,
is compiled by Numba for that record type, where ``row["a"]`` and ``row.a`` read a field.
One compiled loop then calls it for every row.

What ``func`` sees is what pandas would give it. A row's values share one dtype, the
frame's common dtype: float64 when the frame mixes ints and floats (so an int column's
values arrive as floats), int64 for an all-int frame; those are NumPy scalars, whose
division by zero gives inf or NaN. A frame with text (or bool) columns has object rows:
its float columns' values arrive as Python floats (division by zero raises), and only
they can be compiled. The result has pandas' form: a Series on the frame's index, no
name, float64, int64 or bool.

Declined (pandas runs the call, and explain() says why): ``axis=0``, ``raw=True``,
``result_type``, extra arguments, an empty frame, duplicate or non-string column names,
rows of another dtype, a function Numba cannot compile (it reads a text column, calls a
Python function, returns strings or tuples...), and inputs where compiled code and Python
part ways (see :mod:`vecpipe.idioms._compile`).
"""

from __future__ import annotations

import dis
import inspect
import types
from typing import Any

import numba
import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import find_common_type  # type: ignore[attr-defined]

from vecpipe.idioms._compile import compile_scalar, describe, fill_rows, recheck
from vecpipe.idioms._intercept import Decline, Session, Target
from vecpipe.idioms._scan import _codes

__all__ = ["TARGETS", "apply_rows"]

_APPLY = inspect.signature(pd.DataFrame.apply)
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)
_INT_BOUND = 1 << 31
#: Series attributes: ``row.name`` is the row's label in pandas, not the column "name".
_SERIES_ATTRIBUTES = frozenset(dir(pd.Series))


def bind(signature: inspect.Signature, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The call's arguments by name (defaults filled in), or Decline for a call pandas
    rejects (it then raises its own error)."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise Decline(f"pandas rejects these arguments ({exc})") from None
    bound.apply_defaults()
    return bound.arguments


def _names_read(func: types.FunctionType) -> tuple[set[str], set[str]]:
    """Strings ``func`` may read fields by: its string constants and the attribute names it
    reads (``row.a``), each set apart; closure strings count as constants."""
    constants: set[str] = set()
    attributes: set[str] = set()
    for code in _codes(func.__code__):
        constants.update(c for c in code.co_consts if isinstance(c, str))
        for ins in dis.get_instructions(code):
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
                attributes.add(ins.argval)
            elif ins.opname == "LOAD_GLOBAL" and isinstance(func.__globals__.get(ins.argval), str):
                constants.add(func.__globals__[ins.argval])
    for cell in func.__closure__ or ():
        if isinstance(cell.cell_contents, str):
            constants.add(cell.cell_contents)
    return constants, attributes


def _object_field(values: Any) -> np.dtype | None:
    """The field dtype of a column in object rows (Python scalars), None if not compiled.

    Floats and bools behave as float64 and bool. Python ints are unbounded: an int64
    column is compiled only while its values stay within 2**31, where sums and products
    of two stay exact in 64 bits.
    """
    dtype = values.dtype
    if dtype == _FLOAT64 or dtype == np.dtype(np.bool_):
        return np.dtype(dtype)
    if dtype == _INT64:
        array = values.to_numpy()
        if len(array) == 0 or (array.min() > -_INT_BOUND and array.max() < _INT_BOUND):
            return _INT64
    return None


def _fields(df: pd.DataFrame, func: types.FunctionType) -> tuple[list[str], list[np.dtype], str]:
    """The columns to compile over, their dtypes in the rows, and Numba's error model."""
    columns = df.columns
    if not columns.is_unique:
        raise Decline("the frame has duplicate column names", lasting=False)
    constants, attributes = _names_read(func)
    read = (constants | attributes) & {c for c in columns if isinstance(c, str)}
    shadowed = sorted(a for a in attributes & read if a in _SERIES_ATTRIBUTES)
    if shadowed:
        msg = f"it reads row.{shadowed[0]}, which is the Series attribute in pandas, not the column"
        raise Decline(msg, lasting=False)
    fields = [c for c in columns if c in read]
    if not fields:
        msg = f"{describe(func)} reads no column by a name written in its code"
        raise Decline(msg, lasting=False)
    common = find_common_type(list(df.dtypes))
    if common in (_FLOAT64, _INT64):
        return fields, [np.dtype(common)] * len(fields), "numpy"
    if common != np.dtype(object):
        raise Decline(f"its rows have dtype {common}, which is not compiled")
    dtypes = []
    for c in fields:
        dtype = _object_field(df[c])
        if dtype is None:
            msg = (
                f"it reads column {c!r} ({df[c].dtype}), whose values are not numbers "
                f"(or are ints beyond 2**31)"
            )
            raise Decline(msg, lasting=False)
        dtypes.append(dtype)
    return fields, dtypes, "python"


class _Row:
    """Row ``i`` for running ``func`` in Python (see ``_compile.recheck``): reads by name
    and by attribute, giving what pandas' row would (Python scalars in object rows, NumPy
    scalars otherwise), at a fraction of the cost of a Series."""

    __slots__ = ("_values",)

    def __init__(self, fields: list[str], columns: list[np.ndarray], i: int, python: bool) -> None:
        values = {name: column[i] for name, column in zip(fields, columns, strict=True)}
        if python:
            values = {name: v.item() for name, v in values.items()}
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


def apply_rows(
    session: Session, original: Any, df: pd.DataFrame, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``DataFrame.apply``: row-wise calls compiled over columns."""
    p = bind(_APPLY, (df, *args), kwargs)
    func, axis = p["func"], p["axis"]
    if axis not in (1, "columns"):
        raise Decline(f"axis={axis!r}: only row-wise calls (axis=1) are compiled")
    if p["raw"] is not False:
        raise Decline("raw=True (pandas passes arrays; see vp.engine)")
    if p["result_type"] is not None or p["args"] or p["kwargs"]:
        raise Decline("result_type or extra arguments for the function")
    if p["engine"] not in (None, "python"):
        raise Decline(f"engine={p['engine']!r}")
    if not isinstance(func, types.FunctionType):
        raise Decline(f"{describe(func)} is not a plain Python function")
    n = len(df)
    if n == 0:
        raise Decline("an empty frame (pandas decides the result's form)", lasting=False)
    fields, dtypes, model = _fields(df, func)
    records = np.empty(n, dtype=np.dtype(list(zip(fields, dtypes, strict=True))))
    compiled = compile_scalar(func, (numba.typeof(records).dtype,), model)
    columns = [df[c].to_numpy(dtype=d) for c, d in zip(fields, dtypes, strict=True)]
    for c, values in zip(fields, columns, strict=True):
        records[c] = values
    out = np.empty(n, dtype=compiled.dtype)
    counts = compiled.counts()
    with np.errstate(all="ignore"):
        fill_rows(records, out, counts, compiled.kernel)
    dtype = compiled.dtype_for(counts)
    call: Any = func
    python = model == "python"
    recheck(func, columns, out, lambda i: call(_Row(fields, columns, i, python)))
    session.note(
        f"DataFrame.apply(axis=1) -> {describe(func)} compiled over columns {', '.join(fields)}",
        accelerated=True,
    )
    result: Any = pd.Series(out.astype(dtype, copy=False), index=df.index, copy=False)
    return result.__finalize__(df, method="apply")


TARGETS = (Target(pd.DataFrame, "apply", apply_rows, "DataFrame.apply"),)
