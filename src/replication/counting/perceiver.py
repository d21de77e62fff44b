"""Training FLOPs and parameter counts of Krasser's Perceiver AR, under both of his accountings.

The model: a hybrid first layer that cross-attends from the ``n`` latent tokens to the ``P`` prefix tokens,
then ``L - 1`` ordinary decoder layers on the latents. FLOPs are *training FLOPs per latent token*
(forward x 3), split into a self-attention part (the decoder-only part the scaling laws apply to) and a
cross-attention part (the prefix). The two accountings:

- ``"article"``: the article as published (January 2023). Kaplan's Table 1 per-token counts plus the
  embedding (``4d``) and the final logits (``2dV``) that Chinchilla's Appendix F adds.
- ``"corrected"``: Krasser's February 2023 update. An embedding is a lookup, not a matmul, so it costs
  nothing; the final logits were dropped as well (Chinchilla's Table A4 only reproduces that way);
  softmax (``3Hn``) and the softmax-times-V reduction (a second ``2dn``) are counted.

Notation follows the papers: d channels, L attention layers (the hybrid layer included), n latents,
P = max_seq_len - n prefix tokens, V vocabulary, H heads, p prefix dropout.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from replication.errors import ReplicationError, check_choice, check_int, check_range

#: Perceiver AR accountings: the article as published, and Krasser's correction.
ACCOUNTINGS = ("article", "corrected")
#: What a training budget can be counted in: the two accountings, or ``"executed"``, every matmul the
#: training step runs (the unembedding included).
TRAIN_ACCOUNTINGS = ACCOUNTINGS + ("executed",)


def _check_prefix_dropout(p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p != p:
        raise ReplicationError(f"prefix_dropout={p!r} must be a number in [0, 1)")
    return float(check_range("prefix_dropout", p, 0.0, 1.0, hi_open=True))


@dataclass(frozen=True)
class PerceiverARShape:
    """The shape of one Perceiver AR model, as Krasser's experiments define it: what the estimator
    counts (the trainable model is :class:`replication.training.model.PerceiverAR`).

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
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))
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
        accounting = check_choice("accounting", accounting, TRAIN_ACCOUNTINGS)
        if accounting == "executed":
            # every matmul: the weights, attention logits and softmax.V over the full n x n (as
            # Chinchilla's Appendix F counts them) and the tied unembedding; lookups, softmax and
            # norms are not matmuls
            return 3 * (L * (24 * d * d + 4 * d * n) + 2 * d * V)
        if accounting == "article":
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
        accounting = check_choice("accounting", accounting, TRAIN_ACCOUNTINGS)
        if accounting == "executed":
            return 3 * int((4 * d * d * P / n + 4 * d * P) * (1 - p))
        if accounting == "article":
            # the prefix embedding term 4dP/n was not scaled by the dropout in the article
            return 3 * int(4 * d * P / n + (4 * d * d + 2 * d * n) * (P / n) * (1 - p))
        # K,V projections of the prefix (4d^2 P/n per latent), logits and softmax.V (4dP), softmax (3HP)
        return 3 * int((4 * d * d * P / n + 4 * d * P + 3 * H * P) * (1 - p))

    def self_attn_terms(self, accounting: str = "corrected") -> dict[str, int]:
        """Forward FLOPs per latent token of the self-attention part, term by term (layers summed).

        ``3 * sum(terms)`` is :meth:`self_attn_flops`; a term an accounting leaves out is absent.
        """
        d, L, n, V, H = self.num_channels, self.num_layers, self.num_latents, self.vocab_size, self.num_heads
        if check_choice("accounting", accounting, ACCOUNTINGS) == "article":
            return {"embedding": 4 * d, "weights": L * 24 * d * d, "attention_logits": L * 2 * d * n,
                    "final_logits": 2 * d * V}
        return {"weights": L * 24 * d * d, "attention_logits": L * 2 * d * n, "attention_softmax": L * 3 * H * n,
                "attention_reduction": L * 2 * d * n}

    def cross_attn_terms(self, prefix_dropout: float = 0.5, accounting: str = "corrected") -> dict[str, float]:
        """Forward FLOPs per latent token of the prefix cross-attention, term by term (before int())."""
        keep = 1 - _check_prefix_dropout(prefix_dropout)
        d, n, P, H = self.num_channels, self.num_latents, self.num_prefix, self.num_heads
        if check_choice("accounting", accounting, ACCOUNTINGS) == "article":
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
        check_choice("accounting", self.accounting, ACCOUNTINGS)
        # validates the shared fields once, with a model that always fits
        PerceiverARShape(self.vocab_size, self.max_seq_len, self.num_latents, self.num_heads, 1, self.num_heads)

    @property
    def num_prefix(self) -> int:
        return self.max_seq_len - self.num_latents

    def model(self, num_channels: int, num_layers: int) -> PerceiverARShape:
        return PerceiverARShape(
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
