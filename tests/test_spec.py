"""Input specs: what they draw, which edge cases they always give, and their errors."""

from __future__ import annotations

import math
import types
from typing import Annotated

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecpipe import spec
from vecpipe.errors import InvalidArgument

FEW = settings(max_examples=50, deadline=None, database=None)
#: For tests that collect what many draws cover: the same draws every run.
COVERING = settings(max_examples=100, deadline=None, database=None, derandomize=True)

FLOAT64_LABELS = {
    "empty",
    "length-1",
    "all-nan",
    "some-nan",
    "+inf",
    "-inf",
    "negative-zero",
    "huge",
    "tiny",
    "strided",
    "read-only",
}


def labels(cases):
    return [c.label for c in cases]


def layout(a: np.ndarray) -> str:
    if a.flags.c_contiguous:
        return "C"
    return "F" if a.flags.f_contiguous else "strided"


# -- what the strategies draw ---------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", ["float64", "float32", "float16", "int64", "int8", "uint16", "bool", "complex128"]
)
def test_arrays_have_the_dtype_and_sizes_asked_for(dtype):
    @FEW
    @given(spec.array(dtype, min_size=2, max_size=40).strategy())
    def check(a):
        assert isinstance(a, np.ndarray)
        assert a.dtype == np.dtype(dtype)
        assert a.ndim == 1
        assert 2 <= len(a) <= 40
        assert a.flags.writeable

    check()


@FEW
@given(spec.array("int32", ndim=2, max_size=20).strategy())
def test_2d_arrays_have_rows_and_up_to_eight_columns(a):
    assert a.dtype == np.int32 and a.ndim == 2
    assert a.shape[0] <= 20 and 0 <= a.shape[1] <= 8


@FEW
@given(spec.array(ndim=2, cols=3, order="F").strategy(5))
def test_fixed_columns_and_fortran_order(a):
    assert a.shape == (5, 3)
    assert a.flags.f_contiguous


@FEW
@given(spec.array(order="C").strategy())
def test_order_c_draws_only_contiguous_arrays(a):
    assert a.flags.c_contiguous


def test_order_any_draws_contiguous_strided_and_fortran_arrays():
    seen: set[str] = set()

    @COVERING
    @given(spec.array(ndim=2, min_size=2, max_size=10).strategy())
    def collect(a):
        if a.shape[1] >= 2:
            seen.add(layout(a))

    collect()
    assert seen == {"C", "F", "strided"}


def test_order_any_draws_contiguous_and_strided_1d_arrays():
    seen: set[str] = set()

    @COVERING
    @given(spec.array(min_size=2, max_size=10).strategy())
    def collect(a):
        seen.add(layout(a))

    collect()
    assert seen == {"C", "strided"}


@FEW
@given(spec.array(allow_nan=False, max_size=100).strategy())
def test_allow_nan_false_never_draws_nan(a):
    assert not np.isnan(a).any()


@FEW
@given(spec.array(allow_nan=False, allow_infinity=False).strategy())
def test_allow_infinity_false_draws_finite_values(a):
    assert np.isfinite(a).all()


@FEW
@given(spec.array("float32", min_value=0.1, max_value=5.0).strategy())
def test_float_bounds_hold_for_every_number(a):
    numbers = a[~np.isnan(a)]  # NaN is not a number: bounds do not exclude it
    assert ((numbers >= np.float32(0.1)) & (numbers <= 5.0)).all()


def test_bounded_floats_still_draw_nan_unless_told_not_to():
    seen: list[bool] = []

    @COVERING
    @given(spec.array(min_value=0.0, max_size=10).strategy())
    def collect(a):
        seen.append(bool(np.isnan(a).any()))

    collect()
    assert any(seen)


@FEW
@given(spec.array("int16", min_value=-5, max_value=7).strategy())
def test_integer_bounds(a):
    assert ((a >= -5) & (a <= 7)).all()


@FEW
@given(spec.array("int8", unique=True, max_size=50).strategy())
def test_unique_arrays_have_distinct_values(a):
    assert len(np.unique(a)) == len(a)


@FEW
@given(spec.array(elements=st.sampled_from([1.0, 2.0])).strategy())
def test_elements_strategy_gives_the_values(a):
    assert set(a.tolist()) <= {1.0, 2.0}


