"""Decision tables: what each stage measured and chose, as text and as a DataFrame."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.explain import COLUMNS
from vecpipe.keys import describe_key, make_key

# Numba compiles take about a second each, so the kernel is defined once per module.


@vp.stage(auto=False)
def offset(x):
    return np.array([v + 1.5 for v in x])


@offset.variant("numpy")
def _offset_numpy(x):
    return x + 1.5


@offset.variant("numba")
def _offset_numba(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] + 1.5
    return out


VARIANTS = ["reference", "numpy", "numba"]


@pytest.fixture(autouse=True)
def _fresh_offset() -> Iterator[None]:
    """The module's stage starts each test undecided and unpinned."""
    offset.unpin()
    offset.reset()
    yield
    offset.unpin()
    offset.reset()


@pytest.fixture
def small() -> np.ndarray:
    return np.arange(10.0)


@pytest.fixture
def large() -> np.ndarray:
    return np.arange(100.0)  # another size bucket: another key, the same Numba signature


@pytest.fixture
def table(small: np.ndarray, large: np.ndarray) -> pd.DataFrame:
    """The decision table after calls with two kinds of input."""
    offset(small)
    offset(large)
    return offset.explain().to_frame()


def test_explain_text_names_every_variant_and_its_status(small: np.ndarray):
    offset(small)
    text = str(offset.explain())
    frame = offset.explain().to_frame()
    for row in frame.itertuples():
        line = next(ln for ln in text.splitlines() if f" {row.variant} " in ln)
        assert row.status in line
    assert {"chosen", "measured"} >= set(frame["status"])


def test_explain_text_marks_the_chosen_variant(small: np.ndarray):
    offset(small)
    chosen = offset.choice(small)
    marked = [ln for ln in str(offset.explain()).splitlines() if ln.strip().startswith("*")]
    assert len(marked) == 1
    assert f" {chosen} " in marked[0]


def test_explain_text_names_the_stage_and_the_input(small: np.ndarray):
    offset(small)
    text = str(offset.explain())
    assert text.startswith("stage offset (variants: reference, numpy, numba)")
    assert describe_key(make_key(vp.get_config().tag, (small,), {})) in text


def test_explain_text_says_how_the_choice_was_made(small: np.ndarray):
    offset(small)
    assert "measured in" in str(offset.explain())
    assert "fastest of 3 usable" in str(offset.explain())


def test_to_frame_has_the_documented_columns(table: pd.DataFrame):
    assert list(table.columns) == list(COLUMNS)
    assert set(table.columns) >= {"key", "variant", "status", "seconds", "chosen", "reason"}


def test_to_frame_has_one_row_per_key_and_variant(table: pd.DataFrame):
    assert len(table) == 2 * len(VARIANTS)
    assert not table.duplicated(["key", "variant"]).any()
    for _, rows in table.groupby("key"):
        assert sorted(rows["variant"]) == sorted(VARIANTS)


def test_exactly_one_variant_is_chosen_per_key(table: pd.DataFrame):
    assert table.groupby("key")["chosen"].sum().tolist() == [1, 1]


def test_chosen_row_is_what_the_stage_runs(small: np.ndarray):
    offset(small)
    table = offset.explain().to_frame()
    assert table.loc[table["chosen"], "variant"].tolist() == [offset.choice(small)]


def test_every_measured_variant_has_a_time(table: pd.DataFrame):
    assert (table["seconds"] > 0).all()


def test_compile_seconds_shown_for_numba_variants_only(table: pd.DataFrame):
    numba_rows = table["variant"] == "numba"
    assert table.loc[numba_rows, "compile_seconds"].notna().all()
    assert (table.loc[numba_rows, "compile_seconds"] >= 0).all()
    assert table.loc[~numba_rows, "compile_seconds"].isna().all()


