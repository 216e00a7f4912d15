"""Exceptions raised by lipnb."""

from __future__ import annotations

__all__ = ["LipnbError", "TrainingDiverged", "BoundViolated"]


class LipnbError(Exception):
    """Base class of the errors that lipnb raises on its own (not for bad arguments)."""


class TrainingDiverged(LipnbError, FloatingPointError):
    """Gradient descent produced a non-finite loss or parameter.

    Attributes
    ----------
    step:
        The first step ``t`` at which the loss ``R(θ_t)`` (or a parameter) was not finite.
    member:
        The ensemble member that diverged first (0 for a single network).
    loss:
        The last finite loss of that member before ``step`` (``nan`` if there was none).
    """

    def __init__(self, step: int, member: int, loss: float, detail: str = "") -> None:
        self.step = int(step)
        self.member = int(member)
        self.loss = float(loss)
        msg = (
            f"training diverged at step {self.step} (ensemble member {self.member}): the loss or the "
            f"parameters became non-finite; last finite loss {self.loss:.6g}. "
            "Lower the learning rate or let it decay earlier."
        )
        if detail:
            msg += " " + detail
        super().__init__(msg)


class BoundViolated(LipnbError, AssertionError):
    """A theorem's inequality failed on a run.

    Attributes
    ----------
    name:
        Which result (e.g. ``"Path-length lemma"``).
    step:
        The step (or index) where it failed, ``None`` when the bound is not indexed by steps.
    lhs, rhs:
        The two sides of the inequality ``lhs <= rhs`` that failed.
    """

    def __init__(self, name: str, step: int | None, lhs: float, rhs: float, detail: str = "") -> None:
        self.name = name
        self.step = step
        self.lhs = float(lhs)
        self.rhs = float(rhs)
        where = f" at step {step}" if step is not None else ""
        msg = f"{name} violated{where}: {self.lhs:.10g} > {self.rhs:.10g}"
        if detail:
            msg += f" ({detail})"
        super().__init__(msg)
