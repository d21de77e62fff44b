"""Krasser's Experiments 1, 2a and 2b at CPU scale: the figures and display tables the three chapters share.

Each takes the chapter's study (:class:`replication.studies.krasser.KrasserStudy`), whose name says
which experiment it is.
"""
from __future__ import annotations

import pandas as pd

from replication.studies.krasser import KrasserStudy, empirical_optimum
from replication.studies.krasser_design import chinchilla_laws


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The loss summary as the chapters show it: mean ± standard deviation over the seeds."""
    spread = [f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}" for m, s in zip(summary["mean"], summary["std"])]
    return summary.assign(**{"mean ± std": spread})[["label", "shape", "N_self", "mean ± std", "seeds", "epochs"]]


def plot_loss_vs_flops(study: KrasserStudy, curves: pd.DataFrame, ylim=None):
    """Validation loss against C_self / C_ref, mean over seeds with the seeds' range shaded; the budget
    C_self = C_ref is the dashed line at 1 (the article's plots)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (number, part) in enumerate(curves.groupby("model")):
        g = part.groupby("C_self/C_ref")["loss"]
        x, mean, lo, hi = g.mean().index, g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
        ax.plot(x, mean, color=f"C{i}", label=part["label"].iloc[0])
        ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xlim(0.1, 1.1)
    if ylim is None:
        finals = curves[curves["C_self/C_ref"] > 0.3]["loss"]
        ylim = (finals.min() - 0.02, finals.quantile(0.9) + 0.02) if len(finals) else None
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"self-attention FLOPs $C_{self} / C_{ref}$")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), C_ref = {float(study.experiment.c_ref):.3g} FLOPs, "
                 f"{study.experiment.accounting} accounting", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_final_loss(study: KrasserStudy, summary: pd.DataFrame):
    """Final loss (mean ± std over seeds) against N_self, with both laws' N_opt and the empirical optimum."""
    import matplotlib.pyplot as plt

    exp = study.experiment
    s = summary.sort_values("N_self")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.errorbar(s["N_self"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", color="C0", capsize=3,
                label=f"mean ± std over {int(s['seeds'].min())}+ seeds")
    for number, row in s.iterrows():
        ax.annotate(str(number), (row["N_self"], row["mean"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    for (approach, law), style in zip(chinchilla_laws().items(), (":", "--")):
        ax.axvline(exp.n_opt(law), color="C3", ls=style, lw=1.2, label=f"N_opt, approach {approach}")
    n_hat = empirical_optimum(summary)
    if n_hat == n_hat:
        ax.axvline(n_hat, color="C2", lw=1.2, label="empirical optimum (parabola)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$N_{self}$ (parameters)")
    ax.set_ylabel("final validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), all models at C_self = {float(exp.c_ref):.3g} FLOPs",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
