"""A Lipschitz budget for any PyTorch optimizer: the adaptive rule of the book, as a step post-hook.

``LipschitzBudget(model, optimizer, target, start, rate)`` watches the weight matrices W_1, …, W_D of an
``nn.Sequential(Linear, σ, …, Linear)`` after every ``optimizer.step()``:

* for the first τ = ``start`` steps it only records each layer's path length
  P_l = Σ_s ‖W_l^{s+1} − W_l^s‖_F (the distance travelled, Frobenius norm);
* after step τ it fixes a budget Γ_l per layer with L_σ^{D−1} Π_l (‖W_l^τ‖_op + Γ_l) = ``target``
  (one Γ shared by all layers, found by bisection) and, from then on, scales each layer's step back,
  W_l ← W_l^{old} + c ΔW_l with c ∈ [0, 1], whenever its length would exceed what is left:
  with ``rate=None`` the rest of the budget, Γ_l − P_l^{after τ} (greedy); with a rate r > 0 also the
  cap G(k) = Γ_l (1 − e^{−r}) e^{−rk} at the k-th step after τ, a rate function with Σ_k G(k) = Γ_l,
  which spreads the budget over the rest of training (the adaptive rule).

By the path-length certificate, layer by layer (chapter 'Beyond the paper', lemma
``beyond-lem-path-depth``; for two layers the path-length certificate ``lem-path-length`` of the chapter
'Learning-rate constraints and the Lipschitz theorem'), ‖W_l^t‖_op ≤ ‖W_l^τ‖_op + P_l^{after τ}, and by
the product bound for an MLP (``beyond-prop-depth-product``)

    Lip(f_t) ≤ L_σ^{D−1} Π_l ‖W_l^t‖_op ≤ L_σ^{D−1} Π_l (‖W_l^τ‖_op + P_l^{after τ}) ≤ target

at every step t ≥ τ, whatever the optimizer (SGD, momentum, Adam, AdamW, …) and the batches: the
corollary 'Adaptive step for a target L' (``beyond-cor-target``) with the step measured after the
optimizer instead of prescribed before it, and anchored at W^τ rather than W^0 (tighter, as
‖W_l^τ‖_op ≤ ‖W_l^0‖_op + P_l^τ). Each step is measured on the weights as stored (a scaled step after it
is written and rounded to the model's dtype), its length rounded up to cover that rounding and summed in
float64, so a float32 model cannot break the bound through rounding. Biases do not enter the Lipschitz
constant and are never scaled. The optimizer's state (momenta, Adam's moments) is left as it is: the
scaling acts like a projection of the weights after the step.

The budget works as an ``optimizer.register_step_post_hook``: there is no ``budget.step()`` to call, so
it can neither be forgotten nor called out of order, and every ``optimizer.step()`` — whatever the loop
around it (gradient accumulation, AMP's skipped steps, closures) — is measured exactly once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from .._validate import check_int, check_real
from .parse import parse_sequential

__all__ = ["LipschitzBudget", "BudgetCertificate"]

# Measured step lengths are rounded up by this relative amount, above the worst-case rounding of a float64
# sum of n squares (n u = 1.1e-16 n, for any order of summation, up to n = 9e6 entries per layer), so
# that the recorded path stays an upper bound of the true one.
_MARGIN = 1e-9
# A float32 layer whose rows have at most this many entries has its step measured row by row in float32
# (a row's sum of n squares is off by at most γ_{n+1} = (n + 1)u / (1 − (n + 1)u) relative, for any order
# of summation, which the length is divided by) and the row norms combined in float64; about twice as
# fast as converting the whole step to float64, and the bound stays within 1e-4 of the float64 one.
_ROW_LIMIT = 1600


@dataclass(frozen=True)
class BudgetCertificate:
    """What :meth:`LipschitzBudget.certificate` guarantees, and the numbers behind it.

    Attributes
    ----------
    step
        t, the number of optimizer steps since the budget was attached.
    start
        τ, the step at which the budget was fixed.
    started
        Whether t ≥ τ (Γ is fixed and the guarantee ``bound <= target`` holds).
    target
        The Lipschitz constant asked for.
    bound
        A certified upper bound of Lip(f_t) (ℓ2 → ℓ2): after τ, L_σ^{D−1} Π_l (‖W_l^τ‖_op + P_l^{after τ}),
        which is ≤ ``target``; before τ, L_σ^{D−1} Π_l (‖W_l^0‖_op + P_l), the path-length certificate
        from the weights at attachment.
    product
        L_σ^{D−1} Π_l ‖W_l^t‖_op of the current weights (≤ ``bound``, the product bound).
    layer_norms
        ‖W_l^t‖_op of the current weights, per layer.
    norms_at_start
        ‖W_l^τ‖_op (``None`` before τ).
    path_before
        P_l from attachment up to min(t, τ), per layer.
    path_after
        P_l^{after τ}, per layer (zeros before τ).
    gamma
        Γ_l, the budget of each layer after τ (``None`` before τ).
    rate
        r of the adaptive cap, ``None`` for the greedy budget.
    lipschitz_activation
        L_σ.
    scaled_steps
        How many steps after τ had at least one layer's step scaled back (c < 1).
    """

    step: int
    start: int
    started: bool
    target: float
    bound: float
    product: float
    layer_norms: tuple[float, ...]
    norms_at_start: tuple[float, ...] | None
    path_before: tuple[float, ...]
    path_after: tuple[float, ...]
    gamma: tuple[float, ...] | None
    rate: float | None
    lipschitz_activation: float
    scaled_steps: int

    @property
    def within_target(self) -> bool:
        """True when the budget is running and the certified bound is ≤ the target."""
        return self.started and self.bound <= self.target

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for logging)."""
        return asdict(self)


