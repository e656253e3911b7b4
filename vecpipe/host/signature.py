"""Export signatures: Numba-style type strings, and each type's name in C, Rust and ctypes.

``"f8[:], f8 -> f8[:]"`` reads: a float64 array, a float64 scalar, returning a float64
array. Arguments come in the function's own order. The supported element types are
float64, float32, int64, int32 and bool, as 1-D contiguous arrays (``[:]`` or ``[::1]``)
or as scalars.
"""

from __future__ import annotations

import ctypes
import dataclasses
import re

import numpy as np
from numba import types as nb

from vecpipe.errors import InvalidArgument

__all__ = ["DTYPES", "ArgType", "DType", "Signature", "parse_signature"]


@dataclasses.dataclass(frozen=True)
class DType:
    """One element type and its names on each side of the boundary."""

    code: str  # the short Numba name, as written back in messages: "f8"
    numpy: np.dtype
    numba: nb.Type
    c: str
    rust: str
    ctypes: type
    #: The type a scalar of this kind has at the C boundary. C's ``bool`` travels as one
    #: byte (``uint8``), which is how the C and Rust ABIs pass it.
    abi: nb.Type


DTYPES: dict[str, DType] = {
    "float64": DType(
        "f8", np.dtype(np.float64), nb.float64, "double", "f64", ctypes.c_double, nb.float64
    ),
    "float32": DType(
        "f4", np.dtype(np.float32), nb.float32, "float", "f32", ctypes.c_float, nb.float32
    ),
    "int64": DType("i8", np.dtype(np.int64), nb.int64, "int64_t", "i64", ctypes.c_int64, nb.int64),
    "int32": DType("i4", np.dtype(np.int32), nb.int32, "int32_t", "i32", ctypes.c_int32, nb.int32),
    "bool": DType("b1", np.dtype(np.bool_), nb.boolean, "bool", "bool", ctypes.c_bool, nb.uint8),
}

#: Every spelling accepted in a signature, to its canonical name.
_ALIASES = {
    "f8": "float64",
    "float64": "float64",
    "f4": "float32",
    "float32": "float32",
    "i8": "int64",
    "int64": "int64",
    "i4": "int32",
    "int32": "int32",
    "b1": "bool",
    "bool": "bool",
    "bool_": "bool",
    "boolean": "bool",
}
_TYPE = re.compile(r"^([a-z_][a-z0-9_]*)\s*(\[\s*:\s*(?::\s*1\s*)?\])?$")


@dataclasses.dataclass(frozen=True)
class ArgType:
    """An argument's (or the result's) type: an element type, as an array or a scalar."""

    dtype: DType
    array: bool

    def __str__(self) -> str:
        return self.dtype.code + ("[:]" if self.array else "")

    @property
    def numba(self) -> nb.Type:
        """The Numba type the kernel sees: a C-contiguous 1-D array, or the scalar."""
        return nb.Array(self.dtype.numba, 1, "C") if self.array else self.dtype.numba


@dataclasses.dataclass(frozen=True)
class Signature:
    """A parsed export signature: the arguments in order, and the result.

    Examples
    --------
    >>> from vecpipe.host.signature import parse_signature
    >>> sig = parse_signature("f8[:], float64 -> f8[:]")
    >>> str(sig), sig.arrays
    ('f8[:], f8 -> f8[:]', (0,))
    """

    args: tuple[ArgType, ...]
    result: ArgType

    def __str__(self) -> str:
        return ", ".join(str(a) for a in self.args) + " -> " + str(self.result)

    @property
    def arrays(self) -> tuple[int, ...]:
        """The positions of the array arguments (they share the length ``n``)."""
        return tuple(i for i, a in enumerate(self.args) if a.array)


def _parse_type(text: str, where: str, signature: str) -> ArgType:
    match = _TYPE.match(text.strip().lower())
    name = _ALIASES.get(match.group(1)) if match else None
    if match is None or name is None:
        known = "f8, f4, i8, i4, b1 (or float64, float32, int64, int32, bool)"
        msg = (
            f"vp.export: signature {signature!r}: {where} {text.strip()!r} is not a supported "
            f"type; write one of {known}, followed by [:] for a 1-D contiguous array"
        )
        raise InvalidArgument(msg)
    return ArgType(DTYPES[name], match.group(2) is not None)


def parse_signature(signature: str) -> Signature:
    """Parse ``"f8[:], f8 -> f8[:]"``: the arguments in the function's order, then the result.

    Parameters
    ----------
    signature : str
        Numba-style types separated by commas, ``->``, and the result's type. At least one
        argument must be an array: its length is the ``n`` of the exported function.

    Returns
    -------
    Signature

    Raises
    ------
    InvalidArgument
        An unknown type, a missing ``->``, or no array argument.

    Examples
    --------
    >>> from vecpipe.host.signature import parse_signature
    >>> [str(a) for a in parse_signature("i8[:], f4, b1[::1] -> i8").args]
    ['i8[:]', 'f4', 'b1[:]']
    """
    if not isinstance(signature, str):
        msg = (
            f"vp.export: signature={signature!r} must be a string such as "
            f"'f8[:], f8 -> f8[:]', got {type(signature).__name__}"
        )
        raise InvalidArgument(msg)
    left, arrow, right = signature.partition("->")
    if not arrow or "->" in right:
        msg = (
            f"vp.export: signature {signature!r} needs one '->' between the arguments and "
            "the result, as in 'f8[:], f8 -> f8[:]'"
        )
        raise InvalidArgument(msg)
    parts = [p for p in left.split(",")]
    if not left.strip() or any(not p.strip() for p in parts):
        msg = (
            f"vp.export: signature {signature!r}: the arguments must be types separated by "
            "commas, as in 'f8[:], f8 -> f8[:]'"
        )
        raise InvalidArgument(msg)
    args = tuple(_parse_type(p, f"argument {i + 1}", signature) for i, p in enumerate(parts))
    result = _parse_type(right, "the result", signature)
    if not any(a.array for a in args):
        msg = (
            f"vp.export: signature {signature!r} has no array argument; the exported "
            "function's n is the length of its array arguments, so at least one is needed"
        )
        raise InvalidArgument(msg)
    return Signature(args, result)
