"""docs/theory.md §9 Theorems S and S': every step of their derivation, checked by sympy.

The sharper constants were derived for this project (not in the paper). Each test below
checks one step of §9.3-§9.6; the reference implementations ``theorem_s`` and
``theorem_s_prime`` (exact rationals, test-local, not the package's code) check the assembled
statements on instances: S' <= S, S <= Theorem 2 under Theorem 2's condition, and the window
identity of the recursion.
"""

from fractions import Fraction
from itertools import product
from math import isqrt, prod

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

k, j, P, q, a_ = sp.symbols("k j P q a", integer=True, nonnegative=True)
gamma, L, alpha, beta = sp.symbols("gamma L alpha beta", positive=True)
N, eps = sp.symbols("N eps", nonnegative=True)  # N = N_l = (K_{l-1}-K_l) sigma^2/n, eps = eps_l


def vec(name, d=3):
    return sp.Matrix(sp.symbols(f"{name}0:{d}", real=True))


def Q_(P_):
    return P_ * (P_ - 1) / 2


def kappa_(P_):
    return (P_ - 2) * (P_ + 1) / 2


def R_(P_):
    return P_ * (P_ - 1) * (P_ - 2) / 3


def nonneg_coefficients(expr, gens):
    poly = sp.Poly(sp.expand(expr), *gens)
    return all(c >= 0 for c in poly.coeffs())


# --- §9.3 the per-step inequalities -----------------------------------------------------------

def test_k1_cross_term_vanishes_when_the_drift_is_known_at_the_reset():
    """E||X + Y||^2 = E||X||^2 + ||Y||^2 when E[X | F_s] = 0 and Y is F_s-measurable: a
    three-point mean-zero law for X, any fixed Y."""
    v1, v2, y = vec("v"), vec("w"), vec("y")
    p1, p2, p3 = sp.symbols("p1:4", positive=True)
    v3 = -(p1 * v1 + p2 * v2) / p3  # mean zero: p1 v1 + p2 v2 + p3 v3 = 0
    assert sp.simplify((p1 * v1 + p2 * v2 + p3 * v3)).is_zero_matrix
    e_sum = sum(p * (v + y).dot(v + y) for p, v in ((p1, v1), (p2, v2), (p3, v3)))
    e_x = sum(p * v.dot(v) for p, v in ((p1, v1), (p2, v2), (p3, v3)))
    total = p1 + p2 + p3  # = 1; keep it symbolic
    assert sp.simplify(e_sum - e_x - total * y.dot(y)) == 0


def test_k1_bound_is_below_the_young_bound():
    """At k = 1: gamma^2 (N + eps^2) <= (1+alpha) gamma^2 N + (1+1/alpha) gamma^2 eps^2."""
    gap = (1 + alpha) * N + (1 + 1 / alpha) * eps**2 - (N + eps**2)
    assert sp.simplify(gap - (alpha * N + eps**2 / alpha)) == 0


def test_gradient_error_vanishes_at_the_reset():
    """At tau = s every worker of a level-l group holds u_p^s, so e_q = mean(grad F_j(x_j) -
    grad F_j(z)) = 0 and the drift is grad f_q(z) - grad f_p(z): A3's term, no (1+beta)."""
    z = sp.Symbol("z", real=True)
    xs = sp.symbols("x0:3", real=True)
    grad = [sp.Function(f"G{jj}") for jj in range(3)]  # grad F_j, any functions
    e_q = sum(grad[jj](xs[jj]) - grad[jj](z) for jj in range(3)) / 3
    assert e_q.subs({x: z for x in xs}) == 0
    assert e_q.subs({xs[0]: z, xs[1]: z}) != 0  # off the reset it need not vanish


def test_young_inequality_with_a_free_parameter():
    """(1+alpha)||a||^2 + (1+1/alpha)||b||^2 - ||a+b||^2 = ||sqrt(alpha) a - b/sqrt(alpha)||^2."""
    a, b = vec("a"), vec("b")
    lhs = (1 + alpha) * a.dot(a) + (1 + 1 / alpha) * b.dot(b) - (a + b).dot(a + b)
    sq = sp.sqrt(alpha) * a - b / sp.sqrt(alpha)
    assert sp.simplify(lhs - sq.dot(sq)) == 0
    # alpha = 1 is the old 2||a||^2 + 2||b||^2 split
    assert sp.expand(((1 + alpha) * a.dot(a) + (1 + 1 / alpha) * b.dot(b)).subs(alpha, 1)
                     - 2 * a.dot(a) - 2 * b.dot(b)) == 0


def test_cauchy_schwarz_over_the_steps_is_lagrange_identity():
    bs = [vec(f"b{i}_", 2) for i in range(4)]
    total = sum(bs, sp.zeros(2, 1))
    lhs = 4 * sum(b.dot(b) for b in bs) - total.dot(total)
    rhs = sum((bi - bj).dot(bi - bj) for bi in bs for bj in bs) / 2
    assert sp.expand(lhs - rhs) == 0


