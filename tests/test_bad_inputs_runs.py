"""Bad input to ``replication train`` and to the run store it reads: exit status 2 and one line on stderr that
names the parameter (or the file) and what is allowed, no traceback, and nothing written.

The table form of test_bad_inputs.py: each row is a command line and the substrings its one line must hold.
The store rows first damage a copy of a store that holds one finished tiny run (a planted, swapped, old or
broken checkpoint, an edited summary, a runs folder that is no folder...); "nothing written" is then checked
on that store, file by file, besides the repository's folders.
"""
import json
import os
import shlex
import shutil
import stat
from pathlib import Path

import pytest
import torch

from replication.cli import main
from replication.files import write_json
from replication.store.runs import RunStore, manifest
from replication.training.config import ModelConfig, TrainConfig
from replication.training.runner import get_or_train
from test_bad_inputs import _one_line, _written

pytestmark = pytest.mark.usefixtures("one_thread")

#: The smallest run the tests train (8 steps, checkpoints at 4 and 8).
TINY = ("--channels 32 --layers 2 --latents 16 --prefix 32 --steps 8 --batch-size 4 --warmup-steps 2 "
        "--eval-interval 4 --eval-windows 4 --checkpoint-interval 4 --log-interval 2 --no-progress")
SMALL = "train --channels 32 --layers 2 --steps 10"
RETRAIN = "replication train --retrain"


def tiny(**kw) -> TrainConfig:
    model = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)
    base = dict(model=model, batch_size=4, steps=8, warmup_steps=2, eval_interval=4, eval_windows=4,
                checkpoint_interval=4, log_interval=2)
    base.update(kw)
    return TrainConfig(**base)


# -- every numeric option of replication train that test_bad_inputs.TRAIN does not try ---------------

OPTIONS = [
    (f"{SMALL} --latents 0", ["num_latents=0", "[1, inf)"]),
    (f"{SMALL} --prefix -1", ["num_prefix=-1", "[0, inf)"]),
    (f"{SMALL} --heads 0", ["num_heads=0", "[1, inf)"]),
    (f"{SMALL} --rotary-layers -1", ["rotary_layers=-1", "[0, inf)"]),
    (f"{SMALL} --init-std 0", ["init_std=0.0", "(0.0, 1.0]"]),
    (f"{SMALL} --init-std 2", ["init_std=2.0", "(0.0, 1.0]"]),
    (f"{SMALL} --val-fraction 0", ["val_fraction=0.0", "(0.0, 0.5]"]),
    (f"{SMALL} --val-fraction 0.6", ["val_fraction=0.6", "(0.0, 0.5]"]),
    (f"{SMALL} --batch-size 0", ["batch_size=0", "[1, inf)"]),
    (f"{SMALL} --batch-size 2.5", ["argument --batch-size", "invalid int value"]),
    (f"{SMALL} --lr 1.5", ["lr=1.5", "(0.0, 1.0]"]),
    (f"{SMALL} --lr nan", ["lr=nan", "finite"]),
    (f"{SMALL} --min-lr-ratio 1.5", ["min_lr_ratio=1.5", "[0.0, 1.0]"]),
    (f"{SMALL} --min-lr-ratio=-0.1", ["min_lr_ratio=-0.1", "[0.0, 1.0]"]),
    (f"{SMALL} --cosine-cycle-ratio 0", ["cosine_cycle_ratio=0.0", "(0.0, 100.0]"]),
    (f"{SMALL} --warmup-steps -1", ["warmup_steps=-1", "[0, 1000000000]"]),
    (f"{SMALL} --weight-decay 11", ["weight_decay=11.0", "[0.0, 10.0]"]),
    (f"{SMALL} --weight-decay 4 --lr 0.5", ["weight_decay=4.0 with lr=0.5", "lr x weight_decay < 1"]),
    (f"{SMALL} --beta1 1", ["beta1=1.0", "[0.0, 1.0)"]),
    (f"{SMALL} --beta2=-0.1", ["beta2=-0.1", "[0.0, 1.0)"]),
    (f"{SMALL} --grad-clip 0", ["grad_clip=0.0", "(0.0, 1000000.0]"]),
    (f"{SMALL} --eval-interval 0", ["eval_interval=0", "[1, 1000000000]"]),
    (f"{SMALL} --eval-windows 0", ["eval_windows=0", "[1, 1000000000]"]),
    (f"{SMALL} --micro-batch-size 0", ["micro_batch_size=0", "[1, 80]"]),
    (f"{SMALL} --micro-batch-size 100", ["micro_batch_size=100", "[1, 80]"]),
    (f"{SMALL} --micro-batch-size 3", ["batch_size=80 must be a multiple of micro_batch_size=3"]),
    (f"{SMALL} --checkpoint-interval 0", ["checkpoint_interval=0", "[1, 1000000000]"]),
    (f"{SMALL} --log-interval 0", ["log_interval=0", "[1, 1000000000]"]),
    (f"{SMALL} --seed 5000000000", ["seed=5000000000", "[0, 4294967295]"]),
    ("train --channels 32 --layers 2 --steps 2000000000", ["steps=2000000000", "[1, 1000000000]"]),
]


