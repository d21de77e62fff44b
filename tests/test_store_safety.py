"""Recorded runs are never lost or silently changed, and the trainer's bad inputs are one-line errors.

Each data-loss case is reproduced and shown refused or detected: a run without its summary, a cut-off
metrics.jsonl, an edited config.json, NaN weights, corrupt files, a kill -9 in the middle of a
checkpoint write.
"""
import dataclasses
import errno
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from replication import cli
from replication.errors import ReplicationError
from replication.files import write_json
from replication.store.runs import RunStore, manifest, read_metrics
from replication.training import loop
from replication.training.batches import load_token_data
from replication.training.config import ModelConfig, TrainConfig
from replication.sweep.local import get_or_train_many
from replication.training.runner import check_resources, get_or_train

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs"

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw) -> TrainConfig:
    model = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)
    base = dict(model=model, batch_size=4, steps=8, warmup_steps=2, eval_interval=4, eval_windows=4,
                checkpoint_interval=4, log_interval=2)
    base.update(kw)
    return TrainConfig(**base)


TINY_ARGS = ["--channels", "32", "--layers", "2", "--latents", "16", "--prefix", "32", "--steps", "8",
             "--batch-size", "4", "--warmup-steps", "2", "--eval-interval", "4", "--eval-windows", "4",
             "--checkpoint-interval", "4", "--log-interval", "2", "--no-progress"]


def quiet(*a, **k):
    pass


def tiny_args(*extra) -> list[str]:
    """TINY_ARGS with ``extra`` options in place of the same ones there (an option may be given once)."""
    given = {word for word in extra if word.startswith("--")}
    base, words = [], iter(TINY_ARGS)
    for word in words:
        value = [] if word == "--no-progress" else [next(words)]
        if word not in given:
            base += [word, *value]
    return [*base, *extra]


def train_cli(capsys, runs, *extra):
    """``replication train`` on the tiny config: (exit status, stderr lines)."""
    rc = cli.main(["train", *tiny_args(*extra), "--runs-dir", str(runs)])
    return rc, capsys.readouterr().err.strip().splitlines()


@pytest.fixture
def finished(tmp_path):
    """A finished tiny run in a fresh store: (store, run)."""
    store = RunStore(tmp_path / "runs")
    return store, get_or_train(tiny(), store, progress=False, log=quiet)


def strict_json_lines(path: Path) -> list:
    def refuse(name):
        raise ValueError(name)

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


# -- a run without its summary ----------------------------------------------------------------------


def test_a_run_without_summary_or_checkpoint_is_refused_and_retrain_moves_it_aside(finished, capsys):
    store, run = finished
    loss = run.final_loss
    run.summary_path.unlink()
    shutil.rmtree(store.checkpoint_path(run.id).parent)  # as in a fresh clone: checkpoints are not committed
    metrics = run.metrics_path.read_bytes()

    with pytest.raises(ReplicationError, match=f"run {run.id} is incomplete.*metrics.jsonl.*--retrain"):
        get_or_train(tiny(), store, progress=False, log=quiet)
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1 and "incomplete" in err[0] and "--retrain" in err[0]
    with pytest.raises(ReplicationError, match="incomplete"):  # the studies' path, before any worker starts
        get_or_train_many([tiny()], store, progress=False)
    assert run.metrics_path.read_bytes() == metrics and not run.finished  # nothing overwritten

    rc, err = train_cli(capsys, store.root, "--retrain")
    assert rc == 0 and any("moved the recorded files" in line for line in err)
    [trash] = [p for p in (store.root / ".trash").iterdir() if p.is_dir()]
    assert trash.name.startswith(f"{run.id}-")
    assert (trash / "run" / "metrics.jsonl").read_bytes() == metrics  # the old records, kept aside
    assert run.finished and run.final_loss == loss  # retrained from step 0: the same run


def test_a_run_without_summary_but_with_its_checkpoint_resumes(finished):
    store, run = finished
    before = run.summary
    run.summary_path.unlink()
    logs = []
    again = get_or_train(tiny(), store, progress=False, log=logs.append)
    assert any("resuming from step 8" in m for m in logs)  # the last checkpoint is the last step
    after = again.summary
    assert after["final_val_loss"] == before["final_val_loss"]
    for name in ("config.json", "metrics.jsonl"):  # the recorded files are as they were
        assert after["manifest"][name] == before["manifest"][name]


