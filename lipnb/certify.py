"""Lipschitz certificates for two-layer networks f(x) = B σ(Ax + a) + b (THEORY.md §2).

Lip(f) = sup_{x ≠ x'} |f(x) − f(x')| / ‖x − x'‖₂ = sup_x ‖∇f(x)‖₂ (f is differentiable a.e.). A
:class:`Certificate` brackets it: ``lower ≤ Lip(f) ≤ upper``, with a witness point x where
‖∇f(x)‖ = ``lower``. What each method gives:

==================  ===========================================  =====================================
method              upper bound                                  applies to
==================  ===========================================  =====================================
``product``         Prop 2.1: L_σ ‖B‖₂ ‖A‖_op                   every network
``slope_pattern``   Prop 2.2: max_{s ∈ {s_lo, s_hi}^m} ‖B diag(s) A‖  m ≤ ``max_width`` (2^m patterns)
``lipsdp``          LipSDP-Neuron, reduced (d+1)×(d+1) LMI       every network (cvxpy)
``lipsdp_textbook`` LipSDP-Neuron as Fazlyab et al. (2019)       small m (an (m+d)×(m+d) LMI)
``exact_1d``        the exact value, by sorting breakpoints      d = 1, ReLU / leaky ReLU
``exact_2d``        the exact value, by the line arrangement     d = 2, ReLU / leaky ReLU
``smooth_1d``       sup |f'| to relative tolerance ``rtol``      d = 1, tanh / sigmoid / softplus / GELU
==================  ===========================================  =====================================

Ordering (tested): lower ≤ Lip ≤ slope_pattern ≤ lipsdp ≤ product. Lower bounds come from
:func:`lower_bound` (‖∇f‖ at data and random points, refined by gradient ascent) or, for the exact
methods, from the gradient at the witness. :func:`certify` picks a method and returns both sides.

Every upper bound returned is rigorous up to floating-point rounding of the final arithmetic; in
particular the LipSDP value is *re-verified* in float64 from the solver's multipliers λ (see
:func:`lipsdp`), so an inaccurate solve can only make it looser, never invalid.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.special import expit, ndtr

from ._validate import as_tensor, check_choice, check_int, check_real
from .errors import BoundViolated
from .nets import TwoLayerNet

__all__ = [
    "Certificate",
    "certify",
    "product_bound",
    "slope_pattern_bound",
    "lipsdp",
    "exact_1d",
    "exact_2d",
    "smooth_1d",
    "lower_bound",
    "METHODS",
    "AUTO_EXACT_2D_MAX_WIDTH",
    "AUTO_LIPSDP_MAX_WIDTH",
]

METHODS = ("auto", "product", "slope_pattern", "lipsdp", "lipsdp_textbook", "exact_1d", "exact_2d", "smooth_1d")

#: ``certify(method="auto")`` uses :func:`exact_2d` for d = 2 piecewise-linear nets up to this width.
AUTO_EXACT_2D_MAX_WIDTH = 4096
#: ``certify(method="auto")`` uses reduced LipSDP up to this width and the product bound beyond.
AUTO_LIPSDP_MAX_WIDTH = 4096

_EXACT_RTOL = 1e-9
_EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Certificate:
    """A certified bracket ``lower ≤ Lip(f_θ) ≤ upper`` (THEORY.md §2).

    Attributes
    ----------
    lower: a lower bound, attained: ‖∇f(witness)‖₂ = lower (up to rounding).
    upper: an upper bound from ``method``.
    method: the method that produced ``upper`` (one of ``METHODS`` except ``"auto"``).
    exact: True when lower = upper to tolerance (relative 1e-9 for ``exact_1d``/``exact_2d``, the
        requested ``rtol`` for ``smooth_1d``): then Lip(f) is known and attained at ``witness``.
    witness: a point x ∈ R^d (shape (d,)) with ‖∇f(x)‖ = lower.
    details: per-method values and diagnostics (other bounds computed on the way, solver status,
        timings in seconds under ``"time_s"``).
    """

    lower: float
    upper: float
    method: str
    exact: bool
    witness: np.ndarray = field(compare=False)
    details: dict = field(default_factory=dict, compare=False)

    @property
    def ratio(self) -> float:
        """upper / lower: 1 for an exact certificate; ``inf`` when lower = 0 < upper."""
        if self.lower > 0:
            return self.upper / self.lower
        return 1.0 if self.upper == 0 else math.inf

    def __str__(self) -> str:
        tag = "exact" if self.exact else f"ratio {self.ratio:.4g}"
        return f"Lip(f) ∈ [{self.lower:.6g}, {self.upper:.6g}]  ({self.method}, {tag})"


# ---------------------------------------------------------------------------------------------- helpers
def _check_net(net: Any, where: str) -> TwoLayerNet:
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    if net.ensemble is not None:
        raise ValueError(
            f"{where} certifies a single network; got an ensemble of {net.ensemble} members. "
            "Use certify(net) (one certificate per member) or net.member(i)."
        )
    return net


def _weights(net: TwoLayerNet) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(A, a, B, b) of a single network as float64 NumPy arrays of shapes (m, d), (m,), (m,), ()."""
    A = net.A.detach().to("cpu", torch.float64).numpy()
    a = net.a.detach().to("cpu", torch.float64).numpy()
    B = net.B.detach().to("cpu", torch.float64).numpy()
    return A, a, B, float(net.b)


def _require_pl(net: TwoLayerNet, method: str, d: int) -> float:
    """Check d and a piecewise-linear σ; return the leaky slope β (0 for ReLU)."""
    if net.d != d:
        raise ValueError(f"method {method!r} needs input dimension d = {d}; this network has d = {net.d}")
    act = net.activation
    if not act.piecewise_linear:
        raise ValueError(
            f"method {method!r} needs a piecewise-linear activation (relu, leaky_relu); this network uses "
            f"{act}. Use 'smooth_1d' (d = 1) or 'lipsdp' instead."
        )
    return float(act.negative_slope) if act.name == "leaky_relu" else 0.0


def _pl_gradient(A: np.ndarray, a: np.ndarray, B: np.ndarray, beta: float, x: np.ndarray) -> np.ndarray:
    """∇f(x) of a ReLU / leaky-ReLU(β) net, computed directly: β Σ_i B_i A_i + (1 − β) Σ_{active} B_i A_i."""
    c = B[:, None] * A
    active = (x @ A.T + a) > 0
    return beta * c.sum(axis=0) + (1.0 - beta) * (active.astype(np.float64) @ c)


