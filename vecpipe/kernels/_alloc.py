"""Output arrays for compiled kernels, allocated the way NumPy allocates them.

Inside ``njit`` code, ``np.empty`` takes memory from Numba's allocator (``malloc``), and
the first write to each 4 KiB page of a large result faults once: measured on the
development VM, allocating and filling 10^7 float64 took 52 ms this way against 14 ms
for an array from NumPy, which asks Linux for transparent huge pages on allocations of
4 MiB and more (``madvise(MADV_HUGEPAGE)``). :func:`empty` does the same from compiled
code, so every kernel's output costs what NumPy's would. ``madvise`` is declared to LLVM
by name (no ctypes pointer), so the kernels that call it stay cacheable on disk.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

# Linux only: MADV_HUGEPAGE is 14 there; other systems keep the plain allocation.
_HUGEPAGES = sys.platform.startswith("linux")
_MADV_HUGEPAGE = 14
_THRESHOLD = 4 << 20  # bytes: NumPy's own threshold for the advice


@intrinsic
def _madvise(typingctx, address, length, advice):  # type: ignore[no-untyped-def]
    """``madvise(address, length, advice)`` from libc; its result is ignored by callers."""
    sig = types.int32(types.uintp, types.uintp, types.int32)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fnty = ir.FunctionType(
            ir.IntType(32), [ir.IntType(8).as_pointer(), ir.IntType(64), ir.IntType(32)]
        )
        fn = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
        pointer = builder.inttoptr(args[0], ir.IntType(8).as_pointer())
        return builder.call(fn, [pointer, args[1], args[2]])

    return sig, codegen


@numba.njit(nogil=True, cache=True)
def _advise(out):
    nbytes = out.size * out.itemsize
    if _HUGEPAGES and nbytes >= _THRESHOLD:
        start = out.ctypes.data
        aligned = (start + 4095) & ~np.uintp(4095)
        _madvise(np.uintp(aligned), np.uintp(start + nbytes - aligned), np.int32(_MADV_HUGEPAGE))


@numba.njit(nogil=True, cache=True)
def empty(n):
    """``np.empty(n)`` (float64) with NumPy's large-allocation advice."""
    out = np.empty(n)
    _advise(out)
    return out


@numba.njit(nogil=True, cache=True)
def full(n, value):
    """``np.full(n, value)`` (float64) with NumPy's large-allocation advice."""
    out = empty(n)
    out[:] = value
    return out
