"""A config's recorded run: returned from the run store if finished, else trained (or resumed) into it.

Asking for a run that has a summary returns it without training (after checking its files against the
summary's manifest); asking for one without a summary resumes it from its last checkpoint. A recorded
run is never overwritten: one with records but no checkpoint to resume from is an error until it is
retrained (``retrain=True``, ``replication train --retrain``), which first moves its files to
``runs/.trash/``. Nothing is created on disk until the config, the corpus, the memory the run needs and
the runs folder have been checked. Two processes asking for the same run take turns on the run's claim
(``RunStore.claim``: a file that works across machines on a shared filesystem, taken over when its
holder dies) and the store's file lock; the second finds the first one's summary.

Many runs (:func:`get_or_train_many`) are trained as jobs of :mod:`replication.sweep` on its local
executor (submitit), the path ``replication sweep`` takes on one machine.
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import torch
from filelock import Timeout

from replication.corpus.documents import check_corpus
from replication.errors import ReplicationError
from replication.store.claims import stale_seconds
from replication.store.reading import read_json
from replication.store.runs import Run, RunStore
from replication.training import loop
from replication.training.batches import load_token_data, micro_batches
from replication.training.checkpoints import read_checkpoint
from replication.training.config import TrainConfig
from replication.training.distributed import process_rank


def _gb(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n >= 2**30 else f"{n / 2**20:,.0f} MB"


def memory_limit(cuda: bool) -> tuple[int, str]:
    """The memory one training process may fill, in bytes, and what it is."""
    if cuda:
        index = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.cuda.get_device_properties(index).total_memory, "GPU memory"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:  # a container's limit (cgroup v2), where it is lower
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text != "max" and int(text) < total:
            return int(text), "memory (the container's limit)"
    except (OSError, ValueError):
        pass
    return total, "RAM"


def check_resources(cfg: TrainConfig) -> None:
    """Refuse, before anything is allocated or written, a batch that does not split into this launch's
    micro-batches and a run whose memory estimate (``TrainConfig.memory_estimate``) exceeds the machine's."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    mb, _ = micro_batches(cfg, world)
    cuda = torch.cuda.is_available()
    # bf16 autocast halves most activations (a lower bound there: some stay fp32)
    est = cfg.memory_estimate(mb, activation_bytes=2 if cuda and torch.cuda.is_bf16_supported() else 4)
    limit, what = memory_limit(cuda)
    procs = 1 if cuda else int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))  # CPU processes share the RAM
    if est["total"] * procs > limit:
        each = f" per process, x {procs} processes" if procs > 1 else ""
        raise ReplicationError(
            f"this run needs about {_gb(est['total'] * procs)} of memory ({_gb(est['parameters'])} for the "
            f"parameters, gradients and Adam state, {_gb(est['activations'])} for the activations of a micro-batch "
            f"of {mb} sequences{each}); this machine has {_gb(limit)} of {what}: lower --micro-batch-size or "
            "the model's size")


def _check_resumable(run: Run, ckpt_path: Path, cfg: TrainConfig) -> None:
    """Refuse to train into an unfinished run whose config is not ``cfg`` or whose records would be
    overwritten because there is no checkpoint to resume from."""
    retrain = "retrain it (replication train --retrain, get_or_train(retrain=True)), which first moves " \
              f"its files to {run.dir.parent / '.trash'}"
    if run.config_path.is_file() and read_json(run.config_path, "a run config") != cfg.identity():
        raise ReplicationError(f"run {run.id}: {run.config_path} is not the config whose id is {run.id} (edited "
                               f"or corrupt); {retrain}")
    if ckpt_path.is_file():
        # loaded (safely) and checked to be this run's now, before anything is written: a planted, damaged
        # or swapped checkpoint is refused here, and by the studies before any worker starts
        read_checkpoint(ckpt_path, cfg)
        return
    if run.metrics_path.is_file() and run.metrics_path.stat().st_size:
        raise ReplicationError(f"run {run.id} is incomplete: {run.metrics_path} holds records but there is no "
                               f"summary.json and no checkpoint to resume from ({ckpt_path}); training it "
                               f"from step 0 would overwrite them: {retrain}")