@FEW
@given(
    spec.Spec(spec.array(), spec.array("int64", ndim=2), spec.series(), spec.window()).strategy()
)
def test_same_length_ties_every_sized_argument(args):
    x, m, s, w = args
    assert len(x) == m.shape[0] == len(s)
    assert 1 <= w <= max(1, len(x))


@FEW
@given(spec.Spec(spec.array(), spec.window(3, max_value=10), min_size=2, max_size=30).strategy())
def test_window_lies_between_its_minimum_and_the_length(args):
    x, w = args
    assert 2 <= len(x) <= 30
    assert 3 <= w <= min(max(3, len(x)), 10)


def test_arguments_draw_their_own_lengths_without_same_length():
    pairs: list[tuple[int, int]] = []

    @COVERING
    @given(spec.Spec(spec.array(), spec.array(max_size=5), same_length=False).strategy())
    def collect(args):
        x, y = args
        assert len(y) <= 5
        pairs.append((len(x), len(y)))

    collect()
    assert any(a != b for a, b in pairs)


@FEW
@given(spec.Spec(spec.array(min_size=3), spec.array(max_size=12), max_size=100).strategy())
def test_shared_length_respects_every_arguments_bounds(args):
    assert 3 <= len(args[0]) == len(args[1]) <= 12


@FEW
@given(spec.series("int32", name="x", max_size=30).strategy())
def test_series_have_dtype_name_and_range_index(s):
    assert isinstance(s, pd.Series)
    assert s.dtype == np.int32 and s.name == "x" and len(s) <= 30
    assert isinstance(s.index, pd.RangeIndex)


@FEW
@given(spec.series(index="any").strategy())
def test_series_with_any_index_have_unique_integer_labels(s):
    assert s.index.dtype == np.int64
    assert s.index.is_unique


@FEW
@given(spec.series("str", max_size=20).strategy())
def test_text_series(s):
    assert s.dtype == "str"
    assert all(isinstance(v, str) for v in s)


@FEW
@given(spec.frame({"x": "float64", "n": "int64", "ok": "bool", "label": "str"}).strategy())
def test_frames_have_the_columns_and_dtypes(df):
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["x", "n", "ok", "label"]
    assert df.dtypes["x"] == np.float64 and df.dtypes["n"] == np.int64
    assert df.dtypes["ok"] == np.bool_ and df.dtypes["label"] == "str"


@FEW
@given(
    spec.Spec(
        spec.integers(-3, 9),
        spec.floats(0.0, 1.0, allow_nan=False),
        spec.floats(width=32),
        spec.booleans(),
        spec.sampled_from(["mean", "median"]),
        spec.just(7),
        np.arange(2),
    ).strategy()
)
def test_unsized_arguments(args):
    i, f, f32, b, how, seven, constant = args
    assert type(i) is int and -3 <= i <= 9
    assert 0.0 <= f <= 1.0
    assert math.isnan(f32) or float(np.float32(f32)) == f32
    assert type(b) is bool
    assert how in ("mean", "median")
    assert seven == 7
    assert constant.tolist() == [0, 1]


@FEW
@given(spec.Spec(spec.integers(), st.floats(0, 1), "k").strategy())
def test_strategies_and_constants_are_arguments_too(args):
    i, f, k = args
    assert isinstance(i, int) and 0 <= f <= 1 and k == "k"


@FEW
@given(spec.Spec.from_strategy(st.lists(st.integers(), min_size=2, max_size=2)).strategy())
def test_from_strategy_draws_tuples(args):
    assert isinstance(args, tuple) and len(args) == 2


def test_from_strategy_rejects_draws_that_are_not_argument_tuples():
    @FEW
    @given(spec.Spec.from_strategy(st.integers()).strategy())
    def check(args):
        pass

    with pytest.raises(InvalidArgument, match="must draw tuples"):
        check()


# -- edge cases -------------------------------------------------------------------------------


def by_label(cases):
    return {c.label: c.value for c in cases}


