"""Tests for lipnb.certify: the certificates bracket Lip(f), the exact methods match brute force, and the
upper bounds are ordered as the book says (lower ≤ Lip ≤ Slope-pattern bound ≤ LipSDP ≤ Product bound)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lipnb import TwoLayerNet, data, schedules, train
from lipnb.certificates import (
    TWO_LAYER_METHODS as METHODS,
)
from lipnb.certificates import (
    Certificate,
    certify,
    exact_1d,
    exact_2d,
    lipsdp,
    lower_bound,
    product_bound,
    slope_pattern_bound,
    smooth_1d,
)
from lipnb.certificates.smooth import _SMOOTH

SMOOTH = ("tanh", "sigmoid", "softplus", "gelu")
ALL = ("relu", "leaky_relu") + SMOOTH
FAST = settings(deadline=None, max_examples=12, derandomize=True)


def _net(A, a, B, act="relu", b=0.0):
    return TwoLayerNet.from_weights(np.asarray(A, float), np.asarray(a, float), np.asarray(B, float), b, act)


def _grad_norms(net, x):
    return torch.linalg.vector_norm(net.input_gradient(torch.as_tensor(x)), dim=-1).numpy()


# ------------------------------------------------------------------------------------ closed forms used
@pytest.mark.parametrize("name", SMOOTH)
def test_smooth_constants_match_the_activation(name):
    from lipnb.activations import activation

    act = activation(name)
    d12, d3max, crit, z0, lim_lo, lim_hi = _SMOOTH[name]
    z = np.linspace(-40, 40, 400_001)
    d1, d2 = d12(z)
    zt = torch.from_numpy(z)
    np.testing.assert_allclose(d1, act.derivative(zt).numpy(), atol=1e-13)
    np.testing.assert_allclose(d2, act.second_derivative(zt).numpy(), atol=1e-13)
    d3 = np.gradient(d2, z)
    assert np.abs(d3).max() <= d3max * (1 + 1e-6) and np.abs(d3).max() >= d3max * (1 - 1e-3)
    # |σ''| peaks only at the listed critical points: it is monotone between consecutive ones
    cuts = np.r_[-np.inf, sorted(crit), np.inf]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        seg = np.abs(d2[(z > lo) & (z < hi)])
        inc, dec = np.diff(seg), -np.diff(seg)
        # monotone, or down-then-up through a zero of σ'' (a minimum of |σ''|): no interior maximum
        k = int(np.argmin(seg))
        assert (
            (np.diff(seg[: k + 1]) <= 1e-15).all()
            and (np.diff(seg[k:]) >= -1e-15).all()
            or (inc >= -1e-15).all()
            or (dec >= -1e-15).all()
        )
    # beyond z0, σ' − σ'(±∞) keeps its sign and shrinks in size
    for sel, lim, outward in ((z >= z0, lim_hi, 1), (z <= -z0, lim_lo, -1)):
        r = (d1[sel] - lim)[::outward]
        assert (np.sign(r[np.abs(r) > 1e-14]) == np.sign(r[np.abs(r) > 1e-14][0])).all()
        assert (np.diff(np.abs(r)) <= 1e-15).all()


# ------------------------------------------------------------------------------------ small known cases
def test_lipsdp_one_unit_relu_is_one():
    net = _net([[1.0]], [0.0], [1.0])
    assert lipsdp(net) == pytest.approx(1.0, rel=1e-9)
    assert lipsdp(net, "textbook") == pytest.approx(1.0, rel=1e-9)
    assert slope_pattern_bound(net) == pytest.approx(1.0)
    c = exact_1d(net)
    # the upper bound carries the bound on the rounding of the slope sums, and nothing more
    assert c.exact and c.lower == 1.0 and 1.0 <= c.upper <= 1.0 + c.details["rounding_bound"]


def test_slope_pattern_matches_naive_enumeration():
    net = TwoLayerNet.init(3, 7, "gelu", seed=3)
    A, B = net.A.numpy(), net.B.numpy()
    lo, hi = net.activation.slope_lo, net.activation.slope_hi
    naive = max(np.linalg.norm((np.array(s) * B) @ A) for s in itertools.product((lo, hi), repeat=7))
    assert slope_pattern_bound(net) == pytest.approx(naive, rel=1e-12)


# ------------------------------------------------------------------------------------ the ordering
@FAST
@given(act=st.sampled_from(ALL), d=st.integers(1, 3), m=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_bounds_are_ordered(act, d, m, seed):
    net = TwoLayerNet.init(d, m, act, seed=seed)
    lower, witness = lower_bound(net, restarts=4, steps=50, seed=seed)
    assert lower == pytest.approx(float(_grad_norms(net, witness[None])[0]), rel=1e-9, abs=1e-14)
    sp = slope_pattern_bound(net)
    sdp = lipsdp(net)
    prod = product_bound(net)
    exact = None
    if net.activation.piecewise_linear and d == 1:
        exact = exact_1d(net).upper
    elif net.activation.piecewise_linear and d == 2:
        exact = exact_2d(net).upper
    elif d == 1:
        exact = smooth_1d(net).upper
    tol = 1e-9
    if exact is not None:
        assert lower <= exact * (1 + 1e-6) + tol
        assert exact <= sp * (1 + 1e-6) + tol
    assert lower <= sp * (1 + 1e-9) + tol
    assert sp <= sdp * (1 + 1e-9) + tol  # the LipSDP value is re-verified, so this holds to rounding
    assert sdp <= prod * (1 + 1e-4) + tol  # up to the solver's accuracy (the product is LipSDP-feasible)


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "gelu"])
@pytest.mark.parametrize("d", [1, 3])
def test_lipsdp_formulations_agree(act, d):
    for seed in range(3):
        net = TwoLayerNet.init(d, 12, act, seed=seed)
        assert lipsdp(net, "reduced") == pytest.approx(lipsdp(net, "textbook"), rel=1e-5)


def test_lipsdp_with_scs_is_still_a_valid_bound():
    net = TwoLayerNet.init(2, 32, "tanh", seed=1)
    ref = lipsdp(net)
    scs = lipsdp(net, solver="SCS")
    assert scs >= ref * (1 - 1e-7)
    assert scs == pytest.approx(ref, rel=1e-2)


# ------------------------------------------------------------------------------------ exact, d = 1
def _brute_1d(net):
    """max |slope| from f evaluated at every breakpoint and beyond the outermost ones."""
    A, a = net.A.numpy()[:, 0], net.a.numpy()
    p = np.unique(-a[A != 0] / A[A != 0])
    if p.size == 0:
        p = np.array([0.0])
    x = np.r_[p[0] - 1.0, p, p[-1] + 1.0]
    f = net(torch.as_tensor(x[:, None])).numpy()
    return float(np.max(np.abs(np.diff(f) / np.diff(x))))


@FAST
@given(
    m=st.integers(1, 30),
    act=st.sampled_from(["relu", "leaky_relu"]),
    seed=st.integers(0, 10_000),
)
def test_exact_1d_matches_brute_force_with_degenerate_units(m, act, seed):
    # integer first layer: breakpoints −a_i/A_i are well separated or exactly equal; A_i = 0 and B_i = 0 occur
    rng = np.random.default_rng(seed)
    A = rng.integers(-3, 4, size=(m, 1)).astype(float)
    a = rng.integers(-5, 6, size=m).astype(float)
    B = rng.normal(size=m) * (rng.random(m) > 0.1)
    net = _net(A, a, B, act)
    c = exact_1d(net)
    assert c.exact
    assert c.upper == pytest.approx(_brute_1d(net), rel=1e-9, abs=1e-12)
    assert c.lower == pytest.approx(float(_grad_norms(net, c.witness[None])[0]), rel=1e-12, abs=1e-15)


@FAST
@given(m=st.integers(1, 200), seed=st.integers(0, 10_000))
def test_exact_1d_matches_brute_force_on_random_nets(m, seed):
    net = TwoLayerNet.init(1, m, "relu", seed=seed)
    c = exact_1d(net)
    assert c.exact
    assert c.upper == pytest.approx(_brute_1d(net), rel=1e-7)


def test_exact_1d_coincident_breakpoints_and_zero_rows():
    # units 0, 1 and 3 share the breakpoint 0.5; unit 2 has A = 0 (a constant); their jumps cancel in part
    net = _net([[2.0], [1.0], [0.0], [-4.0]], [-1.0, -0.5, 3.0, 2.0], [1.0, 2.0, 5.0, 0.25])
    c = exact_1d(net)
    # left of 0.5: only unit 3 active, slope 0.25·(−4) = −1; right: units 0, 1, slope 2 + 2 = 4
    assert c.upper == pytest.approx(4.0) and c.lower == pytest.approx(4.0) and c.witness[0] > 0.5
    assert c.details["breakpoints"] == 1


# ------------------------------------------------------------------------------------ exact, d = 2
def _vertex_oracle(net):
    """max ‖∇f‖ over the cells around every vertex of the line arrangement (all cells, when every cell has a
    vertex): four points on the bisectors of the two lines through the vertex, closer than any other line."""
    A, a = net.A.numpy(), net.a.numpy()
    keep = np.linalg.norm(A, axis=1) > 0
    N = A[keep] / np.linalg.norm(A[keep], axis=1, keepdims=True)
    off = a[keep] / np.linalg.norm(A[keep], axis=1)
    U = np.stack([-N[:, 1], N[:, 0]], axis=1)
    pts = []
    for i, j in itertools.combinations(range(N.shape[0]), 2):
        M = np.stack([N[i], N[j]])
        if abs(np.linalg.det(M)) < 1e-9:
            continue
        v = np.linalg.solve(M, -np.array([off[i], off[j]]))
        dist = np.abs(N @ v + off)
        dist = dist[dist > 1e-9]  # lines through v coincide with line i or j here
        eps = 0.1 * min(1.0, dist.min()) if dist.size else 0.1
        for s1, s2 in itertools.product((-1, 1), repeat=2):
            pts.append(v + eps * (s1 * U[i] + s2 * U[j]))
    return float(_grad_norms(net, np.array(pts)).max())


@FAST
@given(m=st.integers(2, 25), act=st.sampled_from(["relu", "leaky_relu"]), seed=st.integers(0, 10_000))
def test_exact_2d_equals_the_vertex_oracle_and_is_attained(m, act, seed):
    net = TwoLayerNet.init(2, m, act, seed=seed)
    c = exact_2d(net)
    assert c.exact
    assert c.upper == pytest.approx(_vertex_oracle(net), rel=1e-9)
    # the witness attains it: a central finite difference of f there has that norm
    h = 1e-7 * max(1.0, float(np.abs(c.witness).max()))
    w = torch.as_tensor(c.witness)
    e = torch.eye(2, dtype=torch.float64)
    fd = torch.stack([(net((w + h * e[k])[None]) - net((w - h * e[k])[None]))[0] / (2 * h) for k in range(2)])
    assert float(torch.linalg.vector_norm(fd)) == pytest.approx(c.upper, rel=1e-6)


def test_exact_2d_never_exceeded_by_dense_sampling():
    for seed in range(3):
        net = TwoLayerNet.init(2, 60, "relu", seed=seed)
        c = exact_2d(net)
        x = np.random.default_rng(seed).uniform(-6, 6, size=(200_000, 2))
        assert _grad_norms(net, x).max() <= c.upper * (1 + 1e-12)


@pytest.mark.parametrize("case", ["parallel", "coincident", "concurrent", "zero_rows", "single_line", "no_lines"])
def test_exact_2d_degenerate_arrangements(case):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(8, 2))
    a = rng.normal(size=8)
    B = rng.normal(size=8)
    if case == "parallel":
        A[1], A[2], A[3] = 2 * A[0], -0.5 * A[0], 3 * A[0]
    elif case == "coincident":
        A[1], a[1] = 2 * A[0], 2 * a[0]  # same line, same orientation
        A[2], a[2] = -A[0], -a[0]  # same line, opposite orientation
        A[3], a[3] = 3 * A[4], 3 * a[4]
    elif case == "concurrent":
        a[:] = 0.0  # every line through the origin
    elif case == "zero_rows":
        A[:3] = 0.0
    elif case == "single_line":
        A, a, B = A[:1], a[:1], B[:1]
    elif case == "no_lines":
        A[:] = 0.0
    net = _net(A, a, B)
    c = exact_2d(net)
    assert c.exact, c
    x = np.r_[rng.uniform(-5, 5, size=(100_000, 2)), rng.normal(scale=1e-3, size=(20_000, 2))]
    sampled = float(_grad_norms(net, x).max())
    assert sampled <= c.upper * (1 + 1e-12)
    assert c.lower == pytest.approx(float(_grad_norms(net, c.witness[None])[0]), rel=1e-12, abs=1e-15)
    if case in ("parallel", "coincident", "zero_rows"):
        assert c.upper == pytest.approx(_vertex_oracle(net), rel=1e-9)
    elif case == "concurrent":  # the cells are wedges at the origin: a fine circle of directions meets all
        t = np.linspace(0, 2 * np.pi, 100_000, endpoint=False)
        circle = np.stack([np.cos(t), np.sin(t)], axis=1)
        assert float(_grad_norms(net, circle).max()) == pytest.approx(c.upper, rel=1e-9)


# ------------------------------------------------------------------------------------ smooth, d = 1
@pytest.mark.parametrize("act", SMOOTH)
@pytest.mark.parametrize("m", [1, 9, 200])
def test_smooth_1d_is_tight_and_above_a_dense_grid(act, m):
    net = TwoLayerNet.init(1, m, act, seed=m)
    c = smooth_1d(net, rtol=1e-6)
    assert c.exact and c.upper <= c.lower * (1 + 1e-6) + 1e-12
    x = np.linspace(-60, 60, 100_001)[:, None]
    assert _grad_norms(net, x).max() <= c.upper
    assert c.lower == pytest.approx(float(_grad_norms(net, c.witness[None])[0]), rel=1e-12)


def test_smooth_1d_supremum_at_infinity():
    # f'(x) = σ'(x) + σ'(x − 1) for softplus increases to its limit 2 as x → ∞: the sup is not attained
    net = _net([[1.0], [1.0]], [0.0, -1.0], [1.0, 1.0], "softplus")
    c = smooth_1d(net, rtol=1e-6)
    assert c.exact and c.upper == pytest.approx(2.0, rel=1e-6) and c.lower <= 2.0


# ------------------------------------------------------------------------------------ certify
def test_certify_ensemble_equals_members():
    net = TwoLayerNet.init(1, 16, "tanh", seed=[3, 4, 5])
    certs = certify(net)
    assert isinstance(certs, list) and len(certs) == 3
    for i, c in enumerate(certs):
        ci = certify(net.member(i))
        assert (c.lower, c.upper, c.method) == (ci.lower, ci.upper, ci.method)


@pytest.mark.parametrize(
    "d,act,method",
    [
        (1, "relu", "exact_1d"),
        (2, "leaky_relu", "exact_2d"),
        (1, "gelu", "smooth_1d"),
        (3, "relu", "lipsdp"),
        (2, "tanh", "lipsdp"),
    ],
)
def test_certify_auto_picks_the_method(d, act, method):
    net = TwoLayerNet.init(d, 20, act, seed=0)
    c = certify(net, points=np.random.default_rng(0).normal(size=(30, d)))
    assert isinstance(c, Certificate) and c.method == method
    assert c.lower <= c.upper and c.details["product"] >= c.upper * (1 - 1e-6)
    assert c.lower == pytest.approx(float(_grad_norms(net, c.witness[None])[0]), rel=1e-9)
    assert str(c).startswith("Lip(f) ∈ [") and c.method in str(c)


@pytest.mark.parametrize("method", [m for m in METHODS if m not in ("auto", "exact_2d", "smooth_1d")])
def test_certify_every_method_runs_and_brackets(method):
    net = TwoLayerNet.init(1, 10, "leaky_relu", seed=2)
    c = certify(net, method=method, restarts=2, steps=10)
    exact = exact_1d(net).upper
    assert c.lower <= exact * (1 + 1e-9) <= c.upper * (1 + 1e-6)
    assert c.method == method


def test_certify_trained_relu_net_is_exact():
    ds = data.noisy_sine(n_train=32, n_test=10, seed=0)
    net = TwoLayerNet.init(1, 64, "relu", seed=0)
    trained, _ = train(net, ds.x_train, ds.y_train, schedules.constant(0.05), steps=300)
    c = certify(trained, points=ds.x_train)
    assert c.method == "exact_1d" and c.exact and c.ratio == pytest.approx(1.0, abs=1e-9)
    assert c.details["lower_bound_sampled"] <= c.upper


# ------------------------------------------------------------------------------------ validation
def test_validation_errors():
    net3 = TwoLayerNet.init(3, 5, "relu", seed=0)
    with pytest.raises(ValueError, match=r"exact_1d.*d = 1.*d = 3"):
        exact_1d(net3)
    with pytest.raises(ValueError, match=r"exact_1d.*d = 1"):
        certify(net3, method="exact_1d")
    with pytest.raises(ValueError, match=r"exact_2d.*d = 2"):
        exact_2d(net3)
    with pytest.raises(ValueError, match=r"piecewise-linear.*tanh"):
        exact_1d(TwoLayerNet.init(1, 5, "tanh", seed=0))
    with pytest.raises(ValueError, match=r"smooth activation"):
        smooth_1d(TwoLayerNet.init(1, 5, "relu", seed=0))
    with pytest.raises(ValueError, match=r"max_width = 20"):
        slope_pattern_bound(TwoLayerNet.init(2, 21, "relu", seed=0))
    with pytest.raises(ValueError, match=r"unknown method"):
        certify(net3, method="exact")
    with pytest.raises(ValueError, match=r"unknown formulation"):
        lipsdp(net3, formulation="full")
    with pytest.raises(ValueError, match=r"solver"):
        lipsdp(net3, solver="NOPE")
    with pytest.raises(TypeError, match=r"unexpected keyword.*rtol"):
        certify(net3, method="lipsdp", rtol=1e-3)
    with pytest.raises(TypeError, match=r"net must be a lipnb.TwoLayerNet"):
        certify("net")
    with pytest.raises(ValueError, match=r"ensemble"):
        exact_1d(TwoLayerNet.init(1, 5, "relu", seed=0, ensemble=2))
    with pytest.raises(ValueError, match=r"points must have shape \(N, 3\)"):
        lower_bound(net3, points=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"rtol"):
        smooth_1d(TwoLayerNet.init(1, 5, "tanh", seed=0), rtol=0.0)


def test_certificate_ratio_and_str():
    c = Certificate(2.0, 3.0, "lipsdp", False, np.zeros(2), {})
    assert c.ratio == 1.5 and "1.5" in str(c) and "lipsdp" in str(c)
    assert Certificate(0.0, 0.0, "exact_1d", True, np.zeros(1)).ratio == 1.0
    assert math.isinf(Certificate(0.0, 1.0, "product", False, np.zeros(1)).ratio)
