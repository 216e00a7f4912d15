"""Chapter *Convergence*: the descent lemma ({prf:ref}`lem-descent`) and the rate to ε-stationarity
({prf:ref}`thm-convergence`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .._validate import as_tensor, check_int, check_real
from ..losses import Loss
from ..losses import loss as get_loss
from ..nets import GROUPS, TwoLayerNet
from ..schedules import AdaptiveSchedule, Schedule, shift
from ..training.history import History
from ..training.loop import train
from .check import (
    ATOL,
    RTOL,
    Check,
    _2d,
    _activation_of,
    _check_history,
    _check_net,
    _compare,
    _need_every_step,
    _need_gd,
    _out,
)


def _decrease_terms(h: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σ_g α^g_t‖∇_g R‖², Σ_g (α^g_t‖∇_g R‖)², min_g α^g_t) for t = 0..T−1, each (T, E)."""
    lr = np.stack([_2d(h.lr[g]) for g in GROUPS], -1)[:-1]
    gn = np.stack([_2d(h.grad_norm[g]) for g in GROUPS], -1)[:-1]
    return (lr * gn**2).sum(-1), ((lr * gn) ** 2).sum(-1), lr.min(-1)


def check_sufficient_decrease(history: History) -> Check:
    """Convergence theorem's per-step inequality: R(θ_{t+1}) ≤ R(θ_t) − Σ_g (α^g_t/2)‖∇_g R(θ_t)‖² for t < T.

    It follows from the descent lemma ({prf:ref}`lem-descent`) when ∇R is β-Lipschitz along the step and
    α^g_t ≤ 1/β; a violation means the step was too long for the local smoothness. Needs ``log_every = 1``.

    A **prediction** check: at step t the right-hand side is known before step t + 1 is taken. A step whose
    promised decrease Σ_g (α^g_t/2)‖∇_g R‖² is within the comparison's round-off tolerance cannot fail (it
    would only test R(θ_{t+1}) ≤ R(θ_t) up to round-off): such steps are not counted as passes but left
    out, and reported in ``details["sub_tolerance_steps"]`` beside ``details["checked_steps"]`` (counts over
    steps and members). ``ValueError`` if no step can be checked.
    """
    h = _check_history(history)
    _need_gd(h, "the sufficient-decrease check")
    _need_every_step(h, "the sufficient-decrease check")
    loss = _2d(h.loss)
    dec, _, _ = _decrease_terms(h)
    lhs, rhs = loss[1:], loss[:-1] - 0.5 * dec
    testable = 0.5 * dec > RTOL * np.maximum(np.abs(lhs), np.abs(rhs)) + ATOL
    if not testable.any():
        raise ValueError("every step's promised decrease is below the round-off tolerance: nothing to check")
    details = {"checked_steps": int(testable.sum()), "sub_tolerance_steps": int((~testable).sum())}
    # steps that cannot fail get lhs = -inf: never a violation, an infinite margin, no ratio
    return _compare(
        "Convergence theorem: R(θ_(t+1)) ≤ R(θ_t) − Σ_g (α^g_t/2)‖∇_g R(θ_t)‖²",
        np.where(testable, lhs, -np.inf),
        np.where(testable, rhs, 0.0),
        h.steps[:-1],
        h.ensemble,
        details,
        explain="step t → t+1: the learning rate exceeds 1/β there",
        kind="prediction",
    )


def min_gradient_bound(history: History) -> np.ndarray:
    """Convergence theorem: for T = 1, …, T_total, the bound 2(R(θ₀) − R(θ_T)) / Σ_{t<T} α_t on min_{t<T}‖∇R(θ_t)‖².

    With per-group rates, α_t is min_g α^g_t (then Σ_g α^g_t‖∇_g R‖² ≥ α_t‖∇R‖², which is what the
    sum of the sufficient-decrease inequalities needs). Row i is T = i + 1: shape (T_total,) or (T_total, E).
    Needs ``log_every = 1``.
    """
    h = _check_history(history)
    _need_gd(h, "min_gradient_bound")
    _need_every_step(h, "min_gradient_bound")
    loss = _2d(h.loss)
    _, _, alpha = _decrease_terms(h)
    return _out(2.0 * (loss[0] - loss[1:]) / np.cumsum(alpha, axis=0), h)


