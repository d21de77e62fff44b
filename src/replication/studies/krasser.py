"""Krasser's Experiments 1, 2a and 2b: at the article's scale (tables, commands, costs) and scaled
down to a CPU, where they are trained for real with several seeds.

The design is the article's (see :mod:`replication.studies.krasser_design`): a reference model trained for
``ref_steps`` steps fixes the self-attention budget ``C_ref``; a Chinchilla law turns ``C_ref`` into
``N_opt``; every model of the experiment is trained on ``D_iso = C_ref / C_self`` latent tokens, so all
spend the same self-attention compute. At CPU scale the same design is an :class:`Experiment` with 128
latents, batch 16 and 4 heads, models of 10^4-10^5 parameters and budgets near 10^12 FLOPs.

One function per table or figure of the chapters ``experiment1``, ``experiment2a``, ``experiment2b``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_range
from replication.studies.krasser_design import Experiment, closest_model, experiment
from replication.estimate.flops import ACCOUNTINGS, _check_accounting

SCALES = ("cpu", "article")

#: Final validation losses the article reports (Experiment 1 after the FLOP correction: the update note).
#: experiment -> {(num_channels, num_layers): loss}.
ARTICLE_LOSSES = {
    "1": {(512, 9): 3.263, (624, 11): 3.245, (728, 13): 3.260, (592, 10): 3.258},
    "2a": {(512, 9): 0.869, (584, 10): 0.872, (584, 9): 0.871, (432, 7): 0.876, (768, 13): 0.894},
    "2b": {(512, 9): 0.871, (584, 10): 0.876},
}

#: The article's conclusion for each experiment, in one line.
ARTICLE_CONCLUSIONS = {
    "1": "the law's prediction holds: the predicted compute-optimal model has the lowest loss (SentencePiece)",
    "2a": "the law overestimates N_opt: the smaller reference model has the lowest loss (UTF-8 bytes)",
    "2b": "the law overestimates N_opt with a shorter prefix too: the vocabulary, not the prefix, is the reason",
}

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

#: The article's training setup, for commands and for the CPU defaults that keep it.
ARTICLE_TOKENIZERS = {"1": "sentencepiece:32000", "2a": "bytes", "2b": "bytes"}
ARTICLE_CORPORA = {"1": "hf:bookcorpusopen", "2a": "hf:bookcorpus", "2b": "hf:bookcorpus"}


def _vocab(tokenizer: str) -> int:
    from replication.corpus.data import parse_tokenizer

    return parse_tokenizer(tokenizer)[1]


@dataclass(frozen=True)
class Study:
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
        for s in self.seeds:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ReplicationError(f"seeds must be integers >= 0; got {s!r}")
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        if isinstance(self.evals_per_run, bool) or not isinstance(self.evals_per_run, int) or self.evals_per_run < 1:
            raise ReplicationError(f"evals_per_run={self.evals_per_run!r} must be an integer >= 1")

    @property
    def name(self) -> str:
        return self.experiment.name

    def label(self, number: int) -> str:
        labels = self.experiment.labels
        return labels[number - 1] if labels else f"Model {number}"

    def configs(self) -> list[tuple[int, int, "object"]]:
        """``(model number, seed, TrainConfig)`` for every model and seed, all at ``C_self = C_ref``."""
        from replication.training.model import ModelConfig
        from replication.training.loop import TrainConfig

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
    _check_accounting(accounting)
    d = _CPU_DESIGNS[name]
    models = tuple(tuple(int(x) for x in m) for m in (models if models is not None else d["models"]))
    for m in models:
        if len(m) != 2:
            raise ReplicationError(f"models must be [num_channels, num_layers] pairs; got {list(m)}")
    labels = d["labels"] if len(models) == len(d["labels"]) and models == d["models"] else ()
    predicted = d["predicted"] if models == d["models"] else ()
    return Experiment(name=name, vocab_size=vocab_size or _vocab(d["tokenizer"]),
                      max_seq_len=max_seq_len or d["max_seq_len"], ref_steps=ref_steps or d["ref_steps"],
                      models=models, labels=labels, predicted=predicted, accounting=accounting,
                      num_latents=CPU_NUM_LATENTS, batch_size=CPU_BATCH_SIZE, num_heads=CPU_NUM_HEADS)


def cpu_study(name: str, accounting: str = "corrected", models=None, ref_steps: int | None = None,
              tokenizer: str | None = None, max_seq_len: int | None = None, seeds=(0, 1, 2),
              corpus: str = "kjv", **training) -> Study:
    """The CPU-scale study of Experiment ``name`` (the chapters' default).

    ``tokenizer`` is ``"bytes"`` or ``"sentencepiece:<V>"``; ``training`` may set ``lr``,
    ``warmup_steps``, ``evals_per_run`` and ``eval_windows``.
    """
    tokenizer = tokenizer or _CPU_DESIGNS.get(name, {}).get("tokenizer", "bytes")
    exp = cpu_experiment(name, accounting, models, ref_steps, _vocab(tokenizer), max_seq_len)
    return Study(exp, tokenizer=tokenizer, corpus=corpus, seeds=tuple(int(s) for s in seeds), **training)


# --------------------------------------------------------------------------------------------------
# Design tables (both scales)


def _laws():
    from replication.fit.laws import chinchilla_law

    return {approach: chinchilla_law(approach) for approach in (1, 2)}


def design_table(exp: Experiment) -> pd.DataFrame:
    """The setup table (as the article's Tables 1, 3, 5) with each model's N_self / N_opt under both laws
    and its embedding share V d / N."""
    s = exp.setup()
    for approach, law in _laws().items():
        s[f"N_self/N_opt{approach}"] = s["N_self"] / exp.n_opt(law)
    s["Vd/N"] = exp.vocab_size * s["num_channels"] / s["N"]
    return s


def model_choice(exp: Experiment) -> pd.DataFrame:
    """How the accounting moves the design: for each accounting and law, C_ref (the reference model
    trained for ``ref_steps``), N_opt, the trained model nearest to N_opt (in log N_self), and the
    nearest shape with the predicted model's number of layers."""
    rows = []
    for acc in ACCOUNTINGS:
        e = exp.with_accounting(acc)
        n_self = e.setup()["N_self"]
        for approach, law in _laws().items():
            n_opt = e.n_opt(law)
            nearest = int((np.log(n_self) - math.log(n_opt)).abs().idxmin())
            layers = exp.models[nearest - 1][1]
            d, n_best = closest_model(e.estimator, n_opt, layers, multiple=e.num_heads)
            rows.append({"accounting": acc, "approach": approach, "C_ref": float(e.c_ref), "N_opt": n_opt,
                         "nearest trained model": f"{nearest}: {exp.models[nearest - 1][0]}/{layers}",
                         "its N_self/N_opt": float(n_self[nearest] / n_opt),
                         "closest shape": f"{d}/{layers}", "closest N_self/N_opt": n_best / n_opt})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Training and results (CPU scale)


def train_study(study: Study, store=None, workers: int = 1, progress: bool = True, train: bool = True) -> pd.DataFrame:
    """Every model and seed of the study, trained now if not recorded: one row per run.

    With ``train=False`` nothing is trained and a missing run is an error.
    """
    from replication.store.runs import RunStore

    store = store if store is not None else RunStore()
    jobs = study.configs()
    runs = [store.run(cfg.run_id()) for _, _, cfg in jobs]
    missing = [r.id for r in runs if not r.finished]
    if missing and train:
        runs = store.get_or_train_many([cfg for _, _, cfg in jobs], workers=workers, progress=progress)
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


def loss_curves(study: Study, results: pd.DataFrame, store=None) -> pd.DataFrame:
    """Validation loss of every run against its self-attention FLOPs as a fraction of C_ref."""
    from replication.store.runs import RunStore

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
    out["mean ± std"] = [f"{m:.4f} ± {s:.4f}" if s == s else f"{m:.4f}" for m, s in zip(out["mean"], out["std"])]
    return out


def compare(summary: pd.DataFrame, a: int, b: int, z: float = 2.0) -> dict:
    """Model ``a`` against model ``b``: difference of mean losses and its pooled standard error.

    ``a`` is "better" when its mean loss is lower by more than ``z`` standard errors of the difference,
    "worse" when higher by more than that, otherwise "not distinguishable". With one seed there is no
    standard error and the verdict is "not distinguishable (1 seed)".
    """
    ra, rb = summary.loc[a], summary.loc[b]
    diff = float(ra["mean"] - rb["mean"])
    se = float(math.sqrt(ra["sem"] ** 2 + rb["sem"] ** 2)) if ra["seeds"] > 1 and rb["seeds"] > 1 else float("nan")
    if not se == se:
        verdict = "not distinguishable (1 seed)"
    elif diff < -z * se:
        verdict = "better"
    elif diff > z * se:
        verdict = "worse"
    else:
        verdict = "not distinguishable"
    return {"model": a, "than": b, "difference": diff, "pooled_se": se,
            "z": diff / se if se and se == se else float("nan"), "verdict": verdict}


def empirical_optimum(summary: pd.DataFrame) -> float:
    """N_self at the minimum of a parabola fitted to mean final loss against log N_self (as Chinchilla's
    IsoFLOP profiles, Approach 2). NaN when fewer than 3 models or when the parabola opens downwards."""
    if len(summary) < 3:
        return float("nan")
    x, y = np.log(summary["N_self"].to_numpy(float)), summary["mean"].to_numpy(float)
    c2, c1, _ = np.polyfit(x, y, 2)
    return float(np.exp(-c1 / (2 * c2))) if c2 > 0 else float("nan")


def verdicts(study: Study, summary: pd.DataFrame, z: float = 2.0) -> pd.DataFrame:
    """Each predicted-optimal model against the reference (model 1), and the best model overall.

    Without the article's predicted numbering (custom models), the model nearest to each law's N_opt
    stands in for the predicted model.
    """
    exp = study.experiment
    laws = _laws()
    predicted = dict(exp.predicted)
    if not predicted:
        n_self = summary["N_self"]
        predicted = {a: int((np.log(n_self) - math.log(exp.n_opt(law))).abs().idxmin()) for a, law in laws.items()}
    best = int(summary["mean"].idxmin())
    rows = []
    for approach, number in predicted.items():
        if number == 1:
            continue
        r = compare(summary, number, 1, z)
        r.update({"approach": approach, "N_opt": exp.n_opt(laws[approach]),
                  "predicted": summary.loc[number, "label"], "reference": summary.loc[1, "label"],
                  "best model": summary.loc[best, "label"]})
        rows.append(r)
    cols = ["approach", "N_opt", "predicted", "reference", "difference", "pooled_se", "z", "verdict", "best model"]
    return pd.DataFrame(rows, columns=cols)


def conclusion(study: Study, summary: pd.DataFrame, z: float = 2.0) -> pd.DataFrame:
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


# --------------------------------------------------------------------------------------------------
# Figures


def plot_loss_vs_flops(study: Study, curves: pd.DataFrame, ylim=None):
    """Validation loss against C_self / C_ref, mean over seeds with the seeds' range shaded; the budget
    C_self = C_ref is the dashed line at 1 (the article's plots)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (number, part) in enumerate(curves.groupby("model")):
        g = part.groupby("C_self/C_ref")["loss"]
        x, mean, lo, hi = g.mean().index, g.mean().to_numpy(), g.min().to_numpy(), g.max().to_numpy()
        ax.plot(x, mean, color=f"C{i}", label=part["label"].iloc[0])
        ax.fill_between(x, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
    ax.axvline(1.0, color="k", ls="--", lw=1)
    ax.set_xlim(0.1, 1.1)
    if ylim is None:
        finals = curves[curves["C_self/C_ref"] > 0.3]["loss"]
        ylim = (finals.min() - 0.02, finals.quantile(0.9) + 0.02) if len(finals) else None
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(r"self-attention FLOPs $C_{self} / C_{ref}$")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), C_ref = {float(study.experiment.c_ref):.3g} FLOPs, "
                 f"{study.experiment.accounting} accounting", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_final_loss(study: Study, summary: pd.DataFrame):
    """Final loss (mean ± std over seeds) against N_self, with both laws' N_opt and the empirical optimum."""
    import matplotlib.pyplot as plt

    exp = study.experiment
    s = summary.sort_values("N_self")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.errorbar(s["N_self"], s["mean"], yerr=s["std"].fillna(0), fmt="o-", color="C0", capsize=3,
                label=f"mean ± std over {int(s['seeds'].min())}+ seeds")
    for number, row in s.iterrows():
        ax.annotate(str(number), (row["N_self"], row["mean"]), textcoords="offset points", xytext=(4, 6), fontsize=8)
    for (approach, law), style in zip(_laws().items(), (":", "--")):
        ax.axvline(exp.n_opt(law), color="C3", ls=style, lw=1.2, label=f"N_opt, approach {approach}")
    n_hat = empirical_optimum(summary)
    if n_hat == n_hat:
        ax.axvline(n_hat, color="C2", lw=1.2, label="empirical optimum (parabola)")
    ax.set_xscale("log")
    ax.set_xlabel(r"$N_{self}$ (parameters)")
    ax.set_ylabel("final validation loss (nats/token)")
    ax.set_title(f"Experiment {study.name} (CPU scale), all models at C_self = {float(exp.c_ref):.3g} FLOPs",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------
# Article scale: what was trained, what it reported, what it would cost, how to run it


def article_results(name: str, accounting: str = "corrected") -> pd.DataFrame:
    """The article's models of Experiment ``name`` (both accountings' designs), with its reported final
    losses beside ours: none, because this scale needs a GPU and the Hugging Face book corpora."""
    if name not in ARTICLE_LOSSES:
        raise ReplicationError(f"experiment={name!r} is not known; choose one of: {', '.join(ARTICLE_LOSSES)}")
    exp = experiment(name, accounting)
    setup = exp.setup()
    rows = []
    shapes = list(exp.models) + [m for m in ARTICLE_LOSSES[name] if m not in exp.models]
    for d, L in shapes:
        in_design = (d, L) in exp.models
        number = exp.models.index((d, L)) + 1 if in_design else None
        n_self = exp.estimator.num_self_attn_params(d, L)
        rows.append({"model": f"{d}/{L}", "label": exp.labels[number - 1] if in_design else "(other accounting)",
                     "N_self": n_self, "num_steps": int(setup.loc[number, "num_steps"]) if in_design else None,
                     "article loss": ARTICLE_LOSSES[name].get((d, L)), "our loss": None,
                     "why none": "not trained here: needs a GPU (see GPU-hours) and the HF book corpora"})
    return pd.DataFrame(rows)


def gpu_hours(name: str, accounting: str = "corrected", peak_flops: float = 989e12, mfu: float = 0.35) -> pd.DataFrame:
    """Expected GPU-hours of each model of the article's Experiment ``name``.

    The FLOPs a GPU actually executes are the self-attention part with the final logits (which the
    corrected accounting leaves out but the GPU still computes) plus the cross-attention part, so the
    article accounting's C is used; hours = C / (mfu * peak). Defaults: an H100 SXM's dense bf16 peak
    and a model FLOPs utilisation of 35%, typical of ~50M-parameter models at batch 80 x 512.
    """
    check_range("peak_flops", peak_flops, 0.0, lo_open=True)
    check_range("mfu", mfu, 0.0, 1.0, lo_open=True)
    exp = experiment(name, accounting)
    budget_steps = exp.setup()["num_steps"]
    # the article accounting for the FLOPs executed, with the step counts of the chosen accounting
    executed = experiment(name, "article")
    ce = executed.estimator
    rows = []
    for number, (d, L) in enumerate(exp.models, start=1):
        tokens = int(budget_steps[number]) * exp.num_latents * exp.batch_size
        flops = (ce.self_attn_flops(d, L) + ce.cross_attn_flops(d, exp.prefix_dropout)) * tokens
        rows.append({"model": f"{d}/{L}", "num_steps": int(budget_steps[number]), "latent tokens": tokens,
                     "executed FLOPs": float(flops), "GPU-hours": flops / (mfu * peak_flops) / 3600})
    df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="model number"))
    return df


def train_command(name: str, number: int, accounting: str = "corrected", gpus: int = 1, seed: int = 0) -> str:
    """The command that trains model ``number`` of the article's Experiment ``name`` with our trainer:
    ``replication train`` on one GPU, ``torchrun`` (DDP) on several."""
    exp = experiment(name, accounting)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(exp.models):
        raise ReplicationError(f"number={number!r} is out of range; allowed: 1..{len(exp.models)}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ReplicationError(f"gpus={gpus!r} must be an integer >= 1")
    d, L = exp.models[number - 1]
    args = (f"--channels {d} --layers {L} --heads {exp.num_heads} --latents {exp.num_latents} "
            f"--max-seq-len {exp.max_seq_len} --prefix-dropout {exp.prefix_dropout} "
            f"--tokenizer {ARTICLE_TOKENIZERS[name]} --corpus {ARTICLE_CORPORA[name]} "
            f"--budget-flops {int(exp.c_ref)} --accounting {accounting} --batch-size {exp.batch_size} "
            f"--lr 2e-4 --warmup-steps 200 --grad-clip 0.5 --eval-interval 500 --seed {seed}")
    if gpus == 1:
        return f"replication train {args}"
    return f"torchrun --nproc_per_node={gpus} -m replication train {args}"


def article_commands(name: str, accounting: str = "corrected", gpus: int = 1) -> list[str]:
    """One command per model of the article's Experiment ``name``."""
    return [train_command(name, i, accounting, gpus) for i in range(1, len(experiment(name, accounting).models) + 1)]


def article_shapes() -> list[tuple[str, int, int, int, int]]:
    """Every distinct article-scale model shape: (experiment, vocab, max_seq_len, channels, layers),
    over both accountings (Experiment 1's predicted model differs between them)."""
    out = []
    for name in ("1", "2a", "2b"):
        for acc in ACCOUNTINGS:
            exp = experiment(name, acc)
            for d, L in exp.models:
                key = (name, exp.vocab_size, exp.max_seq_len, d, L)
                if key not in out:
                    out.append(key)
    return out


def recorded_total(names=("1", "2a", "2b"), store=None) -> pd.DataFrame:
    """Training time of the default CPU-scale studies as recorded (nothing is trained): one row per
    experiment and a total. ``recorded`` counts the runs found; a cold build trains the rest."""
    from replication.store.runs import RunStore

    store = store if store is not None else RunStore()
    rows = []
    for name in names:
        study = cpu_study(name)
        jobs = study.configs()
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


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ReplicationError(f"scale={scale!r} is not known; choose one of: {', '.join(SCALES)}")
    return scale
