"""Run stages and pipelines over Dask collections, partition by partition.

:func:`map_partitions` (also ``stage.to_dask(data)`` and ``pipeline.to_dask(data)``)
applies a stage, a pipeline, or any function of a pandas partition that calls vecpipe
stages to every partition of a ``dask.dataframe`` collection, or to every block of rows
of a ``dask.array``. It returns a lazy Dask collection; nothing runs until ``compute``.

What happens at the call
------------------------
1. **meta**: Dask needs the type of the output without computing a partition. Unless
   ``meta=`` is given, the target's *reference* runs on a small sample (``sample=``, or
   the collection's ``_meta_nonempty``: two rows of made-up values of the right dtypes)
   under ``vp.config(mode="reference")``, and the empty version of its output is the
   meta.
2. **tuning** (``tune=``): one representative partition (partition 0 by default) is
   computed and the target runs on it here, so that each stage measures its variants
   once, on a real partition, for the thread budget the tasks will have. In
   ``reference`` mode there is nothing to tune and no partition is computed.
3. **shipping** (with a ``distributed`` client): this process's wisdom is exported and
   registered on the cluster as a :class:`WisdomPlugin`. Every worker, and every worker
   that joins or restarts later, imports it, so workers take the decisions measured here
   ("from wisdom") instead of all measuring at once; the plugin also calls the target
   once on a few rows, which compiles the chosen Numba kernels (or loads them from
   Numba's disk cache) before the first partition arrives.

On the workers
--------------
Each task runs the target on its partition under the caller's mode and a fixed thread
budget (``threads=``), records per stage which variant ran and how long it took (see
:func:`runs`), and returns the output. A variant that fails there falls back to the
next best, finally the reference, with a warning in that worker's log, as it would on
one machine. A worker that dies is Dask's to handle: the scheduler reruns its tasks
elsewhere (up to ``distributed.scheduler.allowed-failures`` times per task).

Group-wise stages
-----------------
Each partition is processed on its own. A stage that computes per group (a group mean,
a per-key cumulative sum) therefore equals the single-machine result only when every
group lies in one partition. Pass ``by=`` (the group columns): the collection is first
shuffled on them (``ddf.shuffle(on=by)``), so that it does. Rows come back in another
order; compare after sorting the index. A collection already partitioned by the key
(``set_index(key)``, or read that way) needs no ``by``.

Stages in worker processes
--------------------------
Stages travel by module and qualified name (as with ``executor="processes"``), so a
stage sent to ``distributed`` process workers must be defined at the top level of a
module the workers can import; :func:`map_partitions` checks this when it has a client.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
from dask.dataframe.utils import make_meta

from vecpipe.errors import InvalidArgument
from vecpipe.explain import COLUMNS, Explanation
from vecpipe.pipeline import Pipeline
from vecpipe.settings import config, get_config
from vecpipe.stage import Stage
from vecpipe.wisdom import get_wisdom

try:
    from distributed import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover - dask without distributed: threaded scheduler only
    _PluginBase = object  # type: ignore[assignment,misc]

__all__ = [
    "PLUGIN_NAME",
    "RUN_COLUMNS",
    "WARM_ROWS",
    "PartitionRun",
    "WisdomPlugin",
    "clear_runs",
    "explain",
    "map_partitions",
    "runs",
    "ship_wisdom",
]

#: The name under which :func:`ship_wisdom` registers its plugin (a new one replaces it).
PLUGIN_NAME = "vecpipe-wisdom"
#: Rows of the tuning partition that the plugin runs on each worker to warm the kernels.
WARM_ROWS = 256
#: The columns of :func:`runs`.
RUN_COLUMNS = ("worker", "partition", "rows", "stage", "variant", "seconds")
#: How many stage runs each process keeps for :func:`runs` (the oldest are dropped).
_LOG_SIZE = 100_000

_Settings = tuple[str, int, bool]  # mode, threads, require_verified


# -- what ran --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PartitionRun:
    """One stage's run on one partition: where, which variant, how long."""

    worker: str
    partition: int | None
    rows: int | None
    stage: str
    variant: str
    seconds: float


_LOG: collections.deque[PartitionRun] = collections.deque(maxlen=_LOG_SIZE)


def _worker_name() -> str:
    """The distributed worker's address, or ``local`` in a process without one."""
    if "distributed" in sys.modules:
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:  # not inside a worker
            pass
    return "local"


