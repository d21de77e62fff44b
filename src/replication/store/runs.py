"""The run store: every training run under ``runs/<id>/``, where id is a hash of its full config.

``runs/<id>/`` holds ``config.json`` (what was asked), ``metrics.jsonl`` (training and validation loss
against steps, tokens and FLOPs) and, once finished, ``summary.json``. Checkpoints, cached
tokenizers/token streams, worker logs, lock files and runs moved aside for retraining live in
``runs/.checkpoints``, ``runs/.cache``, ``runs/.logs``, ``runs/.locks``, ``runs/.claims``, ``runs/.sweep`` and
``runs/.trash``, which ignore themselves in git.

Many workers, one store (a shared filesystem, e.g. NFS): a run is trained by the worker that holds its
*claim* (:meth:`RunStore.claim`), a file in ``runs/.claims/`` created with ``O_CREAT | O_EXCL`` that names
its holder (host, boot id, pid, start time) and whose mtime the holder touches every heartbeat. A claim
whose heartbeat is older than ``stale_s`` (or whose process is gone, when it is on this very machine) is
stale: the next worker reports it and takes the run over, resuming from its checkpoint. Every file a
reader may see is written to a temporary file in the same folder and renamed over the target. What the
filesystem must give: exclusive creation (``O_EXCL``; NFSv3 and later honour it), atomic rename within
a folder, and mtimes set by one clock (the NFS server's; a claim's age is measured against the claimant's
own fresh file, so clients' clocks may differ). The per-run ``fcntl`` lock of :meth:`RunStore.lock`,
which the OS drops when its process dies, is kept as a second guard on local disks; on NFS a dead
client's lock may outlive it, which is why the claim, not the lock, decides who trains.

A finished run is never changed: its summary.json carries a manifest (line count and SHA-256 of
config.json and metrics.jsonl, and a hash of the summary's own fields), and every reader checks it, so
that a file cut short or edited after the run is an error naming the run and the file, never a
silently different number.

This is storage only: what a run is and how it is trained is ``replication.training``, which records its
runs here (``replication.training.runner.get_or_train``).

The root is ``$REPLICATION_RUNS_DIR`` if set, else ``runs/`` in the source checkout (next to
``pyproject.toml``), else ``./runs``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from filelock import FileLock

from replication.errors import ReplicationError
from replication.files import write_json
from replication.repository import REPO_DIR, is_checkout
from replication.store.claims import Claim, ClaimInfo
from replication.store.paths import hidden_dir
from replication.store.reading import check_manifest, manifest, read_json, read_metrics

#: How the runs folder is named in messages.
ROOT_NAME = "runs folder (--runs-dir, $REPLICATION_RUNS_DIR)"


def _check_root(root) -> Path:
    # Path("") is ".": an empty setting (a variable left blank, a quoting slip) would write a store of
    # runs into whatever folder the command is run from
    if isinstance(root, str) and not root.strip():
        raise ReplicationError(f"{ROOT_NAME}={root!r} is empty; allowed: a folder path (leave the option "
                               "out, or unset the variable, for the default)")
    return Path(root)


def default_root() -> Path:
    env = os.environ.get("REPLICATION_RUNS_DIR")
    if env is not None:
        return _check_root(env)
    if is_checkout():
        return REPO_DIR / "runs"
    return Path.cwd() / "runs"


def run_id(identity: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of everything that defines the run."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class Run:
    """A recorded run: its id, directory, config, metrics and (when finished) summary.

    A finished run's readers (:attr:`summary`, :attr:`config`, :meth:`metrics`, :attr:`final_loss`)
    check its files against the manifest first.
    """

    id: str
    dir: Path

    @property
    def config_path(self) -> Path:
        return self.dir / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.jsonl"

    @property
    def summary_path(self) -> Path:
        return self.dir / "summary.json"

    @property
    def finished(self) -> bool:
        return self.summary_path.is_file()

    def verify(self) -> dict:
        """The summary of a finished run, after checking it and the files its manifest covers."""
        summary = read_json(self.summary_path, "a run summary")
        check_manifest(self.id, self.dir, summary)
        return summary

    @property
    def summary(self) -> dict | None:
        """The checked summary, or None while the run is not finished."""
        return self.verify() if self.finished else None

    @property
    def config(self) -> dict:
        if self.finished:
            self.verify()
        return read_json(self.config_path, "a run config")

    def metrics(self):
        """metrics.jsonl as a pandas DataFrame (one row per record; ``kind`` is train or val)."""
        finished = self.finished
        if finished:
            self.verify()
        return pd.DataFrame(read_metrics(self.metrics_path, partial_last_line=not finished))

    @property
    def final_loss(self) -> float | None:
        s = self.summary
        return None if s is None else s["final_val_loss"]

    def write_config(self, identity: dict) -> None:
        """Create the run's folder with its config.json, unless it has one (a resumed run keeps its own)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not self.config_path.is_file():
            write_json(self.config_path, identity)

    def write_summary(self, summary: dict) -> None:
        """Record the run as finished: the summary, its id and the manifest of the files as they are now."""
        summary = {k: v for k, v in summary.items() if k != "manifest"}
        summary["run_id"] = self.id
        write_json(self.summary_path, {**summary, "manifest": manifest(self.dir, summary)})

    def __repr__(self) -> str:
        try:
            s = self.summary
        except ReplicationError as err:  # a repr that raises would hide the run from debuggers and tracebacks
            return f"Run({self.id}, refused: {err})"
        if s is None:
            return f"Run({self.id}, unfinished, {self.dir})"
        return (f"Run({self.id}, val_loss={s['final_val_loss']:.4f}, steps={s['steps']}, "
                f"tokens={s['latent_tokens']:.3g}, C_self={s['C_self']:.3g}, device={s['device']})")


