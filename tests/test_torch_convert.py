"""lipnb.torch.from_module: the inverse of to_torch_module (weights bit for bit, the same function), the
dtype and device rules, and a TypeError naming the layer for everything that is not Linear, σ, …, Linear."""

from __future__ import annotations

import pytest
import torch
from conftest import NET_ACTIVATIONS
from torch import nn

import lipnb
from lipnb.torch import SUPPORTED_ACTIVATIONS, from_module, parse_sequential


def _same_two_layer(a: lipnb.TwoLayerNet, b: lipnb.TwoLayerNet) -> None:
    assert isinstance(a, lipnb.TwoLayerNet) and isinstance(b, lipnb.TwoLayerNet)
    assert a.activation == b.activation and a.ensemble is None and a.dtype == b.dtype
    for g in lipnb.GROUPS:
        assert torch.equal(a.parameters()[g], b.parameters()[g]), g


@pytest.mark.parametrize("name", NET_ACTIVATIONS + ["leaky_relu(-0.5)", "leaky_relu(2)"])
@pytest.mark.parametrize("d", [1, 3])
def test_two_layer_round_trip(name, d):
    act = lipnb.activation("leaky_relu", float(name[11:-1])) if name.startswith("leaky_relu(") else name
    net = lipnb.TwoLayerNet.init(d, 7, act, init="torch", seed=4)
    module = net.to_torch_module()
    back = from_module(module)
    _same_two_layer(back, net)
    x = torch.randn(20, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = module(x)[:, 0]
    torch.testing.assert_close(back(x), out, rtol=1e-13, atol=1e-14)
    assert float(back.product_bound()) == float(net.product_bound())


def test_member_of_an_ensemble_round_trips():
    net = lipnb.TwoLayerNet.init(2, 5, "tanh", seed=[3, 8, 1])
    for i in range(3):
        _same_two_layer(from_module(net.to_torch_module(i)), net.member(i))


@pytest.mark.parametrize("widths", [[6, 4], [5, 5, 3]])
@pytest.mark.parametrize("act", ["relu", "gelu", "softplus"])
def test_mlp_round_trip(widths, act):
    net = lipnb.MLP.init(3, widths, act, seed=2)
    module = net.to_torch_module()
    back = from_module(module)
    assert isinstance(back, lipnb.MLP) and back.activation == net.activation and back.widths == widths
    for w0, w1, b0, b1 in zip(net.weights, back.weights, net.biases, back.biases):
        assert torch.equal(w0, w1) and torch.equal(b0, b1)
    x = torch.randn(11, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(back(x), module(x)[:, 0], rtol=1e-13, atol=1e-14)
    assert float(back.product_bound()) == pytest.approx(float(net.product_bound()), rel=1e-15)


def test_float32_module_converts_exactly_to_float64_or_keeps_its_dtype():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 6), nn.Sigmoid(), nn.Linear(6, 1))
    net = from_module(module)
    assert net.dtype == torch.float64 and net.device == module[0].weight.device
    assert torch.equal(net.A, module[0].weight.detach().double())
    assert torch.equal(net.B, module[2].weight.detach().double()[0])
    x = torch.randn(9, 3)
    with torch.no_grad():
        torch.testing.assert_close(net(x.double()).float(), module(x)[:, 0], rtol=1e-5, atol=1e-6)
    kept = from_module(module, dtype=None)
    assert kept.dtype == torch.float32 and torch.equal(kept.A, module[0].weight.detach())
    # a copy, not a view: changing the module later does not change the network
    with torch.no_grad():
        module[0].weight.add_(1.0)
    assert not torch.equal(kept.A, module[0].weight.detach())


def test_linear_without_bias_gets_a_zero_bias():
    module = nn.Sequential(
        nn.Linear(2, 4, bias=False), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1, bias=False)
    ).double()
    net = from_module(module)
    assert isinstance(net, lipnb.MLP)
    assert torch.equal(net.biases[0], torch.zeros(4, dtype=torch.float64))
    assert torch.equal(net.biases[2], torch.zeros(1, dtype=torch.float64))
    x = torch.randn(5, 2, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), module(x)[:, 0])


def test_leaky_slope_and_inplace_relu_are_read():
    module = nn.Sequential(nn.Linear(1, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1))
    assert from_module(module).activation == lipnb.activation("leaky_relu", 0.2)
    module = nn.Sequential(nn.Linear(1, 3), nn.ReLU(inplace=True), nn.Linear(3, 1))
    assert from_module(module).activation.name == "relu"


def exact_1d_upper(net) -> float:
    """The exact Lipschitz constant of a 1-D ReLU network by lipnb's certificate (either API of lipnb)."""
    if callable(lipnb.certify):
        return float(lipnb.certify(net, method="exact_1d").upper)
    from lipnb.certify import exact_1d  # the module-level function of lipnb 0.1

    return float(exact_1d(net).upper)


def test_a_converted_network_is_certified_by_lipnb():
    net = lipnb.TwoLayerNet.init(1, 12, "relu", seed=6)
    back = from_module(net.to_torch_module())
    assert exact_1d_upper(back) == exact_1d_upper(net)