def _rows(value: Any) -> int | None:
    shape = getattr(value, "shape", None)
    return int(shape[0]) if shape else None


def _step_name(step: Callable[..., Any]) -> str:
    if isinstance(step, Stage):
        return step.name
    return str(getattr(step, "__name__", None) or type(step).__name__)


def _apply(
    target: Stage | Pipeline | Callable[..., Any],
    part: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    partition: int | None,
) -> Any:
    """Run the target on one partition, logging each stage's variant and time."""
    worker = _worker_name()
    rows = _rows(part)
    steps: Sequence[Callable[..., Any]] = (
        target.stages if isinstance(target, Pipeline) else (target,)
    )
    value: Any = part
    for position, step in enumerate(steps):
        call_args, call_kwargs = ((part, *args), kwargs) if position == 0 else ((value,), {})
        start = time.perf_counter()
        value = step(*call_args, **call_kwargs)
        seconds = time.perf_counter() - start
        if isinstance(step, Stage):
            variant = step.choice(*call_args, **call_kwargs) or "reference"
        else:
            variant = "function"  # its own stages, if any, are in explain()
        _LOG.append(PartitionRun(worker, partition, rows, _step_name(step), variant, seconds))
    return value


def _call(target: Any, part: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call the target here (sample, tuning, warm-up) without touching its ``last_run``."""
    if not isinstance(target, Pipeline):
        return target(part, *args, **kwargs)
    value = part
    for position, stage in enumerate(target.stages):
        value = stage(part, *args, **kwargs) if position == 0 else stage(value)
    return value


def _run_settings(settings: _Settings) -> Any:
    mode, threads, require_verified = settings
    import numba

    threads = min(threads, int(getattr(numba.config, "NUMBA_NUM_THREADS")))  # noqa: B009
    return config(mode=mode, threads=threads, require_verified=require_verified)  # type: ignore[arg-type]


def _token(target: Any) -> Hashable:
    if isinstance(target, Pipeline):
        return ("pipeline", *(_token(s) for s in target.stages))
    if isinstance(target, Stage):
        return ("stage", target.id, id(target))
    try:
        return ("function", dask.base.tokenize(target, ensure_deterministic=True))
    except Exception:
        return ("function", id(target))


class _PartitionTask:
    """The function Dask calls on each partition (pickled to workers with the graph)."""

    def __init__(self, target: Stage | Pipeline | Callable[..., Any], settings: _Settings) -> None:
        self.target = target
        self.settings = settings
        label = "pipeline" if isinstance(target, Pipeline) else _step_name(target)
        self.__name__ = f"vecpipe-{label}"

    def __dask_tokenize__(self) -> Hashable:
        # Stages defined in a session cannot be pickled, which Dask's default token needs;
        # a stage is identified by its id and its object within this process.
        return ("vecpipe.dask._PartitionTask", _token(self.target), self.settings)

    def __call__(
        self,
        part: Any,
        *args: Any,
        partition_info: dict[str, Any] | None = None,
        block_info: dict[Any, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        partition: int | None = None
        if partition_info is not None:
            partition = int(partition_info["number"])
        elif block_info is not None and 0 in block_info:
            partition = int(block_info[0]["chunk-location"][0])
        with _run_settings(self.settings):
            return _apply(self.target, part, args, kwargs, partition)


# -- checking the arguments ------------------------------------------------------------------------

_FRAMES = (dd.DataFrame, dd.Series)


def _short(value: Any) -> str:
    """A one-line description of an argument for messages: no multi-line reprs."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"<{type(value).__name__} of shape {shape}>"
    text = repr(value)
    return text if len(text) <= 80 and "\n" not in text else f"<{type(value).__name__}>"


def _check_target(target: Any) -> None:
    if isinstance(target, Stage | Pipeline) or callable(target):
        return
    msg = (
        f"vecpipe.dask.map_partitions: target={_short(target)} of type {type(target).__name__} is "
        "not a stage, a pipeline or a function; pass what you would call on one partition"
    )
    raise InvalidArgument(msg)


def _check_data(data: Any) -> None:
    if isinstance(data, (*_FRAMES, da.Array)):
        return
    msg = (
        f"vecpipe.dask.map_partitions: data={_short(data)} of type {type(data).__name__} is not a "
        "Dask collection; pass a dask.dataframe DataFrame or Series or a dask.array Array "
        "(e.g. dask.dataframe.from_pandas(df, npartitions=8))"
    )
    raise InvalidArgument(msg)


def _check_by(by: Any, data: Any) -> list[Hashable] | None:
    if by is None:
        return None
    columns = [by] if isinstance(by, str) or not isinstance(by, list | tuple) else list(by)
    if not isinstance(data, dd.DataFrame):
        msg = (
            f"vecpipe.dask.map_partitions: by={by!r} needs a dask DataFrame to shuffle on its "
            f"columns, but data is a {type(data).__name__}; leave by=None"
        )
        raise InvalidArgument(msg)
    missing = [c for c in columns if c not in data.columns]
    if not columns or missing:
        msg = (
            f"vecpipe.dask.map_partitions: by={by!r} names no column of data "
            f"({', '.join(map(repr, missing or columns))} not among {list(data.columns)!r}); "
            "pass the column(s) that identify the groups"
        )
        raise InvalidArgument(msg)
    return columns


def _check_tune(tune: Any, partitions: int) -> int | None:
    if isinstance(tune, bool):
        return 0 if tune and partitions > 0 else None
    if isinstance(tune, int) and 0 <= tune < partitions:
        return tune
    msg = (
        f"vecpipe.dask.map_partitions: tune={tune!r} must be True (tune on partition 0), "
        f"False (let the workers tune) or a partition number in 0..{partitions - 1}"
    )
    raise InvalidArgument(msg)


def _check_threads(threads: Any) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        msg = (
            f"vecpipe.dask.map_partitions: threads={threads!r} must be a positive int (Numba "
            "threads per task) or None (the cores divided among the tasks that run at once)"
        )
        raise InvalidArgument(msg)
    return threads


def _stages_of(target: Any) -> list[Stage]:
    if isinstance(target, Pipeline):
        return list(target.stages)
    return [target] if isinstance(target, Stage) else []


def _require_sendable(target: Any) -> None:
    from vecpipe.parallel import _unsendable

    reason = _unsendable(tuple(_stages_of(target)))
    if reason is not None:
        msg = (
            f"vecpipe.dask.map_partitions: {reason}, so distributed worker processes "
            "cannot import it (they find stages by module and name); define it at the top "
            "level of an importable module, or run on the threaded scheduler (no client)"
        )
        raise InvalidArgument(msg)


# -- the client and the thread budget --------------------------------------------------------------


def _default_client() -> Any:
    """The current ``distributed`` client, or None (without importing distributed)."""
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _check_client(client: Any) -> Any:
    if client is None:
        return _default_client()
    if "distributed" in sys.modules:
        from distributed import Client

        if isinstance(client, Client):
            return client
    msg = (
        f"vecpipe.dask: client={_short(client)} of type {type(client).__name__} is not a "
        "distributed.Client; pass one, or None for the default client (if any)"
    )
    raise InvalidArgument(msg)


def _tasks_at_once(client: Any) -> int:
    if client is not None:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
    configured = dask.config.get("num_workers", None)
    if isinstance(configured, int) and configured > 0:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# -- meta ----------------------------------------------------------------------------------------


def _array_sample(data: da.Array) -> np.ndarray:
    rows = min(2, data.shape[0]) if not np.isnan(data.shape[0]) else 2
    shape = (rows, *(int(c[0]) for c in data.chunks[1:]))
    return np.ones(shape, dtype=data.dtype)


def _sample_output(
    target: Any, sample: Any, args: tuple[Any, ...], kwargs: dict[str, Any], origin: str
) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # made-up values: 0/0 and such
            with config(mode="reference"):
                return _call(target, sample, args, kwargs)
    except Exception as exc:
        msg = (
            f"vecpipe.dask.map_partitions: cannot derive meta: running "
            f"{_step_name(target) if not isinstance(target, Pipeline) else repr(target)} "
            f"(reference) on {origin}, {_kind_of(sample)}, raised {type(exc).__name__}: "
            f"{exc}. Each partition is passed to it as it is: if it takes something else "
            "(an array, one column), map it over that (ddf['col'], "
            "ddf.to_dask_array(lengths=True)); if it needs realistic values, pass sample= (a "
            "small pandas partition or array) or meta= (an empty object like the output)"
        )
        raise InvalidArgument(msg) from exc


def _kind_of(sample: Any) -> str:
    """What the target was given, in words: ``a pandas DataFrame (columns 'a', 'b')``."""
    if isinstance(sample, pd.DataFrame):
        columns = ", ".join(repr(c) for c in list(sample.columns)[:8])
        more = ", ..." if len(sample.columns) > 8 else ""
        return f"a pandas DataFrame (columns {columns}{more})"
    if isinstance(sample, pd.Series):
        return f"a pandas Series ({sample.dtype})"
    if isinstance(sample, np.ndarray):
        return f"a NumPy array ({sample.dtype}, shape {sample.shape})"
    return f"a {type(sample).__name__}"


# -- mapping ---------------------------------------------------------------------------------------


def map_partitions(
    target: Stage | Pipeline | Callable[..., Any],
    data: Any,
    *args: Any,
    meta: Any = None,
    sample: Any = None,
    by: str | Sequence[Hashable] | None = None,
    tune: bool | int = True,
    threads: int | None = None,
    client: Any = None,
    **kwargs: Any,
) -> Any:
    """Apply a stage, pipeline or function to every partition of a Dask collection.

    Parameters
    ----------
    target : Stage, Pipeline or callable
        Called as ``target(partition, *args, **kwargs)`` on each pandas partition (or
        NumPy block of rows). A plain function may call vecpipe stages inside.
    data : dask.dataframe.DataFrame, dask.dataframe.Series or dask.array.Array
        The collection. An array must have one block along every axis but the first
        (``data.rechunk({1: -1})``): a block is then a set of whole rows.
    *args, **kwargs
        Further arguments for the target, the same for every partition (as in Dask's
        ``map_partitions``).
    meta : optional
        Dask's meta (an empty object like the output). Default: derived by running the
        target's reference on ``sample``.
    sample : pandas object or numpy.ndarray, optional
        A small input with realistic values, for the meta. Default: the collection's
        ``_meta_nonempty`` (made-up values of the right dtypes), or for an array two
        rows of ones.
    by : str or list of str, optional
        Group columns: shuffle the DataFrame on them first, so that every group lies in
        one partition. Needed for group-wise stages to give the single-machine result;
        rows then come back in another order.
    tune : bool or int, default True
        Compute one partition (0, or the one given) and run the target on it here, so
        stages measure their variants once, before the tasks run. With False each
        process tunes on its first partition. Nothing is computed in ``reference`` mode.
    threads : int, optional
        Numba threads per task (part of each stage's dispatch key). Default: this
        process's budget (``vp.get_config().threads``) divided by the number of tasks
        that run at once (the client's worker threads, or the threaded scheduler's
        pool), at least 1.
    client : distributed.Client, optional
        Where to ship the wisdom (see :func:`ship_wisdom`). Default: the current default
        client, if any; with none, the tasks run in this process (threaded or
        synchronous scheduler) and share its decisions directly.

    Returns
    -------
    dask.dataframe.DataFrame, dask.dataframe.Series or dask.array.Array
        Lazy: call ``compute`` (or ``client.compute``) to run it.

    Raises
    ------
    InvalidArgument
        For bad arguments; when the meta cannot be derived (pass ``sample`` or
        ``meta``); when a stage cannot be imported by distributed worker processes.

    Notes
    -----
    Tuning costs one partition, computed and run here (its result is not reused). The
    thread budget is fixed when the graph is built, so the keys measured here are the
    ones the tasks meet. The original collection and the partitions are not modified by
    vecpipe (a reference that writes into its input still does, as it would anywhere).

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> import vecpipe as vp
    >>> @vp.stage(auto=False)
    ... def with_total(df):
    ...     return df.assign(total=df["a"] + df["b"])
    >>> ddf = dd.from_pandas(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0]}),
    ...                      npartitions=2)
    >>> out = vp.dask.map_partitions(with_total, ddf)
    >>> out.compute(scheduler="sync")["total"].tolist()
    [11.0, 22.0, 33.0]
    >>> with_total.to_dask(ddf).compute(scheduler="threads")["total"].tolist()
    [11.0, 22.0, 33.0]
    """
    _check_target(target)
    _check_data(data)
    columns = _check_by(by, data)
    threads = _check_threads(threads)
    client = _check_client(client)
    if isinstance(data, da.Array):
        if data.ndim == 0:
            msg = "vecpipe.dask.map_partitions: data is a 0-d dask array; it has no rows to map"
            raise InvalidArgument(msg)
        split_axes = [axis for axis, n in enumerate(data.numblocks) if axis > 0 and n > 1]
        if split_axes:
            msg = (
                f"vecpipe.dask.map_partitions: data has {data.numblocks} blocks, so a block "
                f"is not a set of whole rows (axes {split_axes} are split); rechunk it with "
                f"data.rechunk({{{', '.join(f'{a}: -1' for a in split_axes)}}})"
            )
            raise InvalidArgument(msg)
    if client is not None:
        _require_sendable(target)

    settings = get_config()
    if threads is None:
        threads = max(1, settings.threads // _tasks_at_once(client))
    task_settings: _Settings = (settings.mode, threads, settings.require_verified)

    # The meta, from the reference on a small sample: no partition is computed for it.
    if meta is None:
        if sample is not None:
            out = _sample_output(target, sample, args, kwargs, "the sample")
        elif isinstance(data, da.Array):
            sample = _array_sample(data)
            out = _sample_output(target, sample, args, kwargs, "two rows of ones")
        else:
            sample = data._meta_nonempty
            out = _sample_output(
                target, sample, args, kwargs, "the collection's _meta_nonempty (made-up values)"
            )
    else:
        out = None

    # Tuning here, on a real partition, before anything reaches the workers.
    tune_at = _check_tune(tune, data.npartitions)
    warm: tuple[Any, Any, _Settings] | None = None
    if tune_at is not None and settings.mode != "reference":
        part = data.partitions[tune_at].compute(
            **({"scheduler": client} if client is not None else {})
        )
        with _run_settings(task_settings):
            _call(target, part, args, kwargs)
            head = part[:WARM_ROWS] if isinstance(part, np.ndarray) else part.iloc[:WARM_ROWS]
            if client is not None and len(head):
                _call(target, head, args, kwargs)  # the warm-up's key too: workers need not tune
                warm = (target, head, task_settings)
    if client is not None:
        ship_wisdom(client, warm=warm, args=args, kwargs=kwargs)

    task = _PartitionTask(target, task_settings)
    if isinstance(data, da.Array):
        return _map_blocks(task, data, args, kwargs, meta, out, sample)
    if columns is not None:
        data = data.shuffle(on=columns)
    if meta is None:
        meta = make_meta(out)
    return data.map_partitions(task, *args, meta=meta, **kwargs)


def _map_blocks(
    task: _PartitionTask,
    data: da.Array,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    meta: Any,
    out: Any,
    sample: Any,
) -> da.Array:
    if meta is not None:
        meta = np.asarray(meta)
        return da.map_blocks(task, data, *args, dtype=meta.dtype, meta=meta, **kwargs)
    if not isinstance(out, np.ndarray) or out.ndim != data.ndim:
        msg = (
            f"vecpipe.dask.map_partitions: on a block of shape {np.shape(sample)} the target "
            f"returned {type(out).__name__} of shape {np.shape(out)}; blocks of a dask array "
            f"must map to arrays with {data.ndim} dimension(s). Map a dask DataFrame instead, "
            "or use dask.array.map_blocks with drop_axis/new_axis yourself"
        )
        raise InvalidArgument(msg)
    chunks: Any = None
    if out.shape[1:] != np.shape(sample)[1:]:
        msg = (
            f"vecpipe.dask.map_partitions: the target maps a block of shape "
            f"{np.shape(sample)} to shape {out.shape}: only the number of rows may change"
        )
        raise InvalidArgument(msg)
    if out.shape[0] != np.shape(sample)[0]:
        chunks = ((np.nan,) * data.numblocks[0], *data.chunks[1:])  # rows per block unknown
    empty = np.empty((0,) * out.ndim, dtype=out.dtype)
    return da.map_blocks(task, data, *args, dtype=out.dtype, meta=empty, chunks=chunks, **kwargs)


# -- wisdom to the workers -------------------------------------------------------------------------


class WisdomPlugin(_PluginBase):  # type: ignore[misc,valid-type]
    """A ``distributed`` worker plugin: import wisdom on each worker, then warm the kernels.

    Registered by :func:`ship_wisdom` (under :data:`PLUGIN_NAME`); Dask runs its
    ``setup`` on every worker now and on every worker that starts later (a restarted
    one too). Setup imports the wisdom into the worker's own store (its
    ``VECPIPE_CACHE_DIR``); a worker on another kind of machine (another
    :func:`~vecpipe.wisdom.fingerprint`) refuses it and measures for itself. Then, if
    given, it calls the target once on the warm-up sample, in a thread, which compiles
    the chosen Numba kernels or loads them from Numba's disk cache.

    Parameters
    ----------
    wisdom_text : str
        A wisdom file's content (what :meth:`vp.wisdom.export <vecpipe.wisdom.WisdomFacade.export>`
        writes).
    warm : tuple, optional
        ``(target, sample, (mode, threads, require_verified))``.
    args, kwargs : optional
        Further arguments for the warm-up call.

    Attributes
    ----------
    outcome : str
        On a worker, after setup: what happened (``"imported N records; warmed"``...).

    Examples
    --------
    >>> from vecpipe.dask import WisdomPlugin
    >>> WisdomPlugin('{"format": "vecpipe-wisdom"}').outcome
    'not set up'
    """

    idempotent = False

    def __init__(
        self,
        wisdom_text: str,
        warm: tuple[Any, Any, _Settings] | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.wisdom_text = wisdom_text
        self.warm = warm
        self.args = args
        self.kwargs = dict(kwargs or {})
        self.outcome = "not set up"

    async def setup(self, worker: Any) -> None:
        """Import the wisdom and warm the kernels (called by Dask on each worker)."""
        loop = asyncio.get_running_loop()
        self.outcome = await loop.run_in_executor(None, self._setup)
        _PLUGIN_OUTCOME[0] = self.outcome

    def _setup(self) -> str:
        parts = [_import_text(self.wisdom_text)]
        if self.warm is not None:
            target, sample, settings = self.warm
            try:
                with _run_settings(settings), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a fallback here warns again on real data
                    _call(target, sample, self.args, self.kwargs)
                parts.append("warmed")
            except Exception as exc:
                parts.append(f"warm-up failed ({type(exc).__name__}: {exc})")
        return "; ".join(parts)


#: What the last plugin setup in this process did (for :func:`explain`'s ``plugin``).
_PLUGIN_OUTCOME = ["no vecpipe plugin set up here"]
_IMPORT_LOCK = threading.Lock()


def _import_text(text: str) -> str:
    """Import a wisdom file's content into this process's store; say what happened."""
    from vecpipe.errors import WisdomError

    with _IMPORT_LOCK, tempfile.TemporaryDirectory(prefix="vecpipe-wisdom-") as folder:
        path = Path(folder) / "shipped.json"
        path.write_text(text, encoding="utf-8")
        try:
            count = get_wisdom().import_(path)
        except WisdomError as exc:
            return f"wisdom not imported: {exc}"
    return f"imported {count} wisdom record{'s' if count != 1 else ''}"


def ship_wisdom(
    client: Any = None,
    *,
    warm: tuple[Any, Any, _Settings] | None = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> int:
    """Send this process's wisdom to every worker of a ``distributed`` cluster.

    The wisdom (every measurement in ``vp.wisdom``) is registered as a
    :class:`WisdomPlugin` named :data:`PLUGIN_NAME`, replacing an earlier one: current
    workers import it at once, workers that join or restart later import it when they
    start. :func:`map_partitions` calls this after tuning; call it yourself after tuning
    stages by hand (``stage(representative_partition)``).

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the current default client.
    warm : tuple, optional
        ``(target, sample, (mode, threads, require_verified))``: a call each worker makes
        once to compile the chosen kernels (``map_partitions`` passes the first rows of
        the tuning partition).
    args, kwargs : optional
        Further arguments for the warm-up call.

    Returns
    -------
    int
        The number of wisdom records shipped.

    Raises
    ------
    InvalidArgument
        If there is no client.

    Examples
    --------
    With a cluster, ``vp.dask.ship_wisdom(client)`` returns the number of records sent.
    Without one there is nothing to ship to (the threaded scheduler's tasks share this
    process's wisdom):

    >>> import vecpipe as vp
    >>> vp.dask.ship_wisdom()
    Traceback (most recent call last):
    ...
    vecpipe.errors.InvalidArgument: vecpipe.dask.ship_wisdom: client=None and there is no ...
    """
    client = _check_client(client)
    if client is None:
        msg = (
            "vecpipe.dask.ship_wisdom: client=None and there is no default distributed "
            "client; pass a distributed.Client (on the threaded scheduler the tasks share "
            "this process's wisdom already)"
        )
        raise InvalidArgument(msg)
    store = get_wisdom()
    with tempfile.TemporaryDirectory(prefix="vecpipe-wisdom-") as folder:
        text = store.export(Path(folder) / "wisdom.json").read_text(encoding="utf-8")
    plugin = WisdomPlugin(text, warm, tuple(args), kwargs)
    client.register_plugin(plugin, name=PLUGIN_NAME)
    return len(store)


# -- reports from the workers ----------------------------------------------------------------------


def _local_runs() -> list[PartitionRun]:
    return list(_LOG)


def _clear_local_runs() -> None:
    _LOG.clear()


def runs(client: Any = None) -> pd.DataFrame:
    """What ran on each partition: per stage, the worker, the variant and its time.

    Every task of :func:`map_partitions` logs its stages in the process that ran it
    (the last 100,000 stage runs are kept). With a ``distributed`` client the logs of
    all workers are gathered; without one, this process's (threaded or synchronous
    scheduler).

    Parameters
    ----------
    client : distributed.Client, optional
        Default: the current default client, if any.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_COLUMNS`: ``worker`` (address, or ``"local"``), ``partition``,
        ``rows``, ``stage``, ``variant`` (``"function"`` for a plain function),
        ``seconds``; sorted by partition.

    Examples
    --------
    >>> import pandas as pd
    >>> import dask.dataframe as dd
    >>> import vecpipe as vp
    >>> @vp.stage(auto=False)
    ... def negated(s):
    ...     return -s
    >>> vp.dask.clear_runs()
    >>> s = dd.from_pandas(pd.Series([1.0, 2.0, 3.0, 4.0]), npartitions=2)
    >>> _ = negated.to_dask(s, tune=False).compute(scheduler="sync")
    >>> vp.dask.runs()[["partition", "stage", "variant"]].values.tolist()
    [[0, 'negated', 'reference'], [1, 'negated', 'reference']]
    """
    client = _check_client(client)
    found: list[PartitionRun] = []
    if client is None:
        found = _local_runs()
    else:
        for logged in client.run(_local_runs).values():
            found.extend(logged)
    frame = pd.DataFrame([dataclasses.asdict(r) for r in found], columns=list(RUN_COLUMNS))
    return frame.sort_values("partition", kind="stable").reset_index(drop=True)


def clear_runs(client: Any = None) -> None:
    """Forget the logs that :func:`runs` reports (on every worker, with a client).

    Examples
    --------
    >>> import vecpipe as vp
    >>> vp.dask.clear_runs()
    >>> len(vp.dask.runs())
    0
    """
    client = _check_client(client)
    if client is None:
        _clear_local_runs()
    else:
        client.run(_clear_local_runs)


def _local_explain(target: Any) -> tuple[list[dict[str, Any]], str]:
    return Explanation.of_stages(_stages_of(target)).rows, _PLUGIN_OUTCOME[0]


def explain(target: Stage | Pipeline, *, client: Any = None) -> pd.DataFrame:
    """The decision tables of the target's stages in every worker, in one DataFrame.

    Each worker process decides for itself (from shipped wisdom, or by measuring), so
    ``stage.explain()`` on the client shows only the client's decisions. This gathers
    each worker's.

    Parameters
    ----------
    target : Stage or Pipeline
    client : distributed.Client, optional
        Default: the current default client; with none, this process's tables.

    Returns
    -------
    pandas.DataFrame
        ``worker``, then the columns of :meth:`Explanation.to_frame
        <vecpipe.Explanation.to_frame>` (``source`` is ``"wisdom"`` where a worker took
        a shipped decision, ``"measured"`` where it measured), then ``plugin``: what the
        :class:`WisdomPlugin` did on that worker.

    Raises
    ------
    InvalidArgument
        If ``target`` is not a stage or a pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage(auto=False)
    ... def halved(x):
    ...     return x / 2
    >>> _ = halved(np.ones(4))
    >>> vp.dask.explain(halved)[["worker", "stage", "variant", "chosen"]].values.tolist()
    [['local', 'halved', 'reference', True]]
    """
    if not isinstance(target, Stage | Pipeline):
        msg = (
            f"vecpipe.dask.explain: target={_short(target)} is not a stage or a pipeline; pass "
            "the stages whose decisions you want"
        )
        raise InvalidArgument(msg)
    client = _check_client(client)
    gathered = (
        {"local": _local_explain(target)} if client is None else client.run(_local_explain, target)
    )
    frames = []
    for worker, (rows, plugin) in sorted(gathered.items()):
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame.insert(0, "worker", worker)
        frame["plugin"] = plugin
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["worker", *COLUMNS, "plugin"])
    return pd.concat(frames, ignore_index=True)
