"""How kernels are compiled: one operation's code at a time, one input's path at a time.

Numba compiles a function together with everything it calls, every branch included: a
branch on an argument is typed and compiled even when the argument is a literal
constant. Only a constant of the code itself -- a global or closure variable -- lets
Numba drop the branches it rules out before typing them. So a kernel shared by ten
operations, with the operation an argument, compiles all ten operations' code on every
call (``group_mean``'s first call compiled 72 signatures, 20 of them the shared update
loop, in 18-21 s on the 2-core development VM). Two tools here keep a call to what it
needs:

- :func:`specialize` compiles *templates* -- plain functions written once, with the
  case (an operation) a global constant -- once per case: each case's copy sees its own
  constants and its own copies of the other templates, so a ``group_mean`` call
  compiles the mean's code and nothing of the other operations.
- :func:`add_compiled` registers plain Python around such kernels as a stage's Numba
  variant: the Python chooses the path (ranked keys, a second summation path...) from
  what the first kernel returns, so a path the input does not take is never compiled.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any

import numba

from vecpipe.stage import Stage
from vecpipe.variant import Variant, source_hash

__all__ = ["add_compiled", "specialize"]


def specialize(
    templates: Iterable[Callable[..., Any]],
    suffix: str,
    constants: dict[str, Any],
    *,
    parallel: Iterable[Callable[..., Any]] = (),
    inline: Iterable[Callable[..., Any]] = (),
) -> dict[str, Any]:
    """Copies of ``templates`` for one case, each compiled ``njit(nogil=True, cache=True)``.

    In the copies, the global names in ``constants`` take those values (constants of the
    compiled code, so Numba drops the branches they rule out), and each template's name
    refers to that case's copy of it: a template that calls ``_update`` calls this
    case's ``_update``. Each copy is named ``<template>_<suffix>``, which names its disk
    cache files apart from the other cases'. The templates in ``parallel`` are compiled
    with ``parallel=True``; those in ``inline`` are inlined into their callers
    (``inline="always"``: Numba IR, no function of their own to compile, link and emit).
    Specialize after the module's helpers are defined: the copies
    see its globals as they are at this call.

    Returns the copies by template name (Numba dispatchers; nothing is compiled before a
    call).
    """
    templates = list(templates)
    in_parallel = {id(t) for t in parallel}
    inlined = {id(t) for t in inline}
    namespace = dict(templates[0].__globals__)
    namespace.update(constants)
    copies: dict[str, Any] = {}
    for template in templates:
        name = f"{template.__name__}_{suffix}"
        copy = types.FunctionType(
            template.__code__, namespace, name, template.__defaults__, template.__closure__
        )
        copy.__qualname__ = name
        copy.__module__ = template.__module__
        copy.__doc__ = template.__doc__
        options: dict[str, Any] = {"nogil": True, "cache": True}
        if id(template) in in_parallel:
            options["parallel"] = True
        if id(template) in inlined:
            options["inline"] = "always"
        copies[template.__name__] = namespace[template.__name__] = numba.njit(**options)(copy)
    return copies


def add_compiled(
    stage: Stage, function: Callable[..., Any], *, entry: Any, parallel: bool = False
) -> None:
    """Register ``function`` as ``stage``'s ``numba`` (or ``numba_parallel``) variant.

    ``function`` is plain Python around separately compiled kernels: it runs ``entry`` (a
    Numba kernel taking the variant's own arguments) and, when its result says the input
    needs another path, that path's kernel. The dispatcher compiles the variant by
    running it once (the kernels never write into their inputs), which compiles exactly
    the kernels that input needs; ``entry`` tells whether the variant is ready without
    running it (compiled, or in Numba's disk cache). The kernels release the GIL; the
    Python around them holds it for a microsecond.
    """
    name = "numba_parallel" if parallel else "numba"
    variant = Variant(
        name,
        "numba",
        function,
        function,
        parallel=parallel,
        releases_gil=True,
        source_hash=source_hash(function, "numba", function.__qualname__, source_hash(entry)),
        options={"nogil": True, **({"parallel": True} if parallel else {})},
        compiler=lambda args, kwargs: function(*args, **kwargs),
        entry=entry,
    )
    stage._variants[name] = variant
    stage._dispatcher.reset()
