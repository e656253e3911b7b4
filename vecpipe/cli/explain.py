"""``vecpipe explain MODULE[:OBJECT]``: the decision tables, at chosen input sizes."""

from __future__ import annotations

import argparse
from typing import Any

from vecpipe.cli._common import (
    OK,
    command_parser,
    frame_records,
    load_targets,
    names_object,
    print_json,
    print_skipped,
    size_options,
)
from vecpipe.cli._inputs import sizable
from vecpipe.cli.tune import run_at_sizes
from vecpipe.explain import Explanation

HELP = "print the decision tables: per kind of input, what runs and why"
DESCRIPTION = """\
Run each stage (a pipeline as a whole) on inputs of each size, made from the first
stage's input spec, and print the decision tables: per kind of input, every variant's
status, time, compile time, speed-up and whether it holds the GIL. Decisions come from the
wisdom where it holds them (after `vecpipe tune`, nothing is re-measured); the others are
made now, in the current mode (VECPIPE_MODE)."""
EXAMPLES = """\
examples:
  vecpipe explain mypackage.stages:normalise --sizes 1k 1M
  vecpipe explain pipeline.py --json"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``explain`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "explain",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        target="stages",
    )
    size_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe explain``; return the exit code."""
    targets, skipped = sizable(
        load_targets(args.target), args.sizes, named=names_object(args.target)
    )
    print_skipped("explain", skipped)
    run_at_sizes(
        targets,
        args.sizes,
        seed=args.seed,
        threads=args.threads,
        enabled=args.progress,
        desc="explaining",
        measure=False,
    )
    explanation = Explanation.of_stages(s for t in targets for s in t.stages)
    if args.json:
        print_json(
            {
                "command": "explain",
                "target": args.target,
                "sizes": args.sizes,
                "rows": frame_records(explanation.to_frame()),
                "skipped": skipped,
            }
        )
    else:
        print(explanation)
    return OK
