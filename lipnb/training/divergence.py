"""Finding the first step of a diverging run without a device synchronization per step."""

from __future__ import annotations

import torch

from ..errors import TrainingDiverged


class DivergenceWatch:
    """Finds the first step with a non-finite loss without a sync per step: the losses go into a ring of
    ``CHECK`` rows, which is looked at every ``CHECK`` steps (and at the last step).

    ``check`` raises :class:`TrainingDiverged` naming the first non-finite step, the member that diverged
    first (the lowest index on a tie) and that member's last finite loss (``nan`` if there was none).
    """

    CHECK = 64

    def __init__(self, members: int, dtype: torch.dtype, device: torch.device) -> None:
        self.ring = torch.empty(self.CHECK, members, dtype=dtype, device=device)
        self.previous = torch.full((members,), float("nan"), dtype=dtype, device=device)  # before the ring

    def record(self, t: int, value: torch.Tensor, last: bool = False) -> None:
        """Store R(θ_t) of every member; look at the ring when it is full or ``last``."""
        self.ring[t % self.CHECK] = value
        if t % self.CHECK == self.CHECK - 1 or last:
            self._check(t)

    def _check(self, t: int) -> None:
        filled = self.ring[: t % self.CHECK + 1]
        finite = torch.isfinite(filled)
        if bool(finite.all()):
            self.previous.copy_(filled[-1])
            return
        row = int((~finite).any(dim=1).nonzero()[0, 0])
        member = int((~finite[row]).nonzero()[0, 0])
        last = float(self.previous[member] if row == 0 else filled[row - 1, member])
        raise TrainingDiverged(t - t % self.CHECK + row, member, last)
