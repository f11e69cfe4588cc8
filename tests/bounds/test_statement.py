"""The one statement type: theorems as data (bounds.statement), the registry (bounds.theorems),
parts derived from the sympy statement, and exact conditions (bounds.exact)."""

from __future__ import annotations

import textwrap
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import symbols as s
from bounds.exact import exact_conditions, exact_value
from bounds.federated import largest_step_size
from bounds.instance import Instance, step_size_condition, theorem_condition, theorem_terms
from bounds.statement import Statement
from bounds.theorems import REGISTRY, THEOREM_2, THEOREM_S, theorem

HIERARCHIES = [s.symbolic_hierarchy(1), s.symbolic_hierarchy(2), s.symbolic_hierarchy(3)]


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("hierarchy", HIERARCHIES, ids=["M=1", "M=2", "M=3"])
def test_every_registered_theorem_splits_its_terms_into_parts_that_sum_to_them(name, hierarchy):
    b = bounds.multi_level(*hierarchy, theorem=REGISTRY[name])
    for term, parts in b.parts.items():
        assert sp.simplify(sp.Add(*parts.values()) - b.terms[term]) == 0, (name, term)
    assert sp.simplify(sp.Add(*b.part_exprs.values()) - b.expr) == 0


def test_theorem_2_parts_are_the_noise_share_and_the_heterogeneity():
    b = bounds.local_sgd()
    factor = 2 * s.gamma**2 * s.L**2 * (s.P - 1)
    assert sp.simplify(b.parts["divergence"]["noise"] - factor * (s.n - 1) * s.sigma**2 / s.n) == 0
    assert sp.simplify(b.parts["divergence"]["heterogeneity"]
                       - factor * sp.Rational(2, 3) * (2 * s.P - 1) * s.eps**2) == 0


def test_a_statement_refuses_parts_of_a_term_it_does_not_have():
    with pytest.raises(ValueError, match="not a term"):
        Statement(terms={"init": s.F0}, conditions=(), parts={"noise": {"a": s.F0}})


def test_exact_conditions_reject_one_ulp_above_the_limit():
    """The largest admissible step size passes and the next float does not: no tolerance."""
    gamma = largest_step_size(1.0, (5, 50))
    assert step_size_condition(gamma, 1.0, (5, 50))
    assert not step_size_condition(float(np.nextafter(gamma, 1.0)), 1.0, (5, 50))
    checks = exact_conditions(bounds.multi_level([5, 50], [4]), dict(gamma=float(np.nextafter(gamma, 1.0)), L=1.0))
    assert [c.holds for c in checks] == [True, False]
    assert checks[1].lhs > checks[1].rhs and isinstance(checks[1].lhs, Fraction)


def test_theorem_s_conditions_in_the_limit_of_its_young_parameters():
    """Without alpha, beta: whether some alpha, beta meet c_l < 1, i.e. gamma^2 L^2 kappa_l < 1."""
    b = bounds.local_sgd().under(THEOREM_S)
    kappa = Fraction((10 - 2) * (10 + 1), 2)  # P = 10
    inside = float(1 / np.sqrt(float(kappa))) * 0.999
    assert all(c.holds for c in exact_conditions(b, dict(gamma=inside, L=1.0, P=10)))
    limit = exact_conditions(b, dict(gamma=inside * 1.01, L=1.0, P=10))
    assert [c.holds for c in limit] == [True, False] and limit[1].free_limit
    # at given alpha, beta the condition is the finite one, which is tighter
    fixed = exact_conditions(b, dict(gamma=inside, L=1.0, P=10, alpha=[1.0], beta=[1.0]))
    assert not fixed[1].holds and not fixed[1].free_limit


def test_exact_value_is_the_rational_value_of_the_float_evaluation():
    b = bounds.two_level()
    v = dict(gamma=0.001, L=1.5, sigma=0.5, n=32, T=1000, F0=2.0, N=4, I=5, G=50, eps_g=0.3, eps_l=1.1)
    assert float(exact_value(b, v)) == pytest.approx(b.evaluate(**v), rel=1e-15)


def test_instance_terms_and_conditions_read_the_statement():
    x = Instance(gamma=0.02, L=1.0, sigma=1.0, F0=1.0, n=8, T=100, periods=(2, 6), counts=(8, 2, 1), eps=(0.5, 1.0))
    direct = bounds.multi_level([2, 6], [2]).part_values(**x.values())
    assert theorem_terms(x) == pytest.approx(direct, rel=1e-14)
    sharp = theorem_terms(x, THEOREM_S)
    assert sum(sharp.values()) < sum(direct.values())
    assert theorem_condition(x) and theorem_condition(x, theorem=THEOREM_S)


def test_the_registry_resolves_names_files_and_modules(tmp_path):
    assert theorem("theorem2") is THEOREM_2 and theorem("sharp") is THEOREM_S and theorem(THEOREM_S) is THEOREM_S
    with pytest.raises(ValueError, match="unknown theorem 'theory2'"):
        theorem("theory2")
    own = tmp_path / "my_bound.py"
    own.write_text(textwrap.dedent('''
        import sympy as sp
        from bounds import symbols as s
        from bounds.statement import Condition, Statement, Theorem

        def state(levels):
            terms = {"init": 4 * s.F0 / (s.gamma * s.T)}
            for level in levels:
                terms[level.term] = s.gamma * s.L * level.eps_sq * level.period
            return Statement(terms=terms, conditions=(Condition("gamma*L <= 1/2", s.gamma * s.L, sp.Rational(1, 2)),))

        theorem = Theorem(name="mine", title="My bound", source="my notes", state=state)
        not_a_theorem = 3
    '''))
    mine = theorem(f"{own}:theorem")
    b = bounds.two_level(theorem=mine)
    assert b.title == "My bound (two-level H-SGD)" and list(b.terms) == ["init", "upward", "downward"]
    v = dict(gamma=0.1, L=1, sigma=0, n=8, T=10, F0=1, N=2, I=2, G=4, eps_g=1, eps_l=2)
    assert b.evaluate(**v) == pytest.approx(4 / (0.1 * 10) + 0.1 * (1 * 4 + 4 * 2))
    assert [c.holds for c in exact_conditions(b, dict(gamma=0.5, L=1))] == [True]
    assert [c.holds for c in exact_conditions(b, dict(gamma=0.5000000000000001, L=1))] == [False]
    with pytest.raises(ValueError, match="must name a bounds.statement.Theorem, got int"):
        theorem(f"{own}:not_a_theorem")
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        theorem(f"{own}:missing")
    with pytest.raises(ValueError, match="does not exist"):
        theorem(f"{tmp_path / 'nowhere.py'}:theorem")
    with pytest.raises(ValueError, match="cannot import the theorem module"):
        theorem("no_such_module_here:theorem")
