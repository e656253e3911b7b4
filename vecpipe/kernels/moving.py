"""Moving-window kernels: rolling sum, mean, var, std, min, max and count, as pandas.

Each function equals ``pd.Series(x).rolling(window, min_periods=...).<op>()``. Its stage's
reference is that pandas call on a 1-D float64 array; the Numba variants mirror pandas'
running algorithms (``pandas/core/_numba/kernels``): Kahan-compensated add/remove for
sum and mean, Welford-like add/remove with compensation for var (multiplying by the
count's reciprocal where pandas divides, and recomputing a window whose sum of squares
lost its digits, as pandas). Min and max give pandas' values with van Herk and
Gil-Werman's block algorithm (``_extreme_core``) where pandas keeps a monotonic deque. As
in pandas, infinities count as missing everywhere but ``rolling_count``.

Every kernel is one ``_*_core(x, window, minp, lo, hi, out)`` loop that fills
``out[lo:hi]``, starting cold at ``lo`` (it first reads the ``window - 1`` values before
it): the serial variant runs it once over the whole array, the parallel variant runs it
on chunks in ``prange``, each chunk re-reading ``window - 1`` values of overlap. Var and
std run two chunks at a time side by side (``_var_core(x, window, minp, lo, mid, hi,
out, ...)``), in the serial variant too.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _alloc, _core

__all__ = [
    "STAGES",
    "rolling_count",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
]

_MAX_SIZE = 60
# Verification inputs: the data, a window for its length, and min_periods None (the
# window), 0 or 1 (valid for every window).
_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE), _spec.window(), _spec.sampled_from([None, 0, 1])
)
# Var and std: values bounded to 1e3, since pandas leaves rounding residue of about
# eps * max(x)**2 * window where a window turns constant (measured: 1.6e-12 after a 208),
# where our kernels give the exact 0; atol covers that residue at this scale.
_VAR_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE, min_value=-1e3, max_value=1e3),
    _spec.window(),
    _spec.sampled_from([None, 0, 1]),
    _spec.sampled_from([1, 0]),
)
# The var kernels restart their running sums at each chunk (64K values) and multiply by
# reciprocals where pandas divides, which moves the last bits (more on large offsets,
# 1e10 + noise); rtol covers that.
_VAR_EQUAL = vp.close(rtol=1e-6, atol=1e-6)
_MIN_CHUNK = 1 << 16
# pandas' roll_var recomputes a window from scratch when an update leaves its running sum
# of squares under this fraction of what it was ("only 3 significant digits remain"):
# after a large value leaves the window, the running sum would otherwise keep the error
# of subtracting it (one value of 1e8 among values near 1 left a std 41% off).
_INV_COND_TOL = np.finfo(np.float64).eps * 1e3

# auto=False: the reference is a pandas call, which Numba cannot compile; trying costs a
# failed compilation per kind of input. chunkable: a slice of the data is a valid input.
_STAGE: dict[str, Any] = {"chunkable": True, "auto": False}


# -- kernels: plain loops writing into ``out`` ----------------------------------------------


@numba.njit(nogil=True, cache=True, inline="always")
def _minp(window, min_periods):
    return window if min_periods is None else min_periods


@numba.njit(nogil=True, cache=True, inline="always")
def _chunk(n, window):
    """Chunk length for the parallel variants: long enough that overlap costs little.
    (A window longer than the data counts as the data: ``8 * window`` must not overflow.)"""
    return max(_MIN_CHUNK, 8 * min(window, n), (n + 63) // 64)


@numba.njit(nogil=True, cache=True)
def _sum_core(x, window, minp, lo, hi, out, mean):
    nobs = 0
    neg_ct = 0
    sum_x = 0.0
    comp_add = 0.0
    comp_rem = 0.0
    same = 0  # how many of the last non-missing values equal prev (pandas' exact results)
    prev = np.nan
    start = max(0, lo - window + 1)
    for i in range(start, hi):
        if window == 1:  # pandas recomputes a window that shares nothing with the last
            nobs = 0
            neg_ct = 0
            sum_x = comp_add = comp_rem = 0.0
        elif i - window >= start:
            v = x[i - window]
            if np.isfinite(v):
                nobs -= 1
                neg_ct -= v < 0
                y = -v - comp_rem
                t = sum_x + y
                comp_rem = t - sum_x - y
                sum_x = t
        v = x[i]
        if np.isfinite(v):
            nobs += 1
            neg_ct += v < 0
            y = v - comp_add
            t = sum_x + y
            comp_add = t - sum_x - y
            sum_x = t
            same = same + 1 if v == prev else 1
            prev = v
        if i < lo:
            continue
        if mean:
            if nobs >= minp and nobs > 0:
                if same >= nobs:
                    result = prev
                else:
                    result = sum_x / nobs
                    if neg_ct == 0 and result < 0:
                        result = 0.0
                    elif neg_ct == nobs and result > 0:
                        result = 0.0
            else:
                result = np.nan
        elif nobs == 0 and minp == 0:
            result = 0.0
        elif nobs >= minp:
            result = prev * nobs if same >= nobs else sum_x
        else:
            result = np.nan
        out[i] = result
    # Whether the running sum ended finite. One that overflowed stays NaN in pandas (its
    # compensation becomes inf - inf) to the end of the series: a chunk that started
    # afresh after it would give numbers there (see the parallel variants).
    return np.isfinite(sum_x) and np.isfinite(comp_add) and np.isfinite(comp_rem)


@numba.njit(nogil=True, cache=True)
def _var_step(x, i, start, window, state, inv_full, inv_less):
    """Value ``i`` in (and ``i - window`` out) of a lane that started cold at ``start``:
    pandas' add/remove updates, multiplying by the reciprocal of the count where pandas
    divides (division sits in the dependency chain; 1.6x faster serially). A full
    window's counts (window, window - 1) have their reciprocals computed once. The
    reciprocal's rounding drifts the running sums by about an ulp per value (1e-13
    relative after 10^5 values, 7e-12 after 10^7), so lanes are chunks (``_pair``).
    ``state``: (nobs, mean, ssqdm, add and remove compensations, run of equal values, the
    last value). Returns the new state and whether the step left the sum of squares
    ill-conditioned (see ``_INV_COND_TOL``), where pandas recomputes the window: the
    lane is then redone by ``_var_lane``, which does (a recompute in this loop, even
    never taken, made it 3.5x slower)."""
    nobs, mean_x, ssqdm, comp_add, comp_rem, same, prev = state
    unstable = False
    if window == 1:
        nobs = 0
        mean_x = ssqdm = comp_add = comp_rem = 0.0
    elif i - window >= start:
        v = x[i - window]
        if np.isfinite(v):
            nobs -= 1
            if nobs:
                prev_m2 = ssqdm
                prev_mean = mean_x - comp_rem
                y = v - comp_rem
                t = y - mean_x
                comp_rem = t + mean_x - y
                mean_x -= t * (inv_less if nobs == window - 1 else 1.0 / nobs)
                ssqdm -= (v - prev_mean) * (v - mean_x)
                unstable = prev_m2 * _INV_COND_TOL > ssqdm
            else:
                mean_x = 0.0
                ssqdm = 0.0
    v = x[i]
    if np.isfinite(v):
        same = same + 1 if v == prev else 1
        prev = v
        nobs, mean_x, ssqdm, comp_add, unstable = _var_add(
            v, nobs, mean_x, ssqdm, comp_add, window, inv_full, unstable
        )
    return (nobs, mean_x, ssqdm, comp_add, comp_rem, same, prev), unstable


@numba.njit(nogil=True, cache=True)
def _var_add(v, nobs, mean_x, ssqdm, comp_add, window, inv_full, unstable):
    """pandas' add_var for a finite ``v``: ``(nobs, mean, ssqdm, compensation, unstable)``."""
    nobs += 1
    prev_m2 = ssqdm
    prev_mean = mean_x - comp_add
    y = v - comp_add
    t = y - mean_x
    comp_add = t + mean_x - y
    mean_x += t * (inv_full if nobs == window else 1.0 / nobs)
    ssqdm += (v - prev_mean) * (v - mean_x)
    return nobs, mean_x, ssqdm, comp_add, unstable or prev_m2 * _INV_COND_TOL > ssqdm


