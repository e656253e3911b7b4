"""pandas idioms inside unchanged functions: each function as written, then as a stage.

Every function below is what a data scientist writes first: ``df.apply(f, axis=1)`` reading
columns by name, ``Series.map`` / ``apply`` with a lambda, ``map(dict)``, ``replace``,
``iterrows`` loops, ``groupby(...)[col].transform(lambda g: ...)``. Each is handed to
``vp.stage`` unchanged (row-wise ones declared ``chunkable=True``, as row-wise stages
may be); nothing else is done to it.

For each function, at ``ROWS`` rows (200,000; 20,000 with ``--quick``):

- the stage is called once (tuning: it times its variants, compares them with the
  unchanged function, keeps the fastest) and its result compared with the function's,
  exactly (``check_exact``) and under the stage's policy;
- the unchanged function and the tuned stage are timed side by side
  (``benchmarks._timing.interleaved``: shuffled rounds, minimum per call);
- the first call is timed again in a fresh process, twice: with an empty wisdom folder
  and Numba's disk cache as the runs above left it ("first call"), and with both empty
  ("cold").

Groups: 2,000 keys (100 rows a group). Mapping by value: 200 (0.1 %) or 2,000 (1 %)
distinct values.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import vecpipe as vp
from benchmarks._report import fmt_time, table
from benchmarks._timing import interleaved

ROWS = 200_000
QUICK_ROWS = 20_000
GROUPS = 2_000
ROOT = Path(__file__).resolve().parent.parent

# -- the data --------------------------------------------------------------------------------


def orders(n: int) -> pd.DataFrame:
    """A frame of orders: prices, quantities, discounts, a customer and a city (text), a
    status code, with some missing prices."""
    rng = np.random.default_rng(0)
    cities = np.array([f"  City {i:03d} " for i in range(200)], dtype=object)
    products = np.array([f"SKU-{i:05d}" for i in range(2000)], dtype=object)
    frame = pd.DataFrame(
        {
            "price": rng.lognormal(3, 1, n),
            "qty": rng.integers(1, 20, n),
            "discount": rng.uniform(0, 0.3, n),
            "weight": rng.gamma(2, 1.5, n),
            "customer": rng.integers(0, GROUPS, n),
            "city": cities[rng.integers(0, len(cities), n)],
            "product": products[rng.integers(0, len(products), n)],
            "status": rng.integers(0, 5, n),
        }
    )
    frame.loc[rng.random(n) < 0.02, "price"] = np.nan
    return frame


# -- the functions, as written ---------------------------------------------------------------

SHIPPING = {f"  City {i:03d} ": round(2.5 + (i % 17) * 0.75, 2) for i in range(200)}
STATUS = {0: "new", 1: "paid", 2: "shipped", 3: "delivered", 4: "returned"}
CATEGORY = {f"SKU-{i:05d}": f"cat-{i % 40:02d}" for i in range(2000)}


def order_value(df):
    """1: DataFrame.apply(axis=1), arithmetic and a branch over named fields."""

    def value(row):
        gross = row["price"] * row["qty"]
        if row["qty"] >= 10:
            gross = gross * (1.0 - row["discount"])
        return gross + 0.5 * row.weight

    return df.apply(value, axis=1)


def heavy_parcel(df):
    """1: DataFrame.apply(axis=1) returning a bool, with math."""
    return df.apply(lambda row: math.sqrt(row["weight"]) * row["qty"] > 8.0, axis=1)


def price_band(df):
    """2: Series.map with a numeric lambda (NaN prices pass through the branches)."""
    return df["price"].map(lambda p: 0 if p < 10 else (1 if p < 50 else 2) if p == p else -1)


def log_price(df):
    """2: Series.apply with a def using math."""

    def scaled(p):
        if p != p:
            return p
        return math.log1p(p) * 10.0

    return df["price"].apply(scaled)


def shipping_cost(df):
    """3: Series.map(dict): 200 distinct cities (0.1 %)."""
    return df["city"].map(SHIPPING)


def category_of(df):
    """3: Series.map(lambda v: d.get(v, default)): 2,000 distinct products (1 %)."""
    return df["product"].map(lambda sku: CATEGORY.get(sku, "other"))


def status_names(df):
    """3: Series.replace(dict) on codes: 5 distinct values."""
    return df["status"].replace(STATUS)


def clean_city(df):
    """3: Series.apply cleaning text: 200 distinct values."""
    return df["city"].apply(lambda c: c.strip().upper().replace("CITY", "C"))


def big_orders_total(df):
    """4: an iterrows() loop."""
    total = 0.0
    for _, row in df.iterrows():
        if row["qty"] > 15 and row["price"] == row["price"]:
            total += row["price"] * row["qty"]
    return total


def weights_by_row(df):
    """4: an itertuples() loop."""
    out = []
    for row in df.itertuples(index=False):
        out.append(row.weight * row.qty if row.status < 3 else 0.0)
    return np.array(out)


def price_zscore(df):
    """5: groupby transform with a z-score lambda."""
    return df.groupby("customer")["price"].transform(lambda g: (g - g.mean()) / g.std())


def rolling_spend(df):
    """5: groupby transform with rolling mean and shift."""
    return df.groupby("customer")["price"].transform(
        lambda g: g.rolling(5, min_periods=1).mean() - g.shift(1)
    )


def price_filled(df):
    """5: groupby transform filling gaps with the group's median."""
    return df.groupby("customer")["price"].transform(lambda g: g.fillna(g.median()))


