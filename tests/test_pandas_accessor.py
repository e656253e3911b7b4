"""The ``.vp`` accessor and ``pipe``: the kernels the pandas way, on pandas 3 data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
import vecpipe.kernels as vk
from vecpipe.pandas_accessor import KERNEL_NAMES

RNG = np.random.default_rng(3)


@pytest.fixture
def flights() -> pd.DataFrame:
    n = 300
    delay = RNG.normal(10, 30, size=n)
    delay[RNG.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "carrier": pd.array(RNG.choice(["UA", "AA", "DL", None], size=n), dtype="str"),
            "delay": delay,
            "distance": pd.array(RNG.integers(100, 3000, size=n), dtype="Int64"),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )


def test_accessor_offers_every_registered_kernel():
    assert sorted(KERNEL_NAMES) == sorted(k.name for k in vk.REGISTRY)
    assert set(KERNEL_NAMES) <= set(dir(pd.Series([1.0]).vp))
    assert set(KERNEL_NAMES) <= set(dir(pd.DataFrame({"a": [1.0]}).vp))


@pytest.mark.parametrize("kernel", vk.REGISTRY, ids=lambda k: k.name)
def test_each_registered_kernel_is_a_method_that_calls_it(kernel):
    s = pd.Series([1.0, 2.0, np.nan, 4.0], index=[10, 11, 12, 13], name="x")
    got = getattr(s.vp, kernel.name)(*kernel.args, **kernel.kwargs)
    expected = kernel.function(s, *kernel.args, **kernel.kwargs)
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected)
    else:
        np.testing.assert_array_equal(got, expected)
    method = getattr(pd.DataFrame({"x": s}).vp, kernel.name)
    assert method.__name__ == kernel.name
    assert f"vecpipe.kernels.{kernel.name}" in method.__doc__


def test_a_name_that_is_no_kernel_says_which_are():
    with pytest.raises(
        AttributeError, match=r"'Series.vp' has no kernel 'rolling_avg'.*rolling_mean"
    ):
        pd.Series([1.0]).vp.rolling_avg(2)


def test_series_accessor_equals_the_kernel_function(flights):
    s = flights["delay"]
    pd.testing.assert_series_equal(s.vp.rolling_mean(5), vk.rolling_mean(s, 5))
    pd.testing.assert_series_equal(s.vp.ewm_mean(span=4), s.ewm(span=4).mean())


def test_frame_accessor_runs_every_column(flights):
    numeric = flights[["delay", "distance"]]
    got = numeric.vp.cumsum()
    expected = numeric.astype("float64").cumsum()
    pd.testing.assert_frame_equal(got, expected)


def test_group_kernels_take_the_key_column_by_name(flights):
    got = flights.vp.group_mean("carrier")
    expected = flights.groupby("carrier").mean().astype("float64")
    pd.testing.assert_frame_equal(got, expected)
    zs = flights.vp.group_zscore("carrier")
    assert list(zs.columns) == ["delay", "distance"] and zs.index.equals(flights.index)
    by = flights.groupby("carrier")["delay"]
    want = (flights["delay"] - by.transform("mean")) / by.transform("std")
    pd.testing.assert_series_equal(zs["delay"], want, rtol=1e-12)


def test_kernels_work_with_pipe(flights):
    pd.testing.assert_frame_equal(
        flights.pipe(vk.group_sum, "carrier"), flights.vp.group_sum("carrier")
    )
    pd.testing.assert_series_equal(
        flights["delay"].pipe(vk.rolling_max, 3), flights["delay"].rolling(3).max()
    )


def test_nullable_values_become_float_with_nan():
    s = pd.Series([1, None, 3, 4], dtype="Int64", name="n")
    got = s.vp.rolling_sum(2, min_periods=1)
    assert got.dtype == np.float64
    expected = s.astype("Float64").rolling(2, min_periods=1).sum().astype("float64")
    pd.testing.assert_series_equal(got, expected)


def test_copy_on_write_inputs_are_not_modified(flights):
    before = flights.copy(deep=True)
    view = flights["delay"]
    view.vp.ffill()
    flights.vp.group_demean("carrier")
    pd.testing.assert_frame_equal(flights, before)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"s": ["a", "b"]}), "column 's'.*select_dtypes"),
        (pd.DataFrame({"o": pd.Series([1, "x"], dtype=object)}), "column 'o'.*not numeric"),
        (pd.DataFrame({"t": pd.to_datetime(["2024-01-01", "2024-01-02"])}), "not numeric"),
    ],
    ids=["string-column", "mixed-object-column", "datetime-column"],
)
def test_non_numeric_columns_get_a_clear_error(frame, match):
    with pytest.raises(vp.InvalidArgument, match=f"(?s)rolling_mean: .*{match}"):
        frame.vp.rolling_mean(2)


def test_unknown_key_column_names_the_columns(flights):
    with pytest.raises(vp.InvalidArgument, match=r"keys='airline'.*not a column.*'carrier'"):
        flights.vp.group_sum("airline")
