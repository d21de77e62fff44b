"""The bias of Approach 2's exponent under each estimator of a profile's minimum, on synthetic IsoFLOP
profiles whose answer is known.

The profiles are drawn as a real sweep draws them (Czech et al. 2026): one ladder of model sizes for
every budget, log-spaced, each budget keeping the sizes at which it gives 2 to 2,000 tokens per
parameter, so the optimum drifts across the ladder and sits off-centre in each budget's sizes. Losses
follow L = E + A/N^α + B/D^β with C = 6ND (true a = β/(α+β)), times exp(noise·ε). A case may add
``steep``·max(0, ln(N_opt/N))³ to every loss: a small-model side steeper than the parametric form, with
the optimum unmoved (the term and its slope vanish at N_opt), so a is still known.

Everything is vectorised over noise seeds: a study of 5 cases × 100 seeds × 4 estimators takes about a
second. :func:`off_centre_bias` shows the simplest bias, on one noiseless profile: a parabola's vertex when
the sampled sizes are not centred on the optimum.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_int, check_number
from replication.fit.approach2 import parabola_vertex
from replication.fit.approach3 import frontier, predict_loss
from replication.fit.synthetic import synthetic_isoflops
from replication.fit.vertex import DEFAULT_ESTIMATOR, VERTEX_ESTIMATORS, check_estimator, minima

#: Chinchilla's nine IsoFLOP budgets (FLOPs), as in its Figure 3.
BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
#: The bias bounds a default estimator must meet in every case: |mean error of a| and its RMSE.
MAX_MEAN_ERROR, MAX_RMSE = 0.005, 0.02


class Case(NamedTuple):
    """A synthetic surface: its exponents, how much steeper its small-model side is, and where its
    optimum lies at the geometric middle of :data:`BUDGETS` (tokens per parameter, and the reducible loss
    A/N^α + B/D^β there). The defaults are those of the paper's eq. 10, so that every case has a
    profile as deep as the paper's, whatever its exponents."""

    alpha: float
    beta: float
    steep: float = 0.0
    E: float = 1.69
    reducible: float = 0.82
    tokens_per_param: float = 28.5

    def params(self) -> dict:
        """{E, A, B, alpha, beta}. At the optimum the two terms share the reducible loss as β : α
        (d/d log N of A/N^α + B/D^β along N·D = C/6 is zero there)."""
        c_mid = math.sqrt(BUDGETS[0] * BUDGETS[-1])
        n_opt = math.sqrt(c_mid / (6 * self.tokens_per_param))
        d_opt = c_mid / (6 * n_opt)
        share = self.reducible / (self.alpha + self.beta)
        return {"E": self.E, "A": self.beta * share * n_opt ** self.alpha,
                "B": self.alpha * share * d_opt ** self.beta, "alpha": self.alpha, "beta": self.beta}

    @property
    def true_a(self) -> float:
        return self.beta / (self.alpha + self.beta)


#: The cases of the study: the paper's exponents, exponents far apart either way, and two profiles
#: whose small-model side is steeper than the parametric form.
CASES = {
    "alpha 0.34, beta 0.28 (the paper's)": Case(0.34, 0.28),
    "alpha 0.5, beta 0.3": Case(0.5, 0.3),
    "alpha 0.3, beta 0.45": Case(0.3, 0.45),
    "alpha 0.34, beta 0.28, steeper small side": Case(0.34, 0.28, steep=0.02),
    "alpha 0.5, beta 0.3, steeper small side": Case(0.5, 0.3, steep=0.02),
}


def ladder(budgets=BUDGETS, sizes: int = 24, tokens_per_param=(2.0, 2000.0)) -> np.ndarray:
    """One ladder of ``sizes`` log-spaced model sizes spanning every budget's range of sizes with
    ``tokens_per_param`` tokens per parameter (D/N = C/6N²)."""
    lo_tpp, hi_tpp = tokens_per_param
    return np.geomspace(math.sqrt(min(budgets) / (6 * hi_tpp)), math.sqrt(max(budgets) / (6 * lo_tpp)), sizes)


