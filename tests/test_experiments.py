"""Krasser's experiment tables: every cell of the article's Tables 1-5 (v1 accounting), and the numbers
of his FLOP correction."""
import pytest

from replication.errors import ReplicationError
from replication.studies.krasser_design import (
    EXPERIMENTS,
    Experiment,
    article_table,
    both_accountings,
    closest_model,
    experiment,
    formatted,
    predictions,
)
from replication.counting import ComputeEstimator
from replication.fit.laws import chinchilla_law
from replication.papers import krasser


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5])
def test_article_tables_every_cell(number):
    got = formatted(article_table(number, accounting="article"))
    printed = krasser.TABLES[number]
    assert list(got.index) == list(printed.index)
    for i, row in printed.iterrows():
        for column, cell in row.items():
            assert got.loc[i, column] == cell, (number, i, column)


def test_experiment_1_reference_and_prediction_v1():
    exp = experiment("1", "article")
    assert exp.d_ref == 50000 * 512 * 80
    assert f"{exp.d_ref:.2e}" == f"{krasser.REFERENCE_MODEL['d_ref']:.2e}"
    assert f"{exp.c_ref:.2e}" == f"{krasser.REFERENCE_MODEL['c_ref']:.2e}"
    assert exp.c_ref == 282_335_232 * exp.d_ref  # C_ref = self_attn(ref) D_ref, exactly
    assert f"{exp.n_opt(chinchilla_law(2)):.2e}" == f"{krasser.N_OPT['1'][2]:.2e}"
    setup = exp.setup()
    assert setup.loc[2, "N_self"] == 71_746_448
    assert setup.loc[2, "num_steps"] == 31421
    assert f"{setup.loc[1, 'N']:.2e}" == f"{krasser.REFERENCE_MODEL['num_params']:.2e}"
    assert f"{setup.loc[1, 'N_self']:.2e}" == f"{krasser.REFERENCE_MODEL['num_self_attn_params']:.2e}"


def test_experiment_2a_v1():
    exp = experiment("2a", "article")
    assert exp.setup().loc[4, "num_steps"] == 46451
    assert f"{exp.n_opt(chinchilla_law(1)):.2e}" == f"{krasser.N_OPT['2a'][1]:.2e}"
    assert f"{exp.n_opt(chinchilla_law(2)):.2e}" == f"{krasser.N_OPT['2a'][2]:.2e}"


def test_experiment_1_corrected():
    exp = experiment("1", "corrected")
    assert f"{exp.c_ref:.2e}" == "4.07e+17"
    assert f"{exp.n_opt(chinchilla_law(2)):.2e}" == "6.16e+07"
    setup = exp.setup()
    assert (setup.loc[2, "num_channels"], setup.loc[2, "num_layers"]) == (592, 10)
    assert setup.loc[2, "N_self"] == 61_360_240
    assert f"{setup.loc[2, 'N_self']:.2e}" == "6.14e+07"
    assert list(setup["num_steps"]) == [50000, 34336, 17894]
    ratios = formatted(exp.ratios())
    assert ratios.values.tolist() == [["0.0172", "0.0456", "0.7351"],
                                      ["0.0146", "0.0393", "0.7852"],
                                      ["0.0104", "0.0286", "0.8687"]]


def test_experiment_2a_corrected():
    exp = experiment("2a", "corrected")
    assert f"{exp.c_ref:.2e}" == "2.13e+17"
    assert f"{exp.n_opt(chinchilla_law(1)):.2e}" == "4.04e+07"
    assert f"{exp.n_opt(chinchilla_law(2)):.2e}" == "4.48e+07"
    assert list(exp.setup()["num_steps"]) == [26144, 18417, 20463, 45971, 8455]


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("accounting", ["article", "corrected"])
def test_iso_compute_invariants(name, accounting):
    exp = experiment(name, accounting)
    s = exp.setup()
    assert s.loc[1, "num_steps"] == exp.ref_steps  # the reference trains for exactly its own steps
    assert s.loc[1, "D_iso"] == exp.d_ref
    assert s["C_self"].to_numpy() == pytest.approx(exp.c_ref, rel=1e-12)  # every model spends C_ref
    assert (s["C"] == s["C_self"] + s["C_cross"]).all()
    assert (s["N"] == s["N_self"] + s["N_cross"]).all()
    # num_steps is the smallest whole number of steps covering D_iso
    tokens_per_step = exp.num_latents * exp.batch_size
    assert (s["num_steps"] * tokens_per_step >= s["D_iso"]).all()
    assert ((s["num_steps"] - 1) * tokens_per_step < s["D_iso"]).all()


