"""Approach 3's tables: the paper's constants and what they imply, Table A3 regenerated from a fit's
frontier, the sum-versus-mean demonstration of scipy's stopping test, fits on synthetic and on our runs,
and the numbers the prose about the paper's constants quotes. The refit of the paper's own runs (the
Figure 4 points) is shown by :mod:`_lib.figure4`."""
from __future__ import annotations


import numpy as np
import pandas as pd
from myst_nb import glue

from replication.fit import fit_compute_optimal, frontier, predict_loss
from replication.papers import chinchilla as paper

from . import tables

#: the five constants and the two exponents they imply, as the tables label them
NAMES = {"E": "E", "A": "A", "B": "B", "alpha": "α", "beta": "β", "a": "a (N_opt ∝ Cᵃ)", "b": "b (D_opt ∝ Cᵇ)"}
CONSTANTS = ("E", "A", "B", "alpha", "beta")


def given(x) -> str:
    """A number typed in from a paper, written with the digits it was given with (0.34, 406.401,
    1.4255×10¹⁵), never padded with zeros it did not print."""
    x = float(x)
    digits = len(f"{x:.12e}".split("e")[0].replace("-", "").replace(".", "").rstrip("0")) or 1
    if not 1e-3 <= abs(x) < 1e5:
        return tables.sci(x, digits)
    return f"{x:,.12g}".replace("-", "−")


def constants_table(columns: dict, caption: str = "The constants of eq. 10 and the frontier they imply"):
    """The five constants of each set in ``columns`` (label -> constants), written as given, and the
    frontier each implies (computed: 4 significant figures)."""
    rows = [{"quantity": "E (nats per token)" if k == "E" else NAMES[k],
             **{label: given(p[k]) for label, p in columns.items()}} for k in CONSTANTS]
    laws = {label: frontier(p) for label, p in columns.items()}
    for k, label in (("a", NAMES["a"]), ("b", NAMES["b"]), ("k_N", "k_N (N_opt = k_N Cᵃ)"),
                     ("k_D", "k_D (D_opt = k_D Cᵇ)")):
        rows.append({"quantity": label, **{c: tables.number(getattr(law, k), 4) for c, law in laws.items()}})
    return tables.table(pd.DataFrame(rows), index="quantity", caption=caption)


def predicted_losses_table():
    """The losses eq. 10 predicts for Gopher and Chinchilla, with the rounded and the unrounded
    constants, beside the values the paper prints."""
    rows = [{"model": name, "N": m["N"], "D": m["D"], "printed": given(printed),
             "rounded": predict_loss(paper.EQ10, **m), "unrounded": predict_loss(paper.EQ10_UNROUNDED, **m)}
            for name, m, printed in (("Gopher", paper.GOPHER, paper.LOSS_GOPHER),
                                     ("Chinchilla", paper.CHINCHILLA, paper.LOSS_CHINCHILLA))]
    return tables.table(pd.DataFrame(rows), index="model",
                        headers={"N": "parameters N", "D": "training tokens D",
                                 "printed": "the paper prints (nats per token)",
                                 "rounded": "eq. 10 as printed (nats per token)",
                                 "unrounded": "eq. 10 unrounded (nats per token)"},
                        formats={"N": "sci", "D": "sci", "rounded": "f4", "unrounded": "f4"},
                        caption="The losses eq. 10 predicts for Gopher and Chinchilla")


def table_a3_tables(a3: pd.DataFrame):
    """:func:`replication.fit.approach3.regenerate_table_a3` as two tables that fit a page: the budgets (with the check of
    C = 6ND and the misprint it finds) and the tokens."""
    t = a3.assign(N=a3["N"].map(given), **{"C printed": a3["C printed"].map(given),
                                          "D printed": a3["D printed"].map(given)})
    budgets = tables.table(
        t, columns=["N", "C printed", "C ours", "C ours / printed", "printed C / 6ND", "misprint"],
        headers={"N": "parameters N", "C printed": "C printed (FLOPs)", "C ours": "C from eq. 10 (FLOPs)",
                 "C ours / printed": "ours / printed", "printed C / 6ND": "printed C / 6ND",
                 "misprint": "note"},
        formats={"C ours": "sci3", "C ours / printed": "f3", "printed C / 6ND": "f3"},
        caption="The paper's Table A3 recomputed: the budgets")
    tokens = tables.table(
        t, columns=["N", "D printed", "D ours", "D ours / printed"],
        headers={"N": "parameters N", "D printed": "D printed (tokens)", "D ours": "D from eq. 10 (tokens)",
                 "D ours / printed": "ours / printed"},
        formats={"D ours": "sci3", "D ours / printed": "f3"}, caption="The paper's Table A3 recomputed: the tokens")
    return budgets, tokens