def check_convergence(history: History) -> Check:
    """Check Convergence theorem: sufficient decrease at every step and min_{t<T}‖∇R(θ_t)‖² ≤ 2(R₀ − R_T)/Σ_{t<T}α_t.

    The hypotheses (σ ∈ C¹ with Lipschitz σ', α_t ≤ 1/β) are not checkable from a history; the
    sufficient-decrease inequality they imply is, and it implies the min-gradient bound.
    ``details["smooth_activation"]`` says whether σ meets the theorem's smoothness hypothesis;
    ``details["beta_lower"]`` is :func:`smoothness_lower_estimate`. Needs ``log_every = 1``.
    A **consistency** check: the min-gradient inequality follows from the sufficient decreases by
    telescoping; the prediction check of the theorem is :func:`check_sufficient_decrease` (``parts[0]``).
    """
    h = _check_history(history)
    _need_gd(h, "Convergence theorem")
    sd = check_sufficient_decrease(h)
    g2 = _2d(h.grad_norm_total)[:-1] ** 2
    running_min = np.minimum.accumulate(g2, axis=0)
    bound = _2d(min_gradient_bound(h))
    details = {
        "smooth_activation": _activation_of(h).smooth,
        "beta_lower": smoothness_lower_estimate(h),
        "final_bound": _out(bound, h)[-1],
        "parts": [sd],
    }
    return _compare(
        "Convergence theorem: min_(t<T)‖∇R(θ_t)‖² ≤ 2(R(θ₀)−R(θ_T))/Σ_(t<T) α_t",
        running_min,
        bound,
        h.steps[1:],
        h.ensemble,
        details,
        explain="(step = T)",
    )


