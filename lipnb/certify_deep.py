"""Lipschitz certificates for multilayer perceptrons f(x) = W_L σ(… σ(W_1 x + b_1) …) + b_L (THEORY.md §9).

The two-layer certificates of :mod:`lipnb.certify` extended to depth L ≥ 2 (L linear layers, hidden
widths n_1, …, n_{L−1}, input dimension n_0 = d). σ is slope-restricted: σ' ∈ [α, β] = [s_lo, s_hi].

==================  ============================================================  ===========================
method              upper bound                                                   cost
==================  ============================================================  ===========================
``product``         L_σ^{L−1} Π_l ‖W_l‖_op                                        L spectral norms
``eclipse_fast``    sequential (ECLipsE-style) bound, multipliers Λ_l = c_l I     a 1-D search per layer
``eclipse``         sequential bound, diagonal Λ_l from one small SDP per layer   SDPs of size n_l + n_{l−1}
``lipsdp``          LipSDP-Neuron (Fazlyab et al. 2019), block-tridiagonal LMI    one SDP of size d + Σ n_l
==================  ============================================================  ===========================

Ordering (tested on random nets): lower ≤ Lip ≤ lipsdp ≤ eclipse, and lower ≤ eclipse_fast ≤ product.

**The LMI.** For differences u = x − x' propagated through the layers (v_0 = u, z_l = W_l v_{l−1},
v_l = σ(·) − σ(·), so each (v_l)_j lies between α (z_l)_j and β (z_l)_j), every diagonal Λ_l ⪰ 0 gives
q_l := (v_l − α z_l)ᵀ Λ_l (β z_l − v_l) ≥ 0. If the quadratic form
ρ‖v_0‖² − ‖W_L v_{L−1}‖² − 2 Σ_l q_l is nonnegative for *all* (v_0, …, v_{L−1}), then
‖f(x) − f(x')‖² = ‖W_L v_{L−1}‖² ≤ ρ‖u‖², so Lip(f) ≤ √ρ. Its matrix is block tridiagonal:
diagonal blocks ρI + 2αβ W_1ᵀΛ_1W_1, 2Λ_l + 2αβ W_{l+1}ᵀΛ_{l+1}W_{l+1}, …, 2Λ_{L−1} − W_LᵀW_L and
off-diagonal blocks −(α+β) Λ_l W_l. :func:`lipsdp` minimizes ρ over all Λ_l.

**The sequential (ECLipsE) evaluation** (Xu & Sivaranjani, 2024). Eliminating the blocks one by one
(Schur complements) shows that the matrix with ρ = 1 and the term W_LᵀW_L scaled by 1/ρ is PSD iff, with Y_0 = I,

    Z_l = Y_{l−1} + 2αβ W_lᵀΛ_lW_l ≻ 0,   Y_l = 2Λ_l − (α+β)² Λ_l W_l Z_l⁻¹ W_lᵀ Λ_l ≻ 0   (l = 1 … L−1),

and then the smallest admissible ρ is W_L Y_{L−1}⁻¹ W_Lᵀ (the form is homogeneous: scaling ρ and all Λ_l
together leaves only the term −W_LᵀW_L, whence the closed form). Any Λ_l's passing these checks give a valid
bound; :func:`eclipse_fast` picks Λ_l = c_l I by a scalar search and :func:`eclipse` picks a diagonal Λ_l
by a small SDP that maximizes s with Y_l ⪰ s W_{l+1}ᵀW_{l+1} (looking one layer ahead, as ECLipsE does).
With one hidden layer that SDP *is* LipSDP-Neuron, so ``eclipse`` equals ``lipsdp`` for L = 2.

**Guarantee.** Every upper bound returned is recomputed in float64 by the sequential evaluation from the
multipliers (the solver's ρ is never trusted: an inaccurate solve can only loosen the bound), with
Cholesky factorizations proving Z_l ≻ 0 and Y_l ≻ 0, and is inflated by a bound on the rounding of that
computation. Weights are normalized layer by layer first (all bounds are positively homogeneous in each
W_l), so widely different layer norms do not hurt the conditioning.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from ._validate import as_tensor, check_choice, check_int
from .certify import Certificate, _check_solver, check_keywords
from .errors import BoundViolated
from .mlp import MLP

__all__ = [
    "certify_mlp",
    "product_bound",
    "eclipse_fast",
    "eclipse",
    "lipsdp",
    "sequential_bound",
    "lower_bound",
    "METHODS",
    "AUTO_LIPSDP_MAX_SIZE",
    "AUTO_ECLIPSE_MAX_SIZE",
]

METHODS = ("auto", "product", "eclipse_fast", "eclipse", "lipsdp")

#: ``certify_mlp(method="auto")`` solves the full LipSDP when d + Σ n_l is at most this (Clarabel's cost
#: grows steeply with the LMI's size: about 1 s per interior-point iteration at size 96 on one core).
AUTO_LIPSDP_MAX_SIZE = 40
#: ... else the per-layer ECLipsE SDPs when every n_l + n_{l−1} is at most this, else ``eclipse_fast``.
AUTO_ECLIPSE_MAX_SIZE = 48

_EPS = float(np.finfo(np.float64).eps)
_EXACT_RTOL = 1e-9


# ---------------------------------------------------------------------------------------------- helpers
def _check_net(net: Any, where: str) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a lipnb.MLP; got {type(net).__name__}")
    if net.ensemble is not None:
        raise ValueError(
            f"{where} certifies a single network; got an ensemble of {net.ensemble} members. "
            "Use certify_mlp(net) (one certificate per member) or net.member(i)."
        )
    return net


def _normalized(net: MLP) -> tuple[list[np.ndarray], float, float, float]:
    """Weights W_l / ‖W_l‖_op (float64 NumPy), the product Π‖W_l‖_op, and the slope range (α, β)."""
    Ws = [w.detach().to("cpu", torch.float64).numpy() for w in net.weights]
    norms = [float(np.linalg.norm(W, 2)) for W in Ws]
    scale = float(np.prod(norms))
    out = [W / n if n > 0 else W for W, n in zip(Ws, norms)]
    return out, scale, float(net.activation.slope_lo), float(net.activation.slope_hi)


def _chol_pd(M: np.ndarray) -> bool:
    """True when the symmetric M is numerically positive definite (Cholesky succeeds with a margin)."""
    M = (M + M.T) / 2.0
    shift = 16.0 * M.shape[0] * _EPS * max(float(np.abs(M).max()), 1e-300)
    try:
        np.linalg.cholesky(M - shift * np.eye(M.shape[0]))
    except np.linalg.LinAlgError:
        return False
    return True


def _stage(Y: np.ndarray, W: np.ndarray, lam: np.ndarray, alpha: float, beta: float) -> np.ndarray | None:
    """Y_l = 2Λ − (α+β)² Λ W Z⁻¹ Wᵀ Λ with Z = Y + 2αβ WᵀΛW; None unless Z ≻ 0 and Y_l ≻ 0."""
    Z = Y + 2.0 * alpha * beta * (W.T * lam) @ W
    Z = (Z + Z.T) / 2.0
    if not _chol_pd(Z):
        return None
    K = W @ np.linalg.solve(Z, W.T)
    Yn = 2.0 * np.diag(lam) - (alpha + beta) ** 2 * (lam[:, None] * K * lam[None, :])
    Yn = (Yn + Yn.T) / 2.0
    return Yn if _chol_pd(Yn) else None


def _final_rho(Y: np.ndarray, W: np.ndarray) -> float:
    """λ_max(W_L Y⁻¹ W_Lᵀ) (a number for the (1, n) last layer)."""
    K = W @ np.linalg.solve(Y, W.T)
    return float(np.linalg.eigvalsh((K + K.T) / 2.0)[-1])


def _search(f: Any, lo: float, hi: float, grid: int = 25, iters: int = 40) -> tuple[float, float]:
    """(argmin, min) of f on [lo, hi]: a grid, then golden-section search around the best grid point.

    f may return inf (infeasible); no assumption of unimodality beyond the bracket found on the grid.
    """
    us = np.linspace(lo, hi, grid)
    vals = np.array([f(float(u)) for u in us])
    i = int(np.argmin(vals))
    best_u, best = float(us[i]), float(vals[i])
    if not math.isfinite(best):
        return best_u, best
    a, b = float(us[max(i - 1, 0)]), float(us[min(i + 1, grid - 1)])
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
    for u, v in ((c, fc), (d, fd)):
        if v < best:
            best_u, best = u, v
    return best_u, best


def _chain(Ws: list[np.ndarray], alpha: float, beta: float, lams: list[np.ndarray]) -> float:
    """√ρ of the sequential evaluation with multipliers ``lams`` (one vector per hidden layer); inf if not PD.

    After each stage Y_l is rescaled to λ_max(Y_l) = 1 (an equivalent rescaling of the later multipliers,
    see the module docstring); ``lams[l]`` is meant for the rescaled Y_{l−1}, as the solvers produce them.
    """
    Y = np.eye(Ws[0].shape[1])
    log_scale = 0.0
    for W, lam in zip(Ws[:-1], lams):
        Y = _stage(Y, W, np.asarray(lam, dtype=np.float64), alpha, beta)
        if Y is None:
            return math.inf
        k = float(np.linalg.eigvalsh(Y)[-1])
        Y, log_scale = Y / k, log_scale + math.log(k)
    rho = _final_rho(Y, Ws[-1]) * math.exp(-log_scale)
    return math.sqrt(max(rho, 0.0))


def _inflate(value: float, Ws: list[np.ndarray]) -> float:
    """Room for the rounding of the float64 evaluation: a few hundred ulps per unit and layer."""
    n = sum(W.shape[0] + W.shape[1] for W in Ws)
    return value * (1.0 + 64.0 * n * _EPS)


# ---------------------------------------------------------------------------------------------- product
def product_bound(net: MLP) -> float:
    """L_σ^{L−1} Π_l ‖W_l‖_op (each layer is L_σ-Lipschitz after the affine map)."""
    net = _check_net(net, "product_bound")
    return float(net.product_bound())


# ---------------------------------------------------------------------------------------------- sequential
def sequential_bound(net: MLP, multipliers: list[Any]) -> float:
    """The certified bound √ρ of the sequential evaluation for given diagonal multipliers (one per hidden layer).

    ``multipliers[l]`` (length n_{l+1}) multiplies the rescaled stage of the module docstring; any
    nonnegative vectors give a valid bound (``inf`` when a stage is not positive definite).
    """
    net = _check_net(net, "sequential_bound")
    Ws, scale, alpha, beta = _normalized(net)
    if len(multipliers) != net.depth - 1:
        raise ValueError(f"multipliers must hold one vector per hidden layer ({net.depth - 1}); got {len(multipliers)}")
    lams = []
    for l, m in enumerate(multipliers):
        v = np.asarray(m, dtype=np.float64).reshape(-1)
        if v.shape != (Ws[l].shape[0],) or not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"multipliers[{l}] must be {Ws[l].shape[0]} finite nonnegative numbers")
        lams.append(v)
    return _inflate(_chain(Ws, alpha, beta, lams) * scale, Ws)


# A solver's multipliers sit on the boundary of the cone, so a stage recomputed in float64 may come out
# indefinite by a hair: shrinking that stage's Λ_l (Y_l = 2Λ_l − (α+β)² Λ_l W Z⁻¹ Wᵀ Λ_l gains definiteness
# as Λ_l shrinks) gives multipliers that pass, and any that pass give a valid bound.
_SHRINKS = (1.0, 1 - 1e-9, 1 - 1e-6, 1 - 1e-4, 1 - 1e-3, 0.99, 0.9, 0.5)


def _stage_shrunk(Y: np.ndarray, W: np.ndarray, lam: np.ndarray, alpha: float, beta: float
                  ) -> tuple[np.ndarray | None, np.ndarray]:
    """(Y_l, the multipliers used): the first of ``lam`` × ``_SHRINKS`` whose stage is positive definite."""
    for shrink in _SHRINKS:
        Yn = _stage(Y, W, lam * shrink, alpha, beta)
        if Yn is not None:
            return Yn, lam * shrink
    return None, lam


def _fast_lams(Ws: list[np.ndarray], alpha: float, beta: float, search: bool = True) -> list[np.ndarray]:
    """Λ_l = c_l I, c_l minimizing the next stage's λ_max(W_{l+1} Y_l⁻¹ W_{l+1}ᵀ) (a bounded 1-D search),
    or with ``search=False`` ECLipsE-Fast's closed form c_l = 1/((α+β)² λ_max(W_l Y_{l−1}⁻¹ W_lᵀ))."""
    Y = np.eye(Ws[0].shape[1])
    lams = []
    ab2 = max((alpha + beta) ** 2, 1e-300)
    for l, W in enumerate(Ws[:-1]):
        n = W.shape[0]
        Wn = Ws[l + 1]
        s = float(np.linalg.eigvalsh(W @ np.linalg.solve(Y, W.T))[-1])
        c0 = 1.0 / (ab2 * max(s, 1e-300))  # the closed form of ECLipsE-Fast (exact when αβ = 0)

        def objective(u: float) -> float:
            Yn = _stage(Y, W, np.full(n, c0 * math.exp(u)), alpha, beta)
            if Yn is None:
                return math.inf
            return float(np.linalg.eigvalsh(Wn @ np.linalg.solve(Yn, Wn.T))[-1]) / float(np.linalg.eigvalsh(Yn)[-1])

        start, best = 0.0, objective(0.0)
        while not math.isfinite(best) and start > -60:  # αβ < 0: Z ≻ 0 needs a small enough c
            start -= 1.0
            best = objective(start)
        if search:
            u, val = _search(objective, start - 4.0, start + 4.0)
            c = c0 * math.exp(u if val < best else start)
        else:
            c = c0 * math.exp(start)
        Yn = _stage(Y, W, np.full(n, c), alpha, beta)
        if Yn is None:
            return [np.zeros(W.shape[0]) for W in Ws[:-1]]  # leads to inf: no valid multipliers found
        k = float(np.linalg.eigvalsh(Yn)[-1])
        lams.append(np.full(n, c))
        Y = Yn / k
    return lams


