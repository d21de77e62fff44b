"""The GELU kernel (replication.training.gelu) against F.gelu and its derivative computed in float64."""
import shutil

import pytest
import torch
import torch.nn.functional as F

from replication.training import gelu, kernels

pytestmark = pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="no C++ compiler")

#: float32's unit roundoff, and erf's error: Abramowitz and Stegun's 7.1.26 (1.5e-7) and six roundings of its
#: term t r exp(-z^2), which is at most 1 (measured here: 4.6e-7 at most; torch's float32 GELU: 5.8e-7)
ROUNDOFF = 2.0 ** -24
ERF_ERROR = 1.5e-7 + 6 * ROUNDOFF


@pytest.fixture(autouse=True)
def built():
    assert kernels._build() is None  # else the compiler's complaint


def reference(x):
    """F.gelu(x) and its derivative in float64."""
    x64 = x.double().requires_grad_()
    y = F.gelu(x64)
    (slope,) = torch.autograd.grad(y.sum(), x64)
    return y.detach(), slope


def test_gelu_and_its_slope_match_float64_within_erfs_error():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(20011, generator=g) * 3, torch.linspace(-12, 12, 4097),
                   torch.tensor([0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0])])
    y, slope = torch.ops.replication.gelu(x)
    y64, slope64 = reference(x)
    x64 = x.double().abs()
    # y = x (1 + erf) / 2: half of erf's error times |x|, and two roundings of y
    assert ((y.double() - y64).abs() <= 0.5 * ERF_ERROR * x64 + 2 * ROUNDOFF * y64.abs() + 1e-30).all()
    # slope = (1 + erf) / 2 + x phi(x): half of erf's error, and a few roundings of each term
    assert ((slope.double() - slope64).abs() <= 0.5 * ERF_ERROR + 4 * ROUNDOFF * (1 + x64)).all()
    # and as close as torch's own float32 GELU, give or take erf's error
    assert (y.double() - y64).abs().max() <= (F.gelu(x).double() - y64).abs().max() + ERF_ERROR


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 33, 1000])
def test_every_length_is_computed_whole(n):
    x = torch.linspace(-4, 4, n)
    y, slope = torch.ops.replication.gelu(x)
    y64, slope64 = reference(x)
    assert y.shape == slope.shape == x.shape
    assert torch.allclose(y.double(), y64, atol=1e-6) and torch.allclose(slope.double(), slope64, atol=1e-6)


def test_threads_split_the_elements_without_changing_them():
    x = torch.randn(8, 128, 232, generator=torch.Generator().manual_seed(1))  # the study's MLP at width 58
    was = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = torch.ops.replication.gelu(x)
        torch.set_num_threads(2)
        two = torch.ops.replication.gelu(x)
    finally:
        torch.set_num_threads(was)
    assert all(torch.equal(a, b) for a, b in zip(one, two))


def test_the_gradient_is_the_slope_eagerly_and_through_torch_func():
    x = torch.randn(3, 7, 40, generator=torch.Generator().manual_seed(2))
    dy = torch.randn(3, 7, 40, generator=torch.Generator().manual_seed(3))
    _, slope64 = reference(x)
    xe = x.clone().requires_grad_()
    (eager,) = torch.autograd.grad(gelu.gelu(xe), xe, dy)
    func = torch.func.grad(lambda z: (gelu.gelu(z) * dy).sum())(x)
    for g in (eager, func):
        assert torch.allclose(g.double(), dy.double() * slope64, atol=1e-6)
    # a transposed (non-contiguous) input is taken through a copy
    xt = x.transpose(0, 2)
    assert torch.equal(gelu.gelu(xt), torch.ops.replication.gelu(xt.contiguous())[0])


def test_nan_stays_nan():
    y, slope = torch.ops.replication.gelu(torch.tensor([1.0, float("nan"), -1.0]))
    assert torch.isnan(y[1]) and torch.isnan(slope[1]) and torch.isfinite(y[[0, 2]]).all()


def test_what_the_kernel_does_not_serve_gets_a_clear_error():
    assert not gelu.serves(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="float32 on a CPU"):
        gelu.gelu(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="contiguous float32 CPU tensor"):
        torch.ops.replication.gelu(torch.zeros(4, 4).t())
