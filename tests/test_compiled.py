"""What a kernel call compiles: its own operation's code, the path its input takes, nothing more.

Counted: Numba's ``numba:compile`` events, one per signature compiled in the process.
Loading a signature from Numba's disk cache is not compiling and fires no event, so each
scenario runs in a fresh Python process with an empty ``NUMBA_CACHE_DIR`` (and an empty
wisdom folder): what it reports is everything the call needed, from nothing. Times are
not checked (the cold-start benchmark measures them: ``python -m benchmarks --only
coldstart``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PRELUDE = """
import json
import numpy as np
import pandas as pd
from numba.core import event
import vecpipe.kernels as vk

compiled = []


class Record(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)


event.register("numba:compile", Record())
rng = np.random.default_rng(0)
"""


def compiled_by(code: str, cache: Path) -> list[str]:
    """The qualified names of the functions compiled (one per signature) while ``code``
    runs in a fresh process whose Numba and vecpipe caches are in ``cache``."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    env["VECPIPE_CACHE_DIR"] = str(cache / "wisdom")
    env.pop("VECPIPE_MODE", None)
    env.pop("VECPIPE_TUNING", None)
    script = _PRELUDE + textwrap.dedent(code) + "\nprint(json.dumps(compiled))\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


_GROUP_MEAN = """
x = rng.standard_normal(2000)
x[::7] = np.nan
df = pd.DataFrame({"x": x, "k": rng.integers(0, 50, 2000)})  # dense, unsorted keys
vk.group_mean(df, "k")
"""


def _operations(names: list[str]) -> set[str]:
    """The operations whose own kernels were compiled (``_first_pass_group_mean``...)."""
    return {m.group(1) for n in names if (m := re.search(r"_group_([a-z]+)$", n))}


def test_group_mean_compiles_its_own_dense_path_only_and_a_second_process_nothing(tmp_path):
    names = compiled_by(_GROUP_MEAN, tmp_path)
    assert _operations(names) == {"mean"}
    assert "_first_pass_group_mean" in names
    # Dense integer keys: no ranking (hash table, sort), and the keys are unsorted with
    # NaN, so no pairwise sums either.
    assert not [n for n in names if "sort" in n and n != "_sorted_without_nan"], names
    assert not [n for n in names if "ranked" in n or "pairwise" in n or "segments" in n]
    # 2,000 rows: no parallel variant (tiered tuning), so no chunked kernel.
    assert not [n for n in names if "chunk" in n], names
    # One signature for each of vecpipe's functions: nothing compiled twice (for
    # read-only views, literal arguments...). Numba's own overloads (np.empty for each
    # dtype...) are named ``ol_...<locals>.impl``.
    own = [n for n in names if "<locals>" not in n]
    assert len(own) == len(set(own)), own
    # 72 signatures before the kernels were split by operation and path.
    assert len(names) <= 20, names
    # The same call in a new process, with the caches the first one left: loaded, not
    # compiled.
    assert compiled_by(_GROUP_MEAN, tmp_path) == []


def test_other_paths_compile_when_the_input_takes_them(tmp_path):
    names = compiled_by(
        """
        x = rng.standard_normal(1000)
        vk.group_sum(x, np.repeat(np.arange(10), 100))  # sorted keys, no NaN: pairwise
        compiled.append("--")
        vk.group_sum(x, rng.integers(0, 5, 1000) * 10**12)  # spread out: ranked
        """,
        tmp_path,
    )
    sorted_call, spread_call = names[: names.index("--")], names[names.index("--") :]
    assert "_pairwise_sums" in sorted_call and "_ranked_group_sum" not in sorted_call
    assert "_ranked_group_sum" in spread_call and "_sorted_codes" in spread_call
    assert _operations([n for n in names if n != "--"]) == {"sum"}


def test_a_small_call_compiles_no_parallel_variant_and_no_other_operation(tmp_path):
    names = compiled_by(
        """
        vk.rolling_mean(pd.Series(rng.standard_normal(1000)), 20)
        vk.cumsum(rng.standard_normal(1000))
        vk.ffill(rng.standard_normal(1000))
        """,
        tmp_path,
    )
    assert "_rolling_mean_numba" in names and "_cumsum_numba" in names
    assert not [n for n in names if "parallel" in n], names
    # rolling_mean shares rolling_sum's loop, and nothing of var, min, max or count.
    assert not {"_var_core", "_min_core", "_max_core", "_count_core"} & set(names)
    own = [n for n in names if "<locals>" not in n]
    assert len(own) == len(set(own)), own


@pytest.mark.slow
def test_a_large_call_tunes_fully_and_compiles_the_parallel_variant(tmp_path):
    names = compiled_by(
        """
        from vecpipe.dispatch import FULL_TUNING_SIZE
        vk.rolling_mean(rng.standard_normal(FULL_TUNING_SIZE), 20)
        """,
        tmp_path,
    )
    assert {"_rolling_mean_numba", "_rolling_mean_parallel"} <= set(names)
