"""Data sets of the book: shapes, ranges, noise levels, determinism by seed, standardization."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import lipnb
from lipnb import data


def _equal(d1, d2) -> bool:
    return all(torch.equal(getattr(d1, k), getattr(d2, k)) for k in ("x_train", "y_train", "x_test", "y_test"))


# ----------------------------------------------------------------------------------- E1: noisy sine


def test_noisy_sine_shapes_and_range():
    ds = data.noisy_sine()
    assert ds.x_train.shape == (64, 1) and ds.y_train.shape == (64,)
    assert ds.x_test.shape == (2000, 1) and ds.y_test.shape == (2000,)
    assert all(t.dtype == torch.float64 for t in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    assert (ds.d, ds.n_train, ds.n_test) == (1, 64, 2000) and ds.noise == 0.1
    for x in (ds.x_train, ds.x_test):
        assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert ds.x_radius <= 1.0 and ds.x_radius == pytest.approx(float(ds.x_train.abs().max()), rel=1e-15)
    assert ds.y_bound == float(ds.y_train.abs().max())  # the training labels only, never the test labels
    # inputs uniform on [−1, 1]: mean 0, variance 1/3
    assert abs(float(ds.x_test.mean())) < 5 * math.sqrt(1 / 3 / 2000)
    assert float(ds.x_test.var()) == pytest.approx(1 / 3, rel=0.1)
    assert "noisy_sine" in repr(ds)


def test_noisy_sine_target_and_noise_level():
    ds = data.noisy_sine(n_train=64, n_test=20000, noise=0.1, seed=3)
    torch.testing.assert_close(ds.target(ds.x_test), torch.sin(2 * math.pi * ds.x_test[:, 0]), rtol=0, atol=0)
    resid = ds.y_test - ds.target(ds.x_test)
    assert float(resid.std()) == pytest.approx(0.1, rel=0.05)
    assert abs(float(resid.mean())) < 5 * 0.1 / math.sqrt(20000)
    resid_train = ds.y_train - ds.target(ds.x_train)
    assert float(resid_train.std()) == pytest.approx(0.1, rel=0.35)  # 64 samples


def test_noisy_sine_options():
    clean = data.noisy_sine(n_train=10, n_test=5, noise=0.0)
    torch.testing.assert_close(clean.y_train, clean.target(clean.x_train), rtol=0, atol=0)
    assert clean.n_train == 10 and clean.n_test == 5
    fast = data.noisy_sine(noise=0.0, frequency=2.0)
    torch.testing.assert_close(fast.y_test, torch.sin(4 * math.pi * fast.x_test[:, 0]), rtol=0, atol=1e-15)


def test_noisy_sine_determinism():
    assert _equal(data.noisy_sine(seed=5), data.noisy_sine(seed=5))
    d1, d2 = data.noisy_sine(seed=5), data.noisy_sine(seed=6)
    assert not torch.equal(d1.x_train, d2.x_train) and not torch.equal(d1.y_test, d2.y_test)
    # training and test points are distinct draws
    assert not torch.equal(d1.x_train[:, 0], d1.x_test[:64, 0])


# ----------------------------------------------------------------------------------- E2: teacher


@pytest.mark.parametrize("d", [1, 2, 5])
def test_teacher_inputs_in_the_unit_ball_and_unit_target_std(d):
    ds = data.teacher(d, n_train=4000, n_test=500, seed=1)
    assert ds.x_train.shape == (4000, d) and ds.y_train.shape == (4000,)
    assert ds.x_test.shape == (500, d) and ds.d == d
    r = ds.x_train.norm(dim=1)
    assert float(r.max()) <= 1.0 + 1e-15 and ds.x_radius <= 1.0 + 1e-15
    # uniform in the ball: ‖x‖^d ~ U(0, 1) (mean 1/2, variance 1/12); directions isotropic
    assert float((r**d).mean()) == pytest.approx(0.5, abs=5 * math.sqrt(1 / 12 / 4000))
    assert float(ds.x_train.mean(dim=0).abs().max()) < 0.06
    # the teacher's outputs are scaled to unit standard deviation on the training inputs
    target_train = ds.target(ds.x_train)
    assert float(target_train.std()) == pytest.approx(1.0, rel=1e-12)
    assert float(ds.target(ds.x_test).std()) == pytest.approx(1.0, rel=0.2)
    assert float(ds.y_train.std()) == pytest.approx(math.sqrt(1 + 0.1**2), rel=0.05)
    assert float((ds.y_train - target_train).std()) == pytest.approx(0.1, rel=0.1)


def test_teacher_is_the_documented_network():
    d, seed = 3, 4
    ds = data.teacher(d, n_train=50, n_test=10, width=8, activation="tanh", noise=0.0, seed=seed)
    net = lipnb.TwoLayerNet.init(d, 8, activation="tanh", seed=seed + 10_000)
    raw = net(ds.x_train)
    torch.testing.assert_close(ds.y_train, raw / raw.std(), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(ds.y_test, net(ds.x_test) / raw.std(), rtol=1e-13, atol=1e-13)
    assert ds.noise == 0.0


def test_teacher_determinism():
    assert _equal(data.teacher(2, seed=7), data.teacher(2, seed=7))
    d1, d2 = data.teacher(2, seed=7), data.teacher(2, seed=8)
    assert not torch.equal(d1.x_train, d2.x_train) and not torch.equal(d1.y_train, d2.y_train)


# ----------------------------------------------------------------------------------- E3: diabetes


@pytest.mark.parametrize("frac", [0.25, 0.5, 0.1])
def test_diabetes_split_and_standardization(frac):
    ds = data.diabetes(test_fraction=frac, seed=0)
    assert ds.d == 10 and ds.target is None and ds.noise == 0.0
    assert ds.n_train + ds.n_test == 442
    assert ds.n_test == int(round(frac * 442))
    assert ds.x_train.shape == (ds.n_train, 10) and ds.y_test.shape == (ds.n_test,)
    # the training split is standardized with its own statistics (population std, ddof = 0)
    np.testing.assert_allclose(ds.x_train.mean(dim=0).numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(dim=0, correction=0).numpy(), 1.0, rtol=1e-12)
    assert float(ds.y_train.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(ds.y_train.std(correction=0)) == pytest.approx(1.0, rel=1e-12)
    # the test split uses the training statistics: close to, not exactly, standardized
    assert float(ds.x_test.mean(dim=0).abs().max()) < 0.5
    assert float(ds.x_test.mean(dim=0).abs().max()) > 1e-6


def _affine_preimage(std: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Map standardized values back to raw ones, given that std = (raw − μ)/s for some μ and s > 0 and that
    both hold the same samples: the sorted distinct values then correspond one to one."""
    u_std, u_raw = np.unique(std), np.unique(raw)
    assert u_std.size == u_raw.size
    s, mu = np.polyfit(u_std, u_raw, 1)
    np.testing.assert_allclose(u_std * s + mu, u_raw, rtol=0, atol=1e-8 * np.abs(u_raw).max())
    return std * s + mu


