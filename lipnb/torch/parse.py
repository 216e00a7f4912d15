"""Reading a PyTorch ``nn.Sequential`` as the book's network: which layers, which activation, which weights.

This module imports no lipnb network class, so that :meth:`lipnb.TwoLayerNet.from_torch`,
:meth:`lipnb.MLP.from_torch` and :func:`lipnb.torch.from_module` can all use it.

A ``torch.nn.Sequential`` that alternates ``nn.Linear`` layers and one supported activation,
``Linear, σ, Linear, σ, …, Linear``, is exactly the network of the book: two linear layers make a
:class:`~lipnb.nets.TwoLayerNet` f(x) = Bσ(Ax + a) + b, more make an :class:`~lipnb.mlp.MLP`
(chapter 'Beyond the paper', the product bound for an MLP). :func:`parse_sequential` is the validation
both :func:`from_module` and :class:`~lipnb.torch.LipschitzBudget` use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..activations import Activation
from ..activations import activation as get_activation

__all__ = ["parse_sequential", "module_weights", "ParsedSequential", "SUPPORTED_ACTIVATIONS"]

#: The activation modules that :func:`from_module` understands, as written in the error messages.
SUPPORTED_ACTIVATIONS = (
    "nn.ReLU",
    "nn.LeakyReLU",
    "nn.Tanh",
    "nn.Sigmoid",
    "nn.Softplus (beta=1, threshold=20)",
    "nn.GELU (approximate='none')",
)

_SUPPORTED = (
    "a torch.nn.Sequential alternating nn.Linear layers and one activation, "
    "Linear, activation, Linear, ..., Linear (at least two Linear layers); activations: "
    + ", ".join(SUPPORTED_ACTIVATIONS)
)


@dataclass(frozen=True)
class ParsedSequential:
    """What :func:`parse_sequential` found: the linear layers in order, their indices in the
    ``Sequential``, and the activation (one lipnb :class:`~lipnb.activations.Activation` for all layers)."""

    linears: tuple[nn.Linear, ...]
    indices: tuple[int, ...]
    activation: Activation

    @property
    def depth(self) -> int:
        """The number of linear layers."""
        return len(self.linears)


def _activation_of(layer: nn.Module, index: int) -> Activation | None:
    """The lipnb activation equal to ``layer``, ``None`` if ``layer`` is not an activation module at all.

    Exact types only: a subclass may override ``forward``, and a certificate must not trust it.
    """
    kind = type(layer)
    if kind is nn.ReLU:
        return get_activation("relu")
    if kind is nn.LeakyReLU:
        return get_activation("leaky_relu", negative_slope=float(layer.negative_slope))
    if kind is nn.Tanh:
        return get_activation("tanh")
    if kind is nn.Sigmoid:
        return get_activation("sigmoid")
    if kind is nn.Softplus:
        if float(layer.beta) != 1.0 or float(layer.threshold) != 20.0:
            raise TypeError(
                f"layer {index} (nn.Softplus(beta={layer.beta}, threshold={layer.threshold})) is not "
                f"supported: lipnb's softplus is nn.Softplus() with beta=1, threshold=20; supported: "
                f"{_SUPPORTED}"
            )
        return get_activation("softplus")
    if kind is nn.GELU:
        if layer.approximate != "none":
            raise TypeError(
                f"layer {index} (nn.GELU(approximate={layer.approximate!r})) is not supported: lipnb's "
                f"gelu is the exact nn.GELU(approximate='none'); supported: {_SUPPORTED}"
            )
        return get_activation("gelu")
    return None


def parse_sequential(module: nn.Module, scalar_output: bool = True, name: str = "module") -> ParsedSequential:
    """Check that ``module`` is ``nn.Sequential(Linear, σ, Linear, σ, …, Linear)`` and take it apart.

    Parameters
    ----------
    module
        The model to read.
    scalar_output
        Require ``out_features == 1`` of the last layer (lipnb's networks are scalar-valued).
    name
        The argument's name in error messages.

    Returns
    -------
    ParsedSequential
        The linear layers, their indices in ``module`` and the activation.

    Raises
    ------
    TypeError
        ``module`` is not an ``nn.Sequential``, or a layer is not ``nn.Linear`` or a supported activation
        (the message names the layer's index and type and lists what is supported), the layers do not
        alternate, the activations differ, consecutive shapes do not match, or (with ``scalar_output``)
        the output is not one-dimensional.
    """
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"{name} must be {_SUPPORTED}; got {type(module).__module__}.{type(module).__name__}")
    layers = list(module)
    linears: list[nn.Linear] = []
    indices: list[int] = []
    act: Activation | None = None
    act_layer: tuple[int, nn.Module] | None = None
    for i, layer in enumerate(layers):
        kind = type(layer).__name__
        want_linear = i % 2 == 0
        if type(layer) is nn.Linear:
            if not want_linear:
                raise TypeError(
                    f"layer {i} (nn.Linear) follows the nn.Linear of layer {i - 1}: an activation must "
                    f"sit between two linear layers; {name} must be {_SUPPORTED}"
                )
            if linears and layer.in_features != linears[-1].out_features:
                raise TypeError(
                    f"layer {i} (nn.Linear({layer.in_features}, {layer.out_features})) takes "
                    f"{layer.in_features} inputs but layer {indices[-1]} (nn.Linear) has "
                    f"{linears[-1].out_features} outputs"
                )
            linears.append(layer)
            indices.append(i)
            continue
        this = _activation_of(layer, i)
        if this is None:
            raise TypeError(f"layer {i} ({kind}) is not supported: {name} must be {_SUPPORTED}")
        if want_linear:
            where = "first" if i == 0 else f"after the activation of layer {i - 1}"
            raise TypeError(
                f"layer {i} ({kind}) is an activation {where}: an nn.Linear must come first and "
                f"between activations; {name} must be {_SUPPORTED}"
            )
        if act_layer is not None and this != act:
            raise TypeError(
                f"layer {i} ({layer!r}) differs from the activation of layer {act_layer[0]} "
                f"({act_layer[1]!r}): lipnb networks use one activation throughout"
            )
        act, act_layer = this, (i, layer)
    if len(linears) < 2:
        raise TypeError(
            f"{name} has {len(linears)} nn.Linear layer(s) in {len(layers)} layer(s); it must be {_SUPPORTED}"
        )
    if len(layers) % 2 == 0:
        raise TypeError(
            f"layer {len(layers) - 1} ({type(layers[-1]).__name__}) is last: {name} must end with an "
            f"nn.Linear; it must be {_SUPPORTED}"
        )
    if scalar_output and linears[-1].out_features != 1:
        raise TypeError(
            f"layer {indices[-1]} (nn.Linear({linears[-1].in_features}, {linears[-1].out_features})) "
            f"has {linears[-1].out_features} outputs: lipnb's TwoLayerNet and MLP are scalar-valued "
            "(out_features=1)"
        )
    for i, lin in zip(indices, linears):
        if isinstance(lin.weight, nn.parameter.UninitializedParameter):
            raise TypeError(f"layer {i} (nn.Linear) has uninitialized weights; run one forward pass first")
    assert act is not None
    return ParsedSequential(tuple(linears), tuple(indices), act)


def module_weights(
    module: nn.Module, dtype: torch.dtype | None = torch.float64, device: str | torch.device | None = None
) -> tuple[ParsedSequential, list, list, dict]:
    """The parsed module, its weights and biases (detached; a zero bias for ``bias=False``) and the
    ``dtype``/``device`` keywords for the network built from them (``None`` keeps the module's)."""
    parsed = parse_sequential(module)
    first = parsed.linears[0].weight
    dtype = first.dtype if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, or None; got {dtype!r}")
    device = first.device if device is None else device
    weights, biases = [], []
    with torch.no_grad():
        for lin in parsed.linears:
            w = lin.weight.detach()
            weights.append(w)
            biases.append(
                lin.bias.detach() if lin.bias is not None else torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
            )
    return parsed, weights, biases, dict(dtype=dtype, device=device)
