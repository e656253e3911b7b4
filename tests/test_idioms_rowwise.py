"""DataFrame.apply(func, axis=1) compiled over columns: equal to pandas on generated frames."""

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

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.nan]),
)
SMALL_INTS = st.integers(-5, 5)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """Frames of 0 to 12 rows: floats a, b (NaN, infinities, -0.0), ints c; sometimes a
    text or bool column (object rows), an int-only frame, a duplicate index."""
    n = draw(st.integers(0, 12))
    kind = draw(st.sampled_from(["numeric", "text", "bool", "ints"]))
    data: dict[str, object] = {}
    if kind == "ints":
        data["a"] = draw(st.lists(SMALL_INTS, min_size=n, max_size=n))
        data["b"] = draw(st.lists(SMALL_INTS, min_size=n, max_size=n))
    else:
        data["a"] = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
        data["b"] = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
    data["c"] = np.array(draw(st.lists(SMALL_INTS, min_size=n, max_size=n)), dtype=np.int64)
    if kind == "text":
        data["s"] = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n))
    if kind == "bool":
        data["flag"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    index = draw(
        st.one_of(
            st.just(None),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),  # duplicates likely
        )
    )
    return pd.DataFrame(data, index=index)


def weighted(row):
    return row["a"] * 2.0 + row.b


def branchy(row):
    if row["a"] > row["b"]:
        return math.sqrt(abs(row["a"]))
    elif row["c"] > 0:
        return row["c"] / 3
    return -1.0


def both_positive(row):
    return row["a"] > 0 and row.b > 0


def ratio(row):
    return row["a"] / row["c"]


def logged(row):
    return math.log(row["a"])


def weekday(row):
    if math.isnan(row["a"]):
        return -1
    return int(row["a"]) % 7


def flagged(row):
    if row["a"] > 0:
        return True
    return 0


def text_length(row):
    return len(row["s"])


FUNCTIONS = [weighted, branchy, both_positive, ratio, logged, weekday, flagged, text_length]
#: Always compiled on a numeric, non-empty frame.
ALWAYS = {weighted, branchy, both_positive, ratio}


def _outcome(call):
    try:
        return call(), None
    except Exception as exc:
        return None, type(exc)


@settings(max_examples=150)
@given(func=st.sampled_from(FUNCTIONS), df=frames())
def test_apply_axis1_equals_pandas(func, df):
    with np.errstate(all="ignore"):  # NumPy scalars warn on a division by zero
        expected, expected_error = _outcome(lambda: df.apply(func, axis=1))
        with routing() as session:
            got, error = _outcome(lambda: df.apply(func, axis=1))
    assert error is expected_error
    if expected_error is None:
        pd.testing.assert_series_equal(got, expected) if isinstance(
            expected, pd.Series
        ) else pd.testing.assert_frame_equal(got, expected)
    numeric = all(d.kind in "if" for d in df.dtypes)
    if func in ALWAYS and numeric and len(df) and expected_error is None:
        assert session.accelerated, session.notes()


def test_declines_say_why():
    df = pd.DataFrame({"a": [1.0, np.nan], "c": [1, 2], "s": ["x", "y"]})
    cases = {
        flagged: "booleans with numbers or NaN among the results",
        text_length: "column 's' (str)",
    }
    for func, reason in cases.items():
        with routing() as session:
            df.apply(func, axis=1)
        assert not session.accelerated
        assert any(reason in note for note in session.notes()), session.notes()


def unguarded_weekday(row):
    return int(row["a"]) % 7


def test_where_python_raises_pandas_raises():
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    with routing() as session, pytest.raises(ValueError, match="NaN"):
        df.apply(unguarded_weekday, axis=1)
    assert not session.accelerated
    assert "raises ValueError in Python" in session.notes()[0]


def test_a_guarded_conversion_is_compiled_on_data_with_nan():
    df = pd.DataFrame({"a": [1.0, np.nan, 9.0], "b": 0.0})
    with routing() as session:
        got = df.apply(weekday, axis=1)
    assert session.accelerated
    pd.testing.assert_series_equal(got, df.apply(weekday, axis=1))


def test_a_closure_value_is_never_stale():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]})

    def above(threshold):
        return df.apply(lambda row: row["a"] > threshold, axis=1)

    with routing() as session:
        first, second = above(1.5), above(2.5)
    assert session.accelerated
    assert first.tolist() == [False, True, True]
    assert second.tolist() == [False, False, True]


def test_row_name_attribute_is_the_label_not_a_column():
    df = pd.DataFrame({"name": [1.0, 2.0]}, index=[10, 20])
    with routing():
        got = df.apply(lambda row: row.name * 1.0, axis=1)
    pd.testing.assert_series_equal(got, df.apply(lambda row: row.name * 1.0, axis=1))


@pytest.fixture(scope="module")
def flights_like() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 50_000
    return pd.DataFrame(
        {
            "dep_delay": rng.normal(10, 30, n),
            "arr_delay": rng.normal(5, 40, n),
            "distance": rng.integers(100, 3000, n),
            "carrier": rng.choice(["AA", "UA", "DL"], n),
        }
    )


def late_score(df):
    return df.apply(
        lambda row: (
            (row["arr_delay"] - row["dep_delay"]) / row["distance"] * 100.0
            if row["arr_delay"] > 15
            else 0.0
        ),
        axis=1,
    )


def test_the_stage_chooses_the_compiled_rows_and_equals_the_reference(flights_like):
    stage = vp.stage(late_score)
    pd.testing.assert_series_equal(stage(flights_like), late_score(flights_like))
    assert stage.choice(flights_like) == NAME
    text = str(stage.explain())
    assert "compiled over columns dep_delay, arr_delay, distance" in text
