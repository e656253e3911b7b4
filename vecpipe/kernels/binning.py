"""Binning kernels: digitize and histogram, as NumPy.

``digitize(x, bins, right=...)`` equals ``np.digitize`` and ``histogram(x, bins)`` equals
``np.histogram(x, bins)[0]`` for an array of edges. Each stage's reference is that NumPy
call on a 1-D float64 array; the Numba variants binary-search each value in the edges:
serially, in parallel elementwise (digitize), or in parallel with one row of counts per
chunk (at most 64 chunks, about one per thread), merged at the end (histogram:
``chunks x bins`` scratch).

As in NumPy, NaN goes after every edge (index ``len(bins)`` for increasing bins, 0 for
decreasing ones) in digitize and is not counted by histogram; infinities are values.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _core

__all__ = ["STAGES", "digitize", "histogram"]

_MAX_SIZE = 60
# Edges: small integers (values drawn near them hit them exactly), repeats allowed.
_EDGES = st.lists(st.integers(-5, 5), min_size=0, max_size=8).map(
    lambda v: np.array(sorted(v), dtype=np.float64)
)
_DIGITIZE_BINS = st.one_of(_EDGES, _EDGES.map(lambda e: np.ascontiguousarray(e[::-1])))
_LOWER = st.lists(st.integers(-5, 5), min_size=1, max_size=8).map(
    lambda v: np.array(sorted(v), dtype=np.float64)
)
_TOP = _spec.sampled_from([5.0, 6.0, np.inf])
_VALUES = _spec.array("float64", max_size=_MAX_SIZE)
_DIGITIZE_INPUTS = _spec.Spec(_VALUES, _DIGITIZE_BINS, _spec.sampled_from([False, True]))
_HISTOGRAM_INPUTS = _spec.Spec(_LOWER, _TOP, _VALUES)

_STAGE: dict[str, Any] = {"auto": False}
_MAX_CHUNKS = 64
_MIN_CHUNK = 1 << 13


# -- kernels --------------------------------------------------------------------------------


@numba.njit(nogil=True, cache=True)
def _search(edges, v, right):
    """How many edges are <= v (``right``: < v); NaN is after every edge."""
    n = edges.shape[0]
    if np.isnan(v):
        return n
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) >> 1
        if (edges[mid] < v) if right else (edges[mid] <= v):
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(nogil=True, cache=True)
def _digitize_one(bins, v, right, decreasing):
    if decreasing:  # ``bins`` reversed: count from the other end, as NumPy
        return bins.shape[0] - _search(bins, v, right)
    return _search(bins, v, right)


@numba.njit(nogil=True, cache=True)
def _increasing(bins):
    n = bins.shape[0]
    if n >= 2 and bins[0] > bins[n - 1]:
        return bins[::-1].copy(), True
    return bins.copy(), False


@numba.njit(nogil=True, cache=True)
def _order(edges):
    """1 if ``edges`` never decrease, -1 if they never increase (and do decrease), 0 if
    neither, 2 if one is NaN: one compiled pass (NumPy's isnan, diff and two reductions
    cost about 8 µs a call at 100 edges)."""
    rising = True
    falling = True
    for i in range(edges.shape[0]):
        if np.isnan(edges[i]):
            return 2
        if i:
            rising = rising and edges[i - 1] <= edges[i]
            falling = falling and edges[i - 1] >= edges[i]
    return 1 if rising else (-1 if falling else 0)


# -- stages ---------------------------------------------------------------------------------


@vp.stage(name="digitize", inputs=_DIGITIZE_INPUTS, equal=vp.exact(), chunkable=True, **_STAGE)
def digitize_stage(x, bins, right=False):
    """``np.digitize(x, bins, right=right)``."""
    return np.digitize(x, bins, right=right)


@digitize_stage.variant("numba")
def _digitize_numba(x, bins, right=False):
    edges, decreasing = _increasing(bins)
    out = np.empty(x.shape[0], dtype=np.intp)
    for i in range(x.shape[0]):
        out[i] = _digitize_one(edges, x[i], right, decreasing)
    return out


@digitize_stage.variant("numba", parallel=True)
def _digitize_parallel(x, bins, right=False):
    edges, decreasing = _increasing(bins)
    out = np.empty(x.shape[0], dtype=np.intp)
    for i in numba.prange(x.shape[0]):
        out[i] = _digitize_one(edges, x[i], right, decreasing)
    return out


# The histogram stage takes the edges as ``lower`` (all but the last, one per bin) and
# ``top`` (the last), with ``lower`` first: the dispatcher checks a routed output's length
# against the first argument of that length, which must be the edges, not ``x`` (whose
# length may equal the number of bins by chance).
@vp.stage(name="histogram", inputs=_HISTOGRAM_INPUTS, equal=vp.exact(), **_STAGE)
def histogram_stage(lower, top, x):
    """``np.histogram(x, bins)[0]`` for the increasing edges ``bins = [*lower, top]``."""
    return np.histogram(x, np.append(lower, top))[0]


@numba.njit(nogil=True, cache=True)
def _bin_of(lower, top, v):
    """The bin of ``v`` (the last bin closed on the right), or -1 (NaN too)."""
    if not (lower[0] <= v <= top):
        return -1
    if v == top:
        return lower.shape[0] - 1
    return _search(lower, v, False) - 1


@histogram_stage.variant("numba")
def _histogram_numba(lower, top, x):
    counts = np.zeros(lower.shape[0], dtype=np.intp)
    for i in range(x.shape[0]):
        b = _bin_of(lower, top, x[i])
        if b >= 0:
            counts[b] += 1
    return counts


@histogram_stage.variant("numba", parallel=True)
def _histogram_parallel(lower, top, x):
    n = x.shape[0]
    nbins = lower.shape[0]
    # A fixed cap on chunks, not numba.get_num_threads() (a dynamic global, which would
    # stop the cache): at most _MAX_CHUNKS rows of counts, each chunk at least _MIN_CHUNK.
    chunks = max(1, min(_MAX_CHUNKS, n // _MIN_CHUNK))
    size = (n + chunks - 1) // chunks
    scratch = np.zeros((chunks, nbins), dtype=np.intp)  # one row of counts per chunk
    for t in numba.prange(chunks):
        for i in range(t * size, min(n, t * size + size)):
            b = _bin_of(lower, top, x[i])
            if b >= 0:
                scratch[t, b] += 1
    counts = np.zeros(nbins, dtype=np.intp)
    for t in range(chunks):
        for b in range(nbins):
            counts[b] += scratch[t, b]
    return counts


STAGES: dict[str, vp.Stage] = {s.name: s for s in (digitize_stage, histogram_stage)}


# -- public functions -----------------------------------------------------------------------


def _check_bins(func: str, bins: Any, *, increasing_only: bool, min_size: int) -> np.ndarray:
    arr = bins.to_numpy() if isinstance(bins, pd.Series | pd.Index) else bins
    if not isinstance(arr, np.ndarray | list | tuple):
        _core.reject(func, "bins", bins, "is not an array of edges; pass a 1-D array")
    if isinstance(arr, np.ma.MaskedArray) and np.ma.getmaskarray(arr).any():
        _core.reject(func, "bins", bins, "has masked edges; pass every edge (bins.compressed())")
    arr = np.asarray(arr)
    if arr.ndim != 1 or arr.dtype.kind not in "biuf" or arr.shape[0] < min_size:
        _core.reject(func, "bins", bins, f"is not a 1-D numeric array of at least {min_size} edges")
    edges = np.ascontiguousarray(arr, dtype=np.float64)
    order = _order(edges)
    if order == 2:
        _core.reject(func, "bins", bins, "holds NaN; pass edges without NaN")
    if order == 0 or (increasing_only and order == -1):
        what = "increasing" if increasing_only else "increasing or decreasing"
        _core.reject(func, "bins", bins, f"is not monotonically {what}; sort the edges")
    return edges


def _values(func: str, x: Any) -> tuple[np.ndarray, Any]:
    """Float64 values of ``x`` flattened (C order), and how to rebuild ``x``'s shape."""
    if isinstance(x, pd.Series):
        return _core._float_values(func, x, "the Series"), x
    if isinstance(x, pd.DataFrame):
        cols = [
            _core._float_values(func, x.iloc[:, j], f"column {x.columns[j]!r}")
            for j in range(x.shape[1])
        ]
        values = np.column_stack(cols) if cols else np.empty((len(x), 0))
        return np.ascontiguousarray(values).ravel(), x
    if isinstance(x, np.ndarray | list | tuple):
        arr = _core.as_array(x)
        if arr.ndim not in (1, 2):
            _core.reject(func, "x", x, f"has {arr.ndim} dimensions; pass a 1-D or 2-D array")
        return _core._float_values(func, arr, "the array").ravel(), arr.shape
    _core.reject(func, "x", x, "is not an array, Series or DataFrame; pass one of those")


