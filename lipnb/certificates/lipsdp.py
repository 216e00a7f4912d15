"""LipSDP-Neuron (Fazlyab et al., 2019): the semidefinite certificate, for two layers ({prf:ref}`thm-lipsdp`,
reduced form {prf:ref}`thm-lipsdp-reduced`) and for MLPs."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .._validate import check_choice
from ..mlp import MLP
from ..nets import TwoLayerNet
from .certificate import _EPS, _check_mlp, _check_net, _check_solver, _weights
from .sequential import _chain, _diag_times, _fast_lams, _gram, _inflate, _normalized, _search, _solve, _stage_shrunk


def _lipsdp_certified_rho(
    A: np.ndarray, B: np.ndarray, alpha: float, beta: float, lam: np.ndarray
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
        res = minimize_scalar(
            lambda u: rho(S * (1.0 + math.exp(u))), bounds=(-40.0, 40.0), method="bounded", options={"xatol": 1e-10}
        )
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
        lmi = cp.bmat(
            [
                [rho * np.eye(d) - ((beta - alpha) ** 2 / 2.0) * G, off[:, None]],
                [off[None, :], cp.reshape(1 - cp.sum(t), (1, 1), order="C")],
            ]
        )
        cons = [
            (lmi + lmi.T) / 2 >> 0,
            cp.SOC(lam + t, cp.vstack([math.sqrt(2.0) * B, lam - t]), axis=0),
        ]  # 2 λ_i t_i ≥ B_i²
    else:
        gram = np.einsum("ij,ik->jki", A, A).reshape(d * d, m)
        ATA = cp.reshape(gram @ lam, (d, d), order="C")  # Aᵀ T A
        AT = cp.multiply(A.T, cp.reshape(lam, (1, m), order="C"))  # Aᵀ T
        M = cp.bmat(
            [
                [-2 * alpha * beta * ATA - rho * np.eye(d), (alpha + beta) * AT],
                [(alpha + beta) * AT.T, -2 * cp.diag(lam) + np.outer(B, B)],
            ]
        )
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


def _lipsdp_two_layer(net: TwoLayerNet, formulation: str = "reduced", solver: str | None = None) -> float:
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
    net = _check_net(net, "_lipsdp_two_layer")
    formulation = check_choice("formulation", formulation, ("reduced", "textbook"))
    solver = _check_solver(solver)
    return _lipsdp(net, formulation, solver)[0]


def _lipsdp_mlp(net: MLP, solver: str | None = None, details: dict | None = None) -> float:
    """LipSDP-Neuron for an MLP (Fazlyab et al., 2019): minimize ρ subject to the block-tridiagonal LMI.

    The matrix (module docstring) has size d + Σ n_l, so this is for small networks. The solver's ρ is
    not trusted: its multipliers Λ_l/ρ are fed to the sequential evaluation (with the best common scale,
    a 1-D search, and a stage's Λ_l shrunk by a hair where float64 finds the solver's boundary point
    indefinite), which certifies the returned value in float64.
    """
    import cvxpy as cp

    net = _check_mlp(net, "_lipsdp_mlp")
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
        details["lipsdp_solver_value"] = (
            math.sqrt(max(float(rho.value), 0.0)) * scale if rho.value is not None else math.nan
        )
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


def lipsdp(
    net: TwoLayerNet | MLP, formulation: str = "reduced", solver: str | None = None, details: dict | None = None
) -> float:
    """LipSDP-Neuron's certified upper bound on Lip(f).

    Two layers: ``formulation="reduced"`` (the (d+1)×(d+1) LMI, {prf:ref}`thm-lipsdp-reduced`) or
    ``"textbook"`` (the (m+d)×(m+d) LMI of Fazlyab et al., {prf:ref}`thm-lipsdp`). MLP: the
    block-tridiagonal LMI (``formulation`` must be ``"reduced"``, the default; ``details`` collects the
    solver's status). In both cases the solver's value is re-verified in float64 from its multipliers.
    """
    if isinstance(net, MLP):
        if formulation != "reduced":
            raise ValueError(f"formulation must be 'reduced' (the default) for an MLP; got {formulation!r}")
        return _lipsdp_mlp(net, solver, details)
    return _lipsdp_two_layer(net, formulation, solver)
