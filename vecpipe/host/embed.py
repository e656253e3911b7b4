"""What a host program needs to embed this Python: compiler and linker flags, and folders.

A C, C++ or Rust program that calls an exported stage embeds CPython (to run vecpipe,
which compiles the stage) and must start *this* interpreter's environment: the one whose
``site-packages`` hold vecpipe, NumPy and Numba, a virtual environment included. So:

- compile and link against this interpreter's headers and ``libpython`` (the flags of
  ``python3-config --cflags --embed`` and ``--ldflags --embed``, computed here from
  :mod:`sysconfig` so that a virtual environment's Python gives its base installation's);
- at run time, set ``PYTHONHOME`` to :data:`sys.base_prefix` (where the standard library
  lives, whatever prefix the library was built with), and add this environment's
  ``site-packages`` with :func:`site.addsitedir` (which also reads the ``.pth`` files of
  editable installs) ahead of the base installation's own.

Run ``python -m vecpipe.host.embed --cflags`` (or ``--ldflags``, ``--rustflags``,
``--home``, ``--site``) to print one of them.
"""

from __future__ import annotations

import argparse
import os
import sys
import sysconfig
from collections.abc import Sequence

__all__ = ["cflags", "home", "ldflags", "main", "rustflags", "site_dirs"]


def _var(name: str) -> str:
    return str(sysconfig.get_config_var(name) or "")


def _library() -> tuple[list[str], str, list[str]]:
    """The folders to search for libpython, its ``-l`` name, and extra linker options."""
    version = _var("LDVERSION") or f"{sys.version_info.major}.{sys.version_info.minor}"
    folders = [_var("LIBDIR")]
    extra: list[str] = []
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        # A static libpython lives in LIBPL; extension modules (NumPy's) then find the
        # interpreter's symbols in the program itself.
        folders.append(_var("LIBPL"))
        extra += _var("LINKFORSHARED").split()
    return [f for f in dict.fromkeys(folders) if f], f"python{version}", extra


def cflags() -> list[str]:
    """The C compiler's options: the Python headers' folders.

    Examples
    --------
    >>> from vecpipe.host.embed import cflags
    >>> cflags()[0].startswith("-I")
    True
    """
    paths = sysconfig.get_paths()
    folders = dict.fromkeys([paths["include"], paths["platinclude"]])
    return [f"-I{folder}" for folder in folders]


def ldflags() -> list[str]:
    """The C linker's options: libpython (with a run-time search path), and its libraries."""
    folders, name, extra = _library()
    flags = [f"-L{f}" for f in folders] + [f"-l{name}"]
    flags += [f"-Wl,-rpath,{f}" for f in folders if sysconfig.get_config_var("Py_ENABLE_SHARED")]
    flags += extra + _var("LIBS").split() + _var("SYSLIBS").split()
    return flags


def rustflags() -> list[str]:
    """``rustc``'s options to link libpython (with a run-time search path)."""
    folders, name, extra = _library()
    flags: list[str] = []
    for folder in folders:
        flags += ["-L", f"native={folder}"]
        if sysconfig.get_config_var("Py_ENABLE_SHARED"):
            flags += ["-C", f"link-arg=-Wl,-rpath,{folder}"]
    flags += ["-l", f"dylib={name}"] if sysconfig.get_config_var("Py_ENABLE_SHARED") else []
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        flags += ["-l", f"static={name}"] + [x for e in extra for x in ("-C", f"link-arg={e}")]
    return flags


def home() -> str:
    """The value for ``PYTHONHOME``: the base installation (the standard library's prefix)."""
    return sys.base_prefix


def site_dirs() -> list[str]:
    """This environment's ``site-packages`` folders (a virtual environment's own).

    Examples
    --------
    >>> from vecpipe.host.embed import site_dirs
    >>> all(isinstance(folder, str) for folder in site_dirs())
    True
    """
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def main(argv: Sequence[str] | None = None) -> int:
    """Print one setting per option given, on its own line (``python -m vecpipe.host.embed``)."""
    parser = argparse.ArgumentParser(
        prog="python -m vecpipe.host.embed",
        description="Print what a host program needs to embed this Python.",
    )
    for option, text in (
        ("--cflags", "the C compiler's options"),
        ("--ldflags", "the C linker's options"),
        ("--rustflags", "rustc's options"),
        ("--home", "the value for PYTHONHOME"),
        ("--site", f"the site-packages folders, separated by {os.pathsep!r}"),
    ):
        parser.add_argument(option, action="store_true", help=text)
    args = parser.parse_args(argv)
    printed = False
    for wanted, value in (
        (args.cflags, " ".join(cflags())),
        (args.ldflags, " ".join(ldflags())),
        (args.rustflags, " ".join(rustflags())),
        (args.home, home()),
        (args.site, os.pathsep.join(site_dirs())),
    ):
        if wanted:
            print(value)
            printed = True
    if not printed:
        parser.print_help(sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
