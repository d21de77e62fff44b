"""Our Chinchilla study at CPU scale: the chapter's figures."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullFormatter

from replication.papers.chinchilla import TABLE_2
from replication.studies import chinchilla_lr
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy

from .figures import PALETTE
from .tables import sci

#: Chinchilla's tokens per parameter at the compute-optimal frontier (its Table 3, about 20).
PAPER_TOKENS_PER_PARAM = 20.0


def _plain_minor_ticks(ax) -> None:
    """No labels on the minor ticks of a log x axis: on a short range they collide."""
    ax.xaxis.set_minor_formatter(NullFormatter())


def _budget_ticks(ax, budgets) -> None:
    """Major ticks of a log x axis of compute at every other budget (a factor 4 apart), written 2.5×10¹¹."""
    ticks = list(budgets)[::2]
    ax.set_xticks(ticks, [sci(c) for c in ticks])
    _plain_minor_ticks(ax)


def plot_lr_sweep(study: ChinchillaStudy = DEFAULT, sweep: pd.DataFrame | None = None):
    """Final loss against peak learning rate per swept size (``sweep``: :func:`chinchilla_lr.sweep_table`, if
    already read), each size's optimum, and the study's rule."""
    t = chinchilla_lr.sweep_table(study) if sweep is None else sweep
    opt = chinchilla_lr.lr_optima(t)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, ((w, n), g) in enumerate(t.groupby(["width", "N"])):
        g = g.sort_values("lr")
        ax.plot(g["lr"], g["loss"], "o-", color=PALETTE[i], label=f"d = {w} (N = {n:,})")
        o = opt[opt["width"] == w].iloc[0]
        if np.isfinite(o["lr*"]):
            ax.axvline(o["lr*"], color=PALETTE[i], ls=":", lw=1)
    ax.set(xscale="log", xlabel="peak learning rate", ylabel="final validation loss (nats per byte)",
           title="learning-rate sweep")
    ax.legend(frameon=False)
    ok = opt[np.isfinite(opt["lr*"])]
    bx.plot(ok["N"], ok["lr*"], "o", color=PALETTE[0], label="optimum of each sweep")
    n = np.geomspace(min(study.model(j).shape().num_params for j in range(len(study.widths))),
                     max(study.model(j).shape().num_params for j in range(len(study.widths))), 50)
    rule = study.rule
    bx.plot(n, rule(n), color=PALETTE[1], label=f"rule: ${rule.lr_ref:.3g}\\,(N/10^5)^{{-{rule.exponent:.3g}}}$")
    bx.set(xscale="log", yscale="log", xlabel="parameters N", ylabel="peak learning rate",
           title="the rule every run uses")
    bx.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_profiles(fit, runs: pd.DataFrame, ax=None):
    """The IsoFLOP profiles: every run, each budget's fitted curve (the fit's ``curve_N``, by its
    estimator), and its minimum with its interval."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.2))
    vertices = fit.table.set_index("budget")
    curves = dict(zip(fit.table["budget"], fit.details["curve_N"]))
    for i, (k, g) in enumerate(runs.groupby("budget")):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g["N"], g["loss"], "o", color=c, ms=4, alpha=0.6)
        ax.plot(*curves[k], color=c, label=f"C = {sci(g['C'].iloc[0])}")
        row = vertices.loc[k]
        if row["interior"]:
            y = row["loss_star"]
            lo, hi = row.get("N_star low", np.nan), row.get("N_star high", np.nan)
            if np.isfinite(lo) and np.isfinite(hi):  # a percentile interval need not hold the estimate itself
                ax.plot([lo, hi], [y, y], "|-", color=c, ms=6)
            ax.plot([row["N_star"]], [y], "D", color=c, mec="black")
    ax.set(xscale="log", xlabel="parameters N", ylabel="final validation loss (nats per byte)")
    ax.legend(frameon=False, title="budget (executed training FLOPs)")
    fig.tight_layout()
    return fig


