"""The approach3 chapter's helpers (book/_lib/approach3.py): numbers written as the paper gives them,
the tables of the paper's constants and of Table A3, and the numbers the prose quotes."""
import pytest

from _lib import approach3
from replication.fit.approach3 import regenerate_table_a3
from replication.papers import chinchilla as paper


@pytest.fixture
def glued(monkeypatch):
    """Capture the chapter's glue calls instead of displaying them."""
    seen = {}
    monkeypatch.setattr(approach3, "glue", lambda name, value, display=True: seen.__setitem__(name, value))
    return seen


def test_given_writes_the_digits_a_source_printed():
    assert approach3.given(0.34) == "0.34"
    assert approach3.given(406.401) == "406.401"
    assert approach3.given(0.33917084) == "0.33917084"
    assert approach3.given(1.4255e15) == "1.4255×10¹⁵"
    assert approach3.given(4e8) == "4×10⁸"


def test_constants_table_shows_printed_constants_unpadded_and_the_frontier():
    t = approach3.constants_table({"eq. 10 as printed": paper.EQ10, "eq. 10 unrounded": paper.EQ10_UNROUNDED})
    d = t.data
    assert d.loc["α", "eq. 10 as printed"] == "0.34"
    assert d.loc["β", "eq. 10 unrounded"] == "0.2849083"
    # the unrounded constants give Table 2's a = 0.46, the rounded ones 0.45
    assert d.loc["a (N_opt ∝ Cᵃ)", "eq. 10 unrounded"] == "0.4565"
    assert d.loc["a (N_opt ∝ Cᵃ)", "eq. 10 as printed"] == "0.4516"
    assert "e+" not in t.to_html()


def test_table_a3_tables_flag_the_175b_misprint_and_fit_a_page():
    a3 = regenerate_table_a3(paper.EQ10_UNROUNDED)
    budgets, tokens = approach3.table_a3_tables(a3)
    assert len(budgets.data.columns) == 6 and len(tokens.data.columns) == 4
    notes = budgets.data.set_index("parameters N")["note"]
    assert notes[notes != ""].index.tolist() == ["1.75×10¹¹"]
    for t in (budgets, tokens):
        assert "e+" not in t.to_html()


def test_glue_paper_quotes_the_misprint_and_the_drift(glued):
    a3 = regenerate_table_a3(paper.EQ10_UNROUNDED)
    v = approach3.glue_paper(a3)
    assert glued == v
    assert v["a3_n_bad"] == 1
    assert (v["a3_bad_N"], v["a3_bad_D"]) == (175.0, 12.0)
    assert v["a3_bad_factor"] == pytest.approx(10.0)
    assert v["a3_bad_C"] == "1.26×10²⁴" and v["a3_bad_6ND"] == "1.26×10²⁵"
    assert f"{v['a3_unr_a']:.2f}" == "0.46" and f"{v['a3_rnd_a']:.2f}" == "0.45"
    assert f"{v['a3_L_gopher_rnd']:.3f}" == "1.993"
    assert 0 < v["a3_drift_min"] < v["a3_drift_max"] < 25
    assert f"{v['a3_printed_a']:.3f}" == "0.459"
    # Besiroglu et al.'s constants put Gopher's optimum near Chinchilla's 70B and 20 tokens per parameter
    assert 60 < v["a3_epoch_N_gopher"] < 80 and 15 < v["a3_epoch_tpp_gopher"] < 25


def test_allocation_and_beside_tables_have_no_e_notation():
    a3 = regenerate_table_a3(paper.EQ10_UNROUNDED)
    for t in (approach3.allocation_table({"eq. 10": paper.EQ10}, paper.GOPHER_FLOPS),
              approach3.beside_table(a3), approach3.predicted_losses_table()):
        assert "e+" not in t.to_html()
    beside = approach3.beside_table(a3).data
    assert beside.loc["C for 175B parameters (Table A3; ours: 6ND, FLOPs)", "ours"] == "1.26×10²⁵"
