"""Variants vecpipe derives from the reference, with no change to its source.

- ``auto_numba``: the reference compiled ``njit(nogil=True, boundscheck=True, cache=True)``.
  Numba compiles lazily, per kind of input; where it cannot, the variant is marked
  ``compile-failed`` for that key with Numba's reason in one or two lines, and wisdom
  remembers the failure (by source hash), so no later process pays for it again.
- For ``elementwise=True`` stages, whose reference is a scalar function applied to every
  element: the reference *variant* is the Python loop over the elements (broadcasting like
  NumPy, a Series' index and name kept), and ``auto_ufunc`` / ``auto_ufunc_parallel`` are
  the scalar function compiled with ``numba.vectorize`` for the cpu and parallel targets.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pandas as pd

from vecpipe.variant import Variant, source_hash

__all__ = ["DERIVERS", "auto_numba", "auto_ufuncs", "derived_variants", "elementwise_loop"]

#: Further derivations, registered by the packages that provide them (``vecpipe.idioms``
#: registers the pandas idioms): each takes ``(reference, chunkable)`` and returns the
#: variants it derives, none for a reference it does not apply to.
DERIVERS: list[Callable[[Callable[..., Any], bool], list[Variant]]] = []

#: References from these packages are library code, not pipeline code: not compiled.
_LIBRARIES = ("numpy", "pandas", "scipy", "numba", "builtins", "math")


def _compilable(func: Callable[..., Any]) -> bool:
    if not isinstance(func, types.FunctionType):
        return False
    module = getattr(func, "__module__", "") or ""
    return module.split(".")[0] not in _LIBRARIES


def auto_numba(func: Callable[..., Any]) -> Variant | None:
    """The reference compiled as it is, or None when it is not a plain Python function."""
    if not _compilable(func):
        return None
    # Bounds checked, as in Python: an out-of-range index raises IndexError instead of
    # reading past the array (the reference's behaviour on an empty input, say).
    options = {"nogil": True, "boundscheck": True}
    try:
        kernel = numba.njit(cache=True, nogil=True, boundscheck=True)(func)
    except RuntimeError:  # no source file to cache against (a REPL, python -c)
        kernel = numba.njit(nogil=True, boundscheck=True)(func)
    return Variant(
        "auto_numba",
        "numba",
        func,
        kernel,
        releases_gil=True,
        source_hash=source_hash(func, "auto_numba"),
        options=options,
        derived=True,
    )


def derived_variants(
    func: Callable[..., Any], *, elementwise: bool, chunkable: bool
) -> list[Variant]:
    """Every variant vecpipe derives from a stage's reference, for ``Stage(auto=True)``."""
    if elementwise:
        return auto_ufuncs(func)
    derived = [v for v in [auto_numba(func)] if v is not None]
    for derive in DERIVERS:
        derived.extend(derive(func, chunkable))
    return derived


# -- elementwise stages ---------------------------------------------------------------------


def _unwrap(args: tuple[Any, ...]) -> tuple[list[Any], pd.Series | None]:
    """Arrays for the arguments, and the first Series among them (its index is kept)."""
    template = next((a for a in args if isinstance(a, pd.Series)), None)
    arrays = [a.to_numpy() if isinstance(a, pd.Series) else a for a in args]
    return arrays, template


#: What an element becomes in the reference's Python loop (``.tolist()`` gives Python
#: floats, ints and complexes): narrower NumPy types are widened to these before a derived
#: ufunc runs, so that it computes in the reference's precision and gives its dtype (a
#: float32 input's elements are doubles in the loop, and its result float64).
_PYTHON_WIDTH = {"f": np.dtype(np.float64), "i": np.dtype(np.int64), "c": np.dtype(np.complex128)}


def _as_python_types(arrays: list[Any]) -> list[Any]:
    widened = []
    for a in arrays:
        dtype = getattr(a, "dtype", None)
        if isinstance(dtype, np.dtype):
            kind = "i" if dtype.kind == "u" and dtype.itemsize < 8 else dtype.kind
            wide = _PYTHON_WIDTH.get(kind)
            if wide is not None and dtype != wide:
                a = np.asarray(a).astype(wide) if isinstance(a, np.ndarray) else wide.type(a)
        widened.append(a)
    return widened


def _rewrap(out: Any, template: pd.Series | None) -> Any:
    if template is None:
        return out
    return pd.Series(out, index=template.index, name=template.name)


