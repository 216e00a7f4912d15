"""Schedules: values of every schedule, optax's join semantics, the rate function G and Γ in closed form
against long numerical partial sums, total(T), and the adaptive rule of Adaptive rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lipnb import schedules as S


def test_constant():
    s = S.constant(0.3)
    np.testing.assert_array_equal(s.values(6), np.full(6, 0.3))
    assert s(0) == 0.3 and s(10**6) == 0.3
    assert s.start == 0 and s.G(0) == 0.3 and s.G(1000) == 0.3
    assert s.total(10) == pytest.approx(3.0, rel=1e-15)
    assert not s.rate_function.summable
    with pytest.raises(ValueError, match="not summable"):
        s.lr_sum
    with pytest.raises(ValueError, match="not summable"):
        s.total(None)
    assert not s.needs_grad_norm


def test_exponential_values_and_gamma():
    lr, r = 0.5, 0.01
    s = S.exponential(lr, r)
    t = np.arange(50)
    np.testing.assert_allclose(s.values(50), lr * np.exp(-r * t), rtol=1e-15)
    assert s(7) == pytest.approx(lr * math.exp(-0.07), rel=1e-15)
    assert s.start == 0
    np.testing.assert_allclose(s.G(t), s.values(50), rtol=1e-15)
    # Γ = lr / (1 − e^{−r}) against a 10^6-term partial sum (the tail lr e^{−10^4}/(1 − e^{−r}) is 0)
    k = np.arange(10**6, dtype=np.float64)
    numeric = math.fsum(lr * np.exp(-r * k))
    assert s.lr_sum == pytest.approx(lr / (1 - math.exp(-r)), rel=1e-14)
    assert s.lr_sum == pytest.approx(numeric, rel=1e-12)
    assert s.rate_function.partial_sum(10**6) == pytest.approx(numeric, rel=1e-12)
    assert s.total(None) == pytest.approx(s.lr_sum, rel=1e-15)
    assert s.total(10**6) == pytest.approx(numeric, rel=1e-12)


def test_eventual_exponential():
    lr, tau, r = 0.2, 10, 0.5
    s = S.eventual_exponential(lr, start=tau, rate=r)
    v = s.values(40)
    np.testing.assert_array_equal(v[:tau], np.full(tau, lr))
    np.testing.assert_allclose(v[tau:], lr * np.exp(-r * np.arange(40 - tau)), rtol=1e-15)
    assert s.start == tau
    # G(k) = α_{τ+k}
    k = np.arange(30)
    np.testing.assert_allclose(s.G(k), v[tau + k], rtol=1e-15)
    assert s.G(0) == lr
    gamma = lr / (1 - math.exp(-r))
    assert s.lr_sum == pytest.approx(gamma, rel=1e-14)
    assert s.lr_sum == pytest.approx(math.fsum(lr * np.exp(-r * np.arange(10**5))), rel=1e-13)
    # Σ_t α_t = τ lr + Γ; Σ_{t<T} α_t as a plain sum
    assert s.total(None) == pytest.approx(tau * lr + gamma, rel=1e-14)
    assert s.total(40) == pytest.approx(math.fsum(v), rel=1e-14)
    assert s.total(tau) == pytest.approx(tau * lr, rel=1e-14)
    assert s.total(0) == 0.0


def test_eventual_exponential_with_start_zero_is_exponential():
    np.testing.assert_allclose(
        S.eventual_exponential(0.1, 0, 0.3).values(30), S.exponential(0.1, 0.3).values(30), rtol=1e-15
    )


@pytest.mark.parametrize("q, zeta_q", [(2.0, math.pi**2 / 6), (3.0, 1.2020569031595942), (4.0, math.pi**4 / 90)])
def test_eventual_polynomial(q, zeta_q):
    lr, tau = 0.3, 5
    s = S.eventual_polynomial(lr, start=tau, power=q)
    v = s.values(30)
    np.testing.assert_array_equal(v[:tau], np.full(tau, lr))
    np.testing.assert_allclose(v[tau:], lr * (np.arange(30 - tau) + 1.0) ** (-q), rtol=1e-15)
    np.testing.assert_allclose(s.G(np.arange(25)), v[tau:], rtol=1e-15)
    assert s.lr_sum == pytest.approx(lr * zeta_q, rel=1e-14)
    # 10^6-term partial sum: 0 ≤ Γ − Σ_{k<n} G(k) ≤ lr ∫_n^∞ x^{−q} dx = lr n^{1−q}/(q − 1)
    n = 10**6
    partial = math.fsum(lr * (np.arange(n, dtype=np.float64) + 1.0) ** (-q))
    assert 0 <= s.lr_sum - partial <= lr * n ** (1 - q) / (q - 1) * (1 + 1e-9) + 1e-15
    assert s.rate_function.partial_sum(n) == pytest.approx(partial, rel=1e-12)
    assert s.total(None) == pytest.approx(tau * lr + lr * zeta_q, rel=1e-14)


def test_step_schedule():
    lr = 0.8
    s = S.step(lr, boundaries=[10, 20], factor=0.5)
    v = s.values(30)
    np.testing.assert_allclose(v, np.r_[np.full(10, lr), np.full(10, lr / 2), np.full(10, lr / 4)], rtol=1e-15)
    assert s(9) == lr and s(10) == lr / 2 and s(19) == lr / 2 and s(20) == lr / 4 and s(10**5) == lr / 4
    assert s.start == 20 and s.G(0) == lr / 4 and s.G(100) == lr / 4
    with pytest.raises(ValueError, match="not summable"):
        s.lr_sum
    assert s.total(30) == pytest.approx(10 * lr * (1 + 0.5 + 0.25), rel=1e-15)
    np.testing.assert_array_equal(S.step(0.1, []).values(5), np.full(5, 0.1))
    assert S.step(0.1, [3], factor=2.0)(3) == pytest.approx(0.2, rel=1e-15)


def test_join_counts_each_schedule_from_its_boundary():
    """optax.join_schedules semantics: schedule i sees step t − b_{i−1} on [b_{i−1}, b_i)."""
    s1 = S.constant(0.1)
    s2 = S.exponential(0.2, 0.5)
    s3 = S.eventual_polynomial(0.05, start=3, power=2.0)
    j = S.join([s1, s2, s3], boundaries=[10, 30])
    v = j.values(60)
    t = np.arange(60)
    np.testing.assert_allclose(v[:10], s1.values(10), rtol=1e-15)
    np.testing.assert_allclose(v[10:30], [s2(int(u) - 10) for u in t[10:30]], rtol=1e-15)
    np.testing.assert_allclose(v[30:], [s3(int(u) - 30) for u in t[30:]], rtol=1e-15)
    assert j(10) == s2(0) and j(30) == s3(0) and j(29) == s2(19)
    # decay start: last boundary + last schedule's start; rate function: the last schedule's
    assert j.start == 30 + 3
    np.testing.assert_allclose(j.G(np.arange(20)), v[33:53], rtol=1e-15)
    assert j.lr_sum == pytest.approx(0.05 * math.pi**2 / 6, rel=1e-14)
    assert j.total(None) == pytest.approx(math.fsum(v[:33]) + j.lr_sum, rel=1e-14)
    assert j.total(60) == pytest.approx(math.fsum(v), rel=1e-14)


def test_join_of_constant_then_exponential_is_eventual_exponential():
    j = S.join([S.constant(0.1), S.exponential(0.1, 0.2)], [15])
    e = S.eventual_exponential(0.1, 15, 0.2)
    np.testing.assert_allclose(j.values(80), e.values(80), rtol=1e-15)
    assert j.start == e.start and j.lr_sum == pytest.approx(e.lr_sum, rel=1e-15)
    assert j.total(None) == pytest.approx(e.total(None), rel=1e-14)


def test_join_with_a_non_summable_tail_is_not_summable():
    j = S.join([S.exponential(0.1, 0.2), S.constant(0.01)], [5])
    assert j(5) == 0.01 and j(4) == pytest.approx(0.1 * math.exp(-0.8), rel=1e-15)
    with pytest.raises(ValueError, match="not summable"):
        j.lr_sum


@pytest.mark.parametrize(
    "make",
    [
        lambda: S.constant(0.1),
        lambda: S.step(0.1, [5, 7]),
        lambda: S.exponential(0.1, 0.0),
        lambda: S.eventual_exponential(0.1, 4, 0.0),
        lambda: S.eventual_polynomial(0.1, 4, 1.0),
        lambda: S.eventual_polynomial(0.1, 4, 0.5),
        lambda: S.adaptive(0.1, 4, S.polynomial_rate(1.0, 1.0)),
    ],
    ids=["constant", "step", "exp-r0", "eventual-exp-r0", "poly-q1", "poly-q0.5", "adaptive-q1"],
)
def test_gamma_raises_for_non_summable_schedules(make):
    s = make()
    assert not s.rate_function.summable
    with pytest.raises(ValueError, match="not summable"):
        s.gamma if isinstance(s, S.AdaptiveSchedule) else s.lr_sum


def test_rate_functions():
    G = S.exponential_rate(2.0, 0.1)
    assert G(0) == 2.0 and G(3) == pytest.approx(2 * math.exp(-0.3), rel=1e-15)
    assert isinstance(G(3), float)
    np.testing.assert_allclose(G(np.arange(4)), 2 * np.exp(-0.1 * np.arange(4)), rtol=1e-15)
    assert G.gamma == pytest.approx(2 / (1 - math.exp(-0.1)), rel=1e-14)
    # a tiny rate: the closed form keeps its precision (expm1)
    assert S.exponential_rate(1.0, 1e-12).gamma == pytest.approx(1e12, rel=1e-6)
    P = S.polynomial_rate(1.5, 2.0)
    assert P(0) == 1.5 and P(1) == pytest.approx(1.5 / 4, rel=1e-15)
    assert P.gamma == pytest.approx(1.5 * math.pi**2 / 6, rel=1e-14)
    assert P.partial_sum(0) == 0.0 and P.partial_sum(2) == pytest.approx(1.5 * 1.25, rel=1e-15)
    with pytest.raises(ValueError, match="k must be a non-negative integer"):
        P(-1)
    with pytest.raises(ValueError, match="k must be a non-negative integer"):
        P(0.5)
    assert "exp" in repr(G)


@given(
    lr=st.floats(1e-4, 10.0),
    start=st.integers(0, 40),
    rate=st.floats(0.01, 3.0),
    horizon=st.integers(1, 200),
)
def test_eventual_exponential_property(lr, start, rate, horizon):
    s = S.eventual_exponential(lr, start, rate)
    n = start + horizon
    v = s.values(n)
    assert v.shape == (n,) and bool((v > 0).all())
    assert bool((np.diff(v) <= 0).all())  # non-increasing
    np.testing.assert_array_equal(v[:start], np.full(start, lr))
    np.testing.assert_allclose(s.G(np.arange(horizon)), v[start:], rtol=1e-15)
    assert s(n - 1) == v[-1]
    # partial sums increase to the whole series τ·lr + Γ, with Σ_{t≥τ+h} α_t = Γ e^{−rh}
    assert s.total(n) == pytest.approx(math.fsum(v), rel=1e-13)
    assert s.total(None) - s.total(n) == pytest.approx(s.lr_sum * math.exp(-rate * horizon), rel=1e-7, abs=1e-12 * lr)
    assert s.total(n) <= s.total(None) * (1 + 1e-14)


@given(
    lr1=st.floats(1e-3, 1.0),
    lr2=st.floats(1e-3, 1.0),
    boundary=st.integers(1, 50),
    start=st.integers(0, 10),
    power=st.floats(1.1, 4.0),
)
def test_join_property(lr1, lr2, boundary, start, power):
    first, second = S.constant(lr1), S.eventual_polynomial(lr2, start, power)
    j = S.join([first, second], [boundary])
    n = boundary + start + 20
    v = j.values(n)
    np.testing.assert_array_equal(v[:boundary], np.full(boundary, lr1))
    np.testing.assert_allclose(v[boundary:], second.values(n - boundary), rtol=1e-15)
    assert j.start == boundary + start
    assert j.lr_sum == second.lr_sum
    assert j.total(None) == pytest.approx(boundary * lr1 + second.total(None), rel=1e-12)


# ----------------------------------------------------------------------------------- adaptive (Adaptive rule)


def test_adaptive_caps_and_rule():
    G = S.exponential_rate(0.1, 0.2)
    s = S.adaptive(0.5, start=10, rate=G)
    assert s.needs_grad_norm and s.max_lr == 0.5 and s.start == 10
    caps = s.caps(20)
    assert np.isinf(caps[:10]).all()
    np.testing.assert_allclose(caps[10:], 0.1 * np.exp(-0.2 * np.arange(10)), rtol=1e-15)
    # before τ: the cap ᾱ whatever the gradient
    assert s.lr(0, 1e6) == 0.5 and s.lr(9, 1e-9) == 0.5
    # after τ: min(ᾱ, G(t − τ)/‖∇R‖)
    assert s.lr(10, 1.0) == pytest.approx(0.1, rel=1e-15)  # G(0)/1 < ᾱ
    assert s.lr(10, 0.01) == 0.5  # G(0)/0.01 = 10 > ᾱ
    assert s.lr(13, 2.0) == pytest.approx(0.1 * math.exp(-0.6) / 2, rel=1e-15)
    assert s.lr(13, 0.0) == 0.5  # a zero gradient takes no step whatever α is
    for t in range(10, 40):
        for gn in (1e-3, 0.3, 1.0, 50.0):
            assert s.lr(t, gn) * gn <= G(t - 10) * (1 + 1e-15)  # step length ≤ G(t − τ)
            assert s.lr(t, gn) <= 0.5
    assert s.G(3) == G(3) and s.gamma == G.gamma
    np.testing.assert_array_equal(s.values(5), np.full(5, 0.5))


def test_adaptive_cannot_be_called_without_a_gradient_norm():
    s = S.adaptive(0.5, 0, S.polynomial_rate(1.0, 2.0))
    with pytest.raises(TypeError, match="grad"):
        s(3)
    with pytest.raises(TypeError):
        s.total(10)


def test_repr_names_the_parameters():
    assert "eventual_exponential(lr=0.1, start=5, rate=0.2)" in repr(S.eventual_exponential(0.1, 5, 0.2))
    assert "boundaries=[3]" in repr(S.join([S.constant(0.1), S.constant(0.2)], [3]))


def test_one_gamma_plain_schedules_have_lr_sum_adaptive_ones_have_the_budget():
    """Γ means one thing, the budget of the LR-constraint theorem (a distance): a plain schedule has the sum
    of its learning rates, ``lr_sum``, and no ``gamma``; the adaptive rule has Γ = Σ_k G(k) and no ``lr_sum``."""
    plain = S.eventual_exponential(0.1, 10, 0.5)
    assert plain.lr_sum == pytest.approx(0.1 / (1 - math.exp(-0.5)), rel=1e-14)
    assert not hasattr(plain, "gamma")
    ad = S.adaptive(0.1, 0, S.exponential_rate(0.2, 0.5))
    assert ad.gamma == pytest.approx(0.2 / (1 - math.exp(-0.5)), rel=1e-14)
    with pytest.raises(TypeError, match="depend on the run"):
        ad.lr_sum


def test_warmup_cosine_values_against_the_formula():
    lr, W, T, lo, end = 0.4, 20, 220, 0.02, 0.01
    s = S.warmup_cosine(lr, warmup=W, steps=T, init_lr=lo, end_lr=end)
    t = np.arange(300)
    expected = np.where(
        t < W, lo + (lr - lo) * t / W, end + (lr - end) * 0.5 * (1 + np.cos(np.pi * np.minimum(t - W, T - W) / (T - W)))
    )
    np.testing.assert_allclose(s.values(300), expected, rtol=1e-14, atol=0)
    assert s(0) == lo and s(W) == pytest.approx(lr, rel=1e-15) and s(T) == pytest.approx(end, rel=1e-12)
    assert s(10**6) == pytest.approx(end, rel=1e-12)
    v = s.values(T + 1)
    assert (np.diff(v[: W + 1]) > 0).all() and (np.diff(v[W:]) < 0).all()  # rises to the peak, then decays
    assert s.start == W
    np.testing.assert_allclose(s.G(np.arange(50)), v[W : W + 50], rtol=1e-15)
    assert not s.rate_function.summable  # end_lr > 0: the rates never sum


def test_warmup_cosine_gamma_and_total_in_closed_form():
    lr, W, T = 0.3, 7, 107
    s = S.warmup_cosine(lr, W, T)
    D = T - W
    numeric = math.fsum(s.values(5 * T))
    assert s.rate_function.gamma == pytest.approx(lr * (D + 1) / 2, rel=1e-14)  # Σ_{k≤D} cos(πk/D) = 0
    assert s.rate_function.gamma == pytest.approx(math.fsum(s.G(np.arange(5 * D))), rel=1e-13)
    assert s.total(None) == pytest.approx(numeric, rel=1e-13)
    assert s.total(None) == pytest.approx(lr * (W - 1) / 2 + lr * (D + 1) / 2, rel=1e-14)
    assert s.total(T) == pytest.approx(numeric, rel=1e-13)  # nothing is added after T
    s0 = S.warmup_cosine(lr, 0, 10)
    assert s0(0) == lr and s0.total(None) == pytest.approx(lr * 11 / 2, rel=1e-14)


def test_warmup_cosine_rejects_bad_arguments_by_name():
    with pytest.raises(ValueError, match="steps"):
        S.warmup_cosine(0.1, 10, 10)
    with pytest.raises(ValueError, match="lr"):
        S.warmup_cosine(0.0, 1, 10)
    with pytest.raises(ValueError, match="init_lr"):
        S.warmup_cosine(0.1, 1, 10, init_lr=-0.1)
    with pytest.raises(ValueError, match="end_lr"):
        S.warmup_cosine(0.1, 1, 10, end_lr=-1.0)
    with pytest.raises(TypeError, match="warmup"):
        S.warmup_cosine(0.1, 2.5, 10)
