"""What the published site adds around the executed chapters, and what an offline site must not ship.

- Every chapter page says how to re-run it: a note below its parameters cell with the exact command and the
  chapter's parameters with their defaults, and a link to the page as an executed notebook (``_notebooks/``).
- The footer names the commit and the date the site was built from (from git, when the checkout has it).
- The bibliography's labels read like the citations in the text ("Hoffmann et al., 2022"), not "HBM+22".
- Nothing loads from the network and nothing is declared twice: the Thebe launcher (which would fetch its
  code from a CDN, and whose configuration script the theme adds twice, a console error on every page) is
  dropped, duplicate inline scripts are dropped, and the themes' source maps (``*.map``) are not shipped.
"""
from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

from replication.book import chrome, notebooks
from replication.book.notebooks import NOTEBOOKS

RERUN_TAG = "rerun-note"


def literal(value) -> str:
    """A Python literal as a reader would type it: ``1e+12``, not ``1000000000000.0``."""
    if isinstance(value, float) and float(f"{value:g}") == value:
        shown = f"{value:g}"
        return shown if any(c in shown for c in ".e") else shown + ".0"  # 2.0 stays a float
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    return repr(value)


def code_span(text: str) -> str:
    """``text`` as Markdown inline code, shown exactly as it is: fenced by one backtick more than its longest
    run of backticks (CommonMark), so that a backtick, ``<script>``, ``{note}`` or ``$x$`` in a value is
    text, never markup. A newline (which would end the paragraph) is shown as a space."""
    text = " ".join(str(text).splitlines()) or " "
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[0] in "` " or text[-1] in "` " else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{text}{pad}{fence}"


def admonition(directive: str, body: str, options: str = "") -> str:
    """A MyST directive block around ``body``, fenced by more backticks than ``body`` holds anywhere, so
    that nothing in it can close the block."""
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    return f"{fence}{directive}\n{options}{body}\n{fence}"


#: each chapter's example for the re-run note: a parameter and a value other than its default, cheap to run
#: (chapters not listed get one from :func:`rerun_example`'s rule)
RERUN_EXAMPLES = {
    "glance": ("c_min", 1e20), "flops": ("my_vocab_size", 262), "approach1": ("budget", 1e24),
    "approach2": ("noise", 0.05), "approach3": ("noise", 0.05), "study": ("seed", 1), "wide": ("seed", 1),
    "planning": ("law", "besiroglu"), "experiment1": ("scale", "article"), "experiment2a": ("scale", "article"),
    "experiment2b": ("scale", "article"), "transfer": ("level", 0.9), "article_scale": ("accounting", "article"),
    "claims": ("perturb", 0.01),
}


def rerun_example(chapter: str, defaults: dict) -> tuple[str, object]:
    """A parameter of ``chapter`` and a value other than its default, for the re-run command's example:
    the chapter's :data:`RERUN_EXAMPLES` entry, else its first number doubled (1 for a 0) or its first
    bool negated, else its first parameter as it is."""
    listed = RERUN_EXAMPLES.get(chapter)
    if listed and listed[0] in defaults and listed[1] != defaults[listed[0]]:
        return listed
    for name, value in defaults.items():
        if isinstance(value, bool):
            return name, not value
        if isinstance(value, (int, float)):
            return name, (value * 2 if value else type(value)(1))
    return next(iter(defaults.items()))


def rerun_command(chapter: str, defaults: dict) -> str:
    """``replication run <chapter> -p name=value`` with :func:`rerun_example`'s value."""
    name, value = rerun_example(chapter, defaults)
    return f"replication run {chapter} -p {name}={literal(value)}"


def rerun_note(chapter: str, defaults: dict):
    """A markdown cell, folded (a dropdown): the command that re-runs ``chapter`` with another value, and its
    parameters with their defaults."""
    import nbformat

    listed = ", ".join(f"{code_span(name)} (default {code_span(literal(value))})" for name, value in defaults.items())
    href = html.escape(f"{NOTEBOOKS}/{quote(chapter)}.ipynb")
    note = nbformat.v4.new_markdown_cell(admonition(
        "{admonition} Re-run this chapter",
        f"Every number on this page is computed when the book is built. To compute it again with other values, "
        f"run for example {code_span(rerun_command(chapter, defaults))} (one `-p` per parameter; "
        f"{code_span(f'replication run {chapter} --list')} lists them), or "
        f'<a href="{href}" download>download this page as an executed notebook</a>. '
        f"Parameters: {listed}.",
        options=f":class: tip dropdown {RERUN_TAG}\n",
    ))
    note.metadata["tags"] = [RERUN_TAG]
    return note


def notebook_preface(chapter: str, title: str, defaults: dict) -> str:
    """The first cell of a chapter's downloadable notebook: what it is, and how to compute it again."""
    again = (f" To compute it again with other values, run {code_span(rerun_command(chapter, defaults))} in a "
             f"checkout of the project ({code_span(f'replication run {chapter} --list')} lists the parameters)."
             if defaults else "")
    return (f"*{title}*, a chapter of *Chinchilla, replicated*, as it was executed when the site was "
            f"built: every number in the text and every figure was computed then.{again}")


