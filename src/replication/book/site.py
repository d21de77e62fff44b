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
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

RERUN_TAG = "rerun-note"
#: the site's folder of executed notebooks, one per chapter (copied from myst-nb's own at the build's end)
NOTEBOOKS = "_notebooks"


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


def rerun_note(chapter: str, defaults: dict):
    """A markdown cell: the command that re-runs ``chapter``, and its parameters with their defaults."""
    import nbformat

    listed = ", ".join(f"{code_span(name)} (default {code_span(literal(value))})" for name, value in defaults.items())
    first, value = next(iter(defaults.items()))
    href = html.escape(f"{NOTEBOOKS}/{quote(chapter)}.ipynb")
    note = nbformat.v4.new_markdown_cell(admonition(
        "{admonition} Re-run this chapter",
        f"Every number on this page is computed when the book is built. To compute it again with other values, "
        f"run {code_span(f'replication run {chapter} -p {first}={literal(value)}')} (one `-p` per parameter; "
        f"{code_span(f'replication run {chapter} --list')} lists them), or "
        f'<a href="{href}" download>download this page as an executed notebook</a>. '
        f"Parameters: {listed}.",
        options=f":class: tip {RERUN_TAG}\n",
    ))
    note.metadata["tags"] = [RERUN_TAG]
    return note


def add_rerun_note(nb, chapter: str, defaults: dict) -> None:
    """Insert :func:`rerun_note` after the parameters cell (and the injected one, if any)."""
    if not defaults:
        return
    tags = [set(cell.metadata.get("tags", [])) for cell in nb.cells]
    where = [i for i, t in enumerate(tags) if t & {"parameters", "injected-parameters"}]
    if where:
        nb.cells.insert(where[-1] + 1, rerun_note(chapter, defaults))


def build_footer(repo_dir: Path) -> str:
    """"Built from commit abc1234 (2026-12-01)": what the site shows of its provenance."""
    def git(*args):
        result = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit, date = git("rev-parse", "--short", "HEAD"), git("log", "-1", "--format=%cs")
    remote = git("config", "--get", "remote.origin.url")
    if remote.startswith("git@github.com:"):
        remote = "https://github.com/" + remote.split(":", 1)[1]
    remote = remote.removesuffix(".git") if remote.startswith("https://") else ""
    if not commit:
        return ""
    where = f'<a href="{remote}/tree/{commit}">{commit}</a>' if remote else f"<code>{commit}</code>"
    return f"Built from commit {where} ({date})" + (f' · <a href="{remote}">repository</a>' if remote else "")


def _on_config_inited(app, config) -> None:
    footer = build_footer(Path(app.srcdir).resolve())  # git finds the checkout from book/
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
        executed = Path(app.outdir).parent / "jupyter_execute"  # where myst-nb writes each page's notebook
        (Path(app.outdir) / NOTEBOOKS).mkdir(exist_ok=True)
        for nb in executed.glob("*.ipynb"):
            shutil.copyfile(nb, Path(app.outdir) / NOTEBOOKS / nb.name)


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
    app.connect("config-inited", _on_config_inited)
    app.connect("html-page-context", _on_page_context)
    app.connect("build-finished", _on_build_finished)
