"""Training a study's runs as jobs: ``replication sweep <study>`` on this machine or on a SLURM cluster.

The engine is `submitit <https://github.com/facebookincubator/submitit>`_: its local executor runs the
jobs as processes here (``--executor local``, K at a time: the path the book's studies train through,
:func:`replication.sweep.local.get_or_train_many`), its SLURM executor as job arrays. Nothing here
schedules: the sweep plans a design's runs (:mod:`~replication.sweep.designs`), leaves out those finished
in the run store and those another live worker holds, and submits the rest, one job per run
(:func:`~replication.sweep.jobs.train_job`). The run store is where workers meet: a run is trained by the
holder of its claim (:meth:`replication.store.runs.RunStore.claim`), finished runs are never trained
again, and a killed run resumes from its checkpoint when the next sweep submits it again.

- :mod:`~replication.sweep.designs`: each study's designs (``default``, ``smoke``, ...) as configs
- :mod:`~replication.sweep.jobs`: what one job runs on its worker
- :mod:`~replication.sweep.engine`: the local executor and the jobs' records
- :mod:`~replication.sweep.slurm`: the SLURM executor, the jobs' resources, ``--dry-run``
- :mod:`~replication.sweep.status`: finished / running / failed / missing per budget
"""
from __future__ import annotations

from replication.corpus.documents import check_corpus
from replication.errors import check_choice, check_int
from replication.store.runs import RunStore
from replication.sweep import slurm as slurm_executor
from replication.sweep.designs import DESIGNS, STUDIES, Planned, check_design, check_study, plan
from replication.sweep.engine import EXECUTORS, run_local
from replication.sweep.jobs import train_command
from replication.sweep.slurm import SlurmOptions, check_slurm
from replication.sweep.status import run_states, status_table

__all__ = ["DESIGNS", "EXECUTORS", "STUDIES", "Planned", "SlurmOptions", "plan", "run_sweep", "sweep_status"]


def _launch(opts: SlurmOptions) -> dict:
    return {"python": opts.python} if opts.python else {}


def run_sweep(study: str, design: str | None = None, executor: str = "local", runs_dir=None,
              max_parallel: int | None = None, dry_run: bool = False, slurm: SlurmOptions | None = None,
              progress: bool = True, log=None, planned: list[Planned] | None = None) -> dict:
    """Plan ``study``'s ``design``, skip what the store has finished, and submit the rest.

    Returns a report: ``planned``, ``finished`` (before the sweep), ``to_submit``, and, by executor:
    local, ``results`` (run id -> the job's result) and ``failed`` (run id -> last error line); slurm,
    ``job_ids``; a dry run, ``plan`` (the jobs that would be submitted) and nothing written.
    ``planned`` replaces the design's runs (the tests' own configs).
    """
    check_study(study)
    design = check_design(study, design)
    check_choice("--executor", executor, EXECUTORS)
    if max_parallel is not None:
        check_int("--max-parallel", max_parallel, 1)
    slurm = slurm or SlurmOptions()
    say = log or (lambda *a: None)
    store = RunStore(runs_dir)
    planned = planned if planned is not None else plan(study, design, store.root)
    finished = [p for p in planned if store.run(p.run_id).finished]
    todo = [p for p in planned if not store.run(p.run_id).finished]
    report = {"study": study, "design": design, "executor": executor, "runs_dir": str(store.root),
              "planned": len(planned), "finished": len(finished), "to_submit": len(todo)}
    if dry_run:
        if executor == "slurm":
            throughput, source = (slurm.throughput, "--throughput") if slurm.throughput else \
                slurm_executor.measured_throughput(store, gpu=slurm.gpus_per_job > 0)
            arrays = slurm_executor.slurm_arrays(todo, slurm, study, throughput, max_parallel)
            report.update(throughput=throughput, throughput_source=source,
                          plan=slurm_executor.dry_run_plan(arrays, store, study, _launch(slurm)))
        else:
            report["plan"] = [{"index": i, "run_id": p.run_id, "budget": p.budget, "config": p.cfg.identity(),
                               "command": train_command(p.cfg, str(store.root), {})} for i, p in enumerate(todo)]
        return report
    if executor == "slurm":
        check_slurm()  # the engine first: a missing one is the same error whatever is left to train
    store.check_writable()
    if not todo:
        return {**report, "results": {}, "failed": {}, "submitted": 0}
    if executor == "slurm":
        busy = {s.run_id for s in run_states(todo, store) if s.state == "running"}
        send = [p for p in todo if p.run_id not in busy]
        throughput = slurm.throughput or slurm_executor.measured_throughput(store, gpu=slurm.gpus_per_job > 0)[0]
        arrays = slurm_executor.slurm_arrays(send, slurm, study, throughput, max_parallel)
        ids = slurm_executor.submit_slurm(arrays, store, study, _launch(slurm))
        say(f"submitted {len(ids)} jobs in {len(arrays)} array(s); {len(busy)} runs already running")
        return {**report, "submitted": len(ids), "running_elsewhere": len(busy), "job_ids": ids}
    from replication.training.runner import _check_resumable, check_resources  # torch: not for a dry run

    for p in todo:  # every run's checks before any is trained
        check_corpus(p.cfg.corpus)
        check_resources(p.cfg)
        _check_resumable(store.run(p.run_id), store.checkpoint_path(p.run_id), p.cfg)
    out = run_local([p.cfg for p in todo], store, study=study, max_parallel=max_parallel, progress=progress,
                    stop_on_failure=False, log=say)
    return {**report, "submitted": out.submitted, "results": out.results, "failed": out.failed}


def sweep_status(study: str, design: str | None = None, runs_dir=None, planned: list[Planned] | None = None):
    """(each run's :class:`~replication.sweep.status.RunState`, the table of states per budget)."""
    check_study(study)
    design = check_design(study, design)
    store = RunStore(runs_dir)
    planned = planned if planned is not None else plan(study, design, store.root)
    states = run_states(planned, store)
    return states, status_table(states)
