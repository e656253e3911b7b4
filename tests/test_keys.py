"""Dispatch keys: which calls count as the same kind of input, and how keys read."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.keys import describe_key, make_key, size_bucket

TAG = vp.Settings(threads=1).tag


@pytest.fixture
def two_thread_budgets(monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """Two valid thread budgets, even on a machine whose Numba pool has one thread."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 2)
    return 1, 2


@pytest.fixture
def double() -> vp.Stage:
    @vp.stage
    def double(x):
        return x * 2

    return double


# ------------------------------------------------------------------------ same key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(np.zeros(100), np.ones(120), id="same-bucket-different-values"),
        pytest.param(np.zeros((4, 8)), np.arange(32.0).reshape(8, 4), id="same-size-other-shape"),
        pytest.param(pd.Series([1.0, 2.0]), pd.Series([3.0, 4.0, 5.0]), id="series"),
        pytest.param(3, 7, id="int-scalars"),
    ],
)
def test_inputs_of_the_same_kind_share_a_key(first, second):
    assert make_key(TAG, (first,), {}) == make_key(TAG, (second,), {})


# ------------------------------------------------------------------------ different keys

X = np.zeros(20)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(((X,), {}), ((X.astype(np.float32),), {}), id="dtype"),
        pytest.param(((np.zeros(16),), {}), ((np.zeros((4, 4)),), {}), id="ndim"),
        pytest.param(
            ((np.zeros((4, 8)),), {}), ((np.zeros((4, 8), order="F"),), {}), id="c-vs-f-order"
        ),
        pytest.param(((X,), {}), ((np.zeros(40)[::2],), {}), id="c-vs-strided"),
        pytest.param(
            ((np.zeros((4, 8), order="F"),), {}),
            ((np.zeros((8, 16))[::2, ::2],), {}),
            id="f-vs-strided",
        ),
        pytest.param(((np.zeros(15),), {}), ((np.zeros(16),), {}), id="size-bucket"),
        pytest.param(((X, 3), {}), ((X, 3.0), {}), id="int-vs-float-scalar"),
        pytest.param(((X,), {}), ((X,), {"scale": 2.0}), id="keyword-given-vs-not"),
        pytest.param(((X,), {"scale": 2}), ((X,), {"scale": 2.0}), id="keyword-type"),
        pytest.param(((X,), {"scale": 2.0}), ((X,), {"shift": 2.0}), id="keyword-name"),
        pytest.param(((X, 2.0), {}), ((X,), {"scale": 2.0}), id="positional-vs-keyword"),
        pytest.param(((pd.Series(X),), {}), ((X,), {}), id="series-vs-ndarray"),
        pytest.param(((np.ma.masked_array(X),), {}), ((X,), {}), id="ndarray-subclass"),
        pytest.param(((list(X),), {}), ((tuple(X),), {}), id="list-vs-tuple"),
    ],
)
def test_inputs_of_different_kinds_get_different_keys(first, second):
    (args_a, kwargs_a), (args_b, kwargs_b) = first, second
    assert make_key(TAG, args_a, kwargs_a) != make_key(TAG, args_b, kwargs_b)


def test_thread_budget_is_part_of_the_key(two_thread_budgets: tuple[int, int]):
    one, two = two_thread_budgets
    assert make_key(vp.Settings(threads=one).tag, (X,), {}) != make_key(
        vp.Settings(threads=two).tag, (X,), {}
    )


def test_settings_tag_encodes_the_thread_budget(two_thread_budgets: tuple[int, int]):
    for threads in two_thread_budgets:
        key = make_key(vp.Settings(threads=threads).tag, (X,), {})
        assert describe_key(key).endswith(f"| threads={threads}")


# ------------------------------------------------------------------------ readable text


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        pytest.param(
            (np.zeros(1000), 3),
            {},
            "ndarray[float64, 1d, C, n=256..<1K], int | threads=1",
            id="array-and-int",
        ),
        pytest.param(
            (np.ones((3, 4), order="F"),),
            {},
            "ndarray[float64, 2d, F, n=4..<16] | threads=1",
            id="f",
        ),
        pytest.param(
            (np.zeros(40)[::2],), {}, "ndarray[float64, 1d, S, n=16..<64] | threads=1", id="strided"
        ),
        pytest.param(
            (np.zeros(5, dtype=np.int32),),
            {"scale": 2.0},
            "ndarray[int32, 1d, C, n=4..<16], scale=float | threads=1",
            id="keyword",
        ),
        pytest.param(
            (np.zeros(1 << 20),), {}, "ndarray[float64, 1d, C, n=1M..<4M] | threads=1", id="mega"
        ),
        pytest.param((np.zeros(0),), {}, "ndarray[float64, 1d, C, n=0] | threads=1", id="empty"),
        pytest.param(
            (pd.Series(np.zeros(10)),), {}, "Series[float64, n=4..<16] | threads=1", id="series"
        ),
        pytest.param(
            (pd.DataFrame({"a": [1, 2], "b": [1.0, 2.0]}),),
            {},
            "DataFrame[(int64, float64), n=1..<4] | threads=1",
            id="dataframe",
        ),
        pytest.param(([1, 2, 3],), {}, "list[n=1..<4] | threads=1", id="list"),
        pytest.param(("text",), {}, "str | threads=1", id="other-type"),
    ],
)
def test_describe_key_reads_as_text(args, kwargs, text):
    assert describe_key(make_key(TAG, args, kwargs)) == text


def test_describe_key_is_the_same_for_inputs_of_the_same_kind():
    first = describe_key(make_key(TAG, (np.zeros(100),), {}))
    second = describe_key(make_key(TAG, (np.ones(120),), {}))
    assert first == second


# ------------------------------------------------------------------------ size buckets


@pytest.mark.parametrize(
    ("n", "bucket"),
    [
        (0, 0),
        (1, 1),
        (3, 1),
        (4, 2),
        (15, 2),
        (16, 3),
        (63, 3),
        (64, 4),
        (4**10 - 1, 10),
        (4**10, 11),
    ],
    ids=lambda v: str(v),
)
def test_size_bucket_boundaries(n: int, bucket: int):
    assert size_bucket(n) == bucket


def test_size_bucket_holds_counts_between_powers_of_four():
    for n in range(1, 5000):
        b = size_bucket(n)
        assert 4 ** (b - 1) <= n < 4**b


# ------------------------------------------------------------------------ the inline key


@pytest.mark.parametrize(
    "x",
    [
        pytest.param(np.arange(10.0), id="c-float64"),
        pytest.param(np.ones((3, 5), order="F"), id="f-2d"),
        pytest.param(np.arange(40.0)[::2], id="strided"),
        pytest.param(np.arange(7, dtype=np.int32), id="int32"),
        pytest.param(np.zeros(0), id="empty"),
        pytest.param(np.array(1.5), id="0d"),
    ],
)
def test_stage_call_routes_under_the_key_make_key_builds(double: vp.Stage, x: np.ndarray):
    double(x)
    assert make_key(vp.get_config().tag, (x,), {}) in double._dispatcher.routes
