"""The design advisor (figures/advise.py, hsgd advise): its JSON shape, its accounting, bad inputs."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from empirical import HeterogeneousNonconvex
from empirical.cost import CostModel, LinkCost, run_time
from bounds import Shape
from figures.advise import advise, design_grid, evaluate_designs, measured_steps_to_target

NET = CostModel([LinkCost(1e-4, 1e9, "local"), LinkCost(1e-2, 1e8, "global")], compute=1e-3)
TINY = HeterogeneousNonconvex(n=8, d=3, sigma=0.5, seed=1)
GRID = [Shape(8, (1,)), Shape(8, (2,)), Shape(8, (1, 2), (2,)), Shape(8, (2, 4), (4,)), Shape(8, (1, 4), (2,))]


@pytest.fixture(scope="module")
def tiny_advice():
    return advise(TINY, NET, 0.5, top=2, seeds=2, max_steps=3000, designs=GRID)


def test_advise_json_has_the_issue_shape(tiny_advice):
    payload = json.loads(json.dumps(tiny_advice.to_json()))  # plain JSON, no numpy
    assert list(payload)[:4] == ["designs", "baselines", "spearman", "chosen_over_best_measured"]
    assert len(payload["designs"]) == 2 and payload["baselines"]
    for entry in payload["designs"] + payload["baselines"]:
        assert list(entry)[:5] == ["periods", "groups", "gamma", "predicted_time", "measured_time"]
        assert len(entry["groups"]) == len(entry["periods"]) - 1
    # designs are the best by predicted time, in order
    times = [d["predicted_time"] for d in payload["designs"]]
    assert times == sorted(times) and times[0] == min(p.time for p in tiny_advice.ranking)
    names = [b["name"] for b in payload["baselines"]]
    best_multi = next(p.design for p in tiny_advice.ranking if p.design.M > 1)
    wanted = {(best_multi.periods[0],), (best_multi.periods[-1],), (1,)}  # local SGD at I, at G; minibatch
    assert "minibatch SGD" in names and {tuple(b["periods"]) for b in payload["baselines"]} == wanted
    assert payload["constants"]["estimated"] == []  # certified constants


def test_chosen_over_best_measured_is_that_ratio(tiny_advice):
    every = tiny_advice.designs + tiny_advice.baselines
    measured = [o.measured_time for o in every if o.measured_time is not None]
    chosen = tiny_advice.designs[0].measured_time
    assert chosen is not None
    assert tiny_advice.chosen_over_best_measured == pytest.approx(chosen / min(measured))
    assert tiny_advice.chosen_over_best_measured >= 1


def test_prediction_and_measurement_use_the_same_clock(tiny_advice):
    """Predicted time is time(T) of the predicted T; each seed's measured time is time(T) of
    its own T, and that T is the first horizon whose running average is at most the target."""
    for o in tiny_advice.designs + tiny_advice.baselines:
        p = o.prediction
        assert p.time == pytest.approx(run_time(NET, p.design.periods, p.steps, d=3))
        for T, t in zip(o.seed_steps, o.seed_times):
            assert T is not None and t == pytest.approx(run_time(NET, p.design.periods, T, d=3))
        assert o.horizon == min(p.steps, 3000)


def test_gamma_meets_the_condition_exactly_and_T_is_the_bounds(tiny_advice):
    from bounds.time_to_target import exact_bound
    from figures.verdicts import condition_holds

    c = TINY.constants()
    F0 = float(TINY.loss(TINY.default_x0())) - c.f_star.value
    for p in tiny_advice.ranking:
        bound = p.design.bound()
        values = dict(gamma=p.gamma, L=c.L.value, sigma=c.sigma.value, n=8, F0=F0, eps=list(p.eps))
        assert condition_holds(bound, values).holds and p.gamma <= p.gamma_max
        assert exact_bound(bound, T=p.steps, **values) <= 0.5
        assert p.steps == 1 or exact_bound(bound, T=p.steps - 1, **values) > 0.5


def test_measured_steps_to_target():
    avg = np.array([[5.0, 1.0, 0.4, 0.3], [5.0, 0.6, 0.7, 0.5], [9.0, 9.0, 9.0, 9.0]])
    assert measured_steps_to_target(avg, 0.5) == [3, 4, None]


def test_evaluate_designs_mixes_depths_and_reports_not_reached():
    net3 = CostModel([LinkCost(0, 1e9), LinkCost(1e-3, 1e9), LinkCost(1e-2, 1e9)], compute=1e-3)
    out = evaluate_designs(TINY, [Shape(8, (1, 2, 4), (4, 2)), Shape(8, (2, 4), (2,))], net3, 0.5, seeds=2, max_steps=5)
    assert [o.horizon for o in out] == [5, 5]
    assert all(o.measured_time is None and o.seed_times == (None, None) for o in out)
    assert out[0].to_json()["measured_time"] is None and out[0].to_json()["seeds_reached"] == 0


def test_design_grid():
    grid = design_grid(8, levels=(1, 2, 3), local_periods=(1, 2), global_periods=(4,))
    two = [d for d in grid if d.M == 2]
    assert {d.groups[0] for d in two} == {2, 4}  # 1 < N < n, N | n
    assert all(d.periods[1] % d.periods[0] == 0 and d.periods[0] < d.periods[1] for d in two)
    three = [d for d in grid if d.M == 3]
    assert three == [Shape(8, (1, 2, 4), (4, 2))]
    assert [d.periods for d in grid if d.M == 1] == [(1,), (2,), (4,)]


@pytest.mark.parametrize("call, message", [
    (lambda: advise(TINY, NET, 0.0, designs=GRID), "^target must be a finite positive number"),
    (lambda: advise(TINY, NET, 0.5, top=0, designs=GRID), "^top must be a positive integer"),
    (lambda: advise(TINY, NET, 0.5, designs=[Shape(8, (1, 2, 4), (4, 2))]), "^levels: a 3-level hierarchy needs"),
    (lambda: advise(TINY, NET, 0.5, designs=[]), "^designs: nothing to search"),
    (lambda: design_grid(8, levels=(4,)), "^levels must be among 1, 2, 3"),
    (lambda: Shape(8, (2, 4), ()), "^groups must list 1 group counts for 2 periods"),
    (lambda: advise(TINY, NET, 0.5, designs=[Shape(4, (1,))]), "^design minibatch SGD is for n = 4 workers, the problem has n = 8"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def _cli(argv):
    from figures.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("option, value", [
    ("--global-latency", "-1"), ("--local-bandwidth", "0"), ("--compute", "-0.5"), ("--target", "0"),
    ("--middle-latency", "0.1"),  # without --middle-bandwidth
])
def test_cli_bad_cost_inputs_one_line(option, value):
    code, out, err = _cli(["advise", f"{option}={value}"])
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("hsgd: error: ")
    assert option.lstrip("-").split("-")[0] in err


def test_cli_json_on_a_tiny_problem():
    code, out, err = _cli(["advise", "--n", "4", "--d", "2", "--target", "2", "--seeds", "2", "--top", "1",
                           "--max-steps", "300", "--json"])
    assert code == 0, err
    payload = json.loads(out)
    assert list(payload)[:4] == ["designs", "baselines", "spearman", "chosen_over_best_measured"]
    assert payload["designs"][0]["predicted_time"] > 0


def test_the_advisor_ranks_with_any_theorem_of_its_form(tmp_path):
    """--theorem: the README's own theorem (every level pays P_l^2) predicts more steps than
    Theorem 2 for every design with a period above 1, and a theorem not of the form S/T + R(gamma)
    (Theorem S's free Young parameters) is refused, naming it."""
    from figures.advise import predict
    from tests.figures.test_power import _readme_theorem

    spec = _readme_theorem(tmp_path)
    designs = [Shape(8, (2,)), Shape(8, (2, 4), (4,))]
    own, _ = predict(TINY, designs, NET, 0.5, theorem=spec)
    theorem2, _ = predict(TINY, designs, NET, 0.5)
    assert all(a.steps > b.steps for a, b in zip(own, theorem2))
    with pytest.raises(ValueError, match="theorem sharp .* S/T \\+ R\\(gamma\\)"):
        predict(TINY, designs, NET, 0.5, theorem="sharp")


def test_the_simulations_run_in_a_pool_with_the_same_advice_and_progress(tiny_advice):
    """Issue 20 item 2: hsgd advise's simulations (one task per design) go to the one executor, so
    they use every core; the advice is the same as in this process, and each finished simulation
    is reported."""
    told = []
    pooled = advise(TINY, NET, 0.5, top=2, seeds=2, max_steps=3000, designs=GRID, workers=2, progress=told.append)
    assert pooled.to_json() == tiny_advice.to_json()
    assert told[0].startswith("predicting the time to target of") and told[-1].endswith(
        f"({len(told) - 1} of {len(told) - 1})")
