"""Tests of the proof-step audit (empirical.studies.audit): both sides of every link of Theorem 2's derivation.

Exact links (the gradient gap always; every link when sigma = 0) are checked on every seed and
step with a floating-point tolerance; links that hold only in expectation on the mean over many
seeds with its standard error. Every test also shows a wrong input (a wrong constant or step
size) that the same check rejects.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from empirical.studies.audit import RTOL, audit_run
from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.constants import Constant
from empirical.problems.witness import KinkProblem, QuadraticProblem
from empirical.studies.witnesses import build, edge_step, load_witnesses


class WrongConstants:
    """A problem whose constants are replaced (``L``, ``sigma``, one ``eps_l`` or ``f*``): a wrong input."""

    def __init__(self, problem, **changes):
        self._problem, self._changes = problem, changes

    def __getattr__(self, name):
        return getattr(self._problem, name)

    def constants(self, levels=()):
        c = self._problem.constants(levels)
        out = {}
        for key, value in self._changes.items():
            if key == "eps_levels":
                out[key] = tuple(Constant(v, "given") for v in value)
            else:
                out[key] = Constant(value, "given")
        return dataclasses.replace(c, **out)


def witness(term="level_1_heterogeneity", P=5):
    entry = next(w for w in load_witnesses() if w["term"] == term and w["instance"]["P"] == P)
    problem, hierarchy = build(entry)
    return entry, problem, hierarchy


def audit_witness(problem=None, **overrides):
    entry, p, h = witness()
    return audit_run(problem or p, h, overrides.get("lr", entry["gamma"]), overrides.get("steps", 200),
                     seeds=1, x0=entry["x0"])


def gap_holds_pointwise(audit) -> bool:
    g = audit.inequalities["gradient_gap"]
    return bool(np.all(g.right - g.left >= -RTOL * g.scale))


# ----------------------------------------------------------------------------- the gradient gap (A1)
def test_gradient_gap_holds_pointwise_on_every_step_and_seed():
    p = KinkProblem(b=[[1.0, -0.5], [-1.0, 0.5], [0.3, 0.2], [-0.3, -0.2]], c=-0.2, L=1.5, a=0.7, sigma=0.0)
    h = Hierarchy.two_level(4, 2, 2, 6, [0, 0, 1, 1])
    a = audit_run(p, h, lr=0.05, steps=120, seeds=3, x0=[0.0, 0.0])   # workers straddle the kink
    g = a.inequalities["gradient_gap"]
    assert g.kind == "exact"
    assert gap_holds_pointwise(a) and a.summary()["gradient_gap"]["holds"] is True
    # the chain in between: Jensen (gap <= middle), then A1 (middle <= L^2 spread)
    assert np.all(a.gap <= a.gap_middle * (1 + 1e-9) + 1e-15)
    assert np.all(a.gap_middle <= p.L**2 * a.spread * (1 + 1e-9) + 1e-15)
    # Lemma 1: the spread is the sum of the engine's level divergences
    np.testing.assert_allclose(a.spread, a.divergence.sum(axis=-1), rtol=1e-9, atol=1e-15)
    # a wrong L (4x too small; the worst step's slack here is 3.07) is rejected by the same check
    assert 3.0 < a.summary()["gradient_gap"]["worst_ratio"] < 4.0
    wrong = audit_run(WrongConstants(p, L=0.25 * p.L), h, lr=0.05, steps=120, seeds=3, x0=[0.0, 0.0])
    assert not gap_holds_pointwise(wrong) and wrong.summary()["gradient_gap"]["holds"] is False


def test_gradient_gap_on_the_witness_is_tight_and_a_10_percent_smaller_L_fails():
    a = audit_witness()
    s = a.summary()["gradient_gap"]
    assert s["holds"] is True and 1.0 <= s["worst_ratio"] < 1.02      # the kink: A1 nearly tight
    _, p, _ = witness()
    wrong = audit_witness(WrongConstants(p, L=0.9 * p.L))
    assert wrong.summary()["gradient_gap"]["holds"] is False


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(b=st.lists(st.floats(-2, 2), min_size=8, max_size=8), c=st.floats(-1, 1), a=st.floats(0, 2),
       L=st.floats(0.2, 3), I=st.sampled_from([1, 2, 3]), mult=st.sampled_from([1, 2, 3]),
       frac=st.floats(0.05, 1.0), x0=st.lists(st.floats(-2, 2), min_size=2, max_size=2))
def test_every_link_holds_exactly_without_noise(b, c, a, L, I, mult, frac, x0):
    """sigma = 0: no step of the derivation takes an expectation, so every link holds on every
    step of every run inside the step-size condition (the kink family, exact constants)."""
    p = KinkProblem(b=np.reshape(b, (4, 2)), c=c, L=L, a=a)
    h = Hierarchy.two_level(4, 2, I, I * mult, [0, 0, 1, 1])
    lr = frac * edge_step(h.periods, L)
    audit = audit_run(p, h, lr=lr, steps=3 * I * mult + 2, seeds=1, x0=x0)
    for name, s in audit.summary().items():
        if s["kind"] != "charge":
            assert s["kind"] == "exact" and s["holds"] is True, (name, s["detail"])
    assert audit.totals["condition"]


# ----------------------------------------------------------------------------- the descent step
def quadratic_audit(problem, lr, seeds, periods=1, steps=20):
    return audit_run(problem, Hierarchy.local_sgd(problem.n, periods), lr=lr, steps=steps, seeds=seeds, x0=[1.0])


def test_descent_step_holds_in_expectation_and_a_smaller_sigma_is_rejected():
    """f = (L/2)x^2, 4 workers, Rademacher noise (||xi|| = sigma exactly), gamma = 1/L, period 1:
    the descent step holds with equality in expectation, so its slack's mean must be within
    3 SE of 0 from above; claiming sigma 10% smaller makes it fail by many SE."""
    p = QuadraticProblem(n=4, d=1, L=1.0, sigma=1.0)
    a = quadratic_audit(p, lr=1.0, seeds=2000)
    s = a.summary()["descent"]
    assert s["kind"] == "expectation" and s["holds"] is True
    gap = (a.inequalities["descent"].right - a.inequalities["descent"].left).sum(axis=1)
    se = gap.std(ddof=1) / math.sqrt(gap.size)
    assert abs(gap.mean()) <= 3 * se            # equality in expectation: not only >= -3 SE
    wrong = quadratic_audit(WrongConstants(p, sigma=0.9), lr=1.0, seeds=2000)
    assert wrong.summary()["descent"]["holds"] is False


def test_descent_step_dominates_the_exact_conditional_expectation_on_a_quadratic():
    """On f = (L/2)x^2 with period 1, E[f(u^{t+1}) | F_t] = (1 - gamma L)^2 f(u^t) + L gamma^2 sigma^2/(2n)
    exactly; the descent step's right side must dominate it on every step of every seed."""
    p = QuadraticProblem(n=4, d=1, L=2.0, sigma=1.0)

    def dominates(audit, L=2.0, sigma=1.0, n=4, lr=0.2):
        d = audit.inequalities["descent"]
        original_right = d.right - d.left + audit.loss[:, 1:]        # f(u^t) - ... + budget
        expected_left = (1 - lr * L) ** 2 * audit.loss[:, :-1] + L * lr**2 * sigma**2 / (2 * n)
        return bool(np.all(original_right - expected_left >= -1e-12))

    assert dominates(quadratic_audit(p, lr=0.2, seeds=8))
    assert not dominates(quadratic_audit(WrongConstants(p, L=1.0), lr=0.2, seeds=8))


