"""FLOPs and parameter counts: against the numbers Krasser's article and Chinchilla's Table A4 print, and
against counts worked out by hand; properties that must hold for any shape, input validation and the CLI."""
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replication.cli import main
from replication.cli.flops import main as flops
from replication.errors import ReplicationError
from replication.counting import (
    ACCOUNTINGS,
    DECODER_ACCOUNTINGS,
    ComputeEstimator,
    Decoder,
    PerceiverARShape,
    table_a4,
)
from replication.papers import krasser
from replication.papers.chinchilla import TABLE_A4

# Experiment 1's reference model: V=32000, max_seq_len=2048, n=512, d=512, L=9
REF = PerceiverARShape(vocab_size=32000, max_seq_len=2048, num_latents=512, num_channels=512, num_layers=9)
PRINTED = krasser.REFERENCE_MODEL


def e3(x) -> str:
    """Three significant figures, as the article prints its counts."""
    return f"{float(x):.2e}"


# ---- the article's worked example (its accounting) and the correction -------------------------------

def test_article_example_as_printed():
    c_self = REF.self_attn_flops("article")
    c_cross = REF.cross_attn_flops(0.5, "article")
    assert e3(c_self) == e3(PRINTED["self_attn_flops"])
    assert e3(c_cross) == e3(PRINTED["cross_attn_flops"])
    assert f"{c_cross / (c_cross + c_self):.4f}" == f"{PRINTED['cross_share']:.4f}"  # printed as 2.45%
    assert f"{c_self / (6 * REF.num_self_attn_params):.2f}" == f"{PRINTED['self_attn_flops_over_6n']:.2f}"
    assert e3(REF.num_params) == e3(PRINTED["num_params"])
    assert e3(REF.num_self_attn_params) == e3(PRINTED["num_self_attn_params"])
    assert REF.num_prefix == krasser.PREFIX_LENGTHS["1"]


def test_article_example_by_hand():
    # per latent token, forward: embedding 4d = 2,048; per layer 24d^2 + 2dn = 6,291,456 + 524,288, times
    # L = 9: 61,341,696; logits 2dV = 32,768,000. Total 94,111,744; training = 3 x forward
    assert REF.self_attn_flops("article") == 282_335_232
    # prefix, P/n = 3: embedding 4dP/n = 6,144 (not dropped); (4d^2 + 2dn) P/n (1 - p) = (1,048,576 +
    # 524,288) x 3 / 2 = 2,359,296. Total 2,365,440, x 3
    assert REF.cross_attn_flops(0.5, "article") == 3 * 2_365_440
    # N: V d = 16,384,000; (n + P) d = 1,048,576; hybrid layer 12d^2 + 7d = 3,149,312; 8 layers of
    # 12d^2 + 4d = 3,147,776 each: 25,182,208; output bias V = 32,000
    assert REF.num_params == 45_796_096
    assert REF.num_cross_attn_params == 1536 * 512 == 786_432
    assert REF.num_self_attn_params == 45_796_096 - 786_432


def test_corrected_example_by_hand():
    # per layer 24d^2 + 4dn + 3Hn = 6,291,456 + 1,048,576 + 12,288 = 7,352,320; x L = 9, x 3
    assert REF.self_attn_flops("corrected") == 198_512_640
    # prefix: (4d^2 P/n + 4dP + 3HP)(1 - p) = (3,145,728 + 3,145,728 + 36,864) / 2 = 3,164,160, x 3
    assert REF.cross_attn_flops(0.5, "corrected") == 9_492_480
    assert f"{REF.self_attn_flops('corrected') / REF.self_attn_flops_6n():.2f}" == "0.74"


SETUP_TABLES = {1: "1", 3: "2a", 5: "2b"}  # table -> experiment
RATIO_TABLES = {2: 1, 4: 3}  # ratio table -> the setup table of its models


