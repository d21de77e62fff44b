"""Our own Chinchilla study at CPU scale: its recorded runs, the three approaches fitted to them, and
the recipe claims tested on them. The design is :mod:`replication.studies.chinchilla_design`.

:func:`runs_table` exports N, D, C, loss, seed in the schema ``replication fit`` reads. Nothing here
trains except :func:`train_missing`; every table reads the run store and fails on a missing run.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.fit.bootstrap import check_resamples
from replication.fit import (bootstrap_approach3, fit_approach1, fit_approach2, fit_approach3, fit_compute_optimal,
                             params_to_theta, predict_loss, run_bootstrap)
from replication.store.runs import RunStore
from replication.studies.chinchilla_design import (DEFAULT, ChinchillaStudy, num_nonembedding_params,
                                                   num_params)
from replication.studies.stats import paired_difference, paired_t_verdict


# --------------------------------------------------------------------------------------------------
# training and the recorded runs


def train_missing(study: ChinchillaStudy = DEFAULT, root=None, workers: int = 1, progress: bool = True):
    """Train every missing run of ``study`` into the run store (recorded runs return at once)."""
    from replication.training.runner import get_or_train_many  # torch, only to train

    return get_or_train_many(study.training_order(), RunStore(root), workers=workers, progress=progress)


def plan_table(study: ChinchillaStudy = DEFAULT):
    """One row per run of the design: its shape, budget, seed, recipe and what it serves."""
    isoflop = set(study.isoflop_grid())
    approach1 = set(study.approach1_plan())
    rows = {}

    def add(cfg, rung, k: int, recipe: str):
        rid = cfg.run_id()
        row = rows.setdefault(rid, {
            "run_id": rid, "width": cfg.model.num_channels, "layers": cfg.model.num_layers,
            "rung": rung if isinstance(rung, int) else -1,
            "N": num_params(cfg.model), "N_nonembedding": num_nonembedding_params(cfg.model),
            "budget": cfg.budget_flops, "budget_index": k, "seed": cfg.seed, "recipe": recipe,
            "isoflop": False, "approach1": False, "recipe_study": False})
        return row

    pairs = dict.fromkeys(study.isoflop_grid() + study.approach1_plan())
    for seed in study.scaling_seeds:
        for k, j in pairs:
            row = add(study.config(j, study.budgets[k], seed), j, k, "baseline")
            row["isoflop"] |= (k, j) in isoflop
            row["approach1"] |= (k, j) in approach1
    for name, seed in study.recipe_plan():
        add(study.recipe_config(name, seed), study.recipe_size, study.recipe_budget, name)["recipe_study"] = True
    return pd.DataFrame(list(rows.values()))


def _missing_error(missing: list[str], root) -> ReplicationError:
    return ReplicationError(f"{len(missing)} run(s) of the study are not recorded in {root} "
                            f"(first: {missing[0]}); train them with replication.studies.chinchilla.train_missing()")


def runs_table(study: ChinchillaStudy = DEFAULT, root=None):
    """Every run of the study with its final loss: columns N, D, C, loss, seed (the schema that
    ``replication fit`` reads; C is the run's C_self budget), then what identifies and serves it.

    Raises ReplicationError if a run is not recorded (this never trains).
    """
    store = RunStore(root)
    plan = plan_table(study)
    summaries, missing = [], []
    for rid in plan["run_id"]:
        s = store.run(rid).summary
        if s is None:
            missing.append(rid)
        summaries.append(s)
    if missing:
        raise _missing_error(missing, store.root)
    t = plan.assign(
        D=[s["latent_tokens"] for s in summaries],
        C=plan["budget"],
        loss=[s["final_val_loss"] for s in summaries],
        C_spent=[s["C_self"] for s in summaries],
        steps=[s["steps"] for s in summaries],
        epochs=[s["epochs"] for s in summaries],
        wall_s=[s["wall_s"] for s in summaries],
    )
    for s, n in zip(summaries, t["N"]):
        if s["num_params"] != n:  # the recorded model must be the one the design describes
            raise ReplicationError(f"run {s['run_id']}: {s['num_params']} parameters, design says {n}")
    first = ["N", "D", "C", "loss", "seed"]
    return t[first + [c for c in t.columns if c not in first]]


def scaling_runs(study: ChinchillaStudy = DEFAULT, root=None, seeds: str = "scaling"):
    """The runs with the baseline recipe: those of the scaling seeds (Approaches 1 and 2), or every
    seed ("all", which adds the recipe study's extra baseline seeds; Approach 3)."""
    if seeds not in ("scaling", "all"):
        raise ReplicationError(f"seeds={seeds!r}; allowed: 'scaling', 'all'")
    t = runs_table(study, root)
    t = t[t["recipe"] == "baseline"]
    if seeds == "scaling":
        t = t[t["seed"].isin(study.scaling_seeds)]
    return t.reset_index(drop=True)


def isoflop_points(study: ChinchillaStudy = DEFAULT, root=None):
    """One row per (budget, shape) of the scaling runs: the loss is the mean over the scaling seeds
    (``loss_sd`` their standard deviation), the input of Approach 2."""
    t = scaling_runs(study, root)
    keys = ["C", "width", "layers"]
    g = t.groupby(keys, sort=True)
    out = g.agg(N=("N", "first"), N_nonembedding=("N_nonembedding", "first"), D=("D", "first"),
                loss=("loss", "mean"), loss_sd=("loss", "std"), seeds=("seed", "count")).reset_index()
    return out[["N", "D", "C", "loss", "loss_sd", "seeds", "width", "layers", "N_nonembedding"]]


def training_time(study: ChinchillaStudy = DEFAULT, root=None) -> dict:
    """Measured training wall time of the recorded runs (as the run summaries record it)."""
    t = runs_table(study, root)
    return {"runs": len(t), "wall_s": float(t["wall_s"].sum()),
            "C_self": float(t["C_spent"].sum()), "by_part": {
                "scaling (Approaches 1-3)": float(t.loc[~t["recipe_study"] | t["isoflop"], "wall_s"].sum()),
                "recipe study only": float(t.loc[t["recipe_study"] & ~t["isoflop"], "wall_s"].sum())}}


def curves_table(study: ChinchillaStudy = DEFAULT, root=None):
    """Validation-loss curves of the Approach-1 runs, averaged over the scaling seeds at each
    validation step: N, D (tokens so far), C (C_self so far), loss, run (shape and budget), horizon
    (the run's total tokens): the input of :func:`replication.fit.approach1.fit_approach1`."""
    store = RunStore(root)
    t = runs_table(study, root)
    frames = []
    for row in t[t["approach1"]].itertuples():
        m = store.run(row.run_id).metrics()
        v = m[m["kind"] == "val"]
        frames.append(pd.DataFrame({"N": float(row.N), "N_nonembedding": float(row.N_nonembedding),
                                    "D": v["latent_tokens"].to_numpy(float), "C": v["C_self"].to_numpy(float),
                                    "loss": v["loss"].to_numpy(float),
                                    "run": f"{row.width}x{row.layers}@{row.C:.3g}",
                                    "horizon": float(row.D), "width": row.width, "layers": row.layers,
                                    "seed": row.seed}))
    every = pd.concat(frames, ignore_index=True)
    keys = ["run", "D"]
    mean = every.groupby(keys, sort=False).agg(
        N=("N", "first"), N_nonembedding=("N_nonembedding", "first"), C=("C", "first"), loss=("loss", "mean"),
        seeds=("seed", "count"), horizon=("horizon", "first"), width=("width", "first"),
        layers=("layers", "first")).reset_index()
    return mean[["N", "D", "C", "loss", "run", "horizon", "seeds", "width", "layers", "N_nonembedding"]]


# --------------------------------------------------------------------------------------------------
# the three approaches on our runs

PARAM_COUNTS = {"total": "N", "non-embedding": "N_nonembedding"}


def _with_count(t, count: str):
    if count not in PARAM_COUNTS:
        raise ReplicationError(f"count={count!r}; allowed: {', '.join(PARAM_COUNTS)}")
    return t.assign(N=t[PARAM_COUNTS[count]])


def approach1(study: ChinchillaStudy = DEFAULT, root=None, count: str = "total", bootstrap: int = 200, seed: int = 0):
    """Approach 1 on our training curves. The interval resamples whole runs (the grid points of one
    envelope are far from independent, so a bootstrap over them would be much too narrow)."""
    check_resamples(bootstrap)
    curves = _with_count(curves_table(study, root), count)
    fit = fit_approach1(curves)
    if not bootstrap:
        return fit

    def refit(picks):
        rows = []
        for idx in picks:
            sub = curves.iloc[idx]
            if sub["N"].nunique() < 2:
                continue
            try:
                r = fit_approach1(sub)
            except ReplicationError:
                continue
            rows.append((r["a"], r["b"]))
        return rows

    boot = run_bootstrap(refit, len(curves), bootstrap, names=("a", "b"), seed=seed, clusters=curves["run"])
    return replace(fit, ci=boot.interval(),
                   details={**fit.details, "bootstrap": f"{boot.summary} resamples of whole runs"})


def approach2(study: ChinchillaStudy = DEFAULT, root=None, count: str = "total", bootstrap: int = 1000, seed: int = 0,
              on_edge: str = "exclude"):
    """Approach 2 on the final losses at our IsoFLOP budgets, averaged over the scaling seeds."""
    t = _with_count(isoflop_points(study, root), count)
    return fit_approach2(t, on_edge=on_edge, bootstrap=bootstrap, seed=seed)


def compute_per_token(study: ChinchillaStudy = DEFAULT, count: str = "total"):
    """(N, C_self per token) for every ladder shape: our models' own compute axis."""
    rows = []
    for j in range(len(study.ladder)):
        cfg = study.config(j, study.base_budget)
        c_self, _ = cfg.flops_per_latent_token()
        n = num_params(cfg.model) if count == "total" else num_nonembedding_params(cfg.model)
        rows.append((n, c_self))
    return np.array(rows, dtype=float)


def compute_law(study: ChinchillaStudy = DEFAULT, count: str = "total") -> tuple[float, float]:
    """(κ, γ) of C_self per token ≈ κ·N^γ, least squares in log-log over the ladder.

    Chinchilla's C = 6ND is κ = 6, γ = 1. Our small models are far from it. With embeddings counted,
    γ > 1: the smallest models are mostly embedding, which costs parameters but hardly any compute.
    Without them, γ < 1: attention (4dn per layer and token) does not grow with d²."""
    nc = compute_per_token(study, count)
    gamma, log_kappa = np.polyfit(np.log(nc[:, 0]), np.log(nc[:, 1]), 1)
    return float(math.exp(log_kappa)), float(gamma)


def optimum_on_budget(params: dict, budgets, study: ChinchillaStudy = DEFAULT, count: str = "total", points: int = 2000):
    """N_opt and D_opt of a fitted L(N, D) along *our* IsoFLOP lines, D = C / (κ·N^γ) (see
    :func:`compute_law`), searched over the ladder's range of N. An optimum at the edge of that range
    is returned as NaN: it would be an extrapolation."""
    kappa, gamma = compute_law(study, count)
    nc = compute_per_token(study, count)
    logn = np.linspace(np.log(nc[:, 0].min()), np.log(nc[:, 0].max()), points)
    per_token = kappa * np.exp(gamma * logn)
    out = []
    for C in np.atleast_1d(np.asarray(budgets, dtype=float)):
        D = C / per_token
        L = predict_loss(params, np.exp(logn), D)
        i = int(np.argmin(L))
        edge = i in (0, points - 1)
        out.append((math.nan, math.nan) if edge else (math.exp(logn[i]), float(D[i])))
    return np.array(out)


def approach3(study: ChinchillaStudy = DEFAULT, root=None, count: str = "total", method: str = "huber",
              bootstrap: int = 1000, seed: int = 0):
    """Approach 3 on every final loss of the baseline recipe (all seeds). Besides the paper's
    closed-form exponents (which assume C = 6ND), ``details['ours']`` has a and b on our own
    compute axis (the optimum along our IsoFLOP lines), with bootstrap intervals."""
    t = _with_count(scaling_runs(study, root, seeds="all"), count)
    fit = fit_approach3(t, method=method, bootstrap=bootstrap, seed=seed)
    budgets = np.array(study.budgets)
    opt = optimum_on_budget(fit.params, budgets, study, count)
    ours = {"N_opt": opt[:, 0], "D_opt": opt[:, 1]}
    ok = np.isfinite(opt[:, 0])
    if ok.sum() >= 2:
        law = fit_compute_optimal(budgets[ok], opt[ok, 0], opt[ok, 1])
        ours.update(a=law["a"], b=law["b"])
        if bootstrap:
            boot = bootstrap_approach3(params_to_theta(fit.params), np.log(t["N"].to_numpy(float)),
                                       np.log(t["D"].to_numpy(float)), np.log(t["loss"].to_numpy(float)),
                                       resamples=bootstrap, seed=seed)

            def exponents(sample):  # a and b along our IsoFLOP lines, for one resample's surface
                A, B, E, al, be, *_ = sample
                o = optimum_on_budget({"A": A, "B": B, "E": E, "alpha": al, "beta": be}, budgets, study, count,
                                      points=400)
                good = np.isfinite(o[:, 0])
                if good.sum() < 2:
                    return None
                r = fit_compute_optimal(budgets[good], o[good, 0], o[good, 1])
                return r["a"], r["b"]

            ab = boot.map(exponents, ("a", "b"))
            ours["ci"] = ab.interval()
            ours["bootstrap"] = ab.summary
    return replace(fit, details={**fit.details, "ours": ours})


# --------------------------------------------------------------------------------------------------
# the three approaches together


def fit_all(study: ChinchillaStudy = DEFAULT, root=None, count: str = "total", bootstrap: int = 1000, seed: int = 0) -> dict:
    """The three approaches on our runs, each with bootstrap intervals: {1: fit, 2: fit, 3: fit}."""
    check_resamples(bootstrap)  # before Approach 1 caps it at 200
    return {1: approach1(study, root, count, bootstrap=min(bootstrap, 200), seed=seed),
            2: approach2(study, root, count, bootstrap=bootstrap, seed=seed),
            3: approach3(study, root, count, bootstrap=bootstrap, seed=seed)}


def tokens_per_param_table(fits: dict, study: ChinchillaStudy = DEFAULT):
    """D_opt/N_opt at each of our budgets, as each approach's fitted allocation implies."""
    budgets = np.array(study.budgets)
    out = {"C": budgets}
    for k, fit in fits.items():
        if k == 3:
            ours = fit.details["ours"]
            out[f"approach {k} N_opt"] = ours["N_opt"]
            out[f"approach {k} D/N"] = ours["D_opt"] / ours["N_opt"]
        else:
            out[f"approach {k} N_opt"] = fit.law.n_opt(budgets)
            out[f"approach {k} D/N"] = fit.law.tokens_per_param(budgets)
    return pd.DataFrame(out)


# -- recipe claims --------------------------------------------------------------------------------

#: claim -> (the recipe the paper says is better, the recipes it is better than)
RECIPE_CLAIMS = {
    "cosine cycle longer than the run by >25% hurts": ("baseline", ["cycle 1.25×", "cycle 1.5×", "cycle 2×", "cycle 5×"]),
    "decay 10× is slightly better than decay to 0": ("baseline", ["decay to 0"]),
    "decay 10× is clearly better than 5×": ("baseline", ["decay 5× (to 20%)"]),
    "AdamW is slightly better than Adam": ("AdamW (wd 0.1)", ["baseline"]),
}


def recipe_table(study: ChinchillaStudy = DEFAULT, root=None):
    """Final loss per recipe, mean ± standard deviation over seeds, and the paired difference to the
    baseline (same seeds: same initial weights and batches) with its standard error."""
    t = runs_table(study, root)
    t = t[t["recipe_study"]]
    base = t[t["recipe"] == "baseline"].set_index("seed")["loss"]
    rows = []
    for name in study.recipes:
        r = t[t["recipe"] == name].set_index("seed")["loss"]
        diff, se, _ = paired_difference(r, base)
        rows.append({"recipe": name, "seeds": len(r), "loss mean": r.mean(), "loss sd": r.std(ddof=1),
                     "Δ vs baseline": diff, "Δ se": se})
    return pd.DataFrame(rows)


def recipe_verdicts(study: ChinchillaStudy = DEFAULT, root=None, level: float = 0.95):
    """One row per claim: the paper's claim, our paired difference (other − reference) ± se, and the
    verdict of a paired t test (:func:`replication.studies.stats.paired_t_verdict`)."""
    runs = runs_table(study, root)
    runs = runs[runs["recipe_study"]]
    rows = []
    for claim, (ref, others) in RECIPE_CLAIMS.items():
        others = [o for o in others if o in study.recipes]
        if ref not in study.recipes or not others:
            continue  # a study without these variants says nothing about this claim
        ref_loss = runs[runs["recipe"] == ref].set_index("seed")["loss"]
        for other in others:
            o = runs[runs["recipe"] == other].set_index("seed")["loss"]
            diff, se, n = paired_difference(o, ref_loss)
            v = paired_t_verdict(diff, se, n - 1, level)
            agrees = {"reference better": "agrees", "reference worse": "contradicts"}.get(v, "not distinguishable")
            rows.append({"claim": claim, "reference": ref, "other": other,
                         "other − reference": diff, "se": se, "seeds": n,
                         "verdict": v, "paper": agrees})
    return pd.DataFrame(rows, columns=["claim", "reference", "other", "other − reference", "se", "seeds",
                                       "verdict", "paper"])


