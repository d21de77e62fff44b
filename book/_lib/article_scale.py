"""Training at article scale: the GPU record's tables and figure, the GPU-hours table, the commands, and the
numbers the chapter's prose quotes (glued)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import SVG, Markdown
from myst_nb import glue

from replication.bench import gpu
from replication.errors import ReplicationError, check_choice, check_int, check_number
from replication.counting import ACCOUNTINGS
from replication.studies import article_scale, krasser_design
from replication.studies.article_scale import EXPERIMENTS
from replication.verdict import box_markdown

from . import figures, tables


@dataclass
class Page:
    record: dict | None  # the newest record shown, or None
    count: int  # records found
    hours: pd.DataFrame
    accounting: str
    gpus: int


def hours_display(page: Page):
    """The GPU-hours of every model as the page shows it."""
    return tables.table(page.hours, {"experiment": "experiment", "model number": "model",
                                     "model": "channels / layers", "num_steps": "steps",
                                     "executed FLOPs": "FLOPs executed", "GPU-hours": "GPU-hours"},
                        {"num_steps": "int", "executed FLOPs": "sci3", "GPU-hours": "f2"},
                        columns=["experiment", "model number", "model", "num_steps", "executed FLOPs", "GPU-hours"],
                        caption="The GPU-hours of each model")


def totals_display(page: Page):
    """Per experiment: the models, the MFU and peak the hours rest on (and where the MFU comes from), and
    the GPU-hours of one seed of every model."""
    h = page.hours
    g = h.groupby("experiment", sort=False)
    df = pd.DataFrame({"models": g.size(), "MFU": g["MFU"].first(), "MFU from": g["MFU from"].first(),
                       "peak TFLOP/s": g["peak TFLOP/s"].first(), "GPU-hours": g["GPU-hours"].sum()})
    return tables.table(df, {"experiment": "experiment", "models": "models", "MFU": "MFU (share of the peak)",
                             "MFU from": "MFU from", "peak TFLOP/s": "dense bf16 peak (TFLOP/s)",
                             "GPU-hours": "GPU-hours, one seed of each model"},
                        {"models": "int", "MFU": "pct", "peak TFLOP/s": "f0", "GPU-hours": "f1"},
                        caption="The GPU-hours of each experiment, and what they rest on")


def setup(records_dir: str, cpu_checks: bool, assumed_mfu: float, assumed_peak_tflops: float, accounting: str,
          gpus: int) -> Page:
    """Check the chapter's parameters, read the records, and glue the verdict box and the numbers the prose
    quotes."""
    check_number("assumed_mfu", assumed_mfu, 0.0, 1.0, lo_open=True)
    check_number("assumed_peak_tflops", assumed_peak_tflops, 0.0, 1e5, lo_open=True)
    check_choice("accounting", accounting, ACCOUNTINGS)
    check_int("gpus", gpus, 1, 4096)
    if not isinstance(cpu_checks, bool):
        raise ReplicationError(f"cpu_checks={cpu_checks!r} must be True or False")
    found = article_scale.records(Path(records_dir) if records_dir else None, cpu_checks)
    record = found[-1] if found else None
    hours = article_scale.hours_table(record, accounting, assumed_mfu, assumed_peak_tflops * 1e12)
    page = Page(record, len(found), hours, accounting, gpus)
    totals = hours.groupby("experiment")["GPU-hours"].sum()
    v = {"as_assumed_mfu": assumed_mfu * 100, "as_assumed_peak": assumed_peak_tflops, "as_gpus": gpus,
         "as_total_hours": float(totals.sum()), "as_records": len(found), "as_batch": gpu.BATCH_SIZE,
         "as_dropout": gpu.PREFIX_DROPOUT, "as_accounting": accounting}
    for key, shape in (("ref", gpu.SHAPES["reference"]), ("big", gpu.SHAPES["2a-largest"])):
        v.update({f"as_{key}_d": shape["num_channels"], f"as_{key}_L": shape["num_layers"],
                  f"as_{key}_n": shape["num_latents"], f"as_{key}_P": shape["num_prefix"],
                  f"as_{key}_V": shape["vocab_size"], f"as_{key}_T": shape["num_latents"] + shape["num_prefix"]})
    for name in EXPERIMENTS:
        v[f"as_hours_{name}"] = float(totals[name])
        v[f"as_models_{name}"] = int((hours["experiment"] == name).sum())
    v["as_steps_lo"], v["as_steps_hi"] = int(hours["num_steps"].min()), int(hours["num_steps"].max())
    measured = (hours["MFU from"] != "assumed").any()
    assumed = f"an assumed MFU of {assumed_mfu:.0%} of a {assumed_peak_tflops:g} TFLOP/s dense bf16 peak"
    if record is None:
        v["as_status"] = ("Not measured: no GPU record exists yet, so every GPU figure on this page rests on "
                          f"{assumed}.")
        v["as_precision"] = "No GPU has compared bf16 with fp32 yet."
        v["as_ddp"] = "Multi-GPU scaling has not been measured."
    else:
        kind = "CPU check (tiny shapes, not a GPU)" if record.get("tiny") else record["device_name"]
        v["as_status"] = (f"Measured: {len(found)} record(s); the newest, {Path(record['path']).name}, is from a "
                          f"{kind} with torch {record['torch']} and CUDA {record['cuda']}. The GPU-hours below use "
                          + ("its measured MFU" if measured else f"{assumed} (the record has no stated peak)") + ".")
        c = record.get("precision_comparison")
        v["as_precision"] = (f"Over {c['steps']} steps from one seed, bf16 autocast and fp32 training losses differ "
                             f"by at most {c['max_abs_train_loss_diff']:.4f}; final validation losses "
                             f"{c['bf16-autocast']['final_val_loss']:.4f} (bf16) and {c['fp32']['final_val_loss']:.4f} "
                             "(fp32); the figure below shows both loss curves.") if c else \
            "The record has no bf16-against-fp32 comparison."
        d = record.get("ddp")
        v["as_ddp"] = (f"Two processes ran {d['speedup']:.2f} times the latent tokens per second of one, and their "
                       f"loss curves differ by at most {tables.number(d['max_abs_train_loss_diff'], 2)}.") if d else \
            "Multi-GPU scaling has not been measured (the record's machine had one GPU)."
    v["as_outcome"] = article_scale.gpu_status(record)
    losses = ("the article's losses at its own scale: this project has not trained these models (they need the "
              "GPU-hours below and the Hugging Face book corpora)")
    v["as_not_established"] = (losses[0].upper() + losses[1:] if record is not None and not record.get("tiny") else
                               "The throughput, MFU and memory of the article's shapes on a GPU, bf16 against fp32 "
                               f"there, and scaling over several GPUs; and {losses}") + "."
    for k, x in v.items():
        glue(k, x, display=False)
    glue("article_scale_verdict", Markdown(box_markdown(article_scale.verdicts(record, hours))), display=False)
    return page


def throughput_table(page: Page):
    """The record's throughput rows, or a line saying there is none."""
    if page.record is None:
        print("No GPU record in runs/gpu/: run `replication bench gpu` on a CUDA machine (commands below).")
        return None
    rows = pd.DataFrame(page.record["throughput"])
    rows["peak memory GiB"] = rows["peak_memory_bytes"].map(lambda b: b / 2**30 if b else float("nan"))
    rows["model TFLOP/s"] = rows["model_flops_per_s"] / 1e12
    rows["compile"] = rows["compile"].map({True: "compiled", False: "eager"})
    return tables.table(rows, {"shape": "shape", "compile": "mode", "num_params": "parameters",
                               "latent_tokens_per_s": "latent tokens per second", "model TFLOP/s": "model TFLOP/s",
                               "mfu": "MFU (share of the peak)", "peak memory GiB": "peak memory (GiB)",
                               "first_step_s": "first step (s)"},
                        {"num_params": "sci3", "latent_tokens_per_s": "sig3", "model TFLOP/s": "sig3",
                         "mfu": "pct", "peak memory GiB": "f1", "first_step_s": "f1"},
                        columns=["shape", "compile", "num_params", "latent_tokens_per_s", "model TFLOP/s", "mfu",
                                 "peak memory GiB", "first_step_s"], caption="Throughput measured on the GPU")


