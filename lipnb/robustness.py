"""Certified and empirical robustness of a sign classifier x ↦ sign f(x), in the Euclidean norm.

What a Lipschitz constant buys (chapter *Real data*): if Lip(f) ≤ L and the label is y ∈ {−1, +1}, then
|f(x + δ) − f(x)| ≤ L‖δ‖₂, so the sign of f cannot change within the **certified radius**
r(x) = y f(x) / L of a correctly classified x (y f(x) > 0). The **certified accuracy** at ε is the fraction
of points with r(x) > ε: a lower bound on the accuracy under every perturbation of norm ≤ ε. An attack
gives the other side: :func:`pgd_l2` searches the ball of radius ε for a point whose sign is wrong
(projected gradient descent on the margin y f), so the accuracy it leaves is an upper bound on the robust
accuracy, and :func:`attack_distance` finds, by bisection over ε, how far away the nearest adversarial
example it can find lies. Every adversarial example is at least the certified radius away; a violation
means that L was not an upper bound of Lip(f).

``f`` is any callable mapping a batch x of shape (n, d) to n outputs, differentiable in x by autograd: a
single (not ensemble) :class:`~lipnb.TwoLayerNet` or :class:`~lipnb.MLP`, or a PyTorch module with
one output (shape (n,) or (n, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_int, check_real
from .nets import TwoLayerNet

__all__ = [
    "margins",
    "certified_radius",
    "certified_accuracy",
    "pgd_l2",
    "attack_distance",
    "robust_accuracy",
    "evaluate",
    "row_space_net",
]

Classifier = Callable[[torch.Tensor], torch.Tensor]


def _check_xy(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    xt = as_tensor("x", x, dtype=torch.float64)
    yt = as_tensor("y", y, dtype=torch.float64)
    if xt.ndim != 2:
        raise ValueError(f"x must have shape (n, d); got {tuple(xt.shape)}")
    if yt.shape != (xt.shape[0],):
        raise ValueError(f"y must have shape ({xt.shape[0]},), one label per row of x; got {tuple(yt.shape)}")
    if not bool(((yt == 1) | (yt == -1)).all()):
        raise ValueError("y must hold labels -1 and +1 only")
    return xt, yt


def _outputs(f: Classifier, x: torch.Tensor) -> torch.Tensor:
    if not callable(f):
        raise TypeError(f"f must be a callable network (n, d) -> (n,); got {type(f).__name__}")
    out = f(x)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape != (x.shape[0],):
        raise ValueError(
            f"f must map x of shape (n, d) to n outputs (a single network, not an ensemble); got {tuple(out.shape)}"
        )
    return out


def _value_and_grad(f: Classifier, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """f(z) and ∇f(z) (shape (n, d)): a lipnb network's own input gradient, else autograd."""
    if callable(getattr(f, "input_gradient", None)):
        with torch.no_grad():
            return _outputs(f, z).to(torch.float64), f.input_gradient(z).to(torch.float64)
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        out = _outputs(f, z)
        (grad,) = torch.autograd.grad(out.sum(), z)
    return out.detach().to(torch.float64), grad.to(torch.float64)


def margins(f: Classifier, x: Any, y: Any) -> torch.Tensor:
    """y f(x), one per point: positive where sign f(x) = y."""
    xt, yt = _check_xy(x, y)
    with torch.no_grad():
        return yt * _outputs(f, xt).to(torch.float64)


def certified_radius(f: Classifier, x: Any, y: Any, lipschitz: float) -> torch.Tensor:
    """r(x) = y f(x) / L, one per point: for r > 0, sign f = y on the whole ball of radius r around x.

    Valid when L = ``lipschitz`` ≥ Lip(f), e.g. the ``upper`` of :func:`lipnb.certify`. Negative radii mark
    misclassified points (nothing is certified there).
    """
    L = check_real("lipschitz", lipschitz, positive=True)
    return margins(f, x, y) / L


def certified_accuracy(radius: Any, eps: Sequence[float]) -> np.ndarray:
    """The fraction of points with certified radius > ε, for each ε in ``eps`` (ε = 0: the clean accuracy)."""
    r = as_tensor("radius", radius, dtype=torch.float64).reshape(-1)
    out = []
    for e in eps:
        e = check_real("eps", e, nonnegative=True)
        out.append(float((r > e).to(torch.float64).mean()))
    return np.asarray(out)


