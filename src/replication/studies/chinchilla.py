"""Our own Chinchilla study at CPU scale: the design, the recorded runs, and every table and figure.

All models are decoder-only (``ModelConfig(num_prefix=0)``) on the default corpus (the King James
Bible, byte tokens), trained by :mod:`replication.training.loop` into the run store. The design is a plain
dataclass, :class:`Study`; the default one is what ``runs/`` holds and what the book shows.

- **Approach 2.** Five IsoFLOP budgets, a factor 16^(1/3) ≈ 2.52 apart (40× from first to last), each
  with five model sizes from one ladder of shapes: budget k trains ladder sizes k..k+4, so the sizes
  move up by one rung (about 1.6× in N, what N_opt ∝ C^0.5 predicts) per budget.
- **Approach 1.** Four ladder sizes, each with four cosine horizons spanning 16× (four consecutive
  budgets). Almost every such run is already an IsoFLOP run; one extra run completes the plan.
- **Approach 3.** The parametric fit on the final losses of every scaling run.
- **Recipe claims** (Chinchilla §4 and Appendix): one model at the middle budget, with the cosine
  cycle 1, 1.25, 1.5, 2 and 5 times the run, the rate decayed to 10% / 0 / 20%, and AdamW vs Adam,
  each over several seeds.

Every run's C is its self-attention training compute C_self (``replication.estimate.flops``, corrected
accounting), as the trainer spends it; D is latent (=all) training tokens; N counts every parameter,
embeddings included, as Chinchilla did. :func:`runs_table` exports N, D, C, loss, seed in the schema
``replication fit`` reads.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from replication.errors import ReplicationError, check_range
from replication.training.model import ModelConfig
from replication.training.loop import TrainConfig

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
class Study:
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
        steps = cfg.num_steps()
        cfg.warmup_steps = max(1, round(self.warmup_fraction * steps))
        cfg.eval_interval = max(1, math.ceil(steps / self.evals_per_run))
        return cfg.validate()

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


DEFAULT = Study()


# --------------------------------------------------------------------------------------------------
# training and the recorded runs


def train(study: Study = DEFAULT, root=None, workers: int = 1, progress: bool = True):
    """Train every missing run of ``study`` into the run store (recorded runs return at once)."""
    from replication.store.runs import RunStore

    return RunStore(root).get_or_train_many(study.training_order(), workers=workers, progress=progress)


def plan_table(study: Study = DEFAULT):
    """One row per run of the design: its shape, budget, seed, recipe and what it serves."""
    import pandas as pd

    isoflop = set(study.isoflop_grid())
    approach1 = set(study.approach1_plan())
    rows = {}

    def add(cfg: TrainConfig, rung: int, k: int, recipe: str):
        rid = cfg.run_id()
        row = rows.setdefault(rid, {
            "run_id": rid, "width": cfg.model.num_channels, "layers": cfg.model.num_layers,
            "rung": rung if isinstance(rung, int) else -1,
            "N": num_params(cfg.model), "N_nonembedding": num_nonembedding_params(cfg.model),
            "budget": cfg.budget_flops, "budget_index": k, "seed": cfg.seed, "recipe": recipe,
            "isoflop": False, "approach1": False, "recipe_study": False})
        return row

    pairs = dict.fromkeys(study.isoflop_grid() + study.approach1_plan())
    for seed in study.scaling_seeds:
        for k, j in pairs:
            row = add(study.config(j, study.budgets[k], seed), j, k, "baseline")
            row["isoflop"] |= (k, j) in isoflop
            row["approach1"] |= (k, j) in approach1
    for name, seed in study.recipe_plan():
        add(study.recipe_config(name, seed), study.recipe_size, study.recipe_budget, name)["recipe_study"] = True
    return pd.DataFrame(list(rows.values()))


def _missing_error(missing: list[str], root) -> ReplicationError:
    return ReplicationError(f"{len(missing)} run(s) of the study are not recorded in {root} "
                            f"(first: {missing[0]}); train them with replication.studies.chinchilla.train()")


def runs_table(study: Study = DEFAULT, root=None):
    """Every run of the study with its final loss: columns N, D, C, loss, seed (the schema that
    ``replication fit`` reads; C is the run's C_self budget), then what identifies and serves it.

    Raises ReplicationError if a run is not recorded (this never trains).
    """
    from replication.store.runs import RunStore

    store = RunStore(root)
    plan = plan_table(study)
    summaries, missing = [], []
    for rid in plan["run_id"]:
        s = store.run(rid).summary
        if s is None:
            missing.append(rid)
        summaries.append(s)
    if missing:
        raise _missing_error(missing, store.root)
    t = plan.assign(
        D=[s["latent_tokens"] for s in summaries],
        C=plan["budget"],
        loss=[s["final_val_loss"] for s in summaries],
        C_spent=[s["C_self"] for s in summaries],
        steps=[s["steps"] for s in summaries],
        epochs=[s["epochs"] for s in summaries],
        wall_s=[s["wall_s"] for s in summaries],
    )
    for s, n in zip(summaries, t["N"]):
        if s["num_params"] != n:  # the recorded model must be the one the design describes
            raise ReplicationError(f"run {s['run_id']}: {s['num_params']} parameters, design says {n}")
    first = ["N", "D", "C", "loss", "seed"]
    return t[first + [c for c in t.columns if c not in first]]


def scaling_runs(study: Study = DEFAULT, root=None, seeds: str = "scaling"):
    """The runs with the baseline recipe: those of the scaling seeds (Approaches 1 and 2), or every
    seed ("all", which adds the recipe study's extra baseline seeds; Approach 3)."""
    if seeds not in ("scaling", "all"):
        raise ReplicationError(f"seeds={seeds!r}; allowed: 'scaling', 'all'")
    t = runs_table(study, root)
    t = t[t["recipe"] == "baseline"]
    if seeds == "scaling":
        t = t[t["seed"].isin(study.scaling_seeds)]
    return t.reset_index(drop=True)


def isoflop_points(study: Study = DEFAULT, root=None):
    """One row per (budget, shape) of the scaling runs: the loss is the mean over the scaling seeds
    (``loss_sd`` their standard deviation), the input of Approach 2."""
    t = scaling_runs(study, root)
    keys = ["C", "width", "layers"]
    g = t.groupby(keys, sort=True)
    out = g.agg(N=("N", "first"), N_nonembedding=("N_nonembedding", "first"), D=("D", "first"),
                loss=("loss", "mean"), loss_sd=("loss", "std"), seeds=("seed", "count")).reset_index()
    return out[["N", "D", "C", "loss", "loss_sd", "seeds", "width", "layers", "N_nonembedding"]]


def training_time(study: Study = DEFAULT, root=None) -> dict:
    """Measured training wall time of the recorded runs (as the run summaries record it)."""
    t = runs_table(study, root)
    return {"runs": len(t), "wall_s": float(t["wall_s"].sum()),
            "C_self": float(t["C_spent"].sum()), "by_part": {
                "scaling (Approaches 1-3)": float(t.loc[~t["recipe_study"] | t["isoflop"], "wall_s"].sum()),
                "recipe study only": float(t.loc[t["recipe_study"] & ~t["isoflop"], "wall_s"].sum())}}


def write_csv(path, study: Study = DEFAULT, root=None):
    """The runs table as a CSV that ``replication fit --data`` reads."""
    t = runs_table(study, root)
    t.to_csv(path, index=False)
    return t


def curves_table(study: Study = DEFAULT, root=None):
    """Validation-loss curves of the Approach-1 runs, averaged over the scaling seeds at each
    validation step: N, D (tokens so far), C (C_self so far), loss, run (shape and budget), horizon
    (the run's total tokens): the input of :func:`replication.fit.fitting.fit_approach1`."""
    import pandas as pd

    from replication.store.runs import RunStore

    store = RunStore(root)
    t = runs_table(study, root)
    frames = []
    for row in t[t["approach1"]].itertuples():
        m = store.run(row.run_id).metrics()
        v = m[m["kind"] == "val"]
        frames.append(pd.DataFrame({"N": float(row.N), "N_nonembedding": float(row.N_nonembedding),
                                    "D": v["latent_tokens"].to_numpy(float), "C": v["C_self"].to_numpy(float),
                                    "loss": v["loss"].to_numpy(float),
                                    "run": f"{row.width}x{row.layers}@{row.C:.3g}",
                                    "horizon": float(row.D), "width": row.width, "layers": row.layers,
                                    "seed": row.seed}))
    every = pd.concat(frames, ignore_index=True)
    keys = ["run", "D"]
    mean = every.groupby(keys, sort=False).agg(
        N=("N", "first"), N_nonembedding=("N_nonembedding", "first"), C=("C", "first"), loss=("loss", "mean"),
        seeds=("seed", "count"), horizon=("horizon", "first"), width=("width", "first"),
        layers=("layers", "first")).reset_index()
    return mean[["N", "D", "C", "loss", "run", "horizon", "seeds", "width", "layers", "N_nonembedding"]]


# --------------------------------------------------------------------------------------------------
# the three approaches on our runs

PARAM_COUNTS = {"total": "N", "non-embedding": "N_nonembedding"}


def _with_count(t, count: str):
    if count not in PARAM_COUNTS:
        raise ReplicationError(f"count={count!r}; allowed: {', '.join(PARAM_COUNTS)}")
    return t.assign(N=t[PARAM_COUNTS[count]])


def approach1(study: Study = DEFAULT, root=None, count: str = "total", bootstrap: int = 200, seed: int = 0):
    """Approach 1 on our training curves. The interval resamples whole runs (the grid points of one
    envelope are far from independent, so a bootstrap over them would be much too narrow)."""
    from replication.fit.fitting import fit_approach1

    curves = _with_count(curves_table(study, root), count)
    fit = fit_approach1(curves)
    if bootstrap:
        rng = np.random.default_rng(seed)
        ids = curves["run"].unique()
        samples = []
        for _ in range(bootstrap):
            pick = rng.choice(ids, ids.size, replace=True)
            sub = curves[curves["run"].isin(pick)]
            if sub["N"].nunique() < 2:
                continue
            try:
                r = fit_approach1(sub)
            except ReplicationError:
                continue
            samples.append((r["a"], r["b"]))
        s = np.array(samples)
        lo, hi = np.percentile(s, [10, 90], axis=0)
        fit.ci = {"a": (float(lo[0]), float(hi[0])), "b": (float(lo[1]), float(hi[1]))}
        fit.details["bootstrap"] = f"{len(samples)}/{bootstrap} resamples of whole runs"
    return fit


def approach2(study: Study = DEFAULT, root=None, count: str = "total", bootstrap: int = 1000, seed: int = 0,
              on_edge: str = "exclude"):
    """Approach 2 on the final losses at our IsoFLOP budgets, averaged over the scaling seeds."""
    from replication.fit.fitting import fit_approach2

    t = _with_count(isoflop_points(study, root), count)
    return fit_approach2(t, on_edge=on_edge, bootstrap=bootstrap, seed=seed)


def compute_per_token(study: Study = DEFAULT, count: str = "total"):
    """(N, C_self per token) for every ladder shape: our models' own compute axis."""
    rows = []
    for j in range(len(study.ladder)):
        cfg = study.config(j, study.base_budget)
        c_self, _ = cfg.flops_per_latent_token()
        n = num_params(cfg.model) if count == "total" else num_nonembedding_params(cfg.model)
        rows.append((n, c_self))
    return np.array(rows, dtype=float)


def compute_law(study: Study = DEFAULT, count: str = "total") -> tuple[float, float]:
    """(κ, γ) of C_self per token ≈ κ·N^γ, least squares in log-log over the ladder.

    Chinchilla's C = 6ND is κ = 6, γ = 1. Our small models are far from it. With embeddings counted,
    γ > 1: the smallest models are mostly embedding, which costs parameters but hardly any compute.
    Without them, γ < 1: attention (4dn per layer and token) does not grow with d²."""
    nc = compute_per_token(study, count)
    gamma, log_kappa = np.polyfit(np.log(nc[:, 0]), np.log(nc[:, 1]), 1)
    return float(math.exp(log_kappa)), float(gamma)


def optimum_on_budget(params: dict, budgets, study: Study = DEFAULT, count: str = "total", points: int = 2000):
    """N_opt and D_opt of a fitted L(N, D) along *our* IsoFLOP lines, D = C / (κ·N^γ) (see
    :func:`compute_law`), searched over the ladder's range of N. An optimum at the edge of that range
    is returned as NaN: it would be an extrapolation."""
    from replication.fit.fitting import predict_loss

    kappa, gamma = compute_law(study, count)
    nc = compute_per_token(study, count)
    logn = np.linspace(np.log(nc[:, 0].min()), np.log(nc[:, 0].max()), points)
    per_token = kappa * np.exp(gamma * logn)
    out = []
    for C in np.atleast_1d(np.asarray(budgets, dtype=float)):
        D = C / per_token
        L = predict_loss(params, np.exp(logn), D)
        i = int(np.argmin(L))
        edge = i in (0, points - 1)
        out.append((math.nan, math.nan) if edge else (math.exp(logn[i]), float(D[i])))
    return np.array(out)


def approach3(study: Study = DEFAULT, root=None, count: str = "total", method: str = "huber",
              bootstrap: int = 1000, seed: int = 0):
    """Approach 3 on every final loss of the baseline recipe (all seeds). Besides the paper's
    closed-form exponents (which assume C = 6ND), ``details['ours']`` has a and b on our own
    compute axis (the optimum along our IsoFLOP lines), with bootstrap intervals."""
    from replication.fit.fitting import bootstrap_approach3, fit_approach3, fit_compute_optimal, params_to_theta

    t = _with_count(scaling_runs(study, root, seeds="all"), count)
    fit = fit_approach3(t, method=method, bootstrap=bootstrap, seed=seed)
    budgets = np.array(study.budgets)
    opt = optimum_on_budget(fit.params, budgets, study, count)
    ours = {"N_opt": opt[:, 0], "D_opt": opt[:, 1]}
    ok = np.isfinite(opt[:, 0])
    if ok.sum() >= 2:
        law = fit_compute_optimal(budgets[ok], opt[ok, 0], opt[ok, 1])
        ours.update(a=law["a"], b=law["b"])
        if bootstrap:
            samples, _ = bootstrap_approach3(params_to_theta(fit.params), np.log(t["N"].to_numpy(float)),
                                             np.log(t["D"].to_numpy(float)), np.log(t["loss"].to_numpy(float)),
                                             resamples=bootstrap, seed=seed)
            ab = []
            for A, B, E, al, be, *_ in samples:
                o = optimum_on_budget({"A": A, "B": B, "E": E, "alpha": al, "beta": be}, budgets, study, count,
                                      points=400)
                good = np.isfinite(o[:, 0])
                if good.sum() >= 2:
                    r = fit_compute_optimal(budgets[good], o[good, 0], o[good, 1])
                    ab.append((r["a"], r["b"]))
            ab = np.array(ab)
            lo, hi = np.percentile(ab, [10, 90], axis=0)
            ours["ci"] = {"a": (float(lo[0]), float(hi[0])), "b": (float(lo[1]), float(hi[1]))}
            ours["bootstrap"] = f"{len(ab)}/{bootstrap}"
    fit.details["ours"] = ours
    return fit


# --------------------------------------------------------------------------------------------------
# tables and figures for the chapter


def _fmt_ci(value: float, ci) -> str:
    if ci is None or not np.all(np.isfinite(ci)):
        return f"{value:.3f}"
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def fit_all(study: Study = DEFAULT, root=None, count: str = "total", bootstrap: int = 1000, seed: int = 0) -> dict:
    """The three approaches on our runs, each with bootstrap intervals: {1: fit, 2: fit, 3: fit}."""
    return {1: approach1(study, root, count, bootstrap=min(bootstrap, 200), seed=seed),
            2: approach2(study, root, count, bootstrap=bootstrap, seed=seed),
            3: approach3(study, root, count, bootstrap=bootstrap, seed=seed)}


def exponents_table(fits: dict):
    """Our a and b (10th-90th percentile intervals) beside the paper's Table 2."""
    import pandas as pd

    from replication.sources.chinchilla import TABLE_2

    rows = []
    for k, fit in fits.items():
        paper = TABLE_2[f"approach{k}"]
        if k == 3:
            ours = fit.details["ours"]
            a, b, ci = ours.get("a", math.nan), ours.get("b", math.nan), ours.get("ci", {})
            note = f"α={fit['alpha']:.3f}, β={fit['beta']:.3f}; closed form (C=6ND): " \
                   f"a={_fmt_ci(fit['a'], (fit.ci or {}).get('a'))}"
        else:
            a, b, ci = fit["a"], fit["b"], fit.ci or {}
            note = fit.message
        rows.append({"approach": k, "paper a": f"{paper['a']:.2f} [{paper['a_ci'][0]}, {paper['a_ci'][1]}]",
                     "ours a": _fmt_ci(a, ci.get("a")),
                     "paper b": f"{paper['b']:.2f} [{paper['b_ci'][0]}, {paper['b_ci'][1]}]",
                     "ours b": _fmt_ci(b, ci.get("b")), "note": note})
    return pd.DataFrame(rows)


def tokens_per_param_table(fits: dict, study: Study = DEFAULT):
    """D_opt/N_opt at each of our budgets, as each approach's fitted allocation implies."""
    import pandas as pd

    budgets = np.array(study.budgets)
    out = {"C": budgets}
    for k, fit in fits.items():
        if k == 3:
            ours = fit.details["ours"]
            out[f"approach {k} N_opt"] = ours["N_opt"]
            out[f"approach {k} D/N"] = ours["D_opt"] / ours["N_opt"]
        else:
            out[f"approach {k} N_opt"] = fit.law.n_opt(budgets)
            out[f"approach {k} D/N"] = fit.law.tokens_per_param(budgets)
    return pd.DataFrame(out)


def embedding_comparison(fits_by_count: dict):
    """The exponent a (with its interval) per approach, N counted with and without embeddings
    (Pearce & Song 2024). ``fits_by_count`` maps "total"/"non-embedding" to :func:`fit_all` results."""
    import pandas as pd

    rows = []
    for k in (1, 2, 3):
        row = {"approach": k}
        for count, fits in fits_by_count.items():
            fit = fits[k]
            if k == 3:
                ours = fit.details["ours"]
                a, ci = ours.get("a", math.nan), ours.get("ci", {}).get("a")
            else:
                a, ci = fit["a"], (fit.ci or {}).get("a")
            row[f"a, N {count}"] = _fmt_ci(a, ci)
        rows.append(row)
    return pd.DataFrame(rows).set_index("approach")


# -- recipe claims --------------------------------------------------------------------------------

#: claim -> (recipes compared, what the paper says is better)
RECIPE_CLAIMS = {
    "cosine cycle longer than the run by >25% hurts": ("baseline", ["cycle 1.25×", "cycle 1.5×", "cycle 2×", "cycle 5×"]),
    "decay 10× is slightly better than decay to 0": ("baseline", ["decay to 0"]),
    "decay 10× is clearly better than 5×": ("baseline", ["decay 5× (to 20%)"]),
    "AdamW is slightly better than Adam": ("AdamW (wd 0.1)", ["baseline"]),
}


def verdict(diff: float, se: float, df: int, level: float = 0.95) -> str:
    """'reference better' / 'reference worse' when the paired difference (other − reference, so
    positive means the reference is better) is significant in a two-sided t-test at ``level`` with
    ``df`` degrees of freedom; else 'not distinguishable'. With 3 seeds (df = 2) that takes
    |diff| > 4.3 standard errors."""
    from scipy.stats import t as student_t

    if df < 1 or not (np.isfinite(diff) and np.isfinite(se)) or diff == 0:
        return "not distinguishable"
    crit = float(student_t.ppf(0.5 + level / 2, df))
    if diff > crit * se:
        return "reference better"
    if diff < -crit * se:
        return "reference worse"
    return "not distinguishable"


def recipe_table(study: Study = DEFAULT, root=None):
    """Final loss per recipe, mean ± standard deviation over seeds, and the paired difference to the
    baseline (same seeds: same initial weights and batches) with its standard error."""
    import pandas as pd

    t = runs_table(study, root)
    t = t[t["recipe_study"]]
    base = t[t["recipe"] == "baseline"].set_index("seed")["loss"]
    rows = []
    for name in study.recipes:
        r = t[t["recipe"] == name].set_index("seed")["loss"]
        diff = (r - base.reindex(r.index)).dropna()
        n = len(diff)
        rows.append({"recipe": name, "seeds": len(r), "loss mean": r.mean(), "loss sd": r.std(ddof=1),
                     "Δ vs baseline": diff.mean() if n else math.nan,
                     "Δ se": diff.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan})
    return pd.DataFrame(rows)


def recipe_verdicts(study: Study = DEFAULT, root=None, level: float = 0.95):
    """One row per claim: the paper's claim, our paired difference (other − reference) ± se, verdict."""
    import pandas as pd

    runs = runs_table(study, root)
    runs = runs[runs["recipe_study"]]
    rows = []
    for claim, (ref, others) in RECIPE_CLAIMS.items():
        others = [o for o in others if o in study.recipes]
        if ref not in study.recipes or not others:
            continue  # a study without these variants says nothing about this claim
        ref_loss = runs[runs["recipe"] == ref].set_index("seed")["loss"]
        for other in others:
            o = runs[runs["recipe"] == other].set_index("seed")["loss"]
            d = (o - ref_loss.reindex(o.index)).dropna()
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
            v = verdict(d.mean(), se, len(d) - 1, level)
            agrees = {"reference better": "agrees", "reference worse": "contradicts"}.get(v, "not distinguishable")
            rows.append({"claim": claim, "reference": ref, "other": other,
                         "other − reference": d.mean(), "se": se, "seeds": len(d),
                         "verdict": v, "paper": agrees})
    return pd.DataFrame(rows, columns=["claim", "reference", "other", "other − reference", "se", "seeds",
                                       "verdict", "paper"])


def plot_recipes(study: Study = DEFAULT, root=None, ax=None):
    """Final loss of every recipe run (dots) and the mean per recipe (bar)."""
    import matplotlib.pyplot as plt

    runs = runs_table(study, root)
    runs = runs[runs["recipe_study"]]
    ax = ax or plt.subplots(figsize=(8, 3.5))[1]
    names = list(study.recipes)
    for i, name in enumerate(names):
        y = runs.loc[runs["recipe"] == name, "loss"].to_numpy()
        ax.plot(np.full(y.size, i), y, "o", ms=4, color="tab:blue", alpha=0.7)
        ax.hlines(y.mean(), i - 0.3, i + 0.3, color="k")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("final validation loss")
    ax.set_title(f"recipe study: {study.ladder[study.recipe_size]} (d, L) at C={study.budgets[study.recipe_budget]:.3g}")
    return ax


def plot_lr_schedules(study: Study = DEFAULT, ax=None):
    """The learning-rate schedules of the recipe variants (what the recipe claims are about)."""
    import matplotlib.pyplot as plt

    from replication.training.loop import lr_at

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for name in study.recipes:
        cfg = study.recipe_config(name, study.recipe_seeds[0])
        total = cfg.num_steps()
        steps = np.arange(total)
        ax.plot(steps, [lr_at(int(s), cfg, total) for s in steps], lw=1, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=7)
    return ax
