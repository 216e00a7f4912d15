"""Each result of THEORY.md §3–§7: its bound, computed from its inputs, and its numerical check.

For every result there is a function computing the bound and a ``check_…`` companion that takes a
training :class:`~lipnb.train.History` (and the network or data where needed). A check raises
:class:`~lipnb.errors.BoundViolated`, naming the step and both sides, when the inequality fails on the
run, and otherwise returns a :class:`Check`: the margins ``rhs − lhs ≥ 0`` (how far from tight), the
ratios ``rhs / lhs`` (how loose), arrays over the logged steps, and a one-line ``str`` for a table.

Results (THEORY.md numbering):

* Prop 3.1 — :func:`init_operator_bounds`, :func:`init_lipschitz_bound`, :func:`check_init`;
* Lemma 4.1 — :func:`path_length_bound`, :func:`check_path_length`;
* Thm 5.1 — :func:`constraint_holds`, :func:`check_decay_constraint`, :func:`lipschitz_bound_thm51`,
  :func:`check_theorem_5_1`, :func:`schedule_rate`;
* Cor 5.2 — :func:`gamma_for_target`, :func:`train_to_target`, :func:`concat_histories`,
  :func:`check_target`;
* Cor 5.3 — :func:`huber_gradient_bounds`, :func:`check_huber_gradients`, :func:`c0`,
  :func:`apriori_lipschitz_bound`, :func:`check_corollary_5_3`;
* Cor 5.4 — :func:`check_corollary_5_4`;
* Thm 6.1 — :func:`check_sufficient_decrease`, :func:`min_gradient_bound`, :func:`check_theorem_6_1`,
  :func:`smoothness_lower_estimate`;
* Thm 7.1 — :func:`covering_log_number`, :func:`generalization_bound`,
  :func:`data_dependent_generalization_bound`, :func:`parameter_lipschitz`,
  :func:`parameter_counting_bound`, :func:`check_generalization`, :func:`sublinear_exponent`.

Floating-point tolerance. An inequality ``lhs ≤ rhs`` counts as violated only when
``lhs > rhs + RTOL·max(|lhs|, |rhs|) + ATOL`` with ``RTOL = 1e-12`` and ``ATOL = 1e-15``: room for the
round-off of float64 sums and norms (a few hundred ulps), far below any mathematical slack. Margins are
reported without the tolerance, so a margin can be a tiny negative number where a bound is attained
(e.g. Lemma 4.1 at t = 0, where both sides are equal).

Ensembles. Histories of ensembles hold arrays of shape (T_log, E). Every check runs on all members at
once, raises at the earliest violating step (naming the member) and reports the worst member.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_choice, check_int, check_real
from .activations import Activation, activation as get_activation
from .errors import BoundViolated
from .losses import LOSSES
from .nets import GROUPS, TwoLayerNet
from .schedules import AdaptiveSchedule, RateFunction, Schedule, adaptive, constant, exponential_rate
from .train import History, train

__all__ = [
    "RTOL",
    "ATOL",
    "Check",
    # Prop 3.1
    "init_operator_bounds",
    "init_lipschitz_bound",
    "check_init",
    # Lemma 4.1
    "path_length_bound",
    "check_path_length",
    # Thm 5.1
    "constraint_holds",
    "check_decay_constraint",
    "lipschitz_bound_thm51",
    "check_theorem_5_1",
    "schedule_rate",
    # Cor 5.2
    "gamma_for_target",
    "train_to_target",
    "concat_histories",
    "check_target",
    # Cor 5.3 / 5.4
    "huber_gradient_bounds",
    "check_huber_gradients",
    "c0",
    "apriori_lipschitz_bound",
    "check_corollary_5_3",
    "check_corollary_5_4",
    # Thm 6.1
    "check_sufficient_decrease",
    "min_gradient_bound",
    "check_theorem_6_1",
    "smoothness_lower_estimate",
    # Thm 7.1
    "covering_log_number",
    "generalization_bound",
    "data_dependent_generalization_bound",
    "parameter_lipschitz",
    "parameter_counting_bound",
    "check_generalization",
    "sublinear_exponent",
]

RTOL = 1e-12
ATOL = 1e-15


# ====================================================================================== the result type
@dataclass
class Check:
    """The outcome of a check that passed: ``lhs ≤ rhs`` held everywhere it was evaluated.

    Attributes
    ----------
    name: the result and the inequality (e.g. ``"Lemma 4.1: L_σ‖A‖_op‖B‖ ≤ L_σ(‖A₀‖+P^A)(‖B₀‖+P^B)"``).
    holds: True (a failed check raises instead; for :func:`check_init` on an ensemble, True means the
        number of members outside the bounds is plausible, see ``details``).
    worst_margin: min of ``rhs − lhs`` over the steps (and members) checked.
    worst_step: the step where that minimum is attained (``None`` when not indexed by steps).
    worst_member: the ensemble member where it is attained (``None`` for a single network).
    ratio: min of ``rhs / lhs`` over the entries with ``lhs > 0`` (the tightest point; ``inf`` if none).
    final_ratio: ``rhs / lhs`` at the last step checked (for the worst member of the last step).
    lhs, rhs: the two sides, arrays over the logged steps checked (shape (T,) or (T, E)) or scalars.
    steps: the steps of the rows of ``lhs``/``rhs`` (``None`` when not indexed by steps).
    details: extra numbers (constants used, sub-checks under ``"parts"``).
    """

    name: str
    holds: bool
    worst_margin: float
    worst_step: int | None
    worst_member: int | None
    ratio: float
    final_ratio: float
    lhs: Any
    rhs: Any
    steps: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        where = f" at step {self.worst_step}" if self.worst_step is not None else ""
        who = f" (member {self.worst_member})" if self.worst_member is not None else ""
        status = "holds" if self.holds else "FAILS"
        return (f"{self.name}: {status}; worst margin {self.worst_margin:.4g}{where}{who}; "
                f"min rhs/lhs {self.ratio:.4g}; final rhs/lhs {self.final_ratio:.4g}")

    def to_dict(self) -> dict[str, Any]:
        """The scalar fields and scalar details, for a row of a pandas DataFrame."""
        out: dict[str, Any] = {
            "name": self.name, "holds": self.holds, "worst_margin": self.worst_margin,
            "worst_step": self.worst_step, "worst_member": self.worst_member, "ratio": self.ratio,
            "final_ratio": self.final_ratio,
        }
        for k, v in self.details.items():
            if isinstance(v, (bool, int, float, str, np.floating, np.integer)) or v is None:
                out[k] = v.item() if isinstance(v, (np.floating, np.integer)) else v
        return out


def _violated(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Where ``lhs ≤ rhs`` fails beyond round-off (NaN counts as a failure)."""
    tol = RTOL * np.maximum(np.abs(lhs), np.abs(rhs)) + ATOL
    with np.errstate(invalid="ignore"):
        return ~(lhs <= rhs + tol)


