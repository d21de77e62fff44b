"""Approach 1's tables and figure: Table 3 and its fits, the training curves and the envelope over them
(the figure is also shown by the study chapter), and the small tables both approach chapters share."""
from __future__ import annotations

import math
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown
from matplotlib.colors import LogNorm
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from myst_nb import glue

from replication.fit import FitResult, ScalingLaw, observations
from replication.papers import chinchilla as paper
from replication.papers import krasser
from replication.verdict import (AGREES, ARITHMETIC, DIFFERS, HOLDS, Verdict, box_markdown, from_interval,
                                 from_rounding)

from . import exponents, figures, tables
from .study import interval_numbers


# -- tables both approach chapters show ---------------------------------------------------------------------

def laws_table(laws: dict, caption: str = "Each fit's prefactors and exponents"):
    """One row per law (label -> ScalingLaw, or a dict with k_N, a, k_D, b): its prefactors and exponents."""
    rows = []
    for label, law in laws.items():
        get = (lambda k: law[k]) if isinstance(law, dict) else (lambda k: getattr(law, k))
        rows.append({"law": label, **{k: float(get(k)) for k in ("k_N", "a", "k_D", "b")}})
    return tables.table(pd.DataFrame(rows), index="law",
                        headers={"law": "fit", "k_N": "k<sub>N</sub> (parameters per FLOP<sup>a</sup>)", "a": "a",
                                 "k_D": "k<sub>D</sub> (tokens per FLOP<sup>b</sup>)", "b": "b"},
                        formats={"k_N": "f4", "a": "f4", "k_D": "f4", "b": "f4"}, caption=caption)


def at_budget_table(laws: dict, budget: float):
    """N_opt, D_opt and tokens per parameter of each law at one budget."""
    rows = [{"law": label, "N": float(law.n_opt(budget)), "D": float(law.d_opt(budget)),
             "tpp": float(law.tokens_per_param(budget))} for label, law in laws.items()]
    return tables.table(pd.DataFrame(rows), index="law",
                        headers={"law": "fit", "N": "N_opt (parameters)", "D": "D_opt (tokens)",
                                 "tpp": "tokens per parameter"},
                        formats={"N": "sci3", "D": "sci3", "tpp": "f1"},
                        caption=f"Each fit's allocation at C = {tables.sci(budget, 3)} FLOPs")


def fit_table(result: FitResult, names=None, caption: str = "Your fit"):
    """A fit as a small table: each estimate with its 10th-90th percentile bootstrap interval if there is one."""
    names = list(names or result.params)
    ci = result.ci or {}
    rows = [{"parameter": n, "estimate": result[n], "low": ci.get(n, (math.nan,) * 2)[0],
             "high": ci.get(n, (math.nan,) * 2)[1]} for n in names]
    cols = ["parameter", "estimate"] + (["low", "high"] if ci else [])
    return tables.table(pd.DataFrame(rows), columns=cols, index="parameter", sig=4,
                        headers={"parameter": "parameter", "estimate": "estimate",
                                 "low": "10th percentile", "high": "90th percentile"}, caption=caption)


def printed(x: float, fmt: str, scale: float = 1.0, unit: str = "") -> str:
    """``x`` written the way the paper prints it: ``fmt`` applied to ``x / scale``, then ``unit``
    (".2e" is written 1.84×10²⁴)."""
    if fmt.endswith("e"):
        return tables.sci(x, int(fmt[1:-1]) + 1)
    return f"{x / scale:{fmt}}{unit}"


def _finer(fmt: str) -> str:
    """The same format with one more digit."""
    return f".{int(fmt[1:-1]) + 1}{fmt[-1]}"


def beside_table(rows):
    """The paper's printed numbers beside ours. Each row: (quantity, where the paper prints it, the printed
    value, ours, fmt, scale, unit) and optionally our interval (lo, hi). Ours is written with one digit more
    than the paper prints. The outcome: without an interval, whether ours, rounded as the paper rounds,
    gives the printed number (holds / differs); with one (an estimate from data), whether the interval holds
    the paper's value (agrees / disagrees)."""
    out = []
    for quantity, where, theirs, ours, fmt, scale, unit, *ci in rows:
        shown = printed(ours, _finer(fmt), scale, unit)
        if ci:
            lo, hi = ci[0]
            shown += f" ({printed(lo, _finer(fmt), scale, unit)} to {printed(hi, _finer(fmt), scale, unit)})"
            verdict = from_interval(quantity, theirs, ours, (lo, hi), test="widest interval")
        else:
            s = 1.0 if fmt.endswith("e") else scale
            verdict = from_rounding(quantity, theirs / s, ours / s, fmt)
        out.append({"quantity": quantity, "where": where, "paper": printed(theirs, fmt, scale, unit),
                    "ours": shown, "status": verdict.label})
    return pd.DataFrame(out)