@pytest.mark.parametrize("argv, expected", OPTIONS, ids=[row[0] for row in OPTIONS])
def test_a_bad_train_option_is_one_line_and_writes_nothing(argv, expected, tmp_path, monkeypatch, capsys):
    runs = tmp_path / "runs"
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(runs))
    before = _written()
    try:
        code = main(shlex.split(argv))
    except SystemExit as stop:
        code = stop.code
    _one_line(capsys.readouterr().err, expected)
    assert code == 2 and not runs.exists() and _written() == before


# -- the run store: the runs folder, checkpoints, summaries ------------------------------------------


class Planted:
    """A malicious checkpoint's payload: unpickling it would touch ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store holding the finished tiny run (with its last checkpoint and token cache)."""
    store = RunStore(tmp_path_factory.mktemp("template") / "runs")
    n, omp = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread, as the rows run (the one_thread fixture)
    torch.set_num_threads(1)
    try:
        get_or_train(tiny(), store, progress=False, log=lambda *a, **k: None)
    finally:
        torch.set_num_threads(n)
        if omp is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = omp
    return store.root


def _rewrite_summary(run, **fields):
    s = {k: v for k, v in json.loads(run.summary_path.read_text()).items() if k != "manifest"}
    s.update(fields)
    write_json(run.summary_path, {**s, "manifest": manifest(run.dir, s)})


def _unfinished(run):
    run.summary_path.unlink()


def _checkpoint(store, cfg=None):
    return store.checkpoint_path((cfg or tiny()).run_id())


def _plant(store, marker):
    path = _checkpoint(store)
    torch.save({"model": {}, "optimizer": {}, "state": {"step": 4}, "run_id": tiny().run_id(),
                "payload": Planted(marker)}, path)
    _unfinished(store.run(tiny().run_id()))


def _swap(store, marker):  # the finished run's checkpoint, put where the seed-1 run looks for its own
    dest = _checkpoint(store, tiny(seed=1))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_checkpoint(store), dest)


def _old_format(store, marker):
    path = _checkpoint(store)
    ck = torch.load(path, weights_only=True)
    torch.save({k: ck[k] for k in ("model", "optimizer", "state")}, path)
    _unfinished(store.run(tiny().run_id()))


def _bad_step(store, marker):
    path = _checkpoint(store)
    ck = torch.load(path, weights_only=True)
    torch.save({**ck, "state": {**ck["state"], "step": 999}}, path)
    _unfinished(store.run(tiny().run_id()))


def _bytes(data):
    def damage(store, marker):
        _checkpoint(store).write_bytes(data)
        _unfinished(store.run(tiny().run_id()))
    return damage


def _summary(**fields):
    return lambda store, marker: _rewrite_summary(store.run(tiny().run_id()), **fields)


def _summary_text(text):
    return lambda store, marker: store.run(tiny().run_id()).summary_path.write_text(text)


def _cut_metrics(store, marker):
    path = store.run(tiny().run_id()).metrics_path
    text = path.read_text()
    path.write_text(text[:int(len(text) * 0.9)])


def _delete_metrics(store, marker):
    store.run(tiny().run_id()).metrics_path.unlink()


def _edit_config(store, marker):
    run = store.run(tiny().run_id())
    _unfinished(run)
    write_json(run.config_path, {**json.loads(run.config_path.read_text()), "lr": 0.5})


def _metrics_gap(store, marker):
    run = store.run(tiny().run_id())
    _unfinished(run)
    lines = run.metrics_path.read_text().splitlines(keepends=True)
    run.metrics_path.write_text("".join(lines[1:]))


def _runs_is(kind):
    def make(store, marker):
        shutil.rmtree(store.root)
        if kind == "file":
            store.root.write_text("")
        elif kind == "fifo":
            os.mkfifo(store.root)
        else:  # read-only
            store.root.mkdir()
            store.root.chmod(0o555)
    return make


def _empty_env(store, marker):
    os.environ["REPLICATION_RUNS_DIR"] = ""  # the test's monkeypatch restores it


