"""Krasser's experiments at the article's own scale, on GPUs: the records of ``replication bench gpu``,
the GPU-hours of every model at the measured (or an assumed) model FLOPs utilisation, and what is and is
not established (:func:`verdicts`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from replication.bench import gpu
from replication.errors import check_choice, check_number
from replication.counting import ACCOUNTINGS
from replication.store.runs import default_root, read_json
from replication.studies import krasser_design
from replication.verdict import HOLDS, INCONCLUSIVE, Verdict

EXPERIMENTS = ("1", "2a", "2b")


def records(folder: Path | None = None, cpu_checks: bool = False) -> list[dict]:
    """The GPU benchmark's records in ``folder`` (default: ``runs/gpu/`` of the run store), oldest first;
    ``cpu_checks``: also the records of its CPU check (tiny shapes), which measure no GPU."""
    if not cpu_checks:
        return gpu.records(folder)
    folder = folder or default_root() / "gpu"
    found = [{**read_json(p, "a GPU benchmark record"), "path": str(p)} for p in sorted(folder.glob("*.json"))]
    return sorted(found, key=lambda r: r["created"])


def hours_table(record: dict | None, accounting: str, assumed_mfu: float, assumed_peak: float) -> pd.DataFrame:
    """GPU-hours of every model of the three experiments (FLOPs executed over MFU times the dense bf16 peak):
    at the record's measured MFU and peak where it has them, else at the assumed ones (the ``MFU from``
    column says which)."""
    check_choice("accounting", accounting, ACCOUNTINGS)
    check_number("assumed_mfu", assumed_mfu, 0.0, 1.0, lo_open=True)
    check_number("assumed_peak", assumed_peak, 0.0, None, lo_open=True)
    frames = []
    for name in EXPERIMENTS:
        mfu = gpu.measured_mfu(record, name) if record else None
        peak = record["peak_bf16_flops"] if mfu is not None else assumed_peak
        source = f"measured ({gpu.EXPERIMENT_SHAPES[name]})" if mfu is not None else "assumed"
        h = krasser_design.gpu_hours(name, accounting, peak_flops=peak, mfu=mfu if mfu is not None else assumed_mfu)
        frames.append(h.assign(experiment=name, MFU=mfu if mfu is not None else assumed_mfu, **{"MFU from": source},
                               **{"peak TFLOP/s": peak / 1e12}))
    out = pd.concat(frames).reset_index()
    return out[["experiment", "model number", "model", "num_steps", "executed FLOPs", "peak TFLOP/s", "MFU",
                "MFU from", "GPU-hours"]]


def gpu_status(record: dict | None, short: bool = False) -> str:
    """What the newest record measured: "not measured" (and why, unless ``short``), or the GPU it ran on."""
    if record is not None and not record.get("tiny"):
        return f"measured on a {record['device_name']}"
    if short:
        return "not measured"
    why = "no GPU record exists yet" if record is None else "the record shown is a CPU check, not a GPU"
    return f"not measured ({why})"


def verdicts(record: dict | None, hours: pd.DataFrame) -> list[Verdict]:
    """The article's losses at its own scale: *inconclusive*, with no run of this project at that scale;
    and this trainer's paths for several GPUs (DDP, gradient accumulation, compile, bf16), which *hold*
    against a single-process run on a CPU in the test suite, with what a GPU has measured of them."""
    steps = hours["num_steps"]
    return [
        Verdict(claim=f"Krasser reports the losses of models trained on GPUs for {steps.min():,} to {steps.max():,} "
                      "steps.",
                outcome=INCONCLUSIVE, test="no run at the article's scale", n=0, unit="runs at that scale",
                finding=f"We trained none: one seed of each needs {hours['GPU-hours'].sum():,.1f} GPU-hours."),
        Verdict(claim="That needs this trainer to run those shapes on GPUs.", outcome=HOLDS,
                test="the test suite, on a CPU (tests/test_gpu_path.py)",
                finding=("Its multi-GPU paths match a single-process run on a CPU; on a GPU, "
                         f"{gpu_status(record, short=True)}.")),
    ]
