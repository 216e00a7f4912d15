"""Validation at the public boundary: every bad input raises the right exception type with a message that
names the argument (scikit-learn style, STYLE.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lipnb
from lipnb import data
from lipnb import schedules as S

NAN, INF = float("nan"), float("inf")


@pytest.fixture
def net():
    return lipnb.TwoLayerNet.init(2, 4, seed=0)


@pytest.fixture
def ens():
    return lipnb.TwoLayerNet.init(2, 4, seed=0, ensemble=3)


@pytest.fixture
def xy():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 2, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)


def _train(net, x, y, schedule=None, **kw):
    kw.setdefault("steps", 2)
    return lipnb.train(net, x, y, S.constant(0.1) if schedule is None else schedule, **kw)


# ----------------------------------------------------------------------------------- non-finite data


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_non_finite_x_or_y_in_train(net, xy, bad):
    x, y = xy
    xb, yb = x.clone(), y.clone()
    xb[2, 1] = bad
    yb[4] = bad
    with pytest.raises(ValueError, match=r"x must be finite.*1 NaN or infinite"):
        _train(net, xb, y)
    with pytest.raises(ValueError, match=r"y must be finite"):
        _train(net, x, yb)
    with pytest.raises(ValueError, match=r"x must be finite"):
        _train(net, xb.numpy(), y.numpy())


def test_non_finite_x_in_call_and_gradients(net, xy):
    x, y = xy
    x[0, 0] = NAN
    with pytest.raises(ValueError, match="x must be finite"):
        net(x)
    with pytest.raises(ValueError, match="x must be finite"):
        net.input_gradient(x)
    with pytest.raises(ValueError, match="x must be finite"):
        net.loss_and_gradients(x, y)
    x[0, 0] = 0.0
    y[0] = INF
    with pytest.raises(ValueError, match="y must be finite"):
        net.loss_and_gradients(x, y)


@pytest.mark.parametrize("group", ["A", "a", "B", "b"])
@pytest.mark.parametrize("bad", [NAN, INF])
def test_non_finite_weights_in_from_weights(group, bad):
    w = {"A": np.ones((3, 2)), "a": np.zeros(3), "B": np.ones(3), "b": np.zeros(1)}
    w[group] = w[group].copy()
    w[group].flat[0] = bad
    with pytest.raises(ValueError, match=f"{group} must be finite"):
        lipnb.TwoLayerNet.from_weights(**w)


# ----------------------------------------------------------------------------------- shapes


def test_x_with_wrong_dimension(net, xy):
    x, y = xy
    x3 = torch.zeros(6, 3, dtype=torch.float64)
    for call in (
        lambda: net(x3),
        lambda: net.input_gradient(x3),
        lambda: net.loss_and_gradients(x3, y),
        lambda: _train(net, x3, y),
        lambda: net(x[:, 0]),
        lambda: _train(net, x[:, 0], y),
    ):
        with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
            call()


def test_x_without_samples(net):
    with pytest.raises(ValueError, match="x must hold at least one sample"):
        _train(net, np.zeros((0, 2)), np.zeros(0))


def test_y_with_wrong_length_or_shape(net, xy):
    x, y = xy
    for yb in (y[:5], y[:, None].repeat(1, 2), y[None, :]):
        with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(6,\)"):
            _train(net, x, yb)
    with pytest.raises(ValueError, match=r"y must have shape \(6,\)"):
        net.loss_and_gradients(x, y[:5])


def test_non_numeric_inputs(net, xy):
    x, y = xy
    with pytest.raises(TypeError, match="x must be"):
        net("not an array")
    with pytest.raises(TypeError, match="x must be"):
        net([["a", "b"]])
    with pytest.raises(TypeError, match="y must be"):
        _train(net, x, {"y": 1})
    with pytest.raises(TypeError, match="x must hold real numbers"):
        net(torch.zeros(2, 2, dtype=torch.complex128))


@pytest.mark.parametrize(
    "weights, match",
    [
        ((np.ones((3, 2)), np.zeros(4), np.ones(3), 0.0), r"a must have shape \(3,\)"),
        ((np.ones((3, 2)), np.zeros(3), np.ones(4), 0.0), r"B must have shape \(3,\) or \(1, 3\)"),
        ((np.ones((3, 2)), np.zeros(3), np.ones((3, 1)), 0.0), r"B must have shape"),
        ((np.ones((3, 2)), np.zeros(3), np.ones(3), np.zeros(2)), r"b must be a scalar or have shape \(1,\)"),
        ((np.ones((3, 2)), np.zeros(3), np.ones(3), np.zeros((1, 1))), r"b must be a scalar"),
        ((np.ones(3), np.zeros(3), np.ones(3), 0.0), r"A must have shape \(m, d\) or \(E, m, d\)"),
        ((np.ones((1, 3, 2, 1)), np.zeros(3), np.ones(3), 0.0), r"A must have shape"),
        ((np.ones((0, 2)), np.zeros(0), np.ones(0), 0.0), r"A must have at least one row"),
        ((np.ones((3, 0)), np.zeros(3), np.ones(3), 0.0), r"A must have at least one row and one column"),
        ((np.ones((2, 3, 2)), np.zeros(3), np.ones((2, 3)), np.zeros(2)), r"a must have shape \(2, 3\)"),
        ((np.ones((2, 3, 2)), np.zeros((2, 3)), np.ones(3), np.zeros(2)), r"B must have shape \(2, 3\)"),
        ((np.ones((2, 3, 2)), np.zeros((2, 3)), np.ones((2, 3)), 0.0), r"b must have shape \(2,\) or \(2, 1\)"),
    ],
)
def test_from_weights_shape_errors(weights, match):
    with pytest.raises(ValueError, match=match):
        lipnb.TwoLayerNet.from_weights(*weights)


def test_from_weights_type_errors():
    with pytest.raises(TypeError, match="A must be"):
        lipnb.TwoLayerNet.from_weights("A", np.zeros(3), np.ones(3), 0.0)
    with pytest.raises(TypeError, match="b must be"):
        lipnb.TwoLayerNet.from_weights(np.ones((3, 2)), np.zeros(3), np.ones(3), True)


# ----------------------------------------------------------------------------------- init arguments


@pytest.mark.parametrize(
    "kw, match",
    [({"width": 0}, "width must be >= 1"), ({"width": -3}, "width must be >= 1"), ({"d": 0}, "d must be >= 1")],
)
def test_init_sizes(kw, match):
    args = {"d": 2, "width": 3} | kw
    with pytest.raises(ValueError, match=match):
        lipnb.TwoLayerNet.init(**args)


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'; accepted: relu, leaky_relu"),
        ({"activation": 3}, TypeError, "activation must be a string"),
        ({"init": "xavier"}, ValueError, "unknown init 'xavier'; accepted: lecun, torch"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"seed": [1, -2]}, ValueError, "seed must be >= 0"),
        ({"seed": []}, ValueError, "seed must be an integer or a non-empty sequence"),
        ({"seed": 1.5}, TypeError, "seed must be an integer"),
        ({"seed": True}, TypeError, "seed must be an integer"),
        ({"ensemble": 0}, ValueError, "ensemble must be >= 1"),
        ({"ensemble": -2}, ValueError, "ensemble must be >= 1"),
        ({"ensemble": True}, TypeError, "ensemble must be an integer"),
        ({"seed": [1, 2, 3], "ensemble": 2}, ValueError, "ensemble=2 does not match the 3 seeds"),
        ({"width": True}, TypeError, "width must be an integer"),
        ({"width": 3.0}, TypeError, "width must be an integer"),
        ({"d": True}, TypeError, "d must be an integer"),
        ({"bias_std": -1.0}, ValueError, "bias_std must be >= 0"),
        ({"bias_std": NAN}, ValueError, "bias_std must be a finite real number"),
        ({"dtype": torch.int64}, TypeError, "dtype must be a floating torch.dtype"),
        ({"dtype": "float64"}, TypeError, "dtype must be a floating torch.dtype"),
    ],
)
def test_init_arguments(kw, exc, match):
    args = {"d": 2, "width": 3} | kw
    with pytest.raises(exc, match=match):
        lipnb.TwoLayerNet.init(**args)


def test_activation_and_loss_lookups():
    with pytest.raises(ValueError, match="unknown activation 'elu'"):
        lipnb.activation("elu")
    with pytest.raises(ValueError, match="negative_slope must be a finite real number"):
        lipnb.activation("leaky_relu", negative_slope=NAN)
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        lipnb.activation("leaky_relu", negative_slope="0.1")
    with pytest.raises(ValueError, match="unknown loss 'mae'; accepted: mse, huber"):
        lipnb.loss("mae")
    with pytest.raises(TypeError, match="loss must be a string"):
        lipnb.loss(None)


@pytest.mark.parametrize("delta", [0.0, -1.0, NAN, INF])
def test_non_positive_delta(delta, net, xy):
    x, y = xy
    with pytest.raises(ValueError, match="delta must be"):
        lipnb.loss("huber", delta)
    with pytest.raises(ValueError, match="delta must be"):
        _train(net, x, y, loss="huber", delta=delta)
    with pytest.raises(ValueError, match="delta must be"):
        net.loss_and_gradients(x, y, loss="huber", delta=delta)
    with pytest.raises(ValueError, match="delta must be"):
        lipnb.huber(x[:, 0], y, delta)


def test_unknown_loss_in_train(net, xy):
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        _train(net, *xy, loss="l1")


# ----------------------------------------------------------------------------------- schedules


BAD_LRS = [0.0, -0.1, NAN, INF, -INF]
CONSTRUCTORS = {
    "constant": lambda lr: S.constant(lr),
    "exponential": lambda lr: S.exponential(lr, 0.1),
    "eventual_exponential": lambda lr: S.eventual_exponential(lr, 5, 0.1),
    "eventual_polynomial": lambda lr: S.eventual_polynomial(lr, 5, 2.0),
    "step": lambda lr: S.step(lr, [5]),
    "adaptive": lambda lr: S.adaptive(lr, 5, S.exponential_rate(0.1, 0.1)),
}


@pytest.mark.parametrize("make", list(CONSTRUCTORS.values()), ids=list(CONSTRUCTORS))
@pytest.mark.parametrize("lr", BAD_LRS)
def test_bad_learning_rates_in_every_schedule(make, lr):
    with pytest.raises(ValueError, match=r"lr must be (> 0|a finite real number)"):
        make(lr)


@pytest.mark.parametrize("make", list(CONSTRUCTORS.values()), ids=list(CONSTRUCTORS))
def test_non_numeric_learning_rates(make):
    for lr in ("0.1", None, True, [0.1]):
        with pytest.raises(TypeError, match="lr must be a real number"):
            make(lr)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: S.exponential(0.1, -0.5), ValueError, "rate must be >= 0"),
        (lambda: S.eventual_exponential(0.1, 5, NAN), ValueError, "rate must be a finite real number"),
        (lambda: S.eventual_exponential(0.1, -1, 0.1), ValueError, "start must be >= 0"),
        (lambda: S.eventual_exponential(0.1, 2.5, 0.1), TypeError, "start must be an integer"),
        (lambda: S.eventual_exponential(0.1, True, 0.1), TypeError, "start must be an integer"),
        (lambda: S.eventual_polynomial(0.1, 5, -2.0), ValueError, "power must be >= 0"),
        (lambda: S.eventual_polynomial(0.1, -5, 2.0), ValueError, "start must be >= 0"),
        (lambda: S.step(0.1, [5], factor=0.0), ValueError, "factor must be > 0"),
        (lambda: S.step(0.1, [10, 5]), ValueError, "boundaries must be strictly increasing"),
        (lambda: S.step(0.1, [5, 5]), ValueError, "boundaries must be strictly increasing"),
        (lambda: S.step(0.1, [0, 5]), ValueError, "boundaries must be >= 1"),
        (lambda: S.step(0.1, [2.5]), TypeError, "boundaries must be an integer"),
        (
            lambda: S.join([S.constant(0.1), S.constant(0.2)], [5, 10]),
            ValueError,
            r"boundaries must have len\(schedules\) - 1 = 1 entries; got 2",
        ),
        (
            lambda: S.join([S.constant(0.1), S.constant(0.2), S.constant(0.3)], [5]),
            ValueError,
            r"boundaries must have len\(schedules\) - 1 = 2 entries; got 1",
        ),
        (
            lambda: S.join([S.constant(0.1), S.constant(0.2), S.constant(0.3)], [10, 5]),
            ValueError,
            "boundaries must be strictly increasing",
        ),
        (lambda: S.join([S.constant(0.1), S.constant(0.2)], [0]), ValueError, "boundaries must be >= 1"),
        (lambda: S.join([], []), TypeError, "schedules must be a non-empty sequence"),
        (lambda: S.join([S.constant(0.1), 0.2], [5]), TypeError, "schedules must be a non-empty sequence"),
        (
            lambda: S.join([S.constant(0.1), S.adaptive(0.1, 0, S.exponential_rate(1, 1))], [5]),
            ValueError,
            "join cannot hold an adaptive schedule",
        ),
        (lambda: S.adaptive(0.1, 5, S.constant(0.1)), TypeError, "rate must be a RateFunction"),
        (lambda: S.adaptive(0.1, -5, S.exponential_rate(1, 1)), ValueError, "start must be >= 0"),
        (lambda: S.exponential_rate(0.0, 0.1), ValueError, "scale must be > 0"),
        (lambda: S.exponential_rate(1.0, -0.1), ValueError, "rate must be >= 0"),
        (lambda: S.polynomial_rate(-1.0, 2.0), ValueError, "scale must be > 0"),
        (lambda: S.polynomial_rate(1.0, NAN), ValueError, "power must be a finite real number"),
        (lambda: S.constant(0.1)(-1), ValueError, "step must be >= 0"),
        (lambda: S.constant(0.1)(1.5), TypeError, "step must be an integer"),
        (lambda: S.constant(0.1).values(-1), ValueError, "steps must be >= 0"),
        (lambda: S.exponential_rate(1, 1).partial_sum(-1), ValueError, "n must be >= 0"),
        (lambda: S.exponential_rate(1, 1)(-1), ValueError, "k must be a non-negative integer"),
        (lambda: S.adaptive(0.1, 5, S.exponential_rate(1, 1)).lr(-1, 1.0), ValueError, "step must be >= 0"),
        (lambda: S.adaptive(0.1, 5, S.exponential_rate(1, 1)).lr(3, -1.0), ValueError, "grad_norm must be >= 0"),
        (lambda: S.adaptive(0.1, 5, S.exponential_rate(1, 1)).lr(3, NAN), ValueError, "grad_norm must be a finite"),
    ],
)
def test_schedule_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    "call",
    [lambda: S.step(0.1, 5), lambda: S.step(0.1, None), lambda: S.join([S.constant(0.1), S.constant(0.2)], 5)],
    ids=["step-int", "step-None", "join-int"],
)
def test_boundaries_must_be_a_sequence(call):
    """A common slip, step(lr, 100) for step(lr, [100]): the message must name ``boundaries``."""
    with pytest.raises(TypeError, match="boundaries"):
        call()


@pytest.mark.parametrize(
    "sched",
    [
        S.constant(0.1),
        S.step(0.1, [3]),
        S.exponential(0.1, 0.0),
        S.eventual_polynomial(0.1, 3, 1.0),
        S.join([S.exponential(0.1, 0.5), S.constant(0.1)], [4]),
    ],
    ids=["constant", "step", "exp-r0", "poly-q1", "join-constant-tail"],
)
def test_gamma_of_a_non_summable_schedule(sched):
    with pytest.raises(ValueError, match="not summable"):
        sched.lr_sum
    with pytest.raises(ValueError, match="not summable"):
        sched.total(None)


# ----------------------------------------------------------------------------------- train arguments


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"steps": -5}, ValueError, "steps must be >= 1"),
        ({"steps": 10.0}, TypeError, "steps must be an integer"),
        ({"steps": "10"}, TypeError, "steps must be an integer"),
        ({"steps": True}, TypeError, "steps must be an integer"),
        ({"log_every": 0}, ValueError, "log_every must be >= 1"),
        ({"log_every": 2.0}, TypeError, "log_every must be an integer"),
        ({"log_every": False}, TypeError, "log_every must be an integer"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
        ({"loss": 2}, TypeError, "loss must be a string"),
    ],
)
def test_train_arguments(net, xy, kw, exc, match):
    with pytest.raises(exc, match=match):
        _train(net, *xy, **kw)


def test_train_numpy_integer_steps_are_accepted(net, xy):
    _, h = _train(net, *xy, steps=np.int64(3), log_every=np.int32(2))
    assert h.total_steps == 3 and list(h.steps) == [0, 2, 3]


def test_train_needs_a_network(xy):
    with pytest.raises(TypeError, match="net must be a lipnb.TwoLayerNet"):
        _train(torch.nn.Linear(2, 1), *xy)


@pytest.mark.parametrize(
    "schedule",
    [0.1, "constant", lambda t: 0.1, None, 3, np.array([0.1, 0.1])],
    ids=["float", "str", "lambda", "None", "int", "array"],
)
def test_schedule_of_a_wrong_type(net, xy, schedule):
    with pytest.raises(TypeError, match="schedule must be a lipnb schedule"):
        lipnb.train(net, *xy, schedule, steps=2)


def test_per_member_schedule_list_of_the_wrong_length(ens, net, xy):
    for scheds in ([S.constant(0.1)] * 2, [S.constant(0.1)] * 4, []):
        with pytest.raises(ValueError, match=r"one entry per ensemble member \(3\); got"):
            lipnb.train(ens, *xy, scheds, steps=2)
    with pytest.raises(ValueError, match=r"one entry per ensemble member \(1\); got 2"):
        lipnb.train(net, *xy, [S.constant(0.1)] * 2, steps=2)


def test_per_member_schedule_list_with_a_bad_entry(ens, xy):
    with pytest.raises(TypeError, match=r"schedule\[1\] must be a lipnb schedule"):
        lipnb.train(ens, *xy, [S.constant(0.1), 0.1, S.constant(0.1)], steps=2)
    with pytest.raises(ValueError, match=r"schedule\[2\] as a mapping must have exactly the keys"):
        lipnb.train(ens, *xy, [S.constant(0.1), S.constant(0.1), {"A": S.constant(0.1)}], steps=2)


def test_mapping_with_missing_or_extra_groups(net, xy):
    c = S.constant(0.1)
    for mapping in ({"A": c, "a": c, "B": c}, {"A": c, "a": c, "B": c, "b": c, "W": c}, {}):
        with pytest.raises(ValueError, match=r"mapping must have exactly the keys \('A', 'a', 'B', 'b'\)"):
            lipnb.train(net, *xy, mapping, steps=2)
    with pytest.raises(TypeError, match=r"schedule\['B'\] must be a lipnb schedule; got float"):
        lipnb.train(net, *xy, {"A": c, "a": c, "B": 0.1, "b": c}, steps=2)


# ----------------------------------------------------------------------------------- indices


def test_member_indices(ens, xy):
    with pytest.raises(ValueError, match="i must be <= 2"):
        ens.member(3)
    with pytest.raises(ValueError, match="i must be >= -3"):
        ens.member(-4)
    with pytest.raises(TypeError, match="i must be an integer"):
        ens.member(1.0)
    _, h = lipnb.train(ens, *xy, S.constant(0.1), steps=2)
    with pytest.raises(ValueError, match="i must be <= 2"):
        h.member(3)
    _, hs = lipnb.train(ens.member(0), *xy, S.constant(0.1), steps=2)
    with pytest.raises(ValueError, match="i must be 0 for the history of a single network"):
        hs.member(1)


# ----------------------------------------------------------------------------------- data sets


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: data.teacher(0), ValueError, "d must be >= 1"),
        (lambda: data.teacher(-2), ValueError, "d must be >= 1"),
        (lambda: data.teacher(2.0), TypeError, "d must be an integer"),
        (lambda: data.teacher(2, n_train=0), ValueError, "n_train must be >= 1"),
        (lambda: data.teacher(2, n_test=0), ValueError, "n_test must be >= 1"),
        (lambda: data.teacher(2, noise=-0.1), ValueError, "noise must be >= 0"),
        (lambda: data.teacher(2, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: data.teacher(2, activation="swish"), ValueError, "unknown activation"),
        (lambda: data.noisy_sine(n_train=0), ValueError, "n_train must be >= 1"),
        (lambda: data.noisy_sine(n_train=True), TypeError, "n_train must be an integer"),
        (lambda: data.noisy_sine(n_test=-1), ValueError, "n_test must be >= 1"),
        (lambda: data.noisy_sine(noise=NAN), ValueError, "noise must be a finite real number"),
        (lambda: data.noisy_sine(noise=-1.0), ValueError, "noise must be >= 0"),
        (lambda: data.noisy_sine(frequency=0.0), ValueError, "frequency must be > 0"),
        (lambda: data.noisy_sine(seed=-3), ValueError, "seed must be >= 0"),
        (lambda: data.diabetes(test_fraction=1.5), ValueError, "test_fraction must be <= 1.0; got 1.5"),
        (lambda: data.diabetes(test_fraction=-0.1), ValueError, "test_fraction must be >= 0.0"),
        (lambda: data.diabetes(test_fraction=0.0), ValueError, "test_fraction must lie strictly between 0 and 1"),
        (lambda: data.diabetes(test_fraction=1.0), ValueError, "test_fraction must lie strictly between 0 and 1"),
        (lambda: data.diabetes(test_fraction="half"), TypeError, "test_fraction must be a real number"),
        (lambda: data.diabetes(seed=-1), ValueError, "seed must be >= 0"),
    ],
)
def test_data_arguments(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_messages_show_the_value_received(net, xy):
    """Messages name the argument and the value received (STYLE.md)."""
    with pytest.raises(ValueError, match=r"steps must be >= 1; got 0"):
        _train(net, *xy, steps=0)
    with pytest.raises(TypeError, match=r"steps must be an integer; got 2.5 of type float"):
        _train(net, *xy, steps=2.5)
    with pytest.raises(ValueError, match=r"lr must be > 0; got -1.0"):
        S.constant(-1.0)
    with pytest.raises(ValueError, match=r"width must be >= 1; got 0"):
        lipnb.TwoLayerNet.init(2, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\) for a network with d=2; got \(6, 3\)"):
        net(torch.zeros(6, 3))
