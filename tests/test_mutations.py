"""Mutation tests: vp.verify must flag deliberately wrong variants and pass correct ones.

Seven stages, written as a data scientist would (plain Python loops as references), each
with correct variants (NumPy, Numba, parallel Numba where it makes sense) and mutants: the
mistakes that happen in practice when a loop is rewritten for speed. Every mutant must be
flagged with a counterexample that says what is wrong; every correct variant must pass,
whatever the seed.

Numba compiles each kernel on first use, once per signature (contiguous, strided,
read-only), and caches it on disk: the kernels are defined at module level so that the
cache applies and each compiles once per session.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numba
import numpy as np
import pandas as pd
import pytest

import vecpipe as vp

MUTANT_RUN = {"max_examples": 150, "database": False}
CORRECT_RUN = {"max_examples": 60, "database": False}
SEEDS = (0, 1, 2)


# -- 1. a moving window: rolling_mean(x, window), pandas-like ---------------------------------


@vp.stage(inputs=vp.spec.Spec(vp.spec.array("float64", max_size=60), vp.spec.window()))
def rolling_mean(x, window):
    """Mean of the last ``window`` values; NaN until the window is full; NaN propagates."""
    out = np.full(len(x), np.nan)
    for i in range(window - 1, len(x)):
        total = 0.0
        for j in range(i - window + 1, i + 1):
            total += x[j]
        out[i] = total / window
    return out


@rolling_mean.variant("numpy")
def _rolling_mean_numpy(x, window):
    n = len(x)
    out = np.full(n, np.nan)
    if window <= n:
        m = n - window + 1
        total = np.zeros(m)
        for k in range(window):  # the reference's order of summation, vectorized
            total += x[k : k + m]
        out[window - 1 :] = total / window
    return out


@rolling_mean.variant("numba")
def _rolling_mean_numba(x, window):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(window - 1, n):
        total = 0.0
        for j in range(i - window + 1, i + 1):
            total += x[j]
        out[i] = total / window
    return out


@rolling_mean.variant("numba", parallel=True)
def _rolling_mean_parallel(x, window):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in numba.prange(window - 1, n):
        total = 0.0
        for j in range(i - window + 1, i + 1):
            total += x[j]
        out[i] = total / window
    return out


@rolling_mean.variant("numba", name="off_by_one_window")
def _rolling_mean_lagged(x, window):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(window, n):  # the window ends one element early
        total = 0.0
        for j in range(i - window, i):
            total += x[j]
        out[i] = total / window
    return out


@rolling_mean.variant("numpy", name="last_window_missing")
def _rolling_mean_short(x, window):
    n = len(x)
    out = np.full(n, np.nan)
    if window <= n:
        m = n - window + 1
        total = np.zeros(m)
        for k in range(window):
            total += x[k : k + m]
        out[window - 1 : n - 1] = (total / window)[:-1]  # the slice stops one short
    return out


@rolling_mean.variant("numba", name="nan_skipped")
def _rolling_mean_skipping_nan(x, window):
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(window - 1, n):
        total = 0.0
        count = 0
        for j in range(i - window + 1, i + 1):
            if not np.isnan(x[j]):  # nanmean: NaN skipped where it must propagate
                total += x[j]
                count += 1
        out[i] = total / count if count > 0 else np.nan
    return out


# -- 2. a cumulative stage: cumsum_skipna(x), pandas' cumsum(skipna=True) --------------------


@vp.stage(inputs=vp.spec.array("float64", max_size=100))
def cumsum_skipna(x):
    """Running total that skips NaN; a NaN input gives NaN at its own position only."""
    out = np.empty(len(x))
    total = 0.0
    for i in range(len(x)):
        if math.isnan(x[i]):
            out[i] = math.nan
        else:
            total += x[i]
            out[i] = total
    return out


@cumsum_skipna.variant("numpy")
def _cumsum_numpy(x):
    missing = np.isnan(x)
    out = np.cumsum(np.where(missing, 0.0, x))
    out[missing] = np.nan
    return out


@cumsum_skipna.variant("numba")
def _cumsum_numba(x):
    out = np.empty(x.shape[0])
    total = 0.0
    for i in range(x.shape[0]):
        if np.isnan(x[i]):
            out[i] = np.nan
        else:
            total += x[i]
            out[i] = total
    return out


@cumsum_skipna.variant("numpy", name="nan_propagates")
def _cumsum_plain(x):
    return np.cumsum(x)  # NaN poisons every later total where it must be skipped


@cumsum_skipna.variant("numpy", name="first_element_zero")
def _cumsum_first_zero(x):
    missing = np.isnan(x)
    out = np.zeros(len(x))
    out[1:] = np.cumsum(np.where(missing, 0.0, x))[1:]  # out[0] is never written
    out[missing] = np.nan
    return out


@cumsum_skipna.variant("numpy", name="inf_treated_as_missing")
def _cumsum_finite_only(x):
    missing = ~np.isfinite(x)  # inf is a value, not a missing one
    out = np.cumsum(np.where(missing, 0.0, x))
    out[missing] = np.nan
    return out


@cumsum_skipna.variant("numpy", name="mutates_input")
def _cumsum_fillna_in_place(x):
    missing = np.isnan(x)
    x[missing] = 0.0  # fillna(0, inplace=True) on the caller's array
    out = np.cumsum(x)
    out[missing] = np.nan
    return out


# -- 3. a reduction: variance(x) with ddof=1 ---------------------------------------------------

# Bounded values: any sound variant sums in another order, and a sum of +-1e300 with small
# values cancels to an order-dependent answer. Within +-1e6 the two-pass variance is
# well-conditioned, so the default tolerance separates sound from wrong.
VALUES = vp.spec.array("float64", max_size=200, min_value=-1e6, max_value=1e6)


@vp.stage(inputs=VALUES)
def variance(x):
    """Sample variance (ddof=1): NaN for fewer than two values; NaN propagates."""
    n = len(x)
    if n < 2:
        return math.nan
    total = 0.0
    for v in x:
        total += v
    mean = total / n
    squares = 0.0
    for v in x:
        squares += (v - mean) ** 2
    return squares / (n - 1)


@variance.variant("numpy")
def _variance_numpy(x):
    if len(x) < 2:
        return math.nan
    return float(np.var(x, ddof=1))


@variance.variant("numba")
def _variance_numba(x):
    n = x.shape[0]
    if n < 2:
        return np.nan
    total = 0.0
    for i in range(n):
        total += x[i]
    mean = total / n
    squares = 0.0
    for i in range(n):
        squares += (x[i] - mean) ** 2
    return squares / (n - 1)


@variance.variant("numba", parallel=True)
def _variance_parallel(x):
    n = x.shape[0]
    if n < 2:
        return np.nan
    total = 0.0
    for i in numba.prange(n):  # a parallel reduction: another order, within tolerance
        total += x[i]
    mean = total / n
    squares = 0.0
    for i in numba.prange(n):
        squares += (x[i] - mean) ** 2
    return squares / (n - 1)


@variance.variant("numpy", name="wrong_ddof")
def _variance_population(x):
    if len(x) < 2:
        return math.nan
    return float(np.var(x))  # ddof=0


@variance.variant("numba", name="float32_accumulation")
def _variance_float32(x):
    n = x.shape[0]
    if n < 2:
        return np.nan
    x32 = x.astype(np.float32)  # "half the memory traffic"
    total = np.float32(0.0)
    for i in range(n):
        total += x32[i]
    mean = np.float32(total / n)
    squares = np.float32(0.0)
    for i in range(n):
        d = x32[i] - mean
        squares += d * d
    return float(squares) / (n - 1)


@variance.variant("numpy", name="fails_only_on_empty")
def _variance_shifted(x):
    shift = x[0]  # shifted data for accuracy; read before the length check
    if len(x) < 2:
        return math.nan
    d = x - shift
    return float((np.sum(d * d) - np.sum(d) ** 2 / len(x)) / (len(x) - 1))


@variance.variant("numpy", name="nondeterministic_parallel_sum")
def _variance_racy(x):
    """Four "threads" add their partial sums into a shared total without a lock.

    Now and then two of them read the total at the same moment and one update is lost;
    which one, and whether it happens, changes from run to run.
    """
    n = len(x)
    if n < 2:
        return math.nan
    mean = float(np.mean(x))
    partials = [float(np.sum((c - mean) ** 2)) for c in np.array_split(x, 4)]
    rng = np.random.default_rng()  # fresh entropy: Hypothesis cannot make it repeatable
    order = rng.permutation(len(partials))
    lost = order[rng.integers(len(order))] if rng.random() < 0.25 else -1
    squares = 0.0
    for k in order:
        if k != lost:
            squares += partials[k]
    return squares / (n - 1)


# -- 4. a well-conditioned reduction: mean(x) of non-negative values -------------------------

# Non-negative values: no cancellation, so any order of summation (pairwise, parallel
# chunks) agrees with the reference to about n units in the last place.
PRICES = vp.spec.array("float64", max_size=200, min_value=0.0, max_value=1e6)


@vp.stage(inputs=PRICES)
def mean(x):
    """Arithmetic mean; NaN for no values; NaN propagates."""
    if len(x) == 0:
        return math.nan
    s = 0.0
    for v in x:
        s += v
    return s / len(x)


@mean.variant("numpy")
def _mean_numpy(x):
    return float(np.mean(x)) if len(x) else math.nan


@mean.variant("numba", parallel=True)
def _mean_parallel(x):
    n = x.shape[0]
    if n == 0:
        return np.nan
    s = 0.0
    for i in numba.prange(n):
        s += x[i]
    return s / n


@mean.variant("numpy", name="float32_result")
def _mean_float32(x):
    return np.mean(x, dtype=np.float32) if len(x) else math.nan  # accumulates in float32


# -- 5. an integer reduction: total(x) of int32 values ----------------------------------------


@vp.stage(inputs=vp.spec.array("int32", max_size=100))
def total(x):
    """Exact sum of int32 values (a Python int)."""
    s = 0
    for v in x:
        s += int(v)
    return s


@total.variant("numpy")
def _total_numpy(x):
    return int(np.sum(x, dtype=np.int64))


@total.variant("numba")
def _total_numba(x):
    s = 0
    for i in range(x.shape[0]):
        s += x[i]
    return s


@total.variant("numpy", name="integer_overflow")
def _total_in_input_dtype(x):
    return int(x.sum(dtype=x.dtype))  # accumulates in int32 and wraps around


@total.variant("numpy", name="wrong_output_dtype")
def _total_as_float(x):
    return float(np.sum(x, dtype=np.float64))  # a float where the reference gives an int


# -- 6. a Series stage: diff(s), positional, index and name kept -------------------------------


@vp.stage(inputs=vp.spec.series("float64", max_size=100, index="any", name="price"))
def diff(s):
    """``s[i] - s[i - 1]`` by position; NaN first; the Series keeps its index and name."""
    values = s.to_numpy()
    out = np.full(len(values), np.nan)
    for i in range(1, len(values)):
        out[i] = values[i] - values[i - 1]
    return pd.Series(out, index=s.index, name=s.name)


@diff.variant("numpy")
def _diff_pandas(s):
    return s.diff()


@diff.variant("numpy", name="numpy_shift")
def _diff_shift(s):
    values = s.to_numpy()
    out = np.full(len(values), np.nan)
    out[1:] = values[1:] - values[:-1]
    return pd.Series(out, index=s.index, name=s.name)


@diff.variant("numpy", name="wrong_index")
def _diff_range_index(s):
    return pd.Series(np.diff(s.to_numpy(), prepend=np.nan), name=s.name)  # a fresh RangeIndex


# -- 7. signed zero and infinities: reciprocal(x) --------------------------------------------


@vp.stage(inputs=vp.spec.array("float64", max_size=100))
def reciprocal(x):
    """``1 / x`` with IEEE semantics: ``1 / -0.0`` is ``-inf``, ``1 / inf`` is 0."""
    out = np.empty(len(x))
    for i in range(len(x)):
        if x[i] == 0.0:
            out[i] = math.copysign(math.inf, x[i])
        else:
            out[i] = 1.0 / x[i]
    return out


@reciprocal.variant("numpy")
def _reciprocal_numpy(x):
    with np.errstate(divide="ignore"):
        return 1.0 / x


@reciprocal.variant("numba")
def _reciprocal_numba(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        if x[i] == 0.0:
            out[i] = math.copysign(math.inf, x[i])
        else:
            out[i] = 1.0 / x[i]
    return out


@reciprocal.variant("numba", parallel=True)
def _reciprocal_parallel(x):
    out = np.empty(x.shape[0])
    for i in numba.prange(x.shape[0]):
        if x[i] == 0.0:
            out[i] = math.copysign(math.inf, x[i])
        else:
            out[i] = 1.0 / x[i]
    return out


@reciprocal.variant("numpy", name="ignores_negative_zero")
def _reciprocal_unsigned_zero(x):
    out = np.full(len(x), np.inf)  # 1 / 0 is +inf, whatever the sign of the zero
    nonzero = x != 0.0
    out[nonzero] = 1.0 / x[nonzero]
    return out


# -- the catalogue -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A deliberately wrong variant and what verify must say about it."""

    stage: vp.Stage
    name: str
    kind: str  # the kind of mistake, as the issue lists them
    reason: str  # a regular expression the counterexample's reason (or note) must match

    def __repr__(self) -> str:
        return f"{self.stage.name}[{self.name}]"


