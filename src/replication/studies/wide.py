"""The wide study's results (:mod:`replication.studies.wide_design`, issue 30), read from the run store as
far as it is recorded: what has trained (:func:`progress`), the held-out prediction, the paper's own test
(:func:`held_out_prediction`), and the headline (:func:`verdicts`). The learning-rate sweep and its rule are
:mod:`replication.studies.wide_lr`; the warmup pilot, the batch test and Chinchilla against Gopher in
miniature, each a paired test, :mod:`replication.studies.wide_paired`.

The held-out prediction fits the budgets held in and predicts, at each budget held out, before reading it:

- **N\\***: the least-squares line of log N* on log C through the held-in vertices (Approach 2, each
  budget's minimum by the default estimator), C the nominal budget a planner knows in advance, N counted
  by the convention asked. Its interval is the wider of the line's 80% prediction interval from the
  vertices' scatter about it (t with k − 2 degrees of freedom, so the scatter *between* budgets is in it)
  and the 10th-90th percentiles of the bootstrap's resampled lines (runs redrawn within budgets).
- **the minimum loss**: Approach 3 (Huber) fitted to every held-in run, minimised along the held-out
  budget's IsoFLOP line over the sizes trained there. Its interval is an 80% prediction interval in log loss
  from the errors of the same prediction made for each held-in budget by the surface fitted without its
  runs (their root mean square, t with k − 1 degrees of freedom): the error of a budget the fit has not
  seen, the surface's uncertainty and the scatter between budgets together.

What it measures there is Approach 2's vertex and the fitted profile's loss at it, each with its bootstrap.
"""
from __future__ import annotations

import math
from dataclasses import astuple, dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from replication import memo
from replication.errors import ReplicationError, check_choice
from replication.fit import fit_approach3, params_to_theta, predict_loss
from replication.fit.vertex import DEFAULT_ESTIMATOR
from replication.papers.chinchilla import TABLE_2
from replication.studies import stats
from replication.studies.chinchilla_approach2 import approach2
from replication.studies.chinchilla_runs import COUNTS, runs_table
from replication.studies.runs import open_store
from replication.studies.wide_design import DEFAULT, WideStudy
from replication.studies.wide_lr import repeat_points
from replication.studies.wide_paired import duel, duel_table, n_opt_loss
from replication.studies.wide_plan import plan
from replication.verdict import AGREES, DISAGREES, INCONCLUSIVE, Verdict

#: Central share of every interval here (the paper's Table 2 gives 10th-90th percentiles).
LEVEL = 0.8


def part_configs(study: WideStudy = DEFAULT, store=None) -> dict[str, list | None]:
    """part -> its run configs, in :func:`~replication.studies.wide_plan.plan`'s order; None for a part whose
    runs are not yet known (the second seeds follow the first, every later run the fitted rule)."""
    first = [study.sweep_config(*p) for p in study.sweep_points()]
    out: dict[str, list | None] = {"learning-rate sweep, first seeds": first}
    try:
        out["learning-rate sweep, second seeds"] = [study.sweep_config(*p) for p in repeat_points(study, store)]
    except ReplicationError:
        out["learning-rate sweep, second seeds"] = None
    out["warmup pilot"] = study.tuning_configs()[len(first):]
    try:
        ruled = study.rule is not None
    except ReplicationError:  # the sweep is not all recorded: no run after it is known yet
        ruled = None
    iso = study.isoflop_points()
    parts = {"IsoFLOP profiles, first seeds": [p for p in iso if p[2] in study.seeds],
             "IsoFLOP profiles, vertex seeds": [p for p in iso if p[2] not in study.seeds]}
    for name, pts in parts.items():
        out[name] = ruled and [study.config(study.widths[j], study.budgets[k], s) for k, j, s in pts]
    out[f"batch {study.batch_alternative}"] = ruled and study.batch_configs()
    out["Chinchilla against Gopher"] = ruled and study.duel_n_opt is not None and study.duel_configs()
    return out


