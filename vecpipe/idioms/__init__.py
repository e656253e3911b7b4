"""pandas idioms inside unchanged stage functions, run faster and checked like any variant.

A stage whose function calls the pandas methods that data scientists reach for first
(``DataFrame.apply(f, axis=1)``, ``Series.map``, ``Series.apply``...) gets one more derived
variant, ``auto_idioms``: the function itself, unchanged, run with those calls answered
by handlers that compute pandas' result faster. The dispatcher times it and compares its
output with the reference's like any other variant, and ``explain()`` says what each idiom
became.

Only vecpipe's own call of that variant is routed (see :mod:`vecpipe.idioms._intercept`):
importing vecpipe changes nothing in pandas, and other threads calling pandas at the same
moment see plain pandas. A handler that cannot take a call declines, and pandas answers it
inside the same run.

The families, one module each:

- :mod:`~vecpipe.idioms.rowwise`: ``DataFrame.apply(func, axis=1)`` compiled over the
  columns ``func`` reads by name.
- :mod:`~vecpipe.idioms.elementwise`: ``Series.map(func)`` and ``Series.apply(func)`` with
  a numeric scalar function, compiled element by element.
- :mod:`~vecpipe.idioms.by_value`: ``Series.map(dict)``, ``Series.replace(...)``, and scalar
  functions on text (or that Numba cannot compile): computed once per distinct value and
  taken back to the rows.
- :mod:`~vecpipe.idioms.row_loops`: ``iterrows()`` without a Series per row, ``itertuples()``
  from column lists.
- :mod:`~vecpipe.idioms.groupwise`: ``groupby(...)[col].transform(f)``, ``.apply(f)`` and
  ``.agg(f)`` with ``f`` built from Series methods and arithmetic: traced once, run for
  all groups at once.
- :mod:`~vecpipe.idioms.chunks`: for ``chunkable`` stages, ``auto_processes``: the function
  run in worker processes over row chunks (for what stays Python), kept where it measures
  faster.

The derived variant calls the user's inner functions (the row function, say) fewer times
than pandas would, and in another order; a function with side effects should be staged
with ``auto=False``.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vecpipe import auto as _auto
from vecpipe.idioms import (
    _intercept,
    by_value,
    chunks,
    elementwise,
    groupwise,
    row_loops,
    rowwise,
)
from vecpipe.idioms._scan import idioms_used, library_function
from vecpipe.idioms._variant import NAME, NotAccelerated, idiom_variant
from vecpipe.variant import Variant

__all__ = ["NAME", "NotAccelerated", "derive"]

PROCESSES = chunks.NAME

_intercept.register(
    *rowwise.TARGETS,
    *elementwise.TARGETS,
    *by_value.TARGETS,
    *row_loops.TARGETS,
    *groupwise.TARGETS,
)


def _handlers_hash() -> str:
    """A hash of this package's code: changing a handler re-measures its variants."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_HASH = _handlers_hash()


def derive(func: Callable[..., Any], chunkable: bool) -> list[Variant]:
    """The ``auto_idioms`` variant of a stage's reference, if it calls pandas idioms.

    Examples
    --------
    >>> from vecpipe.idioms import derive
    >>> def total(df):
    ...     return df.apply(lambda row: row["a"] * row["b"], axis=1)
    >>> [v.name for v in derive(total, False)]
    ['auto_idioms']
    >>> derive(lambda x: x + 1, False)
    []
    """
    if not isinstance(func, types.FunctionType) or library_function(func):
        return []
    used = idioms_used(func)
    if not used:
        return []
    derived = [idiom_variant(func, used, _HASH)]
    if chunkable:
        in_processes = chunks.process_variant(func, _HASH)
        if in_processes is not None:
            derived.append(in_processes)
    return derived


_auto.DERIVERS.append(derive)
