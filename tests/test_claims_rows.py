"""How the claims page writes one claim (book/_lib/claims.py): powers in caret notation as superscripts,
chapters by their titles, a rule only where a rule decides the claim."""
import pandas as pd

from _lib import claims as page
from replication.claims.ledger import NOT_CHECKED


def test_powers_in_caret_notation_are_superscripts():
    assert page.carets("2^(1/3) (approximately 1.26)") == "2<sup>1/3</sup> (approximately 1.26)"
    assert page.carets("10^26 FLOPs; 10^4-10^5 parameters") == "10<sup>26</sup> FLOPs; 10<sup>4</sup>-10<sup>5</sup> parameters"
    assert page.carets("10^0.73 = 5.37; 2^(b-a); E + B/300B^β") == \
        "10<sup>0.73</sup> = 5.37; 2<sup>b-a</sup>; E + B/300B<sup>β</sup>"
    assert page.carets("no power here: a^ b") == "no power here: a^ b"


def test_a_chapter_is_named_by_its_title():
    assert page.chapter_title("glance") == "Scaling laws at a glance"
    assert page.chapter_link("glance", {"glance"}) == '<a href="glance.html">Scaling laws at a glance</a>'
    assert page.chapter_link("nowhere", set()) == "nowhere"
    assert page.chapter_title("../README") == "../README"  # a name, never a path


def row(**given):
    base = {"id": "x_1", "source": "notes", "quote": "per doubling, 2^(1/3) <b>", "expected": "1.26",
            "ours": "1.26", "corrected": "", "under correction": "", "kind": "arithmetically consistent",
            "outcome": "holds", "note": "a note", "rule": "rounded as printed (.2f)", "chapter": "glance"}
    return pd.Series({**base, **given})


def test_a_rule_is_shown_only_where_one_decides_the_claim():
    checked = page._claim(row(), {"glance"}, corrected=False)
    assert "rule: rounded as printed (.2f)" in checked and "2<sup>1/3</sup> &lt;b&gt;" in checked
    assert 'chapter: <a href="glance.html">Scaling laws at a glance</a>' in checked
    unchecked = page._claim(row(kind=NOT_CHECKED), {"glance"}, corrected=False)
    assert "rule:" not in unchecked and "a note" in unchecked


def test_the_verdict_box_says_what_became_of_the_claims_in_at_most_60_words(monkeypatch):
    from replication.verdict import words

    glued = {}
    monkeypatch.setattr(page, "glue", lambda name, value, display: glued.update({name: value}))
    outcomes = ["holds"] * 265 + ["differs"] * 33 + ["no check"] * 29 + ["inconclusive"] * 5 + ["disagrees"] * 3
    kinds = ["replicated from data"] * 20 + ["arithmetically consistent"] * (len(outcomes) - 20)
    df = pd.DataFrame({"outcome": outcomes, "kind": kinds})
    box = page.verdict(df)
    assert glued["claims_verdict"].data == box and words(box) <= 60
    # the statements without a check are counted apart from those checked: 335 listed, 306 checked, 29 not
    assert box.startswith("{bdg-danger}`differs` The paper, Krasser's article and note, and three write-ups make 335 "
                          "statements that this page lists; 306 of them we can check, 29 not.")
    assert "Of those checked, 265 hold, 33 differ, 5 are inconclusive, 3 disagree;" in box
    assert "checkable" not in box and "no check" not in box
    assert "of the 20 checked against independent data, 20 hold or agree." in box