def test_compile_time_shown_in_text_for_numba_variants_only(small: np.ndarray):
    offset(small)
    lines = str(offset.explain()).splitlines()
    header = next(ln for ln in lines if ln.split()[:2] == ["variant", "status"])
    column = header.index("compile")
    for variant in VARIANTS:
        line = next(ln for ln in lines if f" {variant} " in ln and "variants:" not in ln)
        cell = line[column:].split()[0]
        assert (cell != "-") == (variant == "numba"), line


def test_to_frame_reports_gil_and_parallelism(table: pd.DataFrame):
    by_variant = table.drop_duplicates("variant").set_index("variant")
    assert by_variant.loc["numba", "releases_gil"] == True  # noqa: E712
    assert by_variant.loc["reference", "releases_gil"] == False  # noqa: E712
    assert not by_variant["parallel"].any()


def test_stage_without_calls_says_no_calls_yet():
    assert "no calls yet" in str(offset.explain())
    assert len(offset.explain().to_frame()) == 0


def test_pin_shows_in_the_header():
    offset.pin("numpy")
    header = str(offset.explain()).splitlines()[0]
    assert "pinned to 'numpy'" in header


def test_reference_only_stage_explains_its_trivial_choice(small: np.ndarray):
    @vp.stage(auto=False)
    def negate(x):
        return -x

    negate(small)
    table = negate.explain().to_frame()
    assert table["variant"].tolist() == ["reference"]
    assert table["chosen"].tolist() == [True]
    assert "only its reference" in str(negate.explain())


def test_explanation_length_counts_rows(table: pd.DataFrame):
    assert len(offset.explain()) == len(table)


def test_a_decision_from_wisdom_says_so_once(small: np.ndarray):
    offset(small)
    offset.reset()  # this process forgets; the wisdom on disk answers the next call
    offset(small)
    text = str(offset.explain())
    assert "    from wisdom: fastest of 3 usable" in text
    assert "wisdom: from wisdom" not in text


# -- the text within 100 columns, and why a dropped variant may look faster ------------------


def _rows(**dropped: object) -> list[dict[str, object]]:
    base = {"stage": "clip", "key": "k", "verified": False, "compile_seconds": None}
    base |= {"source": "measured", "releases_gil": True, "parallel": False, "reason": ""}
    return [
        base
        | {"variant": "reference", "status": "measured", "chosen": False, "seconds": 0.2}
        | {"speedup": 1.0},
        base | {"variant": "numpy", "status": "dropped", "chosen": False} | dropped,
        base
        | {"variant": "numba_parallel", "status": "chosen", "chosen": True}
        | {"seconds": 534e-6, "speedup": 375.0},
    ]


def _explanation(rows: list[dict[str, object]]) -> vp.Explanation:
    return vp.Explanation(rows, {("clip", "k"): "measured: fastest"}, {"clip": "variants: ..."})


DROPPED = "2.29x slower than the best on 262,144 rows, so not run on more (time extrapolated)"


def test_a_dropped_variant_showing_less_time_than_the_chosen_one_is_explained():
    text = str(_explanation(_rows(seconds=451e-6, speedup=443.0, reason=DROPPED)))
    assert "numpy shows less time than numba_parallel, yet was slower on the slice" in text
    assert "scaled up from that slice" in " ".join(text.split())


def test_a_dropped_variant_slower_than_the_chosen_one_needs_no_explanation():
    text = str(_explanation(_rows(seconds=2e-3, speedup=100.0, reason=DROPPED)))
    assert "shows less time" not in text


def test_explain_text_keeps_within_100_columns():
    long_reason = "TypingError: " + "a long reason from Numba " * 12
    text = str(_explanation(_rows(seconds=2e-3, speedup=100.0, reason=long_reason)))
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "a long reason from Numba" in text  # under its row, not cut


def test_short_notes_stay_beside_their_rows():
    text = str(_explanation(_rows(seconds=2e-3, speedup=100.0, reason="slower")))
    (line,) = [ln for ln in text.splitlines() if " numpy " in ln]
    assert line.endswith("slower")
