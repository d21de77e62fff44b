"""The flops chapter's helpers (book/_lib/flops.py): the tables as the page shows them, and the numbers
glued into its prose."""
import pytest

from _lib import flops
from replication.studies import accountings


def _html(styler) -> str:
    return styler.to_html()


def test_article_tables_are_split_to_fit_and_print_three_significant_figures():
    steps, models, self_flops, compute = flops.article_tables(1)
    ratios, = flops.article_tables(2)
    # four quantities side by side were 768-805 px against the 772 px column at 1400 px: at most three per table
    for styler, most in ((steps, 6), (models, 6), (self_flops, 4), (compute, 4), (ratios, 6)):
        assert len(styler.data.columns) <= most
        html = _html(styler)
        assert "e+" not in html and "rp-table" in html and "in both accountings" in styler.rp_caption
    # the accountings side by side: Table 1, model 1, the article's 4.50e+07 self-attention parameters, with its
    # trailing zero; model 2 is 624/11 in the article, 592/10 after the correction
    assert models.data.loc["Model 1 (ref)", ("self-attention parameters", "article")] == "4.50×10⁷"
    assert steps.data.loc["Model 2 (opt)", "channels / layers"].tolist() == ["624/11", "592/10"]
    assert compute.data.loc["Model 1 (ref)", ("training FLOPs", "article")] == "5.93×10¹⁷"
    assert self_flops.data.loc["Model 1 (ref)", ("self-attention FLOPs", "corrected")] == "4.07×10¹⁷"
    assert ratios.data.loc["Model 1 (ref)", ("self-attention FLOPs / 6ND estimate", "corrected")] == "0.7351"
    # Table 3: the shapes and parameters do not depend on the accounting, so they are shown once
    steps3, models3, *_ = flops.article_tables(3)
    assert [c[1] for c in models3.data.columns] == ["all"] * 3
    assert [c[1] for c in steps3.data.columns][0] == "all"


def test_as_printed_keeps_the_article_digits():
    assert flops.as_printed(4.5e7) == "4.50×10⁷"
    assert flops.as_printed(7.6e15) == "7.60×10¹⁵"
    assert flops.as_printed(1e9) == "1.00×10⁹"


@pytest.mark.parametrize("make", [
    lambda: flops.pairings_table(accountings.convention_pairings()),
    lambda: flops.predictions_table()[0],
    lambda: flops.predictions_table()[1],
    flops.nearest_table,
    lambda: flops.table_a4_tables()[1],
    flops.laws_table,
])
def test_chapter_tables_have_no_e_notation_and_no_raw_names(make):
    html = _html(make())
    assert "e+" not in html
    for raw in ("C_ref", "N_self/N_opt", "paper_ratio", "num_channels", "C_self_hat"):
        assert f">{raw}<" not in html


def test_nearest_shapes_of_experiment_1():
    t = flops.nearest_table().data
    assert t["nearest channels (multiple of 8)"].tolist() == ["632", "592"]
    assert t["its self-attention parameters"].tolist() == ["73,333,256", "61,360,240"]


def test_glued_logit_share_of_the_executed_count():
    """What the correction drops that a GPU still executes: Experiment 1's reference (V = 32,000, d = 512,
    9 layers, n = 512) runs 2dV logit FLOPs per latent token forward, a third of its executed
    self-attention count, 24 d^2 L + 4 d n L + 2 d V."""
    v = flops.glue_prose()
    d, L, n, V = 512, 9, 512, 32000
    executed = L * (24 * d * d + 4 * d * n) + 2 * d * V
    corrected = L * (24 * d * d + 4 * d * n + 3 * 8 * n)
    assert v["fl_e1_logit_exec_share"] == pytest.approx(100 * 2 * d * V / executed)
    assert v["fl_e1_logit_exec_share"] == pytest.approx(33.2, abs=0.05)
    assert v["fl_e1_exec_over_cor"] == pytest.approx(executed / corrected)
    assert v["fl_e1_exec_over_cor"] == pytest.approx(1.49, abs=0.005)
    assert v["fl_logit_share"] == pytest.approx(34.8, abs=0.05)  # of the article's count
