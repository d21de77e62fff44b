"""Krasser's experiment designs, and the tables of his article recomputed from them.

Every experiment starts from a reference Perceiver AR model trained for a given number of steps:
that fixes the latent training tokens ``D_ref = steps * n * B`` and the self-attention budget
``C_ref = self_attn_flops(ref) * D_ref``. Each model of the experiment is then trained on
``D_iso = C_ref / self_attn_flops(model)`` latent tokens, so that all spend the same self-attention
compute (``C_self = C_ref``); the prefix cross-attention comes on top (``C_cross``).

Model 1 is always the reference. The predicted compute-optimal model of Experiment 1 depends on the
accounting: 624/11 in the article as published, 592/10 after Krasser's FLOP correction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from replication.errors import ReplicationError
from replication.estimate.flops import ACCOUNTINGS, ComputeEstimator, Decoder, PerceiverAR, _check_accounting, _check_int

#: Global batch size (sequences) and latent tokens per sequence, in every experiment of the article.
BATCH_SIZE = 80
NUM_LATENTS = 512
#: Fraction of the prefix dropped in training.
PREFIX_DROPOUT = 0.5


@dataclass(frozen=True)
class Experiment:
    """One of the article's experiments: a tokenizer/sequence layout, a reference budget, some models.

    ``models`` are ``(num_channels, num_layers)`` pairs; the first is the reference model, trained for
    ``ref_steps`` steps.
    """

    name: str
    vocab_size: int
    max_seq_len: int
    ref_steps: int
    models: tuple[tuple[int, int], ...]
    labels: tuple[str, ...] = ()
    #: scaling-law approach -> number of the model that approach predicts (1-based, as in the tables)
    predicted: tuple[tuple[int, int], ...] = ()
    accounting: str = "corrected"
    num_latents: int = NUM_LATENTS
    batch_size: int = BATCH_SIZE
    prefix_dropout: float = PREFIX_DROPOUT
    num_heads: int = 8

    def __post_init__(self):
        _check_accounting(self.accounting)
        _check_int("ref_steps", self.ref_steps)
        _check_int("batch_size", self.batch_size)
        if not self.models:
            raise ReplicationError("models is empty; need at least the reference model")
        if self.labels and len(self.labels) != len(self.models):
            raise ReplicationError(f"labels has {len(self.labels)} entries; need one per model ({len(self.models)})")
        for d, L in self.models:  # builds each model once so that bad shapes fail here, not mid-table
            self.estimator.model(d, L)
        self.estimator.cross_attn_flops(self.models[0][0], self.prefix_dropout)

    @property
    def estimator(self) -> ComputeEstimator:
        return ComputeEstimator(self.vocab_size, self.max_seq_len, self.num_latents, self.num_heads, self.accounting)

    @property
    def num_prefix(self) -> int:
        return self.max_seq_len - self.num_latents

    @property
    def d_ref(self) -> int:
        """Latent training tokens of the reference model (prefix tokens do not count)."""
        return self.ref_steps * self.num_latents * self.batch_size

    @property
    def c_ref(self) -> int:
        """The self-attention compute budget every model of the experiment gets."""
        return self.estimator.self_attn_flops(*self.models[0]) * self.d_ref

    def n_opt(self, law) -> float:
        """N_opt of a scaling law (anything with ``.n_opt(C)``) at this experiment's budget C_ref."""
        return float(law.n_opt(self.c_ref))

    def with_accounting(self, accounting: str) -> "Experiment":
        return replace(self, accounting=accounting)

    def setup(self) -> pd.DataFrame:
        """The article's setup table (Tables 1, 3, 5): one row per model, numbered from 1."""
        ce, c_ref = self.estimator, self.c_ref
        rows = []
        for d, L in self.models:
            c_self_per_token = ce.self_attn_flops(d, L)
            d_iso = c_ref / c_self_per_token
            n_cross, n_self = ce.num_cross_attn_params(d), ce.num_self_attn_params(d, L)
            c_self = c_self_per_token * d_iso
            c_cross = ce.cross_attn_flops(d, self.prefix_dropout) * d_iso
            rows.append({
                "num_channels": d,
                "num_layers": L,
                "num_steps": math.ceil(d_iso / self.num_latents / self.batch_size),
                "D_iso": d_iso,
                "N": n_cross + n_self,
                "N_cross": n_cross,
                "N_self": n_self,
                "C": c_cross + c_self,
                "C_cross": c_cross,
                "C_self": c_self,
                "C_self_hat": 6 * n_self * d_iso,  # Kaplan's 6N approximation of C_self
            })
        df = pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="model"))
        if self.labels:
            df.insert(0, "label", list(self.labels))
        return df

    def ratios(self) -> pd.DataFrame:
        """The article's ratio table (Tables 2, 4): cross-attention shares and C_self / 6 N_self D."""
        s = self.setup()
        return pd.DataFrame({
            "N_cross/N": s["N_cross"] / s["N"],
            "C_cross/C": s["C_cross"] / s["C"],
            "C_self/C_self_hat": s["C_self"] / s["C_self_hat"],
        }, index=s.index)


