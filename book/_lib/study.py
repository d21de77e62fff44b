"""Our Chinchilla study at CPU scale: the chapter's figures and display tables."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullFormatter

from replication.sources.chinchilla import TABLE_2
from replication.studies import chinchilla, chinchilla_tuning
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy

from .figures import PALETTE
from . import tables
from .tables import sci, table


def interval(value: float, ci, digits: int = 2) -> str:
    """"0.52 [0.47, 0.58]"; the value alone without a finite interval."""
    if ci is None or not np.all(np.isfinite(ci)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _plain_minor_ticks(ax) -> None:
    """No labels on the minor ticks of a log x axis: on a short range they collide."""
    ax.xaxis.set_minor_formatter(NullFormatter())


def _budget_ticks(ax, budgets) -> None:
    """Major ticks of a log x axis of compute at every other budget (a factor 4 apart), written 2.5×10¹¹."""
    ticks = list(budgets)[::2]
    ax.set_xticks(ticks, [sci(c) for c in ticks])
    _plain_minor_ticks(ax)


def plot_lr_sweep(study: ChinchillaStudy = DEFAULT, root=None):
    """Final loss against peak learning rate per swept size, each size's optimum, and the rule."""
    t = chinchilla_tuning.sweep_table(study, root)
    opt = chinchilla_tuning.lr_optima(study, root)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.6))
    for i, ((w, n), g) in enumerate(t.groupby(["width", "N"])):
        g = g.sort_values("lr")
        ax.plot(g["lr"], g["loss"], "o-", color=PALETTE[i], label=f"d = {w} (N = {n:,})")
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
            label=f"rule: ${study.lr_ref:.3g}\\,(N/10^5)^{{-{study.lr_exponent:.3g}}}$")
    bx.set(xscale="log", yscale="log", xlabel="parameters N", ylabel="peak learning rate",
           title="the rule every run uses")
    bx.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_profiles(fit, runs: pd.DataFrame, ax=None):
    """The IsoFLOP profiles: every run, each budget's fitted curve (by the fit's estimator), and its
    minimum with its interval."""
    from replication.fit.vertex import profile_minimum

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.2))
    vertices = fit.table.set_index("budget")
    estimator = fit.options.get("estimator", "all")
    for i, (k, g) in enumerate(runs.groupby("budget")):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(g["N"], g["loss"], "o", color=c, ms=4, alpha=0.6)
        x = np.log(g["N"].to_numpy(float))
        curve = profile_minimum(x, g["loss"].to_numpy(float), estimator=estimator).curve
        xs = np.linspace(x.min(), x.max(), 100)
        ax.plot(np.exp(xs), curve(xs), color=c, label=f"C = {sci(g['C'].iloc[0])}")
        row = vertices.loc[k]
        if row["interior"]:
            y = float(curve(math.log(row["N_star"])))
            lo, hi = row.get("N_star low", np.nan), row.get("N_star high", np.nan)
            err = [[row["N_star"] - lo], [hi - row["N_star"]]] if np.isfinite(lo) else None
            ax.errorbar([row["N_star"]], [y], xerr=err, fmt="D", color=c, mec="black", capsize=3)
    ax.set(xscale="log", xlabel="parameters N", ylabel="final validation loss (nats per byte)")
    ax.legend(frameon=False, fontsize=8, title="budget (executed training FLOPs)", title_fontsize=8)
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
        ax.legend(frameon=False, fontsize=8)
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
    ax.legend(frameon=False, fontsize=8)
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
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.6 / (0.28 * len(t) + 1)),
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
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig


# -- the chapter's numbers ---------------------------------------------------------------------------

#: Chinchilla's tokens per parameter at the compute-optimal frontier (its Table 3, about 20).
PAPER_TOKENS_PER_PARAM = 20.0


def flops_exponent(study: ChinchillaStudy = DEFAULT) -> float:
    """k of executed training FLOPs per token ∝ N^k across the study's widths (a least-squares slope in
    log-log): below 1 where attention and the unembedding weigh more at small widths."""
    from replication.studies.chinchilla_design import num_params

    n = [num_params(study.model(j)) for j in range(len(study.widths))]
    f = [study.model(j).shape().self_attn_flops("executed") for j in range(len(study.widths))]
    return float(np.polyfit(np.log(n), np.log(f), 1)[0])


