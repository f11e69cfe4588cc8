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
    finished = [r is not None for r in load_sweep(sweep, out, square)]
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


# --- issue 18 item 12: a cached file is validated on load, never trusted ------------------------
def _damage(path, how):
    text = path.read_text()
    if how == "truncated":
        path.write_text(text[: len(text) // 2])
    elif how == "empty":
        path.write_text("")
    elif how == "edited":  # a sample changed by hand: still valid JSON, with the right keys
        stored = json.loads(text)
        stored["result"]["y"] = 123.0
        path.write_text(json.dumps(stored))
    elif how == "no stamp":  # the format before the stamp (or a hand-written file)
        stored = json.loads(text)
        path.write_text(json.dumps({"config": stored["config"], "result": stored["result"]}))
    elif how == "not an object":
        path.write_text("[]")


@pytest.mark.parametrize("how, reason", [
    ("truncated", "not JSON"), ("empty", "empty file"), ("edited", "checksum mismatch"),
    ("no stamp", "no 'stamp'"), ("not an object", "not a JSON object"),
])
def test_a_damaged_cached_run_is_named_and_recomputed(tmp_path, capsys, how, reason):
    calls = tmp_path / "calls"
    calls.mkdir()
    sweep = configs(3, calls=str(calls))
    run_sweep(square, sweep, tmp_path / "out", max_workers=1, progress=False)
    capsys.readouterr()
    path = tmp_path / "out" / f"{config_key(sweep[1])}.json"
    _damage(path, how)
    for p in calls.iterdir():
        p.unlink()
    results = run_sweep(square, sweep, tmp_path / "out", max_workers=1, progress=False)
    assert [r["y"] for r in results] == [0.5, 1.5, 4.5]  # the right numbers, not the edited ones
    assert [p.name.split("-")[0] for p in calls.iterdir()] == ["1"]  # only the damaged one again
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"hsgd: recomputing {path}: ")
    assert reason in err
    assert json.loads(path.read_text())["result"]["y"] == 1.5  # and the file is whole again


def test_a_run_cached_by_another_version_of_the_code_is_stale(tmp_path, capsys, monkeypatch):
    import figures.sweep

    run_sweep(square, configs(2), tmp_path, max_workers=1, progress=False)
    monkeypatch.setattr(figures.sweep, "CACHE_VERSION", figures.sweep.CACHE_VERSION + 1)
    capsys.readouterr()
    run_sweep(square, configs(2), tmp_path, max_workers=1, progress=False)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("recomputing" in line and "stale" in line for line in err)
    assert all(json.loads(p.read_text())["stamp"]["code"] == figures.sweep.code_stamp(square)
               for p in tmp_path.glob("*.json"))


def test_a_cached_result_of_the_wrong_shape_is_recomputed(tmp_path, capsys):
    """A stamped, checksummed file whose result lacks what the sweep needs (power's 'samples')."""
    from figures.power import valid_point
    from figures.sweep import _store, code_stamp

    config = {"x": 2}
    path = tmp_path / f"{config_key(config)}.json"
    _store(path, config, {"y": 4.5}, code_stamp(square))
    assert run_sweep(square, [config], tmp_path, max_workers=1, progress=False,
                     validate=lambda r: None if "pid" in r else "no 'pid'")[0]["y"] == 4.5
    assert "unexpected result: no 'pid'" in capsys.readouterr().err
    assert valid_point({"source": "s", "group": "g", "instance": {}, "estimated": []}) == (
        "'samples' is not a non-empty list of numbers")
    assert valid_point({"source": "s", "group": "g", "instance": {}, "estimated": [], "samples": [0.5],
                        "deterministic": True}) is None


def test_no_half_file_is_left_when_a_write_is_interrupted(tmp_path, monkeypatch):
    """The cache is written through a temp file and ``os.replace``: an interrupt during the write
    leaves no ``<key>.json`` (and no temp file)."""
    import os as os_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os_module, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(square, configs(1), tmp_path, max_workers=1, progress=False)
    assert list(tmp_path.iterdir()) == []
