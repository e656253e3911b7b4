"""vecpipe.kernels.cumulative: every kernel in the registry equals its pandas expression.

Driven by ``vecpipe.kernels.REGISTRY``: a kernel registered there with family
"cumulative" gets the fixed cases, the conversions, verification of every variant, and
the argument checks.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
import vecpipe.kernels.cumulative  # registers the family
from vecpipe.kernels import REGISTRY

KERNELS = [k for k in REGISTRY if k.family == "cumulative"]
IDS = [k.name for k in KERNELS]
CUM = [k for k in KERNELS if k.name.startswith("cum")]
CUM_IDS = [k.name for k in CUM]
RNG = np.random.default_rng(0)


def _data(n: int = 200) -> np.ndarray:
    x = RNG.normal(size=n)
    x[RNG.random(n) < 0.15] = np.nan
    return x


CASES = {
    "nan-runs": _data(),
    "leading-nans": np.r_[np.full(5, np.nan), np.arange(1.0, 11.0)],
    "long-nan-run": np.r_[np.ones(5), np.full(30, np.nan), np.arange(10.0)],
    "all-nan": np.full(10, np.nan),
    "inf": np.array([1.0, np.inf, 2.0, np.nan, -np.inf, 4.0]),
    "neg-inf-first": np.array([-np.inf, 1.0, np.nan, 2.0]),
    "large-offset": 1e10 + RNG.normal(size=3000),
    "large-magnitudes": np.array([1e300, 1e300, -1e300, 3.0, np.nan, -1e-300]),
    "cancelling": np.array([1e16, 1.0, -1e16, 2.0]),
    "near-one": 1.0 + RNG.normal(scale=1e-3, size=500),
    "constant": np.full(40, 0.1),
    "signed-zeros": np.array([-0.0, np.nan, -0.0, 0.0, -0.0]),
    "empty": np.array([]),
    "length-1": np.array([2.5]),
}


def _kwargs_list(kernel):
    if kernel.name == "expanding_mean":
        return [{"min_periods": 1}, {"min_periods": 0}, {"min_periods": 3}]
    return [{"skipna": True}, {"skipna": False}]


def _tolerances(kernel, x):
    # cumsum is Kahan-compensated; pandas' plain running sum carries up to about
    # n * eps * sum(|x|) of rounding error (all of it where large values cancel).
    finite = np.abs(x[np.isfinite(x)])
    if kernel.name == "cumsum" and finite.size:
        return {"rtol": 1e-9, "atol": len(x) * 2.3e-16 * min(finite.sum(), 1e308)}
    return {"rtol": 1e-9, "atol": 0.0}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # cumprod of 1e10s
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_equals_pandas_on_fixed_cases(kernel, case):
    x = CASES[case]
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    tol = _tolerances(kernel, x)
    for kwargs in _kwargs_list(kernel):
        expected = kernel.pandas(s, **kwargs)
        got = kernel.function(s, **kwargs)
        pd.testing.assert_series_equal(got, expected, **tol)
        arr = kernel.function(x, **kwargs)
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
        np.testing.assert_allclose(arr, expected.to_numpy(), equal_nan=True, **tol)


def test_cumsum_does_not_drift():
    # A million 0.1s: the plain running sum (pandas) drifts from the exact prefix sums by
    # about 1e-6; the compensated one stays within an ulp or so.
    from vecpipe.kernels.cumulative import cumsum

    x = np.full(1_000_000, 0.1)
    got = cumsum(x)
    exact = [math.fsum(x[: i + 1]) for i in (999, 99_999, 999_999)]
    ours = got[[999, 99_999, 999_999]]
    plain = pd.Series(x).cumsum().to_numpy()[[999, 99_999, 999_999]]
    np.testing.assert_allclose(ours, exact, rtol=1e-15)
    assert abs(plain[-1] - exact[-1]) > 1e3 * abs(ours[-1] - exact[-1])
    np.testing.assert_allclose(got, pd.Series(x).cumsum().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("skipna", [True, False])
@pytest.mark.parametrize("kernel", [k for k in CUM if "numba_parallel" in k.stage.variants])
def test_parallel_variant_across_chunks(kernel, skipna):
    # Verification data is short (one chunk); this crosses several 64K chunks, with NaNs
    # on both sides of chunk boundaries.
    x = RNG.normal(size=300_000)
    x[RNG.random(x.size) < 0.01] = np.nan
    x[65_530:65_540] = np.nan
    if not skipna:
        x = np.abs(x[:200_000]) + 1.0  # only a late NaN, in the fourth chunk
        x[150_000] = np.nan
    run = kernel.stage.variants["numba_parallel"].run
    expected = kernel.pandas(pd.Series(x), skipna=skipna).to_numpy()
    np.testing.assert_allclose(run(x, skipna), expected, rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dataframe_column_by_column(kernel):
    df = pd.DataFrame({"a": _data(40), "b": np.arange(40.0)}, index=list(range(100, 140)))
    pd.testing.assert_frame_equal(kernel.function(df), kernel.pandas(df), rtol=1e-9)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_2d_along_axis(kernel, axis):
    a = np.stack([_data(30), _data(30), np.arange(30.0)], axis=1)
    expected = kernel.pandas(pd.DataFrame(a)).to_numpy()
    got = kernel.function(a if axis == 0 else a.T, axis=axis)
    got = got if axis == 0 else got.T
    np.testing.assert_allclose(got, expected, rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "int64", "Float64", "Int64"])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dtypes_become_float64(kernel, dtype):
    values = pd.array([1, 5, None, 2, 7, 3], dtype=dtype) if dtype[0].isupper() else None
    s = pd.Series(values if values is not None else np.array([1, 5, 4, 2, 7, 3], dtype=dtype))
    got = kernel.function(s)
    pd.testing.assert_series_equal(got, kernel.pandas(s.astype("float64")), rtol=1e-6)
    assert got.dtype == np.float64


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({"axis": 2}, "axis=2", id="axis-2"),
    pytest.param({"axis": 1.0}, "axis=1.0", id="axis-float"),
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


@pytest.mark.parametrize(
    ("skipna", "match"),
    [
        pytest.param(None, "skipna=None", id="none"),
        pytest.param(1, "skipna=1", id="int"),
        pytest.param("yes", "skipna='yes'", id="string"),
    ],
)
@pytest.mark.parametrize("kernel", CUM, ids=CUM_IDS)
def test_bad_skipna(kernel, skipna, match):
    with pytest.raises(vp.InvalidArgument, match=f"{kernel.name}: {match}"):
        kernel.function(np.arange(5.0), skipna=skipna)


@pytest.mark.parametrize("min_periods", [-1, 1.5, None, True], ids=["neg", "float", "none", "bool"])
def test_bad_min_periods(min_periods):
    from vecpipe.kernels.cumulative import expanding_mean

    with pytest.raises(vp.InvalidArgument, match="expanding_mean: min_periods="):
        expanding_mean(np.arange(5.0), min_periods=min_periods)
