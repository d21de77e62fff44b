import ast
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from replication.errors import ReplicationError
from replication.store.runs import RunStore, read_metrics, run_id
from replication.training import loop
from replication.training.config import MODEL_VERSION, ModelConfig, TrainConfig
from replication.sweep.local import get_or_train_many
from replication.training.runner import get_or_train

RUNS = Path(__file__).resolve().parents[1] / "runs"


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw) -> TrainConfig:
    model = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)
    base = dict(model=model, batch_size=4, steps=8, warmup_steps=2, eval_interval=4, eval_windows=4,
                checkpoint_interval=4)
    base.update(kw)
    return TrainConfig(**base)


def test_run_id_covers_the_whole_config_but_not_execution_details():
    a = tiny()
    assert a.run_id() == tiny().run_id()
    assert a.identity()["model_version"] == MODEL_VERSION
    for change in (dict(seed=1), dict(lr=1e-3), dict(steps=9), dict(corpus="files:*.txt"),
                   dict(model=ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32,
                                          num_layers=3))):
        assert tiny(**change).run_id() != a.run_id()
    assert tiny(micro_batch_size=2, compile=True, checkpoint_interval=1).run_id() == a.run_id()
    assert run_id({"x": 1, "y": 2}) == run_id({"y": 2, "x": 1})
    # the config round-trips through config.json
    assert TrainConfig.from_dict(json.loads(json.dumps(a.identity()))).run_id() == a.run_id()
    assert TrainConfig.from_dict(dataclasses.asdict(tiny(compile=True))) == tiny(compile=True)
    with pytest.raises(ReplicationError, match="colour"):
        TrainConfig.from_dict({**a.identity(), "colour": "red"})


def test_weight_decay_on_is_in_the_run_id_only_where_it_changes_what_is_trained():
    # no decay: nothing to choose, the id of a run recorded before the choice existed
    assert "weight_decay_on" not in tiny().identity()
    assert tiny(weight_decay_on="all").run_id() == tiny().run_id()
    # decay on every parameter: what the recorded runs with decay were trained with, and their id
    every = tiny(weight_decay=0.1, weight_decay_on="all")
    assert "weight_decay_on" not in every.identity()
    assert TrainConfig.from_dict(every.identity()).weight_decay_on == "all"  # such a record reads back as such
    # the linear layers' matrices only (the default): a run of its own
    linear = tiny(weight_decay=0.1)
    assert linear.weight_decay_on == "linear" and linear.identity()["weight_decay_on"] == "linear"
    assert linear.run_id() != every.run_id()
    assert TrainConfig.from_dict(linear.identity()).identity() == linear.identity()
    with pytest.raises(ReplicationError, match="weight_decay_on='matrices'.*linear, all"):
        tiny(weight_decay_on="matrices")


def test_every_recorded_run_reproduces_its_folder_name():
    """The run id is the folder name: every config.json in runs/ read back through from_dict must hash to
    it (what keeps the book's recorded runs found after any change to the config classes)."""
    configs = sorted(RUNS.glob("*/config.json"))
    assert len(configs) > 100
    for path in configs:
        identity = json.loads(path.read_text())
        cfg = TrainConfig.from_dict(identity)
        assert cfg.identity() == identity, path
        assert cfg.run_id() == path.parent.name, path
        if cfg.weight_decay:  # trained before weight_decay_on existed: every parameter decayed
            assert cfg.weight_decay_on == "all", path