def glue_numbers(fit2, robust: pd.DataFrame, bytes_per_token: float, vocab: int, runs: pd.DataFrame,
                 sweep: pd.DataFrame, pilots: pd.DataFrame, fit1, fit3, recipes: pd.DataFrame,
                 counts: pd.DataFrame, intervals1: dict | None = None) -> dict:
    """Every number the chapter's prose quotes, glued under its name (and returned). ``intervals1``:
    :func:`replication.studies.chinchilla.approach1_intervals`; ``fit3`` computed with ``intervals``."""
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
        "st_budgets_used": int(fit2.details["budgets_used"]), "st_budgets": int(len(fit2.table)),
        "st_tpp_lo": float(tpp.min()), "st_tpp_hi": float(tpp.max()),
        "st_tpp_sub_lo": float(tpp.min() / bytes_per_token), "st_tpp_sub_hi": float(tpp.max() / bytes_per_token),
        "st_bytes_per_token": bytes_per_token, "st_vocab": vocab, "st_paper_tpp": PAPER_TOKENS_PER_PARAM,
        "st_robust_inside": int(robust_rows["inside"].sum()), "st_robust_rows": int(len(robust_rows)),
        "st_robust_min": float(robust_rows["a"].min()), "st_robust_max": float(robust_rows["a"].max()),
        "st_robust_outside": int(len(robust_rows) - robust_rows["inside"].sum()),
        "st_robust_inside_widest": int(robust_rows["inside widest"].sum()) if "inside widest" in robust_rows
        else -1,
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
    from replication.studies.chinchilla_design import TRAIN_TOKENS, num_nonembedding_params, num_params

    shares = [num_nonembedding_params(DEFAULT.model(j)) / num_params(DEFAULT.model(j))
              for j in range(len(DEFAULT.widths))]
    out["st_train_mb"] = TRAIN_TOKENS / 1e6
    out["st_min_share"] = 100 * min(shares)
    out["st_flops_k"] = flops_exponent(DEFAULT)
    out["st_ka_b"] = out["st_flops_k"] * out["st_a"] + out["st_b"]
    out |= exponent_numbers(counts, paper)
    t2 = {k: {"a": TABLE_2[k]["a"], "b": TABLE_2[k]["b"], "b/a": TABLE_2[k]["b"] / TABLE_2[k]["a"]}
          for k in ("approach1", "approach3")}
    out["st_paper_a1_a"], out["st_paper_a3_a"] = t2["approach1"]["a"], t2["approach3"]["a"]
    if "intervals" in fit3.details["ours"]:
        out |= interval_numbers("st_i3", fit3.details["ours"]["intervals"], t2["approach3"])
    if intervals1 is not None:
        out |= interval_numbers("st_i1", intervals1["combined"], t2["approach1"])
    for _, r in recipes.iterrows():
        key = {"cycle 1.5×": "cycle", "decay to 0": "decay", "AdamW (wd 0.1)": "adamw"}[r["recipe"]]
        out[f"st_rec_{key}"] = r["verdict"]
        out[f"st_rec_{key}_d"] = r["Δ (recipe − baseline)"]
        out[f"st_rec_{key}_p"] = r["p"]
        out[f"st_rec_{key}_need"] = r["seeds for 1% of loss"]
        if "claimed direction" in r:
            out[f"st_rec_{key}_dir"] = r["claimed direction"]
            out[f"st_rec_{key}_without"] = r["test without it"]
            out["st_rec_outlier_seed"], out["st_rec_outlier_excess"] = int(r["outlying seed"]), r["outlier excess"]
    for k, v in out.items():
        glue(k, v, display=False)
    return out


#: the counts' short names in glue keys
_COUNT_KEYS = {"executed": "ex", "C_self": "cs", "6N": "6n", "6N non-embedding": "ne"}
#: the intervals' short names in glue keys
_IV_KEYS = {"bootstrap": "boot", "residual t": "res", "leave one budget out": "lobo", "leave one width out": "lowo"}


#: short names in glue keys of the ranges only Approaches 1 and 3 have
_MORE_IV_KEYS = {"leave one budget out, refitted": "lobor", "envelope fit, estimate": "fit",
                 "envelope fit, bootstrap": "fitboot"}


def interval_numbers(prefix: str, ex: dict, ref: dict) -> dict:
    """The numbers of exponents with their intervals (``ex``: name -> ExponentIntervals), under
    ``<prefix>_<a|b|r>``: the estimate, each interval's ``_<boot|res|lobo|lowo|lobor|...>_<lo|hi>``, the
    widest (``_wide_lo``/``_wide_hi``), which intervals set its ends (``_wide_by``), and the verdict
    against ``ref`` (name -> the paper's value) by the widest (``_verdict``)."""
    keys = _IV_KEYS | _MORE_IV_KEYS
    out = {}
    for name, e in ex.items():
        key = f"{prefix}_{'r' if name == 'b/a' else name}"
        out[key] = e.estimate
        for iv, (lo, hi) in e.intervals().items():
            out[f"{key}_{keys[iv]}_lo"], out[f"{key}_{keys[iv]}_hi"] = lo, hi
        out[f"{key}_wide_lo"], out[f"{key}_wide_hi"] = e.widest
        by = e.widest_by
        out[f"{key}_wide_by"] = by[0] if by[0] == by[1] else f"{by[0]} (low end) and {by[1]} (high end)"
        if name in ref:
            out[f"{key}_verdict"] = e.verdict(ref[name])
    return {k: v if isinstance(v, str) else float(v) for k, v in out.items()}


