"""Does a compute-optimal law derived for decoder-only transformers transfer to Perceiver AR? The
article's question, tested at CPU scale with our own law (:mod:`replication.studies.chinchilla`)
instead of Chinchilla's extrapolated six decades down.

The design (:class:`TransferStudy`): one budget C inside the Chinchilla study's range, three sizes
around the study's N_opt(C) (0.5x, 1x, 2x, the nearest rungs of its ladder), four paired seeds, and
these variants, every one with the study's recipe and its learning-rate rule at the rung:

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
windows spread evenly over the same validation stream, each with the context its model can use.

The analysis reads the run store and never trains. Each variant's compute-optimal size is the vertex
of a parabola in log N through its sizes (mean loss over seeds); a vertex outside the sizes trained
is reported as "outside the trained range", never as a number. A comparison (:data:`COMPARISONS`) is
a shift of that vertex, log(N*_variant / N*_reference), with a paired bootstrap over seeds (the same
resampled seeds for every variant, both parabolas refitted). The hypothesis each verdict speaks to is
**"the shift is not zero"** (for the prefix rows: adding the prefix moves the compute-optimal size):

- *agrees*: the ``level`` bootstrap interval of the shift excludes 0, and so does a paired t test of
  the per-seed shifts (one parabola per seed and variant): it moves;
- *disagrees*: both intervals lie inside (-margin, +margin) (default one ladder rung, a factor sqrt 2
  in N), with every vertex interior in at least ``level`` of the resamples: it does not move by more;
- *inconclusive (n seeds, power p)*: neither; ``p`` is the power of the per-seed t test to find a
  shift the size of the one observed (:func:`design_power` gives the smallest shift the design can
  detect, and its power at the shift that paying for the prefix predicts).

So for the article's claim (the law transfers, the prefix does not move N*) "agrees" is bad news.
Why both tests: with 4 seeds a percentile bootstrap is too narrow. On fake stores with no shift at
all (the fake tables of tests/test_transfer.py) its 95% interval excluded 0 in 18% of 300 comparisons (noise 0.001
nats per run) and 15% (0.01 nats); with the t test required as well, 4.3% and 2.7%.
A resample whose vertex falls outside the trained range takes the end of the range with the lower
loss: that only shrinks a two-variant shift towards 0, so "agrees" stays conservative; comparisons of
more variants (the interaction) need interior vertices in ``level`` of the resamples for any verdict.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.sources.krasser import NUM_LATENTS, PREFIX_DROPOUT, PREFIX_LENGTHS
from replication.store.runs import RunStore
from replication.studies.chinchilla_design import DEFAULT, TRAIN_TOKENS, ChinchillaStudy, num_params
from replication.studies.krasser_design import experiment
from replication.studies.stats import inconclusive, paired_test
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
    """The transfer test's design; ``budget`` None is the study's middle budget."""

    study: ChinchillaStudy = DEFAULT
    budget: float | None = None
    factors: tuple = (0.5, 1.0, 2.0)
    prefix_ratio: float = PREFIX_LENGTHS["1"] / NUM_LATENTS  # P / n, the article's 1,536 / 512
    prefix_dropout: float = PREFIX_DROPOUT
    seeds: tuple = (0, 1, 2, 3)
    variants: tuple = tuple(VARIANTS)
    vocab_sizes: tuple = (512, 1024, 2048, 4096, 8192)
    share: str = "token"

    def __post_init__(self):
        lo, hi = min(self.study.budgets), max(self.study.budgets)
        if self.budget is None:
            object.__setattr__(self, "budget", float(self.study.budgets[len(self.study.budgets) // 2]))
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

    @property
    def num_prefix(self) -> int:
        return round(self.prefix_ratio * self.study.num_latents)

    # -- sizes and vocabulary ---------------------------------------------------------------------

    def sizes(self, n_opt: float) -> tuple[int, ...]:
        """The ladder rungs nearest (in log N) to each factor x ``n_opt``, distinct: outward from the
        factor nearest 1, a rung taken already moves on to its neighbour."""
        ladder = np.log([num_params(self.study.model(j)) for j in range(len(self.study.widths))])
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

    def middle_rung(self, n_opt: float) -> int:
        return self.sizes(n_opt)[int(np.abs(np.log(self.factors)).argmin())]

    def vocab_table(self, n_opt: float) -> pd.DataFrame:
        """Each candidate vocabulary's embedding share for the middle size's prefix model (the layout of
        the article's reference model, P = 3n), beside the article's."""
        j, target = self.middle_rung(n_opt), article_share(self.share)
        rows = []
        for v in self.vocab_sizes:
            m = replace(self.study.model(j), vocab_size=v, num_prefix=self.num_prefix)
            rows.append({"vocab_size": v, "share": embedding_share(m, self.share), "article": target})
        t = pd.DataFrame(rows)
        return t.assign(difference=(t["share"] - t["article"]).abs())

    def vocab_size(self, n_opt: float) -> int:
        """The candidate whose share is nearest the article's (the smaller one on a tie)."""
        t = self.vocab_table(n_opt)
        return int(t.loc[t["difference"].idxmin(), "vocab_size"])

    # -- the runs ---------------------------------------------------------------------------------

    def config(self, variant: str, rung: int, seed: int, vocab_size: int | None = None) -> TrainConfig:
        """One run; ``vocab_size`` is needed by the SentencePiece variants (:meth:`vocab_size`)."""
        kind, prefix, count = VARIANTS[check_choice("variant", variant, tuple(VARIANTS))]
        if kind == "bytes" and not prefix:
            return self.study.config(rung, self.budget, seed)  # the study's own run, the same id
        s = self.study
        if kind == "sentencepiece":
            if vocab_size is None:
                raise ReplicationError(f"variant={variant!r} needs vocab_size (see TransferStudy.vocab_size)")
            check_int("vocab_size", vocab_size, 16, MAX_SENTENCEPIECE_VOCAB)
            s = replace(s, tokenizer=f"sentencepiece:{vocab_size}", vocab_size=vocab_size)
        # the rule's rate at the rung, for every variant: the rung's bytes decoder sets it
        cfg = s.config(rung, self.budget, seed, lr=self.study.lr(rung))
        if prefix:
            cfg = replace(cfg, model=replace(cfg.model, num_prefix=self.num_prefix, prefix_dropout=self.prefix_dropout))
        if count == "total":
            c_self, c_cross = cfg.flops_per_latent_token()
            steps = math.ceil(self.budget / (c_self + c_cross) / (cfg.batch_size * cfg.model.num_latents))
            cfg = replace(cfg, budget_flops=None, steps=steps, warmup_steps=min(steps // 2, cfg.warmup_steps),
                          eval_interval=max(1, math.ceil(steps / s.evals_per_run)))
        return cfg

    def runs(self, n_opt: float) -> list[tuple[str, int, int, TrainConfig]]:
        """(variant, rung, seed, config) of every run, variant by variant."""
        v = self.vocab_size(n_opt) if any(VARIANTS[x][0] == "sentencepiece" for x in self.variants) else None
        return [(x, j, s, self.config(x, j, s, v)) for x in self.variants for j in self.sizes(n_opt)
                for s in self.seeds]

    def configs(self, n_opt: float) -> list[TrainConfig]:
        """Every run, each once, in training order: seed by seed, so that the first seeds finish first."""
        rs = sorted(self.runs(n_opt), key=lambda r: (self.seeds.index(r[2]), self.variants.index(r[0]), r[1]))
        return list({c.run_id(): c for *_, c in rs}.values())

    def check(self, n_opt: float, train_tokens: dict | None = None) -> list[str]:
        """Every run that breaks the study's rules (``min_steps``, ``max_epochs``), as lines.
        ``train_tokens``: tokenizer -> tokens of the training split (bytes is known; a SentencePiece
        count is not until its tokenizer is trained, and its runs are reported as unchecked)."""
        known = {"bytes": TRAIN_TOKENS, **(train_tokens or {})}
        bad = []
        for x, j, _, cfg in self.runs(n_opt):
            name, steps = f"{x}, d={self.study.widths[j]}", cfg.num_steps()
            if steps < self.study.min_steps:
                bad.append(f"{name}: {steps} steps < {self.study.min_steps}")
            if cfg.tokenizer not in known:
                bad.append(f"{name}: epochs not checked, training tokens of {cfg.tokenizer} unknown "
                           f"(pass train_tokens={{{cfg.tokenizer!r}: ...}})")
                continue
            epochs = steps * cfg.batch_size * cfg.model.num_latents / known[cfg.tokenizer]
            if epochs > self.study.max_epochs:
                bad.append(f"{name}: {epochs:.2f} epochs > {self.study.max_epochs}")
        return list(dict.fromkeys(bad))

    def plan(self, n_opt: float, steps_per_s: float = 35.0, fast_width: int = 28) -> pd.DataFrame:
        """One row per run: steps, executed FLOPs (self and cross), estimated seconds on one core, and
        whether the Chinchilla study trains it anyway. Seconds: ``steps_per_s`` (validation included,
        as the study's recorded runs measure it) up to width ``fast_width``, fewer in proportion to the
        bytes decoder's executed FLOPs per token above it, times the run's own FLOPs per token over
        that decoder's (the prefix's and the larger vocabulary's extra work)."""
        check_number("steps_per_s", steps_per_s, 0, lo_open=True)
        check_int("fast_width", fast_width, 1)
        own = {c.run_id() for c in self.study.configs()}
        fast = replace(self.study.model(0), num_channels=fast_width).shape().self_attn_flops("executed")
        rows = []
        for x, j, s, cfg in self.runs(n_opt):
            base = self.study.model(j).shape().self_attn_flops("executed")
            shape = cfg.model.shape()
            c_self, c_cross = shape.self_attn_flops("executed"), shape.cross_attn_flops(cfg.model.prefix_dropout,
                                                                                          "executed")
            steps = cfg.num_steps()
            rate = steps_per_s * min(1.0, fast / base)
            tokens = steps * cfg.batch_size * cfg.model.num_latents
            rows.append({"variant": x, "rung": j, "width": self.study.widths[j], "seed": s, "run_id": cfg.run_id(),
                         "steps": steps, "C_self": c_self * tokens, "C_cross": c_cross * tokens,
                         "seconds": steps / rate * (c_self + c_cross) / base, "in study": cfg.run_id() in own})
        return pd.DataFrame(rows)

    def planned_flops(self, n_opt: float) -> float:
        """Executed FLOPs (self and cross) of every run the Chinchilla study does not train anyway."""
        p = self.plan(n_opt).drop_duplicates("run_id")
        p = p[~p["in study"]]
        return float((p["C_self"] + p["C_cross"]).sum())

    def planned_seconds(self, n_opt: float, steps_per_s: float = 35.0, fast_width: int = 28) -> float:
        """Estimated core-seconds of every run the Chinchilla study does not train anyway."""
        p = self.plan(n_opt, steps_per_s, fast_width).drop_duplicates("run_id")
        return float(p.loc[~p["in study"], "seconds"].sum())


#: The transfer test the book trains: the study's second budget, 5e11 executed FLOPs, where all five
#: variants (53 runs not in the study) fit in about 27 minutes of the two cores; at 1e12 they would take 45.
TRANSFER = TransferStudy(budget=5e11)


def law_n_opt(transfer: TransferStudy = TRANSFER, root=None) -> float:
    """N_opt at the test's budget from the Chinchilla study's fitted law (Approach 2, executed FLOPs).

    This is a design quantity: it picks the sizes the test trains. It was computed with the paper's
    parabola through every run (estimator "all"), and stays so, so that a later choice of analysis
    (the default estimator of a profile's minimum) does not point the test at sizes never trained."""
    from replication.studies.chinchilla import approach2

    return float(approach2(transfer.study, root, bootstrap=0, estimator="all").law.n_opt(transfer.budget))


def train_missing(transfer: TransferStudy, n_opt: float, root=None, workers: int | None = None,
                  progress: bool = True):
    """Train every missing run of the test into the run store (recorded runs return at once)."""
    from replication.sweep.local import get_or_train_many  # torch, only to train

    return get_or_train_many(transfer.configs(n_opt), RunStore(root), workers=workers, progress=progress)


# -- the analysis: reads the store, never trains ----------------------------------------------------


def runs_table(transfer: TransferStudy, n_opt: float, root=None) -> pd.DataFrame:
    """One row per (variant, size, seed): the final loss and what the run recorded. One line naming
    the first missing run otherwise."""
    store = RunStore(root)
    rows, missing = [], []
    for x, j, s, cfg in transfer.runs(n_opt):
        sm = store.run(cfg.run_id()).summary
        if sm is None:
            missing.append(cfg.run_id())
            continue
        shape = cfg.model.shape()
        if sm["num_params"] != shape.num_params:
            raise ReplicationError(f"run {cfg.run_id()}: {sm['num_params']} parameters, design says {shape.num_params}")
        rows.append({"variant": x, "rung": j, "width": cfg.model.num_channels, "seed": s, "N": shape.num_params,
                     "N_self": shape.num_self_attn_params,
                     "N_body": shape.num_self_attn_params - cfg.model.vocab_size * cfg.model.num_channels,
                     "V": cfg.model.vocab_size, "P": cfg.model.num_prefix, "tokenizer": cfg.tokenizer,
                     "steps": sm["steps"], "C_self": sm["C_self"], "C_cross": sm["C_cross"],
                     "loss": sm["final_val_loss"], "wall_s": sm["wall_s"], "run_id": cfg.run_id()})
    if missing:
        raise ReplicationError(f"{len(missing)} run(s) of the transfer test are not recorded in {store.root} "
                               f"(first: {missing[0]}); train them with replication.studies.transfer.train_missing()")
    return pd.DataFrame(rows)


#: how a size is counted: N_self (every parameter but the prefix's position embeddings, the article's
#: convention) or N_body (N_self without the token embedding, which a vocabulary changes at one width)
SIZES = ("N_self", "N_body")


def _grid(table: pd.DataFrame, variant: str, size: str = "N_self") -> tuple[np.ndarray, np.ndarray, list]:
    """log size (sizes,) and losses (sizes, seeds) of one variant, and its seeds."""
    g = table[table["variant"] == variant]
    if g.empty:
        raise ReplicationError(f"variant={variant!r} has no runs in the table; allowed: "
                               f"{', '.join(table['variant'].unique())}")
    p = g.pivot_table(index=size, columns="seed", values="loss")
    if p.isna().any().any() or len(p) < 3:
        raise ReplicationError(f"variant {variant!r}: needs every seed at 3 or more sizes")
    return np.log(p.index.to_numpy(float)), p.to_numpy(float), list(p.columns)


def _argmin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares parabola in ``x`` through each row of ``y`` (sets, sizes): where it is lowest
    within [min x, max x], and where that is: 0 at an interior vertex, -1 the smallest size, +1 the largest.

    A variant has 3 sizes (the factors ½, 1, 2 of N_opt): too few for the default estimator of
    :mod:`replication.fit.vertex` (the profile form has 5 constants), and the window estimator's
    parabola on 3 sizes is this one. They span 0.6 decades around the optimum, narrow enough that the
    all-points parabola's bias on wide, lopsided profiles does not arise."""
    u = x - x.mean()  # centred for conditioning
    c0, c1, c2 = (y @ np.linalg.pinv(np.c_[np.ones_like(u), u, u * u]).T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        v = -c1 / (2 * c2)
    interior = (c2 > 0) & (v > u.min()) & (v < u.max())
    lo, hi = (c0 + c1 * e + c2 * e * e for e in (u.min(), u.max()))
    side = np.where(interior, 0, np.where(lo <= hi, -1, 1))
    at = np.where(interior, v, np.where(side < 0, u.min(), u.max()))
    return at + x.mean(), side


def _resamples(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) seed indices drawn with replacement; every one of the n^n draws when that is fewer."""
    if n ** n <= resamples:
        return np.array(list(itertools.product(range(n), repeat=n)))
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _where(side: int) -> str:
    return {0: "interior", -1: "outside the trained range (below the smallest size)",
            1: "outside the trained range (above the largest size)"}[int(side)]


def optima(table: pd.DataFrame, bootstrap: int = 2000, seed: int = 0, level: float = 0.95,
           size: str = "N_self") -> pd.DataFrame:
    """Per variant: the compute-optimal size (``size``, one of :data:`SIZES`; NaN when not interior, with
    where it lies instead), the bootstrap interval over seeds (from interior resamples only) and the share
    of interior resamples."""
    check_choice("size", size, SIZES)
    check_int("bootstrap", bootstrap, 1)
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    rows = []
    for variant in table["variant"].unique():
        x, y, seeds = _grid(table, variant, size)
        at, side = _argmin(x, y.mean(1)[None, :])
        idx = _resamples(len(seeds), bootstrap, seed)
        b_at, b_side = _argmin(x, y[:, idx].mean(2).T)
        inner = b_at[b_side == 0]
        low, high = (np.exp(np.percentile(inner, [50 * (1 - level), 50 * (1 + level)]))
                     if inner.size else (math.nan, math.nan))
        rows.append({"variant": variant, "N_star": math.exp(at[0]) if side[0] == 0 else math.nan,
                     "where": _where(side[0]), "N_star low": low, "N_star high": high,
                     "interior share": float((b_side == 0).mean()), "seeds": len(seeds)})
    return pd.DataFrame(rows)


def size_tests(table: pd.DataFrame) -> pd.DataFrame:
    """At each size, a paired t test over seeds of every two-variant comparison (loss − reference)
    whose variants share a tokenizer."""
    rows = []
    present = set(table["variant"])
    for name, (plus, minus) in COMPARISONS.items():
        if len(plus) != 1 or not {*plus, *minus} <= present or VARIANTS[plus[0]][0] != VARIANTS[minus[0]][0]:
            continue  # losses per byte and per subword token are not comparable
        a, b = (table[table["variant"] == v[0]] for v in (plus, minus))
        for j in sorted(a["rung"].unique()):
            la, lb = (t[t["rung"] == j].set_index("seed")["loss"] for t in (a, b))
            test = paired_test(la, lb)
            rows.append({"comparison": name, "rung": j, "width": int(a.loc[a["rung"] == j, "width"].iloc[0]),
                         "N_self": int(b.loc[b["rung"] == j, "N_self"].iloc[0]), "difference": test.difference,
                         "low": test.low, "high": test.high, "p": test.p, "test": str(test)})
    return pd.DataFrame(rows)


def verdicts(table: pd.DataFrame, margin: float = math.log(2) / 2, bootstrap: int = 2000, seed: int = 0,
             level: float = 0.95, size: str = "N_self") -> pd.DataFrame:
    """Per comparison of :data:`COMPARISONS` whose variants are in ``table``: the shift
    log(N*_variant / N*_reference) (NaN unless every vertex is interior), its paired-bootstrap interval,
    the outcome for the hypothesis "the shift is not zero" (see the module's docstring), and the paired
    t test of the per-seed shifts. ``size``: how N* is counted (:data:`SIZES`); the vocabulary rows differ
    between the two, since at one width a larger vocabulary adds its embedding to N_self."""
    check_number("margin", margin, 0, 10, lo_open=True)
    check_int("bootstrap", bootstrap, 1)
    check_number("level", level, 0, 1, lo_open=True, hi_open=True)
    check_choice("size", size, SIZES)
    grids = {v: _grid(table, v, size) for v in table["variant"].unique()}
    rows = []
    for name, (plus, minus) in COMPARISONS.items():
        if not {*plus, *minus} <= set(grids):
            continue
        seeds = grids[plus[0]][2]
        if any(grids[v][2] != seeds for v in (*plus, *minus)):
            raise ReplicationError(f"comparison {name!r}: its variants have different seeds; allowed: the same seeds")
        idx = _resamples(len(seeds), bootstrap, seed)

        def shift(pick):  # (sets, seeds) indices -> shift per set, and whether every vertex was interior
            total, inner = 0.0, True
            for sign, group in ((1, plus), (-1, minus)):
                for v in group:
                    x, y, _ = grids[v]
                    at, side = _argmin(x, y[:, pick].mean(2).T)
                    total, inner = total + sign * at, inner & (side == 0)
            return total, inner

        point, point_in = shift(np.arange(len(seeds))[None, :])
        b, b_in = shift(idx)
        per_seed, _ = shift(np.arange(len(seeds))[:, None])  # one parabola per seed and variant
        low, high = np.percentile(b, [50 * (1 - level), 50 * (1 + level)])
        share = float(b_in.mean())
        t = paired_test(pd.Series(per_seed, index=seeds), pd.Series(0.0, index=seeds), level)
        # with few seeds the percentile bootstrap is too narrow: a verdict needs the t test as well
        censoring_ok = len(plus) == 1 and len(minus) == 1 or share >= level
        if censoring_ok and (low > 0 or high < 0) and t.p < 1 - level and (t.difference > 0) == (low > 0):
            outcome = "agrees"
        elif (point_in[0] and share >= level and -margin < low and high < margin
              and -margin < t.low and t.high < margin):
            outcome = "disagrees"
        else:
            outcome = inconclusive(t, level)
        rows.append({"comparison": name, "shift": float(point[0]) if point_in[0] else math.nan,
                     "ratio": math.exp(point[0]) if point_in[0] else math.nan, "low": float(low),
                     "high": float(high), "interior share": share, "outcome": outcome, "seeds": len(seeds),
                     "per-seed t": str(t).replace(" nats", ""), "per-seed low": t.low, "per-seed high": t.high,
                     "per-seed p": t.p, "per-seed sd": t.sd})
    return pd.DataFrame(rows)
