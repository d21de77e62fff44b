"""Add a manifest to the summary.json of every finished run recorded before manifests existed (one-off).

    python tools/add_manifests.py [RUNS_DIR]        (default: the run store's default root, runs/)

The manifest is computed from config.json and metrics.jsonl as they are now; no other field changes and
the file keeps the run store's JSON formatting. Before it vouches for a run it checks what can still be
checked: config.json hashes to the run's id, every metrics line is a well-formed record, and the last
validation record is the summary's final step and loss. A run that fails is reported and left alone.
Runs that already have a manifest are verified. Exit status 0 when every run ends up verified, 1 otherwise.
"""
from __future__ import annotations

import json
import sys

from replication.errors import ReplicationError
from replication.files import write_json
from replication.store import RunStore, manifest, read_json, read_metrics, run_id


def check_unmanifested(run) -> dict:
    """The run's summary, after the checks above; ReplicationError naming what is wrong."""
    text = run.summary_path.read_text(encoding="utf-8")
    summary = read_json(run.summary_path, "a run summary")
    if json.dumps(summary, indent=1, sort_keys=True) + "\n" != text:
        raise ReplicationError(f"{run.summary_path} is not in the run store's JSON format; rewriting it would "
                               "change more than the manifest")
    if run_id(read_json(run.config_path, "a run config")) != run.id or summary.get("run_id") != run.id:
        raise ReplicationError(f"run {run.id}: config.json or summary.json belongs to another run")
    val = [r for r in read_metrics(run.metrics_path) if r["kind"] == "val"]
    if not val or (val[-1]["step"], val[-1]["loss"]) != (summary["steps"], summary["final_val_loss"]):
        raise ReplicationError(f"run {run.id}: {run.metrics_path} does not end with the final validation loss "
                               "of its summary (cut short?)")
    return summary


def main(argv: list[str]) -> int:
    store = RunStore(argv[0] if argv else None)
    added = verified = failed = 0
    for run in store.runs():
        if not run.finished:
            continue
        try:
            if "manifest" in read_json(run.summary_path):
                run.verify()
                verified += 1
                continue
            summary = check_unmanifested(run)
            write_json(run.summary_path, {**summary, "manifest": manifest(run.dir, summary)})
            run.verify()
            added += 1
        except ReplicationError as err:
            print(f"add_manifests: {err}", file=sys.stderr)
            failed += 1
    print(f"{store.root}: manifest added to {added} run(s); {verified} already had one; {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
