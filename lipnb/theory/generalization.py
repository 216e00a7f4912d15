"""Chapter *Generalization*: covering numbers of Lipschitz classes ({prf:ref}`lem-cover`), the
generalization theorem ({prf:ref}`thm-generalization`) and its sub-linear corollary ({prf:ref}`cor-sublinear`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._validate import as_tensor, check_choice, check_int, check_real
from ..losses import LOSSES
from ..nets import TwoLayerNet
from .check import Check, _check_net, _compare, _per_member


def _loss_constants(loss: str, delta: float, M: float, M_y: float) -> tuple[float, float]:
    """(λ, ℓ_max): the loss's Lipschitz constant in the prediction on [−M, M] and its maximum there."""
    key = check_choice("loss", loss, LOSSES)
    r = M + M_y
    if key == "mse":
        return 2.0 * r, r * r
    delta = check_real("delta", delta, positive=True)
    return delta, (0.5 * r * r if r <= delta else delta * (r - 0.5 * delta))


def covering_log_number(eps: float, L: float, M: float, R_x: float, d: int) -> float:
    """log N(ε) ≤ |Z| log(⌈2M/ε⌉ + 1) for F_L = {L-Lipschitz f on the ball of radius R_x, |f| ≤ M}.

    Z is an ε/(4L)-net of the ball, |Z| ≤ ⌊(1 + 8LR_x/ε)^d⌋ (volume argument); the functions
    g(x) = clip(min_z (q_z + L‖x − z‖), −M, M) with q_z on a grid of step ε over [−M, M]
    (⌈2M/ε⌉ + 1 values) form an ε-cover in sup norm. |Z| is computed through its logarithm and may be
    ``inf`` (then so is the result) when (1 + 8LR_x/ε)^d overflows a float.
    """
    eps = check_real("eps", eps, positive=True)
    L = check_real("L", L, nonnegative=True)
    M = check_real("M", M, positive=True)
    R_x = check_real("R_x", R_x, nonnegative=True)
    d = check_int("d", d, minimum=1)
    return float(_log_cover(np.array([eps]), L, M, R_x, d)[0])


def _log_cover(eps: np.ndarray, L: float, M: float, R_x: float, d: int) -> np.ndarray:
    log_Z = d * np.log1p(8.0 * L * R_x / eps)
    with np.errstate(over="ignore"):
        Z = np.exp(log_Z)
        Z = np.where(Z < 2.0**52, np.floor(Z * (1 + 1e-13)), Z)
        return np.maximum(Z, 1.0) * np.log(np.ceil(2.0 * M / eps) + 1.0)


def _bound_at(
    eps: np.ndarray, L: float, N: int, d: int, R_x: float, M: float, lam: float, lmax: float, eta: float
) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return 2.0 * lam * eps + lmax * np.sqrt((_log_cover(eps, L, M, R_x, d) + math.log(2.0 / eta)) / (2.0 * N))


def _validate_gen(
    L: Any, N: Any, d: Any, R_x: Any, M: Any, M_y: Any, eta: Any
) -> tuple[float, int, int, float, float, float, float]:
    return (
        check_real("L", L, nonnegative=True),
        check_int("N", N, minimum=1),
        check_int("d", d, minimum=1),
        check_real("R_x", R_x, nonnegative=True),
        check_real("M", M, positive=True),
        check_real("M_y", M_y, nonnegative=True),
        check_real("eta", eta, positive=True, high=1.0),
    )


