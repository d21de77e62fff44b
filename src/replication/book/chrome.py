"""The site's chrome: what a page loads, and what it shows around the chapter (issue 28).

- **One stylesheet, one script** (:mod:`replication.book.bundle`): each page links ``_static/site.css``
  (the rules that can apply in the site, the custom properties something reads) and fetches ``_static/site.js``
  once it has been drawn, in place of the themes' and extensions' files (bootstrap's script replaced by
  ``widgets.js``: its menu and tooltips); ``book/_templates/layout.html`` leaves out what the themes hard-wire
  (fontawesome.js, whose few icons are inline SVG in ``icons.css``, and the search index, which only the search
  page loads). A chapter's sections are drawn as they come near the window (``custom.css``), its images
  fetched then too.
- **Math rendered when the site is built**, by KaTeX (``make vendor``; node runs it): pages carry HTML and
  MathML, and load only KaTeX's stylesheet and the fonts they use; nothing is typeset, or moves, after load.
- **The toggles work**: pydata-sphinx-theme renders its top bar, whose sidebar toggles come first in the page
  and are the ones both themes bind, whenever a navbar item is set, and it sets ``navbar_persistent`` itself
  unless told; set empty, the bar is empty and the toggles bound are the article header's, which show.
- **Provenance**: the repository (``_config.yml``'s ``repository: url:``, else the git remote ``origin`` when
  it is on GitHub, GitLab or Bitbucket) as a header button and an "edit this page" button.
- **A meta description** per page: its verdict, else its first paragraph of prose.
"""
from __future__ import annotations

import html
import json
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

from replication.book import bundle

KATEX_CSS = "katex/katex.min.css"  # book/_vendor/katex, copied to the site's root (html_extra_path)
PROVIDERS = ("github", "gitlab", "bitbucket")  # the hosts whose edit links the book theme knows


# -- provenance ----------------------------------------------------------------------------------------------
def _git(repo_dir: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def repository_url(repo_dir: Path, configured: str = "") -> str:
    """The repository's web address: ``configured`` (``_config.yml``'s ``repository: url:``), else the git
    remote ``origin`` as https (``git@host:owner/name.git`` -> ``https://host/owner/name``); "" when neither."""
    url = configured or _git(repo_dir, "config", "--get", "remote.origin.url")
    found = re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+)", url)
    if found:
        url = f"https://{found.group(1)}/{found.group(2)}"
    return url.removesuffix(".git").rstrip("/") if url.startswith("https://") else ""


def provenance_options(repo_dir: Path, options: dict, book_dir: Path) -> dict:
    """The book theme's options that link the repository and each page's source, when the repository is on a
    host whose edit links the theme knows; ``options`` unchanged otherwise."""
    url = repository_url(repo_dir, options.get("repository_url", ""))
    if not url or not any(p in url.split("/")[2] for p in PROVIDERS):
        return options
    branch = options.get("repository_branch") or _git(repo_dir, "rev-parse", "--abbrev-ref", "HEAD")
    return {**options, "repository_url": url, "repository_branch": branch if branch not in ("", "HEAD") else "main",
            "path_to_docs": options.get("path_to_docs") or book_dir.relative_to(repo_dir).as_posix(),
            "use_repository_button": True, "use_edit_page_button": True}


def _on_config_inited(app, config) -> None:
    book_dir = Path(app.srcdir).resolve()
    # an empty top bar: the only sidebar toggles on the page are the article header's, which the themes bind
    options = {"navbar_persistent": [], **config.html_theme_options}
    config.html_theme_options = provenance_options(book_dir.parent, options, book_dir)
    # a mode from the start: the theme logs an error ("invalid theme mode") in a fresh browser without one
    config.html_context = {"default_mode": "auto", **config.html_context}