def test_a_resume_that_would_hide_missing_records_is_refused(finished):
    store, run = finished
    run.summary_path.unlink()
    lines = run.metrics_path.read_text().splitlines(keepends=True)
    run.metrics_path.write_text("".join(lines[1:]))  # the first record lost, the checkpoint kept
    with pytest.raises(ReplicationError, match="records are missing"):
        get_or_train(tiny(), store, progress=False, log=quiet)
    assert run.metrics_path.read_text() == "".join(lines[1:])


# -- finished runs are verified by every reader -----------------------------------------------------


def readers(store, run):
    """Everything that reads a finished run."""
    return {
        "summary": lambda: run.summary,
        "final_loss": lambda: run.final_loss,
        "metrics": run.metrics,
        "config": lambda: run.config,
        "fingerprint": store.fingerprint,
        "get_or_train": lambda: get_or_train(tiny(), store, progress=False, log=quiet),
    }


@pytest.mark.parametrize("damage,file", [
    ("cut", "metrics.jsonl"),  # cut off at 95%, mid-line
    ("edit", "config.json"),
    ("delete", "metrics.jsonl"),
])
def test_a_changed_file_of_a_finished_run_is_detected_by_every_reader(finished, damage, file, capsys):
    store, run = finished
    path = run.dir / file
    text = path.read_text()
    if damage == "cut":
        path.write_text(text[:int(len(text) * 0.95)])
        assert not path.read_text().endswith("\n")
    elif damage == "edit":
        path.write_text(text.replace('"lr": 0.0002', '"lr": 0.0003'))
        assert path.read_text() != text
    else:
        path.unlink()
    for name, read in readers(store, run).items():
        with pytest.raises(ReplicationError, match=f"run {run.id}: .*{file}") as err:
            read()
        assert "\n" not in str(err.value), name
    assert repr(run).startswith(f"Run({run.id}, refused: run {run.id}: ")
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1 and file in err[0]


def test_an_edited_summary_is_detected(finished):
    store, run = finished
    s = json.loads(run.summary_path.read_text())
    write_json(run.summary_path, {**s, "final_val_loss": s["final_val_loss"] - 0.01})
    with pytest.raises(ReplicationError, match="summary.json was changed"):
        run.final_loss


@pytest.mark.parametrize("text,needle", [
    ("garbage{", "not valid JSON"),
    ("[1, 2]", "JSON list, not a run summary"),
    ('{"final_val_loss": 1.0}', "recorded before manifests; run tools/add_manifests.py"),
    ('{"manifest": {"x": 1}}', "malformed manifest"),
])
def test_corrupt_summaries_are_one_line_errors_naming_the_file(finished, text, needle, capsys):
    store, run = finished
    run.summary_path.write_text(text)
    with pytest.raises(ReplicationError, match=needle):
        run.summary
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1 and "summary.json" in err[0] and needle in err[0]


@pytest.mark.parametrize("file,text,needle", [
    ("metrics.jsonl", "5\n", "line 7: not a metrics record (a JSON int, not a record)"),
    ("metrics.jsonl", '{"kind": "val", "step": 9, "loss": NaN}\n', "line 7: not a metrics record (NaN is not"),
    ("config.json", "garbage", "config.json is not valid JSON"),
])
def test_corrupt_files_of_an_unfinished_run_are_one_line_errors(finished, file, text, needle, capsys):
    store, run = finished
    run.summary_path.unlink()
    path = run.dir / file
    assert len(run.metrics_path.read_text().splitlines()) == 6  # 4 train and 2 validation records
    path.write_text(path.read_text() + text if file == "metrics.jsonl" else text)
    before = path.read_text()
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and needle in err[-1] and str(path) in err[-1]
    assert path.read_text() == before and not run.finished


def test_an_unfinished_run_with_a_different_config_is_refused(finished):
    store, run = finished
    run.summary_path.unlink()
    write_json(run.config_path, {**run.config, "lr": 0.5})
    with pytest.raises(ReplicationError, match=f"{run.config_path} is not the config whose id is {run.id}"):
        get_or_train(tiny(), store, progress=False, log=quiet)


def test_a_cut_off_approach1_run_fails_the_study_instead_of_changing_its_exponents(tmp_path):
    """The measured case: cutting the Approach-1 runs' metrics at 95% mid-line used to change the
    Approach-1 exponents with exit 0."""
    from replication.studies import chinchilla as S
    from replication.studies import chinchilla_design as D

    root = tmp_path / "runs"
    shutil.copytree(RUNS, root, ignore=shutil.ignore_patterns(".*", "chapters"))
    t = S.runs_table(D.DEFAULT, root)
    approach1 = t["run_id"].tolist()  # every IsoFLOP run's curve enters Approach 1
    assert len(approach1) > 10
    S.curves_table(D.DEFAULT, root)  # reads as recorded
    path = root / approach1[3] / "metrics.jsonl"
    text = path.read_text()
    path.write_text(text[:int(len(text) * 0.95)])
    with pytest.raises(ReplicationError, match=f"run {approach1[3]}: {path}"):
        S.curves_table(D.DEFAULT, root)


