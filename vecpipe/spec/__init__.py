"""Input specs: how verification generates the arguments of a stage (also ``vp.spec``).

A stage's reference and its variants are checked against each other on generated inputs.
This package describes those inputs:

* an **argument spec** (:class:`ArgSpec`, made by :func:`array`, :func:`series`,
  :func:`frame`, :func:`integers`, :func:`floats`, :func:`booleans`,
  :func:`sampled_from`, :func:`just` and :func:`window`) describes one positional
  argument: a Hypothesis strategy for its values and the *edge cases* (empty arrays, NaN,
  infinities, subnormals, extreme integers, non-contiguous and read-only arrays...) that
  are always tried rather than left to chance;
* a **call spec** (:class:`Spec`) describes all positional arguments of a call and ties
  the lengths of arrays, Series and frames together (``same_length=True``);
* :func:`as_spec` turns what a user passes as ``inputs=`` into a :class:`Spec`, and
  :func:`infer` builds one from the reference's type annotations.

The modules, bottom-up: ``_options`` (checks of the functions' options, and how a spec
shows them), ``_values`` (values of one dtype, the drawing helpers), ``_argspec`` (the
argument-spec protocol), ``_arrays`` and ``_scalars`` (the argument specs), ``_call``
(:class:`Spec`, :func:`as_spec`), ``_infer`` (specs from annotations). It needs
Hypothesis, so ``import vecpipe`` alone does not import it; ``vp.spec`` does on first use.
(:mod:`vecpipe.testing.spec`, its former place, re-exports it.)

Examples
--------
>>> from vecpipe import spec
>>> s = spec.Spec(spec.array("float64"), spec.window())
>>> [label for label, args in s.edge_cases()][:4]
['empty', 'length-1', 'arg0:all-nan', 'arg0:some-nan']
>>> all(len(args) == 2 for label, args in s.edge_cases())
True
"""

from __future__ import annotations

from vecpipe.spec._argspec import ArgSpec, EdgeCase
from vecpipe.spec._arrays import array, frame, series
from vecpipe.spec._call import Spec, as_spec
from vecpipe.spec._infer import infer
from vecpipe.spec._scalars import booleans, floats, integers, just, sampled_from, window
from vecpipe.spec._values import EDGE_LENGTH

__all__ = [
    "EDGE_LENGTH",
    "ArgSpec",
    "EdgeCase",
    "Spec",
    "array",
    "as_spec",
    "booleans",
    "floats",
    "frame",
    "infer",
    "integers",
    "just",
    "sampled_from",
    "series",
    "window",
]
