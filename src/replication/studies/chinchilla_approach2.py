"""Approach 2 on our Chinchilla study's IsoFLOP runs, under every count of compute: each budget's minimum
(by an estimator of :mod:`replication.fit.vertex`) with its bootstrap interval, the exponents a, b and b/a
through the minima with every interval of :mod:`replication.studies.exponents`, and the same under each count.

Intervals are 10th-90th bootstrap percentiles, as the paper's Table 2 gives them. The bootstrap redraws,
within each budget, runs (sizes and seeds together) with replacement and refits every profile, so each
vertex carries its own uncertainty into a and b.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from replication import memo
from replication.errors import ReplicationError, check_choice, check_int
from replication.fit import fit_compute_optimal, run_bootstrap
from replication.fit.approach2 import drawn_counts
from replication.fit.bootstrap import check_resamples
from replication.fit.vertex import DEFAULT_ESTIMATOR, check_estimator, minima, profile_minimum
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy
from replication.studies.chinchilla_runs import COUNTS, runs_table
from replication.studies.exponents import LOBO, LOWO, ExponentIntervals, batched_slopes, exponent_intervals, ratio_samples

#: Points of each budget's fitted profile kept for a figure (:func:`profiles`).
PROFILE_POINTS = 100


def _n_column(count: str) -> str:
    return "N_nonembedding" if count == "6N non-embedding" else "N"


def _vertices(t: pd.DataFrame, count: str, picks=None, estimator: str = DEFAULT_ESTIMATOR):
    """Minima of every budget's profile (by ``estimator``) for the rows ``picks`` (resamples, rows) of ``t``:
    (log N*, log D*, log C*) each (resamples, budgets), NaN where a budget has no interior minimum.
    N and C follow ``count``; C* is the count's FLOPs per token at N* (interpolated in log-log over the
    budget's sizes) times D*. A bootstrap's minima in N and D (``picks`` given) are kept on disk by their
    inputs' content (:func:`replication.memo.kept`): the chapters and the tests ask for the same ones, and the
    counts that share N (every count but 6N non-embedding) share them."""
    n_col = _n_column(count)
    logn, logd, loss = np.log(t[n_col].to_numpy(float)), np.log(t["D"].to_numpy(float)), t["loss"].to_numpy(float)
    budget = t["budget"].to_numpy()
    if picks is None:
        vn, vd = _size_minima(logn, logd, loss, budget, np.arange(len(t))[None, :], estimator)
    else:
        key = {"inputs": memo.digest(logn, logd, loss, budget.astype(float), np.asarray(picks)),
               "estimator": estimator}
        vn, vd = np.array(memo.kept("study_size_minima", key, lambda: [
            v.tolist() for v in _size_minima(logn, logd, loss, budget, picks, estimator)]), float)
    logc_tok = np.log(t[f"C {count}"].to_numpy(float) / t["D"].to_numpy(float))
    logc = np.full_like(vn, np.nan)
    for i, k in enumerate(np.unique(budget)):
        cols = np.flatnonzero(budget == k)
        order = np.argsort(logn[cols])
        logc[:, i] = np.interp(vn[:, i], logn[cols][order], logc_tok[cols][order]) + vd[:, i]
    ok = np.isfinite(vn) & np.isfinite(vd)
    return np.where(ok, np.stack([vn, vd, logc]), np.nan)


def _size_minima(logn, logd, loss, budget, picks, estimator: str):
    """log N* and log D* of every budget's profile for each row of ``picks``, each (resamples, budgets), NaN
    unless both have an interior minimum."""
    budgets = np.unique(budget)
    vn, vd = (np.full((len(picks), len(budgets)), np.nan) for _ in range(2))
    for i, k in enumerate(budgets):
        cols = np.flatnonzero(budget == k)
        w = drawn_counts(picks[:, cols], cols)  # each run of the budget, counted as often as drawn
        y = np.broadcast_to(loss[cols], w.shape)
        (n, _, cn), (d, _, cd) = (minima(x[cols], y, w, estimator=estimator) for x in (logn, logd))
        ok = (cn == 0) & (cd == 0)
        vn[:, i], vd[:, i] = np.where(ok, n, np.nan), np.where(ok, d, np.nan)
    return vn, vd


def _profiles(t: pd.DataFrame, n_col: str, budgets, n_star, estimator: str):
    """Each budget's fitted profile, (N, loss) at :data:`PROFILE_POINTS` sizes across its runs, and its
    loss at the vertex ``n_star`` (NaN where there is none)."""
    curves, at_star = [], []
    for k, n in zip(budgets, n_star):
        g = t[t["budget"] == k]
        x = np.log(g[n_col].to_numpy(float))
        curve = profile_minimum(x, g["loss"].to_numpy(float), estimator=estimator).curve
        xs = np.linspace(x.min(), x.max(), PROFILE_POINTS)
        curves.append((np.exp(xs), curve(xs)))
        at_star.append(float(curve(math.log(n))) if np.isfinite(n) else math.nan)
    return curves, at_star


def approach2(study: ChinchillaStudy = DEFAULT, store=None, count: str = "executed", runs: pd.DataFrame | None = None,
              bootstrap: int = 1000, seed: int = 0, estimator: str = DEFAULT_ESTIMATOR):
    """Approach 2 on every IsoFLOP run (each seed a point), N and C counted by ``count``, each budget's
    minimum found by ``estimator`` (:mod:`replication.fit.vertex`). ``runs``, a subset of
    :func:`runs_table` (for the robustness table). The interval resamples runs within each budget;
    ``table`` has each budget's vertex with its own interval and the fitted profile's loss there
    (``loss_star``); ``details["curve_N"]``, each budget's fitted profile as (N, loss) arrays."""
    check_choice("count", count, COUNTS)
    check_estimator(estimator)
    check_resamples(bootstrap)
    check_int("seed", seed, 0)
    t = (runs_table(study, store) if runs is None else runs).reset_index(drop=True)
    v = _vertices(t, count, estimator=estimator)[:, 0]
    ok = np.isfinite(v[0])
    if ok.sum() < 2:
        raise ReplicationError(f"Approach 2 needs 2 budgets with an interior minimum; {int(ok.sum())} have one")
    n_star, d_star, c_star = np.exp(v[:, ok])
    fit = fit_compute_optimal(c_star, n_star, d_star)
    budgets = np.array(sorted(t["budget"].unique()))
    table = pd.DataFrame({"budget": budgets, "C": [study.budgets[k] for k in budgets], "C*": np.exp(v[2]),
                          "N_star": np.exp(v[0]), "D_star": np.exp(v[1]), "interior": ok})
    table["tokens_per_param"] = table["D_star"] / table["N_star"]
    n_col = _n_column(count)
    sizes = [np.unique(t.loc[t["budget"] == k, n_col]) for k in budgets]
    table["sizes below"] = [int((n < v).sum()) for n, v in zip(sizes, table["N_star"])]
    table["sizes above"] = [int((n > v).sum()) for n, v in zip(sizes, table["N_star"])]
    curves, table["loss_star"] = _profiles(t, n_col, budgets, table["N_star"], estimator)
    ci, kept, law_samples = None, None, None
    if bootstrap:
        resampled = {}

        def refit(picks):  # every resample's vertices are kept for the per-budget intervals below
            w = _vertices(t, count, picks, estimator)
            a, b = batched_slopes(w[0], w[2]), batched_slopes(w[1], w[2])
            good = np.isfinite(a) & np.isfinite(b)
            resampled.update(w=w, a=a, b=b, good=good)
            return np.c_[a[good], b[good]]

        boot = run_bootstrap(refit, len(t), bootstrap, names=("a", "b"), seed=seed, strata=t["budget"].to_numpy())
        ci, kept = boot.interval(), boot.summary
        w, a, b, good = (resampled[k] for k in ("w", "a", "b", "good"))
        # each resample's laws, log N* = log k_N + a log C* (and for D*), for the chapter's bands
        used = np.isfinite(w[0])  # the budgets each resample's slopes went through
        with np.errstate(all="ignore"):
            def mean(x):
                return np.where(used, x, 0).sum(1) / used.sum(1)
            cbar = mean(w[2])
            law_samples = np.c_[mean(w[0]) - a * cbar, a, mean(w[1]) - b * cbar, b][good]
        with warnings.catch_warnings():  # a budget with no interior minimum in any resample stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            for name, i in (("N_star", 0), ("D_star", 1)):
                table[f"{name} low"] = np.exp(np.nanpercentile(w[i], 10, axis=0))
                table[f"{name} high"] = np.exp(np.nanpercentile(w[i], 90, axis=0))
            tpp = np.exp(w[1] - w[0])
            table["tokens_per_param low"] = np.nanpercentile(tpp, 10, axis=0)
            table["tokens_per_param high"] = np.nanpercentile(tpp, 90, axis=0)
        table["interior share"] = np.isfinite(w[0]).mean(0)
        vertex_samples = w
    else:
        vertex_samples = None
    return replace(fit, method="approach2", title=f"Approach 2, IsoFLOP profiles ({estimator} estimator), C counted "
                   f"as {count}", ci=ci, table=table, n_points=len(t),
                   details={"count": count, "budgets_used": int(ok.sum()), "bootstrap": kept,
                            "law_samples": law_samples, "vertex_samples": vertex_samples, "curve_N": curves},
                   options={**fit.options, "estimator": estimator})


