"""A run's checkpoint, and its records cut back to it when the run resumes.

A checkpoint (:func:`save_checkpoint`, :func:`read_checkpoint`) holds tensors and plain values only and
is loaded with ``weights_only=True``: a checkpoint is a file anyone could have put there, and a full
unpickler runs the code it names. Each carries its run id and config hash, so a checkpoint moved to
another run's place is refused instead of continuing that run with foreign weights. Nothing random is
saved: the training loop recomputes every draw from the step (``replication.training.loop``).

A run that resumes keeps the records of metrics.jsonl up to its checkpoint and drops the rest
(:func:`truncate_metrics`), after checking that none is missing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import torch

from replication.errors import ReplicationError
from replication.files import atomic_write, atomic_write_text
from replication.store.reading import read_metrics
from replication.training.config import TrainConfig
from replication.training.signals import signals_held

#: What a checkpoint holds besides the weights: which run wrote it and with what config. A checkpoint
#: without these is from before they were recorded and is refused (checkpoints are never committed, so
#: this loses nothing recorded: the run is retrained).
CHECKPOINT_FORMAT = 2
RETRAIN = "retrain the run from step 0 (replication train --retrain)"


def resume_warnings(state: dict, threads: int, cpu_kernels: bool) -> list[str]:
    """Why a CPU run resumed from a checkpoint's ``state`` will not repeat an uninterrupted run bit for bit: another
    torch thread count (the order of parallel sums) or the CPU kernels (``training.kernels``) on one side only,
    e.g. a machine without a C++ compiler. Both change results by rounding only; a state without the entry
    (written before it was recorded) gives no warning."""
    said = []
    if state.get("threads", threads) != threads:
        said.append(f"checkpointed with {state['threads']} torch thread(s), resumed with {threads} (set "
                    "OMP_NUM_THREADS to match)")
    if state.get("cpu_kernels", cpu_kernels) != cpu_kernels:
        said.append(f"checkpointed {'with' if state['cpu_kernels'] else 'without'} the CPU kernels, resumed "
                    f"{'with' if cpu_kernels else 'without'} them (training.kernels: a C++ compiler)")
    return [f"{s}: the result will not be bit-identical to an uninterrupted run" for s in said]


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


def error_line(err: Exception) -> str:
    """torch's reason for an error, in one line (without its advice to load a file unsafely)."""
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
                               f"({error_line(err)}): not a checkpoint of this code, or damaged; delete it or "
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
def writing(path: Path):
    """Name ``path`` in an OSError raised while writing it (a failed fsync or write names no file)."""
    try:
        yield
    except OSError as err:
        err.filename = str(path)
        raise


def truncate_metrics(path: Path, step: int, cfg: TrainConfig, total: int) -> None:
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
                                   f"{RETRAIN}")
    atomic_write_text(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in keep))
