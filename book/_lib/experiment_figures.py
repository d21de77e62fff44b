"""Krasser's Experiments 1, 2a and 2b: the figures the three chapters share (CPU-scale runs), and the models'
names in words, which the figures and the tables (:mod:`_lib.experiment`) both use."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from replication.corpus import parse_tokenizer
from replication.studies import krasser
from replication.studies.krasser import KrasserStudy, empirical_optimum, optimum_inside
from replication.studies.krasser_design import chinchilla_laws

from . import figures
from .tables import sci

#: The article's model labels in words.
_ROLES = {"ref": "reference", "opt": "predicted", "opt 1": "Approach 1's prediction",
          "opt 2": "Approach 2's prediction"}


def loss_unit(tokenizer: str) -> str:
    """The unit of a run's loss: a byte-level model predicts one byte per token, a SentencePiece model one
    subword token."""
    return "nats per byte" if parse_tokenizer(tokenizer)[0] == "bytes" else "nats per token"


def model_name(label: str) -> str:
    """``"Model 2 (opt 2)"`` as ``"2 (Approach 2's prediction)"``; ``"Model 4"`` as ``"4"``."""
    text = str(label).removeprefix("Model ").strip()
    if "(" not in text:
        return text
    number, role = text.split("(", 1)
    role = role.rstrip(")").strip()
    return f"{number.strip()} ({_ROLES.get(role, role)})"


_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1)))


def _legend_name(label: str, shape: str) -> str:
    name = model_name(label)
    number, _, role = name.partition(" ")
    return f"{number}: {shape}" + (f" {role}" if role else "")


def plot_loss_vs_flops(study: KrasserStudy, curves: pd.DataFrame, ylim=None):
    """Validation loss against C_self / C_ref, mean over the seeds (a line with a marker at every
    evaluation, one line style per model) with the seeds' range shaded; the budget C_self = C_ref is the
    dashed grey line at 1 (the article's plots)."""
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    shapes = dict(zip(range(1, len(study.experiment.models) + 1),
                      (f"{d}/{L}" for d, L in study.experiment.models)))
    for i, (number, part) in enumerate(curves.groupby("model")):
        g = part.groupby("C_self/C_ref")["loss"]
        x, mean, lo, hi = g.mean().index, g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
        colour = figures.PALETTE[i % len(figures.PALETTE)]
        ax.plot(x, mean, color=colour, ls=_STYLES[i % len(_STYLES)], marker=_MARKERS[i % len(_MARKERS)],
                ms=4, lw=1.4, label=_legend_name(part["label"].iloc[0], shapes.get(number, "")))
        ax.fill_between(x, lo, hi, color=colour, alpha=0.15, lw=0)
    ax.axvline(1.0, color="0.4", ls="--", lw=1)
    ax.set_xlim(0.1, 1.1)
    if ylim is None:
        finals = curves[curves["C_self/C_ref"] > 0.3]["loss"]
        ylim = (finals.min() - 0.02, finals.quantile(0.9) + 0.02) if len(finals) else None
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"self-attention FLOPs spent, $C_{self} / C_{ref}$ (fraction of the budget)")
    ax.set_ylabel(f"validation loss ({loss_unit(study.tokenizer)})")
    ax.legend(title="model: channels/layers")
    fig.tight_layout()
    return fig


def plot_final_loss(study: KrasserStudy, summary: pd.DataFrame):
    """Final loss (mean ± std over seeds) against N_self, with both laws' N_opt and the empirical optimum."""
    exp = study.experiment
    s = summary.sort_values("N_self")
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    seeds = int(s["seeds"].min())
    ax.errorbar(s["N_self"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", color=figures.PALETTE[0], capsize=3,
                label=f"mean final loss over {seeds} seed{'s' if seeds != 1 else ''} (bars: ± one standard "
                      "deviation)")
    for number, row in s.iterrows():
        ax.annotate(f"{number}: {row['shape']}", (row["N_self"], row["mean"]), textcoords="offset points",
                    xytext=(5, 6))
    for (approach, law), style, colour in zip(chinchilla_laws().items(), (":", "--"), figures.PALETTE[3:5]):
        n_opt = exp.n_opt(law)
        ax.axvline(n_opt, color=colour, ls=style, lw=1.4, label=f"Chinchilla Approach {approach}: "
                                                                  f"$N_{{opt}}$ = {sci(n_opt, 2)}")
    # A vertex outside the trained sizes is the parabola extrapolated; it is named, not drawn.
    if optimum_inside(summary):
        n_hat = empirical_optimum(summary)
        ax.axvline(n_hat, color=figures.PALETTE[2], lw=1.4, ls="-.",
                   label=f"minimum of a parabola through the means: {sci(n_hat, 2)}")
    else:  # in the corner the means leave free: above the largest model the loss falls to the right
        where = krasser.optimum_text(summary)
        right = "above" in where
        ax.text(0.98 if right else 0.02, 0.97, f"minimum of a parabola through the means:\n{where}",
                transform=ax.transAxes, va="top", ha="right" if right else "left", color=figures.PALETTE[2])
    ax.set_xscale("log")
    ax.set_xlabel(r"self-attention parameters $N_{self}$")
    ax.set_ylabel(f"final validation loss ({loss_unit(study.tokenizer)})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.tight_layout()
    return fig


def not_trained_figure():
    """A figure that says nothing was trained (``scale = 'article'``), where a chapter's CPU-scale figure
    would stand."""
    fig, ax = plt.subplots(figsize=(7.2, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, f"No CPU-scale runs: {krasser.NOT_TRAINED}.", ha="center", va="center", transform=ax.transAxes)
    return fig
