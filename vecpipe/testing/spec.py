"""Input specs: how verification generates the arguments of a stage.

A stage's reference and its variants are checked against each other on generated inputs.
This module describes those inputs:

* an **argument spec** (:class:`ArgSpec`, made by :func:`array`, :func:`series`,
  :func:`frame`, :func:`integers`, :func:`floats`, :func:`booleans`,
  :func:`sampled_from`, :func:`just` and :func:`window`) describes one positional
  argument: a Hypothesis strategy for its values and the *edge cases* (empty arrays, NaN,
  infinities, subnormals, extreme integers, non-contiguous and read-only arrays...) that
  are always tried rather than left to chance;
* a **call spec** (:class:`Spec`) describes all positional arguments of a call and ties
  the lengths of arrays, Series and frames together (``same_length=True``);
* :func:`as_spec` turns what a user passes as ``inputs=`` into a :class:`Spec`, and
  :func:`infer` builds one from the reference's type annotations.

Examples
--------
>>> from vecpipe.testing import spec
>>> s = spec.Spec(spec.array("float64"), spec.window())
>>> [label for label, args in s.edge_cases()][:4]
['empty', 'length-1', 'arg0:all-nan', 'arg0:some-nan']
>>> all(len(args) == 2 for label, args in s.edge_cases())
True
"""

from __future__ import annotations

import abc
import copy
import inspect
import json
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

from vecpipe.errors import InvalidArgument

__all__ = [
    "EDGE_LENGTH",
    "ArgSpec",
    "EdgeCase",
    "Spec",
    "array",
    "as_spec",
    "booleans",
    "floats",
    "frame",
    "infer",
    "integers",
    "just",
    "sampled_from",
    "series",
    "window",
]

#: The length of the arrays in edge cases (clipped to the sizes a spec allows).
EDGE_LENGTH = 8
#: Lengths up to ``min_size + _SMALL`` are drawn as often as all the others together.
_SMALL = 16
#: The second axis of generated 2-D arrays is drawn in ``0.._MAX_COLS`` unless fixed.
_MAX_COLS = 8
#: The second axis of 2-D edge cases unless fixed.
_DEFAULT_COLS = 3
#: Huge and tiny (subnormal) magnitudes by the item size of a float (or complex part).
_HUGE = {2: 6.0e4, 4: 1.0e30, 8: 1.0e300}
_TINY = {2: 1.0e-7, 4: 1.0e-40, 8: 1.0e-310}
_TEXT_DTYPES = ("str", "string")
_ORDERS = ("any", "C", "F")
_INDEXES = (None, "range", "any")


# -- errors and checks ----------------------------------------------------------------------


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


# -- values of one dtype ------------------------------------------------------------------


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


# -- argument specs -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EdgeCase:
    """A concrete, labelled value of one argument that is always tried.

    Attributes
    ----------
    label : str
        What is special about it, such as ``"all-nan"`` or ``"int-max"``.
    value : object
        The argument itself.

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> spec.EdgeCase("zero", 0.0)
    EdgeCase(label='zero', value=0.0)
    """

    label: str
    value: object


class ArgSpec(abc.ABC):
    """Describes one positional argument: how to generate it and which edge cases to try.

    Subclasses set :attr:`sized` and implement :meth:`strategy`; they may override
    :meth:`edge_cases` and :meth:`ordinary`. Sized specs (arrays, Series, frames) also
    have ``min_size`` and ``max_size``: the lengths they accept along axis 0.

    Attributes
    ----------
    sized : bool
        Whether the argument has a length that a :class:`Spec` may tie to other arguments'.

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> spec.array("int32").sized, spec.floats().sized
    (True, False)
    """

    sized: ClassVar[bool] = False
    min_size: int = 0
    max_size: int = 1000

    @abc.abstractmethod
    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        """Return a strategy for this argument's values.

        Parameters
        ----------
        n : int, optional
            The shared length: sized specs then produce exactly ``n`` rows; unsized
            specs may use it (:func:`window` does) or ignore it.

        Examples
        --------
        >>> from vecpipe.testing import spec
        >>> spec.just(3).strategy()
        just(3)
        """

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        """Return the edge cases of this argument.

        Parameters
        ----------
        n : int, optional
            The shared length. Sized specs then give values of exactly ``n`` rows (and
            leave the ``"empty"`` and ``"length-1"`` cases to the :class:`Spec`); without
            it they include those two and use a length of about :data:`EDGE_LENGTH`.

        Examples
        --------
        >>> from vecpipe.testing import spec
        >>> [c.label for c in spec.booleans().edge_cases()]
        ['false', 'true']
        """
        return []

    def ordinary(self, n: int | None = None) -> Any:
        """Return a plain, deterministic value (of ``n`` rows for sized specs).

        :meth:`Spec.edge_cases` passes it for the arguments that are not the edge case.
        The default is the first edge case, else the simplest value of the strategy.

        Examples
        --------
        >>> from vecpipe.testing import spec
        >>> spec.array("float64").ordinary(4)
        array([-1.,  0.,  1.,  2.])
        >>> spec.integers(5, 9).ordinary()
        5
        """
        cases = self.edge_cases(n)
        if cases:
            return cases[0].value
        return _minimal(self.strategy(n))

    def _default_length(self) -> int:
        return _edge_length(self.min_size, self.max_size)