def test_per_step_bound_for_k_at_least_2_assembles_as_stated():
    """k [eps^2 + sum_{tau=s+1}^{t-1} ((1+beta) eps^2 + (1+1/beta) L^2 D_tau)]
    = k [(1 + (k-1)(1+beta)) eps^2 + (1+1/beta) L^2 sum D]: the (k-1) steps after the reset."""
    tau = sp.symbols("tau", integer=True)
    Dsum = sp.Symbol("Dsum", nonnegative=True)
    lhs = k * (eps**2 + sp.summation((1 + beta) * eps**2, (tau, 1, k - 1)) + (1 + 1 / beta) * L**2 * Dsum)
    rhs = k * ((1 + (k - 1) * (1 + beta)) * eps**2 + (1 + 1 / beta) * L**2 * Dsum)
    assert sp.simplify(lhs - rhs) == 0


# --- §9.4 window sums ------------------------------------------------------------------------

def per_step_s(k_):
    """The non-coupling part of the per-step bound b^S(k) of §9.3, divided by gamma^2."""
    if k_ == 0:
        return sp.Integer(0)
    if k_ == 1:
        return N + eps**2
    return (1 + alpha) * k_ * N + (1 + 1 / alpha) * k_ * (1 + (k_ - 1) * (1 + beta)) * eps**2


def window_constant(P_):
    """(Q + alpha kappa) N + (Q + kappa/alpha + (1+1/alpha)(1+beta) R) eps^2, kappa = 0 for P <= 2."""
    kap = kappa_(sp.Integer(P_)) if P_ >= 2 else 0
    Qv, Rv = Q_(sp.Integer(P_)), R_(sp.Integer(P_))
    return (Qv + alpha * kap) * N + (Qv + kap / alpha + (1 + 1 / alpha) * (1 + beta) * Rv) * eps**2


def test_window_sums_symbolically():
    assert sp.simplify(sp.summation(k, (k, 2, P - 1)) - kappa_(P)) == 0
    assert sp.simplify(Q_(P) - kappa_(P) - 1) == 0  # Q = kappa + 1
    assert sp.simplify(sp.summation(k * (k - 1), (k, 0, P - 1)) - R_(P)) == 0
    # noise: k = 1 gives 1, k >= 2 gives (1+alpha) kappa: 1 + (1+alpha) kappa = Q + alpha kappa
    assert sp.simplify(1 + (1 + alpha) * kappa_(P) - (Q_(P) + alpha * kappa_(P))) == 0
    # heterogeneity: 1 + (1+1/alpha) sum_{k=2}^{P-1} k (1 + (k-1)(1+beta))
    het = 1 + (1 + 1 / alpha) * sp.summation(k * (1 + (k - 1) * (1 + beta)), (k, 2, P - 1))
    assert sp.simplify(het - (Q_(P) + kappa_(P) / alpha + (1 + 1 / alpha) * (1 + beta) * R_(P))) == 0


@pytest.mark.parametrize("P_", range(1, 31))
def test_window_sums_against_the_direct_sum(P_):
    """Including P = 1 and P = 2, where kappa must be read as 0 (the formula gives -1 at P = 1)."""
    assert sp.simplify(sum(per_step_s(kk) for kk in range(P_)) - window_constant(P_)) == 0


def test_window_constant_would_be_wrong_at_p1_without_the_kappa_convention():
    raw = (Q_(1) + alpha * kappa_(1)) * N
    assert sp.simplify(raw) != 0  # -alpha N: the check sees the convention


# --- §9.4 exchange of summation: coupling weights ----------------------------------------------

def test_exchange_of_summation_gives_the_coupling_weights():
    """sum_{k=j+1}^{P-1} k = (P(P-1) - j(j+1))/2, at most kappa = (P-2)(P+1)/2 for j >= 1."""
    w = sp.summation(k, (k, j + 1, P - 1))
    assert sp.simplify(w - (P * (P - 1) - j * (j + 1)) / 2) == 0
    weight = (P * (P - 1) - j * (j + 1)) / 2
    assert sp.expand(weight.subs(j, 1) - kappa_(P)) == 0  # equality at j = 1
    assert sp.expand(weight - weight.subs(j, j + 1) - (j + 1)) == 0  # decreasing in j


@pytest.mark.parametrize("P_", range(2, 16))
def test_exchange_of_summation_exhaustively(P_):
    D = sp.symbols(f"D0:{P_}", nonnegative=True)
    lhs = sum(kk * sum(D[jj] for jj in range(1, kk)) for kk in range(2, P_))
    rhs = sum(sp.Rational(P_ * (P_ - 1) - jj * (jj + 1), 2) * D[jj] for jj in range(1, P_ - 1))
    assert sp.expand(lhs - rhs) == 0
    kap = sp.Rational((P_ - 2) * (P_ + 1), 2)
    assert all(sp.Rational(P_ * (P_ - 1) - jj * (jj + 1), 2) <= kap for jj in range(1, P_ - 1))


