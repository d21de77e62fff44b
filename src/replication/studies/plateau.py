"""The bigram plateau: the loss a tiny run must get below before its size matters.

A model whose validation loss is above the plateau has learned no more than which token follows which; at CPU
scale, the step at which a run leaves it decides much of its final loss (read by :func:`plateau_reading` over the
runs of Krasser's experiments, :func:`replication.studies.krasser.plateau_exits`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from replication.corpus.streams import load_data
from replication.store import RunStore


#: The weight of the add-one unigram in :func:`bigram_loss`'s bigram model (so every pair has a probability).
BIGRAM_UNIGRAM_WEIGHT = 0.01


def bigram_loss(corpus: str = "kjv", tokenizer: str = "bytes", val_fraction: float = 0.05, store=None) -> float:
    """The bigram plateau: the validation cross-entropy (nats per token) of a bigram model counted on the
    training split, p(b | a) = 0.99 count(a b) / count(a) + 0.01 (count(b) + 1) / (tokens + V). A model
    whose validation loss is above it has learned no more than which token follows which."""
    store = store if store is not None else RunStore()
    data = load_data(corpus, tokenizer, val_fraction, split_seed=0, cache_dir=store.cache_dir)
    v, train, val = data.vocab_size, data.train.astype(np.int64), data.val.astype(np.int64)
    pairs = np.bincount(train[:-1] * v + train[1:], minlength=v * v).reshape(v, v).astype(float)
    rows = pairs.sum(1, keepdims=True)
    unigram = (np.bincount(train, minlength=v) + 1.0) / (len(train) + v)
    w = BIGRAM_UNIGRAM_WEIGHT
    p = (1 - w) * pairs / np.maximum(rows, 1.0) + w * unigram[None, :]
    return float(-np.log(p[val[:-1], val[1:]]).mean())


def first_crossing(steps, losses, level: float) -> float:
    """The step at which a loss curve first falls below ``level``, linearly interpolated between the two
    evaluations around it (the first evaluation's step if it is already below; NaN if it never is)."""
    x, y = np.asarray(steps, float), np.asarray(losses, float)
    below = np.flatnonzero(y < level)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    if j == 0:
        return float(x[0])
    return float(x[j - 1] + (y[j - 1] - level) / (y[j - 1] - y[j]) * (x[j] - x[j - 1]))


def plateau_reading(exits: pd.DataFrame) -> dict:
    """How the seeds of one size differ, and how much of it the plateau explains, from
    :func:`plateau_exits` (one study or several concatenated, with an ``experiment`` column if several).

    ``spread``: the largest range of final losses between the seeds of one model (and ``spread_model``,
    which); ``never``: runs that never left the plateau; over the runs that did, within each model
    (deviations from the model's mean): ``r``, the correlation of exit step and final loss, its ``p``
    (t test with runs − models − 1 degrees of freedom), ``slope`` in nats per 100 steps, and
    ``latest_highest``: models whose latest-leaving seed ends highest, of ``models``."""
    keys = ["experiment", "model"] if "experiment" in exits.columns else ["model"]
    g = exits.groupby(keys)["final_loss"]
    spread = g.max() - g.min()
    out = {"spread": float(spread.max()), "spread_model": spread.idxmax(), "runs": len(exits),
           "never": int(exits["exit_step"].isna().sum())}
    left = exits.dropna(subset=["exit_step"])
    left = left[left.groupby(keys)["exit_step"].transform("size") >= 2]
    models = left.groupby(keys).ngroups
    out |= {"models": models, "r": math.nan, "p": math.nan, "slope": math.nan, "latest_highest": 0}
    dof = len(left) - models - 1
    if models and dof >= 1:
        de = left["exit_step"] - left.groupby(keys)["exit_step"].transform("mean")
        dl = left["final_loss"] - left.groupby(keys)["final_loss"].transform("mean")
        r = float((de * dl).sum() / math.sqrt(float((de * de).sum() * (dl * dl).sum())))
        t = r * math.sqrt(dof / (1 - r * r)) if abs(r) < 1 else math.inf
        out |= {"r": r, "p": float(2 * student_t.sf(abs(t), dof)), "dof": dof,
                "slope": float(100 * (de * dl).sum() / (de * de).sum()),
                "latest_highest": int(sum(part["exit_step"].idxmax() == part["final_loss"].idxmax()
                                          for _, part in left.groupby(keys)))}
    return out
