"""Stages for tests/test_idioms_chunks.py, in a module so that worker processes can
import them (pytest puts ``tests/`` on ``sys.path`` and spawned workers inherit it)."""

from __future__ import annotations

import vecpipe as vp


@vp.stage(chunkable=True)
def labels(df):
    """A row function returning text: no handler takes it, so it stays Python."""
    return df.apply(lambda row: f"{row['name']}:{row['id']}", axis=1)


@vp.stage
def labels_whole(df):
    """The same, not declared chunkable: no process variant."""
    return df.apply(lambda row: f"{row['name']}:{row['id']}", axis=1)


@vp.stage(chunkable=True)
def scores(df):
    """A row function compiled in this process: nothing left for worker processes."""
    return df.apply(lambda row: row["a"] * 2.0 + row["b"], axis=1)