def _on_build_finished(app, exception) -> None:
    """Once every page and asset is in the site (myst-nb writes its stylesheet only when the build ends): the
    math of the pages written in this build rendered, with their fonts preloaded; the bundles (purged against the
    pages as they now are) and their digests in every page's links."""
    assets = getattr(app.builder, "_replication_assets", None)
    if exception is not None or app.builder.format != "html" or assets is None:
        return
    outdir = Path(app.outdir)
    pages = {str(page.relative_to(outdir)): page.read_text(encoding="utf-8") for page in outdir.rglob("*.html")}
    done = render_math({name: text for name, text in pages.items() if INLINE.search(text) or DISPLAY.search(text)},
                       katex_script(Path(app.srcdir).resolve()))
    for name, text in done.items():  # the fonts its formulas draw with, fetched with the stylesheet
        done[name] = text.replace("</head>", font_preloads(text, "../" * name.count("/")) + "</head>", 1)
    new = {**pages, **done}
    digests = bundle.write_bundles(outdir, *assets, new)
    link = re.compile("(" + "|".join(re.escape(name) for name in digests) + r')(\?v=[0-9a-f]+)?"')
    for name, text in new.items():
        text = link.sub(lambda m: f'{m.group(1)}?v={digests[m.group(1)]}"', text)
        if text != pages[name]:
            (outdir / name).write_text(text, encoding="utf-8")


# -- math, rendered when the site is built ------------------------------------------------------------------
#: node: a JSON list of [TeX, display?] on stdin, a JSON list of HTML (or {"error": ...}) on stdout
KATEX_RUN = r"""
const katex = require(process.argv[1]);
const items = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(items.map(([tex, display]) => {
  try { return katex.renderToString(tex, {displayMode: display, throwOnError: true, strict: "error"}); }
  catch (e) { return {error: e.message}; }
})));
"""
INLINE = re.compile(r'<span class="math notranslate nohighlight">\\\((.*?)\\\)</span>', re.S)
DISPLAY = re.compile(r'(<div class="math notranslate nohighlight"[^>]*>\s*(?:<span class="eqno">.*?</span>)?)'
                     r'\\\[(.*?)\\\](</div>)', re.S)


#: KaTeX's fonts other than KaTeX_Main, and the classes of its HTML that draw with them
KATEX_FONTS = {"KaTeX_Math-Italic": r"\bmathnormal\b", "KaTeX_Size1-Regular": r"delimsizing size1|small-op",
               "KaTeX_Size2-Regular": r"delimsizing size2|large-op", "KaTeX_Size3-Regular": r"delimsizing size3",
               "KaTeX_Size4-Regular": r"delimsizing size4", "KaTeX_AMS-Regular": r"\bamsrm\b",
               "KaTeX_Main-Bold": r"\b(?:mathbf|textbf)\b", "KaTeX_Main-Italic": r"\b(?:mathit|textit)\b"}


def font_preloads(page: str, root: str = "") -> str:
    """Preload links for the KaTeX fonts ``page`` draws with (``root``: the way from the page to the site's
    root), so that they arrive with the stylesheet, and the formulas, drawn once, do not move the text."""
    if 'class="katex"' not in page:
        return ""
    fonts = ["KaTeX_Main-Regular", *(font for font, drawn in KATEX_FONTS.items() if re.search(drawn, page))]
    return "".join(f'<link rel="preload" href="{root}katex/fonts/{font}.woff2" as="font" type="font/woff2" '
                   f'crossorigin="anonymous" />\n' for font in fonts)


def katex_script(book_dir: Path) -> Path:
    from sphinx.errors import ExtensionError

    script = book_dir.parent / ".vendor" / "katex" / "katex.min.js"
    if not script.exists() or not (book_dir / "_vendor" / KATEX_CSS).exists():
        raise ExtensionError("KaTeX, which renders the book's math, is not vendored: run `make vendor`")
    if shutil.which("node") is None:
        raise ExtensionError("node, which runs KaTeX to render the book's math, is not installed")
    return script