def eclipse_fast(net: MLP) -> float:
    """Sequential bound with scalar multipliers Λ_l = c_l I (ECLipsE-Fast-style); ≤ the product bound.

    Each c_l is found by a bounded search on log c_l started at ECLipsE-Fast's closed form
    c = 1/((α+β)² λ_max(W_l Y_{l−1}⁻¹ W_lᵀ)), minimizing the next stage's λ_max(W_{l+1} Y_l⁻¹ W_{l+1}ᵀ)
    relative to λ_max(Y_l). That search is greedy (one layer ahead), so it can end above the closed
    form's own chain (seen on trained tanh networks): both chains are evaluated and the smaller bound is
    returned, never looser than ECLipsE-Fast. Cost: a few dozen n_l × n_l factorizations per layer.
    """
    net = _check_net(net, "eclipse_fast")
    Ws, scale, alpha, beta = _normalized(net)
    if scale == 0.0:
        return 0.0
    value = min(_chain(Ws, alpha, beta, _fast_lams(Ws, alpha, beta, search)) for search in (True, False)) * scale
    return _inflate(value, Ws)


def _gram(lam: Any, W: np.ndarray) -> Any:
    """Wᵀ diag(λ) W as one dense linear map of λ (cvxpy canonicalizes this far faster than W.T @ diag @ W)."""
    import cvxpy as cp

    n_prev = W.shape[1]
    G = np.einsum("ji,jk->ikj", W, W).reshape(n_prev * n_prev, W.shape[0])
    return cp.reshape(G @ lam, (n_prev, n_prev), order="C")


