"""The claims of the Chinchilla paper's own tables (2, 3, A3, A4) and of eq. 10.

The paper's training runs are not published. Its tables are checked against each other (arithmetic):
FLOPs against 6·N·D with the printed tokens, tokens against the power law through a column's other rows,
exponents against power laws through the tables and the frontier of eq. 10. Tables 3 and A3 were
generated from the exponents, so they can only show that the exponents were applied consistently.
Against data: the points Besiroglu et al. (2024) read off Figure 4 (:func:`computed.figure4`) give
Approaches 2 and 3 again, and eq. 10's constants.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from functools import partial

from replication.claims.computed import eq10_frontier, figure4, size_label, table_exponents
from replication.claims.ledger import ARITHMETIC, DATA, Claim
from replication.claims.rules import InInterval, Interval, Predicate, Printed, Range, Within
from replication.counting import table_a4
from replication.papers import chinchilla as paper

NEEDS_PAPER_RUNS = "needs the paper's own training runs, which are not published"
FIGURE4 = "the points Besiroglu et al. (2024) read off Figure 4, refitted (see approach3)"

_arith = partial(Claim, kind=ARITHMETIC)


def in_interval(printed: float, fmt: str = ".3f", what: str = "the 95% bootstrap interval") -> InInterval:
    """A printed value agrees with the refit to the Figure 4 points when it lies inside the refit's 95%
    interval (the value :func:`from_figure4` computes; for an exponent, the widest of its intervals)."""
    return InInterval(printed=printed, fmt=fmt, what=what)


def from_figure4(estimate: str, interval: str, param: str | None = None):
    """The value to compare: the refit's estimate and its 95% interval, from :func:`computed.figure4`."""
    def compute():
        f = figure4()
        value = f[estimate][param] if param else f[estimate]
        lo, hi = f[interval][param] if param else f[interval]
        return {"refit": float(value), "95% from": float(lo), "95% to": float(hi)}
    return compute

# --------------------------------------------------------------------------------------------------
# a table's rows against each other


def _tokens_rule(D: float) -> Printed:
    """Tables 3 and A3 print tokens with one decimal, in billions below a trillion, else in trillions."""
    return Printed(".1f", scale=1e12, unit="T") if D >= 1e12 else Printed(".1f", scale=1e9, unit="B")


def _off_law_rows(x, y, tol: float) -> set[int]:
    return set(_off_law_rows_cached(tuple(map(float, x)), tuple(map(float, y)), tol))


@lru_cache(maxsize=None)
def _off_law_rows_cached(x: tuple, y: tuple, tol: float) -> frozenset[int]:
    """Rows that leave a power law through the other rows by more than ``tol``, worst first.

    A forward search: drop the row with the largest leave-one-out residual while it exceeds ``tol``.
    """
    lx, ly = np.log(np.array(x)), np.log(np.array(y))
    out: set[int] = set()
    while len(x) - len(out) > 3:
        worst, resid = None, 0.0
        for i in range(len(x)):
            if i in out:
                continue
            keep = [j for j in range(len(x)) if j != i and j not in out]
            s, c = np.polyfit(lx[keep], ly[keep], 1)
            r = abs(ly[i] - (c + s * lx[i]))
            if r > resid:
                worst, resid = i, r
        if resid <= math.log1p(tol):
            break
        out.add(worst)
    return frozenset(out)


