"""The machine's description, number formatting and Markdown tables."""

from __future__ import annotations

import datetime
import math
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vecpipe._format import format_seconds
from vecpipe.wisdom import _cpu_model


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _git_revision() -> str | None:
    """The checkout's commit, with ``+modified`` if vecpipe/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "vecpipe"],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if commit.returncode != 0:
        return None
    return commit.stdout.strip() + ("+modified" if status.stdout.strip() else "")


def machine() -> dict[str, Any]:
    """Describe this machine and the software versions (call after importing vecpipe)."""
    import numba
    import numpy
    import pandas

    import vecpipe as vp

    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = None
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pandas": pandas.__version__,
        "vecpipe": vp.__version__,
        "vecpipe_revision": _git_revision(),
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,  # type: ignore[attr-defined]
        "numba_threading_layer": layer,
        "vecpipe_threads": vp.get_config().threads,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


class LoadMeter:
    """How busy the *other* processes kept the CPUs while the benchmarks ran.

    Busy CPU time from ``/proc/stat`` minus this process's own CPU time (and its finished
    children's: the cold-start benchmark works in child processes), divided by the wall
    time: the average number of cores that something else used. On a shared
    2-core machine, anything far above 0 disturbs parallel kernels badly.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float | None, float, float]:
        own = os.times()  # this process and the children it waited for: its own work
        busy: float | None
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
            ticks = [int(v) for v in fields]
            idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
            busy = (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            busy = None
        mine = own.user + own.system + own.children_user + own.children_system
        return busy, mine, time.monotonic()

    def result(self) -> dict[str, Any]:
        """Average cores used by other processes, and the load averages now."""
        busy0, own0, t0 = self.start
        busy1, own1, t1 = self._sample()
        other = None
        if busy0 is not None and busy1 is not None and t1 > t0:
            other = max(0.0, ((busy1 - busy0) - (own1 - own0)) / (t1 - t0))
        return {
            "other_processes_cores": other,
            "loadavg_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        }


def wait_quiet(timeout: float, *, seconds: int = 5, threshold: float = 0.1) -> float | None:
    """Wait until other processes use under ``threshold`` cores for ``seconds`` in a row.

    Returns the seconds waited, or None if the machine did not get quiet in ``timeout``
    (or its load cannot be read).
    """
    start = time.monotonic()
    quiet = 0
    while time.monotonic() - start < timeout:
        meter = LoadMeter()
        time.sleep(1.0)
        other = meter.result()["other_processes_cores"]
        if other is None:
            return None
        quiet = quiet + 1 if other < threshold else 0
        if quiet >= seconds:
            return time.monotonic() - start
    return None


def load_note(load: dict[str, Any]) -> str:
    """A sentence on the machine's other load during the run."""
    other = load.get("other_processes_cores")
    if other is None:
        return "Load from other processes: unknown."
    text = f"Other processes used {other:.2f} cores on average during the run"
    if other > 0.2:
        text += (
            " - the machine was **not quiet**, so parallel kernels (which need every core "
            "at once) and small timings are disturbed; rerun on a quiet machine"
        )
    return text + "."


def machine_name(m: dict[str, Any]) -> str:
    """One line naming the machine, for titles."""
    memory = f", {m['memory_gib']} GiB RAM" if m.get("memory_gib") else ""
    return f"{m['cpu_model']}, {m['logical_cores']} logical cores{memory}, {m['platform']}"


def fmt_time(seconds: float | None) -> str:
    """Seconds as short text with a unit (3 significant digits); '-' for nothing."""
    return format_seconds(seconds)


def fmt_size(n: int) -> str:
    """An element count as 10, 1e3, 1e6..."""
    if n >= 1000 and n == 10 ** round(math.log10(n)):
        return f"1e{round(math.log10(n))}"
    return str(n)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_markdown(m: dict[str, Any]) -> str:
    """The machine as a two-column table."""
    rows = [
        ("CPU", m["cpu_model"]),
        ("logical cores (usable)", f"{m['logical_cores']} ({m['usable_cores']})"),
        ("memory", f"{m['memory_gib']} GiB" if m["memory_gib"] else "unknown"),
        ("platform", m["platform"]),
        ("Python", m["python"]),
        ("NumPy / Numba / pandas", f"{m['numpy']} / {m['numba']} / {m['pandas']}"),
        ("vecpipe (revision)", f"{m['vecpipe']} ({m['vecpipe_revision'] or 'unknown'})"),
        (
            "Numba threads (layer)",
            f"{m['numba_num_threads']} ({m['numba_threading_layer'] or 'not started'})",
        ),
        ("vecpipe thread budget", m["vecpipe_threads"]),
        ("date (UTC)", m["date"]),
    ]
    return table(["", ""], rows)