def _diag_times(lam: Any, W: np.ndarray) -> Any:
    """diag(λ) W as a linear map of λ."""
    import cvxpy as cp

    return cp.multiply(cp.reshape(lam, (W.shape[0], 1), order="C") @ np.ones((1, W.shape[1])), W)


def _solve(prob: Any, solver: str) -> str:
    import cvxpy as cp

    try:
        kwargs: dict[str, Any] = {"eps_abs": 1e-8, "eps_rel": 1e-8, "max_iters": 50000} if solver == "SCS" else {}
        prob.solve(solver=solver, **kwargs)
        return str(prob.status)
    except cp.error.SolverError as exc:
        return f"solver error: {exc}"


def _eclipse_lams(Ws: list[np.ndarray], alpha: float, beta: float, solver: str) -> tuple[list[np.ndarray], list[str]]:
    import cvxpy as cp

    Y = np.eye(Ws[0].shape[1])
    lams, statuses = [], []
    fast = None
    for l, W in enumerate(Ws[:-1]):
        n, n_prev = W.shape
        Wn = Ws[l + 1]
        lam = cp.Variable(n, nonneg=True)
        s = cp.Variable()
        top = 2 * cp.diag(lam) - s * (Wn.T @ Wn)
        off = (alpha + beta) * _diag_times(lam, W)
        bottom = Y + 2 * alpha * beta * _gram(lam, W)
        M = cp.bmat([[top, off], [off.T, bottom]])
        prob = cp.Problem(cp.Maximize(s), [(M + M.T) / 2 >> 0])
        status = _solve(prob, solver)
        statuses.append(status)
        v = lam.value
        Yn = None
        if v is not None and np.all(np.isfinite(v)):
            v = np.clip(np.asarray(v, dtype=np.float64), 0.0, None)
            v = np.maximum(v, 1e-9 * max(float(v.max()), 1e-300))  # Y_l ≻ 0 needs every λ_j > 0
            Yn, v = _stage_shrunk(Y, W, v, alpha, beta)
        if Yn is None:  # the solver failed: fall back on the scalar multiplier for this stage
            fast = fast or _fast_lams(Ws, alpha, beta)
            v = np.full(n, float(fast[l][0]))
            Yn = _stage(Y, W, v, alpha, beta)
            statuses[-1] += " (fell back on the scalar multiplier)"
            if Yn is None:
                return [np.zeros(W.shape[0]) for W in Ws[:-1]], statuses
        k = float(np.linalg.eigvalsh(Yn)[-1])
        lams.append(v)
        Y = Yn / k
    return lams, statuses


