"""Every exponent with the intervals it needs: the bootstrap misses the scatter between budgets.

An exponent of Approach 2 is a least-squares slope through a handful of vertices (one per budget). A
bootstrap that redraws runs *within* budgets carries each vertex's own uncertainty into the slope, but
not the scatter of the vertices about the line: with five vertices, that scatter is often the larger.
So every exponent is reported with

- ``bootstrap``: the percentile interval of the resampled slopes (within budgets), where one was run;
- ``residual``: the t interval of the slope from the residuals about the fitted line
  (``slope ± t(k − 2) · s / sqrt(Sxx)``, k vertices);
- ``leave one budget out``: the range of the slopes with each vertex left out in turn;
- any other ranges of refits the caller supplies (``leave one width out``: each size of the ladder left
  out and every vertex refound; ``leave one budget out, refitted``: a budget's runs left out of a fit
  that uses every budget at once; the snapping tolerance of the Figure 4 points);

and :attr:`ExponentIntervals.widest`, the smallest interval that contains all of them, which decides
the verdict (:meth:`ExponentIntervals.verdict`).

:func:`exponent_intervals` takes vertices (log C, log N*, log D* per budget, NaN where a budget has no
vertex) and gives a (log N* on log C), b (log D* on log C) and their ratio b/a, the exponent of
D* ∝ N*^(b/a). Regressed on the nominal budgets, b/a does not depend on how compute is counted (any
count C' = κ·C^γ scales both slopes alike), so tokens per parameter at the optimum,
D*/N* ∝ N*^(b/a − 1), is a trend every counting convention agrees on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import t as student_t

from replication.errors import ReplicationError, check_number
from replication.verdict import Verdict, from_interval

#: The exponents :func:`exponent_intervals` reports.
NAMES = ("a", "b", "b/a")
#: Names of the intervals, in the order tables show them.
BOOTSTRAP, RESIDUAL, LOBO, LOWO = ("bootstrap", "residual t", "leave one budget out", "leave one width out")
#: A range some analyses add: each budget's runs left out and the whole analysis refitted (an Approach-3
#: surface), not only that budget's vertex dropped from the line.
LOBO_REFIT = "leave one budget out, refitted"


@dataclass(frozen=True)
class ExponentIntervals:
    """One exponent: its estimate over ``vertices`` vertices, the ``level`` bootstrap and residual-t
    intervals, and named ranges of refits (each (lo, hi); ``ranges`` is a tuple of (name, (lo, hi)))."""

    name: str
    estimate: float
    vertices: int
    bootstrap: tuple[float, float] | None
    residual: tuple[float, float]
    ranges: tuple[tuple[str, tuple[float, float]], ...] = ()
    level: float = 0.8

    def intervals(self) -> dict[str, tuple[float, float]]:
        """Every interval and range by name (bootstrap first where there is one)."""
        out = {} if self.bootstrap is None else {BOOTSTRAP: self.bootstrap}
        return out | {RESIDUAL: self.residual} | dict(self.ranges)

    @property
    def widest(self) -> tuple[float, float]:
        """The smallest interval containing every interval and range (and the estimate); NaN ends of
        intervals that could not be computed are ignored."""
        ends = [x for lo_hi in self.intervals().values() for x in lo_hi if math.isfinite(x)] + [self.estimate]
        return float(min(ends)), float(max(ends))

    @property
    def widest_by(self) -> tuple[str, str]:
        """Which interval sets the lower and which the upper end of :attr:`widest`."""
        lo, hi = self.widest
        iv = self.intervals()
        return (next((k for k, v in iv.items() if v[0] == lo), "estimate"),
                next((k for k, v in iv.items() if v[1] == hi), "estimate"))

    def verdict(self, paper: float, claim: str | None = None, finding: str = "") -> Verdict:
        """The paper's value ``paper`` against :attr:`widest`: *agrees* inside it, else *disagrees*."""
        return from_interval(claim or f"The paper's {self.name} is {paper:.2f}.", paper, self.estimate, self.widest,
                             test=f"the widest of its {len(self.intervals())} intervals ({self.level:.0%} each)",
                             n=self.vertices, unit="budgets", finding=finding)

    def inside(self, value: float) -> dict[str, bool]:
        """For each interval, whether ``value`` lies inside it."""
        return {k: bool(lo <= value <= hi) for k, (lo, hi) in self.intervals().items()}

    def row(self) -> dict:
        """The estimate and every interval as one flat row (for tables and the claims ledger)."""
        out = {"exponent": self.name, "estimate": self.estimate, "vertices": self.vertices}
        for k, v in self.intervals().items():
            out[k] = v
        out["widest"] = self.widest
        return out


