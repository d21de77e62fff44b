"""The parts ``replication bench gpu`` measures (:mod:`replication.bench.gpu`, which plans them, keeps to
its time budget and writes the record): a shape's training throughput, the trainer in bf16 against fp32,
and the trainer under DDP against one process.

torch and the training modules (which import it) load inside the functions: ``replication bench gpu``
answers ``--help`` and a bad value without loading torch.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from replication.errors import ReplicationError
from replication.papers.krasser import PREFIX_DROPOUT
from replication.store.reading import read_metrics
from replication.training.config import ModelConfig, TrainConfig
from replication.training.options import arguments


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one invocation measures; :func:`plan` gives the GPU's and the tiny CPU check's."""

    device: str
    shapes: dict
    trainer_shape: dict
    batch_size: int
    warmup: int  # untimed steps (the first one compiles)
    timed: int
    compiled: tuple[str, ...]  # the shapes also measured under torch.compile
    compare_steps: int
    ddp_steps: int
    ddp: bool
    budget_s: float
    tiny: bool = False


def model_flops_per_latent_token(model: ModelConfig) -> int:
    """Training FLOPs per latent token that MFU counts: the article accounting's self-attention part (with
    the embedding and the final logits) plus its cross-attention part, as ``gpu_hours`` counts them."""
    shape = model.shape()
    return shape.self_attn_flops("article") + shape.cross_attn_flops(model.prefix_dropout, "article")


@contextlib.contextmanager
def tf32(allowed: bool):
    """TF32 matmuls on or off (on is what training uses; off makes fp32 fp32)."""
    import torch

    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allowed
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def throughput(p: Plan, name: str, compile: bool) -> dict:
    """Median time of a training step on a fixed random batch of one shape, in bf16 autocast."""
    import torch

    from replication.training.distributed import Env
    from replication.training.model import PerceiverAR

    cuda = p.device.startswith("cuda")
    model_cfg = ModelConfig(**p.shapes[name], prefix_dropout=PREFIX_DROPOUT)
    env = Env(p.device, "bf16-autocast")
    torch.manual_seed(0)
    model = PerceiverAR(model_cfg).to(p.device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, **({"fused": True} if cuda else {"foreach": True}))
    from replication.training.step import compile_model

    fwd = compile_model(model, p.device) if compile else model
    gen = torch.Generator().manual_seed(0)
    b, n, prefix, vocab = p.batch_size, model_cfg.num_latents, model_cfg.num_prefix, model_cfg.vocab_size
    x = torch.randint(0, vocab, (b, prefix + n), generator=gen).to(p.device)
    y = torch.randint(0, vocab, (b, n), generator=gen).to(p.device)
    noise = torch.rand(b, prefix, generator=gen).to(p.device)

    def step():
        with env.autocast():
            _, loss = fwd(x, y, noise)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    step()
    _sync(p.device)
    first = time.perf_counter() - t0
    for _ in range(p.warmup - 1):
        step()
    times = []
    for _ in range(p.timed):
        _sync(p.device)
        t0 = time.perf_counter()
        loss = step().detach()
        _sync(p.device)
        times.append(time.perf_counter() - t0)
    if compile:  # let the compiled graphs (and the model they hold) go before the next shape
        torch._dynamo.reset()
    step_s = statistics.median(times)
    tokens = b * n
    fpt = model_flops_per_latent_token(model_cfg)
    return {"shape": name, **p.shapes[name], "batch_size": b, "num_params": model.num_params(),
            "compile": compile, "precision": env.precision, "timed_steps": p.timed,
            "first_step_s": first, "step_s": step_s, "latent_tokens_per_s": tokens / step_s,
            "model_flops_per_latent_token": fpt, "model_flops_per_s": fpt * tokens / step_s,
            "peak_memory_bytes": torch.cuda.max_memory_allocated() if cuda else None,
            "last_loss": loss.item()}


