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
        pytest.param(np.array([0.5, 0.25]), np.array([0.5, 0.25], dtype=">f8"), id="byte-order"),
        pytest.param(np.array(["a", "bb"]), np.array(["a", "bb"], dtype="<U7"), id="string-width"),
        pytest.param(
            np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), id="tiny-float-difference"
        ),
        pytest.param(
            np.array([1.0], dtype=np.float32),
            np.array([1.0 + 1e-6], dtype=np.float32),
            id="float32-within-float32-tolerance",
        ),
        pytest.param(np.float32(0.5), 0.5, id="numpy-float32-and-python-float"),
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
        # The dtype is compared, not only the values: these float32 values are exact, but
        # a float32 answer on other data would not be float64-accurate.
        pytest.param(
            np.array([0.5, 0.25]),
            np.array([0.5, 0.25], dtype=np.float32),
            ["dtype float32", "float64", "check_dtype=False"],
            id="float64-vs-exact-float32",
        ),
        pytest.param(
            np.array([1, 2, 3]),
            np.array([1, 2, 3], dtype=np.int32),
            ["int32", "int64"],
            id="int-widths",
        ),
        pytest.param(
            np.array([True, False]),
            np.array([1, 0], dtype=np.uint8),
            ["uint8", "bool"],
            id="bool-vs-uint8",
        ),
        pytest.param(
            np.array([1, 2], dtype="M8[ns]"),
            np.array([1, 2], dtype="M8[us]"),
            ["datetime64[us]"],
            id="datetime-units",
        ),
        pytest.param(
            pd.Series([0.5, 0.25]),
            pd.Series([0.5, 0.25], dtype=np.float32),
            ["float32"],
            id="series-float32",
        ),
        pytest.param(
            pd.DataFrame({"a": [1, 2]}),
            pd.DataFrame({"a": [1, 2]}, dtype=np.int32),
            ["int32"],
            id="frame-int32",
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


def test_check_dtype_false_compares_the_kind_and_keeps_the_reference_precision():
    import vecpipe as vp

    loose = vp.close(check_dtype=False)
    exact_in_float32 = np.arange(1000.0)
    assert loose.compare(exact_in_float32, exact_in_float32.astype(np.float32)) is None
    assert loose.compare(np.array([1, 2]), np.array([1, 2], dtype=np.int32)) is None
    real = np.random.default_rng(0).standard_normal(1000)
    message = loose.compare(real, real.astype(np.float32))  # ~5e-8 off: not float64-accurate
    assert message is not None
    assert "max rel error" in message
    assert loose.compare(np.arange(3), np.arange(3.0)) is not None  # another kind, still


def test_check_dtype_must_be_a_bool():
    import vecpipe as vp
    from vecpipe.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="check_dtype='no'"):
        vp.close(check_dtype="no")  # type: ignore[arg-type]


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
