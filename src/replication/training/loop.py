"""Training Perceiver AR (or, with no prefix, a plain decoder) into the run store.

nanoGPT-style: one loop, AdamW, linear warmup then cosine decay to 10% of the peak learning rate at
the last step, gradient clipping, gradient accumulation when the global batch does not fit.

The step count comes from a compute budget C the way the article does it: D_iso = C / C_self per latent
token (``replication.estimate.flops``, corrected accounting by default) and steps = ceil(D_iso / (n B)). The
FLOPs actually spent in the self- and cross-attention parts are recorded separately.

Devices: CUDA gets bf16 autocast, TF32, a fused AdamW and optional ``torch.compile``; several GPUs
through ``torchrun --nproc_per_node=G -m replication train ...`` (DDP, the same script). The CPU trains
in fp32 on all cores, deterministically: every step reseeds from (seed, step), so a run killed at any
point and resumed from its last checkpoint ends with bit-identical weights and loss.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from replication.corpus.data import DATA_VERSION
from replication.errors import ReplicationError, check_range
from replication.training.model import MODEL_VERSION, ModelConfig

ACCOUNTINGS = ("article", "corrected")

# Fields that say how a run is executed, not what it computes: left out of the run id.
EXECUTION_FIELDS = ("micro_batch_size", "compile", "activation_checkpointing", "checkpoint_interval",
                    "log_interval")


class TrainingDiverged(ReplicationError):
    """The loss (or gradient norm) became NaN or Inf; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    corpus: str = "kjv"
    tokenizer: str = "bytes"  # or "sentencepiece:<V>"; model.vocab_size must match
    val_fraction: float = 0.05
    batch_size: int = 80  # global batch, in sequences
    steps: int | None = None  # exactly one of steps and budget_flops
    budget_flops: float | None = None  # C_self of the whole run
    accounting: str = "corrected"  # how budget_flops is turned into steps (replication.estimate.flops)
    lr: float = 2e-4
    min_lr_ratio: float = 0.1
    cosine_cycle_ratio: float = 1.0  # cosine cycle length / run length (Chinchilla Figure A1: > 1 hurts)
    warmup_steps: int = 200
    weight_decay: float = 0.0  # 0 is Adam, as in the article
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 0.5
    eval_interval: int = 100
    eval_windows: int = 64  # validation windows of max_seq_len tokens (a fixed set)
    seed: int = 0
    # execution only (not part of the run id)
    micro_batch_size: int | None = None  # sequences per forward pass per process; None = whole batch
    compile: bool = False
    activation_checkpointing: bool = False  # recompute layer activations in backward (saves memory)
    checkpoint_interval: int = 100
    log_interval: int = 10

    def validate(self) -> "TrainConfig":
        if not isinstance(self.model, ModelConfig):
            raise ReplicationError("model must be a ModelConfig")
        self.model.__post_init__()
        from replication.corpus.data import parse_tokenizer

        kind, vocab = parse_tokenizer(self.tokenizer)
        if self.model.vocab_size != vocab:
            raise ReplicationError(f"vocab_size={self.model.vocab_size} does not match tokenizer "
                                   f"{self.tokenizer!r} (V={vocab})")
        if (self.steps is None) == (self.budget_flops is None):
            raise ReplicationError("give exactly one of steps and budget_flops")
        if self.steps is not None:
            _int("steps", self.steps, 1)
        else:
            if not isinstance(self.budget_flops, (int, float)) or isinstance(self.budget_flops, bool) \
                    or not math.isfinite(self.budget_flops):
                raise ReplicationError(f"budget_flops={self.budget_flops!r} must be a number > 0")
            check_range("budget_flops", self.budget_flops, 0, lo_open=True)
        if self.accounting not in ACCOUNTINGS:
            raise ReplicationError(f"accounting={self.accounting!r}; choose one of: {', '.join(ACCOUNTINGS)}")
        check_range("val_fraction", self.val_fraction, 0.0, 0.5, lo_open=True)
        _int("batch_size", self.batch_size, 1)
        if self.micro_batch_size is not None:
            _int("micro_batch_size", self.micro_batch_size, 1, self.batch_size)
        check_range("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_range("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_range("cosine_cycle_ratio", self.cosine_cycle_ratio, 0.0, 100.0, lo_open=True)
        _int("warmup_steps", self.warmup_steps, 0)
        check_range("weight_decay", self.weight_decay, 0.0)
        check_range("beta1", self.beta1, 0.0, 1.0, hi_open=True)
        check_range("beta2", self.beta2, 0.0, 1.0, hi_open=True)
        check_range("grad_clip", self.grad_clip, 0.0, lo_open=True)
        for name in ("eval_interval", "eval_windows", "checkpoint_interval", "log_interval"):
            _int(name, getattr(self, name), 1)
        _int("seed", self.seed, 0)
        return self

    def identity(self) -> dict:
        """Everything that defines what the run computes, with the model code version."""
        d = asdict(self)
        for name in EXECUTION_FIELDS:
            d.pop(name)
        d["model_version"] = MODEL_VERSION
        d["data_version"] = DATA_VERSION
        return d

    def run_id(self) -> str:
        from replication.store.runs import run_id

        return run_id(self.identity())

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d.pop("model_version", None)
        d.pop("data_version", None)
        model = ModelConfig(**d.pop("model"))
        known = {f.name for f in fields(cls)}
        return cls(model=model, **{k: v for k, v in d.items() if k in known})

    # --- compute accounting ----------------------------------------------------------------------

    def flops_per_latent_token(self) -> tuple[int, int]:
        """(C_self, C_cross) training FLOPs per latent token, from ``replication.estimate.flops``."""
        shape = self.model.shape()
        return shape.self_attn_flops(self.accounting), shape.cross_attn_flops(self.model.prefix_dropout,
                                                                              self.accounting)

    def num_steps(self) -> int:
        if self.steps is not None:
            return self.steps
        c_self, _ = self.flops_per_latent_token()
        d_iso = self.budget_flops / c_self
        return max(1, math.ceil(d_iso / (self.model.num_latents * self.batch_size)))


def _int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReplicationError(f"{name}={value!r} must be an integer >= {lo}")
    return check_range(name, value, lo, hi)


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


def load_token_data(cfg: TrainConfig, cache_dir: Path | None):
    from replication.corpus.data import load_data

    data = load_data(cfg.corpus, cfg.tokenizer, cfg.val_fraction, split_seed=0, cache_dir=cache_dir)
    need = cfg.model.max_seq_len + 1
    for split, stream in (("train", data.train), ("validation", data.val)):
        if len(stream) < need + 1:
            raise ReplicationError(f"the {split} split of corpus={cfg.corpus!r} has {len(stream)} tokens; "
                                   f"max_seq_len={cfg.model.max_seq_len} needs at least {need + 1}")
    return data


# --------------------------------------------------------------------------------------------------
# device setup


@dataclass
class Env:
    device: str
    precision: str
    rank: int = 0
    world: int = 1
    ddp: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0


def setup_env() -> Env:
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
        else:
            device = "cpu"
    else:
        rank, device = 0, "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        # bf16 needs no loss scaling; GPUs without it (pre-Ampere) train in fp32
        precision = "bf16-autocast" if torch.cuda.is_bf16_supported() else "fp32"
    else:
        # all cores, unless the user pinned a thread count (tiny models on a busy machine run
        # faster on one thread than on two that wait for each other)
        if "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
        precision = "fp32"  # bf16 has no fast path on most CPUs (16x slower here)
    return Env(device, precision, rank, world, world > 1)


# --------------------------------------------------------------------------------------------------
# checkpoints


def save_checkpoint(path: Path, model, opt, state: dict) -> None:
    """Atomic: written to a temporary file, fsynced, then renamed over the old checkpoint."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "state": state}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop records past the checkpoint (they will be logged again) and any half-written line."""
    from replication.store.runs import atomic_write_text, read_metrics

    if path.is_file():
        keep = [r for r in read_metrics(path) if r["step"] <= step]
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in keep))


