"""``vp.export``: a stage's compiled variant as a C function that any native thread can call.

The walk from a stage to a function pointer:

1. Parse the signature (``"f8[:], f8 -> f8[:]"``) and match it to the reference's
   parameters, whose names the C header and the Rust module reuse.
2. Choose the variant: the named one, else the one the dispatcher chooses for the
   example input (tuned on the spot, or read from wisdom) with a thread budget of 1, so
   a serial kernel; if that one does not run as native code, the next in its ranking.
   Only Numba kernels qualify: ``"numba"`` variants, ``auto_numba``, and for an
   elementwise stage ``auto_ufunc``'s scalar function, which the entry applies to every
   element.
3. Compile the entry point around it (:mod:`vecpipe.host.entry`): argument checks,
   ``try/except`` around the kernel, a status code; refuse it if any path from the kernel
   takes the GIL.
4. Call the entry through ctypes on the example and compare its output with the
   reference's (the stage's equality policy), and check that it left its inputs alone.

Parallel kernels are not exported: Numba (0.68) takes the GIL to launch every
``parallel=True`` region, and under the ``workqueue`` threading layer two host threads
launching one abort the process. The host's own threads are the parallelism; an export
runs on the thread that calls it.
"""

from __future__ import annotations

import ctypes
import inspect
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher as NumbaDispatcher

from vecpipe.errors import ExportCallError, ExportError, InvalidArgument, UnknownVariant
from vecpipe.host.entry import (
    BAD_ARGUMENTS,
    KERNEL_RAISED,
    OK,
    OUTPUT_TOO_SMALL,
    STATUS,
    WRONG_LENGTH,
    Mode,
    build_entry,
    gil_users,
)
from vecpipe.host.signature import ArgType, Signature, parse_signature
from vecpipe.host.text import Names, c_header, identifier, rust_module
from vecpipe.keys import describe_key, make_key
from vecpipe.settings import config, get_config
from vecpipe.variant import describe_failure

if TYPE_CHECKING:
    from vecpipe.stage import Stage
    from vecpipe.variant import Variant

__all__ = ["EXAMPLE_SIZE", "Export", "export"]

#: The length of the generated example the dispatcher tunes on (``example=`` overrides).
EXAMPLE_SIZE = 10_000
#: vecpipe's own folder: its frames are left out of the line shown for an exception.
_PACKAGE = str(Path(__file__).resolve().parent.parent)
_USABLE = ("chosen", "measured", "dropped", "pinned")
_PARALLEL = (
    "Numba takes the GIL to launch every parallel region, and under the 'workqueue' "
    "threading layer two host threads launching one abort the process: export a serial "
    "variant and call it from your own threads"
)


def _stage_class() -> type:
    from vecpipe.stage import Stage

    return Stage


# -- arguments ----------------------------------------------------------------------------------


def _parameter_names(stage: Stage, signature: Signature) -> tuple[str, ...]:
    """The reference's parameter names, checked against the signature's count."""
    count = len(signature.args)
    try:
        parameters = list(inspect.signature(stage.reference).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a builtin): positional names
        return tuple(f"a{i}" for i in range(count))
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    optional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not p.empty
    ]
    if not len(positional) <= count <= len(positional) + len(optional):
        listed = ", ".join(p.name for p in positional + optional)
        msg = (
            f"vp.export: stage {stage.name!r} takes {len(positional)} argument(s) ({listed}) "
            f"but the signature {str(signature)!r} gives {count} type(s); give one type per "
            "argument, in the function's order"
        )
        raise InvalidArgument(msg)
    chosen = (positional + optional)[:count]
    names = [identifier(p.name, f"a{i}") for i, p in enumerate(chosen)]
    for i, name in enumerate(names):  # two names that became the same: number them
        if names.count(name) > 1:
            names[i] = f"{name}{i}"
    return tuple(names)


def _generated_example(signature: Signature, n: int) -> tuple[Any, ...]:
    """Arrays of n elements and scalars of the declared types: floats in [0.5, 1.5) and 1.25,
    integers in [1, 100) and 3 (positive, away from zero), booleans half true and True."""
    rng = np.random.default_rng(0)
    values: list[Any] = []
    for arg in signature.args:
        dtype = arg.dtype.numpy
        if arg.array:
            if dtype.kind == "f":
                values.append((rng.random(n) + 0.5).astype(dtype))
            elif dtype.kind == "i":
                values.append(rng.integers(1, 100, n).astype(dtype))
            else:
                values.append(rng.random(n) < 0.5)
        else:
            scalar = dtype.type({"f": 1.25, "i": 3, "b": True}[dtype.kind])
            values.append(scalar.item() if dtype.kind == "b" or dtype.itemsize == 8 else scalar)
    return tuple(values)


