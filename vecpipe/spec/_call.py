"""Call specs: :class:`Spec` (all positional arguments of a call) and :func:`as_spec`."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from vecpipe.errors import InvalidArgument
from vecpipe.spec._argspec import ArgSpec, EdgeCase
from vecpipe.spec._options import _check_bool, _check_sizes
from vecpipe.spec._values import _edge_length, _lengths, _minimal


def _fresh(value: Any) -> Any:
    """A deep copy (so a call that mutates its arguments cannot spoil the next one)."""
    try:
        return copy.deepcopy(value)
    except Exception:  # objects that cannot be copied are passed as they are
        return value


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, list):
        return tuple(value)
    msg = (
        f"vp.spec.Spec.from_strategy: the strategy drew {value!r} (of type "
        f"{type(value).__name__}); it must draw tuples of positional arguments, such as "
        "hypothesis.strategies.tuples(...)"
    )
    raise InvalidArgument(msg)


class Spec:
    """Describes the positional arguments of a stage call.

    Parameters
    ----------
    *args : ArgSpec, hypothesis strategy or constant
        One per positional argument. A strategy draws that argument's values as they are
        (untied to the shared length); any other object is passed as it is.
    same_length : bool, default True
        Draw one length ``n`` and give every sized argument exactly ``n`` rows (and
        :func:`window` arguments a window for ``n``). Otherwise each sized argument draws
        its own length.
    min_size, max_size : int, default 0 and 1000
        Bounds on the lengths, intersected with each sized argument's own.

    Examples
    --------
    >>> import numpy as np
    >>> from vecpipe import spec
    >>> s = spec.Spec(spec.array("float64"), spec.array("int64"), 2.0, max_size=3)
    >>> [label for label, args in s.edge_cases()][:5]
    ['empty', 'length-1', 'arg0:all-nan', 'arg0:some-nan', 'arg0:+inf']
    >>> dict(s.edge_cases())["arg1:int-max"]
    (array([-1. ,  0.5,  2. ]), array([9223372036854775807, 0, 9223372036854775807]), 2.0)
    """

    def __init__(
        self,
        *args: Any,
        same_length: bool = True,
        min_size: int = 0,
        max_size: int = 1000,
    ) -> None:
        self.same_length = _check_bool("Spec", "same_length", same_length)
        self.min_size, self.max_size = _check_sizes("Spec", min_size, max_size)
        for i, arg in enumerate(args):
            if isinstance(arg, Spec):
                msg = (
                    f"vp.spec.Spec: argument {i} is a Spec ({arg!r}); a Spec describes a whole "
                    "call, so pass its arguments instead: Spec(*args)"
                )
                raise InvalidArgument(msg)
        self.args: tuple[Any, ...] = args
        self._tuples: SearchStrategy[tuple[Any, ...]] | None = None
        self._source: SearchStrategy[Any] | None = None
        self._given_cases: list[tuple[str, tuple[Any, ...]]] = []
        self._simplest: dict[int, Any] = {}  # the simplest value of each strategy argument
        self._bounds: dict[int, tuple[int, int]] = {}
        for i, arg in enumerate(args):
            if isinstance(arg, ArgSpec) and arg.sized:
                lo, hi = max(self.min_size, arg.min_size), min(self.max_size, arg.max_size)
                if lo > hi:
                    msg = (
                        f"vp.spec.Spec: argument {i} ({arg!r}) allows no length within "
                        f"min_size={self.min_size}, max_size={self.max_size}; pass sizes "
                        "that overlap"
                    )
                    raise InvalidArgument(msg)
                self._bounds[i] = (lo, hi)
        self._shared = (
            (
                max(lo for lo, _ in self._bounds.values()),
                min(hi for _, hi in self._bounds.values()),
            )
            if self._bounds
            else None
        )
        if self.same_length and self._shared and self._shared[0] > self._shared[1]:
            msg = (
                f"vp.spec.Spec: the sized arguments {self._arg_list()} have no length in "
                "common; pass overlapping min_size/max_size, or same_length=False"
            )
            raise InvalidArgument(msg)

    def _arg_list(self) -> str:
        return ", ".join(repr(self.args[i]) for i in self._bounds)

    @classmethod
    def from_strategy(
        cls,
        strategy: SearchStrategy[Any],
        *,
        edge_cases: Sequence[tuple[str, tuple[Any, ...]]] = (),
    ) -> Spec:
        """Wrap a strategy of argument tuples, with optional labelled edge-case calls.

        Parameters
        ----------
        strategy : hypothesis strategy
            Draws tuples (or lists) of positional arguments.
        edge_cases : sequence of (str, tuple), optional
            Labelled argument tuples that are always tried; :meth:`edge_cases` returns
            copies of them.

        Examples
        --------
        >>> from hypothesis import strategies as st
        >>> from vecpipe import spec
        >>> s = spec.Spec.from_strategy(st.tuples(st.integers()), edge_cases=[("big", (10**9,))])
        >>> s.edge_cases()
        [('big', (1000000000,))]
        >>> s.arity is None
        True
        """
        if not isinstance(strategy, SearchStrategy):
            msg = (
                f"vp.spec.Spec.from_strategy: strategy={strategy!r} is not a Hypothesis "
                "strategy; pass one that draws tuples of positional arguments"
            )
            raise InvalidArgument(msg)
        cases = list(edge_cases) if isinstance(edge_cases, Sequence) else None
        if cases is None or not all(
            isinstance(c, tuple)
            and len(c) == 2
            and isinstance(c[0], str)
            and isinstance(c[1], tuple)
            for c in cases
        ):
            msg = (
                f"vp.spec.Spec.from_strategy: edge_cases={edge_cases!r} is not a list of "
                '(label, arguments) pairs; pass one such as [("zero", (0.0,))]'
            )
            raise InvalidArgument(msg)
        labels = [label for label, _ in cases]
        if len(set(labels)) != len(labels):
            msg = (
                f"vp.spec.Spec.from_strategy: edge_cases has repeated labels {labels!r}; "
                "pass a unique label per call"
            )
            raise InvalidArgument(msg)
        spec = cls()
        spec._tuples = strategy.map(_as_tuple)
        spec._source = strategy
        spec._given_cases = cases
        return spec

    @property
    def arity(self) -> int | None:
        """The number of positional arguments (None for :meth:`from_strategy`)."""
        return None if self._tuples is not None else len(self.args)

    def __repr__(self) -> str:
        if self._tuples is not None:
            return f"vp.spec.Spec.from_strategy({self._source!r})"
        parts = [repr(a) for a in self.args]
        for name, value, default in (
            ("same_length", self.same_length, True),
            ("min_size", self.min_size, 0),
            ("max_size", self.max_size, 1000),
        ):
            if value != default:
                parts.append(f"{name}={value!r}")
        return f"vp.spec.Spec({', '.join(parts)})"

    def strategy(self) -> SearchStrategy[tuple[Any, ...]]:
        """Return a strategy for tuples of positional arguments.

        Examples
        --------
        >>> from vecpipe import spec
        >>> spec.Spec(3, "a").strategy()
        tuples(just(3), just('a'))
        """
        if self._tuples is not None:
            return self._tuples
        if self.same_length and self._shared is not None:
            lo, hi = self._shared
            return _lengths(lo, hi).flatmap(self._tuple_for)
        parts = []
        for i, arg in enumerate(self.args):
            if i in self._bounds:
                parts.append(_lengths(*self._bounds[i]).flatmap(arg.strategy))
            else:
                parts.append(self._strategy_of(arg, None))
        return st.tuples(*parts)

    @staticmethod
    def _strategy_of(arg: Any, n: int | None) -> SearchStrategy[Any]:
        if isinstance(arg, ArgSpec):
            return arg.strategy(n)
        if isinstance(arg, SearchStrategy):
            return arg
        return st.just(arg)

    def _tuple_for(self, n: int) -> SearchStrategy[tuple[Any, ...]]:
        return st.tuples(*(self._strategy_of(arg, n) for arg in self.args))

    def edge_cases(self) -> list[tuple[str, tuple[Any, ...]]]:
        """Return labelled argument tuples that are always tried.

        For each argument spec and each of its edge cases, one call where that argument
        is the edge value and the others are ordinary: sized ones deterministic values of
        the same length, unsized ones a representative value (a strategy's simplest
        value; a constant as it is). With ``same_length``, ``"empty"`` and ``"length-1"``
        apply to all sized arguments together. Each call gets fresh objects.

        The simplest value of a strategy argument (or of an ``elements=`` strategy) is
        found with :func:`hypothesis.find`, which cannot run inside a ``@given`` test:
        call this outside one.

        Examples
        --------
        >>> from vecpipe import spec
        >>> s = spec.Spec(spec.array("bool"), spec.booleans(), max_size=2)
        >>> [label for label, args in s.edge_cases()]  # doctest: +NORMALIZE_WHITESPACE
        ['empty', 'length-1', 'arg0:all-true', 'arg0:all-false', 'arg0:strided',
         'arg0:read-only', 'arg1:false', 'arg1:true']
        """
        if self._tuples is not None:
            return [(label, _fresh(args)) for label, args in self._given_cases]
        self._find_simplest()
        if self.same_length and self._shared is not None:
            out, per_arg, lengths, n = self._shared_length_cases(*self._shared)
        else:
            out, per_arg, lengths, n = [], self._own_length_cases(), self._own_lengths(), None
        seen = {label for label, _ in out}
        for i, cases in per_arg:
            for case in cases:
                label = f"arg{i}:{case.label}"
                if label in seen:
                    continue
                seen.add(label)
                call = self._ordinary_call(lengths, n)
                call[i] = case.value
                out.append((label, tuple(call)))
        return out

    def _find_simplest(self) -> None:
        """The simplest value of each strategy argument, found once."""
        for i, arg in enumerate(self.args):
            if isinstance(arg, SearchStrategy) and i not in self._simplest:
                try:
                    self._simplest[i] = _minimal(arg)
                except Exception as exc:  # Unsatisfiable, NoSuchExample, errors in it
                    msg = (
                        f"vp.spec.Spec: argument {i} ({arg!r}) drew no value "
                        f"({type(exc).__name__}: {exc}); pass a strategy that can draw one"
                    )
                    raise InvalidArgument(msg) from exc

    def _ordinary_call(self, lengths: dict[int, int], n: int | None) -> list[Any]:
        """Ordinary arguments: sized ones of ``lengths[i]`` rows, the others for ``n``."""
        call = []
        for i, arg in enumerate(self.args):
            if i in lengths:
                call.append(arg.ordinary(lengths[i]))
            elif isinstance(arg, ArgSpec):
                call.append(arg.ordinary(n))
            elif i in self._simplest:
                call.append(_fresh(self._simplest[i]))
            else:
                call.append(arg)
        return call

    def _shared_length_cases(
        self, lo: int, hi: int
    ) -> tuple[
        list[tuple[str, tuple[Any, ...]]], list[tuple[int, list[EdgeCase]]], dict[int, int], int
    ]:
        """With one length for every sized argument: the "empty" and "length-1" calls,
        each argument's edge cases at the shared length, the lengths, and that length."""
        n = _edge_length(lo, hi)
        out: list[tuple[str, tuple[Any, ...]]] = []
        if lo == 0:
            out.append(("empty", tuple(self._ordinary_call(dict.fromkeys(self._bounds, 0), 0))))
        if lo <= 1 <= hi:
            out.append(("length-1", tuple(self._ordinary_call(dict.fromkeys(self._bounds, 1), 1))))
        per_arg = [
            (i, arg.edge_cases(n)) for i, arg in enumerate(self.args) if isinstance(arg, ArgSpec)
        ]
        return out, per_arg, dict.fromkeys(self._bounds, n), n

    def _own_lengths(self) -> dict[int, int]:
        return {i: _edge_length(lo, hi) for i, (lo, hi) in self._bounds.items()}

    def _own_length_cases(self) -> list[tuple[int, list[EdgeCase]]]:
        """With a length per sized argument: each argument's edge cases, "empty" and
        "length-1" among them."""
        lengths = self._own_lengths()
        per_arg: list[tuple[int, list[EdgeCase]]] = []
        for i, arg in enumerate(self.args):
            if i in self._bounds:
                lo, hi = self._bounds[i]
                cases = []
                if lo == 0:
                    cases.append(EdgeCase("empty", arg.ordinary(0)))
                if lo <= 1 <= hi:
                    cases.append(EdgeCase("length-1", arg.ordinary(1)))
                per_arg.append((i, cases + arg.edge_cases(lengths[i])))
            elif isinstance(arg, ArgSpec):
                per_arg.append((i, arg.edge_cases(None)))
        return per_arg