def test_the_tight_case_reports_factor_one_and_a_smaller_step_does_not():
    """docs/theory.md, tightness: periods 1, gamma = 1/L, f = (L/2)x^2, sigma = 0. The descent step
    and its sum hold with equality, and the audit says so: every factor is 1."""
    def tight(audit) -> bool:
        d, s = audit.inequalities["descent"], audit.inequalities["descent_summed"]
        f = audit.factors()
        return (abs(d.ratio()[0] - 1) < 1e-12 and np.allclose(s.ratio(), 1.0, rtol=1e-12)
                and all(abs(f[k] - 1) < 1e-12 for k in ("theorem_over_measured", "descent_chain", "per_step",
                                                        "telescoping")))

    p = QuadraticProblem(n=1, d=1, L=2.0, sigma=0.0)
    a = quadratic_audit(p, lr=0.5, seeds=1, steps=6)
    assert tight(a)
    assert np.all(np.isnan(a.inequalities["descent"].ratio()[1:]))   # u = 0 after one step: 0 = 0
    assert all(s["holds"] for s in a.summary().values() if s["kind"] != "charge")
    assert not tight(quadratic_audit(p, lr=0.25, seeds=1, steps=6))          # not the tight case
    assert not tight(quadratic_audit(WrongConstants(p, f_star=-1.0), lr=0.5, seeds=1, steps=6))  # a wrong f*


