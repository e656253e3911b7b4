"""A vecpipe pipeline on Dask: one process, the threaded scheduler, 1 and 2 process workers.

The pipeline is written as users write it (plain-Python loops over the rows), with
faster variants beside each stage: ``distance`` (per row: a NumPy variant and a GIL-free
Numba kernel) and ``fare_share`` (per key: each trip's fare over its key's total, a
pandas variant). Partitions are made on the workers (``dd.from_map``, as reading files
would) with the keys of each partition its own, so the group-wise stage needs no
shuffle; each run ends with a small per-key aggregate, so little data travels back.

Configurations, all on the same rows:

* one process, no Dask: the reference stages (``vp.config(mode="reference")``, i.e.
  the plain Python a user starts from), then vecpipe's chosen variants;
* Dask's threaded scheduler (one thread per core), reference and variants;
* ``distributed.LocalCluster`` with 1 and 2 worker processes (one thread each),
  reference and variants.

Times are the best of a few computes of the same graph (on a cluster, each after the
previous one's results are released, so that none is reused); building the graph (the
meta, tuning on one partition, shipping the wisdom) is timed apart, once, as "prepare".
Cluster start-up and the workers' first imports are not counted.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from benchmarks._report import fmt_time, table

KEYS_PER_PARTITION = 200


def partition(i: int, rows: int) -> pd.DataFrame:
    """Partition ``i``: trips of keys ``i * 200 ...`` (each key lives in one partition)."""
    rng = np.random.default_rng(i)
    return pd.DataFrame(
        {
            "key": rng.integers(0, KEYS_PER_PARTITION, rows) + i * KEYS_PER_PARTITION,
            "x": rng.normal(0.0, 10.0, rows),
            "y": rng.normal(0.0, 10.0, rows),
            "fare": rng.gamma(2.0, 5.0, rows),
        }
    )


@vp.stage(auto=False, chunkable=True)
def distance(df: pd.DataFrame) -> pd.DataFrame:
    """Per row, as a Python loop."""
    xs, ys = df["x"].to_numpy(), df["y"].to_numpy()
    out = np.empty(len(df))
    for i in range(len(df)):
        r = math.sqrt(xs[i] * xs[i] + ys[i] * ys[i])
        out[i] = r * (1.0 + 0.1 * math.cos(r)) / (1.0 + abs(math.sin(xs[i])))
    return df.assign(dist=out)


@distance.variant("numpy")
def _distance_numpy(df: pd.DataFrame) -> pd.DataFrame:
    x, y = df["x"].to_numpy(), df["y"].to_numpy()
    r = np.sqrt(x * x + y * y)
    return df.assign(dist=r * (1.0 + 0.1 * np.cos(r)) / (1.0 + np.abs(np.sin(x))))


@numba.njit(nogil=True, cache=True)
def _distance_kernel(xs, ys):
    out = np.empty(xs.shape[0])
    for i in range(xs.shape[0]):
        r = math.sqrt(xs[i] * xs[i] + ys[i] * ys[i])
        out[i] = r * (1.0 + 0.1 * math.cos(r)) / (1.0 + abs(math.sin(xs[i])))
    return out


@distance.variant("numpy", name="kernel")
def _distance_via_kernel(df: pd.DataFrame) -> pd.DataFrame:
    x = np.ascontiguousarray(df["x"].to_numpy(dtype=np.float64))
    y = np.ascontiguousarray(df["y"].to_numpy(dtype=np.float64))
    return df.assign(dist=_distance_kernel(x, y))


@vp.stage(auto=False)
def fare_share(df: pd.DataFrame) -> pd.DataFrame:
    """Per key, as Python loops: each fare over its key's total (keys within a partition)."""
    totals: dict[int, float] = {}
    keys, fares = df["key"].tolist(), df["fare"].tolist()
    for k, f in zip(keys, fares, strict=True):
        totals[k] = totals.get(k, 0.0) + f
    return df.assign(share=np.array([f / totals[k] for k, f in zip(keys, fares, strict=True)]))


@fare_share.variant("numpy")
def _fare_share_pandas(df: pd.DataFrame) -> pd.DataFrame:
    totals = df.groupby("key", sort=False)["fare"].transform("sum")
    return df.assign(share=(df["fare"] / totals).to_numpy())


pipeline = distance >> fare_share


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("key").agg(dist=("dist", "mean"), share=("share", "max"))


def _best(compute: Callable[[], Any], repeats: int, client: Any = None) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeats):
        if client is not None:
            _forgotten(client)
        start = time.perf_counter()
        out = compute()
        best = min(best, time.perf_counter() - start)
    return best, out


def _forgotten(client: Any, timeout: float = 30.0) -> None:
    """Wait until the cluster holds no results: a compute of the same graph while the
    last one's results are still being released would reuse them (and time nothing)."""
    deadline = time.monotonic() + timeout
    while any(client.has_what().values()) and time.monotonic() < deadline:
        time.sleep(0.01)


