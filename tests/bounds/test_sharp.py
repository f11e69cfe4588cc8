"""Theorem S and S' (docs/theory.md, derived for this project): transcription, Theorem 2 as a
consequence, the optimiser, S' below S, and the small-step limits (4x and 8x)."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bounds
from bounds.compiled import compiled
from bounds.strategies import theorem_instances
from bounds.theorems import THEOREM_S
from bounds.theorems.recursion import THEOREM_S_PRIME


def sharp(bound):
    """Theorem S on the hierarchy of a Theorem 2 bound."""
    return bound.under(THEOREM_S)


def _by_hand(gamma, L, sigma, n, T, F0, periods, counts, eps, alpha, beta):
    """Theorem S transcribed from docs/theory.md in exact rationals, independently of bounds.theorems.sharp."""
    g, L, sigma, F0 = (Fraction(v) for v in (gamma, L, sigma, F0))
    M = len(periods)
    kap = [max(Fraction(0), Fraction((P - 2) * (P + 1), 2)) for P in periods]
    c = [(1 + 1 / Fraction(a)) * (1 + 1 / Fraction(b)) * g * g * L * L * k for a, b, k in zip(alpha, beta, kap)]
    total = 2 * F0 / (g * T) + g * L * sigma**2 / n
    for l, P in enumerate(periods):
        if P < 2:
            continue
        a, b = Fraction(alpha[l]), Fraction(beta[l])
        Q, R = Fraction(P * (P - 1), 2), Fraction(P * (P - 1) * (P - 2), 3)
        N = Fraction(counts[l] - counts[l + 1]) * sigma**2 / n
        prod = math.prod((1 - c[m] for m in range(l, M)), start=Fraction(1))
        total += g * g * L * L / (P * prod) * ((Q + a * kap[l]) * N
                                              + (Q + kap[l] / a + (1 + 1 / a) * (1 + b) * R) * Fraction(eps[l]) ** 2)
    return float(total)


def _numbers(inst):
    v, h = inst.values, inst.shape
    return dict(gamma=v["gamma"], L=v["L"], sigma=v["sigma"], n=h.n, T=v["T"], F0=v["F0"],
                periods=list(h.periods), counts=list(h.counts), eps=list(v["eps"]))


@settings(max_examples=100, deadline=None)
@given(theorem_instances(max_levels=3), st.lists(st.floats(0.2, 5.0), min_size=6, max_size=6))
def test_sharp_matches_the_transcription(inst, young):
    x = _numbers(inst)
    M = len(x["periods"])
    alpha, beta = young[:M], young[3:3 + M]
    b = sharp(inst.bound)
    c = [(1 + 1 / a) * (1 + 1 / bb) * x["gamma"] ** 2 * x["L"] ** 2 * max(0, (P - 2) * (P + 1) / 2)
         for a, bb, P in zip(alpha, beta, x["periods"])]
    if max(c) >= 0.99:
        return
    value = b.evaluate(**inst.values, alpha=alpha, beta=beta)
    assert value == pytest.approx(_by_hand(**x, alpha=alpha, beta=beta), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(theorem_instances(max_levels=3))
def test_theorem_2_follows_from_theorem_s(inst):
    """At alpha = beta = 1, under Theorem 2's condition, S is at most Theorem 2; optimised S is lower still."""
    M = inst.shape.M
    s = sharp(inst.bound)
    at_one = s.evaluate(**inst.values, alpha=[1.0] * M, beta=[1.0] * M)
    theorem2 = inst.bound.evaluate(**inst.values)
    assert at_one <= theorem2 * (1 + 1e-12) + 1e-300
    assert s.optimise(**inst.values).value <= at_one * (1 + 1e-12) + 1e-300


@settings(max_examples=100, deadline=None)
@given(theorem_instances(max_levels=1), st.floats(0.2, 5.0), st.floats(0.2, 5.0))
def test_s_prime_is_never_above_s_on_one_level(inst, alpha, beta):
    x = _numbers(inst)
    c = (1 + 1 / alpha) * (1 + 1 / beta) * x["gamma"] ** 2 * x["L"] ** 2 * max(0, (x["periods"][0] - 2) * (x["periods"][0] + 1) / 2)
    if c >= 0.99 or x["T"] % x["periods"][-1]:
        return
    s = sharp(inst.bound).evaluate(**inst.values, alpha=[alpha], beta=[beta])
    s_prime = inst.bound.under(THEOREM_S_PRIME).evaluate(**inst.values, alpha=[alpha], beta=[beta])
    assert s_prime <= s * (1 + 1e-9)


