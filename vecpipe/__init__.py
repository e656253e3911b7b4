"""vecpipe: keep your pipeline's Python as the reference; run measured, verified variants.

Each stage keeps its original function unchanged as the *reference*. Faster *variants*
(vectorized NumPy, Numba kernels compiled ``nogil=True``) sit beside it; a dispatcher
measures them on the inputs you really have, runs the fastest per kind of input, checks
their answers against the reference, and remembers its choices across runs.

Examples
--------
>>> import numpy as np
>>> import vecpipe as vp
>>> @vp.stage
... def scale_shift(x):
...     out = np.empty(len(x))
...     for i in range(len(x)):
...         out[i] = x[i] * 2.0 + 1.0
...     return out
>>> @scale_shift.variant("numpy")
... def _(x):
...     return x * 2.0 + 1.0
>>> scale_shift(np.arange(3.0))
array([1., 3., 5.])
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import vecpipe.idioms  # noqa: F401  (registers the auto_idioms variant)
from vecpipe.equality import EqualityPolicy, close, exact
from vecpipe.errors import (
    BatchError,
    EngineFallbackWarning,
    ExportCallError,
    ExportError,
    GILWarning,
    InvalidArgument,
    StageCallError,
    UnknownVariant,
    VariantDisqualifiedWarning,
    VariantFailedWarning,
    VariantMismatch,
    VecpipeError,
    VecpipeWarning,
    WisdomError,
    WisdomWarning,
    WorkerDiedError,
)
from vecpipe.explain import Explanation
from vecpipe.pandas_accessor import DataFrameAccessor, SeriesAccessor
from vecpipe.pandas_engine import Engine, engine
from vecpipe.pipeline import Pipeline, RunReport, StageRun
from vecpipe.settings import MODES, TUNINGS, Settings, config, get_config, set_config
from vecpipe.stage import Stage, stage
from vecpipe.variant import KINDS, Variant
from vecpipe.wisdom import wisdom

if TYPE_CHECKING:
    from vecpipe import dask, spec
    from vecpipe.host.export import export
    from vecpipe.testing.verify import VerificationReport, verify

# Input specs and verification need Hypothesis, vp.dask needs Dask, and vp.export compiles
# C entry points: each is imported on first use, so `import vecpipe` stays light.
_LAZY: dict[str, tuple[str, str | None]] = {
    "dask": ("vecpipe.dask", None),
    "export": ("vecpipe.host", "export"),
    "spec": ("vecpipe.spec", None),
    "verify": ("vecpipe.testing", "verify"),
    "VerificationReport": ("vecpipe.testing", "VerificationReport"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        imported = importlib.import_module(module)
        value = imported if attribute is None else getattr(imported, attribute)
        globals()[name] = value
        return value
    msg = f"module 'vecpipe' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


try:
    __version__ = version("vecpipe")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "KINDS",
    "MODES",
    "TUNINGS",
    "BatchError",
    "DataFrameAccessor",
    "Engine",
    "EngineFallbackWarning",
    "EqualityPolicy",
    "Explanation",
    "ExportCallError",
    "ExportError",
    "GILWarning",
    "InvalidArgument",
    "Pipeline",
    "RunReport",
    "SeriesAccessor",
    "Settings",
    "Stage",
    "StageCallError",
    "StageRun",
    "UnknownVariant",
    "Variant",
    "VariantDisqualifiedWarning",
    "VariantFailedWarning",
    "VariantMismatch",
    "VecpipeError",
    "VecpipeWarning",
    "VerificationReport",
    "WisdomError",
    "WisdomWarning",
    "WorkerDiedError",
    "__version__",
    "close",
    "config",
    "dask",
    "engine",
    "exact",
    "export",
    "get_config",
    "set_config",
    "spec",
    "stage",
    "verify",
    "wisdom",
]
