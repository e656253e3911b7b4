"""Stages: a reference function, the variants beside it, and the call that dispatches."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from vecpipe._batched import Batched
from vecpipe.auto import derived_variants, elementwise_loop
from vecpipe.dispatch import Dispatcher, check_arguments
from vecpipe.equality import EqualityPolicy, as_policy
from vecpipe.errors import InvalidArgument, UnknownVariant
from vecpipe.explain import Explanation
from vecpipe.keys import make_key
from vecpipe.settings import _GLOBAL, _LOCAL
from vecpipe.variant import Variant

if TYPE_CHECKING:
    from vecpipe.pipeline import Pipeline

__all__ = ["Stage", "stage"]

F = Callable[..., Any]
_ndarray = np.ndarray
#: The route table of a pinned stage: always empty, so every call takes the slow path.
_NO_ROUTES: dict[Any, Any] = {}


class Stage(Batched):
    """A pipeline step: the original function (the reference) and faster variants of it.

    Call it exactly as you would call the reference. On the first call with a new kind of
    input (see :mod:`vecpipe.keys`) the dispatcher compiles and times the variants,
    compares their outputs with the reference's, and remembers the fastest; later calls
    with that kind of input cost a dictionary lookup.

    Create stages with :func:`stage`; add variants with :meth:`variant`.

    Attributes
    ----------
    reference : callable
        The original function object, unchanged.
    name : str
        The stage's name in tables and messages.
    chunkable : bool
        Whether a slice of rows is a valid input (elementwise or row-wise stages); large
        inputs are then timed on slices.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage
    ... def scale(x):
    ...     return np.array([v * 2.0 for v in x])
    >>> @scale.variant("numpy")
    ... def _(x):
    ...     return x * 2.0
    >>> scale(np.arange(4.0))
    array([0., 2., 4., 6.])
    >>> sorted(scale.variants)  # auto_numba: the reference compiled by Numba, as it is
    ['auto_numba', 'numpy']
    """

    def __init__(
        self,
        func: F,
        *,
        name: str | None = None,
        chunkable: bool = False,
        inputs: Any = None,
        equal: Any = None,
        equivalent_errors: Iterable[Iterable[type[BaseException]]] = (),
        elementwise: bool = False,
        auto: bool = True,
    ) -> None:
        if isinstance(func, Stage):
            msg = f"stage {func.name!r} is already a stage; use it as it is"
            raise InvalidArgument(msg)
        if not callable(func):
            msg = f"vp.stage: expected a function, got {func!r} of type {type(func).__name__}"
            raise InvalidArgument(msg)
        if name is not None and (not isinstance(name, str) or not name):
            msg = f"vp.stage: name={name!r} must be a non-empty string"
            raise InvalidArgument(msg)
        for option, value in (
            ("chunkable", chunkable),
            ("elementwise", elementwise),
            ("auto", auto),
        ):
            if not isinstance(value, bool):
                msg = f"vp.stage: {option}={value!r} must be True or False"
                raise InvalidArgument(msg)
        self.reference = func
        self.name: str = name or str(getattr(func, "__name__", type(func).__name__))
        #: Whether the reference is a scalar function applied to every element.
        self.elementwise = elementwise
        # An elementwise stage's rows are independent: a slice is a valid input.
        self.chunkable = chunkable or elementwise
        module = getattr(func, "__module__", None) or "__main__"
        qualname = getattr(func, "__qualname__", self.name)
        #: Identifies the stage in wisdom across processes.
        self.id = f"{module}:{qualname}" + (f"[{name}]" if name else "")
        self._module, self._qualname = module, qualname
        functools.update_wrapper(self, func)  # __doc__, __name__, __wrapped__ for inspect
        self._reference = Variant.reference(func)
        if elementwise:
            self._reference = dataclasses.replace(self._reference, run=elementwise_loop(func))
        self._variants: dict[str, Variant] = {}
        if auto:
            derived = derived_variants(func, elementwise=elementwise, chunkable=self.chunkable)
            self._variants.update({v.name: v for v in derived})
        self._pinned: str | None = None
        try:
            self._signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            self._signature = None
        #: How vp.verify generates arguments: a vp.spec object or a Hypothesis strategy of
        #: argument tuples (None: inferred from the annotations when verifying).
        self.inputs = inputs
        #: How a variant's output is compared with the reference's.
        self.equal: EqualityPolicy = as_policy(equal, self.name)
        self.equivalent_errors = _error_groups(equivalent_errors, self.name)
        self._dispatcher = Dispatcher(self)
        self._routes = self._dispatcher.routes

    # -- calling --------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The hot path: every attribute access costs tens of nanoseconds here, so the
        # common single-array key is built inline (it must equal keys.make_key's; a test
        # checks that) and reference mode and pins are handled by missing the table.
        tag = (_LOCAL.get() or _GLOBAL[0]).tag
        if len(args) == 1 and not kwargs and type(args[0]) is _ndarray:
            a = args[0]
            flags = a.flags
            layout = "C" if flags.c_contiguous else ("F" if flags.f_contiguous else "S")
            key = (tag, a.dtype, a.ndim, layout, (a.size.bit_length() + 1) >> 1)
        else:
            key = make_key(tag, args, kwargs)
        route = self._routes.get(key)
        if route is None:
            return self._dispatcher.call(args, kwargs, _LOCAL.get() or _GLOBAL[0])
        check = route.check
        if check is None:
            return route.fn(*args, **kwargs)
        try:
            out = route.fn(*args, **kwargs)
        except Exception as exc:
            return self._dispatcher.recover(route, args, kwargs, exc, None)
        if check(out, args):
            return out
        return self._dispatcher.recover(route, args, kwargs, None, out)

    def _check_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        check_arguments(self, args, kwargs)

    def choice(self, *args: Any, **kwargs: Any) -> str | None:
        """Return the variant that runs for these arguments now, or None if not yet decided.

        Examples
        --------
        >>> import numpy as np
        >>> import vecpipe as vp
        >>> @vp.stage(auto=False)
        ... def inc(x):
        ...     return x + 1
        >>> inc.choice(np.zeros(3)) is None
        True
        >>> _ = inc(np.zeros(3))
        >>> inc.choice(np.zeros(3))
        'reference'
        """
        settings = _LOCAL.get() or _GLOBAL[0]
        if settings.mode == "reference":
            return "reference"
        if self._pinned is not None:
            return self._pinned
        route = self._dispatcher.routes.get(make_key(settings.tag, args, kwargs))
        return None if route is None else route.name

    # -- variants ---------------------------------------------------------------------------

    @property
    def variants(self) -> Mapping[str, Variant]:
        """The variants by name (a read-only mapping; the reference is not among them)."""
        return types.MappingProxyType(self._variants)

    def _all_variants(self) -> list[Variant]:
        return [self._reference, *self._variants.values()]

    def _variant(self, name: str) -> Variant:
        return self._reference if name == "reference" else self._variants[name]

    @overload
    def variant(
        self,
        kind: str,
        func: None = None,
        *,
        name: str | None = ...,
        parallel: bool = ...,
        **options: Any,
    ) -> Callable[[F], F]: ...
    @overload
    def variant(
        self, kind: str, func: F, *, name: str | None = ..., parallel: bool = ..., **options: Any
    ) -> F: ...

    def variant(
        self,
        kind: str,
        func: F | None = None,
        *,
        name: str | None = None,
        parallel: bool = False,
        **options: Any,
    ) -> F | Callable[[F], F]:
        """Register a faster implementation of this stage (usable as a decorator).

        Parameters
        ----------
        kind : {"numpy", "numba", "python"}
            ``"numba"`` functions are compiled with ``njit(nogil=True, cache=True)``; an
            already compiled ``@numba.njit`` kernel is taken as it is (a warning says so
            if it holds the GIL). ``"numpy"`` and ``"python"`` functions run as written.
        func : callable, optional
            The implementation; omit it to use ``variant`` as a decorator.
        name : str, optional
            Defaults to the kind (``"numba_parallel"`` for parallel Numba). Unique per
            stage; ``"reference"`` is reserved.
        parallel : bool, default False
            Compile with ``parallel=True`` (write loops with ``numba.prange``).
        **options
            Further ``numba.njit`` options (``fastmath=True``, ``error_model="numpy"``...).

        Returns
        -------
        callable
            ``func``, unchanged (or a decorator that registers and returns it).

        Examples
        --------
        >>> import numpy as np
        >>> import vecpipe as vp
        >>> @vp.stage
        ... def total(x):
        ...     s = 0.0
        ...     for v in x:
        ...         s += v
        ...     return s
        >>> @total.variant("numba")
        ... def _(x):
        ...     s = 0.0
        ...     for i in range(x.shape[0]):
        ...         s += x[i]
        ...     return s
        >>> total(np.ones(10))
        10.0
        """
        if not isinstance(kind, str):
            msg = (
                f"stage {self.name!r}: variant kind must be a string such as 'numpy' or "
                f"'numba', got {kind!r}; write @{self.name}.variant('numpy')"
            )
            raise InvalidArgument(msg)

        if name is not None and (not isinstance(name, str) or not name):
            msg = f"stage {self.name!r}: variant name={name!r} must be a non-empty string"
            raise InvalidArgument(msg)

        def register(f: F, stacklevel: int) -> F:
            built = Variant.build(
                self.name,
                kind,
                f,
                name=name,
                parallel=parallel,
                options=options,
                stacklevel=stacklevel + 1,
            )
            if built.name == "reference":
                msg = (
                    f"stage {self.name!r}: the name 'reference' is reserved for the original "
                    "function; pass name='...' to give this variant another name"
                )
                raise InvalidArgument(msg)
            if built.name in self._variants:
                msg = (
                    f"stage {self.name!r} already has a variant named {built.name!r}; "
                    f"pass name='...' to give this one another name"
                )
                raise InvalidArgument(msg)
            self._variants[built.name] = built
            self._dispatcher.reset()  # decisions made without this variant are stale
            return f

        if func is not None:
            return register(func, 3)  # the user's line calls variant(), which calls register
        return lambda f: register(f, 3)  # the user's decorator line calls the lambda

    def pin(self, name: str) -> None:
        """Always run one variant (or ``"reference"``), whatever the measurements say.

        Parameters
        ----------
        name : str
            A name in :attr:`variants`, or ``"reference"``.

        Examples
        --------
        >>> import numpy as np
        >>> import vecpipe as vp
        >>> @vp.stage
        ... def neg(x):
        ...     return -x
        >>> neg.pin("reference")
        >>> neg.choice(np.zeros(2))
        'reference'
        >>> neg.unpin()
        """
        if name != "reference" and name not in self._variants:
            known = ", ".join(repr(n) for n in ["reference", *self._variants])
            msg = f"stage {self.name!r} has no variant {name!r}; pin one of {known}"
            raise UnknownVariant(msg)
        self._pinned = name
        self._routes = _NO_ROUTES

    def unpin(self) -> None:
        """Let the dispatcher choose again (undoes :meth:`pin`)."""
        self._pinned = None
        self._routes = self._dispatcher.routes

    @property
    def pinned(self) -> str | None:
        """The pinned variant's name, or None."""
        return self._pinned

    def reset(self) -> None:
        """Forget this process's decisions for the stage (wisdom on disk is kept)."""
        self._dispatcher.reset()

    # -- reporting ----------------------------------------------------------------------------

    def explain(self) -> Explanation:
        """Return the decision table: per kind of input, every variant's status and times.

        Returns
        -------
        Explanation
            Prints as a readable table; ``.to_frame()`` gives a DataFrame with one row per
            (key, variant) and the columns ``stage, key, variant, status, chosen,
            seconds, compile_seconds, speedup, source, releases_gil, parallel, reason``.

        Examples
        --------
        >>> import numpy as np
        >>> import vecpipe as vp
        >>> @vp.stage
        ... def square(x):
        ...     return x * x
        >>> _ = square(np.arange(3.0))
        >>> frame = square.explain().to_frame()
        >>> frame["variant"].tolist(), int(frame["chosen"].sum())
        (['reference', 'auto_numba'], 1)
        """
        return Explanation.of_stages([self])

    # -- composition and identity ------------------------------------------------------------

    def __rshift__(self, other: Any) -> Pipeline:
        from vecpipe.pipeline import Pipeline

        return Pipeline([self]) >> other

    def __rrshift__(self, other: Any) -> Pipeline:
        from vecpipe.pipeline import Pipeline

        return Pipeline([other, self])

    def __repr__(self) -> str:
        names = ", ".join(self._variants) or "no variants"
        return f"<vecpipe.Stage {self.name!r}: reference + {names}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Stages travel to worker processes by name, like functions do.
        return (_resolve_stage, (self._module, self._qualname))


