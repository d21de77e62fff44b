import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from replication import cli
from replication.training import options as train_cli
from replication.errors import ReplicationError
from replication.training import loop as T
from replication.training.batches import load_token_data
from replication.training.config import ModelConfig, TrainConfig


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**kw) -> TrainConfig:
    model = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)
    base = dict(model=model, batch_size=4, steps=24, warmup_steps=4, lr=3e-3, eval_interval=8,
                eval_windows=8, checkpoint_interval=4, log_interval=4)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def token_data(tmp_path_factory):
    return load_token_data(tiny(), tmp_path_factory.mktemp("cache"))


def state_of(path):
    return torch.load(path, weights_only=True)["model"]


def test_lr_schedule():
    cfg = tiny(lr=1e-3, warmup_steps=10)
    total = 111  # cosine over steps 10..110
    lrs = [T.lr_at(s, cfg, total) for s in range(total)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert max(lrs) == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(1e-4)  # 10% of the peak at the last step
    assert lrs[60] == pytest.approx(1e-4 + 0.5 * 0.9e-3)  # cosine midpoint
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))


def test_steps_from_budget_use_the_estimator():
    from replication.counting import PerceiverARShape as Shape

    cfg = tiny(steps=None, budget_flops=1e12, batch_size=8)
    c_self = Shape(262, 48, 16, 32, 2, 8).self_attn_flops("corrected")
    assert cfg.num_steps() == math.ceil(1e12 / c_self / (16 * 8))
    art = tiny(steps=None, budget_flops=1e12, batch_size=8, accounting="article")
    assert art.num_steps() == math.ceil(1e12 / Shape(262, 48, 16, 32, 2, 8).self_attn_flops("article") / 128)
    # a plain decoder has the same self-attention FLOPs and no cross-attention part
    dec = tiny(steps=None, budget_flops=1e12, batch_size=8, model=ModelConfig(
        vocab_size=262, num_latents=16, num_prefix=0, num_channels=32, num_layers=2))
    assert dec.flops_per_latent_token() == (c_self, 0)


def test_training_lowers_the_loss_and_records_flops(token_data, tmp_path):
    cfg = tiny(steps=40)
    s = T.train(cfg, token_data, run_dir=tmp_path, progress=False, log=lambda *a: None)
    assert s["final_val_loss"] < math.log(262) - 1.0
    assert s["latent_tokens"] == 40 * 4 * 16
    c_self, c_cross = cfg.flops_per_latent_token()
    assert s["C_self"] == c_self * s["latent_tokens"] and s["C_cross"] == c_cross * s["latent_tokens"] > 0
    assert s["epochs"] == pytest.approx(s["latent_tokens"] / len(token_data.train))
    assert s["device"] == "cpu" and s["precision"] == "fp32"
    recs = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in recs if r["kind"] == "val"]
    assert [r["step"] for r in val] == [8, 16, 24, 32, 40]
    assert val[-1]["loss"] == s["final_val_loss"]
    assert all(r["C_self"] == c_self * r["latent_tokens"] for r in recs)


def test_deterministic_on_cpu(token_data, tmp_path):
    a = T.train(tiny(), token_data, ckpt_path=tmp_path / "a.pt", progress=False, log=lambda *a: None)
    b = T.train(tiny(), token_data, ckpt_path=tmp_path / "b.pt", progress=False, log=lambda *a: None)
    assert a["final_val_loss"] == b["final_val_loss"]
    for k, v in state_of(tmp_path / "a.pt").items():
        assert torch.equal(v, state_of(tmp_path / "b.pt")[k])
    c = T.train(tiny(seed=1), token_data, progress=False, log=lambda *a: None)
    assert c["final_val_loss"] != a["final_val_loss"]


class Boom(Exception):
    pass


