"""Testing vecpipe stages: input specs, verification, and pytest helpers.

- :mod:`vecpipe.spec` (also ``vp.spec``, re-exported here as ``spec``): how inputs are
  generated for a stage;
- :func:`verify` (also ``vp.verify``): Hypothesis checks every variant against the
  reference;
- :func:`parametrize_with_checks`: one pytest test per (stage, variant).

This package imports Hypothesis; ``import vecpipe`` alone does not.
"""

from __future__ import annotations

from vecpipe.testing import spec
from vecpipe.testing.checks import Check, parametrize_with_checks
from vecpipe.testing.verify import Counterexample, VariantResult, VerificationReport, verify

__all__ = [
    "Check",
    "Counterexample",
    "VariantResult",
    "VerificationReport",
    "parametrize_with_checks",
    "spec",
    "verify",
]