def rewrite_summary(run, **fields) -> None:
    """Edit a finished run's summary and recompute its manifest, as a careful editor would."""
    s = {k: v for k, v in json.loads(run.summary_path.read_text()).items() if k != "manifest"}
    s.update(fields)
    write_json(run.summary_path, {**s, "manifest": manifest(run.dir, s)})


@pytest.mark.parametrize("field,delta", [("final_val_loss", -0.01), ("steps", 1), ("latent_tokens", 64),
                                         ("C_self", 1), ("C_cross", 1), ("C", 1)])
def test_a_summary_edited_with_its_manifest_is_refused_against_the_metrics(finished, field, delta, capsys):
    store, run = finished
    s = run.summary
    rewrite_summary(run, **{field: s[field] + delta})
    for name, read in readers(store, run).items():
        with pytest.raises(ReplicationError, match=f"run {run.id}: .*summary.json says {field}=") as err:
            read()
        assert "\n" not in str(err.value), name
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1 and f"says {field}=" in err[0] and run.id in err[0]


def test_a_summary_and_metrics_that_agree_still_verify(finished):
    store, run = finished
    rewrite_summary(run, wall_s=1.0)  # not in metrics.jsonl: nothing to check it against
    assert run.summary["wall_s"] == 1.0


# -- the recorded runs and their migration ----------------------------------------------------------


def test_every_recorded_run_has_a_manifest_that_verifies():
    runs = [r for r in RunStore(RUNS).runs() if r.finished]
    assert len(runs) >= 115
    for run in runs:
        assert run.verify()["manifest"]["metrics.jsonl"]["lines"] == len(run.metrics_path.read_text().splitlines())


def _migration():
    spec = importlib.util.spec_from_file_location("add_manifests", REPO / "tools" / "add_manifests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_adds_exactly_the_manifest_and_refuses_a_cut_run(tmp_path, capsys):
    ids = sorted(p.parent.name for p in RUNS.glob("*/summary.json"))[:3]
    root = tmp_path / "runs"
    for rid in ids:
        shutil.copytree(RUNS / rid, root / rid)
        s = json.loads((root / rid / "summary.json").read_text())
        del s["manifest"]
        write_json(root / rid / "summary.json", s)  # as recorded before manifests
    with pytest.raises(ReplicationError, match="before manifests"):
        RunStore(root).run(ids[0]).summary
    # the last run is cut short by whole lines: each line still parses, the final loss is missing
    cut = root / ids[2] / "metrics.jsonl"
    cut.write_text("".join(cut.read_text().splitlines(keepends=True)[:-1]))
    unmigrated = (root / ids[2] / "summary.json").read_text()

    assert _migration().main([str(root)]) == 1
    assert "manifest added to 2 run(s)" in capsys.readouterr().out
    for rid in ids[:2]:  # byte for byte what the recorded runs hold
        assert (root / rid / "summary.json").read_text() == (RUNS / rid / "summary.json").read_text()
    assert (root / ids[2] / "summary.json").read_text() == unmigrated
    assert _migration().main([str(root)]) == 1 and "2 already had one; 1 failed" in capsys.readouterr().out


def test_fingerprint_follows_finished_runs_and_their_manifests(tmp_path):
    store = RunStore(tmp_path / "runs")
    empty = store.fingerprint()
    assert RunStore(tmp_path / "other").fingerprint() != empty  # the root is part of it
    run = get_or_train(tiny(), store, progress=False, log=quiet)
    full = store.fingerprint()
    assert full != empty and store.fingerprint() == full
    assert store.fingerprint([run.id]) == full and store.fingerprint([]) == empty
    assert store.fingerprint([run.id, "0123456789ab"]) != full  # an unrecorded run counts as such
    other = get_or_train(tiny(seed=1), store, progress=False, log=quiet)
    assert store.fingerprint([run.id]) == full and store.fingerprint() != full
    assert store.fingerprint() == store.fingerprint([run.id, other.id])


# -- NaN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eval_interval,needle", [(2, "weights not finite after step 3"),
                                                  (1, "validation loss=nan after step 3")])
