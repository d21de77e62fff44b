"""The bootstrap: resample the rows (or whole clusters of rows), refit, take percentile intervals.

Every interval in the library comes from :func:`run_bootstrap`, so that the resampling (one seeded
generator, one draw per resample), the treatment of resamples that cannot be refitted (left out,
and counted) and the percentiles are the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from replication import memo
from replication.errors import ReplicationError, check_int

#: A number of bootstrap resamples is 0 (no interval) or in this range, in every fitter, chapter and command.
RESAMPLES = (2, 1_000_000)


def check_resamples(value, name: str = "bootstrap") -> int:
    """``value`` as a number of bootstrap resamples: 0, or an integer in :data:`RESAMPLES`. One resample
    gives no interval, and more than a million cost hours without narrowing one."""
    lo, hi = RESAMPLES
    if isinstance(value, bool) or not hasattr(value, "__index__") or not (value == 0 or lo <= value <= hi):
        raise ReplicationError(f"{name}={value!r} is out of range; allowed: 0 (no interval) or an integer in "
                               f"[{lo}, {hi}]")
    return int(value)


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

    def to_plain(self) -> dict:
        """Plain values (for :func:`replication.memo.kept`); :meth:`from_plain` reads them back exactly."""
        return {"names": list(self.names), "samples": self.samples.tolist(), "resamples": self.resamples,
                "percentiles": list(self.percentiles)}

    @classmethod
    def from_plain(cls, plain: dict) -> Bootstrap:
        names = tuple(plain["names"])
        samples = np.array(plain["samples"], dtype=float).reshape(-1, len(names))
        return cls(names, samples, int(plain["resamples"]), tuple(plain["percentiles"]))

    def map(self, statistic: Callable[[np.ndarray], Sequence[float] | None], names: tuple[str, ...]) -> Bootstrap:
        """The bootstrap of a statistic of each sample (None: that sample gives none)."""
        rows = [r for r in (statistic(s) for s in self.samples) if r is not None]
        return Bootstrap(tuple(names), np.array(rows, dtype=float).reshape(len(rows), len(names)),
                         self.resamples, self.percentiles)


def run_bootstrap(refit: Callable, rows: int, resamples: int, *, names: Sequence[str], seed: int = 0,
                  ci: tuple[float, float] = (10, 90), clusters=None, counts: bool = False,
                  strata=None) -> Bootstrap:
    """Resample, refit, and keep what refitted.

    Without ``clusters``, the ``rows`` rows are drawn with replacement, all resamples at once, and
    ``refit`` receives the (resamples, rows) array of row indices, one resample per row, so that
    it can refit them as one batch.

    With ``clusters`` (a label per row), each resample draws as many labels as there are clusters,
    with replacement, and takes the rows of the clusters drawn; a cluster drawn more than once
    enters once. ``refit`` receives the list of those row-index arrays. With ``counts=True`` a
    cluster drawn k times enters k times (the usual cluster bootstrap, for estimators whose points
    carry weights): ``refit`` receives the (resamples, rows) array of how often each row enters.

    With ``strata`` (a label per row), each resample redraws every stratum on its own: column j of
    the (resamples, rows) index array that ``refit`` receives is a row drawn, with replacement, from
    the stratum of row j, so each stratum keeps its size in every resample.

    ``refit`` returns one row of estimates (``names``) per resample it could refit.
    """
    check_resamples(resamples, "resamples")
    rng = np.random.default_rng(check_int("seed", seed, 0))
    if clusters is not None and strata is not None:
        raise ReplicationError("run_bootstrap: give clusters or strata, not both")
    if counts and clusters is None:
        raise ReplicationError("run_bootstrap: counts=True needs clusters")
    if strata is not None:
        strata = np.asarray(strata)
        if strata.shape != (rows,):
            raise ReplicationError(f"strata has {strata.size} labels; need one per row ({rows})")
        picks = np.empty((resamples, rows), dtype=int)
        for label in _in_order(strata):
            members = np.flatnonzero(strata == label)
            picks[:, members] = members[rng.integers(0, members.size, size=(resamples, members.size))]
    elif clusters is None:
        picks = rng.integers(0, rows, size=(resamples, rows))
    elif counts:
        clusters = np.asarray(clusters)
        labels = _in_order(clusters)
        drawn = rng.integers(0, labels.size, size=(resamples, labels.size))
        times = (drawn[:, :, None] == np.arange(labels.size)).sum(1)  # (resamples, clusters)
        of_row = (clusters[:, None] == labels[None, :]).argmax(1)
        picks = times[:, of_row].astype(float)
    else:
        clusters = np.asarray(clusters)
        labels = _in_order(clusters)
        picks = [np.flatnonzero(np.isin(clusters, rng.choice(labels, labels.size, replace=True)))
                 for _ in range(resamples)]
    samples = np.asarray(refit(picks), dtype=float).reshape(-1, len(names))
    return Bootstrap(tuple(names), samples, int(resamples), tuple(ci))


def kept_bootstraps(name: str, args: dict, compute) -> tuple[dict, Bootstrap | None]:
    """``compute()``'s (key -> Bootstrap, Bootstrap or None), kept on disk by :func:`replication.memo.kept`
    under ``name`` and ``args``: a slow bootstrap that chapters and tests ask for in separate processes is
    computed once. Keys are strings or tuples of strings."""
    def plain():
        many, one = compute()
        return {"many": [[key, b.to_plain()] for key, b in many.items()], "one": one and one.to_plain()}

    kept = memo.kept(name, args, plain)
    one = kept["one"] and Bootstrap.from_plain(kept["one"])
    return {key: Bootstrap.from_plain(b) for key, b in kept["many"]}, one


def _in_order(labels: np.ndarray) -> np.ndarray:
    """The distinct labels, in order of first appearance."""
    _, first = np.unique(labels, return_index=True)
    return labels[np.sort(first)]
