"""Interactive views of one run: vary the learning-rate decay and watch the Lipschitz constant.

Two views of the same experiment (a d = 1 regression, full-batch GD, a schedule that is constant at α up
to τ and decays after), each beside its *ghost*, the constant-rate run from the same θ₀:

* :class:`Explorer` — a live explorer. ``Explorer.update(**values)`` retrains with :func:`lipnb.train`
  and redraws a four-panel matplotlib figure: the data and the fitted function; the train risk and the
  test MSE; the learning rate α_t; the Lipschitz constant along training — the product bound
  L_σ‖B_t‖‖A_t‖_op, the path-length bound, the LR-constraint theorem's bound where the schedule decays,
  and the certified value of the network (exact for ReLU, to 1e-6 for tanh) at about twenty steps.
  The ghost (grey) is drawn in every panel. ``update`` is a plain method (tested headless);
  :meth:`Explorer.widget` wires ipywidgets controls to it, with ``continuous_update=False`` and a
  timer-based debounce.
* :func:`decay_grid` / :func:`grid_figure` / :func:`grid_html` — the static view for a book read without
  a kernel: one batched ensemble run over a τ × r grid, drawn as a plotly figure with two sliders whose
  data is embedded in the page (plotly.js included once, inline, so that the page works offline).

Schedule families (``FAMILIES``): ``constant`` (α_t = α), ``eventual_exponential`` (α e^{−r(t−τ)} after
τ), ``eventual_polynomial`` (α (t−τ+1)^{−q} after τ) and ``adaptive`` (Adaptive rule: after τ the step length
is capped by G(k) = Γ(1 − e^{−r}) e^{−rk}, with Γ chosen so that the product bound never exceeds the
target L).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from matplotlib import ticker
from matplotlib.figure import Figure

from . import schedules as sch
from . import theory
from ._validate import check_choice, check_int, check_real
from .activations import ACTIVATIONS
from .certificates import certify
from .data import Dataset, noisy_sine
from .errors import LipnbError
from .losses import LOSSES
from .nets import TwoLayerNet
from .training import History, concat_histories, train

__all__ = ["FAMILIES", "WIDTHS", "Config", "Run", "Explorer", "DecayGrid", "decay_grid", "grid_figure", "grid_html"]

FAMILIES = ("constant", "eventual_exponential", "eventual_polynomial", "adaptive")
#: Widths offered by the explorer's width control.
WIDTHS = (16, 64, 256, 1024, 4096)


# ====================================================================================== settings
@dataclass(frozen=True)
class Config:
    """The explorer's settings, named after the book's symbols.

    ``family`` (one of ``FAMILIES``), ``lr`` = α (the constant rate, and the cap of the adaptive rule),
    ``start`` = τ, ``rate`` = r (exponential decay, and the adaptive rule's G), ``power`` = q
    (polynomial decay), ``target`` = L (adaptive only), ``width`` = m, ``activation``, ``loss`` with
    ``delta`` = δ (Huber only), ``seed`` (initialization), ``steps`` = T.

    The defaults reach the noise floor of the default data (train MSE near the noise variance 0.01) at
    a step size below the edge of stability (α λ_max(∇²R) < 2 along the run, chapter *Beyond the paper*).
    """

    family: str = "eventual_exponential"
    lr: float = 0.015
    start: int = 6000
    rate: float = 0.001
    power: float = 1.5
    target: float = 100.0
    width: int = 64
    activation: str = "relu"
    loss: str = "mse"
    delta: float = 1.0
    seed: int = 0
    steps: int = 8000

    def validated(self) -> Config:
        """A copy with every field checked (``ValueError``/``TypeError`` naming the field otherwise)."""
        return Config(
            family=check_choice("family", self.family, FAMILIES),
            lr=check_real("lr", self.lr, positive=True),
            start=check_int("start", self.start, minimum=0),
            rate=check_real("rate", self.rate, nonnegative=True),
            power=check_real("power", self.power, nonnegative=True),
            target=check_real("target", self.target, positive=True),
            width=check_int("width", self.width, minimum=1),
            activation=check_choice("activation", self.activation, ACTIVATIONS),
            loss=check_choice("loss", self.loss, LOSSES),
            delta=check_real("delta", self.delta, positive=True),
            seed=check_int("seed", self.seed, minimum=0),
            steps=check_int("steps", self.steps, minimum=1),
        )

    def schedule(self) -> sch.Schedule:
        """The whole-run schedule t ↦ α_t of a plain family (``TypeError`` for ``adaptive``)."""
        if self.family == "constant":
            return sch.constant(self.lr)
        if self.family == "eventual_exponential":
            return sch.eventual_exponential(self.lr, self.start, self.rate)
        if self.family == "eventual_polynomial":
            return sch.eventual_polynomial(self.lr, self.start, self.power)
        raise TypeError("the adaptive family's learning rates depend on the run; see Run.history.lr")


@dataclass
class Run:
    """One explorer run: what the figure shows, as numbers.

    ``lr`` is α_t (group A) at ``history.steps``; ``sup_bound`` is the LR-constraint theorem bound
    L_σ(‖A₀‖_op + P^A_τ + Γ)(‖B₀‖ + P^B_τ + Γ) (``inf`` when Γ = ∞, ``None`` when the run stops before
    τ); ``gamma`` its Γ. ``checkpoints`` are the steps (0, τ, T and about twenty between) whose networks
    were certified, with the certified upper bounds of Lip(f_θt) in ``certified`` and the test MSE in
    ``test_curve``; ``final`` is the certificate of f_θT and ``test_loss`` its test MSE (mean squared
    error on the data's test split, whatever the training loss). ``ghost`` is the constant-rate run with
    the same α, network, loss, seed and T (the run the schedule is compared with; ``None`` for the
    constant family, which is its own ghost).
    """

    config: Config
    net: TwoLayerNet
    history: History
    lr: np.ndarray
    sup_bound: float | None
    gamma: float | None
    checkpoints: np.ndarray
    certified: np.ndarray
    final: Any
    schedule: str  # a one-line description of the schedule
    test_curve: np.ndarray
    test_loss: float
    ghost: Run | None = None


# ====================================================================================== the computation
def _describe(c: Config) -> str:
    """A one-line name of the schedule, for the figure's title."""
    if c.family == "constant":
        return f"constant α = {c.lr:.3g}"
    head = f"α = {c.lr:.3g} until τ = {c.start}, then "
    if c.family == "eventual_exponential":
        return head + f"α e^(−r(t−τ)), r = {c.rate:g}"
    if c.family == "eventual_polynomial":
        return head + f"α (t−τ+1)^(−q), q = {c.power:g}"
    return head + f"adaptive steps to target L = {c.target:g} (r = {c.rate:g})"


def _marks(T: int, tau: int) -> list[int]:
    """The certified checkpoints: every ``10⌈T/200⌉`` steps (about twenty), τ and T."""
    every = 10 * math.ceil(T / 200)
    return sorted(set(range(0, T, every)) | {tau, T})


def _continued(schedule: sch.Schedule, offset: int) -> sch.Schedule:
    """The plain schedule t ↦ α_{t + offset}: a run continued at step ``offset`` (the same floats as one run)."""
    fn = schedule._fn
    return sch.Schedule(lambda t: fn(t + offset), 0, schedule.rate_function, schedule.description)


def _continued_rate(rate: sch.RateFunction, offset: int) -> sch.RateFunction:
    """The rate function k ↦ G(k + offset)."""
    return sch.RateFunction(
        lambda k: rate(np.asarray(k, dtype=np.int64) + offset), math.inf, f"{rate.description}, from k = {offset}"
    )


@dataclass
class _Node:
    """A cached network θ_t of a constant-rate run, the history of the steps since the previous node, its
    certificate and test MSE (computed when first asked for)."""

    net: TwoLayerNet
    history: History | None
    prev: int | None
    cert: Any = None
    test: float | None = None


class Explorer:
    """Retrain and redraw on demand (see the module docstring); ``update`` is the whole logic.

    Parameters
    ----------
    data: a d = 1 :class:`~lipnb.data.Dataset` (default: ``noisy_sine(n_train=64, n_test=200, seed=0)``);
        its test split gives the test error.
    config: the starting :class:`Config`.
    threads: torch threads during an update, restored afterwards (``None``: leave as is). One thread is
        fastest for the small matrices of the default configuration, and robust on a busy machine.
    cache_size: how many constant-rate runs (one per α, width, activation, loss and seed) to keep. The
        run up to τ depends neither on the decay nor on the family, and the ghost *is* that run continued
        to T, so moving τ, r, q, L or the family retrains only the steps after τ.
    """

    def __init__(
        self, data: Dataset | None = None, config: Config | None = None, *, threads: int | None = 1, cache_size: int = 8
    ) -> None:
        self.data = data if data is not None else noisy_sine(n_train=64, n_test=200, noise=0.1, seed=0)
        if not isinstance(self.data, Dataset):
            raise TypeError(f"data must be a lipnb.data.Dataset; got {type(self.data).__name__}")
        if self.data.d != 1:
            raise ValueError(f"data must be 1-D (the explorer draws the fitted function); got d = {self.data.d}")
        self.threads = None if threads is None else check_int("threads", threads, minimum=1)
        self.cache_size = check_int("cache_size", cache_size, minimum=0)
        self.config = (config if config is not None else Config()).validated()
        self._runs: OrderedDict[tuple, dict[int, _Node]] = OrderedDict()
        self.last: Run | None = None
        # a fixed layout: constrained layout would cost a second full draw per update
        self.figure = Figure(figsize=(10.0, 7.4), dpi=80)
        self.figure.subplots_adjust(left=0.075, right=0.985, bottom=0.075, top=0.865, wspace=0.22, hspace=0.42)
        self._build_figure()

    # ---------------------------------------------------------------- public API
    def update(self, **values: Any) -> Run:
        """Set the given :class:`Config` fields, retrain, recertify and redraw; return the :class:`Run`.

        Raises ``ValueError``/``TypeError`` for a bad value (the settings are then unchanged) and
        :class:`~lipnb.errors.TrainingDiverged` when GD diverges.
        """
        unknown = sorted(set(values) - set(Config.__dataclass_fields__))
        if unknown:
            raise TypeError(
                f"update() got unknown setting(s) {unknown}; accepted: {', '.join(Config.__dataclass_fields__)}"
            )
        config = replace(self.config, **values).validated()
        run = self.run(config)
        self.config = config
        self.last = run
        self.draw(run)
        return run

    def run(self, config: Config) -> Run:
        """Train and certify for ``config`` (and its constant-rate ghost) without drawing."""
        config = config.validated()
        old = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            run = self._run(config)
            if config.family != "constant":
                run.ghost = self._run(replace(config, family="constant", start=config.steps))
            return run
        finally:
            torch.set_num_threads(old)

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
        return buf.getvalue()

    # ---------------------------------------------------------------- training with a cache of the constant-rate run
    def _constant(self, config: Config, marks: Sequence[int]) -> dict[int, _Node]:
        """θ_t of the constant-rate run (rate α from θ₀) at every step of ``marks``, trained once and cached."""
        key = (config.lr, config.width, config.activation, config.loss, config.delta, config.seed)
        store = self._runs.get(key)
        if store is None:
            store = {0: _Node(TwoLayerNet.init(1, config.width, config.activation, seed=config.seed), None, None)}
            self._runs[key] = store
            while len(self._runs) > max(self.cache_size, 1):
                self._runs.popitem(last=False)
        self._runs.move_to_end(key)
        x, y = self.data.x_train, self.data.y_train
        for m in sorted(marks):
            if m in store:
                continue
            # GD is stateless: continuing the nearest earlier cached θ_t gives the uninterrupted run, bit for bit
            t0 = max(t for t in store if t < m)
            net, more = train(
                store[t0].net, x, y, sch.constant(config.lr), m - t0, loss=config.loss, delta=config.delta
            )
            store[m] = _Node(net, more, t0)
        return store

    @staticmethod
    def _history(store: dict[int, _Node], t: int) -> History | None:
        """The history of steps 0..t of a cached run (``None`` for t = 0)."""
        chunks = []
        while t:
            chunks.append(store[t].history)
            t = store[t].prev
        out = None
        for h in reversed(chunks):
            out = h if out is None else concat_histories(out, h)
        return out

    def _test_mse(self, net: TwoLayerNet) -> float:
        with torch.no_grad():
            return float(((net(self.data.x_test) - self.data.y_test) ** 2).mean())

    def _run(self, c: Config) -> Run:
        T = c.steps
        tau = min(c.start, T)  # the constant family also splits at τ: certified there too
        marks = _marks(T, tau)
        store = self._constant(c, [m for m in marks if m <= tau])
        head = self._history(store, tau)
        net0, mid = store[0].net, store[tau].net
        x, y = self.data.x_train, self.data.y_train
        L_sigma = net0.activation.lipschitz
        gamma: float | None = None
        rate_fn = None
        tail_rate = None
        if c.family == "adaptive" and tau < T:
            if c.rate <= 0:
                raise ValueError(
                    "rate must be > 0 for the adaptive family (G(k) = Γ(1 − e^{−r}) e^{−rk} must be summable)"
                )
            n0 = net0.norms()
            PA = float(head.path_length["A"][-1]) if head is not None else 0.0
            PB = float(head.path_length["B"][-1]) if head is not None else 0.0
            gamma = float(theory.gamma_for_target(c.target, L_sigma, float(n0["A_op"]), float(n0["B"]), PA, PB))
            rate_fn = sch.exponential_rate(gamma * -math.expm1(-c.rate), c.rate)
        elif c.family != "adaptive":
            tail_rate = c.schedule()
        nodes = {t: store[t] for t in marks if t <= tau}
        history, net = head, mid
        for t0, t1 in zip([m for m in marks if m >= tau][:-1], [m for m in marks if m >= tau][1:]):
            if rate_fn is not None:
                tail: sch.Schedule = sch.adaptive(c.lr, 0, _continued_rate(rate_fn, t0 - tau))
            else:
                tail = _continued(tail_rate, t0)
            net, more = train(net, x, y, tail, t1 - t0, loss=c.loss, delta=c.delta)
            history = more if history is None else concat_histories(history, more)
            nodes[t1] = _Node(net, more, t0)
        assert history is not None  # T ≥ 1 step was taken, before or after τ
        for node in nodes.values():
            if node.cert is None:
                node.cert = certify(node.net)
                node.test = self._test_mse(node.net)
        final = nodes[T].cert
        sup_bound: float | None = None
        if c.family == "constant":
            sup_bound, gamma = math.inf, math.inf  # a constant rate never decays: Γ = Σ_k G(k) = ∞
        elif tau < T:
            if c.family == "adaptive":
                check = theory.check_lr_constraint(history, rate_fn, tau, lip_upper=final.upper)
                sup_bound = float(check.details["bound"])
            else:
                # a plain schedule obeys the constraint with G(k) = α_{τ+k} · sup‖∇R‖ measured on the run
                measured = theory.schedule_rate(c.schedule(), history)
                if measured.summable:
                    check = theory.check_lr_constraint(history, measured, tau, lip_upper=final.upper)
                    sup_bound, gamma = float(check.details["bound"]), float(check.details["gamma"])
                else:
                    # Γ = Σ_k G(k) diverges (r = 0, q ≤ 1): LR-constraint theorem gives no bound
                    sup_bound, gamma = math.inf, math.inf
        steps_c = np.array(marks, dtype=np.int64)
        return Run(
            config=c,
            net=net,
            history=history,
            lr=np.asarray(history.lr["A"], dtype=np.float64),
            sup_bound=sup_bound,
            gamma=gamma,
            checkpoints=steps_c,
            certified=np.array([nodes[t].cert.upper for t in marks]),
            final=final,
            schedule=_describe(c),
            test_curve=np.array([nodes[t].test for t in marks]),
            test_loss=float(nodes[T].test),
        )

    # ---------------------------------------------------------------- drawing
    def _build_figure(self) -> None:
        fig = self.figure
        (self.ax_fit, self.ax_loss), (self.ax_lr, self.ax_lip) = fig.subplots(2, 2)
        d = self.data
        xs = torch.linspace(float(d.x_train.min()), float(d.x_train.max()), 400, dtype=torch.float64)[:, None]
        self._xs = xs
        ghost = dict(color="0.55", lw=1.3, ls="--")
        ax = self.ax_fit
        ax.scatter(d.x_train[:, 0].numpy(), d.y_train.numpy(), s=10, color="0.35", label="training data", zorder=3)
        if d.target is not None:
            ax.plot(xs[:, 0].numpy(), d.target(xs).numpy(), color="0.75", lw=2.5, label="target", zorder=1)
        (self.line_fit,) = ax.plot([], [], color="C0", lw=1.8, label="network $f_{\\theta_T}$")
        (self.ghost_fit,) = ax.plot([], [], **ghost, label="constant-α ghost", zorder=4)
        ax.set(xlabel="input x", ylabel="output")
        ax.legend(loc="lower left", fontsize=7, ncol=2)
        ax = self.ax_loss
        (self.ghost_loss,) = ax.plot([], [], color="0.55", lw=1.3, label="ghost: train")
        (self.ghost_test,) = ax.plot([], [], **ghost, marker=".", ms=4, label="ghost: test MSE")
        (self.line_loss,) = ax.plot([], [], color="C1", lw=1.6, label="train risk R(θ_t)")
        (self.line_test,) = ax.plot([], [], color="C3", lw=1.6, ls="--", marker=".", ms=5, label="test MSE")
        self.line_noise = ax.axhline(np.nan, color="k", lw=0.9, ls=":", label="noise variance")
        ax.set(xlabel="GD step t", ylabel="error", yscale="log")
        ax.legend(loc="upper right", fontsize=7, ncol=2)
        (self.ghost_lr,) = self.ax_lr.plot([], [], **ghost, label="constant-α ghost")
        (self.line_lr,) = self.ax_lr.plot([], [], color="C2", lw=1.6, label="α_t")
        self.ax_lr.set(xlabel="GD step t", ylabel="α_t", yscale="log")
        self.ax_lr.legend(loc="lower left", fontsize=7)
        ax = self.ax_lip
        (self.line_prod,) = ax.plot([], [], color="C0", lw=1.4, label="product bound")
        (self.line_path,) = ax.plot([], [], color="C3", lw=1.4, label="path-length bound")
        (self.line_thm,) = ax.plot([], [], color="C4", lw=2.0, ls="--", label="sup-bound (LR-constraint thm)")
        (self.ghost_cert,) = ax.plot([], [], **ghost, marker=".", ms=5, label="ghost: certified Lip")
        (self.line_cert,) = ax.plot([], [], color="k", lw=2.2, marker="o", ms=3.5, label="certified Lip(f_θt)")
        ax.set(xlabel="GD step t", ylabel="Lipschitz constant (bounds)", yscale="log")
        ax.legend(loc="upper left", fontsize=7, ncol=2)
        self.vlines = [a.axvline(0, color="0.5", lw=0.8, ls=":") for a in (self.ax_loss, self.ax_lr, self.ax_lip)]
        titles = {
            self.ax_fit: "data and fitted function",
            self.ax_loss: "train and test error",
            self.ax_lr: "learning rate",
            self.ax_lip: "Lipschitz constant",
        }
        for a, title in titles.items():
            # A title at a given height: matplotlib then skips placing it clear of the tick labels,
            # which measures every tick label's extent at each redraw (a third of the drawing time).
            a.set_title(title, y=1.0, pad=4, fontsize=10)
        # the LR-constraint theorem's Γ and bound, or why there is none, in the Lipschitz panel's title
        self.text_thm = self.ax_lip.title

    def draw(self, run: Run) -> None:
        """Redraw the four panels for ``run`` (the artists are updated in place)."""
        h, c, g = run.history, run.config, run.ghost
        with torch.no_grad():
            self.line_fit.set_data(self._xs[:, 0].numpy(), run.net(self._xs).numpy())
            self.ghost_fit.set_data(self._xs[:, 0].numpy(), g.net(self._xs).numpy() if g else [np.nan] * 400)
        self.line_loss.set_data(h.steps, h.loss)
        self.line_test.set_data(run.checkpoints, run.test_curve)
        self.line_lr.set_data(h.steps, run.lr)
        self.line_prod.set_data(h.steps, h.lip_product)
        self.line_path.set_data(h.steps, theory.path_length_bound(h))
        self.line_cert.set_data(run.checkpoints, run.certified)
        for line, xs, ys in (
            (self.ghost_loss, g.history.steps, g.history.loss) if g else (self.ghost_loss, [], []),
            (self.ghost_test, g.checkpoints, g.test_curve) if g else (self.ghost_test, [], []),
            (self.ghost_lr, g.history.steps, g.lr) if g else (self.ghost_lr, [], []),
            (self.ghost_cert, g.checkpoints, g.certified) if g else (self.ghost_cert, [], []),
        ):
            line.set_data(xs, ys)
        noise = float(self.data.noise) ** 2
        self.line_noise.set_ydata([noise, noise] if noise > 0 else [np.nan, np.nan])
        tau = min(c.start, c.steps)
        if run.sup_bound is not None and math.isfinite(run.sup_bound):
            self.line_thm.set_data([0, c.steps], [run.sup_bound, run.sup_bound])
            self.text_thm.set_text(
                f"Lipschitz constant; LR-constraint thm: Γ = {run.gamma:.3g}, bound {run.sup_bound:.4g}"
            )
        else:
            self.line_thm.set_data([], [])
            self.text_thm.set_text(
                "Lipschitz constant; LR-constraint thm: Γ = ∞, no bound"
                if run.sup_bound is not None
                else "Lipschitz constant; LR-constraint thm: the run stops before τ"
            )
        for v in self.vlines:
            v.set_xdata([tau, tau])
        self.ax_fit.relim()
        self.ax_fit.autoscale_view()
        self.ax_fit.set_ylim(-1.9, 1.6)
        for ax in (self.ax_loss, self.ax_lr, self.ax_lip):
            ax.set_xlim(-0.02 * c.steps, 1.02 * c.steps)
        # log panels: limits from the data, headroom above for the legend
        _log_limits(self.ax_loss, [self.line_loss, self.line_test, self.ghost_loss, self.ghost_test], [noise], 0.55)
        _log_limits(self.ax_lr, [self.line_lr, self.ghost_lr], [], 0.0, 0.3)
        lip = [self.line_prod, self.line_path, self.line_thm, self.line_cert, self.ghost_cert]
        _log_limits(self.ax_lip, lip, [], 0.5)
        g_text = (
            f";  constant-α ghost (grey): train {float(g.history.loss[-1]):.3g}, test {g.test_loss:.3g}, "
            f"certified Lip {g.final.upper:.4g}"
            if g
            else ""
        )
        self.figure.suptitle(
            f"{run.schedule};  m = {c.width}, {c.activation}, {c.loss}"
            + (f" (δ = {c.delta:g})" if c.loss == "huber" else "")
            + f"\nthis run: train {float(h.loss[-1]):.3g}, test MSE {run.test_loss:.3g}, "
            f"certified Lip(f_θT) {run.final.upper:.4g}" + g_text,
            fontsize=9.5,
        )

    # ---------------------------------------------------------------- the widget
    def widget(self, debounce: float = 0.25) -> ExplorerUI:
        """ipywidgets controls bound to :meth:`update` (display the returned object in a notebook)."""
        return ExplorerUI(self, debounce=debounce)


def _log_limits(ax: Any, lines: Sequence[Any], extra: Sequence[float], headroom: float, pad: float = 0.1) -> None:
    """Fit a log axis to the positive data of ``lines`` (and ``extra`` values), leaving ``headroom`` (a
    fraction of the span, in decades) above for the legend, and label its ticks with whole values."""
    vals = np.concatenate([np.asarray(ln.get_ydata(), dtype=np.float64).ravel() for ln in lines] + [np.asarray(extra)])
    vals = np.log10(vals[np.isfinite(vals) & (vals > 0)])
    if vals.size == 0:
        return
    lo, hi = float(vals.min()) - pad, float(vals.max()) + pad
    hi = max(hi, lo + 0.3)
    ax.set_ylim(10**lo, 10 ** (hi + headroom * (hi - lo)))
    _log_ticks(ax.yaxis, hi + headroom * (hi - lo) - lo)


def _log_ticks(axis: Any, decades: float) -> None:
    """Ticks at 1, 2, 5 × 10^k (fewer on a wide axis), each labelled with its whole value ("40", "0.002"),
    never a mantissa without its decade; unlabelled minor ticks at the other multiples."""
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0, 3.0) if decades <= 4 else (1.0,)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=30))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(2, 10), numticks=30))
    axis.set_minor_formatter(ticker.NullFormatter())


