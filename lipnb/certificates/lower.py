"""Lower bounds on Lip(f): the largest ‖∇f(x)‖ found at data, random points and by gradient ascent."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._validate import as_tensor, check_int
from ..mlp import MLP
from ..nets import TwoLayerNet
from .certificate import _check_mlp, _check_net


def _grad_torch(A: torch.Tensor, a: torch.Tensor, B: torch.Tensor, act: Any, x: torch.Tensor) -> torch.Tensor:
    """∇f(x) = Aᵀ (σ'(Ax + a) ⊙ B) for a batch x (n, d), differentiable in x."""
    return (act.derivative(x @ A.T + a) * B) @ A


def _lower_two_layer(
    net: TwoLayerNet,
    points: Any = None,
    restarts: int = 16,
    steps: int = 200,
    seed: int = 0,
) -> tuple[float, np.ndarray]:
    """A lower bound max_x ‖∇f(x)‖₂ ≤ Lip(f) over candidate points, and the point attaining it.

    Candidates: ``points`` (e.g. the training inputs, shape (N, d)), plus random points: half Gaussian
    at the scale of the data (or of the hyperplanes A_i x + a_i = 0 when no points are given), half
    near randomly chosen hyperplanes, where the gradient changes. For a smooth σ the ``restarts`` best
    candidates are refined by ``steps`` of Adam ascent on ‖∇f(x)‖² (torch autograd, float64). For a
    piecewise-linear σ the gradient is piecewise constant, so ascent cannot move: 16× more random points
    are sampled instead (in d = 1 and d = 2, :func:`exact_1d` and :func:`exact_2d` give the exact value).
    """
    net = _check_net(net, "_lower_two_layer")
    restarts = check_int("restarts", restarts, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    A = net.A.detach().to("cpu", torch.float64)
    a = net.a.detach().to("cpu", torch.float64)
    B = net.B.detach().to("cpu", torch.float64)
    act = net.activation
    m, d = A.shape
    g = torch.Generator().manual_seed(seed)
    cands = []
    if points is not None:
        pts = as_tensor("points", points, dtype=torch.float64).cpu()
        if pts.ndim == 1 and d == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != d:
            raise ValueError(f"points must have shape (N, {d}) for a network with d = {d}; got {tuple(pts.shape)}")
        cands.append(pts)
        R = float(torch.linalg.vector_norm(pts, dim=1).max()) if pts.shape[0] else 1.0
    else:
        rn = torch.linalg.vector_norm(A, dim=1)
        dist = (a.abs() / rn.clamp_min(1e-300))[rn > 0]
        R = float(dist.median()) * 2.0 if dist.numel() else 1.0
    R = max(R, 1e-3)
    n_rand = 64 * restarts * (16 if act.piecewise_linear else 1)
    half = n_rand // 2
    cands.append(R * torch.randn(half, d, generator=g, dtype=torch.float64))
    rn2 = (A * A).sum(dim=1)
    ok = torch.nonzero(rn2 > 0)[:, 0]
    if ok.numel():
        pick = ok[torch.randint(ok.numel(), (n_rand - half,), generator=g)]
        foot = -(a[pick] / rn2[pick])[:, None] * A[pick]
        cands.append(foot + 0.1 * R * torch.randn(n_rand - half, d, generator=g, dtype=torch.float64))
    X = torch.cat(cands)
    chunk = max(1, 4_000_000 // max(m, 1))
    norms = torch.cat(
        [
            torch.linalg.vector_norm(_grad_torch(A, a, B, act, X[s : s + chunk]), dim=1)
            for s in range(0, X.shape[0], chunk)
        ]
    )
    ib = int(torch.argmax(norms))
    best, wit = float(norms[ib]), X[ib].clone()
    if act.smooth and steps > 0:
        top = torch.topk(norms, min(restarts, norms.numel())).indices
        x = X[top].clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02 * R)
        for _ in range(steps):
            opt.zero_grad()
            val = (_grad_torch(A, a, B, act, x) ** 2).sum(dim=1)
            k = int(torch.argmax(val))
            if float(val[k].detach()) > best * best:
                best, wit = math.sqrt(float(val[k].detach())), x[k].detach().clone()
            (-val.sum()).backward()
            opt.step()
        with torch.no_grad():
            val = torch.linalg.vector_norm(_grad_torch(A, a, B, act, x), dim=1)
            k = int(torch.argmax(val))
            if float(val[k]) > best:
                best, wit = float(val[k]), x[k].detach().clone()
    return best, wit.numpy()


def _lower_mlp(
    net: MLP, points: Any = None, restarts: int = 16, steps: int = 200, seed: int = 0
) -> tuple[float, np.ndarray]:
    """A lower bound max_x ‖∇f(x)‖₂ ≤ Lip(f) and the point attaining it (gradients by ``net.input_gradient``).

    Candidates: ``points`` (e.g. the training inputs) plus 64·``restarts`` random points (twice as many for
    a piecewise-linear σ): half Gaussian at the scale of the data (unit scale without points), half near
    the first layer's hyperplanes, where units switch. For a smooth σ the
    ``restarts`` best candidates are refined by ``steps`` of Adam ascent on ‖∇f(x)‖² (autograd through the
    input gradient); for ReLU / leaky ReLU the gradient is piecewise constant and ascent cannot move, so
    only sampling is used. The value returned is ‖∇f(witness)‖ recomputed by ``net.input_gradient``.
    """
    net = _check_mlp(net, "_lower_mlp")
    restarts = check_int("restarts", restarts, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    d = net.d
    g = torch.Generator().manual_seed(seed)
    cands = []
    R = 1.0
    if points is not None:
        pts = as_tensor("points", points, dtype=torch.float64).cpu()
        if pts.ndim == 1 and d == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != d:
            raise ValueError(f"points must have shape (N, {d}) for a network with d = {d}; got {tuple(pts.shape)}")
        cands.append(pts)
        if pts.shape[0]:
            R = max(float(torch.linalg.vector_norm(pts, dim=1).max()), 1e-3)
    n_rand = 64 * restarts * (2 if net.activation.piecewise_linear else 1)
    half = n_rand // 2
    cands.append(R * torch.randn(half, d, generator=g, dtype=torch.float64) / math.sqrt(d))
    # near the first layer's hyperplanes W_1[i]·x + b_1[i] = 0, where the first units switch
    W1 = net.weights[0].detach().to("cpu", torch.float64)
    b1 = net.biases[0].detach().to("cpu", torch.float64)
    rn2 = (W1 * W1).sum(dim=1)
    ok = torch.nonzero(rn2 > 0)[:, 0]
    if ok.numel():
        pick = ok[torch.randint(ok.numel(), (n_rand - half,), generator=g)]
        foot = -(b1[pick] / rn2[pick])[:, None] * W1[pick]
        cands.append(foot + 0.1 * R * torch.randn(n_rand - half, d, generator=g, dtype=torch.float64))
    X = torch.cat(cands).to(device=net.device, dtype=net.dtype)
    norms = torch.linalg.vector_norm(net.input_gradient(X), dim=1)
    best_x = X[int(torch.argmax(norms))].clone()
    if net.activation.smooth and steps > 0:
        top = torch.topk(norms, min(restarts, norms.numel())).indices
        x = X[top].clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02 * R)
        best_val = float(norms.max())
        with torch.enable_grad():
            for _ in range(steps):
                opt.zero_grad()
                xe = x.expand(net.members, -1, -1)
                out = net._forward(xe)[0].sum()
                (gx,) = torch.autograd.grad(out, x, create_graph=True)
                val = (gx**2).sum(dim=1)
                k = int(torch.argmax(val.detach()))
                if float(val[k].detach()) > best_val**2:
                    best_val, best_x = math.sqrt(float(val[k].detach())), x[k].detach().clone()
                (-val.sum()).backward()
                opt.step()
        last = torch.linalg.vector_norm(net.input_gradient(x.detach()), dim=1)
        k = int(torch.argmax(last))
        if float(last[k]) > best_val:
            best_x = x[k].detach().clone()
    w = best_x[None]
    value = float(torch.linalg.vector_norm(net.input_gradient(w), dim=1)[0])
    return value, best_x.detach().cpu().numpy()


def lower_bound(
    net: TwoLayerNet | MLP, points: Any = None, restarts: int = 16, steps: int = 200, seed: int = 0
) -> tuple[float, np.ndarray]:
    """A lower bound max_x ‖∇f(x)‖₂ ≤ Lip(f) over candidate points, and the point attaining it.

    Candidates: ``points`` (e.g. the training inputs, shape (N, d)), plus random points: half Gaussian at
    the scale of the data, half near the (first layer's) hyperplanes, where the gradient changes. For a
    smooth σ the ``restarts`` best candidates are refined by ``steps`` of Adam ascent on ‖∇f(x)‖² (torch
    autograd, float64); for a piecewise-linear σ the gradient is piecewise constant and ascent cannot
    move, so more random points are sampled instead.
    """
    if isinstance(net, MLP):
        return _lower_mlp(net, points, restarts, steps, seed)
    return _lower_two_layer(net, points, restarts, steps, seed)
