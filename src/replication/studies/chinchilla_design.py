"""Our own Chinchilla study at CPU scale, its design: which models are trained on which budgets, with
which recipes and seeds (:class:`ChinchillaStudy`). The runs, fits and tables are
:mod:`replication.studies.chinchilla`.

All models are decoder-only (``ModelConfig(num_prefix=0)``) on the default corpus (the King James
Bible, byte tokens), trained by :mod:`replication.training` into the run store. :data:`DEFAULT` is the
design that ``runs/`` holds and the book shows.

- **Approach 2.** Five IsoFLOP budgets, a factor 16^(1/3) ≈ 2.52 apart (40× from first to last), each
  with five model sizes from one ladder of shapes: budget k trains ladder sizes k..k+4, so the sizes
  move up by one rung (about 1.6× in N, what N_opt ∝ C^0.5 predicts) per budget.
- **Approach 1.** Four ladder sizes, each with four cosine horizons spanning 16× (four consecutive
  budgets). Almost every such run is already an IsoFLOP run; one extra run completes the plan.
- **Approach 3.** The parametric fit on the final losses of every scaling run.
- **Recipe claims** (Chinchilla §4 and Appendix): one model at the middle budget, with the cosine
  cycle 1, 1.25, 1.5, 2 and 5 times the run, the rate decayed to 10% / 0 / 20%, and AdamW vs Adam,
  each over several seeds.

Every run's C is its self-attention training compute C_self (``replication.estimate``, corrected
accounting), as the trainer spends it; D is latent (=all) training tokens; N counts every parameter,
embeddings included, as Chinchilla did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from replication.errors import ReplicationError, check_range
from replication.training import ModelConfig, TrainConfig

#: (width d, layers L) from about 4k to 170k parameters, ~1.6× apart (n = 128, V = 262).
LADDER = ((8, 1), (12, 1), (16, 1), (20, 2), (24, 3), (32, 3), (40, 3), (48, 3), (64, 3))

#: Budget ratio between neighbouring IsoFLOP budgets: four consecutive ones span 16×, as the
#: paper's Approach-1 horizons did.
BUDGET_RATIO = 16 ** (1 / 3)

#: name -> TrainConfig overrides for the recipe study; "baseline" is the study's own recipe.
RECIPES = {
    "baseline": {},
    "cycle 1.25×": {"cosine_cycle_ratio": 1.25},
    "cycle 1.5×": {"cosine_cycle_ratio": 1.5},
    "cycle 2×": {"cosine_cycle_ratio": 2.0},
    "cycle 5×": {"cosine_cycle_ratio": 5.0},
    "decay to 0": {"min_lr_ratio": 0.0},
    "decay 5× (to 20%)": {"min_lr_ratio": 0.2},
    "AdamW (wd 0.1)": {"weight_decay": 0.1},
}


def heads_for(width: int) -> int:
    """Heads of 16 channels (one head below 32 channels)."""
    return max(1, width // 16)


@dataclass(frozen=True)
class ChinchillaStudy:
    """The study's design. Everything a run computes follows from these fields."""

    base_budget: float = 5e10  # C_self of the smallest IsoFLOP budget, FLOPs
    num_budgets: int = 5
    ladder: tuple = LADDER
    sizes_per_budget: int = 5
    num_latents: int = 128  # context n (tokens)
    batch_size: int = 8  # sequences per step
    lr: float = 1e-2  # peak; Adam, cosine to 10%: chosen by a pilot at the middle budget
    warmup_fraction: float = 0.05
    evals_per_run: int = 16  # validation points on each curve (Approach 1 needs some in the last 15%)
    eval_windows: int = 128
    corpus: str = "kjv"
    tokenizer: str = "bytes"
    vocab_size: int = 262
    approach1_sizes: tuple = (3, 4, 5, 6)  # ladder rungs
    approach1_horizons: int = 4
    recipe_budget: int = 2  # index into budgets
    recipe_size: int = 4  # ladder rung
    recipe_seeds: tuple = (0, 1, 2)
    #: every Approach-1/2 run is trained with each of these seeds; the fits use the mean loss
    scaling_seeds: tuple = (0, 1)
    recipes: dict = field(default_factory=lambda: dict(RECIPES))
    #: (budget index, (d, L)) runs added to an IsoFLOP profile off the ladder. At 8e11 FLOPs the
    #: smallest ladder size of the window (20×2) came out best, so a smaller shape was added to
    #: bracket the minimum (the next smaller rung, 16×1, would need 4.4 epochs there).
    extra_isoflop: tuple = ((3, (16, 2)),)

    def __post_init__(self):
        check_range("base_budget", self.base_budget, 0, None, lo_open=True)
        if self.num_budgets < 2:
            raise ReplicationError(f"num_budgets={self.num_budgets} must be >= 2")
        if self.sizes_per_budget < 3:
            raise ReplicationError(f"sizes_per_budget={self.sizes_per_budget} must be >= 3 (a parabola)")
        need = self.num_budgets + self.sizes_per_budget - 1
        if len(self.ladder) < need:
            raise ReplicationError(f"ladder has {len(self.ladder)} shapes; {self.num_budgets} budgets of "
                                   f"{self.sizes_per_budget} sizes need {need}")
        if not 1 <= self.approach1_horizons <= self.num_budgets:
            raise ReplicationError(f"approach1_horizons={self.approach1_horizons} must be in [1, {self.num_budgets}]")
        for j in (*self.approach1_sizes, self.recipe_size):
            if not 0 <= j < len(self.ladder):
                raise ReplicationError(f"ladder rung {j} out of range [0, {len(self.ladder) - 1}]")
        if not 0 <= self.recipe_budget < self.num_budgets:
            raise ReplicationError(f"recipe_budget={self.recipe_budget} out of range [0, {self.num_budgets - 1}]")
        check_range("warmup_fraction", self.warmup_fraction, 0, 0.5)
        for k, shape in self.extra_isoflop:
            if not 0 <= k < self.num_budgets or len(shape) != 2:
                raise ReplicationError(f"extra_isoflop entry {(k, shape)!r}: need (budget index in "
                                       f"[0, {self.num_budgets - 1}], (width, layers))")

    # -- the design --------------------------------------------------------------------------------

    @property
    def budgets(self) -> tuple[float, ...]:
        """C_self of each IsoFLOP budget, rounded to 3 significant digits."""
        return tuple(float(f"{self.base_budget * BUDGET_RATIO ** k:.3g}") for k in range(self.num_budgets))

    def model(self, rung) -> ModelConfig:
        """The model of a ladder rung (an index) or of an off-ladder shape (a (d, L) pair)."""
        d, L = self.ladder[rung] if isinstance(rung, int) else rung
        return ModelConfig(vocab_size=self.vocab_size, num_latents=self.num_latents, num_prefix=0,
                           num_channels=d, num_layers=L, num_heads=heads_for(d))

    def config(self, rung, budget: float, seed: int = 0, **overrides) -> TrainConfig:
        """The TrainConfig of one run: ladder rung ``rung`` (or a (d, L) shape) trained on
        C_self = ``budget``."""
        cfg = TrainConfig(model=self.model(rung), corpus=self.corpus, tokenizer=self.tokenizer,
                          batch_size=self.batch_size, budget_flops=float(budget), lr=self.lr, seed=seed,
                          eval_windows=self.eval_windows, warmup_steps=0, **overrides)
        steps = cfg.num_steps()  # the warmup and the validation points follow from the run's length
        return replace(cfg, warmup_steps=max(1, round(self.warmup_fraction * steps)),
                       eval_interval=max(1, math.ceil(steps / self.evals_per_run)))

    def isoflop_grid(self) -> list[tuple]:
        """(budget index, ladder rung or extra (d, L) shape) of every Approach-2 run."""
        grid = [(k, k + i) for k in range(self.num_budgets) for i in range(self.sizes_per_budget)]
        return grid + [(k, tuple(shape)) for k, shape in self.extra_isoflop]

    def approach1_plan(self) -> list[tuple[int, int]]:
        """(budget index, ladder rung) of every Approach-1 run: each size's horizons are the
        ``approach1_horizons`` consecutive budgets that best overlap its IsoFLOP runs."""
        plan = []
        for j in self.approach1_sizes:
            first = min(max(j - self.sizes_per_budget + 1, 0), self.num_budgets - self.approach1_horizons)
            plan += [(k, j) for k in range(first, first + self.approach1_horizons)]
        return plan

    def recipe_plan(self) -> list[tuple[str, int]]:
        return [(name, s) for name in self.recipes for s in self.recipe_seeds]

    def recipe_config(self, name: str, seed: int) -> TrainConfig:
        if name not in self.recipes:
            raise ReplicationError(f"recipe={name!r}; allowed: {', '.join(self.recipes)}")
        return self.config(self.recipe_size, self.budgets[self.recipe_budget], seed, **self.recipes[name])

    def scaling_configs(self) -> list[TrainConfig]:
        """Approach 1 and 2 runs (the baseline recipe, every scaling seed), each once."""
        pairs = list(dict.fromkeys(self.isoflop_grid() + self.approach1_plan()))
        return [self.config(j, self.budgets[k], seed) for seed in self.scaling_seeds for k, j in pairs]

    def configs(self) -> list[TrainConfig]:
        """Every run of the study, each once (recipe baseline seed 0 is an IsoFLOP run too)."""
        cfgs = self.scaling_configs() + [self.recipe_config(n, s) for n, s in self.recipe_plan()]
        return list({c.run_id(): c for c in cfgs}.values())

    def training_order(self) -> list[TrainConfig]:
        """Every run, the middle budget first, then the extremes (they decide whether each profile
        has an interior minimum early), then the rest and the recipe runs."""
        mid, last = self.num_budgets // 2, self.num_budgets - 1
        first = list(dict.fromkeys([mid, 0, last, *range(self.num_budgets)]))
        pairs = sorted(dict.fromkeys(self.isoflop_grid() + self.approach1_plan()),
                       key=lambda kj: (first.index(kj[0]), num_params(self.model(kj[1]))))
        first_seed, *more = self.scaling_seeds
        cfgs = [self.config(j, self.budgets[k], first_seed) for k, j in pairs]
        cfgs += [self.recipe_config(n, s) for n, s in self.recipe_plan()]
        cfgs += [self.config(j, self.budgets[k], seed) for seed in more for k, j in pairs]
        return list({c.run_id(): c for c in cfgs}.values())

    def planned_flops(self) -> float:
        """Total C_self the study trains, FLOPs."""
        return sum(c.budget_flops for c in self.configs())


def num_params(model: ModelConfig) -> int:
    """N, every parameter (Chinchilla's convention)."""
    return model.shape().num_params


def num_nonembedding_params(model: ModelConfig) -> int:
    """N without the token and position embeddings and the output bias (Kaplan's convention)."""
    m = model
    return m.shape().num_params - m.vocab_size * m.num_channels - m.max_seq_len * m.num_channels - m.vocab_size


#: The study that ``runs/`` holds and the book shows.
DEFAULT = ChinchillaStudy()
