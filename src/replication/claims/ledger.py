"""Every checkable claim of the source documents, beside the value our code computes.

A claim is data (:class:`Claim`): where it comes from (``source``, a seed document or a table of the
Chinchilla paper), a few words of the quote, the value as printed (``expected``), the reading that
decides agreement (``rule``), the chapter that computes it, and ``compute``, a function returning our
value. The status is decided when the table is built, never typed:

- **reproduced**: the rule holds for our value;
- **differs**: it does not; the note says what we found;
- **not reproducible here**: the claim has no ``compute``; the note says why (it needs trained models,
  the paper's unpublished training runs, GPU training at article scale, or the sentence is garbled).

Rules (:class:`Printed`, :class:`Within`, :class:`Range`, :class:`Predicate`) say what "agrees"
means. Most numbers are compared the way the source prints them: our value, printed with the same
digits, must give the same string. Where our value is computed from other *printed* (rounded) numbers,
it is an :class:`Interval` covering every value those numbers could stand for, and it agrees if any
value in it prints as the claim. A source that cuts digits off instead of rounding (1.862 written
"1.8") is accepted only where the rule says ``truncate=True``, and the table then says so.

Krasser's claims also carry ``corrected``: the same quantity under his February 2023 FLOP correction
(:mod:`replication.estimate.flops`, accounting ``"corrected"``), shown beside the article's accounting.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np
import pandas as pd

from replication.sources import chinchilla as paper
from replication.errors import ReplicationError

STATUSES = ("reproduced", "differs", "not reproducible here")

#: source key -> heading on the claims page, in page order.
SOURCES = {
    "003": "Krasser (2023): the article (seed 003)",
    "000": "Krasser's update note on the FLOP correction (seed 000)",
    "T2": "Chinchilla Table 2: exponents",
    "T3": "Chinchilla Table 3: Approach 1 allocations",
    "A3": "Chinchilla Table A3: Approaches 2 and 3",
    "A4": "Chinchilla Table A4: FLOPs over 6ND",
    "eq10": "Chinchilla eq. 10: the parametric loss",
    "001": "A summary of the Chinchilla paper (seed 001)",
    "002": "An assignment answer (seed 002)",
    "004": "Reading notes on Chinchilla (seed 004)",
}

#: Chapters that compute claims (the page links those present in _toc.yml).
CHAPTERS = ("flops", "glance", "approach1", "approach2", "approach3", "experiment1", "experiment2a",
            "experiment2b", "claims")

GOPHER_FLOPS = paper.GOPHER_FLOPS


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
    """One checkable statement. ``compute=None`` marks it not reproducible here (``note`` says why)."""

    id: str
    source: str
    quote: str
    expected: object
    rule: object
    chapter: str
    compute: Callable[[], object] | None = None
    note: str = ""
    corrected: Callable[[], object] | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ReplicationError(f"source={self.source!r} is not known; choose one of: {', '.join(SOURCES)}")
        if self.chapter not in CHAPTERS:
            raise ReplicationError(f"chapter={self.chapter!r} is not known; choose one of: {', '.join(CHAPTERS)}")
        if self.compute is None and not self.note:
            raise ReplicationError(f"claim {self.id}: a claim without compute needs a note saying why")


def evaluate(claim: Claim, perturb: float = 0.0) -> dict:
    """The claim's row of the claims table: our value, the status, and the explanation."""
    row = {"id": claim.id, "source": claim.source, "quote": claim.quote,
           "expected": claim.rule.show_expected(claim.expected), "rule": claim.rule.text(),
           "chapter": claim.chapter, "ours": "", "status": STATUSES[2], "note": claim.note,
           "corrected": "", "under correction": ""}
    if claim.compute is None:
        return row
    ours = _perturbed(claim.compute(), 1 + perturb)
    ok, remark = claim.rule.check(ours, claim.expected)
    row["ours"] = claim.rule.show(ours)
    row["status"] = STATUSES[0] if ok else STATUSES[1]
    row["note"] = "; ".join(x for x in (remark, claim.note) if x)
    if claim.corrected is not None:
        alt = _perturbed(claim.corrected(), 1 + perturb)
        row["corrected"] = claim.rule.show(alt)
        row["under correction"] = "still holds" if claim.rule.check(alt, claim.expected)[0] else "no longer holds"
    return row


