"""Training Perceiver AR (or, with no prefix, a plain decoder): the loop, its schedule, its checkpoints.

nanoGPT-style: one loop, AdamW, linear warmup then cosine decay to 10% of the peak learning rate at
the last step, gradient clipping, gradient accumulation when the global batch does not fit.

The step count comes from a compute budget C the way the article does it: D_iso = C / C_self per latent
token (``replication.estimate``, corrected accounting by default) and steps = ceil(D_iso / (n B)). The
FLOPs actually spent in the self- and cross-attention parts are recorded separately.

Devices (``replication.training.distributed``): CUDA gets bf16 autocast, TF32, a fused AdamW and optional
``torch.compile``; several GPUs through ``torchrun --nproc_per_node=G -m replication train ...`` (DDP,
the same script). The CPU trains in fp32 on all cores, deterministically, so a run killed at any point
and resumed from its last checkpoint ends with bit-identical weights and loss.

Data and randomness (:func:`global_batch`). Step s of a run with seed k trains on one global batch of
B examples, whatever the number of processes G and micro-batches A:

* the B windows are drawn by one generator seeded with (k x 1_000_003 + s) x 64, and each example's
  prefix-dropout noise (a row of B x P uniform numbers) by another seeded with k x 1_000_003 + s;
* process r takes examples r B/G .. (r+1) B/G - 1 of that draw, in A micro-batches of B/(G A) in order;
* the gradient is the mean over the B examples (each micro-batch's loss over A, DDP's mean over G), and
  the logged loss is that mean too.

So an example and its dropout mask depend on (seed, step, position in the global batch) and on nothing
else: a G-process run sees exactly the batches of a 1-process run, and its loss curve equals it up to
the order of floating-point sums. Nothing random is saved in a checkpoint; it is all recomputed from
the step. With one process, micro-batches or not, these are the draws of the code that trained the
recorded runs (it drew the windows micro-batch after micro-batch from the same generator, and the noise
inside the forward pass from torch's default generator, reseeded with k x 1_000_003 + s each step), so a
recorded run retrained on the same CPU kernels repeats its metrics bit for bit.

Checkpoints (:func:`save_checkpoint`, :func:`read_checkpoint`) hold tensors and plain values only and are
loaded with ``weights_only=True``: a checkpoint is a file anyone could have put there, and a full unpickler
runs the code it names. Each carries its run id and config hash, so a checkpoint moved to another run's
place is refused instead of continuing that run with foreign weights. A write that fails (a full disk)
stops the run in one line naming the file; metrics.jsonl is cut back to the last good checkpoint, which
the next start resumes from.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

from replication.corpus.streams import TokenData, load_data
from replication.errors import ReplicationError
from replication.files import atomic_write, atomic_write_text
from replication.store.runs import read_metrics
from replication.training.config import TrainConfig
from replication.training.distributed import Env, gradient_sync, mean_over_processes, setup_env, shutdown, wrap
from replication.training.model import PerceiverAR
from replication.training.signals import signals_held


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


def load_token_data(cfg: TrainConfig, cache_dir: Path | None) -> TokenData:
    """The run's token streams, checked to hold at least one window of ``max_seq_len + 1`` tokens each."""
    data = load_data(cfg.corpus, cfg.tokenizer, cfg.val_fraction, split_seed=0, cache_dir=cache_dir)
    need = cfg.model.max_seq_len + 1
    for split, stream in (("train", data.train), ("validation", data.val)):
        if len(stream) < need + 1:
            raise ReplicationError(f"the {split} split of corpus={cfg.corpus!r} has {len(stream)} tokens; "
                                   f"max_seq_len={cfg.model.max_seq_len} needs at least {need + 1}")
    return data