def test_the_store_imports_nothing_from_training():
    for path in sorted((Path(loop.__file__).parents[1] / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.startswith("replication.training")], path


def test_finished_run_is_returned_without_training(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    run = get_or_train(tiny(), store, progress=False, log=lambda *a: None)
    assert run.finished and (run.dir / "config.json").is_file() and run.dir.parent == tmp_path
    assert json.loads((run.dir / "config.json").read_text()) == tiny().identity()
    s = run.summary
    assert s["run_id"] == run.id and s["steps"] == 8 and s["final_val_loss"] == run.final_loss
    assert [r["step"] for r in read_metrics(run.dir / "metrics.jsonl") if r["kind"] == "val"] == [4, 8]
    assert len(run.metrics()) > 0 and "val_loss" in repr(run)

    def boom(*a, **k):
        raise AssertionError("trained again")

    monkeypatch.setattr(loop, "train", boom)
    again = get_or_train(tiny(), store, progress=False)
    assert again.summary == s
    assert get_or_train_many([tiny(), tiny()], store, progress=False) == [again, again]


def test_checkpoints_and_caches_ignore_themselves(tmp_path):
    store = RunStore(tmp_path)
    run = get_or_train(tiny(), store, progress=False, log=lambda *a: None)
    assert (tmp_path / ".checkpoints" / run.id / "ckpt.pt").is_file()
    for name in (".checkpoints", ".cache", ".locks"):
        assert (tmp_path / name / ".gitignore").read_text() == "*\n"
    assert [r.id for r in store.runs()] == [run.id]


def test_interrupted_run_resumes(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    ref = get_or_train(tiny(), RunStore(tmp_path / "ref"), progress=False, log=lambda *a: None)
    real = torch.optim.AdamW.step
    n = {"calls": 0}

    def step(self, *a, **k):
        n["calls"] += 1
        if n["calls"] == 6:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    with pytest.raises(KeyboardInterrupt):
        get_or_train(tiny(), store, progress=False, log=lambda *a: None)
    monkeypatch.setattr(torch.optim.AdamW, "step", real)
    assert not store.run(tiny().run_id()).finished
    logs = []
    run = get_or_train(tiny(), store, progress=False, log=logs.append)
    assert any("resuming from step 4" in m for m in logs)
    assert run.final_loss == ref.final_loss


def test_bad_config_creates_nothing(tmp_path):
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ReplicationError):
        get_or_train(tiny(corpus="files:/no/such/*.txt"), store, progress=False)
    with pytest.raises(ReplicationError, match="exactly one"):  # a bad config cannot even be built
        tiny(steps=None)
    with pytest.raises(ReplicationError):  # the window does not fit the validation split
        get_or_train(tiny(model=ModelConfig(vocab_size=262, num_latents=16, num_prefix=400_000,
                                            num_channels=32, num_layers=2)), store, progress=False)
    made = [p for p in (tmp_path / "runs").rglob("*")] if (tmp_path / "runs").exists() else []
    assert not [p for p in made if p.name in ("config.json", "metrics.jsonl")]


@pytest.mark.slow
def test_two_processes_asking_for_the_same_run(tmp_path):
    code = (
        "import json, sys; from replication.store.runs import RunStore; "
        "from replication.training import ModelConfig, TrainConfig, get_or_train; "
        "m = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2); "
        "c = TrainConfig(model=m, batch_size=4, steps=60, warmup_steps=2, eval_interval=20, eval_windows=4); "
        "r = get_or_train(c, RunStore(sys.argv[1]), progress=False, log=lambda *a: print('TRAINED', *a)); "
        "print(json.dumps(r.summary))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    summaries = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    assert summaries[0] == summaries[1]
    runs = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1
    vals = [r["step"] for r in read_metrics(runs[0] / "metrics.jsonl") if r["kind"] == "val"]
    assert vals == [20, 40, 60]  # trained once, nothing logged twice


@pytest.mark.slow
def test_get_or_train_many_trains_missing_runs_in_workers_deterministically(tmp_path):
    def cfg(seed):
        return TrainConfig(model=ModelConfig(vocab_size=262, num_prefix=0, num_latents=16, num_channels=32,
                                             num_layers=1, num_heads=4),
                           steps=6, batch_size=4, warmup_steps=2, eval_interval=3, eval_windows=4, seed=seed)

    store = RunStore(tmp_path)
    one = get_or_train(cfg(0), store, progress=False, log=lambda *a, **k: None)
    runs = get_or_train_many([cfg(0), cfg(1), cfg(2)], store, workers=2, progress=False)
    assert [r.id for r in runs] == [cfg(s).run_id() for s in range(3)] and all(r.finished for r in runs)
    assert runs[0].final_loss == one.final_loss
    # a run trained in a worker process is the same run as one trained in this process
    again = get_or_train(cfg(2), RunStore(tmp_path / "other"), progress=False, log=lambda *a, **k: None)
    assert again.final_loss == runs[2].final_loss
