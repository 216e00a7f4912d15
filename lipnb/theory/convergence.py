"""Chapter *Convergence*: the descent lemma ({prf:ref}`lem-descent`) and the rate to ε-stationarity
({prf:ref}`thm-convergence`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..nets import GROUPS
from ..training.history import History
from .check import ATOL, RTOL, Check, _2d, _activation_of, _check_history, _compare, _need_every_step, _need_gd, _out


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
