"""Causal self-attention for tiny heads on a CPU: a fused C++ kernel (``causal_attention.cpp``) as a torch op.

At the CPU study's shapes (2 heads of 5 to 29 channels, 128 tokens) attention was the largest part of the
compiled training step (perf: about half of it at width 10). Written out as batched matmuls around a masked
softmax, it computes every score of the 128 x 128 square, half of them masked, and passes the square through
memory five times (scores, probabilities, and in the backward their gradients); the CPU flash kernel of
``scaled_dot_product_attention`` is built for large heads. The kernel here computes, per query row, only the
key vectors that hold a visible key, keeps the row's softmax in registers, and in the backward recomputes the
probabilities from the row's log-sum-exp. One layer's forward and backward at the study's shape (batch 8,
2 heads, 128 tokens, one thread of this project's 2-core Xeon) take 0.29, 0.39-0.42 and 0.75-0.86 ms at head
sizes 5, 12 and 29, where the compiled masked matmuls take 1.2-1.3, 1.5-1.6 and 2.0-2.1 ms. Inside the whole
compiled step the gain is smaller, as the matmuls' neighbours fuse with them there.

The ops ``replication::causal_attention`` and ``replication::causal_attention_backward`` are defined and
built with the other CPU kernels (:mod:`.kernels`: where they cannot be built, :func:`~.kernels.available` is
False and the model keeps its other attention paths); their fake kernels for ``torch.compile`` and their
autograd are here. The
backward is not itself differentiable (no second derivatives).

What it computes is softmax(q k^T / sqrt(hd), causal) v up to float rounding (``tests/test_attention.py``
compares it and its gradients in float64), deterministically: each (batch, head) sums in a fixed order,
whatever the number of threads.
"""
from __future__ import annotations

import torch

from replication.training.kernels import LIBRARY, available


#: head sizes the kernel serves (a register block of 4 vectors of 16 channels); larger heads are what the flash
#: kernel is built for
MAX_HEAD_SIZE = 64

@torch.library.register_fake("replication::causal_attention", lib=LIBRARY)
def _(q, k, v):
    b, h, t, d = q.shape
    return q.new_empty(b, t, h, d), q.new_empty(b, h, t)


@torch.library.register_fake("replication::causal_attention_backward", lib=LIBRARY)
def _(q, k, v, o, lse, do):
    b, h, t, d = q.shape
    return tuple(q.new_empty(b, t, h, d) for _ in range(3))


def serves(q: torch.Tensor) -> bool:
    """Whether the kernel takes queries (and keys and values) like q: float32 on a CPU, heads of at most
    :data:`MAX_HEAD_SIZE` channels."""
    return q.device.type == "cpu" and q.dtype == torch.float32 and q.dim() == 4 and q.shape[-1] <= MAX_HEAD_SIZE


class _CausalAttention(torch.autograd.Function):
    """The two ops joined for autograd. An autograd.Function with ``setup_context`` rather than the op's own
    ``register_autograd``: the compiled step differentiates through ``torch.func``, which only takes the former."""

    @staticmethod
    def forward(q, k, v):
        return torch.ops.replication.causal_attention(q, k, v)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs, *output)
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, do, _dlse):
        do = do if do.stride(-1) == 1 else do.contiguous()
        # (B, T, H, D): the layout of the projection whose gradient they are copied into; as (B, H, T, D) views
        return tuple(g.transpose(1, 2) for g in torch.ops.replication.causal_attention_backward(*ctx.saved_tensors, do))


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd), causal) v for q, k, v of shape (B, H, T, hd), returned as (B, T, H, hd): the
    layout the output projection reads. Requires :func:`available` and :func:`serves` (q)."""
    # (whether the kernel is built is asked outside compiled code: tracing it would break the graph)
    if not serves(q) or not (torch.compiler.is_compiling() or available()):
        raise ValueError(f"causal_attention: the kernel is unavailable or does not serve q of shape "
                         f"{tuple(q.shape)}, {q.dtype}, on {q.device} (float32 on a CPU, head size <= {MAX_HEAD_SIZE})")
    if not (q.shape == k.shape == v.shape):
        raise ValueError(f"causal_attention: q, k and v must have one shape, got {q.shape}, {k.shape}, {v.shape}")
    return _CausalAttention.apply(q, k, v)[0]