def glue_beside(prefix: str, df: pd.DataFrame) -> dict:
    """Glue how the rows of a :func:`beside_table` come out: how many agree, and which do not."""
    same = df["status"] == HOLDS
    rounded = df["status"].isin(ARITHMETIC)
    inside = df["status"] == AGREES
    v = {f"{prefix}_beside_rounded": int(rounded.sum()), f"{prefix}_beside_same": int(same.sum()),
         f"{prefix}_beside_differs": "; ".join(df.loc[rounded & ~same, "quantity"]) or "none",
         f"{prefix}_beside_intervals": int((~rounded).sum()), f"{prefix}_beside_inside": int(inside.sum()),
         f"{prefix}_beside_outside": "; ".join(df.loc[~rounded & ~inside, "quantity"]) or "none"}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def show_beside(df: pd.DataFrame):
    """:func:`beside_table` as the page shows it."""
    return tables.table(df, index="quantity",
                        headers={"quantity": "quantity", "where": "paper's source", "paper": "paper, as printed",
                                 "ours": "ours (one more digit; interval)", "status": "outcome"},
                        caption="The paper's numbers beside ours")


def _gopher_units(x: float) -> str:
    """A multiple of Gopher's budget as Table 3 prints it: 1/29,968, 1, 6.7, 22,515.9."""
    if x < 1:
        return f"1/{1 / x:,.0f}"
    return "1" if x == 1 else f"{x:,.1f}"


def table3(t3: pd.DataFrame):
    """Table 3 with the check C / 6ND of each row."""
    t = t3.assign(check=t3["C"] / (6 * t3["N"] * t3["D"]))
    return tables.table(t, headers={"N": "N (parameters)", "C": "C (FLOPs)", "C_gopher_units": "C (Gopher budgets)",
                                    "D": "D (tokens)", "check": "C / 6ND"},
                        formats={"N": "sci3", "C": "sci3", "C_gopher_units": _gopher_units, "D": lambda x: tables.sci(x, 4),
                                 "check": "f3"}, caption="The paper's Table 3, with C / 6ND of each row")


# -- the figure -----------------------------------------------------------------------------------------------

def _log_ticks(axis, lo: float, hi: float) -> None:
    """Labels at 1, 2 and 5 times each power of ten on a log axis spanning less than two decades (where
    matplotlib's minor labels would run into each other), and at the powers only otherwise."""
    subs = (1.0, 2.0, 5.0) if math.log10(hi / lo) < 2 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=30))
    axis.set_major_formatter(FuncFormatter(lambda x, _: tables.sci(x, 1)))
    axis.set_minor_formatter(NullFormatter())


def plot_envelope(data, result: FitResult, truth: ScalingLaw | None = None,
                  loss_label: str = "validation loss (nats per byte)"):
    """Left: the training curves against FLOPs, coloured by model size. Right: the run on the envelope over
    each FLOP range (one segment per stretch), the fitted N_opt(C) law and, if given, the true one."""
    N, D, loss, C = observations(data)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    points = ax1.scatter(C, loss, s=0.5, c=N, cmap="viridis", norm=LogNorm(N.min(), N.max()), rasterized=True)
    fig.colorbar(points, ax=ax1, label="model size N (parameters)")
    ax1.set_xscale("log")
    ax1.set_xlabel("training FLOPs C")
    ax1.set_ylabel(loss_label)
    ax1.set_title("training curves")
    seg = result.table
    ax2.hlines(seg["N"], seg["C_from"], seg["C_to"], lw=3, color=figures.PALETTE[0], label="run on the envelope")
    cs = np.logspace(np.log10(seg["C_from"].min()), np.log10(seg["C_to"].max()), 50)
    ax2.plot(cs, result.law.n_opt(cs), "-", color="black", lw=1,
             label=f"fit: N_opt ∝ C^{result.law.a:.3f}")
    if truth is not None:
        ax2.plot(cs, truth.n_opt(cs), "--", color=figures.PALETTE[3], lw=1.5,
                 label=f"truth: N_opt ∝ C^{truth.a:.3f}")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    _log_ticks(ax2.xaxis, seg["C_from"].min(), seg["C_to"].max())
    _log_ticks(ax2.yaxis, seg["N"].min(), seg["N"].max())
    ax2.set_xlabel("training FLOPs C")
    ax2.set_ylabel("compute-optimal parameters N_opt")
    ax2.set_title("the envelope and the fitted law")
    ax2.legend()
    fig.tight_layout()
    return fig


# -- the chapter's numbers ------------------------------------------------------------------------------------

