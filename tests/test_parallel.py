"""map_batches and split: real threads and real processes, in input order, bounded, safe.

The stages that worker processes run live in ``parallel_stages`` (an importable module),
since workers find stages by module and name. Process tests share the pool that
map_batches keeps (two workers throughout), so it is spawned once.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import parallel_stages as ps
import pytest

import vecpipe as vp
from vecpipe import parallel
from vecpipe.parallel import (
    BatchError,
    WorkerDiedError,
    choose_executor,
    map_batches,
    split,
    threading_layer,
)

WORKERS = 2


@pytest.fixture(scope="module", autouse=True)
def _stop_workers() -> Iterator[None]:
    """Stop the shared worker processes after this module's tests."""
    yield
    parallel.shutdown()


def _batches(count: int, size: int = 5) -> list[np.ndarray]:
    return [np.arange(size, dtype=np.float64) + i for i in range(count)]


def _same(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


# -- order, results, streaming -------------------------------------------------------------


def test_threads_keep_input_order_although_batches_finish_out_of_order() -> None:
    batches = _batches(12)
    got = list(map_batches(ps.slow_identity, batches, workers=3, executor="threads"))
    _same(got, batches)


def test_unordered_yields_every_result() -> None:
    batches = _batches(12)
    got = list(map_batches(ps.slow_identity, batches, workers=3, executor="threads", ordered=False))
    assert sorted(float(g[0]) for g in got) == [float(b[0]) for b in batches]


@pytest.mark.parametrize("executor", ["threads", "processes", "auto"])
def test_results_equal_a_plain_loop(executor: str) -> None:
    batches = _batches(6)
    expected = [ps.py_square(b) for b in batches]
    got = list(map_batches(ps.py_square, batches, workers=WORKERS, executor=executor))
    _same(got, expected)


def test_a_pipeline_runs_every_stage_per_batch() -> None:
    batches = _batches(5)
    pipe = ps.nb_affine >> ps.py_square
    got = list(map_batches(pipe, batches, workers=WORKERS, executor="threads"))
    _same(got, [(2 * b + 1) ** 2 for b in batches])


@pytest.mark.parametrize("executor", ["threads", "auto", "processes"])
def test_an_endless_input_is_read_only_as_workers_free_up(executor: str) -> None:
    pulled = 0

    def endless() -> Iterator[np.ndarray]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield np.full(3, float(i))

    results = map_batches(ps.slow_identity, endless(), workers=WORKERS, executor=executor)
    first = next(results)
    assert first[0] == 0.0
    assert pulled <= 2 * WORKERS + 1
    assert [float(next(results)[0]) for _ in range(5)] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert pulled <= 6 + 2 * WORKERS + 1
    results.close()  # cancels what has not started


def test_empty_input_gives_no_results() -> None:
    assert list(map_batches(ps.py_square, [], workers=WORKERS)) == []


def test_tuple_batches_are_one_argument_unless_star() -> None:
    pairs = [(np.ones(2), 2.0), (np.ones(2), 3.0)]
    assert list(map_batches(len, pairs, workers=WORKERS, executor="threads")) == [2, 2]
    got = list(map_batches(np.multiply, pairs, star=True, workers=WORKERS, executor="threads"))
    _same(got, [np.full(2, 2.0), np.full(2, 3.0)])


# -- choosing threads or processes ---------------------------------------------------------


def test_auto_picks_threads_for_a_nogil_numba_stage() -> None:
    x = np.arange(20_000.0)
    assert choose_executor(ps.nb_affine, x, workers=WORKERS) == "threads"
    with vp.config(threads=1):
        assert ps.nb_affine.choice(x) == "numba"  # tuned for the workers' budget
    assert ps.nb_affine.variants["numba"].releases_gil is True


def test_auto_picks_processes_for_a_pure_python_stage() -> None:
    assert choose_executor(ps.py_square, np.arange(1000.0), workers=WORKERS) == "processes"


def test_auto_runs_the_first_batch_here_and_the_rest_in_processes() -> None:
    pids = list(map_batches(ps.worker_pid, _batches(5), workers=WORKERS, executor="auto"))
    assert pids[0] == os.getpid()  # the probe's result is delivered, not thrown away
    assert os.getpid() not in pids[1:]


def test_auto_keeps_stages_defined_in_a_function_on_threads() -> None:
    @vp.stage(auto=False)
    def local_square(x):
        return np.array([v * v for v in x])

    assert choose_executor(local_square, np.arange(10.0), workers=WORKERS) == "threads"
    got = list(map_batches(local_square, _batches(4), workers=WORKERS))
    _same(got, [b * b for b in _batches(4)])


def test_processes_refuse_a_stage_they_cannot_import() -> None:
    @vp.stage(auto=False)
    def local_square(x):
        return x * x

    with pytest.raises(vp.InvalidArgument, match=r"defined inside a function.*'threads'"):
        map_batches(local_square, _batches(2), workers=WORKERS, executor="processes")


# -- the thread budget ---------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_each_worker_gets_its_share_of_the_thread_budget(executor: str) -> None:
    budget = vp.get_config().threads
    before = numba.get_num_threads()
    with vp.config(mode="estimate"):
        got = set(map_batches(ps.worker_settings, _batches(6), workers=WORKERS, executor=executor))
    share = max(1, budget // WORKERS)
    assert got == {("estimate", share, share)}  # the caller's mode, the worker's share
    assert numba.get_num_threads() == before


def test_one_worker_keeps_the_whole_budget() -> None:
    budget = vp.get_config().threads
    got = set(map_batches(ps.worker_settings, _batches(3), workers=1, executor="threads"))
    assert got == {("measure", budget, budget)}


def test_threading_layer_is_detected() -> None:
    assert threading_layer() in {"tbb", "omp", "workqueue"}


def test_workqueue_layer_runs_serial_variants_on_threads_without_aborting(
    cache_dir: Path,
) -> None:
    tests = Path(__file__).resolve().parent
    env = {
        **os.environ,
        "NUMBA_THREADING_LAYER": "workqueue",
        "VECPIPE_CACHE_DIR": str(cache_dir),
        "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import parallel_stages; parallel_stages.workqueue_main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "serial variants ran: ['numba']" in done.stdout
    assert done.stdout.rstrip().endswith("OK")


# -- large arrays to processes -------------------------------------------------------------


def test_large_arrays_reach_processes_as_read_only_memmaps() -> None:
    big, small = np.ones(300_000), np.ones(10)  # 2.4 MB and 80 bytes
    folders = set(Path(parallel._temp_root()).glob("vecpipe-*"))
    got = list(map_batches(ps.what_arrived, [big, small], workers=WORKERS, executor="processes"))
    assert got == [("memmap", False, 300_000.0), ("ndarray", True, 10.0)]
    assert set(Path(parallel._temp_root()).glob("vecpipe-*")) <= folders  # cleaned up
    pickled = list(
        map_batches(ps.what_arrived, [big], workers=WORKERS, executor="processes", max_nbytes=None)
    )
    assert pickled == [("ndarray", True, 300_000.0)]


# -- split ---------------------------------------------------------------------------------


def test_split_equals_the_whole_call_for_arrays() -> None:
    x = np.arange(10_001.0)
    whole = ps.row_scale(x, 3.0)
    np.testing.assert_array_equal(split(ps.row_scale, x, 3.0, workers=WORKERS), whole)
    np.testing.assert_array_equal(
        split(ps.row_scale, x, factor=3.0, workers=WORKERS, chunks=7, executor="threads"), whole
    )


def test_split_equals_the_whole_call_for_a_dataframe_in_processes() -> None:
    frame = pd.DataFrame(
        {"a": np.arange(200_000.0), "b": np.ones(200_000)}, index=np.arange(200_000) * 2
    )
    expected = ps.frame_total(frame)
    got = split(ps.frame_total, frame, workers=WORKERS, chunks=2, executor="processes")
    pd.testing.assert_series_equal(got, expected)


def test_split_joins_tuples_element_by_element() -> None:
    x = np.arange(1000.0)
    doubled, following = split(ps.doubled_and_next, x, workers=WORKERS, executor="threads")
    np.testing.assert_array_equal(doubled, x * 2)
    np.testing.assert_array_equal(following, x + 1)


def test_batch_errors_survive_pickling() -> None:
    error = BatchError("batch 7 failed in stage 'clean': ValueError: bad", index=7, stage="clean")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.index, copy.stage) == (str(error), 7, "clean")


def test_split_refuses_a_stage_that_is_not_chunkable() -> None:
    with pytest.raises(vp.InvalidArgument, match=r"stage 'whole_only' is not chunkable"):
        split(ps.whole_only, np.arange(10.0), workers=WORKERS)


def test_split_refuses_outputs_that_are_not_row_aligned() -> None:
    with pytest.raises(vp.InvalidArgument, match=r"stage 'grand_total' returned float"):
        split(ps.grand_total, np.arange(100.0), workers=WORKERS, executor="threads")


def test_split_needs_rows_to_cut() -> None:
    with pytest.raises(vp.InvalidArgument, match=r"no array, Series or DataFrame"):
        split(ps.row_scale, [1.0, 2.0], 2.0, workers=WORKERS)


# -- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", ["threads", "processes"])
def test_a_failing_batch_names_its_index_and_stage_after_the_earlier_results(
    executor: str,
) -> None:
    batches = _batches(6)
    batches[3] = -batches[3] - 1
    got: list[np.ndarray] = []
    with pytest.raises(BatchError) as caught:
        for out in map_batches(ps.checked, batches, workers=WORKERS, executor=executor):
            got.append(out)
    _same(got, [b * 3 for b in batches[:3]])
    error = caught.value
    assert (error.index, error.stage) == (3, "checked")
    assert str(error).startswith("batch 3 failed in stage 'checked': ValueError: negative")
    assert isinstance(error.__cause__, ValueError)
    if executor == "processes":  # the worker's traceback comes along
        assert "raise ValueError(msg)" in str(error.__cause__.__cause__)


def test_a_failing_first_batch_is_reported_by_auto() -> None:
    with pytest.raises(BatchError, match=r"batch 0 failed in stage 'checked'") as caught:
        list(map_batches(ps.checked, [-np.ones(3)], workers=WORKERS))
    assert caught.value.index == 0


@pytest.mark.parametrize("own_pool", [False, True], ids=["kept-pool", "own-pool"])
def test_a_dead_worker_gives_a_clear_error_not_a_hang(own_pool: bool) -> None:
    batches = _batches(6)
    batches[2] = -batches[2] - 1
    spawn = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(WORKERS, mp_context=spawn) if own_pool else None
    executor = pool or "processes"
    outcome: dict[str, object] = {}

    def consume() -> None:
        got = []
        try:
            for out in map_batches(ps.die_on_negative, batches, workers=WORKERS, executor=executor):
                got.append(out)
        except BaseException as exc:
            outcome["error"] = exc
        outcome["got"] = got

    try:
        warm = map_batches(ps.slow_identity, _batches(4), workers=WORKERS, executor=executor)
        list(warm)  # the workers are up: the batches before the fatal one finish first
        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        consumer.join(timeout=120)
        assert not consumer.is_alive(), "map_batches hung after a worker process died"
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    error, got = outcome["error"], outcome["got"]
    assert isinstance(error, WorkerDiedError), error
    assert isinstance(got, list) and len(got) <= 2
    _same(got, [b + 1 for b in batches[: len(got)]])  # nothing delivered is lost
    assert error.index == len(got)
    assert "worker process died" in str(error)
    if not own_pool:  # the broken pool was dropped: the next call starts a fresh one
        again = map_batches(ps.py_square, _batches(2), workers=WORKERS, executor="processes")
        _same(list(again), [b * b for b in _batches(2)])


def _wait_until_gone(pid: int, timeout: float = 60.0) -> None:
    """Wait until a killed process has ended (reaped, or a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} is still running")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_pooled_worker_that_died_while_idle_does_not_fail_the_next_call() -> None:
    pids = set(map_batches(ps.worker_pid, _batches(6), workers=WORKERS, executor="processes"))
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)  # while the pool is idle, between two calls
    _wait_until_gone(victim)
    time.sleep(0.2)  # let the pool's manager thread notice, as it would between real calls
    got = list(map_batches(ps.worker_pid, _batches(6), workers=WORKERS, executor="processes"))
    assert len(got) == 6
    assert victim not in got  # a fresh pool ran the batches
    kept = parallel._POOLS[WORKERS]  # the fresh pool is kept, and a healthy one reused
    assert (
        len(list(map_batches(ps.worker_pid, _batches(2), workers=WORKERS, executor="processes")))
        == 2
    )
    assert parallel._POOLS[WORKERS] is kept


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"workers": 0}, r"workers=0 must be a positive int"),
        ({"executor": "gpu"}, r"executor='gpu' is not one of"),
        ({"ordered": "yes"}, r"ordered='yes' must be True or False"),
        ({"max_nbytes": -1}, r"max_nbytes=-1"),
    ],
)
def test_bad_arguments_are_refused_at_the_call(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(vp.InvalidArgument, match=match):
        map_batches(ps.py_square, _batches(2), **kwargs)  # type: ignore[arg-type]


def test_batches_must_be_iterable_and_the_target_callable() -> None:
    with pytest.raises(vp.InvalidArgument, match=r"batches=5 is not iterable"):
        map_batches(ps.py_square, 5)  # type: ignore[arg-type]
    with pytest.raises(vp.InvalidArgument, match=r"is not a stage, a pipeline or a function"):
        map_batches(5, [])  # type: ignore[arg-type]
