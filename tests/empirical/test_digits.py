"""The digits problem: a non-IID split by label and correct gradients."""

import numpy as np

import empirical as E
from empirical.problems.digits import DigitsMLP


def test_split_is_by_label_and_gradients_match_finite_differences():
    p = DigitsMLP(n=10, hidden=4, labels_per_worker=2)
    assert all(set(np.unique(p.Y[j])) <= set(p.classes[j]) for j in range(p.n))
    u = p.default_x0() + np.random.default_rng(0).normal(scale=0.1, size=p.d)
    g = p.grad(u)
    rng = np.random.default_rng(1)
    for i in rng.choice(p.d, size=12, replace=False):
        e = np.zeros(p.d)
        e[i] = 1e-6
        fd = (p.loss(u + e) - p.loss(u - e)) / 2e-6
        assert abs(fd - g[i]) <= 1e-6 + 1e-5 * abs(g[i])


def test_training_reduces_loss_and_accuracy_is_recorded():
    p = DigitsMLP(n=10, hidden=8)
    r = E.simulate(p, E.Hierarchy.two_level(10, 2, 2, 10), lr=0.3, steps=200, seeds=2, record_every=20,
                   metrics={"test_accuracy": p.test_accuracy})
    acc = r.extra["metrics"]["test_accuracy"]
    assert acc.shape == (2, 10) and acc[:, -1].mean() > acc[:, 0].mean()
    assert r.loss[:, -1].mean() < r.loss[:, 0].mean()
    c = p.constants([np.arange(10) // 5])
    assert c.sigma.label.startswith("estimated (") and c.L.value > 0
    assert set(c.estimated()) == {"L", "sigma", "eps", "eps_levels[0]", "eps_levels[1]"}


# ---------------------------------------------------------------------- partitions
import pytest

from empirical.problems.digits import digits_partitioned, digits_train_labels
from empirical.partitions import partition_report
from empirical.streams import SeedStreams

# the label-pair split before partitions existed (F7 depends on it): each worker's 69 image
# indices, summed (exact integers), and the default problem's numbers at x0 (to 1e-12)
DEFAULT_INDEX_SUMS = [11276, 11857, 11484, 13698, 12123, 35697, 39562, 35871, 37785, 37180,
                      61690, 62881, 63765, 59161, 61777, 86962, 87557, 85906, 85123, 85715]


def test_default_split_and_its_numbers_are_unchanged():
    p = DigitsMLP()
    x0 = p.default_x0()
    assert p.m == 69 and p.partition.spec == dict(kind="label_pairs", n=20, labels_per_worker=2)
    assert [len(part) for part in p.partition] == [69] * 20
    assert [int(np.sum(part)) for part in p.partition] == DEFAULT_INDEX_SUMS
    assert float(p.loss(x0)) == pytest.approx(2.421017988183349, rel=1e-12, abs=0)
    assert float(np.linalg.norm(p.grad(x0))) == pytest.approx(0.5529270736265166, rel=1e-12, abs=0)
    assert float(np.linalg.norm(p.X)) == pytest.approx(143.83303308437183, rel=1e-12, abs=0)
    xs = np.broadcast_to(x0, (2, p.n, p.d)).copy()
    g = p.stochastic_grads(xs, SeedStreams(5, 2), np.empty_like(xs))
    assert float(np.linalg.norm(g)) == pytest.approx(15.175488924704492, rel=1e-12, abs=0)
    assert np.array_equal(g, p.stochastic_grads(xs, SeedStreams(5, 2), np.empty_like(xs)))  # same seed, same numbers
    assert p.weights.tolist() == [0.05] * 20 and "partition" not in p.params
    # the same split given explicitly is the same problem
    q = DigitsMLP(partition=list(p.partition))
    assert np.array_equal(q.X, p.X) and q.loss(x0) == p.loss(x0)
    assert all(np.array_equal(p.labels[part], p.Y[j]) for j, part in enumerate(p.partition))  # it indexes the labels


def test_unequal_workers_weighted_objective_and_gradients():
    p = digits_partitioned("dirichlet", 8, alpha=0.3, seed=2, hidden=4)
    assert len(set(p.sizes.tolist())) > 1 and p.X.shape == (8, p.sizes.max(), 64)
    assert p.params["partition"]["alpha"] == 0.3
    assert all(set(np.unique(p.Y[j, :s])) == set(p.classes[j]) for j, s in enumerate(p.sizes))
    u = p.default_x0() + np.random.default_rng(0).normal(scale=0.1, size=p.d)
    g = p.grad(u)
    for i in np.random.default_rng(1).choice(p.d, size=8, replace=False):
        e = np.zeros(p.d)
        e[i] = 1e-6
        fd = (p.loss(u + e) - p.loss(u - e)) / 2e-6
        assert abs(fd - g[i]) <= 1e-6 + 1e-5 * abs(g[i])
    # two ways: f = sum_j p_j F_j is the mean loss over every image the partition holds
    pooled = DigitsMLP(n=1, hidden=4, seed=2, partition=[np.concatenate(list(p.partition))])
    assert p.loss(u) == pytest.approx(pooled.loss(u), rel=1e-12)
    np.testing.assert_allclose(g, pooled.grad(u), rtol=1e-9, atol=1e-14)


def test_minibatches_are_drawn_among_the_workers_own_images():
    labels = digits_train_labels()
    parts = [np.array([5]), np.arange(100, 130), np.arange(200, 500)]
    p = DigitsMLP(n=3, hidden=4, batch=4, partition=parts)
    assert p.sizes.tolist() == [1, 30, 300] and p.labels.tolist() == labels.tolist()
    xs = np.broadcast_to(p.default_x0(), (400, 3, p.d)).copy()
    g = p.stochastic_grads(xs, np.random.default_rng(0), np.empty_like(xs))
    true = p.worker_grads(xs[:1])[0]
    np.testing.assert_allclose(g[:, 0], np.broadcast_to(true[0], g[:, 0].shape), rtol=1e-12, atol=1e-15)  # one image
    se = g[:, 1].std(axis=0) / np.sqrt(400)
    assert np.all(np.abs(g[:, 1].mean(axis=0) - true[1]) <= 5 * se + 1e-12)  # unbiased among its own 30
    s = p.stochastic_grads(xs[:2], SeedStreams(1, 2), np.empty_like(xs[:2]))  # the engine's streams work too
    assert np.all(np.isfinite(s))


def test_every_kind_builds_and_reports_weighted_constants():
    for kind, extra in [("shards", dict(classes_per_worker=2)), ("quantity", dict(alpha=1.0)), ("iid", {})]:
        p = digits_partitioned(kind, 6, seed=1, hidden=4, **extra)
        assert p.partition.spec["kind"] == kind and sum(p.sizes) == len(p.labels)
        if kind == "shards":
            assert max(len(c) for c in p.classes) <= 4  # a shard straddles at most two classes
    r = partition_report(p, [np.arange(6) // 3])
    assert r["partition"]["kind"] == "iid" and r["label_entropy"] > 2.2
    assert "data-weighted" in r["eps"]["label"] and "pilot-trajectory" in r["eps_levels"][1]["label"]
    assert r["sigma"]["label"].startswith("estimated (") and "16 draws" in r["sigma"]["label"]
    assert set(r["estimated"]) == {"L", "sigma", "eps", "eps_levels[0]", "eps_levels[1]"}


@pytest.mark.parametrize("call, msg", [
    (lambda: digits_partitioned("labels", 4), "kind must be one of"),
    (lambda: digits_partitioned("dirichlet", 4), "alpha is required"),
    (lambda: digits_partitioned("shards", 4, alpha=1.0, classes_per_worker=2), "alpha applies"),
    (lambda: digits_partitioned("iid", 4, partition=[]), "partition is set by digits_partitioned"),
    (lambda: DigitsMLP(n=2, partition=[[0, 1]]), "partition must hold n = 2 index arrays, got 1"),
    (lambda: DigitsMLP(n=1, partition=[[0, 5000]]), r"partition\[0\] must index the 1438 training images"),
    (lambda: DigitsMLP(n=1, partition=[[]]), r"partition\[0\] must be a non-empty"),
])
def test_bad_partitions_are_rejected(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