def add_rerun_note(nb, chapter: str, defaults: dict) -> None:
    """Insert :func:`rerun_note` after the parameters cell (and the injected one, if any)."""
    if not defaults:
        return
    tags = [set(cell.metadata.get("tags", [])) for cell in nb.cells]
    where = [i for i, t in enumerate(tags) if t & {"parameters", "injected-parameters"}]
    if where:
        nb.cells.insert(where[-1] + 1, rerun_note(chapter, defaults))


def build_footer(repo_dir: Path, configured_url: str = "") -> str:
    """"Built from commit abc1234 (2026-12-01)": what the site shows of its provenance, the commit linked to
    the repository (:func:`chrome.repository_url`) when there is one."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit, date = git("rev-parse", "--short", "HEAD"), git("log", "-1", "--format=%cs")
    remote = html.escape(chrome.repository_url(repo_dir, configured_url))
    if not commit:
        return ""
    where = f'<a href="{remote}/tree/{commit}">{commit}</a>' if remote else f"<code>{commit}</code>"
    return f"Built from commit {where} ({date})" + (f' · <a href="{remote}">repository</a>' if remote else "")


def _on_config_inited(app, config) -> None:
    footer = build_footer(Path(app.srcdir).resolve(),  # git finds the checkout from book/
                          config.html_theme_options.get("repository_url", ""))
    if footer:
        config.html_theme_options = {**config.html_theme_options, "extra_footer": footer}


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    """Drop the Thebe scripts and any inline script declared twice."""
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "")
        name = str(script)
        if "THEBE_JS_URL" in body or "thebe" in name:
            continue
        key = body or name
        if key in seen:
            continue
        seen.add(key)
        scripts.append(script)
    context["script_files"] = scripts


def _on_build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        for path in Path(app.outdir).rglob("*.map"):
            path.unlink()
        write_notebooks(app)


def write_notebooks(app) -> None:
    """Each chapter's executed notebook, standing alone (:func:`notebooks.standalone`), in the site's
    ``_notebooks/``, and all of them in one zip there."""
    import nbformat

    from replication.book.chapters import read_parameters

    executed = Path(app.outdir).parent / "jupyter_execute"  # where myst-nb writes each page's notebook
    chapters = sorted(getattr(app.env, "replication_keys", {}))
    prefaces = {}
    for chapter in chapters:
        if (executed / f"{chapter}.ipynb").exists():
            defaults = read_parameters(nbformat.read(executed / f"{chapter}.ipynb", as_version=4))
            title = app.env.titles[chapter].astext() if chapter in app.env.titles else chapter
            prefaces[chapter] = notebook_preface(chapter, title, defaults)
    notebooks.write_all(executed, Path(app.outdir) / NOTEBOOKS, chapters, notebooks.references_from_sphinx(app),
                        prefaces, drop_tags=(RERUN_TAG,))


def _on_page_context_downloads(app, pagename, templatename, context, doctree) -> None:
    """The header's download menu offers the page's executed notebook (chapters) and the zip of all of them."""
    group = next((b for b in context.get("header_buttons", []) if b.get("label") == "download-buttons"), None)
    if group is None:
        return
    pathto = context["pathto"]
    offered = []
    if pagename in getattr(app.env, "replication_keys", {}):
        offered.append({"type": "link", "url": pathto(f"{NOTEBOOKS}/{pagename}.ipynb", 1),
                        "text": ".ipynb (executed)", "icon": "fas fa-code",
                        "tooltip": "Download this page as an executed notebook",
                        "label": "download-executed-notebook-button"})
    offered.append({"type": "link", "url": pathto(f"{NOTEBOOKS}/{notebooks.ZIP_NAME}", 1),
                    "text": "all chapters (.zip)", "icon": "fas fa-file-zipper",
                    "tooltip": "Download every chapter as an executed notebook (zip)",
                    "label": "download-all-notebooks-button"})
    group["buttons"][0:0] = offered


def _register_author_year_labels() -> None:
    """A pybtex formatting style ``authoryear``: the plain style with "Author et al., year" labels."""
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.plain import Style as PlainStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            seen: dict[str, int] = {}
            for entry in sorted_entries:
                people = entry.persons.get("author") or entry.persons.get("editor") or []
                names = [" ".join(p.last_names) for p in people] or [entry.fields.get("title", entry.key)]
                who = names[0] if len(names) == 1 else (" & ".join(names) if len(names) == 2
                                                       else f"{names[0]} et al.")
                label = f"{who}, {entry.fields.get('year', 'n.d.')}"
                seen[label] = seen.get(label, 0) + 1
                yield label if seen[label] == 1 else f"{label}{chr(ord('a') + seen[label] - 1)}"

    class AuthorYearStyle(PlainStyle):
        default_label_style = AuthorYearLabels

    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle, force=True)


def setup(app) -> None:
    _register_author_year_labels()
    chrome.setup(app)
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _on_page_context)
    app.connect("html-page-context", _on_page_context_downloads, priority=502)  # after the theme's buttons (501)
    app.connect("build-finished", _on_build_finished)
