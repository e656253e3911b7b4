"""Pipelines: stages in order, built from lists or with ``>>``, with a report of each run."""

from __future__ import annotations

import numpy as np
import pytest

import vecpipe as vp


@pytest.fixture
def center() -> vp.Stage:
    """A reference-only stage."""

    @vp.stage(auto=False)
    def center(x):
        return x - x.mean()

    return center


@pytest.fixture
def scale() -> vp.Stage:
    """A stage with a keyword argument and a numpy variant."""

    @vp.stage(auto=False)
    def scale(x, factor=2.0):
        return np.array([v * factor for v in x])

    @scale.variant("numpy")
    def _scale_numpy(x, factor=2.0):
        return x * factor

    return scale


@pytest.fixture
def square() -> vp.Stage:
    @vp.stage(auto=False)
    def square(x):
        return x * x

    return square


@pytest.fixture
def x() -> np.ndarray:
    return np.array([1.0, 2.0, 3.0, 6.0])


# ------------------------------------------------------------------------ building


def test_pipeline_from_a_list_holds_the_stages_in_order(center, scale):
    assert vp.Pipeline([center, scale]).stages == (center, scale)


def test_rshift_of_two_stages_makes_a_pipeline(center, scale):
    pipe = center >> scale
    assert isinstance(pipe, vp.Pipeline)
    assert pipe.stages == (center, scale)


def test_rshift_chain_of_three_stages_is_one_flat_pipeline(center, scale, square):
    assert (center >> scale >> square).stages == (center, scale, square)


def test_pipeline_rshift_function_appends_a_reference_only_stage(center, scale):
    pipe = (center >> scale) >> np.cumsum
    last = pipe.stages[-1]
    assert isinstance(last, vp.Stage)
    assert last.reference is np.cumsum
    assert dict(last.variants) == {}


def test_function_rshift_stage_prepends_a_reference_only_stage(scale):
    pipe = np.abs >> scale
    first = pipe.stages[0]
    assert isinstance(first, vp.Stage)
    assert first.reference is np.abs
    assert pipe.stages[1] is scale


def test_function_rshift_pipeline_prepends_a_reference_only_stage(center, scale):
    pipe = np.abs >> (center >> scale)
    assert pipe.stages[0].reference is np.abs
    assert pipe.stages[1:] == (center, scale)


def test_pipeline_rshift_pipeline_concatenates(center, scale, square):
    pipe = (center >> scale) >> (square >> center)
    assert pipe.stages == (center, scale, square, center)


def test_pipeline_from_a_list_flattens_nested_pipelines(center, scale, square):
    assert vp.Pipeline([center >> scale, square]).stages == (center, scale, square)


def test_pipeline_of_plain_functions_wraps_each_as_a_stage():
    pipe = vp.Pipeline([np.sqrt, np.sum])
    assert all(isinstance(s, vp.Stage) for s in pipe)
    assert [s.name for s in pipe] == ["sqrt", "sum"]


# ------------------------------------------------------------------------ calling


def test_call_passes_each_output_to_the_next_stage(center, scale, square, x):
    out = (center >> scale >> square)(x)
    np.testing.assert_allclose(out, square.reference(scale.reference(center.reference(x))))


def test_first_stage_gets_the_positional_and_keyword_arguments(scale, square, x):
    out = (scale >> square)(x, factor=3.0)
    np.testing.assert_allclose(out, (x * 3.0) ** 2)


def test_first_stage_gets_positional_arguments(scale, square, x):
    out = (scale >> square)(x, 3.0)
    np.testing.assert_allclose(out, (x * 3.0) ** 2)


def test_pipeline_call_checks_the_first_stages_arguments(scale, square, x):
    with pytest.raises(vp.StageCallError, match="'scale'"):
        (scale >> square)(x, offset=1.0)


# ------------------------------------------------------------------------ reports


def test_explain_gathers_every_stage(center, scale, square, x):
    pipe = center >> scale >> square
    pipe(x)
    table = pipe.explain().to_frame()
    assert list(dict.fromkeys(table["stage"])) == ["center", "scale", "square"]
    assert set(table.loc[table["stage"] == "scale", "variant"]) == {"reference", "numpy"}


def test_explain_lists_a_stage_used_twice_once(center, x):
    pipe = center >> center
    pipe(x)
    table = pipe.explain().to_frame()
    assert not table.duplicated(["stage", "key", "variant"]).any()
    assert str(pipe.explain()).count("*") == 1


def test_explain_keeps_stages_that_share_a_name_apart(x):
    pipe = vp.Pipeline([lambda v: v + 1.0, lambda v: v * 2.0])
    pipe(x)
    assert str(pipe.explain()).count("stage <lambda>") == 2


def test_explain_before_any_call_lists_every_stage(center, scale):
    text = str((center >> scale).explain())
    assert "stage center" in text
    assert "stage scale" in text
    assert text.count("no calls yet") == 2


def test_last_run_has_one_entry_per_stage_with_variant_and_time(center, scale, x):
    scale.pin("numpy")
    pipe = center >> scale
    pipe(x)
    runs = list(pipe.last_run)
    assert [(run.stage, run.variant) for run in runs] == [
        ("center", "reference"),
        ("scale", "numpy"),
    ]
    assert all(run.seconds > 0 for run in runs)


def test_last_run_names_the_variant_the_dispatcher_chose(center, scale, x):
    pipe = center >> scale
    pipe(x)
    assert pipe.last_run.runs[1].variant == scale.choice(center(x))


def test_last_run_names_the_reference_in_reference_mode(scale, x):
    pipe = scale >> np.sum
    with vp.config(mode="reference"):
        pipe(x)
    assert [run.variant for run in pipe.last_run] == ["reference", "reference"]


def test_last_run_describes_the_latest_call(center, scale, x):
    pipe = center >> scale
    pipe(x)
    scale.pin("numpy")
    pipe(x)
    assert pipe.last_run.runs[1].variant == "numpy"


def test_last_run_total_is_the_sum_of_the_stages(center, scale, x):
    pipe = center >> scale
    pipe(x)
    report = pipe.last_run
    assert report.seconds == pytest.approx(sum(run.seconds for run in report))
    assert len(report) == 2
    assert list(report.to_frame().columns) == ["stage", "variant", "seconds"]


def test_last_run_before_any_call_raises(center, scale):
    with pytest.raises(vp.InvalidArgument, match="not been called"):
        _ = (center >> scale).last_run


# ------------------------------------------------------------------------ container


def test_len_counts_the_stages(center, scale, square):
    assert len(center >> scale >> square) == 3


def test_iteration_yields_the_stages_in_order(center, scale, square):
    assert list(center >> scale >> square) == [center, scale, square]


def test_repr_shows_the_stage_names_in_order(center, scale):
    assert repr(center >> scale >> np.cumsum) == "Pipeline(center >> scale >> cumsum)"
