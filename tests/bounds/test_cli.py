"""``hsgd bound ...`` as a user runs it: the printed numbers are the library's."""

import json

import pytest

import bounds
from figures.cli import main

DEFAULTS = dict(gamma=0.01, L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_two_level_defaults_print_value_terms_and_condition(capsys):
    code, out, _ = run(capsys, "bound", "two-level")
    assert code == 0
    value = bounds.two_level().evaluate(**DEFAULTS)
    assert f"{value:.6g}" in out
    for term in ("init", "noise", "upward", "downward"):
        assert term in out
    assert out.count("holds") == 2


def test_two_level_json_matches_the_library(capsys):
    code, out, _ = run(capsys, "bound", "two-level", "--gamma", "0.005", "--G", "20", "--json")
    data = json.loads(out)
    expected = dict(DEFAULTS, gamma=0.005, G=20)
    assert data["value"] == pytest.approx(bounds.two_level().evaluate(**expected), rel=1e-12)
    assert data["parameters"] == expected
    assert sum(data["terms"].values()) == pytest.approx(data["value"], rel=1e-12)
    assert data["condition_holds"] is True


def test_failing_condition_is_reported_not_hidden(capsys):
    code, out, _ = run(capsys, "bound", "two-level", "--gamma", "0.1", "--json")
    data = json.loads(out)
    assert data["condition_holds"] is False
    assert [c["holds"] for c in data["conditions"]] == [True, False]
    code, out, _ = run(capsys, "bound", "two-level", "--gamma", "0.1")
    assert "NOT a guaranteed bound" in out


def test_latex_and_other_kinds(capsys):
    code, out, _ = run(capsys, "bound", "two-level", "--latex")
    assert out.strip() == bounds.two_level().latex()
    code, out, _ = run(capsys, "bound", "local", "--P", "10", "--eps", "2", "--json")
    expected = bounds.local_sgd().evaluate(gamma=0.01, L=1, sigma=1, n=32, T=10000, F0=10, P=10, eps=2)
    assert json.loads(out)["value"] == pytest.approx(expected, rel=1e-12)
    code, out, _ = run(capsys, "bound", "multi-level", "--periods", "5,25,100", "--groups", "16,4",
                       "--eps", "1,0.5,0.25", "--json")
    expected = bounds.multi_level([5, 25, 100], [16, 4]).evaluate(
        gamma=0.004, L=1, sigma=1, n=64, T=10000, F0=10, eps=[1, 0.5, 0.25])
    assert json.loads(out)["value"] == pytest.approx(expected, rel=1e-12)


def test_random_grouping_flag(capsys):
    code, out, _ = run(capsys, "bound", "two-level", "--random-grouping", "--eps-total", "2", "--json")
    values = {k: v for k, v in DEFAULTS.items() if k not in ("eps_g", "eps_l")}
    expected = bounds.random_grouping(bounds.two_level()).evaluate(**values, eps=2)
    assert json.loads(out)["value"] == pytest.approx(expected, rel=1e-12)


def test_optimal_lr(capsys):
    code, out, _ = run(capsys, "bound", "optimal-lr", "two-level", "--json")
    data = json.loads(out)
    opt = bounds.optimal.optimal_lr(bounds.two_level(), **{k: v for k, v in DEFAULTS.items() if k != "gamma"})
    assert data["gamma"] == pytest.approx(opt.gamma, rel=1e-9)
    assert data["value"] <= bounds.two_level().evaluate(**DEFAULTS)


def test_sandwich_command_prints_the_proofs(capsys):
    code, out, _ = run(capsys, "bound", "sandwich", "--levels", "3")
    assert code == 0
    assert "proof that the lower gap is >= 0" in out and "has only non-negative coefficients" in out


@pytest.mark.parametrize("argv, message", [
    (["bound", "two-level", "--G", "7"], "G must be a multiple of I"),
    (["bound", "two-level", "--N", "64"], "N must be at most n"),
    (["bound", "multi-level", "--periods", "5,12"], "groups must list the 1 intermediate group counts"),
    (["bound", "local", "--sigma", "-1"], "sigma must be non-negative"),
])
def test_bad_input_exits_2_with_one_clear_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_bench_bounds_small(capsys):
    code, out, _ = run(capsys, "bench", "bounds", "--points", "20000", "--repeats", "1", "--subs-points", "5", "--json")
    data = json.loads(out)
    assert data["agrees_with_subs"] is True
    assert data["speedup_vs_subs"] > 1