def eclipse(net: MLP, solver: str | None = None, details: dict | None = None) -> float:
    """Sequential bound with diagonal multipliers, one small SDP per hidden layer (ECLipsE-style).

    Stage l: maximize s over diagonal Λ_l ⪰ 0 subject to
    [[2Λ_l − s W_{l+1}ᵀW_{l+1}, (α+β)Λ_lW_l], [(α+β)W_lᵀΛ_l, Y_{l−1} + 2αβ W_lᵀΛ_lW_l]] ⪰ 0,
    i.e. Y_l ⪰ s W_{l+1}ᵀW_{l+1} (a Schur complement): the multipliers that leave the most room for the
    next layer. The bound is then recomputed from the Λ_l in float64 (module docstring), so it is valid
    whatever the solver's accuracy. Solver: ``None`` = Clarabel, or any installed cvxpy solver name.
    ``details`` (a dict) receives the solver statuses.
    """
    net = _check_net(net, "eclipse")
    solver = _check_solver(solver)
    Ws, scale, alpha, beta = _normalized(net)
    if scale == 0.0:
        return 0.0
    lams, statuses = _eclipse_lams(Ws, alpha, beta, solver)
    if details is not None:
        details["eclipse_status"] = statuses
    return _inflate(_chain(Ws, alpha, beta, lams) * scale, Ws)


