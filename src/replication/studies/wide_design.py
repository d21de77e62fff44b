"""The wide study's design (:class:`WideStudy`, issue 30): the CPU study widened to eight budgets over
128x of executed FLOPs on a corpus seven times the King James Bible, tuned per size and horizon, with a
held-out prediction and Chinchilla against Gopher in miniature. Nothing here trains; the plan of what it
costs is :mod:`replication.studies.wide_plan`.

- **Corpus and units**: ``debian-docs`` (:mod:`replication.corpus.debian`), UTF-8 bytes (V = 262): at
  these widths a subword vocabulary would be most of N (V = 8,000 at d = 68: 69% of N, 0.54M of 0.78M
  parameters; bytes: 7%), so bytes keep N the network's; tokens per parameter are reported in bytes and
  in SentencePiece tokens (:data:`BYTES_PER_TOKEN`).
- **Models**: the King James study's shape family (4 layers, 2 heads, n = 128, batches of 8), its ladder
  of widths (ratio 2^(1/4), about sqrt(2) in N per rung) extended to d = 192.
- **Budgets**: :data:`BUDGETS`, executed FLOPs, each twice the last; a parameter, like the device, so that
  a GPU extends the list and nothing else changes.
- **Sizes**: on each budget, the rung nearest the vertex the King James study's law expects
  (:data:`KJV_LAW`, Approach 2 in executed FLOPs) and ``sizes_per_side`` rungs either side, less those that
  would train fewer than ``min_steps`` steps or more than ``max_epochs`` epochs of the training split
  (:meth:`WideStudy.check` says where fewer than two are left on a side).
- **Seeds**: every size once (seed 0); the three rungs nearest the expected vertex with ``vertex_seeds``
  as well (three seeds in all).
- **Learning rate per size and horizon**: a sweep at three widths and two horizons four times apart
  (:meth:`WideStudy.sweep_points`), second seeds at each cell's best rate and its neighbours, a fitted
  lr*(N, D/N) (:mod:`replication.studies.wide_lr`) that every other run uses.
- **Warmup, batch**: the warmup re-checked on the new corpus (none, N and 10 N tokens, two seeds); the batch
  stays 8 sequences and 16 is tested at the two rungs beside one budget's expected vertex, paired with its
  three seeds.
- **Held-out prediction**: the fits use all budgets but the top ``held_out``; those predict N* and the
  loss at the top two (:attr:`WideStudy.fit_budgets`, :attr:`WideStudy.held_out_budgets`).
- **Chinchilla against Gopher**: at the top budget, the predicted N_opt, a model ``duel_ratio`` times
  larger (on fewer tokens) and one as much smaller (on more), ``duel_seeds`` paired seeds each
  (:meth:`WideStudy.duel_points`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

from replication.errors import ReplicationError, check_range
from replication.studies.chinchilla_design import num_params
from replication.studies.wide_lr import HorizonRule, recorded_rule
from replication.training import ModelConfig, TrainConfig

#: Widths d = 12 * 2^(k/4) rounded to even, k = -1..16: the King James study's ladder, extended to d = 192.
WIDTHS = tuple(2 * round(6 * 2 ** (k / 4)) for k in range(-1, 17))
#: Executed training FLOPs of each budget: 2.5e11 to 3.2e13, each twice the last (128x).
BUDGETS = tuple(2.5e11 * 2 ** i for i in range(8))
#: Byte tokens in the training split of ``debian-docs`` (5% of the documents held out, split seed 0), each
#: document's end-of-sequence token included; ``tests/test_wide_design.py`` checks it against the corpus.
TRAIN_TOKENS = 27_587_809
#: UTF-8 bytes per SentencePiece token of ``debian-docs`` at V = 8,000 and 32,000 (unigram models trained on
#: the training split, counted on the validation documents: :func:`replication.corpus.bytes_per_token`);
#: ``tests/test_wide_design.py`` checks V = 8,000 against the corpus.
BYTES_PER_TOKEN = {8000: 4.18, 32000: 4.69}
#: The King James study's law, N* = k C^a (Approach 2, executed FLOPs, every parameter), to three digits:
#: where each budget's vertex is expected; ``tests/test_wide_design.py`` checks it against the recorded runs.
KJV_LAW = (0.0349, 0.508)
#: The King James study's learning-rate rule lr*(N) (:mod:`replication.studies.chinchilla_lr`): the centre
#: of the sweep's rates and the rate of the warmup pilot, which run before the wide rule is known.
KJV_LR = HorizonRule(0.00967, 0.647)


@dataclass(frozen=True)
class WideStudy:
    """The wide study's design. Everything a run computes follows from these fields."""

    widths: tuple = WIDTHS
    num_layers: int = 4
    num_heads: int = 2
    num_latents: int = 128
    batch_size: int = 8
    beta2: float = 0.999
    warmup_tokens_per_param: float = 0.0
    corpus: str = "debian-docs"
    tokenizer: str = "bytes"
    vocab_size: int = 262
    train_tokens: int = TRAIN_TOKENS
    budgets: tuple = BUDGETS
    expected_law: tuple = KJV_LAW
    sizes_per_side: int = 3
    seeds: tuple = (0,)
    vertex_seeds: tuple = (1, 2)
    min_steps: int = 500
    max_epochs: float = 2.0
    evals_per_run: int = 40
    eval_windows: int = 128
    held_out: int = 2
    #: lr*(N, D/N); None: fitted to the design's recorded sweep (:func:`~replication.studies.wide_lr.recorded_rule`)
    lr_rule: HorizonRule | None = None
    #: the sweep: rungs (d = 14, 28, 48), horizons in tokens per parameter, the rates as factors of the
    #: King James rule's, and the seeds at each cell's best rate and its neighbours
    sweep_rungs: tuple = (2, 6, 9)
    sweep_horizons: tuple = (16.0, 64.0)
    sweep_factors: tuple = (0.25, 0.5, 1.0, 2.0, 4.0)
    sweep_repeat_seeds: tuple = (1,)
    #: warmup pilot: its rung, horizon, warmups (tokens per parameter) and seeds
    warmup_rung: int = 6
    warmup_values: tuple = (0.0, 1.0, 10.0)
    warmup_seeds: tuple = (0, 1)
    #: batch test: the budget (index) whose two rungs beside the expected vertex train the alternative
    batch_budget: int = 3
    batch_alternative: int = 16
    #: Chinchilla against Gopher at the top budget: N_opt (None: the expected law's; the training session
    #: gives the held-in fit's prediction), the size ratio, the paired seeds
    duel_n_opt: float | None = None
    duel_ratio: float = 4.0
    duel_seeds: tuple = (0, 1, 2, 3)

    def __post_init__(self):
        if len(self.budgets) < 2 or list(self.budgets) != sorted(set(self.budgets)):
            raise ReplicationError(f"budgets={self.budgets!r}: need at least two, increasing")
        for c in self.budgets:
            check_range("budgets", c, 0, None, lo_open=True)
        if not 0 < self.held_out < len(self.budgets) - 1:
            raise ReplicationError(f"held_out={self.held_out}; allowed: 1 to {len(self.budgets) - 2} "
                                   f"(the fits need two budgets)")
        for j in (*self.sweep_rungs, self.warmup_rung):
            if not 0 <= j < len(self.widths):
                raise ReplicationError(f"ladder rung {j} out of range [0, {len(self.widths) - 1}]")
        if not 0 <= self.batch_budget < len(self.budgets):
            raise ReplicationError(f"batch_budget={self.batch_budget} out of range [0, {len(self.budgets) - 1}]")
        if self.lr_rule is not None and not isinstance(self.lr_rule, HorizonRule):
            raise ReplicationError(f"lr_rule={self.lr_rule!r}; allowed: a HorizonRule, or None for the recorded "
                                   "sweep's")
        check_range("sizes_per_side", self.sizes_per_side, 2, len(self.widths))
        check_range("max_epochs", self.max_epochs, 0, None, lo_open=True)
        check_range("duel_ratio", self.duel_ratio, 1, 100, lo_open=True)

    # -- shapes -------------------------------------------------------------------------------------

    def model(self, rung: int) -> ModelConfig:
        return self.model_of_width(self.widths[rung])

    def model_of_width(self, width: int) -> ModelConfig:
        return ModelConfig(vocab_size=self.vocab_size, num_latents=self.num_latents, num_prefix=0,
                           num_channels=width, num_layers=self.num_layers, num_heads=self.num_heads)

    def n(self, width: int) -> int:
        return num_params(self.model_of_width(width))

    def per_token(self, width: int) -> float:
        """Executed training FLOPs per token of the model of ``width``."""
        return float(self.model_of_width(width).shape().self_attn_flops("executed"))

    def tokens(self, width: int, budget: float, batch: int | None = None) -> int:
        """Training tokens of ``width`` on ``budget`` in batches of ``batch`` sequences (default the study's),
        whole steps, as the trainer counts them."""
        per_step = (batch or self.batch_size) * self.num_latents
        return max(1, math.ceil(budget / self.per_token(width) / per_step)) * per_step

    def epochs(self, width: int, budget: float) -> float:
        return self.tokens(width, budget) / self.train_tokens

    # -- sizes on each budget -----------------------------------------------------------------------

    def expected_n(self, budget: float) -> float:
        """N* the King James study's law expects at ``budget``."""
        k, a = self.expected_law
        return k * budget ** a

    def nearest_rung(self, n: float) -> int:
        return min(range(len(self.widths)), key=lambda j: abs(math.log(self.n(self.widths[j]) / n)))

    def allowed(self, width: int, budget: float) -> bool:
        """Whether ``width`` on ``budget`` keeps the rules: ``min_steps`` steps or more, ``max_epochs`` or fewer."""
        steps = self.tokens(width, budget) // (self.batch_size * self.num_latents)
        return steps >= self.min_steps and self.epochs(width, budget) <= self.max_epochs

    def profile(self, k: int) -> tuple[int, ...]:
        """The rungs trained on budget ``k``: the expected vertex's and ``sizes_per_side`` either side, less
        those that break the rules."""
        c, v = self.budgets[k], self.nearest_rung(self.expected_n(self.budgets[k]))
        return tuple(j for j in range(v - self.sizes_per_side, v + self.sizes_per_side + 1)
                     if 0 <= j < len(self.widths) and self.allowed(self.widths[j], c))

    @property
    def fit_budgets(self) -> tuple[int, ...]:
        """The budgets (indices) the held-in fits use: all but the top ``held_out``."""
        return tuple(range(len(self.budgets) - self.held_out))

    @property
    def held_out_budgets(self) -> tuple[int, ...]:
        return tuple(range(len(self.budgets) - self.held_out, len(self.budgets)))

    # -- the runs, as points ------------------------------------------------------------------------

    def isoflop_points(self) -> list[tuple[int, int, int]]:
        """(budget index, rung, seed) of every IsoFLOP run: each profile once per seed, the three rungs
        nearest the expected vertex with the vertex seeds too."""
        pts = []
        for k in range(len(self.budgets)):
            rungs = self.profile(k)
            v = self.nearest_rung(self.expected_n(self.budgets[k]))
            pts += [(k, j, s) for j in rungs for s in self.seeds]
            pts += [(k, j, s) for j in (v - 1, v, v + 1) if j in rungs for s in self.vertex_seeds]
        return list(dict.fromkeys(pts))

    def sweep_points(self) -> list[tuple[int, float, float, int]]:
        """(rung, horizon, rate, seed) of the sweep's first seeds: each rung at each horizon, at the King
        James rule's rate times each factor."""
        return [(j, h, _sig(f * KJV_LR(self.n(self.widths[j]), h)), 0)
                for j in self.sweep_rungs for h in self.sweep_horizons for f in self.sweep_factors]

    def warmup_points(self) -> list[tuple[float, int]]:
        return [(w, s) for w in self.warmup_values for s in self.warmup_seeds]

    def batch_points(self) -> list[tuple[int, int, int]]:
        """(budget index, rung, seed) trained with ``batch_alternative`` sequences a step: the two rungs beside
        the expected vertex of ``batch_budget``, each with the seeds its batch-8 runs have."""
        k = self.batch_budget
        v = self.nearest_rung(self.expected_n(self.budgets[k]))
        seeds = (*self.seeds, *self.vertex_seeds)
        return [(k, j, s) for j in (v - 1, v + 1) if j in self.profile(k) for s in seeds]

    def duel_widths(self) -> dict[str, int]:
        """The three models of Chinchilla against Gopher: name -> width, the one whose N is nearest the
        target among those the rules allow at the top budget (the 4x smaller model would train past two
        epochs: it is 3.6x smaller)."""
        c = self.budgets[-1]
        n_opt = self.duel_n_opt if self.duel_n_opt is not None else self.expected_n(c)
        r = self.duel_ratio
        return {"predicted N_opt": _width_for(self, n_opt, c), f"{r:g}x larger": _width_for(self, n_opt * r, c),
                f"{r:g}x smaller": _width_for(self, n_opt / r, c)}

    def duel_points(self) -> list[tuple[str, int, int]]:
        """(model, width, seed) of Chinchilla against Gopher, at the top budget, seed by seed: a sweep stopped
        part way leaves whole pairs."""
        return [(name, w, s) for s in self.duel_seeds for name, w in self.duel_widths().items()]

    # -- the runs, as configs -----------------------------------------------------------------------

    @cached_property
    def rule(self) -> HorizonRule:
        return self.lr_rule if self.lr_rule is not None else recorded_rule(self)

    def config(self, width: int, budget: float, seed: int = 0, lr: float | None = None, **overrides) -> TrainConfig:
        """One run: ``width`` trained on ``budget`` executed FLOPs with the study's recipe, at the rule's rate
        for its size and horizon unless ``lr`` is given."""
        model = self.model_of_width(width)
        b = overrides.pop("batch_size", self.batch_size)
        warmup = overrides.pop("warmup_tokens_per_param", self.warmup_tokens_per_param)
        n = num_params(model)
        if lr is None:
            lr = self.rule.rate(n, self.tokens(width, budget, b) / n)
        cfg = TrainConfig(model=model, corpus=self.corpus, tokenizer=self.tokenizer, batch_size=b,
                          budget_flops=float(budget), accounting="executed", lr=lr, seed=seed,
                          eval_windows=self.eval_windows, warmup_steps=0, beta2=self.beta2, **overrides)
        steps = cfg.num_steps()
        return replace(cfg, warmup_steps=min(steps // 2, math.ceil(warmup * n / (b * self.num_latents))),
                       eval_interval=max(1, math.ceil(steps / self.evals_per_run)))

    def horizon_budget(self, width: int, tpp: float) -> float:
        """Executed FLOPs of ``tpp`` tokens per parameter at ``width`` (at least ``min_steps`` steps), to 3 digits."""
        tokens = max(tpp * self.n(width), self.min_steps * self.batch_size * self.num_latents)
        return _sig(self.per_token(width) * tokens)

    def sweep_config(self, rung: int, horizon: float, lr: float, seed: int) -> TrainConfig:
        w = self.widths[rung]
        return self.config(w, self.horizon_budget(w, horizon), seed, lr=lr)

    def tuning_configs(self) -> list[TrainConfig]:
        """The runs that need no rule: the sweep's first seeds and the warmup pilot (at the King James rule)."""
        w = self.widths[self.warmup_rung]
        c = self.horizon_budget(w, self.sweep_horizons[-1])
        lr = KJV_LR.rate(self.n(w), self.sweep_horizons[-1])
        return ([self.sweep_config(*p) for p in self.sweep_points()] +
                [self.config(w, c, s, lr=lr, warmup_tokens_per_param=v) for v, s in self.warmup_points()])

    def isoflop_configs(self) -> list[TrainConfig]:
        return [self.config(self.widths[j], self.budgets[k], s) for k, j, s in self.isoflop_points()]

    def batch_configs(self) -> list[TrainConfig]:
        return [self.config(self.widths[j], self.budgets[k], s, batch_size=self.batch_alternative)
                for k, j, s in self.batch_points()]

    def duel_configs(self) -> list[TrainConfig]:
        return [self.config(w, self.budgets[-1], s) for _, w, s in self.duel_points()]

    def configs(self) -> list[TrainConfig]:
        """Every run after the tuning, each once, in training order: the IsoFLOP runs (first seeds from the
        smallest budget up, then the vertex seeds), the batch test, and Chinchilla against Gopher once
        ``duel_n_opt`` is given (the held-in fit's prediction: until then its runs are not known)."""
        iso = sorted(self.isoflop_points(), key=lambda p: (p[2] not in self.seeds, p[0], p[1]))
        cfgs = [self.config(self.widths[j], self.budgets[k], s) for k, j, s in iso]
        cfgs += self.batch_configs() + (self.duel_configs() if self.duel_n_opt is not None else [])
        return list({c.run_id(): c for c in cfgs}.values())

    def check(self) -> list[str]:
        """Where the design breaks its rules, as lines: a budget with fewer than two sizes on a side of its
        expected vertex, a model of Chinchilla against Gopher less than ``duel_ratio`` / 1.5 from N_opt
        (the rules leave no model further)."""
        bad = []
        for k, c in enumerate(self.budgets):
            v = self.nearest_rung(self.expected_n(c))
            rungs = self.profile(k)
            below, above = sum(j < v for j in rungs), sum(j > v for j in rungs)
            if v not in rungs or below < 2 or above < 2:
                bad.append(f"budget {c:.3g}: {below} size(s) below and {above} above the expected vertex "
                           f"d={self.widths[v]} (2 each needed)")
        widths = list(self.duel_widths().values())
        for name, w in list(self.duel_widths().items())[1:]:
            ratio = max(self.n(w), self.n(widths[0])) / min(self.n(w), self.n(widths[0]))
            if ratio < self.duel_ratio / 1.5:
                bad.append(f"Chinchilla against Gopher, {name} (d={w}) is {ratio:.2f}x N_opt: no model that far "
                           f"keeps {self.max_epochs:g} epochs and {self.min_steps} steps at {self.budgets[-1]:.3g}")
        return bad


def _sig(x: float) -> float:
    return float(f"{x:.3g}")


def _width_for(study: WideStudy, n: float, budget: float) -> int:
    """The even width (divisible by the heads) whose model's N is nearest ``n`` in log, among those the
    rules allow on ``budget``."""
    step = 2 * study.num_heads // math.gcd(2, study.num_heads)
    ok = [w for w in range(step, 1025, step) if study.allowed(w, budget)]
    if not ok:
        raise ReplicationError(f"no width keeps the rules on budget {budget:.3g}")
    return min(ok, key=lambda w: abs(math.log(study.n(w) / n)))


#: The wide study as issue 30 plans it on this machine, Chinchilla against Gopher at the N_opt its held-in
#: budgets predict for the top budget (:func:`replication.studies.wide.held_in_n_opt` on the recorded runs).
DEFAULT = WideStudy(duel_n_opt=418000.0)
