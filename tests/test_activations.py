"""Activations: the constants of the book against a dense numerical evaluation, σ' and σ'' against
autograd, the in-place hot-loop helper against the plain functions, and the torch.nn equivalents."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import SMOOTH, reference_sigma

import lipnb

# 2e6 + 1 points over [-30, 30] (spacing 3e-5): beyond |z| = 30 every σ' here is within 1e-12 of its limit.
N_GRID = 2_000_001
Z_MAX = 30.0


@pytest.fixture(scope="module")
def grid() -> torch.Tensor:
    return torch.linspace(-Z_MAX, Z_MAX, N_GRID, dtype=torch.float64)


def _autograd_d1(act: lipnb.Activation, z: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    (d1,) = torch.autograd.grad(reference_sigma(act)(z).sum(), z, create_graph=create_graph)
    return d1 if create_graph else d1.detach()


def _autograd_d2(act: lipnb.Activation, z: torch.Tensor) -> torch.Tensor:
    z = z.detach().clone().requires_grad_(True)
    (d1,) = torch.autograd.grad(reference_sigma(act)(z).sum(), z, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), z)
    return d2.detach()


def _close(value: float, expected: float, rel: float = 1e-6) -> bool:
    return abs(value - expected) <= rel * max(1.0, abs(expected))


def test_constants_match_dense_autograd_evaluation(act, grid):
    d1 = _autograd_d1(act, grid)
    assert _close(act.lipschitz, float(d1.abs().max())), (act.lipschitz, float(d1.abs().max()))
    assert _close(act.slope_lo, float(d1.min())), (act.slope_lo, float(d1.min()))
    assert _close(act.slope_hi, float(d1.max())), (act.slope_hi, float(d1.max()))
    # They are a sup / an inf: no grid point may exceed them.
    assert float(d1.abs().max()) <= act.lipschitz * (1 + 1e-12)
    assert act.slope_lo - 1e-12 <= float(d1.min()) and float(d1.max()) <= act.slope_hi + 1e-12
    assert act.lipschitz == pytest.approx(max(abs(act.slope_lo), abs(act.slope_hi)), rel=1e-15)


def test_constants_match_finite_differences_of_sigma(act, grid):
    """Independent of autograd: difference quotients of σ itself on the grid."""
    h = grid[1:] - grid[:-1]
    s = reference_sigma(act)(grid)
    quotients = (s[1:] - s[:-1]) / h
    assert _close(act.lipschitz, float(quotients.abs().max()))
    assert _close(act.slope_lo, float(quotients.min()))
    assert _close(act.slope_hi, float(quotients.max()))
    # Lip(σ) bounds every difference quotient (up to the rounding of σ's values).
    assert float(quotients.abs().max()) <= act.lipschitz * (1 + 1e-9)


def test_second_derivative_bound_matches_dense_evaluation(act, grid):
    if act.name not in SMOOTH:
        assert act.second_derivative_bound is None
        assert not act.smooth and act.piecewise_linear
        return
    assert act.smooth and not act.piecewise_linear
    d2 = _autograd_d2(act, grid)
    sup = float(d2.abs().max())
    assert _close(act.second_derivative_bound, sup), (act.second_derivative_bound, sup)
    assert sup <= act.second_derivative_bound * (1 + 1e-12)
    # and by finite differences of the closed-form σ'
    d1 = act.derivative(grid)
    fd = (d1[1:] - d1[:-1]) / (grid[1:] - grid[:-1])
    assert _close(act.second_derivative_bound, float(fd.abs().max()))


def test_value_at_zero(act):
    zero = torch.zeros(1, dtype=torch.float64)
    assert act.value_at_zero == pytest.approx(float(reference_sigma(act)(zero)), rel=1e-15, abs=1e-300)
    assert act.value_at_zero == pytest.approx(float(act(zero)), rel=1e-15, abs=1e-300)


@pytest.mark.parametrize(
    "name, lip, lo, hi, d2",
    [
        ("relu", 1.0, 0.0, 1.0, None),
        ("tanh", 1.0, 0.0, 1.0, 4 / (3 * math.sqrt(3))),
        ("sigmoid", 0.25, 0.0, 0.25, 1 / (6 * math.sqrt(3))),
        ("softplus", 1.0, 0.0, 1.0, 0.25),
        # the book quotes s_lo ≈ −0.1700 for GELU; the dense evaluation above gives −0.1289, which is
        # also what GELU'(z) + GELU'(−z) = 1 implies (s_lo = 1 − s_hi).
        ("gelu", 1.1289, -0.1289, 1.1289, 2 / math.sqrt(2 * math.pi)),
    ],
)
def test_constants_agree_with_theory_table(name, lip, lo, hi, d2):
    """The closed forms of the book (GELU's to 4 digits)."""
    a = lipnb.activation(name)
    tol = 1e-4 if name == "gelu" else 1e-15
    assert a.lipschitz == pytest.approx(lip, abs=tol)
    assert a.slope_lo == pytest.approx(lo, abs=tol)
    assert a.slope_hi == pytest.approx(hi, abs=tol)
    if name == "gelu":  # GELU'(z) = Φ(z) + zφ(z), so GELU'(z) + GELU'(−z) = 1
        assert a.slope_lo + a.slope_hi == pytest.approx(1.0, abs=1e-15)
    if d2 is None:
        assert a.second_derivative_bound is None
    else:
        assert a.second_derivative_bound == pytest.approx(d2, rel=1e-14)


@pytest.mark.parametrize("beta", [0.01, 0.3, -0.5, 2.0])
def test_leaky_relu_constants_in_closed_form(beta):
    a = lipnb.activation("leaky_relu", negative_slope=beta)
    assert a.negative_slope == beta
    assert a.slope_lo == min(beta, 1.0) and a.slope_hi == max(beta, 1.0)
    assert a.lipschitz == max(abs(beta), 1.0)
    assert str(a) == f"leaky_relu({beta:g})"


def _points() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4001, generator=g, dtype=torch.float64) * 6
    special = torch.tensor([0.0, -0.0, 1e-300, -1e-300, 2**0.5, -(2**0.5), 40.0, -40.0], dtype=torch.float64)
    return torch.cat([z, special])