@numba.njit(nogil=True, cache=True)
def _var_recompute(x, lo, hi, window, inv_full):
    """The state of the window ``x[lo:hi]`` added afresh, as pandas recomputes an unstable
    window (every running field restarts at zero; the run of equal values too)."""
    nobs, mean_x, ssqdm, comp_add = np.int64(0), 0.0, 0.0, 0.0
    same, prev = np.int64(0), np.nan
    for j in range(lo, hi):
        v = x[j]
        if np.isfinite(v):
            same = same + 1 if v == prev else 1
            prev = v
            nobs, mean_x, ssqdm, comp_add, _ = _var_add(
                v, nobs, mean_x, ssqdm, comp_add, window, inv_full, False
            )
    return (nobs, mean_x, ssqdm, comp_add, 0.0, same, prev)


@numba.njit(nogil=True, cache=True)
def _var_lane(x, window, minp, lo, hi, out, ddof, root, inv_full, inv_less, inv_out):
    """Fill ``out[lo:hi]`` as one lane from a cold start, recomputing each window whose
    update left the sum of squares ill-conditioned, as pandas does (after a value far
    larger than the others leaves the window). Returns whether the state ended finite."""
    start = max(0, lo - window + 1)
    state = (np.int64(0), 0.0, 0.0, 0.0, 0.0, np.int64(0), np.nan)
    for i in range(start, hi):
        state, unstable = _var_step(x, i, start, window, state, inv_full, inv_less)
        if unstable:
            state = _var_recompute(x, max(start, i - window + 1), i + 1, window, inv_full)
        if i >= lo:
            out[i] = _var_value(state, window, minp, ddof, root, inv_out)
    return _var_finite(state)


