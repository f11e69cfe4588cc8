"""Hierarchies: groupings nest, periods nest, strategies use the problem, errors name the rule."""

import numpy as np
import pytest

import bounds
import empirical as E
from bounds import Shape, divergence_split

P = E.HeterogeneousNonconvex(n=16, d=3, clusters=4, between=3.0, within=0.3)


def test_level_to_aggregate_picks_the_highest_level():
    h = E.Hierarchy.multi_level(8, [2, 6, 12], [4, 2])
    levels = [h.level_to_aggregate(t) for t in range(12)]
    assert levels == [0, 1, 0, 1, 0, 2, 0, 1, 0, 1, 0, 3]


def test_random_grouping_is_seeded_equal_and_nested():
    a = E.Hierarchy.multi_level(24, [1, 2, 4], [6, 2], grouping="random", seed=3)
    b = E.Hierarchy.multi_level(24, [1, 2, 4], [6, 2], grouping="random", seed=3)
    c = E.Hierarchy.multi_level(24, [1, 2, 4], [6, 2], grouping="random", seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.levels, b.levels))
    assert not np.array_equal(a.levels[0], c.levels[0])
    assert [np.bincount(lab).tolist() for lab in a.levels] == [[4] * 6, [12] * 2]


def test_unequal_groups_when_counts_do_not_divide():
    h = E.Hierarchy.two_level(10, 3, 1, 2, grouping="contiguous")
    assert sorted(np.bincount(h.levels[0]).tolist()) == [3, 3, 4]
    assert h.group_counts == (10, 3, 1)


def test_homogeneous_and_heterogeneous_groupings_use_the_problem():
    """Clusters far apart: homogeneous groups recover them (big upward divergence), mixed
    groups average them out (small upward divergence)."""
    homo = E.Hierarchy.two_level(16, 4, 1, 2, grouping="homogeneous", problem=P)
    hetero = E.Hierarchy.two_level(16, 4, 1, 2, grouping="heterogeneous", problem=P)
    offsets = P.worker_grads(np.zeros((16, 3)))
    up_homo = divergence_split(offsets, homo.levels[0]).upward
    up_hetero = divergence_split(offsets, hetero.levels[0]).upward
    assert up_homo > 10 * up_hetero
    clusters_of_groups = [set(P.cluster[homo.levels[0] == g]) for g in range(4)]
    assert all(len(s) == 1 for s in clusters_of_groups)
    c_homo, c_hetero = P.constants(homo.levels), P.constants(hetero.levels)
    assert c_homo.eps_levels[1].value > c_hetero.eps_levels[1].value


@pytest.mark.parametrize("call, message", [
    (lambda: E.Hierarchy.two_level(8, 2, 3, 4), "G must be a multiple of I"),
    (lambda: E.Hierarchy.two_level(8, 9, 1, 2), "N must be at most n"),
    (lambda: E.Hierarchy.two_level(8, 2, 0, 2), "I must be a positive integer"),
    (lambda: E.Hierarchy.two_level(8, 2, 1, 2, grouping="clever"), "grouping must be one of"),
    (lambda: E.Hierarchy.two_level(8, 2, 1, 2, grouping="homogeneous"), "needs the problem"),
    (lambda: E.Hierarchy.two_level(8, 3, 1, 2, grouping=np.array([0, 0, 1, 1, 0, 0, 1, 1])), "grouping has 2 groups, but N = 3"),
    (lambda: E.Hierarchy.multi_level(8, [1, 2, 4], [2, 4]), r"groups\[1\] = 4 must be at most 2"),
    (lambda: E.Hierarchy.multi_level(8, [2, 3], [4]), r"periods\[1\] = 3 must be a multiple of periods\[0\] = 2"),
    (lambda: E.Hierarchy.multi_level(8, [1, 2], [4, 2]), "groups must list 1 group counts"),
    (lambda: E.Hierarchy.multi_level(4, [1, 2, 4], [2, 2], grouping=[[0, 1, 0, 1], [0, 0, 1, 1]]), "does not nest"),
    (lambda: E.Hierarchy.local_sgd(0, 2), "n must be a positive integer"),
    (lambda: E.Hierarchy.multi_level(4, [1, 2], [2], grouping=[[0, 1, 2, 2]]), r"grouping\[0\] has 3 groups, but groups\[0\] = 2"),
])
def test_invalid_hierarchies(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_multi_level_takes_periods_then_groups_like_the_bound():
    """The same order as bounds.multi_level(periods, groups); the old order is refused with a hint."""
    h = E.Hierarchy.multi_level(8, [1, 2, 4], [4, 2])
    assert h.periods == (1, 2, 4) and h.group_counts == (8, 4, 2, 1)
    with pytest.raises(ValueError, match=r"the order is Hierarchy\.multi_level\(n, periods, groups\)"):
        E.Hierarchy.multi_level(8, [4, 2], [1, 2, 4])


def test_a_hierarchy_has_the_shape_of_its_labels():
    h = E.Hierarchy.two_level(10, 3, 1, 2, grouping="contiguous")
    assert h.shape == Shape(10, (1, 2), (3,)) and h.shape.counts == h.group_counts
    assert E.Hierarchy.local_sgd(4, 3).shape == Shape(4, (3,))
    assert h.shape.bound().terms == bounds.multi_level([1, 2], [3]).terms
    assert not hasattr(E, "two_level") and not hasattr(E, "multi_level") and not hasattr(E, "local_sgd")