def smoothness_lower_estimate(history: History) -> Any:
    """A LOWER estimate of β, the Lipschitz constant of ∇R on the region the run visited.

    If ∇R is β-Lipschitz on the segment [θ_t, θ_{t+1}], the descent lemma gives
    R(θ_{t+1}) ≤ R(θ_t) + ⟨∇R(θ_t), Δ_t⟩ + (β/2)‖Δ_t‖² with Δ_t = −(α^g_t ∇_g R(θ_t))_g, so
    β ≥ 2(R(θ_{t+1}) − R(θ_t) + Σ_g α^g_t‖∇_g R‖²) / Σ_g (α^g_t‖∇_g R‖)². The max over steps is a lower
    bound on any valid β (hence on the β of Convergence theorem); it is not an upper bound. Steps whose predicted
    decrease is below 1e-8 of the risk (where round-off dominates) are skipped; ``nan`` if none remain.
    One value (or one per member). Needs ``log_every = 1``.
    """
    h = _check_history(history)
    _need_gd(h, "smoothness_lower_estimate")
    _need_every_step(h, "smoothness_lower_estimate")
    loss = _2d(h.loss)
    lin, sq, _ = _decrease_terms(h)
    ok = (lin > 1e-8 * np.abs(loss[:-1])) & (sq > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.where(ok, 2.0 * (loss[1:] - loss[:-1] + lin) / np.where(ok, sq, 1.0), -np.inf)
    out = est.max(axis=0)
    out = np.where(np.isfinite(out), np.maximum(out, 0.0), np.nan)
    return float(out[0]) if h.ensemble is None else out


# ------------------------------------------------------------------------------ the step-size hypothesis
def _risk_of_flat(net: TwoLayerNet, x: torch.Tensor, y: torch.Tensor, lo: Loss) -> Any:
    """θ ↦ R(θ) for the flat parameter vector θ = (vec A (row-major), a, B, b) of a single network."""
    m, d = net.width, net.d
    act = net.activation

    def risk(theta: torch.Tensor) -> torch.Tensor:
        A = theta[: m * d].reshape(m, d)
        a = theta[m * d : m * d + m]
        B = theta[m * d + m : m * d + 2 * m]
        b = theta[-1]
        return lo(act(x @ A.T + a) @ B + b, y)

    return risk


def _flat(net: TwoLayerNet) -> torch.Tensor:
    return torch.cat([net.A.reshape(-1), net.a, net.B.reshape(-1), net.b.reshape(1)])


def hessian_norms(net: TwoLayerNet, x: Any, y: Any, loss: str | Loss = "mse", delta: float = 1.0) -> Any:
    """‖∇²R(θ)‖₂, the exact spectral norm of the Hessian of the empirical risk at the network's parameters.

    The local smoothness β of {prf:ref}`lem-descent` and {prf:ref}`thm-convergence` at θ: the full p × p
    Hessian (p = m(d + 2) + 1) of θ ↦ R(θ) in float64 by ``torch.func.jacrev`` twice (reverse over reverse),
    then the largest |eigenvalue| by ``torch.linalg.eigvalsh``. Units: risk per squared parameter unit, the
    inverse of a learning rate (a GD step with α ≤ 1/β decreases R by at least (α/2)‖∇R‖² where β bounds
    the Hessian along the step). For ReLU and leaky ReLU (not C¹) σ'' = 0 almost everywhere and the value is that of
    the almost-everywhere Hessian, which does not bound the variation of ∇R across a kink; for the Huber
    loss h_δ'' is 1 inside [−δ, δ] and 0 outside, likewise almost everywhere. Cost O(p²N + p³): meant for
    p up to a few thousand. One value, or an array with one per member for an ensemble.
    """
    net = _check_net(net)
    lo = get_loss(loss, delta)
    out = []
    for e in range(net.members):
        one = net.member(e) if net.ensemble is not None else net
        one = one.to(dtype=torch.float64)
        xt = one._check_x(x)
        yt = as_tensor("y", y, dtype=torch.float64, device=one.device).reshape(-1)
        if yt.shape[0] != xt.shape[0]:
            raise ValueError(f"y must hold one label per row of x ({xt.shape[0]}); got {yt.shape[0]}")
        H = torch.func.jacrev(torch.func.jacrev(_risk_of_flat(one, xt, yt, lo)))(_flat(one).detach())
        H = 0.5 * (H + H.T)  # exact symmetry for eigvalsh; the two halves agree to round-off
        out.append(float(torch.linalg.eigvalsh(H).abs().max()))
    return out[0] if net.ensemble is None else np.array(out)


def _lr_at(schedule: Any, t: int, net: TwoLayerNet, x: Any, y: Any, lo: Loss) -> np.ndarray:
    """max_g α^g_t at θ_t (one per member); an adaptive schedule needs ‖∇R(θ_t)‖."""

    def one(spec: Any, e: int) -> float:
        if isinstance(spec, AdaptiveSchedule):
            member = net.member(e) if net.ensemble is not None else net
            _, g = member.loss_and_gradients(x, y, lo)
            gn = float(torch.sqrt(sum((v.detach() ** 2).sum() for v in (g["A"], g["a"], g["B"], g["b"]))))
            return spec.lr(t, gn)
        if isinstance(spec, Schedule):
            return spec(t)
        if isinstance(spec, Mapping) and set(spec) == set(GROUPS):
            return max(one(spec[g], e) for g in GROUPS)
        raise TypeError(
            "schedule must be a lipnb schedule, a mapping group -> schedule, or one per member; "
            f"got {type(spec).__name__}"
        )

    E = net.members
    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        if len(schedule) != E:
            raise ValueError(
                f"schedule as a sequence must have one entry per ensemble member ({E}); got {len(schedule)}"
            )
        return np.array([one(s, e) for e, s in enumerate(schedule)])
    return np.array([one(schedule, e) for e in range(E)])


def _shift_any(schedule: Any, offset: int) -> Any:
    if isinstance(schedule, Schedule):
        return shift(schedule, offset)
    if isinstance(schedule, Mapping):
        return {g: shift(s, offset) for g, s in schedule.items()}
    return [_shift_any(s, offset) for s in schedule]


def check_step_size(
    net: TwoLayerNet,
    x: Any,
    y: Any,
    schedule: Any,
    at: Sequence[int],
    loss: str | Loss = "mse",
    delta: float = 1.0,
) -> Check:
    """The step-size hypothesis of {prf:ref}`thm-convergence`, α_t ≤ 1/β, at the parameters θ_t of the steps ``at``,
    with β = ‖∇²R(θ_t)‖₂ exact (:func:`hessian_norms`).

    ``net`` is θ₀; the run is re-done with :func:`lipnb.train` (full-batch GD, ``schedule`` as for ``train``,
    continued between checkpoints with :func:`lipnb.schedules.shift`) up to each step of ``at`` (increasing,
    ≥ 0). ``lhs`` is α_t = max_g α^g_t (for an adaptive schedule, the rate it gives at θ_t), ``rhs`` is
    1/‖∇²R(θ_t)‖ (``inf`` where the Hessian vanishes), both in learning-rate units; ``details["lr_times_beta"]``
    is α_tβ_t (≤ 1 required; GD is unstable along the top eigenvector beyond 2). ``details["smooth_activation"]``
    says whether σ is C¹ with Lipschitz σ' (for ReLU the a.e. Hessian says nothing across kinks).

    Kind: a **consistency** check: the exact Hessian norm at a visited point bounds the curvature at that
    point only, not on the segment [θ_t, θ_{t+1}] nor on the whole set K of the theorem, so passing it does
    not prove the hypothesis; a failure does refute it. A certified bound on K is :func:`smoothness_bound`.
    """
    net = _check_net(net)
    lo = get_loss(loss, delta)
    if isinstance(at, (str, bytes)) or not isinstance(at, Sequence) or len(at) == 0:
        raise TypeError(f"at must be a non-empty sequence of steps; got {at!r}")
    steps = [check_int("at", t, minimum=0) for t in at]
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"at must be strictly increasing; got {list(at)}")
    E = net.members
    lrs, betas = np.empty((len(steps), E)), np.empty((len(steps), E))
    cur, done = net, 0
    for i, t in enumerate(steps):
        if t > done:
            cur, _ = train(cur, x, y, _shift_any(schedule, done), t - done, loss=lo)
            done = t
        lrs[i] = _lr_at(schedule, t, cur, x, y, lo)
        betas[i] = np.atleast_1d(hessian_norms(cur, x, y, lo))
    with np.errstate(divide="ignore"):
        inv = np.where(betas > 0, 1.0 / np.where(betas > 0, betas, 1.0), np.inf)
    single = net.ensemble is None

    def pick(v: np.ndarray) -> Any:
        return v[:, 0] if single else v

    details = {
        "beta": pick(betas),
        "lr": pick(lrs),
        "lr_times_beta": pick(lrs * betas),
        "smooth_activation": net.activation.smooth,
    }
    return _compare(
        "Step size: α_t ≤ 1/‖∇²R(θ_t)‖",
        pick(lrs),
        pick(inv),
        np.array(steps),
        net.ensemble,
        details,
        explain="the step exceeds 1/β at θ_t",
        kind="consistency",
    )


