"""Losses: values equal PyTorch's MSELoss / HuberLoss, residual gradients equal autograd, |h_δ'| ≤ δ."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lipnb

DELTAS = [0.1, 1.0, 2.5]


def _residuals(delta: float, seed: int = 0) -> torch.Tensor:
    """Random residuals plus a cluster around ±δ (just inside, exactly at, just outside) and 0."""
    g = torch.Generator().manual_seed(seed)
    r = torch.randn(200, generator=g, dtype=torch.float64) * 3 * delta
    eps = torch.tensor([0.0, 1e-12, 1e-6, 1e-3], dtype=torch.float64)
    near = torch.cat([delta - eps, delta + eps, -delta - eps, -delta + eps, torch.zeros(1, dtype=torch.float64)])
    return torch.cat([r, near])


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_value_equals_torch_huber_loss(delta):
    r = _residuals(delta)
    y = torch.linspace(-1, 1, r.numel(), dtype=torch.float64)
    pred = y + r
    expected = torch.nn.HuberLoss(delta=delta)(pred, y)
    lo = lipnb.loss("huber", delta)
    assert lo.name == "huber" and lo.delta == delta
    torch.testing.assert_close(lo(pred, y), expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(lipnb.huber(pred, y, delta), expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(lo.from_residual(r), expected, rtol=1e-14, atol=1e-300)
    assert isinstance(lo.torch_module(), torch.nn.HuberLoss) and lo.torch_module().delta == delta


def test_huber_elementwise_formula():
    """h_δ(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) beyond; continuous at |r| = δ."""
    delta = 0.7
    for r, h in [(0.3, 0.045), (-0.7, 0.245), (0.7, 0.245), (2.0, 0.7 * (2.0 - 0.35)), (-5.0, 0.7 * (5.0 - 0.35))]:
        val = lipnb.loss("huber", delta).from_residual(torch.tensor([r], dtype=torch.float64))
        assert float(val) == pytest.approx(h, rel=1e-15)


def test_mse_value_equals_torch_mse_loss():
    r = _residuals(1.0)
    y = torch.cos(torch.arange(r.numel(), dtype=torch.float64))
    pred = y + r
    expected = torch.nn.MSELoss()(pred, y)
    lo = lipnb.loss("mse")
    assert lo.name == "mse" and lo.delta is None
    torch.testing.assert_close(lo(pred, y), expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(lipnb.mse(pred, y), expected, rtol=1e-14, atol=0)
    assert float(lo.from_residual(torch.tensor([3.0, -1.0], dtype=torch.float64))) == 5.0
    assert isinstance(lo.torch_module(), torch.nn.MSELoss)


@pytest.mark.parametrize("name, delta", [("mse", 1.0)] + [("huber", d) for d in DELTAS])
def test_losses_reduce_over_the_last_axis_only(name, delta):
    """An ensemble's residuals (E, N) give E risks, each that of its own row."""
    g = torch.Generator().manual_seed(3)
    r = torch.randn(4, 50, generator=g, dtype=torch.float64) * 2
    lo = lipnb.loss(name, delta)
    out = lo.from_residual(r)
    assert out.shape == (4,)
    for e in range(4):
        torch.testing.assert_close(out[e], lo.from_residual(r[e]), rtol=0, atol=0)


@pytest.mark.parametrize("name, delta", [("mse", 1.0)] + [("huber", d) for d in DELTAS])
@pytest.mark.parametrize("shape", ["vector", "ensemble"])
def test_residual_gradient_equals_autograd(name, delta, shape):
    lo = lipnb.loss(name, delta)
    r = _residuals(delta)
    if shape == "ensemble":
        r = torch.stack([r, -r.flip(0), 0.5 * r])  # (E, N)
    # autograd through lipnb's own value ...
    rg = r.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(lo.from_residual(rg).sum(), rg)
    torch.testing.assert_close(lo.residual_gradient(r), auto, rtol=1e-14, atol=1e-300)
    # ... and through PyTorch's loss module, one row (member) at a time
    rg = r.clone().requires_grad_(True)
    crit = lo.torch_module()
    rows = rg if rg.ndim == 2 else rg[None]
    total = sum(crit(row, torch.zeros_like(row)) for row in rows)
    (auto_torch,) = torch.autograd.grad(total, rg)
    torch.testing.assert_close(lo.residual_gradient(r), auto_torch, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("delta", DELTAS)
def test_huber_derivative_bound(delta):
    lo = lipnb.loss("huber", delta)
    assert lo.derivative_bound == delta
    r = _residuals(delta) * 100
    n = r.numel()
    per_sample = lo.residual_gradient(r) * n  # h_δ'(r_n)
    assert float(per_sample.abs().max()) == pytest.approx(delta, rel=1e-15)
    assert bool((per_sample.abs() <= delta).all())


def test_mse_derivative_bound_is_infinite():
    assert math.isinf(lipnb.loss("mse").derivative_bound)


def test_loss_lookup():
    lo = lipnb.loss("huber", 0.5)
    assert lipnb.loss(lo) is lo
    assert lipnb.loss("MSE").name == "mse"
    assert lipnb.loss("huber").delta == 1.0  # PyTorch's default δ
    assert str(lo) == "huber(delta=0.5)" and str(lipnb.loss("mse")) == "mse"
    assert lipnb.LOSSES == ("mse", "huber")


@given(
    delta=st.floats(1e-3, 1e3),
    values=st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=20),
)
def test_huber_matches_torch_property(delta, values):
    r = torch.tensor(values, dtype=torch.float64)
    lo = lipnb.loss("huber", delta)
    expected = torch.nn.HuberLoss(delta=delta)(r, torch.zeros_like(r))
    torch.testing.assert_close(lo.from_residual(r), expected, rtol=1e-13, atol=1e-300)
    # Huber is below the half-MSE and below δ|r|
    assert float(lo.from_residual(r)) <= float(0.5 * (r * r).mean()) * (1 + 1e-14) + 1e-300
    assert float(lo.from_residual(r)) <= float(delta * r.abs().mean()) * (1 + 1e-14) + 1e-300