def ladder_profiles(case: Case, seeds: int, *, budgets=BUDGETS, sizes: int = 24, noise: float = 0.002,
                    first_seed: int = 0, tokens_per_param=(2.0, 2000.0)):
    """The profiles of ``seeds`` noise draws: a list, per budget, of (log N (sizes,), loss (seeds, sizes))."""
    check_int("seeds", seeds, 1, 100_000)
    check_number("noise", noise, 0, 1)
    params, law = case.params(), frontier(case.params())
    N = ladder(budgets, sizes, tokens_per_param)
    out = []
    for k, C in enumerate(budgets):
        n = N[(C / (6 * N * N) >= tokens_per_param[0]) & (C / (6 * N * N) <= tokens_per_param[1])]
        loss = predict_loss(params, n, C / (6 * n)) + case.steep * np.maximum(0, np.log(law.n_opt(C) / n)) ** 3
        # one generator per (seed, budget), so that a seed's draw does not depend on how many seeds run
        eps = np.stack([np.random.default_rng([first_seed + s, k]).standard_normal(n.size) for s in range(seeds)])
        out.append((np.log(n), loss * np.exp(noise * eps)))
    return out


def exponent_errors(case: Case, estimator: str, seeds: int = 100, **kw) -> np.ndarray:
    """a − true a of each seed's fit (NaN where fewer than two budgets have a minimum): a is the
    least-squares slope of log N* on log C over the budgets with a minimum, as in Approach 2."""
    check_estimator(estimator)
    budgets = kw.get("budgets", BUDGETS)
    v = np.stack([minima(x, y, estimator=estimator).x for x, y in ladder_profiles(case, seeds, **kw)], axis=1)
    used = np.isfinite(v)
    k = used.sum(1)
    log_c = np.log(np.asarray(budgets, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        cbar = np.where(used, log_c, 0).sum(1) / k
        vbar = np.where(used, v, 0).sum(1) / k
        dc = np.where(used, log_c - cbar[:, None], 0)
        a = (dc * np.where(used, v - vbar[:, None], 0)).sum(1) / (dc * dc).sum(1)
    return np.where(k >= 2, a, np.nan) - case.true_a


def bias_table(cases=None, estimators=VERTEX_ESTIMATORS, seeds: int = 100, **kw):
    """One row per (case, estimator): true a, mean error of a, its RMSE, the seeds without an estimate,
    and whether the bounds (:data:`MAX_MEAN_ERROR`, :data:`MAX_RMSE`) are met."""
    cases = CASES if cases is None else cases
    if not cases:
        raise ReplicationError("cases is empty; allowed: a mapping of names to Case")
    rows = []
    for name, case in cases.items():
        for est in estimators:
            err = exponent_errors(case, est, seeds, **kw)
            ok = err[np.isfinite(err)]
            mean = float(ok.mean()) if ok.size else math.nan
            rmse = float(np.sqrt((ok * ok).mean())) if ok.size else math.nan
            rows.append({"case": name, "estimator": est, "true a": case.true_a, "mean error": mean, "RMSE": rmse,
                         "failed": int(err.size - ok.size), "seeds": seeds,
                         "meets bounds": bool(abs(mean) <= MAX_MEAN_ERROR and rmse <= MAX_RMSE
                                              and ok.size == err.size)})
    return pd.DataFrame(rows)


def default_meets_bounds(table) -> bool:
    """Whether :data:`DEFAULT_ESTIMATOR` meets the bounds in every case of a :func:`bias_table`."""
    return bool(table.loc[table["estimator"] == DEFAULT_ESTIMATOR, "meets bounds"].all())


def off_centre_bias(params: dict, budget: float, offsets, *, span: float = 2.0, sizes: int = 9) -> pd.DataFrame:
    """How far the parabola's vertex lands from the true N_opt when the sampled sizes are centred
    ``offset`` decades away from it (a noiseless surface, so all of the error is the method's)."""
    if len(offsets) == 0:
        raise ReplicationError("offsets is empty; allowed: one or more offsets in decades, e.g. [-0.4, 0.0, 0.4]")
    truth = float(frontier(params).n_opt(budget))
    rows = []
    for off in offsets:
        t = synthetic_isoflops(params, [budget], sizes=sizes, span=span, offset=off)
        vertex = parabola_vertex(np.log(t["N"]), t["loss"])
        found = vertex.reason is None
        rows.append({"offset (decades)": off, "N_opt": truth, "vertex N*": math.exp(vertex.x) if found else math.nan,
                     "N*/N_opt - 1": math.exp(vertex.x) / truth - 1 if found else math.nan,
                     "note": vertex.reason or ""})
    return pd.DataFrame(rows)
