"""vecpipe on Dask: the threaded scheduler and a real two-process ``distributed`` cluster.

Every distributed result is compared with the single-machine result on the same data,
the demo's flights pipeline (``add_features_dask``) included. The stages live in
``dask_stages`` and ``vecpipe.demo.flights`` (importable modules), since worker processes
find stages by module and name.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import dask
import dask.array as da
import dask.dataframe as dd
import dask_stages as ds
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import vecpipe as vp
from vecpipe.demo import add_features, load_flights
from vecpipe.demo import flights as demo
from vecpipe.demo.flights import add_features_dask
from vecpipe.errors import InvalidArgument, VariantFailedWarning

ROWS = 20_000
PARTITIONS = 4
FLIGHT_PARTITIONS = 6
GROUP_WISE = [f.column for f in demo.FEATURES if f.by is not None]
ROW_WISE = [f.column for f in demo.FEATURES if f.by is None]


@pytest.fixture(scope="module")
def cluster_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Two worker processes, one thread each, with their own wisdom folder.

    The workers' wisdom is not the tests' (each test has a private one), as on a real
    cluster: what they know of the client's measurements, they know through shipping.
    """
    workers_cache = tmp_path_factory.mktemp("workers-wisdom")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VECPIPE_CACHE_DIR", str(workers_cache))
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
        )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def client(cluster_client: Client) -> Client:
    """The cluster, its workers' decisions, wisdom and run logs forgotten for this test."""
    cluster_client.run(ds.forget_all)
    vp.dask.clear_runs(cluster_client)
    return cluster_client


@pytest.fixture(autouse=True)
def _fresh_stages() -> None:
    """Each test starts with stages that have decided nothing in this process."""
    ds.reset_all()
    vp.dask.clear_runs()


@pytest.fixture
def frame() -> pd.DataFrame:
    return ds.trips(ROWS)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_index()


@pytest.fixture(scope="module")
def flights() -> pd.DataFrame:
    """The first 20,000 flights of 2013 (the first weeks of January), in time order."""
    return load_flights(rows=ROWS)


def _single_machine(flights: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """``add_features`` on the whole table in this process, its text columns in the string
    dtype of ``like`` (Dask converts text columns when it takes a frame:
    ``dataframe.convert-string``; the values are the same)."""
    expected = add_features(flights)
    text = {
        c: like[c].dtype
        for c in flights.columns
        if isinstance(like[c].dtype, pd.StringDtype) and like[c].dtype != expected[c].dtype
    }
    return expected.astype(text)


def _assert_features_equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same rows, order and flights columns; each feature by its stage's equality policy."""
    pd.testing.assert_index_equal(got.index, expected.index)
    assert list(got.columns) == list(expected.columns)
    features = {f.column for f in demo.FEATURES}
    flight_columns = [c for c in expected.columns if c not in features]
    pd.testing.assert_frame_equal(got[flight_columns], expected[flight_columns])
    for feature in demo.FEATURES:
        column = feature.column
        if column == "delay_category":
            pd.testing.assert_series_equal(got[column], expected[column])
            continue
        assert got[column].dtype == expected[column].dtype, column
        problem = feature.stage.equal.compare(expected[column].to_numpy(), got[column].to_numpy())
        assert problem is None, f"{column}: {problem}"


# -- the threaded scheduler: one process ---------------------------------------------------------


def test_a_pipeline_on_the_threaded_scheduler_equals_the_single_machine_result(frame):
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS)
    expected = pd.concat(ds.distance(frame.iloc[lo:hi]) for lo, hi in _bounds(ddf))
    got = vp.dask.map_partitions(ds.distance, ddf).compute(scheduler="threads")
    pd.testing.assert_frame_equal(got, expected)


def _bounds(ddf: dd.DataFrame) -> list[tuple[int, int]]:
    sizes = ddf.map_partitions(len).compute(scheduler="sync").tolist()
    edges = np.cumsum([0, *sizes])
    return list(itertools.pairwise(edges.tolist()))


