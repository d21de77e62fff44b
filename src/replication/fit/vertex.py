"""Where an IsoFLOP profile is lowest: four estimators of N*(C) from the losses of one budget's runs.

- ``all``: Chinchilla's parabola in log N through every run of the budget (its vertex). Over a wide,
  lopsided profile the parabola is biased (Czech et al. 2026): the profile is a sum of two
  exponentials in log N, not a parabola, and when α ≠ β one wall is steeper than the other.
- ``window``: the same parabola through the ``window`` sizes nearest the lowest observed loss only,
  so that it is a local approximation, as a parabola should be.
- ``spline``: Porian et al. (2024): an Akima spline through the mean loss of each size, minimised on a
  fine grid.
- ``profile``: the parametric form along the IsoFLOP line. On C = 6ND, L = E + A/N^α + B/D^β is
  L(x) = E' + A'·e^(−α x) + B'·e^(β x) in x = log N (B/D^β = B(6/C)^β·N^β), so each budget is fitted
  with its own (E', A', α', B', β'): for a grid of (α', β') the rest is linear least squares, and
  the best grid point is refined by zooming. The minimum is in closed form. Each budget keeps its
  own exponents so that a profile whose sides do not follow one pair of exponents (a steeper
  small-model side) is still followed on both sides.

Every estimator works on many point sets at once that share their sizes ``x`` (log N or log D) and
differ in their losses ``y`` and weights (a bootstrap's counts; 0 leaves a point out). The losses of
one size are pooled into their weighted mean, which leaves every least-squares fit unchanged.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.interpolate import Akima1DInterpolator

from replication.errors import check_choice, check_int

#: The estimators of a profile's minimum, by name; :data:`DEFAULT_ESTIMATOR` is the one every fitter uses.
VERTEX_ESTIMATORS = ("all", "window", "spline", "profile")
#: The estimator that met the bias bounds on every synthetic case (see :mod:`replication.fit.vertex_bias`).
DEFAULT_ESTIMATOR = "profile"
#: How many sizes nearest the lowest observed loss the ``window`` parabola goes through.
WINDOW = 5
#: The fewest distinct sizes each estimator needs (a parabola has 3 constants, the profile form 5).
MIN_SIZES = {"all": 3, "window": 3, "spline": 3, "profile": 5}

#: Why a set has no minimum (:attr:`Minima.code`).
OK, TOO_FEW, NO_VALLEY, OUTSIDE = 0, 1, 2, 3
_NO_VALLEY = {"all": "parabola opens downward", "window": "parabola opens downward",
              "spline": "spline is lowest at an end", "profile": "profile fits best without a valley"}

# The profile form's exponent grid, in units of log N: wide enough for any α, β the papers report
# (0.1 to 1), then refined around the best point by zooming in log space.
_EXPONENTS = np.geomspace(0.03, 4.0, 16)
_ZOOM_STEPS, _ZOOM_ROUNDS, _ZOOM_SHRINK = 5, 16, 0.6


class Minima(NamedTuple):
    """The minima of many profiles: where (x), the fitted loss there (y), and why not (code, 0 = found)."""

    x: np.ndarray
    y: np.ndarray
    code: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.code == OK


def check_estimator(estimator: str) -> str:
    """``estimator`` as one of :data:`VERTEX_ESTIMATORS`, or one line naming the allowed ones."""
    return check_choice("estimator", estimator, VERTEX_ESTIMATORS)


def minima(x, y, weights=None, *, estimator: str = DEFAULT_ESTIMATOR, window: int = WINDOW) -> Minima:
    """The minimum of each row of ``y`` (sets, points) over the shared sizes ``x`` (points,), by
    ``estimator``; ``weights`` (sets, points): how often each point counts (None: once)."""
    check_estimator(estimator)
    check_int("window", window, 3, 1000)
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    w = np.ones_like(y) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), y.shape)
    u, inv = np.unique(x, return_inverse=True)
    onehot = (inv[:, None] == np.arange(u.size)).astype(float)  # (points, sizes)
    W = w @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        Y = np.where(W > 0, ((w * np.where(w > 0, y, 0.0)) @ onehot) / W, 0.0)
    present = W > 0
    distinct = present.sum(1)
    if estimator == "spline":
        at, value, code = _spline(u, Y, present)
    elif estimator == "profile":
        at, value, code, _ = _profile(u, Y, W, present)
    else:
        if estimator == "window":
            W = np.where(_window(Y, present, window), W, 0.0)
        at, value, code = _parabola(u, Y, W)
    code = np.where(distinct < MIN_SIZES[estimator], TOO_FEW, code)
    return Minima(np.where(code == OK, at, np.nan), np.where(code == OK, value, np.nan), code)


class Profile(NamedTuple):
    """The minimum of one profile: where (x), the fitted loss there (y), why there is none (reason, None
    when found), the fitted curve as a function of x (NaN outside the fitted sizes), and the parabola's
    coefficients (c0, c1, c2) where the estimator is a parabola (None otherwise)."""

    x: float
    y: float
    reason: str | None
    curve: Callable[[np.ndarray], np.ndarray]
    coef: tuple[float, float, float] | None


def profile_minimum(x, y, *, estimator: str = DEFAULT_ESTIMATOR, window: int = WINDOW) -> Profile:
    """:func:`minima` of one profile (sizes ``x``, losses ``y``), with the curve it fitted (for a figure)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    m = minima(x, y[None, :], estimator=estimator, window=window)
    u = np.unique(x)
    why = reason(int(m.code[0]), estimator, u.size)
    nan = (lambda z: np.full(np.shape(z), np.nan))
    if u.size < MIN_SIZES[estimator]:
        return Profile(float(m.x[0]), float(m.y[0]), why, nan, None)
    count = np.array([(x == s).sum() for s in u], dtype=float)
    mean = np.array([y[x == s].mean() for s in u])
    if estimator == "spline":
        spline = Akima1DInterpolator(u, mean)
        return Profile(float(m.x[0]), float(m.y[0]), why, lambda z: spline(z, extrapolate=False), None)
    if estimator == "profile":
        e, a, p, b, q = _profile(u, mean[None, :], count[None, :], np.ones((1, u.size), bool))[3][0]
        c = u.mean()

        def curve(z):
            z = np.asarray(z, dtype=float)
            return np.where((z >= u[0]) & (z <= u[-1]), e + a * np.exp(-p * (z - c)) + b * np.exp(q * (z - c)), np.nan)
        return Profile(float(m.x[0]), float(m.y[0]), why, curve, None)
    everywhere = np.ones((1, u.size), bool)
    keep = everywhere[0] if estimator == "all" else _window(mean[None, :], everywhere, window)[0]
    used = np.isin(x, u[keep])
    xm = x[used].mean()
    c2, c1, c0 = np.polyfit(x[used] - xm, y[used], 2)
    coef = (c0 - c1 * xm + c2 * xm * xm, c1 - 2 * c2 * xm, c2)  # in uncentred x
    lo, hi = u[keep][0], u[keep][-1]

    def parabola(z):
        z = np.asarray(z, dtype=float)
        return np.where((z >= lo) & (z <= hi), coef[0] + coef[1] * z + coef[2] * z * z, np.nan)
    return Profile(float(m.x[0]), float(m.y[0]), why, parabola, coef)


