"""The results page and the introduction's findings: every chapter's headline verdicts, from the library, in
reading order; the page's table, Verdict box and the findings written from them (book/_lib/results.py)."""
import re

import pytest

from _lib import results
from replication.book.chapters import chapters, toc_chapters
from replication.claims.headlines import Headline
from replication.verdict import (AGREES, BADGE, DIFFERS, DISAGREES, HOLDS, INCONCLUSIVE, OUTCOMES, Verdict,
                                 from_interval, words)


def _verdict(outcome: str, **kw) -> Verdict:
    return Verdict(claim=kw.pop("claim", "The paper finds a = 0.49."), outcome=outcome, test="a test",
                   **({"n": 3, "power": 0.2} if outcome == INCONCLUSIVE else {}), **kw)


FAKE = [
    Headline("glance", "a and b", _verdict(HOLDS, finding="Each pair sums to 1.00.")),
    Headline("approach2", "a | on points", from_interval("Approach 2: a = 0.49", 0.49, 0.51, (0.40, 0.59), "t"),
             fmt=".3f"),
    Headline("approach3", "a", from_interval("a = 0.46", 0.46, 0.51, (0.39, 0.58), "t"), fmt=".3f"),
    Headline("approach3", "eq. 10", _verdict(DISAGREES, claim="The paper fits eq. 10.", finding="E lies outside.")),
    Headline("wide", "a on our runs", from_interval("a = 0.49", 0.49, 0.48, (0.35, 0.61), "t"), fmt=".2f"),
    Headline("wide", "held out", _verdict(DISAGREES, finding="1 of 4 outside.")),
    Headline("experiment1", "loss", _verdict(DISAGREES, finding="Over 3 seeds, +0.039.")),
    Headline("experiment2b", "loss", _verdict(INCONCLUSIVE)),
    Headline("transfer", "N*", _verdict(AGREES)),
    Headline("article_scale", "losses at scale", None, note="not trained here"),
]


def test_the_table_has_one_row_per_headline_with_its_badge_and_chapter():
    md = results.table_markdown(FAKE)
    rows = [line for line in md.splitlines() if line.startswith("| {doc}")]
    assert len(rows) == len(FAKE)
    assert md.startswith("````{table} ") and md.endswith("````")
    for row, h in zip(rows, FAKE):
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 4, row  # a pipe in a quantity is escaped, not a new cell
        # the quantity links to its chapter; the outcome's badge comes next, before the sentences
        assert cells[0].strip().startswith("{doc}`") and cells[0].strip().endswith(f" <{h.chapter}>`")
        colour = BADGE[h.outcome] if h.verdict is not None else results.NO_CHECK_BADGE
        assert cells[1].strip() == f"{{bdg-{colour}}}`{h.label}`"
    # ours with its interval, in the headline's format; the paper's claim in words
    assert "We find 0.510 (0.400 to 0.590)." in rows[1] and "Approach 2: a = 0.49" in rows[1]
    assert "inconclusive (3 seeds, power 0.20)" in rows[7]
    assert "not trained here" in rows[-1] and "no check" in rows[-1]


def test_the_verdict_box_counts_every_headline_in_at_most_60_words():
    c = results.counts(FAKE)
    assert c == {"confirmed": 5, "contradicted": 3, "inconclusive": 1, "unchecked": 1}
    assert sum(c.values()) == len(FAKE)
    box = results.verdict_markdown(FAKE)
    assert words(box) <= 60
    assert "{bdg-success}`5 agree or hold`" in box and "{bdg-danger}`3 disagree or differ`" in box
    assert f"{len(FAKE)} in {len({h.chapter for h in FAKE})} chapters" in box


def test_the_findings_are_written_from_the_verdicts():
    first, second, third = results.findings_markdown(FAKE)
    assert "$a$ = 0.49" in first and "0.510 (0.400 to 0.590) {bdg-success}`agrees`" in first
    assert "0.48 (0.35 to 0.61) {bdg-success}`agrees`" in first
    assert first.endswith("predicts the larger ones, {bdg-danger}`disagrees`.")
    assert "The paper fits eq. 10." in second and "E lies outside. {bdg-danger}`disagrees`" in second
    assert "{doc}`Experiment 1 <experiment1>` {bdg-danger}`disagrees`" in third
    assert "{doc}`Experiment 2b <experiment2b>` {bdg-secondary}`inconclusive (3 seeds, power 0.20)`" in third
    assert third.endswith("{bdg-success}`agrees`.")


def test_results_come_first_after_the_introduction():
    pages = toc_chapters()
    assert pages[:2] == ["intro", "results"]
    assert "results" not in chapters() and "intro" not in chapters()  # no parameters: nothing to re-run


@pytest.mark.slow
def test_every_chapter_has_its_headline_from_the_library():
    from replication.claims import claim, evaluate, headlines
    from replication.studies import chinchilla, wide

    found = headlines.headlines()
    pages = toc_chapters()
    assert [h.chapter for h in found] == sorted((h.chapter for h in found), key=pages.index)  # reading order
    assert set(chapters()) - {"claims"} == {h.chapter for h in found}
    for h in found:
        assert h.verdict is not None or h.note, h
        assert h.outcome in OUTCOMES or h.verdict is None
    by = {}
    for h in found:
        by.setdefault(h.chapter, []).append(h.verdict)
    assert by["approach2"] == [evaluate(claim("T2.A2.a.data"))["verdict"]]
    assert by["study"] == chinchilla.verdicts()
    assert by["wide"] == wide.verdicts()
    # eq. 10's constants agree only if every one does, as the ledger's rows say
    eq10 = by["approach3"][1]
    rows = [evaluate(claim(f"eq10.{k}"))["outcome"] for k in ("E", "A", "B", "alpha", "beta")]
    assert eq10.outcome == (AGREES if set(rows) == {AGREES} else DISAGREES)
    assert {h.outcome for h in found} <= {HOLDS, DIFFERS, AGREES, DISAGREES, INCONCLUSIVE, "no check"}