def generalization_bound(
    L: float, N: int, d: int, R_x: float, M: float, M_y: float, eta: float = 0.05, loss: str = "mse", delta: float = 1.0
) -> tuple[float, float]:
    """Generalization theorem: with probability ≥ 1 − η over S (N i.i.d. samples), for all f ∈ F_L,

        |R(f) − R̂_S(f)| ≤ inf_ε [2λε + ℓ_max √((log N(ε) + log(2/η)) / (2N))],

    with N(ε) of :func:`covering_log_number`, and, for predictions in [−M, M] and |y| ≤ M_y: Huber
    λ = δ, ℓ_max = h_δ(M + M_y); MSE λ = 2(M + M_y), ℓ_max = (M + M_y)². (Proof: Hoeffding on each of
    the N(ε) cover functions, a union bound, and |ℓ(f) − ℓ(g)| ≤ λ‖f − g‖_∞ ≤ λε on both risks.)
    The minimizing ε depends on (L, N, d, R_x, M, M_y, η, loss) only, not on S, so fixing it in advance
    makes the inf legitimate. Values ≥ ℓ_max are vacuous (|R − R̂| ≤ ℓ_max always).

    The inf is found on a log-spaced grid of ε over [10⁻¹²·ℓ_max/λ, ℓ_max/λ] (beyond, 2λε ≥ 2ℓ_max) and
    refined by ``scipy.optimize.minimize_scalar`` in log ε around the best grid point.
    Returns ``(bound, eps)``.
    """
    from scipy.optimize import minimize_scalar

    L, N, d, R_x, M, M_y, eta = _validate_gen(L, N, d, R_x, M, M_y, eta)
    lam, lmax = _loss_constants(loss, delta, M, M_y)
    hi = math.log(lmax / lam)
    grid = np.linspace(hi - 12 * math.log(10), hi, 481)
    vals = _bound_at(np.exp(grid), L, N, d, R_x, M, lam, lmax, eta)
    vals = np.where(np.isfinite(vals), vals, np.inf)
    i = int(np.argmin(vals))
    best_eps, best = float(np.exp(grid[i])), float(vals[i])
    lo_b, hi_b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    if hi_b > lo_b and math.isfinite(best):
        res = minimize_scalar(
            lambda le: float(_bound_at(np.array([math.exp(le)]), L, N, d, R_x, M, lam, lmax, eta)[0]),
            bounds=(lo_b, hi_b),
            method="bounded",
            options={"xatol": 1e-10},
        )
        if res.success and res.fun < best:
            best_eps, best = float(math.exp(res.x)), float(res.fun)
    return best, best_eps


def data_dependent_generalization_bound(
    L_hat: float,
    L_min: float,
    N: int,
    d: int,
    R_x: float,
    M: float,
    M_y: float,
    eta: float = 0.05,
    loss: str = "mse",
    delta: float = 1.0,
) -> tuple[float, float, int]:
    """Generalization theorem for a Lipschitz constant L̂ measured on the trained network (so chosen after seeing S).

    Apply :func:`generalization_bound` on the grid L_k = 2^k L_min, k ≥ 1, with confidence η_k = η/(k(k+1));
    since Σ_{k≥1} η_k = η, with probability ≥ 1 − η every level holds at once, and a network with
    Lip(f) ≤ L̂ belongs to F_{L_k} at the smallest L_k ≥ L̂. ``L_min`` must be fixed before seeing the
    data. Returns ``(bound, eps, k)``.
    """
    L_hat = check_real("L_hat", L_hat, nonnegative=True)
    L_min = check_real("L_min", L_min, positive=True)
    k = max(1, math.ceil(math.log2(L_hat / L_min))) if L_hat > 0 else 1
    while 2.0**k * L_min < L_hat:  # guard the log2 round-off
        k += 1
    bound, eps = generalization_bound(2.0**k * L_min, N, d, R_x, M, M_y, eta / (k * (k + 1)), loss, delta)
    return bound, eps, k


def parameter_lipschitz(m: int, R_x: float, W: float, L_sigma: float, sigma0: float) -> float:
    """K: sup_x |f_θ(x) − f_θ'(x)| ≤ K ‖θ − θ'‖₂ for θ, θ' in the ball ‖θ‖₂ ≤ W, ‖x‖ ≤ R_x.

    With ρ = √(R_x² + 1): |f_θ − f_θ'| ≤ ‖B − B'‖ ‖σ(Ax + a)‖ + ‖B'‖ L_σ ‖[A−A' | a−a']‖_F ρ + |b − b'| and
    ‖σ(Ax + a)‖ ≤ √m|σ(0)| + L_σ W ρ, so by Cauchy–Schwarz
    K = √((√m|σ(0)| + L_σWρ)² + (L_σWρ)² + 1).
    """
    m = check_int("m", m, minimum=1)
    R_x = check_real("R_x", R_x, nonnegative=True)
    W = check_real("W", W, nonnegative=True)
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    sigma0 = check_real("sigma0", sigma0)
    rho = math.sqrt(R_x * R_x + 1.0)
    u = L_sigma * W * rho
    return math.sqrt((math.sqrt(m) * abs(sigma0) + u) ** 2 + u * u + 1.0)


