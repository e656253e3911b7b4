"""Exponentially weighted kernels: ewm mean, var and std, as pandas.

Each function equals ``pd.Series(x).ewm(...).<op>()``. Its stage's reference is that
pandas call on a 1-D float64 array with the decay given as ``com`` (the public functions
turn ``span``, ``halflife`` and ``alpha`` into ``com`` exactly as pandas does); the Numba
variants mirror pandas' recurrences (``ewm`` and ``ewmcov`` in
``pandas/_libs/window/aggregations.pyx``): the mean is a running weighted average that
keeps a constant run exact (with the weights' shares computed off the dependency chain,
so it equals pandas' to a few ulps of the series' magnitude, not bit for bit), the
variance a weighted running covariance of ``x`` with itself with the bias correction
from the sums of weights and squared weights. As in pandas, infinities count as missing
and ``min_periods`` counts at least 1.

The recurrences are sequential, but they forget: a value ``k`` observations back weighs
at most ``(1 - alpha)**k`` of the mean. The mean's parallel variant runs chunks in ``prange``,
each from a cold start enough observations back (``_memory``: the left-out history's
weight under 2**-64), and gives the serial variant's result to within that (bit for bit
on 10^7 normal values). Where a chunk finds no such start within the chunk before it
(sparse data) or a value could overflow pandas' products, it runs serially. Var and std
have one serial variant each; 2-D input runs lane by lane.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _alloc, _core

__all__ = ["STAGES", "ewm_mean", "ewm_std", "ewm_var"]

_MAX_SIZE = 60
_COMS = [0.0, 0.5, 1.0, 2.5, 9.0]
_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE),
    _spec.sampled_from(_COMS),
    _spec.sampled_from([True, False]),
    _spec.sampled_from([False, True]),
    _spec.sampled_from([0, 1, 3]),
)
# Var and std: values bounded, as for the rolling variance (pandas' rounding residue on
# runs that turn constant scales with max(x)**2).
_VAR_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE, min_value=-1e3, max_value=1e3),
    _spec.sampled_from(_COMS),
    _spec.sampled_from([True, False]),
    _spec.sampled_from([False, True]),
    _spec.sampled_from([0, 1, 3]),
    _spec.sampled_from([False, True]),
)
_VAR_EQUAL = vp.close(rtol=1e-6, atol=1e-6)
# The parallel mean's chunks: at least this long (and 8x the decay's memory).
_MIN_CHUNK = 1 << 16


def _mean_equal(expected: np.ndarray, actual: np.ndarray) -> None:
    """The ewm mean's policy: NaN where pandas has NaN, and values within ``rtol=1e-9``
    or 64 ulps of the series' largest magnitude. Every mean is a weighted average of
    values up to that magnitude, and pandas' own rounding errors are of that size too:
    where values of opposite signs cancel to near 0, a relative tolerance alone would
    compare rounding noise."""
    if expected.shape != actual.shape or actual.dtype != expected.dtype:
        msg = f"expected {expected.dtype}{expected.shape}, got {actual.dtype}{actual.shape}"
        raise AssertionError(msg)
    finite = np.isfinite(expected)
    scale = float(np.max(np.abs(expected[finite]))) if finite.any() else 0.0
    np.testing.assert_allclose(
        actual, expected, rtol=1e-9, atol=1e-12 + 64 * np.finfo(np.float64).eps * scale
    )


# auto=False: the reference is a pandas call, which Numba cannot compile.
_STAGE: dict[str, Any] = {"chunkable": False, "auto": False}


# -- kernels: plain loops writing into ``out`` ----------------------------------------------


@numba.njit(nogil=True, cache=True)
def _mean_loop(x, start, lo, hi, com, adjust, ignore_na, minp, out, fast, limit):
    """pandas' ewma recurrence from a cold start at ``start`` (an observation, or the
    series' first value), writing ``out[lo:hi]``. ``fast``: pandas' ``(old * weighted +
    new * cur) / (old + new)`` as ``weighted * keep + cur * take``, the weights' shares
    computed off the dependency chain (division sat in it: 1.5x faster; within a few ulps,
    see ``_mean_equal``); returns False, leaving ``out`` to be redone, on meeting a value
    beyond ``limit``, where pandas' products can overflow and the shares' cannot."""
    minp = max(minp, 1)
    alpha = 1.0 / (1.0 + com)
    old_wt_factor = 1.0 - alpha
    new_wt = 1.0 if adjust else alpha
    weighted = x[start] if np.isfinite(x[start]) else np.nan
    nobs = 0 if np.isnan(weighted) else 1
    if start >= lo:
        out[start] = weighted if nobs >= minp else np.nan
    old_wt = 1.0
    big = abs(x[start]) > limit
    for i in range(start + 1, hi):
        cur = x[i]
        big |= abs(cur) > limit  # no branch: a test here cost the loop a third
        is_obs = np.isfinite(cur)  # pandas turns infinities into NaN first
        nobs += is_obs
        if not np.isnan(weighted):
            if is_obs or not ignore_na:
                old_wt *= old_wt_factor
                if not adjust and com == 1.0:
                    # pandas' own quirk, mirrored: its kernel uses com == 1 to mean "irregular
                    # times" and then gives the new value the weight the old ones lost.
                    new_wt = 1.0 - old_wt
                if is_obs:
                    if weighted != cur:  # a constant run stays exact, as in pandas
                        if fast:
                            inv = 1.0 / (old_wt + new_wt)
                            weighted = weighted * (old_wt * inv) + cur * (new_wt * inv)
                        else:
                            weighted = (old_wt * weighted + new_wt * cur) / (old_wt + new_wt)
                    if adjust:
                        old_wt += new_wt
                    else:
                        old_wt = 1.0
        elif is_obs:
            weighted = cur
        if i >= lo:
            out[i] = weighted if nobs >= minp else np.nan
    return not (fast and big)


@numba.njit(nogil=True, cache=True, inline="always")
def _limit(com, adjust):
    # The old values' weight grows to 1 + com (adjust) or stays 1: below this limit,
    # pandas' products cannot overflow either, and the fast form agrees with them.
    return 1e307 / (1.0 + com) if adjust else 1e307


@numba.njit(nogil=True, cache=True)
def _mean_core(x, com, adjust, ignore_na, minp, out):
    n = x.shape[0]
    if n == 0:
        return
    limit = _limit(com, adjust)
    # The fast form, then the exact one if a value could overflow. The flags and starts
    # are typed values, not literals: every call of ``_mean_loop``, here and in the
    # parallel variant, then has one signature (a literal compiles a copy of its own).
    zero = np.int64(0)
    if not _mean_loop(x, zero, zero, n, com, adjust, ignore_na, minp, out, np.bool_(True), limit):
        _mean_loop(x, zero, zero, n, com, adjust, ignore_na, minp, out, np.bool_(False), limit)


@numba.njit(nogil=True, cache=True)
def _memory(com):
    """Observations after which everything before them weighs less than 2**-64 of the
    mean, so that a cold start this many observations back gives the mean to far below
    its rounding. Each observation keeps at most ``1 - alpha`` of the history's share
    (the old weights are at most ``1 / alpha`` against the new value's 1, or ``1 - alpha``
    against ``alpha`` with ``adjust=False``; missing values between observations only
    shrink them); the count uses the looser ``1 / (1 + alpha)`` per observation, a margin
    on top (466 observations for ``alpha=0.1`` where 421 would do). A decay so slow that
    the count would not fit an int64 (``com`` above about 1e17; infinite from a huge
    halflife, where ``alpha`` is 0) counts 2**40: chunks of 8x that, so one chunk, the
    serial loop."""
    alpha = 1.0 / (1.0 + com)
    if alpha <= 0.0:
        return 1 << 40
    return int(np.ceil(min(64.0 * np.log(2.0) / np.log1p(alpha), 2.0**40)))


@numba.njit(nogil=True, cache=True)
def _cold_starts(x, size, steps, minp):
    """Where chunk ``k`` (rows ``[k * size, (k + 1) * size)``) starts its cold run.

    The mean changes only at observations, so it is the last observation before the chunk
    that must have forgotten the history a cold start leaves out: the start is the
    observation with ``steps`` more observations after it before the chunk (and at least
    ``minp`` in all). It is looked for within the chunk before; the result is empty when
    some chunk has none there (sparse data: fewer than ``steps`` observations in a chunk),
    and the caller runs serially.
    """
    n = x.shape[0]
    chunks = (n + size - 1) // size
    starts = np.zeros(chunks, dtype=np.int64)
    need = max(steps + 1, minp)
    for k in range(1, chunks):
        s = k * size
        found = -1
        seen = 0  # observations in [i, s)
        for i in range(s - 1, s - size - 1, -1):
            if np.isfinite(x[i]):
                seen += 1
                if seen >= need:
                    found = i
                    break
        if found < 0:
            return starts[:0]
        starts[k] = found
    return starts


@numba.njit(nogil=True, cache=True)
def _var_core(x, com, adjust, ignore_na, minp, bias, root, out):
    n = x.shape[0]
    if n == 0:
        return
    minp = max(minp, 1)
    alpha = 1.0 / (1.0 + com)
    old_wt_factor = 1.0 - alpha
    new_wt = 1.0 if adjust else alpha
    mean_x = x[0] if np.isfinite(x[0]) else np.nan
    nobs = 0 if np.isnan(mean_x) else 1
    first = (0.0 if bias else np.nan) if nobs >= minp else np.nan
    out[0] = first
    cov = 0.0
    sum_wt = 1.0
    sum_wt2 = 1.0
    old_wt = 1.0
    for i in range(1, n):
        cur = x[i]
        is_obs = np.isfinite(cur)  # pandas turns infinities into NaN first
        nobs += is_obs
        if not np.isnan(mean_x):
            if is_obs or not ignore_na:
                sum_wt *= old_wt_factor
                sum_wt2 *= old_wt_factor * old_wt_factor
                old_wt *= old_wt_factor
                if is_obs:
                    old_mean = mean_x
                    if mean_x != cur:
                        mean_x = (old_wt * old_mean + new_wt * cur) / (old_wt + new_wt)
                    d_old = old_mean - mean_x
                    d_new = cur - mean_x
                    cov = (old_wt * (cov + d_old * d_old) + new_wt * (d_new * d_new)) / (
                        old_wt + new_wt
                    )
                    sum_wt += new_wt
                    sum_wt2 += new_wt * new_wt
                    old_wt += new_wt
                    if not adjust:
                        sum_wt /= old_wt
                        sum_wt2 /= old_wt * old_wt
                        old_wt = 1.0
        elif is_obs:
            mean_x = cur
        if nobs >= minp:
            if bias:
                result = cov
            else:
                numerator = sum_wt * sum_wt
                denominator = numerator - sum_wt2
                result = numerator / denominator * cov if denominator > 0 else np.nan
            if root:  # pandas' zsqrt: a (rounding) negative variance has deviation 0
                result = 0.0 if result < 0 else np.sqrt(result)
        else:
            result = np.nan
        out[i] = result


# -- stages: the pandas call as reference, Numba variants beside it -------------------------


def _ewm(x: np.ndarray, com: float, adjust: bool, ignore_na: bool, min_periods: int) -> Any:
    return pd.Series(x).ewm(com=com, adjust=adjust, ignore_na=ignore_na, min_periods=min_periods)


@vp.stage(name="ewm_mean", inputs=_INPUTS, equal=_mean_equal, **_STAGE)
def ewm_mean_stage(x, com, adjust=True, ignore_na=False, min_periods=0):
    """``pd.Series(x).ewm(com=com, ...).mean()`` as an array."""
    return _ewm(x, com, adjust, ignore_na, min_periods).mean().to_numpy()


@ewm_mean_stage.variant("numba")
def _ewm_mean_numba(x, com, adjust=True, ignore_na=False, min_periods=0):
    out = _alloc.empty(x.shape[0])
    _mean_core(x, com, adjust, ignore_na, min_periods, out)
    return out


@ewm_mean_stage.variant("numba", parallel=True)
def _ewm_mean_parallel(x, com, adjust=True, ignore_na=False, min_periods=0):
    # Chunks in prange, each from a cold start far enough back (``_memory``) that the
    # history it leaves out weighs under 2**-64: the recurrence forgets, so it splits.
    n = x.shape[0]
    out = _alloc.empty(n)
    steps = _memory(com)
    size = max(_MIN_CHUNK, 8 * steps, (n + 63) // 64)
    starts = _cold_starts(x, size, steps, max(min_periods, 1))
    if starts.shape[0] <= 1:
        _mean_core(x, com, adjust, ignore_na, min_periods, out)
        return out
    limit = _limit(com, adjust)
    fast = np.ones(starts.shape[0], dtype=np.bool_)  # each chunk tries the fast form
    for k in numba.prange(starts.shape[0]):
        lo = k * size
        hi = min(n, lo + size)
        fast[k] = _mean_loop(
            x, starts[k], lo, hi, com, adjust, ignore_na, min_periods, out, fast[k], limit
        )
    done = fast.all()
    if not done:  # ``done`` is False: the exact form over the whole series
        zero = np.int64(0)
        _mean_loop(x, zero, zero, n, com, adjust, ignore_na, min_periods, out, done, limit)
    return out


@vp.stage(name="ewm_var", inputs=_VAR_INPUTS, equal=_VAR_EQUAL, **_STAGE)
def ewm_var_stage(x, com, adjust=True, ignore_na=False, min_periods=0, bias=False):
    """``pd.Series(x).ewm(com=com, ...).var(bias=bias)`` as an array."""
    return _ewm(x, com, adjust, ignore_na, min_periods).var(bias=bias).to_numpy()


@ewm_var_stage.variant("numba")
def _ewm_var_numba(x, com, adjust=True, ignore_na=False, min_periods=0, bias=False):
    out = _alloc.empty(x.shape[0])
    _var_core(x, com, adjust, ignore_na, min_periods, bias, False, out)
    return out


@vp.stage(name="ewm_std", inputs=_VAR_INPUTS, equal=_VAR_EQUAL, **_STAGE)
def ewm_std_stage(x, com, adjust=True, ignore_na=False, min_periods=0, bias=False):
    """``pd.Series(x).ewm(com=com, ...).std(bias=bias)`` as an array."""
    return _ewm(x, com, adjust, ignore_na, min_periods).std(bias=bias).to_numpy()


@ewm_std_stage.variant("numba")
def _ewm_std_numba(x, com, adjust=True, ignore_na=False, min_periods=0, bias=False):
    out = _alloc.empty(x.shape[0])
    _var_core(x, com, adjust, ignore_na, min_periods, bias, True, out)
    return out


STAGES: dict[str, vp.Stage] = {s.name: s for s in (ewm_mean_stage, ewm_var_stage, ewm_std_stage)}


# -- public functions -----------------------------------------------------------------------


def _is_real(value: object) -> bool:
    if type(value) is float or type(value) is int:  # the common case: the ABC check is slow
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def center_of_mass(func: str, com: object, span: object, halflife: object, alpha: object) -> float:
    """The ``com`` pandas derives from exactly one of com, span, halflife and alpha."""
    if (com is None) + (span is None) + (halflife is None) + (alpha is None) != 3:
        given = (("com", com), ("span", span), ("halflife", halflife), ("alpha", alpha))
        names = (
            ", ".join(f"{k}={_core.excerpt(v)}" for k, v in given if v is not None)
            or "none of them"
        )
        msg = (
            f"vecpipe.kernels.{func}: got {names}; com, span, halflife and alpha are mutually "
            "exclusive and one is required: pass exactly one, such as com=0.5"
        )
        raise vp.InvalidArgument(msg)
    name, value = (
        ("com", com)
        if com is not None
        else ("alpha", alpha)
        if alpha is not None
        else ("span", span)
        if span is not None
        else ("halflife", halflife)
    )
    try:  # an int beyond float's range (10**400) overflows here
        v = float(value) if _is_real(value) else math.nan  # type: ignore[arg-type]
    except OverflowError:
        v = math.nan
    if not math.isfinite(v):
        _core.reject(func, name, value, "is not a finite real number; pass a float")
    if name == "com":
        if v < 0:
            _core.reject(func, name, value, "must satisfy com >= 0")
        return v
    if name == "span":
        if v < 1:
            _core.reject(func, name, value, "must satisfy span >= 1")
        return (v - 1) / 2
    if name == "halflife":
        if v <= 0:
            _core.reject(func, name, value, "must satisfy halflife > 0")
        decay = 1 - np.exp(np.log(0.5) / v)
        with np.errstate(divide="ignore"):  # a huge halflife: decay 0, com inf, as pandas
            return float(1 / decay - 1)
    if not 0 < v <= 1:
        _core.reject(func, name, value, "must satisfy 0 < alpha <= 1")
    return (1 - v) / v


def _run(func: str, x: Any, decay: tuple[Any, ...], options: dict[str, Any], *extra: Any) -> Any:
    com = center_of_mass(func, *decay)
    adjust = _core.check_bool(func, "adjust", options["adjust"])
    ignore_na = _core.check_bool(func, "ignore_na", options["ignore_na"])
    minp = _core.check_nonnegative_int(func, "min_periods", options["min_periods"])
    ax = _core.check_axis(func, options["axis"])
    args = (com, adjust, ignore_na, minp, *extra)
    return _core.apply_along(func, STAGES[func], x, ax, args, _fit_periods)


def _fit_periods(n: int, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``min_periods`` above ``n + 1`` as ``n + 1``: never met either, and within int64
    (see :func:`vecpipe.kernels._core.fit_window`)."""
    if args[3] <= n + 1:
        return args
    return (*args[:3], n + 1, *args[4:])


