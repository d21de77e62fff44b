"""What the wide study (:mod:`replication.studies.wide_design`) costs, before any of it trains: its parts,
their runs and executed FLOPs, and the core-minutes each takes at a measured speed (``replication sweep plan
wide``).

A run's time is its steps times the time of one step, plus its validations, plus what compiling costs:

- **a step** takes t(F) = t0 + F / R, F the executed FLOPs of the step, fitted to steps timed at three
  widths (:func:`measure_speed`; CPU time of one thread, so that other jobs on the machine do not count),
  once for the eager step and once for the compiled one; the loop compiles runs of
  ``training.step.MIN_COMPILED_STEPS`` steps or more;
- **a validation** (``eval_windows`` windows, forward only) takes the same line fitted to timed
  validations;
- **compiling**: each compiled run pays :data:`WARM_COMPILE_S` (tracing, the cached graph loaded), and
  each width's first compiled run :data:`COLD_COMPILE_S` more (``training/step.py`` measured both).

:data:`MEASURED` holds the speeds measured on this project's 2-core machine; ``--measure`` times them
again. On another device give ``--throughput`` (executed FLOP/s of one job): a run then takes its FLOPs
over it. Parts the adaptive steps decide (the sweep's second seeds, the lr of each run) are counted as
planned: three second-seed rates per cell.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from replication.errors import ArgumentParser, ReplicationError, check_int, finite_float
from replication.studies.wide_design import BUDGETS, BYTES_PER_TOKEN, KJV_LR, WideStudy

#: A compiled run's cost outside its steps with a warm compile cache, and the first run of a width's more
#: (training/step.py: ~9 s and ~67 s at d = 24, one thread).
WARM_COMPILE_S = 9.0
COLD_COMPILE_S = 60.0
#: Hours of this project's machine the study may take, and its cores.
HOURS, CORES = 6.0, 2


def measure_speed(study: WideStudy, widths=(20, 58, 136), steps: int = 20, warmup: int = 3,
                  evals: int = 2) -> pd.DataFrame:
    """Seconds of one training step (eager and compiled) and of one validation, at each of ``widths``, on
    one thread with deterministic algorithms as the loop trains, timed in CPU time on the study's corpus."""
    import os

    import torch

    from replication.corpus import load_data
    from replication.training.distributed import Env
    from replication.training.loop import Trainer, evaluate

    was = (torch.get_num_threads(), os.environ.get("REPLICATION_CPU_STEP"))
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    data = load_data(study.corpus, study.tokenizer)
    rows = []
    try:
        for w in widths:
            cfg = study.config(w, study.budgets[0], lr=1e-3)
            cfg = replace(cfg, budget_flops=None, steps=warmup + steps)
            row = {"width": w, "N": study.n(w), "flops_per_step": study.per_token(w) * cfg.batch_size * study.num_latents}
            for kind in ("eager", "compiled"):
                os.environ["REPLICATION_CPU_STEP"] = kind
                trainer = Trainer(cfg, data, Env("cpu", "fp32"), None, None, log=lambda *a: None)
                times = []
                for i in range(warmup + steps):
                    t0, c0 = time.perf_counter(), time.process_time()
                    loss, _, _ = trainer.train_step(i)
                    loss.item()
                    times.append((time.perf_counter() - t0, time.process_time() - c0))
                if kind == "compiled":
                    row["compile_wall_s"] = times[0][0]
                    torch._dynamo.reset()
                row[f"{kind}_s"] = float(np.median([c for _, c in times[warmup:]]))
            ev = []
            for _ in range(evals):
                c0 = time.process_time()
                evaluate(trainer.model, data, cfg, Env("cpu", "fp32"))
                ev.append(time.process_time() - c0)
            row["eval_s"] = float(np.median(ev))
            rows.append(row)
    finally:
        torch.set_num_threads(was[0])
        if was[1] is None:
            os.environ.pop("REPLICATION_CPU_STEP", None)
        else:
            os.environ["REPLICATION_CPU_STEP"] = was[1]
    return pd.DataFrame(rows)


#: Speeds measured by :func:`measure_speed` on this project's 2-core machine (1 thread, CPU time, 20 steps
#: after 3, the median; torch 2.13 CPU): width, executed FLOPs of a step, seconds of an eager step, of a
#: compiled step, of one validation.
#: Measured 2026-12-06 at a load average of 6 (six jobs on the two cores): CPU time keeps the others out of
#: the count, not their share of the caches.
MEASURED = pd.DataFrame({"width": [20, 58, 136], "flops_per_step": [2.759885e8, 1.450353e9, 6.529253e9],
                         "eager_s": [0.023323, 0.037873, 0.099919], "compiled_s": [0.015702, 0.031298, 0.092521],
                         "eval_s": [0.112096, 0.231838, 0.615368]})


