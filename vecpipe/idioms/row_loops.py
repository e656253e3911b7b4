"""Row loops: ``for label, row in df.iterrows()`` and ``for row in df.itertuples()``.

``iterrows`` builds a Series for every row (tens of microseconds each), and reading
``row["a"]`` from it costs microseconds more. Here it yields the same labels with a
:class:`Row` that reads ``row["a"]``, ``row.a``, ``row.get("a")`` and ``row.name`` from
the frame's values (``df.values``, the very array pandas builds its rows from, read by
column as lists of the same scalars: NumPy scalars for a numeric frame, the objects of
an object one). Anything else done to a row (a method, an operator, ``len``, a write)
builds the real Series pandas would have built, and the row is that Series from then on.
The loop's body is the user's own code and runs as written; what it is spared is a
Series per row.

``itertuples`` builds no Series: it zips the columns. Here the columns are read as Python
lists in one step each (``tolist``) instead of one ``item()`` call per value; the named
tuples are pandas' own.

Declined (pandas iterates): duplicate column names (``row["a"]`` would be a Series), and
object frames holding None or pd.NA (a row of text with a None becomes a str Series in
pandas, where the None reads as NaN).
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from vecpipe.idioms._intercept import Decline, Session, Target
from vecpipe.idioms.rowwise import bind

__all__ = ["TARGETS", "Row", "iterrows", "itertuples"]

#: Names a row answers from the Series it stands for (methods, properties...).
_SERIES_ATTRIBUTES = frozenset(dir(pd.Series))


class _Columns(dict):  # type: ignore[type-arg]
    """The frame's columns as lists of scalars, each built when first read."""

    def __init__(self, values: np.ndarray, positions: dict[Any, int]) -> None:
        super().__init__()
        self.array = values
        self.positions = positions

    def __missing__(self, label: Any) -> list[Any]:
        position = self.positions[label]  # KeyError: not a column
        column = list(self.array[:, position])  # the scalars df.values holds, as objects
        self[label] = column
        return column


class _Frame:
    """What the rows of one iterrows() loop share."""

    __slots__ = ("columns", "frame", "lists")

    def __init__(self, frame: pd.DataFrame, values: np.ndarray) -> None:
        self.frame = frame
        positions = {label: j for j, label in enumerate(frame.columns)}
        self.lists = _Columns(values, positions)
        self.columns = frame.columns

    def series(self, i: int, label: Any) -> pd.Series:
        """Row ``i`` as pandas' iterrows builds it."""
        frame: Any = self.frame
        s = frame._constructor_sliced(self.lists.array[i], index=self.columns, name=label)
        s = s.__finalize__(frame)
        if frame._mgr.is_single_block:
            s._mgr.add_references(frame._mgr)
        return s


class Row:
    """One row of an ``iterrows()`` loop, standing for the Series pandas would build.

    Reads by column label come from the frame's values; everything else goes to the
    real Series, built on first need. What a loop's rows share (the column lists, the
    frame) sits on a subclass made for that loop (:func:`_row_class`), so a row holds
    three slots, set without a ``__setattr__`` of its own: a row is made in about 0.2 µs
    (0.7 µs with one). Setting an attribute that is not a slot (``row.price = 0``) raises
    AttributeError, where pandas would set the Series' value: the variant then fails
    for that input and the reference answers.
    """

    __slots__ = ("_i", "_label", "_series")
    _lists: _Columns
    _frame: _Frame

    def __init__(self, i: int, label: Any) -> None:
        self._i = i
        self._label = label
        self._series: pd.Series | None = None

    def _as_series(self) -> pd.Series:
        series = self._series
        if series is None:
            series = self._series = self._frame.series(self._i, self._label)
        return series

    def __getitem__(self, key: Any) -> Any:
        if self._series is None:
            try:
                return self._lists[key][self._i]
            except (KeyError, TypeError):  # not a column label (a list, a slice...)
                pass
        return self._as_series()[key]

    def get(self, key: Any, default: Any = None) -> Any:
        if self._series is None:
            try:
                return self._lists[key][self._i]
            except (KeyError, TypeError):
                pass
        return self._as_series().get(key, default)

    @property
    def name(self) -> Any:
        return self._label if self._series is None else self._series.name

    def __getattr__(self, name: str) -> Any:
        if self._series is None and name not in _SERIES_ATTRIBUTES and not name.startswith("_"):
            try:
                return self._lists[name][self._i]
            except KeyError:
                pass
        return getattr(self._as_series(), name)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._as_series()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._as_series()[key]

    def __repr__(self) -> str:
        return repr(self._as_series())

    def __len__(self) -> int:
        return len(self._as_series())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._as_series())

    def __contains__(self, key: Any) -> bool:
        return key in self._as_series()

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        return self._as_series().__array__(*args, **kwargs)

    def __bool__(self) -> bool:
        return bool(self._as_series())

    __hash__ = None  # type: ignore[assignment]  # as a Series: unhashable