def _describe_arg(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def _coerce(
    where: str, names: tuple[str, ...], signature: Signature, args: tuple[Any, ...]
) -> tuple[Any, ...]:
    """Arguments as the exported function takes them: contiguous arrays of the declared
    dtypes (copies where needed, never the caller's objects changed) and typed scalars."""
    if len(args) != len(signature.args):
        msg = (
            f"{where}: expected {len(signature.args)} argument(s) ({', '.join(names)}) for "
            f"{signature}, got {len(args)}"
        )
        raise InvalidArgument(msg)
    out: list[Any] = []
    length: int | None = None
    for name, arg, value in zip(names, signature.args, args, strict=True):
        dtype = arg.dtype.numpy
        if arg.array:
            if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype != dtype:
                msg = (
                    f"{where}: argument {name!r} must be a 1-D {dtype} array ({arg}), got "
                    f"{_describe_arg(value)}; convert it with np.asarray(..., dtype=np.{dtype})"
                )
                raise InvalidArgument(msg)
            if length is not None and len(value) != length:
                msg = (
                    f"{where}: the array arguments must have one length (n); {name!r} has "
                    f"{len(value)} elements where the first array has {length}"
                )
                raise InvalidArgument(msg)
            length = len(value)
            out.append(np.ascontiguousarray(value))
        else:
            if isinstance(value, np.ndarray) or not isinstance(
                value, bool | int | float | np.generic
            ):
                got = _describe_arg(value)
                msg = f"{where}: argument {name!r} must be a scalar ({arg}), got {got}"
                raise InvalidArgument(msg)
            scalar = dtype.type(value)
            # float64, int64 and bool as Python's own scalars, as callers pass them: the
            # dispatcher's key (and wisdom) is then the one of ordinary calls.
            out.append(scalar.item() if dtype.kind == "b" or dtype.itemsize == 8 else scalar)
    return tuple(out)


# -- choosing a variant ---------------------------------------------------------------------------


def _plan(stage: Stage, variant: Variant) -> tuple[Mode, Any] | str:
    """How the entry runs a variant, or why it cannot (a reason for the error message)."""
    if isinstance(variant.run, NumbaDispatcher):
        return "call", variant.run
    if stage.elementwise and variant.derived and variant.compiler is not None:
        # auto_ufunc's scalar function, compiled on its own: the entry loops over elements.
        return "elementwise", numba.njit(nogil=True)(variant.func)
    return (
        f"a {variant.kind!r} variant runs Python code; only Numba kernels compile to native "
        "code (add a 'numba' variant)"
    )


def _kernel_types(mode: Mode, signature: Signature) -> tuple[Any, ...]:
    if mode == "elementwise":
        return tuple(a.dtype.numba for a in signature.args)
    return tuple(a.numba for a in signature.args)


def _result_problem(mode: Mode, kernel: Any, signature: Signature) -> str | None:
    """Compile the kernel for the signature's types; say if its result type differs."""
    argtypes = _kernel_types(mode, signature)
    kernel.compile(argtypes)
    returned = kernel.overloads[argtypes].signature.return_type
    result = signature.result
    if mode == "elementwise":
        if not result.array:
            return (
                "an elementwise stage gives an array, one value per element: declare the "
                f"result as {result.dtype.code}[:]"
            )
        expected: Any = result.dtype.numba
    else:
        expected = result.numba
    if mode == "call" and result.array:
        ok = isinstance(returned, numba.types.Array) and returned.ndim == 1
        ok = ok and returned.dtype == result.dtype.numba
    else:
        ok = returned == expected
    if ok:
        return None
    what = "each element" if mode == "elementwise" else "it"
    return f"{what} returns {returned} where the signature declares {result}"


def _ranking(
    stage: Stage, example: tuple[Any, ...]
) -> tuple[str | None, list[str], dict[str, str]]:
    """Tune on the example with a thread budget of 1; the choice, the ranking, and why the
    dispatcher set aside the variants it could not use."""
    mode = get_config().mode
    with config(mode="measure" if mode == "reference" else mode, threads=1):
        stage(*example)
        chosen = stage.choice(*example)
        key = describe_key(make_key(get_config().tag, example, {}))
    frame = stage.explain().to_frame()
    rows = frame[frame["key"] == key]
    usable = rows[rows["status"].isin(_USABLE) & (rows["variant"] != "reference")]
    usable = usable.assign(
        late=usable["status"] == "dropped", order=usable["seconds"].fillna(np.inf)
    ).sort_values(["late", "order"], kind="stable")
    unusable = rows[~rows["status"].isin((*_USABLE, "not-run", "skipped"))]
    reasons = {}
    for row in unusable.itertuples():
        variant = stage.variants[str(row.variant)]
        if row.status == "compile-failed":
            reasons[variant.name] = _compile_failure(variant, str(row.reason))
        else:
            reasons[variant.name] = f"{row.status} on the example: {row.reason}"
    return chosen, [str(v) for v in usable["variant"]], reasons


def _candidates(
    stage: Stage, variant: str | None, example: tuple[Any, ...]
) -> tuple[list[str], dict[str, str]]:
    """The variants to try, best first, and the reasons the others are not tried."""
    if variant is not None:
        if not isinstance(variant, str):
            msg = f"vp.export: variant={variant!r} must be a variant's name (a string) or None"
            raise InvalidArgument(msg)
        if variant not in stage.variants:
            known = ", ".join(repr(n) for n in stage.variants) or "none"
            msg = (
                f"vp.export: stage {stage.name!r} has no variant {variant!r} to export; "
                f"its variants: {known} (the reference is Python: export a compiled variant)"
            )
            raise UnknownVariant(msg)
        return [variant], {}
    if stage.pinned == "reference":
        msg = (
            f"vp.export: stage {stage.name!r} is pinned to its reference, which is Python; "
            f"unpin it ({stage.name}.unpin()) or pass variant='...' to export a compiled one"
        )
        raise ExportError(msg)
    if stage.pinned is not None:
        return [stage.pinned], {}
    chosen, ranked, reasons = _ranking(stage, example)
    order = ([chosen] if chosen and chosen != "reference" else []) + ranked
    # Then the variants tuning set aside for a budget of one thread (parallel ones, whose
    # compiled code is checked like any other's), in the order they were added.
    order += [name for name in stage.variants if name not in reasons]
    return list(dict.fromkeys(order)), reasons


def _compile_failure(variant: Variant, text: str) -> str:
    if variant.name == "auto_numba" and variant.derived:
        return f"the reference cannot be compiled by Numba: {text}"
    return f"Numba cannot compile it: {text}"


# -- the object ------------------------------------------------------------------------------


def _ndpointer(dtype: np.dtype, writable: bool = False) -> Any:
    flags: Any = ["C_CONTIGUOUS", "WRITEABLE"] if writable else ["C_CONTIGUOUS"]
    return np.ctypeslib.ndpointer(dtype=dtype, ndim=1, flags=flags)


class Export:
    """A stage's compiled variant as a C function: its address, header and Rust module.

    Made by :func:`export`. The compiled code lives as long as this object: keep it (a
    host keeps the Python object it got) while any thread may call the address.

    Attributes
    ----------
    address : int
        The C function's address: ``int32_t symbol(const T0 *a0, T1 s1, ..., int64_t n,
        R *out)`` (arrays as pointers, scalars by value, in the function's order; ``n`` the
        arrays' length; ``out`` the caller's buffer of ``n`` elements, or one for a scalar
        result). With ``length == "varies"`` two more parameters follow: ``int64_t
        out_cap, int64_t *out_len``.
    symbol : str
        The name used in the C header and the Rust module.
    stage : Stage
        The exported stage.
    variant : str
        The variant that runs.
    signature : Signature
        The argument and result types.
    length : {"same", "varies"}
        Whether the result has ``n`` elements, or a length of its own.
    passed_over : mapping
        The variants considered before the exported one, and why each was not used.
    """

    def __init__(
        self,
        *,
        stage: Stage,
        variant: str,
        signature: Signature,
        mode: Mode,
        varies: bool,
        compiled: Any,
        kernel: Any,
        names: Names,
        source: str,
        passed_over: Mapping[str, str],
    ) -> None:
        self.stage = stage
        self.variant = variant
        self.signature = signature
        self.mode = mode
        self.length: Literal["same", "varies"] = "varies" if varies else "same"
        self.symbol = names.symbol
        self.passed_over = dict(passed_over)
        #: The Python source of the entry point Numba compiled (for the curious).
        self.source = source
        self._compiled = compiled  # holds the machine code: it lives as long as self does
        self._kernel = kernel
        self._names = names
        self._ctypes: Any = None

    @property
    def address(self) -> int:
        """The C function's address (see the class's description for its parameters)."""
        return int(self._compiled.address)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The argument names used in the header and the Rust module (the reference's)."""
        return self._names.params

    @property
    def ctypes(self) -> Any:
        """A ctypes function of the address, for calling from Python (tests, checks).

        Array arguments take C-contiguous NumPy arrays of the declared dtype; the call
        releases the GIL, as ctypes calls do.
        """
        if self._ctypes is None:
            sig = self.signature
            argtypes: list[Any] = [
                _ndpointer(a.dtype.numpy) if a.array else a.dtype.ctypes for a in sig.args
            ]
            argtypes += [ctypes.c_int64, _ndpointer(sig.result.dtype.numpy, writable=True)]
            if self.length == "varies":
                argtypes += [ctypes.c_int64, _ndpointer(np.dtype(np.int64), writable=True)]
            function: Any = ctypes.CFUNCTYPE(ctypes.c_int32, *argtypes)(self.address)
            function.export = self  # the function keeps the compiled code alive
            self._ctypes = function
        return self._ctypes

    def c_header(self) -> str:
        """The C header: the status codes and ``typedef int32_t <symbol>_fn(...)``.

        Returns
        -------
        str
            A header that compiles as it is (C99 or C++).
        """
        return c_header(self._names, self.signature, self.length == "varies")

    def rust_extern(self) -> str:
        """The Rust module: the ``extern "C"`` function type and a safe wrapper taking slices.

        Returns
        -------
        str
            A module (standard library only) with ``RawFn``, the status codes, ``Error``
            and a struct named after the symbol in CamelCase, whose ``from_address`` takes
            :attr:`address` and whose ``call`` takes slices.
        """
        return rust_module(self._names, self.signature, self.length == "varies")

    def _run(self, args: tuple[Any, ...]) -> tuple[int, Any]:
        """Call the C function through ctypes: (status, output)."""
        function = self.ctypes
        n = next(len(a) for a in args if isinstance(a, np.ndarray))
        result = self.signature.result
        if self.length == "varies":
            out_len = np.zeros(1, dtype=np.int64)
            out = np.empty(n, dtype=result.dtype.numpy)
            status = function(*args, n, out, len(out), out_len)
            if status == OUTPUT_TOO_SMALL:
                out = np.empty(int(out_len[0]), dtype=result.dtype.numpy)
                status = function(*args, n, out, len(out), out_len)
            return status, out[: int(out_len[0])]
        out = np.empty(n if result.array else 1, dtype=result.dtype.numpy)
        status = function(*args, n, out)
        return status, (out if result.array else out[0])

    def __call__(self, *args: Any) -> Any:
        """Call the C function from Python (through ctypes): the result, or an error.

        Raises
        ------
        ExportCallError
            The call returned a status other than 0; the message is :meth:`diagnose`'s.
        """
        where = f"export {self.symbol!r}"
        status, out = self._run(_coerce(where, self.parameters, self.signature, args))
        if status != OK:
            msg = self.diagnose(*args)
            raise ExportCallError(msg, status=status)
        return out

    def diagnose(self, *args: Any) -> str:
        """Say what a call on these inputs does, and why it fails if it does.

        No message can cross the C boundary, so when a host gets a status other than 0 it
        can hand the same inputs to this method: it calls the exported function, then
        reruns the reference (and the variant) in Python, and says what went wrong.

        Parameters
        ----------
        *args
            The arguments as the C function takes them, in order: 1-D NumPy arrays of
            the declared dtypes (one length) and scalars.

        Returns
        -------
        str
            One paragraph: the status and its meaning, then the reference's behaviour
            (the exception and the line that raised, and for an elementwise stage the
            first element that fails).
        """
        where = f"export {self.symbol!r}"
        try:
            values = _coerce(where, self.parameters, self.signature, args)
        except InvalidArgument as exc:
            return (
                f"{exc} (these arguments do not fit {self.signature}; from C, NULL pointers "
                f"and negative lengths give status {BAD_ARGUMENTS}, other mistakes go unseen)"
            )
        status, out = self._run(values)
        name = STATUS.get(status, ("UNKNOWN", ""))[0]
        head = (
            f"{where} (stage {self.stage.name!r}, variant {self.variant!r}): "
            f"status {status} ({name})"
        )
        reference = _reference_outcome(self.stage, values)
        if status == KERNEL_RAISED:
            variant = self._variant_error(values)
            if isinstance(reference, BaseException):
                where_raised = _where(reference, self.stage, values)
                return f"{head}. The reference raises on these inputs too: {where_raised}"
            return (
                f"{head}. The reference does not raise on these inputs; the variant does"
                + (f": {variant}" if variant else "")
                + ". Export another variant (variant=...) or fix this one."
            )
        if status == WRONG_LENGTH:
            got = "another number of"
            if not isinstance(reference, BaseException):
                got = str(len(reference))
            n = len(next(a for a in values if isinstance(a, np.ndarray)))
            return (
                f"{head}. The export was made with length='same' (the example's result had n "
                f"elements), but here the result has {got} elements for n={n}; export again "
                "with length='varies'."
            )
        if status == OK:
            if isinstance(reference, BaseException):
                return (
                    f"{head}, but the reference raises on these inputs: "
                    f"{_where(reference, self.stage, values)}"
                )
            difference = self.stage.equal.compare(_as_result(reference, self.signature.result), out)
            if difference is None:
                return f"{head}; the result equals the reference's."
            return f"{head}, but the result differs from the reference's: {difference}"
        return head + "."

    def _variant_error(self, values: tuple[Any, ...]) -> str | None:
        """The compiled kernel's own exception on these inputs, called from Python."""
        kernel = self._kernel
        try:
            if self.mode == "elementwise":
                n = len(next(a for a in values if isinstance(a, np.ndarray)))
                for i in range(n):
                    kernel(*(a[i] if isinstance(a, np.ndarray) else a for a in values))
            else:
                kernel(*values)
        except Exception as exc:
            return describe_failure(exc)
        return None

    def __repr__(self) -> str:
        return (
            f"<vecpipe.Export {self.symbol!r}: stage {self.stage.name!r}, variant "
            f"{self.variant!r}, {self.signature}, length={self.length!r}>"
        )


def _reference_outcome(stage: Stage, values: tuple[Any, ...]) -> Any:
    """The reference's result on these inputs, or the exception it raises."""
    try:
        with config(mode="reference"):
            return stage(*values)
    except Exception as exc:
        return exc


def _as_result(value: Any, result: ArgType) -> Any:
    """The reference's output in the declared result type: what crosses the boundary, and
    what the exported function's output is compared with (a float64 reference exported as
    float32 is compared in float32, at float32's tolerance)."""
    dtype = result.dtype.numpy
    with np.errstate(all="ignore"):
        if result.array:
            return np.asarray(value).astype(dtype, copy=False)
        return dtype.type(value)


def _where(exc: BaseException, stage: Stage, values: tuple[Any, ...]) -> str:
    """An exception, the line of the user's code that raised it, and for an elementwise
    stage the first element that fails."""
    text = describe_failure(exc)
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_PACKAGE)
    ]
    if frames:
        frame = frames[-1]
        text += f" (in {frame.name}, line {frame.lineno}: {(frame.line or '').strip()})"
    if stage.elementwise:
        n = len(next(a for a in values if isinstance(a, np.ndarray)))
        for i in range(n):
            items = [a[i] if isinstance(a, np.ndarray) else a for a in values]
            items = [v.item() if isinstance(v, np.generic) else v for v in items]
            try:
                stage.reference(*items)
            except Exception:
                shown = ", ".join(f"{v!r}" for v in items)
                text += f"; first at element {i}: {stage.name}({shown})"
                break
    return text