# --- §9.5 triangular closure -------------------------------------------------------------------

def closure_bound(A, c):
    """sum_l A_l / prod_{m >= l} (1 - c_m)."""
    M = len(A)
    return sum(A[l] / prod((1 - c[m] for m in range(l, M)), start=1) for l in range(M))


@pytest.mark.parametrize("M", range(1, 7))
def test_closure_recursion_identity(M):
    """B_l = sum_{i<=l} A_i / prod_{m=i}^{l} (1 - c_m) solves (1 - c_l) B_l = B_{l-1} + A_l."""
    A = sp.symbols(f"A1:{M + 1}", nonnegative=True)
    c = sp.symbols(f"c1:{M + 1}", nonnegative=True)
    B = [sp.Integer(0)]
    for l in range(M):
        B.append(sum(A[i] / sp.Mul(*[(1 - c[m]) for m in range(i, l + 1)]) for i in range(l + 1)))
    for l in range(1, M + 1):
        assert sp.simplify((1 - c[l - 1]) * B[l] - B[l - 1] - A[l - 1]) == 0
    assert sp.simplify(B[M] - closure_bound(list(A), list(c))) == 0


fractions01 = st.fractions(min_value=0, max_value=Fraction(99, 100))
nonneg = st.fractions(min_value=0, max_value=10)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5).flatmap(lambda M: st.tuples(
    st.lists(nonneg, min_size=M, max_size=M), st.lists(fractions01, min_size=M, max_size=M),
    st.lists(st.fractions(0, 1), min_size=M, max_size=M))))
def test_closure_bounds_every_solution_of_the_triangular_system(data):
    """Any W >= 0 with W_l <= A_l + c_l sum_{m<=l} W_m has sum W <= the closure bound, with
    equality when every inequality is tight (u_l = 1)."""
    A, c, u = data
    S, S_tight = Fraction(0), Fraction(0)
    for l in range(len(A)):
        S += u[l] * (A[l] + c[l] * S) / (1 - c[l])  # W_l at a fraction u_l of its largest value
        S_tight += (A[l] + c[l] * S_tight) / (1 - c[l])
    bound = closure_bound(A, c)
    assert S <= bound and S_tight == bound


def test_closure_with_the_product_the_wrong_way_round_is_rejected():
    """prod over m <= l instead of m >= l: a system it fails to bound (the test can fail)."""
    A, c = [Fraction(1), Fraction(0)], [Fraction(0), Fraction(1, 2)]
    W1 = A[0] / (1 - c[0])
    W2 = (A[1] + c[1] * W1) / (1 - c[1])  # W_2 = c_2 (W_1 + W_2)
    wrong = sum(A[l] / prod((1 - c[m] for m in range(0, l + 1)), start=1) for l in range(2))
    assert W1 + W2 == closure_bound(A, c) == 2 and wrong == 1 < W1 + W2


# --- §9.6 Theorem 2 follows from Theorem S -------------------------------------------------------

def test_window_constants_at_alpha_beta_1_are_below_theorem_2s():
    """With P = q + 2: differences 1 (noise), q^2 + 3q + 3 (heterogeneity), 4 (coupling, in
    units gamma^2 L^2), all >= 0. Theorem 2's window: P(P-1) N + (2/3) P(P-1)(2P-1) eps^2 and
    coupling 2 gamma^2 L^2 P(P-1)."""
    Pq = q + 2
    noise_s = (Q_(Pq) + kappa_(Pq)) # alpha = 1
    het_s = Q_(Pq) + kappa_(Pq) + 2 * 2 * R_(Pq)  # alpha = beta = 1
    c_s = 2 * 2 * kappa_(Pq)  # (1+1)(1+1) kappa, in units gamma^2 L^2
    assert sp.expand(Pq * (Pq - 1) - noise_s - 1) == 0
    assert sp.expand(sp.Rational(2, 3) * Pq * (Pq - 1) * (2 * Pq - 1) - het_s - (q**2 + 3 * q + 3)) == 0
    assert sp.expand(2 * Pq * (Pq - 1) - c_s - 4) == 0
    # P = 1: every constant is 0 on both sides (kappa read as 0)
    assert window_constant(1) == 0


def test_product_is_at_least_one_minus_the_sum():
    """Induction step: prod_{k+1} - (1 - S_{k+1}) = (1 - c)(prod_k - (1 - S_k)) + c S_k,
    both terms >= 0 when 0 <= c <= 1 and the hypothesis holds."""
    Pk, Sk, c = sp.symbols("Pk Sk c")
    assert sp.expand(Pk * (1 - c) - (1 - Sk - c) - ((1 - c) * (Pk - (1 - Sk)) + c * Sk)) == 0
    for cs in product([Fraction(0), Fraction(1, 7), Fraction(1, 3), Fraction(1, 2)], repeat=3):
        assert prod(1 - x for x in cs) >= 1 - sum(cs)