CHECKPOINT = "{runs}/.checkpoints/{rid}/ckpt.pt"
STORE = [
    # (what is done to the store, arguments, what the one line must say); {runs}: the store, {rid}: the run
    (None, f"train {TINY} --runs-dir ''", ["runs folder (--runs-dir, $REPLICATION_RUNS_DIR)=''", "is empty",
                                           "allowed: a folder path"]),
    (_empty_env, f"train {TINY}", ["$REPLICATION_RUNS_DIR)=''", "is empty", "allowed: a folder path"]),
    (_runs_is("file"), f"train {TINY} --runs-dir {{runs}}", ["runs folder", "is a file, not a folder"]),
    (_runs_is("file"), f"train {TINY} --runs-dir {{runs}}/sub", ["runs folder", "cannot be created",
                                                                 "Not a directory"]),
    (_runs_is("fifo"), f"train {TINY} --runs-dir {{runs}}", ["runs folder", "is not a folder (a FIFO",
                                                             "allowed: a folder"]),
    (_runs_is("read-only"), f"train {TINY} --runs-dir {{runs}}", ["runs folder", "{runs} is read-only"]),
    (_plant, f"train {TINY} --runs-dir {{runs}}", [f"checkpoint {CHECKPOINT}", "cannot be loaded as plain "
                                                   "tensors and numbers", "unsupported GLOBAL", RETRAIN]),
    (_swap, f"train {TINY} --seed 1 --runs-dir {{runs}}", ["checkpoint {runs}/.checkpoints/{rid1}/ckpt.pt is of "
                                                           "run '{rid}'", "not of run '{rid1}'", RETRAIN]),
    (_old_format, f"train {TINY} --runs-dir {{runs}}", [f"checkpoint {CHECKPOINT} was written before checkpoints "
                                                        "recorded their run id and config hash", RETRAIN]),
    (_bad_step, f"train {TINY} --runs-dir {{runs}}", [f"checkpoint {CHECKPOINT} holds step=999", "(0..8)",
                                                      RETRAIN]),
    (_bytes(b""), f"train {TINY} --runs-dir {{runs}}", [f"checkpoint {CHECKPOINT} cannot be loaded", RETRAIN]),
    (_bytes(b"garbage"), f"train {TINY} --runs-dir {{runs}}", [f"checkpoint {CHECKPOINT} cannot be loaded"]),
    (_summary(final_val_loss=1.0), f"train {TINY} --runs-dir {{runs}}",
     ["run {rid}", "summary.json says final_val_loss=1.0", "last validation record loss=", "edited"]),
    (_summary(steps=9), f"train {TINY} --runs-dir {{runs}}", ["run {rid}", "says steps=9", "record step=8"]),
    (_summary(C_self=1), f"train {TINY} --runs-dir {{runs}}", ["run {rid}", "says C_self=1", "record C_self="]),
    (_summary(run_id="000000000000"), f"train {TINY} --runs-dir {{runs}}",
     ["run {rid}", "is the summary of run '000000000000'"]),
    (_summary_text("garbage{"), f"train {TINY} --runs-dir {{runs}}", ["{runs}/{rid}/summary.json",
                                                                     "not valid JSON"]),
    (_summary_text('{"final_val_loss": 1.0}'), f"train {TINY} --runs-dir {{runs}}",
     ["run {rid}", "recorded before manifests", "tools/add_manifests.py"]),
    (_cut_metrics, f"train {TINY} --runs-dir {{runs}}", ["run {rid}", "metrics.jsonl does not match the manifest",
                                                         "cut short"]),
    (_delete_metrics, f"train {TINY} --runs-dir {{runs}}", ["run {rid}", "metrics.jsonl is missing"]),
    (_edit_config, f"train {TINY} --runs-dir {{runs}}", ["run {rid}", "config.json is not the config whose id is",
                                                         RETRAIN]),
    (_metrics_gap, f"train {TINY} --runs-dir {{runs}}", ["metrics.jsonl holds train records", "records are "
                                                         "missing or repeated", RETRAIN]),
]


def _tree(root: Path):
    """Every entry under ``root`` with its bytes (a FIFO is never opened); lock files are not records."""
    if not os.path.lexists(root):
        return None
    if not root.is_dir():
        return stat.S_IFMT(root.lstat().st_mode), root.read_bytes() if root.is_file() else None
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else stat.S_IFMT(p.lstat().st_mode)
            for p in sorted(root.rglob("*")) if p.relative_to(root).parts[0] != ".locks"}


def _id(row):
    damage, argv, _ = row
    return f"{getattr(damage, '__name__', damage)}: {argv.replace(TINY, 'TINY')}"


@pytest.mark.parametrize("damage, argv, expected", STORE, ids=[_id(r) for r in STORE])
def test_a_bad_store_is_one_line_and_nothing_is_written(damage, argv, expected, template, tmp_path, monkeypatch,
                                                        capsys):
    runs = tmp_path / "runs"
    shutil.copytree(template, runs)
    marker = tmp_path / "MARKER"
    # a row without --runs-dir must not reach the recorded runs (monkeypatch restores what _empty_env sets)
    monkeypatch.setenv("REPLICATION_RUNS_DIR", str(tmp_path / "default-runs"))
    if damage is not None:
        damage(RunStore(runs), marker)
    real_access = os.access
    if os.geteuid() == 0:  # root writes anywhere: stand in for a user without write access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == runs and runs.is_dir() and
                            not runs.stat().st_mode & stat.S_IWUSR else real_access(p, mode))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # an empty runs folder would have meant this one
    names = {"runs": runs, "rid": tiny().run_id(), "rid1": tiny(seed=1).run_id()}
    before, store_before = _written(), _tree(runs)
    try:
        try:
            code = main(shlex.split(argv.format(**names)))
        except SystemExit as stop:
            code = stop.code
        _one_line(capsys.readouterr().err, [text.format(**names) for text in expected])
        assert code == 2
        assert _tree(runs) == store_before and _written() == before and list(cwd.iterdir()) == []
        assert not marker.exists() and not (tmp_path / "default-runs").exists()
    finally:
        if runs.is_dir():
            runs.chmod(0o755)
