"""One CPU training step compiled whole: forward, backward, gradient clipping and the AdamW update as one
``torch.compile`` graph (issue 27).

At the CPU study's shapes (4 layers, 2 heads, n = 128, batch 8, widths 10 to 58) a training step is
overhead, not arithmetic: hundreds of small kernels, each paying the dispatcher, the autograd engine and
a memory round trip. Compiling the whole step (``torch.func.grad_and_value`` of the loss, the clipping
and the update in one function) lets inductor fuse every elementwise op (layer norms, GELU, the rotary
rotation, the masked softmax, log-softmax with the loss, the AdamW arithmetic) into loops around the
matrix multiplies, and run one graph per step instead of ~1,000 eager ops. The model runs in its
compiled layout (``PerceiverAR.use_compiled_layout``): causal attention and GELU through the CPU kernels for
tiny models (``training.kernels``: where they cannot be built, masked batched matmuls, which the compiler fuses,
and inductor's GELU) instead of the CPU flash kernel built for large heads; rotary tables computed once. The
parameters, the gradient and AdamW's moments are flat tensors (:class:`CompiledStep`), and dynamo's guards
are skipped for a batch like the first.

What it computes is today's eager step up to float rounding (``tests/test_model.py`` checks 20 steps at
1e-5 relative): the same loss, ``clip_grad_norm_``'s clipping, and AdamW's foreach arithmetic, with its
state kept in the ``torch.optim.AdamW`` object (``step``, ``exp_avg``, ``exp_avg_sq``), so checkpoints
are the eager loop's and resume either way. A step whose loss or gradient norm is not finite leaves the
weights and the optimizer state as they were (the loop then stops, as it does in eager mode).

The compiled code is deterministic on one machine (no autotuning; one thread's loops in a fixed order),
so a killed run resumed from its checkpoint repeats an uninterrupted one bit for bit. It runs without
deterministic mode's NaN fill of new memory, as it reads no memory it has not written. Compiled code
is cached on disk (inductor's FX graph and AOTAutograd caches) under ``~/.cache/replication/inductor``
(or ``$TORCHINDUCTOR_CACHE_DIR``): a run pays the compilation once per shape, later runs of that shape
only the tracing.
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import torch

from replication.errors import ReplicationError
from replication.training.config import TrainConfig
from replication.training.distributed import Env

#: Where inductor keeps compiled kernels between processes, unless TORCHINDUCTOR_CACHE_DIR says otherwise.
CACHE_DIR = Path.home() / ".cache" / "replication" / "inductor"


def use_cache_dir() -> str:
    """Point inductor's on-disk caches at :data:`CACHE_DIR`, one folder per CPU capability (unless the
    environment names a folder); returns it.

    Inductor's cache does not tell kernels built for one instruction set from another: on this project's
    machine, kernels compiled with the default (AVX512) and read back under ``ATEN_CPU_CAPABILITY=avx2``
    gave NaN losses and an out-of-bounds index, where a fresh cache under avx2 trains correctly."""
    folder = CACHE_DIR / torch.backends.cpu.get_cpu_capability().lower()
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(folder))
    return os.environ["TORCHINDUCTOR_CACHE_DIR"]


def compile_model(module, device: str):
    """``torch.compile(module)``, inductor's cache in :data:`CACHE_DIR` (:func:`use_cache_dir`); on a CPU with
    the C++ wrapper, as :class:`CompiledStep`: one library per graph instead of one per kernel, so a cold compile
    costs less (the two compiled models of the test suite, cold: 48 s against 63 s) at the same throughput."""
    use_cache_dir()
    return torch.compile(module, options={"cpp_wrapper": True} if device == "cpu" else None)


def adamw_state(opt: torch.optim.AdamW) -> None:
    """Create AdamW's per-parameter state as its first ``step`` would (a no-op for a resumed optimizer)."""
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state[p]
            if not st:
                st["step"] = torch.tensor(0.0, dtype=torch.float32)
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def flatten(tensors: list[torch.Tensor]) -> torch.Tensor:
    """One contiguous float32 tensor holding ``tensors``' values in order; each tensor's data becomes
    its slice of it (a view), so that what reads or writes the tensor reads or writes the flat one."""
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])
    offset = 0
    for t in tensors:
        t.data = flat[offset:offset + t.numel()].view_as(t)
        offset += t.numel()
    return flat