class RunStore:
    """The runs under one root folder, and the hidden folders that serve them."""

    def __init__(self, root: Path | str | None = None):
        self.root = _check_root(root) if root is not None else default_root()

    def run(self, rid: str) -> Run:
        return Run(rid, self.root / rid)

    def runs(self) -> list[Run]:
        """Every run that has a config.json, finished or not, by id."""
        if not self.root.is_dir():
            return []
        return [Run(p.name, p) for p in sorted(self.root.iterdir())
                if p.is_dir() and not p.name.startswith(".") and (p / "config.json").is_file()]

    def fingerprint(self, run_ids=None) -> str:
        """A hash of the store's resolved root and, for ``run_ids`` (default: every finished run), their
        ids and manifests (checked; an unfinished run counts as such). It changes when a run finishes
        or is moved aside, and with nothing else."""
        h = hashlib.sha256(str(self.root.resolve()).encode())
        ids = sorted(r.id for r in self.runs() if r.finished) if run_ids is None else sorted(set(run_ids))
        for rid in ids:
            s = self.run(rid).summary
            h.update(json.dumps([rid, None if s is None else s["manifest"]], sort_keys=True).encode())
        return h.hexdigest()

    def checkpoint_path(self, rid: str) -> Path:
        return hidden_dir(self.root, "checkpoints") / rid / "ckpt.pt"

    @property
    def cache_dir(self) -> Path:
        return hidden_dir(self.root, "cache")

    def log_path(self, rid: str) -> Path:
        """Where a run trained in a worker process writes its stderr."""
        return hidden_dir(self.root, "logs") / f"{rid}.log"

    def lock(self, rid: str):
        """A file lock on run ``rid``: two processes asking for the same run take turns."""
        return FileLock(str(hidden_dir(self.root, "locks") / f"{rid}.lock"))

    def claim(self, rid: str, wait: bool = True, log=None, heartbeat_s: float | None = None,
              stale_s: float | None = None) -> "Claim":
        """Claim run ``rid`` for this process (a context manager): the one worker that may train it.

        ``wait``: while another live worker holds the run, wait for it (True) or raise :class:`RunBusy`
        (False). Stale claims are reported through ``log`` and removed. See :class:`Claim`.
        """
        return Claim(self, rid, wait=wait, log=log, heartbeat_s=heartbeat_s, stale_s=stale_s)

    def claims(self, rid: str | None = None) -> list["ClaimInfo"]:
        """The claims in the store (of run ``rid`` only, if given), each with its age and whether it is stale."""
        folder = self.root / ".claims"
        if not folder.is_dir():
            return []
        ref = time.time()
        out = []
        for path in sorted(folder.glob(f"{rid}.*.claim" if rid else "*.claim")):
            info = ClaimInfo.read(path, ref)
            if info is not None:
                out.append(info)
        return out

    def check_writable(self) -> None:
        """Create the root if need be, or raise ReplicationError unless runs can be written under it (the
        last check before a run is written)."""
        root = self.root
        where = f"{ROOT_NAME} {root}"
        if root.is_file():
            raise ReplicationError(f"{where} is a file, not a folder")
        if root.exists() and not root.is_dir():
            raise ReplicationError(f"{where} is not a folder (a FIFO, a socket or a device); allowed: a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ReplicationError(f"{where} cannot be created: {err.strerror or err}") from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise ReplicationError(f"{where} is read-only")

    def move_aside(self, rid: str) -> Path | None:
        """Move run ``rid``'s folder and checkpoint folder into ``.trash/<id>-<time>/`` (``checkpoint/``
        inside it); returns where they went, or None when there was nothing to move."""
        run_dir = self.root / rid
        ckpt_dir = self.root / ".checkpoints" / rid
        if not run_dir.exists() and not ckpt_dir.exists():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        dest = hidden_dir(self.root, "trash") / f"{rid}-{stamp}"
        n = 1
        while dest.exists():
            n += 1
            dest = dest.with_name(f"{rid}-{stamp}-{n}")
        dest.mkdir()
        if run_dir.exists():
            shutil.move(str(run_dir), str(dest / "run"))
        if ckpt_dir.exists():
            shutil.move(str(ckpt_dir), str(dest / "checkpoint"))
        return dest

    def remove_stray_temporaries(self, rid: str) -> list[Path]:
        """Delete the temporary files that a write killed half-way left in the run's folder and its
        checkpoint folder (``files.atomic_write`` names them ``*.tmp``). Call it holding the run's lock."""
        stray = [p for folder in (self.root / rid, self.root / ".checkpoints" / rid) if folder.is_dir()
                 for p in folder.glob("*.tmp")]
        for p in stray:
            p.unlink(missing_ok=True)
        return stray
