"""What a chapter, a study or the claims ledger concludes about one claim of a paper: one type, one vocabulary.

A :class:`Verdict` holds the claim (what the paper says), the paper's value, ours with its interval, the
outcome, the test that decided it and, for a statistical test, its number of seeds or runs and its power.
There are two kinds of outcome:

- a **statistical** comparison (a value against an interval, a paired t test over seeds) *agrees*,
  *disagrees*, or is *inconclusive*; an inconclusive verdict always says its n and power,
  "inconclusive (3 seeds, power 0.25)";
- an **arithmetic** check (a number recomputed from the paper's own inputs) *holds* or *differs*.

Every chapter's Verdict box is rendered from these objects (:meth:`Verdict.markdown`,
:func:`box_markdown`), and the claims ledger reads their :attr:`Verdict.outcome`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from replication.errors import ReplicationError

AGREES, DISAGREES, INCONCLUSIVE = "agrees", "disagrees", "inconclusive"
HOLDS, DIFFERS = "holds", "differs"
STATISTICAL = (AGREES, DISAGREES, INCONCLUSIVE)
ARITHMETIC = (HOLDS, DIFFERS)
OUTCOMES = STATISTICAL + ARITHMETIC

#: sphinx-design badge colour of each outcome (never the warning colour: an outcome is not an alarm).
BADGE = {AGREES: "success", HOLDS: "success", DISAGREES: "danger", DIFFERS: "danger", INCONCLUSIVE: "secondary"}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class Verdict:
    """One claim and what we find of it.

    ``claim`` is one sentence of what the paper says; ``finding`` one sentence of what we find (with its
    interval), written out by :meth:`markdown` from ``ours`` and ``interval`` when left empty. ``test``
    names how the outcome was decided ("widest interval", "paired t test", "recomputed to 0.5%").
    ``n`` counts what the test rests on (seeds, runs or budgets) and ``power`` is the chance that the test
    would have found a true difference of the size that matters; both are required for *inconclusive*.
    """

    claim: str
    outcome: str
    test: str
    paper: float | str | None = None
    ours: float | None = None
    interval: tuple[float, float] | None = None
    n: int | None = None
    power: float | None = None
    p_value: float | None = None
    finding: str = ""
    unit: str = "seeds"

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ReplicationError(f"outcome={self.outcome!r}: allowed: {', '.join(OUTCOMES)}")
        if not self.claim.strip() or not self.test.strip():
            raise ReplicationError("a Verdict needs a claim and a test; allowed: non-empty sentences")
        if self.interval is not None:
            lo, hi = self.interval
            if not (lo <= hi):
                raise ReplicationError(f"interval={self.interval!r}: allowed: (lo, hi) with lo <= hi")
            object.__setattr__(self, "interval", (float(lo), float(hi)))
        if self.power is not None and not (math.isnan(self.power) or 0 <= self.power <= 1):
            raise ReplicationError(f"power={self.power!r}: allowed: 0 to 1 (or NaN)")
        if self.outcome == INCONCLUSIVE and self.n is None:
            raise ReplicationError("an inconclusive Verdict says its n; allowed: n = the seeds or runs tested")

    @property
    def statistical(self) -> bool:
        return self.outcome in STATISTICAL

    @property
    def label(self) -> str:
        """The outcome as the book prints it: "inconclusive (3 seeds, power 0.25)" carries n and power."""
        if self.outcome != INCONCLUSIVE:
            return self.outcome
        unit = self.unit[:-1] if self.n == 1 and self.unit.endswith("s") else self.unit
        power = f", power {self.power:.2f}" if self.power is not None and not math.isnan(self.power) else ""
        return f"{INCONCLUSIVE} ({self.n} {unit}{power})"

    def __str__(self) -> str:
        return self.label

    def badge(self) -> str:
        """The outcome as a MyST badge (sphinx-design), e.g. ``{bdg-success}`agrees```."""
        return f"{{bdg-{BADGE[self.outcome]}}}`{self.label}`"

    def found(self, fmt: str = ".2f") -> str:
        """One sentence of what we find: ``finding`` if given, else ours with its interval."""
        if self.finding:
            return self.finding
        if not _finite(self.ours):
            return ""
        text = f"We find {self.ours:{fmt}}"
        if self.interval is not None:
            text += f" ({self.interval[0]:{fmt}} to {self.interval[1]:{fmt}})"
        return text + "."

    def markdown(self, fmt: str = ".2f") -> str:
        """The verdict as one MyST paragraph: badge, the paper's claim, what we find."""
        return " ".join(x for x in (self.badge(), self.claim.strip(), self.found(fmt)) if x)

    def row(self) -> dict:
        """A flat row for tables and the claims ledger."""
        return {"claim": self.claim, "paper": self.paper, "ours": self.ours,
                "interval": self.interval, "outcome": self.label, "test": self.test, "n": self.n,
                "power": self.power, "p": self.p_value}


def words(text: str) -> int:
    """Words a reader reads in rendered MyST: roles and badges count by their visible text."""
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)
    return len([w for w in re.split(r"\s+", text) if re.search(r"\w", w)])


def box_markdown(verdicts: list[Verdict] | Verdict, fmt: str = ".2f") -> str:
    """The body of a chapter's Verdict box: one paragraph per verdict (the headline first)."""
    if isinstance(verdicts, Verdict):
        verdicts = [verdicts]
    if not verdicts or not all(isinstance(v, Verdict) for v in verdicts):
        raise ReplicationError("verdicts: allowed: one Verdict or a non-empty list of Verdicts")
    return "\n\n".join(v.markdown(fmt) for v in verdicts)


def from_interval(claim: str, paper: float, ours: float, interval: tuple[float, float], test: str,
                  n: int | None = None, unit: str = "budgets", **kw) -> Verdict:
    """*agrees* when the paper's value lies inside our interval, else *disagrees*."""
    lo, hi = interval
    inside = lo <= paper <= hi
    return Verdict(claim=claim, outcome=AGREES if inside else DISAGREES, test=test, paper=paper, ours=ours,
                   interval=(lo, hi), n=n, unit=unit, **kw)


def from_check(claim: str, paper: float, ours: float, rtol: float, test: str | None = None, **kw) -> Verdict:
    """An arithmetic check: *holds* when ours is within ``rtol`` (relative) of the paper's value."""
    holds = math.isclose(ours, paper, rel_tol=rtol)
    return Verdict(claim=claim, outcome=HOLDS if holds else DIFFERS,
                   test=test or f"recomputed, to {rtol:.1%}", paper=paper, ours=ours, **kw)


def from_rounding(claim: str, paper: float, ours: float, fmt: str, test: str | None = None, **kw) -> Verdict:
    """An arithmetic check against a printed number: *holds* when ours, written as the paper writes it
    (``fmt``, e.g. ".2f" or ".4f"), gives the printed digits."""
    holds = format(ours, fmt) == format(paper, fmt)
    return Verdict(claim=claim, outcome=HOLDS if holds else DIFFERS,
                   test=test or f"recomputed, rounded as printed ({fmt})", paper=paper, ours=ours, **kw)


def outcome_of(label: str) -> str:
    """The outcome word of a printed label ("inconclusive (3 seeds, power 0.25)" -> "inconclusive")."""
    head = str(label).split(" (", 1)[0].strip()
    if head not in OUTCOMES:
        raise ReplicationError(f"verdict={label!r}: allowed: {', '.join(OUTCOMES)} (with n and power)")
    return head
