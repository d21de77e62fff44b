"""The fused causal-attention kernel (replication.training.attention) against attention computed in float64; the
model with the CPU kernels (replication.training.kernels) against the model without."""
import math
import shutil
import warnings

import pytest
import torch

from replication.training import attention, kernels

pytestmark = pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="no C++ compiler")


def test_the_kernels_build_and_load():
    assert kernels._build() is None  # else the compiler's complaint


def reference(q, k, v):
    """softmax(q k^T / sqrt(hd), causal) v in float64, as (B, T, H, hd)."""
    t = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    visible = torch.arange(t)[:, None] >= torch.arange(t)
    return (torch.where(visible, scores, float("-inf")).softmax(-1) @ v).transpose(1, 2)


def heads_of_one_projection(b, t, h, d, seed):
    """q, k, v as the model makes them: strided (B, H, T, hd) views of one (B, T, 3, H, hd) projection."""
    g = torch.Generator().manual_seed(seed)
    qkv = (torch.randn(b, t, 3, h, d, generator=g, dtype=torch.float64) * 2).requires_grad_()
    return qkv, [qkv[:, :, i].transpose(1, 2) for i in range(3)]


# head sizes across the kernel's register blocks of 16, 32 and 64 channels; lengths that are not a whole
# number of query blocks (8) or key vectors (16), and a single token
@pytest.mark.parametrize("b,t,h,d", [(2, 128, 2, 5), (3, 77, 2, 12), (1, 33, 3, 29), (2, 17, 1, 64), (2, 1, 2, 7),
                                     (1, 50, 1, 8), (1, 50, 1, 9), (1, 50, 1, 16), (1, 50, 1, 17), (1, 21, 2, 40)])
def test_the_kernel_and_its_gradients_match_float64_attention(b, t, h, d):
    qkv64, (q, k, v) = heads_of_one_projection(b, t, h, d, seed=d)
    grad_out = torch.randn(b, t, h, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = reference(q, k, v)
    (expected_grad,) = torch.autograd.grad(expected, qkv64, grad_out)

    qkv = qkv64.detach().float().requires_grad_()
    out = attention.causal_attention(*(qkv[:, :, i].transpose(1, 2) for i in range(3)))
    (grad,) = torch.autograd.grad(out, qkv, grad_out.float())
    assert out.shape == (b, t, h, d)
    # float32 rounding: torch's own float32 attention is off by as much
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=2e-5)
    torch.testing.assert_close(grad.double(), expected_grad, rtol=1e-5, atol=5e-5)


def test_the_result_does_not_depend_on_the_number_of_threads():
    _, (q, k, v) = heads_of_one_projection(4, 40, 2, 9, seed=3)
    q, k, v = (x.detach().float().requires_grad_() for x in (q, k, v))
    was = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = attention.causal_attention(q, k, v)
            results.append((out, *torch.autograd.grad(out, (q, k, v), torch.ones_like(out))))
    finally:
        torch.set_num_threads(was)
    for one, two in zip(*results):
        assert torch.equal(one, two)


def test_bad_inputs_get_a_clear_error():
    q = torch.randn(1, 2, 8, 4)
    with pytest.raises(RuntimeError, match="float32"):
        torch.ops.replication.causal_attention(q.double(), q.double(), q.double())
    with pytest.raises(RuntimeError, match="head size must be in \\[1, 64\\], got 65"):
        big = torch.randn(1, 1, 4, 65)
        torch.ops.replication.causal_attention(big, big, big)
    with pytest.raises(RuntimeError, match="differ in shape"):
        torch.ops.replication.causal_attention(q, q[:, :, :4], q)
    with pytest.raises(RuntimeError, match="adjacent"):
        torch.ops.replication.causal_attention(q, q.transpose(-2, -1).contiguous().transpose(-2, -1), q)
    with pytest.raises(ValueError, match="one shape"):
        attention.causal_attention(q, q[:, :, :4], q)
    with pytest.raises(ValueError, match="does not serve"):
        attention.causal_attention(q.double(), q.double(), q.double())
    o, lse = torch.ops.replication.causal_attention(q, q, q)
    with pytest.raises(RuntimeError, match="o and lse must be the forward's outputs"):
        torch.ops.replication.causal_attention_backward(q, q, q, o.double(), lse, o)
    with pytest.raises(RuntimeError, match="o and lse must be the forward's outputs"):
        torch.ops.replication.causal_attention_backward(q, q, q, o, lse[:, :1], o)
    for bad in (o.transpose(1, 2), o[..., :2], o.double(), o.transpose(-2, -1).contiguous().transpose(-2, -1)):
        with pytest.raises(RuntimeError, match="do must be a \\(B, T, H, D\\) float32 CPU tensor"):
            torch.ops.replication.causal_attention_backward(q, q, q, o, lse, bad)