class _SizedSpec(ArgSpec):
    sized: ClassVar[bool] = True
    _func: ClassVar[str] = "array"

    def __init__(self, min_size: object, max_size: object) -> None:
        self.min_size, self.max_size = _check_sizes(self._func, min_size, max_size)

    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        if n is None:
            return _lengths(self.min_size, self.max_size).flatmap(self._strategy_for)
        return self._strategy_for(_check_int(self._func, "n", n))

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        cases = []
        if n is None:
            if self.min_size == 0:
                cases.append(EdgeCase("empty", self.ordinary(0)))
            if self.min_size <= 1 <= self.max_size:
                cases.append(EdgeCase("length-1", self.ordinary(1)))
            n = self._default_length()
        if n > 0:
            cases += self._value_cases(_check_int(self._func, "n", n))
        return cases

    def ordinary(self, n: int | None = None) -> Any:
        return self._ordinary(self._default_length() if n is None else n)

    @abc.abstractmethod
    def _strategy_for(self, n: int) -> SearchStrategy[Any]:
        """A strategy for values of exactly ``n`` rows."""

    @abc.abstractmethod
    def _ordinary(self, n: int) -> Any:
        """A plain deterministic value of ``n`` rows."""

    @abc.abstractmethod
    def _value_cases(self, n: int) -> list[EdgeCase]:
        """The edge cases of ``n`` rows."""


class _ArraySpec(_SizedSpec):
    _func = "array"

    def __init__(
        self,
        dtype: object,
        *,
        min_size: object,
        max_size: object,
        ndim: object,
        allow_nan: object,
        allow_infinity: object,
        min_value: object,
        max_value: object,
        elements: object,
        order: object,
        unique: object,
        cols: object,
    ) -> None:
        super().__init__(min_size, max_size)
        parsed = _parse_dtype("array", dtype, text=False)
        assert isinstance(parsed, np.dtype)
        self.dtype = parsed
        if isinstance(ndim, bool) or ndim not in (1, 2):
            _reject("array", "ndim", ndim, "is not supported; pass ndim=1 or ndim=2")
        self.ndim = int(ndim)  # type: ignore[call-overload]
        if not isinstance(order, str) or order not in _ORDERS:
            _reject(
                "array",
                "order",
                order,
                'is not one of "any", "C", "F"; pass order="any" '
                '(contiguous, strided and Fortran-ordered arrays), "C" or "F"',
            )
        self.order = order
        if cols is not None:
            if self.ndim != 2:
                _reject(
                    "array", "cols", cols, "applies to 2-D arrays only; pass ndim=2 or cols=None"
                )
            cols = _check_int("array", "cols", cols)
        self.cols: int | None = cols
        self.unique = _check_bool("array", "unique", unique)
        self.values = _Values(
            "array",
            parsed,
            min_value=min_value,
            max_value=max_value,
            allow_nan=allow_nan,
            allow_infinity=allow_infinity,
            elements=elements,
        )
        if self.unique:
            width = 1 if self.ndim == 1 else (_MAX_COLS if cols is None else max(cols, 1))
            room = self.values.capacity()
            if self.max_size * width > room:
                _reject(
                    "array",
                    "max_size",
                    self.max_size,
                    f"is too large for unique=True: "
                    f"dtype {parsed} with these bounds has only {room} distinct values "
                    f"({width} per row); pass max_size<={int(room // width)} or "
                    "unique=False",
                )
        self._layouts = {"C": ("C",), "F": ("F",)}.get(
            order, ("C", "strided", "F") if self.ndim == 2 else ("C", "strided")
        )
        self._options = {
            "min_size": (min_size, 0),
            "max_size": (max_size, 1000),
            "ndim": (ndim, 1),
            "cols": (cols, None),
            "allow_nan": (allow_nan, True),
            "allow_infinity": (allow_infinity, True),
            "min_value": (min_value, None),
            "max_value": (max_value, None),
            "elements": (elements, None),
            "order": (order, "any"),
            "unique": (unique, False),
        }

    def __repr__(self) -> str:
        return _call_repr("array", dtype=str(self.dtype), **_non_default(**self._options))

    def _shape(self, n: int, cols: int | None = None) -> tuple[int, ...]:
        if self.ndim == 1:
            return (n,)
        return (
            n,
            cols if cols is not None else self.cols if self.cols is not None else _DEFAULT_COLS,
        )

    def _strategy_for(self, n: int) -> SearchStrategy[Any]:
        return _draw_array(self, n)

    def _ordinary(self, n: int) -> Any:
        shape = self._shape(n)
        values = self.values.ordinary(math.prod(shape), unique=self.unique).reshape(shape)
        return np.asfortranarray(values) if self.order == "F" else values

    def _value_cases(self, n: int) -> list[EdgeCase]:
        shape = self._shape(n)
        size = math.prod(shape)
        cases = []
        for label, flat in self.values.cases(size, unique=self.unique):
            value = flat.reshape(shape)
            cases.append(EdgeCase(label, np.asfortranarray(value) if self.order == "F" else value))
        if self.order == "any":
            cases.append(EdgeCase("strided", _strided(self._ordinary(n))))
        read_only = self._ordinary(n)
        read_only.flags.writeable = False
        cases.append(EdgeCase("read-only", read_only))
        if self.ndim == 2 and self.order == "any":
            cases.append(EdgeCase("fortran", np.asfortranarray(self._ordinary(n))))
        return cases


