"""vecpipe.kernels.ewm: every ewm kernel in the registry equals its pandas expression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.kernels._core import REGISTRY
from vecpipe.kernels.ewm import ewm_mean  # also registers the family

KERNELS = [k for k in REGISTRY if k.family == "ewm"]
IDS = [k.name for k in KERNELS]
RNG = np.random.default_rng(0)


def _data(n: int = 100) -> np.ndarray:
    x = RNG.normal(size=n)
    x[RNG.random(n) < 0.15] = np.nan
    return x


CASES = {
    "nan-runs": (_data(), {"com": 3.0}),
    "leading-nan": (np.r_[np.full(4, np.nan), np.arange(6.0)], {"span": 4}),
    "all-nan": (np.full(8, np.nan), {"alpha": 0.3}),
    "inf": (np.array([1.0, np.inf, 2.0, -np.inf, 4.0]), {"com": 1.0}),
    "empty": (np.array([]), {"com": 1.0}),
    "length-1": (np.array([2.5]), {"com": 1.0}),
    "halflife": (_data(40), {"halflife": 2.5}),
    "alpha-1": (_data(40), {"alpha": 1.0}),
    "com-0": (_data(40), {"com": 0.0}),
    "constant": (np.full(30, 0.1), {"span": 5}),
    "min-periods-5": (_data(40), {"com": 2.0, "min_periods": 5}),
    "min-periods-over-length": (_data(10), {"com": 2.0, "min_periods": 20}),
}


@pytest.mark.parametrize("ignore_na", [False, True])
@pytest.mark.parametrize("adjust", [True, False])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_equals_pandas_on_fixed_cases(kernel, case, adjust, ignore_na):
    x, kw = CASES[case]
    kw = {**kw, "adjust": adjust, "ignore_na": ignore_na}
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    got = kernel.function(s, **kw)
    expected = kernel.pandas(s, **kw)
    pd.testing.assert_series_equal(got, expected, rtol=1e-9)
    arr = kernel.function(x, **kw)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    np.testing.assert_allclose(arr, expected.to_numpy(), rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("adjust", [True, False])
def test_mean_where_large_values_cancel(adjust):
    # The mean computes pandas' weighted average with the weights' shares precomputed:
    # where values of opposite signs cancel to near 0, the two agree to rounding of the
    # inputs' magnitude (1e6 here), not relative to the near-0 result.
    from vecpipe.kernels.ewm import _mean_equal

    # the second mean is (w * 1e6 + b) / (w + 1) with w the first value's weight: near 0
    second = -1e6 * (1 - 1 / 3.5) if adjust else -2.5e6
    x = np.r_[1e6, second, np.tile([1e6, -2.5e6, 1.5e6 + 1e-3], 30)]
    x += RNG.normal(size=x.size) * 1e-6
    expected = pd.Series(x).ewm(com=2.5, adjust=adjust).mean().to_numpy()
    got = ewm_mean(x, com=2.5, adjust=adjust)
    _mean_equal(expected, got)
    assert np.max(np.abs(got - expected)) <= 64 * np.finfo(np.float64).eps * 2.5e6
    # and values near float64's top take pandas' own formula, overflow included
    big = np.array([1.5e308, 1.6e308, -1e308, 1.7e308])
    with np.errstate(over="ignore", invalid="ignore"):
        expected = pd.Series(big).ewm(com=9.0, adjust=adjust).mean().to_numpy()
    np.testing.assert_array_equal(ewm_mean(big, com=9.0, adjust=adjust), expected)


def _long(kind: str) -> np.ndarray:
    # Longer than several of the parallel mean's chunks (64K values).
    rng = np.random.default_rng(1)
    x = rng.normal(size=300_000) * 1e3
    if kind == "gaps":
        x[rng.random(x.size) < 0.3] = np.nan
        x[120_000:200_000] = np.nan  # a missing run over a whole chunk: no cold start
    elif kind == "sparse":
        x[rng.random(x.size) < 0.99] = np.nan  # ~650 observations a chunk
    elif kind == "inf":
        x[rng.random(x.size) < 0.01] = np.inf
        x[:30_000] = np.nan  # a leading missing run
    elif kind == "overflow":
        x[250_000] = 1.7e308  # pandas' products overflow: the serial formula
    return x


@pytest.mark.parametrize("min_periods", [0, 400])
@pytest.mark.parametrize("kind", ["normal", "gaps", "sparse", "inf", "overflow"])
@pytest.mark.parametrize(
    ("com", "adjust", "ignore_na"),
    [(9.0, True, False), (9.0, False, True), (1.0, False, False), (0.0, True, True)],
)
def test_every_mean_variant_equals_pandas_across_chunks(kind, com, adjust, ignore_na, min_periods):
    # The parallel mean starts each chunk cold, enough observations back that the history
    # it leaves out weighs under 2**-64; where none is found it runs serially.
    x = _long(kind)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = (
            pd.Series(x)
            .ewm(com=com, adjust=adjust, ignore_na=ignore_na, min_periods=min_periods)
            .mean()
            .to_numpy()
        )
    stage = KERNELS[0].stage
    assert stage.name == "ewm_mean"
    for name, variant in stage.variants.items():
        got = variant.run(x, com, adjust, ignore_na, min_periods)
        difference = stage.equal.compare(expected, got)
        assert difference is None, f"{name}: {difference}"


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kernel", [k for k in KERNELS if k.name != "ewm_mean"], ids=str)
def test_bias_equals_pandas(kernel, bias):
    s = pd.Series(_data(60))
    got = kernel.function(s, com=2.0, bias=bias)
    pd.testing.assert_series_equal(got, kernel.pandas(s, com=2.0, bias=bias), rtol=1e-9)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_dataframe_and_2d_along_axis(kernel, axis):
    df = pd.DataFrame({"a": _data(30), "b": np.arange(30.0)}, index=list(range(100, 130)))
    expected = kernel.pandas(df, com=2.0)
    pd.testing.assert_frame_equal(kernel.function(df, com=2.0), expected, rtol=1e-9)
    a = df.to_numpy()
    got = kernel.function(a if axis == 0 else a.T, com=2.0, axis=axis)
    got = got if axis == 0 else got.T
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({}, "mutually exclusive", id="no-decay"),
    pytest.param({"com": 1.0, "span": 3}, "mutually exclusive", id="two-decays"),
    pytest.param({"com": -1.0}, "com=-1.0", id="com-negative"),
    pytest.param({"span": 0.5}, "span=0.5", id="span-under-1"),
    pytest.param({"halflife": 0}, "halflife=0", id="halflife-zero"),
    pytest.param({"alpha": 0.0}, "alpha=0.0", id="alpha-zero"),
    pytest.param({"alpha": 1.5}, "alpha=1.5", id="alpha-over-1"),
    pytest.param({"com": "1"}, "com='1'", id="com-string"),
    pytest.param({"com": np.nan}, "com=nan", id="com-nan"),
    pytest.param({"com": 1.0, "min_periods": -1}, "min_periods=-1", id="min-periods-negative"),
    pytest.param({"com": 1.0, "adjust": 1}, "adjust=1", id="adjust-int"),
    pytest.param({"com": 1.0, "ignore_na": None}, "ignore_na=None", id="ignore-na-none"),
    pytest.param({"com": 1.0, "axis": 2}, "axis=2", id="axis-2"),
    pytest.param({"com": 1.0, "x": np.array(["a", "b"])}, "not numeric", id="strings"),
    pytest.param({"com": 1.0, "x": np.zeros((2, 2, 2))}, "3 dimensions", id="3-d"),
    pytest.param({"com": 1.0, "x": 3.0}, "x=3.0", id="scalar"),
]


@pytest.mark.parametrize(("call", "match"), BAD_CALLS)
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_bad_arguments_raise_invalid_argument(kernel, call, match):
    call = dict(call)
    x = call.pop("x", np.arange(5.0))
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: .*{match}"):
        kernel.function(x, **call)