# ---------------------------------------------------------------------------------------------- Prop 2.1
def product_bound(net: TwoLayerNet) -> float:
    """Prop 2.1: Lip(f_θ) ≤ L_σ ‖B‖₂ ‖A‖_op."""
    net = _check_net(net, "product_bound")
    return float(net.product_bound())


# ---------------------------------------------------------------------------------------------- Prop 2.2
def slope_pattern_bound(net: TwoLayerNet, max_width: int = 20) -> float:
    """Prop 2.2: Lip(f_θ) ≤ max_{s ∈ {s_lo, s_hi}^m} ‖B diag(s) A‖₂ = max_s ‖Σ_i s_i B_i A_i‖₂.

    Enumerates all 2^m slope patterns (meet in the middle: the sums over two halves of the units are
    tabulated and every pair's norm comes from one matrix product), so it is exponential in m and
    meant for small networks and as a test oracle. Raises ``ValueError`` when m > ``max_width``.
    """
    net = _check_net(net, "slope_pattern_bound")
    max_width = check_int("max_width", max_width, minimum=1, maximum=40)
    m = net.width
    if m > max_width:
        raise ValueError(
            f"slope_pattern_bound enumerates 2^m slope patterns; width m = {m} exceeds max_width = {max_width}. "
            "Raise max_width (exponential cost) or use lipsdp."
        )
    A, _, B, _ = _weights(net)
    lo, hi = net.activation.slope_lo, net.activation.slope_hi
    c = B[:, None] * A  # (m, d)
    base = lo * c.sum(axis=0)
    steps = (hi - lo) * c

    def table(rows: np.ndarray) -> np.ndarray:
        k = rows.shape[0]
        bits = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(np.float64)
        return bits @ rows

    h = m // 2
    P, Q = table(steps[:h]) + base, table(steps[h:])
    best = 0.0
    pp, qq = (P * P).sum(axis=1), (Q * Q).sum(axis=1)
    for start in range(0, P.shape[0], 4096):
        blk = P[start:start + 4096]
        sq = pp[start:start + 4096, None] + qq[None, :] + 2.0 * (blk @ Q.T)
        best = max(best, float(sq.max()))
    return math.sqrt(max(best, 0.0))


# ---------------------------------------------------------------------------------------------- LipSDP
def _lipsdp_certified_rho(A: np.ndarray, B: np.ndarray, alpha: float, beta: float, lam: np.ndarray
                          ) -> tuple[float, float]:
    """The smallest ρ for which the multipliers c·λ (best scale c > 0) satisfy the reduced LMI, in float64.

    With t_i = B_i² / (2 c λ_i) (the cheapest t), S = Σ_i B_i²/(2λ_i), K₁ = ((β−α)²/2) Aᵀ diag(λ) A and
    v = ((α+β)/2) AᵀBᵀ, the Schur complement of the reduced LMI gives
    ρ(c) = λ_max(c K₁ + v vᵀ / (1 − S/c)) for c > S, a convex function of c minimized here by a bounded
    scalar search. Returns (ρ, c), ρ inflated by a bound on the rounding of this computation.
    """
    from scipy.optimize import minimize_scalar

    lam = np.clip(np.asarray(lam, dtype=np.float64), 0.0, None)
    nz = B != 0
    lam = np.where(nz, lam, 0.0)  # a unit with B_i = 0 needs no multiplier: λ_i = 0 only shrinks K₁
    if np.any(lam[nz] <= 0):
        lam[nz & (lam <= 0)] = 1e-12 * max(float(lam.max()), 1.0)
    S = float(np.sum(B[nz] ** 2 / (2.0 * lam[nz])))
    K1 = ((beta - alpha) ** 2 / 2.0) * (A.T * lam) @ A
    K1 = (K1 + K1.T) / 2.0
    v = ((alpha + beta) / 2.0) * (A.T @ B)
    V = np.outer(v, v)
    if S == 0.0:
        return 0.0, 1.0

    def rho(c: float) -> float:
        M = c * K1 + V / (1.0 - S / c)
        return float(np.linalg.eigvalsh(M)[-1])

    if not np.any(v):
        c_best = S
    else:
        # c = S (1 + e^u): unimodal in u because ρ(c) is convex in c.
        res = minimize_scalar(lambda u: rho(S * (1.0 + math.exp(u))), bounds=(-40.0, 40.0), method="bounded",
                              options={"xatol": 1e-10})
        c_best = S * (1.0 + math.exp(float(res.x)))
        if S < 1.0 and rho(1.0) < rho(c_best):
            c_best = 1.0
    value = rho(c_best) if np.any(v) else c_best * float(np.linalg.eigvalsh(K1)[-1])
    M = c_best * K1 + (V / (1.0 - S / c_best) if np.any(v) else 0.0)
    # Rounding of the m-term sums and of the symmetric eigensolver: a few (m + d) ε ‖M‖_F.
    value = max(value, 0.0) + 8.0 * (A.shape[0] + A.shape[1]) * _EPS * float(np.linalg.norm(M))
    return value, c_best


