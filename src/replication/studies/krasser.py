"""Krasser's Experiments 1, 2a and 2b at CPU scale, in the shape every study has
(:mod:`replication.studies.runs`): the design (:class:`~replication.studies.krasser_cpu.KrasserStudy`,
:func:`cpu_study`) → its configs → :func:`missing` and :func:`train_missing` → :func:`runs_table` →
:func:`verdicts`, the article's claim against our runs.

Runs of one seed share their initial-weight seeding and batch stream across models, so every comparison is
a paired t test over the seeds (:mod:`replication.studies.stats`), shown with its p-value and interval
(:func:`comparisons`). What limits a CPU-scale run (one learning rate, the bigram plateau) is
:mod:`replication.studies.krasser_limits`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError
from replication.fit import parabola_vertex
from replication.papers import krasser as article
from replication.studies.krasser_cpu import (NOT_TRAINED, SCALES, KrasserStudy, check_scale, cpu_experiment, cpu_study,
                                            design_comparison)
from replication.studies.krasser_design import chinchilla_laws
from replication.studies.runs import missing, open_store, summaries, train_missing
from replication.studies.stats import PairedTest, all_agree, paired_test, seeds_needed, verdict
from replication.verdict import INCONCLUSIVE, Verdict

__all__ = ["CLAIMED_SIGN", "CLAIMS", "NOT_TRAINED", "POWER", "SCALES", "KrasserStudy", "against_reference",
           "article_claim", "check_scale", "compare", "comparisons", "cpu_experiment", "cpu_study",
           "design_comparison", "empirical_optimum", "final_losses", "loss_curves", "loss_summary", "missing",
           "optimum_inside", "optimum_text", "outcome_text", "recorded_total", "runs_table", "seeds_for_power",
           "total_training", "train_missing", "verdicts"]


def runs_table(study: KrasserStudy, store=None) -> pd.DataFrame:
    """One row per run of the study (model and seed), as recorded: its final loss, steps, FLOPs, epochs and
    wall time. Reading never trains; a missing run is one line naming it."""
    jobs = study.runs()
    setup = study.experiment.setup()
    rows = []
    for (number, seed, cfg), s in zip(jobs, summaries([c for *_, c in jobs], store, f"experiment {study.name}")):
        rows.append({"model": number, "label": study.label(number), "shape": f"{cfg.model.num_channels}/"
                     f"{cfg.model.num_layers}", "N_self": int(setup.loc[number, "N_self"]), "seed": seed,
                     "run_id": cfg.run_id(), "final_loss": s["final_val_loss"], "steps": s["steps"],
                     "C_self": s["C_self"], "C": s["C"], "epochs": s["epochs"], "wall_s": s["wall_s"]})
    return pd.DataFrame(rows)


def loss_curves(study: KrasserStudy, results: pd.DataFrame, store=None) -> pd.DataFrame:
    """Validation loss of every run against its self-attention FLOPs as a fraction of C_ref."""
    store = open_store(store)
    c_ref = float(study.experiment.c_ref)
    frames = []
    for row in results.itertuples():
        m = store.run(row.run_id).metrics()
        m = m[m["kind"] == "val"]
        frames.append(pd.DataFrame({"model": row.model, "label": row.label, "seed": row.seed,
                                    "C_self/C_ref": m["C_self"].to_numpy() / c_ref, "loss": m["loss"].to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def loss_summary(results: pd.DataFrame) -> pd.DataFrame:
    """Final validation loss per model: mean, sample standard deviation, number of seeds, standard error."""
    g = results.groupby("model")
    out = pd.DataFrame({"label": g["label"].first(), "shape": g["shape"].first(), "N_self": g["N_self"].first(),
                        "mean": g["final_loss"].mean(), "std": g["final_loss"].std(ddof=1),
                        "seeds": g["final_loss"].size(), "epochs": g["epochs"].max(), "wall_s": g["wall_s"].sum()})
    out["sem"] = out["std"] / np.sqrt(out["seeds"])
    return out


#: What the book says instead of quoting an optimum the parabola extrapolates to.
OUTSIDE_RANGE = "outside the trained range"


def empirical_optimum(summary: pd.DataFrame) -> float:
    """N_self at the vertex of a parabola fitted to mean final loss against log N_self (as Chinchilla's
    IsoFLOP profiles, Approach 2), even outside the trained range. NaN when fewer than 3 models or when
    the parabola opens downwards. The book quotes it only inside the trained range (:func:`optimum_text`)."""
    vertex = parabola_vertex(np.log(summary["N_self"].to_numpy(float)), summary["mean"].to_numpy(float))
    return float(np.exp(vertex.x))


def optimum_inside(summary: pd.DataFrame) -> bool:
    """Whether the empirical optimum lies within the sizes trained (False when there is none)."""
    n_hat = empirical_optimum(summary)
    return bool(summary["N_self"].min() <= n_hat <= summary["N_self"].max())


def optimum_text(summary: pd.DataFrame) -> str:
    """The empirical optimum as the book quotes it: a number only inside the trained range, where the
    parabola interpolates; outside it the vertex is an extrapolation of three to five points, and only
    its side is said."""
    n_hat = empirical_optimum(summary)
    if not n_hat == n_hat:
        return "none (the parabola through the means has no minimum)"
    if optimum_inside(summary):
        return f"{n_hat:.3g}"
    side = "below the smallest" if n_hat < summary["N_self"].min() else "above the largest"
    return f"{OUTSIDE_RANGE} ({side} model)"


#: The sign of (predicted − reference) final loss that each experiment's conclusion predicts: in
#: Experiment 1 the predicted compute-optimal model beats the reference (−1), in 2a and 2b the
#: reference beats it (+1).
CLAIMED_SIGN = {"1": -1, "2a": 1, "2b": 1}

#: The article's claim of each experiment, as a comparison of final losses.
CLAIMS = {"1": "the predicted compute-optimal model ends below the reference",
          "2a": "the reference ends below the predicted compute-optimal model",
          "2b": "the reference ends below the predicted compute-optimal model"}

#: The power at which :func:`seeds_for_power` sizes a study.
POWER = 0.8


def final_losses(results: pd.DataFrame) -> pd.DataFrame:
    """Final validation loss of every run: one row per seed, one column per model number."""
    return results.pivot(index="seed", columns="model", values="final_loss")


def compare(results: pd.DataFrame, model: int, reference: int = 1, level: float = 0.95) -> PairedTest:
    """The paired t test of ``model − reference`` final losses over the seeds both have."""
    losses = final_losses(results)
    for name, number in (("model", model), ("reference", reference)):
        if number not in losses.columns:
            raise ReplicationError(f"{name}={number!r} is not in the results; allowed: "
                                   f"{', '.join(map(str, losses.columns))}")
    return paired_test(losses[model], losses[reference], level)


def seeds_for_power(test: PairedTest, level: float = 0.95, power: float = POWER) -> float:
    """Paired seeds that would detect the observed mean difference with ``power``, taking the observed
    standard deviation of one difference as the true one. NaN without a difference or spread to size it
    on; inf beyond 10,000 seeds."""
    if not (test.sd > 0 and test.difference != 0 and math.isfinite(test.difference)):
        return math.nan
    try:
        return float(seeds_needed(test.difference, test.sd, level, power))
    except ReplicationError:
        return math.inf


def outcome_text(test: PairedTest, expected_sign: int, level: float = 0.95) -> str:
    """The outcome of :func:`~replication.studies.stats.verdict` for ``test`` against a claim of the sign
    ``expected_sign`` and, when inconclusive, the seeds a difference this size would need."""
    outcome = str(verdict(test, expected_sign, level=level))
    if not outcome.startswith(INCONCLUSIVE):
        return outcome
    n = seeds_for_power(test, level)
    if n == n:
        need = f"about {n:,.0f} seeds" if math.isfinite(n) else "more than 10,000 seeds"
        outcome += f" ({need} would detect a difference this size with {POWER:.0%} power)"
    return outcome


def _predicted(study: KrasserStudy, summary: pd.DataFrame) -> dict[int, int]:
    """Approach -> number of the model that approach predicts. Without the article's numbering (custom
    models) the model nearest each law's N_opt, in log N_self, stands in."""
    exp = study.experiment
    if exp.predicted:
        return dict(exp.predicted)
    log_n = np.log(summary["N_self"])
    return {a: int((log_n - math.log(exp.n_opt(law))).abs().idxmin()) for a, law in chinchilla_laws().items()}


