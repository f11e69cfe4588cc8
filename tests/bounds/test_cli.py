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
    (["bound", "multi-level", "--periods", "5,12"], "give --groups with 1 value(s)"),
    (["bound", "local", "--sigma", "-1"], "argument --sigma: must be a finite non-negative number, got '-1'"),
    (["bound", "two-level", "--T", "1e24"], "argument --T: must be an integer from 1 to 2**53 - 1, got '1e24'"),
    (["bound", "multi-level", "--periods", "5,,100"], "argument --periods: item 2 of '5,,100' is empty"),
    (["bound", "two-level", "--eps-total", "2"], "--eps-total applies only with --random-grouping"),
    (["bound", "multi-level", "--random-grouping", "--eps", "1,1,1"], "--eps is not used with --random-grouping"),
    (["bound", "sandwich", "--levels", "1"], "argument --levels: must be an integer from 2 to 10, got '1'"),
])
def test_bad_input_exits_2_with_one_clear_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_integers_parse_cleanly_in_any_notation(capsys):
    """--T 1e4 is the integer 10000 (the JSON says 10000, not 10000.0), and the bound is the library's."""
    code, out, _ = run(capsys, "bound", "two-level", "--T", "1e4", "--json")
    data = json.loads(out)
    assert code == 0 and data["parameters"]["T"] == 10000 and isinstance(data["parameters"]["T"], int)
    assert data["value"] == pytest.approx(bounds.two_level().evaluate(**DEFAULTS), rel=1e-12)


def test_optimal_lr_multi_level_passes_eps_as_a_list(capsys):
    code, out, err = run(capsys, "bound", "optimal-lr", "multi-level", "--json")
    assert code == 0, err
    data = json.loads(out)
    values = dict(L=1, sigma=1, n=64, T=10000, F0=10, eps=[1, 0.5, 0.25])
    assert data["parameters"]["eps"] == [1, 0.5, 0.25]
    b = bounds.multi_level([5, 25, 100], [16, 4])
    opt = bounds.optimal_lr(b, **values)
    assert data["gamma"] == pytest.approx(opt.gamma, rel=1e-9) and 0 < data["gamma"] <= data["gamma_max"]
    assert data["value"] == pytest.approx(b.evaluate(gamma=data["gamma"], **values), rel=1e-9)


def test_sandwich_levels_is_checked_against_its_help():
    assert main(["bound", "sandwich", "--levels", "2"]) == 0
    assert main(["bound", "sandwich", "--levels", "11"]) == 2


def test_bench_bounds_small(capsys):
    code, out, _ = run(capsys, "bench", "bounds", "--points", "20000", "--repeats", "1", "--subs-points", "5", "--json")
    data = json.loads(out)
    assert data["agrees_with_subs"] is True
    assert data["speedup_vs_subs"] > 1


def test_bound_with_theorem_s(capsys):
    assert main(["bound", "two-level", "--theorem", "sharp", "--json"]) == 0
    sharp = json.loads(capsys.readouterr().out)
    assert main(["bound", "two-level", "--json"]) == 0
    theory = json.loads(capsys.readouterr().out)
    assert sharp["bound"].startswith("Theorem S") and sharp["value"] < theory["value"]
    assert len(sharp["parameters"]["alpha"]) == 2 and sharp["condition_holds"]
    assert main(["bound", "local", "--theorem", "sharp"]) == 0
    assert "free parameters chosen" in capsys.readouterr().out