def table(perturb: float = 0.0, claims: list[Claim] | None = None) -> pd.DataFrame:
    """All claims with their computed status, in page order (by source).

    ``perturb`` multiplies every computed float by ``1 + perturb``: how many claims survive shows how
    tight the rules are.
    """
    if not -0.5 < perturb < 0.5:
        raise ReplicationError(f"perturb={perturb!r} is out of range; allowed: (-0.5, 0.5)")
    claims = registry() if claims is None else claims
    df = pd.DataFrame([evaluate(c, perturb) for c in claims])
    order = {s: i for i, s in enumerate(SOURCES)}
    df = df.sort_values("source", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return df


def summary(df: pd.DataFrame) -> pd.Series:
    """Claims per status (and the total)."""
    counts = df["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    counts["total"] = len(df)
    return counts.rename("claims")


def summary_by_source(df: pd.DataFrame) -> pd.DataFrame:
    """Claims per source and status."""
    out = pd.crosstab(df["source"].map(SOURCES), df["status"]).reindex(columns=list(STATUSES), fill_value=0)
    out = out.reindex([SOURCES[s] for s in SOURCES if SOURCES[s] in out.index])
    out.index.name = "source"
    out.columns.name = None
    return out


# ----------------------------------------------------------------------------------------------
# the page


def toc_chapters() -> set[str]:
    """Chapters listed in _toc.yml now (links to others would break the strict build)."""
    import yaml

    from replication.pipeline import REPO_DIR

    toc = yaml.safe_load((REPO_DIR / "_toc.yml").read_text())
    files = {toc.get("root")}
    for entry in toc.get("chapters", []):
        files.add(entry["file"])
        files.update(sub["file"] for sub in entry.get("sections", []))
    return files


def chapter_link(name: str, available: set[str] | None = None) -> str:
    """An HTML link to a chapter that exists; plain text for one that does not (yet)."""
    available = toc_chapters() if available is None else available
    if name in available:
        return f'<a href="{name}.html">{name}</a>'
    return f"{name} (to come)" if name != "claims" else "this page"


_STATUS_COLOURS = {"reproduced": "#1a7f37", "differs": "#b35900", "not reproducible here": "#6e7781"}


def show(df: pd.DataFrame, source: str | None = None, status: str | None = None):
    """The rows of one source (or one status) as an HTML table, each claim linked to its chapter."""
    from IPython.display import HTML

    rows = df
    if source is not None:
        rows = rows[rows["source"] == source]
    if status is not None:
        rows = rows[rows["status"] == status]
    available = toc_chapters()
    cols = ["id", "quote", "expected", "ours", "status", "rule", "note", "chapter"]
    if (rows["corrected"] != "").any():
        cols.insert(5, "corrected")
        cols.insert(6, "under correction")
    out = rows[cols].copy()
    for c in cols:
        out[c] = out[c].map(lambda x: html.escape(str(x)))
    out["chapter"] = rows["chapter"].map(lambda c: chapter_link(c, available))
    out["status"] = rows["status"].map(lambda s: f'<span style="color: {_STATUS_COLOURS[s]}">{s}</span>')
    table_html = out.to_html(index=False, escape=False, border=0, classes="claims")
    return HTML(f'<div style="overflow-x: auto; font-size: 0.85em">{table_html}</div>')


# ----------------------------------------------------------------------------------------------
# computations behind the claims (cached: the page builds in seconds)


@lru_cache(maxsize=None)
def _article_table(number: int, accounting: str) -> pd.DataFrame:
    from replication.studies.krasser_design import article_table

    return article_table(number, accounting)


@lru_cache(maxsize=None)
def _experiment(name: str, accounting: str):
    from replication.studies.krasser_design import experiment

    return experiment(name, accounting)


@lru_cache(maxsize=None)
def _law(approach: int):
    from replication.fit.laws import chinchilla_law

    return chinchilla_law(approach)


@lru_cache(maxsize=None)
def _frontier(which: str = "unrounded"):
    from replication.fit.fitting import frontier

    return frontier(paper.EQ10_UNROUNDED if which == "unrounded" else paper.EQ10)


def _cell(number: int, accounting: str, row: int, column: str) -> float:
    return float(_article_table(number, accounting).loc[row, column])


def _ref_model():
    """Experiment 1's reference model (512 channels, 9 layers, V = 32,000), the article's example."""
    from replication.estimate.flops import PerceiverAR

    return PerceiverAR(32000, 2048, 512, 512, 9)


@lru_cache(maxsize=None)
def table_exponents() -> dict[str, tuple[float, float]]:
    """The exponents (a, b) that the paper's own numbers imply, per approach.

    Approaches 1 and 2: free power laws through Table 3 and Table A3's approach-2 columns.
    Approach 3: the frontier of eq. 10 (unrounded constants); ``"approach3 (printed eq. 10)"``: the
    same with the constants as printed.
    """
    from replication.fit.fitting import fit_compute_optimal

    t3, a3 = paper.TABLE_3, paper.TABLE_A3
    out = {}
    for key, (C, N, D) in {"approach1": (t3["C"], t3["N"], t3["D"]),
                           "approach2": (a3["approach2_C"], a3["N"], a3["approach2_D"])}.items():
        fit = fit_compute_optimal(C, N, D)
        out[key] = (fit["a"], fit["b"])
    for key, which in (("approach3", "unrounded"), ("approach3 (printed eq. 10)", "printed")):
        law = _frontier(which)
        out[key] = (law.a, law.b)
    return out


def _growth(factor: float, which: str) -> dict[str, float]:
    """N_opt (which="a") or D_opt (which="b") growth per ``factor`` x compute, per approach."""
    exps = table_exponents()
    i = 0 if which == "a" else 1
    return {f"A{k}": factor ** exps[f"approach{k}"][i] for k in (1, 2, 3)}


def _n_opt_at(C: float) -> dict[str, float]:
    return {"A1": float(_law(1).n_opt(C)), "A2": float(_law(2).n_opt(C)), "A3": float(_frontier().n_opt(C))}


def _d_opt_at(C: float) -> dict[str, float]:
    return {"A1": float(_law(1).d_opt(C)), "A2": float(_law(2).d_opt(C)), "A3": float(_frontier().d_opt(C))}


def _eq10_loss(params: dict, N: float, D: float) -> float:
    from replication.fit.fitting import predict_loss

    return float(predict_loss(params, N, D))


# Gopher and Chinchilla as in the paper's Table 4 (80 layers, head size 128, ffw = 4 d_model):
# Decoder's parameter count gives 279.7B and 70.1B for these shapes.
_GOPHER_SHAPE = dict(num_layers=80, d_model=16384, ffw_size=4 * 16384, num_heads=128, kv_size=128)
_CHINCHILLA_SHAPE = dict(num_layers=80, d_model=8192, ffw_size=4 * 8192, num_heads=64, kv_size=128)


def _training_flops(shape: dict, tokens: float) -> dict[str, float]:
    """Training FLOPs of a Table 4 model on ``tokens`` tokens: 6ND, and Appendix F as written."""
    from replication.estimate.flops import Decoder

    m = Decoder(**shape)
    return {"6ND": 6 * m.num_params * tokens, "Appendix F": m.flops("appendix_f") * tokens / m.seq_len}


def _size_label(n: float) -> str:
    """400M, 1B, 67B, 1T, 1.1B: model sizes the way the tables write them."""
    if n >= 1e12:
        return f"{n / 1e12:g}T"
    return f"{n / 1e9:g}B" if n >= 1e9 else f"{n / 1e6:g}M"


def _tokens_rule(D: float) -> Printed:
    """Tables 3 and A3 print tokens with one decimal, in billions below a trillion, else in trillions."""
    return Printed(".1f", scale=1e12, unit="T") if D >= 1e12 else Printed(".1f", scale=1e9, unit="B")


def _off_law_rows(x, y, tol: float) -> set[int]:
    return set(_off_law_rows_cached(tuple(map(float, x)), tuple(map(float, y)), tol))


@lru_cache(maxsize=None)
def _off_law_rows_cached(x: tuple, y: tuple, tol: float) -> frozenset[int]:
    """Rows that leave a power law through the other rows by more than ``tol``, worst first.

    A forward search: drop the row with the largest leave-one-out residual while it exceeds ``tol``.
    """
    lx, ly = np.log(np.array(x)), np.log(np.array(y))
    out: set[int] = set()
    while len(x) - len(out) > 3:
        worst, resid = None, 0.0
        for i in range(len(x)):
            if i in out:
                continue
            keep = [j for j in range(len(x)) if j != i and j not in out]
            s, c = np.polyfit(lx[keep], ly[keep], 1)
            r = abs(ly[i] - (c + s * lx[i]))
            if r > resid:
                worst, resid = i, r
        if resid <= math.log1p(tol):
            break
        out.add(worst)
    return frozenset(out)


def other_rows_law(x, y, i: int, tol: float = 0.02) -> float:
    """y at row ``i`` from a power law through the *other* rows of a table (outlier rows left out).

    The tables' rows lie on power laws in N to their printed precision (~0.5%), so this recovers a
    correct cell and exposes a wrong one. Rows that leave the law by more than ``tol`` are not used.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    skip = _off_law_rows(x, y, tol) | {i}
    keep = [j for j in range(len(x)) if j not in skip]
    s, c = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(np.exp(c + s * np.log(x[i])))


def rows_at_70b() -> pd.DataFrame:
    """The '67B' rows of Tables 3 and A3 against the law through the other rows, at 67B and at 70B."""
    t3, a3 = paper.TABLE_3, paper.TABLE_A3
    cols = {"Approach 1 (Table 3)": (t3["N"], t3["D"]), "Approach 2 (Table A3)": (a3["N"], a3["approach2_D"]),
            "Approach 3 (Table A3)": (a3["N"], a3["approach3_D"])}
    rows = []
    for label, (N, D) in cols.items():
        N, D = N.to_numpy(), D.to_numpy()
        i = int(np.flatnonzero(N == 67e9)[0])
        skip = _off_law_rows(N, D, 0.02) | {i}
        keep = [j for j in range(len(N)) if j not in skip]
        s, c = np.polyfit(np.log(N[keep]), np.log(D[keep]), 1)
        rows.append({"approach": label, "printed tokens": D[i], "law at 67B": math.exp(c + s * math.log(67e9)),
                     "law at 70B": math.exp(c + s * math.log(70e9))})
    return pd.DataFrame(rows).set_index("approach")


# ----------------------------------------------------------------------------------------------
# the registry

_NEEDS_TRAINING = ("needs the trained Perceiver AR models: GPU training at the article's scale, which this "
                   "project does not run; the experiment chapters train CPU-scale counterparts")
_NEEDS_PAPER_RUNS = "needs the paper's own training runs, which are not published"
_NEEDS_MODELS = "needs the trained models themselves (an evaluation, not a computation)"

# Krasser's Tables 1-5 as printed (seed 003): model number, then the columns.
_SETUP_COLUMNS = ("num_steps", "D_iso", "N", "N_cross", "N_self", "C", "C_cross", "C_self", "C_self_hat")
_RATIO_COLUMNS = ("N_cross/N", "C_cross/C", "C_self/C_self_hat")
_ARTICLE_TABLES = {
    1: """1 50000 2.05e+09 4.58e+07 7.86e+05 4.50e+07 5.93e+17 1.45e+16 5.78e+17 5.53e+17
          2 31421 1.29e+09 7.27e+07 9.58e+05 7.17e+07 5.91e+17 1.27e+16 5.78e+17 5.54e+17
          3 21231 8.70e+08 1.08e+08 1.12e+06 1.06e+08 5.89e+17 1.12e+16 5.78e+17 5.55e+17""",
    2: """1 0.0172 0.0245 1.0455
          2 0.0132 0.0216 1.0437
          3 0.0104 0.0191 1.0414""",
    3: """1 26144 1.07e+09 3.06e+07 1.84e+06 2.87e+07 2.16e+17 1.77e+16 1.98e+17 1.85e+17
          2 18275 7.49e+08 4.35e+07 2.09e+06 4.14e+07 2.13e+17 1.55e+16 1.98e+17 1.86e+17
          3 20298 8.31e+08 3.94e+07 2.09e+06 3.73e+07 2.15e+17 1.72e+16 1.98e+17 1.86e+17
          4 46451 1.90e+09 1.76e+07 1.55e+06 1.60e+07 2.22e+17 2.38e+16 1.98e+17 1.83e+17
          5 8276 3.39e+08 9.54e+07 2.75e+06 9.26e+07 2.09e+17 1.12e+16 1.98e+17 1.88e+17""",
    4: """1 0.0600 0.0822 1.0723
          2 0.0481 0.0724 1.0644
          3 0.0531 0.0798 1.0635
          4 0.0881 0.1074 1.0820
          5 0.0289 0.0536 1.0505""",
    5: """1 26144 1.07e+09 2.95e+07 7.86e+05 2.87e+07 2.06e+17 7.60e+15 1.98e+17 1.85e+17
          2 18275 7.49e+08 4.23e+07 8.97e+05 4.14e+07 2.05e+17 6.63e+15 1.98e+17 1.86e+17""",
}
_TABLE_EXPERIMENT = {1: "1", 2: "1", 3: "2a", 4: "2a", 5: "2b"}

# Chinchilla Table A4's parameter column, as printed.
_TABLE_A4_PARAMS = (73e6, 305e6, 552e6, 1.1e9, 1.6e9, 6.8e9)


def _krasser_tables() -> list[Claim]:
    claims = []
    for number, text in _ARTICLE_TABLES.items():
        columns = _RATIO_COLUMNS if number in (2, 4) else _SETUP_COLUMNS
        for line in text.strip().splitlines():
            model, *cells = line.split()
            row = int(model)
            for column, printed in zip(columns, cells):
                if column == "num_steps":
                    rule = Printed(".0f")
                elif "/" in column:
                    rule = Printed(".4f")
                else:
                    rule = Printed(".2e")
                claims.append(Claim(
                    id=f"003.T{number}.{row}.{column}", source="003",
                    quote=f"Table {number}, model {row}, {column}", expected=float(printed), rule=rule,
                    chapter="flops",
                    compute=lambda n=number, r=row, c=column: _cell(n, "article", r, c),
                    corrected=lambda n=number, r=row, c=column: _cell(n, "corrected", r, c),
                    note=("under the correction model 2 is 592/10, not 624/11"
                          if number in (1, 2) and row == 2 else ""),
                ))
    return claims


def _krasser_text() -> list[Claim]:
    from replication.estimate.flops import PerceiverAR

    ref = _ref_model()
    e1, e2a = "1", "2a"

    def cross_share(acc):
        m = ref
        c_self, c_cross = m.self_attn_flops(acc), m.cross_attn_flops(0.5, acc)
        return c_cross / (c_self + c_cross)

    def all_models(column, how):
        vals = [v for n in (1, 3, 5) for v in _article_table(n, "article")[column]]
        return float(how(vals))

    def max_cross_share(acc):
        return {f"Exp. {_TABLE_EXPERIMENT[n]}": float(_article_table(n, acc)["C_cross/C"].max()) for n in (2, 4)} | {
            "Exp. 2b": float((_article_table(5, acc)["C_cross"] / _article_table(5, acc)["C"]).max())}

    def cross_share_trends(acc):
        longer = [PerceiverAR(32000, 512 + P, 512, 512, 9) for P in (512, 1536, 3584)]
        deeper = [PerceiverAR(32000, 2048, 512, 512, L) for L in (5, 9, 13)]

        def share(m):
            c, s = m.cross_attn_flops(0.5, acc), m.self_attn_flops(acc)
            return c / (c + s)

        return {"P = 512, 1536, 3584": [share(m) for m in longer], "L = 5, 9, 13": [share(m) for m in deeper]}

    def nearest_models(acc):
        exp = _experiment(e2a, acc)
        n_self = exp.setup()["N_self"]
        return {f"A{k}": int((n_self - exp.n_opt(_law(k))).abs().idxmin()) for k in (1, 2)}

    def ratios_vs_a4(acc):
        r = _article_table(2, acc)["C_self/C_self_hat"]
        return {f"model {i}": float(v) for i, v in r.items()}

    lo_a4, hi_a4 = float(paper.TABLE_A4["ratio"].min()), float(paper.TABLE_A4["ratio"].max())
    exps = table_exponents()
    claims = [
        Claim("003.range.min", "003", "model sizes ranging from 17M", 17e6,
              Printed(".0f", scale=1e6, unit="M", truncate=True), "flops",
              lambda: all_models("N", min), note="the smallest N of Tables 1, 3 and 5 (Table 3, model 4)"),
        Claim("003.range.max", "003", "... to 108M parameters", 108e6, Printed(".0f", scale=1e6, unit="M"), "flops",
              lambda: all_models("N", max)),
        Claim("003.a1", "003", "approach 1: a = 0.50", 0.50, Printed(".2f"), "approach1",
              lambda: exps["approach1"][0], note="exponent of a free power law through Table 3"),
        Claim("003.b1", "003", "approach 1: b = 0.50", 0.50, Printed(".2f"), "approach1",
              lambda: exps["approach1"][1], note="exponent of a free power law through Table 3"),
        Claim("003.a2", "003", "approach 2: a = 0.49", 0.49, Printed(".2f"), "approach2",
              lambda: exps["approach2"][0], note="exponent of a free power law through Table A3"),
        Claim("003.b2", "003", "approach 2: b = 0.51", 0.51, Printed(".2f"), "approach2",
              lambda: exps["approach2"][1], note="exponent of a free power law through Table A3"),
        Claim("003.kN1", "003", "N_opt = 0.0877 * C ** 0.50", 0.0877, Printed(".4f"), "approach1",
              lambda: _law(1).k_n, note="least squares in linear space, exponents fixed, on Table 3"),
        Claim("003.kD1", "003", "D_opt = 1.8960 * C ** 0.50", 1.8960, Printed(".4f"), "approach1",
              lambda: _law(1).k_d, note="least squares in linear space, exponents fixed, on Table 3"),
        Claim("003.kN2", "003", "N_opt = 0.1448 * C ** 0.49", 0.1448, Printed(".4f"), "approach2",
              lambda: _law(2).k_n, note="least squares in linear space, exponents fixed, on Table A3"),
        Claim("003.kD2", "003", "D_opt = 1.1519 * C ** 0.51", 1.1519, Printed(".4f"), "approach2",
              lambda: _law(2).k_d, note="least squares in linear space, exponents fixed, on Table A3"),
        Claim("003.c_self", "003", "Self-attention training FLOPs per latent token: 2.82e+08", 2.82e8,
              Printed(".2e"), "flops", lambda: ref.self_attn_flops("article"),
              corrected=lambda: ref.self_attn_flops("corrected")),
        Claim("003.c_cross", "003", "Cross-attention training FLOPs per latent token: 7.10e+06", 7.10e6,
              Printed(".2e"), "flops", lambda: ref.cross_attn_flops(0.5, "article"),
              corrected=lambda: ref.cross_attn_flops(0.5, "corrected")),
        Claim("003.cross_share", "003", "Cross-attention contribution to overall compute: 2.45%", 0.0245,
              Printed(".2f", scale=0.01, unit="%"), "flops", lambda: cross_share("article"),
              corrected=lambda: cross_share("corrected")),
        Claim("003.c_over_6n", "003", "C_self / C_self_approx = 1.05", 1.05, Printed(".2f"), "flops",
              lambda: ref.self_attn_flops("article") / ref.self_attn_flops_6n(),
              corrected=lambda: ref.self_attn_flops("corrected") / ref.self_attn_flops_6n()),
        Claim("003.few_percent", "003", "[cross-attention] makes up only a few percent of the overall compute",
              "a few percent in every experiment",
              Predicate(fmt=".1f", scale=0.01, unit="%", reading="largest C_cross/C of each experiment below 10%",
                        test=lambda v: max(v.values()) < 0.10),
              "flops", lambda: max_cross_share("article"), corrected=lambda: max_cross_share("corrected"),
              note="Experiment 2a's smallest model (model 4) spends 10.7% on cross-attention"),
        Claim("003.cross_trends", "003",
              "[its contribution] increases with prefix sequence length and decreases with the number of layers",
              "rises with P, falls with L",
              Predicate(fmt=".4f", reading="C_cross/C of the 512-channel model rises with P and falls with L",
                        test=lambda v: all(np.diff(v["P = 512, 1536, 3584"]) > 0) and all(np.diff(v["L = 5, 9, 13"]) < 0)),
              "flops", lambda: cross_share_trends("article"), corrected=lambda: cross_share_trends("corrected")),
        Claim("003.prefix1", "003", "Prefix length = 1536", 1536, Printed(".0f"), "flops",
              lambda: _experiment(e1, "article").num_prefix),
        Claim("003.ref.N", "003", "It has N = 4.58e+7 parameters", 4.58e7, Printed(".2e"), "flops",
              lambda: float(ref.num_params)),
        Claim("003.ref.N_self", "003", "N_self = 4.50e+7 parameters in the self-attention part", 4.50e7,
              Printed(".2e"), "flops", lambda: float(ref.num_self_attn_params)),
        Claim("003.ref.D", "003", "D_ref = 2.05e+9 latent tokens (= 50,000 steps)", 2.05e9, Printed(".2e"), "flops",
              lambda: float(_experiment(e1, "article").d_ref)),
        Claim("003.ref.C", "003", "C_self = C_ref = 5.78e+17", 5.78e17, Printed(".2e"), "flops",
              lambda: float(_experiment(e1, "article").c_ref), corrected=lambda: float(_experiment(e1, "corrected").c_ref)),
        Claim("003.n_opt1", "003", "N_opt (approach 2) = 7.32e+07", 7.32e7, Printed(".2e"), "flops",
              lambda: _experiment(e1, "article").n_opt(_law(2)),
              corrected=lambda: _experiment(e1, "corrected").n_opt(_law(2))),
        Claim("003.pred.N_self", "003", "num_channels=624 and num_layers=11 has N_self = 7.17e+7", 7.17e7,
              Printed(".2e"), "flops", lambda: _cell(1, "article", 2, "N_self"),
              corrected=lambda: _cell(1, "corrected", 2, "N_self"),
              note="under the correction the predicted model is 592/10"),
        Claim("003.pred.close", "003", "[7.17e+7] comes close to N_opt", "close",
              Predicate(fmt=".3f", reading="N_self / N_opt within 10% of 1", test=lambda v: abs(v - 1) <= 0.10),
              "flops", lambda: _cell(1, "article", 2, "N_self") / _experiment(e1, "article").n_opt(_law(2)),
              corrected=lambda: _cell(1, "corrected", 2, "N_self") / _experiment(e1, "corrected").n_opt(_law(2))),
        Claim("003.model3", "003", "a third model with N_self = 1.06e+8", 1.06e8, Printed(".2e"), "flops",
              lambda: _cell(1, "article", 3, "N_self")),
        Claim("003.T2.like_A4", "003", "C_self / Ĉ_self ratios are similar to those in Table A4",
              f"inside Table A4's {lo_a4:.2f} to {hi_a4:.2f}",
              Predicate(fmt=".4f", reading="every Table 2 ratio inside the range of Table A4's ratios",
                        test=lambda v: all(lo_a4 - 0.005 <= x <= hi_a4 + 0.005 for x in v.values())),
              "flops", lambda: ratios_vs_a4("article"), corrected=lambda: ratios_vs_a4("corrected")),
        Claim("003.exp1.loss", "003", "the final validation loss of the compute-optimal model is actually less "
              "than that of the two other models", "model 2 lowest", Printed(), "experiment1", note=_NEEDS_TRAINING),
        Claim("003.one_epoch", "003", "Datasets have been chosen to meet the less than an epoch of data "
              "condition", "D_iso below one epoch", Printed(), "experiment1",
              note="needs the token counts of bookcorpus and bookcorpusopen under each tokenizer"),
        Claim("003.prefix2a", "003", "The prefix sequence has m = 3584 tokens", 3584, Printed(".0f"), "flops",
              lambda: _experiment(e2a, "article").num_prefix),
        Claim("003.prefix2a.more", "003", "i.e. 2048 tokens more than in Experiment 1", 2048, Printed(".0f"), "flops",
              lambda: _experiment(e2a, "article").num_prefix - _experiment(e1, "article").num_prefix),
        Claim("003.ref2a.smaller", "003", "[the 2a reference model] is significantly smaller because of the "
              "smaller vocabulary", "smaller",
              Predicate(fmt=".3f", reading="N(2a ref) / N(Exp. 1 ref) below 0.9",
                        test=lambda v: v < 0.9), "flops",
              lambda: _cell(3, "article", 1, "N") / _cell(1, "article", 1, "N")),
        Claim("003.n_opt2a.1", "003", "N_opt (approach 1) = 3.90e+07", 3.90e7, Printed(".2e"), "flops",
              lambda: _experiment(e2a, "article").n_opt(_law(1)),
              corrected=lambda: _experiment(e2a, "corrected").n_opt(_law(1))),
        Claim("003.n_opt2a.2", "003", "N_opt (approach 2) = 4.33e+07", 4.33e7, Printed(".2e"), "flops",
              lambda: _experiment(e2a, "article").n_opt(_law(2)),
              corrected=lambda: _experiment(e2a, "corrected").n_opt(_law(2))),
        Claim("003.nearest2a", "003", "Models that come close to these predictions are models 3 and 2",
              "A1: model 3; A2: model 2",
              Predicate(fmt=".0f", reading="the model with N_self nearest each N_opt",
                        test=lambda v: v == {"A1": 3, "A2": 2}),
              "flops", lambda: nearest_models("article"), corrected=lambda: nearest_models("corrected")),
        Claim("003.cross2a.up", "003", "the cross-attention contribution increases because of the longer prefix "
              "sequence and smaller model sizes", "Table 4 above Table 2",
              Predicate(fmt=".4f", reading="smallest C_cross/C of Table 4 above the largest of Table 2",
                        test=lambda v: v["Table 4 min"] > v["Table 2 max"]), "flops",
              lambda: {"Table 2 max": float(_article_table(2, "article")["C_cross/C"].max()),
                       "Table 4 min": float(_article_table(4, "article")["C_cross/C"].min())},
              corrected=lambda: {"Table 2 max": float(_article_table(2, "corrected")["C_cross/C"].max()),
                                 "Table 4 min": float(_article_table(4, "corrected")["C_cross/C"].min())}),
        Claim("003.exp2a.loss", "003", "the reference model is the one with the lowest loss", "model 1 lowest",
              Printed(), "experiment2a", note=_NEEDS_TRAINING),
        Claim("003.exp2a.close", "003", "The predicted compute-optimal models ... have a higher loss but are still "
              "very close to the reference model", "models 2, 3 slightly above model 1", Printed(), "experiment2a",
              note=_NEEDS_TRAINING),
        Claim("003.exp2a.45", "003", "the higher losses of models 4 and 5", "models 4, 5 above 1-3", Printed(),
              "experiment2a", note=_NEEDS_TRAINING),
        Claim("003.prefix2b", "003", "a shorter prefix sequence of length m = 1536", 1536, Printed(".0f"), "flops",
              lambda: _experiment("2b", "article").num_prefix),
        Claim("003.exp2b.loss", "003", "a higher loss for the predicted compute-optimal model", "model 2 above model 1",
              Printed(), "experiment2b", note=_NEEDS_TRAINING),
        Claim("003.conclusion", "003", "predictions match ... with a SentencePiece tokenizer but ... overestimate "
              "N_opt with a UTF-8 bytes tokenizer", "as stated", Printed(), "experiment2b", note=_NEEDS_TRAINING),
    ]
    return claims


def _krasser_update() -> list[Claim]:
    from replication.estimate.flops import Decoder, PerceiverAR

    def v1_decoder_ratios():
        # Krasser's v1 accounting (Kaplan's terms + embedding 4d + logits 2dV) on Table A4's models
        out = {}
        for r, params in zip(paper.TABLE_A4.itertuples(index=False), _TABLE_A4_PARAMS):
            d, L, s, V = r.d_model, r.n_layers, 2048, 32000
            flops = 3 * (4 * d + L * (24 * d * d + 2 * d * s) + 2 * d * V)
            out[_size_label(params)] = flops / (6 * Decoder(L, d, r.ffw_size, r.n_heads, r.kv_size).num_params)
        return out

    printed_a4 = dict(zip(map(_size_label, _TABLE_A4_PARAMS), paper.TABLE_A4["ratio"]))

    def c_ref_change():
        return {f"Exp. {e}": _experiment(e, "corrected").c_ref / _experiment(e, "article").c_ref
                for e in ("1", "2a", "2b")}

    def correction_by_shape():
        out = {}
        for V in (32000, 262):
            for d, L in ((512, 9), (728, 13), (1024, 16)):
                m = PerceiverAR(V, 2048, 512, d, L)
                out[f"V={V}, {d}/{L}"] = m.self_attn_flops("corrected") / m.self_attn_flops("article")
        return out

    def smaller_larger_vocab(v):
        big, small = [v[f"V=32000, {s}"] for s in ("512/9", "728/13", "1024/16")], [
            v[f"V=262, {s}"] for s in ("512/9", "728/13", "1024/16")]
        return all(b < s for b, s in zip(big, small)) and all(np.diff(big) > 0)

    def n_opt_shift():
        return {f"Exp. {e}": _experiment(e, "corrected").n_opt(_law(2)) / _experiment(e, "article").n_opt(_law(2))
                for e in ("1", "2a", "2b")}

    def article_models_vs_corrected_n_opt():
        out = {}
        for e, pairs in (("1", ((2, 2),)), ("2a", ((1, 3), (2, 2))), ("2b", ((2, 2),))):
            art, cor = _experiment(e, "article"), _experiment(e, "corrected")
            for approach, number in pairs:
                d, L = art.models[number - 1]
                out[f"Exp. {e} A{approach}"] = cor.estimator.num_self_attn_params(d, L) / cor.n_opt(_law(approach))
        return out

    def embedding_share_large():
        big, small = Decoder(40, 3584, 14336, 28, 128), Decoder(10, 640, 2560, 10, 64)

        def share(m):
            t = m.forward_terms()
            return (t["embeddings"] + t["final_logits"]) / sum(t.values())

        return {"6.8B": share(big), "73M": share(small)}

    return [
        Claim("000.a4_v1", "000", "[with embeddings, without softmax and value reduction] C / C_approx ratios "
              "very close to those reported in the paper", "close to Table A4",
              Predicate(fmt=".2f", reading="each of Table A4's six ratios matched within ±0.05",
                        test=lambda v: all(abs(v[k] - printed_a4[k]) <= 0.05 for k in v)),
              "flops", v1_decoder_ratios,
              note="Table A4 prints 1.03, 1.10, 1.08, 1.04, 1.03, 0.99; Krasser's v1 terms miss the smallest "
                   "model by 0.09; without embeddings and logits (with softmax and reduction) all six match"),
        Claim("000.smaller", "000", "This leads to a smaller compute estimate compared to the initial version",
              "smaller in every experiment",
              Predicate(fmt=".3f", reading="corrected C_ref / article C_ref below 1 in every experiment",
                        test=lambda v: all(x < 1 for x in v.values())),
              "flops", c_ref_change,
              note="true for V = 32,000; with V = 262 our corrected count, which adds softmax and the "
                   "softmax-times-values reduction, outweighs the dropped output layer"),
        Claim("000.especially", "000", "especially for smaller models with a larger vocabulary", "as stated",
              Predicate(fmt=".3f", reading="corrected/article FLOPs lower for V = 32,000 than for V = 262, "
                        "and rising with model size at V = 32,000", test=smaller_larger_vocab),
              "flops", correction_by_shape),
        Claim("000.exp1_more", "000", "a stronger impact on experiment 1 (vocabulary size = 32,000) than on "
              "experiments 2a and 2b (vocabulary size = 262)", "Exp. 1 moves most",
              Predicate(fmt=".3f", reading="|corrected/article N_opt - 1| largest for Exp. 1",
                        test=lambda v: abs(v["Exp. 1"] - 1) > max(abs(v["Exp. 2a"] - 1), abs(v["Exp. 2b"] - 1))),
              "flops", n_opt_shift),
        Claim("000.new_models", "000", "train a new compute-optimal model for experiment 1 ... not necessary "
              "for experiments 2a and 2b", "new model for Exp. 1 only",
              Predicate(fmt=".3f", reading="the article's predicted models within 10% of the corrected N_opt "
                        "in 2a/2b, not in Exp. 1",
                        test=lambda v: abs(v["Exp. 1 A2"] - 1) > 0.10 and all(
                            abs(x - 1) <= 0.10 for k, x in v.items() if not k.startswith("Exp. 1 "))),
              "flops", article_models_vs_corrected_n_opt),
        Claim("000.large_small", "000", "For larger models, the relative contribution of embedding matrices is "
              "small anyway", "small for large models",
              Predicate(fmt=".1f", scale=0.01, unit="%", reading="embedding + logit share of Appendix F FLOPs "
                        "below 5% for Table A4's largest model, above 20% for its smallest",
                        test=lambda v: v["6.8B"] < 0.05 and v["73M"] > 0.20),
              "flops", embedding_share_large),
        Claim("000.still_lower", "000", "The final loss of the compute-optimal model is still lower than that of "
              "the reference model", "as stated", Printed(), "experiment1", note=_NEEDS_TRAINING),
    ]


def _chinchilla_table2() -> list[Claim]:
    exps = table_exponents()
    claims = []
    for k in (1, 2, 3):
        key = f"approach{k}"
        for i, name in enumerate("ab"):
            printed = paper.TABLE_2[key][name]
            where = ("the frontier of eq. 10 (unrounded constants)" if k == 3
                     else f"a free power law through Table {'3' if k == 1 else 'A3'}")
            claims.append(Claim(f"T2.A{k}.{name}", "T2", f"Approach {k}: {name} = {printed:.2f}", printed,
                                Printed(".2f"), f"approach{k}", lambda key=key, i=i: exps[key][i],
                                note=f"from {where}"))
            lo, hi = paper.TABLE_2[key][f"{name}_ci"]
            claims.append(Claim(f"T2.A{k}.{name}_ci", "T2", f"Approach {k}: {name} 10th-90th percentile "
                                f"({lo}, {hi})", (lo, hi), Range(fmt=".3f"), f"approach{k}",
                                note=f"a bootstrap over the paper's training runs: {_NEEDS_PAPER_RUNS}"))
    claims += [
        Claim("T2.A3.a_in_ci", "T2", "Approach 3: a = 0.46 with interval (0.454, 0.455)", (0.454, 0.455),
              Range(fmt=".4f"), "approach3", lambda: exps["approach3"][0],
              note="the point estimate of the unrounded eq. 10 fit lies outside its own printed interval"),
        Claim("T2.A3.a_printed", "T2", "Approach 3: a = 0.46 (from eq. 10 as printed)", 0.46, Printed(".2f"),
              "approach3", lambda: exps["approach3 (printed eq. 10)"][0],
              note="with α = 0.34 and β = 0.28 as printed, a = β/(α+β) = 0.452 prints as 0.45"),
        Claim("T2.kaplan.a", "T2", "Kaplan et al. (2020): a = 0.73", 0.73, Printed(".2f"), "glance",
              note="Kaplan's own fit to his own runs; the glance chapter takes it as given"),
        Claim("T2.kaplan.b", "T2", "Kaplan et al. (2020): b = 0.27", 0.27, Printed(".2f"), "glance",
              note="Kaplan's own fit to his own runs; the glance chapter takes it as given"),
    ]
    return claims


def _row_claims(source: str, label: str, chapter: str, N, C, D, extra_note: dict | None = None) -> list[Claim]:
    """The FLOPs cell (against 6·N·D with D as printed) and the tokens cell (against the law through
    the other rows) of every row of one approach."""
    N, C, D = (np.asarray(x, dtype=float) for x in (N, C, D))
    extra_note = extra_note or {}
    claims = []
    for i, (n, c, d) in enumerate(zip(N, C, D)):
        rule_d = _tokens_rule(d)
        size = _size_label(n)
        claims.append(Claim(
            f"{source}.{label}.{size}.C", source, f"{label}, {size}: {c:.2e} FLOPs", c, Printed(".2e"), chapter,
            lambda n=n, d=d, r=rule_d: 6 * n * Interval.printed(d, r.fmt, r.scale),
            note=extra_note.get((size, "C"), "6·N·D with D as printed")))
        claims.append(Claim(
            f"{source}.{label}.{size}.D", source, f"{label}, {size}: {rule_d.show_one(d)} tokens", d,
            Within(rel=0.01, fmt=".1f", scale=rule_d.scale, unit=rule_d.unit), chapter,
            lambda i=i: other_rows_law(N, D, i),
            note=extra_note.get((size, "D"), "the power law D(N) through the other rows")))
    return claims


_ROW_67B = ("the law through the other rows gives this row's tokens at N = 70B (Chinchilla's size), "
            "not at 67B: see the table below")


def _chinchilla_table3() -> list[Claim]:
    t = paper.TABLE_3
    notes = {("67B", "C"): "the Gopher budget; 6·67B·1.5T = 6.03e23", ("67B", "D"): _ROW_67B,
             ("10B", "gopher"): "5.76e23 / 1.23e22 = 46.8: the cell looks cut, not rounded"}
    claims = _row_claims("T3", "A1", "approach1", t["N"], t["C"], t["D"], notes)
    g = Interval.printed(GOPHER_FLOPS, ".2e")
    for n, c, units in zip(t["N"], t["C"], t["C_gopher_units"]):
        size = _size_label(n)
        cc = Interval.printed(c, ".2e")
        if units < 1:
            denom = round(1 / units)
            claims.append(Claim(f"T3.A1.{size}.gopher", "T3", f"A1, {size}: 1/{denom:,} of Gopher's FLOPs",
                                float(denom), Printed(".0f"), "approach1", lambda cc=cc: g / cc,
                                note=notes.get((size, "gopher"), "5.76e23 / FLOPs, both as printed")))
        else:
            fmt = ".0f" if units == 1 else ".1f"
            claims.append(Claim(f"T3.A1.{size}.gopher", "T3", f"A1, {size}: {units:g}× Gopher's FLOPs", units,
                                Printed(fmt), "approach1", lambda cc=cc: cc / g,
                                note="FLOPs / 5.76e23, both as printed"))
    return claims


def _chinchilla_table_a3() -> list[Claim]:
    t = paper.TABLE_A3
    notes3 = {("175B", "C"): "6·N·D = 1.26e25: the printed exponent is one too small",
              ("67B", "C"): "6·67B·4.1T = 1.65e24; at 70B: 1.72e24",
              ("67B", "D"): _ROW_67B,
              ("280B", "C"): "6·280B·20.1T = 3.38e25; the FLOPs cell lies on the law, the tokens cell does not",
              ("280B", "D"): "the law through the other rows (and 6ND with the printed FLOPs) give about 21.0T"}
    notes2 = {("67B", "D"): _ROW_67B}
    claims = _row_claims("A3", "A2", "approach2", t["N"], t["approach2_C"], t["approach2_D"], notes2)
    claims += _row_claims("A3", "A3", "approach3", t["N"], t["approach3_C"], t["approach3_D"], notes3)

    def vs_eq10():
        law = _frontier()  # N_opt = k_n C^a, inverted for the C at which each N is optimal
        C_eq10 = (t["N"].to_numpy() / law.k_n) ** (1 / law.a)
        ok = t["N"].to_numpy() != 175e9  # the misprinted row says nothing about the law
        ratio = t["approach3_C"].to_numpy()[ok] / C_eq10[ok]
        return {"smallest": float(ratio.min()), "largest": float(ratio.max())}

    claims.append(Claim("A3.A3.eq10", "A3", "Approach 3 columns: the allocation eq. 10 implies", 1.0,
                        Within(rel=0.01, fmt=".3f"), "approach3", vs_eq10,
                        note="printed FLOPs / eq. 10's frontier C(N) (unrounded constants), 175B row left out; "
                             "the columns follow a power law with a = 0.459, but not eq. 10's level"))
    return claims


def _chinchilla_table_a4() -> list[Claim]:
    from replication.estimate.flops import table_a4

    claims = []
    for i, (r, params) in enumerate(zip(paper.TABLE_A4.itertuples(index=False), _TABLE_A4_PARAMS)):
        label = _size_label(params)
        claims.append(Claim(f"A4.{label}.ratio", "A4", f"{label}: FLOP ratio (ours/6ND) {r.ratio:.2f}", r.ratio,
                            Printed(".2f"), "flops", lambda i=i: float(table_a4().loc[i, "table_a4"]),
                            note="Appendix F's terms without the embeddings and the final logits"))
        rule = Printed(".1f", scale=1e9, unit="B") if params >= 1e9 else Printed(".0f", scale=1e6, unit="M",
                                                                                 truncate=True)
        claims.append(Claim(f"A4.{label}.N", "A4", f"Parameters {label}", params, rule, "flops",
                            lambda i=i: float(table_a4().loc[i, "N"]),
                            note="embedding counted once, biases and layer norms included"))
    claims.append(Claim("A4.appendix_f", "A4", "Appendix F's text: embeddings and final logits are counted",
                        "Table A4's ratios",
                        Predicate(fmt=".2f", reading="Appendix F as written gives every printed ratio",
                                  test=lambda v: all(f"{x:.2f}" == f"{p:.2f}" for x, p in
                                                     zip(v.values(), paper.TABLE_A4["ratio"]))),
                        "flops", lambda: {f"row {i + 1}": float(x) for i, x in enumerate(table_a4()["appendix_f"])},
                        note="the table only reproduces without the embedding and logit terms the text describes"))
    return claims


def _chinchilla_eq10() -> list[Claim]:
    p = paper.EQ10
    fmts = {"E": ".2f", "A": ".1f", "B": ".1f", "alpha": ".2f", "beta": ".2f"}
    claims = [Claim(f"eq10.{k}", "eq10", f"{k} = {p[k]:g}", p[k], Printed(fmts[k]), "approach3",
                    note=f"fitted to the final losses of the paper's 400+ runs: {_NEEDS_PAPER_RUNS}; "
                         "its consequences are checked below")
              for k in ("E", "A", "B", "alpha", "beta")]
    return claims


def _seed_001() -> list[Claim]:
    exps = table_exponents()
    return [
        Claim("001.half", "001", "N_opt ∝ C^~0.5, D_opt ∝ C^~0.5", 0.5, Within(abs=0.05, fmt=".3f"), "glance",
              lambda: {f"A{k} {n}": exps[f"approach{k}"][i] for k in (1, 2, 3) for i, n in enumerate("ab")},
              note="exponents from Table 3, Table A3 and eq. 10 (see Table 2)"),
        Claim("001.kaplan.N", "001", "increase 5.4x on N ... while C is increased on 10x", 5.4, Printed(".1f"),
              "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"], note="10^0.73"),
        Claim("001.kaplan.D", "001", "and 1.8x on D", 1.8, Printed(".1f", truncate=True), "glance",
              lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
              note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("001.regime", "001", "Kaplan ~1.5B, Hoffmann ~23B [data size]", "as stated", Printed(), "glance",
              note=f"describes the two papers' training setups: {_NEEDS_PAPER_RUNS}"),
        Claim("001.embedding", "001", "not counting embeddings skews Kaplan's exponent (Pearce & Song, 2024)",
              "as stated", Printed(), "glance", note="needs Kaplan's runs re-fitted; a claim of a third paper"),
        Claim("001.cosine", "001", "Overestimating the number of training steps with the cosine cycle length "
              "leads to performance drops", "as stated", Printed(), "experiment1", note=_NEEDS_PAPER_RUNS),
        Claim("001.decay10", "001", "decaying by 10x slightly better than to 0.0; 5x clearly worse", "as stated",
              Printed(), "experiment1", note=_NEEDS_PAPER_RUNS),
        Claim("001.adamw", "001", "AdamW slightly outperforms Adam", "as stated", Printed(), "experiment1",
              note=_NEEDS_PAPER_RUNS),
        Claim("001.300b", "001", "GPT-3 175B, Gopher 280B, MT-NLG 530B ... ~300B tokens", "as stated", Printed(),
              "glance", note="facts about other models' training, reported in their papers"),
    ]


def _seed_002() -> list[Claim]:
    exps = table_exponents()
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def parity():
        g = _training_flops(_GOPHER_SHAPE, gopher["D"])
        c = _training_flops(_CHINCHILLA_SHAPE, chinchilla["D"])
        return {k: c[k] / g[k] for k in g}

    t3 = paper.TABLE_3
    i1t = int(np.flatnonzero(t3["N"].to_numpy() == 1e12)[0])
    return [
        Claim("002.a2", "002", "Approach 2: a = 0.49", 0.49, Printed(".2f"), "approach2",
              lambda: exps["approach2"][0], note="a free power law through Table A3"),
        Claim("002.b2", "002", "b = 0.51", 0.51, Printed(".2f"), "approach2", lambda: exps["approach2"][1],
              note="a free power law through Table A3"),
        Claim("002.kaplan", "002", "a_Kaplan = 0.73, b_Kaplan = 0.27", "as stated", Printed(), "glance",
              note="Kaplan's own fit to his own runs"),
        Claim("002.equal", "002", "both quantities should scale almost equally", "a ≈ b",
              Predicate(fmt=".3f", reading="|a - b| at most 0.1 for every approach",
                        test=lambda v: all(abs(x) <= 0.1 for x in v.values())), "glance",
              lambda: {f"A{k}": exps[f"approach{k}"][1] - exps[f"approach{k}"][0] for k in (1, 2, 3)}),
        Claim("002.gopher_budget", "002", "5.76e23 FLOPs (Gopher's budget)", GOPHER_FLOPS, Printed(".2e"), "flops",
              lambda: _training_flops(_GOPHER_SHAPE, gopher["D"]),
              note="Gopher: 280B parameters, 300B tokens. Chinchilla's 6ND is 5.88e23, within 2% of 5.76e23"),
        Claim("002.n_range", "002", "the optimal model size ... between 40 and 70 billion parameters", (40e9, 70e9),
              Range(fmt=".1f", scale=1e9, unit="B"), "approach3", lambda: _n_opt_at(GOPHER_FLOPS),
              note="N_opt at 5.76e23 FLOPs: Krasser's laws for A1 and A2, eq. 10 (unrounded) for A3"),
        Claim("002.tokens", "002", "Training tokens: 1.4T tokens", 1.4e12, Printed(".1f", scale=1e12, unit="T"),
              "approach1", lambda: float(_law(1).d_opt(GOPHER_FLOPS)), note="D_opt of Approach 1 at 5.76e23"),
        Claim("002.undertrained", "002", "Gopher was significantly over-parameterized while being undertrained",
              "as stated", Predicate(fmt=".2f", reading="Gopher's N above and D below the optimum, every approach",
                                     test=lambda v: all(x > 1 for k, x in v.items() if k.startswith("N")) and all(
                                         x < 1 for k, x in v.items() if k.startswith("D"))),
              "approach1", lambda: {f"N/N_opt {k}": gopher["N"] / v for k, v in _n_opt_at(GOPHER_FLOPS).items()}
              | {f"D/D_opt {k}": gopher["D"] / v for k, v in _d_opt_at(GOPHER_FLOPS).items()}),
        Claim("002.parity", "002", "Compute_Chinchilla = Compute_Gopher", 1.0, Within(rel=0.05, fmt=".3f"), "flops",
              parity, note="Chinchilla / Gopher training FLOPs: 70B on 1.4T tokens against 280B on 300B"),
        Claim("002.4x", "002", "4× smaller parameter count", 4.0, Printed(".1f"), "glance",
              lambda: gopher["N"] / chinchilla["N"]),
        Claim("002.mmlu_c", "002", "Chinchilla accuracy = 67.6%", 67.6, Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS),
        Claim("002.mmlu_g", "002", "Gopher accuracy = 60.0%", 60.0, Printed(".1f", unit="%"), "claims",
              note=_NEEDS_MODELS),
        Claim("002.mmlu_h", "002", "Human expert performance = 89.8%", 89.8, Printed(".1f", unit="%"), "claims",
              note="a human baseline from the MMLU paper, not something code computes"),
        Claim("002.mmlu_gain", "002", "7.6 percentage point improvement over Gopher", 7.6, Printed(".1f"), "claims",
              lambda: 67.6 - 60.0, note="arithmetic on the two quoted accuracies only"),
        Claim("002.gt90", "002", "Greater than 90 / First model to achieve >90", "garbled", Printed(), "claims",
              note="garbled: as written it contradicts the 67.6% above; nothing here can check it"),
        Claim("002.1t.C", "002", "Compute budget = 1.27e26 FLOPs [1T parameters]", 1.27e26, Printed(".2e"),
              "approach1", lambda: 6 * 1e12 * Interval.printed(21.2e12, ".1f", 1e12),
              note="6·N·D with Table 3's 21.2T tokens"),
        Claim("002.1t.gopher", "002", "= 221.3× Gopher compute", 221.3, Printed(".1f"), "approach1",
              lambda: Interval.printed(1.27e26, ".2e") / Interval.printed(GOPHER_FLOPS, ".2e"),
              note="1.27e26 / 5.76e23, both as printed"),
        Claim("002.1t.D", "002", "Training tokens = 21.2 trillion", 21.2e12,
              Within(rel=0.01, fmt=".1f", scale=1e12, unit="T"), "approach1",
              lambda: other_rows_law(t3["N"], t3["D"], i1t), note="the law D(N) through Table 3's other rows"),
        Claim("002.1e26", "002", "a compute budget of 10^26 FLOPs", 26, Printed(".0f"), "approach1",
              lambda: math.log10((1e12 / _law(1).k_n) ** (1 / _law(1).a)),
              note="log10 of the budget at which Approach 1 makes 1T parameters optimal"),
        Claim("002.250x", "002", "(over 250× the compute used to train Gopher)", 250.0,
              Predicate(fmt=".1f", reading="10^26 / 5.76e23 above 250", test=lambda v: v > 250), "approach1",
              lambda: 1e26 / GOPHER_FLOPS,
              note="10^26 is 174× Gopher's budget; even Table 3's 1.27e26 is only 221×"),
    ]


def _seed_004() -> list[Claim]:
    exps = table_exponents()
    gopher, chinchilla = paper.GOPHER, paper.CHINCHILLA

    def losses(A, B):
        p = dict(paper.EQ10, A=A, B=B)
        return {"L(Gopher)": _eq10_loss(p, **gopher), "L(Chinchilla)": _eq10_loss(p, **chinchilla)}

    def floor_vs_chinchilla(params):
        floor = params["E"] + params["B"] / gopher["D"] ** params["beta"]
        return {"best loss with 300B tokens": floor, "L(Chinchilla)": _eq10_loss(params, **chinchilla)}

    return [
        Claim("004.kaplan.N", "004", "if 10x compute budget, then 5.5x the number of parameters", 5.5,
              Printed(".1f"), "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["a"],
              note="10^0.73 = 5.37; 5.5 needs a ≥ 0.736. The Chinchilla paper's introduction also writes 5.5×"),
        Claim("004.kaplan.D", "004", "and 1.8x the number of training tokens", 1.8, Printed(".1f", truncate=True),
              "glance", lambda: 10 ** paper.TABLE_2["kaplan"]["b"],
              note="10^0.27 with Kaplan's b = 0.27; 1.8 matches only cut to one decimal (or 10/5.5 = 1.82)"),
        Claim("004.sizes", "004", "Kaplan ... models up to 1B ... Chinchilla ... up to 16B", "as stated",
              Printed(), "glance", note=f"describes the papers' training runs: {_NEEDS_PAPER_RUNS}"),
        Claim("004.4x_smaller", "004", "the compute-optimal [Gopher] should be 4 times smaller", 4.0,
              Printed(".0f"), "glance", lambda: gopher["N"] / chinchilla["N"]),
        Claim("004.4x_data", "004", "trained on 4 times more data", 4.0, Printed(".0f"), "glance",
              lambda: chinchilla["D"] / gopher["D"],
              note="1.4T / 300B = 4.67; equal 6ND compute with 4× fewer parameters would be 4× the tokens "
                   "(1.2T)"),
        Claim("004.smaller_longer", "004", "all three predict that current models should be smaller and trained "
              "longer", "as stated",
              Predicate(fmt=".0f", scale=1e9, unit="B", reading="at Gopher's budget every approach puts N_opt "
                        "below 280B and D_opt above 300B",
                        test=lambda v: all(x < 280e9 for k, x in v.items() if k.startswith("N")) and all(
                            x > 300e9 for k, x in v.items() if k.startswith("D"))),
              "approach1", lambda: {f"N_opt {k}": v for k, v in _n_opt_at(GOPHER_FLOPS).items()}
              | {f"D_opt {k}": v for k, v in _d_opt_at(GOPHER_FLOPS).items()}),
        Claim("004.nine", "004", "a fixed set of 9 different training FLOP counts", 9, Printed(".0f"), "approach2",
              note=f"describes the paper's IsoFLOP runs: {_NEEDS_PAPER_RUNS}"),
        Claim("004.lr", "004", "setting the learning rate schedule to approximately match the number of training "
              "tokens results in the best loss", "as stated", Printed(), "experiment1", note=_NEEDS_PAPER_RUNS),
        Claim("004.400", "004", "over 400 language models ranging from 70 million to over 16 billion parameters "
              "on 5 to 500 billion tokens", "as stated", Printed(), "approach3", note=_NEEDS_PAPER_RUNS),
        Claim("004.doubling", "004", "for every doubling of model size the number of training tokens should also "
              "be doubled", 2.0, Printed(".0f"), "glance",
              lambda: {f"A{k}": 2 ** (exps[f"approach{k}"][1] / exps[f"approach{k}"][0]) for k in (1, 2, 3)},
              note="2^(b/a): tokens grow by this factor per doubling of N_opt"),
        Claim("004.mmlu", "004", "Chinchilla reaches ... 67.5% on the MMLU benchmark", 67.5,
              Printed(".1f", unit="%"), "claims", note=_NEEDS_MODELS + "; seed 002 quotes 67.6%"),
        Claim("004.mmlu_gain", "004", "greater than a 7% improvement over Gopher", "above 7 points",
              Predicate(fmt=".1f", reading="67.5 - 60.0 above 7", test=lambda v: v > 7), "claims",
              lambda: 67.5 - 60.0, note="arithmetic on the quoted accuracies (Gopher's 60.0% from seed 002)"),
        Claim("004.gpt4.N", "004", "per doubling of compute, model size by 2^(1/3) (approximately 1.26)",
              2 ** (1 / 3), Printed(".2f"), "glance", lambda: _growth(2.0, "a"),
              note="2^a with Table 2's a: about 1.4; 2^(1/3) would need a = 1/3"),
        Claim("004.gpt4.D", "004", "and the dataset size by 4^(1/3) (approximately 1.59)", 4 ** (1 / 3),
              Printed(".2f"), "glance", lambda: _growth(2.0, "b"),
              note="2^b with Table 2's b: about 1.4-1.5; 4^(1/3) would need b = 2/3"),
        Claim("004.gpt4.ratio", "004", "a ratio of tokens to parameters that should increase as the compute budget "
              "grows", 4 ** (1 / 3) / 2 ** (1 / 3), Printed(".2f"), "glance",
              lambda: {k: _growth(2.0, "b")[k] / _growth(2.0, "a")[k] for k in ("A1", "A2", "A3")},
              note="per doubling: 2^(b-a), flat for Approach 1 and up by 1-6% for Approaches 2 and 3, "
                   "not the 1.26 that 4^(1/3)/2^(1/3) implies"),
        Claim("004.E", "004", "E = 1.69", paper.EQ10["E"], Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["E"], note="against the paper's fit (eq. 10)"),
        Claim("004.alpha", "004", "Alpha = .34", 0.34, Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["alpha"], note="against the paper's fit (eq. 10)"),
        Claim("004.beta", "004", "Beta = .28", 0.28, Printed(".2f"), "approach3",
              lambda: paper.EQ10_UNROUNDED["beta"], note="against the paper's fit (eq. 10)"),
        Claim("004.AB", "004", "A and B are both = 400", 400.0, Printed(".0f"), "approach3",
              lambda: {"A": paper.EQ10["A"], "B": paper.EQ10["B"]},
              note="eq. 10 prints A = 406.4 and B = 410.7: 400 only to one significant figure, and A ≠ B"),
        Claim("004.L_with_400", "004", "[with A = B = 400] L(Gopher) = 1.993, L(Chinchilla) = 1.936",
              "1.993 and 1.936",
              Predicate(fmt=".3f", reading="the note's constants give its losses to 3 decimals",
                        test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
              "approach3", lambda: losses(400.0, 400.0),
              note="with the paper's A and B the losses come out (see eq. 10 above)"),
        Claim("004.L_gopher", "004", "L(Gopher) = 1.993", 1.993, Printed(".3f", truncate=True), "approach3",
              lambda: _eq10_loss(paper.EQ10, **gopher), note="eq. 10 as printed, at N = 280B, D = 300B"),
        Claim("004.L_chinchilla", "004", "L(Chinchilla) = 1.936", 1.936, Printed(".3f", truncate=True), "approach3",
              lambda: _eq10_loss(paper.EQ10, **chinchilla),
              note="eq. 10 as printed, at N = 70B, D = 1.4T"),
        Claim("004.L_unrounded", "004", "L(Gopher) = 1.993, L(Chinchilla) = 1.936 [from the fitted constants]",
              "1.993 and 1.936",
              Predicate(fmt=".3f", reading="the unrounded fit gives the same losses to 3 decimals",
                        test=lambda v: f"{v['L(Gopher)']:.3f}" == "1.993" and f"{v['L(Chinchilla)']:.3f}" == "1.936"),
              "approach3", lambda: {"L(Gopher)": _eq10_loss(paper.EQ10_UNROUNDED, **gopher),
                                    "L(Chinchilla)": _eq10_loss(paper.EQ10_UNROUNDED, **chinchilla)},
              note="the quoted losses come from the rounded constants, not from the unrounded fit"),
        Claim("004.no_300b", "004", "NO MODEL trained with 300B tokens could EVER be better than Chinchilla",
              "as stated",
              Predicate(fmt=".4f", reading="E + B/300B^β (infinite N) above L(Chinchilla)",
                        test=lambda v: v["best loss with 300B tokens"] > v["L(Chinchilla)"]),
              "approach3", lambda: floor_vs_chinchilla(paper.EQ10), note="eq. 10 as printed"),
        Claim("004.1e24", "004", "creating a model, Chinchilla at the ~10^24 FLOPs point", 24, Printed(".0f"),
              "glance", lambda: math.log10(GOPHER_FLOPS), note="log10 of 5.76e23"),
        Claim("004.biggest", "004", "in NO case is the biggest model the best", "as stated", Printed(),
              "approach2", note=f"read off the paper's IsoFLOP profiles: {_NEEDS_PAPER_RUNS}"),
        Claim("004.repeat", "004", "repeating 0.1% of the data degrades an 800M model to a 400M one", "as stated",
              Printed(), "claims", note="a result of another paper's training runs"),
        Claim("004.galactica", "004", "Galactica kept improving with 4.25 epochs", "as stated", Printed(),
              "claims", note="a result of another paper's training runs"),
    ]


# ----------------------------------------------------------------------------------------------
# the article's loss claims, checked on our CPU-scale counterparts (experiment chapters)

_CPU_SCALE = ("checked on the CPU-scale counterpart of the experiment (models of 10^4-10^5 parameters, "
              "3 seeds each, recorded runs), not at the article's scale")


def _cpu_means(name: str) -> dict:
    """Mean final loss per model of the recorded CPU-scale study, and two pooled standard errors of
    model 2 against the reference (nothing is trained)."""
    from replication.studies import krasser as ps

    s = ps.loss_summary(ps.train_study(ps.cpu_study(name), train=False, progress=False))
    out = {f"model {i}": float(s.loc[i, "mean"]) for i in s.index}
    out["2 SE (2 vs 1)"] = 2 * ps.compare(s, 2, 1)["pooled_se"]
    return out


def _cpu_best_vs_n_opt() -> dict:
    """N_self / N_opt (approach 2) of the model with the lowest mean final loss, per CPU-scale experiment."""
    from replication.studies import krasser as ps

    out = {}
    for name in ("1", "2a", "2b"):
        study = ps.cpu_study(name)
        s = ps.loss_summary(ps.train_study(study, train=False, progress=False))
        out[f"Exp. {name}"] = float(s.loc[s["mean"].idxmin(), "N_self"]) / study.experiment.n_opt(_law(2))
    return out


def _krasser_cpu_scale() -> list[Claim]:
    def gap(v, a, b):  # mean of model a minus mean of model b, in units of two pooled standard errors
        return (v[f"model {a}"] - v[f"model {b}"]) / v["2 SE (2 vs 1)"]

    return [
        Claim("003.exp1.loss.cpu", "003", "the final validation loss of the compute-optimal model is actually less "
              "than that of the two other models", "model 2 lowest",
              Predicate(fmt=".4f", reading="model 2 has the lowest mean of models 1-3 and is below model 1 by more "
                        "than two pooled standard errors",
                        test=lambda v: v["model 2"] < min(v["model 1"], v["model 3"]) and gap(v, 2, 1) < -1),
              "experiment1", lambda: _cpu_means("1"), note=_CPU_SCALE),
        Claim("003.exp2a.loss.cpu", "003", "the reference model is the one with the lowest loss", "model 1 lowest",
              Predicate(fmt=".4f", reading="model 1 has the lowest mean of models 1-5",
                        test=lambda v: v["model 1"] == min(v[f"model {i}"] for i in range(1, 6))),
              "experiment2a", lambda: _cpu_means("2a"), note=_CPU_SCALE),
        Claim("003.exp2b.loss.cpu", "003", "a higher loss for the predicted compute-optimal model",
              "model 2 above model 1",
              Predicate(fmt=".4f", reading="model 2's mean is above model 1's by more than two pooled standard errors",
                        test=lambda v: gap(v, 2, 1) > 1),
              "experiment2b", lambda: _cpu_means("2b"), note=_CPU_SCALE),
        Claim("003.conclusion.cpu", "003", "predictions match ... with a SentencePiece tokenizer but ... overestimate "
              "N_opt with a UTF-8 bytes tokenizer", "as stated",
              Predicate(fmt=".2f", reading="N_self / N_opt (approach 2) of the model with the lowest mean: within 10% "
                        "of 1 in Exp. 1, below 0.9 in Exps. 2a and 2b",
                        test=lambda v: abs(v["Exp. 1"] - 1) <= 0.1 and v["Exp. 2a"] < 0.9 and v["Exp. 2b"] < 0.9),
              "experiment2b", _cpu_best_vs_n_opt, note=_CPU_SCALE),
    ]


@lru_cache(maxsize=1)
def registry() -> tuple[Claim, ...]:
    """Every claim, in page order."""
    claims = (_krasser_tables() + _krasser_text() + _krasser_update() + _chinchilla_table2()
              + _chinchilla_table3() + _chinchilla_table_a3() + _chinchilla_table_a4() + _chinchilla_eq10()
              + _seed_001() + _seed_002() + _seed_004() + _krasser_cpu_scale())
    ids = [c.id for c in claims]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ReplicationError(f"duplicate claim ids: {sorted(dup)}")
    return tuple(claims)


def claim(claim_id: str) -> Claim:
    """One claim by id."""
    for c in registry():
        if c.id == claim_id:
            return c
    raise ReplicationError(f"claim {claim_id!r} is not in the registry")


def perturb_claim(c: Claim, factor: float) -> Claim:
    """The same claim with our value multiplied by ``factor`` (what the status test perturbs)."""
    original = c.compute
    if original is None:
        raise ReplicationError(f"claim {c.id} has no computed value to perturb")
    return replace(c, compute=lambda: _perturbed(original(), factor))
