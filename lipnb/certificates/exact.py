"""Exact Lipschitz constants of piecewise-linear networks in d = 1 ({prf:ref}`prop-exact-1d`) and d = 2
({prf:ref}`prop-exact-2d`)."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int
from ..nets import TwoLayerNet
from .certificate import _EPS, _EXACT_RTOL, Certificate, _check_net, _weights


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
    return Certificate(
        lower,
        max(upper, lower) + rounding,
        "exact_1d",
        bool(exact),
        witness,
        {"pieces": int(slopes.size), "breakpoints": int(breaks.size), "rounding_bound": rounding},
    )


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
    new = np.r_[True, (np.abs(np.diff(ns, axis=0)).max(axis=1) > 1e-13) | (np.abs(np.diff(offs)) > 1e-12 * scale)]
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
            comps.append(np.concatenate([g0[:, k : k + 1], g0[:, k : k + 1] + run], axis=1))  # (b, K + 1)
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
    return Certificate(
        lower,
        max(upper, lower) + rounding,
        "exact_2d",
        bool(exact),
        witness,
        {"lines": K, "edges": edges, "rounding_bound": rounding},
    )
