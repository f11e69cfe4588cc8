"""hsgd falsify and hsgd tightness: the batched kink runs, the search, the fresh-seed rule, the reproducer."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds.instance import theorem_condition
from bounds.theorems import theorem
from empirical import Hierarchy, simulate
from empirical.batch import simulate_batch
from empirical.problems.witness import KinkProblem
from figures import falsify as fz


def _short(cells, T: int = 2000):
    """The cells with horizons cut at ``T`` (the tests' budgets are small anyway)."""
    return [{**cell, "T": min(cell["T"], T)} for cell in cells]


def _kinks(n: int, K: int, rng: np.random.Generator, weights=None) -> list[KinkProblem]:
    return [KinkProblem(b=rng.normal(size=(n, 1)), c=float(rng.normal()), L=1.0, a=float(rng.uniform(0, 3)),
                        sigma=float(rng.uniform(0.1, 1)), noise="two_point", reset_period=2, weights=weights)
            for _ in range(K)]


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 3.0, 1.0, 1.0, 2.0, 1.0, 5.0]])
def test_batched_kinks_equal_their_single_runs_bit_for_bit(weights):
    rng = np.random.default_rng(1)
    h = Hierarchy.two_level(8, 2, 2, 4, "contiguous")
    problems = _kinks(8, 5, rng, weights)
    lrs = rng.uniform(0.01, 0.2, size=5).tolist()
    starts = rng.normal(size=(5, 1))
    runs = simulate_batch(problems, h, lrs, steps=60, seeds=3, seed=4, x0=starts, record_every=1)
    for p, lr, x0, run in zip(problems, lrs, starts, runs):
        single = simulate(p, h, lr, 60, seeds=3, seed=4, x0=x0, record_every=1)
        assert np.array_equal(single.grad_norm_sq, run.grad_norm_sq)
        assert np.array_equal(single.divergence, run.divergence)
        assert run.config["x0"] == x0.tolist()


def test_a_start_per_seed_must_have_one_row_per_seed():
    p = KinkProblem(b=[1.0, -1.0], c=0.0, L=1.0, a=1.0)
    h = Hierarchy.local_sgd(2, 2)
    run = simulate(p, h, 0.1, 5, seeds=2, x0=[[0.5], [-0.5]], record_every=1)
    assert np.allclose(run.loss[:, 0], [p.loss(np.array([0.5])), p.loss(np.array([-0.5]))])
    with pytest.raises(ValueError, match=r"one row per seed \(2, 1\)"):
        simulate(p, h, 0.1, 5, seeds=2, x0=np.zeros((3, 1)))


@settings(max_examples=25)
@given(cell=st.sampled_from(fz.CELLS + fz.FEDERATED_CELLS), v=st.lists(st.floats(0, 1), min_size=8, max_size=8))
def test_a_candidate_has_the_offsets_it_was_given_exactly(cell, v):
    """The sign patterns make eps_l = e_l (every parent has an even number of children): the
    constants the bound is evaluated at are the ones the search chose."""
    c = fz.candidate_of(cell, v[:fz._dimension(cell)], 0.05)
    problem, hierarchy = fz.build(c)
    eps = [e.value for e in problem.constants(hierarchy.levels).eps_levels]
    if cell["family"] in ("heterogeneity", "mixed") and "weights" not in cell:
        assert eps == pytest.approx(v[5:5 + len(cell["periods"])], rel=1e-12, abs=1e-12)
    assert problem.constants(hierarchy.levels).L.kind == "exact"


def test_a_noise_free_run_with_a_drawn_sample_is_random():
    """A participation cell without noise still draws its participants: one seed is one draw, not
    the run's value, so it is measured and confirmed as a random run (fresh seeds, an interval)."""
    cell = next(c for c in fz.FEDERATED_CELLS if c.get("participation") and c["family"] == "heterogeneity")
    c = fz.candidate_of(cell, [0.5] * fz._dimension(cell), 0.05)
    assert c["sigma"] == 0
    m = fz.measure([c], 3, 0)[0]
    assert not m["deterministic"]
    assert len(set(m["samples"])) > 1  # the draws do differ: treating one as the value would be wrong
    plain = fz.candidate_of(fz.CELLS[2], [0.5] * fz._dimension(fz.CELLS[2]), 0.05)
    assert fz.measure([plain], 1, 0)[0]["deterministic"]


