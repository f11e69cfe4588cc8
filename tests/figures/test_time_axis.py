"""hsgd check --time: the checker's runs charged by the cost model, against a hand count."""

import json

import numpy as np
import pytest

from empirical.cost import CostModel, LinkCost
from figures.checker import CheckResult
from figures.cli import main
from figures.time_axis import run_times


def _result(T, periods):
    return CheckResult(params={"T": T, "periods": periods}, constants={}, empirical={}, bound={},
                       bound_random_grouping=None, verdicts={}, gamma_rule="", hierarchy="")


@pytest.mark.parametrize("T", [1, 49, 50, 51, 300])
def test_run_times_are_the_hand_count(T):
    model = CostModel([LinkCost(0.5, 1e3, "local"), LinkCost(7.0, 1e2, "global")], compute=0.25, model_bytes=100)
    times = run_times(_result(T, [5, 50]), model, d=3)
    local, glob = 2 * (0.5 + 100 / 1e3), 2 * (7.0 + 100 / 1e2)  # up and down
    expected = {"local_I": 0.25 * T + (T // 5) * glob,          # local SGD at 5 pays the global link
                "hsgd": 0.25 * T + (T // 5 - T // 50) * local + (T // 50) * glob,
                "local_G": 0.25 * T + (T // 50) * glob}
    for name, value in expected.items():
        assert times[name]["total"] == pytest.approx(value, rel=1e-12)
        assert times[name]["time"].shape == (T,)
    assert times["hsgd"]["aggregations"] == [T // 5 - T // 50, T // 50]


def test_check_time_writes_the_time_figure_and_json(tmp_path, capsys):
    code = main(["check", "--time", "--steps=100", "--seeds=2", "--n=8", "--N=2", "--I=2", "--G=10",
                 "--global-latency=0.5", "--json", "--workers=1", f"--out-dir={tmp_path}"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert (tmp_path / "check-time.png").exists() and (tmp_path / "check-time.pdf").exists()
    t = payload["time"]
    assert t["hsgd"]["total"] < t["local_I"]["total"]  # fewer slow global rounds than local SGD at I
    assert json.loads((tmp_path / "check.json").read_text())["time"]["hsgd"]["total"] == t["hsgd"]["total"]


def test_f1_carries_the_time_axis_of_each_run():
    """F1's bottom row: each run's times are the cost model's at the plotted steps."""
    from empirical.cost import timeline
    from figures.paper.f1_sandwich import _cost_model

    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[2] / "figures" / "f1_sandwich.json").read_text())
    panel = data["panels"][0]
    model = _cost_model()
    for name, periods in (("local_I", [data["I"]]), ("hsgd", [data["I"], data["G"]]), ("local_G", [data["G"]])):
        expected = timeline(model, periods, panel["t"], d=data["problem"]["d"]).time
        assert np.allclose(panel["time"][name]["t"], expected, rtol=1e-12)
    assert panel["time"]["hsgd"]["total"] < panel["time"]["local_I"]["total"]
