"""Approach 3's tables: Table A3 regenerated from a fit's frontier, and the sum-versus-mean
demonstration of scipy's stopping test."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from replication.errors import check_int
from replication.fit import compute_for_size, huber_lse_objective, inconsistent_rows, observations, start_grid
from replication.sources.chinchilla import TABLE_A3


def regenerate_table_a3(params: dict, table=None, *, tol: float = 0.25) -> pd.DataFrame:
    """Table A3's Approach-3 columns next to the values the frontier of ``params`` gives for the
    same model sizes, and a flag on rows whose printed C is not 6·N·D (a misprint)."""
    t = TABLE_A3 if table is None else table
    C, D = compute_for_size(params, t["N"])
    bad = set(inconsistent_rows(t["N"], t["approach3_C"], t["approach3_D"], tol=tol).tolist())
    return pd.DataFrame({
        "N": t["N"], "C printed": t["approach3_C"], "C ours": C, "C ours / printed": C / t["approach3_C"],
        "D printed": t["approach3_D"], "D ours": D, "D ours / printed": D / t["approach3_D"],
        "printed C / 6ND": t["approach3_C"] / (6 * t["N"] * t["approach3_D"]),
        "misprint": ["C is not 6ND" if i in bad else "" for i in range(len(t))],
    })


def sum_versus_mean(data, starts: int = 100, delta: float = 1e-3, seed: int = 0) -> pd.DataFrame:
    """scipy's L-BFGS-B from the same random grid starts, on the sum and on the mean of the Huber
    objective: iterations, and how many runs end at the best objective either found.

    Same minimiser, data and starts; only the objective's scale differs. scipy stops when an
    iteration lowers f by less than 2.2e-9·max(|f|, 1). For the mean (f of order 1e-5) that is a
    large relative step, so runs end near where they began.
    """
    N, D, loss, _ = observations(data)
    n, d, l = np.log(N), np.log(D), np.log(loss)
    x0s = start_grid(check_int("starts", starts, 1, 4500), seed)
    out = {}
    for name, scale in (("sum", 1.0), ("mean", 1.0 / N.size)):
        fs, its = [], []
        with np.errstate(over="ignore", invalid="ignore"):
            for x0 in x0s:
                res = minimize(lambda t: tuple(v[0] * scale for v in huber_lse_objective(t, n, d, l, delta)),
                               x0, jac=True, method="L-BFGS-B")
                fs.append(float(huber_lse_objective(res.x, n, d, l, delta)[0][0]))
                its.append(res.nit)
        out[name] = (np.array(fs), np.array(its))
    best = min(f.min() for f, _ in out.values())
    return pd.DataFrame([{"objective": k, "starts": len(f), "median iterations": float(np.median(i)),
                          "best sum of Huber": f.min(), "runs ending within 1e-4 of the best": int((f <= best * (1 + 1e-4)).sum())}
                         for k, (f, i) in out.items()]).set_index("objective")


# --------------------------------------------------------------------------------------------------
# Chinchilla's own runs (the Figure 4 points)


def interval_table(fig, method: str = "huber") -> pd.DataFrame:
    """The intervals of :func:`replication.studies.figure4.intervals` as printed ranges."""
    from replication.studies import figure4

    t = figure4.intervals(fig, method)
    out = pd.DataFrame(index=t.index)
    out["estimate"] = t["estimate"].map(lambda v: f"{v:.4g}")
    out["paper"] = t["paper"].map(lambda v: f"{v:.4g}")
    for col in t.columns:
        if col.endswith("%"):
            out[col] = t[col].map(lambda r: f"[{r[0]:.4g}, {r[1]:.4g}]")
        elif col.startswith("paper inside"):
            out[col] = t[col].map({True: "yes", False: "no"})
    return out


def implications_table(fig) -> pd.DataFrame:
    """:func:`replication.studies.figure4.implications` with each refit and its interval in one column."""
    from replication.studies import figure4

    t = figure4.implications(fig)
    out = t[["paper (eq. 10)", "paper (unrounded)"]].map(lambda v: f"{v:.4g}")
    for m in figure4.METHODS:
        lo, hi = [c for c in t.columns if c.startswith(f"{m} ")]
        out[f"ours, {m} [95%]"] = [f"{v:.4g} [{a:.4g}, {b:.4g}]" for v, a, b in zip(t[f"ours, {m}"], t[lo], t[hi])]
    return out


def glue_figure4(fig) -> dict:
    """Glue every number the prose about the Figure 4 points quotes; returns them by name.

    Values are plain floats, ints and strings (myst-nb formats the text of a glued value, and a
    numpy scalar's text is not a number)."""
    from myst_nb import glue

    from replication.fit import frontier, predict_loss
    from replication.sources import chinchilla as paper
    from replication.studies import figure4

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
    resid = np.log(every["loss"] / predict_loss(dict(h.params), every["N"], every["D"]))
    v["f4_drop_resid_min"], v["f4_drop_resid_max"] = resid[dropped.index].min(), resid[dropped.index].max()
    v["f4_kept_resid_max"] = resid.drop(dropped.index).abs().max()
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
        return "holds" if lo <= x <= hi else "does not hold"

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
    verdicts = figure4.verdicts(fig)["verdict"].tolist()
    for i, verdict in enumerate(verdicts):
        v[f"f4_verdict{i}"] = verdict
    v = {k: (int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, bool) else
             x if isinstance(x, str) else float(x)) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def plot_contours(fig, levels=None):
    """Figure 4 (left) twice: the points in the (C, N) plane coloured by loss, the iso-loss contours
    of a fitted surface and its compute-optimal frontier; the paper's eq. 10 on the left, our Huber
    refit on the right, each panel showing the other's frontier dashed. The refit's frontier carries
    its 95% bootstrap band."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    from replication.fit import frontier, predict_loss
    from replication.sources import chinchilla as paper
    from replication.studies import figure4

    every = figure4.points(keep_all=True)
    dropped = every.loc[every["loss"].nlargest(figure4.DROPPED).index]
    C = np.logspace(18, 22.5, 200)
    Nn = np.logspace(7.5, 10.5, 200)
    CC, NN = np.meshgrid(C, Nn)
    levels = np.round(np.arange(2.0, 3.61, 0.1), 2) if levels is None else levels
    norm = Normalize(vmin=levels[0], vmax=levels[-1])
    fits = {"eq. 10 (paper, as printed)": dict(paper.EQ10), "our refit (Huber, δ = 1e-3)": dict(fig.fits["huber"].params)}
    f, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, (title, p), (_, other) in zip(axes, fits.items(), reversed(list(fits.items()))):
        cs = ax.contour(CC, NN, predict_loss(p, NN, CC / (6 * NN)), levels=levels, cmap="viridis", norm=norm,
                        linewidths=0.8)
        ax.clabel(cs, levels[::2], fontsize=7, fmt="%.1f")
        sc = ax.scatter(fig.data["C"], fig.data["N"], c=fig.data["loss"], cmap="viridis", norm=norm, s=12,
                        edgecolors="k", linewidths=0.3, zorder=3)
        ax.scatter(dropped["C"], dropped["N"], marker="x", color="red", s=20, zorder=3,
                   label="the dropped points")
        ax.plot(C, frontier(p).n_opt(C), "k-", lw=1.5, label="its frontier $N_{opt}(C)$")
        ax.plot(C, frontier(other).n_opt(C), "k--", lw=1, label="the other panel's frontier")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training FLOPs C")
        ax.set_title(title, fontsize=10)
    s = figure4._columns(fig.boot["huber", "points"].samples)
    G = (s["alpha"] * s["A"] / (s["beta"] * s["B"])) ** (1 / (s["alpha"] + s["beta"]))
    band = G[:, None] * (C[None, :] / 6) ** s["a"][:, None]
    lo, hi = np.percentile(band, [2.5, 97.5], axis=0)
    axes[1].fill_between(C, lo, hi, color="k", alpha=0.12, label="95% bootstrap band")
    axes[0].set_ylabel("parameters N")
    axes[1].legend(fontsize=7, loc="upper left")
    f.colorbar(sc, ax=axes, label="final loss", shrink=0.9)
    return f


def plot_delta_sweep(sweep: pd.DataFrame, interval=None):
    """The frontier exponent a and the irreducible loss E against the Huber δ: the converged fit of the
    summed objective, and where L-BFGS stops on the mean with scipy's default test. ``interval``: the
    (lo, hi) 95% bootstrap interval of a at δ = 1e-3, drawn as an error bar."""
    import matplotlib.pyplot as plt

    from replication.sources import chinchilla as paper

    f, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for (objective, stop), style, label in ((("sum", "converged"), "o-", "sum, converged"),
                                            (("mean", "scipy's test"), "s--", "mean, stopped by scipy's test")):
        part = sweep.xs((objective, stop), level=("objective", "stop"))
        for ax, name in zip(axes, ("a", "E")):
            ax.plot(part.index, part[name], style, label=label)
    if interval is not None:
        axes[0].plot([1e-3, 1e-3], interval, "_-", color="grey", ms=10, label="95% bootstrap interval (sum)")
    axes[0].axhline(paper.TABLE_2["approach3"]["a"], color="C3", lw=0.8, ls=":", label="Table 2, Approach 3")
    axes[0].axhline(paper.TABLE_2["approach2"]["a"], color="C2", lw=0.8, ls=":", label="Table 2, Approach 2")
    axes[1].axhline(paper.EQ10["E"], color="C3", lw=0.8, ls=":", label="eq. 10")
    for ax, name in zip(axes, ("frontier exponent a", "E")):
        ax.set_xscale("log")
        ax.set_xlabel("Huber δ")
        ax.set_ylabel(name)
        ax.legend(fontsize=7)
    f.tight_layout()
    return f