class CompiledStep:
    """``step(x, y, lr, noise=None) -> (loss, grad_norm)``: one compiled training step of ``model`` with ``opt``.

    ``opt`` must be a ``torch.optim.AdamW`` over all of ``model``'s parameters, without amsgrad, maximize
    or capturable; its parameter groups may differ in weight decay only. The model is switched to its
    compiled layout.

    The parameters, AdamW's two moments and the gradient each live in one flat tensor, and the model's
    parameters and the optimizer's state tensors become views of them: the compiled graph takes four flat
    tensors (the fourth: each element's parameter group) instead of three per parameter (dynamo's guards
    check each input on every call, and the C++ wrapper converts each), and clipping and AdamW are one
    fused loop over the flat tensors instead of a loop per parameter. The optimizer keeps its state in the
    ``torch.optim.AdamW`` object, so its ``state_dict``, checkpoints and an eager step afterwards see what
    the compiled step wrote. Build the step after loading a checkpoint, not before: loading afterwards
    with ``assign=True`` or an optimizer's ``load_state_dict`` would replace the views it updates.
    """

    def __init__(self, model, opt: torch.optim.AdamW, grad_clip: float):
        group, *others = opt.param_groups
        names = [n for n, _ in model.named_parameters()]
        params = [p for _, p in model.named_parameters()]
        owner = {id(p): i for i, g in enumerate(opt.param_groups) for p in g["params"]}
        if sum(len(g["params"]) for g in opt.param_groups) != len(params) or set(owner) != set(map(id, params)):
            raise ValueError("the optimizer must hold each of the model's parameters once")
        if any(g.get("amsgrad") or g.get("maximize") or g.get("capturable") for g in opt.param_groups):
            raise ValueError("the compiled step implements AdamW without amsgrad, maximize or capturable")
        if any((g["betas"], g["eps"]) != (group["betas"], group["eps"]) for g in others):
            raise ValueError("the optimizer's parameter groups must differ in weight decay only")
        if any(p.dtype != torch.float32 or p.device.type != "cpu" for p in params):
            raise ValueError("the compiled step trains float32 parameters on the CPU")
        use_cache_dir()
        model.use_compiled_layout()
        adamw_state(opt)
        self.model, self.opt = model, opt
        self.flat = flatten(params)
        self.exp_avg = flatten([opt.state[p]["exp_avg"] for p in params])
        self.exp_avg_sq = flatten([opt.state[p]["exp_avg_sq"] for p in params])
        # each element's parameter group, whose decay factor 1 - lr * weight_decay the step takes (as AdamW
        # computes it, in double precision)
        self.group_of = torch.cat([torch.full((p.numel(),), owner[id(p)]) for p in params])
        # AdamW's per-parameter step counts as views of one tensor too: one addition a step, where the foreach
        # addition over one 0-d tensor per parameter took 0.18 ms (2.7% of the step at d = 24, torch.profiler)
        self.step = flatten([opt.state[p]["step"] for p in params])
        self._first_step = self.step[:1]  # (a view made once: indexing costs an op per call)
        sizes, shapes = [p.numel() for p in params], [p.shape for p in params]
        beta1, beta2 = group["betas"]
        eps, clip = group["eps"], float(grad_clip)

        def loss_of(ps, x, y, noise):
            return torch.func.functional_call(model, dict(zip(names, ps)), (x, y, noise))[1]

        def whole(p, m, v, group_of, x, y, noise, decays, step_size, bc2_sqrt):
            # the gradient with respect to each parameter's view, then joined: differentiating with respect to
            # the flat tensor instead would sum one zero-padded copy per parameter for every element
            views, offset = [], 0
            for size, shape in zip(sizes, shapes):
                views.append(p[offset:offset + size].view(shape))
                offset += size
            grads, loss = torch.func.grad_and_value(loss_of)(views, x, y, noise)
            g = torch.cat([grad.reshape(-1) for grad in grads])
            # torch.nn.utils.clip_grad_norm_ (the norm of the per-parameter norms; the same to rounding)
            total = g.square().sum().sqrt()
            coef = torch.clamp(clip / (total + 1e-6), max=1.0)
            ok = torch.isfinite(loss) & torch.isfinite(total)
            # torch.optim.AdamW, foreach: decay, lerp, mul + addcmul, sqrt / bc2_sqrt + eps, addcdiv
            g = g * coef
            m_new = m.lerp(g, 1 - beta1)
            v_new = (v * beta2).addcmul(g, g, value=1 - beta2)
            p_new = p * decays[group_of] + step_size * (m_new / (v_new.sqrt() / bc2_sqrt + eps))
            m.copy_(torch.where(ok, m_new, m))
            v.copy_(torch.where(ok, v_new, v))
            p.copy_(torch.where(ok, p_new, p))
            return loss, total

        # the C++ wrapper (the graph's kernel calls in C++, not Python) is bit-identical and faster end to
        # end: the study's d = 24 run at 1e12 (2,782 steps, warm cache) took 47-51 s against 54-59 s
        # without (1.14-1.16x, interleaved), the step alone 1.05x; cold compiles were no slower
        self._compiled = torch.compile(whole, dynamic=False, options={"cpp_wrapper": True})
        self.calls = 0
        self._key = None  # the first call's batch shapes and modes (see _guards)

    def _guards(self, key: tuple):
        """What dynamo checks before running the graph. With its guards skipped (0.24 ms of a 5.8 ms step at
        d = 10) it still checks each tensor input's shape, strides and dtype, but not the rest: the model's
        attributes and mode, the global modes. The key checked here holds what the step's callers can change
        of those (training or eval mode, deterministic algorithms) and whether there is a noise tensor:
        with the key of the first call, the guards are skipped; with another, they run as usual (and
        compile for it)."""
        if key == self._key:
            return torch.compiler.set_stance(skip_guard_eval_unsafe=True)
        return contextlib.nullcontext()

    def __call__(self, x: torch.Tensor, y: torch.Tensor, lr: float, noise: torch.Tensor | None = None):
        groups = self.opt.param_groups
        for group in groups:
            group["lr"] = lr
        beta1, beta2 = groups[0]["betas"]
        t = self._first_step.item() + 1  # AdamW's bias corrections use the step as a float, like _get_value
        f32 = dict(dtype=torch.float32)
        key = (tuple(None if a is None else (a.shape, a.dtype, a.device) for a in (x, y, noise)),
               self.model.training, torch.are_deterministic_algorithms_enabled())
        with torch.no_grad(), self._guards(key), without_memory_fill():
            loss, total = self._compiled(self.flat, self.exp_avg, self.exp_avg_sq, self.group_of, x, y, noise,
                                         torch.tensor([1 - lr * g["weight_decay"] for g in groups], **f32),
                                         torch.tensor(-(lr / (1 - beta1 ** t)), **f32),
                                         torch.tensor((1 - beta2 ** t) ** 0.5, **f32))
        self.calls += 1
        self._key = self._key or key
        if math.isfinite(loss.item()) and math.isfinite(total.item()):  # (torch.isfinite: 4 ops, 0.05 ms)
            self.step.add_(1)
        return loss, total


