"""The dispatcher: per kind of input, measure the variants, choose, remember, recover.

One call of a stage, end to end::

    key(args) -> route cache -- hit --> variant(args) -> check the output's form -> result
                      | miss (one thread tunes a key; the others wait for its decision)
                      v
                wisdom on disk -- every variant stored for its current source --> decision
                      | anything missing
                      v
                tiered tuning: the variants ready to run (no compiling) and one serial
                compiled variant (the size rule's first that compiles); the others are
                deferred -- or every variant, for large inputs and tuning="full"
                      v
                compile (once, for the call's types; timed, never counted as run time),
                then time the variants on private copies of the call's input -- or, for a
                large ``chunkable`` input, on growing slices, dropping variants far slower
                than the best -- comparing each output with the reference's, and each
                copy with the input (a variant that writes into it is disqualified);
                choose the fastest; store every measurement in wisdom
                      v
                deferred variants: the route counts its calls, and tunes the key fully
                once they have run as long as compiling the deferred ones would take

A variant that raises or returns a malformed result at run time is marked failed for
that key; the next best (finally the reference) answers, and one warning says so.
Wisdom may choose among variants, never make an unchecked one run: a variant chosen by a
record this installation did not write (imported, shipped to a Dask worker, edited) is
compared with the reference on its first call before its answer is used. Tuning keeps to
its budget: a variant that slows down while timed is stopped at its share (see
docs/guarantees.md for what is checked where).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from vecpipe.errors import (
    StageCallError,
    VariantDisqualifiedWarning,
    VariantFailedWarning,
    WisdomWarning,
)
from vecpipe.keys import Key, describe_key, make_key
from vecpipe.settings import _GLOBAL as _GLOBAL_SETTINGS
from vecpipe.settings import _LOCAL as _LOCAL_SETTINGS
from vecpipe.settings import Settings, get_config
from vecpipe.variant import (
    WRITES_INTO_INPUT,
    Variant,
    _first_lines,
    describe_failure,
    private_copy,
    unchanged,
)
from vecpipe.wisdom import get_wisdom

if TYPE_CHECKING:
    from vecpipe.stage import Stage

__all__ = ["Decision", "Trial"]

#: Tuning spends at most about max(BUDGET_FLOOR, BUDGET_FACTOR x the chosen variant's
#: time) running variants, compilation aside.
BUDGET_FLOOR = 0.25
BUDGET_FACTOR = 5.0
#: Chunkable inputs longer than this are timed on slices first, growing by RUNG_GROWTH,
#: up to LAST_RUNG rows: past a few million rows every variant's time grows linearly, so
#: a longer input is timed on its first LAST_RUNG rows and the choice extrapolated.
FIRST_RUNG = 1 << 14
RUNG_GROWTH = 4
LAST_RUNG = 1 << 22
#: On a slice of FIRST_RUNG rows, a variant this many times slower than the best is not
#: run on more data. The margin halves with each rung: on small slices fixed costs (a
#: parallel kernel's thread start) weigh more than they will on the whole input.
DROP_RATIO = 8.0
MIN_DROP_RATIO = 2.0
#: Repeated timings last at least this long each, so a tiny input is timed in a loop.
SAMPLE_SECONDS = 2e-4
MAX_SAMPLES = 5
#: A variant whose latest sample is this many times its best has slowed down while it
#: ran (a load burst rarely lasts through a whole sample of a variant stopped by its
#: share of the budget): its latest time, not its best, is what it costs.
SLOWDOWN = 4.0

#: Statuses a variant can have for one key.
STATUSES = (
    "chosen",
    "measured",
    "dropped",
    "compile-failed",
    "failed",
    "mismatch",
    "not-run",
    "unverified",
    "skipped",
    "deferred",
)
_ONE_THREAD = (
    "the thread budget is 1, so a parallel kernel would run serially (and some threading "
    "layers cannot launch it from several threads at once)"
)
#: The wisdom key under which vp.verify records passed verifications.
VERIFIED_KEY = "@verified"
_UNVERIFIED = "not verified for its current source, and require_verified=True; run vp.verify(stage)"
_USABLE = ("chosen", "measured", "dropped")

#: In ``estimate`` mode with nothing stored: the preferred kinds by input size, a coarse
#: rule from the measurements in docs/performance.md (NumPy's low call overhead wins on
#: small inputs, a serial kernel in the middle, a parallel kernel on large ones).
ESTIMATE_ORDER = (
    (1 << 16, ("numba", "numpy", "python", "numba_parallel")),
    (1 << 19, ("numba", "numba_parallel", "numpy", "python")),
    (None, ("numba_parallel", "numba", "numpy", "python")),
)
#: A parallel variant gives way to the fastest serial one when it is faster by less than
#: both PARALLEL_MARGIN (relative) and PARALLEL_MIN_SAVING (seconds a call): so small a
#: gain is within its thread start and the timing noise of a loaded machine, where two
#: tunings choose differently, and the parallel variant holds every core for it (cores
#: that stages running side by side in threads would use). Both must hold: the relative
#: margin keeps the serial choice within the regret benchmark's 10% goal
#: (benchmarks/regret.py), and the absolute one keeps a noisy timing of a longer input
#: (a parallel kernel measured 1.05x faster where it is 1.75x) from choosing serial.
PARALLEL_MARGIN = 1.1
PARALLEL_MIN_SAVING = 2e-6
#: Tiered tuning (``vp.config(tuning="tiered")``, the default in ``measure`` mode): an
#: input of fewer elements than FULL_TUNING_SIZE compiles, on the first call of its kind,
#: only the first serial variant in ESTIMATE_ORDER's preference that compiles; variants
#: that need no compiling (NumPy and Python ones, kernels compiled already or in Numba's
#: disk cache) are timed beside it, and the others wait ("deferred"). Once the calls of
#: that kind have run as long as compiling the deferred variants is expected to take,
#: the next call tunes fully (the ski-rental rule: waiting costs at most what compiling
#: would have). Larger inputs are tuned fully on their first call, where ESTIMATE_ORDER
#: starts to prefer a parallel kernel.
FULL_TUNING_SIZE = 1 << 19
#: The expected compile time of a deferred variant: as long as the variant compiled on
#: the first call took, and at least this (a small kernel on the 2-core development VM).
COMPILE_GUESS = 0.5
#: Interactive sessions see one line on stderr, once, when a first call waits longer than
#: this on compilation (VECPIPE_NOTICE=1 or 0 forces it on or off).
NOTICE_AFTER = 1.0
#: A parallel kernel's first calls after a pause wake its thread pool; they are run for up
#: to this long, until three calls in a row agree, before any of its calls is timed.
WARM_SECONDS = 0.05
#: A variant chosen by a wisdom record this installation did not write is compared with
#: the reference on its first call: on the first CHECK_ROWS rows of a chunkable input
#: longer than twice that, else on the whole input.
CHECK_ROWS = FIRST_RUNG


class _Verdict(NamedTuple):
    """One comparison of a variant with the reference, on (a slice of) one call's input."""

    out: Any  # the variant's output (None if it raised)
    expected: Any  # the reference's
    guard: _Guard  # the private copies of the call's arguments the runs were given
    args: tuple[Any, ...]  # the arguments compared on (those copies, or their first rows)
    whole: bool  # compared on the whole input
    problem: tuple[str, str] | None  # ("mismatch" or "failed", reason), None on a match


@dataclasses.dataclass
class Trial:
    """What is known of one variant for one key."""

    variant: str
    status: str
    seconds: float | None = None
    compile_seconds: float | None = None
    reason: str = ""
    source: str = "measured"  # "measured", "wisdom" or "estimated"
    #: False for a trial read from a wisdom record this installation did not write (see
    #: :meth:`vecpipe.wisdom.Wisdom.lookup_with_origin`): its variant is compared with the
    #: reference before its answer is used.
    checked: bool = True

    def record(self, variant: Variant, reference_hash: str, size: int) -> dict[str, Any]:
        """The JSON record stored in wisdom."""
        return {
            "status": "measured" if self.status == "chosen" else self.status,
            "seconds": self.seconds,
            "compile_seconds": self.compile_seconds,
            "reason": self.reason,
            "size": size,
            "source_hash": variant.source_hash,
            "reference_hash": reference_hash,
            "time": time.time(),
        }


