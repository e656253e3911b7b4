"""Settings: the dispatch mode, the thread budget and how eagerly a new kind of input is
tuned (``vp.config``, ``vp.set_config``).

Settings live in an immutable :class:`Settings` object. :func:`set_config` changes the
process-wide defaults; ``with config(...)`` changes them for the code inside the block
(in this thread or asyncio task only, as :mod:`contextvars` do). The environment
variables ``VECPIPE_MODE``, ``VECPIPE_THREADS`` and ``VECPIPE_TUNING`` set the initial
defaults.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
from collections.abc import Iterator
from typing import Any, Literal, cast

import numba

from vecpipe.errors import InvalidArgument

__all__ = ["MODES", "TUNINGS", "Settings", "config", "get_config", "set_config"]

Mode = Literal["measure", "estimate", "reference"]
Tuning = Literal["tiered", "full"]

#: Numba's thread pool size (NUMBA_NUM_THREADS): the largest thread budget.
_POOL_SIZE: int = int(getattr(numba.config, "NUMBA_NUM_THREADS"))  # noqa: B009

#: The dispatch modes: ``measure`` times the variants on a new kind of input and runs
#: the fastest; ``estimate`` never times (stored wisdom, else a size heuristic);
#: ``reference`` always runs the original function.
MODES: tuple[str, ...] = ("measure", "estimate", "reference")

#: How the ``measure`` mode tunes a new kind of input: ``tiered`` compiles only the
#: variant a size rule prefers on the first call (variants that need no compiling are
#: timed too) and tunes fully once the calls of that kind have run long enough to pay
#: for compiling the others, or at once for large inputs; ``full`` compiles and times
#: every variant on the first call (what ``vecpipe tune`` does).
TUNINGS: tuple[str, ...] = ("tiered", "full")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The settings in force.

    Parameters
    ----------
    mode : {"measure", "estimate", "reference"}
        How stages choose what runs; see :data:`MODES`.
    threads : int
        The thread budget: how many threads a ``parallel=True`` Numba kernel may use.
        It is part of every dispatch key, since the fastest variant depends on it.
    require_verified : bool
        Run only variants that :func:`vecpipe.verify` passed for their current source
        (the others are skipped, with the reason in ``explain()``).
    tuning : {"tiered", "full"}
        How a new kind of input is tuned in ``measure`` mode; see :data:`TUNINGS`. Not
        part of the keys: it applies to kinds of input not decided yet, and ``full``
        makes a tiered decision tune fully on its next call.

    Examples
    --------
    >>> import vecpipe as vp
    >>> vp.get_config().mode in vp.MODES
    True
    """

    mode: Mode = "measure"
    threads: int = 1
    require_verified: bool = False
    tuning: Tuning = "tiered"
    #: The part of the settings that changes which variant is best; keys include it.
    tag: int = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = (
                f"config: mode={self.mode!r} is not a dispatch mode; "
                f"pass one of {', '.join(repr(m) for m in MODES)}"
            )
            raise InvalidArgument(msg)
        if isinstance(self.threads, bool) or not isinstance(self.threads, int):
            msg = f"config: threads={self.threads!r} must be a positive int"
            raise InvalidArgument(msg)
        if not 1 <= self.threads <= _POOL_SIZE:
            msg = (
                f"config: threads={self.threads!r} is outside 1..{_POOL_SIZE} "
                "(Numba's thread pool size; set NUMBA_NUM_THREADS before import to change it)"
            )
            raise InvalidArgument(msg)
        if not isinstance(self.require_verified, bool):
            msg = f"config: require_verified={self.require_verified!r} must be True or False"
            raise InvalidArgument(msg)
        if self.tuning not in TUNINGS:
            msg = (
                f"config: tuning={self.tuning!r} is not a way of tuning; "
                f"pass one of {', '.join(repr(t) for t in TUNINGS)}"
            )
            raise InvalidArgument(msg)
        # One int for what changes the best variant: 4 * threads + 2 * require_verified +
        # estimate. Reference mode's tag is never in a route table, so its calls take the
        # slow path, which runs the reference: the fast path needs no test of the mode.
        tag = (
            -1
            if self.mode == "reference"
            else 4 * self.threads + 2 * self.require_verified + (self.mode == "estimate")
        )
        object.__setattr__(self, "tag", tag)


class _InvalidEnvironment:
    """Stands for the settings while VECPIPE_MODE or VECPIPE_THREADS is invalid.

    ``import vecpipe`` succeeds (so the ``vecpipe`` command can report the error in one
    line); any use of the settings raises the error: reading them (``get_config``,
    ``config``, ``set_config``) or calling a stage, whose hot path sees a tag that no
    route table holds and takes the slow path, which reads the mode.
    """

    tag = -1

    def __init__(self, message: str) -> None:
        self.message = message

    def __getattr__(self, name: str) -> Any:
        raise InvalidArgument(self.message)