class Speed:
    """Seconds of a run on this CPU from the measured steps (:data:`MEASURED` or :func:`measure_speed`), or
    from a device's ``throughput`` (executed FLOP/s of one job) alone."""

    def __init__(self, measured: pd.DataFrame | None = None, throughput: float | None = None):
        self.throughput = throughput
        if throughput is None:
            m = MEASURED if measured is None else measured
            if len(m) < 2:
                raise ReplicationError("the speed model needs steps timed at 2 or more widths (measure_speed)")
            f = m["flops_per_step"].to_numpy(float)
            # t = t0 + F / R: the step's fixed cost (dispatch, small kernels) and its arithmetic
            self.lines = {k: np.polyfit(f, m[k].to_numpy(float), 1) for k in ("eager_s", "compiled_s", "eval_s")}

    def run_seconds(self, study: WideStudy, width: int, steps: int, batch: int, compiled: bool) -> float:
        f = study.per_token(width) * batch * study.num_latents
        if self.throughput is not None:
            return steps * f / self.throughput
        step = np.polyval(self.lines["compiled_s" if compiled else "eager_s"], f)
        evals = min(steps, study.evals_per_run) + 1
        return float(steps * step + evals * np.polyval(self.lines["eval_s"], f)
                     + (WARM_COMPILE_S if compiled else 0.0))