def progress(study: WideStudy = DEFAULT, store=None) -> pd.DataFrame:
    """One row per part: runs planned, runs recorded, the core-minutes planned (this machine's measured
    speed) and those the recorded runs took; the last row their total. A run two parts name counts in the
    first."""
    s = open_store(store)
    planned = plan(study).set_index("part")
    rows, seen = [], set()
    for part, cfgs in part_configs(study, s).items():
        done = minutes = 0
        for c in cfgs or []:
            rid = c.run_id()
            if rid in seen:
                continue
            seen.add(rid)
            summary = s.run(rid).summary
            if summary is not None:
                done += 1
                minutes += summary["wall_s"] / 60
        rows.append({"part": part, "runs": int(planned.loc[part, "runs"]), "recorded": done,
                     "planned core-minutes": float(planned.loc[part, "core-minutes"]),
                     "recorded core-minutes": minutes})
    t = pd.DataFrame(rows)
    total = {"part": "total", **{k: t[k].sum() for k in t.columns[1:]}}
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)


# -- the held-out prediction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """One held-out budget: what the held-in fits predicted (``n_star``, ``loss_star``, each with its
    interval) and what the budget measured (N* with its bootstrap interval, the fitted profile's loss at
    it); errors are measured / predicted − 1. ``joint``: both intervals again at ``joint_level``, the level
    at which every prediction of the test lies inside its interval with the shown intervals' probability
    (Bonferroni over the held-out budgets' N* and loss): what the verdict judges by."""

    budget: float
    n_star: float
    n_star_interval: tuple[float, float]
    loss_star: float
    loss_star_interval: tuple[float, float]
    measured_n_star: float
    measured_n_star_interval: tuple[float, float]
    measured_loss_star: float
    joint_level: float = math.nan
    n_star_joint: tuple[float, float] = (math.nan, math.nan)
    loss_star_joint: tuple[float, float] = (math.nan, math.nan)

    @property
    def inside_jointly(self) -> bool:
        """Measured N* and loss inside their ``joint_level`` intervals."""
        return bool(self.n_star_joint[0] <= self.measured_n_star <= self.n_star_joint[1]
                    and self.loss_star_joint[0] <= self.measured_loss_star <= self.loss_star_joint[1])

    @property
    def n_star_error(self) -> float:
        return self.measured_n_star / self.n_star - 1

    @property
    def loss_star_error(self) -> float:
        return self.measured_loss_star / self.loss_star - 1

    @property
    def n_star_inside(self) -> bool:
        lo, hi = self.n_star_interval
        return bool(lo <= self.measured_n_star <= hi)

    @property
    def loss_star_inside(self) -> bool:
        lo, hi = self.loss_star_interval
        return bool(lo <= self.measured_loss_star <= hi)

    def row(self) -> dict:
        return {"C": self.budget, "N* predicted": self.n_star, "N* low": self.n_star_interval[0],
                "N* high": self.n_star_interval[1], "N* measured": self.measured_n_star,
                "N* error": self.n_star_error, "N* inside": self.n_star_inside,
                "L* predicted": self.loss_star, "L* low": self.loss_star_interval[0],
                "L* high": self.loss_star_interval[1], "L* measured": self.measured_loss_star,
                "L* error": self.loss_star_error, "L* inside": self.loss_star_inside}


def _line_prediction(x, y, x0, level: float = LEVEL) -> tuple[float, tuple[float, float]]:
    """The least-squares line of ``y`` on ``x`` at ``x0`` and its ``level`` prediction interval for a new
    point (t with k − 2 degrees of freedom; NaN ends with fewer than 3 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    k = len(x)
    slope, icept = np.polyfit(x, y, 1)
    y0 = float(icept + slope * x0)
    if k < 3:
        return y0, (math.nan, math.nan)
    s = math.sqrt(float(np.sum((y - icept - slope * x) ** 2)) / (k - 2))
    sxx = float(np.sum((x - x.mean()) ** 2))
    half = float(student_t.ppf(0.5 + level / 2, k - 2)) * s * math.sqrt(1 + 1 / k + (x0 - x.mean()) ** 2 / sxx)
    return y0, (y0 - half, y0 + half)


def _surface_minimum(params: dict, g: pd.DataFrame, budget: float, points: int = 400) -> float:
    """The least loss of a fitted L(N, D) along one budget's IsoFLOP line (D = C over the executed FLOPs per
    token), over the sizes trained on it."""
    g = g.sort_values("N")
    logn = np.linspace(np.log(g["N"].min()), np.log(g["N"].max()), points)
    per_tok = np.exp(np.interp(logn, np.log(g["N"]), np.log(g["C executed"] / g["D"])))
    return float(np.min(predict_loss(params, np.exp(logn), budget / per_tok)))


def held_out_prediction(study: WideStudy = DEFAULT, store=None, runs: pd.DataFrame | None = None,
                        count: str = "executed", bootstrap: int = 1000, seed: int = 0, delta: float = 1e-3,
                        estimator: str = DEFAULT_ESTIMATOR, level: float = LEVEL) -> list[Prediction]:
    """The paper's own test on the wide study: fit the budgets held in (:attr:`WideStudy.fit_budgets`),
    predict N* (counted by ``count``) and the minimum loss at each held-out budget that has runs, and set
    each beside what that budget measures. ``runs``: :func:`~replication.studies.chinchilla_runs.runs_table`
    of the study (recorded runs), if already read."""
    check_choice("count", count, COUNTS)
    t = (runs_table(study, store, recorded_only=True) if runs is None else runs).reset_index(drop=True)
    args = {"runs": memo.digest(pd.util.hash_pandas_object(t, index=False).to_numpy()),
            "columns": list(map(str, t.columns)), "study": repr(study), "count": count, "bootstrap": int(bootstrap),
            "seed": int(seed), "delta": float(delta), "estimator": estimator, "level": float(level)}
    rows = memo.kept("wide_held_out_prediction", args, lambda: [astuple(p) for p in _held_out_prediction(
        study, t, count, bootstrap, seed, delta, estimator, level)])
    return [Prediction(*row) for row in rows]


def top_prediction(study: WideStudy, predictions: list[Prediction]) -> Prediction | None:
    """The held-out prediction at the top budget (where Chinchilla against Gopher trains), if made."""
    return next((p for p in predictions or [] if p.budget == study.budgets[-1]), None)


def _held_out_prediction(study: WideStudy, t: pd.DataFrame, count: str, bootstrap: int, seed: int, delta: float,
                         estimator: str, level: float) -> list[Prediction]:
    held_in = t[t["budget"].isin(study.fit_budgets)].reset_index(drop=True)
    out_budgets = [k for k in study.held_out_budgets if (t["budget"] == k).any()]
    if not out_budgets:
        raise ReplicationError("no held-out budget has recorded runs yet "
                               f"(budgets {', '.join(f'{study.budgets[k]:.3g}' for k in study.held_out_budgets)})")
    fit_in = approach2(study, runs=held_in, count=count, bootstrap=bootstrap, seed=seed, estimator=estimator)
    table_in = fit_in.table[fit_in.table["interior"]]
    if len(table_in) < 3:
        raise ReplicationError(f"the held-in budgets have {len(table_in)} interior vertices; 3 are needed for a "
                               "prediction interval")
    x, y = np.log(table_in["C"].to_numpy(float)), np.log(table_in["N_star"].to_numpy(float))
    # each resample's line through its held-in vertices, against the nominal budgets
    w = fit_in.details["vertex_samples"]
    logc_all = np.log(fit_in.table["C"].to_numpy(float))
    lines = []
    if w is not None:
        for row in w[0]:
            ok = np.isfinite(row)
            if ok.sum() >= 2:
                lines.append(np.polyfit(logc_all[ok], row[ok], 1))
    surface = fit_approach3(held_in, method="huber", delta=delta).params
    # each held-in budget's minimum predicted by the surface fitted without that budget's runs: the error a
    # budget the fit has not seen has, the fit's own uncertainty and the scatter between budgets together
    start = params_to_theta(surface)[None]
    resid = []
    for k, r in table_in.set_index("budget").iterrows():
        rest = held_in[held_in["budget"] != k].reset_index(drop=True)
        params = fit_approach3(rest, method="huber", delta=delta, grid=start).params
        resid.append(math.log(r["loss_star"]) - math.log(_surface_minimum(params, held_in[held_in["budget"] == k],
                                                                          r["C"])))
    resid = np.array(resid)
    measured = approach2(study, runs=t, count=count, bootstrap=bootstrap, seed=seed,
                         estimator=estimator).table.set_index("budget")

    def intervals(c: float, l0: float, lev: float):
        y0, (lo, hi) = _line_prediction(x, y, math.log(c), lev)
        if lines:
            tail = 100 * (1 - lev) / 2
            boot = np.percentile([p[1] + p[0] * math.log(c) for p in lines], (tail, 100 - tail))
            lo, hi = min(lo, boot[0]), max(hi, boot[1])
        half = (float(student_t.ppf(0.5 + lev / 2, len(resid) - 1)) * math.sqrt(float(np.mean(resid ** 2)))
                * math.sqrt(1 + 1 / len(resid)))
        return y0, (math.exp(lo), math.exp(hi)), (l0 * math.exp(-half), l0 * math.exp(half))

    joint = 1 - (1 - level) / (2 * len(study.held_out_budgets))
    out = []
    for k in out_budgets:
        c = float(study.budgets[k])
        l0 = _surface_minimum(surface, t[t["budget"] == k], c)
        y0, n_iv, l_iv = intervals(c, l0, level)
        _, n_joint, l_joint = intervals(c, l0, joint)
        m = measured.loc[k]
        out.append(Prediction(c, math.exp(y0), n_iv, l0, l_iv, float(m["N_star"]),
                              (float(m.get("N_star low", math.nan)), float(m.get("N_star high", math.nan))),
                              float(m["loss_star"]), joint, n_joint, l_joint))
    return out


def held_in_n_opt(study: WideStudy = DEFAULT, store=None, estimator: str = DEFAULT_ESTIMATOR) -> float:
    """N_opt at the top budget as the held-in budgets predict it (the line of :func:`held_out_prediction`,
    N every parameter), to three significant digits: where Chinchilla against Gopher trains its predicted
    model (``WideStudy(duel_n_opt=...)``). Every IsoFLOP run of the held-in budgets must be recorded, so
    that the prediction, and with it the duel's run ids, no longer move."""
    t = runs_table(study, store, recorded_only=True)
    held_in = t[t["budget"].isin(study.fit_budgets)].reset_index(drop=True)
    want = sum(1 for k, _, _ in study.isoflop_points() if k in study.fit_budgets)
    if len(held_in) < want:
        raise ReplicationError(f"{want - len(held_in)} of the held-in budgets' {want} IsoFLOP runs are not "
                               "recorded; N_opt for Chinchilla against Gopher waits on all of them")
    table = approach2(study, runs=held_in, bootstrap=0, estimator=estimator).table
    table = table[table["interior"]]
    y0, _ = _line_prediction(np.log(table["C"].to_numpy(float)), np.log(table["N_star"].to_numpy(float)),
                             math.log(study.budgets[-1]))
    return float(f"{math.exp(y0):.3g}")


