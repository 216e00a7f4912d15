"""Learning-rate schedules and rate functions.

A *schedule* is a pure function ``step -> learning rate`` (as in optax), parameterized by the
mathematics: ``eventual_exponential(lr, start, rate)`` is α_t = α for t < τ and α e^{−r(t−τ)} after.
Schedules compose with :func:`join`. Each one exposes

* ``start`` — τ, the step from which it decays (0 for a schedule that decays from the beginning);
* ``rate_function`` — the :class:`RateFunction` G(k) = α_{τ+k}, k = 0, 1, …;
* ``gamma`` — Γ = Σ_k G(k), raising ``ValueError`` when the sum diverges (constant and step schedules,
  polynomial decay with power ≤ 1, exponential decay with rate 0);
* ``total(T)`` — Σ_{t<T} α_t (all t when T is None), which Huber a-priori bound needs.

A plain schedule's rate function is a decay profile *per unit gradient norm*: the step length
α_t ‖∇R(θ_t)‖ obeys the eventual-decay constraint with G scaled by sup_t ‖∇R(θ_t)‖. The
:func:`adaptive` rule of Adaptive rule, α_t = min(ᾱ, G(t − τ)/‖∇R(θ_t)‖) for t ≥ τ, makes the step length
itself at most G(t − τ); it needs the gradient norm, so :func:`lipnb.train` applies it natively.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.special import zeta

from ._validate import check_int, check_real

__all__ = [
    "RateFunction",
    "exponential_rate",
    "polynomial_rate",
    "Schedule",
    "AdaptiveSchedule",
    "constant",
    "exponential",
    "eventual_exponential",
    "eventual_polynomial",
    "step",
    "join",
    "adaptive",
    "warmup_cosine",
]

ArrayFn = Callable[[np.ndarray], np.ndarray]


class RateFunction:
    """A rate function G: {0, 1, 2, …} → [0, ∞), with Γ = Σ_k G(k) where it is finite."""

    def __init__(self, fn: ArrayFn, gamma: float, description: str) -> None:
        self._fn = fn
        self._gamma = gamma
        self.description = description

    def __call__(self, k: int | np.ndarray) -> float | np.ndarray:
        """G(k) for an integer k ≥ 0 or an array of them."""
        arr = np.asarray(k)
        if arr.dtype.kind not in "iu" or (arr < 0).any():
            raise ValueError(f"k must be a non-negative integer (or an array of them); got {k!r}")
        out = self._fn(arr.astype(np.float64))
        return float(out) if np.ndim(k) == 0 else out

    @property
    def summable(self) -> bool:
        return math.isfinite(self._gamma)

    @property
    def gamma(self) -> float:
        """Γ = Σ_{k≥0} G(k); ``ValueError`` if the series diverges."""
        if not self.summable:
            raise ValueError(f"the rate function {self.description} is not summable: Gamma = sum_k G(k) is infinite")
        return self._gamma

    def partial_sum(self, n: int) -> float:
        """Σ_{k<n} G(k)."""
        n = check_int("n", n, minimum=0)
        return float(np.sum(self._fn(np.arange(n, dtype=np.float64)))) if n else 0.0

    def __repr__(self) -> str:
        return f"RateFunction({self.description})"


def exponential_rate(scale: float, rate: float) -> RateFunction:
    """G(k) = c e^{−rk}; Γ = c / (1 − e^{−r}) for r > 0 (infinite for r = 0)."""
    c = check_real("scale", scale, positive=True)
    r = check_real("rate", rate, nonnegative=True)
    gamma = c / -math.expm1(-r) if r > 0 else math.inf
    return RateFunction(lambda k: c * np.exp(-r * k), gamma, f"G(k) = {c:g} exp(-{r:g} k)")


def polynomial_rate(scale: float, power: float) -> RateFunction:
    """G(k) = c (k + 1)^{−q}; Γ = c ζ(q) for q > 1 (infinite for q ≤ 1)."""
    c = check_real("scale", scale, positive=True)
    q = check_real("power", power, nonnegative=True)
    gamma = c * float(zeta(q, 1)) if q > 1 else math.inf
    return RateFunction(lambda k: c * (k + 1.0) ** (-q), gamma, f"G(k) = {c:g} (k+1)^(-{q:g})")


def _constant_rate(c: float) -> RateFunction:
    return RateFunction(lambda k: np.full_like(k, c), math.inf, f"G(k) = {c:g}")


class Schedule:
    """A learning-rate schedule t ↦ α_t (see the module docstring)."""

    needs_grad_norm = False

    def __init__(
        self,
        fn: ArrayFn,
        start: int,
        rate_function: RateFunction,
        description: str,
        head_total: Callable[[int], float] | None = None,
    ) -> None:
        self._fn = fn
        self.start = start
        self.rate_function = rate_function
        self.description = description
        self._head_total = head_total

    def __call__(self, step: int) -> float:
        """α_t at step t ≥ 0."""
        t = check_int("step", step, minimum=0)
        return float(self._fn(np.array([t], dtype=np.float64))[0])

    def values(self, steps: int) -> np.ndarray:
        """α_0, …, α_{steps−1} as a float64 array."""
        steps = check_int("steps", steps, minimum=0)
        return np.asarray(self._fn(np.arange(steps, dtype=np.float64)), dtype=np.float64)

    def G(self, k: int | np.ndarray) -> float | np.ndarray:
        """The rate function G(k) = α_{τ+k}."""
        return self.rate_function(k)

    @property
    def lr_sum(self) -> float:
        """Σ_{k≥0} α_{τ+k}, the sum of the learning rates from the decay start on; ``ValueError`` if it diverges.

        A sum of step *sizes*, not the budget Γ of {prf:ref}`thm-lr-constraint`, which is a distance: a plain
        schedule obeys the eventual-decay constraint with G(k) = S·α_{τ+k}, S the largest gradient norm after
        τ, so its Γ is S·``lr_sum`` (see :func:`lipnb.theory.schedule_rate`).
        """
        return self.rate_function.gamma

    def total(self, steps: int | None = None) -> float:
        """Σ_{t<steps} α_t; with ``steps=None`` the whole series Σ_t α_t = Σ_{t<τ} α_t + Γ."""
        if steps is None:
            head = float(np.sum(self.values(self.start))) if self._head_total is None else self._head_total(self.start)
            return head + self.lr_sum
        return float(np.sum(self.values(steps)))

    def __repr__(self) -> str:
        return f"Schedule({self.description})"


def _lr(lr: float, name: str = "lr") -> float:
    return check_real(name, lr, positive=True)


def constant(lr: float) -> Schedule:
    """α_t = lr. Its rate function is constant, so Γ is infinite (``gamma`` raises)."""
    lr = _lr(lr)
    return Schedule(lambda t: np.full_like(t, lr), 0, _constant_rate(lr), f"constant(lr={lr:g})")


def exponential(lr: float, rate: float) -> Schedule:
    """α_t = lr e^{−rt} (τ = 0)."""
    lr = _lr(lr)
    rf = exponential_rate(lr, rate)
    r = check_real("rate", rate, nonnegative=True)
    return Schedule(lambda t: lr * np.exp(-r * t), 0, rf, f"exponential(lr={lr:g}, rate={r:g})")


def eventual_exponential(lr: float, start: int, rate: float) -> Schedule:
    """α_t = lr for t < τ = ``start`` and lr e^{−r(t−τ)} after; Γ = lr / (1 − e^{−r})."""
    lr = _lr(lr)
    tau = check_int("start", start, minimum=0)
    r = check_real("rate", rate, nonnegative=True)
    rf = exponential_rate(lr, r)
    return Schedule(
        lambda t: np.where(t < tau, lr, lr * np.exp(-r * np.maximum(t - tau, 0.0))),
        tau,
        rf,
        f"eventual_exponential(lr={lr:g}, start={tau}, rate={r:g})",
        head_total=lambda n: lr * n,
    )


def eventual_polynomial(lr: float, start: int, power: float) -> Schedule:
    """α_t = lr for t < τ = ``start`` and lr (t − τ + 1)^{−q} after; Γ = lr ζ(q) for q > 1."""
    lr = _lr(lr)
    tau = check_int("start", start, minimum=0)
    q = check_real("power", power, nonnegative=True)
    rf = polynomial_rate(lr, q)
    return Schedule(
        lambda t: np.where(t < tau, lr, lr * (np.maximum(t - tau, 0.0) + 1.0) ** (-q)),
        tau,
        rf,
        f"eventual_polynomial(lr={lr:g}, start={tau}, power={q:g})",
        head_total=lambda n: lr * n,
    )


def step(lr: float, boundaries: Sequence[int], factor: float = 0.1) -> Schedule:
    """Piecewise constant: α_t = lr · factor^{#{b ∈ boundaries : b ≤ t}}. Never summable."""
    lr = _lr(lr)
    f = check_real("factor", factor, positive=True)
    if not isinstance(boundaries, Sequence) or isinstance(boundaries, str):
        raise TypeError(f"boundaries must be a sequence of integers; got {type(boundaries).__name__}")
    bounds = [check_int("boundaries", b, minimum=1) for b in boundaries]
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise ValueError(f"boundaries must be strictly increasing; got {list(boundaries)}")
    barr = np.asarray(bounds, dtype=np.float64)
    last = bounds[-1] if bounds else 0
    final = lr * f ** len(bounds)
    return Schedule(
        lambda t: lr * f ** np.searchsorted(barr, t, side="right").astype(np.float64),
        last,
        _constant_rate(final),
        f"step(lr={lr:g}, boundaries={bounds}, factor={f:g})",
    )


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """Schedule i runs on [b_{i−1}, b_i), counting its steps from b_{i−1} (optax's ``join_schedules``).

    The joined schedule's decay start is the last boundary plus the last schedule's start, and its rate
    function is the last schedule's.
    """
    schedules = list(schedules)
    if not schedules or not all(isinstance(s, Schedule) for s in schedules):
        raise TypeError("schedules must be a non-empty sequence of lipnb schedules")
    if any(s.needs_grad_norm for s in schedules):
        raise ValueError("join cannot hold an adaptive schedule; use adaptive(...) on its own")
    if not isinstance(boundaries, Sequence) or isinstance(boundaries, str):
        raise TypeError(f"boundaries must be a sequence of integers; got {type(boundaries).__name__}")
    bounds = [check_int("boundaries", b, minimum=1) for b in boundaries]
    if len(bounds) != len(schedules) - 1:
        raise ValueError(f"boundaries must have len(schedules) - 1 = {len(schedules) - 1} entries; got {len(bounds)}")
    if any(b2 <= b1 for b1, b2 in zip(bounds, bounds[1:])):
        raise ValueError(f"boundaries must be strictly increasing; got {list(boundaries)}")
    starts = [0] + bounds

    def fn(t: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(np.asarray(bounds, dtype=np.float64), t, side="right")
        out = np.empty_like(t)
        for i, s in enumerate(schedules):
            sel = idx == i
            if sel.any():
                out[sel] = s._fn(t[sel] - starts[i])
        return out

    last = schedules[-1]
    return Schedule(
        fn,
        starts[-1] + last.start,
        last.rate_function,
        "join(" + ", ".join(s.description for s in schedules) + f"; boundaries={bounds})",
    )


class AdaptiveSchedule(Schedule):
    """Adaptive rule: α_t = ᾱ for t < τ and α_t = min(ᾱ, G(t − τ)/‖∇R(θ_t)‖) for t ≥ τ.

    The step length α_t ‖∇R(θ_t)‖ (and so each group's) never exceeds G(t − τ) after τ.
    ``values(steps)`` gives the cap ᾱ; :func:`lipnb.train` computes the actual α_t from the gradient.
    """

    needs_grad_norm = True

    def __init__(self, lr: float, start: int, rate_function: RateFunction) -> None:
        super().__init__(
            lambda t: np.full_like(t, lr),
            start,
            rate_function,
            f"adaptive(lr={lr:g}, start={start}, {rate_function.description})",
        )
        self.max_lr = lr

    def caps(self, steps: int) -> np.ndarray:
        """The step-length caps G(t − τ) for t < steps (``inf`` before τ)."""
        t = np.arange(steps)
        out = np.full(steps, np.inf)
        after = t >= self.start
        if after.any():
            out[after] = self.rate_function(t[after] - self.start)
        return out

    def lr(self, step: int, grad_norm: float) -> float:
        """α_t given ‖∇R(θ_t)‖."""
        t = check_int("step", step, minimum=0)
        gn = check_real("grad_norm", grad_norm, nonnegative=True)
        if t < self.start or gn == 0:
            return self.max_lr
        return min(self.max_lr, float(self.rate_function(t - self.start)) / gn)

    def __call__(self, step: int) -> float:  # type: ignore[override]
        raise TypeError("an adaptive schedule needs the gradient norm: call .lr(step, grad_norm)")

    def total(self, steps: int | None = None) -> float:
        raise TypeError("the learning rates of an adaptive schedule depend on the run; use History.lr")

    @property
    def lr_sum(self) -> float:  # type: ignore[override]
        raise TypeError("the learning rates of an adaptive schedule depend on the run; use History.lr")

    @property
    def gamma(self) -> float:
        """Γ = Σ_k G(k), the budget of {prf:ref}`cor-adaptive`: a bound on the distance each group travels after τ."""
        return self.rate_function.gamma


def adaptive(lr: float, start: int, rate: RateFunction) -> AdaptiveSchedule:
    """The adaptive rule of {prf:ref}`cor-adaptive` with cap ᾱ = ``lr``, decay start τ = ``start`` and rate
    function G."""
    lr = _lr(lr)
    tau = check_int("start", start, minimum=0)
    if not isinstance(rate, RateFunction):
        raise TypeError(f"rate must be a RateFunction (exponential_rate or polynomial_rate); got {type(rate).__name__}")
    return AdaptiveSchedule(lr, tau, rate)


def warmup_cosine(lr: float, warmup: int, steps: int, init_lr: float = 0.0, end_lr: float = 0.0) -> Schedule:
    """Linear warm-up, then cosine decay (optax's ``warmup_cosine_decay_schedule``, with ``steps`` = its decay_steps).

    α_t = init_lr + (lr − init_lr)·t/W for t < W = ``warmup``; then, with D = T − W (T = ``steps``),
    α_{W+k} = end_lr + (lr − end_lr)(1 + cos(πk/D))/2 for 0 ≤ k ≤ D, and α_t = end_lr after T. The decay
    starts at τ = W and G(k) = α_{W+k}. With end_lr = 0 the rates are summable and
    Γ = Σ_k G(k) = lr (D + 1)/2, because Σ_{k=0}^{D} cos(πk/D) = 0; with end_lr > 0 they are not.
    """
    lr = _lr(lr)
    W = check_int("warmup", warmup, minimum=0)
    T = check_int("steps", steps, minimum=W + 1)
    lo = check_real("init_lr", init_lr, nonnegative=True)
    end = check_real("end_lr", end_lr, nonnegative=True)
    D = T - W

    def decay(k: np.ndarray) -> np.ndarray:
        return end + (lr - end) * 0.5 * (1.0 + np.cos(np.pi * np.minimum(k, D) / D))

    def fn(t: np.ndarray) -> np.ndarray:
        ramp = lo + (lr - lo) * t / W if W else np.zeros_like(t)
        return np.where(t < W, ramp, decay(np.maximum(t - W, 0.0)))

    rate = RateFunction(
        decay,
        lr * (D + 1) / 2 if end == 0 else math.inf,
        f"G(k) = {end:g} + {lr - end:g} (1 + cos(pi min(k, {D})/{D}))/2",
    )
    return Schedule(
        fn,
        W,
        rate,
        f"warmup_cosine(lr={lr:g}, warmup={W}, steps={T}, init_lr={lo:g}, end_lr={end:g})",
        head_total=lambda n: W * lo + (lr - lo) * (W - 1) / 2 if W else 0.0,
    )
