"""The demo's flights pipeline on Dask: one process, the threaded scheduler, 1, 2... workers.

The pipeline is the flights demo's (``vecpipe/demo/flights.py``): seven features, four
computed row by row and three within groups keyed three ways (z-score per carrier,
7-day moving mean per origin, miles to date per aircraft), on the flights of 2013
replicated to four years, 1.35 million rows (``load_flights(rows=...)``: copy ``r`` is
the same year ``r`` years later). On Dask it runs as :func:`~vecpipe.demo.flights.add_features_dask`
does: the row-wise features on the flights' partitions, each group-wise feature on its
few columns shuffled on its key, then joined back; its result equals ``add_features`` on
the whole table. Each run ends with a small aggregate per (origin, carrier), so little
data travels back; every configuration's aggregate is checked against the one-process
reference's.

Configurations, all on the same rows:

* one process, no Dask: the pipeline written with pandas' own operations (groupby
  transforms, a time-based rolling window, ``pd.cut``; no vecpipe), then the reference
  stages (``vp.config(mode="reference")``: the plain Python a user starts from), then
  vecpipe's chosen variants;
* Dask's threaded scheduler (one thread per core), reference stages and variants;
* ``distributed.LocalCluster`` with 1 and 2 worker processes (one thread each),
  reference stages and variants.

On Dask the partitions are made where they are computed (``dd.from_map``, as reading
files would: a part of a year, from the year the process loaded once); the one-process
runs get the whole table ready-made. Times are the best of a few computes of the same
graph (the reference stages: one compute); building the graph (the meta, tuning each
pass on one partition, shipping the wisdom) is timed apart, once, as "prepare". Cluster
start-up and the workers' first imports and loading of the year are not counted.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import vecpipe as vp
from benchmarks._report import fmt_time, table
from vecpipe.demo import flights as demo

#: Years of flights (copies of 2013): 4 x 336,776 = 1,347,104 rows (the whole Dask
#: benchmark in about 4 minutes on a 2-core VM; 6 years, 2 million rows, an estimated 5-6).
#: ``DASK_BENCH_YEARS`` overrides it.
YEARS = int(os.environ.get("DASK_BENCH_YEARS", "4"))
#: Partitions per year (``DASK_BENCH_PARTS_PER_YEAR``: more for more workers).
PARTS_PER_YEAR = int(os.environ.get("DASK_BENCH_PARTS_PER_YEAR", "2"))
#: The LocalCluster sizes measured (``DASK_BENCH_WORKERS=1,2,4,8,16`` on a larger machine).
WORKERS = tuple(int(w) for w in os.environ.get("DASK_BENCH_WORKERS", "1,2").split(","))
_MINUTES_PER_YEAR = 365 * 24 * 60
_AGGREGATES = {
    "dep_minute": "mean",
    "distance_km": "mean",
    "carrier_delay_z": "mean",
    "origin_delay_7d": "mean",
    "tail_miles_to_date": "max",
    "weather_risk": "mean",
}


@functools.lru_cache(maxsize=1)
def _year() -> pd.DataFrame:
    """The flights of 2013, loaded once per process."""
    return demo.load_flights()


def _bounds(parts_per_year: int) -> np.ndarray:
    return np.linspace(0, demo.FLIGHTS_2013, parts_per_year + 1).astype(np.int64)


def flights_part(i: int, parts_per_year: int = PARTS_PER_YEAR) -> pd.DataFrame:
    """Partition ``i``: the rows of ``load_flights(rows=...)`` it holds, made from one year.

    Part ``k`` of year copy ``r`` (``i = r * parts_per_year + k``), with the year and the
    scheduled minute shifted and the index continued, as ``load_flights`` replicates.
    """
    r, k = divmod(i, parts_per_year)
    lo, hi = _bounds(parts_per_year)[k : k + 2]
    part = _year().iloc[lo:hi].copy()
    part["year"] += r
    part["sched_minute"] += r * _MINUTES_PER_YEAR
    part.index = part.index + r * demo.FLIGHTS_2013
    return part


def _divisions(years: int, parts_per_year: int) -> list[int]:
    starts = [
        r * demo.FLIGHTS_2013 + int(b) for r in range(years) for b in _bounds(parts_per_year)[:-1]
    ]
    return [*starts, years * demo.FLIGHTS_2013 - 1]


def pandas_features(df: pd.DataFrame) -> pd.DataFrame:
    """The same seven features written with pandas' own operations (no vecpipe)."""
    clock = np.trunc(df["dep_time"].to_numpy())
    lat1, lon1 = np.radians(df["origin_lat"].to_numpy()), np.radians(df["origin_lon"].to_numpy())
    lat2, lon2 = np.radians(df["dest_lat"].to_numpy()), np.radians(df["dest_lon"].to_numpy())
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    delay = df["arr_delay"]
    by_carrier = delay.groupby(df["carrier"])
    moment = pd.Timestamp("2013-01-01") + pd.to_timedelta(df["sched_minute"], unit="min")
    timed = pd.DataFrame({"t": moment.to_numpy(), "delay": delay.to_numpy()})
    grouped = timed.groupby(df["origin"].to_numpy())
    rolled = grouped.rolling("7D", on="t")["delay"].mean()  # indexed (origin, row)
    moving = np.full(len(df), np.nan)
    for origin, rows in grouped.indices.items():
        moving[rows] = rolled.loc[origin].to_numpy()
    visib = df["visib"].to_numpy()
    risk = np.where(visib < 1.0, 2.0, np.where(visib < 3.0, 1.0, 0.0))
    risk += df["wind_speed"].to_numpy() > 25.0
    risk += df["precip"].to_numpy() > 0.1
    risk[np.isnan(visib)] = np.nan
    features = pd.DataFrame(
        {
            "dep_minute": (clock // 100) * 60 + clock % 100,
            "distance_km": 2 * 6371.0 * np.arcsin(np.sqrt(np.minimum(a, 1.0))),
            "carrier_delay_z": (
                (delay - by_carrier.transform("mean")) / by_carrier.transform("std")
            ).to_numpy(),
            "origin_delay_7d": moving,
            "delay_category": pd.cut(
                delay,
                [-np.inf, -5.0 - 1e-9, 15, 60, 180, np.inf],
                labels=list(demo.DELAY_CATEGORIES),
            ).to_numpy(),
            "tail_miles_to_date": df.groupby("tailnum")["distance"].cumsum().to_numpy(float),
            "weather_risk": risk,
        },
        index=df.index,
    )
    return pd.concat([df, features], axis=1)


def _summary(df: Any) -> Any:
    """Per (origin, carrier): mean features, the most miles an aircraft has flown."""
    return df.groupby(["origin", "carrier"]).agg(_AGGREGATES)


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


def _one_process(frame: pd.DataFrame, mode: str, repeats: int) -> dict[str, Any]:
    if mode == "pandas":
        seconds, out = _best(lambda: _summary(pandas_features(frame)), repeats)
        return {"prepare": None, "seconds": seconds, "result": out, "workers_decided": "-"}
    with vp.config(mode=mode):  # type: ignore[arg-type]
        start = time.perf_counter()
        out = _summary(demo.add_features(frame))  # variants: tunes on the whole table, once
        prepare = time.perf_counter() - start
        if mode != "reference":
            seconds, out = _best(lambda: _summary(demo.add_features(frame)), repeats)
        else:
            seconds, prepare = prepare, None  # the one run is the measurement
    return {"prepare": prepare, "seconds": seconds, "result": out, "workers_decided": "-"}


def _flights_ddf(years: int) -> Any:
    import dask.dataframe as dd

    return dd.from_map(
        flights_part,
        range(years * PARTS_PER_YEAR),
        meta=flights_part(0).iloc[:0],
        divisions=_divisions(years, PARTS_PER_YEAR),
    )


def _on_dask(years: int, mode: str, repeats: int, scheduler: Any, client: Any) -> dict[str, Any]:
    with vp.config(mode=mode):  # type: ignore[arg-type]
        start = time.perf_counter()
        features = demo.add_features_dask(_flights_ddf(years), client=client)
        summary = _summary(features)
        prepare = time.perf_counter() - start
    seconds, out = _best(
        lambda: summary.compute(scheduler=scheduler), 1 if mode == "reference" else repeats, client
    )
    decided = "-"
    if client is not None and mode != "reference":
        # How the workers decided: from the shipped wisdom, or by measuring themselves.
        chosen = pd.concat([vp.dask.explain(f.stage, client=client) for f in demo.FEATURES]).query(
            "chosen"
        )
        counts = chosen["source"].value_counts()
        decided = ", ".join(f"{n} {source}" for source, n in counts.items())
    return {"prepare": prepare, "seconds": seconds, "result": out, "workers_decided": decided}


def run(quick: bool) -> dict[str, Any]:
    """Measure every configuration; return the figures (and check the results agree)."""
    from distributed import Client, LocalCluster

    years = 1 if quick else YEARS
    repeats = 2 if quick else 3
    rows = years * demo.FLIGHTS_2013
    measured: list[dict[str, Any]] = []

    def record(where: str, workers: int, mode: str, figures: dict[str, Any]) -> None:
        figures = dict(figures, where=where, workers=workers, mode=mode)
        measured.append(figures)
        print(f"  {where} x{workers} {mode}: {fmt_time(figures['seconds'])}", flush=True)

    frame = demo.load_flights(rows=rows)
    # The partitions Dask makes are the rows of that table, in the same order (its text
    # columns in Dask's string dtype: dataframe.convert-string).
    made = _flights_ddf(years).compute(scheduler="threads")
    text = {c: made[c].dtype for c in made.columns if made[c].dtype != frame[c].dtype}
    pd.testing.assert_frame_equal(made, frame.astype(text))
    del made
    cores = len(os.sched_getaffinity(0))
    record("one process, pandas (no vecpipe)", 1, "pandas", _one_process(frame, "pandas", repeats))
    for mode in ("reference", "measure"):
        record("one process, no Dask", 1, mode, _one_process(frame, mode, repeats))
        record(
            "Dask threaded scheduler", cores, mode, _on_dask(years, mode, repeats, "threads", None)
        )
    del frame
    for workers in WORKERS:
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster, set_as_default=False) as client,
        ):
            # Not timed: the workers import the stages (vecpipe, Numba) and load the year.
            client.run(importlib.import_module, __name__)
            client.run(_year)
            for mode in ("reference", "measure"):
                figures = _on_dask(years, mode, repeats, client, client)
                record("Dask LocalCluster, processes", workers, mode, figures)

    expected = measured[1]["result"]  # the one-process reference
    for figures in measured:
        got = figures.pop("result")
        pd.testing.assert_frame_equal(
            got.sort_index(), expected.sort_index(), check_exact=False, check_index_type=False
        )
    chosen = {
        f.stage.name: sorted({r["variant"] for r in f.stage.explain().rows if r["chosen"]})
        for f in demo.FEATURES
    }
    return {
        "rows": rows,
        "partitions": years * PARTS_PER_YEAR,
        "repeats": repeats,
        "chosen": chosen,
        "runs": measured,
    }


_STAGES = {"pandas": "pandas, no vecpipe", "reference": "reference stages"}


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
            _STAGES.get(r["mode"], "vecpipe variants"),
            fmt_time(r["prepare"]) if r["prepare"] is not None else "-",
            fmt_time(r["seconds"]),
            f"{base / r['seconds']:.2f}x",
            r["workers_decided"],
        )
        for r in runs
    ]
    chosen = "; ".join(f"{k}: {', '.join(v)}" for k, v in result["chosen"].items())
    return (
        f"The flights pipeline (`add_features`; on Dask `add_features_dask`) on "
        f"{result['rows']:,} flights in {result['partitions']} partitions, then an aggregate "
        f"per (origin, carrier); best of {result['repeats']} computes (reference stages: "
        f"one). Variants chosen here: {chosen}.\n\n"
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
