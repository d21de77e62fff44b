"""The claims page: the filter bar, and each source's claims as HTML, one row group per claim with its anchor,
outcome and kind-of-evidence badges, and its note as a line of its own. book/_static/claims.js filters the rows
(and reads the filter from the page's address); book/_static/claims.css colours the badges."""
from __future__ import annotations

import html
import re

import pandas as pd
from IPython.display import HTML, Markdown
from myst_nb import glue

from replication.claims import (AGREES, ARITHMETIC, DATA, DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE, KINDS, NO_CHECK,
                                OUTCOMES, RESTATED, SOURCES, replications)
from replication.book.chapters import toc_chapters
from replication.claims.ledger import NOT_CHECKED, distinct_tests
from replication.repository import BOOK_DIR
from replication.verdict import Verdict, box_markdown

from .tables import numbered_caption, power_of_ten, table

#: Outcomes the page lists first, across sources; a source's own section links to those rows instead of
#: repeating them, so that every claim is on the page once (and its anchor is unique).
LISTED_FIRST = (DIFFERS, DISAGREES, INCONCLUSIVE)
#: Outcomes folded away under each source's open claims.
CONFIRMED = (HOLDS, AGREES)


def slug(label: str) -> str:
    """``label`` as a CSS class and URL-hash value: "no check" -> "no-check"."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def chapter_title(name: str) -> str:
    """A chapter's title, as its page heads it (its first ``# `` line); its name if it has none."""
    path = BOOK_DIR / f"{name}.md"
    if not re.fullmatch(r"[\w-]+", name) or not path.is_file():
        return name
    return next((line[2:].strip() for line in path.read_text().splitlines() if line.startswith("# ")), name)


def chapter_link(name: str, available) -> str:
    """An HTML link to a chapter listed in ``available``, named by its title; its title as plain text
    otherwise (a link to a page missing from _toc.yml would break the strict build)."""
    title = html.escape(chapter_title(name))
    return f'<a href="{name}.html">{title}</a>' if name in available else title


#: the page's Verdict groups the sources: the paper itself, Krasser's article and note, and the write-ups
#: (every other source)
PAPER_SOURCES = ("T2", "T3", "A3", "A4", "eq10")
KRASSER_SOURCES = ("article", "update")

#: outcome -> the name of its count in :func:`glue_counts`
OUTCOME_COUNTS = {HOLDS: "n_holds", DIFFERS: "n_differs", AGREES: "n_agrees", DISAGREES: "n_disagrees",
                  INCONCLUSIVE: "n_inconclusive", NO_CHECK: "n_no_check"}


def outcome_counts(rows: pd.DataFrame) -> str:
    """The outcomes of ``rows`` in words, the most common first: "40 hold, 3 differ, 2 have no check"."""
    verbs = {HOLDS: ("holds", "hold"), DIFFERS: ("differs", "differ"), AGREES: ("agrees", "agree"),
             DISAGREES: ("disagrees", "disagree"), INCONCLUSIVE: ("is inconclusive", "are inconclusive"),
             NO_CHECK: ("has no check", "have no check")}
    counts = rows["outcome"].value_counts()
    parts = []
    for outcome in sorted(OUTCOMES, key=lambda o: (-counts.get(o, 0), OUTCOMES.index(o))):
        n = int(counts.get(outcome, 0))
        if n:
            one, many = verbs.get(outcome, (outcome, outcome))
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) if parts else "none"


def glue_counts(df: pd.DataFrame) -> dict:
    """Glue the page's headline counts for its prose and its Verdict; returns them. Totals: ``n_total``,
    ``n_checked`` (all but those without a check);
    by kind of evidence: ``n_data``, ``n_replicated`` (from data, and holding), ``n_arithmetic``,
    ``n_restated``; by outcome: the names of :data:`OUTCOME_COUNTS`; by group of sources: ``n_paper``,
    ``n_krasser``, ``n_writeups`` and their outcomes in words (``paper_outcomes``, ...)."""
    counts = {"n_total": len(df), "n_data": int((df["kind"] == DATA).sum()), "n_replicated": len(replications(df)),
              "n_arithmetic": int((df["kind"] == ARITHMETIC).sum()), "n_restated": int((df["kind"] == RESTATED).sum())}
    counts |= {name: int((df["outcome"] == outcome).sum()) for outcome, name in OUTCOME_COUNTS.items()}
    counts["n_checked"] = len(df) - counts["n_no_check"]
    distinct = distinct_tests(df)
    counts |= {"n_distinct": len(distinct), "n_distinct_data": int((distinct["kind"] == DATA).sum()),
               "n_distinct_replicated": len(replications(distinct)), "n_repeats": len(df) - len(distinct)}
    groups = {"paper": df["source"].isin(PAPER_SOURCES), "krasser": df["source"].isin(KRASSER_SOURCES)}
    groups["writeups"] = ~(groups["paper"] | groups["krasser"])
    for group, mask in groups.items():
        counts[f"n_{group}"] = int(mask.sum())
        counts[f"{group}_outcomes"] = outcome_counts(df[mask])
    for name, value in counts.items():
        glue(name, value, display=False)
    return counts


