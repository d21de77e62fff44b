"""The run store: every training run under ``runs/<id>/``, where id is a hash of its full config.

``runs/<id>/`` holds ``config.json`` (what was asked), ``metrics.jsonl`` (training and validation loss
against steps, tokens and FLOPs) and, once finished, ``summary.json``. Asking for a run that has a
summary returns it without training; asking for one without a summary resumes it from its last
checkpoint. Checkpoints, cached tokenizers/token streams and lock files live in ``runs/.checkpoints``,
``runs/.cache`` and ``runs/.locks``, which ignore themselves in git.

The root is ``$REPLICATION_RUNS_DIR`` if set, else ``runs/`` in the source checkout (next to
``pyproject.toml``), else ``./runs``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from replication.errors import ReplicationError

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


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


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

    def metrics(self):
        """metrics.jsonl as a pandas DataFrame (one row per record; ``kind`` is train or val)."""
        import pandas as pd

        return pd.DataFrame(read_metrics(self.dir / "metrics.jsonl"))

    @property
    def final_loss(self) -> float | None:
        s = self.summary
        return None if s is None else s["final_val_loss"]

    def __repr__(self) -> str:
        s = self.summary
        if s is None:
            return f"Run({self.id}, unfinished, {self.dir})"
        return (f"Run({self.id}, val_loss={s['final_val_loss']:.4f}, steps={s['steps']}, "
                f"tokens={s['latent_tokens']:.3g}, C_self={s['C_self']:.3g}, device={s['device']})")


class RunStore:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    def run(self, rid: str) -> Run:
        return Run(rid, self.root / rid)

    def checkpoint_path(self, rid: str) -> Path:
        return hidden_dir(self.root, "checkpoints") / rid / "ckpt.pt"

    @property
    def cache_dir(self) -> Path:
        return hidden_dir(self.root, "cache")

    def lock(self, rid: str):
        from filelock import FileLock

        return FileLock(str(hidden_dir(self.root, "locks") / f"{rid}.lock"))

    def runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        return [Run(p.name, p) for p in sorted(self.root.iterdir())
                if p.is_dir() and (p / "config.json").is_file()]

    def find(self, **where) -> list[Run]:
        """Finished runs whose config matches every ``key=value`` (dotted keys reach into ``model``)."""
        out = []
        for r in self.runs():
            if not r.finished:
                continue
            cfg = r.config
            ok = True
            for key, want in where.items():
                node = cfg
                for part in key.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                ok &= node == want
            if ok:
                out.append(r)
        return out

    def get_or_train(self, cfg, progress: bool = True, log=print) -> Run:
        """The run for ``cfg`` (a ``train.TrainConfig``): recorded, resumed, or trained now.

        Nothing is created on disk until the config and the corpus have been checked. Two processes
        asking for the same run take turns on a file lock; the second finds the first one's summary.
        """
        from replication.corpus import data as data_mod
        from replication.training import loop as train_mod

        cfg.validate()
        data_mod.check_corpus(cfg.corpus)
        rid = cfg.run_id()
        run = self.run(rid)
        if run.finished:
            return run
        # under torchrun only rank 0 locks (the others wait for it in the first collective anyway)
        rank = int(os.environ.get("RANK", "0"))
        with self.lock(rid) if rank == 0 else contextlib.nullcontext():
            if run.finished:  # finished by another process while we waited
                return run
            token_data = train_mod.load_token_data(cfg, self.cache_dir)
            run.dir.mkdir(parents=True, exist_ok=True)
            if rank == 0 and not (run.dir / "config.json").is_file():
                write_json(run.dir / "config.json", cfg.identity())
            summary = train_mod.train(cfg, token_data, run_dir=run.dir, ckpt_path=self.checkpoint_path(rid),
                                      progress=progress, log=log)
            if summary is not None:  # only rank 0 writes under DDP
                summary["run_id"] = rid
                write_json(run.dir / "summary.json", summary)
        if not run.finished and int(os.environ.get("RANK", "0")) == 0:
            raise ReplicationError(f"run {rid} did not finish")
        return run

    def get_or_train_many(self, cfgs, workers: int | None = None, progress: bool = True) -> list[Run]:
        """The runs for many configs, training the missing ones in ``workers`` child processes.

        Small models use two cores poorly from one process, so by default each missing run gets a
        process with an equal share of the cores. The file lock of :meth:`get_or_train` keeps two
        studies (or two chapters) that ask for the same run from training it twice.
        """
        import subprocess
        import sys
        import time
        from dataclasses import asdict

        from tqdm.auto import tqdm

        cfgs = [cfg.validate() for cfg in cfgs]
        runs = [self.run(cfg.run_id()) for cfg in cfgs]
        todo = list({r.id: cfg for r, cfg in zip(runs, cfgs) if not r.finished}.values())
        if not todo:
            return runs
        cores = os.cpu_count() or 1
        workers = min(len(todo), workers or cores)
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, cores // workers)))
        code = "import sys; from replication.store.runs import _train_in_worker; _train_in_worker(*sys.argv[1:])"
        running: list[tuple[subprocess.Popen, str]] = []
        with tqdm(total=len(todo), desc=f"training {len(todo)} runs, {workers} at a time",
                  disable=not progress) as bar:
            while todo or running:
                while todo and len(running) < workers:
                    cfg = todo.pop(0)
                    log_path = hidden_dir(self.root, "logs") / f"{cfg.run_id()}.log"
                    with open(log_path, "w") as log_file:  # the child keeps its own handle
                        proc = subprocess.Popen([sys.executable, "-c", code, str(self.root),
                                                 json.dumps(asdict(cfg))], env=env,
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
    from replication.training.model import ModelConfig
    from replication.training.loop import TrainConfig

    cfg = json.loads(cfg_json)
    cfg = TrainConfig(model=ModelConfig(**cfg.pop("model")), **cfg)
    RunStore(root).get_or_train(cfg, progress=False, log=lambda *a, **k: None)
