"""``replication bench train``: training throughput of our Perceiver AR against the article's code.

Two fixed configs (the issue's): "tiny" V=262, d=128, L=4, n=128, P=384, B=8 and "small" the same with
d=256, L=6, n=256, P=768. One training step is forward, backward and an AdamW update on random tokens,
prefix dropout 0.5, as in training.

Reported per implementation: latent tokens/s (median step), achieved FLOP/s and its fraction of a
fp32 matmul peak measured in the same process, and peak RSS (each implementation and config trained
alone in a child process, so that the numbers do not mix). FLOPs per latent token are the corrected
accounting of ``replication.counting`` (self-attention and prefix cross-attention parts) plus the output
logits (6dV), which the accounting leaves out but the step does compute.

If ``perceiver-io`` (Krasser's implementation) is importable, it runs the same configs in the same
process, interleaved step by step with ours so that machine noise hits both alike, and the ratio is
printed. It is never a dependency of ``replication``; install it in a separate environment that
shares this one's torch, and run this module from there::

    python -m venv .venv-peers && echo '*' > .venv-peers/.gitignore
    echo "$PWD/.venv/lib/python3.11/site-packages" > .venv-peers/lib/python3.11/site-packages/main.pth
    echo "$PWD/src" >> .venv-peers/lib/python3.11/site-packages/main.pth
    printf 'torch==2.13.0\nnumpy==2.4.6\n' > /tmp/c.txt
    .venv-peers/bin/pip install --ignore-requires-python -c /tmp/c.txt perceiver-io transformers "setuptools<81"
    .venv-peers/bin/python -W ignore -m replication.bench.train

(perceiver-io 0.11.0 declares Python < 3.11; its activation checkpointing is left off, as it crashes.)
"""
from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
import warnings

# torch, the training modules that import it and the optional peer load inside the functions: --help and a
# bad value answer without them
from replication.errors import ArgumentParser, ReplicationError, check_int
from replication.training.config import ModelConfig

CONFIGS = {
    "tiny": dict(vocab_size=262, num_channels=128, num_layers=4, num_latents=128, num_prefix=384, batch_size=8),
    "small": dict(vocab_size=262, num_channels=256, num_layers=6, num_latents=256, num_prefix=768, batch_size=8),
}
NUM_HEADS = 8
PREFIX_DROPOUT = 0.5
IMPLEMENTATIONS = ("replication", "perceiver-io")


def model_config(c: dict):
    """The ModelConfig of a benchmark config."""
    return ModelConfig(vocab_size=c["vocab_size"], num_latents=c["num_latents"], num_prefix=c["num_prefix"],
                       num_channels=c["num_channels"], num_layers=c["num_layers"], num_heads=NUM_HEADS,
                       prefix_dropout=PREFIX_DROPOUT)


def flops_per_latent_token(c: dict) -> int:
    shape = model_config(c).shape()
    logits = 6 * c["num_channels"] * c["vocab_size"]
    return shape.self_attn_flops("corrected") + shape.cross_attn_flops(PREFIX_DROPOUT, "corrected") + logits


def matmul_peak(size: int = 1024, repeats: int = 30) -> float:
    """fp32 matmul FLOP/s on the threads torch uses: the best of ``repeats``.

    The best, not the median: a peak is what the cores can do, and on a shared machine the median
    mostly measures the other jobs.
    """
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best


def peer_available() -> bool:
    try:
        import perceiver.model.text.clm  # noqa: F401
    except Exception:
        return False
    return True


