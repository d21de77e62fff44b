"""What decides a CPU-scale run of Krasser's experiments: one learning rate for every size against our
Chinchilla study's rule (:func:`lr_rule_factors`), short runs, and the bigram plateau they must leave
(:func:`plateau_exits`, :func:`byte_plateau_reading`); and where the best model sits against the law's N_opt
(:func:`best_vs_n_opt`).
"""
from __future__ import annotations

import pandas as pd

from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy, num_params
from replication.studies.krasser import cpu_study, loss_summary, runs_table
from replication.studies.krasser_cpu import KrasserStudy
from replication.studies.krasser_design import chinchilla_laws
from replication.studies.plateau import bigram_loss, first_crossing, plateau_reading
from replication.studies.runs import open_store

def lr_rule_factors(study: KrasserStudy, chinchilla: ChinchillaStudy = DEFAULT) -> pd.DataFrame:
    """Each model's peak learning rate by the Chinchilla study's own rule (:attr:`ChinchillaStudy.rule
    <replication.studies.chinchilla_design.ChinchillaStudy.rule>`, N every parameter), against the one rate
    the Krasser study gives every size: ``factor`` = rule / study's rate (above 1: our rate is below the
    rule). The rule was fitted to four-layer decoders with two heads at batch 8; here it is read outside
    that family, as the study's best guess of how the rate should move with size, not as a tuned optimum."""
    setup = study.experiment.setup()
    rows = []
    for number, _, cfg in study.runs():
        if rows and rows[-1]["model"] == number:
            continue
        n = num_params(cfg.model)
        lr = chinchilla.rule(n)
        rows.append({"model": number, "shape": f"{cfg.model.num_channels}/{cfg.model.num_layers}", "N": n,
                     "steps": int(setup.loc[number, "num_steps"]), "rule lr": lr, "study lr": study.lr,
                     "factor": lr / study.lr})
    return pd.DataFrame(rows).set_index("model")


def plateau_exits(study: KrasserStudy, results: pd.DataFrame, store=None, plateau: float | None = None) -> pd.DataFrame:
    """Per run: its final loss and the step at which its validation loss first fell below the bigram
    plateau (:func:`bigram_loss`; NaN where it never did), also as a fraction of the run's steps."""
    store = open_store(store)
    plateau = bigram_loss(study.corpus, study.tokenizer, store=store) if plateau is None else plateau
    rows = []
    for row in results.itertuples():
        m = store.run(row.run_id).metrics()
        m = m[m["kind"] == "val"]
        exit_step = first_crossing(m["step"], m["loss"], plateau)
        rows.append({"model": row.model, "shape": row.shape, "seed": row.seed, "steps": row.steps,
                     "final_loss": row.final_loss, "plateau": plateau, "exit_step": exit_step,
                     "exit_fraction": exit_step / row.steps})
    return pd.DataFrame(rows)


def best_vs_n_opt(names=("1", "2a", "2b"), approach: int = 2, store=None) -> dict[str, float]:
    """N_self / N_opt (the Chinchilla law of ``approach``) of the model with the lowest mean final loss, per
    default CPU-scale experiment (recorded runs; nothing is trained). Below 1: the law's N_opt is larger
    than the best model trained, i.e. the law overestimates N_opt at CPU scale."""
    out = {}
    for name in names:
        study = cpu_study(name)
        s = loss_summary(runs_table(study, store))
        out[name] = float(s.loc[s["mean"].idxmin(), "N_self"]) / study.experiment.n_opt(chinchilla_laws()[approach])
    return out


def run_limits(study: KrasserStudy, results: pd.DataFrame, store=None, exits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model: its steps, the learning rate the Chinchilla study's rule would give it against ours
    (:func:`lr_rule_factors`), the range over the seeds of the step at which it left the bigram plateau
    (:func:`plateau_exits`; NaN where no seed did) and of its final loss."""
    exits = plateau_exits(study, results, store) if exits is None else exits
    g = exits.groupby("model")
    out = lr_rule_factors(study)
    out["exit first"], out["exit last"] = g["exit_step"].min(), g["exit_step"].max()
    out["exit last / steps"] = out["exit last"] / out["steps"]
    out["loss spread"] = g["final_loss"].max() - g["final_loss"].min()
    return out


def byte_plateau_reading(store=None) -> dict:
    """:func:`~replication.studies.plateau.plateau_reading` over the recorded runs of both byte experiments
    (2a and 2b, the default CPU-scale studies), pooled: how the step a seed leaves the plateau and its final
    loss go together within each model."""
    exits = []
    for name in ("2a", "2b"):
        s = cpu_study(name)
        exits.append(plateau_exits(s, runs_table(s, store), store).assign(experiment=name))
    return plateau_reading(pd.concat(exits, ignore_index=True))
