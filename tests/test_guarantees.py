"""What the dispatcher guarantees against dishonest variants and untrusted wisdom.

Each test is a regression test of issue 16 ("never silently wrong"): the output check
at run time (item 8), the dtype rule (item 9), the tuning budget (item 10), wisdom this
installation did not write (item 11) and malformed wisdom (item 12). See
docs/guarantees.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.dispatch import CHECK_ROWS, make_check
from vecpipe.errors import VariantDisqualifiedWarning, VariantFailedWarning, WisdomWarning
from vecpipe.variant import Variant
from vecpipe.wisdom import get_wisdom


def _quietly(fn: Any, *args: Any) -> Any:
    """Call with vecpipe's warnings turned into errors (pytest's setting, made explicit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", vp.errors.VecpipeWarning)
        return fn(*args)


def _slow_double(x: Any) -> Any:
    """A reference slow enough that any variant is chosen over it."""
    values = np.asarray(x)
    out = np.empty(len(values))
    for i in range(len(values)):
        out[i] = values[i] * 2.0
    if isinstance(x, pd.Series):
        return pd.Series(out, index=x.index, name=x.name)
    return out


# -- item 8: the output's whole form is checked at run time ------------------------------------


@numba.njit(nogil=True, cache=True)
def _double_kernel(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 2.0
    return out


def _compiled_wrapper_stage(breakage: dict[str, Any]) -> vp.Stage:
    """A stage whose fastest variant is compiled code behind a Python wrapper (as vecpipe's
    derived and pandas-engine variants are), which misbehaves once ``breakage`` says so."""

    def doubled(x):
        return _slow_double(x)

    s = vp.stage(doubled, auto=False)

    def run(x):
        out = _double_kernel(x)
        how = breakage.get("how")
        if how == "column":
            return out.reshape(-1, 1)
        if how == "float32":
            return out.astype(np.float32)
        if how == "short":
            return out[:-1]
        return out

    s._variants["wrapped"] = Variant(
        "wrapped",
        "numba",
        run,
        run,
        source_hash="wrapped-1",
        compiler=lambda args, kwargs: _double_kernel.compile((numba.typeof(args[0]),)),
    )
    s._dispatcher.reset()
    return s


@pytest.mark.parametrize("how", ["column", "float32", "short"])
def test_a_compiled_variant_whose_output_changes_form_after_tuning_is_caught(how):
    breakage: dict[str, Any] = {}
    s = _compiled_wrapper_stage(breakage)
    x = np.random.default_rng(1).random(5000)
    s(x)
    assert s.choice(x) == "wrapped"
    breakage["how"] = how
    with pytest.warns(VariantFailedWarning, match="wrapped.*malformed result"):
        out = s(x)
    np.testing.assert_array_equal(out, x * 2.0)
    assert out.shape == x.shape and out.dtype == np.float64
    assert s.choice(x) == "reference"


def _series_stage(breakage: dict[str, Any]) -> vp.Stage:
    def doubled_series(s):
        return _slow_double(s)

    stage = vp.stage(doubled_series, auto=False)

    @stage.variant("numpy")
    def _(s):
        out = s * 2.0
        how = breakage.get("how")
        if how == "index":
            return out.reset_index(drop=True)
        if how == "name":
            return out.rename("other")
        if how == "float32":
            return out.astype(np.float32)
        if how == "frame":
            return out.to_frame()
        return out

    return stage


@pytest.mark.parametrize("how", ["index", "name", "float32", "frame"])
def test_a_series_variant_whose_index_name_or_dtype_changes_after_tuning_is_caught(how):
    breakage: dict[str, Any] = {}
    stage = _series_stage(breakage)
    s = pd.Series(np.arange(3000.0), index=np.arange(3000) * 10, name="fare")
    stage(s)
    assert stage.choice(s) == "numpy"
    breakage["how"] = how
    with pytest.warns(VariantFailedWarning, match="numpy.*malformed result"):
        out = stage(s)
    pd.testing.assert_series_equal(out, s * 2.0)


def test_pandas_rules_follow_the_argument_so_other_labels_pass_unchecked():
    stage = _series_stage({})
    first = pd.Series(np.arange(3000.0), index=np.arange(3000) * 10, name="fare")
    stage(first)
    calls: list[int] = []
    reference = stage._reference.run
    stage._reference.run = lambda s: calls.append(1) or reference(s)  # type: ignore[method-assign]
    other = pd.Series(np.ones(3000), index=np.arange(3000) + 7, name="distance")
    out = _quietly(stage, other)  # another index and name: the output follows them
    pd.testing.assert_series_equal(out, other * 2.0)
    assert calls == []  # the rule held: the reference was not asked
    assert stage.choice(other) == "numpy"


def test_a_series_rule_that_held_by_chance_is_relaxed_once_with_the_references_consent():
    calls: list[int] = []

    @vp.stage(auto=False)
    def distinct(s):
        calls.append(len(s))
        time.sleep(0.002)  # slower than the variant on any machine
        return pd.Series(sorted(set(s.tolist())), dtype=np.float64)

    @distinct.variant("numpy")
    def _(s):
        return pd.Series(np.unique(s.to_numpy()))

    distinct(pd.Series(np.arange(2000.0)))  # all distinct: as long as the input, same index
    assert distinct.choice(pd.Series(np.arange(2000.0))) == "numpy"
    calls.clear()
    for repeats in (2, 4, 5):  # the same kind of input, fewer distinct values each time
        s = pd.Series(np.repeat(np.arange(2000.0 / repeats), repeats))
        out = _quietly(distinct, s)
        pd.testing.assert_series_equal(out, pd.Series(np.arange(2000.0 / repeats)))
    assert len(calls) == 1  # asked once, then the rule is relaxed for this key
    assert distinct.choice(s) == "numpy"


@pytest.mark.parametrize(
    ("sample", "args", "good", "bad"),
    [
        (np.zeros(4), (np.zeros(4),), np.ones(4), np.ones((4, 1))),
        (np.zeros(4), (np.zeros(4),), np.ones(4), np.ones(4, dtype=np.float32)),
        (np.zeros(4), (np.zeros(4),), np.ones(4), np.ones(4, dtype=np.int64)),
        (np.zeros(4), (np.zeros(4),), np.ones(4), [0.0] * 4),
        (np.zeros((4, 2)), (np.zeros((4, 2)),), np.ones((4, 2)), np.ones((2, 4))),
        (np.zeros(3), (np.zeros(4),), np.ones(2), np.ones((2, 1))),  # own length: ndim kept
        (np.float64(1.0), (np.zeros(4),), np.float64(2.0), np.float32(2.0)),
        ((np.zeros(4), 3), (np.zeros(4),), (np.ones(4), 5), (np.ones((4, 1)), 5)),
        ((np.zeros(4), 3), (np.zeros(4),), (np.ones(4), 5), (np.ones(4), 5.0)),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            (pd.DataFrame({"a": [0.0, 0.0]}),),
            pd.DataFrame({"a": [3.0, 4.0]}),
            pd.DataFrame({"b": [3.0, 4.0]}),
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            (pd.DataFrame({"a": [0.0, 0.0]}),),
            pd.DataFrame({"a": [3.0, 4.0]}),
            pd.DataFrame({"a": [3, 4]}),
        ),
    ],
    ids=[
        "2d-for-1d",
        "float32-for-float64",
        "int-for-float",
        "list-for-array",
        "transposed",
        "own-length-ndim",
        "numpy-scalar-dtype",
        "tuple-item-shape",
        "tuple-item-type",
        "frame-columns",
        "frame-dtypes",
    ],
)
def test_make_check_accepts_the_same_form_and_refuses_another(sample, args, good, bad):
    check = make_check(sample, args)
    assert check(good, args)
    assert not check(bad, args)


