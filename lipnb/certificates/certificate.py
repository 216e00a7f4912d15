"""The result of every certification method: :class:`Certificate`, a bracket lower ≤ Lip(f) ≤ upper."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..mlp import MLP
from ..nets import TwoLayerNet

_EXACT_RTOL = 1e-9
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Certificate:
    """A certified bracket ``lower ≤ Lip(f_θ) ≤ upper``.

    Attributes
    ----------
    lower: a lower bound, attained: ‖∇f(witness)‖₂ = lower (up to rounding).
    upper: an upper bound from ``method``.
    method: the method that produced ``upper`` (one of ``METHODS`` except ``"auto"``).
    exact: True when lower = upper to tolerance (relative 1e-9 for ``exact_1d``/``exact_2d``, the
        requested ``rtol`` for ``smooth_1d``): then Lip(f) is known and attained at ``witness``.
    witness: a point x ∈ R^d (shape (d,)) with ‖∇f(x)‖ = lower.
    details: per-method values and diagnostics (other bounds computed on the way, solver status,
        timings in seconds under ``"time_s"``).
    """

    lower: float
    upper: float
    method: str
    exact: bool
    witness: np.ndarray = field(compare=False)
    details: dict = field(default_factory=dict, compare=False)

    @property
    def ratio(self) -> float:
        """upper / lower: 1 for an exact certificate; ``inf`` when lower = 0 < upper."""
        if self.lower > 0:
            return self.upper / self.lower
        return 1.0 if self.upper == 0 else math.inf

    def __str__(self) -> str:
        tag = "exact" if self.exact else f"ratio {self.ratio:.4g}"
        return f"Lip(f) ∈ [{self.lower:.6g}, {self.upper:.6g}]  ({self.method}, {tag})"


def _check_solver(solver: Any) -> str:
    if solver is None:
        return "CLARABEL"
    if not isinstance(solver, str):
        raise TypeError(f"solver must be None or a cvxpy solver name such as 'CLARABEL' or 'SCS'; got {solver!r}")
    import cvxpy as cp

    installed = cp.installed_solvers()
    if solver.upper() not in installed:
        raise ValueError(f"unknown or uninstalled solver {solver!r}; installed: {', '.join(installed)}")
    return solver.upper()


def check_keywords(fname: str, method: str, kw: dict[str, Any], allowed: Sequence[str]) -> None:
    """``TypeError`` naming the keyword arguments that ``method`` does not take."""
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise TypeError(
            f"{fname}(method={method!r}) got unexpected keyword argument(s) {unknown}; accepted: {', '.join(allowed)}"
        )


def _check_net(net: Any, where: str) -> TwoLayerNet:
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    if net.ensemble is not None:
        raise ValueError(
            f"{where} certifies a single network; got an ensemble of {net.ensemble} members. "
            "Use certify(net) (one certificate per member) or net.member(i)."
        )
    return net


def _check_mlp(net: Any, where: str) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a lipnb.MLP; got {type(net).__name__}")
    if net.ensemble is not None:
        raise ValueError(
            f"{where} certifies a single network; got an ensemble of {net.ensemble} members. "
            "Use certify_mlp(net) (one certificate per member) or net.member(i)."
        )
    return net


def _weights(net: TwoLayerNet) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, a, B, b) of a single network as float64 NumPy arrays of shapes (m, d), (m,), (m,), ()."""
    A = net.A.detach().to("cpu", torch.float64).numpy()
    a = net.a.detach().to("cpu", torch.float64).numpy()
    B = net.B.detach().to("cpu", torch.float64).numpy()
    return A, a, B, float(net.b)
