"""Chapter *Initialization*: the operator norms of a LeCun initialization ({prf:ref}`prop-init`)."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_int, check_real
from ..errors import BoundViolated
from ..nets import TwoLayerNet
from .check import Check, _check_net, _summarize, _violated


def init_operator_bounds(m: int, d: int, s: float) -> tuple[float, float, float]:
    """Initialization bound: the bounds on ‖A₀‖_op and ‖B₀‖₂ at LeCun initialization and their probability.

    With A₀ = G/√d (G ∈ R^{m×d} standard Gaussian) and B₀ = g/√m (g ∈ R^{1×m}), Gordon's bound plus
    Gaussian concentration give P(‖G‖_op > √m + √d + s) ≤ e^{−s²/2}, so with probability at least
    1 − 2e^{−s²/2} (a union bound over the two events; floored at 0 when s is small):

        ‖A₀‖_op ≤ (√m + √d + s)/√d,      ‖B₀‖₂ ≤ (√m + 1 + s)/√m.

    Returns ``(A_bound, B_bound, probability)``.
    """
    m = check_int("m", m, minimum=1)
    d = check_int("d", d, minimum=1)
    s = check_real("s", s, nonnegative=True)
    A_bound = (math.sqrt(m) + math.sqrt(d) + s) / math.sqrt(d)
    B_bound = (math.sqrt(m) + 1.0 + s) / math.sqrt(m)
    return A_bound, B_bound, max(0.0, 1.0 - 2.0 * math.exp(-0.5 * s * s))


def init_lipschitz_bound(m: int, d: int, s: float, L_sigma: float) -> float:
    """Λ₀(m, d, s) = L_σ (√m + √d + s)/√d · (√m + 1 + s)/√m: Lip(f_θ₀) ≤ Λ₀ w.p. ≥ 1 − 2e^{−s²/2}."""
    L_sigma = check_real("L_sigma", L_sigma, nonnegative=True)
    A_bound, B_bound, _ = init_operator_bounds(m, d, s)
    return L_sigma * A_bound * B_bound


def check_init(net: TwoLayerNet, s: float, level: float = 1e-6) -> Check:
    """Check Initialization bound on a LeCun-initialized network or ensemble: ‖A₀‖_op and ‖B₀‖₂ against their bounds.

    The bounds hold with probability ≥ 1 − 2e^{−s²/2} per network (the caller is responsible for
    ``net`` being a fresh ``init="lecun"`` draw; nothing in the weights says how they were drawn).

    * Single network: raises ``BoundViolated`` if either bound fails, stating the probability
      2e^{−s²/2} of that event.
    * Ensemble of E members: each member fails with probability at most p = min(1, 2e^{−s²/2}), so the
      number K of failures is stochastically dominated by Binomial(E, p). Raises only when K is
      implausible: P(Binomial(E, p) ≥ K) < ``level`` (default 1e-6). ``details`` holds the fraction of
      members within the bounds.

    ``lhs``/``rhs`` are ``[‖A₀‖_op, ‖B₀‖₂]`` and their bounds (shape (2,), or (2, E) for an ensemble).
    """
    from scipy.stats import binom

    net = _check_net(net)
    s = check_real("s", s, nonnegative=True)
    level = check_real("level", level, positive=True, high=1.0)
    A_bound, B_bound, prob = init_operator_bounds(net.width, net.d, s)
    norms = net.norms()
    A_op = np.atleast_1d(norms["A_op"].detach().cpu().numpy()).astype(np.float64)
    B = np.atleast_1d(norms["B"].detach().cpu().numpy()).astype(np.float64)
    lhs = np.stack([A_op, B], axis=-1)  # (E, 2)
    rhs = np.broadcast_to(np.array([A_bound, B_bound]), lhs.shape)
    bad = _violated(lhs, rhs).any(axis=1)
    p_fail = min(1.0, 2.0 * math.exp(-0.5 * s * s))
    E = lhs.shape[0]
    K = int(bad.sum())
    tail = float(binom.sf(K - 1, E, p_fail)) if K > 0 else 1.0
    L_sigma = net.activation.lipschitz
    details = {
        "A_bound": A_bound,
        "B_bound": B_bound,
        "probability": prob,
        "failure_probability_bound": p_fail,
        "members": E,
        "failures": K,
        "fraction_within": 1.0 - K / E,
        "tail_probability": tail,
        "Lambda0": L_sigma * A_bound * B_bound,
        "lip_product": float(L_sigma * A_op[0] * B[0]) if net.ensemble is None else L_sigma * A_op * B,
    }
    name = "Initialization bound: ‖A₀‖_op ≤ (√m+√d+s)/√d, ‖B₀‖ ≤ (√m+1+s)/√m"
    if net.ensemble is None:
        if K:
            j = int(np.argmax(lhs[0] - rhs[0]))
            raise BoundViolated(
                name,
                None,
                lhs[0, j],
                rhs[0, j],
                f"{'‖A₀‖_op' if j == 0 else '‖B₀‖₂'} above its bound at s = {s:g}; an event of probability "
                f"at most {p_fail:.3g} for a LeCun initialization",
            )
        return _summarize(name, lhs[0], rhs[0], None, None, details, "prediction")
    if K and tail < level:
        e = int(np.flatnonzero(bad)[0])
        j = int(np.argmax(lhs[e] - rhs[e]))
        raise BoundViolated(
            name,
            None,
            lhs[e, j],
            rhs[e, j],
            f"{K} of {E} members outside the bounds (first: member {e}); with failure probability at most "
            f"{p_fail:.3g} per member, P(Binomial({E}, {p_fail:.3g}) >= {K}) = {tail:.3g} < {level:g}",
        )
    # rows: [‖A₀‖_op, ‖B₀‖₂], columns: members; a few failures, when plausible, show as negative margins
    return _summarize(name, lhs.T, rhs.T, None, E, details, "prediction")