def price_range(df):
    """5: groupby agg with a lambda."""
    return df.groupby("customer")["price"].agg(lambda g: g.max() - g.min())


def capped_share(df):
    """5: groupby apply with clip, sum and count."""
    return df.groupby("customer")["weight"].apply(
        lambda g: g.clip(upper=g.mean()).sum() / g.count()
    )


def order_labels(df):
    """6: text built per row (no handler takes it): worker processes over row chunks."""
    return df.apply(lambda row: f"{row['product']}/{row['status']}", axis=1)


#: name -> (function, idiom family, chunkable)
FUNCTIONS: dict[str, tuple[Callable[..., Any], str, bool]] = {
    "order_value": (order_value, "1 apply(axis=1)", True),
    "heavy_parcel": (heavy_parcel, "1 apply(axis=1)", True),
    "price_band": (price_band, "2 Series.map(func)", True),
    "log_price": (log_price, "2 Series.apply(func)", True),
    "shipping_cost": (shipping_cost, "3 map(dict)", True),
    "category_of": (category_of, "3 map(d.get)", True),
    "status_names": (status_names, "3 replace(dict)", True),
    "clean_city": (clean_city, "3 apply on text", True),
    "big_orders_total": (big_orders_total, "4 iterrows", False),
    "weights_by_row": (weights_by_row, "4 itertuples", True),
    "price_zscore": (price_zscore, "5 transform", False),
    "rolling_spend": (rolling_spend, "5 transform", False),
    "price_filled": (price_filled, "5 transform", False),
    "price_range": (price_range, "5 agg", False),
    "capped_share": (capped_share, "5 apply", False),
    "order_labels": (order_labels, "6 processes", True),
}

# -- measuring -------------------------------------------------------------------------------


def _stage(name: str) -> vp.Stage:
    func, _, chunkable = FUNCTIONS[name]
    return vp.stage(func, chunkable=chunkable)


def _equal(expected: Any, got: Any) -> str:
    if isinstance(expected, pd.Series):
        try:
            pd.testing.assert_series_equal(got, expected, check_exact=True)
        except AssertionError:
            pd.testing.assert_series_equal(got, expected)
            return "within rounding"
        return "exact"
    if isinstance(expected, np.ndarray):
        return "exact" if np.array_equal(expected, got, equal_nan=True) else "differs"
    return "exact" if expected == got else f"differs ({got!r} vs {expected!r})"


