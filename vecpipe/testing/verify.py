"""Verification: Hypothesis checks that every variant gives the reference's answers.

For each stage and each variant, :func:`verify`

1. runs the spec's edge cases (empty, length 1, all-NaN, infinities, -0.0, huge and tiny
   magnitudes, integer extremes, strided, read-only and Fortran-ordered arrays), which
   also compiles the Numba signatures they need, so compile time never counts against a
   Hypothesis deadline;
2. lets Hypothesis search generated inputs, shrinking a failure to a minimal one; the
   example database lives in vecpipe's cache folder, so a failure found once is replayed
   first next time;
3. records a pass in wisdom against the variant's (and the reference's) source hash,
   which ``vp.config(require_verified=True)`` relies on.

A variant vecpipe derives from the reference (``auto_numba``, ``auto_ufunc``...) that
Numba cannot compile for a kind of input is *not applicable* to it: the dispatcher never
runs it there (it marks it ``compile-failed`` and runs another), so it is no failure.
Each input is compiled for before it is run; a compile or typing error, on any input,
puts that kind of input (Numba's type of the arguments) aside with Numba's reason, and
the report shows it. A derived variant that compiles and then answers differently fails
like any other.

Each call gets its own copies of the arguments (same layout, same read-only flag), so a
variant that writes into its input is caught, and the reference and the variant never
see each other's changes.
"""

from __future__ import annotations

import copy
import dataclasses
import textwrap
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky
from numba.core.errors import NumbaError

from vecpipe import spec as specs
from vecpipe._paths import cache_dir
from vecpipe.dispatch import VERIFIED_KEY
from vecpipe.errors import InvalidArgument, VariantDeclined, VariantMismatch
from vecpipe.pipeline import Pipeline
from vecpipe.stage import Stage
from vecpipe.variant import _first_lines, _readonly_problem, describe_failure
from vecpipe.wisdom import get_wisdom

if TYPE_CHECKING:
    from vecpipe.variant import Variant

__all__ = ["Counterexample", "VariantResult", "VerificationReport", "verify"]

Target = Stage | Pipeline | Iterable[Stage | Pipeline]


# -- running one input ----------------------------------------------------------------------


def _clone(value: Any) -> Any:
    """A copy with the same layout (contiguity, strides' pattern) and read-only flag."""
    if isinstance(value, np.ndarray):
        if value.flags.c_contiguous or value.ndim == 0:
            out = np.array(value, copy=True, order="C")
        elif value.flags.f_contiguous:
            out = np.array(value, copy=True, order="F")
        else:  # a strided view stays strided, so kernels see the same memory layout
            wide = np.empty((value.shape[0] * 2, *value.shape[1:]), dtype=value.dtype)
            out = wide[::2]
            out[...] = value
        if not value.flags.writeable:
            out.flags.writeable = False
        return out
    if isinstance(value, pd.Series | pd.DataFrame | pd.Index):
        return value.copy(deep=True)
    try:
        return copy.deepcopy(value)
    except Exception:  # an object that cannot be copied is passed as it is
        return value


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        if before.dtype.kind in "fc":
            return bool(np.array_equal(before, after, equal_nan=True))
        return bool(np.array_equal(before, after))
    if isinstance(before, pd.Series | pd.DataFrame | pd.Index):
        return bool(before.equals(after))
    try:
        return bool(before == after)
    except Exception:
        return True


@dataclasses.dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    mutated: tuple[int, ...] = ()


def _run(func: Callable[..., Any], args: tuple[Any, ...]) -> _Outcome:
    copies = tuple(_clone(a) for a in args)
    try:
        # Overflow and invalid-value warnings are expected on extreme inputs; what matters
        # is whether the variant's answer matches the reference's.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            value = func(*copies)
    except Exception as exc:
        return _Outcome(error=exc)
    mutated = tuple(
        i for i, (a, c) in enumerate(zip(args, copies, strict=True)) if not _unchanged(a, c)
    )
    return _Outcome(value=value, mutated=mutated)


