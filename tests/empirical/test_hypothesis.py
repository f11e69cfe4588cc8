"""Property-based tests of hierarchies and aggregation."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from bounds import level_divergences, validate_levels
from empirical.engine import _Aggregator


@st.composite
def nested_counts(draw):
    n = draw(st.integers(1, 60))
    counts, previous = [], n
    for _ in range(draw(st.integers(0, 3))):
        previous = draw(st.integers(1, previous))
        counts.append(previous)
    return n, counts


@given(nested_counts(), st.sampled_from(["random", "contiguous"]), st.integers(0, 10**6))
def test_every_grouping_nests_with_the_requested_counts(nc, grouping, seed):
    n, counts = nc
    h = E.multi_level(n, counts, [2**l for l in range(len(counts) + 1)], grouping=grouping, seed=seed)
    validate_levels(h.levels, n)
    assert list(h.group_counts) == [n, *counts, 1]
    sizes = [np.bincount(lab) for lab in h.levels]
    assert all(s.max() - s.min() <= 1 for s in sizes[:1])  # level 1 as equal as the counts allow


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 40), st.data())
def test_aggregation_preserves_the_mean_and_zeroes_its_level(n, data):
    k = data.draw(st.integers(1, n))
    labels = np.array(data.draw(st.permutations(list(range(k)) + data.draw(
        st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k)))))
    x = np.random.default_rng(n).normal(size=(2, n, 3))
    h = E.two_level(n, k, 1, 2, grouping=labels)
    before = x.mean(axis=1)
    _Aggregator(labels, h.order)(x)
    np.testing.assert_allclose(x.mean(axis=1), before, rtol=1e-10, atol=1e-12)
    assert np.all(level_divergences(x, [labels])[..., 0] <= 1e-20)
