"""Lipschitz certificates: :func:`certify` brackets Lip(f) = sup_{x ≠ x'} |f(x) − f(x')| / ‖x − x'‖₂ of any
lipnb network (two-layer or MLP, single or ensemble) or of a PyTorch ``nn.Sequential`` of ``nn.Linear``
layers and supported activations.

A :class:`Certificate` holds ``lower ≤ Lip(f) ≤ upper`` and a witness point x where ‖∇f(x)‖ = ``lower``.
One module per method (chapter *Lipschitz constants*):

==================  =============================================  ====================================
method              upper bound                                    applies to
==================  =============================================  ====================================
``product``         L_σ‖B‖₂‖A‖_op; L_σ^{L−1}Π‖W_l‖_op (:mod:`.product`)   every network
``slope_pattern``   max over slope patterns (:mod:`.slope_pattern`)  two layers, m ≤ ``max_width``
``lipsdp``          LipSDP-Neuron, reduced LMI; MLP LMI (:mod:`.lipsdp`)  every network (cvxpy)
``lipsdp_textbook`` LipSDP-Neuron as Fazlyab et al. (2019)         two layers, small m
``exact_1d``        the exact value by sorting breakpoints (:mod:`.exact`)  two layers, d = 1, ReLU/leaky
``exact_2d``        the exact value by the line arrangement        two layers, d = 2, ReLU/leaky
``smooth_1d``       sup |f'| to ``rtol`` (:mod:`.smooth`)            two layers, d = 1, smooth σ
``eclipse_fast``    sequential bound, Λ_l = c_l I (:mod:`.sequential`)  MLP
``eclipse``         sequential bound, diagonal Λ_l by small SDPs    MLP
==================  =============================================  ====================================

Ordering (tested): lower ≤ Lip ≤ slope_pattern ≤ lipsdp ≤ product (two layers) and
lower ≤ Lip ≤ lipsdp ≤ eclipse, lower ≤ eclipse_fast ≤ product (MLP). Lower bounds come from
:func:`lower_bound` or, for the exact methods, from the gradient at the witness. Every upper bound
returned is rigorous up to the rounding of its final float64 arithmetic (the SDP values are re-verified
from the solver's multipliers, so an inaccurate solve can only loosen them).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._validate import check_choice, check_int
from ..errors import BoundViolated
from ..mlp import MLP
from ..nets import TwoLayerNet
from .certificate import _EXACT_RTOL, Certificate, _check_solver, check_keywords
from .exact import exact_1d, exact_2d
from .lipsdp import _lipsdp, lipsdp
from .lower import lower_bound
from .product import product_bound
from .sequential import eclipse, eclipse_fast, sequential_bound
from .slope_pattern import slope_pattern_bound
from .smooth import smooth_1d

__all__ = [
    "Certificate",
    "certify",
    "product_bound",
    "slope_pattern_bound",
    "lipsdp",
    "exact_1d",
    "exact_2d",
    "smooth_1d",
    "eclipse_fast",
    "eclipse",
    "sequential_bound",
    "lower_bound",
    "METHODS",
    "TWO_LAYER_METHODS",
    "MLP_METHODS",
    "AUTO_EXACT_2D_MAX_WIDTH",
    "AUTO_LIPSDP_MAX_WIDTH",
    "AUTO_LIPSDP_MAX_SIZE",
    "AUTO_ECLIPSE_MAX_SIZE",
]

TWO_LAYER_METHODS = (
    "auto",
    "product",
    "slope_pattern",
    "lipsdp",
    "lipsdp_textbook",
    "exact_1d",
    "exact_2d",
    "smooth_1d",
)
MLP_METHODS = ("auto", "product", "eclipse_fast", "eclipse", "lipsdp")
METHODS = TWO_LAYER_METHODS + tuple(m for m in MLP_METHODS if m not in TWO_LAYER_METHODS)

#: ``certify(method="auto")`` uses :func:`exact_2d` for d = 2 piecewise-linear nets up to this width.
AUTO_EXACT_2D_MAX_WIDTH = 4096
#: ``certify(method="auto")`` uses reduced LipSDP up to this width and the product bound beyond.
AUTO_LIPSDP_MAX_WIDTH = 4096
#: For an MLP, ``certify(method="auto")`` solves the full LipSDP when d + Σ n_l is at most this (Clarabel's
#: cost grows steeply with the LMI's size: about 1 s per interior-point iteration at size 96 on one core).
AUTO_LIPSDP_MAX_SIZE = 40
#: ... else the per-layer ECLipsE SDPs when every n_l + n_{l−1} is at most this, else ``eclipse_fast``.
AUTO_ECLIPSE_MAX_SIZE = 48

_LOWER_KW = ("restarts", "steps")
_TWO_LAYER_KW = {
    "product": (),
    "slope_pattern": ("max_width",),
    "lipsdp": ("solver",),
    "lipsdp_textbook": ("solver",),
    "exact_1d": (),
    "exact_2d": ("max_width",),
    "smooth_1d": ("rtol", "max_evals"),
}
_MLP_KW = {"product": (), "eclipse_fast": (), "eclipse": ("solver",), "lipsdp": ("solver",)}


def _auto_two_layer(net: TwoLayerNet) -> str:
    act, d, m = net.activation, net.d, net.width
    if d == 1 and act.piecewise_linear:
        return "exact_1d"
    if d == 2 and act.piecewise_linear and m <= AUTO_EXACT_2D_MAX_WIDTH:
        return "exact_2d"
    if d == 1 and act.smooth:
        return "smooth_1d"
    return "lipsdp" if m <= AUTO_LIPSDP_MAX_WIDTH else "product"


def _auto_mlp(net: MLP) -> str:
    sizes = [net.d, *net.widths]
    if sum(sizes) <= AUTO_LIPSDP_MAX_SIZE:
        return "lipsdp"
    if max(a + b for a, b in zip(sizes[:-1], sizes[1:])) <= AUTO_ECLIPSE_MAX_SIZE:
        return "eclipse"
    return "eclipse_fast"


def certify(
    net: Any, method: str = "auto", points: Any = None, seed: int = 0, **kw: Any
) -> Certificate | list[Certificate]:
    """Certify Lip(f): a :class:`Certificate` (lower, upper, witness), or one per ensemble member.

    ``net``: a :class:`~lipnb.TwoLayerNet`, an :class:`~lipnb.MLP`, or a ``torch.nn.Sequential`` of
    ``nn.Linear`` layers and supported activations (converted by :func:`lipnb.torch.from_module`).
    ``method``: ``"auto"`` or a method of the module table that applies to the network
    (``TWO_LAYER_METHODS`` or ``MLP_METHODS``). ``"auto"`` picks, for two layers, ``exact_1d`` (d = 1,
    ReLU/leaky ReLU), ``exact_2d`` (d = 2, ReLU/leaky ReLU, m ≤ ``AUTO_EXACT_2D_MAX_WIDTH``), ``smooth_1d``
    (d = 1, smooth σ), else reduced ``lipsdp`` for m ≤ ``AUTO_LIPSDP_MAX_WIDTH`` and ``product`` beyond;
    for an MLP, ``lipsdp`` when d + Σ n_l ≤ ``AUTO_LIPSDP_MAX_SIZE``, else ``eclipse`` when every
    n_l + n_{l−1} ≤ ``AUTO_ECLIPSE_MAX_SIZE``, else ``eclipse_fast`` (the reported MLP upper bound is the
    smaller of the method's value and the product bound, both valid).

    For the upper-bound methods the lower bound is :func:`lower_bound` on ``points`` plus random points
    (``seed``; ``restarts`` and ``steps`` may be passed in ``kw``); the exact methods give their own.
    Other ``kw`` go to the method: ``max_width`` (slope_pattern, exact_2d), ``solver`` (the SDPs),
    ``rtol``, ``max_evals`` (smooth_1d). ``details`` holds the product bound, every other value computed
    and ``time_s``.

    Raises :class:`~lipnb.errors.BoundViolated` if the lower bound exceeds the upper bound (a bug or a
    numerical failure, never expected).
    """
    if not isinstance(net, (TwoLayerNet, MLP)):
        import torch

        if isinstance(net, torch.nn.Module):
            from ..torch import from_module

            net = from_module(net)
        else:
            raise TypeError(
                f"net must be a lipnb.TwoLayerNet, a lipnb.MLP or a torch.nn.Sequential; got {type(net).__name__}"
            )
    methods = MLP_METHODS if isinstance(net, MLP) else TWO_LAYER_METHODS
    if method in METHODS and method not in methods:
        raise ValueError(f"method {method!r} does not apply to a {type(net).__name__}; choose one of {methods}")
    method = check_choice("method", method, methods)
    seed = check_int("seed", seed, minimum=0)
    if net.ensemble is not None:
        return [certify(net.member(i), method, points, seed, **kw) for i in range(net.members)]
    if isinstance(net, MLP):
        return _certify_mlp(net, method, points, seed, kw)
    return _certify_two_layer(net, method, points, seed, kw)


def _certify_two_layer(net: TwoLayerNet, method: str, points: Any, seed: int, kw: dict[str, Any]) -> Certificate:
    chosen = _auto_two_layer(net) if method == "auto" else method
    check_keywords("certify", chosen, kw, _TWO_LAYER_KW[chosen] + _LOWER_KW)
    lkw = {k: kw[k] for k in _LOWER_KW if k in kw}
    mkw = {k: kw[k] for k in _TWO_LAYER_KW[chosen] if k in kw}
    t0 = time.perf_counter()
    details: dict[str, Any] = {"requested": method, "product": product_bound(net)}
    if chosen in ("exact_1d", "exact_2d", "smooth_1d"):
        fn = {"exact_1d": exact_1d, "exact_2d": exact_2d, "smooth_1d": smooth_1d}[chosen]
        cert = fn(net, **mkw)
        details.update(cert.details)
        lower, upper, witness, exact = cert.lower, cert.upper, cert.witness, cert.exact
        if points is not None:
            lb, _ = lower_bound(net, points, restarts=1, steps=0, seed=seed)
            details["lower_bound_sampled"] = lb
    else:
        if chosen == "product":
            upper = details["product"]
        elif chosen == "slope_pattern":
            upper = slope_pattern_bound(net, **mkw)
        else:
            solver = _check_solver(mkw.get("solver"))
            upper, info = _lipsdp(net, "reduced" if chosen == "lipsdp" else "textbook", solver)
            details.update({f"lipsdp_{k}": v for k, v in info.items()})
        details[chosen] = upper
        tl = time.perf_counter()
        lower, witness = lower_bound(net, points, seed=seed, **lkw)
        details["lower_bound_s"] = time.perf_counter() - tl
        exact = upper <= lower * (1.0 + _EXACT_RTOL)
    details["time_s"] = time.perf_counter() - t0
    if lower > upper * (1.0 + 1e-7) + 1e-12:
        raise BoundViolated("certificate", None, lower, upper, f"method {chosen}: lower bound above upper bound")
    return Certificate(float(lower), float(upper), chosen, bool(exact), np.asarray(witness, dtype=np.float64), details)


def _certify_mlp(net: MLP, method: str, points: Any, seed: int, kw: dict[str, Any]) -> Certificate:
    chosen = _auto_mlp(net) if method == "auto" else method
    check_keywords("certify", chosen, kw, _MLP_KW[chosen] + _LOWER_KW)
    t0 = time.perf_counter()
    details: dict[str, Any] = {"requested": method, "product": product_bound(net)}
    if chosen == "product":
        upper = details["product"]
    elif chosen == "eclipse_fast":
        upper = eclipse_fast(net)
    elif chosen == "eclipse":
        upper = eclipse(net, kw.get("solver"), details)
    else:
        upper = lipsdp(net, solver=kw.get("solver"), details=details)
    details[chosen] = upper
    upper = min(upper, details["product"])
    tl = time.perf_counter()
    lower, witness = lower_bound(net, points, seed=seed, **{k: kw[k] for k in _LOWER_KW if k in kw})
    details["lower_bound_s"] = time.perf_counter() - tl
    details["time_s"] = time.perf_counter() - t0
    if lower > upper * (1.0 + 1e-7) + 1e-12:
        raise BoundViolated("certificate", None, lower, upper, f"method {chosen}: lower bound above upper bound")
    exact = upper <= lower * (1.0 + _EXACT_RTOL)
    return Certificate(float(lower), float(upper), chosen, bool(exact), witness, details)
