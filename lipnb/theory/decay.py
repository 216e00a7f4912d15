"""Chapter *Learning-rate constraints*: the eventual-decay constraint ({prf:ref}`def-decay-constraint`),
the Lipschitz theorem that follows from it ({prf:ref}`thm-lr-constraint`) and the adaptive rule's
target ({prf:ref}`cor-adaptive`).

Checks that hold by construction (a rate function measured on the run it certifies) are labelled
``"consistency"``; the checks that could fail are labelled ``"prediction"``. The strongest of the latter
fix a bound from what is known at one step and verify it on steps taken afterwards:
:func:`predicted_bound` (the bound, and the step at which it is fixed), :func:`continue_run` (the run
continued with its own schedule), :func:`check_forward_bound` and :func:`continue_and_verify` (both at once).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._validate import check_int, check_real
from ..errors import BoundViolated
from ..nets import GROUPS, TwoLayerNet
from ..schedules import AdaptiveSchedule, RateFunction, Schedule, shift
from ..training.history import History, concat_histories
from ..training.loop import train
from .check import (
    Check,
    _2d,
    _check_history,
    _compare,
    _need_every_step,
    _need_gd,
    _per_member,
    _row_of,
    _violated,
)
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


def constraint_region(history: History, rate: Any, start: int) -> dict[str, Any]:
    """The set K to which {prf:ref}`thm-lr-constraint` confines the run: the radii of
    K = {‖A‖_op ≤ ‖A₀‖_op + P^A_τ + Γ, ‖a‖ ≤ ‖a₀‖ + P^a_τ + Γ, ‖B‖₂ ≤ ‖B₀‖ + P^B_τ + Γ, |b| ≤ |b₀| + P^b_τ + Γ}.

    By the path-length lemma ({prf:ref}`lem-path-length`, per group: ‖θ^g_t‖ ≤ ‖θ^g_0‖ + P^g_t, with
    ‖·‖_op ≤ ‖·‖_F for A) and P^g_t ≤ P^g_τ + Γ under the eventual-decay constraint, every θ_t lies in K;
    K is convex (a product of norm balls), so every segment [θ_t, θ_{t+1}] does too. The constraint is
    checked on the recorded steps first (:func:`check_decay_constraint`, ``log_every = 1``): K contains
    the run for t ≤ T; for later steps only if the constraint keeps holding (by construction for the
    adaptive rule's own rate function, not for a rate function measured by :func:`schedule_rate`).
    Returns a dict with keys ``"A_op", "a", "B", "b"`` (the radii, in parameter units; arrays per member
    for an ensemble) and ``"gamma"``; the first four are the arguments of
    :func:`lipnb.theory.smoothness_bound`.
    """
    h = _check_history(history)
    E1 = 1 if h.ensemble is None else h.ensemble
    rates = _check_rates(rate, E1)
    start = _start(start, h)
    check_decay_constraint(h, rates, start)
    row = _row_of(h, start)
    gamma = np.array([r.gamma for r in rates])
    out: dict[str, Any] = {}
    for key, g in (("A_op", "A"), ("a", "a"), ("B", "B"), ("b", "b")):
        v = _2d(h.norms[key])[0] + _2d(h.path_length[g])[row] + gamma
        out[key] = float(v[0]) if h.ensemble is None else v
    out["gamma"] = float(gamma[0]) if h.ensemble is None else gamma
    return out


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


def _forward(h: History, bound: Any, start: int, name: str, details: dict[str, Any], explain: str = "") -> Check:
    """L_σ‖A_t‖_op‖B_t‖ ≤ bound (one per member) at every logged t ≥ start: the shared body of the forward checks."""
    E1 = 1 if h.ensemble is None else h.ensemble
    b = _per_member(bound, E1, "bound")
    if (b <= 0).any():
        raise ValueError(f"bound must be > 0; got {bound!r}")
    rows = h.steps >= start
    single = h.ensemble is None
    details = {"bound": float(b[0]) if single else b, "start": start, **details}
    return _compare(
        name, _2d(h.lip_product)[rows], b[None, :], h.steps[rows], h.ensemble, details, explain, "prediction"
    )


def check_forward_bound(
    history: History, bound: Any, start: int, name: str | None = None, fixed_at: int | None = None
) -> Check:
    """A bound fixed in advance, verified on the steps after it was fixed: L_σ‖A_t‖_op‖B_t‖ ≤ ``bound`` at every
    logged step t ≥ ``start``.

    ``bound`` (one value, or one per member) must have been computed from the run up to some step
    ``fixed_at`` ≤ ``start`` only (for example {prf:ref}`thm-lr-constraint`'s bound fixed at τ by the
    adaptive rule of {prf:ref}`cor-adaptive`, or by :func:`predicted_bound`); nothing in the numbers says
    when it was computed, so that is the caller's part. ``fixed_at``, when given, is recorded in
    ``details`` and must not exceed ``start``. The left-hand side is ``history.lip_product``, the product
    bound of the Lipschitz constant, in the units of f (output per unit input).

    Kind: a **prediction** check: the steps it covers were not known when the bound was fixed, so it can
    fail (``BoundViolated`` at the first logged step above the bound).
    """
    h = _check_history(history)
    start = _start(start, h)
    details: dict[str, Any] = {}
    if fixed_at is not None:
        fixed_at = check_int("fixed_at", fixed_at, minimum=0, maximum=start)
        details["fixed_at"] = fixed_at
    if name is None:
        name = "Bound fixed in advance: L_σ‖A_t‖_op‖B_t‖ ≤ bound"
    elif not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    return _forward(h, bound, start, name, details)


def check_target(history: History, target: float, start: int = 0) -> Check:
    """The adaptive rule's guarantee ({prf:ref}`cor-adaptive`): L_σ‖A_t‖_op‖B_t‖ ≤ L (``target``) at every
    logged step t ≥ ``start``.

    ``start`` is where the guarantee begins: 0 for :func:`lipnb.train_to_target` with ``anchor="init"``, τ
    with ``anchor="tau"`` (before τ the product may exceed L); pass ``info["covers_from"]``.

    Kind: a **prediction** check: the target is fixed at τ, before the steps after τ that it covers, and the
    run must keep the product below it (see :func:`check_forward_bound`; with ``anchor="init"`` the steps
    before τ are covered too, by the path-length lemma, which is a consistency part).
    """
    h = _check_history(history)
    target = check_real("target", target, positive=True)
    start = _start(start, h)
    return _forward(h, target, start, "Adaptive rule: L_σ‖A_t‖_op‖B_t‖ ≤ L", {"target": target})


def _schedules_of(schedule: Any, E: int) -> list[Schedule]:
    """One schedule per member from a schedule or a sequence of E of them."""
    items = list(schedule) if isinstance(schedule, Sequence) and not isinstance(schedule, str) else [schedule] * E
    if len(items) != E:
        raise ValueError(f"schedule as a sequence must hold one schedule per ensemble member ({E}); got {len(items)}")
    for s in items:
        if not isinstance(s, Schedule):
            raise TypeError(
                f"schedule must be a lipnb schedule (or one per ensemble member); got {type(s).__name__}; "
                "per-group mappings are not supported here"
            )
    return items


def _sup_grad(h: History, lo: int, hi: int) -> float:
    """max over members of sup_{lo ≤ t < hi} ‖∇R(θ_t)‖ over the logged steps (nan if none)."""
    rows = (h.steps >= lo) & (h.steps < hi)
    return float(_2d(h.grad_norm_total)[rows].max()) if rows.any() else math.nan


def predicted_bound(history: History, schedule: Any) -> dict[str, Any]:
    """The bound of {prf:ref}`thm-lr-constraint` on L_σ‖A_t‖_op‖B_t‖ for the steps after the one where it is fixed.

    * A plain schedule (decay start τ): the bound of :func:`check_lr_constraint` with the rate function
      :func:`schedule_rate` measured on the run, G(k) = S·α_{τ+k}, S = sup_{τ ≤ t < T}‖∇R(θ_t)‖. It is fixed
      at T (``fixed_at``), the last step of the history. It *certifies* t ≤ T; for t > T it is only a
      prediction: the theorem applies after T only if the gradient norm stays ≤ S, which nothing guarantees.
      Needs ``log_every = 1``.
    * The adaptive rule (:func:`lipnb.schedules.adaptive`, start τ, rate function G with Γ = Σ_k G(k)), or
      one per member: fixed at τ, the smaller of the path-length lemma anchored at 0 and restarted at τ,
      L_σ·min((‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ), (‖A_τ‖_op + Γ)(‖B_τ‖ + Γ)). It holds for every
      t ≥ τ of any run whose steps after τ obey the rule ({prf:ref}`cor-adaptive`): a forward guarantee.
      The history must reach τ and have logged it.

    Returns a dict: ``bound`` (one value, or an array per member), ``fixed_at``, ``start`` (τ), ``gamma``
    (Γ, a distance in parameter space) and, for a plain schedule, ``S``.
    """
    h = _check_history(history)
    E1 = 1 if h.ensemble is None else h.ensemble
    single = h.ensemble is None
    T = h.total_steps
    if isinstance(schedule, Schedule) and not isinstance(schedule, AdaptiveSchedule):
        rate = schedule_rate(schedule, h)
        chk = check_lr_constraint(h, rate, schedule.start)
        return {
            "bound": chk.details["bound"],
            "fixed_at": T,
            "start": schedule.start,
            "gamma": chk.details["gamma"],
            "S": _sup_grad(h, schedule.start, T),
        }
    scheds = _schedules_of(schedule, E1)
    if not all(isinstance(s, AdaptiveSchedule) for s in scheds):
        raise TypeError(
            "schedule as a sequence must hold adaptive schedules (lipnb.schedules.adaptive); for a plain "
            "schedule pass one schedule shared by every member"
        )
    taus = {s.start for s in scheds}
    if len(taus) != 1:
        raise ValueError(f"the adaptive schedules of the members must share their start τ; got {sorted(taus)}")
    tau = taus.pop()
    if tau > T:
        raise ValueError(f"the adaptive rule starts at τ = {tau}, after the last step of the history ({T})")
    row = _row_of(h, tau)
    gamma = np.array([s.gamma for s in scheds])
    A0, B0 = _2d(h.norms["A_op"])[0], _2d(h.norms["B"])[0]
    At, Bt = _2d(h.norms["A_op"])[row], _2d(h.norms["B"])[row]
    PA, PB = _2d(h.path_length["A"])[row], _2d(h.path_length["B"])[row]
    L = h.lipschitz_activation
    bound = np.minimum(L * (A0 + PA + gamma) * (B0 + PB + gamma), L * (At + gamma) * (Bt + gamma))
    return {
        "bound": float(bound[0]) if single else bound,
        "fixed_at": tau,
        "start": tau,
        "gamma": float(gamma[0]) if single else gamma,
    }


def _shift_spec(schedule: Any, offset: int) -> Any:
    if isinstance(schedule, Schedule):
        return shift(schedule, offset)
    if isinstance(schedule, Mapping):
        return {g: _shift_spec(s, offset) for g, s in schedule.items()}
    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        return [_shift_spec(s, offset) for s in schedule]
    raise TypeError(
        "schedule must be a lipnb schedule, a mapping group -> schedule, or one per member; "
        f"got {type(schedule).__name__}"
    )


def continue_run(net: TwoLayerNet, history: History, x: Any, y: Any, schedule: Any, steps: int) -> tuple[Any, History]:
    """Continue a full-batch GD run by ``steps`` more steps with the same schedule; return (net, combined history).

    ``net`` is the network at the end of ``history`` (step T; checked against the recorded norms), ``x``,
    ``y`` the training data of the run and ``schedule`` the schedule of the whole run counted from step 0
    (for :func:`lipnb.train_to_target`, ``info["schedule"]``). The continuation uses
    ``lipnb.schedules.shift(schedule, T)``, the same loss and logging interval, so that the combined history
    (:func:`lipnb.concat_histories`) is the history of one run of T + ``steps`` steps.
    """
    h = _check_history(history)
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    _need_gd(h, "continue_run")
    steps = check_int("steps", steps, minimum=1)
    n = net.norms()
    for key in ("A_op", "B", "a", "b"):
        now = np.atleast_1d(n[key].detach().cpu().numpy()).astype(np.float64)
        then = _2d(h.norms[key])[-1]
        if now.shape != then.shape or not np.allclose(now, then, rtol=1e-10, atol=1e-14):
            raise ValueError(
                f"net is not the network at the end of history: norm {key} is {now} but the history ended at {then}"
            )
    T = h.total_steps
    final, more = train(
        net,
        x,
        y,
        _shift_spec(schedule, T),
        steps,
        loss=h.loss_name,
        delta=1.0 if h.delta is None else h.delta,
        log_every=h.log_every,
    )
    return final, concat_histories(h, more)


def continue_and_verify(
    net: TwoLayerNet,
    history: History,
    x: Any,
    y: Any,
    schedule: Any,
    bound: Any = None,
    fixed_at: int | None = None,
    factor: int = 10,
    start: int | None = None,
) -> Check:
    """Fix a Lipschitz bound, run ``factor`` times longer, and verify the bound on the steps it did not see.

    With the run so far (``net`` at the end of ``history``, T steps, on the data ``x``, ``y``):

    1. the bound: ``bound`` as given (one value or one per member, fixed at ``fixed_at``), else
       :func:`predicted_bound` (the adaptive rule's, fixed at τ; a plain schedule's, measured up to T and
       fixed at T);
    2. the run continued to ``factor``·T steps with the same schedule (:func:`continue_run`);
    3. :func:`check_forward_bound` on the combined run from ``start`` (default ``fixed_at``) to ``factor``·T.

    For the adaptive rule this verifies {prf:ref}`cor-adaptive`'s forward guarantee on ``factor`` − 1 times
    more steps than the run it came from; with ``train_to_target`` pass ``schedule=info["schedule"]`` and,
    for the target itself, ``bound=info["guaranteed_bound"]``, ``fixed_at=info["start"]``,
    ``start=info["covers_from"]``. For a plain schedule the bound of {prf:ref}`thm-lr-constraint` with the
    measured S is a certificate up to T only, and this is the test of whether it also held afterwards: it
    fails (``BoundViolated``, naming the step and both sides, and the gradient norms before and after T)
    when the continued run's gradients exceed S enough to carry the weights past the bound.

    Kind: a **prediction** check. ``details`` hold ``bound``, ``fixed_at``, ``continued_from`` (T),
    ``verified_until`` (``factor``·T), ``S_until_T`` and ``S_after_T`` (the largest gradient norm after the
    decay start up to T, and from T on; for the adaptive rule, after τ), ``net`` (the final network) and
    ``history`` (the combined history).
    """
    h = _check_history(history)
    factor = check_int("factor", factor, minimum=2)
    T = h.total_steps
    if T < 1:
        raise ValueError("history must hold at least one step to be continued")
    if bound is None:
        if fixed_at is not None:
            raise ValueError("fixed_at is for a bound given by the caller; without bound it comes from predicted_bound")
        pb = predicted_bound(h, schedule)
        bound, fixed_at = pb["bound"], pb["fixed_at"]
        tau = pb["start"]
    else:
        E1 = 1 if h.ensemble is None else h.ensemble
        first = schedule if isinstance(schedule, Schedule) else _schedules_of(schedule, E1)[0]
        tau = first.start
        if fixed_at is None:
            fixed_at = tau if isinstance(first, AdaptiveSchedule) else T
        fixed_at = check_int("fixed_at", fixed_at, minimum=0, maximum=T)
    start = fixed_at if start is None else check_int("start", start, minimum=0)
    final, combined = continue_run(net, h, x, y, schedule, (factor - 1) * T)
    s_before, s_after = _sup_grad(combined, tau, T), _sup_grad(combined, max(T, tau), factor * T)
    details = {
        "fixed_at": fixed_at,
        "continued_from": T,
        "verified_until": factor * T,
        "S_until_T": s_before,
        "S_after_T": s_after,
        "net": final,
        "history": combined,
    }
    explain = (
        f"bound fixed at step {fixed_at}; sup ‖∇R‖ after τ = {tau}: {s_before:.6g} up to T = {T}, "
        f"{s_after:.6g} from T to {factor * T}"
    )
    name = f"Bound fixed at step {fixed_at}, verified to step {factor * T}: L_σ‖A_t‖_op‖B_t‖ ≤ bound"
    return _forward(combined, bound, start, name, details, explain)
