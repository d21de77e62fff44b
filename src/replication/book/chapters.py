"""The book's chapters: which files they are, their reading order, and their parameters.

A chapter is a MyST-markdown notebook ``book/<name>.md`` with one cell tagged ``parameters``, whose top-level
``name = <literal>`` lines are its defaults. A params file (``{chapter: {name: value}}``) sets them for a
whole build; its values are checked here against those defaults (:mod:`replication.book.parameters`).
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

import yaml

from replication.book.parameters import read_params_file, validate_parameters
from replication.errors import ReplicationError
from replication.repository import BOOK_DIR, REPO_DIR

#: The variable that names a params file for a whole build (``replication book --params`` sets it).
PARAMS_ENV = "REPLICATION_PARAMS"


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
        if is_notebook_text(text) and parameters_cell(read_md(text)) is not None:
            found[path.stem] = path
    return found


def toc_chapters(repo_dir: Path = REPO_DIR) -> list[str]:
    """The book's pages in reading order, from ``_toc.yml`` (the root first)."""
    toc = yaml.safe_load((repo_dir / "_toc.yml").read_text())
    pages = [toc["root"]]
    for entry in [c for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]) for c in part["chapters"]]:
        pages += [entry["file"], *(section["file"] for section in entry.get("sections", []))]
    return pages


def is_notebook_text(text: str) -> bool:
    head = text.split("\n---", 1)[0] if text.startswith("---") else ""
    return "jupytext" in head or "kernelspec" in head


def read_md(text: str):
    """A chapter's text as a notebook (jupytext's MyST reader)."""
    import jupytext  # slow to import; only chapter execution needs it

    return jupytext.reads(text, fmt="md:myst")


def parameters_cell(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) > 1:
        raise ReplicationError("a chapter may have only one cell tagged 'parameters'")
    return cells[0] if cells else None


def read_parameters(nb) -> dict:
    """The defaults of the ``parameters`` cell: every top-level ``name = <literal>``."""
    cell = parameters_cell(nb)
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
    """:func:`~replication.book.parameters.read_params_file`, whose chapters must be the book's."""
    data = read_params_file(path, option)
    unknown = sorted(set(data) - set(chapters()))
    if unknown:
        raise ReplicationError(f"params file {Path(path).name}: unknown chapter {unknown[0]!r}; "
                               f"chapters: {', '.join(sorted(chapters()))}")
    return data


def book_params(path: str | os.PathLike, option: str = "--params") -> dict[str, dict]:
    """A params file for the whole book, every chapter's parameters validated: what ``replication book
    --params`` checks before it builds, and what the Sphinx extension reads from ``$REPLICATION_PARAMS``."""
    return {chapter: validate_parameters(chapter, read_parameters(read_md(chapter_path(chapter).read_text())),
                                         given)
            for chapter, given in load_params_file(path, option).items()}
