"""Training to a target Lipschitz bound: the adaptive rule ({prf:ref}`cor-adaptive`) and its extension
to depth ({prf:ref}`beyond-cor-target`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_choice, check_int, check_real
from ..mlp import MLP
from ..nets import TwoLayerNet
from ..schedules import adaptive, constant, exponential_rate
from .history import History, concat_histories
from .loop import train

__all__ = ["gamma_for_target", "target_gamma_mlp", "train_to_target"]


def gamma_for_target(L: float, L_sigma: float, A_op: Any, B_norm: Any, PA_tau: Any = 0.0, PB_tau: Any = 0.0) -> Any:
    """The adaptive rule's budget ({prf:ref}`cor-adaptive`): the positive root Γ of
    L_σ(‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ) = L.

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


def target_gamma_mlp(L: float, L_sigma: float, norms: Sequence[float], paths: Sequence[float] | None = None) -> float:
    """The Γ ≥ 0 with L_σ^{L−1} Π_l (‖W_l⁰‖_op + P_l + Γ) = L (bisection; the product increases in Γ).

    With an adaptive step whose path length after τ is at most Γ in every group, the product bound — a
    certified upper bound of Lip(f) — stays ≤ L at every step ({prf:ref}`beyond-cor-target`, the revision's claim C5).
    """
    L = check_real("L", L, positive=True)
    n = np.asarray(norms, dtype=float) + (0.0 if paths is None else np.asarray(paths, dtype=float))
    depth = n.size

    def value(gamma: float) -> float:
        return L_sigma ** (depth - 1) * float(np.prod(n + gamma))

    if value(0.0) >= L:
        raise ValueError(
            f"target L={L:g} is below the bound {value(0.0):.6g} already reached before the decay; "
            "start the decay earlier or raise the target"
        )
    hi = 1.0
    while value(hi) < L:
        hi *= 2.0
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if value(mid) < L else (lo, mid)
    return lo


def _train_two_layer_to_target(
    net: TwoLayerNet,
    x: Any,
    y: Any,
    target: float,
    lr: float,
    start: int,
    steps: int,
    rate: float = 0.01,
    loss: str = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    anchor: str = "init",
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
) -> tuple[TwoLayerNet, History, dict[str, Any]]:
    """Two-layer case of :func:`train_to_target`."""
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
        mid, first = train(
            net,
            x,
            y,
            constant(lr),
            start,
            loss=loss,
            delta=delta,
            log_every=log_every,
            batch_size=batch_size,
            momentum=momentum,
            batch_seed=batch_seed,
        )
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
    final, second = train(
        mid,
        x,
        y,
        sched,
        steps - start,
        loss=loss,
        delta=delta,
        log_every=log_every,
        batch_size=batch_size,
        momentum=momentum,
        batch_seed=batch_seed + 1,
    )
    history = second if first is None else concat_histories(first, second)
    history.meta.update(
        {
            "target": target,
            "target_start": start,
            "target_gamma": gamma if net.ensemble is not None else float(gamma[0]),
        }
    )
    guaranteed = L_sigma * (a + pa + gamma) * (b + pb + gamma)
    single = net.ensemble is None

    def pick(v: np.ndarray) -> Any:
        return float(v[0]) if single else v

    info = {
        "gamma": pick(gamma),
        "start": start,
        "rate": r,
        "anchor": anchor,
        "bound_at_start": pick(L_sigma * (a + pa) * (b + pb)),
        "guaranteed_bound": pick(guaranteed),
        "final_product_bound": pick(_2d(history.lip_product)[-1]),
        "target": target,
        "rate_function": scheds[0].rate_function if single else [sc.rate_function for sc in scheds],
    }
    return final, history, info


