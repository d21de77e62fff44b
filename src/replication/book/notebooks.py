"""The executed notebooks the site offers for download, one per chapter, that stand alone.

myst-nb writes each page's executed notebook (``_build/jupyter_execute/<page>.ipynb``) with its prose as MyST
source: numbers as ``{glue:text}`` roles, figures as ``{glue:figure}`` directives, citations as ``{cite:p}``
roles, and the glued values apart (``<page>.glue.json``). :func:`standalone` writes the page's prose into the
notebook as Jupyter shows markdown: each glued value as the page shows it, each glued figure as the output
of a cell of its own with its numbered caption below, citations as author-year text with a list of
references at the end, cross-references as the numbers and titles the page shows, admonitions as quotes
with a bold title, sphinx-design badges as bold words. :func:`write_all` writes every chapter's to the site's
``_notebooks/`` and all of them to one zip.
"""
from __future__ import annotations

import copy
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

#: the site's folder of executed notebooks, one per chapter, and the zip of all of them in it
NOTEBOOKS = "_notebooks"
ZIP_NAME = "notebooks.zip"

#: a MyST role: {name}`content`
ROLE = re.compile(r"\{([a-zA-Z][\w:+-]*)\}`([^`]*)`")
#: the opening line of a MyST directive: ```{name} argument, or :::{name} argument
OPENING = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:+-]+)\}\s*(?P<arg>.*)$")
#: a display equation with a label: $$ ... $$ (label)
LABELLED_MATH = re.compile(r"\$\$(?P<body>.*?)\$\$\s*\((?P<label>[\w:.-]+)\)", re.S)
#: directives written as a quote with a bold title (the title: the argument, else the directive's name)
ADMONITIONS = {"admonition", "note", "tip", "important", "warning", "caution", "attention", "danger", "error",
               "hint", "seealso", "dropdown", "topic"}


@dataclass
class References:
    """What the page resolves through Sphinx: figure and table numbers by label ("Fig. 3"), equation
    numbers by label, section titles by label, page titles by page, and each bibliography entry's label
    ("Hoffmann et al.", "2022") and full reference (markdown)."""

    numbers: dict[str, str] = field(default_factory=dict)
    equations: dict[str, str] = field(default_factory=dict)
    sections: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (page, title)
    titles: dict[str, str] = field(default_factory=dict)
    citations: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # key -> (authors, year, reference)


@dataclass
class _Page:
    """One chapter being converted: its glued values, what Sphinx resolved, the citations seen so far."""

    name: str
    glue: dict
    refs: References
    cited: list[str] = field(default_factory=list)


# --- roles ------------------------------------------------------------------------------------------------


def glue_text(data: dict, spec: str) -> str:
    """A glued value as ``{glue:text}`` shows it: its text/plain, read as a Python literal (no quotes around
    a string) and formatted by ``spec`` (myst-nb's own function)."""
    from myst_nb.core.variables import format_plain_text

    return format_plain_text(data["text/plain"], spec)


def _split_key(content: str) -> tuple[str, str]:
    key, _, spec = content.partition(":")
    return key.split("::")[-1], spec


def _target(content: str) -> tuple[str | None, str]:
    """"text <label>" as (text, label); "label" as (None, label)."""
    found = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", content.strip())
    return (found.group(1), found.group(2)) if found else (None, content.strip())


def _cite(page: _Page, keys: str, textual: bool) -> str:
    parts = []
    for key in [k.strip() for k in keys.split(",") if k.strip()]:
        authors, year, _ = page.refs.citations.get(key, (key, "n.d.", ""))
        if key not in page.cited:
            page.cited.append(key)
        parts.append(f"{authors} \\[{year}\\]" if textual else f"{authors}, {year}")
    return "; ".join(parts) if textual else f"\\[{'; '.join(parts)}\\]"


def _role(page: _Page, name: str, content: str) -> str:
    """One role as the page shows it, in markdown."""
    refs = page.refs
    if name == "glue:text":
        key, spec = _split_key(content)
        return glue_text(page.glue[key]["data"], spec)
    if name in ("glue", "glue:any"):
        data = page.glue[_split_key(content)[0]]["data"]
        return data.get("text/html") or data.get("text/markdown") or data.get("text/plain", "")
    if name == "glue:md":
        return convert_text(page, page.glue[_split_key(content)[0]]["data"]["text/markdown"])
    if name in ("cite", "cite:p", "cite:ps", "cite:alp"):
        return _cite(page, content, textual=False)
    if name in ("cite:t", "cite:ts", "cite:ct"):
        return _cite(page, content, textual=True)
    if name == "numref":
        text, label = _target(content)
        number = refs.numbers.get(label, label)
        return text.replace("%s", number.split()[-1]).replace("{number}", number.split()[-1]) if text else number
    if name == "eq":
        return f"({refs.equations.get(content.strip(), '?')})"
    if name == "ref":
        text, label = _target(content)
        where, title = refs.sections.get(label, (page.name, label))
        return _link(page, text or title, where)
    if name == "doc":
        text, doc = _target(content)
        return _link(page, text or refs.titles.get(doc, doc), doc)
    if name == "math":
        return f"${content}$"
    if name.startswith("bdg"):
        return f"**{_target(content)[0] or content}**"
    if name in ("sub", "sup"):
        return f"<{name}>{content}</{name}>"
    return _target(content)[0] or content  # any other role: its text