def test_theorem_2_level_term_dominates_theorem_s_under_theorem_2s_condition():
    """Under 4 gamma^2 L^2 sum P(P-1) <= 1: sum c^S <= 1/2, prod(1-c) >= 1/2, so S's level term
    gamma^2 L^2 a^S/(P prod) <= 2 gamma^2 L^2 a^S/P <= Theorem 2's 2 gamma^2 L^2 (P-1)[N + (2/3)(2P-1) eps^2]."""
    Pq = q + 2
    aS = ((Q_(Pq) + kappa_(Pq)) * N + (Q_(Pq) + kappa_(Pq) + 4 * R_(Pq)) * eps**2)
    t2 = 2 * (Pq - 1) * (N + sp.Rational(2, 3) * (2 * Pq - 1) * eps**2)
    assert nonneg_coefficients(sp.expand(Pq * t2 - 2 * aS), [q, N, eps])


# --- §9.6 the small-step limits ------------------------------------------------------------------

def test_small_step_limits_per_term():
    """gamma -> 0: prod(1 - c) -> 1. With eps = 0 the bracket's infimum (alpha -> 0) is Q N:
    level term -> gamma^2 L^2 (P-1) N/2, Theorem 2's 2 gamma^2 L^2 (P-1) N is 4x. With N = 0
    (alpha = inf allowed, beta -> 0) it is (Q + R) eps^2: level term -> gamma^2 L^2 (P-1)(2P-1)
    eps^2/6, Theorem 2's (4/3)(P-1)(2P-1) eps^2 is 8x."""
    noise = sp.limit((Q_(P) + alpha * kappa_(P)) * N, alpha, 0) / P
    assert sp.simplify(noise - (P - 1) * N / 2) == 0
    assert sp.simplify(2 * (P - 1) * N / noise - 4) == 0
    het = sp.limit(sp.limit((Q_(P) + kappa_(P) / alpha + (1 + 1 / alpha) * (1 + beta) * R_(P)) * eps**2,
                            alpha, sp.oo), beta, 0) / P
    assert sp.simplify(het - (P - 1) * (2 * P - 1) * eps**2 / 6) == 0
    assert sp.simplify(sp.Rational(4, 3) * (P - 1) * (2 * P - 1) * eps**2 / het - 8) == 0


def test_small_step_limit_with_both_terms_has_a_cross_term():
    """With N > 0 and eps > 0 the infimum over alpha of the bracket (beta -> 0) is
    Q N + (Q + R) eps^2 + 2 eps sqrt(kappa N (kappa + R)), not Q N + (Q + R) eps^2: the joint
    limit stated in the independent specification fails for P >= 3. Counterexample P = 3,
    N = eps = 1: 8 + 4 sqrt 2 (level term 4.552 gamma^2 L^2), not 8 (8/3 gamma^2 L^2)."""
    kap, Rv, Qv = sp.symbols("kappa R Q", positive=True)
    f = (Qv + alpha * kap) * N + (Qv + kap / alpha + (1 + 1 / alpha) * Rv) * eps**2  # beta -> 0
    Npos, epos = sp.symbols("Npos epos", positive=True)
    f = f.subs({N: Npos, eps: epos})
    a_star = epos * sp.sqrt((kap + Rv) / (kap * Npos))
    assert sp.simplify(sp.diff(f, alpha).subs(alpha, a_star)) == 0
    inf = sp.simplify(f.subs(alpha, a_star))
    assert sp.simplify(inf - (Qv * Npos + (Qv + Rv) * epos**2 + 2 * epos * sp.sqrt(kap * Npos * (kap + Rv)))) == 0
    at3 = inf.subs({Qv: 3, kap: 2, Rv: 2, Npos: 1, epos: 1})
    assert sp.simplify(at3 - (8 + 4 * sp.sqrt(2))) == 0
    claimed = (3 - 1) * (sp.Rational(1, 2) + sp.Rational(5, 6))  # (P-1)[N/2 + (2P-1) eps^2/6]
    assert claimed == sp.Rational(8, 3) and at3 / 3 > claimed
    # the joint limit is still at least 2x (noise) and 4x (heterogeneity) below Theorem 2's: the
    # bracket at alpha = 1 (beta -> 0), an upper bound of the infimum, is (Q + kappa) N + (Q + kappa + 2R) eps^2
    Pq = q + 2
    at_one = f.subs(alpha, 1)
    assert sp.simplify(at_one - ((Qv + kap) * Npos + (Qv + kap + 2 * Rv) * epos**2)) == 0
    wrong = (Qv + kap) * Npos + (Qv + kap + Rv) * epos**2  # the slip of the earlier check: R for 2R
    assert sp.simplify(at_one - wrong) != 0 and sp.simplify(at_one - wrong - Rv * epos**2) == 0
    # the AM-GM step of docs §9.6: the cross term is at most kappa N + (kappa + R) eps^2, so inf <= at_one
    am_gm = kap * Npos + (kap + Rv) * epos**2 - 2 * epos * sp.sqrt(kap * Npos * (kap + Rv))
    assert sp.simplify(am_gm - (sp.sqrt(kap * Npos) - epos * sp.sqrt(kap + Rv)) ** 2) == 0
    assert sp.simplify(at_one - inf - am_gm) == 0
    joint_ub = (Q_(Pq) + kappa_(Pq)) * N + (Q_(Pq) + kappa_(Pq) + 2 * R_(Pq)) * eps**2
    t2 = 2 * Pq * (Pq - 1) * N + sp.Rational(4, 3) * Pq * (Pq - 1) * (2 * Pq - 1) * eps**2
    assert nonneg_coefficients(sp.expand(t2 - 2 * joint_ub), [q, N, eps])
    gap = sp.expand(sp.Rational(4, 3) * Pq * (Pq - 1) * (2 * Pq - 1) - 4 * (Q_(Pq) + kappa_(Pq) + 2 * R_(Pq)))
    assert gap == 4  # 4x holds with 4 to spare at every P >= 2; 5x would not (the test can fail)
    assert not nonneg_coefficients(sp.expand(sp.Rational(4, 3) * Pq * (Pq - 1) * (2 * Pq - 1)
                                             - 5 * (Q_(Pq) + kappa_(Pq) + 2 * R_(Pq))), [q])