def reason(code: int, estimator: str, distinct: int) -> str | None:
    """The sentence for a :attr:`Minima.code` (None: a minimum was found)."""
    if code == TOO_FEW:
        return f"{distinct} distinct sizes, need {MIN_SIZES[estimator]}"
    return {OK: None, NO_VALLEY: _NO_VALLEY[estimator], OUTSIDE: "vertex outside the sampled sizes"}[int(code)]


def _parabola(u, Y, W):
    """Weighted least-squares parabola through each set's pooled points, and its vertex; the
    vertex must lie strictly inside the sizes that carry weight."""
    xs = np.broadcast_to(u, Y.shape)
    Wsum = np.maximum(W.sum(1, keepdims=True), 1e-300)
    xm = (W * xs).sum(1, keepdims=True) / Wsum  # centred for conditioning
    t = xs - xm
    X = np.stack([np.ones_like(t), t, t * t], axis=2)
    XtW = (X * W[..., None]).transpose(0, 2, 1)
    G = XtW @ X
    few = (W > 0).sum(1) < 3
    G[few] = np.eye(3)
    c0, c1, c2 = np.linalg.solve(G, XtW @ Y[..., None])[..., 0].T
    with np.errstate(divide="ignore", invalid="ignore"):
        v = -c1 / (2 * c2)
    lo = np.where(W > 0, t, np.inf).min(1)
    hi = np.where(W > 0, t, -np.inf).max(1)
    code = np.where(c2 > 0, np.where((lo < v) & (v < hi), OK, OUTSIDE), NO_VALLEY)
    return v + xm[:, 0], c0 + c1 * v + c2 * v * v, code


