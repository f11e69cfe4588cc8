"""Theorems 1 and 2 and local SGD: the code's formulas against docs/theory.md typed in by hand."""

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import symbols as s
from tests.bounds import theory_literal as lit

REL = 1e-12  # the one tolerance for float comparisons of the same formula

# The code's symbols and the literal transcription's carry the same names and assumptions.
TO_LITERAL = {getattr(s, name): getattr(lit, name)
              for name in ("gamma", "L", "sigma", "n", "T", "F0", "N", "I", "G", "eps_g", "eps_l", "P", "eps")}


def same(a, b):
    return sp.cancel(sp.sympify(a).subs(TO_LITERAL, simultaneous=True) - b) == 0


def test_two_level_is_theorem_1():
    b = bounds.two_level()
    assert same(b.expr, lit.THEOREM_1)
    assert same(b.conditions[0].lhs, lit.THEOREM_1_CONDITION[0])
    assert same(b.conditions[1].lhs, lit.THEOREM_1_CONDITION[1])
    assert all(c.rhs == 1 for c in b.conditions)


def test_two_level_terms_are_the_named_parts():
    b = bounds.two_level()
    assert list(b.terms) == ["init", "noise", "upward", "downward"]
    assert same(b.terms["upward"], 2 * lit.gamma**2 * lit.L**2 * (lit.G - 1) * (
        (lit.N - 1) * lit.sigma**2 / lit.n + sp.Rational(2, 3) * (2 * lit.G - 1) * lit.eps_g**2))
    assert same(b.terms["downward"], 2 * lit.gamma**2 * lit.L**2 * (lit.I - 1) * (
        (lit.n - lit.N) * lit.sigma**2 / lit.n + sp.Rational(2, 3) * (2 * lit.I - 1) * lit.eps_l**2))
    assert sp.cancel(sp.Add(*b.terms.values()) - b.expr) == 0


def test_local_sgd_is_theorem_2_with_one_level():
    b = bounds.local_sgd()
    assert same(b.expr, lit.LOCAL)
    assert same(b.conditions[1].lhs, lit.LOCAL_CONDITION[1])


def test_condition_is_a_sympy_boolean_of_both_inequalities():
    cond = bounds.two_level().condition
    assert isinstance(cond, sp.And)
    at = {s.L: 1, s.I: 5, s.G: 50}
    assert bool(cond.subs({**at, s.gamma: 0.01})) is True
    assert bool(cond.subs({**at, s.gamma: 0.0101})) is False  # 4 * 0.0101^2 * 2470 > 1


@pytest.mark.parametrize("M", [1, 2, 3, 4])
def test_multi_level_matches_theorem_2(M):
    periods, groups = s.symbolic_hierarchy(M)
    b = bounds.multi_level(periods, groups)
    counts = [lit.n, *groups, 1]
    eps = [s.level_eps(l) for l in range(1, M + 1)]
    assert same(b.expr, lit.theorem_2(periods, counts, eps))
    assert same(b.conditions[1].lhs, 4 * lit.gamma**2 * lit.L**2 * sum(p * (p - 1) for p in periods))


def test_theorem_1_is_theorem_2_with_two_levels():
    two = bounds.two_level()
    multi = bounds.multi_level([s.I, s.G], [s.N])
    renamed = multi.expr.subs({s.level_eps(1): s.eps_l, s.level_eps(2): s.eps_g})
    assert sp.cancel(renamed - two.expr) == 0


def test_local_sgd_is_multi_level_with_one_period():
    multi = bounds.multi_level([s.P], [])
    assert sp.cancel(multi.expr.subs(s.level_eps(1), s.eps) - bounds.local_sgd().expr) == 0


def test_numeric_periods_give_the_same_values_as_symbolic_ones():
    numeric = bounds.multi_level([5, 25, 100], [16, 4])
    symbolic = bounds.multi_level(*s.symbolic_hierarchy(3))
    common = dict(gamma=0.003, L=1.5, sigma=0.7, n=64, T=2000, F0=3.0, eps=[1.0, 0.5, 0.25])
    a = numeric.evaluate(**common)
    b = symbolic.evaluate(**common, P_1=5, P_2=25, P_3=100, K_1=16, K_2=4)
    assert a == pytest.approx(b, rel=REL)


def test_evaluate_lambdify_and_subs_agree():
    b = bounds.two_level()
    rng = np.random.default_rng(1)
    f = b.lambdify()
    for _ in range(20):
        I = int(rng.integers(1, 6)); G = I * int(rng.integers(1, 8)); N = int(rng.integers(1, 9))
        v = dict(gamma=float(rng.uniform(1e-4, 1e-3)), L=float(rng.uniform(0.5, 2)),
                 sigma=float(rng.uniform(0, 2)), n=N * int(rng.integers(1, 5)), T=G * int(rng.integers(1, 50)),
                 F0=float(rng.uniform(0, 5)), N=N, I=I, G=G, eps_g=float(rng.uniform(0, 1)),
                 eps_l=float(rng.uniform(0, 1)))
        exact = float(b.expr.subs({getattr(s, k): sp.nsimplify(x) for k, x in v.items()}))
        assert b.evaluate(**v) == pytest.approx(exact, rel=REL)
        assert float(f(**v)) == pytest.approx(exact, rel=REL)
        assert sum(b.evaluate_terms(**v).values()) == pytest.approx(exact, rel=REL)


