"""HTML documentation pages as plain text, deterministically (the Debian documentation corpus,
:mod:`replication.corpus.debian`).

What a reader of the page reads is kept; what a site wraps around every page is not:

* dropped whole: ``head``, ``script``, ``style``, ``nav``, forms, and every element whose class, id or
  role names navigation (:data:`NAVIGATION`: the Sphinx sidebars and "related" bars, DocBook's
  ``navheader``/``navfooter`` and tables of contents, SQLite's menus, the pilcrow after each heading);
* a block element (paragraph, heading, list item, table row, ...) is a line of its own, with its
  whitespace collapsed to single spaces; a ``pre`` block keeps its lines and their indentation;
* empty lines and trailing spaces go; character references are decoded.

The same bytes in give the same text out: nothing depends on the machine, the locale or the order of
a dictionary.
"""
from __future__ import annotations

import html.parser
import re

#: Class, id or role values (matched anywhere in the value) that mark an element as the site's
#: navigation, not the page's content.
NAVIGATION = re.compile(r"nav|(?<!with)sidebar|footer|related|\btoc\b|fancy_toc|menu|search|header|copyright|logo|"
                        r"tagline|switcher|^hd$|^ft$|\btopic\b|breadcrumb|skip", re.IGNORECASE)
#: Elements dropped with everything inside them.
DROPPED = frozenset({"head", "script", "style", "nav", "form", "select", "button", "noscript", "svg", "map"})
#: Elements that start and end a line.
BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
                    "pre", "table", "tr", "blockquote", "section", "article", "main", "hr", "caption", "figure",
                    "figcaption", "body", "html", "thead", "tbody", "tfoot", "center", "address"})
#: Elements without an end tag.
VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "param", "source",
                  "track", "wbr"})
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip: list[str] = []  # the tag of the dropped element we are inside, once per nesting level
        self.pre = 0

    def _dropped(self, tag: str, attrs) -> bool:
        if tag in DROPPED:
            return True
        return any(k in ("class", "id", "role") and v and NAVIGATION.search(v) for k, v in attrs)

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag == self.skip[0] and tag not in VOID:
                self.skip.append(tag)
            return
        if self._dropped(tag, attrs):
            if tag not in VOID:
                self.skip.append(tag)
            return
        if tag == "pre":
            self.pre += 1
        if tag in BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if not self.skip and tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if self.skip:
            if tag == self.skip[0]:
                self.skip.pop()
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        self.parts.append(data.replace("\r\n", "\n") if self.pre else _SPACE.sub(" ", data))
        if self.pre:  # a marker: the lines of this text keep their indentation
            self.parts[-1] = "\0" + self.parts[-1].replace("\n", "\n\0")


def html_to_text(page: str) -> str:
    """The text a reader reads on ``page`` (an HTML document), one block per line."""
    p = _Text()
    p.feed(page)
    p.close()
    lines = []
    for line in "".join(p.parts).split("\n"):
        if "\0" in line:  # inside pre: indentation is content
            line = line.replace("\0", "").rstrip()
        else:
            line = _SPACE.sub(" ", line).strip()
        if line.strip():
            lines.append(line)
    return "\n".join(lines)