def plot_optima(fit, bytes_per_token: float):
    """N* and D* of each budget with their intervals, the fitted laws with their 80% bands and the
    paper's slopes; and tokens per parameter at each vertex, in bytes and in subword tokens."""
    t = fit.table[fit.table["interior"]]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    c = np.geomspace(t["C*"].min(), t["C*"].max(), 50)
    samples = fit.details.get("law_samples")
    for ax, col, exp, k, paper, unit, cols in (
            (axes[0], "N_star", "a", "k_N", TABLE_2["approach2"]["a"], "compute-optimal parameters $N_{opt}$",
             (0, 1)),
            (axes[1], "D_star", "b", "k_D", TABLE_2["approach2"]["b"], "compute-optimal training bytes $D_{opt}$",
             (2, 3))):
        y = t[col].to_numpy()
        err = [y - t[f"{col} low"].to_numpy(), t[f"{col} high"].to_numpy() - y] if f"{col} low" in t else None
        ax.errorbar(t["C*"], y, yerr=err, fmt="o", color=PALETTE[0], capsize=3, label="vertex, 80% interval")
        ax.plot(c, fit[k] * c ** fit[exp], color=PALETTE[0], label=f"fit: ${exp}$ = {fit[exp]:.2f}")
        if samples is not None and len(samples):
            curves = np.exp(samples[:, cols[0], None] + samples[:, cols[1], None] * np.log(c)[None, :])
            lo, hi = np.percentile(curves, [10, 90], axis=0)
            ax.fill_between(c, lo, hi, color=PALETTE[0], alpha=0.15, lw=0, label="80% band")
        mid = math.exp(np.log(t["C*"]).mean()), math.exp(np.log(y).mean())
        ax.plot(c, mid[1] * (c / mid[0]) ** paper, "--", color=PALETTE[1], label=f"paper's slope {paper:.2f}")
        ax.set(xscale="log", yscale="log", xlabel="executed training FLOPs C", ylabel=unit)
        _budget_ticks(ax, fit.table["C"])
        ax.legend(frameon=False)
    ax = axes[2]
    y = t["tokens_per_param"].to_numpy() / bytes_per_token
    err = None
    if "tokens_per_param low" in t:
        err = [y - t["tokens_per_param low"].to_numpy() / bytes_per_token,
               t["tokens_per_param high"].to_numpy() / bytes_per_token - y]
    ax.errorbar(t["C*"], y, yerr=err, fmt="o", color=PALETTE[0], capsize=3, label="ours, in subword tokens")
    ax.axhline(PAPER_TOKENS_PER_PARAM, color=PALETTE[1], ls="--", label="Chinchilla, about 20")
    ax.set(xscale="log", xlabel="executed training FLOPs C", ylabel="subword tokens per parameter D/N")
    _budget_ticks(ax, fit.table["C"])
    sec = ax.secondary_yaxis("right", functions=(lambda x: x * bytes_per_token, lambda x: x / bytes_per_token))
    sec.set_ylabel("bytes per parameter")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_robustness(robust: pd.DataFrame, lo: float, hi: float, widest=None):
    """The exponent a under each change of analysis, against the headline's bootstrap interval (and its
    widest interval, if given)."""
    t = robust.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(t) + 1))
    if widest is not None:
        ax.axvspan(*widest, color=PALETTE[5], alpha=0.12, label="headline's widest interval")
    ax.axvspan(lo, hi, color=PALETTE[5], alpha=0.3, label="headline 80% bootstrap interval")
    ax.axvline(TABLE_2["approach2"]["a"], color=PALETTE[1], ls="--", label="paper (Approach 2)")
    y = np.arange(len(t))
    inside = ((t["a"] >= lo) & (t["a"] <= hi)).to_numpy()
    ok = np.isfinite(t["a"]).to_numpy()
    ax.plot(t["a"][ok & inside], y[ok & inside], "o", color=PALETTE[0], label="estimate inside")
    if (ok & ~inside).any():
        ax.plot(t["a"][ok & ~inside], y[ok & ~inside], "X", color=PALETTE[3], ms=7, label="estimate outside")
    ax.set_yticks(np.arange(len(t)), t["analysis"])
    ax.set(xlabel=r"exponent $a$ of $N_{opt} \propto C^a$")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.28 * len(t) + 1)),
              ncol=3 if widest is not None else 2)
    fig.tight_layout()
    return fig


def plot_envelope(curves: pd.DataFrame, fit1, study: ChinchillaStudy = DEFAULT):
    """Approach 1 on the study's runs. Left: every run's validation curve against executed FLOPs, coloured
    by its parameters. Right: the run on the envelope over each stretch of compute, and the fitted law."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.8))
    norm = LogNorm(curves["N"].min(), curves["N"].max())
    cmap = plt.get_cmap("viridis")
    for _, g in curves.groupby("run"):
        ax.plot(g["C"], g["loss"], color=cmap(norm(g["N"].iloc[0])), lw=0.8, alpha=0.8)
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="parameters N")
    ax.set(xscale="log", xlabel="executed training FLOPs C", ylabel="validation loss (nats per byte)",
           title="validation curves of every run")
    seg = fit1.table
    bx.hlines(seg["N"], seg["C_from"], seg["C_to"], lw=3, color=PALETTE[0])
    bx.plot(np.sqrt(seg["C_from"] * seg["C_to"]), seg["N"], "o", color=PALETTE[0], ms=4,
            label="run on the envelope (lowest loss)")
    c = np.geomspace(seg["C_from"].min(), seg["C_to"].max(), 50)
    bx.plot(c, fit1.law.n_opt(c), "--", color=PALETTE[1], label=f"fit: $N_{{opt}} \\propto C^{{{fit1['a']:.2f}}}$")
    bx.set(xscale="log", yscale="log", xlabel="executed training FLOPs C",
           ylabel="compute-optimal parameters $N_{opt}$",
           title="the envelope")
    _plain_minor_ticks(ax)
    _budget_ticks(bx, study.budgets)
    bx.legend()
    fig.tight_layout()
    return fig