# -- item 9: the dtype, not only the values -------------------------------------------------


def test_a_float32_variant_is_disqualified_even_where_the_input_is_exact_in_float32():
    @vp.stage(auto=False)
    def mean3(x):
        return np.array([x[max(0, i - 2) : i + 1].mean() for i in range(len(x))])

    @mean3.variant("numpy")
    def _(x):
        c = np.cumsum(x.astype(np.float32))
        out = c.copy()
        out[3:] = c[3:] - c[:-3]
        return out / np.minimum(np.arange(1, len(x) + 1), 3).astype(np.float32)

    x = np.arange(1000.0)  # every value and mean exact in float32
    with pytest.warns(VariantDisqualifiedWarning, match="dtype float32.*float64"):
        mean3(x)
    assert mean3.choice(x) == "reference"
    real = np.random.default_rng(0).standard_normal(1000)
    np.testing.assert_array_equal(mean3(real), mean3.reference(real))  # float64-accurate


# -- item 10: tuning keeps to its budget ----------------------------------------------------


@pytest.mark.parametrize("rows", [2_000, 150_000], ids=["whole-input", "growing-slices"])
def test_a_variant_that_slows_down_while_timed_is_stopped_and_not_chosen(rows):
    calls: list[int] = []

    @vp.stage(auto=False, chunkable=True)
    def doubled(x):
        time.sleep(0.01)
        return x * 2.0

    @doubled.variant("numpy")
    def _(x):
        calls.append(len(x))
        time.sleep(0.001 * 10 ** min(len(calls) - 1, 4))  # 1, 10, 100 ms, 1 s, 10 s...
        return x * 2.0

    x = np.ones(rows)
    doubled(x)
    decision = next(iter(doubled._dispatcher.decisions.values()))
    # Before, the round-robin checked the budget (0.25 s here) only between rounds, with
    # the variants' first times: the 1 s call ran, and the variant's best time (1 ms)
    # won. Now it stops once its next call, predicted from its latest, would pass its
    # share of the budget, and is ranked by what its calls cost by then.
    assert decision.tuning_seconds < 0.75, decision.tuning_seconds
    assert len(calls) <= 4, calls
    assert doubled.choice(x) == "reference"
    assert decision.trials["numpy"].seconds > decision.trials["reference"].seconds


