"""``replication bench gpu``: what training at the article's scale costs on this GPU, in one JSON record.

On a CUDA machine, in under 8 minutes (``--budget-s``, default 420: a part that would start after it, or
that runs out of GPU memory, is recorded as skipped and the rest goes on):

* **throughput and MFU** of training steps (forward, backward, fused AdamW; bf16 autocast; prefix dropout
  0.5; a fixed batch of B=80 random windows) on the article's reference shape (Experiment 1's model 1:
  d=512, L=9, n=512, P=1536, V=32000) and the largest shape of Experiment 2a, eager and under
  ``torch.compile``, with the peak GPU memory of each. MFU is model FLOPs per second over the GPU's stated
  dense bf16 peak (:data:`PEAK_BF16_TFLOPS`, or ``--peak-tflops``); model FLOPs are the article
  accounting's self- plus cross-attention FLOPs, the count ``studies.krasser_design.gpu_hours`` divides by,
  so that hours at a measured MFU are hours at the measured throughput.
* **bf16 against fp32**: 200 steps of the trainer itself (``training.loop.train``) on the KJV corpus in
  bytes, Experiment 2b's reference shape (the reference shape with V=262), from the same seed, once with
  bf16 autocast and once in fp32 with TF32 off; both loss curves and their largest difference.
* **DDP**: with two GPUs or more, the same trainer for 20 steps under ``torchrun --nproc_per_node=2``
  against 20 steps on one GPU: throughput of each and the largest loss difference.

The record goes to ``runs/gpu/<time>-<device>.json``: device name, torch and CUDA versions, every figure.
Without CUDA the command refuses in one line (exit 2). ``--device cpu --tiny`` (not in ``--help``) runs every
part on the CPU with tiny shapes and a few steps, two gloo processes for the DDP part; it is how the test
suite checks this code, so that the GPU run cannot fail on a typo.
"""
from __future__ import annotations

import argparse
import contextlib
import re
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from replication.bench.gpu_parts import Plan, ddp, model_flops_per_latent_token, precision_comparison, tf32, throughput
from replication.errors import ReplicationError, check_int, check_number
from replication.files import write_json
from replication.papers.krasser import BATCH_SIZE, PREFIX_DROPOUT
from replication.store.reading import read_json
from replication.store.runs import default_root
from replication.training.config import ModelConfig

#: Stated dense (not sparse) bf16 tensor-core peaks, TFLOP/s, from NVIDIA's data sheets; matched against
#: ``torch.cuda.get_device_name()`` in this order (so that "H100 PCIe" is found before "H100").
PEAK_BF16_TFLOPS = (
    (r"GH200", 989.0),
    (r"H200 NVL", 835.0),
    (r"H200", 989.0),
    (r"H100 PCIe", 756.0),
    (r"H100 NVL", 835.0),
    (r"H100", 989.0),  # SXM ("NVIDIA H100 80GB HBM3")
    (r"A100", 312.0),
    (r"L40S", 362.0),
    (r"L40\b", 181.0),
    (r"L4\b", 121.0),
    (r"A10\b", 125.0),
)

#: The article's shapes as ModelConfig fields: the reference model (Experiment 1, model 1) and the largest
#: model of Experiment 2a (768/13, n=512, P=3584); tiny stand-ins for the CPU check.
SHAPES = {
    "reference": dict(vocab_size=32000, num_latents=512, num_prefix=1536, num_channels=512, num_layers=9),
    "2a-largest": dict(vocab_size=262, num_latents=512, num_prefix=3584, num_channels=768, num_layers=13),
}
TINY_SHAPES = {
    "reference": dict(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=1),
    "2a-largest": dict(vocab_size=262, num_latents=16, num_prefix=48, num_channels=48, num_layers=3),
}
#: The trainer's runs (bf16 against fp32, DDP): Experiment 2b's reference model, the reference shape in bytes.
TRAINER_SHAPE = dict(SHAPES["reference"], vocab_size=262)


def plan(device: str, tiny: bool, batch_size: int = BATCH_SIZE, budget_s: float = 420.0) -> Plan:
    import torch

    if tiny:
        # the test suite's check: every part, seconds each; one compiled shape, of one layer (a cold inductor
        # compile on a CPU grows with the graph: 57 s for the two-layer shape on 2 busy cores)
        return Plan(device, TINY_SHAPES, TINY_SHAPES["reference"], batch_size=8, warmup=1, timed=2,
                    compiled=("reference",), compare_steps=6, ddp_steps=4, ddp=True, budget_s=budget_s, tiny=True)
    return Plan(device, SHAPES, TRAINER_SHAPE, batch_size=batch_size, warmup=5, timed=20, compiled=tuple(SHAPES),
                compare_steps=200, ddp_steps=20, ddp=torch.cuda.device_count() >= 2, budget_s=budget_s)