def test_resume_is_bit_exact(token_data, tmp_path, monkeypatch):
    full = T.train(tiny(), token_data, ckpt_path=tmp_path / "full.pt", progress=False, log=lambda *a: None)
    # interrupt after the checkpoint at step 12, mid-way to the next one
    real_step = torch.optim.AdamW.step
    calls = {"n": 0}

    def step(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 15:
            raise Boom
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(Boom):
        T.train(tiny(), token_data, run_dir=run_dir, ckpt_path=tmp_path / "r.pt", progress=False,
                log=lambda *a: None)
    monkeypatch.setattr(torch.optim.AdamW, "step", real_step)
    assert torch.load(tmp_path / "r.pt", weights_only=True)["state"]["step"] == 12
    resumed = T.train(tiny(), token_data, run_dir=run_dir, ckpt_path=tmp_path / "r.pt", progress=False,
                      log=lambda *a: None)
    assert resumed["final_val_loss"] == full["final_val_loss"]
    for k, v in state_of(tmp_path / "full.pt").items():
        assert torch.equal(v, state_of(tmp_path / "r.pt")[k])
    val_steps = [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()
                 if json.loads(x)["kind"] == "val"]
    assert val_steps == [8, 16, 24]  # nothing logged twice


def test_nan_stops_and_keeps_the_last_good_checkpoint(token_data, tmp_path, monkeypatch):
    from replication.training.model import PerceiverAR

    real = PerceiverAR.forward
    calls = {"n": 0}

    def forward(self, idx, targets=None, *rest, **kw):
        logits, loss = real(self, idx, targets, *rest, **kw)
        if self.training:
            calls["n"] += 1
            if calls["n"] == 7:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(PerceiverAR, "forward", forward)
    with pytest.raises(T.TrainingDiverged, match="step 6"):
        T.train(tiny(), token_data, ckpt_path=tmp_path / "c.pt", progress=False, log=lambda *a: None)
    ck = torch.load(tmp_path / "c.pt", weights_only=True)
    assert ck["state"]["step"] == 4
    assert all(torch.isfinite(v).all() for v in ck["model"].values())


def test_a_step_reads_nothing_back_from_the_device_unless_it_records(token_data, monkeypatch):
    """No per-step host sync (on a GPU each costs a pipeline stall): the loop turns tensors into Python
    values (item, bool, int, float, tolist) only after a step that records, validates or checkpoints."""
    monkeypatch.setenv("REPLICATION_CPU_STEP", "eager")
    started, reads = [0], []
    real_batch = T.global_batch

    def counting_batch(*a, **k):
        started[0] += 1
        return real_batch(*a, **k)

    def reading(name):
        real = getattr(torch.Tensor, name)

        def read(self, *a, **k):
            caller = sys._getframe(1).f_code.co_filename
            if f"replication{os.sep}training" in caller:
                reads.append((started[0], name))
            return real(self, *a, **k)
        return read

    monkeypatch.setattr(T, "global_batch", counting_batch)
    for name in ("item", "tolist", "__bool__", "__int__", "__float__"):
        monkeypatch.setattr(torch.Tensor, name, reading(name))
    T.train(tiny(steps=12, log_interval=4, eval_interval=6), token_data, progress=False, log=lambda *a: None)
    assert started[0] == 12
    assert {s for s, _ in reads} == {4, 6, 8, 12}  # after steps 4, 8, 12 (records) and 6, 12 (validation)
    after = {s: sorted(n for t, n in reads if t == s) for s in (4, 6)}
    assert after[4] == ["__int__", "item"]  # the divergence check and the training loss
    assert after[6][0] == "__int__" and set(after[6][1:]) == {"item"}  # then the validation batches' losses


def test_weight_decay_applies_to_the_linear_layers_matrices_only():
    from replication.training.distributed import Env
    from replication.training.model import PerceiverAR

    cpu = Env("cpu", "fp32")
    cfg = tiny(weight_decay=0.1, lr=0.5)
    model = PerceiverAR(cfg.model)
    names = {id(p): n for n, p in model.named_parameters()}
    opt = T.adamw(model, cfg, cpu)
    decayed, kept = ([names[id(p)] for p in g["params"]] for g in opt.param_groups)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
    assert decayed == [n for n in names.values() if n.endswith(("qkv.weight", "out.weight", "fc.weight",
                                                                  "proj.weight"))]
    assert "tok_emb.weight" in kept and "pos_emb.weight" in kept and sorted(decayed + kept) == sorted(names.values())
    # with no gradient, Adam moves nothing: what changes is the decay, by 1 - lr x weight_decay
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for n, p in model.named_parameters():
        assert torch.equal(p.detach(), before[n] * (1 - 0.5 * 0.1) if n in decayed else before[n]), n
    # every parameter alike (or none): one group, the optimizer of the runs recorded before the choice
    for c in (tiny(weight_decay=0.1, weight_decay_on="all"), tiny()):
        (group,) = T.adamw(model, c, cpu).param_groups
        assert group["weight_decay"] == c.weight_decay and len(group["params"]) == len(names)


def test_gradient_accumulation_matches_the_full_batch(token_data):
    a = T.train(tiny(steps=6), token_data, progress=False, log=lambda *a: None)
    b = T.train(tiny(steps=6, micro_batch_size=2), token_data, progress=False, log=lambda *a: None)
    assert b["final_val_loss"] == pytest.approx(a["final_val_loss"], abs=1e-4)


def test_plain_decoder_trains(token_data):
    cfg = tiny(model=ModelConfig(vocab_size=262, num_latents=16, num_prefix=0, num_channels=32, num_layers=2))
    s = T.train(cfg, token_data, progress=False, log=lambda *a: None)
    assert s["C_cross"] == 0 and s["final_val_loss"] < math.log(262)


@pytest.mark.parametrize("args,needle", [
    (["--channels", "30", "--layers", "2", "--steps", "2"], "divisible"),
    (["--channels", "32", "--layers", "2", "--budget-flops", "0"], "budget_flops"),
    (["--channels", "32", "--layers", "2", "--steps", "2", "--latents", "64", "--max-seq-len", "64"], "latents"),
    (["--channels", "32", "--layers", "2", "--steps", "2", "--corpus", "nonsense"], "corpus"),
    (["--channels", "32", "--layers", "2", "--steps", "2", "--tokenizer", "sentencepiece:8"], "vocab_size"),
])
def test_cli_bad_values(args, needle, tmp_path, capsys):
    rc = cli.main(["train", *args, "--runs-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err
    assert not (tmp_path / "runs").exists() or not [p for p in (tmp_path / "runs").iterdir()
                                                    if not p.name.startswith(".")]


def test_cli_trains_and_returns_the_recorded_run(tmp_path, capsys):
    argv = ["train", "--channels", "32", "--layers", "2", "--latents", "16", "--prefix", "32", "--steps", "6",
            "--batch-size", "4", "--warmup-steps", "2", "--eval-windows", "4", "--runs-dir", str(tmp_path),
            "--json"]
    assert cli.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert Path(first["run_dir"]).parent == tmp_path and first["steps"] == 6
    t0 = time.perf_counter()
    assert cli.main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again == first and time.perf_counter() - t0 < 1.0


def _cli_cmd(runs, steps):
    return [sys.executable, "-m", "replication", "train", "--channels", "32", "--layers", "2", "--latents", "16",
            "--prefix", "32", "--steps", str(steps), "--batch-size", "8", "--warmup-steps", "5",
            "--eval-interval", "50", "--eval-windows", "8", "--checkpoint-interval", "10", "--runs-dir", str(runs),
            "--no-progress", "--json"]


#: The run that the kill -9 and SIGTERM tests interrupt, and the one process that trains it through uninterrupted.
CLI_STEPS = 150


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory):
    """(runs folder, summary) of ``replication train`` run once to the end, one thread."""
    runs = tmp_path_factory.mktemp("cli-reference")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = subprocess.run(_cli_cmd(runs, CLI_STEPS), capture_output=True, text=True, env=env, timeout=120)
    assert ref.returncode == 0, ref.stderr
    return runs, json.loads(ref.stdout)


@pytest.mark.slow
def test_kill_9_then_resume_is_bit_exact(tmp_path, cli_reference):
    steps = CLI_STEPS
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref_runs, ref = cli_reference

    runs = tmp_path / "killed"
    proc = subprocess.Popen(_cli_cmd(runs, steps), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ckpts = runs / ".checkpoints"
    deadline = time.time() + 60
    while time.time() < deadline:
        found = list(ckpts.glob("*/ckpt.pt")) if ckpts.exists() else []
        if found and torch.load(found[0], weights_only=True)["state"]["step"] >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    killed_at = torch.load(found[0], weights_only=True)["state"]["step"]
    assert 20 <= killed_at < steps
    assert not list(runs.glob("*/summary.json"))

    out = subprocess.run(_cli_cmd(runs, steps), capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "resuming from step" in out.stderr
    resumed = json.loads(out.stdout)
    assert resumed["final_val_loss"] == ref["final_val_loss"]
    a = torch.load(next((ref_runs / ".checkpoints").glob("*/ckpt.pt")), weights_only=True)["model"]
    b = torch.load(found[0], weights_only=True)["model"]
    assert all(torch.equal(v, b[k]) for k, v in a.items())


def test_bench_counts_the_estimator_plus_logits_and_rejects_unknown_configs(capsys):
    from replication.bench.train import CONFIGS, flops_per_latent_token, make_step
    from replication.counting import PerceiverARShape as Shape

    c = CONFIGS["small"]
    shape = Shape(262, 1024, 256, 256, 6, 8)
    assert flops_per_latent_token(c) == (shape.self_attn_flops() + shape.cross_attn_flops(0.5)
                                         + 6 * 256 * 262)
    step = make_step("replication", {**CONFIGS["tiny"], "num_channels": 32, "num_layers": 2, "num_latents": 16,
                                     "num_prefix": 32, "batch_size": 2})
    first = step()
    assert all(step() < first for _ in range(3))  # the same batch: the loss must fall
    assert cli.main(["bench", "train", "huge"]) == 2
    assert "huge" in capsys.readouterr().err


def test_activation_checkpointing_gives_the_same_training(token_data, tmp_path):
    a = T.train(tiny(steps=6), token_data, ckpt_path=tmp_path / "a.pt", progress=False, log=lambda *a: None)
    b = T.train(tiny(steps=6, activation_checkpointing=True), token_data, ckpt_path=tmp_path / "b.pt",
                progress=False, log=lambda *a: None)
    assert a["final_val_loss"] == pytest.approx(b["final_val_loss"], abs=1e-6)
    assert tiny(activation_checkpointing=True).run_id() == tiny().run_id()


def test_longer_cosine_cycle_stops_before_full_decay():
    cfg = TrainConfig(model=ModelConfig(vocab_size=262, num_prefix=0, num_latents=16, num_channels=32,
                                        num_layers=1, num_heads=4), steps=100, warmup_steps=0,
                      cosine_cycle_ratio=2.0)
    # at the last of 100 steps the 200-step cycle is half way: lr = lo + (lr - lo)/2
    lo = cfg.lr * cfg.min_lr_ratio
    assert T.lr_at(99, cfg, 100) == pytest.approx(lo + 0.5 * (1 + math.cos(math.pi * 99 / 199)) * (cfg.lr - lo))
    assert T.lr_at(99, cfg, 100) > 0.5 * (cfg.lr + lo) - 1e-12
    with pytest.raises(ReplicationError, match="cosine_cycle_ratio"):
        TrainConfig(model=cfg.model, steps=10, cosine_cycle_ratio=0)


# -- the command line -------------------------------------------------------------------------------


def _options():
    return [a for a in train_cli.parser()._actions if a.option_strings and a.dest != "help"]


def test_every_config_field_is_an_option_and_every_option_says_its_default():
    import dataclasses

    dests = {a.dest for a in _options()}
    derived = {"vocab_size"}  # from --tokenizer
    for cls in (ModelConfig, TrainConfig):
        assert {f.name for f in dataclasses.fields(cls)} - {"model"} - derived <= dests
    for a in _options():
        assert a.help and ("(default: " in a.help or "required)" in a.help), a.option_strings
    shown = {a.option_strings[0]: a.help for a in _options()}
    assert "(default: 2e-4)" in shown["--lr"] and "(default: 0.999)" in shown["--beta2"]
    assert "(default: 0.1)" in shown["--min-lr-ratio"] and "(default: 1)" in shown["--cosine-cycle-ratio"]
    assert "(default: 1536)" in shown["--prefix"] and "(default: off)" in shown["--compile"]
    assert shown["--channels"].endswith("(required)")
    # the defaults are the dataclasses': an option left out leaves the field at its default
    cfg = train_cli.config_from_args(train_cli.parser().parse_args(["--channels", "32", "--layers", "2",
                                                                    "--steps", "5"]))
    assert cfg == TrainConfig(model=ModelConfig(num_channels=32, num_layers=2), steps=5)


def test_the_current_option_names_still_work():
    argv = ["--channels", "64", "--layers", "3", "--heads", "4", "--latents", "32", "--max-seq-len", "96",
            "--prefix-dropout", "0.25", "--budget-flops", "1e12", "--accounting", "article",
            "--tokenizer", "sentencepiece:500", "--batch-size", "8", "--micro-batch-size", "4", "--lr", "1e-3",
            "--warmup-steps", "5", "--weight-decay", "0.1", "--grad-clip", "1.0", "--eval-interval", "7",
            "--eval-windows", "9", "--checkpoint-interval", "11", "--seed", "3", "--compile",
            "--activation-checkpointing", "--beta1", "0.8", "--beta2", "0.95", "--min-lr-ratio", "0",
            "--cosine-cycle-ratio", "1.5", "--log-interval", "2", "--val-fraction", "0.1",
            "--runs-dir", "/tmp/x", "--no-progress", "--json"]
    cfg = train_cli.config_from_args(train_cli.parser().parse_args(argv))
    m = cfg.model
    assert (m.vocab_size, m.num_channels, m.num_layers, m.num_heads, m.num_latents, m.num_prefix,
            m.prefix_dropout) == (500, 64, 3, 4, 32, 64, 0.25)
    assert (cfg.budget_flops, cfg.accounting, cfg.batch_size, cfg.micro_batch_size, cfg.lr, cfg.beta1, cfg.beta2,
            cfg.min_lr_ratio, cfg.cosine_cycle_ratio, cfg.compile, cfg.activation_checkpointing) == \
        (1e12, "article", 8, 4, 1e-3, 0.8, 0.95, 0.0, 1.5, True, True)


@pytest.mark.parametrize("cfg", [
    tiny(),
    tiny(steps=None, budget_flops=3.5e12, lr=2e-4, beta2=0.95, min_lr_ratio=0.0, compile=True, corpus="files:a b/*.txt",
         model=ModelConfig(vocab_size=8000, num_latents=16, num_prefix=0, num_channels=32, num_layers=2,
                           rotary_layers=0, init_std=0.01), tokenizer="sentencepiece:8000"),
])
def test_arguments_reproduce_the_config(cfg):
    import shlex

    words = shlex.split(train_cli.arguments(cfg))
    assert train_cli.config_from_args(train_cli.parser().parse_args(words)) == cfg
    # options asked for come first, in that order, even at their defaults
    first = shlex.split(train_cli.arguments(cfg, always=("seed", "max-seq-len", "heads")))
    length = ["--max-seq-len", str(cfg.model.max_seq_len)] if cfg.model.num_prefix else ["--prefix", "0"]
    assert first[:6] == ["--seed", str(cfg.seed), *length, "--heads", "8"]
    assert ("--prefix" in first) == (cfg.model.num_prefix == 0)
    assert train_cli.config_from_args(train_cli.parser().parse_args(first)) == cfg
    with pytest.raises(ReplicationError, match="colour"):
        train_cli.arguments(cfg, always=("colour",))


def test_format_value_is_short_and_exact():
    for value, text in [(2e-4, "2e-4"), (0.5, "0.5"), (3e-3, "3e-3"), (578222555136000000.0, "578222555136000000"),
                        (0.999, "0.999"), (1.0, "1"), (1 / 3, repr(1 / 3)), (80, "80"), ("kjv", "kjv")]:
        assert train_cli.format_value(value) == text
        assert type(value)(text) == value if not isinstance(value, str) else True


def test_python_dash_m_replication_train_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "replication", "train", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "--cosine-cycle-ratio" in out.stdout


# -- what is bit-exact on one machine: the same config, seed and thread count give the same numbers ----


def _losses(runs):
    [run_dir] = [p for p in Path(runs).iterdir() if not p.name.startswith(".")]
    records = map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
    return [(r["kind"], r["step"], r["loss"]) for r in records]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_processes_with_the_same_thread_count_train_bit_identical_runs(tmp_path):
    """The property a retraining test can hold to exactly: on one machine, with one thread count, a run
    is a pure function of its config (the CPU kernels chosen, hence the sums' order, depend on the
    machine and the thread count; nothing else in a run is left to chance). Two threads: the kernels'
    parallel reductions are part of what is repeated."""
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    outs = [subprocess.run(_cli_cmd(tmp_path / name, 60), capture_output=True, text=True, env=env, timeout=100)
            for name in ("a", "b")]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    a, b = (json.loads(o.stdout) for o in outs)
    assert a["threads"] == b["threads"] == 2
    assert a["final_val_loss"] == b["final_val_loss"] and _losses(tmp_path / "a") == _losses(tmp_path / "b")


# -- SIGTERM stops a run as Ctrl-C does ------------------------------------------------------------


def _wait_for_checkpoints(runs: Path, count: int, step: int, proc, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        found = list(runs.glob(".checkpoints/*/ckpt.pt"))
        steps = []
        for path in found:
            with contextlib.suppress(Exception):  # caught mid-rename: try again
                steps.append(torch.load(path, weights_only=True)["state"]["step"])
        if len(steps) >= count and min(steps) >= step:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} checkpoint(s) at step >= {step} in {timeout} s")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigterm_stops_replication_train_in_one_line_and_it_resumes_bit_exact(tmp_path, cli_reference):
    steps = CLI_STEPS
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref_runs, ref = cli_reference

    runs = tmp_path / "runs"
    proc = subprocess.Popen(_cli_cmd(runs, steps), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _wait_for_checkpoints(runs, 1, 20, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    [line] = err.strip().splitlines()
    [ck] = runs.glob(".checkpoints/*/ckpt.pt")
    at = torch.load(ck, weights_only=True)["state"]["step"]
    assert line.startswith("replication train: terminated: run ") and f" of {steps}; it resumes from its " \
        f"checkpoint at step {at}" in line, line
    assert out == "" and not list(runs.glob("*/summary.json")) and not list(runs.rglob("*.tmp"))

    again = subprocess.run(_cli_cmd(runs, steps), capture_output=True, text=True, env=env, timeout=100)
    assert again.returncode == 0 and f"resuming from step {at}" in again.stderr
    assert json.loads(again.stdout)["final_val_loss"] == ref["final_val_loss"]
    assert _losses(runs) == _losses(ref_runs)


MANY = """
import sys
from replication.store.runs import RunStore
from replication.training.config import ModelConfig, TrainConfig
from replication.sweep.local import get_or_train_many
from replication.training.signals import Terminated

model = ModelConfig(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)
cfgs = [TrainConfig(model=model, batch_size=8, steps=3000, warmup_steps=5, eval_interval=1000, eval_windows=8,
                    checkpoint_interval=10, seed=seed) for seed in (1, 2)]
try:
    get_or_train_many(cfgs, RunStore(sys.argv[1]), workers=2, progress=False)
except KeyboardInterrupt as err:
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(143 if isinstance(err, Terminated) else 130)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigterm_stops_the_training_workers_each_at_its_checkpoint(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", MANY, str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    _wait_for_checkpoints(runs, 2, 10, proc, timeout=90)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip() == ("Terminated: 0 of 2 runs finished, 2 stopped; asking for them again resumes each from "
                           "its last checkpoint")
    for ck in runs.glob(".checkpoints/*/ckpt.pt"):  # each worker said where it resumes, and stopped there
        rid = ck.parent.name
        [line] = (runs / ".logs" / f"{rid}.log").read_text().strip().splitlines()
        at = torch.load(ck, weights_only=True)["state"]["step"]
        assert line.startswith(f"terminated: run {rid} stopped at step ") and \
            line.endswith(f"of 3000; it resumes from its checkpoint at step {at}"), line
    assert not list(runs.rglob("*.tmp"))


def test_a_signal_during_a_checkpoint_write_waits_for_the_write(tmp_path):
    """SIGTERM (or Ctrl-C) raised inside torch.save leaves its zip writer half-closed, which then fails with a
    RuntimeError (a traceback instead of the one line). Held while the checkpoint is written, the signal
    arrives right after it, and the checkpoint is whole."""
    import signal

    from replication.training.checkpoints import read_checkpoint, save_checkpoint
    from replication.training.model import PerceiverAR
    from replication.training.signals import signals_held

    cfg = TrainConfig(model=ModelConfig(vocab_size=262, num_latents=16, num_prefix=0, num_channels=16, num_layers=1),
                      batch_size=8, steps=4, warmup_steps=1)
    model = PerceiverAR(cfg.model)
    opt = torch.optim.AdamW(model.parameters())
    arrived = []

    def handler(signum, frame):
        arrived.append(path.exists())
        raise KeyboardInterrupt

    path = tmp_path / "ckpt.pt"
    old = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)  # while held: not delivered yet
                save_checkpoint(path, model, opt, {"step": 2}, cfg)
                assert not arrived
    finally:
        signal.signal(signal.SIGTERM, old)
    assert arrived == [True]  # delivered once, after the checkpoint was in place
    assert read_checkpoint(path, cfg)["state"]["step"] == 2
