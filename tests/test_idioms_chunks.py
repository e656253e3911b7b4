"""auto_processes: a chunkable idiom stage run in worker processes over row chunks."""

from __future__ import annotations

import idiom_stages
import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.idioms import PROCESSES, NotAccelerated
from vecpipe.idioms.chunks import MIN_ROWS, process_variant, sendable
from vecpipe.parallel import _cores, shutdown


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    n = MIN_ROWS + 1000
    return pd.DataFrame({"name": rng.choice(["ann", "bob"], n), "id": rng.integers(0, 99, n)})


@pytest.fixture(scope="module", autouse=True)
def _stop_workers():
    yield
    shutdown()


def test_only_chunkable_idiom_stages_get_the_process_variant():
    assert PROCESSES in idiom_stages.labels.variants
    assert PROCESSES not in idiom_stages.labels_whole.variants
    assert idiom_stages.labels.variants[PROCESSES].parallel


def test_functions_workers_cannot_import_get_none():
    def local(df):
        return df.apply(lambda row: row["a"], axis=1)

    assert process_variant(local, "") is None
    assert "inside a function" in (sendable(local) or "")


def test_the_chunks_in_worker_processes_equal_the_reference(people):
    run = idiom_stages.labels.variants[PROCESSES].run
    with vp.config(threads=2):
        if _cores() < 2:
            with pytest.raises(NotAccelerated, match="one core"):
                run(people)
            return
        got = run(people)
    pd.testing.assert_series_equal(got, idiom_stages.labels.reference(people))


def test_short_inputs_and_a_budget_of_one_thread_are_not_sent(people):
    stage = idiom_stages.labels
    with vp.config(threads=2), pytest.raises(NotAccelerated, match="too few"):
        stage.variants[PROCESSES].run(people.iloc[:100])
    with vp.config(threads=1):
        pd.testing.assert_series_equal(stage(people), stage.reference(people))
    row = stage.explain().to_frame().set_index("variant").loc[PROCESSES]
    assert row["status"] == "skipped"


def test_no_workers_start_when_every_idiom_runs_faster_here():
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"a": rng.normal(size=MIN_ROWS * 2), "b": 1.0})
    variant = idiom_stages.scores.variants[PROCESSES]
    reason = "one core" if _cores() < 2 else "nothing is left"
    with vp.config(threads=2), pytest.raises(NotAccelerated, match=reason):
        variant.compile_for((df,), {})
