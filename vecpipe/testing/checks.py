"""pytest helpers: one test per (stage, variant), in the spirit of scikit-learn's checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vecpipe.errors import InvalidArgument
from vecpipe.pipeline import Pipeline
from vecpipe.stage import Stage

__all__ = ["Check", "parametrize_with_checks"]


class Check:
    """Verify one variant of one stage; calling it raises on a mismatch.

    Its ``repr`` (``"scale_shift[numba_parallel]"``) is the pytest id. Calling it under
    pytest skips the test, with Numba's reason, when the variant is one vecpipe derives
    (``auto_numba``...) and Numba cannot compile it for any of the stage's inputs: the
    dispatcher never runs it, so there is nothing to check.
    """

    def __init__(
        self,
        target: Stage | Pipeline,
        stage: Stage,
        variant: str,
        options: dict[str, Any],
        label: str | None = None,
    ) -> None:
        self.target = target
        self.stage = stage
        self.variant = variant
        self.options = options
        self.label = label or f"{stage.name}[{variant}]"

    def __call__(self) -> None:
        from vecpipe.testing.verify import VerificationReport, verify

        # Verify through the target, so a stage inside a pipeline gets upstream inputs.
        report = verify(self.target, variants=[self.variant], **self.options)
        mine = [r for r in report.results if r.stage == self.stage.name]
        VerificationReport(mine).raise_for_failures()
        idle = [r for r in mine if not r.applicable]
        if idle:
            import pytest

            pytest.skip(f"{self.label} is not applicable: {idle[0].note}")

    def __repr__(self) -> str:
        return self.label


def _labels(pairs: list[tuple[Stage, str]]) -> list[str]:
    """``stage[variant]``; where two stages share a name, their ids (``module:function``)."""
    names: dict[str, set[int]] = {}
    for stage, _ in pairs:
        names.setdefault(stage.name, set()).add(id(stage))
    labels = [
        f"{stage.name if len(names[stage.name]) == 1 else stage.id}[{variant}]"
        for stage, variant in pairs
    ]
    counts: dict[str, int] = {}
    unique = []
    for label in labels:  # stages of one name in one module (made in a loop)
        counts[label] = counts.get(label, 0) + 1
        unique.append(label if counts[label] == 1 else f"{label}#{counts[label]}")
    return unique


def parametrize_with_checks(
    targets: Iterable[Stage | Pipeline],
    *,
    max_examples: int = 100,
    deadline: float | None = None,
    seed: int | None = None,
) -> Any:
    """A ``pytest.mark.parametrize`` giving one test per (stage, variant).

    Parameters
    ----------
    targets : iterable of Stage or Pipeline
        The stages (and pipelines, whose stages are all checked) to verify.
    max_examples, deadline, seed
        Passed to :func:`vecpipe.verify`.

    Returns
    -------
    pytest.MarkDecorator
        Parametrizes the argument ``check``; each ``check()`` verifies one variant and
        raises :class:`vecpipe.VariantMismatch` with the minimal counterexample. A
        variant vecpipe derives (``auto_numba``...) that Numba cannot compile for the
        stage's inputs is skipped with Numba's reason; one that compiles and then
        differs fails like any other.

    Examples
    --------
    In a test module::

        from vecpipe.testing import parametrize_with_checks
        from mypipeline import clean, pipeline

        @parametrize_with_checks([clean, pipeline])
        def test_variants_match_their_reference(check):
            check()

    gives tests with ids such as ``clean[numpy]`` and ``clean[numba_parallel]``. Each
    (stage, variant) is checked once, even when it sits in several targets; two stages
    of the same name get their ids (``module:function``) instead.
    """
    import pytest

    options = {"max_examples": max_examples, "deadline": deadline, "seed": seed}
    found: list[tuple[Stage | Pipeline, Stage, str]] = []
    seen: set[tuple[int, str]] = set()
    for target in targets:
        if isinstance(target, Pipeline):
            stages = list(target.stages)
        elif isinstance(target, Stage):
            stages = [target]
        else:
            msg = (
                f"parametrize_with_checks: expected stages or pipelines, got {target!r} of "
                f"type {type(target).__name__}"
            )
            raise InvalidArgument(msg)
        for stage in stages:
            for name in stage.variants:
                if (id(stage), name) not in seen:
                    seen.add((id(stage), name))
                    found.append((target, stage, name))
    if not found:
        msg = "parametrize_with_checks: the targets have no variants to check"
        raise InvalidArgument(msg)
    labels = _labels([(stage, name) for _, stage, name in found])
    checks = [
        Check(target, stage, name, options, label)
        for (target, stage, name), label in zip(found, labels, strict=True)
    ]
    return pytest.mark.parametrize("check", checks, ids=repr)
