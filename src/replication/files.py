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
import stat
from pathlib import Path

from replication.errors import ReplicationError


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


#: The most a user-given input file (a CSV of runs, a params file, a corpus file) may hold.
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_input_bytes(path: Path | str, name: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a file the user named (``name``: the option, e.g. ``--data``), read safely.

    Only a regular file is read: a FIFO would block, a device (``/dev/zero``) never ends, and a symlink to
    one is refused alike (the target is checked, without opening it first). At most ``limit`` bytes are
    read, so a file that grows while it is read cannot exhaust memory either. Errors are one line.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ReplicationError(f"{name}={str(path)!r}: no such file") from None
    except OSError as err:
        raise ReplicationError(f"{name}={str(path)!r}: cannot be read ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ReplicationError(f"{name}={str(path)!r} is not a regular file; allowed: a regular file "
                               f"of at most {limit:,} bytes")
    if info.st_size > limit:
        raise ReplicationError(f"{name}={str(path)!r} has {info.st_size:,} bytes; allowed: at most {limit:,}")
    try:
        # O_NONBLOCK: should the path have been swapped for a FIFO since the stat, open does not hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise ReplicationError(f"{name}={str(path)!r}: cannot be read ({err.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ReplicationError(f"{name}={str(path)!r} is not a regular file; allowed: a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ReplicationError(f"{name}={str(path)!r} has more than {limit:,} bytes; allowed: at most {limit:,}")
    return data


def read_input_text(path: Path | str, name: str, limit: int = MAX_INPUT_BYTES) -> str:
    """:func:`read_input_bytes` decoded as UTF-8, with a one-line error for anything else."""
    try:
        return read_input_bytes(path, name, limit).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ReplicationError(f"{name}={str(path)!r} is not UTF-8 text (byte {err.start}); "
                               f"allowed: a UTF-8 text file") from None
