"""Approach 2's table and figure: the off-centre bias of a vertex, and IsoFLOP profiles with their
parabolas (also shown by the study chapter)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replication.fit import FitResult, frontier, observations, parabola_vertex, synthetic_isoflops


def off_centre_bias(params: dict, budget: float, offsets, *, span: float = 2.0, sizes: int = 9) -> pd.DataFrame:
    """How far the Approach-2 vertex lands from the true N_opt when the sampled sizes are centred
    ``offset`` decades away from it (a noiseless surface, so all of the error is the method's)."""
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