# -- item 11: wisdom this installation did not write ----------------------------------------


def _counted_stage(counts: dict[str, int], *, wrong: bool = False) -> vp.Stage:
    """The same stage (same id) each call: a reference that counts, and a numpy variant
    that is right, or (``wrong``) off by one."""

    def scaled(x):
        counts["reference"] = counts.get("reference", 0) + 1
        counts.setdefault("rows", []).append(len(x))  # type: ignore[attr-defined]
        out = np.empty(len(x))
        for i in range(len(x)):
            out[i] = x[i] * 3.0
        return out

    s = vp.stage(scaled, auto=False, chunkable=True, inputs=vp.spec.array(dtype="float64"))

    @s.variant("numpy")
    def _(x):
        return x * 3.0 + (1.0 if wrong else 0.0)

    return s


def _stage_records(cache: Path, stage: vp.Stage) -> tuple[str, dict[str, Any]]:
    ((key, records),) = json.loads((cache / "wisdom.json").read_text())["stages"][stage.id].items()
    return key, records


def _rewrite(cache: Path, stage: vp.Stage, key: str, records: dict[str, Any]) -> None:
    path = cache / "wisdom.json"
    doc = json.loads(path.read_text())
    doc["stages"][stage.id][key] = records
    path.write_text(json.dumps(doc))


def test_a_mismatch_edited_into_a_fast_measurement_is_compared_before_use(cache_dir):
    x = np.random.default_rng(2).random(1000)
    first = _counted_stage({}, wrong=True)
    with pytest.warns(VariantDisqualifiedWarning):
        first(x)
    key, records = _stage_records(cache_dir, first)
    assert records["numpy"]["status"] == "mismatch"
    records["numpy"].update(status="measured", seconds=1e-9, reason="")  # edited by hand
    _rewrite(cache_dir, first, key, records)

    again = _counted_stage({}, wrong=True)  # as a new process would
    with pytest.warns(VariantDisqualifiedWarning, match="numpy.*differs from the reference"):
        out = again(x)
    np.testing.assert_array_equal(out, x * 3.0)
    assert again.choice(x) == "reference"
    np.testing.assert_array_equal(_quietly(again, x), x * 3.0)
    # The comparison is this installation's own record now: a mismatch.
    records, written_here = get_wisdom().lookup_with_origin(again.id, key)
    assert records["numpy"]["status"] == "mismatch"
    assert "numpy" in written_here


