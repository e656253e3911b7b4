"""Variants derived from the reference: auto_numba, and ufuncs for elementwise stages."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp


def running_max(x):
    out = np.empty(len(x))
    best = -math.inf
    for i in range(len(x)):
        if x[i] > best:
            best = x[i]
        out[i] = best
    return out


def describe(values):
    return {"n": len(values), "text": ", ".join(str(v) for v in values)}  # not compilable


def first(x):
    return x[0] * 1.0


def clipped_ratio(a, b):
    if b == 0.0:
        return 0.0
    r = a / b
    return min(max(r, -1.0), 1.0)


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=20_000)


def test_auto_numba_is_derived_by_default():
    stage = vp.stage(running_max)
    variant = stage.variants["auto_numba"]
    assert variant.func is running_max is stage.reference
    assert variant.releases_gil and variant.derived and variant.compiled


def test_auto_false_derives_nothing():
    assert "auto_numba" not in vp.stage(running_max, auto=False).variants


def test_auto_numba_runs_the_unchanged_reference_fast(x):
    stage = vp.stage(running_max)
    np.testing.assert_array_equal(stage(x), running_max(x))
    assert stage.choice(x) == "auto_numba"  # a Python loop over 20,000 floats is slow
    row = stage.explain().to_frame().set_index("variant").loc["auto_numba"]
    assert row["compile_seconds"] is not None and row["speedup"] > 5


def test_a_reference_numba_cannot_compile_is_marked_with_the_reason():
    stage = vp.stage(describe)
    assert stage([1, 2]) == {"n": 2, "text": "1, 2"}  # no warning: it is vecpipe's own try
    row = stage.explain().to_frame().set_index("variant").loc["auto_numba"]
    assert row["status"] == "compile-failed"
    assert 0 < len(row["reason"]) < 400 and "\n" not in row["reason"]


def test_a_compile_failure_is_remembered_in_wisdom():
    vp.stage(describe)([1, 2])
    again = vp.stage(describe)  # as in a new process: a new, uncompiled kernel
    again([3, 4])
    row = again.explain().to_frame().set_index("variant").loc["auto_numba"]
    assert (row["status"], row["source"]) == ("compile-failed", "wisdom")
    assert not again.variants["auto_numba"].run.overloads  # Numba was not tried again


def test_auto_numba_checks_bounds_like_python():
    stage = vp.stage(first)
    with pytest.raises(IndexError):
        stage.variants["auto_numba"].run(np.array([]))


def test_auto_numba_is_verified_like_any_variant():
    stage = vp.stage(running_max, inputs=vp.spec.array("float64", max_size=100))
    report = vp.verify(stage, max_examples=30, seed=0)
    assert report.ok and [r.variant for r in report.results] == ["auto_numba"]


def test_an_uncompilable_reference_is_not_applicable_not_failed_in_verify():
    stage = vp.stage(describe, inputs=vp.spec.Spec(vp.spec.just([1, 2])))
    report = vp.verify(stage, max_examples=5, seed=0)
    assert report.ok
    (result,) = report.results
    assert not result.applicable and "Numba cannot compile" in result.note
    assert "not applicable" in str(report)


# -- elementwise stages ---------------------------------------------------------------------


@pytest.fixture
def ratio() -> vp.Stage:
    return vp.stage(clipped_ratio, elementwise=True)


def test_an_elementwise_stage_applies_the_function_to_every_element(ratio):
    a = np.array([1.0, -6.0, 3.0, 2.0])
    b = np.array([2.0, 3.0, 0.0, 1.0])
    expected = np.array([clipped_ratio(p, q) for p, q in zip(a, b, strict=True)])
    np.testing.assert_array_equal(ratio(a, b), expected)
    assert ratio.reference is clipped_ratio


def test_an_elementwise_stage_broadcasts_like_numpy(ratio):
    a = np.arange(6.0).reshape(2, 3)
    out = ratio(a, 4.0)
    assert out.shape == (2, 3)
    assert out[1, 2] == clipped_ratio(5.0, 4.0)
    assert ratio(3.0, 4.0) == 0.75  # scalars give a scalar


def test_an_elementwise_stage_keeps_a_series_index_and_name(ratio):
    s = pd.Series([1.0, 8.0, -2.0], index=["a", "b", "c"], name="price")
    out = ratio(s, 4.0)
    pd.testing.assert_series_equal(out, s.map(lambda v: clipped_ratio(v, 4.0)))


def test_elementwise_stages_derive_cpu_and_parallel_ufuncs(ratio):
    assert {"auto_ufunc", "auto_ufunc_parallel"} <= set(ratio.variants)
    assert ratio.variants["auto_ufunc_parallel"].parallel
    a = np.random.default_rng(1).normal(size=50_000)
    np.testing.assert_array_equal(ratio(a, 0.5), ratio._reference.run(a, 0.5))
    assert ratio.choice(a, 0.5) in ("auto_ufunc", "auto_ufunc_parallel")
    for name in ("auto_ufunc", "auto_ufunc_parallel"):
        np.testing.assert_array_equal(
            ratio.variants[name].run(a, 0.5), ratio._reference.run(a, 0.5)
        )


def floor_at(v, lo):
    return lo if v < lo else v


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint8"])
def test_the_derived_ufuncs_compute_in_the_reference_loops_types(dtype):
    # The reference loop sees Python floats and ints (doubles, int64): the ufuncs widen
    # narrower inputs first, so they give the reference's dtype and precision and are
    # chosen for such data rather than disqualified for a float32 answer.
    stage = vp.stage(floor_at, elementwise=True, name=f"floor_at_{dtype}")
    rng = np.random.default_rng(2)
    a = (rng.random(50_000) * 100).astype(dtype)
    lo = (rng.random(50_000) * 100).astype(dtype)
    expected = stage._reference.run(a, lo)
    for name in ("auto_ufunc", "auto_ufunc_parallel"):
        got = stage.variants[name].run(a, lo)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(stage(a, lo), expected)
    statuses = stage.explain().to_frame().set_index("variant")["status"]
    assert statuses["auto_ufunc"] in ("chosen", "measured", "dropped")


def test_elementwise_stages_are_verified_on_arrays(ratio):
    report = vp.verify(ratio, max_examples=30, seed=0)
    assert report.ok, str(report)
    assert {r.variant for r in report.results} == {"auto_ufunc", "auto_ufunc_parallel"}


def test_a_thread_budget_of_one_skips_parallel_variants(ratio):
    a = np.ones(1000)
    with vp.config(threads=1):
        ratio(a, 2.0)
    row = ratio.explain().to_frame().set_index("variant").loc["auto_ufunc_parallel"]
    assert row["status"] == "skipped" and "thread budget is 1" in row["reason"]


@pytest.mark.parametrize("name", ["auto_ufunc", "auto_ufunc_parallel"])
def test_the_derived_ufuncs_release_the_gil(ratio, name):
    # NumPy runs their compiled loop without the GIL, so explain() says "released".
    assert ratio.variants[name].releases_gil is True
