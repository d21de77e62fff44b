"""The planning chapter's tables and figures: the inference-aware optimum against lifetime inference tokens,
the savings over the Chinchilla-optimal model, and where published models sit."""
from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from replication.fit import planning
from replication.papers import chinchilla as paper
from replication.verdict import box_markdown

from .figures import PALETTE
from .tables import number, sci, table

#: how the chapter names each law of replication.studies.planning.LAWS (a CSV of final losses is "Approach 3
#: fitted to the data")
LAW_LABELS = {"paper": "the paper's eq. 10 (unrounded constants)", "paper-rounded": "the paper's eq. 10 as printed",
              "besiroglu": "Besiroglu et al.'s refit", "figure4": "our refit to the Figure 4 points",
              "study": "our CPU-scale fit"}

#: line styles, one per target loss, so that no curve hides another
_STYLES = ("-", "--", ":", "-.")


def law_label(law) -> str:
    return LAW_LABELS.get(law.name, "Approach 3 fitted to the data")


def sweep_table(sweep_df: pd.DataFrame, T_shown):
    """The optimum at a few lifetimes T, for each target loss."""
    t = sweep_df[np.isin(sweep_df["T"], T_shown)]
    return table(t, columns=["loss", "T", "N", "D", "D/N", "N / N_chinchilla", "saved %"],
                 headers={"loss": "target loss (nats per token)", "T": "lifetime inference tokens T",
                          "N": "parameters N", "D": "training tokens D", "D/N": "tokens per parameter D/N",
                          "N / N_chinchilla": "N / Chinchilla-optimal N",
                          "saved %": "lifetime FLOPs saved (%)"},
                 formats={"loss": "f2", "T": "sci", "N": "sci3", "D": "sci3", "D/N": "int",
                          "N / N_chinchilla": "f2", "saved %": lambda x: "under 0.01" if x < 0.01 else number(x, 2)},
                 caption="The optimum at a few lifetimes, for each target loss")


def plot_optimum(sweep_df: pd.DataFrame):
    """Optimal N and D/N against T, one line per target loss."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for i, (loss, t) in enumerate(sweep_df.groupby("loss")):
        style = dict(color=PALETTE[i % len(PALETTE)], ls=_STYLES[i % len(_STYLES)], label=f"L = {loss:g}")
        a.loglog(t["T"], t["N"], **style)
        b.loglog(t["T"], t["D/N"], **style)
    a.set(xlabel="lifetime inference tokens T", ylabel="optimal parameters N")
    b.set(xlabel="lifetime inference tokens T", ylabel="optimal training tokens per parameter D/N")
    a.legend(title="target loss (nats per token)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_savings(sweep_df: pd.DataFrame):
    """Lifetime FLOPs saved over the Chinchilla-optimal model of the same loss, in percent."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (loss, t) in enumerate(sweep_df.groupby("loss")):
        ax.semilogx(t["T"], t["saved %"], color=PALETTE[i % len(PALETTE)], ls=_STYLES[i % len(_STYLES)],
                    label=f"L = {loss:g}")
    ax.set(xlabel="lifetime inference tokens T",
           ylabel="lifetime FLOPs saved (%)")
    ax.legend(title="target loss (nats per token)")
    fig.tight_layout()
    plt.close(fig)
    return fig


def models_view(models: pd.DataFrame):
    """The published models as the chapter shows them."""
    t = models.rename_axis("model").reset_index()
    return table(t, index="model",
                 headers={"model": "model", "N": "parameters N", "D": "training tokens D",
                          "tokens_per_param": "tokens per parameter D/N", "loss": "loss under the law (nats per token)",
                          "overtraining": "over-training factor",
                          "breakeven_inference_tokens": "break-even lifetime inference tokens T"},
                 formats={"N": "sci3", "D": "sci3", "tokens_per_param": "sig3", "loss": "f3", "overtraining": "sig3",
                          "breakeven_inference_tokens": lambda x: "none (under-trained)" if not np.isfinite(x)
                          else sci(x)}, caption="Published models under the law")


#: where each published model's label goes (offset in points, alignment), so that none covers another
_LABEL_PLACES = {"Chinchilla": (5, 4, "left"), "LLaMA-65B": (5, -10, "left"), "Llama-2-70B": (5, 2, "left"),
                 "Llama-2-7B": (-5, 3, "right"), "Llama-2-13B": (5, 4, "left"), "LLaMA-7B": (-5, -10, "right"),
                 "LLaMA-13B": (5, -10, "left"), "LLaMA-33B": (0, -11, "center"), "GPT-3": (-5, 5, "right"),
                 "Gopher": (0, -11, "center")}


def plot_models(params, models: pd.DataFrame):
    """Published models in (N, D), with the compute-optimal frontier of the law."""
    fig, ax = plt.subplots(figsize=(7, 4.8))
    C = np.logspace(21, 26, 50)
    opt = planning.compute_optimal(params, C)
    ax.loglog(opt["N"], opt["D"], "-", color=PALETTE[7], lw=1, label="compute-optimal frontier")
    ax.scatter(models["N"], models["D"], color=PALETTE[1], zorder=3, label="published model")
    for name, r in models.iterrows():
        dx, dy, ha = _LABEL_PLACES.get(name, (5, -3, "left"))
        ax.annotate(f"{name} ({number(r['overtraining'], 2)}×)", (r["N"], r["D"]), xytext=(dx, dy),
                    textcoords="offset points", ha=ha)
    ax.set(xlabel="parameters N", ylabel="training tokens D")
    ax.legend(loc="lower right")
    fig.tight_layout()
    plt.close(fig)
    return fig


