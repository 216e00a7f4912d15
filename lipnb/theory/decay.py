"""Chapter *Learning-rate constraints*: the eventual-decay constraint ({prf:ref}`def-decay-constraint`),
the Lipschitz theorem that follows from it ({prf:ref}`thm-lr-constraint`) and the adaptive rule's
target ({prf:ref}`cor-adaptive`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validate import check_int, check_real
from ..errors import BoundViolated
from ..nets import GROUPS
from ..schedules import AdaptiveSchedule, RateFunction, Schedule
from ..training.history import History
from .check import Check, _2d, _check_history, _compare, _need_every_step, _per_member, _row_of, _violated
from .initialization import init_operator_bounds


def _check_rates(rate: Any, E: int) -> list[RateFunction]:
    """One RateFunction per member from a RateFunction or a sequence of E of them."""
    rates = list(rate) if isinstance(rate, Sequence) and not isinstance(rate, str) else [rate] * E
    if len(rates) != E:
        raise ValueError(f"rate as a sequence must hold one rate function per ensemble member ({E}); got {len(rates)}")
    for r in rates:
        if not isinstance(r, RateFunction):
            raise TypeError(
                f"rate must be a lipnb.schedules.RateFunction (exponential_rate, polynomial_rate or "
                f"schedule_rate(...)), or one per ensemble member; got {type(r).__name__}"
            )
    return rates


def _decay_rows(
    history: History, rates: list[RateFunction], start: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows τ ≤ t < T: (steps, max_g α^g_t‖∇_g R(θ_t)‖ (T', E), the binding group index, G(t − τ) (T', E))."""
    rows = np.flatnonzero((history.steps >= start) & (history.steps < history.total_steps))
    sl = np.stack([_2d(history.step_length[g])[rows] for g in GROUPS], axis=-1)  # (T', E, 4)
    k = history.steps[rows] - start
    G = np.stack([np.asarray(r(k), dtype=np.float64).reshape(-1) for r in rates], axis=1)
    return history.steps[rows], sl.max(axis=-1), sl.argmax(axis=-1), G


def _kind_of(rates: list[RateFunction]) -> str:
    """A rate function measured on the run (:func:`schedule_rate`) makes the constraint true by construction."""
    return "consistency" if any(getattr(r, "measured_until", None) is not None for r in rates) else "prediction"


def _start(start: Any, history: History) -> int:
    return check_int("start", start, minimum=0, maximum=history.total_steps)


def check_decay_constraint(history: History, rate: Any, start: int) -> Check:
    """The hypothesis of {prf:ref}`thm-lr-constraint`: α^g_t ‖∇_g R(θ_t)‖ ≤ G(t − τ) for every step τ ≤ t < T
    taken and every group g.

    ``rate`` is a :class:`~lipnb.schedules.RateFunction` G, or one per member for an ensemble (as
    :func:`train_to_target` builds). ``lhs`` is max_g α^g_t ‖∇_g R(θ_t)‖ (the binding group per step is
    in ``details["group"]``), ``rhs`` is G(t − τ). The record at the final step T (no step taken from it)
    is not checked. Needs ``log_every = 1``.

    Kind: a **consistency** check when G was measured on this run by :func:`schedule_rate` (then the
    constraint holds by construction on t < T), a **prediction** check when G was fixed before the steps
    it covers (the adaptive rule's own rate function, or any G given in advance).
    """
    h = _check_history(history)
    E1 = 1 if h.ensemble is None else h.ensemble
    rates = _check_rates(rate, E1)
    start = _start(start, h)
    _need_every_step(h, "the eventual-decay constraint")
    steps, lhs, grp, G = _decay_rows(h, rates, start)
    if steps.size == 0:
        raise ValueError(f"start = {start} leaves no step to check (the run has T = {h.total_steps} steps)")
    bad = _violated(lhs, G)
    explain = f"start τ = {start}"
    if bad.any():
        row, col = np.argwhere(bad)[0]
        explain = f"group {GROUPS[grp[row, col]]}; rate {rates[col].description}; " + explain
    desc = rates[0].description if E1 == 1 else [r.description for r in rates]
    return _compare(
        "Decay constraint: α^g_t‖∇_g R(θ_t)‖ ≤ G(t−τ)",
        lhs,
        G,
        steps,
        h.ensemble,
        {"group": np.array(GROUPS)[grp], "start": start, "rate": desc},
        explain,
        _kind_of(rates),
    )


def constraint_holds(history: History, rate: Any, start: int) -> bool:
    """Whether the eventual-decay constraint holds on the run (see :func:`check_decay_constraint`)."""
    try:
        check_decay_constraint(history, rate, start)
    except BoundViolated:
        return False
    return True


