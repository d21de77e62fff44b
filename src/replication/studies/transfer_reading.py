"""How far the transfer test's verdicts reach: the shift its design could detect (power), the shift paying for
the prefix predicts, and what confounds the vocabulary comparison. The test itself (design, runs, optima,
verdicts on the article's claims) is :mod:`replication.studies.transfer`.
"""
from __future__ import annotations

import math

import pandas as pd

from replication.corpus.units import bytes_per_token
from replication.errors import ReplicationError
from replication.studies.chinchilla_approach2 import approach2
from replication.studies.stats import paired_power
from replication.studies.transfer_design import TRANSFER, TransferStudy


def predicted_prefix_shift(table: pd.DataFrame, a: float) -> float:
    """The shift of N* (log) that paying for the prefix out of the budget predicts: a run counted as
    C_self + C_cross leaves its body 1/(1 + r) of what C_self counts, r = C_cross / C_self (the median
    over the "prefix, C_self + C_cross" runs), so a law N* ∝ C^a puts N* lower by (1 + r)^a."""
    g = table[table["variant"] == "prefix, C_self + C_cross"]
    if g.empty:
        raise ReplicationError("the table has no 'prefix, C_self + C_cross' runs")
    r = float((g["C_cross"] / g["C_self"]).median())
    return -a * math.log1p(r)


def design_power(shifts: pd.DataFrame, predicted: float | None = None, level: float = 0.95,
                 power: float = 0.8) -> pd.DataFrame:
    """For each comparison of :func:`~replication.studies.transfer.shifts`: the smallest shift of N* (as a
    factor) that its per-seed paired t test detects with probability ``power`` given the spread of its per-seed shifts, and, for
    the prefix rows, its power at the ``predicted`` shift (log; :func:`predicted_prefix_shift`)."""
    rows = []
    for _, r in shifts.iterrows():
        n, sd = int(r["seeds"]), float(r["per-seed sd"])
        detectable = math.nan
        if n >= 2 and sd > 0 and math.isfinite(sd):
            lo, hi = 1e-6, 50 * sd
            if paired_power(n, hi, sd, level) >= power:
                for _ in range(80):  # power grows with the effect: bisect
                    mid = (lo + hi) / 2
                    lo, hi = (lo, mid) if paired_power(n, mid, sd, level) >= power else (mid, hi)
                detectable = math.exp(hi)
        at = (paired_power(n, predicted, sd, level) if predicted is not None and r["comparison"].startswith("prefix, C")
              and n >= 2 and sd > 0 else math.nan)
        rows.append({"comparison": r["comparison"], "seeds": n, "per-seed sd": sd,
                     f"smallest factor detected ({power:.0%} power)": detectable,
                     "power at the predicted shift": at})
    return pd.DataFrame(rows).set_index("comparison")


def law_exponent(study: TransferStudy = TRANSFER, store=None) -> float:
    """a of the design's law (:func:`~replication.studies.transfer_design.law_n_opt`'s: Approach 2, executed
    FLOPs, the paper's parabola)."""
    return float(approach2(study.chinchilla, store, bootstrap=0, estimator="all")["a"])


def vocabulary_confound(study: TransferStudy) -> dict:
    """What else the vocabulary comparison changes, at the middle size: the tied unembedding's share of a
    decoder's executed training FLOPs per token with bytes and with the SentencePiece vocabulary
    (6·d·V of them), and how many times more text (bytes) a SentencePiece run reads per budget than a
    byte run (fewer FLOPs per token is more tokens; each token is several bytes). Both runs take the
    rate the study's rule gives the byte decoder of that width."""
    j = study.middle_rung()
    v = study.vocab_size()
    out = {"width": study.chinchilla.widths[j], "vocab_size": v}
    per_token = {}
    for kind, variant in (("bytes", "decoder"), ("sentencepiece", "decoder, SentencePiece")):
        m = study.config(variant, j, study.seeds[0], v).model
        f = float(m.shape().self_attn_flops("executed"))
        per_token[kind] = f
        out[f"unembedding share, {kind}"] = 6.0 * m.num_channels * m.vocab_size / f
    bpt = float(bytes_per_token(study.chinchilla.corpus, v)["bytes_per_token"])
    out["bytes per SentencePiece token"] = bpt
    out["text per budget, SentencePiece / bytes"] = per_token["bytes"] / per_token["sentencepiece"] * bpt
    return out