_VALUES_DIFFER = r"values differ|expected .*, got"

MUTANTS = [
    Mutant(rolling_mean, "off_by_one_window", "off-by-one window", _VALUES_DIFFER),
    Mutant(rolling_mean, "last_window_missing", "wrong last element", _VALUES_DIFFER),
    Mutant(rolling_mean, "nan_skipped", "NaN skipped where it must propagate", _VALUES_DIFFER),
    Mutant(
        cumsum_skipna,
        "nan_propagates",
        "NaN propagates where it must be skipped",
        r"got np.float64\(nan\)",
    ),
    Mutant(cumsum_skipna, "first_element_zero", "wrong first element", r"first at index 0"),
    Mutant(cumsum_skipna, "inf_treated_as_missing", "ignores inf", _VALUES_DIFFER),
    Mutant(cumsum_skipna, "mutates_input", "mutates its input", "modified its input"),
    Mutant(variance, "wrong_ddof", "wrong ddof", _VALUES_DIFFER),
    Mutant(variance, "float32_accumulation", "float32 accumulation", _VALUES_DIFFER),
    # The same mistake as float32_accumulation, but the float32 result is returned as it is:
    # the default policy then compares at float32's tolerance (rtol 1e-5) and lets it pass.
    Mutant(
        mean,
        "float32_result",
        "float32 accumulation (float32 result)",
        _VALUES_DIFFER + "|float32",
    ),
    Mutant(
        variance,
        "fails_only_on_empty",
        "fails only on empty input",
        r"raised IndexError\b.* where the reference returns a result",
    ),
    Mutant(
        variance,
        "nondeterministic_parallel_sum",
        "non-deterministic parallel reduction beyond tolerance",
        _VALUES_DIFFER + "|fails only sometimes",
    ),
    Mutant(total, "integer_overflow", "integer overflow", _VALUES_DIFFER),
    Mutant(total, "wrong_output_dtype", "wrong output dtype", r"dtype float64 .*another kind"),
    Mutant(diff, "wrong_index", "wrong index on a Series", r"index"),
    Mutant(reciprocal, "ignores_negative_zero", "ignores negative zero", r"got np.float64\(inf\)"),
]