def parameter_counting_bound(
    p: int, N: int, M: float, M_y: float, K: float, W: float, eta: float = 0.05, loss: str = "mse", delta: float = 1.0
) -> tuple[float, float]:
    """A parameter-counting generalization bound, for comparison with Generalization theorem.

    Class: {clip(f_θ, −M, M) : θ ∈ R^p, ‖θ‖₂ ≤ W} with sup_x |f_θ(x) − f_θ'(x)| ≤ K‖θ − θ'‖₂
    (:func:`parameter_lipschitz` gives K for the two-layer net). A (ε/K)-net of the parameter ball has
    at most (1 + 2KW/ε)^p points, so log N(ε) ≤ p log(1 + 2KW/ε), and the same Hoeffding + union
    argument as Generalization theorem gives, with probability ≥ 1 − η,

        |R(f) − R̂_S(f)| ≤ inf_ε [2λε + ℓ_max √((p log(1 + 2KW/ε) + log(2/η)) / (2N))],

    which at ε ~ ℓ_max/(λ√N) is ℓ_max √(p log(KW√N)/N) up to constants: the √(p log N / N) rate.
    Returns ``(bound, eps)``.
    """
    from scipy.optimize import minimize_scalar

    p = check_int("p", p, minimum=1)
    N = check_int("N", N, minimum=1)
    M = check_real("M", M, positive=True)
    M_y = check_real("M_y", M_y, nonnegative=True)
    K = check_real("K", K, nonnegative=True)
    W = check_real("W", W, nonnegative=True)
    eta = check_real("eta", eta, positive=True, high=1.0)
    lam, lmax = _loss_constants(loss, delta, M, M_y)

    def f(le: np.ndarray) -> np.ndarray:
        e = np.exp(le)
        return 2.0 * lam * e + lmax * np.sqrt((p * np.log1p(2.0 * K * W / e) + math.log(2.0 / eta)) / (2.0 * N))

    hi = math.log(lmax / lam)
    grid = np.linspace(hi - 12 * math.log(10), hi, 481)
    vals = f(grid)
    i = int(np.argmin(vals))
    best_le, best = grid[i], float(vals[i])
    lo_b, hi_b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(
        lambda le: float(f(np.array([le]))[0]), bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-10}
    )
    if res.success and res.fun < best:
        best_le, best = res.x, float(res.fun)
    return best, float(math.exp(best_le))


