"""lipnb.sharpness: λ_max of the Hessian of the training risk against the exact Hessian of tiny networks, and
the measurements along a run against the uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lipnb import MLP, TwoLayerNet, schedules, train
from lipnb.sharpness import _risk_fn, hessian_vector_product, sharpness_along, top_hessian_eigenvalue

X = torch.linspace(-1.0, 1.0, 8, dtype=torch.float64)[:, None]
Y = torch.sin(3.0 * X[:, 0])


def exact_hessian(net, x, y, loss: str = "mse", member: int = 0) -> torch.Tensor:
    """The full Hessian of one member's risk in the flattened parameters (torch.autograd.functional.hessian)."""
    risk, params = _risk_fn(net, x, y, loss, 0.5)
    params = [p[member : member + 1] for p in params]
    shapes, sizes = [p.shape for p in params], [p.numel() for p in params]

    def f(theta: torch.Tensor) -> torch.Tensor:
        parts, i = [], 0
        for shape, n in zip(shapes, sizes):
            parts.append(theta[i : i + n].reshape(shape))
            i += n
        return risk(parts)[0]

    return torch.autograd.functional.hessian(f, torch.cat([p.flatten() for p in params]))


NETS = {
    "mlp-tanh": lambda: MLP.init(1, [4, 3], "tanh", seed=0),
    "mlp-relu": lambda: MLP.init(1, [5, 4], "relu", seed=2),
    "two-layer-tanh": lambda: TwoLayerNet.init(1, 5, "tanh", seed=1),
    "two-layer-relu": lambda: TwoLayerNet.init(1, 6, "relu", seed=3),
}


@pytest.mark.parametrize("loss", ["mse", "huber"])
@pytest.mark.parametrize("name", sorted(NETS))
def test_top_eigenvalue_matches_the_exact_hessian(name: str, loss: str) -> None:
    net = NETS[name]()
    top = float(torch.linalg.eigvalsh(exact_hessian(net, X, Y, loss))[-1])
    found = top_hessian_eigenvalue(net, X, Y, loss=loss, delta=0.5, iters=5000, rtol=1e-12)
    assert found.converged
    assert found.value == pytest.approx(top, rel=1e-8)


def test_hessian_vector_product_is_the_hessian_times_the_vector() -> None:
    net = MLP.init(1, [4, 3], "tanh", seed=0)
    _, params = _risk_fn(net, X, Y, "mse", 1.0)
    g = torch.Generator().manual_seed(5)
    v = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    hv = hessian_vector_product(net, X, Y, v)
    expected = exact_hessian(net, X, Y) @ torch.cat([t.flatten() for t in v])
    torch.testing.assert_close(torch.cat([t.flatten() for t in hv]), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="shapes"):
        hessian_vector_product(net, X, Y, v[:-1] + [torch.zeros(3)])


def test_a_dominant_negative_eigenvalue_is_shifted_away() -> None:
    # far from the targets the residual term dominates the Hessian: here λ_min = −38.2 outweighs λ_max = 36.2,
    # so plain power iteration would return λ_min
    net = TwoLayerNet.init(1, 3, "tanh", seed=5)
    y = torch.full((8,), 20.0, dtype=torch.float64)
    eig = torch.linalg.eigvalsh(exact_hessian(net, X, y))
    assert -eig[0] > eig[-1] > 0
    found = top_hessian_eigenvalue(net, X, y, iters=20000, rtol=1e-13)
    assert found.value == pytest.approx(float(eig[-1]), rel=1e-6)


def test_ensemble_members_are_measured_separately() -> None:
    ens = MLP.init(1, [4, 3], "tanh", seed=[0, 1, 2])
    both = top_hessian_eigenvalue(ens, X, Y, iters=5000, rtol=1e-12)
    assert both.value.shape == (3,)
    for e in range(3):
        alone = top_hessian_eigenvalue(ens.member(e), X, Y, iters=5000, rtol=1e-12)
        assert both.value[e] == pytest.approx(alone.value, rel=1e-8)
    # a warm start from the eigenvectors converges at once
    again = top_hessian_eigenvalue(ens, X, Y, init=both.vectors, rtol=1e-8)
    assert again.products <= 3
    np.testing.assert_allclose(again.value, both.value, rtol=1e-7)


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}])
def test_sharpness_along_a_run_is_measured_on_the_uninterrupted_run(kw: dict) -> None:
    net = MLP.init(1, [6, 5], "tanh", seed=[0, 1])
    sched = schedules.eventual_exponential(0.05, 30, 0.02)
    trained, hist, trace = sharpness_along(net, X, Y, sched, 100, every=25, log_every=5, **kw)
    ref_net, ref_hist = train(net, X, Y, sched, 100, log_every=5, **kw)
    for a, b in zip(trained.weights + trained.biases, ref_net.weights + ref_net.biases):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0.0)
    np.testing.assert_array_equal(hist.steps, ref_hist.steps)
    np.testing.assert_allclose(hist.loss, ref_hist.loss, rtol=1e-12)
    np.testing.assert_allclose(hist.lr["W1"], ref_hist.lr["W1"], rtol=1e-15)
    np.testing.assert_allclose(hist.path_length["W2"], ref_hist.path_length["W2"], rtol=1e-12)
    assert trace.steps.tolist() == [0, 25, 50, 75, 100] and trace.values.shape == (5, 2)
    # the last measurement is λ_max of the trained network
    direct = top_hessian_eigenvalue(ref_net, X, Y, iters=5000, rtol=1e-12).value
    np.testing.assert_allclose(trace.values[-1], direct, rtol=1e-3)
    np.testing.assert_array_equal(trace.max(), trace.values.max(axis=0))


def test_sharpness_along_rejects_what_it_cannot_chunk() -> None:
    net = TwoLayerNet.init(1, 4, "tanh", seed=0)
    rate = schedules.exponential_rate(0.1, 0.1)
    with pytest.raises(TypeError, match="adaptive"):
        sharpness_along(net, X, Y, schedules.adaptive(0.1, 0, rate), 10, every=5)
    with pytest.raises(ValueError, match="multiple of log_every"):
        sharpness_along(net, X, Y, schedules.constant(0.1), 10, every=5, log_every=2)
