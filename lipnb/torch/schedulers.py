"""lipnb's learning-rate schedules as ``torch.optim.lr_scheduler.LRScheduler`` subclasses.

The eventual-decay schedules of the chapter 'Learning-rate constraints and the Lipschitz theorem'
(the eventual-decay constraint with its rate function G) for any PyTorch optimizer:

* :class:`EventualExponential` — α_t = α for t < τ and α e^{−r(t−τ)} after;
* :class:`EventualPolynomial` — α_t = α for t < τ and α (t − τ + 1)^{−q} after;
* :class:`FromSchedule` — any :class:`lipnb.schedules.Schedule` s: α_t = α · s(t)/s(0).

Here α is each parameter group's initial learning rate (``initial_lr``, the optimizer's ``lr`` when the
scheduler is built) and t counts ``scheduler.step()`` calls, as for every PyTorch scheduler.

**How they behave, and why.** Like PyTorch's ``ExponentialLR`` they are *chainable*: a step multiplies the
group's current learning rate by the schedule's factor s(t)/s(t−1), so they compose with other chainable
schedulers in ``ChainedScheduler`` (the factors multiply) and in ``SequentialLR`` (whose milestone
restarts a scheduler from ``initial_lr`` through the closed form ``_get_closed_form_lr``, α · s(t)/s(0),
as it does for ``ExponentialLR``). Unlike ``ExponentialLR`` the ratio is never applied as a rounded
factor step after step: each group keeps the product of the other schedulers' changes since the start
(exactly 1 when none intervene) and the new rate is that product times α · s(t)/s(0), evaluated in closed
form. Alone, a scheduler therefore sets exactly α · s(t)/s(0), for ``EventualExponential`` the same float
as ``lipnb.schedules.eventual_exponential(α, τ, r).values`` at every step, with no drift over long runs.

``state_dict()`` holds numbers only (the schedule itself is rebuilt from them, or, for
:class:`FromSchedule`, passed again to the constructor and checked by its description), so it can be
saved with ``torch.save`` and restored mid-run.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from .._validate import check_int, check_real
from ..schedules import AdaptiveSchedule, Schedule, eventual_exponential, eventual_polynomial

__all__ = ["LipnbScheduler", "EventualExponential", "EventualPolynomial", "FromSchedule"]


class LipnbScheduler(LRScheduler):
    """Base class: α^i_t = X^i_t · α^i · f(t), with f(t) = s(t)/s(0) in closed form (see the module docstring).

    α^i is group i's ``initial_lr`` (``base_lrs[i]``) and X^i_t the product of the changes other schedulers
    made to the group's rate since this one last set it (1 when it runs alone). Subclasses implement
    :meth:`factor`.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
        self._others: list[float] | None = None  # X^i: the other schedulers' product per group
        self._written: list[float] | None = None  # the rate this scheduler last set, per group
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        """f(t) = s(t)/s(0), the rate at step t relative to the initial rate."""
        raise NotImplementedError

    @staticmethod
    def _as_set(group: dict[str, Any], value: float) -> float:
        """``value`` as PyTorch stores it in the group (a tensor ``lr`` rounds it to its dtype)."""
        lr = group["lr"]
        return float(torch.tensor(value, dtype=lr.dtype)) if isinstance(lr, torch.Tensor) else value

    def _set(self, others: list[float], step: int) -> list[float]:
        f = self.factor(step)
        values = [x * base * f for x, base in zip(others, self.base_lrs)]
        self._others = others
        self._written = [self._as_set(g, v) for g, v in zip(self.optimizer.param_groups, values)]
        return values

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """The rates of step ``last_epoch``: each group's current rate times f(t)/f(t−1), drift-free."""
        t = max(self.last_epoch, 0)
        current = [float(g["lr"]) for g in self.optimizer.param_groups]
        if self._is_initial or self._others is None or self._written is None:
            # Built (or restarted by SequentialLR): the current rate is X · α · f(t); keep it and solve for X.
            f = self.factor(t)
            others = [c / (base * f) if base * f != 0 else 1.0 for c, base in zip(current, self.base_lrs)]
            self._others = others
            self._written = current
            return current
        others = [x if c == w or w == 0 else x * (c / w) for x, c, w in zip(self._others, current, self._written)]
        return self._set(others, t)

    def _get_closed_form_lr(self) -> list[float]:
        """α^i · f(t) for ``last_epoch`` = t, from ``initial_lr`` (used by ``SequentialLR`` at a milestone)."""
        return self._set([1.0] * len(self.base_lrs), max(self.last_epoch, 0))

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: numbers only (no schedule object), so ``torch.save`` can store it."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedule")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` of a scheduler of the same class and parameters.

        Raises ``ValueError`` when the state was saved by a scheduler with other parameters
        (``start``, ``rate``, ``power``, or another schedule).
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict from state_dict(); got {type(state_dict).__name__}")
        for key in self._identity:
            if key in state_dict and state_dict[key] != getattr(self, key):
                raise ValueError(
                    f"state_dict was saved with {key}={state_dict[key]!r}, this scheduler has "
                    f"{key}={getattr(self, key)!r}"
                )
        self.__dict__.update({k: v for k, v in state_dict.items() if k not in ("optimizer", "_schedule")})

    _identity: tuple[str, ...] = ()

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._identity)
        return f"{type(self).__name__}({params}, last_epoch={self.last_epoch})"


class EventualExponential(LipnbScheduler):
    """α_t = α for t < τ and α e^{−r(t−τ)} for t ≥ τ, α being each group's initial learning rate.

    The rate function is G(k) = α e^{−rk}, of budget Γ = α / (1 − e^{−r}) (chapter 'Learning-rate
    constraints and the Lipschitz theorem', the eventual-decay constraint). Equals
    ``lipnb.schedules.eventual_exponential(α, start, rate)`` step for step.

    Parameters
    ----------
    optimizer
        The optimizer whose parameter groups' ``lr`` is scheduled.
    start
        τ ≥ 0, the number of ``scheduler.step()`` calls before the decay starts.
    rate
        r ≥ 0, the decay rate per step (r = 0: a constant rate).
    last_epoch
        As for every PyTorch scheduler (−1: start from scratch).

    Raises
    ------
    TypeError, ValueError
        ``start`` is not an integer ≥ 0, ``rate`` not a finite real ≥ 0 (the message names the argument).
    """

    _identity = ("start", "rate")

    def __init__(self, optimizer: Optimizer, start: int, rate: float, last_epoch: int = -1) -> None:
        self.start = check_int("start", start, minimum=0)
        self.rate = check_real("rate", rate, nonnegative=True)
        self._schedule = eventual_exponential(1.0, self.start, self.rate)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        # lipnb's own formula with α = 1, so that α · f(t) is the float lipnb's schedule computes.
        return self._schedule(step)


class EventualPolynomial(LipnbScheduler):
    """α_t = α for t < τ and α (t − τ + 1)^{−q} for t ≥ τ, α being each group's initial learning rate.

    The rate function is G(k) = α (k + 1)^{−q}, summable for q > 1 with Γ = α ζ(q) (chapter
    'Learning-rate constraints and the Lipschitz theorem'). Equals
    ``lipnb.schedules.eventual_polynomial(α, start, power)`` step for step.

    Parameters
    ----------
    optimizer
        The optimizer whose parameter groups' ``lr`` is scheduled.
    start
        τ ≥ 0, the number of ``scheduler.step()`` calls before the decay starts.
    power
        q ≥ 0, the power of the decay.
    last_epoch
        As for every PyTorch scheduler.

    Raises
    ------
    TypeError, ValueError
        ``start`` is not an integer ≥ 0, ``power`` not a finite real ≥ 0.
    """

    _identity = ("start", "power")

    def __init__(self, optimizer: Optimizer, start: int, power: float, last_epoch: int = -1) -> None:
        self.start = check_int("start", start, minimum=0)
        self.power = check_real("power", power, nonnegative=True)
        self._schedule = eventual_polynomial(1.0, self.start, self.power)
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        return self._schedule(step)


class FromSchedule(LipnbScheduler):
    """Any lipnb schedule s as a PyTorch scheduler: α_t = α · s(t)/s(0), α each group's initial rate.

    With the optimizer built with ``lr = s(0)`` the rates are s(t) itself (to rounding: α · (s(t)/s(0))).
    Scaling rather than setting keeps PyTorch's convention (``LambdaLR``, ``ExponentialLR``): parameter
    groups with different initial rates keep their ratios, and the scheduler chains with others.

    Parameters
    ----------
    optimizer
        The optimizer whose parameter groups' ``lr`` is scheduled.
    schedule
        A :class:`lipnb.schedules.Schedule` with s(0) > 0 (``constant``, ``exponential``,
        ``eventual_exponential``, ``eventual_polynomial``, ``step``, ``join``). The adaptive rule needs
        the step itself, not a rate: use :class:`~lipnb.torch.LipschitzBudget` for it.
    last_epoch
        As for every PyTorch scheduler.

    Raises
    ------
    TypeError
        ``schedule`` is not a lipnb schedule, or is adaptive.
    ValueError
        s(0) is not > 0.
    """

    _identity = ("schedule",)

    def __init__(self, optimizer: Optimizer, schedule: Schedule, last_epoch: int = -1) -> None:
        if isinstance(schedule, AdaptiveSchedule):
            raise TypeError(
                "schedule is adaptive (lipnb.schedules.adaptive): its rate depends on the step taken, "
                "which a learning-rate scheduler does not see; use lipnb.torch.LipschitzBudget(model, "
                "optimizer, target, start, rate) for the adaptive rule"
            )
        if not isinstance(schedule, Schedule):
            raise TypeError(
                f"schedule must be a lipnb.schedules.Schedule (e.g. eventual_exponential(lr, start, "
                f"rate)); got {type(schedule).__name__}"
            )
        s0 = schedule(0)
        if not (s0 > 0 and math.isfinite(s0)):
            raise ValueError(f"schedule must have a positive finite rate at step 0; got s(0) = {s0}")
        self._schedule = schedule
        self._s0 = s0
        self.schedule = schedule.description
        super().__init__(optimizer, last_epoch)

    def factor(self, step: int) -> float:
        return self._schedule(step) / self._s0
