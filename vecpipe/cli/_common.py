"""What every command shares: exit codes, one-line errors, output, progress, targets."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import itertools
import json
import math
import os
import re
import shutil
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from vecpipe.errors import VecpipeWarning
from vecpipe.pipeline import Pipeline
from vecpipe.stage import Stage

#: Everything went well.
OK = 0
#: A check failed: ``vecpipe verify`` found a variant that differs from its reference.
CHECK_FAILED = 1
#: A usage error: a bad option, a wrong ``MODULE:OBJECT``, an object that is not a stage,
#: a stage with no input spec, an unreadable wisdom file, a missing optional dependency.
USAGE = 2
#: The user's own code raised: importing ``MODULE``, or running a stage or the function.
USER_CODE = 3
#: A bug in vecpipe itself (``--debug`` shows the traceback; please report it).
INTERNAL = 4
#: Interrupted with Ctrl-C.
INTERRUPTED = 130

EXIT_CODES = (
    (OK, "success"),
    (CHECK_FAILED, "a check failed: verification found a variant that differs from the reference"),
    (
        USAGE,
        "usage error: bad option, wrong MODULE:OBJECT, not a stage, no input spec, "
        "unreadable wisdom file, missing optional dependency",
    ),
    (USER_CODE, "your code raised: importing MODULE, or running the stage or function"),
    (INTERNAL, "an internal error in vecpipe (rerun with --debug for the traceback)"),
    (INTERRUPTED, "interrupted (Ctrl-C)"),
)

#: The default input sizes of ``bench``, ``tune`` and ``explain``.
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)


class CLIError(Exception):
    """An error a user can make: printed as one line, with its exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


# -- options every command shares --------------------------------------------------------------


def common_options() -> argparse.ArgumentParser:
    """A parent parser with ``--json``, ``--no-progress`` and ``--debug``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("output")
    group.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout instead of tables (for scripts)",
    )
    group.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bars (they are shown on a terminal only, on stderr)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        help="show full tracebacks instead of one-line errors",
    )
    return parent


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmg]?)\s*$", re.IGNORECASE)
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def command_parser(
    subparsers: Any,
    parent: argparse.ArgumentParser,
    name: str,
    *,
    help: str,
    description: str,
    epilog: str | None = None,
    target: str | None = None,
) -> argparse.ArgumentParser:
    """One command's parser, in the shape every command shares.

    ``target`` is the positional argument's kind: ``"stages"`` (MODULE[:OBJECT], a stage,
    a pipeline or a whole module), ``"function"`` (MODULE:FUNCTION) or None (no target).
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if target == "stages":
        parser.add_argument(
            "target",
            metavar="MODULE[:OBJECT]",
            help="a stage or pipeline (pkg.mod:name or file.py:name), or a module (all of its)",
        )
    elif target == "function":
        parser.add_argument(
            "target",
            metavar="MODULE:FUNCTION",
            help="the function to run (pkg.mod:f or file.py:f)",
        )
    return parser


def parse_size(text: str) -> int:
    """Parse an input size: ``1000``, ``1e6``, ``10k``, ``2M`` (argparse ``type=``).

    Examples
    --------
    >>> [parse_size(t) for t in ("1000", "1e6", "10k", "2M")]
    [1000, 1000000, 10000, 2000000]
    """
    match = _SIZE.match(text)
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()] if match else math.nan
    if not math.isfinite(value) or value != int(value) or value < 1:
        msg = f"invalid size {text!r}: pass a positive whole number such as 1000, 1e6, 10k or 2M"
        raise argparse.ArgumentTypeError(msg)
    return int(value)