def test_a_record_written_here_is_used_without_a_comparison(cache_dir):
    x = np.random.default_rng(2).random(1000)
    _counted_stage({})(x)
    counts: dict[str, int] = {}
    again = _counted_stage(counts)
    _quietly(again, x)
    assert again.choice(x) == "numpy"
    assert counts.get("reference", 0) == 0  # chosen from this installation's own wisdom


def _import_from_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, x: Any) -> None:
    """Tune in another cache folder (another installation, its own key), then import its
    export here, as ``vp.wisdom.import_`` or a Dask worker's plugin does."""
    here = vp.wisdom.path.parent
    with monkeypatch.context() as patch:
        patch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "elsewhere"))
        _counted_stage({})(x)
        shipped = vp.wisdom.export(tmp_path / "shipped.json")
    assert vp.wisdom.path.parent == here
    assert vp.wisdom.import_(shipped) > 0


def test_imported_wisdom_is_compared_once_on_a_slice_then_trusted(tmp_path, monkeypatch):
    x = np.random.default_rng(3).random(200_000)
    _import_from_elsewhere(tmp_path, monkeypatch, x)
    counts: dict[str, Any] = {}
    s = _counted_stage(counts)
    out = _quietly(s, x)
    np.testing.assert_array_equal(out, x * 3.0)
    assert s.choice(x) == "numpy"
    assert counts["rows"] == [CHECK_ROWS]  # compared on a slice, not the whole input
    _quietly(s, x)
    assert counts["reference"] == 1  # once
    assert "compared with the reference here" in str(s.explain())
    # Checked here, so marked as this installation's: the next process trusts it.
    later: dict[str, Any] = {}
    _quietly(_counted_stage(later), x)
    assert later.get("reference", 0) == 0


def test_imported_wisdom_choosing_a_wrong_variant_never_gives_its_answer(tmp_path, monkeypatch):
    x = np.random.default_rng(4).random(1000)
    _import_from_elsewhere(tmp_path, monkeypatch, x)  # measured with the right variant there
    s = _counted_stage({}, wrong=True)  # same source, wrong here
    with pytest.warns(VariantDisqualifiedWarning, match="differs from the reference"):
        out = s(x)
    np.testing.assert_array_equal(out, x * 3.0)
    assert s.choice(x) == "reference"
    assert "chosen by a wisdom record written elsewhere" in str(s.explain())


def test_a_verification_record_written_by_hand_does_not_count(cache_dir):
    s = _counted_stage({})
    record = {
        "status": "verified",
        "source_hash": s.variants["numpy"].source_hash,
        "reference_hash": s._reference.source_hash,
    }
    path = cache_dir / "wisdom.json"
    get_wisdom().record("unrelated", "k", {"v": {"status": "measured"}})  # a valid file
    doc = json.loads(path.read_text())
    doc["stages"][s.id] = {"@verified": {"numpy": record}}
    path.write_text(json.dumps(doc))
    x = np.random.default_rng(5).random(1000)
    with vp.config(require_verified=True):
        _quietly(s, x)
        assert s.choice(x) == "reference"
    frame = s.explain().to_frame().set_index("variant")
    assert not frame.loc["numpy", "verified"]
    assert frame.loc["numpy", "status"] == "unverified"


def test_a_verification_that_ran_here_counts():
    s = _counted_stage({})
    vp.verify(s, max_examples=5)
    x = np.random.default_rng(5).random(1000)
    with vp.config(require_verified=True):
        _quietly(s, x)
        assert s.choice(x) == "numpy"
    assert s.explain().to_frame().set_index("variant").loc["numpy", "verified"]


