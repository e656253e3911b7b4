"""Variants: the implementations of a stage, and the facts the dispatcher needs about them.

A variant is one way to compute a stage: the reference itself, plain Python, vectorized
NumPy, or a Numba kernel. vecpipe compiles ``"numba"`` variants with
``njit(nogil=True, cache=True)`` (and ``parallel=True`` on request) so that they release
the GIL; a function the user already compiled is taken as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import marshal
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numba
import numpy as np
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher

from vecpipe.errors import GILWarning, InvalidArgument

__all__ = ["KINDS", "Variant"]

#: The kinds of variant a user can register: ``"python"`` (plain Python),
#: ``"numpy"`` (vectorized NumPy) and ``"numba"`` (compiled by vecpipe).
KINDS: tuple[str, ...] = ("python", "numpy", "numba")


def source_hash(func: Callable[..., Any], *extra: object) -> str:
    """Return a short hash of a function's source (its bytecode when no source is found).

    Changing a variant's code changes its hash, so stored measurements of the old code
    are not reused for the new one.
    """
    func = getattr(func, "py_func", func)
    digest = hashlib.sha256()
    try:
        digest.update(inspect.getsource(func).encode())
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        digest.update(marshal.dumps(code) if code is not None else repr(func).encode())
    digest.update(repr(extra).encode())
    return digest.hexdigest()[:16]


def _first_lines(exc: BaseException, limit: int = 2) -> str:
    """One or two readable lines from an exception (Numba's messages run to pages)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    noise = ("During:", "File ", "^", "[1]", "[0]")
    lines = [ln for ln in lines if not ln.startswith(noise)] or lines
    text = " ".join(lines[:limit]) if lines else ""
    return f"{type(exc).__name__}: {text}"[:300]


def _readonly_problem(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "read-only" in text or "readonly" in text


#: What ``explain()`` says of a variant that changed the private copy of its input.
WRITES_INTO_INPUT = (
    "writes into its input (it changed the private copy of the input it was given while "
    "tuning; the caller's input is untouched; work on a copy instead)"
)


def describe_failure(exc: BaseException) -> str:
    """The reason shown in ``explain()`` for a variant that raised."""
    if _readonly_problem(exc):
        return (
            "writes into its input (the input is read-only; work on a copy instead): "
            f"{_first_lines(exc, 1)}"
        )
    return _first_lines(exc)


def _jit(func: Callable[..., Any], options: dict[str, Any]) -> Dispatcher:
    try:
        return numba.njit(cache=True, **options)(func)
    except RuntimeError as exc:
        # Functions with no source file (a REPL, ``python -c``) cannot use the disk cache.
        if "cannot cache" not in str(exc):
            raise
        return numba.njit(**options)(func)


@dataclasses.dataclass(eq=False)
class Variant:
    """One implementation of a stage.

    Attributes
    ----------
    name : str
        Unique within its stage (``"numpy"``, ``"numba"``, ``"numba_parallel"``...).
    kind : str
        ``"reference"``, or one of :data:`KINDS`.
    func : callable
        The function as the user wrote it (for a user-compiled kernel, its Python
        function).
    run : callable
        What the dispatcher calls: ``func`` itself, or its Numba-compiled form.
    parallel : bool
        Whether it runs on several threads by itself (``parallel=True`` kernels).
    releases_gil : bool or None
        True for ``nogil`` Numba kernels; False for Python; None when it depends (NumPy
        releases the GIL inside most, not all, array operations).
    source_hash : str
        A hash of the source, so stored measurements follow the code.

    Examples
    --------
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def double(x):
    ...     return [2 * v for v in x]
    >>> @double.variant("numpy")
    ... def _(x):
    ...     return 2 * x
    >>> double.variants["numpy"].kind
    'numpy'
    """

    name: str
    kind: str
    func: Callable[..., Any]
    run: Callable[..., Any]
    parallel: bool = False
    releases_gil: bool | None = False
    source_hash: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Derived by vecpipe from the reference (``auto_numba``, ``auto_ufunc``...): its
    #: failures are shown in ``explain()`` without a warning.
    derived: bool = False
    #: Compiles for given arguments, for variants that are not plain Numba dispatchers.
    compiler: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = dataclasses.field(
        default=None, repr=False
    )
    #: What a derived variant did for a kind of input (given the decision's key text),
    #: shown by ``explain()``: the pandas idioms it found and what each became.
    notes: Callable[[str], str] | None = dataclasses.field(default=None, repr=False)
    #: For a variant that is plain Python around Numba kernels (see ``compiler``): the
    #: kernel every call runs, with the variant's own arguments. Whether it is compiled or
    #: in Numba's disk cache says whether the variant is ready (:meth:`ready_for`).
    entry: Dispatcher | None = dataclasses.field(default=None, repr=False)

    @property
    def compiled(self) -> bool:
        """Whether calls go through Numba-compiled code."""
        return isinstance(self.run, Dispatcher) or self.compiler is not None

    @classmethod
    def reference(cls, func: Callable[..., Any]) -> Variant:
        """The variant for a stage's original function."""
        return cls("reference", "reference", func, func, source_hash=source_hash(func))

    @classmethod
    def build(
        cls,
        stage_name: str,
        kind: str,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        parallel: bool = False,
        options: Mapping[str, Any] | None = None,
        stacklevel: int = 2,
    ) -> Variant:
        """Make a variant of ``kind`` from ``func``, compiling Numba kernels as needed.

        ``stacklevel`` points warnings at the user's line, as in :func:`warnings.warn`.
        """
        options = dict(options or {})
        if kind not in KINDS:
            msg = (
                f"stage {stage_name!r}: unknown variant kind {kind!r}; "
                f"pass one of {', '.join(repr(k) for k in KINDS)}"
            )
            raise InvalidArgument(msg)
        if not callable(func):
            msg = (
                f"stage {stage_name!r}: variant {name or kind!r} must be a function, "
                f"got {func!r} of type {type(func).__name__}"
            )
            raise InvalidArgument(msg)
        if options and kind != "numba":
            msg = (
                f"stage {stage_name!r}: options {sorted(options)} apply to 'numba' variants "
                f"only, not to kind {kind!r}"
            )
            raise InvalidArgument(msg)
        if kind != "numba":
            if parallel:
                msg = (
                    f"stage {stage_name!r}: parallel=True applies to 'numba' variants; "
                    f"a {kind!r} variant runs as written"
                )
                raise InvalidArgument(msg)
            return cls(
                name or kind,
                kind,
                func,
                func,
                releases_gil=None if kind == "numpy" else False,
                source_hash=source_hash(func, kind),
            )
        if isinstance(func, Dispatcher):
            if parallel or options:
                given = [f"{k}={v!r}" for k, v in sorted(options.items())] + (
                    ["parallel=True"] if parallel else []
                )
                msg = (
                    f"stage {stage_name!r}: variant {name or 'numba'!r} is already compiled, so "
                    f"{', '.join(given)} cannot apply; pass the plain function to let vecpipe "
                    "compile it with them, or compile the kernel with them yourself"
                )
                raise InvalidArgument(msg)
            return cls._from_user_kernel(stage_name, func, name=name, stacklevel=stacklevel + 1)
        jit_options = {"nogil": True, **options}
        if parallel:
            jit_options["parallel"] = True
        default_name = "numba_parallel" if parallel else "numba"
        return cls(
            name or default_name,
            "numba",
            func,
            _jit(func, jit_options),
            parallel=bool(parallel),
            releases_gil=bool(jit_options["nogil"]),
            source_hash=source_hash(func, "numba", sorted(jit_options.items())),
            options=jit_options,
        )

    @classmethod
    def _from_user_kernel(
        cls, stage_name: str, kernel: Dispatcher, *, name: str | None, stacklevel: int
    ) -> Variant:
        options = dict(kernel.targetoptions)
        parallel = bool(options.get("parallel", False))
        nogil = bool(options.get("nogil", False))
        variant_name = name or ("numba_parallel" if parallel else "numba")
        if not nogil:
            msg = (
                f"stage {stage_name!r}: variant {variant_name!r} was compiled without "
                "nogil=True, so it holds the GIL and blocks other threads while it runs; "
                "compile it with @numba.njit(nogil=True) (or pass the plain function and "
                "let vecpipe compile it)"
            )
            warnings.warn(msg, GILWarning, stacklevel=stacklevel)
        return cls(
            variant_name,
            "numba",
            kernel.py_func,
            kernel,
            parallel=parallel,
            releases_gil=nogil,
            source_hash=source_hash(kernel.py_func, "numba", sorted(options.items())),
            options=options,
        )

    def ready_for(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether running for these arguments' types needs no compilation.

        True for variants that are not compiled, for Numba kernels already compiled in
        this process for these types, and for those that Numba's disk cache holds (they
        are loaded now, which takes milliseconds where compiling takes seconds).
        """
        if not self.compiled:
            return True
        run = self.entry if self.entry is not None else self.run
        if kwargs or not isinstance(run, Dispatcher):
            return False
        if self.compiler is not None and self.entry is None:
            return False
        try:
            signature = tuple(numba.typeof(a) for a in args)
        except ValueError:  # a type Numba has no name for: compiling will say why
            return False
        return signature in run.overloads or _load_cached(run, signature)

    def compile_for(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
        """Compile for these arguments' types; return the seconds it took.

        None for variants that are not compiled; 0.0 when already compiled (or loaded
        from Numba's disk cache). Raises whatever Numba raises when it cannot compile.
        """
        run = self.run
        if self.compiler is not None:
            start = time.perf_counter()
            self.compiler(args, kwargs)
            return time.perf_counter() - start
        if not isinstance(run, Dispatcher):
            return None
        if kwargs:
            return 0.0  # compiled on the first call; the timing loop keeps the best run
        signature = tuple(numba.typeof(a) for a in args)
        if signature in run.overloads:
            return 0.0
        start = time.perf_counter()
        run.compile(signature)
        return time.perf_counter() - start


def _load_cached(kernel: Dispatcher, signature: tuple[Any, ...]) -> bool:
    """Load ``kernel``'s code for ``signature`` from Numba's disk cache, if it is there.

    What ``Dispatcher.compile`` does before it compiles, without compiling: Numba offers
    no public call for it, so any surprise from its internals reads as "not cached".
    """
    try:
        with global_compiler_lock:
            if signature in kernel.overloads:
                return True
            found = kernel._cache.load_overload(signature, kernel.targetctx)  # type: ignore[attr-defined]
            if found is None:
                return False
            if not found.objectmode:
                kernel.targetctx.insert_user_function(
                    found.entry_point, found.fndesc, [found.library]
                )
            kernel.add_overload(found)
            return True
    except Exception:
        return False


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), np.generic)


def private_copy(value: Any) -> Any:
    """A copy of an argument for tuning runs, of the same Numba type as ``value``.

    Arrays keep their layout class (C, F or strided) and read-only flag, so a compiled
    variant needs no second signature for the copy; pandas objects are deep copies;
    lists, tuples and dicts are copied to the depth that holds anything mutable.
    Anything else is returned as it is.
    """
    if isinstance(value, np.ndarray):
        return _array_copy(value)
    if isinstance(value, list | tuple):
        if all(isinstance(v, _IMMUTABLE) for v in value):
            return list(value) if isinstance(value, list) else value
        items = [private_copy(v) for v in value]
        return items if isinstance(value, list) else type(value)(items)  # type: ignore[call-arg]
    if isinstance(value, dict):
        return {k: private_copy(v) for k, v in value.items()}
    if hasattr(value, "iloc") and callable(getattr(value, "copy", None)):
        return value.copy(deep=True)  # a Series or DataFrame
    if isinstance(value, set):
        return set(value)
    return value


def _array_copy(a: np.ndarray) -> np.ndarray:
    if a.flags.c_contiguous or a.flags.f_contiguous:
        out = a.copy(order="K")
    else:  # strided: a strided view of a new buffer, so Numba sees layout "A" again
        out = np.empty((*a.shape, 2), dtype=a.dtype)[..., 0]
        out[...] = a
    if not a.flags.writeable:
        out.flags.writeable = False
    return out


def unchanged(copy: Any, original: Any) -> bool:
    """Whether a private copy still equals its original (bit for bit, for arrays)."""
    if copy is original:
        return True
    if type(copy) is not type(original):
        return False
    if isinstance(copy, np.ndarray):
        return _same_array(copy, original)
    if isinstance(copy, list | tuple):
        return len(copy) == len(original) and all(
            c is o or unchanged(c, o) for c, o in zip(copy, original, strict=True)
        )
    if isinstance(copy, dict):
        return list(copy) == list(original) and all(unchanged(copy[k], original[k]) for k in copy)
    if hasattr(copy, "iloc"):
        return _same_pandas(copy, original)
    try:
        return bool(copy == original)
    except Exception:
        return False


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.hasobject:
        return all(x is y or x == y for x, y in zip(a.flat, b.flat, strict=True))
    bits_a = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
    bits_b = np.ascontiguousarray(b).reshape(-1).view(np.uint8)
    return bool(np.array_equal(bits_a, bits_b))


def _same_pandas(a: Any, b: Any) -> bool:
    if a.shape != b.shape or not a.index.equals(b.index) or a.index.names != b.index.names:
        return False
    if hasattr(a, "columns"):
        if not a.columns.equals(b.columns) or not a.dtypes.equals(b.dtypes):
            return False
    elif a.dtype != b.dtype or not _same_label(a.name, b.name):
        return False
    return bool(a.equals(b))


def _same_label(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:
        return False


def readonly(value: Any) -> Any:
    """A view of ``value`` that a variant cannot write into (arrays), or a shallow copy."""
    if isinstance(value, np.ndarray):
        if not value.flags.writeable:
            return value
        view = value.view()
        view.flags.writeable = False
        return view
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    copy = getattr(value, "copy", None)
    if copy is not None and hasattr(value, "iloc"):  # pandas: copy-on-write keeps it cheap
        return copy(deep=False)
    return value
