"""Group-wise lambdas: ``groupby(keys)[col].transform(f)``, ``.apply(f)``, ``.agg(f)``.

pandas calls ``f`` once per group, on a Series of the group's rows: tens of microseconds a
group before ``f`` does anything. Here ``f`` is called once, on a stand-in (a *proxy*)
that records what ``f`` does to its argument: Series methods (``mean``, ``std``, ``var``,
``sum``, ``min``, ``max``, ``count``, ``median``, ``prod``, ``cumsum``, ``cumprod``,
``cummax``, ``cummin``, ``shift``, ``diff``, ``rank``, ``rolling(w).mean()`` / ``sum`` /
``max`` / ``min``, ``fillna``, ``clip``, ``abs``, ``round``), arithmetic and comparisons
between them and with numbers, and NumPy's elementwise functions (``np.log``,
``np.sqrt``...). The record, an expression, is then evaluated for all groups at once over
the column's values sorted by group (:mod:`vecpipe.idioms._segments`: loops over the
segments with pandas' arithmetic, built on :mod:`vecpipe.kernels`' cores), and the
result put in pandas' form: for ``transform``, one value per row on the Series' index;
for ``agg`` and ``apply``, one value per group on the group keys.

The grouping is pandas' own (its codes and keys: ``sort``, ``dropna``, ``observed``,
categorical and multiple keys all as pandas decides), so the groups and their order are
pandas'.

A trace is sound only when every decision ``f`` makes goes through the proxy, which
refuses to become a bool, a number or an iterator (``if g.mean() > 0:`` cannot be
traced). So ``f`` must not catch exceptions, test identity, look at types, have side
effects, or call other than the methods above (see :func:`vecpipe.idioms._scan.untraceable`);
otherwise, and for data other than float64, pandas runs the call. ``f`` is called once
instead of once per group.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import types
from typing import Any

import numpy as np
import pandas as pd
from pandas.core.groupby.generic import SeriesGroupBy

from vecpipe.idioms._compile import describe
from vecpipe.idioms._intercept import Decline, Session, Target
from vecpipe.idioms._scan import untraceable
from vecpipe.idioms.rowwise import bind

__all__ = ["TARGETS", "Node", "trace"]

_NO_DEFAULT = pd.api.extensions.no_default


class Untraceable(AttributeError):
    """The traced function did something the proxy cannot record (an AttributeError, so
    that a ``hasattr`` probe by NumPy or Python answers False)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Node:
    """One step of a traced expression.

    ``kind`` is "rows" (one value per row of the group, like a Series) or "groups" (one
    value per group, like the NumPy scalar a reduction gives); ``dtype`` is the kind of
    value: "f" float, "i" int, "b" bool.
    """

    op: str
    args: tuple[Any, ...]
    kind: str
    dtype: str


_LEAF = Node("values", (), "rows", "f")
_ARITHMETIC = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
}
_COMPARISONS = {
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
}
#: NumPy functions a proxy answers (one argument, elementwise, float in, float out).
_UFUNCS: dict[str, Any] = {
    u.__name__: u
    for u in (
        np.log,
        np.log1p,
        np.log2,
        np.log10,
        np.exp,
        np.expm1,
        np.sqrt,
        np.square,
        np.abs,
        np.absolute,
        np.negative,
        np.sign,
        np.floor,
        np.ceil,
        np.trunc,
        np.sin,
        np.cos,
        np.tan,
        np.tanh,
        np.arctan,
    )
}
_REDUCTIONS = ("sum", "mean", "std", "var", "min", "max", "count", "median", "prod")
_CUMULATIVE = ("cumsum", "cumprod", "cummax", "cummin")


def _untraceable(what: str) -> Untraceable:
    return Untraceable(f"{what}, which a trace cannot record")


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _operand(value: Any) -> Any:
    """A proxy's node, or a plain number; anything else is refused."""
    if isinstance(value, _Proxy):
        return value._node
    if _number(value):
        return value
    raise _untraceable(f"an operand of type {type(value).__name__}")


def _kind(*parts: Any) -> str:
    return "rows" if any(isinstance(p, Node) and p.kind == "rows" for p in parts) else "groups"


