"""The argument-spec protocol: :class:`EdgeCase`, :class:`ArgSpec` and sized specs."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis.strategies import SearchStrategy

from vecpipe.spec._options import _check_int, _check_sizes
from vecpipe.spec._values import _edge_length, _lengths, _minimal


@dataclass(frozen=True, eq=False)
class EdgeCase:
    """A concrete, labelled value of one argument that is always tried.

    Attributes
    ----------
    label : str
        What is special about it, such as ``"all-nan"`` or ``"int-max"``.
    value : object
        The argument itself.

    Examples
    --------
    >>> from vecpipe import spec
    >>> spec.EdgeCase("zero", 0.0)
    EdgeCase(label='zero', value=0.0)
    """

    label: str
    value: object


class ArgSpec(abc.ABC):
    """Describes one positional argument: how to generate it and which edge cases to try.

    Subclasses set :attr:`sized` and implement :meth:`strategy`; they may override
    :meth:`edge_cases` and :meth:`ordinary`. Sized specs (arrays, Series, frames) also
    have ``min_size`` and ``max_size``: the lengths they accept along axis 0.

    Attributes
    ----------
    sized : bool
        Whether the argument has a length that a :class:`Spec` may tie to other arguments'.

    Examples
    --------
    >>> from vecpipe import spec
    >>> spec.array("int32").sized, spec.floats().sized
    (True, False)
    """

    sized: ClassVar[bool] = False
    min_size: int = 0
    max_size: int = 1000

    @abc.abstractmethod
    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        """Return a strategy for this argument's values.

        Parameters
        ----------
        n : int, optional
            The shared length: sized specs then produce exactly ``n`` rows; unsized
            specs may use it (:func:`window` does) or ignore it.

        Examples
        --------
        >>> from vecpipe import spec
        >>> spec.just(3).strategy()
        just(3)
        """

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        """Return the edge cases of this argument.

        Parameters
        ----------
        n : int, optional
            The shared length. Sized specs then give values of exactly ``n`` rows (and
            leave the ``"empty"`` and ``"length-1"`` cases to the :class:`Spec`); without
            it they include those two and use a length of about :data:`EDGE_LENGTH`.

        Examples
        --------
        >>> from vecpipe import spec
        >>> [c.label for c in spec.booleans().edge_cases()]
        ['false', 'true']
        """
        return []

    def ordinary(self, n: int | None = None) -> Any:
        """Return a plain, deterministic value (of ``n`` rows for sized specs).

        :meth:`Spec.edge_cases` passes it for the arguments that are not the edge case.
        The default is the first edge case, else the simplest value of the strategy.

        Examples
        --------
        >>> from vecpipe import spec
        >>> spec.array("float64").ordinary(4)
        array([-1.,  0.,  1.,  2.])
        >>> spec.integers(5, 9).ordinary()
        5
        """
        cases = self.edge_cases(n)
        if cases:
            return cases[0].value
        return _minimal(self.strategy(n))

    def _default_length(self) -> int:
        return _edge_length(self.min_size, self.max_size)


class _SizedSpec(ArgSpec):
    sized: ClassVar[bool] = True
    _func: ClassVar[str] = "array"

    def __init__(self, min_size: object, max_size: object) -> None:
        self.min_size, self.max_size = _check_sizes(self._func, min_size, max_size)

    def strategy(self, n: int | None = None) -> SearchStrategy[Any]:
        if n is None:
            return _lengths(self.min_size, self.max_size).flatmap(self._strategy_for)
        return self._strategy_for(_check_int(self._func, "n", n))

    def edge_cases(self, n: int | None = None) -> list[EdgeCase]:
        cases = []
        if n is None:
            if self.min_size == 0:
                cases.append(EdgeCase("empty", self.ordinary(0)))
            if self.min_size <= 1 <= self.max_size:
                cases.append(EdgeCase("length-1", self.ordinary(1)))
            n = self._default_length()
        if n > 0:
            cases += self._value_cases(_check_int(self._func, "n", n))
        return cases

    def ordinary(self, n: int | None = None) -> Any:
        return self._ordinary(self._default_length() if n is None else n)

    @abc.abstractmethod
    def _strategy_for(self, n: int) -> SearchStrategy[Any]:
        """A strategy for values of exactly ``n`` rows."""

    @abc.abstractmethod
    def _ordinary(self, n: int) -> Any:
        """A plain deterministic value of ``n`` rows."""

    @abc.abstractmethod
    def _value_cases(self, n: int) -> list[EdgeCase]:
        """The edge cases of ``n`` rows."""
