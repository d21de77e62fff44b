"""The training steps ``replication bench study`` measures: the study's step of a width (:func:`make_step`:
eager, compiled whole, or the lean decoder's), and what each other variant changes, as a context its steps
run in (attention written out, deterministic mode without the memory fill, plain PyTorch for the lean
decoder).

torch and the training modules (which import it) load inside the functions: ``replication bench study``
answers ``--help`` and a bad value without loading torch.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import tempfile
import time

from replication.errors import ReplicationError, check_choice
from replication.repository import TOOLS_DIR
from replication.studies.chinchilla_design import DEFAULT, WIDTHS


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


def no_fill():
    """Deterministic mode without filling uninitialized memory, inside the block (as the compiled step runs)."""
    from replication.training.step import without_memory_fill

    return without_memory_fill()


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
CONTEXTS = {"eager": contextlib.nullcontext, "compiled": contextlib.nullcontext,
            "no kernels": contextlib.nullcontext, "lean": plain_torch, "manual attention": manual_attention,
            "no fill": no_fill}


def train_config(width: int):
    """The study's TrainConfig of a width (its smallest budget: only the recipe matters here)."""
    check_choice("widths", width, WIDTHS)
    return DEFAULT.config(DEFAULT.widths.index(width), DEFAULT.budgets[0])


@contextlib.contextmanager
def as_the_loop_runs(threads: int):
    """``threads`` torch threads and deterministic algorithms (warnings only), as ``train`` sets them on
    the CPU, restored afterwards; and freed memory kept in the process (``training.allocator``), as ``train``
    keeps it on the CPU, for the rest of the process: every variant runs with it, the lean decoder too."""
    import torch
    import torch.utils.deterministic as det

    from replication.training.allocator import retain_freed_memory

    retain_freed_memory()

    was = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
           torch.is_deterministic_algorithms_warn_only_enabled(), det.fill_uninitialized_memory)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(was[0])
        torch.use_deterministic_algorithms(was[1], warn_only=was[2])
        det.fill_uninitialized_memory = was[3]


#: How many random batches a benchmark's steps take in turn. One batch, repeated, is learnt by heart: its
#: probabilities run toward zero and the arithmetic into subnormal numbers, which slow every variant, each
#: by its own amount (the compiled step at d = 24 took 9.2 ms a step with subnormals flushed to zero and
#: 18.7 ms without, over 400 steps), where training, which never repeats a batch within a few steps, does
#: not. 16 batches in turn did not slow down over 400 steps.
BATCHES = 16


def random_batches(batch_size: int, length: int, targets: int, vocab: int, seed: int):
    """An endless iterator over :data:`BATCHES` random (inputs, targets) batches, drawn once, in turn."""
    import itertools

    import torch

    g = torch.Generator().manual_seed(seed)
    drawn = [(torch.randint(0, vocab, (batch_size, length), generator=g),
              torch.randint(0, vocab, (batch_size, targets), generator=g)) for _ in range(BATCHES)]
    return itertools.cycle(drawn)


def make_step(width: int, compile: bool = False, seed: int = 0, variant: str = "eager"):
    """A closure running one training step of the study's model of ``width``, on the next of
    :data:`BATCHES` random batches in turn; it returns the loss. ``variant``: ``eager`` (today's loop step),
    ``compiled`` (the whole step compiled, ``replication.training.step``), ``no kernels`` (the same without the
    CPU kernels of ``training.kernels``: attention as masked matmuls, inductor's GELU) or ``lean``
    (``tools/lean_decoder.py``, a plain nanoGPT-style decoder of the same parameter count)."""
    import torch

    from replication.training.distributed import Env
    from replication.training.loop import adamw
    from replication.training.model import PerceiverAR

    if variant == "lean":
        return _lean_module().make_step(width, seed)
    cfg = train_config(width)
    m = cfg.model
    torch.manual_seed(seed)
    model = PerceiverAR(m)
    model.train()
    opt = adamw(model, cfg, Env("cpu", "fp32"))
    batches = random_batches(cfg.batch_size, m.max_seq_len, m.num_latents, m.vocab_size, seed)
    if variant in ("compiled", "no kernels"):
        from replication.training.step import CompiledStep

        whole = CompiledStep(model, opt, cfg.grad_clip)
        if variant == "no kernels":
            model.use_compiled_layout(cpu_kernels=False)

        def compiled_step() -> float:
            x, y = next(batches)
            loss, _ = whole(x, y, cfg.lr)
            return loss.item()

        return compiled_step
    model.use_cpu_kernels()  # as the loop trains on a CPU
    fwd = torch.compile(model) if compile else model

    def step() -> float:
        x, y = next(batches)
        _, loss = fwd(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    return step


def _lean_module():
    """tools/lean_decoder.py of this checkout, imported by path (tools/ is not a package)."""
    path = TOOLS_DIR / "lean_decoder.py"
    if not path.is_file():
        raise ReplicationError(f"bench study: the lean decoder {path} is not there (a checkout of the repository has it)")
    spec = importlib.util.spec_from_file_location("lean_decoder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compiled_with_cache(width: int) -> tuple[object, float, float, float]:
    """The compiled variant's step, with its compile times (the first call): cold (an empty cache folder)
    and warm (the same folder after the dynamo caches are dropped; a new process also pays its imports and
    tracing), and the loss of its first step."""
    import torch

    was = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-study-inductor-") as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        try:
            for _ in range(2):
                torch._dynamo.reset()
                fn = make_step(width, variant="compiled")
                t0 = time.perf_counter()
                loss = fn()
                times.append(time.perf_counter() - t0)
        finally:
            if was is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = was
    return fn, times[0], times[1], loss