def _error_groups(
    groups: Iterable[Iterable[type[BaseException]]], stage_name: str
) -> tuple[frozenset[type[BaseException]], ...]:
    result: list[frozenset[type[BaseException]]] = []
    for group in groups:
        members: frozenset[Any] = (
            frozenset([group]) if isinstance(group, type) else frozenset(group)
        )
        if not members or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in members
        ):
            msg = (
                f"stage {stage_name!r}: equivalent_errors must be groups of exception types, "
                f"e.g. [(ZeroDivisionError, FloatingPointError)]; got {group!r}"
            )
            raise InvalidArgument(msg)
        result.append(members)
    return tuple(result)


def _resolve_stage(module: str, qualname: str) -> Stage:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, Stage):
        msg = f"{module}.{qualname} is not a vecpipe stage in this process"
        raise InvalidArgument(msg)
    return obj


_StageOptions = dict[str, Any]


@overload
def stage(
    func: F,
    /,
    *,
    name: str | None = ...,
    chunkable: bool = ...,
    inputs: Any = ...,
    equal: Any = ...,
    equivalent_errors: Iterable[Iterable[type[BaseException]]] = ...,
    elementwise: bool = ...,
    auto: bool = ...,
) -> Stage: ...
@overload
def stage(
    func: None = None,
    /,
    *,
    name: str | None = ...,
    chunkable: bool = ...,
    inputs: Any = ...,
    equal: Any = ...,
    equivalent_errors: Iterable[Iterable[type[BaseException]]] = ...,
    elementwise: bool = ...,
    auto: bool = ...,
) -> Callable[[F], Stage]: ...


