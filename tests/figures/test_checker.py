"""The sandwich checker: verdicts on cases with known answers, and numbers anyone can recompute."""

import json

import numpy as np
import pytest

import bounds
import empirical as E
from figures.checker import run_check
from figures.cli import main

SMALL = dict(steps=1000, seeds=4)


@pytest.fixture(scope="module")
def default_result():
    # the checker's default problem (n = 32, d = 10), a shorter run
    return run_check(E.HeterogeneousNonconvex(n=32, d=10), E.two_level(32, 4, 5, 50), **SMALL)


def test_default_problem_shows_every_verdict(default_result):
    v = default_result.verdicts
    assert v["condition_holds"] and v["bound_valid"] and v["bound_sandwich"]
    assert v["bound_sandwich_own_grouping"] and v["empirical_sandwich"] and v["empirical_sandwich_significant"]
    e = default_result.empirical
    assert e["local_I"]["mean"] < e["hsgd"]["mean"] < e["local_G"]["mean"]


def test_bound_curves_hold_at_every_horizon_and_end_at_the_reported_bound(default_result):
    r = default_result
    horizons = r.bound_curves["horizons"]
    assert horizons[-1] == r.params["T"] and np.all(horizons % r.params["G"] == 0)
    for k in ("local_I", "hsgd", "local_G"):
        assert r.bound_curves[k][-1] == pytest.approx(r.bound[k], rel=1e-12)
        assert np.all(r.curves[k][horizons - 1] <= r.bound_curves[k])  # running average at t = T' - 1
        assert np.all(np.diff(r.bound_curves[k]) < 0)  # the 2 F0/(gamma T) term shrinks


def test_bounds_can_be_recomputed_from_the_printed_numbers(default_result):
    data = json.loads(json.dumps(default_result.to_json()))  # exactly what --json prints
    p, c = data["params"], data["constants"]
    common = dict(gamma=p["gamma"], L=c["L"], sigma=c["sigma"], n=p["n"], T=p["T"], F0=c["F0"])
    assert bounds.two_level().evaluate(**common, N=p["N"], I=p["I"], G=p["G"], eps_g=c["eps_g"],
                                       eps_l=c["eps_l"]) == pytest.approx(data["bound"]["hsgd"], rel=1e-12)
    assert bounds.local_sgd().evaluate(**common, P=p["G"], eps=c["eps"]) == pytest.approx(data["bound"]["local_G"], rel=1e-12)
    rg = bounds.random_grouping(bounds.two_level()).evaluate(**common, N=p["N"], I=p["I"], G=p["G"], eps=c["eps"])
    assert rg == pytest.approx(data["bound_random_grouping"]["hsgd"], rel=1e-12)


def test_a_wrong_bound_is_caught():
    """Constants that understate the problem (no noise, no heterogeneity, f* = f(x0))."""
    b = np.linspace(-2, 2, 8)[:, None] * np.ones((1, 2))
    wrong = {"L": 1.0, "sigma": 0.0, "eps": 0.0, "eps_levels": [0.0, 0.0], "f_star": 2.0, "label": "wrong on purpose"}
    p = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(axis=0), n=8, d=2, noise=1.0,
                           loss=lambda u: 0.5 * np.sum(u**2, axis=-1) + 2.0 - 0.0, constants=wrong, x0=0.0)
    result = run_check(p, E.two_level(8, 2, 2, 4), steps=200, seeds=4)
    assert result.bound["hsgd"] == 0.0
    assert result.verdicts["bound_valid"] is False


def test_a_reversed_empirical_order_is_reported_not_hidden():
    """On a smaller problem the measured order reverses (longer periods happen to help early
    on): the bounds still hold and are still sandwiched, and the checker says so."""
    r = run_check(E.HeterogeneousNonconvex(n=16, d=5), E.two_level(16, 4, 5, 50), **SMALL)
    e = r.empirical
    assert e["local_G"]["mean"] < e["hsgd"]["mean"] < e["local_I"]["mean"]
    assert r.verdicts["empirical_sandwich"] is False
    assert r.verdicts["bound_valid"] and r.verdicts["bound_sandwich"]


def test_no_heterogeneity_gives_equal_curves():
    same = E.HeterogeneousNonconvex(n=16, d=5, between=0.0, within=0.0, sigma=1.0)
    result = run_check(same, E.two_level(16, 4, 5, 50), **SMALL)
    means = [result.empirical[k]["mean"] for k in ("local_I", "hsgd", "local_G")]
    assert (max(means) - min(means)) / np.mean(means) < 1e-4  # identical workers: periods barely matter
    spread = [(result.empirical[k]["ci_high"] - result.empirical[k]["ci_low"]) / 2 for k in ("local_I", "local_G")]
    assert abs(means[2] - means[0]) < max(spread)  # within the seeds' sampling error


def test_multi_level_and_unequal_groups():
    p = E.HeterogeneousNonconvex(n=16, d=3)
    r = run_check(p, E.multi_level(16, [8, 2], [2, 4, 20]), steps=400, seeds=3)
    assert r.verdicts["bound_sandwich"] and r.params["periods"] == [2, 4, 20]
    unequal = run_check(p, E.two_level(16, 3, 2, 20, grouping="contiguous"), steps=400, seeds=3)
    assert unequal.bound_random_grouping is None and unequal.verdicts["bound_sandwich"] is None


def test_check_command_writes_figure_and_data(tmp_path, capsys):
    code = main(["check", "--n", "8", "--d", "2", "--N", "2", "--I", "2", "--G", "10", "--steps", "200",
                 "--seeds", "3", "--json", "--out-dir", str(tmp_path)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["empirical"]) == {"local_I", "hsgd", "local_G"}
    assert {"bound_valid", "bound_sandwich", "empirical_sandwich", "params", "constants"} <= set(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.json", "check.pdf", "check.png"]
    assert main(["check", "--steps", "1001", "--out-dir", str(tmp_path)]) == 2
    assert "multiple of the top period 50" in capsys.readouterr().err