def _trainer_config(p: Plan, steps: int) -> TrainConfig:
    model = ModelConfig(**p.trainer_shape, prefix_dropout=PREFIX_DROPOUT)
    return TrainConfig(model=model, corpus="kjv", tokenizer="bytes", batch_size=p.batch_size, steps=steps,
                       lr=2e-4, warmup_steps=200, grad_clip=0.5, log_interval=1,
                       eval_interval=max(1, steps // 2), eval_windows=16, seed=0)


def _curves(metrics: Path) -> dict:
    recs = read_metrics(metrics)
    train = [r for r in recs if r["kind"] == "train"]
    return {"train_loss": [r["loss"] for r in train],
            "val": [{"step": r["step"], "loss": r["loss"]} for r in recs if r["kind"] == "val"],
            "latent_tokens_per_s": statistics.median(r["latent_tokens_per_s"] for r in train[len(train) // 4:])}


def precision_comparison(p: Plan, work: Path) -> dict:
    """The trainer for ``compare_steps`` steps from one seed, in bf16 autocast and in fp32 (TF32 off)."""
    import torch

    from replication.training import loop
    from replication.training.batches import load_token_data
    from replication.training.distributed import Env

    cfg = _trainer_config(p, p.compare_steps)
    data = load_token_data(cfg, work / "cache")
    out = {"shape": "2b-reference", **p.trainer_shape, "batch_size": p.batch_size, "steps": p.compare_steps,
           "corpus": "kjv", "tokenizer": "bytes", "lr": cfg.lr, "warmup_steps": cfg.warmup_steps}
    for precision, allow_tf32 in (("bf16-autocast", True), ("fp32", False)):
        run_dir = work / precision
        run_dir.mkdir()
        with tf32(allow_tf32):
            if p.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            summary = loop.train(cfg, data, run_dir=run_dir, progress=False, log=lambda *a: None,
                                 env=Env(p.device, precision))
        out[precision] = {**_curves(run_dir / "metrics.jsonl"), "final_val_loss": summary["final_val_loss"],
                          "tf32": allow_tf32, "wall_s": summary["wall_s"],
                          "peak_memory_bytes": torch.cuda.max_memory_allocated() if p.device.startswith("cuda")
                          else None}
    a, b = out["bf16-autocast"]["train_loss"], out["fp32"]["train_loss"]
    out["max_abs_train_loss_diff"] = max(abs(u - v) for u, v in zip(a, b))
    out["final_val_loss_diff"] = out["bf16-autocast"]["final_val_loss"] - out["fp32"]["final_val_loss"]
    return out


def _trainer_args(p: Plan, steps: int, runs: Path) -> list[str]:
    return ["-m", "replication", "train", *arguments(_trainer_config(p, steps), always=("steps",)).split(),
            "--runs-dir", str(runs), "--no-progress", "--json"]


def ddp(p: Plan, work: Path) -> dict:
    """The trainer for ``ddp_steps`` steps on one process and under torchrun on two."""
    env = dict(os.environ)
    if not p.device.startswith("cuda"):
        env.setdefault("OMP_NUM_THREADS", "1")
    out = {"shape": "2b-reference", **p.trainer_shape, "batch_size": p.batch_size, "steps": p.ddp_steps}
    curves = {}
    for processes in (1, 2):
        runs = work / f"ddp{processes}"
        launch = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"] \
            if processes > 1 else []
        done = subprocess.run([sys.executable, *launch, *_trainer_args(p, p.ddp_steps, runs)],
                              capture_output=True, text=True, env=env)
        if done.returncode:
            tail = done.stderr.strip().splitlines()
            raise ReplicationError(f"bench gpu: the {processes}-process trainer failed: "
                                   f"{tail[-1] if tail else done.returncode}")
        summary = json.loads(done.stdout)
        curves[processes] = _curves(Path(summary["run_dir"]) / "metrics.jsonl")
        out[f"{processes}_process"] = {"device": summary["device"], **curves[processes]}
    out["max_abs_train_loss_diff"] = max(abs(u - v) for u, v in zip(curves[1]["train_loss"],
                                                                     curves[2]["train_loss"]))
    out["speedup"] = curves[2]["latent_tokens_per_s"] / curves[1]["latent_tokens_per_s"]
    return out
