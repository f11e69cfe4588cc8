"""bounds.strategies: the draws are valid, the sandwich holds on them, and they reach the
edge cases (issue 8)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

import bounds
from bounds import Shape
from bounds.strategies import (
    constants,
    hierarchies,
    step_sizes,
    theorem_instances,
)

REL = 1e-12  # float slack of the ordering of evaluated bounds (equal at N = n, N = 1, P_1 = P_M)
LOCAL = bounds.local_sgd()
# Deterministic searches; no explain phase (it re-runs every example and is slow).
FIND = settings(database=None, max_examples=2000, derandomize=True, phases=(Phase.generate, Phase.shrink))


def leq(a, b):
    return a <= b * (1 + REL)


# --- (a) the sandwich of docs/theory.md §6.3-§6.4, Corollaries 1-2, on drawn instances --------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(theorem_instances(random_grouping=True))
def test_sandwich_local_P1_below_random_grouping_below_local_PM(inst):
    hsgd = inst.bound.evaluate(**inst.values)  # strict: raises if the condition failed
    low = LOCAL.evaluate(**inst.local_values(inst.periods[0]))
    high = LOCAL.evaluate(**inst.local_values(inst.periods[-1]))
    assert leq(low, hsgd) and leq(hsgd, high)


@settings(max_examples=60, deadline=None)
@given(theorem_instances(max_levels=3, random_grouping=True, symbolic=True))
def test_symbolic_instances_evaluate_like_numeric_ones(inst):
    numeric = bounds.random_grouping(inst.shape.bound())
    keep = {k: v for k, v in inst.values.items() if not k.startswith(("P_", "K_"))}
    assert inst.bound.evaluate(**inst.values) == pytest.approx(numeric.evaluate(**keep), rel=REL)


@settings(max_examples=60, deadline=None)
@given(theorem_instances())
def test_per_level_instances_evaluate_and_hold_their_condition(inst):
    assert len(inst.values["eps"]) == inst.shape.M
    assert np.isfinite(inst.bound.evaluate(**inst.values))
    with pytest.raises(ValueError, match="eps must be given"):
        inst.local_values(inst.periods[0])


# --- (b) drawn step sizes satisfy the condition ----------------------------------------------

@settings(max_examples=100, deadline=None)
@given(data=st.data(), h=hierarchies(), c=constants(levels=None))
def test_drawn_gamma_satisfies_check_condition(data, h, c):
    b = h.bound()
    gamma = data.draw(step_sizes(b, L=c["L"], boundary=True))
    checks = b.check_condition(gamma=gamma, L=c["L"])
    assert all(check.holds for check in checks), [check.describe() for check in checks]
    gamma_max, _ = bounds.largest_step_size(b, L=c["L"])
    assert 0 < gamma <= gamma_max


@settings(max_examples=100, deadline=None)
@given(data=st.data(), L=st.floats(0.01, 10), I=st.integers(1, 20), factor=st.integers(1, 20))
def test_drawn_gamma_is_strictly_inside_unless_boundary(data, L, I, factor):
    b = bounds.two_level()
    v = dict(L=L, I=I, G=I * factor)
    gamma = data.draw(step_sizes(b, **v))
    assert gamma < bounds.largest_step_size(b, **v)[0]
    assert all(check.holds for check in b.check_condition(gamma=gamma, **v))
    # one step past the largest step size fails: the check can reject
    too_big = bounds.largest_step_size(b, **v)[0] * (1 + 1e-9)
    assert not all(check.holds for check in b.check_condition(gamma=too_big, **v))


# --- (c) the strategies reach the edge cases -------------------------------------------------

def test_hierarchies_reach_every_period_one_N_equal_n_and_N_one():
    ones = find(hierarchies(min_levels=2), lambda h: all(p == 1 for p in h.periods), settings=FIND)
    assert ones.periods == (1, 1)
    n_eq = find(hierarchies(min_levels=2), lambda h: h.M == 2 and h.groups[0] == h.n >= 4, settings=FIND)
    assert n_eq == Shape(n=4, periods=(1, 1), groups=(4,))
    one = find(hierarchies(min_levels=2), lambda h: h.M == 2 and h.groups[0] == 1 and h.n >= 4, settings=FIND)
    assert one == Shape(n=4, periods=(1, 1), groups=(1,))
    deep = find(hierarchies(equal_groups=True, min_workers=2),  # three levels, each a real split
                lambda h: h.M == 3 and all(a > b for a, b in zip(h.counts, h.counts[1:])), settings=FIND)
    assert deep.equal_groups and deep.counts[-2] >= 2 and deep.n >= 8


def test_theorem_instances_reach_the_edge_cases():
    rg = theorem_instances(random_grouping=True)
    inst = find(rg, lambda i: all(p == 1 for p in i.periods) and i.shape.M == 3, settings=FIND)
    assert inst.values["gamma"] < 1 / inst.values["L"]  # strictly inside gamma*L <= 1
    assert find(rg, lambda i: i.shape.M == 2 and i.groups[0] == i.n, settings=FIND).groups[0] >= 2
    partial = find(rg, lambda i: i.values["T"] % i.periods[-1] != 0, settings=FIND)  # any horizon
    assert np.isfinite(partial.bound.evaluate(**partial.values))
    tight = find(theorem_instances(random_grouping=True, boundary=True),
                 lambda i: i.values["gamma"] == 1 / i.values["L"], settings=FIND)  # the tight case
    assert all(p == 1 for p in tight.periods)


def test_random_grouping_draws_have_equal_groups_and_two_workers():
    @settings(max_examples=100, deadline=None)
    @given(hierarchies(equal_groups=True, min_workers=2))
    def check(h):
        assert h.equal_groups and h.n >= 2
        c = h.counts
        assert all(c[l] <= c[l - 1] for l in range(1, len(c)))
        assert all(h.periods[l] % h.periods[l - 1] == 0 for l in range(1, h.M))
    check()


# --- bad arguments ---------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: hierarchies(0), r"max_levels must be an integer >= 1, got 0"),
    (lambda: hierarchies(2, min_levels=3), r"min_levels must be at most max_levels"),
    (lambda: hierarchies(min_workers=5, max_workers=4), r"min_workers must be at most max_workers"),
    (lambda: hierarchies(max_period_factor=2.5), r"max_period_factor must be an integer"),
    (lambda: constants(levels=0), r"levels must be an integer >= 1"),
    (lambda: constants(max_L=-1), r"max_L must be a finite positive number"),
    (lambda: constants(min_F0=5, max_F0=1), r"min_F0 must be at most max_F0"),
    (lambda: step_sizes(LOCAL, L=1, P=2, gamma=0.1), r"step_sizes draws gamma"),
    (lambda: step_sizes(LOCAL, L=1, P=2, min_fraction=1), r"min_fraction must be a number in \(0, 1\)"),
    (lambda: step_sizes(LOCAL, L=1), r"missing parameter 'P'"),
    (lambda: step_sizes(LOCAL, L=1, P=2, Q=3), r"unknown parameter 'Q'"),
])
def test_bad_arguments_are_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_hierarchy_strategy_without_equal_groups_is_refused_for_random_grouping():
    unequal = st.just(Shape(n=5, periods=(1, 2), groups=(2,)))
    with pytest.raises(ValueError, match="random_grouping needs equal nested groups"):
        find(theorem_instances(random_grouping=True, hierarchy=unequal), lambda i: True, settings=FIND)


def test_the_sandwich_check_is_not_vacuous():
    """Drawn instances where the H-SGD bound is strictly between the two local SGD bounds
    exist, so the reversed order would be caught by the sandwich test above."""
    def strictly_between(inst):
        hsgd = inst.bound.evaluate(**inst.values)
        low = LOCAL.evaluate(**inst.local_values(inst.periods[0]))
        high = LOCAL.evaluate(**inst.local_values(inst.periods[-1]))
        return low * (1 + 1e-6) < hsgd and hsgd * (1 + 1e-6) < high
    inst = find(theorem_instances(random_grouping=True), strictly_between, settings=FIND)
    assert inst.shape.M >= 2 and inst.periods[0] < inst.periods[-1]  # needs distinct periods
