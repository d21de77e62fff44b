"""The Perceiver AR transfer test in the shape every study has (:mod:`replication.studies.runs`): the design
(:class:`~replication.studies.transfer_design.TransferStudy`, :data:`TRANSFER`) → its configs → :func:`missing`
and :func:`train_missing` → :func:`runs_table` → :func:`verdicts`, the article's claims against our runs.

Each variant's compute-optimal size is the vertex of a parabola in log N through its sizes (mean loss over
seeds); a vertex outside the sizes trained is reported as "outside the trained range", never as a number
(:func:`optima`). A comparison (:data:`COMPARISONS`) is a shift of that vertex, log(N*_variant /
N*_reference), with a paired bootstrap over seeds (the same resampled seeds for every variant, both parabolas
refitted) and a paired t test of the per-seed shifts (one parabola per seed and variant). The shift test
(:func:`shifts`) reads each comparison as

- *moves*: the ``level`` bootstrap interval of the shift excludes 0, and so does the t test;
- *within the margin*: both intervals lie inside (-margin, +margin) (default one ladder rung, a factor
  sqrt 2 in N), with every vertex interior in at least ``level`` of the resamples;
- *inconclusive (n seeds, power p)*: neither; ``p`` is the power of the per-seed t test to find a shift the
  size of the one observed.

and the article's claim of the comparison (:data:`ARTICLE`) *agrees* with it, *disagrees* or is
*inconclusive* accordingly: the claim that the prefix leaves N* where it is agrees with "within the margin",
the claim that the vocabulary moves it agrees with "moves" in the claimed direction.

Why both tests: with 4 seeds a percentile bootstrap is too narrow. On fake stores with no shift at
all (the fake tables of tests/test_transfer.py) its 95% interval excluded 0 in 18% of 300 comparisons (noise 0.001
nats per run) and 15% (0.01 nats); with the t test required as well, 4.3% and 2.7%.
A resample whose vertex falls outside the trained range takes the end of the range with the lower
loss: that only shrinks a two-variant shift towards 0, so "moves" stays conservative; comparisons of
more variants (the interaction) need interior vertices in ``level`` of the resamples for any reading.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.studies.runs import missing, summaries, train_missing
from replication.studies.stats import paired_test, power_of
from replication.studies.transfer_design import COMPARISONS, TRANSFER, VARIANTS, TransferStudy, law_n_opt
from replication.verdict import AGREES, DISAGREES, INCONCLUSIVE, Verdict

__all__ = ["ARTICLE", "COMPARISONS", "SIZES", "TRANSFER", "VARIANTS", "TransferStudy", "law_n_opt", "missing",
           "optima", "profiles", "runs_table", "shifts", "size_tests", "train_missing", "verdicts"]

#: comparison -> (what the article says of it, the sign of the shift it implies: 0 none, +1 a larger N*
#: for the first variant, None no claim)
ARTICLE = {
    "prefix, C_self": ("a law for decoder-only models, applied with C counted as self-attention compute "
                       "only, predicts Perceiver AR's optimum: the prefix does not move N*", 0),
    "prefix, C_self + C_cross": ("no claim (the article counts C_self); shown for the other way of counting", None),
    "prefix, SentencePiece": ("the law's prediction holds with a SentencePiece vocabulary (Experiment 1)", 0),
    "vocabulary, decoder": ("with bytes the law overestimates N_opt (Experiment 2): the bytes optimum lies "
                            "below the SentencePiece one", 1),
    "vocabulary x prefix": ("the vocabulary, not the prefix, explains Experiment 2 (Experiment 2b): the "
                            "vocabulary does not change what the prefix does", 0),
}

#: The shift test's readings besides *inconclusive*.
MOVES, WITHIN = "moves", "within the margin"


def runs_table(study: TransferStudy = TRANSFER, store=None) -> pd.DataFrame:
    """One row per (variant, size, seed): the final loss and what the run recorded. One line naming
    the first missing run otherwise."""
    runs = study.runs()
    rows = []
    for (x, j, s, cfg), sm in zip(runs, summaries([r[-1] for r in runs], store, "the transfer test")):
        shape = cfg.model.shape()
        if sm["num_params"] != shape.num_params:
            raise ReplicationError(f"run {cfg.run_id()}: {sm['num_params']} parameters, design says {shape.num_params}")
        rows.append({"variant": x, "rung": j, "width": cfg.model.num_channels, "seed": s, "N": shape.num_params,
                     "N_self": shape.num_self_attn_params,
                     "N_body": shape.num_self_attn_params - cfg.model.vocab_size * cfg.model.num_channels,
                     "V": cfg.model.vocab_size, "P": cfg.model.num_prefix, "tokenizer": cfg.tokenizer,
                     "steps": sm["steps"], "C_self": sm["C_self"], "C_cross": sm["C_cross"],
                     "loss": sm["final_val_loss"], "wall_s": sm["wall_s"], "run_id": cfg.run_id()})
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


def _parabolas(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(c0, c1, c2) per row of ``y`` (sets, sizes): the least-squares parabola in ``x`` centred on its mean."""
    u = x - x.mean()  # centred for conditioning
    return (y @ np.linalg.pinv(np.c_[np.ones_like(u), u, u * u]).T).T


