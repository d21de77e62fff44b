"""The one Verdict type: its vocabulary, its checks and how it prints."""
import math

import pytest

from replication.errors import ReplicationError
from replication.verdict import (AGREES, DIFFERS, DISAGREES, HOLDS, Verdict, box_markdown, from_check,
                                 from_interval, from_rounding, outcome_of, words)


def test_interval_verdicts_follow_the_papers_value():
    v = from_interval("N_opt grows as C^0.50.", paper=0.50, ours=0.46, interval=(0.38, 0.55), test="widest")
    assert v.outcome == AGREES and v.interval == (0.38, 0.55)
    w = from_interval("N_opt grows as C^0.50.", paper=0.50, ours=0.30, interval=(0.25, 0.41), test="widest")
    assert w.outcome == DISAGREES
    assert "0.46 (0.38 to 0.55)" in v.markdown()


def test_arithmetic_checks_hold_or_differ():
    assert from_check("67.5B parameters", 67.5e9, 67.6e9, rtol=0.01).outcome == HOLDS
    assert from_check("67.5B parameters", 67.5e9, 70e9, rtol=0.01).outcome == DIFFERS


def test_rounding_checks_compare_the_printed_digits():
    assert from_rounding("a = 0.50.", 0.50, 0.5049, ".2f").outcome == HOLDS
    assert from_rounding("a = 0.50.", 0.50, 0.5051, ".2f").outcome == DIFFERS
    assert from_rounding("k_N = 0.0877.", 0.0877, 0.08774, ".4f").test == "recomputed, rounded as printed (.4f)"


def test_inconclusive_carries_n_and_power():
    v = Verdict(claim="Longer contexts help.", outcome="inconclusive", test="paired t", n=3, power=0.25)
    assert str(v) == "inconclusive (3 seeds, power 0.25)"
    assert outcome_of(str(v)) == "inconclusive"
    assert str(Verdict("x.", "inconclusive", "paired t", n=1, power=math.nan)) == "inconclusive (1 seed)"
    with pytest.raises(ReplicationError, match="n"):
        Verdict(claim="x.", outcome="inconclusive", test="paired t")


@pytest.mark.parametrize("kw, match", [
    ({"outcome": "not distinguishable"}, "outcome"),
    ({"interval": (2.0, 1.0)}, "interval"),
    ({"power": 1.5}, "power"),
    ({"claim": " "}, "claim"),
])
def test_bad_verdicts_are_refused(kw, match):
    args = {"claim": "x.", "outcome": "agrees", "test": "t"} | kw
    with pytest.raises(ReplicationError, match=match):
        Verdict(**args)


def test_the_box_is_badges_and_sentences_and_words_count_what_a_reader_sees():
    v = Verdict(claim="The paper says so.", outcome="agrees", test="t", finding="We find so.")
    md = box_markdown([v])
    assert md == "{bdg-success}`agrees` The paper says so. We find so."
    assert words(md) == 8
    assert "warning" not in md
    with pytest.raises(ReplicationError):
        box_markdown([])
    with pytest.raises(ReplicationError):
        outcome_of("better")