def prediction_table(predictions: list[Prediction]) -> pd.DataFrame:
    return pd.DataFrame([p.row() for p in predictions])


# -- the verdict -----------------------------------------------------------------------------------------


def verdicts(study: WideStudy = DEFAULT, store=None, counts: pd.DataFrame | None = None, vertices: int | None = None,
             predictions: list[Prediction] | None = None, duel_runs: pd.DataFrame | None = None,
             bootstrap: int = 1000, seed: int = 0) -> list[Verdict]:
    """The study's headline, on the runs recorded so far, three verdicts:

    - a by Approach 2 in the paper's convention (C = 6ND) against Table 2, by its widest interval once three
      budgets have a vertex (*inconclusive* before, with the vertices it has); its finding gives b/a too;
    - the held-out prediction (:func:`_prediction_verdict`): *agrees* when every held-out budget has its N*
      and its least loss inside their joint intervals, *disagrees* when one is outside, *inconclusive* until
      every held-out budget has a vertex;
    - Chinchilla against Gopher: :func:`duel`.

    ``counts``: :func:`~replication.studies.chinchilla_approach2.accounting_table` of the recorded runs and
    ``vertices`` their interior vertices, ``predictions`` :func:`held_out_prediction` and ``duel_runs``
    :func:`duel_table`, each computed here when not given."""
    from replication.studies.chinchilla_approach2 import accounting_table

    t = None
    if counts is None and vertices is None:
        vertices = 0
        try:
            t = runs_table(study, store, recorded_only=True)
            fit = approach2(study, runs=t, bootstrap=bootstrap, seed=seed)
            vertices = int(fit.table["interior"].sum())
            if vertices >= 3:
                counts = accounting_table(study, bootstrap=bootstrap, seed=seed, runs=t, headline=fit)
        except ReplicationError:  # no run recorded, or fewer than two vertices
            pass
    if predictions is None and counts is not None:
        try:
            predictions = held_out_prediction(study, store, runs=t, bootstrap=bootstrap, seed=seed)
        except ReplicationError:
            predictions = []
    if duel_runs is None:
        duel_runs = duel_table(study, store)
    return [_exponent_verdict(study, counts, vertices), _prediction_verdict(study, predictions or []),
            _duel_verdict(study, duel_runs, predictions or [])]


