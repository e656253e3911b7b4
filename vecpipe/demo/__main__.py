"""``python -m vecpipe.demo [options]``: the same as ``vecpipe demo [options]``.

The exit status is :func:`vecpipe.demo.run_demo`'s (0 when every accelerated result
equals the reference's, 1 otherwise); ``vecpipe demo --help`` lists the options.
"""

from __future__ import annotations

import sys

from vecpipe.cli import main as _cli_main


def main(argv: list[str] | None = None) -> int:
    """Run ``vecpipe demo`` with these arguments; return its exit status."""
    return _cli_main(["demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