@contextlib.contextmanager
def without_memory_fill():
    """Deterministic mode fills every new tensor with NaN (``torch.utils.deterministic``), so that a read of
    memory nothing wrote gives the same result on every run. The compiled step writes every buffer before it
    reads it (inductor's kernels and the CPU kernels write their outputs whole), so there the fill
    only costs time: 5-7% of the step at d = 24 (7.32-7.64 against 6.78-7.05 ms, three processes each)."""
    import torch.utils.deterministic as det

    was = det.fill_uninitialized_memory
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        det.fill_uninitialized_memory = was


#: Fewest steps (left to train) for which the CPU loop compiles the whole step (``REPLICATION_CPU_STEP``
#: unset or ``auto``): below, compiling costs more than it saves. Measured end to end: ``get_or_train`` of the
#: study's d = 24 run at 1e12 executed FLOPs (2,782 steps), OMP_NUM_THREADS=1, process start to summary, an
#: AVX-512 Xeon, eager and compiled interleaved: eager 46.7 and 44.8 s; compiled 30.8 and 30.1 s with a warm
#: cache, 56.0 s cold (empty inductor and kernel caches). With the step 7.9 ms faster compiled (``replication
#: bench study``: 14.9 against 7.0 ms), the compiled run costs about 7 s more outside its steps warm and 32 s
#: cold: it pays from about 850 steps warm and 4,100 cold. 5,000 leaves a margin for the one cold compilation
#: per width and machine, which a study's first long run of each width pays and its later runs find cached. A
#: threshold that knows whether the cache is warm is left to do.
MIN_COMPILED_STEPS = 5000


def cpu_step(cfg: TrainConfig, env: Env, accum: int, steps_left: int) -> str:
    """``"compiled"`` (:class:`CompiledStep`) or ``"eager"``: how the loop runs a step.

    The compiled step is for one CPU process without micro-batches, activation checkpointing or
    ``cfg.compile`` (which compiles the model alone); ``REPLICATION_CPU_STEP=eager|compiled|auto`` chooses,
    ``auto`` (the default) compiles runs of at least :data:`MIN_COMPILED_STEPS` steps left. Both compute
    the same step to float rounding, so the choice is not part of the run's identity."""
    choice = os.environ.get("REPLICATION_CPU_STEP", "auto") or "auto"
    if choice not in ("auto", "eager", "compiled"):
        raise ReplicationError(f"REPLICATION_CPU_STEP={choice!r}; choose one of: auto, eager, compiled")
    if env.cuda or env.world > 1 or accum > 1 or cfg.activation_checkpointing or cfg.compile or choice == "eager":
        return "eager"
    return "compiled" if choice == "compiled" or steps_left >= MIN_COMPILED_STEPS else "eager"
