"""The empirical risks of the book (chapter *Learning-rate constraints*), defined exactly as PyTorch's
``MSELoss`` and ``HuberLoss``.

For residuals r_n = f_θ(x_n) − y_n:

* MSE: R(θ) = (1/N) Σ r_n²;
* Huber with δ > 0: R_δ(θ) = (1/N) Σ h_δ(r_n), h_δ(r) = r²/2 if |r| ≤ δ else δ(|r| − δ/2), so |h_δ'| ≤ δ.

Both reduce over the last axis, so an ensemble's residuals of shape (E, N) give E risks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._validate import check_choice, check_real

__all__ = ["Loss", "loss", "mse", "huber", "LOSSES"]

LOSSES = ("mse", "huber")


@dataclass(frozen=True)
class Loss:
    """A loss: its value and its derivative with respect to the predictions.

    Attributes
    ----------
    name: ``"mse"`` or ``"huber"``.
    delta: δ of the Huber loss (``None`` for the MSE).
    """

    name: str
    delta: float | None = None

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The risk, averaged over the last axis."""
        return self.from_residual(pred - target)

    def from_residual(self, r: torch.Tensor) -> torch.Tensor:
        if self.name == "mse":
            return (r * r).mean(dim=-1)
        delta = self.delta
        assert delta is not None
        ar = r.abs()
        return torch.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta)).mean(dim=-1)

    def residual_gradient(self, r: torch.Tensor) -> torch.Tensor:
        """∂R/∂f(x_n) for residuals r: 2r/N (MSE) or clamp(r, −δ, δ)/N (Huber)."""
        n = r.shape[-1]
        if self.name == "mse":
            return r * (2.0 / n)
        assert self.delta is not None
        return r.clamp(-self.delta, self.delta) / n

    def torch_module(self) -> torch.nn.Module:
        """The equivalent ``torch.nn`` loss (mean reduction)."""
        if self.name == "mse":
            return torch.nn.MSELoss()
        return torch.nn.HuberLoss(delta=self.delta)

    @property
    def derivative_bound(self) -> float:
        """sup |ℓ'| of the per-sample loss in the residual: δ for Huber, ∞ for the MSE."""
        return float("inf") if self.delta is None else self.delta

    def __str__(self) -> str:
        return "mse" if self.name == "mse" else f"huber(delta={self.delta:g})"


def loss(name: str | Loss, delta: float = 1.0) -> Loss:
    """Look up a loss by name: ``"mse"`` or ``"huber"`` (with ``delta`` > 0, PyTorch's default 1.0)."""
    if isinstance(name, Loss):
        return name
    key = check_choice("loss", name, LOSSES)
    if key == "mse":
        return Loss("mse")
    return Loss("huber", check_real("delta", delta, positive=True))


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the last axis (PyTorch's ``MSELoss``)."""
    return Loss("mse")(pred, target)


def huber(pred: torch.Tensor, target: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """Huber loss over the last axis (PyTorch's ``HuberLoss(delta)``)."""
    return loss("huber", delta)(pred, target)
