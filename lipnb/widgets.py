"""Interactive views of one run: vary the learning-rate decay and watch the Lipschitz constant.

Two views of the same experiment (a d = 1 regression, full-batch GD, a schedule that is constant at α up
to τ and decays after):

* :class:`Explorer` — a live explorer. ``Explorer.update(**values)`` retrains with :func:`lipnb.train`
  and redraws a four-panel matplotlib figure: the data and the fitted function; the training loss; the
  learning rate α_t; the Lipschitz constant along training — the product bound L_σ‖B_t‖‖A_t‖_op
  (Product bound), the path-length bound of the path-length lemma, the bound of LR-constraint theorem where the schedule decays, and
  the certified value of the network (exact for ReLU, to 1e-6 for tanh) at t = 0, τ and T.
  ``update`` is a plain method (tested headless); :meth:`Explorer.widget` wires ipywidgets controls to
  it, with ``continuous_update=False`` and a timer-based debounce.
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
    """

    family: str = "eventual_exponential"
    lr: float = 0.007
    start: int = 1000
    rate: float = 0.005
    power: float = 1.5
    target: float = 60.0
    width: int = 256
    activation: str = "relu"
    loss: str = "mse"
    delta: float = 1.0
    seed: int = 0
    steps: int = 2000

    def validated(self) -> "Config":
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
    τ); ``gamma`` its Γ; ``checkpoints`` the steps (0, τ, T) whose networks were certified, with the
    certified upper bounds in ``certified``; ``final`` is the certificate of f_{θ_T}.
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


