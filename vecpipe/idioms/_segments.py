"""Loops over sorted segments: each group's rows, together and in row order.

The group-wise idioms gather a column's values by group (``values[order]``, with
``order, starts`` from :func:`vecpipe.kernels.group_transforms._group_bounds`): group
``g``'s rows are ``x[starts[g]:starts[g + 1]]``. Each loop here does for every segment what
a pandas Series method does on that group's Series, with pandas' arithmetic, so results
are equal bit for bit: sums are NumPy's pairwise sums (``grouped._pairwise``'s
operations, without its recursion) of the values with NaN replaced by 0, as ``nanops``
sums them; var and std are ``nanops``' two passes; the running kernels and rolling windows
are :mod:`vecpipe.kernels`' own cores (``cumulative._cumprod_core``, ``_cumext_core``,
``moving._sum_core``, ``_max_core``, ``_min_core``) run on each segment, starting cold.

Reductions write one value per group into ``out``; transforms one value per row. This
module imports :mod:`vecpipe.kernels`, so the group-wise handler imports it on first use.
"""

from __future__ import annotations

import numba
import numpy as np

from vecpipe.kernels import cumulative as _cumulative
from vecpipe.kernels import moving as _moving

__all__ = [
    "count",
    "cumextreme",
    "cumprod",
    "cumsum",
    "diff",
    "extreme",
    "mean",
    "median",
    "prod",
    "rank",
    "rolling_max",
    "rolling_min",
    "rolling_sum",
    "shift",
    "total",
    "variance",
]