def micro_batches(cfg: TrainConfig, world: int) -> tuple[int, int]:
    """(sequences per forward pass per process, forward passes per step) for ``world`` processes."""
    mb = cfg.micro_batch_size or max(1, cfg.batch_size // world)
    if cfg.batch_size % (mb * world):
        raise ReplicationError(f"batch_size={cfg.batch_size} must be a multiple of micro_batch_size={mb} "
                               f"x processes={world}")
    return mb, cfg.batch_size // (mb * world)


def global_batch(cfg: TrainConfig, data: TokenData, step: int):
    """Step ``step``'s global batch: windows x (B, P + n), next tokens y (B, n) and the prefix-dropout
    noise (B, P), or None when nothing is dropped. Every process draws all of it and takes its rows."""
    m = cfg.model
    seed = cfg.seed * 1_000_003 + step
    x, y = data.batch(cfg.batch_size, m.max_seq_len, m.num_latents, torch.Generator().manual_seed(seed * 64))
    noise = None
    if m.num_prefix and m.prefix_dropout > 0:
        noise = torch.rand(cfg.batch_size, m.num_prefix, generator=torch.Generator().manual_seed(seed))
    return x, y, noise


# --------------------------------------------------------------------------------------------------
# checkpoints


#: What a checkpoint holds besides the weights: which run wrote it and with what config. A checkpoint
#: without these is from before they were recorded and is refused (checkpoints are never committed, so
#: this loses nothing recorded: the run is retrained).
CHECKPOINT_FORMAT = 2
RETRAIN = "retrain the run from step 0 (replication train --retrain)"


def config_sha256(cfg: TrainConfig) -> str:
    """The full SHA-256 of the config's identity (the run id is its first 12 hex digits)."""
    blob = json.dumps(cfg.identity(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def save_checkpoint(path: Path, model, opt, state: dict, cfg: TrainConfig) -> None:
    """Model, optimizer and loop state, written atomically over the previous checkpoint.

    Only tensors and plain Python values go in, so that :func:`read_checkpoint` can load it with
    ``weights_only=True`` (a full unpickler would run whatever code a planted file names)."""
    with signals_held(), atomic_write(path, "wb") as f:
        torch.save({"format": CHECKPOINT_FORMAT, "run_id": cfg.run_id(), "config_sha256": config_sha256(cfg),
                    "model": model.state_dict(), "optimizer": opt.state_dict(), "state": state}, f)


def _load_error(err: Exception) -> str:
    """torch's reason for refusing a file, in one line (without its advice to load it unsafely)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reason = next((line for line in lines if "unsupported GLOBAL" in line or "Unsupported" in line), None)
    return reason or (lines[-1] if len(lines) == 1 else type(err).__name__)


def read_checkpoint(path: Path, cfg: TrainConfig, device: str = "cpu") -> dict:
    """The checkpoint at ``path``, loaded without running code from it and checked to be this run's.

    Raises ReplicationError (one line naming the file) for a file that is not plain tensors and numbers,
    one of another run or another config, and one written before checkpoints recorded their run."""
    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # an unpickler's errors are many (UnpicklingError, RuntimeError, EOFError...)
        raise ReplicationError(f"checkpoint {path} cannot be loaded as plain tensors and numbers "
                               f"({_load_error(err)}): not a checkpoint of this code, or damaged; delete it or "
                               f"{RETRAIN}") from None
    if not isinstance(ck, dict) or not {"model", "optimizer", "state"} <= set(ck):
        raise ReplicationError(f"checkpoint {path} is not a training checkpoint (no model, optimizer and loop "
                               f"state); delete it or {RETRAIN}")
    if "run_id" not in ck or "config_sha256" not in ck:
        raise ReplicationError(f"checkpoint {path} was written before checkpoints recorded their run id and "
                               f"config hash: {RETRAIN}")
    rid, sha = cfg.run_id(), config_sha256(cfg)
    if ck["run_id"] != rid or ck["config_sha256"] != sha:
        theirs = str(ck["config_sha256"])[:16]
        raise ReplicationError(f"checkpoint {path} is of run {ck['run_id']!r} (config {theirs}), "
                               f"not of run {rid!r} (config {sha[:16]}) that resumes from it; delete it or {RETRAIN}")
    state = ck["state"]
    step = state.get("step") if isinstance(state, dict) else None
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= cfg.num_steps():
        raise ReplicationError(f"checkpoint {path} holds step={step!r}, not a step of this run "
                               f"(0..{cfg.num_steps()}); delete it or {RETRAIN}")
    return ck


def load_checkpoint(path: Path, model, opt, device: str, cfg: TrainConfig) -> dict:
    """Restore model and optimizer from ``path`` (:func:`read_checkpoint`); returns the loop state."""
    ck = read_checkpoint(path, cfg, device)
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ReplicationError(f"checkpoint {path} does not fit this run's model or optimizer ({msg}); "
                               f"delete it or {RETRAIN}") from None
    return ck["state"]


@contextlib.contextmanager
def _writing(path: Path):
    """Name ``path`` in an OSError raised while writing it (a failed fsync or write names no file)."""
    try:
        yield
    except OSError as err:
        err.filename = str(path)
        raise


def _finite_weights(model) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _truncate_metrics(path: Path, step: int, cfg: TrainConfig, total: int) -> None:
    """Drop records past the checkpoint (they will be logged again) and a half-written last line, after
    checking that every record up to the checkpoint is there (resuming must not hide a gap)."""
    if not path.is_file():
        return
    keep = [r for r in read_metrics(path, partial_last_line=True) if r["step"] <= step]
    for kind, interval in (("train", cfg.log_interval), ("val", cfg.eval_interval)):
        want = [s for s in range(1, step + 1) if s % interval == 0 or s == total]
        have = [r["step"] for r in keep if r["kind"] == kind]
        if have != want:
            raise ReplicationError(f"{path} holds {kind} records at {len(have)} steps up to the checkpoint at "
                                   f"step {step}, {len(want)} expected: records are missing or repeated; "
                                   "retrain the run from step 0 (replication train --retrain)")
    atomic_write_text(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in keep))


# --------------------------------------------------------------------------------------------------
# the loop


#: Fewest steps (left to train) for which the CPU loop compiles the whole step (``REPLICATION_CPU_STEP``
#: unset or ``auto``): below, compiling costs more than it saves. Measured end to end (``replication train``
#: of the study's d = 24 run at 1e12 executed FLOPs, 2,782 steps, OMP_NUM_THREADS=1, process start to
#: summary, a 2-core machine at load 3-5, eager and compiled interleaved): a step takes 16.8 ms eager and
#: 13.0 ms compiled (3.8 ms saved); the compiled run costs ~9 s more outside its steps with a warm
#: compile cache (tracing, loading the cached graph) and ~67 s more with a cold one, so it breaks even near
#: 2,400 steps warm and 17,600 cold (whole run: eager 56 s, compiled 55 s warm, 112 s cold; medians; with
#: the C++ wrapper adopted since (training/step.py), 47-51 s warm and 84 s cold, so breaking even sooner).
#: 5,000 leaves a margin for the one cold compilation per shape, which a study's first long run of each
#: width pays and its later runs find cached; a lower threshold would gain seconds at best.
MIN_COMPILED_STEPS = 5000


def cpu_step(cfg: TrainConfig, env: Env, accum: int, steps_left: int) -> str:
    """``"compiled"`` (``replication.training.step``) or ``"eager"``: how the loop runs a step.

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


def train(cfg: TrainConfig, data: TokenData, run_dir: Path | None = None, ckpt_path: Path | None = None,
          progress: bool = True, log=print, env: Env | None = None) -> dict | None:
    """Train (or resume) one run; returns its summary (None on DDP ranks other than 0).

    ``run_dir`` receives metrics.jsonl; ``ckpt_path`` the checkpoint it resumes from, if present.
    ``env``, where to train, is :func:`setup_env` by default (the tests pass a CPU with bf16 autocast).
    """
    env = env if env is not None else setup_env()
    m = cfg.model
    total_steps = cfg.num_steps()
    c_self, c_cross = cfg.flops_per_latent_token()
    mb, accum = micro_batches(cfg, env.world)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    if not env.cuda:
        torch.use_deterministic_algorithms(True, warn_only=True)

    torch.manual_seed(cfg.seed)  # same initial weights on every rank
    model = PerceiverAR(m).to(env.device)
    model.activation_checkpointing = cfg.activation_checkpointing
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2),
                            weight_decay=cfg.weight_decay, **({"fused": True} if env.cuda else {"foreach": True}))
    state = {"step": 0, "wall_s": 0.0}
    resumed = ckpt_path is not None and Path(ckpt_path).is_file()
    if resumed:
        state = load_checkpoint(ckpt_path, model, opt, env.device, cfg)
    metrics_path = Path(run_dir) / "metrics.jsonl" if run_dir is not None else None
    if metrics_path is not None and env.master:
        _truncate_metrics(metrics_path, state["step"], cfg, total_steps)
    if resumed and env.master:  # said once the checkpoint and the records are known to agree
        log(f"resuming from step {state['step']} ({ckpt_path})")
        threads = state.get("threads")
        if not env.cuda and threads is not None and threads != torch.get_num_threads():
            print(f"warning: checkpointed with {threads} torch thread(s), resumed with "
                  f"{torch.get_num_threads()}: the result will not be bit-identical to an uninterrupted run "
                  "(set OMP_NUM_THREADS to match)", file=sys.stderr)
    name = f"run {Path(run_dir).name}" if run_dir is not None else "training"

    net = wrap(model, env)
    if cfg.compile:
        from replication.training.step import use_cache_dir

        use_cache_dir()  # one cache per CPU capability (see there)
    fwd = torch.compile(net) if cfg.compile else net
    # the whole step compiled (replication.training.step), where it applies and pays for its compilation
    fast = None
    if cpu_step(cfg, env, accum, total_steps - state["step"]) == "compiled":
        from replication.training.step import CompiledStep

        fast = CompiledStep(model, opt, cfg.grad_clip)
    tokens_per_step = cfg.batch_size * m.num_latents

    # metrics.jsonl's size when it last matched the checkpoint: a write that fails (a full disk) cuts
    # the file back to it, so the records never run ahead of the checkpoint the run resumes from
    good_size = metrics_path.stat().st_size if metrics_path is not None and metrics_path.is_file() else 0

    def record(rec: dict) -> None:
        if metrics_path is not None and env.master:
            with _writing(metrics_path), open(metrics_path, "a") as f:
                f.write(json.dumps(rec, allow_nan=False) + "\n")

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

    def last_good() -> str:
        return f"step {state['step']} at {ckpt_path}" if ckpt_path and Path(ckpt_path).is_file() \
            else "none written yet"

    try:
        while step < total_steps:
            t0 = time.perf_counter()
            lr = lr_at(step, cfg, total_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            # the step's whole global batch, of which this process takes its rows (the module's
            # docstring): the same examples and masks for any number of processes and micro-batches
            xs, ys, noises = global_batch(cfg, data, step)
            loss_sum = torch.zeros((), device=env.device)
            if fast is not None:
                try:
                    loss, grad_norm = fast(xs, ys, lr, noises)  # forward, backward, clipping and update
                except (KeyboardInterrupt, ReplicationError):
                    raise
                except Exception as err:  # no C++ compiler, an op inductor cannot compile: train eagerly
                    if fast.calls:
                        raise
                    print(f"warning: the compiled training step failed ({_load_error(err)}); training eagerly",
                          file=sys.stderr)
                    fast = None
            for micro in range(0 if fast is not None else accum):
                rows = slice((env.rank * accum + micro) * mb, (env.rank * accum + micro + 1) * mb)
                x, y = xs[rows].to(env.device, non_blocking=True), ys[rows].to(env.device, non_blocking=True)
                noise = None if noises is None else noises[rows].to(env.device, non_blocking=True)
                with gradient_sync(net, env, micro == accum - 1):
                    with env.autocast():
                        _, loss = fwd(x, y, noise)
                    (loss / accum).backward()
                loss_sum += loss.detach()
            if fast is None:
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                train_loss = mean_over_processes(loss_sum / accum, env).item()
            else:
                train_loss = loss.item()
            if not (math.isfinite(train_loss) and math.isfinite(grad_norm.item())):
                raise TrainingDiverged(f"loss={train_loss} grad_norm={grad_norm.item()} at step {step}; "
                                       f"stopped; last good checkpoint: {last_good()}")
            if fast is None:
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
                val_loss = evaluate(model, data, cfg, env)
                if not math.isfinite(val_loss):
                    raise TrainingDiverged(f"validation loss={val_loss} after step {step}; stopped; last good "
                                           f"checkpoint: {last_good()}")
                record({"kind": "val", **at(step), "loss": val_loss,
                        "wall_s": wall0 + time.perf_counter() - t_start})
            if ckpt_path is not None and (step % cfg.checkpoint_interval == 0 or last):
                # only finite checkpoints are kept (checked on every rank: the replicas are identical)
                if not _finite_weights(model):
                    raise TrainingDiverged(f"weights not finite after step {step}; stopped; last good "
                                           f"checkpoint: {last_good()}")
            if ckpt_path is not None and env.master and (step % cfg.checkpoint_interval == 0 or last):
                with signals_held():  # an interrupt arrives once the checkpoint and what says where it is agree
                    with _writing(ckpt_path):
                        save_checkpoint(Path(ckpt_path), model, opt,
                                        {"step": step, "wall_s": wall0 + time.perf_counter() - t_start,
                                         "val_loss": val_loss, "threads": torch.get_num_threads()}, cfg)
                    state = {"step": step}
                    good_size = (metrics_path.stat().st_size if metrics_path is not None and metrics_path.is_file()
                                 else 0)
    except KeyboardInterrupt as err:
        if ckpt_path is None:
            where = "; it was not checkpointed"
        elif Path(ckpt_path).is_file():
            where = f"; it resumes from its checkpoint at step {state['step']}"
        else:
            where = " before its first checkpoint; retrain it from step 0 (replication train --retrain)"
        # the same type: a SIGTERM turned into an interrupt (replication.cli) stays one
        raise type(err)(f"{name} stopped at step {step} of {total_steps}{where}") from None
    except OSError as err:  # a full disk, a quota, a folder made read-only: the file, why, where it resumes
        if metrics_path is not None and env.master:
            with contextlib.suppress(OSError):  # truncating frees space; it needs none
                os.truncate(metrics_path, good_size)
        why = "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err))
        if ckpt_path is not None and Path(ckpt_path).is_file():
            where = f"the run resumes from its last good checkpoint at step {state['step']} ({ckpt_path})"
        elif ckpt_path is not None:
            where = "no checkpoint was written yet: the run starts again from step 0"
        else:
            where = "it was not checkpointed"
        what = f"writing {err.filename}" if err.filename else "a write"
        raise ReplicationError(f"{name} stopped at step {step} of {total_steps}: {what} failed: {why}; {where}") \
            from None
    finally:
        if bar is not None:
            bar.close()
        torch.use_deterministic_algorithms(was_deterministic)
        shutdown(env)
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
        "device": env.describe_device(),
        "precision": env.precision,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "micro_batch_size": mb,
        "compile": cfg.compile,
        "step": "compiled" if fast is not None else "eager",  # replication.training.step; same results to rounding
        "activation_checkpointing": cfg.activation_checkpointing,
    }
