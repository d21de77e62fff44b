"""Chinchilla's own runs: the 245 points Besiroglu et al. (2024) read off the paper's Figure 4, refitted.

- :func:`points`: the data (``data/chinchilla_figure4_points.csv``), with each point's compute budget.
- :func:`analysis`: Approach 3 by the paper's estimator (Huber-LSE from the 4,500-start grid) and by
  Besiroglu et al.'s Huber likelihood, with bootstrap intervals (resampling points, and resampling
  whole compute budgets); the same without dropping the 5 highest-loss points; Approach 2 on the points
  snapped to the nine IsoFLOP budgets, with a vertex-level bootstrap; a paired bootstrap of the two
  approaches' exponents; the sensitivity to the Huber δ and to summing or averaging the objective
  (:func:`replication.fit.stopping.delta_sweep`).
- :func:`constants`, :func:`intervals`, :func:`implications`: tables of it; :func:`frontier_band`,
  :func:`dropped_residuals`: what the figures and the prose show; :func:`verdicts`: the Verdicts.
- :func:`figure4_summary`: the headline numbers as plain Python values, for the claims ledger.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_int
from replication.fit import (BOOTSTRAP_NAMES, Bootstrap, FitResult, bootstrap_approach2, bootstrap_estimators,
                             budget_labels, fit_approach2, fit_approach3, frontier, params_to_theta, predict_loss,
                             refit_approach3, resampled_exponents, run_bootstrap, start_grid)
from replication import memo
from replication.fit.bootstrap import kept_bootstraps
from replication.fit.stopping import delta_sweep
from replication.repository import DATA_DIR
from replication.papers import chinchilla as paper
from replication.studies.exponents import exponent_intervals
from replication.verdict import AGREES, DISAGREES, Verdict, from_interval

DATA_FILE = DATA_DIR / "chinchilla_figure4_points.csv"
#: Besiroglu et al. drop the 5 points of highest loss before fitting; so do we.
DROPPED = 5
#: Approach 2 keeps the points within a factor 1 ± SNAP_TOL of one of the nine budgets.
SNAP_TOL = 0.1
#: Bootstrap percentile intervals: the paper's 10th/90th (Table 2), and 2.5th/97.5th.
LEVELS = {"80%": (10.0, 90.0), "95%": (2.5, 97.5)}
#: How a bootstrap resamples: single points, or whole compute budgets (all points of a budget together).
SCHEMES = ("points", "budgets")
METHODS = ("huber", "likelihood")
#: The constants of eq. 10.
CONSTANTS = ("A", "B", "E", "alpha", "beta")
#: Chinchilla's budget: 70B parameters on 1.4T tokens, at 6ND.
CHINCHILLA_FLOPS = 6 * paper.CHINCHILLA["N"] * paper.CHINCHILLA["D"]


def points(keep_all: bool = False) -> pd.DataFrame:
    """The points of Figure 4 (columns N, D, C, loss, budget), without the 5 of highest loss unless
    ``keep_all``. ``budget`` is the nearest of the nine IsoFLOP budgets (in log C): the cluster of the
    budget bootstrap."""
    if not DATA_FILE.is_file():
        raise ReplicationError(f"{DATA_FILE}: no such file; the Figure 4 points ship with the repository in data/")
    t = pd.read_csv(DATA_FILE)
    if not keep_all:
        t = t.drop(t["loss"].nlargest(DROPPED).index)
    t = t.reset_index(drop=True)
    b = np.array(paper.ISOFLOP_BUDGETS)
    nearest = np.abs(np.log(t["C"].to_numpy())[:, None] - np.log(b)[None, :]).argmin(1)
    return t.assign(D=t["C"] / (6 * t["N"]), budget=b[nearest])[["N", "D", "C", "loss", "budget"]]


def _logs(t: pd.DataFrame):
    return (np.log(t["N"].to_numpy(float)), np.log(t["D"].to_numpy(float)), np.log(t["loss"].to_numpy(float)))


@dataclass(frozen=True, eq=False)
class Figure4:
    """Everything the chapter shows, computed once by :func:`analysis`."""

    data: pd.DataFrame  # the 240 points
    fits: dict  # method -> FitResult on the 240 points
    fits_all: dict  # method -> FitResult on all 245
    boot: dict  # (method, scheme) -> Bootstrap of (A, B, E, alpha, beta, a, b)
    approach2: FitResult
    approach2_all: FitResult
    approach2_boot: Bootstrap  # (a, b, budgets used), points resampled within each budget
    paired: Bootstrap  # (a3, a2, a3 - a2) on the same resamples of points
    sweep: pd.DataFrame
    resamples: int


@memo.per_process(maxsize=4)
def analysis(resamples: int = 4000, seed: int = 0) -> Figure4:
    """Fit, bootstrap and sweep (about 30 s of one core with 4,000 resamples); cached per process."""
    check_int("resamples", resamples, 100, 100_000)
    data = points()
    n, d, l = _logs(data)
    fits = {"huber": fit_approach3(data)}
    fits["likelihood"] = fit_approach3(data, method="likelihood", start=fits["huber"])
    every = points(keep_all=True)
    # the 240-point optimum joins a random tenth of the grid (the tests check the full grid agrees)
    grid = start_grid("chinchilla")
    grid = np.vstack([grid[np.random.default_rng(0).choice(len(grid), len(grid) // 10, replace=False)],
                      params_to_theta(fits["huber"].params)])
    fits_all = {"huber": fit_approach3(every, grid=grid)}
    fits_all["likelihood"] = fit_approach3(every, method="likelihood", start=fits_all["huber"])
    theta = params_to_theta(fits["huber"].params)
    args = {"resamples": resamples, "seed": seed}
    boot, paired = kept_bootstraps("figure4_points_bootstrap", args,
                                    lambda: plain_bootstrap(data, theta, resamples, seed))
    clustered, _ = kept_bootstraps("figure4_budgets_bootstrap", args, lambda: (bootstrap_estimators(
        theta, n, d, l, resamples=resamples, seed=seed, clusters=data["budget"].to_numpy()), None))
    boot |= {(m, "budgets"): b for m, b in clustered.items()}
    a2, a2_all, a2_boot = isoflop_fits(resamples, seed)
    sweep = pd.DataFrame(memo.kept("figure4_delta_sweep", {}, lambda: delta_sweep(  # 4,500 starts per δ: seconds
        data, fits["huber"]).reset_index().to_dict("records"))).set_index(["delta", "objective", "stop"])
    fig = Figure4(data=data, fits=fits, fits_all=fits_all, boot=boot, approach2=a2, approach2_all=a2_all,
                  approach2_boot=a2_boot, paired=paired, sweep=sweep, resamples=resamples)
    memo.kept("figure4_summary", {"resamples": resamples, "seed": seed}, lambda: summarize(fig, seed))
    return fig


@memo.per_process(maxsize=4)
def isoflop_fits(resamples: int = 4000, seed: int = 0) -> tuple[FitResult, FitResult, Bootstrap]:
    """Approach 2 on the points snapped to the nine budgets (within :data:`SNAP_TOL`): the fit on the
    240 points, the fit on all 245, and the vertex-level bootstrap of the first (under a second)."""
    check_int("resamples", resamples, 100, 100_000)
    data = points()
    fit = fit_approach2(data, budgets=paper.ISOFLOP_BUDGETS, snap_tol=SNAP_TOL)
    fit_all = fit_approach2(points(keep_all=True), budgets=paper.ISOFLOP_BUDGETS, snap_tol=SNAP_TOL)
    _, boot = kept_bootstraps("figure4_vertex_bootstrap", {"resamples": resamples, "seed": seed}, lambda: ({}, (
        bootstrap_approach2(data, budgets=paper.ISOFLOP_BUDGETS, snap_tol=SNAP_TOL, resamples=resamples, seed=seed))))
    return fit, fit_all, boot



def plain_bootstrap(data: pd.DataFrame, theta, resamples: int, seed: int = 0):
    """Points resampled with replacement: both Approach-3 estimators refitted on each resample (the
    samples of :func:`~replication.fit.bootstrap_estimators`), and Approach 2 on the same resample's
    points that lie on a budget, each weighted by how often it was drawn.

    Returns ({(method, "points"): Bootstrap}, the paired Bootstrap of (a3, a2, a3 − a2)), the
    paired one a comparison of the two approaches on common data.
    """
    n, d, l = _logs(data)
    label = budget_labels(data["C"], paper.ISOFLOP_BUDGETS, SNAP_TOL)
    k = len(BOOTSTRAP_NAMES)

    def refit(picks: np.ndarray) -> np.ndarray:
        out = refit_approach3(theta, n, d, l, picks=picks, methods=METHODS)
        rows = np.arange(len(picks))[:, None] * n.size
        counts = np.bincount((rows + picks).ravel(), minlength=picks.size).reshape(picks.shape)
        a2, _ = resampled_exponents(n, data["loss"].to_numpy(float), label, weights=counts)
        return np.c_[out["huber"], out["likelihood"], a2]

    names = [f"{m}:{x}" for m in METHODS for x in BOOTSTRAP_NAMES] + ["a2"]
    b = run_bootstrap(refit, n.size, resamples, names=names, seed=seed)
    boot = {}
    for j, m in enumerate(METHODS):
        s = b.samples[:, j * k:(j + 1) * k]
        boot[m, "points"] = Bootstrap(BOOTSTRAP_NAMES, s[np.isfinite(s).all(1)], resamples)
    a3, a2 = b.samples[:, BOOTSTRAP_NAMES.index("a")], b.samples[:, -1]
    ok = np.isfinite(a3) & np.isfinite(a2)
    paired = Bootstrap(("a3", "a2", "a3 - a2"), np.c_[a3[ok], a2[ok], a3[ok] - a2[ok]], resamples)
    return boot, paired


# --------------------------------------------------------------------------------------------------
# tables


def percentile(b: Bootstrap, name: str, level: str = "95%") -> tuple[float, float]:
    """The ``level`` percentile interval of one column of a bootstrap."""
    lo, hi = np.percentile(b.samples[:, b.names.index(name)], LEVELS[level])
    return float(lo), float(hi)


def constants(fig: Figure4) -> pd.DataFrame:
    """The five constants and the exponents they imply: the paper's eq. 10, Besiroglu et al.'s
    published fit, and our two refits (240 points), plus both refits with all 245 points."""
    cols = {"paper (eq. 10)": paper.EQ10, "paper (unrounded)": paper.EQ10_UNROUNDED,
            "Besiroglu et al. (published)": paper.EPOCH_FIT}
    cols |= {f"ours, {m}": dict(fig.fits[m].params) for m in METHODS}
    cols |= {f"ours, {m}, all 245": dict(fig.fits_all[m].params) for m in METHODS}
    out = {}
    for k, p in cols.items():
        law = frontier(p)
        out[k] = {**{name: p[name] for name in ("A", "B", "E", "alpha", "beta")}, "a": law.a, "b": law.b}
    return pd.DataFrame(out)


def intervals(fig: Figure4, method: str = "huber") -> pd.DataFrame:
    """Per parameter: the estimate, its 80% and 95% intervals under both resampling schemes, and
    whether the paper's value (eq. 10 as printed; Table 2's Approach 3 for a and b) lies inside the 95%."""
    rows = []
    fit = fig.fits[method]
    ref = {**paper.EQ10, "a": paper.TABLE_2["approach3"]["a"], "b": paper.TABLE_2["approach3"]["b"]}
    for name in BOOTSTRAP_NAMES:
        row = {"parameter": name, "estimate": fit[name], "paper": ref[name]}
        for scheme in SCHEMES:
            if (method, scheme) not in fig.boot:
                continue
            b = fig.boot[method, scheme]
            for level in LEVELS:
                row[f"{scheme} {level}"] = percentile(b, name, level)
            lo, hi = percentile(b, name, "95%")
            row[f"paper inside ({scheme}, 95%)"] = bool(lo <= ref[name] <= hi)
        rows.append(row)
    return pd.DataFrame(rows).set_index("parameter")


def _columns(samples: np.ndarray) -> dict:
    return dict(zip(BOOTSTRAP_NAMES, samples.T))


def _implied(p: dict) -> dict:
    """What a fit implies at Gopher's budget and Chinchilla's, for one set of constants (scalars or
    arrays of bootstrap samples)."""
    G = (p["alpha"] * p["A"] / (p["beta"] * p["B"])) ** (1 / (p["alpha"] + p["beta"]))
    a = p["beta"] / (p["alpha"] + p["beta"])
    out = {"a": a, "b": 1 - a}
    for label, C in (("Gopher's budget", paper.GOPHER_FLOPS), ("Chinchilla's budget", CHINCHILLA_FLOPS)):
        n_opt = G * (C / 6) ** a
        d_opt = C / (6 * n_opt)
        out |= {f"N_opt, {label}": n_opt, f"D_opt, {label}": d_opt, f"D_opt/N_opt, {label}": d_opt / n_opt}
    out["L(Gopher)"] = predict_loss(p, **paper.GOPHER)
    out["L(Chinchilla)"] = predict_loss(p, **paper.CHINCHILLA)
    return out


def implications(fig: Figure4, level: str = "95%", scheme: str = "points") -> pd.DataFrame:
    """The frontier exponents, N_opt, D_opt and tokens per parameter at Gopher's and Chinchilla's
    budgets, and the predicted losses of both models: the paper's constants beside each refit, with
    the refits' bootstrap intervals. Both budgets lie far above the largest in the data
    (:func:`extrapolation_factor`): these are the extrapolations the paper itself made."""
    out = {"paper (eq. 10)": _implied(paper.EQ10), "paper (unrounded)": _implied(paper.EQ10_UNROUNDED)}
    for m in METHODS:
        out[f"ours, {m}"] = _implied(dict(fig.fits[m].params))
        samples = _implied(_columns(fig.boot[m, scheme].samples))
        lo, hi = LEVELS[level]
        out[f"{m} {lo:g}%"] = {k: float(np.percentile(v, lo)) for k, v in samples.items()}
        out[f"{m} {hi:g}%"] = {k: float(np.percentile(v, hi)) for k, v in samples.items()}
    return pd.DataFrame(out)


def frontier_band(fig: Figure4, C, level: str = "95%", scheme: str = "points") -> tuple[np.ndarray, np.ndarray]:
    """The ``level`` bootstrap band of the Huber refit's frontier N_opt(C) at the budgets ``C``."""
    s = _columns(fig.boot["huber", scheme].samples)
    G = (s["alpha"] * s["A"] / (s["beta"] * s["B"])) ** (1 / (s["alpha"] + s["beta"]))
    band = G[:, None] * (np.asarray(C, dtype=float)[None, :] / 6) ** s["a"][:, None]
    lo, hi = np.percentile(band, LEVELS[level], axis=0)
    return lo, hi


