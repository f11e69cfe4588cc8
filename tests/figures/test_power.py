"""hsgd power: the real theorems are never killed, wrong ones are, and the report says by what."""

import json

import numpy as np
import pytest

from bounds.instance import Instance, theorem_terms
from figures.cli import main
from figures.power import Evidence, analyse, power_report


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("power")
    return out, power_report(out, quick=True, progress=False)


def test_the_real_theorem_is_never_killed_and_its_obvious_mutants_are(quick):
    _, report = quick
    assert report["theorem_killed"] is False
    by_name = {m["name"]: m for m in report["mutants"]}
    for name in ("init/2", "init/10", "noise/2", "drop init", "drop noise", "condition x4"):
        assert by_name[name]["killed"], by_name[name]
    assert by_name["init/2"]["by"].startswith("witness init")
    assert 0 < report["score"] < 1 and report["killed"] == sum(m["killed"] for m in report["mutants"])


def test_theorem_s_is_never_killed_and_catches_more(quick):
    out, report = quick
    sharp = power_report(out, theorem_spec="sharp", quick=True, progress=False)  # the same runs, resumed
    assert sharp["theorem_killed"] is False and sharp["evidence"] == report["evidence"]
    assert sharp["score"] > report["score"]
    het = sharp["terms"]["level_1_heterogeneity"]["best_ratio"]
    assert het > 5 * report["terms"]["level_1_heterogeneity"]["best_ratio"]


def test_best_ratio_is_measured_over_bound_where_the_term_is_at_least_half(quick):
    _, report = quick
    for name, info in report["terms"].items():
        if info.get("best_ratio") is None:
            continue
        x = Instance.from_json(info["instance"])
        parts = theorem_terms(x)
        assert parts[name] >= 0.5 * sum(parts.values())
        assert info["best_ratio"] == pytest.approx(info["ratio_to_term"] * parts[name] / sum(parts.values()))


def _evidence(samples, deterministic, gamma=0.5):
    x = Instance(gamma=gamma, L=1.0, sigma=0.0 if deterministic else 1.0, F0=0.5, n=1, T=10, periods=(1,),
                 counts=(1, 1), eps=(0.0,))
    return Evidence("crafted", "crafted", x, tuple(samples), deterministic, "init")


def test_the_kill_rule_on_crafted_runs():
    """Bound at x: init 2 * 0.5 / (0.5 * 10) = 0.2 (plus noise 0.5 sigma^2 when noisy)."""
    above = analyse([_evidence([0.2 * (1 + 1e-6)], True)], "theorem2")
    assert above["theorem_killed"] is True  # a run above the real bound kills it: the rule can fire
    exact = analyse([_evidence([0.2 * (1 + 1e-15)], True)], "theorem2")
    assert exact["theorem_killed"] is False  # within the floating-point tolerance
    one_seed = analyse([_evidence([5.0], False)], "theorem2")
    assert one_seed["theorem_killed"] is False  # one noisy seed: no interval, no kill
    noisy = analyse([_evidence(list(np.linspace(0.80, 0.84, 8)), False)], "theorem2")
    assert noisy["theorem_killed"] is True  # every seed far above 0.7: the lower CI is above


def test_hsgd_power_json(quick, capsys):
    out, _ = quick
    assert main(["power", "--quick", "--json", "--out-dir", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"terms", "mutants", "theorem_killed", "score"} <= set(data)
    assert {"init", "noise", "level_1_noise", "level_1_heterogeneity"} <= set(data["terms"])
    assert {"name", "killed", "by", "margin"} <= set(data["mutants"][0])
    assert main(["power", "--theorem", "nope"]) == 2


def test_a_diverged_run_is_evidence_against_a_condition_that_admits_it():
    """gamma L = 2 on f = x^2/2 diverges; only 'condition x4' admits that step, and it is killed."""
    import math

    x = Instance(gamma=2.0, L=1.0, sigma=0.0, F0=0.5, n=1, T=10, periods=(1,), counts=(1, 1), eps=(0.0,))
    report = analyse([Evidence("diverged", "crafted", x, (math.inf,), True, "init")], "theorem2")
    by_name = {m["name"]: m for m in report["mutants"]}
    assert by_name["condition x4"]["killed"] and not report["theorem_killed"]
    assert not by_name["init/2"]["killed"]  # outside its condition: says nothing


def _readme_theorem(tmp_path):
    """The README's own-theorem file, written where a user would keep it."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Your own theorem")[1]
    path = tmp_path / "my_bound.py"
    path.write_text(re.search(r"```python\n(.*?)```", section, flags=re.S).group(1))
    return f"{path}:theorem"


def test_the_readme_theorem_goes_through_power_and_check(quick, tmp_path):
    """A user's theorem from a file: never killed by the quick evidence, its dropped parts are,
    and hsgd check decides its verdicts at a step size inside its own (stricter) condition."""
    out, theorem2_report = quick
    spec = _readme_theorem(tmp_path)
    report = power_report(out, theorem_spec=spec, quick=True, progress=False)  # the same runs, resumed
    assert report["theorem"] == "mine" and report["theorem_killed"] is False
    assert report["evidence"] == theorem2_report["evidence"]
    by_name = {m["name"]: m for m in report["mutants"]}
    assert by_name["drop level_1_heterogeneity"]["killed"] and by_name["drop level_2_heterogeneity"]["killed"]
    assert main(["check", "--theorem", spec, "--steps", "300", "--seeds", "3", "--workers", "1", "--json",
                 "--out-dir", str(tmp_path / "check")]) == 0
    result = json.loads((tmp_path / "check" / "check.json").read_text())
    assert result["params"]["theorem"] == "mine" and result["condition_holds"] is True
    assert result["bound_valid"] is True and "lowered" in result["gamma_rule"]


def test_theorem_2_is_analysed_with_its_named_mutants(quick):
    """A theorem of Theorem 2's form gets Theorem 2's mutants (its coefficients, factors and eps
    swaps), not only the generic part mutants; theorem2() and theorem2(THEORY) are one object."""
    from bounds.coefficients import THEORY
    from bounds.theorems import THEOREM_2, theorem2

    assert theorem2(THEORY) is theorem2() is THEOREM_2
    _, report = quick
    names = {m["name"] for m in report["mutants"]}
    assert {"heterogeneity/2", "condition/10", "(P_1-1)/2", "(2P_2-1)->P_2", "noise share /n^2", "eps_1->eps_2"} <= names
    assert report["total"] == 24 and report["theorem"] == "theorem2"