class _Debouncer:
    """Call ``fn`` once, ``delay`` seconds after the last of a burst of calls (on the kernel's event loop).

    Without a running event loop (plain Python, tests) or with ``delay = 0`` the call is immediate.
    """

    def __init__(self, fn: Callable[[], None], delay: float) -> None:
        self.fn = fn
        self.delay = check_real("debounce", delay, nonnegative=True)
        self._handle: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.delay == 0:
            self.fn()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.fn()
            return
        self._handle = loop.call_later(self.delay, self.fn)


class ExplorerUI:
    """The ipywidgets front end of an :class:`Explorer`: ``controls`` (name → widget), ``image``, ``status``.

    Every control has ``continuous_update=False`` (a drag sends one value, on release) and changes are
    debounced by ``debounce`` seconds, so a burst of changes retrains once. ``_repr_mimebundle_`` makes
    the object display itself; ``box`` is the top-level widget.
    """

    def __init__(self, explorer: Explorer, debounce: float = 0.25) -> None:
        import ipywidgets as w

        self.explorer = explorer
        c = explorer.config
        cu = dict(continuous_update=False, style={"description_width": "initial"}, layout=w.Layout(width="300px"))
        self.controls: dict[str, Any] = {
            "family": w.Dropdown(options=list(FAMILIES), value=c.family, description="schedule"),
            "lr": w.FloatLogSlider(
                value=c.lr, base=10, min=-3, max=-1, step=0.1, description="α (base LR)", readout_format=".3g", **cu
            ),
            "start": w.IntSlider(value=c.start, min=0, max=10_000, step=100, description="τ (decay start)", **cu),
            "rate": w.FloatSlider(
                value=c.rate, min=0.0, max=0.05, step=0.001, description="r (exp. rate)", readout_format=".3f", **cu
            ),
            "power": w.FloatSlider(value=c.power, min=0.5, max=3.0, step=0.1, description="q (poly. power)", **cu),
            "target": w.FloatLogSlider(
                value=c.target, base=10, min=0, max=3, step=0.05, description="L (target)", readout_format=".3g", **cu
            ),
            "width": w.SelectionSlider(options=list(WIDTHS), value=c.width, description="width m", **cu),
            "activation": w.Dropdown(options=["relu", "tanh"], value=c.activation, description="σ"),
            "loss": w.Dropdown(options=list(LOSSES), value=c.loss, description="loss"),
            "delta": w.FloatLogSlider(
                value=c.delta, base=10, min=-2, max=1, step=0.1, description="δ (Huber)", readout_format=".3g", **cu
            ),
            "seed": w.BoundedIntText(
                value=c.seed, min=0, max=10_000, description="seed", layout=w.Layout(width="160px")
            ),
            "steps": w.IntSlider(value=c.steps, min=100, max=10_000, step=100, description="T (steps)", **cu),
        }
        self.image = w.Image(format="png", layout=w.Layout(width="900px"))
        self.status = w.HTML(value="")
        left = w.VBox([self.controls[k] for k in ("family", "lr", "start", "rate", "power", "target")])
        right = w.VBox([self.controls[k] for k in ("width", "activation", "loss", "delta", "seed", "steps")])
        self.box = w.VBox([w.HBox([left, right]), self.status, self.image])
        self._debounced = _Debouncer(self.refresh, debounce)
        for ctl in self.controls.values():
            ctl.observe(self._changed, names="value")
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The controls' current values, as :class:`Config` fields."""
        return {k: ctl.value for k, ctl in self.controls.items()}

    def _changed(self, change: dict[str, Any]) -> None:
        self.status.value = "<i>retraining…</i>"
        self._debounced()

    def refresh(self) -> None:
        """Retrain from the controls' values and show the new figure (errors go to ``status``)."""
        try:
            run = self.explorer.update(**self.values())
        except (LipnbError, ValueError, TypeError) as err:
            self.status.value = f"<span style='color:#b00'>{type(err).__name__}: {err}</span>"
            return
        self.image.value = self.explorer.png()
        t51 = (
            "no bound (Γ = ∞)"
            if run.sup_bound is not None and not math.isfinite(run.sup_bound)
            else ("not reached (T ≤ τ)" if run.sup_bound is None else f"{run.sup_bound:.4g}")
        )
        g = run.ghost
        ghost = (
            f"<br>constant-α ghost: train loss {float(g.history.loss[-1]):.4g} · test MSE {g.test_loss:.4g} · "
            f"certified Lip(f_θT) {g.final.upper:.4g}"
            if g
            else ""
        )
        self.status.value = (
            f"train loss {float(run.history.loss[-1]):.4g} · test MSE {run.test_loss:.4g} · certified Lip(f_θT) "
            f"{run.final.upper:.4g} · product bound {float(run.history.lip_product[-1]):.4g} · "
            f"LR-constraint theorem bound {t51}" + ghost
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)


