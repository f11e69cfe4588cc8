"""Bad input gets a clear error naming the parameter and the rule; never a silent NaN."""

import numpy as np
import pytest
import sympy as sp

import bounds

GOOD = dict(gamma=0.01, L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)


@pytest.mark.parametrize("change, message", [
    (dict(G=7), r"G must be a multiple of I .*got G = 7, I = 5"),
    (dict(G=50.5), r"G must be an integer"),
    (dict(I=0), r"I must be positive"),
    (dict(I=2.5), r"I must be an integer"),
    (dict(N=40), r"N must be at most n"),
    (dict(N=0), r"N must be positive"),
    (dict(T=1000.5), r"T must be an integer"),
    (dict(T=0), r"T must be positive"),
    (dict(T=-50), r"T must be positive"),
    (dict(n=3.5), r"n must be an integer"),
    (dict(gamma=0), r"gamma must be positive"),
    (dict(L=-1), r"L must be positive"),
    (dict(sigma=-0.1), r"sigma must be non-negative"),
    (dict(eps_g=-1), r"eps_g must be non-negative"),
    (dict(F0=-1), r"F0 must be non-negative"),
    (dict(eps_l=float("nan")), r"eps_l must be finite"),
    (dict(F0=float("inf")), r"F0 must be finite"),
    (dict(sigma=True), r"sigma must be a real number"),
    (dict(sigma="1"), r"sigma must be a real number"),
    (dict(sigma=1j), r"sigma must be a real number"),
])
def test_two_level_rejects(change, message):
    with pytest.raises(ValueError, match=message):
        bounds.two_level().evaluate(**{**GOOD, **change})


def test_missing_and_unknown_parameters_are_named():
    values = dict(GOOD)
    del values["sigma"]
    with pytest.raises(ValueError, match="missing parameter 'sigma'"):
        bounds.two_level().evaluate(**values)
    with pytest.raises(ValueError, match="unknown parameter 'eps'.*expected: gamma, L"):
        bounds.two_level().evaluate(**GOOD, eps=1)


def test_step_size_condition_says_which_and_by_how_much():
    with pytest.raises(ValueError, match=r"4\*gamma\^2\*L\^2\*\(I\*\(I-1\) \+ G\*\(G-1\)\) <= 1 fails.* by 2\.952"):
        bounds.two_level().evaluate(**{**GOOD, "gamma": 0.02})  # 4 * 0.0004 * 2470 = 3.952
    with pytest.raises(ValueError, match=r"gamma\*L <= 1 fails"):
        bounds.local_sgd().evaluate(gamma=2, L=1, sigma=1, n=4, T=10, F0=1, P=1, eps=0)
    value = bounds.two_level().evaluate(strict=False, **{**GOOD, "gamma": 0.02})
    assert np.isfinite(value) and value > 0


def test_condition_at_its_edge_is_accepted():
    gamma_max = 1 / (2 * np.sqrt(50 * 49 + 5 * 4))  # 4 gamma^2 (G(G-1) + I(I-1)) = 1 exactly
    assert np.isfinite(bounds.two_level().evaluate(**{**GOOD, "gamma": gamma_max}))


def test_random_grouping_needs_equal_groups_and_two_workers():
    b = bounds.random_grouping(bounds.two_level())
    good = {k: v for k, v in GOOD.items() if k not in ("eps_g", "eps_l")} | {"eps": 1}
    assert np.isfinite(b.evaluate(**good))
    with pytest.raises(ValueError, match=r"n must be a multiple of N .*equal nested groups"):
        b.evaluate(**{**good, "N": 5})
    with pytest.raises(ValueError, match="n must be at least 2"):
        b.evaluate(**{**good, "n": 1, "N": 1})
    # Theorem 1 itself allows unequal groups
    assert np.isfinite(bounds.two_level().evaluate(**{**GOOD, "N": 5}))


