"""Chapter *Learning-rate constraints*: the path-length lemma ({prf:ref}`lem-path-length`).

Lip(f_{θ_t}) ≤ L_σ(‖A₀‖_op + P^A_t)(‖B₀‖₂ + P^B_t) with P^g_t the path length of group g: for any loss
and any optimizer, since it only uses the triangle inequality on the steps actually taken.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..training.history import History
from .check import Check, _2d, _check_history, _compare, _out, _per_member


def path_length_bound(history: History) -> np.ndarray:
    """Path-length lemma: L_σ (‖A₀‖_op + P^A_t)(‖B₀‖₂ + P^B_t) at each logged step (shape (T,) or (T, E)).

    P^g_t = Σ_{s<t} ‖θ^g_{s+1} − θ^g_s‖ is ``history.path_length[g]`` (accumulated at every step, so
    any ``log_every`` works). It bounds Lip(f_{θ_t}) for any loss and any optimizer.
    """
    h = _check_history(history)
    A0 = _2d(h.norms["A_op"])[0]
    B0 = _2d(h.norms["B"])[0]
    bound = h.lipschitz_activation * (A0 + _2d(h.path_length["A"])) * (B0 + _2d(h.path_length["B"]))
    return _out(bound, h)


def check_path_length(history: History, lip_upper: Any = None) -> Check:
    """Check Path-length lemma at every logged step.

    ‖A_t‖_op ≤ ‖A₀‖_op + P^A_t, ‖B_t‖₂ ≤ ‖B₀‖₂ + P^B_t and L_σ‖A_t‖_op‖B_t‖₂ (``history.lip_product``,
    Product bound) ≤ L_σ(‖A₀‖_op + P^A_t)(‖B₀‖₂ + P^B_t). If ``lip_upper`` is given (a certified upper
    bound on Lip(f) of the final network, one per member for an ensemble) it must not exceed the final
    bound either. The returned check is the Lipschitz one; the others are in ``details["parts"]``.
    At t = 0 both sides are equal, so the tightest ratio is 1; ``final_ratio`` says how loose the
    bound has become by the end. A **consistency** check: the lemma is the triangle inequality on the
    steps the run recorded, so it tests the recorded norms and path lengths, not a prediction.
    """
    h = _check_history(history)
    E = h.ensemble
    steps = h.steps
    A, B = _2d(h.norms["A_op"]), _2d(h.norms["B"])
    PA, PB = _2d(h.path_length["A"]), _2d(h.path_length["B"])
    partA = _compare("Path-length lemma: ‖A_t‖_op ≤ ‖A₀‖_op + P^A_t", A, A[0] + PA, steps, E)
    partB = _compare("Path-length lemma: ‖B_t‖₂ ≤ ‖B₀‖₂ + P^B_t", B, B[0] + PB, steps, E)
    bound = _2d(path_length_bound(h))
    details: dict[str, Any] = {"final_bound": _out(bound, h)[-1], "parts": [partA, partB]}
    if lip_upper is not None:
        ups = _per_member(lip_upper, A.shape[1], "lip_upper")
        details["parts"].append(
            _compare(
                "Path-length lemma: certified Lip(f_T) ≤ final bound",
                ups[None, :],
                bound[-1][None, :],
                None,
                E,
                explain=f"at the final step {h.total_steps}",
            )
        )
    return _compare(
        "Path-length lemma: L_σ‖A_t‖_op‖B_t‖ ≤ L_σ(‖A₀‖_op+P^A_t)(‖B₀‖+P^B_t)",
        _2d(h.lip_product),
        bound,
        steps,
        E,
        details,
    )
