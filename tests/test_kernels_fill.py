"""vecpipe.kernels.fill: every kernel in the registry equals its pandas expression.

Driven by ``vecpipe.kernels.REGISTRY``: a kernel registered there with family "fill"
gets the fixed cases, the conversions, verification of every variant, and the argument
checks. Fills copy values, so every comparison is exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
import vecpipe.kernels.fill  # registers the family
from vecpipe.kernels import REGISTRY

KERNELS = [k for k in REGISTRY if k.family == "fill"]
IDS = [k.name for k in KERNELS]
RNG = np.random.default_rng(0)
LIMITS = [None, 1, 2, 7, 100]


def _data(n: int = 200, p: float = 0.3) -> np.ndarray:
    x = RNG.normal(size=n)
    x[RNG.random(n) < p] = np.nan
    return x


CASES = {
    "nan-runs": _data(),
    "mostly-nan": _data(300, 0.9),
    "leading-nans": np.r_[np.full(5, np.nan), np.arange(1.0, 11.0)],
    "trailing-nans": np.r_[np.arange(1.0, 6.0), np.full(5, np.nan)],
    "long-nan-run": np.r_[np.ones(5), np.full(30, np.nan), np.arange(10.0)],
    "all-nan": np.full(10, np.nan),
    "inf": np.array([np.nan, np.inf, np.nan, np.nan, -np.inf, np.nan]),
    "signed-zeros": np.array([-0.0, np.nan, 0.0, np.nan, -0.0]),
    "no-nan": np.arange(6.0),
    "empty": np.array([]),
    "length-1": np.array([2.5]),
    "length-1-nan": np.array([np.nan]),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_equals_pandas_on_fixed_cases(kernel, case):
    x = CASES[case]
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    for limit in LIMITS:
        expected = kernel.pandas(s, limit=limit)
        pd.testing.assert_series_equal(kernel.function(s, limit=limit), expected, check_exact=True)
        arr = kernel.function(x, limit=limit)
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
        np.testing.assert_array_equal(arr, expected.to_numpy())
        np.testing.assert_array_equal(np.signbit(arr), np.signbit(expected.to_numpy()))


@pytest.mark.parametrize("limit", [None, 3])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_parallel_variant_across_chunks(kernel, limit):
    # Verification data is short (one chunk); this crosses several 64K chunks, with a
    # chunk that is all NaN and NaN runs over chunk boundaries.
    x = _data(400_000, 0.5)
    x[65_530:65_540] = np.nan
    x[131_000:270_000] = np.nan
    run = kernel.stage.variants["numba_parallel"].run
    expected = kernel.pandas(pd.Series(x), limit=limit).to_numpy()
    np.testing.assert_array_equal(run(x, limit), expected)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dataframe_column_by_column(kernel):
    df = pd.DataFrame({"a": _data(40), "b": np.arange(40.0)}, index=list(range(100, 140)))
    got = kernel.function(df, limit=2)
    pd.testing.assert_frame_equal(got, kernel.pandas(df, limit=2), check_exact=True)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_2d_along_axis(kernel, axis):
    a = np.stack([_data(30), _data(30), np.arange(30.0)], axis=1)
    expected = kernel.pandas(pd.DataFrame(a), limit=1).to_numpy()
    got = kernel.function(a if axis == 0 else a.T, limit=1, axis=axis)
    np.testing.assert_array_equal(got if axis == 0 else got.T, expected)


@pytest.mark.parametrize("dtype", ["float32", "int64", "Float64", "Int64"])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dtypes_become_float64(kernel, dtype):
    values = pd.array([None, 5, None, None, 7, None], dtype=dtype) if dtype[0].isupper() else None
    s = pd.Series(values if values is not None else np.array([1, 5, 4, 2, 7, 3], dtype=dtype))
    got = kernel.function(s, limit=1)
    pd.testing.assert_series_equal(got, kernel.pandas(s.astype("float64"), limit=1))
    assert got.dtype == np.float64


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({"limit": 0}, "limit=0", id="limit-zero"),
    pytest.param({"limit": -2}, "limit=-2", id="limit-negative"),
    pytest.param({"limit": 1.5}, "limit=1.5", id="limit-float"),
    pytest.param({"limit": True}, "limit=True", id="limit-bool"),
    pytest.param({"axis": 2}, "axis=2", id="axis-2"),
    pytest.param({"x": np.array(["a", "b"])}, "not numeric", id="strings"),
    pytest.param({"x": pd.Series(["a", "b"], dtype=object)}, "not numeric", id="object"),
    pytest.param({"x": np.zeros((2, 2, 2))}, "3 dimensions", id="3-d"),
    pytest.param({"x": 3.0}, "x=3.0", id="scalar"),
]


@pytest.mark.parametrize(("change", "match"), BAD_CALLS)
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_bad_arguments_raise_invalid_argument(kernel, change, match):
    call = {"x": np.arange(5.0), **change}
    x = call.pop("x")
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: .*{match}"):
        kernel.function(x, **call)
