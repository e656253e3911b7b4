"""The ``vecpipe`` command line: each command's behaviour, its errors and exit codes.

Most tests call :func:`vecpipe.cli.main` in-process; two run the real entry points (the
console script and ``python -m vecpipe``) in a subprocess. The stages live in
``tests/cli_stages.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import vecpipe as vp
from vecpipe.cli import main
from vecpipe.cli._common import parse_size, split_reference
from vecpipe.cli.bench import crossovers
from vecpipe.cli.profile import loops_over_elements

HERE = Path(__file__).resolve().parent
STAGES_FILE = HERE / "cli_stages.py"
SIZES = ["--sizes", "64", "256"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """main(argv) with progress bars off: (exit code, stdout, stderr)."""
    code = main([*argv, "--no-progress"])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


# -- entry points ---------------------------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(HERE)}


def test_console_script_exits_1_with_the_counterexample_on_a_mismatch(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("vecpipe")
    assert script.exists(), "the console script is installed with the package"
    done = subprocess.run(
        [str(script), "verify", f"{STAGES_FILE}:halve", "--max-examples", "5", "--seed", "0"],
        capture_output=True,
        text=True,
        env={**_env(), "VECPIPE_CACHE_DIR": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "FAILED" in done.stdout
    assert "found by" in done.stdout and "where:" in done.stdout
    assert "Traceback" not in done.stderr


def test_an_invalid_vecpipe_mode_is_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vecpipe", "explain", "cli_stages:double", "--sizes", "64"],
        capture_output=True,
        text=True,
        env={**_env(), "VECPIPE_MODE": "bogus"},
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vecpipe explain: error: environment: VECPIPE_MODE='bogus' is not a dispatch mode; "
        "set it to one of 'measure', 'estimate', 'reference', or unset it"
    ]


def test_python_m_vecpipe_help_lists_the_commands_and_exit_codes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vecpipe", "--help"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 0
    for command in ("demo", "verify", "bench", "tune", "explain", "profile", "wisdom", "export"):
        assert command in done.stdout
    assert "exit codes:" in done.stdout


# -- the parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["demo", "verify", "bench", "tune", "explain", "profile", "wisdom"]
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    assert main([command, "--help"]) == 0
    assert f"usage: vecpipe {command}" in capsys.readouterr().out


def test_no_command_prints_the_help_and_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert "usage: vecpipe" in capsys.readouterr().err


def test_a_bad_option_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "cli_stages:double", "--max-examples", "lots"]) == 2
    assert "--max-examples" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "size"), [("1000", 1000), ("1e6", 1_000_000), ("10k", 10_000), ("2M", 2_000_000)]
)
def test_sizes_accept_suffixes_and_exponents(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "-5", "1.5", "ten", "3x"])
def test_sizes_reject_what_is_not_a_positive_whole_number(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert main(["tune", "cli_stages:double", "--sizes", text]) == 2
    assert f"invalid size {text!r}" in capsys.readouterr().err


def test_a_windows_path_is_not_split_at_its_drive_colon() -> None:
    assert split_reference(r"C:\work\stages.py") == (r"C:\work\stages.py", None)
    assert split_reference(r"C:\work\stages.py:pipe") == (r"C:\work\stages.py", "pipe")


# -- naming what to run: one clear line per mistake ----------------------------------------


def _write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("reference", "code", "expected"),
    [
        pytest.param(
            "no_such_module_x:stage", 2, "no module named 'no_such_module_x'", id="module"
        ),
        pytest.param("cli_stages:missing", 2, "has no attribute 'missing'", id="attribute"),
        pytest.param("cli_stages:plain", 2, "is a function, not a vecpipe Stage", id="function"),
        pytest.param("cli_stages:NOT_A_STAGE", 2, "is a int, not a vecpipe Stage", id="constant"),
        pytest.param("missing/stages.py:double", 2, "no such file", id="file"),
        pytest.param("not a module", 2, "neither a dotted module name", id="garbage"),
        pytest.param("cli_stages:no_spec", 2, "cannot infer how to generate", id="no-spec"),
    ],
)
def test_a_wrong_target_gives_one_line(
    capsys: pytest.CaptureFixture[str], reference: str, code: int, expected: str
) -> None:
    assert main(["verify", reference, "--no-progress"]) == code
    err = capsys.readouterr().err
    assert expected in err
    assert err.startswith("vecpipe verify: error: ")
    assert len(err.strip().splitlines()) == 1


def test_the_listing_of_a_missing_attribute_names_the_modules_stages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["explain", "cli_stages:dubble"])
    err = capsys.readouterr().err
    assert "double" in err and "pipe" in err


def test_a_function_named_as_a_stage_points_to_profile(capsys: pytest.CaptureFixture[str]) -> None:
    main(["bench", "cli_stages:plain", "--no-plot"])
    assert "vecpipe profile cli_stages:plain" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "raise RuntimeError('no database')\n", "raised RuntimeError: no database", id="raises"
        ),
        pytest.param("def broken(:\n", "SyntaxError", id="syntax"),
        pytest.param(
            "import no_such_dependency_x\n", "No module named 'no_such_dependency_x'", id="dep"
        ),
    ],
)
def test_a_module_that_fails_to_import_is_exit_3_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, expected: str
) -> None:
    path = _write(tmp_path, "failing_stages.py", source)
    assert main(["verify", path]) == 3
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_a_file_named_like_an_imported_module_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "json.py", "X = 1\n")
    assert main(["verify", path]) == 2
    assert "a module named 'json' is already imported" in capsys.readouterr().err
    assert sys.modules["json"] is json


def test_a_module_without_stages_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _write(tmp_path, "empty_stages.py", "X = 1\n")
    assert main(["tune", path]) == 2
    assert "defines no vecpipe stages or pipelines" in capsys.readouterr().err


def test_a_py_file_target_loads_its_stages(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "explain", f"{STAGES_FILE}:double", "--sizes", "64")
    assert code == 0
    assert {row["variant"] for row in document["rows"]} == {"reference", "numpy"}


def test_debug_shows_the_error_instead_of_one_line() -> None:
    from vecpipe.cli._common import CLIError

    with pytest.raises(CLIError, match="not a vecpipe Stage"):
        main(["verify", "cli_stages:plain", "--debug"])


# -- verify ---------------------------------------------------------------------------------


def test_verify_passes_a_correct_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "cli_stages:pipe", "--max-examples", "5", "--seed", "1")
    assert code == 0
    assert "2 of 2 variants passed" in out


def test_verify_exits_1_and_prints_the_minimal_counterexample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "verify", "cli_stages:clip_negative", "--max-examples", "20")
    assert code == 1
    assert "clip_negative[numpy]" in out
    assert "found by" in out and "reference:" in out and "variant:" in out
    assert "verification FAILED: clip_negative[numpy]" in err


def test_verify_json_reports_each_variant_and_the_counterexample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document = run_json(capsys, "verify", "cli_stages:halve", "--max-examples", "5")
    assert code == 1
    assert document["ok"] is False
    [result] = document["results"]
    assert (result["stage"], result["variant"], result["result"]) == ("halve", "numpy", "FAILED")
    assert "values differ" in result["counterexample"]["reason"]


def test_verify_of_a_module_skips_stages_without_a_spec_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document = run_json(
        capsys, "verify", "cli_stages", "--max-examples", "3", "--variants", "numpy"
    )
    assert code == 1  # clip_negative and halve fail
    verified = {r["stage"] for r in document["results"]}
    assert {"double", "shift", "clip_negative", "halve", "needs_rows"} <= verified
    assert "no_spec" not in verified
    assert any(s.startswith("skipped no_spec") for s in document["skipped"])


def test_verify_calls_on_result_once_per_variant() -> None:
    import cli_stages

    seen: list[str] = []
    report = vp.verify(
        cli_stages.pipe, max_examples=3, seed=0, on_result=lambda r: seen.append(r.stage)
    )
    assert seen == ["double", "shift"]
    assert [r.stage for r in report.results] == seen


# -- tune and explain ---------------------------------------------------------------------------


def test_tune_fills_the_wisdom_for_each_size(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "tune", "cli_stages:double", *SIZES)
    assert code == 0
    decisions = document["decisions"]
    assert [d["size"] for d in decisions] == [64, 256]
    assert {d["how"] for d in decisions} == {"measured"}
    stored = vp.wisdom.to_frame()
    keys = set(stored.loc[stored["stage"] == "cli_stages:double", "key"])
    assert {d["input"] for d in decisions} <= keys


def test_tune_again_reads_the_decisions_from_wisdom(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "tune", "cli_stages:double", *SIZES)
    code, document = run_json(capsys, "tune", "cli_stages:double", *SIZES)
    assert code == 0
    assert {d["how"] for d in document["decisions"]} == {"wisdom"}


def test_tune_compiles_and_times_every_variant(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "tune", "cli_stages:squared", "--sizes", "64")
    frame = vp.wisdom.to_frame()
    rows = frame[frame["stage"] == "cli_stages:squared"]
    assert "deferred" not in set(rows["status"])  # full tuning, not tiered


# -- warm ------------------------------------------------------------------------------------


def test_warm_compiles_the_named_stages_variants(capsys: pytest.CaptureFixture[str]) -> None:
    import cli_stages

    kernel = cli_stages.squared.variants["numba"].run
    code, document = run_json(capsys, "warm", "cli_stages:squared", "--no-kernels")
    assert code == 0
    assert document["kernels"] == "none"
    ((row,),) = [[r for r in document["compiled"] if r["stage"] == "squared"]]
    assert (row["variant"], row["status"]) == ("numba", "compiled")
    assert kernel.signatures  # compiled for the spec's input
    assert len(vp.wisdom) == 0  # nothing timed, no wisdom written


def test_warm_skips_a_modules_stages_without_a_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "warm", str(STAGES_FILE), "--no-kernels")
    assert code == 0
    assert "skipped no_spec" in err
    assert "squared" in out


def test_warm_with_nothing_to_compile_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "warm", "--no-kernels")
    assert code == 2 and "nothing to compile" in err
    code, _, err = run(capsys, "warm", "--kernel", "group_median")
    assert code == 2 and "no such kernel" in err and "group_mean" in err


def test_warm_leaves_a_new_process_nothing_to_compile(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    env["VECPIPE_CACHE_DIR"] = str(tmp_path / "wisdom")
    warm = subprocess.run(
        [sys.executable, "-m", "vecpipe", "warm", "--kernel", "ffill", "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert warm.returncode == 0, warm.stderr
    assert "warning" not in warm.stderr  # no variant failed
    script = """
