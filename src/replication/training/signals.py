"""Signals while something must not be cut in half: Ctrl-C and SIGTERM held until a write is whole."""
from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM wait until the block ends (they are delivered then, and stop the run as usual).

    An interrupt raised inside ``torch.save`` leaves its zip writer half-closed, and closing it raises a
    RuntimeError instead of the interrupt: a traceback, where the user should read one line saying where
    the run resumes. Held, the signal stops the run right after the checkpoint it was writing. (Python's
    handlers are swapped for a recorder: blocking the signal in this thread would not do, since the
    kernel hands a process's signal to any of its threads, torch's among them, that does not block it.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    previous = {s: h for s, h in previous.items() if h is not None}  # None: a handler not set from Python
    for s in previous:
        signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])
