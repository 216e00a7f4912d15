"""Full-batch gradient descent for two-layer networks, all ensemble members at once.

θ^g_{t+1} = θ^g_t − α^g_t ∇_g R(θ_t) for each group g ∈ {A, a, B, b} (THEORY.md §1), with analytic
gradients (``TwoLayerNet.loss_and_gradients``, tested against autograd) and a :class:`History` that
records what the theorems need: the loss, learning rates, gradient norms, step lengths, the path length
P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖ of Lemma 4.1 (accumulated at *every* step, whatever ``log_every``),
parameter norms and the product Lipschitz bound of Prop 2.1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ._validate import as_tensor, check_int, check_real
from .errors import TrainingDiverged
from .losses import Loss, loss as get_loss
from .nets import GROUPS, TwoLayerNet, _workspace
from .schedules import AdaptiveSchedule, Schedule

__all__ = ["train", "History", "NORM_KEYS"]

NORM_KEYS = ("A_op", "A_fro", "a", "B", "b")


@dataclass
class History:
    """What happened along a run, at the logged steps t = 0, log_every, 2·log_every, …, and the last step T.

    Each record at step t describes θ_t and the step taken from it: ``loss`` = R(θ_t),
    ``grad_norm[g]`` = ‖∇_g R(θ_t)‖, ``lr[g]`` = α^g_t, ``step_length[g]`` = ‖θ^g_{t+1} − θ^g_t‖ (= α^g_t ‖∇_g R(θ_t)‖ for GD), ``path_length[g]`` = P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖,
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
        """True for plain full-batch GD (the setting of Thm 6.1's descent argument)."""
        return self.batch_size is None and self.momentum == 0.0

    @property
    def total_steps(self) -> int:
        """T, the number of GD steps taken."""
        return int(self.steps[-1])

    @property
    def final_loss(self) -> np.ndarray | float:
        out = self.loss[-1]
        return float(out) if self.ensemble is None else out

    def member(self, i: int) -> "History":
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
            steps=self.steps, loss=pick(self.loss), lr=pick(self.lr), grad_norm=pick(self.grad_norm),
            grad_norm_total=pick(self.grad_norm_total), step_length=pick(self.step_length),
            path_length=pick(self.path_length), norms=pick(self.norms), lip_product=pick(self.lip_product),
            loss_name=self.loss_name, delta=self.delta, activation=self.activation,
            lipschitz_activation=self.lipschitz_activation, width=self.width, d=self.d, n_train=self.n_train,
            x_radius=self.x_radius, schedules=[self.schedules[i % len(self.schedules)]], log_every=self.log_every,
            ensemble=None, meta=dict(self.meta), batch_size=self.batch_size, momentum=self.momentum,
            groups=self.groups,
        )

    def to_frame(self) -> "Any":
        """A tidy pandas DataFrame: one row per (member, logged step)."""
        import pandas as pd

        E = 1 if self.ensemble is None else self.ensemble
        frames = []
        for i in range(E):
            h = self.member(i) if self.ensemble is not None else self
            cols: dict[str, Any] = {"member": i, "step": h.steps, "loss": h.loss, "lip_product": h.lip_product,
                                    "grad_norm": h.grad_norm_total}
            for g in self.groups:
                cols[f"lr_{g}"] = h.lr[g]
                cols[f"grad_norm_{g}"] = h.grad_norm[g]
                cols[f"step_length_{g}"] = h.step_length[g]
                cols[f"path_length_{g}"] = h.path_length[g]
            for k in h.norms:
                cols[f"norm_{k}"] = h.norms[k]
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)


def _resolve_one(spec: Any, where: str, groups: tuple[str, ...] = GROUPS) -> dict[str, Schedule]:
    if isinstance(spec, Schedule):
        return {g: spec for g in groups}
    if isinstance(spec, Mapping):
        keys = set(spec)
        if keys != set(groups):
            raise ValueError(f"{where} as a mapping must have exactly the keys {groups}; got {sorted(keys)}")
        for g, s in spec.items():
            if not isinstance(s, Schedule):
                raise TypeError(f"{where}[{g!r}] must be a lipnb schedule; got {type(s).__name__}")
        return {g: spec[g] for g in groups}
    raise TypeError(
        f"{where} must be a lipnb schedule, a mapping group -> schedule (groups {groups}), or a sequence "
        f"of those with one entry per ensemble member; got {type(spec).__name__}"
    )


