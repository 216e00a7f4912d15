"""Shared fixtures and reference implementations for the lipnb tests.

The references here are written independently of lipnb (plain torch ops and autograd), so that a test
comparing lipnb with them checks lipnb against the mathematics of the book, not against itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, settings

import lipnb

# Property tests: reproducible (derandomized), no example database written into the repository, no
# per-example deadline (the first example pays for torch's lazy initialization).
settings.register_profile(
    "lipnb",
    deadline=None,
    max_examples=30,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("lipnb")

# The tensors here are tiny: one intra-op thread is faster than two (no synchronization) and keeps the
# suite fast on a busy 2-core machine, where oversubscribed OpenMP threads slow it down several-fold.
torch.set_num_threads(1)

# (name, negative_slope) of every activation tested; leaky ReLU with several slopes, including a
# negative one and one above 1 (then L_sigma = beta).
ACTIVATION_SPECS = [
    ("relu", 0.01),
    ("leaky_relu", 0.01),
    ("leaky_relu", 0.3),
    ("leaky_relu", -0.5),
    ("leaky_relu", 2.0),
    ("tanh", 0.01),
    ("sigmoid", 0.01),
    ("softplus", 0.01),
    ("gelu", 0.01),
]
# One representative per activation for the (more expensive) network and training tests.
NET_ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu"]
SMOOTH = ("tanh", "sigmoid", "softplus", "gelu")


def spec_id(spec: tuple[str, float]) -> str:
    name, beta = spec
    return f"leaky_relu({beta:g})" if name == "leaky_relu" else name


def reference_sigma(act: lipnb.Activation):
    """σ written with torch.nn.functional directly (not through lipnb)."""
    beta = act.negative_slope
    return {
        "relu": torch.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, beta),
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": F.softplus,
        "gelu": F.gelu,
    }[act.name]


def reference_criterion(loss_name: str, delta: float = 1.0) -> torch.nn.Module:
    return torch.nn.MSELoss() if loss_name == "mse" else torch.nn.HuberLoss(delta=delta)


def reference_forward(params: dict[str, torch.Tensor], sigma, x: torch.Tensor) -> torch.Tensor:
    """f_e(x) = B_e σ(A_e x + a_e) + b_e for every member e; params carry the ensemble axis first."""
    z = torch.einsum("emd,nd->enm", params["A"], x) + params["a"][:, None, :]
    return torch.einsum("enm,em->en", sigma(z), params["B"]) + params["b"][:, None]


def autograd_loss_and_grads(
    net: lipnb.TwoLayerNet, x: torch.Tensor, y: torch.Tensor, loss_name: str = "mse", delta: float = 1.0
):
    """Per-member risks (E,) and their gradients by group (ensemble axis first), by torch autograd."""
    params = {g: t.detach().clone().requires_grad_(True) for g, t in net.parameters().items()}
    crit = reference_criterion(loss_name, delta)
    pred = reference_forward(params, reference_sigma(net.activation), x)
    values = torch.stack([crit(pred[e], y) for e in range(pred.shape[0])])
    values.sum().backward()  # members are independent: the gradient of the sum is each member's own
    return values.detach(), {g: p.grad for g, p in params.items()}


def gd_step_by_hand(net: lipnb.TwoLayerNet, x, y, lrs: dict[str, float], loss_name="mse", delta=1.0):
    """θ_1 = θ_0 − α^g ∇_g R(θ_0) with autograd gradients; returns the new parameters by group."""
    _, grads = autograd_loss_and_grads(net, x, y, loss_name, delta)
    return {g: net.parameters()[g].detach() - lrs[g] * grads[g] for g in lipnb.GROUPS}


@pytest.fixture(params=ACTIVATION_SPECS, ids=[spec_id(s) for s in ACTIVATION_SPECS])
def act(request) -> lipnb.Activation:
    name, beta = request.param
    return lipnb.activation(name, negative_slope=beta)


@pytest.fixture(params=NET_ACTIVATIONS)
def act_name(request) -> str:
    return request.param


@pytest.fixture(params=["mse", "huber"])
def loss_name(request) -> str:
    return request.param


@pytest.fixture(params=[None, 3], ids=["single", "ensemble3"])
def ensemble(request):
    return request.param


def make_data(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A small smooth regression problem in float64: y = sin(2 x·w) + 0.1·noise, ‖x‖ about 1."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1
    w = torch.randn(d, generator=g, dtype=torch.float64) / math.sqrt(d)
    y = torch.sin(2 * x @ w) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


@pytest.fixture
def data_1d() -> tuple[torch.Tensor, torch.Tensor]:
    return make_data(32, 1, seed=11)


@pytest.fixture
def data_3d() -> tuple[torch.Tensor, torch.Tensor]:
    return make_data(40, 3, seed=12)


def rel_err(a, b) -> float:
    """max |a − b| / max(|b|, tiny), for tensors or arrays."""
    a = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=torch.float64)
    b = torch.as_tensor(np.asarray(b) if not isinstance(b, torch.Tensor) else b, dtype=torch.float64)
    scale = max(float(b.abs().max()), 1e-300)
    return float((a - b).abs().max()) / scale