def test_every_float64_edge_case_is_there_and_is_what_it_says():
    cases = by_label(spec.array("float64").edge_cases())
    assert set(cases) == FLOAT64_LABELS
    assert cases["empty"].shape == (0,) and cases["empty"].dtype == np.float64
    assert cases["length-1"].shape == (1,)
    n = spec.EDGE_LENGTH
    others = {k: v for k, v in cases.items() if k not in ("empty", "length-1")}
    assert all(v.shape == (n,) and v.dtype == np.float64 for v in others.values())
    assert np.isnan(cases["all-nan"]).all()
    some = cases["some-nan"]
    assert np.isnan(some).sum() == 1 and np.isfinite(some).sum() == some.size - 1
    for label, sign in (("+inf", 1), ("-inf", -1)):
        v = cases[label]
        assert (v == sign * np.inf).any() and np.isfinite(v).any()
    zeros = cases["negative-zero"][cases["negative-zero"] == 0]
    assert zeros.size and np.signbit(zeros).all()
    assert (np.abs(cases["huge"]) >= 1e300).any() and (np.abs(cases["huge"]) < 10).any()
    assert not (cases["huge"] < -10).any()  # one sign: +1e300 and -1e300 would cancel
    tiny = cases["tiny"][np.abs(cases["tiny"]) < np.finfo(np.float64).tiny]
    assert tiny.size and (tiny != 0).all()  # subnormal
    assert not cases["strided"].flags.c_contiguous
    assert not cases["read-only"].flags.writeable


def test_float32_huge_and_tiny_fit_float32():
    cases = by_label(spec.array("float32").edge_cases(4))
    assert np.isfinite(cases["huge"]).all() and np.abs(cases["huge"]).max() >= 1e30
    assert (cases["tiny"] != 0).any()


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint32"])
def test_integer_arrays_have_int_min_and_int_max(dtype):
    info = np.iinfo(dtype)
    cases = by_label(spec.array(dtype).edge_cases(5))
    assert {"int-min", "int-max", "strided", "read-only"} <= set(cases)
    assert "all-nan" not in cases and "+inf" not in cases
    assert cases["int-min"].min() == info.min and cases["int-max"].max() == info.max
    assert all(v.dtype == np.dtype(dtype) for v in cases.values())


def test_bool_arrays_have_all_true_and_all_false():
    cases = by_label(spec.array("bool").edge_cases(3))
    assert cases["all-true"].all() and not cases["all-false"].any()


def test_2d_arrays_have_a_fortran_edge_case():
    cases = by_label(spec.array(ndim=2).edge_cases(4))
    assert cases["fortran"].flags.f_contiguous and not cases["fortran"].flags.c_contiguous
    assert all(v.shape == (4, 3) for v in cases.values())
    assert "fortran" not in by_label(spec.array().edge_cases(4))


def test_given_a_length_the_edge_cases_have_it_and_leave_empty_to_the_spec():
    cases = spec.array().edge_cases(5)
    assert "empty" not in labels(cases) and "length-1" not in labels(cases)
    assert all(len(c.value) == 5 for c in cases)
    assert spec.array().edge_cases(0) == []


@pytest.mark.parametrize(
    ("options", "absent"),
    [
        pytest.param({"allow_nan": False}, {"all-nan", "some-nan"}, id="allow_nan=False"),
        pytest.param({"allow_infinity": False}, {"+inf", "-inf"}, id="allow_infinity=False"),
        pytest.param({"min_value": 0.0}, {"-inf", "negative-zero"}, id="min_value=0"),
        pytest.param({"max_value": 1.0}, {"+inf"}, id="max_value=1"),
        pytest.param({"min_value": 1.0, "max_value": 2.0}, {"huge", "tiny"}, id="bounded"),
        pytest.param({"order": "C"}, {"strided"}, id="order=C"),
        pytest.param({"min_size": 2}, {"empty", "length-1"}, id="min_size=2"),
    ],
)
def test_edge_cases_respect_the_options(options, absent):
    cases = spec.array(**options).edge_cases()
    assert not absent & set(labels(cases))
    lo, hi = options.get("min_value", -np.inf), options.get("max_value", np.inf)
    for case in cases:
        numbers = case.value[~np.isnan(case.value)]
        assert ((numbers >= lo) & (numbers <= hi)).all(), case.label
        if not options.get("allow_nan", True):
            assert not np.isnan(case.value).any(), case.label
        if not options.get("allow_infinity", True):
            assert np.isfinite(numbers).all(), case.label