def predicted_comparisons(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95):
    """(approach, predicted model number, paired test against the reference) for each predicted model
    that is not the reference itself."""
    summary = loss_summary(results)
    for approach, number in _predicted(study, summary).items():
        if number != 1:
            yield approach, number, compare(results, number, 1, level)


def comparisons(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Each predicted-optimal model against the reference (model 1): the paired t test of their final
    losses over the seeds (``test``: difference, interval, t, p), its :class:`~replication.verdict.Verdict`
    on the article's claim (:data:`CLAIMS`; ``outcome``, its label; :func:`outcome_text`, with the seeds) and,
    when inconclusive, the seeds the observed difference would need."""
    exp = study.experiment
    summary = loss_summary(results)
    laws = chinchilla_laws()
    best = summary.loc[int(summary["mean"].idxmin()), "label"]
    needed = f"seeds for {POWER:.0%} power"
    rows = []
    for approach, number, test in predicted_comparisons(study, results, level):
        v = verdict(test, CLAIMED_SIGN[study.name], f"The article finds {CLAIMS[study.name]}.", level)
        rows.append({"approach": approach, "model": number, "N_opt": exp.n_opt(laws[approach]),
                     "predicted": summary.loc[number, "label"], "reference": summary.loc[1, "label"],
                     "difference": test.difference, "low": test.low, "high": test.high, "p": test.p,
                     "seeds": test.seeds, "test": str(test), "verdict": v, "outcome": str(v),
                     "outcome and seeds needed": outcome_text(test, CLAIMED_SIGN[study.name], level),
                     needed: seeds_for_power(test, level) if v.outcome == INCONCLUSIVE else math.nan,
                     "best model": best})
    cols = ["approach", "model", "N_opt", "predicted", "reference", "difference", "low", "high", "p", "seeds",
            "test", "verdict", "outcome", "outcome and seeds needed", needed, "best model"]
    return pd.DataFrame(rows, columns=cols)


def _shape(shape) -> str:
    return f"{shape[0]}/{shape[1]}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def article_claim(name: str) -> str:
    """The article's claim of Experiment ``name`` in one sentence, with its own final losses (the article's
    accounting; one run per model)."""
    d = article.DESIGNS[name]
    models = d["models"]["article"] if isinstance(d["models"], dict) else d["models"]
    loss = article.LOSSES[name]
    ref = models[0]
    predicted = [models[number - 1] for _, number in sorted(d["predicted"], reverse=True)]
    losses = _and([f"{loss[m]:.3f}" for m in predicted])
    if CLAIMED_SIGN[name] < 0:
        return (f"The article finds the model Chinchilla's law predicts ({_and([_shape(m) for m in predicted])}) "
                f"ends below the reference ({_shape(ref)}): {losses} against {loss[ref]:.3f}, one run each.")
    both = "both models Chinchilla's laws predict" if len(predicted) > 1 else "the model Chinchilla's law predicts"
    return (f"The article finds the reference ({_shape(ref)}) ends below {both} "
            f"({_and([_shape(m) for m in predicted])}): {loss[ref]:.3f} against {losses}, one run each.")


def verdicts(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> list[Verdict]:
    """The article's claim of the experiment (:func:`article_claim`) against our runs: every predicted model
    against the reference (:func:`comparisons`), one verdict for all of them
    (:func:`~replication.studies.stats.all_agree`). Empty where no model but the reference is predicted
    (custom models whose nearest model to N_opt is the reference)."""
    c = comparisons(study, results, level)
    if c.empty:
        return []
    ref = results.loc[results["model"] == 1, "shape"].iloc[0]
    diffs = _and([f"{t.difference:+.3f} nats ({t.low:+.3f} to {t.high:+.3f}) for "
                  f"{results.loc[results['model'] == t.model, 'shape'].iloc[0]}".replace("-", "\u2212")
                  for t in c.sort_values("approach", ascending=False).itertuples()])  # as article_claim
    finding = f"Over {int(c['seeds'].min())} paired seeds at CPU scale, predicted minus reference ({ref}) is {diffs}."
    return [all_agree(list(c["verdict"]), article_claim(study.name) if study.experiment.predicted
                      else f"The article finds {CLAIMS[study.name]}.", finding)]


def against_reference(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Every other model against the reference, by the same paired test: is its final loss lower, higher, or
    is the test inconclusive with the seeds run ("inconclusive (n seeds, power p)")?"""
    summary = loss_summary(results)
    rows = []
    for number in summary.index:
        if number == 1:
            continue
        test = compare(results, number, 1, level)
        v = verdict(test, -1, level=level)
        word = {"agrees": "lower", "disagrees": "higher"}.get(v.outcome, str(v))
        rows.append({"model": number, "label": summary.loc[number, "label"], "shape": summary.loc[number, "shape"],
                     "N_self": summary.loc[number, "N_self"], "test (model − reference)": str(test),
                     "p": test.p, "than the reference": word})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def total_training(results: pd.DataFrame) -> dict:
    """Wall time and FLOPs of the runs behind a results table (as recorded in their summaries)."""
    return {"runs": len(results), "wall_s": float(results["wall_s"].sum()),
            "C_self": float(results["C_self"].sum()), "C": float(results["C"].sum()),
            "max_epochs": float(results["epochs"].max())}


def recorded_total(names=("1", "2a", "2b"), store=None) -> pd.DataFrame:
    """Training time of the default CPU-scale studies as recorded (nothing is trained): one row per
    experiment and a total. ``recorded`` counts the runs found; a cold build trains the rest."""
    store = open_store(store)
    rows = []
    for name in names:
        jobs = cpu_study(name).configs()
        found = [s for s in (store.run(cfg.run_id()).summary for cfg in jobs) if s is not None]
        rows.append({"experiment": name, "runs": len(jobs), "recorded": len(found),
                     "wall_s": sum(s["wall_s"] for s in found), "C_self": sum(s["C_self"] for s in found),
                     "C": sum(s["C"] for s in found),
                     "max_epochs": max((s["epochs"] for s in found), default=float("nan"))})
    df = pd.DataFrame(rows).set_index("experiment")
    df.loc["total"] = df.sum(numeric_only=True)
    df.loc["total", "max_epochs"] = df["max_epochs"].iloc[:-1].max()
    df["wall_min"] = df["wall_s"] / 60
    return df

