"""Where the run store keeps what is not a record: its hidden folders (locks, claims, caches, checkpoints)."""
from __future__ import annotations

from pathlib import Path


def hidden_dir(root: Path, name: str) -> Path:
    """``root/.<name>``, created with a ``.gitignore`` that ignores everything in it."""
    path = Path(root) / f".{name}"
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return path
