"""The learning-rate rule of the wide study, lr*(N, D/N) = lr_ref (N / 10⁵)^(−α) ((D/N) / 32)^(−β): the
optimum moves with the model's size and with its horizon (the tokens per parameter it trains on), and the
wide study's runs span D/N from about 5 to about 800, where the King James study tuned at one horizon.

The sweep (:meth:`WideStudy.sweep_points <replication.studies.wide_design.WideStudy.sweep_points>`) trains
each of three widths at two horizons, four times apart, at rates a factor 2 apart around the King James
study's rule; each cell's optimum is the vertex of a parabola in log lr through its best rate and their two
neighbours (:func:`replication.studies.chinchilla_lr.lr_optima`), and the rule is least squares of log lr*
on log N and log D/N through the bracketed optima (:meth:`HorizonRule.fit`). A design not given a rule
reads it from its recorded sweep (:func:`recorded_rule`), stated to three significant digits, as a run's
rate is part of its id.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_range
from replication.studies.chinchilla_lr import DIGITS, N_REF, LrRule, lr_optima
from replication.studies.runs import open_store, summaries

#: D/N of the rule's reference horizon.
TPP_REF = 32.0


def _sig(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


@dataclass(frozen=True)
class HorizonRule:
    """lr*(N, D/N) = ``lr_ref`` (N / 10⁵)^(−``n_exponent``) ((D/N) / 32)^(−``tpp_exponent``), N every
    parameter, D the run's training tokens; ``cells``: the (size, horizon) optima it was fitted to (0 when
    given)."""

    lr_ref: float
    n_exponent: float
    tpp_exponent: float = 0.0
    cells: int = 0

    def __post_init__(self):
        check_range("lr_ref", self.lr_ref, 0, 1, lo_open=True)
        check_range("lr n_exponent", self.n_exponent, -2, 2)
        check_range("lr tpp_exponent", self.tpp_exponent, -2, 2)

    def __call__(self, n, tpp):
        """The rule's rate at ``n`` parameters trained on ``tpp`` tokens per parameter, unrounded."""
        out = self.lr_ref * (np.asarray(n, float) / N_REF) ** -self.n_exponent \
            * (np.asarray(tpp, float) / TPP_REF) ** -self.tpp_exponent
        return float(out) if out.ndim == 0 else out

    def rate(self, n: float, tpp: float) -> float:
        """A run's peak rate: the rule at (``n``, ``tpp``), to three significant digits."""
        return _sig(self(n, tpp))

    def stated(self) -> HorizonRule:
        return HorizonRule(_sig(self.lr_ref), _sig(self.n_exponent), _sig(self.tpp_exponent), self.cells)

    @classmethod
    def of_size(cls, rule: LrRule) -> HorizonRule:
        """A rule of size alone (the King James study's), as a HorizonRule that ignores the horizon."""
        return cls(rule.lr_ref, rule.exponent, 0.0, rule.sizes)

    @classmethod
    def fit(cls, n, tpp, lr_star) -> HorizonRule:
        """Least squares of log lr* on log(N / 10⁵) and log(D/N / 32) over the finite optima; three or more
        are needed, at two or more sizes and two or more horizons."""
        n, tpp, lr_star = (np.asarray(v, float) for v in (n, tpp, lr_star))
        ok = np.isfinite(lr_star)
        if ok.sum() < 3 or len(set(n[ok])) < 2 or len(set(tpp[ok])) < 2:
            raise ReplicationError(f"the learning-rate sweep brackets {int(ok.sum())} optimum(s) at "
                                   f"{len(set(n[ok]))} size(s) and {len(set(tpp[ok]))} horizon(s); 3 at 2 "
                                   "sizes and 2 horizons needed (widen the sweep's rates)")
        x = np.c_[np.ones(ok.sum()), np.log(n[ok] / N_REF), np.log(tpp[ok] / TPP_REF)]
        coef, *_ = np.linalg.lstsq(x, np.log(lr_star[ok]), rcond=None)
        return cls(float(math.exp(coef[0])), float(-coef[1]), float(-coef[2]), int(ok.sum()))


