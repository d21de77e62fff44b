"""The claims page: each source's rows of the claims table as HTML, each claim linked to its chapter."""
from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

from replication.pipeline import toc_chapters

#: Status -> the colour it is written in.
STATUS_COLOURS = {"reproduced": "#1a7f37", "differs": "#b35900", "not reproducible here": "#6e7781"}


def chapter_link(name: str, available) -> str:
    """An HTML link to a chapter listed in ``available``; plain text otherwise (a link to a page missing
    from _toc.yml would break the strict build)."""
    return f'<a href="{name}.html">{name}</a>' if name in available else html.escape(name)


def show(df: pd.DataFrame, source: str | None = None, status: str | None = None) -> HTML:
    """The rows of one source (or one status) as an HTML table, each claim linked to its chapter."""
    rows = df
    if source is not None:
        rows = rows[rows["source"] == source]
    if status is not None:
        rows = rows[rows["status"] == status]
    available = set(toc_chapters())
    cols = ["id", "quote", "expected", "ours", "status", "rule", "note", "chapter"]
    if (rows["corrected"] != "").any():
        cols.insert(5, "corrected")
        cols.insert(6, "under correction")
    out = rows[cols].copy()
    for c in cols:
        out[c] = out[c].map(lambda x: html.escape(str(x)))
    out["chapter"] = rows["chapter"].map(lambda c: chapter_link(c, available))
    out["status"] = rows["status"].map(lambda s: f'<span style="color: {STATUS_COLOURS[s]}">{s}</span>')
    table_html = out.to_html(index=False, escape=False, border=0, classes="claims")
    return HTML(f'<div style="overflow-x: auto; font-size: 0.85em">{table_html}</div>')
