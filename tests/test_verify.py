"""vp.verify: Hypothesis checks every variant against the reference."""

from __future__ import annotations

import dataclasses
import json
import math

import numba
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import vecpipe as vp
from vecpipe.testing import parametrize_with_checks

FAST = {"max_examples": 40, "seed": 0}


def make_scale_shift() -> vp.Stage:
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=200))
    def scale_shift(x):
        out = np.empty(len(x))
        for i in range(len(x)):
            out[i] = x[i] * 2.0 + 1.0
        return out

    @scale_shift.variant("numpy")
    def _(x):
        return x * 2.0 + 1.0

    scale_shift.variant("numba", _scale_shift_kernel)
    return scale_shift


@numba.njit(nogil=True, cache=True)
def _scale_shift_kernel(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


@pytest.fixture
def scale_shift() -> vp.Stage:
    return make_scale_shift()


def test_correct_variants_pass(scale_shift):
    report = vp.verify(scale_shift, **FAST)
    assert report.ok
    assert {r.variant for r in report.results} == {"numpy", "numba"}
    assert all(r.examples >= FAST["max_examples"] and r.edge_cases > 5 for r in report.results)
    report.raise_for_failures()  # nothing to raise


def test_the_report_reads_as_a_table(scale_shift):
    text = str(vp.verify(scale_shift, **FAST))
    assert "scale_shift" in text and "numba" in text and "passed" in text
    assert "2 of 2 variants passed" in text


def test_a_wrong_variant_fails_with_a_minimal_counterexample():
    @vp.stage(
        auto=False,
        inputs=vp.spec.array("float64", max_size=100, allow_nan=False, allow_infinity=False),
    )
    def clip(x):
        return np.minimum(x, 10.0)

    @clip.variant("numpy")
    def _(x):
        out = np.minimum(x, 10.0)
        out[x < -1000.0] = 0.0  # wrong for large negative values only
        return out

    report = vp.verify(clip, max_examples=200, seed=3)
    assert not report.ok
    (failure,) = report.failures
    example = failure.counterexample
    assert example is not None
    assert "values differ" in example.reason and "first at index" in example.reason
    text = str(report)
    assert "reference:" in text and "variant:" in text and "argument 0:" in text
    with pytest.raises(vp.VariantMismatch, match=r"clip.*numpy"):
        report.raise_for_failures()


def test_shrinking_finds_a_small_input():
    @vp.stage(auto=False, inputs=vp.spec.array("int64", max_size=500, min_value=0, max_value=100))
    def count_big(x):
        return int(sum(1 for v in x if v > 50))

    @count_big.variant("numpy")
    def _(x):
        return int(np.sum(x > 50)) if len(x) < 7 else int(np.sum(x >= 50))

    report = vp.verify(count_big, max_examples=300, seed=1, database=False)
    (failure,) = report.failures
    (arg,) = failure.counterexample.args
    assert 7 <= len(arg) <= 8  # shrunk to (nearly) the shortest failing length


def test_edge_cases_are_always_tried():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=50))
    def first_or_nan(x):
        return x[0] if len(x) else math.nan

    @first_or_nan.variant("numpy")
    def _(x):
        return x[0]  # raises on the empty array

    report = vp.verify(first_or_nan, max_examples=1, seed=0)
    (failure,) = report.failures
    assert failure.counterexample.found_by.startswith("edge case")
    assert "raised IndexError" in failure.counterexample.reason


def test_a_variant_must_raise_what_the_reference_raises():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=20))
    def head(x):
        return float(x[0])

    @head.variant("numpy")
    def _(x):
        if len(x) == 0:
            raise ValueError("empty")  # the reference raises IndexError
        return float(x[0])

    @head.variant("python")
    def _(x):
        return float(x[0])

    report = vp.verify(head, **FAST)
    by_variant = {r.variant: r for r in report.results}
    assert by_variant["python"].passed
    assert not by_variant["numpy"].passed
    assert "raised ValueError" in by_variant["numpy"].counterexample.reason


def test_equivalent_errors_can_be_declared():
    @vp.stage(
        auto=False,
        inputs=vp.spec.array("float64", max_size=20),
        equivalent_errors=[(IndexError, ValueError)],
    )
    def head(x):
        return float(x[0])

    @head.variant("numpy")
    def _(x):
        if len(x) == 0:
            raise ValueError("empty")
        return float(x[0])

    assert vp.verify(head, **FAST).ok


