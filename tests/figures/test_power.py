"""hsgd power: the real theorems are never killed, wrong ones are, and the report says by what."""

import dataclasses
import json

import numpy as np
import pytest

from bounds.instance import Instance, theorem_terms
from figures.cli import main
from figures.power import CONFIRM_OFFSET, CONFIRM_SEEDS, Evidence, analyse, power_report


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


class FakeRunner:
    """Confirmations without running anything: each run again with the samples ``fresh`` gives it."""

    def __init__(self, fresh):
        self.fresh, self.asked = fresh, []

    def __call__(self, runs):
        self.asked.append([e.source for e in runs])
        return [dataclasses.replace(e, samples=tuple(self.fresh(e)), seed=10**6) for e in runs]


def test_the_kill_rule_on_crafted_runs():
    """Bound at x: init 2 * 0.5 / (0.5 * 10) = 0.2 (plus noise 0.5 sigma^2 when noisy)."""
    above = analyse([_evidence([0.2 * (1 + 1e-6)], True)], "theorem2")
    assert above["theorem_killed"] is True  # a run above the real bound kills it: the rule can fire
    exact = analyse([_evidence([0.2 * (1 + 1e-15)], True)], "theorem2")
    assert exact["theorem_killed"] is False  # within the floating-point tolerance
    one_seed = analyse([_evidence([5.0], False)], "theorem2", FakeRunner(lambda e: [5.0]))
    assert one_seed["theorem_killed"] is False  # one noisy seed: no interval, no kill
    far = list(np.linspace(0.80, 0.84, 8))
    noisy = analyse([_evidence(far, False)], "theorem2", FakeRunner(lambda e: np.linspace(0.80, 0.84, 64)))
    assert noisy["theorem_killed"] is True  # every seed far above 0.7, on its own seeds and on fresh ones
    assert noisy["theorem_closest"]["confirmation"]["killed"] is True


def test_a_chance_flag_on_the_search_seeds_is_not_a_kill_a_confirmed_one_is():
    """A valid bound (Theorem 2 itself, 0.7 here) that a noisy run tops on its own seeds by chance
    is not killed when the same run on fresh seeds does not top it; a run that tops it on fresh
    seeds too still kills. Deterministic kills need no confirmation."""
    lucky = _evidence(list(np.linspace(0.72, 0.76, 8)), False)        # lower 95% end above 0.7
    assert lucky.lower > 0.7
    without = analyse([lucky], "theorem2")                            # nothing to confirm with: no kill
    assert without["theorem_killed"] is False
    chance = FakeRunner(lambda e: np.linspace(0.55, 0.85, 64))        # fresh seeds: mean 0.70, lower below
    report = analyse([lucky], "theorem2", chance)
    assert report["theorem_killed"] is False and chance.asked == [["crafted"]]
    confirmation = report["theorem_closest"]["confirmation"]
    assert confirmation["killed"] is False and confirmation["seeds"] == 64 and confirmation["ci_low"] < 0.7
    genuine = FakeRunner(lambda e: np.linspace(0.73, 0.77, 64))
    report = analyse([lucky], "theorem2", genuine)
    assert report["theorem_killed"] is True and report["theorem_closest"]["confirmation"]["ci_low"] > 0.7
    # the mutants the lucky run flags are judged the same way: init/2 (0.6) is killed only when confirmed
    by_name = {m["name"]: m for m in analyse([lucky], "theorem2", chance)["mutants"]}
    assert by_name["noise/2"]["killed"] is True                       # 0.45: fresh mean 0.70 tops it too
    assert by_name["init/2"]["confirmation"]["bound"] == pytest.approx(0.6)
    deterministic = FakeRunner(lambda e: pytest.fail("a deterministic run needs no confirmation"))
    assert analyse([_evidence([0.2 * (1 + 1e-6)], True)], "theorem2", deterministic)["theorem_killed"] is True


