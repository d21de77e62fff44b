"""The approach3 chapter's section on Chinchilla's own runs (the Figure 4 points refitted,
:mod:`replication.studies.figure4`): its tables, the numbers its prose quotes, its verdicts and figures."""
from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from IPython.display import Markdown
from myst_nb import glue

from replication.fit import frontier, predict_loss
from replication.papers import chinchilla as paper
from replication.studies import figure4
from replication.verdict import AGREES, DISAGREES, Verdict, box_markdown

from . import figures, tables
from .approach3 import CONSTANTS, NAMES, given


def constants_table(fig):
    """:func:`replication.studies.figure4.constants` as the page shows it: the printed constants
    (eq. 10, Besiroglu et al.) as given, our refits to 4 significant figures."""
    t = figure4.constants(fig).drop(columns=["paper (unrounded)"])
    shown = pd.DataFrame(index=t.index)
    for col in t.columns:
        typed = not col.startswith("ours")
        shown[col] = [given(x) if typed and k in CONSTANTS else tables.number(x, 4) for k, x in t[col].items()]
    shown.index = ["E (nats per token)" if k == "E" else NAMES[k] for k in shown.index]
    shown.index.name = "quantity"
    return tables.table(shown, index="quantity", headers={
        "paper (eq. 10)": "eq. 10 (the paper, as printed)", "Besiroglu et al. (published)": "Besiroglu et al.",
        "ours, huber": "ours, Huber", "ours, likelihood": "ours, likelihood",
        "ours, huber, all 245": "ours, Huber, all points", "ours, likelihood, all 245": "ours, likelihood, all points"},
        caption="The constants of every fit to the paper's points")


def _interval(r, sig: int = 3) -> str:
    return f"{tables.number(r[0], sig)} to {tables.number(r[1], sig)}"


def interval_table(fig, scheme: str = "points"):
    """The bootstrap intervals of one resampling ``scheme`` ("points" or "budgets"): the paper's
    estimator (Huber) with its 80% and 95% intervals and whether the paper's value lies inside the
    95%, and the likelihood estimator's 95% interval beside it."""
    h, lk = figure4.intervals(fig, "huber"), figure4.intervals(fig, "likelihood")
    rows = []
    for k in h.index:
        rows.append({"parameter": "E (nats per token)" if k == "E" else NAMES[k],
                     "paper": given(h.loc[k, "paper"]), "estimate": tables.number(h.loc[k, "estimate"], 4),
                     "h80": _interval(h.loc[k, f"{scheme} 80%"]), "h95": _interval(h.loc[k, f"{scheme} 95%"]),
                     "inside": "yes" if h.loc[k, f"paper inside ({scheme}, 95%)"] else "no",
                     "l95": _interval(lk.loc[k, f"{scheme} 95%"])})
    return tables.table(pd.DataFrame(rows), index="parameter", headers={
        "paper": "the paper", "estimate": "Huber refit", "h80": "its 80% interval", "h95": "its 95% interval",
        "inside": "paper inside the 95%?", "l95": "likelihood refit's 95% interval"},
        caption=f"The refits' bootstrap intervals, {'points' if scheme == 'points' else 'whole budgets'} resampled")


def sweep_table(sweep: pd.DataFrame):
    """The Huber-δ sweep (:attr:`Figure4.sweep`): the constants that matter and the frontier exponent
    for each δ, objective and stopping rule."""
    how = {("sum", "converged"): "sum, run to convergence", ("mean", "scipy's test"): "mean, scipy's stopping test",
           ("mean", "polished"): "mean, then polished"}
    rows = [{"delta": tables.sci(d, 1), "how": how.get((obj, stop), f"{obj}, {stop}"),
             "iters": r["iterations (median)"], "E": r["E"], "alpha": r["alpha"], "beta": r["beta"], "a": r["a"]}
            for (d, obj, stop), r in sweep.iterrows()]
    return tables.table(pd.DataFrame(rows), headers={
        "delta": "Huber δ", "how": "objective and stop", "iters": "median iterations", "E": "E (nats per token)",
        "alpha": "α", "beta": "β", "a": "a"}, formats={"iters": "f0", "E": "f3", "alpha": "f3", "beta": "f3",
                                                     "a": "f3"},
        caption="The Huber-δ sweep: the fit under each δ, objective and stopping rule")


