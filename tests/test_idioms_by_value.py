"""Mapping by value (Series.map(dict), replace, functions on text): equal to pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecpipe as vp
from vecpipe.idioms import NAME
from vecpipe.idioms._intercept import routing

WORDS = ["  Apple", "banana ", "Cherry", "apple", ""]
CODES = {"  Apple": 1, "banana ": 2, "Cherry": 3}  # "apple" and "" are missing


@st.composite
def texts(draw: st.DrawFn) -> pd.Series:
    """Text Series of 0 to 40 rows from a few words: str or object dtype, missing values
    (NaN or None, or both in object columns), a categorical now and then, a duplicate
    index."""
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["str", "object", "category", "mixed-object"]))
    missing = draw(st.sampled_from([[np.nan], [None], [np.nan, None], []]))
    pool = WORDS + missing
    values = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    if kind == "mixed-object":
        values = [*values[: max(n - 2, 0)], 1, 1.0][:n]  # equal values of different types
    dtype = {"str": "str", "object": object, "category": "category", "mixed-object": object}[kind]
    index = draw(st.one_of(st.just(None), st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    return pd.Series(values, dtype=dtype, index=index, name=draw(st.sampled_from([None, "w"])))


def cleaned(v):
    return v.strip().lower() if isinstance(v, str) else "?"


def coded(v):
    return CODES.get(v, -1)


def length(v):
    return len(v) if isinstance(v, str) else 0


CALLS = {
    "map-dict": lambda s: s.map(CODES),
    "map-dict-ignore": lambda s: s.map(CODES, na_action="ignore"),
    "map-series": lambda s: s.map(pd.Series(CODES)),
    "map-get": lambda s: s.map(coded),
    "apply-clean": lambda s: s.apply(cleaned),
    "map-len": lambda s: s.map(length),
    "replace-dict": lambda s: s.replace({"  Apple": "apple", "Cherry": "cherry"}),
    "replace-scalar": lambda s: s.replace("banana ", "banana"),
    "replace-regex": lambda s: s.replace(r"^\s+", "", regex=True),
}


def _outcome(call):
    try:
        return call(), None
    except Exception as exc:
        return None, type(exc)


@settings(max_examples=150)
@given(s=texts(), how=st.sampled_from(sorted(CALLS)))
def test_by_value_equals_pandas(s, how):
    call = CALLS[how]
    expected, expected_error = _outcome(lambda: call(s))
    with routing() as session:
        got, error = _outcome(lambda: call(s))
    assert error is expected_error
    if expected_error is None:
        pd.testing.assert_series_equal(got, expected)
    uniform = s.dtype != object or len({type(v) for v in s if v is None or v != v}) <= 1
    text_only = s.dtype != object or all(isinstance(v, str) or v is None or v != v for v in s)
    if len(s) >= 28 and s.dtype != "category" and uniform and text_only:  # <= 6 distinct
        assert session.accelerated, session.notes()


def test_declines_say_why():
    cases = {
        "categorical data": pd.Series(["a", "b"] * 20, dtype="category"),
        "more than text": pd.Series(["a", 1, 1.0] * 20, dtype=object),
        "several kinds": pd.Series(["a", None, np.nan] * 20, dtype=object),
        "more than 25%": pd.Series([f"w{i}" for i in range(40)]),
        "an empty Series": pd.Series([], dtype="str"),
    }
    for reason, s in cases.items():
        with routing() as session:
            s.map(CODES)
        assert not session.accelerated
        assert reason in session.notes()[0], session.notes()


_SEEN: list[str] = []


def remembered(v):
    _SEEN.append(v)
    return v.upper()


def test_a_function_with_side_effects_is_called_for_every_row():
    s = pd.Series(["a", "b"] * 20)
    _SEEN.clear()
    with routing() as session:
        s.map(remembered)
    assert len(_SEEN) == 40
    assert "calls _SEEN.append()" in session.notes()[0]


def test_float_zero_signs_are_not_merged():
    s = pd.Series([0.0, -0.0] * 20)
    call = lambda: s.map(lambda v: str(v))  # noqa: E731
    with routing() as session:
        got = call()
    pd.testing.assert_series_equal(got, call())
    assert "-0.0" in session.notes()[0]


def tidy(df):
    return df["name"].map(lambda v: v.strip().title())


@pytest.fixture(scope="module")
def names() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    pool = np.array([f"  customer {i} " for i in range(100)], dtype=object)
    return pd.DataFrame({"name": pool[rng.integers(0, 100, 40_000)]})


def test_the_stage_maps_by_value_and_explain_counts_the_values(names):
    stage = vp.stage(tidy)
    pd.testing.assert_series_equal(stage(names), tidy(names))
    assert stage.choice(names) == NAME
    assert "100 distinct values of 40,000" in str(stage.explain())


def test_text_in_an_object_column_stays_object():
    s = pd.Series(["a", "b", "c"] * 20, dtype=object)
    with routing() as session:
        got = s.replace({"a": "z"})
    expected = s.replace({"a": "z"})
    assert expected.dtype == object and session.accelerated
    pd.testing.assert_series_equal(got, expected)
