"""Krasser's experiment design, on paper: the article's tables recomputed, the laws' predictions, the
models they point to, and what training at the article's scale would cost and how to run it.

Every experiment starts from a reference Perceiver AR model trained for a given number of steps:
that fixes the latent training tokens ``D_ref = steps * n * B`` and the self-attention budget
``C_ref = self_attn_flops(ref) * D_ref``. Each model of the experiment is then trained on
``D_iso = C_ref / self_attn_flops(model)`` latent tokens, so that all spend the same self-attention
compute (``C_self = C_ref``); the prefix cross-attention comes on top (``C_cross``).

Model 1 is always the reference. The predicted compute-optimal model of Experiment 1 depends on the
accounting: 624/11 in the article as published, 592/10 after Krasser's FLOP correction. The article's
printed numbers are in :mod:`replication.papers.krasser`; the CPU-scale study that trains these designs
is :mod:`replication.studies.krasser`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from replication.training.options import arguments
from replication.errors import ReplicationError, check_choice, check_int, check_range
from replication.counting import ACCOUNTINGS, ComputeEstimator
from replication.fit.laws import ScalingLaw, chinchilla_law
from replication.papers.krasser import BATCH_SIZE, DESIGNS, LOSSES, NUM_LATENTS, PREFIX_DROPOUT
from replication.training.config import ModelConfig, TrainConfig

def check_models(models, name: str = "models") -> tuple[tuple[int, int], ...]:
    """``models`` as a non-empty tuple of (num_channels, num_layers) integer pairs, e.g. [[512, 9], [592, 10]]."""
    allowed = "allowed: a non-empty list of [num_channels, num_layers] integer pairs, e.g. [[512, 9], [592, 10]]"
    if isinstance(models, str) or not hasattr(models, "__len__") or len(models) == 0:
        raise ReplicationError(f"{name}={models!r} is not allowed; {allowed}")
    out = []
    for m in models:
        if isinstance(m, str) or not hasattr(m, "__len__") or len(m) != 2:
            raise ReplicationError(f"{name} entry {m!r} is not a pair; {allowed}")
        out.append((check_int(f"{name} num_channels", m[0], 1), check_int(f"{name} num_layers", m[1], 1)))
    return tuple(out)


#: The article's training setup, for the commands that reproduce it.
ARTICLE_TOKENIZERS = {"1": "sentencepiece:32000", "2a": "bytes", "2b": "bytes"}
ARTICLE_CORPORA = {"1": "hf:bookcorpusopen", "2a": "hf:bookcorpus", "2b": "hf:bookcorpus"}
ARTICLE_OPTIMIZER = {"lr": 2e-4, "warmup_steps": 200, "grad_clip": 0.5}


@dataclass(frozen=True)
class Experiment:
    """One of the article's experiments: a tokenizer/sequence layout, a reference budget, some models.

    ``models`` are ``(num_channels, num_layers)`` pairs; the first is the reference model, trained for
    ``ref_steps`` steps.
    """

    name: str
    vocab_size: int
    max_seq_len: int
    ref_steps: int
    models: tuple[tuple[int, int], ...]
    labels: tuple[str, ...] = ()
    #: scaling-law approach -> number of the model that approach predicts (1-based, as in the tables)
    predicted: tuple[tuple[int, int], ...] = ()
    accounting: str = "corrected"
    num_latents: int = NUM_LATENTS
    batch_size: int = BATCH_SIZE
    prefix_dropout: float = PREFIX_DROPOUT
    num_heads: int = 8

    def __post_init__(self):
        check_choice("accounting", self.accounting, ACCOUNTINGS)
        check_int("ref_steps", self.ref_steps, 1)
        check_int("batch_size", self.batch_size, 1)
        object.__setattr__(self, "models", check_models(self.models))
        if self.labels and len(self.labels) != len(self.models):
            raise ReplicationError(f"labels has {len(self.labels)} entries; need one per model ({len(self.models)})")
        for d, L in self.models:  # builds each model once so that bad shapes fail here, not mid-table
            self.estimator.model(d, L)
        self.estimator.cross_attn_flops(self.models[0][0], self.prefix_dropout)

    @property
    def estimator(self) -> ComputeEstimator:
        return ComputeEstimator(self.vocab_size, self.max_seq_len, self.num_latents, self.num_heads, self.accounting)

    @property
    def num_prefix(self) -> int:
        return self.max_seq_len - self.num_latents

    @property
    def d_ref(self) -> int:
        """Latent training tokens of the reference model (prefix tokens do not count)."""
        return self.ref_steps * self.num_latents * self.batch_size

    @property
    def c_ref(self) -> int:
        """The self-attention compute budget every model of the experiment gets."""
        return self.estimator.self_attn_flops(*self.models[0]) * self.d_ref

    def n_opt(self, law) -> float:
        """N_opt of a scaling law (anything with ``.n_opt(C)``) at this experiment's budget C_ref."""
        return float(law.n_opt(self.c_ref))

    def with_accounting(self, accounting: str) -> "Experiment":
        return replace(self, accounting=accounting)

    def setup(self) -> pd.DataFrame:
        """The article's setup table (Tables 1, 3, 5): one row per model, numbered from 1."""
        ce, c_ref = self.estimator, self.c_ref
        rows = []
        for d, L in self.models:
            c_self_per_token = ce.self_attn_flops(d, L)
            d_iso = c_ref / c_self_per_token
            n_cross, n_self = ce.num_cross_attn_params(d), ce.num_self_attn_params(d, L)
            c_self = c_self_per_token * d_iso
            c_cross = ce.cross_attn_flops(d, self.prefix_dropout) * d_iso
            rows.append({
                "num_channels": d,
                "num_layers": L,
                "num_steps": math.ceil(d_iso / self.num_latents / self.batch_size),
                "D_iso": d_iso,
                "N": n_cross + n_self,
                "N_cross": n_cross,
                "N_self": n_self,
                "C": c_cross + c_self,
                "C_cross": c_cross,
                "C_self": c_self,
                "C_self_hat": 6 * n_self * d_iso,  # Kaplan's 6N approximation of C_self
            })
        df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="model"))
        if self.labels:
            df.insert(0, "label", list(self.labels))
        return df

    def ratios(self) -> pd.DataFrame:
        """The article's ratio table (Tables 2, 4): cross-attention shares and C_self / 6 N_self D."""
        s = self.setup()
        return pd.DataFrame({
            "N_cross/N": s["N_cross"] / s["N"],
            "C_cross/C": s["C_cross"] / s["C"],
            "C_self/C_self_hat": s["C_self"] / s["C_self_hat"],
        }, index=s.index)


