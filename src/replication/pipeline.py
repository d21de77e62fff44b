"""The book pipeline: chapters are MyST-markdown notebooks executed by papermill.

One source of truth per chapter: ``book/<name>.md``. Two ways to execute it:

* ``jupyter-book build book/`` loads :func:`setup` as a Sphinx extension. Before Sphinx parses a chapter
  (``source-read``), the chapter is executed with papermill and its source is swapped for the executed
  notebook, which myst-nb renders as is (its own execution is off). Executed notebooks are cached under
  ``_build/executed/``, keyed on the chapter text, its parameters, a hash of ``src/replication`` and the set
  of finished runs, so a library edit or a new run re-executes the chapters while an unchanged rebuild
  executes nothing.
* ``replication run <chapter> -p name=value`` executes one chapter with new parameters into
  ``runs/chapters/<chapter>/<key>/`` (the executed notebook, ``parameters.json`` and ``figures/``).

Parameters are validated against the chapter's ``parameters`` cell before anything runs or is written.
A site built from a parameter file: ``REPLICATION_PARAMS=params.yaml jupyter-book build book/`` or
``replication book --params params.yaml``, where the YAML maps chapter names to ``{name: value}``.
"""
from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from replication.errors import ReplicationError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]
BOOK_DIR = REPO_DIR / "book"
CHAPTER_RUNS_DIR = REPO_DIR / "runs" / "chapters"
PARAMS_ENV = "REPLICATION_PARAMS"


# --- chapters and their parameters ---------------------------------------------------------------


def chapter_path(name: str, book_dir: Path = BOOK_DIR) -> Path:
    path = book_dir / f"{name}.md"
    if not path.is_file():
        known = ", ".join(sorted(chapters(book_dir))) or "none"
        raise ReplicationError(f"chapter={name!r} not found in {book_dir.name}/; chapters: {known}")
    return path


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
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ReplicationError(f"params file {path.name}: expected a mapping chapter -> {{name: value}}")
    return data


# --- the execution cache -------------------------------------------------------------------------


def library_hash(runs_dir: Path = REPO_DIR / "runs") -> str:
    """What a chapter reads besides its own text: the library's code and the set of finished runs.

    A finished run never changes, so its id is enough; a newly recorded run re-executes the chapters.
    """
    h = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        h.update(str(path.relative_to(PACKAGE_DIR)).encode())
        h.update(path.read_bytes())
    for summary in sorted(runs_dir.glob("*/summary.json")):
        h.update(summary.parent.name.encode())
    return h.hexdigest()


def cache_key(text: str, params: dict, lib_hash: str | None = None) -> str:
    h = hashlib.sha256()
    h.update(text.encode())
    h.update(json.dumps(params, sort_keys=True, default=repr).encode())
    h.update((lib_hash or library_hash()).encode())
    return h.hexdigest()[:16]


def execute(path: Path, params: dict, output: Path, progress: bool = False):
    """Execute one chapter with papermill (cwd = the chapter's folder); write ``output`` atomically."""
    import nbformat
    import papermill

    nb = _read_md(path.read_text())
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        executed = papermill.execute_notebook(
            nb,
            None,
            parameters=params,
            kernel_name="python3",
            language="python",
            cwd=str(path.parent),
            progress_bar=progress,
            log_output=False,
        )
        nbformat.write(executed, tmp)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
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
    """Execute ``name`` with ``given`` parameters; return the folder with the executed notebook."""
    path = chapter_path(name, book_dir)
    text = path.read_text()
    params = validate_parameters(name, read_parameters(_read_md(text)), given)
    out_dir = out_root / name / cache_key(text, params)
    notebook = out_dir / f"{name}.ipynb"
    if notebook.exists():
        return out_dir
    from papermill.exceptions import PapermillExecutionError

    existed = out_dir.exists()
    try:
        nb = execute(path, params, notebook, progress=progress)
    except PapermillExecutionError as err:
        if not existed:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise ReplicationError(f"{name}: cell {err.exec_count} failed: {err.ename}: {err.evalue}") from None
    (out_dir / "parameters.json").write_text(json.dumps(params, indent=2, default=repr) + "\n")
    _write_figures(nb, out_dir / "figures")
    return out_dir


def _write_figures(nb, folder: Path) -> None:
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                folder.mkdir(parents=True, exist_ok=True)
                count += 1
                (folder / f"figure-{count:02d}.png").write_bytes(base64.b64decode(data["image/png"]))


def cli_run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="replication run",
        description="Execute a chapter with new parameters. Output: runs/chapters/<chapter>/<key>/ "
        "(<chapter>.ipynb, parameters.json, figures/).",
    )
    parser.add_argument("chapter", help="chapter name, e.g. glance (the file book/<chapter>.md)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (a Python literal); repeatable")
    parser.add_argument("--params", metavar="FILE", help="YAML file: {chapter: {name: value}}")
    parser.add_argument("--list", action="store_true", help="print the chapter's parameters and exit")
    args = parser.parse_args(argv)
    path = chapter_path(args.chapter)
    if args.list:
        for name, value in read_parameters(_read_md(path.read_text())).items():
            print(f"{name} = {value!r}")
        return 0
    given = load_params_file(args.params).get(args.chapter, {}) if args.params else {}
    given.update(parse_assignments(args.param))
    out_dir = run_chapter(args.chapter, given)
    print(out_dir)
    return 0


def cli_book(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="replication book", description="Build the whole book (strict).")
    parser.add_argument("--params", metavar="FILE", help="YAML file {chapter: {name: value}} to build with")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.params:
        params = load_params_file(args.params)
        for chapter, given in params.items():
            path = chapter_path(chapter)
            validate_parameters(chapter, read_parameters(_read_md(path.read_text())), given)
        env[PARAMS_ENV] = str(Path(args.params).resolve())
    return subprocess.call(build_command(), env=env)


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
    return cache_key(text, params, app.env.replication_lib_hash), params


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
    app.env.replication_keys[docname] = key
    source[0] = nbformat.writes(nb)


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("source-read", _on_source_read)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