def ci_of(result: FitResult, name: str) -> tuple[float, float]:
    """A fit's bootstrap interval of ``name``; (nan, nan) when it was fitted without a bootstrap."""
    return tuple(result.ci[name]) if result.ci and name in result.ci else (math.nan, math.nan)


def intervals_table(our_intervals: dict):
    """a, b and b/a of the envelope of our runs read at the study's budgets, with every interval, the
    envelope fit's estimate and bootstrap as further ranges, the widest, and Table 2's value against it."""
    t2 = paper.TABLE_2["approach1"]
    return exponents.intervals_table(dict(our_intervals["combined"]),
                                     paper={"a": t2["a"], "b": t2["b"], "b/a": t2["b"] / t2["a"]},
                                     caption="The envelope of our runs: every exponent with all its intervals")


def exponent_verdict(claim: str, e, value: float, source: str) -> Verdict:
    """An exponent with its intervals (:class:`~replication.studies.exponents.ExponentIntervals`) against
    the paper's ``value``: *agrees* when the widest interval holds it. ``source`` begins the finding
    ("Our runs, read at 5 budgets,")."""
    lo, hi = e.widest
    return from_interval(claim, value, e.estimate, e.widest, test=f"widest {e.level:.0%} interval", n=e.vertices,
                         unit="budgets", finding=f"{source} give {e.estimate:.2f} (widest {e.level:.0%} interval "
                                                 f"{lo:.2f} to {hi:.2f}).")


def verdicts(free: FitResult, our_intervals: dict) -> list[Verdict]:
    """The chapter's verdicts: Table 2's a against the widest interval of the envelope of our runs read at
    the study's budgets (agrees / disagrees), and Table 3 against Table 2 (a free power law through its
    rows gives Table 2's a and b, rounded as printed: holds / differs)."""
    t2 = paper.TABLE_2["approach1"]
    ours = our_intervals["combined"]["a"]
    data = exponent_verdict(f"Table 2: by Approach 1, $N_{{opt}} \\propto C^{{{t2['a']:.2f}}}$.", ours, t2["a"],
                            f"Our CPU-scale runs, read at {ours.vertices} budgets,")
    fits = [from_rounding(k, t2[k], free[k], ".2f") for k in ("a", "b")]
    table3 = replace(fits[0], claim="Table 3 lists allocations on that law.",
                     outcome=HOLDS if all(f.outcome == HOLDS for f in fits) else DIFFERS,
                     finding=f"A power law through its rows gives a = {free['a']:.3f} and b = {free['b']:.3f}.")
    return [data, table3]


