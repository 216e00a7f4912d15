"""Figures the chapters share: a fitted function against its data, and quantities along training.

Each function draws on given matplotlib axes (or makes a figure) and returns the axes, with titles,
axis labels and units, so chapters stay short.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import Dataset
from .nets import TwoLayerNet
from .training import History

__all__ = ["plot_fit", "plot_curves", "plot_history"]


def plot_fit(
    net: TwoLayerNet, data: Dataset, ax: plt.Axes | None = None, label: str = "network", grid: int = 1000
) -> plt.Axes:
    """For d = 1: the training points, the noiseless target (if known) and f_θ on [min x, max x]."""
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    if net.d != 1 or data.d != 1:
        raise ValueError(f"plot_fit draws 1-D functions; got a network with d={net.d} and data with d={data.d}")
    ax = ax if ax is not None else plt.subplots()[1]
    lo, hi = float(data.x_train.min()), float(data.x_train.max())
    xs = torch.linspace(lo, hi, grid, dtype=net.dtype)[:, None]
    ax.scatter(data.x_train[:, 0].numpy(), data.y_train.numpy(), s=12, color="0.35", label="training data", zorder=3)
    if data.target is not None:
        ax.plot(xs[:, 0].numpy(), data.target(xs).numpy(), color="0.6", ls="--", label="target")
    ys = net(xs).detach().cpu().numpy()
    for i, row in enumerate(np.atleast_2d(ys)):
        ax.plot(xs[:, 0].numpy(), row, lw=1.6, label=label if i == 0 else None)
    ax.set_xlabel("input x")
    ax.set_ylabel("output")
    ax.set_title("fit")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_curves(
    steps: np.ndarray,
    curves: dict[str, np.ndarray],
    ax: plt.Axes | None = None,
    *,
    title: str = "",
    ylabel: str = "",
    logy: bool = True,
) -> plt.Axes:
    """Several curves against the GD step; a 2-D array draws its mean with a min–max band."""
    ax = ax if ax is not None else plt.subplots()[1]
    for name, values in curves.items():
        values = np.asarray(values)
        if values.ndim == 1:
            ax.plot(steps, values, label=name, lw=1.5)
        else:
            (line,) = ax.plot(steps, values.mean(axis=1), label=name, lw=1.5)
            ax.fill_between(steps, values.min(axis=1), values.max(axis=1), color=line.get_color(), alpha=0.2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("GD step t")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_history(
    history: History, keys: Sequence[str] = ("loss", "lip_product"), axes: Sequence[plt.Axes] | None = None
) -> Sequence[plt.Axes]:
    """One panel per key of the History (``loss``, ``lip_product``, ``lr``, ``grad_norm_total``, …)."""
    labels = {
        "loss": ("training loss", f"{history.loss_name} risk"),
        "lip_product": ("product bound L_σ‖B‖‖A‖", "Lipschitz bound"),
        "grad_norm_total": ("gradient norm", "‖∇R(θ_t)‖"),
        "lr": ("learning rate", "α_t (group A)"),
    }
    if axes is None:
        _, axes = plt.subplots(1, len(keys), figsize=(4.0 * len(keys), 3.4))
        axes = np.atleast_1d(axes)
    for key, ax in zip(keys, axes):
        if key not in labels:
            raise ValueError(f"keys may hold {sorted(labels)}; got {key!r}")
        values = history.lr["A"] if key == "lr" else getattr(history, key)
        title, ylabel = labels[key]
        plot_curves(history.steps, {title: values}, ax, title=title, ylabel=ylabel)
    return axes
