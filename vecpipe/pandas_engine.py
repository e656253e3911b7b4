"""``vp.engine``: run pandas' ``Series.map`` and ``DataFrame.apply`` through vecpipe.

pandas 3 hands a ``map`` or ``apply`` call to an execution engine when one is passed as
``engine=``: any object with a ``__pandas_udf__`` attribute whose ``map`` and ``apply``
methods follow :class:`pandas.api.executors.BaseExecutionEngine`. ``vp.engine`` is such
an object:

- ``s.map(f, engine=vp.engine)`` runs ``f`` as an elementwise stage
  (``vp.stage(f, elementwise=True)``): its reference is the Python loop over the
  elements, beside ``auto_ufunc`` and ``auto_ufunc_parallel`` (``f`` compiled with
  ``numba.vectorize``); the dispatcher measures them per kind of input and runs the
  fastest.
- ``df.apply(f, axis=1, raw=True, engine=vp.engine)`` runs ``f`` as a row-wise stage: its
  reference is pandas' own loop (``numpy.apply_along_axis``), beside ``numba_rows`` (``f``
  compiled ``njit(nogil=True, boundscheck=True)`` and called for every row inside a
  compiled loop) and ``numba_rows_parallel`` (that loop on slices of the rows, in as many
  threads as the thread budget allows: it releases the GIL). ``axis=0`` runs the same
  stage on the columns.

What the engine cannot run (``raw=False``, data that is not NumPy bool or numeric,
keyword arguments that cannot be passed by position...) runs on pandas' own engine, with
one :class:`EngineFallbackWarning` saying why and what to do. A function that Numba cannot
compile is no such case: its stage's compiled variants are marked ``compile-failed`` in
``explain()`` and the reference answers, silently, as for any other stage.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from numba.core.dispatcher import Dispatcher as _NumbaDispatcher
from numba.extending import overload
from pandas.api.executors import BaseExecutionEngine

from vecpipe.auto import _compilable
from vecpipe.dispatch import FIRST_RUNG
from vecpipe.errors import EngineFallbackWarning, InvalidArgument
from vecpipe.explain import Explanation
from vecpipe.settings import get_config
from vecpipe.stage import Stage
from vecpipe.variant import Variant, source_hash

__all__ = ["Engine", "EngineFallbackWarning", "engine"]

#: How many functions' stages an engine keeps (least recently used dropped first; their
#: measurements stay in wisdom).
MAX_STAGES = 256
#: numba_rows_parallel gives each thread at least this many rows.
MIN_ROWS_PER_THREAD = 4096
_INT64_MAX = np.iinfo(np.int64).max
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
#: Frames in these folders are not the user's: warnings point past them.
_INTERNAL = (str(Path(pd.__file__).parent), str(Path(__file__).parent))
_SCALARS = (bool, int, float, complex, np.bool_, np.number)
_OTHER_RESULTS = (
    "Leave out engine=vp.engine for this function: pandas infers the dtype of other "
    "results itself (later calls with it go to pandas directly)."
)


def _name(func: Any) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return str(name or type(func).__name__)


def _stage_name(how: str, func: Any) -> str:
    name = _name(func)
    if "<lambda>" in name:  # several lambdas in one module must not share a stage id
        code = getattr(func, "__code__", None)
        if code is not None:
            name = f"{name}@line{code.co_firstlineno}"
    return f"{how}:{name}"


def _fall_back(call: str, run: Callable[[], Any], reason: str, advice: str) -> Any:
    """Run pandas' own path, then warn once that vp.engine could not take the call."""
    result = run()
    _warn(f"vp.engine could not run {call}, so pandas' own engine ran it: {reason}. {advice}")
    return result


def _warn(message: str) -> None:
    """Warn once, pointing at the user's line (past pandas' and vecpipe's frames)."""
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, EngineFallbackWarning, stacklevel=level)


