"""Cumulative kernels: cumsum, cumprod, cummin, cummax and the expanding mean, as pandas.

``cumsum``, ``cumprod``, ``cummin`` and ``cummax`` equal ``pd.Series(x).cum<op>(skipna=...)``:
with ``skipna=True`` a NaN gives NaN in its own row and is skipped (pandas accumulates
over the values with NaN replaced by 0, 1, +inf or -inf); with ``skipna=False`` every row
from the first NaN on is NaN. Infinities are values (``inf - inf`` gives NaN, which then
stays). ``expanding_mean`` equals ``pd.Series(x).expanding(min_periods).mean()``, where,
as in all of pandas' windows, infinities count as missing.

Each kernel is one ``_*_core(x, lo, hi, out, ..., state)`` loop over ``x[lo:hi]`` that
starts from a running state and returns it. The serial variants run it once; the parallel
variants (cumsum, cummin, cummax) are two-pass block scans: each chunk's total in
``prange``, a serial scan over the chunk totals, then each chunk again from its carry.

``cumsum`` uses Kahan-compensated summation, so long sums do not drift; pandas' result is
a plain running sum (``np.cumsum``), so the two agree to rounding, not bit for bit, and
the stage compares them with a tolerance (see ``_SUM_EQUAL``). ``cumprod``, ``cummin`` and
``cummax`` do pandas' exact operations in pandas' order and are compared exactly
(``cumprod`` has no parallel variant: regrouping a product changes its rounding).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _alloc, _core
from vecpipe.kernels.moving import _sum_core

__all__ = ["STAGES", "cummax", "cummin", "cumprod", "cumsum", "expanding_mean"]

_MAX_SIZE = 60
_SKIPNA = _spec.sampled_from([True, False])
_INPUTS = _spec.Spec(_spec.array("float64", max_size=_MAX_SIZE), _SKIPNA)
# cumsum: Kahan against pandas' plain running sum. The plain sum's rounding error grows
# with n * eps * sum(|x|) (cancellation can make it large relative to the result: 1e16 +
# 1 - 1e16 is 0 in pandas, 1 here), so verification bounds the values to 1e6, where that
# is at most 60 * 2.2e-16 * 6e7 ~ 1e-6; atol covers it. Infinities, huge values and long
# sums are in the fixed test cases instead.
_SUM_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE, min_value=-1e6, max_value=1e6), _SKIPNA
)
_SUM_EQUAL = vp.close(rtol=1e-9, atol=1e-5)
_MEAN_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE), _spec.sampled_from([1, 0, 2, 5])
)
_MIN_CHUNK = 1 << 16

# auto=False: the reference is a pandas call, which Numba cannot compile; trying costs a
# failed compilation per kind of input. chunkable is False: a running total depends on
# every value before it, so a slice of the data is not a valid input on its own.
_STAGE: dict[str, Any] = {"chunkable": False, "auto": False}


# -- kernels: plain loops writing into ``out`` ----------------------------------------------


@numba.njit(nogil=True, cache=True, inline="always")
def _chunk(n):
    """Chunk length for the parallel variants: at most 64 chunks, none under 64K."""
    return max(_MIN_CHUNK, (n + 63) // 64)


@numba.njit(nogil=True, cache=True, inline="always")
def _kahan_add(s, c, v):
    """``s + v`` with Kahan compensation ``c``; plain addition once ``s`` is not finite."""
    y = v - c
    t = s + y
    c = (t - s) - y if np.isfinite(t) else 0.0
    return t, c


@numba.njit(nogil=True, cache=True)
def _cumsum_core(x, lo, hi, out, skipna, s, c, write):
    for i in range(lo, hi):
        v = x[i]
        if np.isnan(v):
            if skipna:
                s = s + 0.0  # pandas adds the 0 it puts in a NaN's place (-0.0 becomes 0.0)
                if write:
                    out[i] = np.nan
                continue
            s = np.nan
            c = 0.0
        else:
            s, c = _kahan_add(s, c, v)
        if write:
            out[i] = s
    return s, c


@numba.njit(nogil=True, cache=True)
def _cumprod_core(x, lo, hi, out, skipna, p):
    for i in range(lo, hi):
        v = x[i]
        if np.isnan(v) and skipna:
            out[i] = np.nan  # pandas multiplies by 1 here: the product is unchanged
            continue
        p = p * v
        out[i] = p
    return p


@numba.njit(nogil=True, cache=True)
def _cumext_core(x, lo, hi, out, skipna, m, is_max, write):
    # A value equal to the running extreme replaces it, as in pandas (0.0 after -0.0 gives
    # 0.0); a NaN running extreme (skipna=False) stays, since comparisons with it fail.
    for i in range(lo, hi):
        v = x[i]
        if np.isnan(v):
            if skipna:
                if write:
                    out[i] = np.nan
                continue
            m = np.nan
        elif (v >= m) if is_max else (v <= m):
            m = v
        if write:
            out[i] = m
    return m


# -- stages: the pandas call as reference, Numba variants beside it -------------------------


@vp.stage(name="cumsum", inputs=_SUM_INPUTS, equal=_SUM_EQUAL, **_STAGE)
def cumsum_stage(x, skipna=True):
    """``pd.Series(x).cumsum(skipna=skipna)`` as an array."""
    return pd.Series(x).cumsum(skipna=skipna).to_numpy()


@cumsum_stage.variant("numba")
def _cumsum_numba(x, skipna=True):
    out = _alloc.empty(x.shape[0])
    _cumsum_core(x, 0, x.shape[0], out, skipna, -0.0, 0.0, True)
    return out


@cumsum_stage.variant("numba", parallel=True)
def _cumsum_parallel(x, skipna=True):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n)
    chunks = (n + size - 1) // size
    sums = np.empty(chunks)
    comps = np.empty(chunks)
    for k in numba.prange(chunks):
        lo = k * size
        sums[k], comps[k] = _cumsum_core(x, lo, min(n, lo + size), out, skipna, -0.0, 0.0, False)
    if not np.isfinite(sums).all():
        # A chunk's own sum overflowed or met an infinity or NaN: from its total alone, an
        # overflow cannot be told from an infinity (inf + -inf is NaN for one, not for
        # the other), so the carries would be wrong; one pass instead.
        _cumsum_core(x, 0, n, out, skipna, -0.0, 0.0, True)
        return out
    s = -0.0
    c = 0.0
    for k in range(chunks):  # carries: sums[k] becomes the total before chunk k
        total = sums[k]
        comp = comps[k]
        sums[k] = s
        comps[k] = c
        s, c = _kahan_add(s, c, total)
        if np.isfinite(s) and comp != 0.0:
            s, c = _kahan_add(s, c, -comp)
    for k in numba.prange(chunks):
        lo = k * size
        _cumsum_core(x, lo, min(n, lo + size), out, skipna, sums[k], comps[k], True)
    return out


@vp.stage(name="cumprod", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def cumprod_stage(x, skipna=True):
    """``pd.Series(x).cumprod(skipna=skipna)`` as an array."""
    return pd.Series(x).cumprod(skipna=skipna).to_numpy()


@cumprod_stage.variant("numba")
def _cumprod_numba(x, skipna=True):
    out = _alloc.empty(x.shape[0])
    _cumprod_core(x, 0, x.shape[0], out, skipna, 1.0)
    return out


@numba.njit(nogil=True, cache=True)
def _cumext_carry(ext, start, is_max):
    """Turn each chunk's extreme into the extreme of the chunks before it (in place)."""
    m = start
    for k in range(ext.shape[0]):
        e = ext[k]
        ext[k] = m
        if np.isnan(e):
            m = np.nan
        elif (e >= m) if is_max else (e <= m):
            m = e


