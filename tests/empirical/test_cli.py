"""``hsgd simulate`` and ``hsgd bench engine`` as a user runs them."""

import json

import numpy as np

import empirical as E
from figures.cli import main


def test_simulate_json_matches_the_library(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["simulate", "--n", "8", "--d", "3", "--N", "2", "--I", "2", "--G", "4", "--steps", "40",
                 "--seeds", "3", "--json", "--no-progress", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    p = E.HeterogeneousNonconvex(n=8, d=3)
    r = E.simulate(p, E.two_level(8, 2, 2, 4, grouping="random"), lr=0.01, steps=40, seeds=3)
    assert summary["avg_grad_norm_sq"]["mean"] == r.average_grad_norm_sq().mean()
    lo, hi = summary["avg_grad_norm_sq"]["ci95"]
    assert lo < summary["avg_grad_norm_sq"]["mean"] < hi
    assert summary["constants"]["L"] == {"value": 9.0, "label": "exact"}
    saved = E.load_result(out)
    assert np.array_equal(saved.grad_norm_sq, r.grad_norm_sq)


def test_simulate_text_and_multi_level(capsys):
    code = main(["simulate", "--n", "16", "--d", "2", "--groups", "4,2", "--periods", "1,2,4", "--steps", "8",
                 "--seeds", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "3-level H-SGD" in out and "certified upper bound" in out and "eps_3" in out


def test_simulate_bad_input_is_one_clear_line(capsys):
    assert main(["simulate", "--G", "7", "--no-progress"]) == 2
    assert "G must be a multiple of I" in capsys.readouterr().err
    assert main(["simulate", "--groups", "4,2", "--no-progress"]) == 2
    assert "--groups and --periods go together" in capsys.readouterr().err


def test_bench_engine_quick_json(capsys):
    assert main(["bench", "engine", "--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["n"], c["d"]) for c in data["configs"]] == [(16, 10), (64, 10)]
    for c in data["configs"]:
        assert set(c) >= {"n", "d", "worker_steps_per_s", "speedup_vs_loop", "overhead_vs_bare"}
        assert c["worker_steps_per_s"] > 0
    assert data["peak_memory_state_copies"] > 1
    assert data["seed_streams_overhead"] > 0


def test_simulate_logistic_problem_runs_with_seed_streams(capsys):
    """The finite-sum problem draws its minibatches from the per-seed streams."""
    code = main(["simulate", "--problem", "logistic", "--n", "8", "--d", "3", "--N", "2", "--I", "2", "--G", "4",
                 "--steps", "12", "--seeds", "2", "--json", "--no-progress"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["constants"]["sigma"]["label"] == "estimated"
    p = E.FiniteSumLogistic(n=8, d=3)
    a = E.simulate(p, E.two_level(8, 2, 2, 4), lr=0.01, steps=12, seeds=2, seed=0)
    assert summary["avg_grad_norm_sq"]["mean"] == a.average_grad_norm_sq().mean()
    assert not np.array_equal(a.grad_norm_sq[0], a.grad_norm_sq[1])
