"""Where this checkout's folders are: the one place that finds the repository, from this file's path
(``src/replication/repository.py``: the package's folder, two folders below the root)."""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]
BOOK_DIR = REPO_DIR / "book"
DATA_DIR = REPO_DIR / "data"
TOOLS_DIR = REPO_DIR / "tools"


def is_checkout() -> bool:
    """Whether the library runs from a checkout of the repository (an editable install), where ``runs/``,
    ``data/`` and ``book/`` sit beside it, and not from a copy installed elsewhere."""
    return (REPO_DIR / "pyproject.toml").is_file()