def _first_call(name: str, rows: int, cold: bool) -> dict[str, Any]:
    """The first call in a fresh process (empty wisdom; an empty Numba cache if ``cold``)."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="vecpipe-idioms-") as folder:
        env["VECPIPE_CACHE_DIR"] = os.path.join(folder, "wisdom")
        if cold:
            env["NUMBA_CACHE_DIR"] = os.path.join(folder, "numba")
        code = f"from benchmarks.idioms import first_call; first_call({name!r}, {rows})"
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def first_call(name: str, rows: int) -> None:
    """In a fresh process: print the first call's seconds, and the reference's, as JSON."""
    df = orders(rows)
    stage = _stage(name)
    start = time.perf_counter()
    stage(df)
    seconds = time.perf_counter() - start
    decision = next(iter(stage._dispatcher.decisions.values()))
    reference = decision.trials["reference"].seconds
    compile_seconds = sum(t.compile_seconds or 0.0 for t in decision.trials.values())
    print(
        json.dumps(
            {
                "seconds": seconds,
                "reference_timed": reference,
                "compile": compile_seconds,
                "chosen": decision.chosen,
            }
        )
    )


def measure(name: str, df: pd.DataFrame, quick: bool) -> dict[str, Any]:
    """One function: tune, compare, time side by side."""
    func, idiom, chunkable = FUNCTIONS[name]
    stage = _stage(name)
    with np.errstate(all="ignore"):
        expected = func(df)
        got = stage(df)
    equal = _equal(expected, got)
    chosen = stage.choice(df)
    notes = stage.variants["auto_idioms"].notes(
        next(iter(stage._dispatcher.decisions.values())).key
    )
    timings = interleaved(
        {"reference": func, "vecpipe": stage},
        df,
        rounds=3 if quick else 5,
        cap={"reference": 5.0 if quick else 30.0},
    )
    reference, vecpipe = timings["reference"].min, timings["vecpipe"].min
    return {
        "function": name,
        "idiom": idiom,
        "chunkable": chunkable,
        "rows": len(df),
        "reference": reference,
        "vecpipe": vecpipe,
        "speedup": reference / vecpipe,
        "chosen": chosen,
        "equal": equal,
        "notes": notes,
    }


def run(quick: bool) -> dict[str, Any]:
    """Every function: tuned and timed here, then first calls in fresh processes."""
    rows = QUICK_ROWS if quick else ROWS
    df = orders(rows)
    results = []
    for name in FUNCTIONS:
        print(f"  idioms: {name}...", file=sys.stderr, flush=True)
        results.append(measure(name, df, quick))
    if not quick:
        for row in results:
            row["first_call"] = _first_call(row["function"], rows, cold=False)
            row["cold_call"] = _first_call(row["function"], rows, cold=True)
    from vecpipe.parallel import shutdown

    shutdown()
    return {"rows": rows, "groups": GROUPS, "results": results}


def _first(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "-"
    if "error" in entry:
        return "error"
    return fmt_time(entry["seconds"])


def _speedup(x: float) -> str:
    text = f"{x:,.0f}x" if x >= 100 else f"{x:.3g}x"
    return f"**{text}**" if x >= 10 else text


def markdown(result: dict[str, Any]) -> str:
    """The table for results.md and docs/performance.md."""
    rows = []
    for r in result["results"]:
        rows.append(
            (
                f"`{r['function']}`",
                r["idiom"],
                fmt_time(r["reference"]),
                fmt_time(r["vecpipe"]),
                _speedup(r["speedup"]),
                r["chosen"],
                r["equal"],
                _first(r.get("first_call")),
                _first(r.get("cold_call")),
            )
        )
    head = table(
        [
            "function",
            "idiom",
            "as written",
            "vecpipe",
            "speedup",
            "ran",
            "result",
            "first call",
            "first call, cold",
        ],
        rows,
    )
    notes = "\n".join(
        f"- `{r['function']}`: {r['notes'] or '(the variant ran nothing: see explain())'}"
        for r in result["results"]
    )
    return (
        f"{result['rows']:,} rows, {result['groups']:,} groups. *first call*: a fresh process "
        "with empty wisdom (Numba's disk cache as an earlier run left it); *cold*: empty "
        "Numba cache too. A first call includes one run of the function as written (the "
        "oracle every variant is compared with): on the whole input, or for chunkable "
        "stages on the first 16,384 rows. *ran*: the variant the dispatcher chose (it "
        "measured it faster while tuning).\n\n"
        + head
        + "\n\nWhat each idiom became (explain()):\n\n"
        + notes
    )
