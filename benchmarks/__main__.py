"""Run the benchmarks: ``python -m benchmarks [--quick] [--out DIR] [--only NAME]``.

Dispatch overhead, regret (does the dispatcher choose the fastest variant at every
size?), verification speed, and threads against the GIL; with ``--all`` (or ``--only``)
also the kernels against their peers, each kernel's first call in a fresh process
(cold start), a pipeline's scaling on Dask, C and Rust host programs calling an exported
stage from their threads (``--only host``), and pandas idioms in unchanged functions
(``--only idioms``).

Writes ``results.json`` (the machine and every figure) and ``results.md`` (Markdown
tables) to ``--out`` and prints the Markdown. vecpipe's wisdom goes to a fresh temporary
folder, so every decision is tuned in this run rather than read from an earlier one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _clean(value: Any) -> Any:
    """NaN and infinities as null, so results.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmarks, write and print the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small repeat counts (smoke run)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results", help="output folder"
    )
    parser.add_argument(
        "--only",
        choices=(
            "overhead",
            "regret",
            "verification",
            "gil",
            "kernels",
            "dask",
            "coldstart",
            "host",
            "idioms",
        ),
        help="run one benchmark instead of all",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also run the (long) kernels, cold start, Dask and host (C and Rust) benchmarks",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for other processes to leave the CPUs idle",
    )
    args = parser.parse_args(argv)
    if args.wait_quiet > 0:
        from benchmarks._report import wait_quiet

        waited = wait_quiet(args.wait_quiet)
        note = f"after {waited:.0f} s" if waited is not None else "NOT quiet; running anyway"
        print(f"waiting for a quiet machine: {note}", file=sys.stderr, flush=True)

    # Numba's disk cache as the Makefile and the tests set it; this must precede the
    # first import of numba.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    wisdom_dir = tempfile.mkdtemp(prefix="vecpipe-bench-")
    os.environ["VECPIPE_CACHE_DIR"] = wisdom_dir
    try:
        command = " ".join(["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])])
        return _run(args.quick, args.out, args.only, command, args.all)
    finally:
        shutil.rmtree(wisdom_dir, ignore_errors=True)


def _run(quick: bool, out: Path, only: str | None, command: str, every: bool = False) -> int:
    import numba

    import vecpipe as vp
    from benchmarks import _report, dispatch_overhead, gil, regret, verification

    pool = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    vp.set_config(mode="measure", threads=pool)
    load = _report.LoadMeter()
    started = time.perf_counter()
    results: dict[str, Any] = {"quick": quick, "command": command}
    sections: list[str] = []
    if only in (None, "overhead"):
        print("measuring dispatch overhead...", file=sys.stderr, flush=True)
        results["dispatch_overhead"] = dispatch_overhead.run(quick)
        sections.append(
            "## Dispatch overhead\n\n" + dispatch_overhead.markdown(results["dispatch_overhead"])
        )
    if only in (None, "regret"):
        print("measuring regret...", file=sys.stderr, flush=True)
        results["regret"] = regret.run(quick)
        sections.append("## Regret\n\n" + regret.markdown(results["regret"]))
    if only in (None, "verification"):
        print("measuring verification speed...", file=sys.stderr, flush=True)
        results["verification"] = verification.run(quick)
        sections.append(
            "## Verification speed\n\n" + verification.markdown(results["verification"])
        )
    if only in (None, "gil"):
        print("measuring threads against the GIL...", file=sys.stderr, flush=True)
        results["gil"] = gil.run(quick)
        sections.append("## Threads and the GIL\n\n" + gil.markdown(results["gil"]))
    if only == "kernels" or (only is None and every):
        from benchmarks import kernels

        print("measuring kernels against pandas and peers...", file=sys.stderr, flush=True)
        results["kernels"] = kernels.run(quick)
        sections.append("## Kernels against peers\n\n" + kernels.markdown(results["kernels"]))
    if only == "coldstart" or (only is None and every):
        from benchmarks import coldstart

        print("measuring first calls in fresh processes...", file=sys.stderr, flush=True)
        results["coldstart"] = coldstart.run(quick)
        sections.append("## Cold start\n\n" + coldstart.markdown(results["coldstart"]))
    if only == "dask" or (only is None and every):
        from benchmarks import dask_scaling

        print("measuring a pipeline on Dask...", file=sys.stderr, flush=True)
        results["dask"] = dask_scaling.run(quick)
        sections.append("## Dask scaling\n\n" + dask_scaling.markdown(results["dask"]))
    if only == "host" or (only is None and every):
        from benchmarks import host

        print("measuring host threads against the GIL (C and Rust)...", file=sys.stderr, flush=True)
        results["host"] = host.run(quick)
        sections.append("## Host threads and the GIL\n\n" + host.markdown(results["host"]))
    if only == "idioms" or (only is None and every):
        from benchmarks import idioms

        print("measuring pandas idioms in unchanged functions...", file=sys.stderr, flush=True)
        results["idioms"] = idioms.run(quick)
        sections.append("## pandas idioms\n\n" + idioms.markdown(results["idioms"]))
    results["machine"] = _report.machine()  # after the runs: the threading layer is known
    results["wall_seconds"] = time.perf_counter() - started
    results["load"] = load.result()
    title = (
        f"# vecpipe benchmarks{' (--quick)' if quick else ''}\n\n"
        f"Machine: {_report.machine_name(results['machine'])}.\n\n"
        + _report.machine_markdown(results["machine"])
        + f"\n\nCommand: `{command}`; "
        f"wall time {results['wall_seconds']:.0f} s. " + _report.load_note(results["load"])
    )
    text = "\n\n".join([title, *sections]) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(_clean(results), indent=2) + "\n")
    (out / "results.md").write_text(text)
    print(text)
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
