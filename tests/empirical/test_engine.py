"""The engine: invariants, exact equivalences, a per-worker reference, reproducibility, failures."""


import numpy as np
import pytest

import empirical as E
from bounds import divergence_split, level_divergences
from empirical.aggregation import SortedLevels
from empirical.reference import reference_run

TOL = dict(rtol=1e-10, atol=1e-12)  # one tolerance for "equal up to rounding"


def problem(n=8, d=3, sigma=0.5, **kw):
    return E.HeterogeneousNonconvex(n=n, d=d, sigma=sigma, **kw)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 2, 2, 3, 3], [2, 0, 1, 1, 0, 2, 2, 2]])
def test_aggregation_keeps_the_global_average_and_zeroes_its_level(labels):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 8, 4))
    before = x.mean(axis=1).copy()
    SortedLevels([labels], 8).aggregate(x, 1, work=np.empty_like(x))
    np.testing.assert_allclose(x.mean(axis=1), before, **TOL)
    split = divergence_split(x, labels)
    np.testing.assert_allclose(split.downward, 0, atol=1e-24)
    assert np.all(split.upward > 0)


def test_recorded_divergence_resets_at_each_level():
    p = problem()
    h = E.Hierarchy.multi_level(8, [2, 4, 8], [4, 2], grouping="random", seed=3)
    r = E.simulate(p, h, lr=0.05, steps=16, seeds=2)
    div = r.divergence  # before step t: after the aggregation that followed step t-1
    for t in range(1, 16):
        if t % 8 == 0:
            np.testing.assert_allclose(div[:, t].sum(axis=-1), 0, atol=1e-24)
        elif t % 4 == 0:
            np.testing.assert_allclose(div[:, t, :2], 0, atol=1e-24)
            assert np.all(div[:, t, 2] > 0)
        elif t % 2 == 0:
            np.testing.assert_allclose(div[:, t, 0], 0, atol=1e-24)
            assert np.all(div[:, t, 1:] > 0)
        else:
            assert np.all(div[:, t, 0] > 0)


def test_global_average_moves_only_by_the_average_gradient():
    """u^{t+1} = u^t - lr * mean_j g_j: aggregations never move it (deterministic run)."""
    p = E.from_gradient_fn(lambda x: x - np.arange(6.0)[:, None], lambda u: u - 2.5, n=6, d=1,
                           loss=lambda u: 0.5 * ((u[..., 0] - 2.5) ** 2))
    h = E.Hierarchy.two_level(6, 3, 2, 4, grouping="random")
    r = E.simulate(p, h, lr=0.1, steps=12, x0=1.0)
    u = 2.5 + (1.0 - 2.5) * 0.9 ** np.arange(12)  # linear: the average follows gradient descent
    np.testing.assert_allclose(r.grad_norm_sq[0], (u - 2.5) ** 2, **TOL)


@pytest.mark.parametrize("build", [
    lambda: E.Hierarchy.local_sgd(8, 4),
    lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1),
    lambda: E.Hierarchy.two_level(8, 3, 1, 3, grouping=np.array([0, 1, 2, 2, 1, 0, 0, 0])),
    lambda: E.Hierarchy.multi_level(8, [1, 2, 6], [4, 2], grouping="contiguous"),
])
def test_engine_matches_the_per_worker_reference_loop(build):
    p, h = problem(), build()
    steps = 13
    ref = reference_run(p, h, lr=0.03, steps=steps, seeds=2, seed=4)
    r = E.simulate(p, h, lr=0.03, steps=steps + 1, seeds=2, seed=4)
    # the record before step `steps` is the state after `steps` steps
    u = ref.mean(axis=1)
    g = p.grad(u)
    np.testing.assert_allclose(r.grad_norm_sq[:, steps], np.einsum("sd,sd->s", g, g), **TOL)
    np.testing.assert_allclose(r.divergence[:, steps], level_divergences(ref, list(h.levels)), rtol=1e-8, atol=1e-14)


def _same_run(a, b):
    np.testing.assert_allclose(a.grad_norm_sq, b.grad_norm_sq, **TOL)
    np.testing.assert_allclose(a.loss, b.loss, **TOL)
    np.testing.assert_allclose(a.divergence.sum(axis=-1), b.divergence.sum(axis=-1), rtol=1e-9, atol=1e-12)


