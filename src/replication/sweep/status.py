"""``replication sweep status``: each planned run finished, running, failed or missing, from the store
(summaries, claims, the runs' logs) and the engine (the last job submitted for the run)."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replication.store.claims import _alive, stale_seconds
from replication.store.runs import RunStore
from replication.sweep.jobs import Planned
from replication.sweep.engine import failure_line, read_record

STATES = ("finished", "running", "failed", "missing")


@dataclass
class RunState:
    run_id: str
    budget: str
    state: str
    detail: str = ""


def _engine_state(rec: dict) -> tuple[str, str]:
    """("running" | "ended" | "unknown", what the engine says) of a recorded job."""
    from submitit.core.utils import JobPaths

    job_id, folder = rec.get("job_id", ""), Path(rec.get("folder", "."))
    paths = JobPaths(folder, job_id=job_id, task_id=0)
    if rec.get("executor") == "local":
        if rec.get("host") != socket.gethostname():
            return "unknown", f"local job {job_id} of host {rec.get('host')}"
        try:
            alive = _alive(int(job_id)) and not paths.result_pickle.is_file()
        except ValueError:
            alive = False
        return ("running" if alive else "ended"), f"local job {job_id}"
    try:
        import submitit

        state = submitit.SlurmJob(folder=folder, job_id=job_id).state  # sacct
    except Exception:  # no sacct here: the result file is all we know
        state = "UNKNOWN"
    state = str(state).upper()
    if state in ("PENDING", "RUNNING", "REQUEUED", "COMPLETING", "CONFIGURING", "SUSPENDED", "RESIZING"):
        return "running", f"SLURM job {job_id} {state}"
    if state == "UNKNOWN" and not paths.result_pickle.is_file():
        return "unknown", f"SLURM job {job_id} (state unknown: no sacct here)"
    return "ended", f"SLURM job {job_id} {state}"


def run_states(planned: list[Planned], store: RunStore) -> list[RunState]:
    """Each planned run's state: finished (a summary), running (a live claim, or a job the engine says is
    pending or running), failed (a stale claim: its worker died; or its last job ended without the run
    finished, with the job's last error line), missing (never submitted, or nothing known)."""
    stale_s = stale_seconds()
    out = []
    for p in planned:
        rid = p.run_id
        if store.run(rid).finished:
            out.append(RunState(rid, p.budget, "finished"))
            continue
        claims = store.claims(rid)
        live = [c for c in claims if not c.stale(stale_s)]
        if live:
            out.append(RunState(rid, p.budget, "running", f"claimed by {live[0].describe()}"))
            continue
        rec = read_record(store, rid)
        engine, what = _engine_state(rec) if rec else ("none", "")
        if engine == "running":
            out.append(RunState(rid, p.budget, "running", what))
            continue
        if claims:  # a claim whose worker stopped beating: it died
            why = "its worker died: stale claim (" + claims[0].describe() + ")"
            if rec:
                why += f"; {what}"
            line = failure_line(store, rid) if store.log_path(rid).is_file() else ""
            out.append(RunState(rid, p.budget, "failed", why + (f"; last error: {line}" if line else "")))
            continue
        if rec and engine == "ended":
            from submitit.core.utils import JobPaths

            pickle = JobPaths(Path(rec["folder"]), job_id=rec["job_id"], task_id=0).result_pickle
            out.append(RunState(rid, p.budget, "failed", f"{what}: {failure_line(store, rid, pickle)}"))
            continue
        out.append(RunState(rid, p.budget, "missing", what))
    return out


def status_table(states: list[RunState]) -> pd.DataFrame:
    """Runs per budget and state."""
    t = pd.DataFrame([{"budget": s.budget, "state": s.state} for s in states])
    if t.empty:
        return pd.DataFrame(columns=["budget", *STATES])
    counts = pd.crosstab(t["budget"], t["state"]).reindex(columns=list(STATES), fill_value=0)
    order = list(dict.fromkeys(s.budget for s in states))
    return counts.reindex(order).reset_index().rename_axis(columns=None)