def lipsdp(net: MLP, solver: str | None = None, details: dict | None = None) -> float:
    """LipSDP-Neuron for an MLP (Fazlyab et al., 2019): minimize ρ subject to the block-tridiagonal LMI.

    The matrix (module docstring) has size d + Σ n_l, so this is for small networks. The solver's ρ is
    not trusted: its multipliers Λ_l/ρ are fed to the sequential evaluation (with the best common scale,
    a 1-D search, and a stage's Λ_l shrunk by a hair where float64 finds the solver's boundary point
    indefinite), which certifies the returned value in float64.
    """
    import cvxpy as cp

    net = _check_net(net, "lipsdp")
    solver = _check_solver(solver)
    Ws, scale, alpha, beta = _normalized(net)
    if scale == 0.0:
        return 0.0
    sizes = [Ws[0].shape[1]] + [W.shape[0] for W in Ws[:-1]]
    rho = cp.Variable()
    lams = [cp.Variable(n, nonneg=True) for n in sizes[1:]]
    k = len(sizes)
    blocks: list[list[Any]] = [[None] * k for _ in range(k)]
    for i in range(k):
        for j in range(k):
            blocks[i][j] = np.zeros((sizes[i], sizes[j]))
    for i in range(k):
        diag: Any = rho * np.eye(sizes[0]) if i == 0 else 2 * cp.diag(lams[i - 1])
        if i + 1 < k:
            W = Ws[i]
            diag = diag + 2 * alpha * beta * _gram(lams[i], W)
            off = -(alpha + beta) * _diag_times(lams[i], W)  # block (i+1, i)
            blocks[i + 1][i] = off
            blocks[i][i + 1] = off.T
        else:
            diag = diag - Ws[-1].T @ Ws[-1]
        blocks[i][i] = diag
    M = cp.bmat(blocks)
    prob = cp.Problem(cp.Minimize(rho), [(M + M.T) / 2 >> 0])
    status = _solve(prob, solver)
    if details is not None:
        details["lipsdp_status"] = status
        details["lipsdp_solver_value"] = (math.sqrt(max(float(rho.value), 0.0)) * scale
                                          if rho.value is not None else math.nan)
    r = float(rho.value) if rho.value is not None and float(rho.value) > 0 else None
    vals = [v.value for v in lams]
    if r is None or any(v is None or not np.all(np.isfinite(v)) for v in vals):
        if details is not None:
            details["lipsdp_fallback"] = "eclipse_fast"
        return _inflate(_chain(Ws, alpha, beta, _fast_lams(Ws, alpha, beta)) * scale, Ws)
    raw = [np.maximum(np.clip(np.asarray(v, dtype=np.float64), 0.0, None) / r, 1e-12) for v in vals]

    def value(u: float) -> float:
        # the chain rescales Y_l to λ_max = 1 after every stage, so layer l's multipliers are rescaled alike
        lams_u, Y, factor = [], np.eye(sizes[0]), math.exp(u)
        for W, lam in zip(Ws[:-1], raw):
            Yn, lam_l = _stage_shrunk(Y, W, lam * factor, alpha, beta)
            if Yn is None:
                return math.inf
            kk = float(np.linalg.eigvalsh(Yn)[-1])
            lams_u.append(lam_l)
            Y, factor = Yn / kk, factor / kk
        return _chain(Ws, alpha, beta, lams_u)

    best = min(value(0.0), _search(value, -2.0, 2.0, grid=9)[1])
    if not math.isfinite(best):
        if details is not None:
            details["lipsdp_fallback"] = "eclipse_fast"
        best = _chain(Ws, alpha, beta, _fast_lams(Ws, alpha, beta))
    return _inflate(best * scale, Ws)


