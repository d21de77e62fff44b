"""The wide study's paired comparisons, each a paired t test over seeds of final losses
(:func:`replication.studies.stats.paired_test`): the warmup pilot, the batch-size test and Chinchilla against
Gopher in miniature, read from the run store as far as it is recorded."""
from __future__ import annotations

import pandas as pd

from replication.errors import ReplicationError
from replication.studies import stats
from replication.studies.runs import open_store
from replication.studies.wide_design import DEFAULT, WideStudy
from replication.verdict import INCONCLUSIVE, Verdict


def warmup_table(study: WideStudy = DEFAULT, store=None) -> pd.DataFrame:
    """The warmup pilot as recorded: warmup (tokens per parameter), its steps, seed, final validation loss,
    and the difference from the run without warmup of the same seed."""
    s = open_store(store)
    cfgs = study.tuning_configs()[len(study.sweep_points()):]
    rows = []
    for (w, seed), c in zip(study.warmup_points(), cfgs):
        summary = s.run(c.run_id()).summary
        if summary is not None:
            rows.append({"warmup": w, "warmup steps": c.warmup_steps, "seed": seed,
                         "loss": summary["final_val_loss"], "run_id": c.run_id()})
    t = pd.DataFrame(rows, columns=["warmup", "warmup steps", "seed", "loss", "run_id"])
    base = t[t["warmup"] == 0].set_index("seed")["loss"]
    t["vs none"] = t["loss"] - t["seed"].map(base)
    return t


def warmup_tests(table: pd.DataFrame) -> dict[float, stats.PairedTest]:
    """Each warmup against none, paired by seed (:func:`replication.studies.stats.paired_test`)."""
    base = table[table["warmup"] == 0].set_index("seed")["loss"]
    return {float(w): stats.paired_test(g.set_index("seed")["loss"], base)
            for w, g in table[table["warmup"] > 0].groupby("warmup")}


# -- batch size ------------------------------------------------------------------------------------------


def batch_table(study: WideStudy = DEFAULT, store=None) -> pd.DataFrame:
    """The batch test as recorded: width, N, seed, final loss at the study's batch and at
    ``batch_alternative`` (same budget, same rate, half the steps of twice the sequences), and their
    difference (alternative − study's), one row per pair with both runs recorded."""
    s = open_store(store)
    k = study.batch_budget
    rows = []
    for (_, j, seed), alt in zip(study.batch_points(), study.batch_configs()):
        ref = study.config(study.widths[j], study.budgets[k], seed)
        a, b = s.run(alt.run_id()).summary, s.run(ref.run_id()).summary
        if a is not None and b is not None:
            rows.append({"width": study.widths[j], "N": study.n(study.widths[j]), "seed": seed,
                         f"loss, batch {study.batch_size}": b["final_val_loss"],
                         f"loss, batch {study.batch_alternative}": a["final_val_loss"],
                         "difference": a["final_val_loss"] - b["final_val_loss"]})
    return pd.DataFrame(rows, columns=["width", "N", "seed", f"loss, batch {study.batch_size}",
                                       f"loss, batch {study.batch_alternative}", "difference"])


def batch_tests(table: pd.DataFrame, study: WideStudy = DEFAULT) -> dict[int, stats.PairedTest]:
    """The alternative batch against the study's, paired by seed, per width."""
    a, b = f"loss, batch {study.batch_alternative}", f"loss, batch {study.batch_size}"
    return {int(w): stats.paired_test(g.set_index("seed")[a], g.set_index("seed")[b])
            for w, g in table.groupby("width")}


# -- Chinchilla against Gopher ------------------------------------------------------------------------


#: The model the others are compared with (:meth:`WideStudy.duel_widths`).
DUEL_REFERENCE = "predicted N_opt"


