"""Our Chinchilla study's hyperparameters and recipes, read from the recorded runs: the learning-rate
sweep and the rule lr*(N) fitted to it, the pilots that chose beta2, the warmup and the batch, and the
paper's recipe claims as paired tests with a power statement.

The design is :mod:`replication.studies.chinchilla_design`; nothing here trains.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.fit.approach2 import parabola_vertex
from replication.studies.chinchilla import summaries
from replication.studies.chinchilla_design import DEFAULT, PILOTS, ChinchillaStudy, num_params
from replication.studies.stats import paired_test, seeds_needed, verdict


# -- the learning-rate sweep ------------------------------------------------------------------------


def sweep_table(study: ChinchillaStudy = DEFAULT, root=None) -> pd.DataFrame:
    """One row per sweep run: width, N, peak learning rate, final validation loss, steps."""
    cfgs = study.sweep_configs()
    rows = [{"rung": j, "width": study.widths[j], "N": num_params(study.model(j)), "lr": c.lr,
             "loss": s["final_val_loss"], "steps": s["steps"], "tokens": s["latent_tokens"], "wall_s": s["wall_s"]}
            for c, s, (j, _) in zip(cfgs, summaries(cfgs, root), study.sweep_points())]
    return pd.DataFrame(rows)


def lr_optima(study: ChinchillaStudy = DEFAULT, root=None) -> pd.DataFrame:
    """Per swept size: the best swept rate, and lr* from a parabola in log lr through the best rate and
    its two neighbours. ``inside`` says whether the best rate is strictly inside the swept range (an
    optimum at an end of the sweep is not bracketed, and lr* is then NaN)."""
    t = sweep_table(study, root)
    rows = []
    for (j, n), g in t.groupby(["rung", "N"], sort=True):
        g = g.sort_values("lr").reset_index(drop=True)
        i = int(g["loss"].idxmin())
        inside = 0 < i < len(g) - 1
        lr_star = math.nan
        if inside:
            v = parabola_vertex(np.log(g["lr"][i - 1:i + 2]), g["loss"][i - 1:i + 2])
            lr_star = math.exp(v.x) if v.reason is None else math.nan
        rows.append({"rung": j, "width": study.widths[j], "N": n, "best swept lr": g["lr"][i],
                     "best loss": g["loss"][i], "lr*": lr_star, "inside": inside,
                     "loss spread": g["loss"].max() - g["loss"].min()})
    return pd.DataFrame(rows)


def fit_lr_rule(study: ChinchillaStudy = DEFAULT, root=None) -> dict:
    """lr*(N) = lr_ref (N / 1e5)^(-lr_exponent), least squares in log-log over the sizes whose optimum
    the sweep brackets; raises if fewer than two are bracketed."""
    opt = lr_optima(study, root)
    ok = opt[np.isfinite(opt["lr*"])]
    if len(ok) < 2:
        raise ReplicationError(f"the learning-rate sweep brackets the optimum of {len(ok)} size(s); 2 needed "
                               f"(widen sweep_lrs)")
    slope, icpt = np.polyfit(np.log(ok["N"] / 1e5), np.log(ok["lr*"]), 1)
    return {"lr_ref": float(math.exp(icpt)), "lr_exponent": float(-slope), "sizes": len(ok)}


# -- pilots ---------------------------------------------------------------------------------------


def pilot_table(study: ChinchillaStudy = DEFAULT, root=None) -> pd.DataFrame:
    """One row per pilot value: mean final loss over the pilot seeds and the paired test against the
    value the study uses (same seeds, so same initial weights and batches)."""
    rows = []
    for name, cfgs in study.pilot_configs().items():
        fld, values = PILOTS[name]
        chosen = getattr(study, fld)
        loss = {}
        points = [(v, seed) for v in values for seed in study.pilot_seeds[name]]  # pilot_configs' order
        for (v, seed), s in zip(points, summaries(cfgs, root)):
            loss.setdefault(v, {})[seed] = s["final_val_loss"]
        ref = pd.Series(loss[chosen])
        for v in values:
            x = pd.Series(loss[v])
            test = paired_test(x, ref)
            rows.append({"pilot": name, "value": v, "chosen": v == chosen, "loss": x.mean(), "seeds": len(x),
                         "Δ vs chosen": test.difference, "p": test.p, "test": str(test) if v != chosen else ""})
    return pd.DataFrame(rows)


# -- the recipe claims ------------------------------------------------------------------------------

#: recipe -> (the paper's claim, the sign it predicts for recipe − baseline: +1, the recipe is worse)
RECIPE_CLAIMS = {
    "cycle 1.5×": ("a cosine cycle longer than the run hurts", +1),
    "decay to 0": ("decaying 10× is slightly better than decaying to 0", +1),
    "AdamW (wd 0.1)": ("AdamW is slightly better than Adam", -1),
}

#: The effect a power statement is made for, as a fraction of the baseline loss: the paper reports
#: these effects in figures, not numbers, and calls two of them "slight"; 1% is our reading of that.
SLIGHT_EFFECT = 0.01


def recipe_tests(study: ChinchillaStudy = DEFAULT, root=None, level: float = 0.95) -> pd.DataFrame:
    """One row per recipe claim: the paired test of recipe − baseline over the recipe seeds, the
    verdict (agrees / disagrees / inconclusive (n seeds, power p)) and the seeds a paired test would
    need to detect, with 80% power, an effect of the size observed and one of ``SLIGHT_EFFECT``; in how
    many seeds the difference has the claimed sign; and the baseline seed farthest from the other
    seeds' mean (``outlying seed``, its excess over them in nats) with the test without that seed."""
    loss = {}
    for name in study.recipes:
        cfgs = [study.recipe_config(name, s) for s in study.recipe_seeds]
        loss[name] = pd.Series({c.seed: s["final_val_loss"] for c, s in zip(cfgs, summaries(cfgs, root))})
    base = loss["baseline"]
    rows = []
    for name, (claim, sign) in RECIPE_CLAIMS.items():
        if name not in loss:
            continue
        test = paired_test(loss[name], base, level)
        slight = SLIGHT_EFFECT * float(base.mean())
        d = (loss[name] - base).dropna()
        out = (base - base.median()).abs().idxmax()  # the baseline seed farthest from the others

        def need(effect):
            try:
                return seeds_needed(effect, test.sd, level=level) if test.sd > 0 else math.nan
            except ReplicationError:
                return math.inf
        rows.append({"recipe": name, "claim": claim, "expected sign": sign, "Δ (recipe − baseline)": test.difference,
                     "low": test.low, "high": test.high, "p": test.p, "seeds": test.seeds,
                     "verdict": verdict(test, sign, level), "test": str(test),
                     "seeds for observed Δ": need(abs(test.difference)) if test.difference else math.inf,
                     "seeds for 1% of loss": need(slight),
                     "claimed direction": f"{int((np.sign(d) == sign).sum())} of {len(d)}",
                     "outlying seed": int(out), "outlier excess": float(base[out] - base.drop(out).mean()),
                     "test without it": str(paired_test(loss[name].drop(out), base.drop(out), level))})
    return pd.DataFrame(rows)
