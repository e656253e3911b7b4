"""Series.map(func) / Series.apply(func) compiled element by element: equal to pandas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecpipe as vp
from vecpipe.idioms import NAME
from vecpipe.idioms._intercept import routing

VALUES = {
    "float64": st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan]),
    ),
    "float32": st.floats(width=32, allow_nan=True),
    "int64": st.integers(-1000, 1000),
    "bool": st.booleans(),
}


@st.composite
def series(draw: st.DrawFn) -> pd.Series:
    """Numeric Series of 0 to 15 values, with NaN and infinities, sometimes a duplicate
    index and a name."""
    dtype = draw(st.sampled_from(sorted(VALUES)))
    n = draw(st.integers(0, 15))
    values = np.array(draw(st.lists(VALUES[dtype], min_size=n, max_size=n)), dtype=dtype)
    index = draw(st.one_of(st.just(None), st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return pd.Series(values, index=index, name=draw(st.sampled_from([None, "x"])))


def affine(v):
    return v * 2.5 + 1


def branchy(v):
    if v > 1:
        return v - 1
    elif v < -1:
        return -v
    return 0.0


def positive(v):
    return v > 0


def halves(v):
    return v / 2


def inverse(v):
    return 1 / v  # ZeroDivisionError on 0, as in Python


def rooted(v):
    return math.sqrt(v)  # ValueError on negative values, as in Python


def squared_int(v):
    return v * v


FUNCTIONS = [affine, branchy, positive, halves, inverse, rooted, squared_int]
ALWAYS = {affine, branchy, positive, halves, squared_int}


def _outcome(call):
    try:
        return call(), None
    except Exception as exc:
        return None, type(exc)


@settings(max_examples=150)
@given(
    s=series(),
    func=st.sampled_from(FUNCTIONS),
    method=st.sampled_from(["map", "apply", "map-ignore"]),
)
def test_map_and_apply_equal_pandas(s, func, method):
    if method == "map":
        call = lambda: s.map(func)  # noqa: E731
    elif method == "map-ignore":
        call = lambda: s.map(func, na_action="ignore")  # noqa: E731
    else:
        call = lambda: s.apply(func)  # noqa: E731
    expected, expected_error = _outcome(call)
    with routing() as session:
        got, error = _outcome(call)
    assert error is expected_error
    if expected_error is None:
        pd.testing.assert_series_equal(got, expected)
        if func in ALWAYS and len(s) and not (method == "map-ignore" and func is positive):
            assert session.accelerated, session.notes()


def test_a_numeric_function_numba_cannot_compile_is_mapped_by_value():
    labels = {0: "low", 1: "mid", 2: "high"}
    s = pd.Series(np.arange(40) % 3, name="level")
    with routing() as session:
        got = s.map(lambda v: labels[v])
    pd.testing.assert_series_equal(got, s.map(lambda v: labels[v]))
    assert "3 distinct values of 40" in session.notes()[0]


def test_a_ufunc_is_left_to_pandas():
    s = pd.Series([1.0, 4.0])
    with routing() as session:
        got = s.apply(np.sqrt)
    pd.testing.assert_series_equal(got, s.apply(np.sqrt))
    assert not session.accelerated


def scaled(df):
    return df["x"].map(lambda v: v * 3.0 - 1.0 if v == v else 0.0)


def test_the_stage_runs_the_compiled_map():
    df = pd.DataFrame({"x": np.random.default_rng(2).normal(size=30_000)})
    stage = vp.stage(scaled)
    pd.testing.assert_series_equal(stage(df), scaled(df))
    assert stage.choice(df) == NAME
    assert "Series.map(a lambda" in str(stage.explain())


@pytest.mark.parametrize("na_action", [None, "ignore"])
def test_int_results_with_nan_become_float_as_in_pandas(na_action):
    s = pd.Series([1.0, np.nan, 3.0])
    call = lambda: s.map(lambda v: 7 if v > 2 else 1, na_action=na_action)  # noqa: E731
    with routing() as session:
        got = call()
    pd.testing.assert_series_equal(got, call())
    assert session.accelerated


def test_python_rechecks_one_row_per_distinct_suspect_input():
    from vecpipe.idioms._compile import recheck

    calls = []

    def logged(v):
        return math.log1p(v) if v == v else v

    values = np.array([np.nan] * 500 + [np.inf] * 300 + [1.0] * 200)
    with np.errstate(all="ignore"):
        out = np.log1p(values)
    checked = recheck(logged, [values], out, lambda i: calls.append(i) or logged(values[i]))
    assert checked == 2 and calls == [0, 500]  # one NaN, one infinity; 1.0 is finite
