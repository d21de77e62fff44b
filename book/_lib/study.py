"""Our Chinchilla study at CPU scale: the chapter's figures and display tables."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replication.sources.chinchilla import TABLE_2
from replication.studies import chinchilla, chinchilla_tuning
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy

#: Okabe-Ito, a colour-blind-safe palette
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float) -> str:
    """2.5e+11 as "2.5×10¹¹" (1e+12 as "10¹²")."""
    mantissa, exponent = f"{x:.2g}".split("e") if "e" in f"{x:.2g}" else (f"{x:.2g}", "0")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa}×{power}"


def interval(value: float, ci, digits: int = 2) -> str:
    """"0.52 [0.47, 0.58]"; the value alone without a finite interval."""
    if ci is None or not np.all(np.isfinite(ci)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def plot_lr_sweep(study: ChinchillaStudy = DEFAULT, root=None):
    """Final loss against peak learning rate per swept size, each size's optimum, and the rule."""
    t = chinchilla_tuning.sweep_table(study, root)
    opt = chinchilla_tuning.lr_optima(study, root)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, ((w, n), g) in enumerate(t.groupby(["width", "N"])):
        g = g.sort_values("lr")
        ax.plot(g["lr"], g["loss"], "o-", color=PALETTE[i], label=f"d = {w} (N = {n / 1e3:.0f}k)")
        o = opt[opt["width"] == w].iloc[0]
        if np.isfinite(o["lr*"]):
            ax.axvline(o["lr*"], color=PALETTE[i], ls=":", lw=1)
    ax.set(xscale="log", xlabel="peak learning rate", ylabel="final validation loss (nats per byte)",
           title="learning-rate sweep")
    ax.legend(frameon=False, fontsize=8)
    ok = opt[np.isfinite(opt["lr*"])]
    bx.plot(ok["N"], ok["lr*"], "o", color=PALETTE[0], label="optimum of each sweep")
    n = np.geomspace(min(study.model(j).shape().num_params for j in range(len(study.widths))),
                     max(study.model(j).shape().num_params for j in range(len(study.widths))), 50)
    bx.plot(n, study.lr_ref * (n / 1e5) ** -study.lr_exponent, color=PALETTE[1],
            label=f"rule: {study.lr_ref:.3g}·(N/10⁵)^−{study.lr_exponent:.3g}")
    bx.set(xscale="log", yscale="log", xlabel="parameters N", ylabel="peak learning rate",
           title="the rule every run uses")
    bx.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_profiles(fit, runs: pd.DataFrame, ax=None):
    """The IsoFLOP profiles: every run, each budget's parabola, and its vertex with its interval."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.2))
    table = fit.table.set_index("budget")
    for i, (k, g) in enumerate(runs.groupby("budget")):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g["N"], g["loss"], "o", color=c, ms=4, alpha=0.6)
        x = np.log(g["N"].to_numpy(float))
        coef = np.polyfit(x, g["loss"], 2)
        xs = np.linspace(x.min(), x.max(), 100)
        ax.plot(np.exp(xs), np.polyval(coef, xs), color=c, label=f"C = {sci(g['C'].iloc[0])}")
        row = table.loc[k]
        if row["interior"]:
            y = np.polyval(coef, math.log(row["N_star"]))
            lo, hi = row.get("N_star low", np.nan), row.get("N_star high", np.nan)
            err = [[row["N_star"] - lo], [hi - row["N_star"]]] if np.isfinite(lo) else None
            ax.errorbar([row["N_star"]], [y], xerr=err, fmt="D", color=c, mec="black", capsize=3)
    ax.set(xscale="log", xlabel="parameters N", ylabel="final validation loss (nats per byte)")
    ax.legend(frameon=False, fontsize=8, title="executed training FLOPs", title_fontsize=8)
    return fig


def plot_optima(fit, bytes_per_token: float):
    """N* and D* of each budget with their intervals, the fitted laws with their 80% bands and the
    paper's slopes; and tokens per parameter at each vertex, in bytes and in subword tokens."""
    t = fit.table[fit.table["interior"]]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    c = np.geomspace(t["C*"].min(), t["C*"].max(), 50)
    samples = fit.details.get("law_samples")
    for ax, col, exp, k, paper, unit, cols in (
            (axes[0], "N_star", "a", "k_N", TABLE_2["approach2"]["a"], "parameters N_opt", (0, 1)),
            (axes[1], "D_star", "b", "k_D", TABLE_2["approach2"]["b"], "training bytes D_opt", (2, 3))):
        y = t[col].to_numpy()
        err = [y - t[f"{col} low"].to_numpy(), t[f"{col} high"].to_numpy() - y] if f"{col} low" in t else None
        ax.errorbar(t["C*"], y, yerr=err, fmt="o", color=PALETTE[0], capsize=3, label="vertex, 80% interval")
        ax.plot(c, fit[k] * c ** fit[exp], color=PALETTE[0], label=f"fit: {exp} = {fit[exp]:.2f}")
        if samples is not None and len(samples):
            curves = np.exp(samples[:, cols[0], None] + samples[:, cols[1], None] * np.log(c)[None, :])
            lo, hi = np.percentile(curves, [10, 90], axis=0)
            ax.fill_between(c, lo, hi, color=PALETTE[0], alpha=0.15, lw=0, label="80% band")
        mid = math.exp(np.log(t["C*"]).mean()), math.exp(np.log(y).mean())
        ax.plot(c, mid[1] * (c / mid[0]) ** paper, "--", color=PALETTE[1], label=f"paper's slope {paper:.2f}")
        ax.set(xscale="log", yscale="log", xlabel="executed training FLOPs C", ylabel=unit)
        ax.legend(frameon=False, fontsize=8)
    ax = axes[2]
    y = t["tokens_per_param"].to_numpy() / bytes_per_token
    err = None
    if "tokens_per_param low" in t:
        err = [y - t["tokens_per_param low"].to_numpy() / bytes_per_token,
               t["tokens_per_param high"].to_numpy() / bytes_per_token - y]
    ax.errorbar(t["C*"], y, yerr=err, fmt="o", color=PALETTE[0], capsize=3, label="ours, in subword tokens")
    ax.axhline(PAPER_TOKENS_PER_PARAM, color=PALETTE[1], ls="--", label="Chinchilla, about 20")
    ax.set(xscale="log", yscale="log", xlabel="executed training FLOPs C", ylabel="tokens per parameter D/N")
    sec = ax.secondary_yaxis("right", functions=(lambda x: x * bytes_per_token, lambda x: x / bytes_per_token))
    sec.set_ylabel("bytes per parameter")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_robustness(table: pd.DataFrame, lo: float, hi: float):
    """The exponent a under each change of analysis, against the headline's interval."""
    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(t) + 1))
    ax.axvspan(lo, hi, color=PALETTE[5], alpha=0.3, label="headline 80% interval")
    ax.axvline(TABLE_2["approach2"]["a"], color=PALETTE[1], ls="--", label="paper (Approach 2)")
    ok = np.isfinite(t["a"])
    ax.plot(t["a"][ok], np.arange(len(t))[ok.to_numpy()], "o", color=PALETTE[0])
    ax.set_yticks(np.arange(len(t)), t["analysis"])
    ax.set(xlabel="exponent a of N_opt ∝ C^a")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


