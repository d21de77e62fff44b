"""The approach chapters' presentation helpers (book/_lib/approach1.py, approach2.py): what their tables say."""
import pytest

from _lib import approach1, approach2
from replication.fit.laws import chinchilla_law
from replication.fit.vertex_bias import off_centre_bias
from replication.papers import chinchilla as paper
from replication.papers import krasser
from replication.studies import figure4
from replication.verdict import box_markdown, words


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
    assert t["status"].tolist() == ["holds", "differs", "agrees", "disagrees"]
    assert t["ours"].tolist()[:3] == ["0.08772", "1.44T", "0.560 (0.380 to 0.670)"]


def test_approach1_verdicts_judge_data_by_the_widest_interval_and_table3_by_rounding():
    from replication import fit as F
    from replication.studies.exponents import ExponentIntervals

    t3 = paper.TABLE_3
    free = F.fit_compute_optimal(t3["C"], t3["N"], t3["D"])
    wide = ExponentIntervals("a", 0.56, 5, (0.50, 0.60), (0.45, 0.70))
    narrow = ExponentIntervals("a", 0.56, 5, (0.53, 0.59), (0.52, 0.60))
    data, table3 = approach1.verdicts(free, {"combined": {"a": wide}})
    assert (data.outcome, data.n, table3.outcome) == ("agrees", 5, "holds")
    assert "0.56 (widest 80% interval 0.45 to 0.70)" in data.found() and "5 budgets" in data.found()
    assert approach1.verdicts(free, {"combined": {"a": narrow}})[0].outcome == "disagrees"
    assert words(box_markdown([data, table3])) <= 60


def test_tables_show_no_e_notation():
    law = chinchilla_law(2)
    for styler in (approach1.table3(paper.TABLE_3), approach2.show_table_a3(paper.TABLE_A3),
                   approach1.laws_table({"Krasser": krasser.LAWS[2], "ours": law}),
                   approach1.at_budget_table({"ours": law}, paper.GOPHER_FLOPS),
                   approach2.show_bias(off_centre_bias(paper.EQ10_UNROUNDED, 1e20, [-0.8, 0.0, 3.0])),
                   approach2.show_snap(figure4.snap_sensitivity())):
        html = styler.to_html()
        assert "e+" not in html and "e-" not in html.replace("rp-table", "")


def test_snap_table_writes_the_budgets_it_leaves_out():
    t = approach2.show_snap(figure4.snap_sensitivity((0.05, 0.2))).data
    left_out = t["budgets left out"].tolist()
    assert left_out[0].startswith("6×10¹⁸ (2 distinct sizes") and left_out[1] == "none"


def test_isoflop_figure_has_a_colour_bar_for_the_budget():
    from replication import fit as F

    iso = F.synthetic_isoflops(paper.EQ10_UNROUNDED, [1e19, 1e20, 1e21], sizes=7, span=1.0)
    fig = approach2.plot_isoflops(iso, F.fit_approach2(iso))
    assert any(ax.get_ylabel() == "budget C (FLOPs)" for ax in fig.axes)
    assert fig.axes[0].get_ylabel() == "loss (nats per token)"


def test_figure4_numbers_judge_both_exponents_on_their_widest_interval():
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


def test_approach2_box_judges_the_papers_points_and_our_runs_by_their_widest_intervals():
    from replication.studies.exponents import ExponentIntervals

    points = {"a": ExponentIntervals("a", 0.48, 8, (0.46, 0.50), (0.45, 0.51), level=0.95)}
    ours = {"a": ExponentIntervals("a", 0.60, 5, (0.55, 0.65), (0.52, 0.68))}
    on_points, on_ours = approach2.verdicts(points, ours)
    assert (on_points.outcome, on_ours.outcome) == ("agrees", "disagrees")
    assert "widest 95% interval 0.45 to 0.51" in on_points.found() and on_ours.n == 5
    assert words(box_markdown([on_points, on_ours])) <= 60