def other_rows_law(x, y, i: int, tol: float = 0.02) -> float:
    """y at row ``i`` from a power law through the *other* rows of a table (outlier rows left out).

    The tables' rows lie on power laws in N to their printed precision (~0.5%), so this recovers a
    correct cell and exposes a wrong one. Rows that leave the law by more than ``tol`` are not used.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    skip = _off_law_rows(x, y, tol) | {i}
    keep = [j for j in range(len(x)) if j not in skip]
    s, c = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(np.exp(c + s * np.log(x[i])))


def rows_at_70b() -> pd.DataFrame:
    """The '67B' rows of Tables 3 and A3 against the law through the other rows, at 67B and at 70B."""
    t3, a3 = paper.TABLE_3, paper.TABLE_A3
    cols = {"Approach 1 (Table 3)": (t3["N"], t3["D"]), "Approach 2 (Table A3)": (a3["N"], a3["approach2_D"]),
            "Approach 3 (Table A3)": (a3["N"], a3["approach3_D"])}
    rows = []
    for label, (N, D) in cols.items():
        N, D = N.to_numpy(), D.to_numpy()
        i = int(np.flatnonzero(N == 67e9)[0])
        skip = _off_law_rows(N, D, 0.02) | {i}
        keep = [j for j in range(len(N)) if j not in skip]
        s, c = np.polyfit(np.log(N[keep]), np.log(D[keep]), 1)
        rows.append({"approach": label, "printed tokens": D[i], "law at 67B": math.exp(c + s * math.log(67e9)),
                     "law at 70B": math.exp(c + s * math.log(70e9))})
    return pd.DataFrame(rows).set_index("approach")


# --------------------------------------------------------------------------------------------------
# the claims


def table2_claims() -> list[Claim]:
    """Table 2: the exponents, against those the paper's own tables and eq. 10 imply."""
    exps = table_exponents()
    claims = []
    for k in (1, 2, 3):
        key = f"approach{k}"
        for i, name in enumerate("ab"):
            printed = paper.TABLE_2[key][name]
            where = ("the frontier of eq. 10 (unrounded constants): consistent with eq. 10, not a refit" if k == 3
                     else f"a free power law through Table {'3' if k == 1 else 'A3'}, which was generated from "
                          "this exponent: the table applies it consistently, nothing more")
            claims.append(_arith(f"T2.A{k}.{name}", "T2", f"Approach {k}: {name} = {printed:.2f}", printed,
                                  Printed(".2f"), f"approach{k}", lambda key=key, i=i: exps[key][i],
                                  note=f"from {where}"))
            if k > 1:
                widest = ("the widest 95% interval (bootstrap, residual t, one budget left out, snapping "
                          "tolerance)" if k == 2 else "the wider 95% bootstrap interval (runs or budgets resampled)")
                claims.append(Claim(f"T2.A{k}.{name}.data", "T2", f"Approach {k}: {name} = {printed:.2f}", printed,
                                    in_interval(printed, what=widest), f"approach{k}",
                                    from_figure4(f"approach{k}_{name}", f"approach{k}_{name}_widest95"),
                                    note=f"{FIGURE4}: " + ("IsoFLOP profiles (the profile estimator) through the "
                                                           "points snapped to the nine budgets" if k == 2 else
                                                           "eq. 10 refitted by the paper's Huber method")
                                    + ("; snapping makes b = 1 − a, so this is the test of a again"
                                       if name == "b" else ""),
                                    kind=DATA, same_test_as=f"T2.A{k}.a.data" if name == "b" else ""))
            lo, hi = paper.TABLE_2[key][f"{name}_ci"]
            claims.append(Claim(f"T2.A{k}.{name}_ci", "T2", f"Approach {k}: {name} 10th-90th percentile "
                                f"({lo}, {hi})", (lo, hi), Range(fmt=".3f"), f"approach{k}",
                                note=f"a bootstrap over the paper's training runs: {NEEDS_PAPER_RUNS}"))
    claims.append(Claim("T2.A1.data", "T2", "Approach 1: a = 0.50, b = 0.50", "as stated", Printed(), "approach1",
                        note="Approach 1 needs every run's loss curve; Figure 4 gives one final loss per run"))
    claims += [
        _arith("T2.A3.a_in_ci", "T2", "Approach 3: a = 0.46 with interval (0.454, 0.455)", (0.454, 0.455),
               Range(fmt=".4f"), "approach3", lambda: exps["approach3"][0],
               note="the point estimate of the unrounded eq. 10 fit lies outside its own printed interval"),
        _arith("T2.A3.b_in_ci", "T2", "Approach 3: b = 0.54 with interval (0.542, 0.543)", (0.542, 0.543),
               Range(fmt=".4f"), "approach3", lambda: exps["approach3"][1],
               note="the point estimate of the unrounded eq. 10 fit lies outside its own printed interval, "
                    "as for a (b = 1 − a)", same_test_as="T2.A3.a_in_ci"),
        _arith("T2.A3.a_printed", "T2", "Approach 3: a = 0.46 (from eq. 10 as printed)", 0.46, Printed(".2f"),
               "approach3", lambda: exps["approach3 (printed eq. 10)"][0],
               note="with α = 0.34 and β = 0.28 as printed, a = β/(α+β) = 0.452 prints as 0.45"),
        Claim("T2.kaplan.a", "T2", "Kaplan et al. (2020): a = 0.73", 0.73, Printed(".2f"), "glance",
              note="Kaplan's own fit to his own runs; the glance chapter takes it as given"),
        Claim("T2.kaplan.b", "T2", "Kaplan et al. (2020): b = 0.27", 0.27, Printed(".2f"), "glance",
              note="Kaplan's own fit to his own runs; the glance chapter takes it as given"),
    ]
    return claims