def _exponent_verdict(study: WideStudy, counts: pd.DataFrame | None, vertices: int | None) -> Verdict:
    paper = TABLE_2["approach2"]["a"]
    claim = f"Table 2: $a$ = {paper:.2f} ($C = 6ND$)."
    if counts is None:
        return Verdict(claim=claim, outcome=INCONCLUSIVE, test="the widest interval, once 3 budgets have a vertex",
                       n=vertices or 0, unit="budgets",
                       finding=f"{vertices or 0} of {len(study.budgets)} budgets have a vertex.")
    ex = counts.set_index("count").loc["6N", "intervals"]
    a, r = ex["a"], ex["b/a"]
    of = f"all {a.vertices}" if a.vertices == len(study.budgets) else f"{a.vertices} of {len(study.budgets)}"
    return a.verdict(paper, claim=claim, finding=f"$a$ = {a.estimate:.2f} ({a.widest[0]:.2f}–{a.widest[1]:.2f}), "
                     f"$b/a$ = {r.estimate:.2f} ({r.widest[0]:.2f}–{r.widest[1]:.2f}); {of} budgets.")


def _prediction_verdict(study: WideStudy, predictions: list[Prediction]) -> Verdict:
    """*agrees* when every held-out budget's N* and least loss lie inside their joint intervals (together an
    80% test of the whole prediction, not 80% per number), *disagrees* when one is outside; *inconclusive*
    until every held-out budget has a vertex."""
    claim = "Smaller budgets predict larger ones."
    test = f"joint {LEVEL:.0%} prediction intervals of N* and the least loss at every held-out budget"
    measured = [p for p in predictions if math.isfinite(p.measured_n_star)]
    errors = lambda f: ", ".join(_signed_percent(f(p)) for p in measured)  # noqa: E731
    found = (f"Held out: $N^*$ {errors(lambda p: p.n_star_error)}, least loss "
             f"{errors(lambda p: p.loss_star_error)}")
    if len(measured) < study.held_out:
        return Verdict(claim=claim, outcome=INCONCLUSIVE, test=test, n=len(measured), unit="budgets",
                       finding=(f"{found}; {len(measured)} of {study.held_out} measured." if measured
                                else "No held-out budget has a vertex yet."))
    inside = all(p.inside_jointly for p in measured)
    alone = sum(2 - p.n_star_inside - p.loss_star_inside for p in measured)  # outside their own intervals
    also = f" ({alone} of {2 * len(measured)} outside their own {LEVEL:.0%})" if inside and alone else ""
    return Verdict(claim=claim, outcome=AGREES if inside else DISAGREES, test=test, n=len(measured),
                   unit="budgets", finding=f"{found}: {'all' if inside else 'not all'} inside jointly{also}.")