def test_without_a_compiler_the_model_keeps_its_masked_attention_and_gelu(monkeypatch, tmp_path):
    from replication.training.config import ModelConfig
    from replication.training.model import PerceiverAR

    monkeypatch.setattr(kernels.shutil, "which", lambda name: None)
    monkeypatch.setenv("REPLICATION_KERNEL_CACHE", str(tmp_path))
    kernels._build.cache_clear()
    kernels._warn_unavailable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"):
            assert not kernels.available()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = PerceiverAR(ModelConfig(vocab_size=16, num_latents=8, num_channels=8, num_layers=2,
                                            num_heads=2)).use_compiled_layout()
        assert model.layers[0].math_attention and not model.layers[0].fused_attention
        assert not model.layers[0].mlp.fused_gelu
        assert list(tmp_path.iterdir()) == []
    finally:
        kernels._build.cache_clear()
        kernels._warn_unavailable.cache_clear()


def test_a_model_with_the_cpu_kernels_computes_the_same_loss_and_gradients_eagerly(monkeypatch):
    from replication.training import gelu
    from replication.training.config import ModelConfig
    from replication.training.model import PerceiverAR

    # heads of 12 channels (the kernel's layouts for more than 8) and large initial weights, so that attention is
    # far from uniform and the q and k gradients are not negligible
    cfg = ModelConfig(vocab_size=50, num_latents=24, num_channels=24, num_layers=2, num_heads=2, init_std=0.3)
    torch.manual_seed(0)
    plain, fused = PerceiverAR(cfg).train(), PerceiverAR(cfg).train()
    fused.load_state_dict(plain.state_dict())
    fused.use_cpu_kernels()
    calls, gelu_calls = [], []
    kernel, gelu_kernel = attention.causal_attention, gelu.gelu
    monkeypatch.setattr(attention, "causal_attention", lambda *a: calls.append(a) or kernel(*a))
    monkeypatch.setattr(gelu, "gelu", lambda x: gelu_calls.append(x) or gelu_kernel(x))
    x, y = torch.randint(0, 50, (3, 24)), torch.randint(0, 50, (3, 24))
    losses = [model(x, y)[1] for model in (plain, fused)]
    assert len(calls) == len(gelu_calls) == 2  # both layers (the first has no prefix), the plain model none
    grads = [torch.autograd.grad(loss, list(model.parameters())) for loss, model in zip(losses, (plain, fused))]
    assert losses[1].item() == pytest.approx(losses[0].item(), rel=1e-6)
    for (name, _), a, b in zip(plain.named_parameters(), *grads):
        assert (b - a).norm() <= 1e-5 * a.norm() + 1e-7, name
    fused.use_cpu_kernels(False)
    assert not any(layer.fused_attention or layer.mlp.fused_gelu for layer in (fused.hybrid, *fused.layers))
    fused.use_cpu_kernels().use_compiled_layout(cpu_kernels=False)  # the benchmark's "no kernels"
    assert not any(layer.fused_attention or layer.mlp.fused_gelu for layer in (fused.hybrid, *fused.layers))