def exponents(study: ChinchillaStudy = DEFAULT, store=None, count: str = "executed", runs: pd.DataFrame | None = None,
              bootstrap: int = 1000, seed: int = 0, fit=None, estimator: str = DEFAULT_ESTIMATOR,
              level: float = 0.8) -> dict[str, ExponentIntervals]:
    """a, b (against the count's compute at each vertex) and b/a (against the nominal budgets, so that
    it does not depend on the count) of Approach 2 under ``count``, each with its bootstrap, residual-t,
    leave-one-budget-out and leave-one-width-out intervals (:mod:`replication.studies.exponents`).
    ``fit``: :func:`approach2` with the same count, runs and estimator, if already computed (its
    bootstrap is reused)."""
    check_choice("count", count, COUNTS)
    t = (runs_table(study, store) if runs is None else runs).reset_index(drop=True)
    if fit is None:
        fit = approach2(study, runs=t, count=count, bootstrap=bootstrap, seed=seed, estimator=estimator)
    elif fit.details.get("count") != count or fit.options.get("estimator") != estimator:
        raise ReplicationError(f"fit counts C as {fit.details.get('count')!r} with the "
                               f"{fit.options.get('estimator')!r} estimator; asked for {count!r}, {estimator!r}")
    log_budget = np.log(t.groupby("budget")["C"].first().sort_index().to_numpy(float))
    n, d, c = _vertices(t, count, estimator=estimator)[:, 0]
    budgets = sorted(t["budget"].unique())

    def without(width):  # a budget whose runs are all of that width has no vertex left: NaN in its place
        sub = t[t["width"] != width].reset_index(drop=True)
        out = np.full((3, len(budgets)), np.nan)
        out[:, np.searchsorted(budgets, sorted(sub["budget"].unique()))] = _vertices(sub, count,
                                                                                      estimator=estimator)[:, 0]
        return out

    lowo = [without(w) for w in sorted(t["width"].unique())]
    boot_w = fit.details.get("vertex_samples")
    boot_ac = boot_r = None
    if boot_w is not None:
        a_boot, b_boot = batched_slopes(boot_w[0], boot_w[2]), batched_slopes(boot_w[1], boot_w[2])
        good = np.isfinite(a_boot) & np.isfinite(b_boot)
        boot_ac = {"a": a_boot[good], "b": b_boot[good]}
        boot_r = {"b/a": ratio_samples(log_budget, boot_w[0], boot_w[1])[good]}
    on_c = exponent_intervals(c, n, d, bootstrap=boot_ac, refits={LOWO: [(v[2], v[0], v[1]) for v in lowo]},
                              level=level)
    on_budget = exponent_intervals(log_budget, n, d, bootstrap=boot_r,
                                   refits={LOWO: [(log_budget, v[0], v[1]) for v in lowo]}, level=level)
    return {"a": on_c["a"], "b": on_c["b"], "b/a": on_budget["b/a"]}


