"""Data-size weights and partial participation (docs/theory.md §10.1 Setting): the engine
against the per-worker reference loop, the exact reductions to the unweighted engine,
reproducibility, the invariants of the sampled system, and ``participation_mode`` (a fresh draw
every ``P_M`` or every ``P_1`` steps) against a literal per-worker loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from bounds import level_divergences
from empirical.aggregation import SortedLevels, WeightedLevels
from empirical.reference import reference_run, round_weights
from empirical.streams import SeedStreams, participation_streams

ATOL = 1e-12  # "agree to 1e-12": every quantity here is O(1)
STEPS = 13


def problem(n=8, d=3, sigma=0.5):
    return E.HeterogeneousNonconvex(n=n, d=d, sigma=sigma, seed=2)


def unequal_weights(n, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


HIERARCHIES = {
    "local": lambda: E.Hierarchy.local_sgd(8, 3),
    "two_equal": lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1),
    "two_unequal": lambda: E.Hierarchy.two_level(8, 3, 1, 3, grouping=np.array([0, 1, 2, 2, 1, 0, 0, 0])),  # sizes 4, 2, 2
    "three_equal": lambda: E.Hierarchy.multi_level(8, [1, 2, 6], [4, 2], grouping="contiguous"),
    "three_unequal": lambda: E.Hierarchy.multi_level(8, [1, 2, 4], [3, 2], grouping=[[0, 1, 0, 1, 2, 2, 2, 0],
                                                                           [0, 0, 0, 0, 1, 1, 1, 0]]),  # 3, 2, 3
}
SMALLEST = {"local": 8, "two_equal": 4, "two_unequal": 2, "three_equal": 2, "three_unequal": 2}


def final_models(p, h, steps, **kw):
    """The engine's models after ``steps`` steps (the observer at the record before step ``steps``)."""
    seen = {}
    E.simulate(p, h, lr=0.03, steps=steps + 1, seeds=2, seed=4, observer=lambda t, x, u: seen.__setitem__(t, x.copy()),
               **kw)
    return seen[steps]


@pytest.mark.parametrize("mode", ["local_round", "global_round"])
@pytest.mark.parametrize("name", sorted(HIERARCHIES))
@pytest.mark.parametrize("case", ["weights", "S=1", "S=smallest", "weights+S=1", "weights+S=smallest"])
def test_engine_matches_the_per_worker_reference_loop(name, case, mode):
    p, h = problem(), HIERARCHIES[name]()
    kw = {"participation_mode": mode}
    if "weights" in case:
        kw["weights"] = unequal_weights(8)
    if "S=1" in case:
        kw["participation"] = 1
    if "S=smallest" in case:
        kw["participation"] = SMALLEST[name]
    ref = reference_run(p, h, lr=0.03, steps=STEPS, seeds=2, seed=4, **kw)
    np.testing.assert_allclose(final_models(p, h, STEPS, **kw), ref, rtol=0, atol=ATOL)


def test_the_reference_comparison_can_fail():
    # participation changes the trajectory, and another participation stream would be seen
    p, h = problem(), HIERARCHIES["two_equal"]()
    ref = reference_run(p, h, lr=0.03, steps=STEPS, seeds=2, seed=4, participation=1)
    assert np.abs(final_models(p, h, STEPS) - ref).max() > 1e-3
    assert np.abs(final_models(p, h, STEPS, participation=1, participation_mode="global_round") - ref).max() > 1e-3
    assert np.abs(final_models(p, h, STEPS, participation=2) - ref).max() > 1e-3
    other_seed = reference_run(p, h, lr=0.03, steps=STEPS, seeds=2, seed=5, participation=1)
    assert np.abs(final_models(p, h, STEPS, participation=1) - other_seed).max() > 1e-3


def run(p, h, **kw):
    args = dict(lr=0.03, steps=24, seeds=3, seed=9)
    args.update(kw)
    return E.simulate(p, h, **args)


def same(a, b, atol=ATOL):
    for name in ("grad_norm_sq", "loss", "divergence"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=atol)


@pytest.mark.parametrize("name", sorted(HIERARCHIES))
def test_equal_explicit_weights_are_the_unweighted_engine(name):
    p, h = problem(), HIERARCHIES[name]()
    same(run(p, h, weights=np.full(8, 2.5)), run(p, h))
    same(run(p, h, weights=[1] * 8), run(p, h))


