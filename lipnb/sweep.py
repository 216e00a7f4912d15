"""Grids of training runs — widths × schedules × seeds — with certified Lipschitz constants.

:func:`sweep` trains, for each width m, *one* ensemble holding every (schedule, seed) pair: member
k = i·S + j has schedule ``names[i]`` and initialization seed ``seeds[j]`` (S = number of seeds).
Members with the same seed start from the same θ₀ whatever their schedule, so schedules are compared
on paired runs. Each trained member is certified with :func:`lipnb.certify.certify` and the results
come back as a tidy :class:`pandas.DataFrame`, one row per (width, schedule, seed) — and per
checkpoint step when ``checkpoints`` are asked for. :func:`summarize` turns it into mean ± sd per
(schedule, width), :func:`format_summary` into a fixed-width text table for a notebook.

Learning rates usually depend on the width (with the standard parameterization the largest stable
rate shrinks like 1/m), so a schedule may be given as a function ``width -> schedule``.

The widths are independent cells: ``sweep(..., executor=ex)`` runs them on any
:class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, or ``client.get_executor()`` of a
``dask.distributed`` client, which reaches a cluster) and returns the same DataFrame as the serial sweep.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ._validate import check_choice, check_int, check_real
from .activations import activation as get_activation
from .data import Dataset
from .errors import TrainingDiverged
from .losses import loss as get_loss
from .losses import mse
from .nets import GROUPS, INITS, TwoLayerNet
from .schedules import (
    AdaptiveSchedule,
    RateFunction,
    Schedule,
    adaptive,
    constant,
    eventual_exponential,
    exponential_rate,
)
from .training import History, concat_histories, train

__all__ = [
    "sweep",
    "summarize",
    "format_summary",
    "protocol_schedules",
    "gauss_newton_top",
    "COLUMNS",
    "SUMMARY_VALUES",
]

#: The columns of :func:`sweep`'s DataFrame, in order.
COLUMNS = (
    "width",
    "schedule",
    "seed",
    "activation",
    "steps",
    "step",
    "member",
    "lr0",
    "train_mse",
    "test_mse",
    "lip_lower",
    "lip_upper",
    "lip_method",
    "lip_exact",
    "lip_product",
    "path_A",
    "path_B",
)
#: The columns :func:`summarize` averages by default.
SUMMARY_VALUES = ("lip_lower", "lip_upper", "lip_product", "train_mse", "test_mse")
_EXACT_METHODS = ("exact_1d", "exact_2d", "smooth_1d")

ScheduleSpec = Any  # a Schedule, a mapping group -> Schedule, or a callable width -> either


# ---------------------------------------------------------------------------------------------- validation
def _check_widths(widths: Any) -> list[int]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray, range)):
        raise TypeError(f"widths must be a sequence of positive integers; got {type(widths).__name__}")
    out = [check_int("widths", w, minimum=1) for w in widths]
    if not out:
        raise ValueError("widths must hold at least one width; got an empty sequence")
    if len(set(out)) != len(out):
        raise ValueError(f"widths must not repeat a width; got {list(out)}")
    return out


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, np.ndarray, range)):
        raise TypeError(f"seeds must be a sequence of non-negative integers; got {type(seeds).__name__}")
    out = [check_int("seeds", s, minimum=0, maximum=2**62) for s in seeds]
    if not out:
        raise ValueError("seeds must hold at least one seed; got an empty sequence")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must not repeat a seed; got {list(out)}")
    return out


def _is_schedule(spec: Any) -> bool:
    return isinstance(spec, Schedule) or (
        isinstance(spec, Mapping) and set(spec) == set(GROUPS) and all(isinstance(s, Schedule) for s in spec.values())
    )


def _check_schedules(schedules: Any) -> dict[str, ScheduleSpec]:
    if not isinstance(schedules, Mapping):
        raise TypeError(
            f"schedules must be a dict name -> schedule (or width -> schedule function); got {type(schedules).__name__}"
        )
    if not schedules:
        raise ValueError("schedules must hold at least one schedule; got an empty dict")
    for name, spec in schedules.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"schedules must be keyed by non-empty names (str); got the key {name!r}")
        if not (_is_schedule(spec) or callable(spec)):
            raise TypeError(
                f"schedules[{name!r}] must be a lipnb schedule, a mapping {GROUPS} -> schedule, or a function "
                f"width -> schedule; got {type(spec).__name__}"
            )
    return dict(schedules)


def _resolve(name: str, spec: ScheduleSpec, width: int) -> Any:
    """The schedule (or group mapping) of ``name`` at ``width``."""
    out = spec if _is_schedule(spec) else spec(width)
    if not _is_schedule(out):
        raise TypeError(
            f"schedules[{name!r}]({width}) must return a lipnb schedule or a mapping {GROUPS} -> "
            f"schedule; got {type(out).__name__}"
        )
    return out


def _check_checkpoints(checkpoints: Any, steps: int) -> list[int]:
    if checkpoints is None:
        return []
    if isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, (Sequence, np.ndarray, range)):
        raise TypeError(f"checkpoints must be None or a sequence of steps; got {type(checkpoints).__name__}")
    out = sorted({check_int("checkpoints", c, minimum=0, maximum=steps) for c in checkpoints})
    return [c for c in out if c < steps]


# ---------------------------------------------------------------------------------------------- shifting
def _shift_rate(rate: RateFunction, offset: int) -> RateFunction:
    """k ↦ G(k + offset)."""
    if offset == 0:
        return rate
    gamma = rate._gamma - rate.partial_sum(offset) if rate.summable else math.inf
    return RateFunction(lambda k: rate._fn(k + offset), gamma, f"{rate.description}, shifted by {offset}")


def _shift_one(s: Schedule, offset: int) -> Schedule:
    """The schedule seen from step ``offset`` on: step t of the result is step t + offset of ``s``."""
    if offset == 0:
        return s
    if isinstance(s, AdaptiveSchedule):
        if offset <= s.start:
            return AdaptiveSchedule(s.max_lr, s.start - offset, s.rate_function)
        return AdaptiveSchedule(s.max_lr, 0, _shift_rate(s.rate_function, offset - s.start))
    start = max(s.start - offset, 0)
    rate = _shift_rate(s.rate_function, max(offset - s.start, 0))
    return Schedule(lambda t: s._fn(t + offset), start, rate, f"{s.description} from step {offset}")


def _shift(spec: Any, offset: int) -> Any:
    if isinstance(spec, Schedule):
        return _shift_one(spec, offset)
    return {g: _shift_one(spec[g], offset) for g in GROUPS}


def _lr0(spec: Any) -> float:
    s = spec if isinstance(spec, Schedule) else spec["A"]
    return float(s.max_lr if isinstance(s, AdaptiveSchedule) else s(0))


# ---------------------------------------------------------------------------------------------- certify
def _certify_member(
    net: TwoLayerNet, method: str | None, points: torch.Tensor, seed: int, kw: Mapping[str, Any]
) -> dict[str, Any]:
    """Certify one trained network: the Lipschitz columns of a row (NaN and no method when ``method=None``)."""
    if method is None:
        return {"lip_lower": math.nan, "lip_upper": math.nan, "lip_method": None, "lip_exact": False}
    from . import certificates as certify_module

    chosen = certify_module._auto_two_layer(net) if method == "auto" else method
    # The exact methods bound Lip from both sides on their own; a search from the data adds nothing.
    pts = None if chosen in _EXACT_METHODS else points
    cert = certify_module.certify(net, method=chosen, points=pts, seed=seed, **kw)
    return {
        "lip_lower": float(cert.lower),
        "lip_upper": float(cert.upper),
        "lip_method": cert.method,
        "lip_exact": bool(cert.exact),
    }


# ---------------------------------------------------------------------------------------------- sweep
def sweep(
    data: Dataset,
    widths: Sequence[int],
    schedules: Mapping[str, ScheduleSpec],
    seeds: Sequence[int],
    activation: str = "relu",
    steps: int = 2000,
    loss: str = "mse",
    delta: float = 1.0,
    certify: str | None = "auto",
    checkpoints: Sequence[int] | None = None,
    init: str = "lecun",
    log_every: int = 10,
    certify_kw: Mapping[str, Any] | None = None,
    certify_checkpoints: bool = True,
    return_histories: bool = False,
    progress: bool = True,
    device: str | torch.device = "cpu",
    executor: concurrent.futures.Executor | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[int, History]]:
    """Train and certify the grid ``widths × schedules × seeds``; one DataFrame row per run (and checkpoint).

    Parameters
    ----------
    data: a :class:`~lipnb.data.Dataset`; GD runs on its training split (full batch), ``test_mse`` is
        measured on its test split.
    widths: the hidden widths m, distinct positive integers.
    schedules: ``{name: schedule}``; a schedule is a ``lipnb.schedules`` schedule, a mapping
        ``{"A", "a", "B", "b"} -> schedule`` (per-group rates), or a function ``width -> schedule``
        (e.g. ``lambda m: constant(2 / m)``) for width-dependent rates.
    seeds: initialization seeds, distinct; every schedule is run from the same initializations
        (``TwoLayerNet.init(d, m, activation, seed=s)``), so the comparison is paired.
    activation, init: passed to :meth:`TwoLayerNet.init`.
    steps: T, the number of GD steps of every run.
    loss, delta: the training loss (``"mse"`` or ``"huber"`` with δ); ``train_mse`` is always the MSE.
    certify: the method of :func:`lipnb.certify.certify` (``"auto"``: exact in 1-D ReLU, ``smooth_1d`` in
        1-D tanh, ``exact_2d`` in 2-D ReLU up to moderate widths, LipSDP or the product bound otherwise,
        each with a lower bound), or ``None`` to skip certification (the Lipschitz columns are NaN).
        Lower bounds search from the training inputs and random points (seed 0).
    checkpoints: steps 0 ≤ t < T at which to measure as well (0: the initialization); each adds one row
        per run. Training is split at the checkpoints (the schedules continue where they stopped, so the
        trajectory is the same as without checkpoints).
    log_every: the histories' logging interval (see :func:`lipnb.train`).
    certify_kw: extra keyword arguments of :func:`lipnb.certify.certify` (e.g. ``{"max_width": 4096}``).
    certify_checkpoints: certify at the checkpoints too; with ``False`` only the final networks are
        certified and the checkpoint rows carry NaN Lipschitz bounds (``lip_product`` is always there).
    return_histories: also return ``{width: History}``, the ensemble's training history per width
        (member k is the row with ``member == k``).
    progress: a tqdm progress bar over the widths.
    device: where to train (certification runs on the CPU).
    executor: ``None`` to run the widths one after the other here, or a
        :class:`concurrent.futures.Executor` to run each width (one ensemble: every schedule and seed, trained
        and certified) as one task on it: a ``ProcessPoolExecutor``, or ``client.get_executor()`` of a
        ``dask.distributed.Client`` (``Client("tcp://scheduler:8786")`` for a cluster). The grid is sent
        with cloudpickle, so width-dependent schedules may be lambdas. A task in another process pins torch
        to one thread (as :func:`lipnb.notebook.setup` pins a chapter) and uses the caller's default dtype;
        the results are assembled in the order of ``widths``, so the DataFrame (and the histories) equal
        those of the serial sweep run with torch on one thread. Parallelism: one task per width.

    Returns
    -------
    A DataFrame with the columns ``COLUMNS``: ``width``, ``schedule`` (a categorical in the order of
    ``schedules``), ``seed``, ``activation``, ``steps`` (T), ``step`` (where the row is measured: T, or a
    checkpoint), ``member`` (index in the width's ensemble), ``lr0`` (α₀ of group A; ᾱ for an adaptive
    schedule), ``train_mse``, ``test_mse``, ``lip_lower`` ≤ Lip(f) ≤ ``lip_upper``, ``lip_method``,
    ``lip_exact``, ``lip_product`` (L_σ‖B‖‖A‖_op, Product bound) and ``path_A``, ``path_B`` (P^A_t, P^B_t of
    Path-length lemma). Rows are ordered by width, step, schedule, seed.

    Raises
    ------
    TrainingDiverged: a run diverged; the message names its width, schedule and seed.
    TypeError: ``executor`` is not a ``concurrent.futures.Executor`` (nor ``None``).
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a lipnb.data.Dataset (e.g. lipnb.data.noisy_sine()); got {type(data).__name__}")
    widths = _check_widths(widths)
    schedules = _check_schedules(schedules)
    seeds = _check_seeds(seeds)
    act = get_activation(activation)
    steps = check_int("steps", steps, minimum=1)
    lo = get_loss(loss, delta)
    if certify is not None:
        from . import certificates as certify_module

        certify = check_choice("certify", certify, certify_module.TWO_LAYER_METHODS)
    cps = _check_checkpoints(checkpoints, steps)
    init = check_choice("init", init, INITS)
    log_every = check_int("log_every", log_every, minimum=1)
    if certify_kw is None:
        certify_kw = {}
    if not isinstance(certify_kw, Mapping):
        raise TypeError(f"certify_kw must be a dict of keyword arguments or None; got {type(certify_kw).__name__}")
    for flag, value in (
        ("certify_checkpoints", certify_checkpoints),
        ("return_histories", return_histories),
        ("progress", progress),
    ):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False; got {value!r}")
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        hint = (
            " (for a dask.distributed Client, pass client.get_executor())"
            if type(executor).__name__ == "Client"
            else ""
        )
        raise TypeError(
            f"executor must be None or a concurrent.futures.Executor, e.g. a ProcessPoolExecutor or a "
            f"dask.distributed Client's get_executor(); got {type(executor).__name__}{hint}"
        )

    names = list(schedules)
    grid = _Grid(
        data=data,
        schedules=schedules,
        names=names,
        seeds=seeds,
        act=act,
        init=init,
        steps=steps,
        loss=lo,
        log_every=log_every,
        certify=certify,
        certify_kw=dict(certify_kw),
        certify_checkpoints=certify_checkpoints,
        return_histories=return_histories,
        device=device,
        bounds=[0] + [c for c in cps if c > 0] + [steps],
        at_zero=bool(cps) and cps[0] == 0,
    )
    rows: list[dict[str, Any]] = []
    histories: dict[int, History] = {}
    if executor is None:
        cells: Any = ((m, _sweep_width(grid, m)) for m in tqdm(widths, desc="widths", disable=not progress))
    else:
        cells = zip(widths, _on_executor(executor, grid, widths, progress))
    for m, (width_rows, hist) in cells:
        rows.extend(width_rows)
        if hist is not None:
            histories[m] = hist
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["schedule"] = pd.Categorical(df["schedule"], categories=names, ordered=True)
    df["lip_exact"] = df["lip_exact"].astype(bool)
    return (df, histories) if return_histories else df


