"""Signals in training: Ctrl-C and SIGTERM held until a write is whole (:func:`signals_held`), and SIGTERM
turned into an interrupt that stops a run at its last checkpoint (:func:`sigterm_interrupts`)."""
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C: the run stops at its last checkpoint and says where it resumes."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def sigterm_interrupts(replace: bool = False):
    """SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) while the block runs: where nothing else
    handles it (by default it would kill the process silently, and a parent its workers' parent) or,
    with ``replace``, over the handler that is set (a submitit job's only logs it)."""
    if threading.current_thread() is not threading.main_thread() or \
            not replace and signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
