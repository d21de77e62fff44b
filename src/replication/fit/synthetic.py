"""Synthetic data from known constants, for the tests and the chapters' demonstrations."""
from __future__ import annotations

import math

import numpy as np

from replication.fit.approach3 import frontier, predict_loss


def synthetic_points(params, *, n_points: int = 200, N_range=(1e7, 1e10), D_range=(1e8, 1e11),
                     noise: float = 0.0, seed: int = 0):
    """Final losses of runs at random (N, D), log-uniform in the ranges; noise is the standard
    deviation of a Gaussian added to log L."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(*np.log(N_range), n_points))
    D = np.exp(rng.uniform(*np.log(D_range), n_points))
    loss = predict_loss(params, N, D) * np.exp(noise * rng.standard_normal(n_points))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def synthetic_isoflops(params, budgets, *, sizes: int = 9, span: float = 1.0, offset: float = 0.0,
                       noise: float = 0.0, seed: int = 0):
    """IsoFLOP profiles: at each budget, ``sizes`` model sizes log-spaced over ±``span``/2 decades
    around the true N_opt shifted by ``offset`` decades; D = C/(6N)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    law = frontier(params)
    frames = []
    for C in np.atleast_1d(np.asarray(budgets, dtype=float)):
        centre = math.log10(float(law.n_opt(C))) + offset
        N = np.logspace(centre - span / 2, centre + span / 2, sizes)
        D = C / (6 * N)
        loss = predict_loss(params, N, D) * np.exp(noise * rng.standard_normal(sizes))
        frames.append(pd.DataFrame({"N": N, "D": D, "loss": loss, "C": C}))
    return pd.concat(frames, ignore_index=True)


def synthetic_curves(params, sizes, horizons, *, points: int = 40, schedule_penalty: float = 0.05,
                     noise: float = 0.0, seed: int = 0):
    """Training curves for every (size, horizon): the loss at D tokens seen is L(N, D) plus a
    penalty ``schedule_penalty``·(1 − D/horizon) that stands for a cosine schedule not yet
    annealed, zero at the end of the cycle."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frames = []
    for i, N in enumerate(np.asarray(sizes, dtype=float)):
        for j, H in enumerate(np.asarray(horizons, dtype=float)):
            D = H * np.linspace(0.05, 1.0, points)
            loss = predict_loss(params, N, D) + schedule_penalty * (1 - D / H)
            loss = loss * np.exp(noise * rng.standard_normal(points))
            frames.append(pd.DataFrame({"run": f"N{i}-H{j}", "N": N, "D": D, "loss": loss, "horizon": H}))
    return pd.concat(frames, ignore_index=True)
