"""Regret: does the dispatcher pick the fastest variant at every input size?

The stage ``hypot_half`` computes ``sqrt(x*x + 1) / 2`` element by element. Its best
implementation changes with size: NumPy pays a call per ufunc and a temporary per
operation, a serial Numba kernel pays one call, a ``parallel=True`` kernel pays to wake
its threads but then shares the work. For each size the stage is called on a fresh array
until its decision is final: the first call tunes (tiered: below
``vecpipe.dispatch.FULL_TUNING_SIZE`` it compiles the serial kernel and defers the
parallel one), and the repeated calls tune fully once they have run as long as
compiling the parallel kernel is expected to take. Afterwards every variant is timed
again on that input, side by side and interleaved. Regret is ``time(chosen) /
time(best) - 1``, for the final choice (repeated calls); the first call's choice is
reported beside it.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections import Counter
from typing import Any

import numba
import numpy as np

import vecpipe as vp
from benchmarks._report import LoadMeter, fmt_size, fmt_time, table
from benchmarks._timing import Timing, interleaved
from vecpipe.keys import make_key
from vecpipe.settings import get_config

#: The issue's goal: regret at most this everywhere.
GOAL_REGRET = 0.10
FULL_SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
QUICK_SIZES = FULL_SIZES[:-1]
#: Seconds of reference runs per size: at least one run, more while under this.
REFERENCE_CAP = 10.0
REFERENCE_CAP_QUICK = 3.0
#: Repeated calls stop after this long even if the decision is not final yet.
SETTLE_CAP = 60.0
#: The tuning budget of vecpipe.dispatch: max(FLOOR, FACTOR x the chosen variant's time).
BUDGET_FLOOR = 0.25
BUDGET_FACTOR = 5.0


@vp.stage(chunkable=True)
def hypot_half(x: np.ndarray) -> np.ndarray:
    """Reference: ``sqrt(x*x + 1) / 2`` with a Python loop."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = math.sqrt(x[i] * x[i] + 1.0) * 0.5
    return out


@hypot_half.variant("numpy")
def _hypot_half_numpy(x: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + 1.0) * 0.5