@pytest.mark.parametrize("name", ["local", "two_equal", "three_equal"])
def test_every_member_taking_part_is_full_participation(name):
    p, h = problem(), HIERARCHIES[name]()
    full = run(p, h)
    everyone = run(p, h, participation=int(SortedLevels(h.levels, 8).sizes[1][0]))
    same(everyone, full)
    w = unequal_weights(8, 3)
    same(run(p, h, weights=w, participation=int(SortedLevels(h.levels, 8).sizes[1][0])), run(p, h, weights=w))
    assert np.abs(run(p, h, participation=1).grad_norm_sq - full.grad_norm_sq).max() > 1e-6  # S matters


def test_reruns_are_bit_identical_and_seeds_are_independent_runs():
    p, h = problem(), HIERARCHIES["three_unequal"]()
    kw = dict(weights=unequal_weights(8), participation=1)
    a, b = run(p, h, **kw), run(p, h, **kw)
    for name in ("grad_norm_sq", "loss", "divergence"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    two = run(p, h, seeds=2, **kw)  # run s does not depend on how many seeds run beside it
    for name in ("grad_norm_sq", "loss", "divergence"):
        assert np.array_equal(getattr(a, name)[:2], getattr(two, name))
    assert not np.array_equal(a.grad_norm_sq[0], a.grad_norm_sq[1])
    assert not np.array_equal(a.grad_norm_sq, run(p, h, seed=10, **kw).grad_norm_sq)


def test_participation_streams_are_not_the_noise_streams():
    keys = participation_streams(3, 2).random((2, 16))
    assert not np.array_equal(keys, SeedStreams(3, 2).random((2, 16)))
    assert np.array_equal(keys[1], participation_streams(3, 5).random((5, 16))[1])


def observed(p, h, steps=24, **kw):
    xs, us = {}, {}

    def observer(t, x, u):
        xs[t], us[t] = x.copy(), u.copy()
    r = E.simulate(p, h, lr=0.03, steps=steps, seeds=3, seed=9, observer=observer, **kw)
    return r, xs, us


@pytest.mark.parametrize("mode", ["local_round", "global_round"])
@pytest.mark.parametrize("name", ["local", "two_unequal_P1_2", "three_unequal_P1_2"])  # P_1 > 1: a local round has steps
def test_sitting_out_workers_never_move_inside_a_round(name, mode):
    p, h = problem(), MODE_HIERARCHIES[name]()
    top, steps = h.periods[0 if mode == "local_round" else -1], 24  # a round: the steps of one draw
    r, xs, _ = observed(p, h, steps, participation=1, participation_mode=mode)
    w = round_weights(h, -(-steps // top), 3, 9, participation=1)
    moved = 0
    for t in range(steps):
        start = t - t % top
        out = w[t // top] == 0  # (seeds, n): sitting out this round
        np.testing.assert_array_equal(xs[t][out], xs[start][out])
        if t > start:
            moved += np.sum(np.any(xs[t] != xs[start], axis=-1) & ~out)
    assert moved > 0  # the participants do move: the check above is not vacuous
    with pytest.raises(AssertionError):  # without participation everyone moves
        _, xs_full, _ = observed(p, h, steps)
        np.testing.assert_array_equal(xs_full[1][w[0] == 0], xs_full[0][w[0] == 0])


def weighted_divergences(x, w, levels):
    """docs/theory.md §10.1 Setting's Delta_l, literally: sum over the level-(l-1) groups q of
    w_q ||u_q - u_parent(q)||^2."""
    n = x.shape[1]
    chain = [np.arange(n), *(np.asarray(lab) for lab in levels), np.zeros(n, dtype=int)]
    out = np.zeros((x.shape[0], len(chain) - 1))
    for s in range(x.shape[0]):
        def mean(lab, g):
            members = np.flatnonzero(lab == g)
            return sum(w[s, j] * x[s, j] for j in members) / sum(w[s, j] for j in members)
        for l in range(1, len(chain)):
            for q in np.unique(chain[l - 1]):
                members = np.flatnonzero(chain[l - 1] == q)
                wq = sum(w[s, j] for j in members)
                if wq == 0:
                    continue
                out[s, l - 1] += wq * np.sum((mean(chain[l - 1], q) - mean(chain[l], chain[l][members[0]])) ** 2)
    return out


@pytest.mark.parametrize("name", ["local", "two_unequal", "three_unequal"])
@pytest.mark.parametrize("S", [None, 1, 2])
@pytest.mark.parametrize("mode", ["local_round", "global_round"])
def test_the_record_is_the_weighted_global_model_and_its_divergences(name, S, mode):
    p, h = problem(), HIERARCHIES[name]()
    weights = unequal_weights(8, 1)
    r, xs, us = observed(p, h, 12, weights=weights, participation=S, participation_mode=mode)
    top = h.periods[0 if mode == "local_round" else -1]  # a round: the steps of one draw
    w = round_weights(h, -(-12 // top), 3, 9, weights=weights, participation=S)
    for t in range(12):
        u = np.einsum("sn,snd->sd", w[t // top], xs[t])
        np.testing.assert_allclose(us[t], u, rtol=0, atol=ATOL)
        g = p.grad(u)
        np.testing.assert_allclose(r.grad_norm_sq[:, t], np.einsum("sd,sd->s", g, g), rtol=1e-10, atol=ATOL)
        np.testing.assert_allclose(r.loss[:, t], p.loss(u), rtol=1e-12)
        np.testing.assert_allclose(r.divergence[:, t], weighted_divergences(xs[t], w[t // top], h.levels),
                                   rtol=1e-9, atol=1e-14)
    # and the equal-weight mean is not it (unequal weights: the check can fail)
    assert np.abs(us[5] - xs[5].mean(axis=1)).max() > 1e-6


def test_equal_weights_full_participation_divergences_are_lemma_1():
    x = np.random.default_rng(0).normal(size=(2, 8, 3))
    levels = HIERARCHIES["three_unequal"]().levels
    w = np.full((2, 8), 1 / 8)
    np.testing.assert_allclose(weighted_divergences(x, w, levels), level_divergences(x, list(levels)), rtol=1e-12)
    weighted = WeightedLevels(SortedLevels(levels, 8), w[0])
    weighted.set_weights(w)
    delta, u = weighted.divergences(x, np.empty_like(x))
    np.testing.assert_allclose(delta, level_divergences(x, list(levels)), rtol=1e-12)
    np.testing.assert_allclose(u, x.mean(axis=1), rtol=1e-12)


def test_config_records_weights_and_participation():
    p, h = problem(), HIERARCHIES["two_equal"]()
    r = run(p, h, steps=4, weights=[1, 2, 3, 4, 5, 6, 7, 8], participation=3)
    assert r.config["weights"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0] and r.config["participation"] == 3
    plain = run(p, h, steps=4)
    assert plain.config["weights"] is None and plain.config["participation"] is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights=[1.0] * 7), r"weights must be 8 positive finite numbers .*shape \(7,\)"),
    (dict(weights=[[1.0] * 8]), r"weights must be 8 positive finite numbers"),
    (dict(weights=[1.0] * 7 + [0.0]), "weights must be positive, got 0.0 at worker 7"),
    (dict(weights=[1.0] * 7 + [-2.0]), "weights must be positive"),
    (dict(weights=[1.0, float("nan")] + [1.0] * 6), "weights must be finite, got a non-finite weight at worker 1"),
    (dict(weights=[float("inf")] + [1.0] * 7), "weights must be finite"),
    (dict(weights=["a"] * 8), "weights must be 8 positive finite numbers"),
    (dict(participation=5), r"participation S = 5 is larger than the smallest level-1 group \(4 workers\)"),
    (dict(participation=0), "participation must be a positive integer"),
    (dict(participation=2.5), "participation must be a positive integer"),
    (dict(participation=2.0), "participation must be a positive integer"),
    (dict(participation=True), "participation must be a positive integer"),
])
def test_bad_weights_and_participation_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        E.simulate(problem(), HIERARCHIES["two_equal"](), lr=0.01, steps=3, **kwargs)


def test_participation_is_checked_against_the_smallest_group():
    h = HIERARCHIES["two_unequal"]()  # level-1 sizes 4, 2, 2
    too_many = r"participation S = 3 is larger than the smallest level-1 group \(2 workers\)"
    with pytest.raises(ValueError, match=too_many):
        E.simulate(problem(), h, lr=0.01, steps=3, participation=3)
    E.simulate(problem(), h, lr=0.01, steps=3, participation=2)  # the smallest group's size is allowed
    with pytest.raises(ValueError, match=r"participation S = 9 is larger than the smallest level-1 group \(8 "):
        E.simulate(problem(), E.Hierarchy.local_sgd(8, 2), lr=0.01, steps=3, participation=9)


@st.composite
def weighted_systems(draw):
    """A nested grouping of n workers (1-3 levels), weights p, a participation draw and a state."""
    n = draw(st.integers(2, 10))
    fine = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
    fine = np.unique(fine, return_inverse=True)[1]  # labels 0..K-1, every label used
    levels = [] if draw(st.booleans()) else [fine]
    if levels and draw(st.booleans()):
        k = int(fine.max()) + 1
        coarse = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=k, max_size=k)))
        coarse = np.unique(coarse, return_inverse=True)[1]
        levels.append(coarse[fine])
    sorted_levels = SortedLevels(levels, n)
    S = draw(st.integers(1, int(sorted_levels.sizes[1].min())))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 5.0, n)
    return sorted_levels, p / p.sum(), S, rng.random((2, n)), rng.normal(size=(2, n, 3)) * 10


@settings(max_examples=60, deadline=None)
@given(weighted_systems())
def test_aggregation_keeps_the_weighted_global_model(system):
    levels, p, S, keys, x = system
    weighted = WeightedLevels(levels, p)
    w, sampled = weighted.sample(keys, S)
    assert np.all(sampled.sum(axis=1) == S * levels.sizes[1].size)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(w > 0, sampled)
    before = np.einsum("sn,snd->sd", w, x)
    scale = np.abs(x).max()
    for level in range(1, levels.M + 1):
        y = x.copy()
        weighted.aggregate(y, level, np.empty_like(y))
        np.testing.assert_allclose(np.einsum("sn,snd->sd", w, y), before, rtol=0, atol=1e-12 * scale)
        delta, u = weighted.divergences(y, np.empty_like(y))
        np.testing.assert_allclose(u, before, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(delta[:, :level], 0, atol=1e-20 * scale**2 + 1e-24)  # its level and below vanish


def test_bench_participation_ratio_is_reported_and_bad_sizes_rejected():
    from empirical.bench import participation_ratio
    c = participation_ratio(32, 3, 1, 4, 2, 4, repeats=1, seconds=0.001)
    assert c["S"] == 4 and c["min"] == c["median"] > 0 and c["partial_us"] > 0 and c["full_us"] > 0
    with pytest.raises(ValueError, match="N must be a positive integer"):
        participation_ratio(32, 3, 1, 0)


# ---------------------------------------------------------------- participation_mode (the draw's timing)

MODES = ("global_round", "local_round")
UNEVEN = [0, 1, 0, 1, 2, 2, 2, 0]  # level-1 groups of sizes 3, 2, 3
MODE_HIERARCHIES = {
    "local": lambda: E.Hierarchy.local_sgd(8, 3),
    "two_equal": lambda: E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1),  # P_1 = 2 < P_2 = 4
    "two_unequal": lambda: E.Hierarchy.two_level(8, 3, 1, 3, grouping=np.array([0, 1, 2, 2, 1, 0, 0, 0])),
    "two_unequal_P1_2": lambda: E.Hierarchy.two_level(8, 3, 2, 6, grouping=np.array(UNEVEN)),
    "three_unequal": HIERARCHIES["three_unequal"],  # periods 1, 2, 4
    "three_unequal_P1_2": lambda: E.Hierarchy.multi_level(8, [2, 4, 8], [3, 2], grouping=[UNEVEN,
                                                                          [0, 0, 0, 0, 1, 1, 1, 0]]),
}
MODE_CASES = [(name, S) for name, smallest in [("local", 8), ("two_equal", 4), ("two_unequal", 2),
                                                ("two_unequal_P1_2", 2), ("three_unequal", 2),
                                                ("three_unequal_P1_2", 2)]
              for S in sorted({1, 2, 3, smallest} & set(range(1, smallest + 1)))]


def literal_run(problem, h, lr, steps, seeds, seed, weights=None, participation=None, mode="global_round"):
    """The models ``(seeds, n, d)`` after ``steps`` steps, one worker and one group at a time, from
    the engine's random draws (each worker's ``d`` normals in turn from its seed's noise
    generator; ``n`` uniform keys per draw from its seed's participation generator).

    A round is ``P_M`` steps (``"global_round"``) or ``P_1`` steps (``"local_round"``). At each
    round start every level-1 group ``q`` takes the ``S`` members with the smallest keys (ties
    to the lower index); only they step. An aggregation at level ``l`` forms every level-1
    group's model as its sampled members' mean with weights ``p_j / sum_{i sampled in q} p_i``,
    then every level-``l`` group's model as the mean of its level-1 groups' models with their
    full weights ``p_q``. Who receives it: ``"local_round"``: every member (the round ends at
    every aggregation); ``"global_round"``: every worker at the top, only the sampled members
    below it (the others keep their model until the round's end).
    """
    noise = SeedStreams(seed, seeds).generators
    draws = participation_streams(seed, seeds).generators
    n, d, M = problem.n, problem.d, h.M
    p = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    level1 = h.levels[0] if M > 1 else np.zeros(n, dtype=int)
    chains = {l: np.asarray(h.levels[l - 1]) for l in range(1, M)}
    chains[M] = np.zeros(n, dtype=int)
    groups1 = [[j for j in range(n) if level1[j] == q] for q in sorted(set(level1.tolist()))]
    span = h.periods[-1] if mode == "global_round" else h.periods[0]
    scale = problem.sigma / np.sqrt(d)
    x = [[problem.default_x0().astype(float).copy() for _ in range(n)] for _ in range(seeds)]
    sampled = None
    for t in range(steps):
        if t % span == 0:
            sampled = []
            for s in range(seeds):
                if participation is None:
                    sampled.append([list(q) for q in groups1])
                    continue
                keys = draws[s].random(n)
                sampled.append([sorted(q, key=lambda j, keys=keys: (keys[j], j))[:participation] for q in groups1])
        for s in range(seeds):
            taking_part = {j for chosen in sampled[s] for j in chosen}
            for j in range(n):
                v = x[s][j] - problem.c[j]
                grad = problem.a * (x[s][j] - problem.b[j]) + problem.lam * 2 * v / (1 + v * v) ** 2
                grad = grad + noise[s].standard_normal(d) * scale  # every worker draws, taking part or not
                if j in taking_part:
                    x[s][j] = x[s][j] - lr * grad
        level = h.level_to_aggregate(t)
        if not level:
            continue
        for s in range(seeds):
            # level-1 group models from the sampled members, weights renormalised within the sample
            models = []
            for members, chosen in zip(groups1, sampled[s]):
                p_sampled = sum(p[j] for j in chosen)
                models.append((members, sum(p[j] / p_sampled * x[s][j] for j in chosen), sum(p[j] for j in members)))
            # level-l group models from the level-1 group models, with their full weights p_q
            chain = chains[level]
            for label in sorted(set(chain.tolist())):
                inside = [(members, u_q, p_q) for members, u_q, p_q in models if chain[members[0]] == label]
                model = sum(p_q * u_q for _, u_q, p_q in inside) / sum(p_q for _, _, p_q in inside)
                taking_part = {j for chosen in sampled[s] for j in chosen}
                for members, _, _ in inside:
                    for j in members:
                        if mode == "local_round" or level == M or j in taking_part:
                            x[s][j] = model.copy()
    return np.array(x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, S", MODE_CASES)
def test_both_modes_match_the_literal_per_worker_loop(name, S, weighted, mode):
    p, h = problem(), MODE_HIERARCHIES[name]()
    kw = {"participation": S, "weights": unequal_weights(8, 5) if weighted else None}
    literal = literal_run(p, h, 0.03, STEPS, 2, 4, mode=mode, **kw)
    np.testing.assert_allclose(final_models(p, h, STEPS, participation_mode=mode, **kw), literal, rtol=0, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["two_equal", "two_unequal_P1_2", "three_unequal_P1_2"])
@pytest.mark.parametrize("S", [None, 1, 2])
def test_the_literal_loop_is_the_reference_run(name, S, mode):
    # the literal loop above, read against empirical.reference's (written separately)
    p, h = problem(), MODE_HIERARCHIES[name]()
    w = unequal_weights(8, 6)
    ref = reference_run(p, h, lr=0.03, steps=STEPS, seeds=2, seed=4, weights=w, participation=S,
                        participation_mode=mode)
    np.testing.assert_allclose(literal_run(p, h, 0.03, STEPS, 2, 4, weights=w, participation=S, mode=mode), ref,
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["local", "two_equal", "three_equal"])
def test_every_member_taking_part_is_full_participation_in_both_modes(name, mode):
    p, h = problem(), HIERARCHIES[name]()
    everyone = int(SortedLevels(h.levels, 8).sizes[1][0])
    same(run(p, h, participation=everyone, participation_mode=mode), run(p, h))
    w = unequal_weights(8, 3)
    same(run(p, h, weights=w, participation=everyone, participation_mode=mode), run(p, h, weights=w))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, S", [("two_equal", 1), ("two_equal", 3), ("two_unequal_P1_2", 1),
                                     ("three_unequal", 1), ("three_unequal_P1_2", 2)])
def test_the_modes_differ_when_P1_is_below_PM_and_S_below_a_group(name, S, weighted):
    p, h = problem(), MODE_HIERARCHIES[name]()
    assert h.periods[0] < h.periods[-1]
    kw = {"participation": S, "weights": unequal_weights(8, 7) if weighted else None}
    a = run(p, h, participation_mode="global_round", **kw)
    b = run(p, h, participation_mode="local_round", **kw)
    assert np.abs(a.grad_norm_sq - b.grad_norm_sq).max() > 1e-6
    np.testing.assert_array_equal(a.grad_norm_sq[:, 0], b.grad_norm_sq[:, 0])  # the same start
    assert np.abs(final_models(p, h, STEPS, participation_mode="global_round", **kw)
                  - final_models(p, h, STEPS, participation_mode="local_round", **kw)).max() > 1e-6


def test_the_modes_are_the_same_run_for_local_sgd():
    # P_1 = P_M: the same rounds, the same draws, bit for bit
    p, h = problem(), MODE_HIERARCHIES["local"]()
    kw = {"weights": unequal_weights(8), "participation": 3}
    a, b = run(p, h, participation_mode="global_round", **kw), run(p, h, participation_mode="local_round", **kw)
    for name in ("grad_norm_sq", "loss", "divergence"):
        assert np.array_equal(getattr(a, name), getattr(b, name))


def test_local_round_sitting_out_workers_hold_their_group_model():
    # inside a level-1 round (P_1 = 2 steps) a worker sitting out keeps the model it had at the
    # round's start, which is its level-1 group's model (everyone's after the aggregation before)
    p, h = problem(), MODE_HIERARCHIES["two_unequal_P1_2"]()
    _, xs, _ = observed(p, h, 24, participation=1, participation_mode="local_round")
    lab = np.asarray(h.levels[0])
    span, still = h.periods[0], 0
    for t in range(0, 24, span):
        for q in range(3):
            members = np.flatnonzero(lab == q)
            np.testing.assert_array_equal(xs[t][:, members], np.broadcast_to(xs[t][:, members[:1]],
                                                                            xs[t][:, members].shape))
        unmoved = np.all(xs[t + 1] == xs[t], axis=-1)  # (seeds, n): exactly the ones sitting out
        assert np.all(unmoved.sum(axis=1) == 8 - 3)
        still += unmoved.sum()
    assert still > 0


def test_config_records_the_participation_mode():
    p, h = problem(), HIERARCHIES["two_equal"]()
    assert run(p, h, steps=4, participation=2).config["participation_mode"] == "local_round"  # the authors
    for mode in MODES:
        assert run(p, h, steps=4, participation=2, participation_mode=mode).config["participation_mode"] == mode
        # without participation the mode has no effect: checked, recorded as None, the same numbers
        plain = run(p, h, steps=4, participation_mode=mode)
        assert plain.config["participation_mode"] is None
        same(plain, run(p, h, steps=4))


@pytest.mark.parametrize("mode", ["Local_round", "local", "", None, 1, True, ("local_round",)])
@pytest.mark.parametrize("participation", [None, 2])
def test_bad_participation_mode_is_rejected(mode, participation):
    with pytest.raises(ValueError, match=r"^participation_mode must be 'local_round' or 'global_round', got "):
        E.simulate(problem(), HIERARCHIES["two_equal"](), lr=0.01, steps=3, participation=participation,
                   participation_mode=mode)
