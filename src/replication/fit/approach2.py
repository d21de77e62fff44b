"""Approach 2: IsoFLOP profiles. The minimum of each budget's loss in log N (and in log D), N*(C) and
D*(C), gives the compute-optimal power laws. The paper fits a parabola through every run of a budget
(estimator "all"); the minimum may also be found by the estimators of :mod:`replication.fit.vertex`,
whose bias :mod:`replication.fit.vertex_bias` measures."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_number
from replication.fit.bootstrap import Bootstrap, check_resamples, run_bootstrap
from replication.fit.laws import fit_compute_optimal
from replication.fit.observations import need_variation, observations, positive
from replication.fit.result import FitResult
from replication.fit.vertex import DEFAULT_ESTIMATOR, check_estimator, minima, profile_minimum


#: The most IsoFLOP budgets one fit takes: the paper used 9; the grouping of points by budget scans every
#: point once per budget, which at a million budgets (a C column of unrounded values) would never end.
MAX_BUDGETS = 1_000


class NoInteriorMinimum(ReplicationError):
    """An IsoFLOP budget whose fitted parabola has no minimum inside the sampled model sizes.

    Its vertex would be an extrapolation (or a maximum), so it cannot serve as N*(C).
    """

    def __init__(self, budget: float, reason: str):
        self.budget = budget
        self.reason = reason
        super().__init__(f"budget C={budget:.3g}: no interior minimum ({reason}); "
                         "sample sizes on both sides of the optimum, or pass on_edge='exclude'")


class Vertex(NamedTuple):
    """The least-squares parabola y = c0 + c1·x + c2·x² through some points, and its vertex."""

    coef: tuple[float, float, float] | None  # (c0, c1, c2); None with fewer than 3 distinct x
    x: float  # the vertex (NaN where the parabola has none)
    y: float  # the parabola's value there
    reason: str | None  # why the vertex is not an interior minimum; None when it is


def parabola_vertex(x, y) -> Vertex:
    """Fit y = c0 + c1·x + c2·x² by least squares and locate its vertex."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.unique(x).size < 3:
        return Vertex(None, math.nan, math.nan, f"{np.unique(x).size} distinct sizes, need 3")
    xm = x.mean()  # centred for conditioning; log N spans a few units around 20
    c2, c1, c0 = np.polyfit(x - xm, y, 2)
    coef = (c0 - c1 * xm + c2 * xm * xm, c1 - 2 * c2 * xm, c2)  # in uncentred x
    if c2 <= 0:
        return Vertex(coef, math.nan, math.nan, "parabola opens downward")
    v = xm - c1 / (2 * c2)
    at_v = coef[0] + coef[1] * v + coef[2] * v * v
    if not (x.min() < v < x.max()):
        return Vertex(coef, v, at_v, "vertex outside the sampled sizes")
    return Vertex(coef, v, at_v, None)


def _group_budgets(C: np.ndarray, budgets, snap_tol: float):
    """Budget label per point (NaN: dropped). Snap to ``budgets`` within a factor 1 ± snap_tol,
    or, without budgets, group equal C (to 4 significant digits)."""
    if budgets is None:
        return np.array([float(f"{c:.4g}") for c in C])
    b = positive("budgets", budgets)
    if b.size == 0:
        raise ReplicationError("budgets is empty; allowed: one or more budgets > 0 (FLOPs), or None to group equal C")
    check_number("snap_tol", snap_tol, 0, 1, lo_open=True, hi_open=True)
    nearest = b[np.abs(np.log(C)[:, None] - np.log(b)[None, :]).argmin(1)]
    return np.where(np.abs(C / nearest - 1) <= snap_tol, nearest, np.nan)


