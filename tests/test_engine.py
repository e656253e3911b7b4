"""vp.engine: pandas' Series.map and DataFrame.apply run through vecpipe, equal to pandas."""

from __future__ import annotations

import importlib

import numba
import numpy as np
import pandas as pd
import pytest
from pandas.api.executors import BaseExecutionEngine

import vecpipe as vp
from vecpipe.pandas_engine import Engine, EngineFallbackWarning, engine

engine_module = importlib.import_module("vecpipe.pandas_engine")

# Numba compiles each function for each input type once per process (about a second for
# a row kernel): the functions are module-level and shared by the tests, as are the
# engine's stages.


def half(x):
    return x / 2


def is_positive(x):
    return x > 0


def doubled_int(x):
    return int(x * 2)


def shifted(x, by=1.0, scale=1.0):
    return (x + by) * scale


def keyword_only(x, *, by):
    return x + by


def label(x):
    return f"{x:.1f}"  # a str: pandas infers its dtype; vecpipe falls back


def digits(x):
    return len(f"{x:.0f}")  # Numba cannot compile a format spec: the reference runs


def reciprocal(x):
    return 1 / x


def row_total(row):
    return row.sum()


def row_scaled(row, k):
    return row * k


def row_weighted(row, w=1.0, shift=0.0):
    return row[0] * w + row[-1] + shift


def row_digits(row):
    return len(f"{row[0]:.0f}")  # not compilable by Numba


def row_checked(row):
    if row[0] > 100.0:
        raise ValueError("a row is out of range")
    return row[0] - row[1]


def row_by_label(row):
    return row["a"]  # a raw=False function: rows are Series


@pytest.fixture
def floats() -> pd.Series:
    return pd.Series([1.5, -2.0, np.nan, 4.0], index=[10, 20, 30, 40], name="x")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"a": [1.0, -2.0, 3.5], "b": [4.0, 5.0, -6.0], "c": [0.5, 0.0, 2.0]},
        index=["p", "q", "r"],
    )


def assert_same(got, expected):
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
    else:
        pd.testing.assert_series_equal(got, expected)


# -- the protocol ---------------------------------------------------------------------------


def test_engine_follows_pandas_protocol():
    assert isinstance(engine, BaseExecutionEngine)
    assert engine.__pandas_udf__ is engine
    assert issubclass(EngineFallbackWarning, vp.VecpipeWarning)


def test_engine_is_exported():
    assert vp.engine is engine
    assert vp.Engine is Engine and vp.EngineFallbackWarning is EngineFallbackWarning


# -- Series.map ---------------------------------------------------------------------------


@pytest.mark.parametrize("func", [half, is_positive])
def test_map_float_series_equals_pandas(floats, func):
    assert_same(floats.map(func, engine=engine), floats.map(func))


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
@pytest.mark.parametrize("func", [half, doubled_int])
def test_map_int_series_equals_pandas(func, dtype):
    s = pd.Series([3, 1, 4, 1, 5], index=list("abcde"), name="n", dtype=dtype)
    assert_same(s.map(func, engine=engine), s.map(func))


def test_map_bool_series_equals_pandas():
    s = pd.Series([True, False, True], name="flag")
    assert_same(s.map(doubled_int, engine=engine), s.map(doubled_int))


@pytest.mark.parametrize("func", [half, is_positive, doubled_int])
def test_map_na_action_ignore_keeps_missing_values(floats, func):
    got = floats.map(func, na_action="ignore", engine=engine)
    assert_same(got, floats.map(func, na_action="ignore"))
    assert np.isnan(got[30])


def test_map_all_missing_and_empty_series(floats):
    missing = pd.Series([np.nan, np.nan], name="m")
    assert_same(
        missing.map(half, na_action="ignore", engine=engine),
        missing.map(half, na_action="ignore"),
    )
    empty = pd.Series([], dtype="int64")
    assert_same(empty.map(half, engine=engine), empty.map(half))


def test_map_keyword_arguments_are_passed(floats):
    assert_same(floats.map(shifted, scale=3.0, engine=engine), floats.map(shifted, scale=3.0))


def test_map_runs_the_compiled_ufunc_on_a_large_series():
    s = pd.Series(np.random.default_rng(0).normal(size=100_000))
    assert_same(s.map(half, engine=engine), s.map(half))
    stage = engine.stage_for(half)
    assert stage is not None and stage in engine.stages
    assert stage.choice(s.to_numpy()) in ("auto_ufunc", "auto_ufunc_parallel")
    frame = engine.explain().to_frame()
    assert set(frame.loc[frame["stage"] == "map:half", "variant"]) == {
        "reference",
        "auto_ufunc",
        "auto_ufunc_parallel",
    }