def test_nan_weights_never_reach_a_checkpoint_or_the_metrics(tmp_path, monkeypatch, eval_interval, needle):
    real = torch.optim.AdamW.step
    calls = {"n": 0}

    def step(self, *a, **k):  # the third step leaves a NaN in the weights
        out = real(self, *a, **k)
        calls["n"] += 1
        if calls["n"] == 3:
            self.param_groups[0]["params"][0].data.view(-1)[0] = float("nan")
        return out

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    cfg = tiny(checkpoint_interval=1, eval_interval=eval_interval, log_interval=1)
    data = load_token_data(cfg, tmp_path / "cache")
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(loop.TrainingDiverged, match=f"{needle}.*last good checkpoint: step 2"):
        loop.train(cfg, data, run_dir=tmp_path, ckpt_path=ckpt, progress=False, log=quiet)
    ck = torch.load(ckpt, weights_only=True)
    assert ck["state"]["step"] == 2
    assert all(torch.isfinite(v).all() for v in ck["model"].values())
    records = strict_json_lines(tmp_path / "metrics.jsonl")  # valid JSON: no bare NaN
    assert max(r["step"] for r in records) == 3 and all(r["loss"] == r["loss"] for r in records)


def test_unbounded_floats_have_bounds_that_the_message_names():
    for kw, needle in [(dict(weight_decay=1e30), r"weight_decay=1e\+30 is out of range; allowed: \[0.0, 10.0\]"),
                       (dict(weight_decay=5.0, lr=0.5), "lr x weight_decay < 1"),
                       (dict(grad_clip=1e9), r"grad_clip=1000000000.0 is out of range; allowed: \(0.0, 1000000.0\]"),
                       (dict(seed=2**40), r"seed=1099511627776 is out of range; allowed: \[0, 4294967295\]"),
                       (dict(steps=None, budget_flops=1e40), "allowed: at most 1,000,000,000 steps"),
                       (dict(micro_batch_size=3), "batch_size=4 must be a multiple of micro_batch_size=3")]:
        with pytest.raises(ReplicationError, match=needle):
            tiny(**kw)
    with pytest.raises(ReplicationError, match=r"init_std=2.0 is out of range; allowed: \(0.0, 1.0\]"):
        ModelConfig(init_std=2.0)


# -- nothing written before every check passed -------------------------------------------------------


@pytest.mark.parametrize("extra,needle", [
    (["--batch-size", "8", "--micro-batch-size", "3"], "multiple of micro_batch_size=3"),
    (["--channels", "65536"], "GB for the parameters, gradients and Adam state"),
    (["--batch-size", "100000000"], "for the activations of a micro-batch of 100000000 sequences"),
])
def test_refused_configs_write_nothing(tmp_path, capsys, extra, needle):
    runs = tmp_path / "runs"
    t0 = time.perf_counter()
    rc, err = train_cli(capsys, runs, *extra)
    assert rc == 2 and len(err) == 1 and needle in err[0]
    assert not runs.exists() and time.perf_counter() - t0 < 10


def test_the_memory_estimate_refuses_what_cannot_fit_and_passes_every_recorded_config():
    with pytest.raises(ReplicationError, match=r"needs about [\d,.]+ GB of memory .*this machine has"):
        check_resources(tiny(batch_size=10**8))
    for path in sorted(RUNS.glob("*/config.json")):
        check_resources(TrainConfig.from_dict(json.loads(path.read_text())))
    # activation checkpointing keeps less of a micro-batch, and the estimate knows it
    big = tiny(model=ModelConfig(num_channels=512, num_layers=9), batch_size=8)
    saved = dataclasses.replace(big, activation_checkpointing=True)
    assert saved.memory_estimate(8)["activations"] < big.memory_estimate(8)["activations"] / 2
    assert saved.memory_estimate(8)["parameters"] == big.memory_estimate(8)["parameters"]


def test_a_runs_folder_that_is_a_file_or_read_only_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    where = "replication train: error: runs folder (--runs-dir, $REPLICATION_RUNS_DIR)"
    rc, err = train_cli(capsys, a_file)
    assert rc == 2 and err == [f"{where} {a_file} is a file, not a folder"]
    rc, err = train_cli(capsys, a_file / "runs")
    assert rc == 2 and err == [f"{where} {a_file / 'runs'} cannot be created: Not a directory"]

    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: stand in for a user without write access
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == read_only else real(p, mode))
        rc, err = train_cli(capsys, read_only)
        assert rc == 2 and err == [f"{where} {read_only} is read-only"]
    finally:
        read_only.chmod(0o755)
    assert list(read_only.iterdir()) == []


# -- interrupts, threads and stray temporaries ------------------------------------------------------


class Stop(Exception):
    pass


