"""The claims page: each source's rows of the claims table as HTML, each claim linked to its chapter."""
from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML
from myst_nb import glue

from replication.claims import ARITHMETIC, DATA, OUTCOMES, RESTATED, replications
from replication.pipeline import toc_chapters

#: Outcome -> the colour it is written in.
OUTCOME_COLOURS = dict(zip(OUTCOMES, ("#1a7f37", "#b35900", "#8250df", "#6e7781")))


def chapter_link(name: str, available) -> str:
    """An HTML link to a chapter listed in ``available``; plain text otherwise (a link to a page missing
    from _toc.yml would break the strict build)."""
    return f'<a href="{name}.html">{name}</a>' if name in available else html.escape(name)


def glue_counts(df: pd.DataFrame) -> dict[str, int]:
    """Glue the page's headline counts (``n_total``, ``n_data``, ``n_replicated``, ``n_arithmetic``,
    ``n_restated``) for its prose; returns them."""
    counts = {"n_total": len(df), "n_data": int((df["kind"] == DATA).sum()), "n_replicated": len(replications(df)),
              "n_arithmetic": int((df["kind"] == ARITHMETIC).sum()), "n_restated": int((df["kind"] == RESTATED).sum())}
    for name, value in counts.items():
        glue(name, value, display=False)
    return counts


def show(df: pd.DataFrame, source: str | None = None, outcome: str | None = None, kind: str | None = None) -> HTML:
    """The rows of one source (or one outcome, or one kind of evidence) as an HTML table, each claim linked
    to its chapter."""
    rows = df
    for column, value in (("source", source), ("outcome", outcome), ("kind", kind)):
        if value is not None:
            rows = rows[rows[column] == value]
    available = set(toc_chapters())
    cols = ["id", "quote", "expected", "ours", "kind", "outcome", "rule", "note", "chapter"]
    if (rows["corrected"] != "").any():
        cols.insert(6, "corrected")
        cols.insert(7, "under correction")
    out = rows[cols].copy()
    for c in cols:
        out[c] = out[c].map(lambda x: html.escape(str(x)))
    out["chapter"] = rows["chapter"].map(lambda c: chapter_link(c, available))
    out["outcome"] = rows["outcome"].map(lambda s: f'<span style="color: {OUTCOME_COLOURS[s]}">{s}</span>')
    table_html = out.to_html(index=False, escape=False, border=0, classes="claims")
    return HTML(f'<div style="overflow-x: auto; font-size: 0.85em">{table_html}</div>')
