"""replication sweep: the studies' designs as submitit jobs, the run store as the meeting point of workers.

The smoke designs go through submitit's local executor into a temporary store; a worker is killed mid-run
and resumed bit-exact; four workers share one store; the SLURM plan is checked field by field; bad input
is one line each.
"""
from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from replication.cli import main as cli
from replication.errors import ReplicationError
from replication.store.runs import RunStore, read_metrics
from replication.sweep import Planned, plan, run_sweep, sweep_status
from replication.sweep.designs import smoke_chinchilla
from replication.training.runner import get_or_train


@pytest.fixture
def one_thread(monkeypatch):
    """One torch thread here and in every job (bit-exact resumes; two shared cores)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("REPLICATION_CLAIM_HEARTBEAT_S", "0.2")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _losses(run) -> list:
    return [(r["kind"], r["step"], r["loss"]) for r in read_metrics(run.metrics_path)]


def _quiet(*a, **k):
    pass


# -- 1. the smoke designs through the local executor ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_smoke_designs_train_through_submitit_then_submit_nothing_and_equal_the_in_process_path(
        tmp_path, one_thread, capsys):
    store = tmp_path / "runs"
    timings = {}
    for study in ("chinchilla", "krasser", "transfer"):
        planned = plan(study, "smoke")
        assert 2 <= len(planned) <= 4
        t0 = time.perf_counter()
        report = run_sweep(study, "smoke", runs_dir=store, max_parallel=2, progress=False)
        timings[study] = time.perf_counter() - t0
        assert report["failed"] == {} and report["planned"] == len(planned)
        assert all(RunStore(store).run(p.run_id).finished for p in planned)
        again = run_sweep(study, "smoke", runs_dir=store, max_parallel=2, progress=False)
        assert again["to_submit"] == 0 and again["submitted"] == 0 and again["finished"] == len(planned)
        states, table = sweep_status(study, "smoke", runs_dir=store)
        assert {s.state for s in states} == {"finished"} and table["finished"].sum() == len(planned)
    # the transfer test's decoder is the Chinchilla smoke study's run: found finished, not trained again
    shared = plan("transfer", "smoke")[0].run_id
    assert shared in {p.run_id for p in plan("chinchilla", "smoke")}
    # the same configs trained in this process give the same runs, bit for bit: one run of each study not
    # checked yet (a decoder, a Perceiver AR, the transfer test's Perceiver AR with prefix)
    checked = set()
    for study in ("chinchilla", "krasser", "transfer"):
        p = next(p for p in plan(study, "smoke") if p.run_id not in checked)
        checked.add(p.run_id)
        ref = get_or_train(p.cfg, RunStore(tmp_path / "ref"), progress=False, log=_quiet)
        got = RunStore(store).run(p.run_id)
        assert got.final_loss == ref.final_loss and _losses(got) == _losses(ref), (study, p.run_id)
    assert not list(store.rglob("*.tmp")) and not list((store / ".claims").glob("*.claim"))
    with capsys.disabled():
        print("\nsmoke timings (local executor, 2 at a time): " +
              ", ".join(f"{k} {len(plan(k, 'smoke'))} runs {v:.1f} s" for k, v in timings.items()))


# -- 2. a worker killed mid-run ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_worker_is_reported_and_the_next_sweep_resumes_it_bit_exact(tmp_path, one_thread, capsys):
    s = smoke_chinchilla()
    cfg = replace(s.config(0, 5e9, 0), checkpoint_interval=4)  # about 50 steps, a checkpoint every 4
    planned = [Planned(cfg, "5e+09 FLOPs")]
    store, rid = RunStore(tmp_path / "runs"), cfg.run_id()
    out = {}
    sweeper = threading.Thread(target=lambda: out.update(run_sweep("chinchilla", runs_dir=store.root,
                                                                   progress=False, planned=planned)))
    sweeper.start()
    ckpt = store.checkpoint_path(rid)
    deadline = time.monotonic() + 120
    while not ckpt.is_file() and time.monotonic() < deadline:
        time.sleep(0.02)
    [claim] = store.claims(rid)
    worker = claim.holder["pid"]
    os.kill(worker, signal.SIGKILL)  # the job's process, mid-run, after its first checkpoint
    sweeper.join(60)
    assert not sweeper.is_alive() and list(out["failed"]) == [rid]
    assert not store.run(rid).finished
    at = torch.load(ckpt, weights_only=True)["state"]["step"]
    assert 0 < at < cfg.num_steps()

    states, table = sweep_status("chinchilla", runs_dir=store.root, planned=planned)
    [st] = states
    assert st.state == "failed" and "its worker died: stale claim" in st.detail and f"pid {worker}" in st.detail
    assert table.to_dict("records") == [{"budget": "5e+09 FLOPs", "finished": 0, "running": 0, "failed": 1,
                                         "missing": 0}]

    again = run_sweep("chinchilla", runs_dir=store.root, progress=False, planned=planned)
    result = again["results"][rid]
    assert again["submitted"] == 1 and result["status"] == "resumed"
    assert any("took over a stale claim" in m and f"pid {worker}" in m for m in result["messages"])
    assert any(m.startswith("resuming from step") for m in result["messages"])
    ref = get_or_train(cfg, RunStore(tmp_path / "ref"), progress=False, log=_quiet)
    run = store.run(rid)
    assert run.final_loss == ref.final_loss and _losses(run) == _losses(ref)  # bit-exact
    assert [s.state for s in sweep_status("chinchilla", runs_dir=store.root, planned=planned)[0]] == ["finished"]


# -- 3. four workers, one store ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_four_workers_with_overlapping_plans_train_every_run_once(tmp_path, one_thread, capsys):
    s = smoke_chinchilla()
    cfgs = [replace(s.config(0, 1e9, seed), checkpoint_interval=4) for seed in range(4)]
    plans = [[Planned(cfgs[(w + k) % 4], "1e+09 FLOPs") for k in range(2)] for w in range(4)]  # each run twice
    root = tmp_path / "runs"
    reports, errors = [None] * 4, []

    def worker(w):
        try:
            reports[w] = run_sweep("chinchilla", runs_dir=root, max_parallel=1, progress=False, planned=plans[w])
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors and all(r is not None for r in reports)
    store = RunStore(root)
    planned = {c.run_id() for c in cfgs}
    trained = [rid for r in reports for rid, res in r["results"].items() if res["status"] in ("trained", "resumed")]
    duplicates = len(trained) - len(set(trained))
    lost = [rid for rid in planned if not store.run(rid).finished]
    assert sorted(trained) == sorted(planned) and duplicates == 0 and lost == []
    assert all(not r["failed"] for r in reports)
    for rid in planned:  # nothing corrupted: every manifest holds, every step logged once
        run = store.run(rid)
        run.verify()
        steps = [r["step"] for r in read_metrics(run.metrics_path) if r["kind"] == "train"]
        assert steps == sorted(set(steps))
    assert not list(root.rglob("*.tmp")) and not list((root / ".claims").glob("*.claim"))
    with capsys.disabled():
        print(f"\nfour workers: {sum(len(p) for p in plans)} runs planned ({len(planned)} distinct), "
              f"{len(trained)} trained, {duplicates} duplicates, {len(lost)} lost")


# -- 4. the SLURM plan, field by field -----------------------------------------------------------------


def test_slurm_dry_run_of_the_chinchilla_default_design_field_by_field(tmp_path, capsys):
    from replication.studies.chinchilla_design import DEFAULT

    root = tmp_path / "empty"
    rc = cli(["sweep", "chinchilla", "--executor", "slurm", "--dry-run", "--json", "--runs-dir", str(root),
              "--partition", "cpu", "--account", "proj", "--constraint", "avx2", "--sbatch=--qos=high",
              "--throughput", "1e9", "--max-parallel", "50"])
    out = capsys.readouterr().out
    assert rc == 0
    report = json.loads(out)
    cfgs = DEFAULT.configs()
    assert (report["study"], report["design"], report["executor"]) == ("chinchilla", "default", "slurm")
    assert report["planned"] == report["to_submit"] == len(cfgs) and report["finished"] == 0
    assert report["throughput"] == 1e9 and report["throughput_source"] == "--throughput"
    by_id = {c.run_id(): c for c in cfgs}
    jobs = [j for arr in report["plan"] for j in arr["jobs"]]
    assert sorted(j["run_id"] for j in jobs) == sorted(by_id)
    for arr in report["plan"]:
        n, p = arr["count"], arr["parameters"]
        assert n == len(arr["jobs"]) and [j["index"] for j in arr["jobs"]] == list(range(n))
        assert (p["partition"], p["account"], p["constraint"]) == ("cpu", "proj", "avx2")
        assert p["additional_parameters"] == {"qos": "high"} and p["array_parallelism"] == 50
        script = arr["sbatch"]
        for line in ("#SBATCH --partition=cpu", "#SBATCH --account=proj", "#SBATCH --constraint=avx2",
                     "#SBATCH --qos=high", f"#SBATCH --array=0-{n - 1}%{min(n, 50)}", f"#SBATCH --time={p['time']}",
                     f"#SBATCH --cpus-per-task={p['cpus_per_task']}", f"#SBATCH --mem={p['mem']}",
                     "#SBATCH --job-name=replication-chinchilla", "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}"):
            assert line in script.splitlines(), line
        assert "-m submitit.core._submit" in script and str(root / ".sweep" / "chinchilla") in script
        for j in arr["jobs"]:
            cfg, r = by_id[j["run_id"]], j["resources"]
            assert j["config"] == cfg.identity() and j["steps"] == cfg.num_steps()
            c_self, c_cross = cfg.flops_per_latent_token()
            flops = cfg.num_steps() * cfg.batch_size * cfg.model.num_latents * (c_self + c_cross)
            assert j["flops"] == flops
            assert r["time_min"] == max(15, math.ceil((2 * flops / 1e9 + 600) / 60)) == p["time"]
            mem = cfg.memory_estimate(cfg.batch_size)["total"]
            assert r["mem_gb"] == math.ceil((1.5 * mem + 2 * 2**30) / 2**30) and p["mem"] == f"{r['mem_gb']}GB"
            assert (r["cpus_per_job"], r["gpus_per_job"], r["nodes"]) == (2, 0, 1)
            assert " -m replication train " in j["command"] and j["command"].endswith(
                f"--runs-dir {root} --no-progress") and f"--channels {cfg.model.num_channels} " in j["command"]
    assert not root.exists()  # a dry run writes nothing

    rc = cli(["sweep", "chinchilla", "--executor", "slurm", "--dry-run", "--runs-dir", str(root)])
    text = capsys.readouterr().out.splitlines()
    assert rc == 0 and text[0] == (f"chinchilla, design default: {len(cfgs)} runs planned, 0 finished in {root}, "
                                   f"{len(cfgs)} to submit (slurm, dry run)")
    assert sum(line.startswith("job ") for line in text) == len(cfgs)

    # more GPUs than one: the job runs torchrun over the node's GPUs, across nodes with a rendezvous
    rc = cli(["sweep", "chinchilla", "--design", "smoke", "--executor", "slurm", "--dry-run", "--json",
              "--runs-dir", str(root), "--gpus-per-job", "4", "--nodes", "2"])
    big = json.loads(capsys.readouterr().out)
    cmd = big["plan"][0]["jobs"][0]["command"]
    assert rc == 0 and "-m torch.distributed.run --nproc_per_node=4 --nnodes=2 --rdzv_backend=c10d" in cmd
    assert big["plan"][0]["parameters"]["gpus_per_node"] == 4 and "#SBATCH --nodes=2" in big["plan"][0]["sbatch"]


# -- 5. bad input: one line each ------------------------------------------------------------------------


def _one_line(capsys, *argv) -> str:
    rc = cli(["sweep", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    return err[0]


def test_bad_input_is_one_line_naming_the_parameter(tmp_path, capsys, monkeypatch):
    runs = str(tmp_path / "runs")
    assert "study='nope' is not known; choose one of: chinchilla, krasser, transfer" in _one_line(capsys, "nope")
    assert "study='nope' is not known" in _one_line(capsys, "status", "nope")
    assert "--design='big' is not a design of the krasser study; choose one of: default, 1, 2a, 2b, smoke" in \
        _one_line(capsys, "krasser", "--design", "big")
    assert "--executor='pbs' is not known; choose one of: local, slurm" in \
        _one_line(capsys, "chinchilla", "--executor", "pbs")
    for option, value, allowed in (("--cpus-per-job", "-1", "[1, inf)"), ("--gpus-per-job", "-1", "[0, inf)"),
                                   ("--time", "0", "[1, inf)"), ("--nodes", "0", "[1, inf)"),
                                   ("--mem-gb", "-2", "(0, inf)"), ("--throughput", "-1", "(0, inf)")):
        line = _one_line(capsys, "chinchilla", "--executor", "slurm", "--dry-run", "--runs-dir", runs,
                         f"{option}={value}")
        assert f"{option}=" in line and f"allowed: {allowed}" in line, line
    assert "--max-parallel=0 is out of range; allowed: [1, inf)" in \
        _one_line(capsys, "chinchilla", "--max-parallel", "0", "--runs-dir", runs)
    assert "--sbatch='qos=high' is not an sbatch option" in \
        _one_line(capsys, "chinchilla", "--executor", "slurm", "--dry-run", "--sbatch", "qos=high")
    # the engine missing: no SLURM here, and no submitit
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "--executor slurm: sbatch and srun are not on PATH" in \
        _one_line(capsys, "chinchilla", "--design", "smoke", "--executor", "slurm", "--runs-dir", runs)
    monkeypatch.undo()
    monkeypatch.setitem(__import__("sys").modules, "submitit", None)
    with pytest.raises(ReplicationError, match="submitit, which is not installed; allowed: pip install submitit"):
        run_sweep("chinchilla", "smoke", runs_dir=runs, progress=False)
    monkeypatch.undo()
    # a store on a read-only path
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: stand in for a user without write access
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == read_only else real(p, mode))
        line = _one_line(capsys, "chinchilla", "--design", "smoke", "--runs-dir", str(read_only))
        assert line == f"replication sweep: error: runs folder (--runs-dir, $REPLICATION_RUNS_DIR) {read_only} is read-only"
    finally:
        read_only.chmod(0o755)
    assert list(read_only.iterdir()) == []