class Explorer:
    """Retrain and redraw on demand (see the module docstring); ``update`` is the whole logic.

    Parameters
    ----------
    data: a d = 1 :class:`~lipnb.data.Dataset` (default: ``noisy_sine(n_train=64, seed=0)``).
    config: the starting :class:`Config`.
    threads: torch threads during an update, restored afterwards (``None``: leave as is). One thread is
        fastest for the small matrices of the default configuration, and robust on a busy machine.
    cache_size: how many constant-rate prefixes (the run up to τ, which depends neither on the decay
        nor on the family) to keep, so that moving r, q, L or the family retrains only the tail.
    """

    #: prefixes are stored at every multiple of CHUNK steps
    CHUNK = 250

    def __init__(self, data: Dataset | None = None, config: Config | None = None, *, threads: int | None = 1,
                 cache_size: int = 8) -> None:
        self.data = data if data is not None else noisy_sine(n_train=64, n_test=200, noise=0.1, seed=0)
        if not isinstance(self.data, Dataset):
            raise TypeError(f"data must be a lipnb.data.Dataset; got {type(self.data).__name__}")
        if self.data.d != 1:
            raise ValueError(f"data must be 1-D (the explorer draws the fitted function); got d = {self.data.d}")
        self.threads = None if threads is None else check_int("threads", threads, minimum=1)
        self.cache_size = check_int("cache_size", cache_size, minimum=0)
        self.config = (config if config is not None else Config()).validated()
        self._prefixes: OrderedDict[tuple, dict[int, tuple[TwoLayerNet, History | None]]] = OrderedDict()
        self.last: Run | None = None
        # a fixed layout: constrained layout would cost a second full draw per update
        self.figure = Figure(figsize=(10.0, 6.6), dpi=80)
        self.figure.subplots_adjust(left=0.08, right=0.985, bottom=0.08, top=0.9, wspace=0.24, hspace=0.38)
        self._build_figure()

    # ---------------------------------------------------------------- public API
    def update(self, **values: Any) -> Run:
        """Set the given :class:`Config` fields, retrain, recertify and redraw; return the :class:`Run`.

        Raises ``ValueError``/``TypeError`` for a bad value (the settings are then unchanged) and
        :class:`~lipnb.errors.TrainingDiverged` when GD diverges.
        """
        unknown = sorted(set(values) - set(Config.__dataclass_fields__))
        if unknown:
            raise TypeError(f"update() got unknown setting(s) {unknown}; accepted: {', '.join(Config.__dataclass_fields__)}")
        config = replace(self.config, **values).validated()
        run = self.run(config)
        self.config = config
        self.last = run
        self.draw(run)
        return run

    def run(self, config: Config) -> Run:
        """Train and certify for ``config`` without drawing."""
        config = config.validated()
        old = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            return self._run(config)
        finally:
            torch.set_num_threads(old)

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
        return buf.getvalue()

    # ---------------------------------------------------------------- training with a prefix cache
    def _prefix(self, config: Config, tau: int) -> tuple[TwoLayerNet, History | None, TwoLayerNet]:
        """(θ_τ, the history of steps 0..τ or None for τ = 0, θ_0): constant rate α up to τ, cached."""
        key = (config.lr, config.width, config.activation, config.loss, config.delta, config.seed)
        store = self._prefixes.get(key)
        if store is None:
            net0 = TwoLayerNet.init(1, config.width, config.activation, seed=config.seed)
            store = {0: (net0, None)}
            self._prefixes[key] = store
            while len(self._prefixes) > max(self.cache_size, 1):
                self._prefixes.popitem(last=False)
        self._prefixes.move_to_end(key)
        net0 = store[0][0]
        if tau in store:
            return store[tau][0], store[tau][1], net0
        # extend the longest cached prefix that ends before τ (GD with a constant rate is one run), storing
        # θ_t at every multiple of CHUNK on the way, so that moving τ back later reuses a nearby prefix
        t0 = max(t for t in store if t < tau)
        net, hist = store[t0]
        x, y = self.data.x_train, self.data.y_train
        while t0 < tau:
            t1 = min(tau, (t0 // self.CHUNK + 1) * self.CHUNK)
            net, more = train(net, x, y, sch.constant(config.lr), t1 - t0, loss=config.loss, delta=config.delta)
            hist = more if hist is None else concat_histories(hist, more)
            store[t1] = (net, hist)
            t0 = t1
        return net, hist, net0

    def _run(self, c: Config) -> Run:
        T = c.steps
        tau = min(c.start, T)  # the constant family also splits at τ: certified there too
        mid, head, net0 = self._prefix(c, tau)
        x, y = self.data.x_train, self.data.y_train
        L_sigma = net0.activation.lipschitz
        gamma: float | None = None
        rate_fn = None
        if c.family == "adaptive" and tau < T:
            if c.rate <= 0:
                raise ValueError("rate must be > 0 for the adaptive family (G(k) = Γ(1 − e^{−r}) e^{−rk} must be summable)")
            n0 = net0.norms()
            PA = float(head.path_length["A"][-1]) if head is not None else 0.0
            PB = float(head.path_length["B"][-1]) if head is not None else 0.0
            gamma = float(theory.gamma_for_target(c.target, L_sigma, float(n0["A_op"]), float(n0["B"]), PA, PB))
            rate_fn = sch.exponential_rate(gamma * -math.expm1(-c.rate), c.rate)
            tail_sched: sch.Schedule = sch.adaptive(c.lr, 0, rate_fn)
        elif c.family == "eventual_exponential":
            tail_sched = sch.exponential(c.lr, c.rate)
        elif c.family == "eventual_polynomial":
            tail_sched = sch.eventual_polynomial(c.lr, 0, c.power)
        else:
            tail_sched = sch.constant(c.lr)
        if tau < T:
            net, tail = train(mid, x, y, tail_sched, T - tau, loss=c.loss, delta=c.delta)
            history = tail if head is None else concat_histories(head, tail)
        else:
            net, history = mid, head
        lr = np.asarray(history.lr["A"], dtype=np.float64)
        sup_bound: float | None = None
        nets = {0: net0, tau: mid, T: net}
        certs = {t: certify(n) for t, n in nets.items()}
        final = certs[T]
        if tau < T:
            if c.family == "adaptive":
                check = theory.check_lr_constraint(history, rate_fn, tau, lip_upper=final.upper)
                sup_bound = float(check.details["bound"])
            else:
                # a plain schedule obeys the constraint with G(k) = α_{τ+k} · sup‖∇R‖ measured on the run
                measured = None if c.family == "constant" else theory.schedule_rate(c.schedule(), history)
                if measured is not None and measured.summable:
                    check = theory.check_lr_constraint(history, measured, tau, lip_upper=final.upper)
                    sup_bound, gamma = float(check.details["bound"]), float(check.details["gamma"])
                else:
                    # Γ = Σ_k G(k) diverges (constant rate, r = 0, q ≤ 1): LR-constraint theorem gives no bound
                    sup_bound, gamma = math.inf, math.inf
        steps_c = np.array(sorted(certs), dtype=np.int64)
        ups = np.array([certs[t].upper for t in steps_c])
        return Run(c, net, history, lr, sup_bound, gamma, steps_c, ups, final, _describe(c))

    # ---------------------------------------------------------------- drawing
    def _build_figure(self) -> None:
        fig = self.figure
        (self.ax_fit, self.ax_loss), (self.ax_lr, self.ax_lip) = fig.subplots(2, 2)
        d = self.data
        xs = torch.linspace(float(d.x_train.min()), float(d.x_train.max()), 400, dtype=torch.float64)[:, None]
        self._xs = xs
        self.ax_fit.scatter(d.x_train[:, 0].numpy(), d.y_train.numpy(), s=10, color="0.35", label="training data",
                            zorder=3)
        if d.target is not None:
            self.ax_fit.plot(xs[:, 0].numpy(), d.target(xs).numpy(), color="0.6", ls="--", label="target")
        self.line_fit, = self.ax_fit.plot([], [], color="C0", lw=1.8, label="network $f_{\\theta_T}$")
        self.ax_fit.set(xlabel="input x", ylabel="output")
        self.ax_fit.legend(loc="upper right", fontsize=8)
        self.line_loss, = self.ax_loss.plot([], [], color="C1", lw=1.5)
        self.ax_loss.set(xlabel="GD step t", ylabel="risk R(θ_t)", yscale="log")
        self.line_lr, = self.ax_lr.plot([], [], color="C2", lw=1.5, label="α_t")
        self.ax_lr.set(xlabel="GD step t", ylabel="α_t", yscale="log")
        ax = self.ax_lip
        self.line_prod, = ax.plot([], [], color="C0", lw=1.5, label="product L_σ‖B_t‖‖A_t‖ (Product bound)")
        self.line_path, = ax.plot([], [], color="C3", lw=1.5, label="path bound (Path-length lemma)")
        self.line_thm, = ax.plot([], [], color="C4", lw=2.0, ls="--", label="sup-bound (LR-constraint theorem)")
        self.line_cert, = ax.plot([], [], color="k", marker="o", ls="none", ms=6, label="certified Lip(f_θt)")
        ax.set(xlabel="GD step t", ylabel="Lipschitz bound", yscale="log")
        ax.legend(loc="upper left", fontsize=7, ncol=2)
        self.text_thm = ax.text(0.98, 0.04, "", transform=ax.transAxes, ha="right", va="bottom", fontsize=8)
        self.vlines = [a.axvline(0, color="0.5", lw=0.8, ls=":") for a in (self.ax_loss, self.ax_lr, self.ax_lip)]
        titles = {self.ax_fit: "data and fitted function", self.ax_loss: "training loss",
                  self.ax_lr: "learning rate", self.ax_lip: "Lipschitz constant"}
        for a, title in titles.items():
            # A title at a given height: matplotlib then skips placing it clear of the tick labels,
            # which measures every tick label's extent at each redraw (a third of the drawing time).
            a.set_title(title, y=1.0, pad=4)
        for a in (self.ax_loss, self.ax_lr, self.ax_lip):
            # plain "1e-02" labels and no minor labels: mathtext tick labels dominate the redraw time
            a.yaxis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=True))
            # ... except on an axis spanning less than a decade (the loss, often), which would have no label
            # at all: there the minor ticks (2, 3, 5, ...) are labelled, in the same plain format.
            a.yaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))

    def draw(self, run: Run) -> None:
        """Redraw the four panels for ``run`` (the artists are updated in place)."""
        h, c = run.history, run.config
        with torch.no_grad():
            self.line_fit.set_data(self._xs[:, 0].numpy(), run.net(self._xs).numpy())
        self.line_loss.set_data(h.steps, h.loss)
        self.line_lr.set_data(h.steps, run.lr)
        self.line_prod.set_data(h.steps, h.lip_product)
        self.line_path.set_data(h.steps, theory.path_length_bound(h))
        tau = min(c.start, c.steps)
        if run.sup_bound is not None and math.isfinite(run.sup_bound):
            self.line_thm.set_data([0, c.steps], [run.sup_bound, run.sup_bound])
            self.text_thm.set_text(f"LR-constraint theorem: Γ = {run.gamma:.3g}, sup-bound {run.sup_bound:.3g}")
        else:
            self.line_thm.set_data([], [])
            self.text_thm.set_text("LR-constraint theorem: Γ = ∞, no bound" if run.sup_bound is not None else
                                   "LR-constraint theorem: the run stops before τ")
        self.line_cert.set_data(run.checkpoints, run.certified)
        for v in self.vlines:
            v.set_xdata([tau, tau])
        for ax in (self.ax_fit, self.ax_loss, self.ax_lr, self.ax_lip):
            ax.relim()
            ax.autoscale_view()
        self.ax_fit.set_ylim(-1.6, 1.6)
        vals = np.concatenate([np.asarray(ln.get_ydata(), dtype=np.float64) for ln in
                               (self.line_prod, self.line_path, self.line_thm, self.line_cert)])
        vals = np.log10(vals[np.isfinite(vals) & (vals > 0)])
        lo, hi = float(vals.min()) - 0.1, float(vals.max()) + 0.1
        self.ax_lip.set_ylim(10 ** lo, 10 ** (hi + 0.5 * (hi - lo)))  # headroom for the legend above the curves
        self.figure.suptitle(f"{run.schedule};  m = {c.width}, {c.activation}, {c.loss}"
                             + (f" (δ = {c.delta:g})" if c.loss == "huber" else "")
                             + f";  certified Lip(f_θT) = {run.final.upper:.4g}", fontsize=10)

    # ---------------------------------------------------------------- the widget
    def widget(self, debounce: float = 0.25) -> "ExplorerUI":
        """ipywidgets controls bound to :meth:`update` (display the returned object in a notebook)."""
        return ExplorerUI(self, debounce=debounce)


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
        cu = dict(continuous_update=False, style={"description_width": "initial"},
                  layout=w.Layout(width="300px"))
        self.controls: dict[str, Any] = {
            "family": w.Dropdown(options=list(FAMILIES), value=c.family, description="schedule"),
            "lr": w.FloatLogSlider(value=c.lr, base=10, min=-3, max=-1, step=0.1, description="α (base LR)",
                                   readout_format=".3g", **cu),
            "start": w.IntSlider(value=c.start, min=0, max=10_000, step=100, description="τ (decay start)", **cu),
            "rate": w.FloatSlider(value=c.rate, min=0.0, max=0.05, step=0.001, description="r (exp. rate)",
                                  readout_format=".3f", **cu),
            "power": w.FloatSlider(value=c.power, min=0.5, max=3.0, step=0.1, description="q (poly. power)", **cu),
            "target": w.FloatLogSlider(value=c.target, base=10, min=0, max=3, step=0.05, description="L (target)",
                                       readout_format=".3g", **cu),
            "width": w.SelectionSlider(options=list(WIDTHS), value=c.width, description="width m", **cu),
            "activation": w.Dropdown(options=["relu", "tanh"], value=c.activation, description="σ"),
            "loss": w.Dropdown(options=list(LOSSES), value=c.loss, description="loss"),
            "delta": w.FloatLogSlider(value=c.delta, base=10, min=-2, max=1, step=0.1, description="δ (Huber)",
                                      readout_format=".3g", **cu),
            "seed": w.BoundedIntText(value=c.seed, min=0, max=10_000, description="seed",
                                     layout=w.Layout(width="160px")),
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
        t51 = "no bound (Γ = ∞)" if run.sup_bound is not None and not math.isfinite(run.sup_bound) else (
            "not reached (T ≤ τ)" if run.sup_bound is None else f"{run.sup_bound:.4g}")
        self.status.value = (f"final loss {float(run.history.loss[-1]):.4g} · certified Lip(f_θT) "
                             f"{run.final.upper:.4g} · product bound {float(run.history.lip_product[-1]):.4g} · "
                             f"LR-constraint theorem bound {t51}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)


# ====================================================================================== the static view
@dataclass
class DecayGrid:
    """A τ × r grid of eventual-exponential runs from one initialization (one batched ensemble run).

    Arrays are indexed [i, j] for τ = ``starts[i]``, r = ``rates[j]``; curves are sampled at ``steps``
    (every ``every``-th step and T). ``sup_bound`` is ``inf`` where Γ = ∞ (r = 0).
    """

    starts: np.ndarray
    rates: np.ndarray
    steps: np.ndarray
    x: np.ndarray
    fit: np.ndarray
    loss: np.ndarray
    lr: np.ndarray
    lip_product: np.ndarray
    path_bound: np.ndarray
    sup_bound: np.ndarray
    gamma: np.ndarray
    certified: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    target: np.ndarray | None
    config: dict = field(default_factory=dict)

    def table(self) -> list[dict[str, float]]:
        """One row per grid point: τ, r, final loss, certified Lip(f_θT), product and Path-length lemma bounds, LR-constraint theorem."""
        rows = []
        for i, tau in enumerate(self.starts):
            for j, r in enumerate(self.rates):
                rows.append({"tau": int(tau), "r": float(r), "loss": float(self.loss[i, j, -1]),
                             "certified": float(self.certified[i, j]),
                             "product": float(self.lip_product[i, j, -1]),
                             "path_bound": float(self.path_bound[i, j, -1]), "sup_bound": float(self.sup_bound[i, j])})
        return rows


def decay_grid(data: Dataset | None = None, starts: Sequence[int] = (0, 500, 1000, 1500),
               rates: Sequence[float] = (0.0, 0.001, 0.003, 0.01, 0.03), *, lr: float = 0.007, width: int = 256,
               activation: str = "relu", loss: str = "mse", delta: float = 1.0, seed: int = 0, steps: int = 2000,
               every: int = 20) -> DecayGrid:
    """Train every (τ, r) of the grid as one ensemble (same θ₀) and certify each final network.

    Each member's LR-constraint theorem bound uses the rate function measured on its run (:func:`theory.schedule_rate`)
    and is checked (:func:`theory.check_lr_constraint`, which raises ``BoundViolated`` on a violation)
    against the product bound at every step and against the certified Lip(f_θT).
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
    E = len(combos)
    net0 = TwoLayerNet.init(1, width, activation, seed=[seed] * E)
    scheds = [sch.eventual_exponential(lr, t, r) for t, r in combos]
    net, hist = train(net0, data.x_train, data.y_train, scheds, steps, loss=loss, delta=delta)
    certs = certify(net)
    nt, nr = starts_a.size, rates_a.size
    keep = np.r_[np.arange(0, steps, every), steps]
    xs = torch.linspace(float(data.x_train.min()), float(data.x_train.max()), 200, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fit = net(xs).numpy()
    path = theory.path_length_bound(hist)
    thm = np.empty(E)
    gam = np.empty(E)
    for e, s in enumerate(scheds):
        h = hist.member(e)
        rf = theory.schedule_rate(s, h)
        if rf.summable:
            chk = theory.check_lr_constraint(h, rf, s.start, lip_upper=certs[e].upper)
            thm[e], gam[e] = float(chk.details["bound"]), float(chk.details["gamma"])
        else:
            thm[e] = gam[e] = math.inf
    theory.check_path_length(hist, lip_upper=[c.upper for c in certs])

    def grid(a: np.ndarray) -> np.ndarray:
        return np.asarray(a).reshape((nt, nr) + np.asarray(a).shape[1:])

    def curves(a: np.ndarray) -> np.ndarray:  # (T_log, E) → (nt, nr, len(keep))
        return grid(np.asarray(a)[keep].T)

    target = data.target(xs).numpy() if data.target is not None else None
    return DecayGrid(
        starts=starts_a, rates=rates_a, steps=hist.steps[keep], x=xs[:, 0].numpy(), fit=grid(fit),
        loss=curves(hist.loss), lr=curves(hist.lr["A"]), lip_product=curves(hist.lip_product),
        path_bound=curves(path), sup_bound=grid(thm), gamma=grid(gam), certified=grid(np.array([c.upper for c in certs])),
        x_train=data.x_train[:, 0].numpy(), y_train=data.y_train.numpy(), target=target,
        config={"lr": lr, "width": width, "activation": activation, "loss": loss, "delta": delta, "seed": seed,
                "steps": steps, "n_train": data.n_train},
    )


def _r(a: Any) -> Any:
    """Round to 5 significant digits for embedding (smaller page, stable text); inf/nan become None."""
    arr = np.asarray(a, dtype=np.float64)
    out = np.vectorize(lambda v: float(f"{v:.5g}") if math.isfinite(v) else None, otypes=[object])(arr)
    return out.tolist()


def grid_figure(grid: DecayGrid, active: tuple[int, int] | None = None) -> Any:
    """A plotly figure of the grid with two sliders (τ and r), the data of every grid point embedded.

    The sliders' steps carry no plotly method (``"skip"``); :func:`grid_html` adds the script that
    restyles the traces from the embedded data when either slider moves. ``active`` = (i, j) is the
    grid point shown first (default: the middle τ, the middle r).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    nt, nr = grid.starts.size, grid.rates.size
    i0, j0 = active if active is not None else (nt // 2, nr // 2)
    T = int(grid.steps[-1])
    fig = make_subplots(rows=2, cols=2, horizontal_spacing=0.1, vertical_spacing=0.16,
                        subplot_titles=("data and fitted function", "training loss", "learning rate α_t",
                                        "Lipschitz constant"))
    fig.add_trace(go.Scatter(x=_r(grid.x_train), y=_r(grid.y_train), mode="markers", name="training data",
                             marker=dict(size=5, color="#555")), 1, 1)
    fig.add_trace(go.Scatter(x=_r(grid.x), y=_r(grid.target) if grid.target is not None else [], mode="lines",
                             name="target", line=dict(dash="dash", color="#999")), 1, 1)
    pt = _grid_point(grid, i0, j0)
    fig.add_trace(go.Scatter(x=_r(grid.x), y=pt["fit"], mode="lines", name="network f_θT", line=dict(color="#1f77b4")), 1, 1)
    fig.add_trace(go.Scatter(x=grid.steps.tolist(), y=pt["loss"], mode="lines", name="training loss",
                             line=dict(color="#ff7f0e")), 1, 2)
    fig.add_trace(go.Scatter(x=grid.steps.tolist(), y=pt["lr"], mode="lines", name="α_t", line=dict(color="#2ca02c")), 2, 1)
    fig.add_trace(go.Scatter(x=grid.steps.tolist(), y=pt["product"], mode="lines", name="product bound (Product bound)",
                             line=dict(color="#1f77b4")), 2, 2)
    fig.add_trace(go.Scatter(x=grid.steps.tolist(), y=pt["path"], mode="lines", name="path bound (Path-length lemma)",
                             line=dict(color="#d62728")), 2, 2)
    fig.add_trace(go.Scatter(x=[0, T], y=pt["sup_bound"], mode="lines", name="sup-bound (LR-constraint theorem)",
                             line=dict(color="#9467bd", dash="dash", width=3)), 2, 2)
    fig.add_trace(go.Scatter(x=[T], y=pt["certified"], mode="markers", name="certified Lip(f_θT)",
                             marker=dict(color="black", size=9)), 2, 2)
    for r, c in ((1, 2), (2, 1), (2, 2)):
        fig.update_xaxes(title_text="GD step t", row=r, col=c)
    fig.update_xaxes(title_text="input x", row=1, col=1)
    fig.update_yaxes(title_text="output", row=1, col=1)
    fig.update_yaxes(title_text="risk R(θ_t)", type="log", row=1, col=2)
    fig.update_yaxes(title_text="α_t", type="log", row=2, col=1)
    fig.update_yaxes(title_text="Lipschitz bound", type="log", row=2, col=2)

    def slider(name: str, labels: list[str], active_: int, y: float) -> dict[str, Any]:
        return dict(name=name, active=active_, x=0.0, len=0.46 if name == "tau" else 0.5, y=y, yanchor="top",
                    xanchor="left", pad=dict(t=10, b=10), currentvalue=dict(prefix=f"{labels[0].split('=')[0]}= ",
                                                                            font=dict(size=13)),
                    steps=[dict(method="skip", label=lab.split("=")[1].strip(), args=[], value=str(k))
                           for k, lab in enumerate(labels)])

    s_tau = slider("tau", [f"τ = {int(t)}" for t in grid.starts], i0, -0.12)
    s_r = slider("rate", [f"r = {float(r):g}" for r in grid.rates], j0, -0.12)
    s_r["x"] = 0.5
    fig.update_layout(sliders=[s_tau, s_r], height=720, margin=dict(t=90, b=140, l=60, r=20),
                      title=dict(text=_grid_title(grid, i0, j0), font=dict(size=14)),
                      legend=dict(orientation="h", y=1.13, x=0.0, font=dict(size=11)), template="plotly_white")
    return fig


def _grid_point(grid: DecayGrid, i: int, j: int) -> dict[str, Any]:
    th = float(grid.sup_bound[i, j])
    return {"fit": _r(grid.fit[i, j]), "loss": _r(grid.loss[i, j]), "lr": _r(grid.lr[i, j]),
            "product": _r(grid.lip_product[i, j]), "path": _r(grid.path_bound[i, j]),
            "sup_bound": _r([th, th]), "certified": _r([grid.certified[i, j]]), "title": _grid_title(grid, i, j)}


def _grid_title(grid: DecayGrid, i: int, j: int) -> str:
    th = float(grid.sup_bound[i, j])
    t51 = f"{th:.4g}" if math.isfinite(th) else "∞ (r = 0: Γ = ∞)"
    return (f"τ = {int(grid.starts[i])}, r = {float(grid.rates[j]):g}: final loss {float(grid.loss[i, j, -1]):.3g}, "
            f"certified Lip {float(grid.certified[i, j]):.4g}, LR-constraint theorem bound {t51}")


# restyles traces 2.. (fit, loss, lr, product, path, sup_bound, certified) from the embedded grid data
_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var G = %s;
var sel = [G.active[0], G.active[1]];
gd.on('plotly_sliderchange', function (e) {
  var k = e.slider.name === 'tau' ? 0 : 1;
  sel[k] = Number(e.step.value);
  var p = G.points[sel[0]][sel[1]];
  Plotly.update(gd, {y: [p.fit, p.loss, p.lr, p.product, p.path, p.sup_bound, p.certified]},
                {'title.text': p.title}, [2, 3, 4, 5, 6, 7, 8]);
});
"""


def grid_html(grid: DecayGrid, div_id: str = "lipnb-decay-grid", include_plotlyjs: "bool | str" = True,
              active: tuple[int, int] | None = None) -> str:
    """The HTML of :func:`grid_figure` plus its slider script, for ``IPython.display.HTML``.

    ``include_plotlyjs=True`` embeds plotly.js itself (about 4.8 MB, once per page; the page then works
    offline and without require.js); ``"cdn"`` loads it from the internet instead. A fixed ``div_id``
    keeps the output identical between executions.
    """
    import plotly.io as pio

    nt, nr = grid.starts.size, grid.rates.size
    i0, j0 = active if active is not None else (nt // 2, nr // 2)
    fig = grid_figure(grid, (i0, j0))
    payload = {"active": [i0, j0], "points": [[_grid_point(grid, i, j) for j in range(nr)] for i in range(nt)]}
    script = _SCRIPT % json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return pio.to_html(fig, include_plotlyjs=include_plotlyjs, full_html=False, div_id=div_id, post_script=script,
                       config={"displaylogo": False, "responsive": True})
