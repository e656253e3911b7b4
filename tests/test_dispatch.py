"""The dispatcher: tuning, choosing, remembering, recovering."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.dispatch import PARALLEL_MARGIN
from vecpipe.wisdom import get_wisdom

# -- stages shared by the tests (compiled once per module) ---------------------------------

calls: dict[str, int] = {}


def _count(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    calls.clear()


def make_affine() -> vp.Stage:
    """A fresh stage each time, with the numba kernels compiled (and cached) once."""

    def affine(x):
        _count("reference")
        out = np.empty(len(x))
        for i in range(len(x)):
            out[i] = x[i] * 2.0 + 1.0
        return out

    s = vp.stage(affine, auto=False, chunkable=True)

    @s.variant("numpy")
    def _(x):
        _count("numpy")
        return x * 2.0 + 1.0

    s.variant("numba", _affine_kernel)
    s.variant("numba", _affine_kernel_parallel, name="numba_parallel")
    return s


@numba.njit(nogil=True, cache=True)
def _affine_kernel(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


@numba.njit(nogil=True, parallel=True, cache=True)
def _affine_kernel_parallel(x):
    out = np.empty(x.shape[0])
    for i in numba.prange(x.shape[0]):
        out[i] = x[i] * 2.0 + 1.0
    return out


@pytest.fixture
def affine() -> vp.Stage:
    return make_affine()


def make_tiered() -> vp.Stage:
    """The affine stage with a parallel kernel that Numba's disk cache cannot hold (made
    here, without cache=True), so that it needs compiling in every test: what a fresh
    machine sees."""

    def tiered(x):
        out = np.empty(len(x))
        for i in range(len(x)):
            out[i] = x[i] * 2.0 + 1.0
        return out

    s = vp.stage(tiered, auto=False, chunkable=True)

    @s.variant("numpy")
    def _(x):
        return x * 2.0 + 1.0

    s.variant("numba", _affine_kernel)

    @numba.njit(nogil=True, parallel=True)
    def kernel(x):
        out = np.empty(x.shape[0])
        for i in numba.prange(x.shape[0]):
            out[i] = x[i] * 2.0 + 1.0
        return out

    s.variant("numba", kernel, name="numba_parallel")
    return s


@pytest.fixture
def tiered() -> vp.Stage:
    return make_tiered()


@pytest.fixture
def x() -> np.ndarray:
    return np.random.default_rng(0).random(1000)


# -- first call: measure, choose, remember ---------------------------------------------------


def test_first_call_returns_the_reference_answer(affine, x):
    np.testing.assert_allclose(affine(x), affine.reference(x))


def test_first_call_with_full_tuning_measures_every_variant(affine, x):
    with vp.config(tuning="full"):
        affine(x)
    frame = affine.explain().to_frame()
    assert set(frame["variant"]) == {"reference", "numpy", "numba", "numba_parallel"}
    assert (frame["status"].isin(["chosen", "measured"])).all()
    assert frame["seconds"].notna().all()
    assert frame["chosen"].sum() == 1


def test_a_tiered_first_call_times_the_ready_variants_and_defers_the_parallel_one(tiered, x):
    tiered(x)  # 1000 elements: the size rule prefers a serial kernel
    frame = tiered.explain().to_frame().set_index("variant")
    assert frame.loc["numba_parallel", "status"] == "deferred"
    assert "not compiled yet" in frame.loc["numba_parallel", "reason"]
    timed = ["reference", "numpy", "numba"]
    assert frame.loc[timed, "status"].isin(["chosen", "measured"]).all()
    assert frame.loc[timed, "seconds"].notna().all()
    assert "not tried yet: numba_parallel" in str(tiered.explain())


def test_a_tiered_key_is_tuned_fully_once_its_calls_could_pay_for_compiling(tiered, x):
    tiered(x)
    dispatcher = tiered._dispatcher
    ((key, decision),) = dispatcher.decisions.items()
    # The limit is the expected compile time over the chosen variant's time a call.
    chosen = decision.trials[decision.chosen].seconds
    assert decision.promote_after is not None
    assert decision.promote_after * chosen >= 0.5 > (decision.promote_after - 1) * chosen
    # As if each call took a third of the compile time: the third call tunes fully.
    decision.promote_after = 3
    dispatcher.routes[key] = dispatcher._route_for(key, decision.chosen)
    tiered(x)
    tiered(x)
    assert "deferred" in set(tiered.explain().to_frame()["status"])
    np.testing.assert_allclose(tiered(x), tiered.reference(x))
    frame = tiered.explain().to_frame().set_index("variant")
    assert "deferred" not in set(frame["status"])
    assert frame.loc["numba_parallel", "status"] in ("chosen", "measured", "dropped")
    assert dispatcher.decisions[key].promote_after is None


def test_a_tiered_decision_from_wisdom_stays_tiered(tiered, x, cache_dir):
    tiered(x)
    stored = json.loads((cache_dir / "wisdom.json").read_text())["stages"][tiered.id]
    ((_, records),) = stored.items()
    assert records["numba_parallel"]["status"] == "deferred"
    again = make_tiered()
    again(x)
    frame = again.explain().to_frame().set_index("variant")
    assert set(frame["source"]) == {"wisdom"}
    assert frame.loc["numba_parallel", "status"] == "deferred"
    ((_, decision),) = again._dispatcher.decisions.items()
    assert decision.promote_after is not None


def test_full_tuning_completes_a_tiered_decision_on_the_next_call(tiered, x):
    tiered(x)
    with vp.config(tuning="full"):
        tiered(x)
    frame = tiered.explain().to_frame()
    assert "deferred" not in set(frame["status"])


def test_a_large_input_is_tuned_fully_on_its_first_call(tiered):
    from vecpipe.dispatch import FULL_TUNING_SIZE

    big = np.random.default_rng(1).random(FULL_TUNING_SIZE)
    tiered(big)
    assert "deferred" not in set(tiered.explain().to_frame()["status"])


def test_compile_time_is_recorded_apart_from_run_time(x):
    @vp.stage(auto=False)
    def total(x):
        s = 0.0
        for v in x:
            s += v
        return s

    @total.variant("numba", fastmath=False)
    def _(x):  # defined here, so this test really compiles it
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i]
        return s

    total(x)
    row = total.explain().to_frame().set_index("variant").loc["numba"]
    assert row["compile_seconds"] > 0
    assert row["seconds"] < row["compile_seconds"]


def test_a_seen_key_is_not_measured_again(affine, x):
    affine(x)
    measured = calls.get("reference", 0)
    for _ in range(5):
        affine(x + 1.0)  # same kind of input
    chosen = affine.choice(x)
    assert calls.get("reference", 0) == measured + (5 if chosen == "reference" else 0)
    assert len(affine.explain().to_frame()["key"].unique()) == 1


def test_a_new_size_bucket_is_a_new_key(affine):
    affine(np.ones(10))
    affine(np.ones(10_000))
    assert len(affine.explain().to_frame()["key"].unique()) == 2


def test_the_chosen_variant_runs_on_later_calls(affine, x):
    affine(x)
    affine.pin("numpy")
    affine.unpin()
    chosen = affine.choice(x)
    before = dict(calls)
    affine(x)
    if chosen in ("numpy", "reference"):
        assert calls[chosen] == before.get(chosen, 0) + 1
    else:
        assert calls == before  # a numba kernel ran: no Python variant was called


def test_a_slow_variant_is_not_chosen(x):
    @vp.stage(auto=False)
    def inc(x):
        return x + 1.0

    @inc.variant("python")
    def _(x):
        return np.array([v + 1.0 for v in x])

    inc(x)
    assert inc.choice(x) == "reference"
    row = inc.explain().to_frame().set_index("variant").loc["python"]
    assert row["status"] == "measured" and not row["chosen"]


# -- large chunkable inputs are timed on slices -----------------------------------------------


def test_large_chunkable_input_times_the_reference_on_a_slice_only():
    seen: list[int] = []

    @vp.stage(auto=False, chunkable=True)
    def slow(x):
        seen.append(len(x))
        return np.array([v * 2.0 for v in x])

    @slow.variant("numpy")
    def _(x):
        return x * 2.0

    big = np.random.default_rng(1).random(2_000_000)
    out = slow(big)
    np.testing.assert_array_equal(out, big * 2.0)
    assert seen and max(seen) < len(big)  # the reference never ran on the whole input
    row = slow.explain().to_frame().set_index("variant").loc["reference"]
    assert row["status"] == "dropped"
    assert "slower than the best" in row["reason"]


def test_non_chunkable_input_is_timed_whole(affine):
    seen: list[int] = []

    @vp.stage(auto=False)
    def whole(x):
        seen.append(len(x))
        return x.sum()

    @whole.variant("numpy")
    def _(x):
        return np.sum(x)

    whole(np.ones(100_000))
    assert set(seen) == {100_000}


# -- disqualification ------------------------------------------------------------------------


def test_a_variant_that_differs_is_disqualified_with_a_warning(x):
    @vp.stage(auto=False)
    def halve(x):
        return x / 2.0

    @halve.variant("numpy")
    def _(x):
        return x / 2.0 + 1e-3  # wrong

    with pytest.warns(vp.VariantDisqualifiedWarning, match=r"halve.*numpy.*differ"):
        out = halve(x)
    np.testing.assert_array_equal(out, x / 2.0)
    row = halve.explain().to_frame().set_index("variant").loc["numpy"]
    assert row["status"] == "mismatch"
    assert "first at index 0" in row["reason"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        halve(x)  # one warning, not one per call


def test_nan_positions_must_match(x):
    @vp.stage(auto=False)
    def safe_log(x):
        return np.log(np.where(x > 0.5, x, np.nan))

    @safe_log.variant("numpy")
    def _(x):
        return np.log(x)  # no NaN where the reference has them

    with pytest.warns(vp.VariantDisqualifiedWarning):
        safe_log(x)
    assert safe_log.choice(x) == "reference"


@pytest.mark.parametrize("kind", ["numpy", "numba"])
def test_a_variant_that_writes_into_its_input_is_caught(kind):
    @vp.stage(auto=False)
    def doubled(x):
        return x * 2.0

    if kind == "numpy":

        @doubled.variant("numpy")
        def _(x):
            x *= 2.0
            return x
    else:

        @doubled.variant("numba")
        def _(x):
            for i in range(x.shape[0]):
                x[i] *= 2.0
            return x

    data = np.arange(5.0)
    with pytest.warns(vp.VariantFailedWarning, match="writes into its input"):
        out = doubled(data)
    np.testing.assert_array_equal(data, np.arange(5.0))  # untouched
    np.testing.assert_array_equal(out, np.arange(5.0) * 2.0)
    assert doubled.choice(data) == "reference"


def _series() -> pd.Series:
    return pd.Series([1.0, np.nan, 3.0, np.nan], index=[10, 11, 12, 13], name="s")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [4.0, 5.0, np.nan]})


def _fillna_series(s):
    s.fillna(0.0, inplace=True)
    return float(np.nansum(s))


def _setitem_series(s):
    s[11] = 2.0
    return float(np.nansum(s))


def _rename_series(s):
    s.name = "other"
    return float(np.nansum(s))


def _new_column(df):
    df["c"] = 1.0
    return float(df["a"].sum())


def _fillna_frame(df):
    df.fillna(0.0, inplace=True)
    return float(df["a"].sum())


def _append(v):
    v.append(4.0)
    return float(np.nansum(v[:3]))


def _setitem_list(v):
    v[0] = 9.0
    return 6.0


def _into_listed_array(v):
    v[0][0] = 9.0
    return float(sum(a.sum() for a in v)) - 9.0


def _pop(d):
    d.pop("b")
    return d["a"] + 2.0


def _into_dict_array(d):
    d["a"][2] = 9.0
    return float(d["a"].sum()) - 7.0


# One case per kind of input: how to make the value, a variant that writes into it (and
# returns the right answer, so only the write can give it away).
WRITERS = {
    "series-fillna-inplace": (_series, _fillna_series),
    "series-setitem": (_series, _setitem_series),
    "series-rename": (_series, _rename_series),
    "frame-new-column": (_frame, _new_column),
    "frame-fillna": (_frame, _fillna_frame),
    "list-append": (lambda: [1.0, 2.0, 3.0], _append),
    "list-setitem": (lambda: [1.0, 2.0, 3.0], _setitem_list),
    "list-of-arrays": (lambda: [np.arange(3.0), np.arange(2.0)], _into_listed_array),
    "dict-pop": (lambda: {"a": 1.0, "b": 2.0}, _pop),
    "dict-of-array": (lambda: {"a": np.arange(3.0)}, _into_dict_array),
}


@pytest.mark.parametrize("case", list(WRITERS))
def test_a_variant_that_writes_into_any_kind_of_input_is_caught(case):
    make, writer = WRITERS[case]

    def total(v):
        if isinstance(v, dict):
            return sum(float(np.sum(a)) for a in v.values())
        if isinstance(v, pd.DataFrame):
            return float(v["a"].sum())
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            return float(sum(a.sum() for a in v))
        return float(np.nansum(v))

    stage = vp.stage(total, auto=False, name=f"total_{case}")
    stage.variant("python", writer)
    value = make()
    before = make()
    with pytest.warns(vp.VariantFailedWarning, match="writes into its input"):
        out = stage(value)
    assert out == total(before)
    # The caller's object: same type, same contents, as if nothing ran.
    if isinstance(before, pd.Series):
        pd.testing.assert_series_equal(value, before)
    elif isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(value, before)
    elif isinstance(before, dict):
        assert list(value) == list(before)
        for k in before:
            np.testing.assert_array_equal(value[k], before[k])
    else:
        assert len(value) == len(before)
        for got, want in zip(value, before, strict=True):
            np.testing.assert_array_equal(got, want)
    row = stage.explain().to_frame().set_index("variant").loc["python"]
    assert row["status"] == "failed" and "writes into its input" in row["reason"]
    assert stage.choice(value) == "reference"


def test_a_read_only_input_stays_read_only_for_the_variants():
    seen: list[bool] = []

    @vp.stage(auto=False)
    def flags(x):
        return float(x.sum())

    @flags.variant("numpy")
    def _(x):
        seen.append(x.flags.writeable)
        return float(x.sum())

    x = np.arange(5.0)
    x.flags.writeable = False
    flags(x)
    assert seen and not any(seen)


def test_tuning_compiles_one_signature_for_the_callers_types():
    @vp.stage(auto=False)
    def scaled(x):
        return x * 3.0

    @scaled.variant("numba")
    def _(x):
        return x * 3.0

    for x in (np.arange(10.0), np.arange(20.0)[::2], np.asfortranarray(np.ones((3, 3)))):
        scaled(x)
    run = scaled.variants["numba"].run
    # C, strided and F layouts: one signature each, none for a read-only view.
    assert len(run.signatures) == 3
    assert all(sig[0].mutable for sig in run.signatures)


def test_tuning_never_modifies_the_input(affine, x):
    before = x.copy()
    affine(x)
    np.testing.assert_array_equal(x, before)
    assert x.flags.writeable


def test_a_variant_that_fails_to_compile_is_skipped_with_its_reason(x):
    @vp.stage(auto=False)
    def plus_one(x):
        return x + 1.0

    @plus_one.variant("numba")
    def _(x):
        return {"a": x}["a"] + object()  # not compilable

    with pytest.warns(vp.VariantFailedWarning, match="failed to compile"):
        out = plus_one(x)
    np.testing.assert_array_equal(out, x + 1.0)
    row = plus_one.explain().to_frame().set_index("variant").loc["numba"]
    assert row["status"] == "compile-failed"
    assert "Error" in row["reason"] and len(row["reason"]) < 400


# -- failures at run time ------------------------------------------------------------------------


def make_fragile(fail_when: str) -> vp.Stage:
    @vp.stage(auto=False)
    def shift(x):
        return np.array([v + 1.0 for v in x])  # slow: the numpy variant will be chosen

    @shift.variant("numpy")
    def _(x):
        if x[0] < 0:
            if fail_when == "raise":
                raise RuntimeError("negative input unsupported")
            return (x + 1.0).astype(np.float32)  # wrong dtype
        return x + 1.0

    return shift


@pytest.mark.parametrize("fail_when", ["raise", "wrong-dtype"])
def test_a_variant_failing_at_run_time_falls_back_and_warns(fail_when):
    shift = make_fragile(fail_when)
    good = np.arange(1.0, 2001.0)
    shift(good)
    assert shift.choice(good) == "numpy"
    bad = -good  # the same kind of input: the numpy route is taken, and fails
    with pytest.warns(vp.VariantFailedWarning, match=r"shift.*numpy"):
        out = shift(bad)
    np.testing.assert_array_equal(out, bad + 1.0)
    assert out.dtype == np.float64
    assert shift.choice(bad) == "reference"
    row = shift.explain().to_frame().set_index("variant").loc["numpy"]
    assert row["status"] == "failed"


def test_a_variant_raising_on_a_repeated_timing_run_is_disqualified_not_raised():
    calls = {"n": 0}

    @vp.stage(auto=False)
    def double(x):
        return x * 2.0

    @double.variant("numpy")
    def _(x):
        calls["n"] += 1
        if calls["n"] >= 2:  # its first run (compared with the reference) passes
            raise RuntimeError("fails once it has run")
        return x * 2.0

    x = np.arange(10.0)
    with pytest.warns(vp.VariantFailedWarning, match=r"double.*numpy.*fails once it has run"):
        out = double(x)
    np.testing.assert_array_equal(out, x * 2.0)
    assert double.choice(x) == "reference"
    row = double.explain().to_frame().set_index("variant").loc["numpy"]
    assert row["status"] == "failed"


def test_when_the_reference_raises_the_caller_gets_its_exception(affine):
    @vp.stage(auto=False)
    def first(x):
        return x[0] * 1.0

    @first.variant("numpy")
    def _(x):
        return float(np.asarray(x)[0])

    with pytest.raises(IndexError):
        first(np.array([]))
    # nothing was blamed: the next call with good input tunes normally
    assert first(np.array([3.0])) == 3.0


def test_a_stage_whose_every_variant_fails_still_answers(x):
    @vp.stage(auto=False)
    def square(x):
        return x * x

    @square.variant("numpy")
    def _(x):
        raise ValueError("broken")

    @square.variant("python")
    def _(x):
        raise KeyError("also broken")

    with pytest.warns(vp.VariantFailedWarning):
        out = square(x)
    np.testing.assert_array_equal(out, x * x)
    statuses = square.explain().to_frame().set_index("variant")["status"]
    assert statuses["numpy"] == statuses["python"] == "failed"
    assert statuses["reference"] == "chosen"


def test_a_failing_pinned_variant_falls_back_to_the_reference(x):
    @vp.stage(auto=False)
    def neg(x):
        return -x

    @neg.variant("numpy")
    def _(x):
        raise RuntimeError("boom")

    neg.pin("numpy")
    with pytest.warns(vp.VariantFailedWarning, match="pinned"):
        out = neg(x)
    np.testing.assert_array_equal(out, -x)


# -- modes -----------------------------------------------------------------------------------------


def test_reference_mode_runs_the_original(affine, x):
    with vp.config(mode="reference"):
        affine(x)
        assert affine.choice(x) == "reference"
    assert calls == {"reference": 1}
    assert len(affine.explain()) == 0  # nothing was tuned


def test_estimate_mode_chooses_without_timing(affine):
    with vp.config(mode="estimate"):
        out = affine(np.ones(100))
    np.testing.assert_array_equal(out, np.full(100, 3.0))
    assert "reference" not in calls  # no timing, no comparison
    frame = affine.explain().to_frame()
    assert set(frame["source"]) == {"estimated"}
    assert affine.explain().to_frame().query("chosen")["variant"].item() == "numba"


def test_estimate_mode_uses_stored_measurements(affine, x):
    affine(x)  # measured, stored in wisdom
    calls.clear()
    fresh = make_affine()
    with vp.config(mode="estimate"):
        fresh(x)
    frame = fresh.explain().to_frame()
    assert set(frame["source"]) == {"wisdom"}
    chosen = frame.query("chosen")["variant"].item()
    assert sum(calls.values()) == (1 if chosen in ("reference", "numpy") else 0)  # no timing


def test_pin_forces_a_variant(affine, x):
    affine.pin("numpy")
    affine(x)
    assert calls == {"numpy": 1}
    affine.unpin()
    affine(x)
    assert affine.choice(x) is not None


def test_the_thread_budget_is_part_of_the_key(affine, x):
    assert numba.config.NUMBA_NUM_THREADS >= 2, "CI machines have two cores or more"
    with vp.config(threads=1):
        affine(x)
    with vp.config(threads=2):
        affine(x)
    keys = set(affine.explain().to_frame()["key"])
    assert {k.split("threads=")[1] for k in keys} == {"1", "2"}


# -- concurrency --------------------------------------------------------------------------------


def test_sixteen_threads_tune_a_new_key_once(x, monkeypatch):
    stage = make_affine()
    measured: list[str] = []
    original = stage._dispatcher._measure

    def counting(*args, **kwargs):
        measured.append(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(stage._dispatcher, "_measure", counting)
    barrier = threading.Barrier(16)
    results: list[np.ndarray] = [None] * 16  # type: ignore[list-item]

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = stage(x)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(measured) == 1
    for r in results:
        np.testing.assert_allclose(r, x * 2.0 + 1.0)


# -- wisdom ------------------------------------------------------------------------------


def test_measurements_are_stored_for_every_variant(affine, x, cache_dir):
    affine(x)
    stored = json.loads((cache_dir / "wisdom.json").read_text())["stages"][affine.id]
    (records,) = stored.values()
    assert set(records) == {"reference", "numpy", "numba", "numba_parallel"}
    assert all("seconds" in r and "source_hash" in r for r in records.values())


def test_a_fresh_stage_object_reuses_wisdom(affine, x):
    affine(x)
    again = make_affine()
    calls.clear()
    again(x)
    frame = again.explain().to_frame()
    assert set(frame["source"]) == {"wisdom"}
    assert "from wisdom" in str(again.explain())


@pytest.mark.parametrize(
    ("serial", "parallel_gain", "chosen"),
    [
        (5e-6, 1.05, "numba"),  # within both margins: thread start and noise
        (5e-6, 1.5, "numba_parallel"),
        (1e-3, 1.05, "numba_parallel"),  # 48 µs saved a call: a real gain
    ],
)
def test_a_parallel_variant_must_beat_the_serial_one_by_the_margins(
    x, cache_dir, serial, parallel_gain, chosen
):
    # The times come from wisdom, so the rule is tested without timing anything.
    first = make_affine()
    with vp.config(tuning="full"):
        first(x)
    stored = json.loads((cache_dir / "wisdom.json").read_text())["stages"][first.id]
    ((key, records),) = stored.items()
    times = {"reference": 100 * serial, "numpy": 5 * serial, "numba": serial}
    times["numba_parallel"] = serial / parallel_gain
    get_wisdom().record(
        first.id, key, {name: {**records[name], "seconds": t} for name, t in times.items()}
    )
    again = make_affine()
    again(x)
    assert again.choice(x) == chosen
    text = " ".join(str(again.explain()).split())  # explain wraps its lines at 100 columns
    rule = f"under the {PARALLEL_MARGIN}x and 2 µs a call a parallel variant must gain"
    assert (rule in text) == (chosen == "numba")


STAGE_MODULE = """
import numpy as np
import vecpipe as vp

