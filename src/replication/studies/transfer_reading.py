"""What the transfer test's results say of the article's claims: each comparison's outcome against the claim,
the shift its design could detect (power), the shift paying for the prefix predicts, and what confounds the
vocabulary comparison. The test itself (design, runs, optima, verdicts) is :mod:`replication.studies.transfer`.
"""
from __future__ import annotations

import math

import pandas as pd

from replication.errors import ReplicationError, check_choice
from replication.studies.stats import INCONCLUSIVE, paired_power
from replication.studies.transfer import TRANSFER, TransferStudy


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


def article_outcome(row) -> str:
    """The verdict on the article's claim for one row of :func:`replication.studies.transfer.verdicts`, whose
    outcome speaks to "the shift is not zero" ("agrees": it moves; "disagrees": it stays within the margin)."""
    _, sign = ARTICLE[check_choice("comparison", row["comparison"], tuple(ARTICLE))]
    if sign is None:
        return "no claim"
    if row["outcome"].startswith(INCONCLUSIVE):
        return row["outcome"]
    moved = row["outcome"] == "agrees"
    if sign == 0:
        return "disagrees" if moved else "agrees"
    return "agrees" if moved and (row["low"] > 0) == (sign > 0) else "disagrees"


def predicted_prefix_shift(table: pd.DataFrame, a: float) -> float:
    """The shift of N* (log) that paying for the prefix out of the budget predicts: a run counted as
    C_self + C_cross leaves its body 1/(1 + r) of what C_self counts, r = C_cross / C_self (the median
    over the "prefix, C_self + C_cross" runs), so a law N* ∝ C^a puts N* lower by (1 + r)^a."""
    g = table[table["variant"] == "prefix, C_self + C_cross"]
    if g.empty:
        raise ReplicationError("the table has no 'prefix, C_self + C_cross' runs")
    r = float((g["C_cross"] / g["C_self"]).median())
    return -a * math.log1p(r)


def design_power(verdicts_table: pd.DataFrame, predicted: float | None = None, level: float = 0.95,
                 power: float = 0.8) -> pd.DataFrame:
    """For each comparison of :func:`verdicts`: the smallest shift of N* (as a factor) that its per-seed
    paired t test detects with probability ``power`` given the spread of its per-seed shifts, and, for
    the prefix rows, its power at the ``predicted`` shift (log; :func:`predicted_prefix_shift`)."""
    rows = []
    for _, r in verdicts_table.iterrows():
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


def law_exponent(transfer: TransferStudy = TRANSFER, root=None) -> float:
    """a of the design's law (:func:`law_n_opt`'s: Approach 2, executed FLOPs, the paper's parabola)."""
    from replication.studies.chinchilla import approach2

    return float(approach2(transfer.study, root, bootstrap=0, estimator="all")["a"])


def vocabulary_confound(transfer: TransferStudy, n_opt: float) -> dict:
    """What else the vocabulary comparison changes, at the middle size: the tied unembedding's share of a
    decoder's executed training FLOPs per token with bytes and with the SentencePiece vocabulary
    (6·d·V of them), and how many times more text (bytes) a SentencePiece run reads per budget than a
    byte run (fewer FLOPs per token is more tokens; each token is several bytes). Both runs take the
    rate the study's rule gives the byte decoder of that width."""
    from replication.corpus.units import bytes_per_token

    j = transfer.middle_rung(n_opt)
    v = transfer.vocab_size(n_opt)
    out = {"width": transfer.study.widths[j], "vocab_size": v}
    per_token = {}
    for kind, variant in (("bytes", "decoder"), ("sentencepiece", "decoder, SentencePiece")):
        m = transfer.config(variant, j, transfer.seeds[0], v).model
        f = float(m.shape().self_attn_flops("executed"))
        per_token[kind] = f
        out[f"unembedding share, {kind}"] = 6.0 * m.num_channels * m.vocab_size / f
    bpt = float(bytes_per_token(transfer.study.corpus if hasattr(transfer.study, "corpus") else "kjv", v)
                ["bytes_per_token"])
    out["bytes per SentencePiece token"] = bpt
    out["text per budget, SentencePiece / bytes"] = per_token["bytes"] / per_token["sentencepiece"] * bpt
    return out