def _argmin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least-squares parabola in ``x`` through each row of ``y`` (sets, sizes): where it is lowest
    within [min x, max x], and where that is: 0 at an interior vertex, -1 the smallest size, +1 the largest.

    A variant has 3 sizes (the factors ½, 1, 2 of N_opt): too few for the default estimator of
    :mod:`replication.fit.vertex` (the profile form has 5 constants), and the window estimator's
    parabola on 3 sizes is this one. They span 0.6 decades around the optimum, narrow enough that the
    all-points parabola's bias on wide, lopsided profiles does not arise."""
    u = x - x.mean()
    c0, c1, c2 = _parabolas(x, y)
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
    where it lies instead) and the parabola's loss there (``loss_star``), the bootstrap interval over seeds
    (from interior resamples only) and the share of interior resamples."""
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
        c0, c1, c2 = _parabolas(x, y.mean(1)[None, :])[:, 0]
        u = at[0] - x.mean()
        rows.append({"variant": variant, "N_star": math.exp(at[0]) if side[0] == 0 else math.nan,
                     "loss_star": c0 + c1 * u + c2 * u * u if side[0] == 0 else math.nan,
                     "where": _where(side[0]), "N_star low": low, "N_star high": high,
                     "interior share": float((b_side == 0).mean()), "seeds": len(seeds)})
    return pd.DataFrame(rows)


def profiles(table: pd.DataFrame, size: str = "N_self", points: int = 60) -> pd.DataFrame:
    """Per variant, the parabola :func:`optima` fits through the mean loss over seeds, at ``points`` sizes
    from the smallest to the largest trained (``N``, ``loss``), for a figure."""
    check_choice("size", size, SIZES)
    frames = []
    for variant in table["variant"].unique():
        x, y, _ = _grid(table, variant, size)
        c0, c1, c2 = _parabolas(x, y.mean(1)[None, :])[:, 0]
        grid = np.linspace(x.min(), x.max(), points)
        u = grid - x.mean()
        frames.append(pd.DataFrame({"variant": variant, "N": np.exp(grid), "loss": c0 + c1 * u + c2 * u * u}))
    return pd.concat(frames, ignore_index=True)


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


def shifts(table: pd.DataFrame, margin: float = math.log(2) / 2, bootstrap: int = 2000, seed: int = 0,
           level: float = 0.95, size: str = "N_self") -> pd.DataFrame:
    """Per comparison of :data:`COMPARISONS` whose variants are in ``table``: the shift
    log(N*_variant / N*_reference) (NaN unless every vertex is interior), its paired-bootstrap interval,
    the shift test's reading (``shift test``: moves, within the margin, or inconclusive; see the module's
    docstring), the paired t test of the per-seed shifts, and the article's claim against it (``verdict``,
    a :class:`~replication.verdict.Verdict`; None where the article makes no claim). ``size``: how N* is
    counted (:data:`SIZES`); the vocabulary rows differ between the two, since at one width a larger
    vocabulary adds its embedding to N_self."""
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
            reading = MOVES
        elif (point_in[0] and share >= level and -margin < low and high < margin
              and -margin < t.low and t.high < margin):
            reading = WITHIN
        else:
            reading = INCONCLUSIVE
        row = {"comparison": name, "shift": float(point[0]) if point_in[0] else math.nan,
               "ratio": math.exp(point[0]) if point_in[0] else math.nan, "low": float(low),
               "high": float(high), "interior share": share, "seeds": len(seeds),
               "per-seed t": str(t).replace(" nats", ""), "per-seed low": t.low, "per-seed high": t.high,
               "per-seed p": t.p, "per-seed sd": t.sd, "power": power_of(t, level)}
        row["shift test"] = (f"{INCONCLUSIVE} ({len(seeds)} seeds, power {row['power']:.2f})"
                             if reading == INCONCLUSIVE else reading)
        row["verdict"] = _article_verdict(row, reading, level)
        rows.append(row)
    return pd.DataFrame(rows)


def _article_verdict(row: dict, reading: str, level: float) -> Verdict | None:
    """The article's claim of one comparison (:data:`ARTICLE`) against the shift test's ``reading``."""
    claim, sign = ARTICLE[row["comparison"]]
    if sign is None:
        return None
    if reading == INCONCLUSIVE:
        outcome = INCONCLUSIVE
    elif sign == 0:
        outcome = AGREES if reading == WITHIN else DISAGREES
    else:
        outcome = AGREES if reading == MOVES and (row["low"] > 0) == (sign > 0) else DISAGREES
    ratio = "outside the trained range" if not math.isfinite(row["ratio"]) else f"{row['ratio']:.2f}"
    finding = (f"We find N* multiplied by {ratio} ({math.exp(row['low']):.2f} to {math.exp(row['high']):.2f}, "
               f"{level:.0%} interval), {row['seeds']} paired seeds.")
    return Verdict(claim=f"The article says {claim}.", outcome=outcome,
                   test=f"paired bootstrap over seeds and a paired t test of the per-seed shifts ({level:.0%})",
                   paper=float(sign), ours=row["ratio"], interval=(math.exp(row["low"]), math.exp(row["high"])),
                   n=row["seeds"], power=row["power"], p_value=row["per-seed p"], finding=finding)


def verdicts(study: TransferStudy, table: pd.DataFrame, margin: float = math.log(2) / 2, bootstrap: int = 2000,
             seed: int = 0, level: float = 0.95, size: str = "N_self") -> list[Verdict]:
    """The article's claims against the test (:func:`shifts`), in the order of :data:`COMPARISONS`: the
    prefix under C_self first. ``study``, the design that ``table`` (:func:`runs_table`) recorded."""
    return [v for v in shifts(table, margin, bootstrap, seed, level, size)["verdict"] if v is not None]