def test_meta_comes_from_the_reference_without_computing_a_partition(frame):
    computed = []

    def load(i: int) -> pd.DataFrame:
        computed.append(i)
        return frame.iloc[i * 100 : (i + 1) * 100]

    ddf = dd.from_map(load, range(3), meta=frame.iloc[:0])
    pipe = vp.Pipeline([ds.distance, ds.group_share])
    out = pipe.to_dask(ddf, tune=False)
    assert computed == []
    with pytest.raises(InvalidArgument, match="not been called"):
        _ = pipe.last_run  # the sample call is not the user's call
    assert list(out.columns) == [*frame.columns, "dist", "share"]
    assert out.dtypes["share"] == np.float64
    ds.pipeline.to_dask(ddf, tune=2)
    assert computed == [2]  # tuning computes the one partition asked for


def test_tuning_happens_here_once_so_tasks_only_take_the_route(frame):
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS)
    out = ds.distance.to_dask(ddf, threads=1)
    with vp.config(threads=1):
        chosen = ds.distance.choice(frame.iloc[: len(frame) // PARTITIONS])
    assert chosen in {"numpy", "kernel"}  # measured here, before any task ran
    vp.dask.clear_runs()
    out.compute(scheduler="threads")
    table = vp.dask.runs()
    assert table["partition"].tolist() == list(range(PARTITIONS))
    assert set(table["variant"]) == {chosen}
    measured = vp.dask.explain(ds.distance)
    assert set(measured["source"]) == {"measured"}
    assert measured["key"].nunique() == 1  # partitions of one size bucket: one decision


def test_reference_mode_runs_every_reference_and_computes_nothing_to_tune(frame):
    computed = []

    def load(i: int) -> pd.DataFrame:
        computed.append(i)
        return frame.iloc[i * 500 : (i + 1) * 500]

    ddf = dd.from_map(load, range(2), meta=frame.iloc[:0])
    with vp.config(mode="reference"):
        out = ds.pipeline.to_dask(ddf)
    assert computed == []
    vp.dask.clear_runs()
    got = out.compute(scheduler="sync")
    assert set(vp.dask.runs()["variant"]) == {"reference"}
    with vp.config(mode="reference"):
        expected = pd.concat([ds.pipeline(load(0)), ds.pipeline(load(1))])
    pd.testing.assert_frame_equal(got, expected)


def test_a_plain_function_of_a_partition_can_call_stages(frame):
    ddf = dd.from_pandas(frame, npartitions=2)

    def summary(df: pd.DataFrame) -> pd.DataFrame:
        scored = ds.distance(df)
        return scored.groupby("key").agg(dist=("dist", "sum"))

    got = vp.dask.map_partitions(summary, ddf).compute(scheduler="threads")
    halves = [frame.iloc[lo:hi] for lo, hi in _bounds(ddf)]
    pd.testing.assert_frame_equal(got, pd.concat(summary(h) for h in halves))
    assert set(vp.dask.runs()["variant"]) == {"function"}


def test_group_wise_stages_need_partitions_aligned_with_the_groups(frame):
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS)
    whole = ds.group_share(frame)
    unaligned = ds.group_share.to_dask(ddf).compute(scheduler="threads")
    assert not np.allclose(_sorted(unaligned)["share"], whole["share"])
    aligned = ds.group_share.to_dask(ddf, by="key").compute(scheduler="threads")
    pd.testing.assert_frame_equal(_sorted(aligned), whole, check_exact=False)


def test_a_dask_array_is_mapped_block_by_block():
    x = np.random.default_rng(1).normal(size=10_000)
    got = ds.squash.to_dask(da.from_array(x, chunks=2_500)).compute(scheduler="threads")
    np.testing.assert_allclose(got, ds.squash.reference(x))
    assert vp.dask.runs()["partition"].tolist() == [0, 1, 2, 3]


def test_a_variant_failing_on_a_partition_falls_back_to_the_reference(frame):
    s = pd.Series(np.arange(ROWS, dtype=np.float64) - ROWS // 2)  # the second half is negative
    ddf = dd.from_pandas(s.iloc[::-1].reset_index(drop=True), npartitions=2)
    out = ds.fragile_double.to_dask(ddf, threads=1)  # tuned on partition 0: no negatives
    with vp.config(threads=1):
        assert ds.fragile_double.choice(ddf.partitions[0].compute()) == "numpy"
    vp.dask.clear_runs()
    with pytest.warns(VariantFailedWarning, match="negative input"):
        got = out.compute(scheduler="sync")
    pd.testing.assert_series_equal(got, s.iloc[::-1].reset_index(drop=True) * 2.0)
    ran = vp.dask.runs()
    assert ran.loc[ran["partition"] == 1, "variant"].tolist() == ["reference"]
    # Partition 0 ran "numpy", or "reference" if it came after the failure (same key).
    table = vp.dask.explain(ds.fragile_double).set_index("variant")
    assert table.loc["numpy", "status"] == "failed"
    assert "negative input" in table.loc["numpy", "reason"]
    assert bool(table.loc["reference", "chosen"])


def test_the_flights_pipeline_equals_the_whole_table_bit_for_bit(flights):
    # The references on the threaded scheduler: every column exactly the single-machine
    # result, rows in the same order, although each group-wise feature ran on partitions
    # shuffled on its own key.
    ddf = dd.from_pandas(flights, npartitions=FLIGHT_PARTITIONS)
    with vp.config(mode="reference"):
        lazy = add_features_dask(ddf)
        got = lazy.compute(scheduler="threads")
        expected = _single_machine(flights, got)
    assert lazy.divisions == ddf.divisions
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    passes = vp.dask.runs().groupby("stage")["partition"].nunique()
    assert passes["add_features"] == FLIGHT_PARTITIONS  # the row-wise pass: every partition
    assert passes["_group_pass"] == FLIGHT_PARTITIONS  # the group-wise passes, shuffled


def test_flights_features_on_unaligned_partitions_differ_only_where_grouped(flights):
    # Without the passes, each partition's groups are partial: the row-wise features still
    # equal the whole table's, the group-wise ones do not.
    ddf = dd.from_pandas(flights, npartitions=FLIGHT_PARTITIONS)
    with vp.config(mode="reference"):
        got = vp.dask.map_partitions(add_features, ddf).compute(scheduler="threads")
        expected = add_features(flights)
    pd.testing.assert_frame_equal(got[ROW_WISE], expected[ROW_WISE], check_exact=True)
    for column in GROUP_WISE:
        assert not np.allclose(got[column], expected[column], equal_nan=True), column


def test_flights_with_repeated_index_labels_are_refused_when_computed(flights):
    part = flights.iloc[:400].set_axis(np.arange(400) // 2)  # every label twice
    with vp.config(mode="reference"):
        lazy = add_features_dask(dd.from_pandas(part, npartitions=2))
        with pytest.raises(InvalidArgument, match="repeated labels"):
            lazy.compute(scheduler="sync")


def test_importing_vecpipe_does_not_import_dask():
    code = "import sys, vecpipe; assert 'dask' not in sys.modules; vecpipe.dask; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


# -- a real cluster: two worker processes ----------------------------------------------------------


def test_a_pipeline_on_a_cluster_equals_the_single_machine_result(client, frame):
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS)
    got = ds.pipeline.to_dask(ddf, by="key", client=client).compute(scheduler=client)
    with vp.config(mode="reference"):
        expected = ds.pipeline(frame)
    pd.testing.assert_frame_equal(_sorted(got), expected, check_exact=False)


def test_wisdom_travels_so_workers_take_the_clients_decisions(client, frame):
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS)
    out = ds.distance.to_dask(ddf, client=client)
    threads = max(1, vp.get_config().threads // 2)  # the default: cores over 2 worker threads
    with vp.config(threads=threads):
        chosen = ds.distance.choice(frame.iloc[: len(frame) // PARTITIONS])
    vp.dask.clear_runs(client)
    got = out.compute(scheduler=client)
    pd.testing.assert_frame_equal(got, ds.distance(frame), check_exact=False)

    table = vp.dask.explain(ds.distance, client=client)
    workers = set(client.scheduler_info()["workers"])
    assert set(table["worker"]) == workers
    assert table["plugin"].str.startswith("imported").all()
    assert set(table["source"]) == {"wisdom"}, table  # no worker measured
    # Shipped records were not written by the workers' installations: each worker
    # compared the chosen variant with the reference once per key before using it.
    chosen_rows = table[table["chosen"] & (table["variant"] != "reference")]
    assert len(chosen_rows) > 0
    assert chosen_rows["reason"].str.contains("compared with the reference here").all()
    here = vp.dask.explain(ds.distance)  # the client's own decisions
    chosen_here = dict(here.loc[here["chosen"], ["key", "variant"]].values.tolist())
    for key, variant in table.loc[table["chosen"], ["key", "variant"]].values.tolist():
        assert chosen_here[key] == variant

    ran = vp.dask.runs(client)
    assert set(ran["partition"]) == set(range(PARTITIONS))  # Dask may rerun a task
    assert set(ran["variant"]) == {chosen}
    assert set(ran["worker"]) <= workers


def test_a_variant_failing_on_a_worker_falls_back_to_the_reference_there(client):
    s = pd.Series(np.arange(ROWS, dtype=np.float64) - ROWS // 2)[::-1].reset_index(drop=True)
    ddf = dd.from_pandas(s, npartitions=2)
    out = ds.fragile_double.to_dask(ddf, client=client)
    vp.dask.clear_runs(client)
    got = out.compute(scheduler=client)
    pd.testing.assert_series_equal(got, s * 2.0)
    ran = vp.dask.runs(client)
    assert set(ran.loc[ran["partition"] == 1, "variant"]) == {"reference"}
    table = vp.dask.explain(ds.fragile_double, client=client)
    failed = table[(table["variant"] == "numpy") & (table["status"] == "failed")]
    # On the worker that met the negative partition (Dask may run a task twice, as when
    # it moves one between workers, so possibly on both).
    assert len(failed) >= 1
    assert failed["reason"].str.contains("negative input").all()


def test_a_worker_killed_mid_computation_leaves_the_result_complete(client, frame, tmp_path):
    ddf = dd.from_pandas(frame, npartitions=8)
    meta = frame.iloc[:0].assign(tag=np.float64())  # given: no sample call here to tag
    out = ds.slow_tagged.to_dask(ddf, folder=str(tmp_path), meta=meta, client=client, tune=False)
    workers_before = set(client.run(os.getpid).values())
    future = client.compute(out)
    deadline = time.monotonic() + 30
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    victim = int(next(tmp_path.iterdir()).name.split("-")[0])
    assert victim in workers_before
    os.kill(victim, signal.SIGKILL)
    got = future.result(timeout=90)
    pd.testing.assert_frame_equal(got, frame.assign(tag=frame["fare"] * 10.0))
    client.wait_for_workers(2, timeout=60)
    workers_after = set(client.run(os.getpid).values())
    assert victim not in workers_after  # the nanny started a new worker in its place
    outcomes = client.run(ds.plugin_outcome).values()
    assert all(o.startswith("imported") for o in outcomes), outcomes  # the new one too


def test_the_flights_pipeline_on_a_cluster_equals_the_single_machine_result(client, flights):
    # vecpipe's variants, tuned here and shipped, on two worker processes; compared with
    # add_features on the whole table in this process, column by column.
    ddf = dd.from_pandas(flights, npartitions=FLIGHT_PARTITIONS)
    got = add_features_dask(ddf, client=client).compute(scheduler=client)
    _assert_features_equal(got, _single_machine(flights, got))
    ran = vp.dask.runs(client)
    assert set(ran["stage"]) == {"add_features", "_group_pass"}
    assert set(ran["partition"]) == set(range(FLIGHT_PARTITIONS))
    assert ran["worker"].nunique() == 2  # both workers had a share


def test_the_flights_references_on_a_cluster_equal_the_whole_table_bit_for_bit(client, flights):
    ddf = dd.from_pandas(flights, npartitions=FLIGHT_PARTITIONS)
    with vp.config(mode="reference"):
        got = add_features_dask(ddf, client=client).compute(scheduler=client)
        expected = _single_machine(flights, got)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_stage_workers_cannot_import_is_refused_before_anything_runs(client, frame):
    @vp.stage(auto=False)
    def local(df):
        return df

    with pytest.raises(InvalidArgument, match="defined inside a function"):
        vp.dask.map_partitions(local, dd.from_pandas(frame, npartitions=2), client=client)


# -- arguments -----------------------------------------------------------------------------------

_DDF = dd.from_pandas(ds.trips(40), npartitions=2)


def _raises_on_sample(df):
    raise ZeroDivisionError("no data")


def _by_position(x):  # written for arrays: on a DataFrame x[0] looks up a column 0
    return x[0] * 2.0


BAD_CALLS = {
    "data not a dask collection": (
        lambda: vp.dask.map_partitions(ds.distance, ds.trips(10)),
        "data=.* is not a Dask collection",
    ),
    "target not callable": (lambda: vp.dask.map_partitions(3, _DDF), "target=3"),
    "by names no column": (lambda: ds.group_share.to_dask(_DDF, by="nope"), "by='nope'"),
    "by on an array": (
        lambda: ds.squash.to_dask(da.ones(4, chunks=2), by="key"),
        "needs a dask DataFrame",
    ),
    "tune out of range": (lambda: ds.distance.to_dask(_DDF, tune=5), "tune=5"),
    "tune not a flag or int": (lambda: ds.distance.to_dask(_DDF, tune="yes"), "tune='yes'"),
    "threads zero": (lambda: ds.distance.to_dask(_DDF, threads=0), "threads=0"),
    "client not a client": (lambda: ds.distance.to_dask(_DDF, client="tcp://x"), "client="),
    "array split along columns": (
        lambda: ds.squash.to_dask(da.ones((4, 4), chunks=2)),
        r"rechunk\(\{1: -1\}\)",
    ),
    "meta cannot be derived": (
        lambda: vp.dask.map_partitions(_raises_on_sample, _DDF),
        "cannot derive meta.*ZeroDivisionError.*pass sample=",
    ),
    "an array function over a frame": (
        lambda: vp.dask.map_partitions(_by_position, _DDF),
        r"a pandas DataFrame \(columns 'key', 'x', 'y', 'fare'\), raised KeyError.*to_dask_array",
    ),
    "explain of a function": (lambda: vp.dask.explain(len), "target=.*not a stage"),
    "ship without a client": (lambda: vp.dask.ship_wisdom(), "no default distributed client"),
    "flights not a dask frame": (
        lambda: add_features_dask(ds.trips(10)),
        "flights=DataFrame is not a Dask DataFrame",
    ),
    "flights without its columns": (
        lambda: add_features_dask(_DDF),
        "flights lacks the column.*dep_time",
    ),
    "flights with unknown divisions": (
        lambda: add_features_dask(
            dd.from_pandas(load_flights(rows=50), npartitions=2).clear_divisions()
        ),
        "flights has unknown divisions",
    ),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_bad_arguments_raise_invalid_argument_naming_them(call):
    make, message = call
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_explicit_meta_and_sample_are_used_as_given(frame):
    ddf = dd.from_pandas(frame, npartitions=2)
    meta = ds.distance.reference(frame.iloc[:2]).iloc[:0]
    out = ds.distance.to_dask(ddf, meta=meta, tune=False)
    assert list(out.columns) == list(meta.columns)
    from_sample = ds.distance.to_dask(ddf, sample=frame.iloc[:5], tune=False)
    assert list(from_sample.columns) == list(meta.columns)
    with dask.config.set(scheduler="sync"):
        pd.testing.assert_frame_equal(out.compute(), from_sample.compute())
