"""The book pipeline: chapters are MyST-markdown notebooks executed by papermill.

One source of truth per chapter: ``book/<name>.md``. Two ways to execute it:

* ``jupyter-book build book/`` loads :func:`setup` as a Sphinx extension. Before Sphinx parses a chapter
  (``source-read``), the chapter is executed with papermill and its source is swapped for the executed
  notebook, which myst-nb renders as is (its own execution is off). Executed notebooks are cached under
  ``_build/executed/``, keyed on the chapter text, its parameters, a hash of ``src/replication``, the set
  of finished runs and the chapter's own presentation helpers (the ``book/_lib`` modules it imports), so a
  library edit or a new run re-executes the chapters, a helper edit re-executes the chapters that import it,
  and an unchanged rebuild executes nothing.
* ``replication run <chapter> -p name=value`` executes one chapter with new parameters into
  ``runs/chapters/<chapter>/<key>/`` (the executed notebook, ``parameters.json`` and ``figures/``).

Parameters are validated against the chapter's ``parameters`` cell before anything runs or is written, and
written into the chapter as literals by :mod:`replication.parameters` (never by papermill's translation).
A site built from a parameter file: ``REPLICATION_PARAMS=params.yaml jupyter-book build book/`` or
``replication book --params params.yaml``, where the YAML maps chapter names to ``{name: value}``.
"""
from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from replication.book import site
from replication.errors import ReplicationError
from replication.files import atomic_write, atomic_write_bytes, atomic_write_text
from replication.parameters import (inject_parameters, parse_assignments,  # noqa: F401 (the CLI imports them here)
                                    read_params_file, validate_parameters)

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]
BOOK_DIR = REPO_DIR / "book"
CHAPTER_RUNS_DIR = REPO_DIR / "runs" / "chapters"
PARAMS_ENV = "REPLICATION_PARAMS"


# --- chapters and their parameters ---------------------------------------------------------------


def chapter_path(name: str, book_dir: Path = BOOK_DIR) -> Path:
    """The file of chapter ``name``: one of the book's executable chapters, never any other path."""
    found = chapters(book_dir)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ReplicationError(f"chapter={name!r} not found in {book_dir.name}/; chapters: {known}")
    return found[name]


def chapters(book_dir: Path = BOOK_DIR) -> dict[str, Path]:
    """Executable chapters: markdown notebooks with a ``parameters`` cell."""
    found = {}
    for path in sorted(book_dir.glob("*.md")):
        text = path.read_text()
        if is_notebook_text(text) and _parameters_cell(_read_md(text)) is not None:
            found[path.stem] = path
    return found


def is_notebook_text(text: str) -> bool:
    head = text.split("\n---", 1)[0] if text.startswith("---") else ""
    return "jupytext" in head or "kernelspec" in head


def _read_md(text: str):
    import jupytext

    return jupytext.reads(text, fmt="md:myst")


def _parameters_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) > 1:
        raise ReplicationError("a chapter may have only one cell tagged 'parameters'")
    return cells[0] if cells else None


def read_parameters(nb) -> dict:
    """The defaults of the ``parameters`` cell: every top-level ``name = <literal>``."""
    cell = _parameters_cell(nb)
    if cell is None:
        return {}
    params = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                params[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise ReplicationError(
                    f"parameter {node.targets[0].id!r}: a parameters cell holds literals only"
                ) from None
    return params


def load_params_file(path: str | os.PathLike, option: str = "--params") -> dict[str, dict]:
    """:func:`~replication.parameters.read_params_file`, whose chapters must be the book's."""
    data = read_params_file(path, option)
    unknown = sorted(set(data) - set(chapters()))
    if unknown:
        raise ReplicationError(f"params file {Path(path).name}: unknown chapter {unknown[0]!r}; "
                               f"chapters: {', '.join(sorted(chapters()))}")
    return data


def book_params(path: str | os.PathLike, option: str = "--params") -> dict[str, dict]:
    """A params file for the whole book, every chapter's parameters validated: what ``replication book
    --params`` checks before it builds, and what the Sphinx extension reads from ``$REPLICATION_PARAMS``."""
    return {chapter: validate_parameters(chapter, read_parameters(_read_md(chapter_path(chapter).read_text())),
                                         given)
            for chapter, given in load_params_file(path, option).items()}


# --- the execution cache -------------------------------------------------------------------------

HELPERS_PACKAGE = "_lib"  # book/_lib: presentation helpers of single chapters


def toc_chapters(repo_dir: Path = REPO_DIR) -> list[str]:
    """The book's pages in reading order, from ``_toc.yml`` (the root first)."""
    import yaml

    toc = yaml.safe_load((repo_dir / "_toc.yml").read_text())
    pages = [toc["root"]]
    for entry in [c for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]) for c in part["chapters"]]:
        pages += [entry["file"], *(section["file"] for section in entry.get("sections", []))]
    return pages


