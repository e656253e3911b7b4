"""Careful timers for a noisy machine: interleaved repeats, reported as min and median.

Shared by the benchmarks (``benchmarks._timing`` re-exports it) and ``vecpipe bench``.

Every measurement here times the statement ``f(x)`` itself (``timeit`` with a string
statement, so no lambda sits between the timer and the call), runs all contenders in
the same rounds in a shuffled order, and keeps the per-call time of each round. The
minimum is the figure least disturbed by other tenants of a shared VM; the median shows
how much the noise matters.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import timeit
from collections.abc import Callable, Mapping
from typing import Any


@dataclasses.dataclass
class Timing:
    """Per-call seconds of one contender over several interleaved samples."""

    name: str
    min: float
    median: float
    samples: int
    number: int  # calls per sample

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)


def _timer(fn: Callable[..., Any], arg: Any, spread: bool) -> timeit.Timer:
    if spread:
        return timeit.Timer("f(*x)", globals={"f": fn, "x": tuple(arg)})
    return timeit.Timer("f(x)", globals={"f": fn, "x": arg})


def interleaved(
    contenders: Mapping[str, Callable[..., Any]],
    arg: Any,
    *,
    rounds: int,
    number: int | None = None,
    target: float = 0.02,
    cap: Mapping[str, float] | None = None,
    seed: int = 0,
    prime: bool = False,
    spread: bool = False,
) -> dict[str, Timing]:
    """Time ``f(arg)`` for every contender in interleaved, shuffled rounds.

    Parameters
    ----------
    contenders
        Name -> callable taking ``arg``.
    rounds
        How many samples each contender gets (fewer if its ``cap`` runs out).
    number
        Calls per sample; by default chosen per contender so a sample lasts ``target``.
    target
        Seconds one sample should last when ``number`` is not given.
    cap
        Name -> seconds: once a contender has used this much, it takes no more samples
        (it always has at least one). For slow references.
    seed
        Seed of the shuffling of the order within a round.
    prime
        Make one untimed call before each sample (steady-state timing: a parallel
        kernel's first call after a pause may pay to wake its threads).
    spread
        ``arg`` is a tuple of positional arguments: time ``f(*arg)``.
    """
    cap = cap or {}
    timers = {name: _timer(fn, arg, spread) for name, fn in contenders.items()}
    numbers: dict[str, int] = {}
    per_call: dict[str, list[float]] = {name: [] for name in contenders}
    used: dict[str, float] = dict.fromkeys(contenders, 0.0)
    primed: dict[str, bool] = {}
    for name, timer in timers.items():
        # Warm-up and estimate of the steady per-call time: a burst of calls growing
        # tenfold (the first call of a burst can pay for waking threads). A call of half
        # a second or more is long enough for one-time costs not to matter, so it counts
        # as a sample.
        first = timer.timeit(1)
        used[name] += first
        estimate, burst = first, 1
        while burst < 1000 and used[name] < 10 * target and estimate * burst * 10 < 5 * target:
            burst *= 10
            elapsed = timer.timeit(burst)
            used[name] += elapsed
            estimate = min(estimate, elapsed / burst)
        numbers[name] = number if number is not None else max(1, int(target / estimate))
        # One untimed call before each sample puts every contender in the same warm
        # state; not worth it for calls long enough to swamp one-time costs.
        primed[name] = prime and estimate < 0.05
        if first >= 0.5 and number is None:
            per_call[name].append(first)
    order = list(contenders)
    shuffle = random.Random(seed)
    for _ in range(rounds):
        shuffle.shuffle(order)
        for name in order:
            if len(per_call[name]) >= rounds:
                continue
            if per_call[name] and used[name] >= cap.get(name, float("inf")):
                continue
            if primed[name]:
                used[name] += timers[name].timeit(1)
            elapsed = timers[name].timeit(numbers[name])
            used[name] += elapsed
            per_call[name].append(elapsed / numbers[name])
    return {
        name: Timing(
            name,
            min(values),
            statistics.median(values),
            len(values),
            numbers[name],
        )
        for name, values in per_call.items()
    }