def _row_claims(source: str, label: str, chapter: str, N, C, D, extra_note: dict | None = None) -> list[Claim]:
    """The FLOPs cell (against 6·N·D with D as printed) and the tokens cell (against the law through
    the other rows) of every row of one approach."""
    N, C, D = (np.asarray(x, dtype=float) for x in (N, C, D))
    extra_note = extra_note or {}
    claims = []
    for i, (n, c, d) in enumerate(zip(N, C, D)):
        rule_d = _tokens_rule(d)
        size = size_label(n)
        claims.append(_arith(
            f"{source}.{label}.{size}.C", source, f"{label}, {size}: {c:.2e} FLOPs", c, Printed(".2e"), chapter,
            lambda n=n, d=d, r=rule_d: 6 * n * Interval.printed(d, r.fmt, r.scale),
            note=extra_note.get((size, "C"), "6·N·D with D as printed")))
        claims.append(_arith(
            f"{source}.{label}.{size}.D", source, f"{label}, {size}: {rule_d.show_one(d)} tokens", d,
            Within(rel=0.01, fmt=".1f", scale=rule_d.scale, unit=rule_d.unit), chapter,
            lambda i=i: other_rows_law(N, D, i),
            note=extra_note.get((size, "D"), "the power law D(N) through the other rows")))
    return claims


_ROW_67B = ("the law through the other rows gives this row's tokens at N = 70B (Chinchilla's size), "
            "not at 67B: see the table below")


def table3_claims() -> list[Claim]:
    """Table 3 (Approach 1): FLOPs, tokens and multiples of Gopher's budget, row by row."""
    t = paper.TABLE_3
    notes = {("67B", "C"): "the Gopher budget; 6·67B·1.5T = 6.03e23", ("67B", "D"): _ROW_67B,
             ("10B", "gopher"): "5.76e23 / 1.23e22 = 46.8: the cell looks cut, not rounded"}
    claims = _row_claims("T3", "A1", "approach1", t["N"], t["C"], t["D"], notes)
    g = Interval.printed(paper.GOPHER_FLOPS, ".2e")
    for n, c, units in zip(t["N"], t["C"], t["C_gopher_units"]):
        size = size_label(n)
        cc = Interval.printed(c, ".2e")
        if units < 1:
            denom = round(1 / units)
            claims.append(_arith(f"T3.A1.{size}.gopher", "T3", f"A1, {size}: 1/{denom:,} of Gopher's FLOPs",
                                 float(denom), Printed(".0f"), "approach1", lambda cc=cc: g / cc,
                                 note=notes.get((size, "gopher"), "5.76e23 / FLOPs, both as printed")))
        else:
            fmt = ".0f" if units == 1 else ".1f"
            claims.append(_arith(f"T3.A1.{size}.gopher", "T3", f"A1, {size}: {units:g}× Gopher's FLOPs", units,
                                 Printed(fmt), "approach1", lambda cc=cc: cc / g,
                                 note="FLOPs / 5.76e23, both as printed"))
    return claims