@vp.stage(name="cummin", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def cummin_stage(x, skipna=True):
    """``pd.Series(x).cummin(skipna=skipna)`` as an array."""
    return pd.Series(x).cummin(skipna=skipna).to_numpy()


@cummin_stage.variant("numba")
def _cummin_numba(x, skipna=True):
    out = _alloc.empty(x.shape[0])
    _cumext_core(x, 0, x.shape[0], out, skipna, np.inf, False, True)
    return out


@cummin_stage.variant("numba", parallel=True)
def _cummin_parallel(x, skipna=True):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n)
    chunks = (n + size - 1) // size
    ext = np.empty(chunks)
    for k in numba.prange(chunks):
        lo = k * size
        ext[k] = _cumext_core(x, lo, min(n, lo + size), out, skipna, np.inf, False, False)
    _cumext_carry(ext, np.inf, False)
    for k in numba.prange(chunks):
        lo = k * size
        _cumext_core(x, lo, min(n, lo + size), out, skipna, ext[k], False, True)
    return out


@vp.stage(name="cummax", inputs=_INPUTS, equal=vp.exact(), **_STAGE)
def cummax_stage(x, skipna=True):
    """``pd.Series(x).cummax(skipna=skipna)`` as an array."""
    return pd.Series(x).cummax(skipna=skipna).to_numpy()


