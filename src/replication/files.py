"""The one way the library writes a file that others read: atomically.

A reader (another process, a resumed run, a build after a crash) sees the old file or the new one, never
half of one: the data goes to a temporary file in the same folder (so the final rename cannot cross
file systems), is fsynced, then renamed over the target with ``os.replace``. A failed write leaves the
target as it was and no temporary file behind.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "w", encoding: str | None = None):
    """``with atomic_write(path, "wb") as f: ...``: ``f`` is the temporary file; ``path`` is replaced
    when the block ends without an exception. Missing parent folders are created."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode={mode!r}; atomic_write writes whole files: 'w' or 'wb'")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, encoding=encoding if mode == "w" else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: Path | str, obj) -> None:
    """``obj`` as indented JSON with sorted keys (the run store's config.json and summary.json)."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")
