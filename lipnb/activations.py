"""Activation functions σ with the constants the theorems use.

Each :class:`Activation` knows σ, σ' (a.e.), σ'' where σ is C¹ with Lipschitz σ', and the numbers of
the book's notation table: the Lipschitz constant ``L_σ``, the slope range ``[s_lo, s_hi]`` with σ' ∈ [s_lo, s_hi]
a.e., and ``sup |σ''|``. The constants are computed from closed forms at the critical points of σ' and
σ'' (not typed in); ``tests/test_activations.py`` checks each against a dense numerical evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ._validate import check_choice, check_real

__all__ = ["Activation", "activation", "ACTIVATIONS"]

ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu")

Fn = Callable[[torch.Tensor], torch.Tensor]

_SQRT2 = math.sqrt(2.0)


def _phi(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _Phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / _SQRT2))


@dataclass(frozen=True)
class Activation:
    """An activation σ and its constants.

    Attributes
    ----------
    name: one of ``ACTIVATIONS``.
    negative_slope: β of the leaky ReLU (0 for ReLU, unused otherwise).
    lipschitz: ``L_σ = sup |σ'|``.
    slope_lo, slope_hi: ``[s_lo, s_hi]``, the range of σ' (a.e.).
    second_derivative_bound: ``sup |σ''|``; ``None`` when σ is not C¹ (ReLU, leaky ReLU).
    value_at_zero: ``σ(0)``, which enters Huber a-priori bound through ``√m |σ(0)|``.
    piecewise_linear: True for ReLU and leaky ReLU (exact Lipschitz constants exist in 1-D and 2-D).
    """

    name: str
    negative_slope: float
    lipschitz: float
    slope_lo: float
    slope_hi: float
    second_derivative_bound: float | None
    value_at_zero: float
    piecewise_linear: bool
    _fn: Fn = field(repr=False, compare=False)
    _d1: Fn = field(repr=False, compare=False)
    _d2: Fn | None = field(repr=False, compare=False)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        """σ(z), elementwise."""
        return self._fn(z)

    def derivative(self, z: torch.Tensor) -> torch.Tensor:
        """σ'(z), elementwise (at the kink z = 0 of ReLU/leaky ReLU, the left slope, as PyTorch's autograd)."""
        return self._d1(z)

    def second_derivative(self, z: torch.Tensor) -> torch.Tensor:
        """σ''(z); raises ``ValueError`` for activations that are not C¹."""
        if self._d2 is None:
            raise ValueError(f"activation {self.name!r} is not C^1, so sigma'' is undefined")
        return self._d2(z)

    @property
    def smooth(self) -> bool:
        """True when σ is C¹ with Lipschitz σ' (the hypothesis of Convergence theorem)."""
        return self._d2 is not None

    def value_and_derivative_(self, z: torch.Tensor, d_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(σ(z), σ'(z)) for the trainer's hot loop, reusing buffers: ``z`` may be overwritten by σ(z)
        and σ'(z) is written into ``d_out`` (same shape and dtype as ``z``)."""
        name = self.name
        if name == "relu":
            h = z.clamp_min_(0)
            return h, torch.sign(h, out=d_out)  # h ≥ 0, so sign(h) = 1[z > 0]
        if name == "leaky_relu":
            torch.gt(z, 0, out=d_out)
            d_out.mul_(1.0 - self.negative_slope).add_(self.negative_slope)
            return F.leaky_relu_(z, self.negative_slope), d_out
        if name == "tanh":
            h = z.tanh_()
            return h, torch.mul(h, h, out=d_out).neg_().add_(1.0)
        if name == "sigmoid":
            h = z.sigmoid_()
            return h, torch.mul(h, h, out=d_out).neg_().add_(h)
        d_out.copy_(self._d1(z))
        return self._fn(z), d_out

    def torch_module(self) -> torch.nn.Module:
        """The equivalent ``torch.nn`` module (used for the idiomatic PyTorch baseline)."""
        return {
            "relu": lambda: torch.nn.ReLU(),
            "leaky_relu": lambda: torch.nn.LeakyReLU(self.negative_slope),
            "tanh": lambda: torch.nn.Tanh(),
            "sigmoid": lambda: torch.nn.Sigmoid(),
            "softplus": lambda: torch.nn.Softplus(),
            "gelu": lambda: torch.nn.GELU(),
        }[self.name]()

    def __str__(self) -> str:
        if self.name == "leaky_relu":
            return f"leaky_relu({self.negative_slope:g})"
        return self.name


def _relu() -> Activation:
    return Activation(
        name="relu",
        negative_slope=0.0,
        lipschitz=1.0,
        slope_lo=0.0,
        slope_hi=1.0,
        second_derivative_bound=None,
        value_at_zero=0.0,
        piecewise_linear=True,
        _fn=torch.relu,
        _d1=lambda z: (z > 0).to(z.dtype),
        _d2=None,
    )


def _leaky_relu(beta: float) -> Activation:
    lo, hi = min(beta, 1.0), max(beta, 1.0)
    return Activation(
        name="leaky_relu",
        negative_slope=beta,
        lipschitz=max(abs(beta), 1.0),
        slope_lo=lo,
        slope_hi=hi,
        second_derivative_bound=None,
        value_at_zero=0.0,
        piecewise_linear=True,
        _fn=lambda z: F.leaky_relu(z, beta),
        _d1=lambda z: torch.where(z > 0, torch.ones_like(z), torch.full_like(z, beta)),
        _d2=None,
    )


def _tanh() -> Activation:
    # tanh'' = -2 tanh sech^2 has its extremes where tanh^2 = 1/3: |tanh''| = 2 (1/√3)(2/3) = 4/(3√3).
    t = 1.0 / math.sqrt(3.0)
    d2max = 2.0 * t * (1.0 - t * t)

    def d1(z: torch.Tensor) -> torch.Tensor:
        th = torch.tanh(z)
        return 1.0 - th * th

    def d2(z: torch.Tensor) -> torch.Tensor:
        th = torch.tanh(z)
        return -2.0 * th * (1.0 - th * th)

    return Activation(
        name="tanh",
        negative_slope=0.0,
        lipschitz=1.0,
        slope_lo=0.0,
        slope_hi=1.0,
        second_derivative_bound=d2max,
        value_at_zero=0.0,
        piecewise_linear=False,
        _fn=torch.tanh,
        _d1=d1,
        _d2=d2,
    )


def _sigmoid() -> Activation:
    # s'' = s(1-s)(1-2s) is extreme where s = 1/2 ± 1/(2√3): |s''| = (1/6)(1/√3).
    s = 0.5 + 0.5 / math.sqrt(3.0)
    d2max = abs(s * (1 - s) * (1 - 2 * s))

    def d1(z: torch.Tensor) -> torch.Tensor:
        s_ = torch.sigmoid(z)
        return s_ * (1.0 - s_)

    def d2(z: torch.Tensor) -> torch.Tensor:
        s_ = torch.sigmoid(z)
        return s_ * (1.0 - s_) * (1.0 - 2.0 * s_)

    return Activation(
        name="sigmoid",
        negative_slope=0.0,
        lipschitz=0.25,
        slope_lo=0.0,
        slope_hi=0.25,
        second_derivative_bound=d2max,
        value_at_zero=0.5,
        piecewise_linear=False,
        _fn=torch.sigmoid,
        _d1=d1,
        _d2=d2,
    )


def _softplus() -> Activation:
    # softplus' = sigmoid ∈ (0, 1); softplus'' = sigmoid' ≤ 1/4 (at 0).
    def d2(z: torch.Tensor) -> torch.Tensor:
        s_ = torch.sigmoid(z)
        return s_ * (1.0 - s_)

    return Activation(
        name="softplus",
        negative_slope=0.0,
        lipschitz=1.0,
        slope_lo=0.0,
        slope_hi=1.0,
        second_derivative_bound=0.25,
        value_at_zero=math.log(2.0),
        piecewise_linear=False,
        _fn=F.softplus,
        _d1=torch.sigmoid,
        _d2=d2,
    )


def _gelu() -> Activation:
    # GELU(z) = zΦ(z); GELU' = Φ + zφ, GELU'' = φ(z)(2 - z^2). GELU' is extreme at z = ±√2;
    # |GELU''| is extreme where (φ(2 - z^2))' = -zφ(4 - z^2) = 0, i.e. z ∈ {0, ±2}: the max is 2φ(0).
    s_hi = _Phi(_SQRT2) + _SQRT2 * _phi(_SQRT2)
    s_lo = _Phi(-_SQRT2) - _SQRT2 * _phi(_SQRT2)
    d2max = max(abs(_phi(z) * (2.0 - z * z)) for z in (0.0, 2.0))
    inv_sqrt_2pi = 1.0 / math.sqrt(2.0 * math.pi)

    def d1(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * (1.0 + torch.erf(z / _SQRT2)) + z * torch.exp(-0.5 * z * z) * inv_sqrt_2pi

    def d2(z: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * z * z) * inv_sqrt_2pi * (2.0 - z * z)

    return Activation(
        name="gelu",
        negative_slope=0.0,
        lipschitz=max(abs(s_lo), abs(s_hi)),
        slope_lo=s_lo,
        slope_hi=s_hi,
        second_derivative_bound=d2max,
        value_at_zero=0.0,
        piecewise_linear=False,
        _fn=F.gelu,
        _d1=d1,
        _d2=d2,
    )


def activation(name: str | Activation, negative_slope: float = 0.01) -> Activation:
    """Look up an activation by name (``relu, leaky_relu, tanh, sigmoid, softplus, gelu``).

    ``negative_slope`` is β of the leaky ReLU (PyTorch's default 0.01); it is ignored otherwise.
    An :class:`Activation` passed in is returned as it is.
    """
    if isinstance(name, Activation):
        return name
    key = check_choice("activation", name, ACTIVATIONS)
    if key == "leaky_relu":
        beta = check_real("negative_slope", negative_slope)
        return _leaky_relu(beta)
    return {"relu": _relu, "tanh": _tanh, "sigmoid": _sigmoid, "softplus": _softplus, "gelu": _gelu}[key]()
