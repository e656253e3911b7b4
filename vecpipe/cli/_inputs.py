"""Inputs of a chosen size, made from a stage's input spec (for bench, tune and explain).

Verification draws small, adversarial inputs from a stage's spec; benchmarking and tuning
need ordinary inputs of a given number of rows instead. For each positional argument of
the spec: a sized one (``vp.spec.array``, ``series``, ``frame``) gets the spec's ordinary
values for ``n`` rows in a shuffled (seeded) order, so that no stage is timed on sorted
data only; an unsized one (``vp.spec.window()``, ``integers()``...) gets its ordinary
value for ``n``; a constant is passed as it is. A spec's ``max_size`` bounds the
Hypothesis search only, so larger sizes are allowed here; ``min_size`` holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vecpipe.cli._common import CLIError, Target
from vecpipe.stage import Stage

_HOW = (
    "declare one with @vp.stage(inputs=...), such as "
    'inputs=vp.spec.array("float64") or inputs=(vp.spec.series("float64"), vp.spec.window()) '
    "(see docs/verification.md)"
)


def _spec(stage: Stage) -> Any:
    from vecpipe.testing.verify import _own_spec

    try:
        spec = _own_spec(stage)
    except Exception as exc:  # a malformed inputs= is the user's to fix
        msg = f"stage {stage.name!r}: its input spec is unusable ({exc})"
        raise CLIError(msg) from exc
    if spec is None:
        msg = (
            f"stage {stage.name!r} has no input spec, so vecpipe cannot make inputs of a "
            f"given size; {_HOW}"
        )
        raise CLIError(msg)
    if spec.arity is None:
        msg = (
            f"stage {stage.name!r}: inputs= is a Hypothesis strategy, which has no size to "
            f"set; {_HOW}"
        )
        raise CLIError(msg)
    if not any(getattr(arg, "sized", False) for arg in spec.args):
        msg = (
            f"stage {stage.name!r}: its input spec {spec!r} has no array, Series or frame "
            "argument, so input sizes mean nothing for it"
        )
        raise CLIError(msg)
    return spec


def _shuffled(value: Any, rng: np.random.Generator) -> Any:
    n = len(value)
    order = rng.permutation(n)
    if isinstance(value, np.ndarray):
        out = value[order]
        return np.asfortranarray(out) if value.ndim > 1 and value.flags.f_contiguous else out
    if isinstance(value, pd.Series | pd.DataFrame):
        picked = value.iloc[order]
        if isinstance(value.index, pd.RangeIndex):
            picked = picked.reset_index(drop=True)
        return picked
    return value


def check_sizes(stage: Stage, sizes: list[int]) -> None:
    """Raise a one-line error when the stage cannot take inputs of these sizes."""
    spec = _spec(stage)
    low = max([spec.min_size, *(arg.min_size for arg in spec.args if getattr(arg, "sized", False))])
    small = [n for n in sizes if n < low]
    if small:
        msg = (
            f"--sizes {small[0]}: stage {stage.name!r} takes at least {low} rows "
            f"(its input spec's min_size); pass sizes >= {low}"
        )
        raise CLIError(msg)


def make_args(stage: Stage, n: int, seed: int = 0) -> tuple[Any, ...]:
    """Positional arguments for ``stage`` with ``n`` rows in every sized argument.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage(inputs=(vp.spec.array("float64"), vp.spec.window()))
    ... def rolling(x, w):
    ...     return x
    >>> x, w = make_args(rolling, 5)
    >>> x.shape, np.sort(x).tolist(), w
    ((5,), [-1.0, -0.25, 0.5, 1.25, 2.0], 3)
    """
    from hypothesis.strategies import SearchStrategy

    from vecpipe.testing.spec import ArgSpec, _minimal

    spec = _spec(stage)
    rng = np.random.default_rng(seed)
    args: list[Any] = []
    for arg in spec.args:
        if isinstance(arg, ArgSpec) and arg.sized:
            args.append(_shuffled(arg.ordinary(n), rng))
        elif isinstance(arg, ArgSpec):
            args.append(arg.ordinary(n))
        elif isinstance(arg, SearchStrategy):
            args.append(_minimal(arg))
        else:
            args.append(arg)
    return tuple(args)


def sizable(
    targets: list[Target], sizes: list[int], *, named: bool
) -> tuple[list[Target], list[str]]:
    """The targets that can take inputs of these sizes, and why the others cannot.

    A target named on the command line must be sizable (else a one-line error); of a
    whole module's, the others are skipped with their reason.
    """
    kept: list[Target] = []
    skipped: list[str] = []
    for target in targets:
        try:
            check_sizes(target.stages[0], sizes)
        except CLIError as exc:
            if named:
                raise
            skipped.append(f"skipped {target.label}: {exc}")
        else:
            kept.append(target)
    if not kept:
        msg = "nothing to run at these sizes: " + "; ".join(skipped)
        raise CLIError(msg)
    return kept, skipped