def table_a3_claims() -> list[Claim]:
    """Table A3 (Approaches 2 and 3): FLOPs and tokens, row by row, and the fit of eq. 10."""
    t = paper.TABLE_A3
    notes3 = {("175B", "C"): "6·N·D = 1.26e25: the printed exponent is one too small",
              ("67B", "C"): "6·67B·4.1T = 1.65e24; at 70B: 1.72e24",
              ("67B", "D"): _ROW_67B,
              ("280B", "C"): "6·280B·20.1T = 3.38e25; the FLOPs cell lies on the law, the tokens cell does not",
              ("280B", "D"): "the law through the other rows (and 6ND with the printed FLOPs) give about 21.0T"}
    notes2 = {("67B", "D"): _ROW_67B}
    claims = _row_claims("A3", "A2", "approach2", t["N"], t["approach2_C"], t["approach2_D"], notes2)
    claims += _row_claims("A3", "A3", "approach3", t["N"], t["approach3_C"], t["approach3_D"], notes3)

    def vs_eq10():
        eq10 = eq10_frontier()  # N_opt = k_N C^a, inverted for the C at which each N is optimal
        C_eq10 = (t["N"].to_numpy() / eq10.k_N) ** (1 / eq10.a)
        ok = t["N"].to_numpy() != 175e9  # the misprinted row says nothing about the law
        ratio = t["approach3_C"].to_numpy()[ok] / C_eq10[ok]
        return {"smallest": float(ratio.min()), "largest": float(ratio.max())}

    claims.append(_arith("A3.A3.eq10", "A3", "Approach 3 columns: the allocation eq. 10 implies", 1.0,
                         Within(rel=0.01, fmt=".3f"), "approach3", vs_eq10,
                         note="printed FLOPs / eq. 10's frontier C(N) (unrounded constants), 175B row left out; "
                              "the columns follow a power law with a = 0.459, but not eq. 10's level"))
    return claims


def table_a4_claims() -> list[Claim]:
    """Table A4: parameters and FLOP ratios of its six models, and Appendix F as written."""
    claims = []
    for i, r in enumerate(paper.TABLE_A4.itertuples(index=False)):
        params = r.N
        label = size_label(params)
        claims.append(_arith(f"A4.{label}.ratio", "A4", f"{label}: FLOP ratio (ours/6ND) {r.ratio:.2f}", r.ratio,
                             Printed(".2f"), "flops", lambda i=i: float(table_a4().loc[i, "table_a4"]),
                             note="Appendix F's terms without the embeddings and the final logits"))
        rule = Printed(".1f", scale=1e9, unit="B") if params >= 1e9 else Printed(".0f", scale=1e6, unit="M",
                                                                                 truncate=True)
        claims.append(_arith(f"A4.{label}.N", "A4", f"Parameters {label}", params, rule, "flops",
                             lambda i=i: float(table_a4().loc[i, "N"]),
                             note="embedding counted once, biases and layer norms included"))
    claims.append(_arith("A4.appendix_f", "A4", "Appendix F's text: embeddings and final logits are counted",
                         "Table A4's ratios",
                         Predicate(fmt=".2f", reading="Appendix F as written gives every printed ratio",
                                   test=lambda v: all(f"{x:.2f}" == f"{p:.2f}" for x, p in
                                                      zip(v.values(), paper.TABLE_A4["ratio"]))),
                         "flops", lambda: {f"row {i + 1}": float(x) for i, x in enumerate(table_a4()["appendix_f"])},
                         note="the table only reproduces without the embedding and logit terms the text describes"))
    return claims


def eq10_claims() -> list[Claim]:
    """Eq. 10's constants, against the paper's own method refitted to the points read off Figure 4."""
    p = paper.EQ10
    fmts = {"E": ".3f", "A": ".0f", "B": ".0f", "alpha": ".3f", "beta": ".3f"}
    return [Claim(f"eq10.{k}", "eq10", f"{k} = {p[k]:g}", p[k], in_interval(p[k], fmts[k]), "approach3",
                  from_figure4("huber", "huber_ci95", k), kind=DATA,
                  note=f"{FIGURE4}: Huber (δ = 10⁻³) on log residuals, as the paper describes")
            for k in ("E", "A", "B", "alpha", "beta")]