def _window(Y, present, k: int) -> np.ndarray:
    """Mask of the k present sizes nearest (in ladder order) the lowest observed mean loss; at an
    end of the sizes the window is shifted inwards, so it always holds k sizes where k are present."""
    rank = np.cumsum(present, axis=1) - 1
    r0 = rank[np.arange(len(Y)), np.where(present, Y, np.inf).argmin(1)]
    lo = np.clip(r0 - k // 2, 0, np.maximum(present.sum(1) - k, 0))
    return present & (rank >= lo[:, None]) & (rank < lo[:, None] + k)


def _spline(u, Y, present):
    """Akima spline through each set's present sizes, minimised on a grid of 64 points per interval;
    a minimum at either end of the sizes is no minimum. Sets sharing the same present sizes (every
    set of a study without a bootstrap) are interpolated together."""
    at, value = np.full(len(Y), np.nan), np.full(len(Y), np.nan)
    code = np.full(len(Y), TOO_FEW)
    patterns, group = np.unique(present, axis=0, return_inverse=True)
    for g, mask in enumerate(patterns):
        rows = np.flatnonzero(group.ravel() == g)
        if mask.sum() < 3:
            continue
        xs = u[mask]
        fine = np.concatenate([np.linspace(a, b, 64, endpoint=False) for a, b in zip(xs[:-1], xs[1:])] + [xs[-1:]])
        curve = Akima1DInterpolator(xs, Y[np.ix_(rows, np.flatnonzero(mask))].T, axis=0)(fine)  # (fine, rows)
        i = curve.argmin(0)
        at[rows], value[rows] = fine[i], curve[i, np.arange(rows.size)]
        code[rows] = np.where((i > 0) & (i < fine.size - 1), OK, NO_VALLEY)
    return at, value, code


def _linear_fit(F1, F2, W, Y, Sw):
    """Weighted least squares of y on [1, f1, f2] for each set and each candidate pair (f1, f2): F1 (sets or 1,
    I, sizes) and F2 (sets or 1, J, sizes) hold the I values of f1 and the J of f2, and every pair (i, j) is a
    candidate. Returns A (of f1), B (of f2), E and the explained sum of squares (larger is a better fit), each
    (sets, I, J). E is eliminated by centring each column on its weighted mean, explicitly: the sums-of-products
    shortcut loses the digits that tell neighbouring candidates apart on a flat valley. A column's sums are
    formed once for its I (or J) values, not once per pair: only the cross sums are (sets, I, J)."""
    F1, F2 = (np.broadcast_to(F, (len(W), *F.shape[1:])) for F in (F1, F2))
    m1, m2 = (np.einsum("sm,scm->sc", W, F) / Sw for F in (F1, F2))
    ybar = (W * Y).sum(1, keepdims=True) / Sw
    G1, G2, yc = F1 - m1[..., None], F2 - m2[..., None], (Y - ybar)[:, :, None]
    WG1, WG2 = G1 * W[:, None, :], G2 * W[:, None, :]
    C11 = np.einsum("sim,sim->si", WG1, G1)[:, :, None]
    C22 = np.einsum("sjm,sjm->sj", WG2, G2)[:, None, :]
    C12 = np.einsum("sim,sjm->sij", WG1, G2)
    C1y, C2y = np.matmul(WG1, yc)[..., 0][:, :, None], np.matmul(WG2, yc)[..., 0][:, None, :]
    det = C11 * C22 - C12 * C12
    with np.errstate(divide="ignore", invalid="ignore"):
        A = (C22 * C1y - C12 * C2y) / det
        B = (C11 * C2y - C12 * C1y) / det
    explained = np.where((det > 1e-12 * C11 * C22) & (A > 0) & (B > 0), A * C1y + B * C2y, -np.inf)
    return A, B, ybar[..., None] - A * m1[:, :, None] - B * m2[:, None, :], explained


def _profile(u, Y, W, present):
    """Fit y = E + A·e^(−p t) + B·e^(q t), t = x − mean x, per set: (p, q) on a grid, then zoomed in
    log space around the best point; (E, A, B) by least squares with A, B > 0 (a valley)."""
    t = u - u.mean()
    Sw = np.maximum(W.sum(1)[:, None], 1e-300)
    p, q = _EXPONENTS[None, :], _EXPONENTS[None, :]  # (sets or 1, values): every (p, q) pair is a candidate
    step = np.log(_EXPONENTS[1] / _EXPONENTS[0])
    offsets = np.linspace(-2, 2, _ZOOM_STEPS)[None, :]
    rows = np.arange(len(Y))
    with np.errstate(over="ignore", invalid="ignore"):
        for round_ in range(_ZOOM_ROUNDS + 1):
            A, B, E, score = _linear_fit(np.exp(-p[..., None] * t), np.exp(q[..., None] * t), W, Y, Sw)
            i, j = np.divmod(score.reshape(len(Y), -1).argmax(1), score.shape[2])
            p0, q0 = (np.broadcast_to(v, (len(Y), v.shape[1]))[rows, k] for v, k in ((p, i), (q, j)))
            found = np.isfinite(score[rows, i, j])
            if round_ == _ZOOM_ROUNDS:
                break
            # the next grid spans two steps either way, in log exponent, and shrinks slowly: the
            # objective's valley runs diagonally (p and q trade off), and a fast zoom would leave it
            p, q = p0[:, None] * np.exp(step * offsets), q0[:, None] * np.exp(step * offsets)
            step *= _ZOOM_SHRINK
        a, b, e = A[rows, i, j], B[rows, i, j], E[rows, i, j]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a side of weight 0: no valley
            v = np.log(p0 * a / (q0 * b)) / (p0 + q0)
            value = e + a * np.exp(-p0 * v) + b * np.exp(q0 * v)
    lo = np.where(present, t, np.inf).min(1)
    hi = np.where(present, t, -np.inf).max(1)
    code = np.where(found, np.where((lo < v) & (v < hi), OK, OUTSIDE), NO_VALLEY)
    return v + u.mean(), value, code, np.c_[e, a, p0, b, q0]
