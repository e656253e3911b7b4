"""``auto_processes``: a chunkable stage's function run in worker processes over row chunks.

What no handler takes (a row function returning text, a loop body doing string work)
stays Python, holding the GIL. A ``chunkable`` stage says a slice of its rows is a valid
input giving the matching rows of the output, so its rows can be cut into one chunk per
worker process, each run there (with its pandas idioms routed, as in ``auto_idioms``),
and the results joined in order (:func:`vecpipe.parallel._join`: ``pd.concat`` or
``np.concatenate``). Worker processes are :mod:`vecpipe.parallel`'s spawned pool, started
once (in the variant's compilation, so the start is not timed as run time) and reused.

The dispatcher times it like any other variant and keeps it only where it is faster:
sending the chunks and the results costs a copy of each, and starting Python in a worker
costs seconds once, so it pays on long inputs of slow Python on several cores. It is a
``parallel`` variant: a thread budget of 1 (``vp.config(threads=1)``, the workers of
``Stage.map``) skips it.

Only functions that worker processes can import by name are sent (defined at the top of
a module other than ``__main__``): spawning workers runs the main script again, which a
script without an ``if __name__ == "__main__":`` guard does not survive.
"""

from __future__ import annotations

import functools
import importlib
import itertools
import multiprocessing
import types
from collections.abc import Callable
from typing import Any

from vecpipe.idioms._intercept import routing
from vecpipe.idioms._variant import WARM_ROWS, NotAccelerated, _head, _rows
from vecpipe.settings import get_config
from vecpipe.variant import Variant, source_hash

__all__ = ["MIN_ROWS", "NAME", "process_variant"]

#: The variant's name in explain() and wisdom.
NAME = "auto_processes"
#: Fewer rows than this are not sent to worker processes (the copies cost more).
MIN_ROWS = 1 << 13
#: Rows run first, in this process, to see whether any pandas call stays in pandas: as
#: many as the dispatcher's first timing slice, enough that mapping by value finds 2,000
#: distinct values few (an eighth of them).
PROBE_ROWS = 1 << 14


def _resolve(module: str, qualname: str) -> Callable[..., Any]:
    """The function a worker runs: the stage's reference, found by name."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "reference", obj)  # a Stage stands where @vp.stage put it


def _run_chunk(module: str, qualname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """In a worker: the function on one chunk, its pandas idioms routed."""
    func = _resolve(module, qualname)
    with routing():
        return func(*args, **kwargs)


def _placed(func: Callable[..., Any]) -> str | None:
    """Why ``func``'s place rules out worker processes; None if it may not."""
    module = getattr(func, "__module__", None) or "__main__"
    qualname = getattr(func, "__qualname__", "")
    if module == "__main__":
        return "it is defined in the main script or an interactive session"
    if "<" in qualname:
        return "it is defined inside a function (or is a lambda)"
    return None


def sendable(func: Callable[..., Any]) -> str | None:
    """Why worker processes cannot find ``func`` by name; None when they can."""
    placed = _placed(func)
    if placed is not None:
        return placed
    module, qualname = func.__module__, func.__qualname__
    try:
        found = _resolve(module, qualname)
    except Exception:
        return f"{module}.{qualname} is not found by importing its module"
    if found is not func:
        return f"{module}.{qualname} names another object"
    return None


class ProcessChunks:
    """The variant's callable: the reference over row chunks in worker processes."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.module = func.__module__
        self.qualname = func.__qualname__
        functools.update_wrapper(self, func)

    def _workers(self, n: int) -> int:
        from vecpipe.parallel import _cores

        if multiprocessing.parent_process() is not None:
            raise NotAccelerated("already in a worker process")
        workers = min(_cores(), get_config().threads)
        if workers < 2:
            raise NotAccelerated("one core (or a thread budget of 1): nothing to share")
        if n < MIN_ROWS:
            raise NotAccelerated(f"{n:,} rows: too few to send to worker processes")
        return workers

    def _submit(
        self, chunks: list[tuple[tuple[Any, ...], dict[str, Any]]], workers: int
    ) -> list[Any]:
        from vecpipe.parallel import _process_pool

        pool = _process_pool(workers)
        futures = [
            pool.submit(_run_chunk, self.module, self.qualname, args, kwargs)
            for args, kwargs in chunks
        ]
        return [future.result() for future in futures]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from vecpipe.parallel import _join, _take

        n = next((r for r in map(_rows, (*args, *kwargs.values())) if r is not None), None)
        if n is None:
            raise NotAccelerated("no argument has rows to cut into chunks")
        workers = self._workers(n)
        bounds = [n * k // workers for k in range(workers + 1)]
        spans = list(itertools.pairwise(bounds))
        chunks = [
            (
                tuple(_take(a, n, lo, hi) for a in args),
                {key: _take(v, n, lo, hi) for key, v in kwargs.items()},
            )
            for lo, hi in spans
        ]
        outputs = self._submit(chunks, workers)
        return _join(outputs, [hi - lo for lo, hi in spans], self.qualname)

    def warm(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Start the worker processes and run the first rows in each (imports, compiling);
        first make sure something is left for them (see :data:`PROBE_ROWS`)."""
        reason = sendable(self.func)
        if reason is not None:
            raise NotAccelerated(f"worker processes cannot find the function: {reason}")
        n = next((r for r in map(_rows, (*args, *kwargs.values())) if r is not None), None)
        if n is None:
            raise NotAccelerated("no argument has rows to cut into chunks")
        workers = self._workers(n)
        self._probe(args, kwargs, n)
        m = min(n, WARM_ROWS)
        head = (
            tuple(_head(a, n, m) for a in args),
            {k: _head(v, n, m) for k, v in kwargs.items()},
        )
        self._submit([head] * workers, workers)

    def _probe(self, args: tuple[Any, ...], kwargs: dict[str, Any], n: int) -> None:
        """Run the first :data:`PROBE_ROWS` rows here with the idioms routed: if every
        pandas call was taken, nothing is left for worker processes (no pool started)."""
        m = min(n, PROBE_ROWS)
        try:
            with routing() as session:
                self.func(
                    *(_head(a, n, m) for a in args),
                    **{k: _head(v, n, m) for k, v in kwargs.items()},
                )
        except Exception:  # the first rows need not be a valid input: let the timing decide
            return
        if session.calls and not session.declined:
            msg = (
                "every pandas call it makes was run faster in this process (auto_idioms): "
                "nothing is left to send to worker processes"
            )
            raise NotAccelerated(msg)


def process_variant(func: Callable[..., Any], handlers_hash: str) -> Variant | None:
    """The ``auto_processes`` variant of a chunkable stage's reference, or None when worker
    processes could not find it (its module is still being imported here, so that it is
    found under its name is checked when the variant is compiled: :func:`sendable`)."""
    if not isinstance(func, types.FunctionType) or _placed(func) is not None:
        return None
    run = ProcessChunks(func)
    return Variant(
        NAME,
        "python",
        func,
        run,
        parallel=True,
        releases_gil=True,  # the calling thread waits for the workers
        source_hash=source_hash(func, NAME, handlers_hash),
        derived=True,
        compiler=run.warm,
    )