def _train_mlp_to_target(
    net: MLP,
    x: Any,
    y: Any,
    target: float,
    lr: float,
    start: int,
    steps: int,
    rate: float = 0.01,
    loss: str = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
) -> tuple[MLP, Any, dict[str, Any]]:
    """MLP case of :func:`train_to_target` (groups ``W1, b1, …``; ``anchor="init"`` only)."""
    target = check_real("target", target, positive=True)
    lr = check_real("lr", lr, positive=True)
    start = check_int("start", start, minimum=0)
    steps = check_int("steps", steps, minimum=1)
    if steps <= start:
        raise ValueError(f"steps (the total T = {steps}) must exceed start (τ = {start})")
    r = check_real("rate", rate, positive=True)
    kw = dict(loss=loss, delta=delta, log_every=log_every, batch_size=batch_size, momentum=momentum)
    norms0 = np.atleast_2d(net.layer_norms().detach().cpu().numpy())  # (E, L)
    E = net.members
    paths = np.zeros_like(norms0)
    first, mid = None, net
    if start > 0:
        mid, first = train(net, x, y, constant(lr), start, batch_seed=batch_seed, **kw)
        paths = np.stack(
            [np.atleast_2d(np.asarray(first.path_length[f"W{l + 1}"]).T)[:, -1] for l in range(net.depth)], axis=-1
        ).reshape(E, net.depth)
    L_sigma = net.activation.lipschitz
    gammas = np.array([target_gamma_mlp(target, L_sigma, norms0[e], paths[e]) for e in range(E)])
    scheds = [adaptive(lr, 0, exponential_rate(float(g) * -math.expm1(-r), r)) for g in gammas]
    final, second = train(
        mid, x, y, scheds[0] if net.ensemble is None else scheds, steps - start, batch_seed=batch_seed + 1, **kw
    )
    history = second if first is None else concat_histories(first, second)
    single = net.ensemble is None
    start_bound = L_sigma ** (net.depth - 1) * np.prod(norms0 + paths, axis=-1)
    final_bound = np.atleast_1d(np.asarray(history.lip_product[-1]))
    info = {
        "gamma": float(gammas[0]) if single else gammas,
        "start": start,
        "rate": r,
        "target": target,
        "bound_at_start": float(start_bound[0]) if single else start_bound,
        "final_product_bound": float(final_bound[0]) if single else final_bound,
    }
    return final, history, info


def _2d(a: Any) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def train_to_target(
    net: TwoLayerNet | MLP,
    x: Any,
    y: Any,
    target: float,
    lr: float,
    start: int,
    steps: int,
    rate: float = 0.01,
    loss: str = "mse",
    delta: float = 1.0,
    log_every: int = 1,
    anchor: str = "init",
    batch_size: int | None = None,
    momentum: float = 0.0,
    batch_seed: int = 0,
) -> tuple[Any, History, dict[str, Any]]:
    """Train so that the product Lipschitz bound stays at most ``target`` ({prf:ref}`cor-adaptive`;
    for an MLP {prf:ref}`beyond-cor-target`).

    1. τ = ``start`` steps with the constant rate ᾱ = ``lr``;
    2. Γ from :func:`gamma_for_target` (two layers) or :func:`target_gamma_mlp` (depth L), so that the
       product bound reaches ``target`` exactly when every group has travelled Γ after τ;
    3. ``steps − start`` more steps with ``adaptive(lr, 0, exponential_rate(Γ(1 − e^{−r}), r))``, whose
       step lengths sum to less than Γ (Σ_k G(k) = Γ).

    What is guaranteed, by the path-length lemma: with ``anchor="init"`` (the norms at initialization
    plus the path lengths P_τ) the product bound L_σ‖A_t‖_op‖B_t‖ (L_σ^{L−1}Π‖W_l‖_op for an MLP) is at
    most ``target`` at **every** step t ≥ 0, for ever: before τ because P_t ≤ P_τ, after τ because at most
    Γ more is travelled. With ``anchor="tau"`` (two layers only: the norms at τ, the lemma restarted
    there, which leaves a larger Γ) the guarantee covers **t ≥ τ only**: before τ the product may exceed
    the target (``info["covers_from"]`` says which). ``steps`` is the total T > τ; an ensemble gets one
    Γ and one adaptive schedule per member. ``batch_size``, ``momentum`` and ``batch_seed`` go to
    :func:`~lipnb.train` (the guarantee holds for any optimizer: it uses only the steps' lengths).

    Returns ``(trained net, the combined History, info)``; ``info`` holds ``gamma``, ``start``,
    ``rate``, ``target``, ``covers_from``, ``bound_at_start`` (the Γ = 0 value), ``final_product_bound``
    and, for two layers, ``anchor``, ``guaranteed_bound`` (= target up to round-off) and ``rate_function``
    (G, one per member for an ensemble) for :func:`lipnb.theory.check_lr_constraint`.
    """
    if isinstance(net, MLP):
        anchor = check_choice("anchor", anchor, ("init",))
        final, history, info = _train_mlp_to_target(
            net,
            x,
            y,
            target,
            lr,
            start,
            steps,
            rate=rate,
            loss=loss,
            delta=delta,
            log_every=log_every,
            batch_size=batch_size,
            momentum=momentum,
            batch_seed=batch_seed,
        )
        info["anchor"] = anchor
    elif isinstance(net, TwoLayerNet):
        final, history, info = _train_two_layer_to_target(
            net,
            x,
            y,
            target,
            lr,
            start,
            steps,
            rate=rate,
            loss=loss,
            delta=delta,
            log_every=log_every,
            anchor=anchor,
            batch_size=batch_size,
            momentum=momentum,
            batch_seed=batch_seed,
        )
    else:
        raise TypeError(f"net must be a lipnb.TwoLayerNet or lipnb.MLP; got {type(net).__name__}")
    info["covers_from"] = 0 if info["anchor"] == "init" else info["start"]
    return final, history, info