def slope(x, y) -> tuple[float, float, int]:
    """The least-squares slope of ``y`` on ``x`` over the finite pairs, its standard error from the
    residuals (NaN with fewer than 3 pairs) and the number of pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    k = int(x.size)
    if k < 2:
        return math.nan, math.nan, k
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx == 0:
        return math.nan, math.nan, k
    s = float(dx @ (y - y.mean())) / sxx
    if k < 3:
        return s, math.nan, k
    resid = y - y.mean() - s * dx
    return s, math.sqrt(float(resid @ resid) / (k - 2) / sxx), k


def _ratio_se(x, yn, yd) -> float:
    """Standard error of slope(yd)/slope(yn) by the delta method, from the residuals of both lines
    (which share x, so their slopes covary as the residuals do)."""
    x, yn, yd = (np.asarray(v, float) for v in (x, yn, yd))
    ok = np.isfinite(x) & np.isfinite(yn) & np.isfinite(yd)
    x, yn, yd = x[ok], yn[ok], yd[ok]
    k = x.size
    if k < 3:
        return math.nan
    dx = x - x.mean()
    sxx = float(dx @ dx)
    a, b = float(dx @ (yn - yn.mean())) / sxx, float(dx @ (yd - yd.mean())) / sxx
    rn, rd = yn - yn.mean() - a * dx, yd - yd.mean() - b * dx
    var_a, var_b = float(rn @ rn) / (k - 2) / sxx, float(rd @ rd) / (k - 2) / sxx
    cov = float(rn @ rd) / (k - 2) / sxx
    r = b / a
    return math.sqrt(max(var_b + r * r * var_a - 2 * r * cov, 0.0)) / abs(a)


def _statistics(log_c, log_n, log_d) -> dict[str, float]:
    """a, b and b/a of one set of vertices."""
    a, b = slope(log_c, log_n)[0], slope(log_c, log_d)[0]
    return {"a": a, "b": b, "b/a": b / a if a else math.nan}


def _range(values: Sequence[float]) -> tuple[float, float]:
    v = [x for x in values if math.isfinite(x)]
    return (float(min(v)), float(max(v))) if v else (math.nan, math.nan)


def exponent_intervals(log_c, log_n, log_d, *, bootstrap: Mapping[str, np.ndarray] | None = None,
                       refits: Mapping[str, Sequence[tuple]] | None = None,
                       level: float = 0.8) -> dict[str, ExponentIntervals]:
    """a, b and b/a of the vertices (``log_c``, ``log_n``, ``log_d``: one entry per budget, NaN where a
    budget has no vertex), each with its intervals (:class:`ExponentIntervals`).

    ``bootstrap``: name -> resampled values of that exponent (NaN entries ignored), whose central
    ``level`` percentile interval is reported. ``refits``: range name -> vertex triples
    (log C, log N*, log D*) of the same analysis with one thing changed (a width left out, another
    tolerance); their range of each exponent is reported. The leave-one-budget-out range is computed
    here, from the vertices alone.
    """
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    log_c, log_n, log_d = (np.asarray(v, float).ravel() for v in (log_c, log_n, log_d))
    if not (log_c.shape == log_n.shape == log_d.shape):
        raise ReplicationError("log_c, log_n and log_d need one entry per budget each")
    ok = np.isfinite(log_c) & np.isfinite(log_n) & np.isfinite(log_d)
    k = int(ok.sum())
    if k < 3:
        raise ReplicationError(f"exponent intervals need 3 or more vertices (a residual); got {k}")
    est = _statistics(log_c, log_n, log_d)
    crit = float(student_t.ppf(0.5 + level / 2, k - 2))
    se = {"a": slope(log_c, log_n)[1], "b": slope(log_c, log_d)[1], "b/a": _ratio_se(log_c, log_n, log_d)}
    # each budget's vertex left out in turn
    lobo = []
    for i in np.flatnonzero(ok):
        keep = ok.copy()
        keep[i] = False
        lobo.append(_statistics(log_c[keep], log_n[keep], log_d[keep]))
    other = {name: [_statistics(*triple) for triple in triples] for name, triples in (refits or {}).items()}
    tail = 100 * (1 - level) / 2
    out = {}
    for name in NAMES:
        boot = None
        if bootstrap is not None and name in bootstrap:
            s = np.asarray(bootstrap[name], float)
            s = s[np.isfinite(s)]
            if s.size:
                boot = tuple(float(x) for x in np.percentile(s, (tail, 100 - tail)))
        ranges = ((LOBO, _range([r[name] for r in lobo])),)
        ranges += tuple((label, _range([r[name] for r in rows])) for label, rows in other.items())
        out[name] = ExponentIntervals(name, float(est[name]), k, boot,
                                      (est[name] - crit * se[name], est[name] + crit * se[name]), ranges, level)
    return out


def ratio_samples(log_c, log_n, log_d) -> np.ndarray:
    """b/a of many resampled vertex sets at once: arrays (sets, budgets), NaN where a resample has no
    vertex at a budget (``log_c`` may be one row shared by all sets)."""
    log_n, log_d = np.atleast_2d(log_n), np.atleast_2d(log_d)
    log_c = np.broadcast_to(np.asarray(log_c, float), log_n.shape)
    return batched_slopes(log_d, log_c) / batched_slopes(log_n, log_c)


def batched_slopes(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The least-squares slope of y on x per row, over the finite entries (NaN with fewer than 2)."""
    y, x = np.atleast_2d(y), np.broadcast_to(x, np.shape(np.atleast_2d(y)))
    ok = np.isfinite(y) & np.isfinite(x)
    k = ok.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xb = np.where(ok, x, 0).sum(1) / k
        yb = np.where(ok, y, 0).sum(1) / k
        dx = np.where(ok, x - xb[:, None], 0)
        s = (dx * np.where(ok, y - yb[:, None], 0)).sum(1) / (dx * dx).sum(1)
    return np.where(k >= 2, s, np.nan)
