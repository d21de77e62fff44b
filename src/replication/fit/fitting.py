"""Fitting scaling laws: the three Chinchilla approaches and their building blocks.

Every fitter takes plain arrays (or a DataFrame with columns ``N``, ``D``, ``loss`` and optionally
``C``; C defaults to 6·N·D) and returns a :class:`FitResult` that prints like a scipy result.

- :func:`fit_prefactors`: N_opt = k_N·C^a, D_opt = k_D·C^b with a and b fixed (Krasser 2023).
- :func:`fit_power_law` / :func:`fit_compute_optimal`: log y = log k + a·log C, free exponent,
  bootstrap intervals.
- :func:`fit_approach1`: lower envelope of training curves on a log-spaced FLOP grid.
- :func:`fit_approach2`: one parabola per IsoFLOP budget; the vertices give N*(C) and D*(C).
- :func:`fit_approach3`: L(N, D) = E + A/N^α + B/D^β, by Chinchilla's Huber-LSE objective over a
  grid of 4,500 starts, or by Besiroglu et al.'s Huber likelihood; bootstrap intervals.
- :func:`frontier`: the compute-optimal allocation that a fitted L(N, D) implies, in closed form.

Approach 3 is fast because the 4,500 L-BFGS runs are advanced together, as one batch of arrays,
with analytic gradients (see :func:`_lbfgs_batch`); the best few are polished with scipy.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from replication.errors import ReplicationError, check_range
from replication.fit.laws import ScalingLaw, fit_prefactor

# ----------------------------------------------------------------------------------------------
# results


@dataclass
class FitResult:
    """What a fit found, and how. Prints like a scipy ``OptimizeResult``, with a parameter table.

    ``params`` are the estimates; ``ci`` maps a parameter to its (lo, hi) bootstrap percentile
    interval (10th/90th by default, as in the paper's Table 2) when a bootstrap was run. ``fun`` is
    the objective at the estimate, described by ``objective``. ``law`` is the implied
    compute-optimal :class:`~replication.fit.laws.ScalingLaw`, where there is one.
    """

    method: str
    params: dict[str, float]
    fun: float
    objective: str
    success: bool
    message: str
    n_points: int
    options: dict = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] | None = None
    law: ScalingLaw | None = None
    details: dict = field(default_factory=dict)
    table: object = None  # a DataFrame of intermediate results (vertices, envelope segments)

    def __getitem__(self, name: str) -> float:
        return self.params[name]

    @property
    def x(self) -> np.ndarray:
        return np.array(list(self.params.values()))

    def to_dict(self) -> dict:
        out = {
            "method": self.method,
            "params": dict(self.params),
            "ci": None if self.ci is None else {k: list(v) for k, v in self.ci.items()},
            "fun": self.fun,
            "objective": self.objective,
            "success": self.success,
            "message": self.message,
            "n_points": self.n_points,
            "options": dict(self.options),
        }
        if self.law is not None:
            out["law"] = {"k_n": self.law.k_n, "a": self.law.a, "k_d": self.law.k_d, "b": self.law.b}
        out["details"] = {k: v for k, v in self.details.items() if _jsonable(v)}
        if self.table is not None:
            out["table"] = json.loads(self.table.to_json(orient="records"))
        return out

    def __str__(self) -> str:
        lines = [f"{self.method} on {self.n_points} points"]
        head = f"  {'parameter':<10} {'estimate':>12}"
        if self.ci:
            lo_q, hi_q = self.options.get("ci_percentiles", (10, 90))
            head += f" {f'p{lo_q:g}':>12} {f'p{hi_q:g}':>12}"
        lines.append(head)
        for name, value in self.params.items():
            row = f"  {name:<10} {_fmt(value):>12}"
            if self.ci and name in self.ci:
                lo, hi = self.ci[name]
                row += f" {_fmt(lo):>12} {_fmt(hi):>12}"
            lines.append(row)
        if self.law is not None:
            lines.append(f"  law        {self.law}")
        width = max(len(k) for k in ("objective", "success", "message", "options", *self.details))
        fields = {"objective": f"{self.fun:.10g}  ({self.objective})", "success": self.success,
                  "message": self.message}
        fields.update({k: v for k, v in self.details.items() if not isinstance(v, np.ndarray)})
        fields["options"] = ", ".join(f"{k}={v}" for k, v in self.options.items())
        lines += [f"  {k:>{width}}: {v}" for k, v in fields.items()]
        if self.table is not None and len(self.table):
            body = self.table if len(self.table) <= 30 else self.table.iloc[list(range(10)) + list(range(-10, 0))]
            lines.append("  " + body.to_string(float_format=_fmt).replace("\n", "\n  "))
            if len(self.table) > 30:
                lines.append(f"  ({len(self.table)} rows; first and last 10 shown)")
        return "\n".join(lines)

    __repr__ = __str__


def _fmt(v: float) -> str:
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.4e}"
    return f"{v:.5g}"


def _jsonable(v) -> bool:
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False


# ----------------------------------------------------------------------------------------------
# input handling


def _column(data, name: str, *, required: bool = True):
    if data is None or name not in data:
        if required:
            raise ReplicationError(f"data is missing column {name!r}; need columns N, D, loss (C optional)")
        return None
    return data[name]


def _positive(name: str, x, n: int | None = None) -> np.ndarray:
    try:
        x = np.asarray(x, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ReplicationError(f"{name} must be numeric; allowed: finite values > 0") from None
    if n is not None and x.size != n:
        raise ReplicationError(f"{name} has {x.size} values but N has {n}; all columns must have the same length")
    if np.isnan(x).any():
        raise ReplicationError(f"{name} contains NaN at row {int(np.flatnonzero(np.isnan(x))[0])}; allowed: finite values > 0")
    bad = ~np.isfinite(x) | (x <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ReplicationError(f"{name}[{i}]={float(x[i])!r} is out of range; allowed: (0, inf)")
    return x


def _need_points(what: str, n: int, k: int):
    if n < k:
        raise ReplicationError(f"{what} needs at least {k} points; got {n}")


def observations(data=None, *, N=None, D=None, loss=None, C=None, need_loss=True):
    """(N, D, loss, C) as validated float arrays, from a DataFrame/dict or from keyword arrays.

    C defaults to 6·N·D; D may be omitted when C is given (D = C / 6N).
    """
    if data is not None:
        N = _column(data, "N")
        D = _column(data, "D", required=_column(data, "C", required=False) is None)
        loss = _column(data, "loss", required=need_loss)
        C = _column(data, "C", required=False)
    if N is None:
        raise ReplicationError("N is required (parameters)")
    N = _positive("N", N)
    C = None if C is None else _positive("C", C, N.size)
    if D is None:
        if C is None:
            raise ReplicationError("need D (tokens) or C (FLOPs)")
        D = C / (6 * N)
    D = _positive("D", D, N.size)
    C = 6 * N * D if C is None else C
    loss = None if loss is None else _positive("loss", loss, N.size)
    if need_loss and loss is None:
        raise ReplicationError("loss is required")
    return N, D, loss, C


def read_csv(path: str):
    """A CSV as a DataFrame, with a one-line error if it cannot be read."""
    import pandas as pd

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ReplicationError(f"--data {path!r}: no such file") from None
    except Exception as err:  # a parser error is one line for the user, whatever its kind
        raise ReplicationError(f"--data {path!r}: cannot read as CSV ({type(err).__name__}: {err})") from None


# ----------------------------------------------------------------------------------------------
# power laws


def _percentiles(samples: np.ndarray, q: tuple[float, float]) -> np.ndarray:
    return np.percentile(samples, q, axis=0)


def _ols_loglog(logC: np.ndarray, logY: np.ndarray):
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
    C = _positive("C", C)
    y = _positive(name, y, C.size)
    _need_points("a power law", C.size, 2)
    lc, ly = np.log(C), np.log(y)
    if np.ptp(lc) == 0:
        raise ReplicationError("C must take at least 2 distinct values to fit an exponent")
    a, logk = _ols_loglog(lc, ly)
    resid = ly - (logk + a * lc)
    params = {"k": float(np.exp(logk)), "a": float(a)}
    interval = None
    if bootstrap:
        check_range("bootstrap", bootstrap, 2, 1_000_000)
        _need_points("a bootstrapped power law", C.size, 3)
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, C.size, size=(bootstrap, C.size))
        sa, si = _ols_loglog(lc[idx], ly[idx])
        ok = np.isfinite(sa)  # a resample with one distinct C has no slope
        lo, hi = _percentiles(np.c_[np.exp(si[ok]), sa[ok]], ci)
        interval = {"k": (float(lo[0]), float(hi[0])), "a": (float(lo[1]), float(hi[1]))}
    return FitResult(
        method=f"power law {name} = k·C^a (least squares in log space)",
        params=params, ci=interval, fun=float((resid**2).sum()),
        objective="sum of squared log residuals", success=True, message="closed form",
        n_points=int(C.size), options={"bootstrap": bootstrap, "ci_percentiles": ci, "seed": seed},
    )


def fit_compute_optimal(C, N, D, *, bootstrap: int = 0, ci=(10, 90), seed: int = 0,
                        method: str = "free power laws N_opt = k_N·C^a, D_opt = k_D·C^b") -> FitResult:
    """Free exponents a and b for N_opt(C) and D_opt(C), bootstrapped over the same rows."""
    rn = fit_power_law(C, N, bootstrap=bootstrap, ci=ci, seed=seed, name="N")
    rd = fit_power_law(C, D, bootstrap=bootstrap, ci=ci, seed=seed, name="D")
    law = ScalingLaw(k_n=rn["k"], a=rn["a"], k_d=rd["k"], b=rd["a"])
    params = {"k_N": law.k_n, "a": law.a, "k_D": law.k_d, "b": law.b}
    interval = None
    if bootstrap:
        interval = {"k_N": rn.ci["k"], "a": rn.ci["a"], "k_D": rd.ci["k"], "b": rd.ci["a"]}
    return FitResult(
        method=method, params=params, ci=interval, fun=rn.fun + rd.fun,
        objective="sum of squared log residuals, both laws", success=True, message="closed form",
        n_points=rn.n_points, options=rn.options, law=law,
    )


def fit_prefactors(C, N, D, a: float, b: float, *, space: str = "linear") -> FitResult:
    """k_N and k_D with the exponents fixed (Krasser 2023); see :mod:`replication.fit.laws`."""
    C = _positive("C", C)
    N, D = _positive("N", N, C.size), _positive("D", D, C.size)
    _need_points("a prefactor fit", C.size, 1)
    check_range("a", a, 0, 2)
    check_range("b", b, 0, 2)
    law = ScalingLaw(k_n=fit_prefactor(C, N, a, space), a=a, k_d=fit_prefactor(C, D, b, space), b=b)
    if space == "linear":
        fun = float(((N - law.n_opt(C)) ** 2).sum() / (N**2).sum() + ((D - law.d_opt(C)) ** 2).sum() / (D**2).sum())
        objective = "relative residual sum of squares, N and D added (linear space)"
    else:
        fun = float((np.log(N / law.n_opt(C)) ** 2).sum() + (np.log(D / law.d_opt(C)) ** 2).sum())
        objective = "sum of squared log residuals, N and D added"
    return FitResult(
        method=f"fixed-exponent prefactors ({space} least squares)",
        params={"k_N": law.k_n, "a": a, "k_D": law.k_d, "b": b}, fun=fun, objective=objective,
        success=True, message="closed form", n_points=int(C.size), options={"space": space}, law=law,
    )


# ----------------------------------------------------------------------------------------------
# Approach 3: the objective, batched
#
# θ = (a, b, e, α, β) with A, B, E = exp(a, b, e), so that log L̂ = LSE(a − α·log N, b − β·log D, e).
# Every function below takes a batch of θ as rows, so that thousands of L-BFGS runs advance
# together. ``n``, ``d``, ``l`` (log N, log D, log loss) are one shared row of points or, for a
# bootstrap, one row of resampled points per θ.

PARAM_NAMES = ("A", "B", "E", "alpha", "beta")


def huber(r, delta: float):
    """Huber's ρ_δ: r²/2 inside ±δ, linear outside."""
    ar = np.abs(r)
    return np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))


