"""Claims: which worker trains a run, across processes and machines that share one run store.

A worker claims a run by creating its own claim file with ``O_EXCL`` under ``<store>/.claims/`` and touches it
while it trains (a heartbeat); a claim whose heartbeat is older than :func:`stale_seconds`, or whose process is
gone on this machine, is stale: it is reported and taken over. What the store needs from a network filesystem
is said in the README ("Running a study on a cluster").
"""
from __future__ import annotations

import _thread
import json
import math
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from replication.errors import ReplicationError
from replication.store.paths import hidden_dir



def heartbeat_seconds() -> float:
    """How often a claim's holder touches it: ``$REPLICATION_CLAIM_HEARTBEAT_S``, else 30 s."""
    return _env_seconds("REPLICATION_CLAIM_HEARTBEAT_S", 30.0)


def stale_seconds() -> float:
    """How old a claim's heartbeat may be before the claim is stale: ``$REPLICATION_CLAIM_STALE_S``, else
    10 heartbeats (longer than NFS's attribute cache, 60 s at most by default)."""
    return _env_seconds("REPLICATION_CLAIM_STALE_S", 10 * heartbeat_seconds())


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ReplicationError(f"${name}={text!r} is out of range; allowed: seconds > 0")
    return value


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine is running (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunBusy(ReplicationError):
    """Another live worker holds the run's claim."""

    def __init__(self, rid: str, holder: "ClaimInfo"):
        super().__init__(f"run {rid} is being trained by another worker ({holder.describe()})")
        self.holder = holder


@dataclass
class ClaimInfo:
    """A claim file as read: its holder, and its age as measured against ``ref`` (a time on the clock that
    stamps the folder's files)."""

    path: Path
    run_id: str
    holder: dict
    age_s: float

    @classmethod
    def read(cls, path: Path, ref: float) -> "ClaimInfo | None":
        try:
            mtime = path.stat().st_mtime
            holder = json.loads(path.read_text(encoding="utf-8") or "{}")
        except FileNotFoundError:  # released meanwhile
            return None
        except (OSError, ValueError):  # cut short by a death between creation and write: its age decides
            try:
                mtime = path.stat().st_mtime
            except OSError:
                return None
            holder = {}
        if not isinstance(holder, dict):
            holder = {}
        return cls(path, path.name.split(".", 1)[0], holder, ref - mtime)

    def dead(self) -> bool:
        """The holder's process is known to be gone: it ran on this machine (same host and boot) and is not running."""
        h = self.holder
        pid = h.get("pid")
        return (h.get("host") == socket.gethostname() and h.get("boot_id") == _boot_id() and isinstance(pid, int)
                and not _alive(pid))

    def stale(self, stale_s: float) -> bool:
        return self.age_s > stale_s or self.dead()

    def describe(self) -> str:
        h = self.holder
        who = f"host {h.get('host', '?')}, pid {h.get('pid', '?')}"
        if h.get("job"):
            who += f", job {h['job']}"
        if "started" in h:
            who += f", started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(h['started']))}"
        return f"{who}, last heartbeat {max(self.age_s, 0):.0f} s ago"


class Claim:
    """The claim of one run by this process: ``with store.claim(rid): ...``.

    Protocol (safe on any filesystem that gives ``O_EXCL`` creation and one clock for mtimes):

    1. create a claim file of one's own, ``.claims/<rid>.<token>.claim`` (``O_EXCL``, a fresh random
       token), holding host, boot id, pid, start time and the job id;
    2. list the run's claim files: if any other is fresh (touched within ``stale_s`` of one's own, which
       was touched just now, and not left by a process known to be dead), remove one's own and wait
       (or raise :class:`RunBusy`); else remove the stale ones (each reported) and hold the run.

    Two workers that claim at once both see each other's file and both back off (then retry after a
    random pause), so at most one holds the run. The holder touches its file every ``heartbeat_s`` in a
    thread; if the file has gone (taken over as stale while this process was stopped), the main thread is
    interrupted and the run stops at its last checkpoint.
    """

    def __init__(self, store, rid: str, wait: bool = True, log=None, heartbeat_s: float | None = None,
                 stale_s: float | None = None):
        self.store, self.rid, self.wait, self.log = store, rid, wait, log
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else heartbeat_seconds()
        self.stale_s = stale_s if stale_s is not None else stale_seconds()
        self.path: Path | None = None
        self.lost = False
        self.taken_over: list[ClaimInfo] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _create(self) -> Path:
        folder = hidden_dir(self.store.root, "claims")
        path = folder / f"{self.rid}.{uuid.uuid4().hex[:16]}.claim"
        holder = {"run_id": self.rid, "host": socket.gethostname(), "boot_id": _boot_id(), "pid": os.getpid(),
                  "started": time.time(),
                  "job": os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID") or ""}
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, json.dumps(holder, sort_keys=True).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return path

    def acquire(self) -> "Claim":
        pause = min(1.0, self.heartbeat_s)
        while True:
            path = self._create()
            ref = path.stat().st_mtime  # the clock that stamps the folder's files
            others = [ClaimInfo.read(p, ref) for p in path.parent.glob(f"{self.rid}.*.claim") if p != path]
            others = [o for o in others if o is not None]
            live = [o for o in others if not o.stale(self.stale_s)]
            if not live:
                break
            path.unlink(missing_ok=True)
            if not self.wait:
                raise RunBusy(self.rid, live[0])
            time.sleep(pause * (0.5 + random.random()))
        for o in others:
            o.path.unlink(missing_ok=True)
            self.taken_over.append(o)
            if self.log is not None:
                self.log(f"run {self.rid}: took over a stale claim ({o.describe()}; stale after "
                         f"{self.stale_s:g} s or when its process is gone); the run resumes from its checkpoint")
        self.path = path
        self._thread = threading.Thread(target=self._beat, name=f"claim-{self.rid}", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                self.lost = True
                _thread.interrupt_main()  # KeyboardInterrupt in the main thread: the run stops at its checkpoint
                return
            except OSError:  # a passing NFS error: the next beat tries again
                pass

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.path is not None and not self.lost:
            self.path.unlink(missing_ok=True)
        self.path = None

    def __enter__(self) -> "Claim":
        return self.acquire()

    def __exit__(self, exc_type, exc, tb):
        self.release()
        if self.lost and exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            raise ReplicationError(f"run {self.rid}: this worker's claim was taken over as stale (its heartbeat "
                                   f"stopped for more than {self.stale_s:g} s); it stopped, and the worker that "
                                   "took the run over trains it") from None
        return False