def _delegate(name: str) -> Any:
    def method(self: Row, *args: Any) -> Any:
        return getattr(self._as_series(), name)(*args)

    method.__name__ = name
    return method


for _name in (
    *(f"__{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow")),
    *(f"__r{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow")),
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__neg__",
    "__abs__",
    "__and__",
    "__or__",
    "__invert__",
):
    setattr(Row, _name, _delegate(_name))
del _name


def _values(df: pd.DataFrame) -> np.ndarray:
    """``df.values``, or Decline where pandas' rows would not hold those very values."""
    if not df.columns.is_unique:
        raise Decline("duplicate column names (row[name] is then a Series)", lasting=False)
    values = df.values
    if values.dtype == object:
        missing = pd.isna(values)
        if missing.any() and any(not isinstance(v, float) for v in values[missing]):
            # None or pd.NA: in a row of text pandas' Series reads them as NaN.
            raise Decline("an object frame holding None or pd.NA", lasting=False)
    return values


def iterrows(
    session: Session, original: Any, df: pd.DataFrame, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``DataFrame.iterrows``."""
    if args or kwargs:
        raise Decline("arguments pandas does not take")
    values = _values(df)
    session.note(
        f"DataFrame.iterrows -> {len(df):,} rows read from the frame's values, no Series "
        "built per row",
        accelerated=True,
    )
    return _rows(df, values)


def _column_property(lists: _Columns, label: str) -> property:
    def read(row: Row) -> Any:
        series = row._series
        if series is None:
            return lists[label][row._i]
        return getattr(series, label)

    return property(read)


def _row_class(frame: _Frame) -> type[Row]:
    """A Row class for one loop, reading ``row.a`` through a property per column (an
    attribute a class has is found faster than one ``__getattr__`` supplies)."""
    names = {
        label: _column_property(frame.lists, label)
        for label in frame.columns
        if isinstance(label, str)
        and label.isidentifier()
        and label not in _SERIES_ATTRIBUTES
        and not label.startswith("_")
        and not hasattr(Row, label)
    }
    shared = {"_lists": frame.lists, "_frame": frame}
    return type("Row", (Row,), {"__slots__": (), **shared, **names})


def _rows(df: pd.DataFrame, values: np.ndarray) -> Iterator[tuple[Any, Row]]:
    row = _row_class(_Frame(df, values))
    for i, label in enumerate(df.index):
        yield label, row(i, label)


_ITERTUPLES = inspect.signature(pd.DataFrame.itertuples)


def _as_list(values: Any) -> list[Any]:
    """A Series' or Index's values as iterating it gives them (Python scalars)."""
    array = values.array
    if isinstance(array, pd.arrays.NumpyExtensionArray):
        return array.to_numpy().tolist()
    return list(values)


def itertuples(
    session: Session, original: Any, df: pd.DataFrame, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``DataFrame.itertuples``: pandas' tuples from column lists."""
    p = bind(_ITERTUPLES, (df, *args), kwargs)
    index, name = p["index"], p["name"]
    arrays = [_as_list(df.index)] if index else []
    fields = ["Index", *df.columns] if index else list(df.columns)
    arrays.extend(_as_list(df.iloc[:, k]) for k in range(df.shape[1]))
    session.note(
        f"DataFrame.itertuples -> {df.shape[1]} columns read as lists, no item() per value",
        accelerated=True,
    )
    if name is None:
        return zip(*arrays, strict=True)
    itertuple = collections.namedtuple(name, fields, rename=True)  # type: ignore[misc]
    return map(itertuple._make, zip(*arrays, strict=True))


TARGETS = (
    Target(pd.DataFrame, "iterrows", iterrows, "DataFrame.iterrows"),
    Target(pd.DataFrame, "itertuples", itertuples, "DataFrame.itertuples"),
)
