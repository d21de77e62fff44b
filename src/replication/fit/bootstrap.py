"""The bootstrap: resample the rows (or whole clusters of rows), refit, take percentile intervals.

Every interval in the library comes from :func:`run_bootstrap`, so that the resampling (one seeded
generator, one draw per resample), the treatment of resamples that cannot be refitted (left out,
and counted) and the percentiles are the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """The refits of ``resamples`` resamples: one row of ``samples`` per resample that refitted."""

    names: tuple[str, ...]
    samples: np.ndarray  # (kept, len(names))
    resamples: int
    percentiles: tuple[float, float] = (10, 90)

    @property
    def kept(self) -> int:
        return len(self.samples)

    @property
    def summary(self) -> str:
        """``kept/resamples``: how many resamples refitted."""
        return f"{self.kept}/{self.resamples}"

    def interval(self) -> dict[str, tuple[float, float]]:
        """name -> (lo, hi): the ``percentiles`` of each column of the samples."""
        lo, hi = np.percentile(self.samples, self.percentiles, axis=0)
        return {k: (float(lo[j]), float(hi[j])) for j, k in enumerate(self.names)}

    def map(self, statistic: Callable[[np.ndarray], Sequence[float] | None], names: tuple[str, ...]) -> Bootstrap:
        """The bootstrap of a statistic of each sample (None: that sample gives none)."""
        rows = [r for r in (statistic(s) for s in self.samples) if r is not None]
        return Bootstrap(tuple(names), np.array(rows, dtype=float).reshape(len(rows), len(names)),
                         self.resamples, self.percentiles)


def run_bootstrap(refit: Callable, rows: int, resamples: int, *, names: Sequence[str], seed: int = 0,
                  ci: tuple[float, float] = (10, 90), clusters=None) -> Bootstrap:
    """Resample, refit, and keep what refitted.

    Without ``clusters``, the ``rows`` rows are drawn with replacement, all resamples at once, and
    ``refit`` receives the (resamples, rows) array of row indices, one resample per row, so that
    it can refit them as one batch.

    With ``clusters`` (a label per row), each resample draws as many labels as there are clusters,
    with replacement, and takes the rows of the clusters drawn; a cluster drawn more than once
    enters once. ``refit`` receives the list of those row-index arrays.

    ``refit`` returns one row of estimates (``names``) per resample it could refit.
    """
    rng = np.random.default_rng(seed)
    if clusters is None:
        picks = rng.integers(0, rows, size=(resamples, rows))
    else:
        clusters = np.asarray(clusters)
        _, first = np.unique(clusters, return_index=True)
        labels = clusters[np.sort(first)]  # in order of first appearance
        picks = [np.flatnonzero(np.isin(clusters, rng.choice(labels, labels.size, replace=True)))
                 for _ in range(resamples)]
    samples = np.asarray(refit(picks), dtype=float).reshape(-1, len(names))
    return Bootstrap(tuple(names), samples, int(resamples), tuple(ci))
