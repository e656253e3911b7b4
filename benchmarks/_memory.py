"""Peak memory of one kernel call, measured in a fresh process.

``python -m benchmarks._memory OPERATION LIBRARY N`` creates the input (1-D, ``N``
float64), calls the operation to warm up (on 10^4 elements: compilation; vecpipe also
three times at ``N``: its tuning), frees the result, resets the process's peak resident
size (writing 5 to ``/proc/self/clear_refs``, Linux >= 4.0), reads the resident size,
makes the one measured call, and prints JSON with the peak above that baseline
(``VmHWM`` after the call minus ``VmRSS`` before it) and the output's size.
Resident memory counts everything, Numba's and polars' allocations included, which
tracemalloc does not see. Where the peak cannot be reset, ``ru_maxrss`` serves as the peak
and vecpipe is not warmed up at ``N`` (less exact: its first call tunes).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _maxrss_kb() -> int:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value // 1024 if sys.platform == "darwin" else value  # bytes on macOS


def measure_here(label: str, lib: str, n: int) -> dict[str, Any]:
    """Run in the fresh process: peak extra MB of one call of ``label`` by ``lib``."""
    from benchmarks import kernels

    op = kernels.find(label)
    if lib == "vecpipe":
        try:
            import numba

            import vecpipe as vp

            vp.set_config(mode="measure", threads=numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
        except ImportError:
            pass
    status, fn = kernels.contender(op, lib)
    if fn is None:
        return {"status": status}
    x, params = kernels.make_input(op, (n,))
    resettable = _status_kb("VmHWM") is not None and _reset_peak()
    # Warm up on a small input (compilation), except vecpipe where resettable: its first
    # calls at this size tune. A full-size warm-up would let an allocator that keeps
    # freed pages (polars' jemalloc) serve the measured call from memory already counted
    # in the baseline; NumPy's 80 MB blocks go back to the system when freed (mmap).
    small, small_params = kernels.make_input(op, (10_000,))
    fn(small, **small_params)
    if resettable and lib == "vecpipe":
        for _ in range(3):
            out = fn(x, **params)
            del out
    gc.collect()
    if resettable:
        _reset_peak()
        baseline = _status_kb("VmRSS") or 0
    else:
        baseline = _maxrss_kb()
    out = fn(x, **params)
    peak = (_status_kb("VmHWM") or 0) if resettable else _maxrss_kb()
    output = kernels.as_array(out).nbytes if out is not None else 0
    return {
        "extra_mb": (peak - baseline) * 1024 / 1e6,
        "output_mb": output / 1e6,
        "method": "VmHWM reset" if resettable else "ru_maxrss",
    }


def measure(label: str, lib: str, n: int, timeout: float = 300.0) -> dict[str, Any] | str:
    """Spawn the fresh process for one (operation, library) and return its figures."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    reason = ""
    for _ in range(2):  # one retry: a shared, noisy machine
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks._memory", label, lib, str(n)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return "timeout"
        if proc.returncode == 0:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            return result.get("status", result)
        lines = proc.stderr.strip().splitlines()
        reason = lines[-1][:160] if lines else f"exit status {proc.returncode}"
    return f"error: {reason}"


def measure_op(op: Any, n: int, status: dict[str, str]) -> dict[str, Any]:
    """Every library's figures for one operation (those that agree with the reference)."""
    libs: dict[str, Any] = {}
    for lib in status:
        s = status[lib]
        libs[lib] = measure(op.label, lib, n) if s == "agrees" else s.split(":")[0]
    return {"op": op.label, "libs": libs}


if __name__ == "__main__":
    print(json.dumps(measure_here(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
