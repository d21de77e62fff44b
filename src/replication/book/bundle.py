"""One stylesheet and one script per page (replication.book.chrome): ``_static/site.css`` and ``_static/site.js``.

Each page links the two in place of the themes' and extensions' files, which are joined into them when the build
ends (myst-nb writes its stylesheet only then): stylesheets with their ``@import`` inlined and their relative
``url()`` rewritten, scripts in their order. The stylesheet keeps only the rules that can apply somewhere in the
site (:func:`purge`: two thirds of the themes' rules style widgets this book has not) and only the custom
properties something reads (:func:`prune_properties`), which halves what a page downloads before it can draw.

The script is fetched once the page has been drawn (:data:`LATE_LOADER`; the search page, whose own script needs
it first, links it as usual). Bootstrap's script (81 kB, a third of what a phone spent running scripts as a page
loaded) is not among them: the pages use two of its widgets, a menu and the header's tooltips, which
``_static/widgets.js`` provides. The theme's own script runs once the page is first drawn
(:data:`AFTER_FIRST_PAINT`), without the part that measured every code and output box as the page loaded
(:data:`PATCHES`), which made the browser lay the whole page out inside the script (0.5-0.8 s on a phone).
"""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
from pathlib import Path

CSS_BUNDLE, JS_BUNDLE = "_static/site.css", "_static/site.js"
#: what pydata-sphinx-theme's templates link by hand, before the page's own assets, and after them
THEME_CSS = ["_static/styles/theme.css", "_static/styles/pydata-sphinx-theme.css"]
THEME_JS = ["_static/widgets.js", "_static/scripts/pydata-sphinx-theme.js"]
#: scripts whose work waits until the page is first drawn (the layout they read is then done already)
AFTER_FIRST_PAINT = ("_static/scripts/pydata-sphinx-theme.js",)
#: changes to the themes' scripts, as (script, text, replacement): pydata-sphinx-theme (0.17) measures every code
#: and output box as the page loads, to make those that scroll focusable, which lays the whole page out at once
#: (and every part of it that content-visibility leaves undrawn); _static/scroll.js does the same a few boxes at
#: a time when the browser is idle. A text not found (another version of the theme) leaves the script as it is.
PATCHES = (("_static/scripts/pydata-sphinx-theme.js",
            'function I(){const e=()=>{document.querySelectorAll(["pre",',
            'function I(){return;const e=()=>{document.querySelectorAll(["pre",'),
           # sphinx-design's tabs wait for DOMContentLoaded, which a script fetched after the first paint misses
           ("_static/design-tabs.js", 'document.addEventListener("DOMContentLoaded", ready, false);',
            'if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready, false);\n'
            'else ready();'))


def patched(name: str, text: str) -> str:
    """The script ``name`` with :data:`PATCHES` applied where their text is found once."""
    for script, old, new in PATCHES:
        if script == name and text.count(old) == 1:
            text = text.replace(old, new)
    return text


def plain(filename) -> str:
    """A file's path without the query its link carries (``?digest=...``)."""
    return str(filename).split("?", 1)[0]


def stylesheet(outdir: Path, name: str, seen: set) -> str:
    """The stylesheet ``name`` (relative to ``outdir``) with its ``@import``s inlined (once in all: ``seen``) and
    its relative ``url()``s made relative to ``_static/``, where the bundle lives."""
    if name in seen:
        return ""
    seen.add(name)
    folder = posixpath.dirname(name)
    text = (outdir / name).read_text(encoding="utf-8")
    text = re.sub(r"/\*# sourceMappingURL=.*?\*/|@charset [^;]+;", "", text)
    # @import comes first in a stylesheet: what it imports goes first, as read (its own url()s moved already)
    pattern = r"""@import\s+(?:url\()?(["']?)([^"')\s]+)\1\)?\s*;"""
    imports = [posixpath.normpath(posixpath.join(folder, m.group(2))) for m in re.finditer(pattern, text)]
    text = re.sub(pattern, "", text)

    def moved(match):
        quote, url = match.group(1), match.group(2)
        if re.match(r"(data:|[a-z]+://|/|#)", url):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(folder, url))
        return f"url({quote}{posixpath.relpath(target, posixpath.dirname(CSS_BUNDLE))}{quote})"

    text = re.sub(r"""url\((["']?)([^"')]+)\1\)""", moved, text)
    return "".join(stylesheet(outdir, name, seen) for name in imports) + text + "\n"


# -- keeping the rules that can apply ------------------------------------------------------------------------------
#: classes that scripts set as a state, or may build from parts: always kept (widgets.js names its own in full)
DYNAMIC = re.compile(r"(?:dropdown|fade|show|collaps|active|disabled)")
#: at-rules whose block holds rules, which are purged in turn; any other at-rule (@font-face, @keyframes) is kept
GROUPS = {"@media", "@supports", "@layer", "@container"}