def _eps_per_point(eps: Any, n: int) -> torch.Tensor:
    if isinstance(eps, (int, float)) and not isinstance(eps, bool):
        e = torch.full((n,), check_real("eps", eps, nonnegative=True), dtype=torch.float64)
    else:
        e = as_tensor("eps", eps, dtype=torch.float64).reshape(-1)
        if e.shape != (n,):
            raise ValueError(f"eps must be a number or one radius per point ({n}); got shape {tuple(e.shape)}")
        if not bool(torch.isfinite(e).all()) or bool((e < 0).any()):
            raise ValueError("eps must be finite and >= 0")
    return e


def pgd_l2(
    f: Classifier, x: Any, y: Any, eps: Any, steps: int = 20, step_size: float = 2.5, seed: int = 0
) -> torch.Tensor:
    """Projected gradient descent on the margin y f(x + δ) over the ball ‖δ‖₂ ≤ ε: the attacked points.

    Each of the ``steps`` steps moves δ by ``step_size``·ε/``steps`` along −y∇f / ‖∇f‖ and projects it back
    onto the ball; it starts at a random point of radius ε/2 (``seed``) and returns, per point, the iterate
    with the smallest margin (stopping at the first sign flip). ``eps`` is a number or one radius per point.
    The attack is not constrained to the pixel range: certification covers the whole space anyway.
    """
    xt, yt = _check_xy(x, y)
    e = _eps_per_point(eps, xt.shape[0])[:, None]
    steps = check_int("steps", steps, minimum=1)
    step_size = check_real("step_size", step_size, positive=True)
    seed = check_int("seed", seed, minimum=0)
    g = torch.Generator().manual_seed(seed)
    delta = torch.randn(xt.shape, generator=g, dtype=torch.float64)
    delta *= 0.5 * e / torch.linalg.vector_norm(delta, dim=1, keepdim=True).clamp_min(1e-300)
    best = xt.clone()
    with torch.no_grad():
        best_margin = yt * _outputs(f, xt).to(torch.float64)
    for _ in range(steps + 1):
        z = xt + delta
        out, grad = _value_and_grad(f, z)
        margin, grad = yt * out, yt[:, None] * grad
        with torch.no_grad():
            better = (margin < best_margin) & (best_margin > 0)
            best[better], best_margin[better] = z[better], margin[better]
            move = grad / torch.linalg.vector_norm(grad, dim=1, keepdim=True).clamp_min(1e-300)
            delta = delta - step_size * e / steps * move
            delta *= torch.clamp(e / torch.linalg.vector_norm(delta, dim=1, keepdim=True).clamp_min(1e-300), max=1.0)
    return best


def robust_accuracy(f: Classifier, x: Any, y: Any, eps: Sequence[float], steps: int = 20, seed: int = 0) -> np.ndarray:
    """The fraction of points still classified correctly after :func:`pgd_l2` at each ε of ``eps``.

    An upper bound on the accuracy under perturbations of norm ≤ ε (the attack may miss adversarial examples).
    """
    xt, yt = _check_xy(x, y)
    out = []
    for e in eps:
        adv = pgd_l2(f, xt, yt, check_real("eps", e, nonnegative=True), steps=steps, seed=seed)
        out.append(float((margins(f, adv, yt) > 0).to(torch.float64).mean()))
    return np.asarray(out)


