"""Stages for tests/test_parallel.py, in a module so that worker processes can import them.

Worker processes find stages by module and name; pytest puts ``tests/`` on ``sys.path``
and spawned workers inherit it, so ``import parallel_stages`` works in both.
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np

import vecpipe as vp


@vp.stage(auto=False)
def py_square(x):
    """Pure Python: holds the GIL, so ``auto`` sends it to processes."""
    return np.array([v * v for v in x])


@vp.stage(auto=False)
def nb_affine(x):
    """A Python loop with a Numba variant (nogil): ``auto`` runs it on threads."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = 2.0 * x[i] + 1.0
    return out


@nb_affine.variant("numba")
def _nb_affine_numba(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = 2.0 * x[i] + 1.0
    return out


@vp.stage(auto=False)
def checked(x):
    """Raises on a batch whose first value is negative."""
    if x[0] < 0:
        msg = f"negative batch starting with {x[0]}"
        raise ValueError(msg)
    return x * 3


def die_on_negative(x):
    """Ends its (worker) process abruptly on a batch whose first value is negative."""
    if x[0] < 0:
        time.sleep(0.5)  # let the batches before it finish first
        os._exit(1)
    return x + 1


def slow_identity(x):
    """Returns its batch, sleeping longer for earlier batches (to scramble completion)."""
    time.sleep(0.02 * (int(x[0]) % 4))
    return x


def what_arrived(x):
    """What the worker received: its type, whether it is writeable, and its sum."""
    return type(x).__name__, bool(x.flags.writeable), float(x.sum())


@vp.stage(chunkable=True, auto=False)
def row_scale(x, factor):
    """Row-wise with a NumPy variant: splittable."""
    return np.array([v * factor for v in x])


@row_scale.variant("numpy")
def _row_scale_numpy(x, factor):
    return x * factor


@vp.stage(chunkable=True, auto=False)
def frame_total(df):
    """Row-wise on a DataFrame: one sum per row, as a Series."""
    return df.sum(axis=1)


@vp.stage(chunkable=True, auto=False)
def grand_total(x):
    """Declared chunkable, but reduces: its output is not row-aligned."""
    return float(np.sum(x))


@vp.stage(auto=False)
def whole_only(x):
    """Not chunkable."""
    return x - x.mean()


@vp.stage(auto=False)
def par_affine(x):
    """A Python loop with serial and parallel Numba variants (for the workqueue test)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = 2.0 * x[i] + 1.0
    return out


@par_affine.variant("numba")
def _par_affine_serial(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = 2.0 * x[i] + 1.0
    return out


@par_affine.variant("numba", parallel=True)
def _par_affine_parallel(x):
    out = np.empty(x.shape[0])
    for i in numba.prange(x.shape[0]):
        out[i] = 2.0 * x[i] + 1.0
    return out


def workqueue_main() -> None:
    """Run in a subprocess under ``NUMBA_THREADING_LAYER=workqueue``: must not abort.

    Launching parallel kernels from two threads at once aborts the process under the
    workqueue layer; map_batches must run serial variants (and serialize a stage pinned
    to a parallel variant) instead.
    """
    from vecpipe.parallel import map_batches, threading_layer

    assert threading_layer() == "workqueue", threading_layer()
    batches = [np.arange(200_000.0) + i for i in range(8)]
    expected = [2.0 * b + 1.0 for b in batches]

    got = list(map_batches(par_affine, batches, workers=2, executor="threads"))
    assert all(np.allclose(g, e) for g, e in zip(got, expected, strict=True))
    frame = par_affine.explain().to_frame()
    parallel_rows = frame[frame["variant"] == "numba_parallel"]
    assert set(parallel_rows["status"]) == {"skipped"}, frame
    assert not frame.query("chosen")["variant"].eq("numba_parallel").any(), frame
    kernel = par_affine.variants["numba_parallel"].run
    assert not kernel.signatures, "the parallel kernel was compiled, so it may have run"
    print("serial variants ran:", sorted(frame.query("chosen")["variant"]))

    par_affine.pin("numba_parallel")  # a pin is obeyed: its calls take turns
    try:
        got = list(map_batches(par_affine, batches, workers=2, executor="threads"))
    finally:
        par_affine.unpin()
    assert all(np.allclose(g, e) for g, e in zip(got, expected, strict=True))
    print("pinned parallel variant ran serialized")
    print("OK")


def worker_pid(x):
    """The process the batch ran in."""
    return os.getpid()


def worker_settings(x):
    """The settings in force where the batch runs, and Numba's thread count there."""
    settings = vp.get_config()
    return settings.mode, settings.threads, numba.get_num_threads()


@vp.stage(chunkable=True, auto=False)
def doubled_and_next(x):
    """Row-wise, returning a tuple of row-aligned arrays."""
    return x * 2, x + 1
