"""Dispatch overhead: ``stage(x)`` against a direct call of the variant it routes to.

After tuning, a stage call builds the key (settings tag, dtype, ndim, layout, size
bucket), looks it up in the route table, runs the chosen variant and checks the form of
its output. This benchmark times that against calling the chosen variant's callable
directly, interleaved, on a tiny input (where the overhead is all there is) and on a
large one (where it should vanish). A do-nothing Python wrapper around the same direct
call calibrates what "one extra Python call" costs on this machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import vecpipe as vp
from benchmarks._report import LoadMeter, fmt_size, fmt_time, table
from benchmarks._timing import interleaved

#: The issue's goal: at most this many seconds of overhead per call on a tiny input.
GOAL_SECONDS = 1e-6


@vp.stage(chunkable=True)
def affine(x: np.ndarray) -> np.ndarray:
    """Reference: ``2x + 1``, one element at a time."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = x[i] * 2.0 + 1.0
    return out


@affine.variant("numpy")
def _affine_numpy(x: np.ndarray) -> np.ndarray:
    return x * 2.0 + 1.0


@affine.variant("numba")
def _affine_numba(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


def _direct(stage: vp.Stage, x: np.ndarray) -> tuple[str, Callable[..., Any]]:
    choice = stage.choice(x)
    if choice is None:
        msg = f"stage {stage.name!r} has not decided for this input"
        raise RuntimeError(msg)
    if choice == "reference":
        return choice, stage.reference
    return choice, stage.variants[choice].run


def measure_one(n: int, *, rounds: int, number: int) -> dict[str, Any]:
    """Tune ``affine`` for an input of ``n`` elements, then time the three calls."""
    load = LoadMeter()
    x = np.random.default_rng(n).standard_normal(n)
    # Tuned fully: the steady state. Until then a tiered key's route also counts its
    # calls (one more Python call), for at most as long as compiling the variants it
    # has not tried yet would take (docs/architecture.md).
    with vp.config(tuning="full"):
        affine(x)
    choice, f = _direct(affine, x)

    def wrapper(*a: Any, **k: Any) -> Any:
        return f(*a, **k)

    timings = interleaved(
        {"stage": affine, "direct": f, "wrapper": wrapper}, x, rounds=rounds, number=number
    )
    stage, direct, wrap = timings["stage"], timings["direct"], timings["wrapper"]
    return {
        "n": n,
        "choice": choice,
        "rounds": rounds,
        "number": number,
        "timings": {k: t.as_dict() for k, t in timings.items()},
        "extra_min_s": stage.min - direct.min,
        "extra_median_s": stage.median - direct.median,
        "ratio_min": stage.min / direct.min,
        "ratio_median": stage.median / direct.median,
        "wrapper_extra_min_s": wrap.min - direct.min,
        "wrapper_extra_median_s": wrap.median - direct.median,
        "other_processes_cores": load.result()["other_processes_cores"],
    }


def run(quick: bool) -> dict[str, Any]:
    """Measure on 10 and 1e6 float64 elements."""
    affine.reset()
    tiny = measure_one(10, rounds=10 if quick else 30, number=5000 if quick else 20000)
    large = measure_one(1_000_000, rounds=10 if quick else 30, number=5 if quick else 20)
    extra = tiny["extra_min_s"]
    return {
        "goal_seconds": GOAL_SECONDS,
        "goal_met": bool(extra <= GOAL_SECONDS),
        "cases": [tiny, large],
    }


def markdown(result: dict[str, Any]) -> str:
    """The overhead tables."""
    rows = []
    for case in result["cases"]:
        t = case["timings"]
        other = case["other_processes_cores"]
        rows.append(
            [
                fmt_size(case["n"]),
                case["choice"],
                f"{fmt_time(t['direct']['min'])} / {fmt_time(t['direct']['median'])}",
                f"{fmt_time(t['stage']['min'])} / {fmt_time(t['stage']['median'])}",
                f"{fmt_time(t['wrapper']['min'])} / {fmt_time(t['wrapper']['median'])}",
                fmt_time(case["extra_min_s"]),
                fmt_time(case["extra_median_s"]),
                f"{case['ratio_min']:.3f}",
                fmt_time(case["wrapper_extra_min_s"]),
                f"{case['rounds']} x {case['number']}",
                "?" if other is None else f"{other:.2f}",
            ]
        )
    headers = [
        "n (float64)",
        "chosen",
        "direct min / median",
        "`stage(x)` min / median",
        "wrapper min / median",
        "extra (min)",
        "extra (median)",
        "ratio stage/direct (min)",
        "wrapper extra (min)",
        "rounds x calls",
        "other load",
    ]
    tiny = result["cases"][0]
    verdict = "met" if result["goal_met"] else "NOT met"
    wrapper = tiny["wrapper_extra_min_s"]
    if wrapper > 0:
        calibration = f"{fmt_time(wrapper)} ({tiny['extra_min_s'] / wrapper:.2g}x the wrapper's)"
    else:
        calibration = f"{fmt_time(wrapper)}, i.e. below this machine's noise"
    return (
        table(headers, rows)
        + "\n\n"
        + f"Goal (at most {fmt_time(result['goal_seconds'])} extra per call on a tiny input): "
        + f"**{verdict}** on this machine: {fmt_time(tiny['extra_min_s'])} extra "
        + "(min-based). A do-nothing Python wrapper around the same direct call costs "
        + calibration
        + "."
    )