_SIGMA_SUP = {"tanh": 1.0, "sigmoid": 1.0}  # sup |σ| of the bounded activations


def smoothness_bound(
    A_op: Any,
    a: Any,
    B: Any,
    b: Any,
    R_x: float,
    M_y: float,
    width: int,
    activation: Any,
    loss: str | Loss = "mse",
    delta: float = 1.0,
) -> Any:
    """A certified β_K: ∇R is β_K-Lipschitz on K = {‖A‖_op ≤ 𝒜, ‖a‖ ≤ 𝔞, ‖B‖₂ ≤ ℬ, |b| ≤ 𝔟} (the radii
    ``A_op``, ``a``, ``B``, ``b``), for data with ‖x_n‖ ≤ R_x and |y_n| ≤ M_y and a C¹ activation with
    Lipschitz σ'.

    This is the β_K of {prf:ref}`thm-convergence` when the radii are those of the set to which
    {prf:ref}`thm-lr-constraint` confines the run (:func:`lipnb.theory.constraint_region`): then α_t ≤ 1/β_K
    at every step is the theorem's hypothesis, certified, not estimated.

    Derivation. Write W = [A | a] (rows w_i), x̃ = (x, 1), ρ = ‖x̃‖ ≤ √(R_x² + 1), z = Wx̃, and
    f(θ) = Bᵀσ(z) + b for one input. With L_σ = sup|σ'|, c₂ = sup|σ''| (the Lipschitz constant of σ'):

    * gradient: ∇_W f = (B ⊙ σ'(z)) x̃ᵀ, ∇_B f = σ(z), ∇_b f = 1, so on K
      ‖∇_θ f‖² ≤ G² := L_σ²ℬ²(R_x² + 1) + S_σ² + 1, where ‖σ(z)‖ ≤ S_σ := √m|σ(0)| + L_σ(𝒜R_x + 𝔞)
      (and ≤ √m·sup|σ| for tanh and sigmoid; the smaller is used);
    * curvature: ∂²f/∂w_i∂w_j = δ_ij B_i σ''(z_i) x̃x̃ᵀ (block diagonal, norm ≤ c₂ℬρ²),
      ∂²f/∂w_i∂B_j = δ_ij σ'(z_i) x̃ (norm ≤ L_σρ: its Gram matrix is diag(σ'(z_i)²ρ²)), all other blocks 0.
      The norm of a block matrix is at most that of the matrix of its block norms, so
      ‖∇²_θ f‖ ≤ H := (a₂ + √(a₂² + 4c²))/2 with a₂ = c₂ℬ(R_x² + 1), c = L_σ√(R_x² + 1);
    * the risk: ∇R = (1/N)Σ ℓ'(r_n)∇f_n with r_n = f_n − y_n. For θ, θ' in K (convex, so the segment
      stays in K), |r_n − r_n'| ≤ G‖θ − θ'‖ and ‖∇f_n − ∇f_n'‖ ≤ H‖θ − θ'‖, hence
      ‖∇R(θ) − ∇R(θ')‖ ≤ (Lip(ℓ')·G² + sup_K|ℓ'|·H)‖θ − θ'‖.
      MSE (ℓ = r²): Lip(ℓ') = 2, sup|ℓ'| = 2r_max; Huber: Lip(h_δ') = 1, sup|h_δ'| = min(δ, r_max); with
      r_max = ℬS_σ + 𝔟 + M_y ≥ |f(x_n) − y_n| on K.

    So β_K ≤ Lip(ℓ')G² + sup|ℓ'|H (returned; arrays of radii give one value per entry). Units: inverse
    learning rate. It holds for every θ ∈ K, not only at visited points, and is typically far above the
    Hessian norms along a run (:func:`hessian_norms`). ``ValueError`` for ReLU/leaky ReLU (∇R is not
    Lipschitz across kinks, so no β exists).
    """
    from ..activations import Activation
    from ..activations import activation as get_activation

    act = activation if isinstance(activation, Activation) else get_activation(activation)
    if not act.smooth or act.second_derivative_bound is None:
        raise ValueError(
            f"activation {act.name!r} is not C^1 with Lipschitz derivative: the gradient of the risk has no "
            "Lipschitz constant, so no beta_K exists (use tanh, sigmoid, softplus or gelu)"
        )
    R_x = check_real("R_x", R_x, nonnegative=True)
    M_y = check_real("M_y", M_y, nonnegative=True)
    m = check_int("width", width, minimum=1)
    lo = get_loss(loss, delta)
    radii = {}
    for name, v in (("A_op", A_op), ("a", a), ("B", B), ("b", b)):
        arr = np.asarray(v, dtype=np.float64)
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{name} must be finite and >= 0; got {v!r}")
        radii[name] = arr
    L, c2, s0 = act.lipschitz, act.second_derivative_bound, abs(act.value_at_zero)
    rho2 = R_x * R_x + 1.0
    S = math.sqrt(m) * s0 + L * (radii["A_op"] * R_x + radii["a"])
    if act.name in _SIGMA_SUP:
        S = np.minimum(S, math.sqrt(m) * _SIGMA_SUP[act.name])
    G2 = L * L * radii["B"] ** 2 * rho2 + S**2 + 1.0
    a2 = c2 * radii["B"] * rho2
    c = L * math.sqrt(rho2)
    H = 0.5 * (a2 + np.sqrt(a2 * a2 + 4.0 * c * c))
    r_max = radii["B"] * S + radii["b"] + M_y
    if lo.name == "mse":
        beta = 2.0 * G2 + 2.0 * r_max * H
    else:
        beta = G2 + np.minimum(float(lo.delta), r_max) * H
    return float(beta) if beta.ndim == 0 else beta


