"""Pipelines: stages in order, each dispatched on its own."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pandas as pd

from vecpipe._batched import Batched
from vecpipe._format import format_seconds
from vecpipe.errors import InvalidArgument
from vecpipe.explain import Explanation
from vecpipe.stage import Stage

__all__ = ["Pipeline", "RunReport", "StageRun"]


@dataclasses.dataclass(frozen=True)
class StageRun:
    """One stage's part in a pipeline run."""

    stage: str
    variant: str
    seconds: float


@dataclasses.dataclass(frozen=True)
class RunReport:
    """What a pipeline call ran: per stage, the variant and its wall time.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> pipe = vp.Pipeline([np.sqrt, np.sum])
    >>> float(pipe(np.array([4.0, 9.0])))
    5.0
    >>> [run.stage for run in pipe.last_run]
    ['sqrt', 'sum']
    """

    runs: tuple[StageRun, ...]

    @property
    def seconds(self) -> float:
        """The total over the stages."""
        return sum(run.seconds for run in self.runs)

    def __iter__(self) -> Iterator[StageRun]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def to_frame(self) -> pd.DataFrame:
        """One row per stage: ``stage, variant, seconds``."""
        return pd.DataFrame(
            [dataclasses.asdict(r) for r in self.runs], columns=["stage", "variant", "seconds"]
        )

    def __str__(self) -> str:
        width = max([5, *(len(r.stage) for r in self.runs)])
        vwidth = max([7, *(len(r.variant) for r in self.runs)])
        lines = [f"{'stage'.ljust(width)}  {'variant'.ljust(vwidth)}  time"]
        lines += [
            f"{r.stage.ljust(width)}  {r.variant.ljust(vwidth)}  {format_seconds(r.seconds)}"
            for r in self.runs
        ]
        lines.append(f"{'total'.ljust(width)}  {''.ljust(vwidth)}  {format_seconds(self.seconds)}")
        return "\n".join(lines)


def _as_stage(step: Any, position: int) -> Stage:
    if isinstance(step, Stage):
        return step
    if callable(step):
        return Stage(step)
    msg = (
        f"Pipeline: step {position} is {step!r} of type {type(step).__name__}; "
        "pass stages or plain functions"
    )
    raise InvalidArgument(msg)


class Pipeline(Batched):
    """Stages run in order: each stage's output is the next stage's input.

    Parameters
    ----------
    stages : iterable of Stage or callable
        Plain functions are wrapped as stages that have only their reference.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def center(x):
    ...     return x - x.mean()
    >>> @vp.stage
    ... def scale(x):
    ...     return x / np.abs(x).max()
    >>> pipe = center >> scale
    >>> pipe(np.array([1.0, 2.0, 3.0]))
    array([-1.,  0.,  1.])
    >>> pipe.last_run.to_frame()["stage"].tolist()
    ['center', 'scale']
    """

    def __init__(self, stages: Iterable[Stage | Callable[..., Any]]) -> None:
        if isinstance(stages, Stage) or callable(stages):
            msg = "Pipeline: pass a list of stages, e.g. vp.Pipeline([first, second])"
            raise InvalidArgument(msg)
        flat: list[Stage] = []
        for position, step in enumerate(stages):
            if isinstance(step, Pipeline):
                flat.extend(step.stages)
            else:
                flat.append(_as_stage(step, position))
        if not flat:
            msg = "Pipeline: needs at least one stage"
            raise InvalidArgument(msg)
        self.stages: tuple[Stage, ...] = tuple(flat)
        self._last_run: RunReport | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        runs: list[StageRun] = []
        value: Any = None
        for position, stage in enumerate(self.stages):
            call_args, call_kwargs = (args, kwargs) if position == 0 else ((value,), {})
            start = time.perf_counter()
            value = stage(*call_args, **call_kwargs)
            elapsed = time.perf_counter() - start
            runs.append(
                StageRun(
                    stage.name, stage.choice(*call_args, **call_kwargs) or "reference", elapsed
                )
            )
        self._last_run = RunReport(tuple(runs))
        return value

    @property
    def last_run(self) -> RunReport:
        """What the latest call ran: per stage, the variant and its time."""
        if self._last_run is None:
            msg = "Pipeline.last_run: the pipeline has not been called yet"
            raise InvalidArgument(msg)
        return self._last_run

    def explain(self) -> Explanation:
        """The decision tables of every stage, gathered in one :class:`Explanation`."""
        return Explanation.of_stages(self.stages)

    def __rshift__(self, other: Any) -> Pipeline:
        if isinstance(other, Pipeline):
            return Pipeline([*self.stages, *other.stages])
        return Pipeline([*self.stages, _as_stage(other, len(self.stages))])

    def __rrshift__(self, other: Any) -> Pipeline:
        return Pipeline([_as_stage(other, 0), *self.stages])

    def __len__(self) -> int:
        return len(self.stages)

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __repr__(self) -> str:
        return "Pipeline(" + " >> ".join(s.name for s in self.stages) + ")"
