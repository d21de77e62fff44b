"""Planning with a fitted law L(N, D) = E + A/N^α + B/D^β: what to train for a budget, a target loss and an
expected lifetime of inference tokens (Sardana & Frankle 2023).

Costs are counted as they count them: 6·N·D FLOPs to train on D tokens, 2·N FLOPs per token served, so a
model that will serve T tokens costs 6·N·D + 2·N·T over its life.

- :func:`compute_optimal`: the closed-form frontier at a budget C (Chinchilla).
- :func:`inference_optimal`: the N, D that reach a target loss with the least lifetime FLOPs. With
  P = A/N^α and Q = B/D^β, the first-order condition of the Lagrangian is α·P = β·Q·(1 + T/(3D)); with
  T = 0 it is Chinchilla's balance α·P = β·Q. Along the iso-loss curve P + Q = L − E it is one equation
  in log D, whose left side falls monotonically, solved by a bracketed bisection (see :func:`_solve_d`).
- :func:`with_params`, :func:`with_tokens`: the best use of the remaining freedom when N or D is fixed.
- :class:`Law`: a law to plan with, with bootstrap samples where it has them (:func:`law_from_points` fits
  one; :mod:`replication.studies.planning` names the book's); :func:`plan_samples` propagates a plan
  through the samples.
- :func:`inference_sweep`, :func:`placements`, :func:`compare_laws`: the planning chapter's tables;
  :func:`smaller_and_longer`: Sardana & Frankle's finding checked under given laws, as a Verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_int, check_number
from replication.fit.approach3 import bootstrap_approach3, fit_approach3, frontier, predict_loss
from replication.fit.objectives import params_to_theta
from replication.fit.observations import observations, read_csv
from replication.papers.models import PUBLISHED_MODELS
from replication.verdict import DIFFERS, HOLDS, Verdict

KEYS = ("A", "B", "E", "alpha", "beta")


@dataclass(frozen=True, eq=False)
class Law:
    """A fitted L(N, D): its constants, bootstrap samples of them (rows of A, B, E, α, β) if it has any,
    and the largest N, D and 6ND among the points it was fitted to (None: not known here)."""

    name: str
    params: dict
    samples: np.ndarray | None = None
    trained: dict | None = field(default=None)

    def __post_init__(self):
        for k in KEYS:
            check_number(f"{self.name}: {k}", float(self.params[k]), 0, None, lo_open=True)

    def sample_params(self):
        """The bootstrap samples as one dict of arrays (A, B, E, alpha, beta), or None."""
        if self.samples is None:
            return None
        return dict(zip(KEYS, np.asarray(self.samples, dtype=float)[:, :5].T))

    def extrapolates(self, N, D) -> bool:
        """Whether (N, D) lies beyond the largest N, D or 6ND the law was fitted to (True when not known)."""
        if self.trained is None:
            return True
        return bool(N > self.trained["N"] or D > self.trained["D"] or 6 * N * D > self.trained["C"])


def law_from_points(name: str, data, *, bootstrap: int = 1000, seed: int = 0, method: str = "huber") -> Law:
    """Approach 3 fitted to ``data`` (a DataFrame, or a CSV path, of N, D or C, loss), with ``bootstrap``
    resamples of the points (0: none) as its samples (several seconds)."""
    check_int("bootstrap", bootstrap, 0, 1_000_000)
    data = read_csv(data) if isinstance(data, str) else data
    fit = fit_approach3(data, method=method)
    N, D, loss, C = observations(data)
    samples = None
    if bootstrap:
        boot = bootstrap_approach3(params_to_theta(fit.params), np.log(N), np.log(D), np.log(loss),
                                   method=method, resamples=bootstrap, seed=seed)
        samples = boot.samples
    return Law(name, dict(fit.params), samples, {"N": float(N.max()), "D": float(D.max()), "C": float((6 * N * D).max())})


# ----------------------------------------------------------------------------------------------
# the solutions, for one set of constants (scalars) or many (arrays of bootstrap samples)


def _reducible(p, loss) -> np.ndarray:
    """L − E, which must be > 0: no finite model reaches the law's irreducible loss E."""
    gap = np.asarray(loss, dtype=float) - p["E"]
    if np.ndim(gap) == 0 and not gap > 0:
        raise ReplicationError(f"target loss {float(loss):g} is not above the law's irreducible loss "
                               f"E = {float(p['E']):.4g}; allowed: loss > E")
    return np.where(gap > 0, gap, np.nan)