@st.composite
def _draw_array(draw: Callable[[SearchStrategy[Any]], Any], spec: _ArraySpec, n: int) -> Any:
    cols = None
    if spec.ndim == 2 and spec.cols is None:
        cols = draw(st.integers(0, _MAX_COLS))
    layout = spec._layouts[0]
    if len(spec._layouts) > 1:
        layout = draw(st.sampled_from(spec._layouts))
    values = spec.values
    a = draw(
        hnp.arrays(
            spec.dtype,
            spec._shape(n, cols),
            elements=values.strategy(),
            fill=values.fill(spec.unique),
            unique=spec.unique,
        )
    )
    if layout == "strided":
        return _strided(a)
    if layout == "F":
        return np.asfortranarray(a)
    return a


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


@st.composite
def _draw_index(draw: Callable[[SearchStrategy[Any]], Any], n: int) -> pd.Index:
    start = draw(st.integers(-50, 50))
    step = draw(st.sampled_from([1, 2, -1, 7]))
    values = start + step * np.arange(n, dtype=np.int64)
    if n > 1 and draw(st.booleans()):
        seed = draw(st.integers(0, 2**32 - 1))
        values = np.random.default_rng(seed).permutation(values)
    return pd.Index(values, dtype="int64")


class _SeriesSpec(_SizedSpec):
    _func = "series"

    def __init__(
        self,
        dtype: object,
        *,
        min_size: object,
        max_size: object,
        allow_nan: object,
        allow_infinity: object,
        name: object,
        index: object,
    ) -> None:
        super().__init__(min_size, max_size)
        self.values = _values("series", dtype, allow_nan=allow_nan, allow_infinity=allow_infinity)
        if not isinstance(name, Hashable):
            _reject("series", "name", name, "is not hashable; pass a str such as 'x', or None")
        self.name = name
        self.index = _check_index("series", index)
        self._repr = _call_repr(
            "series",
            dtype=str(self.values.dtype),
            **_non_default(
                min_size=(min_size, 0),
                max_size=(max_size, 1000),
                allow_nan=(allow_nan, True),
                allow_infinity=(allow_infinity, True),
                name=(name, None),
                index=(index, None),
            ),
        )

    def __repr__(self) -> str:
        return self._repr

    def _build(self, values: Any, index: pd.Index | None = None) -> pd.Series:
        n = len(values)
        return pd.Series(values, index=pd.RangeIndex(n) if index is None else index, name=self.name)

    def _strategy_for(self, n: int) -> SearchStrategy[Any]:
        values = self.values.array_strategy(n)
        if self.index == "any":
            return st.builds(self._build, values, _draw_index(n))
        return values.map(self._build)

    def _ordinary(self, n: int) -> Any:
        return self._build(self.values.ordinary(n))

    def _value_cases(self, n: int) -> list[EdgeCase]:
        cases = [EdgeCase(label, self._build(v)) for label, v in self.values.cases(n)]
        if self.index == "any" and n > 1:
            reversed_index = pd.Index(np.arange(n, dtype=np.int64)[::-1])
            cases.append(
                EdgeCase("reversed-index", self._build(self.values.ordinary(n), reversed_index))
            )
        return cases


class _FrameSpec(_SizedSpec):
    _func = "frame"

    def __init__(
        self,
        columns: object,
        *,
        min_size: object,
        max_size: object,
        allow_nan: object,
        allow_infinity: object,
    ) -> None:
        super().__init__(min_size, max_size)
        example = '{"x": "float64", "n": "int64", "label": "str"}'
        if not isinstance(columns, dict):
            _reject(
                "frame",
                "columns",
                columns,
                f"is not a dict of column names to dtypes; pass one such as {example}",
            )
        self.columns: dict[str, _Values | _TextValues] = {}
        for key, dtype in columns.items():
            if not isinstance(key, str):
                _reject(
                    "frame",
                    "columns",
                    columns,
                    f"has a column name {key!r} that is not a str; pass one such as {example}",
                )
            if not isinstance(dtype, str | np.dtype):
                _reject(
                    "frame",
                    "columns",
                    columns,
                    f"has a dtype {dtype!r} for column {key!r} "
                    f"that is not a dtype string; pass one such as {example}",
                )
            self.columns[key] = _values(
                "frame", dtype, allow_nan=allow_nan, allow_infinity=allow_infinity
            )
        self._repr = _call_repr(
            "frame",
            {k: str(v.dtype) for k, v in self.columns.items()},
            **_non_default(
                min_size=(min_size, 0),
                max_size=(max_size, 1000),
                allow_nan=(allow_nan, True),
                allow_infinity=(allow_infinity, True),
            ),
        )

    def __repr__(self) -> str:
        return self._repr

    def _build(self, n: int, columns: Sequence[Any]) -> pd.DataFrame:
        return pd.DataFrame(dict(zip(self.columns, columns, strict=True)), index=pd.RangeIndex(n))

    def _strategy_for(self, n: int) -> SearchStrategy[Any]:
        parts = [values.array_strategy(n) for values in self.columns.values()]
        return st.tuples(*parts).map(lambda cols: self._build(n, cols))

    def _ordinary(self, n: int) -> Any:
        return self._build(n, [values.ordinary(n) for values in self.columns.values()])

    def _value_cases(self, n: int) -> list[EdgeCase]:
        per_column = [dict(values.cases(n)) for values in self.columns.values()]
        labels = list(dict.fromkeys(label for cases in per_column for label in cases))
        out = []
        for label in labels:
            cols = [
                cases[label] if label in cases else values.ordinary(n)
                for values, cases in zip(self.columns.values(), per_column, strict=True)
            ]
            out.append(EdgeCase(label, self._build(n, cols)))
        return out


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


