"""vecpipe.kernels side by side with pandas, NumPy, numbagg, bottleneck and polars.

One table row per kernel of ``vecpipe.kernels.REGISTRY`` (a moving-window kernel once per
window in WINDOWS), so a kernel registered there is benchmarked. vecpipe's entry is the
registered function, pandas' the registered pandas expression, both with the registry's
arguments, except those the benchmark sets to fit its inputs (see :func:`_arguments`:
the group keys, the bins, the window, the ewm decay). The other libraries (PEERS_OF, by
family) are a callable ``f(x, **params)`` or None where the library lacks the operation;
a kernel no peer has is measured against pandas alone. A peer that is not installed
(numbagg, bottleneck and polars come with the ``bench`` extra) shows as "not installed".

Honesty of the comparison: before anything is timed, every library's output is compared
with the reference (pandas, or NumPy where pandas lacks the operation) on a small
NaN-free input; a library that disagrees is marked "differs" and left out of the ratios.
The same check on an input with NaNs gives the footnotes on NaN semantics. Inputs are
NaN-free float64 (normal), except ffill/bfill (10 % NaN) and cumprod (values near 1).

Shapes: 1-D ``n``; 2-D ``(rows, 100)`` C-contiguous, every operation along axis 0 (down
the 100 columns, as ``pd.DataFrame(x).rolling(w)``); small 1-D 10^3. Each timed call
starts from the NumPy array and includes the library's wrapping of it (``pd.Series(x)``,
``pl.Series(x)``, ``pl.from_numpy``), not the conversion of the result back to NumPy.

Timing: one warm-up call per contender (Numba compilation excluded), then interleaved,
shuffled rounds (``benchmarks._timing.interleaved``), minimum per call. vecpipe's first
call at each shape is timed on its own (it tunes there; its kernels were compiled by the
agreement check) and reported separately; then it gets a few more calls before timing.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._report import fmt_size, fmt_time, table

LIBRARIES = ("vecpipe", "pandas", "numpy", "numbagg", "bottleneck", "polars")
PEERS = LIBRARIES[1:]
BENCH_EXTRA = ("numbagg", "bottleneck", "polars")
WINDOWS = (20, 1000)
ALPHA = 0.1
NGROUPS = 1000
NBINS = 100
COLUMNS = 100
GAP_FRACTION = 0.1

NOT_INSTALLED = "not installed"
AGREES = "agrees"
DIFFERS = "differs"
ERROR = "error"


# -- libraries -------------------------------------------------------------------------------


@functools.cache
def module(lib: str) -> Any:
    """The library's module, or None if it is not installed (vecpipe: ``vecpipe.kernels``)."""
    name = {"vecpipe": "vecpipe.kernels"}.get(lib, lib)
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _pd(x: np.ndarray) -> Any:
    import pandas as pd

    return pd.Series(x) if x.ndim == 1 else pd.DataFrame(x)


def _pl_apply(x: np.ndarray, method: str, *args: Any, **kwargs: Any) -> Any:
    import polars as pl

    if x.ndim == 1:
        return getattr(pl.Series(x), method)(*args, **kwargs)
    frame = pl.from_numpy(x, orient="row")  # shape (rows, 100): 100 columns
    return frame.select(getattr(pl.all(), method)(*args, **kwargs))


def _pl_fill(x: np.ndarray, method: str) -> Any:
    import polars as pl

    if x.ndim == 1:
        return getattr(pl.Series(x, nan_to_null=True), method)()
    frame = pl.from_numpy(x, orient="row").fill_nan(None)
    return frame.select(getattr(pl.all(), method)())


# -- operations ------------------------------------------------------------------------------


#: The order of the kernel families in the tables; a family not named here comes last.
FAMILIES = ("moving", "cumulative", "ewm", "fill", "grouped", "group_transforms", "binning")
#: Inputs other than normal values, by kernel: 10 % NaN to fill, values near 1 to multiply.
DATA = {"ffill": "gaps", "bfill": "gaps", "cumprod": "near_one"}
#: Families pandas has no operation for: NumPy is their reference, and the note says why.
PANDAS_LACKS = {"binning": "pandas: no direct equivalent (`pd.cut` has interval semantics)"}
#: The decay parameters of the ewm kernels: the benchmark replaces the registry's with
#: ``alpha=ALPHA``.
DECAY = frozenset({"com", "span", "halflife", "alpha"})