@pytest.mark.parametrize("P", [3, 5, 10, 20])
def test_small_step_limits_are_4x_and_8x_below_theorem_2(P):
    """As gamma -> 0 with optimal alpha, beta: noise share 1/4 of Theorem 2's, heterogeneity 1/8."""
    base = dict(L=1.0, n=2, T=10**9, F0=0.0, P=P, gamma=1e-7)
    only_noise = dict(base, sigma=1.0, eps=0.0)
    only_het = dict(base, sigma=0.0, eps=1.0)
    local = bounds.local_sgd()
    s = sharp(local)
    for values, ratio in ((only_noise, 1 / 4), (only_het, 1 / 8)):
        term2 = local.evaluate_terms(**values)["divergence"]
        sharp_value = s.optimise(**values).value - local.evaluate_terms(**values)["noise"]
        assert sharp_value / term2 == pytest.approx(ratio, rel=2e-3)


def test_sharp_refuses_what_no_young_parameters_can_satisfy():
    s = sharp(bounds.local_sgd())
    with pytest.raises(ValueError, match="kappa_1 < 1"):
        s.optimise(gamma=0.5, L=1, sigma=1, n=4, T=10, F0=1, P=10, eps=1)
    with pytest.raises(ValueError, match="gamma\\*L <= 1"):
        s.optimise(gamma=2.0, L=1, sigma=1, n=4, T=10, F0=1, P=1, eps=1)


def test_the_sharp_condition_is_looser_than_theorem_2s():
    """Theorem 2 needs 4 gamma^2 L^2 P(P-1) <= 1; S only gamma^2 L^2 kappa < 1 for some alpha, beta."""
    P, L = 10, 1.0
    gamma = 0.1  # 4 * 0.01 * 90 = 3.6 > 1, but 0.01 * 44 = 0.44 < 1
    values = dict(gamma=gamma, L=L, sigma=1.0, n=4, T=100, F0=1.0, P=P, eps=1.0)
    assert not all(c.holds for c in bounds.local_sgd().check_condition(gamma=gamma, L=L, P=P))
    assert math.isfinite(sharp(bounds.local_sgd()).optimise(**values).value)


def test_random_grouping_keeps_theorem_s_in_either_order():
    v = dict(gamma=0.005, L=1.0, sigma=1.0, n=16, T=1000, F0=1.0, eps=1.0, alpha=[1.0, 2.0], beta=[0.5, 1.0])
    b = bounds.multi_level([5, 50], [4])
    one = bounds.random_grouping(sharp(b)).evaluate(**v)
    other = sharp(bounds.random_grouping(b)).evaluate(**v)
    assert one == pytest.approx(other, rel=1e-14)
    assert one < bounds.random_grouping(b).evaluate(**{k: x for k, x in v.items() if k not in ("alpha", "beta")})


def test_the_sandwich_for_theorem_s_fails_at_equal_periods():
    """docs/theory.md §9.8: with I = G the closure pays (1 - c) twice for the finer level."""
    common = dict(gamma=0.3, L=1.0, sigma=0.0, n=32, T=1000, F0=1.0)
    local = sharp(bounds.local_sgd()).evaluate(**common, P=5, eps=3.0)
    hsgd = sharp(bounds.random_grouping(bounds.two_level())).evaluate(**common, N=2, I=5, G=5, eps=3.0)
    assert hsgd > 5 * local
    theorem2 = dict(common, gamma=0.04)
    assert bounds.random_grouping(bounds.two_level()).evaluate(**theorem2, N=2, I=5, G=5, eps=3.0) == pytest.approx(
        bounds.local_sgd().evaluate(**theorem2, P=5, eps=3.0), rel=1e-12)  # Theorem 2: equal, as Corollary 1 says


@settings(max_examples=60, deadline=None, derandomize=True)
@given(theorem_instances(max_levels=2, min_levels=2, random_grouping=True))
def test_the_lower_side_of_the_sandwich_for_theorem_s_is_observed(inst):
    """S_local(P_1) <= S_hsgd with Lemma 2's shares (observed, not proved: docs/theory.md §9.8)."""
    if inst.periods[0] == inst.periods[-1]:
        return
    hsgd = sharp(inst.bound).evaluate(**inst.values)
    low = sharp(bounds.local_sgd()).evaluate(**inst.local_values(inst.periods[0]))
    assert low <= hsgd * (1 + 1e-5) + 1e-300


def test_theorem_s_closure_condition_is_strict():
    """c_l < 1 (at c_l = 1 the bound is infinite); Theorem 2's conditions stay non-strict."""
    from bounds.bound import Condition

    s = sharp(bounds.local_sgd())
    strict = [c for c in s.conditions if c.strict]
    assert len(strict) == 1 and strict[0].met(1.0, 1.0) is False and strict[0].met(0.5, 1.0)
    assert not any(c.strict for c in bounds.local_sgd().conditions)
    assert Condition("x", s.conditions[0].lhs, s.conditions[0].rhs).met(1.0, 1.0)


