"""Approach 3's tables and figures: the paper's constants and what they imply, Table A3 regenerated
from a fit's frontier, the sum-versus-mean demonstration of scipy's stopping test, and the refit of the
paper's own runs (the Figure 4 points): its tables, the numbers the prose quotes, and its figures."""
from __future__ import annotations


import numpy as np
import pandas as pd
from scipy.optimize import minimize

from replication.errors import check_int
from replication.fit import compute_for_size, huber_lse_objective, inconsistent_rows, observations, start_grid
from replication.sources.chinchilla import TABLE_A3

from . import figures, tables

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


def constants_table(columns: dict):
    """The five constants of each set in ``columns`` (label -> constants), written as given, and the
    frontier each implies (computed: 4 significant figures)."""
    from replication.fit import frontier

    rows = [{"quantity": "E (nats per token)" if k == "E" else NAMES[k],
             **{label: given(p[k]) for label, p in columns.items()}} for k in CONSTANTS]
    laws = {label: frontier(p) for label, p in columns.items()}
    for k, label in (("a", NAMES["a"]), ("b", NAMES["b"]), ("k_N", "k_N (N_opt = k_N Cᵃ)"),
                     ("k_D", "k_D (D_opt = k_D Cᵇ)")):
        rows.append({"quantity": label, **{c: tables.number(getattr(law, k), 4) for c, law in laws.items()}})
    return tables.table(pd.DataFrame(rows), index="quantity")


def predicted_losses_table():
    """The losses eq. 10 predicts for Gopher and Chinchilla, with the rounded and the unrounded
    constants, beside the values the paper prints."""
    from replication.fit import predict_loss
    from replication.sources import chinchilla as paper

    rows = [{"model": name, "N": m["N"], "D": m["D"], "printed": given(printed),
             "rounded": predict_loss(paper.EQ10, **m), "unrounded": predict_loss(paper.EQ10_UNROUNDED, **m)}
            for name, m, printed in (("Gopher", paper.GOPHER, paper.LOSS_GOPHER),
                                     ("Chinchilla", paper.CHINCHILLA, paper.LOSS_CHINCHILLA))]
    return tables.table(pd.DataFrame(rows), index="model",
                        headers={"N": "parameters N", "D": "training tokens D",
                                 "printed": "the paper prints (nats per token)",
                                 "rounded": "eq. 10 as printed (nats per token)",
                                 "unrounded": "eq. 10 unrounded (nats per token)"},
                        formats={"N": "sci", "D": "sci", "rounded": "f4", "unrounded": "f4"})


def table_a3_tables(a3: pd.DataFrame):
    """:func:`regenerate_table_a3` as two tables that fit a page: the budgets (with the check of
    C = 6ND and the misprint it finds) and the tokens."""
    t = a3.assign(N=a3["N"].map(given), **{"C printed": a3["C printed"].map(given),
                                          "D printed": a3["D printed"].map(given)})
    budgets = tables.table(
        t, columns=["N", "C printed", "C ours", "C ours / printed", "printed C / 6ND", "misprint"],
        headers={"N": "parameters N", "C printed": "C printed (FLOPs)", "C ours": "C from eq. 10 (FLOPs)",
                 "C ours / printed": "ours / printed", "printed C / 6ND": "printed C / 6ND",
                 "misprint": "note"},
        formats={"C ours": "sci3", "C ours / printed": "f3", "printed C / 6ND": "f3"})
    tokens = tables.table(
        t, columns=["N", "D printed", "D ours", "D ours / printed"],
        headers={"N": "parameters N", "D printed": "D printed (tokens)", "D ours": "D from eq. 10 (tokens)",
                 "D ours / printed": "ours / printed"},
        formats={"D ours": "sci3", "D ours / printed": "f3"})
    return budgets, tokens


def sum_versus_mean_table(df: pd.DataFrame):
    """:func:`sum_versus_mean` with readable headers."""
    t = df.rename(index={"sum": "sum of the Huber losses", "mean": "mean of the Huber losses"})
    t.index.name = "objective"
    return tables.table(t, index="objective",
                        headers={"starts": "random starts", "median iterations": "median L-BFGS iterations",
                                 "best sum of Huber": "lowest sum of Huber losses reached",
                                 "runs ending within 1e-4 of the best": "runs ending within 0.01% of the best"},
                        formats={"median iterations": "f1", "best sum of Huber": "sig4"})


def fit_table(fit, truth: dict | None = None, truth_label: str = "truth", loss_unit: str = "nats per token",
              caption: str | None = None):
    """A Huber-LSE or likelihood fit of L(N, D) as a small table: the five constants and the derived
    exponents, the bootstrap percentiles where the fit has them, and ``truth`` (constants) beside."""
    from replication.fit import frontier

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
    from replication.fit import frontier

    rows = [{"constants": label, "N": float(frontier(p).n_opt(budget)) / 1e9,
             "D": float(frontier(p).d_opt(budget)) / 1e12, "DN": float(frontier(p).tokens_per_param(budget))}
            for label, p in fits.items()]
    return tables.table(pd.DataFrame(rows), index="constants",
                        headers={"N": "N_opt (billion parameters)", "D": "D_opt (trillion tokens)",
                                 "DN": "tokens per parameter"},
                        formats={"N": "f1", "D": "f2", "DN": "f1"})


