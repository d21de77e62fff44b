import math
import shutil

import pytest
import torch
import torch.nn.functional as F

from replication.errors import ReplicationError
from replication.training.config import ModelConfig, TrainConfig
from replication.training.model import AttentionLayer, DecoderLayer, HybridLayer, PerceiverAR, apply_rotary, \
    rotary_tables

TINY = dict(vocab_size=262, num_latents=16, num_prefix=32, num_channels=32, num_layers=2)

SHAPES = [  # (V, n, P, d, L)
    (262, 16, 32, 32, 2),
    (262, 128, 384, 128, 4),
    (262, 512, 3584, 584, 10),  # Experiment 2a, model 2
    (32000, 512, 1536, 512, 9),  # Experiment 1 reference model
    (32000, 512, 1536, 624, 11),
    (1000, 64, 0, 64, 3),  # plain decoder
]


def formula(V, n, P, d, L):
    # the issue's closed form, written out once more here
    return V * d + (n + P) * d + 12 * d**2 + 7 * d + (L - 1) * (12 * d**2 + 4 * d) + V


@pytest.mark.parametrize("V,n,P,d,L", SHAPES)
def test_parameter_count_matches_formula_and_estimator(V, n, P, d, L):
    cfg = ModelConfig(vocab_size=V, num_latents=n, num_prefix=P, num_channels=d, num_layers=L)
    with torch.device("meta"):  # shapes only, no memory
        model = PerceiverAR(cfg)
    count = sum(p.numel() for p in model.parameters())
    assert count == formula(V, n, P, d, L) == cfg.shape().num_params


def test_article_reference_model_size():
    # Krasser's Experiment 1 reference model: N = 4.58e7
    cfg = ModelConfig(vocab_size=32000, num_latents=512, num_prefix=1536, num_channels=512, num_layers=9)
    assert round(cfg.shape().num_params / 1e7, 2) == 4.58


def test_tied_output_and_init():
    torch.manual_seed(0)
    model = PerceiverAR(ModelConfig(**TINY, num_heads=8))
    names = dict(model.named_parameters())
    assert not any("lm_head" in k or "output.weight" in k for k in names)
    x = torch.randint(0, 262, (2, 48))
    model.eval()
    logits, _ = model(x)
    assert logits.shape == (2, 16, 262)
    assert torch.all(model.out_bias == 0) and torch.all(model.hybrid.out.bias == 0)
    w = torch.cat([p.flatten() for n, p in names.items() if p.dim() == 2])
    assert abs(w.std().item() - 0.02) < 0.002


