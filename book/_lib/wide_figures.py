"""The wide study's chapter: its figures (the sweep, the IsoFLOP profiles, N* and the held-out prediction),
from :class:`_lib.wide.State` (read from here too)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from replication.studies import wide

from .figures import PALETTE
from .study_figures import plot_profiles as _plot_profiles
from .tables import sci


def plot_sweep(st):
    """Final loss against peak rate, one panel per horizon, one line per swept width (mean over seeds, each
    seed a dot), each cell's optimum and the fitted rule's rate."""
    s = st.study
    horizons = list(s.sweep_horizons)
    fig, axes = plt.subplots(1, len(horizons), figsize=(9, 3.6), sharey=True)
    for ax, h in zip(np.atleast_1d(axes), horizons):
        g = st.sweep[st.sweep["horizon"] == h] if len(st.sweep) else st.sweep
        for i, j in enumerate(s.sweep_rungs):
            w = s.widths[j]
            c = g[g["rung"] == j].sort_values("lr")
            if c.empty:
                continue
            mean = c.groupby("lr")["loss"].mean()
            ax.plot(mean.index, mean.to_numpy(), "-", color=PALETTE[i], label=f"d = {w} (N = {s.n(w):,})")
            ax.plot(c["lr"], c["loss"], "o", color=PALETTE[i], ms=3.5)
            if st.rule is not None:
                ax.axvline(st.rule(s.n(w), h), color=PALETTE[i], ls="--", lw=1)
            if st.optima is not None:
                o = st.optima[(st.optima["width"] == w) & (st.optima["horizon"] == h)]
                if len(o) and np.isfinite(o["lr*"].iloc[0]):
                    ax.plot(o["lr*"].iloc[0], o["best loss"].iloc[0], "*", color=PALETTE[i], ms=9)
        ax.set(xscale="log", xlabel="peak learning rate", title=f"{h:g} bytes per parameter")
    np.atleast_1d(axes)[0].set_ylabel("final validation loss (nats per byte)")
    np.atleast_1d(axes)[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_prediction(st):
    """N* against compute: each budget's vertex with its 80% interval (held-in filled, held-out open), the line
    through the held-in vertices with its 80% prediction band carried out to the top budget, and each held-out
    prediction's interval."""
    s = st.study
    fig, ax = plt.subplots(figsize=(7, 4.2))
    t = None if st.fit2 is None else st.fit2.table[st.fit2.table["interior"]]
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no budget has a vertex yet", ha="center", va="center", transform=ax.transAxes)
    else:
        held_in = t[t["budget"].isin(s.fit_budgets)]
        for rows, style, label in ((held_in, "o", "held-in vertex (80% interval)"),
                                   (t[~t["budget"].isin(s.fit_budgets)], "s", "held-out vertex, measured")):
            if rows.empty:
                continue
            colour = PALETTE[0] if style == "o" else PALETTE[3]
            # a percentile interval need not hold the estimate itself: drawn from its ends
            ax.vlines(rows["C"], rows["N_star low"], rows["N_star high"], color=colour, lw=1)
            ax.plot(rows["C"], rows["N_star"], style, color=colour, mfc="white" if style == "s" else colour,
                    label=label)
        if len(held_in) >= 3:
            x, y = np.log(held_in["C"].to_numpy(float)), np.log(held_in["N_star"].to_numpy(float))
            grid = np.geomspace(s.budgets[0], s.budgets[-1], 60)
            fits = [wide._line_prediction(x, y, math.log(c)) for c in grid]
            ax.plot(grid, [math.exp(f[0]) for f in fits], color=PALETTE[0], lw=1,
                    label="line through the held-in vertices")
            ax.fill_between(grid, [math.exp(f[1][0]) for f in fits], [math.exp(f[1][1]) for f in fits],
                            color=PALETTE[0], alpha=0.15, lw=0, label="its 80% prediction band")
        for p in st.predictions or []:
            ax.errorbar([p.budget * 1.06], [p.n_star], yerr=[[p.n_star - p.n_star_interval[0]],
                                                              [p.n_star_interval[1] - p.n_star]],
                        fmt="D", color=PALETTE[1], capsize=3,
                        label="prediction (80% interval)" if p is st.predictions[0] else None)
        ax.legend(fontsize="small")
    ax.set(xscale="log", yscale="log", xlabel="compute C (executed FLOPs)", ylabel="compute-optimal parameters N*")
    fig.tight_layout()
    return fig


def plot_profiles(st):
    """The IsoFLOP profiles recorded so far (each budget's fitted curve and vertex where it has one)."""
    if st.fit2 is not None:
        return _plot_profiles(st.fit2, st.runs)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if st.runs is not None:
        for i, (k, g) in enumerate(st.runs.groupby("budget")):
            ax.plot(g["N"], g["loss"], "o", color=PALETTE[i % len(PALETTE)], ms=4, label=f"C = {sci(g['C'].iloc[0])}")
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no IsoFLOP run recorded yet", ha="center", va="center", transform=ax.transAxes)
    ax.set(xscale="log", xlabel="parameters N", ylabel="final validation loss (nats per byte)")
    fig.tight_layout()
    return fig


def plot_duel(st):
    """Chinchilla against Gopher: each model's final loss against its parameters, each seed a dot and its three
    models joined by a thin line (the pairs the tests compare), each model's mean a bar, and the least loss the
    held-in fits predict for the budget with its interval as a band."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    t = st.duel
    if t is None or t.empty:
        ax.text(0.5, 0.5, "no run of the duel recorded yet", ha="center", va="center", transform=ax.transAxes)
    else:
        top = wide.top_prediction(st.study, st.predictions)
        if top is not None:
            ax.axhspan(*top.loss_star_interval, color=PALETTE[1], alpha=0.15, lw=0,
                       label=f"least loss the held-in fits predict ({wide.LEVEL:.0%} interval)")
            ax.axhline(top.loss_star, color=PALETTE[1], lw=1)
        for i, (seed, g) in enumerate(t.sort_values("N").groupby("seed")):
            ax.plot(g["N"], g["loss"], "-o", color=PALETTE[0], lw=0.6, ms=4, alpha=0.7,
                    label="one seed's three models" if i == 0 else None)
        mean = t.groupby("N")["loss"].mean()
        ax.plot(mean.index, mean.to_numpy(), "_", color="black", ms=24, mew=2, label="mean over seeds")
        for n, g in t.groupby("N"):
            ax.annotate(g["model"].iloc[0], (n, g["loss"].max()), textcoords="offset points", xytext=(0, 8),
                        ha="center", fontsize="small")
        ax.margins(y=0.15)
        ax.legend(fontsize="small", loc="upper center")
    ax.set(xscale="log", xlabel="parameters N", ylabel="final validation loss (nats per byte)",
           title=f"C = {sci(st.study.budgets[-1])} executed FLOPs")
    fig.tight_layout()
    return fig
