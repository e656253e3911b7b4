"""Every kernel against hostile input: never a silently wrong answer, never a raw crash.

Driven by ``vecpipe.kernels.REGISTRY``, so a kernel registered there is covered: masked
arrays, non-native byte order, huge windows and limits, keys that pandas would align,
overflowing sums, and calls whose outcome must not depend on what was called before.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
import vecpipe.kernels  # registers the families
from vecpipe.kernels._core import REGISTRY

IDS = [k.name for k in REGISTRY]
GROUPED = ("grouped", "group_transforms")
RNG = np.random.default_rng(7)


def _grouped(kernel: Any) -> bool:
    return kernel.family in GROUPED


def _call(kernel: Any, x: Any, keys: Any = None, **change: Any) -> tuple[Any, Any]:
    """``(function's result, pandas expression's result)`` for ``x`` (and ``keys`` for the
    group-by kernels) with the kernel's registered arguments, updated by ``change``."""
    args = (keys, *kernel.args[1:]) if _grouped(kernel) else kernel.args
    kwargs = {**kernel.kwargs, **change}
    got = kernel.function(x, *args, **kwargs)
    s = x if isinstance(x, pd.Series | pd.DataFrame) else pd.Series(x)
    pandas_keys = pd.Series(keys) if isinstance(keys, np.ma.MaskedArray) else keys
    pargs = (pandas_keys, *kernel.args[1:]) if _grouped(kernel) else kernel.args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pandas' own overflow warnings
        expected = kernel.pandas(s, *pargs, **kwargs)
    return got, expected


def _assert_same(got: Any, expected: Any, rtol: float = 1e-9) -> None:
    got_values = np.asarray(got, dtype=np.float64)
    want = np.asarray(expected, dtype=np.float64)
    assert got_values.shape == want.shape, (got_values.shape, want.shape)
    np.testing.assert_allclose(got_values, want, rtol=rtol, atol=1e-12, equal_nan=True)


# -- masked arrays: masked values are missing, as in pd.Series(masked_array) ----------------

MASKED = np.ma.array(RNG.normal(size=24), mask=RNG.random(24) < 0.3, fill_value=1e20)
KEYS = RNG.integers(0, 4, size=24)


@pytest.mark.parametrize("kernel", REGISTRY, ids=IDS)
def test_masked_values_are_missing(kernel):
    x = MASKED.copy()
    got, expected = _call(kernel, x, KEYS)
    _assert_same(got, expected)
    # the mask matters: the answer differs from the one that ignores it
    unmasked, _ = _call(kernel, np.ma.getdata(x).copy(), KEYS)
    assert not np.array_equal(np.asarray(got), np.asarray(unmasked), equal_nan=True)
    # the user's array is left as it was
    np.testing.assert_array_equal(x.mask, MASKED.mask)
    np.testing.assert_array_equal(np.ma.getdata(x), np.ma.getdata(MASKED))


ALONG_AXIS = [k for k in REGISTRY if k.family not in (*GROUPED, "binning")]


@pytest.mark.parametrize("kernel", ALONG_AXIS, ids=lambda k: k.name)
def test_masked_2d_values_are_missing(kernel):
    x = np.ma.array(RNG.normal(size=(12, 3)), mask=RNG.random((12, 3)) < 0.3)
    got = kernel.function(x, *kernel.args, **kernel.kwargs)
    expected = kernel.pandas(pd.DataFrame(x), *kernel.args, **kernel.kwargs)
    _assert_same(got, expected)


def test_masked_int_values_become_float_with_nan():
    x = np.ma.array([1, 2, 3, 4], mask=[0, 1, 0, 0])
    np.testing.assert_array_equal(vp.kernels.cumsum(x), [1.0, np.nan, 4.0, 8.0])


@pytest.mark.parametrize("kernel", [k for k in REGISTRY if _grouped(k)], ids=lambda k: k.name)
@pytest.mark.parametrize(
    "keys",
    [
        np.ma.array(KEYS, mask=RNG.random(24) < 0.3),
        np.ma.array(KEYS.astype(str).astype(object), mask=RNG.random(24) < 0.3),
        np.ma.array(KEYS, mask=np.zeros(24, dtype=bool)),
    ],
    ids=["int", "object", "nothing-masked"],
)
@pytest.mark.parametrize("dropna", [True, False])
def test_masked_keys_are_missing(kernel, keys, dropna):
    x = pd.Series(RNG.normal(size=24), name="v")
    got, expected = _call(kernel, x, keys, dropna=dropna)
    if isinstance(expected, pd.Series) and kernel.family == "grouped":
        assert [str(k) for k in got.index] == [str(k) for k in expected.index]
    _assert_same(got, expected)


@pytest.mark.parametrize(
    "kernel", [k for k in REGISTRY if k.family == "binning"], ids=lambda k: k.name
)
def test_masked_bin_edges_are_refused(kernel):
    bins = np.ma.array([0.0, 1.0, 2.0], mask=[0, 1, 0])
    with pytest.raises(vp.InvalidArgument, match=f"(?s){kernel.name}: bins=.*masked edges"):
        kernel.function(np.arange(3.0), bins)