def lr_constraint_bound(A0_op: Any, B0_norm: Any, PA_tau: Any, PB_tau: Any, gamma: Any, L_sigma: float) -> Any:
    """LR-constraint theorem: sup_t Lip(f_{θ_t}) ≤ L_σ (‖A₀‖_op + P^A_τ + Γ)(‖B₀‖₂ + P^B_τ + Γ).

    Arguments may be arrays (one value per member); with the Initialization bound bounds in place of ‖A₀‖_op and
    ‖B₀‖₂ it holds with probability ≥ 1 − 2e^{−s²/2} over the initialization.
    """
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    vals = {}
    for name, v in (("A0_op", A0_op), ("B0_norm", B0_norm), ("PA_tau", PA_tau), ("PB_tau", PB_tau), ("gamma", gamma)):
        arr = np.asarray(v, dtype=np.float64)
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{name} must be finite and >= 0; got {v!r}")
        vals[name] = arr
    g = vals["gamma"]
    out = L_sigma * (vals["A0_op"] + vals["PA_tau"] + g) * (vals["B0_norm"] + vals["PB_tau"] + g)
    return float(out) if out.ndim == 0 else out


def check_lr_constraint(
    history: History, rate: Any, start: int, lip_upper: Any = None, s: float | None = None
) -> Check:
    """Check LR-constraint theorem on a run: the constraint, then its conclusions at every step.

    1. the eventual-decay constraint (:func:`check_decay_constraint`; ``rate`` may hold one rate
       function per member);
    2. P^g_t ≤ P^g_τ + Γ for all t and every group;
    3. L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ) for all t (the returned check);
    4. if ``lip_upper`` is given, the certified Lip(f_T) of the final network ≤ the same bound.

    With ``s`` given, ``details["bound_with_prop_3_1"]`` is the bound with ‖A₀‖_op, ‖B₀‖ replaced by
    their initialization bounds (valid with probability ≥ 1 − 2e^{−s²/2} over a LeCun initialization).

    Kind: with a rate function measured on the run (:func:`schedule_rate`), a **consistency** check that
    certifies the run *a posteriori* for t ≤ T only (``details["valid_until"]`` = T): nothing is said
    about later steps, whose gradients were not measured. With a rate function fixed in advance (the
    adaptive rule), a **prediction** check: the bound, fixed at τ, is tested on every later step.
    """
    h = _check_history(history)
    E = h.ensemble
    rates = _check_rates(rate, 1 if E is None else E)
    start = _start(start, h)
    gamma = np.array([r.gamma for r in rates])
    constraint = check_decay_constraint(h, rates, start)
    tau_row = _row_of(h, start)
    P = {g: _2d(h.path_length[g]) for g in GROUPS}
    excess = np.stack([P[g] - P[g][tau_row] for g in GROUPS], axis=-1).max(axis=-1)
    kind = _kind_of(rates)
    paths = _compare("LR-constraint theorem: P^g_t − P^g_τ ≤ Γ", excess, gamma[None, :], h.steps, E, kind=kind)
    A0, B0 = _2d(h.norms["A_op"])[0], _2d(h.norms["B"])[0]
    bound = lr_constraint_bound(A0, B0, P["A"][tau_row], P["B"][tau_row], gamma, h.lipschitz_activation)
    details: dict[str, Any] = {
        "gamma": float(gamma[0]) if E is None else gamma,
        "start": start,
        "bound": bound[0] if E is None else bound,
        "parts": [constraint, paths],
        "valid_until": h.total_steps if kind == "consistency" else None,
    }
    if s is not None:
        A_b, B_b, prob = init_operator_bounds(h.width, h.d, s)
        with_init = lr_constraint_bound(A_b, B_b, P["A"][tau_row], P["B"][tau_row], gamma, h.lipschitz_activation)
        details["bound_with_prop_3_1"] = float(with_init[0]) if E is None else with_init
        details["probability"] = prob
    if lip_upper is not None:
        ups = _per_member(lip_upper, A0.shape[0], "lip_upper")
        details["parts"].append(
            _compare("LR-constraint theorem: certified Lip(f_T) ≤ bound", ups[None, :], bound[None, :], None, E)
        )
    return _compare(
        "LR-constraint theorem: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖+P^A_τ+Γ)(‖B₀‖+P^B_τ+Γ)",
        _2d(h.lip_product),
        bound[None, :],
        h.steps,
        E,
        details,
        kind=kind,
    )


def _lr_matrix(schedule: Any, n: int, E: int) -> np.ndarray:
    """max_g α^g_t for t < n from a plain schedule, a per-group mapping, or a per-member sequence: (n, E)."""

    def one(spec: Any, where: str) -> np.ndarray:
        if isinstance(spec, AdaptiveSchedule):
            raise TypeError(
                f"{where} is adaptive: its learning rates depend on the run; pass schedule=None to use the "
                "rates recorded in the history"
            )
        if isinstance(spec, Schedule):
            return spec.values(n)
        if isinstance(spec, Mapping) and set(spec) == set(GROUPS):
            return np.max(np.stack([one(spec[g], f"{where}[{g!r}]") for g in GROUPS]), axis=0)
        raise TypeError(f"{where} must be a lipnb schedule or a mapping group -> schedule; got {type(spec).__name__}")

    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        if len(schedule) != E:
            raise ValueError(
                f"schedule as a sequence must have one entry per ensemble member ({E}); got {len(schedule)}"
            )
        return np.stack([one(s, f"schedule[{i}]") for i, s in enumerate(schedule)], axis=1)
    return np.repeat(one(schedule, "schedule")[:, None], E, axis=1)


