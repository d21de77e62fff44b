"""A run store for the Chinchilla study written from a known loss surface, with no training.

:func:`fake_store` records every run a study needs (config.json, metrics.jsonl and a summary with
its manifest, as the trainer writes them), so the study's tables and fits can be checked against
answers computed here by hand.
"""
import json
import math
from dataclasses import replace

import numpy as np

from replication.studies.chinchilla_design import DEFAULT, PILOTS, TRAIN_TOKENS, num_params
from replication.store.runs import RunStore

#: L(N, D) = E + A / N^alpha + B / D^beta: on TINY's budgets every IsoFLOP profile has its minimum
#: 40-60% of the way through its sizes (in log N), so every vertex is interior and bracketed.
LAW = {"E": 1.0, "A": 145.0, "alpha": 0.5, "B": 1000.0, "beta": 0.45}

#: Loss added per unit of log(lr / lr*(N))^2: the sweep's optimum is the study's own rule lr*(N).
LR_CURVATURE = 0.1

#: Three budgets 4x apart (16x in all), five sizes each, two rungs up per budget (as DEFAULT moves one
#: rung per doubling), two seeds; the sweep, pilots and recipes are DEFAULT's.
TINY = replace(DEFAULT, budgets=(2.5e11, 1e12, 4e12), profiles=((0, 1, 2, 3, 4), (2, 3, 4, 5, 6), (4, 5, 6, 7, 8)),
               seeds=(0, 1), vertex_points=(), recipe_budget=1, recipe_rung=4, recipe_seeds=(0, 1, 2, 3))


def surface(n, d, law=LAW):
    return law["E"] + law["A"] / np.power(n, law["alpha"]) + law["B"] / np.power(d, law["beta"])