def test_a_variant_that_modifies_its_input_fails():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=50))
    def sorted_copy(x):
        return np.sort(x)

    @sorted_copy.variant("numpy")
    def _(x):
        if x.flags.writeable:
            x.sort()
            return x.copy()
        return np.sort(x)

    (failure,) = vp.verify(sorted_copy, **FAST).failures
    assert "modified its input" in failure.counterexample.reason


def test_an_equality_policy_decides_what_matches():
    @vp.stage(
        auto=False,
        # Small magnitudes: rounding to 4 or 6 decimals then differs beyond the default
        # relative tolerance already on the spec's edge cases, whatever the search does.
        inputs=vp.spec.array("float64", max_size=50, min_value=-10.0, max_value=10.0),
        equal=vp.close(rtol=1e-3, atol=1e-3),
    )
    def rounded(x):
        return np.round(x, 6)

    @rounded.variant("numpy")
    def _(x):
        return np.round(x, 4)  # within the stage's loose tolerance

    assert vp.verify(rounded, max_examples=30, seed=0).ok
    strict = vp.stage(rounded.reference, auto=False, inputs=rounded.inputs)
    strict.variant("numpy", rounded.variants["numpy"].func)
    assert not vp.verify(strict, max_examples=30, seed=0).ok  # the default policy is tight


def test_a_callable_policy_is_used_and_its_message_reported():
    def same_sum(expected, actual):
        if not np.isclose(np.nansum(expected), np.nansum(actual)):
            raise AssertionError(f"sums differ: {np.nansum(expected)} != {np.nansum(actual)}")

    @vp.stage(
        auto=False,
        inputs=vp.spec.array("float64", max_size=30, min_value=-1e6, max_value=1e6),
        equal=same_sum,
    )
    def shuffle(x):
        return x[::-1].copy()

    @shuffle.variant("numpy")
    def _(x):
        return np.sort(x)  # a different order, the same sum: fine for this policy

    @shuffle.variant("python")
    def _(x):
        return x + 1.0

    results = {r.variant: r for r in vp.verify(shuffle, **FAST).results}
    assert results["numpy"].passed
    assert "sums differ" in results["python"].counterexample.reason


def test_inputs_are_inferred_from_annotations():
    @vp.stage(auto=False)
    def norm(x: np.ndarray) -> float:
        return float(math.sqrt(sum(v * v for v in x)))

    @norm.variant("numpy")
    def _(x):
        return float(np.sqrt(np.sum(x * x)))

    report = vp.verify(norm, **FAST)
    assert report.results and report.results[0].examples > 0


def test_a_stage_without_inputs_or_annotations_gets_a_clear_error():
    @vp.stage(auto=False)
    def mystery(x):
        return x

    @mystery.variant("numpy")
    def _(x):
        return x

    with pytest.raises(vp.InvalidArgument, match=r"mystery.*inputs="):
        vp.verify(mystery)


def test_a_pipeline_stage_is_fed_its_upstream_outputs(scale_shift):
    @vp.stage(auto=False)
    def squared(x):
        return np.array([v * v for v in x])

    @squared.variant("numpy")
    def _(x):
        return x * x

    report = vp.verify(scale_shift >> squared, **FAST)
    assert {(r.stage, r.variant) for r in report.results} == {
        ("scale_shift", "numpy"),
        ("scale_shift", "numba"),
        ("squared", "numpy"),
    }
    assert report.ok


def test_a_seed_makes_the_search_reproducible():
    def run() -> tuple[int, ...]:
        @vp.stage(
            auto=False, inputs=vp.spec.array("int64", max_size=100, min_value=-50, max_value=50)
        )
        def absolute(x):
            return np.abs(x)

        @absolute.variant("numpy")
        def _(x):
            return np.where(x < -37, x, np.abs(x))  # wrong below -37

        (failure,) = vp.verify(absolute, max_examples=100, seed=42, database=False).failures
        return tuple(failure.counterexample.args[0].tolist())

    assert run() == run()


def test_a_failure_is_replayed_first_from_the_database(cache_dir):
    def make():
        @vp.stage(
            auto=False, inputs=vp.spec.array("int64", max_size=100, min_value=0, max_value=1000)
        )
        def rare(x):
            return x.copy()

        @rare.variant("numpy")
        def _(x):
            return np.where((x > 400) & (x < 600), 0, x)  # wrong in a band no edge case hits

        return rare

    first = vp.verify(make(), max_examples=200, seed=5)
    assert not first.ok
    assert (cache_dir / "hypothesis").is_dir()
    # With one example, only a replay from the database finds the failure again.
    assert vp.verify(make(), max_examples=1, seed=99, database=False).ok
    assert not vp.verify(make(), max_examples=1, seed=99).ok


