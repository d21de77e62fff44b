"""Our Chinchilla study's pilots and recipes, read from the recorded runs: the pilots that chose beta2, the
warmup and the batch, and the paper's recipe claims as paired tests with a power statement (each a
:class:`~replication.verdict.Verdict`).

The design is :mod:`replication.studies.chinchilla_design`, the learning-rate sweep and its rule
:mod:`replication.studies.chinchilla_lr`; nothing here trains.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.studies.chinchilla_design import DEFAULT, PILOTS, ChinchillaStudy
from replication.studies.runs import summaries
from replication.studies.stats import paired_test, seeds_needed, verdict


# -- pilots ---------------------------------------------------------------------------------------


def pilot_table(study: ChinchillaStudy = DEFAULT, store=None) -> pd.DataFrame:
    """One row per pilot value: mean final loss over the pilot seeds and the paired test against the
    value the study uses (same seeds, so same initial weights and batches)."""
    rows = []
    for name, cfgs in study.pilot_configs().items():
        fld, values = PILOTS[name]
        chosen = getattr(study, fld)
        loss = {}
        points = [(v, seed) for v in values for seed in study.pilot_seeds[name]]  # pilot_configs' order
        for (v, seed), s in zip(points, summaries(cfgs, store, "the pilots")):
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


def recipe_tests(study: ChinchillaStudy = DEFAULT, store=None, level: float = 0.95) -> pd.DataFrame:
    """One row per recipe claim: the paired test of recipe − baseline over the recipe seeds, the
    :class:`~replication.verdict.Verdict` on the paper's claim (``verdict``) and the seeds a paired test would
    need to detect, with 80% power, an effect of the size observed and one of ``SLIGHT_EFFECT``; in how
    many seeds the difference has the claimed sign; and the baseline seed farthest from the other
    seeds' mean (``outlying seed``, its excess over them in nats) with the test without that seed."""
    loss = {}
    for name in study.recipes:
        cfgs = [study.recipe_config(name, s) for s in study.recipe_seeds]
        loss[name] = pd.Series({c.seed: s["final_val_loss"] for c, s in zip(cfgs, summaries(cfgs, store, "the recipe claims"))})
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
                     "verdict": verdict(test, sign, f"The paper finds {claim}.", level), "test": str(test),
                     "seeds for observed Δ": need(abs(test.difference)) if test.difference else math.inf,
                     "seeds for 1% of loss": need(slight),
                     "claimed direction": f"{int((np.sign(d) == sign).sum())} of {len(d)}",
                     "outlying seed": int(out), "outlier excess": float(base[out] - base.drop(out).mean()),
                     "test without it": str(paired_test(loss[name].drop(out), base.drop(out), level))})
    return pd.DataFrame(rows)
