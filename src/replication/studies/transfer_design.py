"""The design of the Perceiver AR transfer test (:class:`TransferStudy`): does a compute-optimal law derived
for decoder-only transformers transfer to Perceiver AR? The article's question, tested at CPU scale with our
own law (:mod:`replication.studies.chinchilla`) instead of Chinchilla's extrapolated six decades down.

One budget C inside the Chinchilla study's range, three sizes around the study's N_opt(C) (0.5x, 1x, 2x, the
nearest rungs of its ladder), four paired seeds, and these variants, every one with the study's recipe and its
learning-rate rule at the rung:

- ``decoder``: P = 0, the decoder-only control: the study's own IsoFLOP configs (same run ids);
- ``prefix, C_self``: P = 3n prefix tokens (the article's 1,536 : 512), prefix dropout 0.5, trained on
  C of self-attention compute only: the prefix's cross-attention comes on top (the article's choice);
- ``prefix, C_self + C_cross``: the same models, fewer steps, so that C counts the prefix as well;
- ``decoder, SentencePiece`` and ``prefix, SentencePiece``: the first two with a SentencePiece
  vocabulary whose embedding share of N matches the article's Experiment 1 (the vocabulary question:
  Experiment 1 against 2, with nothing else changed). The share is the token embedding's, V d / N
  (the book's "Vd/N"; 0.358 for the article's reference model), which is what the vocabulary changes:
  at our widths the 512 position embeddings of a prefix model are already 26% of N, so with them
  counted (``share="token+positions"``, 0.381 in the article) bytes alone would be at 0.40.

Sizes are N_self: every parameter but the prefix's position embeddings (the article's convention), so
a prefix model and its control at one rung have the same size. Budgets are executed FLOPs. A prefix
model is validated on windows of P + n tokens (the loss on the last n), the control on windows of n:
windows spread evenly over the same validation stream, each with the context its model can use. The runs,
optima and verdicts are :mod:`replication.studies.transfer`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.papers.krasser import NUM_LATENTS, PREFIX_DROPOUT, PREFIX_LENGTHS
from replication.studies.chinchilla_approach2 import approach2
from replication.studies.chinchilla_design import DEFAULT, TRAIN_TOKENS, ChinchillaStudy, num_params
from replication.studies.krasser_design import experiment
from replication.training.config import TrainConfig

#: variant -> (tokenizer kind, prefix or not, how C is counted: "self" = C_self, "total" = C_self + C_cross).
VARIANTS = {
    "decoder": ("bytes", False, "self"),
    "prefix, C_self": ("bytes", True, "self"),
    "prefix, C_self + C_cross": ("bytes", True, "total"),
    "decoder, SentencePiece": ("sentencepiece", False, "self"),
    "prefix, SentencePiece": ("sentencepiece", True, "self"),
}

#: comparison -> (variants added, variants subtracted): shift = sum of their log N*.
COMPARISONS = {
    "prefix, C_self": (("prefix, C_self",), ("decoder",)),
    "prefix, C_self + C_cross": (("prefix, C_self + C_cross",), ("decoder",)),
    "prefix, SentencePiece": (("prefix, SentencePiece",), ("decoder, SentencePiece",)),
    "vocabulary, decoder": (("decoder, SentencePiece",), ("decoder",)),
    # does the vocabulary change how far the prefix moves N*? (Experiment 1 against 2b, controlled)
    "vocabulary x prefix": (("prefix, SentencePiece", "decoder"), ("decoder, SentencePiece", "prefix, C_self")),
}

#: The largest SentencePiece vocabulary the default corpus supports (SentencePiece refuses more).
MAX_SENTENCEPIECE_VOCAB = 10_689

#: How the embedding share of N is counted: the token embedding V d / N (the book's "Vd/N"), or the
#: token and position embeddings (V d + max_seq_len d) / N.
SHARES = ("token", "token+positions")


def embedding_share(model, share: str = "token") -> float:
    """The embedding share of N of a ModelConfig or PerceiverARShape, counted as ``share``."""
    check_choice("share", share, SHARES)
    shape = model.shape() if hasattr(model, "shape") else model
    rows = shape.vocab_size + (shape.max_seq_len if share == "token+positions" else 0)
    return rows * shape.num_channels / shape.num_params


def article_share(share: str = "token") -> float:
    """The embedding share of the article's Experiment 1 reference model (512/9, V = 32,000, 2,048 tokens)."""
    exp = experiment("1")
    return embedding_share(exp.estimator.model(*exp.models[0]), share)