def _attention_reference(model, x):
    """Hybrid layer written out with an explicit softmax: checks the SDPA path and the mask alignment."""
    cfg = model.cfg
    layer = model.hybrid
    n, d, h = cfg.num_latents, cfg.num_channels, cfg.num_heads
    t = x.shape[1]
    pos = torch.arange(t)
    e = model.tok_emb(x) + model.pos_emb(pos)
    prefix, lat = e[:, : t - n], e[:, t - n:]
    q = layer.q_norm(lat) @ layer.qkv.weight[:d].T
    kv_in = torch.cat([layer.kv_norm(prefix), layer.q_norm(lat)], 1)
    k, v = kv_in @ layer.qkv.weight[d:2 * d].T, kv_in @ layer.qkv.weight[2 * d:].T

    def heads(z):
        return z.view(z.shape[0], z.shape[1], h, d // h).transpose(1, 2)

    q, k, v = heads(q), heads(k), heads(v)
    cq, sq = rotary_tables(pos[t - n:], cfg.rotary_dim)
    ck, sk = rotary_tables(pos, cfg.rotary_dim)
    q, k = apply_rotary(q, cq, sq), apply_rotary(k, ck, sk)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d // h)
    allowed = torch.zeros(n, t, dtype=torch.bool)
    for i in range(n):
        allowed[i, : t - n + i + 1] = True  # the whole prefix and latents up to i
    scores = scores.masked_fill(~allowed, float("-inf"))
    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(lat.shape)
    out = lat + layer.out(y)
    return out + layer.mlp(out)


def test_hybrid_layer_matches_explicit_attention():
    torch.manual_seed(1)
    model = PerceiverAR(ModelConfig(**TINY)).eval()
    x = torch.randint(0, 262, (3, 48))
    captured = {}
    model.hybrid.register_forward_hook(lambda m, a, out: captured.setdefault("out", out))
    with torch.no_grad():
        model(x)
        ref = _attention_reference(model, x)
    torch.testing.assert_close(captured["out"], ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("prefix", [32, 0])
def test_causality(prefix):
    torch.manual_seed(2)
    cfg = ModelConfig(**{**TINY, "num_prefix": prefix})
    model = PerceiverAR(cfg).eval()
    t = cfg.max_seq_len
    x = torch.randint(0, 262, (1, t))
    base, _ = model(x)
    j = prefix + 5  # change latent 5
    x2 = x.clone()
    x2[0, j] = (x2[0, j] + 1) % 262
    out, _ = model(x2)
    assert torch.equal(out[0, :5], base[0, :5])  # earlier latents cannot see it
    assert not torch.allclose(out[0, 5:], base[0, 5:])
    if prefix:
        x3 = x.clone()
        x3[0, 3] = (x3[0, 3] + 1) % 262  # a prefix token is visible to every latent
        out3, _ = model(x3)
        assert (out3 - base).abs().amax(-1).min() > 0


def test_prefix_dropout_keeps_the_issue_count_in_training_only():
    torch.manual_seed(3)
    cfg = ModelConfig(**{**TINY, "num_prefix": 33})
    model = PerceiverAR(cfg)
    seen = []
    model.hybrid.register_forward_pre_hook(lambda m, args: seen.append(args[1].shape[1]))
    x = torch.randint(0, 262, (2, cfg.max_seq_len))
    model.train()
    model(x)
    model.eval()
    model(x)
    assert seen == [33 - int(33 * 0.5), 33]
    assert cfg.num_kept_prefix == 17
    model.train()
    torch.manual_seed(5)
    a, _ = model(x)
    torch.manual_seed(6)
    b, _ = model(x)
    assert not torch.equal(a, b)  # different random prefixes


def test_rotary_is_relative():
    torch.manual_seed(4)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def dot(i, j):
        cq, sq = rotary_tables(torch.tensor([i]), 4)
        ck, sk = rotary_tables(torch.tensor([j]), 4)
        return (apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum().item()

    assert dot(7, 3) == pytest.approx(dot(14, 10), rel=1e-5)
    assert dot(7, 3) != pytest.approx(dot(7, 4), rel=1e-3)
    cq, sq = rotary_tables(torch.tensor([9]), 4)
    r = apply_rotary(q, cq, sq)
    assert torch.equal(r[..., 4:], q[..., 4:])  # only the first half is rotated


def test_loss_on_latents():
    torch.manual_seed(5)
    model = PerceiverAR(ModelConfig(**TINY)).eval()
    x = torch.randint(0, 262, (2, 48))
    y = torch.randint(0, 262, (2, 16))
    logits, loss = model(x, y)
    assert loss.item() == pytest.approx(F.cross_entropy(logits.reshape(-1, 262), y.reshape(-1)).item())
    assert loss.item() == pytest.approx(math.log(262), abs=0.1)  # near uniform at init


@pytest.mark.parametrize("bad", [
    dict(num_channels=30, num_heads=8),
    dict(num_layers=0),
    dict(num_prefix=-1),
    dict(prefix_dropout=1.0),
    dict(vocab_size=2.5),
])
def test_bad_config(bad):
    with pytest.raises(ReplicationError):
        ModelConfig(**{**TINY, **bad})


def test_config_is_frozen_and_numpy_integers_become_ints():
    import dataclasses

    import numpy as np

    cfg = ModelConfig(**{**TINY, "num_channels": np.int64(32)})
    assert type(cfg.num_channels) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_layers = 3
    assert dataclasses.replace(cfg, num_layers=3).num_layers == 3
    with pytest.raises(ReplicationError, match="num_layers"):
        dataclasses.replace(cfg, num_layers=0)


def test_both_layer_types_share_one_attention_and_keep_the_recorded_parameter_names():
    """Checkpoints (and the gradient-norm sum, which follows parameter order) depend on these names in
    this order."""
    model = PerceiverAR(ModelConfig(**{**TINY, "num_layers": 2}))
    assert isinstance(model.hybrid, AttentionLayer) and isinstance(model.layers[0], AttentionLayer)
    assert HybridLayer.attend is DecoderLayer.attend
    mlp = ["mlp.norm.weight", "mlp.norm.bias", "mlp.fc.weight", "mlp.proj.weight"]
    assert [n for n, _ in model.named_parameters()] == [
        "out_bias", "tok_emb.weight", "pos_emb.weight",
        "hybrid.q_norm.weight", "hybrid.q_norm.bias", "hybrid.kv_norm.weight", "hybrid.kv_norm.bias",
        "hybrid.qkv.weight", "hybrid.out.weight", "hybrid.out.bias", *(f"hybrid.{n}" for n in mlp),
        "layers.0.norm.weight", "layers.0.norm.bias", "layers.0.qkv.weight", "layers.0.out.weight",
        *(f"layers.0.{n}" for n in mlp),
    ]


def test_compiled_layout_is_the_same_function_in_eager_mode():
    # the layout's switches: rotary tables from buffers (not in the state dict), the CPU kernels for causal
    # attention and GELU (eagerly too) and, inside compiled code only, masked batched-matmul attention for the
    # rest; eagerly, the loss is the default layout's to rounding
    from replication.training.model import masked_attention

    cfg = ModelConfig(vocab_size=262, num_latents=16, num_prefix=8, num_channels=24, num_layers=3, num_heads=2)
    torch.manual_seed(0)
    x, y, noise = torch.randint(0, 262, (2, 24)), torch.randint(0, 262, (2, 16)), torch.rand(2, 8)
    a = PerceiverAR(cfg).train()
    b = PerceiverAR(cfg).train()
    b.load_state_dict(a.state_dict())
    b.use_compiled_layout()
    assert set(b.state_dict()) == set(a.state_dict())
    assert a(x, y, noise)[1].item() == pytest.approx(b(x, y, noise)[1].item(), rel=1e-6)
    q, k, v = torch.randn(3, 2, 2, 5, 6).unbind(0)
    torch.testing.assert_close(masked_attention(q, k, v), F.scaled_dot_product_attention(q, k, v, is_causal=True))
    mask = torch.ones(5, 7, dtype=torch.bool).tril(diagonal=2)
    k7, v7 = torch.randn(2, 2, 2, 7, 6).unbind(0)
    torch.testing.assert_close(masked_attention(q, k7, v7, mask),
                               F.scaled_dot_product_attention(q, k7, v7, attn_mask=mask))


@pytest.mark.slow
def test_compiled_step_follows_the_eager_step_for_20_steps():
    # one small shape of the study (d = 10), one layer (a cold compile takes 50 s at four, 25 s at one): the
    # same initial weights and batches, the loop's learning rates, and the loop's optimizer with weight decay
    # on the linear layers' matrices (two parameter groups)
    from replication.training.distributed import Env
    from replication.training.loop import adamw
    from replication.training.step import CompiledStep

    cfg = ModelConfig(vocab_size=262, num_latents=128, num_prefix=0, num_channels=10, num_layers=1, num_heads=2)
    run = TrainConfig(model=cfg, steps=20, lr=1e-2, beta2=0.95, weight_decay=0.1)

    def build():
        torch.manual_seed(0)
        model = PerceiverAR(cfg).train()
        return model, adamw(model, run, Env("cpu", "fp32"))

    g = torch.Generator().manual_seed(0)
    (me, oe), (mc, oc) = build(), build()
    step = CompiledStep(mc, oc, grad_clip=0.5)
    # the study's attention goes through the fused kernel wherever a C++ compiler can build it
    built = (shutil.which("g++") or shutil.which("c++")) is not None
    assert mc.hybrid.fused_attention == mc.hybrid.mlp.fused_gelu == built
    torch._dynamo.utils.counters.clear()
    for i in range(20):
        x, y = torch.randint(0, 262, (8, 128), generator=g), torch.randint(0, 262, (8, 128), generator=g)
        lr = 1e-2 * (i + 1) / 20
        for group in oe.param_groups:
            group["lr"] = lr
        _, loss = me(x, y)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(me.parameters(), 0.5)
        oe.step()
        oe.zero_grad()
        c_loss, c_norm = step(x, y, lr)
        assert c_loss.item() == pytest.approx(loss.item(), rel=1e-5), i
        assert c_norm.item() == pytest.approx(norm.item(), rel=1e-3), i
    # every parameter's step count (views of one tensor in the compiled step), as the eager optimizer's
    assert {st["step"].item() for st in [*oc.state.values(), *oe.state.values()]} == {20.0}
    assert not torch._dynamo.utils.counters["graph_break"]  # one graph: a break costs more than compiling saves
    # a batch of another shape is not run by the graph compiled for 8 examples with its guards skipped: dynamo
    # checks it and compiles for it
    x4, y4 = x[:4], y[:4]
    with torch.no_grad():
        expected = mc(x4, y4)[1].item()
    assert step(x4, y4, lr)[0].item() == pytest.approx(expected, rel=1e-5)
    # and a batch of 8 again runs the graph compiled for 8 (with its guards skipped), not the one for 4
    with torch.no_grad():
        expected = mc(x, y)[1].item()
    assert step(x, y, lr)[0].item() == pytest.approx(expected, rel=1e-5)
    # a step whose loss is not finite changes nothing
    with torch.no_grad():
        mc.out_bias[0] = float("nan")
    before = [t.clone() for t in [*mc.parameters(), *(s for st in oc.state.values() for s in st.values())]]
    c_loss, _ = step(x, y, lr)
    assert not math.isfinite(c_loss.item())
    after = [*mc.parameters(), *(s for st in oc.state.values() for s in st.values())]
    assert all(torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())
               for a, b in zip(before, after))
    assert {st["step"].item() for st in oc.state_dict()["state"].values()} == {22.0}