def _from_environment() -> Settings:
    mode = os.environ.get("VECPIPE_MODE", "measure").strip().lower() or "measure"
    threads_text = os.environ.get("VECPIPE_THREADS", "").strip()
    if mode not in MODES:
        modes = ", ".join(repr(m) for m in MODES)
        msg = (
            f"environment: VECPIPE_MODE={os.environ['VECPIPE_MODE']!r} is not a dispatch "
            f"mode; set it to one of {modes}, or unset it"
        )
        return cast(Settings, _InvalidEnvironment(msg))
    tuning = os.environ.get("VECPIPE_TUNING", "tiered").strip().lower() or "tiered"
    if tuning not in TUNINGS:
        msg = (
            f"environment: VECPIPE_TUNING={os.environ['VECPIPE_TUNING']!r} is not a way of "
            f"tuning; set it to one of {', '.join(repr(t) for t in TUNINGS)}, or unset it"
        )
        return cast(Settings, _InvalidEnvironment(msg))
    try:
        threads = int(threads_text) if threads_text else _POOL_SIZE
        return Settings(mode=mode, threads=threads, tuning=tuning)  # type: ignore[arg-type]
    except (ValueError, InvalidArgument):
        msg = (
            f"environment: VECPIPE_THREADS={threads_text!r} must be a whole number of "
            f"threads from 1 to {_POOL_SIZE} (Numba's pool), or unset"
        )
        return cast(Settings, _InvalidEnvironment(msg))


def environment_error() -> str | None:
    """Why VECPIPE_MODE / VECPIPE_THREADS / VECPIPE_TUNING are invalid, or None when they
    are fine.

    Examples
    --------
    >>> from vecpipe.settings import environment_error
    >>> environment_error() is None
    True
    """
    settings = _GLOBAL[0]
    return settings.message if isinstance(settings, _InvalidEnvironment) else None


_GLOBAL: list[Settings] = [_from_environment()]
_LOCAL: contextvars.ContextVar[Settings | None] = contextvars.ContextVar(
    "vecpipe_settings", default=None
)


def get_config() -> Settings:
    """Return the settings in force here.

    Returns
    -------
    Settings
        The innermost ``with config(...)`` block's settings, else the global ones.

    Examples
    --------
    >>> import vecpipe as vp
    >>> with vp.config(mode="reference"):
    ...     vp.get_config().mode
    'reference'
    """
    return _LOCAL.get() or _GLOBAL[0]


def _apply_threads(threads: int) -> None:
    # Numba's thread count is per launching thread, like the context variable.
    if numba.get_num_threads() != threads:
        numba.set_num_threads(threads)


def set_config(
    *,
    mode: Mode | None = None,
    threads: int | None = None,
    require_verified: bool | None = None,
    tuning: Tuning | None = None,
) -> Settings:
    """Change the process-wide settings.

    Parameters
    ----------
    mode : {"measure", "estimate", "reference"}, optional
        The dispatch mode; unchanged when omitted.
    threads : int, optional
        The thread budget for parallel kernels; unchanged when omitted.
    require_verified : bool, optional
        Run only verified variants; unchanged when omitted.
    tuning : {"tiered", "full"}, optional
        How new kinds of input are tuned; unchanged when omitted.

    Returns
    -------
    Settings
        The previous global settings (pass their fields back to restore them).

    Examples
    --------
    >>> import vecpipe as vp
    >>> previous = vp.set_config(mode="estimate")
    >>> vp.get_config().mode
    'estimate'
    >>> _ = vp.set_config(mode=previous.mode)
    """
    previous = _GLOBAL[0]
    _GLOBAL[0] = _changed(previous, _given(mode, threads, require_verified, tuning))
    _apply_threads(_GLOBAL[0].threads)
    return previous


def config(
    *,
    mode: Mode | None = None,
    threads: int | None = None,
    require_verified: bool | None = None,
    tuning: Tuning | None = None,
) -> contextlib.AbstractContextManager[Settings]:
    """Change the settings inside a ``with`` block.

    Parameters
    ----------
    mode : {"measure", "estimate", "reference"}, optional
        The dispatch mode inside the block.
    threads : int, optional
        The thread budget for parallel kernels inside the block.
    require_verified : bool, optional
        Inside the block, run only variants verified for their current source.
    tuning : {"tiered", "full"}, optional
        Inside the block, how new kinds of input are tuned (``"full"``: every variant
        compiled and timed on the first call).

    Returns
    -------
    context manager
        Entering it applies the settings (for this thread or task) and gives the
        :class:`Settings` in force; leaving it restores the previous ones.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def double(x):
    ...     return x * 2
    >>> with vp.config(mode="reference"):
    ...     double(np.arange(3))
    array([0, 2, 4])
    """
    changes = _given(mode, threads, require_verified, tuning)
    _changed(get_config(), changes)  # bad values raise here, not at `with`
    return _block(changes)


def _given(
    mode: Mode | None,
    threads: int | None,
    require_verified: bool | None,
    tuning: Tuning | None = None,
) -> dict[str, Any]:
    """The settings a call names (None: left as they are)."""
    named = {
        "mode": mode,
        "threads": threads,
        "require_verified": require_verified,
        "tuning": tuning,
    }
    return {name: value for name, value in named.items() if value is not None}


def _changed(settings: Settings, changes: dict[str, Any]) -> Settings:
    if isinstance(settings, _InvalidEnvironment):
        raise InvalidArgument(settings.message)
    return dataclasses.replace(settings, **changes)


@contextlib.contextmanager
def _block(changes: dict[str, Any]) -> Iterator[Settings]:
    outer = get_config()
    inner = _changed(outer, changes)
    token = _LOCAL.set(inner)
    _apply_threads(inner.threads)
    try:
        yield inner
    finally:
        _LOCAL.reset(token)
        _apply_threads(outer.threads)