def make_step(impl: str, c: dict, seed: int = 0, compile: bool = False):
    """A closure that runs one training step on a fixed random batch; returns the loss."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    n, p, b, V = c["num_latents"], c["num_prefix"], c["batch_size"], c["vocab_size"]
    if impl == "replication":
        from replication.training.model import PerceiverAR

        model = PerceiverAR(model_config(c)).use_cpu_kernels()  # as replication train runs on a CPU

        def loss_fn(x, y):
            return model(x, y)[1]
    elif impl == "perceiver-io":
        warnings.filterwarnings("ignore")
        from perceiver.model.text.clm import CausalLanguageModel, CausalLanguageModelConfig

        model = CausalLanguageModel(CausalLanguageModelConfig(
            vocab_size=V, max_seq_len=n + p, max_latents=n, num_channels=c["num_channels"],
            num_self_attention_layers=c["num_layers"] - 1, num_heads=NUM_HEADS,
            cross_attention_dropout=PREFIX_DROPOUT))

        def loss_fn(x, y):
            logits = model(x, prefix_len=p).logits
            return F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    else:
        raise ReplicationError(f"impl={impl!r} is not known; choose one of: {', '.join(IMPLEMENTATIONS)}")
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4, weight_decay=0.0, foreach=True)
    fn = torch.compile(loss_fn) if compile else loss_fn
    x = torch.randint(0, V, (b, n + p))
    y = torch.randint(0, V, (b, n))

    def step() -> float:
        loss = fn(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    return step


def measure(impls: list[str], c: dict, warmup: int, steps: int, compile: bool) -> dict[str, list[float]]:
    """Interleaved step timings (seconds) for each implementation on one config."""
    fns = {impl: make_step(impl, c, compile=compile) for impl in impls}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {impl: [] for impl in impls}
    for _ in range(steps):
        for impl, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[impl].append(time.perf_counter() - t0)
    return times


def _rss_child(impl: str, name: str, steps: int, compile: bool) -> float:
    """Peak RSS (bytes) of a fresh process training ``impl`` on config ``name`` for a few steps."""
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across exec
    code = (
        "from replication.bench.train import CONFIGS, make_step, _vm_hwm; "
        f"f = make_step({impl!r}, CONFIGS[{name!r}], compile={compile}); "
        f"[f() for _ in range({steps})]; "
        "print(_vm_hwm())"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _vm_hwm() -> int:
    """This process's peak resident set size in bytes (Linux /proc; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run(configs: list[str], steps: int = 20, warmup: int = 3, compile: bool = False, rss: bool = True,
        peer: bool = True) -> list[dict]:
    import torch

    impls = ["replication"] + (["perceiver-io"] if peer and peer_available() else [])
    peak = matmul_peak()
    rows = []
    for name in configs:
        c = CONFIGS[name]
        times = measure(impls, c, warmup, steps, compile)
        tokens = c["batch_size"] * c["num_latents"]
        fpt = flops_per_latent_token(c)
        for impl in impls:
            med = statistics.median(times[impl])
            row = {
                "config": name, "impl": impl, "threads": torch.get_num_threads(), "compile": compile,
                "step_s": med, "latent_tokens_per_s": tokens / med, "flops_per_s": fpt * tokens / med,
                "peak_flops_per_s": peak, "fraction_of_peak": fpt * tokens / med / peak,
            }
            if rss:
                row["peak_rss_bytes"] = _rss_child(impl, name, 3, compile)
            rows.append(row)
        peak = max(peak, matmul_peak())  # again after the config, in case the machine was busy before
        for row in rows[-len(impls):]:
            row["peak_flops_per_s"] = peak
            row["fraction_of_peak"] = row["flops_per_s"] / peak
        if len(impls) > 1:
            ours, theirs = (statistics.median(times[i]) for i in impls)
            rows[-2]["ratio_vs_perceiver_io"] = theirs / ours
    return rows


def format_rows(rows: list[dict]) -> str:
    head = f"{'config':<6} {'impl':<13} {'tokens/s':>9} {'GFLOP/s':>8} {'of peak':>8} {'peak RSS':>9} {'ratio':>6}"
    lines = [head]
    for r in rows:
        rss = f"{r['peak_rss_bytes'] / 2**20:,.0f} MiB" if "peak_rss_bytes" in r else "-"
        ratio = f"{r['ratio_vs_perceiver_io']:.2f}x" if "ratio_vs_perceiver_io" in r else ""
        lines.append(f"{r['config']:<6} {r['impl']:<13} {r['latent_tokens_per_s']:>9,.0f} "
                     f"{r['flops_per_s'] / 1e9:>8.1f} {r['fraction_of_peak']:>8.1%} {rss:>9} {ratio:>6}")
    if rows:
        peaks = {r["config"]: r["peak_flops_per_s"] / 1e9 for r in rows}
        lines.append("fp32 matmul peak (measured, best before/after each config): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items())
                     + f" GFLOP/s on {rows[0]['threads']} threads")
    if not any(r["impl"] == "perceiver-io" for r in rows):
        lines.append("perceiver-io is not importable here: no ratio (install it in a separate environment)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    ap = ArgumentParser(prog="replication bench train", description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="*", default=list(CONFIGS), help="tiny, small (default: both)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per implementation (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's, usually all cores)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the loss function of both")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child processes")
    ap.add_argument("--no-peer", action="store_true", help="do not run perceiver-io even if importable")
    ap.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    args = ap.parse_args(argv)
    for name in args.configs:
        if name not in CONFIGS:
            raise ReplicationError(f"config={name!r} is not known; choose one of: {', '.join(CONFIGS)}")
    check_int("steps", args.steps, 1, 10_000)
    check_int("warmup", args.warmup, 0, 10_000)
    if args.threads is not None:
        import torch

        torch.set_num_threads(check_int("threads", args.threads, 1, 1024))
    rows = run(args.configs, args.steps, args.warmup, args.compile, not args.no_rss, not args.no_peer)
    print(json.dumps(rows, indent=1) if args.json else format_rows(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
