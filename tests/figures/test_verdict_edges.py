"""Issue 18, verdicts at the edges: each test is a reproducer from the issue that gave a verdict
claiming more than the run showed (or a wrong one) before the fix."""

import json

import numpy as np
import pytest

import bounds
import empirical as E
from bounds.exact import ExactReal, compare, exact_value
from empirical import Hierarchy
from empirical.problems.witness import KinkProblem
from figures.checker import run_check
from figures.cli import main
from figures.verdicts import paired_order, sandwich_order


def _kink(weights=None):
    b = np.array([[2.0], [-1.0], [0.5], [-2.5], [1.0], [0.0], [1.5], [-1.5]])
    return KinkProblem(b=b, c=-0.3, L=1.0, a=3.0, weights=weights)


@pytest.mark.parametrize("periods, groups", [([5, 5], [4]), ([2, 2, 2], [8, 4])])
def test_equal_periods_read_as_equal_bounds_for_this_grouping(periods, groups):
    """Item 1: at I = G the three runs are the same algorithm; Corollary 0's eps in the local SGD
    bounds makes the three bounds equal, exactly (before: 'no (exact)', H-SGD above local SGD by
    the gap between the certified total eps and sqrt(eps_l^2 + eps_g^2))."""
    p = E.HeterogeneousNonconvex(n=16, d=3, seed=1)
    r = run_check(p, Hierarchy.multi_level(16, periods, groups), steps=40, seeds=2)
    own = r.verdicts["bound_sandwich_own_grouping"]
    assert own.holds is True and own.basis == "exact", own.line()
    assert own.detail.startswith("local SGD (P = I) = H-SGD; H-SGD = local SGD (P = G)")
    assert r.constants["eps_corollary0"] == pytest.approx(np.sqrt(np.sum(np.square(r.constants["eps_levels"]))))
    assert r.constants["eps_corollary0"] != r.constants["eps"]  # the certified total eps differs: the old mismatch
    assert r.verdicts["bound_sandwich"].holds is True


def test_a_root_sum_of_squares_input_compares_equal_exactly():
    """Item 2: sqrt of a float sum, squared again in rationals, is an ulp off; an ExactReal is not.
    The federated kink example at periods [6, 6]: the three bounds are equal and read so."""
    common = dict(gamma=0.1, L=1, sigma=0, n=8, T=60, F0=1)
    eps_levels = [0.1, 0.7]
    as_float = float(np.sqrt(sum(e * e for e in eps_levels)))
    h_sgd = exact_value(bounds.two_level(), dict(common, N=4, I=6, G=6, eps_l=eps_levels[0], eps_g=eps_levels[1]))
    at_float = exact_value(bounds.local_sgd(), dict(common, P=6, eps=as_float))
    assert compare(at_float, h_sgd) != 0  # the wrong input: the float square root is rejected as unequal
    exact = exact_value(bounds.local_sgd(), dict(common, P=6, eps=ExactReal.root_sum_of_squares(eps_levels)))
    assert compare(exact, h_sgd) == 0
    problem = _kink(weights=[5, 1, 1, 1, 3, 1, 2, 2])
    h = Hierarchy.multi_level(8, [6, 6], [4], grouping=[np.array([0, 0, 1, 1, 2, 2, 3, 3])])
    own = run_check(problem, h, steps=30, seeds=2).verdicts["bound_sandwich_own_grouping"]
    assert own.holds is True and "local SGD (P = I) = H-SGD; H-SGD = local SGD (P = G)" in own.detail


def test_an_ordering_outside_the_condition_is_not_applicable_and_says_which_condition_fails():
    """Item 3: lr = 10 breaks the condition; the ordering verdict consults it."""
    problem = _kink(weights=[5, 1, 1, 1, 3, 1, 2, 2])
    h = Hierarchy.multi_level(8, [2, 6], [4], grouping=[np.array([0, 0, 1, 1, 2, 2, 3, 3])])
    r = run_check(problem, h, steps=20, seeds=2, lr=10.0)
    v = r.verdicts
    assert v["condition_holds"].holds is False and "fails: " in v["condition_holds"].detail
    assert "by " in v["condition_holds"].detail and "x the limit" in v["condition_holds"].detail
    for name in ("bound_sandwich_own_grouping", "bound_valid"):
        assert not v[name].applicable and "step-size condition" in v[name].detail


