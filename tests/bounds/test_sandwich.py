"""Corollaries 0-2: gaps, factored forms, the convex combination, and the sign proofs."""

import pytest
import sympy as sp

import bounds
from bounds import symbols as s
from bounds.proofs import Domain, ProofError, prove_nonnegative, prove_positive
from bounds.corollaries import SandwichError, sandwich
from tests.bounds import theory_literal as lit
from tests.bounds.test_theorems import same


def test_corollary_1_gaps_and_factorisation_match_theory():
    sw = sandwich()  # two levels, random grouping
    assert same(sw.lower.expr, lit.local_at(lit.I, lit.eps**2))
    assert same(sw.upper.expr, lit.local_at(lit.G, lit.eps**2))
    assert same(sw.lower_gap, lit.COR1_LOWER)
    assert same(sw.upper_gap, lit.COR1_UPPER)
    assert same(sw.lower_gap_factored, lit.COR1_LOWER)
    assert same(sw.upper_gap_factored, lit.COR1_UPPER)


def test_corollary_1_convex_combination_identity():
    h = lit.THEOREM_1.subs({lit.eps_g: sp.sqrt(lit.EPS_G_RANDOM_SQ), lit.eps_l: sp.sqrt(lit.EPS_L_RANDOM_SQ)})
    combo = (lit.n - lit.N) / (lit.n - 1) * lit.local_at(lit.I, lit.eps**2) \
        + (lit.N - 1) / (lit.n - 1) * lit.local_at(lit.G, lit.eps**2)
    assert sp.cancel(h - combo) == 0  # docs/theory.md §6.3 Corollary 1's identity, independently of the code
    sw = sandwich()
    assert same(sw.middle.expr, h)
    assert same(sw.identity.rhs, combo)


def test_corollary_0_gaps_match_theory():
    sw = sandwich(grouping="any")
    total = lit.eps_g**2 + lit.eps_l**2
    assert same(sw.lower.expr, lit.local_at(lit.I, total))
    assert same(sw.upper.expr, lit.local_at(lit.G, total))
    assert same(sw.lower_gap, lit.COR0_LOWER)
    assert same(sw.upper_gap, lit.COR0_UPPER)
    assert sw.weights is None and sw.identity is None


@pytest.mark.parametrize("M", [2, 3, 4])
@pytest.mark.parametrize("grouping", ["random", "any"])
def test_sandwich_is_proved_for_symbolic_hierarchies(M, grouping):
    sw = sandwich(bounds.multi_level(*s.symbolic_hierarchy(M)), grouping=grouping)
    # the certificates rest on the factored forms, which must equal the gaps
    assert sp.cancel(sw.lower_gap - sw.lower_gap_factored) == 0
    assert sp.cancel(sw.upper_gap - sw.upper_gap_factored) == 0
    assert sp.cancel(sw.upper.expr - sw.middle.expr - sw.upper_gap) == 0
    periods, _ = s.symbolic_hierarchy(M)
    total = lit.eps**2 if grouping == "random" else sp.Add(*(s.level_eps(l) ** 2 for l in range(1, M + 1)))
    assert same(sw.lower.expr, lit.local_at(periods[0], total))  # the ends, against docs/theory.md §4.3 Local SGD
    assert same(sw.upper.expr, lit.local_at(periods[-1], total))
    if grouping == "random":
        assert sp.cancel(sp.Add(*sw.weights) - 1) == 0
        periods, _ = s.symbolic_hierarchy(M)
        combo = sum(w * lit.local_at(p, lit.eps**2) for w, p in zip(sw.weights, periods))
        assert same(sw.middle.expr, combo)  # docs/theory.md §6.4 Corollary 2's identity, against §4.3 Local SGD


