"""Approach 1: the lower envelope of training curves over a log-spaced grid of FLOP counts."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_int, check_number
from replication.fit.bootstrap import check_resamples
from replication.fit.laws import fit_compute_optimal
from replication.fit.observations import column, need_variation, observations, positive
from replication.fit.result import FitResult


#: The most training curves, and runs × FLOP grid points, one fit takes. The paper's Approach 1 used a few
#: hundred models at four horizons each; each run is found by a scan of every row, and the envelope holds two
#: float tables of runs × grid points (20,000,000 cells: 320 MB).
MAX_RUNS = 5_000
MAX_CELLS = 20_000_000


def fit_approach1(data=None, *, N=None, D=None, loss=None, C=None, run=None, horizon=None,
                  tail: float = 0.15, grid_points: int = 1500, bootstrap: int = 0, ci=(10, 90),
                  seed: int = 0) -> FitResult:
    """Chinchilla's Approach 1: the minimum loss over all runs at each FLOP count.

    Rows are points on training curves: ``N`` parameters, ``D`` tokens seen so far, ``loss``.
    ``run`` names the curve (default: one per (N, horizon), or per N); ``horizon`` is the token
    count of the run's cosine cycle (default: its last D). As in the paper, only points in the last
    ``tail`` of each schedule are used: earlier points are not at a tuned schedule's end. Each run's
    log-loss is interpolated in log C on a log-spaced grid of ``grid_points`` FLOP values; the
    envelope's N and D at each grid point are fitted with free power laws. ``bootstrap`` resamples
    the grid points; they are far from independent, so for an interval that means something,
    resample whole runs (:func:`replication.fit.bootstrap.run_bootstrap` with ``clusters``).
    """
    if data is not None:
        run = column(data, "run", required=False) if run is None else run
        horizon = column(data, "horizon", required=False) if horizon is None else horizon
    check_number("tail", tail, 0, 1, lo_open=True)
    grid_points = check_int("grid_points", grid_points, 2, 1_000_000)
    check_resamples(bootstrap)
    N, D, loss, C = observations(data, N=N, D=D, loss=loss, C=C)
    H = None if horizon is None else positive("horizon", horizon, N.size)
    if run is None:
        keys = list(zip(N, H)) if H is not None else list(N)
        run = pd.factorize(pd.Series(keys, dtype=object))[0]
    run = np.asarray(run)
    if run.size != N.size:
        raise ReplicationError(f"run has {run.size} values but N has {N.size}")
    # Integer codes, in order of first appearance as pd.unique gives them: each run's rows are then found by
    # an integer scan, not a comparison of Python objects (run names) over every row, once per run.
    codes, labels = pd.factorize(run)
    if labels.size > MAX_RUNS:
        raise ReplicationError(f"Approach 1 got {labels.size:,} runs; allowed: at most {MAX_RUNS:,} training curves")
    if labels.size * grid_points > MAX_CELLS:
        raise ReplicationError(f"Approach 1 would tabulate {labels.size:,} runs × {grid_points:,} grid points; "
                               f"allowed: at most {MAX_CELLS:,} (fewer runs or a smaller grid_points)")
    curves = []
    for k, r in enumerate(labels):
        m = codes == k
        h = D[m].max() if H is None else H[m].max()
        keep = m & (D >= (1 - tail) * h)
        order = np.argsort(C[keep])
        lc = np.log(C[keep][order])
        if np.unique(lc).size < 2:
            continue  # one point spans no FLOP range; it cannot be interpolated
        curves.append({"run": r, "N": float(np.median(N[keep])), "horizon": float(h), "logC": lc,
                       "loss": loss[keep][order], "logD": np.log(D[keep][order])})
    if len(curves) < 2:
        raise ReplicationError(f"Approach 1 needs at least 2 runs with 2 or more points in the last {tail:.0%} "
                               f"of their schedule; got {len(curves)}")
    need_variation("Approach 1 takes the lowest loss over runs of different sizes at each FLOP count: it needs "
                   "N and loss each to take 2 or more values", N=N, loss=loss)
    lo = min(c["logC"][0] for c in curves)
    hi = max(c["logC"][-1] for c in curves)
    grid = np.linspace(lo, hi, grid_points)
    L = np.full((len(curves), grid_points), np.inf)
    logD = np.full((len(curves), grid_points), np.nan)
    for i, c in enumerate(curves):
        inside = (grid >= c["logC"][0]) & (grid <= c["logC"][-1])
        L[i, inside] = np.interp(grid[inside], c["logC"], c["loss"])
        logD[i, inside] = np.interp(grid[inside], c["logC"], c["logD"])
    best = L.argmin(0)
    covered = np.isfinite(L[best, np.arange(grid_points)])
    cols = np.arange(grid_points)[covered]
    winner = best[covered]
    Cg = np.exp(grid[covered])
    n_opt = np.array([curves[i]["N"] for i in winner])
    d_opt = np.exp(logD[winner, cols])
    fit = fit_compute_optimal(Cg, n_opt, d_opt, bootstrap=bootstrap, ci=ci, seed=seed)
    seg = np.flatnonzero(np.r_[True, winner[1:] != winner[:-1]])
    ends = np.r_[seg[1:], winner.size] - 1
    table = pd.DataFrame({
        "run": [curves[winner[i]]["run"] for i in seg],
        "N": [curves[winner[i]]["N"] for i in seg],
        "horizon": [curves[winner[i]]["horizon"] for i in seg],
        "C_from": Cg[seg], "C_to": Cg[ends], "grid_points": ends - seg + 1,
    })
    return replace(
        fit, method="approach1", title="Approach 1, envelope of training curves (Hoffmann et al. 2022)",
        message=f"envelope over {len(curves)} runs on {int(covered.sum())} FLOP grid points",
        n_points=int(N.size), table=table,
        details={"runs": len(curves), "runs_on_envelope": int(np.unique(winner).size),
                 "grid_points_covered": int(covered.sum())},
        options={"tail": tail, "grid_points": grid_points, **fit.options},
    )
