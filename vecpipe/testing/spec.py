"""Input specs moved to :mod:`vecpipe.spec` (also ``vp.spec``); this path re-exports them.

``from vecpipe.testing import spec`` and ``import vecpipe.testing.spec`` keep working for
a release; new code imports :mod:`vecpipe.spec`. The names the module used to hold
privately are looked up in :mod:`vecpipe.spec`'s modules on first use.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from vecpipe.spec import (
    EDGE_LENGTH,
    ArgSpec,
    EdgeCase,
    Spec,
    _argspec,
    _arrays,
    _call,
    _infer,
    _options,
    _scalars,
    _values,
    array,
    as_spec,
    booleans,
    floats,
    frame,
    infer,
    integers,
    just,
    sampled_from,
    series,
    window,
)

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

_MODULES: tuple[ModuleType, ...] = (_options, _values, _argspec, _arrays, _scalars, _call, _infer)


def __getattr__(name: str) -> Any:
    for module in _MODULES:
        if name in vars(module):
            return vars(module)[name]
    msg = f"module 'vecpipe.testing.spec' has no attribute {name!r}"
    raise AttributeError(msg)
