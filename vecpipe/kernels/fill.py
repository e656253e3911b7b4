"""Fill kernels: forward and backward fill of NaNs, as pandas.

``ffill`` and ``bfill`` equal ``pd.Series(x).ffill(limit=limit)`` and ``.bfill(...)``: a
NaN takes the last (next) non-NaN value, if one is at most ``limit`` rows away (any
distance when ``limit`` is None). Infinities are values and are not filled.

Each kernel is one ``_*_core(x, lo, hi, out, limit, src)`` loop over ``x[lo:hi]`` that
starts from ``src``, the index of the value to copy (-1 for none). The serial variants
run it once; the parallel variants are two-pass scans: each chunk's last (first)
non-NaN index in ``prange``, a serial scan that carries them across chunks, then each
chunk again from its carry. Values are copied, never computed: the comparison is exact.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.kernels import _alloc, _core

__all__ = ["STAGES", "bfill", "ffill"]

_MAX_SIZE = 60
_INPUTS = _spec.Spec(
    _spec.array("float64", max_size=_MAX_SIZE), _spec.sampled_from([None, 1, 2, 5])
)
_MIN_CHUNK = 1 << 16

# auto=False: the reference is a pandas call, which Numba cannot compile. chunkable is
# False: a fill may reach across any boundary, so a slice is not a valid input alone.
_STAGE: dict[str, Any] = {"chunkable": False, "auto": False, "equal": vp.exact()}


# -- kernels: plain loops writing into ``out`` ----------------------------------------------


@numba.njit(nogil=True, cache=True, inline="always")
def _chunk(n):
    """Chunk length for the parallel variants: at most 64 chunks, none under 64K."""
    return max(_MIN_CHUNK, (n + 63) // 64)


@numba.njit(nogil=True, cache=True, inline="always")
def _reach(n, limit):
    return n if limit is None else limit


@numba.njit(nogil=True, cache=True)
def _ffill_core(x, lo, hi, out, limit, src):
    for i in range(lo, hi):
        v = x[i]
        if not np.isnan(v):
            src = i
            out[i] = v
        elif src >= 0 and i - src <= limit:
            out[i] = x[src]
        else:
            out[i] = np.nan


@numba.njit(nogil=True, cache=True)
def _bfill_core(x, lo, hi, out, limit, src):
    for i in range(hi - 1, lo - 1, -1):
        v = x[i]
        if not np.isnan(v):
            src = i
            out[i] = v
        elif src >= 0 and src - i <= limit:
            out[i] = x[src]
        else:
            out[i] = np.nan


@numba.njit(nogil=True, cache=True)
def _last_valid(x, lo, hi):
    for i in range(hi - 1, lo - 1, -1):
        if not np.isnan(x[i]):
            return i
    return -1


@numba.njit(nogil=True, cache=True)
def _first_valid(x, lo, hi):
    for i in range(lo, hi):
        if not np.isnan(x[i]):
            return i
    return -1


# -- stages: the pandas call as reference, Numba variants beside it -------------------------


@vp.stage(name="ffill", inputs=_INPUTS, **_STAGE)
def ffill_stage(x, limit=None):
    """``pd.Series(x).ffill(limit=limit)`` as an array."""
    return pd.Series(x).ffill(limit=limit).to_numpy()


@ffill_stage.variant("numba")
def _ffill_numba(x, limit=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    _ffill_core(x, 0, n, out, _reach(n, limit), -1)
    return out


@ffill_stage.variant("numba", parallel=True)
def _ffill_parallel(x, limit=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n)
    chunks = (n + size - 1) // size
    src = np.empty(chunks, dtype=np.int64)
    for k in numba.prange(chunks):
        src[k] = _last_valid(x, k * size, min(n, k * size + size))
    carry = -1
    for k in range(chunks):  # src[k] becomes the last non-NaN index before chunk k
        last = src[k]
        src[k] = carry
        if last >= 0:
            carry = last
    for k in numba.prange(chunks):
        _ffill_core(x, k * size, min(n, k * size + size), out, _reach(n, limit), src[k])
    return out


@vp.stage(name="bfill", inputs=_INPUTS, **_STAGE)
def bfill_stage(x, limit=None):
    """``pd.Series(x).bfill(limit=limit)`` as an array."""
    return pd.Series(x).bfill(limit=limit).to_numpy()


@bfill_stage.variant("numba")
def _bfill_numba(x, limit=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    _bfill_core(x, 0, n, out, _reach(n, limit), -1)
    return out


@bfill_stage.variant("numba", parallel=True)
def _bfill_parallel(x, limit=None):
    n = x.shape[0]
    out = _alloc.empty(n)
    size = _chunk(n)
    chunks = (n + size - 1) // size
    src = np.empty(chunks, dtype=np.int64)
    for k in numba.prange(chunks):
        src[k] = _first_valid(x, k * size, min(n, k * size + size))
    carry = -1
    for k in range(chunks - 1, -1, -1):  # src[k] becomes the first non-NaN index after k
        first = src[k]
        src[k] = carry
        if first >= 0:
            carry = first
    for k in numba.prange(chunks):
        _bfill_core(x, k * size, min(n, k * size + size), out, _reach(n, limit), src[k])
    return out


STAGES: dict[str, vp.Stage] = {s.name: s for s in (ffill_stage, bfill_stage)}


# -- public functions -----------------------------------------------------------------------


def _check_limit(func: str, limit: object) -> int | None:
    """None or a positive int (pandas rejects 0: "Limit must be greater than 0")."""
    if limit is None:
        return None
    if not _core._is_int(limit) or int(limit) < 1:  # type: ignore[call-overload]
        _core.reject(func, "limit", limit, "is not a positive int; pass None or an int >= 1")
    return int(limit)  # type: ignore[call-overload]


def _run(func: str, x: Any, limit: object, axis: object) -> Any:
    lim = _check_limit(func, limit)
    ax = _core.check_axis(func, axis)
    return _core.apply_along(func, STAGES[func], x, ax, (lim,), _fit_limit)


def _fit_limit(n: int, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """A limit of ``n`` or more as ``n`` (at least 1, which pandas requires): no gap is
    longer, so the fills are the same, and the kernels' arithmetic stays within int64
    whatever the user passes (see :func:`vecpipe.kernels._core.fit_window`)."""
    limit = args[0]
    return args if limit is None or limit <= n else (max(n, 1),)


def ffill(x: Any, *, limit: int | None = None, axis: int = 0) -> Any:
    """Fill each NaN with the last non-NaN value before it, as ``Series.ffill(limit=...)``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Numeric data (integers, bools and nullable dtypes become float64; pd.NA becomes
        NaN). 2-D arrays and DataFrames go along ``axis``.
    limit : int, optional
        Fill at most this many consecutive NaNs after a value (a positive int; default:
        all of them).
    axis : {0, 1}, default 0
        For 2-D input: 0 runs down each column, 1 along each row.

    Returns
    -------
    ndarray, Series or DataFrame
        Float64, of ``x``'s type and shape (a Series keeps its index and name).

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe.kernels.fill import ffill
    >>> ffill(np.array([np.nan, 1.0, np.nan, np.nan, 4.0]))
    array([nan,  1.,  1.,  1.,  4.])
    >>> ffill(np.array([np.nan, 1.0, np.nan, np.nan, 4.0]), limit=1)
    array([nan,  1.,  1., nan,  4.])
    """
    return _run("ffill", x, limit, axis)


def bfill(x: Any, *, limit: int | None = None, axis: int = 0) -> Any:
    """Fill each NaN with the next non-NaN value after it, as ``Series.bfill(limit=...)``.

    Parameters are those of :func:`ffill` (``limit`` counts NaNs before a value).

    Examples
    --------
    >>> import pandas as pd
    >>> from vecpipe.kernels.fill import bfill
    >>> bfill(pd.Series([None, None, 3.0, None], name="a"), limit=1).tolist()
    [nan, 3.0, 3.0, nan]
    """
    return _run("bfill", x, limit, axis)


def _pandas_fill(op: str) -> Any:
    def expression(s: Any, **kwargs: Any) -> Any:
        return getattr(s, op)(**kwargs)

    expression.__name__ = f"pandas_{op}"
    return expression


_core.register(
    *(
        _core.KernelSpec(
            name=op,
            family="fill",
            function=globals()[op],
            stage=STAGES[op],
            pandas=_pandas_fill(op),
            kwargs={"limit": None},
        )
        for op in ("ffill", "bfill")
    )
)