def _product(L_sigma: float, norms: list[float], extra: list[float]) -> float:
    """L_σ^{D−1} Π_l (n_l + e_l), always in the same order: rounding is monotone, so a larger ``extra``
    never gives a smaller value."""
    value = L_sigma ** (len(norms) - 1)
    for n, e in zip(norms, extra):
        value *= n + e
    return value


def shared_gamma(target: float, L_sigma: float, norms: list[float]) -> float:
    """The largest Γ ≥ 0 (to bisection accuracy) with L_σ^{D−1} Π_l (n_l + Γ) ≤ ``target``.

    Raises ``ValueError`` naming ``target`` and the bound when L_σ^{D−1} Π_l n_l > target already.
    """
    bound = _product(L_sigma, norms, [0.0] * len(norms))
    if not bound <= target:
        raise ValueError(
            f"target={target:.6g} is below the model's product bound {bound:.6g} = "
            f"L_sigma^(D-1) prod_l ||W_l||_op at the start of the budget; raise target or start earlier"
        )
    lo, hi = 0.0, 1.0
    while _product(L_sigma, norms, [hi] * len(norms)) <= target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _product(L_sigma, norms, [mid] * len(norms)) <= target else (lo, mid)
    return lo


def _op_norm(w: torch.Tensor) -> float:
    return float(torch.linalg.matrix_norm(w.detach().to(torch.float64), ord=2))