def sum_versus_mean_table(df: pd.DataFrame):
    """:func:`replication.fit.stopping.sum_versus_mean` with readable headers."""
    t = df.rename(index={"sum": "sum of the Huber losses", "mean": "mean of the Huber losses"})
    t.index.name = "objective"
    return tables.table(t, index="objective",
                        headers={"starts": "random starts", "median iterations": "median L-BFGS iterations",
                                 "best sum of Huber": "lowest sum of Huber losses reached",
                                 "runs ending within 1e-4 of the best": "runs ending within 0.01% of the best"},
                        formats={"median iterations": "f1", "best sum of Huber": "sig4"},
                        caption="The same random starts, stopped on the sum and on the mean")


def fit_table(fit, truth: dict | None = None, truth_label: str = "truth", loss_unit: str = "nats per token",
              caption: str | None = None):
    """A Huber-LSE or likelihood fit of L(N, D) as a small table: the five constants and the derived
    exponents, the bootstrap percentiles where the fit has them, and ``truth`` (constants) beside."""
    implied = None if truth is None else {**truth, "a": frontier(truth).a, "b": frontier(truth).b}
    rows = []
    for k in (*CONSTANTS, "a", "b"):
        row = {"parameter": f"E ({loss_unit})" if k == "E" else NAMES[k], "estimate": fit[k]}
        if fit.ci and k in fit.ci:
            row["lo"], row["hi"] = fit.ci[k]
        if implied is not None:
            row["truth"] = implied[k]
        rows.append(row)
    lo_q, hi_q = fit.options.get("ci_percentiles", (10, 90))
    return tables.table(pd.DataFrame(rows), index="parameter", sig=4, caption=caption,
                        headers={"lo": f"{lo_q:g}th percentile", "hi": f"{hi_q:g}th percentile",
                                 "truth": truth_label})


def allocation_table(fits: dict, budget: float):
    """N_opt, D_opt and tokens per parameter at one budget, for each set of constants in ``fits``."""
    rows = [{"constants": label, "N": float(frontier(p).n_opt(budget)) / 1e9,
             "D": float(frontier(p).d_opt(budget)) / 1e12, "DN": float(frontier(p).tokens_per_param(budget))}
            for label, p in fits.items()]
    return tables.table(pd.DataFrame(rows), index="constants",
                        headers={"N": "N_opt (billion parameters)", "D": "D_opt (trillion tokens)",
                                 "DN": "tokens per parameter"},
                        formats={"N": "f1", "D": "f2", "DN": "f1"},
                        caption=f"The allocation of each set of constants at C = {tables.sci(budget, 3)} FLOPs")


def frontier_table(budgets, n_opt, d_opt):
    """Our study's compute-optimal allocation along its IsoFLOP lines (the budgets that have one)."""
    t = pd.DataFrame({"C": budgets, "N": n_opt, "D": d_opt, "DN": np.asarray(d_opt) / np.asarray(n_opt)}).dropna()
    return tables.table(t, headers={"C": "budget C (FLOPs)", "N": "N_opt (parameters)",
                                    "D": "D_opt (training bytes)", "DN": "bytes per parameter"},
                        formats={"C": "sci", "N": "sci3", "D": "sci3", "DN": "f1"},
                        caption="The compute-optimal allocation along our IsoFLOP lines")