@cummax_stage.variant("numba")
def _cummax_numba(x, skipna=True):
    out = _alloc.empty(x.shape[0])
    _cumext_core(x, 0, x.shape[0], out, skipna, -np.inf, True, True)
    return out


@cummax_stage.variant("numba", parallel=True)
def _cummax_parallel(x, skipna=True):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n)
    chunks = (n + size - 1) // size
    ext = np.empty(chunks)
    for k in numba.prange(chunks):
        lo = k * size
        ext[k] = _cumext_core(x, lo, min(n, lo + size), out, skipna, -np.inf, True, False)
    _cumext_carry(ext, -np.inf, True)
    for k in numba.prange(chunks):
        lo = k * size
        _cumext_core(x, lo, min(n, lo + size), out, skipna, ext[k], True, True)
    return out


@vp.stage(name="expanding_mean", inputs=_MEAN_INPUTS, **_STAGE)
def expanding_mean_stage(x, min_periods=1):
    """``pd.Series(x).expanding(min_periods).mean()`` as an array."""
    return pd.Series(x).expanding(min_periods).mean().to_numpy()


@expanding_mean_stage.variant("numba")
def _expanding_mean_numba(x, min_periods=1):
    # An expanding window is a rolling window as long as the data: pandas' running mean
    # (Kahan, exact results for constant runs) with nothing ever leaving it.
    n = x.shape[0]
    out = _alloc.empty(n)
    _sum_core(x, max(n, 1), min_periods, 0, n, out, True)
    return out


STAGES: dict[str, vp.Stage] = {
    s.name: s for s in (cumsum_stage, cumprod_stage, cummin_stage, cummax_stage)
} | {"expanding_mean": expanding_mean_stage}


# -- public functions -----------------------------------------------------------------------


def _run(func: str, x: Any, skipna: object, axis: object) -> Any:
    sk = _core.check_bool(func, "skipna", skipna)
    ax = _core.check_axis(func, axis)
    return _core.apply_along(func, STAGES[func], x, ax, (sk,))


def cumsum(x: Any, *, skipna: bool = True, axis: int = 0) -> Any:
    """Running sum, as ``Series.cumsum(skipna=skipna)``.

    Compensated (Kahan) summation: long sums do not drift, so results may differ from
    pandas' plain running sum in the last bits (more where large values cancel).

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA becomes
        NaN). 2-D arrays and DataFrames go along ``axis``.
    skipna : bool, default True
        True: a NaN gives NaN in its row and the sum carries on past it. False: every
        row from the first NaN on is NaN.
    axis : {0, 1}, default 0
        For 2-D input: 0 runs down each column, 1 along each row.

    Returns
    -------
    ndarray, Series or DataFrame
        Float64, of ``x``'s type and shape (a Series keeps its index and name).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.cumulative import cumsum
    >>> cumsum(np.array([1.0, 2.0, np.nan, 4.0]))
    array([ 1.,  3., nan,  7.])
    >>> cumsum(np.array([1.0, 2.0, np.nan, 4.0]), skipna=False)
    array([ 1.,  3., nan, nan])
    """
    return _run("cumsum", x, skipna, axis)


