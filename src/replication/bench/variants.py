"""The training-step variants ``replication bench study`` measures beside the default: what each changes,
as a context its steps run in (attention written out, deterministic mode without the memory fill, plain
PyTorch for the lean decoder)."""
from __future__ import annotations

import contextlib
import math


def manual_attend(self, x, q, k, v, rope_q, rope_k, mask=None):
    """``AttentionLayer.attend`` with the attention written out instead of F.scaled_dot_product_attention."""
    import torch

    from replication.training.model import _heads, apply_rotary

    h = self.num_heads
    q, k, v = _heads(q, h), _heads(k, h), _heads(v, h)
    if rope_q is not None:
        q, k = apply_rotary(q, *rope_q), apply_rotary(k, *rope_k)
    if mask is None:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    y = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
    x = x + self.out(y.transpose(1, 2).reshape(x.shape))
    return x + self.mlp(x)


@contextlib.contextmanager
def manual_attention():
    """Every AttentionLayer attends through :func:`manual_attend` inside the block."""
    from replication.training.model import AttentionLayer

    original = AttentionLayer.attend
    AttentionLayer.attend = manual_attend
    try:
        yield
    finally:
        AttentionLayer.attend = original


@contextlib.contextmanager
def no_fill():
    """Deterministic mode without filling uninitialized memory, inside the block."""
    import torch.utils.deterministic as det

    was = det.fill_uninitialized_memory
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        det.fill_uninitialized_memory = was


@contextlib.contextmanager
def plain_torch():
    """Deterministic algorithms off inside the block: the lean decoder runs as a plain PyTorch script."""
    import torch

    was = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was[0], warn_only=was[1])


#: variant -> the context each of its steps runs in
CONTEXTS = {"eager": contextlib.nullcontext, "compiled": contextlib.nullcontext, "lean": plain_torch,
            "manual attention": manual_attention, "no fill": no_fill}
