"""Stages and their variants: how they are made, called, compiled, named and pinned."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator

import numba
import numpy as np
import pytest
from numba.core.caching import NullCache

import vecpipe as vp

# ---------------------------------------------------------------- one stage, every kind
# Numba compiles take about a second each, so the kernels are defined once per module.


@vp.stage(auto=False)
def total(x):
    """Add up the elements of x."""
    s = 0.0
    for v in x:
        s += v
    return s


@total.variant("numpy")
def _total_numpy(x):
    return float(np.sum(x))


@total.variant("numba")
def _total_numba(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@total.variant("numba", parallel=True)
def _total_numba_parallel(x):
    s = 0.0
    for i in numba.prange(x.shape[0]):
        s += x[i]
    return s


@total.variant("python", name="builtin_sum")
def _total_builtin(x):
    return float(sum(x))


@total.variant("numba", name="numba_fastmath", fastmath=True)
def _total_fastmath(x):
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@numba.njit(nogil=True)
def user_nogil_kernel(x):
    return x * 2.0


@numba.njit
def user_gil_kernel(x):
    return x * 2.0


@pytest.fixture(autouse=True)
def _fresh_total() -> Iterator[None]:
    """The module's stage starts each test undecided and unpinned."""
    total.unpin()
    total.reset()
    yield
    total.unpin()
    total.reset()


@pytest.fixture
def x() -> np.ndarray:
    return np.arange(1000.0)  # sums exactly in any order


def affine(x, scale=2.0, *, shift=0.0):
    """Scale then shift."""
    return np.array([v * scale + shift for v in x])


@pytest.fixture
def affine_stage() -> vp.Stage:
    """A stage with a numpy variant, keyword arguments and defaults."""
    stage = vp.stage(affine, auto=False)

    @stage.variant("numpy")
    def _affine_numpy(x, scale=2.0, *, shift=0.0):
        return x * scale + shift

    return stage


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def counted(calls: list[str]) -> vp.Stage:
    """A stage whose reference and numpy variant record each call in ``calls``."""

    @vp.stage(auto=False)
    def counted(x):
        calls.append("reference")
        return x + 1.0

    @counted.variant("numpy")
    def _counted_numpy(x):
        calls.append("numpy")
        return x + 1.0

    return counted


# ---------------------------------------------------------------- making stages


def double(x):
    """Twice x."""
    return x * 2


def test_bare_decorator_makes_a_stage():
    @vp.stage(auto=False)
    def halve(x):
        return x / 2

    assert isinstance(halve, vp.Stage)
    assert halve.name == "halve"
    assert halve.chunkable is False


def test_decorator_with_arguments_sets_name_and_chunkable():
    @vp.stage(auto=False, name="halver", chunkable=True)
    def halve(x):
        return x / 2

    assert isinstance(halve, vp.Stage)
    assert halve.name == "halver"
    assert halve.chunkable is True


def test_plain_call_makes_a_stage():
    stage = vp.stage(double, auto=False)
    assert isinstance(stage, vp.Stage)
    assert stage.name == "double"


def test_reference_is_the_original_function_object():
    stage = vp.stage(double, auto=False)
    assert stage.reference is double


def test_making_a_stage_leaves_the_function_unchanged():
    code, attributes = double.__code__, dict(double.__dict__)
    vp.stage(double, auto=False)
    assert double.__code__ is code
    assert double.__dict__ == attributes
    assert not isinstance(double, vp.Stage)


def test_stage_carries_the_references_name_and_doc():
    stage = vp.stage(double, auto=False)
    assert stage.__name__ == "double"
    assert stage.__doc__ == "Twice x."


def test_stage_signature_equals_the_references(affine_stage: vp.Stage):
    assert inspect.signature(affine_stage) == inspect.signature(affine)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        pytest.param((), {}, id="defaults"),
        pytest.param((3.0,), {}, id="positional"),
        pytest.param((), {"scale": 3.0}, id="keyword"),
        pytest.param((), {"shift": 1.0}, id="keyword-only"),
        pytest.param((3.0,), {"shift": 1.0}, id="positional-and-keyword-only"),
    ],
)
def test_stage_is_called_like_its_reference(affine_stage: vp.Stage, x, args, kwargs):
    np.testing.assert_array_equal(affine_stage(x, *args, **kwargs), affine(x, *args, **kwargs))


def test_input_passed_by_keyword_reaches_the_stage(affine_stage: vp.Stage, x):
    np.testing.assert_array_equal(affine_stage(x=x, scale=3.0), affine(x, 3.0))


def test_stage_repr_names_the_stage_and_its_variants(affine_stage: vp.Stage):
    assert repr(affine_stage) == "<vecpipe.Stage 'affine': reference + numpy>"


# ---------------------------------------------------------------- variants


def test_variants_are_registered_under_their_default_names():
    assert set(total.variants) >= {"numpy", "numba", "numba_parallel"}


def test_variant_kinds_are_recorded():
    kinds = {name: v.kind for name, v in total.variants.items()}
    assert kinds == {
        "numpy": "numpy",
        "numba": "numba",
        "numba_parallel": "numba",
        "builtin_sum": "python",
        "numba_fastmath": "numba",
    }


def test_reference_is_not_among_the_variants():
    assert "reference" not in total.variants