def test_equivalences_with_the_same_seed():
    p = problem(n=8)
    run = lambda h: E.simulate(p, h, lr=0.02, steps=40, seeds=3, seed=7)  # noqa: E731
    _same_run(run(E.Hierarchy.two_level(8, 2, 4, 4)), run(E.Hierarchy.local_sgd(8, 4)))          # I = G
    _same_run(run(E.Hierarchy.two_level(8, 8, 2, 8)), run(E.Hierarchy.local_sgd(8, 8)))          # N = n
    _same_run(run(E.Hierarchy.two_level(8, 1, 2, 8)), run(E.Hierarchy.local_sgd(8, 2)))          # N = 1


def test_same_seed_same_bits_other_seed_other_result():
    p, h = problem(), E.Hierarchy.two_level(8, 2, 2, 4)
    a = E.simulate(p, h, lr=0.02, steps=30, seeds=2, seed=11)
    b = E.simulate(p, h, lr=0.02, steps=30, seeds=2, seed=11)
    c = E.simulate(p, h, lr=0.02, steps=30, seeds=2, seed=12)
    assert np.array_equal(a.grad_norm_sq, b.grad_norm_sq) and np.array_equal(a.divergence, b.divergence)
    assert not np.array_equal(a.grad_norm_sq, c.grad_norm_sq)
    assert not np.array_equal(a.grad_norm_sq[0], a.grad_norm_sq[1])  # seeds are different runs


def test_record_every_records_the_same_points():
    p, h = problem(), E.Hierarchy.two_level(8, 2, 2, 4)
    full = E.simulate(p, h, lr=0.02, steps=30, seed=1)
    sparse = E.simulate(p, h, lr=0.02, steps=30, seed=1, record_every=7)
    assert sparse.steps.tolist() == [0, 7, 14, 21, 28]
    np.testing.assert_allclose(sparse.grad_norm_sq, full.grad_norm_sq[:, ::7], **TOL)
    np.testing.assert_allclose(full.running_avg[:, -1], full.grad_norm_sq.mean(axis=1), **TOL)


