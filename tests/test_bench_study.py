"""``replication bench study``: the result's structure, its figures against hand-computed ones, the variants'
equivalence, the compile error row, the processes section and the command line's one-line errors."""
import math

import pytest
import torch
import torch.utils.deterministic as det

from replication.bench import study as bench
from replication.bench import variants
from replication.cli import main
from replication.studies.chinchilla_design import WIDTHS
from replication.training.config import ModelConfig
from replication.training.model import AttentionLayer, PerceiverAR

D, L, N_CTX, V, B = 12, 4, 128, 262, 8  # a small width of the study's ladder and its fixed shape
LADDER = "choose one of: " + ", ".join(map(str, WIDTHS))


def _flops_per_token(d):
    # every matmul of a decoder step, forward x 3: weights 24d^2 and attention 4dn per layer, logits 2dV
    return 3 * (L * (24 * d * d + 4 * d * N_CTX) + 2 * d * V)


def _num_params(d):
    # the model's docstring: N = V d + (n+P) d + 12 d^2 + 7 d + (L-1)(12 d^2 + 4 d) + V, with P = 0
    return V * d + N_CTX * d + 12 * d * d + 7 * d + (L - 1) * (12 * d * d + 4 * d) + V


@pytest.fixture(scope="module")
def result():
    return bench.run([D], steps=2, warmup=1, variants=("eager", "lean", "manual attention", "no fill"),
                     eval_repeats=1, process_steps=0)


def test_training_rows_are_computed_from_the_measured_times(result):
    rows = result["train"]
    assert [r["variant"] for r in rows] == ["eager", "lean", "manual attention", "no fill"]
    eager, lean = rows[0]["step_s"], rows[1]["step_s"]
    peak = result["peak_flops_per_s"]
    assert peak > 0 and result["default"] == "compiled"
    for r in rows:
        assert r["width"] == D and r["N"] == _num_params(D) == 12_082 and r["steps"] == 2
        assert r["step_s"] > 0 and r["default"] is False  # the default, compiled, is not measured here
        assert r["ratio"] == pytest.approx(r["step_s"] / eager, rel=1e-12)
        assert r["lean_over_this"] == pytest.approx(lean / r["step_s"], rel=1e-12)
        assert r["tokens_per_s"] == pytest.approx(B * N_CTX / r["step_s"], rel=1e-12)
        assert r["gflop_per_s"] == pytest.approx(_flops_per_token(D) * B * N_CTX / r["step_s"] / 1e9, rel=1e-12)
        assert r["share_of_peak"] == pytest.approx(r["gflop_per_s"] * 1e9 / peak, rel=1e-12)
    assert rows[0]["ratio"] == 1.0
    assert "lean/it" in bench.format_result(result)


def test_the_variants_compute_the_same_loss(result):
    # a freshly initialized model (std 0.02) predicts nearly uniformly: the loss is close to ln V
    losses = {r["variant"]: r["loss"] for r in result["train"]}
    assert losses["eager"] == pytest.approx(math.log(V), abs=0.02)
    assert losses["lean"] == pytest.approx(math.log(V), abs=0.02)  # another model of the same size
    assert losses["manual attention"] == pytest.approx(losses["eager"], rel=1e-5)  # the same math, other kernels
    assert losses["no fill"] == losses["eager"]  # not filling memory that is overwritten changes no value


def test_the_lean_decoder_has_the_parameter_count_of_the_model():
    for d in (10, 24, 58):
        assert variants.make_step(d, variant="lean").num_params == _num_params(d)


def test_evaluation_ratio_is_batches_of_8_over_batches_of_64(result):
    (r,) = result["eval"]
    assert r["windows"] == 128 and set(r["batch_s"]) == {"8", "64"}
    assert r["ratio"] == pytest.approx(r["batch_s"]["8"] / r["batch_s"]["64"], rel=1e-12)
    assert r["loss"]["8"] == pytest.approx(r["loss"]["64"], rel=1e-5)
    assert r["loss"]["8"] == pytest.approx(math.log(V), abs=0.02)
    assert result["processes"] is None


def test_run_leaves_torch_as_it_found_it():
    threads = torch.get_num_threads()
    was = (torch.are_deterministic_algorithms_enabled(), det.fill_uninitialized_memory)
    attend = AttentionLayer.attend
    bench.run([D], steps=1, warmup=0, variants=("eager", "lean", "manual attention", "no fill"), eval_repeats=0,
              process_steps=0)
    assert torch.get_num_threads() == threads
    assert (torch.are_deterministic_algorithms_enabled(), det.fill_uninitialized_memory) == was
    assert AttentionLayer.attend is attend


def test_manual_attention_matches_sdpa_with_a_prefix_mask_too():
    # the hybrid layer's right-aligned mask over prefix and latents, which the study's decoders never use
    cfg = ModelConfig(vocab_size=V, num_latents=8, num_prefix=8, num_channels=16, num_layers=2, num_heads=2)
    torch.manual_seed(0)
    model = PerceiverAR(cfg).eval()
    x = torch.randint(0, V, (2, 16))
    with torch.no_grad():
        want = model(x)[0]
        with variants.manual_attention():
            got = model(x)[0]
    assert AttentionLayer.attend is not variants.manual_attend
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_a_model_that_does_not_compile_is_a_row_with_the_error(monkeypatch):
    def failing_compile(model, **kwargs):
        def call(*args):
            raise RuntimeError("no C compiler\nmore detail")
        return call

    monkeypatch.setattr(torch, "compile", failing_compile)
    monkeypatch.setattr(torch._dynamo, "reset", lambda: None)
    rows = bench.measure_training(D, steps=1, warmup=0, variants=("eager", "compiled"))
    assert rows[1] == {"width": D, "N": _num_params(D), "variant": "compiled", "steps": 1, "default": True,
                       "error": "RuntimeError: no C compiler"}
    assert rows[0]["ratio"] == 1.0
    assert "no C compiler" in bench.format_result({"torch": torch.__version__, "train": rows, "eval": [],
                                                   "processes": None, "peak_flops_per_s": 1e11})


@pytest.mark.slow  # three child processes, each importing torch
def test_processes_total_throughput_and_ratio():
    p = bench.measure_processes(D, steps=2, warmup=0)
    tokens = 2 * B * N_CTX
    assert len(p["two_1thread_s"]) == 2 and p["one_2thread_s"] > 0
    assert p["two_1thread_tokens_per_s"] == pytest.approx(2 * tokens / max(p["two_1thread_s"]), rel=1e-12)
    assert p["one_2thread_tokens_per_s"] == pytest.approx(tokens / p["one_2thread_s"], rel=1e-12)
    assert p["ratio"] == pytest.approx(p["two_1thread_tokens_per_s"] / p["one_2thread_tokens_per_s"], rel=1e-12)


@pytest.mark.parametrize("argv, expected", [
    ("--widths 0", ["widths=0", LADDER]),
    ("--widths 13", ["widths=13", LADDER]),
    ("--widths 12,abc", ["widths='12,abc'", "comma-separated integers"]),
    ("--steps 0", ["steps=0", "[1, 10000]"]),
    ("--warmup -1", ["warmup=-1", "[0, 10000]"]),
    ("--process-steps -1", ["process_steps=-1", "[0, 10000]"]),
    ("--bogus", ["unrecognized arguments: --bogus"]),
])
def test_a_bad_command_line_is_one_line(argv, expected, capsys):
    assert main(["bench", "study", *argv.split()]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replication bench: error: ")
    for text in expected:
        assert text in lines[0]
