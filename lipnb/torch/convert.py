"""PyTorch modules to lipnb networks: :func:`from_module`, the inverse of ``to_torch_module``.

A ``torch.nn.Sequential`` that alternates ``nn.Linear`` layers and one supported activation,
``Linear, σ, Linear, σ, …, Linear``, is exactly the network of the book: two linear layers make a
:class:`~lipnb.nets.TwoLayerNet` f(x) = Bσ(Ax + a) + b, more make an :class:`~lipnb.mlp.MLP`
(chapter 'Beyond the paper', the product bound for an MLP). The validation is :func:`.parse.parse_sequential`,
which :class:`~lipnb.torch.LipschitzBudget` uses too.
"""

from __future__ import annotations

import torch
from torch import nn

from ..mlp import MLP
from ..nets import TwoLayerNet
from .parse import SUPPORTED_ACTIVATIONS, ParsedSequential, module_weights, parse_sequential

__all__ = ["from_module", "parse_sequential", "ParsedSequential", "SUPPORTED_ACTIVATIONS"]


def from_module(
    module: nn.Module, dtype: torch.dtype | None = torch.float64, device: str | torch.device | None = None
) -> TwoLayerNet | MLP:
    """The lipnb network computing the same function as an ``nn.Sequential`` of linear layers.

    ``nn.Sequential(Linear(d, m), σ, Linear(m, 1))`` becomes the :class:`~lipnb.nets.TwoLayerNet`
    f(x) = Bσ(Ax + a) + b with A = ``[0].weight``, a = ``[0].bias``, B = ``[2].weight``, b = ``[2].bias``;
    a deeper ``Linear, σ, …, Linear`` becomes an :class:`~lipnb.mlp.MLP` with W_l, b_l the l-th linear
    layer's weight and bias. A linear layer without bias (``bias=False``) gets a zero bias. It is the
    inverse of ``TwoLayerNet.to_torch_module`` and ``MLP.to_torch_module``:
    ``from_module(net.to_torch_module())`` holds the same weights bit for bit.

    Parameters
    ----------
    module
        ``nn.Sequential`` alternating ``nn.Linear`` and one of ``nn.ReLU``, ``nn.LeakyReLU`` (any slope),
        ``nn.Tanh``, ``nn.Sigmoid``, ``nn.Softplus()`` (beta = 1, threshold = 20) or ``nn.GELU()`` (exact),
        ending with ``nn.Linear(·, 1)``.
    dtype
        The network's dtype; float64 by default, as every certificate and theory check of the book runs in
        float64 (a float32 module converts exactly, every float32 number being a float64 number).
        ``None`` keeps the module's dtype.
    device
        The network's device; ``None`` keeps the module's.

    Returns
    -------
    TwoLayerNet | MLP
        A single network (no ensemble axis), detached from autograd: a copy, not a view of the module.

    Raises
    ------
    TypeError
        As :func:`parse_sequential` (the message names the offending layer by index and type).
    ValueError
        A weight or bias is not finite.
    """
    parsed, weights, biases, kw = module_weights(module, dtype, device)
    if parsed.depth == 2:
        return TwoLayerNet.from_weights(weights[0], biases[0], weights[1], biases[1], parsed.activation, **kw)
    return MLP.from_weights(weights, biases, parsed.activation, **kw)
