"""What stages and pipelines share: running over many batches, or one input in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Batched"]


class Batched:
    """``map``, ``split`` and ``to_dask``: what :class:`~vecpipe.Stage` and
    :class:`~vecpipe.Pipeline` share."""

    def map(
        self,
        batches: Iterable[Any],
        *,
        workers: int | None = None,
        executor: Any = "auto",
        ordered: bool = True,
        star: bool = False,
        max_nbytes: int = 1 << 20,
    ) -> Iterator[Any]:
        """Run over batches in parallel, results in input order, streaming.

        See :func:`vecpipe.parallel.map_batches`: threads for GIL-free variants,
        spawned processes (large arrays memory-mapped) for code that holds the GIL, at
        most about ``2 * workers`` batches in flight.

        Examples
        --------
        >>> import numpy as np
        >>> import vecpipe as vp
        >>> @vp.stage
        ... def total(x):
        ...     return float(np.sum(x))
        >>> list(total.map([np.ones(3), np.ones(5)], workers=2, executor="threads"))
        [3.0, 5.0]
        >>> pipe = vp.Pipeline([np.cumsum, np.max])
        >>> [float(v) for v in pipe.map([np.ones(3), np.ones(5)], workers=2, executor="threads")]
        [3.0, 5.0]
        """
        from vecpipe.parallel import map_batches

        target: Any = self  # a Stage or a Pipeline
        return map_batches(
            target,
            batches,
            workers=workers,
            executor=executor,
            ordered=ordered,
            star=star,
            max_nbytes=max_nbytes,
        )

    def split(
        self,
        *args: Any,
        workers: int | None = None,
        chunks: int | None = None,
        executor: Any = "auto",
        **kwargs: Any,
    ) -> Any:
        """Call on one large input cut into row chunks run in parallel, then joined.

        For a chunkable stage, or a pipeline of chunkable stages; see
        :func:`vecpipe.parallel.split`.
        """
        from vecpipe.parallel import split

        target: Any = self  # a Stage or a Pipeline
        return split(target, *args, workers=workers, chunks=chunks, executor=executor, **kwargs)

    def to_dask(
        self,
        data: Any,
        *args: Any,
        meta: Any = None,
        sample: Any = None,
        by: Any = None,
        tune: bool | int = True,
        threads: int | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Apply to every partition of a Dask DataFrame, Series or array (lazily).

        See :func:`vecpipe.dask.map_partitions`: the meta comes from the reference on a
        small sample, one partition is tuned here, and with a ``distributed`` client the
        wisdom is shipped to the workers. For group-wise stages pass ``by=`` (the group
        columns), or partitions will hold parts of groups.

        Examples
        --------
        >>> import pandas as pd
        >>> import dask.dataframe as dd
        >>> import vecpipe as vp
        >>> pipe = vp.Pipeline([lambda s: s * 2, lambda s: s + 1])
        >>> s = dd.from_pandas(pd.Series([1.0, 2.0, 3.0]), npartitions=2)
        >>> pipe.to_dask(s).compute(scheduler="sync").tolist()
        [3.0, 5.0, 7.0]
        """
        from vecpipe.dask import map_partitions

        target: Any = self  # a Stage or a Pipeline
        return map_partitions(
            target,
            data,
            *args,
            meta=meta,
            sample=sample,
            by=by,
            tune=tune,
            threads=threads,
            client=client,
            **kwargs,
        )