class _MyReLU(nn.ReLU):
    pass


class _Wrapper(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))

    def forward(self, x):
        return self.body(x)


L = nn.Linear


@pytest.mark.parametrize(
    "module,match",
    [
        (_Wrapper(), "must be a torch.nn.Sequential.*got .*_Wrapper"),
        (nn.ModuleList([L(2, 3), nn.ReLU(), L(3, 1)]), "must be a torch.nn.Sequential"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), L(2, 1)), r"layer 0 \(Conv2d\) is not supported"),
        (nn.Sequential(L(2, 3), nn.BatchNorm1d(3), L(3, 1)), r"layer 1 \(BatchNorm1d\) is not supported"),
        (nn.Sequential(L(2, 3), nn.ReLU(), nn.Dropout(), L(3, 1)), r"layer 2 \(Dropout\) is not supported"),
        (nn.Sequential(L(2, 3), nn.ELU(), L(3, 1)), r"layer 1 \(ELU\) is not supported"),
        (nn.Sequential(L(2, 3), _MyReLU(), L(3, 1)), r"layer 1 \(_MyReLU\) is not supported"),
        (nn.Sequential(L(2, 3), nn.ReLU(), L(3, 3), nn.Tanh(), L(3, 1)), r"layer 3 \(Tanh\(\)\) differs .* layer 1"),
        (nn.Sequential(L(2, 3), nn.LeakyReLU(0.1), L(3, 3), nn.LeakyReLU(0.2), L(3, 1)), r"layer 3 .*differs"),
        (nn.Sequential(L(2, 3), L(3, 3), nn.ReLU(), L(3, 1)), r"layer 1 \(nn.Linear\) follows"),
        (nn.Sequential(nn.ReLU(), L(2, 3), nn.ReLU(), L(3, 1)), r"layer 0 \(ReLU\) is an activation first"),
        (nn.Sequential(L(2, 3), nn.ReLU(), nn.ReLU(), L(3, 1)), r"layer 2 \(ReLU\) is an activation after"),
        (nn.Sequential(L(2, 3), nn.ReLU(), L(3, 1), nn.ReLU()), r"layer 3 \(ReLU\) is last"),
        (nn.Sequential(L(2, 3), nn.ReLU(), L(4, 1)), r"layer 2 \(nn.Linear\(4, 1\)\) takes 4 inputs but layer 0"),
        (nn.Sequential(L(2, 3), nn.ReLU(), L(3, 2)), r"layer 2 .* has 2 outputs.*scalar"),
        (nn.Sequential(L(2, 3), nn.Softplus(beta=2), L(3, 1)), r"layer 1 \(nn.Softplus\(beta=2"),
        (nn.Sequential(L(2, 3), nn.GELU(approximate="tanh"), L(3, 1)), r"layer 1 \(nn.GELU\(approximate='tanh'\)\)"),
        (nn.Sequential(L(2, 1)), "has 1 nn.Linear layer"),
        (nn.Sequential(), "has 0 nn.Linear layer"),
    ],
)
def test_anything_else_is_a_type_error_naming_the_layer(module, match):
    with pytest.raises(TypeError, match=match) as info:
        from_module(module)
    text = str(info.value)
    if "not supported" in text:
        for act in SUPPORTED_ACTIVATIONS:
            assert act in text


def test_vector_output_is_allowed_where_asked_for():
    module = nn.Sequential(L(2, 3), nn.ReLU(), L(3, 4))
    parsed = parse_sequential(module, scalar_output=False)
    assert parsed.depth == 2 and parsed.indices == (0, 2) and parsed.activation.name == "relu"


def test_non_finite_weights_are_a_value_error():
    module = nn.Sequential(L(2, 3), nn.ReLU(), L(3, 1))
    with torch.no_grad():
        module[2].weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        from_module(module)


def test_dtype_must_be_floating():
    module = nn.Sequential(L(2, 3), nn.ReLU(), L(3, 1))
    with pytest.raises(TypeError, match="dtype"):
        from_module(module, dtype=torch.int64)


def test_from_torch_classmethods_round_trip_and_refuse_the_other_type():
    two = lipnb.TwoLayerNet.init(d=3, width=5, activation="tanh", seed=1)
    back = lipnb.TwoLayerNet.from_torch(two.to_torch_module())
    for g in ("A", "a", "B", "b"):
        assert torch.equal(getattr(back, g), getattr(two, g))
    deep = lipnb.MLP.init(2, [4, 3], activation="relu", seed=0)
    back_deep = lipnb.MLP.from_torch(deep.to_torch_module())
    assert all(torch.equal(u, v) for u, v in zip(back_deep.weights, deep.weights))
    with pytest.raises(TypeError, match="converts to a MLP, not a TwoLayerNet"):
        lipnb.TwoLayerNet.from_torch(deep.to_torch_module())
    with pytest.raises(TypeError, match="converts to a TwoLayerNet, not a MLP"):
        lipnb.MLP.from_torch(two.to_torch_module())
