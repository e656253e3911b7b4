"""``vecpipe warm [MODULE[:OBJECT] ...]``: compile ahead of time, into the caches.

A first call on a fresh machine compiles the variants it runs (about a second for a
kernel); a container image, a CI job or a new Dask worker starts that way every time.
``vecpipe warm`` compiles every Numba variant of the kernel library -- serial and
parallel, every path a group-by can take (dense, sorted without NaN, spread-out keys)
-- and of the named stages, for the inputs the kernels and the stages' specs make, into
Numba's disk cache (``NUMBA_CACHE_DIR``, else ``__pycache__`` beside the sources). It
runs nothing for timing and writes no wisdom (``vecpipe tune`` does that); a process that
starts with warm caches loads compiled code in milliseconds, and its first call tunes
with every variant ready.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from vecpipe.cli._common import (
    OK,
    USER_CODE,
    CLIError,
    load_targets,
    names_object,
    one_line,
    print_json,
    print_skipped,
    progress_bar,
    table,
)
from vecpipe.cli._inputs import make_args, sizable
from vecpipe.explain import _seconds
from vecpipe.stage import Stage

HELP = "compile the kernels and your stages' variants ahead of time, into the caches"
DESCRIPTION = """\
Compile ahead of time, so that the first call of a new process waits for no compiler:
every Numba variant of vecpipe's kernels (serial and parallel, every path a group-by can
take), and of the stages and pipelines named as MODULE[:OBJECT] (their inputs made from
the first stage's input spec), into Numba's disk cache (NUMBA_CACHE_DIR, else __pycache__
beside the sources). Nothing is timed and no wisdom is written: `vecpipe tune` fills the
wisdom. Run it where the code will run (the cache is tied to the sources' paths and the
CPU), e.g. as a step of a container image's build."""
EXAMPLES = """\
examples:
  vecpipe warm                                 the kernel library
  vecpipe warm mypackage.stages pipeline.py:pipe
  NUMBA_CACHE_DIR=/opt/cache/numba vecpipe warm --no-kernels mypackage.stages"""

#: Rows of the inputs the variants are compiled for (the types matter, not the size).
ROWS = 1000

_COLUMNS = ("target", "stage", "variant", "status", "seconds", "reason")


def add_parser(subparsers: Any, parent: argparse.ArgumentParser) -> None:
    """Register the ``warm`` command."""
    parser = subparsers.add_parser(
        "warm",
        help=HELP,
        description=DESCRIPTION,
        epilog=EXAMPLES,
        parents=[parent],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="MODULE[:OBJECT]",
        help="stages or pipelines (pkg.mod:name or file.py:name), or modules (all of theirs)",
    )
    parser.add_argument(
        "--kernel",
        dest="kernel_names",
        action="append",
        default=None,
        metavar="NAME",
        help="warm only this kernel of vecpipe.kernels (repeatable; default: every kernel)",
    )
    parser.add_argument(
        "--no-kernels",
        dest="kernels",
        action="store_false",
        help="leave out vecpipe's kernel library (compile the named stages only)",
    )
    parser.set_defaults(run=run)


# -- the kernel library -------------------------------------------------------------------------


def _kernel_calls(names: list[str] | None = None) -> Iterator[tuple[Any, str, Callable[[], Any]]]:
    """(kernel spec, the input's description, a call of its public function) for the
    inputs that take each of its compiled paths, as arrays and as pandas objects (a
    pandas column reaches the kernels as a read-only array: another signature)."""
    import pandas as pd

    from vecpipe.kernels import REGISTRY

    rng = np.random.default_rng(0)
    x = rng.standard_normal(ROWS)
    gaps = x.copy()
    gaps[::10] = np.nan
    dense = rng.integers(0, 50, ROWS)
    paths = {  # the group-bys' paths: slots, pairwise sums, ranked keys
        "dense keys": (gaps, dense),
        "sorted keys, no NaN": (x, np.sort(dense)),
        "spread-out keys": (gaps, dense * 10**12),
    }
    for spec in REGISTRY:
        if names is not None and spec.name not in names:
            continue
        if spec.family in ("grouped", "group_transforms"):
            for label, (values, keys) in paths.items():
                if spec.family == "group_transforms" and label == "spread-out keys":
                    continue  # factorized to dense codes before the kernels
                frame = pd.DataFrame({"x": values, "k": keys})
                yield spec, f"{label}, arrays", _bind(spec.function, (values, keys), spec, 1)
                yield spec, f"{label}, DataFrame", _bind(spec.function, (frame, "k"), spec, 1)
        else:
            yield spec, "float64 array", _bind(spec.function, (gaps,), spec, 0)
            yield spec, "float64 Series", _bind(spec.function, (pd.Series(gaps),), spec, 0)


def _bind(
    function: Callable[..., Any], data: tuple[Any, ...], spec: Any, skip: int
) -> Callable[[], Any]:
    """``function(*data, *spec.args[skip:], **spec.kwargs)``, to call later."""
    return lambda: function(*data, *spec.args[skip:], **spec.kwargs)


def _warm_kernels(bar: Any, rows: list[dict[str, Any]], names: list[str] | None) -> None:
    calls = list(_kernel_calls(names))
    for spec, label, call in calls:
        stage: Stage = spec.stage
        bar.set_postfix_str(f"{spec.name} ({label})")
        for name, variant in stage.variants.items():
            if not variant.compiled:
                continue
            # Pinned, a stage runs that variant as it is (no tuning, no wisdom): Numba
            # compiles it, and the kernels of the path this input takes, for these types.
            stage.pin(name)
            start = time.perf_counter()
            try:
                call()
            finally:
                stage.unpin()
            rows.append(_row("vecpipe.kernels", stage, name, label, time.perf_counter() - start))
        bar.update()


# -- the user's stages ----------------------------------------------------------------------------


def _warm_target(
    label: str, stages: tuple[Stage, ...], bar: Any, rows: list[dict[str, Any]]
) -> None:
    args: tuple[Any, ...] = make_args(stages[0], ROWS)
    for stage in stages:
        bar.set_postfix_str(f"{label}: {stage.name}")
        for name, variant in stage.variants.items():
            if not variant.compiled:
                continue
            start = time.perf_counter()
            try:
                variant.compile_for(args, {})
            except Exception as exc:  # shown in the table: warm goes on with the others
                rows.append(_row(label, stage, name, "", time.perf_counter() - start, failure=exc))
                continue
            rows.append(_row(label, stage, name, "", time.perf_counter() - start))
        if stage is not stages[-1]:
            try:  # the next stage's input: what the reference gives
                args = (stage.reference(*args),)
            except Exception as exc:
                msg = (
                    f"{label}: the reference of stage {stage.name!r} raised "
                    f"{type(exc).__name__} on {ROWS:,} rows: {one_line(exc)}"
                )
                raise CLIError(msg, USER_CODE) from exc
        bar.update()


def _row(
    target: str,
    stage: Stage,
    variant: str,
    input_: str,
    seconds: float,
    failure: BaseException | None = None,
) -> dict[str, Any]:
    from vecpipe.variant import _first_lines

    derived = stage.variants[variant].derived
    status = "compiled" if failure is None else ("not compilable" if derived else "failed")
    return {
        "target": target,
        "stage": stage.name,
        "variant": variant,
        "input": input_,
        "status": status,
        "seconds": seconds,
        "reason": "" if failure is None else _first_lines(failure),
    }


def _cache_folder() -> str:
    import numba

    folder = getattr(numba.config, "CACHE_DIR", "")
    return str(folder) if folder else "__pycache__ folders beside the sources"


def run(args: argparse.Namespace) -> int:
    """Run ``vecpipe warm``; return the exit code."""
    targets = []
    for reference in args.targets:
        found, skipped = sizable(load_targets(reference), [ROWS], named=names_object(reference))
        print_skipped("warm", skipped)
        targets.extend(found)
    if not targets and not args.kernels:
        msg = "--no-kernels and no MODULE[:OBJECT]: nothing to compile; name stages to warm"
        raise CLIError(msg)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    names = args.kernel_names
    if names is not None:
        from vecpipe.kernels import REGISTRY

        unknown = sorted(set(names) - {spec.name for spec in REGISTRY})
        if unknown:
            msg = (
                f"--kernel {unknown[0]}: vecpipe.kernels has no such kernel; pass one of "
                f"{', '.join(spec.name for spec in REGISTRY)}"
            )
            raise CLIError(msg)
    steps = (len(list(_kernel_calls(names))) if args.kernels else 0) + len(targets)
    with progress_bar(steps, "compiling", args.progress, "call") as bar:
        if args.kernels:
            _warm_kernels(bar, rows, names)
        for target in targets:
            _warm_target(target.label, target.stages, bar, rows)
    wall = time.perf_counter() - started
    if args.json:
        print_json(
            {
                "command": "warm",
                "targets": args.targets,
                "kernels": (names or "all") if args.kernels else "none",
                "compiled": [{c: r[c] for c in (*_COLUMNS, "input")} for r in rows],
                "seconds": wall,
                "numba_cache": _cache_folder(),
            }
        )
        return OK
    user_rows = [r for r in rows if r["target"] != "vecpipe.kernels"]
    if targets and not user_rows:
        print("the stages named have no compiled variants: nothing to compile")
    elif user_rows:
        print(
            table(
                [
                    (r["target"], r["stage"], r["variant"], r["status"], _seconds(r["seconds"]))
                    + ((r["reason"][:60],) if r["reason"] else ("",))
                    for r in user_rows
                ],
                ("target", "stage", "variant", "status", "time", "reason"),
            )
        )
    kernel_rows = [r for r in rows if r["target"] == "vecpipe.kernels"]
    if kernel_rows:
        stages = len({r["stage"] for r in kernel_rows})
        print(
            f"vecpipe.kernels: {stages} kernels, {len(kernel_rows)} variant calls compiled "
            f"in {_seconds(sum(r['seconds'] for r in kernel_rows))}"
        )
    print(f"\nNumba's disk cache: {_cache_folder()}; {_seconds(wall)} in all")
    return OK
