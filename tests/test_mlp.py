"""lipnb.MLP: gradients vs autograd, training vs the idiomatic PyTorch loop, the per-layer bounds, claim C5."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import make_data, reference_criterion, reference_sigma

import lipnb
from lipnb import certify as certify_mlp
from lipnb import schedules, theory
from lipnb.mlp import MLP
from lipnb.training import target_gamma_mlp
from lipnb.training import train_to_target as train_mlp_to_target

DEPTHS = {2: [7], 3: [6, 5], 4: [5, 4, 3]}  # depth L (linear layers) -> hidden widths
ACTS = ["relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu"]
OPTIMIZERS = {"gd": {}, "sgd": {"batch_size": 8}, "momentum": {"momentum": 0.9}}


def reference_mlp_forward(Ws, bs, sigma, x):
    """f_e(x) for every member e, written with plain torch ops (ensemble axis first)."""
    h = x.expand(Ws[0].shape[0], *x.shape)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = torch.einsum("eod,end->eno", W, h) + b[:, None, :]
        h = z if l == len(Ws) - 1 else sigma(z)
    return h[..., 0]


def autograd_mlp(net: MLP, x, y, loss_name="mse", delta=1.0):
    E = net.members
    Ws = [w.detach().clone().reshape(E, *w.shape[-2:]).requires_grad_(True) for w in net.weights]
    bs = [b.detach().clone().reshape(E, -1).requires_grad_(True) for b in net.biases]
    crit = reference_criterion(loss_name, delta)
    pred = reference_mlp_forward(Ws, bs, reference_sigma(net.activation), x)
    values = torch.stack([crit(pred[e], y) for e in range(E)])
    values.sum().backward()
    grads = {}
    for l, (W, b) in enumerate(zip(Ws, bs)):
        grads[f"W{l + 1}"], grads[f"b{l + 1}"] = W.grad, b.grad
    return values.detach(), grads


# ------------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("act_name", ACTS)
@pytest.mark.parametrize("ensemble", [None, 3], ids=["single", "ensemble3"])
@pytest.mark.parametrize("loss_name", ["mse", "huber"])
def test_gradients_match_autograd(depth, act_name, ensemble, loss_name):
    x, y = make_data(23, 3, seed=depth)
    net = MLP.init(3, DEPTHS[depth], act_name, seed=5, ensemble=ensemble)
    value, grads = net.loss_and_gradients(x, y, loss=loss_name, delta=0.3)
    ref_v, ref_g = autograd_mlp(net, x, y, loss_name, 0.3)
    torch.testing.assert_close(value.reshape(-1), ref_v, rtol=1e-12, atol=1e-14)
    assert set(grads) == set(net.groups) == set(ref_g)
    for g in net.groups:
        torch.testing.assert_close(grads[g].reshape(ref_g[g].shape), ref_g[g], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_forward_matches_to_torch_module(depth):
    x, _ = make_data(17, 2, seed=0)
    net = MLP.init(2, DEPTHS[depth], "tanh", seed=[3, 4])
    for i in range(2):
        with torch.no_grad():
            torch.testing.assert_close(net(x)[i], net.to_torch_module(i)(x)[:, 0], rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("act_name", ["tanh", "softplus", "gelu", "relu"])
@pytest.mark.parametrize("depth", [2, 4])
def test_input_gradient_matches_finite_differences(act_name, depth):
    x, _ = make_data(9, 3, seed=1)
    net = MLP.init(3, DEPTHS[depth], act_name, seed=2)
    g = net.input_gradient(x)
    h = 1e-6
    fd = torch.stack([(net(x + h * e) - net(x - h * e)) / (2 * h) for e in torch.eye(3, dtype=torch.float64)], dim=1)
    # a ReLU kink within h of a sample would spoil the difference quotient; it does not happen with these seeds
    torch.testing.assert_close(g, fd, rtol=1e-6, atol=1e-8)
    ens = MLP.init(3, DEPTHS[depth], act_name, seed=2, ensemble=2)
    torch.testing.assert_close(ens.input_gradient(x)[0], g, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("act_name", ACTS)
@pytest.mark.parametrize("depth", sorted(DEPTHS))
def test_product_bound_is_lsigma_power_times_spectral_norms(act_name, depth):
    net = MLP.init(4, DEPTHS[depth], act_name, seed=1, ensemble=3)
    for e in range(3):
        norms = torch.stack([torch.linalg.matrix_norm(W[e], ord=2) for W in net.weights])
        expected = net.activation.lipschitz ** (depth - 1) * norms.prod()
        assert float(net.product_bound()[e]) == pytest.approx(float(expected), rel=1e-12)
        torch.testing.assert_close(net.layer_norms()[e], norms, rtol=1e-12, atol=0.0)
    single = net.member(1)
    assert float(single.product_bound()) == pytest.approx(float(net.product_bound()[1]), rel=1e-15)


# ------------------------------------------------------------------------------------ training
def _torch_loop(net: MLP, i, x, y, sched, steps, momentum=0.0, batches=None, loss_name="mse"):
    mod = net.to_torch_module(i)
    base = sched(0)
    opt = torch.optim.SGD(mod.parameters(), lr=base, momentum=momentum)
    lrs = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: sched(t) / base)
    crit = reference_criterion(loss_name)
    for t in range(steps):
        idx = slice(None) if batches is None else batches[t]
        opt.zero_grad()
        crit(mod(x[idx]).squeeze(-1), y[idx]).backward()
        opt.step()
        lrs.step()
    with torch.no_grad():
        return crit(mod(x).squeeze(-1), y).item(), [p.detach().clone() for p in mod.parameters() if p.ndim == 2]


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_train_equals_the_idiomatic_pytorch_loop(opt, depth):
    x, y = make_data(32, 2, seed=7)
    net = MLP.init(2, DEPTHS[depth], "tanh", seed=0)
    sched = schedules.eventual_exponential(0.05, 40, 0.02)
    kw = OPTIMIZERS[opt]
    steps, seed = 100, 3
    batches = None
    if "batch_size" in kw:
        gen = torch.Generator().manual_seed(seed)
        batches = [torch.randperm(32, generator=gen)[: kw["batch_size"]] for _ in range(steps)]
    trained, h = lipnb.train(net, x, y, sched, steps, batch_seed=seed, **kw)
    ref_loss, ref_W = _torch_loop(net, 0, x, y, sched, steps, momentum=kw.get("momentum", 0.0), batches=batches)
    assert h.loss[-1] == pytest.approx(ref_loss, rel=1e-10)
    for W, R in zip(trained.weights, ref_W):
        torch.testing.assert_close(W, R, rtol=1e-10, atol=1e-12)
    assert h.groups == net.groups and h.meta["depth"] == depth


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_ensemble_members_train_as_if_alone(opt):
    x, y = make_data(24, 3, seed=2)
    seeds = [0, 1, 2]
    net = MLP.init(3, [6, 4], "softplus", seed=seeds)
    sched = [schedules.constant(0.05), schedules.eventual_exponential(0.08, 10, 0.1), schedules.constant(0.02)]
    _, h = lipnb.train(net, x, y, sched, 60, **OPTIMIZERS[opt])
    for e, s in enumerate(seeds):
        _, he = lipnb.train(MLP.init(3, [6, 4], "softplus", seed=s), x, y, sched[e], 60, **OPTIMIZERS[opt])
        np.testing.assert_allclose(h.loss[:, e], he.loss, rtol=1e-11)
        np.testing.assert_allclose(h.lip_product[:, e], he.lip_product, rtol=1e-11)
        for g in net.groups:
            np.testing.assert_allclose(h.path_length[g][:, e], he.path_length[g], rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_step_lengths_are_actual_displacements(opt):
    x, y = make_data(24, 2, seed=4)
    net = MLP.init(2, [5, 5], "relu", seed=1)
    sched = schedules.constant(0.05)
    prev = net
    for t in range(3):
        cur, h = lipnb.train(net, x, y, sched, t + 1, **OPTIMIZERS[opt])
        for l in range(net.depth):
            assert h.step_length[f"W{l + 1}"][t] == pytest.approx(
                float(torch.linalg.norm(cur.weights[l] - prev.weights[l])), rel=1e-10
            )
            assert h.step_length[f"b{l + 1}"][t] == pytest.approx(
                float(torch.linalg.norm(cur.biases[l] - prev.biases[l])), rel=1e-10, abs=1e-15
            )
        prev = cur


def lemma_4_1_per_layer(h):
    """max over logged steps, layers, members of ‖W_l^t‖_op − (‖W_l^0‖_op + P^{W_l}_t)
    (≤ 0 when the Path-length lemma holds)."""
    worst = -math.inf
    for l in range(h.meta["depth"]):
        n = np.asarray(h.norms[f"W{l + 1}_op"])
        P = np.asarray(h.path_length[f"W{l + 1}"])
        worst = max(worst, float(np.max(n - (n[0] + P) - 1e-12 * n)))
    return worst


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_lemma_4_1_holds_layer_by_layer(opt, depth):
    x, y = make_data(32, 3, seed=depth)
    net = MLP.init(3, DEPTHS[depth], "relu", seed=[0, 1])
    _, h = lipnb.train(net, x, y, schedules.constant(0.1), 200, log_every=7, **OPTIMIZERS[opt])
    assert lemma_4_1_per_layer(h) <= 0
    L_sigma = h.lipschitz_activation
    bound = L_sigma ** (depth - 1) * np.prod(
        [np.asarray(h.norms[f"W{l + 1}_op"])[0] + np.asarray(h.path_length[f"W{l + 1}"]) for l in range(depth)], axis=0
    )
    assert np.all(h.lip_product <= bound * (1 + 1e-12))


# ------------------------------------------------------------------------------------ claim C5
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
@pytest.mark.parametrize(
    "depth,widths,target", [(2, [32], 10.0), (3, [16, 16], 15.0), (4, [8, 12, 8], 15.0), (3, [64, 32], 25.0)]
)
def test_train_to_target_keeps_the_certified_bound_below_the_target(opt, depth, widths, target):
    x, y = make_data(40, 2, seed=9)
    net = MLP.init(2, widths, "tanh", seed=[0, 1, 2])
    final, h, info = train_mlp_to_target(net, x, y, target, lr=0.05, start=0, steps=300, rate=0.02, **OPTIMIZERS[opt])
    assert theory.check_target(h, target).holds  # the product bound at every one of the 301 steps
    assert np.all(h.lip_product <= target * (1 + 1e-12))
    assert np.all(info["final_product_bound"] <= target * (1 + 1e-12))
    assert lemma_4_1_per_layer(h) <= 0
    for e, cert in enumerate(certify_mlp(final)):
        assert cert.lower <= cert.upper <= target * (1 + 1e-12)
        assert cert.upper <= float(final.product_bound()[e]) * (1 + 1e-12)
    # after τ the path length of every group grows by at most Γ
    gam = np.asarray(info["gamma"])
    for g in final.groups:
        P = np.asarray(h.path_length[g])
        assert np.all(P[-1] - P[0] <= gam * (1 + 1e-12))
    # the decay makes progress: the loss goes down
    assert np.all(h.loss[-1] < h.loss[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_target_guarantee_across_seeds_single_network(seed):
    data = lipnb.data.noisy_sine(n_train=32, n_test=10, seed=seed)
    net = MLP.init(1, [24, 24], "relu", seed=seed)
    _, h, info = train_mlp_to_target(net, data.x_train, data.y_train, 20.0, lr=0.05, start=3, steps=200)
    assert isinstance(info["gamma"], float) and info["gamma"] > 0
    assert float(np.max(h.lip_product)) <= 20.0 * (1 + 1e-12)
    assert info["bound_at_start"] >= float(net.product_bound()) * (1 - 1e-12)  # ‖W_l⁰‖ + P_τ per layer


def test_target_gamma_solves_the_product_equation():
    norms, paths = [1.5, 2.0, 0.7], [0.1, 0.0, 0.3]
    g = target_gamma_mlp(12.0, 0.5, norms, paths)
    assert 0.5**2 * np.prod(np.add(norms, paths) + g) == pytest.approx(12.0, rel=1e-12)
    with pytest.raises(ValueError, match="below the bound"):
        target_gamma_mlp(0.1, 1.0, norms, paths)


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "kw,exc,match",
    [
        (dict(d=0, widths=[3]), ValueError, "d"),
        (dict(d=2, widths=[]), TypeError, "widths"),
        (dict(d=2, widths=3), TypeError, "widths"),
        (dict(d=2, widths=[3, 0]), ValueError, "widths"),
        (dict(d=2, widths=[3], activation="swish"), ValueError, "activation"),
        (dict(d=2, widths=[3], init="xavier"), ValueError, "init"),
    ],
)
def test_init_rejects_bad_arguments(kw, exc, match):
    with pytest.raises(exc, match=match):
        MLP.init(**kw)


def test_from_weights_rejects_mismatched_layers():
    W1, b1 = np.ones((3, 2)), np.zeros(3)
    with pytest.raises(ValueError, match="inputs"):
        MLP.from_weights([W1, np.ones((1, 4))], [b1, np.zeros(1)])
    with pytest.raises(ValueError, match="one output"):
        MLP.from_weights([W1, np.ones((2, 3))], [b1, np.zeros(2)])
    with pytest.raises(ValueError, match="same length"):
        MLP.from_weights([W1], [b1])


def test_data_and_training_arguments_are_validated():
    net = MLP.init(2, [4], seed=0)
    x, y = make_data(10, 2, seed=0)
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="y must have shape"):
        net.loss_and_gradients(x, y[:-1])
    with pytest.raises(ValueError, match="momentum"):
        lipnb.train(net, x, y, schedules.constant(0.1), 5, momentum=1.0)
    with pytest.raises(ValueError, match="batch_size"):
        lipnb.train(net, x, y, schedules.constant(0.1), 5, batch_size=11)
    with pytest.raises(ValueError, match="must exceed start"):
        train_mlp_to_target(net, x, y, 10.0, lr=0.1, start=5, steps=5)
    with pytest.raises(ValueError, match="below the bound"):
        train_mlp_to_target(net, x, y, 1e-3, lr=0.1, start=0, steps=5)
    with pytest.raises(TypeError, match="lipnb.MLP"):
        train_mlp_to_target("net", x, y, 10.0, lr=0.1, start=0, steps=5)
    with pytest.raises(ValueError, match="anchor"):
        train_mlp_to_target(net, x, y, 10.0, lr=0.1, start=0, steps=5, anchor="tau")
    with pytest.raises(ValueError, match="target"):
        train_mlp_to_target(net, x, y, -1.0, lr=0.1, start=0, steps=5)