# --------------------------------------------------------------------------------------------------
# the loop


def evaluate(model, data, cfg: TrainConfig, env: Env, autocast) -> float:
    import torch

    m = cfg.model
    model.eval()
    total, count = 0.0, 0
    mb = cfg.micro_batch_size or cfg.batch_size
    with torch.no_grad(), autocast():
        for x, y in data.val_batches(m.max_seq_len, m.num_latents, cfg.eval_windows, mb):
            _, loss = model(x.to(env.device), y.to(env.device))
            total += loss.item() * len(x)
            count += len(x)
    model.train()
    return total / count


def train(cfg: TrainConfig, data, run_dir: Path | None = None, ckpt_path: Path | None = None,
          progress: bool = True, log=print) -> dict | None:
    """Train (or resume) one run; returns its summary (None on DDP ranks other than 0)."""
    import contextlib

    import torch

    from replication.training.model import PerceiverAR

    cfg.validate()
    env = setup_env()
    m = cfg.model
    total_steps = cfg.num_steps()
    c_self, c_cross = cfg.flops_per_latent_token()
    mb = cfg.micro_batch_size or max(1, cfg.batch_size // env.world)
    if cfg.batch_size % (mb * env.world):
        raise ReplicationError(f"batch_size={cfg.batch_size} must be a multiple of micro_batch_size={mb} "
                               f"x processes={env.world}")
    accum = cfg.batch_size // (mb * env.world)
    cuda = env.device.startswith("cuda")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if not cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)

    torch.manual_seed(cfg.seed)  # same initial weights on every rank
    model = PerceiverAR(m).to(env.device)
    model.activation_checkpointing = cfg.activation_checkpointing
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                            weight_decay=cfg.weight_decay, **({"fused": True} if cuda else {"foreach": True}))
    state = {"step": 0, "wall_s": 0.0}
    if ckpt_path is not None and Path(ckpt_path).is_file():
        ck = torch.load(ckpt_path, map_location=env.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        state = ck["state"]
        if env.master:
            log(f"resuming from step {state['step']} ({ckpt_path})")
    metrics_path = Path(run_dir) / "metrics.jsonl" if run_dir is not None else None
    if metrics_path is not None and env.master:
        _truncate_metrics(metrics_path, state["step"])

    net = model
    if env.ddp:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[torch.cuda.current_device()] if cuda else None)
    fwd = torch.compile(net) if cfg.compile else net
    autocast = contextlib.nullcontext
    if env.precision == "bf16-autocast":
        autocast = lambda: torch.autocast("cuda", dtype=torch.bfloat16)  # noqa: E731

    tokens_per_step = cfg.batch_size * m.num_latents

    def record(rec: dict) -> None:
        if metrics_path is not None and env.master:
            with open(metrics_path, "a") as f:
                f.write(json.dumps(rec) + "\n")

    def at(step: int) -> dict:
        d = step * tokens_per_step
        return {"step": step, "latent_tokens": d, "C_self": c_self * d, "C_cross": c_cross * d}

    bar = None
    if progress and env.master:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=state["step"], desc="train", unit="step", dynamic_ncols=True)
    t_start = time.perf_counter()
    wall0 = state["wall_s"]
    val_loss = state.get("val_loss")
    model.train()
    step = state["step"]
    try:
        while step < total_steps:
            t0 = time.perf_counter()
            lr = lr_at(step, cfg, total_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            # everything random in this step (batches, prefix dropout) is a function of (seed, step,
            # rank): that is what makes resuming bit-exact without saving RNG states
            torch.manual_seed(cfg.seed * 1_000_003 + step)
            gen = torch.Generator().manual_seed((cfg.seed * 1_000_003 + step) * 64 + env.rank)
            loss_sum = torch.zeros((), device=env.device)
            for micro in range(accum):
                x, y = data.batch(mb, m.max_seq_len, m.num_latents, gen)
                x, y = x.to(env.device, non_blocking=True), y.to(env.device, non_blocking=True)
                sync = contextlib.nullcontext() if not env.ddp or micro == accum - 1 else net.no_sync()
                with sync:
                    with autocast():
                        _, loss = fwd(x, y)
                    (loss / accum).backward()
                loss_sum += loss.detach()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            train_loss = (loss_sum / accum).item()
            if not (math.isfinite(train_loss) and math.isfinite(grad_norm.item())):
                kept = f"step {state['step']} at {ckpt_path}" if ckpt_path and Path(ckpt_path).is_file() \
                    else "none written yet"
                raise TrainingDiverged(f"loss={train_loss} grad_norm={grad_norm.item()} at step {step}; "
                                       f"stopped; last good checkpoint: {kept}")
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            dt = time.perf_counter() - t0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{train_loss:.4f}", tok_s=f"{tokens_per_step / dt:,.0f}")
            if step % cfg.log_interval == 0 or step == total_steps:
                record({"kind": "train", **at(step), "loss": train_loss, "lr": lr,
                        "latent_tokens_per_s": tokens_per_step / dt})
            last = step == total_steps
            if step % cfg.eval_interval == 0 or last:
                val_loss = evaluate(model, data, cfg, env, autocast)
                record({"kind": "val", **at(step), "loss": val_loss,
                        "wall_s": wall0 + time.perf_counter() - t_start})
            if ckpt_path is not None and env.master and (step % cfg.checkpoint_interval == 0 or last):
                save_checkpoint(Path(ckpt_path), model, opt,
                                {"step": step, "wall_s": wall0 + time.perf_counter() - t_start,
                                 "val_loss": val_loss})
                state = {"step": step}
    finally:
        if bar is not None:
            bar.close()
        torch.use_deterministic_algorithms(was_deterministic)
        if env.ddp:
            import torch.distributed as dist

            dist.destroy_process_group()
    if not env.master:
        return None
    wall = wall0 + time.perf_counter() - t_start
    d = total_steps * tokens_per_step
    return {
        "final_val_loss": val_loss,
        "steps": total_steps,
        "latent_tokens": d,
        "C_self": c_self * d,
        "C_cross": c_cross * d,
        "C": (c_self + c_cross) * d,
        "flops_per_latent_token": {"self": c_self, "cross": c_cross, "accounting": cfg.accounting},
        "num_params": model.num_params(),
        "epochs": d / len(data.train),  # latent tokens over the training split's tokens
        "corpus_hash": data.corpus_hash,
        "tokenizer": data.tokenizer.name,
        "train_documents": data.train_documents,
        "train_tokens": int(len(data.train)),
        "val_tokens": int(len(data.val)),
        "wall_s": wall,
        "latent_tokens_per_s": d / wall,  # over the whole run, validation included
        "device": env.device if env.world == 1 else f"{env.world}x{env.device.split(':')[0]}",
        "precision": env.precision,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "micro_batch_size": mb,
        "compile": cfg.compile,
        "activation_checkpointing": cfg.activation_checkpointing,
    }


def run(cfg: TrainConfig | None = None, runs_dir=None, progress: bool = True, **kwargs):
    """The recorded run for a config (trained now if it is not recorded): ``run(steps=100)`` or
    ``run(TrainConfig(...))``. ``kwargs`` are TrainConfig fields; ``model`` may be a dict."""
    from replication.store.runs import RunStore

    if cfg is None:
        if isinstance(kwargs.get("model"), dict):
            kwargs["model"] = ModelConfig(**kwargs["model"])
        cfg = TrainConfig(**kwargs)
    return RunStore(runs_dir).get_or_train(cfg, progress=progress)


# --------------------------------------------------------------------------------------------------
# CLI


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="replication train",
        description="Train a Perceiver AR model (or, with --prefix 0, a decoder-only transformer) into the "
                    "run store, or return the recorded run if it exists. Prints the run directory and the "
                    "final validation loss. Several GPUs: torchrun --nproc_per_node=G -m replication train ...",
    )
    ap.add_argument("--channels", type=int, required=True, help="d, model width (divisible by --heads)")
    ap.add_argument("--layers", type=int, required=True, help="L, attention layers incl. the hybrid layer")
    ap.add_argument("--heads", type=int, default=8, help="attention heads (default 8)")
    ap.add_argument("--latents", type=int, default=512, help="n, latent tokens (default 512)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--max-seq-len", type=int, help="prefix + latents; must exceed --latents")
    g.add_argument("--prefix", type=int, help="P, prefix tokens (default 1536; 0 = plain decoder)")
    ap.add_argument("--prefix-dropout", type=float, default=0.5, help="default 0.5")
    b = ap.add_mutually_exclusive_group(required=True)
    b.add_argument("--budget-flops", type=float, help="C_self of the run; steps = ceil(C/C_self/(n B))")
    b.add_argument("--steps", type=int, help="training steps")
    ap.add_argument("--accounting", default="corrected", help="FLOP accounting for the budget (default corrected)")
    ap.add_argument("--corpus", default="kjv", help="kjv (default), files:<glob>, hf:<name>[:<config>][?...]")
    ap.add_argument("--tokenizer", default="bytes", help="bytes (V=262, default) or sentencepiece:<V>")
    ap.add_argument("--batch-size", type=int, default=80, help="global batch in sequences (default 80)")
    ap.add_argument("--micro-batch-size", type=int, help="sequences per forward pass (gradient accumulation)")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--grad-clip", type=float, default=0.5)
    ap.add_argument("--eval-interval", type=int, default=100, help="validate every k steps (default 100)")
    ap.add_argument("--eval-windows", type=int, default=64, help="validation windows (default 64)")
    ap.add_argument("--checkpoint-interval", type=int, default=100, help="default 100 steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--activation-checkpointing", action="store_true", help="save memory, ~30%% more compute")
    ap.add_argument("--runs-dir", help="run store root (default: runs/ of the checkout, or $REPLICATION_RUNS_DIR)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    return ap


def config_from_args(args) -> TrainConfig:
    from replication.corpus.data import parse_tokenizer

    _, vocab = parse_tokenizer(args.tokenizer)
    if args.max_seq_len is not None:
        if args.max_seq_len <= args.latents:
            raise ReplicationError(f"max_seq_len={args.max_seq_len} must be > latents={args.latents} "
                                   "(use --prefix 0 for a plain decoder)")
        prefix = args.max_seq_len - args.latents
    else:
        prefix = 1536 if args.prefix is None else args.prefix
    model = ModelConfig(vocab_size=vocab, num_latents=args.latents, num_prefix=prefix,
                        num_channels=args.channels, num_layers=args.layers, num_heads=args.heads,
                        prefix_dropout=args.prefix_dropout)
    return TrainConfig(
        model=model, corpus=args.corpus, tokenizer=args.tokenizer, batch_size=args.batch_size,
        steps=args.steps, budget_flops=args.budget_flops, accounting=args.accounting, lr=args.lr,
        warmup_steps=args.warmup_steps, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        eval_interval=args.eval_interval, eval_windows=args.eval_windows, seed=args.seed,
        micro_batch_size=args.micro_batch_size, compile=args.compile,
        activation_checkpointing=args.activation_checkpointing,
        checkpoint_interval=args.checkpoint_interval,
    ).validate()


def cli(argv: list[str]) -> int:
    from replication.store.runs import RunStore

    args = _parser().parse_args(argv)
    cfg = config_from_args(args)
    quiet = args.no_progress or args.json
    run = RunStore(args.runs_dir).get_or_train(cfg, progress=not quiet,
                                               log=(lambda *a: print(*a, file=sys.stderr)))
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if args.json:
        print(json.dumps({"run_dir": str(run.dir), **run.summary}))
    else:
        s = run.summary
        print(run.dir)
        print(f"final validation loss {s['final_val_loss']:.4f} after {s['steps']} steps, "
              f"{s['latent_tokens']:.3g} latent tokens, C_self={s['C_self']:.3g} FLOPs, "
              f"{s['epochs']:.2f} epochs, {s['wall_s']:.1f} s on {s['device']}")
    return 0