def _n_for(p, P):
    """N with A/N^α = P."""
    return (p["A"] / P) ** (1 / p["alpha"])


def _d_for(p, Q):
    """D with B/D^β = Q."""
    return (p["B"] / Q) ** (1 / p["beta"])


def compute_optimal(p, C) -> dict:
    """N_opt, D_opt, tokens per parameter and predicted loss at budget C (C = 6ND, the closed form)."""
    law = frontier(p)
    N, D = law.n_opt(C), law.d_opt(C)
    return {"N": N, "D": D, "tokens_per_param": D / N, "loss": predict_loss(p, N, D), "C": np.asarray(C, float)}


def chinchilla_at_loss(p, loss) -> dict:
    """The compute-optimal model that reaches ``loss``: α·P = β·Q with P + Q = L − E."""
    gap = _reducible(p, loss)
    P = p["beta"] * gap / (p["alpha"] + p["beta"])
    N, D = _n_for(p, P), _d_for(p, gap - P)
    return _costs({"N": N, "D": D}, 0.0)


def _costs(m: dict, T) -> dict:
    T = np.asarray(T, dtype=float)
    m["tokens_per_param"] = m["D"] / m["N"]
    m["train_flops"] = 6 * m["N"] * m["D"]
    m["inference_flops"] = 2 * m["N"] * T
    m["total_flops"] = m["train_flops"] + m["inference_flops"]
    return m


def _solve_d(p, gap, T, iterations: int = 200):
    """log D of the inference-aware optimum: the root of
        g(log D) = log Q + log(1 + (β/α)·(1 + T/(3D))) − log(L − E),   Q = B/D^β,
    which falls strictly as D grows (both terms do). At D_c, Chinchilla's D for this loss, g >= 0 (T >= 0);
    at D_hi, where Q·(1 + (β/α)(1 + T/(3·D_c))) = L − E, g <= 0. Bisection on that bracket, all samples at once,
    to the last bit."""
    r = p["beta"] / p["alpha"]
    lo = np.log(_d_for(p, gap / (1 + r)))
    hi = np.log(_d_for(p, gap / (1 + r * (1 + T / (3 * np.exp(lo))))))
    return _bisect_decreasing(
        lambda x: np.log(p["B"]) - p["beta"] * x + np.log1p(r * (1 + T / (3 * np.exp(x)))) - np.log(gap),
        lo, hi, iterations)


def _bisect_decreasing(g, lo, hi, iterations: int = 200):
    """The root of a decreasing ``g`` bracketed by [lo, hi], elementwise over arrays, to the last bit."""
    lo, hi = np.broadcast_arrays(lo, hi)
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        positive = g(mid) > 0
        lo = np.where(positive, mid, lo)
        hi = np.where(positive, hi, mid)
        if np.all((hi - lo) <= 4e-16 * np.maximum(np.abs(hi), 1)):
            break
    return 0.5 * (lo + hi)


def inference_optimal(p, loss, T=0.0) -> dict:
    """The N and D that reach ``loss`` with the least 6·N·D + 2·N·T FLOPs, their training, inference and
    total FLOPs, and (``chinchilla``) the compute-optimal model of the same loss with the same costs."""
    T = np.asarray(T, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T < 0):
        raise ReplicationError(f"inference tokens={float(np.min(T)) if T.size else T!r} are out of range; allowed: [0, inf)")
    gap = _reducible(p, loss)
    D = np.exp(_solve_d(p, gap, T))
    Q = p["B"] / D ** p["beta"]
    N = _n_for(p, p["beta"] * Q * (1 + T / (3 * D)) / p["alpha"])
    out = _costs({"N": N, "D": D}, T)
    ref = _costs(chinchilla_at_loss(p, loss), T)
    out["chinchilla"] = ref
    out["size_ratio"] = N / ref["N"]  # < 1: smaller than Chinchilla-optimal
    out["token_ratio"] = D / ref["D"]  # > 1: more tokens
    out["saved_flops"] = ref["total_flops"] - out["total_flops"]
    out["saved_fraction"] = out["saved_flops"] / ref["total_flops"]
    return out