def verdict(df: pd.DataFrame) -> str:
    """The page's Verdict box, glued as ``claims_verdict``: how many statements the sources make and how many of
    them we can check, what became of those, and how many of those checked against independent data hold or
    agree; the badge says whether every arithmetic check holds. (The statements without a check are counted
    apart, so that the box does not call them checkable.)"""
    checked = df[df["outcome"] != NO_CHECK]
    v = Verdict(claim=f"The paper, Krasser's article and note, and three write-ups make {len(df)} statements "
                      f"that this page lists; {len(checked)} of them we can check, {len(df) - len(checked)} not.",
                outcome=DIFFERS if (df["outcome"] == DIFFERS).any() else HOLDS, test="each claim's own rule",
                finding=f"Of those checked, {outcome_counts(checked)}; of the {int((df['kind'] == DATA).sum())} "
                        f"checked against independent data, {len(replications(df))} hold or agree.")
    text = box_markdown(v)
    glue("claims_verdict", Markdown(text), display=False)
    return text


def summary_table(summary: pd.DataFrame):
    """``claims.summary``: claims per kind of evidence and outcome, with totals."""
    return table(summary, index="kind of evidence", formats={c: "int" for c in summary.columns},
                 caption="Claims by kind of evidence (rows) and outcome (columns)")


def source_table(by_source: pd.DataFrame):
    """``claims.summary_by_source``: claims per source and outcome, with each source's total."""
    t = by_source.assign(total=by_source.sum(axis=1))
    return table(t, index="source", formats={c: "int" for c in t.columns},
                 caption="Claims by source (rows) and outcome (columns)")


def tokens_at_70b(t: pd.DataFrame):
    """``claims.rows_at_70b``: the printed tokens of the '67B' rows against the law through the other rows."""
    return table(t, index="approach",
                 headers={"approach": "approach (table)", "printed tokens": "printed tokens (trillions)",
                          "law at 67B": "law at 67B (trillions)", "law at 70B": "law at 70B (trillions)"},
                 formats={c: (lambda x: f"{x / 1e12:.2f}") for c in t.columns},
                 caption="The tokens printed in the rows labelled 67B, against the power law through the other "
                         "rows at 67B and at 70B parameters")


def badge(group: str, label: str, value: str | None = None) -> str:
    """A badge: the label in words, coloured by its class (``outcome-<slug>`` or ``kind-<slug>`` of ``value``,
    by default the label itself)."""
    return f'<span class="claim-badge {group}-{slug(value or label)}">{html.escape(label)}</span>'


def _select(name: str, title: str, options: list[tuple[str, str, int]]) -> str:
    opts = "".join(f'<option value="{html.escape(value)}">{html.escape(text)} ({n})</option>'
                   for value, text, n in options if n)
    return f'<label>{title} <select name="{name}"><option value="">any</option>{opts}</select></label>'


def filters(df: pd.DataFrame) -> HTML:
    """The filter bar: outcome, kind of evidence and source, each with its count. Hidden until claims.js runs
    (without scripts every row is shown and the bar would do nothing)."""
    outcome = [(slug(o), o, int((df["outcome"] == o).sum())) for o in OUTCOMES]
    kind = [(slug(k), k, int((df["kind"] == k).sum())) for k in KINDS]
    source = [(s, heading, int((df["source"] == s).sum())) for s, heading in SOURCES.items()]
    return HTML(f'<form class="claims-filter" hidden aria-label="Filter the claims">'
                f'{_select("outcome", "Outcome", outcome)}{_select("kind", "Kind of evidence", kind)}'
                f'{_select("source", "Source", source)}<button type="button" name="all">Show all</button>'
                f'<output class="claims-count">{len(df)} claims</output></form>')


_E_NOTATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?!\w|\.\d)")


def powers_of_ten(text: str) -> str:
    """Every number in e-notation in ``text`` written with a power of ten and the same digits:
    "5.78e+17" -> "5.78×10¹⁷", "1e-3" -> "10⁻³". Other text is left alone."""
    return _E_NOTATION.sub(lambda m: power_of_ten(m.group(1), int(m.group(2))), text)


#: a power in caret notation: 2^(1/3), 10^26, 10^0.73, B^β
_CARET = re.compile(r"\^(?:\(([^()]*)\)|([-+]?[\w.]*\w))")


def carets(text: str) -> str:
    """Powers written with a caret, as superscripts: "2^(1/3)" -> "2<sup>1/3</sup>". ``text`` is HTML
    already escaped; the superscript holds the same escaped characters."""
    return _CARET.sub(lambda m: f"<sup>{m.group(1) if m.group(1) is not None else m.group(2)}</sup>", text)


