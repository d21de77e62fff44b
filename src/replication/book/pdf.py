"""The whole book as one PDF, with no LaTeX: Jupyter Book's single-page build (``singlehtml``, the chapters'
executed notebooks from the same cache as the site's), printed by Debian's chromium.

``replication book --pdf`` (and ``make book``) writes it into the site as :data:`PDF_NAME`, beside the pages,
where the introduction links to it. The math is already HTML (KaTeX, at build time) and the themes hide their
sidebars and buttons in print, so the page prints as it loads.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from replication.book.chapters import toc_chapters
from replication.errors import ReplicationError
from replication.repository import BOOK_DIR, REPO_DIR

PDF_NAME = "chinchilla-replicated.pdf"
SINGLE_PAGE = REPO_DIR / "_build" / "singlehtml"


def single_page_command() -> list[str]:
    """The strict single-page build, into ``_build/singlehtml``."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [str(jupyter_book), "build", str(BOOK_DIR), "--builder", "singlehtml", "--path-output", str(REPO_DIR),
            "-W", "--keep-going"]


def find_chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")  # Debian's, Ubuntu's
    if exe is None:
        raise ReplicationError("the PDF is printed by chromium, which is not installed (`make browser` as root)")
    return exe


def print_pdf(page: Path, out: Path, chromium: str, timeout: float = 300) -> Path:
    """``page`` (in a folder served over http, so that its fonts load as on the site) printed to ``out``."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(page.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            result = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
                 "--virtual-time-budget=20000", "--no-pdf-header-footer", f"--print-to-pdf={out}",
                 f"http://127.0.0.1:{server.server_address[1]}/{page.name}"],
                capture_output=True, text=True, timeout=timeout)
    finally:
        server.shutdown()
    if result.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise ReplicationError(f"chromium could not print {page}: {result.stderr[-1000:]}")
    return out


def build_pdf(site: Path = REPO_DIR / "_build" / "html", env: dict | None = None) -> Path:
    """The single-page build (in the environment ``env``: the site's parameters), printed into
    ``site``/:data:`PDF_NAME`."""
    chromium = find_chromium()
    if subprocess.call(single_page_command(), env=env) != 0:
        raise ReplicationError("the single-page build of the book failed (its output above says why)")
    site.mkdir(parents=True, exist_ok=True)
    root = toc_chapters()[0]  # the single page is the book's root (index.html only redirects to it)
    return print_pdf(SINGLE_PAGE / f"{root}.html", site / PDF_NAME, chromium)
