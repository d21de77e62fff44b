"""``replication bench study``: the trainer's speed on the CPU-scale Chinchilla study's shapes, variant
against variant.

The study (:mod:`replication.studies.chinchilla_design`) trains plain decoders of 4 layers and 2 heads,
context n=128, batches of 8 sequences, V=262 bytes, each run in its own process on 1 torch thread, two
runs at a time on two cores. This benchmark times that training step on a few widths of the study's
ladder (by default the smallest, a middle one and the largest the study trains), in one process on 1
thread, with deterministic algorithms on as the training loop turns them on for the CPU.

**Training.** One step is what ``training.loop.train`` does per step: forward, backward, gradient
clipping, an AdamW (foreach) update and zero_grad, and ``loss.item()``, which costs nothing on a CPU. The
steps take 16 random batches in turn, drawn beforehand (``bench.variants.BATCHES``: one batch repeated is
learnt by heart and slows the arithmetic down with subnormal numbers, as training does not). Each variant
has its own model and optimizer from the same seed; the variants take turns, :data:`BLOCK` steps each, so
that the other jobs on the machine slow them alike, and the median step is reported. Freed memory stays in
the process (``training.allocator``), as in training, for every variant. The variants:

* ``eager``: today's eager step, the model as the eager loop runs it (causal attention and GELU through the
  CPU kernels for tiny models, ``replication.training.kernels``);
* ``compiled`` (**the default**: the step the loop trains with for runs of
  ``training.step.MIN_COMPILED_STEPS`` steps or more): forward, backward, clipping and AdamW compiled as one
  graph (``replication.training.step``); its compile time is reported cold (an empty cache folder) and warm
  (the same folder again, as the next run of that shape finds it);
* ``no kernels``: the compiled step without the CPU kernels for tiny models (``replication.training.kernels``):
  causal attention as masked batched matmuls, which the compiler fuses, and inductor's GELU: what they buy;
* ``lean``: ``tools/lean_decoder.py``, a plain nanoGPT-style decoder of the same parameter count (SDPA,
  AdamW), run as a plain PyTorch script (deterministic algorithms off): the reference of issue 27;
* ``manual attention``: the eager step with the attention written out, softmax(q k^T / sqrt(hd) + mask) v;
* ``no fill``: ``torch.utils.deterministic.fill_uninitialized_memory = False``, which deterministic mode
  otherwise sets, so that every ``torch.empty`` is filled with NaN.

``ratio`` is a variant's median step over eager's: below 1 it is faster; ``lean_over_this`` the lean
decoder's over the variant's (above 1: faster than the lean decoder). ``loss`` is the first step's loss,
the same for every variant of our model up to rounding (the lean decoder is another model). ``share_of_peak``
is GFLOP/s over one core's fp32 matmul peak measured in the same run (512^3, best of 20, before and after).
GFLOP/s are the executed FLOPs per token of ``replication.counting`` (every matmul, the one the study's
budgets count) times tokens per second.

**Evaluation.** 128 validation windows of 128 tokens (random tokens; the cost does not depend on them)
in eval mode without gradients, as ``training.loop.evaluate`` runs them, in batches of 8 (the training
batch, what it did before) against batches of 64 (``EVAL_BATCH``, what it does now); ``ratio`` is the
time in batches of 8 over the time in batches of 64.

**Processes.** Two 1-thread child processes training the middle width at once, against one 2-thread
child: total tokens per second of each set-up. A ratio above 1 says that two 1-thread runs side by side
(what the study does) get more out of two cores than one run on both.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# torch loads inside the functions: --help and a bad value answer without it
from replication.bench.train import matmul_peak
from replication.bench.variants import CONTEXTS, as_the_loop_runs, compiled_with_cache, make_step, train_config
from replication.errors import ArgumentParser, ReplicationError, check_choice, check_int
from replication.studies.chinchilla_design import DEFAULT, WIDTHS, num_params

VARIANTS = ("eager", "compiled", "no kernels", "lean", "manual attention", "no fill")
#: the variant the study trains with (the loop's step for runs of training.step.MIN_COMPILED_STEPS or more)
DEFAULT_VARIANT = "compiled"
#: Steps a variant runs before the next one's turn. A step right after another model's finds that model's
#: data in the caches, which training never does: at d = 24, one step at a time made the compiled step 10%
#: slower (8.92 against 8.10 ms, blocks of 10) and the lean decoder 6%.
BLOCK = 5
EVAL_WINDOWS = 128
EVAL_BATCHES = (8, 64)  # the training batch (the old evaluation) and EVAL_BATCH (the new one)


def default_widths() -> tuple[int, int, int]:
    """The smallest, a middle and the largest width the default study trains."""
    trained = sorted({c.model.num_channels for c in DEFAULT.configs()})
    return trained[0], trained[len(trained) // 2], trained[-1]


def _one_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:200]


# --------------------------------------------------------------------------------------------------
# the measurements


def measure_training(width: int, steps: int, warmup: int, variants=VARIANTS, peak: float | None = None) -> list[dict]:
    """One row per variant: median step (seconds), ratio to eager, tokens/s, executed GFLOP/s and its share
    of ``peak`` (FLOP/s), the lean decoder's step over the variant's; the compiled variant's compile times."""
    cfg = train_config(width)
    m = cfg.model
    tokens = cfg.batch_size * m.num_latents
    flops_per_token = m.shape().self_attn_flops("executed")
    rows = {v: {"width": width, "N": num_params(m), "variant": v, "steps": steps, "default": v == DEFAULT_VARIANT}
            for v in variants}
    fns = {}
    for v in variants:
        if v == "compiled":
            # compiling needs a C++ compiler: a model torch cannot compile is a row with its error, not a crash
            try:
                fns[v], rows[v]["compile_cold_s"], rows[v]["compile_warm_s"], rows[v]["loss"] = \
                    compiled_with_cache(width)
            except Exception as err:
                rows[v]["error"] = _one_line(err)
            continue
        if v == "no kernels":
            try:
                fns[v] = make_step(width, variant=v)
                rows[v]["loss"] = fns[v]()  # its first step compiles its graph: neither timed nor a warm-up step
            except Exception as err:
                fns.pop(v, None)
                rows[v]["error"] = _one_line(err)
            continue
        fns[v] = make_step(width, variant="lean" if v == "lean" else "eager")
    times = {v: [] for v in fns}
    for first in range(0, warmup + steps, BLOCK):
        for v, fn in fns.items():
            with CONTEXTS[v]():
                for i in range(first, min(first + BLOCK, warmup + steps)):
                    t0 = time.perf_counter()
                    loss = fn()
                    dt = time.perf_counter() - t0
                    if i == 0 and "loss" not in rows[v]:  # the first step's (the compiled step's ran at compilation)
                        rows[v]["loss"] = loss
                    if i >= warmup:
                        times[v].append(dt)
    if "compiled" in fns or "no kernels" in fns:
        import torch

        torch._dynamo.reset()  # drop this width's graphs: the next width compiles its own
    base = statistics.median(times["eager"]) if "eager" in times else None
    lean = statistics.median(times["lean"]) if "lean" in times else None
    for v, ts in times.items():
        med = statistics.median(ts)
        gflops = flops_per_token * tokens / med / 1e9
        rows[v].update(step_s=med, ratio=med / base if base else None, tokens_per_s=tokens / med,
                       gflop_per_s=gflops, flops_per_token=flops_per_token,
                       share_of_peak=gflops * 1e9 / peak if peak else None,
                       lean_over_this=lean / med if lean else None)
    return list(rows.values())


