"""Tests of lipnb.theory: each check passes on runs that meet its hypotheses and raises on runs that don't.

Runs are small (d = 1 or 2, widths ≤ 64, a few hundred steps, float64) and shared between tests through
module-scoped fixtures. "Tampered" histories are copies of real ones with one number changed, so a
check must point at exactly that step.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

import lipnb
import lipnb.theory as theory
from lipnb import schedules as S
from lipnb.errors import BoundViolated


def sine(n: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.sin(2 * math.pi * x[:, 0]) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def tampered(history: lipnb.History, path: tuple[str, ...], step: int, factor: float) -> lipnb.History:
    """A deep copy of ``history`` with one entry (e.g. ("norms", "A_op")) at ``step`` multiplied by factor."""
    h = copy.deepcopy(history)
    obj = h
    for key in path[:-1]:
        obj = getattr(obj, key) if not isinstance(obj, dict) else obj[key]
    last = path[-1]
    arr = getattr(obj, last) if not isinstance(obj, dict) else obj[last]
    arr = np.array(arr, copy=True)
    arr[int(np.flatnonzero(h.steps == step)[0])] *= factor
    if isinstance(obj, dict):
        obj[last] = arr
    else:
        setattr(obj, last, arr)
    return h


@pytest.fixture(scope="module")
def data():
    return sine(32, seed=0)


@pytest.fixture(scope="module")
def huber_run(data):
    """1-D tanh net, eventual exponential decay, Huber loss, a small learning rate (Convergence theorem holds)."""
    x, y = data
    sched = S.eventual_exponential(0.05, 100, 0.02)
    net = lipnb.TwoLayerNet.init(1, 32, "tanh", seed=0)
    trained, h = lipnb.train(net, x, y, sched, 300, loss="huber", delta=1.0)
    return net, trained, h, sched


@pytest.fixture(scope="module")
def mse_ensemble_run(data):
    x, y = data
    sched = S.eventual_exponential(0.01, 100, 0.02)
    net = lipnb.TwoLayerNet.init(1, 16, "tanh", seed=3, ensemble=3)
    trained, h = lipnb.train(net, x, y, sched, 250, loss="mse")
    return net, trained, h, sched


@pytest.fixture(scope="module")
def adaptive_run(data):
    x, y = data
    rate = S.exponential_rate(0.02, 0.05)
    sched = S.adaptive(0.05, 60, rate)
    net = lipnb.TwoLayerNet.init(1, 24, "relu", seed=1)
    _, h = lipnb.train(net, x, y, sched, 250, loss="mse")
    return h, rate, sched


# ====================================================================================== Check
def test_check_reports_margin_ratio_and_row(huber_run):
    _, _, h, _ = huber_run
    chk = theory.check_path_length(h)
    assert chk.holds
    assert chk.worst_margin == pytest.approx(float(np.min(chk.rhs - chk.lhs)))
    assert chk.ratio == pytest.approx(1.0)  # t = 0: both sides are L_σ‖A₀‖‖B₀‖
    assert chk.final_ratio == pytest.approx(chk.rhs[-1] / chk.lhs[-1])
    row = chk.to_dict()
    assert row["name"].startswith("Path-length lemma") and row["holds"] is True and "final_bound" in row
    assert "Path-length lemma" in str(chk) and "holds" in str(chk)


# ====================================================================================== Initialization bound
def test_init_bounds_closed_form():
    A_b, B_b, prob = theory.init_operator_bounds(16, 4, 2.0)
    assert A_b == pytest.approx((4 + 2 + 2) / 2)
    assert B_b == pytest.approx((4 + 1 + 2) / 4)
    assert prob == pytest.approx(1 - 2 * math.exp(-2.0))
    assert theory.init_lipschitz_bound(16, 4, 2.0, 0.25) == pytest.approx(0.25 * 4 * 1.75)
    assert theory.init_operator_bounds(16, 4, 0.0)[2] == 0.0  # floored, not negative


def test_init_bounds_hold_for_100_inits():
    ens = lipnb.TwoLayerNet.init(3, 64, "relu", seed=list(range(100)))
    chk = theory.check_init(ens, s=3.0)
    assert chk.details["failures"] == 0 and chk.details["fraction_within"] == 1.0
    assert chk.lhs.shape == (2, 100)
    for i in range(0, 100, 25):
        assert theory.check_init(ens.member(i), s=3.0).worst_margin > 0
    # Λ₀ = O(√(m/d)) bounds every product bound at init
    assert np.all(chk.details["lip_product"] <= chk.details["Lambda0"])


def test_check_init_raises_on_oversized_weights():
    net = lipnb.TwoLayerNet.init(2, 32, "tanh", seed=0)
    big = lipnb.TwoLayerNet.from_weights(10 * net.A, net.a, net.B, net.b, "tanh")
    with pytest.raises(BoundViolated, match="probability"):
        theory.check_init(big, s=3.0)
    ens = lipnb.TwoLayerNet.init(2, 32, "tanh", seed=0, ensemble=20)
    ens_big = lipnb.TwoLayerNet.from_weights(ens.A, ens.a, 5 * ens.B, ens.b, "tanh")
    with pytest.raises(BoundViolated, match="Binomial"):
        theory.check_init(ens_big, s=3.0)


def test_check_init_tolerates_plausible_failures():
    # at s = 0 the failure probability bound is 2 (vacuous): any number of failures is plausible
    ens = lipnb.TwoLayerNet.init(2, 8, "tanh", seed=0, ensemble=50)
    chk = theory.check_init(ens, s=0.0)
    assert chk.holds and chk.details["tail_probability"] == 1.0


# ====================================================================================== Path-length lemma
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_path_length_holds_on_runs(data, activation):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 16, activation, seed=2, ensemble=2)
    _, h = lipnb.train(net, x, y, S.constant(0.05), 120, loss="huber", log_every=7)
    chk = theory.check_path_length(h, lip_upper=np.asarray(h.lip_product[-1]))
    assert chk.holds and chk.lhs.shape == (len(h.steps), 2)
    bound = theory.path_length_bound(h)
    assert np.all(np.diff(bound, axis=0) >= 0)  # path lengths only grow
    assert len(chk.details["parts"]) == 3


def test_path_length_raises_on_tampered_norm(huber_run):
    _, _, h, _ = huber_run
    bad = tampered(h, ("norms", "A_op"), 37, 3.0)
    with pytest.raises(BoundViolated) as exc:
        theory.check_path_length(bad)
    assert exc.value.step == 37 and exc.value.lhs > exc.value.rhs
    with pytest.raises(BoundViolated, match="certified"):
        theory.check_path_length(h, lip_upper=2 * theory.path_length_bound(h)[-1])


# ====================================================================================== LR-constraint theorem
def test_lr_constraint_theorem_on_adaptive_run(adaptive_run):
    h, rate, sched = adaptive_run
    assert theory.constraint_holds(h, rate, sched.start)
    chk = theory.check_lr_constraint(h, rate, sched.start, s=3.0)
    tau = sched.start
    expected = theory.lr_constraint_bound(
        h.norms["A_op"][0],
        h.norms["B"][0],
        h.path_length["A"][tau],
        h.path_length["B"][tau],
        rate.gamma,
        h.lipschitz_activation,
    )
    assert chk.details["bound"] == pytest.approx(expected)
    assert np.all(chk.lhs <= expected)
    # the adaptive rule caps the whole step, α_t‖∇R(θ_t)‖ ≤ G(t − τ), with equality where the cap binds;
    # each group's step is then shorter, so the per-group constraint holds with some room
    whole = h.lr["A"][tau:-1] * h.grad_norm_total[tau:-1]
    G = rate(np.arange(len(whole)))
    assert np.all(whole <= G * (1 + 1e-12)) and np.max(whole / G) == pytest.approx(1.0, rel=1e-12)
    assert chk.details["parts"][0].ratio > 1.0
    assert chk.details["bound_with_prop_3_1"] >= 0


def test_lr_constraint_theorem_raises_when_constraint_fails(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 16, "tanh", seed=0)
    _, h = lipnb.train(net, x, y, S.constant(0.05), 80, loss="mse")
    rate = S.exponential_rate(1e-3, 0.1)  # far smaller steps than a constant LR takes
    assert not theory.constraint_holds(h, rate, 20)
    with pytest.raises(BoundViolated) as exc:
        theory.check_lr_constraint(h, rate, 20)
    assert exc.value.step == 20 and "group" in str(exc.value)


def test_decay_constraint_needs_every_step(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 8, "tanh", seed=0)
    _, h = lipnb.train(net, x, y, S.constant(0.05), 20, log_every=2)
    with pytest.raises(ValueError, match="log_every"):
        theory.check_decay_constraint(h, S.exponential_rate(1.0, 0.1), 0)


def test_schedule_rate_makes_eventual_exponential_an_lr_constraint_run(huber_run):
    _, _, h, sched = huber_run
    rf = theory.schedule_rate(sched, h)
    tau = sched.start
    sup = float(np.max(h.grad_norm_total[tau:-1]))
    k = np.arange(50)
    np.testing.assert_allclose(rf(k), S.exponential_rate(0.05 * sup, 0.02)(k), rtol=1e-14)
    assert rf.gamma == pytest.approx(0.05 * sup / (1 - math.exp(-0.02)))
    chk = theory.check_lr_constraint(h, rf, tau)
    assert chk.holds and chk.details["gamma"] == rf.gamma
    with pytest.raises(ValueError, match="does not describe"):
        theory.schedule_rate(S.eventual_exponential(0.07, 100, 0.02), h)
    with pytest.raises(TypeError, match="adaptive"):
        theory.schedule_rate(S.adaptive(0.1, 0, S.exponential_rate(1, 1)), h)


# ====================================================================================== Adaptive rule
@pytest.mark.parametrize(
    "A_op,B_norm,PA,PB,L", [(1.0, 1.0, 0.0, 0.0, 9.0), (2.3, 0.7, 0.4, 1.1, 17.0), (5.0, 0.01, 0.0, 0.0, 0.5 + 1e-9)]
)
def test_gamma_for_target_is_the_root(A_op, B_norm, PA, PB, L):
    g = theory.gamma_for_target(L, 1.0, A_op, B_norm, PA, PB)
    assert g > 0
    assert theory.lr_constraint_bound(A_op, B_norm, PA, PB, g, 1.0) == pytest.approx(L, rel=1e-12)
    assert theory.gamma_for_target(1.0, 1.0, 0.0, 0.0) == pytest.approx(1.0)  # Γ² = 1


def test_gamma_for_target_rejects_a_spent_budget():
    with pytest.raises(ValueError, match="larger target"):
        theory.gamma_for_target(1.0, 1.0, 1.0, 0.5, 0.5, 0.5)


@pytest.mark.parametrize("seed,width", [(0, 8), (1, 32), (2, 64)])
def test_train_to_target_keeps_product_bound_below_target(data, seed, width):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, width, "tanh", seed=seed)
    _, head = lipnb.train(net, x, y, S.constant(0.05), 30)
    target = 1.5 * theory.path_length_bound(head)[-1]  # leaves Γ > 0 after τ = 30 constant steps
    trained, h, info = lipnb.train_to_target(net, x, y, target, lr=0.05, start=30, steps=150, rate=0.05)
    chk = theory.check_target(h, target)
    assert chk.holds and h.total_steps == 150 and len(h.steps) == 151
    assert info["guaranteed_bound"] == pytest.approx(target, rel=1e-12)
    assert float(trained.product_bound()) <= target
    # the run is a LR-constraint theorem run with Γ from Adaptive rule
    rate = S.exponential_rate(info["gamma"] * -math.expm1(-0.05), 0.05)
    assert rate.gamma == pytest.approx(info["gamma"], rel=1e-12)
    chk = theory.check_lr_constraint(h, info["rate_function"], 30)
    assert chk.details["bound"] == pytest.approx(target, rel=1e-12)
    theory.check_path_length(h)


def test_train_to_target_ensemble_and_anchor(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 16, "relu", seed=4, ensemble=3)
    target = 12.0
    _, h, info = lipnb.train_to_target(net, x, y, target, lr=0.05, start=20, steps=120, anchor="tau")
    assert info["gamma"].shape == (3,)
    assert theory.check_target(h, target).worst_member in (0, 1, 2)
    _, h2, info2 = lipnb.train_to_target(net, x, y, target, lr=0.05, start=20, steps=120)
    theory.check_target(h2, target)
    chk = theory.check_lr_constraint(h2, info2["rate_function"], 20)  # one rate function per member
    np.testing.assert_allclose(chk.details["bound"], target, rtol=1e-12)
    assert np.all(info["gamma"] >= info2["gamma"])  # restarting Path-length lemma at τ leaves a larger budget
    with pytest.raises(ValueError, match="exceed start"):
        lipnb.train_to_target(net, x, y, target, lr=0.05, start=20, steps=20)


def test_concat_histories_equals_one_run(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 8, "tanh", seed=5, ensemble=2)
    sched = S.constant(0.03)
    _, whole = lipnb.train(net, x, y, sched, 60, loss="huber")
    mid, first = lipnb.train(net, x, y, sched, 25, loss="huber")
    _, second = lipnb.train(mid, x, y, sched, 35, loss="huber")
    joined = lipnb.concat_histories(first, second)
    np.testing.assert_array_equal(joined.steps, whole.steps)
    for name in ("loss", "lip_product", "grad_norm_total"):
        np.testing.assert_allclose(getattr(joined, name), getattr(whole, name), rtol=1e-10)
    for g in lipnb.GROUPS:
        np.testing.assert_allclose(joined.path_length[g], whole.path_length[g], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(joined.lr[g], whole.lr[g])
    assert joined.meta["concatenated_at"] == 25 and joined.member(1).loss.shape == (61,)
    theory.check_path_length(joined)
    with pytest.raises(ValueError, match="does not start where"):
        lipnb.concat_histories(first, first)
    _, other = lipnb.train(mid, x, y, sched, 5, loss="mse")
    with pytest.raises(ValueError, match="loss_name"):
        lipnb.concat_histories(first, other)


# ====================================================================================== Huber a-priori bound / 5.4
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softplus", "relu"])
def test_huber_gradient_bounds_hold_and_b_bound_is_attained(act):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(20, 3, generator=g, dtype=torch.float64)
    R_x = float(torch.linalg.vector_norm(x, dim=1).max())
    net = lipnb.TwoLayerNet.init(3, 12, act, seed=3, ensemble=4)
    y = torch.randn(20, generator=g, dtype=torch.float64)
    delta = 0.3
    _, grads = net.loss_and_gradients(x, y, "huber", delta)
    bounds = theory.huber_gradient_bounds(net, R_x, delta)
    for grp, val in grads.norms().items():
        assert torch.all(val <= bounds[grp] * (1 + 1e-12))
    # all residuals above δ: |∇_b R_δ| = δ exactly (the bound is attained)
    _, grads = net.loss_and_gradients(x, y - 100.0, "huber", delta)
    assert torch.allclose(grads.b.abs(), torch.full((4,), delta, dtype=torch.float64))


def test_c0_sums_the_gradient_bounds():
    # the four bounds sum to at most δ c₀ (‖A‖_F + ‖a‖ + ‖B‖ + 1)
    rng = np.random.default_rng(0)
    for _ in range(50):
        L, R, m, s0 = rng.uniform(0.1, 2), rng.uniform(0, 3), int(rng.integers(1, 100)), rng.uniform(-1, 1)
        A, a, B, delta = rng.uniform(0, 5, size=4)
        total = delta * (L * R * B + L * B + L * (R * A + a) + math.sqrt(m) * abs(s0) + 1)
        assert total <= delta * theory.c0(L, R, m, s0) * (A + a + B + 1) * (1 + 1e-12)
    assert theory.c0(1.0, 2.0, 16, 0.5) == pytest.approx(max(3.0, 3.0))
    assert theory.apriori_lipschitz_bound(2.0, 0.5, 3.0, 1.0, 1.0) == pytest.approx((2 * math.exp(1.5)) ** 2)
    W = 2 * math.exp(1.5)
    assert theory.apriori_lipschitz_bound(2.0, 0.5, 3.0, 1.0, 1.0, sharp=True) == pytest.approx((W - 1) ** 2 / 4)


def test_huber_apriori_on_huber_run(huber_run):
    _, _, h, sched = huber_run
    chk = theory.check_huber_apriori(h, sched)
    total = 0.05 * 100 + 0.05 / (1 - math.exp(-0.02))
    assert chk.details["lr_sum"] == pytest.approx(total)
    assert chk.details["bound"] == pytest.approx(
        theory.apriori_lipschitz_bound(chk.details["w0"], 1.0, chk.details["c0"], total, 1.0)
    )
    grads, wrec = chk.details["parts"]
    assert grads.holds and wrec.holds
    # without a schedule: the recorded rates, the bound for the run's T steps only (smaller Σα)
    assert theory.check_huber_apriori(h).details["bound"] < chk.details["bound"]
    with pytest.raises(ValueError, match="does not describe"):
        theory.check_huber_apriori(h, S.constant(0.05))


def test_huber_apriori_raises_on_tampered_gradient(huber_run):
    _, _, h, sched = huber_run
    bad = tampered(h, ("grad_norm", "b"), 12, 1e4)  # |∇_b| ≤ δ is violated at step 12
    with pytest.raises(BoundViolated) as exc:
        theory.check_huber_gradients(bad)
    assert exc.value.step == 12
    grown = tampered(h, ("norms", "A_fro"), 200, 1e9)  # w_t above w₀ exp(δc₀Σα)
    with pytest.raises(BoundViolated, match="w_t") as exc:
        theory.check_huber_apriori(grown, sched)
    assert exc.value.step == 200


def test_mse_apriori_on_mse_run(mse_ensemble_run):
    _, _, h, sched = mse_ensemble_run
    chk = theory.check_mse_apriori(h, sched)
    np.testing.assert_allclose(chk.details["delta"], 2 * np.sqrt(h.loss[0]))
    assert chk.details["monotone"].holds
    # the MSE gradient bounds with the per-step 2√R(θ_t) need no monotonicity
    assert theory.check_huber_gradients(h).holds
    with pytest.raises(ValueError, match="Huber"):
        theory.check_huber_apriori(h, sched)


def test_mse_apriori_raises_on_increasing_loss(mse_ensemble_run):
    _, _, h, sched = mse_ensemble_run
    bad = tampered(h, ("loss",), 5, 1.5)
    with pytest.raises(BoundViolated, match="increased") as exc:
        theory.check_mse_apriori(bad, sched)
    assert exc.value.step == 5


# ====================================================================================== Convergence theorem
def test_convergence_theorem_on_small_step_run(huber_run):
    _, _, h, _ = huber_run
    chk = theory.check_convergence(h)
    bound = theory.min_gradient_bound(h)
    assert bound.shape == (h.total_steps,)
    T = 50
    assert bound[T - 1] == pytest.approx(2 * (h.loss[0] - h.loss[T]) / np.sum(h.lr["A"][:T]))
    assert np.min(h.grad_norm_total[:T] ** 2) <= bound[T - 1]
    assert chk.details["smooth_activation"] is True
    beta = chk.details["beta_lower"]
    assert 0 < beta <= 1 / 0.05  # sufficient decrease held, and it is consistent with α ≤ 1/β


def test_sufficient_decrease_raises_for_too_large_lr(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 32, "tanh", seed=0)
    _, h = lipnb.train(net, x, y, S.constant(0.05), 5, loss="mse")
    with pytest.raises(BoundViolated, match="1/β") as exc:
        theory.check_convergence(h)
    assert exc.value.step == 0
    assert theory.smoothness_lower_estimate(h) > 1 / 0.05  # the hypothesis α ≤ 1/β is provably false


def test_min_gradient_bound_per_group_uses_min_rate(data):
    x, y = data
    net = lipnb.TwoLayerNet.init(1, 8, "tanh", seed=0)
    sched = {"A": S.constant(0.02), "a": S.constant(0.01), "B": S.constant(0.03), "b": S.constant(0.02)}
    _, h = lipnb.train(net, x, y, sched, 40, loss="huber")
    bound = theory.min_gradient_bound(h)
    assert bound[-1] == pytest.approx(2 * (h.loss[0] - h.loss[-1]) / (0.01 * 40))
    theory.check_convergence(h)


# ====================================================================================== Generalization theorem
def test_covering_log_number_closed_form():
    # d = 1: |Z| = ⌊1 + 8LR/ε⌋ = ⌊1 + 8·2·1/0.5⌋ = 33, grid ⌈2M/ε⌉ + 1 = 9
    assert theory.covering_log_number(0.5, 2.0, 2.0, 1.0, 1) == pytest.approx(33 * math.log(9))
    assert theory.covering_log_number(0.3, 1.0, 1.0, 1.0, 2) == pytest.approx(
        math.floor((1 + 8 / 0.3) ** 2) * math.log(math.ceil(2 / 0.3) + 1)
    )
    assert math.isinf(theory.covering_log_number(1e-6, 100.0, 1.0, 1.0, 200))


def test_generalization_bound_monotone_and_minimized():
    b = [theory.generalization_bound(4.0, N, 2, 1.0, 1.0, 1.0)[0] for N in (100, 1000, 10_000, 100_000)]
    assert all(u > v for u, v in zip(b, b[1:]))
    b = [theory.generalization_bound(L, 1000, 2, 1.0, 1.0, 1.0)[0] for L in (0.5, 2.0, 8.0, 32.0)]
    assert all(u < v for u, v in zip(b, b[1:]))
    bound, eps = theory.generalization_bound(4.0, 1000, 1, 1.0, 1.0, 1.0, loss="huber", delta=0.5)
    grid = np.exp(np.linspace(math.log(eps) - 3, math.log(eps) + 3, 2001))
    lam, lmax = 0.5, 0.5 * (2.0 - 0.25)
    vals = [
        2 * lam * e + lmax * math.sqrt((theory.covering_log_number(e, 4.0, 1.0, 1.0, 1) + math.log(40)) / 2000)
        for e in grid
    ]
    assert bound <= min(vals) * (1 + 1e-9)


def test_data_dependent_bound_costs_more_than_fixed():
    for L_hat in (0.3, 1.0, 5.0, 40.0):
        fixed, _ = theory.generalization_bound(L_hat, 500, 1, 1.0, 1.0, 1.0)
        dd, _, k = theory.data_dependent_generalization_bound(L_hat, 0.1, 500, 1, 1.0, 1.0, 1.0)
        assert dd >= fixed and 2**k * 0.1 >= L_hat and (k == 1 or 2 ** (k - 1) * 0.1 < L_hat)


def test_parameter_counting_bound_and_exponent():
    K = theory.parameter_lipschitz(16, 1.0, 5.0, 1.0, 0.0)
    assert K == pytest.approx(math.sqrt(2 * (5 * math.sqrt(2)) ** 2 + 1))
    b = [theory.parameter_counting_bound(p, 1000, 1.0, 1.0, K, 5.0)[0] for p in (10, 100, 1000)]
    assert b[0] < b[1] < b[2]
    assert theory.sublinear_exponent(1) == pytest.approx(1 / 6)
    assert theory.sublinear_exponent(2) == pytest.approx(1 / 4)
    assert all(theory.sublinear_exponent(d) < 0.5 for d in range(1, 50))


def test_check_generalization_passes_on_trained_net(huber_run):
    _, trained, _, _ = huber_run
    x, y = sine(32, seed=0)
    xt, yt = sine(400, seed=1)
    ds = lipnb.data.Dataset("sine", x, y, xt, yt)
    chk = theory.check_generalization(trained, ds, loss="huber", L_min=0.1)
    assert chk.holds and chk.details["data_dependent"] and chk.details["level_k"] >= 1
    assert chk.details["gap"] <= chk.details["bound"] + chk.details["test_slack"]


def test_check_generalization_raises_on_distribution_shift():
    # train labels 0, test labels ±1: a zero network (L = 0) fits train exactly and misses test by 1
    g = torch.Generator().manual_seed(0)
    n = 20_000
    x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1
    signs = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).to(torch.float64)
    ds = lipnb.data.Dataset("shift", x, torch.zeros(n, dtype=torch.float64), x.clone(), signs)
    zero = lipnb.TwoLayerNet.from_weights(np.zeros((4, 1)), np.zeros(4), np.zeros(4), 0.0, "relu")
    with pytest.raises(BoundViolated, match="probability"):
        theory.check_generalization(zero, ds, loss="mse", M_y=1.0)  # |y| <= 1 known a priori


# ====================================================================================== validation
def test_argument_validation(huber_run):
    _, _, h, sched = huber_run
    with pytest.raises(ValueError, match="s must be >= 0"):
        theory.init_operator_bounds(4, 2, -1.0)
    with pytest.raises(TypeError, match="m must be an integer"):
        theory.init_operator_bounds(4.5, 2, 1.0)
    with pytest.raises(TypeError, match="history must be a lipnb.History"):
        theory.check_path_length({"loss": [1.0]})
    with pytest.raises(TypeError, match="rate must be"):
        theory.check_decay_constraint(h, sched, 10)
    with pytest.raises(ValueError, match="start must be <="):
        theory.check_decay_constraint(h, S.exponential_rate(1.0, 0.1), 10_000)
    with pytest.raises(ValueError, match="lip_upper"):
        theory.check_path_length(h, lip_upper=[1.0, 2.0])
    with pytest.raises(ValueError, match="L must be > 0"):
        theory.gamma_for_target(0.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="A_op must be finite"):
        theory.gamma_for_target(2.0, 1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="target must be > 0"):
        theory.check_target(h, -1.0)
    with pytest.raises(ValueError, match="eps must be > 0"):
        theory.covering_log_number(0.0, 1.0, 1.0, 1.0, 1)
    with pytest.raises(ValueError, match="eta must be <= 1"):
        theory.generalization_bound(1.0, 10, 1, 1.0, 1.0, 1.0, eta=2.0)
    with pytest.raises(ValueError, match="unknown loss"):
        theory.generalization_bound(1.0, 10, 1, 1.0, 1.0, 1.0, loss="l1")
    with pytest.raises(ValueError, match="delta must be > 0"):
        theory.huber_gradient_bounds(lipnb.TwoLayerNet.init(1, 4, "relu"), 1.0, 0.0)
    with pytest.raises(TypeError, match="net must be"):
        theory.check_init("net", 3.0)
    with pytest.raises(ValueError, match="MSE a-priori bound is for the MSE"):
        theory.check_mse_apriori(h)
    with pytest.raises(ValueError, match="w0"):
        theory.apriori_lipschitz_bound(0.5, 1.0, 1.0, 1.0, 1.0)


# ====================================================================================== consistency vs prediction
def test_generalization_check_says_when_it_cannot_fail():
    """A bound at or above ell_max cannot fail (the gap never exceeds ell_max): a consistency check, not a
    prediction; with enough data the same check becomes a prediction that can fail."""
    g = torch.Generator().manual_seed(1)
    n = 20_000
    x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1
    y = 0.5 * x[:, 0]
    ds_small = lipnb.data.Dataset("line", x[:64], y[:64], x[64:2064], y[64:2064])
    ds_large = lipnb.data.Dataset("line", x[:10_000], y[:10_000], x[10_000:], y[10_000:])
    zero = lipnb.TwoLayerNet.from_weights(np.zeros((4, 1)), np.zeros(4), np.zeros(4), 0.0, "relu")
    # the certified L enters the bound; with L = 1 and N = 64 the bound exceeds ell_max, with N = 10000 not
    small = theory.check_generalization(zero, ds_small, loss="huber", lip_upper=1.0, R_x=1.0, M_y=0.5)
    large = theory.check_generalization(zero, ds_large, loss="huber", lip_upper=1.0, R_x=1.0, M_y=0.5)
    assert small.details["vacuous"] and small.kind == "consistency" and not small.details["can_fail"]
    assert not large.details["vacuous"] and large.kind == "prediction" and large.details["can_fail"]
    assert large.details["confidence"] == pytest.approx(1 - 2 * 0.05)
    assert "[prediction]" in str(large) and large.to_dict()["kind"] == "prediction"


def test_anchor_tau_covers_the_steps_after_tau_only():
    """The counterexample: ReLU, m = 64, B_0 scaled by 8, constant LR 0.005, tau = 400. The product is about
    67.68 at t = 0 and 66.25 at tau; the target 66.97 is accepted with anchor="tau" (the lemma restarted at
    tau), and the guarantee holds from tau on, but not before: check_target over the whole run raises at t = 0."""
    data = lipnb.data.noisy_sine(n_train=64, n_test=100, noise=0.1, seed=0)
    base = lipnb.TwoLayerNet.init(d=1, width=64, activation="relu", seed=0)
    net = lipnb.TwoLayerNet.from_weights(base.A, base.a, 8 * base.B, base.b, "relu")
    target = 66.97
    _, h, info = lipnb.train_to_target(
        net, data.x_train, data.y_train, target, lr=0.005, start=400, steps=800, anchor="tau"
    )
    assert info["covers_from"] == 400
    assert h.lip_product[0] > target > h.lip_product[400]
    with pytest.raises(BoundViolated) as err:
        theory.check_target(h, target)
    assert err.value.step == 0
    chk = theory.check_target(h, target, start=info["covers_from"])
    assert chk.kind == "prediction" and chk.details["start"] == 400
    # anchored at initialization, the floor L_s(|A_0| + P_tau)(|B_0| + P_tau) is above the target: refused
    with pytest.raises(ValueError, match="budget"):
        lipnb.train_to_target(net, data.x_train, data.y_train, target, lr=0.005, start=400, steps=800)


def test_measured_rate_function_makes_the_lr_constraint_a_consistency_check(huber_run):
    _, _, h, sched = huber_run
    measured = theory.check_lr_constraint(h, theory.schedule_rate(sched, h), sched.start)
    assert measured.kind == "consistency" and measured.details["valid_until"] == h.total_steps
    assert measured.details["parts"][0].kind == "consistency"


def test_sufficient_decrease_leaves_out_steps_that_cannot_fail():
    """A run that has stalled promises decreases below the round-off tolerance: those steps are counted
    apart, never as passes."""
    data = lipnb.data.noisy_sine(n_train=32, n_test=10, noise=0.1, seed=0)
    net = lipnb.TwoLayerNet.init(d=1, width=8, activation="tanh", seed=0)
    # a decay so fast that the steps after the first few are far below any tolerance
    _, h = lipnb.train(net, data.x_train, data.y_train, S.eventual_exponential(0.05, 5, 5.0), steps=60, loss="huber")
    chk = theory.check_sufficient_decrease(h)
    assert chk.kind == "prediction"
    assert chk.details["sub_tolerance_steps"] > 0 and chk.details["checked_steps"] >= 5
    assert chk.details["checked_steps"] + chk.details["sub_tolerance_steps"] == h.total_steps