def _schedule_total(schedule: Any, E: int) -> np.ndarray:
    """Σ_t max_g α^g_t over all steps (bounded by Σ_g-max of the per-group totals), shape (E,)."""

    def one(spec: Any) -> float:
        if isinstance(spec, Schedule):
            return spec.total()
        # max_g α^g_t ≤ Σ_g α^g_t, so the sum of the per-group totals bounds Σ_t max_g α^g_t
        totals = [spec[g].total() for g in GROUPS]
        same = all(spec[g] is spec[GROUPS[0]] for g in GROUPS)
        return totals[0] if same else float(sum(totals))

    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        return np.array([one(s) for s in schedule])
    return np.full(E, one(schedule))


def _check_schedule_matches(schedule: Any, history: History) -> np.ndarray:
    """The schedule's max_g α^g_t for t < T+1 (T+1, E), after checking it reproduces the recorded rates."""
    h = history
    E = 1 if h.ensemble is None else h.ensemble
    table = _lr_matrix(schedule, h.total_steps + 1, E)
    recorded = np.stack([_2d(h.lr[g]) for g in GROUPS], axis=-1).max(axis=-1)
    if not np.allclose(table[h.steps], recorded, rtol=1e-9, atol=0.0):
        row = int(np.argwhere(~np.isclose(table[h.steps], recorded, rtol=1e-9, atol=0.0))[0, 0])
        raise ValueError(
            f"schedule does not describe this run: at step {int(h.steps[row])} it gives "
            f"{table[h.steps[row]]} but the history recorded {recorded[row]}"
        )
    return table


def schedule_rate(schedule: Schedule, history: History) -> RateFunction:
    """A rate function under which a plain schedule's run obeys LR-constraint theorem's constraint, a posteriori.

    G(k) = α_{τ+k} · S with S = sup_{τ ≤ t < T} ‖∇R(θ_t)‖ measured on the run (the max over members for
    an ensemble), τ = ``schedule.start``. Then α^g_t ‖∇_g R(θ_t)‖ ≤ α_t S = G(t − τ) for τ ≤ t < T, so
    LR-constraint theorem applies to the run with Γ = S · Σ_k α_{τ+k}. For :func:`~lipnb.schedules.eventual_exponential`
    G(k) = lr·S·e^{−rk}, the same function as ``exponential_rate(lr·S, rate)`` (built here from the
    schedule itself, so that G matches α_{τ+k} to the last bit). The rate function is a measured
    quantity: it certifies the run it was measured on, not future runs. Needs ``log_every = 1`` (the sup
    is over every step).
    """
    h = _check_history(history)
    if isinstance(schedule, AdaptiveSchedule):
        raise TypeError(
            "schedule is adaptive: it obeys the constraint with its own rate function, schedule.rate_function"
        )
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a plain lipnb schedule; got {type(schedule).__name__}")
    _need_every_step(h, "schedule_rate")
    tau = schedule.start
    if tau > h.total_steps - 1:
        raise ValueError(f"the schedule starts decaying at τ = {tau}, after the last step taken ({h.total_steps - 1})")
    _check_schedule_matches(schedule, h)
    k = np.arange(h.total_steps + 1 - tau)
    if not np.allclose(schedule.G(k), schedule.values(h.total_steps + 1)[tau:], rtol=1e-12, atol=0.0):
        raise ValueError(f"the schedule's rate function does not reproduce α_(τ+k) ({schedule.description})")
    rows = (h.steps >= tau) & (h.steps < h.total_steps)
    S = float(_2d(h.grad_norm_total)[rows].max())
    rf = schedule.rate_function
    gamma = S * rf.gamma if rf.summable else math.inf
    desc = f"{S:.6g} × [{rf.description}] (schedule {schedule.description} × measured sup ‖∇R‖)"
    out = RateFunction(lambda kk: S * np.asarray(schedule.G(kk.astype(np.int64)), dtype=np.float64), gamma, desc)
    out.measured_until = h.total_steps  # S is known on t < T only: the rate function certifies t <= T
    return out


def check_target(history: History, target: float, start: int = 0) -> Check:
    """The adaptive rule's guarantee ({prf:ref}`cor-adaptive`): L_σ‖A_t‖_op‖B_t‖ ≤ L (``target``) at every
    logged step t ≥ ``start``.

    ``start`` is where the guarantee begins: 0 for :func:`lipnb.train_to_target` with ``anchor="init"``, τ
    with ``anchor="tau"`` (before τ the product may exceed L); pass ``info["covers_from"]``. A
    **prediction** check: the target is fixed before the steps it covers, and the run's steps must keep
    the product below it.
    """
    h = _check_history(history)
    target = check_real("target", target, positive=True)
    start = _start(start, h)
    rows = h.steps >= start
    return _compare(
        "Adaptive rule: L_σ‖A_t‖_op‖B_t‖ ≤ L",
        _2d(h.lip_product)[rows],
        target,
        h.steps[rows],
        h.ensemble,
        {"target": target, "start": start},
        kind="prediction",
    )