def _one_process(parts: int, rows: int, mode: str, repeats: int) -> dict[str, Any]:
    def compute() -> pd.DataFrame:
        frame = pd.concat([partition(i, rows) for i in range(parts)], ignore_index=True)
        # Groups never span partitions, so the whole table gives the same answer.
        return _summary(pipeline(frame))

    with vp.config(mode=mode):  # type: ignore[arg-type]
        start = time.perf_counter()
        compute()  # tunes (variants) on the whole table, once
        prepare = time.perf_counter() - start
        seconds, out = _best(compute, repeats)
    return {"prepare": prepare, "seconds": seconds, "result": out, "workers_decided": "-"}


def _on_dask(
    parts: int, rows: int, mode: str, repeats: int, scheduler: Any, client: Any
) -> dict[str, Any]:
    import dask.dataframe as dd

    meta = partition(0, 2).iloc[:0]
    with vp.config(mode=mode):  # type: ignore[arg-type]
        start = time.perf_counter()
        data = dd.from_map(partition, range(parts), rows=rows, meta=meta)
        graph = vp.dask.map_partitions(pipeline, data, sample=partition(0, 64), client=client)
        summary = graph.map_partitions(_summary)
        prepare = time.perf_counter() - start
    seconds, out = _best(lambda: summary.compute(scheduler=scheduler), repeats, client)
    decided = "-"
    if client is not None and mode != "reference":
        # How the workers decided: from the shipped wisdom, or by measuring themselves.
        chosen = vp.dask.explain(pipeline, client=client).query("chosen")
        counts = chosen["source"].value_counts()
        decided = ", ".join(f"{n} {source}" for source, n in counts.items())
    return {"prepare": prepare, "seconds": seconds, "result": out, "workers_decided": decided}


def run(quick: bool) -> dict[str, Any]:
    """Measure every configuration; return the figures (and check the results agree)."""
    from distributed import Client, LocalCluster

    parts = 8
    rows = 25_000 if quick else 250_000
    repeats = 2 if quick else 3
    measured: list[dict[str, Any]] = []

    def record(where: str, workers: int, mode: str, figures: dict[str, Any]) -> None:
        figures = dict(figures, where=where, workers=workers, mode=mode)
        measured.append(figures)
        print(f"  {where} x{workers} {mode}: {fmt_time(figures['seconds'])}", flush=True)

    cores = len(os.sched_getaffinity(0))
    for mode in ("reference", "measure"):
        record("one process, no Dask", 1, mode, _one_process(parts, rows, mode, repeats))
        record(
            "Dask threaded scheduler",
            cores,
            mode,
            _on_dask(parts, rows, mode, repeats, "threads", None),
        )
    for workers in (1, 2):
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            # Start-up is not timed: the workers import the stages (vecpipe, Numba) now.
            client.run(importlib.import_module, __name__)
            for mode in ("reference", "measure"):
                figures = _on_dask(parts, rows, mode, repeats, client, client)
                record("Dask LocalCluster, processes", workers, mode, figures)

    expected = measured[0]["result"]
    for figures in measured:
        got = figures.pop("result")
        pd.testing.assert_frame_equal(got.sort_index(), expected, check_exact=False)
    chosen = {
        s.name: sorted({r["variant"] for r in s.explain().rows if r["chosen"]}) for s in pipeline
    }
    return {
        "partitions": parts,
        "rows_per_partition": rows,
        "repeats": repeats,
        "chosen": chosen,
        "runs": measured,
    }


def markdown(result: dict[str, Any]) -> str:
    """The table for results.md: time, and speed-up over the one-process reference."""
    runs = result["runs"]
    base = next(
        r["seconds"] for r in runs if r["where"].startswith("one") and r["mode"] == "reference"
    )
    rows = [
        (
            r["where"],
            r["workers"],
            "reference stages" if r["mode"] == "reference" else "vecpipe variants",
            fmt_time(r["prepare"]),
            fmt_time(r["seconds"]),
            f"{base / r['seconds']:.2f}x",
            r["workers_decided"],
        )
        for r in runs
    ]
    total = result["partitions"] * result["rows_per_partition"]
    chosen = "; ".join(f"{k}: {', '.join(v)}" for k, v in result["chosen"].items())
    return (
        f"{result['partitions']} partitions of {result['rows_per_partition']:,} rows "
        f"({total:,} rows), the pipeline `distance >> fare_share` then a per-key "
        f"aggregate; best of {result['repeats']} computes. Variants chosen here: {chosen}.\n\n"
        + table(
            (
                "where",
                "workers",
                "stages",
                "prepare",
                "compute",
                "vs one-process reference",
                "workers' decisions",
            ),
            rows,
        )
    )