@dataclasses.dataclass
class Decision:
    """For one stage and one key: what was chosen, why, and every variant's trial."""

    key: str
    how: str  # "measured", "wisdom", "estimated" or "trivial"
    chosen: str = "reference"
    reason: str = ""
    trials: dict[str, Trial] = dataclasses.field(default_factory=dict)
    tuning_seconds: float = 0.0
    size: int = 0
    #: Tiered tuning: the number of calls after which the deferred variants are tuned
    #: (None: nothing is deferred).
    promote_after: int | None = None

    def deferred(self) -> list[str]:
        """The variants not compiled yet (tiered tuning), in order."""
        return [t.variant for t in self.trials.values() if t.status == "deferred"]

    def ranking(self) -> list[str]:
        """Usable variants, best first (see :func:`_rank`)."""
        usable = [t for t in self.trials.values() if t.status in _USABLE or t.source == "estimated"]
        usable = [t for t in usable if t.status != "not-run" or t.variant == self.chosen]
        usable.sort(key=_rank)
        return [t.variant for t in usable]


def _rank(trial: Trial) -> tuple[bool, float, bool]:
    """Survivors before dropped variants (whose times are extrapolated from a small slice,
    where per-row costs are lower than on the whole input), then by time, the reference
    last among equals."""
    seconds = trial.seconds if trial.seconds is not None else np.inf
    return (trial.status == "dropped", seconds, trial.variant == "reference")


class Route:
    """What a known key runs: the function, and a cheap check of its output's form."""

    __slots__ = ("check", "fn", "name")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        check: Callable[[Any, tuple[Any, ...]], bool] | None,
    ) -> None:
        self.name = name
        self.fn = fn
        self.check = check


Check = Callable[[Any, tuple[Any, ...]], bool]


def _shape_source(out: Any, args: tuple[Any, ...]) -> int | None:
    shape = getattr(out, "shape", None)
    if shape is None:
        return None
    for i, a in enumerate(args):
        if getattr(a, "shape", None) == shape:
            return i
    return None


def _frame_dtypes(frame: pd.DataFrame) -> tuple[Any, ...]:
    """A DataFrame's column dtypes: 0.5 µs through its block manager, 30 µs by ``.dtypes``."""
    manager = getattr(frame, "_mgr", None)
    get_dtypes = getattr(manager, "get_dtypes", None)
    if get_dtypes is not None:
        return tuple(get_dtypes())
    return tuple(frame.dtypes)  # pragma: no cover - a pandas without the manager method


def _same_label(a: Any, b: Any) -> bool:
    """Equal names (``None`` included), without raising on an odd ``==``."""
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def make_check(sample: Any, args: tuple[Any, ...], *, follow_shapes: bool = True) -> Check:
    """Build a check that a later output has the form ``sample`` had for ``args``.

    The form is everything but the values (tuning compared those with the reference's):

    - arrays: the type, the exact dtype, the number of dimensions, and the shape: the
      shape of the argument whose shape it had, else the same trailing dimensions;
    - pandas Series and DataFrames: the type, the dtype(s), the length of the argument
      whose shape it had, the index (that argument's, when it had it; else the same
      kind of index), the name or the columns (the argument's, when it had them; else the
      same ones);
    - tuples: the same length, and each item's form by these rules;
    - anything else: the type (a NumPy scalar's type is its dtype).

    ``follow_shapes=False`` (a rule relaxed after the reference agreed with an output
    that broke it): the type, and the dtype and number of dimensions where there is one,
    only (for outputs whose length, labels or columns are their own, as a group-by's).
    The checks run on every routed call, so each is one closure of plain comparisons
    (``is`` first: dtypes of one kind are usually one object).
    """
    if not follow_shapes:
        args = ()
    if isinstance(sample, np.ndarray):
        return _array_check(sample, args, follow_shapes)
    if isinstance(sample, pd.Series):
        return _series_check(sample, args, follow_shapes)
    if isinstance(sample, pd.DataFrame):
        return _frame_check(sample, args, follow_shapes)
    kind = type(sample)
    if isinstance(sample, tuple):
        items = tuple(make_check(item, args, follow_shapes=follow_shapes) for item in sample)
        length = len(items)
        return lambda out, a: (
            type(out) is kind
            and len(out) == length
            and all(check(o, a) for check, o in zip(items, out, strict=True))
        )
    return lambda out, a: type(out) is kind


def _array_check(sample: np.ndarray, args: tuple[Any, ...], follow_shapes: bool) -> Check:
    kind, dtype, ndim = type(sample), sample.dtype, sample.ndim
    source = _shape_source(sample, args)
    if source is not None and ndim == 1:
        # The argument has this number of dimensions (the key fixes it): ndim and len
        # say what the shape would, 50 ns sooner on the routed path.
        return lambda out, a: (
            type(out) is kind
            and (out.dtype is dtype or out.dtype == dtype)
            and out.ndim == 1
            and len(out) == len(a[source])
        )
    if source is not None:
        return lambda out, a: (
            type(out) is kind
            and (out.dtype is dtype or out.dtype == dtype)
            and out.shape == a[source].shape
        )
    tail = sample.shape[1:]
    if not tail or not follow_shapes:
        return lambda out, a: (
            type(out) is kind and (out.dtype is dtype or out.dtype == dtype) and out.ndim == ndim
        )
    return lambda out, a: (
        type(out) is kind
        and (out.dtype is dtype or out.dtype == dtype)
        and out.ndim == ndim
        and out.shape[1:] == tail
    )


def _same_index(out: Any, argument: Any) -> bool:
    return out.index is argument.index or bool(out.index.equals(argument.index))


def _index_follows(sample: Any, argument: Any) -> bool:
    """Whether the output had its shape-giving argument's index (then it must keep it)."""
    return isinstance(argument, pd.Series | pd.DataFrame) and _same_index(sample, argument)


def _series_check(sample: pd.Series, args: tuple[Any, ...], follow_shapes: bool) -> Check:
    kind, dtype, name, index_kind = type(sample), sample.dtype, sample.name, type(sample.index)
    if not follow_shapes:  # labels and length of its own: the type and dtype are kept
        return lambda out, a: type(out) is kind and (out.dtype is dtype or out.dtype == dtype)
    source = _shape_source(sample, args)
    argument = args[source] if source is not None else None
    index_follows = _index_follows(sample, argument)
    name_follows = isinstance(argument, pd.Series) and _same_label(name, argument.name)
    name_fixed = not name_follows

    # Attribute reads on a Series cost 50-600 ns each, so each is read once, and the
    # common case (the argument's own index object, names both None) takes ``is`` only.
    def check(out: Any, a: tuple[Any, ...]) -> bool:
        if type(out) is not kind:
            return False
        out_dtype = out.dtype
        if out_dtype is not dtype and out_dtype != dtype:
            return False
        index = out.index
        if source is not None:
            arg = a[source]
            arg_index = arg.index if isinstance(arg, pd.Series | pd.DataFrame) else None
            if index_follows:
                if index is not arg_index and not index.equals(arg_index):
                    return False
            elif len(index) != len(arg):
                return False
            if name_follows:
                out_name, arg_name = out.name, arg.name
                if out_name is not arg_name and not _same_label(out_name, arg_name):
                    return False
        if not index_follows and type(index) is not index_kind:
            return False
        if name_fixed:
            out_name = out.name
            return out_name is name or _same_label(out_name, name)
        return True

    return check


