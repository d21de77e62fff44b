"""The planning chapter's tables and figures: the inference-aware optimum against lifetime inference tokens,
the savings over the Chinchilla-optimal model, and where published models sit."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replication.fit import planning
from replication.sources.models import PUBLISHED_MODELS


def sweep(params, losses, T) -> pd.DataFrame:
    """One row per (target loss, lifetime inference tokens T): the optimum and its savings."""
    rows = []
    for loss in losses:
        r = planning.inference_optimal(params, loss, T)
        rows.append(pd.DataFrame({"loss": loss, "T": T, "N": r["N"], "D": r["D"], "D/N": r["tokens_per_param"],
                                  "N / N_chinchilla": r["size_ratio"], "D / D_chinchilla": r["token_ratio"],
                                  "saved %": 100 * r["saved_fraction"]}))
    return pd.concat(rows, ignore_index=True)


def plot_optimum(table: pd.DataFrame):
    """Optimal N and D/N against T, one line per target loss."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for loss, t in table.groupby("loss"):
        a.loglog(t["T"], t["N"], label=f"L = {loss:g}")
        b.loglog(t["T"], t["D/N"], label=f"L = {loss:g}")
    a.set(xlabel="lifetime inference tokens T", ylabel="optimal parameters N")
    b.set(xlabel="lifetime inference tokens T", ylabel="optimal tokens per parameter D/N")
    a.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_savings(table: pd.DataFrame):
    """Lifetime FLOPs saved over the Chinchilla-optimal model of the same loss, in percent."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for loss, t in table.groupby("loss"):
        ax.semilogx(t["T"], t["saved %"], label=f"L = {loss:g}")
    ax.set(xlabel="lifetime inference tokens T", ylabel="total FLOPs saved (% of Chinchilla-optimal's)")
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig


def models_table(params) -> pd.DataFrame:
    """The published models, with their loss under the law, over-training factor and break-even T."""
    rows = {name: planning.placement(params, N, D) for name, (N, D) in PUBLISHED_MODELS.items()}
    t = pd.DataFrame(rows).T
    return t[["N", "D", "tokens_per_param", "loss", "overtraining", "breakeven_inference_tokens"]].astype(float)


def plot_models(params, models: pd.DataFrame):
    """Published models in (N, D), with the compute-optimal frontier of the law."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    C = np.logspace(21, 26, 50)
    opt = planning.compute_optimal(params, C)
    ax.loglog(opt["N"], opt["D"], "k-", label="compute-optimal frontier")
    ax.scatter(models["N"], models["D"], color="C1")
    for name, r in models.iterrows():
        ax.annotate(f"{name} ({r['overtraining']:.2g}x)", (r["N"], r["D"]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.set(xlabel="parameters N", ylabel="training tokens D")
    ax.legend(loc="lower right")
    fig.tight_layout()
    plt.close(fig)
    return fig


def law_comparison(laws: dict, loss: float, T_values) -> pd.DataFrame:
    """The recommendation for one target loss under each law: N, D, D/N, with the bootstrap interval where
    the law has samples."""
    rows = []
    for name, law in laws.items():
        for T in T_values:
            r = planning.inference_optimal(law.params, loss, T)
            iv = planning.plan_samples(law, planning.inference_optimal, loss, T)
            row = {"law": name, "T": T, "N": float(r["N"]), "D": float(r["D"]), "D/N": float(r["tokens_per_param"])}
            row |= {"N 10-90%": "no bootstrap", "D/N 10-90%": "no bootstrap"}
            if iv:
                row |= {"N 10-90%": f"[{iv['N'][0]:.3g}, {iv['N'][1]:.3g}]",
                        "D/N 10-90%": f"[{iv['tokens_per_param'][0]:.3g}, {iv['tokens_per_param'][1]:.3g}]"}
            rows.append(row)
    return pd.DataFrame(rows).set_index(["law", "T"])


def glue_numbers(law, loss: float, T_small: float, T_large: float, models: pd.DataFrame, refit=None) -> dict:
    """Glue every number the prose quotes (plain floats); returns them by name."""
    from myst_nb import glue

    from replication.sources import chinchilla as paper

    v = {"pl_loss": loss, "pl_T1": T_small, "pl_T2": T_large, "pl_E": law.params["E"]}
    g = planning.compute_optimal(law.params, paper.GOPHER_FLOPS)
    v |= {"pl_gopher_C": paper.GOPHER_FLOPS, "pl_gopher_N": float(g["N"]) / 1e9, "pl_gopher_tpp": float(g["tokens_per_param"])}
    c = planning.chinchilla_at_loss(law.params, loss)
    v |= {"pl_chin_N": float(c["N"]) / 1e9, "pl_chin_D": float(c["D"]) / 1e12}
    for tag, T in (("1", T_small), ("2", T_large)):
        r = planning.inference_optimal(law.params, loss, T)
        v |= {f"pl_N{tag}": float(r["N"]) / 1e9, f"pl_D{tag}": float(r["D"]) / 1e12,
              f"pl_tpp{tag}": float(r["tokens_per_param"]), f"pl_saved{tag}": 100 * float(r["saved_fraction"]),
              f"pl_size{tag}": float(r["size_ratio"]), f"pl_tokens{tag}": float(r["token_ratio"])}
        if refit is not None:
            f = planning.inference_optimal(refit.params, loss, T)
            iv = planning.plan_samples(refit, planning.inference_optimal, loss, T)
            v |= {f"pl_refit_N{tag}": float(f["N"]) / 1e9, f"pl_refit_N{tag}_lo": iv["N"][0] / 1e9,
                  f"pl_refit_N{tag}_hi": iv["N"][1] / 1e9, f"pl_refit_tpp{tag}": float(f["tokens_per_param"])}
    v |= {"pl_chinchilla_over": float(models.loc["Chinchilla", "overtraining"]),
          "pl_llama2_7b_over": float(models.loc["Llama-2-7B", "overtraining"]),
          "pl_llama2_7b_T": float(models.loc["Llama-2-7B", "breakeven_inference_tokens"]) / 1e12,
          "pl_gopher_over": float(models.loc["Gopher", "overtraining"]),
          "pl_chinchilla_tpp": float(models.loc["Chinchilla", "tokens_per_param"])}
    if refit is not None:
        v["pl_refit_gopher_tpp"] = float(planning.compute_optimal(refit.params, paper.GOPHER_FLOPS)["tokens_per_param"])
    for k, x in v.items():
        glue(k, x, display=False)
    return v