def test_divergence_stops_and_reports_step_and_seed():
    p = problem(sigma=0.0)
    with pytest.warns(E.DivergenceWarning, match=r"diverged .* at step \d+, seed 0"):
        r = E.simulate(p, E.Hierarchy.local_sgd(8, 2), lr=1e3, steps=500, seeds=2)
    assert r.diverged is not None and 0 < r.diverged["step"] < 500
    assert r.grad_norm_sq.shape[1] == r.diverged["step"]
    assert np.all(np.isfinite(r.grad_norm_sq))


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0), "lr must be a positive finite number"),
    (dict(lr=float("nan")), "lr must be a positive finite number"),
    (dict(steps=2.5), "steps must be a positive integer"),
    (dict(steps=0), "steps must be a positive integer"),
    (dict(seeds=0), "seeds must be a positive integer"),
    (dict(record_every=0), "record_every must be a positive integer"),
    (dict(x0=[1.0, 2.0]), r"x0 must be a scalar or a vector of length d = 3"),
])
def test_bad_simulation_input(kwargs, message):
    args = dict(lr=0.01, steps=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        E.simulate(problem(), E.Hierarchy.local_sgd(8, 2), **args)


def test_problem_and_hierarchy_sizes_must_agree():
    with pytest.raises(ValueError, match="problem has n = 8 workers but the hierarchy has n = 6"):
        E.simulate(problem(), E.Hierarchy.local_sgd(6, 2), lr=0.01, steps=5)


def test_save_and_load_round_trip(tmp_path):
    r = E.simulate(problem(), E.Hierarchy.two_level(8, 2, 2, 4), lr=0.02, steps=20, seeds=2)
    r.extra["constants"] = problem().constants(E.Hierarchy.two_level(8, 2, 2, 4).levels).as_dict()
    r.save(tmp_path / "run")
    back = E.load_result(tmp_path / "run.npz")
    for name in ("steps", "grad_norm_sq", "loss", "divergence"):
        assert np.array_equal(getattr(back, name), getattr(r, name))
    assert back.config == r.config
    assert back.extra["constants"]["L"]["label"] == "exact"
    assert back.extra["hsgd_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.npz"]


def test_a_user_grad_returning_a_reused_buffer_gives_every_record_its_own_gradient():
    """A user's ``grad`` may return the same buffer at every call: each record is taken from
    it before the next call."""
    buffers = {}

    def grad(u):
        buffer = buffers.setdefault(np.shape(u), np.empty(np.shape(u)))
        np.subtract(u, 2.5, out=buffer)
        return buffer

    p = E.from_gradient_fn(lambda x: x - np.arange(6.0)[:, None], grad, n=6, d=2,
                           loss=lambda u: 0.5 * ((u - 2.5) ** 2).sum(-1), noise=0.3)
    r = E.simulate(p, E.Hierarchy.two_level(6, 2, 2, 4), lr=0.1, steps=20, seeds=2, seed=1, x0=10.0)
    assert np.all(np.diff(r.grad_norm_sq[0]) < 0)  # every record its own gradient


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


def test_a_subclass_overriding_the_loss_or_the_step_keeps_its_override():
    base = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
    shifted, clipped = ShiftedLoss(n=8, d=3, seed=1), ClippedStep(n=8, d=3, seed=1)
    h = E.Hierarchy.two_level(8, 2, 2, 4)
    r0, r1 = (E.simulate(p, h, lr=0.5, steps=30, seeds=2, x0=3.0) for p in (base, shifted))
    np.testing.assert_allclose(r1.loss, r0.loss + 1.0, rtol=1e-12)
    r2 = E.simulate(clipped, h, lr=0.5, steps=30, seeds=2, x0=3.0)
    u0 = np.full(3, 3.0)
    assert np.all(np.abs(np.diff(r2.loss[:, :2], axis=1)) > 0) and not np.array_equal(r2.loss, r0.loss)
    assert np.isclose(r2.loss[0, 0], base.loss(u0[None])[0])


class ClippedUnfused(E.HeterogeneousNonconvex):
    fused_step = False  # declared: this stochastic_grads takes no lr=, the engine steps afterwards

    def stochastic_grads(self, x, rng, out):
        super().stochastic_grads(x, rng, out)
        return np.clip(out, -0.1, 0.1, out=out)


def test_a_subclass_declaring_an_unfused_step_gets_the_engines_step():
    h = E.Hierarchy.two_level(8, 2, 2, 4)
    fused = E.simulate(ClippedStep(n=8, d=3, seed=1), h, lr=0.5, steps=30, seeds=2, x0=3.0)
    unfused = E.simulate(ClippedUnfused(n=8, d=3, seed=1), h, lr=0.5, steps=30, seeds=2, x0=3.0)
    np.testing.assert_array_equal(unfused.loss, fused.loss)  # the same operations, fused or not


class Bare:
    """The required members of the Problem protocol and none of its declared hooks."""

    n, d = 4, 1

    def stochastic_grads(self, x, rng, out):
        out[...] = x
        return out

    def grad(self, u):
        return u

    def loss(self, u):
        return 0.5 * (u * u).sum(-1)

    def default_x0(self):
        return np.ones(1)


def test_a_problem_must_declare_its_hooks_and_problem_base_declares_them():
    h = E.Hierarchy.two_level(4, 2, 2, 4)
    with pytest.raises(ValueError, match="does not declare fused_step, weights, partition, labels, params of the "
                                         "Problem protocol.*ProblemBase"):
        E.simulate(Bare(), h, lr=0.1, steps=5)
    declared = type("Declared", (Bare, E.problems.ProblemBase), {})()
    r = E.simulate(declared, h, lr=0.1, steps=5)
    assert r.config["problem"] == {"kind": "Declared"} and r.config["weights"] is None
    np.testing.assert_allclose(r.grad_norm_sq[0], 0.9 ** (2 * np.arange(5)))


def test_the_observer_sees_every_recorded_step():
    seen = []
    p = E.HeterogeneousNonconvex(n=8, d=3, seed=1)
    E.simulate(p, E.Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=10, seeds=2, observer=lambda t, x, u: seen.append(t))
    assert seen == list(range(10))