def test_small_step_cross_term_numerically():
    """The true formula at gamma L = 1e-4, P = 3, N = eps = 1, over a grid of (alpha, beta):
    no choice comes below 4.55 gamma^2 L^2 (the claimed joint limit is 2.67 gamma^2 L^2)."""
    gl = Fraction(1, 10**4)
    best = None
    for ai in range(-40, 41):
        for bi in range(-40, 1):
            al, be = 2.0 ** (ai / 4), 2.0 ** (bi / 2)
            c = (1 + 1 / al) * (1 + 1 / be) * float(gl) ** 2 * 2
            if c >= 1:
                continue
            br = (3 + al * 2) + (3 + 2 / al + (1 + 1 / al) * (1 + be) * 2)
            val = br / (3 * (1 - c))
            best = val if best is None else min(best, val)
    assert 4.55 < best < 4.56


# --- the assembled statements, on instances (exact rationals) ------------------------------------

def theorem_s(gamma_, L_, sigma2, n, T, F0, periods, K, eps2, alphas, betas):
    """Theorem S of docs/theory.md §9.1, in exact rationals (test-local reference)."""
    M = len(periods)
    kap = [Fraction((p - 2) * (p + 1), 2) if p >= 2 else Fraction(0) for p in periods]
    c = [(1 + 1 / alphas[l]) * (1 + 1 / betas[l]) * gamma_**2 * L_**2 * kap[l] for l in range(M)]
    assert all(x < 1 for x in c)
    total = 2 * F0 / (gamma_ * T) + gamma_ * L_ * sigma2 / n
    for l, p in enumerate(periods):
        if p < 2:
            continue
        Nl = Fraction(K[l] - K[l + 1]) * sigma2 / n
        Qv, Rv = Fraction(p * (p - 1), 2), Fraction(p * (p - 1) * (p - 2), 3)
        br = (Qv + alphas[l] * kap[l]) * Nl + (Qv + kap[l] / alphas[l]
                                               + (1 + 1 / alphas[l]) * (1 + betas[l]) * Rv) * eps2[l]
        total += gamma_**2 * L_**2 * br / (p * prod((1 - c[m] for m in range(l, M)), start=Fraction(1)))
    return total


def recursion(gamma_, L_, sigma2, n, periods, K, eps2, alphas, betas):
    """Delta*_l(t), t < P_M, of Theorem S' (docs/theory.md §9.2)."""
    M, PM = len(periods), periods[-1]
    D = [[Fraction(0)] * PM for _ in range(M)]
    for t in range(PM):
        for l, p in enumerate(periods):
            kk = t % p
            s = t - kk
            Nl = Fraction(K[l] - K[l + 1]) * sigma2 / n
            if kk == 0:
                continue
            if kk == 1:
                D[l][t] = gamma_**2 * (Nl + eps2[l])
                continue
            C = sum(D[m][tau] for tau in range(s + 1, t) for m in range(l + 1))
            D[l][t] = ((1 + alphas[l]) * gamma_**2 * kk * Nl
                       + (1 + 1 / alphas[l]) * gamma_**2 * kk * ((1 + (kk - 1) * (1 + betas[l])) * eps2[l]
                                                                 + (1 + 1 / betas[l]) * L_**2 * C))
    return D


def theorem_s_prime(gamma_, L_, sigma2, n, T, F0, periods, K, eps2, alphas, betas):
    D = recursion(gamma_, L_, sigma2, n, periods, K, eps2, alphas, betas)
    PM = periods[-1]
    return 2 * F0 / (gamma_ * T) + gamma_ * L_ * sigma2 / n + L_**2 / PM * sum(map(sum, D))


