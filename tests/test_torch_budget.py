"""lipnb.torch.LipschitzBudget: for any optimizer, batch size, depth and dtype, at every step after τ the
product of operator norms ≤ the certified bound ≤ the target, and lipnb's exact Lipschitz constant is below
the bound; the same loop without the budget exceeds the target; biases are untouched and scaled steps
point where the optimizer's did; the adaptive cap; errors before anything changes."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_torch_convert import exact_1d_upper
from torch import nn

from lipnb.torch import LipschitzBudget, from_module

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.05),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.03, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p, lr=0.02),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.02, weight_decay=0.01),
}


def _data(d: int, n: int, seed: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(4 * x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x.to(dtype), y.to(dtype)


def _model(d: int, depth: int, width: int, act: str, seed: int, dtype: torch.dtype) -> nn.Sequential:
    torch.manual_seed(seed)
    sizes = [d] + [width] * (depth - 1) + [1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU() if act == "relu" else nn.Tanh())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers).to(dtype)


def _product(model: nn.Sequential, L_sigma: float) -> float:
    """L_σ^{D−1} Π ‖W_l‖_op, computed here independently of the budget (float64 SVD)."""
    ws = [m.weight.detach().double() for m in model if isinstance(m, nn.Linear)]
    return L_sigma ** (len(ws) - 1) * math.prod(float(torch.linalg.matrix_norm(w, ord=2)) for w in ws)


def _train(model, opt, x, y, steps, batch, seed, after_step=None):
    g = torch.Generator().manual_seed(seed)
    for t in range(steps):
        idx = torch.randperm(x.shape[0], generator=g)[:batch]
        opt.zero_grad()
        ((model(x[idx]) - y[idx]) ** 2).mean().backward()
        opt.step()
        if after_step is not None:
            after_step(t + 1)


@settings(max_examples=24)
@given(
    seed=st.integers(0, 10_000),
    opt_name=st.sampled_from(sorted(OPTIMIZERS)),
    depth=st.sampled_from([2, 3]),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    batch=st.sampled_from([4, 16, 48]),
    act=st.sampled_from(["relu", "tanh"]),
    d=st.sampled_from([1, 3]),
    start=st.sampled_from([0, 1, 6]),
    slack=st.floats(1.0, 1.6),
    rate=st.sampled_from([None, 0.05, 0.5]),
)
def test_bound_holds_at_every_step_after_start(seed, opt_name, depth, dtype, batch, act, d, start, slack, rate):
    steps = 30
    x, y = _data(d, 48, seed, dtype)
    L_sigma = 1.0
    # The target: a factor above the product bound at τ, found by a dry run of the same loop (same seeds).
    dry = _model(d, depth, 8, act, seed, dtype)
    dry_opt = OPTIMIZERS[opt_name](dry.parameters())
    _train(dry, dry_opt, x, y, start, batch, seed)
    target = slack * _product(dry, L_sigma) * (1 + 1e-9)

    model = _model(d, depth, 8, act, seed, dtype)
    opt = OPTIMIZERS[opt_name](model.parameters())
    budget = LipschitzBudget(model, opt, target=target, start=start, rate=rate)
    exact = depth == 2 and d == 1 and act == "relu"

    def check(t: int) -> None:
        cert = budget.certificate()
        assert cert.step == t
        product = _product(model, L_sigma)
        assert product <= cert.bound * (1 + 1e-12)
        assert cert.product == pytest.approx(product, rel=1e-12)
        if t >= start:
            assert cert.started and cert.within_target and cert.bound <= target
            assert all(p <= g for p, g in zip(cert.path_after, cert.gamma))
            if exact:
                assert exact_1d_upper(from_module(model)) <= cert.bound * (1 + 1e-12)
        else:
            assert not cert.started and cert.gamma is None

    check(0)
    _train(model, opt, x, y, steps, batch, seed, after_step=check)


def test_without_the_budget_the_same_loop_exceeds_the_target():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(64, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = 1.5 * torch.sin(3 * math.pi * x)  # steep: a good fit needs Lip(f) of about 14
    base = _model(1, 2, 32, "relu", 5, torch.float64)
    start, steps = 20, 300
    plain = copy.deepcopy(base)
    plain_opt = torch.optim.Adam(plain.parameters(), lr=0.02)
    _train(plain, plain_opt, x, y, start, 64, 0)
    target = 1.15 * _product(plain, 1.0)
    _train(plain, plain_opt, x, y, steps - start, 64, 1)

    budgeted = copy.deepcopy(base)
    opt = torch.optim.Adam(budgeted.parameters(), lr=0.02)
    budget = LipschitzBudget(budgeted, opt, target=target, start=start, rate=0.02)
    _train(budgeted, opt, x, y, start, 64, 0)
    _train(budgeted, opt, x, y, steps - start, 64, 1)

    cert = budget.certificate()
    assert _product(plain, 1.0) > 10 * target  # without the budget: far above the target,
    assert exact_1d_upper(from_module(plain)) > 3 * target  # and so is its exact Lipschitz constant
    assert exact_1d_upper(from_module(budgeted)) <= _product(budgeted, 1.0) <= cert.bound <= target
    assert cert.scaled_steps > 0


def test_biases_untouched_and_scaled_steps_point_where_the_optimizer_went():
    x, y = _data(2, 32, 0, torch.float32)
    model = _model(2, 3, 16, "tanh", 1, torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    seen = {}

    def capture(optimizer, args, kwargs):  # registered first: runs before the budget's hook
        seen["after_opt"] = [p.detach().clone() for p in model.parameters()]

    opt.register_step_post_hook(capture)
    budget = LipschitzBudget(model, opt, target=1.02 * _product(model, 1.0), start=0)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    scaled = 0
    for t in range(40):
        before = [m.weight.detach().double().clone() for m in linears]
        _train(model, opt, x, y, 1, 32, t)
        after_opt = seen["after_opt"]
        for l, m in enumerate(linears):
            assert torch.equal(m.bias.detach(), after_opt[2 * l + 1])  # biases: exactly the optimizer's
            step = after_opt[2 * l].double() - before[l]
            taken = m.weight.detach().double() - before[l]
            n_step, n_taken = float(step.norm()), float(taken.norm())
            assert n_taken <= n_step * (1 + 1e-6) + 1e-7
            if n_taken < n_step * (1 - 1e-3):
                scaled += 1
                c = n_taken / n_step  # the same direction, shorter (up to float32 rounding)
                torch.testing.assert_close(taken, c * step, rtol=0, atol=1e-6)
    assert scaled > 0 and budget.certificate().within_target


def test_adaptive_cap_bounds_every_step_after_start():
    x, y = _data(1, 40, 2, torch.float64)
    model = _model(1, 2, 16, "relu", 0, torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    rate = 0.3
    budget = LipschitzBudget(model, opt, target=1.5 * _product(model, 1.0), start=0, rate=rate)
    gamma = budget.gamma[0]
    prev = [0.0, 0.0]
    for t in range(30):
        _train(model, opt, x, y, 1, 40, t)
        path = budget.certificate().path_after
        cap = gamma * -math.expm1(-rate) * math.exp(-rate * t)
        for l in range(2):
            assert path[l] - prev[l] <= cap * (1 + 1e-12)
        prev = list(path)
    assert sum(prev) > 0


def test_before_start_it_only_counts_and_certifies_the_path_length():
    x, y = _data(3, 30, 1, torch.float64)
    model = _model(3, 2, 10, "tanh", 2, torch.float64)
    w0 = [m.weight.detach().clone() for m in model if isinstance(m, nn.Linear)]
    plain = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plain_opt = torch.optim.SGD(plain.parameters(), lr=0.1)
    budget = LipschitzBudget(model, opt, target=1e-6 + 100 * _product(model, 1.0), start=50)
    _train(model, opt, x, y, 20, 30, 0)
    _train(plain, plain_opt, x, y, 20, 30, 0)
    for a, b in zip(model.parameters(), plain.parameters()):
        assert torch.equal(a, b)  # untouched before τ
    cert = budget.certificate()
    assert not cert.started and cert.step == 20
    norms0 = [float(torch.linalg.matrix_norm(w, ord=2)) for w in w0]
    assert cert.bound == pytest.approx(math.prod(n + p for n, p in zip(norms0, cert.path_before)), rel=1e-12)
    assert cert.product <= cert.bound


def test_target_below_the_bound_at_start_zero_raises_and_attaches_nothing():
    model = _model(2, 2, 8, "relu", 0, torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    bound = _product(model, 1.0)
    with pytest.raises(ValueError, match=rf"target=0\.5 is below the model's product bound {bound:.6g}"):
        LipschitzBudget(model, opt, target=0.5, start=0)
    assert not opt._optimizer_step_post_hooks


def test_target_below_the_bound_at_start_raises_from_that_step_and_after():
    x, y = _data(1, 16, 0, torch.float64)
    model = _model(1, 2, 8, "relu", 0, torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    budget = LipschitzBudget(model, opt, target=1e-3, start=2)
    _train(model, opt, x, y, 1, 16, 0)
    with pytest.raises(ValueError, match=r"target=0\.001 is below"):
        _train(model, opt, x, y, 1, 16, 1)
    with pytest.raises(ValueError, match="target"):
        _train(model, opt, x, y, 1, 16, 2)
    budget.remove()
    _train(model, opt, x, y, 1, 16, 3)  # detached: the loop runs again


def test_weights_changed_outside_a_step_are_refused_by_the_certificate():
    model = _model(1, 2, 4, "relu", 0, torch.float64)
    budget = LipschitzBudget(model, torch.optim.SGD(model.parameters(), lr=0.1), target=10.0)
    with torch.no_grad():
        model[0].weight.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"layer 0 \(nn.Linear\)'s weight changed after the last"):
        budget.certificate()


def test_vector_outputs_and_other_activations():
    model = nn.Sequential(nn.Linear(3, 6), nn.LeakyReLU(2.0), nn.Linear(6, 4)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    budget = LipschitzBudget(model, opt, target=1.1 * 2.0 * _product(model, 1.0), start=0)
    x = torch.randn(20, 3, dtype=torch.float64)
    for _ in range(20):
        opt.zero_grad()
        (model(x) ** 2).sum().neg().backward()  # ascent on the output norm: pushes the weights up
        opt.step()
    cert = budget.certificate()
    assert cert.lipschitz_activation == 2.0
    assert 2.0 * _product(model, 1.0) <= cert.bound <= cert.target and cert.scaled_steps > 0


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(target=-1.0), ValueError, "target must be > 0"),
        (dict(target=2.0, start=-3), ValueError, "start must be >= 0"),
        (dict(target=2.0, rate=0.0), ValueError, "rate must be > 0"),
        (dict(target="2"), TypeError, "target must be a real number"),
    ],
)
def test_argument_errors_name_the_argument(kwargs, error, match):
    model = _model(1, 2, 4, "relu", 0, torch.float64)
    with pytest.raises(error, match=match):
        LipschitzBudget(model, torch.optim.SGD(model.parameters(), lr=0.1), **kwargs)


def test_model_errors_name_the_layer():
    bad = nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1))
    with pytest.raises(TypeError, match=r"layer 1 \(Dropout\) is not supported: model must be"):
        LipschitzBudget(bad, torch.optim.SGD(bad.parameters(), lr=0.1), target=1.0)
    lin = nn.Linear(3, 3)
    shared = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), lin, nn.ReLU(), lin, nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match=r"layer 4 \(nn.Linear\) shares its weight with layer 2"):
        LipschitzBudget(shared, torch.optim.SGD(shared.parameters(), lr=0.1), target=100.0)
    with pytest.raises(TypeError, match="optimizer must be"):
        LipschitzBudget(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), None, target=1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda(dtype):
    x, y = _data(3, 64, 0, dtype)
    model = _model(3, 3, 32, "relu", 0, dtype).cuda()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    budget = LipschitzBudget(model, opt, target=1.05 * _product(model, 1.0), start=0, rate=0.1)
    for t in range(50):
        _train(model, opt, x.cuda(), y.cuda(), 1, 64, t)
        assert _product(model, 1.0) <= budget.certificate().bound * (1 + 1e-12) <= budget.target * (1 + 1e-12)
    assert budget.certificate().scaled_steps > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("width,d", [(16, 3), (40, 2000)])  # rows of 3 entries and of 2000 (> _ROW_LIMIT)
def test_measured_lengths_bound_the_true_steps_tightly(dtype, width, d):
    """Path increments ≥ the exact ‖ΔW‖_F of the stored weights (float64 of their values), within 1e-4."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, d, generator=g, dtype=torch.float64).to(dtype)
    y = torch.randn(32, 1, generator=g, dtype=torch.float64).to(dtype)
    model = _model(d, 3, width, "tanh", 0, dtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    budget = LipschitzBudget(model, opt, target=1e6, start=10)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    before = [m.weight.detach().double().clone() for m in linears]
    total = [0.0] * 3
    for t in range(20):
        _train(model, opt, x, y, 1, 32, t)
        after = [m.weight.detach().double().clone() for m in linears]
        total = [s + float((a - b).norm()) for s, a, b in zip(total, after, before)]
        before = after
    cert = budget.certificate()
    measured = [p + q for p, q in zip(cert.path_before, cert.path_after)]
    for m, exact in zip(measured, total):
        assert exact <= m <= exact * (1 + 1e-4)
