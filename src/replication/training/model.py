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

The parameter count equals ``replication.counting.PerceiverARShape.num_params`` exactly:
N = V d + (n+P) d + 12 d^2 + 7 d + (L-1)(12 d^2 + 4 d) + V.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from replication.errors import ReplicationError
from replication.training import attention, gelu, kernels
from replication.training.config import ModelConfig


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
        self.fused_gelu = False  # how to execute: set by PerceiverAR.use_cpu_kernels

    def forward(self, x):
        h = self.fc(self.norm(x))
        return self.proj(gelu.gelu(h) if self.fused_gelu and gelu.serves(h) else F.gelu(h))


def masked_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(hd), masked) v written out as batched matmuls (mask: queries x keys, True =
    visible; None: causal). The same function as scaled_dot_product_attention up to rounding; with the
    whole step compiled, the compiler fuses the scale, the mask and the softmax (forward and backward)
    into single loops around two matmuls, where the CPU flash kernel, built for large heads, spends
    about 1 ms per call on heads of 5 to 30 channels and 128 tokens."""
    if mask is None:  # from index comparisons, which the compiler folds into the softmax's loops
        tq, tk = q.shape[-2], k.shape[-2]
        mask = torch.arange(tq, device=q.device)[:, None] + (tk - tq) >= torch.arange(tk, device=q.device)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.where(mask, scores, float("-inf")).softmax(dim=-1) @ v


def _heads(t: torch.Tensor, h: int) -> torch.Tensor:
    b, s, d = t.shape
    return t.view(b, s, h, d // h).transpose(1, 2)


class AttentionLayer(nn.Module):
    """What both layer types share: q, k and v from one matrix (no bias), multi-head scaled dot-product
    attention with rotary embeddings, the output projection and the residual pre-LN MLP.

    A layer type registers its pre-LN norms (``norms``) before the projections: registration order is
    the parameters' order, which the optimizer state in a checkpoint and the gradient-norm sum follow.
    """

    def __init__(self, cfg: ModelConfig, norms: dict[str, nn.Module], out_bias: bool):
        super().__init__()
        d = cfg.num_channels
        self.num_heads = cfg.num_heads
        for name, norm in norms.items():
            self.add_module(name, norm)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=out_bias)
        self.mlp = MLP(d)
        # how to execute, not what to compute: set by PerceiverAR.use_compiled_layout and use_cpu_kernels
        self.math_attention = False
        self.fused_attention = False

    def attend(self, x, q, k, v, rope_q, rope_k, mask=None):
        """x plus attention of queries q (over x's tokens) to keys k and values v, then the MLP.

        ``mask`` (queries x keys, True = visible) when keys and queries differ; else causal."""
        h = self.num_heads
        q, k, v = _heads(q, h), _heads(k, h), _heads(v, h)
        if rope_q is not None:
            q, k = apply_rotary(q, *rope_q), apply_rotary(k, *rope_k)
        if self.fused_attention and mask is None and attention.serves(q):
            y = attention.causal_attention(q, k, v)
        elif self.math_attention and torch.compiler.is_compiling():
            y = masked_attention(q, k, v, mask).transpose(1, 2)
        elif mask is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)
        x = x + self.out(y.reshape(x.shape))
        return x + self.mlp(x)


class HybridLayer(AttentionLayer):
    """Layer 1: latents attend to the prefix and, causally, to themselves. Separate pre-LNs for the
    latents and the prefix; the output projection has a bias."""

    def __init__(self, cfg: ModelConfig):
        d = cfg.num_channels
        super().__init__(cfg, {"q_norm": nn.LayerNorm(d), "kv_norm": nn.LayerNorm(d)}, out_bias=True)

    def forward(self, x, prefix, rope_q, rope_k, mask):
        d = x.shape[-1]
        q, k, v = self.qkv(self.q_norm(x)).split(d, dim=-1)
        if prefix.shape[1]:
            # the prefix needs only k and v: rows d:3d of the q, k, v matrix
            kv_prefix = F.linear(self.kv_norm(prefix), self.qkv.weight[d:])
            k_prefix, v_prefix = kv_prefix.split(d, dim=-1)
            k, v = torch.cat([k_prefix, k], dim=1), torch.cat([v_prefix, v], dim=1)
        else:
            # keep kv_norm in the graph so that every parameter gets a (zero) gradient: DDP wants that
            k = k + 0.0 * self.kv_norm(prefix).sum()
        return self.attend(x, q, k, v, rope_q, rope_k, mask if prefix.shape[1] else None)


class DecoderLayer(AttentionLayer):
    """Causal self-attention over the latents (pre-LN, no biases) and the MLP."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, {"norm": nn.LayerNorm(cfg.num_channels)}, out_bias=False)

    def forward(self, x, rope):
        q, k, v = self.qkv(self.norm(x)).split(x.shape[-1], dim=-1)
        return self.attend(x, q, k, v, rope, rope)


class PerceiverAR(nn.Module):
    """The trainable model of a :class:`ModelConfig`; ``forward`` returns (logits, loss)."""

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
        # how to execute, not what to compute, so not part of ModelConfig (nor of the run id)
        self.activation_checkpointing = False
        self.rotary_cache = False

    def use_cpu_kernels(self, on: bool = True) -> "PerceiverAR":
        """Causal self-attention (the decoder layers', and the first layer's without a prefix) and the MLPs' GELU
        through the CPU kernels for tiny models (:mod:`replication.training.kernels`, built here on first use), in
        eager and compiled code alike, where they can be built and serve the tensors (float32 on a CPU; attention
        heads of at most 64 channels); the rest keeps its paths. The same function up to rounding.

        Per layer forward and backward, eagerly, the attention kernel took 0.50, 0.79 and 1.53 ms against
        scaled_dot_product_attention's 0.97, 1.22 and 1.76 ms at the study's heads of 5, 12 and 29 channels (one
        thread), and 2.05 and 10.2 ms against 2.63 and 14.5 ms at the article's "tiny" and "small" benchmark
        shapes (two threads). GELU: :mod:`replication.training.gelu`."""
        fused = on and kernels.available()
        for layer in (self.hybrid, *self.layers):
            layer.fused_attention = fused
            layer.mlp.fused_gelu = fused
        return self

    @property
    def cpu_kernels(self) -> bool:
        """Whether :meth:`use_cpu_kernels` turned the CPU kernels on (and they could be built)."""
        return self.hybrid.mlp.fused_gelu

    def use_compiled_layout(self, on: bool = True, cpu_kernels: bool = True) -> "PerceiverAR":
        """Switch to (or back from) the layout that a compiled whole step runs fastest (``training.step``):
        causal attention and GELU through the CPU kernels (:meth:`use_cpu_kernels`; ``cpu_kernels=False``
        keeps the masked matmuls below for attention and inductor's GELU, what the benchmark compares the
        kernels with), other attention inside compiled code as masked batched matmuls (:func:`masked_attention`;
        eager calls, the evaluation's, keep scaled_dot_product_attention), and the rotary tables computed once
        into non-persistent buffers (not in the state dict) instead of from the positions on every call.
        The same function up to rounding: the compiler would otherwise recompute a sine and a cosine per
        rotated element of q and k in forward and backward. It sets the kernels on or off with the rest
        (``on=False`` turns off an earlier :meth:`use_cpu_kernels` too)."""
        self.use_cpu_kernels(on and cpu_kernels)
        for layer in (self.hybrid, *self.layers):
            layer.math_attention = on
        self.rotary_cache = on and self.cfg.rotary_layers > 0 and self.cfg.rotary_dim > 0
        if self.rotary_cache:
            device = self.tok_emb.weight.device
            cos, sin = rotary_tables(torch.arange(self.cfg.max_seq_len, device=device), self.cfg.rotary_dim)
            self.register_buffer("rotary_cos", cos, persistent=False)
            self.register_buffer("rotary_sin", sin, persistent=False)
        return self

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

    @staticmethod
    def _mask(n: int, k: int, device) -> torch.Tensor:
        """Right-aligned causal mask: latent i sees the k prefix keys and latents 0..i. Built on every call,
        not cached: it costs next to nothing, and a cache would make torch.compile compile twice."""
        return torch.ones(n, k + n, dtype=torch.bool, device=device).tril(diagonal=k)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                prefix_noise: torch.Tensor | None = None):
        """idx: (B, T) token ids with n <= T <= max_seq_len; the last n are the latents.

        targets: (B, n) next-token ids for the latent positions, or None. Returns (logits, loss).
        prefix_noise: (B, T - n) uniform numbers choosing, in training, the prefix tokens each example
        keeps (its ``num_kept_prefix`` largest). The training loop draws them for the whole global batch
        (``replication.training.loop``), so an example's choice does not depend on the process or
        micro-batch it lands in; without them they are drawn here from torch's default generator.
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
            noise = torch.rand(b, p, device=device) if prefix_noise is None else prefix_noise
            kept = noise.topk(keep, dim=-1).indices.sort(dim=-1).values
            prefix_idx, prefix_pos = prefix_idx.gather(1, kept), kept
        prefix = self.tok_emb(prefix_idx) + self.pos_emb(prefix_pos)
        k = prefix.shape[1]

        rope_q = rope_k = None
        if cfg.rotary_layers > 0 and cfg.rotary_dim > 0:
            if self.rotary_cache:
                cos_q, sin_q = self.rotary_cos[p:t], self.rotary_sin[p:t]
                cos_p, sin_p = self.rotary_cos[prefix_pos], self.rotary_sin[prefix_pos]
            else:
                cos_q, sin_q = rotary_tables(latent_pos, cfg.rotary_dim)
                cos_p, sin_p = rotary_tables(prefix_pos, cfg.rotary_dim)  # (b, k, r): per-example positions
            cos_k = torch.cat([cos_p, cos_q.expand(b, n, -1)], dim=1)[:, None]
            sin_k = torch.cat([sin_p, sin_q.expand(b, n, -1)], dim=1)[:, None]
            rope_q, rope_k = (cos_q, sin_q), (cos_k, sin_k)

        x = self._layer(self.hybrid, x, prefix, rope_q, rope_k, self._mask(n, k, device) if k else None)
        for i, layer in enumerate(self.layers, start=1):
            x = self._layer(layer, x, rope_q if i < cfg.rotary_layers else None)

        if x.device.type == "cpu":
            # the bias added, not given to F.linear: on a CPU its addmm first copies the bias broadcast over every
            # row (0.2 ms of the compiled step at d = 24), where an addition fuses with what follows; a GPU's
            # matmul adds it for free
            logits = F.linear(x, self.tok_emb.weight)
            logits = logits + self.out_bias.to(logits.dtype)  # (bf16 under autocast, as F.linear's would be)
        else:
            logits = F.linear(x, self.tok_emb.weight, self.out_bias)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))
        return logits, loss