def _skip(css: str, i: int) -> int:
    """Past the string or comment that starts at ``i`` (``i`` itself when neither does)."""
    if css[i] in "\"'":
        quote, i = css[i], i + 1
        while i < len(css) and css[i] != quote:
            i += 2 if css[i] == "\\" else 1
        return i + 1
    if css.startswith("/*", i):
        end = css.find("*/", i + 2)
        return len(css) if end < 0 else end + 2
    return i


def rules(css: str):
    """The top-level items of a stylesheet, in order: ``(prelude, block)``, ``block`` None for a statement."""
    i, n = 0, len(css)
    while i < n:
        if css[i].isspace() or css.startswith("/*", i):
            i = _skip(css, i) if not css[i].isspace() else i + 1
            continue
        j, depth = i, 0  # the prelude runs to "{" or ";" outside brackets
        while j < n and not (depth == 0 and css[j] in "{;"):
            if (k := _skip(css, j)) != j:
                j = k
                continue
            depth += 1 if css[j] in "([" else -1 if css[j] in ")]" else 0
            j += 1
        if j >= n or css[j] == ";":
            yield css[i:j].strip(), None
            i = j + 1
            continue
        k, level = j + 1, 1  # the block runs to its closing brace
        while k < n and level:
            if (m := _skip(css, k)) != k:
                k = m
                continue
            level += 1 if css[k] == "{" else -1 if css[k] == "}" else 0
            k += 1
        yield css[i:j].strip(), css[j + 1:k - 1]
        i = k


