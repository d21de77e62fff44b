"""Slow, deterministic results kept on disk between processes: computed once, read by every later caller.

The book's chapters run in separate kernels and the test suite in separate workers, and several of them ask for
the same expensive result (the refit of the paper's Figure 4 with thousands of bootstrap resamples). A result is
kept as plain JSON (numbers, strings, booleans, None, lists, tuples and string-keyed dicts of those: nothing is
unpickled), under a key made of its name, its arguments and a hash of the library's code and data sets, so an
edit to either computes it again. A process that finds another computing the same key waits for it.

The folder is ``$REPLICATION_RESULTS_DIR`` if set (the tests give each run of the suite its own), else
``~/.cache/replication/results``.
"""
from __future__ import annotations

import copy
import fcntl
import functools
import hashlib
import inspect
import json
import math
import os
from pathlib import Path

import numpy as np

from replication.files import atomic_write_text
from replication.repository import DATA_DIR, PACKAGE_DIR

ENV = "REPLICATION_RESULTS_DIR"
_TUPLE = "__tuple__"


def folder() -> Path:
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "replication" / "results")


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 of the library's code and the committed data sets (what a kept result was computed from)."""
    h = hashlib.sha256()
    files = sorted(PACKAGE_DIR.rglob("*.py")) + sorted(p for p in DATA_DIR.rglob("*") if p.is_file())
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def digest(*arrays) -> str:
    """A content hash of numpy arrays (dtype, shape and bytes), for a key of :func:`kept` made from data."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _encode(value):
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value) or _TUPLE in value:
            raise TypeError(f"memo keeps dicts with string keys only, not {list(value)[:3]}")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    raise TypeError(f"memo keeps plain values only, not {type(value).__name__}")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if _TUPLE in value:
            return tuple(_decode(v) for v in value[_TUPLE])
        if "__float__" in value:
            return float(value["__float__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def kept(name: str, args: dict, compute):
    """``compute()``'s plain result for ``name`` at ``args``: read from disk when kept there, else computed
    (once across processes: the others wait) and kept. A damaged file is computed again."""
    key = hashlib.sha256(json.dumps([name, _encode(args), source_hash()], sort_keys=True).encode()).hexdigest()
    root = folder()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}-{key[:20]}.json"
    if path in _computing:  # asked again from inside its own computation: the outer call keeps it
        return _decode(_encode(compute()))
    with open(root / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _decode(json.loads(path.read_text())["value"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        _computing.add(path)
        try:
            value = _encode(compute())
        finally:
            _computing.discard(path)
        atomic_write_text(path, json.dumps({"name": name, "args": _encode(args), "value": value}))
        return _decode(value)


#: keys this process is computing now (a second flock on the same file from the same process would wait forever)
_computing: set[Path] = set()


def per_process(maxsize: int | None = 4):
    """``functools.lru_cache`` that hands every caller its own deep copy: a cached DataFrame or fit that one
    caller edits stays as computed for the next. A call is keyed by its arguments bound to the signature, so
    ``f(4000)``, ``f(4000, 0)`` and ``f(resamples=4000)`` share one entry."""
    def wrap(function):
        cached = functools.lru_cache(maxsize=maxsize)(function)
        signature = inspect.signature(function)

        @functools.wraps(function)
        def copied(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return copy.deepcopy(cached(*bound.args, **bound.kwargs))

        copied.cache_clear = cached.cache_clear
        return copied
    return wrap