# ----------------------------------------------------------------------------- levels, windows, doubling
def test_the_witness_loses_4_in_the_lemma_and_2_in_the_doubling_and_a_wrong_eps_fails():
    """The kink witness of level-1 heterogeneity: lemma (2) holds with slack 4 (the two
    ||a+b||^2 <= 2||a||^2 + 2||b||^2 splits), the doubling costs 2 (c is small); with eps_1
    claimed at 0.45 instead of 1 the lemma fails on the same run."""
    a = audit_witness()
    s = a.summary()
    assert s["level_1_lemma"]["holds"] is True and 3.99 < s["level_1_lemma"]["median_ratio"] < 4.01
    assert s["level_1_window"]["holds"] is True and 3.99 < s["level_1_window"]["worst_ratio"] < 4.01
    assert 1.99 < a.factors()["doubling"] < 2.0
    assert s["level_2_lemma"]["median_ratio"] is None     # no level-2 divergence on this witness
    _, p, _ = witness()
    wrong = audit_witness(WrongConstants(p, eps_levels=(0.45, 0.0)))
    assert wrong.summary()["level_1_lemma"]["holds"] is False


def test_totals_match_theorem_2_and_the_factors_multiply():
    entry, p, h = witness("level_1_heterogeneity", 2)
    T = 37                                               # not a multiple of any period
    a = audit_run(p, h, entry["gamma"], T, seeds=1, x0=entry["x0"])
    c = p.constants(h.levels)
    b = h.shape.bound()
    expected = b.evaluate(strict=False, gamma=entry["gamma"], L=c.L.value, sigma=c.sigma.value, n=p.n, T=T,
                          F0=a.constants["F0"], eps=[e.value for e in c.eps_levels])
    assert a.totals["theorem2"] == pytest.approx(expected, rel=1e-12)
    assert a.totals["theorem2"] != pytest.approx(2 * expected, rel=1e-3)
    f = a.factors()
    assert f["theorem_over_measured"] == pytest.approx(f["descent_chain"] * f["divergence_chain"], rel=1e-12)
    assert f["descent_chain"] == pytest.approx(f["telescoping"] * f["per_step"], rel=1e-12)
    assert f["doubling_total"] == pytest.approx(f["windows"] * f["doubling"], rel=1e-12)
    slack = a.descent_slack()
    assert slack["total"] == pytest.approx(slack["dropped"] + slack["gradient_gap"] + slack["rest"], rel=1e-12)
    assert slack["dropped"] >= 0 and slack["gradient_gap"] >= 0


def test_partial_windows_are_cut_at_T():
    p = KinkProblem(b=[1.0, -1.0, 1.0, -1.0], c=-0.1, L=1.0, a=0.5)
    a = audit_run(p, Hierarchy.two_level(4, 2, 3, 6, [0, 0, 1, 1]), lr=0.05, steps=8, seeds=1, x0=[0.2])
    assert a.inequalities["level_1_window"].index.tolist() == [0, 3, 6]
    assert a.inequalities["level_2_window"].index.tolist() == [0, 6]
    np.testing.assert_allclose(a.inequalities["level_1_window"].left[0],
                               [a.divergence[0, 0:3, 0].sum(), a.divergence[0, 3:6, 0].sum(),
                                a.divergence[0, 6:8, 0].sum()])


# ----------------------------------------------------------------------------- the engine hook and bad input
def test_the_observer_sees_every_recorded_step_read_only_and_changes_nothing():
    p = KinkProblem(b=[1.0, -1.0, 1.0, -1.0], c=-0.1, L=1.0, a=0.5, sigma=0.0)
    h = Hierarchy.two_level(4, 2, 2, 4, [0, 0, 1, 1])
    seen = []

    def observer(t, x, u):
        seen.append((t, x.shape, u.shape))
        with pytest.raises(ValueError):
            x[...] = 0.0                                   # the live state is read-only

    r0 = simulate(p, h, 0.1, 10, seeds=2, x0=[0.3], record_every=3)
    r1 = simulate(p, h, 0.1, 10, seeds=2, x0=[0.3], record_every=3, observer=observer)
    assert [s[0] for s in seen] == [0, 3, 6, 9] and seen[0][1:] == ((2, 4, 1), (2, 1))
    np.testing.assert_array_equal(r0.grad_norm_sq, r1.grad_norm_sq)
    np.testing.assert_array_equal(r0.divergence, r1.divergence)


@pytest.mark.parametrize("kwargs, word", [(dict(lr=0.0), "lr"), (dict(lr=float("nan")), "lr"), (dict(lr=True), "lr"),
                                          (dict(steps=0), "steps"), (dict(steps=2.5), "steps"),
                                          (dict(seeds=True), "seeds"), (dict(seeds=0), "seeds")])
def test_bad_input_names_the_parameter(kwargs, word):
    p = QuadraticProblem(n=2, d=1)
    args = dict(lr=0.1, steps=5, seeds=1) | kwargs
    with pytest.raises(ValueError, match=rf"^{word} must be"):
        audit_run(p, Hierarchy.local_sgd(2, 1), **args)
