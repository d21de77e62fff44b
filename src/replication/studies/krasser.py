"""Krasser's Experiments 1, 2a and 2b scaled down to a CPU, where they are trained for real with several
seeds: the study, its runs, and its verdicts beside the article's.

The design is the article's (see :mod:`replication.studies.krasser_design`): a reference model trained for
``ref_steps`` steps fixes the self-attention budget ``C_ref``; a Chinchilla law turns ``C_ref`` into
``N_opt``; every model of the experiment is trained on ``D_iso = C_ref / C_self`` latent tokens, so all
spend the same self-attention compute. At CPU scale the same design is an :class:`Experiment` with 128
latents, batch 16 and 4 heads, models of 10^4-10^5 parameters and budgets near 10^12 FLOPs.
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
from replication.studies.stats import pooled_z_comparison
from replication.training.config import ModelConfig, TrainConfig

#: The chapters' ``scale`` parameter: the CPU-scale study, or the article's setup only.
SCALES = ("cpu", "article")

#: What each experiment's conclusion expects of (reference, predicted-optimal): the predicted model
#: wins in Experiment 1, the reference wins in 2a and 2b.
_ARTICLE_WINNER = {"1": "predicted", "2a": "reference", "2b": "reference"}

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
        from replication.training.runner import get_or_train_many  # torch, only to train

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


def empirical_optimum(summary: pd.DataFrame) -> float:
    """N_self at the vertex of a parabola fitted to mean final loss against log N_self (as Chinchilla's
    IsoFLOP profiles, Approach 2), even outside the trained range. NaN when fewer than 3 models or when
    the parabola opens downwards."""
    vertex = parabola_vertex(np.log(summary["N_self"].to_numpy(float)), summary["mean"].to_numpy(float))
    return float(np.exp(vertex.x))


def verdicts(study: KrasserStudy, summary: pd.DataFrame, z: float = 2.0) -> pd.DataFrame:
    """Each predicted-optimal model against the reference (model 1), and the best model overall
    (:func:`replication.studies.stats.pooled_z_comparison`).

    Without the article's predicted numbering (custom models), the model nearest to each law's N_opt
    stands in for the predicted model.
    """
    exp = study.experiment
    laws = chinchilla_laws()
    predicted = dict(exp.predicted)
    if not predicted:
        n_self = summary["N_self"]
        predicted = {a: int((np.log(n_self) - math.log(exp.n_opt(law))).abs().idxmin()) for a, law in laws.items()}
    best = int(summary["mean"].idxmin())
    rows = []
    for approach, number in predicted.items():
        if number == 1:
            continue
        r = pooled_z_comparison(summary, number, 1, z)
        r.update({"approach": approach, "N_opt": exp.n_opt(laws[approach]),
                  "predicted": summary.loc[number, "label"], "reference": summary.loc[1, "label"],
                  "best model": summary.loc[best, "label"]})
        rows.append(r)
    cols = ["approach", "N_opt", "predicted", "reference", "difference", "pooled_se", "z", "verdict", "best model"]
    return pd.DataFrame(rows, columns=cols)


def conclusion(study: KrasserStudy, summary: pd.DataFrame, z: float = 2.0) -> pd.DataFrame:
    """Our verdict beside the article's: does the predicted-optimal model beat the reference (Exp. 1),
    or the reference beat it (Exp. 2a, 2b)? Also where the empirical optimum lies relative to N_opt."""
    v = verdicts(study, summary, z)
    n_hat = empirical_optimum(summary)
    expect = _ARTICLE_WINNER.get(study.name)
    lo, hi = summary["N_self"].min(), summary["N_self"].max()
    rows = []
    for r in v.to_dict("records"):
        if expect == "predicted":
            agrees = {"better": "agrees", "worse": "disagrees"}.get(r["verdict"], "cannot tell (within noise)")
        elif expect == "reference":
            agrees = {"worse": "agrees", "better": "disagrees"}.get(r["verdict"], "cannot tell (within noise)")
        else:
            agrees = "n/a"
        rows.append({"experiment": study.name, "approach": r["approach"],
                     "article": ARTICLE_CONCLUSIONS.get(study.name, ""),
                     "ours: predicted vs reference": f"{r['verdict']} ({r['difference']:+.4f} ± {r['pooled_se']:.4f})",
                     "agreement": agrees, "best model": r["best model"], "N_opt (law)": r["N_opt"],
                     "empirical N_opt (parabola)": n_hat, "law / empirical": r["N_opt"] / n_hat,
                     "empirical inside trained range": bool(lo <= n_hat <= hi)})
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
