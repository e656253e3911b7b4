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

    Its ``repr`` (``"scale_shift[numba_parallel]"``) is the pytest id.
    """

    def __init__(
        self, target: Stage | Pipeline, stage: Stage, variant: str, options: dict[str, Any]
    ) -> None:
        self.target = target
        self.stage = stage
        self.variant = variant
        self.options = options

    def __call__(self) -> None:
        from vecpipe.testing.verify import verify

        # Verify through the target, so a stage inside a pipeline gets upstream inputs.
        report = verify(self.target, variants=[self.variant], **self.options)
        mine = [r for r in report.results if r.stage == self.stage.name]
        from vecpipe.testing.verify import VerificationReport

        VerificationReport(mine).raise_for_failures()

    def __repr__(self) -> str:
        return f"{self.stage.name}[{self.variant}]"


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
        raises :class:`vecpipe.VariantMismatch` with the minimal counterexample.

    Examples
    --------
    In a test module::

        from vecpipe.testing import parametrize_with_checks
        from mypipeline import clean, pipeline

        @parametrize_with_checks([clean, pipeline])
        def test_variants_match_their_reference(check):
            check()

    gives tests with ids such as ``clean[numpy]`` and ``clean[numba_parallel]``.
    """
    import pytest

    options = {"max_examples": max_examples, "deadline": deadline, "seed": seed}
    checks: list[Check] = []
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
                    checks.append(Check(target, stage, name, options))
    if not checks:
        msg = "parametrize_with_checks: the targets have no variants to check"
        raise InvalidArgument(msg)
    return pytest.mark.parametrize("check", checks, ids=repr)
