"""The run store: recorded training runs on disk (``runs/<id>/``), found by the hash of their config.

Storage only; ``replication.training`` decides what to train and records it here. A finished run's
summary carries a manifest of its files, which every reader checks (``reading``).
"""
from replication.store.reading import MANIFEST_FILES, MIGRATION, manifest, read_json, read_metrics
from replication.store.runs import Run, RunStore, default_root, hidden_dir, run_id

__all__ = ["MANIFEST_FILES", "MIGRATION", "Run", "RunStore", "default_root", "hidden_dir", "manifest", "read_json",
           "read_metrics", "run_id"]
