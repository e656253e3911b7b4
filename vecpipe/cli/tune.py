"""``vecpipe tune MODULE[:OBJECT]``: fill the wisdom ahead of time, for chosen input sizes."""

from __future__ import annotations

import argparse
from typing import Any

from vecpipe._format import format_seconds as _seconds
from vecpipe.cli._common import (
    OK,
    USER_CODE,
    CLIError,
    Target,
    command_parser,
    compact_key,
    load_targets,
    names_object,
    one_line,
    print_json,
    print_skipped,
    progress_bar,
    size_options,
    table,
)
from vecpipe.cli._inputs import make_args, sizable
from vecpipe.errors import VecpipeError
from vecpipe.keys import describe_key, make_key
from vecpipe.settings import config, get_config
from vecpipe.stage import Stage
from vecpipe.wisdom import get_wisdom

HELP = "measure the variants at chosen sizes now and store the decisions in wisdom"
DESCRIPTION = """\
Fill the wisdom ahead of time, for deployment: run each stage (a pipeline as a whole, so
its later stages see real inputs) on inputs of each size, made from the first stage's
input spec. Each new kind of input is measured and stored; what the wisdom already holds
for the current sources is reused as it is. Ship the wisdom file with
`vecpipe wisdom export`, or point VECPIPE_CACHE_DIR at it."""
EXAMPLES = """\
examples:
  vecpipe tune mypackage.stages --sizes 10k 1M 10M
  VECPIPE_CACHE_DIR=/srv/app/cache vecpipe tune pipeline.py:pipe --threads 8"""

_COLUMNS = ("target", "stage", "size", "input", "chosen", "how", "seconds", "reason")


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``tune`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "tune",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        target="stages",
    )
    size_options(parser)
    parser.set_defaults(run=run)


def run_at_sizes(
    targets: list[Target],
    sizes: list[int],
    *,
    seed: int,
    threads: int | None,
    enabled: bool,
    desc: str,
    measure: bool,
) -> list[dict[str, Any]]:
    """Call each target at each size; return one row per stage and size: what it ran.

    The stages' in-memory decisions are forgotten first, so that each decision is made
    now: from wisdom when it holds one for the current sources, else measured
    (``measure=True`` forces the measure mode with full tuning, every variant compiled
    and timed; otherwise the current settings apply).
    """
    if threads is not None and threads < 1:
        msg = f"--threads {threads}: pass a positive number of threads"
        raise CLIError(msg)
    for target in targets:
        for stage in target.stages:
            stage.reset()
    rows: list[dict[str, Any]] = []
    steps = [(target, n) for target in targets for n in sizes]
    settings: dict[str, Any] = {"threads": threads}
    if measure:  # every variant compiled and timed now (no tiered tuning)
        settings["mode"] = "measure"
        settings["tuning"] = "full"
    with config(**settings), progress_bar(len(steps), desc, enabled, "run") as bar:
        for target, n in steps:
            bar.set_postfix_str(f"{target.label} n={n:,}")
            args: tuple[Any, ...] = make_args(target.stages[0], n, seed)
            # Stage by stage, as the pipeline runs them, to know each stage's key.
            for stage in target.stages:
                key = make_key(get_config().tag, args, {})
                try:
                    args = (stage(*args),)
                except VecpipeError as exc:
                    msg = f"{target.label}: stage {stage.name!r} on {n:,} rows: {one_line(exc)}"
                    raise CLIError(msg, USER_CODE) from exc
                except Exception as exc:
                    msg = (
                        f"{target.label}: stage {stage.name!r} raised {type(exc).__name__} on "
                        f"{n:,} rows: {one_line(exc)}"
                    )
                    raise CLIError(msg, USER_CODE) from exc
                rows.append(_row(target.label, stage, n, key))
            bar.update()
    return rows


def _row(label: str, stage: Stage, n: int, key: Any) -> dict[str, Any]:
    decision = stage._dispatcher.decisions.get(key)
    row: dict[str, Any] = {"target": label, "stage": stage.name, "size": n}
    if decision is None:  # a pinned stage, or the reference mode: nothing was decided
        chosen = stage.pinned or "reference"
        how = "pinned" if stage.pinned else get_config().mode
        text = describe_key(key)
        return {**row, "input": text, "chosen": chosen, "how": how, "seconds": None, "reason": ""}
    trial = decision.trials.get(decision.chosen)
    return {
        **row,
        "input": decision.key,
        "chosen": decision.chosen,
        "how": decision.how,
        "seconds": None if trial is None else trial.seconds,
        "reason": decision.reason,
    }


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The decisions as an aligned table, within the terminal's width.

    The ``target`` column is left out when every target is a stage on its own (it would
    repeat the stage); the input is the dispatch key in short (:func:`compact_key`), and
    what is still too long wraps onto the next lines.
    """
    header = ("target", "stage", "size", "input", "threads", "chosen", "how", "time")
    body = [
        (
            r["target"],
            r["stage"],
            f"{r['size']:,}",
            *compact_key(r["input"]),
            r["chosen"],
            r["how"],
            _seconds(r["seconds"]),
        )
        for r in rows
    ]
    threads = {b[4] for b in body}
    keep = [
        i
        for i, name in enumerate(header)
        if not (name == "target" and all(r["target"] == r["stage"] for r in rows))
        and not (name == "threads" and len(threads) == 1)
    ]
    text = table([[b[i] for i in keep] for b in body], [header[i] for i in keep])
    if len(threads) == 1 and "" not in threads:
        text += f"\nthread budget {threads.pop()} for every row (part of each key)"
    return text


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe tune``; return the exit code."""
    targets, skipped = sizable(
        load_targets(args.target), args.sizes, named=names_object(args.target)
    )
    print_skipped("tune", skipped)
    rows = run_at_sizes(
        targets,
        args.sizes,
        seed=args.seed,
        threads=args.threads,
        enabled=args.progress,
        desc="tuning",
        measure=True,
    )
    store = get_wisdom()
    if args.json:
        print_json(
            {
                "command": "tune",
                "target": args.target,
                "sizes": args.sizes,
                "decisions": [{c: r[c] for c in _COLUMNS} for r in rows],
                "skipped": skipped,
                "wisdom": {"path": str(store.path), "records": len(store)},
            }
        )
    else:
        print(format_rows(rows))
        print(f"\nwisdom at {store.path}: {len(store)} records")
    return OK
