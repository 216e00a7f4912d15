"""The record of a training run, :class:`History`, and :func:`concat_histories` for a run continued."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import check_int
from ..nets import GROUPS

__all__ = ["History", "NORM_KEYS", "concat_histories"]

NORM_KEYS = ("A_op", "A_fro", "a", "B", "b")


@dataclass
class History:
    """What happened along a run, at the logged steps t = 0, log_every, 2·log_every, …, and the last step T.

    Each record at step t describes θ_t and the step taken from it: ``loss`` = R(θ_t),
    ``grad_norm[g]`` = ‖∇_g R(θ_t)‖, ``lr[g]`` = α^g_t,
    ``step_length[g]`` = ‖θ^g_{t+1} − θ^g_t‖ (= α^g_t ‖∇_g R(θ_t)‖ for GD),
    ``path_length[g]`` = P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖,
    ``norms[k]`` for k in ``NORM_KEYS`` (‖A‖_op, ‖A‖_F, ‖a‖, ‖B‖, |b|) and ``lip_product`` =
    L_σ ‖B_t‖ ‖A_t‖_op. At the last step T no step is taken; its ``lr`` and ``step_length`` are those
    the schedule would give there.

    Arrays have shape (T_log,) for a single network and (T_log, E) for an ensemble of E members.
    """

    steps: np.ndarray
    loss: np.ndarray
    lr: dict[str, np.ndarray]
    grad_norm: dict[str, np.ndarray]
    grad_norm_total: np.ndarray
    step_length: dict[str, np.ndarray]
    path_length: dict[str, np.ndarray]
    norms: dict[str, np.ndarray]
    lip_product: np.ndarray
    loss_name: str
    delta: float | None
    activation: str
    lipschitz_activation: float
    width: int
    d: int
    n_train: int
    x_radius: float
    schedules: list[str]
    log_every: int
    ensemble: int | None
    meta: dict[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    momentum: float = 0.0
    groups: tuple[str, ...] = GROUPS

    @property
    def full_batch_gd(self) -> bool:
        """True for plain full-batch GD (the setting of Convergence theorem's descent argument)."""
        return self.batch_size is None and self.momentum == 0.0

    @property
    def total_steps(self) -> int:
        """T, the number of GD steps taken."""
        return int(self.steps[-1])

    @property
    def final_loss(self) -> np.ndarray | float:
        out = self.loss[-1]
        return float(out) if self.ensemble is None else out

    def member(self, i: int) -> History:
        """The history of ensemble member i, as for a single network."""
        if self.ensemble is None:
            if i != 0:
                raise ValueError(f"i must be 0 for the history of a single network; got {i}")
            return self
        i = check_int("i", i, minimum=-self.ensemble, maximum=self.ensemble - 1)

        def pick(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: pick(w) for k, w in v.items()}
            return v[:, i]

        return History(
            steps=self.steps,
            loss=pick(self.loss),
            lr=pick(self.lr),
            grad_norm=pick(self.grad_norm),
            grad_norm_total=pick(self.grad_norm_total),
            step_length=pick(self.step_length),
            path_length=pick(self.path_length),
            norms=pick(self.norms),
            lip_product=pick(self.lip_product),
            loss_name=self.loss_name,
            delta=self.delta,
            activation=self.activation,
            lipschitz_activation=self.lipschitz_activation,
            width=self.width,
            d=self.d,
            n_train=self.n_train,
            x_radius=self.x_radius,
            schedules=[self.schedules[i % len(self.schedules)]],
            log_every=self.log_every,
            ensemble=None,
            meta=dict(self.meta),
            batch_size=self.batch_size,
            momentum=self.momentum,
            groups=self.groups,
        )

    def to_frame(self) -> Any:
        """A tidy pandas DataFrame: one row per (member, logged step)."""
        import pandas as pd

        E = 1 if self.ensemble is None else self.ensemble
        frames = []
        for i in range(E):
            h = self.member(i) if self.ensemble is not None else self
            cols: dict[str, Any] = {
                "member": i,
                "step": h.steps,
                "loss": h.loss,
                "lip_product": h.lip_product,
                "grad_norm": h.grad_norm_total,
            }
            for g in self.groups:
                cols[f"lr_{g}"] = h.lr[g]
                cols[f"grad_norm_{g}"] = h.grad_norm[g]
                cols[f"step_length_{g}"] = h.step_length[g]
                cols[f"path_length_{g}"] = h.path_length[g]
            for k in h.norms:
                cols[f"norm_{k}"] = h.norms[k]
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)


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
    h1, h2 = _as_history(first, "first"), _as_history(second, "second")
    for attr in (
        "loss_name",
        "delta",
        "activation",
        "lipschitz_activation",
        "width",
        "d",
        "n_train",
        "ensemble",
        "batch_size",
        "momentum",
        "groups",
    ):
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
    schedules = [
        f"{h1.schedules[i % len(h1.schedules)]} for t < {T1}; then {h2.schedules[i % len(h2.schedules)]} from t = {T1}"
        for i in range(n_sched)
    ]
    meta = {**h1.meta, **h2.meta, "concatenated_at": T1}
    return History(
        steps=np.concatenate([h1.steps[head], h2.steps + T1]),
        loss=_cat(cut(h1.loss), h2.loss),
        lr=_cat(cut(h1.lr), h2.lr),
        grad_norm=_cat(cut(h1.grad_norm), h2.grad_norm),
        grad_norm_total=_cat(cut(h1.grad_norm_total), h2.grad_norm_total),
        step_length=_cat(cut(h1.step_length), h2.step_length),
        path_length=_cat(cut(h1.path_length), path2),
        norms=_cat(cut(h1.norms), h2.norms),
        lip_product=_cat(cut(h1.lip_product), h2.lip_product),
        loss_name=h1.loss_name,
        delta=h1.delta,
        activation=h1.activation,
        lipschitz_activation=h1.lipschitz_activation,
        width=h1.width,
        d=h1.d,
        n_train=h1.n_train,
        x_radius=h1.x_radius,
        schedules=schedules,
        log_every=h1.log_every,
        ensemble=h1.ensemble,
        meta=meta,
        batch_size=h1.batch_size,
        momentum=h1.momentum,
        groups=h1.groups,
    )


def _as_history(value: Any, name: str) -> History:
    if not isinstance(value, History):
        raise TypeError(f"{name} must be a lipnb.History (as returned by lipnb.train); got {type(value).__name__}")
    return value
