"""Submitting a sweep's jobs through submitit: its local executor (K processes on this machine), and each
job's record in the store, which SLURM's executor (:mod:`replication.sweep.slurm`) writes too.

Every job is :func:`replication.sweep.jobs.train_job` with plain arguments. Its submitit files (the
pickled call, its result, its stdout and stderr) live in ``<runs>/.sweep/<study>/``; the record of the
last job submitted for each run, in ``<runs>/.sweep/jobs/<run id>.json`` (written atomically), is what
``sweep status`` asks the engine about.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from replication.errors import ReplicationError
from replication.files import write_json
from replication.store.claims import stale_seconds
from replication.store.paths import hidden_dir
from replication.store.reading import read_json
from replication.store.runs import RunStore
from replication.sweep.jobs import config_dict, train_job
from replication.training.config import TrainConfig
from replication.training.signals import sigterm_interrupts

EXECUTORS = ("local", "slurm")

#: Local jobs' submitit time limit: none to speak of (a month).
LOCAL_TIMEOUT_MIN = 60 * 24 * 30


def import_submitit():
    try:
        import submitit
    except ImportError:
        raise ReplicationError("the sweep runs its jobs through submitit, which is not installed; allowed: "
                               "pip install submitit (a dependency of this package)") from None
    return submitit


# --------------------------------------------------------------------------------------------------
# job records


def record_path(store: RunStore, rid: str) -> Path:
    return hidden_dir(store.root, "sweep") / "jobs" / f"{rid}.json"


def write_record(store: RunStore, rid: str, executor: str, job_id: str, folder: Path, study: str) -> None:
    write_json(record_path(store, rid), {"run_id": rid, "executor": executor, "job_id": str(job_id),
                                         "folder": str(folder), "study": study, "host": socket.gethostname(),
                                         "submitted": time.time()})


def read_record(store: RunStore, rid: str) -> dict | None:
    path = store.root / ".sweep" / "jobs" / f"{rid}.json"
    if not path.is_file():
        return None
    try:
        return read_json(path, "a sweep job record")
    except ReplicationError:
        return None


def sweep_folder(store: RunStore, study: str) -> Path:
    return hidden_dir(store.root, "sweep") / study


# --------------------------------------------------------------------------------------------------
# the local executor


class JobFailed(ReplicationError):
    """A job ended without its run finished."""


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_line(store: RunStore, rid: str, result_pickle: Path | None = None, returncode=None) -> str:
    """A failed job's last error line: its run's log, else the traceback submitit saved, else how it ended."""
    log = store.log_path(rid) if (store.root / ".logs").is_dir() else None
    if log is not None and log.is_file():
        line = _last_line(log.read_text(errors="replace"))
        if line:
            return line
    if result_pickle is not None and result_pickle.is_file():
        with contextlib.suppress(Exception):
            from submitit.core.utils import pickle_load

            outcome, value = pickle_load(result_pickle)  # written by the job itself: a (str, traceback) pair
            if outcome == "error":
                return _last_line(str(value))
    if returncode is not None and returncode < 0:
        return f"the worker was killed by signal {signal.Signals(-returncode).name}"
    if returncode:
        return f"the worker exited with status {returncode}"
    return "the worker ended without a result (killed?)"


def _outcome(job, store: RunStore, rid: str) -> tuple[str, object]:
    """("success", the job's result dict) or ("error", its last error line)."""
    from submitit.core.utils import pickle_load

    path = job.paths.result_pickle
    code = job._process.returncode if getattr(job, "_process", None) is not None else None
    if path.is_file():
        outcome, value = pickle_load(path)
        if outcome == "success":
            return "success", value
    return "error", failure_line(store, rid, path, code)


def _clean(job) -> None:
    """A successful local job's submitit files: the call, the result, the logs (kept for failures)."""
    p = job.paths
    for path in (p.submitted_pickle, p.result_pickle, p.stdout, p.stderr):
        with contextlib.suppress(OSError):
            path.unlink()


def _live_holder(store: RunStore, rid: str):
    stale = stale_seconds()
    live = [c for c in store.claims(rid) if not c.stale(stale)]
    return live[0] if live else None


@dataclass
class LocalReport:
    results: dict = field(default_factory=dict)  # run id -> the job's result (or {"status": "elsewhere"})
    failed: dict = field(default_factory=dict)  # run id -> last error line
    submitted: int = 0
    stopped: int = 0


def run_local(cfgs: list[TrainConfig], store: RunStore, study: str = "local", max_parallel: int | None = None,
              progress: bool = True, stop_on_failure: bool = True, log=None) -> LocalReport:
    """Train the runs of ``cfgs`` that are not finished, ``max_parallel`` jobs at a time (default: one per
    core, each with an equal share of the cores) through submitit's local executor.

    A run that another live worker holds is not submitted: it is waited for, and submitted if its holder
    dies. A failed job stops the others and raises (``stop_on_failure``), else is reported at the end.
    Ctrl-C or SIGTERM stops every job at its last checkpoint and says so in one line.
    """
    submitit = import_submitit()
    todo = list({c.run_id(): c for c in cfgs if not store.run(c.run_id()).finished}.values())
    report = LocalReport()
    if not todo:
        return report
    cores = os.cpu_count() or 1
    k = min(len(todo), max_parallel or cores)
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cores // k))
    folder = sweep_folder(store, study)
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN)
    pending, running, waiting = list(todo), {}, {}
    say = log or (lambda *a: None)

    def stop_all():
        """SIGTERM to each job (its controller forwards it): the run stops at its last checkpoint. A job
        still starting up (submitit ignores SIGTERM until the training begins) is sent it again."""
        procs = [job._process for job, _ in running.values() if job._process is not None]
        end = time.monotonic() + 60
        while any(p.poll() is None for p in procs) and time.monotonic() < end:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=max(0.0, min(2.0, end - time.monotonic())))
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    with tqdm(total=len(todo), desc=f"training {len(todo)} runs, {k} at a time", disable=not progress) as bar, \
            sigterm_interrupts():
        try:
            while pending or running or waiting:
                for rid, cfg in list(waiting.items()):  # runs held by other workers
                    if store.run(rid).finished:
                        report.results[rid] = {"run_id": rid, "status": "elsewhere"}
                        del waiting[rid]
                        bar.update()
                    elif _live_holder(store, rid) is None:
                        del waiting[rid]
                        pending.append(cfg)
                while pending and len(running) < k:
                    cfg = pending.pop(0)
                    rid = cfg.run_id()
                    if store.run(rid).finished:
                        report.results[rid] = {"run_id": rid, "status": "elsewhere"}
                        bar.update()
                        continue
                    if _live_holder(store, rid) is not None:
                        waiting[rid] = cfg
                        continue
                    with submitit.helpers.clean_env(), _environ(OMP_NUM_THREADS=threads):
                        job = executor.submit(train_job, str(store.root), config_dict(cfg))
                    write_record(store, rid, "local", job.job_id, folder, study)
                    running[rid] = (job, cfg)
                    report.submitted += 1
                for rid, (job, cfg) in list(running.items()):
                    if job._process.poll() is None:
                        continue
                    del running[rid]
                    outcome, value = _outcome(job, store, rid)
                    if outcome == "success" and value.get("status") == "busy":
                        waiting[rid] = cfg  # another worker claimed it first: wait for it
                        _clean(job)
                        continue
                    if outcome == "success":
                        for line in value.get("messages", ()):
                            if "stale claim" in line:
                                say(line)
                        report.results[rid] = value
                        _clean(job)
                        bar.update()
                        continue
                    report.failed[rid] = value
                    if stop_on_failure:
                        stop_all()
                        raise JobFailed(f"training failed ({store.log_path(rid)}): {value}")
                    bar.update()
                time.sleep(0.1)
        except KeyboardInterrupt as err:
            stop_all()
            report.stopped = len(running)
            done = sum(store.run(c.run_id()).finished for c in todo)
            raise type(err)(f"{done} of {len(todo)} runs finished, {len(running)} stopped; asking for them "
                            "again resumes each from its last checkpoint") from None
    return report


@contextlib.contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


