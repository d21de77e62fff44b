"""``replication sweep``: a study's runs as jobs, on this machine or a SLURM cluster (``replication.sweep``).

    replication sweep <study> [--design NAME] [--executor {local,slurm}] [--dry-run] [--max-parallel K] ...
    replication sweep status <study> [--design NAME] [--runs-dir DIR]
    replication sweep plan wide [--budgets C1,C2,...] [--throughput FLOP_PER_S] [--measure STEPS]
"""
from __future__ import annotations

import json
import sys

from replication.errors import ArgumentParser, ReplicationError, check_choice, finite_float
from replication.studies.wide_plan import main as plan_main
from replication.sweep import run_sweep, sweep_status
from replication.sweep.designs import DESIGNS, STUDIES, check_design, check_study
from replication.sweep.engine import EXECUTORS
from replication.sweep.slurm import SlurmOptions

DESCRIPTION = ("Plan a study's runs, leave out those finished in the run store (and those another live worker "
               "trains), and submit the rest as jobs through submitit: K processes here (--executor local, the "
               "default) or a SLURM job array (--executor slurm). `replication sweep status <study>` says which "
               "runs are finished, running, failed or missing; the next sweep resubmits the failed ones, which "
               "resume from their checkpoints. Designs: " +
               "; ".join(f"{s}: {', '.join(d)}" for s, d in DESIGNS.items()) + ".")


def _parser() -> ArgumentParser:
    ap = ArgumentParser(prog="replication sweep", description=DESCRIPTION)
    ap.add_argument("study", help=f"the study: {', '.join(STUDIES)} (or `status <study>`)")
    ap.add_argument("--design", help="the study's design (default: its first, `default`)")
    ap.add_argument("--executor", default="local", help="local (processes on this machine) or slurm (default: local)")
    ap.add_argument("--dry-run", action="store_true", help="print what would be submitted (per job: config, run id, "
                                                           "resources, command) and submit nothing")
    ap.add_argument("--runs-dir", help="run store root (default: $REPLICATION_RUNS_DIR if set, else runs/ of the "
                                       "checkout)")
    ap.add_argument("--max-parallel", type=int, help="jobs at a time (default: local, one per core; slurm, 256)")
    ap.add_argument("--json", action="store_true", help="print the report (or the plan) as JSON")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar (local)")
    s = ap.add_argument_group("SLURM (--executor slurm); time and memory are estimated per run when not given")
    s.add_argument("--partition")
    s.add_argument("--account")
    s.add_argument("--time", type=int, dest="time_min", metavar="MINUTES",
                   help="time limit per job (default: twice the run's FLOPs over the measured throughput, + 10 min)")
    s.add_argument("--cpus-per-job", type=int, help="CPUs per job (default: 2, or 8 per GPU)")
    s.add_argument("--gpus-per-job", type=int, default=0, help="GPUs per job (per node); more than 1 trains "
                                                               "through torchrun (default: 0)")
    s.add_argument("--nodes", type=int, default=1, help="nodes per job: a run across nodes through srun and "
                                                        "torchrun's rendezvous (default: 1)")
    s.add_argument("--mem-gb", type=finite_float, help="memory per job, GB (default: 1.5x the run's estimate + 2 GB)")
    s.add_argument("--constraint", help="node features (#SBATCH --constraint)")
    s.add_argument("--sbatch", action="append", default=[], metavar="LINE",
                   help="an extra #SBATCH line, e.g. --sbatch=--qos=high (repeatable)")
    s.add_argument("--setup", action="append", default=[], metavar="SHELL",
                   help="a shell line run before the job, e.g. --setup='module load cuda' (repeatable)")
    s.add_argument("--throughput", type=finite_float, metavar="FLOP_PER_S",
                   help="FLOP/s of one job for the time estimate (default: measured on the store's finished runs)")
    s.add_argument("--python", help="the Python on the cluster's nodes (default: this one)")
    return ap


def _status_parser() -> ArgumentParser:
    ap = ArgumentParser(prog="replication sweep status", description="Each planned run of a study's design: "
                        "finished, running, failed (with its last error line) or missing, per budget.")
    ap.add_argument("study", help=f"the study: {', '.join(STUDIES)}")
    ap.add_argument("--design", help="the study's design (default: its first, `default`)")
    ap.add_argument("--runs-dir", help="run store root")
    ap.add_argument("--json", action="store_true", help="print each run's state as JSON")
    return ap


