"""Small stages, pipelines and plain functions for tests/test_cli.py.

The command line finds them as ``cli_stages:NAME`` (pytest puts ``tests/`` on
``sys.path``) or as ``tests/cli_stages.py:NAME``. Most stages have ``auto=False`` and
NumPy variants only, so the tests spend no time compiling.
"""

from __future__ import annotations

import numpy as np

import vecpipe as vp

SMALL = vp.spec.array("float64", max_size=50)


@vp.stage(inputs=SMALL, auto=False)
def double(x):
    """Twice each value, in a Python loop."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = 2.0 * x[i]
    return out


@double.variant("numpy")
def _(x):
    return 2.0 * x


@vp.stage(inputs=SMALL, auto=False)
def shift(x):
    """One more than each value."""
    return np.array([v + 1.0 for v in x])


@shift.variant("numpy")
def _(x):
    return x + 1.0


#: double, then shift.
pipe = double >> shift


@vp.stage(inputs=vp.spec.Spec(SMALL, SMALL, SMALL, SMALL), auto=False)
def dot4(a, b, c, d):
    """a * b + c * d for each row: four arguments, so a long dispatch key."""
    return np.array([w * x + y * z for w, x, y, z in zip(a, b, c, d, strict=True)])


@dot4.variant("numpy")
def _(a, b, c, d):
    return a * b + c * d


@vp.stage(inputs=vp.spec.array("float64", max_size=50, allow_nan=False), auto=False)
def clip_negative(x):
    """Negative values become zero."""
    return np.array([v if v > 0.0 else 0.0 for v in x])


@clip_negative.variant("numpy")
def _(x):
    # Wrong below -1: the kind of bug verification exists to find.
    return np.where(x > 0.0, x, np.where(x < -1.0, x, 0.0))


@vp.stage(inputs=SMALL, auto=False)
def halve(x):
    """Half of each value."""
    return np.array([v / 2.0 for v in x])


@halve.variant("numpy")
def _(x):
    return x / 2.0 + 1e-3  # wrong on every input


@vp.stage(inputs=vp.spec.array("float64", max_size=50), auto=False)
def squared(x):
    """Each value squared, with a Numba variant (compiled once, cached on disk)."""
    return np.array([v * v for v in x])


@squared.variant("numba")
def _(x):
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i]
    return out


@vp.stage(auto=False)
def no_spec(x):
    """No input spec and no annotations: bench, tune and explain cannot size it."""
    return x


@no_spec.variant("numpy")
def _(x):
    return x


@vp.stage(inputs=vp.spec.array("float64", min_size=100, max_size=200), auto=False)
def needs_rows(x):
    """Takes at least 100 rows."""
    return x[::-1].copy()


@needs_rows.variant("numpy")
def _(x):
    return np.flip(x).copy()


NOT_A_STAGE = 42


def plain(x):
    """An ordinary function: not a stage."""
    return x


# -- an ordinary pipeline, for `vecpipe profile` ------------------------------------------------


def _celsius(f):
    return (f - 32.0) * 5.0 / 9.0


def smooth(x):
    """A Python loop over the data: the hot spot."""
    out = np.empty(len(x))
    level = x[0]
    for i in range(len(x)):
        level = 0.9 * level + 0.1 * x[i]
        out[i] = level
    return out


def to_celsius(values):
    """Calls a scalar function once per element."""
    return np.array([_celsius(v) for v in values])


def summary(x):
    """Vectorized already: little time of its own."""
    return float(np.mean(x)), float(np.std(x))


def ordinary_pipeline(rows=20_000):
    """A plain-Python pipeline that does not use vecpipe."""
    x = np.linspace(0.0, 100.0, rows)
    return summary(smooth(to_celsius(x)))


def raises():
    """A pipeline function that fails."""
    msg = "no data for 1970"
    raise ValueError(msg)
