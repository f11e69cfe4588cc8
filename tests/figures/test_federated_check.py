"""hsgd check with weights and partial participation (docs/theory.md §10): the API's verdicts
are decided where the constants are exact and not applicable where they are estimated, and the
command line runs end to end."""

import json

import numpy as np
import pytest

from empirical import Hierarchy
from empirical.problems.witness import KinkProblem
from figures.cli import main
from figures.checker import participation_count, run_check


def _kink(weights=None):
    b = np.array([[2.0], [-1.0], [0.5], [-2.5], [1.0], [0.0], [1.5], [-1.5]])
    return KinkProblem(b=b, c=-0.3, L=1.0, a=3.0, weights=weights)


def test_exact_weighted_constants_give_decided_verdicts():
    """A weighted kink problem at full participation: exact constants, so the condition and the
    bound ordering are decided exactly and each noise-free run meets its Theorem W bound."""
    problem = _kink(weights=[5, 1, 1, 1, 3, 1, 2, 2])
    h = Hierarchy.multi_level(8, [2, 6], [4], grouping=[np.array([0, 0, 1, 1, 2, 2, 3, 3])])
    result = run_check(problem, h, steps=60, seeds=2)
    v = result.verdicts
    assert v["condition_holds"].holds is True and v["condition_holds"].basis == "exact"
    assert v["bound_sandwich_own_grouping"].holds is True and v["bound_sandwich_own_grouping"].basis == "exact"
    assert v["bound_valid"].holds is True
    assert result.bound["local_I"] <= result.bound["hsgd"] <= result.bound["local_G"]
    assert result.constants["eps_sample"] == 0.0


def test_a_given_step_size_outside_the_condition_is_not_applicable():
    problem = _kink()
    h = Hierarchy.multi_level(8, [2, 6], [4], grouping=[np.array([0, 0, 1, 1, 2, 2, 3, 3])])
    result = run_check(problem, h, steps=20, seeds=2, lr=0.5)
    assert result.verdicts["condition_holds"].holds is False
    assert not result.verdicts["bound_valid"].applicable


def test_estimated_sampled_constants_make_the_bound_verdicts_not_applicable():
    problem = _kink(weights=[5, 1, 1, 1, 3, 1, 2, 2])
    h = Hierarchy.multi_level(8, [2, 6], [4], grouping=[np.array([0, 0, 1, 1, 2, 2, 3, 3])])
    result = run_check(problem, h, participation=1, steps=30, seeds=3, samples=8)
    assert result.constants["eps_sample"] > 0
    assert "eps_sample" in result.constants["estimated"]
    for name in ("bound_valid", "bound_sandwich_own_grouping"):
        assert not result.verdicts[name].applicable and "estimated" in result.verdicts[name].detail


def test_participation_count():
    h = Hierarchy.multi_level(8, [2, 6], [2], grouping=[np.array([0, 0, 0, 1, 1, 1, 1, 1])])
    # rounded down, as the authors' int(frac * len(group)); 1.0 of unequal groups (3 and 5) is 3: partial for the 5
    assert participation_count(0.5, h) == 1 and participation_count(1.0, h) == 3 and participation_count(0.01, h) == 1
    assert participation_count(0.7, h) == 2
    with pytest.raises(ValueError, match=r"participation must be a fraction in \(0, 1\]"):
        participation_count(0.0, h)


def test_the_command_line_runs_with_participation(tmp_path, capsys):
    code = main(["check", "--participation=0.5", "--n=8", "--N=2", "--I=2", "--G=4", "--steps=40", "--seeds=3",
                 "--json", "--workers=1", f"--out-dir={tmp_path}"])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["params"]["participation"] == 2 and payload["params"]["theorem"] == "theorem_p"
    assert (tmp_path / "check.json").exists() and (tmp_path / "check.png").exists()


def test_the_participation_mode_defaults_to_the_authors_and_reaches_the_runs():
    """The default draws afresh at every level-1 aggregation (the authors' code); the other mode
    is still there and changes the runs, not the bounds (Theorem P covers both, docs/theory.md §10.6)."""
    problem = _kink(weights=[5, 1, 1, 1, 3, 1, 2, 2])
    h = Hierarchy.multi_level(8, [2, 6], [2], grouping=[np.array([0, 0, 0, 0, 1, 1, 1, 1])])
    kw = dict(participation=1, steps=30, seeds=3, samples=8)
    authors, once = run_check(problem, h, **kw), run_check(problem, h, participation_mode="global_round", **kw)
    assert authors.params["participation_mode"] == "local_round" and once.params["participation_mode"] == "global_round"
    assert "every 2 steps (local_round)" in authors.hierarchy and "every 6 steps (global_round)" in once.hierarchy
    assert authors.empirical["hsgd"]["mean"] != once.empirical["hsgd"]["mean"]
    assert authors.bound == once.bound
    with pytest.raises(ValueError, match=r"^participation_mode must be 'local_round' or 'global_round', got 'local'"):
        run_check(problem, h, participation_mode="local", **kw)


def test_the_command_line_takes_the_participation_mode(tmp_path, capsys):
    args = ["check", "--participation=0.5", "--n=8", "--N=2", "--I=2", "--G=4", "--steps=20", "--seeds=2", "--json",
            "--workers=1", f"--out-dir={tmp_path}"]
    assert main(args + ["--participation-mode=global_round"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["participation_mode"] == "global_round"
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["params"]["participation_mode"] == "local_round"
    assert main(["check", "--participation-mode=global_round", f"--out-dir={tmp_path}"]) == 2
    assert "--participation-mode says when the participants are drawn: it needs --participation" in capsys.readouterr().err