# ---------------------------------------------------------------------------------------------- lower bound
def lower_bound(net: MLP, points: Any = None, restarts: int = 16, steps: int = 200, seed: int = 0
                ) -> tuple[float, np.ndarray]:
    """A lower bound max_x ‖∇f(x)‖₂ ≤ Lip(f) and the point attaining it (gradients by ``net.input_gradient``).

    Candidates: ``points`` (e.g. the training inputs) plus 64·``restarts`` random points (twice as many for
    a piecewise-linear σ): half Gaussian at the scale of the data (unit scale without points), half near
    the first layer's hyperplanes, where units switch. For a smooth σ the
    ``restarts`` best candidates are refined by ``steps`` of Adam ascent on ‖∇f(x)‖² (autograd through the
    input gradient); for ReLU / leaky ReLU the gradient is piecewise constant and ascent cannot move, so
    only sampling is used. The value returned is ‖∇f(witness)‖ recomputed by ``net.input_gradient``.
    """
    net = _check_net(net, "lower_bound")
    restarts = check_int("restarts", restarts, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    d = net.d
    g = torch.Generator().manual_seed(seed)
    cands = []
    R = 1.0
    if points is not None:
        pts = as_tensor("points", points, dtype=torch.float64).cpu()
        if pts.ndim == 1 and d == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != d:
            raise ValueError(f"points must have shape (N, {d}) for a network with d = {d}; got {tuple(pts.shape)}")
        cands.append(pts)
        if pts.shape[0]:
            R = max(float(torch.linalg.vector_norm(pts, dim=1).max()), 1e-3)
    n_rand = 64 * restarts * (2 if net.activation.piecewise_linear else 1)
    half = n_rand // 2
    cands.append(R * torch.randn(half, d, generator=g, dtype=torch.float64) / math.sqrt(d))
    # near the first layer's hyperplanes W_1[i]·x + b_1[i] = 0, where the first units switch
    W1 = net.weights[0].detach().to("cpu", torch.float64)
    b1 = net.biases[0].detach().to("cpu", torch.float64)
    rn2 = (W1 * W1).sum(dim=1)
    ok = torch.nonzero(rn2 > 0)[:, 0]
    if ok.numel():
        pick = ok[torch.randint(ok.numel(), (n_rand - half,), generator=g)]
        foot = -(b1[pick] / rn2[pick])[:, None] * W1[pick]
        cands.append(foot + 0.1 * R * torch.randn(n_rand - half, d, generator=g, dtype=torch.float64))
    X = torch.cat(cands).to(device=net.device, dtype=net.dtype)
    norms = torch.linalg.vector_norm(net.input_gradient(X), dim=1)
    best_x = X[int(torch.argmax(norms))].clone()
    if net.activation.smooth and steps > 0:
        top = torch.topk(norms, min(restarts, norms.numel())).indices
        x = X[top].clone().requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.02 * R)
        best_val = float(norms.max())
        with torch.enable_grad():
            for _ in range(steps):
                opt.zero_grad()
                xe = x.expand(net.members, -1, -1)
                out = net._forward(xe)[0].sum()
                (gx,) = torch.autograd.grad(out, x, create_graph=True)
                val = (gx ** 2).sum(dim=1)
                k = int(torch.argmax(val.detach()))
                if float(val[k].detach()) > best_val ** 2:
                    best_val, best_x = math.sqrt(float(val[k].detach())), x[k].detach().clone()
                (-val.sum()).backward()
                opt.step()
        last = torch.linalg.vector_norm(net.input_gradient(x.detach()), dim=1)
        k = int(torch.argmax(last))
        if float(last[k]) > best_val:
            best_x = x[k].detach().clone()
    w = best_x[None]
    value = float(torch.linalg.vector_norm(net.input_gradient(w), dim=1)[0])
    return value, best_x.detach().cpu().numpy()


