"""FLOPs and parameter counts: the article's printed numbers, the correction's, Chinchilla Table A4,
properties that must hold for any shape, input validation and the CLI."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replication.cli import main
from replication.errors import ReplicationError
from replication.estimate.flops import (
    ACCOUNTINGS,
    DECODER_ACCOUNTINGS,
    ComputeEstimator,
    Decoder,
    PerceiverAR,
    cli,
    num_cross_attn_params,
    num_params,
    num_self_attn_params,
    table_a4,
)
from replication.sources.chinchilla import TABLE_A4

# Experiment 1's reference model: V=32000, max_seq_len=2048, n=512, d=512, L=9
REF = PerceiverAR(vocab_size=32000, max_seq_len=2048, num_latents=512, num_channels=512, num_layers=9)


# ---- the article's example (v1) and the corrected numbers ------------------------------------------

def test_article_example_v1():
    c_self = REF.self_attn_flops("article")
    c_cross = REF.cross_attn_flops(0.5, "article")
    assert c_self == 282_335_232
    assert c_cross == 7_096_320
    assert f"{c_self:.2e}" == "2.82e+08" and f"{c_cross:.2e}" == "7.10e+06"  # as the article prints them
    assert f"{c_cross / (c_cross + c_self) * 100:.2f}%" == "2.45%"
    assert f"{c_self / (6 * REF.num_self_attn_params):.2f}" == "1.05"


def test_parameter_counts():
    assert REF.num_params == 45_796_096
    assert REF.num_self_attn_params == 45_009_664
    assert REF.num_cross_attn_params == 512 * 1536
    assert REF.num_prefix == 1536
    # the module-level helpers agree with the dataclass
    assert num_params(32000, 2048, 512, 512, 9) == 45_796_096
    assert num_self_attn_params(32000, 2048, 512, 512, 9) == 45_009_664
    assert num_cross_attn_params(2048, 512, 512) == 786_432
    # Experiment 1's predicted models under each accounting
    assert PerceiverAR(32000, 2048, 512, 624, 11).num_self_attn_params == 71_746_448
    assert PerceiverAR(32000, 2048, 512, 592, 10).num_self_attn_params == 61_360_240


def test_parameter_count_by_parts():
    # the same N assembled from a different grouping: per-layer 12d^2 + 4d, plus the hybrid layer's
    # extra 3d (output bias and a third layer norm), embeddings and the output bias
    V, S, d, L = 262, 4096, 584, 10
    per_layer = 12 * d * d + 4 * d
    expected = V * d + S * d + L * per_layer + 3 * d + V
    assert PerceiverAR(V, S, 512, d, L).num_params == expected


def test_corrected_example():
    c_self = REF.self_attn_flops("corrected")
    c_cross = REF.cross_attn_flops(0.5, "corrected")
    assert c_self == 198_512_640
    assert c_cross == 9_492_480
    assert f"{c_cross / (c_cross + c_self) * 100:.2f}%" == "4.56%"
    assert f"{c_self / REF.self_attn_flops_6n():.2f}" == "0.74"


def test_article_cross_attn_truncates_before_times_three():
    # P/n = 1.5 and p = 0.3 give a fractional forward count; int() comes before x 3
    m = PerceiverAR(262, 1280, 512, 8, 1, 8)
    forward = 4 * 8 * 768 / 512 + (4 * 64 + 2 * 8 * 512) * (768 / 512) * 0.7
    assert forward != int(forward)
    assert m.cross_attn_flops(0.3, "article") == 3 * int(forward)


def test_compute_estimator_matches_model():
    for acc in ACCOUNTINGS:
        ce = ComputeEstimator(32000, 2048, 512, accounting=acc)
        assert ce.num_prefix == 1536
        assert ce.self_attn_flops(512, 9) == REF.self_attn_flops(acc)
        assert ce.cross_attn_flops(512, 0.5) == REF.cross_attn_flops(0.5, acc)
        assert ce.num_params(512, 9) == REF.num_params
        assert ce.num_self_attn_params(512, 9) == REF.num_self_attn_params
        assert ce.num_cross_attn_params(512) == REF.num_cross_attn_params


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
    return PerceiverAR(s["vocab_size"], s["num_latents"] + s["extra"], s["num_latents"],
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
    other = PerceiverAR(other_vocab, m.max_seq_len, m.num_latents, m.num_channels, m.num_layers, m.num_heads)
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
        PerceiverAR(**args)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "0.5"])
def test_bad_prefix_dropout(p):
    with pytest.raises(ReplicationError, match="prefix_dropout"):
        REF.cross_attn_flops(p)


def test_bad_accounting():
    with pytest.raises(ReplicationError, match="accounting"):
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
    assert m.num_params == 73_825_280
    assert f"{m.ratio_to_6nd('table_a4'):.4f}" == "1.0250"
    s, d, f, L, H = 2048, 640, 2560, 10, 10
    per_layer = 6 * s * d * d + 2 * s * s * d + 3 * H * s * s + 2 * s * s * d + 2 * s * d * d + 4 * s * d * f
    assert m.flops("table_a4") == 3 * L * per_layer
    assert m.flops("appendix_f") == 3 * (L * per_layer + 2 * (2 * s * 32000 * d))
    assert m.flops("6n") == 6 * 73_825_280 * 2048
    assert m.flops("palm") == (6 * m.num_matmul_params + 12 * L * H * 64 * s) * s
    assert m.num_matmul_params == L * (4 * d * d + 2 * d * f) + d * 32000


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
    assert cli(["--accounting", "article", "--json"]) == 0
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
    assert cli(argv) == 0
    out = capsys.readouterr().out
    assert "198,512,640" in out and "9,492,480" in out


def test_cli_decoder_and_table_a4(capsys):
    assert cli(["--decoder-only", "--layers", "10", "--channels", "640", "--ffw-size", "2560",
                "--heads", "10", "--kv-size", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["num_params"] == 73_825_280
    assert round(out["ratio_to_6n_table_a4"], 4) == 1.0250
    assert cli(["--table-a4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [round(r["table_a4"], 2) for r in rows] == list(TABLE_A4["ratio"])


@pytest.mark.parametrize("argv, flag", [
    (["--channels", "100"], "--channels"),
    (["--num-latents", "2048"], "--num-latents"),
    (["--layers", "-3"], "--layers"),
    (["--prefix-dropout", "1"], "--prefix-dropout"),
    (["--prefix-dropout", "-0.5"], "--prefix-dropout"),
])
def test_cli_bad_input_is_one_line(argv, flag, capsys):
    assert main(["flops", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and flag in err


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


@pytest.mark.parametrize("V, n, P, d, L, H", [(262, 16, 48, 32, 3, 4), (300, 8, 8, 24, 1, 2), (1000, 32, 96, 64, 2, 8)])
def test_trainer_model_has_exactly_num_params(V, n, P, d, L, H):
    model = pytest.importorskip("replication.training.model")  # the trainer's issue; compared once both exist
    net = model.PerceiverAR(model.ModelConfig(vocab_size=V, num_latents=n, num_prefix=P, num_channels=d,
                                              num_layers=L, num_heads=H))
    assert sum(p.numel() for p in net.parameters()) == num_params(V, n + P, n, d, L)


def test_no_prefix_is_a_plain_decoder():
    from replication.estimate.flops import PerceiverAR

    m = PerceiverAR(vocab_size=262, max_seq_len=64, num_latents=64, num_channels=32, num_layers=2, num_heads=4)
    assert m.num_prefix == 0 and m.num_cross_attn_params == 0
    assert m.cross_attn_flops(0.5) == 0 and m.cross_attn_flops(0.0, "article") == 0
    assert m.num_params == 262 * 32 + 64 * 32 + 12 * 32**2 + 7 * 32 + (12 * 32**2 + 4 * 32) + 262