def size_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--sizes``, ``--seed`` and ``--threads``."""
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="input sizes, in rows (1000, 1e6, 10k, 2M); default: 1k 10k 100k 1M",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the order of the generated input values (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="the thread budget of parallel kernels (default: vecpipe's setting)",
    )


# -- output -------------------------------------------------------------------------------------


def clean_json(value: Any) -> Any:
    """NaN and infinities as null, numpy scalars as Python ones: strict JSON."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes) and getattr(value, "ndim", 1) == 0:
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def print_json(document: dict[str, Any], out: IO[str] | None = None) -> None:
    """Print one strict JSON document (NaN as null)."""
    print(json.dumps(clean_json(document), indent=2), file=out or sys.stdout)


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-ready dicts."""
    return [clean_json(row) for row in frame.to_dict(orient="records")]


#: Tables are kept within the terminal's width; when output is not a terminal, this.
DEFAULT_WIDTH = 100
#: A wrapped column keeps at least this many characters a line.
_NARROWEST = 12


def terminal_width() -> int:
    """The width tables keep within: the terminal's (``COLUMNS`` too), else 100."""
    return max(40, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def _fit(widths: list[int], limit: int) -> list[int]:
    """Column widths within ``limit`` (two spaces between): the widest columns are cut
    to one cap, as large as fits (never below a dozen characters)."""
    room = limit - 2 * (len(widths) - 1)
    cap = max(widths, default=0)
    while cap > _NARROWEST and sum(min(w, cap) for w in widths) > room:
        cap -= 1
    return [min(w, cap) for w in widths]


def compact_key(text: str, *, sizes: bool = False) -> tuple[str, str]:
    """A dispatch key's text in short for a table: its arguments, and its thread budget.

    Repeated arguments are counted (``x4``); without ``sizes`` the size buckets are left
    out (for a table whose size column says the rows). ``--json`` keeps the whole key.

    Examples
    --------
    >>> from vecpipe.cli._common import compact_key
    >>> compact_key("ndarray[float64, 1d, C, n=4K..<16K], ndarray[float64, 1d, C, "
    ...             "n=4K..<16K], Series[int64, n=4K..<16K], int | threads=2")
    ('ndarray[float64, 1d, C] x2, Series[int64], int', '2')
    """
    arguments, _, threads = text.rpartition(" | threads=")
    if not arguments:
        return text, ""
    if not sizes:
        arguments = re.sub(r", n=[^\],]*\]", "]", arguments)
    parts = re.split(r"(?<=\]), ", arguments)
    counted = [(part, len(list(run))) for part, run in itertools.groupby(parts)]
    return ", ".join(p if k == 1 else f"{p} x{k}" for p, k in counted), threads


def table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    *,
    width: int | None = None,
    notes: Sequence[str] | None = None,
) -> str:
    """A plain aligned text table, within ``width`` (default: the terminal's).

    Where the columns would not fit, the widest ones are wrapped: their text continues on
    the next lines of the same row, the other cells left blank. ``notes`` (one per row,
    empty for none) go under their rows, wrapped, below the second column.

    Examples
    --------
    >>> from vecpipe.cli._common import table
    >>> print(table([("a", "one two three four")], ("x", "words"), width=14))
    x  words
    a  one two
       three four
    >>> print(table([("*", "f", "1")], ("", "name", "n"), notes=["make it a stage"]))
       name  n
    *  f     1
       make it a stage
    """
    limit = terminal_width() if width is None else width
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    fitted = _fit(widths, limit)
    indent = " " * (fitted[0] + 2) if len(fitted) > 1 else ""
    lines = []
    for position, row in enumerate(cells):
        parts = [
            [c] if len(c) <= w else textwrap.wrap(c, w, break_on_hyphens=False) or [""]
            for c, w in zip(row, fitted, strict=True)
        ]
        for k in range(max(len(p) for p in parts)):
            line = "  ".join(
                (p[k] if k < len(p) else "").ljust(w) for p, w in zip(parts, fitted, strict=True)
            )
            lines.append(line.rstrip())
        note = notes[position - 1] if notes is not None and position > 0 else ""
        if note:
            lines.extend(
                textwrap.wrap(note, limit, initial_indent=indent, subsequent_indent=indent)
            )
    return "\n".join(lines)


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "step") -> Any:
    """A tqdm bar on stderr, shown on a terminal only (``disable=None``) and never when off.

    Use it as a context manager; ``update()`` after each step.
    """
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        leave=False,
        file=sys.stderr,
        disable=None if enabled else True,
        dynamic_ncols=True,
    )


