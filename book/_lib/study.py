"""Our Chinchilla study at CPU scale: the chapter's verdict box, glued numbers and display tables (its
figures: :mod:`_lib.study_figures`, read from here too)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from replication.papers.chinchilla import TABLE_2
from replication.studies import chinchilla
from replication.studies.chinchilla_design import DEFAULT, TRAIN_TOKENS, ChinchillaStudy, flops_exponent, ladder
from replication.verdict import box_markdown

from . import exponents, tables
from .study_figures import (PAPER_TOKENS_PER_PARAM, plot_envelope, plot_lr_sweep, plot_optima,  # noqa: F401
                            plot_profiles, plot_robustness)
from .tables import sci, table


def interval(value: float, ci, digits: int = 2) -> str:
    """"0.52 [0.47, 0.58]"; the value alone without a finite interval."""
    if ci is None or not np.all(np.isfinite(ci)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


# -- the chapter's numbers ---------------------------------------------------------------------------


def glue_verdict(verdicts) -> None:
    """Glue the chapter's Verdict box as ``st_verdict``: one or more of
    :func:`replication.studies.chinchilla.verdicts`."""
    glue("st_verdict", Markdown(box_markdown(verdicts)), display=False)


def glue_numbers(fit2, robust: pd.DataFrame, bytes_per_token: float, vocab: int, runs: pd.DataFrame,
                 sweep: pd.DataFrame, pilots: pd.DataFrame, fit1, fit3, recipes: pd.DataFrame,
                 counts: pd.DataFrame, intervals1: dict | None = None) -> dict:
    """Every number the chapter's prose quotes, glued under its name (and returned). ``intervals1``:
    :func:`replication.studies.chinchilla.approach1_intervals`; ``fit3`` computed with ``intervals``."""
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
        "st_minutes": chinchilla.recorded_minutes(DEFAULT),
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
    out["st_train_mb"] = TRAIN_TOKENS / 1e6
    out["st_min_share"] = 100 * float(ladder(DEFAULT)["share"].min())
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
        out[f"st_rec_{key}"] = str(r["verdict"])
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
            out[f"{key}_verdict"] = e.verdict(ref[name]).label
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
            out[f"{key}_verdict"] = e.verdict(ref[key.rsplit("_", 1)[1]]).label
            if e.bootstrap is not None:
                out[f"{key}_x"] = (e.widest[1] - e.widest[0]) / (e.bootstrap[1] - e.bootstrap[0])
    return {k: v if isinstance(v, str) else float(v) for k, v in out.items()}


def design_table(study: ChinchillaStudy = DEFAULT):
    """The shape family (:func:`~replication.studies.chinchilla_design.ladder`): one row per width."""
    return table(ladder(study), index="width",
                 headers={"width": "width d", "N": "parameters N", "share": "non-embedding share of N",
                          "flops": "executed training FLOPs per token", "lr": "peak learning rate"},
                 formats={"width": "int", "N": "int", "share": lambda x: f"{x:.0%}", "flops": "int",
                          "lr": "sig3"}, caption="The shape family: one model per width")


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
                 formats={"seeds": "int", "loss": "f4", "Δ vs chosen": "signed4", "p": "p"},
                 caption="The pilots: each value's final loss against the value used")


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
                 formats={"C": "sci", "tpp": "f1", "share": lambda x: "—" if not np.isfinite(x) else f"{x:.0%}"},
                 caption="Each budget's vertex, the compute-optimal allocation, with its 80% interval")


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
                                            "b/a": "b/a of D<sub>opt</sub> ∝ N<sub>opt</sub><sup>b/a</sup> (80% "
                                                   "bootstrap)",
                                            "b/a widest": "b/a: widest interval"},
                 caption="The exponents of the same runs under each way of counting compute")


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
    paper = TABLE_2["approach2"]
    ref = {"a, 6N": paper["a"], "b, 6N": paper["b"], "a, executed": paper["a"], "a, C_self": paper["a"],
           "b/a, every parameter": paper["b"] / paper["a"]}
    return exponents.intervals_table(exponent_rows(counts), paper=ref,
                                     caption="Every exponent with all its intervals, against the paper's Approach 2")


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
                 formats={"a": "f3", "b": "f3"}, caption="The exponents under each change of analysis")


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
                 formats={"p": "p", "seeds for 1% of loss": "int"},
                 caption="The paper's recipe claims, tested with paired seeds")


def runs_preview(runs: pd.DataFrame, rows: int = 6):
    """The first rows of the runs file, with readable headers."""
    return table(runs.head(rows), columns=["N", "D", "C", "loss", "seed", "steps", "epochs"],
                 headers={"N": "parameters N", "D": "training bytes D", "C": "budget C (executed FLOPs)",
                          "loss": "final validation loss (nats per byte)", "seed": "seed", "steps": "steps",
                          "epochs": "epochs"},
                 formats={"N": "int", "D": "int", "C": "sci", "loss": "f4", "seed": "int", "steps": "int",
                          "epochs": "f2"}, caption=f"The first {min(rows, len(runs))} rows of the runs file")


def approach_intervals_table(fit3, intervals1: dict):
    """a and b of Approaches 1 and 3 on our runs with every interval, and Table 2's value against the
    widest (Approach 1: the envelope read at the budgets, with the envelope fit's estimate and
    bootstrap as two more ranges; Approach 3: the fitted surface's minima along our IsoFLOP lines)."""
    rows, ref = {}, {}
    for label, ex, key in (("Approach 1", intervals1["combined"], "approach1"),
                           ("Approach 3", fit3.details["ours"]["intervals"], "approach3")):
        for name in ("a", "b"):
            rows[f"{name}, {label}"] = ex[name]
            ref[f"{name}, {label}"] = TABLE_2[key][name]
    return exponents.intervals_table(rows, paper=ref, caption="Approaches 1 and 3 on our runs: every interval, "
                                                              "against the paper's Table 2")


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
                 headers={"quantity": "Approach 3", "value": "fitted"},
                 caption="Approach 3's fitted constants and the exponents they imply")