def _resolve(schedule: Any, E: int, groups: tuple[str, ...] = GROUPS) -> list[dict[str, Schedule]]:
    if isinstance(schedule, (Schedule, Mapping)):
        return [_resolve_one(schedule, "schedule", groups)] * E
    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        if len(schedule) != E:
            raise ValueError(f"schedule as a sequence must have one entry per ensemble member ({E}); got {len(schedule)}")
        return [_resolve_one(s, f"schedule[{i}]", groups) for i, s in enumerate(schedule)]
    return [_resolve_one(schedule, "schedule", groups)]


def _describe(per_member: list[dict[str, Schedule]]) -> list[str]:
    out = []
    for sch in per_member:
        descs = {g: s.description for g, s in sch.items()}
        if len(set(descs.values())) == 1:
            out.append(next(iter(descs.values())))
        else:
            out.append("; ".join(f"{g}: {d}" for g, d in descs.items()))
    return out


def _tables(per_member: list[dict[str, Schedule]], n: int, dtype: torch.dtype, device: torch.device,
            groups: tuple[str, ...] = GROUPS) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Learning-rate table (n, E, G) and, if any schedule is adaptive, step-length caps (n, E, G)."""
    E = len(per_member)
    base = np.empty((n, E, len(groups)))
    caps = np.full((n, E, len(groups)), np.inf)
    cache: dict[int, np.ndarray] = {}
    adaptive = False
    for e, sch in enumerate(per_member):
        for j, g in enumerate(groups):
            s = sch[g]
            if id(s) not in cache:
                cache[id(s)] = s.values(n)
            base[:, e, j] = cache[id(s)]
            if isinstance(s, AdaptiveSchedule):
                adaptive = True
                caps[:, e, j] = s.caps(n)
    # A decaying rate may underflow to 0 far after its start; negative or non-finite rates are errors.
    if not np.isfinite(base).all() or (base < 0).any():
        raise ValueError("the schedule produced a negative or non-finite learning rate")
    cap_t = torch.as_tensor(caps, dtype=dtype, device=device) if adaptive else None
    return torch.as_tensor(base, dtype=dtype, device=device), cap_t


def _check_data(net: TwoLayerNet, x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    xt = as_tensor("x", x, dtype=net.dtype, device=net.device)
    yt = as_tensor("y", y, dtype=net.dtype, device=net.device)
    if xt.ndim != 2 or xt.shape[1] != net.d:
        raise ValueError(f"x must have shape (N, {net.d}) for a network with d={net.d}; got {tuple(xt.shape)}")
    if xt.shape[0] < 1:
        raise ValueError("x must hold at least one sample (N >= 1)")
    if yt.ndim == 2 and yt.shape[1] == 1:
        yt = yt[:, 0]
    if yt.ndim != 1 or yt.shape[0] != xt.shape[0]:
        raise ValueError(f"y must have shape (N,) = ({xt.shape[0]},) to match x; got {tuple(yt.shape)}")
    return xt.contiguous(), yt.contiguous()


def train(
    net: TwoLayerNet,
    x: Any,
    y: Any,
    schedule: Any,
    steps: int,
    loss: "str | Loss" = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    progress: bool = False,
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
) -> tuple[TwoLayerNet, History]:
    """Train ``net`` by gradient descent; return the trained copy and its :class:`History`.

    The default is full-batch GD, θ_{t+1} = θ_t − α_t ∇R(θ_t). With ``batch_size`` each step uses the
    gradient of the risk on ``batch_size`` distinct samples drawn uniformly (mini-batch SGD, seeded by
    ``batch_seed``, the same batch for every ensemble member); with ``momentum`` μ > 0 the step is
    heavy-ball, v_{t+1} = μ v_t + g_t, θ_{t+1} = θ_t − α_t v_{t+1} (PyTorch's ``SGD(momentum=μ)``).
    In every case the step length recorded and summed into the path length is the actual
    ‖θ_{t+1} − θ_t‖ of each group, so Lemma 4.1 stays valid.

    Parameters
    ----------
    net: a :class:`TwoLayerNet` (single or ensemble); it is not modified.
    x, y: training inputs (N, d) and targets (N,), NumPy or torch; cast to the network's dtype/device.
    schedule: a schedule (``lipnb.schedules``), a mapping ``{"A", "a", "B", "b"} -> schedule`` for
        per-group learning rates, or a sequence of either with one entry per ensemble member.
        An :func:`~lipnb.schedules.adaptive` schedule caps the step length by G(t − τ) using the norm of
        the current update direction (the full gradient for GD).
    steps: the number T ≥ 1 of steps.
    loss, delta: ``"mse"`` or ``"huber"`` with δ > 0 (PyTorch's definitions).
    log_every: record the history every this many steps (step 0 and step T are always recorded).
    progress: show a tqdm progress bar.
    batch_size: None (full batch) or 1 ≤ batch_size ≤ N.
    momentum: μ ∈ [0, 1).
    batch_seed: seed of the mini-batch draws.

    The recorded ``loss`` is always the risk on the whole training set; ``grad_norm`` is the norm of the
    gradient the step used (the mini-batch gradient for SGD).

    Raises
    ------
    TrainingDiverged: the loss or the parameters became non-finite; names the step and the member.
    """
    from .mlp import MLP, train_mlp

    if isinstance(net, MLP):
        return train_mlp(net, x, y, schedule, steps, loss=loss, delta=delta, log_every=log_every,
                         progress=progress, batch_size=batch_size, momentum=momentum, batch_seed=batch_seed)
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet or lipnb.MLP; got {type(net).__name__}")
    steps = check_int("steps", steps, minimum=1)
    log_every = check_int("log_every", log_every, minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False; got {progress!r}")
    lo = get_loss(loss, delta)
    xt, yt = _check_data(net, x, y)
    n_data = xt.shape[0]
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n_data)
        if batch_size == n_data:
            batch_size = None
    mu = check_real("momentum", momentum, low=0.0)
    if mu >= 1.0:
        raise ValueError(f"momentum must lie in [0, 1); got {mu}")
    batch_seed = check_int("batch_seed", batch_seed, minimum=0)
    E = net.members
    per_member = _resolve(schedule, E)
    if net.ensemble is None and len(per_member) != 1:
        raise ValueError(f"schedule as a sequence needs an ensemble; this network is single (got {len(per_member)})")
    base, caps = _tables(per_member, steps + 1, net.dtype, net.device)

    net = net.clone()
    W, Bv, bv = net._W, net._B, net._b  # updated in place; W = [A | a]
    d = net.d
    dev, dt = net.device, net.dtype
    x1 = torch.cat([xt, torch.ones_like(xt[:, :1])], dim=1)
    x1T = x1.T.contiguous()
    nb = n_data if batch_size is None else batch_size
    work = _workspace(net, nb)
    gen = torch.Generator(device="cpu").manual_seed(batch_seed)
    velocity = (torch.zeros_like(W), torch.zeros_like(Bv), torch.zeros_like(bv)) if mu > 0 else None
    # The learning rate of each column of W = [A | a]: column j < d belongs to A, column d to a.
    to_w = torch.tensor([0] * d + [1], device=dev)
    lrW_table = None if caps is not None else base.index_select(2, to_w)  # (T + 1, E, d + 1)
    logged = list(range(0, steps, log_every)) + [steps]
    L = len(logged)
    # One row per logged step: the loss, then α^g, ‖∇_g R‖, the step lengths and the path lengths P^g_t
    # (4 groups each). The parameter norms are kept as the Gram matrix Wᵀ W (which holds ‖A‖_op², ‖A‖_F²
    # and ‖a‖²) plus ‖B‖ and b, and turned into norms once, after the run (one batched eigvalsh).
    rows = torch.empty(L, E, 17, dtype=dt, device=dev)
    grams = torch.empty(L, E, d + 1, d + 1, dtype=dt, device=dev)
    outer = torch.empty(L, E, 2, dtype=dt, device=dev)
    path = torch.zeros(E, 4, dtype=dt, device=dev)
    watch = _DivergenceWatch(E, dt, dev)
    li = 0
    bar = tqdm(total=steps, disable=not progress, desc="GD", leave=False)
    try:
        for t in range(steps + 1):
            if batch_size is None:
                value, gW, gB, gb = net._loss_grad(x1, x1T, yt, lo, work)
            else:
                idx = torch.randperm(n_data, generator=gen)[:batch_size].to(dev)
                xb = x1.index_select(0, idx)
                value, gW, gB, gb = net._loss_grad(xb, xb.T.contiguous(), yt.index_select(0, idx), lo, work)
                if li < L and logged[li] == t:
                    value = net._risk(x1T, yt, lo)
            gn = _group_norms(gW, gB, gb, d)  # (E, 4)
            if velocity is not None:
                velocity[0].mul_(mu).add_(gW)
                velocity[1].mul_(mu).add_(gB)
                velocity[2].mul_(mu).add_(gb)
                gW, gB, gb = velocity
                dn = _group_norms(gW, gB, gb, d)
            else:
                dn = gn
            lr = base[t]
            if caps is not None:
                total = torch.linalg.vector_norm(dn, dim=-1, keepdim=True)
                lr = torch.minimum(lr, caps[t] / total)
            step_len = lr * dn
            if li < L and logged[li] == t:
                torch.cat([value[:, None], lr, gn, step_len, path], dim=1, out=rows[li])
                torch.bmm(W.transpose(1, 2), W, out=grams[li])
                outer[li, :, 0] = torch.linalg.vector_norm(Bv, dim=-1)
                outer[li, :, 1] = bv
                li += 1
            watch.record(t, value, last=t == steps)
            if t == steps:
                break
            path.add_(step_len)
            lrW = lrW_table[t] if lrW_table is not None else lr.index_select(1, to_w)
            W.addcmul_(gW, lrW[:, None, :], value=-1.0)
            Bv.addcmul_(gB, lr[:, 2:3], value=-1.0)
            bv.addcmul_(gb, lr[:, 3], value=-1.0)
            if progress and (t + 1) % 100 == 0:
                bar.update(100)
    finally:
        bar.close()
    for name, v in net.parameters().items():
        if not bool(torch.isfinite(v).all()):
            raise TrainingDiverged(steps, int((~torch.isfinite(v)).flatten(1).any(1).nonzero()[0, 0]),
                                   float("nan"), f"(parameter group {name})")
    history = _history(net, rows, grams, outer, logged, lo, xt, per_member, log_every)
    history.batch_size = batch_size
    history.momentum = mu
    return net, history


class _DivergenceWatch:
    """Finds the first step with a non-finite loss without a sync per step: the losses go into a ring of
    ``CHECK`` rows, which is looked at every ``CHECK`` steps (and at the last step).

    ``check`` raises :class:`TrainingDiverged` naming the first non-finite step, the member that diverged
    first (the lowest index on a tie) and that member's last finite loss (``nan`` if there was none).
    """

    CHECK = 64

    def __init__(self, members: int, dtype: torch.dtype, device: torch.device) -> None:
        self.ring = torch.empty(self.CHECK, members, dtype=dtype, device=device)
        self.previous = torch.full((members,), float("nan"), dtype=dtype, device=device)  # before the ring

    def record(self, t: int, value: torch.Tensor, last: bool = False) -> None:
        """Store R(θ_t) of every member; look at the ring when it is full or ``last``."""
        self.ring[t % self.CHECK] = value
        if t % self.CHECK == self.CHECK - 1 or last:
            self._check(t)

    def _check(self, t: int) -> None:
        filled = self.ring[: t % self.CHECK + 1]
        finite = torch.isfinite(filled)
        if bool(finite.all()):
            self.previous.copy_(filled[-1])
            return
        row = int((~finite).any(dim=1).nonzero()[0, 0])
        member = int((~finite[row]).nonzero()[0, 0])
        last = float(self.previous[member] if row == 0 else filled[row - 1, member])
        raise TrainingDiverged(t - t % self.CHECK + row, member, last)


def _group_norms(gW: torch.Tensor, gB: torch.Tensor, gb: torch.Tensor, d: int) -> torch.Tensor:
    """Per-group norms (‖·_A‖_F, ‖·_a‖, ‖·_B‖, |·_b|) of a direction given as ([A | a], B, b): shape (E, 4)."""
    sq = (gW * gW).sum(dim=1)  # (E, d + 1): squared column norms
    return torch.stack([sq[:, :d].sum(dim=-1).sqrt(), sq[:, d].sqrt(),
                        torch.linalg.vector_norm(gB, dim=-1), gb.abs()], dim=-1)


def _history(net: TwoLayerNet, rows: torch.Tensor, grams: torch.Tensor, outer: torch.Tensor, logged: list[int],
             lo: Loss, x: torch.Tensor, per_member: list[dict[str, Schedule]], log_every: int) -> History:
    single = net.ensemble is None
    d = net.d

    def out(t: torch.Tensor) -> np.ndarray:
        arr = t.detach().cpu().numpy()
        return arr[:, 0] if single else arr

    gram_A = grams[..., :d, :d]
    fro_sq = torch.diagonal(gram_A, dim1=-2, dim2=-1).sum(dim=-1)
    # ‖A‖_op² is the top eigenvalue of AᵀA. A Gram matrix that overflowed (entries above ~1e154) has no
    # finite eigenvalue to give: its norms are recorded as inf, an upper bound, never as NaN.
    finite = torch.isfinite(gram_A).flatten(-2).all(dim=-1)
    top = torch.linalg.eigvalsh(torch.where(finite[..., None, None], gram_A, torch.zeros_like(gram_A)))[..., -1]
    A_op = torch.where(finite, top.clamp_min(0).sqrt(), torch.full_like(top, float("inf")))
    A_op = torch.minimum(A_op, fro_sq.sqrt())  # ‖A‖_op ≤ ‖A‖_F; equality for d = 1, where rounding may differ
    norms = {
        "A_op": out(A_op), "A_fro": out(fro_sq.sqrt()), "a": out(grams[..., d, d].clamp_min(0).sqrt()),
        "B": out(outer[..., 0]), "b": out(outer[..., 1].abs()),
    }
    lr = {g: out(rows[..., 1 + j]) for j, g in enumerate(GROUPS)}
    grad = {g: out(rows[..., 5 + j]) for j, g in enumerate(GROUPS)}
    L_sigma = net.activation.lipschitz
    return History(
        steps=np.asarray(logged, dtype=np.int64),
        loss=out(rows[..., 0]),
        lr=lr,
        grad_norm=grad,
        grad_norm_total=out(torch.linalg.vector_norm(rows[..., 5:9], dim=-1)),
        step_length={g: out(rows[..., 9 + j]) for j, g in enumerate(GROUPS)},
        path_length={g: out(rows[..., 13 + j]) for j, g in enumerate(GROUPS)},
        norms=norms,
        lip_product=L_sigma * norms["B"] * norms["A_op"],
        loss_name=lo.name,
        delta=lo.delta,
        activation=str(net.activation),
        lipschitz_activation=L_sigma,
        width=net.width,
        d=net.d,
        n_train=int(x.shape[0]),
        x_radius=float(torch.linalg.vector_norm(x, dim=-1).max()),
        schedules=_describe(per_member),
        log_every=log_every,
        ensemble=net.ensemble,
    )
