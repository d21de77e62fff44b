"""The FLOP accountings compared (replication.studies.accountings, replication.counting.decoder): every
printed cell of Krasser's Tables 1-5 and every ratio of Chinchilla's Table A4 recomputed, the terms, and
which budget a Chinchilla law must be given."""
import math

import pytest

from replication.counting import Decoder, PerceiverARShape, appendix_f_terms, table_a4_matches
from replication.studies import accountings
from replication.verdict import DIFFERS, HOLDS, words


def test_every_printed_cell_of_tables_1_to_5_is_reproduced_under_the_article_accounting():
    check = accountings.article_cells()
    assert check["table"].tolist() == [1, 2, 3, 4, 5]
    # the channels and layers define the models and are left aside: 9 columns of Table 1, 3 of Table 2
    assert check["cells"].tolist() == [27, 9, 45, 15, 18]
    assert (check["article"] == check["cells"]).all()
    # the correction changes most cells: every FLOP count and every step count but the reference's
    assert (check["corrected"] < check["cells"]).all()


def test_table_a4_reproduces_only_without_embeddings_and_logits():
    a4 = table_a4_matches()
    assert (a4["rows"], a4["table_a4"], a4["appendix_f"]) == (6, 6, 0)


def test_verdicts_hold_and_would_differ_on_one_wrong_cell():
    cells = accountings.article_cells()
    tables, a4 = accountings.verdicts(cells, table_a4_matches())
    assert (tables.outcome, a4.outcome) == (HOLDS, HOLDS)
    assert "114 of 114" in tables.found() and "6 of 6" in a4.found() and ", 0 as Appendix F" in a4.found()
    from replication.verdict import box_markdown
    assert words(box_markdown([tables, a4])) <= 60
    cells.loc[0, "article"] -= 1
    assert accountings.verdicts(cells, table_a4_matches())[0].outcome == DIFFERS


def test_terms_sum_to_the_counts_and_the_correction_drops_the_logits():
    m = PerceiverARShape(32000, 2048, 512, 512, 9)
    t = accountings.accounting_terms(m, 0.5)
    for acc in ("article", "corrected"):
        assert t.loc["self", acc].sum() == m.self_attn_flops(acc)
        assert t.loc["cross", acc].sum() == m.cross_attn_flops(0.5, acc)
    assert t.loc[("self", "final_logits"), "corrected"] == 0 < t.loc[("self", "final_logits"), "article"]


def test_appendix_f_terms_leave_out_exactly_embeddings_and_logits_for_table_a4():
    t = appendix_f_terms(Decoder(num_layers=10, d_model=640, ffw_size=2560, num_heads=10, kv_size=64))
    assert set(t.index[~t["table_a4"]]) == {"embeddings", "final_logits"} and t["appendix_f"].all()
    assert t["share"].sum() == pytest.approx(1.0)


def test_self_flops_ratios_approach_one_for_wide_models_and_cross_shares_grow_with_the_prefix():
    r = accountings.self_flops_ratios([262, 32000], [[512, 9], [4096, 48]])
    wide = r[(r["num_channels"] == 4096) & (r["accounting"] == "corrected")]["C_self/6N_self"]
    assert ((wide - 1).abs() < 0.1).all()
    s = accountings.cross_shares(262, 512, 9, [128, 1536, 16384])
    for acc in ("article", "corrected"):
        assert s[s["accounting"] == acc]["C_cross/C"].is_monotonic_increasing


def test_nearest_shapes_of_experiment_1():
    t = accountings.nearest_shapes()
    assert t["channels"].tolist() == [632, 592]
    assert t["N_self"].tolist() == [73_333_256, 61_360_240]


def test_only_the_6nd_budget_is_consistent_and_it_points_to_the_published_model():
    t = accountings.convention_pairings()
    e1 = t.loc["1"]
    # Experiment 1's corrected budget is 0.735 of 6 N_self D (the article's Table 2, corrected)
    assert e1.loc["corrected C_self", "C_ref / 6ND"] == pytest.approx(0.735, abs=5e-4)
    assert e1.loc["6 N_self D (the law's)", "C_ref / 6ND"] == 1.0
    assert e1.loc["corrected C_self", "nearest trained model"] == "592/10"
    assert e1.loc["6 N_self D (the law's)", "nearest trained model"] == "624/11"
    # N_opt scales as C^0.49, so the mixed pairing lowers it by 1 - 0.735^0.49
    ratio = e1.loc["corrected C_self", "N_opt"] / e1.loc["6 N_self D (the law's)", "N_opt"]
    assert ratio == pytest.approx(e1.loc["corrected C_self", "C_ref / 6ND"] ** 0.49, rel=1e-12)
    assert t["consistent with the law"].sum() == 3
    assert math.isclose(t.loc["2a"].loc["corrected C_self", "C_ref / 6ND"], 1.1517, abs_tol=5e-4)
