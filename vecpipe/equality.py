"""Equality policies: how a variant's output is compared with the reference's.

The dispatcher (while tuning) and :func:`vecpipe.verify` compare each variant's output
with the reference's through the stage's policy (``@vp.stage(equal=...)``):

- :func:`close` (the default): floats within a tight relative tolerance chosen by dtype,
  NaN equal to NaN in the same positions, infinities equal when their signs are;
  integers, booleans and strings exactly;
- :func:`exact`: every value identical (NaN still equal to NaN in the same positions);
- any callable ``(expected, actual) -> None`` that raises with a message on a mismatch.

Every policy also requires the same shape, the same dtype (see :func:`same_dtype`:
``float32`` where the reference gives ``float64`` is a mismatch, whatever the values, as
are ``int32`` for ``int64`` and ``uint8`` for ``bool``), and for pandas objects the same
index, columns and names. ``vp.close(check_dtype=False)`` relaxes the dtype rule to the
kind (any float for a float), with the reference's precision still setting the tolerance.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from vecpipe.errors import InvalidArgument

__all__ = ["EqualityPolicy", "as_policy", "close", "compare", "exact", "same_dtype", "tolerance"]

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


def same_dtype(expected: Any, actual: Any) -> bool:
    """Whether a variant's dtype stands for the reference's: the rule of every policy.

    The same dtype, except for what changes no value and no arithmetic: the byte order
    (``>f8`` for ``<f8``), and the width of a string dtype (``<U3`` for ``<U5``: the
    values are compared anyway). Nothing else: a ``float32`` answer is not a ``float64``
    one even where every value happens to be exact in ``float32`` (the next input's will
    not be), an ``int32`` may overflow where the ``int64`` does not, a ``uint8`` is not a
    ``bool``, and a datetime in other units is another value.

    Parameters
    ----------
    expected, actual : numpy.dtype or pandas extension dtype
        The reference's dtype and the variant's.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.equality import same_dtype
    >>> same_dtype(np.dtype("float64"), np.dtype(">f8"))
    True
    >>> same_dtype(np.dtype("float64"), np.dtype("float32"))
    False
    >>> same_dtype(np.dtype("<U5"), np.dtype("<U3"))
    True
    """
    if expected is actual or expected == actual:
        return True
    if not (isinstance(expected, np.dtype) and isinstance(actual, np.dtype)):
        return False
    if expected.kind in "US" and actual.kind == expected.kind:
        return True
    return (
        expected.kind == actual.kind
        and expected.fields is None
        and actual.fields is None
        and expected.newbyteorder("=") == actual.newbyteorder("=")
    )


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


def _compare_arrays(
    expected: np.ndarray,
    actual: np.ndarray,
    rtol: float | None,
    atol: float | None,
    nan_equal: bool,
    exact: bool,
    check_dtype: bool = True,
) -> str | None:
    if expected.shape != actual.shape:
        return f"shape {actual.shape} where the reference gives {expected.shape}"
    if not _same_kind(expected.dtype, actual.dtype):
        return f"dtype {actual.dtype} where the reference gives {expected.dtype} (another kind)"
    if check_dtype and not same_dtype(expected.dtype, actual.dtype):
        return _dtype_difference(expected.dtype, actual.dtype)
    if expected.size == 0:
        return None
    if expected.dtype.kind in _FLOAT_KINDS or actual.dtype.kind in _FLOAT_KINDS:
        if exact:
            rtol = atol = 0.0
        else:
            # The reference's precision sets the tolerance: a float32 answer where the
            # reference gives float64 must still be float64-accurate.
            default_rtol, default_atol = tolerance(
                expected.dtype if expected.dtype.kind in _FLOAT_KINDS else np.dtype("float64")
            )
            rtol = default_rtol if rtol is None else rtol
            atol = default_atol if atol is None else atol
        with np.errstate(all="ignore"):
            # isclose treats -0.0 and 0.0 as equal, as the reference's users would.
            ok = np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=nan_equal)
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


def _dtype_difference(expected: Any, actual: Any) -> str:
    return (
        f"dtype {actual} where the reference gives {expected} (the same dtype is required; "
        "vp.close(check_dtype=False) compares the kind only)"
    )


def _pandas_kinds(expected: Any, actual: Any, check_dtype: bool) -> str | None:
    e_dtypes = [expected.dtype] if isinstance(expected, pd.Series) else list(expected.dtypes)
    a_dtypes = [actual.dtype] if isinstance(actual, pd.Series) else list(actual.dtypes)
    for e, a in zip(e_dtypes, a_dtypes, strict=False):
        if isinstance(e, np.dtype) and isinstance(a, np.dtype) and not _same_kind(e, a):
            return f"dtype {a} where the reference gives {e} (another kind)"
        if check_dtype and not same_dtype(e, a):
            return _dtype_difference(e, a)
    return None


class EqualityPolicy(abc.ABC):
    """How a variant's output is compared with the reference's.

    Subclasses implement :meth:`compare`; calling a policy raises ``AssertionError`` on a
    mismatch, so a policy can also serve in a user's own tests.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> policy = vp.close(rtol=1e-3)
    >>> policy.compare(np.array([1.0]), np.array([1.0005])) is None
    True
    >>> policy(np.array([1.0]), np.array([1.1]))
    Traceback (most recent call last):
    ...
    AssertionError: 1 of 1 values differ; first at index 0: ...
    """

    @abc.abstractmethod
    def compare(self, expected: Any, actual: Any) -> str | None:
        """Return None when ``actual`` matches ``expected``, else one line saying where not."""

    def __call__(self, expected: Any, actual: Any) -> None:
        reason = self.compare(expected, actual)
        if reason is not None:
            raise AssertionError(reason)


class _Close(EqualityPolicy):
    def __init__(
        self,
        rtol: float | None = None,
        atol: float | None = None,
        nan_equal: bool = True,
        check_dtype: bool = True,
    ) -> None:
        self.rtol, self.atol, self.nan_equal = rtol, atol, nan_equal
        self.check_dtype = check_dtype

    exact = False

    def __repr__(self) -> str:
        dtype = "" if self.check_dtype else ", check_dtype=False"
        return f"close(rtol={self.rtol!r}, atol={self.atol!r}, nan_equal={self.nan_equal!r}{dtype})"

    def compare(self, expected: Any, actual: Any) -> str | None:
        if isinstance(expected, pd.Series | pd.DataFrame | pd.Index):
            return self._compare_pandas(expected, actual)
        if isinstance(expected, tuple | list):
            if type(actual) is not type(expected) or len(actual) != len(expected):
                return (
                    f"{type(actual).__name__} of {_length(actual)} items where the reference "
                    f"gives {type(expected).__name__} of {len(expected)}"
                )
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                reason = self.compare(e, a)
                if reason is not None:
                    return f"item {i}: {reason}"
            return None
        if isinstance(expected, _ARRAYLIKE):
            if not isinstance(actual, _ARRAYLIKE):
                return (
                    f"{type(actual).__name__} where the reference gives {type(expected).__name__}"
                )
            # A Python scalar has no dtype of its own (Numba returns a float32 result as
            # a Python float): against one, the kind is compared, not the dtype.
            python = type(expected) in _PYTHON_SCALARS or type(actual) in _PYTHON_SCALARS
            return _compare_arrays(
                np.asarray(expected),
                np.asarray(actual),
                self.rtol,
                self.atol,
                self.nan_equal,
                self.exact,
                self.check_dtype and not python,
            )
        try:
            same = bool(expected == actual)
        except Exception:  # an object whose == is not a truth value
            same = expected is actual
        return None if same else f"{actual!r} where the reference gives {expected!r}"

    def _compare_pandas(self, expected: Any, actual: Any) -> str | None:
        if type(actual) is not type(expected):
            return f"{type(actual).__name__} where the reference gives {type(expected).__name__}"
        if not isinstance(expected, pd.Index):
            reason = _pandas_kinds(expected, actual, self.check_dtype)
            if reason is not None:
                return reason
        tolerances: dict[str, Any] = (
            {"check_exact": True}
            if self.exact
            else {
                "check_exact": False,
                "rtol": 1e-9 if self.rtol is None else self.rtol,
                "atol": 1e-12 if self.atol is None else self.atol,
            }
        )
        try:
            if isinstance(expected, pd.Index):
                pd.testing.assert_index_equal(expected, actual, **tolerances)
            elif isinstance(expected, pd.Series):
                pd.testing.assert_series_equal(expected, actual, check_dtype=False, **tolerances)
            else:
                pd.testing.assert_frame_equal(expected, actual, check_dtype=False, **tolerances)
        except AssertionError as exc:
            return " ".join(str(exc).split())
        return None


class _Exact(_Close):
    exact = True

    def __repr__(self) -> str:
        return "exact()"


class _Callable(EqualityPolicy):
    def __init__(self, func: Callable[[Any, Any], None]) -> None:
        self.func = func

    def __repr__(self) -> str:
        return getattr(self.func, "__name__", repr(self.func))

    def compare(self, expected: Any, actual: Any) -> str | None:
        try:
            self.func(expected, actual)
        except Exception as exc:
            text = " ".join(str(exc).split())
            return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return None


_ARRAYLIKE = (np.ndarray, np.generic, float, int, complex, bool)
_PYTHON_SCALARS = (float, int, complex, bool)


def close(
    *,
    rtol: float | None = None,
    atol: float | None = None,
    nan_equal: bool = True,
    check_dtype: bool = True,
) -> EqualityPolicy:
    """Floats equal within tolerances; everything else exactly (the default policy).

    Parameters
    ----------
    rtol, atol : float, optional
        Relative and absolute tolerances, as in :func:`numpy.isclose`. By default they
        follow the dtype (:func:`tolerance`): about a thousand units in the last place.
    nan_equal : bool, default True
        Whether NaN equals NaN (in the same positions).
    check_dtype : bool, default True
        Whether the variant must give the reference's dtype (:func:`same_dtype`). With
        False, any dtype of the same kind will do (``float32`` for ``float64``,
        ``int32`` for ``int64``), its values still held to the reference's precision;
        the dispatcher's run-time check then holds the variant to the dtype it gave when
        compared.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> vp.close().compare(np.array([0.1 + 0.2]), np.array([0.3])) is None
    True
    >>> vp.close().compare(np.arange(3.0), np.arange(3.0, dtype=np.float32))
    'dtype float32 where the reference gives float64 (the same dtype is required; ...)'
    >>> vp.close(check_dtype=False).compare(np.arange(3.0), np.arange(3.0, dtype=np.float32))
    """
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is not None and not (isinstance(value, int | float) and value >= 0):
            msg = f"vp.close: {name}={value!r} must be a non-negative number (or None)"
            raise InvalidArgument(msg)
    if not isinstance(check_dtype, bool | np.bool_):
        msg = f"vp.close: check_dtype={check_dtype!r} must be True or False"
        raise InvalidArgument(msg)
    return _Close(rtol, atol, bool(nan_equal), bool(check_dtype))


def exact() -> EqualityPolicy:
    """Every value identical (NaN equal to NaN in the same positions; -0.0 equal to 0.0).

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> print(vp.exact().compare(np.array([0.3]), np.array([0.1 + 0.2])))
    1 of 1 values differ; first at index 0: expected np.float64(0.3), got ...
    """
    return _Exact()


#: The default policy: :func:`close` with tolerances by dtype.
DEFAULT = _Close()


def as_policy(equal: Any, stage_name: str = "?") -> EqualityPolicy:
    """Turn what ``@vp.stage(equal=...)`` accepts into a policy (None: the default)."""
    if equal is None:
        return DEFAULT
    if isinstance(equal, EqualityPolicy):
        return equal
    if callable(equal):
        return _Callable(equal)
    msg = (
        f"stage {stage_name!r}: equal={equal!r} is not an equality policy; pass vp.exact(), "
        "vp.close(rtol=..., atol=...), or a function (expected, actual) that raises on a mismatch"
    )
    raise InvalidArgument(msg)


def compare(expected: Any, actual: Any) -> str | None:
    """Compare a variant's output with the reference's under the default policy.

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
    return DEFAULT.compare(expected, actual)


def _length(obj: Any) -> str:
    try:
        return str(len(obj))
    except TypeError:
        return "?"