@numba.njit(nogil=True, cache=True)
def _var_finite(state):
    """Whether a lane's running mean, sum of squares and compensations are finite: once
    a sum of squares overflows, pandas' one lane stays NaN (its compensation is inf - inf)
    where a lane started afresh would give numbers (see ``_var_chunks``)."""
    _, mean_x, ssqdm, comp_add, comp_rem, _, _ = state
    return (
        np.isfinite(mean_x)
        and np.isfinite(ssqdm)
        and np.isfinite(comp_add)
        and np.isfinite(comp_rem)
    )


@numba.njit(nogil=True, cache=True)
def _var_value(state, window, minp, ddof, root, inv_out):
    """A lane's result now, as pandas' ``calc_var`` (and ``zsqrt`` for std)."""
    nobs, _, ssqdm, _, _, same, _ = state
    if nobs >= minp and nobs > ddof:
        # A sum of squares that overflowed (inf, then NaN once the value leaves) stays
        # so in pandas, constant windows included: no exact 0 for those.
        if nobs == 1 or (same >= nobs and np.isfinite(ssqdm)):
            result = 0.0
        else:
            result = ssqdm * (inv_out if nobs == window else 1.0 / (nobs - ddof))
        if root:  # pandas' zsqrt: a (rounding) negative variance has deviation 0
            result = 0.0 if result < 0 else np.sqrt(result)
        return result
    return np.nan


