"""Our own Chinchilla study at CPU scale: its recorded IsoFLOP runs and the three approaches fitted to
them, under every way of counting compute, with bootstrap intervals and a robustness table.

The design is :mod:`replication.studies.chinchilla_design`; the learning-rate sweep, pilots and recipe
claims are :mod:`replication.studies.chinchilla_tuning`. Nothing here trains except
:func:`train_missing`; every table reads the run store and fails, naming the run, on a missing one.

Intervals are 10th-90th bootstrap percentiles, as the paper's Table 2 gives them. The Approach-2
bootstrap redraws, within each budget, runs (sizes and seeds together) with replacement and refits
every parabola, so each vertex carries its own uncertainty into a and b.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int
from replication.fit import (bootstrap_approach3, fit_approach1, fit_approach3, fit_compute_optimal, params_to_theta,
                             predict_loss, run_bootstrap)
from replication.fit.approach2 import drawn_counts
from replication.fit.vertex import DEFAULT_ESTIMATOR, check_estimator, minima
from replication.fit.bootstrap import check_resamples
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy, num_nonembedding_params, num_params
from replication.studies.envelope import envelope_pick, envelope_at
from replication.studies.exponents import (LOBO, LOBO_REFIT, LOWO, ExponentIntervals, batched_slopes,
                                          exponent_intervals, ratio_samples)
from replication.store.runs import RunStore

#: How a run's training compute is counted: the budget the study trains on (every executed matmul),
#: Krasser's corrected C_self (no embedding, no unembedding), and 6N per token with N all parameters
#: (Chinchilla's C = 6ND) or without the embeddings (Kaplan's).
COUNTS = ("executed", "C_self", "6N", "6N non-embedding")


def per_token_flops(model, count: str) -> float:
    """Training FLOPs per token of ``model`` under ``count``."""
    check_choice("count", count, COUNTS)
    if count == "executed":
        return float(model.shape().self_attn_flops("executed"))
    if count == "C_self":
        return float(model.shape().self_attn_flops("corrected"))
    return 6.0 * (num_params(model) if count == "6N" else num_nonembedding_params(model))


def summaries(cfgs, root=None) -> list[dict]:
    """The recorded summary of every config; one line naming the first missing run otherwise."""
    store = RunStore(root)
    out, missing = [], []
    for cfg in cfgs:
        s = store.run(cfg.run_id()).summary
        if s is None:
            missing.append(cfg.run_id())
        out.append(s)
    if missing:
        raise ReplicationError(f"{len(missing)} run(s) of the study are not recorded in {store.root} (first: "
                               f"{missing[0]}); train them with replication.studies.chinchilla.train_missing()")
    return out


def train_missing(study: ChinchillaStudy = DEFAULT, root=None, workers: int | None = None, progress: bool = True):
    """Train every missing run of ``study`` into the run store (recorded runs return at once)."""
    from replication.sweep.local import get_or_train_many  # torch, only to train

    return get_or_train_many(study.configs(), RunStore(root), workers=workers, progress=progress)


def runs_table(study: ChinchillaStudy = DEFAULT, root=None) -> pd.DataFrame:
    """One row per IsoFLOP run: N, D, C (the executed budget), loss, seed (the schema ``replication fit``
    reads), then its shape, the compute under every count, steps, epochs and wall time."""
    pts = study.isoflop_points()
    cfgs = [study.config(j, study.budgets[k], s) for k, j, s in pts]
    rows = []
    for (k, j, s), cfg, sm in zip(pts, cfgs, summaries(cfgs, root)):
        m = cfg.model
        if sm["num_params"] != num_params(m):  # the recorded model must be the one the design describes
            raise ReplicationError(f"run {cfg.run_id()}: {sm['num_params']} parameters, design says {num_params(m)}")
        d = sm["latent_tokens"]
        row = {"N": num_params(m), "D": d, "C": study.budgets[k], "loss": sm["final_val_loss"], "seed": s,
               "budget": k, "rung": j, "width": m.num_channels, "N_nonembedding": num_nonembedding_params(m),
               "run_id": cfg.run_id(), "steps": sm["steps"], "epochs": sm["epochs"], "wall_s": sm["wall_s"]}
        row.update({f"C {c}": per_token_flops(m, c) * d for c in COUNTS})
        rows.append(row)
    t = pd.DataFrame(rows)
    return t.assign(bits_per_byte=t["loss"] / math.log(2))


def profiles_table(study: ChinchillaStudy = DEFAULT, root=None) -> pd.DataFrame:
    """One row per (budget, size): mean, standard deviation and number of seeds of the final loss."""
    t = runs_table(study, root)
    g = t.groupby(["budget", "C", "rung", "width", "N", "D"], sort=True)["loss"]
    return g.agg(loss="mean", loss_sd="std", seeds="count").reset_index()


# -- Approach 2, under any count --------------------------------------------------------------------


def _vertices(t: pd.DataFrame, count: str, picks=None, estimator: str = DEFAULT_ESTIMATOR):
    """Minima of every budget's profile (by ``estimator``) for the rows ``picks`` (resamples, rows) of ``t``:
    (log N*, log D*, log C*) each (resamples, budgets), NaN where a budget has no interior minimum.
    N and C follow ``count``; C* is the count's FLOPs per token at N* (interpolated in log-log over the
    budget's sizes) times D*."""
    n_col = "N_nonembedding" if count == "6N non-embedding" else "N"
    logn, logd, loss = np.log(t[n_col].to_numpy(float)), np.log(t["D"].to_numpy(float)), t["loss"].to_numpy(float)
    logc_tok = np.log(t[f"C {count}"].to_numpy(float) / t["D"].to_numpy(float))
    picks = np.arange(len(t))[None, :] if picks is None else picks
    budgets = sorted(t["budget"].unique())
    out = np.full((3, len(picks), len(budgets)), np.nan)
    for i, k in enumerate(budgets):
        cols = np.flatnonzero(t["budget"].to_numpy() == k)
        w = drawn_counts(picks[:, cols], cols)  # each run of the budget, counted as often as drawn
        y = np.broadcast_to(loss[cols], w.shape)
        (vn, _, cn), (vd, _, cd) = (minima(x[cols], y, w, estimator=estimator) for x in (logn, logd))
        okn, okd = cn == 0, cd == 0
        order = np.argsort(logn[cols])
        per_tok = np.interp(vn, logn[cols][order], logc_tok[cols][order])
        ok = okn & okd
        out[0, :, i] = np.where(ok, vn, np.nan)
        out[1, :, i] = np.where(ok, vd, np.nan)
        out[2, :, i] = np.where(ok, per_tok + vd, np.nan)
    return out


