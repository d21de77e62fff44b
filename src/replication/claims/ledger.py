"""The claims ledger's engine: what a claim is, its kinds of evidence and outcomes, and the table of them.

A claim is data (:class:`Claim`): where it comes from (``source``, a source document or a table of the
Chinchilla paper), a few words of the quote, the value as printed (``expected``), the reading that
decides agreement (``rule``), the chapter that computes it, ``compute``, a function returning our
value, and ``kind``, what that value is evidence of (:data:`KINDS`):

- **replicated from data**: recomputed from data the claim did not come from (the points read off
  Chinchilla's Figure 4, our own training runs);
- **arithmetically consistent**: the source's printed numbers agree with each other or with a formula
  (a table's FLOPs against 6·N·D, a parameter count against the model's shape, a statement against the
  losses its author reports);
- **restated**: a number typed from one document compared with the same number typed from another (a
  secondary source quoting the paper); it shows the quote is faithful, nothing more;
- **not checked**: the claim has no ``compute``.

The outcome is decided when the table is built, never typed, in the book's one vocabulary
(:mod:`replication.verdict`; every row carries its :class:`~replication.verdict.Verdict`):

- an arithmetic check (a number recomputed, a statement read as a test on our numbers) **holds** or
  **differs**; the note says what we found;
- a statistical comparison (the printed value against our interval, paired t tests over seeds) **agrees**, **disagrees** or is **inconclusive**, and then its label says
  the seeds and the power ("inconclusive (3 seeds, power 0.25)"). A comparison on our scaled-down
  counterpart of an experiment (``at_cpu_scale``) says nothing about the source's own runs;
- a claim without ``compute`` has **no check**; the note says why (it needs trained models, the paper's
  unpublished training runs, or the sentence is garbled). It is kept so that the ledger lists every
  statement, checkable or not.

The rules that decide a claim are in :mod:`replication.claims.rules`.

Krasser's claims also carry ``corrected``: the same quantity under his February 2023 FLOP correction
(:mod:`replication.counting`, accounting ``"corrected"``), shown beside the article's accounting.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import pandas as pd

from replication.book.chapters import toc_chapters
from replication.claims.rules import perturbed
from replication.errors import ReplicationError, check_choice, check_range
from replication.verdict import AGREES, DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE

#: What a claim's check is evidence of (see the module docstring), strongest first.
KINDS = ("replicated from data", "arithmetically consistent", "restated", "not checked")
DATA, ARITHMETIC, RESTATED, NOT_CHECKED = KINDS

#: The outcome of a claim with nothing to compute.
NO_CHECK = "no check"
#: A claim's outcome, decided when the table is built: a Verdict's, or no check.
OUTCOMES = (HOLDS, DIFFERS, AGREES, DISAGREES, INCONCLUSIVE, NO_CHECK)

#: source key -> heading on the claims page, in page order.
SOURCES = {
    "article": "Krasser (2023), the article",
    "update": "Krasser's update note on the FLOP correction",
    "T2": "Chinchilla Table 2: exponents",
    "T3": "Chinchilla Table 3: Approach 1 allocations",
    "A3": "Chinchilla Table A3: Approaches 2 and 3",
    "A4": "Chinchilla Table A4: FLOPs over 6ND",
    "eq10": "Chinchilla eq. 10: the parametric loss",
    "summary": "A published summary of the paper",
    "assignment": "A course assignment's answer",
    "notes": "Reading notes on the paper",
}


@lru_cache(maxsize=1)
def _chapters() -> tuple[str, ...]:
    """The book's pages: a claim names the one that computes it."""
    return tuple(toc_chapters())


@dataclass(frozen=True)
class Claim:
    """One checkable statement. ``compute=None`` marks it as having no check (``note`` says why);
    a claim with ``compute`` names the ``kind`` of evidence its value is. ``at_cpu_scale``: the value
    comes from our scaled-down counterpart of an experiment, so its outcome says nothing of the source's
    own runs (the page lists those rows apart)."""

    id: str
    source: str
    quote: str
    expected: object
    rule: object
    chapter: str
    compute: Callable[[], object] | None = None
    note: str = ""
    corrected: Callable[[], object] | None = None
    kind: str = ""
    at_cpu_scale: bool = False
    same_test_as: str = ""
    provenance: str = ""

    def __post_init__(self):
        if not self.provenance:
            object.__setattr__(self, "provenance", SOURCES[self.source] if self.source in SOURCES else "")
        check_choice("source", self.source, tuple(SOURCES))
        check_choice("chapter", self.chapter, _chapters())
        if self.compute is None:
            if not self.note:
                raise ReplicationError(f"claim {self.id}: a claim without compute needs a note saying why")
            if self.kind not in ("", NOT_CHECKED):
                raise ReplicationError(f"claim {self.id}: kind={self.kind!r} needs a compute; without one "
                                       f"the kind is {NOT_CHECKED!r}")
            object.__setattr__(self, "kind", NOT_CHECKED)
        else:
            check_choice(f"kind of claim {self.id}", self.kind, KINDS[:3])
        if self.at_cpu_scale and self.kind != DATA:
            raise ReplicationError(f"claim {self.id}: at_cpu_scale needs kind={DATA!r} (our own runs)")