def _frame_check(sample: pd.DataFrame, args: tuple[Any, ...], follow_shapes: bool) -> Check:
    kind, dtypes, columns = type(sample), _frame_dtypes(sample), sample.columns
    index_kind = type(sample.index)
    if not follow_shapes:  # columns (and so dtypes) of their own, as a pivot's
        return lambda out, a: type(out) is kind
    source = _shape_source(sample, args)
    argument = args[source] if source is not None else None
    index_follows = _index_follows(sample, argument)
    columns_follow = isinstance(argument, pd.DataFrame) and (
        columns is argument.columns or bool(columns.equals(argument.columns))
    )
    columns_fixed = not columns_follow

    def check(out: Any, a: tuple[Any, ...]) -> bool:
        if type(out) is not kind or _frame_dtypes(out) != dtypes:
            return False
        if source is not None:
            arg = a[source]
            if out.shape != arg.shape:
                return False
            if index_follows and not _same_index(out, arg):
                return False
            if columns_follow and not (
                out.columns is arg.columns or out.columns.equals(arg.columns)
            ):
                return False
        if not index_follows and type(out.index) is not index_kind:
            return False
        return not columns_fixed or out.columns is columns or bool(out.columns.equals(columns))

    return check


class _Form(NamedTuple):
    """What a relaxed rule must keep (type, dtype, dimensions), and the form in words.

    A DataFrame's dtypes are not part of it: its columns may be its own (a pivot's), so
    the reference is asked whenever a DataFrame's form changes.
    """

    kind: type
    dtype: Any
    ndim: int | None
    text: str

    def same(self, other: _Form | None) -> bool:
        return other is not None and (self.kind, self.dtype, self.ndim) == (
            other.kind,
            other.dtype,
            other.ndim,
        )


def _form(value: Any) -> _Form:
    """The form of an output, as the run-time check sees it, with words for a message."""
    frame = isinstance(value, pd.DataFrame)
    dtype = None if frame else getattr(value, "dtype", None)
    ndim = getattr(value, "ndim", None)
    parts = [type(value).__name__]
    if frame:
        dtypes = _frame_dtypes(value)
        parts.append(f"of dtypes {', '.join(map(str, dtypes))}" if dtypes else "without columns")
    elif dtype is not None:
        parts.append(f"of dtype {dtype}")
    shape = getattr(value, "shape", None)
    if shape is not None:
        parts.append(f"and shape {shape}")
    elif isinstance(value, tuple):
        parts.append(f"of {len(value)} items")
    if isinstance(value, pd.Series):
        parts.append(f"named {value.name!r}")
    if isinstance(value, pd.Series | pd.DataFrame):
        parts.append(f"with a {type(value.index).__name__}")
    return _Form(type(value), dtype, ndim, " ".join(parts))


def _chunk_length(args: tuple[Any, ...]) -> int | None:
    for a in args:
        if isinstance(a, np.ndarray | pd.Series | pd.DataFrame) and getattr(a, "ndim", 0) >= 1:
            return len(a)
    return None