def _table_models(number):
    design = krasser.DESIGNS[krasser.TABLE_EXPERIMENT[number]]
    for model, row in krasser.TABLES[number].iterrows():
        shape = PerceiverARShape(design["vocab_size"], design["max_seq_len"], krasser.NUM_LATENTS,
                                 int(row["num_channels"]), int(row["num_layers"]))
        yield model, row, shape


@pytest.mark.parametrize("number", sorted(SETUP_TABLES))
def test_parameter_columns_of_tables_1_3_5(number):
    # the parameter counts of a model do not depend on its training budget: the estimator alone gives them
    for model, row, m in _table_models(number):
        got = {"N": m.num_params, "N_cross": m.num_cross_attn_params, "N_self": m.num_self_attn_params}
        assert {k: e3(v) for k, v in got.items()} == {k: row[k] for k in got}, (number, model)


@pytest.mark.parametrize("number", sorted(RATIO_TABLES))
def test_ratio_tables_2_and_4_per_token(number):
    # every ratio of Tables 2 and 4 is a ratio of per-token counts: the training tokens cancel
    ratios = krasser.TABLES[number]
    for model, _, m in _table_models(RATIO_TABLES[number]):
        c_self, c_cross = m.self_attn_flops("article"), m.cross_attn_flops(krasser.PREFIX_DROPOUT, "article")
        got = {"N_cross/N": m.num_cross_attn_params / m.num_params, "C_cross/C": c_cross / (c_self + c_cross),
               "C_self/C_self_hat": c_self / m.self_attn_flops_6n()}
        assert {k: f"{v:.4f}" for k, v in got.items()} == ratios.loc[model].to_dict(), (number, model)


def test_parameter_count_of_a_table_3_model_by_hand():
    # Experiment 2a's model 2 (584/10, V = 262, 4,096 tokens): V d = 153,008; S d = 2,392,064;
    # hybrid 12d^2 + 7d = 4,096,760; 9 layers of 12d^2 + 4d = 4,095,008: 36,855,072; output bias 262
    assert PerceiverARShape(262, 4096, 512, 584, 10).num_params == 43_497_166


def test_experiment_1_predicted_models():
    assert e3(PerceiverARShape(32000, 2048, 512, 624, 11).num_self_attn_params) == krasser.TABLES[1].loc[2, "N_self"]
    assert PerceiverARShape(32000, 2048, 512, 624, 11).num_self_attn_params == 71_746_448
    assert PerceiverARShape(32000, 2048, 512, 592, 10).num_self_attn_params == 61_360_240


def test_article_cross_attn_truncates_before_times_three():
    # d = 8, P = 768, n = 512, p = 0.3: 4dP/n = 48, (4d^2 + 2dn) P/n (1-p) = 8,448 x 1.05 = 8,870.4;
    # forward 8,918.4 is cut to 8,918 before x 3 (x 3 first would give 26,755)
    assert PerceiverARShape(262, 1280, 512, 8, 1, 8).cross_attn_flops(0.3, "article") == 26_754


def test_compute_estimator_counts_one_experiment():
    article = ComputeEstimator(32000, 2048, 512, accounting="article")
    corrected = ComputeEstimator(32000, 2048, 512, accounting="corrected")
    assert article.num_prefix == corrected.num_prefix == 1536
    assert article.self_attn_flops(512, 9) == 282_335_232 and corrected.self_attn_flops(512, 9) == 198_512_640
    assert article.cross_attn_flops(512, 0.5) == 7_096_320 and corrected.cross_attn_flops(512, 0.5) == 9_492_480
    assert article.num_params(512, 9) == corrected.num_params(512, 9) == 45_796_096
    assert article.num_self_attn_params(512, 9) == 45_009_664
    assert article.num_cross_attn_params(512) == 786_432
    # the cross-attention part does not see depth
    assert article.cross_attn_flops(512) == article.model(512, 13).cross_attn_flops(0.5, "article")


