"""vecpipe.kernels.moving: every kernel in the registry equals its pandas expression.

Driven by ``vecpipe.kernels.REGISTRY``: a kernel registered there gets the fixed cases,
the conversions, verification of every variant, and the argument checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.kernels import REGISTRY

KERNELS = [k for k in REGISTRY if k.family == "moving"]
IDS = [k.name for k in KERNELS]
RNG = np.random.default_rng(0)


def _data(n: int = 200) -> np.ndarray:
    x = RNG.normal(size=n)
    x[RNG.random(n) < 0.15] = np.nan
    return x


CASES = {
    "nan-runs": (_data(), 20, None),
    "long-nan-run": (np.r_[np.ones(5), np.full(30, np.nan), np.arange(10.0)], 7, 2),
    "window-over-length": (np.arange(5.0), 8, None),
    "window-over-length-min0": (np.arange(5.0), 8, 0),
    "min-periods-0": (_data(50), 5, 0),
    "min-periods-1": (_data(50), 5, 1),
    "window-1": (_data(30), 1, None),
    "all-nan": (np.full(10, np.nan), 3, 0),
    "inf": (np.array([1.0, np.inf, 2.0, 3.0, -np.inf, 4.0, 5.0, 6.0]), 2, 1),
    "large-offset": (1e10 + RNG.normal(size=3000), 50, None),
    "constant": (np.full(40, 0.1), 7, None),
    "empty": (np.array([]), 3, None),
    "length-1": (np.array([2.5]), 1, None),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_equals_pandas_on_fixed_cases(kernel, case):
    x, window, min_periods = CASES[case]
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    got = kernel.function(s, window, min_periods=min_periods)
    expected = kernel.pandas(s, window, min_periods=min_periods)
    pd.testing.assert_series_equal(got, expected, rtol=1e-9)
    arr = kernel.function(x, window, min_periods=min_periods)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    np.testing.assert_allclose(arr, expected.to_numpy(), rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dataframe_column_by_column(kernel):
    df = pd.DataFrame({"a": _data(40), "b": np.arange(40.0)}, index=list(range(100, 140)))
    got = kernel.function(df, 5)
    pd.testing.assert_frame_equal(got, kernel.pandas(df, 5), rtol=1e-9)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_2d_along_axis(kernel, axis):
    a = np.stack([_data(30), _data(30), np.arange(30.0)], axis=1)
    expected = kernel.pandas(pd.DataFrame(a), 4).to_numpy()
    got = kernel.function(a if axis == 0 else a.T, 4, axis=axis)
    got = got if axis == 0 else got.T
    np.testing.assert_allclose(got, expected, rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "int64", "Float64", "Int64"])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dtypes_become_float64_as_in_pandas(kernel, dtype):
    values = pd.array([1, 5, None, 2, 7, 3], dtype=dtype) if dtype[0].isupper() else None
    s = pd.Series(values if values is not None else np.array([1, 5, 4, 2, 7, 3], dtype=dtype))
    got = kernel.function(s, 3, min_periods=1)
    pd.testing.assert_series_equal(
        got, kernel.pandas(s.astype("float64"), 3, min_periods=1), rtol=1e-6
    )
    assert kernel.function(s.to_numpy(dtype="float64"), 3).dtype == np.float64


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({"window": 0}, "window=0", id="window-zero"),
    pytest.param({"window": 2.5}, "window=2.5", id="window-float"),
    pytest.param({"window": True}, "window=True", id="window-bool"),
    pytest.param({"min_periods": 4}, "min_periods=4", id="min-periods-over-window"),
    pytest.param({"min_periods": -1}, "min_periods=-1", id="min-periods-negative"),
    pytest.param({"axis": 2}, "axis=2", id="axis-2"),
    pytest.param({"axis": np.array([0, 1])}, "axis=array", id="axis-array"),
    pytest.param({"window": np.array([3, 4])}, "window=array", id="window-array"),
    pytest.param({"x": np.array(["a", "b"])}, "not numeric", id="strings"),
    pytest.param({"x": pd.Series(["a", "b"], dtype=object)}, "not numeric", id="object"),
    pytest.param({"x": np.zeros((2, 2, 2))}, "3 dimensions", id="3-d"),
    pytest.param({"x": 3.0}, "x=3.0", id="scalar"),
]


@pytest.mark.parametrize(("change", "match"), BAD_CALLS)
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_bad_arguments_raise_invalid_argument(kernel, change, match):
    call = {"x": np.arange(5.0), "window": 3, **change}
    x, window = call.pop("x"), call.pop("window")
    with pytest.raises(vp.InvalidArgument, match=f"{kernel.name}: .*{match}|{match}"):
        kernel.function(x, window, **call)


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.name in ("rolling_var", "rolling_std")])
@pytest.mark.parametrize("ddof", [-1, 1.5])
def test_bad_ddof(kernel, ddof):
    with pytest.raises(vp.InvalidArgument, match=f"{kernel.name}: ddof="):
        kernel.function(np.arange(5.0), 3, ddof=ddof)


@pytest.mark.parametrize("ddof", [0, 2])
@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.name in ("rolling_var", "rolling_std")])
def test_ddof_equals_pandas(kernel, ddof):
    s = pd.Series(_data(60))
    pd.testing.assert_series_equal(
        kernel.function(s, 6, min_periods=1, ddof=ddof),
        kernel.pandas(s, 6, min_periods=1, ddof=ddof),
        rtol=1e-9,
    )


# Longer than several of the parallel variants' chunks (64K values), so each chunk's cold
# start (re-reading the window - 1 values before it) is compared with pandas' one pass.
LONG = np.r_[_data(3 * (1 << 16) + 123), np.full(5000, np.nan), 1e6 + RNG.normal(size=9000)]


@pytest.mark.parametrize("window", [3, 1000, 70_000])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_equals_pandas_across_chunks(kernel, window):
    expected = kernel.pandas(pd.Series(LONG), window, min_periods=1).to_numpy()
    for name, variant in kernel.stage.variants.items():
        got = variant.run(LONG, window, 1)
        difference = kernel.stage.equal.compare(expected, got)
        assert difference is None, f"{name}: {difference}"


@pytest.mark.parametrize("name", ["rolling_min", "rolling_max"])
def test_ties_between_signed_zeros_give_pandas_sign(name):
    # Equal extremes (0.0 and -0.0) compare equal; pandas returns the latest of them.
    x = np.array([0.0, -0.0, 1.0, -0.0, 0.0, -1.0, 0.0, -0.0, np.nan, -0.0, 0.0] * 3)
    stage = next(k.stage for k in KERNELS if k.name == name)
    for window in (1, 2, 3, 5, 40):
        expected = getattr(pd.Series(x).rolling(window, min_periods=1), name[8:])().to_numpy()
        for variant in stage.variants.values():
            got = variant.run(x, window, 1)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