@contextmanager
def vecpipe_warnings(collected: list[str]) -> Iterator[None]:
    """Gather vecpipe's warnings as text, to print as lines (or JSON) rather than tracebacks."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VecpipeWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, VecpipeWarning):
                    text = f"{w.category.__name__}: {w.message}"
                    if text not in collected:
                        collected.append(text)
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def print_warnings(collected: list[str]) -> None:
    """Print gathered warnings on stderr, one line each."""
    for text in collected:
        print(f"vecpipe: warning: {' '.join(text.split())}", file=sys.stderr)


# -- MODULE:OBJECT ------------------------------------------------------------------------------

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Target:
    """A stage or a pipeline named on the command line."""

    label: str
    obj: Stage | Pipeline

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages it runs, in order."""
        return self.obj.stages if isinstance(self.obj, Pipeline) else (self.obj,)


def split_reference(text: str) -> tuple[str, str | None]:
    """``"pkg.mod:obj"`` -> ``("pkg.mod", "obj")``; ``"file.py"`` -> ``("file.py", None)``.

    Examples
    --------
    >>> split_reference("pkg.stages:normalise")
    ('pkg.stages', 'normalise')
    >>> split_reference("examples/quickstart.py")
    ('examples/quickstart.py', None)
    >>> split_reference(r"C:\\work\\stages.py:pipe")
    ('C:\\\\work\\\\stages.py', 'pipe')
    """
    module, sep, obj = text.rpartition(":")
    if sep and module and _DOTTED.match(obj):
        return module, obj
    return text, None


def _is_path(module: str) -> bool:
    return module.endswith(".py") or os.sep in module or "/" in module


def _import_path(module: str) -> ModuleType:
    path = Path(module).expanduser()
    if not path.is_file():
        msg = f"MODULE {module!r}: no such file; pass an existing .py file or a dotted module name"
        raise CLIError(msg)
    path = path.resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if getattr(loaded, "__file__", None) == str(path):
            return loaded
        msg = (
            f"MODULE {module!r}: a module named {name!r} is already imported from "
            f"{getattr(loaded, '__file__', None) or 'the interpreter'}; rename the file"
        )
        raise CLIError(msg)
    if not name.isidentifier():
        msg = (
            f"MODULE {module!r}: {path.name!r} is not an importable module name; rename the file "
            "to a Python identifier such as my_stages.py"
        )
        raise CLIError(msg)
    # The file's folder goes first on sys.path, as `python file.py` does, so that the
    # module's stages have the same identity (wisdom keys, pickling to worker processes)
    # as when it is imported by its name.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        msg = f"MODULE {module!r}: cannot be loaded as a Python module"
        raise CLIError(msg)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return loaded