def test_huge_values_are_negative_when_the_bounds_say_so():
    huge = by_label(spec.array(max_value=1.0).edge_cases(4))["huge"]
    assert (huge <= -1e300).any() and (huge <= 1.0).all()


def test_bounds_are_edge_cases_themselves():
    cases = by_label(spec.array("int32", min_value=-2, max_value=9).edge_cases(4))
    assert {"min-value", "max-value"} <= set(cases) and "int-min" not in cases
    assert cases["min-value"].min() == -2 and cases["max-value"].max() == 9


def test_unique_arrays_keep_only_edge_cases_with_distinct_values():
    for case in spec.array("int8", unique=True, max_size=100).edge_cases(6):
        assert len(np.unique(case.value)) == 6, case.label
    assert "all-nan" not in labels(spec.array(unique=True).edge_cases())


def test_series_edge_cases_mirror_the_arrays():
    cases = by_label(spec.series(index="any", name="x").edge_cases(4))
    assert {"all-nan", "+inf", "-inf", "huge", "tiny", "reversed-index"} <= set(cases)
    assert all(isinstance(v, pd.Series) and len(v) == 4 and v.name == "x" for v in cases.values())
    assert list(cases["reversed-index"].index) == [3, 2, 1, 0]


def test_frame_edge_cases_apply_to_the_columns_they_fit():
    cases = by_label(spec.frame({"x": "float64", "y": "float32", "n": "int64"}).edge_cases())
    assert {"empty", "length-1", "all-nan", "+inf", "-inf", "int-max"} <= set(cases)
    assert len(cases["empty"]) == 0 and list(cases["empty"].columns) == ["x", "y", "n"]
    assert cases["all-nan"][["x", "y"]].isna().all().all()
    assert not cases["all-nan"]["n"].isna().any()
    assert np.isinf(cases["+inf"]["x"]).any() and np.isinf(cases["+inf"]["y"]).any()
    no_nan = spec.frame({"x": "float64"}, allow_nan=False, allow_infinity=False).edge_cases()
    assert not {"all-nan", "+inf", "-inf"} & set(labels(no_nan))


def test_scalar_edge_cases():
    assert [(c.label, c.value) for c in spec.integers(1, 5).edge_cases()] == [
        ("min-value", 1),
        ("max-value", 5),
    ]
    assert labels(spec.integers().edge_cases()) == ["zero"]
    floats = by_label(spec.floats().edge_cases())
    assert set(floats) == {"zero", "negative-zero", "nan", "+inf", "-inf", "huge", "tiny"}
    assert math.copysign(1.0, floats["negative-zero"]) == -1.0
    bounded = by_label(spec.floats(0.0, 1.0, allow_nan=False).edge_cases())
    assert set(bounded) == {"zero", "tiny", "max-value"}
    assert labels(spec.sampled_from(["a", "b"]).edge_cases()) == ["value='a'", "value='b'"]
    assert spec.sampled_from(list(range(11))).edge_cases() == []
    assert [c.value for c in spec.just(3).edge_cases()] == [3]


def test_window_edge_cases():
    assert by_label(spec.window().edge_cases(6)) == {
        "min-window": 1,
        "full-window": 6,
        "over-long-window": 7,
    }
    assert by_label(spec.window(2, max_value=6).edge_cases(6)) == {
        "min-window": 2,
        "full-window": 6,
    }
    assert by_label(spec.window(3).edge_cases(None)) == {"min-window": 3, "max-window": 100}


def test_spec_edge_cases_are_unique_labelled_calls_of_the_right_shape():
    s = spec.Spec(spec.array(), spec.array("int64", ndim=2), spec.window(), spec.floats(), 2.0)
    cases = s.edge_cases()
    names = [label for label, _ in cases]
    assert len(names) == len(set(names))
    assert names[:2] == ["empty", "length-1"]
    assert {"arg0:all-nan", "arg1:int-max", "arg1:fortran", "arg2:over-long-window"} <= set(names)
    assert {"arg3:nan", "arg3:+inf"} <= set(names)
    for label, args in cases:
        assert len(args) == 5 and args[4] == 2.0
        assert len(args[0]) == args[1].shape[0], label
    calls = dict(cases)
    assert len(calls["empty"][0]) == 0 and len(calls["length-1"][1]) == 1
    x, m, w, f, _ = calls["arg0:all-nan"]
    assert np.isnan(x).all() and not np.isnan(m).any() and w <= len(x) and f == 0.0
    assert calls["arg2:over-long-window"][2] == len(x) + 1


