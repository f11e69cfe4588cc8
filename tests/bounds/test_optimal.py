"""The optimal step size against the closed form of the stationary point."""

import numpy as np
import pytest

import sympy as sp

import bounds
from bounds.optimal import largest_step_size, optimal_lr

V = dict(L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)


def stationary_point(v):
    """B = a/gamma + b gamma + c gamma^2 with THEORY.md's terms; root of 2c g^3 + b g^2 - a."""
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