def _positional(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...] | None:
    """The arguments after the first as one positional tuple; None if that is impossible.

    Compiled kernels take no keyword arguments, so keyword arguments are moved to their
    positions (parameters between them keep their defaults). A keyword-only parameter, a
    ``**kwargs`` parameter or a function without a signature gives None.
    """
    if not kwargs:
        return tuple(args)
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None  # pandas' own engine will raise the same error
    given = set(bound.arguments)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = []
    for parameter in signature.parameters.values():
        if parameter.kind in positional:
            names.append(parameter.name)
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            if bound.arguments.get(parameter.name):
                names = []  # everything is positional already
                break
        elif parameter.name in given:  # keyword-only, or **kwargs
            return None
    bound.apply_defaults()
    values = list(bound.args)
    if names:
        last = max(i for i, name in enumerate(names) if name in given)
        values = values[: last + 1]
    return tuple(values[1:])


# -- elementwise (map) ------------------------------------------------------------------


def _python_width(values: np.ndarray) -> np.ndarray | None:
    """Values widened as pandas' map sees them (Python ints, floats), or None if unsupported.

    ``Series.map`` hands the function Python scalars: 64-bit floats and unbounded ints.
    """
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "b":
        return values
    if kind == "i":
        return values.astype(np.int64, copy=False)
    if kind == "u":
        if size < 8 or values.size == 0 or values.max() <= _INT64_MAX:
            return values.astype(np.int64, copy=False)
        return values
    if kind == "f" and size <= 8:
        return values.astype(np.float64, copy=False)
    if kind == "c" and size <= 16:
        return values.astype(np.complex128, copy=False)
    return None


def _as_inferred(out: Any) -> np.ndarray | None:
    """The dtype pandas infers from the Python results, or None for non-numeric results."""
    if isinstance(out, pd.Series):
        out = out.to_numpy()
    if not isinstance(out, np.ndarray):
        return None
    kind = out.dtype.kind
    if kind == "b":
        return out
    if kind == "i":
        return out.astype(np.int64, copy=False)
    if kind == "u":
        if out.size == 0 or out.max() <= _INT64_MAX:
            return out.astype(np.int64, copy=False)
        return out.astype(np.uint64, copy=False)
    if kind == "f":
        return out.astype(np.float64, copy=False)
    if kind == "c":
        return out.astype(np.complex128, copy=False)
    return None