def theorem_2(gamma_, L_, sigma2, n, T, F0, periods, K, eps2):
    total = 2 * F0 / (gamma_ * T) + gamma_ * L_ * sigma2 / n
    for l, p in enumerate(periods):
        total += 2 * gamma_**2 * L_**2 * (p - 1) * (Fraction(K[l] - K[l + 1]) * sigma2 / n
                                                     + Fraction(2, 3) * (2 * p - 1) * eps2[l])
    return total


HIERARCHIES = [([2], [4, 1]), ([5], [8, 1]), ([10], [3, 1]), ([1, 4], [8, 2, 1]), ([2, 6], [8, 4, 1]),
               ([3, 3], [6, 3, 1]), ([2, 4, 8], [16, 8, 2, 1]), ([1, 3, 12], [12, 6, 2, 1]), ([4, 8], [4, 2, 1])]


@st.composite
def instances(draw, condition="s"):
    """An instance inside Theorem S's condition (every c_l < 1) or, with condition="2", inside
    Theorem 2's (4 gamma^2 L^2 sum P(P-1) <= 1), with gamma L = 1/m for an integer m."""
    periods, K = draw(st.sampled_from(HIERARCHIES))
    M = len(periods)
    L_ = Fraction(draw(st.integers(1, 4)))
    sigma2 = draw(st.fractions(0, 4))
    eps2 = draw(st.lists(st.fractions(0, 4), min_size=M, max_size=M))
    alphas = draw(st.lists(st.fractions(Fraction(1, 8), 8), min_size=M, max_size=M))
    betas = draw(st.lists(st.fractions(Fraction(1, 8), 8), min_size=M, max_size=M))
    if condition == "s":
        worst = max((1 + 1 / a) * (1 + 1 / b) * Fraction((p - 2) * (p + 1), 2)
                    for a, b, p in zip(alphas, betas, periods) if p >= 2)
    else:
        worst = 4 * sum(p * (p - 1) for p in periods)
    m_min = max(1, isqrt(int(worst)) + 1)  # m^2 > worst
    m = draw(st.integers(m_min, 4 * m_min))
    return dict(gamma_=1 / (m * L_), L_=L_, sigma2=sigma2, n=K[0], T=periods[-1] * 3, F0=Fraction(1),
                periods=periods, K=K, eps2=eps2, alphas=alphas, betas=betas)


def condition_s(inst):
    kap = [Fraction((p - 2) * (p + 1), 2) if p >= 2 else 0 for p in inst["periods"]]
    return all((1 + 1 / a) * (1 + 1 / b) * inst["gamma_"]**2 * inst["L_"]**2 * kk < 1
               for a, b, kk in zip(inst["alphas"], inst["betas"], kap))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_s_prime_is_never_above_s(inst):
    """Proved for every number of levels in §9.2 (window identity + closure)."""
    assert condition_s(inst)
    assert theorem_s_prime(**inst) <= theorem_s(**inst)


@settings(max_examples=150, deadline=None)
@given(instances())
def test_recursion_window_identity(inst):
    """Summing Delta*_l over a level-l window: a_l^S + (1+1/alpha)(1+1/beta) gamma^2 L^2
    sum_{j=1}^{P-2} w_j D*(s+j), with w_j = (P(P-1) - j(j+1))/2 (§9.4 for the recursion)."""
    D = recursion(inst["gamma_"], inst["L_"], inst["sigma2"], inst["n"], inst["periods"], inst["K"],
                  inst["eps2"], inst["alphas"], inst["betas"])
    g2, L2 = inst["gamma_"]**2, inst["L_"]**2
    for l, p in enumerate(inst["periods"]):
        if p < 2:
            assert all(x == 0 for x in D[l])
            continue
        al, be = inst["alphas"][l], inst["betas"][l]
        kap = Fraction((p - 2) * (p + 1), 2)
        Qv, Rv = Fraction(p * (p - 1), 2), Fraction(p * (p - 1) * (p - 2), 3)
        Nl = Fraction(inst["K"][l] - inst["K"][l + 1]) * inst["sigma2"] / inst["n"]
        a = g2 * ((Qv + al * kap) * Nl + (Qv + kap / al + (1 + 1 / al) * (1 + be) * Rv) * inst["eps2"][l])
        for s in range(0, inst["periods"][-1], p):
            coupling = sum(Fraction(p * (p - 1) - jj * (jj + 1), 2) * sum(D[m][s + jj] for m in range(l + 1))
                           for jj in range(1, p - 1))
            assert sum(D[l][s:s + p]) == a + (1 + 1 / al) * (1 + 1 / be) * g2 * L2 * coupling