EXPERIMENTS = tuple(DESIGNS)


def experiment(name: str, accounting: str = "corrected") -> Experiment:
    """The article's Experiment ``name`` ("1", "2a", "2b") under an accounting."""
    if name not in DESIGNS:
        raise ReplicationError(f"experiment={name!r} is not known; choose one of: {', '.join(EXPERIMENTS)}")
    check_choice("accounting", accounting, ACCOUNTINGS)
    design = dict(DESIGNS[name])
    if isinstance(design["models"], dict):
        design["models"] = design["models"][accounting]
    return Experiment(name=name, accounting=accounting, **design)


#: Article table number -> (experiment, which table).
_TABLES = {1: ("1", "setup"), 2: ("1", "ratios"), 3: ("2a", "setup"), 4: ("2a", "ratios"), 5: ("2b", "setup")}


def article_table(number: int, accounting: str = "article") -> pd.DataFrame:
    """Table ``number`` (1-5) of Krasser's article, recomputed under ``accounting``."""
    if number not in _TABLES:
        raise ReplicationError(f"number={number!r} is out of range; allowed: 1..5")
    name, kind = _TABLES[number]
    return getattr(experiment(name, accounting), kind)()


def both_accountings(number: int) -> pd.DataFrame:
    """Article table ``number`` under both accountings, stacked (index: accounting, model)."""
    return pd.concat({acc: article_table(number, acc) for acc in ACCOUNTINGS}, names=["accounting", "model"])