def measure_evaluation(width: int, repeats: int, seed: int = 0) -> dict:
    """Median time of evaluating EVAL_WINDOWS windows in batches of each of EVAL_BATCHES, interleaved."""
    import torch

    from replication.training.model import PerceiverAR

    m = train_config(width).model
    torch.manual_seed(seed)
    model = PerceiverAR(m).eval().use_cpu_kernels()  # as the loop evaluates on a CPU
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, m.vocab_size, (EVAL_WINDOWS, m.max_seq_len), generator=g)
    y = torch.randint(0, m.vocab_size, (EVAL_WINDOWS, m.num_latents), generator=g)

    def evaluate(batch: int) -> float:
        total = 0.0
        with torch.no_grad():
            for i in range(0, EVAL_WINDOWS, batch):
                total += model(x[i:i + batch], y[i:i + batch])[1].item() * len(x[i:i + batch])
        return total / EVAL_WINDOWS

    losses = {b: evaluate(b) for b in EVAL_BATCHES}  # also the warmup
    times = {b: [] for b in EVAL_BATCHES}
    for _ in range(repeats):
        for b in EVAL_BATCHES:
            t0 = time.perf_counter()
            evaluate(b)
            times[b].append(time.perf_counter() - t0)
    small, large = (statistics.median(times[b]) for b in EVAL_BATCHES)
    return {"width": width, "N": num_params(m), "windows": EVAL_WINDOWS, "repeats": repeats,
            "batch_s": {str(b): statistics.median(times[b]) for b in EVAL_BATCHES},
            "loss": {str(b): losses[b] for b in EVAL_BATCHES}, "ratio": small / large}


