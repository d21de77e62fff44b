"""One stylesheet and one script per page (replication.book.chrome): ``_static/site.css`` and ``_static/site.js``.

Each page links the two in place of the themes' and extensions' files, which are joined into them when the build
ends (myst-nb writes its stylesheet only then): stylesheets with their ``@import`` inlined and their relative
``url()`` rewritten, scripts in their order. The stylesheet keeps only the rules that can apply somewhere in the
site (:func:`purge`: two thirds of the themes' rules style widgets this book has not), which halves what a page
downloads before it can draw.
"""
from __future__ import annotations

import hashlib
import posixpath
import re
from pathlib import Path

CSS_BUNDLE, JS_BUNDLE = "_static/site.css", "_static/site.js"
#: what pydata-sphinx-theme's templates link by hand, before the page's own assets, and after them
THEME_CSS = ["_static/styles/theme.css", "_static/styles/pydata-sphinx-theme.css"]
THEME_JS = ["_static/scripts/bootstrap.js", "_static/scripts/pydata-sphinx-theme.js"]


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
#: classes that scripts build from parts (bootstrap's "bs-" + name + "-auto") or set as a state: always kept
DYNAMIC = re.compile(r"(?:bs-|tooltip|popover|dropdown|fade|show|collaps|modal|offcanvas|active|disabled)")
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


def purge(css: str, words: set[str]) -> str:
    """``css`` with only the rules that can apply (:func:`can_apply`) to a page of the site."""
    out = []
    for prelude, block in rules(css):
        if block is None:
            out.append(prelude + ";")
        elif prelude.startswith("@"):
            inner = purge(block, words) if prelude.split()[0].lower() in GROUPS else block
            if inner.strip():
                out.append(f"{prelude}{{{inner}}}")
        else:
            kept = [s for s in _selectors(prelude) if can_apply(s, words)]
            if kept:
                out.append(f"{','.join(kept)}{{{block}}}")
    return "".join(out)


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
    scripts += THEME_JS
    if not hasattr(app.builder, "_replication_assets"):
        app.builder._replication_assets = (sheets, scripts)
    bundled_sheets, bundled_scripts = app.builder._replication_assets
    context["css_files"] = [_CascadingStyleSheet(CSS_BUNDLE, rel="stylesheet", type="text/css"),
                            *(_CascadingStyleSheet(s, rel="stylesheet", type="text/css")
                              for s in sheets if s not in bundled_sheets)]
    # searchtools.js, which the search page loads by itself after these, needs doctools.js run first
    timing = {} if context.get("pagename") == "search" else {"defer": "defer"}
    context["script_files"] = [*inline, _JavaScript(JS_BUNDLE, **timing, **data),
                               *(_JavaScript(s, **timing) for s in scripts if s not in bundled_scripts), *extra]


def write_bundles(outdir: Path, sheets: list[str], scripts: list[str], pages: list[str]) -> dict[str, str]:
    """Join ``sheets`` and ``scripts`` (paths in ``outdir``) into :data:`CSS_BUNDLE` (purged against the words
    of ``pages``, the site's HTML, and of every script in ``_static``) and :data:`JS_BUNDLE`; their digests,
    which the pages' links then carry (``?v=``: a browser fetches a changed bundle anew)."""
    seen: set = set()
    js = "\n;\n".join(re.sub(r"^//# sourceMappingURL=.*$", "", (outdir / name).read_text(encoding="utf-8"),
                              flags=re.M) for name in scripts)
    words = set()
    for text in [*pages, *(p.read_text(encoding="utf-8", errors="replace") for p in (outdir / "_static").rglob("*.js"))]:
        words.update(re.findall(r"[\w-]+", text))
    css = purge("".join(stylesheet(outdir, name, seen) for name in sheets), words)
    digests = {}
    for name, text in ((CSS_BUNDLE, css), (JS_BUNDLE, js)):
        (outdir / name).write_text(text, encoding="utf-8")
        digests[name] = hashlib.sha256(text.encode()).hexdigest()[:8]
    return digests
