"""``hsgd replay``: the authors' semantics, the claims' verdicts, bad input, the command end to end."""

import json
from unittest import mock

import numpy as np
import pytest

from empirical.partitions import class_partition, group_iid_partition
from empirical.problems.digits import digits_train_labels
from figures.cli import main
from figures.replay import (AUTHORS, MODE, RUNS, SETUPS, _run, claims, final_values, replay, replay_hierarchies,
                            replay_problem)
from figures.verdicts import NOT_APPLICABLE


@pytest.fixture(scope="module")
def tiny():
    """The smallest replay that forms intervals: 2 rounds, 3 seeds, every setup."""
    return replay(rounds=2, seeds=3, seed=5)


# --- the semantics -------------------------------------------------------------------------------
def test_one_class_per_worker_and_contiguous_groups_group_0_holds_classes_0_to_4():
    problem = replay_problem("group_non_iid")
    assert problem.classes == [[c] for c in range(10)]
    h = replay_hierarchies("group_non_iid")["hsgd"]
    assert h.levels[0].tolist() == [0] * 5 + [1] * 5 and h.periods == (10, 50)
    labels = digits_train_labels()
    assert sorted(set(labels[np.concatenate(problem.partition[:5])].tolist())) == [0, 1, 2, 3, 4]
    assert problem.sizes.sum() == labels.size  # every training image, weighted by data share
    assert np.allclose(problem.weights, problem.sizes / problem.sizes.sum())


def test_three_level_has_two_workers_per_class_four_groups_in_two_teams():
    problem = replay_problem("three_level")
    assert problem.classes == [[c] for c in range(10) for _ in range(2)]
    h = replay_hierarchies("three_level")["hsgd"]
    assert h.periods == (10, 50, 250)
    assert h.levels[0].tolist() == np.repeat(np.arange(4), 5).tolist()
    assert h.levels[1].tolist() == np.repeat(np.arange(2), 10).tolist()


def test_group_iid_is_the_authors_cifar_giid():
    """Workers i and i + 5 hold classes i and i + 5, from the two random halves; each group all ten."""
    problem = replay_problem("group_iid")
    assert problem.classes == [[i, i + 5] for i in range(5)] * 2
    labels = digits_train_labels()
    for g in range(2):
        group = np.concatenate(problem.partition[5 * g:5 * g + 5])
        assert sorted(set(labels[group].tolist())) == list(range(10))
    halves = [np.concatenate(problem.partition[:5]), np.concatenate(problem.partition[5:])]
    assert not set(halves[0]) & set(halves[1]) and abs(len(halves[0]) - len(halves[1])) <= 1


def test_partitioners_reject_impossible_shapes_naming_the_parameter():
    y = np.repeat(np.arange(10), 20)
    with pytest.raises(ValueError, match="n must be a multiple of the 10 classes"):
        class_partition(y, 15)
    with pytest.raises(ValueError, match="n must be a multiple of N"):
        group_iid_partition(y, 10, 3, seed=0)


def test_comparators_sample_from_the_same_groups_and_every_run_is_local_round_with_s_1():
    for name in SETUPS:
        hs = replay_hierarchies(name)
        h = hs["hsgd"]
        assert hs["local_I"].periods == (h.periods[0],) * h.M and hs["local_G"].periods == (h.periods[-1],) * h.M
        for run in RUNS:
            assert [lab.tolist() for lab in hs[run].levels] == [lab.tolist() for lab in h.levels]
    seen = []
    import empirical.engine as engine

    real = engine.simulate

    def spy(*args, **kwargs):
        seen.append((kwargs["participation"], kwargs["participation_mode"]))
        return real(*args, **kwargs)

    with mock.patch.object(engine, "simulate", spy):
        out = _run("group_non_iid", "hsgd", 50, 1, 0, AUTHORS["lr"])
    assert seen == [(1, MODE)] and MODE == "local_round"
    assert out["participation"] == 1 and out["participation_mode"] == "local_round"


def test_the_data_record_the_semantics(tiny):
    assert tiny["config"]["participation_mode"] == "local_round"
    for name, s in tiny["setups"].items():
        assert s["participation"] == 1
        for run in RUNS:
            r = s["runs"][run]
            assert r["participation_mode"] == "local_round" and r["participation"] == 1
            assert np.asarray(r["loss"]).shape == (3, 3) and len(r["final_loss"]) == 3
    assert tiny["setups"]["three_level"]["runs"]["hsgd"]["rounds"] == [0.0, 0.2, 0.4]


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [(dict(rounds=0), "rounds"), (dict(seeds=1.5), "seeds"),
                                          (dict(seed=-1), "seed"), (dict(lr=float("nan")), "lr"),
                                          (dict(setups=["four_level"]), "setups"), (dict(setups="group_iid"), "setups")])
