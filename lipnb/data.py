"""Data sets of the book's experiments, as float64 torch tensors with fixed seeds.

* :func:`noisy_sine` — E1: y = sin(2πx) + noise on [−1, 1];
* :func:`teacher` — E2: a random two-layer teacher network in d dimensions, inputs uniform in the unit ball;
* :func:`diabetes` — E3: scikit-learn's shipped diabetes set (d = 10), standardized with the training
  split's statistics, fixed split.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import check_int, check_real
from .nets import TwoLayerNet

__all__ = ["Dataset", "noisy_sine", "teacher", "diabetes"]


@dataclass(frozen=True)
class Dataset:
    """Training and test splits. ``x_*`` have shape (N, d), ``y_*`` shape (N,).

    ``target`` is the noiseless regression function where it is known (``None`` for real data).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    target: Callable[[torch.Tensor], torch.Tensor] | None = None
    noise: float = 0.0

    @property
    def d(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def x_radius(self) -> float:
        """R_x = max_n ‖x_n‖₂ over the training inputs."""
        return float(torch.linalg.vector_norm(self.x_train, dim=1).max())

    @property
    def y_bound(self) -> float:
        """max |y| over both splits."""
        return float(max(self.y_train.abs().max(), self.y_test.abs().max()))

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, d={self.d}, n_train={self.n_train}, n_test={self.n_test})"


def _sizes(n_train: int, n_test: int) -> tuple[int, int]:
    return check_int("n_train", n_train, minimum=1), check_int("n_test", n_test, minimum=1)


def noisy_sine(n_train: int = 64, n_test: int = 2000, noise: float = 0.1, seed: int = 0,
               frequency: float = 1.0) -> Dataset:
    """E1: x ~ U[−1, 1], y = sin(2π·frequency·x) + N(0, noise²), training and test drawn alike."""
    n_train, n_test = _sizes(n_train, n_test)
    noise = check_real("noise", noise, nonnegative=True)
    freq = check_real("frequency", frequency, positive=True)
    seed = check_int("seed", seed, minimum=0)
    g = torch.Generator().manual_seed(seed)

    def target(x: torch.Tensor) -> torch.Tensor:
        return torch.sin(2 * math.pi * freq * x[:, 0])

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1
        return x, target(x) + noise * torch.randn(n, generator=g, dtype=torch.float64)

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    return Dataset("noisy_sine", xtr, ytr, xte, yte, target, noise)


def _unit_ball(n: int, d: int, g: torch.Generator) -> torch.Tensor:
    direction = torch.randn(n, d, generator=g, dtype=torch.float64)
    direction /= torch.linalg.vector_norm(direction, dim=1, keepdim=True)
    radius = torch.rand(n, 1, generator=g, dtype=torch.float64) ** (1.0 / d)
    return direction * radius


def teacher(d: int, n_train: int = 256, n_test: int = 2000, width: int = 8, activation: str = "tanh",
            noise: float = 0.1, seed: int = 0) -> Dataset:
    """E2: inputs uniform in the unit ball of R^d, y = f*(x) + N(0, noise²) for a random teacher f*.

    The teacher is ``TwoLayerNet.init(d, width, activation, seed=seed + 10_000)``, rescaled so that its
    outputs on the training inputs have unit standard deviation.
    """
    d = check_int("d", d, minimum=1)
    n_train, n_test = _sizes(n_train, n_test)
    noise = check_real("noise", noise, nonnegative=True)
    seed = check_int("seed", seed, minimum=0)
    g = torch.Generator().manual_seed(seed)
    xtr, xte = _unit_ball(n_train, d, g), _unit_ball(n_test, d, g)
    net = TwoLayerNet.init(d, width, activation=activation, seed=seed + 10_000)
    scale = float(net(xtr).std()) if n_train > 1 else 1.0
    scale = scale if scale > 0 else 1.0

    def target(x: torch.Tensor) -> torch.Tensor:
        return net(x) / scale

    ytr = target(xtr) + noise * torch.randn(n_train, generator=g, dtype=torch.float64)
    yte = target(xte) + noise * torch.randn(n_test, generator=g, dtype=torch.float64)
    return Dataset(f"teacher(d={d})", xtr, ytr, xte, yte, target, noise)


def diabetes(test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """E3: scikit-learn's diabetes regression set (442 patients, d = 10), shipped with scikit-learn.

    Inputs and target are standardized with the training split's mean and standard deviation; the split
    is a fixed random permutation from ``seed``.
    """
    from sklearn.datasets import load_diabetes

    frac = check_real("test_fraction", test_fraction, low=0.0, high=1.0)
    if not 0.0 < frac < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {frac}")
    seed = check_int("seed", seed, minimum=0)
    X, y = load_diabetes(return_X_y=True, scaled=False)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = max(1, int(round(frac * len(y))))
    te, tr = perm[:n_test], perm[n_test:]
    mx, sx = X[tr].mean(0), X[tr].std(0)
    my, sy = y[tr].mean(), y[tr].std()

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)

    return Dataset("diabetes", t((X[tr] - mx) / sx), t((y[tr] - my) / sy), t((X[te] - mx) / sx),
                   t((y[te] - my) / sy), None, 0.0)
