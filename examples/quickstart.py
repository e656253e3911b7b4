"""A small price pipeline, written as plain Python first, then given faster variants.

Run it with ``python examples/quickstart.py``. The first run measures
and compiles; a second run reads its choices from wisdom and Numba's disk cache.
"""

from __future__ import annotations

import math
import time

import numba
import numpy as np

import vecpipe as vp

# -- the pipeline as a data scientist writes it first -------------------------------------


@vp.stage
def log_returns(prices):
    out = np.empty(len(prices))
    out[0] = math.nan
    for i in range(1, len(prices)):
        out[i] = math.log(prices[i] / prices[i - 1])
    return out


@vp.stage(chunkable=True)
def clip_outliers(returns):
    out = np.empty(len(returns))
    for i in range(len(returns)):
        r = returns[i]
        if r > 0.05:
            out[i] = 0.05
        elif r < -0.05:
            out[i] = -0.05
        else:
            out[i] = r
    return out


@vp.stage
def smoothed(returns):
    alpha = 0.1
    out = np.empty(len(returns))
    level = math.nan
    for i in range(len(returns)):
        r = returns[i]
        if math.isnan(level):
            level = r
        elif not math.isnan(r):
            level = alpha * r + (1 - alpha) * level
        out[i] = level
    return out


# -- faster variants beside the originals --------------------------------------------------


@log_returns.variant("numpy")
def _(prices):
    out = np.empty(len(prices))
    out[0] = np.nan
    np.log(prices[1:] / prices[:-1], out=out[1:])
    return out


@log_returns.variant("numba", parallel=True)
def _(prices):
    out = np.empty(prices.shape[0])
    out[0] = np.nan
    for i in numba.prange(1, prices.shape[0]):
        out[i] = math.log(prices[i] / prices[i - 1])
    return out


@clip_outliers.variant("numpy")
def _(returns):
    return np.clip(returns, -0.05, 0.05)


@clip_outliers.variant("numba", parallel=True)
def _(returns):
    out = np.empty(returns.shape[0])
    for i in numba.prange(returns.shape[0]):
        out[i] = min(max(returns[i], -0.05), 0.05)
    return out


@smoothed.variant("numba")
def _(returns):
    alpha = 0.1
    out = np.empty(returns.shape[0])
    level = np.nan
    for i in range(returns.shape[0]):
        r = returns[i]
        if np.isnan(level):
            level = r
        elif not np.isnan(r):
            level = alpha * r + (1 - alpha) * level
        out[i] = level
    return out


pipeline = log_returns >> clip_outliers >> smoothed


def main(rows: int = 2_000_000) -> None:
    rng = np.random.default_rng(2013)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    print(f"vecpipe {vp.__version__}: a {rows:,}-row price pipeline\n")

    start = time.perf_counter()
    with vp.config(mode="reference"):
        expected = pipeline(prices)
    reference_seconds = time.perf_counter() - start

    start = time.perf_counter()
    first = pipeline(prices)  # measures (or reads wisdom), compiles (or loads the cache)
    first_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = pipeline(prices)
    steady_seconds = time.perf_counter() - start

    np.testing.assert_allclose(first, expected, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(result, expected, rtol=1e-9, equal_nan=True)
    print(pipeline.explain())
    print("\nLast run:")
    print(pipeline.last_run)
    print(
        f"\nreference pipeline {reference_seconds:.3f} s; first vecpipe call {first_seconds:.3f} s "
        f"(tuning and compiling included); then {steady_seconds * 1e3:.1f} ms per call: "
        f"{reference_seconds / steady_seconds:.0f}x faster. Results equal the reference's."
    )


if __name__ == "__main__":
    main()