def digitize(x: Any, bins: Any, *, right: bool = False) -> Any:
    """The index of the bin each value falls in, as ``np.digitize(x, bins, right=right)``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA is NaN),
        1-D or 2-D; every value is binned on its own.
    bins : 1-D array
        Monotonically increasing or decreasing edges, without NaN.
    right : bool, default False
        For increasing bins, whether a bin includes its right edge (``bins[i-1] < v <=
        bins[i]``) instead of its left one (``bins[i-1] <= v < bins[i]``).

    Returns
    -------
    ndarray, Series or DataFrame
        ``np.intp`` indices, of ``x``'s type and shape (a Series keeps its index and name,
        a DataFrame its index and columns). NaN gets ``len(bins)`` for increasing bins
        and 0 for decreasing ones, as in NumPy.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.binning import digitize
    >>> digitize(np.array([0.5, 1.0, 2.5, np.nan]), np.array([1.0, 2.0, 3.0]))
    array([0, 1, 2, 3])
    >>> digitize(np.array([0.5, 1.0, 2.5]), np.array([1.0, 2.0, 3.0]), right=True)
    array([0, 0, 2])
    """
    edges = _check_bins("digitize", bins, increasing_only=False, min_size=0)
    r = _core.check_bool("digitize", "right", right)
    values, like = _values("digitize", x)
    out = digitize_stage(values, edges, r)
    if isinstance(like, pd.Series):
        return pd.Series(out, index=like.index, name=like.name)
    if isinstance(like, pd.DataFrame):
        return pd.DataFrame(out.reshape(like.shape), index=like.index, columns=like.columns)
    return out.reshape(like)


