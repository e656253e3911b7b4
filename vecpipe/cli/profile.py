"""``vecpipe profile MODULE:FUNCTION``: where an ordinary pipeline spends its time.

Profile before you rewrite: run the plain-Python pipeline function as it is, under
:mod:`cProfile`, and rank *your* functions (not the standard library's, not installed
packages') by their share of the time. A function that spends most of its time in its own
bytecode and loops element by element is a hot spot that pays to make a stage first:
``@vp.stage`` keeps it as the reference and tries ``auto_numba`` on it at once.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import cProfile
import functools
import json
import os
import pstats
import sys
import sysconfig
import textwrap
import time
from pathlib import Path
from typing import Any

from vecpipe._format import format_seconds as _seconds
from vecpipe.cli._common import (
    OK,
    USER_CODE,
    CLIError,
    command_parser,
    load_callable,
    one_line,
    print_json,
    table,
    terminal_width,
)

HELP = "profile a plain Python pipeline function; rank its hot spots to make stages first"
DESCRIPTION = """\
Run an ordinary pipeline function (one that does not use vecpipe yet) under cProfile and
rank your own functions by their share of the time: own time (in the function's own
bytecode) and cumulative time (with what it calls). Functions that spend their time in a
Python loop over their data are flagged as candidates: make them stages first
(@vp.stage keeps the function as the reference and tries a compiled variant at once).
The function is called with no arguments, or with --args/--kwargs (JSON)."""
EXAMPLES = """\
examples:
  vecpipe profile mypipeline:main
  vecpipe profile etl.py:run --args '["data/2024.csv"]' --kwargs '{"rows": 100000}'"""

#: A function with at least this share of own time is worth a look.
HOT_SHARE = 0.05
#: Called this often with little time per call: a scalar function applied per element.
PER_ELEMENT_CALLS = 1000


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``profile`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "profile",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        target="function",
    )
    parser.add_argument(
        "--args",
        dest="call_args",
        default="[]",
        metavar="JSON",
        help="positional arguments, a JSON list (default: none)",
    )
    parser.add_argument(
        "--kwargs",
        dest="call_kwargs",
        default="{}",
        metavar="JSON",
        help="keyword arguments, a JSON object (default: none)",
    )
    parser.add_argument(
        "--top",
        type=int,
        default=15,
        metavar="N",
        help="how many functions to list (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def _json_option(option: str, text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{option} {text!r} is not valid JSON ({exc.msg}); pass e.g. {option} " + (
            "'[1000, \"data.csv\"]'" if kind is list else "'{\"rows\": 1000}'"
        )
        raise CLIError(msg) from exc
    if not isinstance(value, kind):
        msg = f"{option} {text!r} must be a JSON {'list' if kind is list else 'object'}"
        raise CLIError(msg)
    return value


@functools.cache
def _library_folders() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    folders = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    folders.add(str(Path(__file__).resolve().parent.parent))  # vecpipe itself
    return tuple(os.path.normcase(os.path.abspath(f)) + os.sep for f in folders)


def is_user_code(filename: str) -> bool:
    """Whether a profiled function is the user's own (not built in, stdlib, a package)."""
    if filename.startswith(("<", "~")) or not filename:
        return False
    path = os.path.normcase(os.path.abspath(filename))
    return not path.startswith(_library_folders())


@functools.cache
def _functions_in(filename: str) -> dict[int, ast.AST]:
    try:
        tree = ast.parse(Path(filename).read_text(), filename)
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # cProfile names a function by its `def` line (decorators above it aside).
            found[node.lineno] = node
    return found