def _link(page: _Page, text: str, doc: str) -> str:
    return text if doc == page.name else f"[{text}]({doc}.ipynb)"


def _roles(page: _Page, text: str) -> str:
    """Every role of ``text`` outside inline code, as the page shows it."""
    def one(m):
        return _role(page, m.group(1), m.group(2)) if m.group(1) else m.group(0)

    return _ROLE_OR_CODE.sub(one, text)


#: a role, or inline code (kept as it is)
_ROLE_OR_CODE = re.compile(ROLE.pattern + r"|(?<!`)(`+)(?!`).+?(?<!`)\3(?!`)", re.S)


def _math(page: _Page, text: str) -> str:
    """A labelled display equation numbered as on the page: $$ ... \\tag{3} $$."""
    def tagged(m):
        number = page.refs.equations.get(m.group("label"))
        tag = f" \\tag{{{number}}}" if number else ""
        return f"$${m.group('body').rstrip()}{tag}\n$$" if "\n" in m.group("body") else f"$${m.group('body')}{tag}$$"

    return LABELLED_MATH.sub(tagged, text)


# --- directives -------------------------------------------------------------------------------------------


def _directives(lines: list[str]):
    """``lines`` as blocks: ("text", lines) and ("directive", name, argument, options, body lines)."""
    i, text = 0, []
    while i < len(lines):
        opening = OPENING.match(lines[i])
        if not opening:
            text.append(lines[i])
            i += 1
            continue
        fence = opening.group("fence")
        close = re.compile(rf"^{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
        body, options = lines[i + 1:end], {}
        while body and re.match(r"^:[\w-]+:", body[0]):
            key, _, value = body.pop(0)[1:].partition(":")
            options[key] = value.strip()
        if text:
            yield ("text", text)
            text = []
        yield ("directive", opening.group("name"), opening.group("arg").strip(), options, body)
        i = end + 1
    if text:
        yield ("text", text)


def convert_text(page: _Page, text: str) -> str:
    """MyST markdown as Jupyter's markdown, for text that holds no figure (a glued markdown value, the body
    of an admonition): figures in it are left out and named."""
    return "\n\n".join(piece if kind == "markdown" else f"*({piece['caption']})*"
                       for kind, piece in convert(page, text))


def convert(page: _Page, text: str) -> list[tuple[str, object]]:
    """A markdown cell's MyST source as pieces: ("markdown", text) and ("figure", {"data": ..., "caption": ...})."""
    pieces: list[tuple[str, object]] = []

    def add_markdown(md: str) -> None:
        if pieces and pieces[-1][0] == "markdown":
            pieces[-1] = ("markdown", pieces[-1][1].rstrip("\n") + "\n\n" + md)
        else:
            pieces.append(("markdown", md))

    for block in _directives(text.splitlines()):
        if block[0] == "text":
            lines = [line for line in block[1] if not re.match(r"^\([\w:.-]+\)=\s*$|^%", line)]
            add_markdown(_roles(page, _math(page, "\n".join(lines))))
            continue
        _, name, arg, options, body = block
        if name == "glue:figure":
            number = page.refs.numbers.get(options.get("name", ""), "")
            caption = _roles(page, "\n".join(body).strip())
            pieces.append(("figure", {"output": page.glue[arg], "alt": options.get("alt", ""),
                                      "caption": f"**{number}** {caption}".strip() if number else caption}))
        elif name in ("glue", "glue:any"):
            pieces.append(("figure", {"output": page.glue[arg], "alt": "", "caption": ""}))
        elif name == "glue:md":
            add_markdown(convert_text(page, page.glue[arg]["data"]["text/markdown"]))
        elif name in ADMONITIONS:
            title = _roles(page, arg) if arg else name.capitalize()
            inner = convert_text(page, "\n".join(body)).strip()
            quoted = "\n".join(f"> {line}" if line else ">" for line in inner.splitlines())
            add_markdown(f"> **{title}**\n>\n{quoted}")
        elif name == "math":
            number = page.refs.equations.get(options.get("label", ""))
            tag = f" \\tag{{{number}}}" if number else ""
            add_markdown("$$\n" + "\n".join(body).strip() + tag + "\n$$")
        elif name in ("bibliography", "tableofcontents"):
            continue
        else:  # any other directive: its content, as text
            add_markdown(convert_text(page, "\n".join(body)))
    return pieces


# --- notebooks --------------------------------------------------------------------------------------------


def _figure_cell(piece: dict):
    import nbformat

    output = copy.deepcopy(piece["output"])
    output.setdefault("metadata", {}).pop("scrapbook", None)
    output["output_type"] = "display_data"
    output.pop("execution_count", None)
    cell = nbformat.v4.new_code_cell(source=f"# {piece['alt']}".strip() if piece["alt"] else "",
                                     outputs=[nbformat.from_dict(output)])
    cell.metadata["tags"] = ["figure"]
    cell.metadata["jupyter"] = {"source_hidden": True}
    return cell


def standalone(nb, glue: dict, refs: References, name: str, preface: str = "", drop_tags=()):
    """``nb`` (a page's executed notebook, its prose in MyST) with its prose as Jupyter shows markdown; its
    glued figures as outputs; ``preface``, if given, as its first cell; the works it cites at its end. Cells
    tagged with one of ``drop_tags`` (the page's own notes, such as its link to this notebook) are left out."""
    import nbformat

    page = _Page(name, glue, refs)
    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    if preface:
        out.cells.append(nbformat.v4.new_markdown_cell(preface))
    for cell in nb.cells:
        if set(cell.metadata.get("tags", [])) & set(drop_tags):
            continue
        if cell.cell_type != "markdown":
            out.cells.append(copy.deepcopy(cell))
            continue
        for kind, piece in convert(page, cell.source):
            if kind == "figure":
                out.cells.append(_figure_cell(piece))
                if piece["caption"]:
                    out.cells.append(nbformat.v4.new_markdown_cell(piece["caption"]))
            elif piece.strip():
                out.cells.append(nbformat.v4.new_markdown_cell(piece))
    if page.cited:
        works = "\n".join(f"- {refs.citations[k][2]}" for k in page.cited if k in refs.citations)
        out.cells.append(nbformat.v4.new_markdown_cell(f"## References\n\n{works}"))
    return out


def leftovers(nb) -> list[str]:
    """What a standalone notebook must not hold: MyST roles and directive openings left in its markdown."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [m.group(0) for m in _ROLE_OR_CODE.finditer(cell.source) if m.group(1)]
            found += [line for line in cell.source.splitlines() if OPENING.match(line)]
    return found


def write_all(executed: Path, out_dir: Path, chapters: list[str], refs: References, prefaces: dict,
              drop_tags=()) -> list[Path]:
    """Each chapter of ``executed`` (myst-nb's folder of executed notebooks and their glue) as a standalone
    notebook in ``out_dir``, and all of them in ``out_dir``/:data:`ZIP_NAME`."""
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in chapters:
        source = executed / f"{name}.ipynb"
        if not source.exists():
            continue
        glue_file = executed / f"{name}.glue.json"
        glue = json.loads(glue_file.read_text()) if glue_file.exists() else {}
        nb = standalone(nbformat.read(source, as_version=4), glue, refs, name, prefaces.get(name, ""), drop_tags)
        target = out_dir / f"{name}.ipynb"
        nbformat.write(nb, target)
        written.append(target)
    with zipfile.ZipFile(out_dir / ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as z:
        for path in written:
            z.write(path, path.name)
    return written


# --- what Sphinx resolved ---------------------------------------------------------------------------------


def references_from_sphinx(app) -> References:
    """Figure, table and equation numbers, section and page titles as the built pages show them, and the
    bibliography's entries (author-year labels as the pages cite them)."""
    env = app.env
    refs = References()
    formats = {kind: text for kind, text in (app.config.numfig_format or {}).items()}
    for label, (doc, label_id, title) in env.get_domain("std").labels.items():
        refs.sections[label] = (doc, title)
        for kind, numbers in env.toc_fignumbers.get(doc, {}).items():
            if label_id in numbers:
                number = ".".join(map(str, numbers[label_id]))
                refs.numbers[label] = formats.get(kind, "%s").replace("%s", number).strip()
    for label, (_doc, number) in env.get_domain("math").equations.items():
        refs.equations[label] = str(number)
    refs.titles = {doc: title.astext() for doc, title in env.titles.items()}
    for bib in getattr(app.config, "bibtex_bibfiles", []):
        refs.citations.update(bibliography(Path(app.srcdir) / bib))
    return refs


def bibliography(path: Path) -> dict[str, tuple[str, str, str]]:
    """Each entry of a BibTeX file as (authors as cited: "Hoffmann et al.", "Pearce and Song"; year; the
    full reference in markdown)."""
    from pybtex.database import parse_file
    from pybtex.plugin import find_plugin

    data = parse_file(str(path))
    style = find_plugin("pybtex.style.formatting", "plain")()
    backend = find_plugin("pybtex.backends", "markdown")()
    full = {e.key: " ".join(e.text.render(backend).split()) for e in style.format_entries(data.entries.values())}
    cited = {}
    for key, entry in data.entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(p.last_names) for p in people if " ".join(p.last_names) != "others"]
        many = len(people) > 2 or any(" ".join(p.last_names) == "others" for p in people)
        who = (f"{names[0]} et al." if many else " and ".join(names)) if names else entry.fields.get("title", key)
        cited[key] = (who, entry.fields.get("year", "n.d."), full[key])
    return cited
