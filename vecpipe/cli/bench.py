"""``vecpipe bench MODULE[:OBJECT]``: each variant's time across input sizes, and crossovers."""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vecpipe._format import format_seconds as _seconds
from vecpipe._timing import interleaved
from vecpipe.cli._common import (
    OK,
    USER_CODE,
    CLIError,
    Target,
    clean_json,
    command_parser,
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
from vecpipe.settings import config
from vecpipe.stage import Stage
from vecpipe.variant import describe_failure, readonly

HELP = "time every variant across input sizes; crossover points; a plot per stage"
DESCRIPTION = """\
Time each variant of each stage (the reference too) on inputs of each size, made from the
stage's input spec (inside a pipeline: the previous stages' outputs). Each variant is
compiled first (compile time is reported apart), its output compared with the
reference's (a mismatch is reported, not timed), then all are timed in interleaved,
shuffled rounds; the figure is the minimum per call. Prints a table per stage with the
fastest variant per size and the crossover points; writes bench.csv, bench.json and one
PNG plot of time against size per stage (matplotlib, in the demo extra) to --out."""
EXAMPLES = """\
examples:
  vecpipe bench mypackage.stages:normalise --sizes 1k 10k 100k 1M 10M
  vecpipe bench pipeline.py --out results/ --no-plot --json"""

COLUMNS = (
    "target",
    "stage",
    "variant",
    "size",
    "status",
    "seconds",
    "median_seconds",
    "samples",
    "compile_seconds",
    "fastest",
    "reason",
)


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``bench`` command."""
    parser = command_parser(
        subparsers,
        parent,
        "bench",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        target="stages",
    )
    size_options(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("vecpipe-bench"),
        metavar="DIR",
        help="where to write bench.csv, bench.json and the plots (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        metavar="N",
        help="timed samples per variant and size (default: %(default)s)",
    )
    parser.add_argument(
        "--max-time",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="a variant slower than this per call is not timed at larger sizes "
        "(default: %(default)s)",
    )
    parser.add_argument("--no-plot", dest="plot", action="store_false", help="no PNG plots")
    parser.set_defaults(run=run)


# -- timing one stage at one size --------------------------------------------------------------


def _row(target: str, stage: Stage, name: str, n: int, status: str, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(target=target, stage=stage.name, variant=name, size=n, status=status)
    row.update(fastest=False, reason="")
    row.update(more)
    return row


def _quiet_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args)


def bench_size(
    label: str,
    stage: Stage,
    args: tuple[Any, ...],
    n: int,
    *,
    skip: dict[str, str],
    rounds: int,
    max_time: float,
) -> list[dict[str, Any]]:
    """Compile, check and time every variant of ``stage`` on ``args`` (``n`` rows).

    ``skip`` maps variants not to run to the reason; variants slower than ``max_time``
    per call are added to it.
    """
    protected = tuple(readonly(a) for a in args)  # a variant may not write into its input
    rows: dict[str, dict[str, Any]] = {}
    runs: dict[str, Callable[..., Any]] = {}
    compile_seconds: dict[str, float | None] = {}
    expected: Any = None
    have_expected = False
    for variant in stage._all_variants():
        name = variant.name
        if name in skip:
            rows[name] = _row(label, stage, name, n, "skipped", reason=skip[name])
            continue
        try:
            compile_seconds[name] = variant.compile_for(protected, {})
        except Exception as exc:
            reason = describe_failure(exc)
            rows[name] = _row(label, stage, name, n, "compile-failed", reason=reason)
            skip[name] = "did not compile at a smaller size"
            continue
        try:
            out = _quiet_call(variant.run, protected)
        except Exception as exc:
            if name == "reference":
                msg = (
                    f"stage {stage.name!r}: the reference raised {type(exc).__name__} on "
                    f"{n:,} rows: {one_line(exc)}"
                )
                raise CLIError(msg, USER_CODE) from exc
            rows[name] = _row(label, stage, name, n, "failed", reason=describe_failure(exc))
            continue
        if name == "reference":
            expected, have_expected = out, True
        elif have_expected:
            difference = stage.equal.compare(expected, out)
            if difference is not None:
                rows[name] = _row(label, stage, name, n, "mismatch", reason=difference)
                continue
        runs[name] = variant.run
    timings = interleaved(
        runs,
        protected,
        rounds=rounds,
        cap=dict.fromkeys(runs, max_time),
        spread=True,
        prime=True,
    )
    unchecked = "" if have_expected else "not compared: the reference is not run at this size"
    for name, timing in timings.items():
        rows[name] = _row(
            label,
            stage,
            name,
            n,
            "measured",
            seconds=timing.min,
            median_seconds=timing.median,
            samples=timing.samples,
            compile_seconds=compile_seconds.get(name),
            reason="" if name == "reference" else unchecked,
        )
        if timing.min > max_time:
            skip[name] = f"took {_seconds(timing.min)} per call at {n:,} rows (over --max-time)"
    if timings:
        best = min(timings, key=lambda k: timings[k].min)
        rows[best]["fastest"] = True
    order = [v.name for v in stage._all_variants()]
    return [rows[name] for name in order if name in rows]


# -- crossovers ---------------------------------------------------------------------------------


def crossovers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the fastest variant changes between two sizes, with a log-log estimate.

    Examples
    --------
    >>> rows = [
    ...     {"stage": "s", "variant": "a", "size": 10, "status": "measured", "seconds": 1.0,
    ...      "fastest": True},
    ...     {"stage": "s", "variant": "b", "size": 10, "status": "measured", "seconds": 10.0,
    ...      "fastest": False},
    ...     {"stage": "s", "variant": "a", "size": 1000, "status": "measured", "seconds": 100.0,
    ...      "fastest": False},
    ...     {"stage": "s", "variant": "b", "size": 1000, "status": "measured", "seconds": 10.0,
    ...      "fastest": True},
    ... ]
    >>> crossovers(rows)[0]["estimate"]
    100
    """
    out: list[dict[str, Any]] = []
    groups = list(dict.fromkeys((r.get("target"), r["stage"]) for r in rows))
    for target, stage in groups:
        mine = [r for r in rows if (r.get("target"), r["stage"]) == (target, stage)]
        times = {(r["variant"], r["size"]): r["seconds"] for r in mine if r["status"] == "measured"}
        winners = [(r["size"], r["variant"]) for r in mine if r["fastest"]]
        winners.sort()
        for (n0, a), (n1, b) in itertools.pairwise(winners):
            if a == b:
                continue
            estimate = None
            ends = [times.get(k) for k in ((a, n0), (b, n0), (a, n1), (b, n1))]
            if all(t is not None and t > 0 for t in ends):
                ta0, tb0, ta1, tb1 = (math.log(t) for t in ends)  # type: ignore[arg-type]
                r0, r1 = ta0 - tb0, ta1 - tb1  # a faster at n0 (r0 <= 0), slower at n1
                if r1 != r0:
                    share = min(max(-r0 / (r1 - r0), 0.0), 1.0)
                    log_n = math.log(n0) + share * (math.log(n1) - math.log(n0))
                    estimate = round(math.exp(log_n))
            out.append(
                {
                    "target": target,
                    "stage": stage,
                    "from": a,
                    "to": b,
                    "between": [n0, n1],
                    "estimate": estimate,
                }
            )
    return out


# -- output -------------------------------------------------------------------------------------


def _cell(row: dict[str, Any]) -> str:
    if row["status"] != "measured":
        return row["status"]
    return _seconds(row["seconds"]) + (" *" if row["fastest"] else "")


def format_stage(rows: list[dict[str, Any]], crossing: list[dict[str, Any]]) -> str:
    """One stage's rows as a size-by-variant table, its fastest variants and crossovers."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    cells = {(r["variant"], r["size"]): _cell(r) for r in rows}
    body = [(f"{n:,}", *(cells.get((v, n), "-") for v in variants)) for n in sizes]
    lines = [f"stage {rows[0]['stage']} (in {rows[0]['target']})"]
    lines += ["  " + line for line in table(body, ("size", *variants)).splitlines()]
    lines.append("  * fastest at that size")
    compiled = {
        r["variant"]: r["compile_seconds"] for r in rows if r["compile_seconds"] is not None
    }
    if compiled:
        parts = ", ".join(f"{v} {_seconds(t)}" for v, t in compiled.items())
        lines.append(f"  compile time (apart from the times above; 0 when cached): {parts}")
    for c in crossing:
        near = f", near {c['estimate']:,}" if c["estimate"] is not None else ""
        lines.append(
            f"  crossover: {c['to']} overtakes {c['from']} between "
            f"{c['between'][0]:,} and {c['between'][1]:,} rows{near}"
        )
    said: set[tuple[str, str, str]] = set()
    for r in rows:  # each problem once: a variant skipped at every larger size says so once
        if not r["reason"] or (r["variant"], r["status"], r["reason"]) in said:
            continue
        said.add((r["variant"], r["status"], r["reason"]))
        where = "from" if r["status"] == "skipped" else "at"
        lines.append(f"  {r['variant']} {where} {r['size']:,}: {r['status']}: {r['reason'][:160]}")
    return "\n".join(lines)


def _filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "stage"


def _check_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        msg = f"the plots need matplotlib: pip install 'vecpipe[demo]' (or pass --no-plot); {exc}"
        raise CLIError(msg) from exc


def plot(rows: list[dict[str, Any]], crossing: list[dict[str, Any]], path: Path) -> Path:
    """Write a PNG of time against size (log-log), one line per variant."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for variant in dict.fromkeys(r["variant"] for r in rows):
        points = sorted(
            (r["size"], r["seconds"])
            for r in rows
            if r["variant"] == variant and r["status"] == "measured"
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=variant)
    for c in crossing:
        if c["estimate"] is not None:
            ax.axvline(c["estimate"], color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input size (rows)")
    ax.set_ylabel("seconds per call (minimum)")
    ax.set_title(f"{rows[0]['stage']}: time against input size")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def _write(out: Path, rows: list[dict[str, Any]], document: dict[str, Any]) -> list[Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        csv_path = out / "bench.csv"
        with csv_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
        json_path = out / "bench.json"
        json_path.write_text(json.dumps(clean_json(document), indent=2) + "\n")
    except OSError as exc:
        msg = f"--out {str(out)!r}: cannot write the results ({exc.strerror or exc})"
        raise CLIError(msg) from exc
    return [csv_path, json_path]


# -- the command --------------------------------------------------------------------------------


def _arguments_for(target: Target, position: int, seed: int) -> Callable[[int], tuple[Any, ...]]:
    """A stage's arguments at ``n`` rows: its target's inputs, through the stages before it."""
    first = target.stages[0]

    def make(n: int) -> tuple[Any, ...]:
        args = make_args(first, n, seed)
        for stage in target.stages[:position]:
            try:
                args = (stage(*args),)
            except Exception as exc:
                msg = (
                    f"{target.label}: stage {stage.name!r} raised {type(exc).__name__} on "
                    f"{n:,} rows: {one_line(exc)}"
                )
                raise CLIError(msg, USER_CODE) from exc
        return args

    return make


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe bench``; return the exit code."""
    if args.rounds < 1:
        msg = f"--rounds {args.rounds}: pass a positive number of rounds"
        raise CLIError(msg)
    if not args.max_time > 0:
        msg = f"--max-time {args.max_time}: pass a positive number of seconds"
        raise CLIError(msg)
    if args.threads is not None and args.threads < 1:
        msg = f"--threads {args.threads}: pass a positive number of threads"
        raise CLIError(msg)
    if args.plot:
        _check_matplotlib()
    sizes = sorted(set(args.sizes))
    targets, skipped = sizable(load_targets(args.target), sizes, named=names_object(args.target))
    print_skipped("bench", skipped)
    jobs: list[tuple[str, Stage, Callable[[int], tuple[Any, ...]]]] = []
    seen: set[int] = set()
    for target in targets:
        for position, stage in enumerate(target.stages):
            if id(stage) in seen:
                continue  # a stage of a pipeline that is also named on its own: once
            seen.add(id(stage))
            jobs.append((target.label, stage, _arguments_for(target, position, args.seed)))
    rows: list[dict[str, Any]] = []
    with (
        config(threads=args.threads),
        progress_bar(len(jobs) * len(sizes), "benchmarking", args.progress, "size") as bar,
    ):
        for label, stage, arguments in jobs:
            skip: dict[str, str] = {}
            for n in sizes:
                bar.set_postfix_str(f"{stage.name} n={n:,}")
                rows += bench_size(
                    label,
                    stage,
                    arguments(n),
                    n,
                    skip=skip,
                    rounds=args.rounds,
                    max_time=args.max_time,
                )
                bar.update()
    crossing = crossovers(rows)
    document: dict[str, Any] = {
        "command": "bench",
        "target": args.target,
        "sizes": sizes,
        "rows": rows,
        "crossovers": crossing,
        "skipped": skipped,
    }
    files = _write(args.out, rows, document)
    if args.plot:
        for label, stage, _ in jobs:
            mine = [r for r in rows if r["stage"] == stage.name and r["target"] == label]
            path = args.out / f"{_filename(label)}-{_filename(stage.name)}.png"
            files.append(
                plot(
                    mine,
                    [c for c in crossing if (c["target"], c["stage"]) == (label, stage.name)],
                    path,
                )
            )
    document["files"] = [str(f) for f in files]
    if args.json:
        print_json(document)
    else:
        for label, stage, _ in jobs:
            mine = [r for r in rows if r["stage"] == stage.name and r["target"] == label]
            print(
                format_stage(
                    mine, [c for c in crossing if (c["target"], c["stage"]) == (label, stage.name)]
                )
            )
            print()
        print("wrote " + ", ".join(str(f) for f in files))
    return OK