#: The designs as in the article. Experiment 1's predicted model changed with the FLOP correction.
_DESIGNS = {
    "1": dict(vocab_size=32000, max_seq_len=2048, ref_steps=50000,
              models={"article": ((512, 9), (624, 11), (728, 13)),
                      "corrected": ((512, 9), (592, 10), (728, 13))},
              labels=("Model 1 (ref)", "Model 2 (opt)", "Model 3"), predicted=((2, 2),)),
    "2a": dict(vocab_size=262, max_seq_len=4096, ref_steps=26144,
               models=((512, 9), (584, 10), (584, 9), (432, 7), (768, 13)),
               labels=("Model 1 (ref)", "Model 2 (opt 2)", "Model 3 (opt 1)", "Model 4", "Model 5"),
               predicted=((1, 3), (2, 2))),
    "2b": dict(vocab_size=262, max_seq_len=2048, ref_steps=26144,
               models=((512, 9), (584, 10)),
               labels=("Model 1 (ref)", "Model 2 (opt)"), predicted=((2, 2),)),
}
EXPERIMENTS = tuple(_DESIGNS)


def experiment(name: str, accounting: str = "corrected") -> Experiment:
    """The article's Experiment ``name`` ("1", "2a", "2b") under an accounting."""
    if name not in _DESIGNS:
        raise ReplicationError(f"experiment={name!r} is not known; choose one of: {', '.join(EXPERIMENTS)}")
    _check_accounting(accounting)
    design = dict(_DESIGNS[name])
    if isinstance(design["models"], dict):
        design["models"] = design["models"][accounting]
    return Experiment(name=name, accounting=accounting, **design)


#: Article table number -> (experiment, which table).
_TABLES = {1: ("1", "setup"), 2: ("1", "ratios"), 3: ("2a", "setup"), 4: ("2a", "ratios"), 5: ("2b", "setup")}


def article_table(number: int, accounting: str = "article") -> pd.DataFrame:
    """Table ``number`` (1-5) of Krasser's article, recomputed under ``accounting``."""
    if number not in _TABLES:
        raise ReplicationError(f"number={number!r} is out of range; allowed: 1..5")
    name, kind = _TABLES[number]
    return getattr(experiment(name, accounting), kind)()