def peak_bf16_flops(device_name: str) -> float | None:
    """The stated dense bf16 peak of a GPU by name, FLOP/s; None for a GPU not in the table."""
    for pattern, tflops in PEAK_BF16_TFLOPS:
        if re.search(pattern, device_name):
            return tflops * 1e12
    return None


# --------------------------------------------------------------------------------------------------
# the record


def device_info(device: str) -> dict:
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": device}
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(0)
        info.update(device_name=torch.cuda.get_device_name(0), device_count=torch.cuda.device_count(),
                    total_memory_bytes=props.total_memory, cudnn=torch.backends.cudnn.version(),
                    bf16_supported=torch.cuda.is_bf16_supported())
    else:
        info.update(device_name="cpu", device_count=1, threads=torch.get_num_threads())
    return info


def run(p: Plan, peak_flops: float | None = None, log=print) -> dict:
    """Every part of ``p`` that fits in its time budget; the record (not yet written)."""
    t_start = time.perf_counter()
    record = {"kind": "bench-gpu", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "tiny": p.tiny, "budget_s": p.budget_s, **device_info(p.device)}
    peak = peak_flops if peak_flops is not None else peak_bf16_flops(record["device_name"])
    record["peak_bf16_flops"] = peak
    record["peak_source"] = "--peak-tflops" if peak_flops is not None else \
        ("PEAK_BF16_TFLOPS" if peak is not None else None)
    record["throughput"], record["skipped"] = [], []

    @contextlib.contextmanager
    def part(what: str):
        """Run a part if time is left; a part that runs out of GPU memory is recorded as skipped."""
        import torch

        if time.perf_counter() - t_start >= p.budget_s:
            record["skipped"].append(f"{what}: the time budget of {p.budget_s:g} s was used up")
            yield False
            return
        log(f"bench gpu: {what}")
        try:
            yield True
        except torch.OutOfMemoryError:
            record["skipped"].append(f"{what}: out of GPU memory at a batch of {p.batch_size} (try --batch-size "
                                     f"{max(1, p.batch_size // 2)})")
            torch._dynamo.reset()
            torch.cuda.empty_cache()

    def measure(name: str, compile: bool) -> None:
        with part(f"throughput of {name}, {'torch.compile' if compile else 'eager'}") as go:
            if go:
                record["throughput"].append(throughput(p, name, compile))

    # in order of what matters most if time runs out; compiling takes the longest
    with tf32(True), tempfile.TemporaryDirectory(prefix="bench-gpu-") as tmp:
        for name in p.shapes:
            measure(name, False)
        with part(f"bf16 against fp32, {p.compare_steps} trainer steps") as go:
            if go:
                record["precision_comparison"] = precision_comparison(p, Path(tmp))
        for name in p.compiled:
            measure(name, True)
        if not p.ddp:
            record["skipped"].append("DDP: fewer than two GPUs")
        else:
            with part(f"DDP, {p.ddp_steps} trainer steps on 1 and 2 processes") as go:
                if go:
                    record["ddp"] = ddp(p, Path(tmp))
    for row in record["throughput"]:
        row["mfu"] = row["model_flops_per_s"] / peak if peak else None
    record["wall_s"] = time.perf_counter() - t_start
    return record


def record_path(out_dir: Path, record: dict) -> Path:
    stamp = record["created"].replace(":", "").replace("-", "").replace("+0000", "Z")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", record["device_name"]).strip("-").lower()
    return Path(out_dir) / f"{stamp}-{slug}.json"