def exponent_numbers(counts: pd.DataFrame, paper: dict) -> dict:
    """The glued numbers of every exponent under every count: ``st_<count>_<a|b|r>`` and, per interval,
    ``..._<boot|res|lobo|lowo|wide>_<lo|hi>``; each one's verdict against the paper by the widest
    interval (``..._verdict``), and how many times the bootstrap's width the widest is (``..._x``)."""
    out = {"st_paper_ratio": paper["b"] / paper["a"]}
    ref = {"a": paper["a"], "b": paper["b"], "r": paper["b"] / paper["a"]}
    for _, row in counts.iterrows():
        c = _COUNT_KEYS[row["count"]]
        for name, e in row["intervals"].items():
            key = f"st_{c}_{'r' if name == 'b/a' else name}"
            out[key] = e.estimate
            for iv, (lo, hi) in e.intervals().items():
                out[f"{key}_{_IV_KEYS[iv]}_lo"], out[f"{key}_{_IV_KEYS[iv]}_hi"] = lo, hi
            out[f"{key}_wide_lo"], out[f"{key}_wide_hi"] = e.widest
            out[f"{key}_verdict"] = e.verdict(ref[key.rsplit("_", 1)[1]])
            if e.bootstrap is not None:
                out[f"{key}_x"] = (e.widest[1] - e.widest[0]) / (e.bootstrap[1] - e.bootstrap[0])
    return {k: v if isinstance(v, str) else float(v) for k, v in out.items()}


def design_table(study: ChinchillaStudy = DEFAULT):
    """The shape family: one row per width."""
    from replication.studies.chinchilla_design import num_nonembedding_params, num_params

    rows = []
    for j, w in enumerate(study.widths):
        m = study.model(j)
        n = num_params(m)
        rows.append({"width": w, "N": n, "share": num_nonembedding_params(m) / n,
                     "flops": m.shape().self_attn_flops("executed"), "lr": study.lr(j)})
    return table(pd.DataFrame(rows), index="width",
                 headers={"width": "width d", "N": "parameters N", "share": "non-embedding share of N",
                          "flops": "executed training FLOPs per token", "lr": "peak learning rate"},
                 formats={"width": "int", "N": "int", "share": lambda x: f"{x:.0%}", "flops": "int",
                          "lr": "sig3"})


def steps_table(runs: pd.DataFrame):
    """Steps (and epochs) of each IsoFLOP run: widths down, budgets across."""
    one = runs.drop_duplicates(["budget", "width"])
    cell = one.assign(cell=[f"{s:,} ({e:.1f})" for s, e in zip(one["steps"], one["epochs"])])
    t = cell.pivot(index="width", columns="C", values="cell").fillna("")
    t.columns = [f"{sci(c)} FLOPs" for c in t.columns]
    t = t.reset_index()
    return table(t, index="width", headers={"width": "width d"}, formats={"width": "int"},
                 caption="Steps (epochs) of each run, by width and executed-FLOP budget")


#: how the chapter names the pilots and writes their values
_PILOTS = {"beta2": ("Adam β₂", lambda v: f"{v:g}"),
           "warmup": ("warmup", lambda v: "none" if v == 0 else ("N tokens" if v == 1 else f"{v:g}N tokens")),
           "batch": ("batch", lambda v: f"{v:g} sequences")}


def pilot_table(pilots: pd.DataFrame):
    """The pilots: each value's mean final loss and its paired difference from the chosen value."""
    t = pilots.assign(pilot=[_PILOTS[p][0] for p in pilots["pilot"]],
                      value=[_PILOTS[p][1](v) for p, v in zip(pilots["pilot"], pilots["value"])],
                      chosen=["yes" if c else "" for c in pilots["chosen"]],
                      **{"Δ vs chosen": [math.nan if c else d
                                         for c, d in zip(pilots["chosen"], pilots["Δ vs chosen"])]})
    return table(t, columns=["pilot", "value", "chosen", "seeds", "loss", "Δ vs chosen", "p"],
                 headers={"pilot": "pilot", "value": "value", "chosen": "used", "seeds": "seeds",
                          "loss": "mean final validation loss (nats per byte)",
                          "Δ vs chosen": "paired difference from the value used (nats per byte)",
                          "p": "p (paired t-test)"},
                 formats={"seeds": "int", "loss": "f4", "Δ vs chosen": "signed4", "p": "p"})


