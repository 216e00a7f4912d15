"""Sharpness: the top eigenvalue λ_max of the Hessian of the training risk in parameter space.

Gradient descent with step α on a quadratic with curvature λ is stable exactly when α λ < 2; on a
network the same number, α λ_max(∇²R(θ_t)), tells whether a run stays below the *edge of stability*
(α λ_max < 2) or oscillates and catapults across it (Cohen et al. 2021, "Gradient descent on neural
networks typically occurs at the edge of stability"). Heavy ball with momentum μ is stable on a
quadratic when α λ < 2(1 + μ).

:func:`top_hessian_eigenvalue` finds λ_max by power iteration on Hessian-vector products
(``torch.autograd`` double backward: the Hessian is never formed), batched over the ensemble axis: the
risk of an ensemble is a sum of independent members, so its Hessian is block diagonal and one product
serves every member. :func:`sharpness_along` trains with :func:`lipnb.train` and measures λ_max at
checkpoints of the run. Both work for a :class:`~lipnb.TwoLayerNet` (groups ``A, a, B, b``) and an
:class:`~lipnb.MLP` (groups ``W1, b1, …``), for the MSE and the Huber loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_int, check_real
from .losses import loss as get_loss
from .mlp import MLP
from .nets import TwoLayerNet
from .schedules import Schedule
from .training import History, concat_histories, train

__all__ = ["Sharpness", "SharpnessTrace", "hessian_vector_product", "top_hessian_eigenvalue", "sharpness_along"]


@dataclass
class Sharpness:
    """λ_max of ∇²R at one point: ``value`` (a float, or one per ensemble member), the unit eigenvectors
    (``vectors``, one tensor per parameter group, ensemble axis first; pass them back as ``init`` to warm-start
    the next measurement), the number of Hessian-vector products used and whether every member converged."""

    value: float | np.ndarray
    vectors: list[torch.Tensor]
    products: int
    converged: bool


def _parameters(net: TwoLayerNet | MLP) -> list[torch.Tensor]:
    """The parameter tensors, ensemble axis first, detached copies (in the order of ``net.groups``)."""
    if isinstance(net, TwoLayerNet):
        return [net._A.detach().clone(), net._a.detach().clone(), net._B.detach().clone(), net._b.detach().clone()]
    if isinstance(net, MLP):
        return [p.detach().clone() for pair in zip(net._Ws, net._bs) for p in pair]
    raise TypeError(f"net must be a lipnb.TwoLayerNet or lipnb.MLP; got {type(net).__name__}")


def _risk_fn(net: TwoLayerNet | MLP, x: Any, y: Any, loss: str, delta: float) -> tuple[Any, list[torch.Tensor]]:
    """(params ↦ R (E,), the current params): the risk as a differentiable function of the parameters."""
    xt = net._check_x(x)
    yt = as_tensor("y", y, dtype=net.dtype, device=net.device).reshape(-1)
    if yt.shape != (xt.shape[0],):
        raise ValueError(f"y must have shape ({xt.shape[0]},) to match x; got {tuple(yt.shape)}")
    lo = get_loss(loss, delta)
    act = net.activation
    if isinstance(net, TwoLayerNet):

        def risk(p: list[torch.Tensor]) -> torch.Tensor:
            A, a, B, b = p
            h = act(torch.einsum("emd,nd->emn", A, xt) + a[..., None])
            return lo.from_residual(torch.einsum("em,emn->en", B, h) + b[:, None] - yt)

    else:

        def risk(p: list[torch.Tensor]) -> torch.Tensor:
            return lo.from_residual(MLP(p[0::2], p[1::2], act, net.ensemble)._forward(xt)[0] - yt)

    return risk, _parameters(net)


def _dot(u: list[torch.Tensor], v: list[torch.Tensor]) -> torch.Tensor:
    """Per-member inner product (E,) of two parameter lists."""
    return sum((a * b).reshape(a.shape[0], -1).sum(dim=1) for a, b in zip(u, v))


def _scale(u: list[torch.Tensor], s: torch.Tensor) -> list[torch.Tensor]:
    return [a * s.reshape(-1, *([1] * (a.ndim - 1))) for a in u]


def hessian_vector_product(
    net: TwoLayerNet | MLP, x: Any, y: Any, vectors: Sequence[Any], loss: str = "mse", delta: float = 1.0
) -> list[torch.Tensor]:
    """∇²R(θ) v for a direction v given per parameter group (ensemble axis first, as the network stores them)."""
    risk, params = _risk_fn(net, x, y, loss, delta)
    v = [as_tensor(f"vectors[{i}]", t, dtype=net.dtype, device=net.device) for i, t in enumerate(vectors)]
    if [t.shape for t in v] != [p.shape for p in params]:
        raise ValueError(
            f"vectors must have the shapes {[tuple(p.shape) for p in params]}; got {[tuple(t.shape) for t in v]}"
        )
    params = [p.requires_grad_(True) for p in params]
    with torch.enable_grad():
        grads = torch.autograd.grad(risk(params).sum(), params, create_graph=True)
        return [h.detach() for h in torch.autograd.grad(grads, params, grad_outputs=v)]


def top_hessian_eigenvalue(
    net: TwoLayerNet | MLP,
    x: Any,
    y: Any,
    loss: str = "mse",
    delta: float = 1.0,
    iters: int = 300,
    rtol: float = 1e-4,
    seed: int = 0,
    init: Sequence[torch.Tensor] | None = None,
) -> Sharpness:
    """λ_max(∇²R(θ)), the largest eigenvalue of the Hessian of the training risk, by power iteration.

    Power iteration converges to the eigenvalue of largest *magnitude*; when that one is negative (a
    saddle whose negative curvature dominates), the iteration is repeated on ∇²R − λ I, whose largest
    magnitude eigenvalue is λ_max − λ. Iteration stops when every member's Rayleigh quotient changed by
    at most ``rtol`` (relative) between two products, or after ``iters`` products (``converged`` is then
    False). ``init``: starting vectors (a previous ``Sharpness.vectors``), else Gaussian with ``seed``.
    Returns a :class:`Sharpness` (per member for an ensemble).
    """
    iters = check_int("iters", iters, minimum=1)
    rtol = check_real("rtol", rtol, positive=True)
    seed = check_int("seed", seed, minimum=0)
    risk, params = _risk_fn(net, x, y, loss, delta)
    params = [p.requires_grad_(True) for p in params]
    g = torch.Generator(device="cpu").manual_seed(seed)

    def gaussian() -> list[torch.Tensor]:
        return [torch.randn(p.shape, generator=g, dtype=p.dtype).to(p.device) for p in params]

    if init is None:
        v = gaussian()
    else:
        v = [as_tensor(f"init[{i}]", t, dtype=net.dtype, device=net.device).clone() for i, t in enumerate(init)]
        if [t.shape for t in v] != [p.shape for p in params]:
            raise ValueError(f"init must have the shapes {[tuple(p.shape) for p in params]}")
    with torch.enable_grad():
        grads = torch.autograd.grad(risk(params).sum(), params, create_graph=True)

        def hvp(u: list[torch.Tensor]) -> list[torch.Tensor]:
            return [h.detach() for h in torch.autograd.grad(grads, params, grad_outputs=u, retain_graph=True)]

        def power(u: list[torch.Tensor], shift: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], int, bool]:
            u = _scale(u, 1.0 / torch.sqrt(_dot(u, u)))
            lam = torch.full_like(shift, float("nan"))
            for k in range(1, iters + 1):
                hu = [h - s for h, s in zip(hvp(u), _scale(u, shift))]
                new = _dot(u, hu)
                norm = torch.sqrt(_dot(hu, hu))
                done = bool(torch.all((new - lam).abs() <= rtol * new.abs()))
                lam = new
                if done or bool(torch.any(norm == 0)):
                    return lam, u, k, done
                u = _scale(hu, 1.0 / norm)
            return lam, u, iters, False

        zero = torch.zeros(params[0].shape[0], dtype=params[0].dtype, device=params[0].device)
        lam, v, used, ok = power(v, zero)
        if bool(torch.any(lam < 0)):
            shift = torch.clamp(lam, max=0.0)
            lam2, v, used2, ok = power(gaussian(), shift)
            lam, used = lam2 + shift, used + used2
    values = lam.detach().cpu().numpy().astype(np.float64)
    out: float | np.ndarray = float(values[0]) if net.ensemble is None else values
    return Sharpness(out, [t.detach() for t in v], used, ok)


@dataclass
class SharpnessTrace:
    """λ_max measured along a run: at the steps ``steps``, values ``values`` of shape (K,) or (K, E)."""

    steps: np.ndarray
    values: np.ndarray
    converged: bool

    def max(self) -> float | np.ndarray:
        """The largest λ_max measured (per member for an ensemble)."""
        return self.values.max(axis=0)


def _shifted(schedule: Schedule, offset: int) -> Schedule:
    """The schedule t ↦ α_{t + offset} (a plain schedule, continued from step ``offset``)."""
    fn = schedule._fn
    return Schedule(
        lambda t: fn(t + offset),
        max(schedule.start - offset, 0),
        schedule.rate_function,
        f"{schedule.description} from t = {offset}",
    )


def sharpness_along(
    net: TwoLayerNet | MLP,
    x: Any,
    y: Any,
    schedule: Schedule,
    steps: int,
    every: int,
    loss: str = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
    rtol: float = 1e-4,
) -> tuple[Any, History, SharpnessTrace]:
    """Train as :func:`lipnb.train` does and measure λ_max(∇²R) (full training set) every ``every`` steps.

    Full-batch GD is stateless, so the run is trained in chunks of ``every`` steps (the parameters are
    those of one uninterrupted run, bit for bit); each measurement starts from the last one's eigenvectors.
    Mini-batch SGD draws its batches anew in each chunk (seed ``batch_seed + k`` for chunk k). Heavy ball
    keeps a velocity that a chunk boundary would reset, so with ``momentum`` > 0 the run to each checkpoint
    is replayed from θ₀ (exact, and ``every`` times dearer). ``schedule`` must be a plain schedule (not
    adaptive). Returns ``(trained net, History, SharpnessTrace)``.
    """
    steps = check_int("steps", steps, minimum=1)
    every = check_int("every", every, minimum=1)
    if not isinstance(schedule, Schedule) or schedule.needs_grad_norm:
        raise TypeError("schedule must be one plain lipnb schedule (constant, eventual decay, ...), not adaptive")
    if every % log_every:
        raise ValueError(f"every ({every}) must be a multiple of log_every ({log_every})")
    kw = dict(loss=loss, delta=delta, log_every=log_every, batch_size=batch_size, momentum=momentum)
    marks = list(range(0, steps, every)) + [steps]
    sharp = top_hessian_eigenvalue(net, x, y, loss, delta, rtol=rtol)
    values, ok = [np.atleast_1d(sharp.value)], sharp.converged
    current, history = net, None
    for k, (t0, t1) in enumerate(zip(marks[:-1], marks[1:])):
        if momentum > 0:
            current, history = train(net, x, y, schedule, t1, batch_seed=batch_seed, **kw)
        else:
            current, more = train(current, x, y, _shifted(schedule, t0), t1 - t0, batch_seed=batch_seed + k, **kw)
            history = more if history is None else concat_histories(history, more)
        sharp = top_hessian_eigenvalue(current, x, y, loss, delta, rtol=rtol, init=sharp.vectors)
        values.append(np.atleast_1d(sharp.value))
        ok = ok and sharp.converged
    vals = np.stack(values)
    trace = SharpnessTrace(np.asarray(marks, dtype=np.int64), vals[:, 0] if net.ensemble is None else vals, ok)
    assert history is not None
    return current, history, trace