def test_verification_is_recorded_in_wisdom(scale_shift, cache_dir):
    vp.verify(scale_shift, **FAST)
    stored = json.loads((cache_dir / "wisdom.json").read_text())["stages"][scale_shift.id]
    records = stored["@verified"]
    assert {records[n]["status"] for n in ("numpy", "numba")} == {"verified"}
    assert records["numpy"]["source_hash"] == scale_shift.variants["numpy"].source_hash


def test_explain_shows_whether_each_variant_is_verified(scale_shift):
    vp.verify(scale_shift, variants=["numpy"], **FAST)
    scale_shift(np.ones(100))
    frame = scale_shift.explain().to_frame().set_index("variant")
    assert frame.loc["numpy", "verified"]
    assert not frame.loc["numba", "verified"]
    assert "verified" in str(scale_shift.explain())


def test_require_verified_runs_only_verified_variants(scale_shift):
    vp.verify(scale_shift, variants=["numpy"], **FAST)
    with vp.config(require_verified=True):
        out = scale_shift(np.ones(100))
    np.testing.assert_array_equal(out, np.full(100, 3.0))
    frame = scale_shift.explain().to_frame().set_index("variant")
    assert frame.loc["numba", "status"] == "unverified"
    assert "vp.verify" in frame.loc["numba", "reason"]
    assert frame.loc["numpy", "status"] in ("chosen", "measured")


def test_changing_a_variant_voids_its_verification(scale_shift):
    vp.verify(scale_shift, **FAST)
    changed = make_scale_shift()

    @changed.variant("numpy", name="numpy2")
    def _(x):
        return 2.0 * x + 1.0

    assert changed._dispatcher.unverified() == {"numpy2"}


def test_deadline_is_not_tripped_by_compilation():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=50))
    def cube(x):
        return x * x * x

    @cube.variant("numba", fastmath=False)
    def _(x):  # a new kernel: compiled during verification
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = x[i] * x[i] * x[i]
        return out

    assert vp.verify(cube, max_examples=20, deadline=0.2, seed=0).ok


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"max_examples": 0}, "max_examples", id="zero-examples"),
        pytest.param({"deadline": -1}, "deadline", id="negative-deadline"),
        pytest.param({"variants": ["nope"]}, "nope", id="unknown-variant"),
    ],
)
def test_bad_verify_options_are_rejected(scale_shift, options, message):
    with pytest.raises(vp.InvalidArgument, match=message):
        vp.verify(scale_shift, **options)


# -- parametrize_with_checks: a user's test suite in three lines ----------------------------

SHARED = make_scale_shift()


@parametrize_with_checks([SHARED], max_examples=20, seed=0)
def test_parametrize_with_checks_gives_one_test_per_variant(check):
    check()


def test_parametrize_with_checks_ids_name_stage_and_variant():
    mark = parametrize_with_checks([SHARED])
    assert [repr(c) for c in mark.args[1]] == ["scale_shift[numpy]", "scale_shift[numba]"]


def test_a_failing_check_raises_the_mismatch():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=20))
    def ident(x):
        return x.copy()

    @ident.variant("numpy")
    def _(x):
        return x + 1.0

    (check,) = parametrize_with_checks([ident]).args[1]
    with pytest.raises(vp.VariantMismatch, match=r"ident.*numpy"):
        check()


def test_parametrize_with_checks_ids_are_unique_for_stages_of_one_name():
    mark = parametrize_with_checks([make_scale_shift(), make_scale_shift()])
    ids = [repr(c) for c in mark.args[1]]
    assert len(set(ids)) == len(ids) == 4
    assert all("scale_shift" in i for i in ids)


def test_parametrize_with_checks_checks_a_stage_once_when_a_pipeline_holds_it_too():
    stage = make_scale_shift()
    mark = parametrize_with_checks([stage, stage >> np.cumsum])
    assert [repr(c) for c in mark.args[1]] == ["scale_shift[numpy]", "scale_shift[numba]"]


def test_parametrize_with_checks_skips_a_derived_variant_numba_cannot_compile():
    (check,) = parametrize_with_checks([make_sample_variance()], max_examples=10, seed=0).args[1]
    assert repr(check) == "sample_variance[auto_numba]"
    with pytest.raises(pytest.skip.Exception, match=r"not applicable.*yield in a closure"):
        check()


# -- derived variants that Numba cannot compile: not applicable, not failed ------------------


def make_sample_variance() -> vp.Stage:
    # Hypothesis' own strategy, so there are no edge cases: every input is generated.
    @vp.stage(inputs=st.tuples(hnp.arrays(np.float64, st.integers(0, 20), elements=FINITE)))
    def sample_variance(x):
        n = len(x)
        if n < 2:
            return float("nan")
        m = sum(x) / n
        return sum((v - m) ** 2 for v in x) / (n - 1)  # a generator: Numba cannot compile it

    return sample_variance


