"""Numbers as short text for tables and messages: the one place that formats durations.

Every table vecpipe prints (``explain()``, a pipeline's last run, ``vecpipe bench``,
``tune``, ``profile``, ``wisdom``, the demo's report) and the benchmarks write seconds
the same way, with :func:`format_seconds`.
"""

from __future__ import annotations

__all__ = ["format_seconds"]


def format_seconds(seconds: float | None) -> str:
    """Seconds as short text with a unit: 3 significant digits in s, ms, µs or ns.

    Parameters
    ----------
    seconds : float or None
        A duration; None or NaN (nothing measured) gives ``"-"``.

    Returns
    -------
    str

    Examples
    --------
    >>> from vecpipe._format import format_seconds
    >>> format_seconds(1.5), format_seconds(0.0123), format_seconds(4.2e-6)
    ('1.5 s', '12.3 ms', '4.2 µs')
    >>> format_seconds(3e-9), format_seconds(None), format_seconds(float("nan"))
    ('3 ns', '-', '-')
    """
    if seconds is None or seconds != seconds:
        return "-"
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= factor:
            return f"{seconds / factor:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"