def test_spec_edge_cases_are_fresh_objects_each_time():
    s = spec.Spec(spec.array())
    (first,) = dict(s.edge_cases())["arg0:huge"]
    first[:] = 0.0
    (again,) = dict(s.edge_cases())["arg0:huge"]
    assert (np.abs(again) >= 1e300).any()


def test_spec_edge_cases_without_same_length():
    cases = dict(spec.Spec(spec.array(), spec.array(max_size=3), same_length=False).edge_cases())
    assert {"arg0:empty", "arg1:length-1", "arg1:all-nan"} <= set(cases)
    assert "empty" not in cases
    assert len(cases["arg1:all-nan"][1]) == 3 and len(cases["arg1:all-nan"][0]) == 8


def test_spec_edge_cases_use_a_strategys_simplest_value():
    cases = spec.Spec(spec.array(), st.integers(3, 9)).edge_cases()
    assert all(args[1] == 3 for _, args in cases)


def test_from_strategy_edge_cases():
    s = spec.Spec.from_strategy(st.tuples(st.integers()), edge_cases=[("big", (10**9,))])
    assert s.edge_cases() == [("big", (10**9,))]
    assert spec.Spec.from_strategy(st.tuples(st.integers())).edge_cases() == []


# -- as_spec and infer ------------------------------------------------------------------------


def test_as_spec_conversions():
    s = spec.Spec(spec.array())
    assert spec.as_spec(s) is s
    assert spec.as_spec(spec.array()).arity == 1
    assert spec.as_spec((spec.array(), st.integers(), 3)).arity == 3
    assert spec.as_spec([spec.series()]).arity == 1
    from_strategy = spec.as_spec(st.tuples(st.floats()))
    assert from_strategy.arity is None and from_strategy.edge_cases() == []


def test_as_spec_says_what_inputs_accepts():
    with pytest.raises(InvalidArgument, match=r"inputs=3 .*vp\.spec\.array"):
        spec.as_spec(3)


def _ndarray(x: np.ndarray, scale: float = 2.0): ...
def _f32(x: npt.NDArray[np.float32]): ...
def _i64(x: npt.NDArray[np.int64], y: npt.NDArray[np.bool_]): ...
def _bare(x: npt.NDArray): ...
def _series(s: pd.Series, k: int, t: float, flag: bool): ...
def _optional(x: np.ndarray | None): ...
def _annotated(x: Annotated[np.ndarray, spec.array("int8", max_size=4)]): ...


@pytest.mark.parametrize(
    ("func", "expected"),
    [
        (_ndarray, [np.float64]),
        (_f32, [np.float32]),
        (_i64, [np.int64, np.bool_]),
        (_bare, [np.float64]),
        (_optional, [np.float64]),
        (_annotated, [np.int8]),
    ],
    ids=["ndarray", "NDArray-float32", "NDArray-int64", "bare-NDArray", "optional", "annotated"],
)
def test_infer_arrays_from_annotations(func, expected):
    s = spec.infer(func, "f")
    assert s.arity == len(expected)
    for label, args in s.edge_cases():
        assert [a.dtype for a in args] == [np.dtype(d) for d in expected], label


def test_infer_series_and_scalars():
    s = spec.infer(_series, "f")
    assert repr(s) == (
        'vp.spec.Spec(vp.spec.series(dtype="float64"), '
        "vp.spec.integers(min_value=-1000, max_value=1000), vp.spec.floats(), vp.spec.booleans())"
    )

    @FEW
    @given(s.strategy())
    def check(args):
        series, k, t, flag = args
        assert isinstance(series, pd.Series) and series.dtype == np.float64
        assert -1000 <= k <= 1000 and isinstance(t, float) and isinstance(flag, bool)

    check()


