"""What a function's bytecode shows: the pandas idioms it calls, and side effects.

The scans read code objects only (no source needed, so lambdas and functions from a
notebook work) and follow the plain Python functions a function calls by name, a few
levels deep, so a stage whose work happens in a helper is seen as well.
"""

from __future__ import annotations

import dis
import types
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["IDIOM_METHODS", "idioms_used", "library_function", "side_effects", "untraceable"]

#: Method names whose calls the idiom families can take.
IDIOM_METHODS = frozenset(
    {"apply", "map", "replace", "iterrows", "itertuples", "transform", "agg", "aggregate"}
)
#: Packages whose functions are library code, not the user's: never scanned into.
_LIBRARIES = frozenset({"numpy", "pandas", "scipy", "numba", "builtins", "math"})
_DEPTH = 3
#: Methods that change the object they are called on.
_MUTATING = frozenset(
    {
        "append",
        "extend",
        "insert",
        "pop",
        "popitem",
        "remove",
        "clear",
        "update",
        "setdefault",
        "add",
        "discard",
        "sort",
        "reverse",
        "write",
        "writelines",
        "put",
        "put_nowait",
        "send",
        "appendleft",
        "extendleft",
        "popleft",
    }
)
#: Builtins whose call is visible outside the function.
_EFFECT_BUILTINS = frozenset(
    {"print", "open", "input", "exec", "eval", "setattr", "delattr", "__import__", "breakpoint"}
)
_OUTER_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_DEREF", "LOAD_CLASSDEREF", "LOAD_NAME"})