def _child(width: int, steps: int, warmup: int, threads: int) -> None:
    """A processes-section child: warm up, say "ready", wait for a line on stdin, time ``steps`` steps."""
    with as_the_loop_runs(threads):
        step = make_step(width)
        for _ in range(warmup):
            step()
        print("ready", flush=True)
        sys.stdin.readline()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)


def _together(width: int, steps: int, warmup: int, threads: int, count: int) -> list[float]:
    """Seconds each of ``count`` children of ``threads`` threads took for ``steps`` steps, started at
    once: each warms up on its own, then all are released together."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    code = f"from replication.bench.study import _child; _child({width}, {steps}, {warmup}, {threads})"
    procs, errs = [], []
    try:
        for _ in range(count):
            errs.append(tempfile.TemporaryFile(mode="w+"))
            procs.append(subprocess.Popen([sys.executable, "-W", "ignore", "-c", code], env=env, text=True,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errs[-1]))

        def expect(p, err, what):
            line = p.stdout.readline()
            if not line.strip():
                p.wait()
                err.seek(0)
                tail = (err.read().strip().splitlines() or ["no output"])[-1]
                raise ReplicationError(f"bench study: a child process died before {what}: {tail}")
            return line

        for p, err in zip(procs, errs):
            expect(p, err, "warming up")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        seconds = [json.loads(expect(p, err, "its timed steps"))["seconds"] for p, err in zip(procs, errs)]
        for p in procs:
            p.wait()
        return seconds
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for err in errs:
            err.close()


def measure_processes(width: int, steps: int, warmup: int = 3) -> dict:
    """Total training tokens/s of two 1-thread processes at once against one 2-thread process."""
    cfg = train_config(width)
    tokens = steps * cfg.batch_size * cfg.model.num_latents
    two = _together(width, steps, warmup, threads=1, count=2)
    (one,) = _together(width, steps, warmup, threads=2, count=1)
    # both children start together; the set-up is done when the slower is
    two_rate = 2 * tokens / max(two)
    one_rate = tokens / one
    return {"width": width, "steps": steps, "two_1thread_s": two, "one_2thread_s": one,
            "two_1thread_tokens_per_s": two_rate, "one_2thread_tokens_per_s": one_rate,
            "ratio": two_rate / one_rate}


def run(widths=None, steps: int = 20, warmup: int = 3, variants=VARIANTS, eval_repeats: int = 5,
        process_steps: int = 30) -> dict:
    """Every section; ``process_steps=0`` skips the processes section, ``eval_repeats=0`` the evaluation."""
    import torch

    widths = list(default_widths() if widths is None else widths)
    for w in widths:
        check_choice("widths", w, WIDTHS)
    check_int("steps", steps, 1, 10_000)
    check_int("warmup", warmup, 0, 10_000)
    check_int("eval_repeats", eval_repeats, 0, 1000)
    check_int("process_steps", process_steps, 0, 10_000)
    for v in variants:
        check_choice("variants", v, VARIANTS)
    if "eager" not in variants:
        raise ReplicationError(f"variants={list(variants)!r} must include 'eager' (the ratios' reference)")
    with as_the_loop_runs(1):
        peak = matmul_peak(512, 20)  # one core's fp32 matmul peak, the best of 20
        train = [row for w in widths for row in measure_training(w, steps, warmup, variants, peak)]
        peak = max(peak, matmul_peak(512, 20))
        for row in train:
            if row.get("gflop_per_s") is not None:
                row["share_of_peak"] = row["gflop_per_s"] * 1e9 / peak
        evals = [measure_evaluation(w, eval_repeats) for w in widths] if eval_repeats else []
    processes = measure_processes(widths[len(widths) // 2], process_steps) if process_steps else None
    return {"threads": 1, "torch": torch.__version__, "deterministic": True, "peak_flops_per_s": peak,
            "default": DEFAULT_VARIANT, "train": train, "eval": evals,
            "processes": processes}


# --------------------------------------------------------------------------------------------------
# the report


def format_result(result: dict) -> str:
    lines = [f"training step, median; 1 torch thread, deterministic algorithms on; torch {result['torch']}",
             f"{'width':>5} {'N':>8}  {'variant':<16} {'ms/step':>8} {'ratio':>6} {'lean/it':>7} {'GFLOP/s':>8}"
             f" {'of peak':>7} {'loss':>7}  note"]
    last = None
    for r in result["train"]:
        head = f"{r['width']:>5} {r['N']:>8,}" if r["width"] != last else " " * 14
        last = r["width"]
        if "error" in r:
            lines.append(f"{head}  {r['variant']:<16} {'-':>8} {'-':>6} {'-':>7} {'-':>8} {'-':>7} {'-':>7}  "
                         f"{r['error']}")
            continue
        notes = (["default"] if r["default"] else []) + \
            ([f"compile {r['compile_cold_s']:.1f} s cold, {r['compile_warm_s']:.1f} s warm"] if "compile_cold_s" in r else [])
        lean = f"{r['lean_over_this']:>6.2f}x" if r.get("lean_over_this") else f"{'-':>7}"
        share = f"{r['share_of_peak']:.1%}" if r.get("share_of_peak") else "-"
        lines.append(f"{head}  {r['variant']:<16} {r['step_s'] * 1e3:>8.2f} {r['ratio']:>5.2f}x {lean} "
                     f"{r['gflop_per_s']:>8.2f} {share:>7} {r['loss']:>7.4f}  {'; '.join(notes)}".rstrip())
    lines.append(f"one core's fp32 matmul peak (measured): {result['peak_flops_per_s'] / 1e9:.1f} GFLOP/s; ratio = "
                 "step over eager's; lean/it = the lean decoder's step over this one's")
    if result["eval"]:
        small, large = (str(b) for b in EVAL_BATCHES)
        lines += ["", f"evaluation of {EVAL_WINDOWS} windows of 128 tokens, median; ratio = batches of {small} "
                  f"over batches of {large}",
                  f"{'width':>5} {'N':>8}  {f'batch {small} ms':>11} {f'batch {large} ms':>12} {'ratio':>6}"]
        for r in result["eval"]:
            lines.append(f"{r['width']:>5} {r['N']:>8,}  {r['batch_s'][small] * 1e3:>11.1f} "
                         f"{r['batch_s'][large] * 1e3:>12.1f} {r['ratio']:>5.2f}x")
    p = result["processes"]
    if p:
        lines += ["", f"processes: width {p['width']}, {p['steps']} steps each, total tokens/s",
                  f"  two 1-thread processes at once  {p['two_1thread_tokens_per_s']:>9,.0f}",
                  f"  one 2-thread process            {p['one_2thread_tokens_per_s']:>9,.0f}",
                  f"  ratio (two over one)            {p['ratio']:>8.2f}x"]
    return "\n".join(lines)


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(part) for part in text.split(",")]
    except ValueError:
        raise ReplicationError(f"widths={text!r} must be comma-separated integers, widths of the study's ladder: "
                               f"{', '.join(map(str, WIDTHS))}") from None
    return [check_choice("widths", w, WIDTHS) for w in widths]


def main(argv: list[str]) -> int:
    ap = ArgumentParser(prog="replication bench study", description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", help="comma-separated widths of the study's ladder (default: the smallest, a "
                                     "middle and the largest trained)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per variant (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--eval-repeats", type=int, default=5, help="timed evaluations per batch size (default 5; "
                                                                "0 skips the evaluation)")
    ap.add_argument("--process-steps", type=int, default=30, help="steps of each child in the processes section "
                                                                  "(default 30; 0 skips it)")
    ap.add_argument("--no-compile", action="store_true",
                    help="leave out the compiled variants (the default among them)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args(argv)
    widths = parse_widths(args.widths) if args.widths is not None else None
    variants = [v for v in VARIANTS if not (args.no_compile and v.startswith("compiled"))]
    result = run(widths, args.steps, args.warmup, variants, args.eval_repeats, args.process_steps)
    print(json.dumps(result, indent=1) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