# -- item 12: a malformed record never breaks a call ----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("seconds", "0.1"), ("seconds", [0.1]), ("compile_seconds", "slow")]
)
def test_a_malformed_record_is_dropped_and_the_stage_measures_again(cache_dir, field, value):
    x = np.random.default_rng(6).random(1000)
    first = _counted_stage({})
    first(x)
    key, records = _stage_records(cache_dir, first)
    records["numpy"][field] = value
    _rewrite(cache_dir, first, key, records)
    again = _counted_stage({})
    with pytest.warns(WisdomWarning, match=f"'{field}'") as seen:
        np.testing.assert_array_equal(again(x), x * 3.0)
        text = str(again.explain())
    assert len(seen) == 1
    assert "numpy" in text
    _, records = _stage_records(cache_dir, again)  # rebuilt without the bad record
    assert isinstance(records["numpy"]["seconds"], float)


KERNEL_CALL = """
import warnings, numpy as np, vecpipe.kernels as vk
from vecpipe.kernels.moving import rolling_mean_stage
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    print(vk.rolling_mean(np.arange(100.0), 5)[-1])
    print("rolling_mean" in str(rolling_mean_stage.explain()))
print(sorted({type(w.message).__name__ for w in seen}))
"""


def test_a_kernel_call_in_a_new_process_survives_a_malformed_record(cache_dir):
    env = dict(os.environ, VECPIPE_CACHE_DIR=str(cache_dir))

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", KERNEL_CALL],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return done.stdout.splitlines()

    assert run() == ["97.0", "True", "[]"]
    path = cache_dir / "wisdom.json"
    doc = json.loads(path.read_text())
    for keys in doc["stages"].values():
        for records in keys.values():
            for record in records.values():
                record["seconds"], record["compile_seconds"] = "0.1", "slow"
    path.write_text(json.dumps(doc))
    assert run() == ["97.0", "True", "['WisdomWarning']"]
    assert run() == ["97.0", "True", "[]"]  # rebuilt by the second process's measurements


def _two_variant_stage(state: dict[str, bool]) -> vp.Stage:
    """Two variants of one stage id; ``state`` makes ``first`` raise or ``second`` wrong."""

    def tripled(x):
        return np.array([v * 3.0 for v in x])

    s = vp.stage(tripled, auto=False)

    @s.variant("numpy", name="first")
    def _(x):
        if state.get("first_raises"):
            raise RuntimeError("first broke")
        return x * 3.0

    @s.variant("numpy", name="second")
    def _(x):
        return x * 3.0 + (1.0 if state.get("second_wrong") else 0.0)

    return s


def test_a_fallback_chosen_by_wisdom_from_elsewhere_is_compared_too(tmp_path, monkeypatch):
    x = np.random.default_rng(7).random(1000)
    with monkeypatch.context() as patch:
        patch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "elsewhere"))
        there = _two_variant_stage({})
        there(x)
        store = get_wisdom()
        ((key, records),) = json.loads(store.path.read_text())["stages"][there.id].items()
        times = {"first": 1e-7, "second": 2e-7, "reference": 1e-3}
        store.record(
            there.id,
            key,
            {n: {**r, "status": "measured", "seconds": times[n]} for n, r in records.items()},
        )
        shipped = store.export(tmp_path / "shipped.json")
    vp.wisdom.import_(shipped)
    state: dict[str, bool] = {"second_wrong": True}
    s = _two_variant_stage(state)
    np.testing.assert_array_equal(_quietly(s, x), x * 3.0)  # first: compared, matches
    assert s.choice(x) == "first"
    state["first_raises"] = True
    with pytest.warns(VariantFailedWarning) as seen:
        out = s(x)
    np.testing.assert_array_equal(out, x * 3.0)  # not second's wrong answer
    messages = " ".join(str(w.message) for w in seen)
    assert "first broke" in messages and "second" in messages and "mismatch" in messages
    assert s.choice(x) == "reference"
