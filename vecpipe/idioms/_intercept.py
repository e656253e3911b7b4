"""Routing pandas methods to idiom handlers, only inside vecpipe's own call of a variant.

While a derived idiom variant runs (:func:`routing`), the pandas methods of the registered
:class:`Target` s are replaced on their classes by a router. The router asks a context
variable whether the current thread (or asyncio task) is inside such a call: if not, it
calls the original method at once, so every other thread sees plain pandas; if so, it
hands the call to the target's handler, which either computes pandas' answer faster or
declines (:class:`Decline`), and then the original method runs. The routers are
installed when the first routed call starts and the original attributes put back, the
very objects, when the last one ends (a count under a lock), so outside vecpipe's calls
pandas' classes are exactly as pandas made them.

Inside a handler, and inside an original method run on a handler's behalf, the router
calls the original directly: pandas' own internal calls and the user's functions that
pandas calls per row are not routed again.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from vecpipe.variant import _first_lines

__all__ = ["Decline", "Session", "Target", "register", "routing", "targets"]

Handler = Callable[["Session", Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class Decline(Exception):
    """A handler cannot take this call; the message says why (shown by explain()).

    ``lasting``: the reason holds for every input of this kind (an argument, a function
    that cannot be compiled, a dtype), not only for this one's data (too many distinct
    values, an empty frame, a value Python would reject).
    """

    def __init__(self, message: str, *, lasting: bool = True) -> None:
        super().__init__(message)
        self.lasting = lasting


@dataclasses.dataclass(frozen=True)
class Target:
    """A pandas method that idiom handlers may answer: ``owner.name(...)``."""

    owner: type
    name: str
    handler: Handler
    #: How explain() names the idiom when the handler declines before naming it.
    label: str


class Session:
    """What happened to the idioms of one routed call: notes for explain()."""

    __slots__ = ("_notes", "accelerated", "busy", "calls", "declined", "transient")

    def __init__(self) -> None:
        #: True while a handler, or an original method on its behalf, runs.
        self.busy = False
        #: How many pandas calls were routed to a handler, and how many it declined.
        self.calls = 0
        self.declined = 0
        #: How many declines were for this input's data only (see Decline.lasting).
        self.transient = 0
        #: Whether any idiom was answered by a handler in this call.
        self.accelerated = False
        self._notes: dict[str, int] = {}

    def note(self, text: str, *, accelerated: bool, lasting: bool = True) -> None:
        """Record what an idiom became (``"Series.map(dict) -> 7 distinct values of 20"``)."""
        self._notes[text] = self._notes.get(text, 0) + 1
        if accelerated:
            self.accelerated = True
        else:
            self.declined += 1
            self.transient += not lasting

    def notes(self) -> list[str]:
        """Each distinct note once, with how many calls it covers when more than one."""
        return [text if n == 1 else f"{text} (x{n})" for text, n in self._notes.items()]


_SESSION: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "vecpipe_idiom_session", default=None
)
_TARGETS: list[Target] = []
_LOCK = threading.Lock()
_USERS = 0
_MISSING = object()
#: Per (owner, name): the attribute found in the owner's own __dict__ (or _MISSING, when
#: the method is inherited), put back when the last routed call ends.
_SAVED: dict[tuple[type, str], Any] = {}


def register(*targets: Target) -> None:
    """Add targets (each idiom family registers its own when imported)."""
    with _LOCK:
        if _USERS:
            msg = "idiom targets cannot be registered while a routed call runs"
            raise RuntimeError(msg)
        _TARGETS.extend(targets)


def targets() -> tuple[Target, ...]:
    """The registered targets."""
    return tuple(_TARGETS)


def _router(target: Target, original: Callable[..., Any]) -> Callable[..., Any]:
    handler = target.handler

    @functools.wraps(original)
    def routed(self: Any, *args: Any, **kwargs: Any) -> Any:
        session = _SESSION.get()
        if session is None or session.busy:
            return original(self, *args, **kwargs)
        session.busy = True
        session.calls += 1
        try:
            try:
                return handler(session, original, self, args, kwargs)
            except Decline as exc:
                session.note(
                    f"{target.label} -> pandas: {exc}", accelerated=False, lasting=exc.lasting
                )
            except Exception as exc:  # a handler's failure is never the user's: pandas answers
                session.note(
                    f"{target.label} -> pandas: {_first_lines(exc, 1)}",
                    accelerated=False,
                    lasting=False,
                )
            return original(self, *args, **kwargs)
        finally:
            session.busy = False

    routed.__vecpipe_original__ = original  # type: ignore[attr-defined]
    return routed


def _install() -> None:
    for target in _TARGETS:
        owner, name = target.owner, target.name
        _SAVED[(owner, name)] = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, _router(target, getattr(owner, name)))


def _restore() -> None:
    for (owner, name), saved in _SAVED.items():
        if saved is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, saved)
    _SAVED.clear()


@contextlib.contextmanager
def routing() -> Iterator[Session]:
    """Route the registered pandas methods to their handlers in this thread or task.

    Examples
    --------
    >>> import pandas as pd
    >>> from vecpipe.idioms._intercept import routing
    >>> before = pd.DataFrame.apply
    >>> with routing() as session:
    ...     routed = pd.DataFrame.apply is not before
    >>> routed, pd.DataFrame.apply is before
    (True, True)
    """
    global _USERS
    session = Session()
    with _LOCK:
        if _USERS == 0:
            _install()
        _USERS += 1
    token = _SESSION.set(session)
    try:
        yield session
    finally:
        _SESSION.reset(token)
        with _LOCK:
            _USERS -= 1
            if _USERS == 0:
                _restore()
