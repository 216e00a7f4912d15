"""Certified and empirical robustness (lipnb.robustness): the certified radius y f(x) / L is never larger than
the distance to an adversarial example, PGD finds the exact distance where it is known, and the row-space
network has the same outputs, gradient norms and certificates as the original."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lipnb
from lipnb import robustness as rb
from lipnb.schedules import constant


def _linear(w: torch.Tensor, b: float):
    return lambda z: z @ w + b


def _points(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.fixture(scope="module")
def trained():
    """A small tanh network trained on a ±1 task, its LipSDP certificate and held-out points."""
    x, xt = _points(200, 6, 0), _points(300, 6, 1)
    label = lambda z: torch.sign(torch.sin(2 * z[:, 0]) + z[:, 1] * z[:, 2])  # noqa: E731
    net = lipnb.TwoLayerNet.init(6, 12, "tanh", seed=0)
    net, _ = lipnb.train(net, x, label(x), constant(0.1), 400, log_every=400)
    cert = lipnb.certify(net, method="lipsdp", points=x)
    return net, cert, xt, label(xt)


def test_linear_classifier_radius_is_the_exact_distance_and_pgd_finds_it():
    w, b = torch.tensor([3.0, -4.0, 0.0, 1.0], dtype=torch.float64), 0.5
    f, x = _linear(w, b), _points(400, 4, 2)
    y = torch.sign(f(x))
    y[::5] *= -1  # some misclassified points
    exact = (y * f(x)) / w.norm()  # signed distance to the hyperplane w·x + b = 0
    r = rb.certified_radius(f, x, y, float(w.norm()))
    torch.testing.assert_close(r, exact, rtol=1e-14, atol=1e-15)
    dist, adv = rb.attack_distance(f, x, y, eps_max=5.0, bisections=14)
    ok = r > 0
    assert bool((dist[~ok] == 0).all())
    assert bool((dist[ok] >= r[ok] * (1 - 1e-12)).all())  # never closer than the exact distance
    assert bool((dist[ok] <= r[ok] * 1.01 + 5.0 * 2.0**-13).all())  # and PGD gets there (bisection resolution)
    assert bool((torch.sign(f(adv[ok])) != y[ok]).all())
    torch.testing.assert_close(torch.linalg.vector_norm(adv - x, dim=1), dist, rtol=1e-12, atol=1e-12)


def test_certified_radius_is_never_larger_than_the_attack_distance(trained):
    net, cert, x, y = trained
    r = rb.certified_radius(net, x, y, cert.upper)
    dist, adv = rb.attack_distance(net, x, y, eps_max=4.0)
    ok = r > 0
    assert ok.sum() > 200 and torch.isfinite(dist[ok]).sum() > 100
    assert bool((dist[ok] >= r[ok]).all()), "an adversarial example inside the certified ball: L < Lip(f)"
    found = torch.isfinite(dist)
    assert bool((torch.sign(net(adv[found])) != y[found]).all())


def test_the_check_fails_with_a_constant_below_the_lipschitz_constant(trained):
    """The check has teeth: with a 'Lipschitz constant' a third of the certified one, the radii are too large
    and PGD finds adversarial examples inside them."""
    net, cert, x, y = trained
    r = rb.certified_radius(net, x, y, cert.lower / 3)
    dist, _ = rb.attack_distance(net, x, y, eps_max=4.0)
    ok = r > 0
    assert int((dist[ok] < r[ok]).sum()) > 10


def test_certified_accuracy_is_below_the_attacked_accuracy_and_both_start_at_the_clean_accuracy(trained):
    net, cert, x, y = trained
    eps = [0.0, 0.05, 0.1, 0.2, 0.4]
    r = rb.certified_radius(net, x, y, cert.upper)
    certified = rb.certified_accuracy(r, eps)
    attacked = rb.robust_accuracy(net, x, y, eps)
    clean = float((torch.sign(net(x)) == y).double().mean())
    assert certified[0] == pytest.approx(clean) and attacked[0] == pytest.approx(clean)
    assert np.all(np.diff(certified) <= 0)
    assert np.all(certified <= attacked + 1e-12)  # certified ≤ true robust accuracy ≤ accuracy under attack
    assert attacked[-1] < clean  # the attack does something


def test_evaluate_gathers_the_parts_and_counts_violations(trained):
    net, cert, x, y = trained
    eps = [0.0, 0.1, 0.3]
    ev = rb.evaluate(net, x, y, cert.upper, eps, eps_max=4.0)
    torch.testing.assert_close(ev["radius"], rb.certified_radius(net, x, y, cert.upper))
    dist, _ = rb.attack_distance(net, x, y, eps_max=4.0, bisections=10)
    torch.testing.assert_close(ev["distance"], dist)
    np.testing.assert_array_equal(ev["certified"], rb.certified_accuracy(ev["radius"], eps))
    np.testing.assert_array_equal(ev["attacked"], rb.robust_accuracy(net, x, y, eps))
    assert ev["closer"] == 0
    assert rb.evaluate(net, x, y, cert.lower / 3, eps, eps_max=4.0)["closer"] > 10


def test_pgd_stays_in_the_ball_and_lowers_the_margin(trained):
    net, _, x, y = trained
    eps = torch.linspace(0.0, 0.5, x.shape[0], dtype=torch.float64)
    adv = rb.pgd_l2(net, x, y, eps, steps=10)
    assert bool((torch.linalg.vector_norm(adv - x, dim=1) <= eps * (1 + 1e-12) + 1e-15).all())
    clean, attacked = rb.margins(net, x, y), rb.margins(net, adv, y)
    assert bool((attacked <= clean + 1e-15).all()) and float((clean - attacked).mean()) > 0
    # by the Lipschitz bound the margin can fall by at most L·ε
    cert = lipnb.certify(net, method="lipsdp", points=x)
    assert bool((clean - attacked <= cert.upper * eps + 1e-12).all())


def test_a_torch_module_gives_the_same_results_as_the_lipnb_network(trained):
    net, cert, x, y = trained
    module = net.to_torch_module()
    torch.testing.assert_close(rb.margins(module, x, y), rb.margins(net, x, y), rtol=1e-12, atol=1e-12)
    a = rb.pgd_l2(net, x, y, 0.3, steps=5)
    b = rb.pgd_l2(module, x, y, 0.3, steps=5)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_row_space_network_has_the_same_outputs_gradients_and_certificates():
    net = lipnb.TwoLayerNet.init(12, 5, "tanh", seed=3)
    g, V = rb.row_space_net(net)
    assert g.d == 5 and V.shape == (12, 5)
    torch.testing.assert_close(V.T @ V, torch.eye(5, dtype=torch.float64), rtol=0, atol=1e-13)
    x = _points(100, 12, 4)
    torch.testing.assert_close(g(x @ V), net(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        g.input_gradient(x @ V).norm(dim=1), net.input_gradient(x).norm(dim=1), rtol=1e-12, atol=1e-12
    )
    for method in ("lipsdp", "slope_pattern", "product"):
        assert lipnb.certify(g, method=method).upper == pytest.approx(lipnb.certify(net, method=method).upper, rel=1e-6)
    # more hidden units than inputs: r = d, nothing is lost either
    wide = lipnb.TwoLayerNet.init(3, 8, "tanh", seed=5)
    gw, Vw = rb.row_space_net(wide)
    x3 = _points(50, 3, 6)
    assert Vw.shape == (3, 3)
    torch.testing.assert_close(gw(x3 @ Vw), wide(x3), rtol=1e-12, atol=1e-12)


def test_bad_input_is_rejected_with_the_argument_named():
    net = lipnb.TwoLayerNet.init(3, 4, "tanh", seed=0)
    x, y = _points(10, 3, 0), torch.ones(10, dtype=torch.float64)
    with pytest.raises(ValueError, match="y must hold labels"):
        rb.margins(net, x, 2 * y)
    with pytest.raises(ValueError, match="y must have shape"):
        rb.margins(net, x, y[:5])
    with pytest.raises(ValueError, match="lipschitz"):
        rb.certified_radius(net, x, y, 0.0)
    with pytest.raises(ValueError, match="eps"):
        rb.pgd_l2(net, x, y, -0.1)
    with pytest.raises(ValueError, match="eps must be a number or one radius per point"):
        rb.pgd_l2(net, x, y, torch.ones(3))
    with pytest.raises(ValueError, match="single network"):
        rb.margins(lipnb.TwoLayerNet.init(3, 4, "tanh", seed=[0, 1]), x, y)
    with pytest.raises(TypeError, match="TwoLayerNet"):
        rb.row_space_net(lambda z: z)
    with pytest.raises(ValueError, match="ensemble"):
        rb.row_space_net(lipnb.TwoLayerNet.init(3, 4, "tanh", seed=[0, 1]))
    # far from the boundary: no adversarial example within eps_max, the distance is reported as infinite
    far, _ = rb.attack_distance(_linear(torch.ones(3, dtype=torch.float64), 100.0), x, y, 0.1)
    assert bool(torch.isinf(far).all())
