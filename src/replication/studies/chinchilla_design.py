"""Our own Chinchilla study at CPU scale, its design (:class:`ChinchillaStudy`): which models are trained
on which budgets, with which hyperparameters and seeds. The runs, fits and tables are
:mod:`replication.studies.chinchilla`.

Every model is a plain decoder (``ModelConfig(num_prefix=0)``) on the default corpus (the King James
Bible, byte tokens), from one shape family: four layers, two heads, widths on a geometric ladder
(ratio 2^(1/4), so about sqrt(2) in N per rung). Non-embedding parameters are 55-89% of N.

The design follows what Porian et al. (2024) found moves the exponent at small scale:

- **Budgets in executed FLOPs**: every matmul of the training step, the unembedding and the attention
  included (``accounting="executed"`` of :mod:`replication.counting`), so that runs on one IsoFLOP
  budget do the same work whatever their shape.
- **Learning rate tuned per size**: a sweep at three sizes (:meth:`ChinchillaStudy.sweep_configs`),
  fitted to lr*(N) = lr_ref (N / 1e5)^(-exponent) (:mod:`replication.studies.chinchilla_lr`), which every
  other run uses: the design reads the rule from its recorded sweep (:attr:`ChinchillaStudy.rule`).
- **Warmup, beta2 and the batch from short pilots** (:data:`PILOTS`): no warmup (Porian et al.'s N
  tokens was worse), beta2 = 0.999, 8 sequences per step.
- **Steps and epochs**: no IsoFLOP run shorter than ``min_steps``, none past ``max_epochs`` of the
  training split (:meth:`ChinchillaStudy.check` lists every run that breaks them).

Approach 2 trains each budget on a window of the ladder; Approach 1 reads the loss curves of the same
runs (six validation points in the last 15% of each); Approach 3 fits every final loss. The recipe claims
(Chinchilla's cosine cycle length, the final learning rate, AdamW vs Adam) are paired comparisons on
one size and budget over ``recipe_seeds``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_range
from replication.studies.chinchilla_lr import LrRule, recorded_rule
from replication.training import ModelConfig, TrainConfig

#: Model widths d: 12 * 2^(k/4), rounded to even (two heads), k = -1..10 (d = 10 is the narrowest whose
#: non-embedding parameters are more than half of N).
WIDTHS = tuple(2 * round(6 * 2 ** (k / 4)) for k in range(-1, 11))

#: Tokens in the training split of the default corpus (the King James Bible, bytes, 5% held out).
TRAIN_TOKENS = 3_954_718

#: name -> TrainConfig overrides of the recipe claims; "baseline" is the study's own recipe.
RECIPES = {
    "baseline": {},
    "cycle 1.5×": {"cosine_cycle_ratio": 1.5},
    "decay to 0": {"min_lr_ratio": 0.0},
    # decay on every parameter: what these runs were trained with (the loop's default now spares the
    # embeddings, norms and biases)
    "AdamW (wd 0.1)": {"weight_decay": 0.1, "weight_decay_on": "all"},
}

#: name -> (field, values) of the pilots that chose beta2, the warmup and the batch.
PILOTS = {
    "beta2": ("beta2", (0.95, 0.99, 0.999)),
    "warmup": ("warmup_tokens_per_param", (0.0, 1.0, 10.0)),
    "batch": ("batch_size", (4, 8, 16)),
}


@dataclass(frozen=True)
class ChinchillaStudy:
    """The study's design. Everything a run computes follows from these fields."""

    widths: tuple = WIDTHS
    num_layers: int = 4
    num_heads: int = 2
    num_latents: int = 128  # context n (tokens)
    batch_size: int = 8  # sequences per step (pilot "batch")
    beta2: float = 0.999  # pilot "beta2"
    #: warmup in tokens per parameter: none. Porian et al.'s N tokens was significantly worse in the
    #: pilot (4 seeds) than none or 10 N; none keeps short runs from spending a share of them warming up
    warmup_tokens_per_param: float = 0.0
    #: the warmup of the sweep and the pilots (N tokens): they ran before the warmup pilot chose none
    tuning_warmup_tokens_per_param: float = 1.0
    #: lr*(N) = lr_ref (N / 1e5)^(-exponent); None: fitted to the design's recorded sweep (:attr:`rule`)
    lr_rule: LrRule | None = None
    #: executed training FLOPs of each IsoFLOP budget
    budgets: tuple = (2.5e11, 5e11, 1e12, 2e12, 4e12)
    #: ladder rungs trained on each budget (one tuple per budget): seven consecutive rungs, one rung
    #: (about sqrt(2) in N) up per doubling of C, as N_opt ∝ C^0.5 would move; six on the smallest
    #: budget, where d = 34 would train fewer than min_steps steps
    profiles: tuple = ((0, 1, 2, 3, 4, 5), (1, 2, 3, 4, 5, 6, 7), (2, 3, 4, 5, 6, 7, 8), (3, 4, 5, 6, 7, 8, 9),
                       (4, 5, 6, 7, 8, 9, 10))
    seeds: tuple = (0, 1)
    #: (budget index, rung) points trained with ``vertex_seeds`` as well: the two sizes nearest each
    #: budget's vertex, as the first seed's parabolas placed it
    vertex_points: tuple = ((0, 3), (0, 4), (1, 4), (1, 5), (2, 5), (2, 6), (3, 6), (3, 7), (4, 7), (4, 8))
    vertex_seeds: tuple = (2,)
    min_steps: int = 500
    max_epochs: float = 4.0
    evals_per_run: int = 40  # validation points, evenly spaced: 6 in the last 15% (Approach 1)
    eval_windows: int = 128
    corpus: str = "kjv"
    tokenizer: str = "bytes"
    vocab_size: int = 262
    #: the learning-rate sweep: rungs, peak rates, and each run's tokens per parameter
    sweep_rungs: tuple = (1, 5, 9)
    sweep_lrs: tuple = (2.5e-3, 5e-3, 1e-2, 2e-2, 4e-2)
    sweep_tokens_per_param: float = 30.0
    #: (rung, rates) swept as well, where the best of ``sweep_lrs`` was at an end of the range
    sweep_extra_lrs: tuple = ((1, (8e-2, 1.6e-1)),)
    sweep_lr: float = 2e-2  # the pilots' rate: the best swept at pilot_rung
    pilot_rung: int = 5
    #: pilot -> seeds (the warmup pilot's first two seeds disagreed with the literature's choice)
    pilot_seeds: dict = field(default_factory=lambda: {"beta2": (0, 1), "warmup": (0, 1, 2, 3), "batch": (0, 1)})
    recipe_budget: int = 2  # index into budgets
    recipe_rung: int = 6
    recipe_seeds: tuple = (0, 1, 2, 3)
    recipes: dict = field(default_factory=lambda: dict(RECIPES))

    def __post_init__(self):
        if len(self.budgets) < 2 or list(self.budgets) != sorted(self.budgets):
            raise ReplicationError(f"budgets={self.budgets!r}: need at least two, increasing")
        for c in self.budgets:
            check_range("budgets", c, 0, None, lo_open=True)
        if len(self.profiles) != len(self.budgets):
            raise ReplicationError(f"profiles: {len(self.profiles)} given, one per budget ({len(self.budgets)}) needed")
        for rungs in self.profiles:
            if len(rungs) < 3:
                raise ReplicationError(f"profile {rungs!r} has fewer than 3 sizes (a parabola needs 3)")
        every = [j for rungs in self.profiles for j in rungs] + list(self.sweep_rungs) + [self.pilot_rung,
                                                                                          self.recipe_rung]
        every += [j for _, j in self.vertex_points]
        for j in every:
            if not 0 <= j < len(self.widths):
                raise ReplicationError(f"ladder rung {j} out of range [0, {len(self.widths) - 1}]")
        for k, _ in self.vertex_points:
            if not 0 <= k < len(self.budgets):
                raise ReplicationError(f"vertex point budget {k} out of range [0, {len(self.budgets) - 1}]")
        if not 0 <= self.recipe_budget < len(self.budgets):
            raise ReplicationError(f"recipe_budget={self.recipe_budget} out of range [0, {len(self.budgets) - 1}]")
        if self.lr_rule is not None and not isinstance(self.lr_rule, LrRule):
            raise ReplicationError(f"lr_rule={self.lr_rule!r}; allowed: an LrRule, or None for the recorded sweep's")
        check_range("warmup_tokens_per_param", self.warmup_tokens_per_param, 0, 1000)
        check_range("tuning_warmup_tokens_per_param", self.tuning_warmup_tokens_per_param, 0, 1000)

    # -- shapes and hyperparameters ------------------------------------------------------------------

    def model(self, rung: int) -> ModelConfig:
        return ModelConfig(vocab_size=self.vocab_size, num_latents=self.num_latents, num_prefix=0,
                           num_channels=self.widths[rung], num_layers=self.num_layers, num_heads=self.num_heads)

    @cached_property
    def rule(self) -> LrRule:
        """The learning-rate rule every run but the sweep's and the pilots' uses: ``lr_rule``, or the rule
        fitted to the design's sweep as the default run store recorded it, to three significant digits
        (:func:`~replication.studies.chinchilla_lr.recorded_rule`)."""
        return self.lr_rule if self.lr_rule is not None else recorded_rule(self)

    def lr(self, rung: int) -> float:
        """The rule's peak learning rate of a rung, to 3 significant digits."""
        return self.rule.rate(num_params(self.model(rung)))

    def config(self, rung: int, budget: float, seed: int = 0, lr: float | None = None, **overrides) -> TrainConfig:
        """One run: rung ``rung`` trained on ``budget`` executed FLOPs with the study's recipe."""
        model = self.model(rung)
        b = overrides.pop("batch_size", self.batch_size)
        warmup = overrides.pop("warmup_tokens_per_param", self.warmup_tokens_per_param)
        base = dict(beta2=self.beta2)
        base.update(overrides)
        cfg = TrainConfig(model=model, corpus=self.corpus, tokenizer=self.tokenizer, batch_size=b,
                          budget_flops=float(budget), accounting="executed", lr=self.lr(rung) if lr is None else lr,
                          seed=seed, eval_windows=self.eval_windows, warmup_steps=0, **base)
        steps = cfg.num_steps()
        tokens_per_step = b * self.num_latents
        return replace(cfg, warmup_steps=min(steps // 2, math.ceil(warmup * num_params(model) / tokens_per_step)),
                       eval_interval=max(1, math.ceil(steps / self.evals_per_run)))

    # -- the runs -------------------------------------------------------------------------------------

    def isoflop_points(self) -> list[tuple[int, int, int]]:
        """(budget index, rung, seed) of every IsoFLOP run."""
        pts = [(k, j, s) for k, rungs in enumerate(self.profiles) for j in rungs for s in self.seeds]
        pts += [(k, j, s) for k, j in self.vertex_points for s in self.vertex_seeds]
        return list(dict.fromkeys(pts))

    def isoflop_configs(self) -> list[TrainConfig]:
        return [self.config(j, self.budgets[k], s) for k, j, s in self.isoflop_points()]

    def sweep_budget(self, rung: int) -> float:
        """Executed FLOPs of a sweep run: ``sweep_tokens_per_param`` tokens per parameter, at least
        ``min_steps`` steps."""
        model = self.model(rung)
        per_token = model.shape().self_attn_flops("executed")
        tokens = max(self.sweep_tokens_per_param * num_params(model),
                     self.min_steps * self.batch_size * self.num_latents)
        return float(f"{per_token * tokens:.3g}")

    def sweep_points(self) -> list[tuple[int, float]]:
        """(rung, peak rate) of every sweep run."""
        extra = dict(self.sweep_extra_lrs)
        return [(j, lr) for j in self.sweep_rungs for lr in sorted({*self.sweep_lrs, *extra.get(j, ())})]

    def sweep_configs(self) -> list[TrainConfig]:
        warmup = self.tuning_warmup_tokens_per_param
        return [self.config(j, self.sweep_budget(j), 0, lr=lr, warmup_tokens_per_param=warmup)
                for j, lr in self.sweep_points()]

    def pilot_configs(self) -> dict[str, list[TrainConfig]]:
        """name -> the pilot's runs (each value of its field, each pilot seed), at ``sweep_lr``."""
        out = {}
        budget = self.sweep_budget(self.pilot_rung)
        for name, (fld, values) in PILOTS.items():
            overrides = {"warmup_tokens_per_param": self.tuning_warmup_tokens_per_param}
            out[name] = [self.config(self.pilot_rung, budget, s, lr=self.sweep_lr, **{**overrides, fld: v})
                         for v in values for s in self.pilot_seeds[name]]
        return out

    def recipe_config(self, name: str, seed: int) -> TrainConfig:
        if name not in self.recipes:
            raise ReplicationError(f"recipe={name!r}; allowed: {', '.join(self.recipes)}")
        return self.config(self.recipe_rung, self.budgets[self.recipe_budget], seed, **self.recipes[name])

    def recipe_configs(self) -> list[TrainConfig]:
        return [self.recipe_config(n, s) for n in self.recipes for s in self.recipe_seeds]

    def configs(self) -> list[TrainConfig]:
        """Every run of the study, each once, in training order: the sweep, the pilots, the IsoFLOP
        runs (middle budget first, then the extremes), the recipes."""
        k_order = list(dict.fromkeys([len(self.budgets) // 2, 0, len(self.budgets) - 1, *range(len(self.budgets))]))
        iso = sorted(self.isoflop_points(), key=lambda p: (p[2] not in self.seeds[:1], k_order.index(p[0]), p[1]))
        cfgs = self.sweep_configs() + [c for cs in self.pilot_configs().values() for c in cs]
        cfgs += [self.config(j, self.budgets[k], s) for k, j, s in iso] + self.recipe_configs()
        return list({c.run_id(): c for c in cfgs}.values())

    def check(self) -> list[str]:
        """Every IsoFLOP run that breaks the design's rules (``min_steps``, ``max_epochs``), as lines."""
        bad = []
        for k, j, s in self.isoflop_points():
            cfg = self.config(j, self.budgets[k], s)
            steps = cfg.num_steps()
            epochs = steps * cfg.batch_size * self.num_latents / TRAIN_TOKENS
            if steps < self.min_steps:
                bad.append(f"budget {self.budgets[k]:.3g}, d={self.widths[j]}: {steps} steps < {self.min_steps}")
            if epochs > self.max_epochs:
                bad.append(f"budget {self.budgets[k]:.3g}, d={self.widths[j]}: {epochs:.2f} epochs > {self.max_epochs}")
        return bad


def ladder(study: ChinchillaStudy) -> pd.DataFrame:
    """The shape family, one row per width: N, the non-embedding share of N, executed training FLOPs per
    token and the rule's peak learning rate."""
    rows = []
    for j, w in enumerate(study.widths):
        m = study.model(j)
        n = num_params(m)
        rows.append({"width": w, "N": n, "share": num_nonembedding_params(m) / n,
                     "flops": m.shape().self_attn_flops("executed"), "lr": study.lr(j)})
    return pd.DataFrame(rows)


def flops_exponent(study: ChinchillaStudy) -> float:
    """k of executed training FLOPs per token ∝ N^k across the study's widths (a least-squares slope in
    log-log): below 1 where attention and the unembedding weigh more at small widths."""
    n = [num_params(study.model(j)) for j in range(len(study.widths))]
    f = [study.model(j).shape().self_attn_flops("executed") for j in range(len(study.widths))]
    return float(np.polyfit(np.log(n), np.log(f), 1)[0])


def num_params(model: ModelConfig) -> int:
    """N, every parameter (Chinchilla's convention)."""
    return model.shape().num_params


def num_nonembedding_params(model: ModelConfig) -> int:
    """N without the token and position embeddings and the output bias (Kaplan's convention)."""
    m = model
    return m.shape().num_params - m.vocab_size * m.num_channels - m.max_seq_len * m.num_channels - m.vocab_size


#: The study that ``runs/`` holds and the book shows.
DEFAULT = ChinchillaStudy()
