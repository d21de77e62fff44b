"""A config's recorded run: returned from the run store if finished, else trained (or resumed) into it.

Asking for a run that has a summary returns it without training; asking for one without a summary
resumes it from its last checkpoint. Nothing is created on disk until the config and the corpus have
been checked. Two processes asking for the same run take turns on the store's file lock; the second finds
the first one's summary.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time

from replication.corpus.documents import check_corpus
from replication.errors import ReplicationError
from replication.store.runs import Run, RunStore
from replication.training import loop
from replication.training.config import TrainConfig
from replication.training.distributed import process_rank


def get_or_train(cfg: TrainConfig, store: RunStore | None = None, progress: bool = True, log=print) -> Run:
    """The run of ``cfg`` in ``store`` (default: the default run store): recorded, resumed, or trained now."""
    store = store if store is not None else RunStore()
    check_corpus(cfg.corpus)
    rid = cfg.run_id()
    run = store.run(rid)
    if run.finished:
        return run
    # under torchrun only rank 0 locks (the others wait for it in the first collective anyway)
    rank = process_rank()
    with store.lock(rid) if rank == 0 else contextlib.nullcontext():
        if run.finished:  # finished by another process while we waited
            return run
        token_data = loop.load_token_data(cfg, store.cache_dir)
        if rank == 0:
            run.write_config(cfg.identity())
        summary = loop.train(cfg, token_data, run_dir=run.dir, ckpt_path=store.checkpoint_path(rid),
                             progress=progress, log=log)
        if summary is not None:  # only rank 0 writes under DDP
            run.write_summary(summary)
    if not run.finished and rank == 0:
        raise ReplicationError(f"run {rid} did not finish")
    return run


def get_or_train_many(cfgs: list[TrainConfig], store: RunStore | None = None, workers: int | None = None,
                      progress: bool = True) -> list[Run]:
    """The runs of many configs, training the missing ones in ``workers`` child processes.

    Small models use two cores poorly from one process, so by default each missing run gets a
    process with an equal share of the cores. The file lock of :func:`get_or_train` keeps two
    studies (or two chapters) that ask for the same run from training it twice.
    """
    from tqdm.auto import tqdm

    store = store if store is not None else RunStore()
    runs = [store.run(cfg.run_id()) for cfg in cfgs]
    todo = list({r.id: cfg for r, cfg in zip(runs, cfgs) if not r.finished}.values())
    if not todo:
        return runs
    cores = os.cpu_count() or 1
    workers = min(len(todo), workers or cores)
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, cores // workers)))
    code = "import sys; from replication.training.runner import _train_in_worker; _train_in_worker(*sys.argv[1:])"
    running: list[tuple[subprocess.Popen, object]] = []
    with tqdm(total=len(todo), desc=f"training {len(todo)} runs, {workers} at a time",
              disable=not progress) as bar:
        while todo or running:
            while todo and len(running) < workers:
                cfg = todo.pop(0)
                log_path = store.log_path(cfg.run_id())
                with open(log_path, "w") as log_file:  # the child keeps its own handle
                    proc = subprocess.Popen([sys.executable, "-c", code, str(store.root),
                                             json.dumps(dataclasses.asdict(cfg))], env=env,
                                            stdout=subprocess.DEVNULL, stderr=log_file)
                running.append((proc, log_path))
            for proc, log_path in list(running):
                if proc.poll() is None:
                    continue
                running.remove((proc, log_path))
                if proc.returncode:
                    for other, _ in running:
                        other.terminate()
                    err = log_path.read_text().strip().splitlines()
                    raise ReplicationError(f"training failed ({log_path}): {err[-1] if err else proc.returncode}")
                bar.update()
            time.sleep(0.2)
    return runs


def _train_in_worker(root: str, cfg_json: str) -> None:
    cfg = TrainConfig.from_dict(json.loads(cfg_json))
    get_or_train(cfg, RunStore(root), progress=False, log=lambda *a, **k: None)
