"""sweep(): each row is the run of one (width, schedule, seed) trained alone; checkpoints do not change the
trajectory; runs with one seed share θ₀; certificates bracket Lip and sit below the product bound;
summarize() is the mean and sample sd by hand; gauss_newton_top() matches the autograd Jacobian; bad
arguments are named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

import lipnb
import lipnb.certificates
from lipnb import schedules as S
from lipnb.notebook import fmt
from lipnb.sweep import COLUMNS, format_summary, gauss_newton_top, protocol_schedules, summarize, sweep

T = 60


@pytest.fixture(scope="module")
def sine():
    return lipnb.data.noisy_sine(n_train=24, n_test=50, seed=3)


def _schedules():
    """A plain, a width-dependent eventual-exponential (decay inside the run) and an adaptive schedule."""
    return {
        "constant": S.constant(0.05),
        "decay": lambda m: S.eventual_exponential(0.8 / m, start=20, rate=0.05),
        "adaptive": lambda m: S.adaptive(0.8 / m, 15, S.exponential_rate(0.02, 0.1)),
    }


@pytest.fixture(scope="module")
def grid(sine):
    return sweep(
        sine, [8, 16], _schedules(), [5, 2], steps=T, checkpoints=[10, 30], progress=False, return_histories=True
    )


def _row(df, width, schedule, seed, step=T):
    sel = df[(df.width == width) & (df.schedule == schedule) & (df.seed == seed) & (df.step == step)]
    assert len(sel) == 1
    return sel.iloc[0]


# ----------------------------------------------------------------------------------- shape and order
def test_one_row_per_run_and_checkpoint_in_order(grid):
    df, _ = grid
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 2 * 3 * 2 * 3  # widths × schedules × seeds × (2 checkpoints + T)
    assert list(df.schedule.cat.categories) == ["constant", "decay", "adaptive"]
    assert df.schedule.cat.ordered
    # ordered by width, step, schedule, seed; member k = i·S + j
    first = df[(df.width == 8) & (df.step == 10)]
    assert list(first.schedule) == ["constant", "constant", "decay", "decay", "adaptive", "adaptive"]
    assert list(first.seed) == [5, 2, 5, 2, 5, 2]
    assert list(first.member) == list(range(6))
    assert sorted(df.step.unique()) == [10, 30, T]
    assert (df.steps == T).all() and (df.activation == "relu").all()
    np.testing.assert_allclose(df[(df.schedule == "decay")].lr0, 0.8 / df[(df.schedule == "decay")].width)
    assert (df[df.schedule == "constant"].lr0 == 0.05).all()


def test_histories_cover_the_run_and_the_paths(grid):
    df, hist = grid
    assert set(hist) == {8, 16}
    for m, h in hist.items():
        assert h.total_steps == T and h.width == m and h.ensemble == 6
        final = df[(df.width == m) & (df.step == T)].sort_values("member")
        np.testing.assert_allclose(h.path_length["A"][-1], final.path_A, rtol=1e-12)
        np.testing.assert_allclose(h.path_length["B"][-1], final.path_B, rtol=1e-12)
        np.testing.assert_allclose(h.lip_product[-1], final.lip_product, rtol=1e-12)


def test_runs_with_one_seed_share_the_initialization(grid):
    _, hist = grid
    h = hist[16]
    for key in ("A_op", "B", "a"):
        v = h.norms[key][0]
        np.testing.assert_array_equal(v[0::2], np.full(3, v[0]))  # seed 5 in members 0, 2, 4
        np.testing.assert_array_equal(v[1::2], np.full(3, v[1]))  # seed 2 in members 1, 3, 5
        assert v[0] != v[1]


# ----------------------------------------------------------------------------------- a row is a lone run
@pytest.mark.parametrize("schedule", ["constant", "decay", "adaptive"])
def test_a_row_equals_training_that_member_alone(grid, sine, schedule):
    df, _ = grid
    m, seed = 16, 2
    spec = _schedules()[schedule]
    sched = spec if isinstance(spec, S.Schedule) else spec(m)
    net = lipnb.TwoLayerNet.init(1, m, "relu", seed=seed)
    for step in (10, 30, T):
        trained, h = lipnb.train(net, sine.x_train, sine.y_train, sched, step)
        row = _row(df, m, schedule, seed, step)
        cert = lipnb.certify(trained, method="exact_1d")
        expected = {
            "train_mse": float(lipnb.mse(trained(sine.x_train), sine.y_train)),
            "test_mse": float(lipnb.mse(trained(sine.x_test), sine.y_test)),
            "lip_product": float(h.lip_product[-1]),
            "path_A": float(h.path_length["A"][-1]),
            "path_B": float(h.path_length["B"][-1]),
            "lip_lower": cert.lower,
            "lip_upper": cert.upper,
        }
        for col, value in expected.items():
            assert row[col] == pytest.approx(value, rel=1e-9, abs=1e-13), (col, step)
        assert row.lip_method == "exact_1d" and row.lip_exact


def test_checkpoints_do_not_change_the_trajectory(grid, sine):
    """Splitting at checkpoints continues each schedule where it stopped (adaptive ones included)."""
    df, _ = grid
    plain = sweep(sine, [16], _schedules(), [5, 2], steps=T, progress=False, certify=None)
    short = sweep(sine, [16], _schedules(), [5, 2], steps=30, progress=False, certify=None)
    assert (plain.step == T).all() and len(plain) == 6
    for col in ("train_mse", "test_mse", "lip_product", "path_A", "path_B"):
        np.testing.assert_allclose(
            df[(df.width == 16) & (df.step == T)][col].to_numpy(), plain[col].to_numpy(), rtol=1e-12, err_msg=col
        )
        np.testing.assert_allclose(
            df[(df.width == 16) & (df.step == 30)][col].to_numpy(), short[col].to_numpy(), rtol=1e-12, err_msg=col
        )


# ----------------------------------------------------------------------------------- certificates
def test_certificates_bracket_and_stay_below_the_product_bound(grid):
    df, _ = grid
    assert (df.lip_method == "exact_1d").all() and df.lip_exact.all()
    assert (df.lip_lower <= df.lip_upper * (1 + 1e-12)).all()
    assert (df.lip_upper <= df.lip_product * (1 + 1e-9)).all()
    assert (df.lip_lower > 0).all()


@pytest.mark.parametrize("d,act,method", [(1, "tanh", "smooth_1d"), (2, "relu", "exact_2d"), (3, "relu", "lipsdp")])
def test_auto_picks_the_method_of_the_setting(d, act, method):
    data = lipnb.data.teacher(d, n_train=20, n_test=30, seed=1) if d > 1 else lipnb.data.noisy_sine(20, 30)
    df = sweep(data, [6], {"c": S.constant(0.05)}, [0, 1], activation=act, steps=20, progress=False)
    assert (df.lip_method == method).all()
    assert (df.lip_lower <= df.lip_upper * (1 + 1e-7)).all()
    assert (df.lip_upper <= df.lip_product * (1 + 1e-7)).all()
    if method != "lipsdp":
        assert df.lip_exact.all()


def test_checkpoint_zero_is_the_initialization(sine):
    df = sweep(sine, [8], _schedules(), [0, 1], steps=10, checkpoints=[0, 5], progress=False)
    init = df[df.step == 0]
    assert len(init) == 6 and (init.path_A == 0).all() and (init.path_B == 0).all()
    net = lipnb.TwoLayerNet.init(1, 8, seed=1)
    cert = lipnb.certify(net, method="exact_1d")
    for _, row in init[init.seed == 1].iterrows():  # every schedule starts from the same network
        assert row.lip_upper == pytest.approx(cert.upper, rel=1e-12)
        assert row.lip_product == pytest.approx(float(net.product_bound()), rel=1e-12)
        assert row.train_mse == pytest.approx(float(lipnb.mse(net(sine.x_train), sine.y_train)), rel=1e-12)


def test_certify_none_and_product(sine):
    none = sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=10, certify=None, progress=False)
    assert none.lip_lower.isna().all() and none.lip_upper.isna().all() and none.lip_method.isna().all()
    assert not none.lip_exact.any()
    prod = sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=10, certify="product", progress=False)
    np.testing.assert_allclose(prod.lip_upper, prod.lip_product, rtol=1e-12)
    np.testing.assert_allclose(prod.train_mse, none.train_mse, rtol=0)


def test_certify_checkpoints_false_certifies_only_the_end(sine):
    df = sweep(
        sine, [8], {"c": S.constant(0.05)}, [0, 1], steps=20, checkpoints=[5], certify_checkpoints=False, progress=False
    )
    assert df[df.step == 5].lip_upper.isna().all() and df[df.step == 5].lip_product.notna().all()
    assert df[df.step == 20].lip_upper.notna().all()


def test_huber_training_still_reports_the_mse(sine):
    df = sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=15, loss="huber", delta=0.1, certify=None, progress=False)
    net, _ = lipnb.train(
        lipnb.TwoLayerNet.init(1, 8, seed=0), sine.x_train, sine.y_train, S.constant(0.05), 15, loss="huber", delta=0.1
    )
    assert df.train_mse[0] == pytest.approx(float(lipnb.mse(net(sine.x_train), sine.y_train)), rel=1e-10)


def test_divergence_names_the_run(sine):
    with pytest.raises(lipnb.TrainingDiverged, match=r"width 8, schedule 'huge', seed 3"):
        sweep(sine, [8], {"fine": S.constant(0.01), "huge": S.constant(1e6)}, [3], steps=50, progress=False)


def test_progress_false_is_silent(sine, capsys):
    sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=5, certify=None, progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ----------------------------------------------------------------------------------- summaries
def test_summarize_is_the_mean_and_sample_sd(grid):
    df, _ = grid
    final = df[df.step == T]
    s = summarize(final)
    assert list(s.index.names) == ["schedule", "width"]
    assert [i[0] for i in s.index][::2] == ["constant", "decay", "adaptive"]  # sweep order, not alphabetical
    for (sched, m), row in s.iterrows():
        runs = final[(final.schedule == sched) & (final.width == m)]
        assert row[("n", "")] == 2
        for col in ("lip_upper", "train_mse", "test_mse"):
            v = runs[col].to_numpy()
            assert row[(col, "mean")] == pytest.approx(v.sum() / 2, rel=1e-14)
            assert row[(col, "sd")] == pytest.approx(math.sqrt(((v - v.mean()) ** 2).sum() / 1), rel=1e-12)


def test_summarize_adds_the_step_when_checkpoints_are_present(grid):
    df, _ = grid
    s = summarize(df, ["lip_upper"])
    assert list(s.index.names) == ["schedule", "width", "step"]
    assert len(s) == 3 * 2 * 3
    one = summarize(df[df.seed == 5], ["lip_upper"], by=["schedule", "width", "step"])
    assert one[("lip_upper", "sd")].isna().all() and (one[("n", "")] == 1).all()


def test_format_summary_prints_each_group(grid):
    df, _ = grid
    s = summarize(df[df.step == T], ["lip_upper", "test_mse"])
    text = format_summary(s, digits=3)
    lines = text.splitlines()
    assert len(lines) == 1 + len(s)
    assert lines[0].split() == ["schedule", "width", "lip_upper", "test_mse"]
    row = s.loc[("decay", 16)]
    assert f"{fmt(row[('lip_upper', 'mean')], 3)} ± {fmt(row[('lip_upper', 'sd')], 2)}" in text
    with pytest.raises(ValueError, match="values"):
        format_summary(s, ["path_A"])


# ----------------------------------------------------------------------------------- Gauss–Newton curvature
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_gauss_newton_top_matches_the_autograd_jacobian(act):
    x = torch.rand(12, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    ens = lipnb.TwoLayerNet.init(2, 5, act, seed=[4, 7])
    got = gauss_newton_top(ens, x)
    assert got.shape == (2,)
    for k in range(2):
        net = ens.member(k)
        params = (net.A.clone(), net.a.clone(), net.B.clone(), net.b.clone())

        def f(A, a, B, b):
            return torch.nn.functional.linear(net.activation(x @ A.T + a), B[None, :])[:, 0] + b

        J = torch.cat([j.reshape(12, -1) for j in torch.autograd.functional.jacobian(f, params)], dim=1)
        expected = float(torch.linalg.eigvalsh(2.0 / 12 * J.T @ J)[-1])
        assert got[k] == pytest.approx(expected, rel=1e-10)
        assert gauss_newton_top(net, x) == pytest.approx(expected, rel=1e-10)


# ----------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"data": (1, 2)}, TypeError, "data must be a lipnb.data.Dataset"),
        ({"widths": []}, ValueError, "widths must hold at least one"),
        ({"widths": [8, 8]}, ValueError, "widths must not repeat"),
        ({"widths": [0]}, ValueError, "widths must be >= 1"),
        ({"widths": 8}, TypeError, "widths must be a sequence"),
        ({"schedules": {}}, ValueError, "schedules must hold at least one"),
        ({"schedules": [S.constant(0.1)]}, TypeError, "schedules must be a dict"),
        ({"schedules": {"x": 0.1}}, TypeError, r"schedules\['x'\] must be a lipnb schedule"),
        ({"schedules": {"x": lambda m: 0.1}}, TypeError, r"schedules\['x'\]\(8\) must return"),
        ({"seeds": [1, 1]}, ValueError, "seeds must not repeat"),
        ({"seeds": [-1]}, ValueError, "seeds must be >= 0"),
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"certify": "magic"}, ValueError, "unknown certify 'magic'"),
        ({"checkpoints": [20]}, ValueError, "checkpoints must be <= 10"),
        ({"checkpoints": [-1]}, ValueError, "checkpoints must be >= 0"),
        ({"loss": "l1"}, ValueError, "unknown loss"),
        ({"activation": "swish"}, ValueError, "unknown activation"),
        ({"certify_kw": [1]}, TypeError, "certify_kw must be a dict"),
        ({"progress": 1}, TypeError, "progress must be True or False"),
        ({"certify_checkpoints": "no"}, TypeError, "certify_checkpoints must be True or False"),
    ],
)
def test_bad_arguments_are_named(sine, kwargs, exc, match):
    args = {
        "data": sine,
        "widths": [8],
        "schedules": {"c": S.constant(0.1)},
        "seeds": [0],
        "steps": 10,
        "progress": False,
    }
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        sweep(**args)


def test_summarize_bad_arguments(grid):
    df, _ = grid
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        summarize(df.to_dict())
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not in df"):
        summarize(df, ["nope"])
    with pytest.raises(TypeError, match="summary must be the DataFrame returned by summarize"):
        format_summary(df)
    assert isinstance(summarize(df, "lip_upper"), pd.DataFrame)


# ----------------------------------------------------------------------------------- the protocol's schedules
def test_protocol_schedules():
    sch = protocol_schedules(2.0, 1200, budget=0.5, rate=0.01)
    assert list(sch) == ["constant", "early decay", "late decay", "adaptive"]
    m = 64
    const, early, late, ad = (sch[k](m) for k in sch)
    assert const(0) == const(1199) == 2.0 / m
    assert early.start == 150 and early(150) == 2.0 / m and early(151) == pytest.approx(2.0 / m * math.exp(-0.01))
    assert late.start == 600 and late(601) == pytest.approx(2.0 / m * math.exp(-0.003))
    assert isinstance(ad, S.AdaptiveSchedule) and ad.start == 300 and ad.max_lr == 2.0 / m
    assert ad.gamma == pytest.approx(0.5, rel=1e-12)
    assert ad.rate_function(1) / ad.rate_function(0) == pytest.approx(math.exp(-0.01))
    with pytest.raises(ValueError, match="c must be > 0"):
        protocol_schedules(0.0, 100)
    with pytest.raises(ValueError, match="steps must be >= 8"):
        protocol_schedules(1.0, 4)