def attack_distance(
    f: Classifier, x: Any, y: Any, eps_max: float, steps: int = 20, bisections: int = 12, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The distance to the nearest adversarial example that :func:`pgd_l2` finds, by bisection over ε.

    For every point, ε is bisected ``bisections`` times in [0, ``eps_max``]: a success (a point x' with
    sign f(x') ≠ y and ‖x' − x‖ ≤ ε) lowers the upper end and is kept. Returns ``(distance, adversarial)``:
    ‖x' − x‖ of the closest adversarial example found (0 for a misclassified point, ``inf`` when none was
    found within ``eps_max``) and the examples themselves (x itself where none was found). Every such
    distance is an upper bound on the distance from x to the decision boundary, and, when Lip(f) ≤ L, at
    least the certified radius y f(x) / L.
    """
    xt, yt = _check_xy(x, y)
    eps_max = check_real("eps_max", eps_max, positive=True)
    bisections = check_int("bisections", bisections, minimum=1)
    n = xt.shape[0]
    ok = margins(f, xt, yt) > 0
    dist = torch.where(ok, torch.full((n,), math.inf, dtype=torch.float64), torch.zeros(n, dtype=torch.float64))
    adv = xt.clone()

    def attempt(e: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        cand = pgd_l2(f, xt[idx], yt[idx], e[idx], steps=steps, seed=seed)
        hit = margins(f, cand, yt[idx]) <= 0
        norm = torch.linalg.vector_norm(cand - xt[idx], dim=1)
        closer = hit & (norm < dist[idx])
        dist[idx[closer]], adv[idx[closer]] = norm[closer], cand[closer]
        out = torch.zeros(n, dtype=torch.bool)
        out[idx[hit]] = True
        return out

    lo = torch.zeros(n, dtype=torch.float64)
    hi = torch.full((n,), eps_max, dtype=torch.float64)
    idx = torch.nonzero(ok)[:, 0]
    found = attempt(hi, idx)
    idx = idx[found[idx]]
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        hit = attempt(mid, idx)
        hi = torch.where(hit, mid, hi)
        lo = torch.where(hit, lo, mid)
    return dist, adv


def evaluate(
    f: Classifier,
    x: Any,
    y: Any,
    lipschitz: float,
    eps: Sequence[float],
    eps_max: float = 2.0,
    steps: int = 20,
    bisections: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Certified and attacked robustness of sign f on (x, y), with L = ``lipschitz`` ≥ Lip(f), in one call.

    Returns a dict with ``radius`` (:func:`certified_radius`, negative where misclassified), ``distance``
    (:func:`attack_distance` up to ``eps_max``), ``certified`` and ``attacked`` (:func:`certified_accuracy` and
    :func:`robust_accuracy` at each ε of ``eps``), and ``closer``: how many correctly classified points have an
    adversarial example inside their certified radius, which is 0 whenever L ≥ Lip(f).
    """
    radius = certified_radius(f, x, y, lipschitz)
    distance, _ = attack_distance(f, x, y, eps_max, steps=steps, bisections=bisections, seed=seed)
    ok = radius > 0
    return {
        "radius": radius,
        "distance": distance,
        "certified": certified_accuracy(radius, eps),
        "attacked": robust_accuracy(f, x, y, eps, steps=steps, seed=seed),
        "closer": int((distance[ok] < radius[ok]).sum()),
    }


def row_space_net(net: TwoLayerNet) -> tuple[TwoLayerNet, torch.Tensor]:
    """The same two-layer network on the row space of A: ``(g, V)`` with f(x) = g(Vᵀx) and Lip(g) = Lip(f).

    With the thin SVD A = U S Vᵀ (U: m × r, V: d × r with orthonormal columns, r = min(m, d)),
    g(z) = B σ(U S z + a) + b on R^r. Since ‖Vᵀu‖ ≤ ‖u‖, Lip(f) ≤ Lip(g); since z = Vᵀ(Vz) and
    ‖Vz − Vz'‖ = ‖z − z'‖, Lip(g) ≤ Lip(f). So every certificate of g (LipSDP, product bound, a lower bound)
    is one of f, and ∇f(x) = V ∇g(Vᵀx) has the same norm. For a network with fewer hidden units than inputs
    (m = 16 on 64 pixels) the LipSDP of g is an SDP of size r + 1 instead of d + 1, far cheaper to solve.
    Returns g (single network, f's dtype) and V of shape (d, r).
    """
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    if net.ensemble is not None:
        raise ValueError(f"net must be a single network; got an ensemble of {net.ensemble}. Use net.member(i).")
    U, S, Vh = torch.linalg.svd(net.A.detach(), full_matrices=False)
    g = TwoLayerNet.from_weights(
        U * S,
        net.a.detach(),
        net.B.detach(),
        net.b.detach(),
        activation=net.activation,
        dtype=net.dtype,
        device=net.device,
    )
    return g, Vh.T
