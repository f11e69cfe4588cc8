"""One random stream per seed: reproducible, independent of how many seeds run, hierarchy-free."""

import numpy as np
import pytest

import empirical as E
from empirical.problems import heterogeneous
from empirical.streams import SeedStreams


def test_a_seeds_stream_does_not_depend_on_how_many_run():
    a, b = SeedStreams(5, 4), SeedStreams(5, 2)
    assert np.array_equal(a.standard_normal((4, 3, 2))[:2], b.standard_normal((2, 3, 2)))
    assert np.array_equal(a.integers(0, 9, size=(4, 5))[:2], b.integers(0, 9, size=(2, 5)))
    out = np.empty((4, 3))
    a.random(out=out)
    assert np.array_equal(out[:2], b.random((2, 3)))
    assert not np.array_equal(out[0], out[1])


def test_draws_need_the_seed_axis_first():
    with pytest.raises(ValueError, match="leading seed axis of length 3"):
        SeedStreams(0, 3).standard_normal((2, 4))
    with pytest.raises(AttributeError, match="draw per seed from .generators"):
        SeedStreams(0, 3).gamma(1.0, size=(3,))


def test_simulation_seed_s_is_the_same_run_in_a_smaller_batch():
    p = E.HeterogeneousNonconvex(n=8, d=3, sigma=0.7)
    h = E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1)
    big = E.simulate(p, h, lr=0.02, steps=25, seeds=5, seed=9)
    small = E.simulate(p, h, lr=0.02, steps=25, seeds=2, seed=9)
    np.testing.assert_allclose(big.grad_norm_sq[:2], small.grad_norm_sq, rtol=1e-12, atol=0)
    np.testing.assert_allclose(big.divergence[:2], small.divergence, rtol=1e-12, atol=1e-300)


def test_gradient_blocks_do_not_change_the_numbers(monkeypatch):
    """Blocking over workers (bounded scratch) gives the same gradients and the same noise."""
    p = E.HeterogeneousNonconvex(n=10, d=3, sigma=0.9)
    x = np.random.default_rng(0).normal(size=(3, 10, 3))
    whole = p.stochastic_grads(x, SeedStreams(2, 3), np.empty_like(x))
    monkeypatch.setattr(heterogeneous, "_BLOCK", 7)  # blocks of 1 worker for 3 seeds x 3 coordinates
    p2 = E.HeterogeneousNonconvex(n=10, d=3, sigma=0.9)
    blocked = p2.stochastic_grads(x, SeedStreams(2, 3), np.empty_like(x))
    np.testing.assert_allclose(blocked, whole, rtol=1e-14, atol=1e-15)
    u = x[:, 0]
    np.testing.assert_allclose(p2.grad(u), p.grad(u), rtol=1e-13)
    np.testing.assert_allclose(p2.loss(u), p.loss(u), rtol=1e-13)
    # and the noiseless part is the true gradient
    p3 = E.HeterogeneousNonconvex(n=10, d=3, sigma=0.0)
    np.testing.assert_allclose(p3.stochastic_grads(x, SeedStreams(2, 3), np.empty_like(x)), p3.worker_grads(x),
                               rtol=1e-12, atol=1e-13)
