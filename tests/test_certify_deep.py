"""lipnb.certificates on MLPs: orderings of the certificates, agreement with the two-layer code, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lipnb
from lipnb import certificates as cd
from lipnb import certificates as certify
from lipnb.certificates import Certificate
from lipnb.certificates import sequential as seq
from lipnb.mlp import MLP

ACTS = ["relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu"]
ARCHS = [(3, [8]), (2, [8, 8]), (3, [10, 6, 5]), (1, [12, 12])]
REL = 1e-6  # solver-based values are re-verified, but two SDP solves agree only to the solver's accuracy


@pytest.mark.parametrize("act_name", ACTS)
@pytest.mark.parametrize("d,widths", ARCHS)
def test_lower_le_lipsdp_le_eclipse_and_fast_le_product(act_name, d, widths):
    net = MLP.init(d, widths, act_name, seed=len(widths) + d)
    lo, w = cd.lower_bound(net, restarts=4, steps=50)
    sdp, ecl, fast, prod = cd.lipsdp(net), cd.eclipse(net), cd.eclipse_fast(net), cd.product_bound(net)
    assert 0 < lo <= sdp * (1 + 1e-9)
    assert sdp <= ecl * (1 + REL)
    assert ecl <= fast * (1 + REL)
    assert fast <= prod * (1 + 1e-9)
    # the witness attains the lower bound
    g = net.input_gradient(torch.as_tensor(w[None]))
    assert float(torch.linalg.vector_norm(g)) == pytest.approx(lo, rel=1e-12)


def _closed_form_bound(net: MLP) -> float:
    """The bound of ECLipsE-Fast's closed-form multipliers, certified by the sequential evaluation."""
    Ws, _, alpha, beta = seq._normalized(net)
    return cd.sequential_bound(net, seq._fast_lams(Ws, alpha, beta, search=False))


@pytest.mark.parametrize("act_name", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("d,widths", ARCHS)
def test_eclipse_fast_is_never_looser_than_the_closed_form(act_name, d, widths):
    net = MLP.init(d, widths, act_name, seed=d + len(widths))
    assert cd.eclipse_fast(net) <= _closed_form_bound(net) * (1 + 1e-12)


def test_eclipse_fast_keeps_the_closed_form_where_the_greedy_search_ends_higher():
    """On this trained tanh network the one-layer-ahead search alone certified 6.43, the closed form 6.11
    (found by benchmarks/certify_deep_speed.py against eclipse-nn's ECLipsE-Fast)."""
    ds = lipnb.data.teacher(2, n_train=256, n_test=10, seed=0)
    trained, _ = lipnb.train(
        MLP.init(2, [16, 16], "tanh", seed=0),
        ds.x_train,
        ds.y_train,
        lipnb.schedules.constant(1 / 16),
        2000,
        log_every=2000,
    )
    Ws, _, alpha, beta = seq._normalized(trained)
    greedy = cd.sequential_bound(trained, seq._fast_lams(Ws, alpha, beta))
    closed = _closed_form_bound(trained)
    assert closed < greedy * 0.97
    assert cd.eclipse_fast(trained) == pytest.approx(closed, rel=1e-9)


def test_lipsdp_with_scs_certifies_the_solvers_value_instead_of_falling_back():
    """SCS stops on the boundary of the cone; recomputed in float64 one stage of its multipliers came out
    indefinite by ~1e-8 at every common scale, and lipsdp used to fall back on eclipse_fast (6.80).
    Shrinking that stage's multipliers by a hair certifies the solver's own value (4.1697)."""
    net = MLP.init(2, [32, 32, 32], "relu", seed=0)
    details: dict = {}
    value = cd.lipsdp(net, solver="SCS", details=details)
    assert "lipsdp_fallback" not in details, details
    assert value == pytest.approx(details["lipsdp_solver_value"], rel=1e-5)
    assert value < 0.7 * cd.eclipse_fast(net)


@pytest.mark.parametrize("seed", range(6))
def test_random_deeper_nets_keep_the_ordering(seed):
    g = np.random.default_rng(seed)
    widths = [int(k) for k in g.integers(3, 20, size=int(g.integers(1, 4)))]
    net = MLP.init(int(g.integers(1, 5)), widths, ACTS[seed % len(ACTS)], seed=seed)
    cert = cd.certify(net, method="eclipse_fast")
    assert cert.lower <= cert.upper <= cd.product_bound(net) * (1 + 1e-9)


@pytest.mark.parametrize("act_name", ACTS)
def test_depth_two_agrees_with_the_two_layer_certificates(act_name):
    net = MLP.init(3, [9], act_name, seed=4)
    W1, W2 = net.weights
    b1, b2 = net.biases
    tw = lipnb.TwoLayerNet.from_weights(W1, b1, W2, b2, activation=act_name)
    x = torch.randn(20, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(net(x), tw(x), rtol=1e-13, atol=1e-14)
    assert cd.product_bound(net) == pytest.approx(certify.product_bound(tw), rel=1e-12)
    two = certify.lipsdp(tw)
    assert cd.lipsdp(net) == pytest.approx(two, rel=REL)
    assert cd.eclipse(net) == pytest.approx(two, rel=REL)  # one hidden layer: the stage SDP is LipSDP
    if net.activation.smooth:
        ascent, _ = cd.lower_bound(net, points=x, restarts=32, steps=300)
        ref, _ = certify.lower_bound(tw, points=x, restarts=32, steps=300)
        assert ascent <= two * (1 + 1e-9) and ref <= two * (1 + 1e-9)
        # two ascents from different random starts; with enough restarts both find the top (local maxima exist)
        assert ascent == pytest.approx(ref, rel=0.02)


def test_relu_net_on_a_line_is_exact_by_the_one_dimensional_oracle():
    net = MLP.init(1, [16], "relu", seed=2)
    W1, W2 = net.weights
    tw = lipnb.TwoLayerNet.from_weights(W1, net.biases[0], W2, net.biases[1], activation="relu")
    exact = certify.exact_1d(tw).upper
    lo, _ = cd.lower_bound(net, restarts=16)
    assert lo <= exact * (1 + 1e-12) <= cd.lipsdp(net) * (1 + 1e-12)
    assert lo == pytest.approx(exact, rel=1e-9)  # 2048 random points find the steepest piece in d = 1


def test_deep_linear_activation_limit_is_tight():
    """With σ' ∈ [1, 1] (leaky ReLU of slope 1: the identity) the MLP is linear and every SDP bound is exact."""
    Ws = [np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[1.0, -3.0]])]
    net = MLP.from_weights(Ws, [np.zeros(2), np.zeros(2), np.zeros(1)], activation=lipnb.activation("leaky_relu", 1.0))
    exact = float(np.linalg.norm(Ws[2] @ Ws[1] @ Ws[0]))
    assert exact <= cd.lipsdp(net) <= exact * (1 + 1e-3)  # attained only as Λ → ∞: near-tight
    assert cd.lower_bound(net)[0] == pytest.approx(exact, rel=1e-12)


