"""The Sphinx extension: chapters executed by papermill before Sphinx parses them.

Before Sphinx parses a chapter (``source-read``), the chapter is executed (:func:`~replication.book.execution
.execute`) and its source is swapped for the executed notebook, which myst-nb renders as is (its own execution
is off). Executed notebooks are cached under ``_build/executed/`` by :func:`~replication.book.cache.cache_key`,
so an unchanged rebuild executes nothing. A site built from a params file: ``REPLICATION_PARAMS=params.yaml
jupyter-book build book/`` (or ``replication book --params params.yaml``); its pages show the injected values.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from replication.book import site
from replication.book.cache import cache_key, chapter_helpers, library_hash
from replication.book.chapters import PARAMS_ENV, book_params, is_notebook_text, read_md, read_parameters
from replication.book.execution import execute
from replication.book.kernel import SharedKernel
from replication.book.parameters import validate_parameters


def read_notebook(text: str):
    """myst-nb reader for ``.md``: executed notebooks arrive as JSON, anything else as MyST markdown."""
    import nbformat

    if text.lstrip().startswith("{"):
        return nbformat.reads(text, as_version=4)
    return read_md(text)


def label_injected(nb, params: dict) -> None:
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


def on_builder_inited(app) -> None:
    """The library's hash once per build, and the params file of ``$REPLICATION_PARAMS``, checked."""
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
    params = validate_parameters(docname, read_parameters(read_md(text)),
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
    import nbformat
    from sphinx.util import logging

    found = _chapter_key(app, docname)
    if not found:
        return
    key, params = found
    cached = Path(app.outdir).parent / "executed" / f"{docname}-{key}.ipynb"
    if cached.exists():
        nb = nbformat.read(cached, as_version=4)
    else:
        log = logging.getLogger(__name__)
        log.info(f"[replication] executing {docname} with papermill")
        started = time.perf_counter()
        if getattr(app, "replication_kernel", None) is None:
            app.replication_kernel = SharedKernel(Path(app.srcdir))
        nb = execute(Path(app.env.doc2path(docname)), params, cached, kernel=app.replication_kernel)
        # the first chapter's time includes the shared kernel's start-up
        log.info(f"[replication] executed {docname} in {time.perf_counter() - started:.1f} s")
    if params:
        label_injected(nb, params)
    site.add_rerun_note(nb, docname, read_parameters(nb))
    app.env.replication_keys[docname] = key
    source[0] = nbformat.writes(nb)


def _on_build_finished(app, exception) -> None:
    if getattr(app, "replication_kernel", None) is not None:
        app.replication_kernel.close()
        app.replication_kernel = None


def setup(app):
    site.setup(app)
    app.connect("builder-inited", on_builder_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("source-read", _on_source_read)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