@numba.njit(nogil=True, cache=True)
def _var_core(x, window, minp, lo, mid, hi, out, ddof, root):
    """Fill ``out[lo:mid]`` and ``out[mid:hi]`` as two lanes, each starting cold, in one
    loop: the updates are one long dependency chain per lane, and two chains side by side
    keep the core busier (1.3x faster than one lane after the other, the same bits)."""
    minp = max(minp, 1)
    inv_full = 1.0 / window
    inv_less = 1.0 / (window - 1) if window > 1 else 1.0
    inv_out = 1.0 / (window - ddof) if window > ddof else 0.0
    a_start = max(0, lo - window + 1)
    b_start = max(0, mid - window + 1) if hi > mid else hi
    # int64 counts, not literal 0s: _var_step then has one signature for every call.
    a = (np.int64(0), 0.0, 0.0, 0.0, 0.0, np.int64(0), np.nan)
    b = a
    a_unstable = b_unstable = False  # a step that left its sum of squares ill-conditioned
    common = min(mid - a_start, hi - b_start)
    for j in range(common):
        i = a_start + j
        a, u = _var_step(x, i, a_start, window, a, inv_full, inv_less)
        a_unstable |= u
        if i >= lo:
            out[i] = _var_value(a, window, minp, ddof, root, inv_out)
        k = b_start + j
        b, u = _var_step(x, k, b_start, window, b, inv_full, inv_less)
        b_unstable |= u
        if k >= mid:
            out[k] = _var_value(b, window, minp, ddof, root, inv_out)
    for i in range(a_start + common, mid):
        a, u = _var_step(x, i, a_start, window, a, inv_full, inv_less)
        a_unstable |= u
        if i >= lo:
            out[i] = _var_value(a, window, minp, ddof, root, inv_out)
    for k in range(b_start + common, hi):
        b, u = _var_step(x, k, b_start, window, b, inv_full, inv_less)
        b_unstable |= u
        if k >= mid:
            out[k] = _var_value(b, window, minp, ddof, root, inv_out)
    # Rare (a value far larger than its neighbours): such a lane again, the careful way.
    a_finite = _var_finite(a)
    if a_unstable:
        a_finite = _var_lane(x, window, minp, lo, mid, out, ddof, root, inv_full, inv_less, inv_out)
    b_finite = _var_finite(b)
    if b_unstable:
        b_finite = _var_lane(x, window, minp, mid, hi, out, ddof, root, inv_full, inv_less, inv_out)
    return a_finite and b_finite


def _extreme_core(is_max: bool) -> Any:
    """The rolling max (``is_max``) or min loop, ``core(x, window, minp, lo, hi, out)``.

    van Herk and Gil-Werman's algorithm: the values from ``start`` are cut into blocks of
    ``window``; the window ending at ``i`` is the suffix of the block before ``i``'s plus
    the prefix of ``i``'s block up to ``i``, so each output is the better of a suffix
    extreme (one backward pass per block) and a running prefix extreme: three comparisons
    a value whatever the window, with no data-dependent branch. Measured on the
    development VM at 10^7 against the monotonic deque pandas uses (whose pops mispredict
    on unordered data), side by side: the serial variant 155-178 ms to 48-75 ms, w=20 and
    w=1000 alike (docs/kernels.md). Missing values (NaN and infinities, as in pandas)
    become the identity (-inf for max) in a copy of each block, and a running count gives
    min_periods. Scratch: three blocks of ``window`` values (two when a single block
    covers the lane).

    ``is_max`` is a constant of the compiled code (a closure variable that Numba's disk
    cache hashes), so each comparison compiles to one ``maxsd``/``minsd``.
    """
    none = -np.inf if is_max else np.inf

    @numba.njit(nogil=True, cache=True, inline="always")
    def better(a, b):  # type: ignore[no-untyped-def]
        # Ties go to b; callers pass the later value as b, so among equal extremes
        # (0.0 and -0.0) the latest wins, as in pandas' deque.
        if is_max:
            return a if a > b else b
        return a if a < b else b

    def core(x, window, minp, lo, hi, out):  # type: ignore[no-untyped-def]
        start = max(0, lo - window + 1)
        width = min(window, hi - start)
        # buf: [0, width) this block's values; two more blocks, in turn, the suffix
        # extremes of the block before (``old``) and of this one (``new``).
        buf = np.empty((3 if hi - start > window else 2) * width)
        buf[width : 2 * width] = none
        old, new = width, 2 * width
        lead = max(minp, 1)
        nobs = 0
        b = start
        while b < hi:
            e = b + min(window, hi - b)  # not b + window: a huge window would overflow
            m = e - b
            for j in range(m):
                v = x[b + j]
                buf[j] = v if np.isfinite(v) else none
            if e < hi:
                s = none
                for j in range(m - 1, -1, -1):
                    s = better(buf[j], s)
                    buf[new + j] = s
            p = none
            for j in range(m):
                i = b + j
                v = buf[j]
                nobs += v != none
                if i - window >= start:
                    nobs -= np.isfinite(x[i - window])
                p = better(p, v)
                r = better(buf[old + j + 1], p) if j + 1 < width else p
                if i >= lo:
                    out[i] = r if nobs >= lead else np.nan
            old, new = new, old
            b = e

    # Named for its operation: Numba's disk cache files are named by qualified name.
    core.__name__ = core.__qualname__ = "_max_core" if is_max else "_min_core"
    return numba.njit(nogil=True, cache=True)(core)


