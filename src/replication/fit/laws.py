"""Compute-optimal scaling laws N_opt = k_N·C^a and D_opt = k_D·C^b.

The Chinchilla paper prints exponents (Table 2) and tables of optimal sizes per budget (Tables 3
and A3), but no prefactors. Following Krasser (2023) we fix the exponents and fit only k_N and k_D
to the printed tables. Two fits are offered because they weight the rows differently:

- ``space="linear"`` minimises Σ (y − k·C^a)², as Krasser did. The largest budgets dominate.
- ``space="log"`` minimises Σ (log y − log k − a·log C)², which weighs every row equally:
  k = exp(mean(log y − a·log C)), the geometric mean of y / C^a.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replication.errors import ReplicationError


@dataclass(frozen=True)
class ScalingLaw:
    """N_opt = k_n·C^a parameters and D_opt = k_d·C^b tokens for a budget of C FLOPs."""

    k_n: float
    a: float
    k_d: float
    b: float

    def n_opt(self, C):
        return self.k_n * np.asarray(C, dtype=float) ** self.a

    def d_opt(self, C):
        return self.k_d * np.asarray(C, dtype=float) ** self.b

    def tokens_per_param(self, C):
        return self.d_opt(C) / self.n_opt(C)

    def __str__(self) -> str:
        return f"N_opt = {self.k_n:.4f} * C^{self.a:.2f}, D_opt = {self.k_d:.4f} * C^{self.b:.2f}"


def _positive_1d(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 0:
        raise ReplicationError(f"{name} is empty; need at least 1 value")
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ReplicationError(f"{name} must be finite and > 0; allowed: (0, inf)")
    return x


def fit_prefactor(C, y, exponent: float, space: str = "linear") -> float:
    """The k in y = k·C^exponent with the exponent held fixed.

    linear: argmin_k Σ (y − k·C^a)² = Σ y·C^a / Σ C^{2a}.  log: exp(mean(log y − a·log C)).
    """
    C = _positive_1d("C", C)
    y = _positive_1d("y", y)
    if C.shape != y.shape:
        raise ReplicationError(f"C and y must have the same length; got {C.size} and {y.size}")
    if space == "linear":
        # Work with C/C_max to keep C^{2a} inside float range for any exponent.
        scale = C.max()
        u = (C / scale) ** exponent
        return float((y * u).sum() / (u * u).sum() / scale**exponent)
    if space == "log":
        return float(np.exp(np.mean(np.log(y) - exponent * np.log(C))))
    raise ReplicationError(f"space={space!r}; allowed: 'linear', 'log'")


def fit_scaling_law(C, N, D, a: float, b: float, space: str = "linear") -> ScalingLaw:
    """Fit k_N and k_D with the exponents a and b held fixed."""
    return ScalingLaw(
        k_n=fit_prefactor(C, N, a, space), a=a, k_d=fit_prefactor(C, D, b, space), b=b
    )


def chinchilla_law(approach: int, space: str = "linear") -> ScalingLaw:
    """The law implied by the paper's table for Approach 1 (Table 3) or 2 (Table A3).

    With the default linear fit these are Krasser's 0.0877/1.8960 and 0.1448/1.1519.
    """
    from replication.sources.chinchilla import TABLE_2, TABLE_3, TABLE_A3

    if approach == 1:
        t = TABLE_3
        return fit_scaling_law(t["C"], t["N"], t["D"], TABLE_2["approach1"]["a"],
                               TABLE_2["approach1"]["b"], space)
    if approach == 2:
        t = TABLE_A3
        return fit_scaling_law(t["approach2_C"], t["N"], t["approach2_D"],
                               TABLE_2["approach2"]["a"], TABLE_2["approach2"]["b"], space)
    raise ReplicationError(f"approach={approach!r}; allowed: 1, 2")
