"""Training FLOPs and parameter counts, under every accounting the sources use.

Two model families:

* :class:`PerceiverAR` -- Krasser's Perceiver AR: a hybrid first layer that cross-attends from the
  ``n`` latent tokens to the ``P`` prefix tokens, then ``L - 1`` ordinary decoder layers on the latents.
  FLOPs are *training FLOPs per latent token* (forward x 3), split into a self-attention part (the
  decoder-only part the scaling laws apply to) and a cross-attention part (the prefix). Two accountings:

  - ``"article"``: the article as published (January 2023). Kaplan's Table 1 per-token counts plus the
    embedding (``4d``) and the final logits (``2dV``) that Chinchilla's Appendix F adds.
  - ``"corrected"``: Krasser's February 2023 update. An embedding is a lookup, not a matmul, so it costs
    nothing; the final logits were dropped as well (Chinchilla's Table A4 only reproduces that way);
    softmax (``3Hn``) and the softmax-times-V reduction (a second ``2dn``) are counted.

* :class:`Decoder` -- a decoder-only transformer shaped like the rows of Chinchilla's Table A4, with the
  Appendix F terms, the variant that matches Table A4, Kaplan's ``6N`` and PaLM's ``6N + 12LHQT``.

Notation follows the issue and the papers: d channels, L attention layers (the hybrid layer included),
n latents, P = max_seq_len - n prefix tokens, V vocabulary, H heads, p prefix dropout.
"""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass

from replication.errors import ReplicationError, check_range

#: Perceiver AR accountings: the article as published, and Krasser's correction.
ACCOUNTINGS = ("article", "corrected")

#: Decoder-only accountings (see :meth:`Decoder.flops`).
DECODER_ACCOUNTINGS = ("appendix_f", "table_a4", "6n", "palm")