@dataclasses.dataclass
class Op:
    """One row: an operation and each library's way to compute it."""

    label: str
    kernel: str  # the name in vecpipe.kernels
    impls: dict[str, Callable[..., Any] | None]  # library -> f(x, **params); not vecpipe
    call_vecpipe: Callable[[Callable[..., Any], np.ndarray, dict[str, Any]], Any]
    data: str = "normal"  # normal | gaps | near_one | groups | bins
    two_d: bool = True
    reference: str = "pandas"
    notes: dict[str, str] = dataclasses.field(default_factory=dict)  # library -> footnote
    # libraries whose results differ from the reference when the input has NaNs (checked)
    nan_differs: frozenset[str] = frozenset()


@dataclasses.dataclass
class Peers:
    """The peers' ways to compute one row (None: the library lacks it), and their notes."""

    impls: dict[str, Callable[..., Any] | None] = dataclasses.field(default_factory=dict)
    notes: dict[str, str] = dataclasses.field(default_factory=dict)
    nan_differs: frozenset[str] = frozenset()


def _moving_peers(name: str, window: int | None) -> Peers:
    method = name.removeprefix("rolling_")
    ddof = {"ddof": 1} if method in ("std", "var") else {}
    peers = Peers()
    if method in ("sum", "mean", "std", "var"):
        peers.impls["numbagg"] = lambda x: getattr(module("numbagg"), "move_" + method)(
            x, window=window, min_count=window, axis=0
        )
    if method != "count":
        peers.impls["bottleneck"] = lambda x: getattr(module("bottleneck"), "move_" + method)(
            x, window, min_count=window, axis=0, **ddof
        )
        peers.impls["polars"] = lambda x: _pl_apply(x, "rolling_" + method, window)
        peers.notes["polars"] = (
            "polars: NaN is a value, not missing; the same result here only because "
            "min_periods = window"
        )
    return peers


def _cumulative_peers(name: str, window: int | None) -> Peers:
    ufunc = {"cumsum": np.add, "cumprod": np.multiply, "cummin": np.minimum, "cummax": np.maximum}
    if name not in ufunc:
        return Peers()
    polars_name = {"cumsum": "cum_sum", "cumprod": "cum_prod", "cummin": "cum_min"}.get(
        name, "cum_max"
    )
    return Peers(
        impls={  # numbagg 0.9 has no cumulative functions
            "numpy": lambda x: ufunc[name].accumulate(x, axis=0),
            "polars": lambda x: _pl_apply(x, polars_name),
        },
        notes={
            "numpy": "NumPy: NaN propagates (pandas skips it)",
            "polars": "polars: NaN is a value, not missing",
        },
        nan_differs=frozenset({"numpy", "polars"}),
    )


def _ewm_peers(name: str, window: int | None) -> Peers:
    if name != "ewm_mean":
        return Peers()
    return Peers(
        impls={
            "numbagg": lambda x: module("numbagg").move_exp_nanmean(x, alpha=ALPHA, axis=0),
            "polars": lambda x: _pl_apply(x, "ewm_mean", alpha=ALPHA, adjust=True),
        },
        notes={"polars": "polars: NaN is a value, not missing"},
        nan_differs=frozenset({"polars"}),
    )


def _fill_peers(name: str, window: int | None) -> Peers:
    def bottleneck_fill(x: np.ndarray) -> Any:
        push = module("bottleneck").push
        return push(x, axis=0) if name == "ffill" else push(x[::-1], axis=0)[::-1]

    notes = {"polars": "polars: fills nulls only; timed with the NaN-to-null conversion"}
    if name == "bfill":
        notes["bottleneck"] = "bottleneck: `push` on the reversed view"
    return Peers(
        impls={
            "numbagg": lambda x: getattr(module("numbagg"), name)(x, axis=0),
            "bottleneck": bottleneck_fill,
            "polars": lambda x: _pl_fill(x, "forward_fill" if name == "ffill" else "backward_fill"),
        },
        notes=notes,
    )


