"""Decision tables: what ran for each kind of input, and why."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from vecpipe._format import format_seconds as _seconds
from vecpipe.dispatch import Decision, Trial

if TYPE_CHECKING:
    from vecpipe.stage import Stage

__all__ = ["COLUMNS", "Explanation"]

#: The columns of :meth:`Explanation.to_frame`, in order.
COLUMNS = (
    "stage",
    "key",
    "variant",
    "status",
    "chosen",
    "verified",
    "seconds",
    "compile_seconds",
    "speedup",
    "source",
    "releases_gil",
    "parallel",
    "reason",
)


def _gil(value: bool | None) -> str:
    return {True: "released", False: "held", None: "partly"}[value]


#: The width explain's tables keep within: a note that would pass it goes under its row.
WIDTH = 100


def _table(table: list[tuple[str, ...]], notes: list[str]) -> list[str]:
    """Aligned rows, each row's note after it, or under it (wrapped) where it would not
    fit within WIDTH."""
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    cells = [
        "    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table
    ]
    beside = all(len(c) + 2 + len(n) <= WIDTH for c, n in zip(cells, notes, strict=True) if n)
    if beside:
        return [(c + "  " + n).rstrip() for c, n in zip(cells, notes, strict=True)]
    indent = " " * (4 + widths[0] + 2 + widths[1] + 2)  # under the status
    lines = []
    for c, n in zip(cells[1:], notes[1:], strict=True):
        lines.append(c.rstrip())
        if n:
            lines.extend(textwrap.wrap(n, WIDTH, initial_indent=indent, subsequent_indent=indent))
    return [cells[0].rstrip(), *lines]


def _labelled(stages: Iterable[Stage]) -> list[tuple[str, Stage]]:
    """Each stage once, labelled by name; a second stage of the same name gets ``name#2``."""
    seen: set[int] = set()
    counts: dict[str, int] = {}
    labelled = []
    for stage in stages:
        if id(stage) in seen:
            continue
        seen.add(id(stage))
        counts[stage.name] = counts.get(stage.name, 0) + 1
        n = counts[stage.name]
        labelled.append((stage.name if n == 1 else f"{stage.name}#{n}", stage))
    return labelled


def _header(decision: Decision) -> str:
    """How the decision was taken, and why: ``measured in 1.2 s: fastest of 3 usable...``."""
    if decision.reason.startswith("from wisdom"):  # the reason says how already
        return decision.reason
    how = "estimate mode" if decision.how == "estimated" else decision.how
    took = f" in {_seconds(decision.tuning_seconds)}" if decision.tuning_seconds else ""
    return f"{how}{took}: {decision.reason}"


def _dropped_note(rows: list[dict[str, Any]]) -> str | None:
    """Why a dropped variant may show less time than the chosen one."""
    chosen = next((r for r in rows if r["chosen"]), None)
    if chosen is None or not chosen["seconds"]:
        return None
    faster = [
        r["variant"]
        for r in rows
        if r["status"] == "dropped" and r["seconds"] and r["seconds"] < chosen["seconds"]
    ]
    if not faster:
        return None
    names = " and ".join(faster)
    its = "its time is" if len(faster) == 1 else "their times are"
    return (
        f"{names} shows less time than {chosen['variant']}, yet was slower on the slice it "
        f"was dropped on: {its} scaled up from that slice, where the data may fit in cache, "
        f"and {chosen['variant']}'s was measured on more rows, so they are not comparable"
    )


def _variant_notes(variant: Any, key: str, status: str) -> str:
    """A derived variant's notes for a key (the idioms it found and what they became)."""
    notes = getattr(variant, "notes", None)
    if notes is None or status in ("failed", "compile-failed", "not-run"):
        return ""
    return str(notes(key))


def _pinned_decision(name: str) -> Decision:
    decision = Decision("any input", "pinned", name, f"pinned to {name!r} by the user")
    decision.trials[name] = Trial(name, "pinned", source="pinned")
    return decision


