"""Issue 8: the vectorised step-size condition (Bound.condition_mask) and lambdify's
``outside_condition`` option, against the scalar ConditionCheck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bounds
from bounds.exact import exact_conditions

V = dict(L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5, G=50, eps_g=0.5, eps_l=1)
GAMMA_MAX = 1 / (2 * np.sqrt(50 * 49 + 5 * 4))  # 4 gamma^2 (G(G-1) + I(I-1)) = 1


def scalar_holds(bound, **values):
    return all(c.holds for c in bound.check_condition(**values))


def test_mask_matches_the_scalar_check_pointwise_and_broadcasts():
    b = bounds.two_level()
    gammas = np.linspace(0.5, 1.5, 11)[:, None] * GAMMA_MAX
    Ls = np.array([[0.5, 1.0, 2.0]])
    mask = b.condition_mask(gamma=gammas, **dict(V, L=Ls))
    assert mask.dtype == bool and mask.shape == (11, 3)
    expected = [[scalar_holds(b, **dict(V, gamma=float(g), L=float(L))) for L in Ls[0]] for g in gammas[:, 0]]
    assert mask.tolist() == expected
    assert mask.any() and not mask.all()  # both sides of the edge are in the grid


def test_mask_shape_is_the_shape_of_lambdify_even_where_the_condition_ignores_an_array():
    b = bounds.two_level()
    T = np.array([1000, 2000, 3000])  # the condition does not involve T
    assert b.condition_mask(gamma=0.001, **dict(V, T=T)).shape == b.lambdify()(gamma=0.001, **dict(V, T=T)).shape


def test_mask_and_condition_check_decide_exactly_at_the_limit():
    """Issue 18 item 4: no slack. One ulp above gamma L <= 1 fails in the mask, in check_condition,
    in lambdify's "nan" mode and in the exact decision alike; the limit itself holds."""
    b = bounds.local_sgd()
    v = dict(L=1, sigma=1, n=8, T=100, F0=1, P=1, eps=0.5)  # gamma*L <= 1 binds
    above = float(np.nextafter(1.0, 2.0))
    gammas = np.array([1.0, above, 1 + 1e-13, float(np.nextafter(1.0, 0.0))])
    assert b.condition_mask(gamma=gammas, **v).tolist() == [True, False, False, True]
    assert [scalar_holds(b, gamma=float(g), **v) for g in gammas] == [True, False, False, True]
    assert [all(c.holds for c in exact_conditions(b, dict(v, gamma=float(g)))) for g in gammas] == \
        [True, False, False, True]
    assert np.isnan(b.lambdify(outside_condition="nan")(gamma=gammas, **v)).tolist() == [False, True, True, False]
    # a limit that is irrational in floats: 4 gamma^2 L^2 P (P - 1) <= 1 at P = 2 is gamma <= 1/(2 sqrt 2)
    limit = 1 / (2 * np.sqrt(2.0))
    near = [float(np.nextafter(limit, 0.0)), limit, float(np.nextafter(limit, 1.0))]
    exact = [all(c.holds for c in exact_conditions(b, dict(v, P=2, gamma=g))) for g in near]
    assert b.condition_mask(gamma=np.array(near), **dict(v, P=2)).tolist() == exact
    assert [scalar_holds(b, gamma=g, **dict(v, P=2)) for g in near] == exact and exact[0] and not exact[2]


def test_mask_checks_the_domain():
    with pytest.raises(ValueError, match="G must be a multiple of I"):
        bounds.two_level().condition_mask(gamma=0.001, **dict(V, G=np.array([50, 52])))
    with pytest.raises(ValueError, match="missing parameter 'sigma'"):
        bounds.local_sgd().condition_mask(gamma=0.1, L=1, n=8, T=100, F0=1, P=3, eps=0.5)


def test_lambdify_nan_outside_the_condition():
    b = bounds.two_level()
    gammas = np.array([0.5, 0.99, 1.0, 1.01, 2.0]) * GAMMA_MAX
    plain = b.lambdify()(gamma=gammas, **V)
    masked = b.lambdify(outside_condition="nan")(gamma=gammas, **V)
    assert np.all(np.isfinite(plain))  # the default evaluates everywhere, as before
    np.testing.assert_array_equal(np.isnan(masked), [False, False, False, True, True])
    np.testing.assert_array_equal(masked[:3], plain[:3])
    assert np.isnan(b.lambdify(outside_condition="nan")(gamma=2 * GAMMA_MAX, **V))  # 0-d too


def test_lambdify_raise_outside_the_condition_names_the_point_and_the_condition():
    b = bounds.two_level()
    f = b.lambdify(outside_condition="raise")
    ok = f(gamma=np.array([0.5, 1.0]) * GAMMA_MAX, **V)
    assert np.all(np.isfinite(ok))
    with pytest.raises(ValueError, match=r"violated at flat index 2: 4\*gamma\^2\*L\^2.* fails.*1 of 3 points"):
        f(gamma=np.array([0.5, 1.0, 1.5]) * GAMMA_MAX, **V)
    with pytest.raises(ValueError, match=r"violated at flat index 0: gamma\*L <= 1 fails"):
        bounds.local_sgd().lambdify(outside_condition="raise")(gamma=2.0, L=1, sigma=0, n=4, T=10, F0=1, P=1, eps=0)


def test_lambdify_masked_modes_on_a_large_array_and_unchecked():
    b = bounds.local_sgd()
    gamma = np.linspace(1e-4, 0.5, 100_000)
    v = dict(L=1, sigma=1, n=8, T=1000, F0=2, P=4, eps=0.3)
    masked = b.lambdify(outside_condition="nan")(gamma=gamma, **v)
    unchecked = b.lambdify(validate=False, outside_condition="nan")(gamma=gamma, **v)
    np.testing.assert_array_equal(np.isnan(masked), ~b.condition_mask(gamma=gamma, **v))
    np.testing.assert_array_equal(masked, unchecked)
    assert 0 < np.isnan(masked).sum() < gamma.size


def test_overflow_where_the_condition_fails_is_masked_not_raised():
    b = bounds.local_sgd()
    v = dict(L=1, sigma=1, n=8, T=10, F0=1, P=2, eps=1)
    gamma = np.array([0.1, 1e160])  # the second overflows, and violates gamma*L <= 1
    with pytest.raises(ValueError, match="not finite"):
        b.lambdify()(gamma=gamma, **v)
    out = b.lambdify(outside_condition="nan")(gamma=gamma, **v)
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError, match="outside_condition must be one of evaluate, nan, raise, got 'skip'"):
        bounds.two_level().lambdify(outside_condition="skip")


@settings(max_examples=60, deadline=None)
@given(gamma=st.lists(st.floats(1e-6, 2.0), min_size=1, max_size=20), L=st.floats(0.1, 10),
       P=st.integers(1, 20))
def test_mask_and_nan_agree_with_the_scalar_check(gamma, L, P):
    b = bounds.local_sgd()
    v = dict(L=L, sigma=1, n=8, T=100, F0=1, P=P, eps=0.5)
    g = np.array(gamma)
    mask = b.condition_mask(gamma=g, **v)
    assert mask.tolist() == [scalar_holds(b, gamma=x, **v) for x in gamma]
    np.testing.assert_array_equal(np.isnan(b.lambdify(outside_condition="nan")(gamma=g, **v)), ~mask)