def _signed_percent(x: float) -> str:
    return f"{x:+.0%}".replace("-", "−") if abs(x) >= 0.01 else f"{x:+.1%}".replace("-", "−")


def _duel_verdict(study: WideStudy, table: pd.DataFrame, predictions: list[Prediction]) -> Verdict:
    """The paired tests of :func:`duel`; the finding adds where N_opt's loss lies against the least loss the
    held-in fits predict at the top budget."""
    claim = f"$N_{{opt}}$ beats models ~{study.duel_ratio:g}× larger and smaller."
    if table.empty:
        return Verdict(claim=claim, outcome=INCONCLUSIVE, test="paired t tests over seeds", n=0,
                       finding="Not trained yet.")
    tests, v = duel(table)
    diffs = ", ".join(f"{name.split()[-1]} {_nats(t)}" for name, t in tests.items())
    own = n_opt_loss(table, top_prediction(study, predictions), LEVEL)
    its = "" if own is None else (f"; its loss {own['mean']:.3f}, {own['where']} the predicted "
                                  f"{own['predicted interval'][0]:.3f}–{own['predicted interval'][1]:.3f}")
    return replace(v, claim=claim, finding=f"In nats: {diffs}{its}.")


def _nats(t: stats.PairedTest) -> str:
    """A paired difference for the verdict: "+0.012 (p = 0.01)", or its seeds where there is no test yet."""
    if t.seeds < 2 or not math.isfinite(t.p):
        return f"{t.seeds} seed{'' if t.seeds == 1 else 's'} paired"
    return f"{t.difference:+.3f} (p = {t.p:.2g})".replace("-", "−")