FINITE = st.floats(-1e3, 1e3)


def test_a_derived_variant_numba_cannot_compile_is_not_applicable():
    stage = make_sample_variance()

    @stage.variant("numpy")
    def _(x):
        return float(np.var(x, ddof=1)) if len(x) >= 2 else float("nan")

    report = vp.verify(stage, **FAST)
    derived, numpy = report.results
    assert report.ok and derived.passed and numpy.result == "passed"
    assert derived.result == "not applicable" and not derived.applicable
    assert "yield in a closure" in derived.note
    assert "sum(x)" not in derived.note  # Numba's excerpt of the source is left out
    report.raise_for_failures()  # nothing to raise
    assert "1 of 1 variants passed; 1 not applicable" in str(report)


def test_a_derived_variant_is_tried_once_per_kind_of_input_it_cannot_compile_for():
    report = vp.verify(make_sample_variance(), **FAST)
    (result,) = report.results
    assert list(result.not_applicable) == ["array(float64, 1d, C)"]
    assert result.examples == 0 and result.edge_cases == 0


def test_a_derived_variant_for_a_reference_taking_a_series_is_not_applicable():
    @vp.stage(inputs=vp.spec.series("float64", max_size=30))
    def doubled(s):
        return s * 2.0

    (result,) = vp.verify(doubled, **FAST).results
    assert result.result == "not applicable"
    assert list(result.not_applicable) == ["Series[float64]"]
    assert "Cannot determine Numba type" in result.note


def test_a_derived_variant_is_checked_on_the_inputs_it_compiles_for():
    @vp.stage(inputs=vp.spec.array("float64", max_size=30))
    def row_sums(x):
        return x.reshape((x.shape[0], 1)).sum(axis=1)  # contiguous arrays only, in Numba

    report = vp.verify(row_sums, **FAST)
    (result,) = report.results
    assert result.result == "passed" and result.examples > 0 and result.edge_cases > 0
    assert list(result.not_applicable) == ["array(float64, 1d, A)"]
    assert (
        "reshape() supports contiguous array only" in result.not_applicable["array(float64, 1d, A)"]
    )
    assert "row_sums[auto_numba] is not applicable to array(float64, 1d, A)" in str(report)


def test_a_derived_variant_that_compiles_and_differs_still_fails():
    @vp.stage(inputs=vp.spec.array("int64", min_size=1, max_size=10))
    def total(x):
        s = 0
        for v in x:
            s += int(v)  # a Python int never overflows; Numba's int64 wraps around
        return s

    report = vp.verify(total, **FAST)
    (result,) = report.results
    assert not report.ok and result.result == "FAILED"
    assert result.counterexample is not None and not result.not_applicable
    with pytest.raises(vp.VariantMismatch, match="auto_numba"):
        report.raise_for_failures()


def test_a_numba_error_raised_by_a_derived_variant_call_is_not_a_mismatch():
    # A derived variant whose compile step passes but whose call still fails to compile.
    stage = make_sample_variance()
    lazy = numba.njit(stage.reference)
    stage._variants["auto_numba"] = dataclasses.replace(
        stage._variants["auto_numba"], run=lazy, compiler=lambda args, kwargs: None
    )
    (result,) = vp.verify(stage, **FAST).results
    assert result.result == "not applicable" and "yield in a closure" in result.note


def test_a_user_variant_numba_cannot_compile_still_fails():
    @vp.stage(auto=False, inputs=vp.spec.array("float64", max_size=20))
    def total(x):
        return float(np.sum(x))

    @total.variant("numba")
    def _(x):
        return sum(v for v in x)

    (result,) = vp.verify(total, **FAST).results
    assert result.result == "FAILED" and not result.not_applicable


# -- a reference that returns None: a stub --------------------------------------------------


def test_a_reference_returning_none_for_every_input_is_warned_about():
    @vp.stage(inputs=vp.spec.array("float64", max_size=20))
    def stub(x): ...

    report = vp.verify(stub, **FAST)
    assert report.ok
    (warning,) = report.warnings
    assert "'stub'" in warning and "returned None for every input" in warning
    assert "warning: stage 'stub': the reference returned None" in str(report)


def test_a_reference_returning_none_for_some_inputs_is_not_warned_about():
    @vp.stage(inputs=vp.spec.array("float64", max_size=20))
    def first_or_none(x):
        return x[0] if len(x) else None

    assert vp.verify(first_or_none, **FAST).warnings == []
