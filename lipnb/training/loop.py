"""The gradient-descent loop shared by every network type: :func:`train`.

θ^g_{t+1} = θ^g_t − α^g_t d^g_t for each parameter group g, with d_t the gradient of the risk (full
batch or a mini-batch) or its heavy-ball average, and a :class:`~lipnb.training.history.History` that
records what the theorems need: the loss, learning rates, gradient norms, the step lengths
‖θ^g_{t+1} − θ^g_t‖ and the path length P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖ of the path-length lemma
({prf:ref}`lem-path-length`, accumulated at *every* step, whatever ``log_every``), parameter norms and the
product Lipschitz bound ({prf:ref}`prop-product-bound`).

The loop talks to the network through a :class:`Stepper` (:mod:`.two_layer` for
:class:`~lipnb.TwoLayerNet`, :mod:`.mlp` for :class:`~lipnb.MLP`), which owns the parameter storage,
the gradients, the update and the records.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from tqdm.auto import tqdm

from .._validate import check_int, check_real
from ..errors import TrainingDiverged
from ..losses import Loss
from ..losses import loss as get_loss
from ..mlp import MLP
from ..nets import TwoLayerNet
from .divergence import DivergenceWatch
from .history import History
from .plan import _resolve, _tables

__all__ = ["train", "Stepper"]


class Stepper(Protocol):
    """What the loop needs from a network type (one instance per run, on a clone of the network).

    ``directions`` are the tensors that the update moves (the gradient, then the heavy-ball velocity);
    their group norms are an (E, G) tensor, as are the learning rates ``lr`` and the records.
    """

    net: Any
    groups: tuple[str, ...]
    n_data: int

    def loss_grad(self, idx: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """R (E,) on the samples ``idx`` (all when None) and the gradient tensors."""

    def risk(self) -> torch.Tensor:
        """R (E,) on the whole training set."""

    def group_norms(self, directions: list[torch.Tensor]) -> torch.Tensor:
        """Norms (E, G) of a direction, one per parameter group."""

    def record(
        self,
        row: int,
        value: torch.Tensor,
        lr: torch.Tensor,
        grad_norms: torch.Tensor,
        step_length: torch.Tensor,
        path: torch.Tensor,
    ) -> None:
        """Keep logged row ``row`` (the parameters are those of the step being logged)."""

    def update(self, t: int, lr: torch.Tensor, directions: list[torch.Tensor]) -> None:
        """θ ← θ − α d, in place."""

    def parameters(self) -> dict[str, torch.Tensor]:
        """The parameter tensors by name, for the check that they ended finite."""

    def history(self, logged: list[int], per_member: list[dict[str, Any]], log_every: int) -> History:
        """The :class:`History` of the run from the recorded rows."""


def _stepper(net: Any, x: Any, y: Any, lo: Loss, rows: int, batch: int | None, tables: tuple[Any, Any]) -> Stepper:
    from .mlp import MLPStepper
    from .two_layer import TwoLayerStepper

    if isinstance(net, TwoLayerNet):
        return TwoLayerStepper(net, x, y, lo, rows, batch, tables)
    return MLPStepper(net, x, y, lo, rows, batch, tables)


def train(
    net: TwoLayerNet | MLP,
    x: Any,
    y: Any,
    schedule: Any,
    steps: int,
    loss: str | Loss = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    progress: bool = False,
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
) -> tuple[Any, History]:
    """Train ``net`` by gradient descent; return the trained copy and its :class:`History`.

    The default is full-batch GD, θ_{t+1} = θ_t − α_t ∇R(θ_t). With ``batch_size`` each step uses the
    gradient of the risk on ``batch_size`` distinct samples drawn uniformly (mini-batch SGD, seeded by
    ``batch_seed``, the same batch for every ensemble member); with ``momentum`` μ > 0 the step is
    heavy-ball, v_{t+1} = μ v_t + g_t, θ_{t+1} = θ_t − α_t v_{t+1} (PyTorch's ``SGD(momentum=μ)``).
    In every case the step length recorded and summed into the path length is the actual
    ‖θ_{t+1} − θ_t‖ of each group, so the path-length lemma ({prf:ref}`lem-path-length`) stays valid.

    Parameters
    ----------
    net: a :class:`~lipnb.TwoLayerNet` (groups ``A, a, B, b``) or an :class:`~lipnb.MLP` (groups
        ``W1, b1, …``), single or ensemble; it is not modified.
    x, y: training inputs (N, d) and targets (N,), NumPy or torch; cast to the network's dtype/device.
    schedule: a schedule (``lipnb.schedules``), a mapping group -> schedule for per-group learning
        rates, or a sequence of either with one entry per ensemble member.
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
    if not isinstance(net, (TwoLayerNet, MLP)):
        raise TypeError(f"net must be a lipnb.TwoLayerNet or lipnb.MLP; got {type(net).__name__}")
    steps = check_int("steps", steps, minimum=1)
    log_every = check_int("log_every", log_every, minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False; got {progress!r}")
    lo = get_loss(loss, delta)
    mu = check_real("momentum", momentum, low=0.0)
    if mu >= 1.0:
        raise ValueError(f"momentum must lie in [0, 1); got {mu}")
    batch_seed = check_int("batch_seed", batch_seed, minimum=0)
    groups = net.groups
    per_member = _resolve(schedule, net.members, groups)
    if net.ensemble is None and len(per_member) != 1:
        raise ValueError(f"schedule as a sequence needs an ensemble; this network is single (got {len(per_member)})")
    logged = list(range(0, steps, log_every)) + [steps]
    tables = _tables(per_member, steps + 1, net.dtype, net.device, groups)
    base, caps = tables
    stepper = _stepper(net.clone(), x, y, lo, len(logged), batch_size, tables)
    n_data, batch = stepper.n_data, stepper.batch_size
    E, dt, dev = net.members, net.dtype, net.device
    gen = torch.Generator(device="cpu").manual_seed(batch_seed)
    velocity: list[torch.Tensor] | None = None
    path = torch.zeros(E, len(groups), dtype=dt, device=dev)
    watch = DivergenceWatch(E, dt, dev)
    li = 0
    bar = tqdm(total=steps, disable=not progress, desc="GD", leave=False)
    try:
        for t in range(steps + 1):
            log_now = li < len(logged) and logged[li] == t
            if batch is None:
                value, grads = stepper.loss_grad(None)
            else:
                idx = torch.randperm(n_data, generator=gen)[:batch].to(dev)
                value, grads = stepper.loss_grad(idx)
                if log_now:
                    value = stepper.risk()
            gn = stepper.group_norms(grads)
            if mu > 0:
                if velocity is None:
                    velocity = [torch.zeros_like(g) for g in grads]
                for v, g in zip(velocity, grads):
                    v.mul_(mu).add_(g)
                grads = velocity
                dn = stepper.group_norms(grads)
            else:
                dn = gn
            lr = base[t]
            if caps is not None:
                lr = torch.minimum(lr, caps[t] / torch.linalg.vector_norm(dn, dim=-1, keepdim=True))
            step_len = lr * dn
            if log_now:
                stepper.record(li, value, lr, gn, step_len, path)
                li += 1
            watch.record(t, value, last=t == steps)
            if t == steps:
                break
            path.add_(step_len)
            stepper.update(t, lr, grads)
            if progress and (t + 1) % 100 == 0:
                bar.update(100)
    finally:
        bar.close()
    for name, v in stepper.parameters().items():
        if not bool(torch.isfinite(v).all()):
            raise TrainingDiverged(
                steps,
                int((~torch.isfinite(v)).flatten(1).any(1).nonzero()[0, 0]),
                float("nan"),
                f"(parameter group {name})",
            )
    history = stepper.history(logged, per_member, log_every)
    history.batch_size = batch
    history.momentum = mu
    return stepper.net, history
