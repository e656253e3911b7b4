"""Verification speed: how long vp.verify takes on a cheap stage with three variants.

The issue's figure: verifying a cheap stage with three variants at 200 examples takes a
few seconds once compiled. The first verification compiles the kernels' signatures (the
edge cases include strided and read-only arrays, one signature each); the second is the
figure that matters day to day. Hypothesis' example database is off, so both runs search
afresh.
"""

from __future__ import annotations

import time
from typing import Any

import numba
import numpy as np

import vecpipe as vp
from benchmarks._report import table


@vp.stage(inputs=vp.spec.array("float64", max_size=1000))
def scale_shift(x: np.ndarray) -> np.ndarray:
    """The cheap stage: ``2x + 1`` as a Python loop."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = x[i] * 2.0 + 1.0
    return out


@scale_shift.variant("numpy")
def _scale_shift_numpy(x: np.ndarray) -> np.ndarray:
    return x * 2.0 + 1.0


@scale_shift.variant("numba")
def _scale_shift_numba(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


@scale_shift.variant("numba", parallel=True)
def _scale_shift_numba_parallel(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[0])
    for i in numba.prange(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


def run(quick: bool) -> dict[str, Any]:
    """Verify twice (compiling, then compiled) and report the wall times."""
    examples = 50 if quick else 200
    runs = []
    for label in ("first (compiles what it needs)", "second (compiled)"):
        start = time.perf_counter()
        report = vp.verify(scale_shift, max_examples=examples, seed=0, database=False)
        seconds = time.perf_counter() - start
        runs.append(
            {
                "run": label,
                "seconds": seconds,
                "ok": report.ok,
                "variants": [
                    {
                        "variant": r.variant,
                        "examples": r.examples,
                        "edge_cases": r.edge_cases,
                        "seconds": r.seconds,
                    }
                    for r in report.results
                ],
            }
        )
    return {"max_examples": examples, "runs": runs}


def markdown(result: dict[str, Any]) -> str:
    """The table for results.md."""
    rows = []
    for run in result["runs"]:
        per = ", ".join(f"{v['variant']} {v['seconds']:.2f} s" for v in run["variants"])
        rows.append([run["run"], f"{run['seconds']:.2f} s", "yes" if run["ok"] else "NO", per])
    text = table(["verification", "wall time", "all passed", "per variant"], rows)
    return (
        "`vp.verify` of a cheap stage (`2x + 1`, arrays up to 1000 float64) with three "
        "hand-written variants (numpy, numba, numba_parallel) and the derived auto_numba, "
        f"{result['max_examples']} examples each plus the edge cases, seed 0, no example "
        "database.\n\n" + text
    )
