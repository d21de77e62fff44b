"""Compute-optimal scaling laws N_opt = k_N·C^a and D_opt = k_D·C^b, and the fits that give them.

The Chinchilla paper prints exponents (Table 2) and tables of optimal sizes per budget (Tables 3
and A3), but no prefactors. Following Krasser (2023) we fix the exponents and fit only k_N and k_D
to the printed tables. Two fits are offered because they weight the rows differently:

- ``space="linear"`` minimises Σ (y − k·C^a)², as Krasser did. The largest budgets dominate.
- ``space="log"`` minimises Σ (log y − log k − a·log C)², which weighs every row equally:
  k = exp(mean(log y − a·log C)), the geometric mean of y / C^a.

With the exponents free, :func:`fit_power_law` and :func:`fit_compute_optimal` fit log y = log k +
a·log C by least squares, with bootstrap intervals; Approaches 1 and 2 end with them.

What Table 2's exponents imply on their own: :func:`growth_table` (N_opt and D_opt when compute grows by a
factor), :func:`anchored_allocation` (every law through one allocation) and :func:`table2_verdict` (each
pair sums to one, as C ≈ 6ND requires).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_range
from replication.fit.bootstrap import check_resamples, run_bootstrap
from replication.fit.observations import need_points, need_variation, positive
from replication.fit.result import CONVERGED, FitResult
from replication.papers.chinchilla import CHINCHILLA, TABLE_2, TABLE_3, TABLE_A3
from replication.verdict import DIFFERS, HOLDS, Verdict

#: Table 2's rows: the paper's three approaches, and Kaplan et al. (2020)
TABLE2_LAWS = ("approach1", "approach2", "approach3", "kaplan")


def _budget(C) -> np.ndarray:
    """``C`` as a float array of compute budgets, all finite and > 0: a law has nothing to say of others."""
    C = np.asarray(C, dtype=float)
    bad = ~(np.isfinite(C) & (C > 0))
    if bad.any():
        raise ReplicationError(f"budget C={float(C[bad].flat[0])!r} is out of range; allowed: (0, inf) FLOPs")
    return C


@dataclass(frozen=True)
class ScalingLaw:
    """N_opt = k_N·C^a parameters and D_opt = k_D·C^b tokens for a budget of C FLOPs."""

    k_N: float
    a: float
    k_D: float
    b: float

    def n_opt(self, C):
        return self.k_N * _budget(C) ** self.a

    def d_opt(self, C):
        return self.k_D * _budget(C) ** self.b

    def tokens_per_param(self, C):
        return self.d_opt(C) / self.n_opt(C)

    def __str__(self) -> str:
        return f"N_opt = {self.k_N:.4f} * C^{self.a:.2f}, D_opt = {self.k_D:.4f} * C^{self.b:.2f}"


# ----------------------------------------------------------------------------------------------
# fixed exponents


def fit_prefactor(C, y, exponent: float, space: str = "linear") -> float:
    """The k in y = k·C^exponent with the exponent held fixed.

    linear: argmin_k Σ (y − k·C^a)² = Σ y·C^a / Σ C^{2a}.  log: exp(mean(log y − a·log C)).
    """
    C = positive("C", C)
    y = positive("y", y, C.size, like="C")
    need_points("a prefactor fit", C.size, 1)
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
    return ScalingLaw(k_N=fit_prefactor(C, N, a, space), a=a, k_D=fit_prefactor(C, D, b, space), b=b)


def chinchilla_law(approach: int, space: str = "linear") -> ScalingLaw:
    """The law implied by the paper's table for Approach 1 (Table 3) or 2 (Table A3).

    With the default linear fit these are Krasser's 0.0877/1.8960 and 0.1448/1.1519.
    """
    if approach == 1:
        t = TABLE_3
        return fit_scaling_law(t["C"], t["N"], t["D"], TABLE_2["approach1"]["a"], TABLE_2["approach1"]["b"], space)
    if approach == 2:
        t = TABLE_A3
        return fit_scaling_law(t["approach2_C"], t["N"], t["approach2_D"],
                               TABLE_2["approach2"]["a"], TABLE_2["approach2"]["b"], space)
    raise ReplicationError(f"approach={approach!r}; allowed: 1, 2")


def fit_prefactors(C, N, D, a: float, b: float, *, space: str = "linear") -> FitResult:
    """:func:`fit_scaling_law` as a :class:`FitResult`, with its residual objective."""
    C = positive("C", C)
    N, D = positive("N", N, C.size, like="C"), positive("D", D, C.size, like="C")
    need_points("a prefactor fit", C.size, 1)
    # One budget determines k_N and k_D with the exponents fixed, so one row is a fit; many copies of one row
    # are not more rows (a fill-down export error, reported as a perfect fit on n points).
    if C.size > 1 and np.ptp(C) == 0 and np.ptp(N) == 0 and np.ptp(D) == 0:
        raise ReplicationError(f"all {C.size} rows are the same point (C={C[0]:g}, N={N[0]:g}, D={D[0]:g}); "
                               "a prefactor fit needs one row per budget: C, N and D of different runs")
    check_range("a", a, 0, 2)
    check_range("b", b, 0, 2)
    law = fit_scaling_law(C, N, D, a, b, space)
    if space == "linear":
        fun = float(((N - law.n_opt(C)) ** 2).sum() / (N**2).sum() + ((D - law.d_opt(C)) ** 2).sum() / (D**2).sum())
        objective = "relative residual sum of squares, N and D added (linear space)"
    else:
        fun = float((np.log(N / law.n_opt(C)) ** 2).sum() + (np.log(D / law.d_opt(C)) ** 2).sum())
        objective = "sum of squared log residuals, N and D added"
    params = {"k_N": law.k_N, "a": a, "k_D": law.k_D, "b": b}
    return FitResult(
        method="prefactors", title=f"fixed-exponent prefactors ({space} least squares)", params=params,
        x=list(params.values()), fun=fun, objective=objective, status=CONVERGED, message="closed form",
        n_points=int(C.size), options={"space": space}, law=law,
    )


# ----------------------------------------------------------------------------------------------
# free exponents


def ols_loglog(logC: np.ndarray, logY: np.ndarray):
    """Slope and intercept of logY = i + s·logC, for a batch (rows) or one series."""
    xm = logC.mean(-1, keepdims=True)
    ym = logY.mean(-1, keepdims=True)
    sxx = ((logC - xm) ** 2).sum(-1)
    sxy = ((logC - xm) * (logY - ym)).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
    return slope, ym[..., 0] - slope * xm[..., 0]


def fit_power_law(C, y, *, bootstrap: int = 0, ci: tuple[float, float] = (10, 90), seed: int = 0,
                  name: str = "y") -> FitResult:
    """log y = log k + a·log C by ordinary least squares, with a bootstrap over rows."""
    bootstrap = check_resamples(bootstrap)
    C = positive("C", C)
    y = positive(name, y, C.size, like="C")
    need_points("a power law", C.size, 2)
    lc, ly = np.log(C), np.log(y)
    if np.ptp(lc) == 0:
        raise ReplicationError("C must take at least 2 distinct values to fit an exponent")
    need_variation(f"a power law {name} = k·C^a would fit a = 0 exactly: the optimal {name} must change with "
                   "the budget C", **{name: y})
    a, logk = ols_loglog(lc, ly)
    resid = ly - (logk + a * lc)
    params = {"k": float(np.exp(logk)), "a": float(a)}
    interval = None
    if bootstrap:
        need_points("a bootstrapped power law", C.size, 3)

        def refit(idx):
            sa, si = ols_loglog(lc[idx], ly[idx])
            ok = np.isfinite(sa)  # a resample with one distinct C has no slope
            return np.c_[np.exp(si[ok]), sa[ok]]

        interval = run_bootstrap(refit, C.size, bootstrap, names=("k", "a"), seed=seed, ci=ci).interval()
    return FitResult(
        method="power-law", title=f"power law {name} = k·C^a (least squares in log space)",
        params=params, x=list(params.values()), ci=interval, fun=float((resid**2).sum()),
        objective="sum of squared log residuals", status=CONVERGED, message="closed form",
        n_points=int(C.size), options={"bootstrap": bootstrap, "ci_percentiles": ci, "seed": seed},
    )


def fit_compute_optimal(C, N, D, *, bootstrap: int = 0, ci=(10, 90), seed: int = 0) -> FitResult:
    """Free exponents a and b for N_opt(C) and D_opt(C), bootstrapped over the same rows."""
    rn = fit_power_law(C, N, bootstrap=bootstrap, ci=ci, seed=seed, name="N")
    rd = fit_power_law(C, D, bootstrap=bootstrap, ci=ci, seed=seed, name="D")
    law = ScalingLaw(k_N=rn["k"], a=rn["a"], k_D=rd["k"], b=rd["a"])
    params = {"k_N": law.k_N, "a": law.a, "k_D": law.k_D, "b": law.b}
    interval = None
    if bootstrap:
        interval = {"k_N": rn.ci["k"], "a": rn.ci["a"], "k_D": rd.ci["k"], "b": rd.ci["a"]}
    return FitResult(
        method="compute-optimal", title="free power laws N_opt = k_N·C^a, D_opt = k_D·C^b",
        params=params, x=list(params.values()), ci=interval, fun=rn.fun + rd.fun,
        objective="sum of squared log residuals, both laws", status=CONVERGED, message="closed form",
        n_points=rn.n_points, options=rn.options, law=law,
    )


# ----------------------------------------------------------------------------------------------
# what Table 2's exponents imply


def growth_table(factor: float = 10.0) -> pd.DataFrame:
    """Table 2's exponents (index: :data:`TABLE2_LAWS`), their sum, and how N_opt, D_opt and tokens per
    parameter grow when compute grows by ``factor``."""
    factor = check_range("factor", factor, 1, None, lo_open=True)
    rows = {}
    for key in TABLE2_LAWS:
        a, b = TABLE_2[key]["a"], TABLE_2[key]["b"]
        rows[key] = {"a": a, "b": b, "a + b": a + b, "N growth": factor**a, "D growth": factor**b,
                     "tokens/param growth": factor ** (b - a)}
    return pd.DataFrame(rows).T.rename_axis("law")


def anchored_allocation(c_min: float, c_max: float, num: int = 50, anchor=(CHINCHILLA["N"], CHINCHILLA["D"])):
    """N_opt(C) and D_opt(C) of each law of Table 2 (key -> (N, D) arrays) over ``num`` log-spaced budgets
    from ``c_min`` to ``c_max``, every law through ``anchor`` = (N, D) at C = 6ND: Table 2 gives exponents
    only, and one anchor isolates what the exponents do."""
    if not 0 < c_min < c_max:
        raise ReplicationError(f"need 0 < c_min < c_max, got c_min={c_min!r}, c_max={c_max!r}")
    n0, d0 = anchor
    c0 = 6 * n0 * d0
    c = np.logspace(np.log10(c_min), np.log10(c_max), num)
    return c, {key: (n0 * (c / c0) ** TABLE_2[key]["a"], d0 * (c / c0) ** TABLE_2[key]["b"]) for key in TABLE2_LAWS}


def table2_verdict(factor: float = 10.0) -> Verdict:
    """The paper's conclusion from Table 2, that N and D should grow in equal proportion, checked on the
    exponents themselves: *holds* when every row's a + b is 1 to the printed two decimals, as C ≈ 6ND
    requires (whatever share of a larger budget does not go into parameters goes into tokens)."""
    t = growth_table(factor)
    holds = bool((t["a + b"].round(2) == 1.0).all())
    sums = sorted({f"{x:.2f}" for x in t["a + b"]})
    t = t.loc[["approach1", "approach2", "approach3"]]
    return Verdict(
        claim="Table 2: by all three approaches, model size and training tokens should grow in equal proportion.",
        outcome=HOLDS if holds else DIFFERS, test="arithmetic on Table 2's exponents", paper=0.5,
        finding=(f"Each pair sums to {' to '.join(sums[::max(1, len(sums) - 1)])}; {factor:g} times the compute "
                 f"grows $N_{{opt}}$ {t['N growth'].min():.2f} to {t['N growth'].max():.2f} times and $D_{{opt}}$ "
                 f"{t['D growth'].min():.2f} to {t['D growth'].max():.2f} times."))
