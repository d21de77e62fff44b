"""Training FLOPs and parameter counts of a decoder-only transformer shaped like the rows of Chinchilla's
Table A4: the Appendix F terms as written, the variant that reproduces Table A4, Kaplan's ``6N`` and
PaLM's ``6N + 12LHQT``.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from replication.errors import check_choice, check_int
from replication.papers.chinchilla import TABLE_A4

#: Decoder-only accountings (see :meth:`Decoder.flops`).
DECODER_ACCOUNTINGS = ("appendix_f", "table_a4", "6n", "palm")


@dataclass(frozen=True)
class Decoder:
    """A decoder-only transformer shaped like a row of Chinchilla's Table A4.

    ``kv_size`` is the per-head key/value size, so the attention width is ``kv_size * num_heads``
    (equal to ``d_model`` in every Table A4 row).
    """

    num_layers: int
    d_model: int
    ffw_size: int
    num_heads: int
    kv_size: int
    vocab_size: int = 32000
    seq_len: int = 2048

    def __post_init__(self):
        for name in ("num_layers", "d_model", "ffw_size", "num_heads", "kv_size", "vocab_size", "seq_len"):
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))

    @property
    def num_params(self) -> int:
        """N counted as nanoGPT's ``chinchilla_params``: one V x d matrix, biases and norms included.

        Per layer: QKV 3d^2, the relative-position term d^2 + 2d, output projection d^2, MLP 2df with
        biases f + d, and two layer norms; then a final norm and the (tied) embedding.
        """
        d, f, L = self.d_model, self.ffw_size, self.num_layers
        return L * (5 * d * d + 2 * d * f + f + 11 * d) + 2 * d + self.vocab_size * d

    @property
    def num_matmul_params(self) -> int:
        """Weights that multiply an activation once per token: attention, MLP and the output logits.

        The embedding lookup is excluded (it is a gather); with tied weights the same V x d matrix still
        costs a matmul at the output. This is the N of PaLM's and nanochat's 6N + 12LHQT rule.
        """
        d, f, kh = self.d_model, self.ffw_size, self.kv_size * self.num_heads
        return self.num_layers * (4 * d * kh + 2 * d * f) + d * self.vocab_size

    def forward_terms(self) -> dict[str, int]:
        """Appendix F's forward FLOPs per sequence, term by term (layer terms summed over layers)."""
        s, d, f, V, H, L = self.seq_len, self.d_model, self.ffw_size, self.vocab_size, self.num_heads, self.num_layers
        kh = self.kv_size * H
        return {
            "embeddings": 2 * s * V * d,
            "attention_qkv": L * 2 * 3 * s * d * kh,
            "attention_logits": L * 2 * s * s * kh,
            "attention_softmax": L * 3 * H * s * s,
            "attention_reduction": L * 2 * s * s * kh,
            "attention_project": L * 2 * s * kh * d,
            "dense": L * 2 * s * (2 * d * f),
            "final_logits": 2 * s * d * V,
        }

    def flops(self, accounting: str = "table_a4") -> int:
        """Training FLOPs per sequence of ``seq_len`` tokens.

        - ``appendix_f``: every term of Appendix F as written, backward = 2 x forward.
        - ``table_a4``: the same without embeddings and final logits -- the only reading under which
          the printed Table A4 ratios come out.
        - ``6n``: Kaplan's 6 N per token.
        - ``palm``: 6 N_matmul + 12 L H q T per token (PaLM, nanochat), q the head size, T = seq_len.
        """
        check_choice("accounting", accounting, DECODER_ACCOUNTINGS)
        s = self.seq_len
        if accounting == "6n":
            return 6 * self.num_params * s
        if accounting == "palm":
            return (6 * self.num_matmul_params + 12 * self.num_layers * self.num_heads * self.kv_size * s) * s
        terms = self.forward_terms()
        if accounting == "table_a4":
            del terms["embeddings"], terms["final_logits"]
        return 3 * sum(terms.values())

    def ratio_to_6nd(self, accounting: str = "table_a4") -> float:
        """FLOPs / (6 N D) with D = one sequence, the quantity Table A4 prints."""
        return self.flops(accounting) / (6 * self.num_params * self.seq_len)


def table_a4(vocab_size: int = 32000, seq_len: int = 2048) -> pd.DataFrame:
    """Chinchilla's Table A4 recomputed: N and the FLOPs/6ND ratio under each decoder accounting."""
    rows = []
    for r in TABLE_A4.itertuples(index=False):
        m = Decoder(r.n_layers, r.d_model, r.ffw_size, r.n_heads, r.kv_size, vocab_size, seq_len)
        row = {"n_layers": r.n_layers, "d_model": r.d_model, "ffw_size": r.ffw_size, "n_heads": r.n_heads,
               "kv_size": r.kv_size, "N": m.num_params, "paper_ratio": r.ratio}
        row.update({acc: m.ratio_to_6nd(acc) for acc in DECODER_ACCOUNTINGS})
        rows.append(row)
    return pd.DataFrame(rows)


def appendix_f_terms(model: Decoder) -> pd.DataFrame:
    """Training FLOPs per token of ``model``, term by term, their shares, and whether Appendix F as written
    (``appendix_f``) and the reading that reproduces Table A4 (``table_a4``) count each term."""
    terms = {k: 3 * v // model.seq_len for k, v in model.forward_terms().items()}  # every term carries a factor s
    total = sum(terms.values())
    df = pd.DataFrame({"training FLOPs per token": terms, "share": {k: v / total for k, v in terms.items()}})
    df["appendix_f"] = True
    df["table_a4"] = ~df.index.isin(["embeddings", "final_logits"])
    df.index.name = "term"
    return df


def table_a4_matches() -> dict[str, int]:
    """How many of Table A4's printed ratios FLOPs/6ND each accounting gives to the printed two decimals
    (accounting -> rows), and ``rows``: how many there are."""
    t = table_a4()
    printed = [f"{x:.2f}" for x in t["paper_ratio"]]
    matches = {acc: sum(f"{x:.2f}" == p for x, p in zip(t[acc], printed)) for acc in DECODER_ACCOUNTINGS}
    return matches | {"rows": len(t)}
