"""Counting FLOPs: the term-by-term tables and the figures of the flops chapter."""
from __future__ import annotations

import pandas as pd

from replication.estimate import ACCOUNTINGS, Decoder, PerceiverARShape
from replication.sources.krasser import NUM_LATENTS, PREFIX_DROPOUT


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
    rows = []
    for V in vocab_sizes:
        for d, L in shapes:
            m = PerceiverARShape(V, max_seq_len, num_latents, d, L)
            for acc in ACCOUNTINGS:
                rows.append({"vocab_size": V, "num_channels": d, "num_layers": L, "N_self": m.num_self_attn_params,
                             "accounting": acc, "C_self/6N_self": m.self_attn_flops(acc) / m.self_attn_flops_6n()})
    return pd.DataFrame(rows)


def cross_shares(vocab_size: int, num_channels: int, num_layers: int, prefix_lengths,
                 num_latents: int = NUM_LATENTS, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
    """C_cross / C for one model shape as the prefix grows, in both accountings."""
    rows = []
    for P in prefix_lengths:
        m = PerceiverARShape(vocab_size, num_latents + int(P), num_latents, num_channels, num_layers)
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
