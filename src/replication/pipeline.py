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

Parameters are validated against the chapter's ``parameters`` cell before anything runs or is written.
A site built from a parameter file: ``REPLICATION_PARAMS=params.yaml jupyter-book build book/`` or
``replication book --params params.yaml``, where the YAML maps chapter names to ``{name: value}``.
"""
from __future__ import annotations

import ast
import base64
import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path

from replication import site
from replication.errors import ReplicationError
from replication.files import atomic_write, atomic_write_bytes, atomic_write_text

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


def _type_name(value) -> str:
    return "float" if isinstance(value, float) else type(value).__name__


def validate_parameters(chapter: str, defaults: dict, given: dict) -> dict:
    """Check names and types of ``given`` against ``defaults``; return the coerced values."""
    checked = {}
    for name, value in given.items():
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            raise ReplicationError(f"{chapter}: unknown parameter {name!r}; parameters: {known}")
        default = defaults[name]
        if isinstance(value, str) and not isinstance(default, str) and default is not None:
            value = _parse_value(value)
        if _has_non_finite(value) or (isinstance(value, str) and not isinstance(default, str)
                                      and value.strip().lstrip("+-").lower() in ("inf", "infinity", "nan")):
            raise ReplicationError(f"{chapter}: parameter {name!r} must be finite, got {value!r}")
        if default is None or value is None:
            checked[name] = value
        elif isinstance(default, bool) or isinstance(value, bool):
            if type(value) is not type(default):
                raise ReplicationError(f"{chapter}: parameter {name!r} expects {_type_name(default)}, got {value!r}")
            checked[name] = value
        elif isinstance(default, float) and isinstance(value, (int, float)):
            checked[name] = float(value)
        elif isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            checked[name] = type(default)(value)
        elif type(value) is type(default):
            checked[name] = value
        else:
            raise ReplicationError(f"{chapter}: parameter {name!r} expects {_type_name(default)}, got {value!r}")
    return checked


def _has_non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(v) for v in value)
    return False


def _parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignments(pairs: list[str]) -> dict:
    given = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ReplicationError(f"-p expects name=value, got {pair!r}")
        given[name.strip()] = _parse_value(value.strip())
    return given


def load_params_file(path: str | os.PathLike) -> dict[str, dict]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ReplicationError(f"params file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise ReplicationError(f"params file {path.name}: not valid YAML text{at}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ReplicationError(f"params file {path.name}: expected a mapping chapter -> {{name: value}}")
    unknown = sorted(set(map(str, data)) - set(chapters()))
    if unknown:
        raise ReplicationError(f"params file {path.name}: unknown chapter {unknown[0]!r}; "
                               f"chapters: {', '.join(sorted(chapters()))}")
    return data


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

    nb = _read_md(path.read_text())
    progress = progress and sys.stderr.isatty()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as kernel_log, os.fdopen(os.dup(saved), "w") as terminal:
        os.dup2(kernel_log.fileno(), 2)  # the kernel process inherits fd 2
        try:
            executed = papermill.execute_notebook(
                nb,
                None,
                parameters=params,
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
    """Make the injected-parameters cell visible as such: a note above it lists what changed."""
    import nbformat

    for i, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            shown = ", ".join(f"`{k} = {v!r}`" for k, v in params.items())
            note = nbformat.v4.new_markdown_cell(
                f"```{{note}}\nThis page was executed with parameters that differ from the chapter's "
                f"defaults: {shown}. They are set in the cell below.\n```"
            )
            note.metadata["tags"] = ["injected-parameters-note"]
            nb.cells.insert(i, note)
            return


# --- ``replication run`` and ``replication book`` --------------------------------------------------


def run_chapter(name: str, given: dict, book_dir: Path = BOOK_DIR, out_root: Path = CHAPTER_RUNS_DIR,
                progress: bool = True) -> Path:
    """Execute ``name`` with ``given`` parameters; return the folder with the executed notebook.

    The notebook is written last, so a folder holds a notebook only when its figures and
    ``parameters.json`` are complete; folders left without one by a failed or killed run are removed at
    the next start.
    """
    path = chapter_path(name, book_dir)
    text = path.read_text()
    params = validate_parameters(name, read_parameters(_read_md(text)), given)
    out_dir = out_root / name / cache_key(text, params, helpers=chapter_helpers(text, book_dir))
    notebook = out_dir / f"{name}.ipynb"
    if notebook.exists():
        return out_dir
    _remove_unfinished(out_root / name, name)
    from papermill.exceptions import PapermillExecutionError

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / ".running").write_text(str(os.getpid()))  # also proves the folder is writable
    except OSError as err:
        raise ReplicationError(f"{name}: cannot write the chapter's output to {out_dir}: {err.strerror}") from None
    try:
        nb = execute(path, params, None, progress=progress)
        _write_figures(nb, out_dir / "figures")
        atomic_write_text(out_dir / "parameters.json", json.dumps(params, indent=2, default=repr) + "\n")
        with atomic_write(notebook, "w", encoding="utf-8") as f:
            import nbformat

            nbformat.write(nb, f)
        (out_dir / ".running").unlink()
    except PapermillExecutionError as err:
        _remove_output(out_dir)
        raise ReplicationError(f"{name}: cell {err.exec_count} failed: {err.ename}: {err.evalue}") from None
    except BaseException:
        _remove_output(out_dir)
        raise
    return out_dir


def _remove_output(out_dir: Path) -> None:
    """A failed run leaves nothing: its folder, and the chapter's folder if nothing else is in it."""
    shutil.rmtree(out_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        out_dir.parent.rmdir()


def _remove_unfinished(chapter_dir: Path, name: str) -> None:
    """Output folders of ``name`` without a notebook, and not being written by a live process, are what a
    failed or killed run left behind."""
    if not chapter_dir.is_dir():
        return
    for folder in chapter_dir.iterdir():
        if folder.is_dir() and not (folder / f"{name}.ipynb").exists() and not _running_elsewhere(folder):
            shutil.rmtree(folder, ignore_errors=True)


def _running_elsewhere(folder: Path) -> bool:
    try:
        pid = int((folder / ".running").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid != os.getpid()


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
    app.env.replication_params = load_params_file(path) if path else {}
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
