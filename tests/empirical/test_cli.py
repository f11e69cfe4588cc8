"""``hsgd simulate`` and ``hsgd bench engine`` as a user runs them."""

import json

import numpy as np
import pytest

import bounds
import empirical as E
from figures.cli import main


def test_simulate_json_matches_the_library(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["simulate", "--n", "8", "--d", "3", "--N", "2", "--I", "2", "--G", "4", "--steps", "40",
                 "--seeds", "3", "--lr", "0.01", "--json", "--no-progress", "--out", str(out)])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    p = E.HeterogeneousNonconvex(n=8, d=3)
    r = E.simulate(p, E.Hierarchy.two_level(8, 2, 2, 4, grouping="random"), lr=0.01, steps=40, seeds=3)
    assert summary["avg_grad_norm_sq"]["mean"] == r.average_grad_norm_sq().mean()
    lo, hi = summary["avg_grad_norm_sq"]["ci95"]
    assert lo < summary["avg_grad_norm_sq"]["mean"] < hi
    assert summary["constants"]["L"] == {"value": 9.0, "kind": "exact", "note": "", "label": "exact"}
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
                 "--steps", "12", "--seeds", "2", "--lr", "0.01", "--json", "--no-progress"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["constants"]["sigma"]["label"].startswith("estimated")
    p = E.FiniteSumLogistic(n=8, d=3)
    a = E.simulate(p, E.Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=12, seeds=2, seed=0)
    assert summary["avg_grad_norm_sq"]["mean"] == a.average_grad_norm_sq().mean()
    assert not np.array_equal(a.grad_norm_sq[0], a.grad_norm_sq[1])


def test_simulate_defaults_to_the_largest_step_size_the_condition_allows(capsys):
    """The default problem's L = 9 and periods 5, 50 allow gamma <= 1/(2 L sqrt(5*4 + 50*49)) = 0.00112, not 0.01."""
    code = main(["simulate", "--steps", "50", "--seeds", "2", "--json", "--no-progress"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    expected, limiting = bounds.largest_step_size(bounds.multi_level([5, 50], [4]), L=9)
    assert code == 0 and captured.err == ""
    assert summary["lr"] == pytest.approx(1 / (2 * 9 * (5 * 4 + 50 * 49) ** 0.5), rel=1e-12)
    assert summary["lr"] == expected and summary["condition_holds"] is True
    assert "largest step size" in summary["lr_rule"] and limiting in summary["lr_rule"]
    code = main(["simulate", "--steps", "50", "--seeds", "2", "--no-progress"])
    assert f"lr = {expected:.6g}: the largest step size the condition {limiting} allows" in capsys.readouterr().out


def test_simulate_warns_when_a_given_lr_breaks_the_condition(capsys):
    code = main(["simulate", "--steps", "50", "--seeds", "2", "--lr", "0.01", "--json", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0 and json.loads(captured.out)["condition_holds"] is False
    warning = captured.err.strip()
    assert warning.startswith("hsgd: warning: lr = 0.01 breaks the step-size condition 4*gamma^2*L^2*(5*4 + 50*49) <= 1")
    assert "80.03 > 1" in warning and "8.95 times" in warning and len(captured.err.splitlines()) == 1
    main(["simulate", "--steps", "50", "--seeds", "2", "--lr", "0.001", "--no-progress"])
    captured = capsys.readouterr()
    assert captured.err == "" and "lr = 0.001: given; within the step-size condition" in captured.out


def test_simulate_says_which_steps_were_averaged(capsys):
    """--record-every 7 averages the recorded steps only: the text says so, and the number is their mean."""
    argv = ["simulate", "--n", "8", "--d", "3", "--N", "2", "--I", "2", "--G", "4", "--steps", "40", "--seeds", "2",
            "--lr", "0.01", "--no-progress"]
    main(argv + ["--record-every", "7"])
    out = capsys.readouterr().out
    over = "the recorded steps t = 0, 7, ..., 35 (every 7th step: 6 of the T = 40 steps)"
    assert f"average ||grad f(u^t)||^2 over {over}" in out
    main(argv + ["--record-every", "7", "--json"])
    summary = json.loads(capsys.readouterr().out)
    r = E.simulate(E.HeterogeneousNonconvex(n=8, d=3), E.Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=40, seeds=2)
    assert summary["avg_grad_norm_sq"]["averaged_over"] == over
    assert summary["avg_grad_norm_sq"]["mean"] == r.grad_norm_sq[:, ::7].mean(axis=1).mean()
    assert summary["avg_grad_norm_sq"]["mean"] != r.average_grad_norm_sq().mean()
    main(argv)
    assert "average ||grad f(u^t)||^2 over every step t < T = 40:" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--I", "1", "--G", "1"], ["--periods", "1,1,1", "--groups", "2,1"]])
def test_all_periods_one_parse_and_run(capsys, argv):
    """The tight case of the tightness remark: every period 1 (H-SGD is then mini-batch SGD)."""
    code = main(["simulate", "--n", "8", "--d", "2", "--steps", "20", "--seeds", "2", "--json", "--no-progress"]
                + argv)
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["lr"] == pytest.approx(1 / 9) and summary["condition_holds"] is True


def test_simulate_out_creates_one_folder_at_most(capsys, tmp_path):
    argv = ["simulate", "--n", "8", "--d", "2", "--steps", "10", "--seeds", "2", "--no-progress", "--json"]
    assert main(argv + ["--out", str(tmp_path / "new" / "run")]) == 0
    assert (tmp_path / "new" / "run.npz").is_file()
    capsys.readouterr()
    assert main(argv + ["--out", str(tmp_path / "a" / "b" / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hsgd: error: --out ") and f"{tmp_path / 'a'}: folder does not exist" in err
    assert not (tmp_path / "a").exists()


def test_bench_engine_prints_each_row_as_it_is_measured(capsys, monkeypatch):
    """The first rows are on stdout before the later ones are measured (they were all printed at the end)."""
    from empirical import bench

    seen_before = {}

    def step_over_floor(n, d, s, **kw):
        seen_before["floor"] = capsys.readouterr().out  # what the user sees while this row is measured
        print(seen_before["floor"], end="")
        return {"n": n, "d": d, "seeds": s, "steps": 1, "min": 1.0, "median": 1.0, "engine_us": 1.0, "floor_us": 1.0}

    monkeypatch.setattr(bench, "step_over_floor", step_over_floor)
    for name in ("_engine_rate", "_loop_rate", "_bare_rate"):
        monkeypatch.setattr(bench, name, lambda *a, **k: 1.0)
    assert main(["bench", "engine", "--quick"]) == 0
    assert "engine vs per-worker loop" in seen_before["floor"] and "    64     10" in seen_before["floor"]
    out = capsys.readouterr().out
    assert "another core kept busy" in out and "seeds=256 n=10 d=8" in out


def test_busy_core_spins_a_process_while_the_rows_run_and_stops_it():
    import multiprocessing

    from empirical.bench import busy_core, busy_recording_ratio

    assert multiprocessing.active_children() == []
    with busy_core():
        (spinner,) = multiprocessing.active_children()
        assert spinner.is_alive()
    assert not spinner.is_alive() and multiprocessing.active_children() == []
    row = busy_recording_ratio(8, 2, 4, repeats=1, seconds=0.01)
    assert row["recorded_us"] > 0 and row["free_us"] > 0
    assert row["min"] == pytest.approx(row["recorded_us"] / row["free_us"], rel=1e-12)
    assert multiprocessing.active_children() == []