def _with_missing(out: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Results for the present values, with NaN where values were missing (as pandas)."""
    kind = out.dtype.kind
    if kind == "b":  # booleans and NaN: pandas keeps Python objects
        full = np.full(missing.shape, np.nan, dtype=object)
    elif kind == "c":
        full = np.full(missing.shape, np.nan, dtype=np.complex128)
    else:  # ints and NaN become floats
        full = np.full(missing.shape, np.nan, dtype=np.float64)
    full[~missing] = out
    return full


# -- row-wise (apply) -----------------------------------------------------------------------


def _new_rows_out(n: int, first: Any) -> Any:
    """Allocate the output of ``n`` rows whose first result is ``first``.

    The Python version mirrors the compiled one (``@overload`` below), which the row
    kernels call.
    """
    if isinstance(first, np.ndarray):
        return np.empty((n, first.shape[0]), first.dtype)
    return np.empty(n, np.asarray(first).dtype)


def _set_row(out: Any, i: int, result: Any) -> int:
    """Store row ``i``'s result; 1 if its length differs from the first's, else 0."""
    if isinstance(result, np.ndarray):
        if result.shape[0] != out.shape[1]:
            return 1
        out[i, :] = result
        return 0
    out[i] = result
    return 0


@overload(_new_rows_out)
def _new_rows_out_impl(n, first):  # type: ignore[no-untyped-def]  # no annotations: Numba
    # compares this signature with the implementation's, annotations included
    if isinstance(first, numba.types.Array):
        if first.ndim != 1:
            return None
        return lambda n, first: np.empty((n, first.shape[0]), first.dtype)
    if isinstance(first, numba.types.Number | numba.types.Boolean):
        return lambda n, first: np.empty(n, type(first))
    return None


@overload(_set_row)
def _set_row_impl(out, i, result):  # type: ignore[no-untyped-def]
    if isinstance(result, numba.types.Array):

        def store_array(out, i, result):  # type: ignore[no-untyped-def]
            k = out.shape[1]
            if result.shape[0] != k:
                return 1
            for j in range(k):
                out[i, j] = result[j]
            return 0

        return store_array

    def store_scalar(out, i, result):  # type: ignore[no-untyped-def]
        out[i] = result
        return 0

    return store_scalar


def _row_kernel(compiled: Any) -> Any:
    """A compiled loop calling ``compiled(values[i], *args)`` for every row ``i``."""

    @numba.njit(nogil=True)
    def rows(values: Any, args: Any) -> Any:
        n = values.shape[0]
        first = compiled(values[0], *args)
        out = _new_rows_out(n, first)
        _set_row(out, 0, first)
        ragged = 0
        for i in range(1, n):
            ragged += _set_row(out, i, compiled(values[i], *args))
        if ragged:
            raise ValueError("the function returned arrays of different lengths for the rows")
        return out

    return rows


def _threads_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(
                max_workers=numba.config.NUMBA_NUM_THREADS,  # type: ignore[attr-defined]
                thread_name_prefix="vecpipe-rows",
            )
        return _POOL


def _in_threads(kernel: Any, values: np.ndarray, args: tuple[Any, ...]) -> Any:
    """The serial kernel on slices of the rows, one per thread of the budget.

    Not a ``prange`` loop: Numba does not reliably pass on an exception raised inside
    one (the row's result is left as garbage), while each slice here raises as the serial
    loop does. The kernel releases the GIL, so the slices run at once.
    """
    n = values.shape[0]
    chunks = min(get_config().threads, n // MIN_ROWS_PER_THREAD)
    if chunks <= 1:
        return kernel(values, args)
    bounds = [n * i // chunks for i in range(chunks + 1)]
    pool = _threads_pool()
    futures = [
        pool.submit(kernel, values[start:stop], args) for start, stop in itertools.pairwise(bounds)
    ]
    return np.concatenate([future.result() for future in futures])


#: Changing the kernels re-measures the row-wise variants stored in wisdom.
_KERNEL_HASH = source_hash(
    _row_kernel,
    source_hash(_in_threads),
    source_hash(_set_row_impl),
    source_hash(_new_rows_out_impl),
)


def _str_safe(func: Callable[..., Any]) -> Callable[..., Any]:
    """pandas' wrapper for ``apply_along_axis`` (a string result becomes an object array)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if isinstance(result, str):
            result = np.array(result, dtype=object)
        return result

    return wrapper


def _python_function(func: Any) -> Any:
    """The Python function behind a stage or a Numba dispatcher (else ``func``)."""
    if isinstance(func, Stage):
        return func.reference
    if isinstance(func, _NumbaDispatcher):
        return func.py_func
    return func


def _row_reference(func: Callable[..., Any]) -> Callable[..., Any]:
    """pandas' own raw row loop, as a function of ``(values, *args)``."""
    safe = _str_safe(func)

    def rows(values: np.ndarray, *args: Any) -> np.ndarray:
        return np.apply_along_axis(safe, 1, values, *args)

    # The stage's name, id and source hash follow the Python function (__wrapped__:
    # changing it re-measures); its calls are checked against (values, *args).
    functools.update_wrapper(rows, _python_function(func), updated=())
    rows.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("values", inspect.Parameter.POSITIONAL_ONLY),
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
        ]
    )
    return rows


