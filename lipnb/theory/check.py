"""The result type of every check, :class:`Check`, and the comparison behind it.

A check raises :class:`~lipnb.errors.BoundViolated`, naming the step and both sides, when an inequality
fails on a run, and otherwise returns a :class:`Check`: the margins ``rhs − lhs ≥ 0`` (how far from
tight), the ratios ``rhs / lhs`` (how loose), arrays over the logged steps, and a one-line ``str``.

Floating-point tolerance. An inequality ``lhs ≤ rhs`` counts as violated only when
``lhs > rhs + RTOL·max(|lhs|, |rhs|) + ATOL`` with ``RTOL = 1e-12`` and ``ATOL = 1e-15``: room for the
round-off of float64 sums and norms (a few hundred ulps), far below any mathematical slack. Margins are
reported without the tolerance, so a margin can be a tiny negative number where a bound is attained
(e.g. the path-length lemma at t = 0, where both sides are equal).

Ensembles. Histories of ensembles hold arrays of shape (T_log, E). Every check runs on all members at
once, raises at the earliest violating step (naming the member) and reports the worst member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import Activation
from ..activations import activation as get_activation
from ..errors import BoundViolated
from ..nets import TwoLayerNet
from ..training.history import History

RTOL = 1e-12


ATOL = 1e-15


@dataclass
class Check:
    """The outcome of a check that passed: ``lhs ≤ rhs`` held everywhere it was evaluated.

    Attributes
    ----------
    name: the result and the inequality (e.g. ``"Path-length lemma: L_σ‖A‖_op‖B‖ ≤ L_σ(‖A₀‖+P^A)(‖B₀‖+P^B)"``).
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
    kind: ``"prediction"`` when the right-hand side was fixed before the part of the run it covers, so
        that the check could fail (a bound computed at τ and checked on later steps; an a-priori bound);
        ``"consistency"`` when the inequality holds by construction of what was recorded or measured (a
        rate function measured on the same run, the triangle inequality on recorded steps, a vacuous
        bound), so that the check tests the code rather than the theorem. Each ``check_…`` says which.
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
    kind: str = "consistency"

    def __str__(self) -> str:
        where = f" at step {self.worst_step}" if self.worst_step is not None else ""
        who = f" (member {self.worst_member})" if self.worst_member is not None else ""
        status = "holds" if self.holds else "FAILS"
        return (
            f"[{self.kind}] {self.name}: {status}; worst margin {self.worst_margin:.4g}{where}{who}; "
            f"min rhs/lhs {self.ratio:.4g}; final rhs/lhs {self.final_ratio:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The scalar fields and scalar details, for a row of a pandas DataFrame."""
        out: dict[str, Any] = {
            "name": self.name,
            "holds": self.holds,
            "worst_margin": self.worst_margin,
            "worst_step": self.worst_step,
            "worst_member": self.worst_member,
            "ratio": self.ratio,
            "final_ratio": self.final_ratio,
            "kind": self.kind,
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


def _compare(
    name: str,
    lhs: Any,
    rhs: Any,
    steps: np.ndarray | None,
    ensemble: int | None,
    details: dict[str, Any] | None = None,
    explain: str = "",
    kind: str = "consistency",
) -> Check:
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
    return _summarize(name, lhs, rhs, steps, ensemble, details, kind)


def _rows(lhs: Any, rhs: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    L2, R2 = np.broadcast_arrays(np.asarray(lhs, dtype=np.float64), np.asarray(rhs, dtype=np.float64))
    shape = L2.shape
    L2 = L2.reshape(shape[0] if shape else 1, -1)
    return L2, R2.reshape(L2.shape), shape


def _summarize(
    name: str,
    lhs: Any,
    rhs: Any,
    steps: np.ndarray | None,
    ensemble: int | None,
    details: dict[str, Any] | None = None,
    kind: str = "consistency",
) -> Check:
    """The margins and ratios of ``lhs ≤ rhs`` (no checking)."""
    if kind not in ("consistency", "prediction"):
        raise ValueError(f"kind must be 'consistency' or 'prediction'; got {kind!r}")
    L2, R2, shape = _rows(lhs, rhs)
    margin = R2 - L2
    if margin.size == 0:
        raise ValueError(f"{name}: nothing to check (no steps in range)")
    row, col = np.unravel_index(int(np.argmin(margin)), margin.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(L2 > 0, R2 / np.where(L2 > 0, L2, 1.0), np.inf)
    return Check(
        name=name,
        holds=True,
        worst_margin=float(margin[row, col]),
        worst_step=int(steps[row]) if steps is not None else None,
        worst_member=int(col) if ensemble is not None else None,
        ratio=float(ratios.min()),
        final_ratio=float(ratios[-1].min()),
        lhs=L2.reshape(shape) if shape else float(L2[0, 0]),
        rhs=R2.reshape(shape) if shape else float(R2[0, 0]),
        steps=steps,
        details=dict(details or {}),
        kind=kind,
    )


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
            f"momentum={history.momentum}; Path-length lemma (check_path_length) and the decay constraint still apply"
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
