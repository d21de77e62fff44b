"""The claims engine: what a claim is, the rules that decide agreement, and the table of statuses.

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

The outcome is decided when the table is built, never typed (:data:`OUTCOMES`):

- **holds**: the rule holds for our value;
- **differs**: it does not; the note says what we found;
- **not replicated at CPU scale**: a claim about Krasser's experiments (or the paper's recipes) that our
  scaled-down counterpart (``at_cpu_scale``) contradicts; it says nothing against the article's own runs;
- **inconclusive at CPU scale**: our counterpart's test could not tell (its value says "inconclusive
  (n seeds, power p)"): neither for the claim nor against it;
- **not checkable here**: the claim has no ``compute``; the note says why (it needs trained models,
  the paper's unpublished training runs, or the sentence is garbled).

Rules (:class:`Printed`, :class:`Within`, :class:`Range`, :class:`Predicate`) say what "agrees"
means. Most numbers are compared the way the source prints them: our value, printed with the same
digits, must give the same string. Where our value is computed from other *printed* (rounded) numbers,
it is an :class:`Interval` covering every value those numbers could stand for, and it agrees if any
value in it prints as the claim. A source that cuts digits off instead of rounding (1.862 written
"1.8") is accepted only where the rule says ``truncate=True``, and the table then says so.

Krasser's claims also carry ``corrected``: the same quantity under his February 2023 FLOP correction
(:mod:`replication.estimate`, accounting ``"corrected"``), shown beside the article's accounting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from replication.book.chapters import toc_chapters
from replication.errors import ReplicationError, check_choice, check_range

#: What a claim's check is evidence of (see the module docstring), strongest first.
KINDS = ("replicated from data", "arithmetically consistent", "restated", "not checked")
DATA, ARITHMETIC, RESTATED, NOT_CHECKED = KINDS

#: A claim's outcome, decided when the table is built.
OUTCOMES = ("holds", "differs", "not replicated at CPU scale", "inconclusive at CPU scale", "not checkable here")
HOLDS, DIFFERS, NOT_AT_CPU_SCALE, INCONCLUSIVE_AT_CPU_SCALE, NOT_CHECKABLE = OUTCOMES

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


# ----------------------------------------------------------------------------------------------
# values: plain numbers, intervals, or several named values


@dataclass(frozen=True)
class Interval:
    """Every value a computation on rounded inputs can take: [lo, hi], for positive quantities."""

    lo: float
    hi: float

    @classmethod
    def printed(cls, value: float, fmt: str, scale: float = 1.0) -> "Interval":
        """The values that print as ``value`` does with ``fmt`` (after dividing by ``scale``)."""
        h = _half_unit(value / scale, fmt) * scale
        return cls(value - h, value + h)

    def __mul__(self, other):
        o = other if isinstance(other, Interval) else Interval(other, other)
        return Interval(self.lo * o.lo, self.hi * o.hi)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = other if isinstance(other, Interval) else Interval(other, other)
        return Interval(self.lo / o.hi, self.hi / o.lo)

    def __rtruediv__(self, other):
        return Interval(other, other) / self


def _half_unit(x: float, fmt: str) -> float:
    """Half a unit in the last place of ``x`` printed with ``fmt`` (an 'e' or 'f' format)."""
    if not (fmt.startswith(".") and fmt[-1] in "ef" and fmt[1:-1].isdigit()):
        raise ReplicationError(f"fmt={fmt!r} must be an 'e' or 'f' format such as '.2e' or '.1f'")
    s = format(x, fmt)
    decimals = int(fmt[1:-1])
    if fmt.endswith("e"):
        return 0.5 * 10.0 ** (int(s.split("e")[1]) - decimals)
    return 0.5 * 10.0 ** -decimals


def _values(v) -> list:
    return list(v.values()) if isinstance(v, dict) else [v]


def _perturbed(v, factor: float):
    """``v`` with every float (and interval) multiplied by ``factor``; counts and labels stay."""
    if isinstance(v, dict):
        return {k: _perturbed(x, factor) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_perturbed(x, factor) for x in v]
    if isinstance(v, Interval):
        return Interval(v.lo * factor, v.hi * factor)
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return float(v) * factor
    return v


# ----------------------------------------------------------------------------------------------
# rules: what "agrees" means


@dataclass(frozen=True)
class _Shown:
    fmt: str = ".4g"
    scale: float = 1.0
    unit: str = ""

    def show_one(self, v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, Interval):
            lo, hi = self.show_one(v.lo), self.show_one(v.hi)
            return lo if lo == hi else f"{lo} to {hi}"
        if isinstance(v, str):
            return v
        if isinstance(v, (list, tuple)):
            return ", ".join(self.show_one(x) for x in v)
        x = v if self.scale == 1 else v / self.scale
        return f"{x:{self.fmt}}{self.unit}"

    def show(self, v) -> str:
        if isinstance(v, dict):
            return "; ".join(f"{k}: {self.show_one(x)}" for k, x in v.items())
        return self.show_one(v)


@dataclass(frozen=True)
class Printed(_Shown):
    """Our value printed like the source (``fmt`` after dividing by ``scale``) gives its digits.

    An :class:`Interval` agrees if it overlaps the printed value's rounding interval. With
    ``truncate=True`` a source that drops digits instead of rounding also agrees.
    """

    fmt: str = ".2e"
    truncate: bool = False

    def text(self) -> str:
        how = "rounded or truncated" if self.truncate else "rounded"
        return f"{how} as printed ({self.fmt}{' ' + self.unit.strip() if self.unit.strip() else ''})"

    def show_expected(self, expected) -> str:
        return _Shown.show_one(self, expected)

    def show_one(self, v) -> str:
        # where the source may cut digits off, show ours with one digit more, so that the cut is visible
        if self.truncate and self.fmt.endswith("f") and not isinstance(v, (str, bool, Interval, list, tuple)):
            more = replace(self, fmt=f".{int(self.fmt.strip('.').rstrip('f') or 0) + 1}f", truncate=False)
            return more.show_one(v)
        return super().show_one(v)

    def check(self, ours, expected) -> tuple[bool, str]:
        remarks = []
        for v in _values(ours):
            e = expected
            if isinstance(v, Interval):
                h = _half_unit(e / self.scale, self.fmt) * self.scale
                lo, hi = (e, e + 2 * h) if self.truncate else (e - h, e + h)
                if not (v.lo <= hi and v.hi >= lo):
                    return False, ""
                continue
            rounded = _Shown.show_one(self, v)
            if rounded == _Shown.show_one(self, e):
                continue
            if self.truncate and self.fmt.endswith("f") and self._truncated(v) == _Shown.show_one(self, e):
                remarks.append(f"cut, not rounded: {self.show_one(v)} rounds to {rounded}")
                continue
            return False, ""
        return True, "; ".join(remarks)

    def _truncated(self, v) -> str:
        decimals = int(self.fmt.strip(".").rstrip("f") or 0)
        x = v / self.scale
        cut = math.floor(x * 10**decimals + 1e-9) / 10**decimals
        return f"{cut:.{decimals}f}{self.unit}"


@dataclass(frozen=True)
class Within(_Shown):
    """|ours - expected| <= rel * |expected| (or <= abs)."""

    rel: float | None = None
    abs: float | None = None

    def text(self) -> str:
        return f"within {self.rel:.0%}" if self.rel is not None else f"within ±{self.abs:g}"

    def show_expected(self, expected) -> str:
        return self.show(expected)

    def check(self, ours, expected) -> tuple[bool, str]:
        tol = self.abs if self.rel is None else self.rel * abs(expected)
        return all(abs(v - expected) <= tol for v in _values(ours)), ""


@dataclass(frozen=True)
class Range(_Shown):
    """Every value of ours lies in the printed range (lo, hi)."""

    def text(self) -> str:
        return "inside the stated range"

    def show_expected(self, expected) -> str:
        return f"{self.show_one(expected[0])} to {self.show_one(expected[1])}"

    def check(self, ours, expected) -> tuple[bool, str]:
        lo, hi = expected
        return all(lo <= v <= hi for v in _values(ours)), ""


@dataclass(frozen=True)
class Predicate(_Shown):
    """A statement read as a test on our numbers: ``reading`` says how, ``test`` decides."""

    reading: str = ""
    test: Callable = bool

    def text(self) -> str:
        return self.reading

    def show_expected(self, expected) -> str:
        return str(expected)

    def check(self, ours, expected) -> tuple[bool, str]:
        return bool(self.test(ours)), ""


# ----------------------------------------------------------------------------------------------
# claims


@dataclass(frozen=True)
class Claim:
    """One checkable statement. ``compute=None`` marks it not checkable here (``note`` says why);
    a claim with ``compute`` names the ``kind`` of evidence its value is. ``at_cpu_scale``: the value
    comes from our scaled-down counterpart of an experiment, so a failed check reads "not replicated
    at CPU scale", not "differs"."""

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
    """The claim's row of the claims table: our value, the kind of evidence, the outcome, and the
    explanation."""
    row = {"id": claim.id, "source": claim.source, "quote": claim.quote,
           "expected": claim.rule.show_expected(claim.expected), "rule": claim.rule.text(),
           "chapter": claim.chapter, "ours": "", "kind": claim.kind, "outcome": NOT_CHECKABLE,
           "note": claim.note, "corrected": "", "under correction": "", "same test as": claim.same_test_as,
           "provenance": claim.provenance}
    if claim.compute is None:
        return row
    ours = _perturbed(claim.compute(), 1 + perturb)
    ok, remark = claim.rule.check(ours, claim.expected)
    row["ours"] = claim.rule.show(ours)
    row["outcome"] = (HOLDS if ok else DIFFERS if not claim.at_cpu_scale
                      else INCONCLUSIVE_AT_CPU_SCALE if _inconclusive(ours) else NOT_AT_CPU_SCALE)
    row["note"] = "; ".join(x for x in (remark, claim.note) if x)
    if claim.corrected is not None:
        alt = _perturbed(claim.corrected(), 1 + perturb)
        row["corrected"] = claim.rule.show(alt)
        row["under correction"] = "still holds" if claim.rule.check(alt, claim.expected)[0] else "no longer holds"
    return row


def _inconclusive(ours) -> bool:
    """Whether a CPU-scale value reports a test that could not tell: its ``outcome`` (or, for a recipe
    claim, every "test: verdict" it holds) is "inconclusive ..."."""
    if not isinstance(ours, dict):
        return False
    if "outcome" in ours:
        return str(ours["outcome"]).startswith("inconclusive")
    verdicts = [str(v).rsplit(": ", 1)[-1] for v in ours.values() if isinstance(v, str) and ": " in v]
    return bool(verdicts) and all(v.startswith("inconclusive") for v in verdicts)


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
    """The claims that count as replicated: recomputed from independent data, and holding."""
    return df[(df["kind"] == DATA) & (df["outcome"] == HOLDS)]


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
    return replace(c, compute=lambda: _perturbed(original(), factor))
