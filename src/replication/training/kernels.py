"""The CPU kernels for tiny models, built from C++ on first use: fused causal attention (``causal_attention.cpp``,
autograd in :mod:`.attention`) and GELU with its slope (``gelu.cpp``, :mod:`.gelu`), sharing ``kernels.h``.

Their code is C++ against torch's stable interface, so that a compiled graph calls the ops without Python (with
the attention kernels in Python, perf put 0.4 ms more of the width-10 step in the interpreter). The library is
compiled with the machine's C++ compiler on first use (about 4 s) into ``~/.cache/replication/kernels`` (or
``$REPLICATION_KERNEL_CACHE``), under a name that hashes the sources, the flags, the compiler's version, torch's
version and what ``-march=native`` means on this CPU, and written atomically. Without a compiler,
:func:`available` is False (with a warning) and the model keeps its other paths.
"""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch

#: what the library is built from (the header first: it is included, not compiled alone)
SOURCES = tuple(Path(__file__).with_name(name) for name in ("kernels.h", "causal_attention.cpp", "gelu.cpp"))

#: the ops the library implements, defined before it is loaded (their fake kernels and autograd: .attention, .gelu)
LIBRARY = torch.library.Library("replication", "FRAGMENT")
LIBRARY.define("causal_attention(Tensor q, Tensor k, Tensor v) -> (Tensor, Tensor)")
LIBRARY.define("causal_attention_backward(Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor do) "
               "-> (Tensor, Tensor, Tensor)")
LIBRARY.define("gelu(Tensor x) -> (Tensor, Tensor)")


def cache_dir() -> Path:
    return Path(os.environ.get("REPLICATION_KERNEL_CACHE") or Path.home() / ".cache" / "replication" / "kernels")


def _flags() -> list[str]:
    root = Path(os.path.dirname(torch.__file__))  # torch's headers and libraries
    return ["-O3", "-march=native", "-shared", "-fPIC", "-std=c++17", f"-I{root / 'include'}",
            f"-L{root / 'lib'}", f"-Wl,-rpath,{root / 'lib'}", "-ltorch_cpu", "-lc10"]


def _native_target(compiler: str) -> str:
    """What ``-march=native`` means to the compiler on this machine: the key keeps a library built on one CPU
    from being loaded on another (a cache in a shared home folder)."""
    return subprocess.run([compiler, "-march=native", "-Q", "--help=target"], capture_output=True, text=True,
                          timeout=60).stdout


@functools.lru_cache(maxsize=None)
def _build() -> str | None:
    """Builds (once per sources, flags, compiler, torch and CPU) and loads the kernels; None, or why not."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        return "no C++ compiler (g++ or c++) on PATH"
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=60).stdout
        flags = _flags()
        key = "\0".join([*(s.read_text() for s in SOURCES), *flags, version, torch.__version__,
                         _native_target(compiler)])
        target = cache_dir() / f"cpu_kernels-{hashlib.sha256(key.encode()).hexdigest()[:24]}.so"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
                built = Path(tmp) / target.name
                units = [str(s) for s in SOURCES if s.suffix == ".cpp"]
                done = subprocess.run([compiler, *units, "-o", str(built), *flags], capture_output=True,
                                      text=True, timeout=600)
                if done.returncode != 0:
                    return f"{compiler} failed: {done.stderr.strip()[-500:]}"
                os.replace(built, target)  # atomic: a concurrent process never loads a half-written library
        torch.ops.load_library(str(target))
    except Exception as e:  # noqa: BLE001 - whatever fails here, the model runs without the kernels
        return f"{type(e).__name__}: {e}"
    return None


def available() -> bool:
    """Whether the kernels are built and loaded (building them on first use); warns once with the reason if
    they cannot be, and the model then runs without them."""
    reason = _build()
    if reason is not None:
        _warn_unavailable(reason)
    return reason is None


@functools.lru_cache(maxsize=None)
def _warn_unavailable(reason: str) -> None:
    warnings.warn(f"the CPU kernels (fused causal attention, GELU) are unavailable ({reason}); the model runs "
                  "without them", RuntimeWarning, stacklevel=3)
