"""Approach 3's starting points by variable projection (VPNLS, after Open-Athena's idea).

L(N, D) = E + A/N^α + B/D^β is linear in (E, A, B) once (α, β) are fixed. So instead of 4,500
five-dimensional starts, search (α, β) on a grid and, at each grid point, solve for (E, A, B) by
non-negative least squares on the columns [1, N^-α, D^-β]. The paper's objective is a Huber loss
of log L residuals, not least squares in L, so the linear solve only ranks the grid: it is weighted
by 1/L² (a residual in L divided by L is, to first order, the residual in log L), every grid point's
solution is then scored by the true objective, and the best few distinct ones are polished by
L-BFGS on the true objective (:func:`replication.fit.approach3.fit_approach3` does the polish).

The non-negative least squares of three columns is solved exactly and for every grid point at once:
its solution is the unconstrained least-squares fit on some subset of the columns whose coefficients
are all positive, so the best such fit over the 7 subsets is it.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from replication.fit.objectives import huber_lse_objective

#: The exponent grid: 0.05 to 2.5 (the paper's starts span 0 to 2), fine enough that neighbouring
#: points differ by less than the width of a basin of the objective.
EXPONENTS = np.linspace(0.02, 2.5, 64)
#: The subsets of the columns (1, N^-α, D^-β) that may carry the non-negative solution.
_SUBSETS = [s for k in (1, 2, 3) for s in itertools.combinations(range(3), k)]


def nnls_grid(n, d, l, alphas=EXPONENTS, betas=EXPONENTS):
    """(E, A, B) by non-negative least squares weighted by 1/L², at every (α, β) of the grid:
    returns coef (α, β, 3) and the weighted residual sum of squares (α, β). n, d, l: log N, log D, log L."""
    L = np.exp(l)
    w = 1.0 / (L * L)
    Fa = np.exp(-np.outer(alphas, n))  # (α, points): N^-α
    Fb = np.exp(-np.outer(betas, d))  # (β, points): D^-β
    one = np.ones((1, 1))
    # The weighted Gram matrix and right-hand side of the 3 columns, per grid point, from products of
    # the per-exponent columns: G[i][j] (α, β) and r[i] (α, β).
    Wa, Wb = Fa * w, Fb * w
    g11 = w.sum() * one
    g12 = Wa.sum(1)[:, None] * np.ones((1, len(betas)))
    g13 = np.ones((len(alphas), 1)) * Wb.sum(1)[None, :]
    g22 = (Wa * Fa).sum(1)[:, None] * np.ones((1, len(betas)))
    g33 = np.ones((len(alphas), 1)) * (Wb * Fb).sum(1)[None, :]
    g23 = Wa @ Fb.T
    G = np.empty((len(alphas), len(betas), 3, 3))
    G[..., 0, 0], G[..., 1, 1], G[..., 2, 2] = g11, g22, g33
    G[..., 0, 1] = G[..., 1, 0] = g12
    G[..., 0, 2] = G[..., 2, 0] = g13
    G[..., 1, 2] = G[..., 2, 1] = g23
    r = np.stack([(w * L).sum() * np.ones((len(alphas), len(betas))),
                  (Wa @ L)[:, None] * np.ones((1, len(betas))), np.ones((len(alphas), 1)) * (Wb @ L)[None, :]], -1)
    yy = (w * L * L).sum()
    best_rss = np.full((len(alphas), len(betas)), np.inf)
    best = np.zeros((len(alphas), len(betas), 3))
    for cols in _SUBSETS:
        idx = np.array(cols)
        Gs = G[..., idx[:, None], idx[None, :]]
        rs = r[..., idx]
        with np.errstate(all="ignore"):
            try:
                c = np.linalg.solve(Gs, rs[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular subset somewhere: solve point by point
                c = np.stack([np.linalg.lstsq(g, v, rcond=None)[0] for g, v in
                              zip(Gs.reshape(-1, idx.size, idx.size), rs.reshape(-1, idx.size))]).reshape(rs.shape)
            rss = yy - 2 * (c * rs).sum(-1) + np.einsum("...i,...ij,...j->...", c, Gs, c)
        feasible = (c > 0).all(-1) & np.isfinite(rss) & (rss < best_rss)
        best_rss = np.where(feasible, rss, best_rss)
        full = np.zeros_like(best)
        full[..., idx] = c
        best = np.where(feasible[..., None], full, best)
    return best, best_rss


def vpnls_starts(n, d, l, delta: float = 1e-3, count: int = 8, alphas=EXPONENTS, betas=EXPONENTS) -> np.ndarray:
    """The ``count`` grid points whose non-negative least-squares (E, A, B) score best on the true
    objective (Huber_δ of log residuals), as θ = (log A, log B, log E, α, β), one per row, each a
    local minimum of the score over its grid neighbours (so that they lie in distinct basins)."""
    coef, _ = nnls_grid(n, d, l, alphas, betas)
    al, be = np.meshgrid(alphas, betas, indexing="ij")
    # a coefficient the non-negative solution put at 0 is a term absent from the surface; the
    # objective's parametrisation (logs) needs it positive, so it starts tiny and may grow
    tiny = 1e-12 * np.exp(l).min()
    E, A, B = (np.maximum(coef[..., i], tiny) for i in range(3))
    theta = np.stack([np.log(A), np.log(B), np.log(E), al, be], -1).reshape(-1, 5)
    with np.errstate(all="ignore"):
        score = huber_lse_objective(theta, n, d, l, delta)[0].reshape(al.shape)
    score = np.where(np.isfinite(score), score, np.inf)
    padded = np.pad(score, 1, constant_values=np.inf)
    neighbours = np.min([padded[1 + i:padded.shape[0] - 1 + i, 1 + j:padded.shape[1] - 1 + j]
                         for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)], axis=0)
    local = score <= neighbours
    order = np.argsort(np.where(local, score, np.inf), axis=None)
    chosen = [k for k in order[:count] if math.isfinite(score.ravel()[k])]
    if len(chosen) < count:  # fewer local minima than asked: fill with the best of the rest
        rest = [k for k in np.argsort(score, axis=None) if k not in chosen]
        chosen += rest[:count - len(chosen)]
    return theta[np.array(chosen)]
