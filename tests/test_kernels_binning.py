"""vecpipe.kernels.binning: digitize and histogram equal NumPy's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.kernels._core import REGISTRY
from vecpipe.kernels.binning import digitize, histogram

KERNELS = [k for k in REGISTRY if k.family == "binning"]
IDS = [k.name for k in KERNELS]
RNG = np.random.default_rng(0)
EDGES = np.array([-2.0, -1.0, 0.0, 0.0, 1.5, 3.0])
X = np.r_[RNG.normal(size=200) * 2, EDGES, [np.nan, np.inf, -np.inf, -5.0, 5.0]]

CASES = {
    "mixed": (X, EDGES),
    "on-edges": (EDGES.copy(), EDGES),
    "outside": (np.array([-9.0, 9.0, np.nan]), EDGES),
    "inf-edges": (X, np.array([-np.inf, 0.0, np.inf])),
    "empty": (np.array([]), EDGES),
    "length-1": (np.array([0.0]), EDGES),
    "two-edges": (X, np.array([0.0, 1.0])),
    "all-nan": (np.full(5, np.nan), EDGES),
}


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("decreasing", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_digitize_equals_numpy(case, decreasing, right):
    x, bins = CASES[case]
    bins = bins[::-1].copy() if decreasing else bins
    got = digitize(x, bins, right=right)
    expected = np.digitize(x, bins, right=right)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("case", list(CASES))
def test_histogram_equals_numpy(case):
    x, bins = CASES[case]
    got = histogram(x, bins)
    expected = np.histogram(x, bins)[0]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_histogram_counts_of_any_length_route_correctly():
    # len(x) equal to the number of bins on the first call must not fix the output length
    for n in (5, 7, 9, 11, 6, 13):
        x = RNG.normal(size=n)
        np.testing.assert_array_equal(histogram(x, EDGES), np.histogram(x, EDGES)[0])


def test_series_dataframe_and_2d():
    s = pd.Series(X, index=pd.RangeIndex(5, 5 + len(X)), name="v")
    pd.testing.assert_series_equal(digitize(s, EDGES), KERNELS[0].pandas(s, EDGES))
    df = pd.DataFrame({"a": X[:40], "b": X[40:80]}, index=range(100, 140))
    got = digitize(df, EDGES, right=True)
    expected = df.apply(lambda c: np.digitize(c.to_numpy(), EDGES, right=True))
    pd.testing.assert_frame_equal(got, expected)
    a = X[:60].reshape(20, 3)
    np.testing.assert_array_equal(digitize(a, EDGES), np.digitize(a, EDGES))
    np.testing.assert_array_equal(histogram(a, EDGES), np.histogram(a, EDGES)[0])
    np.testing.assert_array_equal(histogram(s, EDGES), np.histogram(X, EDGES)[0])
    ints = pd.Series(pd.array([1, None, 3], dtype="Int64"))
    np.testing.assert_array_equal(digitize(ints, EDGES), [4, 6, 6])


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({"bins": np.array([1.0, 0.0, 2.0])}, "not monotonically", id="unsorted"),
    pytest.param({"bins": np.array([0.0, np.nan])}, "NaN", id="nan-edge"),
    pytest.param({"bins": np.zeros((2, 2))}, "1-D numeric", id="2-d-bins"),
    pytest.param({"bins": 5}, "bins=5", id="int-bins"),
    pytest.param({"x": np.array(["a", "b"])}, "not numeric", id="strings"),
    pytest.param({"x": np.zeros((2, 2, 2))}, "3 dimensions", id="3-d"),
    pytest.param({"x": 3.0}, "x=3.0", id="scalar"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_bad_arguments_raise_invalid_argument(kernel, call, match):
    call = {"x": np.arange(5.0), "bins": np.array([0.0, 1.0, 2.0]), **call}
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: .*{match}"):
        kernel.function(call["x"], call["bins"])


@pytest.mark.parametrize(
    ("func", "kwargs", "match"),
    [
        (digitize, {"right": 1}, "right=1"),
        (histogram, {"bins": np.array([0.0])}, "at least 2"),
        (histogram, {"bins": np.array([2.0, 1.0])}, "not monotonically increasing"),
    ],
    ids=["right-int", "one-edge", "decreasing"],
)
def test_bad_function_specific(func, kwargs, match):
    kwargs = {"bins": np.array([0.0, 1.0]), **kwargs}
    with pytest.raises(vp.InvalidArgument, match=match):
        func(np.arange(3.0), **kwargs)
