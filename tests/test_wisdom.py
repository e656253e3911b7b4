"""Tests of the wisdom store: persistence, processes, corruption, import and export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from vecpipe._paths import cache_dir
from vecpipe.errors import InvalidArgument, WisdomError, WisdomWarning
from vecpipe.wisdom import FORMAT, VERSION, Wisdom, fingerprint, get_wisdom, wisdom

RECORD = {"source_hash": "ab12", "status": "measured", "seconds": 1.2e-3, "size": 1000}


def run_python(code: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose cache folder is ``cache``."""
    env = dict(os.environ, VECPIPE_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def write_store(path: Path, *, stages: dict | None = None, **changes: object) -> None:
    """Write a wisdom file by hand, with top-level entries replaced by ``changes``."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "fingerprint": fingerprint(),
        "stages": stages if stages is not None else {"s": {"k": {"v": dict(RECORD)}}},
    }
    doc.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def foreign_fingerprint() -> dict:
    return {**fingerprint(), "cpu": "Some Other CPU 9000"}


# ------------------------------------------------------------------------ paths


def test_cache_dir_uses_vecpipe_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "here"))
    assert cache_dir() == tmp_path / "here"


def test_cache_dir_is_read_from_the_environment_at_each_call(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "one"))
    first = cache_dir()
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "two"))
    assert (first, cache_dir()) == (tmp_path / "one", tmp_path / "two")


def test_cache_dir_follows_xdg_on_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("VECPIPE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "vecpipe"


def test_cache_dir_defaults_to_home_cache_on_linux(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("VECPIPE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "vecpipe"


def test_cache_dir_on_macos_and_windows(monkeypatch, tmp_path):
    monkeypatch.delenv("VECPIPE_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cache_dir() == tmp_path / "Library" / "Caches" / "vecpipe"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert cache_dir() == tmp_path / "local" / "vecpipe" / "Cache"


def test_cache_dir_does_not_create_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "absent"))
    assert not cache_dir().exists()


# ------------------------------------------------------------------ fingerprint


def test_fingerprint_describes_machine_and_versions():
    found = fingerprint()
    assert set(found) == {"cpu", "cores", "system", "python", "numpy", "numba", "vecpipe"}
    assert found["cores"] == os.cpu_count()
    assert found["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert all(isinstance(v, str | int) for v in found.values())


def test_fingerprint_returns_a_fresh_dict():
    fingerprint()["cpu"] = "changed"
    assert fingerprint()["cpu"] != "changed"


# ------------------------------------------------------------- record and lookup


def test_record_then_lookup_round_trip(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": RECORD, "python": {"status": "verified"}})
    assert store.lookup("s", "k") == {"numba": RECORD, "python": {"status": "verified"}}


def test_lookup_of_unknown_stage_or_key_is_empty(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": RECORD})
    assert (store.lookup("s", "other"), store.lookup("other", "k")) == ({}, {})


def test_record_merges_variants_and_replaces_same_named_ones(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": RECORD, "python": {"status": "verified"}})
    store.record("s", "k", {"numba": {"status": "failed", "reason": "boom"}})
    assert store.lookup("s", "k") == {
        "numba": {"status": "failed", "reason": "boom"},
        "python": {"status": "verified"},
    }


def test_lookup_returns_copies(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": {"status": "measured", "extra": [1, 2]}})
    found = store.lookup("s", "k")
    found["numba"]["status"] = "changed"
    found["numba"]["extra"].append(3)
    found["other"] = {}
    assert store.lookup("s", "k") == {"numba": {"status": "measured", "extra": [1, 2]}}


def test_record_copies_its_argument(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    given = {"numba": {"status": "measured"}}
    store.record("s", "k", given)
    given["numba"]["status"] = "changed"
    assert store.lookup("s", "k")["numba"]["status"] == "measured"


def test_record_rejects_records_that_are_not_json(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.raises(WisdomError, match="JSON-serialisable"):
        store.record("s", "k", {"numba": {"when": object()}})
    store.record("s", "k", {"numba": RECORD})  # the bad record did not poison the store
    assert Wisdom(store.path).lookup("s", "k") == {"numba": RECORD}


def test_record_rejects_non_string_ids(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.raises(InvalidArgument, match="must be strings"):
        store.record("s", 3, {"numba": RECORD})  # type: ignore[arg-type]


def test_record_is_thread_safe(tmp_path):
    stores = [Wisdom(tmp_path / "wisdom.json"), Wisdom(tmp_path / "wisdom.json")]

    def write(thread: int) -> None:
        for i in range(15):
            stores[thread % 2].record("s", f"k{thread}-{i}", {"v": {"i": i}})

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(Wisdom(tmp_path / "wisdom.json")) == 60


# ------------------------------------------------------------------ persistence


def test_records_persist_across_instances(tmp_path):
    Wisdom(tmp_path / "wisdom.json").record("s", "k", {"numba": RECORD})
    assert Wisdom(tmp_path / "wisdom.json").lookup("s", "k") == {"numba": RECORD}


def test_instance_sees_writes_made_after_its_first_load(tmp_path):
    reader = Wisdom(tmp_path / "wisdom.json")
    writer = Wisdom(tmp_path / "wisdom.json")
    writer.record("s", "k", {"numba": RECORD})
    assert reader.lookup("s", "k") == {"numba": RECORD}
    writer.record("s", "k", {"python": {"status": "verified"}})
    assert set(reader.lookup("s", "k")) == {"numba", "python"}


def test_lookup_does_not_reread_an_unchanged_file(tmp_path, monkeypatch):
    Wisdom(tmp_path / "wisdom.json").record("s", "k", {"numba": RECORD})
    store = Wisdom(tmp_path / "wisdom.json")
    reads = []
    original = Wisdom._read
    monkeypatch.setattr(Wisdom, "_read", lambda self: reads.append(1) or original(self))
    for _ in range(5):
        store.lookup("s", "k")
    assert len(reads) == 1


def test_second_process_reads_what_the_first_wrote(tmp_path):
    run_python(
        """
        from vecpipe.wisdom import get_wisdom
        get_wisdom().record("s", "k", {"numba": {"status": "measured", "seconds": 0.5}})
        """,
        tmp_path,
    )
    assert Wisdom(tmp_path / "wisdom.json").lookup("s", "k") == {
        "numba": {"status": "measured", "seconds": 0.5}
    }
    Wisdom(tmp_path / "wisdom.json").record("s", "k2", {"python": {"status": "verified"}})
    done = run_python(
        """
        from vecpipe.wisdom import get_wisdom
        print(get_wisdom().lookup("s", "k2")["python"]["status"])
        """,
        tmp_path,
    )
    assert done.stdout.strip() == "verified"


def test_concurrent_processes_lose_no_records(tmp_path):
    go = tmp_path / "go"
    writer = f"""
        import os, sys, time
        from vecpipe.wisdom import Wisdom
        store = Wisdom({str(tmp_path / "wisdom.json")!r})
        me = sys.argv[1]
        open(os.path.join({str(tmp_path)!r}, "ready" + me), "w").close()
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        for i in range(25):
            store.record("shared", f"k{{i}}", {{f"v{{me}}": {{"i": i}}}})
            store.record(f"own{{me}}", f"k{{i}}", {{"v": {{"i": i}}}})
        """
    env = dict(os.environ, VECPIPE_CACHE_DIR=str(tmp_path))
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(writer), me], env=env)
        for me in ("0", "1")
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready{me}").exists() for me in "01"):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.005)
    finally:
        go.touch()  # both are ready (or one failed): let them write at once, or end
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    store = Wisdom(tmp_path / "wisdom.json")
    assert len(store) == 100
    assert all(set(store.lookup("shared", f"k{i}")) == {"v0", "v1"} for i in range(25))


# ---------------------------------------------------------------- atomic writes


def test_writes_leave_a_valid_file_and_no_temporary_files(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    for i in range(5):
        store.record("s", f"k{i}", {"numba": RECORD})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["wisdom.json", "wisdom.json.key", "wisdom.json.lock"]
    doc = json.loads((tmp_path / "wisdom.json").read_text())
    assert (doc["format"], doc["version"], doc["fingerprint"]) == (FORMAT, VERSION, fingerprint())
    stored = doc["stages"]["s"]["k4"]["numba"]
    assert {f: v for f, v in stored.items() if f != "mark"} == RECORD
    assert len(stored["mark"]) == 64  # this installation's HMAC-SHA256


def test_failed_write_removes_its_temporary_file(tmp_path, monkeypatch):
    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.warns(WisdomWarning, match="in memory"):
        store.record("s", "k", {"numba": RECORD})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wisdom.json.key", "wisdom.json.lock"]


def test_record_creates_the_folder(tmp_path):
    Wisdom(tmp_path / "a" / "b" / "wisdom.json").record("s", "k", {"numba": RECORD})
    assert (tmp_path / "a" / "b" / "wisdom.json").is_file()


# -------------------------------------------------------- corrupt or foreign files


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x00\xffgarbage{", "not valid JSON"),
        (b"", "is empty"),
        (b"[1, 2, 3]", "not a vecpipe wisdom file"),
        ({"format": "something-else"}, "not a vecpipe wisdom file"),
        ({"version": 99}, "version 99"),
        ({"stages": {"s": ["not", "an", "object"]}}, "malformed"),
        ({"fingerprint": foreign_fingerprint()}, "another machine"),
    ],
    ids=["garbage", "empty", "wrong-shape", "wrong-format", "wrong-version", "bad-stages",
         "other-fingerprint"],
)  # fmt: skip
def test_unusable_file_warns_once_behaves_empty_and_is_rebuilt(tmp_path, content, problem):
    path = tmp_path / "wisdom.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write_store(path, **content)
    store = Wisdom(path)
    with pytest.warns(WisdomWarning, match=problem) as caught:
        assert store.lookup("s", "k") == {}
        assert store.lookup("s", "k") == {}
        store.record("s", "k2", {"numba": RECORD})
    assert len(caught) == 1
    assert str(path) in str(caught[0].message)
    assert "rebuilt" in str(caught[0].message)
    assert Wisdom(path).lookup("s", "k2") == {"numba": RECORD}  # valid again: no warning
    assert json.loads(path.read_text())["format"] == FORMAT


def test_unusable_file_warns_once_on_a_first_write(tmp_path):
    path = tmp_path / "wisdom.json"
    path.write_text("{not json")
    with pytest.warns(WisdomWarning, match="not valid JSON") as caught:
        Wisdom(path).record("s", "k", {"numba": RECORD})
    assert len(caught) == 1
    assert Wisdom(path).lookup("s", "k") == {"numba": RECORD}


def test_unwritable_folder_warns_once_and_keeps_records_in_memory(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file, not a folder")
    store = Wisdom(blocker / "sub" / "wisdom.json")
    with pytest.warns(WisdomWarning, match="in memory") as caught:
        store.record("s", "k", {"numba": RECORD})
    assert len(caught) == 1
    store.record("s", "k", {"python": {"status": "verified"}})  # no second warning
    assert store.lookup("s", "k") == {"numba": RECORD, "python": {"status": "verified"}}
    store.forget("s")
    assert store.lookup("s", "k") == {}


# ----------------------------------------------------------------- forget, clear


def test_forget_removes_one_stage_and_persists(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("a", "k", {"numba": RECORD})
    store.record("b", "k", {"numba": RECORD})
    store.forget("a")
    fresh = Wisdom(tmp_path / "wisdom.json")
    assert (fresh.lookup("a", "k"), fresh.lookup("b", "k")) == ({}, {"numba": RECORD})


def test_clear_forgets_everything_and_leaves_a_valid_file(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("a", "k", {"numba": RECORD})
    store.clear()
    assert len(Wisdom(tmp_path / "wisdom.json")) == 0
    assert json.loads((tmp_path / "wisdom.json").read_text())["stages"] == {}


# ---------------------------------------------------------------- export, import


def test_export_then_import_round_trip(tmp_path):
    source = Wisdom(tmp_path / "a.json")
    source.record("s", "k", {"numba": RECORD, "python": {"status": "verified"}})
    source.record("t", "k", {"numba": RECORD})
    exported = source.export(tmp_path / "out" / "shared.json")
    target = Wisdom(tmp_path / "b.json")
    assert target.import_(exported) == 3
    assert target.to_frame().equals(source.to_frame())
    assert Wisdom(tmp_path / "b.json").lookup("t", "k") == {"numba": RECORD}


def test_import_without_overwrite_keeps_stored_records(tmp_path):
    write_store(tmp_path / "in.json", stages={"s": {"k": {"numba": {"status": "new"}}}})
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": {"status": "old"}})
    assert store.import_(tmp_path / "in.json", overwrite=False) == 0
    assert store.lookup("s", "k") == {"numba": {"status": "old"}}
    assert store.import_(tmp_path / "in.json") == 1
    assert store.lookup("s", "k") == {"numba": {"status": "new"}}


def test_import_of_a_non_wisdom_file_raises(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": "world"}')
    with pytest.raises(WisdomError, match="not a vecpipe wisdom file") as raised:
        Wisdom(tmp_path / "wisdom.json").import_(bad)
    assert str(bad) in str(raised.value)


def test_import_from_another_machine_needs_force(tmp_path):
    write_store(tmp_path / "other.json", fingerprint=foreign_fingerprint())
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.raises(WisdomError, match=r"another machine.*force=True"):
        store.import_(tmp_path / "other.json")
    assert len(store) == 0
    assert store.import_(tmp_path / "other.json", force=True) == 1
    assert store.lookup("s", "k") == {"v": RECORD}


# ------------------------------------------------------------------ frame, show


def test_to_frame_has_one_row_per_record_and_leading_columns(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": {**RECORD, "compile_seconds": 0.4, "extra": 1}})
    store.record("s", "k", {"python": {"status": "verified"}})
    frame = store.to_frame()
    assert list(frame.columns) == [
        "stage", "key", "variant", "status", "seconds", "compile_seconds", "size",
        "source_hash", "extra",
    ]  # fmt: skip
    assert list(frame["variant"]) == ["numba", "python"]


def test_to_frame_of_empty_store_has_the_id_columns(tmp_path):
    frame = Wisdom(tmp_path / "wisdom.json").to_frame()
    assert (list(frame.columns), len(frame)) == (["stage", "key", "variant"], 0)


def test_show_names_stages_keys_and_variants(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("mymod.scale", "float64[1d]", {"numba_parallel": RECORD})
    text = store.show()
    assert all(s in text for s in ("mymod.scale", "float64[1d]", "numba_parallel", "measured"))
    assert str(store.path) in text


def test_show_says_when_empty(tmp_path):
    assert Wisdom(tmp_path / "wisdom.json").show() == f"wisdom is empty ({tmp_path}/wisdom.json)"


# ------------------------------------------------------------ process-wide store


def test_get_wisdom_follows_vecpipe_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "one"))
    first = get_wisdom()
    assert first is get_wisdom()
    assert first.path == tmp_path / "one" / "wisdom.json"
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "two"))
    assert get_wisdom().path == tmp_path / "two" / "wisdom.json"


def test_facade_delegates_to_the_selected_store(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path))
    get_wisdom().record("mymod.scale", "k", {"numba": RECORD})
    assert wisdom.path == tmp_path / "wisdom.json"
    assert "mymod.scale" in wisdom.show()
    assert list(wisdom.to_frame()["stage"]) == ["mymod.scale"]
    assert repr(wisdom) == f"<vecpipe wisdom at {tmp_path / 'wisdom.json'} (1 record)>"
    exported = wisdom.export(tmp_path / "copy.json")
    wisdom.forget("mymod.scale")
    assert len(wisdom) == 0
    assert wisdom.import_(exported) == 1
    wisdom.clear()
    assert wisdom.show().startswith("wisdom is empty")


def test_facade_follows_a_change_of_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "one"))
    get_wisdom().record("s", "k", {"numba": RECORD})
    monkeypatch.setenv("VECPIPE_CACHE_DIR", str(tmp_path / "two"))
    assert (wisdom.path, len(wisdom)) == (tmp_path / "two" / "wisdom.json", 0)


# ----------------------------------------------------------- malformed records


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seconds", "0.1"),
        ("seconds", [0.1]),
        ("seconds", -1.0),
        ("seconds", True),
        ("compile_seconds", "fast"),
        ("size", 10.5),
        ("size", -3),
        ("status", 7),
        ("reason", {"why": "no"}),
        ("source_hash", None),
        ("time", "yesterday"),
    ],
)
def test_a_malformed_record_is_dropped_with_one_warning_and_the_file_rebuilt(
    tmp_path, field, value
):
    path = tmp_path / "wisdom.json"
    bad = {**RECORD, field: value}
    write_store(path, stages={"s": {"k": {"bad": bad, "good": dict(RECORD)}}})
    store = Wisdom(path)
    with pytest.warns(WisdomWarning, match=rf"1 record that vecpipe cannot use.*{field!r}") as seen:
        assert store.lookup("s", "k") == {"good": RECORD}
        assert store.lookup("s", "k") == {"good": RECORD}
        assert len(store) == 1
        assert list(store.to_frame()["variant"]) == ["good"]
    assert len(seen) == 1
    store.record("s", "k2", {"numba": RECORD})  # the next write rebuilds the file
    assert "bad" not in json.loads(path.read_text())["stages"]["s"]["k"]
    Wisdom(path).lookup("s", "k")  # no warning: the file is clean now


def test_non_finite_seconds_are_malformed(tmp_path):
    path = tmp_path / "wisdom.json"
    path.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "fingerprint": fingerprint(),
                "stages": {"s": {"k": {"v": {"status": "measured", "seconds": float("nan")}}}},
            }
        )
    )
    with pytest.warns(WisdomWarning, match="'seconds' = nan"):
        assert Wisdom(path).lookup("s", "k") == {}


def test_a_record_that_is_not_an_object_is_dropped_alone(tmp_path):
    path = tmp_path / "wisdom.json"
    write_store(path, stages={"s": {"k": {"bad": [1, 2], "good": dict(RECORD)}}})
    with pytest.warns(WisdomWarning, match="JSON array, not an object"):
        assert Wisdom(path).lookup("s", "k") == {"good": RECORD}


def test_record_refuses_a_malformed_record(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.raises(InvalidArgument, match=r"'seconds' = '0\.1'.*non-negative number"):
        store.record("s", "k", {"numba": {"status": "measured", "seconds": "0.1"}})
    assert len(store) == 0


def test_import_leaves_malformed_records_out_with_a_warning(tmp_path):
    write_store(
        tmp_path / "in.json", stages={"s": {"k": {"bad": {"seconds": [1]}, "good": RECORD}}}
    )
    store = Wisdom(tmp_path / "wisdom.json")
    with pytest.warns(WisdomWarning, match="1 record malformed"):
        assert store.import_(tmp_path / "in.json") == 1
    assert store.lookup("s", "k") == {"good": RECORD}


# --------------------------------------------------- files that are not regular

NOT_REGULAR = """
import os, sys, warnings
from pathlib import Path
from vecpipe.wisdom import Wisdom
folder = Path(sys.argv[1])
os.mkfifo(folder / sys.argv[2])
store = Wisdom(folder / "wisdom.json")
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    print(store.lookup("s", "k"))
    store.record("s", "k", {"v": {"status": "measured"}})
    print(Wisdom(folder / "wisdom.json").lookup("s", "k"))
for w in seen:
    print("WARNING", w.message)
"""


@pytest.mark.parametrize("name", ["wisdom.json", "wisdom.json.lock", "wisdom.json.key"])
def test_a_fifo_in_place_of_a_wisdom_file_never_hangs(tmp_path, name):
    # In a child process with a timeout: opening a FIFO for reading blocks until a writer
    # comes, which would hang this test run rather than fail it.
    done = subprocess.run(
        [sys.executable, "-c", NOT_REGULAR, str(tmp_path), name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "{}"
    if name == "wisdom.json":
        # Refused with a warning, then replaced by a regular file on the first write.
        assert any("FIFO" in line and "rebuilt" in line for line in lines), done.stdout
        assert lines[1] == "{'v': {'status': 'measured'}}"
    elif name == "wisdom.json.lock":
        assert any("FIFO" in line and "in memory" in line for line in lines), done.stdout
    else:  # a key file that cannot be read: the records are kept, marked by a new key
        assert lines[1] == "{'v': {'status': 'measured'}}"


def test_import_from_a_fifo_raises_at_once(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    code = f"""
        from vecpipe.errors import WisdomError
        from vecpipe.wisdom import Wisdom
        try:
            Wisdom({str(tmp_path / "wisdom.json")!r}).import_({str(tmp_path / "pipe.json")!r})
        except WisdomError as exc:
            print(exc)
        """
    done = run_python(code, tmp_path)
    assert "is a FIFO, not a regular file" in done.stdout


# ------------------------------------------------ temporary files of killed writers

KILLED_WRITER = """
import os, sys, time
from pathlib import Path
from vecpipe.wisdom import Wisdom

folder, signal, let_through = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
fsync, calls = os.fsync, []

def stall(fd):  # the write stops after its temporary file exists, before the rename
    calls.append(fd)
    if len(calls) <= let_through:
        return fsync(fd)
    signal.write_text("stalled")
    time.sleep(600)

os.fsync = stall
Wisdom(folder / "wisdom.json").record("s", "k", {"v": {"status": "measured"}})
"""


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(("let_through", "left_by"), [(0, "wisdom.json.key"), (1, "wisdom.json")])
def test_the_next_write_removes_what_a_killed_writer_left(tmp_path, let_through, left_by):
    signal = tmp_path / "stalled"
    command = [sys.executable, "-c", KILLED_WRITER, str(tmp_path), str(signal), str(let_through)]
    child = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 60
        while not signal.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert signal.exists()
    finally:
        child.kill()  # SIGKILL, in the middle of the write
        child.wait(timeout=60)
    (left,) = _temporaries(tmp_path)
    assert left.startswith(f".{left_by}.{child.pid}-")
    Wisdom(tmp_path / "wisdom.json").record("s", "k", {"v": {"status": "measured"}})
    assert _temporaries(tmp_path) == []


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    from vecpipe.wisdom import STALE_TEMP_SECONDS, _host

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=60)
    try:
        live = tmp_path / f".wisdom.json.{sleeper.pid}-{_host()}.abc123.tmp"
        dead = tmp_path / f".wisdom.json.{gone.pid}-{_host()}.def456.tmp"
        other_host = tmp_path / f".wisdom.json.{gone.pid}-00000000.ghi789.tmp"
        old = tmp_path / ".wisdom.json.jkl012.tmp"  # an older vecpipe's name: no writer
        young = tmp_path / ".wisdom.json.mno345.tmp"
        for path in (live, dead, other_host, old, young):
            path.write_text("{}")
        hour_ago = time.time() - 3600
        assert STALE_TEMP_SECONDS < 3600
        os.utime(old, (hour_ago, hour_ago))
        Wisdom(tmp_path / "wisdom.json").record("s", "k", {"v": {"status": "measured"}})
        assert _temporaries(tmp_path) == sorted([live.name, other_host.name, young.name])
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)


# ---------------------------------------------------------- where records come from


def test_records_written_here_carry_this_installations_mark(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": RECORD, "numpy": RECORD})
    assert store.lookup_with_origin("s", "k") == (
        {"numba": RECORD, "numpy": RECORD},
        {"numba", "numpy"},
    )
    fresh = Wisdom(tmp_path / "wisdom.json")  # another process, as far as the file goes
    assert fresh.lookup_with_origin("s", "k")[1] == {"numba", "numpy"}
    key_file = tmp_path / "wisdom.json.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc["stages"])
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "change",
    [
        lambda st: st["s"]["k"]["numba"].update(status="measured", seconds=1e-9),
        lambda st: st["s"]["k"]["numba"].update(mark="0" * 64),
        lambda st: st["s"]["k"].update(numba=dict(st["s"]["k"]["numpy"])),  # moved
        lambda st: st["s"].update(k2=st["s"].pop("k")),  # under another key
    ],
    ids=["edited", "forged-mark", "moved-to-another-variant", "moved-to-another-key"],
)
def test_a_record_changed_by_hand_is_not_written_here(tmp_path, change):
    path = tmp_path / "wisdom.json"
    Wisdom(path).record("s", "k", {"numba": RECORD, "numpy": {**RECORD, "seconds": 5.0}})
    _edit(path, change)
    store = Wisdom(path)
    key = "k2" if "k2" in json.loads(path.read_text())["stages"]["s"] else "k"
    assert "numba" in store.lookup(key=key, stage_id="s")
    assert "numba" not in store.lookup_with_origin("s", key)[1]


def test_imported_records_are_not_written_here_unless_this_installation_wrote_them(tmp_path):
    elsewhere = Wisdom(tmp_path / "other" / "wisdom.json")  # its own key
    elsewhere.record("s", "k", {"numba": RECORD})
    shipped = elsewhere.export(tmp_path / "shipped.json")
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("t", "k", {"numba": RECORD})
    own = store.export(tmp_path / "own.json")
    store.clear()
    assert store.import_(shipped) == 1
    assert store.import_(own) == 1
    assert store.lookup_with_origin("s", "k") == ({"numba": RECORD}, set())
    assert store.lookup_with_origin("t", "k") == ({"numba": RECORD}, {"numba"})
    # Written again by this installation (the dispatcher does so once it has compared
    # the variant with the reference), the record is its own.
    store.record("s", "k", store.lookup("s", "k"))
    assert Wisdom(tmp_path / "wisdom.json").lookup_with_origin("s", "k")[1] == {"numba"}


def test_a_lost_key_makes_every_record_unchecked_but_keeps_them(tmp_path):
    store = Wisdom(tmp_path / "wisdom.json")
    store.record("s", "k", {"numba": RECORD})
    (tmp_path / "wisdom.json.key").write_text("not hex")
    assert Wisdom(tmp_path / "wisdom.json").lookup_with_origin("s", "k") == (
        {"numba": RECORD},
        set(),
    )
