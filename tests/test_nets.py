"""TwoLayerNet: initialization (shapes, seeding, statistics), construction from weights, the forward
pass, analytic gradients against autograd, norms and the product bound of Product bound, copies."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import NET_ACTIVATIONS, autograd_loss_and_grads, make_data, reference_forward, reference_sigma
from hypothesis import given
from hypothesis import strategies as st

import lipnb

# ----------------------------------------------------------------------------------- initialization


@pytest.mark.parametrize("init", ["lecun", "torch"])
def test_init_shapes_single(init):
    net = lipnb.TwoLayerNet.init(d=3, width=5, activation="tanh", init=init, seed=1)
    assert net.A.shape == (5, 3) and net.a.shape == (5,) and net.B.shape == (5,) and net.b.shape == ()
    assert net.width == 5 and net.d == 3 and net.ensemble is None and net.members == 1
    assert net.dtype == torch.float64 and net.device == torch.device("cpu")
    assert net.activation.name == "tanh"
    assert "d=3" in repr(net) and "width=5" in repr(net)


@pytest.mark.parametrize("init", ["lecun", "torch"])
def test_init_shapes_ensemble(init):
    net = lipnb.TwoLayerNet.init(d=3, width=5, init=init, seed=1, ensemble=4)
    assert net.A.shape == (4, 5, 3) and net.a.shape == (4, 5) and net.B.shape == (4, 5) and net.b.shape == (4,)
    assert net.ensemble == 4 and net.members == 4
    assert "ensemble=4" in repr(net)


def test_init_dtype_float32():
    net = lipnb.TwoLayerNet.init(2, 4, dtype=torch.float32)
    assert all(t.dtype == torch.float32 for t in (net.A, net.a, net.B, net.b))
    assert net(np.zeros((3, 2))).dtype == torch.float32


def _same_weights(n1: lipnb.TwoLayerNet, n2: lipnb.TwoLayerNet) -> bool:
    return all(torch.equal(getattr(n1, g), getattr(n2, g)) for g in lipnb.GROUPS)


@pytest.mark.parametrize("init", ["lecun", "torch"])
def test_ensemble_member_e_is_the_single_net_with_seed_plus_e(init):
    ens = lipnb.TwoLayerNet.init(4, 6, init=init, seed=10, ensemble=3)
    for e in range(3):
        single = lipnb.TwoLayerNet.init(4, 6, init=init, seed=10 + e)
        assert _same_weights(ens.member(e), single)
        assert torch.equal(ens.A[e], single.A) and torch.equal(ens.B[e], single.B)
    # distinct members
    assert not torch.equal(ens.A[0], ens.A[1])


@pytest.mark.parametrize("seeds", [[5, 9, 2], (0, 0), range(3, 5), np.array([7, 1])])
def test_ensemble_with_explicit_seed_list(seeds):
    ens = lipnb.TwoLayerNet.init(2, 3, activation="gelu", seed=seeds)
    seeds = [int(s) for s in seeds]
    assert ens.ensemble == len(seeds)
    for e, s in enumerate(seeds):
        assert _same_weights(ens.member(e), lipnb.TwoLayerNet.init(2, 3, activation="gelu", seed=s))
    # an explicit ensemble size that matches is accepted
    assert _same_weights(lipnb.TwoLayerNet.init(2, 3, activation="gelu", seed=seeds, ensemble=len(seeds)), ens)


def test_same_seed_same_net_different_seed_different_net():
    n1, n2, n3 = (lipnb.TwoLayerNet.init(3, 7, seed=s) for s in (4, 4, 5))
    assert _same_weights(n1, n2)
    assert not torch.equal(n1.A, n3.A)


@pytest.mark.parametrize("bias_std", [1.0, 0.5])
def test_lecun_init_statistics(bias_std):
    """A₀ ~ N(0, 1/d), a₀ ~ N(0, σ_a²), B₀ ~ N(0, 1/m), b₀ = 0 (tolerances are > 5 standard errors)."""
    d, m = 20, 20000
    net = lipnb.TwoLayerNet.init(d, m, init="lecun", seed=3, bias_std=bias_std)
    for t, var, n in [(net.A, 1 / d, m * d), (net.a, bias_std**2, m), (net.B, 1 / m, m)]:
        se_var = var * math.sqrt(2 / n)
        assert abs(float(t.var()) - var) < 6 * se_var, (float(t.var()), var)
        assert abs(float(t.mean())) < 6 * math.sqrt(var / n)
        # Gaussian: the fourth moment is 3 var²
        assert float((t**4).mean()) / var**2 == pytest.approx(3.0, rel=0.1)
    assert float(net.b) == 0.0


def test_torch_init_bounds_and_statistics():
    """PyTorch's nn.Linear default: every weight and bias U(−1/√fan_in, 1/√fan_in)."""
    d, m = 16, 5000
    net = lipnb.TwoLayerNet.init(d, m, init="torch", seed=0, ensemble=2)
    k1, k2 = 1 / math.sqrt(d), 1 / math.sqrt(m)
    for t, k in [(net.A, k1), (net.a, k1), (net.B, k2), (net.b, k2)]:
        assert float(t.abs().max()) <= k
    for t, k in [(net.A, k1), (net.a, k1), (net.B, k2)]:
        assert float(t.abs().max()) > 0.99 * k  # the whole interval is used
        assert float(t.var()) == pytest.approx(k * k / 3, rel=0.06)  # variance of U(−k, k)
    assert float(net.b.abs().min()) > 0  # b is drawn too, not zero as in "lecun"


