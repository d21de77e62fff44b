"""Training Perceiver AR (or, with no prefix, a plain decoder): the loop and its schedule.

nanoGPT-style: one loop, AdamW, linear warmup then cosine decay to 10% of the peak learning rate at
the last step, gradient clipping, gradient accumulation when the global batch does not fit. Weight
decay, where there is any, applies to the weight matrices of the linear layers (:func:`adamw`).

The step count comes from a compute budget C the way the article does it: D_iso = C / C_self per latent
token (``replication.counting``, corrected accounting by default) and steps = ceil(D_iso / (n B)). The
FLOPs actually spent in the self- and cross-attention parts are recorded separately.

Devices (``replication.training.distributed``): CUDA gets bf16 autocast, TF32, a fused AdamW and optional
``torch.compile``; several GPUs through ``torchrun --nproc_per_node=G -m replication train ...`` (DDP,
the same script). The CPU trains in fp32 on all cores, deterministically, so a run killed at any point
and resumed from its last checkpoint ends with bit-identical weights and loss.

Data and randomness (``replication.training.batches``): step s of a run with seed k trains on one
global batch drawn from (k, s) alone, whatever the number of processes and micro-batches, so that a
G-process run sees exactly the batches of a 1-process run and a recorded run retrained on the same CPU
kernels repeats its metrics bit for bit.

Checkpoints (``replication.training.checkpoints``) hold the weights, the optimizer and the step; only
finite weights are written. A write that fails (a full disk) stops the run in one line naming the file;
metrics.jsonl is cut back to the last good checkpoint, which the next start resumes from.

Host and device (:class:`Trainer`). A step queues its work on the device and returns: nothing is read
back to the host (no ``.item()``, no ``if`` on a tensor, no copy from pageable memory) except after a step
that records, validates or checkpoints (and in the CPU's compiled step, where reading back costs nothing).
A loss or gradient norm that is not finite is noted on the device (:class:`Divergence`) and stops the run
at the next such step, naming the first step it happened at, before anything is recorded or saved. The
throughput recorded with the training loss is over the steps since the last such step.
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from replication.corpus.streams import TokenData
from replication.errors import ReplicationError
from replication.training.allocator import retain_freed_memory
from replication.training.batches import global_batch, micro_batches
from replication.training.checkpoints import (error_line, load_checkpoint, resume_warnings, save_checkpoint,
                                              truncate_metrics, writing)
from replication.training.config import TrainConfig
from replication.training.distributed import Env, gradient_sync, mean_over_processes, setup_env, shutdown, wrap
from replication.training.model import PerceiverAR
from replication.training.signals import signals_held
from replication.training.step import CompiledStep, compile_model, cpu_step


#: Validation windows per forward pass, at least (unless a micro-batch size is set to save memory).
EVAL_BATCH = 64


class TrainingDiverged(ReplicationError):
    """The loss, the gradient norm or the weights became NaN or Inf; the last good (finite) checkpoint is
    kept."""


def lr_at(step: int, cfg: TrainConfig, total: int) -> float:
    """Linear warmup over ``warmup_steps``, then cosine from lr to min_lr_ratio*lr.

    The cosine cycle ends at the last step when ``cosine_cycle_ratio`` is 1; a longer cycle stops the run
    before the rate has decayed fully, as in Chinchilla's Figure A1.
    """
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = round(total * cfg.cosine_cycle_ratio) - 1 - cfg.warmup_steps
    progress = 1.0 if span <= 0 else min(1.0, (step - cfg.warmup_steps) / span)
    lo = cfg.lr * cfg.min_lr_ratio
    return lo + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.lr - lo)


def evaluate(model, data: TokenData, cfg: TrainConfig, env: Env) -> float:
    """Mean loss over the fixed validation windows."""
    m = cfg.model
    model.eval()
    total, count = 0.0, 0
    # without backward, a forward pass holds a third of a training micro-batch's memory; small models
    # run 1.2-1.4x faster per window in batches of 64 than of 8 (replication bench study)
    mb = cfg.micro_batch_size or max(cfg.batch_size, EVAL_BATCH)
    with torch.no_grad(), env.autocast():
        for x, y in data.val_batches(m.max_seq_len, m.num_latents, cfg.eval_windows, mb):
            _, loss = model(x.to(env.device), y.to(env.device))
            total += loss.item() * len(x)
            count += len(x)
    model.train()
    return total / count


def adamw(model, cfg: TrainConfig, env: Env) -> torch.optim.AdamW:
    """AdamW over ``model``'s parameters, decaying those ``cfg.weight_decay_on`` names: ``linear``, the weight
    matrices of the linear layers (embeddings, norms and biases do not decay), or ``all``.

    One parameter group where every parameter decays alike (no decay, or ``all``): the optimizer, and so
    its checkpoints, of the runs recorded before the choice existed. Else two, the decaying matrices
    first, each in the model's order."""
    params = list(model.parameters())
    kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **({"fused": True} if env.cuda else {"foreach": True}))
    if cfg.weight_decay == 0 or cfg.weight_decay_on == "all":
        return torch.optim.AdamW(params, weight_decay=cfg.weight_decay, **kw)
    linear = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    return torch.optim.AdamW([{"params": [p for p in params if id(p) in linear], "weight_decay": cfg.weight_decay},
                              {"params": [p for p in params if id(p) not in linear], "weight_decay": 0.0}], **kw)


