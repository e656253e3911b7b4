"""The idiom machinery: which stages get auto_idioms, routing only inside vecpipe's call,
pandas untouched elsewhere (other threads, after the call, after import), explain notes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.idioms import NAME, NotAccelerated, _compile, _intercept
from vecpipe.idioms._scan import idioms_used, side_effects, untraceable


def row_scores(df):
    return df.apply(lambda row: row["a"] * 2.0 + row["b"], axis=1)


def helper_scores(df):
    return _helper(df) + 1.0


def _helper(df):
    return df.apply(lambda row: row["a"] - row["b"], axis=1)


def plain(x):
    return x * 2


def column_sums(df):
    return df.apply(lambda col: col.sum())  # axis=0: not taken


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2_000
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


# -- which stages get the variant ---------------------------------------------------------


def test_a_stage_calling_a_pandas_idiom_gets_auto_idioms():
    variant = vp.stage(row_scores).variants[NAME]
    assert variant.derived and variant.func is row_scores


def test_an_idiom_in_a_helper_is_found():
    assert "apply" in idioms_used(helper_scores)
    assert NAME in vp.stage(helper_scores).variants


def test_a_stage_without_idioms_or_with_auto_false_gets_none():
    assert NAME not in vp.stage(plain).variants
    assert NAME not in vp.stage(row_scores, auto=False).variants


# -- routing: only inside vecpipe's own call ------------------------------------------------


def _originals() -> dict[tuple[type, str], object]:
    return {(t.owner, t.name): t.owner.__dict__.get(t.name) for t in _intercept.targets()}


def test_pandas_methods_are_the_originals_after_a_routed_call(frame):
    before = _originals()
    stage = vp.stage(row_scores)
    stage.variants[NAME].run(frame)
    stage(frame)
    assert _originals() == before
    assert all(not hasattr(getattr(o, n), "__vecpipe_original__") for o, n in before)


def test_import_vecpipe_changes_no_pandas_method():
    # A fresh interpreter: pandas' methods before importing vecpipe, after, and after runs.
    code = textwrap.dedent(
        """
        import pandas as pd
        from pandas.core.groupby.generic import SeriesGroupBy
        names = [(pd.DataFrame, "apply"), (pd.DataFrame, "iterrows"),
                 (pd.DataFrame, "itertuples"), (pd.Series, "map"), (pd.Series, "apply"),
                 (pd.Series, "replace"), (SeriesGroupBy, "transform"),
                 (SeriesGroupBy, "apply"), (SeriesGroupBy, "agg"),
                 (SeriesGroupBy, "aggregate")]
        before = [getattr(owner, name) for owner, name in names]
        import vecpipe as vp
        after_import = [getattr(owner, name) for owner, name in names]
        def f(df):
            return df.apply(lambda row: row["a"] + 1.0, axis=1)
        stage = vp.stage(f)
        stage(pd.DataFrame({"a": [1.0, 2.0]}))
        after_run = [getattr(owner, name) for owner, name in names]
        assert all(a is b for a, b in zip(before, after_import)), "import"
        assert all(a is b for a, b in zip(before, after_run)), "run"
        print("same")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "same"


def _other_thread_row(row):
    return row["b"] * 3.0


def test_other_threads_see_plain_pandas_while_a_routed_call_runs(frame):
    inside = threading.Event()
    release = threading.Event()

    def blocking(df):
        out = df.apply(lambda row: row["a"] + 1.0, axis=1)
        inside.set()
        assert release.wait(30)
        return out

    stage = vp.stage(blocking)
    expected = frame.apply(_other_thread_row, axis=1)  # before any routing
    results: list[pd.Series] = []
    seen_routers: list[bool] = []

    def other() -> None:
        assert inside.wait(30)
        seen_routers.append(hasattr(pd.DataFrame.apply, "__vecpipe_original__"))
        results.extend(frame.apply(_other_thread_row, axis=1) for _ in range(20))
        release.set()

    worker = threading.Thread(target=other)
    worker.start()
    out = stage.variants[NAME].run(frame)
    worker.join(30)
    assert seen_routers == [True]  # the other thread ran while the routers were installed
    for result in results:
        pd.testing.assert_series_equal(result, expected)
    # ...and its calls went straight to pandas: its row function was never compiled.
    compiled_codes = {key[0][0] for key in _compile._COMPILED}
    assert _other_thread_row.__code__ not in compiled_codes
    pd.testing.assert_series_equal(out, frame["a"] + 1.0, check_names=False)
    assert "DataFrame.apply(axis=1)" in stage.variants[NAME].notes(_key(frame))


def _key(*args) -> str:
    from vecpipe.keys import describe_key, make_key

    return describe_key(make_key(vp.get_config().tag, args, {}))