def implications_table(fig):
    """:func:`replication.studies.figure4.implications` in readable units (billions of parameters,
    trillions of tokens): eq. 10 as printed beside each refit with its 95% interval (points
    resampled) in one cell."""
    t = figure4.implications(fig)
    rows = {"a": ("a (N_opt ∝ Cᵃ)", 1, 3), "b": ("b (D_opt ∝ Cᵇ)", 1, 3)}
    for label, short in (("Gopher's budget", "Gopher's budget"), ("Chinchilla's budget", "Chinchilla's budget")):
        rows[f"N_opt, {label}"] = (f"N_opt, {short} (billions)", 1e-9, 3)
        rows[f"D_opt, {label}"] = (f"D_opt, {short} (trillion tokens)", 1e-12, 3)
        rows[f"D_opt/N_opt, {label}"] = (f"tokens per parameter, {short}", 1, 3)
    rows["L(Gopher)"] = ("loss of Gopher (nats per token)", 1, 4)
    rows["L(Chinchilla)"] = ("loss of Chinchilla (nats per token)", 1, 4)
    out = []
    for key, (label, scale, sig) in rows.items():
        r = t.loc[key] * scale
        row = {"quantity": label, "eq10": tables.number(r["paper (eq. 10)"], sig)}
        for m in figure4.METHODS:
            lo, hi = [c for c in t.columns if c.startswith(f"{m} ")]
            row[m] = (f"{tables.number(r[f'ours, {m}'], sig)} "
                      f"({tables.number(r[lo], sig)}–{tables.number(r[hi], sig)})")
        out.append(row)
    return tables.table(pd.DataFrame(out), index="quantity", headers={
        "eq10": "eq. 10 as printed", "huber": "our Huber refit (95% interval)",
        "likelihood": "our likelihood refit (95% interval)"},
        caption="What the refits imply for the allocation and the losses")


def verdicts_table(verdicts: list[Verdict]):
    """:func:`replication.studies.figure4.verdicts` as a table: the question, what we find (the 95%
    interval, or which constants lie outside theirs) and the outcome."""
    rows = [{"question": v.claim, "verdict": v.label,
             "ours": v.finding or f"[{v.interval[0]:.3f}, {v.interval[1]:.3f}]"} for v in verdicts]
    t = pd.DataFrame(rows, columns=["question", "ours", "verdict"])
    t["ours"] = t["ours"].str.replace("beta", "β").str.replace("alpha", "α")
    return tables.table(t, index="question", headers={"ours": "what we find (95% interval)", "verdict": "verdict"},
                        caption="The verdicts on the paper's own runs")


def box(verdicts: list[Verdict]) -> list[Verdict]:
    """The two verdicts of the chapter's box, from :func:`replication.studies.figure4.verdicts`: Table 2's
    Approach-3 exponent against the refit of the paper's own runs, and eq. 10's constants against the
    refit's intervals with whole budgets resampled (the wider)."""
    t2 = paper.TABLE_2["approach3"]["a"]
    a3 = next(v for v in verdicts if v.claim.startswith("Approach 3 refit: a against Table 2's Approach 3"))
    constants = next(v for v in verdicts if v.claim.endswith("(budgets resampled)"))
    p = paper.EQ10
    outside = constants.finding.replace(" outside", "").replace("alpha", "α").replace("beta", "β")
    return [replace(a3, claim=f"Table 2: by Approach 3, $N_{{opt}} \\propto C^{{{t2:.2f}}}$.",
                    finding=(f"The paper's estimator, run to convergence on its own runs (Figure 4), gives "
                             f"{a3.ours:.3f} (widest 95% interval {a3.interval[0]:.3f} to {a3.interval[1]:.3f}).")),
            replace(constants, claim=(f"Eq. 10: E = {p['E']:g}, A = {p['A']:g}, B = {p['B']:g}, α = {p['alpha']:g}, "
                                      f"β = {p['beta']:g}."),
                    finding=("The same refit's 95% intervals, whole budgets resampled, hold all five."
                             if constants.outcome == AGREES else
                             f"The same refit puts {outside} outside its 95% intervals, whole budgets resampled."))]