# -- the function ----------------------------------------------------------------------------


def _check_symbol(symbol: str | None, stage: Stage) -> str:
    if symbol is None:
        base = re.sub(r"\W", "_", stage.name.lower(), flags=re.ASCII).strip("_") or "stage"
        return base if not base[0].isdigit() else f"stage_{base}"
    if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", symbol):
        msg = (
            f"vp.export: symbol={symbol!r} must be a C identifier (letters, digits and "
            "underscores, not starting with a digit)"
        )
        raise InvalidArgument(msg)
    return symbol


def export(
    stage: Stage,
    signature: str,
    *,
    variant: str | None = None,
    length: Literal["same", "varies"] | None = None,
    example: tuple[Any, ...] | None = None,
    symbol: str | None = None,
) -> Export:
    """Export a stage's compiled variant as a C function callable from any thread, GIL-free.

    Parameters
    ----------
    stage : Stage
        The stage (for a plain function: ``vp.stage(f)``, or ``vp.stage(f,
        elementwise=True)`` for a scalar function applied to every element).
    signature : str
        Numba-style types in the function's order, then ``->`` and the result:
        ``"f8[:], f8 -> f8[:]"``. Element types: ``f8``, ``f4``, ``i8``, ``i4``, ``b1``
        (or ``float64``...); ``[:]`` marks a 1-D contiguous array. For an elementwise
        stage, the arrays are applied element by element (scalars broadcast).
    variant : str, optional
        The variant to export. By default, the one the dispatcher chooses for the
        example with a thread budget of 1 (tuned now, or from wisdom); if it does not run
        as native code, the next best that does.
    length : {"same", "varies"}, optional
        Whether an array result has ``n`` elements (``"same"``) or a length of its own
        (``"varies"``: the function then takes ``out_cap`` and ``out_len`` too). By
        default, what the reference does on the example.
    example : tuple, optional
        Arguments to tune and check on (arrays of the declared dtypes, one length, and
        scalars). By default, arrays of 10,000 positive values and small scalars.
    symbol : str, optional
        The name in the C header and the Rust module (default: the stage's name).

    Returns
    -------
    Export
        ``.address`` of the C function, ``.c_header()``, ``.rust_extern()``, ``.ctypes``,
        ``.diagnose(...)``. Keep it alive while the address is in use.

    Raises
    ------
    ExportError
        No variant qualifies: the message names each one and why (the reference cannot be
        compiled by Numba, a variant runs Python code, its result type differs from the
        signature, it takes the GIL, it differs from the reference on the example...).
    InvalidArgument
        A bad signature, example, length or symbol.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> def scale(x, k):
    ...     out = np.empty(len(x))
    ...     for i in range(len(x)):
    ...         out[i] = x[i] * k
    ...     return out
    >>> exported = vp.export(vp.stage(scale), "f8[:], f8 -> f8[:]")
    >>> exported.variant, exported.symbol
    ('auto_numba', 'scale')
    >>> exported(np.arange(3.0), 2.0)  # through ctypes; a host calls exported.address
    array([0., 2., 4.])
    >>> print(next(line for line in exported.c_header().splitlines() if "typedef" in line))
    typedef int32_t scale_fn(const double *x, double k, int64_t n, double *out);
    """
    if not isinstance(stage, _stage_class()):
        hint = (
            f"; wrap it: vp.export(vp.stage({getattr(stage, '__name__', 'f')}), ...) "
            "(vp.stage(f, elementwise=True) for a scalar function)"
            if callable(stage)
            else ""
        )
        msg = f"vp.export: expected a stage, got {stage!r} of type {type(stage).__name__}{hint}"
        raise InvalidArgument(msg)
    parsed = parse_signature(signature)
    if length not in (None, "same", "varies"):
        msg = f"vp.export: length={length!r} must be 'same', 'varies' or None (from the example)"
        raise InvalidArgument(msg)
    if length == "varies" and not parsed.result.array:
        msg = f"vp.export: length='varies' needs an array result; {parsed} returns a scalar"
        raise InvalidArgument(msg)
    name = _check_symbol(symbol, stage)
    params = _parameter_names(stage, parsed)
    where = f"vp.export({stage.name!r})"
    values = (
        _generated_example(parsed, EXAMPLE_SIZE)
        if example is None
        else _coerce(f"{where}: example", params, parsed, tuple(example))
    )
    n = len(values[parsed.arrays[0]])
    expected = _reference_outcome(stage, values)
    if isinstance(expected, BaseException):
        msg = (
            f"{where}: the reference raises on the "
            f"{'generated ' if example is None else ''}example: "
            f"{_where(expected, stage, values)}; pass example=(...) with inputs it accepts"
        )
        raise ExportError(msg) from expected
    expected = _as_result(expected, parsed.result)
    if parsed.result.array and getattr(expected, "ndim", None) != 1:
        msg = (
            f"{where}: the signature declares {parsed.result} but the reference returns "
            f"{_describe_arg(expected)} on the example"
        )
        raise ExportError(msg)
    if length is None:
        varies = parsed.result.array and len(expected) != n
    else:
        varies = length == "varies"
    if stage.elementwise and varies:
        msg = (
            f"{where}: an elementwise stage's result has n elements; length='varies' does not apply"
        )
        raise InvalidArgument(msg)
    candidates, passed_over = _candidates(stage, variant, values)
    for candidate in candidates:
        found = _try_variant(stage, candidate, parsed, varies, values, expected)
        if isinstance(found, str):
            passed_over[candidate] = found
            continue
        compiled, kernel, mode, source = found
        names = Names(name, params, stage.name, stage.id, candidate, _version())
        return Export(
            stage=stage,
            variant=candidate,
            signature=parsed,
            mode=mode,
            varies=varies,
            compiled=compiled,
            kernel=kernel,
            names=names,
            source=source,
            passed_over={k: v for k, v in passed_over.items() if k != candidate},
        )
    reasons = "; ".join(f"{n_}: {r}" for n_, r in passed_over.items()) or "it has no variants"
    msg = (
        f"{where}: no variant of stage {stage.name!r} can be exported as {parsed}: {reasons}. "
        "Add a Numba variant (@stage.variant('numba')) that compiles for these types"
    )
    raise ExportError(msg)