# -- the chapter's numbers ---------------------------------------------------------------------------

#: Chinchilla's tokens per parameter at the compute-optimal frontier (its Table 3, about 20).
PAPER_TOKENS_PER_PARAM = 20.0


def verdict_a(ci, paper_value: float) -> str:
    """agrees when our interval holds the paper's value; disagrees otherwise."""
    lo, hi = ci
    return "agrees" if lo <= paper_value <= hi else "disagrees"


def glue_numbers(fit2, robust: pd.DataFrame, bytes_per_token: float, vocab: int, runs: pd.DataFrame,
                 sweep: pd.DataFrame, pilots: pd.DataFrame, fit1, fit3, recipes: pd.DataFrame) -> dict:
    """Every number the chapter's prose quotes, glued under its name (and returned)."""
    from myst_nb import glue

    paper = TABLE_2["approach2"]
    t = fit2.table[fit2.table["interior"]]
    tpp = t["tokens_per_param"]
    a3_ci = fit3.details["ours"].get("ci", {}).get("a", (math.nan, math.nan))
    robust_rows = robust.iloc[1:]
    failed = robust_rows[robust_rows["inside"].isna()]
    robust_rows = robust_rows[robust_rows["inside"].notna()]
    out = {
        "st_a": fit2["a"], "st_a_lo": fit2.ci["a"][0], "st_a_hi": fit2.ci["a"][1],
        "st_b": fit2["b"], "st_b_lo": fit2.ci["b"][0], "st_b_hi": fit2.ci["b"][1],
        "st_paper_a": paper["a"], "st_paper_b": paper["b"],
        "st_verdict_a": verdict_a(fit2.ci["a"], paper["a"]), "st_verdict_b": verdict_a(fit2.ci["b"], paper["b"]),
        "st_budgets_used": int(fit2.details["budgets_used"]), "st_budgets": int(len(fit2.table)),
        "st_tpp_lo": float(tpp.min()), "st_tpp_hi": float(tpp.max()),
        "st_tpp_sub_lo": float(tpp.min() / bytes_per_token), "st_tpp_sub_hi": float(tpp.max() / bytes_per_token),
        "st_bytes_per_token": bytes_per_token, "st_vocab": vocab, "st_paper_tpp": PAPER_TOKENS_PER_PARAM,
        "st_robust_inside": int(robust_rows["inside"].sum()), "st_robust_rows": int(len(robust_rows)),
        "st_robust_min": float(robust_rows["a"].min()), "st_robust_max": float(robust_rows["a"].max()),
        "st_survives": "survives" if robust_rows["inside"].astype(bool).all() else "does not survive",
        "st_robust_failed": ("every change leaves an estimate" if failed.empty else
                             f"{len(failed)} leave none ({', '.join(failed['analysis'])})"),
        "st_runs": int(len(runs)), "st_sweep_runs": int(len(sweep)),
        "st_minutes": float(sum(s["wall_s"] for s in chinchilla.summaries(DEFAULT.configs())) / 60),
        "st_all_runs": int(len(DEFAULT.configs())),
        "st_min_steps": int(runs["steps"].min()), "st_max_epochs": float(runs["epochs"].max()),
        "st_n_lo": float(runs["N"].min()), "st_n_hi": float(runs["N"].max()),
        "st_c_lo": float(runs["C"].min()), "st_c_hi": float(runs["C"].max()),
        "st_a1": fit1["a"], "st_a1_lo": fit1.ci["a"][0] if fit1.ci else math.nan,
        "st_a1_hi": fit1.ci["a"][1] if fit1.ci else math.nan,
        "st_a3": fit3.details["ours"]["a"], "st_a3_lo": a3_ci[0], "st_a3_hi": a3_ci[1],
        "st_bpb_lo": float(runs["bits_per_byte"].min()),
        "st_bpb_hi": float(runs["bits_per_byte"].max()),
    }
    for _, r in recipes.iterrows():
        key = {"cycle 1.5×": "cycle", "decay to 0": "decay", "AdamW (wd 0.1)": "adamw"}[r["recipe"]]
        out[f"st_rec_{key}"] = r["verdict"]
        out[f"st_rec_{key}_d"] = r["Δ (recipe − baseline)"]
        out[f"st_rec_{key}_p"] = r["p"]
        out[f"st_rec_{key}_need"] = r["seeds for 1% of loss"]
    for k, v in out.items():
        glue(k, v, display=False)
    return out


