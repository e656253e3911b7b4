"""Dispatch keys: what makes two calls "the same kind of input".

A key is a tuple, built on every call, so it must be cheap: one dictionary lookup on the
argument's type picks the function that describes it. Arrays contribute their dtype,
number of dimensions, memory layout and a size bucket; pandas objects their dtypes and a
size bucket; everything else its type. The settings' ``tag`` (the thread budget and the
mode family) comes first, since the best variant depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Key", "describe_key", "make_key", "size_bucket"]

Key = tuple[Any, ...]


def size_bucket(n: int) -> int:
    """Return the size bucket of an element count: ``b`` such that ``4**(b-1) <= n < 4**b``.

    Parameters
    ----------
    n : int
        An element count (0 gives bucket 0).

    Examples
    --------
    >>> from vecpipe.keys import size_bucket
    >>> [size_bucket(n) for n in (0, 1, 3, 4, 15, 16, 1_000_000)]
    [0, 1, 1, 2, 2, 3, 10]
    """
    return (n.bit_length() + 1) >> 1


def _ndarray(a: np.ndarray) -> tuple[Any, ...]:
    flags = a.flags
    layout = "C" if flags.c_contiguous else ("F" if flags.f_contiguous else "S")
    return (a.dtype, a.ndim, layout, (a.size.bit_length() + 1) >> 1)


def _series(s: pd.Series) -> tuple[Any, ...]:
    return (pd.Series, s.dtype, (len(s).bit_length() + 1) >> 1)


def _frame(df: pd.DataFrame) -> tuple[Any, ...]:
    return (pd.DataFrame, tuple(df.dtypes), (len(df).bit_length() + 1) >> 1)


def _sequence(seq: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
    return (type(seq), (len(seq).bit_length() + 1) >> 1)


_DESCRIBERS: dict[type, Callable[[Any], Any]] = {
    np.ndarray: _ndarray,
    pd.Series: _series,
    pd.DataFrame: _frame,
    list: _sequence,
    tuple: _sequence,
}

# Scalars are described by their type. Looked up first (one dictionary lookup, no call),
# they cost a kernel call with a window or an option a few hundred nanoseconds less.
_SCALARS: dict[type, type] = {t: t for t in (int, float, bool, str, type(None))}


def _describe(arg: Any) -> Any:
    t = type(arg)
    scalar = _SCALARS.get(t)
    if scalar is not None:
        return scalar
    describe = _DESCRIBERS.get(t)
    if describe is not None:
        return describe(arg)
    if isinstance(arg, np.ndarray):  # subclasses (np.memmap, masked arrays) keep their type
        return (t, *_ndarray(arg))
    if isinstance(arg, pd.Series):
        return (t, *_series(arg)[1:])
    if isinstance(arg, pd.DataFrame):
        return (t, *_frame(arg)[1:])
    return t


def make_key(tag: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Key:
    """Return the dispatch key of a call.

    Parameters
    ----------
    tag : int
        The settings' tag (:attr:`vecpipe.Settings.tag`).
    args, kwargs
        The call's arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.keys import describe_key, make_key
    >>> describe_key(make_key(8, (np.zeros(1000), 3), {}))
    'ndarray[float64, 1d, C, n=256..<1K], int | threads=2'
    """
    if args and type(args[0]) is np.ndarray:
        # The common case, flattened: the first array's fields go into the key itself, so
        # there is one tuple to build and hash (see benchmarks/dispatch_overhead for why
        # every attribute access counts here); Stage.__call__ builds the single-array key
        # the same way inline.
        a = args[0]
        flags = a.flags
        layout = "C" if flags.c_contiguous else ("F" if flags.f_contiguous else "S")
        key: Key = (tag, a.dtype, a.ndim, layout, (a.size.bit_length() + 1) >> 1)
        rest = args[1:]
    else:
        key = (tag,)
        rest = args
    scalar = _SCALARS.get
    for arg in rest:  # measured 2x faster than a comprehension or map for 2 or 3 arguments
        key += (scalar(type(arg)) or _describe(arg),)
    if kwargs:
        key += tuple((name, _describe(value)) for name, value in sorted(kwargs.items()))
    return key


def _human(n: int) -> str:
    for factor, suffix in ((1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{suffix}"
    return str(n)


def _bucket_text(bucket: int) -> str:
    if bucket == 0:
        return "n=0"
    return f"n={_human(4 ** (bucket - 1))}..<{_human(4**bucket)}"


def _array_text(name: str, dtype: Any, ndim: int, layout: str, bucket: int) -> str:
    return f"{name}[{dtype}, {ndim}d, {layout}, {_bucket_text(bucket)}]"


def _describe_text(part: Any) -> str:
    if isinstance(part, type):
        return part.__name__
    if isinstance(part[0], str):  # a keyword argument
        return f"{part[0]}={_describe_text(part[1])}"
    if isinstance(part[0], np.dtype):
        return _array_text("ndarray", *part)
    kind = part[0]
    if issubclass(kind, np.ndarray):
        return _array_text(kind.__name__, *part[1:])
    if issubclass(kind, pd.Series):
        return f"{kind.__name__}[{part[1]}, {_bucket_text(part[2])}]"
    if issubclass(kind, pd.DataFrame):
        dtypes = ", ".join(str(d) for d in part[1])
        return f"{kind.__name__}[({dtypes}), {_bucket_text(part[2])}]"
    return f"{kind.__name__}[{_bucket_text(part[1])}]"


def describe_key(key: Key) -> str:
    """Return a key as readable, stable text (the form stored in wisdom and shown by explain).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.keys import describe_key, make_key
    >>> describe_key(make_key(9, (np.ones((3, 4), order="F"),), {}))
    'ndarray[float64, 2d, F, n=4..<16] | threads=2'
    """
    tag, *parts = key
    if parts and isinstance(parts[0], np.dtype):  # a flattened first array
        parts = [tuple(parts[:4]), *parts[4:]]
    return ", ".join(_describe_text(p) for p in parts) + f" | threads={tag >> 2}"