def elementwise_loop(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` applied to every element, in a Python loop: an elementwise stage's reference.

    Arguments broadcast like NumPy's; scalars give a scalar; a Series gives a Series with
    its index and name, like ``Series.map``.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.auto import elementwise_loop
    >>> loop = elementwise_loop(lambda a, b: a if a > b else b)
    >>> loop(np.array([1.0, 5.0]), 3.0)
    array([3., 5.])
    """

    @functools.wraps(func)
    def loop(*args: Any) -> Any:
        arrays, template = _unwrap(args)
        if not any(isinstance(a, np.ndarray) for a in arrays):
            return func(*args)
        columns = np.broadcast_arrays(*[np.asarray(a) for a in arrays])
        shape = columns[0].shape
        values = [
            func(*items) for items in zip(*(c.ravel().tolist() for c in columns), strict=True)
        ]
        if values:
            out = np.asarray(values)
            out = out.reshape(shape)
        else:
            out = np.empty(shape, dtype=np.result_type(*(c.dtype for c in columns), np.float64))
        return _rewrap(out, template)

    loop.__wrapped__ = func  # type: ignore[attr-defined]
    return loop


class _ParallelUfunc:
    """``numba.vectorize(target="parallel")`` needs signatures: build one per input dtypes."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self._scalar = numba.njit(func)
        self._by_types: dict[tuple[np.dtype, ...], Any] = {}
        self._lock = threading.Lock()

    def ufunc_for(self, arrays: list[Any]) -> Any:
        dtypes = tuple(np.asarray(a).dtype for a in arrays)
        found = self._by_types.get(dtypes)
        if found is not None:
            return found
        with self._lock:
            found = self._by_types.get(dtypes)
            if found is None:
                argtypes = tuple(numba.from_dtype(d) for d in dtypes)
                self._scalar.compile(argtypes)
                overload = self._scalar.overloads[argtypes]
                result = overload.signature.return_type  # type: ignore[attr-defined]
                try:
                    found = numba.vectorize([result(*argtypes)], target="parallel", cache=True)(
                        self.func
                    )
                except RuntimeError:  # no source file to cache against
                    found = numba.vectorize([result(*argtypes)], target="parallel")(self.func)
                self._by_types[dtypes] = found
        return found

    def __call__(self, *args: Any) -> Any:
        arrays, template = _unwrap(args)
        arrays = _as_python_types(arrays)
        with np.errstate(all="ignore"):  # as in run_cpu: no warnings the reference lacks
            return _rewrap(self.ufunc_for(arrays)(*arrays), template)


def _cpu_ufunc(func: Callable[..., Any]) -> Any:
    try:
        return numba.vectorize(cache=True)(func)
    except RuntimeError:  # no source file to cache against
        return numba.vectorize()(func)


def auto_ufuncs(func: Callable[..., Any]) -> list[Variant]:
    """``auto_ufunc`` and ``auto_ufunc_parallel`` for an elementwise stage's scalar function."""
    if not _compilable(func):
        return []
    ufunc = _cpu_ufunc(func)

    def run_cpu(*args: Any) -> Any:
        arrays, template = _unwrap(args)
        arrays = _as_python_types(arrays)
        # Comparisons with NaN set the invalid flag in compiled code; the Python
        # reference raises no warning for them, so neither does its ufunc.
        with np.errstate(all="ignore"):
            return _rewrap(ufunc(*arrays), template)

    compiled: set[tuple[np.dtype, ...]] = set()

    def compile_cpu(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        arrays = _as_python_types(_unwrap(args)[0])
        dtypes = tuple(np.asarray(a).dtype for a in arrays)
        if dtypes not in compiled:
            # A call on empty arrays compiles the loop if the ufunc lacks it (ufunc.add
            # warns when a direct call of the variant compiled it already).
            with np.errstate(all="ignore"):
                ufunc(*(np.empty(0, dtype=d) for d in dtypes))
            compiled.add(dtypes)

    parallel = _ParallelUfunc(func)
    # NumPy runs a compiled ufunc's loop without the GIL (another Python thread kept
    # running throughout a 3 s auto_ufunc call on 2M elements); only the few Python
    # lines around the call hold it, as for a Numba kernel's dispatch.
    return [
        Variant(
            "auto_ufunc",
            "numba",
            func,
            functools.wraps(func)(run_cpu),
            releases_gil=True,
            source_hash=source_hash(func, "auto_ufunc"),
            derived=True,
            compiler=compile_cpu,
        ),
        Variant(
            "auto_ufunc_parallel",
            "numba",
            func,
            functools.wraps(func)(parallel),
            parallel=True,
            releases_gil=True,
            source_hash=source_hash(func, "auto_ufunc_parallel"),
            derived=True,
            compiler=lambda args, kwargs: parallel.ufunc_for(_as_python_types(_unwrap(args)[0])),
        ),
    ]