_max_core = _extreme_core(True)
_min_core = _extreme_core(False)


@numba.njit(nogil=True, cache=True)
def _count_core(x, window, minp, lo, hi, out):
    # pandas counts by summing notna(): every row is an observation for min_periods, and
    # infinities count.
    count = 0
    start = max(0, lo - window + 1)
    for i in range(start, hi):
        if i - window >= start and not np.isnan(x[i - window]):
            count -= 1
        if not np.isnan(x[i]):
            count += 1
        if i >= lo:
            out[i] = count if min(i + 1, window) >= minp else np.nan


# -- stages: the pandas call as reference, Numba variants beside it -------------------------


@vp.stage(name="rolling_sum", inputs=_INPUTS, **_STAGE)
def rolling_sum_stage(x, window, min_periods=None):
    """``pd.Series(x).rolling(window, min_periods=min_periods).sum()`` as an array."""
    return pd.Series(x).rolling(window, min_periods=min_periods).sum().to_numpy()


@rolling_sum_stage.variant("numba")
def _rolling_sum_numba(x, window, min_periods=None):
    out = _alloc.empty(x.shape[0])
    _sum_core(x, window, _minp(window, min_periods), 0, x.shape[0], out, False)
    return out


@rolling_sum_stage.variant("numba", parallel=True)
def _rolling_sum_parallel(x, window, min_periods=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n, window)
    chunks = (n + size - 1) // size
    finite = np.ones(chunks, dtype=np.bool_)
    for c in numba.prange(chunks):
        finite[c] = _sum_core(
            x, window, _minp(window, min_periods), c * size, min(n, c * size + size), out, False
        )
    if not finite.all():  # a sum overflowed: pandas' NaN from there on, in one pass
        _sum_core(x, window, _minp(window, min_periods), 0, n, out, False)
    return out


@vp.stage(name="rolling_mean", inputs=_INPUTS, **_STAGE)
def rolling_mean_stage(x, window, min_periods=None):
    """``pd.Series(x).rolling(window, min_periods=min_periods).mean()`` as an array."""
    return pd.Series(x).rolling(window, min_periods=min_periods).mean().to_numpy()


@rolling_mean_stage.variant("numba")
def _rolling_mean_numba(x, window, min_periods=None):
    out = _alloc.empty(x.shape[0])
    _sum_core(x, window, _minp(window, min_periods), 0, x.shape[0], out, True)
    return out


@rolling_mean_stage.variant("numba", parallel=True)
def _rolling_mean_parallel(x, window, min_periods=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n, window)
    chunks = (n + size - 1) // size
    finite = np.ones(chunks, dtype=np.bool_)
    for c in numba.prange(chunks):
        finite[c] = _sum_core(
            x, window, _minp(window, min_periods), c * size, min(n, c * size + size), out, True
        )
    if not finite.all():  # a sum overflowed: pandas' NaN from there on, in one pass
        _sum_core(x, window, _minp(window, min_periods), 0, n, out, True)
    return out


