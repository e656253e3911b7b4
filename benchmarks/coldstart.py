"""Cold start: each kernel's first call on 100,000 rows in a fresh process, fresh caches.

For every kernel in ``vecpipe.kernels.REGISTRY``, three new Python processes in turn:

1. **cold**: an empty Numba cache folder (``NUMBA_CACHE_DIR``) and an empty wisdom folder
   (``VECPIPE_CACHE_DIR``), both in a new temporary folder: import ``vecpipe.kernels``
   (timed apart), build the input, then time the kernel's first call, as a new user's
   first call in a notebook;
2. **warm**: the same call in a second process with the caches the first one left (Numba's
   compiled code and vecpipe's wisdom);
3. **numbagg**: numbagg's same function, where it has one, its first call in a fresh
   process with its own empty Numba cache folder.

Each child reports wall and CPU seconds (the CPU seconds of a single-threaded compile are
what a quiet machine would wait, so they help read a run on a shared one) and how many
Numba signatures the call compiled (``numba:compile`` events; a signature loaded from the
disk cache is not compiled and not counted). The cold run is repeated (``--quick``: once)
and the median reported with the range.

Inputs (seed 0): a ``pd.Series`` of 100,000 standard normal values (ffill and bfill: 10 %
NaN; cumprod: values near 1) for the one-dimensional families, called as ``vk.rolling_std(s,
20)``; for the group-bys ``vk.group_mean(df, "k")`` with ``df`` a DataFrame of the values
and integer keys ``k`` in 0..999.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._report import fmt_time, table

ROWS = 100_000
GROUPS = 1_000
WINDOW = 20
ALPHA = 0.1
#: The goal of issue 15: median over the kernels and worst kernel, cold, in seconds.
GOAL_MEDIAN = 1.0
GOAL_WORST = 2.0
ROOT = Path(__file__).resolve().parent.parent

#: numbagg's function for a vecpipe kernel, with how to call it on the same data.
NUMBAGG = {
    **{f"rolling_{op}": f"move_{op}" for op in ("sum", "mean", "std", "var")},
    **{f"ewm_{op}": f"move_exp_nan{op}" for op in ("mean", "var", "std")},
    "ffill": "ffill",
    "bfill": "bfill",
    **{
        f"group_{op}": f"group_nan{op}"
        for op in ("sum", "mean", "count", "min", "max", "var", "std", "first", "last", "prod")
    },
}


# -- the child processes ---------------------------------------------------------------------


def _data(name: str, family: str) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.standard_normal(ROWS)
    if name == "cumprod":
        x = 1.0 + 1e-3 * x
    if name in ("ffill", "bfill"):
        x[rng.random(ROWS) < 0.1] = np.nan
    keys = rng.integers(0, GROUPS, ROWS)
    keys[:GROUPS] = np.arange(GROUPS)
    if family in ("grouped", "group_transforms"):
        return pd.DataFrame({"x": x, "k": keys}), keys
    return pd.Series(x), keys


def _vecpipe_call(name: str) -> Any:
    """The kernel's call on its data, as a function of nothing."""
    import vecpipe.kernels as vk

    spec = next(s for s in vk.REGISTRY if s.name == name)
    data, _ = _data(name, spec.family)
    if spec.family in ("grouped", "group_transforms"):
        return lambda: spec.function(data, "k", *spec.args[1:], **spec.kwargs)
    return lambda: spec.function(data, *spec.args, **spec.kwargs)


def _numbagg_call(name: str) -> Any:
    import numbagg
    import numpy as np

    function = getattr(numbagg, NUMBAGG[name])
    data, keys = _data(name, "grouped" if name.startswith("group_") else "")
    if name.startswith("group_"):
        x = data["x"].to_numpy()
        return lambda: function(x, keys, num_labels=GROUPS)
    x = np.asarray(data)
    if name.startswith("rolling_"):
        return lambda: function(x, window=WINDOW)
    if name.startswith("ewm_"):
        return lambda: function(x, alpha=ALPHA)
    return lambda: function(x)


def child(name: str, library: str) -> dict[str, Any]:
    """Run in a fresh process: import, build the input, time the first call."""
    started = time.perf_counter()
    cpu_started = time.process_time()
    if library == "vecpipe":
        import vecpipe.kernels  # noqa: F401
    else:
        import numbagg  # noqa: F401
    import_s = time.perf_counter() - started
    import_cpu = time.process_time() - cpu_started
    from numba.core import event

    compiled: list[str] = []

    class _Count(event.Listener):  # type: ignore[misc]
        def on_start(self, ev: Any) -> None:
            pass

        def on_end(self, ev: Any) -> None:
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    event.register("numba:compile", _Count())
    call = _vecpipe_call(name) if library == "vecpipe" else _numbagg_call(name)
    started = time.perf_counter()
    cpu_started = time.process_time()
    call()
    first_s = time.perf_counter() - started
    first_cpu = time.process_time() - cpu_started
    return {
        "import_s": import_s,
        "import_cpu_s": import_cpu,
        "first_s": first_s,
        "first_cpu_s": first_cpu,
        "compiled": len(compiled),
    }