def _lipsdp(net: TwoLayerNet, formulation: str, solver: str | None) -> tuple[float, dict]:
    import cvxpy as cp

    A0, _, B0, _ = _weights(net)
    alpha, beta = float(net.activation.slope_lo), float(net.activation.slope_hi)
    m, d = A0.shape
    sA, sB = float(np.linalg.norm(A0, 2)), float(np.linalg.norm(B0))
    info: dict[str, Any] = {"formulation": formulation, "solver": solver, "alpha": alpha, "beta": beta}
    if sA == 0.0 or sB == 0.0:
        info.update(status="trivial", solver_value=0.0)
        return 0.0, info
    # LipSDP is homogeneous of degree 1 in A and in B: solve the well-scaled problem, rescale the result.
    A, B = A0 / sA, B0 / sB
    lam = cp.Variable(m, nonneg=True)
    rho = cp.Variable()
    if formulation == "reduced":
        t = cp.Variable(m, nonneg=True)
        gram = np.einsum("ij,ik->jki", A, A).reshape(d * d, m)  # column i: vec(A_i A_iᵀ)
        G = cp.reshape(gram @ lam, (d, d), order="C")
        off = (-(alpha + beta) / 2.0) * (A.T @ B)
        lmi = cp.bmat([
            [rho * np.eye(d) - ((beta - alpha) ** 2 / 2.0) * G, off[:, None]],
            [off[None, :], cp.reshape(1 - cp.sum(t), (1, 1), order="C")],
        ])
        cons = [(lmi + lmi.T) / 2 >> 0,
                cp.SOC(lam + t, cp.vstack([math.sqrt(2.0) * B, lam - t]), axis=0)]  # 2 λ_i t_i ≥ B_i²
    else:
        gram = np.einsum("ij,ik->jki", A, A).reshape(d * d, m)
        ATA = cp.reshape(gram @ lam, (d, d), order="C")  # Aᵀ T A
        AT = cp.multiply(A.T, cp.reshape(lam, (1, m), order="C"))  # Aᵀ T
        M = cp.bmat([
            [-2 * alpha * beta * ATA - rho * np.eye(d), (alpha + beta) * AT],
            [(alpha + beta) * AT.T, -2 * cp.diag(lam) + np.outer(B, B)],
        ])
        cons = [(M + M.T) / 2 << 0]
    prob = cp.Problem(cp.Minimize(rho), cons)
    t0 = time.perf_counter()
    status = "not solved"
    try:
        kwargs: dict[str, Any] = {}
        if solver == "SCS":
            kwargs = {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 20000}
        prob.solve(solver=solver, **kwargs)
        status = prob.status
    except cp.error.SolverError as exc:
        status = f"solver error: {exc}"
    info["solve_s"] = time.perf_counter() - t0
    info["status"] = status
    lam_val = lam.value
    solver_value = float(math.sqrt(max(rho.value, 0.0)) * sA * sB) if rho.value is not None else math.nan
    if lam_val is None or not np.all(np.isfinite(lam_val)):
        lam_val = np.abs(B)  # a feasible fallback direction; the verification below makes it a valid bound
        info["fallback_multipliers"] = True
    rho_cert, scale = _lipsdp_certified_rho(A, B, alpha, beta, lam_val)
    value = math.sqrt(rho_cert) * sA * sB
    info.update(solver_value=solver_value, multiplier_scale=scale)
    return value, info


def lipsdp(net: TwoLayerNet, formulation: str = "reduced", solver: str | None = None) -> float:
    """LipSDP-Neuron (Fazlyab et al., 2019) for one hidden layer, slope range [α, β] = [s_lo, s_hi].

    Textbook form (``formulation="textbook"``): minimize ρ over ρ and T = diag(λ), λ ≥ 0, subject to

        [[−2αβ AᵀTA − ρI,  (α+β) AᵀT], [(α+β) TA,  −2T + BᵀB]] ⪯ 0,       and then Lip ≤ √ρ.

    Reduced form (``formulation="reduced"``, the default), equivalent and of size d + 1 instead of
    d + m. The textbook LMI says that for all (u, v) ∈ R^d × R^m, with w = Au,
    ρ‖u‖² − (Bv)² + Σ_i 2λ_i (v_i − α w_i)(β w_i − v_i) ≥ 0. Write −(Bv)² = min_s (s² − 2s Bv) and
    minimize over each v_i (a concave-down quadratic when λ_i > 0; when λ_i = 0 the form is bounded
    below only if B_i = 0): the condition becomes, for all (u, s),
    ρ‖u‖² − ((β−α)²/2) uᵀAᵀdiag(λ)Au − (α+β) s BAu + s²(1 − Σ_i B_i²/(2λ_i)) ≥ 0, i.e.

        [[ρI − ((β−α)²/2) Aᵀdiag(λ)A,  −((α+β)/2) AᵀBᵀ], [−((α+β)/2) BA,  1 − Σ_i t_i]] ⪰ 0,
        2 λ_i t_i ≥ B_i²,  λ_i ≥ 0,  t_i ≥ 0            (m rotated second-order cones).

    (Check, m = d = 1, A = B = 1, ReLU: λ = 1, t = 1/2 gives [[ρ − 1/2, −1/2], [−1/2, 1/2]] ⪰ 0 iff ρ ≥ 1.)
    Only the linear map λ ↦ Aᵀdiag(λ)A grows with m; it is passed to cvxpy as one dense (d², m) matrix.

    Solver: ``None`` means Clarabel (an interior-point conic solver: accurate to ~1e-8 and, on the reduced
    form, fast enough for m = 4096 in seconds, see benchmarks/CERTIFY.md); ``"SCS"`` (first-order, less
    accurate) or any installed cvxpy solver name may be given.

    Guarantee: the returned value does not trust the solver's ρ. From its multipliers λ the value is
    recomputed in float64 as √ρ(λ), with ρ(λ) the smallest ρ for which (the best rescaling of) λ satisfies
    the reduced LMI exactly (a Schur complement and a d×d eigenvalue, plus a bound on its rounding), so it
    is a valid upper bound on Lip(f) however inaccurate the solve; an inaccurate solve only loosens it.
    """
    net = _check_net(net, "lipsdp")
    formulation = check_choice("formulation", formulation, ("reduced", "textbook"))
    solver = _check_solver(solver)
    return _lipsdp(net, formulation, solver)[0]


def _check_solver(solver: Any) -> str:
    if solver is None:
        return "CLARABEL"
    if not isinstance(solver, str):
        raise TypeError(f"solver must be None or a cvxpy solver name such as 'CLARABEL' or 'SCS'; got {solver!r}")
    import cvxpy as cp

    installed = cp.installed_solvers()
    if solver.upper() not in installed:
        raise ValueError(f"unknown or uninstalled solver {solver!r}; installed: {', '.join(installed)}")
    return solver.upper()


