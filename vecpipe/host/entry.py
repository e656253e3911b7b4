"""The exported entry point: its source, compiling it with ``numba.cfunc``, and the GIL check.

An entry point is a C function made of a few lines of Python that Numba compiles as a
``cfunc``: it checks its arguments, wraps the caller's pointers as arrays
(``numba.carray``, no copy), calls the variant's compiled kernel inside
``try/except Exception`` and copies the result into the caller's buffer. It returns a
status and never raises: an exception escaping a ``cfunc`` would make Numba take the GIL
to print it (and deadlock if another thread holds the GIL), then return garbage.

Nothing else on the path may take the GIL either, so after compiling, :func:`gil_users`
reads the entry's LLVM IR and follows its direct calls from the kernel's side of the
wrapper: a call to ``numba_gil_ensure`` (``print()`` in a kernel, an ``objmode`` block,
the launch of every ``parallel=True`` region) refuses the export, and so does a call to
``numba_parallel_for`` (under the ``workqueue`` threading layer, two host threads
launching a parallel region at once abort the process).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np
from llvmlite import ir
from numba import types as nb
from numba.extending import intrinsic

from vecpipe.host.signature import Signature

__all__ = [
    "BAD_ARGUMENTS",
    "KERNEL_RAISED",
    "OK",
    "OUTPUT_TOO_SMALL",
    "STATUS",
    "WRONG_LENGTH",
    "build_entry",
    "c_signature",
    "entry_source",
    "gil_users",
    "readable",
]

#: The call succeeded; the output holds the result.
OK = 0
#: The kernel raised (``.diagnose(...)`` in Python says why).
KERNEL_RAISED = 1
#: The output buffer is smaller than the result; ``*out_len`` holds the length needed.
OUTPUT_TOO_SMALL = 2
#: A null pointer or a negative length.
BAD_ARGUMENTS = 3
#: The kernel's result is not ``n`` long, where the export promised it would be.
WRONG_LENGTH = 4
#: Each status's name (as in the C header, after ``VECPIPE_``) and meaning.
STATUS: dict[int, tuple[str, str]] = {
    OK: ("OK", "done: the output holds the result"),
    KERNEL_RAISED: ("KERNEL_RAISED", "the kernel raised: .diagnose(...) in Python says why"),
    OUTPUT_TOO_SMALL: ("OUTPUT_TOO_SMALL", "out_cap < *out_len: call again with that many"),
    BAD_ARGUMENTS: ("BAD_ARGUMENTS", "a null pointer or a negative length"),
    WRONG_LENGTH: ("WRONG_LENGTH", "the result is not n long: export with length='varies'"),
}

Mode = Literal["call", "elementwise"]


@intrinsic
def _is_null(typingctx: Any, ptr: nb.Type) -> Any:
    """Whether a raw pointer is NULL (Numba has no comparison for pointers)."""
    if not isinstance(ptr, nb.RawPointer | nb.CPointer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        (value,) = args
        return builder.icmp_unsigned("==", value, ir.Constant(value.type, None))

    return nb.boolean(ptr), codegen


def entry_source(signature: Signature, mode: Mode, varies: bool) -> str:
    """The Python source of the entry point, for these argument types and this mode.

    ``mode`` is ``"call"`` (``kernel`` takes the arguments as they are) or
    ``"elementwise"`` (``kernel`` is a scalar function, applied to every element).

    Examples
    --------
    >>> from vecpipe.host.signature import parse_signature
    >>> print(entry_source(parse_signature("f8[:], f8 -> f8[:]"), "elementwise", False))
    def entry(p0, s1, n, pout):
        if n < 0:
            return 3
        if _is_null(p0) or _is_null(pout):
            return 3
        a0 = carray(p0, n, D0)
        out = carray(pout, n, R)
        try:
            for i in range(n):
                out[i] = kernel(a0[i], s1)
        except Exception:
            return 1
        return 0
    """
    args = signature.args
    params = [f"p{i}" if a.array else f"s{i}" for i, a in enumerate(args)]
    params += ["n", "pout"] + (["out_cap", "pout_len"] if varies else [])
    lines = [f"def entry({', '.join(params)}):"]
    lines += [
        f"    if n < 0{' or out_cap < 0' if varies else ''}:",
        f"        return {BAD_ARGUMENTS}",
    ]
    nulls = [f"_is_null(p{i})" for i in signature.arrays]
    nulls += (
        ["_is_null(pout_len)", "(out_cap > 0 and _is_null(pout))"] if varies else ["_is_null(pout)"]
    )
    lines += [f"    if {' or '.join(nulls)}:", f"        return {BAD_ARGUMENTS}"]
    values = []
    for i, a in enumerate(args):
        if a.array:
            lines.append(f"    a{i} = carray(p{i}, n, D{i})")
            values.append(f"a{i}[i]" if mode == "elementwise" else f"a{i}")
        elif a.dtype.code == "b1":  # a C bool arrives as one byte
            lines.append(f"    b{i} = s{i} != 0")
            values.append(f"b{i}")
        else:
            values.append(f"s{i}")
    call = f"kernel({', '.join(values)})"
    if mode == "elementwise":
        lines += [
            "    out = carray(pout, n, R)",
            "    try:",
            "        for i in range(n):",
            f"            out[i] = {call}",
            "    except Exception:",
            f"        return {KERNEL_RAISED}",
            f"    return {OK}",
        ]
        return "\n".join(lines)
    lines += [
        "    try:",
        f"        r = {call}",
        "    except Exception:",
        f"        return {KERNEL_RAISED}",
    ]
    if not signature.result.array:
        lines += ["    out = carray(pout, 1, R)", "    out[0] = r", f"    return {OK}"]
    elif varies:
        lines += [
            "    m = len(r)",
            "    out_len = carray(pout_len, 1, I8)",
            "    out_len[0] = m",
            "    if m > out_cap:",
            f"        return {OUTPUT_TOO_SMALL}",
            "    if m > 0:",
            "        out = carray(pout, m, R)",
            "        for i in range(m):",
            "            out[i] = r[i]",
            f"    return {OK}",
        ]
    else:
        lines += [
            "    if len(r) != n:",
            f"        return {WRONG_LENGTH}",
            "    out = carray(pout, n, R)",
            "    for i in range(n):",
            "        out[i] = r[i]",
            f"    return {OK}",
        ]
    return "\n".join(lines)


def c_signature(signature: Signature, varies: bool) -> Any:
    """The entry's Numba signature: pointers as ``void*``, scalars by value, then n, out."""
    params: list[nb.Type] = [nb.voidptr if a.array else a.dtype.abi for a in signature.args]
    params += [nb.int64, nb.voidptr] + ([nb.int64, nb.voidptr] if varies else [])
    return nb.int32(*params)


