"""The learning-rate rule of our Chinchilla study, lr*(N) = lr_ref (N / 10⁵)^(−exponent), and the sweep it is
fitted to.

The sweep trains three widths at several peak rates (:meth:`ChinchillaStudy.sweep_configs
<replication.studies.chinchilla_design.ChinchillaStudy.sweep_configs>`); each width's optimum lr* is the
vertex of a parabola in log lr through the best rate and its two neighbours (:func:`lr_optima`), and the
rule is a least-squares line through the optima in log-log (:func:`fit_lr_rule`). A design that is not
given a rule reads it from its recorded sweep (:func:`recorded_rule`, once per store and sweep) and states
it to three significant digits (:meth:`LrRule.stated`), as the recorded runs were trained with it: a run's
rate is part of its id.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_range
from replication.fit.approach2 import parabola_vertex
from replication.studies.runs import open_store, summaries

#: N of the rule's reference size.
N_REF = 1e5
#: Significant digits of the stated rule and of each run's rate.
DIGITS = 3


def _sig(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


@dataclass(frozen=True)
class LrRule:
    """lr*(N) = ``lr_ref`` (N / 10⁵)^(−``exponent``), N every parameter; ``sizes``: the swept sizes it was
    fitted to (0 when given, not fitted)."""

    lr_ref: float
    exponent: float
    sizes: int = 0

    def __post_init__(self):
        check_range("lr_ref", self.lr_ref, 0, 1, lo_open=True)
        check_range("lr_exponent", self.exponent, -2, 2)

    def __call__(self, n):
        """The rule's rate at ``n`` parameters (a number or an array), unrounded."""
        out = self.lr_ref * (np.asarray(n, float) / N_REF) ** -self.exponent
        return float(out) if out.ndim == 0 else out

    def rate(self, n: float) -> float:
        """A run's peak rate: the rule at ``n``, to three significant digits."""
        return _sig(self(n))

    def stated(self) -> LrRule:
        """The rule as a design states it: ``lr_ref`` and the exponent to three significant digits."""
        return LrRule(_sig(self.lr_ref), _sig(self.exponent), self.sizes)

    @classmethod
    def fit(cls, n, lr_star) -> LrRule:
        """Least squares of log lr* on log(N / 10⁵) over the finite optima; two or more are needed."""
        n, lr_star = np.asarray(n, float), np.asarray(lr_star, float)
        ok = np.isfinite(lr_star)
        if ok.sum() < 2:
            raise ReplicationError(f"the learning-rate sweep brackets the optimum of {int(ok.sum())} size(s); "
                                   "2 needed (widen sweep_lrs)")
        slope, icpt = np.polyfit(np.log(n[ok] / N_REF), np.log(lr_star[ok]), 1)
        return cls(float(math.exp(icpt)), float(-slope), int(ok.sum()))


def sweep_table(study, store=None) -> pd.DataFrame:
    """One row per sweep run of ``study`` (a ChinchillaStudy): rung, width, N, peak learning rate, final
    validation loss, steps, tokens and wall time."""
    cfgs = study.sweep_configs()
    rows = [{"rung": j, "width": study.widths[j], "N": c.model.shape().num_params, "lr": c.lr,
             "loss": s["final_val_loss"], "steps": s["steps"], "tokens": s["latent_tokens"], "wall_s": s["wall_s"]}
            for c, s, (j, _) in zip(cfgs, summaries(cfgs, store, "the learning-rate sweep"), study.sweep_points())]
    return pd.DataFrame(rows)


def lr_optima(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per swept size of ``sweep`` (:func:`sweep_table`): the best swept rate, and lr* from a parabola in log
    lr through the best rate and its two neighbours. ``inside`` says whether the best rate is strictly
    inside the swept range (an optimum at an end of the sweep is not bracketed, and lr* is then NaN)."""
    rows = []
    for (j, n), g in sweep.groupby(["rung", "N"], sort=True):
        g = g.sort_values("lr").reset_index(drop=True)
        i = int(g["loss"].idxmin())
        inside = 0 < i < len(g) - 1
        lr_star = math.nan
        if inside:
            v = parabola_vertex(np.log(g["lr"][i - 1:i + 2]), g["loss"][i - 1:i + 2])
            lr_star = math.exp(v.x) if v.reason is None else math.nan
        rows.append({"rung": j, "width": g["width"].iloc[0], "N": n, "best swept lr": g["lr"][i],
                     "best loss": g["loss"][i], "lr*": lr_star, "inside": inside,
                     "loss spread": g["loss"].max() - g["loss"].min()})
    return pd.DataFrame(rows)


def fit_lr_rule(sweep: pd.DataFrame) -> LrRule:
    """The rule fitted to the optima ``sweep`` brackets (unrounded); raises if fewer than two are."""
    opt = lr_optima(sweep)
    return LrRule.fit(opt["N"], opt["lr*"])


@lru_cache(maxsize=16)
def _recorded(root: str, points: tuple) -> LrRule:
    # points: (rung, width, N, lr, run id) of every sweep run; a frozen rule is safe to share
    try:
        losses = [s["final_val_loss"] for s in summaries([p[4] for p in points], root, "the learning-rate sweep")]
    except ReplicationError as err:
        raise ReplicationError(f"{str(err).split('; train')[0]}; the design's learning-rate rule is fitted to them: "
                               "train them (replication sweep chinchilla --design tuning) or give the design "
                               "a rule (ChinchillaStudy(lr_rule=...))") from None
    sweep = pd.DataFrame([p[:4] for p in points], columns=["rung", "width", "N", "lr"]).assign(loss=losses)
    return fit_lr_rule(sweep).stated()


def recorded_rule(study, store=None) -> LrRule:
    """The rule of ``study`` fitted to its sweep as recorded in ``store`` (default: the default run store),
    stated to three significant digits; read once per store and sweep."""
    points = tuple((j, study.widths[j], c.model.shape().num_params, c.lr, c.run_id())
                   for (j, _), c in zip(study.sweep_points(), study.sweep_configs()))
    return _recorded(str(open_store(store).root), points)