def dropped_residuals(fig: Figure4) -> tuple[pd.Series, pd.Series]:
    """Log residuals log(loss / fit) under the Huber refit: of the :data:`DROPPED` points left out of it,
    and of the points it was fitted to."""
    every = points(keep_all=True)
    dropped = every["loss"].nlargest(DROPPED).index
    resid = np.log(every["loss"] / predict_loss(dict(fig.fits["huber"].params), every["N"], every["D"]))
    return resid[dropped], resid.drop(dropped)


def extrapolation_factor(fig: Figure4) -> float:
    """How many times Gopher's budget exceeds the largest budget among the points."""
    return paper.GOPHER_FLOPS / float(fig.data["C"].max())


def approach2_table(resamples: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Approach 2's exponents beside Table 2: the point estimate, the vertex-level bootstrap's 80%
    and 95% intervals, and the same fit with all 245 points."""
    fit, fit_all, boot = isoflop_fits(resamples, seed)
    t2 = paper.TABLE_2["approach2"]
    rows = []
    for name in ("a", "b"):
        rows.append({"exponent": name, "Table 2": t2[name], "Table 2, 10th-90th": t2[f"{name}_ci"],
                     "ours (240 points)": fit[name], "ours 80%": percentile(boot, name, "80%"),
                     "ours 95%": percentile(boot, name, "95%"), "ours (all 245)": fit_all[name]})
    return pd.DataFrame(rows).set_index("exponent")


def snap_sensitivity(tolerances=(0.05, 0.1, 0.15, 0.2)) -> pd.DataFrame:
    """Approach 2 with other snapping tolerances: points kept, budgets used, a, b, and the budgets left
    out (a list of {C, reason})."""
    rows = []
    data = points()
    for tol in tolerances:
        f = fit_approach2(data, budgets=paper.ISOFLOP_BUDGETS, snap_tol=tol)
        rows.append({"tolerance": tol, "points": f.n_points, "budgets used": f.details["budgets_used"],
                     "a": f["a"], "b": f["b"], "left out": f.details["excluded"]})
    return pd.DataFrame(rows).set_index("tolerance")


def approach3_widest(fig: Figure4, name: str = "a", level: str = "95%", method: str = "huber") -> tuple[float, float]:
    """The widest of the Approach-3 refit's ``level`` bootstrap intervals of ``name``: runs resampled (each
    run's own noise) and whole compute budgets resampled (which also carries the scatter between budgets)."""
    ends = [percentile(fig.boot[method, scheme], name, level) for scheme in SCHEMES if (method, scheme) in fig.boot]
    return min(e[0] for e in ends), max(e[1] for e in ends)


def verdicts(fig: Figure4) -> list[Verdict]:
    """The verdicts, each from 95% intervals (the claim names the question): eq. 10's constants agree when
    every one lies inside our bootstrap interval (points, or whole budgets, resampled); an exponent when it
    lies inside the widest of its intervals (Approach 3: runs or whole budgets resampled; Approach 2:
    :func:`approach2_exponents`); Approaches 2 and 3 agree when the interval of their paired difference
    holds 0."""
    out = []
    t = intervals(fig)
    for scheme in SCHEMES:
        outside = [k for k in CONSTANTS if not t.loc[k, f"paper inside ({scheme}, 95%)"]]
        out.append(Verdict(claim=f"eq. 10's constants inside the Huber refit's intervals ({scheme} resampled)",
                           outcome=DISAGREES if outside else AGREES,
                           test=f"95% bootstrap intervals, {scheme} resampled",
                           paper="eq. 10", finding=", ".join(outside) + " outside" if outside else "all inside"))
    a3 = approach3_widest(fig)
    a2 = approach2_exponents(fig.resamples, 0, 0.95)["a"]
    t2 = paper.TABLE_2
    a_2, a_3 = t2["approach2"]["a"], t2["approach3"]["a"]
    checks = [
        (f"Approach 3 refit: a against Table 2's Approach 3 ({a_3:.2f})", fig.fits["huber"].a, a3, a_3),
        (f"Approach 3 refit: a against Table 2's Approach 2 ({a_2:.2f})", fig.fits["huber"].a, a3, a_2),
        (f"Approach 2 refit: a against Table 2's Approach 2 ({a_2:.2f})", a2.estimate, a2.widest, a_2),
        ("Approaches 3 and 2 on the same points: a3 − a2 against 0", fig.fits["huber"].a - fig.approach2["a"],
         percentile(fig.paired, "a3 - a2"), 0.0),
    ]
    for claim, ours, interval, value in checks:
        out.append(from_interval(claim, value, ours, interval, test="widest 95% interval"))
    return out


def figure4_summary(resamples: int = 4000, seed: int = 0) -> dict:
    """:func:`summarize` of :func:`analysis`, kept on disk (:mod:`replication.memo`): the claims ledger, the
    approach3 chapter and the tests, each in its own process, share one computation."""
    check_int("resamples", resamples, 100, 100_000)
    return memo.kept("figure4_summary", {"resamples": resamples, "seed": seed},
                     lambda: summarize(analysis(resamples, seed), seed))


def summarize(fig: Figure4, seed: int = 0) -> dict:
    """The headline results as plain numbers (floats, bools, strings, tuples), for the claims ledger.

    Keys: ``n_points``, ``n_dropped``; ``paper``, ``huber``, ``likelihood``: {A, B, E, alpha, beta};
    ``huber_ci80``, ``huber_ci95``, ``likelihood_ci80``, ``likelihood_ci95`` (points resampled) and the
    same with ``_clustered`` (compute budgets resampled): {A, B, E, alpha, beta, a, b} -> (lo, hi);
    ``paper_inside_ci95``, ``paper_inside_ci95_clustered``: {A, B, E, alpha, beta} -> bool, and
    ``paper_replicates`` (all five inside, points resampled); ``approach3_a``, ``approach3_b`` and
    their ``_ci80``/``_ci95`` (Huber refit); ``approach2_a``, ``approach2_b``, their ``_ci80``/``_ci95``
    (vertex bootstrap); ``approach2_a_widest95`` etc.: the widest 95% interval of each exponent
    (:func:`approach2_exponents`, :func:`approach3_widest`), which decides the verdicts; ``approach2_budgets_used``; ``a3_minus_a2_ci95`` (paired); ``table2_a``,
    ``table2_b``, ``table2_a_ci``, ``table2_b_ci`` (Approach 2, printed); ``verdicts``: question -> verdict.
    """
    resamples = fig.resamples
    out = {"n_points": int(len(fig.data)), "n_dropped": DROPPED, "paper": dict(paper.EQ10)}
    for m in METHODS:
        out[m] = {k: float(v) for k, v in fig.fits[m].params.items()}
        for scheme, suffix in (("points", ""), ("budgets", "_clustered")):
            for level, tag in (("80%", "ci80"), ("95%", "ci95")):
                if (m, scheme) in fig.boot:
                    out[f"{m}_{tag}{suffix}"] = {k: percentile(fig.boot[m, scheme], k, level)
                                                 for k in BOOTSTRAP_NAMES}
    for scheme, suffix in (("points", ""), ("budgets", "_clustered")):
        ci = out[f"huber_ci95{suffix}"]
        out[f"paper_inside_ci95{suffix}"] = {k: bool(ci[k][0] <= v <= ci[k][1]) for k, v in paper.EQ10.items()}
    out["paper_replicates"] = all(out["paper_inside_ci95"].values())
    for name in ("a", "b"):
        out[f"approach3_{name}"] = float(fig.fits["huber"][name])
        out[f"approach2_{name}"] = float(fig.approach2[name])
        for level, tag in (("80%", "ci80"), ("95%", "ci95")):
            out[f"approach3_{name}_{tag}"] = percentile(fig.boot["huber", "points"], name, level)
            out[f"approach2_{name}_{tag}"] = percentile(fig.approach2_boot, name, level)
        out[f"table2_{name}"] = paper.TABLE_2["approach2"][name]
        out[f"table2_{name}_ci"] = paper.TABLE_2["approach2"][f"{name}_ci"]
    ex2 = approach2_exponents(resamples, seed, 0.95)
    for name in ("a", "b"):
        out[f"approach2_{name}_widest95"] = tuple(float(x) for x in ex2[name].widest)
        out[f"approach3_{name}_widest95"] = tuple(float(x) for x in approach3_widest(fig, name))
    out["approach2_budgets_used"] = int(fig.approach2.details["budgets_used"])
    out["a3_minus_a2_ci95"] = percentile(fig.paired, "a3 - a2")
    out["verdicts"] = {v.claim: v.label for v in verdicts(fig)}
    return out


#: The snapping tolerances of Approach 2's sensitivity range, beside :data:`SNAP_TOL`.
OTHER_SNAP_TOLS = (0.05, 0.15, 0.2)
#: The name of that range in :class:`~replication.studies.exponents.ExponentIntervals`.
SNAP_RANGE = "snapping tolerance 5% to 20%"


def _vertex_logs(fit: FitResult):
    t = fit.table
    return (np.log(t["C"].to_numpy(float)), np.log(t["N_star"].to_numpy(float)), np.log(t["D_star"].to_numpy(float)))


@memo.per_process(maxsize=4)
def approach2_exponents(resamples: int = 4000, seed: int = 0, level: float = 0.95) -> dict:
    """Approach 2 on the points snapped to the budgets: a, b and b/a, each with the vertex bootstrap's,
    the residual-t and the leave-one-budget-out intervals and the range over the other snapping
    tolerances (:data:`OTHER_SNAP_TOLS`); name -> :class:`~replication.studies.exponents.ExponentIntervals`
    (frozen). There is no ladder of widths here (every point's N is read off the figure), so no
    leave-one-width-out range. Snapping puts D* = C/6N* on every budget, so b = 1 − a and b/a = (1 − a)/a
    in the estimate, the bootstrap and every refit."""
    fit, _, boot = isoflop_fits(resamples, seed)
    a = boot.samples[:, boot.names.index("a")]
    data = points()
    refits = [_vertex_logs(fit_approach2(data, budgets=paper.ISOFLOP_BUDGETS, snap_tol=tol)) for tol in OTHER_SNAP_TOLS]
    return exponent_intervals(*_vertex_logs(fit), bootstrap={"a": a, "b": 1 - a, "b/a": (1 - a) / a},
                              refits={SNAP_RANGE: refits}, level=level)