def interrupted(monkeypatch, at_call: int, exc=Stop):
    """Make the ``at_call``-th optimizer step raise ``exc``; returns a function that undoes it."""
    real = torch.optim.AdamW.step
    calls = {"n": 0}

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise exc
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    return lambda: monkeypatch.setattr(torch.optim.AdamW, "step", real)


def test_ctrl_c_says_which_run_and_where_it_resumes(tmp_path, monkeypatch, capsys):
    store = RunStore(tmp_path)
    undo = interrupted(monkeypatch, 6, KeyboardInterrupt)
    rid = tiny().run_id()
    with pytest.raises(KeyboardInterrupt, match=f"^run {rid} stopped at step 5 of 8; it resumes from its "
                                                "checkpoint at step 4$"):
        get_or_train(tiny(), store, progress=False, log=quiet)
    undo()
    interrupted(monkeypatch, 2, KeyboardInterrupt)
    rc, err = train_cli(capsys, tmp_path / "other")
    assert rc == 130 and err == [f"replication train: interrupted: run {rid} stopped at step 1 of 8 before its "
                                 "first checkpoint; retrain it from step 0 (replication train --retrain)"]


def test_resuming_with_another_thread_count_or_without_the_cpu_kernels_warns(tmp_path, monkeypatch, capsys):
    from replication.training import kernels

    store = RunStore(tmp_path)
    undo = interrupted(monkeypatch, 6)
    with pytest.raises(Stop):
        get_or_train(tiny(), store, progress=False, log=quiet)
    undo()
    state = torch.load(store.checkpoint_path(tiny().run_id()), weights_only=True)["state"]
    built = (shutil.which("g++") or shutil.which("c++")) is not None
    assert state["threads"] == 1 and state["cpu_kernels"] is built
    capsys.readouterr()
    torch.set_num_threads(2)  # the one_thread fixture restores the count
    monkeypatch.setattr(kernels, "available", lambda: False)  # as on a machine without a C++ compiler
    get_or_train(tiny(), store, progress=False, log=quiet)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "bit-identical" in line]
    assert len(warnings) == 1 + built and "checkpointed with 1 torch thread(s), resumed with 2" in warnings[0]
    assert not built or "checkpointed with the CPU kernels, resumed without them" in warnings[1]


def test_resume_warnings_name_what_differs():
    from replication.training.checkpoints import resume_warnings

    assert resume_warnings({"threads": 1, "cpu_kernels": True}, 1, True) == []
    assert resume_warnings({}, 2, False) == []  # a checkpoint from before either was recorded
    both = resume_warnings({"threads": 2, "cpu_kernels": False}, 1, True)
    assert [w.split(":")[0] for w in both] == [
        "checkpointed with 2 torch thread(s), resumed with 1 (set OMP_NUM_THREADS to match)",
        "checkpointed without the CPU kernels, resumed with them (training.kernels"]
    assert all(w.endswith("the result will not be bit-identical to an uninterrupted run") for w in both)