def test_map_function_numba_cannot_compile_runs_the_reference(floats):
    got = floats.map(digits, engine=engine)  # no warning: the config makes one an error
    assert_same(got, floats.map(digits))
    frame = engine.stage_for(digits).explain().to_frame()
    assert frame.loc[frame["chosen"], "variant"].tolist() == ["reference"]
    assert set(frame.loc[~frame["chosen"], "status"]) == {"compile-failed"}


def test_map_error_of_the_function_reaches_the_caller():
    s = pd.Series([1.0, 0.0])
    with pytest.raises(ZeroDivisionError):
        s.map(reciprocal, engine=engine)  # and no EngineFallbackWarning (an error here)


def test_map_non_numeric_results_fall_back_once(floats):
    with pytest.warns(EngineFallbackWarning, match=r"Series.map\(label\).*dtype <U") as seen:
        got = floats.map(label, engine=engine)
    assert len(seen) == 1
    assert_same(got, floats.map(label))
    with pytest.warns(EngineFallbackWarning, match="later calls with it go to pandas"):
        assert_same(floats.map(label, engine=engine), floats.map(label))


@pytest.mark.parametrize(
    "series",
    [pd.Series(["a", "bb"], name="s"), pd.Series([1, None, 3], dtype="Int64")],
    ids=["str", "nullable"],
)
def test_map_non_numpy_data_falls_back(series):
    func = len if series.dtype == "str" else half
    with pytest.warns(EngineFallbackWarning, match="NumPy bool and numeric data") as seen:
        got = series.map(func, engine=engine)
    assert len(seen) == 1
    assert_same(got, series.map(func))


def test_map_keyword_only_argument_falls_back(floats):
    with pytest.warns(EngineFallbackWarning, match="cannot be passed by position"):
        got = floats.map(keyword_only, by=2.0, engine=engine)
    assert_same(got, floats.map(keyword_only, by=2.0))


def test_fallback_warning_points_at_the_callers_line(floats):
    with pytest.warns(EngineFallbackWarning) as seen:
        floats.map(keyword_only, by=2.0, engine=engine)
    assert seen[0].filename == __file__


# -- DataFrame.apply ------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [1, 0, "columns"])
def test_apply_scalar_per_row_equals_pandas(frame, axis):
    got = frame.apply(row_total, axis=axis, raw=True, engine=engine)
    assert_same(got, frame.apply(row_total, axis=axis, raw=True))


def test_apply_int_frame_and_bool_results_equal_pandas():
    ints = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]}, index=[7, 8, 9])
    assert_same(
        ints.apply(row_total, axis=1, raw=True, engine=engine),
        ints.apply(row_total, axis=1, raw=True),
    )


@pytest.mark.parametrize("axis", [1, 0])
def test_apply_array_per_row_with_args_equals_pandas(frame, axis):
    got = frame.apply(row_scaled, axis=axis, raw=True, args=(2,), engine=engine)
    assert_same(got, frame.apply(row_scaled, axis=axis, raw=True, args=(2,)))


def test_apply_args_and_keyword_arguments(frame):
    got = frame.apply(row_weighted, axis=1, raw=True, args=(2.0,), shift=1.0, engine=engine)
    assert_same(got, frame.apply(row_weighted, axis=1, raw=True, args=(2.0,), shift=1.0))
    got = frame.apply(row_weighted, axis=1, raw=True, shift=-1.0, engine=engine)
    assert_same(got, frame.apply(row_weighted, axis=1, raw=True, shift=-1.0))


def test_apply_runs_the_compiled_row_loop_on_a_large_frame():
    big = pd.DataFrame(np.random.default_rng(1).normal(size=(60_000, 3)), columns=list("abc"))
    assert_same(
        big.apply(row_total, axis=1, raw=True, engine=engine),
        big.apply(row_total, axis=1, raw=True),
    )
    stage = engine.stage_for(row_total, "apply")
    rows = np.ascontiguousarray(big.to_numpy())
    assert stage.choice(rows) in ("numba_rows", "numba_rows_parallel")


def test_threaded_row_variant_equals_the_reference_on_slices():
    rows = np.random.default_rng(2).normal(size=(3 * engine_module.MIN_ROWS_PER_THREAD, 3))
    rows.flags.writeable = False
    stage = engine_module._RowStage(row_scaled)
    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    with vp.config(threads=threads):
        got = stage.variants["numba_rows_parallel"].run(rows, 3)
    np.testing.assert_array_equal(got, stage.reference(rows, 3))


