"""The run store: every training run under ``runs/<id>/``, where id is a hash of its full config.

``runs/<id>/`` holds ``config.json`` (what was asked), ``metrics.jsonl`` (training and validation loss
against steps, tokens and FLOPs) and, once finished, ``summary.json``. Checkpoints, cached
tokenizers/token streams, worker logs and lock files live in ``runs/.checkpoints``, ``runs/.cache``,
``runs/.logs`` and ``runs/.locks``, which ignore themselves in git.

This is storage only: what a run is and how it is trained is ``replication.training``, which records its
runs here (``replication.training.runner.get_or_train``).

The root is ``$REPLICATION_RUNS_DIR`` if set, else ``runs/`` in the source checkout (next to
``pyproject.toml``), else ``./runs``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from replication.files import write_json

_REPO_DIR = Path(__file__).resolve().parents[3]


def default_root() -> Path:
    env = os.environ.get("REPLICATION_RUNS_DIR")
    if env:
        return Path(env)
    if (_REPO_DIR / "pyproject.toml").is_file():
        return _REPO_DIR / "runs"
    return Path.cwd() / "runs"


def hidden_dir(root: Path, name: str) -> Path:
    """``root/.<name>``, created with a ``.gitignore`` that ignores everything in it."""
    path = Path(root) / f".{name}"
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return path


def run_id(identity: dict) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON of everything that defines the run."""
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def read_metrics(path: Path) -> list[dict]:
    """Records of a metrics.jsonl; a line cut short by a kill is skipped."""
    records = []
    if Path(path).is_file():
        for line in Path(path).read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


@dataclass
class Run:
    """A recorded run: its id, directory, config, metrics and (when finished) summary."""

    id: str
    dir: Path

    @property
    def config(self) -> dict:
        return json.loads((self.dir / "config.json").read_text())

    @property
    def summary(self) -> dict | None:
        p = self.dir / "summary.json"
        return json.loads(p.read_text()) if p.is_file() else None

    @property
    def finished(self) -> bool:
        return (self.dir / "summary.json").is_file()

    @property
    def metrics_path(self) -> Path:
        return self.dir / "metrics.jsonl"

    def metrics(self):
        """metrics.jsonl as a pandas DataFrame (one row per record; ``kind`` is train or val)."""
        import pandas as pd

        return pd.DataFrame(read_metrics(self.metrics_path))

    @property
    def final_loss(self) -> float | None:
        s = self.summary
        return None if s is None else s["final_val_loss"]

    def write_config(self, identity: dict) -> None:
        """Create the run's folder with its config.json, unless it has one (a resumed run keeps its own)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "config.json").is_file():
            write_json(self.dir / "config.json", identity)

    def write_summary(self, summary: dict) -> None:
        """Record the run as finished (with its id in the summary)."""
        write_json(self.dir / "summary.json", {**summary, "run_id": self.id})

    def __repr__(self) -> str:
        s = self.summary
        if s is None:
            return f"Run({self.id}, unfinished, {self.dir})"
        return (f"Run({self.id}, val_loss={s['final_val_loss']:.4f}, steps={s['steps']}, "
                f"tokens={s['latent_tokens']:.3g}, C_self={s['C_self']:.3g}, device={s['device']})")


class RunStore:
    """The runs under one root folder, and the hidden folders that serve them."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def run(self, rid: str) -> Run:
        return Run(rid, self.root / rid)

    def runs(self) -> list[Run]:
        """Every run that has a config.json, finished or not, by id."""
        if not self.root.is_dir():
            return []
        return [Run(p.name, p) for p in sorted(self.root.iterdir())
                if p.is_dir() and (p / "config.json").is_file()]

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