def accounting_table(study: ChinchillaStudy = DEFAULT, store=None, bootstrap: int = 1000, seed: int = 0,
                     runs: pd.DataFrame | None = None, headline=None) -> pd.DataFrame:
    """a, b and b/a of Approach 2 with N and C counted each way, on the same runs (``runs``:
    :func:`runs_table`, if already read; ``headline``: :func:`approach2` under the executed count with
    the same bootstrap and seed, if already computed): one row per count, each exponent's estimate and
    its intervals (``a low``/``a high`` are the bootstrap's; ``a widest`` the widest of all) and, in
    ``intervals``, the :func:`exponents` they come from."""
    t = runs_table(study, store) if runs is None else runs
    rows = []
    for count in COUNTS:
        fit = headline if (headline is not None and count == "executed") else None
        ex = exponents(study, runs=t, count=count, bootstrap=bootstrap, seed=seed, fit=fit)
        row = {"count": count}
        for name, e in ex.items():
            boot = e.bootstrap or (math.nan, math.nan)
            row |= {name: e.estimate, f"{name} low": boot[0], f"{name} high": boot[1],
                    f"{name} residual": e.residual, f"{name} {LOBO}": dict(e.ranges)[LOBO],
                    f"{name} {LOWO}": dict(e.ranges)[LOWO], f"{name} widest": e.widest}
        row["intervals"] = ex
        rows.append(row)
    return pd.DataFrame(rows)