def test_numpy_variant_runs_the_function_as_written():
    variant = total.variants["numpy"]
    assert variant.run is _total_numpy
    assert variant.func is _total_numpy
    assert not variant.compiled
    assert variant.parallel is False


def test_numba_variant_is_compiled_to_release_the_gil():
    variant = total.variants["numba"]
    assert variant.compiled
    assert variant.releases_gil is True
    assert variant.run.targetoptions["nogil"] is True
    assert variant.func is _total_numba
    assert variant.parallel is False


def test_numba_variant_is_cached_on_disk():
    assert not isinstance(total.variants["numba"].run._cache, NullCache)


def test_parallel_numba_variant_is_named_numba_parallel():
    variant = total.variants["numba_parallel"]
    assert variant.name == "numba_parallel"
    assert variant.parallel is True
    assert variant.releases_gil is True
    assert variant.run.targetoptions["parallel"] is True


def test_name_overrides_the_default_variant_name():
    assert total.variants["builtin_sum"].func is _total_builtin


def test_extra_numba_options_reach_njit():
    variant = total.variants["numba_fastmath"]
    assert variant.run.targetoptions["fastmath"] is True
    assert variant.run.targetoptions["nogil"] is True


def test_non_decorator_form_returns_the_function_unchanged():
    stage = vp.stage(double, auto=False)

    def double_numpy(x):
        return x * 2

    assert stage.variant("numpy", double_numpy) is double_numpy
    assert stage.variants["numpy"].func is double_numpy


def test_decorator_form_returns_the_function_unchanged():
    stage = vp.stage(double, auto=False)

    def double_numpy(x):
        return x * 2

    assert stage.variant("numpy")(double_numpy) is double_numpy


def test_users_nogil_kernel_is_taken_as_it_is():
    stage = vp.stage(double, auto=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stage.variant("numba", user_nogil_kernel)
    variant = stage.variants["numba"]
    assert variant.run is user_nogil_kernel
    assert variant.releases_gil is True


def test_users_kernel_without_nogil_gets_a_gil_warning():
    stage = vp.stage(double, auto=False)
    with pytest.warns(vp.GILWarning, match="nogil=True") as record:
        stage.variant("numba", user_gil_kernel)
    assert "'double'" in str(record[0].message)
    assert stage.variants["numba"].releases_gil is False
    assert stage.variants["numba"].run is user_gil_kernel


@pytest.mark.parametrize(
    "register",
    [
        pytest.param(lambda stage: stage.variant("numba")(user_gil_kernel), id="decorator"),
        pytest.param(lambda stage: stage.variant("numba", user_gil_kernel), id="call"),
    ],
)
def test_gil_warning_points_at_the_registering_line(register):
    stage = vp.stage(double, auto=False)
    with pytest.warns(vp.GILWarning) as record:
        register(stage)
    assert record[0].filename == __file__


def test_variants_mapping_is_read_only():
    with pytest.raises(TypeError):
        total.variants["extra"] = total.variants["numpy"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del total.variants["numpy"]  # type: ignore[attr-defined]


def test_registering_a_variant_forgets_earlier_decisions(affine_stage: vp.Stage, x):
    affine_stage(x)
    assert affine_stage.choice(x) is not None

    def affine_python(x, scale=2.0, *, shift=0.0):
        return np.array([v * scale + shift for v in x])

    affine_stage.variant("python", affine_python)
    assert affine_stage.choice(x) is None


@pytest.mark.parametrize(
    "name", ["reference", "numpy", "numba", "numba_parallel", "builtin_sum", "numba_fastmath"]
)
def test_every_variant_gives_the_references_answer(x, name: str):
    total.pin(name)
    assert total(x) == total.reference(x)


def test_dispatched_call_gives_the_references_answer(x):
    assert total(x) == total.reference(x)
    assert total.choice(x) in {"reference", *total.variants}


# ---------------------------------------------------------------- pin and unpin


def test_pin_runs_the_pinned_variant(counted: vp.Stage, calls: list[str], x):
    counted.pin("numpy")
    counted(x)
    assert calls == ["numpy"]


def test_pin_sets_the_choice(counted: vp.Stage, x):
    counted.pin("numpy")
    assert counted.choice(x) == "numpy"
    assert counted.pinned == "numpy"


def test_pin_overrides_an_earlier_decision(counted: vp.Stage, calls: list[str], x):
    counted(x)
    calls.clear()
    counted.pin("numpy")
    counted(x)
    assert calls == ["numpy"]


def test_pin_reference_runs_the_original(counted: vp.Stage, calls: list[str], x):
    counted.pin("reference")
    counted(x)
    assert calls == ["reference"]
    assert counted.choice(x) == "reference"


def test_unpin_lets_the_dispatcher_choose_again(counted: vp.Stage, calls: list[str], x):
    counted.pin("numpy")
    counted(x)
    counted.unpin()
    calls.clear()
    counted(x)
    assert counted.pinned is None
    assert "reference" in calls  # tuning compares the variant with the reference
    assert counted.choice(x) in {"reference", "numpy"}


def test_unpin_restores_earlier_decisions(counted: vp.Stage, x):
    counted(x)
    decided = counted.choice(x)
    counted.pin("reference" if decided == "numpy" else "numpy")
    counted.unpin()
    assert counted.choice(x) == decided