STAGES = [rolling_mean, cumsum_skipna, variance, mean, total, diff, reciprocal]
_MUTANT_NAMES = {(m.stage.name, m.name) for m in MUTANTS}
# The variants written here that are not mutants (variants vecpipe derives from the
# reference itself, such as auto_numba, are tested elsewhere).
CORRECT = [
    (stage, name)
    for stage in STAGES
    for name, variant in stage.variants.items()
    if (stage.name, name) not in _MUTANT_NAMES and variant.func is not stage.reference
]


def _verdict(result) -> str:
    reason = result.counterexample.reason if result.counterexample is not None else ""
    return f"{reason} | {result.note}"


# -- the tests -------------------------------------------------------------------------------


def test_the_catalogue_covers_every_kind_of_mistake():
    kinds = {m.kind for m in MUTANTS}
    assert len(MUTANTS) >= 12
    assert len({m.stage.name for m in MUTANTS}) >= 3
    for wanted in (
        "off-by-one window",
        "wrong first element",
        "wrong last element",
        "NaN skipped where it must propagate",
        "NaN propagates where it must be skipped",
        "float32 accumulation",
        "wrong ddof",
        "integer overflow",
        "ignores negative zero",
        "ignores inf",
        "mutates its input",
        "wrong output dtype",
        "wrong index on a Series",
        "fails only on empty input",
        "non-deterministic parallel reduction beyond tolerance",
    ):
        assert wanted in kinds
    for m in MUTANTS:
        assert m.name in m.stage.variants, m
    # Each stage also has correct variants, among them compiled and parallel ones.
    assert {stage.name for stage, _ in CORRECT} == {s.name for s in STAGES}
    kinds_of_correct = {stage.variants[name].kind for stage, name in CORRECT}
    assert kinds_of_correct == {"numpy", "numba"}
    assert sum(stage.variants[name].parallel for stage, name in CORRECT) >= 3


