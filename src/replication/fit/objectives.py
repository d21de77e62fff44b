"""Approach 3's objectives, batched, and the paper's grid of starts.

θ = (log A, log B, log E, α, β), so that log L̂ = LSE(log A − α·log N, log B − β·log D, log E).
Every function takes a batch of θ as rows, so that thousands of L-BFGS runs advance together.
``n``, ``d``, ``l`` (log N, log D, log loss) are one shared row of points or, for a bootstrap, one
row of resampled points per θ.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf

from replication.errors import ReplicationError, check_int, check_range

#: The constants of L(N, D) = E + A/N^α + B/D^β, in θ's order.
PARAM_NAMES = ("A", "B", "E", "alpha", "beta")


def huber(r, delta: float):
    """Huber's ρ_δ: r²/2 inside ±δ, linear outside."""
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def log_model(theta: np.ndarray, n, d):
    """LSE terms of the batch: (log L̂, softmax weights w1, w2, w3), each (rows, points); ``n`` and ``d``
    are float arrays of one shape (points,) or (rows, points)."""
    a, b, e, al, be = (theta[:, i, None] for i in range(5))
    # in place, in the order of the plain expressions (the same floats): a fit calls this thousands of
    # times on (rows, points) arrays, and fresh temporaries of that size cost a third of its time
    u1 = al * n
    np.subtract(a, u1, out=u1)
    u2 = be * d
    np.subtract(b, u2, out=u2)
    m = np.maximum(u1, u2)
    np.maximum(m, e, out=m)
    w1 = np.exp(np.subtract(u1, m, out=u1), out=u1)
    w2 = np.exp(np.subtract(u2, m, out=u2), out=u2)
    w3 = np.exp(e - m)
    s = w1 + w2
    s += w3
    lse = np.log(s)
    lse += m
    w1 /= s
    w2 /= s
    w3 /= s
    return lse, w1, w2, w3


def _rowdot(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_j x[r, j]·v[j] (shared points, a BLAS matvec) or Σ_j x[r, j]·v[r, j] (per-row points)."""
    return x @ v if v.ndim == 1 else np.einsum("rj,rj->r", x, v)


def _grad_theta(c: np.ndarray, w1, w2, w3, n, d) -> np.ndarray:
    """Σ_points c·∂LSE/∂θ for each row: the chain rule through the softmax weights."""
    c1, c2 = c * w1, c * w2
    return np.stack([c1.sum(1), c2.sum(1), (c * w3).sum(1), -_rowdot(c1, n), -_rowdot(c2, d)], axis=1)


def wsum(x: np.ndarray, weights=None) -> np.ndarray:
    """Σ over points of x (rows, points), each point counted ``weights`` times (None: once)."""
    return x.sum(1) if weights is None else (x * weights).sum(1)


def huber_lse_objective(theta, n, d, l, delta: float = 1e-3, weights=None):
    """Chinchilla's objective Σ_i Huber_δ(LSE_i(θ) − log L_i) and its gradient, for a batch of θ.

    ``weights`` (rows, points): how often each point enters each row's sum (a cluster bootstrap's
    counts); None counts every point once."""
    theta = np.atleast_2d(theta)
    lse, w1, w2, w3 = log_model(theta, n, d)
    r = lse - l
    f = wsum(huber(r, delta), weights)
    c = np.clip(r, -delta, delta)
    return f, _grad_theta(c if weights is None else c * weights, w1, w2, w3, n, d)


def _huber_log_norm(delta: float) -> float:
    """log ∫ exp(−ρ_δ(u)) du: the normaliser of the unit-scale Huber density."""
    z = math.sqrt(2 * math.pi) * erf(delta / math.sqrt(2)) + 2 * math.exp(-0.5 * delta * delta) / delta
    return math.log(z)


def huber_nll_objective(phi, n, d, l, delta: float = 1e-3, weights=None):
    """Negative log-likelihood of log L = LSE(θ) + σ·ε, ε ~ Huber_δ density; φ = (θ, log σ).

    This is Besiroglu et al. (2024)'s estimator: the scale σ is a free parameter, so the weight of
    the quadratic core is learned rather than fixed by δ. ``weights``: as for :func:`huber_lse_objective`.
    """
    phi = np.atleast_2d(phi)
    lse, w1, w2, w3 = log_model(phi[:, :5], n, d)
    inv_sigma = np.exp(-phi[:, 5:6])
    u = (lse - l) * inv_sigma
    npts = u.shape[1] if weights is None else weights.sum(1)
    f = wsum(huber(u, delta), weights) + npts * (phi[:, 5] + _huber_log_norm(delta))
    psi = np.clip(u, -delta, delta)  # ρ'(u)
    g = np.empty_like(phi)
    g[:, :5] = _grad_theta(psi * inv_sigma if weights is None else psi * inv_sigma * weights, w1, w2, w3, n, d)
    g[:, 5] = npts - wsum(psi * u, weights)
    return f, g


def chinchilla_grid() -> np.ndarray:
    """The paper's 4,500 initialisations of θ: log A, log B ∈ {0, 5, …, 25}, log E ∈ {−1, −.5, …, 1},
    α, β ∈ {0, .5, …, 2}."""
    alpha = beta = np.arange(0, 2.01, 0.5)
    e = np.arange(-1, 1.01, 0.5)
    a = b = np.arange(0, 25.1, 5)
    return np.stack(np.meshgrid(a, b, e, alpha, beta, indexing="ij"), -1).reshape(-1, 5)


def start_grid(grid, seed: int = 0) -> np.ndarray:
    """The paper's grid ("chinchilla" or None), a random subset of k of its points (k an int, or its
    digits as a string, as a chapter parameter whose default is "chinchilla" must write it), or an
    explicit (k, 5) array of θ."""
    full = chinchilla_grid()
    if grid is None or (isinstance(grid, str) and grid == "chinchilla"):
        return full
    if isinstance(grid, str) and grid.strip().isdigit():
        grid = int(grid)
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        check_range("grid", int(grid), 1, len(full))
        return full[np.random.default_rng(check_int("seed", seed, 0)).choice(len(full), int(grid), replace=False)]
    allowed = (f"grid={grid!r} is not allowed; allowed: 'chinchilla', a number of starts in [1, {len(full)}], "
               "or a finite (k, 5) array of (a, b, e, alpha, beta)")
    try:
        g = np.asarray(grid, dtype=float) if not isinstance(grid, (str, bool)) else None
    except (TypeError, ValueError):
        g = None
    if g is None or g.ndim != 2 or g.shape[1] != 5 or not np.isfinite(g).all():
        raise ReplicationError(allowed)
    return g


def theta_to_params(theta) -> dict[str, float]:
    """{A, B, E, alpha, beta} from θ = (log A, log B, log E, α, β)."""
    a, b, e, al, be = (float(v) for v in theta[:5])
    return {"A": math.exp(a), "B": math.exp(b), "E": math.exp(e), "alpha": al, "beta": be}


def params_to_theta(p) -> np.ndarray:
    """θ = (log A, log B, log E, α, β) from a mapping with keys A, B, E, alpha, beta."""
    return np.array([math.log(p["A"]), math.log(p["B"]), math.log(p["E"]), p["alpha"], p["beta"]])