def test_call_matches_torch_functional(act):
    z = _points()
    torch.testing.assert_close(act(z), reference_sigma(act)(z), rtol=0, atol=0)


def test_derivative_matches_autograd(act):
    """Including z = 0, where lipnb follows autograd's convention for ReLU (0) and leaky ReLU (β)."""
    z = _points()
    torch.testing.assert_close(act.derivative(z), _autograd_d1(act, z), rtol=1e-13, atol=1e-15)
    zero = torch.zeros(1, dtype=torch.float64)
    assert float(act.derivative(zero)) == float(_autograd_d1(act, zero))


def test_second_derivative_matches_autograd_or_raises(act):
    z = _points()
    if act.name in SMOOTH:
        torch.testing.assert_close(act.second_derivative(z), _autograd_d2(act, z), rtol=1e-12, atol=1e-14)
    else:
        with pytest.raises(ValueError, match=r"not C\^1"):
            act.second_derivative(z)


def test_relu_second_derivative_raises_naming_the_activation():
    with pytest.raises(ValueError, match="relu"):
        lipnb.activation("relu").second_derivative(torch.zeros(3, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(7,), (3, 5, 11)])
def test_value_and_derivative_in_place_contract(act, shape):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(*shape, generator=g, dtype=torch.float64) * 4
    z.view(-1)[0] = 0.0
    z_buf = z.clone()
    d_out = torch.full_like(z, float("nan"))
    h, d = act.value_and_derivative_(z_buf, d_out)
    # values
    torch.testing.assert_close(h, reference_sigma(act)(z), rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(d, act.derivative(z), rtol=1e-15, atol=1e-15)
    # buffer contract: σ'(z) is written into d_out (returned as that very buffer) ...
    assert d.data_ptr() == d_out.data_ptr() and d.shape == z.shape
    torch.testing.assert_close(d_out, act.derivative(z), rtol=1e-15, atol=1e-15)
    # ... and z is either overwritten by σ(z) (then h is z's storage) or left untouched.
    if h.data_ptr() == z_buf.data_ptr():
        torch.testing.assert_close(z_buf, reference_sigma(act)(z), rtol=1e-15, atol=1e-15)
    else:
        assert torch.equal(z_buf, z)
    assert h.data_ptr() != d_out.data_ptr()


def test_torch_module_computes_the_same_function(act):
    module = act.torch_module()
    assert isinstance(module, torch.nn.Module)
    assert not list(module.parameters())
    z = _points()
    torch.testing.assert_close(module(z), act(z), rtol=0, atol=0)
    if act.name == "leaky_relu":
        assert module.negative_slope == act.negative_slope


def test_lookup_is_case_insensitive_and_passes_instances_through():
    a = lipnb.activation("TanH")
    assert a.name == "tanh" and str(a) == "tanh"
    assert lipnb.activation(a) is a
    assert lipnb.activation("leaky_relu").negative_slope == 0.01  # PyTorch's default β
    assert set(lipnb.ACTIVATIONS) == {"relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu"}
