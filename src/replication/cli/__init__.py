"""The ``replication`` command line: one table of subcommands, each a ``main(argv) -> int``.

A subcommand's parser lives in ``replication/cli/<command>.py`` (the benchmarks in ``replication/bench/``)
and is imported only when used, so that ``replication flops`` does not pay for importing torch.

Exit status: 0 done, 2 a bad input or an impossible request (one line on stderr), 130 interrupted by Ctrl-C
(SIGINT), 143 stopped by SIGTERM (``kill``, a scheduler's time limit). Ctrl-C and SIGTERM alike print one
line saying what stopped and, for training, the checkpoint it resumes from.
"""
from __future__ import annotations

import contextlib
import importlib
import signal
import sys
import threading

from replication.errors import ReplicationError

#: name -> (module, function, one-line description)
COMMANDS = {
    "run": ("replication.cli.chapters", "run_main", "execute a chapter with new parameters into runs/chapters/"),
    "book": ("replication.cli.chapters", "book_main", "build the whole book (jupyter-book build book/)"),
    "flops": ("replication.cli.flops", "main", "training FLOPs and parameter counts under each accounting"),
    "train": ("replication.cli.train", "main", "train a Perceiver AR / decoder model into the run store"),
    "fit": ("replication.cli.fit", "main", "fit scaling laws (prefactor, powerlaw, approach1/2/3) to a CSV"),
    "plan": ("replication.cli.plan", "main", "what to train for a budget, a target loss and inference traffic"),
    "sweep": ("replication.cli.sweep", "main", "a study's runs as jobs (submitit: local or SLURM); sweep status"),
}

#: ``replication bench <name>``
BENCHES: dict[str, tuple[str, str, str]] = {
    "train": ("replication.bench.train", "main", "training throughput vs peers (tiny, small)"),
    "gpu": ("replication.bench.gpu", "main", "GPU throughput, MFU, bf16 vs fp32, DDP: a record in runs/gpu/"),
    "fit": ("replication.bench.fit", "main", "Approach-3 grid fit: ours vs a plain scipy loop"),
    "study": ("replication.bench.study", "main", "CPU-scale study's training step: sdpa vs manual, compile, no fill"),
}


def _usage() -> str:
    lines = ["usage: replication <command> [options]", "", "commands:"]
    lines += [f"  {name:<8} {desc}" for name, (_, _, desc) in COMMANDS.items()]
    if BENCHES:
        lines.append(f"  {'bench':<8} benchmarks: " + ", ".join(BENCHES))
    lines.append("\n`replication <command> --help` describes each one.")
    return "\n".join(lines)


def _dispatch(table, name, argv):
    module, func, _ = table[name]
    return getattr(importlib.import_module(module), func)(argv)


@contextlib.contextmanager
def _sigterm_as_interrupt(received: list):
    """While a command runs, SIGTERM raises KeyboardInterrupt (appending to ``received``), so that it
    stops the way Ctrl-C does, at the last checkpoint with one line, instead of killing the process
    silently."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    terminated: list[int] = []
    try:
        with _sigterm_as_interrupt(terminated):
            if name == "bench":
                if not rest or rest[0] not in BENCHES:
                    choices = ", ".join(BENCHES) or "none yet"
                    raise ReplicationError(f"bench: choose one of: {choices}")
                return _dispatch(BENCHES, rest[0], rest[1:]) or 0
            if name not in COMMANDS:
                raise ReplicationError(f"unknown command {name!r}; choose one of: {', '.join(COMMANDS)}, bench")
            return _dispatch(COMMANDS, name, rest) or 0
    except ReplicationError as err:
        print(f"replication {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: one line (what stopped, where it resumes)
        how = "terminated" if terminated else "interrupted"
        print(f"replication {name}: {how}" + (f": {err}" if str(err) else ""), file=sys.stderr)
        return 128 + signal.SIGTERM if terminated else 130


if __name__ == "__main__":
    sys.exit(main())