def ewm_mean(
    x: Any,
    *,
    com: float | None = None,
    span: float | None = None,
    halflife: float | None = None,
    alpha: float | None = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: int = 0,
    axis: int = 0,
) -> Any:
    """Exponentially weighted mean, as ``Series.ewm(...).mean()``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; NaN, pd.NA
        and infinities are missing). 2-D arrays and DataFrames go along ``axis``.
    com, span, halflife, alpha : float, optional
        The decay, exactly one of them, as in pandas: ``alpha = 1 / (1 + com)``,
        ``com = (span - 1) / 2``, ``alpha = 1 - exp(-ln 2 / halflife)``; ``com >= 0``,
        ``span >= 1``, ``halflife > 0``, ``0 < alpha <= 1``.
    adjust : bool, default True
        Divide by the decaying sum of weights (True) or use the recursive form (False).
    ignore_na : bool, default False
        Whether missing values leave the weights unchanged (True) or decay them (False).
    min_periods : int, default 0
        The fewest non-missing values seen so far for a result (at least 1 counts).
    axis : {0, 1}, default 0
        For 2-D input: 0 runs down each column, 1 along each row.

    Returns
    -------
    ndarray, Series or DataFrame
        Float64, of ``x``'s type and shape (a Series keeps its index and name).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.ewm import ewm_mean
    >>> ewm_mean(np.array([1.0, 2.0, np.nan, 4.0]), alpha=0.5)
    array([1.        , 1.66666667, 1.66666667, 3.36363636])
    """
    options = {"adjust": adjust, "ignore_na": ignore_na, "min_periods": min_periods, "axis": axis}
    return _run("ewm_mean", x, (com, span, halflife, alpha), options)


