"""What Table 2's exponents imply (replication.fit.laws) and the glance chapter's glued numbers."""
import numpy as np
import pytest

from _lib import glance
from replication.errors import ReplicationError
from replication.fit.laws import anchored_allocation, growth_table, table2_verdict
from replication.verdict import DIFFERS, HOLDS, words


def test_ten_times_compute():
    table = growth_table(10.0)
    kaplan = table.loc["kaplan"]
    assert kaplan["N growth"] == pytest.approx(5.37, abs=0.005)   # "5.4x"
    assert kaplan["D growth"] == pytest.approx(1.86, abs=0.005)   # 1.9x, not the 1.8x some summaries quote
    a1 = table.loc["approach1"]
    assert a1["N growth"] == pytest.approx(np.sqrt(10)) and a1["tokens/param growth"] == pytest.approx(1.0)
    a3 = table.loc["approach3"]
    assert (a3["a"], a3["b"], a3["a + b"]) == (0.46, 0.54, pytest.approx(1.0))
    with pytest.raises(ReplicationError, match="factor"):
        growth_table(1.0)


def test_curves_pass_through_anchor_with_table2_slopes():
    c, curves = anchored_allocation(5.88e23 / 100, 5.88e23 * 100, num=5)
    n, d = curves["approach2"]
    assert n[2] == pytest.approx(70e9) and d[2] == pytest.approx(1.4e12)
    assert np.log10(n[-1] / n[0]) / np.log10(c[-1] / c[0]) == pytest.approx(0.49)


def test_bad_range():
    with pytest.raises(ReplicationError, match="c_min"):
        anchored_allocation(1e20, 1e18)


def test_table2_verdict_holds_and_would_differ_for_a_pair_off_one(monkeypatch):
    v = table2_verdict(10.0)
    assert v.outcome == HOLDS and "sums to 1.00;" in v.found() and "3.16" in v.found()
    assert words(v.markdown()) <= 60
    from replication.fit import laws

    monkeypatch.setitem(laws.TABLE_2, "approach3", {**laws.TABLE_2["approach3"], "b": 0.44})
    assert table2_verdict(10.0).outcome == DIFFERS


def test_glued_numbers_are_the_tables_arithmetic():
    v = glance.glue_numbers(10.0, 1e18, 1e26)
    assert v["gl_sum_verdict"] == "holds" and v["gl_sum_lo"] == pytest.approx(1.0) and v["gl_sums"] == "1.00"
    assert v["gl_kaplan_n"] == pytest.approx(10**0.73) and v["gl_kaplan_tpp"] == pytest.approx(10**-0.46)
    assert (v["gl_chin_n_lo"], v["gl_chin_n_hi"]) == (pytest.approx(10**0.46), pytest.approx(10**0.50))
    assert v["gl_per_decade"] == pytest.approx(10**0.23)
    # at the plot's right edge Kaplan's model is (C/C0)^0.23 times Approach 1's, on as many times fewer tokens
    edge = 1e26 / (6 * 70e9 * 1.4e12)
    assert v["gl_edge_n"] == pytest.approx(edge**0.23) == pytest.approx(v["gl_edge_d"])
    assert v["gl_edge_c"] == "10²⁶"


def test_exponent_table_as_shown_has_readable_cells():
    html = glance.show_exponents(10.0).to_html()
    assert "e+" not in html and "5.37" in html and "× for 10× C" in html and "Kaplan et al. (2020)" in html
