"""Executing a chapter with papermill: for the site build (:func:`execute`), and for ``replication run`` into
its own folder under a lock (:func:`run_chapter`).

Parameters are validated against the chapter's ``parameters`` cell before anything runs or is written, and
written into the chapter as literals by :mod:`replication.book.parameters` (never by papermill's translation).
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from replication.book.cache import cache_key, chapter_helpers
from replication.book.chapters import chapter_path, read_md, read_parameters
from replication.book.parameters import inject_parameters, validate_parameters
from replication.errors import ReplicationError
from replication.files import atomic_write, atomic_write_bytes, atomic_write_text
from replication.repository import BOOK_DIR, REPO_DIR

#: where ``replication run`` writes: ``<chapter>/<key>/`` (the executed notebook, parameters.json, figures/)
CHAPTER_RUNS_DIR = REPO_DIR / "runs" / "chapters"


def execute(path: Path, params: dict, output: Path | None, progress: bool = False, kernel=None):
    """Execute one chapter with papermill (cwd = the chapter's folder); write ``output`` atomically if given.

    The kernel's own log lines (its start-up warnings, a traceback of an interrupt) go to a scratch file, not
    to our stderr: a failure is reported as one line by the caller. The progress bar, when asked for, is
    shown on a terminal only. ``kernel``: a :class:`~replication.book.kernel.SharedKernel` to run in (the
    site build's), else a kernel of the chapter's own.
    """
    import nbformat
    import papermill  # slow to import; only execution needs it

    nb = inject_parameters(read_md(path.read_text()), params)
    if kernel is not None and kernel.cwd.resolve() != path.parent.resolve():
        kernel = None  # the shared kernel works in another folder
    progress = progress and sys.stderr.isatty()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as kernel_log, os.fdopen(os.dup(saved), "w") as terminal:
        os.dup2(kernel_log.fileno(), 2)  # the kernel process inherits fd 2
        try:
            executed = papermill.execute_notebook(
                nb,
                None,
                parameters=None,  # injected above, by our own writer
                kernel_name="python3",
                language="python",
                cwd=str(path.parent),
                progress_bar={"file": terminal} if progress else False,
                log_output=False,
                **({"km": kernel.ready()} if kernel is not None else {}),
            )
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if kernel is not None:
                kernel.done()
    if output is not None:
        with atomic_write(output, "w", encoding="utf-8") as f:
            nbformat.write(executed, f)
    return executed


def run_chapter(name: str, given: dict, book_dir: Path = BOOK_DIR, out_root: Path = CHAPTER_RUNS_DIR,
                progress: bool = True) -> Path:
    """Execute ``name`` with ``given`` parameters; return the folder with the executed notebook.

    The notebook is written last, so a folder holds a notebook only when its figures and
    ``parameters.json`` are complete, and a folder with one is never removed. A folder is written under a
    lock on it (:func:`folder_lock`): a second identical run waits for the first and returns its folder,
    and a folder left without a notebook by a killed run is removed at the next start (only while nobody
    holds its lock). A failed run removes its own folder only.
    """
    path = chapter_path(name, book_dir)
    text = path.read_text()
    params = validate_parameters(name, read_parameters(read_md(text)), given)
    key = cache_key(text, params, helpers=chapter_helpers(text, book_dir))
    out_dir = out_root / name / key
    notebook = out_dir / f"{name}.ipynb"
    if notebook.exists():
        return out_dir
    waiting = f"{name}: waiting for another run with the same parameters" if progress else ""
    with folder_lock(out_dir, wait=True, waiting=waiting):
        if notebook.exists():  # the run we waited for finished it
            return out_dir
        remove_unfinished(out_root / name, name)
        _execute_into(name, path, params, out_dir, progress)
    return out_dir


@contextlib.contextmanager
def folder_lock(folder: Path, wait: bool, waiting: str = ""):
    """Hold an exclusive lock on ``folder`` (created if missing): yields True, or False when ``wait`` is
    off and another process holds it (``waiting``: what to tell a terminal while we wait).

    The lock is the folder's own (``flock`` on it), not a lock file beside it, so nothing but the output is
    ever written. A folder removed while we waited for it (a failed run removes its own) is locked anew:
    after each acquisition the path must still be the folder we hold.
    """
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError as err:
            raise ReplicationError(f"{folder.parent.name}: cannot write the chapter's output to {folder}: "
                                   f"{err.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if waiting and sys.stderr.isatty():
                    print(waiting, file=sys.stderr)
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                held = os.fstat(fd)
                now = os.stat(folder)
                same = (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)
            except OSError:
                same = False
            if same:
                yield True
                return
        finally:
            os.close(fd)  # releases the lock


def _execute_into(name: str, path: Path, params: dict, out_dir: Path, progress: bool) -> None:
    """Execute the chapter into ``out_dir``, whose lock the caller holds: the notebook last."""
    import nbformat
    from papermill.exceptions import PapermillExecutionError

    notebook = out_dir / f"{name}.ipynb"
    for left in out_dir.iterdir():  # what a killed run wrote (the folder itself is the lock: it stays)
        shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(missing_ok=True)
    try:
        nb = execute(path, params, None, progress=progress)
        _write_figures(nb, out_dir / "figures")
        atomic_write_text(out_dir / "parameters.json", json.dumps(params, indent=2) + "\n")
        with atomic_write(notebook, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
    except PapermillExecutionError as err:
        _remove_output(out_dir, notebook)
        raise ReplicationError(f"{name}: cell {err.exec_count} failed: {err.ename}: {err.evalue}") from None
    except BaseException:
        _remove_output(out_dir, notebook)
        raise


def _remove_output(out_dir: Path, notebook: Path) -> None:
    """A failed run leaves nothing of its own: its folder, unless the notebook made it (an interrupt after
    the last write), in which case the run had in fact finished."""
    if not notebook.exists():
        shutil.rmtree(out_dir, ignore_errors=True)


def remove_unfinished(chapter_dir: Path, name: str) -> None:
    """Output folders of ``name`` without a notebook and without a live run holding their lock: what a
    killed run left. A folder being written, and a finished one, are left alone."""
    for folder in chapter_dir.iterdir() if chapter_dir.is_dir() else []:
        if not folder.is_dir() or (folder / f"{name}.ipynb").exists():
            continue
        with contextlib.suppress(ReplicationError), folder_lock(folder, wait=False) as held:
            if held and not (folder / f"{name}.ipynb").exists():  # only a lock holder writes the notebook
                shutil.rmtree(folder, ignore_errors=True)


def _write_figures(nb, folder: Path) -> None:
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                count += 1
                atomic_write_bytes(folder / f"figure-{count:02d}.png", base64.b64decode(data["image/png"]))


def build_command() -> list[str]:
    """The strict site build: warnings are errors; the site lands in ``_build/html`` at the repo root."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [str(jupyter_book), "build", str(BOOK_DIR), "--path-output", str(REPO_DIR), "-W", "--keep-going"]