def duel_table(study: WideStudy = DEFAULT, store=None) -> pd.DataFrame:
    """Chinchilla against Gopher as recorded: model, width, N, tokens per parameter, seed, final loss (no
    rows until the design is given the held-in fit's ``duel_n_opt``)."""
    s = open_store(store)
    rows = []
    if study.duel_n_opt is None:
        return pd.DataFrame(rows, columns=["model", "width", "N", "D/N", "seed", "loss"])
    for (name, w, seed), c in zip(study.duel_points(), study.duel_configs()):
        summary = s.run(c.run_id()).summary
        if summary is not None:
            rows.append({"model": name, "width": w, "N": study.n(w), "D/N": summary["latent_tokens"] / study.n(w),
                         "seed": seed, "loss": summary["final_val_loss"]})
    return pd.DataFrame(rows, columns=["model", "width", "N", "D/N", "seed", "loss"])


def duel(table: pd.DataFrame, level: float = 0.95) -> tuple[dict[str, stats.PairedTest], object]:
    """Each other model against the predicted N_opt, paired by seed (loss − N_opt's loss), and the verdict on
    "the predicted model has the lowest loss": *agrees* only when both others are significantly worse. A
    model with no seed paired yet (the duel half trained) is a test of 0 seeds: *inconclusive*."""
    if table.empty:
        raise ReplicationError("no run of Chinchilla against Gopher is recorded yet")
    ref = table[table["model"] == DUEL_REFERENCE].set_index("seed")["loss"]
    others = [n for n in dict.fromkeys(table["model"]) if n != DUEL_REFERENCE] or ["other"]
    tests = {n: stats.paired_test(table[table["model"] == n].set_index("seed")["loss"], ref, level)
             for n in others}
    verdicts = [stats.verdict(t, +1, f"The {n} model has a higher loss than the predicted N_opt.", level)
                for n, t in tests.items()]
    return tests, stats.all_agree(verdicts, "At the top budget the law's predicted N_opt has a lower loss than the "
                                            "larger model on fewer tokens and the smaller one on more.")


def n_opt_loss(table: pd.DataFrame, prediction, level: float) -> dict | None:
    """The predicted N_opt's final loss beside the least loss the held-in fits predict at the top budget
    (``prediction``, that budget's :class:`~replication.studies.wide.Prediction`, its interval at ``level``):
    the mean over N_opt's seeds, its t interval at the same level (NaN with one seed), and ``where`` the mean
    lies against the prediction's interval: "inside", "below" or "above". The prediction is the least loss
    over sizes: an N_opt off the budget's vertex lies above it even where the law is right. None before N_opt
    has a run or the budget a prediction."""
    ref = table.loc[table["model"] == DUEL_REFERENCE, "loss"].dropna() if len(table) else pd.Series(dtype=float)
    if ref.empty or prediction is None:
        return None
    lo, hi = prediction.loss_star_interval
    mean = stats.paired_test(ref, ref * 0.0, level)  # against zero: the mean's one-sample t interval
    return {"mean": mean.difference, "seeds": mean.seeds, "least": float(ref.min()), "greatest": float(ref.max()),
            "interval": (mean.low, mean.high), "predicted": prediction.loss_star, "predicted interval": (lo, hi),
            "where": "inside" if lo <= mean.difference <= hi else "below" if mean.difference < lo else "above"}


def against_gopher(study: WideStudy = DEFAULT, store=None, level: float = 0.95) -> Verdict:
    """The paper's own comparison in miniature: the model about ``duel_ratio`` times larger on as many times
    fewer tokens (Gopher to Chinchilla) against the predicted N_opt, paired by seed; *inconclusive* with
    no seed while the duel has not trained."""
    claim = (f"The compute-optimal model beats one ~{study.duel_ratio:g}× larger on ~{study.duel_ratio:g}× fewer "
             "tokens.")
    table = duel_table(study, store)
    larger = f"{study.duel_ratio:g}x larger"
    if table.empty or larger not in set(table["model"]):
        return Verdict(claim=claim, outcome=INCONCLUSIVE, test=f"two-sided paired t test at {level:.0%}", n=0,
                       finding="Not trained yet.")
    tests, _ = duel(table, level)
    return stats.verdict(tests[larger], +1, claim, level)
