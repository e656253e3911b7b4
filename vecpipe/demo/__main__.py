"""``python -m vecpipe.demo [--rows N] [--out DIR] [--verify-examples N] [--json]``: the demo.

The same as ``vecpipe demo``; the exit status is :func:`vecpipe.demo.run_demo`'s (0 when
every accelerated result equals the reference's, 1 otherwise).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vecpipe.demo import run_demo
from vecpipe.demo.run import VERIFY_EXAMPLES


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the demo; return its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m vecpipe.demo",
        description="The New York City flights of 2013 through a plain Python pipeline, "
        "then through vecpipe: verified, measured, compared.",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        metavar="N",
        help="number of flights (default all 336,776; more replicates the year)",
    )
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="report folder")
    parser.add_argument(
        "--verify-examples",
        type=int,
        default=VERIFY_EXAMPLES,
        metavar="N",
        help=f"Hypothesis examples per variant (default {VERIFY_EXAMPLES})",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.rows is not None and args.rows < 1:
        parser.error(f"--rows {args.rows}: pass a positive number of flights")
    if args.verify_examples < 1:
        parser.error(f"--verify-examples {args.verify_examples}: pass a positive number")
    return run_demo(
        rows=args.rows,
        out=args.out,
        progress=False if args.no_progress else None,
        as_json=args.json,
        verify_examples=args.verify_examples,
    )


if __name__ == "__main__":
    raise SystemExit(main())