def approach2(study: ChinchillaStudy = DEFAULT, root=None, count: str = "executed", runs: pd.DataFrame | None = None,
              bootstrap: int = 1000, seed: int = 0, estimator: str = DEFAULT_ESTIMATOR):
    """Approach 2 on every IsoFLOP run (each seed a point), N and C counted by ``count``, each budget's
    minimum found by ``estimator`` (:mod:`replication.fit.vertex`). ``runs``, a subset of
    :func:`runs_table` (for the robustness table). The interval resamples runs within each budget;
    ``table`` has each budget's vertex with its own interval."""
    check_choice("count", count, COUNTS)
    check_estimator(estimator)
    check_resamples(bootstrap)
    check_int("seed", seed, 0)
    t = (runs_table(study, root) if runs is None else runs).reset_index(drop=True)
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
    n_col = "N_nonembedding" if count == "6N non-embedding" else "N"
    sizes = [np.unique(t.loc[t["budget"] == k, n_col]) for k in budgets]
    table["sizes below"] = [int((n < v).sum()) for n, v in zip(sizes, table["N_star"])]
    table["sizes above"] = [int((n > v).sum()) for n, v in zip(sizes, table["N_star"])]
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
                            "law_samples": law_samples, "vertex_samples": vertex_samples},
                   options={**fit.options, "estimator": estimator})


def exponents(study: ChinchillaStudy = DEFAULT, root=None, count: str = "executed", runs: pd.DataFrame | None = None,
              bootstrap: int = 1000, seed: int = 0, fit=None, estimator: str = DEFAULT_ESTIMATOR,
              level: float = 0.8) -> dict[str, ExponentIntervals]:
    """a, b (against the count's compute at each vertex) and b/a (against the nominal budgets, so that
    it does not depend on the count) of Approach 2 under ``count``, each with its bootstrap, residual-t,
    leave-one-budget-out and leave-one-width-out intervals (:mod:`replication.studies.exponents`).
    ``fit``: :func:`approach2` with the same count, runs and estimator, if already computed (its
    bootstrap is reused)."""
    check_choice("count", count, COUNTS)
    t = (runs_table(study, root) if runs is None else runs).reset_index(drop=True)
    if fit is None:
        fit = approach2(study, runs=t, count=count, bootstrap=bootstrap, seed=seed, estimator=estimator)
    elif fit.details.get("count") != count or fit.options.get("estimator") != estimator:
        raise ReplicationError(f"fit counts C as {fit.details.get('count')!r} with the "
                               f"{fit.options.get('estimator')!r} estimator; asked for {count!r}, {estimator!r}")
    log_budget = np.log(t.groupby("budget")["C"].first().sort_index().to_numpy(float))
    n, d, c = _vertices(t, count, estimator=estimator)[:, 0]
    widths = sorted(t["width"].unique())
    lowo = [_vertices(t[t["width"] != w].reset_index(drop=True), count, estimator=estimator)[:, 0] for w in widths]
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