def format_record(record: dict) -> str:
    lines = [f"{record['device_name']} (torch {record['torch']}, CUDA {record['cuda']}); dense bf16 peak "
             + (f"{record['peak_bf16_flops'] / 1e12:g} TFLOP/s" if record["peak_bf16_flops"] else "unknown")]
    lines.append(f"{'shape':<11} {'compile':<7} {'tokens/s':>11} {'TFLOP/s':>8} {'MFU':>6} {'peak mem':>9}")
    for r in record["throughput"]:
        mem = f"{r['peak_memory_bytes'] / 2**30:.1f} GiB" if r["peak_memory_bytes"] else "-"
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
        lines.append(f"{r['shape']:<11} {str(r['compile']):<7} {r['latent_tokens_per_s']:>11,.0f} "
                     f"{r['model_flops_per_s'] / 1e12:>8.1f} {mfu:>6} {mem:>9}")
    if "precision_comparison" in record:
        c = record["precision_comparison"]
        lines.append(f"bf16 vs fp32 over {c['steps']} steps: largest train-loss difference "
                     f"{c['max_abs_train_loss_diff']:.4f}; final validation loss "
                     f"{c['bf16-autocast']['final_val_loss']:.4f} vs {c['fp32']['final_val_loss']:.4f}")
    if "ddp" in record:
        d = record["ddp"]
        lines.append(f"DDP on 2 processes: {d['speedup']:.2f}x the tokens/s of one; largest loss difference "
                     f"{d['max_abs_train_loss_diff']:.2g}")
    lines += [f"skipped: {s}" for s in record["skipped"]]
    return "\n".join(lines)


def records(folder: Path | None = None) -> list[dict]:
    """The GPU records in ``folder`` (default: runs/gpu of the run store), oldest first, each with its
    ``path``; the CPU checks (``--tiny``) are not records of a GPU and are left out."""
    folder = Path(folder) if folder is not None else default_root() / "gpu"
    found = [{**read_json(path, "a GPU benchmark record"), "path": str(path)} for path in sorted(folder.glob("*.json"))]
    return sorted((r for r in found if not r.get("tiny") and r.get("device", "").startswith("cuda")),
                  key=lambda r: r["created"])


#: Which measured figure stands for each of the article's experiments: Experiment 1's models have the
#: reference shape's 32,000-token vocabulary, 2a's the 4,096-token input of the 2a-largest shape, 2b's the
#: trainer's bytes model (its bf16 run in the precision comparison).
EXPERIMENT_SHAPES = {"1": "reference", "2a": "2a-largest", "2b": "2b-reference"}


def measured_mfu(record: dict, experiment: str) -> float | None:
    """The bf16 MFU a record measured for the shape standing for ``experiment`` (eager, as the article's
    commands train), or None when the record has no such figure or its GPU's peak is unknown."""
    peak, shape = record.get("peak_bf16_flops"), EXPERIMENT_SHAPES[experiment]
    if not peak:
        return None
    if shape == "2b-reference":
        c = record.get("precision_comparison")
        if not c:
            return None
        model = ModelConfig(**{k: c[k] for k in TRAINER_SHAPE}, prefix_dropout=PREFIX_DROPOUT)
        return model_flops_per_latent_token(model) * c["bf16-autocast"]["latent_tokens_per_s"] / peak
    rows = [r for r in record.get("throughput", []) if r["shape"] == shape and not r["compile"]]
    return rows[0]["mfu"] if rows else None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="replication bench gpu", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="folder of the record (default: runs/gpu of the run store)")
    ap.add_argument("--budget-s", type=float, default=420.0, help="start no part after this many seconds "
                                                                  "(default 420)")
    ap.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"sequences per step (default "
                                                                       f"{BATCH_SIZE}, the article's)")
    ap.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, for a GPU not in the table")
    ap.add_argument("--device", default="cuda", help=argparse.SUPPRESS)
    ap.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    check_number("budget_s", args.budget_s, 0.0, 3600.0, lo_open=True)
    check_int("batch_size", args.batch_size, 1, 4096)
    if args.peak_tflops is not None:
        check_number("peak_tflops", args.peak_tflops, 0.0, 1e5, lo_open=True)
    if args.device not in ("cuda", "cpu"):
        raise ReplicationError(f"device={args.device!r} is not known; choose one of: cuda, cpu")
    if args.device == "cpu" and not args.tiny:
        raise ReplicationError("device='cpu' runs only the tiny check (--tiny): the article's shapes take "
                               "minutes per step on a CPU")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise ReplicationError(f"the GPU benchmark needs a CUDA GPU, and torch {torch.__version__} sees none "
                               f"(torch.cuda.is_available() is False; CUDA build: {torch.version.cuda})")
    p = plan(args.device, args.tiny, args.batch_size, args.budget_s)
    record = run(p, args.peak_tflops * 1e12 if args.peak_tflops else None,
                 log=lambda *a: print(*a, file=sys.stderr))
    path = record_path(Path(args.out) if args.out else default_root() / "gpu", record)
    write_json(path, record)
    print(format_record(record))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
