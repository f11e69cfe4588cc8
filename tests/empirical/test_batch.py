"""simulate_batch: K configurations as one simulation, each equal bit for bit to its single run."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
import empirical.batch as B
from empirical.batch import BatchedNonconvex, simulate_batch


def assert_same(batched, single):
    """Every recorded array equal with ==, the same config, divergence report and extras."""
    assert np.array_equal(batched.steps, single.steps)
    assert np.array_equal(batched.grad_norm_sq, single.grad_norm_sq)
    assert np.array_equal(batched.loss, single.loss)
    assert np.array_equal(batched.divergence, single.divergence)
    assert batched.config == single.config
    assert batched.diverged == single.diverged
    assert batched.extra == single.extra


# different heterogeneity (between, within, clusters), curvature (a, lam), noise (sigma, 0 included)
# and instance seeds; one step size each
CONFIGS = [dict(between=2.0, within=1.0, sigma=1.0, seed=0),
           dict(between=0.5, within=2.0, sigma=0.3, seed=1, clusters=2),
           dict(between=3.0, within=0.1, sigma=0.0, seed=2),
           dict(between=1.0, within=1.0, sigma=2.0, seed=3, a=0.5, lam=2.0)]
LRS = [0.01, 0.03, 0.02, 0.005]
HIERARCHIES = [E.Hierarchy.two_level(8, 2, 2, 6, grouping="random", seed=1), E.Hierarchy.multi_level(8, [2, 4, 8], [4, 2])]


@pytest.mark.parametrize("hierarchy", HIERARCHIES, ids=["two_level", "three_level"])
@pytest.mark.parametrize("seed", [5, [3, 3, 5, 7]], ids=["shared_seed", "own_seeds"])
@pytest.mark.parametrize("record_every", [1, 4])
def test_every_configuration_equals_its_single_run_bit_for_bit(hierarchy, seed, record_every):
    problems = [E.HeterogeneousNonconvex(n=8, d=6, **c) for c in CONFIGS]
    results = simulate_batch(problems, hierarchy, LRS, 40, seeds=3, seed=seed, record_every=record_every)
    seeds_of = seed if isinstance(seed, list) else [seed] * len(problems)
    assert len(results) == len(problems)
    for result, problem, lr, s in zip(results, problems, LRS, seeds_of):
        assert_same(result, E.simulate(problem, hierarchy, lr, 40, seeds=3, seed=s, record_every=record_every))


def test_a_configuration_does_not_match_a_different_single_run():
    # the check above can fail: swapping two step sizes breaks the equality
    problems = [E.HeterogeneousNonconvex(n=8, d=6, **c) for c in CONFIGS[:2]]
    h = HIERARCHIES[0]
    results = simulate_batch(problems, h, LRS[:2], 20, seeds=2)
    other = E.simulate(problems[0], h, LRS[1], 20, seeds=2)
    assert not np.array_equal(results[0].grad_norm_sq, other.grad_norm_sq)
    with pytest.raises(AssertionError):
        assert_same(results[0], E.simulate(problems[0], h, LRS[0], 20, seeds=2, seed=1))


@pytest.mark.parametrize("spread", [True, False], ids=["spread_constants", "broadcast_constants"])
def test_large_configurations_split_into_blocks_stay_bit_identical(monkeypatch, spread):
    # one configuration is larger than a step block (the step loops over configurations) and the
    # single run sums f and grad f over several worker blocks; both must be reproduced exactly
    if not spread:
        monkeypatch.setattr(B, "_SPREAD", 0)
    problems = [E.HeterogeneousNonconvex(n=200, d=100, within=w, sigma=s, seed=i)
                for i, (w, s) in enumerate([(0.5, 1.0), (2.0, 0.0), (1.0, 0.5)])]
    h = E.Hierarchy.two_level(200, 4, 2, 4, grouping="random", seed=3)
    lrs = [0.01, 0.02, 0.015]
    results = simulate_batch(problems, h, lrs, 6, seeds=8, seed=4, record_every=2)
    for result, problem, lr in zip(results, problems, lrs):
        assert_same(result, E.simulate(problem, h, lr, 6, seeds=8, seed=4, record_every=2))


def test_diverging_configurations_get_their_single_runs_and_the_others_are_unaffected():
    problems = [E.HeterogeneousNonconvex(n=8, d=3, seed=i) for i in range(5)]
    h = E.Hierarchy.two_level(8, 2, 2, 4)
    lrs = [0.01, 50.0, 0.02, 400.0, 0.03]  # configurations 1 and 3 overflow
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = simulate_batch(problems, h, lrs, 150, seeds=3)
        singles = [E.simulate(p, h, lr, 150, seeds=3) for p, lr in zip(problems, lrs)]
    assert [r.diverged is not None for r in results] == [False, True, False, True, False]
    for result, single in zip(results, singles):
        assert_same(result, single)
    messages = [str(w.message) for w in caught if issubclass(w.category, E.DivergenceWarning)]
    assert sum(m.startswith("configuration 1 diverged") for m in messages) == 1
    assert sum(m.startswith("configuration 3 diverged") for m in messages) == 1


def test_one_problem_or_one_step_size_is_shared_by_every_configuration():
    p = E.HeterogeneousNonconvex(n=8, d=4, seed=2)
    h = HIERARCHIES[0]
    by_lr = simulate_batch(p, h, [0.01, 0.05], 15, seeds=2)
    by_problem = simulate_batch([p, E.HeterogeneousNonconvex(n=8, d=4, seed=3)], h, 0.01, 15, seeds=2)
    assert [r.config["lr"] for r in by_lr] == [0.01, 0.05]
    assert_same(by_lr[0], by_problem[0])
    assert_same(by_lr[1], E.simulate(p, h, 0.05, 15, seeds=2))
    assert by_problem[1].config["problem"]["seed"] == 3
    assert len(simulate_batch(p, h, 0.01, 5)) == 1


def test_the_wrapper_gradients_are_every_problem_s_own():
    problems = [E.HeterogeneousNonconvex(n=6, d=3, **c) for c in CONFIGS]
    batch = BatchedNonconvex(problems, LRS, seeds=2, noise_seeds=[0] * 4)
    x = np.random.default_rng(0).normal(size=(batch.rows, 6, 3))
    grads = batch.worker_grads(x).reshape(4, 2, 6, 3)
    u = x.mean(axis=1)
    for k, p in enumerate(problems):
        np.testing.assert_allclose(grads[k], p.worker_grads(x[2 * k:2 * k + 2]), rtol=1e-14, atol=1e-14)
        np.testing.assert_array_equal(batch.grad(u).reshape(4, 2, 3)[k], p.grad(u[2 * k:2 * k + 2]))
        np.testing.assert_array_equal(batch.loss(u).reshape(4, 2)[k], p.loss(u[2 * k:2 * k + 2]))


@pytest.mark.parametrize("call, message", [
    (lambda p, h: simulate_batch([p, E.FiniteSumLogistic(n=8, d=4)], h, 0.01, 5), "HeterogeneousNonconvex"),
    (lambda p, h: simulate_batch([p, E.HeterogeneousNonconvex(n=8, d=5)], h, 0.01, 5), "share n and d"),
    (lambda p, h: simulate_batch([p, p, p], h, [0.01, 0.02], 5), "1 or K = 3"),
    (lambda p, h: simulate_batch(p, h, [0.01, 0.0], 5), "positive finite"),
    (lambda p, h: simulate_batch(p, h, [0.01, float("nan")], 5), "positive finite"),
    (lambda p, h: simulate_batch(p, h, [], 5), "lrs must not be empty"),
    (lambda p, h: simulate_batch(p, h, 0.01, 5, seeds=0), "seeds must be a positive integer"),
    (lambda p, h: simulate_batch(p, h, 0.01, 0), "steps must be a positive integer"),
    (lambda p, h: simulate_batch(p, h, 0.01, 5, seed=-1), "seed must be non-negative"),
    (lambda p, h: simulate_batch(p, h, 0.01, 5, record_every=True), "record_every"),
    (lambda p, h: simulate_batch(p, E.Hierarchy.two_level(4, 2, 2, 4), 0.01, 5), "hierarchy has n = 4"),
    (lambda p, h: simulate_batch(p, "two-level", 0.01, 5), "hierarchy must be"),
])
def test_bad_input_is_refused_with_one_line_naming_it(call, message):
    p, h = E.HeterogeneousNonconvex(n=8, d=4), HIERARCHIES[0]
    with pytest.raises(ValueError, match=message):
        call(p, h)


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 3.0), st.floats(0.0, 2.0), st.floats(1e-3, 0.1), st.integers(0, 99)),
                min_size=1, max_size=4),
       st.integers(1, 3), st.sampled_from([0, 1]), st.integers(0, 2**31))
def test_any_sweep_equals_its_single_runs(configs, seeds, which, seed):
    h = HIERARCHIES[which]
    problems = [E.HeterogeneousNonconvex(n=8, d=3, within=w, sigma=s, seed=i) for w, s, _, i in configs]
    lrs = [lr for _, _, lr, _ in configs]
    results = simulate_batch(problems, h, lrs, 12, seeds=seeds, seed=seed, record_every=2)
    for result, problem, lr in zip(results, problems, lrs):
        assert_same(result, E.simulate(problem, h, lr, 12, seeds=seeds, seed=seed, record_every=2))


def test_bench_batch_speedup_is_reported_and_bad_sizes_rejected():
    from empirical.bench import batch_speedup
    c = batch_speedup(K=3, n=4, d=2, seeds=2, steps=5, repeats=1)
    assert c["batch_s"] > 0 and c["loop_s"] > 0 and c["min"] == c["median"] > 0 and c["K"] == 3
    with pytest.raises(ValueError, match="K must be a positive integer"):
        batch_speedup(K=0)