def with_params(p, N, *, loss=None, C=None, T=None) -> dict:
    """A model size N fixed: with ``loss``, the tokens it needs to reach it; with ``C``, the tokens C buys and
    the loss; with ``T`` (lifetime inference tokens), the tokens that make N the inference-aware optimum,
    i.e. the D with α·P = β·Q·(1 + T/(3D)); with none, the tokens for which N is compute-optimal."""
    N = np.asarray(check_number("params", float(N), 0, None, lo_open=True), float)
    if sum(x is not None for x in (loss, C, T)) > 1:
        raise ReplicationError("with --params give at most one of --loss, --compute, --inference-tokens")
    P = p["A"] / N ** p["alpha"]
    if loss is not None:
        gap = _reducible(p, loss)
        if np.ndim(gap) == 0 and not P < gap:
            raise ReplicationError(f"a model of {float(N):.3g} parameters cannot reach loss {float(loss):g} under "
                                   f"this law (its loss with unlimited data is {float(p['E'] + P):.4g}); "
                                   f"allowed: params > {float(_n_for(p, gap)):.3g}")
        D = _d_for(p, np.where(P < gap, gap - P, np.nan))
    elif C is not None:
        D = np.asarray(check_number("compute", float(C), 0, None, lo_open=True), float) / (6 * N)
    else:
        T = 0.0 if T is None else check_number("inference tokens", float(T), 0, None)
        # α·P·D^β/(β·B) = 1 + T/(3D): the left side rises with D, the right falls; bisect in log D
        c = p["alpha"] * P / (p["beta"] * p["B"])
        lo = np.log(c ** (-1 / p["beta"]))  # T = 0: x = 1
        hi = np.log((c ** -1 * (1 + T / (3 * np.exp(lo)))) ** (1 / p["beta"]))
        D = np.exp(_bisect_decreasing(lambda x: np.log1p(T / (3 * np.exp(x))) - np.log(c) - p["beta"] * x, lo, hi))
    out = _costs({"N": N, "D": D}, 0.0 if T is None else T)
    out["loss"] = predict_loss(p, N, D)
    out["C"] = out["train_flops"]
    return out


def with_tokens(p, D, *, loss=None, C=None, T=None) -> dict:
    """A data set of D tokens fixed (trained on once): with ``loss``, the smallest N that reaches it; with
    ``C``, the N that C affords; with ``T``, the N that makes D the inference-aware optimum (closed form:
    A/N^α = (β/α)·Q·(1 + T/(3D))); with none, the N for which D is compute-optimal."""
    D = np.asarray(check_number("tokens", float(D), 0, None, lo_open=True), float)
    if sum(x is not None for x in (loss, C, T)) > 1:
        raise ReplicationError("with --tokens give at most one of --loss, --compute, --inference-tokens")
    Q = p["B"] / D ** p["beta"]
    if loss is not None:
        gap = _reducible(p, loss)
        if np.ndim(gap) == 0 and not Q < gap:
            raise ReplicationError(f"{float(D):.3g} tokens cannot reach loss {float(loss):g} under this law (its loss "
                                   f"with an unlimited model is {float(p['E'] + Q):.4g}); allowed: tokens > "
                                   f"{float(_d_for(p, gap)):.3g}")
        N = _n_for(p, np.where(Q < gap, gap - Q, np.nan))
    elif C is not None:
        N = np.asarray(check_number("compute", float(C), 0, None, lo_open=True), float) / (6 * D)
    else:
        T = 0.0 if T is None else check_number("inference tokens", float(T), 0, None)
        N = _n_for(p, p["beta"] * Q * (1 + T / (3 * D)) / p["alpha"])
    out = _costs({"N": N, "D": D}, 0.0 if T is None else T)
    out["loss"] = predict_loss(p, N, D)
    out["C"] = out["train_flops"]
    return out


def placement(p, N, D) -> dict:
    """Where a trained model (N, D) sits under the law: its predicted loss, its tokens per parameter over the
    compute-optimal one at its own budget 6ND (the over-training factor; < 1: under-trained), the
    Chinchilla-optimal model of the same loss, and the lifetime inference tokens T for which (N, D) is the
    inference-aware optimum, T = 3D·(α·P/(β·Q) − 1) (NaN for an under-trained model: no T makes it optimal)."""
    loss = float(predict_loss(p, N, D))
    opt = compute_optimal(p, 6 * N * D)
    same = chinchilla_at_loss(p, loss)
    x = p["alpha"] * p["A"] / N ** p["alpha"] / (p["beta"] * p["B"] / D ** p["beta"])
    return {"N": N, "D": D, "tokens_per_param": D / N, "loss": loss,
            "overtraining": (D / N) / float(opt["tokens_per_param"]),
            "N_chinchilla_same_loss": float(same["N"]), "D_chinchilla_same_loss": float(same["D"]),
            "breakeven_inference_tokens": 3 * D * (x - 1) if x >= 1 else math.nan}


