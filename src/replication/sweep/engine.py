"""Submitting a sweep's jobs: submitit's local executor (K processes on this machine) or SLURM (a job
array per set of resources), each job's record in the store, and the resources each job asks for.

Every job is :func:`replication.sweep.jobs.train_job` with plain arguments. Its submitit files (the
pickled call, its result, its stdout and stderr) live in ``<runs>/.sweep/<study>/``; the record of the
last job submitted for each run, in ``<runs>/.sweep/jobs/<run id>.json`` (written atomically), is what
``sweep status`` asks the engine about.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from replication.errors import ReplicationError, check_int, check_number
from replication.files import write_json
from replication.store.runs import RunStore, hidden_dir, read_json
from replication.sweep.jobs import Planned
from replication.sweep.jobs import config_dict, train_command, train_job
from replication.training.config import TrainConfig

EXECUTORS = ("local", "slurm")

#: FLOP/s of one job when the store has no finished run on that kind of device to measure it from:
#: a CPU job of a few cores (our runs measure 1-4e9 per core) and one GPU (an H100 at ~30% of bf16 peak).
DEFAULT_THROUGHPUT = {"cpu": 4e9, "gpu": 3e14}

#: Local jobs' submitit time limit: none to speak of (a month).
LOCAL_TIMEOUT_MIN = 60 * 24 * 30


def _import_submitit():
    try:
        import submitit
    except ImportError:
        raise ReplicationError("the sweep runs its jobs through submitit, which is not installed; allowed: "
                               "pip install submitit (a dependency of this package)") from None
    return submitit


# --------------------------------------------------------------------------------------------------
# resources


@dataclass(frozen=True)
class SlurmOptions:
    """What a user sets of a SLURM job; None: estimated per run (time, memory) or SLURM's default."""

    partition: str | None = None
    account: str | None = None
    time_min: int | None = None
    cpus_per_job: int | None = None
    gpus_per_job: int = 0
    nodes: int = 1
    mem_gb: float | None = None
    constraint: str | None = None
    sbatch: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    throughput: float | None = None
    python: str | None = None

    def __post_init__(self):
        if self.time_min is not None:
            check_int("--time", self.time_min, 1)
        if self.cpus_per_job is not None:
            check_int("--cpus-per-job", self.cpus_per_job, 1)
        check_int("--gpus-per-job", self.gpus_per_job, 0)
        check_int("--nodes", self.nodes, 1)
        if self.mem_gb is not None:
            check_number("--mem-gb", self.mem_gb, 0, lo_open=True)
        if self.throughput is not None:
            check_number("--throughput", self.throughput, 0, lo_open=True)
        for line in self.sbatch:
            sbatch_flag(line)


def sbatch_flag(line: str) -> tuple[str, object]:
    """An extra ``#SBATCH`` line (``--qos=high``, ``#SBATCH --exclusive``, ``--mail-type END``) as
    submitit's (key, value)."""
    text = line.strip()
    if text.startswith("#SBATCH"):
        text = text[len("#SBATCH"):].strip()
    if not text.startswith("--") or len(text) < 3 or any(c in text for c in "\n\r"):
        raise ReplicationError(f"--sbatch={line!r} is not an sbatch option; allowed: --name=value, --name value "
                               "or --flag (with or without a leading #SBATCH)")
    key, sep, value = text[2:].replace(" ", "=", 1).partition("=")
    return key, (value if sep else True)


def measured_throughput(store: RunStore, gpu: bool) -> tuple[float, str]:
    """FLOP/s of one job: the median over the store's finished runs on that kind of device (C / wall
    time, as the summaries record them), else :data:`DEFAULT_THROUGHPUT`; with where it comes from."""
    rates = []
    if store.root.is_dir():
        for p in store.root.glob("*/summary.json"):
            try:
                s = read_json(p, "a run summary")
                if s.get("device", "").startswith("cuda") == gpu and s.get("wall_s", 0) > 0:
                    rates.append(float(s["C"]) / float(s["wall_s"]))
            except (ReplicationError, KeyError, TypeError, ValueError):
                continue
    kind = "gpu" if gpu else "cpu"
    if rates:
        return statistics.median(rates), f"median of {len(rates)} finished {kind} runs in {store.root}"
    return DEFAULT_THROUGHPUT[kind], f"no finished {kind} run in the store: the default for a {kind} job"


def run_flops(cfg: TrainConfig) -> float:
    """The run's training FLOPs (C_self + C_cross under its accounting)."""
    c_self, c_cross = cfg.flops_per_latent_token()
    return float(cfg.num_steps() * cfg.batch_size * cfg.model.num_latents * (c_self + c_cross))