# ------------------------------------------------------------------------------ ε-stationarity
def stationarity_steps(R0: float, lr: float, eps: float) -> int:
    """τ(ε) = ⌈2R(θ₀)/(α ε²)⌉: the number of constant steps α after which {prf:ref}`thm-convergence` guarantees
    min_{t<τ}‖∇R(θ_t)‖ ≤ ε.

    From min_{t<τ}‖∇R(θ_t)‖² ≤ 2(R(θ₀) − R(θ_τ))/(τα) ≤ 2R(θ₀)/(τα) (a risk ≥ 0, α ≤ 1/β_K): the constant-step
    rate to ε-stationarity, which an eventual decay after τ leaves untouched. Computed as the smallest
    integer τ ≥ 1 with τ·α·ε² ≥ 2R(θ₀) in floating point (so that the guarantee's inequality holds as
    evaluated). ``R0`` in risk units, ``lr`` in inverse risk per squared parameter units, ``eps`` a gradient norm.
    """
    R0 = check_real("R0", R0, nonnegative=True)
    lr = check_real("lr", lr, positive=True)
    eps = check_real("eps", eps, positive=True)
    need, per = 2.0 * R0, lr * eps * eps
    if per == 0.0:
        raise ValueError(f"lr * eps**2 underflows to 0 (lr = {lr!r}, eps = {eps!r})")
    q = need / per
    if not math.isfinite(q) or q > 2.0**62:
        raise ValueError(f"2 R0 / (lr eps^2) = {q:g} steps is too many to count")
    n = max(1, math.ceil(q))
    while n > 1 and (n - 1) * per >= need:
        n -= 1
    while n * per < need:
        n += 1
    return n


