"""Errors and warnings: one hierarchy, and messages that name the stage and the remedy."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
import pytest

import vecpipe as vp
from vecpipe import errors

TOO_MANY_THREADS = numba.config.NUMBA_NUM_THREADS + 1


def enter(manager: contextlib.AbstractContextManager[Any]) -> None:
    """Enter and leave a context manager (``vp.config`` checks its arguments on entry)."""
    with manager:
        pass


def affine_numpy(x, scale=2.0):
    return x * scale


@numba.njit(nogil=True)
def compiled_affine(x, scale=2.0):
    return x * scale


@pytest.fixture
def victim() -> vp.Stage:
    """A stage named 'victim' with a reference and a numpy variant."""

    @vp.stage(auto=False)
    def victim(x, scale=2.0):
        return np.array([v * scale for v in x])

    victim.variant("numpy", affine_numpy)
    return victim


@pytest.fixture
def x() -> np.ndarray:
    return np.arange(8.0)


# ------------------------------------------------------------------------ the hierarchy


def _classes() -> list[type]:
    return [getattr(errors, name) for name in errors.__all__]


def test_errors_all_is_sorted():
    assert errors.__all__ == sorted(errors.__all__)


def test_every_error_subclasses_vecpipe_error():
    exceptions = [c for c in _classes() if not issubclass(c, Warning)]
    assert exceptions
    assert all(issubclass(c, vp.VecpipeError) for c in exceptions)


def test_every_warning_subclasses_vecpipe_warning():
    warning_classes = [c for c in _classes() if issubclass(c, Warning)]
    assert set(warning_classes) >= {
        vp.GILWarning,
        vp.VariantFailedWarning,
        vp.VariantDisqualifiedWarning,
        vp.WisdomWarning,
    }
    assert all(issubclass(c, vp.VecpipeWarning) for c in warning_classes)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        pytest.param(vp.InvalidArgument, TypeError, id="invalid-argument-is-type-error"),
        pytest.param(vp.StageCallError, TypeError, id="stage-call-error-is-type-error"),
        pytest.param(vp.WisdomError, ValueError, id="wisdom-error-is-value-error"),
        pytest.param(vp.UnknownVariant, KeyError, id="unknown-variant-is-key-error"),
    ],
)
def test_errors_about_arguments_also_subclass_the_builtin(error, builtin):
    assert issubclass(error, vp.VecpipeError)
    assert issubclass(error, builtin)


def test_unknown_variant_message_is_not_quoted_like_a_key_error():
    assert str(vp.UnknownVariant("stage 's' has no variant 'x'")) == "stage 's' has no variant 'x'"


# ------------------------------------------------------------------------ bad calls

BadCall = Callable[[vp.Stage, np.ndarray], Any]

BAD_CALLS = [
    pytest.param(
        lambda s, x: s.variant("python", 42),
        vp.InvalidArgument,
        ["'victim'", "must be a function", "42"],
        id="non-callable-variant",
    ),
    pytest.param(
        lambda s, x: s.variant("numpy", lambda x, scale=2.0: x * scale),
        vp.InvalidArgument,
        ["'victim'", "'numpy'", "name="],
        id="duplicate-name",
    ),
    pytest.param(
        lambda s, x: s.variant("cuda")(affine_numpy),
        vp.InvalidArgument,
        ["'victim'", "'cuda'", "'python', 'numpy', 'numba'"],
        id="unknown-kind",
    ),
    pytest.param(
        lambda s, x: s.variant(affine_numpy),
        vp.InvalidArgument,
        ["'victim'", "kind", "@victim.variant('numpy')"],
        id="variant-decorator-without-kind",
    ),
    pytest.param(
        lambda s, x: s.variant("python", affine_numpy, name="reference"),
        vp.InvalidArgument,
        ["'victim'", "'reference'", "name="],
        id="name-reference-is-reserved",
    ),
    pytest.param(
        lambda s, x: s.variant("python", affine_numpy, name=""),
        vp.InvalidArgument,
        ["'victim'", "name="],
        id="empty-variant-name",
    ),
    pytest.param(
        lambda s, x: s.variant("python", affine_numpy, name=3),
        vp.InvalidArgument,
        ["'victim'", "name="],
        id="non-string-variant-name",
    ),
    pytest.param(
        lambda s, x: s.variant("numpy", affine_numpy, name="fast", parallel=True),
        vp.InvalidArgument,
        ["'victim'", "parallel=True", "'numba'"],
        id="parallel-on-numpy-variant",
    ),
    pytest.param(
        lambda s, x: s.variant("numpy", affine_numpy, name="fast", fastmath=True),
        vp.InvalidArgument,
        ["'victim'", "fastmath", "'numba'"],
        id="numba-option-on-numpy-variant",
    ),
    pytest.param(
        lambda s, x: s.variant("numba", compiled_affine, fastmath=True),
        vp.InvalidArgument,
        ["'victim'", "fastmath"],
        id="numba-option-on-compiled-kernel",
    ),
    pytest.param(
        lambda s, x: s.variant("numba", compiled_affine, parallel=True),
        vp.InvalidArgument,
        ["'victim'", "parallel=True"],
        id="parallel-on-compiled-kernel",
    ),
    pytest.param(
        lambda s, x: s.pin("cuda"),
        vp.UnknownVariant,
        ["'victim'", "'cuda'", "'reference', 'numpy'"],
        id="pin-unknown-variant",
    ),
    pytest.param(
        lambda s, x: s(x, 3.0, 4.0),
        vp.StageCallError,
        ["'victim'", "too many", "victim(x, scale=2.0)"],
        id="call-with-too-many-arguments",
    ),
    pytest.param(
        lambda s, x: s(x, offset=1.0),
        vp.StageCallError,
        ["'victim'", "'offset'", "victim(x, scale=2.0)"],
        id="call-with-unknown-keyword",
    ),
    pytest.param(
        lambda s, x: s(),
        vp.StageCallError,
        ["'victim'", "'x'", "victim(x, scale=2.0)"],
        id="call-without-required-argument",
    ),
    pytest.param(
        lambda s, x: enter(vp.config(mode="fast")),
        vp.InvalidArgument,
        ["'fast'", "'measure', 'estimate', 'reference'"],
        id="config-unknown-mode",
    ),
    pytest.param(
        lambda s, x: vp.set_config(mode="fast"),
        vp.InvalidArgument,
        ["'fast'", "'measure', 'estimate', 'reference'"],
        id="set-config-unknown-mode",
    ),
    pytest.param(
        lambda s, x: enter(vp.config(threads=0)),
        vp.InvalidArgument,
        ["threads=0", "1.."],
        id="config-zero-threads",
    ),
    pytest.param(
        lambda s, x: vp.set_config(threads=True),
        vp.InvalidArgument,
        ["threads=True", "positive int"],
        id="set-config-bool-threads",
    ),
    pytest.param(
        lambda s, x: enter(vp.config(threads="2")),
        vp.InvalidArgument,
        ["threads='2'", "positive int"],
        id="config-string-threads",
    ),
    pytest.param(
        lambda s, x: enter(vp.config(threads=TOO_MANY_THREADS)),
        vp.InvalidArgument,
        [f"threads={TOO_MANY_THREADS}", "NUMBA_NUM_THREADS"],
        id="config-too-many-threads",
    ),
    pytest.param(
        lambda s, x: vp.set_config(threads=TOO_MANY_THREADS),
        vp.InvalidArgument,
        [f"threads={TOO_MANY_THREADS}", "NUMBA_NUM_THREADS"],
        id="set-config-too-many-threads",
    ),
    pytest.param(
        lambda s, x: vp.stage(42),
        vp.InvalidArgument,
        ["vp.stage", "42", "function"],
        id="stage-of-non-callable",
    ),
    pytest.param(
        lambda s, x: vp.stage(s, auto=False),
        vp.InvalidArgument,
        ["'victim'", "already a stage", "use it as it is"],
        id="stage-of-existing-stage",
    ),
    pytest.param(
        lambda s, x: vp.stage(name="")(affine_numpy),
        vp.InvalidArgument,
        ["vp.stage", "name=''", "non-empty string"],
        id="stage-empty-name",
    ),
    pytest.param(
        lambda s, x: vp.stage(chunkable="yes")(affine_numpy),
        vp.InvalidArgument,
        ["vp.stage", "chunkable='yes'", "True or False"],
        id="stage-non-bool-chunkable",
    ),
    pytest.param(
        lambda s, x: vp.Pipeline([]),
        vp.InvalidArgument,
        ["Pipeline", "at least one stage"],
        id="empty-pipeline",
    ),
    pytest.param(
        lambda s, x: vp.Pipeline([1]),
        vp.InvalidArgument,
        ["Pipeline", "step 0", "pass stages or plain functions"],
        id="pipeline-of-non-callable",
    ),
    pytest.param(
        lambda s, x: vp.Pipeline(s),
        vp.InvalidArgument,
        ["Pipeline", "pass a list of stages"],
        id="pipeline-of-a-stage-not-a-list",
    ),
    pytest.param(
        lambda s, x: s >> 1,
        vp.InvalidArgument,
        ["Pipeline", "step 1", "pass stages or plain functions"],
        id="stage-shifted-into-non-callable",
    ),
]


@pytest.mark.parametrize(("bad_call", "error", "fragments"), BAD_CALLS)
def test_bad_call_raises_a_vecpipe_error_that_says_what_to_do(
    victim: vp.Stage, x: np.ndarray, bad_call: BadCall, error: type, fragments: list[str]
):
    with pytest.raises(error) as info:
        bad_call(victim, x)
    assert isinstance(info.value, vp.VecpipeError)
    message = str(info.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_failed_registration_leaves_the_variants_unchanged(victim: vp.Stage):
    with pytest.raises(vp.InvalidArgument):
        victim.variant("numpy", affine_numpy, name="fast", parallel=True)
    assert list(victim.variants) == ["numpy"]


def test_failed_set_config_leaves_the_settings_unchanged():
    before = vp.get_config()
    with pytest.raises(vp.InvalidArgument):
        vp.set_config(mode="fast")
    assert vp.get_config() == before


def test_bad_call_after_a_routed_call_is_still_checked(victim: vp.Stage, x: np.ndarray):
    victim(x)
    with pytest.raises(vp.StageCallError, match="too many"):
        victim(x, 3.0, 4.0)


def test_bad_call_in_reference_mode_raises_stage_call_error(victim: vp.Stage, x: np.ndarray):
    with vp.config(mode="reference"), pytest.raises(vp.StageCallError, match="'victim'"):
        victim(x, 3.0, 4.0)


def test_bad_call_on_a_pinned_stage_raises_stage_call_error(victim: vp.Stage, x: np.ndarray):
    victim.pin("numpy")
    with pytest.raises(vp.StageCallError, match="'victim'"):
        victim(x, 3.0, 4.0)
