"""The optimal step size against the closed form of the stationary point."""

import numpy as np
import pytest

import sympy as sp

import bounds
from bounds.optimal import largest_step_size, optimal_lr

V = dict(L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)


def stationary_point(v):
    """B = a/gamma + b gamma + c gamma^2 with docs/theory.md's terms; root of 2c g^3 + b g^2 - a."""
    L, s2, n, T, F0, N, I, G = (v[k] for k in ("L", "sigma", "n", "T", "F0", "N", "I", "G"))
    a = 2 * F0 / T
    b = L * s2**2 / n
    c = 2 * L**2 * ((G - 1) * ((N - 1) * s2**2 / n + 2 / 3 * (2 * G - 1) * v["eps_g"] ** 2)
                    + (I - 1) * ((n - N) * s2**2 / n + 2 / 3 * (2 * I - 1) * v["eps_l"] ** 2))
    g = sp.Symbol("g")
    cubic = sp.Poly(2 * sp.Rational(c) * g**3 + sp.Rational(b) * g**2 - sp.Rational(a), g)  # exact
    return float(max(r for r in cubic.real_roots() if r > 0).evalf(30))


def test_interior_optimum_is_the_stationary_point():
    opt = optimal_lr(bounds.two_level(), **V)
    assert not opt.at_boundary
    assert opt.gamma == pytest.approx(stationary_point(V), rel=1e-6)
    assert opt.value == pytest.approx(bounds.two_level().evaluate(gamma=opt.gamma, **V), rel=1e-12)


def test_boundary_optimum_when_the_condition_binds():
    v = dict(V, T=50, sigma=0)  # short horizon: the bound still decreases at gamma_max
    opt = optimal_lr(bounds.two_level(), **v)
    assert stationary_point(v) > opt.gamma_max
    assert opt.at_boundary and opt.gamma == opt.gamma_max
    assert opt.gamma_max == pytest.approx(1 / (2 * np.sqrt(50 * 49 + 5 * 4)), rel=1e-12)
    assert "4*gamma^2*L^2" in opt.limiting_condition


def test_largest_step_size_can_be_set_by_gamma_L():
    g, which = largest_step_size(bounds.local_sgd(), L=4, P=1)
    assert g == pytest.approx(0.25) and which == "gamma*L <= 1"


def test_optimal_lr_rejects_bad_input():
    with pytest.raises(ValueError, match="do not pass it"):
        optimal_lr(bounds.two_level(), gamma=0.1, **V)
    with pytest.raises(ValueError, match="F0 must be positive"):
        optimal_lr(bounds.two_level(), **dict(V, F0=0))
    with pytest.raises(ValueError, match="G must be a multiple of I"):
        optimal_lr(bounds.two_level(), **dict(V, G=52))


def test_tiny_initial_gap_finds_the_true_stationary_point():
    v = dict(V, F0=1e-70)
    opt = optimal_lr(bounds.two_level(), **v)
    assert opt.gamma == pytest.approx(stationary_point(v), rel=1e-6)


def test_overflowing_or_array_inputs_are_value_errors():
    with pytest.raises(ValueError, match="cannot be evaluated"):
        optimal_lr(bounds.two_level(), **dict(V, L=1e200))
    with pytest.raises(ValueError, match="one number per parameter"):
        optimal_lr(bounds.two_level(), **dict(V, L=np.array([1.0, 2.0])))
    with pytest.raises(ValueError, match="missing parameter 'G'"):
        largest_step_size(bounds.two_level(), L=1, I=5)


# --- issue 8 --------------------------------------------------------------------------------

BASE = dict(L=1, sigma=1, n=32, T=1000, F0=1)


def test_optimal_lr_of_a_multi_level_bound_with_per_level_eps():
    """It failed with "unknown parameter 'eps_1'" (per-level symbols re-passed by name)."""
    multi = bounds.multi_level([5, 50], [4])
    opt = optimal_lr(multi, eps=[1, 1], **BASE)
    # Theorem 1 is Theorem 2 with M = 2: the same optimum through the two encodings
    two = optimal_lr(bounds.two_level(), N=4, I=5, G=50, eps_l=1, eps_g=1, **BASE)
    assert opt.gamma == pytest.approx(two.gamma, rel=1e-12)
    assert opt.value == pytest.approx(multi.evaluate(gamma=opt.gamma, eps=[1, 1], **BASE), rel=1e-12)
    assert opt.gamma <= opt.gamma_max
    with pytest.raises(ValueError, match="eps must have 2 values"):
        optimal_lr(multi, eps=[1], **BASE)


@pytest.mark.parametrize("periods, groups", [([5, 50], [4]), ([2, 4, 8], [8, 2])])
def test_optimal_lr_of_a_random_grouping_bound(periods, groups):
    b = bounds.random_grouping(bounds.multi_level(periods, groups))
    opt = optimal_lr(b, eps=1, **BASE)
    assert opt.value == pytest.approx(b.evaluate(gamma=opt.gamma, eps=1, **BASE), rel=1e-12)
    # the minimiser: nudging gamma either way (inside the condition) does not lower the bound
    for g in (opt.gamma * (1 - 1e-4), min(opt.gamma * (1 + 1e-4), opt.gamma_max)):
        assert b.evaluate(gamma=g, eps=1, **BASE) >= opt.value * (1 - 1e-12)


@pytest.mark.parametrize("bound, values", [
    (bounds.two_level(), dict(L=2, I=1, G=1)),
    (bounds.multi_level([1, 1], [4]), dict(L=2)),
    (bounds.multi_level([1, 1, 1], [4, 2]), dict(L=2)),
    (bounds.local_sgd(), dict(L=2, P=1)),
    (bounds.random_grouping(bounds.multi_level([1, 1], [4])), dict(L=2, eps=1)),
])
def test_largest_step_size_with_every_period_one_is_one_over_L(bound, values):
    """It raised "TypeError: Cannot convert -oo to int": the period sum is 0 and the
    condition 0 <= 1 is vacuous, so gamma*L <= 1 sets gamma_max = 1/L."""
    assert largest_step_size(bound, **values) == (0.5, "gamma*L <= 1")


def test_optimal_lr_with_every_period_one():
    b = bounds.multi_level([1, 1], [4])
    opt = optimal_lr(b, eps=[1, 1], **dict(BASE, sigma=0))
    assert opt.gamma_max == 1.0 and opt.at_boundary  # sigma = 0: the bound 2 F0/(gamma T) decreases
    assert opt.value == pytest.approx(2 / 1000, rel=1e-12)


def test_largest_step_size_names_bad_keywords():
    with pytest.raises(ValueError, match="unknown parameter 'P' for Theorem 2 \\(two-level"):
        largest_step_size(bounds.two_level(), L=1, I=5, G=50, P=3)
    with pytest.raises(ValueError, match="eps must be a sequence of 2 values"):
        largest_step_size(bounds.multi_level([5, 50], [4]), L=1, eps=1)
