"""Host threads and the GIL: the seed scenario, from a C and a Rust program.

An unchanged Python function (``examples/host/pipeline.py``: a scalar function, the log
return of a trade less a fee) is called by a C and by a Rust program that embed CPython:

(a) *Python through the C API*: each host thread takes the GIL (``PyGILState_Ensure``),
    calls the function once per element on a batch of 1,000, and lets the GIL go: what a
    host does today, and why its threads do not speed it up;
(b) *the export*: ``vp.export(vp.stage(f, elementwise=True), "f8[:], f8[:], f8[:], f8 ->
    f8[:]")`` once, the GIL released, then each thread calls the compiled function on
    batches of 10,000 elements, with no GIL anywhere;
(c) the same export in as many *processes* (forked by the C host after exporting): the
    machine's parallel capacity for this kernel, which (b) should reach.

Throughput is elements per second over about ``seconds`` of work per point, all threads
started together. A last table gives one call on 8 elements, and per element on 10,000,
against the same arithmetic written as a plain C (Rust) function and called through a
pointer. Thread counts: 1, 2, 4, ... up to the usable cores, or ``HOST_BENCH_THREADS``
(``HOST_BENCH_THREADS=1,2,8,16``).

Goals (issue 19): the export at 2 threads at least 1.8x its 1-thread throughput, and at
least 90% of 2 processes; one call on 8 elements at most 20 ns above the plain function.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._report import table

ROOT = Path(__file__).resolve().parent.parent


def _threads() -> list[int]:
    text = os.environ.get("HOST_BENCH_THREADS", "").strip()
    if text:
        return [int(t) for t in text.split(",") if t.strip()]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    counts, k = [], 1
    while k < cores:
        counts.append(k)
        k *= 2
    return [*counts, cores]


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "host_build", ROOT / "examples" / "host" / "build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(quick: bool) -> dict[str, Any]:
    """Build the hosts, run their ``bench`` mode, and gather the figures."""
    build = _build_module()
    threads = _threads()
    seconds = 0.3 if quick else 1.0
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vecpipe-hosts-") as folder:
        binaries = build.build(Path(folder))
        for host, binary in binaries.items():
            print(f"  the {host} host...", file=sys.stderr, flush=True)
            done = subprocess.run(
                [
                    str(binary),
                    "bench",
                    "--threads",
                    ",".join(map(str, threads)),
                    "--seconds",
                    str(seconds),
                ],
                env=build.environment(),
                capture_output=True,
                text=True,
                check=True,
            )
            rows += [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {"threads": threads, "seconds": seconds, "rows": rows}


def _rate(rows: list[dict[str, Any]], host: str, path: str, threads: int) -> float | None:
    for row in rows:
        if (row["host"], row["path"], row.get("threads")) == (host, path, threads):
            return float(row["elements_per_s"])
    return None


def _m(rate: float | None) -> str:
    return "-" if rate is None else f"{rate / 1e6:.3g}"


def _x(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def goals(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's three goals, measured: per host, where the figures exist."""
    rows = result["rows"]
    found: dict[str, Any] = {}
    for host in sorted({r["host"] for r in rows}):
        one, two = _rate(rows, host, "export", 1), _rate(rows, host, "export", 2)
        processes = _rate(rows, "c", "processes", 2)
        overhead = next((r for r in rows if r["host"] == host and r["path"] == "overhead"), None)
        found[host] = {
            "two_threads_over_one": two / one if one and two else None,
            "two_threads_over_two_processes": two / processes if two and processes else None,
            "overhead_ns_8": overhead["export_ns"] - overhead["plain_ns"] if overhead else None,
        }
    return found


def markdown(result: dict[str, Any]) -> str:
    """The tables for results.md (and docs/host.md)."""
    rows = result["rows"]
    hosts = sorted({r["host"] for r in rows})
    lines = []
    throughput = []
    for host in hosts:
        base = _rate(rows, host, "export", 1)
        for threads in result["threads"]:
            python = _rate(rows, host, "python", threads)
            exported = _rate(rows, host, "export", threads)
            processes = _rate(rows, host, "processes", threads)
            throughput.append(
                (
                    host,
                    threads,
                    _m(python),
                    _m(exported),
                    _x(exported, python),
                    _x(exported, base),
                    _m(processes),
                    _x(exported, processes),
                )
            )
    lines.append(
        table(
            [
                "host",
                "threads",
                "Python via C API, GIL (M el/s)",
                "export, no GIL (M el/s)",
                "export / Python",
                "export / its 1 thread",
                "export in processes (M el/s)",
                "threads / processes",
            ],
            throughput,
        )
    )
    overhead = []
    for row in rows:
        if row["path"] != "overhead":
            continue
        overhead.append(
            (
                row["host"],
                f"{row['export_ns']:.1f} ns",
                f"{row['plain_ns']:.1f} ns",
                f"{row['export_ns'] - row['plain_ns']:+.1f} ns",
                f"{row['export_ns_10000'] / 1e4:.2f} ns",
                f"{row['plain_ns_10000'] / 1e4:.2f} ns",
            )
        )
    lines.append(
        table(
            [
                "host",
                "export, 8 elements",
                "plain function, 8 elements",
                "difference",
                "export per element (10^4)",
                "plain per element (10^4)",
            ],
            overhead,
        )
    )
    measured = goals(result)
    notes = []
    for host, g in measured.items():
        parts = []
        if g["two_threads_over_one"] is not None:
            parts.append(f"2 threads {g['two_threads_over_one']:.2f}x one (goal 1.8x)")
        if g["two_threads_over_two_processes"] is not None:
            parts.append(f"{g['two_threads_over_two_processes']:.0%} of 2 processes (goal 90%)")
        if g["overhead_ns_8"] is not None:
            parts.append(f"{g['overhead_ns_8']:+.1f} ns a call on 8 elements (goal +20 ns)")
        notes.append(f"- {host} host: " + "; ".join(parts) + ".")
    lines.append("Goals:\n\n" + "\n".join(notes))
    lines.append(
        f"Each point is about {result['seconds']:g} s of work, all threads started together; "
        "Python calls run in batches of 1,000 elements under one GIL acquisition, export "
        "calls on 10,000 elements. Processes are forked by the C host after exporting."
    )
    return "\n\n".join(lines)