def accounting_table(study: ChinchillaStudy = DEFAULT, root=None, bootstrap: int = 1000, seed: int = 0,
                     runs: pd.DataFrame | None = None, headline=None) -> pd.DataFrame:
    """a, b and b/a of Approach 2 with N and C counted each way, on the same runs (``runs``:
    :func:`runs_table`, if already read; ``headline``: :func:`approach2` under the executed count with
    the same bootstrap and seed, if already computed): one row per count, each exponent's estimate and
    its intervals (``a low``/``a high`` are the bootstrap's; ``a widest`` the widest of all) and, in
    ``intervals``, the :func:`exponents` they come from."""
    t = runs_table(study, root) if runs is None else runs
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


# -- Approaches 1 and 3 -------------------------------------------------------------------------------


def curves_table(study: ChinchillaStudy = DEFAULT, root=None, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Validation-loss curves of every IsoFLOP run, averaged over seeds at each validation step: N, D
    (tokens so far), C (executed FLOPs so far), loss, run (size and budget), horizon (the run's tokens)."""
    store = RunStore(root)
    t = runs_table(study, root) if runs is None else runs
    frames = []
    for (k, j), g in t.groupby(["budget", "rung"]):
        per_seed = []
        for rid in g["run_id"]:
            m = store.run(rid).metrics()
            per_seed.append(m[m["kind"] == "val"].set_index("latent_tokens")["loss"])
        mean = pd.concat(per_seed, axis=1).mean(axis=1)
        n, per_tok = g["N"].iloc[0], g["C executed"].iloc[0] / g["D"].iloc[0]
        frames.append(pd.DataFrame({"N": n, "D": mean.index.to_numpy(float), "C": per_tok * mean.index.to_numpy(float),
                                    "loss": mean.to_numpy(), "run": f"{k}:{j}", "horizon": float(g["D"].iloc[0])}))
    return pd.concat(frames, ignore_index=True)


def approach1(study: ChinchillaStudy = DEFAULT, root=None, bootstrap: int = 200, seed: int = 0,
              curves: pd.DataFrame | None = None):
    """Approach 1 on the IsoFLOP runs' curves (their last 15%; ``curves``: :func:`curves_table`, if
    already read). The interval resamples whole runs."""
    check_resamples(bootstrap)
    curves = curves_table(study, root) if curves is None else curves
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


def approach1_intervals(study: ChinchillaStudy = DEFAULT, root=None, curves: pd.DataFrame | None = None,
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
    curves = curves_table(study, root) if curves is None else curves
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


def approach3(study: ChinchillaStudy = DEFAULT, root=None, delta: float = 1e-3, runs: pd.DataFrame | None = None,
              bootstrap: int = 0, seed: int = 0, intervals: bool = False, level: float = 0.8):
    """Approach 3 (Huber, ``delta``) on every final loss. The paper's closed-form exponents assume
    C = 6ND; ``details['ours']`` has a and b along our IsoFLOP lines instead (the fitted surface's
    minimum at each budget, D = C / executed FLOPs per token), NaN where it falls outside the sizes
    trained on that budget. With ``intervals``, ``details['ours']['intervals']`` has a, b and b/a of
    those minima with every interval of :func:`~replication.studies.exponents.exponent_intervals`: the
    bootstrap (if any), the residual t over the five minima, leaving one minimum out, and the surface
    refitted without each width (:data:`~replication.studies.exponents.LOWO`) and without each
    budget's runs (:data:`~replication.studies.exponents.LOBO_REFIT`), each refit started also from
    the full fit."""
    check_resamples(bootstrap)
    t = runs_table(study, root) if runs is None else runs
    fit = fit_approach3(t, method="huber", delta=delta)
    budgets = np.array(study.budgets)

    def exponents(params, points=400, runs=t):
        opt = optimum_on_budgets(params, study, runs, points)
        ok = np.isfinite(opt[:, 0])
        if ok.sum() < 2:
            return opt, math.nan, math.nan
        law = fit_compute_optimal(budgets[ok], opt[ok, 0], opt[ok, 1])
        return opt, law["a"], law["b"]

    opt, a, b = exponents(fit.params)
    ours = {"N_opt": opt[:, 0], "D_opt": opt[:, 1], "a": a, "b": b}
    boot = None
    if bootstrap:
        resampled = bootstrap_approach3(params_to_theta(fit.params), np.log(t["N"].to_numpy(float)),
                                        np.log(t["D"].to_numpy(float)), np.log(t["loss"].to_numpy(float)),
                                        delta=delta, resamples=bootstrap, seed=seed)

        def ab(sample):  # a and b along our IsoFLOP lines, for one resample's surface
            A, B, E, al, be, *_ = sample
            _, a, b = exponents({"A": A, "B": B, "E": E, "alpha": al, "beta": be}, points=200)
            return None if not np.isfinite(a) else (a, b, b / a)

        r = resampled.map(ab, ("a", "b", "b/a"))
        ours.update(ci=r.interval(), bootstrap=r.summary)
        boot = {k: r.samples[:, j] for j, k in enumerate(r.names)}
    if intervals:
        logc = np.log(budgets)
        start = params_to_theta(fit.params)[None]

        def refit(sub):
            sub = sub.reset_index(drop=True)
            o = exponents(fit_approach3(sub, method="huber", delta=delta, grid=start).params, runs=sub)[0]
            return logc, np.log(o[:, 0]), np.log(o[:, 1])

        refits = {LOWO: [refit(t[t["width"] != w]) for w in sorted(t["width"].unique())],
                  LOBO_REFIT: [refit(t[t["budget"] != k]) for k in sorted(t["budget"].unique())]}
        ours["intervals"] = exponent_intervals(logc, np.log(opt[:, 0]), np.log(opt[:, 1]), bootstrap=boot,
                                               refits=refits, level=level)
    return replace(fit, details={**fit.details, "ours": ours})


def optimum_on_budgets(params: dict, study: ChinchillaStudy, runs: pd.DataFrame, points: int = 400) -> np.ndarray:
    """(N_opt, D_opt) of a fitted L(N, D) along each budget's IsoFLOP line, searched between the
    smallest and largest size trained on that budget; NaN where the minimum is at an end."""
    out = []
    for k, c in enumerate(study.budgets):
        g = runs[runs["budget"] == k].sort_values("N")
        if g.empty:
            out.append((math.nan, math.nan))
            continue
        logn = np.linspace(np.log(g["N"].min()), np.log(g["N"].max()), points)
        per_tok = np.exp(np.interp(logn, np.log(g["N"]), np.log(g["C executed"] / g["D"])))
        d = c / per_tok
        i = int(np.argmin(predict_loss(params, np.exp(logn), d)))
        out.append((math.nan, math.nan) if i in (0, points - 1) else (math.exp(logn[i]), float(d[i])))
    return np.array(out)


# -- robustness -------------------------------------------------------------------------------------


def robustness_table(study: ChinchillaStudy = DEFAULT, root=None, bootstrap: int = 400, seed: int = 0,
                     runs: pd.DataFrame | None = None, headline=None, widest=None) -> pd.DataFrame:
    """a of Approach 2 when the analysis changes: each size left out, only the 3 or 5 sizes around each
    vertex (the nearest and its neighbours), one seed only; and a of Approach 3 for several Huber deltas.
    ``inside`` says whether the changed a lies within the headline's bootstrap interval, ``inside widest``
    whether within ``widest`` (the widest interval of :func:`exponents`, if given); None where the change
    leaves no estimate. ``runs`` and ``headline`` (:func:`runs_table` and :func:`approach2` with the same
    bootstrap and seed), if already computed."""
    t = runs_table(study, root) if runs is None else runs
    base = approach2(study, runs=t, bootstrap=bootstrap, seed=seed) if headline is None else headline
    lo, hi = base.ci["a"]
    rows = [{"analysis": "Approach 2, every run (headline)", "a": base["a"], "b": base["b"]}]

    def add(label, runs, estimator=DEFAULT_ESTIMATOR):
        try:
            f = approach2(study, runs=runs, bootstrap=0, estimator=estimator)
            rows.append({"analysis": label, "a": f["a"], "b": f["b"], "budgets": f.details["budgets_used"]})
        except ReplicationError as err:
            rows.append({"analysis": label, "a": math.nan, "b": math.nan, "note": str(err)})

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