def fit_approach2(data=None, *, N=None, D=None, loss=None, C=None, budgets=None, snap_tol: float = 0.1,
                  on_edge: str = "exclude", bootstrap: int = 0, ci=(10, 90), seed: int = 0,
                  estimator: str = DEFAULT_ESTIMATOR) -> FitResult:
    """Chinchilla's Approach 2: for each IsoFLOP budget, find the minimum of loss in log N (and in
    log D); the minima give N*(C) and D*(C); fit N* = k_N·C^a and D* = k_D·C^b.

    ``estimator`` (:data:`~replication.fit.vertex.VERTEX_ESTIMATORS`) finds each minimum: "all" is the
    paper's parabola through every run of the budget, biased on wide lopsided profiles; the default
    "profile" fits the parametric form along the IsoFLOP line (see :mod:`replication.fit.vertex`).

    Points are grouped by equal C, or snapped to the nearest of ``budgets``: points within a
    factor 1 ± ``snap_tol`` of it are moved onto it (C = budget, D = budget/6N), the rest are
    dropped (as for the points Epoch AI read off the paper's Figure 3). A budget
    without an interior minimum raises :class:`NoInteriorMinimum` (``on_edge="raise"``) or is
    left out and listed in the result (``on_edge="exclude"``); its vertex is never used.

    ``details["curve_N"]`` holds each used budget's fitted curve in log N, in the order of ``table``
    ((budgets, 2, 64): log N and loss over the fitted sizes), ``details["parabola_N"]`` the coefficients
    of its parabola (NaN where the estimator is not a parabola), and ``details["budget_of_point"]`` the
    budget of every input point.
    """
    check_choice("on_edge", on_edge, ("raise", "exclude"))
    check_number("snap_tol", snap_tol, 0, 1, lo_open=True, hi_open=True)
    check_resamples(bootstrap)
    check_estimator(estimator)
    N, D, loss, C = observations(data, N=N, D=D, loss=loss, C=C)
    need_variation("Approach 2 fits a parabola of loss in log N at each budget: it needs N and loss each to "
                   "take 2 or more values", N=N, loss=loss)
    label = _group_budgets(C, budgets, snap_tol)
    label_of_point = label.copy()
    if budgets is not None:
        # Snapping puts each kept point exactly on its IsoFLOP line: C = budget, D = budget / 6N.
        keep = np.isfinite(label)
        N, loss, C = N[keep], loss[keep], label[keep]
        D, label = C / (6 * N), label[keep]
    found = np.unique(label[np.isfinite(label)])
    if found.size > MAX_BUDGETS:  # each budget is one scan of every point and two parabola fits
        raise ReplicationError(f"Approach 2 found {found.size:,} IsoFLOP budgets (distinct C to 4 significant "
                               f"digits); allowed: at most {MAX_BUDGETS:,} (group runs with budgets and snap_tol)")
    rows, parabolas, curves, excluded = [], [], [], []
    for c in found:
        m = label == c
        in_n = profile_minimum(np.log(N[m]), loss[m], estimator=estimator)
        in_d = profile_minimum(np.log(D[m]), loss[m], estimator=estimator)
        why = in_n.reason or in_d.reason
        if why is not None:
            if on_edge == "raise":
                raise NoInteriorMinimum(float(c), why)
            excluded.append({"C": float(c), "points": int(m.sum()), "reason": why})
            continue
        n_star, d_star = math.exp(in_n.x), math.exp(in_d.x)
        rows.append({"C": float(c), "points": int(m.sum()), "N_star": n_star, "D_star": d_star,
                     "loss_star": in_d.y, "tokens_per_param": d_star / n_star})
        parabolas.append(in_n.coef or (math.nan,) * 3)
        xs = np.linspace(np.log(N[m]).min(), np.log(N[m]).max(), 64)
        curves.append((xs, in_n.curve(xs)))
    if len(rows) < 2:
        raise ReplicationError(f"Approach 2 needs at least 2 budgets with an interior minimum; got {len(rows)}"
                               + (f" ({len(excluded)} excluded: {excluded[0]['reason']}, ...)" if excluded else ""))
    table = pd.DataFrame(rows)
    fit = fit_compute_optimal(table["C"], table["N_star"], table["D_star"], bootstrap=bootstrap, ci=ci, seed=seed)
    message = ("all budgets have an interior minimum" if not excluded
               else f"{len(excluded)} budget(s) excluded: " + "; ".join(f"C={e['C']:.3g} ({e['reason']})" for e in excluded))
    title = ("Approach 2, IsoFLOP parabolas (Hoffmann et al. 2022)" if estimator == "all"
             else f"Approach 2, IsoFLOP profiles, minimum by the {estimator} estimator")
    return replace(
        fit, method="approach2", title=title, message=message, n_points=int(N.size), table=table,
        details={"budgets_used": len(rows), "budgets_excluded": len(excluded), "excluded": excluded,
                 "budget_of_point": label_of_point, "parabola_N": np.array(parabolas),
                 "curve_N": np.array(curves)},
        options={"estimator": estimator, "snap_tol": snap_tol if budgets is not None else None, "on_edge": on_edge,
                 **fit.options},
    )


