"""Krasser's Experiments 1, 2a and 2b scaled down to a CPU: the design (:class:`KrasserStudy`), which the
CPU-scale chapters train with several seeds, and what it keeps of the article's (:func:`design_comparison`).

The design is the article's (see :mod:`replication.studies.krasser_design`): a reference model trained for
``ref_steps`` steps fixes the self-attention budget ``C_ref``; a Chinchilla law turns ``C_ref`` into
``N_opt``; every model of the experiment is trained on ``D_iso = C_ref / C_self`` latent tokens, so all
spend the same self-attention compute. At CPU scale the same design is an :class:`Experiment` with 128
latents, batch 16 and 4 heads, models of 10^4-10^5 parameters and budgets near 10^12 FLOPs. Its runs,
tests and verdicts are :mod:`replication.studies.krasser`.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from replication.corpus import check_corpus, parse_tokenizer
from replication.errors import ReplicationError, check_choice, check_int, check_range
from replication.counting import ACCOUNTINGS
from replication.studies import krasser_design
from replication.studies.krasser_design import Experiment, check_models
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

    def configs(self) -> list[TrainConfig]:
        """Every run: each model with each seed, all at ``C_self = C_ref``."""
        return [cfg for _, _, cfg in self.runs()]

    def runs(self) -> list[tuple[int, int, TrainConfig]]:
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


#: What a CPU-scale quantity reads when the chapter runs at the article's scale only.
NOT_TRAINED = "not trained here (scale = 'article')"


def _span(values, fmt=str) -> str:
    """``lo–hi`` of some values, or the one value when they are all equal."""
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def _percent(x: float) -> str:
    return f"{100 * x:.2g}%"


def _sci(x: float) -> str:
    return f"{x:.2g}"


def design_comparison(study: KrasserStudy, results: pd.DataFrame | None = None, sci=_sci) -> pd.DataFrame:
    """What the CPU-scale design keeps from the article's and what it changes, each row computed from the
    two designs (the article's under the same accounting): shapes, steps, tokens per step, optimiser,
    the cross-attention share of all FLOPs, epochs (ours from the recorded runs, ``results``: the study's
    runs table, None when nothing was trained) and seeds. ``sci`` writes the budget."""
    cpu, art = study.experiment, krasser_design.experiment(study.name, study.experiment.accounting)
    cfg = study.configs()[0]
    opt = krasser_design.ARTICLE_OPTIMIZER
    ours, theirs = cpu.setup(), art.setup()

    def both(exp, setup):
        return {
            "layers": _span(setup["num_layers"]),
            "channels": _span(setup["num_channels"]),
            "heads": str(exp.num_heads),
            "latents n": str(exp.num_latents),
            "prefix m : latents n": f"{exp.num_prefix / exp.num_latents:g} : 1",
            "sequences per step": str(exp.batch_size),
            "latent tokens per step": f"{exp.num_latents * exp.batch_size:,}",
            "tokens per step (prefix + latents)": f"{exp.max_seq_len * exp.batch_size:,}",
            "reference steps": f"{exp.ref_steps:,}",
            "steps (all models)": _span(setup["num_steps"], lambda x: f"{x:,}"),
            "self-attention budget (FLOPs)": sci(float(exp.c_ref)),
            "cross-attention share of all FLOPs": _span(exp.ratios()["C_cross/C"], _percent),
        }

    rows = {"tokenizer": (study.tokenizer, krasser_design.ARTICLE_TOKENIZERS[study.name]),
            "corpus": (study.corpus, krasser_design.ARTICLE_CORPORA[study.name])}
    a, b = both(cpu, ours), both(art, theirs)
    rows |= {k: (a[k], b[k]) for k in a}
    rows |= {"peak learning rate": (f"{study.lr:g}", f"{opt['lr']:g}"),
             "warmup steps": (str(study.warmup_steps), str(opt["warmup_steps"])),
             "gradient clipping": (f"{cfg.grad_clip:g}", f"{opt['grad_clip']:g}"),
             "prefix dropout": (f"{cpu.prefix_dropout:g}", f"{art.prefix_dropout:g}")}
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["CPU scale", "article"])
    df["kept"] = (df["CPU scale"] == df["article"]).map({True: "kept", False: "changed"})
    # The article states its epochs (under one) and prints no corpus size; ours are measured.
    epochs = NOT_TRAINED if results is None else _span(results["epochs"], lambda x: f"{x:.2g}")
    under_one = results is not None and results["epochs"].max() < 1
    df.loc["epochs"] = [epochs, "under 1 (as the article states)", "kept" if under_one else "changed"]
    df.loc["seeds per model"] = [str(len(study.seeds)), "1", "kept" if len(study.seeds) == 1 else "changed"]
    df.index.name = "quantity"
    return df