def _dtype(op: str, *parts: Any) -> str:
    kinds = {
        p.dtype if isinstance(p, Node) else ("i" if isinstance(p, int) else "f") for p in parts
    }
    if "b" in kinds:
        raise _untraceable("arithmetic on booleans")
    if op == "truediv" or "f" in kinds:
        return "f"
    if op == "pow":
        raise _untraceable("a power of integers")
    return "i"


def _wrap(node: Node) -> _Proxy:
    return SeriesProxy(node) if node.kind == "rows" else ScalarProxy(node)


class _Proxy:
    """Stands for a group's Series (or a value per group) while ``f`` is traced."""

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        object.__setattr__(self, "_node", node)

    # -- what a trace cannot record -------------------------------------------------------

    def __bool__(self) -> bool:
        raise _untraceable("a decision on a group's values (if, and, or, not)")

    def __len__(self) -> int:
        raise _untraceable("len() of a group")

    def __iter__(self) -> Any:
        raise _untraceable("iterating over a group")

    def __float__(self) -> float:
        raise _untraceable("float() of a group's value")

    def __int__(self) -> int:
        raise _untraceable("int() of a group's value")

    def __index__(self) -> int:
        raise _untraceable("a group's value as an index")

    def __hash__(self) -> int:
        raise _untraceable("hashing a group's value")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise _untraceable("a group's values as an array")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise _untraceable(f"numpy.{func.__name__}")

    def __getattr__(self, name: str) -> Any:
        raise _untraceable(f".{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise _untraceable(f"setting .{name}")

    def __getitem__(self, key: Any) -> Any:
        raise _untraceable("indexing a group")

    # -- arithmetic, comparisons, NumPy's elementwise functions -------------------------------

    def _binary(self, other: Any, op: str, reflected: bool = False) -> _Proxy:
        a, b = self._node, _operand(other)
        if reflected:
            a, b = b, a
        if op in _COMPARISONS:
            return _wrap(Node(op, (a, b), _kind(a, b), "b"))
        return _wrap(Node(op, (a, b), _kind(a, b), _dtype(op, a, b)))

    def _unary(self, op: str) -> _Proxy:
        node = self._node
        if node.dtype == "b":
            raise _untraceable(f"{op} of booleans")
        return _wrap(Node(op, (node,), node.kind, node.dtype))

    def __neg__(self) -> _Proxy:
        return self._unary("negative")

    def __pos__(self) -> _Proxy:
        return self

    def __abs__(self) -> _Proxy:
        return self._unary("absolute")

    def __round__(self, ndigits: int | None = None) -> _Proxy:
        if ndigits is not None and not isinstance(ndigits, int):
            raise _untraceable(f"round(..., {ndigits!r})")
        if ndigits is None and self._node.kind == "groups":
            raise _untraceable("round() of a value (an int in Python)")
        node = self._node
        return _wrap(Node("round", (node, ndigits or 0), node.kind, node.dtype))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs:
            raise _untraceable(f"numpy.{ufunc.__name__}.{method}")
        name = ufunc.__name__
        if name in _UFUNCS and len(inputs) == 1:
            node = _operand(inputs[0])
            if node.dtype == "b":
                raise _untraceable(f"numpy.{name} of booleans")
            return _wrap(Node(f"ufunc:{name}", (node,), node.kind, "f"))
        for op, known in (*_ARITHMETIC.items(), *_COMPARISONS.items()):
            if ufunc is known and len(inputs) == 2:
                a, b = (_operand(v) for v in inputs)
                dtype = "b" if op in _COMPARISONS else _dtype(op, a, b)
                return _wrap(Node(op, (a, b), _kind(a, b), dtype))
        raise _untraceable(f"numpy.{name}")


def _operators() -> None:
    for op in (*_ARITHMETIC, *_COMPARISONS):

        def forward(self: _Proxy, other: Any, op: str = op) -> _Proxy:
            return self._binary(other, op)

        setattr(_Proxy, f"__{op}__", forward)
        if op in _ARITHMETIC:

            def backward(self: _Proxy, other: Any, op: str = op) -> _Proxy:
                return self._binary(other, op, reflected=True)

            setattr(_Proxy, f"__r{op}__", backward)


_operators()


def _require(condition: bool, call: str) -> None:
    if not condition:
        raise _untraceable(call)


def _bound(value: Any, what: str) -> Any:
    """A clip bound or fill value: None, a number, or a value per group."""
    if value is None or _number(value):
        return value
    if isinstance(value, ScalarProxy):
        return value._node
    raise _untraceable(f"{what} of type {type(value).__name__}")


class ScalarProxy(_Proxy):
    """Stands for a value per group (what a reduction of the group's Series gives)."""

    __slots__ = ()


class RollingProxy:
    """Stands for ``group.rolling(window, min_periods)``."""

    __slots__ = ("minp", "node", "window")

    def __init__(self, node: Node, window: int, minp: int) -> None:
        self.node, self.window, self.minp = node, window, minp

    def _apply(self, op: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SeriesProxy:
        _require(not args and not kwargs, f".rolling(...).{op}() with arguments")
        node = Node(f"rolling:{op}", (self.node, self.window, self.minp), "rows", "f")
        return SeriesProxy(node)

    def mean(self, *args: Any, **kwargs: Any) -> SeriesProxy:
        return self._apply("mean", args, kwargs)

    def sum(self, *args: Any, **kwargs: Any) -> SeriesProxy:
        return self._apply("sum", args, kwargs)

    def max(self, *args: Any, **kwargs: Any) -> SeriesProxy:
        return self._apply("max", args, kwargs)

    def min(self, *args: Any, **kwargs: Any) -> SeriesProxy:
        return self._apply("min", args, kwargs)

    def __getattr__(self, name: str) -> Any:
        raise _untraceable(f".rolling(...).{name}")


class SeriesProxy(_Proxy):
    """Stands for a group's Series: the Series methods a trace records."""

    __slots__ = ()

    def _reduce(self, op: str, *extra: Any) -> ScalarProxy:
        node = self._node
        if node.dtype != "f":
            raise _untraceable(f".{op}() of non-float values")
        dtype = "i" if op == "count" else "f"
        return ScalarProxy(Node(op, (node, *extra), "groups", dtype))

    def _transform(self, op: str, *extra: Any) -> SeriesProxy:
        node = self._node
        if node.dtype != "f":
            raise _untraceable(f".{op}() of non-float values")
        return SeriesProxy(Node(op, (node, *extra), "rows", "f"))

    def sum(
        self,
        axis: Any = None,
        skipna: bool = True,
        numeric_only: bool = False,
        min_count: int = 0,
        **kwargs: Any,
    ) -> ScalarProxy:
        _require(
            axis in (None, 0) and skipna is True and not numeric_only and not kwargs, ".sum(...)"
        )
        _require(min_count == 0, f".sum(min_count={min_count!r})")
        return self._reduce("sum")

    def _simple(
        self, op: str, axis: Any, skipna: Any, numeric_only: Any, kwargs: Any
    ) -> ScalarProxy:
        _require(
            axis in (None, 0) and skipna is True and not numeric_only and not kwargs, f".{op}(...)"
        )
        return self._reduce(op)

    def mean(
        self, axis: Any = None, skipna: bool = True, numeric_only: bool = False, **kwargs: Any
    ) -> ScalarProxy:
        return self._simple("mean", axis, skipna, numeric_only, kwargs)

    def median(
        self, axis: Any = None, skipna: bool = True, numeric_only: bool = False, **kwargs: Any
    ) -> ScalarProxy:
        return self._simple("median", axis, skipna, numeric_only, kwargs)

    def min(
        self, axis: Any = None, skipna: bool = True, numeric_only: bool = False, **kwargs: Any
    ) -> ScalarProxy:
        return self._simple("min", axis, skipna, numeric_only, kwargs)

    def max(
        self, axis: Any = None, skipna: bool = True, numeric_only: bool = False, **kwargs: Any
    ) -> ScalarProxy:
        return self._simple("max", axis, skipna, numeric_only, kwargs)

    def prod(
        self,
        axis: Any = None,
        skipna: bool = True,
        numeric_only: bool = False,
        min_count: int = 0,
        **kwargs: Any,
    ) -> ScalarProxy:
        _require(min_count == 0, f".prod(min_count={min_count!r})")
        return self._simple("prod", axis, skipna, numeric_only, kwargs)

    def count(self) -> ScalarProxy:
        return self._reduce("count")

    def _spread(
        self, op: str, axis: Any, skipna: Any, ddof: Any, numeric_only: Any, kwargs: Any
    ) -> ScalarProxy:
        _require(
            axis in (None, 0) and skipna is True and not numeric_only and not kwargs, f".{op}(...)"
        )
        _require(
            isinstance(ddof, int) and not isinstance(ddof, bool) and ddof >= 0,
            f".{op}(ddof={ddof!r})",
        )
        return self._reduce(op, ddof)

    def std(
        self,
        axis: Any = None,
        skipna: bool = True,
        ddof: int = 1,
        numeric_only: bool = False,
        **kwargs: Any,
    ) -> ScalarProxy:
        return self._spread("std", axis, skipna, ddof, numeric_only, kwargs)

    def var(
        self,
        axis: Any = None,
        skipna: bool = True,
        ddof: int = 1,
        numeric_only: bool = False,
        **kwargs: Any,
    ) -> ScalarProxy:
        return self._spread("var", axis, skipna, ddof, numeric_only, kwargs)

    def _running(self, op: str, axis: Any, skipna: Any, args: Any, kwargs: Any) -> SeriesProxy:
        _require(axis in (None, 0) and skipna is True and not args and not kwargs, f".{op}(...)")
        return self._transform(op)

    def cumsum(
        self, axis: Any = None, skipna: bool = True, *args: Any, **kwargs: Any
    ) -> SeriesProxy:
        return self._running("cumsum", axis, skipna, args, kwargs)

    def cumprod(
        self, axis: Any = None, skipna: bool = True, *args: Any, **kwargs: Any
    ) -> SeriesProxy:
        return self._running("cumprod", axis, skipna, args, kwargs)

    def cummax(
        self, axis: Any = None, skipna: bool = True, *args: Any, **kwargs: Any
    ) -> SeriesProxy:
        return self._running("cummax", axis, skipna, args, kwargs)

    def cummin(
        self, axis: Any = None, skipna: bool = True, *args: Any, **kwargs: Any
    ) -> SeriesProxy:
        return self._running("cummin", axis, skipna, args, kwargs)

    def shift(
        self,
        periods: int = 1,
        freq: Any = None,
        axis: Any = 0,
        fill_value: Any = _NO_DEFAULT,
        suffix: Any = None,
    ) -> SeriesProxy:
        _require(
            isinstance(periods, int)
            and not isinstance(periods, bool)
            and freq is None
            and axis in (0, "index")
            and fill_value is _NO_DEFAULT
            and suffix is None,
            ".shift(...)",
        )
        return self._transform("shift", periods)

    def diff(self, periods: int = 1) -> SeriesProxy:
        _require(isinstance(periods, int) and not isinstance(periods, bool), ".diff(...)")
        return self._transform("diff", periods)

    def rank(
        self,
        axis: Any = 0,
        method: str = "average",
        numeric_only: bool = False,
        na_option: str = "keep",
        ascending: bool = True,
        pct: bool = False,
    ) -> SeriesProxy:
        _require(
            axis in (0, "index")
            and method == "average"
            and not numeric_only
            and na_option == "keep"
            and ascending is True
            and isinstance(pct, bool),
            ".rank(...) other than the average rank, ascending",
        )
        return self._transform("rank", pct)

    def rolling(
        self,
        window: Any,
        min_periods: Any = None,
        center: bool = False,
        win_type: Any = None,
        on: Any = None,
        closed: Any = None,
        step: Any = None,
        method: str = "single",
    ) -> RollingProxy:
        _require(
            isinstance(window, int)
            and not isinstance(window, bool)
            and window > 0
            and (
                min_periods is None or (isinstance(min_periods, int) and 0 <= min_periods <= window)
            )
            and not center
            and win_type is None
            and on is None
            and closed is None
            and step is None
            and method == "single",
            ".rolling(...) other than an int window",
        )
        if self._node.dtype != "f":
            raise _untraceable(".rolling() of non-float values")
        return RollingProxy(self._node, window, window if min_periods is None else min_periods)

    def fillna(
        self, value: Any = None, *, axis: Any = None, inplace: bool = False, limit: Any = None
    ) -> SeriesProxy:
        _require(
            value is not None and axis in (None, 0) and not inplace and limit is None,
            ".fillna(...)",
        )
        return self._transform("fillna", _bound(value, "a fill value"))

    def clip(
        self,
        lower: Any = None,
        upper: Any = None,
        *,
        axis: Any = None,
        inplace: bool = False,
        **kwargs: Any,
    ) -> SeriesProxy:
        _require(axis in (None, 0) and not inplace and not kwargs, ".clip(...)")
        return self._transform("clip", _bound(lower, "a clip bound"), _bound(upper, "a clip bound"))

    def abs(self) -> SeriesProxy:
        return self._transform("absolute")

    def round(self, decimals: int = 0, *args: Any, **kwargs: Any) -> SeriesProxy:
        _require(isinstance(decimals, int) and not args and not kwargs, ".round(...)")
        return self._transform("round", decimals)


def trace(func: Any) -> Node:
    """What ``func`` does to a group's Series, as an expression; Decline if it cannot be
    traced.

    Examples
    --------
    >>> from vecpipe.idioms.groupwise import trace
    >>> node = trace(lambda g: (g - g.mean()) / g.std())
    >>> node.op, node.kind, [a.op for a in node.args]
    ('truediv', 'rows', ['sub', 'std'])
    """
    reason = untraceable(func)
    if reason is not None:
        raise Decline(f"{describe(func)} {reason}")
    try:
        out = func(SeriesProxy(_LEAF))
    except Untraceable as exc:
        raise Decline(f"{describe(func)} uses {exc}") from None
    except Exception as exc:
        msg = f"{describe(func)} raised {type(exc).__name__} on a stand-in for the group"
        raise Decline(msg) from None
    if not isinstance(out, _Proxy):
        raise Decline(f"{describe(func)} returns a {type(out).__name__}, not from the group")
    return out._node


# -- evaluation over sorted segments --------------------------------------------------------


class _Groups:
    """A column's values gathered by group, and the evaluation of traced expressions."""

    def __init__(self, values: np.ndarray, codes: np.ndarray, ngroups: int) -> None:
        # Imported here: the kernels are loaded on first use (import vecpipe stays light).
        from vecpipe.idioms import _segments
        from vecpipe.kernels.group_transforms import _group_bounds

        self.segments = _segments
        self.order, self.starts = _group_bounds(codes, ngroups)
        self.x = values[self.order]
        self.sizes = np.diff(self.starts)
        self.ngroups = ngroups
        self._memo: dict[int, Any] = {}
        self._zeroed: dict[int, np.ndarray] = {}

    def rows(self, value: Any) -> Any:
        """A value per group spread to its rows (numbers stay numbers)."""
        if isinstance(value, np.ndarray) and value.shape[0] == self.ngroups:
            return np.repeat(value, self.sizes)
        return value

    def zeroed(self, x: np.ndarray) -> np.ndarray:
        found = self._zeroed.get(id(x))
        if found is None:
            found = self._zeroed[id(x)] = np.where(np.isnan(x), 0.0, x)
        return found

    def value(self, part: Any, kind: str) -> Any:
        """A node's value (per row or per group) or a number; spread to rows for ``kind``."""
        if not isinstance(part, Node):
            return part
        value = self.evaluate(part)
        return self.rows(value) if kind == "rows" and part.kind == "groups" else value

    def evaluate(self, node: Node) -> np.ndarray:
        found = self._memo.get(id(node))
        if found is None:
            with np.errstate(all="ignore"):
                found = self._memo[id(node)] = self._evaluate(node)
        return found

    def _evaluate(self, node: Node) -> np.ndarray:
        op, kind = node.op, node.kind
        if op == "values":
            return self.x
        if op in _ARITHMETIC or op in _COMPARISONS:
            a, b = (self.value(p, kind) for p in node.args)
            result = (_ARITHMETIC.get(op) or _COMPARISONS[op])(a, b)
            if not isinstance(result, np.ndarray):  # two numbers: a value per group
                result = np.full(self.ngroups, result)
            if node.dtype == "i":
                return result.astype(np.int64, copy=False)
            return result
        if op.startswith("ufunc:"):
            return _UFUNCS[op[6:]](self.value(node.args[0], kind))
        if op in ("negative", "absolute"):
            return getattr(np, op)(self.value(node.args[0], kind))
        if op == "round":
            return np.round(self.value(node.args[0], kind), node.args[1])
        x = self.evaluate(node.args[0])
        starts = self.starts
        _segments = self.segments
        if op in _REDUCTIONS:
            out = np.empty(self.ngroups, dtype=np.int64 if op == "count" else np.float64)
            if op == "sum":
                _segments.total(self.zeroed(x), starts, out)
            elif op == "mean":
                _segments.mean(x, self.zeroed(x), starts, out)
            elif op in ("std", "var"):
                _segments.variance(x, self.zeroed(x), starts, node.args[1], op == "std", out)
            elif op in ("min", "max"):
                _segments.extreme(x, starts, op == "max", out)
            elif op == "count":
                _segments.count(x, starts, out)
            elif op == "median":
                _segments.median(x, starts, out)
            else:
                _segments.prod(x, starts, out)
            return out
        out = np.empty(x.shape[0])
        if op == "cumsum":
            _segments.cumsum(x, starts, out)
        elif op == "cumprod":
            _segments.cumprod(x, starts, out)
        elif op in ("cummax", "cummin"):
            _segments.cumextreme(x, starts, op == "cummax", out)
        elif op == "shift":
            _segments.shift(x, starts, node.args[1], out)
        elif op == "diff":
            _segments.diff(x, starts, node.args[1], out)
        elif op == "rank":
            _segments.rank(x, starts, node.args[1], out)
        elif op in ("rolling:sum", "rolling:mean"):
            _, window, minp = node.args
            _segments.rolling_sum(x, starts, window, minp, op == "rolling:mean", out)
        elif op == "rolling:max":
            _segments.rolling_max(x, starts, *node.args[1:], out)
        elif op == "rolling:min":
            _segments.rolling_min(x, starts, *node.args[1:], out)
        elif op == "fillna":
            return np.where(np.isnan(x), self.value(node.args[1], "rows"), x)
        elif op == "clip":
            lower, upper = (self.value(p, "rows") for p in node.args[1:])
            return _clip(x, np.nan if lower is None else lower, np.nan if upper is None else upper)
        else:  # pragma: no cover  (every op the proxies record is handled above)
            raise Decline(f"no evaluation for {op}")
        return out


def _clip(x: np.ndarray, lower: Any, upper: Any) -> np.ndarray:
    """``Series.clip(lower, upper)`` with scalar bounds (NaN: no bound), one pair per row,
    as pandas: bounds swapped when reversed, then ``where`` with NaN values kept."""
    has_lower, has_upper = ~np.isnan(lower), ~np.isnan(upper)
    both = has_lower & has_upper
    lo = np.where(both & (upper < lower), upper, lower)  # min(lower, upper)
    hi = np.where(both & (upper > lower), upper, np.where(both, lower, upper))
    missing = np.isnan(x)
    result = np.where(~has_lower | missing | (x >= lo), x, lo)
    return np.where(~has_upper | missing | (x <= hi), result, hi)


# -- the handlers --------------------------------------------------------------------------

_TRANSFORM = inspect.signature(SeriesGroupBy.transform)
_APPLY = inspect.signature(SeriesGroupBy.apply)
_AGG = inspect.signature(SeriesGroupBy.aggregate)


def _setup(gb: Any, func: Any, what: str) -> tuple[Node, pd.Series, _Groups]:
    if not isinstance(func, types.FunctionType):
        raise Decline(f"{what}: {describe(func)} is not a Python function (pandas' own)")
    node = trace(func)
    obj = gb.obj
    if not isinstance(obj, pd.Series) or obj.dtype != np.float64:
        raise Decline(f"the values are {getattr(obj, 'dtype', type(obj))}, not float64")
    grouper = gb._grouper
    ngroups = grouper.ngroups
    if ngroups == 0 or (what == "transform" and len(obj) == 0):
        msg = "no groups or no rows (pandas decides the empty result's form)"
        raise Decline(msg, lasting=False)
    codes = np.ascontiguousarray(grouper.ids, dtype=np.int64)
    return node, obj, _Groups(obj.to_numpy(), codes, ngroups)


def _note(session: Session, what: str, func: Any, node: Node, groups: _Groups, n: int) -> None:
    steps = sorted({_describe_op(s) for s in _walk(node)} - {""})
    session.note(
        f"{what}({describe(func)}) -> {', '.join(steps)} over {groups.ngroups:,} groups of "
        f"{n:,} rows at once",
        accelerated=True,
    )


def _walk(node: Node) -> list[Node]:
    found = [node]
    for arg in node.args:
        if isinstance(arg, Node):
            found.extend(_walk(arg))
    return found


def _describe_op(node: Node) -> str:
    op = node.op
    if op in _REDUCTIONS or op in _CUMULATIVE or op in ("shift", "diff", "rank", "fillna", "clip"):
        return op
    if op.startswith("rolling:"):
        return f"rolling({node.args[1]}).{op[8:]}"
    return ""


def transform(
    session: Session, original: Any, gb: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``SeriesGroupBy.transform`` with a function."""
    p = bind(_TRANSFORM, (gb, *args), kwargs)
    if p["args"] or p["kwargs"] or p["engine"] is not None:
        raise Decline("extra arguments for the function, or engine=")
    func = p["func"]
    node, obj, groups = _setup(gb, func, "transform")
    values = groups.evaluate(node)
    per_row = groups.rows(values) if node.kind == "groups" else values
    n = len(obj)
    dtype = {"f": np.float64, "i": np.int64, "b": np.bool_}[node.dtype]
    if len(groups.order) < n:  # rows of dropped keys: NaN, as pandas reindexes them
        if node.dtype == "b":
            raise Decline("booleans with dropped keys (pandas keeps objects)", lasting=False)
        dtype = np.float64
        out = np.full(n, np.nan)
    else:
        out = np.empty(n, dtype=dtype)
    out[groups.order] = per_row
    _note(session, "transform", func, node, groups, n)
    result: Any = type(obj)(out, index=obj.index, name=obj.name, copy=False)
    return result


def _per_group(session: Session, gb: Any, func: Any, what: str) -> pd.Series:
    node, obj, groups = _setup(gb, func, what)
    if node.kind != "groups":
        raise Decline(f"{describe(func)} returns a Series per group (transform takes those)")
    values = groups.evaluate(node)
    dtype = {"f": np.float64, "i": np.int64, "b": np.bool_}[node.dtype]
    _note(session, what, func, node, groups, len(obj))
    index = gb._grouper.result_index
    result: Any = type(obj)(values.astype(dtype, copy=False), index=index, name=obj.name)
    return result


def apply(
    session: Session, original: Any, gb: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``SeriesGroupBy.apply`` with a function giving a value per group."""
    p = bind(_APPLY, (gb, *args), kwargs)
    if p["args"] or p["kwargs"]:
        raise Decline("extra arguments for the function")
    return _per_group(session, gb, p["func"], "apply")


def aggregate(
    session: Session, original: Any, gb: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The handler of ``SeriesGroupBy.agg`` / ``aggregate`` with a function."""
    p = bind(_AGG, (gb, *args), kwargs)
    if p["args"] or p["kwargs"] or p["engine"] is not None:
        raise Decline("extra arguments for the function, or engine=")
    if not gb.as_index:
        raise Decline("as_index=False (pandas gives a frame)")
    return _per_group(session, gb, p["func"], "agg")


TARGETS = (
    Target(SeriesGroupBy, "transform", transform, "SeriesGroupBy.transform"),
    Target(SeriesGroupBy, "apply", apply, "SeriesGroupBy.apply"),
    Target(SeriesGroupBy, "agg", aggregate, "SeriesGroupBy.agg"),
    Target(SeriesGroupBy, "aggregate", aggregate, "SeriesGroupBy.aggregate"),
)