# ---------------------------------------------------------------------------------------------- exact, d = 1
def exact_1d(net: TwoLayerNet) -> Certificate:
    """The exact Lipschitz constant of a d = 1 ReLU / leaky-ReLU(β) network, in O(m log m).

    f is piecewise linear with breakpoints p_i = −a_i/A_i (units with A_i = 0 have none and no slope).
    Writing leaky-ReLU(β) = (1−β)·ReLU + β·identity, the slope left of every breakpoint is
    β Σ_i B_i A_i + (1−β) Σ_{A_i<0} B_i A_i, and crossing p_i from left to right changes it by
    (1−β) B_i |A_i| (unit i switches on if A_i > 0, off if A_i < 0). Sorting the breakpoints and
    grouping coincident ones gives every piece's slope; Lip = max |slope|, attained inside the steepest
    piece, whose midpoint (or a point on the outer ray) is the witness. Exact in exact arithmetic; the
    rounding of the running sums is below ``details["rounding_bound"]``, which ``upper`` includes.
    """
    net = _check_net(net, "exact_1d")
    beta = _require_pl(net, "exact_1d", 1)
    A2, a, B, _ = _weights(net)
    A = A2[:, 0]
    c = B * A
    nz = A != 0
    p = -a[nz] / A[nz]
    delta = (1.0 - beta) * B[nz] * np.abs(A[nz])
    s0 = beta * float(c.sum()) + (1.0 - beta) * float(c[A < 0].sum())
    order = np.argsort(p, kind="stable")
    ps = p[order]
    ends = np.flatnonzero(np.r_[ps[1:] != ps[:-1], True]) if ps.size else np.empty(0, dtype=np.int64)
    slopes = np.r_[s0, s0 + np.cumsum(delta[order])[ends]]
    breaks = ps[ends]
    k = int(np.argmax(np.abs(slopes)))
    upper = float(abs(slopes[k]))
    if breaks.size == 0:
        w = 0.0
    elif k == 0:
        w = float(breaks[0]) - max(1.0, abs(float(breaks[0])))
    elif k == breaks.size:
        w = float(breaks[-1]) + max(1.0, abs(float(breaks[-1])))
    else:
        w = 0.5 * (float(breaks[k - 1]) + float(breaks[k]))
    witness = np.array([w])
    lower = float(np.linalg.norm(_pl_gradient(A2, a, B, beta, witness[None, :])[0]))
    rounding = 2.0 * (A.size + 2) * _EPS * (float(np.abs(c).sum()) + abs(s0))
    exact = abs(upper - lower) <= _EXACT_RTOL * upper + rounding
    # The running sums carry rounding errors: the certified upper bound includes their bound, so that no
    # gradient evaluated in floating point anywhere (a lower bound) can exceed it.
    return Certificate(lower, max(upper, lower) + rounding, "exact_1d", bool(exact), witness,
                       {"pieces": int(slopes.size), "breakpoints": int(breaks.size), "rounding_bound": rounding})