def test_apply_error_in_a_row_reaches_the_caller_from_compiled_variants():
    values = np.random.default_rng(3).normal(size=(40_000, 2))
    good = pd.DataFrame(values, columns=["a", "b"])
    bad = good.copy()
    bad.iloc[30_000, 0] = 1e3
    assert_same(
        good.apply(row_checked, axis=1, raw=True, engine=engine),
        good.apply(row_checked, axis=1, raw=True),
    )
    stage = engine.stage_for(row_checked, "apply")
    assert stage.choice(np.ascontiguousarray(values)) != "reference"
    with pytest.raises(ValueError, match="out of range"):
        bad.apply(row_checked, axis=1, raw=True)
    with pytest.raises(ValueError, match="out of range"):  # and no warning
        bad.apply(row_checked, axis=1, raw=True, engine=engine)
    rows = np.ascontiguousarray(bad.to_numpy())
    for name in ("numba_rows", "numba_rows_parallel"):  # each raises by itself, too
        with pytest.raises(ValueError, match="out of range"):
            stage.variants[name].run(rows)


def test_apply_function_numba_cannot_compile_runs_the_reference(frame):
    with vp.config(threads=1):  # no warning: the config makes one an error
        got = frame.apply(row_digits, axis=1, raw=True, engine=engine)
    assert_same(got, frame.apply(row_digits, axis=1, raw=True))
    statuses = engine.stage_for(row_digits, "apply").explain().to_frame()["status"]
    assert "compile-failed" in set(statuses)


def test_apply_raw_false_falls_back_once(frame):
    with pytest.warns(EngineFallbackWarning, match="raw=False.*Pass raw=True") as seen:
        got = frame.apply(row_by_label, axis=1, engine=engine)
    assert len(seen) == 1
    assert_same(got, frame.apply(row_by_label, axis=1))


def test_apply_mixed_type_frame_falls_back(frame):
    mixed = frame.assign(name=["u", "v", "w"])
    with pytest.warns(EngineFallbackWarning, match="dtype object") as seen:
        got = mixed.apply(len, axis=1, raw=True, engine=engine)
    assert len(seen) == 1
    assert_same(got, mixed.apply(len, axis=1, raw=True))


def test_apply_needs_a_function(frame):
    with pytest.raises(vp.InvalidArgument, match="needs a function"):
        frame.apply("sum", axis=1, raw=True, engine=engine)


# -- the engine's own API --------------------------------------------------------------------


def test_stage_for_and_clear():
    own = Engine()
    assert own.stage_for(half) is None and len(own.explain()) == 0
    with pytest.raises(vp.InvalidArgument, match="'map' or 'apply'"):
        own.stage_for(half, "transform")
    stage = own._stage("map", half)
    assert own._stage("map", half) is stage and own.stages == (stage,)
    own.clear()
    assert own.stages == ()


def test_stages_are_bounded(monkeypatch):
    monkeypatch.setattr(engine_module, "MAX_STAGES", 2)
    own = Engine()
    for func in (half, is_positive, doubled_int):
        own._stage("map", func)
    assert [s.reference for s in own.stages] == [is_positive, doubled_int]


def test_an_elementwise_stage_is_used_as_it_is(floats):
    stage = vp.stage(half, elementwise=True)
    own = Engine()
    assert_same(floats.map(stage, engine=own), floats.map(half))
    assert own.stage_for(stage) is stage


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {}, ()),
        ((2,), {}, (2,)),
        ((), {"scale": 3.0}, (1.0, 3.0)),  # the parameter in between keeps its default
        ((), {"by": 2.0}, (2.0,)),  # trailing defaults are not passed
    ],
)
def test_keyword_arguments_move_to_their_positions(args, kwargs, expected):
    assert engine_module._positional(shifted, args, kwargs) == expected


def test_keyword_only_arguments_cannot_move():
    assert engine_module._positional(keyword_only, (), {"by": 1}) is None


def test_the_row_helpers_python_versions_mirror_the_compiled_ones():
    out = engine_module._new_rows_out(3, np.ones(2))
    assert out.shape == (3, 2)
    assert engine_module._set_row(out, 1, np.array([4.0, 5.0])) == 0
    assert out[1].tolist() == [4.0, 5.0]
    assert engine_module._set_row(out, 2, np.ones(3)) == 1  # a ragged row
    scalars = engine_module._new_rows_out(2, 1.5)
    assert scalars.shape == (2,) and engine_module._set_row(scalars, 0, 2.5) == 0