class Explanation:
    """A decision table: one row per (stage, key, variant).

    Print it for a readable table; :meth:`to_frame` gives a :class:`pandas.DataFrame`.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def inc(x):
    ...     return x + 1
    >>> _ = inc(np.zeros(5))
    >>> table = inc.explain()
    >>> list(table.to_frame().columns[:4])
    ['stage', 'key', 'variant', 'status']
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        headers: dict[tuple[str, str], str],
        notes: dict[str, str],
    ) -> None:
        self.rows = rows
        self._headers = headers  # (stage, key) summary lines
        self._notes = notes  # per stage: pinned, variants

    @classmethod
    def of_stages(cls, stages: Iterable[Stage]) -> Explanation:
        """Gather the decisions of several stages into one table."""
        rows: list[dict[str, Any]] = []
        headers: dict[tuple[str, str], str] = {}
        notes: dict[str, str] = {}
        for label, stage in _labelled(stages):
            variants = {v.name: v for v in stage._all_variants()}
            verified = stage._dispatcher.verified() | {"reference"}
            pinned = f"; pinned to {stage.pinned!r}" if stage.pinned else ""
            names = ", ".join(variants)
            notes[label] = f"variants: {names}{pinned}"
            decisions = list(stage._dispatcher.decisions.values())
            if stage.pinned and not decisions:
                decisions = [_pinned_decision(stage.pinned)]
            for decision in decisions:
                headers[(label, decision.key)] = _header(decision)
                reference = decision.trials.get("reference")
                ref_seconds = reference.seconds if reference is not None else None
                runs = stage.pinned or decision.chosen
                for name, variant in variants.items():
                    trial = decision.trials.get(name)
                    status = trial.status if trial is not None else "not-run"
                    if name == stage.pinned:
                        status = "pinned"
                    seconds = trial.seconds if trial is not None else None
                    speedup = (
                        ref_seconds / seconds
                        if ref_seconds is not None and seconds and status != "failed"
                        else None
                    )
                    reason = trial.reason if trial is not None else ""
                    idiom_notes = _variant_notes(variant, decision.key, status)
                    rows.append(
                        {
                            "stage": label,
                            "key": decision.key,
                            "variant": name,
                            "status": status,
                            "chosen": name == runs,
                            "verified": name in verified,
                            "seconds": seconds,
                            "compile_seconds": trial.compile_seconds if trial else None,
                            "speedup": speedup,
                            "source": trial.source if trial is not None else decision.how,
                            "releases_gil": variant.releases_gil,
                            "parallel": variant.parallel,
                            "reason": f"{idiom_notes}; {reason}"
                            if idiom_notes and reason
                            else idiom_notes or reason,
                            # Beside the columns: the note column of the text table, and the
                            # variant's own notes, printed in full under it.
                            "note": reason,
                            "notes": idiom_notes,
                        }
                    )
        return cls(rows, headers, notes)

    def to_frame(self) -> pd.DataFrame:
        """Return the table as a DataFrame, one row per (stage, key, variant)."""
        return pd.DataFrame(self.rows, columns=list(COLUMNS))

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        lines: list[str] = []
        by_stage: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for row in self.rows:
            by_stage.setdefault(row["stage"], {}).setdefault(row["key"], []).append(row)
        for stage_name, note in self._notes.items():
            lines.append(f"stage {stage_name} ({note})")
            keys = by_stage.get(stage_name, {})
            if not keys:
                lines.append("  no calls yet")
            for key, rows in keys.items():
                lines.extend(
                    textwrap.wrap(
                        f"input {key}", WIDTH, initial_indent="  ", subsequent_indent="        "
                    )
                )
                lines.extend(
                    textwrap.wrap(
                        self._headers[(stage_name, key)],
                        WIDTH,
                        initial_indent="    ",
                        subsequent_indent="      ",
                    )
                )
                header = ("", "variant", "status", "time", "compile", "vs ref", "GIL", "verified")
                table = [header] + [
                    (
                        "*" if r["chosen"] else "",
                        r["variant"],
                        r["status"],
                        _seconds(r["seconds"]),
                        _seconds(r["compile_seconds"]),
                        f"{r['speedup']:.3g}x" if r["speedup"] else "-",
                        _gil(r["releases_gil"]),
                        "-" if r["variant"] == "reference" else ("yes" if r["verified"] else "no"),
                    )
                    for r in rows
                ]
                notes = ["note"] + [r.get("note", r["reason"]) for r in rows]
                lines.extend(_table(table, notes))
                dropped = _dropped_note(rows)
                if dropped is not None:
                    lines.extend(
                        textwrap.wrap(
                            dropped, WIDTH, initial_indent="    ", subsequent_indent="    "
                        )
                    )
                for r in rows:  # a derived variant's own notes (the idioms it found), in full
                    if r.get("notes"):
                        lines.append(f"    {r['variant']}:")
                        lines.extend(f"      {note}" for note in r["notes"].split("; "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False))