def law_comparison(laws: dict, loss: float, T_values):
    """:func:`replication.fit.planning.compare_laws` as the page shows it: N and D/N with their 80% bootstrap
    interval where the law has samples."""
    t = planning.compare_laws(list(laws.values()), loss, T_values)

    def with_interval(x, lo, hi, fmt):
        return f"{x:{fmt}}" + ("" if np.isnan(lo) else f" [{lo:{fmt}}, {hi:{fmt}}]")

    t = t.assign(law=t["law"].map(lambda name: LAW_LABELS.get(name, "Approach 3 fitted to the data")),
                 N=[with_interval(*(r[k] / 1e9 for k in ("N", "N lo", "N hi")), ".1f") for _, r in t.iterrows()],
                 D=t["D"] / 1e12,
                 **{"D/N": [with_interval(r["D/N"], r["D/N lo"], r["D/N hi"], ".0f") for _, r in t.iterrows()]})
    return table(t, columns=["law", "T", "N", "D", "D/N"],
                 headers={"law": "law", "T": "lifetime inference tokens T",
                          "N": "parameters N, billions (80% interval)", "D": "training tokens D, trillions",
                          "D/N": "tokens per parameter D/N (80% interval)"},
                 formats={"T": "sci", "D": "f2"}, caption="The plan under each law")


def glue_numbers(law, loss: float, T_small: float, T_large: float, models: pd.DataFrame, refit=None) -> dict:
    """Glue every number the prose quotes (plain floats, and strings for numbers written 10ⁿ); returns them
    by name."""
    v = {"pl_loss": loss, "pl_T1": T_small, "pl_T2": T_large, "pl_T1_s": sci(T_small), "pl_T2_s": sci(T_large),
         "pl_E": law.params["E"], "pl_law": law_label(law)}
    g = planning.compute_optimal(law.params, paper.GOPHER_FLOPS)
    v |= {"pl_gopher_C": paper.GOPHER_FLOPS, "pl_gopher_C_s": sci(paper.GOPHER_FLOPS, 3),
          "pl_gopher_N": float(g["N"]) / 1e9, "pl_gopher_tpp": float(g["tokens_per_param"])}
    c = planning.chinchilla_at_loss(law.params, loss)
    v |= {"pl_chin_N": float(c["N"]) / 1e9, "pl_chin_D": float(c["D"]) / 1e12}
    beyond = []
    for tag, T in (("1", T_small), ("2", T_large)):
        r = planning.inference_optimal(law.params, loss, T)
        beyond.append(law.extrapolates(float(r["N"]), float(r["D"])))
        v |= {f"pl_N{tag}": float(r["N"]) / 1e9, f"pl_D{tag}": float(r["D"]) / 1e12,
              f"pl_tpp{tag}": float(r["tokens_per_param"]), f"pl_saved{tag}": 100 * float(r["saved_fraction"]),
              f"pl_size{tag}": float(r["size_ratio"]), f"pl_tokens{tag}": float(r["token_ratio"])}
        if refit is not None:
            f = planning.inference_optimal(refit.params, loss, T)
            beyond.append(refit.extrapolates(float(f["N"]), float(f["D"])))
            iv = planning.plan_samples(refit, planning.inference_optimal, loss, T)
            v |= {f"pl_refit_N{tag}": float(f["N"]) / 1e9, f"pl_refit_N{tag}_lo": iv["N"][0] / 1e9,
                  f"pl_refit_N{tag}_hi": iv["N"][1] / 1e9, f"pl_refit_tpp{tag}": float(f["tokens_per_param"]),
                  f"pl_refit_size{tag}": float(f["size_ratio"])}
    if refit is not None:
        ratios = [v[f"pl_refit_N{tag}"] / v[f"pl_N{tag}"] for tag in ("1", "2")]
        v |= {"pl_law_ratio_lo": min(ratios), "pl_law_ratio_hi": max(ratios)}
    verdict = planning.smaller_and_longer([law] + ([refit] if refit is not None else []), loss, (T_small, T_large))
    v["pl_verdict"] = verdict.label
    finding = (f"Under {law_label(law)}, reaching loss {loss:.2f} while serving {sci(T_large)} tokens takes "
               f"{v['pl_size2']:.2f} times the Chinchilla-optimal size")
    if refit is not None:
        iv = planning.plan_samples(refit, planning.inference_optimal, loss, T_large, keys=("size_ratio",))
        finding += (f"; under {law_label(refit)}, {v['pl_refit_size2']:.2f} (80% interval "
                    f"{iv['size_ratio'][0]:.2f} to {iv['size_ratio'][1]:.2f})")
    v["planning_verdict"] = Markdown(box_markdown(replace(verdict, finding=finding + ".")))
    v["pl_beyond"] = ("All of these models lie beyond the runs the laws were fitted to, in parameters, tokens "
                      "or compute: they are extrapolations" if all(beyond) else
                      f"{sum(beyond)} of these {len(beyond)} models lie beyond the runs the laws were fitted to, "
                      "in parameters, tokens or compute, and are extrapolations")
    outside = [name for name, r in models.iterrows() if law.extrapolates(r["N"], r["D"])]
    v["pl_models_beyond"] = ("Every model here is larger, or trained on more tokens, than any run behind the law: "
                             "these numbers are extrapolations" if len(outside) == len(models) else
                             f"{len(outside)} of the {len(models)} models here are larger, or trained on more tokens, "
                             "than any run behind the law: their numbers are extrapolations")
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
