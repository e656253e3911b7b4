"""Unsized arguments: :func:`integers`, :func:`floats`, :func:`booleans`,
:func:`sampled_from`, :func:`just` and :func:`window`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from vecpipe.spec._argspec import ArgSpec, EdgeCase
from vecpipe.spec._options import _call_repr, _check_int, _reject
from vecpipe.spec._values import _HUGE, _TINY, _negative_zero_within, _Values, _within, _zero_within


class _ScalarSpec(ArgSpec):
    """An unsized argument: a strategy and a fixed list of edge cases."""

    def __init__(self, strategy: SearchStrategy[Any], cases: list[EdgeCase], text: str) -> None:
        self._strategy = strategy
        seen: set[Any] = set()
        self._cases = []
        for case in cases:  # drop repeated values (say the zero that is also min_value)
            key: tuple[Any, ...] = (type(case.value), case.value)
            if isinstance(case.value, float) and math.isnan(case.value):
                key = (float, "nan")
            elif isinstance(case.value, float):
                key = (float, case.value, math.copysign(1.0, case.value))
            try:
                if key in seen:
                    continue
                seen.add(key)
            except TypeError:  # unhashable values are kept
                pass
            self._cases.append(case)
        self._repr = text

    def __repr__(self) -> str:
        return self._repr

    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        return self._strategy

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        return list(self._cases)


class _WindowSpec(ArgSpec):
    def __init__(self, min_value: object, max_value: object) -> None:
        self.min_value = _check_int("window", "min_value", min_value)
        self.max_value: int | None = None
        if max_value is not None:
            self.max_value = _check_int("window", "max_value", max_value)
            if self.max_value < self.min_value:
                _reject(
                    "window",
                    "max_value",
                    max_value,
                    f"is less than min_value={min_value!r}; pass max_value >= min_value or None",
                )
        options: dict[str, Any] = {} if self.min_value == 1 else {"min_value": self.min_value}
        if max_value is not None:
            options["max_value"] = self.max_value
        self._repr = _call_repr("window", **options)

    def __repr__(self) -> str:
        return self._repr

    def _cap(self, n: int | None) -> int:
        if n is None:
            return self.max_value if self.max_value is not None else max(self.min_value, 100)
        cap = max(self.min_value, n)
        return cap if self.max_value is None else min(cap, self.max_value)

    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        return st.integers(self.min_value, self._cap(n))

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        cases = [EdgeCase("min-window", self.min_value)]
        if n is None:
            cases.append(EdgeCase("max-window", self._cap(None)))
        else:
            for label, w in (("full-window", n), ("over-long-window", n + 1)):
                if _within(w, self.min_value, self.max_value):
                    cases.append(EdgeCase(label, w))
        unique: dict[object, EdgeCase] = {}
        for case in cases:
            unique.setdefault(case.value, case)
        return list(unique.values())

    def ordinary(self, n: int | None = None) -> Any:
        """A valid window: 3, or less for short data, within the bounds."""
        w = max(self.min_value, min(3, self._cap(n)))
        return w if self.max_value is None else min(w, self.max_value)


def integers(min_value: int | None = None, max_value: int | None = None) -> ArgSpec:
    """Describe an int argument.

    Edge cases: ``zero`` (if within the bounds), ``min-value`` and ``max-value``.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [(c.label, c.value) for c in spec.integers(-3, 10).edge_cases()]
    [('zero', 0), ('min-value', -3), ('max-value', 10)]
    """
    for name, value in (("min_value", min_value), ("max_value", max_value)):
        if value is not None:
            _check_int("integers", name, value, minimum=None)
    if min_value is not None and max_value is not None and min_value > max_value:
        _reject(
            "integers",
            "min_value",
            min_value,
            f"is greater than max_value={max_value!r}; pass min_value <= max_value",
        )
    lo = None if min_value is None else int(min_value)
    hi = None if max_value is None else int(max_value)
    cases = []
    if _within(0, lo, hi):
        cases.append(EdgeCase("zero", 0))
    if lo is not None:
        cases.append(EdgeCase("min-value", lo))
    if hi is not None:
        cases.append(EdgeCase("max-value", hi))
    options = {k: v for k, v in (("min_value", lo), ("max_value", hi)) if v is not None}
    return _ScalarSpec(st.integers(lo, hi), cases, _call_repr("integers", **options))


def floats(
    min_value: float | None = None,
    max_value: float | None = None,
    *,
    allow_nan: bool = True,
    allow_infinity: bool = True,
    width: int = 64,
) -> ArgSpec:
    """Describe a float argument (a Python float exactly representable at ``width`` bits).

    As for :func:`array`, NaN is not excluded by the bounds (pass ``allow_nan=False``),
    and infinities outside them are. Edge cases, as allowed: ``zero``, ``negative-zero``,
    ``nan``, ``+inf``, ``-inf``, ``huge``, ``tiny``, ``min-value`` and ``max-value``.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [(c.label, c.value) for c in spec.floats(0.0, allow_nan=False).edge_cases()]
    [('zero', 0.0), ('+inf', inf), ('huge', 1e+300), ('tiny', 1e-310)]
    """
    if isinstance(width, bool) or width not in (16, 32, 64):
        _reject("floats", "width", width, "is not supported; pass width=16, 32 or 64")
    dtype = np.dtype(f"float{width}")
    values = _Values(
        "floats",
        dtype,
        min_value=min_value,
        max_value=max_value,
        allow_nan=allow_nan,
        allow_infinity=allow_infinity,
    )
    lo, hi = values.min_value, values.max_value
    huge, tiny = _HUGE[dtype.itemsize], _TINY[dtype.itemsize]
    candidates = [
        ("zero", 0.0, _zero_within(lo, hi)),
        ("negative-zero", -0.0, _negative_zero_within(lo, hi)),
        ("nan", math.nan, values.allow_nan),
        ("+inf", math.inf, values.allow_infinity and hi is None),
        ("-inf", -math.inf, values.allow_infinity and lo is None),
        (
            "huge",
            huge if _within(huge, lo, hi) else -huge,
            _within(huge, lo, hi) or _within(-huge, lo, hi),
        ),
        (
            "tiny",
            tiny if _within(tiny, lo, hi) else -tiny,
            _within(tiny, lo, hi) or _within(-tiny, lo, hi),
        ),
        ("min-value", lo, lo is not None),
        ("max-value", hi, hi is not None),
    ]
    cases = [EdgeCase(label, float(dtype.type(v))) for label, v, ok in candidates if ok]
    options: dict[str, Any] = {
        k: v for k, v in (("min_value", min_value), ("max_value", max_value)) if v is not None
    }
    options.update(
        {
            k: v
            for k, v, default in (
                ("allow_nan", allow_nan, True),
                ("allow_infinity", allow_infinity, True),
                ("width", width, 64),
            )
            if v != default
        }
    )
    return _ScalarSpec(values.strategy(), cases, _call_repr("floats", **options))


def booleans() -> ArgSpec:
    """Describe a bool argument. Edge cases: ``false`` and ``true``.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [(c.label, c.value) for c in spec.booleans().edge_cases()]
    [('false', False), ('true', True)]
    """
    cases = [EdgeCase("false", False), EdgeCase("true", True)]
    return _ScalarSpec(st.booleans(), cases, _call_repr("booleans"))


def sampled_from(values: Sequence[Any]) -> ArgSpec:
    """Describe an argument that takes one of a few values (say a method name).

    Each value is an edge case (when there are at most ten), labelled by its repr.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [c.label for c in spec.sampled_from(["mean", "median"]).edge_cases()]
    ["value='mean'", "value='median'"]
    """
    if isinstance(values, str | bytes | set | frozenset | dict) or not isinstance(
        values, Sequence | np.ndarray | pd.Index
    ):
        _reject(
            "sampled_from",
            "values",
            values,
            "is not a sequence; pass a list or tuple such as ['mean', 'median']",
        )
    choices = list(values)
    if not choices:
        _reject("sampled_from", "values", values, "is empty; pass at least one value")
    cases = []
    if len(choices) <= 10:
        labels: set[str] = set()
        for i, value in enumerate(choices):
            text = repr(value)
            label = f"value={text if len(text) <= 30 else text[:27] + '...'}"
            if label in labels:
                label = f"value-{i}"
            labels.add(label)
            cases.append(EdgeCase(label, value))
    return _ScalarSpec(st.sampled_from(choices), cases, _call_repr("sampled_from", choices))


def just(value: Any) -> ArgSpec:
    """Describe an argument that is always ``value``. Edge case: ``value``.

    Unlike a plain constant in a :class:`Spec`, it reads as a spec in messages.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [(c.label, c.value) for c in spec.just(0.5).edge_cases()]
    [('value', 0.5)]
    """
    return _ScalarSpec(st.just(value), [EdgeCase("value", value)], _call_repr("just", value))


def window(min_value: int = 1, *, max_value: int | None = None) -> ArgSpec:
    """Describe a window length tied to the shared length ``n`` of the data.

    Values lie in ``[min_value, max(min_value, n)]``, capped by ``max_value``. Edge cases:
    ``min-window``, ``full-window`` (``n``) and ``over-long-window`` (``n + 1``, longer
    than the data, which pandas allows), as the bounds permit. Without a shared length
    (``same_length=False``) it is ``integers(min_value, max_value or 100)``.

    Examples
    --------
    >>> from vecpipe import spec
    >>> [(c.label, c.value) for c in spec.window(2).edge_cases(8)]
    [('min-window', 2), ('full-window', 8), ('over-long-window', 9)]
    """
    return _WindowSpec(min_value, max_value)
