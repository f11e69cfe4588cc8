"""What users rely on from the engine, on every path it can take.

(a) The same seed gives the same numbers (two runs in one install are equal).
(b) The numbers do not depend on how a run is split: every 7th record is every 7th row of
    every record, and the fused and unfused steps agree (worker count: tests/figures/
    test_executor.py; batching: tests/empirical/test_batch.py).
(c) Every path agrees with the per-worker reference loop (:func:`empirical.reference.reference_run`,
    docs/theory.md §1.2 followed literally) to 1e-12 relative: the state after ``T`` steps,
    and the record taken from it (``||grad f(u)||^2``, ``f(u)``, the per-level divergences).

Nothing here pins bits to numpy's summation order: a numpy that sums in another order gives
other last bits, and these tests still hold.
"""

import numpy as np
import pytest

import empirical as E
from bounds import level_divergences
from empirical.batch import simulate_batch
from empirical.reference import reference_run, round_weights

FIELDS = ("steps", "grad_norm_sq", "loss", "divergence")
REL = 1e-12

CASES = {
    "two_level_rec1": dict(p=dict(n=16, d=5, sigma=0.7, seed=1), h=("two", (16, 4, 3, 12), dict(grouping="random", seed=2)), rec=1, steps=50, seeds=3),
    "three_level_rec7": dict(p=dict(n=24, d=4, sigma=0.5, seed=3), h=("multi", (24, [2, 6, 12], [6, 2]), dict(grouping="random", seed=4)), rec=7, steps=50, seeds=3),
    "unequal_groups_rec1": dict(p=dict(n=10, d=3, sigma=1.0, seed=5), h=("two", (10, 3, 2, 6), dict(grouping=[0, 0, 0, 0, 0, 1, 1, 2, 2, 2])), rec=1, steps=30, seeds=2),
    "many_blocks_rec3": dict(p=dict(n=256, d=300, sigma=1.0, seed=6), h=("two", (256, 32, 2, 4), dict(grouping="random", seed=7)), rec=3, steps=8, seeds=1),
}


def hierarchy_of(case):
    kind, args, kw = case["h"]
    return (E.Hierarchy.two_level if kind == "two" else E.Hierarchy.multi_level)(*args, **kw)


def run(case, seed=11, lr=0.03, **kw):
    p = E.HeterogeneousNonconvex(**case["p"])
    kw = dict(dict(steps=case["steps"], seeds=case["seeds"], record_every=case["rec"]), **kw)
    return E.simulate(p, hierarchy_of(case), lr=lr, seed=seed, **kw)


def assert_equal_runs(a, b):
    for field in FIELDS:
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def assert_close(actual, expected, rel=REL):
    """``max |actual - expected| <= rel * max |expected|`` (relative to the array's size, so
    entries near 0 are judged on the array's scale)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    assert np.all(np.isfinite(actual))
    err, scale = float(np.max(np.abs(actual - expected))), float(np.max(np.abs(expected)))
    assert err <= rel * scale, f"max difference {err:.3g} > {rel:g} x {scale:.3g}"


# ---------------------------------------------------------------------- (a) same seed, same numbers
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_seed_gives_the_same_numbers_and_another_seed_others(name):
    a, b = run(CASES[name]), run(CASES[name])
    assert_equal_runs(a, b)
    assert not np.array_equal(a.grad_norm_sq, run(CASES[name], seed=12).grad_norm_sq)


# ---------------------------------------------------------------------- (b) how a run is split
@pytest.mark.parametrize("name", ["two_level_rec1", "unequal_groups_rec1"])
def test_every_7th_record_is_every_7th_row_of_every_record(name):
    every = run(CASES[name])
    seventh = run(CASES[name], record_every=7)
    np.testing.assert_array_equal(seventh.steps, every.steps[::7])
    for field in ("grad_norm_sq", "loss", "divergence"):
        np.testing.assert_array_equal(getattr(seventh, field), getattr(every, field)[:, ::7])


class Unfused:
    """The same problem without the fused step's ``lr=`` keyword: the engine steps afterwards."""

    fused_step = False  # declared: everything else is the wrapped problem's

    def __init__(self, problem):
        self._p = problem

    def __getattr__(self, name):
        return getattr(self._p, name)

    def stochastic_grads(self, x, rng, out):
        return self._p.stochastic_grads(x, rng, out=out)


