"""Approach 2's tables and figure: the off-centre bias of a vertex, IsoFLOP profiles with their parabolas,
the fit to the paper's Figure 4 points, the chapter's verdicts and its glued numbers."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from matplotlib.colors import LogNorm
from myst_nb import glue

from replication.fit import DEFAULT_ESTIMATOR, FitResult, frontier, observations
from replication.fit.vertex_bias import default_meets_bounds
from replication.papers import chinchilla as paper
from replication.papers import krasser
from replication.studies import figure4
from replication.verdict import DIFFERS, HOLDS, Verdict, box_markdown, from_rounding

from . import tables
from .approach1 import ci_of, exponent_verdict, printed


def show_bias_study(t: pd.DataFrame):
    """The bias study, one row per case and estimator: mean error and RMSE of a."""
    return tables.table(t, columns=["case", "estimator", "true a", "mean error", "RMSE", "meets bounds"],
                        headers={"case": "synthetic case", "estimator": "estimator", "true a": "true a",
                                 "mean error": "mean error of a", "RMSE": "RMSE of a",
                                 "meets bounds": "|mean| ≤ 0.005 and RMSE ≤ 0.02"},
                        formats={"true a": "f3", "mean error": lambda x: f"{x:+.4f}".replace("-", "−"),
                                 "RMSE": lambda x: f"{x:.4f}", "meets bounds": lambda x: "yes" if x else "no"},
                        caption="Each estimator's error in a on synthetic IsoFLOP profiles")


def glue_bias_study(t: pd.DataFrame) -> dict:
    """Glue the bias study's numbers the prose quotes: the default's worst mean error and RMSE, and the
    all-points parabola's worst mean error."""
    d, a = t[t["estimator"] == DEFAULT_ESTIMATOR], t[t["estimator"] == "all"]
    v = {"a2b_default": DEFAULT_ESTIMATOR, "a2b_seeds": int(t["seeds"].iloc[0]), "a2b_cases": int(t["case"].nunique()),
         "a2b_default_mean": float(d["mean error"].abs().max()), "a2b_default_rmse": float(d["RMSE"].max()),
         "a2b_all_mean": float(a["mean error"].max()), "a2b_all_rmse": float(a["RMSE"].max()),
         "a2b_default_ok": "meets" if default_meets_bounds(t) else "does not meet"}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def show_table_a3(a3: pd.DataFrame):
    """Table A3's Approach-2 columns with the check C / 6ND of each row."""
    t = a3.assign(check=a3["approach2_C"] / (6 * a3["N"] * a3["approach2_D"]))
    return tables.table(t, headers={"N": "N (parameters)", "approach2_C": "C (FLOPs)", "approach2_D": "D (tokens)",
                                    "check": "C / 6ND"},
                        formats={"N": "sci3", "approach2_C": "sci3", "approach2_D": lambda x: tables.sci(x, 4),
                                 "check": "f3"}, caption="The Approach-2 columns of the paper's Table A3, with C / 6ND "
                                                         "of each row")


def show_bias(t: pd.DataFrame):
    """:func:`replication.fit.vertex_bias.off_centre_bias` as the page shows it (the true N_opt, the same in
    every row, is in the prose)."""
    cols = ["offset (decades)", "vertex N*", "N*/N_opt - 1"] + (["note"] if (t["note"] != "").any() else [])
    return tables.table(t, columns=cols, index="offset (decades)",
                        headers={"offset (decades)": "centre of the sampled sizes (decades from N_opt)",
                                 "vertex N*": "vertex N* (parameters)", "N*/N_opt - 1": "vertex error N*/N_opt − 1",
                                 "note": "note"},
                        formats={"offset (decades)": lambda x: f"{x:+.1f}".replace("-", "−"), "vertex N*": "sci3",
                                 "N*/N_opt - 1": lambda x: "—" if x != x else f"{100 * x:+.1f}%".replace("-", "−")},
                        caption="The vertex of one budget, sampled off the optimum")