def library_function(func: Any) -> bool:
    """Whether ``func`` is library code (NumPy, pandas, builtins...), not the user's."""
    module = getattr(func, "__module__", None) or ""
    return module.split(".")[0] in _LIBRARIES


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """A code object and those nested in it (lambdas, comprehensions, inner functions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _referenced(func: types.FunctionType, code: types.CodeType) -> Iterator[Any]:
    """The objects a code object loads by global or closure name."""
    closure = dict(
        zip(
            func.__code__.co_freevars,
            (c.cell_contents for c in func.__closure__ or ()),
            strict=False,
        )
    )
    for ins in dis.get_instructions(code):
        if ins.opname == "LOAD_GLOBAL":
            name = ins.argval
            if name in func.__globals__:
                yield func.__globals__[name]
        elif ins.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF") and ins.argval in closure:
            yield closure[ins.argval]


def _user_functions(func: types.FunctionType, depth: int) -> Iterator[types.FunctionType]:
    """``func`` and the plain Python functions it calls by name, ``depth`` levels deep."""
    seen: set[int] = set()
    todo = [(func, 0)]
    while todo:
        f, level = todo.pop()
        if id(f) in seen:
            continue
        seen.add(id(f))
        yield f
        if level >= depth:
            continue
        for code in _codes(f.__code__):
            for obj in _referenced(f, code):
                if isinstance(obj, types.FunctionType) and not library_function(obj):
                    todo.append((obj, level + 1))


def _attribute_names(code: types.CodeType) -> Iterator[str]:
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD"):
            yield ins.argval


def idioms_used(func: Callable[..., Any]) -> frozenset[str]:
    """The idiom method names called in ``func`` (or in functions it calls by name).

    Examples
    --------
    >>> from vecpipe.idioms._scan import idioms_used
    >>> def f(df):
    ...     return df.apply(lambda row: row["a"] + 1, axis=1)
    >>> sorted(idioms_used(f))
    ['apply']
    >>> idioms_used(lambda x: x + 1)
    frozenset()
    """
    if not isinstance(func, types.FunctionType):
        return frozenset()
    found: set[str] = set()
    for f in _user_functions(func, _DEPTH):
        for code in _codes(f.__code__):
            found.update(name for name in _attribute_names(code) if name in IDIOM_METHODS)
    return frozenset(found)


def _effects(func: types.FunctionType, code: types.CodeType) -> str | None:
    instructions = list(dis.get_instructions(code))
    freevars = set(code.co_freevars)
    for i, ins in enumerate(instructions):
        op, arg = ins.opname, ins.argval
        before = instructions[i - 1] if i >= 1 else None
        two_before = instructions[i - 2] if i >= 2 else None
        if op in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            return f"assigns the global {arg!r}"
        if op in ("STORE_DEREF", "DELETE_DEREF") and arg in freevars:
            return f"assigns the enclosing function's variable {arg!r}"
        if op == "LOAD_GLOBAL" and arg in _EFFECT_BUILTINS and arg not in func.__globals__:
            return f"calls {arg}()"
        if (
            op in ("LOAD_ATTR", "LOAD_METHOD")
            and arg in _MUTATING
            and before is not None
            and before.opname in _OUTER_LOADS
        ):
            return f"calls {before.argval}.{arg}(), which changes an object outside it"
        if (
            op in ("STORE_ATTR", "DELETE_ATTR")
            and before is not None
            and before.opname in _OUTER_LOADS
        ):
            return f"sets an attribute of {before.argval}, an object outside it"
        if (
            op in ("STORE_SUBSCR", "DELETE_SUBSCR")
            and two_before is not None
            and two_before.opname in _OUTER_LOADS
        ):
            return f"stores into {two_before.argval}, an object outside it"
        if op in ("YIELD_VALUE", "RETURN_GENERATOR"):
            return "is a generator"
    return None


def side_effects(func: Callable[..., Any]) -> str | None:
    """What ``func`` does that its caller could see, as far as its bytecode shows; None if
    nothing: assigning globals or enclosing variables, changing objects loaded from
    outside it (``log.append(v)``, ``cache[k] = v``), printing, opening files.

    Calling such a function fewer times, or in another order, would change what the
    program does, so the idioms that would do that leave it to pandas.

    Examples
    --------
    >>> from vecpipe.idioms._scan import side_effects
    >>> seen = []
    >>> side_effects(lambda v: seen.append(v) or v)
    'calls seen.append(), which changes an object outside it'
    >>> side_effects(lambda v: v * 2) is None
    True
    """
    if not isinstance(func, types.FunctionType):
        return None
    for f in _user_functions(func, _DEPTH):
        for code in _codes(f.__code__):
            found = _effects(f, code)
            if found is not None:
                name = getattr(f, "__qualname__", "the function")
                return found if f is func else f"{name} {found}"
    return None


#: Names a traced function may load: the builtins that either compute on what they are
#: given or call one of its special methods (which a tracing proxy answers or refuses).
_TRACE_BUILTINS = frozenset({"abs", "pow", "len", "float", "int", "max", "min", "round", "sum"})


def untraceable(func: Callable[..., Any]) -> str | None:
    """Why ``func`` cannot be traced with a proxy argument; None when it can.

    A trace calls the function once with a stand-in that records what is done to it. That
    is sound when every decision the function makes goes through the stand-in (which
    refuses to be turned into a bool), so the function must not catch exceptions, test
    identity (``is``), ask for types or attributes by name, or have side effects.

    Examples
    --------
    >>> from vecpipe.idioms._scan import untraceable
    >>> untraceable(lambda g: (g - g.mean()) / g.std()) is None
    True
    >>> untraceable(lambda g: g.mean() if isinstance(g, list) else 0)
    'uses isinstance'
    """
    if not isinstance(func, types.FunctionType):
        return "is not a plain Python function"
    effect = side_effects(func)
    if effect is not None:
        return effect
    for f in _user_functions(func, _DEPTH):
        for code in _codes(f.__code__):
            if code.co_exceptiontable:
                return "catches exceptions (or uses a with block)"
            for ins in dis.get_instructions(code):
                if ins.opname == "IS_OP" or "NONE" in ins.opname:  # x is None, jumps on None
                    return "tests identity with 'is'"
                if ins.opname == "LOAD_GLOBAL":
                    name = ins.argval
                    value = f.__globals__.get(name, _BUILTIN)
                    if value is _BUILTIN:
                        if name not in _TRACE_BUILTINS:
                            return f"uses {name}"
                    elif not _traceable_value(value):
                        return f"uses the global {name!r} ({type(value).__name__})"
    return None


_BUILTIN = object()


def _traceable_value(value: Any) -> bool:
    if isinstance(value, types.ModuleType):
        return value.__name__.split(".")[0] in ("numpy", "math")
    if isinstance(value, types.FunctionType):
        return not library_function(value)
    if isinstance(value, np.ufunc):  # called on a proxy, it asks the proxy's __array_ufunc__
        return True
    return isinstance(value, int | float | complex | bool | str | type(None))
