"""Run a stage or a pipeline over many batches, on threads or processes, in input order.

:func:`map_batches` streams: it pulls batches from any iterable as workers free up,
keeps at most ``2 * workers`` of them in flight, and yields each result in input order
(or as it completes, with ``ordered=False``). :func:`split` cuts one large input of a
``chunkable`` stage into row chunks, runs them in parallel and joins the results.

Threads or processes
--------------------
Threads share memory and cost nothing to start, but only help where the code that runs
releases the GIL: Numba kernels compiled ``nogil=True`` (every ``"numba"`` variant) and
NumPy's array operations. The reference and ``"python"`` variants hold the GIL, so
stages that run them go to worker processes. ``executor="auto"`` runs the first batch
in the calling thread (its result is the first one yielded, not thrown away), which
tunes each stage for the workers' thread budget, then asks what ran
(:func:`choose_executor`): threads if every stage's chosen variant releases the GIL
(``Variant.releases_gil`` True, or None for NumPy), processes otherwise.

The thread budget
-----------------
``N`` workers each running a ``parallel=True`` kernel on every core would start
``N x cores`` threads. Each worker therefore runs under
``vp.config(threads=max(1, budget // N))``, where ``budget`` is the caller's
``vp.get_config().threads``. The budget is part of every dispatch key, so the dispatcher
picks the best variant for a worker's share of the machine; with a budget of 1 it runs
no parallel kernel at all.

Numba's threading layers
------------------------
``tbb`` and ``omp`` accept parallel kernels launched from several threads at once;
``workqueue`` aborts the process when that happens. Under ``workqueue`` (see
:func:`threading_layer`) thread workers get a budget of 1, so the dispatcher runs serial
variants; a stage *pinned* to a parallel variant runs under one process-wide lock
instead. GNU OpenMP is not fork-safe, so worker processes are started with ``spawn``.

Why the standard library's pools, not joblib
--------------------------------------------
``concurrent.futures`` gives what is needed with no new dependency: a spawn-started
process pool that turns a dead worker into ``BrokenProcessPool`` at once (never a hang),
and futures to bound the window. joblib's ``Parallel(return_as="generator")`` was
considered: its ``pre_dispatch`` sends a new task whenever one *completes*, not when the
consumer takes a result, so with a slow consumer finished results pile up in memory;
and its exceptions do not say which batch failed. Large arrays still travel as joblib
sends them: each NumPy array of at least ``max_nbytes`` bytes anywhere in a batch
(inside tuples, dicts or pandas objects too) is written once to a file in ``/dev/shm``
(RAM) or the temporary folder, and the worker opens it as a read-only ``np.memmap``; the
file is removed when the batch's result is back. Results come back pickled.

The process pool is started once (spawning takes a second or more per worker) and
reused by later calls with the same number of workers; :func:`shutdown` stops it.
Worker processes find stages by module and qualified name (``Stage.__reduce__``), so a
stage must be defined at the top level of an importable module; they read wisdom from
the caller's ``VECPIPE_CACHE_DIR`` and Numba's disk cache, so they need not measure or
compile again. As with :mod:`multiprocessing`, a script that starts processes must
guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import functools
import io
import itertools
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

import numba
import numpy as np
import pandas as pd

from vecpipe.errors import BatchError, InvalidArgument, WorkerDiedError
from vecpipe.pipeline import Pipeline
from vecpipe.settings import config, get_config
from vecpipe.stage import Stage, _resolve_stage

__all__ = [
    "MAX_NBYTES",
    "BatchError",
    "WorkerDiedError",
    "choose_executor",
    "map_batches",
    "shutdown",
    "split",
    "threading_layer",
]

#: NumPy arrays at least this large (in bytes) reach worker processes as memory maps.
MAX_NBYTES = 1 << 20
#: The executors by name; ``executor=`` also takes a ``concurrent.futures`` pool.
EXECUTORS = ("auto", "threads", "processes")
#: Numba threading layers that accept parallel kernels launched from several threads.
THREAD_SAFE_LAYERS = frozenset({"tbb", "omp"})
#: Chunks per worker that :func:`split` makes by default (a few, to balance the load).
CHUNKS_PER_WORKER = 4

_Call = tuple[tuple[Any, ...], dict[str, Any]]


# -- errors (to move to vecpipe.errors) ------------------------------------------------------------


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class _Failure(NamedTuple):
    """What a worker returns instead of a result when a step raised."""

    stage: str | None
    exc: BaseException
    trace: str | None = None  # the worker's traceback as text (processes only)
    loading: bool = False  # the batch or the stages could not be unpickled


def _first_line(exc: BaseException) -> str:
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _batch_error(index: int, failure: _Failure) -> BatchError:
    exc = failure.exc
    if failure.trace is not None:
        exc.__cause__ = _RemoteTraceback(failure.trace)
    if failure.loading:
        msg = (
            f"batch {index} could not be loaded in a worker process: {_first_line(exc)}; "
            "worker processes import stages and functions by module and name, so define "
            "them at the top level of an importable module (not in __main__ or inside a "
            "function), or pass executor='threads'"
        )
    else:
        msg = f"batch {index} failed in stage {failure.stage!r}: {_first_line(exc)}"
    error = BatchError(msg, index=index, stage=failure.stage)
    error.__cause__ = exc
    return error


# -- targets ---------------------------------------------------------------------------------------


def _steps(target: Any, where: str) -> tuple[Callable[..., Any], ...]:
    if isinstance(target, Pipeline):
        return tuple(target.stages)
    if isinstance(target, Stage) or callable(target):
        return (target,)
    msg = (
        f"{where}: target {target!r} of type {type(target).__name__} is not a stage, "
        "a pipeline or a function"
    )
    raise InvalidArgument(msg)


def _name(step: Callable[..., Any]) -> str:
    if isinstance(step, Stage):
        return step.name
    return getattr(step, "__name__", None) or type(step).__name__


def _apply(
    steps: tuple[Callable[..., Any], ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    locked: frozenset[int] = frozenset(),
    seen: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] | None = None,
) -> Any:
    """Run the steps as a pipeline does; a :class:`_Failure` names the step that raised.

    ``locked``: positions of steps to run under the process-wide launch lock. ``seen``
    collects each step's arguments (for :func:`_holds_gil`).
    """
    value: Any = None
    for position, step in enumerate(steps):
        a, kw = (args, kwargs) if position == 0 else ((value,), {})
        try:
            if position in locked:
                with _LAUNCH_LOCK:
                    value = step(*a, **kw)
            else:
                value = step(*a, **kw)
        except Exception as exc:
            return _Failure(_name(step), exc)
        if seen is not None:
            seen.append((step, a, kw))
    return value


def _holds_gil(step: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether what ran for this step holds the GIL (plain functions are assumed to)."""
    if not isinstance(step, Stage):
        return True
    name = step.choice(*args, **kwargs)
    if name is None or name == "reference":
        return True
    variant = step.variants.get(name)
    return variant is None or variant.releases_gil is False