def check_generalization(
    net: TwoLayerNet,
    dataset: Any,
    eta: float = 0.05,
    loss: str = "mse",
    delta: float = 1.0,
    lip_upper: Any = None,
    M: float | None = None,
    L_min: float | None = None,
    R_x: float | None = None,
    M_y: float | None = None,
) -> Check:
    """Check Generalization theorem on a trained network: the measured |test risk − train risk| against the bound.

    Predictions are clipped to [−M, M] (default M = M_y; M_y, the bound on |y|, defaults to
    ``dataset.y_bound``, the largest |y| of the *training* labels, and may be given as an a-priori bound;
    clipping to the label range can only lower the risk and keeps the Lipschitz constant). L is
    ``lip_upper`` (a certified upper bound, one per member) or the product bound of Product bound. R_x defaults
    to the largest training ‖x‖ (pass the support radius when it is known a priori). The test risk estimates R(f);
    its own sampling error is
    bounded by Hoeffding, ℓ_max √(log(2/η)/(2 N_test)) with probability ≥ 1 − η, and added to the
    bound (the compared rhs is bound + that slack; both are in ``details``).

    With ``L_min`` given the data-dependent bound (:func:`data_dependent_generalization_bound`) is
    used — the honest choice for an L measured on the trained network; without it the fixed-L bound
    (valid if L was fixed before training, e.g. an adaptive-rule target). The bound holds with probability
    ≥ 1 − η and the test slack with probability ≥ 1 − η, so the compared inequality holds with probability
    ≥ 1 − 2η (``details["confidence"]``); checking the MSE and the Huber loss together needs η/2 each.
    A ``BoundViolated`` here is either that rare event or a bug.

    Kind: a **prediction** check (the bound is computed from the training data only and tested on held-out
    data) when the bound is below ℓ_max; when it is not (``details["vacuous"]``), |R̂_test − R̂_train| ≤ ℓ_max
    holds for every network and the check cannot fail: it is then labelled a **consistency** check.
    """
    from ..data import Dataset

    net = _check_net(net)
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a lipnb.data.Dataset; got {type(dataset).__name__}")
    eta = check_real("eta", eta, positive=True, high=1.0)
    lo_key = check_choice("loss", loss, LOSSES)
    M_y = dataset.y_bound if M_y is None else check_real("M_y", M_y, positive=True)
    M = M_y if M is None else check_real("M", M, positive=True)
    if R_x is None:
        R_x = float(torch.linalg.vector_norm(dataset.x_train, dim=1).max())
    R_x = check_real("R_x", R_x, nonnegative=True)
    from ..losses import loss as get_loss

    lo = get_loss(lo_key, delta)
    E = net.members
    L = (
        _per_member(lip_upper, E, "lip_upper")
        if lip_upper is not None
        else np.atleast_1d(net.product_bound().detach().cpu().numpy()).astype(np.float64)
    )

    def risk(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        pred = net(as_tensor("x", x, dtype=net.dtype, device=net.device)).clamp(-M, M)
        yt = as_tensor("y", y, dtype=net.dtype, device=net.device)
        return np.atleast_1d(lo(pred, yt).detach().cpu().numpy()).astype(np.float64)

    train_r, test_r = risk(dataset.x_train, dataset.y_train), risk(dataset.x_test, dataset.y_test)
    gap = np.abs(test_r - train_r)
    _, lmax = _loss_constants(lo_key, delta, M, M_y)
    slack = lmax * math.sqrt(math.log(2.0 / eta) / (2.0 * dataset.n_test))
    bounds, eps, ks = [], [], []
    for Le in L:
        if L_min is None:
            b, e = generalization_bound(Le, dataset.n_train, dataset.d, R_x, M, M_y, eta, lo_key, delta)
            k = None
        else:
            b, e, k = data_dependent_generalization_bound(
                Le, L_min, dataset.n_train, dataset.d, R_x, M, M_y, eta, lo_key, delta
            )
        bounds.append(b), eps.append(e), ks.append(k)
    bounds_a = np.array(bounds)
    single = net.ensemble is None

    def pick(v: np.ndarray) -> Any:
        return float(v[0]) if single else v

    details = {
        "train_risk": pick(train_r),
        "test_risk": pick(test_r),
        "gap": pick(gap),
        "bound": pick(bounds_a),
        "test_slack": slack,
        "eps": pick(np.array(eps)),
        "L": pick(L),
        "M": M,
        "M_y": M_y,
        "R_x": R_x,
        "ell_max": lmax,
        "vacuous": bool((bounds_a >= lmax).all()),
        "eta": eta,
        "level_k": ks[0] if single else ks,
        "data_dependent": L_min is not None,
        "confidence": max(0.0, 1.0 - 2.0 * eta),
    }
    kind = "consistency" if details["vacuous"] else "prediction"
    details["can_fail"] = kind == "prediction"
    name = "Generalization theorem: |R̂_test − R̂_train| ≤ bound + test slack"
    explain = f"holds with probability ≥ {max(0.0, 1 - 2 * eta):g}"
    if single:
        return _compare(name, gap[0], bounds_a[0] + slack, None, None, details, explain=explain, kind=kind)
    return _compare(name, gap[None, :], (bounds_a + slack)[None, :], None, E, details, explain=explain, kind=kind)


def sublinear_exponent(d: int) -> float:
    """The exponent d/(2(d+2)) with which the number of parameters p enters Generalization theorem's bound.

    Balancing the two terms of Generalization theorem, 2λε against ℓ_max √(log N(ε)/(2N)) with
    log N(ε) ≈ (8LR_x/ε)^d (up to the factor log(2M/ε)), gives ε* ∝ (L R_x)^{d/(d+2)} N^{−1/(d+2)}, so the
    bound scales as L^{d/(d+2)} N^{−1/(d+2)} up to logarithms. The network enters only through L. With
    L = O(√(m/d)) (the adaptive rule's target (1 + κ)Λ₀(m, d, s), fixed before the data) and p = m(d + 2) + 1 ≥ m,
    L^{d/(d+2)} = O(p^{d/(2(d+2))}), and
    d/(2(d+2)) < 1/2 for every d: the dependence on p is sub-linear, at most √p (1/6 in d = 1, 1/4 in
    d = 2, tending to 1/2 as d → ∞). The price is the rate N^{−1/(d+2)} in N, slower than the
    N^{−1/2} of a parameter-counting bound ~ √(p log N / N), which in turn grows like √p.
    """
    d = check_int("d", d, minimum=1)
    return d / (2.0 * (d + 2))