def glue_numbers(fig, verdicts: list[Verdict]) -> dict:
    """Glue every number the prose about the Figure 4 points quotes, and the chapter's verdict box
    (:func:`box` of ``verdicts``, :func:`replication.studies.figure4.verdicts`); returns the numbers.

    Values are plain floats, ints and strings (myst-nb formats the text of a glued value, and a
    numpy scalar's text is not a number)."""
    every = figure4.points(keep_all=True)
    dropped = every.loc[every["loss"].nlargest(figure4.DROPPED).index]
    h, lk = fig.fits["huber"], fig.fits["likelihood"]
    v = {"f4_n_all": len(every), "f4_n_dropped": figure4.DROPPED, "f4_n_kept": len(fig.data),
         "f4_resamples": fig.resamples,
         "f4_drop_loss_min": dropped["loss"].min(), "f4_drop_loss_max": dropped["loss"].max(),
         "f4_drop_C_min": dropped["C"].min() / 1e19, "f4_drop_C_max": dropped["C"].max() / 1e19,
         "f4_drop_N_min": dropped["N"].min() / 1e9, "f4_drop_N_max": dropped["N"].max() / 1e9,
         "f4_kept_loss_max": fig.data["loss"].max(), "f4_budgets": len(paper.ISOFLOP_BUDGETS)}
    for name in ("A", "B", "E", "alpha", "beta"):
        v[f"f4_h_{name}"] = h[name]
        v[f"f4_l_{name}"] = lk[name]
        v[f"f4_epoch_{name}"] = paper.EPOCH_FIT[name]
        v[f"f4_paper_{name}"] = paper.EQ10[name]
        v[f"f4_all_{name}"] = fig.fits_all["huber"][name]
    v["f4_l_vs_epoch"] = max(abs(lk[k] / paper.EPOCH_FIT[k] - 1) for k in paper.EPOCH_FIT) * 100
    v["f4_h_a"], v["f4_h_b"], v["f4_l_a"] = h.a, h.b, lk.a
    v["f4_all_a"], v["f4_all_l_a"] = fig.fits_all["huber"].a, fig.fits_all["likelihood"].a
    v["f4_paper_a"], v["f4_t2_a3"] = frontier(paper.EQ10).a, paper.TABLE_2["approach3"]["a"]
    v["f4_t2_a2"] = paper.TABLE_2["approach2"]["a"]
    for scheme in figure4.SCHEMES:
        for name in ("A", "B", "E", "alpha", "beta", "a", "b"):
            for level, tag in (("80%", "80"), ("95%", "95")):
                lo, hi = figure4.percentile(fig.boot["huber", scheme], name, level)
                v[f"f4_{scheme}{tag}_{name}_lo"], v[f"f4_{scheme}{tag}_{name}_hi"] = lo, hi
    t = figure4.intervals(fig)
    for scheme in figure4.SCHEMES:
        out = [k for k in ("A", "B", "E", "alpha", "beta") if not t.loc[k, f"paper inside ({scheme}, 95%)"]]
        v[f"f4_outside_{scheme}"] = ", ".join({"alpha": "α", "beta": "β"}.get(k, k) for k in out) or "none"
    widths = []
    for scheme in figure4.SCHEMES:
        for name in ("A", "B", "E", "alpha", "beta", "a", "b"):
            (hl, hh), (ll, lh) = (figure4.percentile(fig.boot[m, scheme], name) for m in figure4.METHODS)
            widths.append(abs((lh - ll) / (hh - hl) - 1) * 100)
    v["f4_lik_width"] = max(widths)
    v["f4_points80_a_width"] = v["f4_points80_a_hi"] - v["f4_points80_a_lo"]
    out, kept = figure4.dropped_residuals(fig)
    v["f4_drop_resid_min"], v["f4_drop_resid_max"] = out.min(), out.max()
    v["f4_kept_resid_max"] = kept.abs().max()
    sw = fig.sweep
    sums = sw.xs(("sum", "converged"), level=("objective", "stop"))
    means = sw.xs(("mean", "scipy's test"), level=("objective", "stop"))
    polished = sw.xs(("mean", "polished"), level=("objective", "stop"))
    v["f4_sweep_a_min"], v["f4_sweep_a_max"] = sums["a"].min(), sums["a"].max()
    v["f4_sweep_E_min"], v["f4_sweep_E_max"] = sums["E"].min(), sums["E"].max()
    v["f4_mean_a"], v["f4_mean_E"] = means.loc[1e-3, "a"], means.loc[1e-3, "E"]
    v["f4_mean_alpha"], v["f4_mean_beta"] = means.loc[1e-3, "alpha"], means.loc[1e-3, "beta"]
    v["f4_mean_iters"] = means.loc[1e-3, "iterations (median)"]
    v["f4_mean_a_1e4"] = means.loc[1e-4, "a"]
    v["f4_polished_a"] = polished.loc[1e-3, "a"]
    v["f4_mean_big_delta_gap"] = max(abs(means.loc[dl, "a"] - sums.loc[dl, "a"]) for dl in (1e-2, 1e-1))
    imp = figure4.implications(fig)
    for label, key in (("Gopher's budget", "g"), ("Chinchilla's budget", "c")):
        v[f"f4_{key}_N_paper"] = imp.loc[f"N_opt, {label}", "paper (eq. 10)"] / 1e9
        v[f"f4_{key}_N_unrounded"] = imp.loc[f"N_opt, {label}", "paper (unrounded)"] / 1e9
        v[f"f4_{key}_N"] = imp.loc[f"N_opt, {label}", "ours, huber"] / 1e9
        v[f"f4_{key}_N_lo"] = imp.loc[f"N_opt, {label}", "huber 2.5%"] / 1e9
        v[f"f4_{key}_N_hi"] = imp.loc[f"N_opt, {label}", "huber 97.5%"] / 1e9
        v[f"f4_{key}_DN"] = imp.loc[f"D_opt/N_opt, {label}", "ours, huber"]
        v[f"f4_{key}_DN_lo"] = imp.loc[f"D_opt/N_opt, {label}", "huber 2.5%"]
        v[f"f4_{key}_DN_hi"] = imp.loc[f"D_opt/N_opt, {label}", "huber 97.5%"]
        v[f"f4_{key}_DN_paper"] = imp.loc[f"D_opt/N_opt, {label}", "paper (eq. 10)"]
    for model in ("Gopher", "Chinchilla"):
        row = imp.loc[f"L({model})"]
        k = model[0].lower()
        v[f"f4_L{k}"], v[f"f4_L{k}_lo"], v[f"f4_L{k}_hi"] = row["ours, huber"], row["huber 2.5%"], row["huber 97.5%"]
        v[f"f4_L{k}_paper"] = row["paper (eq. 10)"]
    v["f4_chinchilla_N"] = paper.CHINCHILLA["N"] / 1e9
    v["f4_chinchilla_D"] = paper.CHINCHILLA["D"] / 1e12
    v["f4_chinchilla_DN"] = paper.CHINCHILLA["D"] / paper.CHINCHILLA["N"]
    v["f4_all_shift_a"] = fig.fits_all["huber"].a - h.a
    v["f4_c_budget"] = figure4.CHINCHILLA_FLOPS / 1e23
    v["f4_gopher_budget"] = paper.GOPHER_FLOPS / 1e23
    v["f4_extrapolation"] = figure4.extrapolation_factor(fig)
    v["f4_C_max"] = fig.data["C"].max() / 1e22
    a3 = figure4.percentile(fig.paired, "a3")
    a2 = figure4.percentile(fig.paired, "a2")
    diff = figure4.percentile(fig.paired, "a3 - a2")
    v["f4_a2"] = fig.approach2["a"]
    v["f4_pair_a2_lo"], v["f4_pair_a2_hi"] = a2
    v["f4_pair_a3_lo"], v["f4_pair_a3_hi"] = a3
    v["f4_diff"] = fig.fits["huber"].a - fig.approach2["a"]
    v["f4_diff_lo"], v["f4_diff_hi"] = diff
    def holds(lo, hi, x):
        return "contains" if lo <= x <= hi else "does not contain"

    def inside(lo, hi, x):
        return "inside" if lo <= x <= hi else "outside"

    v["f4_Lg_holds"] = holds(v["f4_Lg_lo"], v["f4_Lg_hi"], paper.LOSS_GOPHER)
    v["f4_Lc_holds"] = holds(v["f4_Lc_lo"], v["f4_Lc_hi"], paper.LOSS_CHINCHILLA)
    v["f4_diff_holds"] = holds(v["f4_diff_lo"], v["f4_diff_hi"], 0.0)
    v["f4_t2_in_points"] = inside(v["f4_points95_a_lo"], v["f4_points95_a_hi"], v["f4_t2_a3"])
    v["f4_t2_in_budgets"] = inside(v["f4_budgets95_a_lo"], v["f4_budgets95_a_hi"], v["f4_t2_a3"])
    chin = (v["f4_c_N_lo"] <= v["f4_chinchilla_N"] <= v["f4_c_N_hi"]
            and v["f4_c_DN_lo"] <= v["f4_chinchilla_DN"] <= v["f4_c_DN_hi"])
    v["f4_chin_inside"] = "inside" if chin else "outside"
    for i, verdict in enumerate(verdicts):
        v[f"f4_verdict{i}"] = verdict.label
    v["f4_apart"] = ("What stands apart on these points is the paper's printed Approach 3, not the approach."
                     if v["f4_verdict2"] == DISAGREES else
                     "Judged by the wider interval, even the printed Approach-3 exponent is within what these "
                     "points allow: they do not tell the paper's exponents apart.")
    v = {k: (int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, bool) else
             x if isinstance(x, str) else float(x)) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    glue("approach3_verdict", Markdown(box_markdown(box(verdicts))), display=False)
    return v


