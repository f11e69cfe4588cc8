"""Witnesses (docs/theory.md §7.4 Remark: witnesses): exact constants, the noise law, the saved library."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from empirical import Hierarchy, simulate
from empirical.streams import SeedStreams
from empirical.problems.witness import (
    KinkProblem,
    QuadraticProblem,
    kink_minimum,
    kink_phi,
    kink_phi_prime,
    two_point_law,
)
from empirical.studies.witnesses import (
    FRESH_SEED_OFFSET,
    FRESH_SEEDS,
    STABILITY_MARGIN,
    TERMS,
    bound_terms,
    build,
    edge_step,
    evaluate_witness,
    init_witness,
    kink_orbits,
    kink_witness,
    load_witnesses,
    noise_term_witness,
    noise_witness,
    run_witness,
    search,
)

REL = 1e-12
LIBRARY = load_witnesses()


# ----------------------------------------------------------------------- the kink
@given(c=st.floats(-3, 3), L=st.floats(0.1, 5), a=st.floats(0, 5))
@settings(max_examples=60, deadline=None)
def test_kink_phi_prime_is_the_derivative_and_L_lipschitz(c, L, a):
    t = np.linspace(-3 * a - 5, 5, 4001)
    numeric = np.gradient(kink_phi(t, c, L, a), t)
    assert np.allclose(numeric[1:-1], kink_phi_prime(t, c, L, a)[1:-1], atol=1e-2 * (L + 1))
    slopes = np.diff(kink_phi_prime(t, c, L, a)) / np.diff(t)
    assert np.all(np.abs(slopes) <= L * (1 + 1e-9))          # A1 with this L
    assert np.isclose(np.abs(slopes).max(), L)                # and L is attained: exact


@given(c=st.floats(-3, 3), L=st.floats(0.1, 5), a=st.floats(0, 5))
@settings(max_examples=60, deadline=None)
def test_kink_minimum_is_the_global_minimum(c, L, a):
    where, value = kink_minimum(c, L, a)
    assert math.isclose(float(kink_phi(where, c, L, a)), value, rel_tol=1e-9, abs_tol=1e-12)
    t = np.linspace(-4 * a - 4 * abs(c) / L - 5, 4 * abs(c) / L + 5, 20001)
    assert kink_phi(t, c, L, a).min() >= value - 1e-9 * (1 + abs(value))


def test_kink_constants_are_exact_and_labelled_so():
    p = KinkProblem(b=[1.0, -1.0, 1.0, -1.0], c=-0.3, L=2.0, a=0.5)
    k = p.constants([[0, 0, 1, 1]])
    assert [e.value for e in k.eps_levels] == [1.0, 0.0] and k.eps.value == 1.0
    assert {k.L.label, k.sigma.label, k.eps.label, k.f_star.label} == {"exact"}
    p2 = KinkProblem(b=[1.0, 1.0, -1.0, -1.0], c=-0.3, L=2.0, a=0.5)
    assert [e.value for e in p2.constants([[0, 0, 1, 1]]).eps_levels] == [0.0, 1.0]
    # gradient offsets do not depend on x
    xs = np.random.default_rng(0).normal(size=(7, 4, 1))
    same_x = np.repeat(xs[:, :1, :], 4, axis=1)
    assert np.allclose(p.worker_grads(same_x) - p.grad(same_x[:, 0])[:, None], p.b - p.b.mean(axis=0))


@pytest.mark.parametrize("kwargs, message", [
    (dict(b=[1.0, -1.0], c=0.0, L=0.0), "L must be positive"),
    (dict(b=[1.0, -1.0], c=0.0, a=-1.0), "a must be non-negative"),
    (dict(b=[1.0, -1.0], c=0.0, sigma=1.0), "sigma must be 0"),
    (dict(b=[1.0, -1.0], c=0.0, sigma=1.0, noise="gauss"), "noise must be one of"),
    (dict(b=[1.0, -1.0], c=0.0, sigma=1.0, noise="two_point", axes=[0, 1]), "axes must list"),
    (dict(b=[1.0, -1.0], c=float("nan")), "c must be a finite"),
])
def test_kink_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KinkProblem(**kwargs)


# ----------------------------------------------------------------------- the noise law
@pytest.mark.parametrize("k", [0, 1, 2, 5, 30, 1000])
def test_two_point_law_has_mean_zero_and_variance_one_exactly(k):
    for sign in (1.0, -1.0):
        low, high, p = two_point_law(k, sign)
        assert math.isclose(p * high + (1 - p) * low, 0.0, abs_tol=1e-12)
        assert math.isclose(p * high ** 2 + (1 - p) * low ** 2, 1.0, rel_tol=1e-12)
        assert 0 < p < 1
        # either outcome takes |m| from sqrt(k) to sqrt(k + 1)
        assert math.isclose(abs(sign * math.sqrt(k) + high), math.sqrt(k + 1), rel_tol=1e-12)
        assert math.isclose(abs(sign * math.sqrt(k) + low), math.sqrt(k + 1), rel_tol=1e-12)


def test_two_point_law_rejects_negative_k():
    with pytest.raises(ValueError, match="k must be non-negative"):
        two_point_law(-1)


def test_two_point_noise_in_the_problem_mean_zero_variance_sigma_sq_and_deterministic_size():
    sigma, n, P, seeds = 1.5, 20000, 4, 2
    p = KinkProblem(b=np.zeros(n), c=0.0, L=1.0, a=1.0, sigma=sigma, noise="two_point", reset_period=P)
    rng = SeedStreams(3, seeds)
    x = np.zeros((seeds, n, 1))
    out = np.empty_like(x)
    total = np.zeros((seeds, n))
    for t in range(2 * P):
        xi = p.stochastic_grads(x, rng, out)[..., 0] - p.worker_grads(x)[..., 0]
        if t % P == 0:
            total[...] = 0
        total += xi
        assert np.allclose(np.abs(total), sigma * math.sqrt(t % P + 1))   # size deterministic
        # sample mean and variance against 0 and sigma^2 (5 standard errors; 4th moment bounded)
        se_mean = sigma / math.sqrt(xi.size)
        assert abs(xi.mean()) < 5 * se_mean
        assert abs((xi ** 2).mean() - sigma ** 2) < 5 * math.sqrt(np.var(xi ** 2) / xi.size) + 1e-12


def test_noise_comes_from_the_run_stream_and_reruns_are_bit_identical():
    w = noise_witness(1, 2, 0.25, 1.0, 0.0, n=16, seeds=3)
    a, b = run_witness(w), run_witness(w)
    assert a == b
    c = run_witness({**w, "seed": 1})
    assert c["mean"] != a["mean"]
    p, h = build(w)
    r3 = simulate(p, h, w["gamma"], 40, seeds=3, x0=w["x0"]).grad_norm_sq
    r1 = simulate(p, h, w["gamma"], 40, seeds=1, x0=w["x0"]).grad_norm_sq
    assert np.array_equal(r3[:1], r1)   # a seed's stream does not depend on how many run


# ----------------------------------------------------------------------- quadratic
def test_quadratic_init_witness_is_tight():
    e = evaluate_witness(init_witness(T=7, L=2.0, x0=3.0))
    assert math.isclose(e["ratio_bound"], 1.0, rel_tol=REL) and e["term_share"] == 1.0


def test_quadratic_noise_witness_is_deterministic_and_reaches_T_minus_1_over_T():
    e = evaluate_witness(noise_term_witness(T=50, sigma=2.0))
    assert e["measured"]["se"] == 0.0
    assert math.isclose(e["ratio_bound"], 49 / 50, rel_tol=REL)


def test_quadratic_rejects_bad_input():
    with pytest.raises(ValueError, match="sigma must be non-negative"):
        QuadraticProblem(sigma=-1.0)


# ----------------------------------------------------------------------- orbits and bounds
@pytest.mark.parametrize("level", [1, 2])
def test_kink_orbit_is_periodic_in_the_engine(level):
    w = kink_witness(level, 3, 0.3, 1.0)
    assert w is not None and w["orbit"]["derivative"] <= 1 - STABILITY_MARGIN
    p, h = build(w)
    top = h.periods[-1]
    r = simulate(p, h, w["gamma"], 20 * top, x0=w["x0"], metrics={"u": lambda u: u[:, 0]}, record_every=1)
    u = r.extra["metrics"]["u"][0]
    assert np.allclose(u[::top], w["x0"][0], rtol=1e-9, atol=1e-15)
    assert math.isclose(r.grad_norm_sq.mean(), w["orbit"]["measured"], rel_tol=1e-9)


def test_kink_orbits_reports_unstable_and_stable_orbits():
    p = KinkProblem(b=[1.0, -1.0, 1.0, -1.0], c=-1.02 * 0.05 * 2, L=1.0, a=1e6)
    orbits = kink_orbits(p, Hierarchy.two_level(4, 2, 5, 10, np.array([0, 0, 1, 1])), 0.05)
    derivatives = sorted(o["derivative"] for o in orbits)
    assert derivatives[0] < 1 < derivatives[-1]


def test_kink_orbits_rejects_noisy_problems():
    p = KinkProblem(b=np.zeros(4), c=0.0, sigma=1.0, noise="two_point")
    with pytest.raises(ValueError, match="deterministic one-dimensional"):
        kink_orbits(p, Hierarchy.two_level(4, 2, 1, 2, np.array([0, 0, 1, 1])), 0.1)


def test_bound_terms_split_each_level_and_reject_a_step_outside_the_condition():
    w = noise_witness(2, 2, 0.5, 1.0, 0.0, n=8)
    p, h = build(w)
    terms = bound_terms(p, h, w["gamma"], w["T"], w["x0"])
    assert terms["level_1_noise"] == 0.0 and terms["level_2_heterogeneity"] == 0.0   # P_1 = 1, eps = 0
    assert terms["level_2_noise"] > 0
    with pytest.raises(ValueError, match="outside the condition"):
        bound_terms(p, h, 1.01 * edge_step(h.periods), w["T"], w["x0"])


@pytest.mark.parametrize("bad, message", [
    ({"family": "cubic", "P": 2, "problem": {}}, "family must be one of"),
    ({"family": "kink_heterogeneity", "P": 0, "problem": {"level": 1}}, "P must be a positive integer"),
    ({"family": "kink_heterogeneity", "P": 2, "problem": {"level": 3}}, "level must be 1 or 2"),
    ({"family": "kink_noise", "P": 2, "problem": {"level": 2, "n": 5, "sigma": 1, "c": 0, "L": 1, "a": 1}},
     "n must be even"),
])
def test_build_rejects_bad_specs(bad, message):
    with pytest.raises(ValueError, match=message):
        build(bad)


def test_kink_witness_rejects_a_step_beyond_the_edge():
    with pytest.raises(ValueError, match="frac must be in"):
        kink_witness(1, 2, 1.5, 1.0)


def test_search_is_seeded_and_rejects_unknown_terms():
    a = search("level_2_heterogeneity", 2, quick=True, seed=3)
    b = search("level_2_heterogeneity", 2, quick=True, seed=3)
    assert a == b and a["ratio_bound"] > 0.04
    with pytest.raises(ValueError, match="term must be one of"):
        search("init", 2)


# ----------------------------------------------------------------------- the saved library
def test_library_covers_every_term():
    assert {w["term"] for w in LIBRARY} == set(TERMS)


@pytest.mark.parametrize("entry", LIBRARY, ids=[f"{w['term']}-P{w['instance']['P']}" for w in LIBRARY])
def test_saved_witness_reruns_to_its_saved_value(entry):
    quick = entry["quick"]
    again = run_witness(entry, T=quick["T"], seeds=quick["seeds"])
    assert again == quick       # bit-identical: deterministic runs, and seeded per-seed streams


@pytest.mark.parametrize("entry", LIBRARY, ids=[f"{w['term']}-P{w['instance']['P']}" for w in LIBRARY])
def test_theorem_2_holds_on_every_witness(entry):
    problem, hierarchy = build(entry)
    terms = bound_terms(problem, hierarchy, entry["gamma"], entry["T"], entry["x0"])   # also checks the condition
    bound = sum(terms.values())
    assert math.isclose(bound, entry["bound"], rel_tol=1e-12)
    assert entry["measured"]["ci_high"] <= bound * (1 + REL)
    assert entry["term_value"] >= 0.5 * bound                                          # the term dominates
    if entry["instance"]["family"] == "kink_heterogeneity":
        assert entry["orbit"]["stable"]                                                 # only attracting orbits kept


def test_load_witnesses_rejects_a_file_that_is_not_a_library(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="witness library"):
        load_witnesses(path)


# ----------------------------------------------------------------------- fresh seeds
def test_run_witness_measures_on_seeds_the_search_never_saw():
    """A reported value comes from the root seed + 10**6 (FRESH_SEEDS seeds when noisy), not from
    the seeds the search selected the instance on (root entry["seed"])."""
    w = noise_witness(1, 2, 0.25, 1.0, 0.5, n=16, seeds=3)
    fresh = run_witness(w)
    assert (fresh["seed"], fresh["seeds"]) == (w["seed"] + FRESH_SEED_OFFSET, FRESH_SEEDS)
    own = run_witness(w, seeds=w["seeds"], seed=w["seed"])   # what the search sees
    assert own["seed"] == w["seed"] and own["mean"] != fresh["mean"]
    assert run_witness(w, seeds=FRESH_SEEDS, seed=w["seed"] + FRESH_SEED_OFFSET) == fresh
    assert evaluate_witness(w)["measured"] == fresh
    # a deterministic witness measures the same on any seed: nothing changes for it
    k = kink_witness(1, 3, 0.3, 1.0)
    assert run_witness(k)["mean"] == run_witness(k, seed=k["seed"])["mean"] and run_witness(k)["seeds"] == 1


@pytest.mark.parametrize("entry", LIBRARY, ids=[f"{w['term']}-P{w['instance']['P']}" for w in LIBRARY])
def test_every_saved_value_is_measured_on_fresh_seeds(entry):
    """The library reports no value measured on the seeds its search selected on."""
    for measured in (entry["measured"], entry["quick"]):
        assert measured["seed"] == entry["seed"] + FRESH_SEED_OFFSET
    noisy = entry["instance"]["problem"].get("sigma", 0.0) > 0
    assert entry["measured"]["seeds"] == (FRESH_SEEDS if noisy else entry["seeds"])
    assert entry["ratio_bound"] == entry["measured"]["mean"] / entry["bound"]
    if entry["instance"]["family"] == "kink_noise":   # the searched noisy witnesses: their search's seeds
        assert entry["search"]["noise_seed"] == entry["seed"] and entry["search"]["noise_seeds"] >= 1