def show_vertices(fit: FitResult, truth=None, loss_unit: str = "nats per token", caption: str | None = None):
    """The vertices of an Approach-2 fit, one row per budget (beside the true N_opt when ``truth`` is given)."""
    t = fit.table.copy()
    cols = ["C", "points", "N_star", "D_star", "tokens_per_param"]
    if truth is not None:
        t["N_opt"] = truth.n_opt(t["C"])
        t["ratio"] = t["N_star"] / t["N_opt"] - 1
        cols = ["C", "N_star", "N_opt", "ratio"]
    else:
        cols.insert(4, "loss_star")
    return tables.table(t, columns=cols, index="C",
                        headers={"C": "budget C (FLOPs)", "points": "points", "N_star": "vertex N* (parameters)",
                                 "D_star": "D* = C/6N* (tokens)", "loss_star": f"loss at the vertex ({loss_unit})",
                                 "tokens_per_param": "tokens per parameter", "N_opt": "true N_opt (parameters)",
                                 "ratio": "N*/N_opt − 1"},
                        formats={"C": "sci", "points": "int", "N_star": "sci3", "D_star": "sci3", "N_opt": "sci3",
                                 "loss_star": "f3", "tokens_per_param": "f1",
                                 "ratio": lambda x: f"{100 * x:+.2f}%".replace("-", "−")},
                        caption=caption or ("Each budget's vertex against the true N_opt" if truth is not None
                                            else "Each budget's vertex"))


def _interval(ci, digits: int = 3) -> str:
    return f"{ci[0]:.{digits}f} to {ci[1]:.{digits}f}"


def show_exponents(table: pd.DataFrame):
    """``figure4.approach2_table`` as the page shows it: intervals written "lo to hi"."""
    t = table.reset_index()
    kept = [c for c in t.columns if c.startswith("ours (") and "all" not in c][0]
    everything = [c for c in t.columns if c.startswith("ours (all")][0]
    return tables.table(
        t, index="exponent",
        columns=["exponent", "Table 2", "Table 2, 10th-90th", kept, "ours 80%", "ours 95%", everything],
        headers={"exponent": "exponent", "Table 2": "Table 2", "Table 2, 10th-90th": "Table 2, 10th–90th percentile",
                 kept: kept.replace("ours (", "ours, ").rstrip(")"), "ours 80%": "ours, 80% interval",
                 "ours 95%": "ours, 95% interval", everything: everything.replace("ours (all", "ours, all").rstrip(")")
                 + " points"},
        formats={"Table 2": "f2", "Table 2, 10th-90th": _interval, kept: "f3", "ours 80%": _interval,
                 "ours 95%": _interval, everything: "f3"},
        caption="The exponents of the paper's points beside its Table 2")


def _excluded(excluded: list) -> str:
    """Budgets left out of a fit (``fit.details["excluded"]``), written for a reader:
    "6×10¹⁸ (2 distinct sizes, need 3)"."""
    return "; ".join(f"{tables.sci(e['C'])} ({e['reason']})" for e in excluded) or "none"


def show_snap(t: pd.DataFrame):
    """:func:`replication.studies.figure4.snap_sensitivity` as the page shows it."""
    t = t.assign(**{"left out": t["left out"].map(_excluded)})
    return tables.table(t, index="tolerance", columns=["tolerance", "points", "budgets used", "a", "left out"],
                        headers={"tolerance": "snapping tolerance", "points": "points snapped",
                                 "budgets used": "budgets with a valley", "a": "a", "left out": "budgets left out"},
                        formats={"tolerance": lambda x: f"{100 * x:.0f}%", "points": "int", "budgets used": "int",
                                 "a": "f3"}, caption="The exponent a under each snapping tolerance")


def show_our_vertices(fit: FitResult):
    """The vertices of our CPU-scale study, with their 80% bootstrap intervals."""
    t = fit.table[fit.table["interior"]]
    cols = ["C", "N_star"] + (["N_star low", "N_star high"] if "N_star low" in t else []) + ["D_star",
                                                                                             "tokens_per_param"]
    return tables.table(t, columns=cols, index="C",
                        headers={"C": "budget C (executed FLOPs)", "N_star": "vertex N* (parameters)",
                                 "N_star low": "N*, 10th percentile", "N_star high": "N*, 90th percentile",
                                 "D_star": "D* (bytes)", "tokens_per_param": "bytes per parameter"},
                        formats={"C": "sci", "N_star": "int", "N_star low": "int", "N_star high": "int",
                                 "D_star": "sci3", "tokens_per_param": "f0"},
                        caption="The vertices of our CPU-scale runs")