def test_stray_temporaries_are_removed_on_the_next_start(tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    undo = interrupted(monkeypatch, 6)
    with pytest.raises(Stop):
        get_or_train(tiny(), store, progress=False, log=quiet)
    undo()
    run = store.run(tiny().run_id())
    stray = [run.dir / ".summary.json.123.tmp", store.checkpoint_path(run.id).with_name(".ckpt.pt.456.tmp")]
    for p in stray:
        p.write_bytes(b"half")
    logs = []
    get_or_train(tiny(), store, progress=False, log=logs.append)
    assert not any(p.exists() for p in stray) and run.finished
    assert sum("left by a write that was killed" in m for m in logs) == 2


# -- checkpoints: loaded without running code, and only into their own run ------------------------


class Planted:
    """What a malicious checkpoint holds: unpickling it runs a command (here: touches a marker file)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def stopped_at(store, cfg, call: int, monkeypatch) -> Path:
    """Train ``cfg`` until its ``call``-th optimizer step, which raises; returns its checkpoint."""
    undo = interrupted(monkeypatch, call)
    with pytest.raises(Stop):
        get_or_train(cfg, store, progress=False, log=quiet)
    undo()
    return store.checkpoint_path(cfg.run_id())


def test_a_checkpoint_holds_only_what_weights_only_loads(finished):
    store, run = finished
    ck = torch.load(store.checkpoint_path(run.id), weights_only=True)
    assert ck["run_id"] == run.id and ck["config_sha256"].startswith(run.id)
    assert ck["state"]["step"] == 8 and set(ck["optimizer"]) == {"state", "param_groups"}


@pytest.mark.parametrize("how", ["get_or_train", "cli", "many"])
def test_a_planted_pickle_checkpoint_is_refused_and_never_runs(tmp_path, capsys, how):
    store = RunStore(tmp_path / "runs")
    marker = tmp_path / "MARKER"
    ck = store.checkpoint_path(tiny().run_id())
    ck.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": {}, "optimizer": {}, "state": {"step": 4}, "run_id": tiny().run_id(),
                "payload": Planted(marker)}, ck)
    needle = f"checkpoint {ck} cannot be loaded as plain tensors and numbers"
    if how == "cli":
        rc, err = train_cli(capsys, store.root)
        assert rc == 2 and len(err) == 1 and needle in err[0] and "--retrain" in err[0]
    else:
        train = (lambda: get_or_train(tiny(), store, progress=False, log=quiet)) if how == "get_or_train" \
            else (lambda: get_or_train_many([tiny()], store, progress=False))
        with pytest.raises(ReplicationError, match=f"^{needle}"):
            train()
    assert not marker.exists()
    assert not (store.root / tiny().run_id()).exists()  # refused before the run's folder is made
    rc, err = train_cli(capsys, store.root, "--retrain")  # what the message says to do
    assert rc == 0 and not marker.exists() and store.run(tiny().run_id()).finished


def test_swapped_checkpoints_of_two_runs_are_refused(tmp_path, monkeypatch, capsys):
    store = RunStore(tmp_path)
    a, b = tiny(seed=1), tiny(seed=2)
    pa, pb = stopped_at(store, a, 6, monkeypatch), stopped_at(store, b, 6, monkeypatch)
    data_a, data_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(data_b)
    pb.write_bytes(data_a)
    metrics = store.run(a.run_id()).metrics_path.read_bytes()
    for cfg, path, other in ((a, pa, b), (b, pb, a)):
        with pytest.raises(ReplicationError, match=f"^checkpoint {path} is of run '{other.run_id()}' .*not of run "
                                                   f"'{cfg.run_id()}' .* that resumes from it"):
            get_or_train(cfg, store, progress=False, log=quiet)
    with pytest.raises(ReplicationError, match="is of run"):  # the studies' path refuses before any worker
        get_or_train_many([a, b], store, progress=False)
    assert store.run(a.run_id()).metrics_path.read_bytes() == metrics  # nothing recorded from the wrong run


def test_a_checkpoint_from_before_run_ids_is_refused_with_retrain(tmp_path, monkeypatch, capsys):
    store = RunStore(tmp_path)
    path = stopped_at(store, tiny(), 6, monkeypatch)
    ck = torch.load(path, weights_only=True)
    torch.save({k: ck[k] for k in ("model", "optimizer", "state")}, path)  # the old format
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1
    assert f"checkpoint {path} was written before checkpoints recorded their run id" in err[0]
    assert "replication train --retrain" in err[0]
    rc, err = train_cli(capsys, store.root, "--retrain")
    assert rc == 0 and store.run(tiny().run_id()).finished


@pytest.mark.parametrize("data", [b"", b"garbage", b"PK\x03\x04 cut"])
def test_a_damaged_checkpoint_is_one_line(tmp_path, capsys, data):
    store = RunStore(tmp_path)
    ck = store.checkpoint_path(tiny().run_id())
    ck.parent.mkdir(parents=True)
    ck.write_bytes(data)
    rc, err = train_cli(capsys, store.root)
    assert rc == 2 and len(err) == 1 and f"checkpoint {ck} cannot be loaded" in err[0]


# -- the token cache: no pickle, and checked against what it was built from ------------------------


def _token_files(store):
    folder = store.cache_dir / "tokens"
    return sorted(folder.glob("*-train.npy"))[0], sorted(folder.glob("*-val.npy"))[0], folder


@pytest.mark.parametrize("damage", ["swap", "corrupt", "truncate", "pickle", "other-meta"])
def test_a_damaged_or_swapped_token_cache_is_rebuilt(finished, damage, capsys):
    import numpy as np

    from replication.corpus.streams import load_data

    store, run = finished
    good = load_data(cache_dir=store.cache_dir)
    # copies: the cache is memory-mapped, and the damage below rewrites the files in place
    good_train, good_val = np.array(good.train), np.array(good.val)
    del good
    train, val, folder = _token_files(store)
    [meta] = folder.glob("*.json")
    if damage == "swap":
        t = train.read_bytes()
        train.write_bytes(val.read_bytes())
        val.write_bytes(t)
    elif damage == "corrupt":
        data = bytearray(train.read_bytes())
        data[-10] ^= 0xFF  # one token changed: the header still parses
        train.write_bytes(bytes(data))
    elif damage == "truncate":
        train.write_bytes(train.read_bytes()[:1000])
    elif damage == "pickle":  # an .npy of objects would unpickle them
        np.save(train, np.array([Planted(store.root / "MARKER")], dtype=object), allow_pickle=True)
    else:
        m = json.loads(meta.read_text())
        m["built_from"]["val_fraction"] = 0.1
        meta.write_text(json.dumps(m))
    capsys.readouterr()
    again = load_data(cache_dir=store.cache_dir)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("token cache: ") and err[0].endswith("; rebuilding it")
    assert np.array_equal(again.train, good_train) and np.array_equal(again.val, good_val)
    assert not (store.root / "MARKER").exists()
    load_data(cache_dir=store.cache_dir)  # rebuilt: read back without a word
    assert capsys.readouterr().err == ""
    assert not list(folder.glob("*.tmp"))
    # and a run trained on the rebuilt cache is the same run
    run.summary_path.unlink()
    shutil.rmtree(store.checkpoint_path(run.id).parent)
    before = run.metrics_path.read_text()
    run.metrics_path.unlink()
    get_or_train(tiny(), store, progress=False, log=quiet)
    timings = ("wall_s", "latent_tokens_per_s")
    assert [{k: v for k, v in r.items() if k not in timings} for r in read_metrics(run.metrics_path)] == \
        [{k: v for k, v in json.loads(line).items() if k not in timings} for line in before.splitlines()]


# -- a full disk ------------------------------------------------------------------------------------


def full_disk(monkeypatch, name: str, nth: int):
    """Make the ``nth`` fsync of a file whose name contains ``name`` fail with ENOSPC (the atomic writer
    fsyncs its temporary file before the rename, where a full disk shows at the latest)."""
    real = os.fsync
    seen = {"n": 0}

    def fsync(fd):
        if name in os.readlink(f"/proc/self/fd/{fd}"):
            seen["n"] += 1
            if seen["n"] == nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return lambda: monkeypatch.setattr(os, "fsync", real)


def _losses(run):
    return [(r["kind"], r["step"], r["loss"]) for r in read_metrics(run.metrics_path)]


@pytest.mark.parametrize("nth,resumes", [(1, None), (2, 4)])  # checkpoints at steps 4 and 8
def test_a_full_disk_while_checkpointing_is_one_line_and_the_run_resumes_bit_exact(finished, tmp_path, monkeypatch,
                                                                                  capsys, nth, resumes):
    _, ref = finished
    store = RunStore(tmp_path / "full")
    undo = full_disk(monkeypatch, "ckpt.pt", nth)
    rc, err = train_cli(capsys, store.root)
    ck = store.checkpoint_path(ref.id)
    assert rc == 2 and len(err) == 1, err
    assert f"writing {ck} failed: no space left on device" in err[0]
    if resumes:
        assert f"the run resumes from its last good checkpoint at step {resumes} ({ck})" in err[0]
        assert torch.load(ck, weights_only=True)["state"]["step"] == resumes  # the last good one, intact
    else:
        assert "no checkpoint was written yet: the run starts again from step 0" in err[0]
        assert not ck.exists()
    run = store.run(ref.id)
    assert max([r["step"] for r in read_metrics(run.metrics_path)], default=0) == (resumes or 0)
    assert not list(store.root.rglob("*.tmp"))
    undo()
    rc, err = train_cli(capsys, store.root)
    assert rc == 0 and (not resumes or f"resuming from step {resumes}" in "\n".join(err))
    assert run.final_loss == ref.final_loss and _losses(run) == _losses(ref)


def test_a_full_disk_while_logging_cuts_the_half_line_and_resumes_bit_exact(finished, tmp_path, monkeypatch, capsys):
    _, ref = finished
    store = RunStore(tmp_path / "full")

    class HalfWritten:  # the 5th record is cut after 10 characters by ENOSPC
        n = 0

        def __init__(self, path, mode):
            self.f = open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, text):
            HalfWritten.n += 1
            if HalfWritten.n == 5:
                self.f.write(text[:10])
                self.f.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(text)

    monkeypatch.setattr(loop, "open", HalfWritten, raising=False)
    rc, err = train_cli(capsys, store.root)
    run = store.run(ref.id)
    assert rc == 2 and len(err) == 1
    assert f"writing {run.metrics_path} failed: no space left on device" in err[0]
    assert "resumes from its last good checkpoint at step 4" in err[0]
    assert [r["step"] for r in read_metrics(run.metrics_path)] == [2, 4, 4]  # no half line, nothing past step 4
    monkeypatch.delattr(loop, "open")
    rc, err = train_cli(capsys, store.root)
    assert rc == 0 and run.final_loss == ref.final_loss and _losses(run) == _losses(ref)


def test_a_full_disk_while_writing_the_summary_resumes_at_the_last_step(finished, tmp_path, monkeypatch, capsys):
    _, ref = finished
    store = RunStore(tmp_path / "full")
    undo = full_disk(monkeypatch, "summary.json", 1)
    rc, err = train_cli(capsys, store.root)
    run = store.run(ref.id)
    assert rc == 2 and len(err) == 1
    assert f"writing {run.summary_path} failed: no space left on device" in err[0]
    assert "resumes from its last good checkpoint at step 8" in err[0] and not run.finished
    undo()
    rc, err = train_cli(capsys, store.root)
    assert rc == 0 and run.final_loss == ref.final_loss and _losses(run) == _losses(ref)


def test_a_full_disk_on_retrain_is_one_line_and_retrain_then_works(finished, monkeypatch, capsys):
    store, run = finished
    loss = run.final_loss
    undo = full_disk(monkeypatch, "ckpt.pt", 1)
    rc, err = train_cli(capsys, store.root, "--retrain")
    assert rc == 2 and "no space left on device" in err[-1] and "starts again from step 0" in err[-1]
    assert "Traceback" not in "\n".join(err)
    undo()
    rc, err = train_cli(capsys, store.root)  # the message's word: asking again trains it from step 0
    assert rc == 0 and run.final_loss == loss


# -- the runs folder --------------------------------------------------------------------------------


def test_an_empty_runs_folder_is_refused_and_nothing_is_written_where_the_command_runs(tmp_path, monkeypatch,
                                                                                       capsys):
    monkeypatch.chdir(tmp_path)
    needle = "runs folder (--runs-dir, $REPLICATION_RUNS_DIR)='' is empty; allowed: a folder path"
    rc = cli.main(["train", *TINY_ARGS, "--runs-dir", ""])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0]
    monkeypatch.setenv("REPLICATION_RUNS_DIR", "")
    rc = cli.main(["train", *TINY_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and needle in err[0]
    with pytest.raises(ReplicationError, match="is empty"):
        RunStore()
    with pytest.raises(ReplicationError, match="is empty"):
        RunStore("")
    assert list(tmp_path.iterdir()) == []


# -- kill -9 in the middle of a checkpoint write ----------------------------------------------------


def _cli(runs, steps):
    return [sys.executable, "-m", "replication", "train", "--channels", "32", "--layers", "2", "--latents", "16",
            "--prefix", "32", "--steps", str(steps), "--batch-size", "4", "--warmup-steps", "2",
            "--eval-interval", "5", "--eval-windows", "4", "--checkpoint-interval", "1", "--log-interval", "1",
            "--runs-dir", str(runs), "--no-progress", "--json"]


@pytest.mark.slow
def test_kill_9_during_a_checkpoint_write_resumes_bit_exact_and_leaves_no_stray_files(tmp_path):
    steps = 150
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = subprocess.run(_cli(tmp_path / "ref", steps), capture_output=True, text=True, env=env, timeout=180)
    assert ref.returncode == 0, ref.stderr
    runs = tmp_path / "killed"
    rng = random.Random()
    left_behind = []
    for attempt in range(8):  # kill until a kill has cut a checkpoint write short
        proc = subprocess.Popen(_cli(runs, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            # a checkpoint write has begun, after the first checkpoint (a run killed before its first
            # checkpoint is not resumed: it is retrained with --retrain)
            if list(runs.glob(".checkpoints/*/*.tmp")) and list(runs.glob(".checkpoints/*/ckpt.pt")):
                time.sleep(rng.uniform(0, 0.002))
                break
            time.sleep(0.0002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        left_behind = list(runs.rglob("*.tmp"))
        if left_behind:
            break
    assert left_behind, "no kill landed inside a checkpoint write"
    out = subprocess.run(_cli(runs, steps), capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "resuming from step" in out.stderr and "left by a write that was killed" in out.stderr
    assert json.loads(out.stdout)["final_val_loss"] == json.loads(ref.stdout)["final_val_loss"]
    [a] = (tmp_path / "ref" / ".checkpoints").glob("*/ckpt.pt")
    [b] = (runs / ".checkpoints").glob("*/ckpt.pt")
    a, b = torch.load(a, weights_only=True)["model"], torch.load(b, weights_only=True)["model"]
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    assert not list(runs.rglob("*.tmp"))
    run = RunStore(runs).runs()[0]
    assert [r["step"] for r in read_metrics(run.metrics_path) if r["kind"] == "train"] == list(range(1, steps + 1))