def _check_flagged(mutant: Mutant, seed: int) -> str | None:
    """None when verify flags the mutant for the expected reason, else what went wrong."""
    report = vp.verify(mutant.stage, variants=[mutant.name], seed=seed, **MUTANT_RUN)
    (result,) = report.results
    if result.passed:
        return f"{mutant!r} ({mutant.kind}) was not flagged with seed={seed}:\n{report}"
    if not re.search(mutant.reason, _verdict(result)):
        return f"{mutant!r} ({mutant.kind}) was flagged for an unexpected reason:\n{report}"
    with pytest.raises(vp.VariantMismatch, match=re.escape(mutant.name)):
        report.raise_for_failures()
    return None


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_verify_flags_the_mutant(mutant, seed):
    problem = _check_flagged(mutant, seed)
    assert problem is None, problem


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
@pytest.mark.parametrize(
    ("stage", "name"), CORRECT, ids=[f"{stage.name}[{name}]" for stage, name in CORRECT]
)
def test_verify_passes_the_correct_variant(stage, name, seed):
    report = vp.verify(stage, variants=[name], seed=seed, **CORRECT_RUN)
    (result,) = report.results
    assert result.passed, f"false alarm:\n{report}"
    assert result.examples >= CORRECT_RUN["max_examples"] and result.edge_cases > 5


# No edge case is bound to catch these: a NaN among ordinary values (the edge cases have
# only all-NaN arrays, on which skipping and propagating NaN agree), and a variant that is
# wrong on one call in four. Finding them must not depend on a lucky seed.
SEARCH_ONLY = ["nan_skipped", "nan_propagates", "nondeterministic_parallel_sum"]


@pytest.mark.parametrize("name", SEARCH_ONLY)
def test_mistakes_left_to_the_search_are_flagged_whatever_the_seed(name):
    (mutant,) = [m for m in MUTANTS if m.name == name]
    seeds = range(3, 9)  # six more seeds than the test above
    problems = [p for seed in seeds if (p := _check_flagged(mutant, seed)) is not None]
    assert not problems, (
        f"{len(problems)} of {len(seeds)} seeds missed it; the first:\n{problems[0]}"
    )