def _planned(study: WideStudy) -> dict[str, list[tuple]]:
    """part -> (width, budget FLOPs, seed, batch, key) of its runs; ``key`` tells one run from another
    across parts (a run two parts name is counted in the first)."""
    ws, top, b = study.widths, study.budgets[-1], study.batch_size

    def sweep(points):
        return [(ws[j], study.horizon_budget(ws[j], h), s, b, study.sweep_config(j, h, lr, s).run_id())
                for j, h, lr, s in points]

    first = study.sweep_points()
    centre = sorted(study.sweep_factors)[len(study.sweep_factors) // 2]
    grid = sorted(study.sweep_factors)
    near = grid[max(0, grid.index(centre) - 1):grid.index(centre) + 2]  # planned: the best rate at the centre
    repeats = [(j, h, float(f"{f * KJV_LR(study.n(ws[j]), h):.3g}"), s) for j in study.sweep_rungs
               for h in study.sweep_horizons for f in near for s in study.sweep_repeat_seeds]
    w = ws[study.warmup_rung]
    c = study.horizon_budget(w, study.sweep_horizons[-1])
    warmup = study.tuning_configs()[len(first):]
    iso = study.isoflop_points()
    return {
        "learning-rate sweep, first seeds": sweep(first),
        "learning-rate sweep, second seeds": sweep(repeats),
        "warmup pilot": [(w, c, s, b, cfg.run_id()) for (_, s), cfg in zip(study.warmup_points(), warmup)],
        "IsoFLOP profiles, first seeds": [(ws[j], study.budgets[k], s, b, ("iso", ws[j], k, s, b))
                                          for k, j, s in iso if s in study.seeds],
        "IsoFLOP profiles, vertex seeds": [(ws[j], study.budgets[k], s, b, ("iso", ws[j], k, s, b))
                                           for k, j, s in iso if s not in study.seeds],
        f"batch {study.batch_alternative}": [(ws[j], study.budgets[k], s, study.batch_alternative,
                                             ("iso", ws[j], k, s, study.batch_alternative))
                                            for k, j, s in study.batch_points()],
        "Chinchilla against Gopher": [(wd, top, s, b, ("iso", wd, len(study.budgets) - 1, s, b))
                                      for _, wd, s in study.duel_points()],
    }


def plan(study: WideStudy, speed: Speed | None = None) -> pd.DataFrame:
    """One row per part of the study: runs (new to the part), executed FLOPs, core-minutes (minutes of one
    job, with a device's ``throughput``); the last row their total."""
    speed = speed or Speed()
    from replication.training.step import MIN_COMPILED_STEPS

    seen, rows, cold = set(), [], set()
    per_step = study.num_latents
    for part, runs in _planned(study).items():
        n = flops = seconds = 0.0
        for width, budget, _, batch, key in runs:
            if key in seen:
                continue
            seen.add(key)
            steps = max(1, math.ceil(budget / study.per_token(width) / (batch * per_step)))
            compiled = steps >= MIN_COMPILED_STEPS
            n += 1
            flops += steps * batch * per_step * study.per_token(width)
            seconds += speed.run_seconds(study, width, steps, batch, compiled)
            if compiled and speed.throughput is None and width not in cold:
                cold.add(width)
                seconds += COLD_COMPILE_S
        rows.append({"part": part, "runs": int(n), "executed FLOPs": flops, "core-minutes": seconds / 60})
    t = pd.DataFrame(rows)
    total = {"part": "total", "runs": int(t["runs"].sum()), "executed FLOPs": t["executed FLOPs"].sum(),
             "core-minutes": t["core-minutes"].sum()}
    return pd.concat([t, pd.DataFrame([total])], ignore_index=True)


def format_plan(study: WideStudy, table: pd.DataFrame, speed: Speed) -> str:
    """The plan as the command prints it: the budgets and sizes, each part, the total against the machine."""
    lines = [f"wide study on {study.corpus} ({study.tokenizer}): {len(study.budgets)} budgets, "
             f"{study.budgets[0]:.3g} to {study.budgets[-1]:.3g} executed FLOPs "
             f"({study.budgets[-1] / study.budgets[0]:.0f}x); fits on budgets 1-{len(study.fit_budgets)}, "
             f"budgets {len(study.fit_budgets) + 1}-{len(study.budgets)} held out"]
    lines.append(f"  {'budget':>9}  {'N* expected':>11}  {'D/N there':>20}  widths (epochs at most)")
    for k, c in enumerate(study.budgets):
        v = study.widths[study.nearest_rung(study.expected_n(c))]
        tpp = study.tokens(v, c) / study.n(v)
        sizes = ", ".join(f"{study.widths[j]}" for j in study.profile(k))
        most = max(study.epochs(study.widths[j], c) for j in study.profile(k))
        lines.append(f"  {c:9.3g}  {study.expected_n(c):11.3g}  {tpp:4.0f} bytes, {tpp / BYTES_PER_TOKEN[32000]:3.0f} "
                     f"SP-32k  d={v}: {sizes} ({most:.2f})")
    duel = ", ".join(f"{name} d={w} (N={study.n(w):,}, D/N={study.tokens(w, study.budgets[-1]) / study.n(w):.0f})"
                     for name, w in study.duel_widths().items())
    lines.append(f"  Chinchilla against Gopher at {study.budgets[-1]:.3g}: {duel}")
    source = (f"{speed.throughput:.3g} FLOP/s a job" if speed.throughput is not None else
              "the steps measured on this machine (1 thread, CPU time)")
    unit = "core-minutes" if speed.throughput is None else "job-minutes"
    lines.append(f"\n{unit} from {source}:")
    for _, r in table.iterrows():
        lines.append(f"  {r['part']:<36} {r['runs']:>4} runs  {r['executed FLOPs']:9.3g} FLOPs  "
                     f"{r['core-minutes']:8.1f} {unit}")
    total = float(table["core-minutes"].iloc[-1])
    capacity = HOURS * CORES * 60
    if speed.throughput is None:
        lines.append(f"  {total / CORES / 60:.1f} hours on {CORES} cores, against {HOURS:g} hours "
                     f"({capacity:.0f} core-minutes): " + ("fits" if total <= capacity else
                                                           f"over by {total - capacity:.0f} core-minutes"))
    else:
        lines.append(f"  {total / 60:.1f} hours, one job at a time")
    bad = study.check()
    lines += [f"  breaks a rule: {b}" for b in bad]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``replication sweep plan wide``: the plan printed before training."""
    ap = ArgumentParser(prog="replication sweep plan", description="Print the wide study's plan before it "
                        "trains: its budgets and sizes, each part's runs, executed FLOPs and core-minutes, and "
                        f"the total against {HOURS:g} hours of this {CORES}-core machine.")
    ap.add_argument("study", help="the study: wide")
    ap.add_argument("--budgets", help="comma-separated executed FLOPs of the budgets, increasing (default: "
                                      f"{', '.join(f'{c:.3g}' for c in BUDGETS)})")
    ap.add_argument("--throughput", type=finite_float, metavar="FLOP_PER_S",
                    help="executed FLOP/s of one job on another device (default: this CPU's measured steps)")
    ap.add_argument("--measure", type=int, metavar="STEPS", default=0,
                    help="time STEPS steps at 3 widths on this machine first (default 0: the recorded speeds)")
    ap.add_argument("--json", action="store_true", help="print the parts as JSON")
    a = ap.parse_args(argv)
    if a.study != "wide":
        raise ReplicationError(f"study={a.study!r}: the plan is the wide study's; allowed: wide")
    study = WideStudy() if not a.budgets else WideStudy(budgets=_budgets(a.budgets))
    if a.throughput is not None and not 0 < a.throughput <= 1e18:
        raise ReplicationError(f"--throughput={a.throughput:g} is out of range; allowed: (0, 1e18] FLOP/s")
    check_int("--measure", a.measure, 0, 1000)
    measured = measure_speed(study, steps=a.measure) if a.measure else None
    speed = Speed(measured, a.throughput)
    table = plan(study, speed)
    print(table.to_json(orient="records", indent=1) if a.json else format_plan(study, table, speed))
    return 0


def _budgets(text: str) -> tuple[float, ...]:
    try:
        out = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ReplicationError(f"--budgets={text!r}: give executed FLOPs separated by commas, e.g. 2.5e11,5e11")
    if not all(math.isfinite(c) and 1e6 <= c <= 1e25 for c in out):
        raise ReplicationError(f"--budgets={text!r} is out of range; allowed: each in [1e6, 1e25] FLOPs")
    return out