def test_sandwich_for_numeric_and_mixed_hierarchies():
    for b in (bounds.multi_level([5, 25, 100], [16, 4]), bounds.multi_level([2, s.G], [s.N]),
              bounds.multi_level([1, 1, 4], [8, 2])):
        for grouping in ("random", "any"):
            sw = sandwich(b, grouping=grouping)
            assert sp.cancel(sw.lower_gap - sw.lower_gap_factored) == 0


def test_sandwich_evaluates_in_order_at_numbers():
    sw = sandwich(bounds.multi_level([5, 25, 100], [16, 4]))
    lo, mid, hi = sw.evaluate(gamma=0.003, L=1, sigma=1, n=64, T=1000, F0=1, eps=1)
    assert lo < mid < hi


def test_hsgd_condition_implies_both_local_conditions():
    sw = sandwich(bounds.multi_level(*s.symbolic_hierarchy(3)))
    lower, upper = sw.condition_proofs
    P1, P2, P3 = s.symbolic_hierarchy(3)[0]
    # sum_l P_l(P_l - 1) minus each end's own P(P - 1): what is left is proved >= 0
    assert sp.expand(lower.expr - (P2 * (P2 - 1) + P3 * (P3 - 1))) == 0
    assert sp.expand(upper.expr - (P1 * (P1 - 1) + P2 * (P2 - 1))) == 0


def test_sandwich_rejects_bad_arguments():
    with pytest.raises(ValueError, match="grouping must be 'random' or 'any'"):
        sandwich(grouping="homogeneous")
    with pytest.raises(ValueError, match="applies random grouping itself"):
        sandwich(bounds.random_grouping(bounds.two_level()))


# --- the prover can fail: it proves nothing false -----------------------------------------

DOMAIN = Domain("1 <= I <= G", (((s.G, s.I + sp.Symbol("d_G", nonnegative=True)),
                                  (s.I, 1 + sp.Symbol("d_I", nonnegative=True))),))


@pytest.mark.parametrize("false_claim", [
    s.I - s.G,                       # negative whenever I < G
    2 * s.G + 2 * s.I - 5,           # -1 at I = G = 1
    s.G * s.I - 2 * s.G,             # negative at I = 1
    s.sigma**2 - s.eps**2,           # either sign
])
def test_prover_rejects_false_claims(false_claim):
    with pytest.raises(ProofError):
        prove_nonnegative(false_claim, DOMAIN)


def test_prover_distinguishes_positive_from_nonnegative():
    assert prove_positive(2 * s.G + 2 * s.I - 3, DOMAIN).strict
    prove_nonnegative(s.G - s.I, DOMAIN)
    with pytest.raises(ProofError):
        prove_positive(s.G - s.I, DOMAIN)  # zero at I = G


def test_a_wrong_factored_gap_is_caught(monkeypatch):
    """If the formulas were wrong, sandwich() would refuse rather than 'prove' them."""
    import bounds.corollaries as module

    original = module._bracket

    def wrong(bound, a, b, noise_count, eps_sq):
        return original(bound, a, b, noise_count, eps_sq) * 2

    monkeypatch.setattr(module, "_bracket", wrong)
    with pytest.raises(SandwichError):
        sandwich()


def test_shift_variables_cannot_clash_with_user_symbols():
    """A period named like a shift variable must not turn the domain into a wrong cover."""
    from bounds.corollaries import hierarchy_domain

    n2 = sp.Symbol("n2", positive=True, integer=True)
    domain = hierarchy_domain(bounds.multi_level([n2], []), at_least_two_workers=True)
    with pytest.raises(ProofError):
        prove_nonnegative(s.n - n2 - 1, domain)  # false at n = 2, n2 = 5


def test_prover_keeps_factors_that_vanish_on_the_domain_and_rejects_non_polynomials():
    with pytest.raises(ProofError):
        prove_positive((s.G**2 - s.I**2) / (s.G - s.I), DOMAIN)  # undefined at G = I
    with pytest.raises(ProofError):
        prove_nonnegative(1 / (sp.sqrt(s.G) - s.I), DOMAIN)
