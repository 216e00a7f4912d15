"""The :class:`~lipnb.training.loop.Stepper` of an :class:`~lipnb.MLP`: backpropagation over the layers,
groups ``W1, b1, …, WL, bL``, and the records the depth chapter needs ({prf:ref}`beyond-lem-path-depth`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validate import as_tensor
from ..losses import Loss
from ..mlp import MLP
from ..nets import operator_norm
from .history import History
from .plan import _describe
from .two_layer import check_batch_size

__all__ = ["MLPStepper"]


def _norm(t: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(t.flatten(1), dim=1)


class MLPStepper:
    """Gradients, updates and records of an MLP (single or ensemble), in place on ``net``."""

    def __init__(
        self,
        net: MLP,
        x: Any,
        y: Any,
        lo: Loss,
        rows: int,
        batch_size: int | None,
        tables: tuple[torch.Tensor, torch.Tensor | None],
    ) -> None:
        self.net, self.lo, self.groups = net, lo, net.groups
        self.x = net._check_x(x)
        yt = as_tensor("y", y, dtype=net.dtype, device=net.device)
        if yt.ndim == 2 and yt.shape[1] == 1:
            yt = yt[:, 0]
        if yt.shape != (self.x.shape[0],):
            raise ValueError(f"y must have shape ({self.x.shape[0]},) to match x; got {tuple(yt.shape)}")
        self.y = yt
        self.n_data = self.x.shape[0]
        self.batch_size = check_batch_size(batch_size, self.n_data)
        self.params = [p for pair in zip(net._Ws, net._bs) for p in pair]
        self.rec: dict[str, list[torch.Tensor]] = {k: [] for k in ("loss", "lr", "grad", "step", "path", "norms")}

    def loss_grad(self, idx: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if idx is None:
            return self.net._loss_grad(self.x, self.y, self.lo)
        return self.net._loss_grad(self.x.index_select(0, idx), self.y.index_select(0, idx), self.lo)

    def risk(self) -> torch.Tensor:
        return self.lo.from_residual(self.net._forward(self.x)[0] - self.y)

    def group_norms(self, directions: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([_norm(g) for g in directions], dim=-1)

    def record(
        self,
        row: int,
        value: torch.Tensor,
        lr: torch.Tensor,
        grad_norms: torch.Tensor,
        step_length: torch.Tensor,
        path: torch.Tensor,
    ) -> None:
        rec = self.rec
        rec["loss"].append(value.clone())
        rec["lr"].append(lr.clone())
        rec["grad"].append(grad_norms)
        rec["step"].append(step_length)
        rec["path"].append(path.clone())
        rec["norms"].append(torch.stack([operator_norm(W) for W in self.net._Ws], dim=-1))

    def update(self, t: int, lr: torch.Tensor, directions: list[torch.Tensor]) -> None:
        E = self.net.members
        for j, (p, g) in enumerate(zip(self.params, directions)):
            p.sub_(g * lr[:, j].reshape(E, *([1] * (p.ndim - 1))))

    def parameters(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.groups, self.params))

    def history(self, logged: list[int], per_member: list[dict[str, Any]], log_every: int) -> History:
        net, groups = self.net, self.groups
        single = net.ensemble is None

        def out(t: torch.Tensor) -> np.ndarray:
            arr = t.detach().cpu().numpy()
            return arr[:, 0] if single else arr

        R = {k: torch.stack(v) for k, v in self.rec.items()}
        norms = {f"W{l + 1}_op": out(R["norms"][..., l]) for l in range(net.depth)}
        L_sigma = net.activation.lipschitz
        lip = L_sigma ** (net.depth - 1) * np.prod(np.stack(list(norms.values())), axis=0)
        return History(
            steps=np.asarray(logged, dtype=np.int64),
            loss=out(R["loss"]),
            lr={g: out(R["lr"][..., j]) for j, g in enumerate(groups)},
            grad_norm={g: out(R["grad"][..., j]) for j, g in enumerate(groups)},
            grad_norm_total=out(torch.linalg.vector_norm(R["grad"], dim=-1)),
            step_length={g: out(R["step"][..., j]) for j, g in enumerate(groups)},
            path_length={g: out(R["path"][..., j]) for j, g in enumerate(groups)},
            norms=norms,
            lip_product=lip,
            loss_name=self.lo.name,
            delta=self.lo.delta,
            activation=str(net.activation),
            lipschitz_activation=L_sigma,
            width=max(net.widths),
            d=net.d,
            n_train=self.n_data,
            x_radius=float(torch.linalg.vector_norm(self.x, dim=-1).max()),
            schedules=_describe(per_member),
            log_every=log_every,
            ensemble=net.ensemble,
            meta={"widths": net.widths, "depth": net.depth},
            groups=groups,
        )
