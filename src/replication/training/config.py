"""What a training run computes: the model's shape (:class:`ModelConfig`) and the run's data, budget and
optimiser (:class:`TrainConfig`).

Both are frozen and validated when constructed; derive a changed config with ``dataclasses.replace``.
Each field carries its help text in its metadata, from which ``replication train`` builds its options
(``replication.training.options``). A config's identity (everything but how it is executed, plus the code
versions) hashes to the run id, the run's folder name in the run store.

No torch here: the command line imports this module to build its parser.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from replication.corpus.streams import DATA_VERSION
from replication.corpus.tokenizers import parse_tokenizer
from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.counting import TRAIN_ACCOUNTINGS, PerceiverARShape
from replication.store.runs import run_id

#: Bump when a change to replication.training (the model or the loop) changes what a given config and
#: seed compute. It is part of every run id, so recorded runs of older code are never mistaken for new ones.
MODEL_VERSION = 1

#: What ``weight_decay_on`` may name (``replication.training.loop.adamw``).
DECAYED = ("linear", "all")

#: Upper bounds that keep a config's numbers meaningful: step counts a run could finish, seeds that the
#: per-step seeding (seed x 1_000_003 + step, times 64) keeps inside torch's 64-bit seed range.
MAX_STEPS = 10**9
MAX_SEED = 2**32 - 1


def _doc(help: str, *, option: str | None = None, shown_default: str | None = None, derived: str | None = None,
         execution: bool = False) -> dict:
    """A field's metadata: its help text; ``option``, the command-line name when it is not the field's
    name with dashes; ``shown_default``, the help's default where the value itself would not say it;
    ``derived``, what sets the field on the command line instead of an option of its own; ``execution``,
    a field that says how the run is executed, not what it computes (left out of the run id)."""
    return {"help": help, "option": option, "shown_default": shown_default, "derived": derived,
            "execution": execution}


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = field(default=262, metadata=_doc("V, the vocabulary size", derived="--tokenizer"))
    num_latents: int = field(default=512, metadata=_doc("n, latent tokens", option="latents"))
    num_prefix: int = field(default=1536, metadata=_doc("P, prefix tokens; 0 gives a plain decoder-only "
                                                        "transformer", option="prefix"))
    num_channels: int = field(default=512, metadata=_doc("d, the model width (divisible by --heads)",
                                                         option="channels"))
    num_layers: int = field(default=9, metadata=_doc("L, attention layers including the hybrid layer",
                                                     option="layers"))
    num_heads: int = field(default=8, metadata=_doc("attention heads", option="heads"))
    prefix_dropout: float = field(default=0.5, metadata=_doc("fraction of the prefix dropped per example, "
                                                             "in training only"))
    # the hybrid layer and the first self-attention layer in Krasser's code
    rotary_layers: int = field(default=2, metadata=_doc("attention layers, from the first, with rotary "
                                                        "embeddings on the first half of each head's channels"))
    init_std: float = field(default=0.02, metadata=_doc("standard deviation of the initial weights"))

    def __post_init__(self):
        for name in ("vocab_size", "num_latents", "num_channels", "num_layers", "num_heads"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
        for name in ("num_prefix", "rotary_layers"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 0))
        if self.num_channels % self.num_heads:
            raise ReplicationError(
                f"num_channels={self.num_channels} must be divisible by num_heads={self.num_heads}"
            )
        check_number("prefix_dropout", self.prefix_dropout, 0.0, 1.0, hi_open=True)
        check_number("init_std", self.init_std, 0.0, 1.0, lo_open=True)

    @property
    def max_seq_len(self) -> int:
        return self.num_prefix + self.num_latents

    @property
    def head_dim(self) -> int:
        return self.num_channels // self.num_heads

    @property
    def rotary_dim(self) -> int:
        """Rotated channels per head: the first half, rounded down to an even number."""
        return (self.head_dim // 2) // 2 * 2

    @property
    def num_kept_prefix(self) -> int:
        """Prefix tokens each training example keeps after prefix dropout."""
        return self.num_prefix - int(self.num_prefix * self.prefix_dropout)

    def shape(self) -> PerceiverARShape:
        """This model as the estimator sees it: parameter counts and FLOPs (``replication.counting``)."""
        return PerceiverARShape(self.vocab_size, self.max_seq_len, self.num_latents, self.num_channels,
                                self.num_layers, self.num_heads)


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig, metadata=_doc("the model"))
    corpus: str = field(default="kjv", metadata=_doc("kjv, files:<glob> or hf:<name>[:<config>]"
                                                     "[?split=...&field=...&data_files=...]"))
    tokenizer: str = field(default="bytes", metadata=_doc("bytes (V=262) or sentencepiece:<V>; sets the "
                                                          "model's vocabulary size"))
    val_fraction: float = field(default=0.05, metadata=_doc("fraction of the documents held out for "
                                                            "validation"))
    batch_size: int = field(default=80, metadata=_doc("global batch, in sequences"))
    steps: int | None = field(default=None, metadata=_doc("training steps"))
    budget_flops: float | None = field(default=None, metadata=_doc(
        "C_self of the whole run, FLOPs; steps = ceil(C / C_self per latent token / (n B))"))
    accounting: str = field(default="corrected", metadata=_doc(
        f"how --budget-flops is turned into steps: {', '.join(TRAIN_ACCOUNTINGS)} (replication.counting)"))
    lr: float = field(default=2e-4, metadata=_doc("peak learning rate, after a linear warmup"))
    min_lr_ratio: float = field(default=0.1, metadata=_doc("the cosine decays to min_lr_ratio x lr"))
    cosine_cycle_ratio: float = field(default=1.0, metadata=_doc(
        "cosine cycle length / run length (Chinchilla Figure A1: > 1 hurts)"))
    warmup_steps: int = field(default=200, metadata=_doc("linear warmup steps"))
    weight_decay: float = field(default=0.0, metadata=_doc("AdamW weight decay; 0 is Adam, as in the article"))
    weight_decay_on: str = field(default="linear", metadata=_doc(
        "the parameters that decay: linear, the weight matrices of the linear layers (not the embeddings, "
        "norms or biases); all, every parameter (what runs recorded before this option were trained with)"))
    beta1: float = field(default=0.9, metadata=_doc("Adam beta1"))
    beta2: float = field(default=0.999, metadata=_doc("Adam beta2"))
    grad_clip: float = field(default=0.5, metadata=_doc("gradient norm clipping threshold"))
    eval_interval: int = field(default=100, metadata=_doc("validate every k steps (and after the last)"))
    eval_windows: int = field(default=64, metadata=_doc("validation windows of max_seq_len tokens (a fixed "
                                                        "set)"))
    seed: int = field(default=0, metadata=_doc("seed of the initial weights and of every step's batches"))
    micro_batch_size: int | None = field(default=None, metadata=_doc(
        "sequences per forward pass per process (gradient accumulation)",
        shown_default="the batch divided among the processes", execution=True))
    compile: bool = field(default=False, metadata=_doc("torch.compile the model", execution=True))
    activation_checkpointing: bool = field(default=False, metadata=_doc(
        "recompute layer activations in backward: saves memory, ~30% more compute", execution=True))
    checkpoint_interval: int = field(default=100, metadata=_doc("checkpoint every k steps", execution=True))
    log_interval: int = field(default=10, metadata=_doc("record the training loss every k steps",
                                                        execution=True))

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ReplicationError("model must be a ModelConfig")
        _, vocab = parse_tokenizer(self.tokenizer)
        if self.model.vocab_size != vocab:
            raise ReplicationError(f"vocab_size={self.model.vocab_size} does not match tokenizer "
                                   f"{self.tokenizer!r} (V={vocab})")
        if (self.steps is None) == (self.budget_flops is None):
            raise ReplicationError("give exactly one of steps and budget_flops")
        if self.steps is not None:
            object.__setattr__(self, "steps", check_int("steps", self.steps, 1, MAX_STEPS))
        check_choice("accounting", self.accounting, TRAIN_ACCOUNTINGS)
        check_number("val_fraction", self.val_fraction, 0.0, 0.5, lo_open=True)
        object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, 1))
        if self.micro_batch_size is not None:
            object.__setattr__(self, "micro_batch_size",
                               check_int("micro_batch_size", self.micro_batch_size, 1, self.batch_size))
            if self.batch_size % self.micro_batch_size:
                raise ReplicationError(f"batch_size={self.batch_size} must be a multiple of "
                                       f"micro_batch_size={self.micro_batch_size}")
        check_number("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_number("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_number("cosine_cycle_ratio", self.cosine_cycle_ratio, 0.0, 100.0, lo_open=True)
        object.__setattr__(self, "warmup_steps", check_int("warmup_steps", self.warmup_steps, 0, MAX_STEPS))
        check_number("weight_decay", self.weight_decay, 0.0, 10.0)
        check_choice("weight_decay_on", self.weight_decay_on, DECAYED)
        if self.lr * self.weight_decay >= 1:  # AdamW multiplies every weight by 1 - lr x weight_decay
            raise ReplicationError(f"weight_decay={self.weight_decay!r} with lr={self.lr!r} shrinks every weight "
                                   "by a factor 1 - lr x weight_decay <= 0 per step; allowed: lr x weight_decay < 1")
        check_number("beta1", self.beta1, 0.0, 1.0, hi_open=True)
        check_number("beta2", self.beta2, 0.0, 1.0, hi_open=True)
        check_number("grad_clip", self.grad_clip, 0.0, 1e6, lo_open=True)
        for name in ("eval_interval", "eval_windows", "checkpoint_interval", "log_interval"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1, MAX_STEPS))
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0, MAX_SEED))
        for name in ("compile", "activation_checkpointing"):
            if not isinstance(getattr(self, name), bool):
                raise ReplicationError(f"{name}={getattr(self, name)!r} must be True or False")
        if self.budget_flops is not None:  # last: the step count needs the model and the accounting
            check_number("budget_flops", self.budget_flops, 0, lo_open=True)
            if self.num_steps() > MAX_STEPS:
                raise ReplicationError(f"budget_flops={self.budget_flops:g} takes {self.num_steps():,} steps of "
                                       f"{self.batch_size} sequences; allowed: at most {MAX_STEPS:,} steps")

    def identity(self) -> dict:
        """Everything that defines what the run computes, with the code versions (hashed to the run id)."""
        d = asdict(self)
        for name in EXECUTION_FIELDS:
            d.pop(name)
        # left out where it changes nothing (no decay) and where it is "all", what the runs recorded before
        # the choice existed decayed: their ids stay as they were
        if self.weight_decay == 0 or self.weight_decay_on == "all":
            d.pop("weight_decay_on")
        d["model_version"] = MODEL_VERSION
        d["data_version"] = DATA_VERSION
        return d

    def run_id(self) -> str:
        return run_id(self.identity())

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The config of an identity (a run's config.json) or of ``dataclasses.asdict(cfg)``."""
        d = dict(d)
        d.pop("model_version", None)
        d.pop("data_version", None)
        if d.get("weight_decay", 0) and "weight_decay_on" not in d:  # an identity says nothing of "all"
            d["weight_decay_on"] = "all"
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ReplicationError(f"unknown TrainConfig field(s): {', '.join(unknown)}")
        model = d.pop("model", None)
        if isinstance(model, dict):
            model = ModelConfig(**model)
        return cls(**d) if model is None else cls(model=model, **d)

    # --- compute accounting ----------------------------------------------------------------------

    def flops_per_latent_token(self) -> tuple[int, int]:
        """(C_self, C_cross) training FLOPs per latent token, from ``replication.counting``."""
        shape = self.model.shape()
        return shape.self_attn_flops(self.accounting), shape.cross_attn_flops(self.model.prefix_dropout,
                                                                              self.accounting)

    def num_steps(self) -> int:
        if self.steps is not None:
            return self.steps
        c_self, _ = self.flops_per_latent_token()
        d_iso = self.budget_flops / c_self
        return max(1, math.ceil(d_iso / (self.model.num_latents * self.batch_size)))

    # --- memory ----------------------------------------------------------------------------------

    def memory_estimate(self, micro_batch_size: int, activation_bytes: int = 4) -> dict:
        """Bytes one training process needs, roughly (within about 20% of the peak resident memory
        measured on the CPU for models of 0.4M to 50M parameters):

        * ``parameters``: weights, gradients, AdamW's two moments and its temporaries, 24 bytes per
          parameter;
        * ``activations``: what backward keeps of one micro-batch: about 24 values per latent token,
          channel and layer (one layer's worth plus each layer's input under activation checkpointing),
          9 per kept prefix token and channel in the hybrid layer, and 3 per latent token and vocabulary
          entry for the logits and their softmax;
        * ``runtime``: the process with torch and the token streams loaded, 0.3 GB.
        """
        m = self.model
        n, d = m.num_latents, m.num_channels
        layer_values = (m.num_layers + 24) * n * d if self.activation_checkpointing else 24 * m.num_layers * n * d
        per_sequence = (layer_values + 9 * m.num_kept_prefix * d + 3 * n * m.vocab_size) * activation_bytes \
            + 8 * (m.max_seq_len + n)  # the int64 token windows
        out = {"parameters": 24 * m.shape().num_params, "activations": micro_batch_size * per_sequence,
               "runtime": 300 * 2**20}
        out["total"] = sum(out.values())
        return out


#: Fields that say how a run is executed, not what it computes: left out of the run id.
EXECUTION_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.metadata["execution"])
