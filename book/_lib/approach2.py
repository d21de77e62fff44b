"""Approach 2's table and figure: the off-centre bias of a vertex, and IsoFLOP profiles with their
parabolas (also shown by the study chapter)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.fit import FitResult, frontier, observations, parabola_vertex, synthetic_isoflops


def off_centre_bias(params: dict, budget: float, offsets, *, span: float = 2.0, sizes: int = 9) -> pd.DataFrame:
    """How far the Approach-2 vertex lands from the true N_opt when the sampled sizes are centred
    ``offset`` decades away from it (a noiseless surface, so all of the error is the method's)."""
    if len(offsets) == 0:
        raise ReplicationError("offsets is empty; allowed: one or more offsets in decades, e.g. [-0.4, 0.0, 0.4]")
    truth = float(frontier(params).n_opt(budget))
    rows = []
    for off in offsets:
        t = synthetic_isoflops(params, [budget], sizes=sizes, span=span, offset=off)
        vertex = parabola_vertex(np.log(t["N"]), t["loss"])
        found = vertex.reason is None
        rows.append({"offset (decades)": off, "N_opt": truth, "vertex N*": math.exp(vertex.x) if found else math.nan,
                     "N*/N_opt - 1": math.exp(vertex.x) / truth - 1 if found else math.nan,
                     "note": vertex.reason or ""})
    return pd.DataFrame(rows)


def plot_isoflops(data, result: FitResult, ax=None):
    """Loss against N per budget, each with the fit's parabola and its vertex."""
    N, D, loss, C = observations(data)
    ax = ax or plt.subplots(figsize=(7, 4.5))[1]
    groups = result.details["budget_of_point"]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(result.table)))
    for color, row, coef in zip(colors, result.table.itertuples(), result.details["parabola_N"]):
        m = groups == row.C
        x = np.log(N[m])
        xs = np.linspace(x.min(), x.max(), 100)
        ax.plot(N[m], loss[m], "o", ms=3, color=color)
        ax.plot(np.exp(xs), coef[0] + coef[1] * xs + coef[2] * xs * xs, "-", lw=1, color=color, label=f"{row.C:.0e}")
        ax.plot(row.N_star, row.loss_star, "k*", ms=9)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("loss")
    ax.legend(title="C (FLOPs)", fontsize=7, ncol=2)
    return ax


def glue_figure4(fit: FitResult, fit_all: FitResult, boot) -> dict:
    """Glue the numbers the prose about the Figure 4 points quotes (Approach 2 on the points snapped
    to the paper's budgets: the fit, the fit on all 245, the vertex-level bootstrap); returns them."""
    from myst_nb import glue

    from replication.sources import chinchilla as paper
    from replication.studies import figure4

    data, every = figure4.points(), figure4.points(keep_all=True)
    dropped = every.loc[every["loss"].nlargest(figure4.DROPPED).index]
    t2 = paper.TABLE_2["approach2"]
    v = {"f2_n_kept": len(data), "f2_n_all": len(every), "f2_n_dropped": figure4.DROPPED,
         "f2_tol": figure4.SNAP_TOL * 100, "f2_snapped": fit.n_points, "f2_budgets": len(paper.ISOFLOP_BUDGETS),
         "f2_used": fit.details["budgets_used"], "f2_resamples": boot.resamples, "f2_kept": boot.kept,
         "f2_a": fit["a"], "f2_b": fit["b"], "f2_all_a": fit_all["a"], "f2_all_b": fit_all["b"],
         "f2_t2_a": t2["a"], "f2_t2_a_lo": t2["a_ci"][0], "f2_t2_a_hi": t2["a_ci"][1],
         "f2_t2_b": t2["b"], "f2_t2_b_lo": t2["b_ci"][0], "f2_t2_b_hi": t2["b_ci"][1],
         "f2_excluded": "; ".join(f"the {e['C']:.0e} budget ({e['reason']})".replace("e+", "e") for e in fit.details["excluded"]) or "no budget"}
    for name in ("a", "b"):
        for level, tag in (("80%", "80"), ("95%", "95")):
            v[f"f2_{name}{tag}_lo"], v[f"f2_{name}{tag}_hi"] = figure4.percentile(boot, name, level)
    drop_budgets = sorted({float(c) for c in dropped["budget"]})
    v["f2_drop_budgets"] = ", ".join(f"{c:.0e}".replace("e+", "e") for c in drop_budgets)
    used = boot.samples[:, boot.names.index("budgets used")]
    v["f2_all_budgets_share"] = float((used == len(paper.ISOFLOP_BUDGETS)).mean() * 100)
    v["f2_verdict"] = "agrees" if v["f2_a95_lo"] <= t2["a"] <= v["f2_a95_hi"] else "disagrees"
    v["f2_in_t2"] = "inside" if t2["a_ci"][0] <= fit["a"] <= t2["a_ci"][1] else "outside"
    sens = figure4.snap_sensitivity()
    v["f2_sens_a_min"], v["f2_sens_a_max"] = float(sens["a"].min()), float(sens["a"].max())
    v["f2_sens_tol_min"], v["f2_sens_tol_max"] = float(sens.index.min() * 100), float(sens.index.max() * 100)
    wide = sens.loc[sens.index >= figure4.SNAP_TOL, "a"]
    within = wide.between(v["f2_a95_lo"], v["f2_a95_hi"]).all()
    v["f2_sens_within"] = "inside" if within else "not always inside"
    v = {k: x if isinstance(x, str) else int(x) if isinstance(x, (int, np.integer)) else float(x) for k, x in v.items()}
    for k, x in v.items():
        glue(k, x, display=False)
    return v
