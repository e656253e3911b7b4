"""iterrows() and itertuples() loops: the same values, of the same types, as pandas."""

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

FLOATS = st.one_of(st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, np.nan]))


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """0 to 8 rows: floats, ints, text (with NaN, sometimes None), bools; a duplicate
    index now and then; sometimes only numbers, only text or only bools."""
    n = draw(st.integers(0, 8))
    kind = draw(st.sampled_from(["numeric", "mixed", "text", "bools"]))
    data: dict[str, object] = {}
    if kind in ("numeric", "mixed"):
        data["a"] = np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64)
        data["b"] = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    if kind in ("mixed", "text"):
        pool = ["x", "y", np.nan] + ([None] if draw(st.booleans()) else [])
        text = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
        data["s"] = pd.Series(text, dtype=draw(st.sampled_from(["str", object]))).array
        data["t"] = draw(st.lists(st.sampled_from(["u", "v"]), min_size=n, max_size=n))
    if kind == "bools":
        data["f"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    index = draw(st.one_of(st.just(None), st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    return pd.DataFrame(data, index=index)


def _same(value):
    """A value and its type, NaN made comparable."""
    if isinstance(value, float) and math.isnan(value):
        return (type(value), "nan")
    return (type(value), value)


def read_by_label(df):
    seen = []
    for label, row in df.iterrows():
        seen.append(("label", label, row.name))
        for column in df.columns:
            seen.append((column, _same(row[column]), _same(row.get(column))))
        seen.append(("missing", row.get("nope", "default")))
    return seen


def read_by_attribute(df):
    seen = []
    for _, row in df.iterrows():
        seen.extend(_same(getattr(row, c)) for c in df.columns if c.isidentifier())
    return seen


def use_the_series(df):
    seen = []
    for _, row in df.iterrows():
        seen.append((len(row), list(row.index), [_same(v) for v in row.tolist()]))
        seen.append(sorted((k, repr(v)) for k, v in row.to_dict().items()))
        seen.append(repr(row[list(df.columns[:1])]))
    return seen


def write_then_read(df):
    seen = []
    for _, row in df.iterrows():
        if len(df.columns):
            first = df.columns[0]
            row[first] = 0
            seen.append(_same(row[first]))
            seen.append(repr(row.dtype))
    return seen


def tuples(df):
    return [tuple(_same(v) for v in row) for row in df.itertuples()]


def plain_tuples(df):
    return [(type(row).__name__, row) for row in df.itertuples(index=False, name=None)]


def named_fields(df):
    return [row._fields for row in df.itertuples(name="Flight")][:1]


LOOPS = [
    read_by_label,
    read_by_attribute,
    use_the_series,
    write_then_read,
    tuples,
    plain_tuples,
    named_fields,
]


def _outcome(call):
    try:
        return repr(call()), None
    except Exception as exc:
        return None, type(exc)


@settings(max_examples=200)
@given(df=frames(), loop=st.sampled_from(LOOPS))
def test_row_loops_see_what_pandas_gives(df, loop):
    expected, expected_error = _outcome(lambda: loop(df))
    with routing() as session:
        got, error = _outcome(lambda: loop(df))
    assert error is expected_error
    assert got == expected
    no_none = not any(v is None for v in df.to_numpy().ravel())
    if no_none and (len(df) or "itertuples" in str(loop.__code__.co_names)):
        assert session.accelerated, session.notes()


def test_an_object_frame_with_none_is_left_to_pandas():
    df = pd.DataFrame({"s": pd.Series(["x", None], dtype=object), "t": ["u", "v"]})
    with routing() as session:
        got = [row["s"] for _, row in df.iterrows()]
    assert got == [row["s"] for _, row in df.iterrows()]  # None reads as NaN in pandas
    assert "None or pd.NA" in session.notes()[0]


def total_value(df):
    total = 0.0
    for _, row in df.iterrows():
        if row["qty"] > 0:
            total += row["qty"] * row.price
    return total


def test_the_stage_runs_the_loop_without_a_series_per_row():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"qty": rng.integers(-2, 10, 5_000), "price": rng.uniform(1, 9, 5_000)})
    stage = vp.stage(total_value)
    assert stage(df) == pytest.approx(total_value(df), rel=1e-12)
    assert stage.choice(df) == NAME
    assert "iterrows -> 5,000 rows read" in str(stage.explain())


def zeroed_total(df):
    total = 0.0
    for _, row in df.iterrows():
        row.qty = 0  # sets the row Series' value in pandas
        total += row["qty"] + row["price"]
    return total


def test_setting_a_row_attribute_makes_the_variant_give_way_to_the_reference():
    df = pd.DataFrame({"qty": [1, 2, 3], "price": [1.5, 2.5, 3.5]})
    stage = vp.stage(zeroed_total)
    assert stage(df) == zeroed_total(df)
    row = stage.explain().to_frame().set_index("variant").loc[NAME]
    assert row["status"] == "failed" and "AttributeError" in row["reason"]
