"""The book's headline results: each chapter's verdicts on the claims it exists to check, in reading order.

The results page and the introduction show these. Each comes from the library function its chapter calls
(with the chapter's own defaults where it has parameters), or from the claims ledger's row of the same claim;
nothing is typed. A chapter that checks nothing it could compute (the article's own scale) gets a row with
no check and the reason.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from replication import memo

from replication.book.chapters import chapter_path, read_md, read_parameters, toc_chapters
from replication.claims.ledger import NO_CHECK, evaluate
from replication.claims.registry import claim
from replication.fit import planning as plans
from replication.fit.laws import table2_verdict
from replication.papers.chinchilla import EQ10, TABLE_2
from replication.studies import accountings, krasser, transfer, wide
from replication.studies import chinchilla as study
from replication.studies.planning import load_law
from replication.studies.runs import open_store
from replication.studies.wide_design import DEFAULT as WIDE
from replication.verdict import AGREES, DISAGREES, Verdict


@dataclass(frozen=True)
class Headline:
    """One line of the results page: the ``chapter`` that shows it, the ``quantity`` compared (a few words),
    and its :class:`~replication.verdict.Verdict`; None where there is no check (``note`` says why). ``fmt``
    writes our value and its interval."""

    chapter: str
    quantity: str
    verdict: Verdict | None
    fmt: str = ".2f"
    note: str = ""

    @property
    def outcome(self) -> str:
        return self.verdict.outcome if self.verdict is not None else NO_CHECK

    @property
    def label(self) -> str:
        return self.verdict.label if self.verdict is not None else NO_CHECK


def defaults(chapter: str) -> dict:
    """A chapter's parameters as it runs by default (its ``parameters`` cell): the results page shows what the
    chapters show when built without a params file."""
    return read_parameters(read_md(chapter_path(chapter).read_text()))


def _ledger(claim_id: str) -> Verdict:
    return evaluate(claim(claim_id))["verdict"]


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _all_inside(claim_ids: dict[str, str], claim_text: str) -> Verdict:
    """Several constants of one fit (name -> ledger id), each the ledger's comparison of the printed value with
    our interval: the fit *agrees* only if every one does."""
    verdicts = {name: _ledger(i) for name, i in claim_ids.items()}
    outside = [name for name, v in verdicts.items() if v.outcome != AGREES]
    return Verdict(claim=claim_text, outcome=DISAGREES if outside else AGREES, paper="as printed",
                   test="each inside the 95% bootstrap interval of the refit",
                   finding=(f"{_and(outside)} lie outside their 95% intervals." if outside
                            else "Each lies inside its 95% interval."))


def glance() -> list[Headline]:
    return [Headline("glance", "Table 2's exponents: N and D grow alike",
                     table2_verdict(defaults("glance")["factor"]))]


def flops() -> list[Headline]:
    tables, a4 = accountings.verdicts()
    return [Headline("flops", "Krasser's Tables 1-5, every cell", tables),
            Headline("flops", "Table A4: FLOPs over 6ND", a4)]


def approach1() -> list[Headline]:
    curves = study.curves_table(WIDE, runs=study.runs_table(WIDE, recorded_only=True))
    fit = study.approach1(WIDE, curves=curves)
    a = study.approach1_intervals(WIDE, curves=curves, fit=fit)["combined"]["a"]
    return [Headline("approach1", "Approach 1's a, on our runs", a.verdict(TABLE_2["approach1"]["a"]))]


def approach2() -> list[Headline]:
    return [Headline("approach2", "Approach 2's a, on the paper's Figure-4 points", _ledger("T2.A2.a.data"),
                     fmt=".3f")]


def approach3() -> list[Headline]:
    names = {"E": "E", "A": "A", "B": "B", "alpha": "α", "beta": "β"}
    printed = ", ".join(f"{names[k]} = {EQ10[k]:g}" for k in names)
    return [Headline("approach3", "Approach 3's a, on the paper's Figure-4 points", _ledger("T2.A3.a.data"),
                     fmt=".3f"),
            Headline("approach3", "Eq. 10's five constants, on the same points",
                     _all_inside({name: f"eq10.{k}" for k, name in names.items()},
                                 f"The paper fits eq. 10 to its own runs: {printed}."))]


def our_study() -> list[Headline]:
    a, ratio = study.verdicts()
    return [Headline("study", "Approach 2's a, on our first study's runs (King James Bible)", a),
            Headline("study", "b/a (tokens per parameter), on our first study's runs", ratio)]


def wide_study() -> list[Headline]:
    a, held_out, chinchilla_gopher = wide.verdicts()
    return [Headline("wide", "Approach 2's a, on our runs", a),
            Headline("wide", "N* and the least loss of held-out budgets, predicted", held_out),
            Headline("wide", "Chinchilla against Gopher, in miniature (paired seeds)", chinchilla_gopher)]


def planning() -> list[Headline]:
    p = defaults("planning")
    laws = [load_law(p["law"]), load_law("figure4", bootstrap=p["refit_resamples"])]
    v = plans.smaller_and_longer(laws, p["example_loss"], tuple(p["example_tokens"]))
    found = (f"Under {len(laws)} laws and {len(p['example_tokens'])} lifetimes, the least-cost model is at most "
             f"{v.ours:.2f} times the Chinchilla-optimal size.")
    return [Headline("planning", "The least-cost model when it serves many tokens", replace(v, finding=found))]


def experiments() -> list[Headline]:
    out = []
    for name in ("1", "2a", "2b"):
        s = krasser.cpu_study(name)
        for v in krasser.verdicts(s, krasser.runs_table(s)):
            out.append(Headline(f"experiment{name}", f"Experiment {name}: the predicted model against the "
                                "reference, at CPU scale", v, fmt="+.3f"))
    return out


def transfer_test() -> list[Headline]:
    prefix = transfer.verdicts(transfer.TRANSFER, transfer.runs_table(transfer.TRANSFER))[0]
    return [Headline("transfer", "N* with and without a prefix (C = C_self), at CPU scale", prefix)]


def article_scale() -> list[Headline]:
    return [Headline("article_scale", "Krasser's final losses at the article's own scale", None,
                     note="not trained here: the article's shapes need GPUs (the chapter counts the GPU-hours)")]


def headlines() -> list[Headline]:
    """Every chapter's headline verdicts, in the book's reading order, computed once per library, run store
    and chapter defaults and kept on disk (:func:`replication.memo.kept`): the results page, the introduction
    and the tests, each in its own process, share one computation."""
    key = {"store": open_store().fingerprint(), "toc": toc_chapters(),
           "defaults": {c: defaults(c) for c in ("glance", "planning")}}
    return [_headline(p) for p in memo.kept("headlines", key, lambda: [_plain(h) for h in _computed()])]


def _plain(h: Headline) -> dict:
    v = None if h.verdict is None else {k: _number(x) for k, x in asdict(h.verdict).items()}
    return {"chapter": h.chapter, "quantity": h.quantity, "verdict": v, "fmt": h.fmt, "note": h.note}


def _number(x):
    if isinstance(x, (tuple, list)):
        return tuple(_number(y) for y in x)
    if isinstance(x, (np.integer, np.floating)):
        return x.item()
    return x


def _headline(p: dict) -> Headline:
    # NaN read back is another float object; math.nan keeps a Verdict equal to one computed afresh
    v = p["verdict"]
    if v is not None:
        v = Verdict(**{k: math.nan if isinstance(x, float) and x != x else x for k, x in v.items()})
    return Headline(p["chapter"], p["quantity"], v, p["fmt"], p["note"])


def _computed() -> list[Headline]:
    found = (glance() + flops() + approach1() + approach2() + approach3() + our_study() + wide_study() + planning()
             + experiments() + transfer_test() + article_scale())
    order = {page: i for i, page in enumerate(toc_chapters())}
    return sorted(found, key=lambda h: order[h.chapter])