@pytest.mark.parametrize("name", ["theorem2", "sharp"])
def test_the_largest_step_is_inside_and_the_next_float_is_not(name):
    t = theorem(name)
    cell = fz.CELLS[2]
    gamma = fz.largest_step(t, cell)
    x = fz._probe(cell)
    assert theorem_condition(replace(x, gamma=gamma), 1, t)
    assert not theorem_condition(replace(x, gamma=float(np.nextafter(gamma, 1.0))), 1, t)  # the wrong input


def test_theta_is_the_factor_at_which_the_scaled_bound_meets_the_measurement():
    """theta_k = 1 - (B - m)/term_k, exactly: the bound with term k times theta_k equals m; times
    anything smaller it is below m (refuted), anything larger above."""
    parts = {"init": Fraction(3, 2), "noise": Fraction(1, 4), "level_1_heterogeneity": Fraction(5, 4)}
    m = Fraction(2)
    thetas = fz._thetas(parts, m)
    for name, theta in thetas.items():
        scaled = sum(parts.values()) - parts[name] + theta * parts[name]
        assert scaled == m
        assert sum(parts.values()) - parts[name] + (theta - Fraction(1, 100)) * parts[name] < m
    assert thetas["init"] == Fraction(1, 3)  # B = 3: 1 - (3 - 2)/(3/2)


@pytest.mark.parametrize("name", ["theorem2", "sharp", "sharp_recursion", "theorem_p"])
def test_the_search_never_falsifies_a_real_theorem(tmp_path, name):
    cells = _short(fz.QUICK_CELLS) + (_short(fz.FEDERATED_CELLS[::2]) if name == "theorem_p" else [])
    report = fz.falsify(name, budget=70, out_dir=tmp_path, progress=False, cells=cells)
    assert report["falsified"] is False
    assert report["runs"] >= 60
    assert 0 < report["worst"]["total"] <= 1.0
    assert all(c["state"] != "above" for c in report["confirmed"])


def test_the_search_falsifies_a_dropped_term_and_the_reproducer_replays_it(tmp_path):
    report = fz.falsify("sharp", mutant="drop level_1_heterogeneity", budget=60, out_dir=tmp_path, progress=False,
                        cells=_short(fz.CELLS[:1]))
    assert report["falsified"] is True
    repro = report["reproducer"]
    assert repro["mutant"] == "drop level_1_heterogeneity" and repro["expected"]["state"] == "above"
    assert repro["seed"] >= fz.FRESH_OFFSET  # the falsifying run is on seeds the search never used
    again = fz.replay(json.loads(json.dumps(repro)))
    assert again["same"] is True and again["mean"] == repro["expected"]["mean"]
    # the same run against the real theorem: below its bound
    real = fz.replay({**repro, "mutant": None})
    assert real["state"] in ("below", "straddles") and real["mean"] <= real["bound"]


def test_a_reproducer_that_does_not_replay_says_so(tmp_path):
    report = fz.falsify("theorem2", budget=30, out_dir=tmp_path, progress=False, cells=_short(fz.QUICK_CELLS, 400))
    repro = json.loads(json.dumps(report["reproducer"]))
    repro["expected"]["mean"] *= 1.5  # a wrong expectation is caught, not confirmed
    assert fz.replay(repro)["same"] is False


def test_fresh_seed_confirmation_is_what_decides(tmp_path, monkeypatch):
    """A candidate above the bound on its search seeds but not on fresh ones is not a falsification."""
    real_search = fz.search_cell

    def lucky(config):
        result = real_search(config)
        for b in result["best"]:
            b["ratio"] = 5.0  # the search's seeds said: far above
        return result

    monkeypatch.setattr(fz, "search_cell", lucky)
    report = fz.falsify("theorem2", budget=30, out_dir=tmp_path, progress=False, cells=_short(fz.CELLS[:1], 400))
    assert report["confirmed"] and all(c["search_ratio"] == 5.0 for c in report["confirmed"])
    assert report["falsified"] is False
    assert all(c["fresh_ratio"] < 1 for c in report["confirmed"])


def test_bad_input_is_refused_with_the_rule():
    with pytest.raises(ValueError, match="budget must be a positive integer"):
        fz.falsify("sharp", budget=0)
    with pytest.raises(ValueError, match="seed must be an integer in"):
        fz.falsify("sharp", seed=10_000)
    with pytest.raises(ValueError, match="mutant must be one of .*level_1_noise/2"):
        fz.falsify("sharp", mutant="nonsense")
    with pytest.raises(ValueError, match="the reproducer has no 'candidate'"):
        fz.replay({"theorem": "sharp"})