def fake_store(root, study=TINY, law=LAW, noise=0.0, seed_sd=0.0, recipe_shift=None, recipe_jitter=None,
               pilot_shift=None, seed=0) -> dict:
    """Record every run of ``study`` under ``root`` as if its loss followed ``law`` (plus the
    learning-rate penalty), at every validation point. Returns run id -> final validation loss.

    Offsets, constant along each run's curve:
    - ``seed_sd``: one normal draw per seed, shared by every run of that seed (the same initial
      weights and batches), which paired comparisons cancel;
    - ``noise``: one normal draw per run (from its id), except recipe runs;
    - ``recipe_shift`` name -> nats added to that recipe's runs, ``recipe_jitter`` name -> one value
      per recipe seed added as well (the baseline gets neither);
    - ``pilot_shift`` pilot -> {value: nats} added to the runs of that pilot value (a run that is in
      several pilots, at their shared values, gets each pilot's shift).
    """
    store = RunStore(root)
    recipe_shift, recipe_jitter, pilot_shift = recipe_shift or {}, recipe_jitter or {}, pilot_shift or {}
    recipe_of = {}
    for name in study.recipes:
        for i, s in enumerate(study.recipe_seeds):
            recipe_of.setdefault(study.recipe_config(name, s).run_id(), (name, i))
    pilot_of = {}
    for name, cfgs in study.pilot_configs().items():
        values = PILOTS[name][1]
        seeds = study.pilot_seeds[name]
        for i, cfg in enumerate(cfgs):  # pilot_configs lists each value's seeds in turn
            pilot_of.setdefault(cfg.run_id(), {})[name] = values[i // len(seeds)]
    seed_effect = {}
    final = {}
    for cfg in study.configs():
        rid = cfg.run_id()
        n = num_params(cfg.model)
        if cfg.seed not in seed_effect:
            seed_effect[cfg.seed] = seed_sd * np.random.default_rng((seed, 1, cfg.seed)).standard_normal()
        offset = seed_effect[cfg.seed] + LR_CURVATURE * math.log(cfg.lr / study.rule(n)) ** 2
        if rid in recipe_of:
            name, i = recipe_of[rid]
            if name != "baseline":
                offset += recipe_shift.get(name, 0.0) + (recipe_jitter[name][i] if name in recipe_jitter else 0.0)
        else:
            offset += noise * np.random.default_rng((seed, 2, int(rid, 16))).standard_normal()
        for pilot, value in pilot_of.get(rid, {}).items():
            offset += pilot_shift.get(pilot, {}).get(value, 0.0)

        final[rid] = record(store, cfg, lambda d: float(surface(n, d, law)) + offset)
    return final


def record(store, cfg, loss_at, train_tokens=TRAIN_TOKENS, wall_s=1.0) -> float:
    """Record ``cfg`` in ``store`` as a finished run whose validation loss after ``d`` tokens is
    ``loss_at(d)`` (config, metrics and a summary with its manifest, as the trainer writes them); its final
    validation loss."""
    steps = cfg.num_steps()
    per_step = cfg.batch_size * cfg.model.num_latents
    per_token = cfg.model.shape().self_attn_flops("executed")
    run = store.run(cfg.run_id())
    run.write_config(cfg.identity())
    marks = list(range(cfg.eval_interval, steps + 1, cfg.eval_interval))
    marks += [] if marks and marks[-1] == steps else [steps]
    lines = [{"kind": "val", "step": k, "latent_tokens": k * per_step, "C_self": per_token * k * per_step,
              "C_cross": 0, "loss": loss_at(k * per_step)} for k in marks]
    # a run's last step is logged as a training record too (the store checks the summary against it)
    lines.insert(-1, {**lines[-1], "kind": "train"})
    run.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    d = steps * per_step
    run.write_summary({"final_val_loss": lines[-1]["loss"], "steps": steps, "latent_tokens": d,
                       "C_self": per_token * d, "C_cross": 0, "epochs": d / train_tokens,
                       "train_tokens": train_tokens, "wall_s": wall_s, "num_params": num_params(cfg.model),
                       "device": "fake"})
    return lines[-1]["loss"]


#: L(N, D) for the wide study: every IsoFLOP minimum inside its profile (d = 18 on the first budget, 74 on
#: the last), about 66 bytes per parameter there.
WIDE_LAW = {"E": 1.0, "A": 10.0, "B": 43.3, "alpha": 0.35, "beta": 0.35}


def fake_wide_store(root, study, law=WIDE_LAW, rule=None, noise=0.0, seed=0, tuning_only=False) -> RunStore:
    """Record every run of the wide ``study`` under ``root`` as if its final loss followed ``law``, plus
    :data:`LR_CURVATURE` per unit of log(lr / ``rule``(N, D/N))^2 (the optimum the sweep should find), plus
    ``noise`` (sd, one draw per run). The sweep's first seeds and the warmup pilot come first, then its
    second seeds (read off the first), then every run after the tuning at the rule the store's sweep fits:
    ``study`` must read its rule from ``root`` (REPLICATION_RUNS_DIR) and not have read it before.
    ``tuning_only``: the sweep and the pilot alone."""
    from replication.studies.wide_design import TRAIN_TOKENS as WIDE_TOKENS
    from replication.studies.wide_lr import HorizonRule, repeat_points

    rule = rule or HorizonRule(0.008, 0.5, 0.15)
    store = RunStore(root)

    def put(cfg):
        n = num_params(cfg.model)
        d = cfg.num_steps() * cfg.batch_size * cfg.model.num_latents
        offset = LR_CURVATURE * math.log(cfg.lr / rule(n, d / n)) ** 2
        offset += noise * np.random.default_rng((seed, 3, int(cfg.run_id(), 16))).standard_normal()
        record(store, cfg, lambda tokens: float(surface(n, tokens, law)) + offset, WIDE_TOKENS)

    for cfg in study.tuning_configs():
        put(cfg)
    for p in repeat_points(study, store):
        put(study.sweep_config(*p))
    for cfg in [] if tuning_only else study.configs():
        put(cfg)
    return store