@settings(max_examples=150, deadline=None)
@given(instances(condition="2"))
def test_theorem_s_at_alpha_beta_1_is_below_theorem_2(inst):
    periods = inst["periods"]
    assert 4 * inst["gamma_"]**2 * inst["L_"]**2 * sum(p * (p - 1) for p in periods) <= 1
    ones = [Fraction(1)] * len(periods)
    inst = dict(inst, alphas=ones, betas=ones)
    args = {key: inst[key] for key in ("gamma_", "L_", "sigma2", "n", "T", "F0", "periods", "K", "eps2")}
    assert theorem_s_prime(**inst) <= theorem_s(**inst) <= theorem_2(**args)


def test_one_level_p2_all_three_agree_on_the_divergence_part_up_to_the_doubling():
    """P = 2: kappa = 0, so S has no coupling and S = S' exactly; Theorem 2 is 2x on each part."""
    inst = dict(gamma_=Fraction(1, 10), L_=Fraction(1), sigma2=Fraction(1), n=4, T=2, F0=Fraction(0),
                periods=[2], K=[4, 1], eps2=[Fraction(1)], alphas=[Fraction(1)], betas=[Fraction(1)])
    lead = Fraction(1, 10) * 1 / 4
    s_val = theorem_s(**inst)
    assert s_val == theorem_s_prime(**inst)
    t2 = theorem_2(**{key: inst[key] for key in ("gamma_", "L_", "sigma2", "n", "T", "F0", "periods", "K", "eps2")})
    assert s_val - lead == Fraction(1, 100) * (Fraction(3, 4) + 1) / 2
    assert t2 - lead == 2 * Fraction(1, 100) * (Fraction(3, 4) + Fraction(2, 3) * 3)


@settings(max_examples=100, deadline=None)
@given(instances())
def test_s_prime_over_any_horizon(inst):
    """§9.2 any horizon: each Delta*_l is P_l-periodic and grows within its window, so the first
    r steps of a top period carry at most r/P_M of its total (Lemma 3 of §5.5, level by level)."""
    D = recursion(inst["gamma_"], inst["L_"], inst["sigma2"], inst["n"], inst["periods"], inst["K"],
                  inst["eps2"], inst["alphas"], inst["betas"])
    PM = inst["periods"][-1]
    for l, p in enumerate(inst["periods"]):
        assert all(D[l][t] == D[l][t % p] for t in range(PM))  # periodic
        assert all(D[l][kk] <= D[l][kk + 1] for kk in range(p - 1))  # grows within the window
    per_t = [sum(D[l][t] for l in range(len(D))) for t in range(PM)]
    total = sum(per_t)
    assert all(PM * sum(per_t[:r]) <= r * total for r in range(PM + 1))


