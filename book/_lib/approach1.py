"""Approach 1's figure: training curves and the envelope over them (also shown by the study chapter)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from replication.fit import FitResult, ScalingLaw, observations


def plot_envelope(data, result: FitResult, truth: ScalingLaw | None = None):
    """Left: the training curves against FLOPs. Right: the run on the envelope over each FLOP range
    (one segment per stretch), the fitted N_opt(C) law and, if given, the true one."""
    N, D, loss, C = observations(data)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.scatter(C, loss, s=0.5, c=np.log10(N), cmap="viridis")
    ax1.set_xscale("log")
    ax1.set_xlabel("training FLOPs C")
    ax1.set_ylabel("loss")
    ax1.set_title("training curves (colour: model size)")
    seg = result.table
    ax2.hlines(seg["N"], seg["C_from"], seg["C_to"], lw=3, color="tab:blue", label="run on the envelope")
    cs = np.logspace(np.log10(seg["C_from"].min()), np.log10(seg["C_to"].max()), 50)
    ax2.plot(cs, result.law.n_opt(cs), "k-", lw=1, label=f"fit: N_opt ∝ C^{result.law.a:.3f}")
    if truth is not None:
        ax2.plot(cs, truth.n_opt(cs), "r--", lw=1, label=f"truth: N_opt ∝ C^{truth.a:.3f}")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("training FLOPs C")
    ax2.set_ylabel("N_opt")
    ax2.legend(fontsize=8)
    return fig
