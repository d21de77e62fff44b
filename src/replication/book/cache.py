"""The execution cache's key: what a chapter's executed notebook depends on.

A chapter is executed again when its text, its parameters, the library (``src/replication`` and ``data/``),
the run store it reads, or one of its own presentation helpers (the ``book/_lib`` modules it imports) changes;
an edit to one chapter's helper re-executes only the chapters that import it.
"""
from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from replication.book.chapters import read_md
from replication.repository import BOOK_DIR, DATA_DIR, PACKAGE_DIR, REPO_DIR
from replication.store import RunStore

#: book/_lib: presentation helpers of single chapters
HELPERS_PACKAGE = "_lib"


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
    for cell in read_md(text).cells:
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
    h = hashlib.sha256()
    code = sorted(PACKAGE_DIR.rglob("*.py"))
    data = sorted(p for p in DATA_DIR.rglob("*") if p.is_file())  # the committed data sets
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