def cumprod(x: Any, *, skipna: bool = True, axis: int = 0) -> Any:
    """Running product, as ``Series.cumprod(skipna=skipna)``.

    Parameters are those of :func:`cumsum`.

    Examples
    --------
    >>> import pandas as pd
    >>> from vecpipe.kernels.cumulative import cumprod
    >>> cumprod(pd.Series([1.0, 2.0, None, 3.0], name="a")).tolist()
    [1.0, 2.0, nan, 6.0]
    """
    return _run("cumprod", x, skipna, axis)


def cummin(x: Any, *, skipna: bool = True, axis: int = 0) -> Any:
    """Running minimum, as ``Series.cummin(skipna=skipna)``.

    Parameters are those of :func:`cumsum`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.cumulative import cummin
    >>> cummin(np.array([3.0, 1.0, np.nan, 2.0, 0.0]))
    array([ 3.,  1., nan,  1.,  0.])
    """
    return _run("cummin", x, skipna, axis)


def cummax(x: Any, *, skipna: bool = True, axis: int = 0) -> Any:
    """Running maximum, as ``Series.cummax(skipna=skipna)``.

    Parameters are those of :func:`cumsum`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.cumulative import cummax
    >>> cummax(np.array([[1.0, 5.0], [3.0, 2.0]]), axis=1)
    array([[1., 5.],
           [3., 3.]])
    """
    return _run("cummax", x, skipna, axis)


def expanding_mean(x: Any, *, min_periods: int = 1, axis: int = 0) -> Any:
    """Mean of all values so far, as ``Series.expanding(min_periods).mean()``.

    Parameters
    ----------
    x : array, Series or DataFrame
        As for :func:`cumsum`; as in pandas' windows, infinities count as missing.
    min_periods : int, default 1
        The fewest non-missing values needed for a result (an int >= 0); fewer give NaN.
    axis : {0, 1}, default 0
        For 2-D input: 0 runs down each column, 1 along each row.

    Returns
    -------
    ndarray, Series or DataFrame
        Float64, of ``x``'s type and shape (a Series keeps its index and name).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.cumulative import expanding_mean
    >>> expanding_mean(np.array([1.0, np.nan, 3.0, 8.0]), min_periods=2)
    array([nan, nan,  2.,  4.])
    """
    func = "expanding_mean"
    mp = _core.check_nonnegative_int(func, "min_periods", min_periods)
    ax = _core.check_axis(func, axis)
    return _core.apply_along(func, STAGES[func], x, ax, (mp,), _fit_periods)


def _fit_periods(n: int, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """More than ``n + 1`` periods as ``n + 1``: never met either, and within int64 (see
    :func:`vecpipe.kernels._core.fit_window`)."""
    return args if args[0] <= n + 1 else (n + 1,)


def _pandas_cum(op: str) -> Any:
    def expression(s: Any, **kwargs: Any) -> Any:
        return getattr(s, f"cum{op}")(**kwargs)

    expression.__name__ = f"pandas_cum{op}"
    return expression


def _pandas_expanding_mean(s: Any, min_periods: int = 1) -> Any:
    return s.expanding(min_periods).mean()


_core.register(
    *(
        _core.KernelSpec(
            name=f"cum{op}",
            family="cumulative",
            function=globals()[f"cum{op}"],
            stage=STAGES[f"cum{op}"],
            pandas=_pandas_cum(op),
            kwargs={"skipna": True},
        )
        for op in ("sum", "prod", "min", "max")
    ),
    _core.KernelSpec(
        name="expanding_mean",
        family="cumulative",
        function=expanding_mean,
        stage=expanding_mean_stage,
        pandas=_pandas_expanding_mean,
        kwargs={"min_periods": 1},
    ),
)