def as_spec(obj: Any) -> Spec:
    """Turn what ``inputs=`` accepts into a :class:`Spec`.

    A :class:`Spec` stays as it is; a Hypothesis strategy is taken as drawing tuples of
    arguments (:meth:`Spec.from_strategy`); an :class:`ArgSpec` describes the only
    argument; a tuple or list describes one argument per item.

    Examples
    --------
    >>> from vecpipe import spec
    >>> spec.as_spec(spec.array("int32"))
    vp.spec.Spec(vp.spec.array(dtype="int32"))
    >>> spec.as_spec((spec.series(), spec.window(2)))
    vp.spec.Spec(vp.spec.series(dtype="float64"), vp.spec.window(min_value=2))
    """
    if isinstance(obj, Spec):
        return obj
    if isinstance(obj, SearchStrategy):
        return Spec.from_strategy(obj)
    if isinstance(obj, ArgSpec):
        return Spec(obj)
    if isinstance(obj, tuple | list):
        return Spec(*obj)
    msg = (
        f"inputs={obj!r} (of type {type(obj).__name__}) is not an input spec; pass an "
        'argument spec such as vp.spec.array(dtype="float64"), a tuple of them (one per '
        "positional argument), a vp.spec.Spec, or a Hypothesis strategy of argument tuples"
    )
    raise InvalidArgument(msg)