# ====================================================================================== the static view
@dataclass
class DecayGrid:
    """A τ × r grid of eventual-exponential runs from one initialization (one batched ensemble run), and
    the constant-rate run from the same θ₀ (the *ghost*, ``ghost_*``).

    Arrays are indexed [i, j] for τ = ``starts[i]``, r = ``rates[j]``; curves are sampled at ``steps``
    (every ``every``-th step and T), the certified constant and the test MSE at ``checkpoints``
    (``certified_curve``, ``test``; their last entries are ``certified`` and ``test_loss``).
    ``sup_bound`` is ``inf`` where Γ = ∞ (r = 0).
    """

    starts: np.ndarray
    rates: np.ndarray
    steps: np.ndarray
    checkpoints: np.ndarray
    x: np.ndarray
    fit: np.ndarray
    loss: np.ndarray
    test: np.ndarray
    lr: np.ndarray
    lip_product: np.ndarray
    path_bound: np.ndarray
    sup_bound: np.ndarray
    gamma: np.ndarray
    certified: np.ndarray
    certified_curve: np.ndarray
    test_loss: np.ndarray
    ghost: dict[str, np.ndarray]
    x_train: np.ndarray
    y_train: np.ndarray
    target: np.ndarray | None
    noise: float = 0.0
    config: dict = field(default_factory=dict)

    def table(self) -> list[dict[str, float]]:
        """One row per grid point: τ, r, final train loss, test MSE, certified Lip(f_θT), product and
        path-length bounds, and the LR-constraint theorem's bound."""
        rows = []
        for i, tau in enumerate(self.starts):
            for j, r in enumerate(self.rates):
                rows.append(
                    {
                        "tau": int(tau),
                        "r": float(r),
                        "loss": float(self.loss[i, j, -1]),
                        "test": float(self.test_loss[i, j]),
                        "certified": float(self.certified[i, j]),
                        "product": float(self.lip_product[i, j, -1]),
                        "path_bound": float(self.path_bound[i, j, -1]),
                        "sup_bound": float(self.sup_bound[i, j]),
                    }
                )
        return rows


