"""bounds.Shape: the one hierarchy-shape value type (n, periods, groups), checked on construction."""

import numpy as np
import pytest
import sympy as sp

import bounds
from bounds import Shape


def test_counts_levels_and_equal_groups():
    h = Shape(12, (2, 4, 8), (6, 2))
    assert (h.M, h.counts, h.equal_groups) == (3, (12, 6, 2, 1), True)
    assert Shape(10, (1, 5), (3,)).equal_groups is False
    assert Shape(5, (3,)).counts == (5, 1) and Shape(5, (3,)).groups == ()


def test_entries_become_python_ints_and_shapes_compare_by_value():
    h = Shape(np.int64(8), [np.int64(2), 4], [sp.Integer(4)])
    assert h == Shape(8, (2, 4), (4,)) and hash(h) == hash(Shape(8, (2, 4), (4,)))
    assert all(type(v) is int for v in (h.n, *h.periods, *h.groups))


@pytest.mark.parametrize("theorem", [bounds.THEOREM_2, bounds.THEOREM_S])
def test_bound_is_multi_level_of_the_periods_and_groups(theorem):
    h = Shape(32, (5, 25, 100), (16, 4))
    assert h.bound(theorem).terms == bounds.multi_level([5, 25, 100], [16, 4], theorem=theorem).terms


@pytest.mark.parametrize("args, message", [
    ((8, (2, 4.0), (4,)), r"^periods\[1\] must be a positive integer \(int, numpy integer or sympy Integer\)"),
    ((8, (2, 4), (np.float64(4),)), r"^groups\[0\] must be a positive integer"),
    ((8, (), ()), r"^periods must list at least one period"),
    ((8, (2, 4), ()), r"^groups must list 1 group counts for 2 periods, got 0"),
    ((8, (2, 5), (4,)), r"^periods\[1\] = 5 must be a multiple of periods\[0\] = 2 \(periods must nest\)"),
    ((8, (1, 2, 4), (2, 4)), r"^groups\[1\] = 4 must be at most groups\[0\] = 2"),
    ((8, (1, 2), (9,)), r"^groups\[0\] = 9 must be at most n = 8"),
    ((0, (1,), ()), r"^n must be a positive integer, got 0"),
    ((2.5, (1,), ()), r"^n must be a positive integer, got 2.5"),
    ((True, (1,), ()), r"^n must be a positive integer, got True"),
    ((8, (0,), ()), r"^periods\[0\] must be a positive integer"),
    ((8, (1, 2), (1.5,)), r"^groups\[0\] must be a positive integer"),
    ((8, (sp.Symbol("P"),), ()), r"^periods\[0\] must be a number in a shape"),
    ((8, 5, ()), r"^periods must be a sequence"),
])
def test_bad_shapes_are_rejected_naming_the_rule(args, message):
    with pytest.raises(ValueError, match=message):
        Shape(*args)


def test_an_instance_has_the_shape_of_its_periods_and_counts_and_its_json_is_unchanged():
    x = bounds.Instance(gamma=0.01, L=1.0, sigma=1.0, F0=1.0, n=8, T=100, periods=(2, 6), counts=(8, 2, 1),
                        eps=(0.5, 1.0))
    assert x.shape == Shape(8, (2, 6), (2,))
    assert set(x.to_json()) >= {"n", "periods", "counts"} and "shape" not in x.to_json()
    assert bounds.Instance.from_json(x.to_json()) == x
    with pytest.raises(ValueError, match=r"periods\[1\] = 5 must be a multiple of periods\[0\] = 2"):
        bounds.Instance(gamma=0.01, L=1.0, sigma=1.0, F0=1.0, n=8, T=100, periods=(2, 5), counts=(8, 2, 1),
                        eps=(0.5, 1.0))