def _parallel_stages(steps: tuple[Callable[..., Any], ...]) -> bool:
    return any(isinstance(s, Stage) and any(v.parallel for v in s.variants.values()) for s in steps)


def _pinned_parallel(steps: tuple[Callable[..., Any], ...]) -> frozenset[int]:
    """Positions of stages pinned to a parallel variant."""
    return frozenset(
        position
        for position, s in enumerate(steps)
        if isinstance(s, Stage)
        and s.pinned not in (None, "reference")
        and s.variants[s.pinned].parallel
    )


def _main_importable() -> bool:
    # Spawned workers run the main script again (as __mp_main__); an interactive
    # session or ``python -c`` has no script to run.
    return getattr(sys.modules.get("__main__"), "__file__", None) is not None


def _unsendable(steps: tuple[Callable[..., Any], ...]) -> str | None:
    """Why these steps cannot reach a worker process, or None if they can."""
    for step in steps:
        if isinstance(step, Stage):
            module, qualname = step._module, step._qualname
            where = f"{module}.{qualname}"
            if "<locals>" in qualname:
                return f"stage {step.name!r} is defined inside a function ({where})"
            if module == "__main__" and not _main_importable():
                return f"stage {step.name!r} is defined in an interactive session ({where})"
            try:
                found = _resolve_stage(module, qualname)
            except Exception:
                found = None
            if found is not step:
                return (
                    f"stage {step.name!r} is not the object found at {where} (a stage made "
                    "from a function there, such as vp.stage(np.sqrt), keeps that function's "
                    "name)"
                )
        else:
            name = _name(step)
            if getattr(step, "__module__", None) == "__main__" and not _main_importable():
                return f"function {name!r} is defined in an interactive session"
            try:
                pickle.dumps(step)
            except Exception as exc:
                return f"function {name!r} cannot be pickled ({_first_line(exc)})"
    return None


