"""The ``replication`` command line: one table of subcommands, each a ``main(argv) -> int``.

A subcommand's parser lives in ``replication/cli/<command>.py`` (the benchmarks in ``replication/bench/``)
and is imported only when used, so that ``replication flops`` does not pay for importing torch.
"""
from __future__ import annotations

import importlib
import sys

from replication.errors import ReplicationError

#: name -> (module, function, one-line description)
COMMANDS = {
    "run": ("replication.cli.chapters", "run_main", "execute a chapter with new parameters into runs/chapters/"),
    "book": ("replication.cli.chapters", "book_main", "build the whole book (jupyter-book build book/)"),
    "flops": ("replication.cli.flops", "main", "training FLOPs and parameter counts under each accounting"),
    "train": ("replication.cli.train", "main", "train a Perceiver AR / decoder model into the run store"),
    "fit": ("replication.cli.fit", "main", "fit scaling laws (prefactor, powerlaw, approach1/2/3) to a CSV"),
    "plan": ("replication.cli.plan", "main", "what to train for a budget, a target loss and inference traffic"),
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name, rest = argv[0], argv[1:]
    try:
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
    except KeyboardInterrupt as err:  # Ctrl-C: one line (what was interrupted, where it resumes), exit 130
        print(f"replication {name}: interrupted" + (f": {err}" if str(err) else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
