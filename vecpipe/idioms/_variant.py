"""``auto_idioms``: the unchanged reference, run with its pandas idioms routed to handlers.

The variant calls the reference itself inside :func:`~vecpipe.idioms._intercept.routing`,
so the function's code, its helpers and its inner functions are the user's own; only the
pandas calls it makes are answered differently. It is an ordinary derived variant: the
dispatcher compiles it (a warm-up run on the first rows, so Numba's compilation is not
timed as run time), times it and compares its output with the reference's.

A warm-up in which no pandas call was routed at all (the function's ``map`` or
``replace`` belong to other objects: ``str.replace``, ``Pool.map``) raises
:class:`NotAccelerated`, which the dispatcher records as a failure to compile, so the
variant never costs a full run there. A call in which no idiom could be taken raises
:class:`NotAccelerated` with the reasons, so the dispatcher marks the variant failed for
that kind of input (``explain()`` shows why) and the reference runs. Once the variant
has been faster for a kind of input, a later call of that kind in which an idiom declines
(distinct values too many this time, say) lets pandas answer that idiom, without failing.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from vecpipe.errors import VariantDeclined
from vecpipe.idioms._intercept import routing
from vecpipe.keys import describe_key, make_key
from vecpipe.settings import get_config
from vecpipe.variant import Variant, source_hash

__all__ = ["NAME", "NotAccelerated", "idiom_variant"]

#: The variant's name in explain() and wisdom.
NAME = "auto_idioms"
#: The warm-up run (compilation) uses at most this many first rows of each argument.
WARM_ROWS = 64
#: Kinds of input whose notes are kept per variant (the oldest dropped first).
_KEEP = 64


class NotAccelerated(VariantDeclined):
    """A derived idiom variant could take none of the pandas calls for this input."""


def _rows(value: Any) -> int | None:
    if isinstance(value, pd.DataFrame | pd.Series) or (
        isinstance(value, np.ndarray) and value.ndim >= 1
    ):
        return len(value)
    return None


def _head(value: Any, n: int, m: int) -> Any:
    if isinstance(value, pd.DataFrame | pd.Series) and len(value) == n:
        return value.iloc[:m]
    if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == n:
        return value[:m]
    return value


class IdiomRun:
    """The variant's callable: the reference under routing, with its notes per input kind."""

    def __init__(self, func: Callable[..., Any], idioms: frozenset[str]) -> None:
        self.func = func
        self.idioms = idioms
        self._notes: OrderedDict[str, str] = OrderedDict()
        self._accelerated: set[str] = set()
        self._warmed: dict[str, str | None] = {}
        self._lock = threading.Lock()
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with routing() as session:
            out = self.func(*args, **kwargs)
        key = describe_key(make_key(get_config().tag, args, kwargs))
        notes = session.notes()
        text = "; ".join(notes)
        with self._lock:
            self._notes[key] = text
            self._notes.move_to_end(key)
            while len(self._notes) > _KEEP:
                self._notes.popitem(last=False)
            if session.accelerated:
                self._accelerated.add(key)
            elif key not in self._accelerated:
                found = ", ".join(sorted(self.idioms))
                why = text or (
                    f"none of the pandas calls it makes ({found}) ran on this input, or they "
                    "are calls vecpipe does not take"
                )
                msg = f"no pandas idiom could be run faster: {why}"
                raise NotAccelerated(msg)
        return out

    def warm(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Run on the first rows, so that the handlers compile what this input needs."""
        n = next((r for r in map(_rows, (*args, *kwargs.values())) if r is not None), None)
        if n is None:
            return
        m = min(n, WARM_ROWS)
        head = tuple(_head(a, n, m) for a in args)
        head_kwargs = {k: _head(v, n, m) for k, v in kwargs.items()}
        key = describe_key(make_key(get_config().tag, head, head_kwargs))
        if key not in self._warmed:
            self._warmed[key] = self._warm_up(head, head_kwargs)
        reason = self._warmed[key]
        if reason is not None:
            raise NotAccelerated(reason)

    def _warm_up(self, head: tuple[Any, ...], head_kwargs: dict[str, Any]) -> str | None:
        """Run on the first rows; the reason to give up, if that run routed nothing or
        every call in it declined for a reason that holds for all inputs of the kind."""
        try:
            with routing() as session:
                self.func(*head, **head_kwargs)
        except Exception:  # the first rows need not be a valid input
            return None
        if session.calls == 0:
            # Its 'apply', 'map'... are other objects' methods (str.replace, Pool.map):
            # nothing to route, so no full run is spent finding that out.
            found = ", ".join(sorted(self.idioms))
            return (
                f"no pandas call ran on the first rows (its {found} calls are other objects' "
                "methods, or were not reached)"
            )
        if not session.accelerated and not session.transient:
            # Every call declined for a reason that holds whatever the data (a string
            # function, axis=0, a lambda that cannot be traced): the same on all rows.
            return f"no pandas idiom can be run faster: {'; '.join(session.notes())}"
        return None

    def notes(self, key: str) -> str:
        """The notes of the latest call with this key text ("" if none)."""
        return self._notes.get(key, "")


def idiom_variant(func: Callable[..., Any], idioms: frozenset[str], handlers_hash: str) -> Variant:
    """The ``auto_idioms`` variant of a reference that calls the pandas methods ``idioms``."""
    run = IdiomRun(func, idioms)
    return Variant(
        NAME,
        "numba",
        func,
        run,
        releases_gil=False,
        source_hash=source_hash(func, NAME, handlers_hash),
        derived=True,
        compiler=run.warm,
        notes=run.notes,
    )