def formatted(df: pd.DataFrame) -> pd.DataFrame:
    """Strings as the article prints them: counts of steps and shapes as integers, the rest as 3
    significant figures (``5.78e+17``), ratios to 4 decimals."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        if col in ("label", "num_channels", "num_layers", "num_steps"):
            out[col] = df[col].astype(str)
        elif "/" in col:
            out[col] = df[col].map(lambda x: f"{x:.4f}")
        else:
            out[col] = df[col].map(lambda x: f"{x:.2e}")
    return out


def closest_model(estimator: ComputeEstimator, n_opt: float, num_layers: int, multiple: int = 8) -> tuple[int, int]:
    """The (num_channels, N_self) with ``num_layers`` layers whose N_self is nearest to ``n_opt``.

    Channels are searched in steps of ``multiple`` (which must be a multiple of the number of heads).
    Krasser chose models by hand, close to but not always nearest to N_opt; this shows the candidates.
    """
    check_int("num_layers", num_layers, 1)
    check_int("multiple", multiple, 1)
    if multiple % estimator.num_heads:
        raise ReplicationError(f"multiple={multiple} must be a multiple of num_heads={estimator.num_heads}")
    if not n_opt > 0:
        raise ReplicationError(f"n_opt={n_opt!r} must be > 0")
    # N_self grows like 12 L d^2, so the answer lies near this d; search a window around it
    guess = max(multiple, int(math.sqrt(n_opt / (12 * num_layers))) // multiple * multiple)
    candidates = range(max(multiple, guess - 64 * multiple), guess + 64 * multiple + 1, multiple)
    best = min(candidates, key=lambda d: abs(estimator.num_self_attn_params(d, num_layers) - n_opt))
    return best, estimator.num_self_attn_params(best, num_layers)


def chinchilla_laws() -> dict[int, ScalingLaw]:
    """The Chinchilla laws Krasser applied: approach (1, 2) -> law (:func:`replication.fit.laws.chinchilla_law`)."""
    return {approach: chinchilla_law(approach) for approach in (1, 2)}


def predictions() -> pd.DataFrame:
    """For each experiment, accounting and scaling-law approach: C_ref, N_opt and the model chosen."""
    laws = chinchilla_laws()
    rows = []
    for name in EXPERIMENTS:
        for acc in ACCOUNTINGS:
            exp = experiment(name, acc)
            for approach, number in exp.predicted:
                d, L = exp.models[number - 1]
                n_opt = exp.n_opt(laws[approach])
                n_self = exp.estimator.num_self_attn_params(d, L)
                rows.append({"experiment": name, "accounting": acc, "approach": approach,
                             "C_ref": float(exp.c_ref), "N_opt": n_opt, "model": f"{d}/{L}",
                             "N_self": n_self, "N_self/N_opt": n_self / n_opt})
    return pd.DataFrame(rows)


def design_table(exp: Experiment) -> pd.DataFrame:
    """The setup table (as the article's Tables 1, 3, 5) with each model's N_self / N_opt under both laws
    and its embedding share V d / N."""
    s = exp.setup()
    for approach, law in chinchilla_laws().items():
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
        for approach, law in chinchilla_laws().items():
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
# The article's scale: what it reported, what it would cost, how to run it


def article_results(name: str, accounting: str = "corrected") -> pd.DataFrame:
    """The article's models of Experiment ``name`` (both accountings' designs), with its reported final
    losses beside ours: none, because this scale needs a GPU and the Hugging Face book corpora."""
    if name not in LOSSES:
        raise ReplicationError(f"experiment={name!r} is not known; choose one of: {', '.join(LOSSES)}")
    exp = experiment(name, accounting)
    setup = exp.setup()
    rows = []
    shapes = list(exp.models) + [m for m in LOSSES[name] if m not in exp.models]
    for d, L in shapes:
        in_design = (d, L) in exp.models
        number = exp.models.index((d, L)) + 1 if in_design else None
        n_self = exp.estimator.num_self_attn_params(d, L)
        rows.append({"model": f"{d}/{L}", "label": exp.labels[number - 1] if in_design else "(other accounting)",
                     "N_self": n_self, "num_steps": int(setup.loc[number, "num_steps"]) if in_design else None,
                     "article loss": LOSSES[name].get((d, L)), "our loss": None,
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
    ce = experiment(name, "article").estimator
    rows = []
    for number, (d, L) in enumerate(exp.models, start=1):
        tokens = int(budget_steps[number]) * exp.num_latents * exp.batch_size
        flops = (ce.self_attn_flops(d, L) + ce.cross_attn_flops(d, exp.prefix_dropout)) * tokens
        rows.append({"model": f"{d}/{L}", "num_steps": int(budget_steps[number]), "latent tokens": tokens,
                     "executed FLOPs": float(flops), "GPU-hours": flops / (mfu * peak_flops) / 3600})
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="model number"))


def train_command(name: str, number: int, accounting: str = "corrected", gpus: int = 1, seed: int = 0) -> str:
    """The command that trains model ``number`` of the article's Experiment ``name`` with our trainer:
    ``replication train`` on one GPU, ``torchrun`` (DDP) on several."""
    exp = experiment(name, accounting)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(exp.models):
        raise ReplicationError(f"number={number!r} is out of range; allowed: 1..{len(exp.models)}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise ReplicationError(f"gpus={gpus!r} must be an integer >= 1")
    d, L = exp.models[number - 1]
    model = ModelConfig(vocab_size=exp.vocab_size, num_latents=exp.num_latents, num_prefix=exp.num_prefix,
                        num_channels=d, num_layers=L, num_heads=exp.num_heads, prefix_dropout=exp.prefix_dropout)
    cfg = TrainConfig(model=model, corpus=ARTICLE_CORPORA[name], tokenizer=ARTICLE_TOKENIZERS[name],
                      budget_flops=float(exp.c_ref), accounting=accounting, batch_size=exp.batch_size,
                      eval_interval=500, seed=seed, **ARTICLE_OPTIMIZER)
    args = arguments(cfg, always=("channels", "layers", "heads", "latents", "max-seq-len", "prefix-dropout",
                                  "tokenizer", "corpus", "budget-flops", "accounting", "batch-size", "lr",
                                  "warmup-steps", "grad-clip", "eval-interval", "seed"))
    if gpus == 1:
        return f"replication train {args}"
    return f"torchrun --nproc_per_node={gpus} -m replication train {args}"


def article_commands(name: str, accounting: str = "corrected", gpus: int = 1) -> list[str]:
    """One command per model of the article's Experiment ``name``."""
    return [train_command(name, i, accounting, gpus) for i in range(1, len(experiment(name, accounting).models) + 1)]
