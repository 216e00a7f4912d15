"""Data sets of the book's experiments, as float64 torch tensors with fixed seeds.

* :func:`noisy_sine` — E1: y = sin(2πx) + noise on [−1, 1];
* :func:`teacher` — E2: a random two-layer teacher network in d dimensions, inputs uniform in the unit ball;
* :func:`diabetes` — E3: scikit-learn's shipped diabetes set (d = 10), standardized with the training
  split's statistics, fixed split;
* :func:`friedman1` — Friedman's #1 function in d = 10, generated here (a target whose nonlinearity matters);
* :func:`digits_binary` — scikit-learn's shipped 8 × 8 digits (d = 64) as a ±1 task (even against odd);
* :func:`validation_split` — a three-way split: the held-out part divided into validation and test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ._validate import check_int, check_real
from .nets import TwoLayerNet

__all__ = [
    "Dataset",
    "noisy_sine",
    "teacher",
    "diabetes",
    "validation_split",
    "friedman1",
    "friedman1_function",
    "Friedman1Target",
    "FRIEDMAN1_LIPSCHITZ",
    "digits_binary",
]


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
        """max |y| over the *training* split: a bound on the labels taken from the data the network is trained
        on, never from the test labels (which a generalization bound must not look at)."""
        return float(self.y_train.abs().max())

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, d={self.d}, n_train={self.n_train}, n_test={self.n_test})"


def _sizes(n_train: int, n_test: int) -> tuple[int, int]:
    return check_int("n_train", n_train, minimum=1), check_int("n_test", n_test, minimum=1)


def noisy_sine(
    n_train: int = 64, n_test: int = 2000, noise: float = 0.1, seed: int = 0, frequency: float = 1.0
) -> Dataset:
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


def teacher(
    d: int,
    n_train: int = 256,
    n_test: int = 2000,
    width: int = 8,
    activation: str = "tanh",
    noise: float = 0.1,
    seed: int = 0,
) -> Dataset:
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

    return Dataset(
        "diabetes", t((X[tr] - mx) / sx), t((y[tr] - my) / sy), t((X[te] - mx) / sx), t((y[te] - my) / sy), None, 0.0
    )


def validation_split(data: Dataset, n_val: int) -> tuple[Dataset, Dataset]:
    """Split the held-out part of ``data`` into a validation set and a test set; a three-way split.

    Returns ``(val, test)``, two :class:`Dataset` that share ``data``'s training part (and so its
    standardization, computed on the training part alone): ``val`` holds the first ``n_val`` held-out
    points as its ``x_test``/``y_test``, ``test`` the remaining ones. Choices made on ``val`` (a step, a
    schedule's parameter) never see the test points. The held-out points of every loader here are in random
    order (a seeded permutation or i.i.d. draws), so the first ``n_val`` are a random subset.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a lipnb.data.Dataset; got {type(data).__name__}")
    n_val = check_int("n_val", n_val, minimum=1, maximum=data.n_test - 1)
    val = replace(data, x_test=data.x_test[:n_val], y_test=data.y_test[:n_val])
    test = replace(data, x_test=data.x_test[n_val:], y_test=data.y_test[n_val:])
    return val, test


#: Lip of the Friedman #1 function on [0, 1]^10: √(200π² + 525) ≈ 49.99 (derived in :func:`friedman1`).
FRIEDMAN1_LIPSCHITZ = math.sqrt(200.0 * math.pi**2 + 525.0)


def friedman1_function(x: torch.Tensor) -> torch.Tensor:
    """Friedman's #1 regression function, f(x) = 10 sin(π x₁x₂) + 20 (x₃ − 1/2)² + 10 x₄ + 5 x₅, for x of
    shape (N, d ≥ 5) (coordinates beyond the fifth are ignored); the function of scikit-learn's
    ``make_friedman1``."""
    return 10.0 * torch.sin(math.pi * x[:, 0] * x[:, 1]) + 20.0 * (x[:, 2] - 0.5) ** 2 + 10.0 * x[:, 3] + 5.0 * x[:, 4]


class Friedman1Target:
    """The Friedman #1 function seen in standardized coordinates: g(z) = (f(μ + s ⊙ z) − μ_y) / s_y.

    ``x_mean`` (μ), ``x_scale`` (s) have shape (10,); ``y_mean`` (μ_y), ``y_scale`` (s_y) are numbers.
    ``lipschitz`` is Lip(g) on the image of [0, 1]^10 (see :func:`friedman1`), in standardized units.
    """

    def __init__(self, x_mean: torch.Tensor, x_scale: torch.Tensor, y_mean: float, y_scale: float) -> None:
        self.x_mean, self.x_scale = x_mean, x_scale
        self.y_mean, self.y_scale = float(y_mean), float(y_scale)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return (friedman1_function(self.x_mean + self.x_scale * z) - self.y_mean) / self.y_scale

    @property
    def lipschitz(self) -> float:
        """√(100π²(s₁² + s₂²) + 400 s₃² + 100 s₄² + 25 s₅²) / s_y, the sup of ‖∇g‖ (attained; see :func:`friedman1`)."""
        s = self.x_scale.to(torch.float64)
        sq = 100.0 * math.pi**2 * float(s[0] ** 2 + s[1] ** 2) + 400.0 * float(s[2] ** 2) + 100.0 * float(s[3] ** 2)
        return math.sqrt(sq + 25.0 * float(s[4] ** 2)) / self.y_scale


def friedman1(n_train: int = 200, n_test: int = 1000, noise: float = 1.0, seed: int = 0) -> Dataset:
    """Friedman's #1 regression problem (d = 10), generated here: x ~ U[0, 1]^10,
    y = 10 sin(π x₁x₂) + 20 (x₃ − 1/2)² + 10 x₄ + 5 x₅ + N(0, noise²); x₆, …, x₁₀ are irrelevant inputs.

    Inputs and target are standardized with the training part's mean and (population) standard deviation, as
    in :func:`diabetes`; ``target`` is the noiseless function in those coordinates (a :class:`Friedman1Target`,
    whose ``lipschitz`` is its Lipschitz constant) and ``noise`` the noise level in standardized units
    (noise / s_y). Training and test points are independent draws (``seed``).

    **Lipschitz constant.** f is C¹ with
    ∇f(x) = (10π x₂ cos(π x₁x₂), 10π x₁ cos(π x₁x₂), 40 (x₃ − 1/2), 10, 5, 0, …, 0), so on [0, 1]^10
    ‖∇f(x)‖² = 100π² (x₁² + x₂²) cos²(π x₁x₂) + 1600 (x₃ − 1/2)² + 125
    ≤ 100π² · 2 · 1 + 1600 · 1/4 + 125 = 200π² + 525,
    using x₁², x₂² ≤ 1, cos² ≤ 1 and |x₃ − 1/2| ≤ 1/2. The cube is convex, so
    Lip(f) = sup ‖∇f‖ ≤ √(200π² + 525) ≈ 49.99 (``FRIEDMAN1_LIPSCHITZ``), and the bound is attained at
    x₁ = x₂ = 1, x₃ ∈ {0, 1} (cos²(π) = 1): it is the Lipschitz constant of f on the cube. In standardized
    coordinates (x = μ + s ⊙ z, y = μ_y + s_y g) the same argument gives
    Lip(g) = √(100π² (s₁² + s₂²) + 400 s₃² + 100 s₄² + 25 s₅²) / s_y on the image of the cube.
    Outside the cube (extrapolation) the gradient is unbounded.
    """
    n_train, n_test = _sizes(n_train, n_test)
    noise = check_real("noise", noise, nonnegative=True)
    seed = check_int("seed", seed, minimum=0)
    g = torch.Generator().manual_seed(seed)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.rand(n, 10, generator=g, dtype=torch.float64)
        return x, friedman1_function(x) + noise * torch.randn(n, generator=g, dtype=torch.float64)

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    mx, sx = xtr.mean(0), xtr.std(0, correction=0)
    my, sy = float(ytr.mean()), float(ytr.std(correction=0))
    if n_train < 2 or not bool((sx > 0).all()) or sy <= 0:
        raise ValueError(f"n_train must be at least 2 so that the training part can be standardized; got {n_train}")
    target = Friedman1Target(mx, sx, my, sy)
    return Dataset("friedman1", (xtr - mx) / sx, (ytr - my) / sy, (xte - mx) / sx, (yte - my) / sy, target, noise / sy)


def digits_binary(
    test_fraction: float = 0.5,
    seed: int = 0,
    positive: Sequence[int] = (0, 2, 4, 6, 8),
    negative: Sequence[int] = (1, 3, 5, 7, 9),
) -> Dataset:
    """A binary task on scikit-learn's shipped handwritten digits (8 × 8 images, d = 64), as regression.

    Images whose digit is in ``positive`` get the target +1, those in ``negative`` −1 (default: even against
    odd, all 1797 images; ``positive=(3,), negative=(8,)`` gives 3 against 8); a network f classifies by the
    sign of f(x). **Pixel scaling:** x = (grey level) / 16, so every pixel lies in [0, 1] and distances are
    Euclidean distances between images in those units; the scaling is fixed, not estimated, and the inputs
    are not standardized per pixel (some pixels are 0 in every image, and a per-pixel scale would change the
    geometry in which robustness radii are measured). The split is a fixed random permutation from ``seed``
    (``round(test_fraction · n)`` held-out images); ``target`` is ``None`` and ``noise`` 0.
    """
    from sklearn.datasets import load_digits

    frac = check_real("test_fraction", test_fraction, low=0.0, high=1.0)
    if not 0.0 < frac < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1; got {frac}")
    seed = check_int("seed", seed, minimum=0)
    pos = [check_int("positive", c, minimum=0, maximum=9) for c in positive]
    neg = [check_int("negative", c, minimum=0, maximum=9) for c in negative]
    if not pos or not neg or set(pos) & set(neg):
        raise ValueError(f"positive and negative must be non-empty, disjoint sets of digits; got {pos} and {neg}")
    X, digit = load_digits(return_X_y=True)
    keep = np.isin(digit, pos + neg)
    X, y = X[keep] / 16.0, np.where(np.isin(digit[keep], pos), 1.0, -1.0)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = max(1, int(round(frac * len(y))))
    te, tr = perm[:n_test], perm[n_test:]

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)

    name = f"digits({''.join(map(str, pos))} vs {''.join(map(str, neg))})"
    return Dataset(name, t(X[tr]), t(y[tr]), t(X[te]), t(y[te]), None, 0.0)
