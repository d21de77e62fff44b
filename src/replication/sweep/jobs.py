"""What one sweep job runs, on the worker: :func:`train_job`, a plain function of plain arguments.

submitit pickles the function by reference (this module's name and the function's) with its
arguments: the run store's path, the run's config as a JSON-able dict and a launch dict of plain
values. Nothing user-made is unpickled on either side.

One GPU or none: the job trains in its own process (``get_or_train``), holding the run's claim. More
GPUs, or nodes: it starts ``torchrun`` over the node's GPUs (``replication train`` with the config's
options; rank 0 claims the run), with the rendezvous at the first node of the allocation.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
import os
import shlex
import signal
import socket
import subprocess
import sys

from replication.errors import ReplicationError
from replication.store.claims import RunBusy, stale_seconds
from replication.store.runs import RunStore
from replication.training.config import TrainConfig
from replication.training.options import arguments
from replication.training.signals import Terminated, sigterm_interrupts


@dataclass(frozen=True)
class Planned:
    """One run of a design: its config and the budget it is counted under in ``sweep status``."""

    cfg: TrainConfig
    budget: str

    @property
    def run_id(self) -> str:
        return self.cfg.run_id()

#: The port of the multi-node rendezvous (torchrun's c10d backend), on the first node.
RDZV_PORT = 29500


def torchrun_command(cfg: TrainConfig, root: str, gpus: int, nodes: int = 1, python: str | None = None,
                     master: str = "$MASTER_ADDR", job: str = "$SLURM_JOB_ID") -> list[str]:
    """The ``torchrun`` command of one large run over ``gpus`` GPUs on each of ``nodes`` nodes."""
    cmd = [python or sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}"]
    if nodes > 1:
        cmd += [f"--nnodes={nodes}", "--rdzv_backend=c10d", f"--rdzv_endpoint={master}:{RDZV_PORT}",
                f"--rdzv_id={job}"]
    return cmd + ["-m", "replication", "train", *shlex.split(arguments(cfg)), "--runs-dir", str(root),
                  "--no-progress"]


def train_command(cfg: TrainConfig, root: str, launch: dict) -> str:
    """The command a job runs, as a shell line (what ``--dry-run`` shows)."""
    gpus, nodes = launch.get("gpus", 0), launch.get("nodes", 1)
    if gpus > 1 or nodes > 1:
        return shlex.join(torchrun_command(cfg, root, max(gpus, 1), nodes, launch.get("python")))
    return shlex.join([launch.get("python") or sys.executable, "-m", "replication", "train", *shlex.split(arguments(cfg)),
                       "--runs-dir", str(root), "--no-progress"])


def _result(status: str, store: RunStore, rid: str, messages: list, **extra) -> dict:
    out = {"run_id": rid, "status": status, "host": socket.gethostname(), "pid": os.getpid(),
           "messages": list(messages), **extra}
    run = store.run(rid)
    if run.finished:
        s = run.summary
        out.update(final_val_loss=s["final_val_loss"], steps=s["steps"], wall_s=s["wall_s"])
    return out


def _record_failure(store: RunStore, rid: str, line: str) -> None:
    with contextlib.suppress(OSError):
        path = store.log_path(rid)
        path.write_text(line + "\n")


def train_job(root: str, config: dict, launch: dict | None = None) -> dict:
    """Train the run of ``config`` into the store at ``root`` (or find it recorded, or busy elsewhere).

    Returns ``{"run_id", "status", ...}``: status ``recorded`` (finished before the job began),
    ``trained`` (trained here from step 0), ``resumed`` (trained here from a checkpoint) or ``busy``
    (another live worker holds the run's claim). A failure writes its one line to the run's log
    (``.logs/<id>.log``) and raises; SIGTERM stops the run at its last checkpoint (exit status 143).
    """
    launch = dict(launch or {})
    store = RunStore(root)
    cfg = TrainConfig.from_dict(config)
    rid = cfg.run_id()
    messages: list[str] = []
    run = store.run(rid)
    if run.finished:
        run.verify()
        return _result("recorded", store, rid, messages)
    gpus, nodes = launch.get("gpus", 0), launch.get("nodes", 1)
    try:
        # SIGTERM in a job (a cancel, a scheduler's time limit, the sweep stopping): stop at the checkpoint
        with sigterm_interrupts(replace=True):
            if gpus > 1 or nodes > 1:
                return _torchrun_job(cfg, store, launch, messages)
            from replication.training.runner import get_or_train  # torch: in the job, not where it is planned

            try:
                with store.claim(rid, wait=False, log=messages.append):
                    if run.finished:  # finished by another worker between our check and our claim
                        return _result("recorded", store, rid, messages)
                    resumed = store.checkpoint_path(rid).is_file()
                    get_or_train(cfg, store, progress=False, log=messages.append, claimed=True)
            except RunBusy as err:
                return _result("busy", store, rid, messages, holder=err.holder.describe())
    except ReplicationError as err:
        _record_failure(store, rid, f"{type(err).__name__}: {err}")
        raise
    except KeyboardInterrupt as err:  # the command line's exit statuses: 143 SIGTERM, 130 Ctrl-C
        terminated = isinstance(err, Terminated)
        _record_failure(store, rid, f"{'terminated' if terminated else 'interrupted'}: {err}")
        print(f"{'terminated' if terminated else 'interrupted'}: {err}", file=sys.stderr)
        sys.exit(143 if terminated else 130)
    store.log_path(rid).unlink(missing_ok=True)  # an earlier failure's line no longer applies
    return _result("resumed" if resumed else "trained", store, rid, messages)


def _torchrun_job(cfg: TrainConfig, store: RunStore, launch: dict, messages: list) -> dict:
    """One task per node (submitit's tasks_per_node=1): torchrun over the node's GPUs, the rendezvous at
    the allocation's first node. Rank 0 of the training claims the run (waiting for a live holder)."""
    rid = cfg.run_id()
    gpus, nodes = max(1, launch.get("gpus", 1)), launch.get("nodes", 1)
    live = [c for c in store.claims(rid) if not c.stale(stale_seconds())]
    if live and nodes == 1:  # checked before GPUs are spent waiting; rank 0's claim decides all the same
        return _result("busy", store, rid, messages, holder=live[0].describe())
    env = dict(os.environ)
    master, job = "localhost", env.get("SLURM_JOB_ID", str(os.getpid()))
    if nodes > 1:
        import submitit

        je = submitit.JobEnvironment()
        master, job = je.hostnames[0], je.job_id
    env.update(MASTER_ADDR=master, MASTER_PORT=str(RDZV_PORT))
    resumed = store.checkpoint_path(rid).is_file()
    cmd = torchrun_command(cfg, str(store.root), gpus, nodes, launch.get("python"), master=master, job=job)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = proc.communicate()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        raise
    if proc.returncode:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        raise ReplicationError(f"torchrun exited with status {proc.returncode}: "
                               f"{lines[-1] if lines else 'no error output'}")
    return _result("resumed" if resumed else "trained", store, rid, messages)


def config_dict(cfg: TrainConfig) -> dict:
    """The config as the plain dict a job receives."""
    return dataclasses.asdict(cfg)