def _grouped_peers(name: str, window: int | None) -> Peers:
    method = name.removeprefix("group_")

    def numpy_group(x: np.ndarray, codes: np.ndarray, ngroups: int) -> Any:
        counts = np.bincount(codes, minlength=ngroups)
        if method == "count":
            return counts
        sums = np.bincount(codes, weights=x, minlength=ngroups)
        if method == "sum":
            return sums
        return sums / counts

    def polars_group(x: np.ndarray, codes: np.ndarray, ngroups: int) -> Any:
        import polars as pl

        frame = pl.DataFrame({"k": codes, "v": x})
        agg = getattr(pl.col("v"), "product" if method == "prod" else method)()
        return frame.group_by("k").agg(agg).sort("k").get_column("v")

    return Peers(
        impls={
            "numpy": numpy_group if method in ("sum", "mean", "count") else None,
            "numbagg": lambda x, codes, ngroups: getattr(module("numbagg"), "group_nan" + method)(
                x, codes, num_labels=ngroups
            ),
            "polars": polars_group,
        },
        notes={
            "numpy": "NumPy: `bincount` (NaN propagates)",
            "polars": "polars: NaN is a value, not missing",
        },
        nan_differs=frozenset({"numpy", "polars"}),
    )


def _transform_peers(name: str, window: int | None) -> Peers:
    method = name.removeprefix("group_")

    def polars_transform(x: np.ndarray, codes: np.ndarray, ngroups: int) -> Any:
        import polars as pl

        v = pl.col("v")
        expr = {
            "cumsum": lambda: v.cum_sum(),
            "rolling_mean": lambda: v.rolling_mean(window),
            "demean": lambda: v - v.mean(),
            "zscore": lambda: (v - v.mean()) / v.std(),
        }[method]()
        frame = pl.DataFrame({"k": codes, "v": x})
        return frame.select(expr.over("k")).get_column("v")

    if method not in ("cumsum", "rolling_mean", "demean", "zscore"):
        return Peers()
    return Peers(
        impls={"polars": polars_transform},
        notes={"polars": "polars: NaN is a value, not missing"},
        nan_differs=frozenset({"polars"}),
    )


def _binning_peers(name: str, window: int | None) -> Peers:
    numpy_impls = {
        "digitize": lambda x, bins: np.digitize(x, bins),
        "histogram": lambda x, bins: np.histogram(x, bins)[0],
    }
    return Peers(impls={"numpy": numpy_impls.get(name)})


#: Each family's peers, by kernel name and window.
PEERS_OF: dict[str, Callable[[str, int | None], Peers]] = {
    "moving": _moving_peers,
    "cumulative": _cumulative_peers,
    "ewm": _ewm_peers,
    "fill": _fill_peers,
    "grouped": _grouped_peers,
    "group_transforms": _transform_peers,
    "binning": _binning_peers,
}


def _parameters(kernel: Any) -> list[str]:
    """The names of the kernel function's parameters after ``x``."""
    return list(inspect.signature(kernel.function).parameters)[1:]