def test_one_exact_condition_decision_in_bound_simulate_and_check(capsys):
    """Item 4: one ulp above gamma L <= 1 fails in `hsgd bound` (before: 'holds', a 1e-12 slack);
    `hsgd simulate --json`'s default step size meets the condition exactly, and at an estimated
    L the condition is not applicable (null), as in `hsgd check`."""
    assert main(["bound", "local", "--P", "1", "--gamma", "1.0000000000000002", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["condition_holds"] is False
    assert main(["bound", "local", "--P", "1", "--gamma", "1.0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["condition_holds"] is True
    assert main(["simulate", "--steps", "5", "--seeds", "2", "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["condition_holds"] is True and summary["condition"]["basis"] == "exact"
    gamma_ulp_above = float(np.nextafter(summary["lr"], 1.0))
    assert main(["simulate", "--steps", "5", "--seeds", "2", "--json", "--no-progress",
                 "--lr", repr(gamma_ulp_above)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["condition_holds"] is False and "breaks the step-size condition" in captured.err
    assert main(["simulate", "--problem", "digits", "--steps", "3", "--seeds", "2", "--json", "--no-progress"]) == 0
    digits = json.loads(capsys.readouterr().out)
    assert digits["condition_holds"] is None and "L is estimated" in digits["condition"]["detail"]


def test_full_participation_is_the_default_algorithm(tmp_path, capsys):
    """Item 5: --participation 1 (everyone, every round) gives the bounds and verdicts of no flag
    (before: Theorem P, certified eps relabelled as estimated, every verdict not applicable)."""
    common = ["check", "--n", "8", "--N", "2", "--I", "2", "--G", "4", "--steps", "30", "--seeds", "3", "--json"]
    assert main(common + ["--out-dir", str(tmp_path / "a")]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(common + ["--participation", "1", "--out-dir", str(tmp_path / "b")]) == 0
    full = json.loads(capsys.readouterr().out)
    assert full["bound"] == plain["bound"] and full["params"]["theorem"] == "theorem2"
    assert {k: v["holds"] for k, v in full["verdicts"].items()} == {k: v["holds"] for k, v in plain["verdicts"].items()}
    assert full["constants"]["estimated"] == [] and full["empirical"] == plain["empirical"]


def test_runs_that_coincide_seed_by_seed_are_not_a_measured_sandwich():
    """Item 6: T <= I on a noisy run: the three runs are identical seed by seed; before, 'yes
    (floating point)' with an undocumented state 'equal'."""
    r = run_check(E.HeterogeneousNonconvex(n=16, d=3), Hierarchy.two_level(16, 4, 5, 50), steps=1, seeds=4)
    v = r.verdicts["empirical_sandwich"]
    assert not v.applicable and "coincide seed by seed" in v.detail
    assert r.verdicts["bound_valid"].holds is True  # the bounds are still checked against the runs


def test_a_noise_free_run_decides_the_measured_sandwich_with_one_seed():
    """Item 7: sigma = 0 and one seed: bound_valid and empirical_sandwich are both decided in
    floating point (before: the sandwich was 'not applicable (1 seed)')."""
    p = E.HeterogeneousNonconvex(n=16, d=3, sigma=0.0)
    r = run_check(p, Hierarchy.two_level(16, 4, 2, 8), steps=200, seeds=1)
    assert r.verdicts["bound_valid"].basis == "floating point"
    v = r.verdicts["empirical_sandwich"]
    assert v.basis == "floating point" and v.holds is not None
    assert {side.state for _, side in v.parts} <= {"in order", "equal", "reversed"}


def test_paired_order_states_are_the_documented_ones():
    """'equal' is a state of noise-free runs only; a noisy pair of identical runs is not applicable."""
    same = [1.0, 2.0, 3.0]
    assert paired_order(same, same, lower_name="a", upper_name="b").basis == "not applicable"
    noise_free = paired_order([2.0], [2.0], lower_name="a", upper_name="b", deterministic=True)
    assert (noise_free.holds, noise_free.state, noise_free.basis) == (True, "equal", "floating point")
    reversed_ = paired_order([2.0], [1.5], lower_name="a", upper_name="b", deterministic=True)
    assert reversed_.holds is False and reversed_.state == "reversed"
    with pytest.raises(ValueError, match="seeds differ"):
        paired_order([1.0, 2.0], [1.5, 2.0], lower_name="a", upper_name="b", deterministic=True)
    assert sandwich_order([1.0], [1.0], [2.0], names=["a", "b", "c"], deterministic=True).holds is True


def test_user_given_constants_are_named_in_the_verdicts():
    """Item 8: provenance is a declared kind; a verdict at constants the user gave says so (before:
    'every constant is exact or certified' for the default label 'given')."""
    b = np.linspace(-2, 2, 8)[:, None] * np.ones((1, 2))
    spread = float(np.mean(np.sum((b - b.mean(0)) ** 2, axis=-1)))
    p = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(axis=0), n=8, d=2, noise=0.5,
                           loss=lambda u: 0.5 * np.sum((u[..., None, :] - b) ** 2, axis=(-2, -1)) / 8,
                           constants=dict(L=1.0, eps=np.sqrt(spread), eps_levels=lambda levels: [np.sqrt(spread), 0.0],
                                          f_star=0.0))
    r = run_check(p, Hierarchy.two_level(8, 2, 2, 4, grouping="contiguous"), steps=30, seeds=3)
    assert r.constants["given"] == ["L", "eps", "eps_levels[0]", "eps_levels[1]", "f_star"]
    assert r.constants["estimated"] == []
    for name in ("condition_holds", "bound_valid", "bound_sandwich_own_grouping"):
        assert "constants given by the user" in r.verdicts[name].detail, name


def test_the_random_grouping_sandwich_is_only_for_random_grouping():
    """Issue 18 item 18: the random-grouping verdict and column belonged to random groupings only."""
    p = E.HeterogeneousNonconvex(n=16, d=3)
    r = run_check(p, Hierarchy.two_level(16, 4, 2, 8, grouping="heterogeneous", problem=p), steps=30, seeds=2)
    assert r.bound_random_grouping is None and not r.verdicts["bound_sandwich"].applicable
    assert "not random" in r.verdicts["bound_sandwich"].detail
    rand = run_check(p, Hierarchy.two_level(16, 4, 2, 8), steps=30, seeds=2)
    assert rand.bound_random_grouping is not None and rand.verdicts["bound_sandwich"].holds is True
