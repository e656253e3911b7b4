"""Stages for tests/test_dask.py and benchmarks/dask_scaling.py, importable by workers.

``distributed`` worker processes find stages by module and name; pytest puts ``tests/``
on ``sys.path`` and the workers (spawned) inherit it, so ``import dask_stages`` works
there too. The pipeline is a small trips table worked on per row (``distance``), then
per key (``group_share``), written as users write it (Python loops) with faster
variants beside each.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd

import vecpipe as vp


def trips(rows: int, *, keys: int = 50, seed: int = 0) -> pd.DataFrame:
    """A table of trips: a group ``key``, coordinates ``x``, ``y`` and a ``fare``."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "key": rng.integers(0, keys, rows),
            "x": rng.normal(0.0, 10.0, rows),
            "y": rng.normal(0.0, 10.0, rows),
            "fare": rng.gamma(2.0, 5.0, rows),
        }
    )


# -- per row ---------------------------------------------------------------------------------------


@vp.stage(auto=False, chunkable=True)
def distance(df: pd.DataFrame) -> pd.DataFrame:
    """Adds ``dist``: a per-row formula, as a Python loop over the rows."""
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
    # The pandas plumbing here, the loop in a GIL-free kernel.
    x = np.ascontiguousarray(df["x"].to_numpy(dtype=np.float64))
    y = np.ascontiguousarray(df["y"].to_numpy(dtype=np.float64))
    return df.assign(dist=_distance_kernel(x, y))


# -- per key ---------------------------------------------------------------------------------------


@vp.stage(auto=False)
def group_share(df: pd.DataFrame) -> pd.DataFrame:
    """Adds ``share``: each trip's fare over its key's total fare (in this partition).

    Group-wise: it equals the whole table's answer only when each key's rows are all
    in the same partition.
    """
    totals: dict[int, float] = {}
    for k, f in zip(df["key"].tolist(), df["fare"].tolist(), strict=True):
        totals[k] = totals.get(k, 0.0) + f
    share = [f / totals[k] for k, f in zip(df["key"].tolist(), df["fare"].tolist(), strict=True)]
    return df.assign(share=np.array(share, dtype=np.float64))


@group_share.variant("numpy")
def _group_share_numpy(df: pd.DataFrame) -> pd.DataFrame:
    totals = df.groupby("key", sort=False)["fare"].transform("sum")
    return df.assign(share=(df["fare"] / totals).to_numpy())


#: The test and benchmark pipeline: per row, then per key.
pipeline = distance >> group_share


# -- arrays ----------------------------------------------------------------------------------------


@vp.stage(auto=False, chunkable=True)
def squash(x: np.ndarray) -> np.ndarray:
    """Per element, as a Python loop; a Numba variant beside it."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] / (1.0 + abs(x[i]))
    return out


@squash.variant("numpy")
def _squash_numpy(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.abs(x))


# -- faults ----------------------------------------------------------------------------------------


@vp.stage(auto=False, chunkable=True)
def fragile_double(s: pd.Series) -> pd.Series:
    """Doubles; its NumPy variant raises on negative values (as a buggy kernel would)."""
    return pd.Series([v * 2.0 for v in s.tolist()], index=s.index, name=s.name)


@fragile_double.variant("numpy")
def _fragile_double_numpy(s: pd.Series) -> pd.Series:
    if (s < 0).any():
        msg = "negative input: this variant was never written for it"
        raise ValueError(msg)
    return s * 2.0


@vp.stage(auto=False)
def slow_tagged(df: pd.DataFrame, folder: str) -> pd.DataFrame:
    """Notes its process id in ``folder``, then works slowly: a worker to kill mid-task."""
    Path(folder, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    time.sleep(0.3)
    return df.assign(tag=df["fare"] * 10.0)


@vp.stage(auto=False)
def pid_of(df: pd.DataFrame) -> pd.DataFrame:
    """The process that ran the partition, one row per partition."""
    return pd.DataFrame({"pid": [os.getpid()]})


STAGES = (distance, group_share, squash, fragile_double, slow_tagged, pid_of)


def reset_all() -> None:
    """Forget every decision these stages made in this process (run on workers too)."""
    for stage in STAGES:
        stage.reset()


def forget_all() -> None:
    """Forget the decisions and the wisdom of this process (a worker's, in the tests)."""
    reset_all()
    vp.wisdom.clear()


def plugin_outcome() -> str:
    """What vecpipe's worker plugin did in this process (run on workers)."""
    from vecpipe import dask as vpd

    return vpd._PLUGIN_OUTCOME[0]
