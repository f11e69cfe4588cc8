"""Batched records (empirical/recording.py) give the one-at-a-time records bit for bit."""

import warnings

import numpy as np
import pytest

import empirical as E
import empirical.engine as engine
from empirical.recording import BatchedRecords, batch_capacity

FIELDS = ("steps", "grad_norm_sq", "loss", "divergence")


def bits(a):
    return np.ascontiguousarray(a).view(np.int64)


def run_both(monkeypatch, problem, hierarchy, **kw):
    """The same run recorded in batches and one record at a time (batching turned off)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.DivergenceWarning)
        batched = E.simulate(problem, hierarchy, **kw)
        with monkeypatch.context() as m:
            m.setattr(engine, "batch_capacity", lambda *args: 0)
            single = E.simulate(problem, hierarchy, **kw)
    return batched, single


def assert_same(a, b):
    for field in FIELDS:
        assert np.array_equal(bits(getattr(a, field)), bits(getattr(b, field))), field
    assert a.diverged == b.diverged
    for name in a.extra.get("metrics", {}):
        assert np.array_equal(bits(a.extra["metrics"][name]), bits(b.extra["metrics"][name]))


@pytest.mark.parametrize("seeds,record_every,levels", [(3, 1, "two"), (1, 2, "three"), (5, 7, "local"),
                                                         (2, 1, "three")])
def test_batched_records_equal_single_records(monkeypatch, seeds, record_every, levels):
    p = E.HeterogeneousNonconvex(n=12, d=4, clusters=3, sigma=0.8, seed=2)
    h = {"two": E.two_level(12, 3, 2, 6, grouping="random"), "local": E.local_sgd(12, 5),
         "three": E.multi_level(12, (2, 4, 12), (6, 3))}[levels]
    a, b = run_both(monkeypatch, p, h, lr=0.05, steps=150, seeds=seeds, seed=4, record_every=record_every,
                    metrics={"first": lambda u: u[:, 0], "norm": lambda u: np.sqrt((u * u).sum(-1))})
    assert a.steps.size == -(-150 // record_every)
    assert_same(a, b)


def test_batched_records_of_a_problem_without_grad_and_loss(monkeypatch):
    """``grad`` and ``loss`` called record by record (no ``grad_and_loss``): the same numbers."""
    p = E.from_gradient_fn(lambda x: x - np.arange(6.0)[:, None], lambda u: u - 2.5, n=6, d=2,
                           loss=lambda u: 0.5 * ((u - 2.5) ** 2).sum(-1), noise=0.3)
    assert not hasattr(p, "grad_and_loss")
    a, b = run_both(monkeypatch, p, E.two_level(6, 2, 2, 4), lr=0.1, steps=90, seeds=2, seed=1)
    assert_same(a, b)


@pytest.mark.parametrize("capacity", [1, 4, 7, 64])
def test_a_run_diverging_inside_a_batch_stops_at_the_same_step(monkeypatch, capacity):
    """The first non-finite record is found wherever it falls in a batch: the same report, the
    same rows kept, with every batch size."""
    monkeypatch.setattr(engine, "batch_capacity", lambda *args: capacity)
    p = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.DivergenceWarning)
        a = E.simulate(p, E.two_level(8, 2, 2, 4), lr=1000.0, steps=200, seeds=3, seed=0)
    with monkeypatch.context() as m:
        m.setattr(engine, "batch_capacity", lambda *args: 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", E.DivergenceWarning)
            b = E.simulate(p, E.two_level(8, 2, 2, 4), lr=1000.0, steps=200, seeds=3, seed=0)
    assert b.diverged is not None and 0 < b.steps.size < 200
    assert_same(a, b)


def test_the_observer_sees_every_record_one_at_a_time():
    """An observer needs the live state at each recorded step: those runs record one at a time."""
    seen = []
    p = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
    E.simulate(p, E.two_level(8, 2, 2, 4), lr=0.01, steps=10, seeds=2, observer=lambda t, x, u: seen.append(t))
    assert seen == list(range(10))


def test_batch_capacity_bounds_memory_and_turns_off_for_large_states():
    assert batch_capacity(8, 32, 10, 10_000) == (1 << 20) // (8 * 8 * 32 * 10)
    assert batch_capacity(1, 2, 2, 10_000) == 64  # at most MAX_BATCH
    assert batch_capacity(1, 2, 2, 5) == 5  # at most the records
    assert batch_capacity(1, 4096, 100, 10_000) == 0  # a state of 3.3 MB: one at a time
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        BatchedRecords(E.HeterogeneousNonconvex(n=2, d=1), None, (1, 2, 1), (None, None, None), [], 0)


def test_batched_records_keep_the_workers_blocks_of_one_record(monkeypatch):
    """``n`` large enough that a batch of records would split the workers into more blocks
    than one record does (``HeterogeneousNonconvex._phi_terms``): ``grad_and_loss`` keeps one
    record's blocks, so the sums over workers are added in the same order."""
    p = E.HeterogeneousNonconvex(n=600, d=20, clusters=4, sigma=0.5, seed=3)
    h = E.two_level(600, 150, 2, 6, grouping="random")
    assert batch_capacity(2, 600, 20, 12) >= 4  # batched, with 4+ records x 2 seeds per batch
    a, b = run_both(monkeypatch, p, h, lr=0.02, steps=12, seeds=2, seed=3, x0=0.3)
    assert_same(a, b)
