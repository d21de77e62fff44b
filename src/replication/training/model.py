"""Perceiver AR, as Krasser trained it for the article, in plain PyTorch.

The input is ``max_seq_len = P + n`` tokens: a prefix of P tokens and n latent tokens at the end.

* Layer 1 (the *hybrid* layer): the latents are queries; keys and values are the (kept) prefix followed
  by the latents, under a causal mask aligned to the right, so latent i sees every prefix token and
  latents 0..i. Pre-LN with separate norms for the latents and the prefix, no q/k/v bias, an output
  projection with bias, then a residual pre-LN MLP.
* Layers 2..L: ordinary causal self-attention decoder layers over the latents.
* Logits are the latents times the (tied) token embedding plus a separate bias; no final norm.

With ``num_prefix = 0`` there is nothing to cross-attend to and the model is a plain decoder-only
transformer over n tokens (the CPU-scale Chinchilla study uses that).

The parameter count equals ``replication.estimate.flops.num_params`` exactly:
N = V d + (n+P) d + 12 d^2 + 7 d + (L-1)(12 d^2 + 4 d) + V.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from replication.errors import ReplicationError, check_range

#: Bump when a change to this file changes what a given config and seed compute. It is part of every
#: run id, so recorded runs from older model code are never mistaken for new ones.
MODEL_VERSION = 1


@dataclass
class ModelConfig:
    vocab_size: int = 262
    num_latents: int = 512  # n
    num_prefix: int = 1536  # P; 0 gives a plain decoder-only transformer
    num_channels: int = 512  # d
    num_layers: int = 9  # L, attention layers including the hybrid layer
    num_heads: int = 8
    prefix_dropout: float = 0.5  # fraction of the prefix dropped per example, in training only
    # Rotary embeddings in the first `rotary_layers` attention layers (the hybrid layer and the first
    # self-attention layer in Krasser's code), on the first half of each head's channels.
    rotary_layers: int = 2
    init_std: float = 0.02

    def __post_init__(self):
        for name in ("vocab_size", "num_latents", "num_channels", "num_layers", "num_heads"):
            _check_int(name, getattr(self, name), 1)
        _check_int("num_prefix", self.num_prefix, 0)
        _check_int("rotary_layers", self.rotary_layers, 0)
        if self.num_channels % self.num_heads:
            raise ReplicationError(
                f"num_channels={self.num_channels} must be divisible by num_heads={self.num_heads}"
            )
        if isinstance(self.prefix_dropout, bool) or not isinstance(self.prefix_dropout, (int, float)):
            raise ReplicationError(f"prefix_dropout={self.prefix_dropout!r} must be a number in [0, 1)")
        check_range("prefix_dropout", self.prefix_dropout, 0.0, 1.0, hi_open=True)
        check_range("init_std", self.init_std, 0.0, lo_open=True)

    @property
    def max_seq_len(self) -> int:
        return self.num_prefix + self.num_latents

    def shape(self):
        """This model as the estimator sees it: parameter counts and FLOPs (``replication.estimate.flops``)."""
        from replication.estimate.flops import PerceiverAR

        return PerceiverAR(self.vocab_size, self.max_seq_len, self.num_latents, self.num_channels,
                           self.num_layers, self.num_heads)

    @property
    def head_dim(self) -> int:
        return self.num_channels // self.num_heads

    @property
    def rotary_dim(self) -> int:
        """Rotated channels per head: the first half, rounded down to an even number."""
        return (self.head_dim // 2) // 2 * 2

    @property
    def num_kept_prefix(self) -> int:
        """Prefix tokens each training example keeps after prefix dropout."""
        return self.num_prefix - int(self.num_prefix * self.prefix_dropout)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReplicationError(f"{name}={value!r} must be an integer >= {lo}")
    return check_range(name, value, lo)


# --------------------------------------------------------------------------------------------------
# rotary position embedding


def rotary_tables(positions: torch.Tensor, dim: int, base: float = 10000.0):
    """cos and sin of shape ``positions.shape + (dim,)`` for the half-split rotation below."""
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32) / dim))
    angles = positions.to(torch.float32)[..., None] * inv_freq
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first ``cos.shape[-1]`` channels of each head of x (B, H, T, hd); leave the rest."""
    r = cos.shape[-1]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)  # under autocast x is bf16; keep q, k and v alike
    x_rot, x_pass = x[..., :r], x[..., r:]
    x1, x2 = x_rot.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return torch.cat([x_rot * cos + rotated * sin, x_pass], dim=-1)


# --------------------------------------------------------------------------------------------------
# layers


class MLP(nn.Module):
    """Residual branch d -> 4d -> d with its own pre-LN, GELU, no biases."""

    def __init__(self, d: int):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d, bias=False)
        self.proj = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(self.norm(x))))