# ----------------------------------------------------------------------------------- from_weights


def _weights(m=4, d=3, seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal((m, d)), g.standard_normal(m), g.standard_normal(m), float(g.standard_normal())


def test_from_weights_single_accepts_numpy_torch_and_both_B_b_shapes():
    A, a, B, b = _weights()
    ref = lipnb.TwoLayerNet.from_weights(A, a, B, b, activation="tanh")
    assert ref.ensemble is None and ref.A.shape == (4, 3) and ref.B.shape == (4,) and ref.b.shape == ()
    variants = [
        (torch.tensor(A), torch.tensor(a), torch.tensor(B), torch.tensor(b, dtype=torch.float64)),
        (A, a, B[None, :], np.array([b])),
        (A.tolist(), a.tolist(), [B.tolist()], [b]),
        (torch.tensor(A), a, torch.tensor(B)[None, :], torch.tensor([b], dtype=torch.float64)),
        (A, a, B, np.float64(b)),
    ]
    for v in variants:
        net = lipnb.TwoLayerNet.from_weights(*v, activation="tanh")
        assert _same_weights(net, ref)
    np.testing.assert_array_equal(ref.A.numpy(), A)
    assert float(ref.b) == b
    # float32 input is cast to the requested dtype
    net32 = lipnb.TwoLayerNet.from_weights(A.astype(np.float32), a, B, b)
    assert net32.dtype == torch.float64
    torch.testing.assert_close(net32.A, ref.A, rtol=1e-7, atol=0)


def test_from_weights_ensemble_shapes():
    E, m, d = 3, 4, 2
    g = np.random.default_rng(1)
    A, a = g.standard_normal((E, m, d)), g.standard_normal((E, m))
    B, b = g.standard_normal((E, m)), g.standard_normal(E)
    net = lipnb.TwoLayerNet.from_weights(A, a, B, b)
    assert net.ensemble == E and net.A.shape == (E, m, d) and net.B.shape == (E, m) and net.b.shape == (E,)
    net2 = lipnb.TwoLayerNet.from_weights(torch.tensor(A), a, B[:, None, :], b[:, None])
    assert _same_weights(net, net2)
    for e in range(E):
        assert _same_weights(net.member(e), lipnb.TwoLayerNet.from_weights(A[e], a[e], B[e], b[e]))


def test_from_weights_copies_its_input():
    """The network owns its weights: changing the tensors passed in afterwards must not change it."""
    weights = [torch.tensor(w, dtype=torch.float64) for w in _weights()]
    net = lipnb.TwoLayerNet.from_weights(*weights)
    for w in weights:
        w.add_(1.0)
    for g, w in zip(lipnb.GROUPS, weights):
        assert not torch.equal(getattr(net, g), w), f"the network's {g} follows the caller's tensor"


def test_from_weights_dtype():
    net = lipnb.TwoLayerNet.from_weights(*_weights(), dtype=torch.float32)
    assert net.dtype == torch.float32 and net.B.dtype == torch.float32


def test_init_round_trips_through_from_weights(ensemble):
    net = lipnb.TwoLayerNet.init(3, 5, activation="sigmoid", seed=2, ensemble=ensemble)
    back = lipnb.TwoLayerNet.from_weights(
        net.A.numpy(), net.a.numpy(), net.B.numpy(), net.b.numpy(), activation=net.activation
    )
    assert back.ensemble == net.ensemble and _same_weights(back, net)


# ----------------------------------------------------------------------------------- forward pass


def test_call_shapes_and_values(act_name, ensemble):
    x, _ = make_data(9, 3, seed=0)
    net = lipnb.TwoLayerNet.init(3, 6, activation=act_name, seed=1, ensemble=ensemble)
    out = net(x)
    assert out.shape == ((9,) if ensemble is None else (ensemble, 9)) and out.dtype == torch.float64
    ref = reference_forward(net.parameters(), reference_sigma(net.activation), x)
    torch.testing.assert_close(out, ref[0] if ensemble is None else ref, rtol=1e-14, atol=1e-14)
    # numpy input, float32 input: cast to the network's dtype
    torch.testing.assert_close(net(x.numpy()), out, rtol=0, atol=0)
    torch.testing.assert_close(net(x.float()), net(x.float().double()), rtol=0, atol=0)
    # one point at a time gives the same predictions
    for n in (0, 8):
        torch.testing.assert_close(net(x[n : n + 1])[..., 0], out[..., n], rtol=1e-14, atol=1e-15)


def test_call_by_hand_tiny_net():
    """f(x) = B σ(Ax + a) + b written out for a 2-unit ReLU net."""
    net = lipnb.TwoLayerNet.from_weights([[1.0, -1.0], [2.0, 0.5]], [0.5, -1.0], [3.0, -2.0], 0.25)
    x = torch.tensor([[1.0, 2.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    # unit 1: relu(x1 − x2 + 0.5); unit 2: relu(2 x1 + 0.5 x2 − 1)
    expected = [3 * 0 - 2 * 2.0 + 0.25, 3 * 0.5 - 0 + 0.25, 3 * 0.5 - 2 * 1.5 + 0.25]
    np.testing.assert_allclose(net(x).numpy(), expected, rtol=1e-15)


# ----------------------------------------------------------------------------------- gradients


def _assert_grads_match(net, x, y, loss_name, delta=1.0, tol=1e-12):
    value, grads = net.loss_and_gradients(x, y, loss=loss_name, delta=delta)
    ref_value, ref_grads = autograd_loss_and_grads(net, x, y, loss_name, delta)
    assert value.shape == (net.members,)
    torch.testing.assert_close(value, ref_value, rtol=tol, atol=tol * float(ref_value.abs().max()))
    for g in lipnb.GROUPS:
        got = grads[g]
        assert got.shape == net.parameters()[g].shape, g  # gradients carry the ensemble axis
        scale = max(float(ref_grads[g].abs().max()), 1e-300)
        torch.testing.assert_close(got, ref_grads[g], rtol=tol, atol=tol * scale, msg=lambda m: f"group {g}: {m}")
    # Gradients.norms(): Frobenius norms per group and member
    norms = grads.norms()
    for g in lipnb.GROUPS:
        ref = ref_grads[g].reshape(net.members, -1).norm(dim=1)
        torch.testing.assert_close(norms[g], ref, rtol=1e-12, atol=1e-300)


def test_loss_and_gradients_equal_autograd(act_name, loss_name, ensemble):
    x, y = make_data(30, 3, seed=5)
    # Huber with δ small enough that both branches are hit
    delta = 0.3
    net = lipnb.TwoLayerNet.init(3, 8, activation=act_name, seed=7, ensemble=ensemble)
    if loss_name == "huber":
        r = net(x) - y
        assert bool((r.abs() > delta).any()) and bool((r.abs() < delta).any())
    _assert_grads_match(net, x, y, loss_name, delta)


@pytest.mark.parametrize("per_block", [1, 2, 5])
def test_gradients_equal_autograd_when_members_are_taken_in_blocks(monkeypatch, act_name, loss_name, per_block):
    """The trainer evaluates members in cache-sized blocks (ReLU/leaky ReLU through σ(z) = σ'(z) z, the
    others directly): every block size must give autograd's gradients, the last block being partial."""
    n, m = 17, 6
    monkeypatch.setattr(lipnb.nets, "_BLOCK_ELEMENTS", per_block * m * n)
    x, y = make_data(n, 2, seed=3)
    net = lipnb.TwoLayerNet.init(2, m, activation=act_name, seed=11, ensemble=5)
    _assert_grads_match(net, x, y, loss_name, delta=0.4)


@pytest.mark.parametrize("act_name", ["relu", "leaky_relu"])
def test_gradients_at_a_kink_take_the_left_slope_like_autograd(act_name):
    """Units whose pre-activation is exactly 0 at a data point: σ'(0) is the left slope (0 for ReLU, β for
    leaky ReLU), as PyTorch's autograd takes it, also in the homogeneous form σ(z) = σ'(z) z."""
    x = torch.tensor([[-1.0, 0.5], [0.0, 0.0], [2.0, -1.0], [0.5, 0.25]], dtype=torch.float64)
    y = torch.tensor([0.3, -0.2, 1.0, 0.1], dtype=torch.float64)
    A = torch.tensor([[1.0, 2.0], [0.5, -1.0], [0.0, 0.0], [-1.0, 4.0]], dtype=torch.float64)
    a = torch.tensor([0.0, 0.0, 0.0, -0.5], dtype=torch.float64)  # z = 0 at x = 0 (units 0-2), at x_3 (unit 3)
    net = lipnb.TwoLayerNet.from_weights(A, a, torch.tensor([0.7, -1.2, 0.4, 0.9]), 0.1, activation=act_name)
    assert int((net.preactivations(x)[0] == 0).sum()) >= 4
    _assert_grads_match(net, x, y, "mse", tol=1e-14)


def test_loss_and_gradients_value_equals_loss_of_predictions(loss_name, ensemble):
    x, y = make_data(20, 2, seed=1)
    net = lipnb.TwoLayerNet.init(2, 5, activation="softplus", seed=0, ensemble=ensemble)
    value, _ = net.loss_and_gradients(x, y, loss=loss_name, delta=0.5)
    expected = lipnb.loss(loss_name, 0.5)(net(x), y)
    torch.testing.assert_close(value, expected.reshape(-1), rtol=1e-14, atol=0)


def test_loss_and_gradients_leaves_the_network_unchanged():
    x, y = make_data(10, 2, seed=0)
    net = lipnb.TwoLayerNet.init(2, 4, activation="tanh", seed=0, ensemble=2)
    before = {g: t.clone() for g, t in net.parameters().items()}
    net.loss_and_gradients(x, y)
    assert all(torch.equal(before[g], net.parameters()[g]) for g in lipnb.GROUPS)


@given(
    d=st.integers(1, 4),
    m=st.integers(1, 7),
    n=st.integers(1, 9),
    ensemble=st.one_of(st.none(), st.integers(1, 3)),
    act_name=st.sampled_from(NET_ACTIVATIONS),
    loss_name=st.sampled_from(["mse", "huber"]),
    delta=st.floats(0.05, 3.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_gradients_equal_autograd_property(d, m, n, ensemble, act_name, loss_name, delta, seed):
    x, y = make_data(n, d, seed=seed % 1000)
    net = lipnb.TwoLayerNet.init(d, m, activation=act_name, seed=seed, ensemble=ensemble)
    _assert_grads_match(net, x, y, loss_name, delta)


def test_input_gradient_equals_autograd(act_name, ensemble):
    x, _ = make_data(15, 3, seed=2)
    net = lipnb.TwoLayerNet.init(3, 6, activation=act_name, seed=4, ensemble=ensemble)
    got = net.input_gradient(x)
    assert got.shape == ((15, 3) if ensemble is None else (ensemble, 15, 3))
    got = got if ensemble is not None else got[None]
    sigma = reference_sigma(net.activation)
    for e in range(net.members):
        xr = x.clone().requires_grad_(True)
        f = reference_forward(net.parameters(), sigma, xr)[e]
        (ref,) = torch.autograd.grad(f.sum(), xr)  # f(x_n) depends on x_n only
        torch.testing.assert_close(got[e], ref, rtol=1e-13, atol=1e-15)


# ----------------------------------------------------------------------------------- norms and bounds


@pytest.mark.parametrize("d, m", [(1, 5), (3, 1), (2, 9), (9, 3), (4, 4)])
def test_product_bound_and_norms(d, m, act_name):
    net = lipnb.TwoLayerNet.init(d, m, activation=act_name, seed=d * 10 + m, ensemble=3)
    op = torch.linalg.matrix_norm(net.A, ord=2)
    expected = net.activation.lipschitz * torch.linalg.vector_norm(net.B, dim=-1) * op
    torch.testing.assert_close(net.product_bound(), expected, rtol=1e-12, atol=0)
    norms = net.norms()
    assert set(norms) == {"A_op", "A_fro", "a", "B", "b"}
    torch.testing.assert_close(norms["A_op"], op, rtol=1e-12, atol=0)
    torch.testing.assert_close(norms["A_fro"], torch.linalg.matrix_norm(net.A, ord="fro"), rtol=1e-14, atol=0)
    torch.testing.assert_close(norms["a"], net.a.norm(dim=-1), rtol=1e-14, atol=0)
    torch.testing.assert_close(norms["B"], net.B.norm(dim=-1), rtol=1e-14, atol=0)
    torch.testing.assert_close(norms["b"], net.b.abs(), rtol=0, atol=0)
    # ‖A‖_op ≤ ‖A‖_F ≤ √rank ‖A‖_op
    assert bool((norms["A_op"] <= norms["A_fro"] * (1 + 1e-14)).all())
    assert bool((norms["A_fro"] <= math.sqrt(min(d, m)) * norms["A_op"] * (1 + 1e-14)).all())
    # single network: scalars, same numbers as member 0
    single = net.member(0)
    assert single.product_bound().shape == () and single.norms()["A_op"].shape == ()
    torch.testing.assert_close(single.product_bound(), net.product_bound()[0], rtol=1e-14, atol=0)


def test_operator_norm_of_huge_but_finite_weights():
    """‖A‖_op is finite for finite A, even when the entries' squares overflow float64 (|A_ij| > 1e154)."""
    A = np.full((3, 2), 1e200)
    net = lipnb.TwoLayerNet.from_weights(A, np.zeros(3), np.ones(3), 0.0)
    expected = torch.linalg.matrix_norm(net.A, ord=2)  # √6 · 1e200
    assert float(expected) == pytest.approx(math.sqrt(6) * 1e200, rel=1e-14)
    torch.testing.assert_close(net.norms()["A_op"], expected, rtol=1e-12, atol=0)
    torch.testing.assert_close(net.product_bound(), math.sqrt(3) * expected, rtol=1e-12, atol=0)


def test_product_bound_dominates_input_gradients(act_name):
    """Product bound: ‖∇ₓ f(x)‖ ≤ Lip(f) ≤ L_σ ‖B‖ ‖A‖_op at every x."""
    net = lipnb.TwoLayerNet.init(3, 20, activation=act_name, seed=0, ensemble=4)
    x = torch.randn(500, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3
    grad_norms = net.input_gradient(x).norm(dim=-1).max(dim=-1).values
    assert bool((grad_norms <= net.product_bound() * (1 + 1e-12)).all())


# ----------------------------------------------------------------------------------- torch module, copies


def test_to_torch_module_gives_identical_outputs(act_name, ensemble):
    x, _ = make_data(25, 3, seed=3)
    net = lipnb.TwoLayerNet.init(3, 7, activation=act_name, seed=5, ensemble=ensemble)
    out = net(x) if ensemble is not None else net(x)[None]
    for i in range(net.members):
        module = net.to_torch_module(i)
        assert isinstance(module, torch.nn.Sequential) and len(module) == 3
        assert isinstance(module[0], torch.nn.Linear) and module[0].in_features == 3 and module[0].out_features == 7
        assert isinstance(module[1], type(net.activation.torch_module()))
        assert next(module.parameters()).dtype == torch.float64
        with torch.no_grad():
            pred = module(x)
        assert pred.shape == (25, 1)
        torch.testing.assert_close(pred[:, 0], out[i], rtol=1e-14, atol=1e-14)
        assert sum(p.numel() for p in module.parameters()) == net.n_params


def test_to_torch_module_is_independent_of_the_net():
    net = lipnb.TwoLayerNet.init(2, 3, seed=0)
    module = net.to_torch_module()
    with torch.no_grad():
        module[0].weight.add_(1.0)
        module[2].bias.add_(1.0)
    assert not torch.equal(module[0].weight, net.A) and float(net.b) == 0.0


@pytest.mark.parametrize("d, m", [(1, 1), (3, 10), (10, 3)])
def test_n_params(d, m):
    net = lipnb.TwoLayerNet.init(d, m, ensemble=2)
    assert net.n_params == m * (d + 2) + 1
    assert net.n_params == sum(t[0].numel() for t in net.parameters().values())


def test_member_returns_independent_single_networks():
    x, _ = make_data(5, 2, seed=0)
    ens = lipnb.TwoLayerNet.init(2, 4, activation="tanh", seed=0, ensemble=3)
    for i in range(3):
        mi = ens.member(i)
        assert mi.ensemble is None and mi.A.shape == (4, 2) and mi.activation is ens.activation
        for g in lipnb.GROUPS:  # the same weights, bit for bit
            assert torch.equal(mi.parameters()[g][0], ens.parameters()[g][i]), g
        # The same predictions up to rounding: BLAS may block an (E·m)-row product differently from an m-row one.
        torch.testing.assert_close(mi(x), ens(x)[i], rtol=1e-14, atol=1e-15)
    before = ens.A.clone(), ens.B.clone()
    m0 = ens.member(0)
    for g in lipnb.GROUPS:
        m0.parameters()[g].add_(1.0)
    assert torch.equal(ens.A, before[0]) and torch.equal(ens.B, before[1])


def test_member_accepts_negative_indices():
    """member(i) validates i in [-E, E-1], so member(-1) must be the last member."""
    ens = lipnb.TwoLayerNet.init(2, 4, seed=0, ensemble=3)
    last = ens.member(-1)
    assert last.A.shape == (4, 2)
    assert _same_weights(last, ens.member(2))
    assert _same_weights(ens.member(-3), ens.member(0))


def test_clone_is_independent():
    net = lipnb.TwoLayerNet.init(2, 4, seed=0, ensemble=2)
    c = net.clone()
    assert _same_weights(c, net) and c.activation is net.activation and c.ensemble == net.ensemble
    for g in lipnb.GROUPS:
        c.parameters()[g].add_(1.0)
    assert all(not torch.equal(getattr(c, g), getattr(net, g)) for g in lipnb.GROUPS)
    single = lipnb.TwoLayerNet.init(2, 4, seed=0)
    assert single.clone().ensemble is None and single.clone().b.shape == ()


def test_to_returns_an_independent_copy():
    """to() is documented as "a copy", also when dtype and device do not change."""
    net = lipnb.TwoLayerNet.init(2, 4, seed=0)
    net32 = net.to(dtype=torch.float32)
    assert net32.dtype == torch.float32 and torch.allclose(net32.A.double(), net.A, atol=1e-7)
    same = net.to(dtype=torch.float64)
    assert _same_weights(same, net)
    before = {g: getattr(net, g).clone() for g in lipnb.GROUPS}
    for g in lipnb.GROUPS:
        same.parameters()[g].add_(1.0)
    assert all(torch.equal(getattr(net, g), before[g]) for g in lipnb.GROUPS)


def test_training_does_not_mutate_the_input_net():
    x, y = make_data(20, 2, seed=0)
    net = lipnb.TwoLayerNet.init(2, 6, activation="tanh", seed=0, ensemble=2)
    before = {g: t.clone() for g, t in net.parameters().items()}
    trained, _ = lipnb.train(net, x, y, lipnb.schedules.constant(0.1), steps=20)
    assert all(torch.equal(before[g], net.parameters()[g]) for g in lipnb.GROUPS)
    assert not torch.equal(trained.A, net.A) and not torch.equal(trained.B, net.B)
