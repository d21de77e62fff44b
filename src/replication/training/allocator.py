"""Keep freed memory in the process, so that a CPU training step does not fault its buffers in again.

A training step at the CPU study's shapes allocates and frees the same buffers on every step (the attention
scores of a layer alone are 1 MB). glibc's malloc serves blocks this large with ``mmap`` and returns them on
``free`` (or trims the heap's top), so every step faults the pages in again and the kernel zeroes them: at
d = 10, ``perf`` put 18% of the compiled step's samples in the kernel's page-fault path. Serving blocks up
to 32 MB from the heap and never trimming it keeps the pages mapped: the compiled step took 5.77-5.79 ms
instead of 6.04-7.70 ms at d = 10 and 8.37-8.65 ms instead of 9.36-10.46 ms at d = 24 (400 steps each,
three processes of each, alternating, on one thread). The results do not change: only where memory comes
from does.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20  # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit)
TRIM_THRESHOLD = 1 << 30

_retained: bool | None = None  # None until tried


def retain_freed_memory() -> bool:
    """Tell glibc's malloc to keep blocks under 32 MB on its heap and not to give the heap's top back; once
    per process. False where the C library is not glibc (nothing is changed there); it never raises."""
    global _retained
    if _retained is None:
        _retained = False
        try:
            name = ctypes.util.find_library("c")
            libc = ctypes.CDLL(name) if name else None
            mallopt = getattr(libc, "mallopt", None)
            if mallopt is not None and getattr(libc, "gnu_get_libc_version", None) is not None:  # not musl, macOS
                _retained = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
                    bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        except Exception:  # a C library ctypes cannot load: leave malloc as it is
            _retained = False
    return _retained