def _arguments(
    kernel: Any, window: int | None
) -> Callable[[dict[str, Any]], tuple[tuple[Any, ...], dict[str, Any]]]:
    """The registry's arguments after ``x``, as a function of an input's parameters.

    The registry's example arguments fit its small test inputs; the benchmark sets its
    own where they must fit the input or make the row: ``keys`` (the input's group
    codes), ``bins``, ``window`` (then ``min_periods`` is pandas' default, the window)
    and the ewm decay (``alpha=ALPHA``).
    """
    names = _parameters(kernel)
    kwargs = dict(kernel.kwargs)
    if window is not None:
        kwargs.pop("min_periods", None)
    if DECAY & kwargs.keys():
        kwargs = {k: v for k, v in kwargs.items() if k not in DECAY} | {"alpha": ALPHA}

    def arguments(params: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        given = {"keys": params.get("codes"), "bins": params.get("bins"), "window": window}
        args = tuple(
            given[name] if name in given else value
            for name, value in zip(names, kernel.args, strict=False)
        )
        return args, kwargs

    return arguments


def _label(kernel: Any, window: int | None) -> str:
    names = _parameters(kernel)
    label = kernel.name
    if window is not None:
        label += f" w={window}"
    if DECAY & kernel.kwargs.keys():
        label += f" alpha={ALPHA}"
    if "keys" in names:
        label += f" {NGROUPS} groups"
    if "bins" in names:
        label += f" {NBINS} bins"
    return label


def _op(kernel: Any, window: int | None) -> Op:
    """The row of one registered kernel (at one window)."""
    names = _parameters(kernel)
    arguments = _arguments(kernel, window)
    peers = PEERS_OF.get(kernel.family, lambda name, w: Peers())(kernel.name, window)
    impls: dict[str, Callable[..., Any] | None] = dict.fromkeys(PEERS)
    impls.update(peers.impls)
    notes = dict(peers.notes)
    reference = "pandas"

    def registered(x: np.ndarray, **params: Any) -> Any:
        args, kwargs = arguments(params)
        return kernel.pandas(_pd(x), *args, **kwargs)

    if kernel.family in PANDAS_LACKS:
        # The registry's expression is NumPy's here: the NumPy peer, where the family
        # has none of its own.
        reference = "numpy"
        notes = {"pandas": PANDAS_LACKS[kernel.family], **notes}
        impls["numpy"] = impls["numpy"] or registered
    else:
        impls["pandas"] = registered

    def call_vecpipe(f: Callable[..., Any], x: np.ndarray, params: dict[str, Any]) -> Any:
        args, kwargs = arguments(params)
        return f(x, *args, **kwargs)

    keyed, binned = "keys" in names, "bins" in names
    return Op(
        label=_label(kernel, window),
        kernel=kernel.name,
        impls=impls,
        call_vecpipe=call_vecpipe,
        data="groups" if keyed else "bins" if binned else DATA.get(kernel.name, "normal"),
        two_d=not (keyed or binned),
        reference=reference,
        notes=notes,
        nan_differs=peers.nan_differs,
    )


def operations() -> list[Op]:
    """Every row of the table, in order: one per kernel of ``vecpipe.kernels.REGISTRY``
    (a moving window kernel once per window in WINDOWS; a group-wise window at the first)."""
    registry = module("vecpipe").REGISTRY
    rank = {family: i for i, family in enumerate(FAMILIES)}
    ops = []
    for kernel in sorted(registry, key=lambda k: rank.get(k.family, len(FAMILIES))):
        names = _parameters(kernel)
        windows: tuple[int | None, ...] = (None,)
        if "window" in names:
            windows = WINDOWS[:1] if "keys" in names else WINDOWS
        ops += [_op(kernel, window) for window in windows]
    return ops


def find(label: str) -> Op:
    """The operation with this label (spaces may be written as underscores)."""
    for op in operations():
        if label in (op.label, op.label.replace(" ", "_")):
            return op
    raise KeyError(label)


# -- inputs ----------------------------------------------------------------------------------


def make_input(
    op: Op, shape: tuple[int, ...], *, nans: bool = False, seed: int = 0
) -> tuple[np.ndarray, dict[str, Any]]:
    """The input array for ``op`` at ``shape`` and the extra keyword parameters."""
    rng = np.random.default_rng(seed)
    if op.data == "near_one":
        x = 1.0 + 1e-3 * rng.standard_normal(shape)
    else:
        x = rng.standard_normal(shape)
    if op.data == "gaps" or nans:
        x[rng.random(shape) < GAP_FRACTION] = np.nan
    params: dict[str, Any] = {}
    if op.data == "groups":
        ngroups = min(NGROUPS, max(1, x.shape[0] // 10))
        codes = rng.integers(0, ngroups, x.shape[0])
        codes[:ngroups] = np.arange(ngroups)  # every group present: dense outputs everywhere
        params = {"codes": codes, "ngroups": ngroups}
    elif op.data == "bins":
        params = {"bins": np.linspace(-4.0, 4.0, NBINS + 1)}
    return x, params


def contender(op: Op, lib: str) -> tuple[str, Callable[..., Any] | None]:
    """(status, callable ``f(x, **params)``): status is '' when runnable."""
    if lib == "vecpipe":
        kernel = getattr(module("vecpipe"), op.kernel)
        call = op.call_vecpipe
        return "", lambda x, **p: call(kernel, x, p)
    impl = op.impls.get(lib)
    if impl is None:
        return "-", None
    if module(lib) is None:
        return NOT_INSTALLED, None
    return "", impl


def as_array(result: Any) -> np.ndarray:
    """Any library's result as a float64 NumPy array."""
    if hasattr(result, "to_numpy"):
        result = result.to_numpy()
    return np.asarray(result, dtype=np.float64)


def agree(result: Any, expected: Any) -> bool:
    """Same shape, same NaNs, values within 1e-7 relative (rolling sums drift a little)."""
    a, b = as_array(result), as_array(expected)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-7, atol=1e-9, equal_nan=True))


def check(op: Op, shape: tuple[int, ...], *, nans: bool = False) -> dict[str, str]:
    """Library -> status of its output against the reference on an input of ``shape``."""
    x, params = make_input(op, shape, nans=nans, seed=1)
    expected = op.impls[op.reference](x, **params)  # type: ignore[misc]
    statuses: dict[str, str] = {}
    for lib in LIBRARIES:
        status, fn = contender(op, lib)
        if fn is None:
            statuses[lib] = status
            continue
        try:
            statuses[lib] = AGREES if agree(fn(x, **params), expected) else DIFFERS
        except Exception as exc:
            statuses[lib] = f"{ERROR}: {type(exc).__name__}: {exc}"[:120]
    return statuses


# -- timing ----------------------------------------------------------------------------------


def _time_op(op: Op, shape: tuple[int, ...], rounds: int, status: dict[str, str]) -> dict[str, Any]:
    from benchmarks._timing import interleaved

    x, params = make_input(op, shape)
    contenders: dict[str, Callable[..., Any]] = {}
    first_call = None
    ran = None
    for lib in LIBRARIES:
        if status[lib] != AGREES:
            continue
        _, fn = contender(op, lib)
        assert fn is not None
        call = functools.partial(fn, **params)
        started = time.perf_counter()
        call(x)  # warm-up (vecpipe: its first call at this shape, which tunes)
        if lib == "vecpipe":
            first_call = time.perf_counter() - started
            for _ in range(3):
                call(x)
            ran = _vecpipe_variants(op, x)
        contenders[lib] = call
    timings = interleaved(contenders, x, rounds=rounds, cap=dict.fromkeys(contenders, 3.0))
    times = {lib: timings[lib].min if lib in timings else None for lib in LIBRARIES}
    peers = {lib: t for lib, t in times.items() if lib != "vecpipe" and t is not None}
    fastest = min(peers, key=peers.__getitem__) if peers else None
    vp_time = times["vecpipe"]
    return {
        "op": op.label,
        "times": times,
        "medians": {lib: t.median for lib, t in timings.items()},
        "status": status,
        "vecpipe_first_call": first_call,
        "vecpipe_variant": ran,
        "fastest_peer": fastest,
        "vs_fastest": vp_time / peers[fastest] if vp_time and fastest else None,
        "vs_pandas": vp_time / times["pandas"] if vp_time and times["pandas"] else None,
        "vs_numbagg": vp_time / times["numbagg"] if vp_time and times["numbagg"] else None,
    }


def _vecpipe_variants(op: Op, x: np.ndarray) -> str | None:
    """The variants vecpipe's dispatcher chose for lanes as long as ``x``'s (its explain()
    rows for the key of that size), e.g. ``"numba_parallel"``."""
    kernels = module("vecpipe")
    spec = next((k for k in kernels.REGISTRY if k.name == op.kernel), None)
    if spec is None:
        return None
    from vecpipe.keys import describe_key, make_key

    size = re.search(r"n=[^\]]*", describe_key(make_key(0, (np.empty(x.shape[0]),), {})))
    frame = spec.stage.explain().to_frame()
    if size is None or frame.empty:
        return None
    rows = frame[frame["chosen"] & frame["key"].str.contains(size.group(0), regex=False)]
    return ", ".join(sorted(set(rows["variant"]))) or None


def sizes(quick: bool) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every table."""
    big = 10**6 if quick else 10**7
    rows = 10**4 if quick else 10**5
    # The small table first, before the large runs leave anything behind. On a busy
    # machine numbagg's small calls were seen at milliseconds (its threaded gufuncs wait
    # for busy cores; 13-25 µs when the machine is quieter).
    return [
        ("1-D 1e3 (small-input trap)", (10**3,)),
        (f"1-D {fmt_size(big)}", (big,)),
        (f"2-D {fmt_size(rows)} x {COLUMNS} (along axis 0)", (rows, COLUMNS)),
    ]


QUICK_MEMORY_OPS = ("rolling_mean w=20", "rolling_std w=1000", "cumsum", "ffill")


def run(quick: bool, *, memory: bool = True, ops: list[Op] | None = None) -> dict[str, Any]:
    """Check every library's agreement, time every operation at every size, measure memory."""
    ops = ops if ops is not None else operations()
    rounds = 3 if quick else 7
    checks: dict[str, Any] = {}
    for op in ops:
        checks[op.label] = {
            "1-D": check(op, (3000,)),
            "2-D": check(op, (1500, 3)) if op.two_d else None,
            "1-D with NaN": check(op, (3000,), nans=True),
        }
    tables = []
    for name, shape in sizes(quick):
        print(f"  kernels: {name}...", file=sys.stderr, flush=True)
        rows = []
        for op in ops:
            if len(shape) == 2 and not op.two_d:
                continue
            status = checks[op.label]["2-D" if len(shape) == 2 else "1-D"]
            rows.append(_time_op(op, shape, rounds, status))
        tables.append({"name": name, "shape": list(shape), "rows": rows})
    result: dict[str, Any] = {
        "libraries": {lib: _version(lib) for lib in LIBRARIES},
        "checks": checks,
        "tables": tables,
    }
    if memory:
        from benchmarks import _memory

        n = 10**7
        chosen = [op for op in ops if not quick or op.label in QUICK_MEMORY_OPS]
        print(f"  kernels: peak memory at {fmt_size(n)}...", file=sys.stderr, flush=True)
        result["memory"] = {
            "n": n,
            "input_mb": n * 8 / 1e6,
            "rows": [_memory.measure_op(op, n, checks[op.label]["1-D"]) for op in chosen],
        }
    return result


def _version(lib: str) -> str | None:
    if lib == "vecpipe":
        if module("vecpipe") is None:
            return None
        import vecpipe

        return vecpipe.__version__
    mod = module(lib)
    return getattr(mod, "__version__", "?") if mod is not None else None


# -- Markdown --------------------------------------------------------------------------------


def _cell(row: dict[str, Any], lib: str) -> str:
    status = row["status"][lib]
    if status == AGREES:
        text = fmt_time(row["times"][lib])
        return f"**{text}**" if lib == row["fastest_peer"] else text
    if status.startswith(ERROR):
        return "error"
    return status


def _ratio(value: float | None, row: dict[str, Any]) -> str:
    if value is not None:
        return f"{value:.2f}"
    status = row["status"]["vecpipe"]
    return "-" if status == AGREES else status.split(":")[0]


def _goal(row: dict[str, Any], shape: list[int]) -> str:
    if row["times"]["vecpipe"] is None:
        return "-"
    n = int(np.prod(shape))
    misses = []
    if n <= 10**3 and row["vs_fastest"] is not None and row["vs_fastest"] > 2:
        misses.append("> 2x fastest")
    if n >= 10**4 and row["vs_pandas"] is not None and row["vs_pandas"] >= 1:
        misses.append("slower than pandas")
    if n >= 10**7 and len(shape) == 1 and row["vs_numbagg"] is not None and row["vs_numbagg"] > 1:
        misses.append("slower than numbagg")
    return "MISS: " + ", ".join(misses) if misses else "ok"


def markdown(result: dict[str, Any]) -> str:
    """Markdown tables: one per size, then memory, then footnotes."""
    notes: dict[str, int] = {}

    def mark(text: str) -> str:
        notes.setdefault(text, len(notes) + 1)
        return f"[{notes[text]}]"

    ops = {op.label: op for op in operations()}
    parts = []
    versions = ", ".join(f"{lib} {v or NOT_INSTALLED}" for lib, v in result["libraries"].items())
    parts.append(
        f"Libraries: {versions}. Time per call (min of interleaved rounds; **bold**: fastest "
        "peer); ratios are vecpipe's time over the fastest peer's and over pandas' (< 1: "
        "vecpipe faster). Goals: at 1e3 within 2x of the fastest peer; from 1e4 faster "
        "than pandas; at 1e7 (1-D) at least as fast as numbagg. '-': the library lacks "
        "the operation."
    )
    headers = [
        "operation",
        *LIBRARIES,
        "vecpipe 1st call",
        "vecpipe ran",
        "/ fastest",
        "/ pandas",
        "goals",
    ]
    for tab in result["tables"]:
        rows = []
        for row in tab["rows"]:
            op = ops.get(row["op"])
            label = row["op"]
            if op is not None:
                for text in op.notes.values():
                    label += " " + mark(text)
            for lib, status in row["status"].items():
                if status == DIFFERS or status.startswith(ERROR):
                    label += " " + mark(
                        f"{lib}: {status} from {op.reference if op else 'reference'}"
                    )
            rows.append(
                [
                    label,
                    *(_cell(row, lib) for lib in LIBRARIES),
                    fmt_time(row["vecpipe_first_call"]),
                    row.get("vecpipe_variant") or "-",
                    _ratio(row["vs_fastest"], row),
                    _ratio(row["vs_pandas"], row),
                    _goal(row, tab["shape"]),
                ]
            )
        parts.append(f"### {tab['name']}\n\n" + table(headers, rows))
    memory = result.get("memory")
    if memory:
        rows = []
        for row in memory["rows"]:
            cells = []
            for lib in LIBRARIES:
                m = row["libs"].get(lib)
                if isinstance(m, dict):
                    cells.append(f"{m['extra_mb']:.0f} (out {m['output_mb']:.0f})")
                elif str(m).startswith(ERROR):
                    cells.append("error " + mark(f"memory, {row['op']}, {lib}: {m}"))
                else:
                    cells.append(str(m))
            rows.append([row["op"], *cells])
        parts.append(
            f"### Peak memory at 1-D {fmt_size(memory['n'])} (MB)\n\n"
            f"Input {memory['input_mb']:.0f} MB. Each cell: peak resident memory of one call "
            "above the baseline (input created, library warmed up), measured in a fresh "
            "process (VmHWM, reset before the call), and the output's own size; vecpipe's "
            "target is output + small.\n\n" + table(["operation", *LIBRARIES], rows)
        )
    nan_notes = []
    for label, check in result["checks"].items():
        differ = [
            lib for lib, s in check["1-D with NaN"].items() if s == DIFFERS or s.startswith(ERROR)
        ]
        if differ:
            nan_notes.append(f"{label}: {', '.join(differ)}")
    parts.append(
        "Notes:\n\n"
        + "\n".join(f"[{i}] {text}" for text, i in notes.items())
        + "\n\nWith NaNs in the input (10 %), these differ from the reference: "
        + ("; ".join(nan_notes) if nan_notes else "none")
        + "."
    )
    return "\n\n".join(parts)
