"""sweep(executor=...): the same DataFrame (and histories), to the last bit, whether the widths run here,
on a ProcessPoolExecutor or on a dask.distributed cluster; divergence and bad executors are reported."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch

import lipnb
from lipnb import schedules as S
from lipnb.errors import TrainingDiverged
from lipnb.sweep import sweep


def _schedules():
    """Lambdas (width-dependent rates) and an adaptive schedule: what plain pickle could not send."""
    return {
        "constant": S.constant(0.05),
        "decay": lambda m: S.eventual_exponential(0.8 / m, start=20, rate=0.05),
        "adaptive": lambda m: S.adaptive(0.8 / m, 15, S.exponential_rate(0.02, 0.1)),
    }


ARGS = dict(widths=[16, 8, 24], seeds=[5, 2], steps=60, checkpoints=[0, 30], progress=False, return_histories=True)


@pytest.fixture(scope="module")
def sine():
    return lipnb.data.noisy_sine(n_train=24, n_test=50, seed=3)


@pytest.fixture(scope="module")
def serial(sine):
    assert torch.get_num_threads() == 1  # conftest pins it, as the executor's tasks do
    return sweep(sine, schedules=_schedules(), **ARGS)


def _assert_same(result, serial):
    df, hist = result
    ref_df, ref_hist = serial
    pd.testing.assert_frame_equal(df, ref_df, check_exact=True)
    assert list(hist) == list(ref_hist) == ARGS["widths"]
    for m in hist:
        for key in ("loss", "lip_product"):
            np.testing.assert_array_equal(getattr(hist[m], key), getattr(ref_hist[m], key))
        np.testing.assert_array_equal(hist[m].path_length["A"], ref_hist[m].path_length["A"])


def test_serial_grid_is_in_width_order(serial):
    df, _ = serial
    assert list(dict.fromkeys(df.width)) == ARGS["widths"] and len(df) == 3 * 3 * 2 * 3
    assert df.lip_exact.all()


def test_process_pool_gives_the_serial_frame(sine, serial):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        _assert_same(sweep(sine, schedules=_schedules(), executor=ex, **ARGS), serial)


def test_thread_pool_in_this_process_gives_the_serial_frame(sine, serial):
    with ThreadPoolExecutor(1) as ex:
        _assert_same(sweep(sine, schedules=_schedules(), executor=ex, **ARGS), serial)
    assert torch.get_num_threads() == 1


def test_dask_distributed_gives_the_serial_frame(sine, serial):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        _assert_same(sweep(sine, schedules=_schedules(), executor=client.get_executor(), **ARGS), serial)


def test_divergence_in_a_task_names_width_schedule_and_seed(sine):
    bad = {"ok": S.constant(0.01), "huge": lambda m: S.constant(50.0)}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as ex:
        with pytest.raises(TrainingDiverged, match=r"sweep: width 8, schedule 'huge', seed 4") as info:
            sweep(sine, [8], bad, [3, 4], steps=200, certify=None, progress=False, executor=ex)
    with pytest.raises(TrainingDiverged) as serial_info:
        sweep(sine, [8], bad, [3, 4], steps=200, certify=None, progress=False)
    assert str(info.value) == str(serial_info.value)
    assert (info.value.step, info.value.member) == (serial_info.value.step, serial_info.value.member)


@pytest.mark.parametrize(
    "executor,match",
    [
        ("processes", "got str"),
        (4, "got int"),
        (ProcessPoolExecutor, "got type"),
    ],
)
def test_bad_executor_is_a_type_error(sine, executor, match):
    with pytest.raises(TypeError, match=f"executor must be None or a concurrent.futures.Executor.*{match}"):
        sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=5, progress=False, executor=executor)


def test_a_dask_client_itself_gets_a_hint(sine):
    class Client:  # stands in for dask.distributed.Client, which is not an Executor
        pass

    with pytest.raises(TypeError, match=r"pass client.get_executor\(\)"):
        sweep(sine, [8], {"c": S.constant(0.05)}, [0], steps=5, progress=False, executor=Client())
