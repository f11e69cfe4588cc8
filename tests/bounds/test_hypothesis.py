"""Property-based tests of the orderings and reductions of the bounds, over wide ranges."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

import bounds
from bounds.optimal import optimal_lr
from bounds.corollaries import sandwich

REL = 1e-9  # rounding slack for orderings between float evaluations of different formulas

TWO = bounds.two_level()
LOCAL = bounds.local_sgd()
RANDOM = bounds.random_grouping(TWO)
SANDWICH_RANDOM = sandwich()
SANDWICH_ANY = sandwich(grouping="any")

positive = st.floats(1e-6, 1e3, allow_nan=False)
nonneg = st.floats(0, 1e3, allow_nan=False)


def leq(a, b):
    return a <= b + REL * max(abs(a), abs(b), 1e-300)


@st.composite
def common(draw):
    return dict(gamma=draw(st.floats(1e-6, 1.0)), L=draw(positive), sigma=draw(nonneg), F0=draw(nonneg))


@st.composite
def two_level_point(draw, equal_groups=False):
    I = draw(st.integers(1, 50))
    G = I * draw(st.integers(1, 50))
    N = draw(st.integers(1, 64))
    n = N * draw(st.integers(1, 64)) if equal_groups else draw(st.integers(N, 4096))
    if equal_groups and n < 2:
        n, N = 2, 1
    T = G * draw(st.integers(1, 1000))
    return dict(**draw(common()), n=n, T=T, N=N, I=I, G=G)


def value(bound, **v):
    return bound.evaluate(strict=False, **v)


@given(two_level_point(equal_groups=True), nonneg)
def test_random_grouping_sandwich(point, eps):
    lo, mid, hi = SANDWICH_RANDOM.evaluate(strict=False, **point, eps=eps)
    assert leq(lo, mid) and leq(mid, hi)
    w_local, w_global = (point["n"] - point["N"]) / (point["n"] - 1), (point["N"] - 1) / (point["n"] - 1)
    assert math.isclose(mid, w_local * lo + w_global * hi, rel_tol=REL)  # Corollary 1's identity


@given(two_level_point(), nonneg, nonneg)
def test_any_grouping_sandwich(point, eps_g, eps_l):
    lo, mid, hi = SANDWICH_ANY.evaluate(strict=False, **point, eps_g=eps_g, eps_l=eps_l)
    assert leq(lo, mid) and leq(mid, hi)


@given(two_level_point(), nonneg, nonneg, st.integers(2, 5))
def test_monotone_in_global_period(point, eps_g, eps_l, factor):
    v = dict(point, eps_g=eps_g, eps_l=eps_l, T=point["T"] * factor)  # a multiple of both periods
    assert leq(value(TWO, **v), value(TWO, **dict(v, G=v["G"] * factor)))


@given(common(), st.integers(1, 20), st.integers(1, 5), st.integers(1, 10), nonneg, nonneg)
def test_monotone_in_local_period(c, I, m, k, eps_g, eps_l):
    G = I * m * k
    v = dict(c, n=64, N=8, T=G, G=G, eps_g=eps_g, eps_l=eps_l)
    assert leq(value(TWO, **v, I=I), value(TWO, **v, I=I * m))


@given(two_level_point(), nonneg, nonneg, st.integers(2, 10))
def test_decreasing_in_horizon(point, eps_g, eps_l, factor):
    v = dict(point, eps_g=eps_g, eps_l=eps_l)
    assert leq(value(TWO, **dict(v, T=v["T"] * factor)), value(TWO, **v))


@given(two_level_point(), nonneg, nonneg)
def test_extreme_groupings_reduce_to_local_sgd(point, eps_g, eps_l):
    v = {k: point[k] for k in ("gamma", "L", "sigma", "n", "T", "F0")}
    one_group = value(TWO, **v, N=1, I=point["I"], G=point["G"], eps_g=0, eps_l=eps_l)
    assert math.isclose(one_group, value(LOCAL, **v, P=point["I"], eps=eps_l), rel_tol=REL)
    singletons = value(TWO, **v, N=point["n"], I=point["I"], G=point["G"], eps_g=eps_g, eps_l=0)
    assert math.isclose(singletons, value(LOCAL, **v, P=point["G"], eps=eps_g), rel_tol=REL)


@given(two_level_point(), nonneg, nonneg)
def test_equal_periods_is_local_sgd_with_total_divergence(point, eps_g, eps_l):
    v = dict(point, I=point["G"])
    h = value(TWO, **v, eps_g=eps_g, eps_l=eps_l)
    local = value(LOCAL, **{k: v[k] for k in ("gamma", "L", "sigma", "n", "T", "F0")}, P=v["G"],
                  eps=math.sqrt(eps_g**2 + eps_l**2))
    assert math.isclose(h, local, rel_tol=REL)


@st.composite
def three_level_point(draw):
    P1 = draw(st.integers(1, 10))
    P2 = P1 * draw(st.integers(1, 10))
    P3 = P2 * draw(st.integers(1, 10))
    K2 = draw(st.integers(1, 8))
    K1 = K2 * draw(st.integers(1, 8))
    n = K1 * draw(st.integers(1, 8))
    if n < 2:
        n, K1, K2 = 2, 1, 1
    return dict(**draw(common()), n=n, T=P3 * draw(st.integers(1, 100))), [P1, P2, P3], [K1, K2]


@settings(max_examples=40, deadline=None)
@given(three_level_point(), nonneg)
def test_three_level_random_grouping_is_a_convex_combination(point, eps):
    v, periods, groups = point
    h = value(bounds.random_grouping(bounds.multi_level(periods, groups)), **v, eps=eps)
    locals_ = [value(LOCAL, **v, P=p, eps=eps) for p in periods]
    counts = [v["n"], *groups, 1]
    weights = [(counts[l] - counts[l + 1]) / (v["n"] - 1) for l in range(3)]
    assert math.isclose(sum(weights), 1.0, rel_tol=REL)
    assert math.isclose(h, sum(w * b for w, b in zip(weights, locals_)), rel_tol=REL)
    assert leq(locals_[0], h) and leq(h, locals_[-1])


@given(two_level_point(), nonneg, nonneg)
def test_lambdify_agrees_with_evaluate(point, eps_g, eps_l):
    v = dict(point, eps_g=eps_g, eps_l=eps_l)
    assert math.isclose(float(TWO.lambdify()(**v)), value(TWO, **v), rel_tol=REL)


@settings(max_examples=30, deadline=None)
@given(two_level_point(), nonneg, nonneg, st.floats(0.01, 1.0))
def test_optimal_step_size_is_no_worse_than_any_admissible_one(point, eps_g, eps_l, fraction):
    v = {k: x for k, x in point.items() if k != "gamma"}
    v.update(eps_g=eps_g, eps_l=eps_l, F0=max(point["F0"], 1e-3))
    opt = optimal_lr(TWO, **v)
    assert 0 < opt.gamma <= opt.gamma_max * (1 + REL)
    other = fraction * opt.gamma_max
    assert leq(opt.value, value(TWO, **v, gamma=other))
    assert all(c.holds for c in TWO.check_condition(**v, gamma=opt.gamma))