def test_lambdify_broadcasts_and_matches_pointwise_evaluation():
    b = bounds.two_level()
    gammas = np.linspace(1e-4, 1e-3, 7)[:, None]
    Ts = np.array([[1000, 2000, 5000]])
    fixed = dict(L=1, sigma=1, n=32, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)
    grid = b.lambdify()(gamma=gammas, T=Ts, **fixed)
    assert grid.shape == (7, 3)
    for i in range(7):
        for j in range(3):
            assert grid[i, j] == pytest.approx(b.evaluate(gamma=float(gammas[i, 0]), T=int(Ts[0, j]), **fixed), rel=REL)


def test_lambdify_on_a_large_array_matches_it_in_pieces():
    b = bounds.local_sgd()
    gamma = np.linspace(1e-4, 1e-2, 50_000)
    fixed = dict(L=1, sigma=1, n=8, T=1000, F0=2, P=4, eps=0.3)
    big = b.lambdify()(gamma=gamma, **fixed)
    assert big.shape == gamma.shape
    pieces = np.concatenate([b.lambdify()(gamma=gamma[i:i + 1000], **fixed) for i in range(0, 50_000, 1000)])
    np.testing.assert_allclose(big, pieces, rtol=REL, atol=0)


def test_tight_case_holds_with_equality():
    """docs/theory.md §7.2 Remark: tightness: every P_l = 1, gamma = 1/L, sigma = 0, f = (L/2)||x||^2 is tight.
    L = 2: the float 1/L is exactly 1/L (at L = 2.5 the float 0.4 is above 1/2.5 and gamma L <= 1 fails, exactly)."""
    L_, T_, x0 = 2.0, 20, np.array([1.0, -2.0, 0.5])
    x, grads = x0.copy(), []
    for _ in range(T_):  # gradient descent: every period 1 means all workers stay equal
        g = L_ * x
        grads.append(float(g @ g))
        x = x - (1 / L_) * g
    measured = np.mean(grads)
    F0_ = 0.5 * L_ * float(x0 @ x0)
    for b, extra in ((bounds.local_sgd(), dict(P=1, eps=0.7)),
                     (bounds.two_level(), dict(N=2, I=1, G=1, eps_g=0.3, eps_l=0.9)),
                     (bounds.multi_level([1, 1, 1], [4, 2]), dict(eps=[1, 2, 3]))):
        value = b.evaluate(gamma=1 / L_, L=L_, sigma=0, n=8, T=T_, F0=F0_, **extra)
        assert value == pytest.approx(measured, rel=REL)


def test_latex_names_every_symbol_the_theorem_uses():
    tex = bounds.two_level().latex()
    for token in (r"\gamma", r"\sigma", r"\varepsilon_g", r"\varepsilon_l", "F_0", "G", "I", "N"):
        assert token in tex
    assert r"\varepsilon_{2}" in bounds.multi_level([2, 4], [3]).latex()


def test_other_coefficients_change_every_term_and_the_condition():
    c = bounds.Coefficients(init=3, noise=5, divergence=7, heterogeneity=sp.Rational(1, 2), condition=8)
    b = bounds.local_sgd(theorem=bounds.theorem2(c))
    expected = (3 * lit.F0 / (lit.gamma * lit.T) + 5 * lit.gamma * lit.L * lit.sigma**2 / lit.n
                + 7 * lit.gamma**2 * lit.L**2 * (lit.P - 1) * ((lit.n - 1) * lit.sigma**2 / lit.n
                                                                + sp.Rational(1, 2) * (2 * lit.P - 1) * lit.eps**2))
    assert same(b.expr, expected)
    assert same(b.conditions[1].lhs, 8 * lit.gamma**2 * lit.L**2 * lit.P * (lit.P - 1))
    with pytest.raises(ValueError, match="coefficient init"):
        bounds.Coefficients(init=-1)


def test_any_horizon_evaluates_theorem_2_literally():
    """Issue 8: the theorem holds for every T >= 1 (docs/theory.md §5.5 Any horizon: the
    final partial window), so T = 7 with P_M = 5 is evaluated, to the hand-typed formula's value."""
    b = bounds.multi_level([1, 5], [4])
    v = dict(gamma=sp.Rational(1, 100), L=1, sigma=sp.Rational(1, 2), n=16, T=7, F0=3)
    eps = [sp.Rational(1, 3), 1]
    exact = lit.theorem_2([1, 5], [16, 4, 1], eps).subs(
        {getattr(lit, k): x for k, x in v.items()}, simultaneous=True)
    assert exact.is_Rational
    value = b.evaluate(**{k: float(x) for k, x in v.items()}, eps=[float(e) for e in eps])
    assert value == pytest.approx(float(exact), rel=REL)
    two = bounds.two_level().evaluate(**{k: float(x) for k, x in v.items()}, N=4, I=1, G=5,
                                      eps_l=float(eps[0]), eps_g=float(eps[1]))
    assert two == pytest.approx(float(exact), rel=REL)