def _why(err: OSError) -> str:
    return "no space left on device" if err.errno == errno.ENOSPC else (err.strerror or str(err))


def get_or_train(cfg: TrainConfig, store: RunStore | None = None, progress: bool = True, log=print,
                 retrain: bool = False, wait: bool = True, claimed: bool = False) -> Run:
    """The run of ``cfg`` in ``store`` (default: the default run store): recorded, resumed, or trained now.

    ``retrain`` moves whatever is recorded of the run (finished or not, its checkpoint too) to
    ``.trash/<id>-<time>/`` in the store and trains it from step 0. While another live worker holds the
    run's claim, ``wait`` waits for it to finish (then returns its run) or, if False, raises
    :class:`~replication.store.claims.RunBusy`. ``claimed``: the caller holds the run's claim already (a
    sweep job, :func:`replication.sweep.jobs.train_job`).
    """
    store = store if store is not None else RunStore()
    check_corpus(cfg.corpus)
    rid = cfg.run_id()
    run = store.run(rid)
    if run.finished and not retrain:
        run.verify()
        return run
    check_resources(cfg)
    # under torchrun only rank 0 locks and writes (the others wait for it in the first collective)
    rank = process_rank()
    if rank == 0:
        store.check_writable()
    try:
        claiming = rank == 0 and not claimed
        with store.claim(rid, wait=wait, log=log) if claiming else contextlib.nullcontext() as claim, \
                _locked(store, rid, claim) if rank == 0 else contextlib.nullcontext():
            if run.finished and not retrain:  # finished by another process while we waited
                run.verify()
                return run
            ckpt_path = store.checkpoint_path(rid)
            if rank == 0 and not retrain:
                _check_resumable(run, ckpt_path, cfg)
            token_data = load_token_data(cfg, store.cache_dir)
            if rank == 0:
                if retrain:
                    moved = store.move_aside(rid)
                    if moved is not None:
                        log(f"moved the recorded files of run {rid} to {moved}")
                for path in store.remove_stray_temporaries(rid):
                    log(f"removed {path}, left by a write that was killed")
                run.write_config(cfg.identity())
            # a retrained run starts from step 0 on every rank, whatever rank 0 has not yet moved aside
            summary = loop.train(cfg, token_data, run_dir=run.dir,
                                 ckpt_path=None if retrain and rank else ckpt_path, progress=progress, log=log)
            if summary is not None:  # only rank 0 writes under DDP
                try:
                    run.write_summary(summary)
                except OSError as err:
                    raise ReplicationError(f"run {rid}: writing {run.summary_path} failed: {_why(err)}; the run "
                                           f"resumes from its last good checkpoint at step {summary['steps']} "
                                           f"({ckpt_path})") from None
    except OSError as err:  # a full disk, a folder made read-only meanwhile: one line naming the file
        where = f"{err.filename}: " if err.filename else ""
        raise ReplicationError(f"run {rid}: {where}{_why(err)}") from None
    if not run.finished and rank == 0:
        raise ReplicationError(f"run {rid} did not finish")
    return run


@contextlib.contextmanager
def _locked(store: RunStore, rid: str, claim):
    """The run's file lock, taken by the holder of its claim. Any live worker that trains the run holds
    its claim, so a lock still held after the claim's staleness period is one that a dead machine left
    on a network filesystem (fcntl locks die with their process on a local disk, not always on NFS)."""
    lock, wait = store.lock(rid), claim.stale_s if claim is not None else stale_seconds()
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise ReplicationError(f"run {rid}: {lock.lock_file} is still locked {wait:g} s after this worker "
                               "claimed the run, though no live worker claims it (a lock a dead machine left on "
                               "a network filesystem?); delete the file if no process trains the run") from None
    try:
        yield lock
    finally:
        lock.release()
