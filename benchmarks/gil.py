"""The GIL story: a Python loop in K threads, in K processes, and as a vecpipe stage.

A CPU-bound stage written as users write it (a loop over an array) processes a fixed
amount of work, split over K workers, K = 1, 2, 4 ... up to the cores:

(a) the reference in K threads: the GIL lets one run at a time, so about 1x;
(b) the reference in K processes: real parallelism, at the price of processes;
(c) the vecpipe stage in K threads: its chosen variant (here the reference compiled by
    Numba as it is, ``auto_numba``, which releases the GIL) runs in parallel;
(d) the same compiled kernel in K separate processes: the machine's parallel capacity.

Throughput speedups are against one worker of the same kind; the end-to-end gain is (c)
against (a). Pools are started and warmed (kernels compiled, loaded from Numba's cache)
before timing. A second table gives each derived variant's speedup over the reference
for typical user functions.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np

import vecpipe as vp
from benchmarks._report import fmt_time, table

BATCH = 200_000
BATCHES_PER_WORKER_MAX = 8


def busy(x: np.ndarray) -> float:
    """The CPU-bound stage, as a data scientist writes it."""
    total = 0.0
    for i in range(len(x)):
        v = x[i]
        total += math.sqrt(v * v + 1.0) * math.cos(v) / (1.0 + abs(v))
    return total


busy_stage = vp.stage(busy, name="busy")
_kernel = busy_stage.variants["auto_numba"].run


def _kernel_call(x: np.ndarray) -> float:
    return float(_kernel(x))


def _warm(_: int) -> int:
    _kernel(np.ones(8))  # compile (or load from the disk cache) in the worker
    return os.getpid()


def _batches(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.normal(size=BATCH) for _ in range(count)]


def _timed_map(pool: Any, fn: Any, batches: list[np.ndarray]) -> float:
    start = time.perf_counter()
    list(pool.map(fn, batches))
    return time.perf_counter() - start


def _ks(cores: int) -> list[int]:
    ks, k = [], 1
    while k < cores:
        ks.append(k)
        k *= 2
    return [*ks, cores]


def measure_scaling(quick: bool) -> dict[str, Any]:
    """Wall time of a fixed amount of work split over K workers, four ways."""
    cores = os.cpu_count() or 1
    ks = _ks(cores)
    total = BATCHES_PER_WORKER_MAX * ks[-1] // (2 if quick else 1)
    batches = _batches(total)
    # Tune in the main thread first, as a pipeline would on its first batch.
    with vp.config(threads=1):
        busy_stage(batches[0])
        chosen = busy_stage.choice(batches[0])
    context = multiprocessing.get_context("spawn")
    rows = []
    for k in ks:
        row: dict[str, Any] = {"workers": k}
        with ThreadPoolExecutor(k) as pool:
            row["reference_threads"] = _timed_map(pool, busy, batches[: max(k, total // 4)])
            row["reference_threads_batches"] = max(k, total // 4)

            def stage_in_thread(x: np.ndarray) -> float:
                with vp.config(threads=1):  # one Numba thread per worker: no oversubscription
                    return busy_stage(x)

            list(pool.map(stage_in_thread, batches[:k]))  # enter each thread's context once
            row["vecpipe_threads"] = _timed_map(pool, stage_in_thread, batches)
        with ProcessPoolExecutor(k, mp_context=context) as pool:
            list(pool.map(_warm, range(k)))
            row["reference_processes"] = _timed_map(pool, busy, batches[: max(k, total // 4)])
            row["kernel_processes"] = _timed_map(pool, _kernel_call, batches)
        rows.append(row)
    return {"cores": cores, "batches": total, "batch": BATCH, "chosen": chosen, "rows": rows}


# -- derived variants on typical user functions ---------------------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Row-wise great-circle distance: an elementwise stage."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def drawdown(prices: np.ndarray) -> np.ndarray:
    """A loop-based cumulative computation: distance below the running peak."""
    out = np.empty(len(prices))
    peak = -math.inf
    for i in range(len(prices)):
        if prices[i] > peak:
            peak = prices[i]
        out[i] = prices[i] / peak - 1.0
    return out


def delay_bucket(minutes: float) -> float:
    """A scalar piecewise function: an elementwise stage."""
    if minutes != minutes:
        return -1.0
    if minutes <= 0:
        return 0.0
    elif minutes <= 15:
        return 1.0
    elif minutes <= 60:
        return 2.0
    return 3.0


def _best_of(fn: Any, args: tuple[Any, ...], seconds: float = 0.3) -> float:
    fn(*args)
    best = math.inf
    deadline = time.perf_counter() + seconds
    while best == math.inf or time.perf_counter() < deadline:
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def measure_derived(quick: bool) -> list[dict[str, Any]]:
    """The reference against each derived variant, on one input per function."""
    n = 200_000 if quick else 1_000_000
    rng = np.random.default_rng(1)
    cases = [
        (
            "haversine_km (elementwise)",
            vp.stage(haversine_km, elementwise=True),
            (rng.uniform(-60, 60, n), rng.uniform(-180, 180, n), 40.6, -73.8),
        ),
        (
            "drawdown (cumulative loop)",
            vp.stage(drawdown),
            (np.cumprod(1 + rng.normal(0, 0.01, n)),),
        ),
        (
            "delay_bucket (piecewise)",
            vp.stage(delay_bucket, elementwise=True),
            (rng.normal(10, 30, n),),
        ),
    ]
    rows = []
    for label, stage, args in cases:
        stage(*args)  # tune
        reference = _best_of(stage._reference.run, args, 0.0)
        row = {"function": label, "n": n, "reference": reference, "chosen": stage.choice(*args)}
        for name, variant in stage.variants.items():
            row[name] = _best_of(variant.run, args)
        rows.append(row)
    return rows


def run(quick: bool) -> dict[str, Any]:
    """Both measurements."""
    return {"scaling": measure_scaling(quick), "derived": measure_derived(quick)}


def markdown(result: dict[str, Any]) -> str:
    """The tables for results.md."""
    scaling = result["scaling"]
    rows = scaling["rows"]
    base = rows[0]
    per_batch = {
        key: base[key] / (base.get(f"{key}_batches") or scaling["batches"])
        for key in (
            "reference_threads",
            "reference_processes",
            "vecpipe_threads",
            "kernel_processes",
        )
    }

    def speedup(row: dict[str, Any], key: str) -> float:
        batches = row.get(f"{key}_batches") or scaling["batches"]
        return per_batch[key] / (row[key] / batches)

    lines = []
    for row in rows:
        a, b, c, d = (
            speedup(row, k)
            for k in (
                "reference_threads",
                "reference_processes",
                "vecpipe_threads",
                "kernel_processes",
            )
        )
        gain = (row["reference_threads"] / (row.get("reference_threads_batches") or 1)) / (
            row["vecpipe_threads"] / scaling["batches"]
        )
        lines.append(
            [
                row["workers"],
                f"{a:.2f}x",
                f"{b:.2f}x",
                f"{c:.2f}x",
                f"{d:.2f}x",
                f"{c / d:.0%}",
                f"{gain:.0f}x",
            ]
        )
    text = (
        f"{scaling['batches']} batches of {scaling['batch']:,} float64, a Python loop per "
        f"batch (`benchmarks/gil.py: busy`); vecpipe chose `{scaling['chosen']}`. Throughput "
        "speedup against one worker of the same kind; (c)/(d) is vecpipe's share of the "
        "machine's parallel capacity; the last column is (c) against (a), batches per second.\n\n"
        + table(
            [
                "workers K",
                "(a) reference, threads",
                "(b) reference, processes",
                "(c) vecpipe stage, threads",
                "(d) compiled kernel, processes",
                "(c) / (d)",
                "(c) vs (a)",
            ],
            lines,
        )
    )
    derived_rows = []
    for row in result["derived"]:
        names = [k for k in row if k not in ("function", "n", "reference", "chosen")]
        cells = ", ".join(
            f"{k} {fmt_time(row[k])} ({row['reference'] / row[k]:.0f}x)" for k in names
        )
        derived_rows.append(
            [row["function"], f"{row['n']:,}", fmt_time(row["reference"]), cells, row["chosen"]]
        )
    text += (
        "\n\nDerived variants (no code changed) against the reference, best of repeated runs:\n\n"
    )
    text += table(
        ["function", "n", "reference", "derived variants (speedup)", "vecpipe chose"], derived_rows
    )
    return text
