"""The FLOP accountings compared (the flops chapter): Krasser's article and his correction term by term, how
the self-attention count compares with 6N across shapes, what the prefix costs, every printed cell of the
article's Tables 1-5 and every ratio of Chinchilla's Table A4 recomputed, and which budget a Chinchilla law
must be given.

- :func:`accounting_terms`, :func:`self_flops_ratios`, :func:`cross_shares`: the counts, term by term and
  across shapes and prefixes.
- :func:`article_cells`, :func:`verdicts`: the printed tables checked (holds / differs).
- :func:`convention_pairings`, :func:`nearest_shapes`: the law's N_opt under each way of counting a budget.
"""
from __future__ import annotations

import math

import pandas as pd

from replication.errors import ReplicationError, check_int
from replication.counting import ACCOUNTINGS, ComputeEstimator, PerceiverARShape, table_a4_matches
from replication.fit.laws import chinchilla_law
from replication.papers import krasser
from replication.papers.krasser import NUM_LATENTS, PREFIX_DROPOUT
from replication.studies import krasser_design
from replication.verdict import DIFFERS, HOLDS, Verdict

#: the order of the terms in :func:`accounting_terms`
_TERM_ORDER = ("embedding", "prefix_embedding", "weights", "prefix_kv", "attention_logits", "attention_softmax",
               "attention_reduction", "final_logits")


