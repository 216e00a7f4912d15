"""train(): GD by hand, the idiomatic PyTorch loop, ensembles, per-group and per-member schedules, the
History's invariants, Path-length lemma and Adaptive rule on real runs, divergence, input formats."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import gd_step_by_hand, make_data, reference_criterion

import lipnb
from lipnb import schedules as S

GROUPS = lipnb.GROUPS


def _assert_same_params(n1, n2, rtol=1e-12):
    for g in GROUPS:
        p1, p2 = n1.parameters()[g], n2.parameters()[g]
        torch.testing.assert_close(
            p1, p2, rtol=rtol, atol=rtol * max(float(p2.abs().max()), 1e-300), msg=lambda m: f"group {g}: {m}"
        )


# ----------------------------------------------------------------------------------- (1) one step by hand


def test_one_gd_step_equals_the_update_by_hand(act_name, loss_name, ensemble):
    x, y = make_data(20, 2, seed=3)
    net = lipnb.TwoLayerNet.init(2, 5, activation=act_name, seed=1, ensemble=ensemble)
    lr = 0.07
    expected = gd_step_by_hand(net, x, y, {g: lr for g in GROUPS}, loss_name, delta=0.5)
    trained, hist = lipnb.train(net, x, y, S.constant(lr), steps=1, loss=loss_name, delta=0.5)
    for g in GROUPS:
        torch.testing.assert_close(trained.parameters()[g], expected[g], rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(hist.steps, [0, 1])
    assert trained.ensemble == net.ensemble
    # step_length is the actual displacement ‖θ^g_1 − θ^g_0‖
    disp = {
        g: (trained.parameters()[g] - net.parameters()[g]).reshape(net.members, -1).norm(dim=1).numpy() for g in GROUPS
    }
    for g in GROUPS:
        got = hist.step_length[g][0] if ensemble is not None else np.atleast_1d(hist.step_length[g][0])
        np.testing.assert_allclose(got, disp[g], rtol=1e-9, atol=1e-300)
        got_p = hist.path_length[g][1] if ensemble is not None else np.atleast_1d(hist.path_length[g][1])
        np.testing.assert_allclose(got_p, disp[g], rtol=1e-9, atol=1e-300)


# ----------------------------------------------------------------------------------- (2) PyTorch baseline


@pytest.mark.parametrize("act_name", ["relu", "tanh"])
@pytest.mark.parametrize("loss_name", ["mse", "huber"])
def test_reproduces_the_idiomatic_pytorch_loop(act_name, loss_name):
    """nn.Sequential + torch.optim.SGD + LambdaLR from the same weights: same losses and weights."""
    x, y = make_data(64, 2, seed=4)
    net = lipnb.TwoLayerNet.init(2, 32, activation=act_name, seed=3)
    sched = S.eventual_exponential(0.05, start=100, rate=0.02)
    T, delta = 200, 0.5
    trained, hist = lipnb.train(net, x, y, sched, steps=T, loss=loss_name, delta=delta)

    model = net.to_torch_module()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=sched)
    crit = reference_criterion(loss_name, delta)
    losses = []
    for _ in range(T):
        opt.zero_grad()
        value = crit(model(x)[:, 0], y)
        losses.append(value.item())
        value.backward()
        opt.step()
        lr_sched.step()
    with torch.no_grad():
        final = crit(model(x)[:, 0], y).item()

    assert hist.loss[-1] == pytest.approx(final, rel=1e-10)
    np.testing.assert_allclose(hist.loss[:-1], losses, rtol=1e-10)
    assert hist.loss[-1] < 0.5 * hist.loss[0]  # a real run, not a no-op
    with torch.no_grad():
        torch.testing.assert_close(trained.A, model[0].weight, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(trained.a, model[0].bias, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(trained.B, model[2].weight[0], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(trained.b, model[2].bias[0], rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------------- (3) ensembles


def test_ensemble_training_equals_training_each_member(act_name, loss_name):
    x, y = make_data(30, 3, seed=6)
    ens = lipnb.TwoLayerNet.init(3, 10, activation=act_name, seed=0, ensemble=3)
    sched = S.eventual_exponential(0.1, start=20, rate=0.05)
    trained, hist = lipnb.train(ens, x, y, sched, steps=60, loss=loss_name, delta=0.5)
    assert hist.loss.shape == (61, 3)
    for e in range(3):
        alone, h_e = lipnb.train(ens.member(e), x, y, sched, steps=60, loss=loss_name, delta=0.5)
        _assert_same_params(trained.member(e), alone, rtol=1e-11)
        hm = hist.member(e)
        np.testing.assert_allclose(hm.loss, h_e.loss, rtol=1e-11)
        for g in GROUPS:
            np.testing.assert_allclose(hm.path_length[g], h_e.path_length[g], rtol=1e-11, atol=1e-300)
            np.testing.assert_allclose(hm.lr[g], h_e.lr[g], rtol=0)
        np.testing.assert_allclose(hm.norms["A_op"], h_e.norms["A_op"], rtol=1e-11)


# ----------------------------------------------------------------------------------- (4) per-group / per-member


def test_per_group_learning_rates_one_step():
    x, y = make_data(25, 2, seed=1)
    net = lipnb.TwoLayerNet.init(2, 6, activation="tanh", seed=2, ensemble=2)
    lrs = {"A": 0.1, "a": 0.02, "B": 0.3, "b": 0.004}
    trained, hist = lipnb.train(net, x, y, {g: S.constant(v) for g, v in lrs.items()}, steps=1)
    expected = gd_step_by_hand(net, x, y, lrs)
    for g in GROUPS:
        torch.testing.assert_close(trained.parameters()[g], expected[g], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(hist.lr[g], np.full((2, 2), lrs[g]))


def test_tiny_learning_rate_for_B_keeps_B_nearly_fixed():
    x, y = make_data(40, 2, seed=2)
    net = lipnb.TwoLayerNet.init(2, 16, activation="tanh", seed=0)
    mapping = {"A": S.constant(0.2), "a": S.constant(0.2), "B": S.constant(1e-9), "b": S.constant(0.2)}
    trained, hist = lipnb.train(net, x, y, mapping, steps=200)
    moved_B = float((trained.B - net.B).norm())
    moved_A = float((trained.A - net.A).norm())
    assert moved_B <= hist.path_length["B"][-1] * (1 + 1e-9)
    assert hist.path_length["B"][-1] < 1e-6
    assert moved_A > 1e-2
    np.testing.assert_array_equal(hist.lr["B"], np.full(201, 1e-9))
    assert "B: constant(lr=1e-09)" in hist.schedules[0]


def test_per_group_schedules_of_different_kinds():
    x, y = make_data(20, 1, seed=3)
    net = lipnb.TwoLayerNet.init(1, 8, activation="gelu", seed=1, ensemble=2)
    mapping = {
        "A": S.eventual_exponential(0.1, 10, 0.1),
        "a": S.constant(0.05),
        "B": S.step(0.2, [15], 0.5),
        "b": S.eventual_polynomial(0.1, 5, 2.0),
    }
    _, hist = lipnb.train(net, x, y, mapping, steps=30)
    for g in GROUPS:
        np.testing.assert_allclose(hist.lr[g], np.repeat(mapping[g].values(31)[:, None], 2, axis=1), rtol=1e-15)


def test_per_member_schedule_list():
    x, y = make_data(30, 2, seed=4)
    ens = lipnb.TwoLayerNet.init(2, 8, activation="softplus", seed=5, ensemble=3)
    scheds = [
        S.constant(0.05),
        S.eventual_exponential(0.2, 10, 0.1),
        {"A": S.constant(0.1), "a": S.constant(0.1), "B": S.constant(0.01), "b": S.constant(0.1)},
    ]
    trained, hist = lipnb.train(ens, x, y, scheds, steps=40)
    assert len(hist.schedules) == 3
    for e in range(3):
        alone, h_e = lipnb.train(ens.member(e), x, y, scheds[e], steps=40)
        _assert_same_params(trained.member(e), alone, rtol=1e-11)
        for g in GROUPS:
            np.testing.assert_array_equal(hist.lr[g][:, e], h_e.lr[g])
        assert hist.member(e).schedules == h_e.schedules
    # a tuple is a sequence too
    trained2, _ = lipnb.train(ens, x, y, tuple(scheds), steps=40)
    _assert_same_params(trained2, trained, rtol=0)


# ----------------------------------------------------------------------------------- (5) History


def test_history_invariants(act_name, ensemble):
    x, y = make_data(30, 2, seed=7)
    net = lipnb.TwoLayerNet.init(2, 12, activation=act_name, seed=3, ensemble=ensemble)
    T, delta = 80, 0.5
    sched = S.eventual_exponential(0.1, start=30, rate=0.05)
    trained, h = lipnb.train(net, x, y, sched, steps=T, loss="huber", delta=delta)
    shape = (T + 1,) if ensemble is None else (T + 1, ensemble)

    np.testing.assert_array_equal(h.steps, np.arange(T + 1))
    assert h.total_steps == T and h.log_every == 1
    assert h.loss.shape == shape and h.lip_product.shape == shape and h.grad_norm_total.shape == shape
    lr_expected = sched.values(T + 1) if ensemble is None else np.repeat(sched.values(T + 1)[:, None], ensemble, 1)
    for g in GROUPS:
        for arr in (h.lr, h.grad_norm, h.step_length, h.path_length):
            assert arr[g].shape == shape
        np.testing.assert_allclose(h.lr[g], lr_expected, rtol=1e-15)
        np.testing.assert_allclose(h.step_length[g], h.lr[g] * h.grad_norm[g], rtol=1e-15)
        assert np.all(h.path_length[g][0] == 0)
        # P_t = Σ_{s<t} step_length_s, non-decreasing
        np.testing.assert_allclose(
            h.path_length[g][1:], np.cumsum(h.step_length[g][:-1], axis=0), rtol=1e-12, atol=1e-300
        )
        assert np.all(np.diff(h.path_length[g], axis=0) >= 0)
    np.testing.assert_allclose(h.grad_norm_total, np.sqrt(sum(h.grad_norm[g] ** 2 for g in GROUPS)), rtol=1e-14)
    np.testing.assert_allclose(h.lip_product, net.activation.lipschitz * h.norms["B"] * h.norms["A_op"], rtol=1e-15)

    # the records at t = 0 and t = T describe the initial and the trained network
    lo = lipnb.loss("huber", delta)
    np.testing.assert_allclose(h.loss[0], lo(net(x), y).numpy(), rtol=1e-13)
    np.testing.assert_allclose(h.loss[-1], lo(trained(x), y).numpy(), rtol=1e-13)
    np.testing.assert_allclose(h.final_loss, h.loss[-1], rtol=0)
    for k, v in net.norms().items():
        np.testing.assert_allclose(h.norms[k][0], v.numpy(), rtol=1e-12)
    for k, v in trained.norms().items():
        np.testing.assert_allclose(h.norms[k][-1], v.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.lip_product[0], net.product_bound().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.lip_product[-1], trained.product_bound().numpy(), rtol=1e-12)
    _, grads = net.loss_and_gradients(x, y, loss="huber", delta=delta)
    for g, v in grads.norms().items():
        np.testing.assert_allclose(np.atleast_1d(h.grad_norm[g][0]), v.numpy(), rtol=1e-12)
    # the displacement over the run is at most the path length (triangle inequality)
    for g in GROUPS:
        disp = (trained.parameters()[g] - net.parameters()[g]).reshape(net.members, -1).norm(dim=1).numpy()
        assert np.all(disp <= np.atleast_1d(h.path_length[g][-1]) * (1 + 1e-12))
    # metadata
    assert h.loss_name == "huber" and h.delta == delta and h.activation == str(net.activation)
    assert h.lipschitz_activation == net.activation.lipschitz
    assert (h.width, h.d, h.n_train, h.ensemble) == (12, 2, 30, ensemble)
    assert h.x_radius == pytest.approx(float(x.norm(dim=1).max()), rel=1e-15)
    assert h.schedules == [sched.description] * net.members


@pytest.mark.parametrize("T, every", [(53, 7), (50, 10), (5, 100)])
def test_log_every_gives_the_same_records_at_the_logged_steps(T, every):
    x, y = make_data(20, 2, seed=8)
    net = lipnb.TwoLayerNet.init(2, 8, activation="tanh", seed=0, ensemble=2)
    sched = S.eventual_polynomial(0.2, 10, 2.0)
    t1, h1 = lipnb.train(net, x, y, sched, steps=T, log_every=1)
    tk, hk = lipnb.train(net, x, y, sched, steps=T, log_every=every)
    expected_steps = list(range(0, T, every)) + [T]
    np.testing.assert_array_equal(hk.steps, expected_steps)
    assert hk.log_every == every and hk.total_steps == T
    idx = hk.steps
    np.testing.assert_allclose(hk.loss, h1.loss[idx], rtol=1e-14)
    np.testing.assert_allclose(hk.lip_product, h1.lip_product[idx], rtol=1e-14)
    for g in GROUPS:
        # accumulated at every step, whatever log_every
        np.testing.assert_allclose(hk.path_length[g], h1.path_length[g][idx], rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(hk.lr[g], h1.lr[g][idx], rtol=0)
        np.testing.assert_allclose(hk.step_length[g], h1.step_length[g][idx], rtol=1e-14)
    for k in h1.norms:
        np.testing.assert_allclose(hk.norms[k], h1.norms[k][idx], rtol=1e-14)
    _assert_same_params(tk, t1, rtol=1e-14)


def test_history_member_and_to_frame():
    x, y = make_data(15, 2, seed=9)
    ens = lipnb.TwoLayerNet.init(2, 5, activation="relu", seed=0, ensemble=3)
    T = 10
    _, h = lipnb.train(ens, x, y, [S.constant(0.1), S.constant(0.05), S.constant(0.02)], steps=T)
    assert isinstance(h.final_loss, np.ndarray) and h.final_loss.shape == (3,)
    hm = h.member(1)
    assert hm.ensemble is None and hm.loss.shape == (T + 1,) and isinstance(hm.final_loss, float)
    np.testing.assert_array_equal(hm.loss, h.loss[:, 1])
    np.testing.assert_array_equal(hm.norms["A_op"], h.norms["A_op"][:, 1])
    np.testing.assert_array_equal(hm.path_length["B"], h.path_length["B"][:, 1])
    assert hm.schedules == [h.schedules[1]] and "0.05" in hm.schedules[0]
    assert (hm.width, hm.d, hm.n_train, hm.loss_name) == (h.width, h.d, h.n_train, h.loss_name)
    np.testing.assert_array_equal(h.member(-1).loss, h.loss[:, 2])
    assert hm.member(0) is hm

    df = h.to_frame()
    assert len(df) == 3 * (T + 1)
    expected_cols = {"member", "step", "loss", "lip_product", "grad_norm"}
    expected_cols |= {f"{p}_{g}" for p in ("lr", "grad_norm", "step_length", "path_length") for g in GROUPS}
    expected_cols |= {f"norm_{k}" for k in ("A_op", "A_fro", "a", "B", "b")}
    assert expected_cols <= set(df.columns)
    for e in range(3):
        sub = df[df["member"] == e]
        np.testing.assert_array_equal(sub["step"].to_numpy(), np.arange(T + 1))
        np.testing.assert_array_equal(sub["loss"].to_numpy(), h.loss[:, e])
        np.testing.assert_array_equal(sub["path_length_A"].to_numpy(), h.path_length["A"][:, e])
        np.testing.assert_array_equal(sub["norm_B"].to_numpy(), h.norms["B"][:, e])

    _, hs = lipnb.train(ens.member(0), x, y, S.constant(0.1), steps=T)
    dfs = hs.to_frame()
    assert len(dfs) == T + 1 and set(dfs["member"]) == {0}
    np.testing.assert_array_equal(dfs["loss"].to_numpy(), hs.loss)


# ----------------------------------------------------------------------------------- (6) Path-length lemma


@pytest.mark.parametrize(
    "act_name, loss_name, sched",
    [
        ("relu", "mse", S.constant(0.2)),
        ("tanh", "huber", S.eventual_exponential(0.5, 50, 0.05)),
        ("gelu", "mse", S.eventual_polynomial(0.3, 20, 1.5)),
        ("leaky_relu", "huber", S.step(0.4, [100, 200], 0.3)),
    ],
)
def test_lemma_4_1_holds_along_runs(act_name, loss_name, sched):
    x, y = make_data(50, 3, seed=10)
    net = lipnb.TwoLayerNet.init(3, 24, activation=act_name, seed=2, ensemble=4)
    _, h = lipnb.train(net, x, y, sched, steps=300, loss=loss_name, delta=0.3)
    A, B = h.norms["A_op"], h.norms["B"]
    PA, PB = h.path_length["A"], h.path_length["B"]
    assert np.all(PA[-1] > 1e-3) and np.all(PB[-1] > 1e-3)  # the weights did move
    assert np.all(A <= A[0] + PA + 1e-12)
    assert np.all(B <= B[0] + PB + 1e-12)
    # the reverse triangle inequality too, and the Lipschitz form of the lemma
    assert np.all(A >= A[0] - PA - 1e-12) and np.all(B >= B[0] - PB - 1e-12)
    L = h.lipschitz_activation
    assert np.all(h.lip_product <= L * (A[0] + PA) * (B[0] + PB) * (1 + 1e-12))


# ----------------------------------------------------------------------------------- (7) adaptive (Adaptive rule)


def test_adaptive_schedule_caps_the_step_length():
    x, y = make_data(40, 2, seed=11)
    net = lipnb.TwoLayerNet.init(2, 16, activation="tanh", seed=4, ensemble=3)
    tau, cap = 20, 0.5
    G = S.exponential_rate(0.05, 0.1)
    sched = S.adaptive(cap, start=tau, rate=G)
    T = 120
    _, h = lipnb.train(net, x, y, sched, steps=T, loss="huber", delta=1.0)
    total_step = np.sqrt(sum(h.step_length[g] ** 2 for g in GROUPS))  # (T + 1, E)
    t = np.arange(T + 1)
    after = t >= tau
    bound = G(t[after] - tau)[:, None]
    assert np.all(total_step[after] <= bound * (1 + 1e-12))
    # the rule itself: ᾱ before τ, min(ᾱ, G(t − τ)/‖∇R‖) after, the same α for every group
    for g in GROUPS:
        np.testing.assert_array_equal(h.lr[g][~after], cap)
        np.testing.assert_allclose(h.lr[g], h.lr["A"], rtol=0)
    for s in range(T + 1):
        for e in range(3):
            assert h.lr["A"][s, e] == pytest.approx(sched.lr(s, float(h.grad_norm_total[s, e])), rel=1e-13)
    assert np.any(h.lr["A"][after] < cap)  # the cap was active: a real test of the rule
    # LR-constraint theorem: after τ each group's path grows by at most Γ
    for g in GROUPS:
        assert np.all(h.path_length[g][-1] - h.path_length[g][tau] <= G.gamma * (1 + 1e-12))


def test_adaptive_and_plain_schedules_per_member():
    x, y = make_data(30, 2, seed=12)
    ens = lipnb.TwoLayerNet.init(2, 8, activation="sigmoid", seed=0, ensemble=2)
    ada = S.adaptive(1.0, start=5, rate=S.polynomial_rate(0.02, 2.0))
    plain = S.constant(1.0)
    trained, h = lipnb.train(ens, x, y, [ada, plain], steps=40)
    np.testing.assert_array_equal(h.lr["B"][:, 1], 1.0)
    a0, ha = lipnb.train(ens.member(0), x, y, ada, steps=40)
    _assert_same_params(trained.member(0), a0, rtol=1e-11)
    np.testing.assert_allclose(h.lr["A"][:, 0], ha.lr["A"], rtol=1e-11)


# ----------------------------------------------------------------------------------- (8) divergence


def test_divergence_names_the_step_and_the_member():
    x, y = make_data(20, 2, seed=13)
    ens = lipnb.TwoLayerNet.init(2, 8, activation="tanh", seed=0, ensemble=4)
    ok, huge = S.constant(0.01), S.constant(1e8)
    with pytest.raises(lipnb.TrainingDiverged) as info:
        lipnb.train(ens, x, y, [ok, ok, huge, ok], steps=500)
    exc = info.value
    assert isinstance(exc, lipnb.LipnbError) and isinstance(exc, FloatingPointError)
    assert exc.member == 2
    k = exc.step
    assert 2 <= k <= 500
    assert f"step {k}" in str(exc) and "member 2" in str(exc)

    # k is the first step with a non-finite loss: k − 1 steps of member 2 alone run and stay finite ...
    _, h = lipnb.train(ens.member(2), x, y, huge, steps=k - 1)
    assert np.all(np.isfinite(h.loss))
    assert exc.loss == pytest.approx(h.loss[-1], rel=1e-12)  # ... and the last finite loss is reported
    # ... while k steps (and more) diverge at k, also alone (then as member 0) and whatever log_every
    for steps, log_every in [(k, 1), (500, 1), (500, 100)]:
        with pytest.raises(lipnb.TrainingDiverged) as info_alone:
            lipnb.train(ens.member(2), x, y, huge, steps=steps, log_every=log_every)
        assert (info_alone.value.step, info_alone.value.member) == (k, 0)
    with pytest.raises(lipnb.TrainingDiverged) as info_logged:
        lipnb.train(ens, x, y, [ok, ok, huge, ok], steps=500, log_every=100)
    assert (info_logged.value.step, info_logged.value.member) == (k, 2)


@pytest.mark.parametrize("kind", ["two-layer", "mlp"])
@pytest.mark.parametrize("first_bad", [1, 63, 64, 65, 128, 129])
def test_divergence_step_is_exact_at_every_position_of_the_check_window(first_bad, kind):
    """The trainers look for a non-finite loss only every few steps; the step they name must still be the
    first non-finite one, and the loss reported the one just before, wherever the step falls."""
    x, y = make_data(20, 2, seed=13)
    ens = (
        lipnb.TwoLayerNet.init(2, 8, activation="tanh", seed=0, ensemble=3)
        if kind == "two-layer"
        else lipnb.MLP.init(2, [8, 8], "tanh", seed=0, ensemble=3)
    )
    # α = 0.01 up to step first_bad − 2, then 1e300: θ_{first_bad} overflows, so R(θ_{first_bad}) is inf.
    blow_up = S.step(0.01, [first_bad - 1], factor=1e302) if first_bad > 1 else S.constant(1e300)
    ok = S.constant(0.01)
    with pytest.raises(lipnb.TrainingDiverged) as info:
        lipnb.train(ens, x, y, [ok, blow_up, ok], steps=300, log_every=7)
    assert (info.value.step, info.value.member) == (first_bad, 1)
    if first_bad == 1:
        last = float(lipnb.mse(ens.member(1)(x).reshape(-1), y))  # R(θ_0)
    else:
        _, h = lipnb.train(ens.member(1), x, y, blow_up, steps=first_bad - 1)
        assert np.all(np.isfinite(h.loss))
        last = h.loss[-1]
    assert info.value.loss == pytest.approx(last, rel=1e-12)


def test_the_first_member_to_diverge_is_reported():
    """Member 0 diverges too, but later than member 2: the error names member 2 and its step."""
    x, y = make_data(20, 2, seed=13)
    ens = lipnb.TwoLayerNet.init(2, 8, activation="tanh", seed=0, ensemble=3)
    scheds = [S.constant(1e5), S.constant(0.01), S.constant(1e12)]
    alone = {}
    for e in (0, 2):
        with pytest.raises(lipnb.TrainingDiverged) as info_e:
            lipnb.train(ens.member(e), x, y, scheds[e], steps=300)
        alone[e] = info_e.value.step
    assert alone[2] < alone[0]
    with pytest.raises(lipnb.TrainingDiverged) as info:
        lipnb.train(ens, x, y, scheds, steps=300)
    assert (info.value.member, info.value.step) == (2, alone[2])


@pytest.mark.parametrize("act_name", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("loss_name", ["mse", "huber"])
def test_huge_learning_rates_never_return_nan(act_name, loss_name):
    """A run either raises TrainingDiverged or returns finite weights, finite losses and a NaN-free history
    (a norm may overflow to inf when the weights are ~1e200, but it is never NaN)."""
    x, y = make_data(20, 2, seed=14)
    net = lipnb.TwoLayerNet.init(2, 8, activation=act_name, seed=1, ensemble=2)
    for lr in (1e1, 1e3, 1e6, 1e12, 1e200):
        try:
            trained, h = lipnb.train(net, x, y, S.constant(lr), steps=100, loss=loss_name, log_every=7)
        except lipnb.TrainingDiverged as exc:
            assert 1 <= exc.step <= 100 and exc.member in (0, 1)
            continue
        assert np.all(np.isfinite(h.loss)), lr
        for g in GROUPS:
            assert bool(torch.isfinite(trained.parameters()[g]).all()), (lr, g)
        arrays = [
            h.lip_product,
            h.grad_norm_total,
            *h.norms.values(),
            *h.path_length.values(),
            *h.step_length.values(),
            *h.grad_norm.values(),
        ]
        assert not any(np.isnan(a).any() for a in arrays), f"NaN in the history of a finite run (lr={lr:g})"


# ----------------------------------------------------------------------------------- (9) inputs


def test_accepts_numpy_inputs_and_column_targets():
    x, y = make_data(25, 3, seed=15)
    net = lipnb.TwoLayerNet.init(3, 6, activation="tanh", seed=0)
    sched = S.constant(0.1)
    ref, href = lipnb.train(net, x, y, sched, steps=20)
    for xx, yy in [(x.numpy(), y.numpy()), (x, y[:, None]), (x.numpy(), y.numpy()[:, None]), (x.tolist(), y.tolist())]:
        got, h = lipnb.train(net, xx, yy, sched, steps=20)
        _assert_same_params(got, ref, rtol=0)
        np.testing.assert_array_equal(h.loss, href.loss)
        assert h.n_train == 25


def test_float32_network_trains_in_float32():
    x, y = make_data(25, 2, seed=16)
    net = lipnb.TwoLayerNet.init(2, 6, activation="tanh", seed=0, dtype=torch.float32)
    trained, h = lipnb.train(net, x, y, S.constant(0.1), steps=30)
    assert trained.dtype == torch.float32
    _, h64 = lipnb.train(net.to(dtype=torch.float64), x, y, S.constant(0.1), steps=30)
    np.testing.assert_allclose(h.loss, h64.loss, rtol=1e-4)


def test_progress_bar_does_not_change_the_result():
    x, y = make_data(10, 1, seed=17)
    net = lipnb.TwoLayerNet.init(1, 4, seed=0)
    t1, _ = lipnb.train(net, x, y, S.constant(0.1), steps=250, progress=True)
    t2, _ = lipnb.train(net, x, y, S.constant(0.1), steps=250)
    _assert_same_params(t1, t2, rtol=0)


def test_schedule_that_underflows_to_zero_still_trains():
    """α_t = lr e^{−r(t−τ)} is a valid schedule for every T, also once it underflows to 0.0 in float64:
    training must then simply stop moving, not refuse the schedule."""
    x, y = make_data(20, 2, seed=18)
    net = lipnb.TwoLayerNet.init(2, 6, activation="tanh", seed=0)
    sched = S.eventual_exponential(0.1, start=5, rate=5.0)  # e^{−5·150} underflows to 0
    assert sched.values(200)[-1] == 0.0 and math.isfinite(sched.lr_sum)
    trained, h = lipnb.train(net, x, y, sched, steps=200)
    for g in GROUPS:
        assert h.path_length[g][-1] == pytest.approx(h.path_length[g][160], rel=1e-15)
    assert np.all(np.isfinite(h.loss))
