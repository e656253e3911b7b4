"""Functions and stages for tests/test_export.py.

They live in a module (not in the test file's functions) so that Numba can cache their
compiled code on disk, and so that ``vecpipe export tests/host_stages.py:NAME`` finds them.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

import vecpipe as vp


def scale(x, k):
    """Every element times k, in a loop (auto_numba compiles it as it is)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = x[i] * k
    return out


def fee(price, prev_price, volume, fee_bps):
    """A scalar function: the log return less a fee (raises when prev_price is 0)."""
    gross = math.log(price / prev_price)
    cost = fee_bps * 1e-4 * (1.0 + math.sqrt(volume) / 100.0)
    return gross - cost if gross > 0.0 else gross + cost


def pick(a, b):
    """The larger of two values, of the type they have (any of the five element types)."""
    return a if a > b else b


def running_total(x):
    """The cumulative sum, of x's own dtype."""
    out = np.empty_like(x)
    total = 0
    for i in range(len(x)):
        total += x[i]
        out[i] = total
    return out


def above(x, threshold):
    """The values above a threshold: a result of its own length."""
    return x[x > threshold]


def total(x, negate):
    """A scalar result: the sum, or its negation."""
    s = 0.0
    for v in x:
        s += v
    return -s if negate else s


def rolling_mean(x):
    """pandas inside: Numba cannot compile it."""
    return pd.Series(x).rolling(3).mean().to_numpy()


def divide(x, d):
    """Raises ZeroDivisionError when d is 0 (in Python and, error_model='python', in Numba)."""
    out = np.empty(len(x))
    for i in range(len(x)):
        out[i] = x[i] / d
    return out


scale_stage = vp.stage(scale)
fee_stage = vp.stage(fee, elementwise=True)


def double(x):
    """Twice every element."""
    return x * 2.0


#: A stage whose dispatcher prefers NumPy (a slow Numba variant beside a fast NumPy one).
double_stage = vp.stage(double, auto=False)


@double_stage.variant("numpy")
def _double_numpy(x):
    return x * 2.0


@double_stage.variant("numba")
def _double_slow(x):
    out = np.empty(len(x))
    for _ in range(300):  # the same answer, 300 times over: far slower than NumPy
        for i in range(len(x)):
            out[i] = x[i] * 2.0
    return out


#: Variants that must not be exported, each for its own reason (named in the tests, so the
#: dispatcher never runs them).
misfits = vp.stage(double, name="misfits", auto=False)


@misfits.variant("numba", name="wrong")
def _double_wrong(x):
    return x * 3.0


@misfits.variant("numba", name="in_place")
def _double_in_place(x):
    out = x * 2.0
    x[0] = 0.0  # writes into its input
    return out


@misfits.variant("numba", name="chatty")
def _double_chatty(x):
    print("doubling")  # print() in a kernel takes the GIL
    return x * 2.0


@misfits.variant("numba", name="parallel", parallel=True)
def _double_parallel(x):
    out = np.empty(len(x))
    for i in numba.prange(len(x)):
        out[i] = x[i] * 2.0
    return out


#: A stage with NumPy only: nothing compiles to native code.
numpy_only = vp.stage(double, name="numpy_only", auto=False)
numpy_only.variant("numpy", _double_numpy)