def test_fused_and_unfused_steps_give_the_same_numbers():
    case = CASES["three_level_rec7"]
    p = E.HeterogeneousNonconvex(**case["p"])
    assert p.fused_step and not Unfused(p).fused_step
    fused = E.simulate(p, hierarchy_of(case), lr=0.03, steps=50, seeds=3, seed=11, record_every=7)
    unfused = E.simulate(Unfused(p), hierarchy_of(case), lr=0.03, steps=50, seeds=3, seed=11, record_every=7)
    assert_equal_runs(fused, unfused)


# ---------------------------------------------------------------------- (c) the reference loop
def expected_record(problem, hierarchy, x, w=None):
    """The record of state ``x`` (seeds, n, d), computed from its definition (docs/theory.md
    §1.4, §2.1; with weights ``w`` (seeds, n), §10.1): ``(||grad f(u)||^2, f(u), Delta)``."""
    if w is None:
        u = x.mean(axis=1)
        delta = level_divergences(x, list(hierarchy.levels))
    else:
        u = np.einsum("sn,snd->sd", w, x)
        delta = np.array([weighted_divergences(x[s], w[s], hierarchy) for s in range(x.shape[0])])
    g = problem.grad(u)
    return np.einsum("sd,sd->s", g, g), problem.loss(u), delta


def weighted_divergences(x, w, hierarchy):
    """``Delta_l = sum_q w_q ||u_q - u_parent(q)||^2`` worker by worker (docs/theory.md §10.1)."""
    n = hierarchy.n
    labels = [np.arange(n)] + [np.asarray(lab) for lab in hierarchy.levels] + [np.zeros(n, dtype=int)]
    mean = lambda lab, g: np.einsum("j,jd->d", w[lab == g], x[lab == g]) / w[lab == g].sum()  # noqa: E731
    out = []
    for l in range(1, len(labels)):
        total = 0.0
        for q in np.unique(labels[l - 1]):
            members = labels[l - 1] == q
            if w[members].sum() == 0:
                continue
            parent = labels[l][members][0]
            diff = mean(labels[l - 1], q) - mean(labels[l], parent)
            total += w[members].sum() * float(diff @ diff)
        out.append(total)
    return out


def engine_state(problem, hierarchy, lr, steps, seeds, seed, **kw):
    """The engine's result and its state after ``steps`` steps (seen by the observer at the
    record before step ``steps``)."""
    seen = {}

    def observer(t, x, u):
        if t == steps:
            seen["x"] = x.copy()

    r = E.simulate(problem, hierarchy, lr, steps + 1, seeds=seeds, seed=seed, record_every=steps, observer=observer,
                   **kw)
    return r, seen["x"]