def plot_isoflops(data, result: FitResult, ax=None, loss_label: str = "loss (nats per token)"):
    """Loss against N per budget, each with the fit's parabola and its vertex; colour is the budget."""
    N, D, loss, C = observations(data)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7.5, 4.5))
    groups = result.details["budget_of_point"]
    budgets = result.table["C"].to_numpy(float)
    norm = LogNorm(budgets.min(), budgets.max()) if budgets.min() < budgets.max() else LogNorm(budgets.min() / 2,
                                                                                            budgets.max() * 2)
    cmap = plt.get_cmap("viridis")
    for row, (xs, ys) in zip(result.table.itertuples(), result.details["curve_N"]):
        color = cmap(norm(row.C))
        m = groups == row.C
        ax.plot(N[m], loss[m], "o", ms=3, color=color)
        ax.plot(np.exp(xs), ys, "-", lw=1, color=color)
    ax.plot(result.table["N_star"], result.table["loss_star"], "*", color="black", ms=9, ls="none",
            label=f"minimum of each fitted profile ({result.options.get('estimator', 'all')} estimator)")
    left_out = np.isin(groups, [e["C"] for e in result.details.get("excluded", [])])
    if left_out.any():
        ax.plot(N[left_out], loss[left_out], "o", ms=4, mfc="none", mec="grey", ls="none",
                label="budget left out (no interior minimum)")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="budget C (FLOPs)")
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel(loss_label)
    ax.legend()
    fig.tight_layout()
    return fig


# -- the chapter's numbers ------------------------------------------------------------------------------------

def verdicts(points_ex: dict, our_ex: dict) -> list[Verdict]:
    """Table 2's a against the widest interval of Approach 2 on the paper's own points
    (:func:`replication.studies.figure4.approach2_exponents`) and on our runs (agrees / disagrees)."""
    a = paper.TABLE_2["approach2"]["a"]
    return [exponent_verdict(f"Table 2: by Approach 2, $N_{{opt}} \\propto C^{{{a:.2f}}}$.", points_ex["a"], a,
                             "The paper's own IsoFLOP points, read off its Figure 4,"),
            exponent_verdict("The same law, at CPU scale.", our_ex["a"], a, "Our runs")]


def _seeds_text(most: int) -> str:
    return "one seed per point" if most == 1 else f"up to {most} seeds at the widths around each vertex"


