"""Every algebraic step of docs/theory.md §5 Derivation of Theorem 2, checked by sympy."""

import pytest
import sympy as sp

import bounds
from bounds import symbols as s

k, P = sp.symbols("k P", integer=True, positive=True)
gamma, L, n, c = sp.symbols("gamma L n c", positive=True)
sigma, eps = sp.symbols("sigma eps", nonnegative=True)


def vec(name, d=3):
    return sp.Matrix(sp.symbols(f"{name}0:{d}", real=True))


def test_polarisation_used_in_the_descent_lemma():
    a, b = vec("a"), vec("b")
    assert sp.expand(-a.dot(b) - ((a - b).dot(a - b) - a.dot(a) - b.dot(b)) / 2) == 0


def test_descent_step_rearranges_to_the_stated_per_step_inequality():
    """-gamma<g, h> + (L gamma^2/2)(|h|^2 + sigma^2/n) with <g,h> polarised equals
    -(gamma/2)|g|^2 + (gamma/2)|g-h|^2 - (gamma/2)(1 - gamma L)|h|^2 + L gamma^2 sigma^2/(2n);
    the |h|^2 term is <= 0 exactly when gamma <= 1/L."""
    g, h = vec("g"), vec("h")
    lhs = -gamma * g.dot(h) + L * gamma**2 / 2 * (h.dot(h) + sigma**2 / n)
    rhs = (-gamma / 2 * g.dot(g) + gamma / 2 * (g - h).dot(g - h)
           - gamma / 2 * (1 - gamma * L) * h.dot(h) + L * gamma**2 * sigma**2 / (2 * n))
    assert sp.expand(lhs - rhs) == 0


def test_summing_the_descent_step_gives_the_three_leading_terms():
    T, F0, S = sp.symbols("T F0 S", positive=True)  # S = sum_t (U_t + D_t)
    # (gamma/2) sum E|grad|^2 <= F0 + (gamma L^2/2) S + T L gamma^2 sigma^2/(2n), times 2/(gamma T):
    avg = sp.expand((F0 + gamma * L**2 / 2 * S + T * L * gamma**2 * sigma**2 / (2 * n)) * 2 / (gamma * T))
    assert sp.expand(avg - (2 * F0 / (gamma * T) + gamma * L * sigma**2 / n + L**2 / T * S)) == 0
    b = bounds.local_sgd()
    assert sp.expand(b.terms["init"] + b.terms["noise"] - (2 * s.F0 / (s.gamma * s.T) + s.gamma * s.L * s.sigma**2 / s.n)) == 0


def test_jensen_step_is_the_variance_identity():
    vs = [vec(f"v{j}_", 2) for j in range(3)]
    mean = (vs[0] + vs[1] + vs[2]) / 3  # Matrix sum
    spread = sp.Add(*((v - mean).dot(v - mean) for v in vs)) / 3
    assert sp.expand(sp.Add(*(v.dot(v) for v in vs)) / 3 - mean.dot(mean) - spread) == 0


def test_noise_share_of_a_level_is_at_most_the_count_difference():
    """Independent noises with variances v_j <= sigma^2. For n = 3 workers in one parent with
    children {1,2} and {3}, sum_u (n_u/n) E|avg_u - avg_p|^2 = (1/n) sum_u mean_u(v)(1 - n_u/n_p),
    at most sigma^2 (children - 1)/n: the (K_{l-1} - K_l) sigma^2/n of step 2."""
    v1, v2, v3 = sp.symbols("v1:4", nonnegative=True)
    var = {1: v1, 2: v2, 3: v3}

    def variance(weights):  # of sum_j w_j xi_j, independent, mean zero
        return sum(w**2 * var[j] for j, w in weights.items())

    avg_p = {1: sp.Rational(1, 3), 2: sp.Rational(1, 3), 3: sp.Rational(1, 3)}
    diff_u1 = {j: (sp.Rational(1, 2) if j in (1, 2) else 0) - avg_p[j] for j in var}
    diff_u2 = {j: (1 if j == 3 else 0) - avg_p[j] for j in var}
    weighted = sp.Rational(2, 3) * variance(diff_u1) + sp.Rational(1, 3) * variance(diff_u2)
    mean_u1, mean_u2 = (v1 + v2) / 2, v3
    n_workers = 3
    assert sp.expand(weighted - (mean_u1 * (1 - sp.Rational(2, 3)) + mean_u2 * (1 - sp.Rational(1, 3))) / n_workers) == 0
    # at v_j = sigma^2 the bound sigma^2 (c - 1)/n is attained
    assert sp.expand(weighted.subs({v1: sigma**2, v2: sigma**2, v3: sigma**2}) - sigma**2 * (2 - 1) / n_workers) == 0