def _row_variants(func: Callable[..., Any]) -> list[Variant]:
    if isinstance(func, _NumbaDispatcher):
        compiled, python = func, func.py_func
    elif _compilable(func):
        compiled, python = numba.njit(nogil=True, boundscheck=True)(func), func
    else:
        return []
    reference = _row_reference(func)
    kernel = _row_kernel(compiled)

    def serial(values: np.ndarray, *args: Any) -> Any:
        if values.shape[0] == 0:
            return reference(values, *args)
        return kernel(values, args)

    def threads(values: np.ndarray, *args: Any) -> Any:
        if values.shape[0] == 0:
            return reference(values, *args)
        return _in_threads(kernel, values, args)

    def compile_for(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        kernel.compile((numba.typeof(args[0]), numba.typeof(tuple(args[1:]))))

    options = {"nogil": True, "boundscheck": True}
    return [
        Variant(
            name,
            "numba",
            python,
            functools.wraps(python)(run),
            parallel=parallel,
            releases_gil=True,
            source_hash=source_hash(python, name, _KERNEL_HASH),
            options=options,
            derived=True,
            compiler=compile_for,
        )
        for name, run, parallel in (
            ("numba_rows", serial, False),
            ("numba_rows_parallel", threads, True),
        )
    ]


class _RowStage(Stage):
    """A stage whose reference applies ``func`` to every row of a 2-D array."""

    def __init__(self, func: Callable[..., Any]) -> None:
        super().__init__(
            _row_reference(func),
            name=_stage_name("apply", _python_function(func)),
            chunkable=True,
            auto=False,
        )
        # Derived like auto_numba: a function Numba cannot compile is shown in explain()
        # as compile-failed, and the reference answers without a warning.
        self._variants.update({v.name: v for v in _row_variants(func)})


# -- the engine --------------------------------------------------------------------------


class Engine(BaseExecutionEngine):
    """A pandas execution engine that runs ``map`` and ``apply`` calls as vecpipe stages.

    Pass it as ``engine=`` (use the shared instance ``vp.engine``):

    - ``s.map(f, engine=vp.engine)``: ``f`` takes one element; it runs as
      ``vp.stage(f, elementwise=True)`` (reference: the Python loop; variants
      ``auto_ufunc`` and ``auto_ufunc_parallel``). ``na_action="ignore"`` is honoured.
    - ``df.apply(f, axis=1, raw=True, engine=vp.engine)``: ``f`` takes a row as a 1-D
      array and returns a number or a 1-D array; it runs as a row-wise stage (reference:
      pandas' own loop; variants ``numba_rows`` and ``numba_rows_parallel``). ``args=``
      and keyword arguments are passed on; ``axis=0`` runs on the columns.

    One stage is made per function object and kept (up to :data:`MAX_STAGES`), so its
    measurements and compiled code serve every later call: define the function once,
    not as a new ``lambda`` per call. Results equal pandas' own: values, dtype, index.

    What it cannot run goes to pandas' own engine with one :class:`EngineFallbackWarning`
    naming the call, the reason and what to do: ``raw=False``; data that is not NumPy
    bool or numeric (strings, objects, datetimes, nullable or mixed-type columns);
    keyword arguments that cannot be passed by position; ``map`` results that are not
    numbers or booleans. A function that Numba cannot compile still runs through its
    stage, on the reference, without a warning (``explain()`` says why).

    Examples
    --------
    >>> import pandas as pd
    >>> import vecpipe as vp
    >>> from vecpipe.pandas_engine import engine
    >>> def half(x):
    ...     return x / 2
    >>> pd.Series([1, 2, 3], name="n").map(half, engine=engine)
    0    0.5
    1    1.0
    2    1.5
    Name: n, dtype: float64
    >>> engine.stage_for(half)
    <vecpipe.Stage 'map:half': reference + auto_ufunc, auto_ufunc_parallel>
    """

    def __init__(self) -> None:
        self._stages: OrderedDict[tuple[str, Hashable], Stage] = OrderedDict()
        #: Functions whose map results vecpipe cannot represent, with the reason.
        self._unsupported: dict[tuple[str, Hashable], str] = {}
        self._lock = threading.Lock()

    @property
    def __pandas_udf__(self) -> Engine:
        """The executor pandas calls: the engine itself."""
        return self

    def __repr__(self) -> str:
        return f"<vecpipe engine: {len(self._stages)} stages>"

    # -- stages --------------------------------------------------------------------------

    def _stage(self, how: str, func: Any) -> Stage:
        key = (how, func)
        with self._lock:
            found = self._stages.get(key)
            if found is not None:
                self._stages.move_to_end(key)
                return found
        if how == "map":
            if isinstance(func, Stage) and func.elementwise:
                made = func
            else:
                scalar = _python_function(func)
                made = Stage(scalar, name=_stage_name("map", scalar), elementwise=True)
        else:
            made = _RowStage(func.reference if isinstance(func, Stage) else func)
        with self._lock:
            found = self._stages.setdefault(key, made)
            while len(self._stages) > MAX_STAGES:
                self._stages.popitem(last=False)
        return found

    def stage_for(self, func: Callable[..., Any], how: str = "map") -> Stage | None:
        """Return the stage made for ``func`` by ``map`` or ``apply`` (None if none yet).

        Parameters
        ----------
        func : callable
            The function given to ``Series.map`` or ``DataFrame.apply``.
        how : {"map", "apply"}, default "map"
            Which method it was given to.

        Returns
        -------
        Stage or None
            Use it as any stage: ``choice``, ``explain``, ``pin``.

        Examples
        --------
        >>> import pandas as pd
        >>> from vecpipe.pandas_engine import engine
        >>> def double(x):
        ...     return 2 * x
        >>> engine.stage_for(double) is None
        True
        >>> pd.Series([1, 2]).map(double, engine=engine).tolist()
        [2, 4]
        >>> engine.stage_for(double).name
        'map:double'
        """
        if how not in ("map", "apply"):
            msg = f"vp.engine.stage_for: how={how!r} must be 'map' or 'apply'"
            raise InvalidArgument(msg)
        with self._lock:
            return self._stages.get((how, func))

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The stages this engine made, least recently used first."""
        with self._lock:
            return tuple(self._stages.values())

    def explain(self) -> Explanation:
        """Return the decision table of every stage this engine made.

        Examples
        --------
        >>> from vecpipe.pandas_engine import Engine
        >>> len(Engine().explain())
        0
        """
        return Explanation.of_stages(self.stages)

    def clear(self) -> None:
        """Forget the stages (wisdom on disk is kept; compiled code is dropped)."""
        with self._lock:
            self._stages.clear()
            self._unsupported.clear()

    def _remember(self, func: Any, reason: str) -> None:
        """Send ``func``'s later map calls straight to pandas (its results are not numbers)."""
        with self._lock:
            self._unsupported[("map", func)] = reason
            while len(self._unsupported) > MAX_STAGES:
                self._unsupported.pop(next(iter(self._unsupported)))

    # -- the pandas protocol -------------------------------------------------------------

    def map(  # type: ignore[override]
        self,
        data: pd.Series | pd.DataFrame | np.ndarray,
        func: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        decorator: Callable[..., Any] | None = None,
        skip_na: bool = False,
    ) -> Any:
        """Apply ``func`` to every element (pandas calls this for ``Series.map``).

        Parameters
        ----------
        data : Series or ndarray
            The values.
        func : callable
            A function of one element (and the scalar ``args``/``kwargs``).
        args, kwargs
            Further arguments for ``func``.
        decorator : object, optional
            What was passed as ``engine=`` (unused).
        skip_na : bool, default False
            ``na_action="ignore"``: missing values stay missing; ``func`` does not see
            them.

        Returns
        -------
        ndarray or Series
            One result per element; pandas adds the index and name.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from vecpipe.pandas_engine import engine
        >>> def positive(x):
        ...     return x > 0
        >>> s = pd.Series([-1.0, np.nan, 2.0], index=["a", "b", "c"])
        >>> s.map(positive, na_action="ignore", engine=engine)
        a    False
        b      NaN
        c     True
        dtype: object
        """
        kwargs = dict(kwargs or {})
        call = f"Series.map({_name(func)})"

        def pandas_map() -> Any:
            series = data if isinstance(data, pd.Series | pd.DataFrame) else pd.Series(data)
            bound: Callable[..., Any] = func
            if args:  # pandas' own map takes no args: they follow the element
                bound = _append_args(func, args, kwargs)
            elif kwargs:
                bound = functools.partial(func, **kwargs)  # as pandas' own map does
            result = series.map(bound, na_action="ignore" if skip_na else None)
            return result if isinstance(data, pd.Series | pd.DataFrame) else result.to_numpy()

        def fall_back(reason: str, advice: str) -> Any:
            return _fall_back(call, pandas_map, reason, advice)

        if not callable(func):
            msg = f"vp.engine: Series.map needs a function with engine=, got {func!r}"
            raise InvalidArgument(msg)
        if isinstance(data, pd.Series):
            dtype = data.dtype
            if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc":
                return fall_back(
                    f"the Series has dtype {dtype}, and vecpipe runs NumPy bool and numeric "
                    "data only",
                    "Convert it first (e.g. .astype('float64')), or leave out "
                    "engine=vp.engine for such data.",
                )
            raw = data.to_numpy()
        elif isinstance(data, np.ndarray) and data.ndim == 1:
            raw = data
        else:
            return fall_back(
                f"vecpipe maps over a Series, not a {type(data).__name__}",
                "Map each column, or leave out engine=vp.engine.",
            )
        if len(raw) == 0:
            return raw.copy()  # as pandas: no call, the dtype kept
        values = _python_width(raw)
        if values is None:
            return fall_back(
                f"the Series has dtype {raw.dtype}, wider than Python's numbers",
                "Convert it to float64 or complex128 first.",
            )
        extras = _positional(func, args, kwargs)
        if extras is None:
            return fall_back(
                f"the keyword arguments {sorted(kwargs)} cannot be passed by position to "
                f"{_name(func)}",
                "Make them ordinary parameters (not keyword-only or **kwargs).",
            )
        if not all(isinstance(e, _SCALARS) for e in extras):
            kinds = sorted({type(e).__name__ for e in extras if not isinstance(e, _SCALARS)})
            return fall_back(
                f"an elementwise stage's extra arguments must be numbers, got {kinds}",
                "Capture other values in a closure, or leave out engine=vp.engine.",
            )
        unsupported = self._unsupported.get(("map", func))
        if unsupported is not None:
            return fall_back(unsupported, _OTHER_RESULTS)
        stage = self._stage("map", func)
        missing = None
        if skip_na and values.dtype.kind in "fc":
            nan = np.isnan(values)
            if nan.any():
                missing = nan
                values = values[~nan]
                if len(values) == 0:
                    return raw.copy()
        try:
            # A compiled comparison with NaN sets NumPy's "invalid" flag; Python's does not
            # warn, so neither does this.
            with np.errstate(invalid="ignore"):
                out = stage(values, *extras)
        except Exception as exc:
            # pandas runs it again: an error of the function's own reaches the caller from
            # there, unwarned; a failure of vecpipe's is followed by pandas' answer.
            reason = (
                f"its elementwise stage raised {type(exc).__name__} ({exc}) where pandas "
                "does not, so the function probably returns values other than numbers or "
                "booleans"
            )
            result = fall_back(reason, _OTHER_RESULTS)
            self._remember(func, reason)
            return result
        inferred = _as_inferred(out)
        if inferred is None or inferred.shape != values.shape:
            form = getattr(out, "dtype", type(out).__name__)
            reason = (
                f"{_name(func)} returns values of dtype {form}, and vecpipe's elementwise "
                "stages give numbers and booleans only"
            )
            self._remember(func, reason)
            return fall_back(reason, _OTHER_RESULTS)
        if missing is not None:
            return _with_missing(inferred, missing)
        return inferred

    def apply(  # type: ignore[override]
        self,
        data: pd.Series | pd.DataFrame | np.ndarray,
        func: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        decorator: Callable[..., Any] | None = None,
        axis: int | str = 0,
    ) -> Any:
        """Apply ``func`` to every row or column (pandas calls this for ``DataFrame.apply``).

        Parameters
        ----------
        data : ndarray or DataFrame
            With ``raw=True`` pandas passes the frame's values as a 2-D array; with
            ``raw=False``, the DataFrame (run by pandas' own engine, with a warning).
        func : callable
            A function of one row (``axis=1``) or column (``axis=0``) as a 1-D array,
            returning a number or a 1-D array (the same length for every row).
        args, kwargs
            Further arguments for ``func``, after the row.
        decorator : object, optional
            What was passed as ``engine=`` (unused).
        axis : {0, 1, "index", "columns"}, default 0
            1 or ``"columns"``: one call per row; 0 or ``"index"``: one per column.

        Returns
        -------
        ndarray or DataFrame
            1-D (one result per row or column) or 2-D; pandas adds the labels.

        Examples
        --------
        >>> import pandas as pd
        >>> from vecpipe.pandas_engine import engine
        >>> def spread(row, scale):
        ...     return (row.max() - row.min()) * scale
        >>> df = pd.DataFrame({"a": [1.0, 5.0], "b": [4.0, 2.0]}, index=["x", "y"])
        >>> df.apply(spread, axis=1, raw=True, args=(10.0,), engine=engine)
        x    30.0
        y    30.0
        dtype: float64
        """
        kwargs = dict(kwargs or {})
        number = _axis_number(axis)
        raw = isinstance(data, np.ndarray)
        call = f"DataFrame.apply({_name(func)}, axis={number}, raw={raw})"

        def pandas_apply() -> Any:
            bound = functools.partial(func, **kwargs) if kwargs else func
            if isinstance(data, np.ndarray):
                return np.apply_along_axis(_str_safe(bound), number, data, *args)
            return data.apply(bound, axis=number, args=args)  # type: ignore[call-overload]

        def fall_back(reason: str, advice: str) -> Any:
            return _fall_back(call, pandas_apply, reason, advice)

        if not callable(func):
            msg = (
                f"vp.engine: DataFrame.apply needs a function with engine=, got {func!r}; "
                "leave out engine=vp.engine for names and lists of functions"
            )
            raise InvalidArgument(msg)
        if not isinstance(data, np.ndarray):
            return fall_back(
                f"with raw=False each {'row' if number else 'column'} reaches the function "
                "as a Series, which compiled code cannot take",
                "Pass raw=True if the function works on a NumPy array of the values.",
            )
        if data.ndim != 2 or data.dtype.kind not in "biufc":
            return fall_back(
                f"the values have dtype {data.dtype} (mixed-type, string or other "
                "non-numeric columns), and vecpipe runs NumPy bool and numeric data only",
                "Select the numeric columns first (df.select_dtypes('number')), or leave "
                "out engine=vp.engine for such data.",
            )
        if 0 in data.shape:
            return pandas_apply()  # pandas itself never passes an empty frame
        extras = _positional(func, args, kwargs)
        if extras is None:
            return fall_back(
                f"the keyword arguments {sorted(kwargs)} cannot be passed by position to "
                f"{_name(func)}",
                "Make them ordinary parameters (not keyword-only or **kwargs), or pass "
                "them with args=(...).",
            )
        rows = data if number == 1 else data.T
        n = rows.shape[0]
        if n > 2 * FIRST_RUNG and any(getattr(e, "ndim", 0) >= 1 and len(e) == n for e in extras):
            return fall_back(
                f"an extra argument has one entry per {'row' if number else 'column'}, "
                "which vecpipe would cut into slices while measuring",
                "Pass it inside a tuple or a closure, or leave out engine=vp.engine.",
            )
        if not rows.flags.c_contiguous:
            rows = np.ascontiguousarray(rows)  # contiguous rows for the compiled loop
        if rows.flags.writeable:
            rows = rows.view()
            rows.flags.writeable = False  # as pandas passes them; one compiled type
        out = self._stage("apply", func)(rows, *extras)
        if number == 0 and getattr(out, "ndim", 0) == 2:
            out = out.T  # one column of results per column, as apply_along_axis(axis=0)
        return out


def _append_args(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``func`` with ``args`` after its first argument (``partial`` would put them first)."""

    def call(x: Any) -> Any:
        return func(x, *args, **kwargs)

    return call


def _axis_number(axis: int | str) -> int:
    if axis in (0, "index", "rows"):
        return 0
    if axis in (1, "columns"):
        return 1
    msg = f"vp.engine: axis={axis!r} must be 0, 1, 'index' or 'columns'"
    raise InvalidArgument(msg)


#: The shared engine: ``s.map(f, engine=vp.engine)``.
engine = Engine()
