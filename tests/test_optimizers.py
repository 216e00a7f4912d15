"""Mini-batch SGD and heavy-ball momentum in lipnb.train: updates, path lengths and the adaptive cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lipnb
from lipnb import schedules, theory


@pytest.fixture(scope="module")
def data():
    return lipnb.data.noisy_sine(n_train=48, n_test=10, seed=1)


def _torch_run(net, data, sched, steps, momentum=0.0, batches=None):
    mod = net.to_torch_module()
    base = sched(0)
    opt = torch.optim.SGD(mod.parameters(), lr=base, momentum=momentum)
    lrs = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: sched(t) / base)
    lf = torch.nn.MSELoss()
    for t in range(steps):
        idx = slice(None) if batches is None else batches[t]
        opt.zero_grad()
        lf(mod(data.x_train[idx]).squeeze(-1), data.y_train[idx]).backward()
        opt.step()
        lrs.step()
    with torch.no_grad():
        return lf(mod(data.x_train).squeeze(-1), data.y_train).item(), mod


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_heavy_ball_equals_pytorch_sgd_with_momentum(data, activation):
    net = lipnb.TwoLayerNet.init(1, 24, activation, seed=2)
    sched = schedules.eventual_exponential(0.03, 50, 0.02)
    _, h = lipnb.train(net, data.x_train, data.y_train, sched, 150, momentum=0.8)
    ref, _ = _torch_run(net, data, sched, 150, momentum=0.8)
    assert h.loss[-1] == pytest.approx(ref, rel=1e-10)
    assert h.momentum == 0.8 and not h.full_batch_gd


def test_sgd_uses_seeded_batches_and_equals_pytorch_on_the_same_batches(data):
    net = lipnb.TwoLayerNet.init(1, 16, "tanh", seed=0)
    sched = schedules.constant(0.05)
    steps, bs, seed = 40, 8, 5
    gen = torch.Generator().manual_seed(seed)
    batches = [torch.randperm(data.n_train, generator=gen)[:bs] for _ in range(steps)]
    _, h = lipnb.train(net, data.x_train, data.y_train, sched, steps, batch_size=bs, batch_seed=seed)
    ref, _ = _torch_run(net, data, sched, steps, batches=batches)
    assert h.loss[-1] == pytest.approx(ref, rel=1e-10)
    _, h_again = lipnb.train(net, data.x_train, data.y_train, sched, steps, batch_size=bs, batch_seed=seed)
    _, h_other = lipnb.train(net, data.x_train, data.y_train, sched, steps, batch_size=bs, batch_seed=seed + 1)
    assert np.array_equal(h.loss, h_again.loss)
    assert not np.allclose(h.loss[-1], h_other.loss[-1])


def test_recorded_loss_is_the_full_training_risk_under_sgd(data):
    net = lipnb.TwoLayerNet.init(1, 16, "relu", seed=0)
    trained, h = lipnb.train(net, data.x_train, data.y_train, schedules.constant(0.02), 30, batch_size=4)
    assert h.loss[-1] == pytest.approx(float(lipnb.mse(trained(data.x_train), data.y_train)), rel=1e-12)
    assert h.loss[0] == pytest.approx(float(lipnb.mse(net(data.x_train), data.y_train)), rel=1e-12)


@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(batch_size=8), dict(momentum=0.5, batch_size=8)])
def test_step_lengths_are_actual_displacements_and_lemma_4_1_holds(data, kw):
    net = lipnb.TwoLayerNet.init(1, 16, "tanh", seed=3)
    sched = schedules.constant(0.05)
    prev = net
    for t in range(3):
        cur, h = lipnb.train(net, data.x_train, data.y_train, sched, t + 1, **kw)
        assert h.step_length["A"][t] == pytest.approx(float(torch.linalg.norm(cur.A - prev.A)), rel=1e-10)
        assert h.step_length["B"][t] == pytest.approx(float(torch.linalg.norm(cur.B - prev.B)), rel=1e-10)
        prev = cur
    _, h = lipnb.train(net, data.x_train, data.y_train, sched, 200, **kw)
    assert theory.check_path_length(h).holds
    with pytest.raises(ValueError, match="full-batch gradient descent"):
        theory.check_convergence(h)


def test_adaptive_cap_bounds_the_momentum_step(data):
    net = lipnb.TwoLayerNet.init(1, 32, "tanh", seed=0)
    ad = schedules.adaptive(0.05, 20, schedules.exponential_rate(0.005, 0.05))
    _, h = lipnb.train(net, data.x_train, data.y_train, ad, 200, momentum=0.9)
    total = np.sqrt(sum(h.step_length[g] ** 2 for g in lipnb.GROUPS))
    caps = ad.caps(201)
    assert np.all(total[20:-1] <= caps[20:-1] * (1 + 1e-12))
    assert h.path_length["A"][-1] - h.path_length["A"][20] <= ad.rate_function.gamma * (1 + 1e-12)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=10_000), "batch_size"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
        (dict(batch_seed=-1), "batch_seed"),
    ],
)
def test_bad_optimizer_arguments(data, kw, match):
    net = lipnb.TwoLayerNet.init(1, 4, seed=0)
    with pytest.raises(ValueError, match=match):
        lipnb.train(net, data.x_train, data.y_train, schedules.constant(0.1), 5, **kw)