@dataclass(frozen=True)
class _Grid:
    """Everything a width's cell needs, checked by :func:`sweep`; sent whole to an executor's task."""

    data: Dataset
    schedules: dict[str, ScheduleSpec]
    names: list[str]
    seeds: list[int]
    act: Any
    init: str
    steps: int
    loss: Any
    log_every: int
    certify: str | None
    certify_kw: dict[str, Any]
    certify_checkpoints: bool
    return_histories: bool
    device: Any
    bounds: list[int]
    at_zero: bool


def _sweep_width(grid: _Grid, m: int) -> tuple[list[dict[str, Any]], History | None]:
    """One cell of the grid: the ensemble of every (schedule, seed) at width m, trained and measured.

    Returns its rows (in the order of ``step``, schedule, seed) and, with ``return_histories``, its History.
    """
    names, seeds = grid.names, grid.seeds
    S = len(seeds)
    member_seeds = seeds * len(names)
    x, y = grid.data.x_train, grid.data.y_train
    specs = [_resolve(name, grid.schedules[name], m) for name in names]
    per_member = [specs[k // S] for k in range(len(member_seeds))]
    net = TwoLayerNet.init(grid.data.d, m, grid.act, init=grid.init, seed=member_seeds, device=grid.device)
    path = np.zeros((2, len(member_seeds)))
    rows: list[dict[str, Any]] = []
    hist: History | None = None
    if grid.at_zero:
        method = grid.certify if grid.certify_checkpoints else None
        rows.extend(
            _measure(net, grid.data, names, member_seeds, S, specs, grid.steps, 0, path, method, grid.certify_kw)
        )
    for t0, t1 in zip(grid.bounds[:-1], grid.bounds[1:]):
        try:
            net, h = train(
                net, x, y, [_shift(s, t0) for s in per_member], t1 - t0, loss=grid.loss, log_every=grid.log_every
            )
        except TrainingDiverged as exc:
            k = exc.member
            raise TrainingDiverged(t0 + exc.step, k, exc.loss, _diverged_detail(grid, m, k)) from exc
        path += np.stack([h.path_length["A"][-1], h.path_length["B"][-1]])
        if grid.return_histories:
            hist = h if hist is None else concat_histories(hist, h)
        method = grid.certify if (t1 == grid.steps or grid.certify_checkpoints) else None
        rows.extend(
            _measure(net, grid.data, names, member_seeds, S, specs, grid.steps, t1, path, method, grid.certify_kw)
        )
    return rows, hist


def _diverged_detail(grid: _Grid, m: int, k: int) -> str:
    S = len(grid.seeds)
    return f"(sweep: width {m}, schedule {grid.names[k // S]!r}, seed {grid.seeds[k % S]})"


def _run_cell(payload: bytes, m: int, parent_pid: int, default_dtype: str) -> tuple[str, Any]:
    """An executor's task: one width of the grid (``payload`` is the cloudpickled :class:`_Grid`).

    In another process torch is pinned to one thread and to the caller's default dtype, so that the numbers
    are those of a serial sweep on one thread. Returns ``("ok", (rows, history))``, or
    ``("diverged", (step, member, loss))`` (a ``TrainingDiverged`` does not survive pickling).
    """
    import cloudpickle

    if os.getpid() != parent_pid:
        torch.set_num_threads(1)
        torch.set_default_dtype(getattr(torch, default_dtype))
    grid = cloudpickle.loads(payload)
    try:
        return "ok", _sweep_width(grid, m)
    except TrainingDiverged as exc:
        return "diverged", (exc.step, exc.member, exc.loss)


def _on_executor(
    executor: concurrent.futures.Executor, grid: _Grid, widths: list[int], progress: bool
) -> list[tuple[list[dict[str, Any]], History | None]]:
    """Run every width as a task on ``executor``; the results in the order of ``widths``.

    The first task to fail (or diverge) raises at once, and the tasks not yet started are cancelled.
    """
    import cloudpickle

    payload = cloudpickle.dumps(grid)
    dtype = str(torch.get_default_dtype()).removeprefix("torch.")
    futures = {executor.submit(_run_cell, payload, m, os.getpid(), dtype): m for m in widths}
    results: dict[int, tuple[list[dict[str, Any]], History | None]] = {}
    try:
        with tqdm(total=len(futures), desc="widths", disable=not progress) as bar:
            for future in concurrent.futures.as_completed(futures):
                m = futures[future]
                status, value = future.result()
                if status == "diverged":
                    step, k, loss = value
                    raise TrainingDiverged(step, k, loss, _diverged_detail(grid, m, k))
                results[m] = value
                bar.update(1)
    finally:
        for future in futures:
            future.cancel()
    return [results[m] for m in widths]


def _measure(
    net: TwoLayerNet,
    data: Dataset,
    names: list[str],
    member_seeds: list[int],
    S: int,
    specs: list[Any],
    steps: int,
    step: int,
    path: np.ndarray,
    method: str | None,
    certify_kw: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The rows of every member of ``net`` at ``step``."""
    with torch.no_grad():
        product = net.product_bound().cpu().numpy()
        train_mse = mse(net(data.x_train), data.y_train.to(net.device)).cpu().numpy()
        test_mse = mse(net(data.x_test), data.y_test.to(net.device)).cpu().numpy()
    points = data.x_train.detach().to("cpu", torch.float64)
    rows = []
    for k, seed in enumerate(member_seeds):
        rows.append(
            {
                "width": net.width,
                "schedule": names[k // S],
                "seed": seed,
                "activation": str(net.activation),
                "steps": steps,
                "step": step,
                "member": k,
                "lr0": _lr0(specs[k // S]),
                "train_mse": float(train_mse[k]),
                "test_mse": float(test_mse[k]),
                **_certify_member(net.member(k), method, points, 0, certify_kw),
                "lip_product": float(product[k]),
                "path_A": float(path[0, k]),
                "path_B": float(path[1, k]),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------- the protocol
def protocol_schedules(
    c: float, steps: int, budget: float = 1.0, rate: float = 0.005
) -> dict[str, Callable[[int], Schedule]]:
    """The four schedules of the book's experiments, as functions ``width m -> schedule``.

    All start at α₀ = c/m, for runs of T = ``steps`` steps:

    * ``"constant"``: α_t = α₀;
    * ``"early decay"``: eventual exponential, τ = T//8, r = 0.01;
    * ``"late decay"``: eventual exponential, τ = T//2, r = 0.003;
    * ``"adaptive"``: Adaptive rule from τ = T//4, α_t = min(α₀, G(t − τ)/‖∇R(θ_t)‖) with
      G(k) = Γ(1 − e^{−r}) e^{−rk} (r = ``rate``), so that Σ_k G(k) = Γ = ``budget``: after τ the parameters
      travel a distance of at most Γ.
    """
    c = check_real("c", c, positive=True)
    steps = check_int("steps", steps, minimum=8)
    budget = check_real("budget", budget, positive=True)
    rate = check_real("rate", rate, positive=True)
    G = exponential_rate(budget * -math.expm1(-rate), rate)
    return {
        "constant": lambda m: constant(c / m),
        "early decay": lambda m: eventual_exponential(c / m, start=steps // 8, rate=0.01),
        "late decay": lambda m: eventual_exponential(c / m, start=steps // 2, rate=0.003),
        "adaptive": lambda m: adaptive(c / m, start=steps // 4, rate=G),
    }


# ---------------------------------------------------------------------------------------------- step sizes
def gauss_newton_top(net: TwoLayerNet, x: Any) -> np.ndarray | float:
    """λ_max of the Gauss–Newton matrix (2/N) JᵀJ of the MSE at θ: a float, or one per member (shape (E,)).

    J is the N × p Jacobian of the predictions f_θ(x_n) in θ = (A, a, B, b). Near a minimum the MSE's
    Hessian is this matrix, and GD with one learning rate α is stable along its top eigenvector only when
    α < 2/λ_max: the number to compare a width's learning rate with. Computed from the N × N kernel
    JJᵀ = σ(Z)σ(Z)ᵀ + (σ'(Z) diag(B²) σ'(Z)ᵀ) ⊙ (xxᵀ + 1) + 1 (no p × p matrix is formed).
    """
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    xt = net._check_x(x)
    N = xt.shape[0]
    gram = xt @ xt.T + 1.0
    out = []
    for k in range(net.members):
        z = xt @ net._A[k].T + net._a[k]  # (N, m)
        s0, s1 = net.activation(z), net.activation.derivative(z)
        K = s0 @ s0.T + ((s1 * net._B[k] ** 2) @ s1.T) * gram + 1.0
        out.append(2.0 / N * float(torch.linalg.eigvalsh(K)[-1]))
    arr = np.asarray(out)
    return arr if net.ensemble is not None else float(arr[0])


# ---------------------------------------------------------------------------------------------- summaries
def summarize(
    df: pd.DataFrame, values: Sequence[str] = SUMMARY_VALUES, by: Sequence[str] = ("schedule", "width")
) -> pd.DataFrame:
    """Mean and sample standard deviation (ddof = 1) of ``values`` over the seeds, grouped by ``by``.

    Rows from checkpoints are summarized separately: when ``df`` holds more than one ``step`` and ``by``
    does not name it, ``"step"`` is added to the grouping. Returns a DataFrame indexed by the groups
    (schedules in their sweep order, widths ascending) with columns ``(value, "mean")``,
    ``(value, "sd")`` and ``("n", "")``, the number of runs averaged (sd is NaN when n = 1).
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame returned by sweep; got {type(df).__name__}")
    values = [values] if isinstance(values, str) else list(values)
    by = [by] if isinstance(by, str) else list(by)
    if not values:
        raise ValueError("values must name at least one column")
    if not by:
        raise ValueError("by must name at least one column")
    missing = [c for c in values + by if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in df; it has {list(df.columns)}")
    if "step" in df.columns and "step" not in by and df["step"].nunique() > 1:
        by = by + ["step"]
    grouped = df.groupby(by, observed=True, sort=True)[values]
    mean, sd = grouped.mean(), grouped.std(ddof=1)
    out = pd.concat({"mean": mean, "sd": sd}, axis=1).swaplevel(axis=1)
    out = out[[(v, s) for v in values for s in ("mean", "sd")]]
    out[("n", "")] = grouped.size()
    return out


def format_summary(summary: pd.DataFrame, values: Sequence[str] | None = None, digits: int = 3) -> str:
    """A fixed-width text table of :func:`summarize`'s output: one line per group, ``mean ± sd`` per value.

    Numbers are rounded to ``digits`` significant digits (``lipnb.notebook.fmt``), so the text is stable
    across runs and can be printed in a notebook that nbval checks.
    """
    from .notebook import fmt

    if not isinstance(summary, pd.DataFrame) or not isinstance(summary.columns, pd.MultiIndex):
        raise TypeError("summary must be the DataFrame returned by summarize")
    digits = check_int("digits", digits, minimum=1, maximum=17)
    have = [v for v in dict.fromkeys(summary.columns.get_level_values(0)) if v != "n"]
    values = have if values is None else ([values] if isinstance(values, str) else list(values))
    missing = [v for v in values if v not in have]
    if missing:
        raise ValueError(f"values {missing} are not in the summary; it has {have}")
    keys = list(summary.index.names)
    head = [str(k) for k in keys] + list(values)
    body = []
    for idx, row in summary.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        cells = [str(i) for i in idx]
        for v in values:
            mu, sd = row[(v, "mean")], row[(v, "sd")]
            cells.append(fmt(mu, digits) + ("" if not np.isfinite(sd) else " ± " + fmt(sd, 2)))
        body.append(cells)
    widths_ = [max(len(r[j]) for r in [head] + body) for j in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) if j < len(keys) else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths_)))
        for r in [head] + body
    ]
    return "\n".join(lines)
