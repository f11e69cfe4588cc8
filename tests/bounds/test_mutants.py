"""The mutants of Theorem 2: the identity mutant is the theorem, every mutant is optimistic
(never above the theorem, its condition never tighter), and none is equivalent to it."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds.mutants import Instance, mutants, theorem
from bounds.strategies import theorem_instances


def _instance(inst) -> Instance:
    v = inst.values
    h = inst.shape
    return Instance(gamma=v["gamma"], L=v["L"], sigma=v["sigma"], F0=v["F0"], n=h.n, T=v["T"],
                    periods=h.periods, counts=h.counts, eps=tuple(v["eps"]))


@settings(max_examples=200, deadline=None)
@given(theorem_instances())
def test_the_identity_mutant_is_theorem_2(inst):
    x = _instance(inst)
    expected = x.shape.bound().evaluate(**x.values())
    assert theorem().value(x) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert theorem().condition(x)  # drawn inside the condition


@settings(max_examples=200, deadline=None)
@given(theorem_instances(), st.floats(1.0, 8.0))
def test_every_mutant_is_optimistic(inst, stretch):
    x = _instance(inst)
    wide = Instance(**{**x.__dict__, "gamma": x.gamma * stretch})
    for m in mutants(max_levels=4):
        if "->eps_" in m.name:  # optimistic only where the other level's eps is smaller: below
            continue
        for point in (x, wide):
            assert m.value(point) <= theorem().value(point) * (1 + 1e-12) + 1e-300, m.name
            assert m.condition(point) or not theorem().condition(point), m.name


@settings(max_examples=100, deadline=None)
@given(theorem_instances(), st.data())
def test_an_eps_swap_is_optimistic_where_the_other_eps_is_smaller(inst, data):
    x = _instance(inst)
    for m in mutants(max_levels=4):
        if "->eps_" not in m.name or m.level > x.M:
            continue
        l, other = (int(part) for part in m.name.replace("eps_", "").split("->"))
        if x.eps[other - 1] <= x.eps[l - 1]:
            assert m.value(x) <= theorem().value(x) * (1 + 1e-12) + 1e-300, m.name


def test_no_mutant_is_equivalent_to_the_theorem():
    """Each mutant is below the theorem (or its condition is looser) at some instance."""
    x = Instance(gamma=0.01, L=1.0, sigma=1.0, F0=1.0, n=8, T=100, periods=(2, 4), counts=(8, 2, 1), eps=(0.5, 2.0))
    swapped = Instance(**{**x.__dict__, "eps": (2.0, 0.5)})
    outside = Instance(**{**x.__dict__, "gamma": 0.15})  # 4 gamma^2 (2 + 12) = 1.26 > 1
    assert not theorem().condition(outside)
    for m in mutants(max_levels=2):
        below = any(m.value(point) < theorem().value(point) for point in (x, swapped))
        assert below or m.condition(outside), m.name


def test_conditions_are_decided_exactly():
    """At P = 2 the limit is gamma L = 1/(2 sqrt 2), irrational: each float near it is judged at
    its exact value, and the step of one ulp across the limit flips the answer."""
    import math

    limit = 1 / (2 * math.sqrt(2))
    near = [math.nextafter(limit, 0), limit, math.nextafter(limit, 1)]
    x = Instance(gamma=0.5, L=1.0, sigma=0.0, F0=1.0, n=2, T=1, periods=(2,), counts=(2, 1), eps=(0.0,))
    answers = [theorem().condition(Instance(**{**x.__dict__, "gamma": g})) for g in near]
    assert answers == [8 * Fraction(g) ** 2 <= 1 for g in near]
    assert answers[0] and not answers[2]
    assert not theorem().condition(x) and mutants(1)[-1].condition(x)  # 2 > 1, but <= 4


def test_bad_instances_are_rejected():
    with pytest.raises(ValueError, match="counts must run from K_0 = n"):
        Instance(gamma=0.1, L=1, sigma=0, F0=1, n=4, T=1, periods=(1, 2), counts=(3, 2, 1), eps=(0, 0))
    with pytest.raises(ValueError, match="M >= 1 periods"):
        Instance(gamma=0.1, L=1, sigma=0, F0=1, n=4, T=1, periods=(1, 2), counts=(4, 1), eps=(0, 0))