def _version() -> str:
    from vecpipe import __version__

    return __version__


def _try_variant(
    stage: Stage,
    name: str,
    signature: Signature,
    varies: bool,
    values: tuple[Any, ...],
    expected: Any,
) -> tuple[Any, Any, Mode, str] | str:
    """Compile, check and try one variant: (compiled entry, kernel, mode, source), or why not."""
    variant = stage.variants[name]
    plan = _plan(stage, variant)
    if isinstance(plan, str):
        return plan
    mode, kernel = plan
    try:
        problem = _result_problem(mode, kernel, signature)
    except Exception as exc:
        return _compile_failure(variant, describe_failure(exc))
    if problem is not None:
        return problem
    compiled, source = build_entry(signature, mode, varies, kernel)
    scan = gil_users(compiled)
    if scan is None:
        return (
            "its compiled code could not be checked for GIL use (this Numba's cfunc "
            "wrapper has an unknown shape); not exported"
        )
    gil, parallel = scan
    if gil or parallel:
        found = ", ".join(gil) if gil else ", ".join(parallel)
        what = "takes the GIL" if gil else "launches a parallel region"
        reason = f"its compiled code {what}: {found}"
        return reason + (f" ({_PARALLEL})" if parallel else "")
    return _checked(stage, compiled, kernel, mode, source, signature, varies, values, expected)


