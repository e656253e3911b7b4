"""A :class:`Spec` from the reference's type annotations: :func:`infer`."""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vecpipe.errors import InvalidArgument
from vecpipe.spec._argspec import ArgSpec
from vecpipe.spec._arrays import array, series
from vecpipe.spec._call import Spec
from vecpipe.spec._scalars import booleans, floats, integers

_NO_HINT = object()


def _dtype_of_scalar(scalar: Any) -> str:
    try:
        dtype = np.dtype(scalar)
    except (TypeError, ValueError):
        dtype = None
    if (
        dtype is not None
        and dtype.kind in "biufc"
        and not (dtype.kind == "f" and dtype.itemsize > 8)
    ):
        return dtype.name
    if isinstance(scalar, type):  # abstract scalar types: np.floating, np.integer...
        for base, name in (
            (np.bool_, "bool"),
            (np.integer, "int64"),
            (np.complexfloating, "complex128"),
        ):
            if issubclass(scalar, base):
                return name
    return "float64"


def _spec_from_hint(hint: Any) -> ArgSpec | None:
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        for meta in hint.__metadata__:
            if isinstance(meta, ArgSpec):
                return meta
        return _spec_from_hint(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _spec_from_hint(options[0]) if len(options) == 1 else None
    if hint is np.ndarray:
        return array("float64")
    if origin is np.ndarray:
        args = typing.get_args(hint)
        if len(args) == 2 and typing.get_origin(args[1]) is np.dtype:
            return array(_dtype_of_scalar(typing.get_args(args[1])[0]))
        return array("float64")
    if hint is pd.Series:
        return series("float64")
    if hint is bool or hint is np.bool_:
        return booleans()
    if hint is int:
        return integers(-1000, 1000)
    if hint is float:
        return floats()
    if isinstance(hint, type) and issubclass(hint, np.integer):
        return integers(-1000, 1000)
    if isinstance(hint, type) and issubclass(hint, np.floating) and hint is not np.longdouble:
        return floats(width=8 * np.dtype(hint).itemsize if hint is not np.floating else 64)
    return None


_TEXT_HINTS = [
    (re.compile(r"^(np|numpy)\.ndarray$"), lambda m: array("float64")),
    (
        re.compile(r"^(npt\.|numpy\.typing\.)?NDArray\[(np\.|numpy\.)?(\w+)\]$"),
        lambda m: array(_dtype_of_scalar(getattr(np, m.group(3), None))),
    ),
    (re.compile(r"^(pd\.|pandas\.)?Series$"), lambda m: series("float64")),
    (re.compile(r"^float$"), lambda m: floats()),
    (re.compile(r"^int$"), lambda m: integers(-1000, 1000)),
    (re.compile(r"^bool$"), lambda m: booleans()),
]


def _spec_from_text(text: str) -> ArgSpec | None:
    """Infer from an annotation string that could not be evaluated."""
    cleaned = re.sub(r"\s+", "", text)
    for pattern, make in _TEXT_HINTS:
        match = pattern.match(cleaned)
        if match:
            return make(match)
    return None


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # names only imported under TYPE_CHECKING, bad strings...
        pass
    raw = dict(getattr(func, "__annotations__", None) or {})
    namespace = {
        "np": np,
        "numpy": np,
        "pd": pd,
        "pandas": pd,
        "npt": npt,
        "NDArray": npt.NDArray,
        **getattr(func, "__globals__", {}),
    }
    for name, hint in raw.items():
        if isinstance(hint, str):
            try:
                raw[name] = eval(hint, namespace)  # the same evaluation get_type_hints does
            except Exception:
                pass  # left as a string for _spec_from_text
    return raw


def _placeholder(hint: Any) -> str:
    if hint is pd.DataFrame or (isinstance(hint, str) and hint.endswith("DataFrame")):
        return 'vp.spec.frame({"x": "float64"})'
    return 'vp.spec.array(dtype="float64")'


def infer(func: Callable[..., Any], stage_name: str) -> Spec:
    """Build a :class:`Spec` from the type annotations of ``func``'s positional parameters.

    Parameters without a default are generated; those with one keep their default.
    ``np.ndarray`` gives ``array("float64")``; ``NDArray[np.float32]`` (any dtype)
    ``array("float32")``; ``pd.Series`` ``series("float64")``; ``float`` ``floats()``;
    ``int`` ``integers(-1000, 1000)``; ``bool`` ``booleans()``;
    ``Annotated[..., vp.spec.array(...)]`` that spec.

    Raises
    ------
    InvalidArgument
        If a parameter cannot be inferred; the message shows the ``inputs=`` to declare.

    Examples
    --------
    >>> import numpy as np
    >>> from numpy.typing import NDArray
    >>> from vecpipe import spec
    >>> def smooth(x: NDArray[np.float32], k: int, center: bool = False): ...
    >>> spec.infer(smooth, "smooth")
    vp.spec.Spec(vp.spec.array(dtype="float32"), vp.spec.integers(min_value=-1000, max_value=1000))
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        msg = (
            f"stage {stage_name!r}: cannot read the signature of {func!r} ({exc}); declare "
            'its inputs: @vp.stage(inputs=vp.spec.array(dtype="float64"))'
        )
        raise InvalidArgument(msg) from exc
    hints = _hints(func)
    found: list[tuple[str, ArgSpec | None, str]] = []
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL or param.default is not param.empty:
            continue
        if param.kind is param.VAR_KEYWORD:
            continue
        if param.kind is param.KEYWORD_ONLY:
            msg = (
                f"stage {stage_name!r}: keyword-only argument {param.name!r} has no default, "
                "and verification passes positional arguments only; give it a default or "
                "make it positional"
            )
            raise InvalidArgument(msg)
        hint = hints.get(param.name, _NO_HINT)
        if hint is _NO_HINT:
            found.append((param.name, None, "no annotation"))
            continue
        spec = _spec_from_text(hint) if isinstance(hint, str) else _spec_from_hint(hint)
        why = (
            f"annotation {hint if isinstance(hint, str) else _hint_text(hint)!s} is not "
            "one of np.ndarray, NDArray[...], pd.Series, float, int, bool"
        )
        found.append((param.name, spec, why if spec is None else ""))
    failed = [(name, why) for name, spec, why in found if spec is None]
    if failed:
        name, why = failed[0]
        parts = [
            repr(spec) if spec is not None else _placeholder(hints.get(n)) for n, spec, _ in found
        ]
        inputs = parts[0] if len(parts) == 1 else f"({', '.join(parts)})"
        msg = (
            f"stage {stage_name!r}: cannot infer how to generate argument {name!r} ({why}); "
            f"declare it: @vp.stage(inputs={inputs})"
        )
        raise InvalidArgument(msg)
    return Spec(*(spec for _, spec, _ in found))


def _hint_text(hint: Any) -> str:
    if isinstance(hint, type):
        return f"{hint.__module__}.{hint.__qualname__}".removeprefix("builtins.")
    return repr(hint)