def test_summary_keys():
    s = REF.summary(0.5, "article")
    for key in ("self_attn_flops", "cross_attn_flops", "num_params", "num_self_attn_params",
                "num_cross_attn_params", "self_attn_flops_6n"):
        assert key in s
    assert s["self_attn_flops_6n"] == 6 * 45_009_664


# ---- properties -------------------------------------------------------------------------------------

shapes = st.fixed_dictionaries({
    "vocab_size": st.integers(1, 100_000),
    "num_latents": st.integers(1, 2048),
    "extra": st.integers(1, 8192),
    "heads": st.sampled_from([1, 2, 4, 8, 16]),
    "k": st.integers(1, 256),
    "num_layers": st.integers(1, 64),
})


def _model(s, dk=0, dl=0):
    return PerceiverARShape(s["vocab_size"], s["num_latents"] + s["extra"], s["num_latents"],
                            s["heads"] * (s["k"] + dk), s["num_layers"] + dl, s["heads"])


@settings(max_examples=200, deadline=None)
@given(shapes, st.sampled_from(ACCOUNTINGS))
def test_flops_grow_in_channels_and_layers(s, acc):
    m, wider, deeper = _model(s), _model(s, dk=1), _model(s, dl=1)
    assert wider.self_attn_flops(acc) > m.self_attn_flops(acc)
    assert deeper.self_attn_flops(acc) > m.self_attn_flops(acc)
    assert wider.cross_attn_flops(0.5, acc) >= m.cross_attn_flops(0.5, acc)
    assert wider.num_params > m.num_params and deeper.num_params > m.num_params
    assert deeper.num_cross_attn_params == m.num_cross_attn_params  # the prefix does not see depth


@settings(max_examples=200, deadline=None)
@given(shapes, st.integers(1, 100_000))
def test_corrected_self_flops_do_not_depend_on_vocab(s, other_vocab):
    m = _model(s)
    other = PerceiverARShape(other_vocab, m.max_seq_len, m.num_latents, m.num_channels, m.num_layers, m.num_heads)
    assert other.self_attn_flops("corrected") == m.self_attn_flops("corrected")
    if other_vocab != m.vocab_size:  # ... while the article's do, through the logits 2dV
        assert other.self_attn_flops("article") != m.self_attn_flops("article")


@settings(max_examples=200, deadline=None)
@given(shapes, st.floats(0.0, 0.99))
def test_corrected_cross_flops_scale_with_keep_fraction(s, p):
    m = _model(s)
    full = m.cross_attn_flops(0.0, "corrected")
    kept = m.cross_attn_flops(p, "corrected")
    # exact up to the int() truncation of the forward count (at most 1 FLOP, times 3)
    assert abs(kept - full * (1 - p)) <= 3 * (1 + (1 - p))
    # in the article, the prefix-embedding term 4dP/n survives any dropout
    d, P, n = m.num_channels, m.num_prefix, m.num_latents
    assert m.cross_attn_flops(p, "article") >= 3 * int(4 * d * P / n)


@settings(max_examples=100, deadline=None)
@given(shapes, st.sampled_from(ACCOUNTINGS), st.floats(0.0, 0.99))
def test_terms_add_up_to_the_totals(s, acc, p):
    m = _model(s)
    assert 3 * sum(m.self_attn_terms(acc).values()) == m.self_attn_flops(acc)
    # the cross total truncates the forward sum once; summing the terms in another order may land
    # on the other side of an integer
    assert abs(3 * sum(m.cross_attn_terms(p, acc).values()) - m.cross_attn_flops(p, acc)) <= 3 + 1e-6 * m.cross_attn_flops(p, acc)


def test_correction_drops_embeddings_and_logits_adds_softmax():
    article, corrected = REF.self_attn_terms("article"), REF.self_attn_terms("corrected")
    assert {"embedding", "final_logits"} <= set(article) and not {"embedding", "final_logits"} & set(corrected)
    assert {"attention_softmax", "attention_reduction"} <= set(corrected)
    assert article["final_logits"] == 2 * 512 * 32000
    assert corrected["attention_softmax"] == 9 * 3 * 8 * 512