def test_diabetes_rows_are_sklearns_with_inputs_and_targets_aligned():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, scaled=False)
    ds = data.diabetes(seed=0)
    # every one of sklearn's 442 rows appears exactly once (inputs and target together), up to the
    # per-column affine standardization
    x_all = torch.cat([ds.x_train, ds.x_test]).numpy()
    y_all = torch.cat([ds.y_train, ds.y_test]).numpy()
    back = np.c_[
        np.column_stack([_affine_preimage(x_all[:, j], X[:, j]) for j in range(10)]), _affine_preimage(y_all, y)
    ]
    got = np.array(sorted(map(tuple, np.round(back, 6))))
    expected = np.array(sorted(map(tuple, np.round(np.c_[X, y], 6))))
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-6)
    # a linear model fitted on the training split predicts the test split (R² ≈ 0.5 on this data set)
    Xtr = np.c_[ds.x_train.numpy(), np.ones(ds.n_train)]
    w, *_ = np.linalg.lstsq(Xtr, ds.y_train.numpy(), rcond=None)
    pred = np.c_[ds.x_test.numpy(), np.ones(ds.n_test)] @ w
    yte = ds.y_test.numpy()
    r2 = 1 - ((yte - pred) ** 2).sum() / ((yte - yte.mean()) ** 2).sum()
    assert 0.3 < r2 < 0.7


def test_diabetes_determinism():
    assert _equal(data.diabetes(seed=0), data.diabetes(seed=0))
    d1, d2 = data.diabetes(seed=0), data.diabetes(seed=1)
    assert d1.n_test == d2.n_test and not torch.equal(d1.y_test, d2.y_test)


# ----------------------------------------------------------------------------------- three-way splits