@vp.stage(name="rolling_var", inputs=_VAR_INPUTS, equal=_VAR_EQUAL, **_STAGE)
def rolling_var_stage(x, window, min_periods=None, ddof=1):
    """``pd.Series(x).rolling(window, min_periods=min_periods).var(ddof=ddof)``."""
    return pd.Series(x).rolling(window, min_periods=min_periods).var(ddof=ddof).to_numpy()


@numba.njit(nogil=True, cache=True, inline="always")
def _pairs(n, window):
    """How many pairs of chunks ``n`` values make (see ``_pair``)."""
    size = _chunk(n, window)
    return (n + 2 * size - 1) // (2 * size)


@numba.njit(nogil=True, cache=True, inline="always")
def _pair(n, window, c):
    """``(lo, mid, hi)`` of the ``c``-th pair of chunks, which ``_var_core`` runs side by
    side. The serial variants run the pairs one after the other, the parallel ones in
    ``prange``: restarting every chunk (at least 64K values) bounds the running sums'
    drift (see ``_var_step``), and serial and parallel give the same bits."""
    size = _chunk(n, window)
    lo = 2 * c * size
    mid = min(n, lo + size)
    return lo, mid, min(n, mid + size)


@numba.njit(nogil=True, cache=True)
def _var_chunks(x, window, minp, out, ddof, root):
    n = x.shape[0]
    finite = True
    for c in range(_pairs(n, window)):
        lo, mid, hi = _pair(n, window, c)
        finite &= _var_core(x, window, minp, lo, mid, hi, out, ddof, root)
    if not finite:  # a sum of squares overflowed: pandas' one lane, NaN from there on
        _var_core(x, window, minp, 0, n, n, out, ddof, root)


@rolling_var_stage.variant("numba")
def _rolling_var_numba(x, window, min_periods=None, ddof=1):
    out = _alloc.empty(x.shape[0])
    _var_chunks(x, window, _minp(window, min_periods), out, ddof, False)
    return out


@rolling_var_stage.variant("numba", parallel=True)
def _rolling_var_parallel(x, window, min_periods=None, ddof=1):
    n = x.shape[0]
    out = _alloc.empty(n)
    pairs = _pairs(n, window)
    finite = np.ones(pairs, dtype=np.bool_)
    for c in numba.prange(pairs):
        lo, mid, hi = _pair(n, window, c)
        finite[c] = _var_core(x, window, _minp(window, min_periods), lo, mid, hi, out, ddof, False)
    if not finite.all():  # a sum of squares overflowed: pandas' one lane (_var_chunks)
        _var_core(x, window, _minp(window, min_periods), 0, n, n, out, ddof, False)
    return out


@vp.stage(name="rolling_std", inputs=_VAR_INPUTS, equal=_VAR_EQUAL, **_STAGE)
def rolling_std_stage(x, window, min_periods=None, ddof=1):
    """``pd.Series(x).rolling(window, min_periods=min_periods).std(ddof=ddof)``."""
    return pd.Series(x).rolling(window, min_periods=min_periods).std(ddof=ddof).to_numpy()


@rolling_std_stage.variant("numba")
def _rolling_std_numba(x, window, min_periods=None, ddof=1):
    out = _alloc.empty(x.shape[0])
    _var_chunks(x, window, _minp(window, min_periods), out, ddof, True)
    return out


@rolling_std_stage.variant("numba", parallel=True)
def _rolling_std_parallel(x, window, min_periods=None, ddof=1):
    n = x.shape[0]
    out = _alloc.empty(n)
    pairs = _pairs(n, window)
    finite = np.ones(pairs, dtype=np.bool_)
    for c in numba.prange(pairs):
        lo, mid, hi = _pair(n, window, c)
        finite[c] = _var_core(x, window, _minp(window, min_periods), lo, mid, hi, out, ddof, True)
    if not finite.all():  # a sum of squares overflowed: pandas' one lane (_var_chunks)
        _var_core(x, window, _minp(window, min_periods), 0, n, n, out, ddof, True)
    return out