def _compare(name: str, lhs: Any, rhs: Any, steps: np.ndarray | None, ensemble: int | None,
             details: dict[str, Any] | None = None, explain: str = "") -> Check:
    """Check ``lhs ≤ rhs`` entrywise; raise at the earliest violation, else return the margins.

    Arrays are (T,) or (T, E) (rows are the logged steps ``steps``, columns the members), or anything
    broadcastable to that.
    """
    L2, R2, shape = _rows(lhs, rhs)
    bad = _violated(L2, R2)
    if bad.any():
        row, col = np.argwhere(bad)[0]  # earliest row (step), then the first member
        step = int(steps[row]) if steps is not None else None
        member = f"ensemble member {col}" if ensemble is not None else ""
        where = "" if steps is not None else (f"entry {row}" if L2.shape[0] > 1 else "")
        parts = [p for p in (member, where, explain) if p]
        raise BoundViolated(name, step, L2[row, col], R2[row, col], "; ".join(parts))
    return _summarize(name, lhs, rhs, steps, ensemble, details)


def _rows(lhs: Any, rhs: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    L2, R2 = np.broadcast_arrays(np.asarray(lhs, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    shape = L2.shape
    L2 = L2.reshape(shape[0] if shape else 1, -1)
    return L2, R2.reshape(L2.shape), shape


def _summarize(name: str, lhs: Any, rhs: Any, steps: np.ndarray | None, ensemble: int | None,
               details: dict[str, Any] | None = None) -> Check:
    """The margins and ratios of ``lhs ≤ rhs`` (no checking)."""
    L2, R2, shape = _rows(lhs, rhs)
    margin = R2 - L2
    if margin.size == 0:
        raise ValueError(f"{name}: nothing to check (no steps in range)")
    row, col = np.unravel_index(int(np.argmin(margin)), margin.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(L2 > 0, R2 / np.where(L2 > 0, L2, 1.0), np.inf)
    return Check(
        name=name, holds=True, worst_margin=float(margin[row, col]),
        worst_step=int(steps[row]) if steps is not None else None,
        worst_member=int(col) if ensemble is not None else None,
        ratio=float(ratios.min()), final_ratio=float(ratios[-1].min()),
        lhs=L2.reshape(shape) if shape else float(L2[0, 0]),
        rhs=R2.reshape(shape) if shape else float(R2[0, 0]),
        steps=steps, details=dict(details or {}),
    )


# ====================================================================================== history access
def _check_history(history: Any) -> History:
    if not isinstance(history, History):
        raise TypeError(f"history must be a lipnb.History (as returned by lipnb.train); got {type(history).__name__}")
    return history


def _need_every_step(history: History, what: str) -> None:
    if history.log_every != 1:
        raise ValueError(
            f"{what} needs every step of the run, but history.log_every = {history.log_every}; "
            "train again with log_every=1"
        )
    if len(history.steps) != history.total_steps + 1:
        raise ValueError(f"{what} needs every step of the run, but the history has gaps in its steps")


def _need_gd(history: History, what: str) -> None:
    """Results whose proof uses θ_{t+1} = θ_t − α_t ∇R(θ_t) on the full data need a full-batch GD run."""
    if not history.full_batch_gd:
        raise ValueError(
            f"{what} assumes full-batch gradient descent, but this run used batch_size={history.batch_size}, "
            f"momentum={history.momentum}; Lemma 4.1 (check_path_length) and the decay constraint still apply"
        )


def _2d(a: Any) -> np.ndarray:
    """A history array as (T, E): a single network's (T,) becomes (T, 1)."""
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def _out(a: np.ndarray, history: History) -> np.ndarray:
    """Back to the history's convention: (T,) for a single network, (T, E) for an ensemble."""
    return a[:, 0] if history.ensemble is None else a


def _per_member(v: Any, E: int, name: str) -> np.ndarray:
    """A scalar or a length-E array of reals as a float array of shape (E,)."""
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(E, float(arr))
    if arr.shape != (E,):
        raise ValueError(
            f"{name} must be a real number or hold one value per ensemble member ({E}); got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr}")
    return arr


def _activation_of(history: History) -> Activation:
    """The activation named by ``history.activation`` (e.g. ``"tanh"`` or ``"leaky_relu(0.01)"``)."""
    m = re.fullmatch(r"\s*([a-z_]+)\s*(?:\(\s*([-+0-9.eE]+)\s*\))?\s*", history.activation)
    if m is None:
        raise ValueError(f"cannot parse the activation {history.activation!r} recorded in the history")
    if m.group(2) is not None:
        return get_activation(m.group(1), float(m.group(2)))
    return get_activation(m.group(1))


def _row_of(history: History, step: int) -> int:
    idx = np.flatnonzero(history.steps == step)
    if idx.size == 0:
        raise ValueError(f"step {step} was not logged in this history (log_every = {history.log_every})")
    return int(idx[0])


def _check_net(net: Any) -> TwoLayerNet:
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    return net


# ====================================================================================== Prop 3.1
def init_operator_bounds(m: int, d: int, s: float) -> tuple[float, float, float]:
    """Prop 3.1: the bounds on ‖A₀‖_op and ‖B₀‖₂ at LeCun initialization and their probability.

    With A₀ = G/√d (G ∈ R^{m×d} standard Gaussian) and B₀ = g/√m (g ∈ R^{1×m}), Gordon's bound plus
    Gaussian concentration give P(‖G‖_op > √m + √d + s) ≤ e^{−s²/2}, so with probability at least
    1 − 2e^{−s²/2} (a union bound over the two events; floored at 0 when s is small):

        ‖A₀‖_op ≤ (√m + √d + s)/√d,      ‖B₀‖₂ ≤ (√m + 1 + s)/√m.

    Returns ``(A_bound, B_bound, probability)``.
    """
    m = check_int("m", m, minimum=1)
    d = check_int("d", d, minimum=1)
    s = check_real("s", s, nonnegative=True)
    A_bound = (math.sqrt(m) + math.sqrt(d) + s) / math.sqrt(d)
    B_bound = (math.sqrt(m) + 1.0 + s) / math.sqrt(m)
    return A_bound, B_bound, max(0.0, 1.0 - 2.0 * math.exp(-0.5 * s * s))


def init_lipschitz_bound(m: int, d: int, s: float, L_sigma: float) -> float:
    """Λ₀(m, d, s) = L_σ (√m + √d + s)/√d · (√m + 1 + s)/√m: Lip(f_θ₀) ≤ Λ₀ w.p. ≥ 1 − 2e^{−s²/2}."""
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    A_bound, B_bound, _ = init_operator_bounds(m, d, s)
    return L_sigma * A_bound * B_bound


def check_init(net: TwoLayerNet, s: float, level: float = 1e-6) -> Check:
    """Check Prop 3.1 on a LeCun-initialized network or ensemble: ‖A₀‖_op and ‖B₀‖₂ against their bounds.

    The bounds hold with probability ≥ 1 − 2e^{−s²/2} per network (the caller is responsible for
    ``net`` being a fresh ``init="lecun"`` draw; nothing in the weights says how they were drawn).

    * Single network: raises ``BoundViolated`` if either bound fails, stating the probability
      2e^{−s²/2} of that event.
    * Ensemble of E members: each member fails with probability at most p = min(1, 2e^{−s²/2}), so the
      number K of failures is stochastically dominated by Binomial(E, p). Raises only when K is
      implausible: P(Binomial(E, p) ≥ K) < ``level`` (default 1e-6). ``details`` holds the fraction of
      members within the bounds.

    ``lhs``/``rhs`` are ``[‖A₀‖_op, ‖B₀‖₂]`` and their bounds (shape (2,), or (2, E) for an ensemble).
    """
    from scipy.stats import binom

    net = _check_net(net)
    s = check_real("s", s, nonnegative=True)
    level = check_real("level", level, positive=True, high=1.0)
    A_bound, B_bound, prob = init_operator_bounds(net.width, net.d, s)
    norms = net.norms()
    A_op = np.atleast_1d(norms["A_op"].detach().cpu().numpy()).astype(np.float64)
    B = np.atleast_1d(norms["B"].detach().cpu().numpy()).astype(np.float64)
    lhs = np.stack([A_op, B], axis=-1)  # (E, 2)
    rhs = np.broadcast_to(np.array([A_bound, B_bound]), lhs.shape)
    bad = _violated(lhs, rhs).any(axis=1)
    p_fail = min(1.0, 2.0 * math.exp(-0.5 * s * s))
    E = lhs.shape[0]
    K = int(bad.sum())
    tail = float(binom.sf(K - 1, E, p_fail)) if K > 0 else 1.0
    L_sigma = net.activation.lipschitz
    details = {
        "A_bound": A_bound, "B_bound": B_bound, "probability": prob, "failure_probability_bound": p_fail,
        "members": E, "failures": K, "fraction_within": 1.0 - K / E, "tail_probability": tail,
        "Lambda0": L_sigma * A_bound * B_bound,
        "lip_product": float(L_sigma * A_op[0] * B[0]) if net.ensemble is None else L_sigma * A_op * B,
    }
    name = "Prop 3.1: ‖A₀‖_op ≤ (√m+√d+s)/√d, ‖B₀‖ ≤ (√m+1+s)/√m"
    if net.ensemble is None:
        if K:
            j = int(np.argmax(lhs[0] - rhs[0]))
            raise BoundViolated(
                name, None, lhs[0, j], rhs[0, j],
                f"{'‖A₀‖_op' if j == 0 else '‖B₀‖₂'} above its bound at s = {s:g}; an event of probability "
                f"at most {p_fail:.3g} for a LeCun initialization",
            )
        return _summarize(name, lhs[0], rhs[0], None, None, details)
    if K and tail < level:
        e = int(np.flatnonzero(bad)[0])
        j = int(np.argmax(lhs[e] - rhs[e]))
        raise BoundViolated(
            name, None, lhs[e, j], rhs[e, j],
            f"{K} of {E} members outside the bounds (first: member {e}); with failure probability at most "
            f"{p_fail:.3g} per member, P(Binomial({E}, {p_fail:.3g}) >= {K}) = {tail:.3g} < {level:g}",
        )
    # rows: [‖A₀‖_op, ‖B₀‖₂], columns: members; a few failures, when plausible, show as negative margins
    return _summarize(name, lhs.T, rhs.T, None, E, details)


# ====================================================================================== Lemma 4.1
def path_length_bound(history: History) -> np.ndarray:
    """Lemma 4.1: L_σ (‖A₀‖_op + P^A_t)(‖B₀‖₂ + P^B_t) at each logged step (shape (T,) or (T, E)).

    P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖ is ``history.path_length[g]`` (accumulated at every step, so
    any ``log_every`` works). It bounds Lip(f_{θ_t}) for any loss and any optimizer.
    """
    h = _check_history(history)
    A0 = _2d(h.norms["A_op"])[0]
    B0 = _2d(h.norms["B"])[0]
    bound = h.lipschitz_activation * (A0 + _2d(h.path_length["A"])) * (B0 + _2d(h.path_length["B"]))
    return _out(bound, h)


def check_path_length(history: History, lip_upper: Any = None) -> Check:
    """Check Lemma 4.1 at every logged step.

    ‖A_t‖_op ≤ ‖A₀‖_op + P^A_t, ‖B_t‖₂ ≤ ‖B₀‖₂ + P^B_t and L_σ‖A_t‖_op‖B_t‖₂ (``history.lip_product``,
    Prop 2.1) ≤ L_σ(‖A₀‖_op + P^A_t)(‖B₀‖₂ + P^B_t). If ``lip_upper`` is given (a certified upper
    bound on Lip(f) of the final network, one per member for an ensemble) it must not exceed the final
    bound either. The returned check is the Lipschitz one; the others are in ``details["parts"]``.
    At t = 0 both sides are equal, so the tightest ratio is 1; ``final_ratio`` says how loose the
    bound has become by the end.
    """
    h = _check_history(history)
    E = h.ensemble
    steps = h.steps
    A, B = _2d(h.norms["A_op"]), _2d(h.norms["B"])
    PA, PB = _2d(h.path_length["A"]), _2d(h.path_length["B"])
    partA = _compare("Lemma 4.1: ‖A_t‖_op ≤ ‖A₀‖_op + P^A_t", A, A[0] + PA, steps, E)
    partB = _compare("Lemma 4.1: ‖B_t‖₂ ≤ ‖B₀‖₂ + P^B_t", B, B[0] + PB, steps, E)
    bound = _2d(path_length_bound(h))
    details: dict[str, Any] = {"final_bound": _out(bound, h)[-1], "parts": [partA, partB]}
    if lip_upper is not None:
        ups = _per_member(lip_upper, A.shape[1], "lip_upper")
        details["parts"].append(_compare("Lemma 4.1: certified Lip(f_T) ≤ final bound", ups[None, :],
                                         bound[-1][None, :], None, E, explain=f"at the final step {h.total_steps}"))
    return _compare("Lemma 4.1: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖_op+P^A_t)(‖B₀‖+P^B_t)", _2d(h.lip_product),
                    bound, steps, E, details)


# ====================================================================================== Thm 5.1
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


def _decay_rows(history: History, rates: list[RateFunction], start: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows τ ≤ t < T: (steps, max_g α^g_t‖∇_g R(θ_t)‖ (T', E), the binding group index, G(t − τ) (T', E))."""
    rows = np.flatnonzero((history.steps >= start) & (history.steps < history.total_steps))
    sl = np.stack([_2d(history.step_length[g])[rows] for g in GROUPS], axis=-1)  # (T', E, 4)
    k = history.steps[rows] - start
    G = np.stack([np.asarray(r(k), dtype=np.float64).reshape(-1) for r in rates], axis=1)
    return history.steps[rows], sl.max(axis=-1), sl.argmax(axis=-1), G


def _start(start: Any, history: History) -> int:
    return check_int("start", start, minimum=0, maximum=history.total_steps)


def check_decay_constraint(history: History, rate: Any, start: int) -> Check:
    """Thm 5.1's hypothesis: α^g_t ‖∇_g R(θ_t)‖ ≤ G(t − τ) for every step τ ≤ t < T taken and every group g.

    ``rate`` is a :class:`~lipnb.schedules.RateFunction` G, or one per member for an ensemble (as
    :func:`train_to_target` builds). ``lhs`` is max_g α^g_t ‖∇_g R(θ_t)‖ (the binding group per step is
    in ``details["group"]``), ``rhs`` is G(t − τ). The record at the final step T (no step taken from it)
    is not checked. Needs ``log_every = 1``.
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
    return _compare("Thm 5.1 constraint: α^g_t‖∇_g R(θ_t)‖ ≤ G(t−τ)", lhs, G, steps, h.ensemble,
                    {"group": np.array(GROUPS)[grp], "start": start, "rate": desc}, explain)


def constraint_holds(history: History, rate: Any, start: int) -> bool:
    """Whether the eventual-decay constraint of Thm 5.1 holds on the run (see :func:`check_decay_constraint`)."""
    try:
        check_decay_constraint(history, rate, start)
    except BoundViolated:
        return False
    return True


def lipschitz_bound_thm51(A0_op: Any, B0_norm: Any, PA_tau: Any, PB_tau: Any, gamma: Any, L_sigma: float) -> Any:
    """Thm 5.1: sup_t Lip(f_{θ_t}) ≤ L_σ (‖A₀‖_op + P^A_τ + Γ)(‖B₀‖₂ + P^B_τ + Γ).

    Arguments may be arrays (one value per member); with the Prop 3.1 bounds in place of ‖A₀‖_op and
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


def check_theorem_5_1(history: History, rate: Any, start: int, lip_upper: Any = None,
                      s: float | None = None) -> Check:
    """Check Thm 5.1 on a run: the constraint, then its conclusions at every step.

    1. the eventual-decay constraint (:func:`check_decay_constraint`; ``rate`` may hold one rate
       function per member);
    2. P^g_t ≤ P^g_τ + Γ for all t and every group;
    3. L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ) for all t (the returned check);
    4. if ``lip_upper`` is given, the certified Lip(f_T) of the final network ≤ the same bound.

    With ``s`` given, ``details["bound_with_prop_3_1"]`` is the bound with ‖A₀‖_op, ‖B₀‖ replaced by
    their Prop 3.1 bounds (valid with probability ≥ 1 − 2e^{−s²/2} over a LeCun initialization).
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
    paths = _compare("Thm 5.1: P^g_t − P^g_τ ≤ Γ", excess, gamma[None, :], h.steps, E)
    A0, B0 = _2d(h.norms["A_op"])[0], _2d(h.norms["B"])[0]
    bound = lipschitz_bound_thm51(A0, B0, P["A"][tau_row], P["B"][tau_row], gamma, h.lipschitz_activation)
    details: dict[str, Any] = {"gamma": float(gamma[0]) if E is None else gamma, "start": start,
                               "bound": bound[0] if E is None else bound,
                               "parts": [constraint, paths]}
    if s is not None:
        A_b, B_b, prob = init_operator_bounds(h.width, h.d, s)
        with_init = lipschitz_bound_thm51(A_b, B_b, P["A"][tau_row], P["B"][tau_row], gamma, h.lipschitz_activation)
        details["bound_with_prop_3_1"] = float(with_init[0]) if E is None else with_init
        details["probability"] = prob
    if lip_upper is not None:
        ups = _per_member(lip_upper, A0.shape[0], "lip_upper")
        details["parts"].append(_compare("Thm 5.1: certified Lip(f_T) ≤ bound", ups[None, :], bound[None, :], None, E))
    return _compare("Thm 5.1: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖+P^A_τ+Γ)(‖B₀‖+P^B_τ+Γ)", _2d(h.lip_product),
                    bound[None, :], h.steps, E, details)


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
    """A rate function under which a plain schedule's run obeys Thm 5.1's constraint, a posteriori.

    G(k) = α_{τ+k} · S with S = sup_{τ ≤ t < T} ‖∇R(θ_t)‖ measured on the run (the max over members for
    an ensemble), τ = ``schedule.start``. Then α^g_t ‖∇_g R(θ_t)‖ ≤ α_t S = G(t − τ) for τ ≤ t < T, so
    Thm 5.1 applies to the run with Γ = S · Σ_k α_{τ+k}. For :func:`~lipnb.schedules.eventual_exponential`
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
    return RateFunction(lambda kk: S * np.asarray(schedule.G(kk.astype(np.int64)), dtype=np.float64), gamma, desc)


# ====================================================================================== Cor 5.2
def gamma_for_target(L: float, L_sigma: float, A_op: Any, B_norm: Any, PA_tau: Any = 0.0, PB_tau: Any = 0.0) -> Any:
    """Cor 5.2: the positive root Γ of L_σ(‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ) = L.

    With a = ‖A₀‖_op + P^A_τ and b = ‖B₀‖ + P^B_τ, Γ = 2(L/L_σ − ab) / ((a + b) + √((a − b)² + 4L/L_σ))
    (the stable form of the quadratic formula). Arrays give one Γ per member. Raises ``ValueError`` when
    L ≤ L_σ a b: the path so far already allows the network a Lipschitz bound of L_σ a b, so no decay
    budget Γ > 0 is left for the target.
    """
    L = check_real("L", L, positive=True)
    L_sigma = check_real("L_sigma", L_sigma, positive=True)
    parts = {}
    for name, v in (("A_op", A_op), ("B_norm", B_norm), ("PA_tau", PA_tau), ("PB_tau", PB_tau)):
        arr = np.asarray(v, dtype=np.float64)
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{name} must be finite and >= 0; got {v!r}")
        parts[name] = arr
    a = parts["A_op"] + parts["PA_tau"]
    b = parts["B_norm"] + parts["PB_tau"]
    q = L / L_sigma
    if (q <= a * b).any():
        worst = float(np.max(L_sigma * a * b))
        raise ValueError(
            f"L = {L:g} is not above the Γ = 0 value L_σ(‖A₀‖_op + P^A_τ)(‖B₀‖ + P^B_τ) = {worst:.6g}: the run up "
            "to τ already uses the whole Lipschitz budget; choose a larger target L or an earlier start τ"
        )
    gamma = 2.0 * (q - a * b) / ((a + b) + np.sqrt((a - b) ** 2 + 4.0 * q))
    return float(gamma) if gamma.ndim == 0 else gamma


def _cat(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: _cat(a[k], b[k]) for k in a}
    return np.concatenate([np.asarray(a), np.asarray(b)], axis=0)


def concat_histories(first: History, second: History) -> History:
    """The history of a run continued: ``second`` started from the network where ``first`` ended.

    The second run's steps are shifted by T₁ = ``first.total_steps`` and its path lengths offset by
    P_{T₁}. ``first``'s record at T₁ (no step taken, the rate its schedule *would* give) is replaced by
    ``second``'s record at its step 0 (the same θ, and the step actually taken). Raises ``ValueError``
    if the runs do not fit together (different network shape, loss, data size or radius, logging
    interval, or parameter norms that do not match at the junction).
    """
    h1, h2 = _check_history(first), _check_history(second)
    for attr in ("loss_name", "delta", "activation", "lipschitz_activation", "width", "d", "n_train", "ensemble",
                 "batch_size", "momentum", "groups"):
        if getattr(h1, attr) != getattr(h2, attr):
            raise ValueError(
                f"cannot concatenate histories with different {attr}: {getattr(h1, attr)!r} vs {getattr(h2, attr)!r}"
            )
    if not math.isclose(h1.x_radius, h2.x_radius, rel_tol=1e-12):
        raise ValueError(f"cannot concatenate histories of different data: x_radius {h1.x_radius} vs {h2.x_radius}")
    if h1.log_every != h2.log_every:
        raise ValueError(f"cannot concatenate histories logged every {h1.log_every} and every {h2.log_every} steps")
    for k in h1.norms:
        if not np.allclose(h1.norms[k][-1], h2.norms[k][0], rtol=1e-10, atol=1e-14):
            raise ValueError(
                f"second does not start where first ends: norm {k} is {h1.norms[k][-1]} vs {h2.norms[k][0]}"
            )
    T1 = h1.total_steps
    head = slice(0, len(h1.steps) - 1)

    def cut(v: Any) -> Any:
        return {k: cut(w) for k, w in v.items()} if isinstance(v, dict) else np.asarray(v)[head]

    path2 = {g: np.asarray(h2.path_length[g]) + np.asarray(h1.path_length[g])[-1] for g in h1.groups}
    n_sched = max(len(h1.schedules), len(h2.schedules))
    schedules = [f"{h1.schedules[i % len(h1.schedules)]} for t < {T1}; then {h2.schedules[i % len(h2.schedules)]} "
                 f"from t = {T1}" for i in range(n_sched)]
    meta = {**h1.meta, **h2.meta, "concatenated_at": T1}
    return History(
        steps=np.concatenate([h1.steps[head], h2.steps + T1]),
        loss=_cat(cut(h1.loss), h2.loss), lr=_cat(cut(h1.lr), h2.lr), grad_norm=_cat(cut(h1.grad_norm), h2.grad_norm),
        grad_norm_total=_cat(cut(h1.grad_norm_total), h2.grad_norm_total),
        step_length=_cat(cut(h1.step_length), h2.step_length), path_length=_cat(cut(h1.path_length), path2),
        norms=_cat(cut(h1.norms), h2.norms), lip_product=_cat(cut(h1.lip_product), h2.lip_product),
        loss_name=h1.loss_name, delta=h1.delta, activation=h1.activation,
        lipschitz_activation=h1.lipschitz_activation, width=h1.width, d=h1.d, n_train=h1.n_train,
        x_radius=h1.x_radius, schedules=schedules, log_every=h1.log_every, ensemble=h1.ensemble, meta=meta,
        batch_size=h1.batch_size, momentum=h1.momentum, groups=h1.groups,
    )


def train_to_target(net: TwoLayerNet, x: Any, y: Any, target: float, lr: float, start: int, steps: int,
                    rate: float = 0.01, loss: str = "mse", delta: float = 1.0, log_every: int = 1,
                    anchor: str = "init") -> tuple[TwoLayerNet, History, dict[str, Any]]:
    """Cor 5.2: train so that the product Lipschitz bound never exceeds ``target``, by construction.

    1. τ = ``start`` steps of GD with the constant rate ᾱ = ``lr``;
    2. Γ from :func:`gamma_for_target` with the initial norms ‖A₀‖_op, ‖B₀‖ and the path lengths P_τ
       (``anchor="init"``, THEORY.md's statement), or with ‖A_τ‖_op, ‖B_τ‖ and P_τ = 0
       (``anchor="tau"``: Lemma 4.1 restarted at τ, which leaves a larger Γ);
    3. ``steps − start`` more steps with ``adaptive(lr, 0, exponential_rate(Γ(1 − e^{−r}), r))``, whose
       step lengths sum to less than Γ (so Σ_k G(k) = Γ).

    ``steps`` is the total number T > τ of steps. Then L_σ‖A_t‖_op‖B_t‖ ≤ target at every step t ≤ T
    (before τ because the path lengths only grow, after τ by Thm 5.1). For an ensemble each member gets
    its own Γ and its own adaptive schedule.

    Returns ``(trained net, the combined History, info)`` where ``info`` holds ``gamma``, ``start``,
    ``rate``, ``bound_at_start`` (the Γ = 0 value), ``guaranteed_bound`` (= target up to round-off),
    ``final_product_bound`` and ``rate_function`` (G, one per member for an ensemble), so that
    ``check_theorem_5_1(history, info["rate_function"], start)`` checks the run (with ``anchor="init"``).
    """
    net = _check_net(net)
    target = check_real("target", target, positive=True)
    lr = check_real("lr", lr, positive=True)
    start = check_int("start", start, minimum=0)
    steps = check_int("steps", steps, minimum=1)
    if steps <= start:
        raise ValueError(f"steps (the total T = {steps}) must exceed start (τ = {start})")
    r = check_real("rate", rate, positive=True)
    anchor = check_choice("anchor", anchor, ("init", "tau"))
    n0 = net.norms()
    A0 = np.atleast_1d(n0["A_op"].detach().cpu().numpy()).astype(np.float64)
    B0 = np.atleast_1d(n0["B"].detach().cpu().numpy()).astype(np.float64)
    E = net.members
    first = None
    mid = net
    PA = PB = np.zeros(E)
    if start > 0:
        mid, first = train(net, x, y, constant(lr), start, loss=loss, delta=delta, log_every=log_every)
        PA = _2d(first.path_length["A"])[-1]
        PB = _2d(first.path_length["B"])[-1]
    L_sigma = net.activation.lipschitz
    if anchor == "init":
        a, b, pa, pb = A0, B0, PA, PB
    else:
        nt = mid.norms()
        a = np.atleast_1d(nt["A_op"].detach().cpu().numpy()).astype(np.float64)
        b = np.atleast_1d(nt["B"].detach().cpu().numpy()).astype(np.float64)
        pa = pb = np.zeros(E)
    gamma = np.atleast_1d(gamma_for_target(target, L_sigma, a, b, pa, pb))
    scheds = [adaptive(lr, 0, exponential_rate(float(g) * -math.expm1(-r), r)) for g in gamma]
    sched: Any = scheds[0] if net.ensemble is None else scheds
    final, second = train(mid, x, y, sched, steps - start, loss=loss, delta=delta, log_every=log_every)
    history = second if first is None else concat_histories(first, second)
    history.meta.update({"cor_5_2_target": target, "cor_5_2_start": start,
                         "cor_5_2_gamma": gamma if net.ensemble is not None else float(gamma[0])})
    guaranteed = L_sigma * (a + pa + gamma) * (b + pb + gamma)
    single = net.ensemble is None

    def pick(v: np.ndarray) -> Any:
        return float(v[0]) if single else v

    info = {
        "gamma": pick(gamma), "start": start, "rate": r, "anchor": anchor,
        "bound_at_start": pick(L_sigma * (a + pa) * (b + pb)), "guaranteed_bound": pick(guaranteed),
        "final_product_bound": pick(_2d(history.lip_product)[-1]), "target": target,
        "rate_function": scheds[0].rate_function if single else [sc.rate_function for sc in scheds],
    }
    return final, history, info


def check_target(history: History, target: float) -> Check:
    """Cor 5.2's guarantee: L_σ‖A_t‖_op‖B_t‖ ≤ L (``target``) at every logged step."""
    h = _check_history(history)
    target = check_real("target", target, positive=True)
    return _compare("Cor 5.2: L_σ‖A_t‖_op‖B_t‖ ≤ L", _2d(h.lip_product), target, h.steps, h.ensemble,
                    {"target": target})


# ====================================================================================== Cor 5.3 / 5.4
def huber_gradient_bounds(net: TwoLayerNet, R_x: float, delta: float) -> dict[str, Any]:
    """Cor 5.3: bounds on the gradient of a risk whose per-sample derivatives satisfy (1/N)Σ|ℓ'(r_n)| ≤ δ.

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


def _gradient_bounds(A_op: Any, a: Any, B: Any, L_sigma: float, sigma0: float, m: int, R_x: float,
                     delta: Any) -> dict[str, Any]:
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
    """Check the four gradient bounds of Cor 5.3 at every logged step, using ``history.norms``.

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
    bounds = _gradient_bounds(n["A_op"], n["a"], n["B"], h.lipschitz_activation, abs(act.value_at_zero), h.width,
                              h.x_radius, dl)
    labels = {"A": "‖∇_A R‖_F ≤ δL_σR_x‖B‖", "a": "‖∇_a R‖ ≤ δL_σ‖B‖",
              "B": "‖∇_B R‖ ≤ δ(L_σ(R_x‖A‖_op+‖a‖)+√m|σ(0)|)", "b": "|∇_b R| ≤ δ"}
    parts = [_compare(f"Cor 5.3: {labels[g]}", _2d(h.grad_norm[g]), bounds[g], h.steps, h.ensemble) for g in GROUPS]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.stack([np.where(bounds[g] > 0, _2d(h.grad_norm[g]) / bounds[g], 0.0) for g in GROUPS], -1).max(-1)
    return _compare("Cor 5.3: max_g ‖∇_g R‖/bound_g ≤ 1", rel, 1.0, h.steps, h.ensemble,
                    {"delta": dl[0, 0] if h.loss_name == "huber" or delta is not None else "2√R(θ_t)", "parts": parts})


def c0(L_sigma: float, R_x: float, m: int, sigma0: float) -> float:
    """c₀ = max(L_σ(R_x + 1), √m|σ(0)| + 1), the constant of Cor 5.3.

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
    """Cor 5.3: sup_t Lip(f_{θ_t}) ≤ L_σ W² with W = w₀ exp(δ c₀ Σ_t α_t).

    w = ‖A‖_F + ‖a‖ + ‖B‖ + |b| + 1 obeys w_{t+1} ≤ w_t + α_t δ c₀ w_t ≤ w_t e^{δc₀α_t} (α_t = max_g α^g_t),
    so w_t ≤ W, and Lip ≤ L_σ‖A‖_op‖B‖ ≤ L_σ w² (THEORY.md's statement, the default). ``sharp=True``
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
        out = L_sigma * ((W - 1.0) ** 2 / 4.0 if sharp else W ** 2)
    return float(out) if out.ndim == 0 else out


def _corollary_5_3(h: History, schedule: Any, delta: np.ndarray, name: str, extra: dict[str, Any]) -> Check:
    """The shared body of Cor 5.3 and 5.4 with a derivative bound ``delta`` (one per member)."""
    act = _activation_of(h)
    E1 = 1 if h.ensemble is None else h.ensemble
    const = c0(h.lipschitz_activation, h.x_radius, h.width, act.value_at_zero)
    n = {k: _2d(v) for k, v in h.norms.items()}
    w = n["A_fro"] + n["a"] + n["B"] + n["b"] + 1.0
    T = h.total_steps
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
    details = {"c0": const, "delta": delta[0] if single else delta, "lr_sum": total[0] if single else total,
               "lr_sum_from": where, "w0": w[0, 0] if single else w[0], "bound": bound[0] if single else bound,
               "parts": [grads, part_w], **extra}
    return _compare(f"{name}: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(w₀exp(δc₀Σα))²", _2d(h.lip_product), bound[None, :], h.steps,
                    h.ensemble, details)


def check_corollary_5_3(history: History, schedule: Any = None) -> Check:
    """Check Cor 5.3 (Huber loss) on a run: the gradient bounds, the w-recursion and the a-priori bound.

    * the four gradient bounds at every logged step (:func:`check_huber_gradients`);
    * w_t ≤ w₀ exp(δ c₀ Σ_{s<t} α_s) at every logged step, α_s = max_g α^g_s;
    * sup_t L_σ‖A_t‖_op‖B_t‖ ≤ L_σ (w₀ exp(δ c₀ Σα))² (:func:`apriori_lipschitz_bound`).

    ``schedule`` (a plain schedule, a per-group mapping, or one per member) gives Σα = schedule.total()
    over *all* steps — finite for eventual-exponential decay — and α_s at every step, so any
    ``log_every`` works; it must reproduce the rates in the history. Without it (e.g. for an adaptive
    run), the recorded rates are used (``log_every = 1``) and the bound covers the run's T steps.
    The constants are THEORY.md's; see :func:`c0` for the derivation.
    """
    h = _check_history(history)
    _need_gd(h, "Cor 5.3")
    if h.loss_name != "huber":
        raise ValueError(
            f"Cor 5.3 is for the Huber loss; this run used {h.loss_name!r} (use check_corollary_5_4 for the MSE)"
        )
    E1 = 1 if h.ensemble is None else h.ensemble
    return _corollary_5_3(h, schedule, np.full(E1, float(h.delta)), "Cor 5.3", {})


def check_corollary_5_4(history: History, schedule: Any = None) -> Check:
    """Check Cor 5.4 (MSE): the risk is non-increasing, then Cor 5.3 with δ = 2√R(θ₀).

    The gradient bounds of Cor 5.3 use the per-sample derivatives ℓ'(r_n) only through
    (1/N)Σ|ℓ'(r_n)|. For the MSE ℓ'(r) = 2r and (1/N)Σ|2r_n| ≤ 2√R(θ_t) (Cauchy–Schwarz), which is
    ≤ 2√R(θ₀) when the risk never increases. So the monotonicity is checked first, at every step
    (``log_every = 1``): ``BoundViolated`` at the first step t+1 with R(θ_{t+1}) > R(θ_t). (Without
    monotonicity, δ = 2 sup_t √R(θ_t) would serve instead.)
    """
    h = _check_history(history)
    _need_gd(h, "Cor 5.4")
    if h.loss_name != "mse":
        raise ValueError(f"Cor 5.4 is for the MSE; this run used {h.loss_name!r} (use check_corollary_5_3)")
    _need_every_step(h, "Cor 5.4's monotonicity check")
    loss = _2d(h.loss)
    mono = _compare("Cor 5.4: R(θ_(t+1)) ≤ R(θ_t)", loss[1:], loss[:-1], h.steps[1:], h.ensemble,
                    explain="the MSE increased, so δ = 2√R(θ₀) is not justified")
    delta = 2.0 * np.sqrt(loss[0])
    return _corollary_5_3(h, schedule, delta, "Cor 5.4", {"monotone": mono})


# ====================================================================================== Thm 6.1
def _decrease_terms(h: History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Σ_g α^g_t‖∇_g R‖², Σ_g (α^g_t‖∇_g R‖)², min_g α^g_t) for t = 0..T−1, each (T, E)."""
    lr = np.stack([_2d(h.lr[g]) for g in GROUPS], -1)[:-1]
    gn = np.stack([_2d(h.grad_norm[g]) for g in GROUPS], -1)[:-1]
    return (lr * gn ** 2).sum(-1), ((lr * gn) ** 2).sum(-1), lr.min(-1)


def check_sufficient_decrease(history: History) -> Check:
    """Thm 6.1's per-step inequality: R(θ_{t+1}) ≤ R(θ_t) − Σ_g (α^g_t/2)‖∇_g R(θ_t)‖² for t < T.

    It follows from the descent lemma when ∇R is β-Lipschitz along the step and α^g_t ≤ 1/β; a
    violation means the step was too long for the local smoothness. Needs ``log_every = 1``.
    """
    h = _check_history(history)
    _need_gd(h, "the sufficient-decrease check")
    _need_every_step(h, "the sufficient-decrease check")
    loss = _2d(h.loss)
    dec, _, _ = _decrease_terms(h)
    return _compare("Thm 6.1: R(θ_(t+1)) ≤ R(θ_t) − Σ_g (α^g_t/2)‖∇_g R(θ_t)‖²", loss[1:], loss[:-1] - 0.5 * dec,
                    h.steps[:-1], h.ensemble, explain="step t → t+1: the learning rate exceeds 1/β there")


def min_gradient_bound(history: History) -> np.ndarray:
    """Thm 6.1: for T = 1, …, T_total, the bound 2(R(θ₀) − R(θ_T)) / Σ_{t<T} α_t on min_{t<T}‖∇R(θ_t)‖².

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


def check_theorem_6_1(history: History) -> Check:
    """Check Thm 6.1: sufficient decrease at every step and min_{t<T}‖∇R(θ_t)‖² ≤ 2(R₀ − R_T)/Σ_{t<T}α_t.

    The hypotheses (σ ∈ C¹ with Lipschitz σ', α_t ≤ 1/β) are not checkable from a history; the
    sufficient-decrease inequality they imply is, and it implies the min-gradient bound.
    ``details["smooth_activation"]`` says whether σ meets the theorem's smoothness hypothesis;
    ``details["beta_lower"]`` is :func:`smoothness_lower_estimate`. Needs ``log_every = 1``.
    """
    h = _check_history(history)
    _need_gd(h, "Thm 6.1")
    sd = check_sufficient_decrease(h)
    g2 = _2d(h.grad_norm_total)[:-1] ** 2
    running_min = np.minimum.accumulate(g2, axis=0)
    bound = _2d(min_gradient_bound(h))
    details = {"smooth_activation": _activation_of(h).smooth, "beta_lower": smoothness_lower_estimate(h),
               "final_bound": _out(bound, h)[-1], "parts": [sd]}
    return _compare("Thm 6.1: min_(t<T)‖∇R(θ_t)‖² ≤ 2(R(θ₀)−R(θ_T))/Σ_(t<T) α_t", running_min, bound,
                    h.steps[1:], h.ensemble, details, explain="(step = T)")


def smoothness_lower_estimate(history: History) -> Any:
    """A LOWER estimate of β, the Lipschitz constant of ∇R on the region the run visited.

    If ∇R is β-Lipschitz on the segment [θ_t, θ_{t+1}], the descent lemma gives
    R(θ_{t+1}) ≤ R(θ_t) + ⟨∇R(θ_t), Δ_t⟩ + (β/2)‖Δ_t‖² with Δ_t = −(α^g_t ∇_g R(θ_t))_g, so
    β ≥ 2(R(θ_{t+1}) − R(θ_t) + Σ_g α^g_t‖∇_g R‖²) / Σ_g (α^g_t‖∇_g R‖)². The max over steps is a lower
    bound on any valid β (hence on the β of Thm 6.1); it is not an upper bound. Steps whose predicted
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


# ====================================================================================== Thm 7.1
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
        Z = np.where(Z < 2.0 ** 52, np.floor(Z * (1 + 1e-13)), Z)
        return np.maximum(Z, 1.0) * np.log(np.ceil(2.0 * M / eps) + 1.0)


def _bound_at(eps: np.ndarray, L: float, N: int, d: int, R_x: float, M: float, lam: float, lmax: float,
              eta: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return 2.0 * lam * eps + lmax * np.sqrt((_log_cover(eps, L, M, R_x, d) + math.log(2.0 / eta)) / (2.0 * N))


def _validate_gen(L: Any, N: Any, d: Any, R_x: Any, M: Any, M_y: Any, eta: Any
                  ) -> tuple[float, int, int, float, float, float, float]:
    return (check_real("L", L, nonnegative=True), check_int("N", N, minimum=1), check_int("d", d, minimum=1),
            check_real("R_x", R_x, nonnegative=True), check_real("M", M, positive=True),
            check_real("M_y", M_y, nonnegative=True), check_real("eta", eta, positive=True, high=1.0))


def generalization_bound(L: float, N: int, d: int, R_x: float, M: float, M_y: float, eta: float = 0.05,
                         loss: str = "mse", delta: float = 1.0) -> tuple[float, float]:
    """Thm 7.1: with probability ≥ 1 − η over S (N i.i.d. samples), for all f ∈ F_L,

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
        res = minimize_scalar(lambda le: float(_bound_at(np.array([math.exp(le)]), L, N, d, R_x, M, lam, lmax, eta)[0]),
                              bounds=(lo_b, hi_b), method="bounded", options={"xatol": 1e-10})
        if res.success and res.fun < best:
            best_eps, best = float(math.exp(res.x)), float(res.fun)
    return best, best_eps


def data_dependent_generalization_bound(L_hat: float, L_min: float, N: int, d: int, R_x: float, M: float,
                                        M_y: float, eta: float = 0.05, loss: str = "mse",
                                        delta: float = 1.0) -> tuple[float, float, int]:
    """Thm 7.1 for a Lipschitz constant L̂ measured on the trained network (so chosen after seeing S).

    Apply :func:`generalization_bound` on the grid L_k = 2^k L_min, k ≥ 1, with confidence η_k = η/(k(k+1));
    since Σ_{k≥1} η_k = η, with probability ≥ 1 − η every level holds at once, and a network with
    Lip(f) ≤ L̂ belongs to F_{L_k} at the smallest L_k ≥ L̂. ``L_min`` must be fixed before seeing the
    data. Returns ``(bound, eps, k)``.
    """
    L_hat = check_real("L_hat", L_hat, nonnegative=True)
    L_min = check_real("L_min", L_min, positive=True)
    k = max(1, math.ceil(math.log2(L_hat / L_min))) if L_hat > 0 else 1
    while 2.0 ** k * L_min < L_hat:  # guard the log2 round-off
        k += 1
    bound, eps = generalization_bound(2.0 ** k * L_min, N, d, R_x, M, M_y, eta / (k * (k + 1)), loss, delta)
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


def parameter_counting_bound(p: int, N: int, M: float, M_y: float, K: float, W: float, eta: float = 0.05,
                             loss: str = "mse", delta: float = 1.0) -> tuple[float, float]:
    """A parameter-counting generalization bound, for comparison with Thm 7.1.

    Class: {clip(f_θ, −M, M) : θ ∈ R^p, ‖θ‖₂ ≤ W} with sup_x |f_θ(x) − f_θ'(x)| ≤ K‖θ − θ'‖₂
    (:func:`parameter_lipschitz` gives K for the two-layer net). A (ε/K)-net of the parameter ball has
    at most (1 + 2KW/ε)^p points, so log N(ε) ≤ p log(1 + 2KW/ε), and the same Hoeffding + union
    argument as Thm 7.1 gives, with probability ≥ 1 − η,

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
    res = minimize_scalar(lambda le: float(f(np.array([le]))[0]), bounds=(lo_b, hi_b), method="bounded",
                          options={"xatol": 1e-10})
    if res.success and res.fun < best:
        best_le, best = res.x, float(res.fun)
    return best, float(math.exp(best_le))


def check_generalization(net: TwoLayerNet, dataset: Any, eta: float = 0.05, loss: str = "mse", delta: float = 1.0,
                         lip_upper: Any = None, M: float | None = None, L_min: float | None = None,
                         R_x: float | None = None, M_y: float | None = None) -> Check:
    """Check Thm 7.1 on a trained network: the measured |test risk − train risk| against the bound.

    Predictions are clipped to [−M, M] (default M = M_y; M_y, the bound on |y|, defaults to
    ``dataset.y_bound``, the largest |y| over both splits, and may be given as an a-priori bound; clipping to the label range can only lower the risk and keeps the Lipschitz constant). L is
    ``lip_upper`` (a certified upper bound, one per member) or the product bound of Prop 2.1. R_x defaults
    to the largest ‖x‖ over both splits. The test risk estimates R(f); its own sampling error is
    bounded by Hoeffding, ℓ_max √(log(2/η)/(2 N_test)) with probability ≥ 1 − η, and added to the
    bound (the compared rhs is bound + that slack; both are in ``details``).

    With ``L_min`` given the data-dependent bound (:func:`data_dependent_generalization_bound`) is
    used — the honest choice for an L measured on the trained network; without it the fixed-L bound
    (valid if L was fixed before training, e.g. a Cor 5.2 target). The bound holds with probability
    ≥ 1 − η, so a ``BoundViolated`` here is either that rare event or a bug.
    """
    from .data import Dataset

    net = _check_net(net)
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a lipnb.data.Dataset; got {type(dataset).__name__}")
    eta = check_real("eta", eta, positive=True, high=1.0)
    lo_key = check_choice("loss", loss, LOSSES)
    M_y = dataset.y_bound if M_y is None else check_real("M_y", M_y, positive=True)
    M = M_y if M is None else check_real("M", M, positive=True)
    if R_x is None:
        R_x = float(max(torch.linalg.vector_norm(dataset.x_train, dim=1).max(),
                        torch.linalg.vector_norm(dataset.x_test, dim=1).max()))
    R_x = check_real("R_x", R_x, nonnegative=True)
    from .losses import loss as get_loss

    lo = get_loss(lo_key, delta)
    E = net.members
    L = (_per_member(lip_upper, E, "lip_upper") if lip_upper is not None
         else np.atleast_1d(net.product_bound().detach().cpu().numpy()).astype(np.float64))

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
            b, e, k = data_dependent_generalization_bound(Le, L_min, dataset.n_train, dataset.d, R_x, M, M_y, eta,
                                                          lo_key, delta)
        bounds.append(b), eps.append(e), ks.append(k)
    bounds_a = np.array(bounds)
    single = net.ensemble is None

    def pick(v: np.ndarray) -> Any:
        return float(v[0]) if single else v

    details = {"train_risk": pick(train_r), "test_risk": pick(test_r), "gap": pick(gap), "bound": pick(bounds_a),
               "test_slack": slack, "eps": pick(np.array(eps)), "L": pick(L), "M": M, "M_y": M_y, "R_x": R_x,
               "ell_max": lmax, "vacuous": bool((bounds_a >= lmax).all()), "eta": eta,
               "level_k": ks[0] if single else ks, "data_dependent": L_min is not None}
    name = "Thm 7.1: |R̂_test − R̂_train| ≤ bound + test slack"
    if single:
        return _compare(name, gap[0], bounds_a[0] + slack, None, None, details,
                        explain=f"holds with probability ≥ {1 - eta:g}")
    return _compare(name, gap[None, :], (bounds_a + slack)[None, :], None, E, details,
                    explain=f"holds with probability ≥ {1 - eta:g}")


def sublinear_exponent(d: int) -> float:
    """The exponent d/(2(d+2)) with which the number of parameters p enters Thm 7.1's bound.

    Balancing the two terms of Thm 7.1, 2λε against ℓ_max √(log N(ε)/(2N)) with
    log N(ε) ≈ (8LR_x/ε)^d (up to the factor log(2M/ε)), gives ε* ∝ (L R_x)^{d/(d+2)} N^{−1/(d+2)}, so the
    bound scales as L^{d/(d+2)} N^{−1/(d+2)} up to logarithms. The network enters only through L. With
    L = O(√(m/d)) (Thm 5.1 with Prop 3.1) and p = m(d + 2) + 1 ≥ m, L^{d/(d+2)} = O(p^{d/(2(d+2))}), and
    d/(2(d+2)) < 1/2 for every d: the dependence on p is sub-linear, at most √p (1/6 in d = 1, 1/4 in
    d = 2, tending to 1/2 as d → ∞). The price is the rate N^{−1/(d+2)} in N, slower than the
    N^{−1/2} of a parameter-counting bound ~ √(p log N / N), which in turn grows like √p.
    """
    d = check_int("d", d, minimum=1)
    return d / (2.0 * (d + 2))
