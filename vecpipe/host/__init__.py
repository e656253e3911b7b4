"""Stages callable from C, C++ and Rust threads, with no GIL (``vp.export``).

- :mod:`~vecpipe.host.signature`: Numba-style signatures and each type's C, Rust and
  ctypes names;
- :mod:`~vecpipe.host.entry`: the C entry point Numba compiles around a variant's kernel,
  the status codes, and the check that no path takes the GIL;
- :mod:`~vecpipe.host.text`: the C header and the Rust module;
- :mod:`~vecpipe.host.export`: :func:`export` and :class:`Export`;
- :mod:`~vecpipe.host.embed`: the compiler and linker flags, and the folders, a host
  program needs to embed this Python.

See ``docs/host.md``.
"""

from __future__ import annotations

from vecpipe.host.entry import (
    BAD_ARGUMENTS,
    KERNEL_RAISED,
    OK,
    OUTPUT_TOO_SMALL,
    STATUS,
    WRONG_LENGTH,
)
from vecpipe.host.export import Export, export
from vecpipe.host.signature import Signature, parse_signature

__all__ = [
    "BAD_ARGUMENTS",
    "KERNEL_RAISED",
    "OK",
    "OUTPUT_TOO_SMALL",
    "STATUS",
    "WRONG_LENGTH",
    "Export",
    "Signature",
    "export",
    "parse_signature",
]
