"""Chapter *Learning-rate constraints*: the a-priori bounds, known before training, for the Huber loss
({prf:ref}`cor-huber-apriori`) and the MSE ({prf:ref}`cor-mse-apriori`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import check_int, check_real
from ..nets import GROUPS, TwoLayerNet
from ..training.history import History
from .check import Check, _2d, _activation_of, _check_history, _check_net, _compare, _need_every_step, _need_gd
from .decay import _check_schedule_matches, _schedule_total


def huber_gradient_bounds(net: TwoLayerNet, R_x: float, delta: float) -> dict[str, Any]:
    """Huber a-priori bound: bounds on the gradient of a risk whose per-sample derivatives satisfy (1/N)Σ|ℓ'(r_n)| ≤ δ.

    For the Huber risk |h_δ'| ≤ δ, so with ‖x_n‖ ≤ R_x (derivation: ∇_A = (1/N)Σ ℓ'_n (B ⊙ σ'(z_n)) x_nᵀ
    is a mean of rank-one matrices, ∇_B = (1/N)Σ ℓ'_n σ(z_n) with ‖σ(z)‖ ≤ √m|σ(0)| + L_σ‖z‖, ...):

        ‖∇_A‖_F ≤ δ L_σ R_x ‖B‖,    ‖∇_a‖ ≤ δ L_σ ‖B‖,
        ‖∇_B‖ ≤ δ (L_σ (R_x ‖A‖_op + ‖a‖) + √m |σ(0)|),    |∇_b| ≤ δ.

    ‖A‖ in the third bound is the operator norm: ‖z_n‖ = ‖A x_n + a‖ ≤ ‖A‖_op R_x + ‖a‖ is the true and
    tightest form (‖A‖_F ≥ ‖A‖_op also gives a valid, looser bound). Returns a dict of tensors keyed
    ``"A", "a", "B", "b"`` (shape (E,) for an ensemble, scalars otherwise).
    """
    net = _check_net(net)
    R_x = check_real("R_x", R_x, nonnegative=True)
    delta = check_real("delta", delta, positive=True)
    n = net.norms()
    act = net.activation
    return _gradient_bounds(n["A_op"], n["a"], n["B"], act.lipschitz, abs(act.value_at_zero), net.width, R_x, delta)


def _gradient_bounds(
    A_op: Any, a: Any, B: Any, L_sigma: float, sigma0: float, m: int, R_x: float, delta: Any
) -> dict[str, Any]:
    return {
        "A": delta * L_sigma * R_x * B,
        "a": delta * L_sigma * B,
        "B": delta * (L_sigma * (R_x * A_op + a) + math.sqrt(m) * sigma0),
        "b": delta * (B * 0 + 1.0),
    }


def _effective_delta(history: History, delta: Any) -> np.ndarray:
    """(T, E) bound on (1/N)Σ|ℓ'(r_n)|: δ for Huber; 2√R(θ_t) for the MSE (Cauchy–Schwarz)."""
    loss = _2d(history.loss)
    if delta is not None:
        d = check_real("delta", delta, positive=True) if np.ndim(delta) == 0 else None
        return np.broadcast_to(np.asarray(delta if d is None else d, dtype=np.float64), loss.shape)
    if history.loss_name == "huber":
        return np.full_like(loss, float(history.delta))
    return 2.0 * np.sqrt(loss)


def check_huber_gradients(history: History, delta: Any = None) -> Check:
    """Check the four gradient bounds of Huber a-priori bound at every logged step, using ``history.norms``.

    R_x is ``history.x_radius``. The derivative bound is δ = ``history.delta`` for a Huber run; for an
    MSE run it is 2√R(θ_t) at step t, because the per-sample derivatives 2r_n satisfy
    (1/N)Σ|2r_n| ≤ 2√((1/N)Σ r_n²) = 2√R(θ_t) (Cauchy–Schwarz) — no monotonicity needed. ``delta``
    overrides both. The returned check compares max_g ‖∇_g R‖/bound_g (``lhs``) with 1 (``rhs``), so its
    ratio says how loose the tightest of the four bounds is; the per-group checks, in their own units,
    are in ``details["parts"]``.
    """
    h = _check_history(history)
    act = _activation_of(h)
    dl = _effective_delta(h, delta)
    n = {k: _2d(v) for k, v in h.norms.items()}
    bounds = _gradient_bounds(
        n["A_op"], n["a"], n["B"], h.lipschitz_activation, abs(act.value_at_zero), h.width, h.x_radius, dl
    )
    labels = {
        "A": "‖∇_A R‖_F ≤ δL_σR_x‖B‖",
        "a": "‖∇_a R‖ ≤ δL_σ‖B‖",
        "B": "‖∇_B R‖ ≤ δ(L_σ(R_x‖A‖_op+‖a‖)+√m|σ(0)|)",
        "b": "|∇_b R| ≤ δ",
    }
    parts = [
        _compare(f"Huber a-priori bound: {labels[g]}", _2d(h.grad_norm[g]), bounds[g], h.steps, h.ensemble)
        for g in GROUPS
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.stack([np.where(bounds[g] > 0, _2d(h.grad_norm[g]) / bounds[g], 0.0) for g in GROUPS], -1).max(-1)
    return _compare(
        "Huber a-priori bound: max_g ‖∇_g R‖/bound_g ≤ 1",
        rel,
        1.0,
        h.steps,
        h.ensemble,
        {"delta": dl[0, 0] if h.loss_name == "huber" or delta is not None else "2√R(θ_t)", "parts": parts},
    )


def c0(L_sigma: float, R_x: float, m: int, sigma0: float) -> float:
    """c₀ = max(L_σ(R_x + 1), √m|σ(0)| + 1), the constant of Huber a-priori bound.

    Summing the four bounds of :func:`huber_gradient_bounds` (with ‖A‖_op ≤ ‖A‖_F):
    ‖∇_A‖_F + ‖∇_a‖ + ‖∇_B‖ + |∇_b| ≤ δ[L_σ(R_x + 1)‖B‖ + L_σR_x‖A‖_F + L_σ‖a‖ + √m|σ(0)| + 1]
    ≤ δ c₀ (‖A‖_F + ‖a‖ + ‖B‖ + 1) ≤ δ c₀ w.
    """
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    R_x = check_real("R_x", R_x, nonnegative=True)
    m = check_int("m", m, minimum=1)
    sigma0 = check_real("sigma0", sigma0)
    return max(L_sigma * (R_x + 1.0), math.sqrt(m) * abs(sigma0) + 1.0)


def apriori_lipschitz_bound(w0: Any, delta: float, c0: float, lr_sum: Any, L_sigma: float, sharp: bool = False) -> Any:
    """Huber a-priori bound: sup_t Lip(f_{θ_t}) ≤ L_σ W² with W = w₀ exp(δ c₀ Σ_t α_t).

    w = ‖A‖_F + ‖a‖ + ‖B‖ + |b| + 1 obeys w_{t+1} ≤ w_t + α_t δ c₀ w_t ≤ w_t e^{δc₀α_t} (α_t = max_g α^g_t),
    so w_t ≤ W, and Lip ≤ L_σ‖A‖_op‖B‖ ≤ L_σ w² (the book's statement, the default). ``sharp=True``
    gives L_σ (W − 1)²/4, also valid: ‖A‖_op + ‖B‖ ≤ w − 1 and ‖A‖‖B‖ ≤ (‖A‖ + ‖B‖)²/4.
    """
    delta = check_real("delta", delta, positive=True)
    c0 = check_real("c0", c0, positive=True)
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    w0 = np.asarray(w0, dtype=np.float64)
    s = np.asarray(lr_sum, dtype=np.float64)
    if (w0 < 1).any() or not np.isfinite(w0).all():
        raise ValueError(f"w0 = ‖A₀‖_F + ‖a₀‖ + ‖B₀‖ + |b₀| + 1 must be finite and >= 1; got {w0}")
    if (s < 0).any() or np.isnan(s).any():
        raise ValueError(f"lr_sum must be >= 0 (it may be inf); got {lr_sum}")
    with np.errstate(over="ignore"):
        W = w0 * np.exp(delta * c0 * s)
        out = L_sigma * ((W - 1.0) ** 2 / 4.0 if sharp else W**2)
    return float(out) if out.ndim == 0 else out


def _check_apriori(h: History, schedule: Any, delta: np.ndarray, name: str, extra: dict[str, Any]) -> Check:
    """The shared body of the Huber and MSE a-priori bounds with a derivative bound ``delta`` (one per member)."""
    act = _activation_of(h)
    E1 = 1 if h.ensemble is None else h.ensemble
    const = c0(h.lipschitz_activation, h.x_radius, h.width, act.value_at_zero)
    n = {k: _2d(v) for k, v in h.norms.items()}
    w = n["A_fro"] + n["a"] + n["B"] + n["b"] + 1.0
    T = h.total_steps
    kind = "consistency"  # a bound built from the run's own learning rates covers the run only
    if schedule is None:
        _need_every_step(h, f"{name} without a schedule")
        alpha = np.stack([_2d(h.lr[g]) for g in GROUPS], -1).max(-1)  # (T + 1, E); row T is not a step
        total = alpha[:-1].sum(axis=0)
        where = f"Σα over the run's {T} steps (bound valid up to T only)"
    else:
        alpha = _check_schedule_matches(schedule, h)
        try:
            total = _schedule_total(schedule, E1)
            where = "Σα = schedule.total() over all steps"
            kind = "prediction"  # fixed from θ₀ and the schedule before the run
        except ValueError:  # a schedule that never becomes summable: the bound covers the run only
            total = alpha[:-1].sum(axis=0)
            where = f"Σα over the run's {T} steps (the schedule is not summable; bound valid up to T only)"
    cum = np.concatenate([np.zeros((1, E1)), np.cumsum(alpha[:-1], axis=0)])[h.steps]  # Σ_{s<t} α_s
    with np.errstate(over="ignore"):
        w_bound = w[0] * np.exp(delta * const * cum)
    part_w = _compare(f"{name}: w_t ≤ w₀ exp(δc₀Σ_(s<t) α_s)", w, w_bound, h.steps, h.ensemble)
    bound = apriori_lipschitz_bound(w[0], 1.0, const, delta * total, h.lipschitz_activation)
    bound = np.atleast_1d(bound)
    grads = check_huber_gradients(h, delta=np.broadcast_to(delta, w.shape))
    single = h.ensemble is None
    details = {
        "c0": const,
        "delta": delta[0] if single else delta,
        "lr_sum": total[0] if single else total,
        "lr_sum_from": where,
        "w0": w[0, 0] if single else w[0],
        "bound": bound[0] if single else bound,
        "parts": [grads, part_w],
        **extra,
    }
    return _compare(
        f"{name}: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(w₀exp(δc₀Σα))²",
        _2d(h.lip_product),
        bound[None, :],
        h.steps,
        h.ensemble,
        details,
        kind=kind,
    )


def check_huber_apriori(history: History, schedule: Any = None) -> Check:
    """Check Huber a-priori bound (Huber loss) on a run: the gradient bounds, the w-recursion and the a-priori bound.

    * the four gradient bounds at every logged step (:func:`check_huber_gradients`);
    * w_t ≤ w₀ exp(δ c₀ Σ_{s<t} α_s) at every logged step, α_s = max_g α^g_s;
    * sup_t L_σ‖A_t‖_op‖B_t‖ ≤ L_σ (w₀ exp(δ c₀ Σα))² (:func:`apriori_lipschitz_bound`).

    ``schedule`` (a plain schedule, a per-group mapping, or one per member) gives Σα = schedule.total()
    over *all* steps — finite for eventual-exponential decay — and α_s at every step, so any
    ``log_every`` works; it must reproduce the rates in the history. Without it (e.g. for an adaptive
    run), the recorded rates are used (``log_every = 1``) and the bound covers the run's T steps.
    The constants are those of the corollary; see :func:`c0` for the derivation.

    Kind: with a summable ``schedule`` the bound is fixed from θ₀ and the schedule before the run, a
    **prediction** check valid for every step; without one (or with a non-summable schedule) it is built
    from the run's own learning rates and covers t ≤ T only, a **consistency** check.
    """
    h = _check_history(history)
    _need_gd(h, "Huber a-priori bound")
    if h.loss_name != "huber":
        raise ValueError(
            f"Huber a-priori bound is for the Huber loss; this run used {h.loss_name!r} "
            "(use check_mse_apriori for the MSE)"
        )
    E1 = 1 if h.ensemble is None else h.ensemble
    return _check_apriori(h, schedule, np.full(E1, float(h.delta)), "Huber a-priori bound", {})


def check_mse_apriori(history: History, schedule: Any = None) -> Check:
    """Check MSE a-priori bound (MSE): the risk is non-increasing, then Huber a-priori bound with δ = 2√R(θ₀).

    The gradient bounds of Huber a-priori bound use the per-sample derivatives ℓ'(r_n) only through
    (1/N)Σ|ℓ'(r_n)|. For the MSE ℓ'(r) = 2r and (1/N)Σ|2r_n| ≤ 2√R(θ_t) (Cauchy–Schwarz), which is
    ≤ 2√R(θ₀) when the risk never increases. So the monotonicity is checked first, at every step
    (``log_every = 1``): ``BoundViolated`` at the first step t+1 with R(θ_{t+1}) > R(θ_t). (Without
    monotonicity, δ = 2 sup_t √R(θ_t) would serve instead.)

    Kind: as :func:`check_huber_apriori`. The hypothesis (a non-increasing MSE) is verified on t < T only;
    a bound for later steps would need it there too, which no finite run can verify.
    """
    h = _check_history(history)
    _need_gd(h, "MSE a-priori bound")
    if h.loss_name != "mse":
        raise ValueError(f"MSE a-priori bound is for the MSE; this run used {h.loss_name!r} (use check_huber_apriori)")
    _need_every_step(h, "MSE a-priori bound's monotonicity check")
    loss = _2d(h.loss)
    mono = _compare(
        "MSE a-priori bound: R(θ_(t+1)) ≤ R(θ_t)",
        loss[1:],
        loss[:-1],
        h.steps[1:],
        h.ensemble,
        explain="the MSE increased, so δ = 2√R(θ₀) is not justified",
    )
    delta = 2.0 * np.sqrt(loss[0])
    return _check_apriori(h, schedule, delta, "MSE a-priori bound", {"monotone": mono})
