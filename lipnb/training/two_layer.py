"""The :class:`~lipnb.training.loop.Stepper` of a :class:`~lipnb.TwoLayerNet`: the fast two-layer core.

The parameters are kept as W = [A | a] (E, m, d + 1), B (E, m) and b (E,), and the data as x₁ = [x | 1],
so that one matrix product gives the pre-activations of every member; the gradients come from
``TwoLayerNet._loss_grad`` (analytic, tested against autograd), block by block in a workspace sized once.
The parameter norms are kept as the Gram matrices Wᵀ W (which hold ‖A‖_op², ‖A‖_F² and ‖a‖²) plus ‖B‖ and
b, and turned into norms once, after the run (one batched eigvalsh).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._validate import as_tensor, check_int
from ..losses import Loss
from ..nets import GROUPS, TwoLayerNet, _workspace
from .history import History
from .plan import _describe

__all__ = ["TwoLayerStepper"]


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


def check_batch_size(batch_size: int | None, n_data: int) -> int | None:
    """None for full batch (also when ``batch_size`` = N), else 1 ≤ batch_size < N."""
    if batch_size is None:
        return None
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=n_data)
    return None if batch_size == n_data else batch_size


class TwoLayerStepper:
    """Gradients, updates and records of a two-layer network (single or ensemble), in place on ``net``."""

    groups = GROUPS

    def __init__(
        self,
        net: TwoLayerNet,
        x: Any,
        y: Any,
        lo: Loss,
        rows: int,
        batch_size: int | None,
        tables: tuple[torch.Tensor, torch.Tensor | None],
    ) -> None:
        self.net, self.lo = net, lo
        self.x, self.y = _check_data(net, x, y)
        self.n_data = self.x.shape[0]
        self.batch_size = check_batch_size(batch_size, self.n_data)
        d, dev, dt, E = net.d, net.device, net.dtype, net.members
        self.x1 = torch.cat([self.x, torch.ones_like(self.x[:, :1])], dim=1)
        self.x1T = self.x1.T.contiguous()
        self.work = _workspace(net, self.n_data if self.batch_size is None else self.batch_size)
        # The learning rate of each column of W = [A | a]: column j < d belongs to A, column d to a.
        self.to_w = torch.tensor([0] * d + [1], device=dev)
        base, caps = tables
        self.lrW_table = None if caps is not None else base.index_select(2, self.to_w)  # (T + 1, E, d + 1)
        # One row per logged step: the loss, then α^g, ‖∇_g R‖, the step lengths and the path lengths P^g_t.
        self.rows = torch.empty(rows, E, 17, dtype=dt, device=dev)
        self.grams = torch.empty(rows, E, d + 1, d + 1, dtype=dt, device=dev)
        self.outer = torch.empty(rows, E, 2, dtype=dt, device=dev)

    def loss_grad(self, idx: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if idx is None:
            value, gW, gB, gb = self.net._loss_grad(self.x1, self.x1T, self.y, self.lo, self.work)
        else:
            xb = self.x1.index_select(0, idx)
            value, gW, gB, gb = self.net._loss_grad(
                xb, xb.T.contiguous(), self.y.index_select(0, idx), self.lo, self.work
            )
        return value, [gW, gB, gb]

    def risk(self) -> torch.Tensor:
        return self.net._risk(self.x1T, self.y, self.lo)

    def group_norms(self, directions: list[torch.Tensor]) -> torch.Tensor:
        """(‖·_A‖_F, ‖·_a‖, ‖·_B‖, |·_b|) of a direction given as ([A | a], B, b): shape (E, 4)."""
        gW, gB, gb = directions
        d = self.net.d
        sq = (gW * gW).sum(dim=1)  # (E, d + 1): squared column norms
        return torch.stack(
            [sq[:, :d].sum(dim=-1).sqrt(), sq[:, d].sqrt(), torch.linalg.vector_norm(gB, dim=-1), gb.abs()], dim=-1
        )

    def record(
        self,
        row: int,
        value: torch.Tensor,
        lr: torch.Tensor,
        grad_norms: torch.Tensor,
        step_length: torch.Tensor,
        path: torch.Tensor,
    ) -> None:
        W = self.net._W
        torch.cat([value[:, None], lr, grad_norms, step_length, path], dim=1, out=self.rows[row])
        torch.bmm(W.transpose(1, 2), W, out=self.grams[row])
        self.outer[row, :, 0] = torch.linalg.vector_norm(self.net._B, dim=-1)
        self.outer[row, :, 1] = self.net._b

    def update(self, t: int, lr: torch.Tensor, directions: list[torch.Tensor]) -> None:
        gW, gB, gb = directions
        lrW = self.lrW_table[t] if self.lrW_table is not None else lr.index_select(1, self.to_w)
        self.net._W.addcmul_(gW, lrW[:, None, :], value=-1.0)
        self.net._B.addcmul_(gB, lr[:, 2:3], value=-1.0)
        self.net._b.addcmul_(gb, lr[:, 3], value=-1.0)

    def parameters(self) -> dict[str, torch.Tensor]:
        return self.net.parameters()

    def history(self, logged: list[int], per_member: list[dict[str, Any]], log_every: int) -> History:
        net, rows, grams, outer = self.net, self.rows, self.grams, self.outer
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
            "A_op": out(A_op),
            "A_fro": out(fro_sq.sqrt()),
            "a": out(grams[..., d, d].clamp_min(0).sqrt()),
            "B": out(outer[..., 0]),
            "b": out(outer[..., 1].abs()),
        }
        L_sigma = net.activation.lipschitz
        return History(
            steps=np.asarray(logged, dtype=np.int64),
            loss=out(rows[..., 0]),
            lr={g: out(rows[..., 1 + j]) for j, g in enumerate(GROUPS)},
            grad_norm={g: out(rows[..., 5 + j]) for j, g in enumerate(GROUPS)},
            grad_norm_total=out(torch.linalg.vector_norm(rows[..., 5:9], dim=-1)),
            step_length={g: out(rows[..., 9 + j]) for j, g in enumerate(GROUPS)},
            path_length={g: out(rows[..., 13 + j]) for j, g in enumerate(GROUPS)},
            norms=norms,
            lip_product=L_sigma * norms["B"] * norms["A_op"],
            loss_name=self.lo.name,
            delta=self.lo.delta,
            activation=str(net.activation),
            lipschitz_activation=L_sigma,
            width=net.width,
            d=net.d,
            n_train=int(self.x.shape[0]),
            x_radius=float(torch.linalg.vector_norm(self.x, dim=-1).max()),
            schedules=_describe(per_member),
            log_every=log_every,
            ensemble=net.ensemble,
        )
