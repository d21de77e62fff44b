"""A lean eager PyTorch decoder of the CPU study's shape: the reference that issue 27 measures against.

nanoGPT-style: learned token and position embeddings, pre-LN blocks (fused q/k/v without bias, SDPA with
``is_causal``, an output projection, a GELU MLP d -> 4d -> d without biases), a final LayerNorm and logits
through the tied token embedding with a bias; AdamW (foreach), gradient clipping, ``loss.item()``. Nothing
else: no rotary embeddings, no deterministic mode, no compile.

It has exactly the parameter count of the study's model (``replication.training.model.PerceiverAR`` with
no prefix): ours has, beyond L plain blocks, a second (empty-input) LayerNorm and an output bias in its first
layer (3d); here the final LayerNorm (2d) and a bias on the first block's output projection (d) stand in.

    .venv/bin/python tools/lean_decoder.py [--widths 10,24,58] [--steps 20] [--warmup 3]

times the lean step alone on 1 thread; ``replication bench study`` runs it as its ``lean`` row, interleaved
with our variants.
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

L, H, N_CTX, V, B = 4, 2, 128, 262, 8  # the study's shape: layers, heads, context, bytes, batch
LR, BETAS, CLIP = 1e-3, (0.9, 0.95), 0.5


class Block(nn.Module):
    def __init__(self, d: int, heads: int, out_bias: bool):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=out_bias)
        self.fc = nn.Linear(d, 4 * d, bias=False)
        self.fc_proj = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x))))


class LeanDecoder(nn.Module):
    def __init__(self, d: int, layers: int = L, heads: int = H, n: int = N_CTX, vocab: int = V):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(n, d)
        self.blocks = nn.ModuleList(Block(d, heads, out_bias=i == 0) for i in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.bias = nn.Parameter(torch.zeros(vocab))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, idx, targets):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = F.linear(self.ln_f(x), self.tok.weight, self.bias)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def make_step(d: int, seed: int = 0):
    """A closure running one lean training step of width ``d`` on the next of 16 random batches in turn (one
    batch repeated is learnt by heart, which drives the arithmetic into slow subnormal numbers); returns the
    loss."""
    torch.manual_seed(seed)
    model = LeanDecoder(d).train()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=0.0, foreach=True)
    g = torch.Generator().manual_seed(seed)
    batches = itertools.cycle([(torch.randint(0, V, (B, N_CTX), generator=g),
                                torch.randint(0, V, (B, N_CTX), generator=g)) for _ in range(16)])

    def step() -> float:
        x, y = next(batches)
        loss = model(x, y)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        value = loss.item()
        grad_norm.item()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return value

    step.num_params = num_params(model)
    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", default="10,24,58")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for d in map(int, args.widths.split(",")):
        step = make_step(d)
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        print(f"d={d:>3} N={step.num_params:>9,} {statistics.median(times) * 1e3:7.2f} ms/step")


if __name__ == "__main__":
    main()