@pytest.mark.parametrize("periods, groups, message", [
    ([5, 12], [4], r"periods\[1\] = 12 must be a multiple of periods\[0\] = 5"),
    ([0, 10], [4], r"periods\[0\] must be a positive integer"),
    ([2.5, 10], [4], r"periods\[0\] must be a positive integer"),
    ([5, 10, 20], [4, 8], r"groups\[1\] = 8 must be at most groups\[0\] = 4"),
    ([5, 10], [4, 2], r"groups must list the 1 intermediate group counts"),
    ([], [], r"periods must list at least one period"),
    ([5, 10], ["four"], r"groups\[0\] must be a positive integer \(int, numpy integer or sympy Integer\) or a sympy symbol"),
    # issue 18: integral floats gave float coefficients while "5" was refused; both are refused now
    ([5.0, 25.0], [4], r"periods\[0\] must be a positive integer \(int, numpy integer or sympy Integer\)"),
    ([5, 25], [np.float64(4)], r"groups\[0\] must be a positive integer"),
    ([5, sp.Float(25)], [4], r"periods\[1\] must be a positive integer"),
    (["5"], [], r"periods\[0\] must be a positive integer"),
])
def test_multi_level_rejects_bad_structure(periods, groups, message):
    """Each rule of the structure, one ValueError naming the entry."""
    with pytest.raises(ValueError, match=message):
        bounds.multi_level(periods, groups)


def test_multi_level_checks_numeric_groups_against_n_and_eps_length():
    b = bounds.multi_level([5, 25, 100], [16, 4])
    v = dict(gamma=0.003, L=1, sigma=1, n=64, T=1000, F0=1, eps=[1, 1, 1])
    assert np.isfinite(b.evaluate(**v))
    with pytest.raises(ValueError, match=r"groups\[0\] must be at most n"):
        b.evaluate(**{**v, "n": 8})
    with pytest.raises(ValueError, match=r"eps must have 3 values, one per level"):
        b.evaluate(**{**v, "eps": [1, 1]})
    with pytest.raises(ValueError, match=r"eps must be a sequence of 3 values"):
        b.evaluate(**{**v, "eps": 1.0})
    with pytest.raises(ValueError, match=r"eps\[2\] must be non-negative"):
        b.evaluate(**{**v, "eps": [1, 1, -1]})
    assert np.isfinite(b.evaluate(**{**v, "T": 1050}))  # any horizon, not only multiples of P_M


def test_symbolic_periods_are_checked_at_evaluation():
    P1, P2 = sp.symbols("P1 P2", positive=True, integer=True)
    b = bounds.multi_level([P1, P2], [4])
    v = dict(gamma=0.001, L=1, sigma=1, n=16, T=120, F0=1, eps=[1, 1], P1=3, P2=12)
    assert np.isfinite(b.evaluate(**v))
    with pytest.raises(ValueError, match="P2 must be a multiple of P1"):
        b.evaluate(**{**v, "P2": 10})


def test_lambdify_validates_arrays_and_reports_the_global_index():
    f = bounds.local_sgd().lambdify()
    gamma = np.full(200_000, 1e-3)
    gamma[150_001] = -1.0
    with pytest.raises(ValueError, match=r"gamma must be positive, got -1 at index 150001"):
        f(gamma=gamma, L=1, sigma=1, n=8, T=100, F0=1, P=4, eps=0.5)
    G = np.full(10, 8.0)
    G[3] = 6
    with pytest.raises(ValueError, match=r"G must be a multiple of I .*got G = 6 at index 3, I = 4"):
        bounds.two_level().lambdify()(**{**GOOD, "I": 4, "G": G})


def test_evaluate_takes_scalars_only():
    with pytest.raises(ValueError, match="evaluate takes one number per parameter.*use lambdify"):
        bounds.local_sgd().evaluate(gamma=[0.1, 0.2], L=1, sigma=1, n=8, T=100, F0=1, P=4, eps=0.5)


# --- found by the independent review ------------------------------------------------------

def test_a_period_symbol_repeated_across_levels_is_still_checked():
    P = sp.Symbol("P", positive=True, integer=True)
    b = bounds.multi_level([P, P], [4])
    v = dict(gamma=0.01, L=1, sigma=1, n=8, T=5, F0=1, eps=[1, 1])
    with pytest.raises(ValueError, match="P must be an integer"):
        b.evaluate(**v, P=2.5)
    with pytest.raises(ValueError, match="P must be an integer"):
        b.lambdify()(**v, P=np.array([2.0, 2.5]))


