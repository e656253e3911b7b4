"""Group-wise lambdas (transform, apply, agg) traced and run for all groups at once:
equal to pandas, bit for bit, on generated frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vecpipe as vp
from vecpipe.idioms import NAME
from vecpipe.idioms._intercept import routing
from vecpipe.idioms.groupwise import trace

VALUES = st.one_of(
    st.floats(-1e6, 1e6),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, 2.5]),
)


@st.composite
def grouped(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, object]]:
    """A frame of 0 to 30 rows (float x; keys k as ints, ints with NaN, text, categories
    with an unobserved one; sometimes a second key j) and groupby options."""
    n = draw(st.integers(0, 30))
    x = np.array(draw(st.lists(VALUES, min_size=n, max_size=n)), dtype=np.float64)
    codes = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["int", "int-nan", "text", "category"]))
    if kind == "int":
        k: object = np.array(codes, dtype=np.int64)
    elif kind == "int-nan":
        k = np.array([np.nan if c == 3 else c for c in codes], dtype=np.float64)
    elif kind == "text":
        k = pd.array([None if c == 3 else "abc"[c] for c in codes], dtype="str")
    else:
        k = pd.Categorical(["abc"[c % 3] for c in codes], categories=["a", "b", "c", "z"])
    data = {"x": x, "k": k, "j": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))}
    index = draw(st.one_of(st.just(None), st.lists(st.integers(0, 5), min_size=n, max_size=n)))
    df = pd.DataFrame(data, index=index)
    options: dict[str, object] = {
        "by": draw(st.sampled_from(["k", ["k", "j"]])),
        "dropna": draw(st.booleans()),
        "sort": draw(st.booleans()),
    }
    if kind == "category":
        options["observed"] = draw(st.booleans())
    return df, options


ROWS = {
    "zscore": lambda g: (g - g.mean()) / g.std(),
    "demean-var": lambda g: g - g.var(ddof=0) * 0.5,
    "fill-median": lambda g: g.fillna(g.median()),
    "fill-constant": lambda g: g.fillna(0.0),
    "rolling-mean": lambda g: g.rolling(2).mean(),
    "rolling-max-minp": lambda g: g.rolling(3, min_periods=1).max() - g.rolling(2).min(),
    "rolling-sum": lambda g: g.rolling(2, min_periods=0).sum(),
    "shift-diff": lambda g: g.shift(1) + g.diff(2) - g.shift(-1),
    "cumulative": lambda g: g.cumsum() + g.cumprod() * 0 + g.cummax() - g.cummin(),
    "rank": lambda g: g.rank(),
    "rank-pct": lambda g: g.rank(pct=True),
    "clip": lambda g: g.clip(lower=g.mean(), upper=g.max()),
    "clip-scalar": lambda g: g.clip(-1.0, 1.0).abs(),
    "ufuncs": lambda g: np.log1p(np.abs(g)) + np.sqrt(np.square(g)),
    "compare": lambda g: g > g.mean(),
    "round": lambda g: (g * 3.3).round(1),
    "count-share": lambda g: g / g.count(),
}
SCALARS = {
    "range": lambda g: g.max() - g.min(),
    "sum-mean": lambda g: g.sum() + g.mean(),
    "count": lambda g: g.count(),
    "count-plus": lambda g: g.count() * 2 + 1,
    "std": lambda g: g.std(),
    "prod-median": lambda g: g.prod() - g.median(),
    "clipped-sum": lambda g: g.clip(upper=g.mean()).sum(),
    "above": lambda g: g.max() > 1,
}
CALLS = {
    **{f"transform:{name}": ("transform", f) for name, f in {**ROWS, **SCALARS}.items()},
    **{f"agg:{name}": ("agg", f) for name, f in SCALARS.items()},
    **{f"apply:{name}": ("apply", f) for name, f in SCALARS.items()},
}


def _outcome(call):
    try:
        return call(), None
    except Exception as exc:
        return None, type(exc)


@settings(max_examples=200)
@given(case=grouped(), how=st.sampled_from(sorted(CALLS)))
def test_group_lambdas_equal_pandas_exactly(case, how):
    df, options = case
    method, func = CALLS[how]
    by = options.pop("by")

    def call():
        return getattr(df.groupby(by, **options)["x"], method)(func)

    with np.errstate(all="ignore"):
        expected, expected_error = _outcome(call)
        with routing() as session:
            got, error = _outcome(call)
    assert error is expected_error
    if expected_error is None:
        pd.testing.assert_series_equal(got, expected, check_exact=True)
    if expected_error is None and len(expected) and session.notes():
        note = session.notes()[0]
        assert session.accelerated or "booleans with dropped keys" in note, note


@pytest.mark.parametrize(
    ("func", "reason"),
    [
        (lambda g: g.mean() if g.mean() > 0 else 0, "a decision on a group's values"),
        (lambda g: len(g), "len() of a group"),
        (lambda g: g.iloc[0], ".iloc"),
        (lambda g: g.quantile(0.9), ".quantile"),
        (lambda g: g.rank(method="min").sum(), "other than the average rank"),
        (lambda g: g.values.mean(), ".values"),
        (lambda g: g.name, ".name"),
    ],
    ids=["branch", "len", "iloc", "quantile", "rank-min", "values", "name"],
)
def test_what_cannot_be_traced_is_left_to_pandas_and_explained(func, reason):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [1, 1, 2]})
    with routing() as session:
        got, error = _outcome(lambda: df.groupby("k")["x"].agg(func))
    expected, expected_error = _outcome(lambda: df.groupby("k")["x"].agg(func))
    assert error is expected_error
    if error is None:
        pd.testing.assert_series_equal(got, expected)
    assert not session.accelerated
    assert reason in session.notes()[0], session.notes()


def test_non_float_values_are_left_to_pandas():
    df = pd.DataFrame({"x": [1, 2, 3], "k": [1, 1, 2]})
    with routing() as session:
        got = df.groupby("k")["x"].transform(lambda g: g - g.mean())
    pd.testing.assert_series_equal(got, df.groupby("k")["x"].transform(lambda g: g - g.mean()))
    assert "int64, not float64" in session.notes()[0]


def test_the_trace_is_an_expression():
    node = trace(lambda g: g.rolling(3).mean() - g.shift(1))
    assert (node.op, node.kind) == ("sub", "rows")
    assert [a.op for a in node.args] == ["rolling:mean", "shift"]


def demeaned_delays(df):
    by_carrier = df.groupby("carrier")["delay"]
    return by_carrier.transform(lambda g: (g - g.mean()) / g.std())


def test_the_stage_runs_the_traced_transform():
    rng = np.random.default_rng(5)
    n = 30_000
    df = pd.DataFrame({"carrier": rng.choice(list("ABCDEFGH"), n), "delay": rng.normal(10, 30, n)})
    stage = vp.stage(demeaned_delays)
    pd.testing.assert_series_equal(stage(df), demeaned_delays(df), check_exact=True)
    assert stage.choice(df) == NAME
    assert "mean, std over 8 groups of 30,000 rows at once" in str(stage.explain())
