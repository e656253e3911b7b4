"""Settings: the dispatch mode and the thread budget, globally, per block and per thread."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

import vecpipe as vp


@pytest.fixture
def calls() -> list[str]:
    """Which implementation ran, in order."""
    return []


@pytest.fixture
def twice(calls: list[str]) -> vp.Stage:
    """A stage whose reference and numpy variant record each call in ``calls``."""

    @vp.stage(auto=False)
    def twice(x):
        calls.append("reference")
        return x * 2

    @twice.variant("numpy")
    def _twice_numpy(x):
        calls.append("numpy")
        return x * 2

    return twice


@pytest.fixture
def x() -> np.ndarray:
    return np.arange(10.0)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with extra environment variables."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ------------------------------------------------------------------------ modes


def test_modes_are_measure_estimate_reference():
    assert vp.MODES == ("measure", "estimate", "reference")


def test_default_mode_is_measure():
    assert vp.Settings().mode == "measure"


def test_reference_mode_runs_only_the_reference(twice: vp.Stage, calls: list[str], x):
    with vp.config(mode="reference"):
        out = twice(x)
    assert calls == ["reference"]
    np.testing.assert_array_equal(out, x * 2)


def test_reference_mode_overrides_a_chosen_variant(twice: vp.Stage, calls: list[str], x):
    twice.pin("numpy")
    twice(x)
    calls.clear()
    with vp.config(mode="reference"):
        twice(x)
    assert calls == ["reference"]


def test_reference_mode_choice_is_the_reference(twice: vp.Stage, x):
    with vp.config(mode="reference"):
        assert twice.choice(x) == "reference"


def test_config_block_restores_the_mode_on_exit():
    vp.set_config(mode="measure")
    with vp.config(mode="reference"):
        assert vp.get_config().mode == "reference"
    assert vp.get_config().mode == "measure"


def test_nested_config_blocks_restore_the_outer_settings():
    vp.set_config(mode="measure")
    with vp.config(mode="estimate"):
        with vp.config(mode="reference"):
            assert vp.get_config().mode == "reference"
        assert vp.get_config().mode == "estimate"
    assert vp.get_config().mode == "measure"


def test_config_block_restores_the_settings_after_an_exception():
    before = vp.get_config()
    with pytest.raises(ZeroDivisionError), vp.config(mode="reference", threads=1):
        1 / 0  # noqa: B018
    assert vp.get_config() == before


def test_config_block_yields_the_settings_in_force():
    with vp.config(mode="estimate") as settings:
        assert settings == vp.get_config()
        assert settings.mode == "estimate"


def test_config_block_keeps_the_fields_it_does_not_set():
    with vp.config(threads=1), vp.config(mode="reference"):
        assert vp.get_config().threads == 1


def test_set_config_changes_the_global_mode():
    vp.set_config(mode="estimate")
    assert vp.get_config().mode == "estimate"


def test_set_config_returns_the_previous_settings():
    vp.set_config(mode="estimate")
    before = vp.get_config()
    previous = vp.set_config(mode="reference")
    assert previous == before
    assert previous.mode == "estimate"


def test_set_config_is_seen_by_other_threads():
    vp.set_config(mode="estimate")
    seen: list[str] = []
    thread = threading.Thread(target=lambda: seen.append(vp.get_config().mode))
    thread.start()
    thread.join()
    assert seen == ["estimate"]


def test_config_block_is_local_to_its_thread():
    vp.set_config(mode="measure")
    seen: list[str] = []
    with vp.config(mode="reference"):
        thread = threading.Thread(target=lambda: seen.append(vp.get_config().mode))
        thread.start()
        thread.join()
    assert seen == ["measure"]


def test_settings_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        vp.get_config().mode = "reference"  # type: ignore[misc]


# ------------------------------------------------------------------------ environment


def test_vecpipe_mode_environment_variable_sets_the_initial_mode():
    result = run_python(
        "import vecpipe as vp; print(vp.get_config().mode)", VECPIPE_MODE="reference"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "reference"


def test_unknown_vecpipe_mode_lets_the_import_succeed():
    # So that the vecpipe command can report it in one line (it imports vecpipe first).
    result = run_python("import vecpipe", VECPIPE_MODE="fast")
    assert result.returncode == 0, result.stderr


def test_unknown_vecpipe_mode_fails_at_the_first_stage_call_naming_the_variable():
    code = "import numpy as np, vecpipe as vp; vp.stage(np.negative)(np.ones(3))"
    result = run_python(code, VECPIPE_MODE="fast")
    assert result.returncode != 0
    assert "InvalidArgument" in result.stderr
    assert "VECPIPE_MODE='fast'" in result.stderr


@pytest.mark.parametrize(
    "code",
    [
        "vp.get_config().mode",
        "vp.config(threads=1)",
        "vp.set_config(mode='reference')",
    ],
    ids=["get_config", "config", "set_config"],
)
def test_unknown_vecpipe_mode_fails_at_the_first_use_of_the_settings(code: str):
    result = run_python(f"import vecpipe as vp; {code}", VECPIPE_MODE="fast")
    assert result.returncode != 0
    assert "VECPIPE_MODE='fast'" in result.stderr


def test_a_vecpipe_threads_that_is_no_number_fails_at_first_use_naming_the_variable():
    result = run_python("import vecpipe as vp; vp.get_config().threads", VECPIPE_THREADS="two")
    assert result.returncode != 0
    assert "VECPIPE_THREADS='two'" in result.stderr


# ------------------------------------------------------------------------ threads


def test_threads_sets_the_thread_budget():
    with vp.config(threads=1):
        assert vp.get_config().threads == 1


def test_threads_sets_numbas_thread_count_inside_the_block():
    outside = numba.get_num_threads()
    with vp.config(threads=1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == outside


def test_set_config_threads_sets_the_global_thread_budget():
    vp.set_config(threads=1)
    assert vp.get_config().threads == 1
    assert numba.get_num_threads() == 1


@pytest.mark.parametrize("threads", [1, numba.config.NUMBA_NUM_THREADS], ids=["one", "all"])
def test_thread_budget_appears_in_the_decision_key(twice: vp.Stage, x, threads: int):
    with vp.config(threads=threads):
        twice(x)
    keys = set(twice.explain().to_frame()["key"])
    assert len(keys) == 1
    assert keys.pop().endswith(f"| threads={threads}")


def test_each_thread_budget_is_decided_separately(twice: vp.Stage, x):
    with vp.config(threads=1):
        twice(x)
    with vp.config(threads=numba.config.NUMBA_NUM_THREADS):
        twice(x)
    keys = set(twice.explain().to_frame()["key"])
    assert len(keys) == (1 if numba.config.NUMBA_NUM_THREADS == 1 else 2)


# ------------------------------------------------------------------------ tuning


def test_tuning_is_tiered_by_default_and_full_on_request():
    assert vp.get_config().tuning == "tiered"
    assert vp.TUNINGS == ("tiered", "full")
    with vp.config(tuning="full"):
        assert vp.get_config().tuning == "full"
    assert vp.get_config().tuning == "tiered"


def test_an_unknown_tuning_is_refused_naming_the_choices():
    with pytest.raises(vp.InvalidArgument, match=r"tuning='eager'.*'tiered', 'full'"):
        vp.config(tuning="eager")  # type: ignore[arg-type]


def test_vecpipe_tuning_environment_variable_sets_the_initial_tuning():
    result = run_python(
        "import vecpipe as vp; print(vp.get_config().tuning)", VECPIPE_TUNING="full"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "full"