def quadratic_limit(theta0: float, lr: float, rate: float, start: int) -> tuple[float, float]:
    """θ_∞ of GD on R(θ) = θ²/2 with α_t = α for t < τ and α e^{−r(t−τ)} after: the limit is not a critical point.

    GD gives θ_{t+1} = (1 − α_t)θ_t, so θ_∞ = θ₀ (1 − α)^τ Π_{k≥0}(1 − αe^{−rk}), a convergent product
    (Σα_t < ∞) that vanishes only if some factor does (α = 1, or αe^{−rk} = 1 exactly): generically
    θ_∞ ≠ 0 = the only critical point, while ∇R(θ_∞) = θ_∞. This is the example of the chapter
    *Convergence* ({prf:ref}`thm-convergence`): an eventual decay makes the iterates converge, to a point
    that need not be stationary.

    The factors with x_k = αe^{−rk} > 10⁻³ are multiplied exactly (as a sum of log|1 − x_k|); the tail
    k ≥ K is log Π_{k≥K}(1 − x_k) = −S₁ − S₂/2 − S₃/3 − …, S_j = Σ_{k≥K} x_k^j = x_K^j/(1 − e^{−jr}), summed
    to j = 6, with the remainder bounded by S₇/(7(1 − x_K)) (as Σ_{j≥7} x^j/j ≤ x⁷/(7(1 − x)) termwise).
    Returns ``(theta_inf, err)`` with |θ_∞(computed) − θ_∞| ≤ ``err`` (that bound plus the round-off of the
    sum). ``rate`` r > 0, ``start`` τ ≥ 0, ``lr`` α > 0.
    """
    theta0 = check_real("theta0", theta0)
    a = check_real("lr", lr, positive=True)
    r = check_real("rate", rate, positive=True)
    tau = check_int("start", start, minimum=0)
    x_stop = 1e-3
    K = max(0, math.ceil(math.log(a / x_stop) / r)) if a > x_stop else 0
    if K > 5 * 10**7:
        raise ValueError(f"rate = {r:g} decays too slowly: {K} factors would be needed before the tail bound applies")
    xk = a * np.exp(-r * np.arange(K, dtype=np.float64))
    head = np.concatenate([np.full(1, 1.0 - a) if tau else np.empty(0), 1.0 - xk])
    if theta0 == 0.0 or (head == 0.0).any():
        return 0.0, 0.0
    logs = np.log(np.abs(1.0 - xk)) if K else np.empty(0)
    neg = int((xk > 1.0).sum()) + (tau if a > 1.0 else 0)
    log_head = math.fsum(logs.tolist()) + (tau * math.log(abs(1.0 - a)) if tau else 0.0)
    xK = a * math.exp(-r * K)
    S = [xK**j / -math.expm1(-j * r) for j in range(1, 8)]
    log_tail = -math.fsum(S[j - 1] / j for j in range(1, 7))
    remainder = S[6] / (7.0 * (1.0 - xK))
    round_off = 2.0**-52 * (float(np.abs(logs).sum()) + abs(tau * math.log(abs(1.0 - a))) + abs(log_tail)) * 4.0
    value = theta0 * (-1.0) ** neg * math.exp(log_head + log_tail)
    err = abs(value) * math.expm1(remainder + round_off)
    return value, err