@pytest.mark.parametrize("V, n, P, d, L, H", [(262, 16, 48, 32, 3, 4), (300, 8, 8, 24, 1, 2), (1000, 32, 96, 64, 2, 8),
                                              (262, 64, 0, 32, 2, 4)])
def test_trainer_model_has_exactly_num_params(V, n, P, d, L, H):
    model = pytest.importorskip("replication.training.model")
    net = model.PerceiverAR(model.ModelConfig(vocab_size=V, num_latents=n, num_prefix=P, num_channels=d,
                                              num_layers=L, num_heads=H))
    assert sum(p.numel() for p in net.parameters()) == PerceiverARShape(V, n + P, n, d, L, H).num_params


def test_no_prefix_is_a_plain_decoder():
    m = PerceiverARShape(vocab_size=262, max_seq_len=64, num_latents=64, num_channels=32, num_layers=2, num_heads=4)
    assert m.num_prefix == 0 and m.num_cross_attn_params == 0
    assert m.cross_attn_flops(0.5) == 0 and m.cross_attn_flops(0.0, "article") == 0
    # V d = 8,384; S d = 2,048; hybrid 12d^2 + 7d = 12,512; one layer 12d^2 + 4d = 12,416; output bias 262
    assert m.num_params == 35_622


# ---- validation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    (dict(num_channels=100), "num_channels"),  # not divisible by 8 heads
    (dict(num_latents=4096), "num_latents"),
    (dict(vocab_size=0), "vocab_size"),
    (dict(num_layers=-1), "num_layers"),
    (dict(num_heads=0), "num_heads"),
    (dict(max_seq_len=-5), "max_seq_len"),
    (dict(num_channels=512.0), "num_channels"),  # floats are not silently truncated
])
def test_bad_shapes_name_the_parameter(kwargs, name):
    args = dict(vocab_size=32000, max_seq_len=2048, num_latents=512, num_channels=512, num_layers=9)
    args.update(kwargs)
    with pytest.raises(ReplicationError, match=name):
        PerceiverARShape(**args)


def test_numpy_integers_are_integers():
    np = pytest.importorskip("numpy")
    m = PerceiverARShape(np.int64(32000), 2048, 512, np.int32(512), 9)
    assert type(m.vocab_size) is int and m.num_params == REF.num_params


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "0.5"])
def test_bad_prefix_dropout(p):
    with pytest.raises(ReplicationError, match="prefix_dropout"):
        REF.cross_attn_flops(p)


def test_bad_accounting():
    with pytest.raises(ReplicationError, match="accounting='kaplan' is not known; choose one of: article, corrected"):
        REF.self_attn_flops("kaplan")
    with pytest.raises(ReplicationError, match="accounting"):
        ComputeEstimator(32000, 2048, 512, accounting="v2")
    with pytest.raises(ReplicationError, match="accounting"):
        Decoder(10, 640, 2560, 10, 64).flops("article")
    with pytest.raises(ReplicationError, match="kv_size"):
        Decoder(10, 640, 2560, 10, 0)


# ---- decoder-only: Chinchilla Appendix F and Table A4 ------------------------------------------------