def vertex_table(fit, bytes_per_token: float):
    """Each budget's vertex with its 80% interval, and tokens per parameter in bytes and in subwords."""
    rows = []
    for _, r in fit.table.iterrows():
        row = {"C": r["C"]}
        if r["interior"]:
            row |= {"N": interval(r["N_star"] / 1e3, (r["N_star low"] / 1e3, r["N_star high"] / 1e3), 1),
                    "D": interval(r["D_star"] / 1e6, (r["D_star low"] / 1e6, r["D_star high"] / 1e6), 2),
                    "bpp": interval(r["tokens_per_param"], (r["tokens_per_param low"], r["tokens_per_param high"]), 0),
                    "tpp": r["tokens_per_param"] / bytes_per_token,
                    "sides": f"{r['sizes below']} / {r['sizes above']}", "share": r["interior share"]}
        else:
            row |= {"N": "no interior minimum", "D": "", "bpp": "", "tpp": math.nan, "sides": "", "share": math.nan}
        rows.append(row)
    return table(pd.DataFrame(rows), index="C",
                 headers={"C": "budget C (executed FLOPs)",
                          "N": "optimal parameters N, thousands (80% interval)",
                          "D": "optimal training bytes D, millions (80% interval)",
                          "bpp": "bytes per parameter (80% interval)", "tpp": "subword tokens per parameter",
                          "sides": "widths below / above the vertex", "share": "resamples with a minimum"},
                 formats={"C": "sci", "tpp": "f1", "share": lambda x: "—" if not np.isfinite(x) else f"{x:.0%}"})


#: the four ways of counting compute, in words
COUNTS = {"executed": "every executed matmul (our budgets)",
          "C_self": "Krasser's corrected count (no embedding, no unembedding)",
          "6N": "6N per token, every parameter (Chinchilla's C = 6ND)",
          "6N non-embedding": "6N per token without the embeddings (Kaplan's)"}


def accounting_table(counts: pd.DataFrame):
    """The exponents a, b and b/a of the same runs, with N and C counted each way: each estimate with its
    80% bootstrap interval, and the widest of its intervals (bootstrap, residual t, leave one budget out,
    leave one width out), which decides a verdict."""
    t = pd.DataFrame({"count": [COUNTS.get(c, c) for c in counts["count"]]})
    for name in ("a", "b", "b/a"):
        t[name] = [interval(r[name], (r[f"{name} low"], r[f"{name} high"])) for _, r in counts.iterrows()]
        t[f"{name} widest"] = [f"{r[f'{name} widest'][0]:.2f} to {r[f'{name} widest'][1]:.2f}"
                               for _, r in counts.iterrows()]
    return table(t, index="count", headers={"count": "how compute is counted",
                                            "a": "a of N_opt (80% bootstrap)", "a widest": "a: widest interval",
                                            "b": "b of D_opt (80% bootstrap)", "b widest": "b: widest interval",
                                            "b/a": "b/a of D_opt ∝ N_opt^(b/a) (80% bootstrap)",
                                            "b/a widest": "b/a: widest interval"})


def exponent_rows(counts: pd.DataFrame) -> dict:
    """label -> ExponentIntervals for every exponent of ``counts`` (:func:`replication.studies.chinchilla.
    accounting_table` keeps them in its ``intervals`` column): a and b under each count, and b/a once for
    all parameters and once without the embeddings (it does not depend on how C is counted)."""
    rows = {}
    for _, r in counts.iterrows():
        ex = r["intervals"]
        rows[f"a, {r['count']}"] = ex["a"]
        rows[f"b, {r['count']}"] = ex["b"]
    by = counts.set_index("count")["intervals"]
    rows["b/a, every parameter"] = by["6N"]["b/a"]
    rows["b/a, without embeddings"] = by["6N non-embedding"]["b/a"]
    return rows


def intervals_table(counts: pd.DataFrame):
    """Every exponent of the study with all its intervals, and the paper's value's outcome against the
    widest (b under executed FLOPs and C_self has no counterpart in the paper, which counts 6ND)."""
    from . import exponents

    paper = TABLE_2["approach2"]
    ref = {"a, 6N": paper["a"], "b, 6N": paper["b"], "a, executed": paper["a"], "a, C_self": paper["a"],
           "b/a, every parameter": paper["b"] / paper["a"]}
    return exponents.intervals_table(exponent_rows(counts), paper=ref)