def glue_numbers(*, a3, law_lin, law_log, free, truth, fit, bias, bias_budget, lopsided, our_fit, our_runs,
                 our_ex, points_ex) -> dict:
    """Glue the verdict box (:func:`verdicts`) and the numbers the prose quotes, other than those of the
    Figure 4 points (returned)."""
    t2 = paper.TABLE_2["approach2"]
    box = verdicts(points_ex, our_ex)
    fits = [from_rounding(k, t2[k], free[k], ".2f") for k in ("a", "b")]
    kr = krasser.LAWS[2]
    same_kr = all(printed(getattr(law_lin, k), ".4f") == printed(kr[k], ".4f") for k in ("k_N", "k_D"))
    ratio = (a3["approach2_C"] / (6 * a3["N"] * a3["approach2_D"])).to_numpy()
    miss = (fit.table["N_star"] / truth.n_opt(fit.table["C"]) - 1).to_numpy()
    err = bias.set_index("offset (decades)")["N*/N_opt - 1"]
    centred = err.get(0.0, math.nan)
    low, high = err.index.min(), err.index.max()
    t = our_fit.table[our_fit.table["interior"]]
    i67 = int(np.flatnonzero(a3["N"].to_numpy() == 67e9)[0])
    c_at = {n: float((n / law_lin.k_N) ** (1 / law_lin.a)) for n in (67e9, 70e9)}
    v = {
        "a2_krasser_same": "reproduces" if same_kr else "does not reproduce",
        "a2_lin_log_kn": float(abs(law_log.k_N / law_lin.k_N - 1) * 100),
        "a2_lin_log_kd": float(abs(law_log.k_D / law_lin.k_D - 1) * 100),
        "a2_a3_rows": len(a3), "a2_a3_lo": float(ratio.min()), "a2_a3_hi": float(ratio.max()),
        "a2_free_a": free["a"], "a2_free_b": free["b"],
        "a2_free_a_lo": ci_of(free, "a")[0], "a2_free_a_hi": ci_of(free, "a")[1],
        "a2_free_b_lo": ci_of(free, "b")[0], "a2_free_b_hi": ci_of(free, "b")[1],
        "a2_free_verdict": HOLDS if all(f.outcome == HOLDS for f in fits) else DIFFERS,
        "a2_t2_a": t2["a"], "a2_t2_b": t2["b"], "a2_t2_a_lo": t2["a_ci"][0], "a2_t2_a_hi": t2["a_ci"][1],
        "a2_t2_b_lo": t2["b_ci"][0], "a2_t2_b_hi": t2["b_ci"][1],
        "a2_demo_a": fit["a"], "a2_demo_b": fit["b"], "a2_true_a": truth.a, "a2_true_b": truth.b,
        "a2_demo_budgets": int(len(fit.table)),
        "a2_miss_max": float(np.abs(miss).max() * 100),
        "a2_67_ratio": float(ratio[i67]), "a2_67_d": float(a3["approach2_D"].iloc[i67] / 1e12),
        "a2_c67": tables.sci(c_at[67e9], 3), "a2_c70": tables.sci(c_at[70e9], 3),
        "a2_d67": float(law_lin.d_opt(c_at[67e9]) / 1e12), "a2_d70": float(law_lin.d_opt(c_at[70e9]) / 1e12),
        "a2_bias_budget": tables.sci(bias_budget),
        "a2_bias_nopt": tables.sci(float(frontier(paper.EQ10_UNROUNDED).n_opt(bias_budget)), 3),
        "a2_bias_centred": float(centred * 100),
        "a2_bias_low_off": float(abs(low)), "a2_bias_low": float(err[low] * 100),
        "a2_bias_high_off": float(abs(high)), "a2_bias_high": float(err[high] * 100),
        "a2_lopsided": _excluded(lopsided.details["excluded"]),
        "a2_st_a": our_fit["a"], "a2_st_b": our_fit["b"],
        "a2_st_a_lo": ci_of(our_fit, "a")[0], "a2_st_a_hi": ci_of(our_fit, "a")[1],
        "a2_st_b_lo": ci_of(our_fit, "b")[0], "a2_st_b_hi": ci_of(our_fit, "b")[1],
        "a2_st_verdict_a": box[1].label,
        "a2_st_runs": int(len(our_runs)), "a2_st_budgets": int(len(our_fit.table)),
        "a2_st_used": int(our_fit.details["budgets_used"]),
        "a2_st_widths": int(our_runs.groupby("budget")["width"].nunique().max()),
        "a2_st_seeds": _seeds_text(int(our_runs.groupby(["budget", "width"])["seed"].nunique().max())),
        "a2_st_sum": float(our_fit["a"] + our_fit["b"]),
        "a2_st_tpp_lo": float(t["tokens_per_param"].min()), "a2_st_tpp_hi": float(t["tokens_per_param"].max()),
    }
    v |= glue_intervals("a2_st", our_ex)
    v = {k: x if isinstance(x, str) else int(x) if isinstance(x, (int, np.integer)) else float(x) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    glue("approach2_verdict", Markdown(box_markdown(box)), display=False)
    return v


_IV = {"bootstrap": "boot", "residual t": "res", "leave one budget out": "lobo", "leave one width out": "lowo"}


def glue_intervals(prefix: str, ex: dict) -> dict:
    """``<prefix>_<a|b|r>_<boot|res|lobo|lowo|snap|wide>_<lo|hi>`` of exponents with their intervals
    (:func:`replication.studies.exponents.exponent_intervals`; ``r`` is b/a), and ``..._x``: the widest
    interval's width over the bootstrap's."""
    v = {}
    for name, e in ex.items():
        key = f"{prefix}_{'r' if name == 'b/a' else name}"
        for iv, (lo, hi) in e.intervals().items():
            tag = _IV.get(iv, "snap" if iv.startswith("snapping") else iv.replace(" ", "_"))
            v[f"{key}_{tag}_lo"], v[f"{key}_{tag}_hi"] = lo, hi
        v[f"{key}_wide_lo"], v[f"{key}_wide_hi"] = e.widest
        if e.bootstrap is not None:
            v[f"{key}_x"] = (e.widest[1] - e.widest[0]) / (e.bootstrap[1] - e.bootstrap[0])
    return v


def glue_figure4(fit: FitResult, fit_all: FitResult, boot, ex: dict) -> dict:
    """Glue the numbers the prose about the Figure 4 points quotes (Approach 2 on the points snapped
    to the paper's budgets: the fit, the fit on all 245, the vertex-level bootstrap, and ``ex``, the
    exponents with all their intervals, :func:`replication.studies.figure4.approach2_exponents`);
    returns them. Verdicts are decided by the widest interval."""
    data, every = figure4.points(), figure4.points(keep_all=True)
    dropped = every.loc[every["loss"].nlargest(figure4.DROPPED).index]
    t2 = paper.TABLE_2["approach2"]
    v = {"f2_n_kept": len(data), "f2_n_all": len(every), "f2_n_dropped": figure4.DROPPED,
         "f2_tol": figure4.SNAP_TOL * 100, "f2_snapped": fit.n_points, "f2_budgets": len(paper.ISOFLOP_BUDGETS),
         "f2_used": fit.details["budgets_used"], "f2_resamples": boot.resamples, "f2_kept": boot.kept,
         "f2_a": fit["a"], "f2_b": fit["b"], "f2_all_a": fit_all["a"], "f2_all_b": fit_all["b"],
         "f2_t2_a": t2["a"], "f2_t2_a_lo": t2["a_ci"][0], "f2_t2_a_hi": t2["a_ci"][1],
         "f2_t2_b": t2["b"], "f2_t2_b_lo": t2["b_ci"][0], "f2_t2_b_hi": t2["b_ci"][1],
         "f2_excluded": "; ".join(f"the {tables.sci(e['C'])} budget ({e['reason']})"
                                  for e in fit.details["excluded"]) or "no budget"}
    for name in ("a", "b"):
        for level, tag in (("80%", "80"), ("95%", "95")):
            v[f"f2_{name}{tag}_lo"], v[f"f2_{name}{tag}_hi"] = figure4.percentile(boot, name, level)
    drop_budgets = sorted({float(c) for c in dropped["budget"]})
    v["f2_drop_budgets"] = ", ".join(tables.sci(c) for c in drop_budgets)
    used = boot.samples[:, boot.names.index("budgets used")]
    v["f2_all_budgets_share"] = float((used == len(paper.ISOFLOP_BUDGETS)).mean() * 100)
    v |= glue_intervals("f2", ex)
    v["f2_level"] = ex["a"].level * 100
    v["f2_verdict"] = str(ex["a"].verdict(t2["a"]))
    v["f2_verdict_b"] = str(ex["b"].verdict(t2["b"]))
    v["f2_r"], v["f2_t2_r"] = ex["b/a"].estimate, t2["b"] / t2["a"]
    v["f2_verdict_r"] = str(ex["b/a"].verdict(t2["b"] / t2["a"]))
    v["f2_in_t2"] = "inside" if t2["a_ci"][0] <= fit["a"] <= t2["a_ci"][1] else "outside"
    sens = figure4.snap_sensitivity()
    v["f2_sens_a_min"], v["f2_sens_a_max"] = float(sens["a"].min()), float(sens["a"].max())
    v["f2_sens_tol_min"], v["f2_sens_tol_max"] = float(sens.index.min() * 100), float(sens.index.max() * 100)
    narrow = sens.loc[sens.index < figure4.SNAP_TOL, "a"]
    v["f2_sens_narrow_a"] = float(narrow.iloc[0]) if len(narrow) else math.nan
    v["f2_sens_narrow_tol"] = float(narrow.index[0] * 100) if len(narrow) else math.nan
    v["f2_sens_narrow_in"] = ("inside" if len(narrow) and v["f2_a95_lo"] <= narrow.iloc[0] <= v["f2_a95_hi"]
                              else "outside")
    v = {k: x if isinstance(x, str) else int(x) if isinstance(x, (int, np.integer)) else float(x) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v
