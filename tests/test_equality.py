"""Comparing a variant's output with the reference's: what counts as the same answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vecpipe.equality import compare, tolerance

NAN, INF = np.nan, np.inf


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        pytest.param(np.array([1.0, NAN, 3.0]), np.array([1.0, NAN, 3.0]), id="nan-same-positions"),
        pytest.param(np.array([-0.0, 0.0]), np.array([0.0, -0.0]), id="signed-zeros"),
        pytest.param(np.array([INF, -INF]), np.array([INF, -INF]), id="infinities-same-sign"),
        pytest.param(
            np.array([0.5, 0.25]), np.array([0.5, 0.25], dtype=np.float32), id="float64-float32"
        ),
        pytest.param(
            np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), id="tiny-float-difference"
        ),
        pytest.param(
            np.array([1.0], dtype=np.float32),
            np.array([1.0 + 1e-6], dtype=np.float32),
            id="float32-within-float32-tolerance",
        ),
        pytest.param(np.array([1, 2, 3]), np.array([1, 2, 3], dtype=np.int32), id="int-widths"),
        pytest.param(np.zeros((2, 3)), np.zeros((2, 3)), id="2d"),
        pytest.param(np.zeros(0), np.zeros(0), id="empty"),
        pytest.param(1.5, np.float64(1.5), id="python-and-numpy-scalars"),
        pytest.param(np.array(["a", "b"]), np.array(["a", "b"]), id="strings"),
        pytest.param("text", "text", id="other-objects"),
        pytest.param(
            pd.Series([1.0, NAN], index=[3, 4]), pd.Series([1.0, NAN], index=[3, 4]), id="series"
        ),
        pytest.param((np.arange(3.0), 2), (np.arange(3.0), 2), id="tuples"),
        pytest.param([1.0, 2.0], [1.0, 2.0 + 1e-13], id="lists"),
    ],
)
def test_matching_outputs_compare_equal(expected, actual):
    assert compare(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "fragments"),
    [
        pytest.param(
            np.array([1.0, 2.0, 3.0]),
            np.array([1.0, NAN, 3.0]),
            ["index 1", "nan"],
            id="nan-vs-number",
        ),
        pytest.param(
            np.array([1.0, NAN]), np.array([1.0, 2.0]), ["index 1", "nan"], id="number-vs-nan"
        ),
        pytest.param(np.array([INF]), np.array([-INF]), ["index 0", "-inf"], id="inf-sign"),
        pytest.param(np.arange(3.0), np.arange(2.0), ["shape (2,)", "(3,)"], id="shape"),
        pytest.param(
            np.arange(3), np.arange(3.0), ["float64", "int64", "another kind"], id="int-vs-float"
        ),
        pytest.param(
            np.arange(3.0), np.arange(3), ["int64", "float64", "another kind"], id="float-vs-int"
        ),
        pytest.param(
            np.array([1.0, 2.0]), np.array([1.0, 2.0 * (1 + 1e-6)]), ["index 1"], id="relative-1e-6"
        ),
        pytest.param(
            np.array([2**53, 7]), np.array([2**53 + 1, 7]), ["index 0"], id="ints-are-exact"
        ),
        pytest.param(
            np.arange(5.0),
            np.array([0.0, 1.0, 9.0, 3.0, 9.0]),
            ["2 of 5", "index 2"],
            id="first-index",
        ),
        pytest.param(np.zeros((2, 2)), np.eye(2), ["index (0, 0)"], id="first-index-2d"),
        pytest.param(
            pd.Series([1.0, 2.0], index=[0, 1]),
            pd.Series([1.0, 2.0], index=[5, 6]),
            ["index"],
            id="series-index",
        ),
        pytest.param(
            pd.Series([1.0]), np.array([1.0]), ["ndarray", "Series"], id="series-vs-array"
        ),
        pytest.param(
            (np.arange(3.0), np.arange(2.0)),
            (np.arange(3.0), np.array([0.0, 5.0])),
            ["item 1", "index 1"],
            id="tuple-item",
        ),
        pytest.param((1.0, 2.0), (1.0,), ["tuple of 1", "tuple of 2"], id="tuple-length"),
        pytest.param((1.0, 2.0), [1.0, 2.0], ["list", "tuple"], id="tuple-vs-list"),
        pytest.param(np.arange(3.0), None, ["NoneType", "ndarray"], id="array-vs-none"),
        pytest.param("text", "other", ["'other'", "'text'"], id="other-objects"),
    ],
)
def test_differing_outputs_are_described(expected, actual, fragments: list[str]):
    message = compare(expected, actual)
    assert message is not None
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_difference_message_is_one_line():
    message = compare(np.arange(4.0), np.arange(4.0) + 1)
    assert message is not None
    assert "\n" not in message


@pytest.mark.parametrize(
    ("dtype", "rtol"),
    [("float16", 1e-2), ("float32", 1e-5), ("float64", 1e-9), ("complex128", 1e-9)],
)
def test_tolerance_follows_the_precision(dtype: str, rtol: float):
    assert tolerance(np.dtype(dtype))[0] == rtol