def _same_error(stage: Stage, expected: BaseException, actual: BaseException) -> bool:
    if type(expected) is type(actual):
        return True
    return any(
        any(isinstance(expected, t) for t in group) and any(isinstance(actual, t) for t in group)
        for group in stage.equivalent_errors
    )


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _difference(stage: Stage, expected: _Outcome, actual: _Outcome) -> str | None:
    """Why the variant's outcome does not match the reference's (None when it does)."""
    if actual.mutated:
        which = ", ".join(str(i) for i in actual.mutated)
        return f"modified its input (argument {which}); the reference leaves its inputs unchanged"
    if expected.error is not None:
        if actual.error is None:
            return f"returned a result where the reference raises {_error_text(expected.error)}"
        if not _same_error(stage, expected.error, actual.error):
            return (
                f"raised {_error_text(actual.error)} where the reference raises "
                f"{_error_text(expected.error)} (declare equivalent_errors= if both are fine)"
            )
        return None
    if actual.error is not None:
        return f"raised {_error_text(actual.error)} where the reference returns a result"
    return stage.equal.compare(expected.value, actual.value)


# -- reports ----------------------------------------------------------------------------------


def _summary(value: Any, limit: int = 8) -> str:
    """A short, readable description of a value: never a wall of numbers."""
    if isinstance(value, BaseException):
        return f"raises {_error_text(value)}"
    if isinstance(value, np.ndarray):
        layout = (
            "C" if value.flags.c_contiguous else ("F" if value.flags.f_contiguous else "strided")
        )
        flags = f"{value.dtype}, shape {value.shape}, {layout}" + (
            ", read-only" if not value.flags.writeable else ""
        )
        if value.size <= limit:
            return f"array({np.array2string(value, separator=', ', threshold=limit)}) [{flags}]"
        flat = value.reshape(-1) if value.flags.c_contiguous else value.ravel()
        head = np.array2string(flat[: limit // 2], separator=", ")[1:-1]
        tail = np.array2string(flat[-(limit // 2) :], separator=", ")[1:-1]
        return f"array([{head}, ..., {tail}]) [{flags}]"
    if isinstance(value, pd.Series):
        return f"Series(name={value.name!r}, {value.dtype}, length {len(value)}): " + _summary(
            value.to_numpy(), limit
        )
    if isinstance(value, pd.DataFrame):
        cols = ", ".join(f"{c}: {t}" for c, t in value.dtypes.items())
        return f"DataFrame({len(value)} rows; {cols})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_summary(v, limit) for v in value) + ")"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


@dataclasses.dataclass
class Counterexample:
    """A (minimal) input on which a variant and the reference disagree."""

    found_by: str  # "edge case arg0:all-nan" or "hypothesis (shrunk)"
    args: tuple[Any, ...]
    expected: Any
    actual: Any
    reason: str

    def __str__(self) -> str:
        lines = [f"found by {self.found_by}"]
        for i, arg in enumerate(self.args):
            lines.append(f"  argument {i}: {_summary(arg)}")
        lines.append(f"  reference: {_summary(self.expected)}")
        lines.append(f"  variant:   {_summary(self.actual)}")
        lines.append(f"  where:     {self.reason}")
        return "\n".join(lines)


@dataclasses.dataclass
class VariantResult:
    """The verification of one variant of one stage.

    ``examples`` and ``edge_cases`` count the inputs the variant was compared on;
    ``passed`` is False only when it differed from the reference on one of them.
    """

    stage: str
    variant: str
    passed: bool
    examples: int
    edge_cases: int
    seconds: float
    counterexample: Counterexample | None = None
    note: str = ""
    #: The kinds of input (Numba's type of the arguments) that a variant vecpipe derives
    #: (auto_numba...) cannot be compiled for, each with Numba's reason: not failures,
    #: since the dispatcher never runs it on them.
    not_applicable: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def applicable(self) -> bool:
        """False when the variant could be compiled for none of the inputs tried."""
        return not self.not_applicable or self.examples + self.edge_cases > 0

    @property
    def result(self) -> str:
        """``"passed"``, ``"FAILED"`` or ``"not applicable"``."""
        if not self.applicable:
            return "not applicable"
        return "passed" if self.passed else "FAILED"


class VerificationReport:
    """What :func:`verify` found: per variant, passed or failed, examples tried, time.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage(inputs=vp.spec.array("float64", max_size=50))
    ... def double(x):
    ...     return np.array([2.0 * v for v in x])
    >>> @double.variant("numpy")
    ... def _(x):
    ...     return 2.0 * x
    >>> report = vp.verify(double, max_examples=20, seed=0)
    >>> report.ok
    True
    >>> report.to_frame()[["stage", "variant", "passed"]]
        stage     variant  passed
    0  double  auto_numba    True
    1  double       numpy    True
    """

    def __init__(self, results: Sequence[VariantResult], warnings: Sequence[str] = ()) -> None:
        self.results = list(results)
        #: What deserves a look although nothing failed (a reference that returned None
        #: for every input, so its variants were compared with None).
        self.warnings = list(warnings)

    @property
    def ok(self) -> bool:
        """Whether no variant differed from the reference (not applicable ones included)."""
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[VariantResult]:
        """The variants that differed from the reference."""
        return [r for r in self.results if not r.passed]

    def raise_for_failures(self) -> None:
        """Raise :class:`vecpipe.VariantMismatch` with the minimal counterexamples, if any."""
        if self.ok:
            return
        parts = [
            f"stage {r.stage!r}: variant {r.variant!r} differs from the reference"
            + (f" ({r.note})" if r.note else "")
            + (f"\n{r.counterexample}" if r.counterexample else "")
            for r in self.failures
        ]
        msg = f"{len(parts)} variant(s) failed verification:\n" + "\n".join(parts)
        raise VariantMismatch(msg)

    def to_frame(self) -> pd.DataFrame:
        """One row per (stage, variant)."""
        rows = [
            {
                "stage": r.stage,
                "variant": r.variant,
                "passed": r.passed,
                "examples": r.examples,
                "edge_cases": r.edge_cases,
                "seconds": r.seconds,
                "result": r.result,
                "reason": r.counterexample.reason if r.counterexample else r.note,
            }
            for r in self.results
        ]
        columns = [
            "stage",
            "variant",
            "passed",
            "examples",
            "edge_cases",
            "seconds",
            "result",
            "reason",
        ]
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        if not self.results:
            return "verification: no variants to verify"
        table = [("stage", "variant", "result", "examples", "edge cases", "time")] + [
            (
                r.stage,
                r.variant,
                r.result,
                str(r.examples),
                str(r.edge_cases),
                f"{r.seconds:.2f} s",
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in table
        ]
        passed = sum(r.passed and r.applicable for r in self.results)
        tried = sum(r.applicable for r in self.results)
        idle = len(self.results) - tried
        lines.append(
            f"{passed} of {tried} variants passed" + (f"; {idle} not applicable" if idle else "")
        )
        notes = []
        for r in self.results:
            if not r.applicable:
                notes.append(f"{r.stage}[{r.variant}] is not applicable: {r.note}")
            elif r.not_applicable:
                notes.extend(
                    f"{r.stage}[{r.variant}] is not applicable to {kind}: {reason}"
                    for kind, reason in r.not_applicable.items()
                )
        notes.extend(f"warning: {w}" for w in self.warnings)
        for note in notes:  # within 100 columns, as explain()'s tables
            lines.extend(textwrap.wrap(note, 100, subsequent_indent="  "))
        for r in self.failures:
            lines.append(f"\n{r.stage}[{r.variant}]" + (f": {r.note}" if r.note else ""))
            if r.counterexample is not None:
                lines.append(str(r.counterexample))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


# -- the search -------------------------------------------------------------------------------


class _Mismatch(AssertionError):
    pass


def _stages(target: Target) -> list[tuple[Stage, Pipeline | None, int]]:
    """(stage, pipeline it sits in, its position), each stage once."""
    items: list[Any] = [target] if isinstance(target, Stage | Pipeline) else list(target)
    found: list[tuple[Stage, Pipeline | None, int]] = []
    seen: set[int] = set()
    for item in items:
        entries: list[tuple[Stage, Pipeline | None, int]]
        if isinstance(item, Pipeline):
            entries = [(s, item, i) for i, s in enumerate(item.stages)]
        elif isinstance(item, Stage):
            entries = [(item, None, 0)]
        else:
            msg = (
                f"vp.verify: expected a stage, a Pipeline or a list of them, got {item!r} "
                f"of type {type(item).__name__}"
            )
            raise InvalidArgument(msg)
        for entry in entries:
            if id(entry[0]) not in seen:
                seen.add(id(entry[0]))
                found.append(entry)
    return found


def _elementwise_spec(stage: Stage) -> specs.Spec:
    """Arrays of one length, one per parameter: float64 unless annotated int or bool."""
    hints = getattr(stage.reference, "__annotations__", {})
    dtypes = {int: "int64", bool: "bool", "int": "int64", "bool": "bool"}
    parameters = [
        p
        for p in (stage._signature.parameters.values() if stage._signature else [])
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return specs.Spec(
        *[specs.array(dtypes.get(hints.get(p.name), "float64")) for p in parameters],
        max_size=200,
    )


def _own_spec(stage: Stage) -> specs.Spec | None:
    if stage.inputs is not None:
        return specs.as_spec(stage.inputs)
    if stage.elementwise:
        return _elementwise_spec(stage)
    try:
        return specs.infer(stage.reference, stage.name)
    except InvalidArgument:
        return None


def _spec_for(stage: Stage, pipeline: Pipeline | None, position: int) -> specs.Spec:
    """The stage's own spec; inside a pipeline, else the previous stages' reference outputs."""
    own = _own_spec(stage)
    if own is not None:
        return own
    if pipeline is None or position == 0:
        if stage.inputs is None:
            specs.infer(stage.reference, stage.name)  # raises the error that says what to do
        msg = f"stage {stage.name!r}: no input spec"
        raise InvalidArgument(msg)
    upstream = pipeline.stages[:position]
    first = _spec_for(upstream[0], pipeline, 0)

    def through(args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        value: Any = args
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # extreme inputs, as in _run
                value = upstream[0]._reference.run(*args)
                for s in upstream[1:]:
                    value = s._reference.run(value)
        except Exception:
            return None  # the upstream reference rejects this input: not one this stage sees
        return (value,)

    strategy = first.strategy().map(through).filter(lambda a: a is not None)
    edges = [(f"upstream {label}", out) for label, a in first.edge_cases() if (out := through(a))]
    return specs.Spec.from_strategy(strategy, edge_cases=edges)


def _input_kind(args: tuple[Any, ...]) -> str:
    """The arguments' types as Numba sees them (what one compiled signature covers)."""
    parts = []
    for value in args:
        try:
            parts.append(str(numba.typeof(value)))
        except Exception:  # not a Numba type: pandas objects, arbitrary classes
            dtype = getattr(value, "dtype", None)
            name = type(value).__name__
            parts.append(f"{name}[{dtype}]" if dtype is not None else name)
    return ", ".join(parts) or "no arguments"


def _compile_failure(exc: BaseException) -> str:
    """Numba's reason in a line: three lines of its message, without the source excerpt
    (a typing error's cause, "reshape() supports contiguous array only", comes after two
    lines of preamble)."""
    if _readonly_problem(exc):
        return describe_failure(exc)
    kept: list[str] = []
    excerpt = False  # from a 'File "...", line N:' to the "^" under the source line
    for line in (ln.strip() for ln in str(exc).splitlines()):
        if line.startswith("File "):
            excerpt = True
        elif excerpt:
            excerpt = not line.startswith("^")
        elif line and not line.startswith("During:"):
            kept.append(line)
    text = " ".join(kept[:3])
    return f"{type(exc).__name__}: {text}"[:300] if text else _first_lines(exc, 3)


@dataclasses.dataclass
class _Tally:
    """What one stage's reference returned across the inputs its variants were checked on."""

    values: int = 0
    nones: int = 0


@dataclasses.dataclass
class _Applicability:
    """For a derived variant: the kinds of input Numba cannot compile it for, and why."""

    variant: Variant
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def compiles_for(self, args: tuple[Any, ...]) -> bool:
        if not self.variant.derived:
            return True  # a variant the user wrote must work on every input of the spec
        kind = _input_kind(args)
        if kind in self.skipped:
            return False
        try:
            self.variant.compile_for(args, {})
        except Exception as exc:
            self.skipped[kind] = _compile_failure(exc)
            return False
        return True

    def compile_error(self, args: tuple[Any, ...], outcome: _Outcome) -> bool:
        """Whether the call failed in Numba's compiler (a signature compile_for missed)."""
        if not self.variant.derived or not isinstance(outcome.error, NumbaError):
            return False
        self.skipped[_input_kind(args)] = _compile_failure(outcome.error)
        return True


#: What _check returns for an input the variant is not applicable to.
_SKIPPED = object()


def _check(
    stage: Stage,
    variant: Variant,
    args: tuple[Any, ...],
    found_by: str,
    applicability: _Applicability,
    tally: _Tally,
) -> Counterexample | object | None:
    """A counterexample, None when the outcomes match, or _SKIPPED (not applicable)."""
    if not applicability.compiles_for(args):
        return _SKIPPED
    expected = _run(stage._reference.run, args)
    actual = _run(variant.run, args)
    if applicability.compile_error(args, actual):
        return _SKIPPED
    if expected.error is None:
        if expected.value is None:
            tally.nones += 1
        else:
            tally.values += 1
    if isinstance(actual.error, VariantDeclined):
        return None  # it gives way on this input and the reference answers: nothing wrong
    reason = _difference(stage, expected, actual)
    if reason is None:
        return None
    return Counterexample(
        found_by,
        args,
        expected.error if expected.error is not None else expected.value,
        actual.error if actual.error is not None else actual.value,
        reason,
    )


def _verify_variant(
    stage: Stage,
    variant: Variant,
    spec: specs.Spec,
    *,
    max_examples: int,
    deadline: float | None,
    seed: int | None,
    database: bool,
    tally: _Tally,
) -> VariantResult:
    start = time.perf_counter()
    applicability = _Applicability(variant)

    def result(
        passed: bool, examples: int, edges: int, found: Counterexample | None, note: str = ""
    ) -> VariantResult:
        skipped = dict(applicability.skipped)
        if skipped and not note and examples + edges == 0:
            by_reason: dict[str, list[str]] = {}
            for kind, reason in skipped.items():
                by_reason.setdefault(reason, []).append(kind)
            note = "Numba cannot compile it " + "; ".join(
                f"for {', '.join(kinds)}: {reason}" for reason, kinds in by_reason.items()
            )
        return VariantResult(
            stage.name,
            variant.name,
            passed,
            examples,
            edges,
            time.perf_counter() - start,
            found,
            note,
            skipped,
        )

    edges = 0
    for label, args in spec.edge_cases():  # always tried; also compiles the kernels' signatures
        found = _check(stage, variant, args, f"edge case {label}", applicability, tally)
        if found is _SKIPPED:
            continue
        edges += 1
        if isinstance(found, Counterexample):
            return result(False, 0, edges, found)
    state: dict[str, Any] = {"examples": 0, "failure": None}

    def one_example(args: tuple[Any, ...]) -> None:
        found = _check(
            stage,
            variant,
            args,
            "hypothesis (shrunk to a minimal input)",
            applicability,
            tally,
        )
        if found is _SKIPPED:
            return
        state["examples"] += 1
        if isinstance(found, Counterexample):
            state["failure"] = found
            raise _Mismatch(found.reason)

    # The example database is keyed by this digest, so each (stage, variant, source) has
    # its own replay history.
    one_example._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
        f"{stage.id}|{variant.name}|{variant.source_hash}|{stage._reference.source_hash}".encode()
    )
    common: dict[str, Any] = {
        "suppress_health_check": list(HealthCheck),
        "report_multiple_bugs": False,
        "verbosity": Verbosity.quiet,
        "print_blob": False,
    }
    strategy = spec.strategy()
    if deadline is not None:
        # Compile what the generated inputs need before any timing counts.
        warm = settings(
            max_examples=10, deadline=None, database=None, phases=[Phase.generate], **common
        )
        try:
            warm(given(strategy)(one_example))()
        except (_Mismatch, Flaky):
            pass  # found again, and reported, by the real search below
        state.update(examples=0, failure=None)
    database_dir = cache_dir() / "hypothesis" if database else None
    test = given(strategy)(one_example)
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    # Applied after @seed, which would otherwise switch the example database off.
    test = settings(
        max_examples=max_examples,
        deadline=None if deadline is None else deadline * 1000.0,
        database=DirectoryBasedExampleDatabase(str(database_dir)) if database_dir else None,
        **common,
    )(test)
    note = ""
    try:
        test()
    except _Mismatch:
        pass
    except Flaky:
        note = "fails only sometimes on the same input (non-deterministic?)"
    failure = state["failure"]
    return result(failure is None and not note, state["examples"], edges, failure, note)


def _none_warning(stage: Stage, tally: _Tally) -> str | None:
    """A warning when the reference returned None for every input it returned on."""
    if tally.nones == 0 or tally.values > 0:
        return None
    return (
        f"stage {stage.name!r}: the reference returned None for every input tried "
        f"({tally.nones}), so its variants were only checked to return None too; is it a "
        "stub, or does it work by side effects? Give it a body that returns its result"
    )


def _record(stage: Stage, result: VariantResult, variant: Variant, max_examples: int) -> None:
    if not result.applicable:
        return  # nothing was verified; the dispatcher records the compile failure itself
    record = {
        "status": "verified" if result.passed else "failed",
        "source_hash": variant.source_hash,
        "reference_hash": stage._reference.source_hash,
        "examples": result.examples,
        "edge_cases": result.edge_cases,
        "max_examples": max_examples,
        "seconds": result.seconds,
        "reason": result.counterexample.reason if result.counterexample else result.note,
        "time": time.time(),
    }
    get_wisdom().record(stage.id, VERIFIED_KEY, {variant.name: record})


def verify(
    target: Target,
    *,
    max_examples: int = 100,
    deadline: float | None = None,
    seed: int | None = None,
    variants: Iterable[str] | None = None,
    database: bool = True,
    record: bool = True,
    on_result: Callable[[VariantResult], None] | None = None,
) -> VerificationReport:
    """Check with Hypothesis that every variant gives the reference's answers.

    Parameters
    ----------
    target : Stage, Pipeline, or a list of them
        What to verify. Inside a pipeline, a stage with no input spec of its own is fed
        the previous stages' reference outputs.
    max_examples : int, default 100
        Generated inputs per variant (the edge cases come on top).
    deadline : float, optional
        Seconds one example may take (None: no deadline). Kernels are compiled before
        the timed search, so compilation never trips it.
    seed : int, optional
        Makes the search reproducible.
    variants : iterable of str, optional
        Only these variants (default: all).
    database : bool, default True
        Keep Hypothesis' example database in vecpipe's cache folder, so a failure found
        once is replayed first next time.
    record : bool, default True
        Record each outcome in wisdom (``require_verified=True`` runs only passed ones).
    on_result : callable, optional
        Called with each variant's :class:`VariantResult` as soon as it is known (a
        progress bar's hook; ``vecpipe verify`` uses it).

    Returns
    -------
    VerificationReport

    Raises
    ------
    InvalidArgument
        A stage has no ``inputs=`` and its arguments cannot be inferred from annotations;
        the message shows how to declare them.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def total(x: np.ndarray) -> float:
    ...     s = 0.0
    ...     for v in x:
    ...         s += v
    ...     return s
    >>> @total.variant("numpy")
    ... def _(x):
    ...     return float(np.sum(x))
    >>> print(vp.verify(total, max_examples=30, seed=1))  # doctest: +ELLIPSIS
    stage  variant     result  examples  edge cases  time
    total  auto_numba  passed  ...
    total  numpy       passed  ...
    2 of 2 variants passed
    """
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        msg = f"vp.verify: max_examples={max_examples!r} must be a positive int"
        raise InvalidArgument(msg)
    if deadline is not None and not (isinstance(deadline, int | float) and deadline > 0):
        msg = f"vp.verify: deadline={deadline!r} must be a positive number of seconds or None"
        raise InvalidArgument(msg)
    wanted = None if variants is None else set(variants)
    results: list[VariantResult] = []
    notes: list[str] = []
    for stage, pipeline, position in _stages(target):
        chosen = [v for v in stage.variants.values() if wanted is None or v.name in wanted]
        if not chosen:
            continue
        spec = _spec_for(stage, pipeline, position)
        tally = _Tally()
        for variant in chosen:
            result = _verify_variant(
                stage,
                variant,
                spec,
                max_examples=max_examples,
                deadline=deadline,
                seed=seed,
                database=database,
                tally=tally,
            )
            if record:
                _record(stage, result, variant, max_examples)
            results.append(result)
            if on_result is not None:
                on_result(result)
        warning = _none_warning(stage, tally)
        if warning is not None:
            notes.append(warning)
    if wanted is not None:
        known = {r.variant for r in results}
        missing = sorted(wanted - known)
        if missing:
            msg = f"vp.verify: no variant named {', '.join(repr(m) for m in missing)} in the target"
            raise InvalidArgument(msg)
    return VerificationReport(results, notes)
