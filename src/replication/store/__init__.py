"""The run store: recorded training runs on disk (``runs/<id>/``), found by the hash of their config.

Storage only; ``replication.training`` decides what to train and records it here.
"""
from replication.store.runs import Run, RunStore, default_root, hidden_dir, read_metrics, run_id

__all__ = ["Run", "RunStore", "default_root", "hidden_dir", "read_metrics", "run_id"]