def test_one_confirmation_per_mutant_the_run_selected_on_its_own_seeds():
    """Of several noisy runs that flag a bound, only the one with the largest margin on its own
    seeds is re-run, and it alone decides: the false-kill chance does not grow with the runs."""
    runs = [dataclasses.replace(_evidence(list(np.linspace(low, low + 0.04, 8)), False), source=f"run {low}")
            for low in (0.72, 0.75, 0.73)]
    runner = FakeRunner(lambda e: np.linspace(0.5, 0.6, 64))
    report = analyse(runs, "theorem2", runner)
    assert report["theorem_killed"] is False and report["theorem_closest"]["by"] == "run 0.75"
    assert "run 0.75" in runner.asked[0] and "run 0.72" not in runner.asked[0] and len(runner.asked) == 1
    with pytest.raises(ValueError, match="ran another instance"):
        analyse(runs, "theorem2", lambda batch: [dataclasses.replace(e, instance=dataclasses.replace(
            e.instance, T=11)) for e in batch])


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


def test_every_noisy_kill_and_noisy_best_ratio_comes_from_fresh_seeds(quick):
    """In the quick report: each mutant a noisy run kills names its confirmation (64 seeds from the
    run's root seed + 10**6, lower 95% end above the mutant's bound); each noisy best ratio per
    term is measured on such seeds, and a witness at its own step and horizon measures exactly
    its library value (the same fresh seeds)."""
    from empirical.studies.witnesses import (
        FRESH_SEED_OFFSET,
        FRESH_SEEDS,
        load_witnesses,
    )

    assert (CONFIRM_OFFSET, CONFIRM_SEEDS) == (FRESH_SEED_OFFSET, FRESH_SEEDS)
    out, report = quick
    assert "fresh seeds" in report["rule"] and "two stages" in report["rule"]
    noisy = [m for m in report["mutants"] if m["killed"] and not m["deterministic"]]
    assert noisy, "the quick evidence kills some mutant with a noisy run"
    for m in noisy:
        c = m["confirmation"]
        assert c["killed"] and c["seeds"] == CONFIRM_SEEDS and c["seed"] >= CONFIRM_OFFSET
        assert c["ci_low"] > c["bound"] and m["margin"] == pytest.approx(c["ci_low"] / c["bound"] - 1)
    assert report["confirmations"]["confirmed"] == len(noisy)
    library = {(w["term"], w["instance"]["P"]): w for w in load_witnesses()}
    for name in ("level_1_noise", "level_2_noise"):
        info = report["terms"][name]
        assert info["fresh"] and info["measured"]["seeds"] == CONFIRM_SEEDS
        assert info["measured"]["seed"] >= CONFIRM_OFFSET
    info = report["terms"]["level_2_noise"]
    entry = library[("level_2_noise", 10)]
    assert info["witness"] == f"witness level_2_noise, P = 10 (own step, T = {entry['T']})" and entry["T"] <= 600
    assert info["best_ratio"] == pytest.approx(entry["ratio_bound"], rel=1e-12)
    stored = list((out / "power_runs_quick").glob("*.json"))  # confirmations are cached runs of the sweep
    assert sum('"seed_offset"' in p.read_text() for p in stored) >= report["confirmations"]["runs"] > 0


def test_f8_marks_a_kill_only_where_the_rule_killed(quick):
    """F8 (resumed from the quick runs): every x of its kill matrix is a group holding a run that
    killed the mutant under the rule (deterministic, or confirmed on fresh seeds), and its line says so."""
    from figures.paper.f8_power import draw_f8, f8_data, summary

    out, _ = quick
    data = f8_data(out, quick=True)
    theory = data["theory"]
    for m in theory["mutants"]:
        assert set(m["killed_in"]) <= set(theory["groups"]) and bool(m["killed_in"]) == m["killed"]
        if m["killed"] and not m["deterministic"]:  # one run decides: its confirmation's group alone
            assert len(m["killed_in"]) == 1 and m["confirmation"]["killed"]
    assert "confirmed on 64 fresh seeds" in summary(data) and "fresh seeds)" in summary(data)
    draw_f8(data)