def plot_precision(page: Page):
    """bf16 and fp32 training losses of the record's precision comparison; None without one (the prose
    says so, and the page shows no figure)."""
    c = (page.record or {}).get("precision_comparison")
    if not c:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    for precision, style, marker, colour, name in (("fp32", "-", "o", figures.PALETTE[0], "fp32 (TF32 off)"),
                                                   ("bf16-autocast", "--", "x", figures.PALETTE[1],
                                                    "bf16 autocast")):
        loss = c[precision]["train_loss"]
        every = max(1, len(loss) // 20)
        ax.plot(range(1, len(loss) + 1), loss, ls=style, marker=marker, markevery=every, ms=5, color=colour,
                label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (nats per byte)")
    ax.legend(title=f"{c['num_channels']}/{c['num_layers']}, {c['num_latents']} latents, prefix {c['num_prefix']}")
    fig.tight_layout()
    return fig


def precision_figure(page: Page):
    """:func:`plot_precision` as the page shows it (SVG), or None: without a comparison the page shows a
    sentence, no figure."""
    fig = plot_precision(page)
    if fig is None:
        return None
    shown = SVG(figures.svg(fig))
    plt.close(fig)
    return shown


def commands(page: Page) -> str:
    """The benchmark, then every model of the three experiments under torchrun on ``page.gpus`` GPUs."""
    lines = ["replication bench gpu", ""]
    for name in EXPERIMENTS:
        lines.append(f"# Experiment {name}")
        lines += krasser_design.article_commands(name, page.accounting, gpus=page.gpus)
        lines.append("")
    return "\n".join(lines).rstrip()