def formatted(df: pd.DataFrame) -> pd.DataFrame:
    """Strings as the article prints them: counts of steps and shapes as integers, the rest as 3
    significant figures (``5.78e+17``), ratios to 4 decimals."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        if col in ("label", "num_channels", "num_layers", "num_steps"):
            out[col] = df[col].astype(str)
        elif "/" in col:
            out[col] = df[col].map(lambda x: f"{x:.4f}")
        else:
            out[col] = df[col].map(lambda x: f"{x:.2e}")
    return out


def closest_model(estimator: ComputeEstimator, n_opt: float, num_layers: int, multiple: int = 8) -> tuple[int, int]:
    """The (num_channels, N_self) with ``num_layers`` layers whose N_self is nearest to ``n_opt``.

    Channels are searched in steps of ``multiple`` (which must be a multiple of the number of heads).
    Krasser chose models by hand, close to but not always nearest to N_opt; this shows the candidates.
    """
    _check_int("num_layers", num_layers)
    _check_int("multiple", multiple)
    if multiple % estimator.num_heads:
        raise ReplicationError(f"multiple={multiple} must be a multiple of num_heads={estimator.num_heads}")
    if not n_opt > 0:
        raise ReplicationError(f"n_opt={n_opt!r} must be > 0")
    # N_self grows like 12 L d^2, so the answer lies near this d; search a window around it
    guess = max(multiple, int(math.sqrt(n_opt / (12 * num_layers))) // multiple * multiple)
    candidates = range(max(multiple, guess - 64 * multiple), guess + 64 * multiple + 1, multiple)
    best = min(candidates, key=lambda d: abs(estimator.num_self_attn_params(d, num_layers) - n_opt))
    return best, estimator.num_self_attn_params(best, num_layers)


def predictions() -> pd.DataFrame:
    """For each experiment, accounting and scaling-law approach: C_ref, N_opt and the model chosen.

    The laws come from the fitters (:func:`replication.fit.laws.chinchilla_law`).
    """
    from replication.fit.laws import chinchilla_law

    laws = {approach: chinchilla_law(approach) for approach in (1, 2)}
    rows = []
    for name in EXPERIMENTS:
        for acc in ACCOUNTINGS:
            exp = experiment(name, acc)
            for approach, number in exp.predicted:
                d, L = exp.models[number - 1]
                n_opt = exp.n_opt(laws[approach])
                n_self = exp.estimator.num_self_attn_params(d, L)
                rows.append({"experiment": name, "accounting": acc, "approach": approach,
                             "C_ref": float(exp.c_ref), "N_opt": n_opt, "model": f"{d}/{L}",
                             "N_self": n_self, "N_self/N_opt": n_self / n_opt})
    return pd.DataFrame(rows)


def accounting_shift(approach: int = 2) -> pd.DataFrame:
    """C_ref and N_opt of each experiment under both accountings (the laws come from the fitters)."""
    from replication.fit.laws import chinchilla_law

    law = chinchilla_law(approach)
    rows = []
    for name in EXPERIMENTS:
        for acc in ACCOUNTINGS:
            exp = experiment(name, acc)
            rows.append({"experiment": name, "accounting": acc, "C_ref": float(exp.c_ref),
                         "N_opt": exp.n_opt(law)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# Helpers for the chapter "Counting FLOPs"


def both_accountings(number: int) -> pd.DataFrame:
    """Article table ``number`` under both accountings, stacked (index: accounting, model)."""
    return pd.concat({acc: article_table(number, acc) for acc in ACCOUNTINGS}, names=["accounting", "model"])


def accounting_terms(model: PerceiverAR, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
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
            m = PerceiverAR(V, max_seq_len, num_latents, d, L)
            for acc in ACCOUNTINGS:
                rows.append({"vocab_size": V, "num_channels": d, "num_layers": L, "N_self": m.num_self_attn_params,
                             "accounting": acc, "C_self/6N_self": m.self_attn_flops(acc) / m.self_attn_flops_6n()})
    return pd.DataFrame(rows)


def cross_shares(vocab_size: int, num_channels: int, num_layers: int, prefix_lengths,
                 num_latents: int = NUM_LATENTS, prefix_dropout: float = PREFIX_DROPOUT) -> pd.DataFrame:
    """C_cross / C for one model shape as the prefix grows, in both accountings."""
    rows = []
    for P in prefix_lengths:
        m = PerceiverAR(vocab_size, num_latents + int(P), num_latents, num_channels, num_layers)
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
