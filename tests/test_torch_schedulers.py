"""lipnb.torch schedulers: step by step the rates of lipnb's schedules (to 1e-15 relative, no drift), a
state_dict round trip mid-run through torch.save, the same rates as PyTorch's own schedulers inside
SequentialLR and ChainedScheduler, and validation errors that name the argument."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import (
    ChainedScheduler,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiplicativeLR,
    SequentialLR,
    StepLR,
)

from lipnb import schedules as S
from lipnb.torch import EventualExponential, EventualPolynomial, FromSchedule

LRS = (0.3, 0.05)  # two parameter groups with their own initial rates


def _optimizer(kind: str = "sgd", lrs=LRS) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.ones(2))], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups) if kind == "sgd" else torch.optim.Adam(groups)


def _rates(opt: torch.optim.Optimizer, sched, n: int) -> np.ndarray:
    """The rates of steps 0, …, n−1 (one optimizer.step and scheduler.step each), per group: (n, groups)."""
    out = []
    for _ in range(n):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.asarray(out, dtype=np.float64)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.fixture(autouse=True)
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch warns on misuse (get_lr outside step, wrong order)
        yield


@pytest.mark.parametrize("start,rate", [(0, 0.1), (7, 0.02), (30, 0.5), (5, 0.0)])
def test_eventual_exponential_equals_lipnb_step_by_step(start, rate):
    n = 400
    opt = _optimizer()
    got = _rates(opt, EventualExponential(opt, start, rate), n)
    for j, lr in enumerate(LRS):
        assert _rel(got[:, j], S.eventual_exponential(lr, start, rate).values(n)) <= 1e-15


@pytest.mark.parametrize("start,power", [(0, 1.5), (12, 2.0), (3, 0.5)])
def test_eventual_polynomial_equals_lipnb_step_by_step(start, power):
    n = 300
    opt = _optimizer("adam")
    got = _rates(opt, EventualPolynomial(opt, start, power), n)
    for j, lr in enumerate(LRS):
        assert _rel(got[:, j], S.eventual_polynomial(lr, start, power).values(n)) <= 1e-15


@pytest.mark.parametrize(
    "schedule",
    [
        S.eventual_exponential(0.3, 10, 0.05),
        S.exponential(0.3, 0.01),
        S.step(0.3, [5, 20, 60], 0.5),
        S.join([S.constant(0.3), S.eventual_polynomial(0.1, 5, 2.0)], [25]),
    ],
    ids=["eventual_exponential", "exponential", "step", "join"],
)
def test_from_schedule_scales_each_group_by_s_t_over_s_0(schedule):
    n = 150
    opt = _optimizer()
    got = _rates(opt, FromSchedule(opt, schedule), n)
    s = schedule.values(n)
    assert _rel(got[:, 0], s) <= 1e-15  # group 0 starts at s(0) = 0.3: the rates are s(t) itself
    assert _rel(got[:, 1], LRS[1] * s / s[0]) <= 1e-15


def test_no_drift_over_a_long_run():
    """ExponentialLR multiplies by a rounded factor each step and drifts; these set the closed form."""
    n = 20_000
    opt = _optimizer(lrs=(1.0,))
    got = _rates(opt, EventualExponential(opt, 0, 1e-4), n)[:, 0]
    assert _rel(got, S.exponential(1.0, 1e-4).values(n)) <= 1e-15


@pytest.mark.parametrize(
    "make",
    [
        lambda o: EventualExponential(o, 8, 0.07),
        lambda o: EventualPolynomial(o, 4, 1.3),
        lambda o: FromSchedule(o, S.step(0.3, [6, 15], 0.3)),
    ],
    ids=["exponential", "polynomial", "from_schedule"],
)
def test_state_dict_round_trip_mid_run(make):
    n, cut = 40, 17
    opt = _optimizer()
    whole = _rates(opt, make(opt), n)

    opt1 = _optimizer()
    sched1 = make(opt1)
    first = _rates(opt1, sched1, cut)
    buf = io.BytesIO()
    torch.save({"opt": opt1.state_dict(), "sched": sched1.state_dict()}, buf)  # numbers only: no lambdas
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)

    opt2 = _optimizer()
    sched2 = make(opt2)  # built before loading the optimizer's state, as PyTorch's docs ask
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    assert sched2.last_epoch == cut and sched2.get_last_lr() == sched1.get_last_lr()
    second = _rates(opt2, sched2, n - cut)
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_state_dict_of_other_parameters_is_refused():
    opt = _optimizer()
    sd = EventualExponential(opt, 5, 0.1).state_dict()
    with pytest.raises(ValueError, match="rate=0.1"):
        EventualExponential(_optimizer(), 5, 0.2).load_state_dict(sd)
    sd = FromSchedule(opt, S.constant(0.3)).state_dict()
    with pytest.raises(ValueError, match="schedule="):
        FromSchedule(_optimizer(), S.constant(0.2)).load_state_dict(sd)


def test_sequential_lr_gives_what_pytorch_schedulers_give():
    """A linear warm-up, then the eventual decay: as SequentialLR with LambdaLR holding the same factor."""
    n, start, rate = 80, 10, 0.05
    factor = S.eventual_exponential(1.0, start, rate)
    opt = _optimizer()
    ours = SequentialLR(opt, [LinearLR(opt, 0.1, 1.0, total_iters=8), EventualExponential(opt, start, rate)], [8])
    ref_opt = _optimizer()
    ref = SequentialLR(ref_opt, [LinearLR(ref_opt, 0.1, 1.0, total_iters=8), LambdaLR(ref_opt, factor)], [8])
    got, want = _rates(opt, ours, n), _rates(ref_opt, ref, n)
    assert _rel(got, want) <= 1e-15
    # and first in the sequence, followed by a constant rate
    opt = _optimizer()
    ours = SequentialLR(opt, [EventualExponential(opt, start, rate), ExponentialLR(opt, 1.0)], [30])
    ref_opt = _optimizer()
    ref = SequentialLR(ref_opt, [LambdaLR(ref_opt, factor), ExponentialLR(ref_opt, 1.0)], [30])
    assert _rel(_rates(opt, ours, n), _rates(ref_opt, ref, n)) <= 1e-15


def test_chained_scheduler_multiplies_the_factors_as_pytorch_does():
    n, start, rate = 60, 6, 0.1
    unit = S.eventual_exponential(1.0, start, rate)
    ratio = lambda t: unit(t) / unit(t - 1)  # noqa: E731 (MultiplicativeLR's per-step factor)
    opt = _optimizer()
    ours = ChainedScheduler([EventualExponential(opt, start, rate), StepLR(opt, 7, 0.5)])
    ref_opt = _optimizer()
    ref = ChainedScheduler([MultiplicativeLR(ref_opt, ratio), StepLR(ref_opt, 7, 0.5)])
    got, want = _rates(opt, ours, n), _rates(ref_opt, ref, n)
    assert _rel(got, want) <= 1e-13  # PyTorch's own chain multiplies rounded factors: ~n ulps
    # the other order, and against ExponentialLR for a decay from step 0
    opt = _optimizer()
    ours = ChainedScheduler([StepLR(opt, 5, 0.8), EventualExponential(opt, 0, rate)])
    ref_opt = _optimizer()
    ref = ChainedScheduler([StepLR(ref_opt, 5, 0.8), ExponentialLR(ref_opt, math.exp(-rate))])
    assert _rel(_rates(opt, ours, n), _rates(ref_opt, ref, n)) <= 1e-13


def test_chained_state_dict_round_trip():
    n, cut = 30, 11

    def make(o):
        return ChainedScheduler([EventualExponential(o, 3, 0.2), StepLR(o, 4, 0.5)])

    opt = _optimizer()
    whole = _rates(opt, make(opt), n)
    opt1 = _optimizer()
    s1 = make(opt1)
    first = _rates(opt1, s1, cut)
    opt2 = _optimizer()
    s2 = make(opt2)
    opt2.load_state_dict(opt1.state_dict())
    s2.load_state_dict(s1.state_dict())
    np.testing.assert_array_equal(np.concatenate([first, _rates(opt2, s2, n - cut)]), whole)


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda o: EventualExponential(o, 5, -0.1), ValueError, "rate must be >= 0"),
        (lambda o: EventualExponential(o, 5, float("nan")), ValueError, "rate must be a finite"),
        (lambda o: EventualExponential(o, -1, 0.1), ValueError, "start must be >= 0"),
        (lambda o: EventualExponential(o, 1.5, 0.1), TypeError, "start must be an integer"),
        (lambda o: EventualExponential(o, 2, "fast"), TypeError, "rate must be a real number"),
        (lambda o: EventualPolynomial(o, 0, -2.0), ValueError, "power must be >= 0"),
        (lambda o: FromSchedule(o, lambda t: 0.1), TypeError, "schedule must be a lipnb.schedules.Schedule"),
        (lambda o: FromSchedule(o, S.adaptive(0.1, 5, S.exponential_rate(0.1, 0.1))), TypeError, "LipschitzBudget"),
        (lambda o: EventualExponential("sgd", 5, 0.1), TypeError, "optimizer must be a torch.optim.Optimizer"),
    ],
)
def test_validation_names_the_argument(make, error, match):
    opt = _optimizer()
    before = [g["lr"] for g in opt.param_groups]
    with pytest.raises(error, match=match):
        make(opt)
    assert [g["lr"] for g in opt.param_groups] == before