@hypot_half.variant("numba")
def _hypot_half_numba(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = math.sqrt(x[i] * x[i] + 1.0) * 0.5
    return out


@hypot_half.variant("numba", parallel=True)
def _hypot_half_numba_parallel(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    out = np.empty(n)
    for i in numba.prange(n):
        out[i] = math.sqrt(x[i] * x[i] + 1.0) * 0.5
    return out


def _tuning_rows(before: set[str]) -> tuple[str, list[dict[str, Any]]]:
    frame = hypot_half.explain().to_frame()
    new = [k for k in frame["key"].unique() if k not in before]
    if len(new) != 1:
        msg = f"expected one new dispatch key, found {new}"
        raise RuntimeError(msg)
    rows = frame[frame["key"] == new[0]]
    records = [
        {
            "variant": r.variant,
            "status": r.status,
            "chosen": bool(r.chosen),
            "seconds": None if r.seconds is None or math.isnan(r.seconds) else float(r.seconds),
            "compile_seconds": (
                None
                if r.compile_seconds is None or math.isnan(r.compile_seconds)
                else float(r.compile_seconds)
            ),
            "reason": r.reason,
        }
        for r in rows.itertuples()
    ]
    return new[0], records


def settle(x: np.ndarray) -> tuple[int, float]:
    """Call the stage on ``x`` until no variant waits to be tried (tiered tuning); the
    number of calls and their seconds."""
    key = make_key(get_config().tag, (x,), {})
    calls = 0
    start = time.perf_counter()
    while hypot_half._dispatcher.decisions[key].deferred():
        if time.perf_counter() - start > SETTLE_CAP:
            break
        hypot_half(x)
        calls += 1
    return calls, time.perf_counter() - start


def retune(x: np.ndarray, repeats: int) -> list[str]:
    """Tune afresh ``repeats`` times (new wisdom folder, decisions forgotten); the choices.

    One tuning is one draw on a noisy machine; these show how often it draws right. Each
    is a full tuning (``tuning="full"``): what the repeated calls of :func:`settle` end
    with, without waiting for them.
    """
    saved = os.environ.get("VECPIPE_CACHE_DIR")
    parent = saved or tempfile.gettempdir()
    choices = []
    try:
        for _ in range(repeats):
            os.environ["VECPIPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="retune-", dir=parent)
            hypot_half.reset()
            with vp.config(tuning="full"):
                hypot_half(x)
            choice = hypot_half.choice(x)
            assert choice is not None
            choices.append(choice)
    finally:
        if saved is None:
            os.environ.pop("VECPIPE_CACHE_DIR", None)
        else:
            os.environ["VECPIPE_CACHE_DIR"] = saved
        hypot_half.reset()
    return choices


def measure_size(n: int, *, quick: bool) -> dict[str, Any]:
    """Tune for ``n`` elements, then time every variant and the stage side by side."""
    load = LoadMeter()
    before = set(hypot_half.explain().to_frame()["key"].unique())
    x = np.random.default_rng(n).standard_normal(n)
    start = time.perf_counter()
    hypot_half(x)
    first_call = time.perf_counter() - start
    key, tuning = _tuning_rows(before)
    first_choice = hypot_half.choice(x)
    settle_calls, settle_s = settle(x)
    chosen = hypot_half.choice(x)
    assert chosen is not None and first_choice is not None

    contenders: dict[str, Any] = {name: v.run for name, v in hypot_half.variants.items()}
    contenders["stage"] = hypot_half
    contenders["reference"] = hypot_half.reference
    timings: dict[str, Timing] = interleaved(
        contenders,
        x,
        rounds=7 if quick else 21,
        target=0.005 if quick else 0.02,
        cap={"reference": REFERENCE_CAP_QUICK if quick else REFERENCE_CAP},
        seed=n,
        prime=True,
    )
    variants = {k: t for k, t in timings.items() if k != "stage"}
    best = min(variants.values(), key=lambda t: t.min)
    t_chosen = variants[chosen].min
    compile_s = sum(r["compile_seconds"] or 0.0 for r in tuning)
    tuning_cost = first_call - compile_s - t_chosen
    budget = max(BUDGET_FLOOR, BUDGET_FACTOR * t_chosen)
    reference = timings.get("reference")
    choices = retune(x, 3 if quick else 5)
    regrets = [variants[c].min / best.min - 1.0 for c in [chosen, *choices]]
    return {
        "n": n,
        "key": key,
        "chosen": chosen,
        "best": best.name,
        "regret": t_chosen / best.min - 1.0,
        "first_choice": first_choice,
        "first_choice_regret": variants[first_choice].min / best.min - 1.0,
        "settle_calls": settle_calls,
        "settle_s": settle_s,
        "regret_median": variants[chosen].median / min(t.median for t in variants.values()) - 1,
        "timings": {k: t.as_dict() for k, t in timings.items()},
        "stage_min_s": timings["stage"].min,
        "speedup_vs_reference": (reference.min / timings["stage"].min) if reference else None,
        "first_call_s": first_call,
        "compile_s": compile_s,
        "tuning_cost_s": tuning_cost,
        "budget_s": budget,
        "tuning": tuning,
        "retune_choices": choices,
        "mean_regret_all_tunings": sum(regrets) / len(regrets),
        "max_regret_all_tunings": max(regrets),
        "other_processes_cores": load.result()["other_processes_cores"],
    }


def run(quick: bool, sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Measure every size, smallest first."""
    hypot_half.reset()
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    cases = [measure_size(n, quick=quick) for n in sizes]
    worst = max(cases, key=lambda c: c["regret"])
    worst_any = max(cases, key=lambda c: c["max_regret_all_tunings"])
    return {
        "goal_regret": GOAL_REGRET,
        "max_regret": worst["regret"],
        "max_regret_n": worst["n"],
        "goal_met": bool(worst["regret"] <= GOAL_REGRET),
        "max_regret_all_tunings": worst_any["max_regret_all_tunings"],
        "max_regret_all_tunings_n": worst_any["n"],
        "cases": cases,
    }


VARIANTS = ("reference", "numpy", "numba", "numba_parallel")


def _cell(case: dict[str, Any], name: str) -> str:
    t = case["timings"].get(name)
    if t is None:
        return "not measured"
    text = fmt_time(t["min"])
    if name == case["chosen"]:
        text = f"**{text}**"
    if t["samples"] < 3:
        text += f" ({t['samples']} run{'s' if t['samples'] > 1 else ''})"
    return text


def _load(cores: float | None) -> str:
    if cores is None:
        return "?"
    return f"{cores:.2f}" + (" (busy)" if cores > 0.2 else "")


def markdown(result: dict[str, Any]) -> str:
    """The regret, speedup and tuning-cost tables."""
    rows = []
    for c in result["cases"]:
        speedup = c["speedup_vs_reference"]
        rows.append(
            [
                fmt_size(c["n"]),
                *[_cell(c, v) for v in VARIANTS],
                c["chosen"],
                c["best"],
                f"{c['regret']:.1%}",
                f"{c['regret_median']:.1%}",
                fmt_time(c["stage_min_s"]),
                f"{speedup:.3g}x" if speedup else "not measured",
                _load(c["other_processes_cores"]),
            ]
        )
    regret_table = table(
        [
            "n",
            "reference",
            "numpy",
            "numba",
            "numba_parallel",
            "chosen",
            "best",
            "regret (min)",
            "regret (median)",
            "`stage(x)`",
            "speedup vs reference",
            "other load",
        ],
        rows,
    )
    verdict = "met" if result["goal_met"] else "NOT met"
    summary = (
        f"Goal (regret at most {result['goal_regret']:.0%} everywhere): **{verdict}**; "
        f"the largest regret is {result['max_regret']:.1%} at n = "
        f"{fmt_size(result['max_regret_n'])}."
    )
    tuning_rows = []
    for c in result["cases"]:
        seen = ", ".join(
            f"{r['variant']} {fmt_time(r['seconds'])} ({r['status']})" for r in c["tuning"]
        )
        tuning_rows.append(
            [
                fmt_size(c["n"]),
                fmt_time(c["first_call_s"]),
                fmt_time(c["compile_s"]),
                fmt_time(c["tuning_cost_s"]),
                fmt_time(c["budget_s"]),
                f"{c['tuning_cost_s'] / c['budget_s']:.2f}",
                f"{c['first_choice']} ({c['first_choice_regret']:.1%})",
                f"{c['settle_calls']:,} in {fmt_time(c['settle_s'])}",
                seen,
            ]
        )
    tuning_table = table(
        [
            "n",
            "first call",
            "compile",
            "tuning cost",
            "budget",
            "cost / budget",
            "first call's choice (its regret)",
            "calls until final",
            "what the first call measured (status)",
        ],
        tuning_rows,
    )
    retune_rows = []
    for c in result["cases"]:
        counts = Counter([c["chosen"], *c["retune_choices"]])
        retune_rows.append(
            [
                fmt_size(c["n"]),
                c["best"],
                ", ".join(f"{name} {k}" for name, k in counts.most_common()),
                f"{counts[c['best']]}/{sum(counts.values())}",
                f"{c['mean_regret_all_tunings']:.1%}",
                f"{c['max_regret_all_tunings']:.1%}",
            ]
        )
    retune_table = table(
        [
            "n",
            "best (measured afterwards)",
            "choices over all tunings",
            "best chosen",
            "mean regret",
            "max regret",
        ],
        retune_rows,
    )
    notes = [
        f"- {fmt_size(c['n'])}: {r['variant']}: {r['reason']}"
        for c in result["cases"]
        for r in c["tuning"]
        if r["reason"]
    ]
    return (
        "Per-call time, min of interleaved repeats (bold: the variant vecpipe chose; "
        "`stage(x)` is the dispatched call; other load: cores used by other processes "
        "while this size was tuned and timed).\n\n"
        + regret_table
        + "\n\n"
        + summary
        + "\n\nThe same input tuned again from scratch (fresh wisdom, decisions forgotten) "
        + f"{len(result['cases'][0]['retune_choices'])} more times; regret of each choice "
        + "against the timings above:\n\n"
        + retune_table
        + "\n\nOver all these tunings the largest regret is "
        + f"{result['max_regret_all_tunings']:.1%} at n = "
        + f"{fmt_size(result['max_regret_all_tunings_n'])}."
        + "\n\nTuning cost = first call - compile - one run of the chosen variant; "
        + "budget = max(0.25 s, 5 x the chosen variant's time). The first call tunes "
        + "tiered (the parallel kernel waits below 512K elements); the calls until final "
        + "ran before the full tuning, which the regret above is of.\n\n"
        + tuning_table
        + ("\n\nTuning notes:\n\n" + "\n".join(notes) if notes else "")
    )
