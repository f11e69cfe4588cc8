"""Batched records (empirical/recording.py) give the one-at-a-time records bit for bit."""

import warnings

import numpy as np
import pytest

import empirical as E
import empirical.engine as engine
from empirical.recording import BatchedRecords, batch_capacity, batchable

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


def test_a_problem_without_grad_and_loss_records_one_at_a_time():
    """A user's problem records one at a time: its ``grad`` may return a reused buffer or
    float32, which a batch would have to copy or convert (and so change)."""
    buffers = {}

    def grad(u):
        buffer = buffers.setdefault(np.shape(u), np.empty(np.shape(u)))
        np.subtract(u, 2.5, out=buffer)
        return buffer

    p = E.from_gradient_fn(lambda x: x - np.arange(6.0)[:, None], grad, n=6, d=2,
                           loss=lambda u: 0.5 * ((u - 2.5) ** 2).sum(-1), noise=0.3)
    assert not batchable(p)
    r = E.simulate(p, E.two_level(6, 2, 2, 4), lr=0.1, steps=20, seeds=2, seed=1, x0=10.0)
    assert np.all(np.diff(r.grad_norm_sq[0]) < 0)  # every record its own gradient (a batch of
    # reused buffers would repeat the last one)


class ShiftedLoss(E.HeterogeneousNonconvex):
    def loss(self, u):
        return super().loss(u) + 1.0


class ClippedStep(E.HeterogeneousNonconvex):
    def stochastic_grads(self, x, rng, out, *, lr=None):
        super().stochastic_grads(x, rng, out)
        np.clip(out, -0.1, 0.1, out=out)
        if lr is not None:
            out *= lr
            x -= out
        return out


def test_a_subclass_overriding_grad_loss_or_the_step_keeps_its_override():
    """The shortcut ``grad_and_loss`` is taken only from the class that defines the methods it
    stands for: a subclass's override is not bypassed."""
    base = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
    shifted, clipped = ShiftedLoss(n=8, d=3, seed=1), ClippedStep(n=8, d=3, seed=1)
    assert batchable(base) and not batchable(shifted) and batchable(clipped)
    h = E.two_level(8, 2, 2, 4)
    r0, r1 = (E.simulate(p, h, lr=0.5, steps=30, seeds=2, x0=3.0) for p in (base, shifted))
    np.testing.assert_allclose(r1.loss, r0.loss + 1.0, rtol=1e-12)
    r2 = E.simulate(clipped, h, lr=0.5, steps=30, seeds=2, x0=3.0)
    u0 = np.full(3, 3.0)
    assert np.all(np.abs(np.diff(r2.loss[:, :2], axis=1)) > 0) and not np.array_equal(r2.loss, r0.loss)
    assert np.isclose(r2.loss[0, 0], base.loss(u0[None])[0])


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


def test_a_diverging_run_calls_the_problem_progress_and_metrics_as_one_at_a_time(monkeypatch):
    """The stop happens before the next step: no gradient, progress or metric call beyond the
    ones of one-at-a-time recording, and the metrics record by record in the same order."""
    def counted():
        calls = {"grads": 0, "progress": [], "metrics": []}
        p = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
        original = type(p).stochastic_grads  # set on the instance below: the engine calls it per step

        def stochastic_grads(x, rng, out, *, lr=None):
            calls["grads"] += 1
            return original(p, x, rng, out, lr=lr)
        p.stochastic_grads = stochastic_grads
        metrics = {"a": lambda u: calls["metrics"].append("a") or u[:, 0],
                   "b": lambda u: calls["metrics"].append("b") or u[:, 1]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", E.DivergenceWarning)
            r = E.simulate(p, E.two_level(8, 2, 2, 4), lr=1000.0, steps=400, seeds=3, metrics=metrics,
                           progress=calls["progress"].append)
        return r, calls

    a, calls_a = counted()
    with monkeypatch.context() as m:
        m.setattr(engine, "batch_capacity", lambda *args: 0)
        b, calls_b = counted()
    assert a.diverged is not None and a.diverged == b.diverged
    assert calls_a == calls_b and calls_a["metrics"][:4] == ["a", "b", "a", "b"]
    assert_same(a, b)


@pytest.mark.parametrize("a,lam,d,n", [(1.0, 4.0, 10, 32), (1e-3, 1e3, 1, 2), (50.0, 0.0, 100, 64), (0.0, 2.0, 3, 5)])
def test_states_within_the_finite_record_radius_give_finite_records(a, lam, d, n):
    """At the radius (the extreme states: every coordinate +-R, workers split), the records
    are finite (what the batching relies on to stop where one-at-a-time recording stops)."""
    from empirical.aggregation import SortedLevels

    p = E.HeterogeneousNonconvex(n=n, d=d, clusters=1, a=a, lam=lam, between=3.0, seed=2)
    R = p.finite_record_radius()
    assert 0 < R < np.inf
    levels = SortedLevels([np.arange(n) % 2], n) if n % 2 == 0 else SortedLevels([], n)
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
    for x in (np.full((1, n, d), R), np.full((1, n, d), -R), (signs * R)[None] * np.ones((1, n, d))):
        delta, u = levels.divergences(x, np.empty_like(x))
        with np.errstate(over="ignore"):  # (1 + v^2)^2 overflows to inf at such u: phi' -> 0, its limit
            g = p.grad(u)
        assert np.all(np.isfinite(delta)) and np.isfinite(np.einsum("sd,sd->s", g, g)).all()


@pytest.mark.parametrize("kw", [dict(a=0.0, lam=1e300), dict(between=1e200), dict(a=1e-300, lam=1.0)])
def test_a_problem_with_no_safe_state_stops_where_one_at_a_time_does(monkeypatch, kw):
    """Where ``||grad f||^2`` may overflow at any state (``finite_record_radius() = 0``), or
    the radius is huge (tiny ``a``), every record is judged in time: the same steps and calls."""
    def run(batching):
        calls = []
        with np.errstate(all="ignore"):  # centres of 1e200 overflow their own spread
            p = E.HeterogeneousNonconvex(n=4, d=3, seed=1, **kw)
        with monkeypatch.context() as m:
            if not batching:
                m.setattr(engine, "batch_capacity", lambda *args: 0)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", E.DivergenceWarning)
                r = E.simulate(p, E.two_level(4, 2, 2, 4), lr=1e-300 if "lam" in kw and kw["lam"] > 1 else 0.01,
                               steps=100, seeds=2, progress=calls.append)  # progress after every step
        return r, calls

    (a, calls_a), (b, calls_b) = run(True), run(False)
    assert calls_a == calls_b
    assert_same(a, b)