def test_the_optimiser_descends_when_every_start_fails_the_conditions():
    """Issue 21's audit: near S's edge (gamma^2 L^2 kappa_2 = 0.9995) every start is infeasible;
    the search fell back to alpha = beta = e^35 on every level (6.4e16), while alpha = e^35,
    beta = (0.5, e^35) gives 137.9. It now descends from the loosest choice."""
    b = bounds.multi_level([3, 9], [2]).under(THEOREM_S)
    v = dict(gamma=math.sqrt(0.9995 / 35), L=1, sigma=0, n=4, T=900, F0=0, eps=[1, 0])
    by_hand = b.evaluate(strict=False, **v, alpha=[math.exp(35)] * 2, beta=[0.5, math.exp(35)])
    assert by_hand == pytest.approx(137.9, rel=1e-3)
    assert b.optimise(**v).value <= by_hand


def _s_prime_battery(seed, count):
    """Seeded extreme instances of Theorem S': gamma L up to 1, alpha, beta in e^-8..e^8,
    sigma, eps in e^-6..e^3, up to three levels, horizons not multiples of P_M included."""
    import random

    rng = random.Random(seed)
    for _ in range(count):
        M = rng.randint(1, 3)
        periods = [rng.choice([1, 2, 3, 4, 5])]
        for _ in range(M - 1):
            periods.append(periods[-1] * rng.choice([1, 2, 3, 5, 10]))
        groups = sorted(rng.sample(range(2, 60), M - 1), reverse=True)
        L = math.exp(rng.uniform(-3, 3))
        gl = rng.choice([1.0, rng.uniform(0.5, 1), math.exp(rng.uniform(-10, 0))])
        T = rng.choice([periods[-1] * rng.randint(1, 30), rng.randint(1, 50 * periods[-1])])
        yield periods, groups, {
            "gamma": gl / L, "L": L, "sigma": math.exp(rng.uniform(-6, 3)),
            "n": (groups[0] if groups else 2) * rng.randint(1, 4), "T": T, "F0": math.exp(rng.uniform(-3, 3)),
            "eps": [math.exp(rng.uniform(-6, 3)) for _ in periods],
            "alpha": [math.exp(rng.uniform(-8, 8)) for _ in periods],
            "beta": [math.exp(rng.uniform(-8, 8)) for _ in periods]}


def _never_below(computed, exact):
    return math.isinf(computed) or Fraction(computed) >= exact


def test_theorem_s_prime_float_level_terms_are_never_below_the_exact_ones():
    """Issue 21's re-audit: a bound evaluated in floats must not come out below its exact value at
    the same inputs. Round-to-nearest put S''s level terms below it: on 9690e4f, 97 of this
    battery's 202 finite non-zero level terms (worst 5.1e-15 relative) and the audit's level_1
    (3.4e-17 below, the sum still 2.9e-15 above). The recursion now carries a proven error bound
    and rounds up (bounds/theorems/recursion.py). Checked as fractions: every level term, the
    audit's instance at horizons that are and are not multiples of P_M, underflow and overflow
    (exact fallback), and an array of T (the vectorised path)."""
    from bounds.exact import exact_terms

    audit = {"gamma": 0.09070437782803076, "L": 0.6952181127340096, "sigma": 0.026206632550251078, "n": 54,
             "F0": 0.9845591875433181, "eps": [0.32114296573258955, 2.528802471372475, 0.15290357375938615],
             "alpha": [5.977415646657413, 0.02947945160264572, 29.958989548517266],
             "beta": [0.5184601255886061, 0.05693332299756734, 0.3394088331455953]}
    cases = [([4, 20, 40], [24, 8], dict(audit, T=T)) for T in (1080, 1079, 1081, 39, 41, 7)]
    edge = {"sigma": 1e-3, "n": 8, "T": 25, "F0": 1.0, "eps": [1e-5, 2.0], "alpha": [1e-3, 5.0], "beta": [0.5, 1e-4]}
    cases += [([3, 12], [4], dict(edge, gamma=g, L=L)) for g in (1e-170, 1e-155, 1e-100, 0.3) for L in (1.0, 1e-160)]
    cases += list(_s_prime_battery(seed=21, count=120))
    checked = 0
    for periods, groups, v in cases:
        b = bounds.multi_level(periods, groups, theorem=THEOREM_S_PRIME)
        computed, exact = b.evaluate_terms(**v), exact_terms(b, v)
        for name in (k for k in exact if k.startswith("level_")):
            assert _never_below(computed[name], exact[name]), (periods, v, name)
            checked += 1
    assert checked > 250
    # an array of horizons (the vectorised path), not multiples of P_M among them
    b = bounds.multi_level([4, 20, 40], [24, 8], theorem=THEOREM_S_PRIME)
    horizons = np.arange(1, 130)
    level_3 = b.terms["level_3"]
    values = b.values_to_arrays(dict(audit, T=horizons))
    column = np.broadcast_to(np.asarray(compiled(b.symbols, level_3)(*(values[s] for s in b.symbols))), horizons.shape)
    for T, computed in zip(horizons, column):
        assert _never_below(float(computed), exact_terms(b, dict(audit, T=int(T)), {"l": level_3})["l"]), T