def batch_vertices(x: np.ndarray, y: np.ndarray, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parabola_vertex` of many point sets at once: x, y of shape (sets, points).

    ``weights`` (sets, points): how often each point counts in its set's least squares (a
    bootstrap's counts; 0 leaves it out). Returns the vertex x of each set's parabola and whether it
    is an interior minimum (at least 3 distinct x, opening upward, strictly inside the sampled x);
    the vertex is NaN where it is not.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    drawn = w > 0
    xs = np.sort(np.where(drawn, x, np.inf), axis=1)  # left-out points sort last
    with np.errstate(invalid="ignore"):  # inf − inf between left-out points
        step = np.diff(xs, axis=1) > 0
    distinct = (np.isfinite(xs) & np.c_[np.ones((len(x), 1), bool), step]).sum(1)
    lo, hi = xs[:, 0], np.where(drawn, x, -np.inf).max(1)
    xm = (w * x).sum(1, keepdims=True) / np.maximum(w.sum(1, keepdims=True), 1e-300)  # centred for conditioning
    u = x - xm
    X = np.stack([np.ones_like(u), u, u * u], axis=2)  # (sets, points, 3)
    XtW = (X * w[..., None]).transpose(0, 2, 1)
    G = XtW @ X
    ok = distinct >= 3
    G[~ok] = np.eye(3)  # any invertible matrix: these sets have no parabola
    c0, c1, c2 = np.linalg.solve(G, XtW @ y[..., None])[..., 0].T
    with np.errstate(divide="ignore", invalid="ignore"):
        v = xm[:, 0] - c1 / (2 * c2)
    ok &= (c2 > 0) & (lo < v) & (v < hi)
    return np.where(ok, v, np.nan), ok


def budget_labels(C, budgets, snap_tol: float = 0.1) -> np.ndarray:
    """The budget each point is snapped to by :func:`fit_approach2` (NaN: not within ``snap_tol``)."""
    return _group_budgets(positive("C", C), budgets, snap_tol)


def resampled_exponents(logN: np.ndarray, loss: np.ndarray, label: np.ndarray, picks=None, weights=None,
                        estimator: str = DEFAULT_ESTIMATOR):
    """Approach 2's exponent a on many resamples at once: (a, budgets used) per resample.

    ``label`` is each point's budget (NaN: not on one). A resample is a row of ``picks``, which gives,
    in the columns of each budget's points, the points drawn for that budget; or a row of
    ``weights``, how often each point was drawn. Every budget's minimum in log N is refound by
    ``estimator``; a budget without an interior minimum is left out of that resample, as in
    :func:`fit_approach2`; a is the least-squares slope of log N* on log C (NaN below two budgets).
    """
    check_estimator(estimator)
    budgets = np.unique(label[np.isfinite(label)])
    v = np.full((len(picks if weights is None else weights), budgets.size), np.nan)
    for j, c in enumerate(budgets):
        cols = np.flatnonzero(label == c)
        if estimator != "all":  # the budget's own points, each counted as often as it was drawn
            w = weights[:, cols] if weights is not None else drawn_counts(picks[:, cols], cols)
            v[:, j] = minima(logN[cols], np.broadcast_to(loss[cols], w.shape), w, estimator=estimator).x
        elif weights is None:
            v[:, j] = batch_vertices(logN[picks[:, cols]], loss[picks[:, cols]])[0]
        else:
            w = weights[:, cols]
            v[:, j] = batch_vertices(np.broadcast_to(logN[cols], w.shape), np.broadcast_to(loss[cols], w.shape), w)[0]
    used = np.isfinite(v)
    k = used.sum(1)
    log_c = np.log(budgets)
    with np.errstate(divide="ignore", invalid="ignore"):
        cbar = np.where(used, log_c, 0.0).sum(1) / k
        vbar = np.where(used, v, 0.0).sum(1) / k
        dc = np.where(used, log_c - cbar[:, None], 0.0)
        a = (dc * np.where(used, v - vbar[:, None], 0.0)).sum(1) / (dc * dc).sum(1)
    return np.where(k >= 2, a, np.nan), k


def drawn_counts(picks: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """How often each of the points ``cols`` appears in each row of ``picks`` (rows, draws), whose
    entries are all among ``cols`` (sorted): (rows, len(cols))."""
    local = np.searchsorted(cols, picks)
    rows = np.arange(len(picks))[:, None] * cols.size
    return np.bincount((rows + local).ravel(), minlength=len(picks) * cols.size).reshape(len(picks), cols.size)


def bootstrap_approach2(data=None, *, N=None, D=None, loss=None, C=None, budgets, snap_tol: float = 0.1,
                        resamples: int = 4000, seed: int = 0, ci=(10, 90),
                        estimator: str = DEFAULT_ESTIMATOR) -> Bootstrap:
    """The vertex-level bootstrap of :func:`fit_approach2` on points snapped to ``budgets``.

    Each resample redraws the points of every budget from that budget's own points (with
    replacement), refinds every budget's minimum by ``estimator`` and applies the point estimate's rule: a budget
    whose resampled parabola has no interior minimum is left out of that resample, and a resample
    with fewer than two budgets left is left out of the bootstrap.

    Snapping puts D* = C / 6N* on every budget, so b = 1 − a in every resample. The samples are
    (a, b, budgets used).
    """
    check_estimator(estimator)
    N, D, loss, C = observations(data, N=N, D=D, loss=loss, C=C)
    label = budget_labels(C, budgets, snap_tol)
    keep = np.isfinite(label)
    logN, y, label = np.log(N[keep]), loss[keep], label[keep]

    def refit(picks: np.ndarray) -> np.ndarray:
        a, k = resampled_exponents(logN, y, label, picks, estimator=estimator)
        good = np.isfinite(a)
        return np.c_[a[good], 1 - a[good], k[good]]

    return run_bootstrap(refit, int(keep.sum()), resamples, names=("a", "b", "budgets used"), seed=seed, ci=ci,
                         strata=label)
