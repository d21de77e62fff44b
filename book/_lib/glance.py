"""Scaling laws at a glance: what Table 2's exponents imply for allocating compute."""
from __future__ import annotations

import numpy as np
import pandas as pd

from replication.sources import chinchilla as paper
from replication.errors import ReplicationError

LABELS = {
    "approach1": "Approach 1 (training curves)",
    "approach2": "Approach 2 (IsoFLOP)",
    "approach3": "Approach 3 (parametric)",
    "kaplan": "Kaplan et al. (2020)",
}


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
    """Log-log plot of N_opt(C) and D_opt(C) for Table 2's laws."""
    import matplotlib.pyplot as plt

    c, curves = allocation_curves(c_min, c_max)
    fig, (ax_n, ax_d) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    for label, (n, d) in curves.items():
        style = "--" if label.startswith("Kaplan") else "-"
        ax_n.loglog(c, n, style, label=label)
        ax_d.loglog(c, d, style, label=label)
    for ax, what in ((ax_n, "$N_{opt}$ (parameters)"), (ax_d, "$D_{opt}$ (tokens)")):
        ax.axvline(paper.GOPHER_FLOPS, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("training compute $C$ (FLOPs)")
        ax.set_ylabel(what)
        ax.grid(True, which="major", alpha=0.3)
    ax_n.legend(fontsize=8)
    ax_n.set_title("compute-optimal model size")
    ax_d.set_title("compute-optimal training tokens")
    fig.tight_layout()
    return fig
