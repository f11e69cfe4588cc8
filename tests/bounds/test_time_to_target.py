"""Steps to a target (bounds/time_to_target.py): T is the smallest horizon, decided in rationals."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bounds import local_sgd, multi_level
from bounds.optimal import largest_step_size
from bounds.strategies import theorem_instances
from bounds.time_to_target import exact_bound, fastest_step_size, steps_to_target
from bounds.exact import exact_value  # an exact evaluator independent of time_to_target's

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _without_T(values):
    return {k: v for k, v in values.items() if k != "T"}


@FAST
@given(inst=theorem_instances(max_levels=3, symbolic=True), scale=st.floats(1e-3, 1e4), above=st.floats(0.0, 1.0))
def test_T_is_the_smallest_horizon_exactly(inst, scale, above):
    """bound(T - 1) > target >= bound(T), in exact rational arithmetic, at targets spread from
    just above the floor to far above it."""
    values = _without_T(inst.values)
    probe = steps_to_target(inst.bound, 1e300, **values)  # reads S and R
    target = probe.floor + probe.start / scale + above * probe.floor
    assume(math.isfinite(target) and target > 0 and sp.Rational(target) > sp.Rational(probe.floor))
    r = steps_to_target(inst.bound, target, **values)
    assume(r.T is not None)  # the float floor may round up to the target
    goal = sp.Rational(target)
    assert exact_value(inst.bound, {**values, "T": r.T}) <= goal
    if r.T > 1:
        assert exact_value(inst.bound, {**values, "T": r.T - 1}) > goal


@FAST
# below < 1 by a margin: the reported floor is the exact one rounded to a float, which may lie a
# rounding above it (a target equal to that float can be reachable, after 1e18 steps)
@given(inst=theorem_instances(max_levels=3, symbolic=True), below=st.floats(0.0, 1.0 - 1e-12))
def test_targets_at_or_below_the_floor_are_unreachable(inst, below):
    values = _without_T(inst.values)
    probe = steps_to_target(inst.bound, 1e300, **values)
    target = probe.floor * below
    assume(target > 0 and probe.start > 0)  # with F0 = 0 the bound is R: reached at once when R <= target
    r = steps_to_target(inst.bound, target, **values)
    assert r.T is None and not r.reachable and r.reason.startswith("unreachable at gamma")
    # and the bound really stays above it, at a huge horizon
    assert exact_value(inst.bound, {**values, "T": 2**52}) > sp.Rational(target)


@FAST
@given(inst=theorem_instances(max_levels=3, symbolic=True), fraction=st.floats(0.01, 0.99))
def test_fastest_step_size_beats_every_other_admissible_step_size(inst, fraction):
    values = {k: v for k, v in inst.values.items() if k not in ("T", "gamma")}
    gamma_max = largest_step_size(inst.bound, **values)[0] * (1 - 1e-12)
    probe = steps_to_target(inst.bound, 1e300, **_without_T(inst.values))
    target = probe.floor * 2 + 1e-3  # above the floor at the drawn gamma: reachable there
    best = fastest_step_size(inst.bound, target, gamma_max, **values)
    assert best.T is not None and best.gamma <= gamma_max
    for g in (gamma_max, fraction * gamma_max, inst.values["gamma"]):
        other = steps_to_target(inst.bound, target, gamma=g, **values)
        assert other.T is None or other.T >= best.T


def test_a_hand_case():
    """Local SGD, P = 2, gamma = 0.1: S = 2/0.1 = 20, R = 0.01 + 2 * 0.01 * 1 * (0.9 + 2) = 0.068;
    target 0.5: T = ceil(20 / 0.432) = ceil(46.3) = 47."""
    v = dict(gamma=0.1, L=1, sigma=1, n=10, F0=1, P=2, eps=1)
    r = steps_to_target(local_sgd(), 0.5, **v)
    assert (r.T, r.start) == (47, 20.0) and r.floor == pytest.approx(0.068)
    assert exact_bound(local_sgd(), T=46, **v) > sp.Rational(1, 2) >= exact_bound(local_sgd(), T=47, **v)


def test_no_start_term_reaches_at_once():
    r = steps_to_target(local_sgd(), 1.0, gamma=0.1, L=1, sigma=1, n=10, F0=0, P=2, eps=1)
    assert r.T == 1


@pytest.mark.parametrize("call, message", [
    (lambda: steps_to_target(local_sgd(), 0.0, gamma=0.1, L=1, sigma=1, n=4, F0=1, P=2, eps=1),
     "^target must be a finite positive number, got 0.0$"),
    (lambda: steps_to_target(local_sgd(), float("inf"), gamma=0.1, L=1, sigma=1, n=4, F0=1, P=2, eps=1),
     "^target must be a finite positive number"),
    (lambda: steps_to_target(local_sgd(), 0.1, gamma=0.1, L=1, sigma=1, n=4, F0=1, P=2, eps=1, T=5),
     "^steps_to_target finds T: do not pass it$"),
    (lambda: steps_to_target(local_sgd(), 0.1, gamma=0.9, L=1, sigma=1, n=4, F0=1, P=2, eps=1),
     r"^gamma = 0.9 breaks the step-size condition 4\*gamma\^2\*L\^2\*\(P\*\(P-1\)\) <= 1"),
    (lambda: steps_to_target(multi_level([2, 5], [2]), 0.1, gamma=0.01, L=1, sigma=1, n=4, F0=1, eps=[1, 1]),
     "periods"),
    (lambda: fastest_step_size(local_sgd(), 0.1, 0.0, L=1, sigma=1, n=4, F0=1, P=2, eps=1),
     "^gamma_max must be a finite positive number, got 0.0$"),
    (lambda: fastest_step_size(local_sgd(), 0.1, 0.1, gamma=0.1, L=1, sigma=1, n=4, F0=1, P=2, eps=1),
     "^fastest_step_size chooses gamma"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)