def test_routing_is_per_thread_when_both_threads_route(frame):
    # Two threads in routed calls at once: each session notes its own calls only.
    barrier = threading.Barrier(2, timeout=30)

    def first(df):
        barrier.wait()
        return df.apply(lambda row: row["a"] * 1.5, axis=1)

    def second(df):
        barrier.wait()
        return df.apply(lambda row: row["b"] * 2.5, axis=1)

    stages = [vp.stage(first), vp.stage(second)]
    outs: dict[int, pd.Series] = {}
    threads = [
        threading.Thread(
            target=lambda i=i: outs.__setitem__(i, stages[i].variants[NAME].run(frame))
        )
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    pd.testing.assert_series_equal(outs[0], frame["a"] * 1.5, check_names=False)
    pd.testing.assert_series_equal(outs[1], frame["b"] * 2.5, check_names=False)
    notes = [s.variants[NAME].notes(_key(frame)) for s in stages]
    assert "columns a" in notes[0] and "columns b" not in notes[0]
    assert "columns b" in notes[1] and "columns a" not in notes[1]
    assert _intercept._USERS == 0 and not _intercept._SAVED


# -- declining, failing, explaining ---------------------------------------------------------


def test_a_call_with_nothing_taken_raises_not_accelerated_with_the_reason(frame):
    stage = vp.stage(column_sums)
    with pytest.raises(NotAccelerated, match=r"axis=0: only row-wise calls"):
        stage.variants[NAME].run(frame)


def test_a_reason_that_holds_for_all_rows_gives_way_before_any_full_run(frame):
    # axis=0 is declined whatever the data: the warm-up on the first rows says so, and
    # the variant is never run on the whole input.
    stage = vp.stage(column_sums)
    pd.testing.assert_series_equal(stage(frame), column_sums(frame))
    row = stage.explain().to_frame().set_index("variant").loc[NAME]
    assert row["status"] == "compile-failed" and not row["chosen"]
    assert "NotAccelerated" in row["reason"] and "axis=0" in row["reason"]


def distinct_names(df):
    return df["name"].map(lambda v: v.upper())


def test_a_reason_of_the_data_alone_is_tried_on_the_whole_input_and_explained():
    # Distinct on the first rows, distinct on all rows: mapping by value declines for the
    # data, so the variant runs on the whole input, gives way, and the reference answers.
    df = pd.DataFrame({"name": [f"n{i}" for i in range(2_000)]})
    stage = vp.stage(distinct_names)
    pd.testing.assert_series_equal(stage(df), distinct_names(df))
    row = stage.explain().to_frame().set_index("variant").loc[NAME]
    assert row["status"] == "failed" and not row["chosen"]
    assert "2,000 distinct values of 2,000" in row["reason"]


def test_explain_names_the_idiom_and_what_it_became(frame):
    stage = vp.stage(row_scores)
    pd.testing.assert_series_equal(stage(frame), row_scores(frame))
    table = stage.explain()
    row = table.to_frame().set_index("variant").loc[NAME]
    assert row["status"] in ("chosen", "measured")
    assert "DataFrame.apply(axis=1) -> a lambda" in row["reason"]
    assert "compiled over columns a, b" in str(table)


# -- the scans -----------------------------------------------------------------------------

_LOG: list[float] = []
_CACHE: dict[float, float] = {}


def _logs(v):
    _LOG.append(v)
    return v


def _stores(v):
    _CACHE[v] = v
    return v


def _local_containers(v):
    seen = {}
    seen[v] = [v]
    seen[v].append(v)
    return len(seen)


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        (_logs, "calls _LOG.append()"),
        (_stores, "stores into _CACHE"),
        (print, None),  # not a Python function: nothing to read
        (_local_containers, None),
        (lambda v: v * 2, None),
    ],
    ids=["append-to-global", "store-into-global", "builtin", "local-containers", "pure"],
)
def test_side_effects_seen_in_bytecode(func, expected):
    found = side_effects(func)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found


@pytest.mark.parametrize(
    ("func", "reason"),
    [
        (lambda g: (g - g.mean()) / g.std(), None),
        (lambda g: g.max() if g is not None else 0, "'is'"),
        (lambda g: type(g), "uses type"),
        (_logs, "calls _LOG.append()"),
    ],
    ids=["arithmetic", "identity", "type", "side-effect"],
)
def test_untraceable_says_why(func, reason):
    found = untraceable(func)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


def clean_names(names):
    return np.array([name.replace("_", " ") for name in names])  # str.replace, not pandas


def test_other_objects_methods_of_the_same_name_cost_no_full_run():
    stage = vp.stage(clean_names)
    names = np.array(["a_b", "c_d"] * 100, dtype=object)
    assert NAME in stage.variants  # the name 'replace' is in its code
    np.testing.assert_array_equal(stage(names), clean_names(names))
    row = stage.explain().to_frame().set_index("variant").loc[NAME]
    assert row["status"] == "compile-failed"
    assert "no pandas call ran on the first rows" in row["reason"]


def frame_scores(df):
    return df.apply(lambda row: row["a"] * 2.0 + row["b"] if row["a"] > 0 else row["b"], axis=1)


def test_vp_verify_covers_the_idiom_variant_and_counts_a_decline_as_the_reference():
    # Hypothesis frames include empty ones, where the variant gives way (NotAccelerated):
    # the reference answers there, which is not a failure.
    stage = vp.stage(frame_scores, inputs=vp.spec.frame({"a": "float64", "b": "float64"}))
    report = vp.verify(stage, max_examples=30, seed=1)
    result = {r.variant: r for r in report.results}[NAME]
    assert result.passed and result.examples == 30
    assert NAME in stage._dispatcher.verified()


def with_value(df):
    return df.assign(value=df.apply(lambda row: row["a"] * row["b"], axis=1))


def with_share(df):
    return df.assign(share=df["value"].map(lambda v: v / 2.0 if v > 0 else 0.0))


def test_a_pipeline_of_unchanged_functions_runs_their_idiom_variants():
    # 50,000 rows: the routed map beats pandas' per-element calls by far more than the
    # timing noise of a loaded machine (on 2,000 rows the two were close enough to flip).
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=50_000), "b": rng.normal(size=50_000)})
    pipe = vp.Pipeline([with_value, with_share])
    out = pipe(frame)
    pd.testing.assert_frame_equal(out, with_share(with_value(frame)), check_exact=True)
    assert [run.variant for run in pipe.last_run] == [NAME, NAME]
