"""lipnb.widgets: the explorer's update logic headless (its ghost run and test error among it), its widget wiring,
and the static τ × r grid."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
import torch

from lipnb import TrainingDiverged, TwoLayerNet, certify, schedules, train
from lipnb.widgets import Config, Explorer, _Debouncer, _log_axis, decay_grid, grid_figure, grid_html

SMALL = dict(width=64, steps=400, start=200, rate=0.01, lr=0.007)


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer(config=Config(**SMALL))


def test_lr_panel_shows_the_schedule_and_follows_the_sliders(explorer: Explorer) -> None:
    run = explorer.update(family="eventual_exponential", rate=0.01, start=200)
    x, y = explorer.line_lr.get_data()
    expected = schedules.eventual_exponential(0.007, 200, 0.01).values(401)
    np.testing.assert_array_equal(x, run.history.steps)
    np.testing.assert_allclose(y, expected[run.history.steps], rtol=1e-12)
    before = np.array(explorer.line_fit.get_data()[1])
    run = explorer.update(rate=0.03, start=100)
    y2 = explorer.line_lr.get_data()[1]
    np.testing.assert_allclose(y2, schedules.eventual_exponential(0.007, 100, 0.03).values(401), rtol=1e-12)
    assert not np.allclose(before, explorer.line_fit.get_data()[1])
    assert explorer.config.rate == 0.03 and explorer.config.start == 100
    # the loss panel shows the run's risk; the τ marker moved
    np.testing.assert_array_equal(explorer.line_loss.get_data()[1], run.history.loss)
    assert explorer.vlines[0].get_xdata()[0] == 100


@pytest.mark.parametrize("family", ["eventual_exponential", "eventual_polynomial", "adaptive"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_bounds_stay_above_the_certified_value(explorer: Explorer, family: str, activation: str) -> None:
    run = explorer.update(family=family, activation=activation, start=200, rate=0.01, target=60.0)
    h = run.history
    assert math.isfinite(run.sup_bound)
    # LR-constraint theorem bounds the product bound at every step, which bounds the certified Lip(f) at the checkpoints
    assert run.sup_bound >= h.lip_product.max() * (1 - 1e-12)
    assert run.sup_bound >= run.final.upper
    prod = dict(zip(h.steps.tolist(), h.lip_product))
    path = dict(zip(h.steps.tolist(), explorer.line_path.get_data()[1]))
    for t, cert in zip(run.checkpoints, run.certified):
        assert cert <= prod[int(t)] * (1 + 1e-12) <= path[int(t)] * (1 + 1e-12)
    assert run.final.exact
    # the figure's Lipschitz panel carries the same numbers
    assert explorer.line_thm.get_data()[1][0] == pytest.approx(run.sup_bound)
    np.testing.assert_allclose(explorer.line_cert.get_data()[1], run.certified)
    if family == "adaptive":
        assert h.lip_product.max() <= 60.0 * (1 + 1e-9)
        assert run.sup_bound == pytest.approx(60.0, rel=1e-9)


def test_no_decay_means_no_bound(explorer: Explorer) -> None:
    for values in (
        dict(family="eventual_exponential", rate=0.0),
        dict(family="constant"),
        dict(family="eventual_polynomial", power=1.0),
    ):
        run = explorer.update(activation="relu", **values)
        assert run.sup_bound == math.inf and run.gamma == math.inf
        assert len(explorer.line_thm.get_data()[0]) == 0
        assert "Γ = ∞" in explorer.text_thm.get_text()
    run = explorer.update(family="eventual_exponential", rate=0.01, start=400)
    assert run.sup_bound is None and "before τ" in explorer.text_thm.get_text()


def test_prefix_cache_gives_the_fresh_run(explorer: Explorer) -> None:
    explorer.update(family="eventual_exponential", activation="relu", start=300, rate=0.02)
    cached = explorer.update(start=130, rate=0.005)
    fresh = Explorer(config=Config(**{**SMALL, "start": 130, "rate": 0.005})).update()
    for g in ("A", "a", "B", "b"):
        torch.testing.assert_close(getattr(cached.net, g), getattr(fresh.net, g), rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(cached.history.path_length["A"], fresh.history.path_length["A"], rtol=1e-12)
    assert cached.sup_bound == pytest.approx(fresh.sup_bound, rel=1e-12)


def test_bad_values_leave_the_settings_unchanged(explorer: Explorer) -> None:
    before = explorer.config
    with pytest.raises(ValueError, match="width"):
        explorer.update(width=0)
    with pytest.raises(ValueError, match="family"):
        explorer.update(family="cosine")
    with pytest.raises(TypeError, match="unknown setting"):
        explorer.update(learning_rate=0.1)
    with pytest.raises(TrainingDiverged):
        explorer.update(lr=0.9, activation="tanh", family="constant")
    with pytest.raises(ValueError, match="target"):
        explorer.update(family="adaptive", target=1.0)
    assert explorer.config == before


def test_widget_controls_drive_update() -> None:
    ui = Explorer(config=Config(**SMALL)).widget(debounce=0)
    first = ui.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    ui.controls["rate"].value = 0.0
    assert ui.explorer.config.rate == 0.0
    assert ui.image.value != first
    assert "no bound" in ui.status.value
    ui.controls["lr"].value = 0.9
    ui.controls["activation"].value = "tanh"
    assert "TrainingDiverged" in ui.status.value
    assert all(
        getattr(c, "continuous_update", False) is False for c in ui.controls.values() if hasattr(c, "continuous_update")
    )


def test_debounce_runs_once_per_burst() -> None:
    calls = []
    deb = _Debouncer(lambda: calls.append(1), 0.05)

    async def burst() -> None:
        for _ in range(5):
            deb()
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.15)

    asyncio.run(burst())
    assert calls == [1]
    deb()  # no running event loop: immediate
    assert calls == [1, 1]


def test_ghost_is_the_constant_rate_run(explorer: Explorer) -> None:
    run = explorer.update(family="eventual_exponential", activation="relu", start=200, rate=0.01)
    ghost = run.ghost
    assert ghost is not None and ghost.ghost is None and ghost.config.family == "constant"
    data = explorer.data
    net, hist = train(
        TwoLayerNet.init(1, 64, "relu", seed=0), data.x_train, data.y_train, schedules.constant(0.007), 400
    )
    for g in ("A", "a", "B", "b"):
        torch.testing.assert_close(getattr(ghost.net, g), getattr(net, g), rtol=1e-12, atol=0.0)
    np.testing.assert_allclose(ghost.history.loss, hist.loss, rtol=1e-12)
    assert ghost.sup_bound == math.inf and ghost.gamma == math.inf
    # the run and its ghost share θ_0 … θ_τ, and part after τ
    np.testing.assert_array_equal(run.history.loss[:201], ghost.history.loss[:201])
    assert run.history.loss[-1] != ghost.history.loss[-1]
    # the figure draws the ghost in every panel it shares with the run
    np.testing.assert_array_equal(explorer.ghost_loss.get_data()[1], ghost.history.loss)
    np.testing.assert_array_equal(explorer.ghost_test.get_data()[1], ghost.test_curve)
    np.testing.assert_array_equal(explorer.ghost_cert.get_data()[1], ghost.certified)
    np.testing.assert_allclose(explorer.ghost_lr.get_data()[1], 0.007, rtol=0)
    with torch.no_grad():
        np.testing.assert_allclose(explorer.ghost_fit.get_data()[1], ghost.net(explorer._xs).numpy())
    # the constant family is its own ghost
    run = explorer.update(family="constant")
    assert run.ghost is None and len(explorer.ghost_loss.get_data()[0]) == 0


def test_test_error_and_certified_curve(explorer: Explorer) -> None:
    run = explorer.update(family="eventual_exponential", activation="tanh", start=130, rate=0.01)
    data = explorer.data
    with torch.no_grad():
        mse = float(((run.net(data.x_test) - data.y_test) ** 2).mean())
    assert run.test_loss == pytest.approx(mse, rel=1e-12) and run.test_curve[-1] == run.test_loss
    # checkpoints: 0, τ, T and about twenty between; at θ_0 the test MSE and the certificate are those of the init
    steps = run.checkpoints.tolist()
    assert steps[0] == 0 and 130 in steps and steps[-1] == 400 and 15 <= len(steps) <= 25
    net0 = TwoLayerNet.init(1, 64, "tanh", seed=0)
    with torch.no_grad():
        assert run.test_curve[0] == pytest.approx(float(((net0(data.x_test) - data.y_test) ** 2).mean()), rel=1e-12)
    assert run.certified[0] == pytest.approx(certify(net0).upper, rel=1e-12)
    assert run.certified[-1] == run.final.upper
    np.testing.assert_array_equal(explorer.line_test.get_data()[0], run.checkpoints)
    np.testing.assert_array_equal(explorer.line_test.get_data()[1], run.test_curve)
    # the noise floor is drawn at the data's noise variance
    assert explorer.line_noise.get_ydata()[0] == pytest.approx(0.01)
    # the title states the fit of the run and of its ghost beside the certified constants
    title = explorer.figure._suptitle.get_text()
    assert f"test MSE {run.test_loss:.3g}" in title and f"{run.ghost.final.upper:.4g}" in title


def test_log_tick_labels_carry_their_decade(explorer: Explorer) -> None:
    explorer.update(family="eventual_exponential", activation="relu", start=200, rate=0.01)
    explorer.figure.canvas.draw()
    for ax in (explorer.ax_loss, explorer.ax_lr, explorer.ax_lip):
        labels = [(t.get_text(), t.get_position()[1]) for t in ax.get_yticklabels() if t.get_text()]
        assert len(labels) >= 2, labels
        for text, value in labels:  # "40" means 40: every label is the tick's whole value
            assert float(text.replace("−", "-")) == pytest.approx(value, rel=1e-9), (text, value)
        assert not any(t.get_text() for t in ax.get_yticklabels(minor=True))
    axis = _log_axis()
    assert all(float(text) == pytest.approx(v, rel=1e-12) for text, v in zip(axis["ticktext"], axis["tickvals"]))
    assert "40" not in axis["ticktext"] and "50" in axis["ticktext"] and "0.002" in axis["ticktext"]


def test_decay_grid_and_its_static_html() -> None:
    grid = decay_grid(starts=(0, 150), rates=(0.0, 0.02), lr=0.007, width=32, steps=300, every=50)
    assert grid.loss.shape == (2, 2, 7) and grid.fit.shape == (2, 2, 200)
    assert np.isinf(grid.sup_bound[:, 0]).all() and np.isfinite(grid.sup_bound[:, 1]).all()
    assert (grid.sup_bound[:, 1] >= grid.certified[:, 1]).all()
    assert (grid.path_bound[..., -1] >= grid.certified).all()
    np.testing.assert_allclose(grid.lr[1, 1], schedules.eventual_exponential(0.007, 150, 0.02).values(301)[grid.steps])
    rows = grid.table()
    assert [(r["tau"], r["r"]) for r in rows] == [(0, 0.0), (0, 0.02), (150, 0.0), (150, 0.02)]
    # the ghost is the constant-rate run: the same as the r = 0 grid points, certified and tested likewise
    np.testing.assert_array_equal(grid.ghost["loss"], grid.loss[1, 0])
    np.testing.assert_array_equal(grid.ghost["certified_curve"], grid.certified_curve[0, 0])
    assert grid.ghost["test"][-1] == grid.test_loss[0, 0] == rows[0]["test"]
    assert grid.certified_curve.shape == grid.test.shape == (2, 2, grid.checkpoints.size)
    np.testing.assert_array_equal(grid.certified_curve[..., -1], grid.certified)
    fig = grid_figure(grid)
    names = [t.name for t in fig.data]
    assert names[2:10] == [
        "network f_θT",
        "train risk",
        "test MSE",
        "α_t",
        "product bound",
        "path-length bound",
        "LR-constraint bound",
        "certified Lip(f_θt)",
    ]
    assert names.count("constant-α ghost") == 5 and "noise variance" in names
    assert "test MSE" in fig.layout.title.text and "constant α" in fig.layout.title.text
    html = grid_html(grid, include_plotlyjs=False)
    assert html == grid_html(grid, include_plotlyjs=False)  # deterministic: no random ids
    assert 'id="lipnb-decay-grid"' in html and "plotly_sliderchange" in html
    assert html.count("Plotly.newPlot") == 1