# ---------------------------------------------------------------------------------------------- certify
_METHOD_KW = {"product": (), "eclipse_fast": (), "eclipse": ("solver",), "lipsdp": ("solver",)}
_LOWER_KW = ("restarts", "steps")


def _auto(net: MLP) -> str:
    sizes = [net.d, *net.widths]
    if sum(sizes) <= AUTO_LIPSDP_MAX_SIZE:
        return "lipsdp"
    if max(a + b for a, b in zip(sizes[:-1], sizes[1:])) <= AUTO_ECLIPSE_MAX_SIZE:
        return "eclipse"
    return "eclipse_fast"


def certify_mlp(net: MLP, method: str = "auto", points: Any = None, seed: int = 0,
                **kw: Any) -> "Certificate | list[Certificate]":
    """Certify Lip(f) of an MLP: a :class:`lipnb.certify.Certificate` (lower, upper, witness), or one per member.

    ``method``: one of ``METHODS``. ``"auto"`` picks ``lipsdp`` when d + Σ n_l ≤ ``AUTO_LIPSDP_MAX_SIZE``,
    else ``eclipse`` when every n_l + n_{l−1} ≤ ``AUTO_ECLIPSE_MAX_SIZE``, else ``eclipse_fast``. The upper
    bound reported is the method's value, or the product bound if that is smaller (it never is for
    ``eclipse_fast`` and the SDPs on the networks tested, but the minimum of two valid bounds is valid).
    The lower bound is :func:`lower_bound` on ``points`` plus random points (``seed``; ``restarts`` and
    ``steps`` may be passed in ``kw``); ``solver`` goes to the SDP methods. ``details`` holds the product
    bound, the method's own value, solver statuses and ``time_s``.

    Raises :class:`~lipnb.errors.BoundViolated` if the lower bound exceeds the upper bound.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a lipnb.MLP; got {type(net).__name__}")
    method = check_choice("method", method, METHODS)
    seed = check_int("seed", seed, minimum=0)
    if net.ensemble is not None:
        return [certify_mlp(net.member(i), method, points, seed, **kw) for i in range(net.members)]
    chosen = _auto(net) if method == "auto" else method
    check_keywords("certify_mlp", chosen, kw, _METHOD_KW[chosen] + _LOWER_KW)
    t0 = time.perf_counter()
    details: dict[str, Any] = {"requested": method, "product": product_bound(net)}
    if chosen == "product":
        upper = details["product"]
    elif chosen == "eclipse_fast":
        upper = eclipse_fast(net)
    elif chosen == "eclipse":
        upper = eclipse(net, kw.get("solver"), details)
    else:
        upper = lipsdp(net, kw.get("solver"), details)
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