def build_entry(
    signature: Signature, mode: Mode, varies: bool, kernel: Callable[..., Any]
) -> tuple[Any, str]:
    """Compile the entry point around ``kernel``; return the ``numba.cfunc`` and its source.

    Raises whatever Numba raises when the entry cannot be compiled.
    """
    source = entry_source(signature, mode, varies)
    namespace: dict[str, Any] = {
        "carray": numba.carray,
        "_is_null": _is_null,
        "kernel": kernel,
        "R": signature.result.dtype.numpy,
        "I8": np.dtype(np.int64),
    }
    namespace.update({f"D{i}": a.dtype.numpy for i, a in enumerate(signature.args)})
    code = compile(source, f"<vecpipe export entry {signature}>", "exec")
    exec(code, namespace)
    compiled = numba.cfunc(c_signature(signature, varies))(namespace["entry"])
    return compiled, source


# -- the GIL check ------------------------------------------------------------------------------

#: Calls that take the GIL (or a thread state, which needs it).
_GIL_SYMBOLS = frozenset(
    {
        "numba_gil_ensure",
        "PyGILState_Ensure",
        "PyEval_RestoreThread",
        "PyEval_AcquireThread",
        "PyEval_AcquireLock",
    }
)
#: Calls that launch a parallel region on Numba's threading layer.
_PARALLEL_SYMBOLS = frozenset({"numba_parallel_for"})
_NAME = r'@("(?:[^"\\]|\\.)*"|[-a-zA-Z$._][-a-zA-Z$._0-9]*)'
_DEFINE = re.compile(r"^define\b[^@]*" + _NAME)
_CALL = re.compile(r"\bcall\b[^@]*?" + _NAME + r"\s*\(")


def _functions(ir_text: str) -> dict[str, set[str]]:
    """Each function the module defines, and the functions its body calls directly."""
    calls: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in ir_text.splitlines():
        if current is None:
            match = _DEFINE.match(line)
            if match is not None:
                current = calls.setdefault(match.group(1).strip('"'), set())
        elif line.startswith("}"):
            current = None
        else:
            current.update(m.group(1).strip('"') for m in _CALL.finditer(line))
    return calls


def readable(symbol: str) -> str:
    """A Numba-mangled function name as a dotted name: ``_ZN8__main__4loopB2...``, say.

    Examples
    --------
    >>> readable("_ZN8__main__4loopB2v3B54c8tJTC")
    '__main__.loop'
    >>> readable("NRT_decref")
    'NRT_decref'
    """
    if not symbol.startswith("_ZN"):
        return symbol
    parts, i = [], 3
    while i < len(symbol) and symbol[i].isdigit():
        j = i
        while j < len(symbol) and symbol[j].isdigit():
            j += 1
        size = int(symbol[i:j])
        parts.append(symbol[j : j + size])
        i = j + size
    text = ".".join(parts) or symbol
    return re.sub(r"_([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


def gil_users(compiled: Any) -> tuple[list[str], list[str]] | None:
    """The functions on the kernel's side of a compiled entry that take the GIL, and those
    that launch a parallel region.

    Follows direct calls from the function the ``cfunc`` wrapper calls (the wrapper
    itself is left out: its only GIL use is reporting an escaped exception, which the
    entry's ``try/except`` leaves unreachable). Names read like
    ``"__main__.kernel (numba_gil_ensure)"``; two empty lists mean no path takes the GIL
    or starts Numba's threads. None when the IR does not have the shape this check knows
    (a Numba change), so that the caller can refuse rather than guess.
    """
    calls = _functions(compiled.inspect_llvm())
    wrappers = [name for name in calls if name.startswith("cfunc.")]
    if len(wrappers) != 1 or wrappers[0][len("cfunc.") :] not in calls:
        return None
    start = wrappers[0][len("cfunc.") :]
    seen, todo = {start}, [start]
    gil: set[str] = set()
    parallel: set[str] = set()
    while todo:
        name = todo.pop()
        for callee in sorted(calls.get(name, ())):
            if callee in _GIL_SYMBOLS:
                gil.add(f"{readable(name)} ({callee})")
            elif callee in _PARALLEL_SYMBOLS:
                parallel.add(f"{readable(name)} ({callee})")
            elif callee in calls and callee not in seen:
                seen.add(callee)
                todo.append(callee)
    return sorted(gil), sorted(parallel)