def design_table(study: ChinchillaStudy = DEFAULT) -> pd.DataFrame:
    """The shape family: one row per width."""
    from replication.studies.chinchilla_design import num_nonembedding_params, num_params

    rows = []
    for j, w in enumerate(study.widths):
        m = study.model(j)
        n = num_params(m)
        rows.append({"width d": w, "parameters N": f"{n:,}",
                     "non-embedding share": f"{num_nonembedding_params(m) / n:.0%}",
                     "executed FLOPs per token": f"{m.shape().self_attn_flops('executed'):,}",
                     "peak learning rate": f"{study.lr(j):.3g}"})
    return pd.DataFrame(rows).set_index("width d")


def steps_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Steps (and epochs) of each IsoFLOP run: widths down, budgets across."""
    one = runs.drop_duplicates(["budget", "width"])
    cell = one.assign(cell=[f"{s:,} ({e:.1f})" for s, e in zip(one["steps"], one["epochs"])])
    t = cell.pivot(index="width", columns="C", values="cell").fillna("")
    t.columns = [f"C = {sci(c)}" for c in t.columns]
    t.index.name = "width d"
    return t


def vertex_table(fit, bytes_per_token: float) -> pd.DataFrame:
    """Each budget's vertex with its 80% interval, and tokens per parameter in bytes and in subwords."""
    t = fit.table
    rows = []
    for _, r in t.iterrows():
        if not r["interior"]:
            rows.append({"executed FLOPs C": sci(r["C"]), "N_opt": "no interior minimum"})
            continue
        rows.append({
            "executed FLOPs C": sci(r["C"]),
            "N_opt": f"{r['N_star'] / 1e3:.1f}k [{r['N_star low'] / 1e3:.1f}k, {r['N_star high'] / 1e3:.1f}k]",
            "D_opt (bytes)": f"{r['D_star'] / 1e6:.2f}M [{r['D_star low'] / 1e6:.2f}M, {r['D_star high'] / 1e6:.2f}M]",
            "bytes per parameter": f"{r['tokens_per_param']:.0f} [{r['tokens_per_param low']:.0f}, "
                                   f"{r['tokens_per_param high']:.0f}]",
            "subword tokens per parameter": f"{r['tokens_per_param'] / bytes_per_token:.1f}",
            "widths below / above": f"{r['sizes below']} / {r['sizes above']}",
            "resamples with a minimum": f"{r['interior share']:.0%}"})
    return pd.DataFrame(rows).set_index("executed FLOPs C")
