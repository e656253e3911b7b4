"""The kernels benchmark compares like with like, and renders.

numbagg, bottleneck and polars are the ``bench`` extra, not ``test``: where they are
missing the harness must say "not installed" (checked here), never fail or skip.
"""

from __future__ import annotations

import importlib
import inspect
import re

import numpy as np
import pandas as pd

from benchmarks import kernels as bk
from vecpipe.kernels import REGISTRY

LABELS = ("rolling_mean w=20", "cumsum", "ffill")


def _installed(lib: str) -> bool:
    try:
        importlib.import_module(lib)
    except ImportError:
        return False
    return True


def test_every_library_agrees_with_the_reference_or_is_marked() -> None:
    for label in LABELS:
        op = bk.find(label)
        for shape, nans in (((1000,), False), ((300, 3), False), ((1000,), True)):
            status = bk.check(op, shape, nans=nans)
            for lib in bk.PEERS:
                if op.impls.get(lib) is None:
                    assert status[lib] == "-", (label, lib, status[lib])
                elif lib in bk.BENCH_EXTRA and not _installed(lib):
                    assert status[lib] == bk.NOT_INSTALLED, (label, lib, status[lib])
                elif nans and lib in op.nan_differs:
                    # declared: this peer's NaN semantics differ; the check must see it
                    assert status[lib] == bk.DIFFERS, (label, lib, status[lib])
                else:
                    assert status[lib] == bk.AGREES, (label, lib, shape, nans, status[lib])
            # vecpipe: the registered function with the registry's arguments
            assert status["vecpipe"] == bk.AGREES, (label, shape, nans, status["vecpipe"])


def test_every_registered_kernel_has_a_row_with_its_pandas_expression() -> None:
    ops = bk.operations()
    assert {op.kernel for op in ops} == {k.name for k in REGISTRY}
    assert len({op.label for op in ops}) == len(ops)
    for kernel in REGISTRY:
        rows = [op for op in ops if op.kernel == kernel.name]
        windowed = "window" in inspect.signature(kernel.function).parameters
        assert len(rows) == (len(bk.WINDOWS) if windowed and kernel.family == "moving" else 1)
        for op in rows:
            if op.reference == "pandas":
                # the pandas column runs the registry's expression, on the benchmark's input
                x, params = bk.make_input(op, (200,))
                args, kwargs = bk._arguments(kernel, _window(op))(params)
                expected = kernel.pandas(pd.Series(x), *args, **kwargs)
                assert bk.agree(op.impls["pandas"](x, **params), expected), op.label
            else:
                assert op.impls["pandas"] is None and "pandas" in op.notes, op.label


def _window(op: bk.Op) -> int | None:
    found = re.search(r" w=(\d+)", op.label)
    return int(found.group(1)) if found else None


def test_a_kernel_no_peer_has_is_measured_against_pandas_alone() -> None:
    op = bk.find("expanding_mean")
    status = bk.check(op, (500,))
    assert status["pandas"] == status["vecpipe"] == bk.AGREES
    assert all(status[lib] == "-" for lib in bk.PEERS if lib != "pandas")


def test_a_missing_library_shows_as_not_installed(monkeypatch) -> None:
    real = bk.module
    monkeypatch.setattr(bk, "module", lambda lib: None if lib == "polars" else real(lib))
    status = bk.check(bk.find("cumsum"), (100,))
    assert status["polars"] == bk.NOT_INSTALLED
    assert status["pandas"] == bk.AGREES


def test_run_and_markdown_on_tiny_sizes(monkeypatch) -> None:
    monkeypatch.setattr(bk, "sizes", lambda quick: [("1-D 1e3", (1000,)), ("2-D", (200, 4))])
    ops = [bk.find("rolling_mean w=20"), bk.find("group_sum 1000 groups")]
    result = bk.run(True, memory=False, ops=ops)
    assert [t["name"] for t in result["tables"]] == ["1-D 1e3", "2-D"]
    assert len(result["tables"][1]["rows"]) == 1  # group ops are 1-D only
    row = result["tables"][0]["rows"][0]
    assert row["times"]["pandas"] > 0
    for lib in bk.BENCH_EXTRA:
        assert row["status"][lib] == (bk.AGREES if _installed(lib) else bk.NOT_INSTALLED)
        assert (row["times"][lib] is not None) == _installed(lib)
    text = bk.markdown(result)
    assert "| rolling_mean w=20" in text and "### 2-D" in text
    assert "Notes:" in text


def test_memory_entry_point_runs_in_a_fresh_process() -> None:
    from benchmarks import _memory

    figures = _memory.measure("cumsum", "numpy", 10**6)
    assert isinstance(figures, dict), figures
    assert figures["output_mb"] == 8.0
    assert 0 <= figures["extra_mb"] < 100
    assert np.isfinite(figures["extra_mb"])
