"""The benchmarks' timers: they live in :mod:`vecpipe._timing`, which ``vecpipe bench`` uses too."""

from vecpipe._timing import Timing, interleaved

__all__ = ["Timing", "interleaved"]