def _formulas(text: str) -> list[tuple[str, bool]]:
    return [(html.unescape(m.group(1)).strip(), False) for m in INLINE.finditer(text)] + \
        [(html.unescape(m.group(2)).strip(), True) for m in DISPLAY.finditer(text)]


def render_math(pages: dict[str, str], script: Path) -> dict[str, str]:
    """``pages`` (name -> HTML) with every ``\\(...\\)`` and ``\\[...\\]`` that Sphinx wrote (in the text, the
    titles, the tables of contents) rendered by KaTeX, in one run of node. A formula KaTeX cannot read stops the
    build, naming the page and the formula."""
    from sphinx.errors import ExtensionError

    where = {}
    for name, text in pages.items():
        for formula in _formulas(text):
            where.setdefault(formula, name)
    if not where:
        return pages
    found = list(where)
    result = subprocess.run(["node", "-e", KATEX_RUN, str(script)], input=json.dumps(found),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ExtensionError(f"KaTeX failed: {result.stderr[-2000:]}")
    rendered = dict(zip(found, json.loads(result.stdout)))
    for (tex, display), out in rendered.items():
        if isinstance(out, dict):
            raise ExtensionError(f"KaTeX cannot render {tex!r} on {where[tex, display]}: {out['error']}")
    out = {}
    for name, text in pages.items():
        text = INLINE.sub(lambda m: rendered[(html.unescape(m.group(1)).strip(), False)], text)
        out[name] = DISPLAY.sub(lambda m: m.group(1) + rendered[(html.unescape(m.group(2)).strip(), True)]
                                + m.group(3), text)
    return out


# -- images that keep their room ------------------------------------------------------------------------------
IMG = re.compile(r"<img\b([^>]*?)\s*/?>")


def drawn_size(path: Path) -> tuple[int, int] | None:
    """An SVG's or a PNG's size in CSS pixels (an SVG's ``pt`` are 4/3 px), or None when it does not say."""
    if path.suffix == ".png":
        head = path.read_bytes()[:24]
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if path.suffix == ".svg":
        tag = re.search(r"<svg\b[^>]*>", path.read_text(encoding="utf-8", errors="replace")[:4000])
        sizes = [re.search(rf'\b{side}="([\d.]+)(pt|px)?"', tag.group(0)) if tag else None for side in ("width", "height")]
        if all(sizes):
            return tuple(round(float(m.group(1)) * (4 / 3 if m.group(2) == "pt" else 1)) for m in sizes)
    return None


def sized_images(body: str, files: dict[str, Path]) -> str:
    """Each ``<img>`` with its drawing's width and height, so that the page keeps its room while it loads, and
    loaded only when near the window (no chapter has a figure on its first screen, at 1400 or at 412 px: the
    first is 1,600 px down or more; fetched at once, it shared a phone's bandwidth with the page's first paint).
    ``files``: the image's name in ``_images/`` -> its file."""
    def sized(match):
        attributes = match.group(1)
        src = re.search(r'\bsrc="([^"]+)"', attributes)
        path = files.get(posixpath.basename(src.group(1))) if src else None
        size = drawn_size(path) if path and path.exists() else None
        extra = f' width="{size[0]}" height="{size[1]}"' if size and " width=" not in attributes else ""
        return f"<img{attributes}{extra} loading=\"lazy\" decoding=\"async\" />"

    return IMG.sub(sized, body)


# -- the page's description -------------------------------------------------------------------------------------
SYMBOLS = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "propto": "∝", "approx": "≈", "times": "×",
           "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "pm": "±", "cdot": "·", "sim": "~", "infty": "∞"}


def _plain_text(node) -> str:
    from docutils import nodes

    parts = []
    for child in node.findall(lambda n: isinstance(n, (nodes.Text, nodes.math)), include_self=False):
        if isinstance(child, nodes.math):
            tex = re.sub(r"\\([A-Za-z]+)", lambda m: SYMBOLS.get(m.group(1), m.group(1)), child.astext())
            parts.append(re.sub(r"\\[,;:! ]|[{}\\]", "", tex))  # N_{opt} -> N_opt, C^{a} -> C^a
        elif not isinstance(child.parent, nodes.math):
            parts.append(child.astext())
    return " ".join("".join(parts).split())


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def description(doctree, limit: int = 160) -> str:
    """What a search result should say of a page: its verdict box's text, else its first paragraph of at least
    a few words, cut at a word near ``limit`` characters."""
    from docutils import nodes

    verdicts = [n for n in doctree.findall(nodes.Element) if "verdict" in n.get("classes", [])]
    if verdicts:
        paragraphs = list(verdicts[0].findall(nodes.paragraph))
    else:  # prose: not a note, not a table's or a figure's
        paragraphs = [p for p in doctree.findall(nodes.paragraph) if len(p.astext().split()) >= 8 and not any(
            isinstance(a, (nodes.admonition, nodes.Admonition, nodes.table, nodes.figure)) for a in _ancestors(p))][:1]
    text = " ".join(_plain_text(p) for p in paragraphs)
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return text


# -- hooks --------------------------------------------------------------------------------------------------------
def static_digest(book_dir: Path) -> str:
    """A digest of the site's own stylesheets, scripts and templates (``book/_static``, ``book/_templates``)."""
    import hashlib

    digest = hashlib.sha256()
    for folder in ("_static", "_templates"):
        for path in sorted((book_dir / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(book_dir).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _on_env_get_outdated(app, env, added, changed, removed) -> list[str]:
    """Every page again when a stylesheet, a script or a template of the site changed: Sphinx copies them to the
    site, and the bundles are written, only in a build that writes pages (a chapter is not executed again)."""
    digest = static_digest(Path(app.srcdir).resolve())
    if getattr(env, "replication_static", None) == digest:
        return []
    env.replication_static = digest
    return sorted(env.found_docs - added - changed)


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html":
        return
    if context.get("body"):
        book_dir = Path(app.srcdir).resolve()
        files = {name: book_dir / source for source, name in getattr(app.builder, "images", {}).items()}
        context["body"] = sized_images(context["body"], files)
        # docutils lists the bibliography's entries under role="list" as doc-biblioentry, a role ARIA 1.2
        # deprecates and a list does not hold (axe: aria-required-children)
        context["body"] = context["body"].replace('role="doc-biblioentry"', 'role="listitem"')
    if doctree is not None:
        text = description(doctree)
        if text:
            context["metatags"] = context.get("metatags", "") + \
                f'\n    <meta name="description" content="{html.escape(text)}" />'
    bundle.replace_assets(app, context, [KATEX_CSS])


def _visit_hidden_cell(self, node) -> None:
    """myst-nb's folded code cell, without its ``aria-label`` ("Toggle hidden content"), which hid the
    summary's own words ("Show code cell source") from speech users (axe: label-content-name-mismatch)."""
    self.body.append(f'<details class="admonition hide {" ".join(node["classes"])}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{html.escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{html.escape(node["prompt_hide"])}</p>\n</summary>\n')


def setup(app) -> None:
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput
    from sphinx.ext.mathjax import html_visit_displaymath, html_visit_math

    # Sphinx writes \(...\) and \[...\] as for MathJax, and KaTeX renders them when the page is written
    app.add_html_math_renderer("katex", (html_visit_math, None), (html_visit_displaymath, None))
    app.add_node(HideCodeCellNode, override=True, html=(_visit_hidden_cell, depart_HideCellInput))
    app.connect("config-inited", _on_config_inited)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("html-page-context", _on_page_context, priority=900)  # after the themes' own
    app.connect("build-finished", _on_build_finished, priority=900)  # after myst-nb has written its stylesheet
