"""Checks of the options that vp.spec's functions take, and how a spec shows them.

Every bad option raises :class:`~vecpipe.errors.InvalidArgument` through :func:`_reject`,
so each message has one shape: ``vp.spec.<function>: <name>=<value> <problem>; <what to
pass>``.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, NoReturn

import numpy as np

from vecpipe.errors import InvalidArgument

_TEXT_DTYPES = ("str", "string")
_INDEXES = (None, "range", "any")


def _reject(func: str, name: str, value: object, problem: str) -> NoReturn:
    msg = f"vp.spec.{func}: {name}={value!r} {problem}"
    raise InvalidArgument(msg)


def _check_int(func: str, name: str, value: object, *, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _reject(func, name, value, "must be an integer; pass an int such as 0 or 10")
    if minimum is not None and int(value) < minimum:
        _reject(func, name, value, f"is too small; pass an integer >= {minimum}")
    return int(value)


def _check_bool(func: str, name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        _reject(func, name, value, "is not a bool; pass True or False")
    return bool(value)


def _check_sizes(func: str, min_size: object, max_size: object) -> tuple[int, int]:
    lo = _check_int(func, "min_size", min_size)
    hi = _check_int(func, "max_size", max_size)
    if lo > hi:
        _reject(
            func,
            "min_size",
            min_size,
            f"is greater than max_size={hi!r}; pass min_size <= max_size",
        )
    return lo, hi


def _parse_dtype(func: str, dtype: object, *, text: bool) -> np.dtype | str:
    if text and isinstance(dtype, str) and dtype in _TEXT_DTYPES:
        return dtype
    kinds = "'float64', 'float32', 'int64', 'uint8', 'bool' or 'complex128'"
    if text:
        kinds += ", or 'str' / 'string' for text"
    if dtype is None:
        _reject(func, "dtype", dtype, f"is not a dtype; pass one such as {kinds}")
    try:
        parsed = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        _reject(func, "dtype", dtype, f"is not a dtype; pass one such as {kinds}")
    if parsed.kind not in "biufc":
        _reject(func, "dtype", dtype, f"is not a numeric or bool dtype; pass one such as {kinds}")
    if (parsed.kind == "f" and parsed.itemsize > 8) or (
        parsed.kind == "c" and parsed.itemsize > 16
    ):
        _reject(
            func,
            "dtype",
            dtype,
            "is not supported (no Hypothesis strategy for it); pass 'float64' or 'complex128'",
        )
    return parsed


def _round_inward(value: float, dtype: np.dtype, *, up: bool) -> float:
    """The float of ``dtype`` nearest ``value`` on the inside of the bound."""
    x = dtype.type(value)
    if up and float(x) < value:
        x = np.nextafter(x, dtype.type(np.inf))
    elif not up and float(x) > value:
        x = np.nextafter(x, dtype.type(-np.inf))
    return float(x)


def _check_bound(func: str, name: str, value: object, dtype: np.dtype) -> int | float | None:
    if value is None:
        return None
    if dtype.kind in "bc":
        _reject(func, name, value, f"does not apply to dtype {dtype}; pass {name}=None")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            _reject(func, name, value, f"must be an integer for dtype {dtype}; pass an int")
        if not info.min <= int(value) <= info.max:
            _reject(
                func,
                name,
                value,
                f"is outside the range of {dtype}; pass an int in [{info.min}, {info.max}]",
            )
        return int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _reject(func, name, value, "must be a real number; pass a float such as 0.0")
    if not math.isfinite(value):
        _reject(func, name, value, f"must be finite; pass {name}=None for no bound")
    rounded = _round_inward(float(value), dtype, up=name == "min_value")
    if not math.isfinite(rounded):
        _reject(func, name, value, f"is outside the range of {dtype}; pass a smaller bound")
    return rounded


def _check_bounds(
    func: str, min_value: object, max_value: object, dtype: np.dtype
) -> tuple[Any, Any]:
    lo = _check_bound(func, "min_value", min_value, dtype)
    hi = _check_bound(func, "max_value", max_value, dtype)
    if lo is not None and hi is not None and lo > hi:
        _reject(
            func,
            "min_value",
            min_value,
            f"is greater than max_value={max_value!r} (no "
            f"{dtype} lies between them); pass min_value <= max_value",
        )
    return lo, hi


def _fmt(value: object) -> str:
    if isinstance(value, str) or (
        isinstance(value, dict) and all(isinstance(x, str) for x in (*value, *value.values()))
    ):
        return json.dumps(value)
    return repr(value)


def _non_default(**options: tuple[object, object]) -> dict[str, object]:
    """The options (given as ``name=(value, default)``) whose value is not the default."""
    return {name: value for name, (value, default) in options.items() if value != default}


def _call_repr(func: str, /, *args: object, **options: object) -> str:
    parts = [_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in options.items()]
    return f"vp.spec.{func}({', '.join(parts)})"


def _check_index(func: str, index: object) -> str | None:
    if not (index is None or (isinstance(index, str) and index in _INDEXES)):
        _reject(
            func,
            "index",
            index,
            "is not supported; pass index=None (a RangeIndex) or "
            'index="any" (unique integers in any order)',
        )
    return None if index == "range" else index  # type: ignore[return-value]