def status_main(argv: list[str]) -> int:
    args = _status_parser().parse_args(argv)
    states, table = sweep_status(args.study, args.design, args.runs_dir)
    if args.json:
        print(json.dumps([s.__dict__ for s in states], indent=1))
        return 0
    counts = {k: sum(s.state == k for s in states) for k in ("finished", "running", "failed", "missing")}
    print(f"{args.study}, design {args.design or DESIGNS[args.study][0]}: {len(states)} runs: " +
          ", ".join(f"{v} {k}" for k, v in counts.items()))
    print(table.to_string(index=False))
    for s in states:
        if s.state in ("running", "failed"):
            print(f"{s.state:<8} run {s.run_id} ({s.budget}): {s.detail}")
    if counts["failed"]:
        print(f"`replication sweep {args.study}` resubmits the {counts['failed']} failed run(s); each resumes from "
              "its last checkpoint")
    return 0


def _print_plan(report: dict) -> None:
    print(f"{report['study']}, design {report['design']}: {report['planned']} runs planned, {report['finished']} "
          f"finished in {report['runs_dir']}, {report['to_submit']} to submit ({report['executor']}, dry run)")
    if report["executor"] == "local":
        for job in report["plan"]:
            print(f"job {job['index']}: run {job['run_id']} ({job['budget']})\n  command: {job['command']}")
        return
    print(f"throughput {report['throughput']:.3g} FLOP/s per job ({report['throughput_source']})")
    for arr in report["plan"]:
        print(f"\narray {arr['array']}: {arr['count']} jobs; sbatch file:")
        print("  " + "\n  ".join(arr["sbatch"].splitlines()))
        for job in arr["jobs"]:
            c, r = job["config"], job["resources"]
            m = c["model"]
            print(f"job {arr['array']}.{job['index']}: run {job['run_id']} ({job['budget']})\n"
                  f"  config: d={m['num_channels']} L={m['num_layers']} heads={m['num_heads']} n={m['num_latents']} "
                  f"P={m['num_prefix']} V={m['vocab_size']} batch={c['batch_size']} steps={job['steps']} "
                  f"lr={c['lr']:g} seed={c['seed']} corpus={c['corpus']} tokenizer={c['tokenizer']} "
                  f"flops={job['flops']:.3g}\n"
                  f"  resources: time {r['time_min']} min (estimate {r['estimate_min']:g} min), "
                  f"{r['cpus_per_job']} cpus, {r['gpus_per_job']} gpus, {r['nodes']} node(s), {r['mem_gb']:g} GB\n"
                  f"  command: {job['command']}")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "status":
        return status_main(argv[1:])
    if argv and argv[0] == "plan":
        return plan_main(argv[1:])
    args = _parser().parse_args(argv)
    check_study(args.study)
    check_design(args.study, args.design)
    check_choice("--executor", args.executor, EXECUTORS)
    opts = SlurmOptions(partition=args.partition, account=args.account, time_min=args.time_min,
                        cpus_per_job=args.cpus_per_job, gpus_per_job=args.gpus_per_job, nodes=args.nodes,
                        mem_gb=args.mem_gb, constraint=args.constraint, sbatch=tuple(args.sbatch),
                        setup=tuple(args.setup), throughput=args.throughput, python=args.python)
    if args.executor == "local" and (args.gpus_per_job > 1 or args.nodes > 1):
        raise ReplicationError("--gpus-per-job > 1 and --nodes > 1 are SLURM options; allowed with --executor "
                               "slurm (on one machine, train a large run with torchrun -m replication train)")
    quiet = args.no_progress or args.json
    report = run_sweep(args.study, args.design, args.executor, args.runs_dir, args.max_parallel, args.dry_run, opts,
                       progress=not quiet, log=lambda *a: print(*a, file=sys.stderr))
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    elif args.dry_run:
        _print_plan(report)
    else:
        line = (f"{args.study}, design {report['design']}: {report['planned']} runs planned, {report['finished']} "
                f"were finished, {report['submitted']} submitted")
        if args.executor == "local":
            statuses = [r.get("status") for r in report["results"].values()]
            for s in ("trained", "resumed", "elsewhere"):
                line += f", {statuses.count(s)} {s}"
            line += f", {len(report['failed'])} failed"
        print(line)
    if report.get("failed"):
        for rid, why in report["failed"].items():
            print(f"failed: run {rid}: {why}", file=sys.stderr)
        raise ReplicationError(f"{len(report['failed'])} of {report['to_submit']} runs failed (above); "
                               f"`replication sweep status {args.study}` lists them and the next sweep resubmits them")
    return 0
