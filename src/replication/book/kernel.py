"""One Jupyter kernel for every chapter a site build executes, put back before each chapter to the state a
fresh kernel would be in.

A fresh kernel per chapter spends about two seconds starting and importing numpy, scipy, pandas, matplotlib
and the library before the chapter's first line, and the site executes every chapter. The build keeps one
kernel instead (:class:`SharedKernel`); before each chapter it runs :func:`restore` there: the namespace
emptied (``%reset``), every figure closed, the book's helpers (``_lib``) imported afresh, and matplotlib's
settings, pandas' options, numpy's print options, the warning filters, ``sys.path`` and the working folder
as they were when the kernel had started (:func:`snapshot`). The library's modules stay imported: what they
cache per process they hand out as copies (:func:`replication.memo.per_process`).

``replication run`` still starts a kernel of its own for its one chapter.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

_STATE: dict = {}

#: what the kernel runs before each chapter (the names it defines do not outlive it)
RESET = "%reset -f\nfrom replication.book import kernel as _kernel\n_kernel.restore()\ndel _kernel\n"


def snapshot() -> None:
    """In the kernel, once, before any chapter: what :func:`restore` puts back."""
    import warnings

    import matplotlib as mpl
    import matplotlib.pyplot  # noqa: F401  (the inline backend's settings are part of a fresh kernel's)
    import numpy as np

    _STATE.update(rc=dict(mpl.rcParams), filters=list(warnings.filters), printoptions=np.get_printoptions(),
                  path=list(sys.path), cwd=os.getcwd())


def restore() -> None:
    """In the kernel, before each chapter: the state :func:`snapshot` saw."""
    import warnings

    import matplotlib as mpl
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    plt.close("all")
    dict.update(mpl.rcParams, _STATE["rc"])  # values validated when they were first set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resetting a deprecated option warns
        pd.reset_option("all")
    np.set_printoptions(**_STATE["printoptions"])
    warnings.filters[:] = _STATE["filters"]
    warnings._filters_mutated()
    sys.path[:] = _STATE["path"]
    os.chdir(_STATE["cwd"])
    for name in [m for m in sys.modules if m == "_lib" or m.startswith("_lib.")]:
        del sys.modules[name]
    from IPython import get_ipython

    shell = get_ipython()
    shell.history_manager.reset(new_session=True)  # a new history session, whose cells are numbered from 1,
    shell.execution_count = 1  # as in a kernel of the chapter's own


class SharedKernel:
    """A python3 kernel started in ``cwd`` on first use and kept: :meth:`ready` returns its manager, reset for
    the next chapter (papermill's ``km``); a kernel that died, or that a reset failed on, is started again.
    :meth:`done` stops the kernel clients a chapter opened (nbclient leaves them to the manager's owner). Its
    log goes to a scratch file, as a chapter's own kernel's does
    (:func:`replication.book.execution.execute`). The manager is jupyter_client's asynchronous one, as
    nbclient's own: with it nbclient notices a kernel that dies mid-chapter instead of waiting for its output."""

    def __init__(self, cwd: Path):
        self.cwd = Path(cwd)
        self.km = None
        self._log = None

    def alive(self) -> bool:
        return self.km is not None and _sync(self.km.is_alive)()

    def ready(self):
        if self.alive():
            try:
                self._run(RESET)
                return self.km
            except Exception:  # noqa: BLE001 - a kernel that cannot be reset is replaced
                pass
        self.close()
        self._start()
        return self.km

    def _start(self) -> None:
        from jupyter_client import AsyncKernelManager

        class Manager(AsyncKernelManager):
            def client(self, **kwargs):
                kc = super().client(**kwargs)
                self.opened.append(kc)
                return kc

        self._log = tempfile.TemporaryFile()
        self.km = Manager(kernel_name="python3")
        self.km.opened = []
        _sync(self.km.start_kernel)(cwd=str(self.cwd), stderr=self._log, stdout=self._log)
        self._run("from replication.book import kernel as _kernel\n_kernel.snapshot()\ndel _kernel\n")

    def _run(self, code: str) -> None:
        from jupyter_client import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_info(self.km.get_connection_info())
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            reply = kc.execute_interactive(code, store_history=False, timeout=120, output_hook=lambda msg: None)
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            content = reply["content"]
            raise RuntimeError(f"the shared kernel could not be reset: {content.get('ename')}: "
                               f"{content.get('evalue')}")

    def done(self) -> None:
        """After a chapter: stop the clients it opened."""
        if self.km is not None:
            for kc in self.km.opened:
                kc.stop_channels()
            self.km.opened.clear()

    def close(self) -> None:
        if self.km is not None:
            self.done()
            _sync(self.km.shutdown_kernel)(now=True)
            self.km = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _sync(coroutine_function):
    from jupyter_core.utils import run_sync

    return run_sync(coroutine_function)