def import_module(module: str) -> ModuleType:
    """Import a dotted module (the current folder first on the path) or a ``.py`` file.

    A module that cannot be found is a usage error; a module that raises while it is
    imported is the user's code raising (:data:`USER_CODE`).
    """
    try:
        if _is_path(module):
            return _import_path(module)
        if not _DOTTED.match(module):
            msg = (
                f"MODULE {module!r} is neither a dotted module name nor a .py file; pass "
                "MODULE:OBJECT such as mypackage.stages:normalise or path/to/stages.py:normalise"
            )
            raise CLIError(msg)
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            sys.path.insert(0, cwd)  # as `python -m` does: the current folder's modules
        return importlib.import_module(module)
    except CLIError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            msg = (
                f"MODULE {module!r}: no module named {exc.name!r} in the current folder or the "
                "installed packages; check the spelling, or pass a path such as stages.py"
            )
            raise CLIError(msg) from exc
        msg = f"importing {module!r} failed: {type(exc).__name__}: {exc}"
        raise CLIError(msg, USER_CODE) from exc
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}"
        msg = f"importing {module!r} failed: SyntaxError: {exc.msg} ({where})"
        raise CLIError(msg, USER_CODE) from exc
    except Exception as exc:
        msg = f"importing {module!r} raised {type(exc).__name__}: {one_line(exc)}"
        raise CLIError(msg, USER_CODE) from exc


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, cut to a readable length."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _attribute(module: ModuleType, module_name: str, path: str) -> Any:
    value: Any = module
    for part in path.split("."):
        if not hasattr(value, part):
            found = ", ".join(label for label, _ in module_targets(module)) or "none"
            msg = (
                f"OBJECT {path!r}: module {module_name!r} has no attribute {part!r}; "
                f"its stages and pipelines: {found}"
            )
            raise CLIError(msg)
        value = getattr(value, part)
    return value


def module_targets(module: ModuleType) -> list[tuple[str, Stage | Pipeline]]:
    """The stages defined in a module and the pipelines it holds, in definition order."""
    found: list[tuple[str, Stage | Pipeline]] = []
    seen: set[int] = set()
    for name, value in vars(module).items():
        if name.startswith("_") or id(value) in seen:
            continue
        if isinstance(value, Pipeline) or (
            isinstance(value, Stage) and value._module == module.__name__
        ):
            seen.add(id(value))
            found.append((name, value))
    return found


def names_object(reference: str) -> bool:
    """Whether ``MODULE:OBJECT`` names one object (rather than a whole module)."""
    return split_reference(reference)[1] is not None


def print_skipped(command: str, skipped: list[str]) -> None:
    """Say on stderr which of a module's targets were left out, and why."""
    for line in skipped:
        print(f"vecpipe {command}: {line}", file=sys.stderr)


def load_targets(reference: str, *, allow_module: bool = True) -> list[Target]:
    """Resolve ``MODULE:OBJECT`` (or ``MODULE``: its stages and pipelines) to targets."""
    module_name, path = split_reference(reference)
    module = import_module(module_name)
    if path is None:
        if not allow_module:
            msg = f"{reference!r}: name the object too, as MODULE:OBJECT"
            raise CLIError(msg)
        found = module_targets(module)
        if not found:
            msg = (
                f"MODULE {module_name!r} defines no vecpipe stages or pipelines; decorate "
                "functions with @vp.stage, or name one as MODULE:OBJECT"
            )
            raise CLIError(msg)
        return [Target(name, obj) for name, obj in found]
    obj = _attribute(module, module_name, path)
    if isinstance(obj, Stage | Pipeline):
        return [Target(path, obj)]
    kind = type(obj).__name__
    hint = (
        "; decorate it with @vp.stage, or run `vecpipe profile "
        f"{reference}` to see where it spends its time"
        if callable(obj)
        else "; pass a stage (made with @vp.stage) or a vp.Pipeline"
    )
    msg = f"OBJECT {path!r} in {module_name!r} is a {kind}, not a vecpipe Stage or Pipeline{hint}"
    raise CLIError(msg)


def load_callable(reference: str) -> tuple[str, Callable[..., Any]]:
    """Resolve ``MODULE:FUNCTION`` to a callable."""
    module_name, path = split_reference(reference)
    if path is None:
        msg = f"{reference!r}: name the function too, as MODULE:FUNCTION"
        raise CLIError(msg)
    obj = _attribute(import_module(module_name), module_name, path)
    if not callable(obj):
        msg = f"FUNCTION {path!r} in {module_name!r} is a {type(obj).__name__}, not callable"
        raise CLIError(msg)
    return path, obj