# ---------------------------------------------------------------------------------------------- exact, d = 2
def exact_2d(net: TwoLayerNet, max_width: int = 8192) -> Certificate:
    """The exact Lipschitz constant of a d = 2 ReLU / leaky-ReLU(β) network, by its line arrangement.

    Unit i switches along the line ℓ_i = {x : A_i·x + a_i = 0} (none if A_i = 0; coincident lines are
    merged). Each cell of the arrangement has the constant gradient β Σ_i B_i A_i + (1−β) Σ_{active} B_i A_i.
    Every cell has an edge (a segment or ray of some line between consecutive crossings with the other
    lines), and the two cells across an edge differ only in the units of that line. So for each line
    the crossings are sorted, the gradient just off the line is carried along it by a running sum of the
    crossed lines' jumps, and both sides of every edge are evaluated: O(K² log K) for K distinct lines,
    vectorized in blocks of lines. The witness is a point just off the steepest edge, on its steep side,
    closer to the edge than to any other line; ``lower`` is the gradient recomputed there directly.

    Tolerances: crossings closer than ~1e-11 (relative) are merged (so lines through a common point are
    handled), and lines at an angle below 1e-12 are treated as parallel. Raises ``ValueError`` for
    m > ``max_width`` (memory and time grow like m²).
    """
    net = _check_net(net, "exact_2d")
    beta = _require_pl(net, "exact_2d", 2)
    max_width = check_int("max_width", max_width, minimum=1)
    if net.width > max_width:
        raise ValueError(f"exact_2d: width m = {net.width} exceeds max_width = {max_width} (cost grows like m²)")
    A, a, B, _ = _weights(net)
    c = B[:, None] * A
    base = beta * c.sum(axis=0)
    nrm = np.linalg.norm(A, axis=1)
    keep = nrm > 0
    if not np.any(keep):
        w = np.zeros(2)
        g = float(np.linalg.norm(_pl_gradient(A, a, B, beta, w[None])[0]))
        return Certificate(g, g, "exact_2d", True, w, {"lines": 0, "edges": 0})
    n = A[keep] / nrm[keep, None]
    off = a[keep] / nrm[keep]
    flip = (n[:, 1] < 0) | ((n[:, 1] == 0) & (n[:, 0] < 0))
    sgn = np.where(flip, -1.0, 1.0)
    n, off = n * sgn[:, None], off * sgn
    ck = (1.0 - beta) * c[keep]
    # Group coincident lines: identical (n, off) up to a tight tolerance, adjacent after sorting.
    order = np.lexsort((off, n[:, 1], n[:, 0]))
    ns, offs = n[order], off[order]
    scale = max(1.0, float(np.abs(off).max()))
    new = np.r_[True, (np.abs(np.diff(ns, axis=0)).max(axis=1) > 1e-13)
                | (np.abs(np.diff(offs)) > 1e-12 * scale)]
    gid_sorted = np.cumsum(new) - 1
    gid = np.empty_like(gid_sorted)
    gid[order] = gid_sorted
    K = int(gid_sorted[-1]) + 1
    firsts = order[new]
    N, OFF = n[firsts], off[firsts]
    pos = sgn > 0  # the unit is active on the + side of its oriented line
    P = np.zeros((K, 2))  # what each line's units add to the gradient on its + side
    Q = np.zeros((K, 2))  # ... and on its − side
    np.add.at(P, gid[pos], ck[pos])
    np.add.at(Q, gid[~pos], ck[~pos])
    U = np.stack([-N[:, 1], N[:, 0]], axis=1)  # direction of each line
    P0 = -OFF[:, None] * N  # the point of each line closest to the origin
    jump = P - Q  # gradient change when a line is crossed from its − side to its + side

    best = (-1.0, 0, 0.0, 1.0)  # (norm², line, τ of the witness along the line, side)
    edges = 0
    Qsum = base + Q.sum(axis=0)
    # Blocks of lines small enough for the (lines × K) work arrays to stay in cache.
    block = max(1, min(K, 65536 // K))
    for start in range(0, K, block):
        L = np.arange(start, min(K, start + block))
        b = L.size
        rows = np.arange(b)
        denom = U[L] @ N.T  # (b, K): n_M · u_L
        num = P0[L] @ N.T + OFF[None, :]  # n_M · p0_L + off_M
        parallel = np.abs(denom) <= 1e-12
        parallel[rows, L] = True
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = np.where(parallel, np.inf, -num / np.where(parallel, 1.0, denom))
        # the side of every other line M far back along L (τ → −∞); line L itself is left out
        side0 = np.where(parallel, num >= 0, denom < 0)
        side0[rows, L] = False
        g0 = Qsum[None, :] + side0.astype(np.float64) @ jump - Q[L]
        step = np.where(parallel, 0.0, np.sign(denom))  # crossing M adds step · (P_M − Q_M)
        o = np.argsort(tau, axis=1)
        ts = np.take_along_axis(tau, o, axis=1)
        st = np.take_along_axis(step, o, axis=1)
        finite = np.isfinite(ts)
        nxt = np.concatenate([ts[:, 1:], np.full((b, 1), np.inf)], axis=1)
        with np.errstate(invalid="ignore"):
            gap_ok = ~np.isfinite(nxt) | (nxt - ts > 1e-11 * (scale + np.abs(ts)))
        valid = np.concatenate([np.ones((b, 1), bool), finite & gap_ok], axis=1)
        edges += int(valid.sum())
        comps = []
        for k in range(2):
            run = np.cumsum(st * jump[o, k], axis=1)
            comps.append(np.concatenate([g0[:, k:k + 1], g0[:, k:k + 1] + run], axis=1))  # (b, K + 1)
        for side, extra in ((1.0, P[L]), (-1.0, Q[L])):
            gx = comps[0] + extra[:, 0:1]
            gy = comps[1] + extra[:, 1:2]
            sq = np.where(valid, gx * gx + gy * gy, -1.0)
            idx = int(np.argmax(sq))
            r, j = divmod(idx, K + 1)
            if sq[r, j] > best[0]:
                row = ts[r]
                nfin = int(finite[r].sum())
                if nfin == 0:
                    tw = 0.0
                elif j == 0:
                    tw = float(row[0]) - max(1.0, abs(float(row[0])))
                elif j >= nfin:
                    tw = float(row[nfin - 1]) + max(1.0, abs(float(row[nfin - 1])))
                else:
                    tw = 0.5 * (float(row[j - 1]) + float(row[j]))
                best = (float(sq[r, j]), int(L[r]), tw, side)
    upper = math.sqrt(max(best[0], 0.0))
    line, tw, side = best[1], best[2], best[3]
    q = P0[line] + tw * U[line]
    others = np.abs(N @ q + OFF)
    others[line] = np.inf
    dist = float(others.min()) if K > 1 else 1.0
    eps = 0.5 * min(dist, max(1.0, float(np.abs(q).max())))
    witness = q + side * eps * N[line]
    lower = float(np.linalg.norm(_pl_gradient(A, a, B, beta, witness[None])[0]))
    # Each cell's gradient is a sum of at most m + 1 terms B_i A_i: bound its rounding as in exact_1d.
    rounding = 2.0 * (A.shape[0] + 2) * _EPS * (float(np.abs(c).sum()) + float(np.abs(base).sum()))
    exact = abs(upper - lower) <= _EXACT_RTOL * max(upper, 1e-300) + rounding
    return Certificate(lower, max(upper, lower) + rounding, "exact_2d", bool(exact), witness,
                       {"lines": K, "edges": edges, "rounding_bound": rounding})


# ---------------------------------------------------------------------------------------------- smooth, d = 1
# For each smooth σ, in NumPy (the branch and bound evaluates them millions of times; the tests check
# them against lipnb.activations and the constants against a dense grid): (σ', σ'') from one pass,
# sup |σ'''|, z₀ beyond which |σ'(z) − σ'(±∞)| is non-increasing in |z| with a fixed sign, and the
# limits σ'(−∞), σ'(+∞).
def _tanh_d12(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.tanh(z)
    d1 = 1.0 - t * t
    return d1, -2.0 * t * d1


def _sigmoid_d12(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = expit(z)
    d1 = s * (1.0 - s)
    return d1, d1 * (1.0 - 2.0 * s)


def _softplus_d12(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = expit(z)
    return s, s * (1.0 - s)


def _gelu_d12(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    phi = np.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))
    return ndtr(z) + z * phi, phi * (2.0 - z * z)


def _gelu_d3_max() -> float:
    # GELU''' = φ(z)(z³ − 4z); its extremes solve z⁴ − 7z² + 4 = 0.
    phi = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)  # noqa: E731
    roots = [math.sqrt((7.0 + s * math.sqrt(33.0)) / 2.0) for s in (1.0, -1.0)]
    return max(abs(phi(z) * (z ** 3 - 4.0 * z)) for z in roots)


_R3 = math.atanh(1.0 / math.sqrt(3.0))
# name: ((σ', σ''), sup |σ'''|, critical points of σ'' (where |σ''| can peak inside an interval), z₀,
#        σ'(−∞), σ'(+∞))
_SMOOTH = {
    # tanh'' = −2 tanh sech² peaks where tanh² = 1/3; tanh''' = (6 tanh² − 2) sech² is largest in size
    # at 0 (2); tanh' = sech² decreases in |z|.
    "tanh": (_tanh_d12, 2.0, (-_R3, _R3), 0.0, 0.0, 0.0),
    # sigmoid(z) = (1 + tanh(z/2))/2, so σ'' peaks at ±2 atanh(1/√3); with q = σ' ∈ (0, 1/4],
    # σ''' = q(1 − 6q), largest in size at q = 1/4 (1/8).
    "sigmoid": (_sigmoid_d12, 0.125, (-2 * _R3, 2 * _R3), 0.0, 0.0, 0.0),
    # softplus' = sigmoid: softplus'' = sigmoid' peaks at 0, softplus''' = sigmoid'' (max 1/(6√3)),
    # and |σ'(z) − σ'(±∞)| = sigmoid(−|z|).
    "softplus": (_softplus_d12, 1.0 / (6.0 * math.sqrt(3.0)), (0.0,), 0.0, 0.0, 1.0),
    # GELU'' = φ(z)(2 − z²) peaks at 0, ±2 and is < 0 for |z| > √2: GELU' decreases there, to 1 from
    # above at +∞ and to 0 from below at −∞.
    "gelu": (_gelu_d12, _gelu_d3_max(), (-2.0, 0.0, 2.0), math.sqrt(2.0), 0.0, 1.0),
}


class _Smooth1D:
    """f'(x) = Σ_i c_i σ'(A_i x + a_i), c_i = B_i A_i, and f''(x) = Σ_i B_i A_i² σ''(A_i x + a_i)."""

    def __init__(self, net: TwoLayerNet, A: np.ndarray, a: np.ndarray, B: np.ndarray) -> None:
        act = net.activation
        if act.name not in _SMOOTH:
            raise ValueError(f"smooth_1d supports tanh, sigmoid, softplus and gelu; got activation {act}")
        self._d12, d3max, self.crit, self.z0, self.lim_lo, self.lim_hi = _SMOOTH[act.name]
        self.crit_vals = np.abs(self._d12(np.array(self.crit))[1])
        self.A, self.a = A, a
        self.c = B * A
        self.c2 = B * A * A
        self.K2 = float(np.abs(self.c2).sum()) * float(act.second_derivative_bound)  # Lip(f') ≤ K2
        self.K3 = float(np.abs(self.c2 * A).sum()) * d3max  # Lip(f'') ≤ K3
        self.chunk = max(1, 1_000_000 // A.size)
        self.evals = 0

    def derivs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(f'(x), f''(x)) at the points x."""
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        self.evals += x.size
        g, h = np.empty(x.size), np.empty(x.size)
        for s in range(0, x.size, self.chunk):
            d1, d2 = self._d12(np.multiply.outer(x[s:s + self.chunk], self.A) + self.a)
            g[s:s + self.chunk], h[s:s + self.chunk] = d1 @ self.c, d2 @ self.c2
        return g, h

    def local_K(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Σ_i |B_i| A_i² sup_{z between A_i l + a_i and A_i r + a_i} |σ''(z)| ≥ sup_[l, r] |f''|, per interval.

        Exact per unit: σ'' is monotone between its critical points, so its size peaks at an end of the
        z-interval or at a critical point inside it.
        """
        out = np.empty(lo.size)
        w2 = np.abs(self.c2)
        for s in range(0, lo.size, self.chunk):
            zl = np.multiply.outer(lo[s:s + self.chunk], self.A) + self.a
            zr = np.multiply.outer(hi[s:s + self.chunk], self.A) + self.a
            sup = np.maximum(np.abs(self._d12(zl)[1]), np.abs(self._d12(zr)[1]))
            zmin, zmax = np.minimum(zl, zr), np.maximum(zl, zr)
            for cz, cv in zip(self.crit, self.crit_vals):
                np.maximum(sup, np.where((zmin <= cz) & (cz <= zmax), cv, 0.0), out=sup)
            out[s:s + self.chunk] = sup @ w2
        return out

    def bound(self, gl: np.ndarray, hl: np.ndarray, gr: np.ndarray, hr: np.ndarray, lo: np.ndarray,
              hi: np.ndarray) -> np.ndarray:
        """sup |f'| over intervals [lo, hi] from |f'| and |f''| at both ends.

        First order (Piyavskii): (|f'(l)| + |f'(r)| + K_I w)/2, K_I a bound on |f''| over the interval: the
        least of K, (|f''(l)| + |f''(r)| + K₃ w)/2 and, where that still matters, ``local_K``. Second order
        (Taylor from the nearer end, f'' being K₃-Lipschitz): max over the ends of |f'| + |f''| w/2, plus
        K₃ w²/8. The smaller of the two.
        """
        w = hi - lo
        KI = np.minimum((hl + hr + self.K3 * w) / 2, self.K2)
        wide = KI * w > 1e-3 * (gl + gr)
        if np.any(wide):
            KI[wide] = np.minimum(KI[wide], self.local_K(lo[wide], hi[wide]) * (1.0 + 1e-12))
        first = (gl + gr + KI * w) / 2
        second = np.maximum(gl + hl * w / 2, gr + hr * w / 2) + self.K3 * w * w / 8
        return np.minimum(first, second) * (1.0 + 1e-12)

    def tail(self, X: float, right: bool) -> float:
        """sup_{x beyond X} |f'(x)|, valid once every |A_i X + a_i| ≥ z₀ on the far side of all transitions.

        There σ'(z_i) = σ'(±∞) + r_i(x) with r_i of fixed sign and |r_i| non-increasing, so each term
        c_i r_i(x) lies between 0 and c_i r_i(X), and f'(x) lies in [L + Σ neg, L + Σ pos], L = f'(±∞).
        """
        d1, _ = self._d12(self.A * X + self.a)
        far = (self.A > 0) if right else (self.A < 0)
        lim = np.where(far, self.lim_hi, self.lim_lo)
        terms = self.c * (d1 - lim)
        L = float(self.c @ lim)
        return max(abs(L + float(terms[terms > 0].sum())), abs(L + float(terms[terms < 0].sum())))


def smooth_1d(net: TwoLayerNet, rtol: float = 1e-6, max_evals: int = 2_000_000) -> Certificate:
    """Lip(f) = sup_x |f'(x)| for a d = 1 network with a smooth σ (tanh, sigmoid, softplus, GELU), to ``rtol``.

    f'(x) = Σ_i B_i A_i σ'(A_i x + a_i) is Lipschitz with K = Σ_i |B_i| A_i² sup|σ''| (THEORY.md §2), and
    f'' with K₃ = Σ_i |B_i| |A_i|³ sup|σ'''|. Branch and bound over intervals [l, r] of the region where
    the units switch: from f' and f'' at the ends, sup_{[l, r]} |f'| is bounded to first order
    (Piyavskii, (|f'(l)| + |f'(r)| + K_I (r − l))/2, K_I ≤ K a bound on |f''| there) and to second order
    (Taylor with K₃: the bound then closes quadratically near a maximizer). Intervals whose bound
    exceeds lower·(1 + rtol) are bisected, the others are settled.

    Tails: beyond X_R = max_i(−a_i/A_i + z₀/|A_i|) every σ'(A_i x + a_i) moves monotonically towards its
    limit (z₀ = 0 for tanh, sigmoid, softplus; √2 for GELU), so sup_{x ≥ X} |f'| has a closed-form
    bound (``_Smooth1D.tail``); the tails are pushed out (doubling steps) until that bound is below
    lower·(1 + rtol), which terminates because |f'(±∞)| ≤ sup |f'|.

    Stops when upper ≤ lower·(1 + rtol) (``exact`` is then True) or after ``max_evals`` evaluations of
    f' (then the certificate is valid but wider). ``details["rounding_bound"]`` bounds the
    floating-point error of an evaluation of f', added to ``upper``.
    """
    net = _check_net(net, "smooth_1d")
    rtol = check_real("rtol", rtol, positive=True, high=1.0)
    max_evals = check_int("max_evals", max_evals, minimum=1000)
    if net.d != 1:
        raise ValueError(f"method 'smooth_1d' needs input dimension d = 1; this network has d = {net.d}")
    if not net.activation.smooth:
        raise ValueError(
            f"method 'smooth_1d' needs a smooth activation (tanh, sigmoid, softplus, gelu); this network "
            f"uses {net.activation}. Use 'exact_1d' for ReLU and leaky ReLU."
        )
    A2, a0, B0, _ = _weights(net)
    keep = (A2[:, 0] != 0) & (B0 != 0)
    if not np.any(keep):
        return Certificate(0.0, 0.0, "smooth_1d", True, np.zeros(1), {"evaluations": 0})
    A, a, B = A2[keep, 0], a0[keep], B0[keep]
    F = _Smooth1D(net, A, a, B)
    trans = -a / A
    reach = F.z0 / np.abs(A)
    XL, XR = float((trans - reach).min()), float((trans + reach).max())
    span = max(XR - XL, 1.0 / float(np.abs(A).max()))
    XL, XR = XL - 0.05 * span, XR + 0.05 * span
    # a uniform grid plus quantiles of the transitions −a_i/A_i (where f' changes); B&B refines from there
    nodes = np.unique(np.r_[np.linspace(XL, XR, 257), np.quantile(trans, np.linspace(0.0, 1.0, min(trans.size, 256)))])
    g, h = F.derivs(nodes)
    g, h = np.abs(g), np.abs(h)
    ib = int(np.argmax(g))
    lower, witness = float(g[ib]), float(nodes[ib])
    # open intervals: ends, |f'| and |f''| at the ends, bound
    lo, hi, gl, gr, hl, hr = nodes[:-1], nodes[1:], g[:-1], g[1:], h[:-1], h[1:]
    ub = F.bound(gl, hl, gr, hr, lo, hi)
    atol = 64.0 * (A.size + 8) * _EPS * float(np.abs(F.c).sum()) * max(1.0, net.activation.lipschitz)
    settled = 0.0
    # each tail: [X, next step D, bound on sup |f'| beyond X, |f'(X)|, |f''(X)|]
    tails = {True: [XR, span, F.tail(XR, True), g[-1], h[-1]], False: [XL, span, F.tail(XL, False), g[0], h[0]]}
    converged = False
    iterations = 0
    while True:
        iterations += 1
        thr = lower * (1.0 + rtol) + atol
        for right in (True, False):
            while tails[right][2] > thr and F.evals < max_evals:
                X, D, _, gX, hX = tails[right]
                X2 = X + D if right else X - D
                g2, h2 = (float(abs(v[0])) for v in F.derivs(np.array([X2])))
                if g2 > lower:
                    lower, witness = g2, X2
                    thr = lower * (1.0 + rtol) + atol
                (l_, gl_, hl_), (r_, gr_, hr_) = sorted(((X, gX, hX), (X2, g2, h2)))
                lo, hi = np.r_[lo, l_], np.r_[hi, r_]
                gl, gr, hl, hr = np.r_[gl, gl_], np.r_[gr, gr_], np.r_[hl, hl_], np.r_[hr, hr_]
                ub = np.r_[ub, F.bound(*(np.array([v]) for v in (gl_, hl_, gr_, hr_, l_, r_)))]
                tails[right] = [X2, 2.0 * D, F.tail(X2, right), g2, h2]
        open_ = ub > thr
        if not np.all(open_):
            settled = max(settled, float(ub[~open_].max()))
            lo, hi, gl, gr, hl, hr, ub = (v[open_] for v in (lo, hi, gl, gr, hl, hr, ub))
        if lo.size == 0 and max(tails[True][2], tails[False][2]) <= thr:
            converged = True
            break
        if F.evals >= max_evals or (lo.size and np.all(hi - lo <= 4 * _EPS * np.maximum(np.abs(lo), np.abs(hi)))):
            break
        mid = 0.5 * (lo + hi)
        gm, hm = F.derivs(mid)
        gm, hm = np.abs(gm), np.abs(hm)
        im = int(np.argmax(gm))
        if gm[im] > lower:
            lower, witness = float(gm[im]), float(mid[im])
        ub = np.r_[F.bound(gl, hl, gm, hm, lo, mid), F.bound(gm, hm, gr, hr, mid, hi)]
        lo, hi = np.r_[lo, mid], np.r_[mid, hi]
        gl, gr, hl, hr = np.r_[gl, gm], np.r_[gm, gr], np.r_[hl, hm], np.r_[hm, hr]
    upper = max(settled, float(ub.max()) if ub.size else 0.0, tails[True][2], tails[False][2], lower) + atol
    w = np.array([witness])
    # the lower bound is recomputed by the network itself (an independent code path)
    lower = float(net.input_gradient(torch.as_tensor(w[None], dtype=net.dtype)).abs().max())
    exact = converged and upper <= lower * (1.0 + rtol) + 2 * atol
    return Certificate(lower, max(upper, lower), "smooth_1d", bool(exact), w,
                       {"rtol": rtol, "evaluations": F.evals, "iterations": iterations, "converged": converged,
                        "rounding_bound": atol})


# ---------------------------------------------------------------------------------------------- lower bounds
def _grad_torch(A: torch.Tensor, a: torch.Tensor, B: torch.Tensor, act: Any, x: torch.Tensor) -> torch.Tensor:
    """∇f(x) = Aᵀ (σ'(Ax + a) ⊙ B) for a batch x (n, d), differentiable in x."""
    return (act.derivative(x @ A.T + a) * B) @ A


def lower_bound(
    net: TwoLayerNet,
    points: Any = None,
    restarts: int = 16,
    steps: int = 200,
    seed: int = 0,
) -> tuple[float, np.ndarray]:
    """A lower bound max_x ‖∇f(x)‖₂ ≤ Lip(f) over candidate points, and the point attaining it.

    Candidates: ``points`` (e.g. the training inputs, shape (N, d)), plus random points: half Gaussian
    at the scale of the data (or of the hyperplanes A_i x + a_i = 0 when no points are given), half
    near randomly chosen hyperplanes, where the gradient changes. For a smooth σ the ``restarts`` best
    candidates are refined by ``steps`` of Adam ascent on ‖∇f(x)‖² (torch autograd, float64). For a
    piecewise-linear σ the gradient is piecewise constant, so ascent cannot move: 16× more random points
    are sampled instead (in d = 1 and d = 2, :func:`exact_1d` and :func:`exact_2d` give the exact value).
    """
    net = _check_net(net, "lower_bound")
    restarts = check_int("restarts", restarts, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    A = net.A.detach().to("cpu", torch.float64)
    a = net.a.detach().to("cpu", torch.float64)
    B = net.B.detach().to("cpu", torch.float64)
    act = net.activation
    m, d = A.shape
    g = torch.Generator().manual_seed(seed)
    cands = []
    if points is not None:
        pts = as_tensor("points", points, dtype=torch.float64).cpu()
        if pts.ndim == 1 and d == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != d:
            raise ValueError(f"points must have shape (N, {d}) for a network with d = {d}; got {tuple(pts.shape)}")
        cands.append(pts)
        R = float(torch.linalg.vector_norm(pts, dim=1).max()) if pts.shape[0] else 1.0
    else:
        rn = torch.linalg.vector_norm(A, dim=1)
        dist = (a.abs() / rn.clamp_min(1e-300))[rn > 0]
        R = float(dist.median()) * 2.0 if dist.numel() else 1.0
    R = max(R, 1e-3)
    n_rand = 64 * restarts * (16 if act.piecewise_linear else 1)
    half = n_rand // 2
    cands.append(R * torch.randn(half, d, generator=g, dtype=torch.float64))
    rn2 = (A * A).sum(dim=1)
    ok = torch.nonzero(rn2 > 0)[:, 0]
    if ok.numel():
        pick = ok[torch.randint(ok.numel(), (n_rand - half,), generator=g)]
        foot = -(a[pick] / rn2[pick])[:, None] * A[pick]
        cands.append(foot + 0.1 * R * torch.randn(n_rand - half, d, generator=g, dtype=torch.float64))
    X = torch.cat(cands)
    chunk = max(1, 4_000_000 // max(m, 1))
    norms = torch.cat([torch.linalg.vector_norm(_grad_torch(A, a, B, act, X[s:s + chunk]), dim=1)
                       for s in range(0, X.shape[0], chunk)])
    ib = int(torch.argmax(norms))
    best, wit = float(norms[ib]), X[ib].clone()
    if act.smooth and steps > 0:
        top = torch.topk(norms, min(restarts, norms.numel())).indices
        x = X[top].clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02 * R)
        for _ in range(steps):
            opt.zero_grad()
            val = (_grad_torch(A, a, B, act, x) ** 2).sum(dim=1)
            k = int(torch.argmax(val))
            if float(val[k].detach()) > best * best:
                best, wit = math.sqrt(float(val[k].detach())), x[k].detach().clone()
            (-val.sum()).backward()
            opt.step()
        with torch.no_grad():
            val = torch.linalg.vector_norm(_grad_torch(A, a, B, act, x), dim=1)
            k = int(torch.argmax(val))
            if float(val[k]) > best:
                best, wit = float(val[k]), x[k].detach().clone()
    return best, wit.numpy()


# ---------------------------------------------------------------------------------------------- certify
_LOWER_KW = ("restarts", "steps")
_METHOD_KW = {
    "product": (),
    "slope_pattern": ("max_width",),
    "lipsdp": ("solver",),
    "lipsdp_textbook": ("solver",),
    "exact_1d": (),
    "exact_2d": ("max_width",),
    "smooth_1d": ("rtol", "max_evals"),
}


def check_keywords(fname: str, method: str, kw: dict[str, Any], allowed: Sequence[str]) -> None:
    """``TypeError`` naming the keyword arguments that ``method`` does not take."""
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise TypeError(f"{fname}(method={method!r}) got unexpected keyword argument(s) {unknown}; "
                        f"accepted: {', '.join(allowed)}")


def _auto(net: TwoLayerNet) -> str:
    act, d, m = net.activation, net.d, net.width
    if d == 1 and act.piecewise_linear:
        return "exact_1d"
    if d == 2 and act.piecewise_linear and m <= AUTO_EXACT_2D_MAX_WIDTH:
        return "exact_2d"
    if d == 1 and act.smooth:
        return "smooth_1d"
    return "lipsdp" if m <= AUTO_LIPSDP_MAX_WIDTH else "product"


def certify(net: TwoLayerNet, method: str = "auto", points: Any = None, seed: int = 0,
            **kw: Any) -> "Certificate | list[Certificate]":
    """Certify Lip(f_θ): a :class:`Certificate` (lower, upper, witness), or one per ensemble member.

    ``method``: one of ``METHODS``. ``"auto"`` picks ``exact_1d`` (d = 1, ReLU/leaky ReLU),
    ``exact_2d`` (d = 2, ReLU/leaky ReLU, m ≤ ``AUTO_EXACT_2D_MAX_WIDTH``), ``smooth_1d`` (d = 1, smooth σ),
    else reduced ``lipsdp`` for m ≤ ``AUTO_LIPSDP_MAX_WIDTH`` and ``product`` beyond.
    For the upper-bound methods the lower bound is :func:`lower_bound` on ``points`` plus random points
    (``seed``; ``restarts`` and ``steps`` may be passed in ``kw``); the exact methods give their own.
    Other ``kw`` go to the method: ``max_width`` (slope_pattern, exact_2d), ``solver`` (lipsdp,
    lipsdp_textbook), ``rtol``, ``max_evals`` (smooth_1d). ``details`` holds the product bound and every
    other value computed, and ``time_s``.

    Raises :class:`~lipnb.errors.BoundViolated` if the lower bound exceeds the upper bound (a bug or a
    numerical failure, never expected).
    """
    if not isinstance(net, TwoLayerNet):
        raise TypeError(f"net must be a lipnb.TwoLayerNet; got {type(net).__name__}")
    method = check_choice("method", method, METHODS)
    seed = check_int("seed", seed, minimum=0)
    if net.ensemble is not None:
        return [certify(net.member(i), method, points, seed, **kw) for i in range(net.members)]
    chosen = _auto(net) if method == "auto" else method
    check_keywords("certify", chosen, kw, _METHOD_KW[chosen] + _LOWER_KW)
    lkw = {k: kw[k] for k in _LOWER_KW if k in kw}
    mkw = {k: kw[k] for k in _METHOD_KW[chosen] if k in kw}
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