def glue_numbers(*, t3, law_lin, law_log, free, demo, truth, our_fit, budget, t3_claims, at_70b,
                 our_intervals, evals_per_run: int) -> dict:
    """Glue every number the chapter's prose quotes, and the verdict box (:func:`verdicts`); return the
    numbers. ``our_intervals``: :func:`replication.studies.chinchilla.approach1_intervals` of ``our_fit``;
    ``evals_per_run``: validations per run of the study."""
    t2 = paper.TABLE_2["approach1"]
    kaplan = paper.TABLE_2["kaplan"]["a"]
    i67 = int(np.flatnonzero(t3["N"].to_numpy() == 67e9)[0])
    ratio = (t3["C"] / (6 * t3["N"] * t3["D"])).to_numpy()
    flops_cells = t3_claims[t3_claims["id"].str.endswith(".C")]
    holding = flops_cells["outcome"] == "holds"
    failed = [f"{float(n) / 1e9:g}B" for n, ok in zip(t3["N"], holding) if not ok]
    others = np.delete(ratio, i67)
    c_sorted = np.sort(t3["C"].to_numpy())
    laws = {"linear": law_lin, "log": law_log, "free": free.law}
    n_at = [float(law.n_opt(budget)) for law in laws.values()]
    d_at = [float(law.d_opt(budget)) for law in laws.values()]
    tpp_at = [float(law.tokens_per_param(budget)) for law in laws.values()]
    kr = krasser.LAWS[1]
    same_kr = (printed(law_lin.k_N, ".4f") == printed(kr["k_N"], ".4f")
               and printed(law_lin.k_D, ".4f") == printed(kr["k_D"], ".4f"))
    box = verdicts(free, our_intervals)
    a_lo, a_hi = our_fit.ci["a"]
    b_lo, b_hi = our_fit.ci["b"]
    wide_lo, wide_hi = our_intervals["combined"]["a"].widest
    v = {
        "a1_budget": tables.sci(budget, 3),
        "a1_t3_rows": len(t3), "a1_t3_hold": int(holding.sum()),
        "a1_t3_failed": ", ".join(failed) or "none",
        "a1_t3_other_dev": float(np.max(np.abs(others - 1)) * 100),
        "a1_67b_ratio": float(ratio[i67]), "a1_67b_off": float((1 / ratio[i67] - 1) * 100),
        "a1_67b_d_from_c": float(paper.GOPHER_FLOPS / (6 * 67e9) / 1e12),
        "a1_67b_law67": float(at_70b["law at 67B"] / 1e12), "a1_67b_law70": float(at_70b["law at 70B"] / 1e12),
        "a1_kn_lin": law_lin.k_N, "a1_kd_lin": law_lin.k_D, "a1_kn_log": law_log.k_N, "a1_kd_log": law_log.k_D,
        "a1_krasser_same": "reproduces" if same_kr else "does not reproduce",
        "a1_lin_log_kn": float(abs(law_log.k_N / law_lin.k_N - 1) * 100),
        "a1_lin_log_kd": float(abs(law_log.k_D / law_lin.k_D - 1) * 100),
        "a1_big_row": float(c_sorted[-1] / c_sorted[-2]),
        "a1_free_a": free["a"], "a1_free_b": free["b"],
        "a1_free_a_lo": free.ci["a"][0], "a1_free_a_hi": free.ci["a"][1],
        "a1_free_b_lo": free.ci["b"][0], "a1_free_b_hi": free.ci["b"][1],
        "a1_t2_a": t2["a"], "a1_t2_b": t2["b"],
        "a1_t2_a_lo": t2["a_ci"][0], "a1_t2_a_hi": t2["a_ci"][1],
        "a1_t2_b_lo": t2["b_ci"][0], "a1_t2_b_hi": t2["b_ci"][1],
        "a1_free_in_t2": "inside" if (t2["a_ci"][0] <= free["a"] <= t2["a_ci"][1]
                                      and t2["b_ci"][0] <= free["b"] <= t2["b_ci"][1]) else "not inside",
        "a1_free_verdict": box[1].label,
        "a1_n_lo": min(n_at) / 1e9, "a1_n_hi": max(n_at) / 1e9,
        "a1_d_lo": min(d_at) / 1e12, "a1_d_hi": max(d_at) / 1e12,
        "a1_tpp_lo": min(tpp_at), "a1_tpp_hi": max(tpp_at),
        "a1_demo_a": demo["a"], "a1_demo_b": demo["b"], "a1_true_a": truth.a, "a1_true_b": truth.b,
        "a1_demo_err": float(demo["a"] - truth.a),
        "a1_demo_runs": int(demo.details["runs"]), "a1_demo_on": int(demo.details["runs_on_envelope"]),
        "a1_st_a": our_fit["a"], "a1_st_a_lo": a_lo, "a1_st_a_hi": a_hi,
        "a1_st_b": our_fit["b"], "a1_st_b_lo": b_lo, "a1_st_b_hi": b_hi,
        "a1_st_runs": int(our_fit.details["runs"]), "a1_st_on": int(our_fit.details["runs_on_envelope"]),
        "a1_st_resamples": str(our_fit.details.get("bootstrap", "no resamples")),
        "a1_st_kaplan": "contains" if wide_lo <= kaplan <= wide_hi else "excludes",
        "a1_kaplan_a": kaplan,
        "a1_st_a3": "contains" if wide_lo <= paper.TABLE_2["approach3"]["a"] <= wide_hi else "excludes",
        "a1_st_grid": int(our_fit.details["grid_points_covered"]),
        "a1_st_evals": int(evals_per_run), "a1_st_tail_evals": int(evals_per_run * 0.15),
        "a1_si_winners": ", ".join(f"{n:,.0f} parameters at {tables.sci(c)} FLOPs" for n, c in
                                   zip(our_intervals["N_opt"], our_intervals["budgets"]) if np.isfinite(n)),
        "a1_si_budgets": int(np.isfinite(our_intervals["N_opt"]).sum()),
        "a1_si_df": int(np.isfinite(our_intervals["N_opt"]).sum()) - 2,
        "a1_si_res_vs": ("wider than" if np.subtract(*our_intervals["combined"]["a"].residual[::-1])
                         > a_hi - a_lo else "narrower than"),
        "a1_a3_a": paper.TABLE_2["approach3"]["a"],
        "a1_d_gopher": float(law_lin.d_opt(paper.GOPHER_FLOPS)) / 1e12,
    }
    v |= interval_numbers("a1_si", our_intervals["combined"], {"a": t2["a"], "b": t2["b"]})
    v = {k: x if isinstance(x, str) else int(x) if isinstance(x, (int, np.integer)) else float(x) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    glue("approach1_verdict", Markdown(box_markdown(box)), display=False)
    return v
