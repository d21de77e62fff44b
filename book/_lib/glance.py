"""Scaling laws at a glance: what Table 2's exponents imply for allocating compute."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.sources import chinchilla as paper

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


def exponent_table(factor: float = 10.0) -> pd.DataFrame:
    """Table 2's exponents and the growth of N_opt and D_opt when compute grows by ``factor``."""
    if not factor > 1:
        raise ReplicationError(f"factor={factor!r} must be > 1")
    rows = []
    for key, label in LABELS.items():
        a, b = paper.TABLE_2[key]["a"], paper.TABLE_2[key]["b"]
        rows.append({"law": label, "a": a, "b": b, "N growth": factor**a, "D growth": factor**b,
                     "tokens/param growth": factor ** (b - a)})
    return pd.DataFrame(rows).set_index("law")


def show_exponents(factor: float = 10.0):
    """:func:`exponent_table` as the page shows it."""
    t = exponent_table(factor).assign(**{"a + b": lambda d: d["a"] + d["b"]})
    times = f"{float(factor):g}×"
    return tables.table(
        t, index="law", columns=["law", "a", "b", "a + b", "N growth", "D growth", "tokens/param growth"],
        headers={"law": "law", "a": "a (N_opt ∝ C^a)", "b": "b (D_opt ∝ C^b)", "a + b": "a + b",
                 "N growth": f"N_opt grows by (× for {times} C)", "D growth": f"D_opt grows by (× for {times} C)",
                 "tokens/param growth": f"D/N changes by (× for {times} C)"},
        formats={"a": "f2", "b": "f2", "a + b": "f2", "N growth": "f2", "D growth": "f2",
                 "tokens/param growth": "f2"})


def allocation_curves(c_min: float, c_max: float, num: int = 50,
                      anchor: tuple[float, float] = (paper.CHINCHILLA["N"], paper.CHINCHILLA["D"])):
    """N_opt(C) and D_opt(C) for each law, every law passing through ``anchor`` = (N, D) at C = 6ND.

    Table 2 gives exponents only; anchoring all laws at one allocation isolates what the exponents do.
    """
    if not 0 < c_min < c_max:
        raise ReplicationError(f"need 0 < c_min < c_max, got c_min={c_min!r}, c_max={c_max!r}")
    n0, d0 = anchor
    c0 = 6 * n0 * d0
    c = np.logspace(np.log10(c_min), np.log10(c_max), num)
    curves = {}
    for key, label in LABELS.items():
        a, b = paper.TABLE_2[key]["a"], paper.TABLE_2[key]["b"]
        curves[label] = (n0 * (c / c0) ** a, d0 * (c / c0) ** b)
    return c, curves


def plot_allocation(c_min: float, c_max: float):
    """Log-log plot of N_opt(C) and D_opt(C) for Table 2's laws, all through Chinchilla's allocation."""
    import matplotlib.pyplot as plt

    c, curves = allocation_curves(c_min, c_max)
    anchor_c = 6 * paper.CHINCHILLA["N"] * paper.CHINCHILLA["D"]
    fig, (ax_n, ax_d) = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    every = max(1, len(c) // 8)
    for (key, label), (n, d) in zip(LABELS.items(), curves.values()):
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
    ax_n.legend(fontsize=8)
    ax_n.set_title("compute-optimal model size")
    ax_d.set_title("compute-optimal training tokens")
    fig.tight_layout()
    return fig


def glue_numbers(factor: float, c_min: float, c_max: float) -> dict:
    """Glue every number the chapter's prose and verdict quote (and return them)."""
    from myst_nb import glue

    t = exponent_table(factor)
    chin = t.loc[[LABELS[k] for k in ("approach1", "approach2", "approach3")]]
    kap = t.loc[LABELS["kaplan"]]
    sums = t["a"] + t["b"]
    a1, ak = paper.TABLE_2["approach1"], paper.TABLE_2["kaplan"]
    c0 = 6 * paper.CHINCHILLA["N"] * paper.CHINCHILLA["D"]
    per_decade = 10 ** (ak["a"] - a1["a"])
    edge = c_max / c0  # the plot's right edge, relative to the anchor
    v = {
        "gl_factor": float(factor),
        "gl_sum_lo": float(sums.min()), "gl_sum_hi": float(sums.max()),
        "gl_sums": (f"{sums.min():.2f}" if f"{sums.min():.2f}" == f"{sums.max():.2f}"
                    else f"{sums.min():.2f} to {sums.max():.2f}"),
        "gl_sum_verdict": "reproduced" if all(round(s, 2) == 1.0 for s in sums) else "differs",
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
    return v
