"""Exponents with their intervals (:mod:`replication.studies.exponents`) as the book shows them."""
from __future__ import annotations

import math

import pandas as pd

from replication.studies.exponents import BOOTSTRAP, LOBO, LOWO, RESIDUAL

from .tables import table


#: The most columns a table of exponents has before it is turned (one column per exponent): about 80 px
#: each at the book's table font, in the article's column of about 770 px at 1400 px.
MAX_COLUMNS = 8


def span(ci, digits: int = 3) -> str:
    """"0.424 to 0.598"; — where there is no interval."""
    if ci is None or not all(math.isfinite(x) for x in ci):
        return "—"
    return f"{ci[0]:.{digits}f} to {ci[1]:.{digits}f}"


def intervals_table(rows: dict, paper: dict | None = None, digits: int = 3, caption: str | None = None):
    """One row per exponent (``rows``: label -> :class:`~replication.studies.exponents.ExponentIntervals`):
    the estimate, the bootstrap and residual-t intervals, the leave-one-out ranges and any other range,
    the widest of them, and (``paper``: label -> the paper's value) whether the paper's value lies inside
    the widest. The level is the first row's."""
    level = next(iter(rows.values())).level
    names = [BOOTSTRAP, RESIDUAL, LOBO, LOWO]
    for e in rows.values():
        names += [k for k in e.intervals() if k not in names]
    out = []
    for label, e in rows.items():
        iv = e.intervals()
        row = {"exponent": label, "estimate": f"{e.estimate:.{digits}f}"}
        row |= {k: span(iv.get(k), digits) for k in names}
        row["widest"] = span(e.widest, digits)
        if paper is not None:
            row["paper"] = (f"{paper[label]:.2f}: {e.verdict(paper[label])}" if label in paper else "—")
        out.append(row)
    headers = {BOOTSTRAP: f"bootstrap {level:.0%}", RESIDUAL: f"residual t {level:.0%}",
               LOBO: "leave one budget out (range)", LOWO: "leave one width out (range)",
               "widest": "widest (decides)", "paper": "paper's value: outcome"}
    t = pd.DataFrame(out)
    t = t[[c for c in t.columns if c in ("exponent", "estimate", "widest", "paper") or (t[c] != "—").any()]]
    headers = {k: v for k, v in headers.items() if k in t.columns} | {
        k: f"{k} (range)" for k in t.columns if k not in headers and k not in ("exponent", "estimate")}
    if len(t.columns) > MAX_COLUMNS and len(t) < len(t.columns) - 1:
        # a few exponents with many intervals: one column per exponent, so that the table fits the column
        t = t.set_index("exponent").T.rename(index=headers).rename_axis("interval").reset_index()
        return table(t, index="interval", caption=caption)
    return table(t, index="exponent", headers=headers, caption=caption)