PATHS = {
    "local_sgd": (dict(n=8, d=3), lambda: E.Hierarchy.local_sgd(8, 4), {}),
    "two_level_equal_groups": (dict(n=8, d=3), lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1), {}),
    "two_level_unequal_groups": (dict(n=8, d=3),
                                 lambda: E.Hierarchy.two_level(8, 3, 1, 3, grouping=np.array([0, 1, 2, 2, 1, 0, 0, 0])), {}),
    "three_level": (dict(n=8, d=3), lambda: E.Hierarchy.multi_level(8, [1, 2, 6], [4, 2], grouping="contiguous"), {}),
    "unfused_step": (dict(n=8, d=3), lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1), {"unfused": True}),
    "many_step_blocks": (dict(n=64, d=1100), lambda: E.Hierarchy.two_level(64, 8, 1, 2, grouping="random", seed=2), {}),
    "weights": (dict(n=8, d=3), lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1),
                {"weights": np.arange(1.0, 9.0)}),
    "weights_and_participation": (dict(n=8, d=3), lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1),
                                  {"weights": np.arange(1.0, 9.0), "participation": 2}),
    "participation_three_level": (dict(n=12, d=2), lambda: E.Hierarchy.multi_level(12, [1, 3, 6], [4, 2]),
                                  {"participation": 2}),
}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_engine_path_agrees_with_the_reference_loop(name):
    shape, build, kw = PATHS[name]
    kw = dict(kw)
    unfused = kw.pop("unfused", False)
    p, h = E.HeterogeneousNonconvex(**shape, sigma=0.5, seed=3), build()
    steps, seeds, seed, lr = (3 if shape["d"] > 100 else 13), 2, 4, 0.03
    assert seeds * p.n * p.d > (1 << 16) or name != "many_step_blocks"  # the step splits the workers into blocks
    ref = reference_run(p, h, lr=lr, steps=steps, seeds=seeds, seed=seed, **kw)
    r, x = engine_state(Unfused(p) if unfused else p, h, lr, steps, seeds, seed, **kw)
    assert_close(x, ref)
    w = None
    if kw:  # the round's weights of the state after `steps` steps (a round start when steps % P_1 == 0:
        # the default participation_mode, "local_round", draws every P_1 steps)
        w = round_weights(h, steps // h.periods[0] + 1, seeds, seed, kw.get("weights"), kw.get("participation"))[-1]
    grad_norm_sq, loss, delta = expected_record(p, h, ref, w)
    assert r.steps.tolist() == [0, steps]
    assert_close(r.grad_norm_sq[:, 1], grad_norm_sq)
    assert_close(r.loss[:, 1], loss)
    assert_close(r.divergence[:, 1], delta)


def test_batched_configurations_agree_with_the_reference_loop():
    problems = [E.HeterogeneousNonconvex(n=8, d=3, sigma=s, within=wi, seed=i)
                for i, (s, wi) in enumerate([(0.5, 1.0), (0.0, 2.0), (1.5, 0.5)])]
    h, lrs, steps = E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1), [0.03, 0.01, 0.02], 13
    results = simulate_batch(problems, h, lrs, steps + 1, seeds=2, seed=4, record_every=steps)
    for result, p, lr in zip(results, problems, lrs):
        ref = reference_run(p, h, lr=lr, steps=steps, seeds=2, seed=4)
        grad_norm_sq, loss, delta = expected_record(p, h, ref)
        assert_close(result.grad_norm_sq[:, 1], grad_norm_sq)
        assert_close(result.loss[:, 1], loss)
        assert_close(result.divergence[:, 1], delta)


def test_the_reference_comparison_can_fail():
    """A step size one part in 1e9 away, or another seed, is caught at 1e-12."""
    p, h = E.HeterogeneousNonconvex(n=8, d=3, sigma=0.5, seed=3), E.Hierarchy.two_level(8, 2, 2, 4)
    ref = reference_run(p, h, lr=0.03, steps=13, seeds=2, seed=4)
    for lr, seed in ((0.03 * (1 + 1e-9), 4), (0.03, 5)):
        _, x = engine_state(p, h, lr, 13, 2, seed)
        with pytest.raises(AssertionError):
            assert_close(x, ref)


def test_bench_ratios_are_reported_and_bad_sizes_rejected():
    from empirical.bench import recording_ratio, step_over_floor
    c = step_over_floor(16, 3, 2, repeats=1, seconds=0.001)
    assert c["engine_us"] > 0 and c["floor_us"] > 0 and c["min"] == c["median"] > 0
    assert recording_ratio(16, 3, 2, repeats=1, seconds=0.001)["min"] > 0
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        step_over_floor(16, 3, 0)
    with pytest.raises(ValueError, match="seconds must be positive"):
        recording_ratio(16, 3, 2, seconds=0.0)
