"""From the schedule argument of :func:`lipnb.train` to tables of learning rates and step-length caps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..nets import GROUPS
from ..schedules import AdaptiveSchedule, Schedule


def _resolve_one(spec: Any, where: str, groups: tuple[str, ...] = GROUPS) -> dict[str, Schedule]:
    if isinstance(spec, Schedule):
        return {g: spec for g in groups}
    if isinstance(spec, Mapping):
        keys = set(spec)
        if keys != set(groups):
            raise ValueError(f"{where} as a mapping must have exactly the keys {groups}; got {sorted(keys)}")
        for g, s in spec.items():
            if not isinstance(s, Schedule):
                raise TypeError(f"{where}[{g!r}] must be a lipnb schedule; got {type(s).__name__}")
        return {g: spec[g] for g in groups}
    raise TypeError(
        f"{where} must be a lipnb schedule, a mapping group -> schedule (groups {groups}), or a sequence "
        f"of those with one entry per ensemble member; got {type(spec).__name__}"
    )


def _resolve(schedule: Any, E: int, groups: tuple[str, ...] = GROUPS) -> list[dict[str, Schedule]]:
    if isinstance(schedule, (Schedule, Mapping)):
        return [_resolve_one(schedule, "schedule", groups)] * E
    if isinstance(schedule, Sequence) and not isinstance(schedule, str):
        if len(schedule) != E:
            raise ValueError(
                f"schedule as a sequence must have one entry per ensemble member ({E}); got {len(schedule)}"
            )
        return [_resolve_one(s, f"schedule[{i}]", groups) for i, s in enumerate(schedule)]
    return [_resolve_one(schedule, "schedule", groups)]


def _describe(per_member: list[dict[str, Schedule]]) -> list[str]:
    out = []
    for sch in per_member:
        descs = {g: s.description for g, s in sch.items()}
        if len(set(descs.values())) == 1:
            out.append(next(iter(descs.values())))
        else:
            out.append("; ".join(f"{g}: {d}" for g, d in descs.items()))
    return out


def _tables(
    per_member: list[dict[str, Schedule]],
    n: int,
    dtype: torch.dtype,
    device: torch.device,
    groups: tuple[str, ...] = GROUPS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Learning-rate table (n, E, G) and, if any schedule is adaptive, step-length caps (n, E, G)."""
    E = len(per_member)
    base = np.empty((n, E, len(groups)))
    caps = np.full((n, E, len(groups)), np.inf)
    cache: dict[int, np.ndarray] = {}
    adaptive = False
    for e, sch in enumerate(per_member):
        for j, g in enumerate(groups):
            s = sch[g]
            if id(s) not in cache:
                cache[id(s)] = s.values(n)
            base[:, e, j] = cache[id(s)]
            if isinstance(s, AdaptiveSchedule):
                adaptive = True
                caps[:, e, j] = s.caps(n)
    # A decaying rate may underflow to 0 far after its start; negative or non-finite rates are errors.
    if not np.isfinite(base).all() or (base < 0).any():
        raise ValueError("the schedule produced a negative or non-finite learning rate")
    cap_t = torch.as_tensor(caps, dtype=dtype, device=device) if adaptive else None
    return torch.as_tensor(base, dtype=dtype, device=device), cap_t