# -- public argument specs ------------------------------------------------------------------


def array(
    dtype: Any = "float64",
    *,
    min_size: int = 0,
    max_size: int = 1000,
    ndim: int = 1,
    allow_nan: bool = True,
    allow_infinity: bool = True,
    min_value: float | None = None,
    max_value: float | None = None,
    elements: SearchStrategy[Any] | None = None,
    order: str = "any",
    unique: bool = False,
    cols: int | None = None,
) -> ArgSpec:
    """Describe a NumPy array argument.

    Parameters
    ----------
    dtype : str or numpy.dtype, default "float64"
        A numeric or bool dtype (``"float16"`` to ``"float64"``, signed and unsigned
        integers, ``"complex64"``, ``"complex128"``, ``"bool"``).
    min_size, max_size : int, default 0 and 1000
        Bounds on the length along axis 0 (the axis tied to other arguments' lengths).
    ndim : {1, 2}, default 1
        For 2-D arrays the second axis has ``cols`` entries, or 0 to 8 drawn ones.
    allow_nan, allow_infinity : bool, default True
        Whether float (and complex) values may be NaN or infinite. NaN is not a number, so
        ``min_value``/``max_value`` do not exclude it; infinities outside the bounds are
        excluded.
    min_value, max_value : float or int, optional
        Bounds on the values (integer and float dtypes). Float bounds are rounded inward
        to the dtype's precision.
    elements : hypothesis strategy, optional
        Draw the values from this strategy instead (not combinable with the value
        options above). Only layout edge cases (strided, read-only, fortran) then apply.
    order : {"any", "C", "F"}, default "any"
        ``"any"`` draws C-contiguous arrays, strided views (every other row of a longer
        array) and, for 2-D, Fortran-ordered arrays; ``"C"`` and ``"F"`` only that order.
    unique : bool, default False
        Whether all values must differ.
    cols : int, optional
        A fixed second axis for ``ndim=2``.

    Returns
    -------
    ArgSpec
        A sized spec. Edge cases, where the dtype and options allow: ``empty``,
        ``length-1``, ``all-nan``, ``+inf``, ``-inf``, ``negative-zero``, ``huge``,
        ``tiny``, ``int-min``, ``int-max``, ``all-true``, ``all-false``, ``min-value``,
        ``max-value``, ``strided``, ``read-only`` and ``fortran`` (2-D).

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> [c.label for c in spec.array("float64").edge_cases()]  # doctest: +NORMALIZE_WHITESPACE
    ['empty', 'length-1', 'all-nan', 'some-nan', '+inf', '-inf', 'negative-zero', 'huge',
     'tiny', 'strided', 'read-only']
    >>> [c.label for c in spec.array("int64", order="C").edge_cases(4)]
    ['int-min', 'int-max', 'read-only']
    >>> spec.array("float32", min_value=0.0).edge_cases(4)[0].value
    array([nan, nan, nan, nan], dtype=float32)
    """
    return _ArraySpec(
        dtype,
        min_size=min_size,
        max_size=max_size,
        ndim=ndim,
        allow_nan=allow_nan,
        allow_infinity=allow_infinity,
        min_value=min_value,
        max_value=max_value,
        elements=elements,
        order=order,
        unique=unique,
        cols=cols,
    )


def series(
    dtype: Any = "float64",
    *,
    min_size: int = 0,
    max_size: int = 1000,
    allow_nan: bool = True,
    allow_infinity: bool = True,
    name: Hashable | None = None,
    index: str | None = None,
) -> ArgSpec:
    """Describe a pandas Series argument.

    Parameters
    ----------
    dtype : str or numpy.dtype, default "float64"
        A numeric or bool dtype, or ``"str"`` / ``"string"`` for text.
    min_size, max_size : int, default 0 and 1000
        Bounds on the length.
    allow_nan, allow_infinity : bool, default True
        Whether float values may be NaN or infinite.
    name : hashable, optional
        The Series' name.
    index : {None, "any"}, default None
        ``None`` gives a RangeIndex; ``"any"`` draws unique integers in any order.

    Returns
    -------
    ArgSpec
        A sized spec; its edge cases mirror :func:`array`'s value edge cases (as Series
        with a RangeIndex), plus ``reversed-index`` for ``index="any"``.

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> [c.label for c in spec.series("int64").edge_cases()]
    ['empty', 'length-1', 'int-min', 'int-max']
    >>> spec.series("float64", name="x").ordinary(3)
    0   -1.0
    1    0.5
    2    2.0
    Name: x, dtype: float64
    """
    return _SeriesSpec(
        dtype,
        min_size=min_size,
        max_size=max_size,
        allow_nan=allow_nan,
        allow_infinity=allow_infinity,
        name=name,
        index=index,
    )


