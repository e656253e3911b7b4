"""Shared fixtures for the tests and the doctests: a private wisdom store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

import vecpipe as vp
from vecpipe import settings as settings_module

# Numba's on-disk cache makes the second process (and the second test run) fast; the
# Makefile points it at .cache/numba, and a plain `pytest` run gets the same.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent / ".cache" / "numba"))


# The suite's own @given tests: thorough but bounded on CI (a 2-core machine), and
# reproducible there; HYPOTHESIS_PROFILE=dev explores more locally.
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _isolated_wisdom(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test measures afresh: a private cache folder, global settings restored."""
    cache = tmp_path_factory.mktemp("vecpipe-cache")
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(cache))
    saved = settings_module._GLOBAL[0]
    yield cache
    settings_module._GLOBAL[0] = saved
    vp.set_config(mode=saved.mode, threads=saved.threads)


@pytest.fixture
def cache_dir(_isolated_wisdom: Path) -> Path:
    """The test's private vecpipe cache folder (where wisdom.json lives)."""
    return _isolated_wisdom