def plot_contours(fig, levels=None):
    """Figure 4 (left) twice: the points in the (C, N) plane coloured by their final loss, the iso-loss
    contours of a fitted surface L(N, D = C/6N) and its compute-optimal frontier; the paper's eq. 10
    on the left, our Huber refit on the right, each panel showing the other's frontier dashed. The
    refit's frontier carries its 95% bootstrap band. One colour scale (the colourbar) serves contours
    and points."""
    every = figure4.points(keep_all=True)
    dropped = every.loc[every["loss"].nlargest(figure4.DROPPED).index]
    C = np.logspace(18, 22.5, 200)
    Nn = np.logspace(7.5, 10.5, 200)
    CC, NN = np.meshgrid(C, Nn)
    levels = np.round(np.arange(2.0, 3.61, 0.1), 2) if levels is None else levels
    norm = Normalize(vmin=levels[0], vmax=levels[-1])
    fits = {"eq. 10 (the paper, as printed)": dict(paper.EQ10),
            "our refit (Huber, δ = 10⁻³)": dict(fig.fits["huber"].params)}
    f, axes = plt.subplots(1, 2, figsize=(9.5, 4.2), sharey=True, layout="constrained")
    for ax, (title, p), (_, other) in zip(axes, fits.items(), reversed(list(fits.items()))):
        cs = ax.contour(CC, NN, predict_loss(p, NN, CC / (6 * NN)), levels=levels, cmap="viridis", norm=norm,
                        linewidths=0.8)
        ax.clabel(cs, levels[::2], fmt="%.1f")
        sc = ax.scatter(fig.data["C"], fig.data["N"], c=fig.data["loss"], cmap="viridis", norm=norm, s=12,
                        edgecolors="k", linewidths=0.3, zorder=3, label="a training run (its final loss)")
        ax.scatter(dropped["C"], dropped["N"], marker="x", color=figures.PALETTE[3], s=24, zorder=4,
                   label="a dropped run")
        ax.plot(C, frontier(p).n_opt(C), "-", color=figures.PALETTE[7], lw=1.5, label="this surface's frontier")
        ax.plot(C, frontier(other).n_opt(C), "--", color=figures.PALETTE[7], lw=1,
                label="the other panel's frontier")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training FLOPs C")
        ax.set_title(title)
    lo, hi = figure4.frontier_band(fig, C)
    axes[1].fill_between(C, lo, hi, color=figures.PALETTE[7], alpha=0.12, lw=0,
                         label="95% bootstrap band of the frontier")
    axes[0].set_ylabel("parameters N")
    axes[1].legend(loc="lower right", framealpha=0.85, frameon=True)
    f.colorbar(sc, ax=axes, label="final training loss (nats per token)", shrink=0.9, pad=0.02)
    return f


