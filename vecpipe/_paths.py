"""Where vecpipe keeps its files.

One function, :func:`cache_dir`, so that every module agrees on the folder and tests can
move it with the ``VECPIPE_CACHE_DIR`` environment variable.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """Return the folder where vecpipe keeps its cache (the wisdom file among others).

    The environment is read at each call, so changing a variable takes effect at once.
    The folder is not created here; writers create it when they first need it.

    Returns
    -------
    pathlib.Path
        ``$VECPIPE_CACHE_DIR`` if that variable is set and not empty. Otherwise the
        platform's per-user cache folder: ``$XDG_CACHE_HOME/vecpipe`` (or
        ``~/.cache/vecpipe``) on Linux and other Unix systems,
        ``~/Library/Caches/vecpipe`` on macOS, ``%LOCALAPPDATA%\\vecpipe\\Cache`` on
        Windows.

    Examples
    --------
    >>> from vecpipe._paths import cache_dir
    >>> cache_dir().is_absolute()
    True
    """
    override = os.environ.get("VECPIPE_CACHE_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "").strip()
        base = Path(local) if local else Path.home() / "AppData" / "Local"
        return base / "vecpipe" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "vecpipe"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG specification says a relative value is invalid and must be ignored.
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "vecpipe"
    return Path.home() / ".cache" / "vecpipe"
