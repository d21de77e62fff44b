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
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from replication.errors import ReplicationError
from replication.files import write_json
from replication.repository import REPO_DIR, is_checkout
from replication.store.claims import Claim, ClaimInfo
from replication.store.paths import hidden_dir

#: Adds a manifest to the summaries of runs recorded before manifests existed.
MIGRATION = "tools/add_manifests.py"
#: The files a manifest covers.
MANIFEST_FILES = ("config.json", "metrics.jsonl")


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


# --------------------------------------------------------------------------------------------------
# reading files: every failure is one line that names the file


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ReplicationError(f"{path} is not UTF-8 text") from None
    except OSError as err:
        raise ReplicationError(f"{path} cannot be read: {err.strerror or err}") from None


def read_json(path: Path, what: str = "a JSON object") -> dict:
    """A JSON object from ``path`` (NaN and Infinity refused: they are not JSON)."""
    try:
        obj = json.loads(_read_text(path), parse_constant=_no_constant)
    except ValueError as err:
        raise ReplicationError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(obj, dict):
        raise ReplicationError(f"{path} holds a JSON {type(obj).__name__}, not {what}")
    return obj


def _metrics_record(line: str) -> dict:
    """One metrics.jsonl line as a record, or ValueError saying what is wrong with it."""
    rec = json.loads(line, parse_constant=_no_constant)
    if not isinstance(rec, dict):
        raise ValueError(f"a JSON {type(rec).__name__}, not a record")
    if rec.get("kind") not in ("train", "val"):
        raise ValueError(f"kind={rec.get('kind')!r}, not 'train' or 'val'")
    step, loss = rec.get("step"), rec.get("loss")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step={step!r}, not a step number")
    if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not math.isfinite(loss):
        raise ValueError(f"loss={loss!r}, not a finite number")
    return rec


def read_metrics(path: Path, partial_last_line: bool = False) -> list[dict]:
    """The records of a metrics.jsonl (none if the file does not exist), each checked to be a JSON
    object with a kind, a step and a finite loss.

    Records are appended one line at a time, so a kill can cut only the last line short (it then has no
    newline). ``partial_last_line`` drops such a line (what a resumed run does, which logs that step
    again); otherwise it is refused, as is any malformed line.
    """
    path = Path(path)
    if not path.is_file():
        return []
    lines = _read_text(path).split("\n")
    tail = lines.pop()  # "" when the file ends with a newline
    if tail and not partial_last_line:
        raise ReplicationError(f"{path}, line {len(lines) + 1}: cut short (no newline at the end)")
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(_metrics_record(line))
        except ValueError as err:
            raise ReplicationError(f"{path}, line {number}: not a metrics record ({err})") from None
    return records


# --------------------------------------------------------------------------------------------------
# manifests


def _digest(path: Path) -> dict:
    data = path.read_bytes() if path.is_file() else b""
    return {"lines": data.count(b"\n"), "sha256": hashlib.sha256(data).hexdigest()}


def _summary_hash(summary: dict) -> str:
    fields = {k: v for k, v in summary.items() if k != "manifest"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def manifest(run_dir: Path, summary: dict) -> dict:
    """What a finished run's summary.json records of the run: line count and SHA-256 of each of
    :data:`MANIFEST_FILES` as they are on disk, and the SHA-256 of the summary's other fields."""
    out = {name: _digest(Path(run_dir) / name) for name in MANIFEST_FILES}
    out["summary.json"] = {"sha256": _summary_hash(summary)}
    return out


#: The summary fields that repeat what metrics.jsonl's last validation record says.
CROSS_CHECKED = {"final_val_loss": "loss", "steps": "step", "latent_tokens": "latent_tokens",
                 "C_self": "C_self", "C_cross": "C_cross"}


def _last_records(metrics_path: Path) -> dict:
    """The last train and val records of a metrics.jsonl, read from its end (a run logs both at its
    last step, so a few lines suffice)."""
    last = {}
    for line in reversed(_read_text(metrics_path).splitlines()):
        try:
            rec = _metrics_record(line)
        except ValueError as err:
            raise ReplicationError(f"{metrics_path}: not a metrics record ({err})") from None
        last.setdefault(rec["kind"], rec)
        if len(last) == 2:
            break
    return last


def _cross_check(rid: str, path: Path, summary: dict, metrics_path: Path) -> None:
    """Refuse a summary whose numbers are not those of its metrics.jsonl: the manifest proves that the
    files are as the run finished only if nobody rewrote the summary and its manifest together."""
    last = _last_records(metrics_path)
    val, train = last.get("val"), last.get("train")
    if val is None:
        raise ReplicationError(f"run {rid}: {metrics_path} holds no validation record; its summary.json says "
                               f"final_val_loss={summary.get('final_val_loss')!r}")
    for field, key in CROSS_CHECKED.items():
        if field in summary and summary[field] != val.get(key):
            raise ReplicationError(f"run {rid}: {path} says {field}={summary[field]!r}, its metrics.jsonl's last "
                                   f"validation record {key}={val.get(key)!r}: the summary was edited")
        if field not in summary:
            raise ReplicationError(f"run {rid}: {path} has no {field}")
    if train is None or train["step"] != summary["steps"]:
        raise ReplicationError(f"run {rid}: {path} says steps={summary['steps']!r}, its metrics.jsonl's last "
                               f"train record step={None if train is None else train['step']!r}: the summary "
                               "was edited")
    if "C" in summary and summary["C"] != summary["C_self"] + summary["C_cross"]:
        raise ReplicationError(f"run {rid}: {path} says C={summary['C']!r}, not C_self + C_cross = "
                               f"{summary['C_self'] + summary['C_cross']!r}: the summary was edited")


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
        path = self.summary_path
        summary = read_json(path, "a run summary")
        recorded = summary.get("manifest")
        if recorded is None:
            raise ReplicationError(f"run {self.id}: {path} was recorded before manifests; run {MIGRATION} "
                                   "to add one")
        if not isinstance(recorded, dict) or set(recorded) != {*MANIFEST_FILES, "summary.json"}:
            raise ReplicationError(f"run {self.id}: {path} has a malformed manifest")
        if recorded["summary.json"] != {"sha256": _summary_hash(summary)}:
            raise ReplicationError(f"run {self.id}: {path} was changed after the run finished (its fields no "
                                   "longer match its manifest)")
        for name in MANIFEST_FILES:
            if not (self.dir / name).is_file():
                raise ReplicationError(f"run {self.id}: {self.dir / name} is missing (its summary.json records it)")
            found = _digest(self.dir / name)
            if found != recorded[name]:
                want = recorded[name]
                raise ReplicationError(
                    f"run {self.id}: {self.dir / name} does not match the manifest in summary.json "
                    f"({want.get('lines')} lines, sha256 {str(want.get('sha256'))[:12]} recorded; "
                    f"{found['lines']} lines, sha256 {found['sha256'][:12]} found): changed or cut short "
                    "after the run finished")
        if summary.get("run_id") != self.id:
            raise ReplicationError(f"run {self.id}: {path} is the summary of run {summary.get('run_id')!r}")
        _cross_check(self.id, path, summary, self.metrics_path)
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
        import pandas as pd

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
        from filelock import FileLock

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