def loops_over_elements(filename: str, lineno: int) -> bool:
    """Whether the function at ``filename:lineno`` has a Python loop that indexes its data.

    A ``for``/``while`` loop (not in a nested function) with a subscript such as ``x[i]``
    in its body, or a ``for`` loop over a name (``for v in x``).
    """
    node = _functions_in(filename).get(lineno)
    if node is None:
        return False
    for child in _own_nodes(node):
        if isinstance(child, ast.For | ast.While):
            if isinstance(child, ast.For) and isinstance(child.iter, ast.Name | ast.Attribute):
                return True
            if any(isinstance(n, ast.Subscript) for b in child.body for n in ast.walk(b)):
                return True
    return False


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body, not those of the functions or classes inside it."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(function))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def rank(stats: pstats.Stats, total: float) -> list[dict[str, Any]]:
    """The user's functions, by own time, with their shares and a verdict each."""
    rows = []
    for (filename, lineno, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        calls, _, own, cumulative, _ = entry
        if not is_user_code(filename) or name.startswith("<"):
            continue
        own_share = own / total if total > 0 else 0.0
        loop = loops_over_elements(filename, lineno)
        per_element = calls >= PER_ELEMENT_CALLS and not loop
        candidate = own_share >= HOT_SHARE and (loop or per_element)
        if candidate and loop:
            why = "a Python loop over its data: make it a stage"
        elif candidate:
            why = f"called {calls:,} times, once per element: a stage with elementwise=True"
        elif own_share >= HOT_SHARE:
            why = "much own time, but no loop over elements found"
        else:
            why = ""
        rows.append(
            {
                "function": name,
                "file": filename,
                "line": lineno,
                "calls": calls,
                "own_seconds": own,
                "own_share": own_share,
                "cumulative_seconds": cumulative,
                "cumulative_share": cumulative / total if total > 0 else 0.0,
                "candidate": candidate,
                "why": why,
            }
        )
    rows.sort(key=lambda r: (-r["own_seconds"], -r["cumulative_seconds"]))
    return rows


def suggestion(rows: list[dict[str, Any]]) -> str:
    """One paragraph: which function to turn into a stage first, and how."""
    candidates = [r for r in rows if r["candidate"]]
    if not candidates:
        hot = rows[0] if rows else None
        if hot is None or hot["own_share"] < HOT_SHARE:
            return (
                "no hot spot in your own code: the time goes to libraries (or the run was too "
                "short to tell); profile with a larger input"
            )
        return (
            f"{hot['function']} takes {hot['own_share']:.0%} of the time in its own code, but "
            "no Python loop over elements was found in it; a stage with a 'numpy' variant "
            "may still help"
        )
    first = candidates[0]
    share = sum(r["own_share"] for r in candidates)
    where = f"{Path(first['file']).name}:{first['line']}"
    if "elementwise" in first["why"]:
        how = (
            f"decorate it with @vp.stage(elementwise=True) and call it once on whole arrays "
            f"instead of {first['calls']:,} times: vecpipe derives compiled ufuncs from it"
        )
    else:
        how = (
            "decorate it with @vp.stage: it stays the reference, and vecpipe tries it compiled "
            "by Numba (auto_numba) at once; add a 'numpy' or 'numba' variant if that cannot "
            "compile it"
        )
    names = ", ".join(r["function"] for r in candidates[:5])
    return (
        f"start with {first['function']} ({where}): {first['own_share']:.0%} of the time, "
        f"{first['why'].split(':')[0]}; {how}. The candidates ({names}) hold {share:.0%} of "
        "the time together."
    )


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe profile``; return the exit code."""
    call_args = _json_option("--args", args.call_args, list)
    call_kwargs = _json_option("--kwargs", args.call_kwargs, dict)
    if args.top < 1:
        msg = f"--top {args.top}: pass a positive number of functions"
        raise CLIError(msg)
    label, function = load_callable(args.target)
    profiler = cProfile.Profile()
    # With --json, what the function prints goes to stderr so stdout stays one document.
    redirect = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    start = time.perf_counter()
    try:
        with redirect:
            profiler.runcall(function, *call_args, **call_kwargs)
    except Exception as exc:
        msg = f"{args.target} raised {type(exc).__name__}: {one_line(exc)}"
        raise CLIError(msg, USER_CODE) from exc
    total = time.perf_counter() - start
    rows = rank(pstats.Stats(profiler), total)
    advice = suggestion(rows)
    if args.json:
        print_json(
            {
                "command": "profile",
                "target": args.target,
                "seconds": total,
                "functions": rows[: args.top],
                "suggestion": advice,
            }
        )
        return OK
    print(f"{label} ran in {_seconds(total)}; your functions by own time:")
    body = [
        (
            "*" if r["candidate"] else "",
            r["function"],
            f"{Path(r['file']).name}:{r['line']}",
            f"{r['calls']:,}",
            _seconds(r["own_seconds"]),
            f"{r['own_share']:.0%}",
            _seconds(r["cumulative_seconds"]),
            f"{r['cumulative_share']:.0%}",
        )
        for r in rows[: args.top]
    ]
    header = ("", "function", "where", "calls", "own", "own %", "cum", "cum %")
    print(table(body, header, notes=[r["why"] for r in rows[: args.top]]))
    print("\n* candidate for a stage")
    print("\n".join(textwrap.wrap(advice, terminal_width())))
    return OK
