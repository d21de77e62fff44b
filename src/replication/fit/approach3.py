"""Approach 3: fit L(N, D) = E + A/N^α + B/D^β to final losses, and the frontier it implies.

Two estimators: Chinchilla's Huber-LSE objective, and Besiroglu et al. (2024)'s Huber likelihood.
The Huber-LSE objective is minimised from a few starts found by variable projection
(:mod:`replication.fit.vpnls`, the default) or from the paper's grid of 4,500 starts; the L-BFGS
runs are advanced together, as one batch of arrays with analytic gradients
(:mod:`replication.fit.optimize`); the best few are polished with scipy.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int, check_number, check_range
from replication.fit.bootstrap import Bootstrap, check_resamples, run_bootstrap
from replication.fit.laws import ScalingLaw
from replication.fit.objectives import (PARAM_NAMES, huber_lse_objective, huber_nll_objective, params_to_theta,
                                        start_grid, theta_to_params)
from replication.fit.observations import inconsistent_rows, need_points, need_variation, observations
from replication.fit.optimize import (ROW_CONVERGED, ROW_LINE_SEARCH_FAILED, ROW_MAX_ITERATIONS,
                                      default_workers, in_threads, irls_likelihood, lbfgs_batch, scipy_polish)
from replication.fit.result import CONVERGED, FAILED, MAX_ITERATIONS, FitResult
from replication.fit.vpnls import vpnls_starts
from replication.papers.chinchilla import TABLE_A3

ESTIMATORS = ("huber", "likelihood")
#: How the Huber-LSE objective's starts are found: variable projection (a grid of (α, β) with (E, A, B)
#: by non-negative least squares) or the paper's grid of 4,500 five-dimensional starts.
SEARCHES = ("vpnls", "grid")

#: The Huber δ allowed (see :func:`fit_approach3`); the paper's is 1e-3.
DELTA_RANGE = (1e-6, 10.0)
#: The most final losses one fit takes. Its 4,500 starts advance as one batch of arrays of starts × points:
#: about 0.4 MB per point (2,000 points: 0.9 GB, 35 s on two cores), so 5,000 points need about 2 GB. The
#: paper fitted ~400 final losses; Epoch AI's reading of its Figure 4 has 245.
MAX_POINTS = 5_000

#: What a bootstrap of Approach 3 reports per resample: the constants and the exponents they imply.
BOOTSTRAP_NAMES = (*PARAM_NAMES, "a", "b")


def predict_loss(params, N, D):
    """L(N, D) = E + A/N^α + B/D^β."""
    N = np.asarray(N, dtype=float)
    D = np.asarray(D, dtype=float)
    return params["E"] + params["A"] / N ** params["alpha"] + params["B"] / D ** params["beta"]


def frontier(params) -> ScalingLaw:
    """The compute-optimal allocation implied by L = E + A/N^α + B/D^β under C = 6·N·D.

    Minimising L along N·D = C/6 gives N_opt = G·(C/6)^a and D_opt = G⁻¹·(C/6)^b with
    a = β/(α+β), b = α/(α+β) and G = (αA/(βB))^{1/(α+β)}.
    """
    A, B, al, be = params["A"], params["B"], params["alpha"], params["beta"]
    for k in ("A", "B", "alpha", "beta"):
        check_range(k, params[k], 0, None, lo_open=True)
    G = (al * A / (be * B)) ** (1 / (al + be))
    a, b = be / (al + be), al / (al + be)
    return ScalingLaw(k_N=G * 6.0**-a, a=a, k_D=6.0**-b / G, b=b)


def compute_for_size(params, N):
    """The budget C (FLOPs) for which N parameters are compute-optimal, and its D_opt tokens."""
    law = frontier(params)
    C = (np.asarray(N, dtype=float) / law.k_N) ** (1 / law.a)
    return C, law.d_opt(C)


def regenerate_table_a3(params: dict, table: pd.DataFrame | None = None, *, tol: float = 0.25) -> pd.DataFrame:
    """Table A3's Approach-3 columns next to the values the frontier of ``params`` gives for the same
    model sizes, and a flag on rows whose printed C is not 6·N·D within a factor 1 ± ``tol`` (a misprint)."""
    t = TABLE_A3 if table is None else table
    C, D = compute_for_size(params, t["N"])
    bad = set(inconsistent_rows(t["N"], t["approach3_C"], t["approach3_D"], tol=tol).tolist())
    return pd.DataFrame({
        "N": t["N"], "C printed": t["approach3_C"], "C ours": C, "C ours / printed": C / t["approach3_C"],
        "D printed": t["approach3_D"], "D ours": D, "D ours / printed": D / t["approach3_D"],
        "printed C / 6ND": t["approach3_C"] / (6 * t["N"] * t["approach3_D"]),
        "misprint": ["C is not 6ND" if i in bad else "" for i in range(len(t))],
    })


def _status(res) -> str:
    """The fit's status from scipy's flag: 0 converged, 1 an iteration or evaluation limit, 2 the line
    search found no lower point. The polish asks for tolerances below rounding, so it normally ends
    the second way, at the minimum to machine precision: that counts as converged."""
    if res.status == 1:
        return MAX_ITERATIONS
    return CONVERGED if np.isfinite(res.fun) else FAILED


def fit_approach3(data=None, *, N=None, D=None, loss=None, method: str = "huber", delta: float = 1e-3,
                  grid=None, bootstrap: int = 0, ci=(10, 90), seed: int = 0, polish: int = 5,
                  start: FitResult | None = None, workers: int | None = None, maxiter: int = 15000,
                  search: str = "vpnls") -> FitResult:
    """Fit L(N, D) = E + A/N^α + B/D^β to observed final losses.

    method="huber": Chinchilla's estimator. Minimise the *sum* Σ Huber_δ(LSE(θ) − log L) from every
    start with L-BFGS and keep the best. All starts run as one batch; the ``polish`` best are then
    refined by scipy's L-BFGS-B at tight tolerances, with at most ``maxiter`` iterations each, and the
    best of those once more from where it stopped (the fit's status is that of the last polish).

    search="vpnls" (default): the starts are the best few points of a grid of (α, β) whose (E, A, B)
    come from non-negative least squares (:mod:`replication.fit.vpnls`), plus any ``grid`` given; it
    reaches the 4,500-start optimum in a fraction of the time. search="grid": the starts are ``grid``
    (default: the paper's 4,500).

    method="likelihood": Besiroglu et al. (2024). Maximise the likelihood of log-residuals that
    follow a Huber density with free scale σ, started from the Huber-LSE fit.

    bootstrap=K refits K resamples of the points (with replacement), each started from the point
    estimate, and reports ``ci`` percentile intervals.

    start: a Huber-LSE result on the same data; method="likelihood" then starts from it instead of
    repeating the grid search.

    workers: threads over which the independent starts (and resamples) are split; default
    :func:`~replication.fit.optimize.default_workers`. Only rounding depends on it (a matrix product
    over fewer rows may sum in another order), so the best objective agrees to about 1e-10, relative.
    """
    check_choice("method", method, ESTIMATORS)
    check_choice("search", search, SEARCHES)
    # δ is where a log-loss residual turns from quadratic to linear. For small δ the objective is about
    # δ·Σ|r|, and once its steps fall below the batch's absolute stopping tolerance (2.2e-9) the starts stop
    # where they are: on 40 points with 2% noise, δ = 1e-8 ends at α = 1.5 from 20 starts and 0.25 from 100,
    # δ = 1e-7 and 1e-6 at 0.284 from both; 1e-12 ends at α < 0, a denormal 1e-310 at β = 6e-9, and the
    # likelihood's normaliser 2·exp(−δ²/2)/δ overflows. So 1e-6 (three decades below the paper's 1e-3, a
    # decade above where fits break). Above ~1 every residual (a factor e in the loss) is quadratic: larger δ
    # changes nothing, and 10 bounds a typo, not a choice.
    check_number("delta", delta, DELTA_RANGE[0], DELTA_RANGE[1])
    check_int("polish", polish, 1, 100)
    check_int("maxiter", maxiter, 1)
    check_resamples(bootstrap)
    check_int("seed", seed, 0)
    N, D, loss, _ = observations(data, N=N, D=D, loss=loss)
    n_par = 5 if method == "huber" else 6
    need_points(f"Approach 3 ({method}, {n_par} parameters)", N.size, n_par)
    need_variation("Approach 3 fits how the loss falls with N and with D: it needs N, D and loss each to take "
                   "2 or more values", N=N, D=D, loss=loss)
    if N.size > MAX_POINTS:
        raise ReplicationError(f"Approach 3 got {N.size:,} points; allowed: at most {MAX_POINTS:,} (final losses, one "
                               "per trained model): its batched fit holds every start × every point in memory")
    n, d, l = np.log(N), np.log(D), np.log(loss)
    if search == "grid":
        starts = start_grid(grid, seed)
    else:
        starts = vpnls_starts(n, d, l, delta)
        if grid is not None:
            starts = np.vstack([starts, start_grid(grid, seed)])
    t0 = time.perf_counter()

    def huber_fun(x, rows=None):
        return huber_lse_objective(x, n, d, l, delta)

    if start is not None:
        if method != "likelihood" or start.method != "approach3-huber" or start.n_points != N.size:
            raise ReplicationError("start must be a Huber-LSE Approach-3 result on the same data, for method='likelihood'")
        starts = params_to_theta(start.params)[None, :]
    workers = default_workers() if workers is None else workers
    state = in_threads(lambda part: lbfgs_batch(huber_fun, starts[part]), len(starts), workers)
    order = np.argsort(np.where(np.isfinite(state.f), state.f, np.inf))
    # Polish the best few *distinct* end points: hundreds of starts end in the same basin, and
    # refining copies of one point would only cost time.
    chosen: list[int] = []
    # With variable projection's few starts, an end point 1% above the best lies in another basin,
    # which the polish cannot leave: only the end points near the best are worth polishing.
    worst = state.f[order[0]] * 1.01 if search == "vpnls" else np.inf
    for i in order:
        if len(chosen) == polish or not np.isfinite(state.f[i]) or (chosen and state.f[i] > worst):
            break
        if all(np.abs(state.x[i] - state.x[j]).max() > 1e-3 for j in chosen):
            chosen.append(i)
    if not chosen:
        raise ReplicationError(f"no start of the {len(starts)} reached a finite objective")
    best = None
    for i in chosen:
        res = scipy_polish(huber_fun, state.x[i], maxiter=maxiter)
        if best is None or res.fun < best.fun:
            best = res
    # L-BFGS may stop short near the objective's kinks (|residual| = δ); a restart with fresh curvature
    # memory from where it stopped moves on when it can (at the minimum it stops after one step)
    for _ in range(5):
        again = scipy_polish(huber_fun, best.x, maxiter=maxiter)
        if not again.fun < best.fun:
            break
        best = again
    theta, fun = best.x, float(best.fun)
    if start is None:
        details = {
            "starts": int(len(starts)),
            "starts_converged": int((state.status == ROW_CONVERGED).sum()),
            "starts_line_search_stop": int((state.status == ROW_LINE_SEARCH_FAILED).sum()),
            "starts_at_best": int((state.f <= fun * (1 + 1e-6) + 1e-300).sum()),
            "batch_iterations_max": int(state.nit.max()),
        }
    else:
        details = {"start": "the given Huber-LSE fit"}
    objective = f"sum over points of Huber_δ(LSE − log L), δ={delta:g}"
    title = (f"Approach 3, Huber-LSE grid fit (Hoffmann et al. 2022), {len(starts)} starts" if search == "grid" else
             f"Approach 3, Huber-LSE fit (Hoffmann et al. 2022), {len(starts)} starts by variable projection")

    if method == "likelihood":
        def nll_fun(x, rows=None):
            return huber_nll_objective(x, n, d, l, delta)

        # IRLS gets close in a few dozen cheap steps (see irls_likelihood); scipy then polishes.
        phi0 = irls_likelihood(theta[None, :5], n, d, l, delta, tol=1e-12, maxiter=500).x[0]
        best = scipy_polish(nll_fun, phi0, maxiter=maxiter)
        theta, fun = best.x, float(best.fun)
        details["sigma"] = float(math.exp(theta[5]))
        objective = f"negative log-likelihood, Huber_δ density of log residuals with free scale, δ={delta:g}"
        title = "Approach 3, Huber likelihood (Besiroglu et al. 2024), started from the Huber-LSE grid fit"

    params = theta_to_params(theta)
    details["seconds"] = round(time.perf_counter() - t0, 3)
    interval = None
    if bootstrap:
        tb = time.perf_counter()
        boot = bootstrap_approach3(theta, n, d, l, method=method, delta=delta, resamples=bootstrap, seed=seed,
                                   ci=ci, workers=workers)
        interval = boot.interval()
        details["bootstrap_converged"] = boot.summary
        details["bootstrap_seconds"] = round(time.perf_counter() - tb, 3)
    return FitResult(
        method=f"approach3-{method}", title=title, params=params, x=theta, fun=fun, objective=objective,
        status=_status(best), message=str(best.message), nit=int(best.nit), n_points=int(N.size),
        law=frontier(params), ci=interval, details=details,
        options={"method": method, "search": search if start is None else "start",
                 "delta": delta, "grid": "chinchilla" if len(starts) == 4500 else len(starts),
                 "polish": polish, "bootstrap": bootstrap, "ci_percentiles": ci, "seed": seed, "threads": workers},
    )


def bootstrap_approach3(theta, n, d, l, *, method: str = "huber", delta: float = 1e-3, resamples: int = 4000,
                        seed: int = 0, ci=(10, 90), workers: int | None = None, clusters=None) -> Bootstrap:
    """Refit ``resamples`` bootstrap resamples of the points (log N, log D, log loss) as one batch,
    each started from ``theta``.

    A sample is (A, B, E, α, β, a, b) of a resample whose optimiser ended without hitting its
    iteration limit; the others are left out. ``clusters``: see :func:`bootstrap_estimators`.
    """
    check_choice("method", method, ESTIMATORS)
    return bootstrap_estimators(theta, n, d, l, methods=(method,), delta=delta, resamples=resamples, seed=seed,
                                ci=ci, workers=workers, clusters=clusters)[method]


def bootstrap_estimators(theta, n, d, l, *, methods=ESTIMATORS, delta: float = 1e-3, resamples: int = 4000,
                         seed: int = 0, ci=(10, 90), workers: int | None = None, clusters=None,
                         strata=None) -> dict[str, Bootstrap]:
    """The bootstrap of several estimators on the same resamples: method -> :class:`Bootstrap`.

    Each resample is refitted by Huber-LSE from ``theta``; for "likelihood" the likelihood is then
    maximised from that refit. This is what :func:`bootstrap_approach3` does for either method, so
    asking for both here costs the likelihood's bootstrap alone and gives the same samples.

    ``clusters`` (a label per point, e.g. its compute budget): each resample draws whole clusters
    with replacement, and a cluster drawn k times counts k times (its points weigh k in the sums).
    ``strata`` (a label per point): each resample redraws the points within every stratum.
    """
    for m in methods:
        check_choice("method", m, ESTIMATORS)
    names = [f"{m}:{k}" for m in methods for k in BOOTSTRAP_NAMES]

    def refit(picks: np.ndarray) -> np.ndarray:
        if clusters is None:
            out = refit_approach3(theta, n, d, l, picks=picks, methods=methods, delta=delta, workers=workers)
        else:
            out = refit_approach3(theta, n, d, l, weights=picks, methods=methods, delta=delta, workers=workers)
        return np.concatenate([out[m] for m in methods], axis=1)

    both = run_bootstrap(refit, n.size, resamples, names=names, seed=seed, ci=ci, clusters=clusters,
                         counts=clusters is not None, strata=strata)
    result = {}
    for j, m in enumerate(methods):
        s = both.samples[:, j * len(BOOTSTRAP_NAMES):(j + 1) * len(BOOTSTRAP_NAMES)]
        result[m] = Bootstrap(BOOTSTRAP_NAMES, s[np.isfinite(s).all(1)], both.resamples, both.percentiles)
    return result


def refit_approach3(theta, n, d, l, *, picks=None, weights=None, methods=("huber",), delta: float = 1e-3,
                    workers: int | None = None) -> dict[str, np.ndarray]:
    """Refit many resamples of the points (log N ``n``, log D ``d``, log loss ``l``) at once, each
    started from ``theta``: method -> (resamples, 7) array of (A, B, E, α, β, a, b), a row of NaN
    where the optimiser hit its iteration limit.

    A resample is a row of ``picks`` (indices of points) or of ``weights`` (how often each point
    counts).
    """
    theta0 = np.asarray(theta[:5], dtype=float)
    workers = default_workers() if workers is None else workers
    rows = len(picks) if weights is None else len(weights)

    def solve(part: slice):
        if weights is None:
            nb, db, lb, wb = n[picks[part]], d[picks[part]], l[picks[part]], None
        else:
            nb, db, lb, wb = n, d, l, weights[part]

        def huber_fun(x, r):
            if wb is None:
                return huber_lse_objective(x, nb[r], db[r], lb[r], delta)
            return huber_lse_objective(x, nb, db, lb, delta, weights=wb[r])

        # A relative stopping test: with f ≈ 1e-3, scipy's (2.2e-9·max(|f|, 1)) stops a warm
        # start after a few steps, near the point estimate, making the intervals spuriously narrow.
        tight = {"ftol": 1e-10, "gtol": 0.0, "fscale": 0.0, "maxiter": 2000}
        state = lbfgs_batch(huber_fun, np.tile(theta0, (len(nb) if wb is None else len(wb), 1)), **tight)
        if "likelihood" not in methods:
            return (state,)
        # Each resample starts from its own Huber-LSE fit, which lies close to its likelihood
        # optimum; see irls_likelihood for why the likelihood itself is not left to L-BFGS.
        return state, irls_likelihood(state.x, nb, db, lb, delta, weights=wb)

    states = in_threads(solve, rows, workers)
    out = {}
    for m, state in zip(("huber", "likelihood"), states):
        if m in methods:
            th = state.x[:, :5]
            A, B, E = np.exp(th[:, 0]), np.exp(th[:, 1]), np.exp(th[:, 2])
            al, be = th[:, 3], th[:, 4]
            s = np.c_[A, B, E, al, be, be / (al + be), al / (al + be)]
            s[state.status == ROW_MAX_ITERATIONS] = np.nan
            out[m] = s
    return out