import json, numpy as np, pandas as pd
from numba.core import event
import vecpipe.kernels as vk
from vecpipe.kernels.fill import ffill_stage
compiled = []
class Record(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev): compiled.append(ev.data["dispatcher"].py_func.__qualname__)
event.register("numba:compile", Record())
x = np.random.default_rng(1).standard_normal(500)
x[::3] = np.nan
vk.ffill(x)
vk.ffill(pd.Series(x))  # a read-only array for the kernels: the other signature
statuses = set(ffill_stage.explain().to_frame()["status"])
print(json.dumps([compiled, sorted(statuses)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    compiled, statuses = json.loads(done.stdout.strip().splitlines()[-1])
    assert compiled == []  # loaded from the disk cache, not compiled
    assert "deferred" not in statuses  # every variant ready: the first call tunes fully


def test_tune_runs_a_pipeline_as_a_whole(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tune", "cli_stages:pipe", "--sizes", "100")
    assert code == 0
    lines = out.splitlines()
    assert any(line.split()[:2] == ["pipe", "double"] for line in lines)
    assert any(line.split()[:2] == ["pipe", "shift"] for line in lines)
    assert "wisdom at" in out


def test_tune_prints_a_disqualified_variant_as_one_warning_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "tune", "cli_stages:halve", "--sizes", "100")
    assert code == 0
    assert "reference" in out  # the wrong variant is not chosen
    warning_lines = [line for line in err.splitlines() if "warning:" in line]
    assert len(warning_lines) == 1
    assert warning_lines[0].startswith("vecpipe: warning: VariantDisqualifiedWarning")


def test_tune_without_an_input_spec_says_how_to_declare_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "tune", "cli_stages:no_spec")
    assert code == 2
    assert "has no input spec" in err and "inputs=vp.spec.array" in err


def test_tune_refuses_sizes_below_the_specs_min_size(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tune", "cli_stages:needs_rows", "--sizes", "10")
    assert code == 2
    assert "takes at least 100 rows" in err


def test_tune_of_a_module_skips_what_cannot_be_sized(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(capsys, "tune", "cli_stages", "--sizes", "128")
    assert code == 0
    tuned = {d["target"] for d in document["decisions"]}
    assert {"double", "pipe", "squared", "needs_rows"} <= tuned
    assert any(s.startswith("skipped no_spec") for s in document["skipped"])


def test_tune_keeps_its_table_within_100_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)  # not a terminal: 100 columns
    code, out, _ = run(capsys, "tune", "cli_stages:dot4", *SIZES)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "ndarray[float64, 1d, C] x4" in out  # four like arguments, counted


def test_tune_follows_the_terminals_width(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    code, out, _ = run(capsys, "tune", "cli_stages:pipe", *SIZES)
    assert code == 0
    table = out.split("\n\n")[0]  # then the wisdom file's path, which does not wrap
    assert max(len(line) for line in table.splitlines()) <= 70


def test_tune_leaves_out_the_target_when_each_target_is_a_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "tune", "cli_stages:double", *SIZES)
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["stage", "size"]
    assert "thread budget" in out


def test_explain_prints_the_decision_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "cli_stages:pipe", "--sizes", "100")
    assert code == 0
    assert "stage double" in out and "stage shift" in out
    assert "chosen" in out


def test_explain_after_tune_shows_the_stored_decisions(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "tune", "cli_stages:double", "--sizes", "100")
    code, document = run_json(capsys, "explain", "cli_stages:double", "--sizes", "100")
    assert code == 0
    assert {row["source"] for row in document["rows"]} == {"wisdom"}
    assert sum(row["chosen"] for row in document["rows"]) == 1


# -- bench --------------------------------------------------------------------------------------


def test_bench_writes_the_table_and_a_plot_per_stage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "results"
    code, document = run_json(
        capsys, "bench", "cli_stages:pipe", *SIZES, "--rounds", "1", "--out", str(out_dir)
    )
    assert code == 0
    rows = document["rows"]
    assert {(r["stage"], r["variant"], r["size"]) for r in rows} == {
        (stage, variant, n)
        for stage in ("double", "shift")
        for variant in ("reference", "numpy")
        for n in (64, 256)
    }
    assert all(r["status"] == "measured" and r["seconds"] > 0 for r in rows)
    for n in (64, 256):  # one fastest per stage and size
        assert sum(r["fastest"] for r in rows if r["stage"] == "double" and r["size"] == n) == 1
    files = sorted(Path(f).name for f in document["files"])
    assert files == ["bench.csv", "bench.json", "pipe-double.png", "pipe-shift.png"]
    assert (out_dir / "pipe-double.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out_dir / "bench.json").read_text())["rows"] == rows
    header = (out_dir / "bench.csv").read_text().splitlines()[0]
    assert header.startswith("target,stage,variant,size,status,seconds")


def test_bench_reports_a_mismatching_variant_instead_of_timing_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "bench", "cli_stages:halve", "--sizes", "100", "--rounds", "1",
        "--out", str(tmp_path), "--no-plot",
    )  # fmt: skip
    assert code == 0
    assert "mismatch" in out
    assert "numpy at 100: mismatch" in out
    assert not list(tmp_path.glob("*.png"))


def test_bench_reports_compile_time_apart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, document = run_json(
        capsys, "bench", "cli_stages:squared", "--sizes", "100", "--rounds", "1",
        "--out", str(tmp_path), "--no-plot",
    )  # fmt: skip
    assert code == 0
    numba_row = next(r for r in document["rows"] if r["variant"] == "numba")
    assert numba_row["status"] == "measured"
    assert numba_row["compile_seconds"] is not None


def test_bench_without_matplotlib_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    code, _, err = run(capsys, "bench", "cli_stages:double", "--out", str(tmp_path))
    assert code == 2
    assert "pip install 'vecpipe[demo]'" in err and "--no-plot" in err


def _rows(times: dict[tuple[str, int], float]) -> list[dict]:
    sizes = sorted({n for _, n in times})
    rows = []
    for n in sizes:
        best = min((t, v) for (v, m), t in times.items() if m == n)[1]
        rows += [
            {"target": "t", "stage": "s", "variant": v, "size": m, "status": "measured",
             "seconds": t, "fastest": v == best}
            for (v, m), t in times.items()
            if m == n
        ]  # fmt: skip
    return rows


def test_crossovers_name_the_sizes_between_which_the_fastest_changes() -> None:
    rows = _rows(
        {("numpy", 10): 1e-6, ("numba", 10): 4e-6, ("numpy", 1000): 1e-4, ("numba", 1000): 2.5e-5}
    )
    [crossing] = crossovers(rows)
    assert (crossing["from"], crossing["to"], crossing["between"]) == ("numpy", "numba", [10, 1000])
    assert crossing["estimate"] == 100  # the lines cross halfway, in log-log


def test_no_crossover_when_one_variant_is_fastest_at_every_size() -> None:
    rows = _rows(
        {("numpy", 10): 1e-6, ("numba", 10): 4e-6, ("numpy", 100): 1e-5, ("numba", 100): 4e-5}
    )
    assert crossovers(rows) == []


# -- profile ------------------------------------------------------------------------------------


def test_profile_flags_the_python_loops_as_the_hot_spots(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, document = run_json(capsys, "profile", "cli_stages:ordinary_pipeline")
    assert code == 0
    by_name = {f["function"]: f for f in document["functions"]}
    assert by_name["smooth"]["candidate"] and "Python loop" in by_name["smooth"]["why"]
    assert by_name["_celsius"]["candidate"] and "elementwise=True" in by_name["_celsius"]["why"]
    assert by_name["_celsius"]["calls"] == 20_000
    assert not by_name["summary"]["candidate"]
    assert by_name["ordinary_pipeline"]["cumulative_share"] > 0.9
    assert "numpy" not in by_name  # libraries are not the user's functions
    assert document["suggestion"].startswith(("start with smooth", "start with _celsius"))


def test_profile_passes_json_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, document = run_json(
        capsys, "profile", "cli_stages:ordinary_pipeline", "--kwargs", '{"rows": 3000}'
    )
    assert code == 0
    by_name = {f["function"]: f for f in document["functions"]}
    assert by_name["_celsius"]["calls"] == 3000


def test_profile_prints_a_ranked_table_and_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profile", f"{STAGES_FILE}:ordinary_pipeline", "--top", "3")
    assert code == 0
    assert "your functions by own time" in out
    assert "* candidate for a stage" in out
    assert "@vp.stage" in out


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        pytest.param(["--args", "[1,"], "--args '[1,' is not valid JSON", id="bad-json"),
        pytest.param(["--kwargs", "[1]"], "must be a JSON object", id="not-object"),
        pytest.param(["--top", "0"], "--top 0", id="top"),
    ],
)
def test_profile_rejects_bad_options_in_one_line(
    capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    code, _, err = run(capsys, "profile", "cli_stages:ordinary_pipeline", *options)
    assert code == 2
    assert expected in err


def test_profile_of_a_function_that_raises_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "profile", "cli_stages:raises")
    assert code == 3
    assert "raised ValueError: no data for 1970" in err
    assert "Traceback" not in err


def test_loop_detection_tells_loops_over_elements_from_vectorized_code() -> None:
    import cli_stages

    def where(f: types.FunctionType) -> tuple[str, int]:
        return f.__code__.co_filename, f.__code__.co_firstlineno

    assert loops_over_elements(*where(cli_stages.smooth))
    assert not loops_over_elements(*where(cli_stages.summary))
    assert not loops_over_elements(*where(cli_stages.ordinary_pipeline))


# -- wisdom -------------------------------------------------------------------------------------


def test_wisdom_export_clear_import_round_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_json(capsys, "tune", "cli_stages:double", "--sizes", "100")
    stored = len(vp.wisdom)
    assert stored > 0
    backup = tmp_path / "backup.json"
    assert main(["wisdom", "export", str(backup)]) == 0
    assert main(["wisdom", "clear"]) == 0
    assert len(vp.wisdom) == 0
    capsys.readouterr()
    code, document = run_json(capsys, "wisdom", "import", str(backup))
    assert (code, document["merged"]) == (0, stored)
    assert len(vp.wisdom) == stored


def test_wisdom_show_and_clear_one_stage(capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "tune", "cli_stages:pipe", "--sizes", "100")
    code, document = run_json(capsys, "wisdom", "show", "--stage", "cli_stages:shift")
    assert code == 0
    assert {r["stage"] for r in document["records"]} == {"cli_stages:shift"}
    assert main(["wisdom", "clear", "--stage", "cli_stages:shift"]) == 0
    assert "forgot" in capsys.readouterr().out
    assert set(vp.wisdom.to_frame()["stage"]) == {"cli_stages:double"}


def test_wisdom_show_groups_records_by_stage_and_input_within_100_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    run_json(capsys, "tune", "cli_stages:dot4", "--sizes", "100")
    code, out, _ = run(capsys, "wisdom", "show")
    assert code == 0
    assert "stage cli_stages:dot4" in out and "  input ndarray[float64" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_a_corrupt_wisdom_file_is_one_warning_line_and_an_empty_store(
    capsys: pytest.CaptureFixture[str], cache_dir: Path
) -> None:
    (cache_dir / "wisdom.json").write_text("{ not json")
    assert main(["wisdom", "show"]) == 0
    out, err = capsys.readouterr()
    assert "wisdom holds no records" in out
    [line] = err.strip().splitlines()
    assert line.startswith("vecpipe: warning: WisdomWarning")


def test_wisdom_show_of_an_empty_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wisdom", "show"]) == 0
    assert "wisdom holds no records" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "cannot read wisdom from", id="missing"),
        pytest.param("not json at all", "cannot import wisdom from", id="garbage"),
    ],
)
def test_an_unreadable_wisdom_file_gives_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, expected: str
) -> None:
    path = tmp_path / "wisdom-in.json"
    if content is not None:
        path.write_text(content)
    assert main(["wisdom", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_importing_another_machines_wisdom_needs_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run_json(capsys, "tune", "cli_stages:double", "--sizes", "100")
    exported = tmp_path / "other.json"
    main(["wisdom", "export", str(exported)])
    document = json.loads(exported.read_text())
    document["fingerprint"]["cpu"] = "another cpu"
    exported.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["wisdom", "import", str(exported)]) == 2
    assert "Pass --force" in capsys.readouterr().err
    assert main(["wisdom", "import", str(exported), "--force"]) == 0


# -- demo ---------------------------------------------------------------------------------------


def test_demo_without_its_extra_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vecpipe.demo", None)  # as if it were not installed
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "the demo needs `pip install 'vecpipe[demo]'`" in err
    assert len(err.strip().splitlines()) == 1


def test_demo_passes_its_options_to_run_demo_and_returns_its_code(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[dict] = []

    def run_demo(**options: object) -> int:
        calls.append(options)
        return 0

    monkeypatch.setitem(sys.modules, "vecpipe.demo", types.SimpleNamespace(run_demo=run_demo))
    assert main(["demo", "--rows", "500", "--out", str(tmp_path), "--json", "--no-progress"]) == 0
    assert calls == [{"rows": 500, "out": tmp_path, "progress": False, "as_json": True}]


def test_progress_bars_stay_quiet_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tune", "cli_stages:double", "--sizes", "100"]) == 0  # bars on by default
    assert capsys.readouterr().err == ""


def test_profile_keeps_within_100_columns_with_hints_under_their_rows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = run(capsys, "profile", "cli_stages:ordinary_pipeline")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 100
    lines = out.splitlines()
    smooth = next(i for i, line in enumerate(lines) if line.split()[1:2] == ["smooth"])
    assert "Python loop" in lines[smooth + 1]
