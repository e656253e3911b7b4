"""``python -m vecpipe``: the ``vecpipe`` command (see :mod:`vecpipe.cli`)."""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from vecpipe.cli import main

    sys.exit(main())