def test_overflow_is_an_error_not_a_silent_inf_or_nan():
    with pytest.raises(ValueError, match="not finite"):
        bounds.two_level().evaluate(**{**GOOD, "F0": 1e308})  # 2 F0 overflows before the division
    with pytest.raises(ValueError, match="not finite"):
        bounds.two_level().evaluate(strict=False, **{**GOOD, "L": 1e200, "gamma": 1e-203})
    with pytest.raises(ValueError, match="step-size condition violated"):
        bounds.two_level().evaluate(**{**GOOD, "L": 1e200, "gamma": 1e-203})  # not an OverflowError
    with pytest.raises(ValueError, match="not finite .* at flat index 1"):
        bounds.local_sgd().lambdify()(gamma=1e-3, L=1, sigma=np.array([1.0, 1e200]), n=8, T=10, F0=1, P=2, eps=1)


def test_empty_arrays_give_an_empty_result():
    out = bounds.two_level().lambdify()(**{**GOOD, "gamma": np.array([])})
    assert out.shape == (0,)


@pytest.mark.parametrize("periods", [[float("inf")], [float("nan")], [sp.zoo], [sp.I], [10**400]])
def test_non_finite_or_huge_periods_are_value_errors(periods):
    """Non-finite, complex or beyond 2**53: a ValueError naming the entry."""
    with pytest.raises(ValueError, match=r"periods\[0\] must be a positive integer"):
        bounds.multi_level(periods, [])


def test_names_of_the_bound_cannot_be_reused_for_periods_or_groups():
    for name in ("T", "gamma", "n", "eps", "eps_1"):
        with pytest.raises(ValueError, match=f"symbol named '{name}'"):
            bounds.multi_level([sp.Symbol(name)], [])
    with pytest.raises(ValueError, match="two different symbols are named 'P'"):
        bounds.multi_level([sp.Symbol("P"), sp.Symbol("P", positive=True)], [2])


def test_random_grouping_applies_once():
    with pytest.raises(ValueError, match="already has random grouping"):
        bounds.random_grouping(bounds.random_grouping(bounds.two_level()))


def test_condition_label_of_an_expression_period():
    P = sp.Symbol("P", positive=True, integer=True)
    label = bounds.multi_level([P, 2 * P], [4]).conditions[1].label
    assert "(2*P)*(2*P - 1)" in label


# --- issue 8: any horizon T ---------------------------------------------------------------

@pytest.mark.parametrize("build, extra", [
    (lambda: bounds.multi_level([1, 5], [4]), dict(eps=[1, 0.5])),
    (lambda: bounds.two_level(), dict(N=4, I=1, G=5, eps_g=0.5, eps_l=1)),
    (lambda: bounds.local_sgd(), dict(P=5, eps=1)),
    (lambda: bounds.random_grouping(bounds.multi_level([1, 5], [4])), dict(eps=1)),
])
def test_any_horizon_is_accepted_and_evaluates_the_formula(build, extra):
    """T = 7 with top period 5: refused before issue 8, now the theorem's value."""
    b = build()
    v = dict(gamma=0.01, L=1, sigma=1, n=32, F0=2, **extra)
    value = b.evaluate(T=7, **v)
    # only the init term depends on T: 2 F0 / (gamma T)
    assert value - b.evaluate(T=5, **v) == pytest.approx(2 * 2 / 0.01 * (1 / 7 - 1 / 5), rel=1e-12)
    assert b.lambdify()(T=np.array([5, 6, 7]), **v)[2] == pytest.approx(value, rel=1e-12)
    with pytest.raises(ValueError, match="T must be an integer, got 7.5"):
        b.evaluate(T=7.5, **v)
    with pytest.raises(ValueError, match="T must be positive"):
        b.lambdify()(T=np.array([7, 0]), **v)


def test_integer_types_are_accepted_and_give_integer_coefficients():
    """numpy and sympy integers are integers: the bound is that of plain ints (no float coefficient)."""
    plain = bounds.multi_level([5, 25], [4])
    for periods, groups in (([np.int64(5), np.int32(25)], [np.int64(4)]), ([sp.Integer(5), 25], [sp.Integer(4)])):
        built = bounds.multi_level(periods, groups)
        assert built.terms == plain.terms
        assert not any(atom.is_Float for term in built.terms.values() for atom in term.atoms(sp.Number))
