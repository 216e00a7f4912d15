"""The slope-pattern bound ({prf:ref}`prop-slope-pattern`): max over the vertices of the slope box."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int
from ..nets import TwoLayerNet
from .certificate import _check_net, _weights


def slope_pattern_bound(net: TwoLayerNet, max_width: int = 20) -> float:
    """Slope-pattern bound: Lip(f_θ) ≤ max_{s ∈ {s_lo, s_hi}^m} ‖B diag(s) A‖₂ = max_s ‖Σ_i s_i B_i A_i‖₂.

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
        blk = P[start : start + 4096]
        sq = pp[start : start + 4096, None] + qq[None, :] + 2.0 * (blk @ Q.T)
        best = max(best, float(sq.max()))
    return math.sqrt(max(best, 0.0))