def test_table_a4_first_row_by_hand():
    m = Decoder(num_layers=10, d_model=640, ffw_size=2560, num_heads=10, kv_size=64)
    assert m.num_params == 73_825_280  # Table A4 prints 73M
    # Appendix F per layer, forward, one sequence of s = 2048: QKV 6 s d^2 = 5,033,164,800; logits
    # 2 s^2 d = 5,368,709,120; softmax 3 H s^2 = 125,829,120; reduction 5,368,709,120; projection
    # 2 s d^2 = 1,677,721,600; dense 4 s d f = 13,421,772,800. Sum 30,995,906,560, x 10 layers, x 3
    assert m.flops("table_a4") == 929_877_196_800
    # embeddings and final logits, 2 s V d = 83,886,080,000 each, forward
    assert m.flops("appendix_f") == 929_877_196_800 + 3 * 2 * 83_886_080_000
    assert m.flops("6n") == 6 * 73_825_280 * 2048
    # N_matmul = L (4 d^2 + 2 d f) + d V = 49,152,000 + 20,480,000; PaLM adds 12 L H q T = 157,286,400
    assert m.num_matmul_params == 69_632_000
    assert m.flops("palm") == (6 * 69_632_000 + 157_286_400) * 2048
    assert f"{m.ratio_to_6nd('table_a4'):.4f}" == "1.0250"


@pytest.mark.parametrize("row", list(TABLE_A4.itertuples(index=False)), ids=lambda r: f"L{r.n_layers}")
def test_table_a4_ratios_to_two_decimals(row):
    m = Decoder(row.n_layers, row.d_model, row.ffw_size, row.n_heads, row.kv_size)
    assert round(m.ratio_to_6nd("table_a4"), 2) == pytest.approx(row.ratio)
    # Appendix F as written (embeddings and logits counted) does not give the printed ratios
    assert round(m.ratio_to_6nd("appendix_f"), 2) != pytest.approx(row.ratio)


def test_table_a4_frame_and_accounting_order():
    df = table_a4()
    assert list(df["N"])[0] == 73_825_280
    assert (df["6n"] == 1.0).all()
    # embeddings and logits only add FLOPs; their share shrinks as models grow
    assert (df["appendix_f"] > df["table_a4"]).all()
    assert df["appendix_f"].is_monotonic_decreasing
    assert set(DECODER_ACCOUNTINGS) <= set(df.columns)


# ---- CLI --------------------------------------------------------------------------------------------

def test_cli_json_article(capsys):
    assert flops(["--accounting", "article", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["self_attn_flops"] == 282_335_232
    assert out["cross_attn_flops"] == 7_096_320
    assert out["num_params"] == 45_796_096
    assert out["num_self_attn_params"] == 45_009_664
    assert out["num_cross_attn_params"] == 786_432
    assert out["self_attn_flops_6n"] == 270_057_984


def test_cli_text_corrected(capsys):
    argv = ["--vocab-size", "32000", "--max-seq-len", "2048", "--num-latents", "512", "--channels", "512",
            "--layers", "9", "--heads", "8", "--prefix-dropout", "0.5", "--accounting", "corrected"]
    assert main(["flops", *argv]) == 0
    out = capsys.readouterr().out
    assert "198,512,640" in out and "9,492,480" in out


def test_cli_decoder_and_table_a4(capsys):
    assert flops(["--decoder-only", "--layers", "10", "--channels", "640", "--ffw-size", "2560",
                  "--heads", "10", "--kv-size", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_params"] == 73_825_280
    assert out["flops_per_token_table_a4"] == 929_877_196_800 // 2048
    assert round(out["ratio_to_6n_table_a4"], 4) == 1.0250
    assert flops(["--table-a4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [round(r["table_a4"], 2) for r in rows] == list(TABLE_A4["ratio"])


@pytest.mark.parametrize("argv, flag", [
    (["--channels", "100"], "--channels"),
    (["--num-latents", "2048"], "--num-latents"),
    (["--layers", "-3"], "--layers"),
    (["--prefix-dropout", "1"], "--prefix-dropout"),
    (["--prefix-dropout", "-0.5"], "--prefix-dropout"),
    (["--decoder-only", "--channels", "100", "--heads", "8"], "--channels"),
    (["--table-a4", "--vocab-size", "0"], "--vocab-size"),
])
def test_cli_bad_input_is_one_line(argv, flag, capsys):
    assert main(["flops", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and flag in err


def test_cli_does_not_import_torch():
    code = "import sys; from replication.cli import main; main(['flops', '--json']); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