def frontier_table(budgets, n_opt, d_opt):
    """Our study's compute-optimal allocation along its IsoFLOP lines."""
    t = pd.DataFrame({"C": budgets, "N": n_opt, "D": d_opt, "DN": np.asarray(d_opt) / np.asarray(n_opt)})
    return tables.table(t, headers={"C": "budget C (FLOPs)", "N": "N_opt (parameters)",
                                    "D": "D_opt (training bytes)", "DN": "bytes per parameter"},
                        formats={"C": "sci", "N": "sci3", "D": "sci3", "DN": "f1"})


def glue_paper(a3: pd.DataFrame) -> dict:
    """Glue the numbers the prose about the paper's own constants quotes: the exponents of the
    rounded and unrounded constants, the predicted losses, Table A3's misprint and drift, and the
    allocations at Gopher's budget. Returns them by name."""
    from myst_nb import glue

    from replication.fit import fit_compute_optimal, frontier, predict_loss
    from replication.sources import chinchilla as paper

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
    from replication.fit import frontier, predict_loss
    from replication.sources import chinchilla as paper

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
    return tables.table(t, index="quantity", headers={"paper": "the paper", "ours": "ours"})


# --------------------------------------------------------------------------------------------------
# Chinchilla's own runs (the Figure 4 points)


def figure4_constants_table(fig):
    """:func:`replication.studies.figure4.constants` as the page shows it: the printed constants
    (eq. 10, Besiroglu et al.) as given, our refits to 4 significant figures."""
    from replication.studies import figure4

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
        "ours, huber, all 245": "ours, Huber, all points", "ours, likelihood, all 245": "ours, likelihood, all points"})


def _interval(r, sig: int = 3) -> str:
    return f"{tables.number(r[0], sig)} to {tables.number(r[1], sig)}"


def interval_table(fig, scheme: str = "points"):
    """The bootstrap intervals of one resampling ``scheme`` ("points" or "budgets"): the paper's
    estimator (Huber) with its 80% and 95% intervals and whether the paper's value lies inside the
    95%, and the likelihood estimator's 95% interval beside it."""
    from replication.studies import figure4

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
        "inside": "paper inside the 95%?", "l95": "likelihood refit's 95% interval"})


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
                                                     "a": "f3"})


def implications_table(fig):
    """:func:`replication.studies.figure4.implications` in readable units (billions of parameters,
    trillions of tokens): eq. 10 as printed beside each refit with its 95% interval (points
    resampled) in one cell."""
    from replication.studies import figure4

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
        "likelihood": "our likelihood refit (95% interval)"})


def verdicts_table(fig):
    """:func:`replication.studies.figure4.verdicts` with readable headers."""
    from replication.studies import figure4

    t = figure4.verdicts(fig).reset_index()
    t["ours"] = t["ours"].str.replace("beta", "β").str.replace("alpha", "α")
    return tables.table(t, index="question", headers={"ours": "what we find (95% interval)", "verdict": "verdict"})


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
    v["f4_apart"] = ("What stands apart on these points is the paper's printed Approach 3, not the approach."
                     if v["f4_verdict2"] == "disagrees" else
                     "Judged by the wider interval, even the printed Approach-3 exponent is within what these "
                     "points allow: they do not tell the paper's exponents apart.")
    v = {k: (int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, bool) else
             x if isinstance(x, str) else float(x)) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v


def plot_contours(fig, levels=None):
    """Figure 4 (left) twice: the points in the (C, N) plane coloured by their final loss, the iso-loss
    contours of a fitted surface L(N, D = C/6N) and its compute-optimal frontier; the paper's eq. 10
    on the left, our Huber refit on the right, each panel showing the other's frontier dashed. The
    refit's frontier carries its 95% bootstrap band. One colour scale (the colourbar) serves contours
    and points."""
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
    fits = {"eq. 10 (the paper, as printed)": dict(paper.EQ10),
            "our refit (Huber, δ = 10⁻³)": dict(fig.fits["huber"].params)}
    f, axes = plt.subplots(1, 2, figsize=(9.5, 4.2), sharey=True, layout="constrained")
    for ax, (title, p), (_, other) in zip(axes, fits.items(), reversed(list(fits.items()))):
        cs = ax.contour(CC, NN, predict_loss(p, NN, CC / (6 * NN)), levels=levels, cmap="viridis", norm=norm,
                        linewidths=0.8)
        ax.clabel(cs, levels[::2], fontsize=7, fmt="%.1f")
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
        ax.set_title(title, fontsize=10)
    s = figure4._columns(fig.boot["huber", "points"].samples)
    G = (s["alpha"] * s["A"] / (s["beta"] * s["B"])) ** (1 / (s["alpha"] + s["beta"]))
    band = G[:, None] * (C[None, :] / 6) ** s["a"][:, None]
    lo, hi = np.percentile(band, [2.5, 97.5], axis=0)
    axes[1].fill_between(C, lo, hi, color=figures.PALETTE[7], alpha=0.12, lw=0,
                         label="95% bootstrap band of the frontier")
    axes[0].set_ylabel("parameters N")
    axes[1].legend(fontsize=7, loc="lower right", framealpha=0.85, frameon=True)
    f.colorbar(sc, ax=axes, label="final training loss (nats per token)", shrink=0.9, pad=0.02)
    return f


def plot_delta_sweep(sweep: pd.DataFrame, interval=None):
    """The frontier exponent a and the irreducible loss E against the Huber δ: the converged fit of the
    summed objective, and where L-BFGS stops on the mean with scipy's default test. ``interval``: the
    (lo, hi) 95% bootstrap interval of a at δ = 10⁻³, drawn as an error bar."""
    import matplotlib.pyplot as plt

    from replication.sources import chinchilla as paper

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
        ax.legend(fontsize=7)
    f.tight_layout()
    return f