@vp.stage(name="rolling_min", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def rolling_min_stage(x, window, min_periods=None):
    """``pd.Series(x).rolling(window, min_periods=min_periods).min()`` as an array."""
    return pd.Series(x).rolling(window, min_periods=min_periods).min().to_numpy()


@rolling_min_stage.variant("numba")
def _rolling_min_numba(x, window, min_periods=None):
    out = _alloc.empty(x.shape[0])
    _min_core(x, window, _minp(window, min_periods), 0, x.shape[0], out)
    return out


@rolling_min_stage.variant("numba", parallel=True)
def _rolling_min_parallel(x, window, min_periods=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n, window)
    for c in numba.prange((n + size - 1) // size):
        _min_core(x, window, _minp(window, min_periods), c * size, min(n, c * size + size), out)
    return out


@vp.stage(name="rolling_max", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def rolling_max_stage(x, window, min_periods=None):
    """``pd.Series(x).rolling(window, min_periods=min_periods).max()`` as an array."""
    return pd.Series(x).rolling(window, min_periods=min_periods).max().to_numpy()


@rolling_max_stage.variant("numba")
def _rolling_max_numba(x, window, min_periods=None):
    out = _alloc.empty(x.shape[0])
    _max_core(x, window, _minp(window, min_periods), 0, x.shape[0], out)
    return out


@rolling_max_stage.variant("numba", parallel=True)
def _rolling_max_parallel(x, window, min_periods=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n, window)
    for c in numba.prange((n + size - 1) // size):
        _max_core(x, window, _minp(window, min_periods), c * size, min(n, c * size + size), out)
    return out


@vp.stage(name="rolling_count", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def rolling_count_stage(x, window, min_periods=None):
    """``pd.Series(x).rolling(window, min_periods=min_periods).count()`` as an array."""
    return pd.Series(x).rolling(window, min_periods=min_periods).count().to_numpy()


@rolling_count_stage.variant("numba")
def _rolling_count_numba(x, window, min_periods=None):
    out = _alloc.empty(x.shape[0])
    _count_core(x, window, _minp(window, min_periods), 0, x.shape[0], out)
    return out


STAGES: dict[str, vp.Stage] = {
    s.name: s
    for s in (
        rolling_sum_stage,
        rolling_mean_stage,
        rolling_var_stage,
        rolling_std_stage,
        rolling_min_stage,
        rolling_max_stage,
        rolling_count_stage,
    )
}


# -- public functions -----------------------------------------------------------------------


def _run(func: str, x: Any, window: int, min_periods: int | None, axis: int, *extra: Any) -> Any:
    w = _core.check_window(func, window)
    mp = _core.check_min_periods(func, min_periods, w)
    ax = _core.check_axis(func, axis)
    return _core.apply_along(func, STAGES[func], x, ax, (w, mp, *extra), _core.fit_window)


def rolling_sum(x: Any, window: int, *, min_periods: int | None = None, axis: int = 0) -> Any:
    """Moving sum over the last ``window`` values, as ``Series.rolling(...).sum()``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA and
        infinities count as missing). 2-D arrays and DataFrames go along ``axis``.
    window : int
        The number of values in each window (positive).
    min_periods : int, optional
        The fewest non-missing values a window needs for a result, between 0 and
        ``window`` (default: ``window``); fewer give NaN.
    axis : {0, 1}, default 0
        For 2-D input: 0 runs down each column, 1 along each row.

    Returns
    -------
    ndarray, Series or DataFrame
        Float64, of ``x``'s type and shape (a Series keeps its index and name).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_sum
    >>> rolling_sum(np.array([1.0, 2.0, np.nan, 4.0]), 2, min_periods=1)
    array([1., 3., 2., 4.])
    """
    return _run("rolling_sum", x, window, min_periods, axis)


def rolling_mean(x: Any, window: int, *, min_periods: int | None = None, axis: int = 0) -> Any:
    """Moving mean over the last ``window`` values, as ``Series.rolling(...).mean()``.

    Parameters are those of :func:`rolling_sum`.

    Examples
    --------
    >>> import pandas as pd
    >>> from vecpipe.kernels import rolling_mean
    >>> rolling_mean(pd.Series([1.0, 2.0, 3.0], name="a"), 2).tolist()
    [nan, 1.5, 2.5]
    """
    return _run("rolling_mean", x, window, min_periods, axis)


def rolling_var(
    x: Any, window: int, *, min_periods: int | None = None, ddof: int = 1, axis: int = 0
) -> Any:
    """Moving variance, as ``Series.rolling(...).var(ddof=ddof)``.

    Parameters are those of :func:`rolling_sum`, and ``ddof`` (int, default 1): the
    divisor is the number of non-missing values less ``ddof``.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_var
    >>> rolling_var(np.array([1.0, 2.0, 4.0]), 2)
    array([nan, 0.5, 2. ])
    """
    dd = _core.check_nonnegative_int("rolling_var", "ddof", ddof)
    return _run("rolling_var", x, window, min_periods, axis, dd)


def rolling_std(
    x: Any, window: int, *, min_periods: int | None = None, ddof: int = 1, axis: int = 0
) -> Any:
    """Moving standard deviation, as ``Series.rolling(...).std(ddof=ddof)``.

    Parameters are those of :func:`rolling_var`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_std
    >>> rolling_std(np.array([1.0, 3.0, 5.0]), 2, ddof=0)
    array([nan,  1.,  1.])
    """
    dd = _core.check_nonnegative_int("rolling_std", "ddof", ddof)
    return _run("rolling_std", x, window, min_periods, axis, dd)


def rolling_min(x: Any, window: int, *, min_periods: int | None = None, axis: int = 0) -> Any:
    """Moving minimum, as ``Series.rolling(...).min()``.

    Parameters are those of :func:`rolling_sum`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_min
    >>> rolling_min(np.array([3.0, 1.0, 2.0]), 2)
    array([nan,  1.,  1.])
    """
    return _run("rolling_min", x, window, min_periods, axis)


def rolling_max(x: Any, window: int, *, min_periods: int | None = None, axis: int = 0) -> Any:
    """Moving maximum, as ``Series.rolling(...).max()``.

    Parameters are those of :func:`rolling_sum`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_max
    >>> rolling_max(np.array([3.0, 1.0, 2.0]), 2)
    array([nan,  3.,  2.])
    """
    return _run("rolling_max", x, window, min_periods, axis)


def rolling_count(x: Any, window: int, *, min_periods: int | None = None, axis: int = 0) -> Any:
    """Moving count of non-NaN values, as ``Series.rolling(...).count()``.

    Parameters are those of :func:`rolling_sum`; as in pandas, ``min_periods`` counts the
    rows in the window (missing or not), and infinities count as values.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels import rolling_count
    >>> rolling_count(np.array([1.0, np.nan, 3.0]), 2, min_periods=0)
    array([1., 1., 1.])
    """
    return _run("rolling_count", x, window, min_periods, axis)


def _pandas(op: str) -> Any:
    def expression(s: pd.Series, window: int, **kwargs: Any) -> Any:
        extra = {"ddof": kwargs.pop("ddof")} if "ddof" in kwargs else {}
        return getattr(s.rolling(window, **kwargs), op)(**extra)

    expression.__name__ = f"pandas_rolling_{op}"
    return expression


_core.register(
    *(
        _core.KernelSpec(
            name=f"rolling_{op}",
            family="moving",
            function=globals()[f"rolling_{op}"],
            stage=STAGES[f"rolling_{op}"],
            pandas=_pandas(op),
            args=(20,),
        )
        for op in ("sum", "mean", "var", "std", "min", "max", "count")
    )
)
