"""``vecpipe verify MODULE[:OBJECT]``: every variant against its reference, with Hypothesis."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vecpipe.cli._common import (
    CHECK_FAILED,
    OK,
    CLIError,
    Target,
    command_parser,
    load_targets,
    names_object,
    print_json,
    print_skipped,
    progress_bar,
)
from vecpipe.errors import InvalidArgument

HELP = "check every variant against its reference on generated inputs (Hypothesis)"
DESCRIPTION = """\
Verify a stage, a pipeline, or every stage and pipeline of a module: for each variant,
the input spec's edge cases, then a Hypothesis search of generated inputs, each output
compared with the reference's. A mismatch is shrunk to a minimal counterexample, which is
printed, and the exit status is 1. Outcomes are recorded in wisdom (what
vp.config(require_verified=True) relies on)."""
EXAMPLES = """\
examples:
  vecpipe verify mypackage.stages:normalise --max-examples 500
  vecpipe verify pipeline.py --seed 1 --json"""


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``verify`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "verify",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        target="stages",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=100,
        metavar="N",
        help="generated inputs per variant, on top of the edge cases (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="makes the search reproducible (default: random)"
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        metavar="NAME",
        help="verify only these variants (default: all)",
    )
    parser.set_defaults(run=run)


def _verifiable(targets: list[Target], *, named: bool) -> tuple[list[Target], list[str]]:
    """The targets whose every stage has an input spec (of a module's: the others skipped)."""
    from vecpipe.pipeline import Pipeline
    from vecpipe.testing.verify import _spec_for

    if named:
        return targets, []
    kept: list[Target] = []
    skipped: list[str] = []
    for target in targets:
        pipeline = target.obj if isinstance(target.obj, Pipeline) else None
        try:
            for position, stage in enumerate(target.stages):
                _spec_for(stage, pipeline, position)
        except InvalidArgument as exc:
            skipped.append(f"skipped {target.label}: {exc}")
        else:
            kept.append(target)
    if not kept:
        msg = "nothing to verify: " + "; ".join(skipped)
        raise CLIError(msg)
    return kept, skipped


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe verify``; return the exit code."""
    from vecpipe.testing import verify

    if args.max_examples < 1:
        msg = f"--max-examples {args.max_examples}: pass a positive number of examples"
        raise CLIError(msg)
    targets, skipped = _verifiable(load_targets(args.target), named=names_object(args.target))
    print_skipped("verify", skipped)
    stages = {id(s): s for t in targets for s in t.stages}.values()
    wanted = None if args.variants is None else set(args.variants)
    total = sum(
        sum(wanted is None or name in wanted for name in stage.variants) for stage in stages
    )
    with progress_bar(total, "verifying", args.progress, "variant") as bar:

        def done(result: Any) -> None:
            bar.set_postfix_str(f"{result.stage}[{result.variant}] {result.result}")
            bar.update()

        try:
            report = verify(
                [t.obj for t in targets],
                max_examples=args.max_examples,
                seed=args.seed,
                variants=args.variants,
                on_result=done,
            )
        except InvalidArgument as exc:
            raise CLIError(str(exc)) from exc
    if args.json:
        print_json(
            {
                "command": "verify",
                "target": args.target,
                "ok": report.ok,
                "skipped": skipped,
                "warnings": report.warnings,
                "results": [
                    {
                        "stage": r.stage,
                        "variant": r.variant,
                        "result": r.result,
                        "passed": r.passed,
                        "examples": r.examples,
                        "edge_cases": r.edge_cases,
                        "seconds": r.seconds,
                        "note": r.note,
                        "not_applicable": r.not_applicable,
                        "counterexample": None
                        if r.counterexample is None
                        else {
                            "found_by": r.counterexample.found_by,
                            "reason": r.counterexample.reason,
                            "text": str(r.counterexample),
                        },
                    }
                    for r in report.results
                ],
            }
        )
    else:
        print(report)
        if not report.ok:
            names = ", ".join(f"{r.stage}[{r.variant}]" for r in report.failures)
            print(f"\nverification FAILED: {names}", file=sys.stderr)
    return OK if report.ok else CHECK_FAILED