def _log_model(theta: np.ndarray, n, d):
    """LSE terms of the batch: (log L̂, softmax weights w1, w2, w3), each (rows, points)."""
    a, b, e, al, be = (theta[:, i, None] for i in range(5))
    u1 = a - al * n
    u2 = b - be * d
    m = np.maximum(np.maximum(u1, u2), e)
    w1 = np.exp(u1 - m)
    w2 = np.exp(u2 - m)
    w3 = np.exp(e - m)
    s = w1 + w2 + w3
    return m + np.log(s), w1 / s, w2 / s, w3 / s


def _rowdot(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_j x[r, j]·v[j] (shared points, a BLAS matvec) or Σ_j x[r, j]·v[r, j] (per-row points)."""
    return x @ v if v.ndim == 1 else np.einsum("rj,rj->r", x, v)


def _grad_theta(c: np.ndarray, w1, w2, w3, n, d) -> np.ndarray:
    """Σ_points c·∂LSE/∂θ for each row: the chain rule through the softmax weights."""
    c1, c2 = c * w1, c * w2
    return np.stack([c1.sum(1), c2.sum(1), (c * w3).sum(1), -_rowdot(c1, n), -_rowdot(c2, d)], axis=1)


def huber_lse_objective(theta, n, d, l, delta: float = 1e-3):
    """Chinchilla's objective Σ_i Huber_δ(LSE_i(θ) − log L_i) and its gradient, for a batch of θ."""
    theta = np.atleast_2d(theta)
    lse, w1, w2, w3 = _log_model(theta, n, d)
    r = lse - l
    f = huber(r, delta).sum(1)
    return f, _grad_theta(np.clip(r, -delta, delta), w1, w2, w3, n, d)


def _huber_log_norm(delta: float) -> float:
    """log ∫ exp(−ρ_δ(u)) du: the normaliser of the unit-scale Huber density."""
    from scipy.special import erf

    z = math.sqrt(2 * math.pi) * erf(delta / math.sqrt(2)) + 2 * math.exp(-0.5 * delta * delta) / delta
    return math.log(z)


def huber_nll_objective(phi, n, d, l, delta: float = 1e-3):
    """Negative log-likelihood of log L = LSE(θ) + σ·ε, ε ~ Huber_δ density; φ = (θ, log σ).

    This is Besiroglu et al. (2024)'s estimator: the scale σ is a free parameter, so the weight of
    the quadratic core is learned rather than fixed by δ.
    """
    phi = np.atleast_2d(phi)
    lse, w1, w2, w3 = _log_model(phi[:, :5], n, d)
    inv_sigma = np.exp(-phi[:, 5:6])
    u = (lse - l) * inv_sigma
    npts = u.shape[1]
    f = huber(u, delta).sum(1) + npts * (phi[:, 5] + _huber_log_norm(delta))
    psi = np.clip(u, -delta, delta)  # ρ'(u)
    g = np.empty_like(phi)
    g[:, :5] = _grad_theta(psi * inv_sigma, w1, w2, w3, n, d)
    g[:, 5] = npts - (psi * u).sum(1)
    return f, g


def chinchilla_grid() -> np.ndarray:
    """The paper's 4,500 initialisations: α, β ∈ {0, .5, …, 2}, e ∈ {−1, −.5, …, 1}, a, b ∈ {0, 5, …, 25}."""
    alpha = beta = np.arange(0, 2.01, 0.5)
    e = np.arange(-1, 1.01, 0.5)
    a = b = np.arange(0, 25.1, 5)
    g = np.stack(np.meshgrid(a, b, e, alpha, beta, indexing="ij"), -1).reshape(-1, 5)
    return g


# ----------------------------------------------------------------------------------------------
# batched L-BFGS


@dataclass
class _BatchState:
    x: np.ndarray
    f: np.ndarray
    g: np.ndarray
    nit: np.ndarray
    status: np.ndarray  # 0 running, 1 converged (ftol/gtol), 2 line search failed, 3 maxiter


def _lbfgs_batch(fun, x0: np.ndarray, *, memory: int = 10, maxiter: int = 1000, ftol: float = 2.2e-9,
                 gtol: float = 1e-5, max_ls: int = 30, fscale: float = 1.0) -> _BatchState:
    """Minimise many independent problems at once with L-BFGS and a backtracking line search.

    ``fun(x, rows) -> (f, g)`` evaluates rows ``rows`` of the batch at ``x`` (one row each). Each row
    keeps its own curvature memory, step and stopping test. The test is scipy's: stop when
    f_old − f_new ≤ ftol·max(|f_old|, |f_new|, fscale) or max|g| ≤ gtol. scipy fixes fscale = 1,
    which makes ftol an absolute tolerance for objectives below 1; fscale = 0 makes it relative.
    Finished rows leave the batch, so late iterations are cheap. Rows whose f or step turns non-finite simply fail their line search.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return _lbfgs_loop(fun, x0, memory, maxiter, ftol, gtol, max_ls, fscale)


def _lbfgs_loop(fun, x0, memory, maxiter, ftol, gtol, max_ls, fscale) -> _BatchState:
    S, P = x0.shape
    x = x0.astype(float).copy()
    f, g = fun(x, np.arange(S))
    sh = np.zeros((S, memory, P))
    yh = np.zeros((S, memory, P))
    rho = np.zeros((S, memory))  # 0 marks an empty or skipped slot
    nit = np.zeros(S, dtype=int)
    status = np.where(np.isfinite(f), 0, 2)
    for it in range(maxiter):
        rows = np.flatnonzero(status == 0)
        if rows.size == 0:
            break
        gr = g[rows]
        # two-loop recursion, newest pair first
        q = gr.copy()
        order = [(it - 1 - j) % memory for j in range(min(it, memory))]
        alphas = []
        for k in order:
            sk, yk, rk = sh[rows, k], yh[rows, k], rho[rows, k]
            ak = rk * np.einsum("ij,ij->i", sk, q)
            q -= ak[:, None] * yk
            alphas.append(ak)
        if order:
            k = order[0]
            sy = 1.0 / np.where(rho[rows, k] > 0, rho[rows, k], np.inf)
            yy = np.einsum("ij,ij->i", yh[rows, k], yh[rows, k])
            gamma = np.where(rho[rows, k] > 0, sy / np.maximum(yy, 1e-300), 0.0)
        else:
            gamma = np.zeros(rows.size)
        first = gamma == 0  # no curvature yet: a first step of unit length, as scipy does
        gamma = np.where(first, 1.0 / np.maximum(np.linalg.norm(gr, axis=1), 1e-300), gamma)
        q *= gamma[:, None]
        for k, ak in zip(reversed(order), reversed(alphas)):
            bk = rho[rows, k] * np.einsum("ij,ij->i", yh[rows, k], q)
            q += sh[rows, k] * (ak - bk)[:, None]
        p = -q
        gp = np.einsum("ij,ij->i", gr, p)
        bad = ~(gp < 0) | ~np.isfinite(gp)
        if bad.any():  # memory gave no descent direction: restart that row from steepest descent
            rho[rows[bad]] = 0
            p[bad] = -gr[bad] / np.maximum(np.linalg.norm(gr[bad], axis=1, keepdims=True), 1e-300)
            gp[bad] = np.einsum("ij,ij->i", gr[bad], p[bad])
        # backtracking (Armijo) with safeguarded quadratic interpolation
        t = np.ones(rows.size)
        xr, fr = x[rows], f[rows]
        x_new = xr + p
        f_new, g_new = fun(x_new, rows)
        todo = ~(f_new <= fr + 1e-4 * t * gp)
        for _ in range(max_ls):
            if not todo.any():
                break
            i = np.flatnonzero(todo)
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                denom = 2 * (f_new[i] - fr[i] - gp[i] * t[i])
                tq = -gp[i] * t[i] ** 2 / denom
            tq = np.where(np.isfinite(tq), tq, 0.5 * t[i])
            t[i] = np.clip(tq, 0.1 * t[i], 0.5 * t[i])
            x_new[i] = xr[i] + t[i, None] * p[i]
            f_new[i], g_new[i] = fun(x_new[i], rows[i])
            todo[i] = ~(f_new[i] <= fr[i] + 1e-4 * t[i] * gp[i])
        failed = todo
        ok = ~failed
        # curvature pair; skipped (slot marked empty) where s·y is not safely positive
        s = x_new - xr
        y = g_new - g[rows]
        sy = np.einsum("ij,ij->i", s, y)
        keep = ok & (sy > 1e-10 * np.einsum("ij,ij->i", y, y))
        slot = it % memory
        sh[rows, slot] = s
        yh[rows, slot] = y
        rho[rows, slot] = np.where(keep, 1.0 / np.where(keep, sy, 1.0), 0.0)
        r_ok = rows[ok]
        f_old = f[r_ok]
        x[r_ok], f[r_ok], g[r_ok] = x_new[ok], f_new[ok], g_new[ok]
        nit[rows] += 1
        small_df = (f_old - f[r_ok]) <= ftol * np.maximum(np.maximum(np.abs(f_old), np.abs(f[r_ok])), fscale)
        small_g = np.abs(g[r_ok]).max(1) <= gtol
        status[r_ok[small_df | small_g]] = 1
        status[rows[failed]] = 2
    status[status == 0] = 3
    return _BatchState(x=x, f=f, g=g, nit=nit, status=status)


# ----------------------------------------------------------------------------------------------
# Approach 3: the fit


def _scipy_polish(fun, x0: np.ndarray, ftol=1e-15, gtol=1e-10):
    """One scipy L-BFGS-B run from x0 on a batched objective, with tolerances near machine precision."""
    from scipy.optimize import minimize

    def f1(x):
        f, g = fun(x[None, :])
        return float(f[0]), g[0]

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return minimize(f1, x0, jac=True, method="L-BFGS-B",
                        options={"ftol": ftol, "gtol": gtol, "maxiter": 15000, "maxfun": 30000})


def _starts(grid, seed: int) -> np.ndarray:
    """The paper's grid, a random subset of k of its points (k an int), or an explicit array."""
    full = chinchilla_grid()
    if grid is None or (isinstance(grid, str) and grid == "chinchilla"):
        return full
    if isinstance(grid, (int, np.integer)):
        check_range("grid", int(grid), 1, len(full))
        return full[np.random.default_rng(seed).choice(len(full), int(grid), replace=False)]
    g = np.asarray(grid, dtype=float)
    if g.ndim != 2 or g.shape[1] != 5 or not np.isfinite(g).all():
        raise ReplicationError("grid must be 'chinchilla', a number of starts in [1, 4500], or a finite (k, 5) array of (a, b, e, alpha, beta)")
    return g


def _theta_to_params(theta) -> dict[str, float]:
    a, b, e, al, be = (float(v) for v in theta[:5])
    return {"A": math.exp(a), "B": math.exp(b), "E": math.exp(e), "alpha": al, "beta": be}


def params_to_theta(p: dict) -> np.ndarray:
    """(a, b, e, α, β) = (log A, log B, log E, α, β) from a dict with keys A, B, E, alpha, beta."""
    return np.array([math.log(p["A"]), math.log(p["B"]), math.log(p["E"]), p["alpha"], p["beta"]])


def predict_loss(params: dict, N, D):
    """L(N, D) = E + A/N^α + B/D^β."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    return params["E"] + params["A"] / N ** params["alpha"] + params["B"] / D ** params["beta"]


def fit_approach3(data=None, *, N=None, D=None, loss=None, method: str = "huber", delta: float = 1e-3,
                  grid="chinchilla", bootstrap: int = 0, ci=(10, 90), seed: int = 0,
                  polish: int = 5, start: FitResult | None = None, workers: int | None = None) -> FitResult:
    """Fit L(N, D) = E + A/N^α + B/D^β to observed final losses.

    method="huber": Chinchilla's estimator. Minimise the *sum* Σ Huber_δ(LSE(θ) − log L) from every
    start of ``grid`` (default: the paper's 4,500) with L-BFGS and keep the best. All starts run as
    one batch; the ``polish`` best are then refined by scipy's L-BFGS-B at tight tolerances.

    method="likelihood": Besiroglu et al. (2024). Maximise the likelihood of log-residuals that
    follow a Huber density with free scale σ, started from the Huber-LSE fit.

    bootstrap=K refits K resamples of the points (with replacement), each started from the point
    estimate, and reports ``ci`` percentile intervals.

    start: a Huber-LSE result on the same data; method="likelihood" then starts from it instead of
    repeating the grid search.

    workers: threads over which the independent starts (and resamples) are split; default
    :func:`default_workers`. Only rounding depends on it (a matrix product over fewer rows may
    sum in another order), so the best objective agrees to about 1e-10, relative.
    """
    N, D, loss, _ = observations(data, N=N, D=D, loss=loss)
    if method not in ("huber", "likelihood"):
        raise ReplicationError(f"method={method!r}; allowed: 'huber', 'likelihood'")
    check_range("delta", delta, 0, None, lo_open=True)
    check_range("polish", polish, 1, 100)
    n_par = 5 if method == "huber" else 6
    _need_points(f"Approach 3 ({method}, {n_par} parameters)", N.size, n_par)
    n, d, l = np.log(N), np.log(D), np.log(loss)
    starts = _starts(grid, seed)
    t0 = time.perf_counter()

    def huber_fun(x, rows=None):
        return huber_lse_objective(x, n, d, l, delta)

    if start is not None:
        if method != "likelihood" or not start.method.startswith("Approach 3, Huber-LSE") or start.n_points != N.size:
            raise ReplicationError("start must be a Huber-LSE Approach-3 result on the same data, for method='likelihood'")
        starts = params_to_theta(start.params)[None, :]
    workers = default_workers() if workers is None else workers
    state = _in_threads(lambda part: _lbfgs_batch(huber_fun, starts[part]), len(starts), workers)
    order = np.argsort(np.where(np.isfinite(state.f), state.f, np.inf))
    # Polish the best few *distinct* end points: hundreds of starts end in the same basin, and
    # refining copies of one point would only cost time.
    chosen: list[int] = []
    for i in order:
        if len(chosen) == polish or not np.isfinite(state.f[i]):
            break
        if all(np.abs(state.x[i] - state.x[j]).max() > 1e-3 for j in chosen):
            chosen.append(i)
    best = None
    for i in chosen:
        res = _scipy_polish(huber_fun, state.x[i])
        if best is None or res.fun < best.fun:
            best = res
    theta, fun = best.x, float(best.fun)
    in_basin = int((state.f <= fun * (1 + 1e-6) + 1e-300).sum())
    details = {
        "starts": int(len(starts)),
        "starts_converged": int((state.status == 1).sum()),
        "starts_line_search_stop": int((state.status == 2).sum()),
        "starts_at_best": in_basin,
        "batch_iterations_max": int(state.nit.max()),
        "polish_iterations": int(best.nit),
    }
    if start is not None:
        details = {"start": "the given Huber-LSE fit", "polish_iterations": int(best.nit)}
    success = bool(best.success) or "ABNORMAL" in str(best.message)
    message = str(best.message)
    objective = f"sum over points of Huber_δ(LSE − log L), δ={delta:g}"
    name = f"Approach 3, Huber-LSE grid fit (Hoffmann et al. 2022), {len(starts)} starts"

    if method == "likelihood":
        def nll_fun(x, rows=None):
            return huber_nll_objective(x, n, d, l, delta)

        # IRLS gets close in a few dozen cheap steps (see _irls_likelihood); scipy then polishes.
        phi0 = _irls_likelihood(theta[None, :5], n, d, l, delta, tol=1e-12, maxiter=500).x[0]
        best = _scipy_polish(nll_fun, phi0)
        theta, fun = best.x, float(best.fun)
        details["sigma"] = float(math.exp(theta[5]))
        success = bool(best.success) or "ABNORMAL" in str(best.message)
        message = str(best.message)
        objective = f"negative log-likelihood, Huber_δ density of log residuals with free scale, δ={delta:g}"
        name = "Approach 3, Huber likelihood (Besiroglu et al. 2024), started from the Huber-LSE grid fit"
        details["polish_iterations"] = int(best.nit)

    params = _theta_to_params(theta)
    details["seconds"] = round(time.perf_counter() - t0, 3)
    interval = None
    if bootstrap:
        check_range("bootstrap", bootstrap, 2, 100_000)
        tb = time.perf_counter()
        samples, n_ok = bootstrap_approach3(theta, n, d, l, method=method, delta=delta, resamples=bootstrap,
                                            seed=seed, workers=workers)
        lo, hi = _percentiles(samples, ci)
        interval = {k: (float(lo[j]), float(hi[j])) for j, k in enumerate(("A", "B", "E", "alpha", "beta", "a", "b"))}
        details["bootstrap_converged"] = f"{n_ok}/{bootstrap}"
        details["bootstrap_seconds"] = round(time.perf_counter() - tb, 3)
    law = frontier(params)
    params.update({"a": law.a, "b": law.b})
    return FitResult(
        method=name, params=params, ci=interval, fun=fun, objective=objective, success=success,
        message=message, n_points=int(N.size), law=law, details=details,
        options={"method": method, "delta": delta, "grid": "chinchilla" if len(starts) == 4500 else len(starts),
                 "polish": polish, "bootstrap": bootstrap, "ci_percentiles": ci, "seed": seed, "threads": workers},
    )


def _in_threads(solve, rows: int, workers: int):
    """solve(slice) -> _BatchState over independent row ranges, run in ``workers`` threads.

    The problems in a batch are independent, and numpy releases the GIL inside its array
    kernels, so splitting the rows gives close to ``workers``-fold speed on idle cores.
    """
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(workers, rows // 64 or 1))
    if workers == 1:
        return solve(slice(0, rows))
    edges = np.linspace(0, rows, workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(solve, [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]))
    return _BatchState(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("x", "f", "g", "nit", "status")))


def default_workers() -> int:
    """Threads for the batched fits: the cores this process may use, at most 2 (the project's
    reference machine), overridable with the REPLICATION_FIT_THREADS environment variable."""
    import os

    env = os.environ.get("REPLICATION_FIT_THREADS")
    if env:
        return max(1, int(env))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(2, cores)


def bootstrap_approach3(theta, n, d, l, *, method="huber", delta=1e-3, resamples=4000, seed=0, workers=None):
    """Refit ``resamples`` bootstrap resamples as one batch, each started from ``theta``.

    Returns (samples, n_ok): rows of (A, B, E, α, β, a, b) for the resamples whose optimiser ended
    without hitting its iteration limit, and how many those were.
    """
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n.size, size=(resamples, n.size))
    theta0 = np.asarray(theta[:5], dtype=float)

    def solve(part: slice) -> _BatchState:
        nb, db, lb = n[idx[part]], d[idx[part]], l[idx[part]]

        def huber_fun(x, rows):
            return huber_lse_objective(x, nb[rows], db[rows], lb[rows], delta)

        # A relative stopping test: with f ≈ 1e-3, scipy's (2.2e-9·max(|f|, 1)) stops a warm
        # start after a few steps, near the point estimate, making the intervals spuriously narrow.
        tight = {"ftol": 1e-10, "gtol": 0.0, "fscale": 0.0, "maxiter": 2000}
        state = _lbfgs_batch(huber_fun, np.tile(theta0, (len(nb), 1)), **tight)
        if method == "likelihood":
            # Each resample starts from its own Huber-LSE fit, which lies close to its likelihood
            # optimum; see _irls_likelihood for why the likelihood itself is not left to L-BFGS.
            state = _irls_likelihood(state.x, nb, db, lb, delta)
        return state

    state = _in_threads(solve, resamples, default_workers() if workers is None else workers)
    ok = state.status != 3
    th = state.x[ok, :5]
    A, B, E = np.exp(th[:, 0]), np.exp(th[:, 1]), np.exp(th[:, 2])
    al, be = th[:, 3], th[:, 4]
    return np.c_[A, B, E, al, be, be / (al + be), al / (al + be)], int(ok.sum())


def _sigma_hat(r: np.ndarray, delta: float, log_sigma: np.ndarray, steps: int = 30) -> np.ndarray:
    """The σ that maximises the Huber likelihood of residuals r (rows) with θ held fixed.

    It solves Σ ψ(r/σ)·r/σ = n, whose left side falls monotonically in σ, by Newton steps in log σ.
    """
    npts = r.shape[1]
    ar = np.abs(r)
    for _ in range(steps):
        u = ar * np.exp(-log_sigma)[:, None]
        inner = u <= delta
        h = np.where(inner, u * u, delta * u).sum(1)  # Σ ψ(u)·u
        dh = -np.where(inner, 2 * u * u, delta * u).sum(1)  # its derivative in log σ
        step = (h - npts) / dh
        log_sigma = log_sigma - np.clip(step, -2.0, 2.0)
        if np.all(np.abs(step) < 1e-12):
            break
    return log_sigma


def _irls_likelihood(theta0: np.ndarray, n, d, l, delta: float, *, eps0: float = 1e-3,
                     shrink: float = 0.3, maxiter: int = 200, tol: float = 1e-7) -> _BatchState:
    """Maximise the Huber likelihood for a batch of problems by smoothed, damped Gauss-Newton IRLS.

    For fixed σ the negative log-likelihood is Σ Huber_κ(r)/σ² + const with κ = δσ: the
    Chinchilla objective with a threshold of δσ ≈ 5e-9 instead of 1e-3. Almost every residual then
    lies in the linear part, so this is in effect least absolute deviations, whose kinks stall
    L-BFGS for hundreds of iterations. Iteratively reweighted least squares is the classic remedy:
    weights min(1, κ/|r|) turn each step into a weighted Gauss-Newton solve, and a backtracking
    search keeps it a descent step for Σ Huber_κ(r). To converge fast, κ starts at ``eps0`` and
    shrinks by ``shrink`` each iteration down to δσ; σ is re-solved exactly after every step
    (block-coordinate descent, so the likelihood never rises in the exact phase).

    IRLS converges only linearly on such kinks, so the stopping test is loose on purpose: a step
    that lowers Σ Huber_κ by less than ``tol`` (relative) ends the row. On the 240 Epoch points
    that leaves each resample's A within about 1% of a 400-iteration run, and the 10th/90th
    percentiles of 4,000 resamples within 0.1%, which is finer than the scatter scipy's own
    L-BFGS shows on this objective from different starts.
    Returns a _BatchState over φ = (θ, log σ).
    """
    R = theta0.shape[0]
    theta = theta0.astype(float).copy()
    # the model at each row's current θ, kept so that an accepted trial step is never re-evaluated
    model = list(_log_model(theta, n, d))  # log L̂, w1, w2, w3
    log_sigma = _sigma_hat(model[0] - l, delta, np.log(np.maximum(delta * np.abs(model[0] - l).mean(1), 1e-300)))
    eps = np.full(R, float(eps0))
    status = np.zeros(R, dtype=int)
    nit = np.zeros(R, dtype=int)
    lam = np.full(R, 1e-9)
    eye = np.eye(5)

    def pick(v, i):
        return v if v.ndim == 1 else v[i]

    for _ in range(maxiter):
        rows = np.flatnonzero(status == 0)
        if rows.size == 0:
            break
        nr, dr, lr = pick(n, rows), pick(d, rows), pick(l, rows)
        lse, w1, w2, w3 = (v[rows] for v in model)
        res = lse - lr
        exact = eps[rows] <= delta * np.exp(log_sigma[rows])
        kappa = np.where(exact, delta * np.exp(log_sigma[rows]), eps[rows])[:, None]
        q0 = huber(res, kappa).sum(1)
        wt = np.minimum(1.0, kappa / np.maximum(np.abs(res), 1e-300))
        J = np.stack([w1, w2, w3, -w1 * nr, -w2 * dr], axis=2)  # ∂r/∂θ, (rows, points, 5)
        JWt = (J * wt[..., None]).transpose(0, 2, 1)
        H = JWt @ J
        g = (JWt @ res[..., None])[..., 0]
        scale = np.sqrt(np.maximum(np.einsum("rii->ri", H), 1e-300))
        Hs = H / scale[:, :, None] / scale[:, None, :] + lam[rows, None, None] * eye
        step = -np.linalg.solve(Hs, (g / scale)[..., None])[..., 0] / scale
        t = np.ones(rows.size)
        moved = np.zeros(rows.size, dtype=bool)
        q1 = q0.copy()
        for _ in range(20):
            i = np.flatnonzero(~moved & (t > 1e-8))
            if i.size == 0:
                break
            th_try = theta[rows[i]] + t[i, None] * step[i]
            trial = _log_model(th_try, pick(nr, i), pick(dr, i))
            q_try = huber(trial[0] - pick(lr, i), kappa[i]).sum(1)
            ok = q_try < q0[i]
            j = i[ok]
            theta[rows[j]] = th_try[ok]
            for cache, new in zip(model, trial):
                cache[rows[j]] = new[ok]
            q1[j] = q_try[ok]
            moved[j] = True
            t[i[~ok]] *= 0.25
        nit[rows] += 1
        m = rows[moved]
        if m.size:
            log_sigma[m] = _sigma_hat(model[0][m] - pick(l, m), delta, log_sigma[m])
        lam[rows] = np.where(moved, np.maximum(lam[rows] * 0.1, 1e-12), np.minimum(lam[rows] * 100, 1e6))
        small = (q0 - q1) <= tol * q0
        status[rows[exact & moved & small]] = 1
        status[rows[exact & ~moved]] = 2  # no descent left at full precision
        eps[rows] *= shrink
    status[status == 0] = 3
    phi = np.c_[theta, log_sigma]
    f, g_full = huber_nll_objective(phi, n, d, l, delta)
    return _BatchState(x=phi, f=f, g=g_full, nit=nit, status=status)


# ----------------------------------------------------------------------------------------------
# the efficient frontier


def frontier(params: dict) -> ScalingLaw:
    """The compute-optimal allocation implied by L = E + A/N^α + B/D^β under C = 6·N·D.

    Minimising L along N·D = C/6 gives N_opt = G·(C/6)^a and D_opt = G⁻¹·(C/6)^b with
    a = β/(α+β), b = α/(α+β) and G = (αA/(βB))^{1/(α+β)}.
    """
    A, B, al, be = params["A"], params["B"], params["alpha"], params["beta"]
    for k in ("A", "B", "alpha", "beta"):
        check_range(k, params[k], 0, None, lo_open=True)
    G = (al * A / (be * B)) ** (1 / (al + be))
    a, b = be / (al + be), al / (al + be)
    return ScalingLaw(k_n=G * 6.0**-a, a=a, k_d=6.0**-b / G, b=b)


def compute_for_size(params: dict, N):
    """The budget C (FLOPs) for which N parameters are compute-optimal, and its D_opt tokens."""
    law = frontier(params)
    C = (np.asarray(N, dtype=float) / law.k_n) ** (1 / law.a)
    return C, law.d_opt(C)


def inconsistent_rows(N, C, D, *, tol: float = 0.25) -> np.ndarray:
    """Indices of rows whose printed C is not 6·N·D within a factor (1 ± tol): misprints."""
    ratio = np.asarray(C, dtype=float) / (6 * np.asarray(N, dtype=float) * np.asarray(D, dtype=float))
    return np.flatnonzero(np.abs(np.log(ratio)) > math.log1p(tol))


# ----------------------------------------------------------------------------------------------
# Approach 2: IsoFLOP profiles


class NoInteriorMinimum(ReplicationError):
    """An IsoFLOP budget whose fitted parabola has no minimum inside the sampled model sizes.

    Its vertex would be an extrapolation (or a maximum), so it cannot serve as N*(C).
    """

    def __init__(self, budget: float, reason: str):
        self.budget = budget
        self.reason = reason
        super().__init__(f"budget C={budget:.3g}: no interior minimum ({reason}); "
                         "sample sizes on both sides of the optimum, or pass on_edge='exclude'")


def parabola_vertex(x, y):
    """Fit y = c0 + c1·x + c2·x² by least squares; return (c0, c1, c2), the vertex x*, and why
    the vertex is not an interior minimum (None when it is)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.unique(x).size < 3:
        return None, math.nan, f"{np.unique(x).size} distinct sizes, need 3"
    xm = x.mean()  # centred for conditioning; log N spans a few units around 20
    c2, c1, c0 = np.polyfit(x - xm, y, 2)
    if c2 <= 0:
        return (c0, c1, c2), math.nan, "parabola opens downward"
    v = xm - c1 / (2 * c2)
    # re-express the coefficients in uncentred x
    coef = (c0 - c1 * xm + c2 * xm * xm, c1 - 2 * c2 * xm, c2)
    if not (x.min() < v < x.max()):
        return coef, v, "vertex outside the sampled sizes"
    return coef, v, None


def _group_budgets(C: np.ndarray, budgets, snap_tol: float):
    """Budget label per point (NaN: dropped). Snap to ``budgets`` within a factor 1 ± snap_tol,
    or, without budgets, group equal C (to 4 significant digits)."""
    if budgets is None:
        return np.array([float(f"{c:.4g}") for c in C])
    b = _positive("budgets", budgets)
    check_range("snap_tol", snap_tol, 0, 1, lo_open=True, hi_open=True)
    nearest = b[np.abs(np.log(C)[:, None] - np.log(b)[None, :]).argmin(1)]
    return np.where(np.abs(C / nearest - 1) <= snap_tol, nearest, np.nan)


def fit_approach2(data=None, *, N=None, D=None, loss=None, C=None, budgets=None, snap_tol: float = 0.1,
                  on_edge: str = "exclude", bootstrap: int = 0, ci=(10, 90), seed: int = 0) -> FitResult:
    """Chinchilla's Approach 2: for each IsoFLOP budget, fit a parabola of loss in log N (and one
    in log D); the vertices give N*(C) and D*(C); fit N* = k_N·C^a and D* = k_D·C^b.

    Points are grouped by equal C, or snapped to the nearest of ``budgets``: points within a
    factor 1 ± ``snap_tol`` of it are moved onto it (C = budget, D = budget/6N), the rest are
    dropped (as for the points Epoch AI read off the paper's Figure 3). A budget
    without an interior minimum raises :class:`NoInteriorMinimum` (``on_edge="raise"``) or is
    left out and listed in the result (``on_edge="exclude"``); its vertex is never used.
    """
    import pandas as pd

    N, D, loss, C = observations(data, N=N, D=D, loss=loss, C=C)
    if on_edge not in ("raise", "exclude"):
        raise ReplicationError(f"on_edge={on_edge!r}; allowed: 'raise', 'exclude'")
    label = _group_budgets(C, budgets, snap_tol)
    label_of_point = label.copy()
    if budgets is not None:
        # Snapping puts each kept point exactly on its IsoFLOP line: C = budget, D = budget / 6N.
        keep = np.isfinite(label)
        N, loss, C = N[keep], loss[keep], label[keep]
        D, label = C / (6 * N), label[keep]
    rows, excluded = [], []
    for c in np.unique(label[np.isfinite(label)]):
        m = label == c
        _, xn, why_n = parabola_vertex(np.log(N[m]), loss[m])
        coef_d, xd, why_d = parabola_vertex(np.log(D[m]), loss[m])
        why = why_n or why_d
        if why is not None:
            if on_edge == "raise":
                raise NoInteriorMinimum(float(c), why)
            excluded.append({"C": float(c), "points": int(m.sum()), "reason": why})
            continue
        n_star, d_star = math.exp(xn), math.exp(xd)
        c0, c1, c2 = coef_d
        rows.append({"C": float(c), "points": int(m.sum()), "N_star": n_star, "D_star": d_star,
                     "loss_star": c0 + c1 * xd + c2 * xd * xd, "tokens_per_param": d_star / n_star})
    if len(rows) < 2:
        raise ReplicationError(f"Approach 2 needs at least 2 budgets with an interior minimum; got {len(rows)}"
                               + (f" ({len(excluded)} excluded: {excluded[0]['reason']}, ...)" if excluded else ""))
    table = pd.DataFrame(rows)
    fit = fit_compute_optimal(table["C"], table["N_star"], table["D_star"], bootstrap=bootstrap, ci=ci, seed=seed,
                              method="Approach 2, IsoFLOP parabolas (Hoffmann et al. 2022)")
    fit.table = table
    fit.n_points = int(N.size)
    fit.details = {"budgets_used": len(rows), "budgets_excluded": len(excluded), "excluded": excluded,
                   "budget_of_point": label_of_point}
    fit.message = ("all budgets have an interior minimum" if not excluded
                   else f"{len(excluded)} budget(s) excluded: " + "; ".join(f"C={e['C']:.3g} ({e['reason']})" for e in excluded))
    fit.options = {"snap_tol": snap_tol if budgets is not None else None, "on_edge": on_edge, **fit.options}
    return fit


# ----------------------------------------------------------------------------------------------
# Approach 1: the lower envelope of training curves


def fit_approach1(data=None, *, N=None, D=None, loss=None, C=None, run=None, horizon=None,
                  tail: float = 0.15, grid_points: int = 1500, bootstrap: int = 0, ci=(10, 90),
                  seed: int = 0) -> FitResult:
    """Chinchilla's Approach 1: the minimum loss over all runs at each FLOP count.

    Rows are points on training curves: ``N`` parameters, ``D`` tokens seen so far, ``loss``.
    ``run`` names the curve (default: one per (N, horizon), or per N); ``horizon`` is the token
    count of the run's cosine cycle (default: its last D). As in the paper, only points in the last
    ``tail`` of each schedule are used: earlier points are not at a tuned schedule's end. Each run's
    log-loss is interpolated in log C on a log-spaced grid of ``grid_points`` FLOP values; the
    envelope's N and D at each grid point are fitted with free power laws.
    """
    import pandas as pd

    if data is not None:
        run = _column(data, "run", required=False) if run is None else run
        horizon = _column(data, "horizon", required=False) if horizon is None else horizon
    N, D, loss, C = observations(data, N=N, D=D, loss=loss, C=C)
    check_range("tail", tail, 0, 1, lo_open=True)
    check_range("grid_points", grid_points, 2, 1_000_000)
    H = None if horizon is None else _positive("horizon", horizon, N.size)
    if run is None:
        keys = list(zip(N, H)) if H is not None else list(N)
        run = pd.factorize(pd.Series(keys, dtype=object))[0]
    run = np.asarray(run)
    if run.size != N.size:
        raise ReplicationError(f"run has {run.size} values but N has {N.size}")
    curves = []
    for r in pd.unique(run):
        m = run == r
        h = D[m].max() if H is None else H[m].max()
        keep = m & (D >= (1 - tail) * h)
        order = np.argsort(C[keep])
        lc = np.log(C[keep][order])
        if np.unique(lc).size < 2:
            continue  # one point spans no FLOP range; it cannot be interpolated
        curves.append({"run": r, "N": float(np.median(N[keep])), "horizon": float(h), "logC": lc,
                       "loss": loss[keep][order], "logD": np.log(D[keep][order])})
    if len(curves) < 2:
        raise ReplicationError(f"Approach 1 needs at least 2 runs with 2 or more points in the last {tail:.0%} "
                               f"of their schedule; got {len(curves)}")
    lo = min(c["logC"][0] for c in curves)
    hi = max(c["logC"][-1] for c in curves)
    grid = np.linspace(lo, hi, grid_points)
    L = np.full((len(curves), grid_points), np.inf)
    logD = np.full((len(curves), grid_points), np.nan)
    for i, c in enumerate(curves):
        inside = (grid >= c["logC"][0]) & (grid <= c["logC"][-1])
        L[i, inside] = np.interp(grid[inside], c["logC"], c["loss"])
        logD[i, inside] = np.interp(grid[inside], c["logC"], c["logD"])
    best = L.argmin(0)
    covered = np.isfinite(L[best, np.arange(grid_points)])
    cols = np.arange(grid_points)[covered]
    winner = best[covered]
    Cg = np.exp(grid[covered])
    n_opt = np.array([curves[i]["N"] for i in winner])
    d_opt = np.exp(logD[winner, cols])
    fit = fit_compute_optimal(Cg, n_opt, d_opt, bootstrap=bootstrap, ci=ci, seed=seed,
                              method="Approach 1, envelope of training curves (Hoffmann et al. 2022)")
    seg = np.flatnonzero(np.r_[True, winner[1:] != winner[:-1]])
    ends = np.r_[seg[1:], winner.size] - 1
    fit.table = pd.DataFrame({
        "run": [curves[winner[i]]["run"] for i in seg],
        "N": [curves[winner[i]]["N"] for i in seg],
        "horizon": [curves[winner[i]]["horizon"] for i in seg],
        "C_from": Cg[seg], "C_to": Cg[ends], "grid_points": ends - seg + 1,
    })
    fit.n_points = int(N.size)
    fit.details = {"runs": len(curves), "runs_on_envelope": int(np.unique(winner).size),
                   "grid_points_covered": int(covered.sum())}
    fit.message = f"envelope over {len(curves)} runs on {int(covered.sum())} FLOP grid points"
    fit.options = {"tail": tail, "grid_points": grid_points, **fit.options}
    return fit


# ----------------------------------------------------------------------------------------------
# synthetic data from known constants (tests, chapters)


def synthetic_points(params: dict, *, n_points: int = 200, N_range=(1e7, 1e10), D_range=(1e8, 1e11),
                     noise: float = 0.0, seed: int = 0):
    """Final losses of runs at random (N, D), log-uniform in the ranges; noise is the standard
    deviation of a Gaussian added to log L."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(*np.log(N_range), n_points))
    D = np.exp(rng.uniform(*np.log(D_range), n_points))
    loss = predict_loss(params, N, D) * np.exp(noise * rng.standard_normal(n_points))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def synthetic_isoflops(params: dict, budgets, *, sizes: int = 9, span: float = 1.0, offset: float = 0.0,
                       noise: float = 0.0, seed: int = 0):
    """IsoFLOP profiles: at each budget, ``sizes`` model sizes log-spaced over ±``span``/2 decades
    around the true N_opt shifted by ``offset`` decades; D = C/(6N)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    law = frontier(params)
    frames = []
    for C in np.atleast_1d(np.asarray(budgets, dtype=float)):
        centre = math.log10(float(law.n_opt(C))) + offset
        N = np.logspace(centre - span / 2, centre + span / 2, sizes)
        D = C / (6 * N)
        loss = predict_loss(params, N, D) * np.exp(noise * rng.standard_normal(sizes))
        frames.append(pd.DataFrame({"N": N, "D": D, "loss": loss, "C": C}))
    return pd.concat(frames, ignore_index=True)


def synthetic_curves(params: dict, sizes, horizons, *, points: int = 40, schedule_penalty: float = 0.05,
                     noise: float = 0.0, seed: int = 0):
    """Training curves for every (size, horizon): the loss at D tokens seen is L(N, D) plus a
    penalty ``schedule_penalty``·(1 − D/horizon) that stands for a cosine schedule not yet
    annealed, zero at the end of the cycle."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frames = []
    for i, N in enumerate(np.asarray(sizes, dtype=float)):
        for j, H in enumerate(np.asarray(horizons, dtype=float)):
            D = H * np.linspace(0.05, 1.0, points)
            loss = predict_loss(params, N, D) + schedule_penalty * (1 - D / H)
            loss = loss * np.exp(noise * rng.standard_normal(points))
            frames.append(pd.DataFrame({"run": f"N{i}-H{j}", "N": N, "D": D, "loss": loss, "horizon": H}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------
# tables and figures for the approach chapters


def off_centre_bias(params: dict, budget: float, offsets, *, span: float = 2.0, sizes: int = 9):
    """How far the Approach-2 vertex lands from the true N_opt when the sampled sizes are centred
    ``offset`` decades away from it (a noiseless surface, so all of the error is the method's)."""
    import pandas as pd

    truth = float(frontier(params).n_opt(budget))
    rows = []
    for off in offsets:
        t = synthetic_isoflops(params, [budget], sizes=sizes, span=span, offset=off)
        _, v, why = parabola_vertex(np.log(t["N"]), t["loss"])
        rows.append({"offset (decades)": off, "N_opt": truth, "vertex N*": math.exp(v) if why is None else math.nan,
                     "N*/N_opt - 1": math.exp(v) / truth - 1 if why is None else math.nan, "note": why or ""})
    return pd.DataFrame(rows)


def regenerate_table_a3(params: dict, table=None, *, tol: float = 0.25):
    """Table A3's Approach-3 columns next to the values the frontier of ``params`` gives for the
    same model sizes, and a flag on rows whose printed C is not 6·N·D (a misprint)."""
    import pandas as pd

    from replication.sources.chinchilla import TABLE_A3

    t = TABLE_A3 if table is None else table
    C, D = compute_for_size(params, t["N"])
    bad = set(inconsistent_rows(t["N"], t["approach3_C"], t["approach3_D"], tol=tol).tolist())
    return pd.DataFrame({
        "N": t["N"], "C printed": t["approach3_C"], "C ours": C, "C ours / printed": C / t["approach3_C"],
        "D printed": t["approach3_D"], "D ours": D, "D ours / printed": D / t["approach3_D"],
        "printed C / 6ND": t["approach3_C"] / (6 * t["N"] * t["approach3_D"]),
        "misprint": ["C is not 6ND" if i in bad else "" for i in range(len(t))],
    })


def sum_versus_mean(data, starts: int = 100, delta: float = 1e-3, seed: int = 0):
    """scipy's L-BFGS-B from the same random grid starts, on the sum and on the mean of the Huber
    objective: iterations, and how many runs end at the best objective either found.

    Same minimiser, data and starts; only the objective's scale differs. scipy stops when an
    iteration lowers f by less than 2.2e-9·max(|f|, 1). For the mean (f of order 1e-5) that is a
    large relative step, so runs end near where they began.
    """
    import pandas as pd
    from scipy.optimize import minimize

    N, D, loss, _ = observations(data)
    n, d, l = np.log(N), np.log(D), np.log(loss)
    x0s = _starts(int(starts), seed)
    out = {}
    for name, scale in (("sum", 1.0), ("mean", 1.0 / N.size)):
        fs, its = [], []
        with np.errstate(over="ignore", invalid="ignore"):
            for x0 in x0s:
                res = minimize(lambda t: tuple(v[0] * scale for v in huber_lse_objective(t, n, d, l, delta)),
                               x0, jac=True, method="L-BFGS-B")
                fs.append(float(huber_lse_objective(res.x, n, d, l, delta)[0][0]))
                its.append(res.nit)
        out[name] = (np.array(fs), np.array(its))
    best = min(f.min() for f, _ in out.values())
    return pd.DataFrame([{"objective": k, "starts": len(f), "median iterations": float(np.median(i)),
                          "best sum of Huber": f.min(), "runs ending within 1e-4 of the best": int((f <= best * (1 + 1e-4)).sum())}
                         for k, (f, i) in out.items()]).set_index("objective")


def plot_isoflops(data, result: FitResult, ax=None):
    """Loss against N per budget, each with its fitted parabola and vertex."""
    import matplotlib.pyplot as plt

    N, D, loss, C = observations(data)
    ax = ax or plt.subplots(figsize=(7, 4.5))[1]
    groups = result.details["budget_of_point"]
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(result.table)))
    for color, row in zip(colors, result.table.itertuples()):
        m = groups == row.C
        x = np.log(N[m])
        coef, v, _ = parabola_vertex(x, loss[m])
        xs = np.linspace(x.min(), x.max(), 100)
        ax.plot(N[m], loss[m], "o", ms=3, color=color)
        ax.plot(np.exp(xs), coef[0] + coef[1] * xs + coef[2] * xs * xs, "-", lw=1, color=color, label=f"{row.C:.0e}")
        ax.plot(row.N_star, coef[0] + coef[1] * v + coef[2] * v * v, "k*", ms=9)
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("loss")
    ax.legend(title="C (FLOPs)", fontsize=7, ncol=2)
    return ax


def plot_envelope(data, result: FitResult, truth: ScalingLaw | None = None):
    """Left: the training curves against FLOPs. Right: the run on the envelope over each FLOP range
    (one segment per stretch), the fitted N_opt(C) law and, if given, the true one."""
    import matplotlib.pyplot as plt

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


# ----------------------------------------------------------------------------------------------
# command line

KINDS = ("prefactor", "powerlaw", "approach1", "approach2", "approach3")


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ReplicationError(f"--budgets {text!r}: expected comma-separated numbers, e.g. 6e18,1e19,3e19") from None


def _grid_arg(text: str):
    if text == "chinchilla":
        return text
    try:
        return int(text)
    except ValueError:
        raise ReplicationError(f"--grid {text!r}; allowed: 'chinchilla' or a number of starts in [1, 4500]") from None


def run_fit(kind: str, data, *, method: str | None = None, bootstrap: int = 0, seed: int = 0, a: float = 0.5,
            b: float = 0.5, space: str = "linear", budgets=None, snap_tol: float = 0.1, on_edge: str = "exclude",
            grid="chinchilla", delta: float = 1e-3, tail: float = 0.15, grid_points: int = 1500) -> FitResult:
    """Dispatch one ``replication fit`` kind on a DataFrame; shared by the CLI and the chapters."""
    if kind not in KINDS:
        raise ReplicationError(f"kind={kind!r}; allowed: {', '.join(KINDS)}")
    check_range("bootstrap", bootstrap, 0, 100_000)
    if method is not None and kind != "approach3":
        raise ReplicationError(f"--method applies to approach3 only; got kind {kind!r}")
    if kind == "prefactor":
        if bootstrap:
            raise ReplicationError("--bootstrap does not apply to prefactor (a closed-form fit with fixed exponents)")
        N, D, _, C = observations(data, need_loss=False)
        return fit_prefactors(C, N, D, a, b, space=space)
    if kind == "powerlaw":
        N, D, _, C = observations(data, need_loss=False)
        return fit_compute_optimal(C, N, D, bootstrap=bootstrap, seed=seed)
    if kind == "approach1":
        return fit_approach1(data, tail=tail, grid_points=grid_points, bootstrap=bootstrap, seed=seed)
    if kind == "approach2":
        return fit_approach2(data, budgets=budgets, snap_tol=snap_tol, on_edge=on_edge, bootstrap=bootstrap, seed=seed)
    return fit_approach3(data, method=method or "huber", delta=delta, grid=grid, bootstrap=bootstrap, seed=seed)


def cli(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="replication fit",
        description="Fit a scaling law to a CSV with columns N (parameters), D (tokens), loss, and optionally "
                    "C (FLOPs, default 6ND). prefactor/powerlaw read optimal (N, D, C) rows; approach1 reads "
                    "training curves (optional columns run, horizon); approach2 IsoFLOP runs; approach3 final losses.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--data", required=True, help="CSV file")
    p.add_argument("--method", choices=("huber", "likelihood"), default=None,
                   help="approach3: Chinchilla's Huber-LSE grid fit (default) or Besiroglu et al.'s Huber likelihood")
    p.add_argument("--bootstrap", type=int, default=0, metavar="K", help="bootstrap resamples for intervals (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--a", type=float, default=0.5, help="prefactor: fixed exponent of N_opt (default 0.5)")
    p.add_argument("--b", type=float, default=0.5, help="prefactor: fixed exponent of D_opt (default 0.5)")
    p.add_argument("--space", choices=("linear", "log"), default="linear", help="prefactor: least squares in linear or log space")
    p.add_argument("--budgets", type=_float_list, default=None, help="approach2: snap C to these budgets, e.g. 6e18,1e19")
    p.add_argument("--snap-tol", type=float, default=0.1, help="approach2: keep points within a factor 1±tol of a budget")
    p.add_argument("--on-edge", choices=("exclude", "raise"), default="exclude",
                   help="approach2: a budget without an interior minimum is excluded (listed) or an error")
    p.add_argument("--grid", type=_grid_arg, default="chinchilla", help="approach3: 'chinchilla' (4,500 starts) or a number of them")
    p.add_argument("--delta", type=float, default=1e-3, help="approach3: Huber delta")
    p.add_argument("--tail", type=float, default=0.15, help="approach1: fraction of each schedule used")
    p.add_argument("--grid-points", type=int, default=1500, help="approach1: log-spaced FLOP grid size")
    args = p.parse_args(argv)
    data = read_csv(args.data)
    if data.empty:
        raise ReplicationError(f"--data {args.data!r} has no rows")
    result = run_fit(args.kind, data, method=args.method, bootstrap=args.bootstrap, seed=args.seed, a=args.a, b=args.b,
                     space=args.space, budgets=args.budgets, snap_tol=args.snap_tol, on_edge=args.on_edge,
                     grid=args.grid, delta=args.delta, tail=args.tail, grid_points=args.grid_points)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
    else:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