class LipschitzBudget:
    """Keep L_σ^{D−1} Π_l ‖W_l‖_op ≤ ``target`` from step ``start`` on, for any optimizer (see the module).

    Attach it once; it works through ``optimizer.register_step_post_hook``, so the training loop stays
    the user's own and needs no extra call::

        budget = lipnb.torch.LipschitzBudget(model, optimizer, target=2.0, start=500, rate=0.01)
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()          # the budget scales the step back here when it must
        budget.certificate().bound    # <= 2.0, a certified upper bound of Lip(model)

    Parameters
    ----------
    model
        ``nn.Sequential`` alternating ``nn.Linear`` and one supported activation (as
        :func:`~lipnb.torch.from_module`; any number of outputs). Any device, any floating dtype.
    optimizer
        The optimizer that trains ``model``. Every change of a weight matrix between two of its steps,
        by whatever means, is measured at the next step and counted (and scaled back after τ).
    target
        L > 0, the Lipschitz constant (ℓ2 → ℓ2) not to exceed from step τ on.
    start
        τ ≥ 0, the number of optimizer steps before the budget is fixed (0: from the weights now).
    rate
        r > 0 for the adaptive cap G(k) = Γ(1 − e^{−r}) e^{−rk} on the k-th step after τ, or ``None`` for
        the greedy budget (steps are free until Γ is spent, then the layer stops moving).

    Raises
    ------
    TypeError
        ``model`` is not such an ``nn.Sequential`` (the message names the layer), ``optimizer`` is not an
        optimizer, or an argument has the wrong type.
    ValueError
        ``target`` is not > 0, ``start`` < 0, ``rate`` not > 0, two layers share a weight, or (τ = 0)
        ``target`` is below the model's current product bound. With τ > 0 the last check runs at step τ
        and that ``optimizer.step()`` raises the ``ValueError`` (the budget then refuses every later step;
        :meth:`remove` it).
    """

    def __init__(
        self, model: nn.Module, optimizer: Optimizer, target: float, start: int = 0, rate: float | None = None
    ) -> None:
        parsed = parse_sequential(model, scalar_output=False, name="model")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
        self.target = check_real("target", target, positive=True)
        self.start = check_int("start", start, minimum=0)
        self.rate = None if rate is None else check_real("rate", rate, positive=True)
        self._first_cap = 0.0 if self.rate is None else -math.expm1(-self.rate)  # G(0)/Γ = 1 − e^{−r}
        seen: dict[int, int] = {}
        for i, lin in zip(parsed.indices, parsed.linears):
            if not lin.weight.is_floating_point():
                raise TypeError(
                    f"layer {i} (nn.Linear) has weights of dtype {lin.weight.dtype}; a floating dtype is needed"
                )
            j = seen.setdefault(id(lin.weight), i)
            if j != i:
                raise ValueError(
                    f"layer {i} (nn.Linear) shares its weight with layer {j}: a shared weight would be "
                    "budgeted twice; give each layer its own"
                )
        self.model = model
        self.optimizer = optimizer
        self.indices = parsed.indices
        self.activation = parsed.activation
        self.lipschitz_activation = float(parsed.activation.lipschitz)
        self._linears = parsed.linears
        depth = parsed.depth
        with torch.no_grad():
            self._prev = [lin.weight.detach().clone() for lin in parsed.linears]  # W^{old}, the model's dtype
        self._diff = [torch.empty_like(p) for p in self._prev]  # ΔW as measured (rounded to the dtype)
        self._work = [torch.empty_like(p) for p in self._prev]  # a scaled step as written
        self._unit = [torch.finfo(p.dtype).eps / 2 for p in self._prev]
        self._by_rows = [p.dtype == torch.float32 and p.shape[-1] <= _ROW_LIMIT for p in self._prev]
        self._underflow = [math.sqrt(p.numel() * torch.finfo(p.dtype).tiny) for p in self._prev]
        self._one_device = len({p.device for p in self._prev}) == 1
        self._storage = [lin.weight.data_ptr() for lin in parsed.linears]
        self._roundoff = []
        for p, u, rows in zip(self._prev, self._unit, self._by_rows):
            g = (p.shape[-1] + 1) * u / (1.0 - (p.shape[-1] + 1) * u) if rows else 0.0
            self._roundoff.append((1.0 + _MARGIN) / ((1.0 - u) ** (2 if rows else 1) * math.sqrt(1.0 - g)))
        self._norms0 = [_op_norm(w) for w in self._prev]
        self._steps = 0
        self._path_before = [0.0] * depth
        self._path_after = [0.0] * depth
        self._norms_start: list[float] | None = None
        self._gamma: list[float] | None = None
        self._scaled_steps = 0
        self._error: ValueError | None = None
        if self.start == 0:
            self._fix_budget(self._norms0)  # raises before anything is attached
        self._handle = optimizer.register_step_post_hook(self._after_step)

    # ---------------------------------------------------------------------------------------- state
    @property
    def steps(self) -> int:
        """The number of optimizer steps seen since the budget was attached."""
        return self._steps

    @property
    def gamma(self) -> tuple[float, ...] | None:
        """Γ_l per layer, fixed at step τ (``None`` before)."""
        return None if self._gamma is None else tuple(self._gamma)

    def remove(self) -> None:
        """Detach the budget from the optimizer (the weights stay as they are)."""
        self._handle.remove()

    def __repr__(self) -> str:
        return (
            f"LipschitzBudget(target={self.target:g}, start={self.start}, rate={self.rate}, "
            f"depth={len(self._linears)}, activation={self.activation}, steps={self._steps})"
        )

    # ---------------------------------------------------------------------------------------- the rule
    def _fix_budget(self, norms: list[float]) -> None:
        gamma = shared_gamma(self.target, self.lipschitz_activation, norms)
        self._norms_start = list(norms)
        self._gamma = [gamma] * len(norms)

    def _cap(self, layer: int, k: int) -> float:
        """The most layer ``layer`` may move at the k-th step after τ."""
        assert self._gamma is not None
        left = self._gamma[layer] - self._path_after[layer]
        if self.rate is None:
            return left
        return min(left, self._gamma[layer] * self._first_cap * math.exp(-self.rate * k))

    def _norm(self, layer: int, diff: torch.Tensor) -> torch.Tensor:
        """‖diff‖_F accumulated in float64, or (float32 rows of at most ``_ROW_LIMIT`` entries) row norms in
        float32 combined in float64; :meth:`_upper` turns either into an upper bound."""
        if self._by_rows[layer]:
            return torch.linalg.vector_norm(torch.linalg.vector_norm(diff, dim=-1), dtype=torch.float64)
        return torch.linalg.vector_norm(diff, dtype=torch.float64)

    def _upper(self, layer: int, norm: float) -> float:
        """An upper bound of ‖W^{new} − W^{old}‖_F from the norm of the rounded difference: divided by 1 − u
        (u the dtype's unit roundoff, which bounds the rounding of each difference) and by the row sums'
        rounding bound, plus what underflow can hide, and rounded up by ``_MARGIN``."""
        return (norm + self._underflow[layer]) * self._roundoff[layer]

    def _lengths(self, diffs: list[torch.Tensor]) -> list[float]:
        """Upper bounds of the Frobenius norms of the steps, one per layer (one synchronisation)."""
        norms = [self._norm(l, d) for l, d in enumerate(diffs)]
        values = torch.stack(norms).tolist() if self._one_device else [float(n) for n in norms]
        return [self._upper(l, v) for l, v in enumerate(values)]

    def _after_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        if self._error is not None:
            raise self._error
        weights = [lin.weight for lin in self._linears]
        if [w.data_ptr() for w in weights] != self._storage:
            moved = next(i for i, w, ptr in zip(self.indices, weights, self._storage) if w.data_ptr() != ptr)
            raise RuntimeError(
                f"layer {moved} (nn.Linear)'s weight was replaced (another device, dtype or "
                "tensor) since the budget was attached; attach a new budget"
            )
        with torch.no_grad():
            for w, p, d in zip(weights, self._prev, self._diff):
                torch.sub(w, p, out=d)
            lengths = self._lengths(self._diff)
            t = self._steps + 1
            if t <= self.start:
                if t == self.start:
                    try:
                        self._fix_budget([_op_norm(w) for w in weights])
                    except ValueError as exc:
                        self._error = exc
                        raise
                self._path_before = [p + s for p, s in zip(self._path_before, lengths)]
            else:
                k = t - self.start - 1
                scaled = False
                for l, length in enumerate(lengths):
                    cap = self._cap(l, k)
                    if not self._fits(l, length, cap):
                        scaled = True
                        length = self._scale_back(l, weights[l], length, cap)
                    self._path_after[l] += length
                self._scaled_steps += scaled
            for w, p in zip(weights, self._prev):
                p.copy_(w)
            self._steps = t

    def _fits(self, layer: int, length: float, cap: float) -> bool:
        assert self._gamma is not None
        return length <= cap and self._path_after[layer] + length <= self._gamma[layer]

    def _scale_back(self, layer: int, w: torch.Tensor, length: float, cap: float) -> float:
        """Write W_old + c ΔW with c ∈ [0, 1) such that the written step, measured on the weights as stored,
        fits; returns its length. Writing rounds each entry by at most u |W_l| (u the dtype's unit roundoff),
        so the first c leaves room for u ‖W_old‖_F and nearly always fits; if not, c shrinks (a few tries),
        and c = 0 (the old weights, exactly) when nothing fits."""
        old, step, written = self._prev[layer], self._diff[layer], self._work[layer]
        room = cap / self._roundoff[layer] - self._unit[layer] * 2.0 * float(
            torch.linalg.vector_norm(old, dtype=torch.float64)
        )
        c = room / (length / self._roundoff[layer]) if length > 0 and math.isfinite(length) else 0.0
        for _ in range(4):
            if not c > 0.0:
                break
            torch.add(old, step, alpha=c, out=w)
            actual = self._lengths_one(layer, torch.sub(w, old, out=written))
            if self._fits(layer, actual, cap):
                return actual
            c *= min(1.0, cap / actual) * (1.0 - 1e-6) if actual > 0 else 0.0
        w.copy_(old)
        return 0.0

    def _lengths_one(self, layer: int, diff: torch.Tensor) -> float:
        return self._upper(layer, float(self._norm(layer, diff)))

    # ---------------------------------------------------------------------------------------- the result
    def certificate(self) -> BudgetCertificate:
        """The certified bound now, with the numbers behind it (see :class:`BudgetCertificate`).

        Raises
        ------
        RuntimeError
            A weight changed after the last optimizer step (the change was never measured).
        """
        with torch.no_grad():
            for i, lin, p in zip(self.indices, self._linears, self._prev):
                w = lin.weight.detach()
                if w.shape != p.shape or w.device != p.device or w.dtype != p.dtype or not torch.equal(w, p):
                    raise RuntimeError(
                        f"layer {i} (nn.Linear)'s weight changed after the last optimizer.step(): "
                        "the budget measures changes at optimizer steps only, so it cannot certify "
                        "this one"
                    )
            norms = [_op_norm(p) for p in self._prev]
        L = self.lipschitz_activation
        started = self._gamma is not None
        if started:
            assert self._norms_start is not None
            bound = _product(L, self._norms_start, self._path_after)
        else:
            bound = _product(L, self._norms0, self._path_before)
        return BudgetCertificate(
            step=self._steps,
            start=self.start,
            started=started,
            target=self.target,
            bound=bound,
            product=_product(L, norms, [0.0] * len(norms)),
            layer_norms=tuple(norms),
            norms_at_start=None if self._norms_start is None else tuple(self._norms_start),
            path_before=tuple(self._path_before),
            path_after=tuple(self._path_after),
            gamma=self.gamma,
            rate=self.rate,
            lipschitz_activation=L,
            scaled_steps=self._scaled_steps,
        )
