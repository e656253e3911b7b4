"""How a variant's output is compared with the reference's.

The dispatcher uses :func:`compare` while tuning: a variant whose output differs from the
reference's on the same input is disqualified for that kind of input. Floats are
compared with a tight relative tolerance, NaN equal to NaN in the same positions and
infinities equal when their signs are; integers, booleans and strings exactly. Shapes
must match and dtypes must be of the same kind (``float32`` against ``float64`` is
fine, ``int64`` against ``float64`` is not).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["compare", "tolerance"]

_FLOAT_KINDS = "fc"
_KIND_FAMILY = {"i": "integer", "u": "integer", "f": "float", "c": "complex", "b": "bool"}


def tolerance(dtype: np.dtype) -> tuple[float, float]:
    """Return the default ``(rtol, atol)`` for comparing outputs of a float dtype.

    About a thousand units in the last place: tight enough to catch a wrong formula,
    loose enough for a different (but sound) order of summation.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.equality import tolerance
    >>> tolerance(np.dtype("float64"))
    (1e-09, 1e-12)
    """
    if dtype.itemsize <= 2 or (dtype.kind == "c" and dtype.itemsize <= 4):
        return 1e-2, 1e-3
    if dtype.itemsize <= 4 or (dtype.kind == "c" and dtype.itemsize <= 8):
        return 1e-5, 1e-6
    return 1e-9, 1e-12


def _same_kind(expected: np.dtype, actual: np.dtype) -> bool:
    if expected.kind == actual.kind:
        return True
    return _KIND_FAMILY.get(expected.kind, expected.kind) == _KIND_FAMILY.get(
        actual.kind, actual.kind
    )


def _first_difference(expected: np.ndarray, actual: np.ndarray, bad: np.ndarray) -> str:
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    if not index:
        text = f"expected {expected[()]!r}, got {actual[()]!r}"
    else:
        where = index[0] if len(index) == 1 else index
        text = (
            f"{int(bad.sum())} of {bad.size} values differ; first at index {where}: "
            f"expected {expected[index]!r}, got {actual[index]!r}"
        )
    if expected.dtype.kind in _FLOAT_KINDS + "iu" and actual.dtype.kind in _FLOAT_KINDS + "iu":
        with np.errstate(all="ignore"):
            e = expected.astype(np.complex128 if "c" in expected.dtype.kind else np.float64)
            a = actual.astype(e.dtype)
            both = np.isfinite(e) & np.isfinite(a)
            if both.any():
                err = np.abs(e[both] - a[both])
                rel = err / np.maximum(np.abs(e[both]), np.finfo(np.float64).tiny)
                text += f"; max abs error {err.max():.3g}, max rel error {rel.max():.3g}"
    return text


def _compare_arrays(expected: np.ndarray, actual: np.ndarray) -> str | None:
    if expected.shape != actual.shape:
        return f"shape {actual.shape} where the reference gives {expected.shape}"
    if not _same_kind(expected.dtype, actual.dtype):
        return f"dtype {actual.dtype} where the reference gives {expected.dtype} (another kind)"
    if expected.size == 0:
        return None
    if expected.dtype.kind in _FLOAT_KINDS or actual.dtype.kind in _FLOAT_KINDS:
        wider = expected.dtype if expected.dtype.itemsize <= actual.dtype.itemsize else actual.dtype
        rtol, atol = tolerance(wider if wider.kind in _FLOAT_KINDS else np.dtype("float64"))
        with np.errstate(all="ignore"):
            ok = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
            # isclose treats -0.0 and 0.0 as equal, as the reference's users would.
        bad = ~ok
    else:
        try:
            bad = np.asarray(expected != actual)
        except (TypeError, ValueError):
            return None if np.array_equal(expected, actual) else "values differ"
        if bad.shape != expected.shape:
            return None if not bad.any() else "values differ"
    if bad.any():
        return _first_difference(expected, actual, bad)
    return None


def compare(expected: Any, actual: Any) -> str | None:
    """Compare a variant's output with the reference's.

    Parameters
    ----------
    expected : object
        The reference's output.
    actual : object
        The variant's output for the same input.

    Returns
    -------
    str or None
        ``None`` when they match; otherwise one line saying where they differ.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.equality import compare
    >>> compare(np.array([1.0, np.nan]), np.array([1.0, np.nan])) is None
    True
    >>> print(compare(np.array([1.0, 2.0]), np.array([1.0, 2.5])))
    1 of 2 values differ; first at index 1: expected np.float64(2.0), got np.float64(2.5); ...
    """
    if isinstance(expected, pd.Series | pd.DataFrame | pd.Index):
        if type(actual) is not type(expected):
            return f"{type(actual).__name__} where the reference gives {type(expected).__name__}"
        try:
            if isinstance(expected, pd.Index):
                pd.testing.assert_index_equal(expected, actual, check_exact=False, rtol=1e-9)
            else:
                assert_equal = (
                    pd.testing.assert_series_equal
                    if isinstance(expected, pd.Series)
                    else pd.testing.assert_frame_equal
                )
                assert_equal(expected, actual, check_dtype=False, rtol=1e-9, atol=1e-12)
        except AssertionError as exc:
            return " ".join(str(exc).split())
        return None
    if isinstance(expected, tuple | list):
        if type(actual) is not type(expected) or len(actual) != len(expected):
            return f"{type(actual).__name__} of {_length(actual)} items where the reference gives {type(expected).__name__} of {len(expected)}"  # noqa: E501
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            reason = compare(e, a)
            if reason is not None:
                return f"item {i}: {reason}"
        return None
    if isinstance(expected, np.ndarray | np.generic | float | int | complex | bool):
        if not isinstance(actual, np.ndarray | np.generic | float | int | complex | bool):
            return f"{type(actual).__name__} where the reference gives {type(expected).__name__}"
        return _compare_arrays(np.asarray(expected), np.asarray(actual))
    try:
        same = bool(expected == actual)
    except Exception:  # an object whose == is not a truth value
        same = expected is actual
    return None if same else f"{actual!r} where the reference gives {expected!r}"


def _length(obj: Any) -> str:
    try:
        return str(len(obj))
    except TypeError:
        return "?"