# -- Numba's threading layer -----------------------------------------------------------------------


def threading_layer() -> str:
    """Return the Numba threading layer this process uses (or will use).

    Returns
    -------
    str
        ``"tbb"``, ``"omp"`` or ``"workqueue"``; ``"unknown"`` if none can be loaded.
        Parallel kernels may be launched from several threads at once only under the
        layers in :data:`THREAD_SAFE_LAYERS`.

    Notes
    -----
    Numba chooses the layer when it first starts its threads (at the first parallel
    kernel, or at ``vp.config(threads=...)``); if it has not yet, this starts them, which
    is what asking for a thread count does anyway.

    Examples
    --------
    >>> from vecpipe.parallel import threading_layer
    >>> threading_layer() in {"tbb", "omp", "workqueue", "unknown"}
    True
    """
    try:
        return str(numba.threading_layer())
    except ValueError:  # not started yet
        pass
    configured = str(getattr(numba.config, "THREADING_LAYER")).lower()  # noqa: B009
    if configured in ("tbb", "omp", "workqueue"):
        return configured
    try:
        numba.get_num_threads()  # starts the threads, choosing the layer
        return str(numba.threading_layer())
    except Exception:
        return "unknown"


def _layer_is_thread_safe() -> bool:
    return threading_layer() in THREAD_SAFE_LAYERS


# -- arguments -------------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _check_workers(workers: Any, where: str, pool: cf.Executor | None) -> int:
    if workers is None:
        size = getattr(pool, "_max_workers", None)
        if isinstance(size, int) and size >= 1:
            return size
        return _cores()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        msg = f"{where}: workers={workers!r} must be a positive int (or None for the cores)"
        raise InvalidArgument(msg)
    return workers


def _check_executor(executor: Any, where: str) -> tuple[str, cf.Executor | None]:
    if isinstance(executor, cf.ThreadPoolExecutor):
        return "threads", executor
    if isinstance(executor, cf.Executor):
        return "processes", executor
    if executor not in EXECUTORS:
        msg = (
            f"{where}: executor={executor!r} is not one of "
            f"{', '.join(repr(e) for e in EXECUTORS)} or a concurrent.futures pool"
        )
        raise InvalidArgument(msg)
    return executor, None


def _check_flag(value: Any, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{where}: {name}={value!r} must be True or False"
        raise InvalidArgument(msg)
    return value


def _check_nbytes(max_nbytes: Any, where: str) -> int | None:
    if max_nbytes is None:
        return None
    if isinstance(max_nbytes, bool) or not isinstance(max_nbytes, int) or max_nbytes < 0:
        msg = f"{where}: max_nbytes={max_nbytes!r} must be a non-negative int or None"
        raise InvalidArgument(msg)
    return max_nbytes


# -- large arrays to worker processes --------------------------------------------------------------


def _open_mapped(path: str) -> np.ndarray:
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _temp_root() -> str:
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return tempfile.gettempdir()


class _Spill:
    """Pickles batches for worker processes, writing large arrays to memory-mapped files."""

    def __init__(self, max_nbytes: int | None) -> None:
        self.max_nbytes = max_nbytes
        self.folder: str | None = None
        self._count = itertools.count()

    def dumps(self, obj: Any) -> tuple[bytes, list[str]]:
        files: list[str] = []
        buffer = _SpillPickler(self, files)
        try:
            buffer.dump(obj)
        except BaseException:
            self.release(files)
            raise
        return buffer.getvalue(), files

    def write(self, array: np.ndarray) -> str | None:
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="vecpipe-", dir=_temp_root())
        path = os.path.join(self.folder, f"{next(self._count)}.npy")
        try:
            np.save(path, array, allow_pickle=False)
        except OSError:  # no room: pickle this one
            self.release([path])
            return None
        return path

    def release(self, files: list[str]) -> None:
        for path in files:
            try:
                os.unlink(path)
            except OSError:
                pass

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