def decay_grid(
    data: Dataset | None = None,
    starts: Sequence[int] = (0, 2000, 4000, 6000),
    rates: Sequence[float] = (0.0, 0.0003, 0.001, 0.003, 0.01),
    *,
    lr: float = 0.015,
    width: int = 64,
    activation: str = "relu",
    loss: str = "mse",
    delta: float = 1.0,
    seed: int = 0,
    steps: int = 8000,
    every: int = 80,
) -> DecayGrid:
    """Train every (τ, r) of the grid and the constant-rate ghost as one ensemble (same θ₀); certify each
    network and measure its test MSE at about twenty checkpoints (the explorer's, :func:`_marks`).

    Each member's LR-constraint theorem bound uses the rate function measured on its run
    (:func:`theory.schedule_rate`) and is checked (:func:`theory.check_lr_constraint`, which raises
    ``BoundViolated`` on a violation) against the product bound at every step and against the certified
    Lip(f_θT). The defaults are the explorer's.
    """
    data = data if data is not None else noisy_sine(n_train=64, n_test=200, noise=0.1, seed=0)
    if data.d != 1:
        raise ValueError(f"data must be 1-D; got d = {data.d}")
    steps = check_int("steps", steps, minimum=2)
    every = check_int("every", every, minimum=1)
    starts_a = np.array([check_int("starts", s, minimum=0, maximum=steps - 1) for s in starts], dtype=np.int64)
    rates_a = np.array([check_real("rates", r, nonnegative=True) for r in rates], dtype=np.float64)
    if starts_a.size == 0 or rates_a.size == 0:
        raise ValueError("starts and rates must each hold at least one value")
    combos = [(int(t), float(r)) for t in starts_a for r in rates_a]
    scheds = [sch.eventual_exponential(lr, t, r) for t, r in combos] + [sch.constant(lr)]
    E = len(scheds)
    net = TwoLayerNet.init(1, width, activation, seed=[seed] * E)
    marks = _marks(steps, steps)
    x, y = data.x_train, data.y_train
    hist: History | None = None
    certs, tests = [certify(net)], [_mse(net, data)]
    for t0, t1 in zip(marks[:-1], marks[1:]):
        net, more = train(net, x, y, [_continued(s, t0) for s in scheds], t1 - t0, loss=loss, delta=delta)
        hist = more if hist is None else concat_histories(hist, more)
        certs.append(certify(net))
        tests.append(_mse(net, data))
    assert hist is not None
    final = certs[-1]
    cert_curve = np.array([[c.upper for c in row] for row in certs]).T  # (E, K)
    test_curve = np.array(tests).T
    nt, nr = starts_a.size, rates_a.size
    keep = np.r_[np.arange(0, steps, every), steps]
    xs = torch.linspace(float(data.x_train.min()), float(data.x_train.max()), 200, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fit = net(xs).numpy()
    path = theory.path_length_bound(hist)
    thm = np.empty(E - 1)
    gam = np.empty(E - 1)
    for e, s in enumerate(scheds[:-1]):
        h = hist.member(e)
        rf = theory.schedule_rate(s, h)
        if rf.summable:
            chk = theory.check_lr_constraint(h, rf, s.start, lip_upper=final[e].upper)
            thm[e], gam[e] = float(chk.details["bound"]), float(chk.details["gamma"])
        else:
            thm[e] = gam[e] = math.inf
    theory.check_path_length(hist, lip_upper=[c.upper for c in final])

    def grid(a: np.ndarray) -> np.ndarray:  # the first E − 1 members, as (nt, nr, ...)
        a = np.asarray(a)[: E - 1]
        return a.reshape((nt, nr) + a.shape[1:])

    def curves(a: np.ndarray) -> np.ndarray:  # (T_log, E) → (E, len(keep))
        return np.asarray(a)[keep].T

    target = data.target(xs).numpy() if data.target is not None else None
    ghost = {
        "fit": fit[-1],
        "loss": curves(hist.loss)[-1],
        "lr": curves(hist.lr["A"])[-1],
        "test": test_curve[-1],
        "certified_curve": cert_curve[-1],
    }
    return DecayGrid(
        starts=starts_a,
        rates=rates_a,
        steps=hist.steps[keep],
        checkpoints=np.asarray(marks, dtype=np.int64),
        x=xs[:, 0].numpy(),
        fit=grid(fit),
        loss=grid(curves(hist.loss)),
        test=grid(test_curve),
        lr=grid(curves(hist.lr["A"])),
        lip_product=grid(curves(hist.lip_product)),
        path_bound=grid(curves(path)),
        sup_bound=grid(thm),
        gamma=grid(gam),
        certified=grid(cert_curve[:, -1]),
        certified_curve=grid(cert_curve),
        test_loss=grid(test_curve[:, -1]),
        ghost=ghost,
        x_train=data.x_train[:, 0].numpy(),
        y_train=data.y_train.numpy(),
        target=target,
        noise=float(data.noise),
        config={
            "lr": lr,
            "width": width,
            "activation": activation,
            "loss": loss,
            "delta": delta,
            "seed": seed,
            "steps": steps,
            "n_train": data.n_train,
        },
    )


def _mse(net: TwoLayerNet, data: Dataset) -> np.ndarray:
    """Test MSE of each member (E,)."""
    with torch.no_grad():
        return ((net(data.x_test) - data.y_test) ** 2).mean(dim=-1).numpy()


def _r(a: Any) -> Any:
    """Round to 5 significant digits for embedding (smaller page, stable text); inf/nan become None."""
    arr = np.asarray(a, dtype=np.float64)
    out = np.vectorize(lambda v: float(f"{v:.5g}") if math.isfinite(v) else None, otypes=[object])(arr)
    return out.tolist()


def _log_axis(subs: Sequence[int] = (1, 2, 5), lo: int = -8, hi: int = 6) -> dict[str, Any]:
    """A plotly log axis whose ticks at ``subs`` × 10^k carry their whole value ("40", "0.002"): plotly's
    own minor labels are bare mantissas ("4" for both 4 and 40)."""
    vals = [m * 10.0**k for k in range(lo, hi) for m in subs]
    return dict(type="log", tickmode="array", tickvals=vals, ticktext=[f"{v:g}" for v in vals])


#: The static figure's layout, in pixels: the title's two lines, then the legend (four rows of three
#: entries, each a third of the width, at every page width), then the panels. The title and the legend
#: sit at fixed heights of the container, so that neither can reach the other or the panels.
_HEIGHT, _TOP, _LEGEND_AT = 860, 205, 52


def grid_figure(grid: DecayGrid, active: tuple[int, int] | None = None) -> Any:
    """A plotly figure of the grid with two sliders (τ and r), the data of every grid point embedded.

    Traces 2–9 follow the sliders (fit, train loss, test MSE, α_t, product, path-length and sup bounds,
    certified Lip); the grey ghost (the constant-rate run) and the noise variance stay. The sliders' steps
    carry no plotly method (``"skip"``); :func:`grid_html` adds the script that restyles the traces from
    the embedded data when either slider moves. ``active`` = (i, j) is the grid point shown first
    (default: the third τ, the middle r).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    i0, j0 = active if active is not None else _default_point(grid)
    T = int(grid.steps[-1])
    steps, marks = grid.steps.tolist(), grid.checkpoints.tolist()
    fig = make_subplots(
        rows=2,
        cols=2,
        horizontal_spacing=0.1,
        vertical_spacing=0.15,
        subplot_titles=("data and fitted function", "train and test error", "learning rate α_t", "Lipschitz constant"),
    )
    pt = _grid_point(grid, i0, j0)
    ghost = dict(color="rgba(110,110,110,0.8)", dash="dash", width=1.5)

    def add(row: int, col: int, **kw: Any) -> None:
        fig.add_trace(go.Scatter(**kw), row, col)

    add(
        1,
        1,
        x=_r(grid.x_train),
        y=_r(grid.y_train),
        mode="markers",
        name="training data",
        marker=dict(size=5, color="#555"),
    )
    add(
        1,
        1,
        x=_r(grid.x),
        y=_r(grid.target) if grid.target is not None else [],
        mode="lines",
        name="target",
        line=dict(color="#bbb", width=3),
    )
    add(1, 1, x=_r(grid.x), y=pt["fit"], mode="lines", name="network f_θT", line=dict(color="#1f77b4"))
    add(1, 2, x=steps, y=pt["loss"], mode="lines", name="train risk", line=dict(color="#ff7f0e"))
    add(
        1,
        2,
        x=marks,
        y=pt["test"],
        mode="lines+markers",
        name="test MSE",
        line=dict(color="#d62728", dash="dash"),
        marker=dict(size=4),
    )
    add(2, 1, x=steps, y=pt["lr"], mode="lines", name="α_t", line=dict(color="#2ca02c"))
    add(2, 2, x=steps, y=pt["product"], mode="lines", name="product bound", line=dict(color="#1f77b4"))
    add(2, 2, x=steps, y=pt["path"], mode="lines", name="path-length bound", line=dict(color="#e377c2"))
    add(
        2,
        2,
        x=[0, T],
        y=pt["sup_bound"],
        mode="lines",
        name="LR-constraint bound",
        line=dict(color="#9467bd", dash="dash", width=3),
    )
    add(
        2,
        2,
        x=marks,
        y=pt["certified"],
        mode="lines+markers",
        name="certified Lip(f_θt)",
        line=dict(color="black", width=3),
        marker=dict(size=5),
    )
    g = grid.ghost
    for k, (row, col, xs, ys) in enumerate(
        (
            (1, 1, _r(grid.x), _r(g["fit"])),
            (1, 2, steps, _r(g["loss"])),
            (1, 2, marks, _r(g["test"])),
            (2, 1, steps, _r(g["lr"])),
            (2, 2, marks, _r(g["certified_curve"])),
        )
    ):
        add(
            row,
            col,
            x=xs,
            y=ys,
            mode="lines",
            name="constant-α ghost",
            legendgroup="ghost",
            showlegend=k == 0,
            line=ghost,
        )
    if grid.noise > 0:
        add(
            1,
            2,
            x=[0, T],
            y=[grid.noise**2] * 2,
            mode="lines",
            name="noise variance",
            line=dict(color="black", dash="dot", width=1),
        )
    for r, c in ((1, 2), (2, 1), (2, 2)):
        fig.update_xaxes(title_text="GD step t", row=r, col=c)
    fig.update_xaxes(title_text="input x", row=1, col=1)
    fig.update_yaxes(title_text="output", range=[-1.9, 1.6], row=1, col=1)
    fig.update_yaxes(title_text="error", row=1, col=2, **_log_axis())
    lr = float(grid.config.get("lr", float(np.nanmax(grid.lr))))
    fig.update_yaxes(
        title_text="α_t", row=2, col=1, **_log_axis((1, 3)), range=[math.log10(lr) - 3.5, math.log10(lr) + 0.3]
    )
    fig.update_yaxes(title_text="Lipschitz bound", row=2, col=2, **_log_axis())

    def slider(name: str, labels: list[str], active_: int, x: float) -> dict[str, Any]:
        return dict(
            name=name,
            active=active_,
            x=x,
            len=0.46 if name == "tau" else 0.5,
            y=-0.1,
            yanchor="top",
            xanchor="left",
            pad=dict(t=10, b=10),
            currentvalue=dict(prefix=f"{labels[0].split('=')[0]}= ", font=dict(size=13)),
            steps=[
                dict(method="skip", label=lab.split("=")[1].strip(), args=[], value=str(k))
                for k, lab in enumerate(labels)
            ],
        )

    fig.update_layout(
        sliders=[
            slider("tau", [f"τ = {int(t)}" for t in grid.starts], i0, 0.0),
            slider("rate", [f"r = {float(r):g}" for r in grid.rates], j0, 0.5),
        ],
        height=_HEIGHT,
        margin=dict(t=_TOP, b=130, l=60, r=20),
        title=dict(
            text=pt["title"],
            font=dict(size=13),
            x=0.01,
            xanchor="left",
            y=1.0,
            yanchor="top",
            yref="container",
            pad=dict(t=14),
        ),
        legend=dict(
            orientation="h",
            x=0.0,
            xanchor="left",
            y=1 - _LEGEND_AT / _HEIGHT,
            yanchor="top",
            yref="container",
            font=dict(size=11),
            entrywidth=0.3,
            entrywidthmode="fraction",
        ),
        template="plotly_white",
    )
    return fig


def _default_point(grid: DecayGrid) -> tuple[int, int]:
    return (min(2, grid.starts.size - 1), grid.rates.size // 2)


def _grid_point(grid: DecayGrid, i: int, j: int) -> dict[str, Any]:
    th = float(grid.sup_bound[i, j])
    return {
        "fit": _r(grid.fit[i, j]),
        "loss": _r(grid.loss[i, j]),
        "test": _r(grid.test[i, j]),
        "lr": _r(grid.lr[i, j]),
        "product": _r(grid.lip_product[i, j]),
        "path": _r(grid.path_bound[i, j]),
        "sup_bound": _r([th, th]),
        "certified": _r(grid.certified_curve[i, j]),
        "title": _grid_title(grid, i, j),
    }


def _grid_title(grid: DecayGrid, i: int, j: int) -> str:
    th = float(grid.sup_bound[i, j])
    t51 = f"{th:.4g}" if math.isfinite(th) else "none (r = 0: Γ = ∞)"
    g = grid.ghost
    return (
        f"τ = {int(grid.starts[i])}, r = {float(grid.rates[j]):g}: train {float(grid.loss[i, j, -1]):.3g}, "
        f"test MSE {float(grid.test_loss[i, j]):.3g}, certified Lip {float(grid.certified[i, j]):.4g}, "
        f"LR-constraint bound {t51}<br>grey, constant α: train {float(g['loss'][-1]):.3g}, "
        f"test MSE {float(g['test'][-1]):.3g}, certified Lip {float(g['certified_curve'][-1]):.4g}, no bound"
    )


# restyles traces 2..9 (fit, loss, test, lr, product, path, sup_bound, certified) from the embedded grid data
_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var G = %s;
var sel = [G.active[0], G.active[1]];
gd.on('plotly_sliderchange', function (e) {
  var k = e.slider.name === 'tau' ? 0 : 1;
  sel[k] = Number(e.step.value);
  var p = G.points[sel[0]][sel[1]];
  Plotly.update(gd, {y: [p.fit, p.loss, p.test, p.lr, p.product, p.path, p.sup_bound, p.certified]},
                {'title.text': p.title}, [2, 3, 4, 5, 6, 7, 8, 9]);
});
"""


def grid_html(
    grid: DecayGrid,
    div_id: str = "lipnb-decay-grid",
    include_plotlyjs: bool | str = True,
    active: tuple[int, int] | None = None,
) -> str:
    """The HTML of :func:`grid_figure` plus its slider script, for ``IPython.display.HTML``.

    ``include_plotlyjs=True`` embeds plotly.js itself (about 4.8 MB, once per page; the page then works
    offline and without require.js); ``"cdn"`` loads it from the internet instead. A fixed ``div_id``
    keeps the output identical between executions.
    """
    import plotly.io as pio

    nt, nr = grid.starts.size, grid.rates.size
    i0, j0 = active if active is not None else _default_point(grid)
    fig = grid_figure(grid, (i0, j0))
    payload = {"active": [i0, j0], "points": [[_grid_point(grid, i, j) for j in range(nr)] for i in range(nt)]}
    script = _SCRIPT % json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return pio.to_html(
        fig,
        include_plotlyjs=include_plotlyjs,
        full_html=False,
        div_id=div_id,
        post_script=script,
        config={"displaylogo": False, "responsive": True},
    )
