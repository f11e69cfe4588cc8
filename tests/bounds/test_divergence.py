"""Lemma 1 (exact split) and Lemma 2 (random grouping) as numpy functions."""

import itertools

import numpy as np
import pytest

import bounds

REL = 1e-12


def brute_split(v, labels):
    """docs/theory.md §2.1 Definitions (of the divergences), one worker at a time."""
    n = len(v)
    u = v.mean(axis=0)
    total = sum(np.sum((v[j] - u) ** 2) for j in range(n)) / n
    up = down = 0.0
    for p in set(labels):
        members = [j for j in range(n) if labels[j] == p]
        up_p = v[members].mean(axis=0)
        up += len(members) / n * np.sum((up_p - u) ** 2)
        down += sum(np.sum((v[j] - up_p) ** 2) for j in members) / n
    return total, up, down


def test_lemma_1_split_matches_definitions_with_unequal_groups():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(7, 4))
    labels = [0, 2, 1, 1, 0, 2, 2]
    split = bounds.divergence_split(v, labels)
    total, up, down = brute_split(v, labels)
    assert split.total == pytest.approx(total, rel=REL)
    assert split.upward == pytest.approx(up, rel=REL)
    assert split.downward == pytest.approx(down, rel=REL)
    assert split.upward + split.downward == pytest.approx(split.total, rel=REL)


def test_lemma_1_batched_over_leading_axes():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(3, 5, 6, 2))
    labels = [0, 0, 1, 1, 1, 2]
    split = bounds.divergence_split(v, labels)
    assert split.total.shape == (3, 5)
    for i, j in itertools.product(range(3), range(5)):
        total, up, down = brute_split(v[i, j], labels)
        assert split.upward[i, j] == pytest.approx(up, rel=REL)
        assert split.downward[i, j] == pytest.approx(down, rel=REL)


def test_three_level_split_telescopes():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(8, 3))
    fine = [0, 0, 1, 1, 2, 3, 3, 3]  # unequal level-1 groups
    coarse = [0, 0, 0, 0, 1, 1, 1, 1]
    parts = bounds.level_divergences(v, [fine, coarse])
    total, _, within_fine = brute_split(v, fine)
    _, between_coarse, _ = brute_split(v, coarse)
    assert parts.shape == (3,)
    assert parts[0] == pytest.approx(within_fine, rel=REL)  # workers around level-1 groups
    assert parts[2] == pytest.approx(between_coarse, rel=REL)  # level-2 groups around the mean
    assert parts.sum() == pytest.approx(total, rel=REL)


def test_lemma_2_exact_over_all_pairings():
    """All 15 ways to pair 6 workers: the average between-group share is (N-1)/(n-1) exactly."""
    rng = np.random.default_rng(3)
    v = rng.normal(size=(6, 2))
    shares = []

    def pairings(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for i, other in enumerate(rest):
            for tail in pairings(rest[:i] + rest[i + 1:]):
                yield [(first, other)] + tail

    all_pairings = list(pairings(list(range(6))))
    assert len(all_pairings) == 15
    for pairing in all_pairings:
        labels = np.empty(6, dtype=int)
        for g, pair in enumerate(pairing):
            labels[list(pair)] = g
        split = bounds.divergence_split(v, labels)
        shares.append(split.upward / split.total)
    expected = bounds.expected_shares(6, [3])
    assert np.mean(shares) == pytest.approx(expected[1], rel=REL)  # (3-1)/(6-1)
    assert expected[1] == pytest.approx(2 / 5, rel=REL)


def test_lemma_2_nested_monte_carlo_within_sampling_error():
    rng = np.random.default_rng(4)
    n, groups = 16, [8, 2]
    v = rng.normal(size=(n, 3)) * rng.uniform(0.1, 3, size=(n, 1))  # uneven workers
    total = bounds.divergence_split(v, np.zeros(n, dtype=int)).total
    draws = np.array([bounds.level_divergences(v, bounds.random_nested_labels(n, groups, rng)) / total
                      for _ in range(4000)])
    mean, se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(len(draws))
    expected = bounds.expected_shares(n, groups)
    assert np.allclose(expected, [8 / 15, 6 / 15, 1 / 15], rtol=REL)
    assert np.all(np.abs(mean - expected) <= 4 * se), (mean, expected, se)


def test_random_nested_labels_are_equal_nested_and_reproducible():
    levels = bounds.random_nested_labels(24, [6, 3], rng=7)
    assert [np.bincount(lab).tolist() for lab in levels] == [[4] * 6, [8] * 3]
    bounds.validate_levels(levels, 24)  # raises if not nested
    again = bounds.random_nested_labels(24, [6, 3], rng=7)
    assert all(np.array_equal(a, b) for a, b in zip(levels, again))
    other = bounds.random_nested_labels(24, [6, 3], rng=8)
    assert not np.array_equal(levels[0], other[0])


@pytest.mark.parametrize("call, message", [
    (lambda: bounds.divergence_split(np.zeros((4, 2)), [0, 1, 1]), r"labels must be a 1-d array of length n = 4"),
    (lambda: bounds.divergence_split(np.zeros((4, 2)), [0, 2, 2, 0]), r"empty group"),
    (lambda: bounds.divergence_split(np.zeros((4, 2)), [0, -1, 1, 0]), r"non-negative group indices"),
    (lambda: bounds.divergence_split(np.zeros(4), [0, 1, 1, 0]), r"vectors must have shape \(\.\.\., n, d\)"),
    (lambda: bounds.level_divergences(np.zeros((4, 2)), [[0, 1, 0, 1], [0, 0, 1, 1]]), r"does not nest"),
    (lambda: bounds.expected_shares(10, [4]), r"groups\[0\] = 4 must divide 10"),
    (lambda: bounds.expected_shares(1, []), r"n must be at least 2"),
    (lambda: bounds.random_nested_labels(8, [3]), r"must divide 8"),
    (lambda: bounds.random_nested_labels(8, [2, 4]), r"exceeds the finer level's group count"),
])
def test_bad_groupings_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
