"""The default ``record_every`` (issue 20): about 1,000 records per run, unless a caller needs
every step and says so.

``simulate(..., record_every=None)`` records every ``max(1, steps // 1000)``-th step
(:func:`empirical.default_record_every`); ``hsgd simulate`` follows the same rule; every caller
in the package names its ``record_every`` (the checker, power, the audits and the paper's
figures average over every step: 1).
"""

import ast
import json
import pathlib

import numpy as np
import pytest

import empirical as E
from empirical.batch import simulate_batch
from empirical.engine import RECORDS, default_record_every
from figures.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("steps, every", [(1, 1), (999, 1), (1999, 1), (2000, 2), (2999, 2), (3000, 3),
                                          (10**6, 1000), (10**6 + 999, 1000)])
def test_the_rule(steps, every):
    assert default_record_every(steps) == every
    records = -(-steps // every)
    assert records == steps if steps < 2 * RECORDS else RECORDS <= records < 2 * RECORDS


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_the_rule_refuses_what_is_not_a_step_count(bad):
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        default_record_every(bad)


def test_simulate_records_about_a_thousand_steps_by_default():
    p = E.HeterogeneousNonconvex(n=4, d=2, seed=1)
    h = E.Hierarchy.two_level(4, 2, 2, 4)
    r = E.simulate(p, h, lr=0.01, steps=2500, seeds=2)
    assert r.config["record_every"] == 2 and r.steps.tolist() == list(range(0, 2500, 2))
    every = E.simulate(p, h, lr=0.01, steps=2500, seeds=2, record_every=1)
    assert every.steps.size == 2500
    np.testing.assert_array_equal(r.grad_norm_sq, every.grad_norm_sq[:, ::2])  # the same run, every 2nd row
    short = E.simulate(p, h, lr=0.01, steps=1999, seeds=1)
    assert short.config["record_every"] == 1 and short.steps.size == 1999


def test_simulate_batch_follows_the_same_rule():
    ps = [E.HeterogeneousNonconvex(n=4, d=2, within=w, seed=1) for w in (0.5, 2.0)]
    h = E.Hierarchy.two_level(4, 2, 2, 4)
    rs = simulate_batch(ps, h, [0.01, 0.02], steps=2100, seeds=2)
    single = E.simulate(ps[1], h, 0.02, 2100, seeds=2)
    assert rs[1].config == single.config and rs[1].config["record_every"] == 2
    np.testing.assert_array_equal(rs[1].grad_norm_sq, single.grad_norm_sq)


def test_hsgd_simulate_follows_the_rule_and_says_so(capsys):
    args = ["simulate", "--n", "4", "--d", "2", "--N", "2", "--I", "2", "--G", "4", "--seeds", "2", "--lr", "0.01",
            "--json", "--no-progress"]
    assert main(args + ["--steps", "3000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["record_every"] == 3
    assert "every 3rd step: 1000 of the T = 3000 steps" in summary["avg_grad_norm_sq"]["averaged_over"]
    assert main(args + ["--steps", "3000", "--record-every", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["avg_grad_norm_sq"]["averaged_over"] == "every step t < T = 3000"
    assert main(["simulate", "--help"]) == 0
    assert "max(1, steps // 1000)" in " ".join(capsys.readouterr().out.split())


def _callers_without_record_every():
    """Every call of ``simulate`` / ``simulate_batch`` in the packages (not the tests) that
    does not name ``record_every``, as ``"path:line"``; ``pool.submit(simulate, ...)`` counts."""
    missing = []
    for package in ("bounds", "empirical", "figures"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                names = [node.func] + list(node.args[:1])
                called = {n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", None) for n in names}
                if not called & {"simulate", "simulate_batch"}:
                    continue
                if "record_every" not in {k.arg for k in node.keywords}:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return missing


def test_every_caller_in_the_package_names_its_record_every():
    assert _callers_without_record_every() == []


def test_the_caller_check_finds_a_call_without_it(tmp_path, monkeypatch):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "x.py").write_text("r = simulate(p, h, lr=1, steps=5)\nf = pool.submit(simulate, p, h)\n"
                                              "ok = simulate(p, h, lr=1, steps=5, record_every=1)\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _callers_without_record_every() == ["figures/x.py:1", "figures/x.py:2"]