def stage(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    chunkable: bool = False,
    inputs: Any = None,
    equal: Any = None,
    equivalent_errors: Iterable[Iterable[type[BaseException]]] = (),
    elementwise: bool = False,
    auto: bool = True,
) -> Stage | Callable[[F], Stage]:
    """Make a function a stage: ``@vp.stage``, ``@vp.stage(...)`` or ``vp.stage(func)``.

    Parameters
    ----------
    func : callable
        The original implementation. It becomes the stage's reference and is never
        changed.
    name : str, optional
        The stage's name (defaults to the function's name).
    chunkable : bool, default False
        Declare that the stage works row by row (or element by element), so that a slice
        of the input is a valid input: large inputs are then timed on slices.
    inputs : vp.spec object or hypothesis strategy, optional
        How :func:`vecpipe.verify` generates arguments: ``vp.spec.array(...)``,
        ``vp.spec.args(...)``, or a strategy of argument tuples. By default inferred from
        the function's annotations.
    equal : policy or callable, optional
        How a variant's output must match the reference's: :func:`vecpipe.close` (the
        default), :func:`vecpipe.exact`, or ``f(expected, actual)`` raising on a mismatch.
    equivalent_errors : iterable of tuples of exception types, optional
        Exception types that count as the same when the reference raises one and a
        variant another, e.g. ``[(ZeroDivisionError, FloatingPointError)]``.
    elementwise : bool, default False
        ``func`` is a scalar function to apply to every element (like ``Series.map`` or
        ``np.vectorize``): the stage takes arrays and Series (broadcasting like NumPy, a
        Series' index kept), its reference is the Python loop over the elements, and
        vecpipe derives ``auto_ufunc`` and ``auto_ufunc_parallel`` (``numba.vectorize``).
    auto : bool, default True
        Derive variants from the reference: ``auto_numba`` (the reference compiled
        ``njit(nogil=True)`` as it is; tried once per kind of input) or, for elementwise
        stages, the ufuncs above. ``auto=False`` turns them off.

    Returns
    -------
    Stage
        Callable exactly like ``func``.

    Examples
    --------
    >>> import numpy as np
    >>> import vecpipe as vp
    >>> @vp.stage(chunkable=True)
    ... def clip01(x):
    ...     return np.array([min(max(v, 0.0), 1.0) for v in x])
    >>> clip01(np.array([-1.0, 0.5, 2.0]))
    array([0. , 0.5, 1. ])
    """
    options: _StageOptions = {
        "name": name,
        "chunkable": chunkable,
        "inputs": inputs,
        "equal": equal,
        "equivalent_errors": equivalent_errors,
        "elementwise": elementwise,
        "auto": auto,
    }
    if func is None:
        return lambda f: Stage(f, **options)
    return Stage(func, **options)