def test_window_sums():
    assert sp.simplify(sp.summation(k, (k, 0, P - 1)) - P * (P - 1) / 2) == 0
    assert sp.simplify(sp.summation(k**2, (k, 0, P - 1)) - P * (P - 1) * (2 * P - 1) / 6) == 0


def test_coupling_and_the_step_size_condition():
    coupling = sp.summation(4 * gamma**2 * L**2 * k, (k, 0, P - 1))
    assert sp.simplify(coupling - 2 * gamma**2 * L**2 * P * (P - 1)) == 0
    # sum_l 2 gamma^2 L^2 P_l(P_l-1) <= 1/2  <=>  the code's condition 4 gamma^2 L^2 sum_l P_l(P_l-1) <= 1
    periods, _ = s.symbolic_hierarchy(3)
    coupling_total = sum(2 * s.gamma**2 * s.L**2 * p * (p - 1) for p in periods)
    condition = bounds.multi_level(*s.symbolic_hierarchy(3)).conditions[1]
    assert condition.rhs == 1 and sp.expand(2 * coupling_total - condition.lhs) == 0
    # a window total W with W <= A + W/2 satisfies W <= 2A: the "doubling"
    W, A = sp.symbols("W A", nonnegative=True)
    assert sp.solve_univariate_inequality(W <= A + W / 2, W, relational=False) == sp.Interval(-sp.oo, 2 * A)


def test_window_sum_per_step_is_the_level_term_of_theorem_2():
    """Delta_l(t) <= 2 gamma^2 k c sigma^2/n + 4 gamma^2 k^2 eps^2 (+ coupling), summed over a
    window, doubled, divided by its length P and multiplied by L^2 from step 1."""
    window = sp.summation(2 * gamma**2 * k * c * sigma**2 / n + 4 * gamma**2 * k**2 * eps**2, (k, 0, P - 1))
    per_step = L**2 * 2 * window / P
    level = bounds.multi_level([s.period(1)], []).terms["level_1"]
    expected = level.subs({s.gamma: gamma, s.L: L, s.n: n, s.sigma: sigma, s.level_eps(1): eps,
                           s.period(1): P}).subs(n - 1, c)  # (K_0 - K_1) = n - 1 written as c
    assert sp.simplify(per_step - expected) == 0


def test_gap_polynomial_factors():
    G, I = sp.symbols("G I")
    assert sp.expand((G - 1) * (2 * G - 1) - (I - 1) * (2 * I - 1) - (G - I) * (2 * G + 2 * I - 3)) == 0


@pytest.mark.parametrize("M", [2, 3, 4])
def test_random_grouping_shares_sum_to_one(M):
    b = bounds.multi_level(*s.symbolic_hierarchy(M))
    assert sp.cancel(sp.Add(*bounds.shares(b)) - 1) == 0


def test_random_grouping_reduces_at_the_ends():
    """N = 1: all divergence is downward and H-SGD is local SGD with P = I; N = n: all upward,
    local SGD with P = G."""
    b = bounds.random_grouping(bounds.two_level())
    loc = bounds.local_sgd().expr
    assert sp.cancel(b.expr.subs(s.N, 1) - loc.subs(s.P, s.I)) == 0
    assert sp.cancel(b.expr.subs(s.N, s.n) - loc.subs(s.P, s.G)) == 0
    # and with I = G the two-level bound is local SGD with eps^2 = eps_g^2 + eps_l^2, any grouping
    two = bounds.two_level().expr.subs(s.I, s.G)
    assert sp.cancel(two - loc.subs({s.P: s.G, s.eps: sp.sqrt(s.eps_g**2 + s.eps_l**2)})) == 0