def accounting_terms(model: PerceiverARShape, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
    """Training FLOPs per latent token of one model, term by term (index: part, term), in both accountings
    (0 where an accounting leaves a term out)."""
    rows = {}
    for acc in ACCOUNTINGS:
        terms = {("self", k): 3 * v for k, v in model.self_attn_terms(acc).items()}
        terms |= {("cross", k): 3 * v for k, v in model.cross_attn_terms(prefix_dropout, acc).items()}
        rows[acc] = terms
    df = pd.DataFrame(rows).fillna(0.0)
    df.index.names = ["part", "term"]
    return df.sort_index(key=lambda idx: idx.map(lambda t: _TERM_ORDER.index(t) if t in _TERM_ORDER else -1)
                         if idx.name == "term" else idx.map({"self": 0, "cross": 1}))


def self_flops_ratios(vocab_sizes, shapes, max_seq_len: int = 2048, num_latents: int = NUM_LATENTS) -> pd.DataFrame:
    """C_self / 6 N_self for models of the given (num_channels, num_layers) shapes, per vocabulary and
    accounting (the ratio per token equals the ratio per run, C_self / Ĉ_self)."""
    if len(vocab_sizes) == 0:
        raise ReplicationError("vocab_sizes is empty; allowed: one or more vocabulary sizes >= 1")
    rows = []
    for V in vocab_sizes:
        for d, L in krasser_design.check_models(shapes, "shapes"):
            m = PerceiverARShape(V, max_seq_len, num_latents, d, L)
            for acc in ACCOUNTINGS:
                rows.append({"vocab_size": V, "num_channels": d, "num_layers": L, "N_self": m.num_self_attn_params,
                             "accounting": acc, "C_self/6N_self": m.self_attn_flops(acc) / m.self_attn_flops_6n()})
    return pd.DataFrame(rows)


def cross_shares(vocab_size: int, num_channels: int, num_layers: int, prefix_lengths,
                 num_latents: int = NUM_LATENTS, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
    """C_cross / C for one model shape as the prefix grows, in both accountings."""
    if len(prefix_lengths) == 0:
        raise ReplicationError("prefix_lengths is empty; allowed: one or more prefix lengths >= 0")
    rows = []
    for P in prefix_lengths:
        P = check_int("prefix_lengths entry", P, 0)
        m = PerceiverARShape(vocab_size, num_latents + P, num_latents, num_channels, num_layers)
        for acc in ACCOUNTINGS:
            c_self, c_cross = m.self_attn_flops(acc), m.cross_attn_flops(prefix_dropout, acc)
            rows.append({"prefix_length": int(P), "accounting": acc, "C_cross/C": c_cross / (c_self + c_cross)})
    return pd.DataFrame(rows)


def article_cells() -> pd.DataFrame:
    """Every printed cell of the article's Tables 1-5 but the channels and layers (which define the models)
    against our estimator, printed the article's way (3 significant figures, ratios to 4 decimals): per
    table, the cells and how many give the printed digits under each accounting."""
    rows = []
    for number, printed in krasser.TABLES.items():
        cols = [c for c in printed.columns if c not in ("num_channels", "num_layers")]
        row = {"table": number, "experiment": krasser.TABLE_EXPERIMENT[number], "cells": printed[cols].size}
        for acc in ACCOUNTINGS:
            got = krasser_design.formatted(krasser_design.article_table(number, acc))
            row[acc] = int(sum(got.loc[i, c] == printed.loc[i, c] for i in printed.index for c in cols))
        rows.append(row)
    return pd.DataFrame(rows)


def verdicts(cells: pd.DataFrame | None = None, a4: dict | None = None) -> list[Verdict]:
    """Krasser's Tables 1-5 (:func:`article_cells`) and Chinchilla's Table A4
    (:func:`~replication.counting.table_a4_matches`), recomputed: each *holds* when every printed number
    comes back, Table A4 in the reading that leaves the embeddings and final logits out of the FLOPs."""
    cells = article_cells() if cells is None else cells
    a4 = table_a4_matches() if a4 is None else a4
    n, match, kept = int(cells["cells"].sum()), int(cells["article"].sum()), int(cells["corrected"].sum())
    return [
        Verdict(claim="Krasser's Tables 1 to 5 print the steps, tokens, parameters and FLOPs of every model.",
                outcome=HOLDS if match == n else DIFFERS, test="every printed cell recomputed, to its digits",
                paper=n, ours=match, n=n, unit="cells",
                finding=f"Our estimator gives {match} of {n} cells as printed; his correction changes all but {kept}."),
        Verdict(claim=f"Chinchilla's Table A4 prints FLOPs over 6ND for {a4['rows']} shapes.",
                outcome=HOLDS if a4["table_a4"] == a4["rows"] else DIFFERS,
                test="every printed ratio recomputed, to two decimals", paper=a4["rows"], ours=a4["table_a4"],
                n=a4["rows"], unit="rows",
                finding=(f"{a4['table_a4']} of {a4['rows']} come back without the embedding and logit FLOPs, "
                         f"{a4['appendix_f']} as Appendix F counts them.")),
    ]


def convention_pairings(names=("1", "2a", "2b"), approach: int = 2) -> pd.DataFrame:
    """N_opt of a Chinchilla law (the prefactor fit to Table 3 or A3, ``approach`` 1 or 2) at each
    experiment's reference budget, with that budget counted three ways: the self-attention FLOPs of
    the article's accounting, of the corrected one, and 6·N_self·D_ref, the convention of the tables
    the law was fitted to (their C is 6ND with N all parameters, embeddings included).

    For each: the budget's ratio to 6·N_self·D_ref, N_opt, the nearest of the experiment's trained
    models (both accountings' designs, by log N_self) and the closest shape with that model's depth.
    """
    law = chinchilla_law(approach)
    rows = []
    for name in names:
        exp = {acc: krasser_design.experiment(name, acc) for acc in ACCOUNTINGS}
        ce = exp["corrected"].estimator  # parameter counts are the same in both accountings
        d0, l0 = exp["corrected"].models[0]
        c_6nd = 6 * ce.num_self_attn_params(d0, l0) * exp["corrected"].d_ref
        shapes = sorted({m for e in exp.values() for m in e.models}, key=lambda m: ce.num_self_attn_params(*m))
        budgets = {"article C_self": exp["article"].c_ref, "corrected C_self": exp["corrected"].c_ref,
                   "6 N_self D (the law's)": c_6nd}
        for counted, C in budgets.items():
            n_opt = float(law.n_opt(C))
            d, L = min(shapes, key=lambda m: abs(math.log(ce.num_self_attn_params(*m) / n_opt)))
            best_d, best_n = krasser_design.closest_model(ce, n_opt, L)
            rows.append({"experiment": name, "budget counted as": counted, "C_ref": float(C), "C_ref / 6ND": C / c_6nd,
                         "N_opt": n_opt, "nearest trained model": f"{d}/{L}",
                         "its N_self / N_opt": ce.num_self_attn_params(d, L) / n_opt,
                         "closest shape": f"{best_d}/{L}", "consistent with the law": counted.startswith("6 N")})
    return pd.DataFrame(rows).set_index(["experiment", "budget counted as"])


def nearest_shapes(choices=(("article", 11), ("corrected", 10)), approach: int = 2) -> pd.DataFrame:
    """Experiment 1: N_opt under each accounting (of the given (accounting, layers) choices) and the shape
    with that many layers, channels a multiple of 8, whose self-attention parameters lie nearest to it."""
    law = chinchilla_law(approach)
    rows = []
    for acc, layers in choices:
        exp = krasser_design.experiment("1", acc)
        n_opt = exp.n_opt(law)
        d, n = krasser_design.closest_model(ComputeEstimator(exp.vocab_size, exp.max_seq_len, exp.num_latents,
                                                             accounting=acc), n_opt, layers)
        rows.append({"accounting": acc, "N_opt": n_opt, "layers": layers, "channels": d, "N_self": n})
    return pd.DataFrame(rows)
