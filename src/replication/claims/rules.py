"""The rules that decide a claim of the ledger (:mod:`replication.claims.ledger`), and the values they compare.

Arithmetic rules (:class:`Printed`, :class:`Within`, :class:`Range`, :class:`Predicate`) say what "holds"
means; their verdict *holds* or *differs*. Most numbers are compared the way the source prints them: our
value, printed with the same digits, must give the same string. Where our value is computed from other
*printed* (rounded) numbers, it is an :class:`Interval` covering every value those numbers could stand for,
and it holds if any value in it prints as the claim. A source that cuts digits off instead of rounding
(1.862 written "1.8") is accepted only where the rule says ``truncate=True``, and the table then says so.

Statistical rules take their verdict from a test: :class:`InInterval` (the printed value inside our
interval) *agrees* or *disagrees*; :class:`FromTests` (our paired t tests over seeds) also may be
*inconclusive*, with its seeds and power.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from replication.errors import ReplicationError
from replication.studies.stats import all_agree
from replication.verdict import AGREES, DIFFERS, HOLDS, Verdict, from_interval


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


def _number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _values(v) -> list:
    return list(v.values()) if isinstance(v, dict) else [v]


def perturbed(v, factor: float):
    """``v`` with every float (and interval) multiplied by ``factor``; counts and labels stay."""
    if isinstance(v, dict):
        return {k: perturbed(x, factor) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [perturbed(x, factor) for x in v]
    if isinstance(v, Interval):
        return Interval(v.lo * factor, v.hi * factor)
    if _number(v):
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
        if isinstance(v, Verdict):
            return v.label
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

    def verdict(self, ours, expected, claim: str) -> tuple[Verdict, str]:
        """An arithmetic check: *holds* when :meth:`check` does, else *differs*; and the check's remark."""
        ok, remark = self.check(ours, expected)
        return Verdict(claim=claim, outcome=HOLDS if ok else DIFFERS, test=self.text(),
                       paper=float(expected) if _number(expected) else self.show_expected(expected),
                       ours=float(ours) if _number(ours) else None, finding=f"We find {self.show(ours)}."), remark


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
class InInterval(_Shown):
    """The printed value ``printed`` lies inside our interval: our value is ``{"refit": x, "95% from": lo,
    "95% to": hi}`` (a refit and its 95% interval; for an exponent, the widest of its intervals). A statistical
    comparison: it *agrees* or *disagrees*."""

    printed: float = math.nan
    fmt: str = ".3f"
    what: str = "the 95% bootstrap interval"

    def text(self) -> str:
        return f"{self.printed:g} inside {self.what} of the refit"

    def show_expected(self, expected) -> str:
        return self.show(expected)

    def verdict(self, ours, expected, claim: str) -> tuple[Verdict, str]:
        return from_interval(claim, expected, ours["refit"], (ours["95% from"], ours["95% to"]), self.text()), ""


@dataclass(frozen=True)
class FromTests(_Shown):
    """A claim decided by statistical tests on our runs: our value holds their Verdicts (one, or several that
    :func:`~replication.studies.stats.all_agree` joins: every comparison the claim makes is needed), beside the
    numbers they rest on. It *agrees*, *disagrees* or is *inconclusive (n seeds, power p)*."""

    reading: str = ""

    def text(self) -> str:
        return self.reading

    def show_expected(self, expected) -> str:
        return str(expected)

    def verdict(self, ours, expected, claim: str) -> tuple[Verdict, str]:
        found = [v for v in _values(ours) if isinstance(v, Verdict)]
        if not found:
            raise ReplicationError(f"claim {claim!r}: a tested claim's value holds the Verdicts of its tests")
        return (found[0] if len(found) == 1 else all_agree(found, claim)), ""


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
