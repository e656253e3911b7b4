"""Group-by kernels (aggregations and transforms) equal their pandas groupby expressions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
import vecpipe.kernels  # registers the families
from vecpipe.kernels._core import REGISTRY

KERNELS = [k for k in REGISTRY if k.family == "grouped"]
IDS = [k.name for k in KERNELS]
TRANSFORMS = [k for k in REGISTRY if k.family == "group_transforms"]
TRANSFORM_IDS = [k.name for k in TRANSFORMS]
RNG = np.random.default_rng(0)


def _data(n: int = 200) -> np.ndarray:
    x = RNG.normal(size=n)
    x[RNG.random(n) < 0.15] = np.nan
    return x


CASES = {
    "random": (_data(), RNG.integers(0, 7, size=200)),
    "unsorted-keys": (np.arange(6.0), np.array([5, -3, 5, 100, -3, 0])),
    "single-row-groups": (np.array([1.0, 2.0, 3.0]), np.array([3, 1, 2])),
    "nan-values": (np.array([1.0, np.nan, 3.0, np.nan, 5.0]), np.array([0, 0, 1, 1, 1])),
    "all-nan-group": (np.array([np.nan, np.nan, 1.0, 2.0]), np.array([7, 7, 3, 3])),
    "large-magnitudes": (
        np.array([1e300, 1e300, -1e300, 3.0, 1e16, 1.0, -1e16]),
        np.array([0, 0, 0, 0, 1, 1, 1]),
    ),
    "inf": (np.array([1.0, np.inf, 2.0, -np.inf, np.inf]), np.array([0, 0, 1, 1, 2])),
    "strings": (np.arange(6.0), np.array(["b", "a", "c", "a", "b", "b"])),
    "object-strings-nan": (np.arange(5.0), np.array(["x", None, "y", "x", None], dtype=object)),
    "float-keys-nan": (np.arange(6.0), np.array([1.5, np.nan, 0.5, 1.5, np.nan, 2.0])),
    "categorical": (
        np.arange(6.0),
        pd.Categorical(["lo", "hi", "lo", "mid", "hi", "lo"], categories=["lo", "mid", "hi"]),
    ),
    # sorted keys and no NaN: pandas sums with np.add.reduceat (pairwise), not Kahan
    "sorted-no-nan-long": (
        RNG.normal(size=700) * np.exp(RNG.normal(size=700) * 8),
        np.repeat([0, 1, 2, 3], [1, 9, 300, 390]),
    ),
    "sorted-equal-values": (np.full(42, 219687786701000.3), np.zeros(42, dtype=np.int64)),
    "sorted-nan-key-first": (np.arange(5.0), np.array([np.nan, 1.0, 1.0, 2.0, 2.0])),
    "nan-key-inside-sorted": (np.arange(5.0) * 1e15 + 0.3, np.array([1.0, np.nan, 1.0, 2.0, 2.0])),
    # integer keys go to the kernels as they are: far apart, new ones late, other dtypes
    "spread-out-keys": (np.arange(5.0), np.array([10**12, -5, 10**12, -(2**62), 3])),
    "new-keys-after-4096-rows": (
        _data(5000),
        np.concatenate([RNG.integers(0, 5, 4500), [100, -7], RNG.integers(-7, 101, 498)]),
    ),
    "rising-keys": (_data(9000), np.arange(9000) // 3),
    # keys the sample of 4096 + 4096 keys misses (every 4th row is sampled here): the
    # rows are read again into slots for the whole range
    "keys-outside-the-sample": (
        _data(20000),
        np.concatenate([RNG.integers(0, 5, 10001), [50, 2, -9], RNG.integers(0, 5, 9996)]),
    ),
    "int8-keys": (np.arange(6.0), np.array([3, -2, 3, 0, -2, 7], dtype=np.int8)),
    "uint64-keys": (np.arange(4.0), np.array([2**64 - 1, 5, 2**64 - 1, 0], dtype=np.uint64)),
    "bool-keys": (np.arange(5.0), np.array([True, False, True, True, False])),
    # keys with no row inside the range, and groups whose slots end as they started
    # (NaN only, -0.0 only, a product of 1.0): looked up in the keys afterwards
    "gaps-and-untouched-groups": (
        np.array([1.0, -0.0, np.nan, -0.0, np.nan, 1.0, 0.0]),
        np.array([9, 0, 4, 0, 4, 9, 2]),
    ),
    "empty": (np.array([]), np.array([], dtype=np.int64)),
    "length-1": (np.array([2.5]), np.array([4])),
}


def _close(kernel):
    return {"rtol": 1e-9} if kernel.name in ("group_var", "group_std") else {"rtol": 0, "atol": 0}


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_equals_pandas_on_fixed_cases(kernel, case, dropna):
    x, keys = CASES[case]
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    expected = kernel.pandas(s, keys, dropna=dropna)
    got = kernel.function(s, keys, dropna=dropna)
    pd.testing.assert_series_equal(got, expected, check_exact=True, **_close(kernel)) if (
        kernel.name not in ("group_var", "group_std")
    ) else pd.testing.assert_series_equal(got, expected, rtol=1e-9)
    arr = kernel.function(x, keys, dropna=dropna)
    want = np.int64 if kernel.name == "group_count" else np.float64
    assert isinstance(arr, np.ndarray) and arr.dtype == want
    np.testing.assert_allclose(arr, expected.to_numpy(), rtol=1e-9, equal_nan=True)
    got_keys, values = kernel.function(x, keys, dropna=dropna, return_keys=True)
    np.testing.assert_array_equal(values, arr)
    assert len(got_keys) == len(expected.index)
    assert [str(k) for k in got_keys] == [str(k) for k in expected.index]


def test_series_keys_name_the_index():
    s = pd.Series([1.0, 2.0, 3.0], name="v")
    keys = pd.Series(["b", "a", "b"], name="k")
    from vecpipe.kernels.grouped import group_sum

    pd.testing.assert_series_equal(group_sum(s, keys), s.groupby(keys).sum())


def test_sum_is_compensated():
    from vecpipe.kernels.grouped import group_sum

    x = np.full(100_000, 0.1)
    got = group_sum(x, np.zeros(x.size, dtype=np.int64))
    np.testing.assert_allclose(got, [10_000.0], rtol=1e-15)


def test_sum_gives_zero_the_sign_pandas_gives():
    from vecpipe.kernels.grouped import group_sum

    # unsorted keys (pandas' Kahan path): a group of -0.0 alone and an all-NaN group
    x = np.array([-0.0, 5.0, -0.0, np.nan])
    keys = np.array([1, 0, 1, 2])
    got = group_sum(x, keys)
    expected = pd.Series(x).groupby(keys).sum().to_numpy()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))


@pytest.mark.parametrize(
    "kernel", [k for k in KERNELS if "numba_parallel" in k.stage.variants], ids=lambda k: k.name
)
def test_parallel_variant_across_chunks(kernel):
    x = RNG.normal(size=300_000)
    x[RNG.random(x.size) < 0.01] = np.nan
    codes = RNG.integers(0, 50, size=x.size)
    codes[codes == 17] = 18  # a code with no rows
    run = kernel.stage.variants["numba_parallel"].run
    expected = kernel.stage.reference(x, codes)
    np.testing.assert_array_equal(run(x, codes), expected)
    codes[150_001] = 99  # outside the sampled range: the serial kernel takes over
    np.testing.assert_array_equal(run(x, codes), kernel.stage.reference(x, codes))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kernel", TRANSFORMS, ids=TRANSFORM_IDS)
def test_transform_equals_pandas_on_fixed_cases(kernel, case, dropna):
    x, keys = CASES[case]
    s = pd.Series(x, index=pd.RangeIndex(10, 10 + len(x)), name="v")
    extra = kernel.args[1:]
    got = kernel.function(s, keys, *extra, dropna=dropna, **kernel.kwargs)
    if case == "empty":  # pandas' groupby-rolling cannot run over no groups at all
        assert got.empty and got.index.equals(s.index) and got.name == "v"
    else:
        expected = kernel.pandas(s, keys, *extra, dropna=dropna, **kernel.kwargs)
        exact = kernel.name != "group_zscore"
        pd.testing.assert_series_equal(got, expected, check_exact=exact, rtol=1e-12)
    arr = kernel.function(x, keys, *extra, dropna=dropna, **kernel.kwargs)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == x.shape
    np.testing.assert_array_equal(arr, got.to_numpy())


@pytest.mark.parametrize("window", [1, 3, 500])
@pytest.mark.parametrize("min_periods", [None, 0, 1])
def test_group_rolling_mean_windows_and_min_periods(window, min_periods):
    from vecpipe.kernels import group_rolling_mean

    x, keys = CASES["random"]
    s = pd.Series(x, index=RNG.permutation(len(x)))  # an unsorted index, kept
    mp = min(min_periods, window) if min_periods is not None else None
    got = group_rolling_mean(s, keys, window, min_periods=mp)
    rolled = s.groupby(keys).rolling(window, min_periods=mp).mean()
    pd.testing.assert_series_equal(got, rolled.droplevel(0).reindex(s.index))


@pytest.mark.parametrize("kernel", KERNELS + TRANSFORMS, ids=IDS + TRANSFORM_IDS)
def test_dataframe_runs_column_by_column(kernel):
    x, keys = CASES["random"]
    df = pd.DataFrame({"a": x, "b": np.arange(len(x)) % 5, "c": pd.array(x, dtype="Float64")})
    extra = kernel.args[1:]
    got = kernel.function(df, keys, *extra, **kernel.kwargs)
    expected = pd.DataFrame(
        {c: kernel.pandas(df[c].astype("float64"), keys, *extra, **kernel.kwargs) for c in df}
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(
    "kernel", [k for k in TRANSFORMS if "numba_parallel" in k.stage.variants], ids=lambda k: k.name
)
def test_parallel_transform_across_chunks(kernel):
    x = RNG.normal(size=300_000)
    x[RNG.random(x.size) < 0.01] = np.nan
    codes = RNG.integers(-1, 50, size=x.size)
    extra = kernel.args[1:]
    got = kernel.stage.variants["numba_parallel"].run(x, codes, *extra)
    np.testing.assert_allclose(got, kernel.stage.reference(x, codes, *extra), rtol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS + TRANSFORMS, ids=IDS + TRANSFORM_IDS)
def test_every_variant_verifies(kernel):
    report = vp.verify(kernel.stage, max_examples=30, seed=0, database=False, record=False)
    assert report.ok, str(report)


BAD_CALLS = [
    pytest.param({"keys": np.arange(4)}, "4 entries for 5 rows", id="length-mismatch"),
    pytest.param({"keys": np.zeros((5, 1))}, "2 dimensions", id="2-d-keys"),
    pytest.param({"x": np.array(["a"] * 5, dtype=object)}, "not numeric", id="object-x"),
    pytest.param({"x": np.zeros((5, 2))}, "2 dimensions", id="2-d-x"),
    pytest.param({"x": 3.0}, "x=3.0", id="scalar-x"),
    pytest.param({"keys": 3}, "keys=3", id="scalar-keys"),
    pytest.param({"dropna": None}, "dropna=None", id="dropna"),
    pytest.param({"return_keys": 1}, "return_keys=1", id="return-keys"),
]
TRANSFORM_BAD_CALLS = [
    *(p for p in BAD_CALLS if p.id != "return-keys"),
    pytest.param({"x": pd.Series(["a"] * 5)}, "not numeric", id="string-series"),
]


@pytest.mark.parametrize(("change", "match"), BAD_CALLS)
@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
def test_bad_arguments_raise_invalid_argument(kernel, change, match):
    call = {"x": np.arange(5.0), "keys": np.arange(5), **change}
    x = call.pop("x")
    keys = call.pop("keys")
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: .*{match}"):
        kernel.function(x, keys, **call)


@pytest.mark.parametrize(("change", "match"), TRANSFORM_BAD_CALLS)
@pytest.mark.parametrize("kernel", TRANSFORMS, ids=TRANSFORM_IDS)
def test_transform_bad_arguments_raise_invalid_argument(kernel, change, match):
    call = {"x": np.arange(5.0), "keys": np.arange(5), **change}
    x = call.pop("x")
    keys = call.pop("keys")
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: .*{match}"):
        kernel.function(x, keys, *kernel.args[1:], **call)


@pytest.mark.parametrize(
    ("window", "min_periods", "match"),
    [(0, None, "window=0"), (2.5, None, "window=2.5"), (2, 3, "min_periods=3")],
)
def test_group_rolling_mean_bad_window(window, min_periods, match):
    from vecpipe.kernels import group_rolling_mean

    with pytest.raises(vp.InvalidArgument, match=f"group_rolling_mean: {match}"):
        group_rolling_mean(np.arange(3.0), np.zeros(3), window, min_periods=min_periods)


def test_transforms_leave_inputs_unchanged():
    from vecpipe.kernels import group_zscore

    s = pd.Series([1.0, np.nan, 3.0, 4.0], name="v")
    keys = pd.Series(["a", "b", "a", "b"])
    before = (s.copy(), keys.copy())
    group_zscore(s, keys)
    pd.testing.assert_series_equal(s, before[0])
    pd.testing.assert_series_equal(keys, before[1])