def _grid_best(b, values, M, logs):
    """The smallest value of ``b`` over the full product grid ``e^logs`` for every alpha_l, beta_l."""
    import itertools

    f = b.lambdify(validate=False, outside_condition="nan")
    combos = np.exp(np.array(list(itertools.product(logs, repeat=2 * M))))
    with np.errstate(all="ignore"):
        out = f(**values, alpha=[combos[:, l] for l in range(M)], beta=[combos[:, M + l] for l in range(M)])
    out = out[np.isfinite(out)]
    return float(out.min()) if out.size else math.inf


def _near_the_edge(seed, count):
    """Seeded Theorem S instances with gamma^2 L^2 max kappa_l in [0.9, 0.99999]."""
    import random

    rng = random.Random(seed)
    while count:
        M = rng.choice([1, 2, 2, 3])
        periods = [rng.choice([1, 2, 3, 4, 5])]
        for _ in range(M - 1):
            periods.append(periods[-1] * rng.choice([1, 2, 3]))
        groups = sorted(rng.sample(range(2, 12), M - 1), reverse=True)
        kmax = max(max(0, (P - 2) * (P + 1) / 2) for P in periods)
        if kmax == 0:
            continue
        edge = rng.choice([0.9, 0.99, 0.999, 0.9995, 0.99999])
        values = {"gamma": math.sqrt(edge / kmax), "L": 1.0, "sigma": rng.choice([0.0, 0.0, 0.1, 1.0]),
                  "n": (groups[0] if groups else 2) * 2, "T": rng.choice([100, 900, 10**4]),
                  "F0": rng.choice([0.0, 1.0]), "eps": [rng.choice([0.0, 0.3, 1.0, 3.0]) for _ in periods]}
        count -= 1
        yield periods, groups, values


def test_the_optimiser_near_the_edge_is_never_worse_than_a_grid():
    """Issue 21's re-audit: near S's edge the search must find the feasible points there are, and
    do at least as well as a plain grid over (alpha_l, beta_l) for every level at once. On
    9690e4f it lost to the grid on the four explicit cases (the 24 seeded ones it did not), where
    the coarsest level has no terms of its own (sigma = eps_M = 0) and should take alpha_M =
    beta_M = e^35 to shrink c_M in the finer levels' products: 0.9000122 against 0.9000000 at
    P = (2, 4), F0 = 0; 0.6081151 against 0.6081081 at P = (2, 2, 6), F0 = 0 (L-BFGS-B stopped
    at alpha_2 ~ 1.5e5 on a flat objective). The search now starts from the loosest choice too
    and polishes one parameter at a time over a grid (bounds/free_parameters.py)."""
    cases = [([2, 4], [6], {"gamma": math.sqrt(0.9 / 9), "L": 1.0, "sigma": 0.0, "n": 12, "T": 10**4, "F0": F0,
                            "eps": [3.0, 0.0]}) for F0 in (0.0, 1.0)]
    cases += [([2, 2, 6], [6, 5], {"gamma": math.sqrt(0.9 / 20), "L": 1.0, "sigma": 0.0, "n": 12, "T": 100,
                                   "F0": F0, "eps": [1.0, 3.0, 0.0]}) for F0 in (0.0, 1.0)]
    cases += list(_near_the_edge(seed=21, count=24))
    full = (-35.0, -8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 35.0)
    for periods, groups, values in cases:
        b = bounds.multi_level(periods, groups).under(THEOREM_S)
        M = len(periods)
        grid = _grid_best(b, values, M, full if M < 3 else full[::2])
        assert math.isfinite(grid)
        found = b.optimise(**values)
        assert found.value <= grid * (1 + 1e-12), (periods, values, found.value, grid)
        assert b.evaluate(**values, **found.values) == found.value  # feasible: strict evaluation accepts it