def evaluate(claim: Claim, perturb: float = 0.0) -> dict:
    """The claim's row of the claims table: our value, the kind of evidence, the outcome (``outcome``: the
    word; ``label``: as printed, with n and power when inconclusive; ``verdict``: the
    :class:`~replication.verdict.Verdict`, None without a check), and the explanation."""
    row = {"id": claim.id, "source": claim.source, "quote": claim.quote,
           "expected": claim.rule.show_expected(claim.expected), "rule": claim.rule.text(),
           "chapter": claim.chapter, "ours": "", "kind": claim.kind, "outcome": NO_CHECK, "label": NO_CHECK,
           "verdict": None, "at CPU scale": claim.at_cpu_scale,
           "note": claim.note, "corrected": "", "under correction": "", "same test as": claim.same_test_as,
           "provenance": claim.provenance}
    if claim.compute is None:
        return row
    ours = perturbed(claim.compute(), 1 + perturb)
    verdict, remark = claim.rule.verdict(ours, claim.expected, claim.quote)
    row["ours"] = claim.rule.show(ours)
    row["outcome"], row["label"], row["verdict"] = verdict.outcome, verdict.label, verdict
    row["note"] = "; ".join(x for x in (remark, claim.note) if x)
    if claim.corrected is not None:
        alt = perturbed(claim.corrected(), 1 + perturb)
        row["corrected"] = claim.rule.show(alt)
        row["under correction"] = "still holds" if claim.rule.check(alt, claim.expected)[0] else "no longer holds"
    return row


def table(claims, perturb: float = 0.0) -> pd.DataFrame:
    """Every claim of ``claims`` with its computed status, in page order (by source, then as given).

    ``perturb`` multiplies every computed float by ``1 + perturb``: how many claims survive shows how
    tight the rules are.
    """
    check_range("perturb", perturb, -0.5, 0.5, lo_open=True, hi_open=True)
    df = pd.DataFrame([evaluate(c, perturb) for c in claims])
    order = {s: i for i, s in enumerate(SOURCES)}
    df = df.sort_values("source", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return df


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Claims per kind of evidence (rows) and outcome (columns), with totals."""
    out = pd.crosstab(pd.Categorical(df["kind"], KINDS), pd.Categorical(df["outcome"], OUTCOMES),
                      dropna=False)
    out["total"] = out.sum(axis=1)
    out.loc["total"] = out.sum(axis=0)
    out.index.name, out.columns.name = "kind of evidence", None
    return out


def distinct_tests(df: pd.DataFrame) -> pd.DataFrame:
    """The claims that are tests of their own: a claim that repeats another's test of the data (the same
    number quoted by a second source, b = 1 − a after snapping) names it in ``same test as`` and is left out."""
    col = df["same test as"] if "same test as" in df else pd.Series("", index=df.index)
    return df[col.fillna("") == ""]


def replications(df: pd.DataFrame) -> pd.DataFrame:
    """The claims that count as replicated: recomputed from independent data, and holding or agreeing."""
    return df[(df["kind"] == DATA) & df["outcome"].isin((HOLDS, AGREES))]


def summary_by_source(df: pd.DataFrame) -> pd.DataFrame:
    """Claims per source and outcome."""
    out = pd.crosstab(df["source"].map(SOURCES), df["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    out = out.reindex([SOURCES[s] for s in SOURCES if SOURCES[s] in out.index])
    out.index.name = "source"
    out.columns.name = None
    return out


def perturb_claim(c: Claim, factor: float) -> Claim:
    """The same claim with our value multiplied by ``factor`` (what the status test perturbs)."""
    original = c.compute
    if original is None:
        raise ReplicationError(f"claim {c.id} has no computed value to perturb")
    return replace(c, compute=lambda: perturbed(original(), factor))
