"""Sweeps: same results through a process pool and a Dask cluster; resume loses and repeats nothing."""

import json

import pytest

from figures.sweep import config_key, load_sweep, run_sweep
from tests.figures.sweep_tasks import square


def configs(n, **extra):
    return [{"x": x, **extra} for x in range(n)]


def test_results_in_config_order_and_one_file_each(tmp_path):
    results = run_sweep(square, configs(6), tmp_path, max_workers=2, progress=False)
    assert [r["y"] for r in results] == [x**2 + 0.5 for x in range(6)]
    assert len(list(tmp_path.glob("*.json"))) == 6
    stored = json.loads((tmp_path / f"{config_key({'x': 3})}.json").read_text())
    assert stored["config"] == {"x": 3} and stored["result"]["y"] == 9.5


def test_process_pool_and_dask_cluster_give_identical_results(tmp_path):
    from dask import distributed  # installed by the test extras
    local = run_sweep(square, configs(8), tmp_path / "pool", max_workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = run_sweep(square, configs(8), tmp_path / "dask", executor=client.get_executor(), progress=False)
    assert [r["y"] for r in remote] == [r["y"] for r in local]
    pool_files = {p.name: json.loads(p.read_text())["result"]["y"] for p in (tmp_path / "pool").glob("*.json")}
    dask_files = {p.name: json.loads(p.read_text())["result"]["y"] for p in (tmp_path / "dask").glob("*.json")}
    assert pool_files == dask_files


def test_interrupted_sweep_resumes_without_losing_or_repeating(tmp_path):
    calls, flag, out = tmp_path / "calls", tmp_path / "interrupt", tmp_path / "out"
    calls.mkdir()
    flag.touch()
    sweep = configs(8, calls=str(calls), interrupt=str(flag))
    with pytest.raises(RuntimeError, match="interrupted at x = 5"):
        run_sweep(square, sweep, out, max_workers=1, progress=False)  # one worker: runs in order
    finished = [r is not None for r in load_sweep(sweep, out)]
    assert finished == [True] * 5 + [False] * 3  # everything before the interruption is kept
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}

    flag.unlink()
    for p in calls.iterdir():
        p.unlink()
    results = run_sweep(square, sweep, out, max_workers=2, progress=False)
    assert [r["y"] for r in results] == [x**2 + 0.5 for x in range(8)]
    assert sorted(int(p.name.split("-")[0]) for p in calls.iterdir()) == [5, 6, 7]  # nothing repeated
    assert all(p.stat().st_mtime_ns == before[p.name] for p in out.glob("*.json") if p.name in before)


def test_duplicates_run_once_and_bad_configs_are_rejected(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    run_sweep(square, [{"x": 1, "calls": str(calls)}] * 3, tmp_path / "o", max_workers=1, progress=False)
    assert len(list(calls.iterdir())) == 1
    with pytest.raises(ValueError, match=r"configs\[0\] is not JSON-able"):
        run_sweep(square, [{"x": object()}], tmp_path / "bad", progress=False)


def test_battery_points_identical_through_pool_and_dask(tmp_path):
    from dask import distributed

    from figures.paper.f3_battery import battery_configs, battery_point

    configs = [dict(c, steps=100) for c in battery_configs(quick=True)[:2]]
    local = run_sweep(battery_point, configs, tmp_path / "pool", max_workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = run_sweep(battery_point, configs, tmp_path / "dask", executor=client.get_executor(), progress=False)
    assert remote == local  # bit for bit: same seeds, same code, JSON round trip