# -- the parent ------------------------------------------------------------------------------


def _spawn(name: str, library: str, cache: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["VECPIPE_CACHE_DIR"] = str(cache / "wisdom")
    env.pop("VECPIPE_MODE", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.coldstart", name, library],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"coldstart child {name} ({library}) failed:\n{done.stderr[-2000:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(name: str, repeats: int) -> dict[str, Any]:
    """One kernel: ``repeats`` cold runs (the last one's caches then serve the warm run),
    and numbagg's first call where it has the function."""
    colds: list[dict[str, Any]] = []
    warm: dict[str, Any] = {}
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="vecpipe-cold-") as folder:
            colds.append(_spawn(name, "vecpipe", Path(folder)))
            if i == repeats - 1:
                warm = _spawn(name, "vecpipe", Path(folder))
    peer = None
    if name in NUMBAGG and _numbagg_installed():
        with tempfile.TemporaryDirectory(prefix="vecpipe-cold-") as folder:
            peer = _spawn(name, "numbagg", Path(folder))
    firsts = [c["first_s"] for c in colds]
    return {
        "kernel": name,
        "cold_s": statistics.median(firsts),
        "cold_min_s": min(firsts),
        "cold_max_s": max(firsts),
        "cold_cpu_s": statistics.median(c["first_cpu_s"] for c in colds),
        "import_s": statistics.median(c["import_s"] for c in colds),
        "compiled": colds[-1]["compiled"],
        "warm_s": warm["first_s"],
        "warm_compiled": warm["compiled"],
        "numbagg": NUMBAGG.get(name),
        "numbagg_s": None if peer is None else peer["first_s"],
        "runs": colds,
    }


def _numbagg_installed() -> bool:
    try:
        import numbagg  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool, names: list[str] | None = None) -> dict[str, Any]:
    """Every kernel (or ``names``), one after the other; the summary against the goal."""
    import vecpipe.kernels as vk

    kernels = names or [spec.name for spec in vk.REGISTRY]
    repeats = 1 if quick else 3
    cases = []
    for name in kernels:
        print(f"  coldstart {name}...", file=sys.stderr, flush=True)
        cases.append(measure(name, repeats))
    colds = [c["cold_s"] for c in cases]
    worst = max(cases, key=lambda c: c["cold_s"])
    return {
        "rows": ROWS,
        "repeats": repeats,
        "median_cold_s": statistics.median(colds),
        "worst_cold_s": worst["cold_s"],
        "worst_kernel": worst["kernel"],
        "median_cold_cpu_s": statistics.median(c["cold_cpu_s"] for c in cases),
        "goal_median_s": GOAL_MEDIAN,
        "goal_worst_s": GOAL_WORST,
        "goal_met": statistics.median(colds) <= GOAL_MEDIAN and worst["cold_s"] <= GOAL_WORST,
        "cases": cases,
    }


def markdown(result: dict[str, Any]) -> str:
    """The table: one row per kernel, then the summary."""
    rows = []
    for c in result["cases"]:
        spread = (
            f" ({fmt_time(c['cold_min_s'])}-{fmt_time(c['cold_max_s'])})"
            if result["repeats"] > 1
            else ""
        )
        peer = "-" if c["numbagg"] is None else f"`{c['numbagg']}` {fmt_time(c['numbagg_s'])}"
        rows.append(
            (
                f"`{c['kernel']}`",
                fmt_time(c["cold_s"]) + spread,
                fmt_time(c["cold_cpu_s"]),
                str(c["compiled"]),
                fmt_time(c["warm_s"]),
                fmt_time(c["import_s"]),
                peer,
            )
        )
    header = (
        "kernel",
        "first call, cold caches",
        "its CPU time",
        "signatures compiled",
        "second process, warm",
        "import",
        "numbagg, first call",
    )
    met = "met" if result["goal_met"] else "NOT met"
    summary = (
        f"{result['rows']:,} rows; cold runs per kernel: {result['repeats']} (median, range). "
        f"Median over the kernels {fmt_time(result['median_cold_s'])} (CPU "
        f"{fmt_time(result['median_cold_cpu_s'])}), worst {fmt_time(result['worst_cold_s'])} "
        f"(`{result['worst_kernel']}`); goal {result['goal_median_s']:g} s median and "
        f"{result['goal_worst_s']:g} s worst: {met}. Import time is not in the first call."
    )
    return table(header, rows) + "\n\n" + summary


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2])))