@dataclass(frozen=True)
class TransferStudy:
    """The transfer test's design: the Chinchilla study whose ladder, recipe, rule and law it uses
    (``chinchilla``), the budget (None: that study's middle budget) and ``n_opt``, N_opt of that study's law
    at the budget, which places the sizes (None: read from its recorded runs when first needed,
    :func:`law_n_opt`)."""

    chinchilla: ChinchillaStudy = DEFAULT
    budget: float | None = None
    n_opt: float | None = None
    factors: tuple = (0.5, 1.0, 2.0)
    prefix_ratio: float = PREFIX_LENGTHS["1"] / NUM_LATENTS  # P / n, the article's 1,536 / 512
    prefix_dropout: float = PREFIX_DROPOUT
    seeds: tuple = (0, 1, 2, 3)
    variants: tuple = tuple(VARIANTS)
    vocab_sizes: tuple = (512, 1024, 2048, 4096, 8192)
    share: str = "token"

    def __post_init__(self):
        lo, hi = min(self.chinchilla.budgets), max(self.chinchilla.budgets)
        if self.budget is None:
            object.__setattr__(self, "budget", float(self.chinchilla.budgets[len(self.chinchilla.budgets) // 2]))
        check_number("budget", self.budget)
        if not lo <= self.budget <= hi:
            raise ReplicationError(f"budget={self.budget:g} is out of range; allowed: [{lo:g}, {hi:g}] "
                                   "(the study's budgets, executed FLOPs)")
        if len(self.factors) < 3 or any(not isinstance(f, (int, float)) or isinstance(f, bool) or not f > 0
                                        for f in self.factors) or list(self.factors) != sorted(set(self.factors)):
            raise ReplicationError(f"factors={self.factors!r}; allowed: at least 3 distinct increasing numbers > 0")
        check_number("prefix_ratio", self.prefix_ratio, 0, 64, lo_open=True)
        check_number("prefix_dropout", self.prefix_dropout, 0, 1, hi_open=True)
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ReplicationError(f"seeds={self.seeds!r}; allowed: at least 2 distinct integers >= 0")
        for s in self.seeds:
            check_int("seeds", s, 0)
        for v in self.variants:
            check_choice("variants", v, tuple(VARIANTS))
        if "decoder" not in self.variants:
            raise ReplicationError(f"variants={self.variants!r}; allowed: any of {', '.join(VARIANTS)}, "
                                   "'decoder' (the control) included")
        if not self.vocab_sizes:
            raise ReplicationError("vocab_sizes=() is empty; allowed: integers in [16, 10689]")
        for v in self.vocab_sizes:
            check_int("vocab_sizes", v, 16, MAX_SENTENCEPIECE_VOCAB)
        check_choice("share", self.share, SHARES)
        if self.n_opt is not None:
            self.sizes()  # an n_opt off the ladder is refused now, not when the runs are listed

    @cached_property
    def optimum(self) -> float:
        """``n_opt``, or N_opt of the Chinchilla study's law at the budget from the default store (:func:`law_n_opt`)."""
        return self.n_opt if self.n_opt is not None else law_n_opt(self)

    @property
    def num_prefix(self) -> int:
        return round(self.prefix_ratio * self.chinchilla.num_latents)

    # -- sizes and vocabulary ---------------------------------------------------------------------

    def sizes(self) -> tuple[int, ...]:
        """The ladder rungs nearest (in log N) to each factor x :attr:`optimum`, distinct: outward from the
        factor nearest 1, a rung taken already moves on to its neighbour."""
        n_opt = self.optimum
        ladder = np.log([num_params(self.chinchilla.model(j)) for j in range(len(self.chinchilla.widths))])
        check_number("n_opt", n_opt, math.exp(ladder[0]), math.exp(ladder[-1]))
        targets = np.log(n_opt) + np.log(self.factors)
        near = [int(np.abs(ladder - t).argmin()) for t in targets]
        mid = int(np.abs(np.log(self.factors)).argmin())
        rungs = list(near)
        for i in range(mid + 1, len(rungs)):
            rungs[i] = max(rungs[i], rungs[i - 1] + 1)
        for i in range(mid - 1, -1, -1):
            rungs[i] = min(rungs[i], rungs[i + 1] - 1)
        if rungs[0] < 0 or rungs[-1] >= len(ladder):
            raise ReplicationError(f"n_opt={n_opt:.4g} with factors={self.factors!r} runs off the study's ladder "
                                   f"(rungs 0..{len(ladder) - 1}); allowed: an n_opt further inside it")
        return tuple(rungs)

    def middle_rung(self) -> int:
        return self.sizes()[int(np.abs(np.log(self.factors)).argmin())]

    def vocab_table(self) -> pd.DataFrame:
        """Each candidate vocabulary's embedding share for the middle size's prefix model (the layout of
        the article's reference model, P = 3n), beside the article's."""
        j, target = self.middle_rung(), article_share(self.share)
        rows = []
        for v in self.vocab_sizes:
            m = replace(self.chinchilla.model(j), vocab_size=v, num_prefix=self.num_prefix)
            rows.append({"vocab_size": v, "share": embedding_share(m, self.share), "article": target})
        t = pd.DataFrame(rows)
        return t.assign(difference=(t["share"] - t["article"]).abs())

    def vocab_size(self) -> int:
        """The candidate whose share is nearest the article's (the smaller one on a tie)."""
        t = self.vocab_table()
        return int(t.loc[t["difference"].idxmin(), "vocab_size"])

    # -- the runs ---------------------------------------------------------------------------------

    def config(self, variant: str, rung: int, seed: int, vocab_size: int | None = None) -> TrainConfig:
        """One run; ``vocab_size`` is needed by the SentencePiece variants (:meth:`vocab_size`)."""
        kind, prefix, count = VARIANTS[check_choice("variant", variant, tuple(VARIANTS))]
        if kind == "bytes" and not prefix:
            return self.chinchilla.config(rung, self.budget, seed)  # the study's own run, the same id
        s = self.chinchilla
        if kind == "sentencepiece":
            if vocab_size is None:
                raise ReplicationError(f"variant={variant!r} needs vocab_size (see TransferStudy.vocab_size)")
            check_int("vocab_size", vocab_size, 16, MAX_SENTENCEPIECE_VOCAB)
            s = replace(s, tokenizer=f"sentencepiece:{vocab_size}", vocab_size=vocab_size)
        # the rule's rate at the rung, for every variant: the rung's bytes decoder sets it
        cfg = s.config(rung, self.budget, seed, lr=self.chinchilla.lr(rung))
        if prefix:
            cfg = replace(cfg, model=replace(cfg.model, num_prefix=self.num_prefix, prefix_dropout=self.prefix_dropout))
        if count == "total":
            c_self, c_cross = cfg.flops_per_latent_token()
            steps = math.ceil(self.budget / (c_self + c_cross) / (cfg.batch_size * cfg.model.num_latents))
            cfg = replace(cfg, budget_flops=None, steps=steps, warmup_steps=min(steps // 2, cfg.warmup_steps),
                          eval_interval=max(1, math.ceil(steps / s.evals_per_run)))
        return cfg

    def runs(self) -> list[tuple[str, int, int, TrainConfig]]:
        """(variant, rung, seed, config) of every run, variant by variant."""
        v = self.vocab_size() if any(VARIANTS[x][0] == "sentencepiece" for x in self.variants) else None
        return [(x, j, s, self.config(x, j, s, v)) for x in self.variants for j in self.sizes()
                for s in self.seeds]

    def configs(self) -> list[TrainConfig]:
        """Every run, each once, in training order: seed by seed, so that the first seeds finish first."""
        rs = sorted(self.runs(), key=lambda r: (self.seeds.index(r[2]), self.variants.index(r[0]), r[1]))
        return list({c.run_id(): c for *_, c in rs}.values())

    def check(self, train_tokens: dict | None = None) -> list[str]:
        """Every run that breaks the study's rules (``min_steps``, ``max_epochs``), as lines.
        ``train_tokens``: tokenizer -> tokens of the training split (bytes is known; a SentencePiece
        count is not until its tokenizer is trained, and its runs are reported as unchecked)."""
        known = {"bytes": TRAIN_TOKENS, **(train_tokens or {})}
        bad = []
        for x, j, _, cfg in self.runs():
            name, steps = f"{x}, d={self.chinchilla.widths[j]}", cfg.num_steps()
            if steps < self.chinchilla.min_steps:
                bad.append(f"{name}: {steps} steps < {self.chinchilla.min_steps}")
            if cfg.tokenizer not in known:
                bad.append(f"{name}: epochs not checked, training tokens of {cfg.tokenizer} unknown "
                           f"(pass train_tokens={{{cfg.tokenizer!r}: ...}})")
                continue
            epochs = steps * cfg.batch_size * cfg.model.num_latents / known[cfg.tokenizer]
            if epochs > self.chinchilla.max_epochs:
                bad.append(f"{name}: {epochs:.2f} epochs > {self.chinchilla.max_epochs}")
        return list(dict.fromkeys(bad))


#: The transfer test the book trains: the study's second budget, 5e11 executed FLOPs, where all five
#: variants (53 runs not in the study) fit in about 27 minutes of the two cores; at 1e12 they would take 45.
TRANSFER = TransferStudy(budget=5e11)


def law_n_opt(study: TransferStudy = TRANSFER, store=None) -> float:
    """N_opt at the test's budget from the Chinchilla study's fitted law (Approach 2, executed FLOPs).

    This is a design quantity: it picks the sizes the test trains. It was computed with the paper's
    parabola through every run (estimator "all"), and stays so, so that a later choice of analysis
    (the default estimator of a profile's minimum) does not point the test at sizes never trained."""
    return float(approach2(study.chinchilla, store, bootstrap=0, estimator="all").law.n_opt(study.budget))
