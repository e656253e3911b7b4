"""One hierarchy of exceptions and warnings for vecpipe.

Every error subclasses :class:`VecpipeError`; errors about a bad argument also subclass
the builtin a user would catch (``TypeError`` or ``ValueError``). Every warning
subclasses :class:`VecpipeWarning`, so ``warnings.simplefilter("error", VecpipeWarning)``
turns them all into errors.
"""

from __future__ import annotations

__all__ = [
    "BatchError",
    "EngineFallbackWarning",
    "ExportCallError",
    "ExportError",
    "GILWarning",
    "InvalidArgument",
    "StageCallError",
    "UnknownVariant",
    "VariantDeclined",
    "VariantDisqualifiedWarning",
    "VariantFailedWarning",
    "VariantMismatch",
    "VecpipeError",
    "VecpipeWarning",
    "WisdomError",
    "WisdomWarning",
    "WorkerDiedError",
]


class VecpipeError(Exception):
    """Base class of every error vecpipe raises."""


class InvalidArgument(VecpipeError, TypeError):
    """An argument to a vecpipe function has the wrong type or value."""


class UnknownVariant(VecpipeError, KeyError):
    """A variant name that the stage does not have."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class StageCallError(VecpipeError, TypeError):
    """A stage was called with arguments its reference does not accept."""


class VariantDeclined(VecpipeError, RuntimeError):
    """A derived variant gives way on this input (nothing it derives applies to it): the
    reference answers instead. Not a wrong answer, so verification does not count it."""


class VariantMismatch(VecpipeError, AssertionError):
    """A variant's output differs from the reference's (raised by verification)."""


class BatchError(VecpipeError, RuntimeError):
    """A batch failed: its index, the stage that raised, and the exception as ``__cause__``.

    Results of the batches before it were already delivered.

    Attributes
    ----------
    index : int or None
        The batch's position in the input (0-based).
    stage : str or None
        The stage (or function) that raised; None when the failure was not inside one
        (a batch that could not be sent to a worker, a worker that died).
    """

    def __init__(self, message: str, *, index: int | None = None, stage: str | None = None):
        super().__init__(message)
        self.index = index
        self.stage = stage


class WorkerDiedError(BatchError):
    """A worker process died (killed for memory, ``os._exit``, a crash in compiled code)."""


class WisdomError(VecpipeError, ValueError):
    """A wisdom file cannot be read, written or imported."""


class ExportError(VecpipeError, ValueError):
    """A stage cannot be exported as a C function (``vp.export``): no variant qualifies."""


class ExportCallError(VecpipeError, RuntimeError):
    """An exported function, called from Python, returned a status other than 0.

    Attributes
    ----------
    status : int
        The status the C function returned (1: the kernel raised, 3: bad arguments, 4:
        the result's length is not ``n``).
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class VecpipeWarning(UserWarning):
    """Base class of every warning vecpipe emits."""


class VariantFailedWarning(VecpipeWarning):
    """A variant raised, failed to compile or returned a malformed result; another ran."""


class VariantDisqualifiedWarning(VecpipeWarning):
    """A variant's output differed from the reference's, so it is not used for that input."""


class EngineFallbackWarning(VecpipeWarning):
    """``vp.engine`` could not run a ``map`` or ``apply`` call; pandas' own engine did."""


class GILWarning(VecpipeWarning):
    """A variant holds the GIL (a Numba kernel compiled without ``nogil=True``)."""


class WisdomWarning(VecpipeWarning):
    """The wisdom file was unusable (corrupt, foreign, unwritable) and is being rebuilt."""
