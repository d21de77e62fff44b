"""GELU on a CPU through a fused C++ kernel (``gelu.cpp``) that also returns its slope, so that the backward is one
multiplication.

In the compiled step at the study's shapes (the MLP's 4d hidden channels of 1,024 tokens), GELU forward and
backward took about 12% of the step at width 58 (perf): inductor's loops compute erf (one exponential) in the
forward, and erf again and the normal density (two more) in the backward. The kernel computes y = x Phi(x) and
its slope Phi(x) + x phi(x) in the forward from one exponential, exp(-x^2 / 2), which erf's formula
(Abramowitz and Stegun 7.1.26, the one PyTorch's vectorized erf uses) and the density share; the backward is
the incoming gradient times the saved slope, which takes the place of the saved input. Measured in separate
processes, four alternating pairs of 500 compiled steps each, one thread: 7.46 to 6.86 ms at width 24 and 20.19
to 18.36 ms at 58 (medians).

The op ``replication::gelu`` is defined in :mod:`.kernels` and built with the other CPU kernels. What it computes
is F.gelu and its derivative up to float rounding (``tests/test_gelu.py`` compares both in float64). Its
backward treats the slope as a constant: no second derivatives.
"""
from __future__ import annotations

import torch

from replication.training.kernels import LIBRARY, available


@torch.library.register_fake("replication::gelu", lib=LIBRARY)
def _(x):
    return x.new_empty(x.shape), x.new_empty(x.shape)  # contiguous, as the kernel's


def serves(x: torch.Tensor) -> bool:
    """Whether the kernel takes x: float32 on a CPU."""
    return x.device.type == "cpu" and x.dtype == torch.float32


class _Gelu(torch.autograd.Function):
    """The op for autograd (with ``setup_context``, which ``torch.func`` takes): saves the slope, not x."""

    @staticmethod
    def forward(x):
        return torch.ops.replication.gelu(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, dy, _dslope):
        return dy * ctx.saved_tensors[0]


def gelu(x: torch.Tensor) -> torch.Tensor:
    """F.gelu(x) (the exact, erf form) through the kernel. Requires :func:`~.kernels.available` and :func:`serves`."""
    # (whether the kernel is built is asked outside compiled code: tracing it would break the graph)
    if not serves(x) or not (torch.compiler.is_compiling() or available()):
        raise ValueError(f"gelu: the kernel is unavailable or does not serve x of {x.dtype} on {x.device} "
                         "(float32 on a CPU)")
    return _Gelu.apply(x.contiguous())[0]