def frame(
    columns: dict[str, str],
    *,
    min_size: int = 0,
    max_size: int = 1000,
    allow_nan: bool = True,
    allow_infinity: bool = True,
) -> ArgSpec:
    """Describe a pandas DataFrame argument.

    Parameters
    ----------
    columns : dict of str to str
        Column names and their dtypes: numeric or bool dtype strings, or ``"str"`` /
        ``"string"`` for text.
    min_size, max_size : int, default 0 and 1000
        Bounds on the number of rows.
    allow_nan, allow_infinity : bool, default True
        Whether float columns may hold NaN or infinities.

    Returns
    -------
    ArgSpec
        A sized spec. Each edge case applies to every column it makes sense for (say
        ``all-nan`` to all float columns) while the other columns hold ordinary values.

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> f = spec.frame({"x": "float64", "n": "int64"})
    >>> [c.label for c in f.edge_cases()]  # doctest: +NORMALIZE_WHITESPACE
    ['empty', 'length-1', 'all-nan', 'some-nan', '+inf', '-inf', 'negative-zero', 'huge',
     'tiny', 'int-min', 'int-max']
    >>> f.ordinary(2)
         x  n
    0 -1.0  0
    1  2.0  1
    """
    return _FrameSpec(
        columns,
        min_size=min_size,
        max_size=max_size,
        allow_nan=allow_nan,
        allow_infinity=allow_infinity,
    )


def integers(min_value: int | None = None, max_value: int | None = None) -> ArgSpec:
    """Describe an int argument.

    Edge cases: ``zero`` (if within the bounds), ``min-value`` and ``max-value``.

    Examples
    --------
    >>> from vecpipe.testing import spec
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
    >>> from vecpipe.testing import spec
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
    >>> from vecpipe.testing import spec
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
    >>> from vecpipe.testing import spec
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
    >>> from vecpipe.testing import spec
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
    >>> from vecpipe.testing import spec
    >>> [(c.label, c.value) for c in spec.window(2).edge_cases(8)]
    [('min-window', 2), ('full-window', 8), ('over-long-window', 9)]
    """
    return _WindowSpec(min_value, max_value)


# -- call specs ---------------------------------------------------------------------------


def _fresh(value: Any) -> Any:
    """A deep copy (so a call that mutates its arguments cannot spoil the next one)."""
    try:
        return copy.deepcopy(value)
    except Exception:  # objects that cannot be copied are passed as they are
        return value


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    msg = (
        f"vp.spec.Spec.from_strategy: the strategy drew {value!r} (of type "
        f"{type(value).__name__}); it must draw tuples of positional arguments, such as "
        "hypothesis.strategies.tuples(...)"
    )
    raise InvalidArgument(msg)


