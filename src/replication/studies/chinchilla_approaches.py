"""Approaches 1 and 3 on our Chinchilla study's runs, each with the intervals a slope through one optimum
per budget needs, and the robustness table: the headline exponent when the analysis changes.

Approach 1 reads the IsoFLOP runs' validation curves (:func:`~replication.studies.chinchilla_runs.curves_table`),
Approach 3 fits every final loss; Approach 2 is :mod:`~replication.studies.chinchilla_approach2`.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.fit import (bootstrap_approach3, fit_approach1, fit_approach3, fit_compute_optimal, params_to_theta,
                             predict_loss, run_bootstrap)
from replication.fit.bootstrap import check_resamples
from replication.fit.vertex import DEFAULT_ESTIMATOR
from replication.studies.chinchilla_approach2 import approach2
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy
from replication.studies.chinchilla_runs import curves_table, runs_table
from replication.studies.envelope import envelope_at, envelope_pick
from replication.studies.exponents import LOBO_REFIT, LOWO, batched_slopes, exponent_intervals


def approach1(study: ChinchillaStudy = DEFAULT, store=None, bootstrap: int = 200, seed: int = 0,
              curves: pd.DataFrame | None = None):
    """Approach 1 on the IsoFLOP runs' curves (their last 15%; ``curves``: :func:`curves_table`, if
    already read). The interval resamples whole runs."""
    check_resamples(bootstrap)
    curves = curves_table(study, store) if curves is None else curves
    fit = fit_approach1(curves)
    if not bootstrap:
        return fit

    def refit(picks):
        out = []
        for idx in picks:
            sub = curves.iloc[idx]
            if sub["N"].nunique() < 2:
                continue
            try:
                r = fit_approach1(sub)
            except ReplicationError:
                continue
            out.append((r["a"], r["b"]))
        return out

    boot = run_bootstrap(refit, len(curves), bootstrap, names=("a", "b"), seed=seed, clusters=curves["run"])
    return replace(fit, ci=boot.interval(), details={**fit.details, "bootstrap": f"{boot.summary} resamples of runs"})


def approach1_intervals(study: ChinchillaStudy = DEFAULT, store=None, curves: pd.DataFrame | None = None,
                        fit=None, bootstrap: int = 200, seed: int = 0,
                        level: float = 0.8) -> dict:
    """Approach 1's exponents with the intervals a slope through one optimum per budget needs.

    The envelope fit (:func:`approach1`) regresses many grid points along a few stretches of compute,
    so a residual interval over them means nothing. Here the envelope is read at the study's budgets
    (:func:`envelope_at`): one optimum per budget, through which a, b (on log C) and b/a get the
    bootstrap (whole runs resampled, ``bootstrap`` times), residual-t, leave-one-budget-out and
    leave-one-width-out (each width's curves dropped, the envelope read again) intervals of
    :func:`~replication.studies.exponents.exponent_intervals`: ``sampled``. ``combined``: the same, with
    the envelope fit's estimate and its bootstrap interval (``fit``: :func:`approach1` with a bootstrap)
    added as ranges, so that its ``widest`` spans both estimates and every interval; it decides the
    verdict. Also ``N_opt``, ``D_opt``, ``winner`` per budget and ``budgets``."""
    check_resamples(bootstrap)
    curves = curves_table(study, store) if curves is None else curves
    budgets = np.asarray(study.budgets, float)
    logc = np.log(budgets)
    env = envelope_at(curves, budgets)
    n_opt, d_opt, winner = envelope_pick(env, np.ones(len(env["labels"]), bool))
    widths = np.unique(env["log_n"])
    lowo = [envelope_pick(env, env["log_n"] != w)[:2] for w in widths]
    boot = None
    if bootstrap:
        runs = len(env["labels"])
        rng = np.random.default_rng(seed)
        keep = np.zeros((bootstrap, runs), bool)
        keep[np.arange(bootstrap)[:, None], rng.integers(0, runs, size=(bootstrap, runs))] = True
        picked = [envelope_pick(env, k)[:2] for k in keep]
        bn, bd = np.array([p[0] for p in picked]), np.array([p[1] for p in picked])
        a, b = batched_slopes(bn, logc), batched_slopes(bd, logc)
        with np.errstate(divide="ignore", invalid="ignore"):  # a resample without a slope: NaN, left out
            boot = {"a": a, "b": b, "b/a": b / a}
    sampled = exponent_intervals(logc, n_opt, d_opt, bootstrap=boot,
                                 refits={LOWO: [(logc, n, d) for n, d in lowo]}, level=level)
    combined = sampled
    if fit is not None:
        combined = {}
        for name, e in sampled.items():
            extra = ()
            if name in ("a", "b"):
                extra = (("envelope fit, estimate", (fit[name], fit[name])),)
                if fit.ci and name in fit.ci:
                    extra += (("envelope fit, bootstrap", tuple(fit.ci[name])),)
            combined[name] = replace(e, ranges=e.ranges + extra)
    return {"sampled": sampled, "combined": combined, "budgets": budgets, "N_opt": np.exp(n_opt),
            "D_opt": np.exp(d_opt), "winner": [env["labels"][w] if w >= 0 else None for w in winner],
            "bootstrap": f"{bootstrap} resamples of runs" if bootstrap else "no resamples"}


def approach3(study: ChinchillaStudy = DEFAULT, store=None, delta: float = 1e-3, runs: pd.DataFrame | None = None,
              bootstrap: int = 0, seed: int = 0, intervals: bool = False, level: float = 0.8):
    """Approach 3 (Huber, ``delta``) on every final loss. The paper's closed-form exponents assume
    C = 6ND; ``details['ours']`` has a and b along our IsoFLOP lines instead (the fitted surface's
    minimum at each budget, D = C / executed FLOPs per token), NaN where it falls outside the sizes
    trained on that budget. With ``intervals``, ``details['ours']['intervals']`` has a, b and b/a of
    those minima with every interval of :func:`~replication.studies.exponents.exponent_intervals`: the
    bootstrap (if any), the residual t over the minima, leaving one minimum out, and the surface
    refitted without each width (:data:`~replication.studies.exponents.LOWO`) and without each
    budget's runs (:data:`~replication.studies.exponents.LOBO_REFIT`), each refit started also from
    the full fit."""
    check_resamples(bootstrap)
    t = runs_table(study, store) if runs is None else runs
    fit = fit_approach3(t, method="huber", delta=delta)
    budgets = np.array(study.budgets)

    def exponents(params, lines):
        opt = optimum_on_lines(params, lines)
        ok = np.isfinite(opt[:, 0])
        if ok.sum() < 2:
            return opt, math.nan, math.nan
        law = fit_compute_optimal(budgets[ok], opt[ok, 0], opt[ok, 1])
        return opt, law["a"], law["b"]

    opt, a, b = exponents(fit.params, isoflop_lines(study, t))
    ours = {"N_opt": opt[:, 0], "D_opt": opt[:, 1], "a": a, "b": b}
    boot = None
    if bootstrap:
        resampled = bootstrap_approach3(params_to_theta(fit.params), np.log(t["N"].to_numpy(float)),
                                        np.log(t["D"].to_numpy(float)), np.log(t["loss"].to_numpy(float)),
                                        delta=delta, resamples=bootstrap, seed=seed)

        lines = isoflop_lines(study, t, 200)

        def ab(sample):  # a and b along our IsoFLOP lines, for one resample's surface
            A, B, E, al, be, *_ = sample
            _, a, b = exponents({"A": A, "B": B, "E": E, "alpha": al, "beta": be}, lines)
            return None if not np.isfinite(a) else (a, b, b / a)

        r = resampled.map(ab, ("a", "b", "b/a"))
        ours.update(ci=r.interval(), bootstrap=r.summary)
        boot = {k: r.samples[:, j] for j, k in enumerate(r.names)}
    if intervals:
        logc = np.log(budgets)
        start = params_to_theta(fit.params)[None]

        def refit(sub):
            sub = sub.reset_index(drop=True)
            o = exponents(fit_approach3(sub, method="huber", delta=delta, grid=start).params,
                          isoflop_lines(study, sub))[0]
            return logc, np.log(o[:, 0]), np.log(o[:, 1])

        refits = {LOWO: [refit(t[t["width"] != w]) for w in sorted(t["width"].unique())],
                  LOBO_REFIT: [refit(t[t["budget"] != k]) for k in sorted(t["budget"].unique())]}
        ours["intervals"] = exponent_intervals(logc, np.log(opt[:, 0]), np.log(opt[:, 1]), bootstrap=boot,
                                               refits=refits, level=level)
    return replace(fit, details={**fit.details, "ours": ours})


def isoflop_lines(study: ChinchillaStudy, runs: pd.DataFrame, points: int = 400) -> list:
    """Each budget's IsoFLOP line between the smallest and largest size trained on it, as ``points`` values
    of log N and the D that spends the budget there (D = C / executed FLOPs per token); None for a budget
    without runs. A bootstrap of the fitted surface searches the same lines for every resample."""
    lines = []
    for k, c in enumerate(study.budgets):
        g = runs[runs["budget"] == k].sort_values("N")
        if g.empty:
            lines.append(None)
            continue
        logn = np.linspace(np.log(g["N"].min()), np.log(g["N"].max()), points)
        per_tok = np.exp(np.interp(logn, np.log(g["N"]), np.log(g["C executed"] / g["D"])))
        lines.append((logn, c / per_tok))
    return lines


def optimum_on_budgets(params: dict, study: ChinchillaStudy, runs: pd.DataFrame, points: int = 400) -> np.ndarray:
    """(N_opt, D_opt) of a fitted L(N, D) along each budget's IsoFLOP line, searched between the
    smallest and largest size trained on that budget; NaN where the minimum is at an end."""
    return optimum_on_lines(params, isoflop_lines(study, runs, points))


def optimum_on_lines(params: dict, lines: list) -> np.ndarray:
    """:func:`optimum_on_budgets` on lines already made (:func:`isoflop_lines`)."""
    out = []
    for line in lines:
        if line is None:
            out.append((math.nan, math.nan))
            continue
        logn, d = line
        i = int(np.argmin(predict_loss(params, np.exp(logn), d)))
        out.append((math.nan, math.nan) if i in (0, len(logn) - 1) else (math.exp(logn[i]), float(d[i])))
    return np.array(out)



def refit_row(study: ChinchillaStudy, label: str, runs: pd.DataFrame, estimator: str = DEFAULT_ESTIMATOR) -> dict:
    """One row of a robustness table: a and b of Approach 2 (no bootstrap) on ``runs``, and the budgets it
    used; NaN and the reason where those runs leave no estimate."""
    try:
        f = approach2(study, runs=runs, bootstrap=0, estimator=estimator)
        return {"analysis": label, "a": f["a"], "b": f["b"], "budgets": f.details["budgets_used"]}
    except ReplicationError as err:
        return {"analysis": label, "a": math.nan, "b": math.nan, "note": str(err)}


def robustness_table(study: ChinchillaStudy = DEFAULT, store=None, bootstrap: int = 400, seed: int = 0,
                     runs: pd.DataFrame | None = None, headline=None, widest=None) -> pd.DataFrame:
    """a of Approach 2 when the analysis changes: each size left out, only the 3 or 5 sizes around each
    vertex (the nearest and its neighbours), one seed only; and a of Approach 3 for several Huber deltas.
    ``inside`` says whether the changed a lies within the headline's bootstrap interval, ``inside widest``
    whether within ``widest`` (the widest interval of :func:`exponents`, if given); None where the change
    leaves no estimate. ``runs`` and ``headline`` (:func:`runs_table` and :func:`approach2` with the same
    bootstrap and seed), if already computed."""
    t = runs_table(study, store) if runs is None else runs
    base = approach2(study, runs=t, bootstrap=bootstrap, seed=seed) if headline is None else headline
    lo, hi = base.ci["a"]
    rows = [{"analysis": "Approach 2, every run (headline)", "a": base["a"], "b": base["b"]}]

    def add(label, runs, estimator=DEFAULT_ESTIMATOR):
        rows.append(refit_row(study, label, runs, estimator))

    for w in sorted(t["width"].unique()):
        add(f"without width {w}", t[t["width"] != w])
    vertex = base.table.set_index("budget")["N_star"]
    for width in (3, 5):  # the size nearest each vertex and its neighbours on the ladder
        near = []
        for k, g in t.groupby("budget"):
            sizes, v = np.sort(g["N"].unique()), vertex.get(k, math.nan)
            if np.isfinite(v):
                i = min(max(int(np.abs(np.log(sizes / v)).argmin()) - width // 2, 0), max(len(sizes) - width, 0))
                sizes = sizes[i:i + width]
            near.append(g[g["N"].isin(sizes)])
        # 3 or 5 sizes hold too few for the profile form's 5 constants: the parabola is the local fit there
        add(f"{width} sizes around each vertex", pd.concat(near), estimator="all")
    for s in study.seeds:
        add(f"seed {s} only", t[t["seed"] == s])
    for delta in (1e-4, 1e-3, 1e-2, 1e-1):
        f = approach3(study, runs=t, delta=delta)
        rows.append({"analysis": f"Approach 3, Huber δ = {delta:g}", "a": f.details["ours"]["a"],
                     "b": f.details["ours"]["b"]})
    out = pd.DataFrame(rows)
    out["inside"] = [bool(lo <= a <= hi) if np.isfinite(a) else None for a in out["a"]]
    if widest is not None:
        out["inside widest"] = [bool(widest[0] <= a <= widest[1]) if np.isfinite(a) else None for a in out["a"]]
    return out
