"""Multilayer perceptrons f(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L, batched over an ensemble axis.

The same conventions as :class:`~lipnb.nets.TwoLayerNet`: LeCun initialization (W_l ~ N(0, 1/fan_in),
hidden biases ~ N(0, σ_a²), output bias 0) or PyTorch's ``nn.Linear`` default, float64, seeds per member.
Parameter groups are ``W1, b1, …, WL, bL``; Path-length lemma carries over layer by layer:
Lip(f) ≤ L_σ^{L−1} Π_l ‖W_l‖_op ≤ L_σ^{L−1} Π_l (‖W_l⁰‖_op + P^{W_l}_t).
:func:`lipnb.train` trains an MLP as it trains a two-layer network (full-batch GD, mini-batch SGD, heavy ball).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_choice, check_int, check_real
from .activations import Activation
from .activations import activation as get_activation
from .losses import Loss
from .losses import loss as get_loss
from .nets import INITS, _seeds, operator_norm

__all__ = ["MLP"]


class MLP:
    """An MLP with hidden widths ``widths`` (depth L = len(widths) + 1 linear layers), or an ensemble of E.

    ``weights[l]`` has shape (n_{l+1}, n_l) (ensemble: (E, n_{l+1}, n_l)), ``biases[l]`` shape (n_{l+1},);
    the last layer has one output. Calling the network on x (N, d) returns (N,) or (E, N).
    """

    def __init__(
        self, weights: list[torch.Tensor], biases: list[torch.Tensor], activation: Activation, ensemble: int | None
    ) -> None:
        self._Ws = [w.clone().contiguous() for w in weights]  # (E, n_out, n_in)
        self._bs = [b.clone().contiguous() for b in biases]  # (E, n_out)
        self.activation = activation
        self.ensemble = ensemble

    @classmethod
    def init(
        cls,
        d: int,
        widths: Sequence[int],
        activation: str | Activation = "relu",
        init: str = "lecun",
        seed: int | Sequence[int] = 0,
        ensemble: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        bias_std: float = 1.0,
    ) -> MLP:
        """Random initialization (see the module docstring); member e is drawn with seed ``seed + e``."""
        d = check_int("d", d, minimum=1)
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 1:
            raise TypeError(f"widths must be a non-empty sequence of hidden-layer widths; got {widths!r}")
        widths = [check_int("widths", w, minimum=1) for w in widths]
        act = get_activation(activation)
        init = check_choice("init", init, INITS)
        bias_std = check_real("bias_std", bias_std, nonnegative=True)
        seeds = _seeds(seed, ensemble)
        sizes = [d, *widths, 1]
        Ws: list[list[torch.Tensor]] = [[] for _ in range(len(sizes) - 1)]
        bs: list[list[torch.Tensor]] = [[] for _ in range(len(sizes) - 1)]
        for s in seeds:
            g = torch.Generator().manual_seed(s)
            for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                last = l == len(sizes) - 2
                if init == "lecun":
                    Ws[l].append(torch.randn(n_out, n_in, generator=g, dtype=torch.float64) / math.sqrt(n_in))
                    b = torch.randn(n_out, generator=g, dtype=torch.float64) * bias_std
                    bs[l].append(torch.zeros(n_out, dtype=torch.float64) if last else b)
                else:
                    k = 1.0 / math.sqrt(n_in)
                    Ws[l].append((torch.rand(n_out, n_in, generator=g, dtype=torch.float64) * 2 - 1) * k)
                    bs[l].append((torch.rand(n_out, generator=g, dtype=torch.float64) * 2 - 1) * k)
        ens = None if ensemble is None and not isinstance(seed, (list, tuple, range, np.ndarray)) else len(seeds)
        kw = dict(dtype=dtype, device=device)
        return cls([torch.stack(w).to(**kw) for w in Ws], [torch.stack(b).to(**kw) for b in bs], act, ens)

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[Any],
        biases: Sequence[Any],
        activation: str | Activation = "relu",
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> MLP:
        """From lists of weight matrices (n_out, n_in) and bias vectors (n_out,) (or with an ensemble axis)."""
        if len(weights) != len(biases) or len(weights) < 2:
            raise ValueError(
                f"weights and biases must be lists of the same length >= 2; got {len(weights)} and {len(biases)}"
            )
        Ws = [as_tensor(f"weights[{i}]", w, dtype=dtype, device=device) for i, w in enumerate(weights)]
        bs = [as_tensor(f"biases[{i}]", b, dtype=dtype, device=device) for i, b in enumerate(biases)]
        single = Ws[0].ndim == 2
        if single:
            Ws, bs = [w[None] for w in Ws], [b.reshape(1, -1) for b in bs]
        for i, (w, b) in enumerate(zip(Ws, bs)):
            if w.ndim != 3 or b.shape != (w.shape[0], w.shape[1]):
                raise ValueError(
                    f"weights[{i}] of shape {tuple(w.shape)} and biases[{i}] of shape {tuple(b.shape)} do not match"
                )
            if i and w.shape[2] != Ws[i - 1].shape[1]:
                raise ValueError(
                    f"weights[{i}] takes {w.shape[2]} inputs but layer {i - 1} has {Ws[i - 1].shape[1]} outputs"
                )
        if Ws[-1].shape[1] != 1:
            raise ValueError(f"the last layer must have one output; got {Ws[-1].shape[1]}")
        return cls(Ws, bs, get_activation(activation), None if single else Ws[0].shape[0])

    # ------------------------------------------------------------------ attributes
    def _out(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.ensemble is not None else t[0]

    @property
    def weights(self) -> list[torch.Tensor]:
        return [self._out(w) for w in self._Ws]

    @property
    def biases(self) -> list[torch.Tensor]:
        return [self._out(b) for b in self._bs]

    @property
    def d(self) -> int:
        return self._Ws[0].shape[2]

    @property
    def widths(self) -> list[int]:
        return [w.shape[1] for w in self._Ws[:-1]]

    @property
    def depth(self) -> int:
        """The number L of linear layers."""
        return len(self._Ws)

    @property
    def members(self) -> int:
        return self._Ws[0].shape[0]

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(g for l in range(1, self.depth + 1) for g in (f"W{l}", f"b{l}"))

    @property
    def n_params(self) -> int:
        return sum(w.shape[1] * w.shape[2] + w.shape[1] for w in self._Ws)

    @property
    def dtype(self) -> torch.dtype:
        return self._Ws[0].dtype

    @property
    def device(self) -> torch.device:
        return self._Ws[0].device

    def clone(self) -> MLP:
        return MLP(self._Ws, self._bs, self.activation, self.ensemble)

    def member(self, i: int) -> MLP:
        i = check_int("i", i, minimum=-self.members, maximum=self.members - 1) % self.members
        return MLP([w[i : i + 1] for w in self._Ws], [b[i : i + 1] for b in self._bs], self.activation, None)

    def __repr__(self) -> str:
        ens = f", ensemble={self.ensemble}" if self.ensemble is not None else ""
        return f"MLP(d={self.d}, widths={self.widths}, activation={self.activation}{ens}, dtype={self.dtype})"

    # ------------------------------------------------------------------ computation
    def _check_x(self, x: Any) -> torch.Tensor:
        xt = as_tensor("x", x, dtype=self.dtype, device=self.device)
        if xt.ndim != 2 or xt.shape[1] != self.d:
            raise ValueError(f"x must have shape (N, {self.d}) for a network with d={self.d}; got {tuple(xt.shape)}")
        return xt

    def _forward(
        self, x: torch.Tensor, keep: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Output (E, N), and with ``keep`` the layer inputs h_l (E, N, n_l) and pre-activations z_l."""
        h = x if x.ndim == 3 else x.expand(self.members, *x.shape)
        hs, zs = [h], []
        for l, (W, b) in enumerate(zip(self._Ws, self._bs)):
            z = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
            if l == self.depth - 1:
                return z[..., 0], hs, zs
            h = self.activation(z)
            if keep:
                zs.append(z)
                hs.append(h)
        raise AssertionError("unreachable")

    def __call__(self, x: Any) -> torch.Tensor:
        return self._out(self._forward(self._check_x(x))[0])

    def _loss_grad(self, x: torch.Tensor, y: torch.Tensor, lo: Loss) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The risk (E,) and the gradients [∇W1, ∇b1, …] by backpropagation."""
        out, hs, zs = self._forward(x, keep=True)
        r = out - y
        value = lo.from_residual(r)
        delta = lo.residual_gradient(r)[..., None]  # (E, N, 1): ∂R/∂z_L
        grads: list[torch.Tensor] = []
        for l in range(self.depth - 1, -1, -1):
            grads.append(delta.sum(dim=1))
            grads.append(torch.bmm(delta.transpose(1, 2), hs[l]))
            if l:
                delta = torch.bmm(delta, self._Ws[l]) * self.activation.derivative(zs[l - 1])
        grads.reverse()  # [∇W1, ∇b1, ∇W2, …]
        return value, grads

    def loss_and_gradients(
        self, x: Any, y: Any, loss: str | Loss = "mse", delta: float = 1.0
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The risk (E,) and its gradient by group (``W1``, ``b1``, …), with the ensemble axis."""
        xt = self._check_x(x)
        yt = as_tensor("y", y, dtype=self.dtype, device=self.device).reshape(-1)
        if yt.shape != (xt.shape[0],):
            raise ValueError(f"y must have shape ({xt.shape[0]},) to match x; got {tuple(yt.shape)}")
        value, grads = self._loss_grad(xt, yt, get_loss(loss, delta))
        return value, dict(zip(self.groups, grads))

    def input_gradient(self, x: Any) -> torch.Tensor:
        """∇ₓf(x) at each point: (N, d) or (E, N, d) (autograd, one copy of the inputs per member)."""
        xe = self._check_x(x).expand(self.members, -1, -1).clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(self._forward(xe)[0].sum(), xe)
        return self._out(g)

    def layer_norms(self) -> torch.Tensor:
        """‖W_l‖_op for each layer: shape (E, L) (or (L,))."""
        return self._out(torch.stack([operator_norm(W) for W in self._Ws], dim=-1))

    def product_bound(self) -> torch.Tensor:
        """Lip(f) ≤ L_σ^{L−1} Π_l ‖W_l‖_op."""
        n = torch.stack([operator_norm(W) for W in self._Ws], dim=-1)
        return self._out(self.activation.lipschitz ** (self.depth - 1) * n.prod(dim=-1))

    @classmethod
    def from_torch(
        cls,
        module: torch.nn.Module,
        dtype: torch.dtype | None = torch.float64,
        device: str | torch.device | None = None,
    ) -> MLP:
        """The MLP computing the same function as ``module``, an ``nn.Sequential`` of ``nn.Linear`` layers and a
        supported activation (the inverse of :meth:`to_torch_module`; see :func:`lipnb.torch.from_module`).

        Raises ``TypeError`` naming the layer for anything else, and when the module is a TwoLayerNet.
        """
        from .torch.parse import module_weights

        parsed, W, b, kw = module_weights(module, dtype, device)
        if parsed.depth == 2:
            raise TypeError(
                "module has 2 linear layers: it converts to a TwoLayerNet, not a MLP; "
                "use TwoLayerNet.from_torch or lipnb.torch.from_module"
            )
        return cls.from_weights(W, b, parsed.activation, **kw)

    def to_torch_module(self, i: int = 0) -> torch.nn.Sequential:
        """Member i as an idiomatic ``nn.Sequential`` with the same weights."""
        i = check_int("i", i, minimum=-self.members, maximum=self.members - 1) % self.members
        layers: list[torch.nn.Module] = []
        for l, (W, b) in enumerate(zip(self._Ws, self._bs)):
            lin = torch.nn.Linear(W.shape[2], W.shape[1]).to(dtype=self.dtype, device=self.device)
            with torch.no_grad():
                lin.weight.copy_(W[i])
                lin.bias.copy_(b[i])
            layers.append(lin)
            if l < self.depth - 1:
                layers.append(self.activation.torch_module())
        return torch.nn.Sequential(*layers)
