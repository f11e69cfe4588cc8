"""The digits problem: a non-IID split by label and correct gradients."""

import numpy as np

import empirical as E
from empirical.digits import DigitsMLP


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
    r = E.simulate(p, E.two_level(10, 2, 2, 10), lr=0.3, steps=200, seeds=2, record_every=20,
                   metrics={"test_accuracy": p.test_accuracy})
    acc = r.extra["metrics"]["test_accuracy"]
    assert acc.shape == (2, 10) and acc[:, -1].mean() > acc[:, 0].mean()
    assert r.loss[:, -1].mean() < r.loss[:, 0].mean()
    c = p.constants([np.arange(10) // 5])
    assert c.sigma.label.startswith("estimated (") and c.L.value > 0
    assert set(c.estimated()) == {"L", "sigma", "eps", "eps_levels[0]", "eps_levels[1]"}