class _SpillPickler(pickle.Pickler):
    def __init__(self, spill: _Spill, files: list[str]) -> None:
        self._buffer = io.BytesIO()
        super().__init__(self._buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self._spill = spill
        self._files = files

    def reducer_override(self, obj: Any) -> Any:
        limit = self._spill.max_nbytes
        if (
            limit is None
            or type(obj) not in (np.ndarray, np.memmap)
            or obj.nbytes < max(limit, 1)
            or obj.dtype.hasobject
        ):
            return NotImplemented
        path = self._spill.write(obj)
        if path is None:
            return NotImplemented
        self._files.append(path)
        return _open_mapped, (path,)

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()


# -- workers ---------------------------------------------------------------------------------------

#: Held around calls of stages pinned to a parallel variant under an unsafe layer.
_LAUNCH_LOCK = threading.Lock()


def _thread_task(
    steps: tuple[Callable[..., Any], ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    budget: int,
    locked: frozenset[int],
) -> Any:
    with config(threads=budget):
        return _apply(steps, args, kwargs, locked=locked)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a RuntimeError describing it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc} (the exception could not be pickled)")
    return exc


def _process_task(payload: bytes, settings: tuple[str, int, bool], cache: str | None) -> Any:
    # The pool outlives the call that started it: take the caller's wisdom folder now.
    if cache is None:
        os.environ.pop("VECPIPE_CACHE_DIR", None)
    elif os.environ.get("VECPIPE_CACHE_DIR") != cache:
        os.environ["VECPIPE_CACHE_DIR"] = cache
    try:
        steps, args, kwargs = pickle.loads(payload)
    except Exception as exc:
        return _Failure(None, _portable(exc), traceback.format_exc(), loading=True)
    mode, threads, require_verified = settings
    threads = min(threads, getattr(numba.config, "NUMBA_NUM_THREADS"))  # noqa: B009
    with config(mode=mode, threads=threads, require_verified=require_verified):  # type: ignore[arg-type]
        out = _apply(steps, args, kwargs)
    if isinstance(out, _Failure):
        trace = "".join(traceback.format_exception(out.exc))
        return out._replace(exc=_portable(out.exc), trace=trace)
    return out


_POOL_LOCK = threading.Lock()
#: The worker processes kept for reuse, by number of workers.
_POOLS: dict[int, cf.ProcessPoolExecutor] = {}


def _healthy(pool: cf.ProcessPoolExecutor) -> bool:
    """Whether a kept pool can take work: not broken, and none of its processes ended.

    A worker that died while the pool was idle (killed, out of memory) breaks the pool
    at once or as soon as its manager thread notices; either way the next ``submit``
    would fail a call in which nothing died. ``concurrent.futures`` has no public
    health check, so this reads the executor's state, and treats what it cannot read
    as healthy (the call then fails as before, naming the dead worker).
    """
    if getattr(pool, "_broken", False) or getattr(pool, "_shutdown_thread", False):
        return False
    processes = getattr(pool, "_processes", None) or {}
    return all(process.exitcode is None for process in list(processes.values()))


def _process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """The kept pool of ``workers`` processes; a new one if it is missing or unhealthy."""
    with _POOL_LOCK:
        pool = _POOLS.get(workers)
        if pool is not None and not _healthy(pool):
            del _POOLS[workers]
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        if pool is None:
            context = multiprocessing.get_context("spawn")
            pool = _POOLS[workers] = cf.ProcessPoolExecutor(workers, mp_context=context)
        return pool


def _discard_pool(pool: cf.Executor) -> None:
    with _POOL_LOCK:
        for workers, kept in list(_POOLS.items()):
            if kept is pool:
                del _POOLS[workers]
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown(wait: bool = True) -> None:
    """Stop the worker processes that :func:`map_batches` keeps for reuse.

    Each number of workers has its own pool of processes, started on first use; the
    next call that needs processes starts new ones. Batches still running are finished
    first when ``wait`` is True.

    Examples
    --------
    >>> from vecpipe.parallel import shutdown
    >>> shutdown()
    """
    with _POOL_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.shutdown(wait=wait, cancel_futures=True)


# -- choosing --------------------------------------------------------------------------------------


def _budgets(steps: tuple[Callable[..., Any], ...], workers: int) -> tuple[int, int]:
    """Numba threads per thread worker and per process worker."""
    share = max(1, get_config().threads // workers)
    if workers > 1 and _parallel_stages(steps) and not _layer_is_thread_safe():
        return 1, share  # budget 1: the dispatcher runs no parallel kernel
    return share, share


def _probe(steps: tuple[Callable[..., Any], ...], call: _Call, budget: int) -> tuple[str, Any]:
    """Run one call here (tuning for the workers' budget); return the executor and result."""
    seen: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
    with config(threads=budget):
        out = _apply(steps, *call, seen=seen)
        holds = isinstance(out, _Failure) or any(_holds_gil(*s) for s in seen)
    if holds and _unsendable(steps) is None:
        return "processes", out
    return "threads", out


def choose_executor(
    target: Stage | Pipeline | Callable[..., Any],
    sample_batch: Any,
    *,
    star: bool = False,
    workers: int | None = None,
) -> str:
    """Return what ``executor="auto"`` would use for batches like ``sample_batch``.

    The target is called on the sample here (tuning its stages for a worker's thread
    budget, as ``auto`` does with the first batch); then, for each stage, the variant
    that ran is looked up: if all of them release the GIL (``releases_gil`` True, or
    None for NumPy variants), threads; if any holds it (the reference, ``"python"``
    variants, a kernel compiled without ``nogil``), processes. Plain functions count as
    holding the GIL. Targets that worker processes cannot import (stages defined inside
    a function or in an interactive session) get threads.

    Parameters
    ----------
    target : Stage, Pipeline or callable
        What :func:`map_batches` would run.
    sample_batch : object
        One batch (a tuple of arguments when ``star`` is True).
    star : bool, default False
        Unpack a tuple batch into positional arguments.
    workers : int, optional
        The number of workers (it sets the thread budget the stages are tuned for).

    Returns
    -------
    str
        ``"threads"`` or ``"processes"``.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> from vecpipe.parallel import choose_executor
    >>> @vp.stage(auto=False)
    ... def halve(x):
    ...     return np.array([v / 2 for v in x])
    >>> @halve.variant("numpy")
    ... def _(x):
    ...     return x / 2
    >>> choose_executor(halve, np.arange(10_000.0), workers=2)
    'threads'
    """
    where = "choose_executor"
    steps = _steps(target, where)
    workers = _check_workers(workers, where, None)
    star = _check_flag(star, "star", where)
    thread_budget, _ = _budgets(steps, workers)
    return _probe(steps, _as_call(sample_batch, star), thread_budget)[0]


# -- running ---------------------------------------------------------------------------------------


def _as_call(batch: Any, star: bool) -> _Call:
    if star and isinstance(batch, tuple):
        return batch, {}
    return (batch,), {}


def map_batches(
    target: Stage | Pipeline | Callable[..., Any],
    batches: Iterable[Any],
    *,
    workers: int | None = None,
    executor: str | cf.Executor = "auto",
    ordered: bool = True,
    star: bool = False,
    max_nbytes: int | None = MAX_NBYTES,
) -> Iterator[Any]:
    """Run a stage, pipeline or function over batches in parallel, streaming the results.

    Parameters
    ----------
    target : Stage, Pipeline or callable
        Called once per batch. For a pipeline, each stage runs in turn in the same
        worker.
    batches : iterable
        Any iterable, possibly endless; it is read lazily, as workers free up. Each batch
        is passed as one argument: a tuple batch is *not* unpacked unless ``star=True``.
    workers : int, optional
        How many batches run at once. Default: the cores this process may use; for a
        pool passed as ``executor``, its size. Each worker runs under
        ``vp.config(threads=max(1, budget // workers))``, where ``budget`` is
        ``vp.get_config().threads`` here.
    executor : {"auto", "threads", "processes"} or concurrent.futures.Executor
        ``"threads"`` for stages whose variants release the GIL (Numba kernels, NumPy);
        ``"processes"`` for stages that hold it (the reference, ``"python"`` variants);
        ``"auto"`` runs the first batch here and decides from the variants that ran (see
        :func:`choose_executor`). A ``ThreadPoolExecutor`` or a process pool (started
        with ``spawn`` or ``forkserver``) of your own is used as it is and left open.
    ordered : bool, default True
        Yield results in input order; with False, as they complete.
    star : bool, default False
        Unpack each tuple batch into the first stage's positional arguments.
    max_nbytes : int or None, default 1 MiB
        Processes only: NumPy arrays at least this large go to workers as read-only
        ``np.memmap`` views of a file in ``/dev/shm`` rather than as pickled copies;
        None pickles everything.

    Returns
    -------
    iterator
        A generator of results. At most ``2 * workers`` batches are in flight at any
        time, so memory stays bounded on long inputs. Closing the generator early (or
        leaving a ``for`` loop) cancels the batches not yet started.

    Raises
    ------
    BatchError
        When a batch raises: ``index`` and ``stage`` say where, ``__cause__`` is the
        exception. Every result before that batch has been yielded.
    WorkerDiedError
        When a worker process dies; a BatchError whose ``index`` is the first batch
        whose result was lost.
    InvalidArgument
        For bad arguments (checked at the call, before any batch runs), and for
        ``executor="processes"`` with a stage that worker processes cannot import.

    Notes
    -----
    A thread worker runs with a copy of the caller's context (so ``vp.config`` settings
    apply there), and tuning happens once per kind of input: under ``"auto"`` on the
    first batch, here; otherwise in the first worker to meet it, while the others wait.
    Each worker process tunes for itself unless wisdom already holds the answer.

    Stages sent to processes travel by module and name, so define them at the top level
    of an importable module. A plain function that launches Numba parallel kernels is
    not covered by the threading-layer safeguards: run it with ``executor="processes"``
    under the ``workqueue`` layer.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> from vecpipe.parallel import map_batches
    >>> @vp.stage
    ... def shift(x):
    ...     return x + 1.0
    >>> batches = (np.full(3, float(i)) for i in range(4))
    >>> [float(r.sum()) for r in map_batches(shift, batches, workers=2, executor="threads")]
    [3.0, 6.0, 9.0, 12.0]

    A tuple batch is one argument unless ``star=True``:

    >>> pairs = [(np.ones(2), 2.0), (np.ones(2), 3.0)]
    >>> list(map_batches(np.multiply, pairs, star=True, workers=2, executor="threads"))
    [array([2., 2.]), array([3., 3.])]
    """
    where = "map_batches"
    steps = _steps(target, where)
    kind, pool = _check_executor(executor, where)
    workers = _check_workers(workers, where, pool)
    ordered = _check_flag(ordered, "ordered", where)
    star = _check_flag(star, "star", where)
    max_nbytes = _check_nbytes(max_nbytes, where)
    try:
        iterator = iter(batches)
    except TypeError:
        msg = f"{where}: batches={batches!r} is not iterable; pass a list or a generator"
        raise InvalidArgument(msg) from None
    if kind == "processes":
        _require_sendable(steps, where)
    calls = (_as_call(batch, star) for batch in iterator)
    return _run(steps, calls, workers, kind, pool, ordered, max_nbytes)


def _require_sendable(steps: tuple[Callable[..., Any], ...], where: str) -> None:
    reason = _unsendable(steps)
    if reason is not None:
        msg = (
            f"{where}: {reason}, so worker processes cannot import it (they find stages "
            "and functions by module and name); define it at the top level of an "
            "importable module, or pass executor='threads'"
        )
        raise InvalidArgument(msg)


def _run(
    steps: tuple[Callable[..., Any], ...],
    calls: Iterator[_Call],
    workers: int,
    kind: str,
    pool: cf.Executor | None,
    ordered: bool,
    max_nbytes: int | None,
) -> Iterator[Any]:
    """The generator behind :func:`map_batches` and :func:`split`."""
    thread_budget, process_budget = _budgets(steps, workers)
    settings = get_config()
    if pool is None and workers == 1 and kind != "processes":
        for i, call in enumerate(calls):
            # Settings are entered per call: a block held across a yield would leak into
            # the consumer's context.
            with config(threads=thread_budget):
                out = _apply(steps, *call)
            if isinstance(out, _Failure):
                raise _batch_error(i, out)
            yield out
        return
    head: list[Any] = []  # results computed here, yielded first
    index = 0
    if kind == "auto":
        first = next(calls, None)
        if first is None:
            return
        kind, out = _probe(steps, first, thread_budget)
        if isinstance(out, _Failure):
            raise _batch_error(0, out)
        head.append(out)
        index = 1

    own_pool: cf.Executor | None = None
    shared = False  # the kept process pool: discarded if a worker dies
    if pool is None:
        if kind == "threads":
            pool = own_pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="vecpipe")
        else:
            pool = _process_pool(workers)
            shared = True
    executor: cf.Executor = pool
    processes = kind == "processes"
    locked = frozenset() if processes else _pinned_parallel(steps)
    if locked and _layer_is_thread_safe():
        locked = frozenset()
    spill = _Spill(max_nbytes)
    process_settings = (settings.mode, process_budget, settings.require_verified)
    cache = os.environ.get("VECPIPE_CACHE_DIR")

    submitted = 0  # batches of this call handed to the pool

    def submit(call: _Call) -> tuple[cf.Future[Any], list[str]]:
        nonlocal executor, submitted
        if processes:
            payload, files = spill.dumps((steps, *call))
            try:
                future = executor.submit(_process_task, payload, process_settings, cache)
            except BrokenProcessPool:
                if not (shared and submitted == 0):
                    spill.release(files)
                    raise
                # The kept pool broke before this call gave it anything (a worker died
                # between the health check and now): no batch of this call was lost, so
                # a fresh pool takes it.
                _discard_pool(executor)
                executor = _process_pool(workers)
                future = executor.submit(_process_task, payload, process_settings, cache)
            submitted += 1
            return future, files
        args, kwargs = call
        context = contextvars.copy_context()  # the caller's settings and context variables
        task = functools.partial(_thread_task, steps, args, kwargs, thread_budget, locked)
        return executor.submit(context.run, task), []

    # index -> (future, files); dicts keep insertion (= input) order.
    pending: dict[int, tuple[cf.Future[Any], list[str]]] = {}
    window = 2 * workers
    stopped = False  # a batch could not be submitted: take no more

    def fill() -> None:
        # Failures to submit become failed futures, raised in their turn, so that every
        # result before them is still delivered.
        nonlocal index, stopped
        while not stopped and len(pending) < window:
            call = next(calls, None)
            if call is None:
                return
            try:
                pending[index] = submit(call)
            except BrokenProcessPool as exc:
                stopped = True
                pending[index] = (_failed_future(exc), [])
            except Exception as exc:
                stopped = True
                error = BatchError(
                    f"batch {index} could not be sent to a worker process: {_first_line(exc)}",
                    index=index,
                )
                error.__cause__ = exc
                pending[index] = (_failed_future(error), [])
            index += 1

    def outcome(i: int) -> Any:
        future, files = pending.pop(i)
        try:
            try:
                out = future.result()
            finally:
                spill.release(files)
        except BrokenProcessPool as exc:
            if shared:
                _discard_pool(executor)
            in_flight = [i, *pending]
            span = f"batch {i}" if len(in_flight) == 1 else f"one of batches {i}..{max(in_flight)}"
            msg = (
                f"a worker process died while running {span} ({exc}); the results before "
                f"batch {i} were delivered. Workers die when the system kills them (out of "
                "memory), when code calls os._exit, or when compiled code crashes: call the "
                "stage on that batch here, or use executor='threads', to see the error"
            )
            raise WorkerDiedError(msg, index=i) from exc
        except BatchError:
            raise
        except Exception as exc:
            msg = f"batch {i} failed in a worker: {_first_line(exc)}"
            raise BatchError(msg, index=i) from exc
        if isinstance(out, _Failure):
            raise _batch_error(i, out)
        return out

    try:
        fill()
        yield from head
        while pending:
            if ordered:
                ready = [next(iter(pending))]
            else:
                futures = {f: i for i, (f, _) in pending.items()}
                done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
                ready = sorted(futures[f] for f in done)
            results: list[Any] = []
            error: BatchError | None = None
            for i in ready:
                try:
                    results.append(outcome(i))
                except BatchError as exc:
                    error = exc
                    break
            if error is None:
                fill()
            yield from results  # earlier results first, then the error
            if error is not None:
                raise error
    finally:
        for future, files in pending.values():
            future.cancel()
            spill.release(files)
        if own_pool is not None:
            own_pool.shutdown(wait=False, cancel_futures=True)
        spill.close()


def _failed_future(exc: BaseException) -> cf.Future[Any]:
    future: cf.Future[Any] = cf.Future()
    future.set_exception(exc)
    return future


# -- splitting one large input ---------------------------------------------------------------------


def _rows(value: Any) -> int | None:
    if isinstance(value, pd.Series | pd.DataFrame):
        return len(value)
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        return len(value)
    return None


def _take(value: Any, n: int, start: int, stop: int) -> Any:
    if _rows(value) != n:
        return value
    if isinstance(value, pd.Series | pd.DataFrame):
        return value.iloc[start:stop]
    return value[start:stop]


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return type(value).__name__ + (f" of shape {shape}" if shape is not None else "")


def _join(outputs: list[Any], sizes: list[int], stage: str) -> Any:
    first = outputs[0]
    aligned = all(_rows(o) == s for o, s in zip(outputs, sizes, strict=True))
    if aligned and all(type(o) is type(first) for o in outputs):
        if isinstance(first, np.ndarray):
            return np.concatenate(outputs)
        if isinstance(first, pd.Series | pd.DataFrame):
            return pd.concat(outputs)
    if isinstance(first, tuple) and all(
        isinstance(o, tuple) and len(o) == len(first) for o in outputs
    ):
        return tuple(_join([o[k] for o in outputs], sizes, stage) for k in range(len(first)))
    msg = (
        f"split: stage {stage!r} returned {_describe(first)} for a chunk of {sizes[0]} "
        f"row{'s' if sizes[0] != 1 else ''}, "
        "not one row per input row, so the chunks' results cannot be joined; call the stage "
        "on the whole input, or combine per-chunk results yourself with map_batches"
    )
    raise InvalidArgument(msg)


def split(
    target: Stage | Pipeline,
    *args: Any,
    workers: int | None = None,
    chunks: int | None = None,
    executor: str | cf.Executor = "auto",
    **kwargs: Any,
) -> Any:
    """Call a chunkable stage on one large input, in row chunks processed in parallel.

    Every argument that is an array, Series or DataFrame with as many rows (along axis
    0) as the first such argument is cut into the same chunks; other arguments go whole
    to every chunk. The chunks' results are joined with ``np.concatenate`` or
    ``pd.concat`` (tuples element by element), in order.

    Parameters
    ----------
    target : Stage or Pipeline
        A stage declared ``chunkable=True`` (or ``elementwise=True``), or a pipeline of
        such stages: a slice of rows must be a valid input, giving the matching rows.
    *args, **kwargs
        The arguments, as for calling the stage.
    workers : int, optional
        Chunks processed at once (default: the cores this process may use).
    chunks : int, optional
        How many chunks (default: ``4 * workers``, at most one per row).
    executor : {"auto", "threads", "processes"} or concurrent.futures.Executor
        As for :func:`map_batches`; ``"auto"`` picks threads for stages whose variants
        release the GIL.

    Returns
    -------
    object
        What calling the stage on the whole input returns.

    Raises
    ------
    InvalidArgument
        If a stage is not chunkable, if no argument has rows to split, or if the stage's
        output is not one row per input row.
    BatchError
        If a chunk raises (``index`` is the chunk's).

    Notes
    -----
    ``workers``, ``chunks`` and ``executor`` are taken by ``split`` itself: a stage with
    parameters of those names must get them positionally.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> from vecpipe.parallel import split
    >>> @vp.stage(chunkable=True)
    ... def scaled(x, factor):
    ...     return x * factor
    >>> split(scaled, np.arange(6.0), 10.0, workers=2, executor="threads")
    array([ 0., 10., 20., 30., 40., 50.])
    """
    where = "split"
    if not isinstance(target, Stage | Pipeline):
        msg = (
            f"split: target {target!r} is not a vecpipe stage or pipeline; split needs "
            "stages declared @vp.stage(chunkable=True)"
        )
        raise InvalidArgument(msg)
    steps = _steps(target, where)
    for step in steps:
        if not step.chunkable:  # type: ignore[attr-defined]
            msg = (
                f"split: stage {_name(step)!r} is not chunkable, so a slice of its input may "
                "not give the matching slice of its output; declare it "
                "@vp.stage(chunkable=True) if it works row by row, or call it on the whole "
                "input"
            )
            raise InvalidArgument(msg)
    kind, pool = _check_executor(executor, where)
    workers = _check_workers(workers, where, pool)
    n = next((r for r in map(_rows, (*args, *kwargs.values())) if r is not None), None)
    if n is None:
        msg = (
            f"split: stage {_name(steps[0])!r} got no array, Series or DataFrame to cut "
            "into rows; pass the large input as an argument"
        )
        raise InvalidArgument(msg)
    if chunks is None:
        chunks = CHUNKS_PER_WORKER * workers
    elif isinstance(chunks, bool) or not isinstance(chunks, int) or chunks < 1:
        msg = f"split: chunks={chunks!r} must be a positive int (or None)"
        raise InvalidArgument(msg)
    chunks = min(chunks, n)
    if chunks <= 1:
        return target(*args, **kwargs)
    if kind == "processes":
        _require_sendable(steps, where)
    bounds = [n * k // chunks for k in range(chunks + 1)]
    spans = list(itertools.pairwise(bounds))
    calls = (
        (
            tuple(_take(a, n, lo, hi) for a in args),
            {key: _take(v, n, lo, hi) for key, v in kwargs.items()},
        )
        for lo, hi in spans
    )
    outputs = list(_run(steps, calls, workers, kind, pool, True, MAX_NBYTES))
    return _join(outputs, [hi - lo for lo, hi in spans], _name(steps[-1]))
