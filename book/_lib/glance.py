"""Scaling laws at a glance: what Table 2's exponents imply for allocating compute."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from IPython.display import Markdown
from myst_nb import glue

from replication.fit.laws import anchored_allocation, growth_table, table2_verdict
from replication.papers import chinchilla as paper
from replication.verdict import box_markdown

from . import figures, tables

LABELS = {
    "approach1": "Approach 1 (training curves)",
    "approach2": "Approach 2 (IsoFLOP)",
    "approach3": "Approach 3 (parametric)",
    "kaplan": "Kaplan et al. (2020)",
}

#: one line style and marker per law, so that no curve hides another where they run close
STYLES = {
    "approach1": dict(ls="-", marker="o", color=figures.PALETTE[0]),
    "approach2": dict(ls="-.", marker="s", color=figures.PALETTE[2]),
    "approach3": dict(ls=":", marker="^", color=figures.PALETTE[4]),
    "kaplan": dict(ls="--", marker="D", color=figures.PALETTE[3]),
}
#: where each law's markers start (quarters of the marker spacing), so that markers of close curves alternate
STYLES_OFFSET = {"approach1": 0, "approach2": 1, "approach3": 2, "kaplan": 3}


def show_exponents(factor: float = 10.0):
    """:func:`replication.fit.laws.growth_table` as the page shows it."""
    t = growth_table(factor).rename(index=LABELS).reset_index()
    times = f"{float(factor):g}×"
    return tables.table(
        t, index="law", columns=["law", "a", "b", "a + b", "N growth", "D growth", "tokens/param growth"],
        headers={"law": "law", "a": "a (N<sub>opt</sub> ∝ C<sup>a</sup>)",
                 "b": "b (D<sub>opt</sub> ∝ C<sup>b</sup>)", "a + b": "a + b",
                 "N growth": f"N<sub>opt</sub> grows by (× for {times} C)",
                 "D growth": f"D<sub>opt</sub> grows by (× for {times} C)",
                 "tokens/param growth": f"D/N changes by (× for {times} C)"},
        formats={"a": "f2", "b": "f2", "a + b": "f2", "N growth": "f2", "D growth": "f2",
                 "tokens/param growth": "f2"},
        caption=f"The paper's exponents (its Table 2) and how each law shares {times} the compute")


def plot_allocation(c_min: float, c_max: float):
    """Log-log plot of N_opt(C) and D_opt(C) for Table 2's laws, all through Chinchilla's allocation."""
    c, curves = anchored_allocation(c_min, c_max)
    anchor_c = 6 * paper.CHINCHILLA["N"] * paper.CHINCHILLA["D"]
    fig, (ax_n, ax_d) = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    every = max(1, len(c) // 8)
    for key, (n, d) in curves.items():
        label = LABELS[key]
        style = dict(STYLES[key], lw=1.5, ms=4, markevery=(STYLES_OFFSET[key] * every // 4, every))
        ax_n.loglog(c, n, label=label, **style)
        ax_d.loglog(c, d, label=label, **style)
    for ax, anchor, what in ((ax_n, paper.CHINCHILLA["N"], "compute-optimal parameters $N_{opt}$"),
                             (ax_d, paper.CHINCHILLA["D"], "compute-optimal training tokens $D_{opt}$")):
        ax.axvline(paper.GOPHER_FLOPS, color="grey", lw=0.8, ls=":",
                   label=f"Gopher's budget, {tables.sci(paper.GOPHER_FLOPS, 3)} FLOPs")
        ax.plot([anchor_c], [anchor], "*", color="black", ms=10, label="Chinchilla (70B parameters, 1.4T tokens)")
        ax.set_xlabel("training compute $C$ (FLOPs)")
        ax.set_ylabel(what)
    ax_n.legend()
    ax_n.set_title("compute-optimal model size")
    ax_d.set_title("compute-optimal training tokens")
    fig.tight_layout()
    return fig


def glue_numbers(factor: float, c_min: float, c_max: float) -> dict:
    """Glue every number the chapter's prose and verdict quote (and return them)."""
    t = growth_table(factor)
    chin = t.loc[["approach1", "approach2", "approach3"]]
    kap = t.loc["kaplan"]
    sums = t["a + b"]
    verdict = table2_verdict(factor)
    a1, ak = paper.TABLE_2["approach1"], paper.TABLE_2["kaplan"]
    c0 = 6 * paper.CHINCHILLA["N"] * paper.CHINCHILLA["D"]
    per_decade = 10 ** (ak["a"] - a1["a"])
    edge = c_max / c0  # the plot's right edge, relative to the anchor
    v = {
        "gl_factor": float(factor),
        "gl_sum_lo": float(sums.min()), "gl_sum_hi": float(sums.max()),
        "gl_sums": (f"{sums.min():.2f}" if f"{sums.min():.2f}" == f"{sums.max():.2f}"
                    else f"{sums.min():.2f} to {sums.max():.2f}"),
        "gl_sum_verdict": verdict.label,
        "gl_chin_n_lo": float(chin["N growth"].min()), "gl_chin_n_hi": float(chin["N growth"].max()),
        "gl_chin_d_lo": float(chin["D growth"].min()), "gl_chin_d_hi": float(chin["D growth"].max()),
        "gl_chin_tpp_lo": float(chin["tokens/param growth"].min()),
        "gl_chin_tpp_hi": float(chin["tokens/param growth"].max()),
        "gl_sqrt": float(math.sqrt(factor)),
        "gl_kaplan_a": float(ak["a"]), "gl_kaplan_b": float(ak["b"]),
        "gl_kaplan_n": float(kap["N growth"]), "gl_kaplan_d": float(kap["D growth"]),
        "gl_kaplan_tpp": float(kap["tokens/param growth"]),
        "gl_anchor_c": tables.sci(c0, 3),
        "gl_per_decade": float(per_decade),
        "gl_edge_c": tables.sci(c_max, 2),
        "gl_edge_decades": float(math.log10(edge)),
        "gl_edge_n": float(edge ** (ak["a"] - a1["a"])),  # Kaplan's N_opt over Approach 1's at c_max
        "gl_edge_d": float(edge ** (a1["b"] - ak["b"])),  # Approach 1's D_opt over Kaplan's at c_max
    }
    for k, x in v.items():
        glue(k, x, display=False)
    glue("glance_verdict", Markdown(box_markdown(verdict)), display=False)
    return v
