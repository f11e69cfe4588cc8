"""Property-based tests of hierarchies and aggregation."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from bounds import level_divergences, validate_levels
from empirical.aggregation import SortedLevels


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
    h = E.Hierarchy.multi_level(n, [2**l for l in range(len(counts) + 1)], counts, grouping=grouping, seed=seed)
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
    before = x.mean(axis=1)
    SortedLevels([labels], n).aggregate(x, 1, work=np.empty_like(x))
    np.testing.assert_allclose(x.mean(axis=1), before, rtol=1e-10, atol=1e-12)
    assert np.all(level_divergences(x, [labels])[..., 0] <= 1e-20)


@st.composite
def hierarchies(draw, max_n=9):
    """Random hierarchies: any counts, random or contiguous grouping, nested periods."""
    n, counts = draw(nested_counts_upto(max_n))
    periods, p = [], 1
    for _ in range(len(counts) + 1):
        p *= draw(st.integers(1, 3))
        periods.append(p)
    grouping = draw(st.sampled_from(["random", "contiguous"]))
    return E.Hierarchy.multi_level(n, periods, counts, grouping=grouping, seed=draw(st.integers(0, 99)))


@st.composite
def nested_counts_upto(draw, max_n):
    n = draw(st.integers(1, max_n))
    counts, previous = [], n
    for _ in range(draw(st.integers(0, 2))):
        previous = draw(st.integers(1, previous))
        counts.append(previous)
    return n, counts


@settings(max_examples=40, deadline=None)
@given(hierarchies(max_n=30), st.integers(1, 3), st.integers(0, 99))
def test_hot_loop_divergences_equal_lemma_1(h, d, seed):
    x = np.random.default_rng(seed).normal(size=(2, h.n, d)) * 3
    delta, u = SortedLevels(h.levels, h.n).divergences(x, work=np.empty_like(x))
    np.testing.assert_allclose(delta, level_divergences(x, list(h.levels)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(delta.sum(axis=1), ((x - x.mean(axis=1, keepdims=True)) ** 2).sum(-1).mean(1),
                               rtol=1e-9, atol=1e-12)  # Lemma 1: the levels add up to the total
    np.testing.assert_allclose(u, x.mean(axis=1), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(hierarchies(), st.integers(1, 2), st.integers(1, 9), st.integers(0, 99))
def test_engine_equals_the_per_worker_loop(h, d, steps, seed):
    from empirical.reference import reference_run

    p = E.HeterogeneousNonconvex(n=h.n, d=d, clusters=min(3, h.n), sigma=0.8, seed=seed)
    ref = reference_run(p, h, lr=0.04, steps=steps, seeds=2, seed=seed)
    r = E.simulate(p, h, lr=0.04, steps=steps + 1, seeds=2, seed=seed, record_every=1)
    g = p.grad(ref.mean(axis=1))
    np.testing.assert_allclose(r.grad_norm_sq[:, steps], np.einsum("sd,sd->s", g, g), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.divergence[:, steps], level_divergences(ref, list(h.levels)), rtol=1e-7, atol=1e-13)


@settings(max_examples=15, deadline=None)
@given(hierarchies(max_n=10), st.floats(0.0, 3.0), st.floats(0.0, 2.0), st.floats(0.0, 6.0), st.integers(0, 99))
def test_certified_constants_bound_sampled_divergences(h, between, within, lam, seed):
    p = E.HeterogeneousNonconvex(n=h.n, d=2, clusters=min(3, h.n), between=between, within=within, lam=lam,
                                 seed=seed)
    c = p.constants(h.levels)
    rng = np.random.default_rng(seed)
    pts = np.concatenate([rng.normal(size=(400, 2)) * 5, p.c[rng.integers(0, h.n, 400)] + rng.normal(size=(400, 2))])
    grads = p.worker_grads(np.broadcast_to(pts[:, None, :], (pts.shape[0], h.n, 2)))
    parts = level_divergences(grads, list(h.levels))
    assert parts.sum(axis=1).max() <= c.eps.value ** 2 * (1 + 1e-12) + 1e-12
    for l, bound in enumerate(c.eps_levels):
        # sampled sup of a level's divergence <= sum over groups of (n_p/n) sup div_p (A3's form)
        assert parts[:, l].max() <= bound.value ** 2 * (1 + 1e-12) + 1e-12