def test_parameters_do_not_depend_on_accounting():
    for number in (1, 3, 5):
        a, c = article_table(number, "article"), article_table(number, "corrected")
        same = (a["num_channels"] == c["num_channels"]) & (a["num_layers"] == c["num_layers"])
        assert (a.loc[same, "N"] == c.loc[same, "N"]).all()


def test_correction_moves_experiment_1_more_than_2a():
    law = chinchilla_law(2)
    move_1 = experiment("1", "corrected").n_opt(law) / experiment("1", "article").n_opt(law)
    move_2a = experiment("2a", "corrected").n_opt(law) / experiment("2a", "article").n_opt(law)
    assert move_1 < 0.9  # 7.32e7 -> 6.16e7
    assert abs(move_2a - 1) < 0.05  # 4.33e7 -> 4.48e7


def test_closest_model():
    ce = ComputeEstimator(32000, 2048, 512, accounting="corrected")
    assert closest_model(ce, 6.157e7, 10) == (592, 61_360_240)
    with pytest.raises(ReplicationError, match="multiple"):
        closest_model(ce, 6e7, 10, multiple=12)
    with pytest.raises(ReplicationError, match="n_opt"):
        closest_model(ce, -1.0, 10)


def test_bad_inputs():
    with pytest.raises(ReplicationError, match="number"):
        article_table(6)
    with pytest.raises(ReplicationError, match="experiment"):
        experiment("3")
    with pytest.raises(ReplicationError, match="accounting"):
        experiment("1", "v3")
    with pytest.raises(ReplicationError, match="num_channels"):
        Experiment("x", 262, 2048, 100, models=((500, 9),))
    with pytest.raises(ReplicationError, match="ref_steps"):
        Experiment("x", 262, 2048, 0, models=((512, 9),))
    with pytest.raises(ReplicationError, match="labels"):
        Experiment("x", 262, 2048, 10, models=((512, 9),), labels=("a", "b"))
    with pytest.raises(ReplicationError, match="prefix_dropout"):
        Experiment("x", 262, 2048, 10, models=((512, 9),), prefix_dropout=1.0)


def test_predictions_table():
    df = predictions().set_index(["experiment", "accounting", "approach"])
    assert df.loc[("1", "article", 2), "model"] == "624/11"
    assert df.loc[("1", "corrected", 2), "model"] == "592/10"
    assert f"{df.loc[('1', 'article', 2), 'N_opt']:.2e}" == "7.32e+07"
    assert f"{df.loc[('1', 'corrected', 2), 'N_opt']:.2e}" == "6.16e+07"
    assert df.loc[("2a", "corrected", 1), "model"] == "584/9"
    assert df.loc[("2a", "corrected", 2), "model"] == "584/10"


def test_both_accountings_stack_the_article_table():
    both = both_accountings(2)
    assert list(both.index.names) == ["accounting", "model"]
    assert both.loc["article"].equals(article_table(2, "article"))
    assert both.loc[("corrected", 2), "C_self/C_self_hat"] == pytest.approx(0.7852, abs=5e-5)


def test_flops_chapter_tables():
    from replication.studies.accountings import accounting_terms, cross_shares, self_flops_ratios
    from replication.counting import PerceiverARShape

    m = PerceiverARShape(32000, 2048, 512, 512, 9)
    terms = accounting_terms(m)
    assert terms.loc["self", "corrected"].sum() == m.self_attn_flops("corrected")
    assert terms.loc[("self", "final_logits"), "corrected"] == 0
    share = cross_shares(32000, 512, 9, [256, 1536, 8192])
    corrected = share[share["accounting"] == "corrected"]["C_cross/C"]
    assert corrected.is_monotonic_increasing
    assert f"{corrected.iloc[1]:.4f}" == "0.0456"
    ratios = self_flops_ratios([262, 32000], [(512, 9), (1024, 16)])
    small = ratios[(ratios.vocab_size == 32000) & (ratios.num_channels == 512) & (ratios.accounting == "article")]
    assert f"{small['C_self/6N_self'].iloc[0]:.2f}" == "1.05"


def test_appendix_f_terms():
    from replication.counting.decoder import appendix_f_terms
    from replication.counting import Decoder

    m = Decoder(10, 640, 2560, 10, 64)
    df = appendix_f_terms(m)
    per_token = df["training FLOPs per token"]
    assert per_token.sum() * m.seq_len == m.flops("appendix_f")
    assert per_token[df["table_a4"]].sum() * m.seq_len == m.flops("table_a4")
    assert per_token["embeddings"] == 3 * 2 * 32000 * 640
