"""Krasser's Experiments 1, 2a and 2b scaled down to a CPU, where they are trained for real with several
seeds: the study, its runs, and its verdicts beside the article's.

The design is the article's (see :mod:`replication.studies.krasser_design`): a reference model trained for
``ref_steps`` steps fixes the self-attention budget ``C_ref``; a Chinchilla law turns ``C_ref`` into
``N_opt``; every model of the experiment is trained on ``D_iso = C_ref / C_self`` latent tokens, so all
spend the same self-attention compute. At CPU scale the same design is an :class:`Experiment` with 128
latents, batch 16 and 4 heads, models of 10^4-10^5 parameters and budgets near 10^12 FLOPs.

Runs of one seed share their initial-weight seeding and batch stream across models, so every verdict is
a paired t test over the seeds (:mod:`replication.studies.stats`), shown with its p-value and interval,
and has one of the book's three outcomes for the article's claim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replication.corpus import check_corpus, parse_tokenizer
from replication.errors import ReplicationError, check_choice, check_int, check_range
from replication.estimate import ACCOUNTINGS
from replication.fit import parabola_vertex
from replication.sources.krasser import CONCLUSIONS as ARTICLE_CONCLUSIONS
from replication.store.runs import RunStore
from replication.studies.krasser_design import Experiment, check_models, chinchilla_laws
# the plateau's reading is read from here too (krasser.plateau_reading), beside plateau_exits
from replication.studies.plateau import BIGRAM_UNIGRAM_WEIGHT, bigram_loss, first_crossing, plateau_reading  # noqa: F401,E501
from replication.studies.stats import INCONCLUSIVE, PairedTest, paired_test, seeds_needed, verdict
from replication.training.config import ModelConfig, TrainConfig

#: The chapters' ``scale`` parameter: the CPU-scale study, or the article's setup only.
SCALES = ("cpu", "article")

# --------------------------------------------------------------------------------------------------
# CPU-scale designs

#: Latents, batch (sequences) and heads of every CPU-scale model: 2,048 latent tokens a step.
CPU_NUM_LATENTS = 128
CPU_BATCH_SIZE = 16
CPU_NUM_HEADS = 4

#: The article's designs scaled down. Prefix : latents keeps the article's ratios (3:1 for Experiments
#: 1 and 2b, 7:1 for 2a). Experiment 1's SentencePiece vocabulary (768) gives the reference model the
#: article's embedding share V d / N = 0.37. Models are numbered as in the article; the CPU designs add a
#: smaller (and for 2b a larger) model so that each experiment brackets N_opt on both sides.
_CPU_DESIGNS = {
    "1": dict(tokenizer="sentencepiece:768", max_seq_len=512, ref_steps=1200,
              models=((32, 2), (44, 2), (56, 2), (24, 2)),
              labels=("Model 1 (ref)", "Model 2 (opt)", "Model 3", "Model 4"), predicted=((2, 2),)),
    "2a": dict(tokenizer="bytes", max_seq_len=1024, ref_steps=1000,
               models=((48, 2), (60, 2), (52, 2), (36, 2), (80, 3)),
               labels=("Model 1 (ref)", "Model 2 (opt 2)", "Model 3 (opt 1)", "Model 4", "Model 5"),
               predicted=((1, 3), (2, 2))),
    "2b": dict(tokenizer="bytes", max_seq_len=512, ref_steps=1000,
               models=((48, 2), (60, 2), (36, 2), (80, 3)),
               labels=("Model 1 (ref)", "Model 2 (opt)", "Model 3", "Model 4"), predicted=((2, 2),)),
}


def _vocab(tokenizer: str) -> int:
    return parse_tokenizer(tokenizer)[1]


@dataclass(frozen=True)
class KrasserStudy:
    """An experiment plus how its models are trained: tokenizer, corpus, seeds and optimiser.

    The optimiser is the article's (Adam, cosine to 10%, clip 0.5, prefix dropout 0.5) except for two
    scaled settings: a peak learning rate of 3e-3 (the article's 2e-4 is for models 300x larger; at
    1e-3 our reference model of Experiment 2a still sat on the bigram plateau, loss 2.30 against 1.90,
    after its 1,000 steps) and a warmup of 30 steps (the article's 200 of 26,000-50,000 would be most of
    our shortest runs).
    """

    experiment: Experiment
    tokenizer: str
    corpus: str = "kjv"
    seeds: tuple[int, ...] = (0, 1, 2)
    lr: float = 3e-3
    warmup_steps: int = 30
    evals_per_run: int = 20
    eval_windows: int = 128

    def __post_init__(self):
        if _vocab(self.tokenizer) != self.experiment.vocab_size:
            raise ReplicationError(f"tokenizer={self.tokenizer!r} does not match vocab_size="
                                   f"{self.experiment.vocab_size}")
        if not self.seeds:
            raise ReplicationError("seeds is empty; need at least 1 seed")
        for i, s in enumerate(self.seeds):
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ReplicationError(f"seeds must be integers >= 0; got {s!r}")
            if s in self.seeds[:i]:  # a repeated seed is the same run twice, counted as two
                raise ReplicationError(f"seeds has {s} twice; allowed: distinct integers >= 0")
        check_corpus(self.corpus)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        if isinstance(self.evals_per_run, bool) or not isinstance(self.evals_per_run, int) or self.evals_per_run < 1:
            raise ReplicationError(f"evals_per_run={self.evals_per_run!r} must be an integer >= 1")

    @property
    def name(self) -> str:
        return self.experiment.name

    def label(self, number: int) -> str:
        labels = self.experiment.labels
        return labels[number - 1] if labels else f"Model {number}"

    def configs(self) -> list[tuple[int, int, TrainConfig]]:
        """``(model number, seed, TrainConfig)`` for every model and seed, all at ``C_self = C_ref``."""
        exp = self.experiment
        steps = exp.setup()["num_steps"]
        out = []
        for number, (d, L) in enumerate(exp.models, start=1):
            model = ModelConfig(vocab_size=exp.vocab_size, num_latents=exp.num_latents, num_prefix=exp.num_prefix,
                                num_channels=d, num_layers=L, num_heads=exp.num_heads,
                                prefix_dropout=exp.prefix_dropout)
            for seed in self.seeds:
                cfg = TrainConfig(model=model, corpus=self.corpus, tokenizer=self.tokenizer,
                                  batch_size=exp.batch_size, budget_flops=float(exp.c_ref),
                                  accounting=exp.accounting, lr=self.lr, warmup_steps=self.warmup_steps,
                                  eval_interval=max(1, int(steps[number]) // self.evals_per_run),
                                  eval_windows=self.eval_windows, seed=seed)
                out.append((number, seed, cfg))
        return out


def cpu_experiment(name: str, accounting: str = "corrected", models=None, ref_steps: int | None = None,
                   vocab_size: int | None = None, max_seq_len: int | None = None) -> Experiment:
    """The CPU-scale design of Experiment ``name``; any argument given replaces the default."""
    if name not in _CPU_DESIGNS:
        raise ReplicationError(f"experiment={name!r} is not known; choose one of: {', '.join(_CPU_DESIGNS)}")
    check_choice("accounting", accounting, ACCOUNTINGS)
    d = _CPU_DESIGNS[name]
    models = check_models(models) if models is not None else d["models"]
    labels = d["labels"] if len(models) == len(d["labels"]) and models == d["models"] else ()
    predicted = d["predicted"] if models == d["models"] else ()
    return Experiment(name=name, vocab_size=vocab_size or _vocab(d["tokenizer"]),
                      max_seq_len=max_seq_len or d["max_seq_len"], ref_steps=ref_steps or d["ref_steps"],
                      models=models, labels=labels, predicted=predicted, accounting=accounting,
                      num_latents=CPU_NUM_LATENTS, batch_size=CPU_BATCH_SIZE, num_heads=CPU_NUM_HEADS)


def cpu_study(name: str, accounting: str = "corrected", models=None, ref_steps: int | None = None,
              tokenizer: str | None = None, max_seq_len: int | None = None, seeds=(0, 1, 2),
              corpus: str = "kjv", **training) -> KrasserStudy:
    """The CPU-scale study of Experiment ``name`` (the chapters' default).

    ``tokenizer`` is ``"bytes"`` or ``"sentencepiece:<V>"``; ``training`` may set ``lr``,
    ``warmup_steps``, ``evals_per_run`` and ``eval_windows``.
    """
    tokenizer = tokenizer or _CPU_DESIGNS.get(name, {}).get("tokenizer", "bytes")
    exp = cpu_experiment(name, accounting, models, ref_steps, _vocab(tokenizer), max_seq_len)
    if isinstance(seeds, (str, int)) or not hasattr(seeds, "__iter__"):
        raise ReplicationError(f"seeds={seeds!r} must be a list of integers >= 0, e.g. [0, 1, 2]")
    seeds = tuple(check_int("seeds", s, 0) for s in seeds)
    return KrasserStudy(exp, tokenizer=tokenizer, corpus=corpus, seeds=seeds, **training)


def check_scale(scale: str) -> str:
    """The chapters' ``scale`` parameter, validated."""
    if scale not in SCALES:
        raise ReplicationError(f"scale={scale!r} is not known; choose one of: {', '.join(SCALES)}")
    return scale


# --------------------------------------------------------------------------------------------------
# Training and results


def train_study(study: KrasserStudy, store=None, workers: int = 1, progress: bool = True,
                train: bool = True) -> pd.DataFrame:
    """Every model and seed of the study, trained now if not recorded: one row per run.

    With ``train=False`` nothing is trained and a missing run is an error.
    """
    check_int("workers", workers, 1)
    store = store if store is not None else RunStore()
    jobs = study.configs()
    runs = [store.run(cfg.run_id()) for _, _, cfg in jobs]
    missing = [r.id for r in runs if not r.finished]
    if missing and train:
        from replication.sweep.local import get_or_train_many  # torch, only to train

        runs = get_or_train_many([cfg for _, _, cfg in jobs], store, workers=workers, progress=progress)
    elif missing:
        raise ReplicationError(f"experiment {study.name}: {len(missing)} of {len(runs)} runs are not recorded "
                               f"(e.g. {missing[0]}); train them with train_study(study)")
    setup = study.experiment.setup()
    rows = []
    for (number, seed, cfg), run in zip(jobs, runs):
        s = run.summary
        rows.append({"model": number, "label": study.label(number), "shape": f"{cfg.model.num_channels}/"
                     f"{cfg.model.num_layers}", "N_self": int(setup.loc[number, "N_self"]), "seed": seed,
                     "run_id": run.id, "final_loss": s["final_val_loss"], "steps": s["steps"],
                     "C_self": s["C_self"], "C": s["C"], "epochs": s["epochs"], "wall_s": s["wall_s"]})
    return pd.DataFrame(rows)


def loss_curves(study: KrasserStudy, results: pd.DataFrame, store=None) -> pd.DataFrame:
    """Validation loss of every run against its self-attention FLOPs as a fraction of C_ref."""
    store = store if store is not None else RunStore()
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


# --------------------------------------------------------------------------------------------------
# Verdicts: paired t tests over the seeds (runs of one seed share initial-weight seeding and batches)

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
    """The book's three words for ``test`` against a claim of the sign ``expected_sign`` and, when the
    difference is within the noise, the seeds a difference this size would need."""
    outcome = verdict(test, expected_sign, level)
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


def verdicts(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Each predicted-optimal model against the reference (model 1): the paired t test of their final
    losses over the seeds (``test``: difference, interval, t, p), its outcome for the article's claim
    (:data:`CLAIMS`), and, when inconclusive, the seeds the observed difference would need."""
    exp = study.experiment
    summary = loss_summary(results)
    laws = chinchilla_laws()
    best = summary.loc[int(summary["mean"].idxmin()), "label"]
    needed = f"seeds for {POWER:.0%} power"
    rows = []
    for approach, number, test in predicted_comparisons(study, results, level):
        outcome = verdict(test, CLAIMED_SIGN[study.name], level)
        rows.append({"approach": approach, "N_opt": exp.n_opt(laws[approach]),
                     "predicted": summary.loc[number, "label"], "reference": summary.loc[1, "label"],
                     "difference": test.difference, "low": test.low, "high": test.high, "p": test.p,
                     "seeds": test.seeds, "test": str(test), "outcome": outcome,
                     needed: seeds_for_power(test, level) if outcome.startswith(INCONCLUSIVE) else math.nan,
                     "best model": best})
    cols = ["approach", "N_opt", "predicted", "reference", "difference", "low", "high", "p", "seeds", "test",
            "outcome", needed, "best model"]
    return pd.DataFrame(rows, columns=cols)


def against_reference(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Every other model against the reference, by the same paired test: is it lower, higher, or not
    distinguishable from the reference with the seeds run ("inconclusive (n seeds, power p)")?"""
    summary = loss_summary(results)
    rows = []
    for number in summary.index:
        if number == 1:
            continue
        test = compare(results, number, 1, level)
        v = verdict(test, -1, level)
        word = {"agrees": "lower", "disagrees": "higher"}.get(v, v)
        rows.append({"model": number, "label": summary.loc[number, "label"], "shape": summary.loc[number, "shape"],
                     "N_self": summary.loc[number, "N_self"], "test (model − reference)": str(test),
                     "p": test.p, "than the reference": word})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame()


def conclusion(study: KrasserStudy, results: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Our verdict beside the article's: its claim, our paired test and the outcome, the best model, and
    where the empirical optimum lies relative to the law's N_opt (a number only inside the trained range)."""
    summary = loss_summary(results)
    n_hat, inside, where = empirical_optimum(summary), optimum_inside(summary), optimum_text(summary)
    best = summary.loc[int(summary["mean"].idxmin()), "label"]
    rows = []
    for approach, number, test in predicted_comparisons(study, results, level):
        n_opt = study.experiment.n_opt(chinchilla_laws()[approach])
        rows.append({"experiment": study.name, "approach": approach,
                     "article": ARTICLE_CONCLUSIONS.get(study.name, ""), "claim": CLAIMS[study.name],
                     "ours: predicted − reference": str(test),
                     "outcome": outcome_text(test, CLAIMED_SIGN[study.name], level), "best model": best,
                     "N_opt (law)": f"{n_opt:.3g}", "empirical N_opt (parabola)": where,
                     "law / empirical": f"{n_opt / n_hat:.2f}" if inside else where})
    return pd.DataFrame(rows)


def total_training(results: pd.DataFrame) -> dict:
    """Wall time and FLOPs of the runs behind a results table (as recorded in their summaries)."""
    return {"runs": len(results), "wall_s": float(results["wall_s"].sum()),
            "C_self": float(results["C_self"].sum()), "C": float(results["C"].sum()),
            "max_epochs": float(results["epochs"].max())}


def recorded_total(names=("1", "2a", "2b"), store=None) -> pd.DataFrame:
    """Training time of the default CPU-scale studies as recorded (nothing is trained): one row per
    experiment and a total. ``recorded`` counts the runs found; a cold build trains the rest."""
    store = store if store is not None else RunStore()
    rows = []
    for name in names:
        jobs = cpu_study(name).configs()
        summaries = [store.run(cfg.run_id()).summary for _, _, cfg in jobs]
        found = [s for s in summaries if s is not None]
        rows.append({"experiment": name, "runs": len(jobs), "recorded": len(found),
                     "wall_s": sum(s["wall_s"] for s in found), "C_self": sum(s["C_self"] for s in found),
                     "C": sum(s["C"] for s in found),
                     "max_epochs": max((s["epochs"] for s in found), default=float("nan"))})
    df = pd.DataFrame(rows).set_index("experiment")
    df.loc["total"] = df.sum(numeric_only=True)
    df.loc["total", "max_epochs"] = df["max_epochs"].iloc[:-1].max()
    df["wall_min"] = df["wall_s"] / 60
    return df


# --------------------------------------------------------------------------------------------------
# What decides a CPU-scale run: one learning rate for every size, short runs, the bigram plateau


def lr_rule_factors(study: KrasserStudy, rule=None) -> pd.DataFrame:
    """Each model's peak learning rate by the Chinchilla study's own rule, lr*(N) = lr_ref (N / 1e5)^
    (−lr_exponent) (:class:`replication.studies.chinchilla_design.ChinchillaStudy`, N every parameter),
    against the one rate the Krasser study gives every size: ``factor`` = rule / study's rate (above 1:
    our rate is below the rule). ``rule``: a ChinchillaStudy (default: the book's). The rule was fitted
    to four-layer decoders with two heads at batch 8; here it is read outside that family, as the
    study's best guess of how the rate should move with size, not as a tuned optimum."""
    from replication.studies.chinchilla_design import DEFAULT, num_params

    rule = rule if rule is not None else DEFAULT
    setup = study.experiment.setup()
    rows = []
    for number, _, cfg in study.configs():
        if rows and rows[-1]["model"] == number:
            continue
        n = num_params(cfg.model)
        lr = rule.lr_ref * (n / 1e5) ** -rule.lr_exponent
        rows.append({"model": number, "shape": f"{cfg.model.num_channels}/{cfg.model.num_layers}", "N": n,
                     "steps": int(setup.loc[number, "num_steps"]), "rule lr": lr, "study lr": study.lr,
                     "factor": lr / study.lr})
    return pd.DataFrame(rows).set_index("model")


def plateau_exits(study: KrasserStudy, results: pd.DataFrame, store=None, plateau: float | None = None) -> pd.DataFrame:
    """Per run: its final loss and the step at which its validation loss first fell below the bigram
    plateau (:func:`bigram_loss`; NaN where it never did), also as a fraction of the run's steps."""
    store = store if store is not None else RunStore()
    plateau = bigram_loss(study.corpus, study.tokenizer, store=store) if plateau is None else plateau
    rows = []
    for row in results.itertuples():
        m = store.run(row.run_id).metrics()
        m = m[m["kind"] == "val"]
        exit_step = first_crossing(m["step"], m["loss"], plateau)
        rows.append({"model": row.model, "shape": row.shape, "seed": row.seed, "steps": row.steps,
                     "final_loss": row.final_loss, "plateau": plateau, "exit_step": exit_step,
                     "exit_fraction": exit_step / row.steps})
    return pd.DataFrame(rows)


def best_vs_n_opt(names=("1", "2a", "2b"), approach: int = 2, store=None) -> dict[str, float]:
    """N_self / N_opt (the Chinchilla law of ``approach``) of the model with the lowest mean final loss, per
    default CPU-scale experiment (recorded runs; nothing is trained). Below 1: the law's N_opt is larger
    than the best model trained, i.e. the law overestimates N_opt at CPU scale."""
    out = {}
    for name in names:
        study = cpu_study(name)
        s = loss_summary(train_study(study, store, train=False, progress=False))
        out[name] = float(s.loc[s["mean"].idxmin(), "N_self"]) / study.experiment.n_opt(chinchilla_laws()[approach])
    return out


def run_limits(study: KrasserStudy, results: pd.DataFrame, store=None, exits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model: its steps, the learning rate the Chinchilla study's rule would give it against ours
    (:func:`lr_rule_factors`), the range over the seeds of the step at which it left the bigram plateau
    (:func:`plateau_exits`; NaN where no seed did) and of its final loss."""
    exits = plateau_exits(study, results, store) if exits is None else exits
    g = exits.groupby("model")
    out = lr_rule_factors(study)
    out["exit first"], out["exit last"] = g["exit_step"].min(), g["exit_step"].max()
    out["exit last / steps"] = out["exit last"] / out["steps"]
    out["loss spread"] = g["final_loss"].max() - g["final_loss"].min()
    return out