def _check_int(name: str, value, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # numpy integers are fine; floats that happen to be whole are not (a silent 512.7 -> 512 hides bugs)
        if hasattr(value, "__index__"):
            value = int(value.__index__())
        else:
            raise ReplicationError(f"{name}={value!r} must be an integer >= {lo}")
    return check_range(name, value, lo)


def _check_accounting(accounting: str, allowed=ACCOUNTINGS) -> str:
    if accounting not in allowed:
        raise ReplicationError(f"accounting={accounting!r} is not known; choose one of: {', '.join(allowed)}")
    return accounting


def _check_prefix_dropout(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p != p:
        raise ReplicationError(f"prefix_dropout={p!r} must be a number in [0, 1)")
    return float(check_range("prefix_dropout", p, 0.0, 1.0, hi_open=True))


# --------------------------------------------------------------------------------------------------
# Perceiver AR


@dataclass(frozen=True)
class PerceiverAR:
    """The shape of one Perceiver AR model, as Krasser's experiments define it.

    ``num_layers`` counts attention layers *including* the hybrid cross-attention layer.
    """

    vocab_size: int
    max_seq_len: int
    num_latents: int
    num_channels: int
    num_layers: int
    num_heads: int = 8

    def __post_init__(self):
        for name in ("vocab_size", "max_seq_len", "num_latents", "num_channels", "num_layers", "num_heads"):
            object.__setattr__(self, name, _check_int(name, getattr(self, name)))
        if self.num_latents > self.max_seq_len:
            # num_latents == max_seq_len is allowed: no prefix, a plain decoder-only model
            raise ReplicationError(
                f"num_latents={self.num_latents} must be <= max_seq_len={self.max_seq_len}"
            )
        if self.num_channels % self.num_heads:
            raise ReplicationError(
                f"num_channels={self.num_channels} must be divisible by num_heads={self.num_heads}"
            )

    @property
    def num_prefix(self) -> int:
        """P, the prefix length: the tokens only the hybrid layer sees, through cross-attention."""
        return self.max_seq_len - self.num_latents

    # -- parameters (the same in every accounting) -------------------------------------------------

    @property
    def num_params(self) -> int:
        """N: every trainable parameter of Krasser's model (the trainer's model must match this)."""
        d, V, L = self.num_channels, self.vocab_size, self.num_layers
        token_embedding = V * d  # tied with the output layer, so counted once
        position_embedding = self.max_seq_len * d  # learned, absolute, over prefix and latents
        hybrid_layer = 12 * d * d + 7 * d  # attention 4d^2 + MLP 8d^2; its biases and 3 layer norms
        decoder_layers = (L - 1) * (12 * d * d + 4 * d)
        output_bias = V
        return token_embedding + position_embedding + hybrid_layer + decoder_layers + output_bias

    @property
    def num_cross_attn_params(self) -> int:
        """N_cross: the prefix position embeddings, the only parameters the latents do not use."""
        return self.num_channels * self.num_prefix

    @property
    def num_self_attn_params(self) -> int:
        """N_self = N - N_cross: the parameters a decoder-only model on the latents would have."""
        return self.num_params - self.num_cross_attn_params

    # -- FLOPs per latent token --------------------------------------------------------------------

    def self_attn_flops(self, accounting: str = "corrected") -> int:
        """Training FLOPs per latent token of the self-attention part (forward x 3)."""
        d, L, n, V, H = self.num_channels, self.num_layers, self.num_latents, self.vocab_size, self.num_heads
        if _check_accounting(accounting) == "article":
            # Kaplan Table 1: 24d^2 for the weights, 2dn for attention logits; plus Appendix F's
            # embedding (4d, Kaplan's position-embedding add) and output logits (2dV)
            return 3 * (4 * d + L * (24 * d * d + 2 * d * n) + 2 * d * V)
        # no embedding, no logits; attention logits 2dn + softmax 3Hn + softmax.V 2dn
        return 3 * L * (24 * d * d + 4 * d * n + 3 * H * n)

    def cross_attn_flops(self, prefix_dropout: float = 0.5, accounting: str = "corrected") -> int:
        """Training FLOPs per latent token of the prefix cross-attention (forward x 3).

        A fraction ``prefix_dropout`` of the prefix is dropped in training, so only ``(1-p)P`` prefix
        tokens are projected to keys and values and attended to. The forward value is truncated to an
        integer before x 3, as in Krasser's code.
        """
        p = _check_prefix_dropout(prefix_dropout)
        d, n, P, H = self.num_channels, self.num_latents, self.num_prefix, self.num_heads
        if _check_accounting(accounting) == "article":
            # the prefix embedding term 4dP/n was not scaled by the dropout in the article
            return 3 * int(4 * d * P / n + (4 * d * d + 2 * d * n) * (P / n) * (1 - p))
        # K,V projections of the prefix (4d^2 P/n per latent), logits and softmax.V (4dP), softmax (3HP)
        return 3 * int((4 * d * d * P / n + 4 * d * P + 3 * H * P) * (1 - p))

    def self_attn_terms(self, accounting: str = "corrected") -> dict[str, int]:
        """Forward FLOPs per latent token of the self-attention part, term by term (layers summed).

        ``3 * sum(terms)`` is :meth:`self_attn_flops`; a term an accounting leaves out is absent.
        """
        d, L, n, V, H = self.num_channels, self.num_layers, self.num_latents, self.vocab_size, self.num_heads
        if _check_accounting(accounting) == "article":
            return {"embedding": 4 * d, "weights": L * 24 * d * d, "attention_logits": L * 2 * d * n,
                    "final_logits": 2 * d * V}
        return {"weights": L * 24 * d * d, "attention_logits": L * 2 * d * n, "attention_softmax": L * 3 * H * n,
                "attention_reduction": L * 2 * d * n}

    def cross_attn_terms(self, prefix_dropout: float = 0.5, accounting: str = "corrected") -> dict[str, float]:
        """Forward FLOPs per latent token of the prefix cross-attention, term by term (before int())."""
        keep = 1 - _check_prefix_dropout(prefix_dropout)
        d, n, P, H = self.num_channels, self.num_latents, self.num_prefix, self.num_heads
        if _check_accounting(accounting) == "article":
            return {"prefix_embedding": 4 * d * P / n, "prefix_kv": 4 * d * d * P / n * keep,
                    "attention_logits": 2 * d * P * keep}
        return {"prefix_kv": 4 * d * d * P / n * keep, "attention_logits": 2 * d * P * keep,
                "attention_softmax": 3 * H * P * keep, "attention_reduction": 2 * d * P * keep}

    def self_attn_flops_6n(self) -> int:
        """Kaplan's approximation 6 N_self per latent token, with N_self including the embedding."""
        return 6 * self.num_self_attn_params

    def summary(self, prefix_dropout: float = 0.5, accounting: str = "corrected") -> dict:
        """Every count for this model under one accounting, as a flat dict (what the CLI prints)."""
        c_self = self.self_attn_flops(accounting)
        c_cross = self.cross_attn_flops(prefix_dropout, accounting)
        c_6n = self.self_attn_flops_6n()
        return {
            **asdict(self),
            "num_prefix": self.num_prefix,
            "prefix_dropout": float(prefix_dropout),
            "accounting": accounting,
            "self_attn_flops": c_self,
            "cross_attn_flops": c_cross,
            "num_params": self.num_params,
            "num_self_attn_params": self.num_self_attn_params,
            "num_cross_attn_params": self.num_cross_attn_params,
            "self_attn_flops_6n": c_6n,
            "cross_attn_share": c_cross / (c_self + c_cross),
            "self_attn_flops_over_6n": c_self / c_6n,
        }


@dataclass(frozen=True)
class ComputeEstimator:
    """A family of Perceiver AR models that share tokenizer and sequence layout (one experiment).

    The article's interface: ``ComputeEstimator(32000, 2048, 512).self_attn_flops(512, 9)``.
    """

    vocab_size: int
    max_seq_len: int
    num_latents: int
    num_heads: int = 8
    accounting: str = "corrected"

    def __post_init__(self):
        _check_accounting(self.accounting)
        # validates the shared fields once, with a model that always fits
        PerceiverAR(self.vocab_size, self.max_seq_len, self.num_latents, self.num_heads, 1, self.num_heads)

    @property
    def num_prefix(self) -> int:
        return self.max_seq_len - self.num_latents

    def model(self, num_channels: int, num_layers: int) -> PerceiverAR:
        return PerceiverAR(
            self.vocab_size, self.max_seq_len, self.num_latents, num_channels, num_layers, self.num_heads
        )

    def self_attn_flops(self, num_channels: int, num_layers: int) -> int:
        return self.model(num_channels, num_layers).self_attn_flops(self.accounting)

    def cross_attn_flops(self, num_channels: int, prefix_dropout: float = 0.5) -> int:
        # the cross-attention part does not depend on the number of layers
        return self.model(num_channels, 1).cross_attn_flops(prefix_dropout, self.accounting)

    def num_params(self, num_channels: int, num_layers: int) -> int:
        return self.model(num_channels, num_layers).num_params

    def num_self_attn_params(self, num_channels: int, num_layers: int) -> int:
        return self.model(num_channels, num_layers).num_self_attn_params

    def num_cross_attn_params(self, num_channels: int) -> int:
        return self.model(num_channels, 1).num_cross_attn_params


def num_params(vocab_size, max_seq_len, num_latents, num_channels, num_layers) -> int:
    """N of a Perceiver AR model (see :attr:`PerceiverAR.num_params`)."""
    return PerceiverAR(vocab_size, max_seq_len, num_latents, num_channels, num_layers, 1).num_params


def num_self_attn_params(vocab_size, max_seq_len, num_latents, num_channels, num_layers) -> int:
    """N_self = N - N_cross of a Perceiver AR model."""
    return PerceiverAR(vocab_size, max_seq_len, num_latents, num_channels, num_layers, 1).num_self_attn_params


def num_cross_attn_params(max_seq_len, num_latents, num_channels) -> int:
    """N_cross = d P: the prefix position embeddings."""
    return PerceiverAR(1, max_seq_len, num_latents, num_channels, 1, 1).num_cross_attn_params


# --------------------------------------------------------------------------------------------------
# Decoder-only (Chinchilla Appendix F, Table A4)


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
            object.__setattr__(self, name, _check_int(name, getattr(self, name)))

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
        _check_accounting(accounting, DECODER_ACCOUNTINGS)
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


def table_a4(vocab_size: int = 32000, seq_len: int = 2048):
    """Chinchilla's Table A4 recomputed: N and the FLOPs/6ND ratio under each decoder accounting."""
    import pandas as pd

    from replication.sources.chinchilla import TABLE_A4

    rows = []
    for r in TABLE_A4.itertuples(index=False):
        m = Decoder(r.n_layers, r.d_model, r.ffw_size, r.n_heads, r.kv_size, vocab_size, seq_len)
        row = {"n_layers": r.n_layers, "d_model": r.d_model, "ffw_size": r.ffw_size, "n_heads": r.n_heads,
               "kv_size": r.kv_size, "N": m.num_params, "paper_ratio": r.ratio}
        row.update({acc: m.ratio_to_6nd(acc) for acc in DECODER_ACCOUNTINGS})
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="replication flops",
        description=(
            "Training FLOPs and parameter counts. By default a Perceiver AR model (FLOPs per latent token, "
            "forward x 3) under the 'article' (v1, Jan 2023) or 'corrected' (Feb 2023) accounting; defaults "
            "are the article's Experiment 1 reference model. With --decoder-only, a decoder-only transformer "
            "under Chinchilla's Appendix F as written, the Table A4 variant, 6N and PaLM's 6N+12LHQT; with "
            "--table-a4, all of Chinchilla's Table A4 under those accountings."
        ),
    )
    ap.add_argument("--vocab-size", type=int, default=32000, help="V (default 32000)")
    ap.add_argument("--max-seq-len", type=int, default=2048,
                    help="prefix + latents; the sequence length with --decoder-only (default 2048)")
    ap.add_argument("--num-latents", type=int, default=512, help="n, latent tokens (default 512)")
    ap.add_argument("--channels", type=int, default=512, help="d, model channels / d_model (default 512)")
    ap.add_argument("--layers", type=int, default=9, help="L, attention layers incl. the hybrid one (default 9)")
    ap.add_argument("--heads", type=int, default=8, help="H, attention heads (default 8)")
    ap.add_argument("--prefix-dropout", type=float, default=0.5, help="p in [0, 1) (default 0.5)")
    ap.add_argument("--accounting", choices=ACCOUNTINGS, default="corrected",
                    help="Perceiver AR accounting (default corrected)")
    ap.add_argument("--decoder-only", action="store_true",
                    help="count a decoder-only transformer (uses --channels, --layers, --heads, --ffw-size, "
                         "--kv-size, --vocab-size, --max-seq-len)")
    ap.add_argument("--ffw-size", type=int, default=None, help="MLP width f with --decoder-only (default 4d)")
    ap.add_argument("--kv-size", type=int, default=None, help="head size with --decoder-only (default d/H)")
    ap.add_argument("--table-a4", action="store_true", help="print Chinchilla's Table A4 recomputed")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return ap


def _print(record: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(record))
        return
    width = max(map(len, record))
    for key, value in record.items():
        if isinstance(value, float):
            value = f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        print(f"{key:<{width}}  {value}")


#: Library parameter names -> the flags a CLI user typed, so errors name what the user can change.
_FLAGS = {"vocab_size": "--vocab-size", "max_seq_len": "--max-seq-len", "seq_len": "--max-seq-len",
          "num_latents": "--num-latents", "num_channels": "--channels", "d_model": "--channels",
          "num_layers": "--layers", "num_heads": "--heads", "prefix_dropout": "--prefix-dropout",
          "ffw_size": "--ffw-size", "kv_size": "--kv-size", "channels": "--channels", "heads": "--heads"}


def cli(argv: list[str]) -> int:
    try:
        return _cli(argv)
    except ReplicationError as err:
        msg = str(err)
        msg = re.sub(r"(?<![\w-])(\w+)=", lambda m: f"{_FLAGS.get(m[1], m[1])}=", msg)
        raise ReplicationError(msg) from None


def _cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.table_a4:
        df = table_a4(_check_int("vocab_size", args.vocab_size), _check_int("max_seq_len", args.max_seq_len))
        if args.json:
            print(df.to_json(orient="records"))
        else:
            print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        return 0
    if args.decoder_only:
        d, H = _check_int("channels", args.channels), _check_int("heads", args.heads)
        if args.kv_size is None and d % H:
            raise ReplicationError(f"channels={d} must be divisible by heads={H} (or give --kv-size)")
        m = Decoder(args.layers, d, args.ffw_size if args.ffw_size is not None else 4 * d, H,
                    args.kv_size if args.kv_size is not None else d // H, args.vocab_size, args.max_seq_len)
        record = {**asdict(m), "num_params": m.num_params, "num_matmul_params": m.num_matmul_params}
        for acc in DECODER_ACCOUNTINGS:
            record[f"flops_per_token_{acc}"] = m.flops(acc) // m.seq_len  # every term carries a factor s
        for acc in DECODER_ACCOUNTINGS:
            record[f"ratio_to_6n_{acc}"] = m.ratio_to_6nd(acc)
        _print(record, args.json)
        return 0
    if args.num_latents >= args.max_seq_len:
        raise ReplicationError(f"num_latents={args.num_latents} must be < max_seq_len={args.max_seq_len} "
                               "(Perceiver AR needs a prefix; use --decoder-only for a plain decoder)")
    m = PerceiverAR(args.vocab_size, args.max_seq_len, args.num_latents, args.channels, args.layers, args.heads)
    _print(m.summary(args.prefix_dropout, args.accounting), args.json)
    return 0
