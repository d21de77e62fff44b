"""Synthetic data from known constants, for the tests and the chapters' demonstrations."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_int, check_number
from replication.fit.approach3 import frontier, predict_loss
from replication.fit.observations import positive


def log_spaced(spec, name: str = "spec") -> np.ndarray:
    """``spec`` = [first, last, count]: ``count`` values log-spaced from first to last (a chapter's way to
    write a range of sizes or token counts in one parameter)."""
    if isinstance(spec, str) or not hasattr(spec, "__len__") or len(spec) != 3:
        raise ReplicationError(f"{name}={spec!r} must be [first, last, count]; e.g. [1e7, 3e9, 20]")
    first, last = positive(name, spec[:2])
    count = check_int(f"{name} count", spec[2], 2, 1000)
    return np.logspace(np.log10(first), np.log10(last), count)


def _check_noise(noise: float, seed: int) -> None:
    check_number("noise", noise, 0)  # a standard deviation
    check_int("seed", seed, 0)


def synthetic_points(params, *, n_points: int = 200, N_range=(1e7, 1e10), D_range=(1e8, 1e11),
                     noise: float = 0.0, seed: int = 0):
    """Final losses of runs at random (N, D), log-uniform in the ranges; noise is the standard
    deviation of a Gaussian added to log L."""
    check_int("n_points", n_points, 1)
    N_range, D_range = positive("N_range", N_range), positive("D_range", D_range)
    _check_noise(noise, seed)
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(*np.log(N_range), n_points))
    D = np.exp(rng.uniform(*np.log(D_range), n_points))
    loss = predict_loss(params, N, D) * np.exp(noise * rng.standard_normal(n_points))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def synthetic_isoflops(params, budgets, *, sizes: int = 9, span: float = 1.0, offset: float = 0.0,
                       noise: float = 0.0, seed: int = 0):
    """IsoFLOP profiles: at each budget, ``sizes`` model sizes log-spaced over ±``span``/2 decades
    around the true N_opt shifted by ``offset`` decades; D = C/(6N)."""
    budgets = positive("budgets", np.atleast_1d(budgets))
    if budgets.size == 0:
        raise ReplicationError("budgets is empty; allowed: one or more budgets > 0 (FLOPs)")
    check_int("sizes", sizes, 1)
    check_number("span", span, 0, lo_open=True)
    check_number("offset", offset)
    _check_noise(noise, seed)
    rng = np.random.default_rng(seed)
    law = frontier(params)
    frames = []
    for C in budgets:
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
    sizes, horizons = positive("sizes", np.atleast_1d(sizes)), positive("horizons", np.atleast_1d(horizons))
    if sizes.size == 0 or horizons.size == 0:
        raise ReplicationError("sizes and horizons need one or more values > 0 each")
    check_int("points", points, 2)
    check_number("schedule_penalty", schedule_penalty, 0)
    _check_noise(noise, seed)
    rng = np.random.default_rng(seed)
    frames = []
    for i, N in enumerate(sizes):
        for j, H in enumerate(horizons):
            D = H * np.linspace(0.05, 1.0, points)
            loss = predict_loss(params, N, D) + schedule_penalty * (1 - D / H)
            loss = loss * np.exp(noise * rng.standard_normal(points))
            frames.append(pd.DataFrame({"run": f"N{i}-H{j}", "N": N, "D": D, "loss": loss, "horizon": H}))
    return pd.concat(frames, ignore_index=True)