def test_validation_split_divides_the_held_out_part_and_keeps_the_training_part():
    ds = data.diabetes(test_fraction=0.4, seed=3)
    val, test = data.validation_split(ds, 88)
    assert (val.n_test, test.n_test) == (88, ds.n_test - 88)
    for part in (val, test):
        assert part.x_train is ds.x_train and part.y_train is ds.y_train and part.name == ds.name
    assert torch.equal(torch.cat([val.x_test, test.x_test]), ds.x_test)
    assert torch.equal(torch.cat([val.y_test, test.y_test]), ds.y_test)
    # the standardization is the training part's alone: exact there, approximate on validation and test
    np.testing.assert_allclose(val.x_train.mean(dim=0).numpy(), 0.0, atol=1e-12)
    assert float(val.x_test.mean(dim=0).abs().max()) > 1e-6 and float(test.x_test.mean(dim=0).abs().max()) > 1e-6
    with pytest.raises(ValueError, match="n_val"):
        data.validation_split(ds, ds.n_test)
    with pytest.raises(ValueError, match="n_val"):
        data.validation_split(ds, 0)
    with pytest.raises(TypeError, match="Dataset"):
        data.validation_split(ds.x_train, 5)


# ----------------------------------------------------------------------------------- Friedman #1


def test_friedman1_shapes_standardization_and_determinism():
    ds = data.friedman1(n_train=300, n_test=700, noise=1.0, seed=4)
    assert ds.x_train.shape == (300, 10) and ds.y_train.shape == (300,) and ds.x_test.shape == (700, 10)
    assert all(t.dtype == torch.float64 for t in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    np.testing.assert_allclose(ds.x_train.mean(dim=0).numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(dim=0, correction=0).numpy(), 1.0, rtol=1e-12)
    assert float(ds.y_train.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(ds.y_train.std(correction=0)) == pytest.approx(1.0, rel=1e-12)
    assert float(ds.x_test.mean(dim=0).abs().max()) > 1e-4  # held-out points use the training statistics
    # U[0, 1] inputs standardized: within (0 − μ)/s and (1 − μ)/s, about ±√3
    assert float(ds.x_train.abs().max()) < 1.9
    # the noise in standardized units is what the residuals show
    resid = ds.y_test - ds.target(ds.x_test)
    assert float(resid.std()) == pytest.approx(ds.noise, rel=0.1)
    assert _equal(data.friedman1(50, 20, seed=4), data.friedman1(50, 20, seed=4))
    assert not torch.equal(data.friedman1(50, 20, seed=4).x_train, data.friedman1(50, 20, seed=5).x_train)


def test_friedman1_standardization_uses_the_training_part_only():
    # the training points are drawn first and the statistics come from them alone: the size of the
    # held-out part changes neither the training part nor the held-out points it shares
    small, large = data.friedman1(n_train=80, n_test=10, seed=2), data.friedman1(n_train=80, n_test=500, seed=2)
    assert torch.equal(small.x_train, large.x_train) and torch.equal(small.y_train, large.y_train)
    torch.testing.assert_close(small.x_test, large.x_test[:10], rtol=0, atol=0)
    noiseless = data.friedman1(n_train=80, n_test=30, noise=0.0, seed=2)
    torch.testing.assert_close(noiseless.y_test, noiseless.target(noiseless.x_test), rtol=0, atol=1e-12)
    assert noiseless.noise == 0.0
    with pytest.raises(ValueError, match="n_train"):
        data.friedman1(n_train=1, n_test=5)


def test_friedman1_function_is_sklearns():
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=200, n_features=10, noise=0.0, random_state=0)
    torch.testing.assert_close(data.friedman1_function(torch.as_tensor(X)), torch.as_tensor(y), rtol=1e-13, atol=1e-12)


def _grad_norms(fn, x):
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g.norm(dim=1)


def test_friedman1_lipschitz_bound_holds_on_sampled_gradients_and_is_attained():
    L = data.FRIEDMAN1_LIPSCHITZ
    assert L == pytest.approx(math.sqrt(200 * math.pi**2 + 525), rel=1e-15) and 49.98 < L < 50.0
    g = torch.Generator().manual_seed(0)
    x = torch.rand(20000, 10, generator=g, dtype=torch.float64)
    norms = _grad_norms(data.friedman1_function, x)
    assert float(norms.max()) <= L * (1 + 1e-12)
    # near the corner x1 = x2 = 1, x3 = 0 the samples come close; at the corner the bound is attained
    corner = torch.tensor([[1.0, 1.0, 0.0] + [0.5] * 7], dtype=torch.float64)
    assert float(_grad_norms(data.friedman1_function, corner)[0]) == pytest.approx(L, rel=1e-12)
    near = corner + 0.01 * (torch.rand(500, 10, generator=g, dtype=torch.float64) - 0.5)
    near[:, :2] = near[:, :2].clamp(max=1.0)
    near[:, 2] = near[:, 2].clamp(min=0.0)
    assert float(_grad_norms(data.friedman1_function, near).max()) > 0.99 * L
    # difference quotients of random pairs stay below L
    a, b = (
        torch.rand(5000, 10, generator=g, dtype=torch.float64),
        torch.rand(5000, 10, generator=g, dtype=torch.float64),
    )
    ratio = (data.friedman1_function(a) - data.friedman1_function(b)).abs() / (a - b).norm(dim=1)
    assert float(ratio.max()) <= L


def test_friedman1_target_lipschitz_constant_in_standardized_units():
    ds = data.friedman1(n_train=400, n_test=10, seed=1)
    t = ds.target
    L = t.lipschitz
    # sampled gradient norms on the standardized image of the cube stay below the stated constant ...
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(20000, 10, generator=g, dtype=torch.float64) - t.x_mean) / t.x_scale
    assert float(_grad_norms(t, z).max()) <= L * (1 + 1e-12)
    # ... and it is attained at the image of the corner x1 = x2 = 1, x3 = 0
    corner = (torch.tensor([[1.0, 1.0, 0.0] + [0.5] * 7], dtype=torch.float64) - t.x_mean) / t.x_scale
    assert float(_grad_norms(t, corner)[0]) == pytest.approx(L, rel=1e-12)
    # the chain rule: L = ‖s ⊙ ∇f‖ / s_y at the corner, below max(s) · 49.99 / s_y
    assert L <= float(t.x_scale.max()) * data.FRIEDMAN1_LIPSCHITZ / t.y_scale * (1 + 1e-12)
    # the training targets are the function plus noise in these coordinates
    assert float((ds.y_train - t(ds.x_train)).std()) == pytest.approx(ds.noise, rel=0.15)


