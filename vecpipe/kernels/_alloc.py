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
def _advise(typingctx, array):  # type: ignore[no-untyped-def]
    """``madvise(MADV_HUGEPAGE)`` over the whole pages of ``array``'s data (at least
    ``_THRESHOLD`` bytes, C-contiguous), as NumPy does; the result of the call is ignored.

    Written out in LLVM IR rather than as Numba code over ``array.ctypes.data``: typing
    and lowering that took 0.2 s of every kernel's first compilation, which now costs
    next to nothing.
    """
    sig = types.none(array)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        [arrty] = signature.args
        ary = context.make_array(arrty)(context, builder, args[0])
        i64 = ir.IntType(64)
        start = builder.ptrtoint(ary.data, i64)
        nbytes = builder.mul(ary.nitems, ary.itemsize)
        aligned = builder.and_(builder.add(start, i64(4095)), i64(~4095 & (2**64 - 1)))
        length = builder.sub(builder.add(start, nbytes), aligned)
        fnty = ir.FunctionType(ir.IntType(32), [ir.IntType(8).as_pointer(), i64, ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "madvise")
        pointer = builder.inttoptr(aligned, ir.IntType(8).as_pointer())
        builder.call(fn, [pointer, length, ir.IntType(32)(_MADV_HUGEPAGE)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, cache=True)
def empty(n):
    """``np.empty(n)`` (float64) with NumPy's large-allocation advice."""
    out = np.empty(n)
    if _HUGEPAGES and n * 8 >= _THRESHOLD:
        _advise(out)
    return out


@numba.njit(nogil=True, cache=True)
def full(n, value):
    """``np.full(n, value)`` (float64) with NumPy's large-allocation advice."""
    out = empty(n)
    out[:] = value
    return out
