"""Lipschitz control on equal terms: learning-rate schedules and the classical baselines, measured alike.

Chapter *Experiments* asks whether controlling the learning rate (LR) is a good way to keep the
Lipschitz constant of a trained two-layer network small, and compares it with the usual alternatives:

* :func:`schedule_runs` — LR control: every (schedule, seed) pair trained by full-batch GD with
  :func:`lipnb.train` on ensembles of :class:`~lipnb.TwoLayerNet`;
* :func:`baseline_runs` — PyTorch's ``nn.Sequential(Linear, σ, Linear)`` trained full batch by
  ``torch.optim.SGD`` at a constant rate, with one of ``REGULARIZERS``: none (whose checkpoints give
  validation early stopping), weight decay (SGD's ``weight_decay``), spectral normalization (the computation
  of ``torch.nn.utils.parametrizations.spectral_norm`` on both layers, the first scaled by c), or the
  projection of (A, B) back onto the ball ‖A‖_op‖B‖ ≤ c after every step.

Both start run (draw i, seed s) from the same network, ``TwoLayerNet.init(d, m, σ, seed=s)``, so every
comparison can be paired, and both return the same tidy DataFrame (``COLUMNS``): one row per run and
checkpoint with the training, validation and test MSE, the certified Lipschitz constant
(:func:`lipnb.certify`, exact for d = 1 ReLU), the product bound L_σ‖B‖‖A‖_op ({prf:ref}`prop-product-bound`),
the LR α_t and Σ_{s<t} α_s, the sharpness λ_t (top eigenvalue of the Gauss–Newton matrix
(2/N)JᵀJ, :func:`lipnb.sweep.gauss_newton_top`) and ``stability`` = α_t λ_t / 2, the step size as a fraction
of the stability limit 2/λ_t (1: at the limit).

:func:`at_level` reads any column along each run at a fixed training loss (or Lipschitz constant), by
log-log interpolation between checkpoints; :func:`paired_comparison` compares two methods on the same
(draw, seed) pairs (t-interval of the ratio, Wilcoxon's signed-rank test) and :func:`holm` adjusts a
family of p-values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ._validate import check_choice, check_int, check_real
from .activations import activation as get_activation
from .data import Dataset
from .errors import TrainingDiverged
from .nets import INITS, TwoLayerNet
from .schedules import AdaptiveSchedule, Schedule
from .sweep import gauss_newton_top
from .training import train

__all__ = [
    "REGULARIZERS",
    "COLUMNS",
    "OUTCOMES",
    "schedule_runs",
    "baseline_runs",
    "at_level",
    "paired_comparison",
    "outcome",
    "holm",
]

#: The regularizers of :func:`baseline_runs`.
REGULARIZERS = ("none", "weight_decay", "spectral_norm", "projection")
#: The columns of :func:`schedule_runs` and :func:`baseline_runs`, in order.
COLUMNS = (
    "method",
    "config",
    "width",
    "draw",
    "seed",
    "step",
    "lr",
    "lr_sum",
    "train_mse",
    "val_mse",
    "test_mse",
    "lip",
    "lip_lower",
    "lip_exact",
    "product",
    "sharpness",
    "stability",
    "diverged",
)
#: What :func:`outcome` can say about a ratio b/a.
OUTCOMES = ("equivalent", "lower", "higher", "inconclusive")


# ---------------------------------------------------------------------------------------------- validation
def _check_draws(draws: Any, n_val: Any) -> tuple[list[Dataset], int]:
    if isinstance(draws, Dataset):
        draws = [draws]
    if isinstance(draws, (str, bytes)) or not isinstance(draws, Sequence):
        raise TypeError(f"draws must be a lipnb.data.Dataset or a sequence of them; got {type(draws).__name__}")
    draws = list(draws)
    if not draws:
        raise ValueError("draws must hold at least one Dataset; got an empty sequence")
    for i, data in enumerate(draws):
        if not isinstance(data, Dataset):
            raise TypeError(f"draws[{i}] must be a lipnb.data.Dataset; got {type(data).__name__}")
    if len({(d.d, d.n_train) for d in draws}) != 1:
        raise ValueError("draws must share the input dimension d and the number of training points")
    n_val = check_int("n_val", n_val, minimum=0, maximum=min(d.n_test for d in draws) - 1)
    return draws, n_val


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray, range)):
        raise TypeError(f"seeds must be a sequence of non-negative integers; got {type(seeds).__name__}")
    out = [check_int("seeds", s, minimum=0, maximum=2**62) for s in seeds]
    if not out:
        raise ValueError("seeds must hold at least one seed; got an empty sequence")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must not repeat a seed; got {out}")
    return out


def _check_checkpoints(checkpoints: Any, steps: int) -> list[int]:
    """Sorted distinct steps, always with 0 (the initialization) and T = ``steps``."""
    if checkpoints is None:
        return [0, steps]
    if isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, (Sequence, np.ndarray, range)):
        raise TypeError(f"checkpoints must be None or a sequence of steps; got {type(checkpoints).__name__}")
    return sorted({0, steps} | {check_int("checkpoints", c, minimum=0, maximum=steps) for c in checkpoints})


def _split(data: Dataset, n_val: int) -> tuple[torch.Tensor, ...]:
    """(x_val, y_val, x_test, y_test): the first ``n_val`` held-out points validate, the rest test."""
    return data.x_test[:n_val], data.y_test[:n_val], data.x_test[n_val:], data.y_test[n_val:]


def _mse(net: TwoLayerNet, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    if x.shape[0] == 0:
        return np.full(net.members, math.nan)
    with torch.no_grad():
        return ((net(x) - y) ** 2).mean(dim=-1).cpu().numpy()


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["lip_exact"] = df["lip_exact"].astype(bool)
    df["diverged"] = df["diverged"].astype(bool)
    return df


# ---------------------------------------------------------------------------------------------- LR control
def _from_table(table: np.ndarray, offset: int, like: Schedule) -> Schedule:
    """The schedule whose step t is step t + ``offset`` of ``table`` (α_0, …, α_T; α_T repeats after T)."""
    last = len(table) - 1

    def fn(t: np.ndarray) -> np.ndarray:
        return table[np.minimum(t.astype(np.int64) + offset, last)]

    return Schedule(fn, max(like.start - offset, 0), like.rate_function, f"{like.description} from step {offset}")


def schedule_runs(
    draws: Dataset | Sequence[Dataset],
    width: int,
    schedules: Mapping[str, Schedule],
    seeds: Sequence[int],
    steps: int,
    checkpoints: Sequence[int] | None = None,
    n_val: int = 0,
    activation: str = "relu",
    init: str = "lecun",
) -> pd.DataFrame:
    """Full-batch GD with each schedule from each seed on each data draw, measured at the checkpoints.

    For each draw one ensemble holds every (schedule, seed) pair and is trained with :func:`lipnb.train`,
    stopped at each checkpoint to be measured (the schedules continue where they stopped).

    Parameters
    ----------
    draws: a :class:`~lipnb.data.Dataset` or a sequence of them (independent data draws, same d and N);
        GD runs on the training part; the first ``n_val`` held-out points are the validation set, the others
        the test set.
    width: the hidden width m.
    schedules: ``{name: schedule}``, plain (not adaptive) lipnb schedules: α_t of every run of that name.
    seeds: initialization seeds; run (draw, seed) starts from ``TwoLayerNet.init(d, m, activation, seed=seed)``
        whatever its schedule and draw.
    steps: T, the number of GD steps.
    checkpoints: steps 0 < t < T to measure at, besides 0 and T.
    n_val: the size of the validation set (0: no ``val_mse``).
    activation, init: as in :meth:`TwoLayerNet.init`.

    Returns a DataFrame with the columns ``COLUMNS`` (``method`` = "schedule", ``config`` = the schedule's
    name), rows ordered by draw, step, schedule, seed. ``lr`` is α_t, the rate of the step taken from θ_t
    (α_{T−1} at t = T), ``lr_sum`` = Σ_{s<t} α_s, ``stability`` = α_t λ_t / 2.

    Raises ``TrainingDiverged`` naming the draw, schedule and seed of a run that diverged.
    """
    draws, n_val = _check_draws(draws, n_val)
    m = check_int("width", width, minimum=1)
    if not isinstance(schedules, Mapping) or not schedules:
        raise TypeError(f"schedules must be a non-empty dict name -> lipnb schedule; got {schedules!r:.60}")
    for name, s in schedules.items():
        if not isinstance(s, Schedule) or isinstance(s, AdaptiveSchedule):
            raise TypeError(f"schedules[{name!r}] must be a plain lipnb schedule (not adaptive); got {s!r:.60}")
    seeds = _check_seeds(seeds)
    steps = check_int("steps", steps, minimum=1)
    cps = _check_checkpoints(checkpoints, steps)
    act = get_activation(activation)
    init = check_choice("init", init, INITS)
    names = list(schedules)
    S = len(seeds)
    tables = {n: schedules[n].values(steps + 1) for n in names}
    sums = {n: np.concatenate([[0.0], np.cumsum(tables[n][:-1])]) for n in names}
    member_names = [names[k // S] for k in range(len(names) * S)]
    rows: list[dict[str, Any]] = []
    for i, data in enumerate(draws):
        net = TwoLayerNet.init(data.d, m, act, init=init, seed=seeds * len(names))
        rows.extend(_schedule_rows(net, data, n_val, i, cps[0], steps, member_names, seeds, tables, sums))
        for t0, t1 in zip(cps[:-1], cps[1:]):
            per_member = [_from_table(tables[n], t0, schedules[n]) for n in member_names]
            try:
                net, _ = train(net, data.x_train, data.y_train, per_member, t1 - t0, log_every=t1 - t0)
            except TrainingDiverged as exc:
                k = exc.member
                detail = f"(schedule_runs: draw {i}, schedule {member_names[k]!r}, seed {seeds[k % S]})"
                raise TrainingDiverged(t0 + exc.step, k, exc.loss, detail) from exc
            rows.extend(_schedule_rows(net, data, n_val, i, t1, steps, member_names, seeds, tables, sums))
    return _frame(rows)


def _schedule_rows(
    net: TwoLayerNet,
    data: Dataset,
    n_val: int,
    draw: int,
    t: int,
    steps: int,
    member_names: list[str],
    seeds: list[int],
    tables: dict[str, np.ndarray],
    sums: dict[str, np.ndarray],
) -> list[dict[str, Any]]:
    from .certificates import certify

    x_val, y_val, x_test, y_test = _split(data, n_val)
    train_mse, val_mse, test_mse = (
        _mse(net, data.x_train, data.y_train),
        _mse(net, x_val, y_val),
        _mse(net, x_test, y_test),
    )
    sharp = np.atleast_1d(gauss_newton_top(net, data.x_train))
    with torch.no_grad():
        product = net.product_bound().cpu().numpy()
    certs = certify(net)
    rows = []
    for k, name in enumerate(member_names):
        lr = float(tables[name][min(t, steps - 1)])
        rows.append(
            {
                "method": "schedule",
                "config": name,
                "width": net.width,
                "draw": draw,
                "seed": seeds[k % len(seeds)],
                "step": t,
                "lr": lr,
                "lr_sum": float(sums[name][t]),
                "train_mse": float(train_mse[k]),
                "val_mse": float(val_mse[k]),
                "test_mse": float(test_mse[k]),
                "lip": float(certs[k].upper),
                "lip_lower": float(certs[k].lower),
                "lip_exact": bool(certs[k].exact),
                "product": float(product[k]),
                "sharpness": float(sharp[k]),
                "stability": lr * float(sharp[k]) / 2.0,
                "diverged": False,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------- baselines
def _power_sigma(W: torch.Tensor, u: torch.Tensor, v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """σ(W) as ``spectral_norm`` computes it in training mode, for a stack W (E, h, w) with buffers u (E, h),
    v (E, w): one power iteration updates u, v in place (no gradient), then σ = uᵀ W v (gradient through W)."""
    with torch.no_grad():
        u.copy_(torch.nn.functional.normalize(torch.bmm(W, v[..., None])[..., 0], dim=1, eps=eps))
        v.copy_(torch.nn.functional.normalize(torch.bmm(W.transpose(1, 2), u[..., None])[..., 0], dim=1, eps=eps))
    return torch.einsum("eh,ehw,ew->e", u, W, v)


class _Stack:
    """E copies of ``nn.Sequential(Linear(d, m), σ, Linear(m, 1))``, their parameters stacked on a leading axis."""

    def __init__(self, modules: list[torch.nn.Sequential], regularizer: str, strength: float) -> None:
        from torch.nn.utils.parametrizations import spectral_norm

        self.regularizer, self.c = regularizer, strength
        self.act = modules[0][1]
        if regularizer == "spectral_norm":
            # spectral_norm draws its starting u, v from the global generator: seed it by the run's index.
            for k, mod in enumerate(modules):
                with torch.random.fork_rng():
                    torch.manual_seed(k)
                    spectral_norm(mod[0])
                    spectral_norm(mod[2])

        def weight(layer: torch.nn.Linear) -> torch.Tensor:
            p = getattr(layer, "parametrizations", None)
            return p.weight.original if p is not None else layer.weight

        def stack(get: Any) -> torch.Tensor:
            return torch.stack([get(mod).detach() for mod in modules]).clone()

        self.A = stack(lambda mod: weight(mod[0])).requires_grad_()
        self.a = stack(lambda mod: mod[0].bias).requires_grad_()
        self.B = stack(lambda mod: weight(mod[2])).requires_grad_()
        self.b = stack(lambda mod: mod[2].bias).requires_grad_()
        if regularizer == "spectral_norm":
            self.u1 = stack(lambda mod: mod[0].parametrizations.weight[0]._u)
            self.v1 = stack(lambda mod: mod[0].parametrizations.weight[0]._v)
            self.u2 = stack(lambda mod: mod[2].parametrizations.weight[0]._u)
            self.v2 = stack(lambda mod: mod[2].parametrizations.weight[0]._v)
        self.params = [self.A, self.a, self.B, self.b]

    def weights(self, power_iteration: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """The weights the network computes with: (A, B), or (c·A/σ₁, B/σ₂) under spectral normalization."""
        if self.regularizer != "spectral_norm":
            return self.A, self.B
        if power_iteration:
            s1, s2 = _power_sigma(self.A, self.u1, self.v1), _power_sigma(self.B, self.u2, self.v2)
        else:
            s1 = torch.einsum("eh,ehw,ew->e", self.u1, self.A, self.v1)
            s2 = torch.einsum("eh,ehw,ew->e", self.u2, self.B, self.v2)
        return self.c * self.A / s1[:, None, None], self.B / s2[:, None, None]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        A, B = self.weights(power_iteration=True)
        h = self.act(torch.baddbmm(self.a[:, None, :], X, A.transpose(1, 2)))
        return torch.baddbmm(self.b[:, None, :], h, B.transpose(1, 2))[..., 0]

    def project(self) -> None:
        """Rescale A and B by the same factor √(c/p) where p = ‖A‖_op‖B‖ > c, so that p ≤ c after."""
        with torch.no_grad():
            p = torch.linalg.matrix_norm(self.A, ord=2) * torch.linalg.matrix_norm(self.B, ord=2)
            s = torch.clamp(self.c / p, max=1.0).sqrt()
            self.A.mul_(s[:, None, None])
            self.B.mul_(s[:, None, None])

    def net(self, activation: Any) -> TwoLayerNet:
        """The networks as computed now (spectral normalization from the current u, v), as an ensemble."""
        with torch.no_grad():
            A, B = self.weights(power_iteration=False)
            # A diverged run holds NaN here; its rows are NaN whatever these placeholders are.
            A, a, B, b = (torch.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0) for p in (A, self.a, B, self.b))
            return TwoLayerNet.from_weights(A, a, B, b, activation)


def baseline_runs(
    draws: Dataset | Sequence[Dataset],
    width: int,
    seeds: Sequence[int],
    lr: float,
    steps: int,
    regularizer: str = "none",
    strength: float = 0.0,
    checkpoints: Sequence[int] | None = None,
    n_val: int = 0,
    activation: str = "relu",
    init: str = "lecun",
) -> pd.DataFrame:
    """PyTorch two-layer networks trained full batch by ``torch.optim.SGD`` with a regularizer, measured at checkpoints.

    Run (draw i, seed s) is ``TwoLayerNet.init(d, m, activation, seed=s).to_torch_module()``, an
    ``nn.Sequential(Linear(d, m), σ, Linear(m, 1))``, trained on draw i's training part with the MSE. The
    runs are trained side by side: their parameters are stacked along a leading axis, each run's loss on
    its own data, and one ``torch.optim.SGD`` steps the stacks. Plain SGD acts entry by entry, so this is the
    same as one SGD per run (tested). At each checkpoint every run is rebuilt as an ``nn.Sequential`` and
    certified with :func:`lipnb.certify` (exact for d = 1 ReLU).

    Parameters
    ----------
    draws, seeds, steps, checkpoints, n_val, activation, init: as in :func:`schedule_runs`.
    width: the hidden width m.
    lr: the constant learning rate α > 0 of every run.
    regularizer, strength: one of ``REGULARIZERS``:

        * ``"none"``: plain GD (``strength`` must be 0);
        * ``"weight_decay"``: ``SGD(weight_decay=strength)``, θ ← θ − α(∇R + strength·θ) for every parameter,
          biases included (PyTorch's convention for ``model.parameters()``);
        * ``"spectral_norm"``: both layers spectrally normalized as ``torch.nn.utils.parametrizations.
          spectral_norm`` does (one power iteration per step; registered on each run's modules, seeded by
          the run's index), and the first layer's normalized weight multiplied by c = ``strength`` > 0, so
          that Lip(f) ≤ c ‖A/σ̂₁‖_op ‖B/σ̂₂‖ (= c when σ̂ is exact, as it is for the vectors of d = 1).
          The scale sits in the first layer because there it keeps the ReLU breakpoints −a_i/(c Â_i) of the
          normalized units within reach of the data (with the scale on the output the breakpoints lie far
          outside [−1, 1] at the book's initialization and the network barely trains);
        * ``"projection"``: after every step (and at initialization) A and B are rescaled by √(c/p) whenever
          p = ‖A‖_op‖B‖ exceeds c = ``strength`` > 0, so that the product bound stays ≤ L_σ c.

    A run whose parameters become non-finite is marked ``diverged`` from that step on (its later rows hold
    NaN) and leaves the others untouched.

    Returns a DataFrame with the columns ``COLUMNS`` (``method`` = the regularizer, ``config`` = its
    strength as text), rows ordered by draw, step, seed. ``sharpness`` is λ_max of the Gauss–Newton matrix of
    the plain loss and ``stability`` = α(λ + strength)/2 (weight decay adds strength·I to the Hessian); both
    are NaN under spectral normalization and projection, whose steps are not plain GD steps.
    """
    draws, n_val = _check_draws(draws, n_val)
    m = check_int("width", width, minimum=1)
    seeds = _check_seeds(seeds)
    lr = check_real("lr", lr, positive=True)
    steps = check_int("steps", steps, minimum=1)
    regularizer = check_choice("regularizer", regularizer, REGULARIZERS)
    strength = check_real("strength", strength, nonnegative=True)
    if regularizer == "none" and strength != 0:
        raise ValueError(f"strength must be 0 with regularizer 'none'; got {strength}")
    if regularizer in ("spectral_norm", "projection") and strength <= 0:
        raise ValueError(f"strength must be > 0 (the bound c) with regularizer {regularizer!r}; got {strength}")
    cps = _check_checkpoints(checkpoints, steps)
    act = get_activation(activation)
    init = check_choice("init", init, INITS)
    S = len(seeds)
    modules = [TwoLayerNet.init(data.d, m, act, init=init, seed=s).to_torch_module() for data in draws for s in seeds]
    stack = _Stack(modules, regularizer, strength)
    X = torch.stack([data.x_train for data in draws for _ in seeds])
    Y = torch.stack([data.y_train for data in draws for _ in seeds])
    if regularizer == "projection":
        stack.project()
    opt = torch.optim.SGD(stack.params, lr=lr, weight_decay=strength if regularizer == "weight_decay" else 0.0)
    diverged = np.full(len(modules), -1)
    rows: list[dict[str, Any]] = []
    context = dict(width=m, lr=lr, regularizer=regularizer, strength=strength, seeds=seeds, S=S)
    for t in range(steps + 1):
        if t in cps:
            rows.extend(_baseline_rows(stack, draws, n_val, act, t, diverged, context))
        if t == steps:
            break
        opt.zero_grad(set_to_none=True)
        loss = ((stack.forward(X) - Y) ** 2).mean(dim=1)
        torch.where(torch.as_tensor(diverged < 0), loss, torch.zeros_like(loss)).sum().backward()
        opt.step()
        if regularizer == "projection":
            stack.project()
        with torch.no_grad():
            finite = torch.stack([torch.isfinite(p.reshape(len(modules), -1)).all(dim=1) for p in stack.params])
            bad = np.flatnonzero((~finite.all(dim=0)).numpy() & (diverged < 0))
            if bad.size:
                diverged[bad] = t + 1
                for p in stack.params:
                    p[torch.as_tensor(bad)] = 0.0
    return _frame(sorted(rows, key=lambda r: (r["draw"], r["step"], seeds.index(r["seed"]))))


def _baseline_rows(
    stack: _Stack,
    draws: list[Dataset],
    n_val: int,
    act: Any,
    t: int,
    diverged: np.ndarray,
    ctx: dict[str, Any],
) -> list[dict[str, Any]]:
    from .certificates import certify

    S, seeds = ctx["S"], ctx["seeds"]
    wd = ctx["strength"] if ctx["regularizer"] == "weight_decay" else 0.0
    plain = ctx["regularizer"] in ("none", "weight_decay")
    full = stack.net(act)
    rows = []
    for i, data in enumerate(draws):
        idx = list(range(i * S, (i + 1) * S))
        net = TwoLayerNet.from_weights(full._A[idx], full._a[idx], full._B[idx], full._b[idx], act)
        x_val, y_val, x_test, y_test = _split(data, n_val)
        train_mse, val_mse, test_mse = (
            _mse(net, data.x_train, data.y_train),
            _mse(net, x_val, y_val),
            _mse(net, x_test, y_test),
        )
        with torch.no_grad():
            product = net.product_bound().cpu().numpy()
        sharp = np.atleast_1d(gauss_newton_top(net, data.x_train)) if plain else np.full(S, math.nan)
        for j, k in enumerate(idx):
            dead = 0 <= diverged[k] <= t
            row = {
                "method": ctx["regularizer"],
                "config": f"{ctx['strength']:g}",
                "width": ctx["width"],
                "draw": i,
                "seed": seeds[j],
                "step": t,
                "lr": ctx["lr"],
                "lr_sum": ctx["lr"] * t,
                "diverged": dead,
            }
            if dead:
                nan = {c: math.nan for c in COLUMNS if c not in row}
                rows.append({**row, **nan, "lip_exact": False})
                continue
            cert = certify(net.to_torch_module(j))
            rows.append(
                {
                    **row,
                    "train_mse": float(train_mse[j]),
                    "val_mse": float(val_mse[j]),
                    "test_mse": float(test_mse[j]),
                    "lip": float(cert.upper),
                    "lip_lower": float(cert.lower),
                    "lip_exact": bool(cert.exact),
                    "product": float(product[j]),
                    "sharpness": float(sharp[j]),
                    "stability": ctx["lr"] * (float(sharp[j]) + wd) / 2.0,
                }
            )
    return rows


# ---------------------------------------------------------------------------------------------- comparisons
RUN_KEYS = ("method", "config", "width", "draw", "seed")


def at_level(
    df: pd.DataFrame,
    levels: Sequence[float],
    x: str = "train_mse",
    y: str | Sequence[str] = "lip",
    by: Sequence[str] = RUN_KEYS,
    direction: str = "down",
    order: str = "step",
) -> pd.DataFrame:
    """The value of ``y`` along each run where ``x`` first reaches each level, by log-log interpolation.

    The runs are the groups of ``by``, each ordered by the column ``order`` (the step; or a regularization
    knob, to read a family of trained networks as one curve). With ``direction="down"`` (a training loss
    that falls) the level L is reached between the checkpoints k − 1 and k at the first k with
    x_k ≤ L < x_{k−1}; with ``"up"`` (a Lipschitz constant that grows) at the first x_k ≥ L > x_{k−1}. Then
    log y = (1 − w) log y_{k−1} + w log y_k with w = (log L − log x_{k−1})/(log x_k − log x_{k−1}).
    A run that never reaches L, or starts beyond it, gives NaN. ``x`` and ``y`` must be positive.

    Returns one row per run and level: the columns of ``by``, ``level``, and each ``y`` (plus ``order``,
    interpolated linearly, when ``y`` does not name it).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame from schedule_runs or baseline_runs; got {type(df).__name__}")
    ys = [y] if isinstance(y, str) else list(y)
    by = [by] if isinstance(by, str) else list(by)
    direction = check_choice("direction", direction, ("down", "up"))
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (Sequence, np.ndarray)):
        raise TypeError(f"levels must be a sequence of positive numbers; got {type(levels).__name__}")
    lv = [check_real("levels", v, positive=True) for v in levels]
    missing = [c for c in [x, order, *ys, *by] if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in df; it has {list(df.columns)}")
    cols = ys + ([] if order in ys else [order])
    out = []
    for key, g in df.groupby(by, observed=True, sort=True):
        g = g.sort_values(order, kind="stable")
        xs = g[x].to_numpy(dtype=np.float64)
        vals = {c: g[c].to_numpy(dtype=np.float64) for c in cols}
        finite = np.isfinite(xs)
        if (xs[finite] <= 0).any() or any((v[np.isfinite(v)] <= 0).any() for c, v in vals.items() if c != order):
            raise ValueError(f"at_level interpolates in log scale: {x} and {ys} must be positive (run {key})")
        key = key if isinstance(key, tuple) else (key,)
        for level in lv:
            row = dict(zip(by, key))
            row["level"] = level
            row.update({c: math.nan for c in cols})
            hit = xs <= level if direction == "down" else xs >= level
            k = int(np.argmax(hit)) if hit.any() else -1
            if k > 0 and np.isfinite(xs[k - 1]):
                w = (math.log(level) - math.log(xs[k - 1])) / (math.log(xs[k]) - math.log(xs[k - 1]))
                for c, v in vals.items():
                    if c == order:
                        row[c] = (1 - w) * v[k - 1] + w * v[k]
                    else:
                        row[c] = math.exp((1 - w) * math.log(v[k - 1]) + w * math.log(v[k]))
            elif k == 0 and xs[0] == level:
                row.update({c: float(v[0]) for c, v in vals.items()})
            out.append(row)
    return pd.DataFrame(out, columns=by + ["level"] + cols)


def outcome(low: float, high: float, p: float, margin: float = 0.1, alpha: float = 0.05) -> str:
    """What a confidence interval [low, high] of a ratio b/a and a test's p-value say (one of ``OUTCOMES``).

    ``"equivalent"``: the interval lies inside [1/(1 + margin), 1 + margin]; else ``"lower"`` (``"higher"``):
    the interval lies below (above) 1 and p < alpha; else ``"inconclusive"``.
    """
    margin = check_real("margin", margin, positive=True)
    alpha = check_real("alpha", alpha, low=0.0, high=1.0)
    if not (np.isfinite(low) and np.isfinite(high)):
        return "inconclusive"
    if 1 / (1 + margin) <= low and high <= 1 + margin:
        return "equivalent"
    if np.isfinite(p) and p < alpha:
        if high < 1:
            return "lower"
        if low > 1:
            return "higher"
    return "inconclusive"


def paired_comparison(
    a: pd.Series, b: pd.Series, margin: float = 0.1, confidence: float = 0.95, alpha: float = 0.05
) -> dict[str, Any]:
    """Compare b with a on the pairs they share (the same index: the same draw and seed), as a ratio b/a.

    With r = log(b/a) over the n pairs where both are finite and positive: ``ratio`` = exp(mean r) (the
    geometric mean of b/a), ``low``, ``high`` its ``confidence`` t-interval, exp(mean r ∓ t·sd/√n),
    ``p_t`` the paired t-test's and ``p_wilcoxon`` Wilcoxon's signed-rank test's two-sided p-value (exact for
    n ≤ 50 without ties), ``outcome`` as :func:`outcome` gives it from the interval and ``p_wilcoxon``, and
    ``frac_lower`` the fraction of pairs with b < a.
    """
    if not isinstance(a, pd.Series) or not isinstance(b, pd.Series):
        raise TypeError(f"a and b must be pandas Series indexed by run; got {type(a).__name__}, {type(b).__name__}")
    confidence = check_real("confidence", confidence, low=0.0, high=1.0)
    both = pd.concat({"a": a, "b": b}, axis=1, join="inner")
    both = both[np.isfinite(both["a"]) & np.isfinite(both["b"])]
    if ((both["a"] <= 0) | (both["b"] <= 0)).any():
        raise ValueError("paired_comparison compares ratios: a and b must be positive")
    r = np.log(both["b"].to_numpy() / both["a"].to_numpy())
    n = r.size
    res: dict[str, Any] = {"n": n, "ratio": math.nan, "low": math.nan, "high": math.nan}
    res.update({"p_t": math.nan, "p_wilcoxon": math.nan, "frac_lower": math.nan})
    if n >= 2:
        mean, se = float(r.mean()), float(r.std(ddof=1)) / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
        res.update(ratio=math.exp(mean), low=math.exp(mean - half), high=math.exp(mean + half))
        res["p_t"] = float(stats.ttest_1samp(r, 0.0).pvalue) if se > 0 else (1.0 if mean == 0 else 0.0)
        res["p_wilcoxon"] = float(stats.wilcoxon(r).pvalue) if np.any(r != 0) else 1.0
        res["frac_lower"] = float((r < 0).mean())
    res["outcome"] = outcome(res["low"], res["high"], res["p_wilcoxon"], margin, alpha)
    return res


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN stays NaN): reject where adjusted p < α
    controls the family-wise error rate at α."""
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"p must be a one-dimensional sequence of p-values; got shape {arr.shape}")
    ok = np.flatnonzero(np.isfinite(arr))
    out = np.full(arr.shape, math.nan)
    order = ok[np.argsort(arr[ok], kind="stable")]
    k = order.size
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * arr[i]))
        out[i] = running
    return out
