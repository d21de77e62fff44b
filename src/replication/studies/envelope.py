"""Approach 1's envelope read at given budgets: at each budget, the run with the lowest loss among those whose
schedule's tail spans it, where a smaller and a larger run span it too, one optimum per budget (so that the
between-budget intervals of :mod:`replication.studies.exponents` apply to Approach 1 too)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def envelope_at(curves: pd.DataFrame, budgets, tail: float = 0.15) -> dict:
    """Approach 1's envelope read at each of ``budgets`` (FLOPs) instead of over a grid: at each budget,
    the curve (``run`` of :func:`curves_table`) with the lowest loss among those whose last ``tail`` of
    schedule spans the budget, its loss interpolated in log C as :func:`~replication.fit.fit_approach1`
    does. Returns ``loss`` (runs, budgets; inf where a run does not span a budget), ``log_n`` (runs),
    ``log_d`` (runs, budgets), the runs' ``labels`` and ``N``; and, over every run, ``N_opt``,
    ``D_opt`` and ``winner`` (the run's label) per budget, NaN (None) where no run spans a budget or the
    lowest is the smallest or the largest size that does (:func:`envelope_pick`)."""
    logb = np.log(np.asarray(budgets, float))
    labels = list(pd.unique(curves["run"]))
    loss = np.full((len(labels), logb.size), np.inf)
    log_d = np.full((len(labels), logb.size), np.nan)
    log_n = np.empty(len(labels))
    for i, r in enumerate(labels):
        g = curves[curves["run"] == r]
        h = g["horizon"].max() if "horizon" in g else g["D"].max()
        g = g[g["D"] >= (1 - tail) * h].sort_values("C")
        lc = np.log(g["C"].to_numpy(float))
        log_n[i] = math.log(float(np.median(g["N"])))
        if np.unique(lc).size < 2:
            continue
        inside = (logb >= lc[0]) & (logb <= lc[-1])
        loss[i, inside] = np.interp(logb[inside], lc, g["loss"].to_numpy(float))
        log_d[i, inside] = np.interp(logb[inside], lc, np.log(g["D"].to_numpy(float)))
    out = {"loss": loss, "log_n": log_n, "log_d": log_d, "labels": labels}
    n_opt, d_opt, winner = envelope_pick(out, np.ones(len(labels), bool))
    return out | {"N_opt": np.exp(n_opt), "D_opt": np.exp(d_opt),
                  "winner": [labels[w] if w >= 0 else None for w in winner]}


def envelope_pick(env: dict, keep: np.ndarray):
    """log N_opt, log D_opt and the winning run's index (-1: none) at each budget, among the runs ``keep``.
    As a profile's vertex must be bracketed, a winner counts only where a smaller and a larger kept run also
    span the budget: the smallest or largest size spanning it may be a minimum only of the sizes there."""
    loss = np.where(keep[:, None], env["loss"], np.inf)
    w = loss.argmin(0)
    cols = np.arange(loss.shape[1])
    spans = np.isfinite(loss)
    log_n = env["log_n"][:, None]
    smaller = (spans & (log_n < env["log_n"][w][None, :])).any(0)
    larger = (spans & (log_n > env["log_n"][w][None, :])).any(0)
    ok = np.isfinite(loss[w, cols]) & smaller & larger
    return (np.where(ok, env["log_n"][w], np.nan), np.where(ok, env["log_d"][w, cols], np.nan),
            np.where(ok, w, -1))
