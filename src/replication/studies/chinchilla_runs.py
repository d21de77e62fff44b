"""Our Chinchilla study's recorded runs as tables: one row per IsoFLOP run (:func:`runs_table`, with its
compute under every count of :data:`COUNTS`), and every run's validation curve (:func:`curves_table`).

Reading never trains; a missing run is one line naming it (:func:`replication.studies.runs.summaries`).
"""
from __future__ import annotations

import math

import pandas as pd

from replication.errors import ReplicationError, check_choice
from replication.studies.chinchilla_design import DEFAULT, ChinchillaStudy, num_nonembedding_params, num_params
from replication.studies.runs import open_store, summaries

#: How a run's training compute is counted: the budget the study trains on (every executed matmul),
#: Krasser's corrected C_self (no embedding, no unembedding), and 6N per token with N all parameters
#: (Chinchilla's C = 6ND) or without the embeddings (Kaplan's).
COUNTS = ("executed", "C_self", "6N", "6N non-embedding")


def per_token_flops(model, count: str) -> float:
    """Training FLOPs per token of ``model`` under ``count``."""
    check_choice("count", count, COUNTS)
    if count == "executed":
        return float(model.shape().self_attn_flops("executed"))
    if count == "C_self":
        return float(model.shape().self_attn_flops("corrected"))
    return 6.0 * (num_params(model) if count == "6N" else num_nonembedding_params(model))


def runs_table(study: ChinchillaStudy = DEFAULT, store=None, recorded_only: bool = False) -> pd.DataFrame:
    """One row per IsoFLOP run: N, D, C (the executed budget), loss, seed (the schema ``replication fit``
    reads), then its shape, the compute under every count, steps, epochs and wall time. ``study``: any
    design with ``isoflop_points`` and ``isoflop_configs`` in the same order (this study's, the wide
    study's); ``recorded_only``: the runs the store has finished, where a study is still training."""
    pts, cfgs = study.isoflop_points(), study.isoflop_configs()
    if recorded_only:
        s = open_store(store)
        kept = [i for i, c in enumerate(cfgs) if s.run(c.run_id()).finished]
        pts, cfgs = [pts[i] for i in kept], [cfgs[i] for i in kept]
    rows = []
    for (k, j, s), cfg, sm in zip(pts, cfgs, summaries(cfgs, store, "the study")):
        m = cfg.model
        if sm["num_params"] != num_params(m):  # the recorded model must be the one the design describes
            raise ReplicationError(f"run {cfg.run_id()}: {sm['num_params']} parameters, design says {num_params(m)}")
        d = sm["latent_tokens"]
        row = {"N": num_params(m), "D": d, "C": study.budgets[k], "loss": sm["final_val_loss"], "seed": s,
               "budget": k, "rung": j, "width": m.num_channels, "N_nonembedding": num_nonembedding_params(m),
               "run_id": cfg.run_id(), "steps": sm["steps"], "epochs": sm["epochs"], "wall_s": sm["wall_s"]}
        row.update({f"C {c}": per_token_flops(m, c) * d for c in COUNTS})
        rows.append(row)
    if not rows:
        raise ReplicationError(f"no IsoFLOP run of the study is recorded in {open_store(store).root}")
    t = pd.DataFrame(rows)
    return t.assign(bits_per_byte=t["loss"] / math.log(2))


def curves_table(study: ChinchillaStudy = DEFAULT, store=None, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Validation-loss curves of every IsoFLOP run, averaged over seeds at each validation step: N, D
    (tokens so far), C (executed FLOPs so far), loss, run (size and budget), horizon (the run's tokens)."""
    t = runs_table(study, store) if runs is None else runs
    store = open_store(store)
    frames = []
    for (k, j), g in t.groupby(["budget", "rung"]):
        per_seed = []
        for rid in g["run_id"]:
            m = store.run(rid).metrics()
            per_seed.append(m[m["kind"] == "val"].set_index("latent_tokens")["loss"])
        mean = pd.concat(per_seed, axis=1).mean(axis=1)
        n, per_tok = g["N"].iloc[0], g["C executed"].iloc[0] / g["D"].iloc[0]
        frames.append(pd.DataFrame({"N": n, "D": mean.index.to_numpy(float), "C": per_tok * mean.index.to_numpy(float),
                                    "loss": mean.to_numpy(), "run": f"{k}:{j}", "horizon": float(g["D"].iloc[0])}))
    return pd.concat(frames, ignore_index=True)


def recorded_minutes(study: ChinchillaStudy = DEFAULT, store=None) -> float:
    """Core-minutes every run of the study took (sweep, pilots, IsoFLOP runs, recipes), as recorded."""
    return float(sum(s["wall_s"] for s in summaries(study.configs(), store, "the study")) / 60)
