"""Two-layer networks f(x) = B σ(Ax + a) + b, batched over an ensemble axis.

Shapes: A ∈ R^{m×d}, a ∈ R^m, B ∈ R^{1×m} (stored as a vector of length m), b ∈ R.
An *ensemble* of E independent members stores A as (E, m, d), a as (E, m), B as (E, m), b as (E,), and
every computation (forward pass, gradients, norms) runs for all members at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_choice, check_int, check_real
from .activations import Activation
from .activations import activation as get_activation
from .losses import Loss
from .losses import loss as get_loss

__all__ = ["TwoLayerNet", "Gradients", "GROUPS", "INITS"]

GROUPS = ("A", "a", "B", "b")
INITS = ("lecun", "torch")


@dataclass
class Gradients:
    """∇R(θ) split by parameter group, with the ensemble axis first (shapes as the parameters)."""

    A: torch.Tensor
    a: torch.Tensor
    B: torch.Tensor
    b: torch.Tensor

    def __getitem__(self, group: str) -> torch.Tensor:
        return getattr(self, group)

    def norms(self) -> dict[str, torch.Tensor]:
        """Per-group Euclidean (Frobenius) norms, each of shape (E,)."""
        return {
            "A": torch.linalg.vector_norm(self.A, dim=(-2, -1)),
            "a": torch.linalg.vector_norm(self.a, dim=-1),
            "B": torch.linalg.vector_norm(self.B, dim=-1),
            "b": self.b.abs(),
        }


def _seeds(seed: Any, ensemble: int | None) -> list[int]:
    if isinstance(seed, (list, tuple, range, np.ndarray)):
        seeds = [check_int("seed", s, minimum=0, maximum=2**62) for s in seed]
        if not seeds:
            raise ValueError("seed must be an integer or a non-empty sequence of integers; got an empty sequence")
        if ensemble is not None and ensemble != len(seeds):
            raise ValueError(f"ensemble={ensemble} does not match the {len(seeds)} seeds given")
        return seeds
    seed = check_int("seed", seed, minimum=0, maximum=2**62)
    n = 1 if ensemble is None else check_int("ensemble", ensemble, minimum=1)
    return [seed + e for e in range(n)]


class TwoLayerNet:
    """A two-layer network f_θ(x) = B σ(Ax + a) + b, or an ensemble of E of them.

    Build one with :meth:`init` (random initialization) or :meth:`from_weights`. Calling the network on
    inputs ``x`` of shape (N, d) returns predictions of shape (N,), or (E, N) for an ensemble.

    Attributes ``A, a, B, b`` have shapes (m, d), (m,), (m,), () for a single network and
    (E, m, d), (E, m), (E, m), (E,) for an ensemble. ``width`` is m, ``d`` the input dimension,
    ``ensemble`` is E or ``None``, ``activation`` the :class:`~lipnb.activations.Activation`.
    """

    def __init__(
        self,
        A: torch.Tensor,
        a: torch.Tensor,
        B: torch.Tensor,
        b: torch.Tensor,
        activation: Activation,
        ensemble: int | None,
    ) -> None:
        # Internal storage always carries the ensemble axis. The first layer lives in one contiguous
        # W = [A | a] of shape (E, m, d + 1) so that the pre-activations and the first-layer gradient are
        # one matrix product each; A and a are views into it. B is (E, m), b is (E,).
        self._W = torch.cat([A, a[..., None]], dim=-1).contiguous()
        self._B, self._b = B.clone().contiguous(), b.clone().contiguous()
        self.activation = activation
        self.ensemble = ensemble

    @property
    def _A(self) -> torch.Tensor:
        return self._W[..., :-1]

    @property
    def _a(self) -> torch.Tensor:
        return self._W[..., -1]

    # ------------------------------------------------------------------ construction
    @classmethod
    def init(
        cls,
        d: int,
        width: int,
        activation: str | Activation = "relu",
        init: str = "lecun",
        seed: int | Sequence[int] = 0,
        ensemble: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
        bias_std: float = 1.0,
    ) -> TwoLayerNet:
        """Random initialization.

        ``init="lecun"``: A₀ ~ N(0, 1/d), a₀ ~ N(0, σ_a²) with σ_a = ``bias_std``, B₀ ~ N(0, 1/m), b₀ = 0.
        ``init="torch"``: PyTorch's ``nn.Linear`` default, every weight and bias U(−1/√fan_in, 1/√fan_in).

        Member e of an ensemble is drawn from its own generator seeded with ``seed + e`` (or with
        ``seed[e]`` when a sequence of seeds is given), so it equals the single network built with that seed.
        """
        d = check_int("d", d, minimum=1)
        m = check_int("width", width, minimum=1)
        act = get_activation(activation)
        init = check_choice("init", init, INITS)
        bias_std = check_real("bias_std", bias_std, nonnegative=True)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64; got {dtype!r}")
        seeds = _seeds(seed, ensemble)
        As, as_, Bs, bs = [], [], [], []
        for s in seeds:
            g = torch.Generator().manual_seed(s)
            if init == "lecun":
                As.append(torch.randn(m, d, generator=g, dtype=torch.float64) / math.sqrt(d))
                as_.append(torch.randn(m, generator=g, dtype=torch.float64) * bias_std)
                Bs.append(torch.randn(m, generator=g, dtype=torch.float64) / math.sqrt(m))
                bs.append(torch.zeros((), dtype=torch.float64))
            else:
                k1, k2 = 1.0 / math.sqrt(d), 1.0 / math.sqrt(m)
                As.append((torch.rand(m, d, generator=g, dtype=torch.float64) * 2 - 1) * k1)
                as_.append((torch.rand(m, generator=g, dtype=torch.float64) * 2 - 1) * k1)
                Bs.append((torch.rand(m, generator=g, dtype=torch.float64) * 2 - 1) * k2)
                bs.append((torch.rand((), generator=g, dtype=torch.float64) * 2 - 1) * k2)
        kw = dict(dtype=dtype, device=device)
        ens = None if ensemble is None and not isinstance(seed, (list, tuple, range, np.ndarray)) else len(seeds)
        return cls(
            torch.stack(As).to(**kw),
            torch.stack(as_).to(**kw),
            torch.stack(Bs).to(**kw),
            torch.stack(bs).to(**kw),
            act,
            ens,
        )

    @classmethod
    def from_weights(
        cls,
        A: Any,
        a: Any,
        B: Any,
        b: Any,
        activation: str | Activation = "relu",
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> TwoLayerNet:
        """Build a network from given weights (NumPy arrays or torch tensors).

        Single network: A (m, d), a (m,), B (1, m) or (m,), b scalar or (1,).
        Ensemble of E: A (E, m, d), a (E, m), B (E, 1, m) or (E, m), b (E,) or (E, 1).
        """
        act = get_activation(activation)
        At = as_tensor("A", A, dtype=dtype, device=device)
        at = as_tensor("a", a, dtype=dtype, device=device)
        Bt = as_tensor("B", B, dtype=dtype, device=device)
        bt = as_tensor("b", b, dtype=dtype, device=device)
        if At.ndim == 2:
            m, d = At.shape
            if at.shape != (m,):
                raise ValueError(
                    f"a must have shape ({m},) to match A of shape {tuple(At.shape)}; got {tuple(at.shape)}"
                )
            if Bt.shape not in ((m,), (1, m)):
                raise ValueError(f"B must have shape ({m},) or (1, {m}) to match A; got {tuple(Bt.shape)}")
            if bt.numel() != 1 or bt.ndim > 1:
                raise ValueError(f"b must be a scalar or have shape (1,); got shape {tuple(bt.shape)}")
            ens, At, at, Bt, bt = None, At[None], at[None], Bt.reshape(1, m), bt.reshape(1)
        elif At.ndim == 3:
            E, m, d = At.shape
            if at.shape != (E, m):
                raise ValueError(
                    f"a must have shape ({E}, {m}) to match A of shape {tuple(At.shape)}; got {tuple(at.shape)}"
                )
            if Bt.shape not in ((E, m), (E, 1, m)):
                raise ValueError(f"B must have shape ({E}, {m}) or ({E}, 1, {m}) to match A; got {tuple(Bt.shape)}")
            if bt.shape not in ((E,), (E, 1)):
                raise ValueError(f"b must have shape ({E},) or ({E}, 1) to match A; got {tuple(bt.shape)}")
            ens, Bt, bt = E, Bt.reshape(E, m), bt.reshape(E)
        else:
            raise ValueError(f"A must have shape (m, d) or (E, m, d); got {tuple(At.shape)}")
        if m < 1 or d < 1:
            raise ValueError(f"A must have at least one row and one column; got shape {tuple(At.shape)}")
        return cls(At.contiguous(), at.contiguous(), Bt.contiguous(), bt.contiguous(), act, ens)

    # ------------------------------------------------------------------ attributes
    def _out(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.ensemble is not None else t[0]

    @property
    def A(self) -> torch.Tensor:
        return self._out(self._A)

    @property
    def a(self) -> torch.Tensor:
        return self._out(self._a)

    @property
    def B(self) -> torch.Tensor:
        return self._out(self._B)

    @property
    def b(self) -> torch.Tensor:
        return self._out(self._b)

    @property
    def width(self) -> int:
        return self._A.shape[1]

    @property
    def d(self) -> int:
        return self._A.shape[2]

    @property
    def members(self) -> int:
        """The number of networks held: E for an ensemble, 1 otherwise."""
        return self._W.shape[0]

    @property
    def groups(self) -> tuple[str, ...]:
        """The parameter groups, each with its own learning rate: ``("A", "a", "B", "b")``."""
        return GROUPS

    @property
    def n_params(self) -> int:
        """p = m(d + 2) + 1 trainable parameters per member."""
        return self.width * (self.d + 2) + 1

    @property
    def dtype(self) -> torch.dtype:
        return self._A.dtype

    @property
    def device(self) -> torch.device:
        return self._A.device

    def parameters(self) -> dict[str, torch.Tensor]:
        """The parameters by group, with the ensemble axis (internal shapes)."""
        return {"A": self._A, "a": self._a, "B": self._B, "b": self._b}

    def clone(self) -> TwoLayerNet:
        return TwoLayerNet(self._A, self._a, self._B.clone(), self._b.clone(), self.activation, self.ensemble)

    def to(self, device: str | torch.device | None = None, dtype: torch.dtype | None = None) -> TwoLayerNet:
        """A copy on another device and/or dtype."""
        kw = dict(device=device, dtype=dtype)
        return TwoLayerNet(
            self._A.to(**kw), self._a.to(**kw), self._B.to(**kw), self._b.to(**kw), self.activation, self.ensemble
        )

    def member(self, i: int) -> TwoLayerNet:
        """Member i of an ensemble as a single network."""
        i = check_int("i", i, minimum=-self.members, maximum=self.members - 1) % self.members
        return TwoLayerNet(
            self._A[i : i + 1],
            self._a[i : i + 1],
            self._B[i : i + 1].clone(),
            self._b[i : i + 1].clone(),
            self.activation,
            None,
        )

    def __repr__(self) -> str:
        ens = f", ensemble={self.ensemble}" if self.ensemble is not None else ""
        return f"TwoLayerNet(d={self.d}, width={self.width}, activation={self.activation}{ens}, dtype={self.dtype})"

    # ------------------------------------------------------------------ computation
    def _check_x(self, x: Any) -> torch.Tensor:
        xt = as_tensor("x", x, dtype=self.dtype, device=self.device)
        if xt.ndim != 2 or xt.shape[1] != self.d:
            raise ValueError(f"x must have shape (N, {self.d}) for a network with d={self.d}; got {tuple(xt.shape)}")
        return xt

    def preactivations(self, x: torch.Tensor) -> torch.Tensor:
        """Z = x Aᵀ + a, of shape (E, N, m)."""
        return self._preact_T(_augment(x).T).transpose(-1, -2)

    def _preact_T(self, x1T: torch.Tensor) -> torch.Tensor:
        """Zᵀ of shape (E, m, N) from x1ᵀ = [x | 1]ᵀ of shape (d + 1, N): one matrix product for all members."""
        E, m, d1 = self._W.shape
        return torch.mm(self._W.reshape(E * m, d1), x1T).view(E, m, -1)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation(self._preact_T(_augment(x).T))
        return torch.bmm(self._B[:, None, :], h)[:, 0, :] + self._b[:, None]

    def __call__(self, x: Any) -> torch.Tensor:
        """Predictions f_θ(x) for x of shape (N, d): shape (N,), or (E, N) for an ensemble."""
        return self._out(self._forward(self._check_x(x)))

    def input_gradient(self, x: Any) -> torch.Tensor:
        """∇ₓf_θ(x) = Aᵀ diag(σ'(Ax + a)) Bᵀ at each point: shape (N, d), or (E, N, d)."""
        xt = self._check_x(x)
        s = self.activation.derivative(self.preactivations(xt))  # (E, N, m)
        return self._out(torch.matmul(s * self._B[:, None, :], self._A))

    def loss_and_gradients(
        self, x: Any, y: Any, loss: str | Loss = "mse", delta: float = 1.0
    ) -> tuple[torch.Tensor, Gradients]:
        """The risk R(θ) (shape (E,)) and its analytic gradient by group.

        With r = f(x) − y and g = ∂R/∂f (E, N): ∇b = Σₙ gₙ, ∇B = Σₙ gₙ σ(zₙ),
        ∇a = Σₙ gₙ B ⊙ σ'(zₙ), ∇A = Σₙ (gₙ B ⊙ σ'(zₙ)) xₙᵀ. Gradients carry the ensemble axis.
        """
        xt = self._check_x(x)
        yt = as_tensor("y", y, dtype=self.dtype, device=self.device)
        if yt.ndim == 2 and yt.shape[1] == 1:
            yt = yt[:, 0]
        if yt.shape != (xt.shape[0],):
            raise ValueError(f"y must have shape ({xt.shape[0]},) to match x; got {tuple(yt.shape)}")
        x1 = _augment(xt)
        value, gW, gB, gb = self._loss_grad(x1, x1.T.contiguous(), yt, get_loss(loss, delta))
        return value, Gradients(gW[..., :-1], gW[..., -1], gB, gb)

    def _loss_grad(
        self,
        x1: torch.Tensor,
        x1T: torch.Tensor,
        y: torch.Tensor,
        lo: Loss,
        work: tuple[torch.Tensor, ...] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The risk and the gradients (∇W = [∇A | ∇a], ∇B, ∇b) of every member.

        Works in the layout (E, m, N) so that both first-layer products are single 2-D GEMMs, in the
        reusable buffers ``work`` of :func:`_workspace` (fresh large allocations each step cost more than
        the math), and in blocks of members whose (m, N) arrays together stay within ``_BLOCK_ELEMENTS``:
        the elementwise passes are memory-bound, and a block that fits in the CPU's cache runs them
        markedly faster.
        """
        E, m, d1 = self._W.shape
        n = x1.shape[0]
        per_block = _per_block(E, m, n)
        if work is None:
            work = _workspace(self, n)
        if self.activation.piecewise_linear:
            return _loss_grad_homogeneous(
                self._W, self._B, self._b, self.activation.negative_slope, x1, x1T, y, lo, work[0], per_block
            )
        if per_block >= E:
            return _loss_grad_block(self._W, self._B, self._b, self.activation, x1, x1T, y, lo, work)
        parts = [
            _loss_grad_block(
                self._W[i : i + per_block],
                self._B[i : i + per_block],
                self._b[i : i + per_block],
                self.activation,
                x1,
                x1T,
                y,
                lo,
                work,
            )
            for i in range(0, E, per_block)
        ]
        return tuple(torch.cat(p) for p in zip(*parts))  # type: ignore[return-value]

    def _risk(self, x1T: torch.Tensor, y: torch.Tensor, lo: Loss) -> torch.Tensor:
        """The risk R(θ) of every member on the data x1ᵀ = [x | 1]ᵀ (no gradient)."""
        h = self.activation(self._preact_T(x1T))
        return lo.from_residual(torch.bmm(self._B[:, None, :], h)[:, 0, :] + self._b[:, None] - y)

    def norms(self) -> dict[str, torch.Tensor]:
        """‖A‖_op, ‖A‖_F, ‖a‖₂, ‖B‖₂, |b|, each of shape (E,) (or scalars for a single network)."""
        return {k: self._out(v) for k, v in _norms(self._A, self._a, self._B, self._b).items()}

    def product_bound(self) -> torch.Tensor:
        """Product bound: Lip(f_θ) ≤ L_σ ‖B‖₂ ‖A‖_op (shape (E,), or a scalar)."""
        n = _norms(self._A, self._a, self._B, self._b)
        return self._out(self.activation.lipschitz * n["B"] * n["A_op"])

    @classmethod
    def from_torch(
        cls,
        module: torch.nn.Module,
        dtype: torch.dtype | None = torch.float64,
        device: str | torch.device | None = None,
    ) -> TwoLayerNet:
        """The TwoLayerNet computing the same function as ``module``, an ``nn.Sequential`` of ``nn.Linear`` layers and a
        supported activation (the inverse of :meth:`to_torch_module`; see :func:`lipnb.torch.from_module`).

        Raises ``TypeError`` naming the layer for anything else, and when the module is an MLP.
        """
        from .torch.parse import module_weights

        parsed, W, b, kw = module_weights(module, dtype, device)
        if parsed.depth != 2:
            raise TypeError(
                f"module has {parsed.depth} linear layers: it converts to a MLP, not a TwoLayerNet; "
                "use MLP.from_torch or lipnb.torch.from_module"
            )
        return cls.from_weights(W[0], b[0], W[1], b[1], parsed.activation, **kw)

    def to_torch_module(self, i: int = 0) -> torch.nn.Sequential:
        """Member i as an idiomatic ``nn.Sequential(Linear(d, m), σ, Linear(m, 1))`` with the same weights."""
        i = check_int("i", i, minimum=-self.members, maximum=self.members - 1) % self.members
        net = torch.nn.Sequential(
            torch.nn.Linear(self.d, self.width), self.activation.torch_module(), torch.nn.Linear(self.width, 1)
        ).to(dtype=self.dtype, device=self.device)
        with torch.no_grad():
            net[0].weight.copy_(self._A[i])
            net[0].bias.copy_(self._a[i])
            net[2].weight.copy_(self._B[i][None, :])
            net[2].bias.copy_(self._b[i].reshape(1))
        return net


_BLOCK_ELEMENTS = 1 << 18  # 2 MiB of float64 per (m, N) work array: a size that stays in cache


def _per_block(members: int, m: int, n: int) -> int:
    """How many members' (m, N) arrays are taken together: as many as fit in ``_BLOCK_ELEMENTS``, at least one."""
    return max(1, min(members, _BLOCK_ELEMENTS // (m * n)))


def _workspace(net: TwoLayerNet, n: int) -> tuple[torch.Tensor, ...]:
    """The reusable (block·m, N) buffers of the loss and gradient on N points: one for ReLU and leaky ReLU
    (the slope pattern of :func:`_loss_grad_homogeneous`), two otherwise (σ(z) and σ'(z))."""
    rows = _per_block(net.members, net.width, n) * net.width
    count = 1 if net.activation.piecewise_linear else 2
    return tuple(torch.empty(rows, n, dtype=net.dtype, device=net.device) for _ in range(count))


def _loss_grad_block(
    W: torch.Tensor,
    B: torch.Tensor,
    b: torch.Tensor,
    act: Activation,
    x1: torch.Tensor,
    x1T: torch.Tensor,
    y: torch.Tensor,
    lo: Loss,
    work: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Risk and gradients of the members W (E, m, d+1), B (E, m), b (E,), in the buffers ``work``."""
    E, m, d1 = W.shape
    n = x1.shape[0]
    z = torch.mm(W.reshape(E * m, d1), x1T, out=work[0][: E * m]).view(E, m, n)
    h, s = act.value_and_derivative_(z, work[1][: E * m].view(E, m, n))
    pred = torch.bmm(B[:, None, :], h)[:, 0, :] + b[:, None]
    r = pred - y
    value = lo.from_residual(r)
    g = lo.residual_gradient(r)  # (E, N)
    gB = torch.bmm(h, g[:, :, None])[..., 0]  # (E, m)
    gz = s.mul_(B[:, :, None]).mul_(g[:, None, :])  # (E, m, N): g_n B_i σ'(z_in)
    # [x | 1]ᵀ Gᵀ, a product with a wide output, runs about twice as fast as the narrow G [x | 1].
    gW = torch.mm(x1T, gz.view(E * m, n).T).T.reshape(E, m, d1)
    return value, gW, gB, g.sum(dim=-1)


def _loss_grad_homogeneous(
    W: torch.Tensor,
    B: torch.Tensor,
    b: torch.Tensor,
    beta: float,
    x1: torch.Tensor,
    x1T: torch.Tensor,
    y: torch.Tensor,
    lo: Loss,
    work: torch.Tensor,
    per_block: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Risk and gradients for ReLU and leaky ReLU, with one (E, m, N) array instead of three.

    These σ are positively homogeneous, σ(z) = σ'(z) z, so with the slope pattern S_in = σ'(z_in) and
    w_i = [A_i | a_i]:  f(x_n) = Σ_i B_i S_in (w_i · [x_n | 1]) + b = [x_n | 1] · ((B ⊙ W)ᵀ S)_n + b, and
    with g = ∂R/∂f and Q = S (g ⊙ [x | 1]) (shape (m, d+1)):  ∇W = B ⊙ Q,  ∇B_i = w_i · Q_i.
    After the pre-activations only S is computed elementwise (in place); the rest is two matrix products
    that read S once each: about five passes over the (m, N) array instead of about eleven, the same
    numbers up to rounding in another order of summation (tested against autograd). Members are taken in
    blocks of ``per_block`` whose S fits in ``work``; the small per-unit products run once for all.
    """
    E, m, d1 = W.shape
    n = x1.shape[0]
    BWt = (W * B[:, :, None]).transpose(1, 2).contiguous()  # (E, d+1, m)
    Q = torch.empty_like(W)
    values, gs = [], []
    for i in range(0, E, per_block):
        k = min(per_block, E - i)
        S = torch.mm(W[i : i + k].reshape(k * m, d1), x1T, out=work[: k * m]).view(k, m, n).gt_(0)  # 1[z > 0]
        if beta != 0.0:
            S.mul_(1.0 - beta).add_(beta)
        # (B ⊙ W)ᵀ S, with the wide (d+1, N) output: about twice as fast as Sᵀ (B ⊙ W).
        pred = (torch.bmm(BWt[i : i + k], S) * x1T).sum(dim=1) + b[i : i + k, None]
        r = pred - y
        values.append(lo.from_residual(r))
        g = lo.residual_gradient(r)  # (k, N)
        gs.append(g)
        torch.bmm(S, g[:, :, None] * x1, out=Q[i : i + k])
    value, g = (values[0], gs[0]) if len(values) == 1 else (torch.cat(values), torch.cat(gs))
    return value, Q * B[:, :, None], (Q * W).sum(dim=-1), g.sum(dim=-1)


def _augment(x: torch.Tensor) -> torch.Tensor:
    """[x | 1], shape (N, d + 1)."""
    return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)


def operator_norm(A: torch.Tensor) -> torch.Tensor:
    """Spectral norm of each (m, d) matrix in a batch (E, m, d), via the d×d (or m×m) Gram matrix.

    A member with a non-finite entry gets ``nan`` (the trainer then reports the divergence).
    """
    m, d = A.shape[-2], A.shape[-1]
    if d == 1 or m == 1:
        return torch.linalg.vector_norm(A, dim=(-2, -1))
    # Scale by the largest entry first so that the Gram matrix cannot overflow for finite weights.
    scale = A.abs().amax(dim=(-2, -1), keepdim=True)
    ok = torch.isfinite(scale[..., 0, 0])
    scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, torch.ones_like(scale))
    As = torch.where(ok[..., None, None], A / scale, torch.zeros_like(A))
    gram = As.transpose(-1, -2) @ As if d <= m else As @ As.transpose(-1, -2)
    top = torch.linalg.eigvalsh(gram)[..., -1].clamp_min(0).sqrt() * scale[..., 0, 0]
    return torch.where(ok, top, torch.full_like(top, float("nan")))


def _norms(A: torch.Tensor, a: torch.Tensor, B: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "A_op": operator_norm(A),
        "A_fro": torch.linalg.vector_norm(A, dim=(-2, -1)),
        "a": torch.linalg.vector_norm(a, dim=-1),
        "B": torch.linalg.vector_norm(B, dim=-1),
        "b": b.abs(),
    }
