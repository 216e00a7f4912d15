"""The exact Lipschitz constant of a smooth network in d = 1, to a relative tolerance ({prf:ref}`prop-smooth-1d`)."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import expit, ndtr

from .._validate import check_int, check_real
from ..nets import TwoLayerNet
from .certificate import _EPS, Certificate, _check_net, _weights


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
    return max(abs(phi(z) * (z**3 - 4.0 * z)) for z in roots)


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
            d1, d2 = self._d12(np.multiply.outer(x[s : s + self.chunk], self.A) + self.a)
            g[s : s + self.chunk], h[s : s + self.chunk] = d1 @ self.c, d2 @ self.c2
        return g, h

    def local_K(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Σ_i |B_i| A_i² sup_{z between A_i l + a_i and A_i r + a_i} |σ''(z)| ≥ sup_[l, r] |f''|, per interval.

        Exact per unit: σ'' is monotone between its critical points, so its size peaks at an end of the
        z-interval or at a critical point inside it.
        """
        out = np.empty(lo.size)
        w2 = np.abs(self.c2)
        for s in range(0, lo.size, self.chunk):
            zl = np.multiply.outer(lo[s : s + self.chunk], self.A) + self.a
            zr = np.multiply.outer(hi[s : s + self.chunk], self.A) + self.a
            sup = np.maximum(np.abs(self._d12(zl)[1]), np.abs(self._d12(zr)[1]))
            zmin, zmax = np.minimum(zl, zr), np.maximum(zl, zr)
            for cz, cv in zip(self.crit, self.crit_vals):
                np.maximum(sup, np.where((zmin <= cz) & (cz <= zmax), cv, 0.0), out=sup)
            out[s : s + self.chunk] = sup @ w2
        return out

    def bound(
        self, gl: np.ndarray, hl: np.ndarray, gr: np.ndarray, hr: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
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

    f'(x) = Σ_i B_i A_i σ'(A_i x + a_i) is Lipschitz with K = Σ_i |B_i| A_i² sup|σ''|, and
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
    return Certificate(
        lower,
        max(upper, lower),
        "smooth_1d",
        bool(exact),
        w,
        {
            "rtol": rtol,
            "evaluations": F.evals,
            "iterations": iterations,
            "converged": converged,
            "rounding_bound": atol,
        },
    )