def plot_delta_sweep(sweep: pd.DataFrame, interval=None):
    """The frontier exponent a and the irreducible loss E against the Huber δ: the converged fit of the
    summed objective, and where L-BFGS stops on the mean with scipy's default test. ``interval``: the
    (lo, hi) 95% bootstrap interval of a at δ = 10⁻³, drawn as an error bar."""
    f, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    # where the two coincide (large δ) the open squares ring the filled dots, so both stay visible
    styles = ((("sum", "converged"), dict(marker="o", ls="-", ms=5, color=figures.PALETTE[0]),
               "sum, run to convergence"),
              (("mean", "scipy's test"), dict(marker="s", ls="--", ms=9, fillstyle="none", color=figures.PALETTE[1]),
               "mean, stopped by scipy's test"))
    for key, style, label in styles:
        part = sweep.xs(key, level=("objective", "stop"))
        for ax, name in zip(axes, ("a", "E")):
            ax.plot(part.index, part[name], label=label, **style)
    if interval is not None:
        axes[0].plot([1e-3, 1e-3], interval, "_-", color=figures.PALETTE[7], ms=10, lw=1,
                     label="95% bootstrap interval (sum)")
    axes[0].axhline(paper.TABLE_2["approach3"]["a"], color=figures.PALETTE[3], lw=1, ls=":",
                    label="Table 2, Approach 3")
    axes[0].axhline(paper.TABLE_2["approach2"]["a"], color=figures.PALETTE[2], lw=1, ls="-.",
                    label="Table 2, Approach 2")
    axes[1].axhline(paper.EQ10["E"], color=figures.PALETTE[3], lw=1, ls=":", label="eq. 10")
    for ax, name in zip(axes, ("frontier exponent a", "irreducible loss E (nats per token)")):
        ax.set_xscale("log")
        ax.set_xlabel("Huber threshold δ")
        ax.set_ylabel(name)
        ax.legend()
    f.tight_layout()
    return f