@numba.njit(nogil=True, cache=True)
def _block(x, lo, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise sum of a block of at most 128 values (``grouped._pairwise``)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += x[i]
        return res
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += x[lo + i]
        r1 += x[lo + i + 1]
        r2 += x[lo + i + 2]
        r3 += x[lo + i + 3]
        r4 += x[lo + i + 4]
        r5 += x[lo + i + 5]
        r6 += x[lo + i + 6]
        r7 += x[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[lo + i]
        i += 1
    return res


@numba.njit(nogil=True, cache=True)
def _sum(x, lo, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise sum of ``x[lo:lo + n]``, operation for operation: the halving of
    ``grouped._pairwise`` without recursion (a stack of halves), since a recursive kernel
    compiled into several callers leaves Numba an unresolved symbol ("LLVM ERROR: Symbol
    not found")."""
    if n <= 128:
        return 0.0 + _block(x, lo, n)  # a reduction starts from add's identity, 0.0
    # Frames: (start, length, stage); stage 0 = left half next, 1 = right half next,
    # 2 = both done. partial[d] holds frame d's left sum.
    starts = np.empty(64, dtype=np.int64)
    lengths = np.empty(64, dtype=np.int64)
    stages = np.zeros(64, dtype=np.int64)
    partial = np.empty(64)
    depth = 0
    starts[0], lengths[0], stages[0] = lo, n, 0
    value = 0.0
    while depth >= 0:
        m = lengths[depth]
        if m <= 128:
            value = _block(x, starts[depth], m)
            depth -= 1
            continue
        half = m // 2
        half -= half % 8
        stage = stages[depth]
        if stage == 0:
            stages[depth] = 1
            depth += 1
            starts[depth], lengths[depth], stages[depth] = starts[depth - 1], half, 0
        elif stage == 1:
            partial[depth] = value
            stages[depth] = 2
            depth += 1
            starts[depth] = starts[depth - 1] + half
            lengths[depth], stages[depth] = m - half, 0
        else:
            value = partial[depth] + value
            depth -= 1
    return 0.0 + value


@numba.njit(nogil=True, cache=True)
def total(zeroed, starts, out):  # type: ignore[no-untyped-def]
    """``Series.sum()`` per segment: pairwise sums of the values with NaN as 0."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        out[g] = _sum(zeroed, lo, starts[g + 1] - lo)


@numba.njit(nogil=True, cache=True)
def count(x, starts, out):  # type: ignore[no-untyped-def]
    """``Series.count()`` per segment: the values that are not NaN."""
    for g in range(starts.shape[0] - 1):
        c = 0
        for i in range(starts[g], starts[g + 1]):
            c += not np.isnan(x[i])
        out[g] = c


@numba.njit(nogil=True, cache=True)
def mean(x, zeroed, starts, out):  # type: ignore[no-untyped-def]
    """``Series.mean()`` per segment: the pairwise sum over the count (NaN for none)."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        c = 0
        for i in range(lo, hi):
            c += not np.isnan(x[i])
        out[g] = _sum(zeroed, lo, hi - lo) / c if c > 0 else np.nan


@numba.njit(nogil=True, cache=True)
def variance(x, zeroed, starts, ddof, root, out):  # type: ignore[no-untyped-def]
    """``Series.var(ddof)`` (``std`` with ``root``) per segment, as ``nanops.nanvar``: the
    mean from the pairwise sum, then the pairwise sum of squared deviations (NaN rows
    count 0) over ``count - ddof``; NaN when ``count <= ddof``."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        c = 0
        for i in range(lo, hi):
            c += not np.isnan(x[i])
        if c <= ddof:
            out[g] = np.nan
            continue
        avg = _sum(zeroed, lo, hi - lo) / c
        squares = np.empty(hi - lo)
        for i in range(lo, hi):
            squares[i - lo] = 0.0 if np.isnan(x[i]) else (avg - x[i]) ** 2
        v = _sum(squares, 0, hi - lo) / (c - ddof)
        out[g] = np.sqrt(v) if root else v


@numba.njit(nogil=True, cache=True)
def extreme(x, starts, is_max, out):  # type: ignore[no-untyped-def]
    """``Series.max()`` (``is_max``) or ``min()`` per segment; NaN when all are NaN."""
    for g in range(starts.shape[0] - 1):
        best = np.nan
        for i in range(starts[g], starts[g + 1]):
            v = x[i]
            if np.isnan(v):
                continue
            if np.isnan(best) or (v > best if is_max else v < best):
                best = v
        out[g] = best


@numba.njit(nogil=True, cache=True)
def prod(x, starts, out):  # type: ignore[no-untyped-def]
    """``Series.prod()`` per segment: the product of the values, NaN as 1, in order."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        p = 1.0
        for i in range(lo, hi):
            v = x[i]
            if i == lo:
                p = 1.0 if np.isnan(v) else v
            elif not np.isnan(v):
                p *= v
        out[g] = p


@numba.njit(nogil=True, cache=True)
def median(x, starts, out):  # type: ignore[no-untyped-def]
    """``Series.median()`` per segment: the middle value, or the mean of the middle two,
    of the values that are not NaN; NaN when none is."""
    for g in range(starts.shape[0] - 1):
        values = x[starts[g] : starts[g + 1]]
        kept = np.sort(values[~np.isnan(values)])
        m = kept.shape[0]
        if m == 0:
            out[g] = np.nan
        elif m % 2:
            out[g] = kept[m // 2]
        else:
            out[g] = (kept[m // 2 - 1] + kept[m // 2]) / 2


# One loop per operation (no branch on it inside): Numba compiles only the kernel core a
# call uses, where a shared loop would compile every core on first use (a second or more
# each with an empty cache).


@numba.njit(nogil=True, cache=True)
def cumsum(x, starts, out):  # type: ignore[no-untyped-def]
    """``Series.cumsum()`` per segment: ``np.cumsum`` of the values with NaN as 0 (a plain
    running sum from the first), NaN rows NaN."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        s = 0.0
        for i in range(lo, starts[g + 1]):
            v = x[i]
            if i == lo:
                s = 0.0 if np.isnan(v) else v
            elif not np.isnan(v):
                s += v
            out[i] = np.nan if np.isnan(v) else s


@numba.njit(nogil=True, cache=True)
def cumprod(x, starts, out):  # type: ignore[no-untyped-def]
    """``Series.cumprod()`` per segment (``cumulative._cumprod_core``)."""
    for g in range(starts.shape[0] - 1):
        _cumulative._cumprod_core(x, starts[g], starts[g + 1], out, True, 1.0)


@numba.njit(nogil=True, cache=True)
def cumextreme(x, starts, is_max, out):  # type: ignore[no-untyped-def]
    """``Series.cummax()`` (``is_max``) or ``cummin()`` per segment
    (``cumulative._cumext_core``)."""
    start = -np.inf if is_max else np.inf
    for g in range(starts.shape[0] - 1):
        _cumulative._cumext_core(x, starts[g], starts[g + 1], out, True, start, is_max, True)


@numba.njit(nogil=True, cache=True)
def shift(x, starts, periods, out):  # type: ignore[no-untyped-def]
    """``Series.shift(periods)`` per segment (NaN where no row moves in)."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        for i in range(lo, hi):
            j = i - periods
            out[i] = x[j] if lo <= j < hi else np.nan


@numba.njit(nogil=True, cache=True)
def diff(x, starts, periods, out):  # type: ignore[no-untyped-def]
    """``Series.diff(periods)`` per segment: ``x[i] - x[i - periods]`` within the group."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        for i in range(lo, hi):
            j = i - periods
            out[i] = x[i] - x[j] if lo <= j < hi else np.nan


@numba.njit(nogil=True, cache=True)
def rank(x, starts, pct, out):  # type: ignore[no-untyped-def]
    """``Series.rank()`` per segment (average ranks of ties, NaN kept; ``pct``: over the
    count of values that are not NaN)."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        values = x[lo:hi]
        order = np.argsort(values, kind="mergesort")  # NaN last
        m = 0
        for k in range(hi - lo):
            if not np.isnan(values[k]):
                m += 1
        k = 0
        while k < hi - lo:
            first = k
            v = values[order[k]]
            if np.isnan(v):
                for j in range(k, hi - lo):
                    out[lo + order[j]] = np.nan
                break
            while k + 1 < m and values[order[k + 1]] == v:
                k += 1
            r = (first + 1 + k + 1) / 2.0
            for j in range(first, k + 1):
                out[lo + order[j]] = r / m if pct else r
            k += 1


@numba.njit(nogil=True, cache=True)
def rolling_sum(x, starts, window, minp, mean, out):  # type: ignore[no-untyped-def]
    """``Series.rolling(window, min_periods).sum()`` (``mean()`` with ``mean``) per
    segment: ``moving._sum_core`` on each, restarting at each group as pandas' windows do."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        if hi > lo:
            _moving._sum_core(x[lo:hi], window, minp, 0, hi - lo, out[lo:hi], mean)


@numba.njit(nogil=True, cache=True)
def rolling_max(x, starts, window, minp, out):  # type: ignore[no-untyped-def]
    """``Series.rolling(window, min_periods).max()`` per segment (``moving._max_core``)."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        if hi > lo:
            _moving._max_core(x[lo:hi], window, minp, 0, hi - lo, out[lo:hi])


@numba.njit(nogil=True, cache=True)
def rolling_min(x, starts, window, minp, out):  # type: ignore[no-untyped-def]
    """``Series.rolling(window, min_periods).min()`` per segment (``moving._min_core``)."""
    for g in range(starts.shape[0] - 1):
        lo = starts[g]
        hi = starts[g + 1]
        if hi > lo:
            _moving._min_core(x[lo:hi], window, minp, 0, hi - lo, out[lo:hi])