class Spec:
    """Describes the positional arguments of a stage call.

    Parameters
    ----------
    *args : ArgSpec, hypothesis strategy or constant
        One per positional argument. A strategy draws that argument's values as they are
        (untied to the shared length); any other object is passed as it is.
    same_length : bool, default True
        Draw one length ``n`` and give every sized argument exactly ``n`` rows (and
        :func:`window` arguments a window for ``n``). Otherwise each sized argument draws
        its own length.
    min_size, max_size : int, default 0 and 1000
        Bounds on the lengths, intersected with each sized argument's own.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.testing import spec
    >>> s = spec.Spec(spec.array("float64"), spec.array("int64"), 2.0, max_size=3)
    >>> [label for label, args in s.edge_cases()][:5]
    ['empty', 'length-1', 'arg0:all-nan', 'arg0:some-nan', 'arg0:+inf']
    >>> dict(s.edge_cases())["arg1:int-max"]
    (array([-1. ,  0.5,  2. ]), array([9223372036854775807, 0, 9223372036854775807]), 2.0)
    """

    def __init__(
        self,
        *args: Any,
        same_length: bool = True,
        min_size: int = 0,
        max_size: int = 1000,
    ) -> None:
        self.same_length = _check_bool("Spec", "same_length", same_length)
        self.min_size, self.max_size = _check_sizes("Spec", min_size, max_size)
        for i, arg in enumerate(args):
            if isinstance(arg, Spec):
                msg = (
                    f"vp.spec.Spec: argument {i} is a Spec ({arg!r}); a Spec describes a whole "
                    "call, so pass its arguments instead: Spec(*args)"
                )
                raise InvalidArgument(msg)
        self.args: tuple[Any, ...] = args
        self._tuples: SearchStrategy[tuple[Any, ...]] | None = None
        self._source: SearchStrategy[Any] | None = None
        self._given_cases: list[tuple[str, tuple[Any, ...]]] = []
        self._simplest: dict[int, Any] = {}  # the simplest value of each strategy argument
        self._bounds: dict[int, tuple[int, int]] = {}
        for i, arg in enumerate(args):
            if isinstance(arg, ArgSpec) and arg.sized:
                lo, hi = max(self.min_size, arg.min_size), min(self.max_size, arg.max_size)
                if lo > hi:
                    msg = (
                        f"vp.spec.Spec: argument {i} ({arg!r}) allows no length within "
                        f"min_size={self.min_size}, max_size={self.max_size}; pass sizes "
                        "that overlap"
                    )
                    raise InvalidArgument(msg)
                self._bounds[i] = (lo, hi)
        self._shared = (
            (
                max(lo for lo, _ in self._bounds.values()),
                min(hi for _, hi in self._bounds.values()),
            )
            if self._bounds
            else None
        )
        if self.same_length and self._shared and self._shared[0] > self._shared[1]:
            msg = (
                f"vp.spec.Spec: the sized arguments {self._arg_list()} have no length in "
                "common; pass overlapping min_size/max_size, or same_length=False"
            )
            raise InvalidArgument(msg)

    def _arg_list(self) -> str:
        return ", ".join(repr(self.args[i]) for i in self._bounds)

    @classmethod
    def from_strategy(
        cls,
        strategy: SearchStrategy[Any],
        *,
        edge_cases: Sequence[tuple[str, tuple[Any, ...]]] = (),
    ) -> Spec:
        """Wrap a strategy of argument tuples, with optional labelled edge-case calls.

        Parameters
        ----------
        strategy : hypothesis strategy
            Draws tuples (or lists) of positional arguments.
        edge_cases : sequence of (str, tuple), optional
            Labelled argument tuples that are always tried; :meth:`edge_cases` returns
            copies of them.

        Examples
        --------
        >>> from hypothesis import strategies as st
        >>> from vecpipe.testing import spec
        >>> s = spec.Spec.from_strategy(st.tuples(st.integers()), edge_cases=[("big", (10**9,))])
        >>> s.edge_cases()
        [('big', (1000000000,))]
        >>> s.arity is None
        True
        """
        if not isinstance(strategy, SearchStrategy):
            msg = (
                f"vp.spec.Spec.from_strategy: strategy={strategy!r} is not a Hypothesis "
                "strategy; pass one that draws tuples of positional arguments"
            )
            raise InvalidArgument(msg)
        cases = list(edge_cases) if isinstance(edge_cases, Sequence) else None
        if cases is None or not all(
            isinstance(c, tuple)
            and len(c) == 2
            and isinstance(c[0], str)
            and isinstance(c[1], tuple)
            for c in cases
        ):
            msg = (
                f"vp.spec.Spec.from_strategy: edge_cases={edge_cases!r} is not a list of "
                '(label, arguments) pairs; pass one such as [("zero", (0.0,))]'
            )
            raise InvalidArgument(msg)
        labels = [label for label, _ in cases]
        if len(set(labels)) != len(labels):
            msg = (
                f"vp.spec.Spec.from_strategy: edge_cases has repeated labels {labels!r}; "
                "pass a unique label per call"
            )
            raise InvalidArgument(msg)
        spec = cls()
        spec._tuples = strategy.map(_as_tuple)
        spec._source = strategy
        spec._given_cases = cases
        return spec

    @property
    def arity(self) -> int | None:
        """The number of positional arguments (None for :meth:`from_strategy`)."""
        return None if self._tuples is not None else len(self.args)

    def __repr__(self) -> str:
        if self._tuples is not None:
            return f"vp.spec.Spec.from_strategy({self._source!r})"
        parts = [repr(a) for a in self.args]
        for name, value, default in (
            ("same_length", self.same_length, True),
            ("min_size", self.min_size, 0),
            ("max_size", self.max_size, 1000),
        ):
            if value != default:
                parts.append(f"{name}={value!r}")
        return f"vp.spec.Spec({', '.join(parts)})"

    def strategy(self) -> SearchStrategy[tuple[Any, ...]]:
        """Return a strategy for tuples of positional arguments.

        Examples
        --------
        >>> from vecpipe.testing import spec
        >>> spec.Spec(3, "a").strategy()
        tuples(just(3), just('a'))
        """
        if self._tuples is not None:
            return self._tuples
        if self.same_length and self._shared is not None:
            lo, hi = self._shared
            return _lengths(lo, hi).flatmap(self._tuple_for)
        parts = []
        for i, arg in enumerate(self.args):
            if i in self._bounds:
                parts.append(_lengths(*self._bounds[i]).flatmap(arg.strategy))
            else:
                parts.append(self._strategy_of(arg, None))
        return st.tuples(*parts)

    @staticmethod
    def _strategy_of(arg: Any, n: int | None) -> SearchStrategy[Any]:
        if isinstance(arg, ArgSpec):
            return arg.strategy(n)
        if isinstance(arg, SearchStrategy):
            return arg
        return st.just(arg)

    def _tuple_for(self, n: int) -> SearchStrategy[tuple[Any, ...]]:
        return st.tuples(*(self._strategy_of(arg, n) for arg in self.args))

    def edge_cases(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Return labelled argument tuples that are always tried.

        For each argument spec and each of its edge cases, one call where that argument
        is the edge value and the others are ordinary: sized ones deterministic values of
        the same length, unsized ones a representative value (a strategy's simplest
        value; a constant as it is). With ``same_length``, ``"empty"`` and ``"length-1"``
        apply to all sized arguments together. Each call gets fresh objects.

        The simplest value of a strategy argument (or of an ``elements=`` strategy) is
        found with :func:`hypothesis.find`, which cannot run inside a ``@given`` test:
        call this outside one.

        Examples
        --------
        >>> from vecpipe.testing import spec
        >>> s = spec.Spec(spec.array("bool"), spec.booleans(), max_size=2)
        >>> [label for label, args in s.edge_cases()]  # doctest: +NORMALIZE_WHITESPACE
        ['empty', 'length-1', 'arg0:all-true', 'arg0:all-false', 'arg0:strided',
         'arg0:read-only', 'arg1:false', 'arg1:true']
        """
        if self._tuples is not None:
            return [(label, _fresh(args)) for label, args in self._given_cases]
        simplest = self._simplest
        for i, arg in enumerate(self.args):
            if isinstance(arg, SearchStrategy) and i not in simplest:
                try:
                    simplest[i] = _minimal(arg)
                except Exception as exc:  # Unsatisfiable, NoSuchExample, errors in it
                    msg = (
                        f"vp.spec.Spec: argument {i} ({arg!r}) drew no value "
                        f"({type(exc).__name__}: {exc}); pass a strategy that can draw one"
                    )
                    raise InvalidArgument(msg) from exc

        def ordinary_call(lengths: dict[int, int], n: int | None) -> list[Any]:
            call = []
            for i, arg in enumerate(self.args):
                if i in lengths:
                    call.append(arg.ordinary(lengths[i]))
                elif isinstance(arg, ArgSpec):
                    call.append(arg.ordinary(n))
                elif i in simplest:
                    call.append(_fresh(simplest[i]))
                else:
                    call.append(arg)
            return call

        out: list[tuple[str, tuple[Any, ...]]] = []
        per_arg: list[tuple[int, list[EdgeCase]]] = []
        if self.same_length and self._shared is not None:
            lo, hi = self._shared
            shared = _edge_length(lo, hi)
            n: int | None = shared
            lengths: dict[int, int] = dict.fromkeys(self._bounds, shared)
            if lo == 0:
                out.append(("empty", tuple(ordinary_call(dict.fromkeys(self._bounds, 0), 0))))
            if lo <= 1 <= hi:
                out.append(("length-1", tuple(ordinary_call(dict.fromkeys(self._bounds, 1), 1))))
            for i, arg in enumerate(self.args):
                if isinstance(arg, ArgSpec):
                    per_arg.append((i, arg.edge_cases(n)))
        else:
            n = None
            lengths = {i: _edge_length(lo, hi) for i, (lo, hi) in self._bounds.items()}
            for i, arg in enumerate(self.args):
                if i in self._bounds:
                    lo, hi = self._bounds[i]
                    cases = []
                    if lo == 0:
                        cases.append(EdgeCase("empty", arg.ordinary(0)))
                    if lo <= 1 <= hi:
                        cases.append(EdgeCase("length-1", arg.ordinary(1)))
                    per_arg.append((i, cases + arg.edge_cases(lengths[i])))
                elif isinstance(arg, ArgSpec):
                    per_arg.append((i, arg.edge_cases(None)))
        seen = {label for label, _ in out}
        for i, cases in per_arg:
            for case in cases:
                label = f"arg{i}:{case.label}"
                if label in seen:
                    continue
                seen.add(label)
                call = ordinary_call(lengths, n)
                call[i] = case.value
                out.append((label, tuple(call)))
        return out


def as_spec(obj: Any) -> Spec:
    """Turn what ``inputs=`` accepts into a :class:`Spec`.

    A :class:`Spec` stays as it is; a Hypothesis strategy is taken as drawing tuples of
    arguments (:meth:`Spec.from_strategy`); an :class:`ArgSpec` describes the only
    argument; a tuple or list describes one argument per item.

    Examples
    --------
    >>> from vecpipe.testing import spec
    >>> spec.as_spec(spec.array("int32"))
    vp.spec.Spec(vp.spec.array(dtype="int32"))
    >>> spec.as_spec((spec.series(), spec.window(2)))
    vp.spec.Spec(vp.spec.series(dtype="float64"), vp.spec.window(min_value=2))
    """
    if isinstance(obj, Spec):
        return obj
    if isinstance(obj, SearchStrategy):
        return Spec.from_strategy(obj)
    if isinstance(obj, ArgSpec):
        return Spec(obj)
    if isinstance(obj, tuple | list):
        return Spec(*obj)
    msg = (
        f"inputs={obj!r} (of type {type(obj).__name__}) is not an input spec; pass an "
        'argument spec such as vp.spec.array(dtype="float64"), a tuple of them (one per '
        "positional argument), a vp.spec.Spec, or a Hypothesis strategy of argument tuples"
    )
    raise InvalidArgument(msg)


# -- inference from annotations -----------------------------------------------------------

_NO_HINT = object()


def _dtype_of_scalar(scalar: Any) -> str:
    try:
        dtype = np.dtype(scalar)
    except (TypeError, ValueError):
        dtype = None
    if (
        dtype is not None
        and dtype.kind in "biufc"
        and not (dtype.kind == "f" and dtype.itemsize > 8)
    ):
        return dtype.name
    if isinstance(scalar, type):  # abstract scalar types: np.floating, np.integer...
        for base, name in (
            (np.bool_, "bool"),
            (np.integer, "int64"),
            (np.complexfloating, "complex128"),
        ):
            if issubclass(scalar, base):
                return name
    return "float64"


def _spec_from_hint(hint: Any) -> ArgSpec | None:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, ArgSpec):
                return meta
        return _spec_from_hint(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _spec_from_hint(options[0]) if len(options) == 1 else None
    if hint is np.ndarray:
        return array("float64")
    if origin is np.ndarray:
        args = typing.get_args(hint)
        if len(args) == 2 and typing.get_origin(args[1]) is np.dtype:
            return array(_dtype_of_scalar(typing.get_args(args[1])[0]))
        return array("float64")
    if hint is pd.Series:
        return series("float64")
    if hint is bool or hint is np.bool_:
        return booleans()
    if hint is int:
        return integers(-1000, 1000)
    if hint is float:
        return floats()
    if isinstance(hint, type) and issubclass(hint, np.integer):
        return integers(-1000, 1000)
    if isinstance(hint, type) and issubclass(hint, np.floating) and hint is not np.longdouble:
        return floats(width=8 * np.dtype(hint).itemsize if hint is not np.floating else 64)
    return None


_TEXT_HINTS = [
    (re.compile(r"^(np|numpy)\.ndarray$"), lambda m: array("float64")),
    (
        re.compile(r"^(npt\.|numpy\.typing\.)?NDArray\[(np\.|numpy\.)?(\w+)\]$"),
        lambda m: array(_dtype_of_scalar(getattr(np, m.group(3), None))),
    ),
    (re.compile(r"^(pd\.|pandas\.)?Series$"), lambda m: series("float64")),
    (re.compile(r"^float$"), lambda m: floats()),
    (re.compile(r"^int$"), lambda m: integers(-1000, 1000)),
    (re.compile(r"^bool$"), lambda m: booleans()),
]


def _spec_from_text(text: str) -> ArgSpec | None:
    """Infer from an annotation string that could not be evaluated."""
    cleaned = re.sub(r"\s+", "", text)
    for pattern, make in _TEXT_HINTS:
        match = pattern.match(cleaned)
        if match:
            return make(match)
    return None


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # names only imported under TYPE_CHECKING, bad strings...
        pass
    raw = dict(getattr(func, "__annotations__", None) or {})
    namespace = {
        "np": np,
        "numpy": np,
        "pd": pd,
        "pandas": pd,
        "npt": npt,
        "NDArray": npt.NDArray,
        **getattr(func, "__globals__", {}),
    }
    for name, hint in raw.items():
        if isinstance(hint, str):
            try:
                raw[name] = eval(hint, namespace)  # the same evaluation get_type_hints does
            except Exception:
                pass  # left as a string for _spec_from_text
    return raw


def _placeholder(hint: Any) -> str:
    if hint is pd.DataFrame or (isinstance(hint, str) and hint.endswith("DataFrame")):
        return 'vp.spec.frame({"x": "float64"})'
    return 'vp.spec.array(dtype="float64")'


def infer(func: Callable[..., Any], stage_name: str) -> Spec:
    """Build a :class:`Spec` from the type annotations of ``func``'s positional parameters.

    Parameters without a default are generated; those with one keep their default.
    ``np.ndarray`` gives ``array("float64")``; ``NDArray[np.float32]`` (any dtype)
    ``array("float32")``; ``pd.Series`` ``series("float64")``; ``float`` ``floats()``;
    ``int`` ``integers(-1000, 1000)``; ``bool`` ``booleans()``;
    ``Annotated[..., vp.spec.array(...)]`` that spec.

    Raises
    ------
    InvalidArgument
        If a parameter cannot be inferred; the message shows the ``inputs=`` to declare.

    Examples
    --------
    >>> import numpy as np
    >>> from numpy.typing import NDArray
    >>> from vecpipe.testing import spec
    >>> def smooth(x: NDArray[np.float32], k: int, center: bool = False): ...
    >>> spec.infer(smooth, "smooth")
    vp.spec.Spec(vp.spec.array(dtype="float32"), vp.spec.integers(min_value=-1000, max_value=1000))
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        msg = (
            f"stage {stage_name!r}: cannot read the signature of {func!r} ({exc}); declare "
            'its inputs: @vp.stage(inputs=vp.spec.array(dtype="float64"))'
        )
        raise InvalidArgument(msg) from exc
    hints = _hints(func)
    found: list[tuple[str, ArgSpec | None, str]] = []
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL or param.default is not param.empty:
            continue
        if param.kind is param.VAR_KEYWORD:
            continue
        if param.kind is param.KEYWORD_ONLY:
            msg = (
                f"stage {stage_name!r}: keyword-only argument {param.name!r} has no default, "
                "and verification passes positional arguments only; give it a default or "
                "make it positional"
            )
            raise InvalidArgument(msg)
        hint = hints.get(param.name, _NO_HINT)
        if hint is _NO_HINT:
            found.append((param.name, None, "no annotation"))
            continue
        spec = _spec_from_text(hint) if isinstance(hint, str) else _spec_from_hint(hint)
        why = (
            f"annotation {hint if isinstance(hint, str) else _hint_text(hint)!s} is not "
            "one of np.ndarray, NDArray[...], pd.Series, float, int, bool"
        )
        found.append((param.name, spec, why if spec is None else ""))
    failed = [(name, why) for name, spec, why in found if spec is None]
    if failed:
        name, why = failed[0]
        parts = [
            repr(spec) if spec is not None else _placeholder(hints.get(n)) for n, spec, _ in found
        ]
        inputs = parts[0] if len(parts) == 1 else f"({', '.join(parts)})"
        msg = (
            f"stage {stage_name!r}: cannot infer how to generate argument {name!r} ({why}); "
            f"declare it: @vp.stage(inputs={inputs})"
        )
        raise InvalidArgument(msg)
    return Spec(*(spec for _, spec, _ in found))


def _hint_text(hint: Any) -> str:
    if isinstance(hint, type):
        return f"{hint.__module__}.{hint.__qualname__}".removeprefix("builtins.")
    return repr(hint)