def ewm_var(
    x: Any,
    *,
    com: float | None = None,
    span: float | None = None,
    halflife: float | None = None,
    alpha: float | None = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: int = 0,
    bias: bool = False,
    axis: int = 0,
) -> Any:
    """Exponentially weighted variance, as ``Series.ewm(...).var(bias=bias)``.

    Parameters are those of :func:`ewm_mean`, and ``bias`` (bool, default False): False
    corrects for the weights' bias (as pandas), True gives the plain weighted variance.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.ewm import ewm_var
    >>> ewm_var(np.array([1.0, 2.0, 4.0]), com=1.0)
    array([nan, 0.5, 2.5])
    """
    bi = _core.check_bool("ewm_var", "bias", bias)
    options = {"adjust": adjust, "ignore_na": ignore_na, "min_periods": min_periods, "axis": axis}
    return _run("ewm_var", x, (com, span, halflife, alpha), options, bi)


def ewm_std(
    x: Any,
    *,
    com: float | None = None,
    span: float | None = None,
    halflife: float | None = None,
    alpha: float | None = None,
    adjust: bool = True,
    ignore_na: bool = False,
    min_periods: int = 0,
    bias: bool = False,
    axis: int = 0,
) -> Any:
    """Exponentially weighted standard deviation, as ``Series.ewm(...).std(bias=bias)``.

    Parameters are those of :func:`ewm_var`.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.ewm import ewm_std
    >>> ewm_std(np.array([1.0, 3.0]), span=3, bias=True)
    array([0.        , 0.94280904])
    """
    bi = _core.check_bool("ewm_std", "bias", bias)
    options = {"adjust": adjust, "ignore_na": ignore_na, "min_periods": min_periods, "axis": axis}
    return _run("ewm_std", x, (com, span, halflife, alpha), options, bi)


def _pandas(op: str) -> Any:
    def expression(s: Any, **kwargs: Any) -> Any:
        extra = {"bias": kwargs.pop("bias")} if "bias" in kwargs else {}
        kwargs.pop("axis", None)
        return getattr(s.ewm(**kwargs), op)(**extra)

    expression.__name__ = f"pandas_ewm_{op}"
    return expression


_core.register(
    *(
        _core.KernelSpec(
            name=f"ewm_{op}",
            family="ewm",
            function=globals()[f"ewm_{op}"],
            stage=STAGES[f"ewm_{op}"],
            pandas=_pandas(op),
            kwargs={"com": 9.5},
        )
        for op in ("mean", "var", "std")
    )
)