STRING_ANNOTATIONS = """
from __future__ import annotations
from typing import TYPE_CHECKING
import numpy as np
import pandas as pd
if TYPE_CHECKING:
    from numpy.typing import NDArray

def resolvable(x: np.ndarray, s: pd.Series, k: int, w: float = 1.0): ...
def only_for_type_checkers(x: NDArray[np.int16], t: float): ...
def unknown(x: np.ndarray, when: Undefined): ...
"""


def _string_module():
    module = types.ModuleType("string_annotations")
    exec(STRING_ANNOTATIONS, module.__dict__)
    return module


def test_infer_string_annotations():
    module = _string_module()
    s = spec.infer(module.resolvable, "f")
    assert repr(s) == (
        'vp.spec.Spec(vp.spec.array(dtype="float64"), vp.spec.series(dtype="float64"), '
        "vp.spec.integers(min_value=-1000, max_value=1000))"
    )
    s = spec.infer(module.only_for_type_checkers, "f")
    assert repr(s) == 'vp.spec.Spec(vp.spec.array(dtype="int16"), vp.spec.floats())'


def test_infer_unannotated_parameter_says_how_to_declare_inputs():
    def f(x, k=3): ...

    with pytest.raises(InvalidArgument) as info:
        spec.infer(f, "f")
    assert str(info.value) == (
        "stage 'f': cannot infer how to generate argument 'x' (no annotation); declare it: "
        '@vp.stage(inputs=vp.spec.array(dtype="float64"))'
    )


def test_infer_unknown_annotation_shows_the_whole_inputs_tuple():
    with pytest.raises(InvalidArgument) as info:
        spec.infer(_string_module().unknown, "smooth")
    message = str(info.value)
    assert "stage 'smooth'" in message and "argument 'when'" in message
    assert "Undefined" in message
    assert 'inputs=(vp.spec.array(dtype="float64"), vp.spec.array(dtype="float64"))' in message


def test_infer_dataframe_suggests_a_frame_spec():
    def f(df: pd.DataFrame): ...

    with pytest.raises(InvalidArgument, match=r"inputs=vp\.spec\.frame\("):
        spec.infer(f, "f")


def test_infer_keyword_only_parameter_without_default():
    def f(x: np.ndarray, *, k: int): ...

    with pytest.raises(InvalidArgument, match="keyword-only argument 'k'"):
        spec.infer(f, "f")


def test_reprs_show_the_options_that_differ_from_the_defaults():
    assert repr(spec.array("int8", max_size=5, order="C")) == (
        'vp.spec.array(dtype="int8", max_size=5, order="C")'
    )
    assert repr(spec.window(2, max_value=9)) == "vp.spec.window(min_value=2, max_value=9)"
    assert repr(spec.frame({"x": "float64"})) == 'vp.spec.frame({"x": "float64"})'
    assert repr(spec.Spec(spec.floats(0, 1), max_size=5)) == (
        "vp.spec.Spec(vp.spec.floats(min_value=0, max_value=1), max_size=5)"
    )


# -- bad options ------------------------------------------------------------------------------