def robustness_table(robust: pd.DataFrame):
    """The exponents under each change of analysis, and whether a stays inside the headline's interval."""
    def word(v):
        return ("yes" if v else "no") if isinstance(v, (bool, np.bool_)) else "no estimate"

    t = robust.assign(inside=[word(v) for v in robust["inside"]])
    columns = ["analysis", "a", "b", "inside"]
    if "inside widest" in robust:
        t["inside widest"] = [word(v) for v in robust["inside widest"]]
        columns.append("inside widest")
    return table(t, index="analysis", columns=columns,
                 headers={"analysis": "change of analysis", "a": "exponent a", "b": "exponent b",
                          "inside": "a inside the headline's 80% bootstrap interval",
                          "inside widest": "a inside the headline's widest interval"},
                 formats={"a": "f3", "b": "f3"})


def recipe_table(recipes: pd.DataFrame):
    """The recipe claims: the paper's words, our paired difference with its 95% interval, the verdict, and
    the seeds a test would need to see a 1% effect."""
    t = recipes.assign(diff=[f"{tables.signed(d, 4)} [{tables.signed(lo, 4)}, {tables.signed(hi, 4)}]"
                             for d, lo, hi in zip(recipes["Δ (recipe − baseline)"], recipes["low"],
                                                  recipes["high"])])
    cols = ["recipe", "claim", "diff", "p", "verdict"] + (["claimed direction"] if "claimed direction" in t else [])
    return table(t, index="recipe", columns=cols + ["seeds for 1% of loss"],
                 headers={"recipe": "recipe", "claim": "the paper's claim",
                          "diff": "recipe − baseline, nats per byte (95% interval)", "p": "p (paired t-test)",
                          "verdict": "outcome", "claimed direction": "seeds in the claimed direction",
                          "seeds for 1% of loss": "seeds to see 1% of the loss"},
                 formats={"p": "p", "seeds for 1% of loss": "int"})


def runs_preview(runs: pd.DataFrame, rows: int = 6):
    """The first rows of the runs file, with readable headers."""
    return table(runs.head(rows), columns=["N", "D", "C", "loss", "seed", "steps", "epochs"],
                 headers={"N": "parameters N", "D": "training bytes D", "C": "budget C (executed FLOPs)",
                          "loss": "final validation loss (nats per byte)", "seed": "seed", "steps": "steps",
                          "epochs": "epochs"},
                 formats={"N": "int", "D": "int", "C": "sci", "loss": "f4", "seed": "int", "steps": "int",
                          "epochs": "f2"})


def approach_intervals_table(fit3, intervals1: dict):
    """a and b of Approaches 1 and 3 on our runs with every interval, and Table 2's value against the
    widest (Approach 1: the envelope read at the budgets, with the envelope fit's estimate and
    bootstrap as two more ranges; Approach 3: the fitted surface's minima along our IsoFLOP lines)."""
    from . import exponents

    rows, ref = {}, {}
    for label, ex, key in (("Approach 1", intervals1["combined"], "approach1"),
                           ("Approach 3", fit3.details["ours"]["intervals"], "approach3")):
        for name in ("a", "b"):
            rows[f"{name}, {label}"] = ex[name]
            ref[f"{name}, {label}"] = TABLE_2[key][name]
    return exponents.intervals_table(rows, paper=ref)


def approach3_table(fit3):
    """Approach 3's fitted constants, the exponent they imply for C = 6ND, and the exponent of the
    minimum along our IsoFLOP lines (executed FLOPs), with its interval."""
    p = fit3.params
    ours = fit3.details["ours"]
    ci = ours.get("ci", {})
    rows = [("irreducible loss E (nats per byte)", f"{p['E']:.3f}"), ("A", f"{p['A']:,.0f}"),
            ("α, the exponent of N", f"{p['alpha']:.3f}"), ("B", f"{p['B']:,.0f}"),
            ("β, the exponent of D", f"{p['beta']:.3f}"),
            ("a = β / (α + β), N_opt's exponent if C = 6ND", f"{fit3['a']:.3f}"),
            ("a along our IsoFLOP budgets (80% interval)", interval(ours["a"], ci.get("a"), 3)),
            ("b along our IsoFLOP budgets (80% interval)", interval(ours["b"], ci.get("b"), 3))]
    return table(pd.DataFrame(rows, columns=["quantity", "value"]), index="quantity",
                 headers={"quantity": "Approach 3", "value": "fitted"})