def test_sequential_bound_is_valid_for_any_multipliers():
    net = MLP.init(2, [6, 5], "tanh", seed=3)
    lo, _ = cd.lower_bound(net)
    g = np.random.default_rng(0)
    for _ in range(10):
        lams = [g.uniform(0.01, 2.0, 6), g.uniform(0.01, 2.0, 5)]
        assert cd.sequential_bound(net, lams) >= lo
    assert cd.sequential_bound(net, [np.zeros(6), np.zeros(5)]) == np.inf
    with pytest.raises(ValueError, match="multipliers"):
        cd.sequential_bound(net, [np.ones(6)])
    with pytest.raises(ValueError, match="multipliers"):
        cd.sequential_bound(net, [-np.ones(6), np.ones(5)])


def test_certify_mlp_returns_certificates_and_handles_ensembles():
    net = MLP.init(2, [6, 6], "tanh", seed=[0, 1])
    certs = cd.certify(net, points=torch.zeros(3, 2))
    assert isinstance(certs, list) and len(certs) == 2 and all(isinstance(c, Certificate) for c in certs)
    for e, c in enumerate(certs):
        assert c.method == "lipsdp" and c.details["requested"] == "auto"
        assert c.lower <= c.upper <= c.details["product"]
        assert c.details["product"] == pytest.approx(float(net.product_bound()[e]), rel=1e-12)
    wide = MLP.init(2, [128, 128], "relu", seed=0)
    assert cd.certify(wide, restarts=1).method == "eclipse_fast"
    mid = MLP.init(2, [20, 20], "relu", seed=0)
    assert cd._auto_mlp(mid) == "eclipse"
    assert cd.certify(mid, method="product", restarts=1).upper == pytest.approx(cd.product_bound(mid))


def test_validation():
    net = MLP.init(2, [4, 4], seed=0)
    with pytest.raises(TypeError, match="lipnb.MLP"):
        cd.certify("net")
    with pytest.raises(ValueError, match="does not apply to a TwoLayerNet"):
        cd.certify(lipnb.TwoLayerNet.init(2, 4), method="eclipse")
    with pytest.raises(ValueError, match="does not apply to a MLP"):
        cd.certify(net, method="exact_1d")
    with pytest.raises(ValueError, match="method"):
        cd.certify(net, method="exact")
    with pytest.raises(TypeError, match="unexpected keyword"):
        cd.certify(net, method="product", solver="SCS")
    with pytest.raises(ValueError, match="single network"):
        cd.lipsdp(MLP.init(2, [4], seed=0, ensemble=2))
    with pytest.raises(ValueError, match="points must have shape"):
        cd.lower_bound(net, points=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="solver"):
        cd.eclipse(net, solver="NOPE")
