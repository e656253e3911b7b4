"""Values of one dtype: the element strategy, ordinary values and edge values.

Also the helpers every spec draws with: :func:`_minimal` (a strategy's simplest value),
:func:`_lengths` (lengths, short ones often) and the length of edge cases.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

from vecpipe.spec._options import _check_bool, _check_bounds, _parse_dtype, _reject

#: The length of the arrays in edge cases (clipped to the sizes a spec allows).
EDGE_LENGTH = 8
#: Lengths up to ``min_size + _SMALL`` are drawn as often as all the others together.
_SMALL = 16
#: Huge and tiny (subnormal) magnitudes by the item size of a float (or complex part).
_HUGE = {2: 6.0e4, 4: 1.0e30, 8: 1.0e300}
_TINY = {2: 1.0e-7, 4: 1.0e-40, 8: 1.0e-310}


def _within(x: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or lo <= x) and (hi is None or x <= hi)


def _zero_within(lo: float | None, hi: float | None) -> bool:
    """Whether +0.0 lies within the bounds (``max_value=-0.0`` excludes it, as in Hypothesis)."""
    return (lo is None or lo <= 0) and (hi is None or hi > 0 or math.copysign(1.0, hi) > 0)


def _negative_zero_within(lo: float | None, hi: float | None) -> bool:
    """Whether -0.0 lies within the bounds (``min_value=0.0`` excludes it, as in Hypothesis)."""
    return (lo is None or lo < 0 or math.copysign(1.0, lo) < 0) and (hi is None or hi >= 0)


def _distinct(values: Any) -> bool:
    flat = np.asarray(values).ravel()
    return flat.size <= 1 or np.unique(flat).size == flat.size


def _minimal(strategy: SearchStrategy[Any]) -> Any:
    """The simplest value of ``strategy`` (deterministic: Hypothesis shrinks to it)."""
    from hypothesis import HealthCheck, Phase, find, settings

    quiet = settings(
        database=None,
        max_examples=100,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    return find(strategy, lambda _: True, settings=quiet)


def _lengths(lo: int, hi: int) -> SearchStrategy[int]:
    """Lengths in ``[lo, hi]``, short ones (where the bugs are) drawn often."""
    if hi - lo <= _SMALL:
        return st.integers(lo, hi)
    return st.one_of(st.integers(lo, lo + _SMALL), st.integers(lo, hi))


def _edge_length(lo: int, hi: int) -> int:
    return min(max(lo, EDGE_LENGTH), hi)


def _strided(a: Any) -> Any:
    """A non-contiguous view (every other row of a longer array) with ``a``'s values."""
    buffer = np.zeros((2 * a.shape[0], *a.shape[1:]), dtype=a.dtype)
    buffer[::2] = a
    return buffer[::2]


def _nan_one_in_eight(pair: tuple[int, float]) -> float:
    return math.nan if pair[0] == 7 else pair[1]


