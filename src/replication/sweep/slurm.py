"""The sweep's SLURM executor: a job array per set of resources, each job's resources estimated from its
run (time from its FLOPs and a measured throughput, memory from its config), and ``--dry-run``'s plan.

Every job is :func:`replication.sweep.jobs.train_job` with plain arguments, as on the local executor
(:mod:`replication.sweep.engine`, which keeps the jobs' records).
"""
from __future__ import annotations

import json
import math
import shlex
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from replication.errors import ReplicationError, check_int, check_number
from replication.store.reading import read_json
from replication.store.runs import RunStore
from replication.sweep.engine import import_submitit, sweep_folder, write_record
from replication.sweep.jobs import Planned, config_dict, train_command, train_job
from replication.training.config import TrainConfig

#: FLOP/s of one job when the store has no finished run on that kind of device to measure it from:
#: a CPU job of a few cores (our runs measure 1-4e9 per core) and one GPU (an H100 at ~30% of bf16 peak).
DEFAULT_THROUGHPUT = {"cpu": 4e9, "gpu": 3e14}

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
    from submitit.slurm.slurm import _make_sbatch_string

    p = dict(params)
    p.pop("job_name", None)
    command = " ".join([python or shlex.quote(sys.executable), "-u -m submitit.core._submit", shlex.quote(str(folder))])
    return _make_sbatch_string(command=command, folder=folder, job_name=params["job_name"],
                               map_count=count if count > 1 else None, **p)


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
    submitit = import_submitit()
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