@settings(max_examples=60, deadline=None)
@given(instances())
def test_theorem_s_prime_as_a_theorem_is_the_transcription_exactly(inst):
    """bounds.theorems.recursion (its implemented level terms run in fractions when decided
    exactly) equals this file's independent transcription of §9.2, exactly."""
    from bounds import multi_level
    from bounds.exact import exact_value
    from bounds.theorems.recursion import THEOREM_S_PRIME

    periods, K = inst["periods"], inst["K"]
    b = multi_level(list(periods), list(K[1:-1]), theorem=THEOREM_S_PRIME)
    sigma, eps = inst["sigma2"], inst["eps2"]  # drawn fractions, used as sigma and eps (squared below)
    values = dict(gamma=inst["gamma_"], L=inst["L_"], sigma=sigma, n=inst["n"], T=inst["T"], F0=inst["F0"], eps=eps,
                  alpha=inst["alphas"], beta=inst["betas"])
    squared = dict(inst, sigma2=sigma * sigma, eps2=[e * e for e in eps])
    assert exact_value(b, values) == theorem_s_prime(**squared)
    # at a horizon that is not a multiple of P_M, the prefix sum is at most the one-period average (§9.2)
    for T in (inst["T"] - 1, periods[-1] // 2 + 1):
        assert exact_value(b, dict(values, T=T)) <= theorem_s_prime(**dict(squared, T=T))


def test_theorem_s_prime_does_not_cancel_catastrophically():
    """The audit's instance (values of D spanning 1e7..1e53): the float value equals the exact
    rational one to 1e-12; the former running-total difference was 4.2e-4 below it."""
    from bounds import multi_level
    from bounds.exact import exact_value
    from bounds.theorems.recursion import THEOREM_S_PRIME

    b = multi_level([4, 20, 40], [24, 8], theorem=THEOREM_S_PRIME)
    v = dict(gamma=0.09070437782803076, L=0.6952181127340096, sigma=0.026206632550251078, n=54, T=1080,
             F0=0.9845591875433181, eps=[0.32114296573258955, 2.528802471372475, 0.15290357375938615],
             alpha=[5.977415646657413, 0.02947945160264572, 29.958989548517266],
             beta=[0.5184601255886061, 0.05693332299756734, 0.3394088331455953])
    exact = exact_value(b, v)
    assert abs(b.evaluate(strict=False, **v) - float(exact)) <= 1e-12 * float(exact)


def _direct(inst, T, theta):
    """Per-level sequences Delta_l(t), t < T, in absolute time (windows restart at multiples of
    P_l, no folding into one top period), each a fraction theta(t, l) in [0, 1] of the right side
    of its per-step inequality of §9.3 (k = 0: 0; k = 1: gamma^2 (N + eps^2); k >= 2: (4) with the
    sequence's own D_l): every sequence the proof of §9.5 has to cover is of this form."""
    g2, L2 = inst["gamma_"] ** 2, inst["L_"] ** 2
    periods, K = inst["periods"], inst["K"]
    M = len(periods)
    D = [[Fraction(0)] * T for _ in range(M)]
    for t in range(T):
        for l, p in enumerate(periods):
            kk = t % p
            s = t - kk
            Nl = Fraction(K[l] - K[l + 1]) * inst["sigma2"] / inst["n"]
            if kk == 0:
                continue
            if kk == 1:
                right = g2 * (Nl + inst["eps2"][l])
            else:
                al, be = inst["alphas"][l], inst["betas"][l]
                C = sum(D[m][tau] for tau in range(s + 1, t) for m in range(l + 1))
                right = ((1 + al) * g2 * kk * Nl
                         + (1 + 1 / al) * g2 * kk * ((1 + (kk - 1) * (1 + be)) * inst["eps2"][l]
                                                    + (1 + 1 / be) * L2 * C))
            D[l][t] = theta(t, l) * right
    return D


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(1, 3), st.data())
def test_s_prime_prefix_form_by_forward_induction_for_any_horizon(inst, full, data):
    """§9.5, proof of Theorem S' (prefix form), for T = full * P_M + r with 0 < r < P_M: (a) the
    level-l window of t sits, with the same offset k, inside the level-l window of t mod P_M;
    (b) every sequence obeying the per-step inequalities satisfies Delta_l(t) <= Delta*_l(t mod P_M)
    at every t < T (the induction), with equality for the extremal one (theta = 1); so (c) the
    divergence part of (1), (L^2/T) sum_{t<T} sum_l Delta_l(t), is at most the prefix form, which
    the extremal sequence attains, and which is what bounds.theorems.recursion evaluates; (d) the
    prefix form is at most the one-period average (Lemma 3 level by level). Exact rationals."""
    from bounds import multi_level
    from bounds.exact import exact_terms
    from bounds.theorems.recursion import THEOREM_S_PRIME

    periods = inst["periods"]
    PM, M = periods[-1], len(periods)
    if PM == 1:
        return
    r = data.draw(st.integers(1, PM - 1))
    T = full * PM + r
    # (a) window alignment: P_l | P_M, so t mod P_M has the same k, and its window does not wrap
    for t in range(T):
        for p in periods:
            kk = t % p
            assert (t % PM) % p == kk and (t % PM) - kk >= 0
            assert [tau % PM for tau in range(t - kk, t)] == list(range(t % PM - kk, t % PM))
    star = recursion(inst["gamma_"], inst["L_"], inst["sigma2"], inst["n"], periods, inst["K"],
                     inst["eps2"], inst["alphas"], inst["betas"])
    thetas = data.draw(st.lists(st.fractions(0, 1), min_size=T * M, max_size=T * M))
    slack = _direct(inst, T, lambda t, l: thetas[t * M + l])
    tight = _direct(inst, T, lambda t, l: Fraction(1))
    # (b) the induction, and equality for the extremal sequence
    for t in range(T):
        for l in range(M):
            assert slack[l][t] <= star[l][t % PM]
            assert tight[l][t] == star[l][t % PM]
    # (c) summed over t < T: the prefix form, attained; the package evaluates exactly this
    prefix = sum(star[l][t % PM] for t in range(T) for l in range(M))
    assert sum(map(sum, slack)) <= prefix == sum(map(sum, tight))
    b = multi_level(list(periods), list(inst["K"][1:-1]), theorem=THEOREM_S_PRIME)
    sigma, eps = inst["sigma2"], inst["eps2"]  # drawn fractions, used as sigma and eps (squared below)
    values = {"gamma": inst["gamma_"], "L": inst["L_"], "sigma": sigma, "n": inst["n"], "T": T, "F0": inst["F0"],
              "eps": eps, "alpha": inst["alphas"], "beta": inst["betas"]}
    squared = recursion(inst["gamma_"], inst["L_"], sigma * sigma, inst["n"], periods, inst["K"],
                        [e * e for e in eps], inst["alphas"], inst["betas"])
    levels = exact_terms(b, values)
    assert sum(levels[f"level_{l + 1}"] for l in range(M)) == inst["L_"] ** 2 / T * sum(
        squared[l][t % PM] for t in range(T) for l in range(M))
    # (d) at most the one-period average
    assert prefix / T <= sum(map(sum, star)) / PM