class _Values:
    """Values of one NumPy dtype: element strategy, ordinary values and edge values."""

    def __init__(
        self,
        func: str,
        dtype: np.dtype,
        *,
        min_value: object = None,
        max_value: object = None,
        allow_nan: object = True,
        allow_infinity: object = True,
        elements: object = None,
    ) -> None:
        self.dtype = dtype
        self.min_value, self.max_value = _check_bounds(func, min_value, max_value, dtype)
        allow_nan = _check_bool(func, "allow_nan", allow_nan)
        allow_infinity = _check_bool(func, "allow_infinity", allow_infinity)
        if elements is not None:
            if not isinstance(elements, SearchStrategy):
                _reject(
                    func,
                    "elements",
                    elements,
                    "is not a Hypothesis strategy; pass one such "
                    "as hypothesis.strategies.floats(0, 1), or None",
                )
            if (
                min_value is not None
                or max_value is not None
                or not allow_nan
                or not allow_infinity
            ):
                _reject(
                    func,
                    "elements",
                    elements,
                    "cannot be combined with min_value, max_value, allow_nan=False or "
                    "allow_infinity=False; pass the limits to the elements strategy instead, "
                    "such as elements=hypothesis.strategies.floats(0, 1)",
                )
        self.elements: SearchStrategy[Any] | None = elements
        self._simplest: dict[tuple[int, bool], np.ndarray] = {}
        self.allow_nan = allow_nan and dtype.kind in "fc"
        self.allow_infinity = allow_infinity and dtype.kind in "fc"

    def capacity(self) -> float:
        """How many distinct values there are (for ``unique=True``)."""
        if self.elements is not None:
            return math.inf
        if self.dtype.kind == "b":
            return 2
        if self.dtype.kind in "iu":
            info = np.iinfo(self.dtype)
            lo = info.min if self.min_value is None else self.min_value
            hi = info.max if self.max_value is None else self.max_value
            return hi - lo + 1
        return math.inf

    def strategy(self) -> SearchStrategy[Any]:
        if self.elements is not None:
            return self.elements
        kind = self.dtype.kind
        width: Any = self.dtype.itemsize * 8  # 16, 32 or 64 (128 for complex128)
        if kind == "b":
            return st.booleans()
        if kind in "iu":
            info = np.iinfo(self.dtype)
            lo = int(info.min) if self.min_value is None else self.min_value
            hi = int(info.max) if self.max_value is None else self.max_value
            return st.integers(lo, hi)
        if kind == "c":
            return st.complex_numbers(
                allow_nan=self.allow_nan, allow_infinity=self.allow_infinity, width=width
            )
        lo, hi = self.min_value, self.max_value
        if lo is None and hi is None:
            return st.floats(
                allow_nan=self.allow_nan, allow_infinity=self.allow_infinity, width=width
            )
        finite = st.floats(
            lo,
            hi,
            allow_nan=False,
            allow_infinity=self.allow_infinity and (lo is None or hi is None),
            width=width,
        )
        if not self.allow_nan:
            return finite
        # NaN is not a number, so bounds do not exclude it: mix it in, one draw in eight.
        return st.tuples(st.integers(0, 7), finite).map(_nan_one_in_eight)

    def fill(self, unique: bool) -> SearchStrategy[Any] | None:
        return None if unique or self.elements is not None else self.strategy()

    def array_strategy(self, n: int, *, unique: bool = False) -> SearchStrategy[Any]:
        return hnp.arrays(
            self.dtype, (n,), elements=self.strategy(), fill=self.fill(unique), unique=unique
        )

    def ordinary(self, count: int, *, unique: bool = False) -> np.ndarray:
        """Plain deterministic values: ``count`` of them, 1-D."""
        if self.elements is not None:
            key = (count, unique)
            if key not in self._simplest:
                strategy = hnp.arrays(self.dtype, (count,), elements=self.elements, unique=unique)
                self._simplest[key] = np.array(_minimal(strategy))
            return self._simplest[key].copy()
        kind = self.dtype.kind
        if kind == "b":
            return np.arange(count) % 3 == 0
        if kind in "iu":
            info = np.iinfo(self.dtype)
            lo = self.min_value if self.min_value is not None else max(int(info.min), -(count // 3))
            hi = int(info.max) if self.max_value is None else self.max_value
            span = hi - lo + 1
            return np.array([lo + i % span for i in range(count)], dtype=self.dtype)
        t = np.linspace(0.0, 1.0, count)
        if kind == "c":
            return ((-1 + 3 * t) + 1j * (2 - 3 * t)).astype(self.dtype)
        lo, hi = self.min_value, self.max_value
        a, b = -1.0, 2.0
        if lo is not None and hi is not None:
            a, b = lo, hi
        elif lo is not None:
            a, b = lo, lo + 3.0
        elif hi is not None:
            a, b = hi - 3.0, hi
        if math.isfinite(b - a):
            values = np.linspace(a, b, count).astype(self.dtype)
        else:  # bounds near the largest floats: b - a overflows
            values = (a * (1 - t) + b * t).astype(self.dtype)
        if lo is not None or hi is not None:
            values = np.clip(values, lo, hi).astype(self.dtype)
        return values

    def cases(self, count: int, *, unique: bool = False) -> list[tuple[str, np.ndarray]]:
        """Labelled 1-D edge values of length ``count`` (none when ``count`` is 0)."""
        if self.elements is not None or count == 0:
            return []
        base = self.ordinary(count)
        out: list[tuple[str, np.ndarray]] = []

        def every_other(label: str, values: object) -> None:
            # Every other value (among ordinary ones); for unique arrays, the first and last.
            v = base.copy()
            new = np.atleast_1d(np.asarray(values, dtype=self.dtype))
            at = slice(None, None, 2) if not unique else [0, count - 1][: min(new.size, count)]
            v[at] = np.resize(new, v[at].size)
            out.append((label, v))

        kind = self.dtype.kind
        lo, hi = self.min_value, self.max_value
        if kind == "b":
            out.append(("all-true", np.ones(count, dtype=bool)))
            out.append(("all-false", np.zeros(count, dtype=bool)))
        elif kind in "iu":
            info = np.iinfo(self.dtype)
            if lo is None:
                every_other("int-min", info.min)
            if hi is None:
                every_other("int-max", info.max)
        else:
            if self.allow_nan:
                out.append(("all-nan", np.full(count, np.nan, dtype=self.dtype)))
                if count > 2:
                    # One NaN among numbers: skipping a NaN and propagating it give the same
                    # answer on an all-NaN input, but not here.
                    v = base.copy()
                    v[count // 2] = np.nan
                    out.append(("some-nan", v))
            for label, sign, free in (("+inf", 1, hi is None), ("-inf", -1, lo is None)):
                if self.allow_infinity and free:
                    v = base.copy()
                    v[count // 2] = sign * np.inf
                    out.append((label, v))
            if _negative_zero_within(lo, hi):
                every_other("negative-zero", -0.0)
            part = self.dtype.itemsize // (2 if kind == "c" else 1)
            # Huge values share one sign: +1e300 and -1e300 among small values cancel,
            # and any other order of summation (a sound variant) then gives another answer.
            huge = [x for x in (_HUGE[part], -_HUGE[part]) if _within(x, lo, hi)][:1]
            tiny = [x for x in (_TINY[part], -_TINY[part]) if _within(x, lo, hi)]
            for label, fitting in (("huge", huge), ("tiny", tiny)):
                if fitting:
                    every_other(label, fitting)
        if lo is not None:
            every_other("min-value", lo)
        if hi is not None:
            every_other("max-value", hi)
        if unique:
            out = [(label, v) for label, v in out if _distinct(v)]
        return out


class _TextValues:
    """Text values for a pandas string dtype (``"str"`` or ``"string"``)."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype

    def _wrap(self, values: Any) -> Any:
        return pd.array(list(values), dtype=self.dtype)  # type: ignore[call-overload]

    def array_strategy(self, n: int, *, unique: bool = False) -> SearchStrategy[Any]:
        text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
        return hnp.arrays(np.dtype("U8"), (n,), elements=text, unique=unique).map(self._wrap)

    def ordinary(self, count: int, *, unique: bool = False) -> Any:
        return self._wrap(f"v{i}" for i in range(count))

    def cases(self, count: int, *, unique: bool = False) -> list[tuple[str, Any]]:
        if count == 0 or (unique and count > 1):
            return []
        return [("empty-strings", self._wrap([""] * count))]


def _values(func: str, dtype: object, **options: Any) -> _Values | _TextValues:
    parsed = _parse_dtype(func, dtype, text=True)
    if isinstance(parsed, str):
        return _TextValues(parsed)
    return _Values(func, parsed, **options)