def best_and_neighbours(grid: pd.DataFrame) -> list[tuple[int, float, float]]:
    """(rung, horizon, rate) of each cell's best rate on the first seed and its two neighbours in the grid
    (one, at an end of the grid): where the sweep's second seeds go."""
    out = []
    for (j, h), g in grid.groupby(["rung", "horizon"], sort=True):
        g = g.sort_values("lr").reset_index(drop=True)
        i = int(g["loss"].idxmin())
        out += [(j, h, float(lr)) for lr in g["lr"][max(0, i - 1):i + 2]]
    return out


def _table(study, points, store, what) -> pd.DataFrame:
    cfgs = [study.sweep_config(j, h, lr, s) for j, h, lr, s in points]
    rows = [{"rung": j, "width": study.widths[j], "N": c.model.shape().num_params, "horizon": h, "lr": lr,
             "seed": s, "loss": sm["final_val_loss"]}
            for (j, h, lr, s), c, sm in zip(points, cfgs, summaries(cfgs, store, what))]
    return pd.DataFrame(rows, columns=["rung", "width", "N", "horizon", "lr", "seed", "loss"])


def repeat_points(study, store=None) -> list[tuple[int, float, float, int]]:
    """(rung, horizon, rate, seed) of the sweep's second seeds, read off its recorded first seeds."""
    grid = _table(study, study.sweep_points(), store, "the wide study's sweep (first seeds)")
    return [(j, h, lr, s) for j, h, lr in best_and_neighbours(grid) for s in study.sweep_repeat_seeds]


def sweep_table(study, store=None, recorded_only: bool = False) -> pd.DataFrame:
    """One row per sweep run of ``study`` (a WideStudy), the first seeds' grid and the second seeds at each
    cell's best rate and its neighbours: rung, width, N, horizon (D/N), peak rate, seed, final validation
    loss. ``recorded_only``: the runs the store has finished (the second seeds once the first are all in),
    for a sweep still training."""
    if not recorded_only:
        return _table(study, study.sweep_points() + repeat_points(study, store), store, "the wide study's sweep")
    s = open_store(store)
    points = study.sweep_points()
    try:
        points += repeat_points(study, s)
    except ReplicationError:  # the first seeds are not all in: their second seeds are not known yet
        pass
    points = [p for p in points if s.run(study.sweep_config(*p).run_id()).finished]
    return _table(study, points, s, "the wide study's sweep")


def cell_optima(sweep: pd.DataFrame) -> pd.DataFrame:
    """:func:`~replication.studies.chinchilla_lr.lr_optima` of each horizon's runs (each rate's loss the mean
    over its seeds), with the horizon."""
    mean = sweep.groupby(["rung", "width", "N", "horizon", "lr"], as_index=False)["loss"].mean()
    return pd.concat([lr_optima(g).assign(horizon=h) for h, g in mean.groupby("horizon", sort=True)],
                     ignore_index=True)


def fit_rule(sweep: pd.DataFrame) -> HorizonRule:
    opt = cell_optima(sweep)
    return HorizonRule.fit(opt["N"], opt["horizon"], opt["lr*"])


@lru_cache(maxsize=16)
def _recorded(root: str, study) -> HorizonRule:
    try:
        return fit_rule(sweep_table(study, root)).stated()
    except ReplicationError as err:
        raise ReplicationError(f"{str(err).split('; train')[0]}; the wide study's learning-rate rule is fitted "
                               "to them: train them (replication sweep wide --design tuning, twice: the second "
                               "seeds follow the first) or give the design a rule (WideStudy(lr_rule=...))") \
            from None


def recorded_rule(study, store=None) -> HorizonRule:
    """The rule fitted to ``study``'s sweep as ``store`` (default: the default run store) records it, stated
    to three significant digits; read once per store and design."""
    return _recorded(str(open_store(store).root), study)