def _element_count(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    sizes = [getattr(a, "size", None) for a in (*args, *kwargs.values())]
    return max((int(s) for s in sizes if isinstance(s, int | np.integer)), default=0)


def _head(value: Any, n: int, m: int) -> Any:
    if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == n:
        return value[:m]
    if isinstance(value, pd.Series | pd.DataFrame) and len(value) == n:
        return value.iloc[:m]
    return value


def _rungs(n: int | None, chunkable: bool) -> list[int | None]:
    """Slice lengths to time on, growing; None is the whole input."""
    if not chunkable or n is None or n <= FIRST_RUNG * 2:
        return [None]
    rungs: list[int | None] = []
    m = FIRST_RUNG
    while m * 2 < n and m <= LAST_RUNG:
        rungs.append(m)
        m *= RUNG_GROWTH
    if n <= LAST_RUNG * RUNG_GROWTH // 2:
        rungs.append(None)
    return rungs


def _drop_ratio(position: int) -> float:
    return max(MIN_DROP_RATIO, DROP_RATIO / 2**position)


def _timed(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def _warm(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    start = time.perf_counter()
    times: list[float] = []
    while time.perf_counter() - start < WARM_SECONDS:
        times.append(_timed(fn, args, kwargs)[1])
        if len(times) >= 3 and max(times[-3:]) <= 1.5 * min(times):
            return


def _sample(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    number: int,
    limit: float,
) -> tuple[float, int]:
    """Time up to ``number`` calls; stop early once they have taken ``limit`` seconds.

    The calls run in blocks of 1, 2, 4... with the clock read between blocks only, so
    the timing of a tiny call is not disturbed, and a variant that slows down while it
    runs overshoots ``limit`` by at most the block it is in. Returns (seconds, calls).
    """
    start = time.perf_counter()
    done, block, elapsed = 0, 1, 0.0
    while done < number:
        for _ in range(min(block, number - done)):
            fn(*args, **kwargs)
        done += min(block, number - done)
        elapsed = time.perf_counter() - start
        if elapsed > limit:
            break
        block *= 2
    return elapsed, done


def _interleave(
    runs: dict[str, tuple[Callable[..., Any], float]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    allowance: float,
    failed: dict[str, BaseException] | None = None,
) -> tuple[dict[str, float], float]:
    """Repeat the runs round-robin while the allowance lasts; the best time per call of each.

    A run that raises on a repeat (it passed its first run) stops being timed, and its
    exception is put in ``failed`` by name, for the caller to disqualify it.

    ``runs`` maps a name to (function, its first run's seconds). Taking the samples in
    turns, rather than all of one variant then all of the next, keeps a burst of load on
    a shared machine from favouring whichever variant ran during the quiet.

    Each variant has an equal share of the allowance, and is not timed again once its
    next sample, predicted from its latest (and the growth from the one before), would
    take it past its share. A variant
    whose calls grow slower as it runs (its latest sample SLOWDOWN times its best, when
    its share stopped it or two samples in a row) is given its latest time, not its
    best: that is what its calls cost now, so it is not chosen for a speed it no longer
    has. The spending is
    bounded by the allowance plus, per variant, the one sample (at most a block of calls,
    see :func:`_sample`) that crossed its share, which only a variant whose slowing
    down accelerates can make long.
    """
    best = {name: first for name, (_, first) in runs.items()}
    latest = dict(best)
    previous = dict(best)
    used = dict.fromkeys(runs, 0.0)
    number = {
        name: max(1, int(SAMPLE_SECONDS / max(first, 1e-7))) for name, (_, first) in runs.items()
    }
    share = allowance / max(1, len(runs))
    active = list(runs)
    slowed: set[str] = set()
    for _ in range(MAX_SAMPLES):
        for name in list(active):
            # The next sample is predicted from the latest, grown as much as the latest
            # grew over the one before: a variant that slows down is stopped before the
            # call that would overrun, not after it.
            growth = max(1.0, latest[name] / previous[name]) if previous[name] > 0 else 1.0
            if used[name] + number[name] * latest[name] * growth > share:
                active.remove(name)  # its share is spent
                if latest[name] > SLOWDOWN * best[name]:
                    slowed.add(name)
                continue
            try:
                elapsed, calls = _sample(
                    runs[name][0], args, kwargs, number[name], share - used[name]
                )
            except Exception as exc:
                active.remove(name)
                if failed is not None:
                    failed[name] = exc
                continue
            used[name] += elapsed
            previous[name], latest[name] = latest[name], elapsed / calls
            best[name] = min(best[name], latest[name])
        if not active:
            break
    for name in runs:
        if min(latest[name], previous[name]) > SLOWDOWN * best[name]:
            slowed.add(name)  # two samples in a row: not a burst of load
    for name in slowed:
        best[name] = latest[name]
    return best, sum(used.values())


class Dispatcher:
    """The decisions of one stage: routes for known keys, tuning for new ones."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.routes: dict[Key, Route] = {}
        self.decisions: dict[Key, Decision] = {}
        self.checks: dict[tuple[Key, str], Check] = {}
        #: Each checked output's form when its check was made.
        self.forms: dict[tuple[Key, str], _Form] = {}
        self._lock = threading.RLock()
        self._tuning: dict[Key, threading.Event] = {}
        self._warned: set[tuple[str, str]] = set()

    def reset(self) -> None:
        """Forget every in-memory decision (wisdom on disk stays)."""
        with self._lock:
            self.routes.clear()
            self.decisions.clear()
            self.checks.clear()
            self.forms.clear()

    # -- the slow path -------------------------------------------------------------------

    def call(self, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings) -> Any:
        """Dispatch a call whose key has no route yet (or that the fast path cannot take)."""
        stage = self.stage
        if settings.mode == "reference" or stage._pinned == "reference":
            try:
                return stage._reference.run(*args, **kwargs)
            except TypeError:
                stage._check_arguments(args, kwargs)  # a bad call: say so, naming the stage
                raise
        if stage._pinned is not None:
            return self._call_pinned(stage._pinned, args, kwargs)
        key = make_key(settings.tag, args, kwargs)
        route = self.routes.get(key)
        if route is not None:
            return self.run_route(route, key, args, kwargs)
        stage._check_arguments(args, kwargs)
        while True:
            with self._lock:
                route = self.routes.get(key)
                if route is not None:
                    break
                event = self._tuning.get(key)
                if event is None:
                    event = self._tuning[key] = threading.Event()
                    owner = True
                else:
                    owner = False
            if not owner:
                event.wait()
                continue
            try:
                route, result, have_result = self._decide(key, args, kwargs, settings)
                self.routes[key] = route
            finally:
                with self._lock:
                    del self._tuning[key]
                event.set()
            if have_result:
                return result
            break
        return self.run_route(route, key, args, kwargs)

    def run_route(
        self, route: Route, key: Key, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Run a route with its checks, recovering from a failure."""
        if route.check is None:
            return route.fn(*args, **kwargs)
        try:
            out = route.fn(*args, **kwargs)
        except Exception as exc:
            return self.recover(route, args, kwargs, exc, None)
        if route.check(out, args):
            return out
        return self.recover(route, args, kwargs, None, out)

    def _call_pinned(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stage = self.stage
        variant = stage._variants[name]
        try:
            return variant.run(*args, **kwargs)
        except Exception as exc:
            stage._check_arguments(args, kwargs)  # a bad call is the caller's, not the variant's
            try:
                out = stage._reference.run(*args, **kwargs)
            except Exception:
                raise exc from None  # the input is bad for the reference too
            self._warn_once(
                VariantFailedWarning,
                f"stage {stage.name!r}: pinned variant {name!r} raised "
                f"{_first_lines(exc)}; the reference answered instead "
                f"(unpin with {stage.name}.unpin())",
                name,
            )
            return out

    # -- failures at run time -------------------------------------------------------------

    def recover(
        self,
        route: Route,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        exc: BaseException | None,
        out: Any,
    ) -> Any:
        """A routed variant raised or gave a malformed output: fall back, mark, warn."""
        stage = self.stage

        key = make_key(get_config().tag, args, kwargs)
        decision = self.decisions.get(key)
        if exc is None and _form(out).same(self.forms.get((key, route.name))):
            # Same type, dtype and dimensions as when tuning, but the shape broke the rule
            # learned from one run (say, "as long as the first argument", where it only
            # happened to be). Ask the oracle once: if the reference gives the same values,
            # the rule was wrong, not the variant, and it is relaxed for this key.
            expected = stage._reference.run(*args, **kwargs)
            if stage.equal.compare(expected, out) is None:
                relaxed = make_check(out, args, follow_shapes=False)
                with self._lock:
                    self.checks[(key, route.name)] = relaxed
                    route.check = relaxed
                return out
        failures = {route.name: self._malformed(key, route.name, exc, out)}
        ranking = decision.ranking() if decision is not None else [route.name, "reference"]
        answer: tuple[str, Any] | None = None
        for name in ranking:
            if name in failures or name == "reference":
                continue
            variant = stage._variants.get(name)
            if variant is None:
                continue
            trial = decision.trials.get(name) if decision is not None else None
            if trial is not None and not trial.checked:
                # Chosen by a record written elsewhere: its answer is used only if it
                # matches the reference's on this input.
                verdict = self._compare_once(key, name, args, kwargs, sliced=False)
                if verdict.problem is not None:
                    failures[name] = f"{verdict.problem[0]}: {verdict.problem[1]}"
                    continue
                with self._lock:
                    self._accept(key, decision, name, verdict)
                answer = (name, verdict.guard.original_of(verdict.out))
                break
            try:
                candidate = variant.run(*args, **kwargs)
            except Exception as err:
                failures[name] = describe_failure(err)
                continue
            check = self.checks.get((key, name))
            if check is not None and not check(candidate, args):
                failures[name] = self._malformed(key, name, None, candidate)
                continue
            answer = (name, candidate)
            break
        if answer is None:
            # The reference's own exception, if any, reaches the caller: the input is bad
            # for every implementation, so no variant is blamed.
            answer = ("reference", stage._reference.run(*args, **kwargs))
        with self._lock:
            for name, reason in failures.items():
                self._mark_failed(key, decision, name, reason)
            chosen = answer[0]
            self.routes[key] = self._route_for(key, chosen)
            if decision is not None:
                decision.chosen = chosen
                decision.reason = f"{', '.join(failures)} failed at run time; next best is {chosen}"
                if chosen in decision.trials:
                    decision.trials[chosen].status = "chosen"
        return answer[1]

    def _malformed(self, key: Key, name: str, exc: BaseException | None, out: Any) -> str:
        if exc is not None:
            return describe_failure(exc)
        expected = self.forms.get((key, name))
        before = f" ({expected.text})" if expected is not None else ""
        return (
            f"returned a malformed result: {_form(out).text}, where the output its answers "
            f"were compared on had another form{before}"
        )

    def _learn(self, key: Key, name: str, out: Any, args: tuple[Any, ...]) -> Check:
        """Make the run-time check of a variant from an output compared with the reference's."""
        check = make_check(out, args)
        self.checks[(key, name)] = check
        self.forms[(key, name)] = _form(out)
        return check

    def _mark_failed(self, key: Key, decision: Decision | None, name: str, reason: str) -> None:
        stage = self.stage
        if decision is not None:
            trial = decision.trials.get(name) or Trial(name, "failed")
            trial.status, trial.reason = "failed", f"at run time: {reason}"
            decision.trials[name] = trial
            variant = stage._variants.get(name)
            if variant is not None:
                self._store(
                    decision.key,
                    {name: trial.record(variant, stage._reference.source_hash, decision.size)},
                )
        self._warn_once(
            VariantFailedWarning,
            f"stage {stage.name!r}: variant {name!r} failed for "
            f"{decision.key if decision else describe_key(key)}: {reason}; "
            "the next best variant (finally the reference) answers instead",
            name,
        )

    def _warn_once(self, category: type[Warning], message: str, variant: str) -> None:
        marker = (category.__name__, message)
        if marker in self._warned:
            return
        self._warned.add(marker)
        warnings.warn(message, category, stacklevel=5)

    # -- deciding --------------------------------------------------------------------------

    def _route_for(self, key: Key, name: str) -> Route:
        stage = self.stage
        if name == "reference":
            route = Route("reference", stage._reference.run, None)
        else:
            decision = self.decisions.get(key)
            trial = decision.trials.get(name) if decision is not None else None
            if trial is not None and not trial.checked:
                # Chosen from wisdom this installation did not write: compared with the
                # reference on its first call (see _first_call).
                route = Route(name, functools.partial(self._first_call, key, name), None)
            else:
                check = self.checks.get((key, name))
                if check is None:
                    check = self._learning_check(key, name)
                route = Route(name, stage._variants[name].run, check)
        decision = self.decisions.get(key)
        if decision is not None and decision.promote_after is not None and decision.deferred():
            return self._heated(key, route, decision.promote_after)
        return route

    def _heated(self, key: Key, route: Route, limit: int) -> Route:
        """``route`` counting its calls: the ``limit``-th (or any under ``tuning="full"``)
        tunes the key fully (see FULL_TUNING_SIZE)."""
        fn = route.fn
        calls = [0]

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if (
                calls[0] < limit
                and (_LOCAL_SETTINGS.get() or _GLOBAL_SETTINGS[0]).tuning == "tiered"
            ):
                return fn(*args, **kwargs)
            calls[0] = -(1 << 62)  # once: later calls on this route run as they are
            return self._promote(key, fn, args, kwargs)

        return Route(route.name, counted, route.check)

    def _promote(
        self, key: Key, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Tune a tiered key fully now: compile the deferred variants, time every variant."""
        with self._lock:
            busy = key in self._tuning
            if not busy:
                event = self._tuning[key] = threading.Event()
        if busy:  # another thread is tuning it: run what is routed meanwhile
            return fn(*args, **kwargs)
        try:
            settings = get_config()
            decision, result, have_result = self._measure(
                key, describe_key(key), args, kwargs, {}, self._excluded(settings), full=True
            )
            self.decisions[key] = decision
            route = self._route_for(key, decision.chosen)
            self.routes[key] = route
        finally:
            with self._lock:
                del self._tuning[key]
            event.set()
        return result if have_result else route.fn(*args, **kwargs)

    def _learning_check(self, key: Key, name: str) -> Callable[[Any, tuple[Any, ...]], bool]:
        """For a variant chosen without a run here: its first output sets the form."""

        def learn(out: Any, args: tuple[Any, ...]) -> bool:
            check = self._learn(key, name, out, args)
            route = self.routes.get(key)
            if route is not None and route.name == name:
                route.check = check
            return True

        return learn

    # -- variants chosen by wisdom written elsewhere -----------------------------------------

    def _first_call(self, key: Key, name: str, *args: Any, **kwargs: Any) -> Any:
        """The route of a variant no record written here vouches for: compare, then settle.

        The variant and the reference run on read-only views of the input (its first
        CHECK_ROWS rows when the stage is chunkable and the input longer than twice
        that); a match makes it checked (its record is re-marked as this installation's)
        and installs its ordinary route; a difference or an exception disqualifies it
        with a warning, and the next best variant (checked the same way if need be, else
        the reference) answers.
        """
        verdict = self._compare_once(key, name, args, kwargs)
        with self._lock:
            decision = self.decisions.get(key)
            if verdict.problem is None:
                self._accept(key, decision, name, verdict)
                chosen = name
            else:
                chosen = self._reject(decision, name, verdict.problem)
            route = self._route_for(key, chosen)
            self.routes[key] = route
        if verdict.whole:
            answer = verdict.out if verdict.problem is None else verdict.expected
            return verdict.guard.original_of(answer)
        return self.run_route(route, key, args, kwargs)

    def _compare_once(
        self,
        key: Key,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        sliced: bool = True,
    ) -> _Verdict:
        """Run a variant and the reference on private copies of the same input; compare."""
        stage = self.stage
        variant = stage._variants[name]
        n = _chunk_length(args)
        whole = not (sliced and stage.chunkable and n is not None and n > 2 * CHECK_ROWS)
        guard = _Guard(args, kwargs, n, None if whole else CHECK_ROWS)
        a, kw = guard.args, guard.kwargs
        # The reference's exception means the input is bad for every implementation: it
        # reaches the caller, and no variant is blamed.
        expected = stage._reference.run(*a, **kw)
        if guard.issued(expected):
            expected = private_copy(expected)  # kept apart from the variant's run
        if guard.changed():  # the reference writes into its input: its own business
            a, kw = guard.renew(None)
        try:
            out = variant.run(*a, **kw)
        except Exception as exc:
            return _Verdict(None, expected, guard, a, whole, ("failed", describe_failure(exc)))
        if guard.changed():
            return _Verdict(None, expected, guard, a, whole, ("failed", WRITES_INTO_INPUT))
        difference = stage.equal.compare(expected, out)
        problem = None if difference is None else ("mismatch", difference)
        return _Verdict(out, expected, guard, a, whole, problem)

    def _accept(self, key: Key, decision: Decision | None, name: str, verdict: _Verdict) -> None:
        """A variant chosen by wisdom from elsewhere matched the reference: it is checked."""
        self._learn(key, name, verdict.out, verdict.args)
        if decision is None:
            return
        trial = decision.trials.get(name)
        if trial is not None:
            trial.checked = True
            where = "the whole input" if verdict.whole else f"its first {CHECK_ROWS:,} rows"
            trial.reason = (
                f"{trial.reason + '; ' if trial.reason else ''}chosen by a record written "
                f"elsewhere; compared with the reference here on {where}"
            )
        # Mark the record as this installation's: the next process need not compare again.
        stage = self.stage
        variant = stage._variants[name]
        try:
            record = get_wisdom().lookup(stage.id, decision.key).get(name)
        except OSError:
            return
        if (
            record is not None
            and record.get("status") in _USABLE
            and record.get("source_hash") == variant.source_hash
            and record.get("reference_hash") == stage._reference.source_hash
        ):
            self._store(decision.key, {name: record})

    def _reject(self, decision: Decision | None, name: str, problem: tuple[str, str]) -> str:
        """A variant chosen by wisdom from elsewhere differs or fails: the next best instead."""
        if decision is None:
            return "reference"
        stage = self.stage
        variant = stage._variants[name]
        status, reason = problem
        self._disqualify(decision, variant, status, reason, decision.key)
        trial = decision.trials[name]
        self._store(
            decision.key, {name: trial.record(variant, stage._reference.source_hash, decision.size)}
        )
        self._choose(decision)
        verb = "differed from" if status == "mismatch" else "failed against"
        decision.reason = (
            f"{name}, chosen by a wisdom record written elsewhere, {verb} the reference here; "
            f"{decision.reason}"
        )
        return decision.chosen

    def _decide(
        self, key: Key, args: tuple[Any, ...], kwargs: dict[str, Any], settings: Settings
    ) -> tuple[Route, Any, bool]:
        stage = self.stage
        key_text = describe_key(key)
        if not stage._variants:
            decision = Decision(
                key_text, "trivial", "reference", "the stage has only its reference"
            )
            decision.trials["reference"] = Trial("reference", "chosen", source="trivial")
            self.decisions[key] = decision
            return self._route_for(key, "reference"), None, False
        stored = self._stored(key_text)
        excluded = self._excluded(settings)
        if settings.mode == "estimate":
            decision = self._from_wisdom(key_text, stored, excluded) or self._estimate(
                key_text, args, kwargs, excluded
            )
            self.decisions[key] = decision
            return self._route_for(key, decision.chosen), None, False
        full = settings.tuning == "full"
        stored_decision = self._from_wisdom(key_text, stored, excluded)
        if stored_decision is not None and stored_decision.deferred():
            if full:  # a tiered decision, to be completed now
                stored_decision = None
                stored = {n: t for n, t in stored.items() if t.status != "deferred"}
            else:
                stored_decision.promote_after = _promote_after(stored_decision)
        if stored_decision is not None:
            decision = stored_decision
            self.decisions[key] = decision
            return self._route_for(key, decision.chosen), None, False
        decision, result, have_result = self._measure(
            key, key_text, args, kwargs, stored, excluded, full=full
        )
        self.decisions[key] = decision
        return self._route_for(key, decision.chosen), result, have_result

    def _stored(self, key_text: str) -> dict[str, Trial]:
        """Trials stored in wisdom that are still valid for the current sources."""
        stage = self.stage
        try:
            records, written_here = get_wisdom().lookup_with_origin(stage.id, key_text)
        except OSError as exc:  # an unreadable cache folder must never break a call
            warnings.warn(
                f"vecpipe wisdom is unreadable ({exc}); measuring afresh",
                WisdomWarning,
                stacklevel=6,
            )
            return {}
        valid: dict[str, Trial] = {}
        reference_hash = stage._reference.source_hash
        for variant in stage._all_variants():
            record = records.get(variant.name)
            if (
                not record
                or record.get("source_hash") != variant.source_hash
                or record.get("reference_hash") != reference_hash
                or record.get("status") not in STATUSES
                or record.get("status") in ("unverified", "skipped")
            ):
                continue
            # The store checked the fields' types; a record written elsewhere may still
            # name a variant this installation never compared with the reference.
            valid[variant.name] = Trial(
                variant.name,
                record["status"],
                record.get("seconds"),
                record.get("compile_seconds"),
                record.get("reason", ""),
                source="wisdom",
                checked=variant.name in written_here or variant.name == "reference",
            )
        return valid

    def verified(self) -> set[str]:
        """The variants that vp.verify passed here for their current source (and reference).

        Only records this installation wrote count: a verification imported, shipped to
        a Dask worker or edited by hand is not one that ran here.
        """
        stage = self.stage
        try:
            records, written_here = get_wisdom().lookup_with_origin(stage.id, VERIFIED_KEY)
        except OSError:
            return set()
        reference_hash = stage._reference.source_hash
        return {
            variant.name
            for variant in stage._variants.values()
            if variant.name in written_here
            and (record := records.get(variant.name))
            and record.get("status") == "verified"
            and record.get("source_hash") == variant.source_hash
            and record.get("reference_hash") == reference_hash
        }

    def unverified(self) -> set[str]:
        """The variants that require_verified=True keeps from running."""
        return set(self.stage._variants) - self.verified()

    def _excluded(self, settings: Settings) -> dict[str, tuple[str, str]]:
        """Variants not to run under these settings: (status, reason) by name."""
        excluded: dict[str, tuple[str, str]] = {}
        if settings.threads == 1:
            for variant in self.stage._variants.values():
                if variant.parallel:
                    excluded[variant.name] = ("skipped", _ONE_THREAD)
        if settings.require_verified:
            for name in self.unverified():
                excluded[name] = ("unverified", _UNVERIFIED)
        return excluded

    def _from_wisdom(
        self, key_text: str, stored: dict[str, Trial], excluded: dict[str, tuple[str, str]]
    ) -> Decision | None:
        names = [v.name for v in self.stage._all_variants() if v.name not in excluded]
        if not names or any(name not in stored for name in names):
            return None
        decision = Decision(key_text, "wisdom", trials={n: stored[n] for n in names})
        for name, (status, reason) in excluded.items():
            decision.trials[name] = Trial(name, status, reason=reason, source="wisdom")
        self._choose(decision)
        decision.reason = f"from wisdom: {decision.reason}"
        chosen = decision.trials.get(decision.chosen)
        if chosen is not None and not chosen.checked:
            decision.reason += (
                f"; {decision.chosen}'s record was not written by this installation "
                "(imported, shipped or edited), so its first call is compared with the "
                "reference before its answer is used"
            )
        return decision

    def _choose(self, decision: Decision) -> None:
        ranking = [
            t for t in decision.trials.values() if t.status in _USABLE and t.seconds is not None
        ]
        ranking.sort(key=_rank)
        for trial in decision.trials.values():
            if trial.status == "chosen":
                trial.status = "measured"
        if not ranking:
            decision.chosen, decision.reason = "reference", "no variant was usable"
            return
        best = ranking[0]
        parts = [f"fastest of {len(ranking)} usable"]
        serial = self._serial_instead(ranking)
        if serial is not None:
            gain = (serial.seconds or 0.0) / (best.seconds or 1e-12)
            parts = [
                f"fastest serial variant; {best.variant} was {gain:.3g}x faster, under the "
                f"{PARALLEL_MARGIN}x and {PARALLEL_MIN_SAVING * 1e6:.0f} µs a call a parallel "
                "variant must gain to hold every core"
            ]
            best = serial
        best.status = "chosen"
        decision.chosen = best.variant
        reference = decision.trials.get("reference")
        fastest = best.seconds or 1e-12  # ranking holds timed trials only
        runner_up = ranking[1] if len(ranking) > 1 and serial is None else None
        if runner_up is not None and runner_up.variant != "reference" and runner_up.seconds:
            parts.append(f"{runner_up.seconds / fastest:.3g}x faster than {runner_up.variant}")
        if reference is not None and reference.seconds and best.variant != "reference":
            parts.append(f"{reference.seconds / fastest:.3g}x faster than the reference")
        decision.reason = "; ".join(parts)

    def _serial_instead(self, ranking: list[Trial]) -> Trial | None:
        """The fastest serial variant, if the fastest is parallel by less than the margins."""
        variants = self.stage._variants

        def parallel(trial: Trial) -> bool:
            variant = variants.get(trial.variant)
            return variant is not None and variant.parallel

        best = ranking[0]
        if not parallel(best) or not best.seconds:
            return None
        for trial in ranking[1:]:
            if trial.status == "dropped" or trial.variant == "reference" or parallel(trial):
                continue
            if (
                trial.seconds
                and trial.seconds < PARALLEL_MARGIN * best.seconds
                and trial.seconds - best.seconds < PARALLEL_MIN_SAVING
            ):
                return trial
            return None
        return None

    def _estimate(
        self,
        key_text: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        excluded: dict[str, tuple[str, str]],
    ) -> Decision:
        stage = self.stage
        n = _chunk_length(args) or _element_count(args, kwargs)
        order = _preference(n)
        decision = Decision(key_text, "estimated", size=n)
        candidates = sorted(
            (v for v in stage._variants.values() if v.name not in excluded),
            key=lambda v: _rank_kind(v, order),
        )
        for name, (status, reason) in excluded.items():
            decision.trials[name] = Trial(name, status, reason=reason, source="estimated")
        # Only the chosen variant is compiled; the others compile if a failure at run time
        # ever makes them the next best.
        with _compile_notice(stage.name):
            for variant in candidates:
                if decision.chosen != "reference":
                    decision.trials[variant.name] = Trial(
                        variant.name, "not-run", source="estimated"
                    )
                    continue
                try:
                    compile_seconds = _compile(variant, args, kwargs)
                except Exception as exc:
                    decision.trials[variant.name] = Trial(
                        variant.name,
                        "compile-failed",
                        reason=_first_lines(exc),
                        source="estimated",
                    )
                    continue
                decision.chosen = variant.name
                decision.trials[variant.name] = Trial(
                    variant.name, "chosen", None, compile_seconds, source="estimated"
                )
        decision.trials["reference"] = Trial("reference", "not-run", source="estimated")
        if decision.chosen == "reference":
            decision.trials["reference"].status = "chosen"
        decision.reason = (
            f"estimated without timing: n={n} prefers {' > '.join(order)} (no wisdom stored)"
        )
        return decision

    def _plan(
        self, todo: list[Variant], args: tuple[Any, ...], kwargs: dict[str, Any], size: int
    ) -> tuple[list[Variant], dict[str, float]]:
        """Tiered tuning's first call: the variants in the order to try them, and the
        seconds each ready one took to load. Those that need no compiling come first;
        then the others in the size rule's order, serial before parallel.
        :meth:`_measure` compiles until one succeeds and defers the rest: one compiled
        variant, a parallel one only if no serial one compiles."""
        order = _preference(size)
        ready: list[Variant] = []
        loaded: dict[str, float] = {}
        for variant in todo:
            start = time.perf_counter()
            if variant.ready_for(args, kwargs):  # loads it from Numba's disk cache
                ready.append(variant)
                loaded[variant.name] = time.perf_counter() - start
        costly = sorted(
            (v for v in todo if v not in ready),
            key=lambda v: (v.parallel, _rank_kind(v, order)),
        )
        return ready + costly, loaded

    def _measure(
        self,
        key: Key,
        key_text: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        stored: dict[str, Trial],
        excluded: dict[str, tuple[str, str]],
        *,
        full: bool = True,
    ) -> tuple[Decision, Any, bool]:
        stage = self.stage
        started = time.perf_counter()
        n = _chunk_length(args)
        size = n if n is not None else _element_count(args, kwargs)
        decision = Decision(key_text, "measured", size=size)
        reference = stage._reference

        # Stored trials stay valid; the reference is re-run for comparisons regardless.
        todo: list[Variant] = []
        for variant in stage._variants.values():
            if variant.name in excluded:
                status, reason = excluded[variant.name]
                decision.trials[variant.name] = Trial(variant.name, status, reason=reason)
            elif variant.name in stored:
                decision.trials[variant.name] = stored[variant.name]
            else:
                todo.append(variant)
        tiered = not full and size < FULL_TUNING_SIZE
        deferred: list[Variant] = []
        loaded: dict[str, float] = {}
        if tiered:
            todo, loaded = self._plan(todo, args, kwargs, size)
        rungs = _rungs(n, stage.chunkable)
        # Every run gets private copies of the input, of the caller's own types (so
        # nothing compiles twice): a variant that changes its copy is disqualified, and
        # the copy is made again for the others. The caller's input is never passed to
        # a variant while tuning (only the rows timed are copied).
        longest = rungs[-1] if rungs[-1] is None else max(r for r in rungs if r is not None)
        guard = _Guard(args, kwargs, n, longest)
        runnable: list[Variant] = []
        compiled_seconds = 0.0  # the longest compile seen here
        with _compile_notice(stage.name):
            for variant in todo:
                if tiered and any(r.compiled for r in runnable):
                    if not variant.ready_for(args, kwargs):
                        deferred.append(variant)  # one compiled variant is enough for now
                        continue
                try:
                    # A variant plain Python around kernels compiles by running once.
                    compile_seconds = _compile(variant, guard.args, guard.kwargs)
                except Exception as exc:
                    reason = describe_failure(exc)
                    decision.trials[variant.name] = Trial(
                        variant.name, "compile-failed", reason=reason
                    )
                    if variant.compiler is not None and guard.changed():
                        guard.renew(None)
                    if variant.derived:
                        continue  # vecpipe's own attempt: explain() says why, no warning
                    self._warn_once(
                        VariantFailedWarning,
                        f"stage {stage.name!r}: variant {variant.name!r} failed to compile for "
                        f"{key_text}: {reason}; the other variants run instead",
                        variant.name,
                    )
                    continue
                if compile_seconds is not None and variant.name in loaded:
                    compile_seconds += loaded[variant.name]  # loading it counts too
                compiled_seconds = max(compiled_seconds, compile_seconds or 0.0)
                decision.trials[variant.name] = Trial(
                    variant.name, "measured", compile_seconds=compile_seconds
                )
                if variant.compiler is not None and guard.changed():  # its compiling run wrote
                    guard.renew(None)
                    self._disqualify(decision, variant, "failed", WRITES_INTO_INPUT, key_text)
                    continue
                runnable.append(variant)
        for variant in deferred:
            decision.trials[variant.name] = Trial(variant.name, "deferred")

        decision.trials["reference"] = Trial("reference", "measured")
        alive: list[Variant] = [reference, *runnable]
        spent = 0.0
        seconds: dict[str, float] = {}
        outputs: dict[str, Any] = {}
        compared: set[str] = set()
        for position, rung in enumerate(rungs):
            m = n if rung is None else rung
            scale = (n or 1) / (m or 1)
            a, kw = guard.at(rung)
            # One run each: the outputs to compare, and a first time. The reference's run is
            # the oracle's price, not timing, so it does not count against the budget; its
            # exception means the input is bad, and reaches the caller.
            first: dict[str, float] = {}
            if reference in alive:  # on the first rung it always is: every variant is compared
                expected, first["reference"] = _timed(reference.run, a, kw)
                if guard.issued(expected):
                    expected = private_copy(expected)  # kept apart from later runs' writes
                if guard.changed():  # the reference writes into its input: its own business
                    a, kw = guard.renew(rung)
            for variant in alive:
                if variant is reference:
                    continue
                try:
                    if variant.parallel:
                        _warm(variant.run, a, kw)
                    out, first[variant.name] = _timed(variant.run, a, kw)
                except Exception as exc:
                    self._disqualify(decision, variant, "failed", describe_failure(exc), key_text)
                    if guard.changed():
                        a, kw = guard.renew(rung)
                    continue
                if guard.changed():
                    self._disqualify(decision, variant, "failed", WRITES_INTO_INPUT, key_text)
                    a, kw = guard.renew(rung)
                    continue
                spent += first[variant.name]
                if variant.name not in compared:
                    compared.add(variant.name)
                    difference = stage.equal.compare(expected, out)
                    if difference is not None:
                        self._disqualify(decision, variant, "mismatch", difference, key_text)
                        continue
                    self._learn(key, variant.name, out, a)
                if rung is None:
                    outputs[variant.name] = out
            if rung is None and reference in alive:
                outputs["reference"] = expected
            alive = [v for v in alive if decision.trials[v.name].status == "measured"]
            fastest = min(first[v.name] for v in alive)
            budget = max(BUDGET_FLOOR, BUDGET_FACTOR * fastest * scale)
            contenders = {
                v.name: (v.run, first[v.name])
                for v in alive
                if v is not reference or first[v.name] <= DROP_RATIO * fastest
            }
            allowance = (budget - spent) / (len(rungs) - position)
            failed: dict[str, BaseException] = {}
            best, cost = _interleave(contenders, a, kw, allowance, failed)
            spent += cost
            for name, error in failed.items():
                if name != "reference":  # the oracle's own error shows on its first run
                    self._disqualify(
                        decision, stage._variant(name), "failed", describe_failure(error), key_text
                    )
                    outputs.pop(name, None)
            alive = [v for v in alive if decision.trials[v.name].status == "measured"]
            if guard.changed():
                self._find_writers(
                    decision, [v for v in alive if v.name in contenders], guard, rung, key_text
                )
                alive = [v for v in alive if decision.trials[v.name].status == "measured"]
                a, kw = guard.at(rung)
            for variant in alive:
                seconds[variant.name] = best.get(variant.name, first[variant.name]) * scale
            if position == len(rungs) - 1:
                if rung is not None:
                    for variant in alive:
                        decision.trials[
                            variant.name
                        ].reason = f"timed on the first {m:,} of {n:,} rows (time extrapolated)"
                break
            top = min(seconds[v.name] for v in alive)
            ratio = _drop_ratio(position)
            keep = []
            for variant in alive:
                if seconds[variant.name] > ratio * top:
                    trial = decision.trials[variant.name]
                    trial.status = "dropped"
                    trial.reason = (
                        f"{seconds[variant.name] / top:.3g}x slower than the best on {m:,} "
                        "rows, so not run on more (time extrapolated)"
                    )
                else:
                    keep.append(variant)
            alive = keep
            next_m = rungs[position + 1] or n or 1
            projected = sum(seconds[v.name] * (next_m / (n or 1)) for v in alive)
            if spent + projected > 1.5 * max(BUDGET_FLOOR, BUDGET_FACTOR * top):
                # Growing further would overspend: choose on this slice's timings.
                for variant in alive:
                    decision.trials[
                        variant.name
                    ].reason = f"timed on the first {m:,} of {n:,} rows (time extrapolated)"
                break

        for name, t in seconds.items():
            if decision.trials[name].status in _USABLE:
                decision.trials[name].seconds = t
        self._choose(decision)
        if deferred:
            self._defer(decision, size, compiled_seconds)
        decision.tuning_seconds = time.perf_counter() - started
        records = {
            name: trial.record(stage._variant(name), reference.source_hash, size)
            for name, trial in decision.trials.items()
            if trial.source == "measured" and trial.status not in ("unverified", "skipped")
        }
        self._store(key_text, records)
        chosen = decision.chosen
        if chosen in outputs:
            return decision, guard.original_of(outputs[chosen]), True
        return decision, None, False

    def _defer(self, decision: Decision, size: int, compiled_seconds: float) -> None:
        """Tiered tuning: say why the deferred variants wait, and until when."""
        names = decision.deferred()
        expected = max(compiled_seconds, COMPILE_GUESS)
        for name in names:
            decision.trials[name].compile_seconds = None
            decision.trials[name].reason = (
                f"not compiled yet: a first call on {size:,} elements compiles only the "
                f"variant the size rule prefers; tried when calls of this kind have run "
                f"about {expected:.2g} s, the time compiling it is expected to take"
            )
        decision.promote_after = _promote_after(decision)
        decision.reason += (
            f"; not tried yet: {', '.join(names)} (tuned after about "
            f"{decision.promote_after:,} calls of this kind, or with tuning='full')"
        )

    def _find_writers(
        self,
        decision: Decision,
        ran: list[Variant],
        guard: _Guard,
        rung: int | None,
        key_text: str,
    ) -> None:
        """A timing loop changed the input copy: run each variant once more on a fresh copy
        to find which; if none does it again, none of them is trusted."""
        found = False
        for variant in ran:
            a, kw = guard.renew(rung)
            try:
                variant.run(*a, **kw)
            except Exception:
                pass
            if guard.changed() and variant is not self.stage._reference:
                self._disqualify(decision, variant, "failed", WRITES_INTO_INPUT, key_text)
                found = True
        if not found:
            for variant in ran:
                if variant is not self.stage._reference:
                    self._disqualify(
                        decision, variant, "failed", WRITES_INTO_INPUT + " (now and then)", key_text
                    )
        guard.renew(rung)

    def _disqualify(
        self, decision: Decision, variant: Variant, status: str, reason: str, key_text: str
    ) -> None:
        decision.trials[variant.name] = Trial(
            variant.name, status, None, decision.trials[variant.name].compile_seconds, reason
        )
        if variant.derived:
            return  # vecpipe's own attempt: explain() says why, no warning
        category = VariantDisqualifiedWarning if status == "mismatch" else VariantFailedWarning
        verb = "differs from the reference" if status == "mismatch" else "failed"
        self._warn_once(
            category,
            f"stage {self.stage.name!r}: variant {variant.name!r} {verb} on {key_text}: "
            f"{reason}; it is not used for this kind of input",
            variant.name,
        )

    def _store(self, key_text: str, records: dict[str, dict[str, Any]]) -> None:
        if not records:
            return
        try:
            get_wisdom().record(self.stage.id, key_text, records)
        except OSError as exc:
            warnings.warn(
                f"vecpipe could not store wisdom ({exc}); decisions stay in memory",
                WisdomWarning,
                stacklevel=6,
            )


def _preference(n: int) -> tuple[str, ...]:
    """ESTIMATE_ORDER's kinds for ``n`` elements, preferred first."""
    return next(kinds for limit, kinds in ESTIMATE_ORDER if limit is None or n < limit)


def _rank_kind(variant: Variant, order: tuple[str, ...]) -> tuple[int, bool]:
    """A variant's place in a size rule's order; vecpipe's own variants after the user's."""
    label = "numba_parallel" if variant.parallel else variant.kind
    return (order.index(label) if label in order else len(order), variant.derived)


def _promote_after(decision: Decision) -> int:
    """Tiered tuning: after how many calls the deferred variants are compiled and timed.

    When the calls have run as long as compiling them is expected to take (the longest
    compile this key has seen, at least COMPILE_GUESS each); with no time known for the
    chosen variant, after 1000 calls.
    """
    trials = decision.trials
    chosen = trials.get(decision.chosen)
    compiled = [t.compile_seconds for t in trials.values() if t.compile_seconds]
    expected = max([*compiled, COMPILE_GUESS]) * len(decision.deferred())
    if chosen is None or not chosen.seconds:
        return 1000
    return max(1, math.ceil(expected / chosen.seconds))


_NOTICE_LOCK = threading.Lock()
_NOTICE_SHOWN = [False]


def _interactive() -> bool:
    """Whether a person is likely watching stderr: a REPL, IPython or a terminal."""
    setting = os.environ.get("VECPIPE_NOTICE", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    if hasattr(sys, "ps1") or sys.flags.interactive:
        return True
    ipython = sys.modules.get("IPython")
    if ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _notice(stage_name: str) -> None:
    with _NOTICE_LOCK:
        if _NOTICE_SHOWN[0]:
            return
        _NOTICE_SHOWN[0] = True
    print(
        f"vecpipe: compiling {stage_name!r} for a new kind of input (once: Numba caches the "
        "code on disk; `vecpipe warm` compiles the kernels ahead of time)",
        file=sys.stderr,
        flush=True,
    )


@contextlib.contextmanager
def _compile_notice(stage_name: str) -> Iterator[None]:
    """One line on stderr, once a process, if compiling here takes over NOTICE_AFTER in an
    interactive session (a timer thread prints it while the compilation runs)."""
    if _NOTICE_SHOWN[0] or not _interactive():
        yield
        return
    timer = threading.Timer(NOTICE_AFTER, _notice, args=(stage_name,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _compile(variant: Variant, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    """Compile for the caller's own types, which the private copies of tuning share."""
    return variant.compile_for(args, kwargs)


class _Guard:
    """Private copies of a call's arguments for the tuning runs, and the check that a run
    left them as they were (see :func:`vecpipe.variant.private_copy`)."""

    def __init__(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], n: int | None, top: int | None
    ) -> None:
        self.whole = args
        if top is not None and n is not None:  # only the head of a long input is timed
            args, kwargs = _slice(args, kwargs, n, top)
            n = top
        self.originals = (args, kwargs)
        self.length = n
        self._issued: list[tuple[Any, ...]] = []
        self.renew(None)

    def renew(self, rung: int | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Fresh copies; the arguments for ``rung`` (None: all rows)."""
        args, kwargs = self.originals
        self.args = tuple(private_copy(a) for a in args)
        self.kwargs = {k: private_copy(v) for k, v in kwargs.items()}
        self._issued.append(self.args)
        return self.at(rung)

    def at(self, rung: int | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The copies, or their first ``rung`` rows."""
        if rung is None or self.length is None or rung >= self.length:
            return self.args, self.kwargs
        return _slice(self.args, self.kwargs, self.length, rung)

    def changed(self) -> bool:
        """Whether any copy differs from its original now."""
        args, kwargs = self.originals
        return not (
            all(unchanged(c, o) for c, o in zip(self.args, args, strict=True))
            and all(unchanged(self.kwargs[k], v) for k, v in kwargs.items())
        )

    def issued(self, value: Any) -> bool:
        """Whether ``value`` is one of the copies handed out."""
        return any(value is c for copies in self._issued for c in copies)

    def original_of(self, out: Any) -> Any:
        """An output that is one of the copies is given back as the caller's own object."""
        for copies in self._issued:
            for copy, original in zip(copies, self.whole, strict=True):
                if out is copy:
                    return original
        return out


def _slice(
    args: tuple[Any, ...], kwargs: dict[str, Any], n: int | None, m: int
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    assert n is not None
    return tuple(_head(a, n, m) for a in args), {k: _head(v, n, m) for k, v in kwargs.items()}


def check_arguments(stage: Stage, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise :class:`StageCallError` if the reference would not accept these arguments."""
    signature = stage._signature
    if signature is None:
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        msg = (
            f"stage {stage.name!r}: {exc}; its reference is called as "
            f"{stage.reference.__name__}{signature}"
        )
        raise StageCallError(msg) from None
