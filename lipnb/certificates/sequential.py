"""Sequential (ECLipsE-style) certificates of MLPs: the block-by-block evaluation of the LipSDP matrix.

See :mod:`lipnb.certificates.lipsdp` for the LMI; the evaluation and its guarantee are described in
:func:`sequential_bound`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..mlp import MLP
from .certificate import _EPS, _check_mlp, _check_solver

# A solver's multipliers sit on the boundary of the cone, so a stage recomputed in float64 may come out
# indefinite by a hair: shrinking that stage's Λ_l (Y_l = 2Λ_l − (α+β)² Λ_l W Z⁻¹ Wᵀ Λ_l gains definiteness
# as Λ_l shrinks) gives multipliers that pass, and any that pass give a valid bound.
_SHRINKS = (1.0, 1 - 1e-9, 1 - 1e-6, 1 - 1e-4, 1 - 1e-3, 0.99, 0.9, 0.5)


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


def sequential_bound(net: MLP, multipliers: list[Any]) -> float:
    """The certified bound √ρ of the sequential evaluation for given diagonal multipliers (one per hidden layer).

    ``multipliers[l]`` (length n_{l+1}) multiplies the rescaled stage of the module docstring; any
    nonnegative vectors give a valid bound (``inf`` when a stage is not positive definite).
    """
    net = _check_mlp(net, "sequential_bound")
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


def _stage_shrunk(
    Y: np.ndarray, W: np.ndarray, lam: np.ndarray, alpha: float, beta: float
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

        # bound as defaults: the objective is searched within this iteration, for this layer's Y, W, c0
        def objective(u: float, Y=Y, W=W, n=n, c0=c0, Wn=Wn) -> float:
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
    net = _check_mlp(net, "eclipse_fast")
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
    net = _check_mlp(net, "eclipse")
    solver = _check_solver(solver)
    Ws, scale, alpha, beta = _normalized(net)
    if scale == 0.0:
        return 0.0
    lams, statuses = _eclipse_lams(Ws, alpha, beta, solver)
    if details is not None:
        details["eclipse_status"] = statuses
    return _inflate(_chain(Ws, alpha, beta, lams) * scale, Ws)
