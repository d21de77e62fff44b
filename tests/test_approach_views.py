"""The approach chapters' presentation helpers (book/_lib/approach1.py, approach2.py): what their tables say."""
import math

import pytest

from _lib import approach1, approach2
from replication.fit.laws import chinchilla_law
from replication.sources import chinchilla as paper
from replication.sources import krasser


def test_printed_writes_numbers_as_the_paper_does():
    assert approach1.printed(66.57e9, ".0f", 1e9, "B") == "67B"
    assert approach1.printed(1.4389e12, ".1f", 1e12, "T") == "1.4T"
    assert approach1.printed(6.404e23, ".2e") == "6.4×10²³"
    assert approach1._gopher_units(1 / 29968) == "1/29,968" and approach1._gopher_units(22515.9) == "22,515.9"


def test_beside_table_judges_arithmetic_by_rounding_and_estimates_by_interval():
    law = chinchilla_law(1)
    t = approach1.beside_table([
        ("k_N", "Krasser", krasser.LAWS[1]["k_N"], law.k_N, ".4f", 1, ""),
        ("D at Gopher", "Table 3", 1.5e12, float(law.d_opt(paper.GOPHER_FLOPS)), ".1f", 1e12, "T"),
        ("a ours", "Table 2", 0.50, 0.56, ".2f", 1, "", (0.38, 0.67)),
        ("b ours", "Table 2", 0.51, 0.61, ".2f", 1, "", (0.57, 0.64)),
    ])
    assert t["status"].tolist() == ["same when rounded", "differs when rounded", "paper inside our interval",
                                    "paper outside our interval"]
    assert t["ours"].tolist()[:3] == ["0.08772", "1.44T", "0.560 (0.380 to 0.670)"]


def test_verdict_needs_an_interval():
    assert approach1.verdict((0.42, 0.50), 0.49) == "agrees"
    assert approach1.verdict((0.57, 0.64), 0.51) == "disagrees"
    assert approach1.verdict((math.nan, math.nan), 0.49).startswith("not judged")


def test_tables_show_no_e_notation():
    law = chinchilla_law(2)
    for styler in (approach1.table3(paper.TABLE_3), approach2.show_table_a3(paper.TABLE_A3),
                   approach1.laws_table({"Krasser": krasser.LAWS[2], "ours": law}),
                   approach1.at_budget_table({"ours": law}, paper.GOPHER_FLOPS),
                   approach2.show_bias(approach2.off_centre_bias(paper.EQ10_UNROUNDED, 1e20, [-0.8, 0.0, 3.0])),
                   approach2.show_snap(approach2.snap_table())):
        html = styler.to_html()
        assert "e+" not in html and "e-" not in html.replace("rp-table", "")


def test_snap_table_writes_the_budgets_it_leaves_out():
    t = approach2.snap_table((0.05, 0.2))
    assert t["left out"].iloc[0].startswith("6×10¹⁸ (2 distinct sizes") and t["left out"].iloc[1] == "none"


def test_isoflop_figure_has_a_colour_bar_for_the_budget():
    from replication import fit as F

    iso = F.synthetic_isoflops(paper.EQ10_UNROUNDED, [1e19, 1e20, 1e21], sizes=7, span=1.0)
    fig = approach2.plot_isoflops(iso, F.fit_approach2(iso))
    assert any(ax.get_ylabel() == "budget C (FLOPs)" for ax in fig.axes)
    assert fig.axes[0].get_ylabel() == "loss (nats per token)"


def test_figure4_numbers_judge_both_exponents_on_their_widest_interval():
    from replication.studies import figure4

    fit, fit_all, boot = figure4.isoflop_fits(200)
    ex = figure4.approach2_exponents(200)
    v = approach2.glue_figure4(fit, fit_all, boot, ex)
    t2 = paper.TABLE_2["approach2"]
    for name, key in (("a", "f2_verdict"), ("b", "f2_verdict_b")):
        lo, hi = ex[name].widest
        every = ex[name].intervals().values()  # bootstrap, residual t and every range of refits
        assert (lo, hi) == (min(i[0] for i in every), max(i[1] for i in every))
        assert v[key] == ("agrees" if lo <= t2[name] <= hi else "disagrees")
    assert "e+" not in v["f2_excluded"] and v["f2_b"] == pytest.approx(1 - v["f2_a"])