def test_wrong_input_is_rejected_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        replay(**kwargs)


@pytest.mark.parametrize("option, value", [("--rounds", "0"), ("--seeds", "two"), ("--seed", "-3"), ("--lr", "0")])
def test_the_command_rejects_bad_values_in_one_line(option, value, capsys):
    assert main(["replay", option, value, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hsgd: error: replay: argument " + option) and err.count("\n") == 1


# --- the verdicts ------------------------------------------------------------------------------
def _setup(local_I, hsgd, local_G):
    return {"periods": [10, 50], "runs": {k: {"final_loss": list(v), "final_accuracy": [1 - x for x in v]}
                                           for k, v in zip(RUNS, (local_I, hsgd, local_G))}}


def test_a_planted_ordering_is_detected():
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.05, 8)
    planted = _setup(base, base + 0.2, base + 1.0)  # H-SGD at 20% of the gap: between, closes 80%
    v = claims({"group_non_iid": planted, "group_iid": _setup(base - 0.1, base + 0.1, base + 0.5)})
    assert v["group_non_iid/a/loss"].holds is True and v["group_non_iid/a/accuracy"].holds is True
    assert v["group_non_iid/c/loss"].holds is True and "fraction closed 0.8," in v["group_non_iid/c/loss"].detail
    assert v["b/loss"].holds is True and v["b/accuracy"].holds is True  # group-IID's H-SGD lower by 0.1
    reversed_ = claims({"group_non_iid": _setup(base, base + 0.9, base + 1.0)})
    assert reversed_["group_non_iid/c/loss"].holds is False  # closes only 10%: fails, decidedly
    outside = claims({"group_non_iid": _setup(base, base + 1.5, base + 1.0)})
    assert outside["group_non_iid/a/loss"].holds is False


def test_data_that_cannot_decide_are_inconclusive_never_holds():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    h = x + [0.5, -0.5, 0.5, -0.5]  # every paired difference has mean 0: no interval can exclude it
    g = h + [0.5, -0.5, -0.5, 0.5]
    v = claims({"group_non_iid": _setup(x, h, g), "group_iid": _setup(x, h + [-0.5, 0.5, 0.5, -0.5], g)})
    for key in ("group_non_iid/a/loss", "group_non_iid/c/loss", "b/loss"):
        assert v[key].holds is None and v[key].basis == "statistical", (key, v[key])
    assert "fraction is not resolved" in v["group_non_iid/c/loss"].detail
    one_seed = claims({"group_non_iid": _setup([1.0], [1.1], [2.0])})
    assert one_seed["group_non_iid/a/loss"].basis == NOT_APPLICABLE
    assert one_seed["group_non_iid/c/loss"].basis == NOT_APPLICABLE
    assert v["theorem"].basis == NOT_APPLICABLE and "estimated" in v["theorem"].detail


def test_final_values_average_the_last_tenth():
    assert final_values(np.arange(21.0)[None, :]).tolist() == [19.5]  # 20 points after the start: the last 2


# --- end to end --------------------------------------------------------------------------------
def test_same_seed_same_numbers(tiny):
    again = replay(rounds=2, seeds=3, seed=5, setups=["three_level"])
    assert again["setups"]["three_level"]["runs"] == tiny["setups"]["three_level"]["runs"]
    other = replay(rounds=2, seeds=3, seed=6, setups=["three_level"])
    assert other["setups"]["three_level"]["runs"]["hsgd"]["loss"] != tiny["setups"]["three_level"]["runs"]["hsgd"]["loss"]


def test_the_command_runs_end_to_end_and_writes_the_figure(tmp_path, capsys):
    out = tmp_path / "sub" / "rep"
    assert main(["replay", "--rounds", "1", "--seeds", "2", "--workers", "2", "--out", str(out), "--json",
                 "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {p.name for p in out.parent.iterdir()} == {"rep.png", "rep.pdf", "rep.json"}
    saved = json.loads((tmp_path / "sub" / "rep.json").read_text())
    assert saved == printed and set(saved["setups"]) == set(SETUPS)
    assert main(["replay", "--rounds", "1", "--seeds", "2", "--workers", "1", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "b/loss" in text and "not applicable" in text and "took " in text
    assert json.loads((tmp_path / "sub" / "rep.json").read_text())["setups"] == saved["setups"]  # pool = inline