def _claim(row, available, corrected: bool, section: str | None = None) -> str:
    """One claim: its main row (quote, printed, ours, badges) and, under it, the note, the rule (where a
    rule decides it), the chapter and the provenance (left out in ``section``, the source's own, whose heading
    says it). Numbers in e-notation are written with powers of ten (:func:`powers_of_ten`), with the digits
    kept; powers in caret notation as superscripts (:func:`carets`). The cells carry no class or label of their
    own: claims.css styles them, and names their columns on a phone, by their place in the row (the page holds
    335 claims, and per-cell markup was a sixth of its weight)."""
    e = lambda x: carets(html.escape(powers_of_ten(str(x))))  # noqa: E731
    cid = html.escape(str(row["id"]))
    cells = [f'<td><a href="#claim-{cid}">{cid}</a> {e(row["quote"])}</td>', f'<td>{e(row["expected"])}</td>',
             f'<td>{e(row["ours"])}</td>']
    if corrected:
        after = f' {badge("correction", row["under correction"])}' if row["under correction"] else ""
        cells.append(f'<td>{e(row["corrected"])}{after}</td>')
    outcome = badge("outcome", row.get("label") or row["outcome"], row["outcome"])  # the label: n and power
    cells.append(f'<td>{outcome} {badge("kind", row["kind"])}</td>')
    note = e(row["note"])
    rule = f'rule: {e(row["rule"])}; ' if row["rule"] and row["kind"] != NOT_CHECKED else ""
    same = row.get("same test as", "") or ""
    repeat = (f'; the same test as <a href="#claim-{html.escape(same)}">{html.escape(same)}</a>, counted once'
              if same else "")
    provenance = row.get("provenance", "")
    source = f'; provenance: {e(provenance)}' if provenance and provenance != section else ""
    detail = (f'<td colspan="{len(cells)}">{note}<span class="claim-rule">{rule}'
              f'chapter: {chapter_link(row["chapter"], available)}{repeat}{source}</span></td>')
    return (f'<tbody class="claim" id="claim-{cid}" data-outcome="{slug(row["outcome"])}" '
            f'data-kind="{slug(row["kind"])}" data-source="{html.escape(str(row["source"]))}">'
            f'<tr>{"".join(cells)}</tr><tr>{detail}</tr></tbody>')


def _table(rows: pd.DataFrame, available, caption: str, section: str | None = None) -> str:
    """``rows`` as one table, ``caption`` (plain text) numbered with the page's other tables; ``section``: the
    heading of the source whose section shows it. A table with the column of the corrected values is of class
    ``corrected`` (claims.css names the columns by their place)."""
    corrected = bool((rows["corrected"] != "").any())
    head = ["claim", "printed", "ours"] + (["under the correction"] if corrected else []) + ["outcome, evidence"]
    cols = "".join(f'<col class="col-{slug(h)}">' for h in head)
    ths = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(_claim(row, available, corrected, section) for _, row in rows.iterrows())
    _, numbered = numbered_caption(html.escape(caption, quote=False))
    return (f'<table class="claims{" corrected" if corrected else ""}"><caption>{numbered}</caption>'
            f'<colgroup>{cols}</colgroup><thead><tr>{ths}</tr></thead>{body}</table>')


def show(df: pd.DataFrame, source: str | None = None, outcome: str | tuple | None = None, kind: str | None = None,
         cpu: bool | None = None, caption: str | None = None) -> HTML:
    """The claims of one source (or of one or several outcomes, one kind of evidence, or only those at CPU scale,
    ``cpu``, or none of those): those that do not hold or agree first, those that do folded away below them.
    Without ``outcome``, the rows of :data:`LISTED_FIRST` are linked, not repeated (the page shows them in its
    first sections), so the first table holds the claims that have no check. Each table has a numbered caption:
    ``caption``, or by default the source's heading and what the table holds."""
    section = SOURCES.get(source) if source else None
    heading = section or "The claims"
    first_caption = caption or f"{heading}: the claims that have no check"
    holding_caption = f"{caption or heading}: the claims that hold or agree"
    rows = df
    for column, value in (("source", source), ("outcome", outcome), ("kind", kind), ("at CPU scale", cpu)):
        if value is not None:
            rows = rows[rows[column].isin(value if isinstance(value, tuple) else (value,))]
    available = set(toc_chapters())
    parts = []
    if outcome is None:
        above = rows[rows["outcome"].isin(LISTED_FIRST)]
        rows = rows[~rows["outcome"].isin(LISTED_FIRST)]
        if len(above):
            links = ", ".join(f'<a href="#claim-{html.escape(i)}">{html.escape(i)}</a>' for i in above["id"])
            parts.append(f'<p class="claims-elsewhere">Listed above ({len(above)}): {links}</p>')
    order = rows["outcome"].map({o: i for i, o in enumerate(OUTCOMES)})
    confirmed = rows["outcome"].isin(CONFIRMED)
    open_rows = rows[~confirmed].iloc[order[~confirmed].argsort(kind="stable")]
    holding = rows[confirmed]
    if len(open_rows):
        parts.append(_table(open_rows, available, first_caption, section))
    if len(holding):
        one = len(holding) == 1
        folded = _table(holding, available, holding_caption, section)
        parts.append(f'<details class="claims-holding"><summary>{len(holding)} claim{"s" * (not one)} '
                     f'that hold{"s" * one} or agree{"s" * one}</summary>{folded}</details>')
    parts.append('<p class="claims-none" hidden>No claim here matches the filter.</p>')
    return HTML(f'<div class="claims-block">{"".join(parts)}</div>')