@vp.stage(auto=False)
def affine(x):
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = x[i] * 2.0 + 1.0
    return out

@affine.variant("numpy")
def _(x):
    return x * {factor} + 1.0

@affine.variant("python")
def _(x):
    return np.array([v * 2.0 + 1.0 for v in x])
"""

RUN_IT = """
import json, numpy as np, pipeline_stages as m
m.affine(np.ones(1000))
frame = m.affine.explain().to_frame()
print(json.dumps(dict(zip(frame.variant, frame.source))))
"""


def _run_process(folder: Path, cache_dir: Path) -> dict[str, str]:
    env = {"VECPIPE_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_IT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_process_reuses_wisdom_and_a_changed_variant_is_remeasured(tmp_path, cache_dir):
    module = tmp_path / "pipeline_stages.py"
    module.write_text(textwrap.dedent(STAGE_MODULE.format(factor="2.0")))
    first = _run_process(tmp_path, cache_dir)
    assert set(first.values()) == {"measured"}
    second = _run_process(tmp_path, cache_dir)
    assert set(second.values()) == {"wisdom"}
    module.write_text(textwrap.dedent(STAGE_MODULE.format(factor="(1.0 + 1.0)")))
    third = _run_process(tmp_path, cache_dir)
    assert third == {"reference": "measured", "numpy": "measured", "python": "wisdom"}


def test_a_corrupt_wisdom_file_is_rebuilt_with_a_warning(affine, x, cache_dir):
    (cache_dir / "wisdom.json").write_text("{ this is not json")
    with pytest.warns(vp.WisdomWarning, match="rebuilt"):
        out = affine(x)
    np.testing.assert_allclose(out, x * 2.0 + 1.0)
    stored = json.loads((cache_dir / "wisdom.json").read_text())
    assert affine.id in stored["stages"]


def test_adding_a_variant_forgets_in_memory_decisions(x):
    @vp.stage(auto=False)
    def inc(x):
        return x + 1

    inc(x)
    assert len(inc.explain()) == 1

    @inc.variant("numpy")
    def _(x):
        return np.add(x, 1)

    assert len(inc.explain()) == 0
    inc(x)
    assert set(inc.explain().to_frame()["variant"]) == {"reference", "numpy"}


def test_an_output_length_that_only_matched_by_chance_is_not_blamed():
    @vp.stage(auto=False)
    def distinct(x):
        return np.array(sorted(set(x.tolist())), dtype=np.float64)

    @distinct.variant("numpy")
    def _(x):
        return np.unique(x)

    distinct.pin("numpy")
    distinct.unpin()
    first = np.arange(2000.0)  # all distinct: the output is as long as the input
    distinct(first)
    assert distinct.choice(first) == "numpy"
    repeated = np.repeat(np.arange(1000.0), 2)  # the same kind of input, half as many values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = distinct(repeated)
    np.testing.assert_array_equal(out, np.arange(1000.0))
    assert distinct.choice(repeated) == "numpy"  # still routed to the variant


# -- the notice of a long compilation ----------------------------------------------------------


def _fresh_kernel_stage() -> vp.Stage:
    @vp.stage(auto=False)
    def plus(x):
        return x + 1.0

    @numba.njit(nogil=True)  # no disk cache: it compiles in every test
    def kernel(x):
        return x + 1.0

    plus.variant("numba", kernel)
    return plus


def test_an_interactive_session_sees_one_notice_of_a_long_compilation(monkeypatch, capsys):
    from vecpipe import dispatch

    monkeypatch.setenv("VECPIPE_NOTICE", "1")  # as on a terminal
    monkeypatch.setattr(dispatch, "NOTICE_AFTER", 0.0)  # every compilation counts as long
    monkeypatch.setattr(dispatch, "_NOTICE_SHOWN", [False])
    _fresh_kernel_stage()(np.arange(3.0))
    _fresh_kernel_stage()(np.arange(3.0))
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("vecpipe:")]
    assert len(lines) == 1
    assert "compiling 'plus'" in lines[0] and "vecpipe warm" in lines[0]


def test_no_notice_when_nobody_watches(monkeypatch, capsys):
    from vecpipe import dispatch

    monkeypatch.setenv("VECPIPE_NOTICE", "0")
    monkeypatch.setattr(dispatch, "NOTICE_AFTER", 0.0)
    monkeypatch.setattr(dispatch, "_NOTICE_SHOWN", [False])
    _fresh_kernel_stage()(np.arange(3.0))
    assert "vecpipe:" not in capsys.readouterr().err


def test_a_variant_numba_cannot_type_the_input_of_is_compile_failed_not_an_error():
    @vp.stage
    def total(s):  # auto_numba cannot take a pandas Series
        return float(s.sum())

    assert total(pd.Series([1.0, 2.0])) == 3.0
    row = total.explain().to_frame().set_index("variant").loc["auto_numba"]
    assert row["status"] == "compile-failed"
