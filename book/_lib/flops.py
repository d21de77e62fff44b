"""Counting FLOPs: the term-by-term tables and the figures of the flops chapter."""
from __future__ import annotations

import pandas as pd

from replication.errors import ReplicationError, check_int
from replication.estimate import ACCOUNTINGS, Decoder, PerceiverARShape
from replication.sources.krasser import NUM_LATENTS, PREFIX_DROPOUT
from replication.studies.krasser_design import check_models


def accounting_terms(model: PerceiverARShape, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
    """Training FLOPs per latent token of one model, term by term, in both accountings (0 = not counted)."""
    rows = {}
    for acc in ACCOUNTINGS:
        terms = {("self", k): 3 * v for k, v in model.self_attn_terms(acc).items()}
        terms |= {("cross", k): 3 * v for k, v in model.cross_attn_terms(prefix_dropout, acc).items()}
        rows[acc] = terms
    df = pd.DataFrame(rows).fillna(0.0)
    df.index.names = ["part", "term"]
    order = ["embedding", "prefix_embedding", "weights", "prefix_kv", "attention_logits", "attention_softmax",
             "attention_reduction", "final_logits"]
    return df.sort_index(key=lambda idx: idx.map(lambda t: order.index(t) if t in order else -1)
                         if idx.name == "term" else idx.map({"self": 0, "cross": 1}))


def appendix_f_terms(model: Decoder) -> pd.DataFrame:
    """Training FLOPs per token of a decoder-only model, term by term, and whether Appendix F as
    written and the Table-A4-matching variant count each term."""
    s = model.seq_len
    terms = {k: 3 * v // s for k, v in model.forward_terms().items()}  # every term carries a factor s
    total = sum(terms.values())
    df = pd.DataFrame({"training FLOPs per token": terms, "share": {k: v / total for k, v in terms.items()}})
    df["appendix_f"] = True
    df["table_a4"] = ~df.index.isin(["embeddings", "final_logits"])
    df.index.name = "term"
    return df


def self_flops_ratios(vocab_sizes, shapes, max_seq_len: int = 2048, num_latents: int = NUM_LATENTS) -> pd.DataFrame:
    """C_self / 6 N_self for models of the given (num_channels, num_layers) shapes, per vocabulary and
    accounting (the ratio per token equals the ratio per run, C_self / Ĉ_self)."""
    if len(vocab_sizes) == 0:
        raise ReplicationError("vocab_sizes is empty; allowed: one or more vocabulary sizes >= 1")
    rows = []
    for V in vocab_sizes:
        for d, L in check_models(shapes, "shapes"):
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


def plot_self_flops_ratios(df: pd.DataFrame):
    """One panel per vocabulary: C_self / 6 N_self against N_self, a line per accounting."""
    import matplotlib.pyplot as plt

    vocabs = sorted(df["vocab_size"].unique())
    fig, axes = plt.subplots(1, len(vocabs), figsize=(5 * len(vocabs), 3.6), sharey=True, squeeze=False)
    for ax, V in zip(axes[0], vocabs):
        for acc, style in zip(ACCOUNTINGS, ("o--", "s-")):
            part = df[(df["vocab_size"] == V) & (df["accounting"] == acc)]
            ax.plot(part["N_self"], part["C_self/6N_self"], style, label=acc)
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("$N_{self}$ (parameters)")
        ax.set_title(f"V = {V:,}")
    axes[0][0].set_ylabel(r"$C_{self} / 6 N_{self}$ per token")
    axes[0][0].legend()
    fig.tight_layout()
    return fig


def plot_cross_shares(frames: dict, marks=(1536, 3584)):
    """C_cross / C against prefix length; ``frames`` maps a label to a :func:`cross_shares` frame.

    A colour per frame, a line style per accounting; ``marks`` are prefix lengths to flag (the article's).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, (label, df) in enumerate(frames.items()):
        for acc, style in zip(ACCOUNTINGS, ("--", "-")):
            part = df[df["accounting"] == acc]
            # corrected curves of different vocabularies coincide; markers of shrinking size keep both visible
            marker = dict(marker="o", markersize=7 - 3 * i, fillstyle="none") if acc == "corrected" else {}
            ax.plot(part["prefix_length"], 100 * part["C_cross/C"], style, color=f"C{i}", label=f"{label}, {acc}",
                    **marker)
    for P in marks:
        ax.axvline(P, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("prefix length P (tokens)")
    ax.set_ylabel(r"$C_{cross} / C$ (%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def convention_pairings(names=("1", "2a", "2b"), approach: int = 2) -> pd.DataFrame:
    """N_opt of a Chinchilla law (the prefactor fit to Table 3 or A3, ``approach`` 1 or 2) at each
    experiment's reference budget, with that budget counted three ways: the self-attention FLOPs of
    the article's accounting, of the corrected one, and 6·N_self·D_ref, the convention of the tables
    the law was fitted to (their C is 6ND with N all parameters, embeddings included).

    For each: the budget's ratio to 6·N_self·D_ref, N_opt, the nearest of the experiment's trained
    models (both accountings' designs, by log N_self) and the closest shape with that model's depth.
    """
    import math

    from replication.fit.laws import chinchilla_law
    from replication.studies import krasser_design

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


def glue_conventions(table: pd.DataFrame) -> dict:
    """Glue the numbers the convention section's prose quotes (from :func:`convention_pairings`)."""
    from myst_nb import glue

    art, cor, law = "article C_self", "corrected C_self", "6 N_self D (the law's)"
    v = {}
    for name, key in (("1", "e1"), ("2a", "e2a")):
        t = table.loc[name]
        v[f"fc_{key}_ratio_cor"] = float(t.loc[cor, "C_ref / 6ND"])
        v[f"fc_{key}_ratio_art"] = float(t.loc[art, "C_ref / 6ND"])
        for label, row in (("art", art), ("cor", cor), ("law", law)):
            v[f"fc_{key}_nopt_{label}"] = float(t.loc[row, "N_opt"]) / 1e6
            v[f"fc_{key}_model_{label}"] = str(t.loc[row, "nearest trained model"])
            v[f"fc_{key}_shape_{label}"] = str(t.loc[row, "closest shape"])
        v[f"fc_{key}_shift"] = float(t.loc[cor, "N_opt"] / t.loc[law, "N_opt"] - 1) * 100
        same = t["nearest trained model"].nunique() == 1
        v[f"fc_{key}_same"] = "the same under every pairing" if same else "not the same under every pairing"
    for k, x in v.items():
        glue(k, x, display=False)
    return v