def _helpers_imported(source: str) -> set[str]:
    """Names of the ``book/_lib`` modules that ``source`` imports (``from _lib import x``, or, inside
    ``_lib``, ``from . import x`` / ``from .x import y``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics imports no helper
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".")
            if node.level == 0 and parts[0] == HELPERS_PACKAGE:
                found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
            elif node.level == 1:
                found |= {parts[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith(HELPERS_PACKAGE + ".")}
    return found


def chapter_helpers(text: str, book_dir: Path = BOOK_DIR) -> list[Path]:
    """The helper files a chapter depends on: the ``_lib`` modules its code imports, and theirs."""
    helpers_dir = book_dir / HELPERS_PACKAGE
    todo, seen = set(), set()
    for cell in _read_md(text).cells:
        if cell.cell_type == "code":
            todo |= _helpers_imported(cell.source)
    while todo:
        name = todo.pop()
        path = helpers_dir / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo |= _helpers_imported(path.read_text())
    init = helpers_dir / "__init__.py"
    return sorted({helpers_dir / f"{name}.py" for name in seen} | ({init} if seen and init.is_file() else set()))


def library_hash(runs_dir: Path | None = None) -> str:
    """What every chapter reads besides its own text: the library's code, the data sets in ``data/`` and the
    run store it reads.

    The store counts by its location (``$REPLICATION_RUNS_DIR`` or ``runs/``) and the manifests of its
    finished runs (:meth:`RunStore.fingerprint`, which also verifies them): a newly recorded run, another
    store or a damaged one re-executes the chapters (or stops the build with the damaged file's name).
    """
    from replication.store import RunStore

    h = hashlib.sha256()
    code = sorted(PACKAGE_DIR.rglob("*.py"))
    data = sorted(p for p in (REPO_DIR / "data").rglob("*") if p.is_file())  # the committed data sets
    for path in code + data:
        h.update(str(path.relative_to(REPO_DIR)).encode())
        h.update(path.read_bytes())
    store = RunStore(runs_dir)
    h.update(store.fingerprint().encode())
    for record in sorted(store.root.glob("gpu/*.json")):  # replication bench gpu's records
        h.update(record.read_bytes())
    return h.hexdigest()


def cache_key(text: str, params: dict, lib_hash: str | None = None, helpers: list[Path] = ()) -> str:
    """The chapter's text and parameters, the library, and the chapter's own helpers (only those)."""
    h = hashlib.sha256()
    h.update(text.encode())
    h.update(json.dumps(params, sort_keys=True, default=repr).encode())
    h.update((lib_hash or library_hash()).encode())
    for path in helpers:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def execute(path: Path, params: dict, output: Path | None, progress: bool = False):
    """Execute one chapter with papermill (cwd = the chapter's folder); write ``output`` atomically if given.

    The kernel's own log lines (its start-up warnings, a traceback of an interrupt) go to a scratch file, not
    to our stderr: a failure is reported as one line by the caller. The progress bar, when asked for, is
    shown on a terminal only.
    """
    import tempfile

    import nbformat
    import papermill

    nb = inject_parameters(_read_md(path.read_text()), params)
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
            )
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
    if output is not None:
        with atomic_write(output, "w", encoding="utf-8") as f:
            nbformat.write(executed, f)
    return executed


def _label_injected(nb, params: dict) -> None:
    """Make the injected-parameters cell visible as such: a note above it lists what changed. The values
    are shown as code (:func:`site.code_span`): a backtick, ``<script>`` or a directive in one is text."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            shown = ", ".join(site.code_span(f"{k} = {site.literal(v)}") for k, v in params.items())
            note = nbformat.v4.new_markdown_cell(site.admonition(
                "{note}", f"This page was executed with parameters that differ from the chapter's "
                f"defaults: {shown}. They are set in the cell below."))
            note.metadata["tags"] = ["injected-parameters-note"]
            nb.cells.insert(i, note)
            return


# --- ``replication run`` and ``replication book`` --------------------------------------------------


def run_chapter(name: str, given: dict, book_dir: Path = BOOK_DIR, out_root: Path = CHAPTER_RUNS_DIR,
                progress: bool = True) -> Path:
    """Execute ``name`` with ``given`` parameters; return the folder with the executed notebook.

    The notebook is written last, so a folder holds a notebook only when its figures and
    ``parameters.json`` are complete, and a folder with one is never removed. A folder is written under a
    lock on it (:func:`_folder_lock`): a second identical run waits for the first and returns its folder,
    and a folder left without a notebook by a killed run is removed at the next start (only while nobody
    holds its lock). A failed run removes its own folder only.
    """
    path = chapter_path(name, book_dir)
    text = path.read_text()
    params = validate_parameters(name, read_parameters(_read_md(text)), given)
    key = cache_key(text, params, helpers=chapter_helpers(text, book_dir))
    out_dir = out_root / name / key
    notebook = out_dir / f"{name}.ipynb"
    if notebook.exists():
        return out_dir
    waiting = f"{name}: waiting for another run with the same parameters" if progress else ""
    with _folder_lock(out_dir, wait=True, waiting=waiting):
        if notebook.exists():  # the run we waited for finished it
            return out_dir
        _remove_unfinished(out_root / name, name)
        _execute_into(name, path, params, out_dir, progress)
    return out_dir


@contextlib.contextmanager
def _folder_lock(folder: Path, wait: bool, waiting: str = ""):
    """Hold an exclusive lock on ``folder`` (created if missing): yields True, or False when ``wait`` is
    off and another process holds it (``waiting``: what to tell a terminal while we wait).

    The lock is the folder's own (``flock`` on it), not a lock file beside it, so nothing but the output is
    ever written. A folder removed while we waited for it (a failed run removes its own) is locked anew:
    after each acquisition the path must still be the folder we hold.
    """
    import fcntl

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


def _remove_unfinished(chapter_dir: Path, name: str) -> None:
    """Output folders of ``name`` without a notebook and without a live run holding their lock: what a
    killed run left. A folder being written, and a finished one, are left alone."""
    for folder in chapter_dir.iterdir() if chapter_dir.is_dir() else []:
        if not folder.is_dir() or (folder / f"{name}.ipynb").exists():
            continue
        with contextlib.suppress(ReplicationError), _folder_lock(folder, wait=False) as held:
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


# --- the Sphinx extension --------------------------------------------------------------------------


def read_notebook(text: str):
    """myst-nb reader for ``.md``: executed notebooks arrive as JSON, anything else as MyST markdown."""
    import nbformat

    if text.lstrip().startswith("{"):
        return nbformat.reads(text, as_version=4)
    return _read_md(text)


def _on_builder_inited(app) -> None:
    app.env.replication_lib_hash = library_hash()
    path = os.environ.get(PARAMS_ENV)
    app.env.replication_params = book_params(path, PARAMS_ENV) if path else {}
    if not hasattr(app.env, "replication_keys"):
        app.env.replication_keys = {}


def _chapter_key(app, docname: str) -> tuple[str, dict] | None:
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md" or not path.exists():
        return None
    text = path.read_text()
    if not is_notebook_text(text):
        return None
    params = validate_parameters(docname, read_parameters(_read_md(text)),
                                 app.env.replication_params.get(docname, {}))
    helpers = chapter_helpers(text, path.parent)
    return cache_key(text, params, app.env.replication_lib_hash, helpers), params


def _on_env_get_outdated(app, env, added, changed, removed):
    """Re-read chapters whose library or parameters changed though their source did not."""
    stale = []
    for docname in env.found_docs - added - changed:
        found = _chapter_key(app, docname)
        if found and env.replication_keys.get(docname) != found[0]:
            stale.append(docname)
    return stale


def _on_source_read(app, docname: str, source: list[str]) -> None:
    from sphinx.util import logging

    import nbformat

    found = _chapter_key(app, docname)
    if not found:
        return
    key, params = found
    cached = Path(app.outdir).parent / "executed" / f"{docname}-{key}.ipynb"
    if cached.exists():
        nb = nbformat.read(cached, as_version=4)
    else:
        logging.getLogger(__name__).info(f"[replication] executing {docname} with papermill")
        path = Path(app.env.doc2path(docname))
        nb = execute(path, params, cached)
    if params:
        _label_injected(nb, params)
    site.add_rerun_note(nb, docname, read_parameters(nb))
    app.env.replication_keys[docname] = key
    source[0] = nbformat.writes(nb)


def setup(app):
    site.setup(app)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("source-read", _on_source_read)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