# ----------------------------------------------------------------------------------- digits, binary


def test_digits_binary_even_odd_shapes_scaling_and_labels():
    from sklearn.datasets import load_digits

    ds = data.digits_binary(test_fraction=0.5, seed=0)
    X, digit = load_digits(return_X_y=True)
    assert ds.d == 64 and ds.n_train + ds.n_test == len(digit) == 1797 and ds.n_test == 898
    assert all(t.dtype == torch.float64 for t in (ds.x_train, ds.y_train, ds.x_test, ds.y_test))
    for x in (ds.x_train, ds.x_test):  # grey levels 0..16 scaled by 1/16
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        assert torch.equal(x * 16, (x * 16).round())
    # every image appears once, with +1 for an even digit and −1 for an odd one (sorted rows compared)
    expected = sorted(tuple(X[i].astype(int)) + (1 if digit[i] % 2 == 0 else -1,) for i in range(len(digit)))
    got = sorted(
        tuple(xi) + (int(yi),)
        for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test))
        for xi, yi in zip((x * 16).round().int().tolist(), y.tolist())
    )
    assert got == expected
    assert set(ds.y_train.unique().tolist()) == {-1.0, 1.0}
    assert ds.target is None and ds.noise == 0.0 and "02468 vs 13579" in repr(ds)


def test_digits_binary_pairs_and_determinism():
    from sklearn.datasets import load_digits

    _, digit = load_digits(return_X_y=True)
    ds = data.digits_binary(test_fraction=0.25, seed=1, positive=(3,), negative=(8,))
    n = int(((digit == 3) | (digit == 8)).sum())
    assert ds.n_train + ds.n_test == n and ds.n_test == round(0.25 * n)
    assert float((ds.y_train == 1).sum() + (ds.y_test == 1).sum()) == float((digit == 3).sum())
    assert _equal(data.digits_binary(seed=1), data.digits_binary(seed=1))
    assert not torch.equal(data.digits_binary(seed=1).y_test, data.digits_binary(seed=2).y_test)
    with pytest.raises(ValueError, match="disjoint"):
        data.digits_binary(positive=(1, 2), negative=(2, 3))
    with pytest.raises(ValueError, match="test_fraction"):
        data.digits_binary(test_fraction=1.0)