def _heads(t: torch.Tensor, h: int) -> torch.Tensor:
    b, s, d = t.shape
    return t.view(b, s, h, d // h).transpose(1, 2)


class HybridLayer(nn.Module):
    """Layer 1: latents attend to the prefix and, causally, to themselves."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.num_channels
        self.num_heads = cfg.num_heads
        self.q_norm = nn.LayerNorm(d)  # latents
        self.kv_norm = nn.LayerNorm(d)  # prefix
        # q, k, v as one matrix: the latents need all three, the prefix only k and v (its rows d:3d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=True)
        self.mlp = MLP(d)

    def forward(self, x, prefix, rope_q, rope_k, mask):
        d = x.shape[-1]
        q, k, v = self.qkv(self.q_norm(x)).split(d, dim=-1)
        if prefix.shape[1]:
            kv_prefix = F.linear(self.kv_norm(prefix), self.qkv.weight[d:])
            k_prefix, v_prefix = kv_prefix.split(d, dim=-1)
            k, v = torch.cat([k_prefix, k], dim=1), torch.cat([v_prefix, v], dim=1)
        else:
            # keep kv_norm in the graph so that every parameter gets a (zero) gradient: DDP wants that
            k = k + 0.0 * self.kv_norm(prefix).sum()
        h = self.num_heads
        q, k, v = _heads(q, h), _heads(k, h), _heads(v, h)
        if rope_q is not None:
            q, k = apply_rotary(q, *rope_q), apply_rotary(k, *rope_k)
        if prefix.shape[1]:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(y.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(x)


class DecoderLayer(nn.Module):
    """Causal self-attention over the latents (pre-LN, no biases) and the MLP."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.num_channels
        self.num_heads = cfg.num_heads
        self.norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=False)
        self.mlp = MLP(d)

    def forward(self, x, rope):
        q, k, v = self.qkv(self.norm(x)).split(x.shape[-1], dim=-1)
        h = self.num_heads
        q, k, v = _heads(q, h), _heads(k, h), _heads(v, h)
        if rope is not None:
            q, k = apply_rotary(q, *rope), apply_rotary(k, *rope)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(y.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(x)


class PerceiverAR(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.num_channels
        self.tok_emb = nn.Embedding(cfg.vocab_size, d)
        self.pos_emb = nn.Embedding(cfg.max_seq_len, d)
        self.hybrid = HybridLayer(cfg)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_layers - 1))
        self.out_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.apply(self._init)
        self._masks: dict[tuple, torch.Tensor] = {}
        # how to execute, not what to compute, so not part of ModelConfig (nor of the run id)
        self.activation_checkpointing = False

    def _layer(self, layer, *args):
        # activation checkpointing trades a second forward pass per layer for activation memory; the
        # layers draw no random numbers, so recomputing them gives the same values
        if self.activation_checkpointing and self.training and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(layer, *args, use_reentrant=False)
        return layer(*args)

    def _init(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.cfg.init_std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _mask(self, n: int, k: int, device) -> torch.Tensor:
        """Right-aligned causal mask: latent i sees the k prefix keys and latents 0..i."""
        key = (n, k, str(device))
        if key not in self._masks:
            self._masks[key] = torch.ones(n, k + n, dtype=torch.bool, device=device).tril(diagonal=k)
        return self._masks[key]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """idx: (B, T) token ids with n <= T <= max_seq_len; the last n are the latents.

        targets: (B, n) next-token ids for the latent positions, or None. Returns (logits, loss).
        """
        cfg = self.cfg
        b, t = idx.shape
        n = cfg.num_latents
        if not n <= t <= cfg.max_seq_len:
            raise ReplicationError(f"sequence length {t} must be in [{n}, {cfg.max_seq_len}]")
        p = t - n
        device = idx.device
        pos = torch.arange(t, device=device)

        latent_idx, latent_pos = idx[:, p:], pos[p:]
        x = self.tok_emb(latent_idx) + self.pos_emb(latent_pos)

        prefix_idx, prefix_pos = idx[:, :p], pos[:p].expand(b, p)
        if self.training and p > 0 and cfg.prefix_dropout > 0:
            keep = p - int(p * cfg.prefix_dropout)
            # each example keeps its own random subset of the prefix, in order; selecting ids before
            # the embedding lookup is the same as embedding first and selecting after, only cheaper
            kept = torch.rand(b, p, device=device).topk(keep, dim=-1).indices.sort(dim=-1).values
            prefix_idx, prefix_pos = prefix_idx.gather(1, kept), kept
        prefix = self.tok_emb(prefix_idx) + self.pos_emb(prefix_pos)
        k = prefix.shape[1]

        rope_q = rope_k = None
        if cfg.rotary_layers > 0 and cfg.rotary_dim > 0:
            cos_q, sin_q = rotary_tables(latent_pos, cfg.rotary_dim)
            cos_p, sin_p = rotary_tables(prefix_pos, cfg.rotary_dim)  # (b, k, r): per-example positions
            cos_k = torch.cat([cos_p, cos_q.expand(b, n, -1)], dim=1)[:, None]
            sin_k = torch.cat([sin_p, sin_q.expand(b, n, -1)], dim=1)[:, None]
            rope_q, rope_k = (cos_q, sin_q), (cos_k, sin_k)

        x = self._layer(self.hybrid, x, prefix, rope_q, rope_k, self._mask(n, k, device) if k else None)
        for i, layer in enumerate(self.layers, start=1):
            x = self._layer(layer, x, rope_q if i < cfg.rotary_layers else None)

        logits = F.linear(x, self.tok_emb.weight, self.out_bias)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
        return logits, loss