def _checked(
    stage: Stage,
    compiled: Any,
    kernel: Any,
    mode: Mode,
    source: str,
    signature: Signature,
    varies: bool,
    values: tuple[Any, ...],
    expected: Any,
) -> tuple[Any, Any, Mode, str] | str:
    """Run the compiled entry on (a copy of) the example; compare with the reference."""
    names = Names("check", tuple(f"a{i}" for i in range(len(values))), "", "", "", "")
    probe = Export(
        stage=stage,
        variant="",
        signature=signature,
        mode=mode,
        varies=varies,
        compiled=compiled,
        kernel=kernel,
        names=names,
        source=source,
        passed_over={},
    )
    copies = tuple(v.copy() if isinstance(v, np.ndarray) else v for v in values)
    status, out = probe._run(copies)
    if status != OK:
        label = STATUS.get(status, ("UNKNOWN", ""))[0]
        return f"returned status {status} ({label}) on the example, where the reference succeeds"
    for before, after in zip(values, copies, strict=True):
        if isinstance(before, np.ndarray) and not np.array_equal(
            before, after, equal_nan=before.dtype.kind == "f"
        ):
            return "writes into its input arrays, which the exported function takes as const"
    difference = stage.equal.compare(_as_result(expected, signature.result), out)
    if difference is not None:
        return f"differs from the reference on the example: {difference}"
    return compiled, kernel, mode, source