def test_tightness_intervals_hold_what_they_claim(tmp_path):
    from figures.tightness import tightness

    config = {"n": 4, "counts": [2], "periods": [2, 4], "L": 1.0, "sigma": 0.0, "eps": [1.0, 0.5], "gamma": 0.05,
              "T": 200}
    report = tightness(config, theorems=["theorem2"], budget=24, out_dir=tmp_path, progress=False)
    terms = report["theorems"]["theorem2"]["terms"]
    assert set(terms) >= {"init", "level_1_heterogeneity", "level_2_heterogeneity"}
    for info in terms.values():
        low, high = info["interval"]
        assert 0 <= low <= high == 1
        if info["theta"] is not None and info["theta"] > 0:
            # the witness refutes the term scaled a little below theta
            others = info["bound"] - info["term"]
            assert others + 0.99 * info["theta"] * info["term"] < info["measured_lower"]
    # gradient descent on the quadratic at gamma L = 0.05: the init term is about twice what it measures
    assert 0.45 < terms["init"]["theta"] < 0.55


def test_tightness_refuses_a_configuration_it_cannot_build():
    from figures.tightness import tightness

    with pytest.raises(ValueError, match="even number"):
        tightness({"n": 3, "counts": [], "periods": [2], "L": 1.0, "sigma": 0.0, "eps": [1.0], "gamma": 0.05,
                   "T": 10}, budget=1)
    with pytest.raises(ValueError, match="outside Theorem 2's condition"):
        tightness({"n": 4, "counts": [], "periods": [2], "L": 1.0, "sigma": 0.0, "eps": [1.0], "gamma": 0.9,
                   "T": 10}, theorems=["theorem2"], budget=1)


def test_falsify_cli_json_and_replay(tmp_path, capsys):
    from figures.cli import main

    assert main(["falsify", "--theorem", "theorem2", "--budget", "30", "--json", "--out-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"theorem", "falsified", "runs", "worst", "reproducer"}
    assert report["falsified"] is False and set(report["worst"]) == {"total", "terms"}
    path = tmp_path / "falsify_theorem2_reproducer.json"
    assert main(["falsify", "--replay", str(path)]) == 0
    assert "the same numbers as the reproducer: yes" in capsys.readouterr().out


def test_a_run_beyond_float64_counts_as_diverged():
    c = fz.candidate_of(fz.CELLS[0], [1.0, 0.5, 0.5, 1.0, 0.0, 1.0], 1e3)  # gamma L = 1000: the run blows up
    m = fz.measure([c], 1, 0)[0]
    assert m["samples"] == [math.inf]


def test_the_ratio_does_not_depend_on_the_scale_of_f_or_of_x():
    """Why the search may fix L = 1 (docs/theory.md §11.1): f -> a f and x -> x / b, with
    gamma -> gamma b^2 / a, leave measured/bound unchanged (Theorem 2, exactly up to rounding)."""
    from bounds.instance import theorem_terms

    c = fz.candidate_of(fz.CELLS[8], [1.0, 0.4, 0.3, 0.5, 1.0, 0.0, 0.0], 0.05)
    a, b = 3.0, 0.5
    scaled = {**c, "L": a / b**2, "c": c["c"] * a / b, "a": c["a"] * b, "b": [v * a / b for v in c["b"]],
              "sigma": c["sigma"] * a / b, "x0": [c["x0"][0] * b], "gamma": c["gamma"] * b**2 / a}
    ratios = []
    for cand in (c, scaled):
        m = fz.measure([cand], 4, 0)[0]
        ratios.append(np.mean(m["samples"]) / sum(theorem_terms(m["instance"], theorem("theorem2")).values()))
    assert ratios[1] == pytest.approx(ratios[0], rel=1e-9)
    assert ratios[0] > 0.01  # a run that measures something


def test_tightness_cli(tmp_path, capsys):
    from figures.cli import main

    args = ["tightness", "--n", "4", "--groups", "2", "--periods", "2,4", "--L", "1", "--sigma", "0", "--eps", "1,0.5",
            "--lr", "0.05", "--steps", "100", "--budget", "8", "--theorem", "theorem2", "--out-dir", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    entry = report["theorems"]["theorem2"]
    assert {"level_1_heterogeneity", "level_2_heterogeneity", "init"} <= set(entry["terms"])
    assert all(0 <= t["interval"][0] <= t["interval"][1] == 1 for t in entry["terms"].values())
    assert main(args) == 0
    assert "level_1_heterogeneity" in capsys.readouterr().out
    assert main(["tightness", "--periods", "2,4,8", "--budget", "1", "--out-dir", str(tmp_path)]) == 2
    assert "--periods and --groups must describe the same depth" in capsys.readouterr().err