def _selectors(prelude: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(prelude):
        depth += c in "([" and 1 or c in ")]" and -1 or 0
        if c == "," and depth == 0:
            parts.append(prelude[start:i].strip())
            start = i + 1
    return [*parts, prelude[start:].strip()]


def can_apply(selector: str, words: set[str]) -> bool:
    """Whether every class and id ``selector`` requires is a word of the site (its pages and scripts), or a
    class scripts make. What ``:not()``, ``:has()`` and the like name, and attributes, are not required."""
    core = re.sub(r":(?:not|has|is|where)\((?:[^()]|\([^()]*\))*\)|\[[^\]]*\]", "", selector)
    return all(name.replace("\\", "") in words or DYNAMIC.match(name)
               for name in re.findall(r"[.#]((?:\\.|[\w-])+)", core))


def _rewrite(css: str, rule) -> str:
    """``css`` with each style rule's (prelude, block) replaced by ``rule``'s text, or dropped where it gives
    None; inside grouping at-rules (@media, @supports) the same, and a group left empty is dropped. Other
    at-rules (@font-face, @keyframes) and statements (@import) stay as they are."""
    out = []
    for prelude, block in rules(css):
        if block is None:
            out.append(prelude + ";")
        elif prelude.startswith("@"):
            inner = _rewrite(block, rule) if prelude.split()[0].lower() in GROUPS else block
            if inner.strip():
                out.append(f"{prelude}{{{inner}}}")
        elif (text := rule(prelude, block)) is not None:
            out.append(text)
    return "".join(out)


def purge(css: str, words: set[str]) -> str:
    """``css`` with only the rules that can apply (:func:`can_apply`) to a page of the site."""
    def rule(prelude, block):
        kept = [s for s in _selectors(prelude) if can_apply(s, words)]
        return f"{','.join(kept)}{{{block}}}" if kept else None

    return _rewrite(css, rule)


def _declarations(block: str) -> list[str]:
    """A rule's declarations, split at the semicolons outside strings and brackets (a data: URL holds some)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(block):
        if (k := _skip(block, i)) != i:
            i = k
            continue
        c = block[i]
        depth += 1 if c in "([" else -1 if c in ")]" else 0
        if c == ";" and depth == 0:
            parts.append(block[start:i])
            start = i + 1
        i += 1
    return [p for p in (*parts, block[start:]) if p.strip()]


def prune_properties(css: str, used: set[str]) -> str:
    """``css`` without the declarations of custom properties (``--name: ...``) that are not in ``used``, and
    without the rules left empty. At-rules that hold declarations themselves (@font-face) are kept whole."""
    def rule(prelude, block):
        kept = [d for d in _declarations(block)
                if not (d.strip().startswith("--") and d.split(":", 1)[0].strip() not in used)]
        return f"{prelude}{{{';'.join(kept)}}}" if kept else None

    return _rewrite(css, rule)


def read_properties(text: str) -> set[str]:
    """The custom properties ``text`` (a stylesheet, a page or a script) may read: those it names in
    ``var()``, and in a script or a page any word that starts with ``--`` (``getPropertyValue("--x")``)."""
    return set(re.findall(r"var\(\s*(--[\w-]+)", text)) | set(re.findall(r"(?<![\w-])--[A-Za-z][\w-]*", text))


def unread_properties_pruned(css: str, others: set[str]) -> str:
    """:func:`prune_properties` until nothing more goes (a property read only by one that went goes next)."""
    while True:
        pruned = prune_properties(css, set(re.findall(r"var\(\s*(--[\w-]+)", css)) | others)
        if pruned == css:
            return css
        css = pruned


# -- the pages' links, the two files -------------------------------------------------------------------------------
def replace_assets(app, context, vendored: list[str] = ()) -> None:
    """The page links the two bundles in place of its stylesheets and scripts (``vendored``: stylesheets in the
    site, after the themes'). What they join is the first page's list (every page has the same); a file another
    page adds keeps its own tag. Inline scripts stay."""
    from sphinx.builders.html._assets import _CascadingStyleSheet, _JavaScript

    sheets = [*THEME_CSS, *vendored, *(plain(c.filename) for c in context.get("css_files", [])
                            if "://" not in str(c.filename) and "thebe" not in str(c.filename))]
    inline, scripts, extra, data = [], [], [], {}
    for js in context.get("script_files", []):
        attributes = getattr(js, "attributes", {})
        if not js.filename:
            inline.append(js)
        elif "://" in str(js.filename) or attributes.get("async") or attributes.get("type") == "module":
            extra.append(js)
        else:
            scripts.append(plain(js.filename))
            data.update({k: v for k, v in attributes.items() if k.startswith("data-")})
    scripts += [s for s in THEME_JS if s not in scripts]  # Jupyter Book links every script of book/_static itself
    if not hasattr(app.builder, "_replication_assets"):
        app.builder._replication_assets = (sheets, scripts)
    bundled_sheets, bundled_scripts = app.builder._replication_assets
    context["css_files"] = [_CascadingStyleSheet(CSS_BUNDLE, rel="stylesheet", type="text/css"),
                            *(_CascadingStyleSheet(s, rel="stylesheet", type="text/css")
                              for s in sheets if s not in bundled_sheets)]
    # searchtools.js, which the search page loads by itself after these, needs doctools.js run first
    timing = {} if context.get("pagename") == "search" else {"defer": "defer"}
    own = [_JavaScript(s, **timing) for s in scripts if s not in bundled_scripts]
    if timing and not own:  # nothing on the page waits for the bundle: it comes once the page is drawn
        loader = LATE_LOADER % (json.dumps(context["pathto"](JS_BUNDLE, 1)), json.dumps(data))
        script = _JavaScript(None, body=loader)
    else:
        script = _JavaScript(JS_BUNDLE, **timing, **data)
    context["script_files"] = [*inline, script, *own, *extra]


#: the page's script, fetched once the page has been drawn: on a phone's connection its 80 kB shared the bandwidth
#: with the page and its stylesheet, and put the first paint back by half a second. What it does (the sidebars'
#: and folds' buttons, the menus, the claims' filter) starts a moment later; the page draws the same without it.
LATE_LOADER = """addEventListener("load", () => requestAnimationFrame(() => setTimeout(() => {
  const script = document.createElement("script");
  script.src = %s;
  for (const [name, value] of Object.entries(%s)) script.setAttribute(name, value);
  document.head.append(script);
})));"""


def after_first_paint(code: str) -> str:
    """``code`` run once the page has been drawn: after the next frame (a page still loading draws first)."""
    return f"requestAnimationFrame(() => setTimeout(function () {{\n{code}\n}}));"


def linked_scripts(outdir: Path, pages: dict[str, str]) -> set[str]:
    """The scripts (paths in ``outdir``) that ``pages`` (name -> HTML) link, other than the bundle."""
    found = set()
    for name, text in pages.items():
        for src in re.findall(r'<script\b[^>]*\bsrc="([^":?#]+)', text):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(name), src))
            if path != JS_BUNDLE and (outdir / path).is_file():
                found.add(path)
    return found


def write_bundles(outdir: Path, sheets: list[str], scripts: list[str], pages: dict[str, str]) -> dict[str, str]:
    """Join ``sheets`` and ``scripts`` (paths in ``outdir``) into :data:`CSS_BUNDLE` and :data:`JS_BUNDLE`; their
    digests, which the pages' links then carry (``?v=``: a browser fetches a changed bundle anew). The stylesheet
    is purged against the words of ``pages`` (name -> HTML) and of the scripts that run in them (the bundled and
    those a page links itself), not of every script in ``_static`` (bootstrap's, fontawesome's: in the site,
    linked by no page), then pruned of the custom properties none of them reads."""
    seen: set = set()
    texts = {name: patched(name, re.sub(r"^//# sourceMappingURL=.*$", "", (outdir / name).read_text(encoding="utf-8"),
                                        flags=re.M)) for name in scripts}
    js = "\n;\n".join(after_first_paint(texts[name]) if name in AFTER_FIRST_PAINT else texts[name] for name in scripts)
    running = [*texts.values(), *((outdir / name).read_text(encoding="utf-8", errors="replace")
                                  for name in sorted(linked_scripts(outdir, pages)))]
    words, reads = set(), set()
    for text in [*pages.values(), *running]:
        words.update(re.findall(r"[\w-]+", text))
        reads |= read_properties(text)
    css = unread_properties_pruned(purge("".join(stylesheet(outdir, name, seen) for name in sheets), words), reads)
    digests = {}
    for name, text in ((CSS_BUNDLE, css), (JS_BUNDLE, js)):
        (outdir / name).write_text(text, encoding="utf-8")
        digests[name] = hashlib.sha256(text.encode()).hexdigest()[:8]
    return digests
