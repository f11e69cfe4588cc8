"""The hot-loop aggregation and divergences (empirical.aggregation) against bounds.divergence."""

import numpy as np
import pytest

import empirical as E
from bounds import level_divergences
from empirical.aggregation import SortedLevels

TOL = dict(rtol=1e-10, atol=1e-12)

GROUPINGS = [
    [],                                                          # local SGD
    [[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]],                      # equal, already sorted
    [[2, 0, 1, 1, 0, 2, 2, 2, 1, 0, 2, 2]],                      # unequal, shuffled
    [[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]],  # three levels, shuffled
    [[0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 5, 5], [0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2]],  # three levels, unequal
]


@pytest.mark.parametrize("levels", GROUPINGS)
def test_divergences_match_bounds_level_divergences(levels):
    x = np.random.default_rng(1).normal(size=(3, 12, 4))
    s = SortedLevels(levels, 12)
    before = x.copy()
    delta, u = s.divergences(x, work=np.empty_like(x))
    np.testing.assert_allclose(delta, level_divergences(x, levels), **TOL)
    np.testing.assert_allclose(u, x.mean(axis=1), **TOL)
    assert np.array_equal(x, before)  # the state is only read


@pytest.mark.parametrize("levels", GROUPINGS)
def test_aggregate_zeroes_its_level_and_below_and_keeps_the_mean(levels):
    s = SortedLevels(levels, 12)
    for level in range(1, s.M + 1):
        x = np.random.default_rng(level).normal(size=(2, 12, 3))
        mean = x.mean(axis=1)
        s.aggregate(x, level, work=np.empty_like(x))
        np.testing.assert_allclose(x.mean(axis=1), mean, **TOL)
        parts = level_divergences(x, levels)
        assert np.all(parts[:, :level] <= 1e-28)
        if level < s.M:
            assert np.all(parts[:, level:].sum(axis=1) > 0)
        # every worker holds its own group's mean
        labels = ([*levels, np.zeros(12, dtype=int)])[level - 1]
        for g in np.unique(labels):
            assert np.allclose(x[:, np.asarray(labels) == g], x[:, np.asarray(labels) == g][:, :1])


@pytest.mark.parametrize("levels", GROUPINGS[1:])
def test_group_divergences_and_their_slopes(levels):
    """div_p by brute force per group; slopes against finite differences along a direction."""
    s = SortedLevels(levels, 12)
    rng = np.random.default_rng(3)
    x, dx = rng.normal(size=(2, 2, 12, 3))
    xs, dxs = x[:, s.order], dx[:, s.order]
    divs, slopes = s.group_divergences(xs, dxs)
    chain = [np.arange(12), *[np.asarray(lab) for lab in levels], np.zeros(12, dtype=int)]
    for l in range(1, s.M + 1):
        coarse, fine = chain[l], chain[l - 1]
        expected = []
        for p in dict.fromkeys(coarse[s.order]):   # groups are numbered in sorted order
            members = coarse == p
            mp = x[:, members].mean(axis=1)
            div = 0.0
            for u in np.unique(fine[members]):
                child = fine == u
                du = x[:, child].mean(axis=1) - mp
                div = div + child.sum() / members.sum() * np.sum(du * du, axis=-1)
            expected.append(div)
        expected = np.stack(expected, axis=1)
        np.testing.assert_allclose(divs[l - 1], expected, **TOL)
    h = 1e-6
    plus, _ = s.group_divergences(xs + h * dxs)
    minus, _ = s.group_divergences(xs - h * dxs)
    for l in range(s.M):
        np.testing.assert_allclose(slopes[l], (plus[l] - minus[l]) / (2 * h), rtol=1e-6, atol=1e-8)


def test_engine_records_what_level_divergences_says():
    p = E.HeterogeneousNonconvex(n=12, d=3, sigma=0.5)
    h = E.Hierarchy.multi_level(12, [1, 2, 4], [6, 3], grouping=[np.array(g) for g in GROUPINGS[4]])
    r = E.simulate(p, h, lr=0.05, steps=7, seeds=2, seed=3)
    from empirical.reference import reference_run

    for t in (1, 3, 5, 6):
        ref = reference_run(p, h, lr=0.05, steps=t, seeds=2, seed=3)
        np.testing.assert_allclose(r.divergence[:, t], level_divergences(ref, list(h.levels)), rtol=1e-8, atol=1e-14)


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=60, deadline=None)
@given(groups=st.integers(1, 9), members=st.integers(1, 40), d=st.sampled_from([1, 2, 3, 10]),
       batch=st.integers(1, 3), scale=st.sampled_from([1e-9, 1.0, 1e9]), seed=st.integers(0, 2**16))
def test_group_means_taken_by_place_are_the_sorted_means_bit_for_bit(groups, members, d, batch, scale, seed):
    """The aggregation's fast group means (workers taken by their place in the group, one
    reduction over the leading axis) equal the means of the sorted workers summed member by
    member (:meth:`SortedLevels._level_means`, the former path), bit for bit."""
    rng = np.random.default_rng(seed)
    n = groups * members
    labels = rng.permutation(np.repeat(np.arange(groups), members))
    s = SortedLevels([labels], n)
    x = rng.normal(size=(batch, n, d)) * scale
    fast = s._means_of_workers(x, 1, np.empty_like(x))
    reference = s._level_means(np.ascontiguousarray(x[:, s.order]), 1)
    assert np.array_equal(fast.view(np.int64), reference.view(np.int64))


def test_by_place_sums_need_d_above_one():
    """Why ``d = 1`` keeps the sorted sum: numpy sums a contiguous axis pairwise, so summing
    the members one by one gives other bits for some input (the fast path would be wrong)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=64) * np.logspace(0, 12, 64)
    pairwise = np.add.reduce(values)
    one_by_one = 0.0
    for v in values:
        one_by_one = one_by_one + v
    assert pairwise != one_by_one