def resources(cfg: TrainConfig, opts: SlurmOptions, throughput: float) -> dict:
    """One job's resources: the user's settings, else a time limit of twice the estimated training time
    (FLOPs over ``throughput``) plus 10 minutes, and memory of 1.5x the run's estimate plus 2 GB."""
    est_s = run_flops(cfg) / throughput / max(1, opts.gpus_per_job * opts.nodes)
    time_min = opts.time_min or max(15, math.ceil((2 * est_s + 600) / 60))
    mb = cfg.micro_batch_size or max(1, cfg.batch_size // max(1, opts.gpus_per_job * opts.nodes))
    mem = cfg.memory_estimate(mb, activation_bytes=2 if opts.gpus_per_job else 4)["total"]
    mem_gb = opts.mem_gb or math.ceil((1.5 * mem + 2 * 2**30) / 2**30)
    cpus = opts.cpus_per_job or (8 * opts.gpus_per_job if opts.gpus_per_job else 2)
    return {"time_min": int(time_min), "estimate_min": round(est_s / 60, 2), "cpus_per_job": int(cpus),
            "gpus_per_job": opts.gpus_per_job, "nodes": opts.nodes, "mem_gb": mem_gb}


def slurm_parameters(res: dict, opts: SlurmOptions, study: str, max_parallel: int | None) -> dict:
    """submitit SlurmExecutor parameters of a job array with resources ``res``."""
    params = {"job_name": f"replication-{study}", "time": res["time_min"], "nodes": res["nodes"],
              "ntasks_per_node": 1, "cpus_per_task": res["cpus_per_job"], "mem": f"{res['mem_gb']:g}GB",
              "signal_delay_s": 120, "stderr_to_stdout": False,
              "setup": ["export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}", *opts.setup]}
    if res["gpus_per_job"]:
        params["gpus_per_node"] = res["gpus_per_job"]
    if max_parallel:
        params["array_parallelism"] = max_parallel
    for key, value in (("partition", opts.partition), ("account", opts.account), ("constraint", opts.constraint)):
        if value:
            params[key] = value
    extra = dict(sbatch_flag(line) for line in opts.sbatch)
    if extra:
        params["additional_parameters"] = extra
    return params


def sbatch_script(params: dict, folder: Path, count: int, python: str | None = None) -> str:
    """The sbatch file submitit writes for an array of ``count`` jobs with ``params``."""
    import shlex

    from submitit.slurm.slurm import _make_sbatch_string

    p = dict(params)
    p.pop("job_name", None)
    command = " ".join([python or shlex.quote(sys.executable), "-u -m submitit.core._submit", shlex.quote(str(folder))])
    return _make_sbatch_string(command=command, folder=folder, job_name=params["job_name"],
                               map_count=count if count > 1 else None, **p)


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
    from replication.store.claims import stale_seconds

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
    from tqdm.auto import tqdm

    from replication.training.runner import sigterm_interrupts

    submitit = _import_submitit()
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


# --------------------------------------------------------------------------------------------------
# SLURM


@dataclass
class Array:
    """One job array: its submitit parameters and its runs."""

    params: dict
    resources: dict
    planned: list


def slurm_arrays(planned: list[Planned], opts: SlurmOptions, study: str, throughput: float,
                 max_parallel: int | None) -> list[Array]:
    """The runs grouped into arrays of equal resources, in plan order of their first run."""
    arrays: dict[str, Array] = {}
    for p in planned:
        res = resources(p.cfg, opts, throughput)
        key = json.dumps({k: v for k, v in res.items() if k != "estimate_min"}, sort_keys=True)
        if key not in arrays:
            arrays[key] = Array(slurm_parameters(res, opts, study, max_parallel), res, [])
        arrays[key].planned.append((p, res))
    return list(arrays.values())


def check_slurm() -> None:
    if shutil.which("sbatch") is None or shutil.which("srun") is None:
        raise ReplicationError("--executor slurm: sbatch and srun are not on PATH (no SLURM on this machine); "
                               "allowed: run it on the cluster's login node, add --dry-run to see the plan, or "
                               "use --executor local")


def submit_slurm(arrays: list[Array], store: RunStore, study: str, launch: dict) -> list[str]:
    """Submit each array; returns the job ids (``<array>_<index>``), one per run."""
    submitit = _import_submitit()
    check_slurm()
    folder = sweep_folder(store, study)
    ids = []
    for arr in arrays:
        executor = submitit.SlurmExecutor(folder=folder, python=launch.get("python"))
        executor.update_parameters(**arr.params)
        with executor.batch():
            jobs = [executor.submit(train_job, str(store.root), config_dict(p.cfg),
                                    {**launch, "gpus": res["gpus_per_job"], "nodes": res["nodes"]})
                    for p, res in arr.planned]
        for (p, _), job in zip(arr.planned, jobs):
            write_record(store, p.run_id, "slurm", job.job_id, folder, study)
            ids.append(job.job_id)
    return ids


def dry_run_plan(arrays: list[Array], store: RunStore, study: str, launch: dict) -> list[dict]:
    """What :func:`submit_slurm` would submit: per array its sbatch file and per job its config, run id,
    resources and command."""
    folder = sweep_folder(store, study) if store.root.is_dir() else store.root / ".sweep" / study
    out = []
    for n, arr in enumerate(arrays):
        jobs = []
        for i, (p, res) in enumerate(arr.planned):
            cfg = p.cfg
            jobs.append({"index": i, "run_id": p.run_id, "budget": p.budget, "config": cfg.identity(),
                         "resources": res, "flops": run_flops(cfg), "steps": cfg.num_steps(),
                         "command": train_command(cfg, str(store.root), {**launch, "gpus": res["gpus_per_job"],
                                                                          "nodes": res["nodes"]})})
        out.append({"array": n, "count": len(jobs), "parameters": arr.params,
                    "sbatch": sbatch_script(arr.params, folder, len(jobs), launch.get("python")), "jobs": jobs})
    return out