def plan_samples(law: Law, func, *args, ci=(10, 90), keys=("N", "D", "tokens_per_param"), **kwargs) -> dict | None:
    """``func`` (e.g. :func:`inference_optimal`) over the law's bootstrap samples: key -> (lo, hi) percentiles,
    and ``kept``/``samples``: how many samples gave an answer (a sample whose E is above a target loss gives
    none). None when the law has no samples."""
    sp = law.sample_params()
    if sp is None:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        out = func(sp, *args, **kwargs)
    ok = np.all([np.isfinite(out[k]) for k in keys], axis=0)
    res = {"kept": int(ok.sum()), "samples": int(ok.size), "percentiles": tuple(ci)}
    for k in keys:
        v = np.asarray(out[k])[ok]
        res[k] = tuple(float(x) for x in np.percentile(v, ci)) if v.size else (math.nan, math.nan)
    return res


# ----------------------------------------------------------------------------------------------
# the planning chapter's tables and its verdict


def inference_sweep(p, losses, T) -> pd.DataFrame:
    """The inference-aware optimum for every (target loss, lifetime inference tokens T), one row each:
    N, D, D/N, N and D over the Chinchilla-optimal model of that loss, and the share of its lifetime
    FLOPs saved (percent)."""
    if len(losses) == 0:
        raise ReplicationError("losses is empty; allowed: one or more target losses above the law's E")
    rows = []
    for loss in losses:
        r = inference_optimal(p, loss, T)
        rows.append(pd.DataFrame({"loss": loss, "T": T, "N": r["N"], "D": r["D"], "D/N": r["tokens_per_param"],
                                  "N / N_chinchilla": r["size_ratio"], "D / D_chinchilla": r["token_ratio"],
                                  "saved %": 100 * r["saved_fraction"]}))
    return pd.concat(rows, ignore_index=True)


def placements(p, models: dict = PUBLISHED_MODELS) -> pd.DataFrame:
    """:func:`placement` of each model (name -> (N, D)): its loss under the law, over-training factor and
    break-even lifetime inference tokens."""
    t = pd.DataFrame({name: placement(p, N, D) for name, (N, D) in models.items()}).T
    return t[["N", "D", "tokens_per_param", "loss", "overtraining", "breakeven_inference_tokens"]].astype(float)


def compare_laws(laws: list[Law], loss: float, T_values) -> pd.DataFrame:
    """The inference-aware optimum of one target loss under each law, for each T: N, D, D/N and, where the
    law has samples, the 10th and 90th percentiles of N and D/N over them (NaN where it has none)."""
    rows = []
    for law in laws:
        for T in T_values:
            r = inference_optimal(law.params, loss, T)
            iv = plan_samples(law, inference_optimal, loss, T) or {}
            n_lo, n_hi = iv.get("N", (math.nan, math.nan))
            t_lo, t_hi = iv.get("tokens_per_param", (math.nan, math.nan))
            rows.append({"law": law.name, "T": float(T), "N": float(r["N"]), "N lo": n_lo, "N hi": n_hi,
                         "D": float(r["D"]), "D/N": float(r["tokens_per_param"]), "D/N lo": t_lo, "D/N hi": t_hi})
    return pd.DataFrame(rows)


def smaller_and_longer(laws: list[Law], loss: float, T_values) -> Verdict:
    """Sardana & Frankle's finding under each law and lifetime: *holds* when the least-lifetime-FLOPs model
    of ``loss`` is smaller, and trained on more tokens, than the Chinchilla-optimal model of that loss;
    *differs* otherwise. ``ours`` is the largest size ratio found (below 1 when it holds)."""
    ratios = [inference_optimal(law.params, loss, T) for law in laws for T in T_values]
    if not ratios:
        raise ReplicationError("smaller_and_longer needs a law and a lifetime; allowed: one or more of each")
    holds = all(float(r["size_ratio"]) < 1 < float(r["token_ratio"]) for r in ratios)
    size = max(float(r["size_ratio"]) for r in ratios)
    return Verdict(claim="Sardana and Frankle: a model that will serve many tokens should be smaller, and trained "
                         "longer, than the Chinchilla-optimal model of its loss.",
                   outcome=HOLDS if holds else DIFFERS, test=f"inference-aware optimum under {len(laws)} law(s)",
                   paper=1.0, ours=size)