def histogram(x: Any, bins: Any) -> np.ndarray:
    """Counts of values in each bin, as ``np.histogram(x, bins)[0]`` for edges ``bins``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA is NaN),
        flattened as NumPy does. NaN and values outside the edges are not counted.
    bins : 1-D array
        At least two monotonically increasing edges, without NaN. Bin ``i`` holds
        ``bins[i] <= v < bins[i+1]``; the last bin also holds ``v == bins[-1]``.

    Returns
    -------
    ndarray
        ``np.intp`` counts, ``len(bins) - 1`` of them.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.binning import histogram
    >>> histogram(np.array([0.0, 0.5, 1.0, 2.0, 5.0, np.nan]), np.array([0.0, 1.0, 2.0]))
    array([2, 2])
    """
    edges = _check_bins("histogram", bins, increasing_only=True, min_size=2)
    values, _ = _values("histogram", x)
    return histogram_stage(np.ascontiguousarray(edges[:-1]), float(edges[-1]), values)


_EXAMPLE_BINS = np.linspace(-3.0, 3.0, 25)


def _pandas_digitize(s: Any, bins: Any, right: bool = False) -> Any:
    return pd.Series(np.digitize(s.to_numpy(), bins, right=right), index=s.index, name=s.name)


def _numpy_histogram(s: Any, bins: Any) -> Any:
    return np.histogram(np.asarray(s, dtype=np.float64), bins)[0]


_core.register(
    _core.KernelSpec(
        name="digitize",
        family="binning",
        function=digitize,
        stage=digitize_stage,
        pandas=_pandas_digitize,
        args=(_EXAMPLE_BINS,),
    ),
    _core.KernelSpec(
        name="histogram",
        family="binning",
        function=histogram,
        stage=histogram_stage,
        pandas=_numpy_histogram,
        args=(_EXAMPLE_BINS,),
    ),
)