class Divergence:
    """The first step whose loss or gradient norm was not finite, kept on the device: noting a step reads
    nothing back to the host; :meth:`check` does, once."""

    def __init__(self, device: str):
        self.step = torch.full((), -1, dtype=torch.int64, device=device)
        self.values = torch.zeros(2, device=device)  # that step's loss and gradient norm

    def note(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        values = torch.stack([loss.detach().float(), grad_norm.detach().float()])
        first = ~torch.isfinite(values).all() & (self.step < 0)
        self.step = torch.where(first, step, self.step)
        self.values = torch.where(first, values, self.values)

    def check(self, last_good: str) -> None:
        """Raise :class:`TrainingDiverged` if a step was noted not finite."""
        step = int(self.step)
        if step >= 0:
            loss, grad_norm = self.values.tolist()
            raise TrainingDiverged(f"loss={loss} grad_norm={grad_norm} at step {step}; stopped; last good "
                                   f"checkpoint: {last_good}")


class Trainer:
    """One run in training: its model, optimizer and step, where it stands, and its records and checkpoint.

    Built, it has resumed from ``ckpt_path`` if there is a checkpoint; :meth:`run` trains the steps left
    and :meth:`summary` says what was trained. ``run_dir`` receives metrics.jsonl."""

    def __init__(self, cfg: TrainConfig, data: TokenData, env: Env, run_dir: Path | None, ckpt_path: Path | None,
                 log=print):
        self.cfg, self.data, self.env, self.log = cfg, data, env, log
        self.total = cfg.num_steps()
        self.c_self, self.c_cross = cfg.flops_per_latent_token()
        self.mb, self.accum = micro_batches(cfg, env.world)
        self.tokens_per_step = cfg.batch_size * cfg.model.num_latents
        self.ckpt_path = Path(ckpt_path) if ckpt_path is not None else None
        self.metrics_path = Path(run_dir) / "metrics.jsonl" if run_dir is not None else None
        self.name = f"run {Path(run_dir).name}" if run_dir is not None else "training"
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model = PerceiverAR(cfg.model).to(env.device)
        self.model.activation_checkpointing = cfg.activation_checkpointing
        self.opt = adamw(self.model, cfg, env)
        self.model.use_cpu_kernels(not (env.cuda or cfg.compile))  # eager CPU steps (not tested compiled alone)
        state = self._resume()
        self.step, self.saved_step = state["step"], state["step"]
        self.wall0, self.val_loss = state["wall_s"], state.get("val_loss")
        # metrics.jsonl's size when it last matched the checkpoint: a write that fails (a full disk) cuts
        # the file back to it, so the records never run ahead of the checkpoint the run resumes from
        self.good_size = self._metrics_size()
        self.net = wrap(self.model, env)
        self.forward = compile_model(self.net, env.device) if cfg.compile else self.net
        # the whole step compiled (replication.training.step), where it applies and pays for its compilation
        compiled = cpu_step(cfg, env, self.accum, self.total - self.step) == "compiled"
        self.fast = CompiledStep(self.model, self.opt, cfg.grad_clip) if compiled else None
        self.divergence = Divergence(env.device)
        self.t_start = time.perf_counter()

    def _resume(self) -> dict:
        """The loop state of the checkpoint, with the model and optimizer restored, and the records cut
        back to it; a fresh state without a checkpoint."""
        env = self.env
        resumed = self.ckpt_path is not None and self.ckpt_path.is_file()
        state = load_checkpoint(self.ckpt_path, self.model, self.opt, env.device, self.cfg) if resumed \
            else {"step": 0, "wall_s": 0.0}
        if self.metrics_path is not None and env.master:
            truncate_metrics(self.metrics_path, state["step"], self.cfg, self.total)
        if resumed and env.master:  # said once the checkpoint and the records are known to agree
            self.log(f"resuming from step {state['step']} ({self.ckpt_path})")
            for warning in [] if env.cuda else resume_warnings(state, torch.get_num_threads(), self.model.cpu_kernels):
                print(f"warning: {warning}", file=sys.stderr)
        return state

    def _metrics_size(self) -> int:
        path = self.metrics_path
        return path.stat().st_size if path is not None and path.is_file() else 0

    def _last_good(self) -> str:
        return f"step {self.saved_step} at {self.ckpt_path}" if self._checkpointed() else "none written yet"

    def _checkpointed(self) -> bool:
        return self.ckpt_path is not None and self.ckpt_path.is_file()

    def _wall(self) -> float:
        return self.wall0 + time.perf_counter() - self.t_start

    # --- one step ---------------------------------------------------------------------------------

    def train_step(self, step: int) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Step ``step`` (from 0): forward, backward and update on its global batch (the module's
        docstring: the same examples and masks for any number of processes and micro-batches). Returns
        the loss over the global batch and the gradient norm, on the device, and the learning rate."""
        lr = lr_at(step, self.cfg, self.total)
        for group in self.opt.param_groups:
            group["lr"] = lr
        xs, ys, noises = global_batch(self.cfg, self.data, step)
        if self.fast is not None:
            try:
                loss, grad_norm = self.fast(xs, ys, lr, noises)  # forward, backward, clipping and update
                return loss, grad_norm, lr
            except (KeyboardInterrupt, ReplicationError):
                raise
            except Exception as err:  # no C++ compiler, an op inductor cannot compile: train eagerly
                if self.fast.calls:
                    raise
                print(f"warning: the compiled training step failed ({error_line(err)}); training eagerly",
                      file=sys.stderr)
                self.fast = None
        loss, grad_norm = self._eager_step(xs, ys, noises)
        return loss, grad_norm, lr

    def _eager_step(self, xs, ys, noises) -> tuple[torch.Tensor, torch.Tensor]:
        env, mb, accum = self.env, self.mb, self.accum
        if env.cuda:  # a copy from pageable memory waits for the work queued on the GPU; from pinned, not
            xs, ys = xs.pin_memory(), ys.pin_memory()
            noises = None if noises is None else noises.pin_memory()
        loss_sum = torch.zeros((), device=env.device)
        for micro in range(accum):
            rows = slice((env.rank * accum + micro) * mb, (env.rank * accum + micro + 1) * mb)
            x, y = xs[rows].to(env.device, non_blocking=True), ys[rows].to(env.device, non_blocking=True)
            noise = None if noises is None else noises[rows].to(env.device, non_blocking=True)
            with gradient_sync(self.net, env, micro == accum - 1):
                with env.autocast():
                    _, loss = self.forward(x, y, noise)
                (loss / accum).backward()
            loss_sum += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        mean_loss = mean_over_processes(loss_sum / accum, self.env)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return mean_loss, grad_norm

    # --- the steps that read back: records, validation, checkpoints -------------------------------

    def _record(self, rec: dict) -> None:
        if self.metrics_path is not None and self.env.master:
            with writing(self.metrics_path), open(self.metrics_path, "a") as f:
                f.write(json.dumps(rec, allow_nan=False) + "\n")

    def _at(self, step: int) -> dict:
        d = step * self.tokens_per_step
        return {"step": step, "latent_tokens": d, "C_self": self.c_self * d, "C_cross": self.c_cross * d}

    def _after(self, step: int, loss: torch.Tensor, lr: float, bar) -> None:
        """What happens after step ``step`` (counted from 1) where anything does: the divergence check,
        the training record, validation, the checkpoint; nothing, and nothing read back, elsewhere."""
        cfg, last = self.cfg, step == self.total
        logs, validates = step % cfg.log_interval == 0 or last, step % cfg.eval_interval == 0 or last
        saves = self.ckpt_path is not None and (step % cfg.checkpoint_interval == 0 or last)
        if not (logs or validates or saves):
            return
        self.divergence.check(self._last_good())
        if logs:
            train_loss = loss.item()
            rate = self.tokens_per_step * (step - self.since_step) / (time.perf_counter() - self.since)
            self._record({"kind": "train", **self._at(step), "loss": train_loss, "lr": lr, "latent_tokens_per_s": rate})
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.4f}", tok_s=f"{rate:,.0f}")
        if validates:
            self.val_loss = evaluate(self.model, self.data, cfg, self.env)
            if not math.isfinite(self.val_loss):
                raise TrainingDiverged(f"validation loss={self.val_loss} after step {step}; stopped; last good "
                                       f"checkpoint: {self._last_good()}")
            self._record({"kind": "val", **self._at(step), "loss": self.val_loss, "wall_s": self._wall()})
        if saves:
            self._save(step)
        self.since, self.since_step = time.perf_counter(), step

    def _save(self, step: int) -> None:
        # only finite checkpoints are kept (checked on every rank: the replicas are identical)
        if not bool(torch.stack([torch.isfinite(p).all() for p in self.model.parameters()]).all()):
            raise TrainingDiverged(f"weights not finite after step {step}; stopped; last good "
                                   f"checkpoint: {self._last_good()}")
        if not self.env.master:
            return
        with signals_held():  # an interrupt arrives once the checkpoint and what says where it is agree
            with writing(self.ckpt_path):
                save_checkpoint(self.ckpt_path, self.model, self.opt,
                                {"step": step, "wall_s": self._wall(), "val_loss": self.val_loss,
                                 "threads": torch.get_num_threads(), "cpu_kernels": self.model.cpu_kernels}, self.cfg)
            self.saved_step, self.good_size = step, self._metrics_size()

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, bar=None) -> None:
        """Train the steps left; an interrupt or a failed write stops the run in one line saying where it
        resumes."""
        self.t_start = self.since = time.perf_counter()
        self.since_step = self.step
        self.model.train()
        try:
            while self.step < self.total:
                loss, grad_norm, lr = self.train_step(self.step)
                self.divergence.note(self.step, loss, grad_norm)
                self.step += 1
                if bar is not None:
                    bar.update(1)
                self._after(self.step, loss, lr, bar)
        except KeyboardInterrupt as err:
            # the same type: a SIGTERM turned into an interrupt (replication.cli) stays one
            raise type(err)(self._stopped_at() + self._resumes_interrupted()) from None
        except OSError as err:  # a full disk, a quota, a folder made read-only: the file, why, where it resumes
            if self.metrics_path is not None and self.env.master:
                with contextlib.suppress(OSError):  # truncating frees space; it needs none
                    os.truncate(self.metrics_path, self.good_size)
            why = "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err))
            what = f"writing {err.filename}" if err.filename else "a write"
            raise ReplicationError(f"{self._stopped_at()}: {what} failed: {why}; {self._resumes_failed()}") from None

    def _stopped_at(self) -> str:
        return f"{self.name} stopped at step {self.step} of {self.total}"

    def _resumes_interrupted(self) -> str:
        if self.ckpt_path is None:
            return "; it was not checkpointed"
        if self._checkpointed():
            return f"; it resumes from its checkpoint at step {self.saved_step}"
        return " before its first checkpoint; retrain it from step 0 (replication train --retrain)"

    def _resumes_failed(self) -> str:
        if self._checkpointed():
            return f"the run resumes from its last good checkpoint at step {self.saved_step} ({self.ckpt_path})"
        if self.ckpt_path is not None:
            return "no checkpoint was written yet: the run starts again from step 0"
        return "it was not checkpointed"

    def summary(self) -> dict:
        """What the run trained, on what data and where (a run's summary.json, less its id and manifest)."""
        cfg, data, env = self.cfg, self.data, self.env
        c_self, c_cross = self.c_self, self.c_cross
        wall = self._wall()
        d = self.total * self.tokens_per_step
        return {
            "final_val_loss": self.val_loss,
            "steps": self.total,
            "latent_tokens": d,
            "C_self": c_self * d,
            "C_cross": c_cross * d,
            "C": (c_self + c_cross) * d,
            "flops_per_latent_token": {"self": c_self, "cross": c_cross, "accounting": cfg.accounting},
            "num_params": self.model.num_params(),
            "epochs": d / len(data.train),  # latent tokens over the training split's tokens
            "corpus_hash": data.corpus_hash,
            "tokenizer": data.tokenizer.name,
            "train_documents": data.train_documents,
            "train_tokens": int(len(data.train)),
            "val_tokens": int(len(data.val)),
            "wall_s": wall,
            "latent_tokens_per_s": d / wall,  # over the whole run, validation included
            "device": env.describe_device(),
            "precision": env.precision,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "micro_batch_size": self.mb,
            "compile": cfg.compile,
            "step": "compiled" if self.fast is not None else "eager",  # training.step; same results to rounding
            "activation_checkpointing": cfg.activation_checkpointing,
        }


def train(cfg: TrainConfig, data: TokenData, run_dir: Path | None = None, ckpt_path: Path | None = None,
          progress: bool = True, log=print, env: Env | None = None) -> dict | None:
    """Train (or resume) one run; returns its summary (None on DDP ranks other than 0).

    ``run_dir`` receives metrics.jsonl; ``ckpt_path`` the checkpoint it resumes from, if present.
    ``env``, where to train, is :func:`setup_env` by default (the tests pass a CPU with bf16 autocast).
    """
    env = env if env is not None else setup_env()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if not env.cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)
        retain_freed_memory()
    bar = None
    try:
        trainer = Trainer(cfg, data, env, run_dir, ckpt_path, log)
        if progress and env.master:
            bar = tqdm(total=trainer.total, initial=trainer.step, desc="train", unit="step", dynamic_ncols=True)
        trainer.run(bar)
    finally:
        if bar is not None:
            bar.close()
        torch.use_deterministic_algorithms(was_deterministic)
        shutdown(env)
    return trainer.summary() if env.master else None
