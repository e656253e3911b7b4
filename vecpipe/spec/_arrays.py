"""Array, Series and DataFrame arguments: :func:`array`, :func:`series`, :func:`frame`."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

from vecpipe.spec._argspec import ArgSpec, EdgeCase, _SizedSpec
from vecpipe.spec._options import (
    _call_repr,
    _check_bool,
    _check_index,
    _check_int,
    _non_default,
    _parse_dtype,
    _reject,
)
from vecpipe.spec._values import _strided, _TextValues, _Values, _values

#: The second axis of generated 2-D arrays is drawn in ``0.._MAX_COLS`` unless fixed.
_MAX_COLS = 8
#: The second axis of 2-D edge cases unless fixed.
_DEFAULT_COLS = 3
_ORDERS = ("any", "C", "F")


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
    >>> from vecpipe import spec
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
    >>> from vecpipe import spec
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
    >>> from vecpipe import spec
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
