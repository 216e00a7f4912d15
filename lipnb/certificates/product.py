"""The product bound ({prf:ref}`prop-product-bound`): L_σ‖B‖₂‖A‖_op, and L_σ^{L−1}Π_l‖W_l‖_op for an MLP."""

from __future__ import annotations

from ..mlp import MLP
from ..nets import TwoLayerNet
from .certificate import _check_mlp, _check_net


def product_bound(net: TwoLayerNet | MLP) -> float:
    """L_σ ‖B‖₂ ‖A‖_op for a two-layer network ({prf:ref}`prop-product-bound`); L_σ^{L−1} Π_l ‖W_l‖_op for an MLP
    ({prf:ref}`beyond-prop-depth-product`: each layer is L_σ-Lipschitz after its affine map)."""
    if isinstance(net, MLP):
        return float(_check_mlp(net, "product_bound").product_bound())
    net = _check_net(net, "product_bound")
    return float(net.product_bound())
