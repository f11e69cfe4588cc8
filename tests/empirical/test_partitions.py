"""Seeded partitioners, data weights, weighted divergences and the partitioned logistic problem."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import empirical as E
from bounds.divergence import level_divergences
from empirical.partitions import (
    MAX_TRIES,
    Partition,
    as_partition,
    data_weights,
    dirichlet_partition,
    iid_partition,
    label_entropy,
    make_partition,
    partition_report,
    quantity_skew_partition,
    shard_partition,
    weighted_divergences,
)
from empirical.problems import sampled_divergences

RNG = np.random.default_rng(11)
labels_st = st.lists(st.integers(0, 5), min_size=12, max_size=120).map(np.array)


def assert_exact_cover(parts, size, n):
    assert isinstance(parts, Partition) and len(parts) == n
    assert all(p.dtype == np.intp and p.ndim == 1 for p in parts)
    everything = np.concatenate(list(parts))
    assert everything.size == size and np.array_equal(np.sort(everything), np.arange(size))  # disjoint and covering


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@settings(max_examples=40, deadline=None)
@given(labels_st, st.integers(1, 6), st.sampled_from([0.3, 1.0, 10.0]), st.integers(0, 2**20),
       st.integers(1, 2))
def test_dirichlet_partition_is_a_seeded_cover_with_min_size(y, n, alpha, seed, min_size):
    assume(n * min_size <= y.size)
    try:
        parts = dirichlet_partition(y, n, alpha, seed, min_size=min_size)
    except ValueError as err:  # a legitimate failure must say so, and only for a skewed draw or no room to spare
        tight = 4 * n * min_size > y.size  # few items per worker (12 items, 6 workers): 100 draws can all miss
        assert str(err).startswith("a worker was left with") and (alpha < 10 or tight)
        assume(False)
    assert_exact_cover(parts, y.size, n)
    assert parts.sizes.min() >= min_size
    assert same(parts, dirichlet_partition(y, n, alpha, seed, min_size=min_size))  # deterministic per seed
    assert parts.spec == dict(kind="dirichlet", n=n, alpha=alpha, seed=seed, min_size=min_size)


@settings(max_examples=40, deadline=None)
@given(labels_st, st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**20))
def test_shard_partition_covers_and_sizes_differ_by_at_most_k(y, n, k, seed):
    assume(n * k <= y.size)
    parts = shard_partition(y, n, k, seed)
    assert_exact_cover(parts, y.size, n)
    assert parts.sizes.max() - parts.sizes.min() <= k
    assert same(parts, shard_partition(y, n, k, seed))


@settings(max_examples=40, deadline=None)
@given(st.integers(10, 300), st.integers(1, 5), st.sampled_from([1.0, 5.0, 50.0]), st.integers(0, 2**20))
def test_quantity_and_iid_partitions_cover(size, n, alpha, seed):
    q = quantity_skew_partition(size, n, alpha, seed)
    assert_exact_cover(q, size, n)
    assert same(q, quantity_skew_partition(size, n, alpha, seed))
    iid = iid_partition(size, n, seed)
    assert_exact_cover(iid, size, n)
    assert iid.sizes.max() - iid.sizes.min() <= 1
    assert same(iid, iid_partition(np.zeros(size, dtype=int), n, seed))  # labels or their number


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**20), st.integers(1, 2**20))
def test_different_seeds_give_different_partitions(seed, offset):
    y = np.repeat(np.arange(5), 40)
    other = seed + offset
    assert not same(dirichlet_partition(y, 4, 1.0, seed), dirichlet_partition(y, 4, 1.0, other))
    assert not same(shard_partition(y, 4, 2, seed), shard_partition(y, 4, 2, other))
    assert not same(quantity_skew_partition(200, 4, 1.0, seed), quantity_skew_partition(200, 4, 1.0, other))
    assert not same(iid_partition(200, 4, seed), iid_partition(200, 4, other))


def test_label_skew_grows_as_alpha_falls():
    y = np.repeat(np.arange(10), 100)
    alphas = [0.05, 0.2, 1.0, 5.0, 50.0]
    entropy = [np.mean([label_entropy(y, dirichlet_partition(y, 10, a, s)).mean() for s in range(20)]) for a in alphas]
    # mean per-worker label entropy, 20 seeds each: measured steps 0.55, 0.66, 0.25, 0.07 nats, SEs <= 0.03
    assert all(hi - lo > 0.03 for lo, hi in zip(entropy, entropy[1:])), entropy
    assert entropy[-1] > 0.95 * np.log(10)  # large alpha is close to IID
    spread = [np.mean([np.std(quantity_skew_partition(1000, 10, a, s).sizes) for s in range(20)])
              for a in [0.3, 1.0, 5.0, 50.0]]
    assert all(lo > hi * 1.3 for lo, hi in zip(spread, spread[1:])), spread  # size skew grows as alpha falls


def test_shards_give_each_worker_k_classes_when_shards_align():
    y = np.repeat(np.arange(10), 20)
    parts = shard_partition(y, 10, 2, seed=3)
    assert all(len(np.unique(y[p])) <= 2 for p in parts)
    assert sorted(len(np.unique(y[p])) for p in iid_partition(y, 10, 3))[-1] > 2  # the IID split is not so


def test_make_partition_dispatches_and_checks_its_parameter():
    y = np.repeat(np.arange(4), 10)
    assert same(make_partition("dirichlet", y, 3, alpha=0.5, seed=2), dirichlet_partition(y, 3, 0.5, 2))
    assert same(make_partition("quantity", y, 3, alpha=0.5, seed=2), quantity_skew_partition(40, 3, 0.5, 2))
    for kwargs, msg in [(dict(kind="dirichlet"), "alpha is required"),
                        (dict(kind="shards"), "classes_per_worker is required"),
                        (dict(kind="shards", classes_per_worker=1, alpha=1.0), "alpha applies"),
                        (dict(kind="iid", classes_per_worker=1), "classes_per_worker applies"),
                        (dict(kind="label"), "kind must be one of")]:
        with pytest.raises(ValueError, match=msg):
            make_partition(labels=y, n=2, **kwargs)


@pytest.mark.parametrize("call, msg", [
    (lambda: dirichlet_partition([0, 1, 1], 2, 0.0, 0), "alpha must be > 0"),
    (lambda: dirichlet_partition([0, 1, 1], 2, -1, 0), "alpha must be > 0"),
    (lambda: dirichlet_partition([0, 1, 1], 2, float("nan"), 0), "alpha must be > 0"),
    (lambda: dirichlet_partition([0, 1, 1], 0, 1.0, 0), "n must be an integer >= 1"),
    (lambda: dirichlet_partition([0, 1, 1], 4, 1.0, 0), "n must be at most 3"),
    (lambda: dirichlet_partition([0, 1, 1, 1], 2, 1.0, 0, min_size=3), "n must be at most 1"),
    (lambda: dirichlet_partition([[0, 1]], 1, 1.0, 0), "labels must be a non-empty 1-d array"),
    (lambda: dirichlet_partition([0, -1], 1, 1.0, 0), "labels must be non-negative"),
    (lambda: dirichlet_partition([0, 0.5], 1, 1.0, 0), "labels must be integers"),
    (lambda: dirichlet_partition([0, 1], 1, 1.0, -3), "seed must be a non-negative integer"),
    (lambda: dirichlet_partition([0, 1], 1, 1.0, 1.5), "seed must be a non-negative integer"),
    (lambda: dirichlet_partition(np.arange(60) % 3, 50, 1e-3, 0), "a worker was left with no data"),
    (lambda: quantity_skew_partition(60, 50, 1e-3, 0), r"a worker was left with no data \(alpha = 0.001, n = 50\)"),
    (lambda: quantity_skew_partition(0, 1, 1.0, 0), "size must be an integer >= 1"),
    (lambda: shard_partition([0, 1, 2], 2, 2, 0), "classes_per_worker must be at most 1"),
    (lambda: shard_partition([0, 1, 2], 2, 0, 0), "classes_per_worker must be an integer >= 1"),
    (lambda: iid_partition(3, 4, 0), "n must be at most 3"),
    (lambda: data_weights([[0, 1], []]), "worker 1 holds no items"),
    (lambda: as_partition([[0], [1]], 3, 4), "partition must hold n = 3 index arrays, got 2"),
    (lambda: as_partition([[0], [0.5]], 2, 4), r"partition\[1\] must be a non-empty 1-d array of integer indices"),
])
def test_bad_input_is_a_one_line_value_error(call, msg):
    with pytest.raises(ValueError, match=msg) as err:
        call()
    assert "\n" not in str(err.value)


def test_min_size_and_bounded_tries():
    y = np.repeat(np.arange(3), 30)
    parts = dirichlet_partition(y, 6, 0.1, seed=4, min_size=5)
    assert parts.sizes.min() >= 5
    assert MAX_TRIES >= 10
    with pytest.raises(ValueError, match="fewer than min_size = 14 items"):  # 6 x 14 = 84 <= 90 but very unlikely
        dirichlet_partition(y, 6, 0.01, seed=4, min_size=14)


def test_data_weights_are_size_shares():
    w = data_weights(iid_partition(10, 3, 0))
    assert w.tolist() == [0.4, 0.3, 0.3] and w.sum() == 1.0


def test_label_entropy_of_known_splits():
    y = np.array([0, 0, 1, 1, 2, 2])
    h = label_entropy(y, [[0, 1], [0, 2, 4], [2, 3]])
    np.testing.assert_allclose(h, [0.0, np.log(3), 0.0])


# ---------------------------------------------------------------------- weighted divergences
@st.composite
def weighted_systems(draw):
    n = draw(st.integers(2, 7))
    k1 = draw(st.integers(1, n))
    fine = np.array(draw(st.lists(st.integers(0, k1 - 1), min_size=n, max_size=n)))
    fine = np.unique(fine, return_inverse=True)[1]
    k = int(fine.max()) + 1
    coarse_of = np.array(draw(st.lists(st.integers(0, 1), min_size=k, max_size=k)))
    coarse = np.unique(coarse_of[fine], return_inverse=True)[1]
    counts = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    grads = np.array(draw(st.lists(st.floats(-3, 3), min_size=2 * n * 2, max_size=2 * n * 2))).reshape(2, n, 2)
    return grads, [fine, coarse], counts


@settings(max_examples=60, deadline=None)
@given(weighted_systems())
def test_weighted_divergences_equal_those_of_replicated_workers(system):
    """Compute it two ways: integer weights c_j/C are worker j holding c_j identical copies."""
    grads, levels, counts = system
    total, divs, pw = weighted_divergences(grads, levels, counts / counts.sum())
    rep = np.repeat(np.arange(counts.size), counts)
    parts = level_divergences(grads[:, rep], [lab[rep] for lab in levels])
    for l in range(3):
        np.testing.assert_allclose(divs[l] @ pw[l], parts[:, l], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(total, parts.sum(axis=1), rtol=1e-9, atol=1e-12)  # Lemma 1 with weights
    assert pw[-1].tolist() == pytest.approx([1.0])


def test_weighted_divergences_reject_bad_weights():
    g = np.zeros((1, 3, 2))
    for w, msg in [([0.5, 0.5], r"weights must have shape \(3,\)"), ([0.5, 0.6, -0.1], "positive and sum to 1")]:
        with pytest.raises(ValueError, match=msg):
            weighted_divergences(g, [], w)


def test_sampled_divergences_with_equal_weights_match_the_default():
    p = E.HeterogeneousNonconvex(n=6, d=3)
    points = RNG.normal(size=(20, 3))
    levels = [np.array([0, 0, 1, 1, 2, 2])]
    plain = sampled_divergences(p, points, levels)
    weighted = sampled_divergences(p, points, levels, weights=np.full(6, 1 / 6))
    for a, b in zip([plain[0], *plain[1]], [weighted[0], *weighted[1]]):
        assert b.value == pytest.approx(a.value, rel=1e-12) and b.label.startswith("estimated (")
    skewed = sampled_divergences(p, points, levels, weights=np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1]))
    assert skewed[0].value != pytest.approx(plain[0].value, rel=1e-3)  # the weights matter
    assert "data-weighted" in skewed[1][0].label


# ---------------------------------------------------------------------- the partitioned logistic problem
def test_logistic_default_is_the_contiguous_partition_of_its_pool():
    p = E.FiniteSumLogistic(n=5, d=3, m=7, seed=3)
    assert p.partition.spec["kind"] == "contiguous" and p.weights.tolist() == [0.2] * 5
    assert all(np.all(p.labels[part] == j) for j, part in enumerate(p.partition))  # classes = n: worker j is class j
    q = E.FiniteSumLogistic(n=5, d=3, m=7, seed=3, partition=[np.arange(7 * j, 7 * j + 7) for j in range(5)])
    assert np.array_equal(p.A, q.A) and np.array_equal(p.y, q.y)
    u = RNG.normal(size=3)
    assert p.loss(u) == q.loss(u) and np.array_equal(p.grad(u), q.grad(u))
    assert "partition" not in p.params and q.params["partition"] == {"kind": "given"}


def test_partitioned_logistic_objective_is_the_pooled_weighted_one():
    p = E.FiniteSumLogistic.partitioned("dirichlet", 6, alpha=0.3, d=3, m=10, classes=3, seed=1)
    assert len(set(p.sizes.tolist())) > 1 and p.A.shape == (6, p.sizes.max(), 3)
    u = RNG.normal(size=3)
    h = 1e-6
    fd = np.array([(p.loss(u + h * e) - p.loss(u - h * e)) / (2 * h) for e in np.eye(3)])
    np.testing.assert_allclose(p.grad(u), fd, rtol=1e-6, atol=1e-8)
    # two ways: sum_j p_j grad F_j, and the mean over every example of the pool the partition holds
    idx = np.concatenate(list(p.partition))
    pool_A = np.concatenate([p.A[j, :s] for j, s in enumerate(p.sizes)])
    pool_y = np.concatenate([p.y[j, :s] for j, s in enumerate(p.sizes)])
    assert idx.size == pool_A.shape[0]
    pooled = -(pool_y / (1 + np.exp(pool_y * (pool_A @ u))))[:, None] * pool_A
    np.testing.assert_allclose(p.grad(u), pooled.mean(axis=0) + p._reg_grad(u), rtol=1e-12)
    np.testing.assert_allclose(p.grad(u), p.weights @ p.worker_grads(np.broadcast_to(u, (6, 3))), rtol=1e-12)
    loss_pooled = np.logaddexp(0, -pool_y * (pool_A @ u)).mean() + p.lam * np.sum(u * u / (1 + u * u))
    assert p.loss(u) == pytest.approx(loss_pooled, rel=1e-12)


def test_partitioned_logistic_minibatches_stay_inside_each_worker():
    pool = E.FiniteSumLogistic.pool_labels(4, 5, classes=2)
    parts = [np.array([3]), np.arange(4, 10), np.arange(10, 12), np.array([0, 1, 2, 12, 13, 14, 15, 16, 17, 18, 19])]
    p = E.FiniteSumLogistic(4, d=3, m=5, classes=2, partition=parts, batch=3)
    assert pool.tolist() == p.labels.tolist() and p.sizes.tolist() == [1, 6, 2, 11]
    xs = np.broadcast_to(RNG.normal(size=3), (2000, 4, 3)).copy()
    g = p.stochastic_grads(xs, np.random.default_rng(0), np.empty_like(xs))
    true = p.worker_grads(xs)
    assert np.array_equal(g[:, 0], true[:, 0])  # one example: the minibatch is the full gradient, never padding
    se = g.std(axis=0) / np.sqrt(2000)
    assert np.all(np.abs(g.mean(axis=0) - true[0]) <= 5 * se + 1e-12)  # unbiased: padding is never drawn
    c = p.constants([[0, 0, 1, 1]], samples=32)
    x, y = RNG.normal(size=(2, 500, 4, 3)) * 2
    ratio = np.linalg.norm(p.worker_grads(x) - p.worker_grads(y), axis=-1) / np.linalg.norm(x - y, axis=-1)
    assert c.L.label == "certified upper bound" and ratio.max() <= c.L.value
    assert "data-weighted" in c.eps.label and c.estimated() == ("sigma", "eps", "eps_levels[0]", "eps_levels[1]")


def test_partition_report_says_what_the_partition_is_and_its_constants():
    p = E.FiniteSumLogistic.partitioned("shards", 8, classes_per_worker=1, d=3, m=12, classes=4, seed=0)
    r = partition_report(p, [np.arange(8) // 4])
    assert r["partition"] == dict(kind="shards", n=8, classes_per_worker=1, seed=0)
    assert sum(r["sizes"]) == 96 and sum(r["weights"]) == pytest.approx(1.0)
    assert r["label_entropy"] <= np.log(2) + 1e-12  # one shard of 12 from classes of 24: at most two classes
    assert [e["label"].split()[0] for e in r["eps_levels"]] == ["estimated", "estimated"]
    assert r["L"]["label"] == "certified upper bound" and r["estimated"] == ["sigma", "eps", "eps_levels[0]",
                                                                           "eps_levels[1]"]
    iid = partition_report(E.FiniteSumLogistic.partitioned("iid", 8, d=3, m=12, classes=4, seed=0), [np.arange(8) // 4])
    assert iid["label_entropy"] > r["label_entropy"] and iid["eps"]["value"] < r["eps"]["value"]
    with pytest.raises(ValueError, match="problem must be a partitioned problem"):
        partition_report(E.HeterogeneousNonconvex(n=4, d=2))