BAD_OPTIONS = [
    ("array-negative-min-size", lambda: spec.array(min_size=-1), "min_size=-1"),
    ("array-min-size-above-max", lambda: spec.array(min_size=5, max_size=2), "min_size=5"),
    ("array-float-size", lambda: spec.array(max_size=10.5), "max_size=10.5"),
    ("array-unknown-dtype", lambda: spec.array("floaty"), "dtype='floaty'"),
    ("array-text-dtype", lambda: spec.array("str"), "dtype='str'"),
    ("array-none-dtype", lambda: spec.array(None), "dtype=None"),
    ("array-ndim-3", lambda: spec.array(ndim=3), "ndim=3"),
    ("array-order", lambda: spec.array(order="K"), "order='K'"),
    ("array-cols-1d", lambda: spec.array(cols=2), "cols=2"),
    ("array-allow-nan-str", lambda: spec.array(allow_nan="yes"), "allow_nan='yes'"),
    ("array-bounds-on-bool", lambda: spec.array("bool", min_value=0), "min_value=0"),
    ("array-float-bound-for-int", lambda: spec.array("int64", min_value=0.5), "min_value=0.5"),
    ("array-bound-outside-int8", lambda: spec.array("int8", max_value=1000), "max_value=1000"),
    ("array-nan-bound", lambda: spec.array(min_value=math.nan), "min_value=nan"),
    ("array-min-above-max", lambda: spec.array(min_value=2.0, max_value=1.0), "min_value=2.0"),
    ("array-elements-list", lambda: spec.array(elements=[1.0]), "elements=[1.0]"),
    (
        "array-elements-and-bounds",
        lambda: spec.array(elements=st.floats(), min_value=0.0),
        "elements=floats()",
    ),
    ("array-unique-bool", lambda: spec.array("bool", unique=True), "max_size=1000"),
    ("series-index", lambda: spec.series(index="random"), "index='random'"),
    ("series-unhashable-name", lambda: spec.series(name=[1]), "name=[1]"),
    ("frame-list", lambda: spec.frame(["x"]), "columns=['x']"),
    ("frame-unknown-dtype", lambda: spec.frame({"x": "floaty"}), "dtype='floaty'"),
    ("frame-dtype-not-string", lambda: spec.frame({"x": 1}), "columns={'x': 1}"),
    ("frame-key-not-string", lambda: spec.frame({1: "float64"}), "columns={1: 'float64'}"),
    ("integers-min-above-max", lambda: spec.integers(5, 1), "min_value=5"),
    ("integers-float", lambda: spec.integers(0.5), "min_value=0.5"),
    ("floats-width", lambda: spec.floats(width=8), "width=8"),
    ("floats-min-above-max", lambda: spec.floats(1.0, 0.0), "min_value=1.0"),
    ("sampled-from-empty", lambda: spec.sampled_from([]), "values=[]"),
    ("sampled-from-set", lambda: spec.sampled_from({1, 2}), "values={1, 2}"),
    ("window-negative", lambda: spec.window(-1), "min_value=-1"),
    ("window-max-below-min", lambda: spec.window(3, max_value=2), "max_value=2"),
    ("spec-same-length", lambda: spec.Spec(same_length="yes"), "same_length='yes'"),
    ("spec-sizes", lambda: spec.Spec(min_size=3, max_size=1), "min_size=3"),
    ("spec-nested", lambda: spec.Spec(spec.Spec()), "argument 0 is a Spec"),
    (
        "spec-arg-outside-sizes",
        lambda: spec.Spec(spec.array(min_size=10), max_size=5),
        "argument 0",
    ),
    (
        "spec-no-common-length",
        lambda: spec.Spec(spec.array(min_size=10), spec.array(max_size=5)),
        "no length in common",
    ),
    ("from-strategy-not-strategy", lambda: spec.Spec.from_strategy(3), "strategy=3"),
    (
        "from-strategy-bad-edge-cases",
        lambda: spec.Spec.from_strategy(st.tuples(), edge_cases=[(1, 2)]),
        "edge_cases=[(1, 2)]",
    ),
    ("as-spec-dict", lambda: spec.as_spec({"x": 1}), "inputs={'x': 1}"),
]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [pytest.param(make, fragment, id=name) for name, make, fragment in BAD_OPTIONS],
)
def test_bad_options_raise_invalid_argument_naming_the_value(make, fragment):
    with pytest.raises(InvalidArgument) as info:
        make()
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert fragment in message
    assert "pass" in message  # says what to pass instead


class _Even(spec.ArgSpec):
    """A user's own unsized argument spec: only a strategy."""

    def strategy(self, n=None):
        return st.integers(1, 50).map(lambda k: 2 * k)


def test_a_custom_arg_spec_needs_only_a_strategy():
    s = spec.Spec(spec.array(), _Even())
    assert all(args[1] == 2 for _, args in s.edge_cases())  # its simplest value

    @FEW
    @given(s.strategy())
    def check(args):
        assert args[1] % 2 == 0

    check()


def test_vp_spec_is_the_spec_package():
    import vecpipe as vp

    assert vp.spec is spec
    assert spec.__name__ == "vecpipe.spec"


def test_the_former_path_re_exports_the_same_objects():
    import vecpipe.testing
    import vecpipe.testing.spec as former

    assert vecpipe.testing.spec is former
    assert set(former.__all__) == set(spec.__all__)
    for name in spec.__all__:
        assert getattr(former, name) is getattr(spec, name), name
    # names the module held privately are still found (other code imported _minimal)
    assert former._minimal is spec._values._minimal
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        former.no_such_name  # noqa: B018