def glue_paper(a3: pd.DataFrame) -> dict:
    """Glue the numbers the prose about the paper's own constants quotes: the exponents of the
    rounded and unrounded constants, the predicted losses, Table A3's misprint and drift, and the
    allocations at Gopher's budget. Returns them by name."""
    laws = {k: frontier(p) for k, p in (("rnd", paper.EQ10), ("unr", paper.EQ10_UNROUNDED),
                                        ("epoch", paper.EPOCH_FIT))}
    v = {}
    for k, law in laws.items():
        v[f"a3_{k}_a"], v[f"a3_{k}_b"] = law.a, law.b
        v[f"a3_{k}_N_gopher"] = float(law.n_opt(paper.GOPHER_FLOPS)) / 1e9
        v[f"a3_{k}_tpp_gopher"] = float(law.tokens_per_param(paper.GOPHER_FLOPS))
    for name, m in (("gopher", paper.GOPHER), ("chinchilla", paper.CHINCHILLA)):
        v[f"a3_L_{name}_rnd"] = predict_loss(paper.EQ10, **m)
        v[f"a3_L_{name}_unr"] = predict_loss(paper.EQ10_UNROUNDED, **m)
    bad, ok = a3[a3["misprint"] != ""], a3[a3["misprint"] == ""]
    v["a3_n_bad"] = len(bad)
    if len(bad):
        row = bad.iloc[0]
        v["a3_bad_N"] = row["N"] / 1e9
        v["a3_bad_D"] = row["D printed"] / 1e12
        v["a3_bad_C"] = tables.sci(row["C printed"], 3)
        v["a3_bad_6ND"] = tables.sci(6 * row["N"] * row["D printed"], 3)
        v["a3_bad_factor"] = 6 * row["N"] * row["D printed"] / row["C printed"]
    drift = ok["C ours / printed"] - 1
    v["a3_drift_min"], v["a3_drift_max"] = 100 * drift.min(), 100 * drift.max()
    v["a3_drift_min_N"] = tables.sci(ok.loc[drift.idxmin(), "N"], 2)
    v["a3_drift_max_N"] = tables.sci(ok.loc[drift.idxmax(), "N"], 2)
    v["a3_printed_a"] = fit_compute_optimal(ok["C printed"], ok["N"], ok["D printed"])["a"]
    v = {k: x if isinstance(x, str) else int(x) if isinstance(x, (int, np.integer)) else float(x)
         for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def beside_table(a3: pd.DataFrame, synthetic=None, fig=None):
    """The paper's numbers beside ours, one row per check: Table 2's exponents, the two predicted
    losses, two rows of Table A3, and (where given) the exponent recovered from synthetic runs and
    the one refitted to the paper's own runs."""
    unr = frontier(paper.EQ10_UNROUNDED)
    row67 = a3[a3["N"] == 67e9].iloc[0]
    row175 = paper.TABLE_A3[paper.TABLE_A3["N"] == 175e9].iloc[0]
    rows = [("a (Table 2; ours: eq. 10 unrounded)", given(paper.TABLE_2["approach3"]["a"]), unr.a),
            ("b (Table 2; ours: eq. 10 unrounded)", given(paper.TABLE_2["approach3"]["b"]), unr.b),
            ("Gopher's loss (nats per token)", given(paper.LOSS_GOPHER), predict_loss(paper.EQ10, **paper.GOPHER)),
            ("Chinchilla's loss (nats per token)", given(paper.LOSS_CHINCHILLA),
             predict_loss(paper.EQ10, **paper.CHINCHILLA)),
            ("C for 67B parameters (Table A3, FLOPs)", given(row67["C printed"]), row67["C ours"]),
            ("D for 67B parameters (Table A3, tokens)", given(row67["D printed"]), row67["D ours"]),
            ("C for 175B parameters (Table A3; ours: 6ND, FLOPs)", given(row175["approach3_C"]),
             6 * row175["N"] * row175["approach3_D"])]
    if synthetic is not None:
        rows.append(("a recovered from the synthetic runs (the paper's column: the truth)",
                     tables.number(unr.a, 4), synthetic["a"]))
    if fig is not None:
        rows.append(("a refitted to the paper's own runs (Figure 4; the paper's column: Table 2)",
                     given(paper.TABLE_2["approach3"]["a"]), fig.fits["huber"].a))
    t = pd.DataFrame(rows, columns=["quantity", "paper", "ours"])
    t["ours"] = t["ours"].map(lambda x: tables.number(float(x), 4))
    return tables.table(t, index="quantity", headers={"paper": "the paper", "ours": "ours"},
                        caption="The paper's numbers beside ours")
