"""docs/theory.md §5.5 Any horizon: the final partial window, checked by sympy and exact rationals.

Theorem 2 holds for every T >= 1 because in a final partial window of r < P steps the
per-step divergence bounds b(k) are the smallest of the window (they grow with the steps k
since the reset), so sum_{k<r} b(k) <= (r/P) sum_{k<P} b(k) (Lemma 3 of §5.5).
"""

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

k, i, r, P, q = sp.symbols("k i r P q", integer=True, nonnegative=True)
gamma, L = sp.symbols("gamma L", positive=True)
N, eps = sp.symbols("N eps", nonnegative=True)  # N = N_l = (K_{l-1}-K_l) sigma^2/n, eps = eps_l

B = 2 * gamma**2 * k * N + 4 * gamma**2 * k**2 * eps**2  # per-step bound b_l(k) of eq. (2)
COUPLING = 4 * gamma**2 * L**2 * k  # coefficient of C_w in eq. (2)
P_MAX = 60


def prefix_gap(b, r_, P_):
    """P sum_{k<r} b(k) - r sum_{k<P} b(k): <= 0 is Lemma 3's claim."""
    return sp.expand(P_ * sp.summation(b, (k, 0, r_ - 1)) - r_ * sp.summation(b, (k, 0, P_ - 1)))


def nonneg_coefficients(expr, gens):
    poly = sp.Poly(sp.expand(expr), *gens)
    return all(c >= 0 for c in poly.coeffs())


def lemma3_holds(seq):
    """Lemma 3 checked on a finite sequence with exact arithmetic, for every prefix length."""
    P_ = len(seq)
    total = sum(seq)
    return all(P_ * sum(seq[:r_]) <= r_ * total for r_ in range(P_ + 1))


# --- the per-step bounds grow with k -----------------------------------------------------

def test_per_step_bound_grows_with_the_steps_since_the_reset():
    step = sp.expand(B.subs(k, k + 1) - B)
    assert sp.expand(step - (2 * gamma**2 * N + 4 * gamma**2 * (2 * k + 1) * eps**2)) == 0
    assert nonneg_coefficients(step, [gamma, N, eps, k])
    assert nonneg_coefficients(sp.expand(COUPLING.subs(k, k + 1) - COUPLING), [gamma, L])


# --- Lemma 3, symbolically ----------------------------------------------------------------

def test_lemma3_coefficient_of_each_increment_is_nonpositive():
    """b(k) = b(0) + sum_{i<k} d_i. In P sum_{k<r} b - r sum_{k<P} b the coefficient of d_i is
    P #{k<r: k>i} - r #{k<P: k>i}: -(P-r)(i+1) for i < r-1 and -r(P-1-i) for i >= r-1."""
    first = P * (r - 1 - i) - r * (P - 1 - i)  # i < r - 1
    assert sp.expand(first + (P - r) * (i + 1)) == 0
    # with P = r + q, q >= 0: -(first) = q (i + 1) has non-negative coefficients
    assert nonneg_coefficients(-first.subs(P, r + q), [q, i])
    # i >= r - 1: no k < r exceeds i, and P - 1 - i >= 0 for every increment index i <= P - 2
    for P_ in range(1, 13):
        for r_ in range(P_ + 1):
            for i_ in range(P_ - 1):
                c = P_ * sum(1 for kk in range(r_) if kk > i_) - r_ * sum(1 for kk in range(P_) if kk > i_)
                assert c == ((-(P_ - r_) * (i_ + 1)) if i_ < r_ - 1 else -r_ * (P_ - 1 - i_)) and c <= 0


@pytest.mark.parametrize("P_", range(1, 21))
def test_lemma3_as_an_identity_in_the_increments(P_):
    """Symbolic increments d_0..d_{P-2} >= 0: the gap is minus a non-negative combination."""
    d = sp.symbols(f"d0:{max(P_ - 1, 1)}", nonnegative=True)
    b0 = sp.Symbol("b0", real=True)
    seq = [b0 + sum(d[:kk]) for kk in range(P_)]
    for r_ in range(P_ + 1):
        gap = sp.expand(P_ * sum(seq[:r_]) - r_ * sum(seq))
        assert gap.coeff(b0) == 0
        expected = -sum(((P_ - r_) * (ii + 1) if ii < r_ - 1 else r_ * (P_ - 1 - ii)) * d[ii]
                        for ii in range(P_ - 1))
        assert sp.expand(gap - expected) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fractions(min_value=-10, max_value=10), min_size=1, max_size=30))
def test_lemma3_on_any_nondecreasing_sequence(values):
    assert lemma3_holds(sorted(values))


def test_lemma3_rejects_a_decreasing_sequence():
    """The check can fail: without growth the prefix average can exceed the window average."""
    assert not lemma3_holds([3, 1, 0])
    assert lemma3_holds([0, 1, 3])


# --- Lemma 3 for the actual per-step bounds of the derivation ------------------------------

def test_partial_window_gap_in_closed_form():
    """P sum_{k<r} b - r sum_{k<P} b = -gamma^2 r P (P - r)[N + (2/3)(2P + 2r - 3) eps^2]."""
    gap = prefix_gap(B, r, P)
    closed = -gamma**2 * r * P * (P - r) * (N + sp.Rational(2, 3) * (2 * P + 2 * r - 3) * eps**2)
    assert sp.expand(gap - closed) == 0
    # key identity used: (r-1)(2r-1) - (P-1)(2P-1) = -(P-r)(2P+2r-3)
    assert sp.expand((r - 1) * (2 * r - 1) - (P - 1) * (2 * P - 1) + (P - r) * (2 * P + 2 * r - 3)) == 0
    # sign on 1 <= r <= P: r = 1 + a, P = r + q
    a = sp.symbols("a", integer=True, nonnegative=True)
    assert nonneg_coefficients(-closed.subs(P, r + q).subs(r, 1 + a), [gamma, N, eps, a, q])


def test_partial_window_coupling_is_at_most_the_full_window_coupling():
    full = sp.summation(COUPLING, (k, 0, P - 1))
    part = sp.summation(COUPLING, (k, 0, r - 1))
    assert sp.simplify(full - 2 * gamma**2 * L**2 * P * (P - 1)) == 0
    a = sp.symbols("a", integer=True, nonnegative=True)  # 1 <= r = 1 + a <= P = r + q
    assert nonneg_coefficients(sp.expand((full - part).subs(P, r + q).subs(r, 1 + a)), [gamma, L, a, q])
    assert sp.expand(part.subs(r, 0)) == 0  # r = 0: no partial window


def test_partial_window_exhaustively_in_exact_rationals():
    """Every P <= 60 and r < P: the two monomials of b (k and k^2; b is a non-negative
    combination of them) and the coupling coefficient, in exact integers/rationals."""
    for P_ in range(1, P_MAX + 1):
        s1 = sum(range(P_))
        s2 = sum(kk * kk for kk in range(P_))
        for r_ in range(P_):
            p1 = sum(range(r_))
            p2 = sum(kk * kk for kk in range(r_))
            assert P_ * p1 <= r_ * s1 and P_ * p2 <= r_ * s2
            assert P_ * p1 - r_ * s1 == -Fraction(r_ * P_ * (P_ - r_), 2)
            assert P_ * p2 - r_ * s2 == -Fraction(r_ * P_ * (P_ - r_) * (2 * P_ + 2 * r_ - 3), 6)
            assert 2 * r_ * (r_ - 1) <= 2 * P_ * (P_ - 1)  # coupling / (gamma^2 L^2)


@pytest.mark.parametrize("Nv,ev", [(Fraction(0), Fraction(1)), (Fraction(1), Fraction(0)),
                                   (Fraction(3, 7), Fraction(5, 2))])
def test_per_step_bounds_exhaustively_with_rational_constants(Nv, ev):
    g2 = Fraction(1, 1000)
    for P_ in range(1, P_MAX + 1):
        seq = [2 * g2 * kk * Nv + 4 * g2 * kk * kk * ev * ev for kk in range(P_)]
        assert all(x <= y for x, y in zip(seq, seq[1:]))
        assert lemma3_holds(seq)


# --- the assembled argument: any T ----------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(P_=st.integers(1, 40), T=st.integers(1, 400),
       Nv=st.fractions(0, 5), ev=st.fractions(0, 5))
def test_window_parts_over_any_horizon_total_at_most_T_over_P_windows(P_, T, Nv, ev):
    """Summing b(t mod P) over t < T: w full windows plus a prefix of r = T mod P steps is at
    most (T/P) a with a = sum_{k<P} b(k), the A of eq. (3) for every T >= 1."""
    b = [2 * kk * Nv + 4 * kk * kk * ev * ev for kk in range(P_)]
    a = sum(b)
    assert sum(b[t % P_] for t in range(T)) <= Fraction(T, P_) * a
    w, r_ = divmod(T, P_)
    assert w * a + Fraction(r_, P_) * a == Fraction(T, P_) * a


# --- the same step for Theorem S (docs/theory.md §9.3-§9.4) ------------------------------------

alpha, beta, ia = sp.symbols("alpha beta ia", positive=True)  # ia stands for 1/alpha


def b_sharp(k_):
    """Non-coupling per-step bound of Theorem S divided by gamma^2 (1/alpha written ia)."""
    if k_ == 0:
        return sp.Integer(0)
    if k_ == 1:
        return N + eps**2
    return (1 + alpha) * k_ * N + (1 + ia) * k_ * (1 + (k_ - 1) * (1 + beta)) * eps**2


def test_sharp_per_step_bound_grows_with_k():
    assert nonneg_coefficients(b_sharp(1) - b_sharp(0), [N, eps])
    assert nonneg_coefficients(b_sharp(2) - b_sharp(1), [N, eps, alpha, ia, beta])
    general = (1 + alpha) * k * N + (1 + ia) * k * (1 + (k - 1) * (1 + beta)) * eps**2  # k >= 2
    assert nonneg_coefficients(sp.expand(general.subs(k, k + 1) - general), [N, eps, alpha, ia, beta, k])


def test_sharp_partial_window_symbolically():
    """For 2 <= r <= P: P sum_{k<r} b^S - r sum_{k<P} b^S has only non-positive coefficients
    (r = 2 + a, P = r + q). Windows of r <= 1 steps have prefix sum 0."""
    def window(m):  # sum_{k<m} b^S(k), m >= 2, closed form of §9.4
        Qm, km, Rm = m * (m - 1) / 2, (m - 2) * (m + 1) / 2, m * (m - 1) * (m - 2) / 3
        return (Qm + alpha * km) * N + (Qm + km * ia + (1 + ia) * (1 + beta) * Rm) * eps**2
    assert all(sp.expand(window(sp.Integer(m)) - sum(b_sharp(kk) for kk in range(m))) == 0 for m in range(2, 9))
    a = sp.symbols("a", integer=True, nonnegative=True)
    gap = P * window(r) - r * window(P)
    neg = sp.expand(-gap.subs(P, r + q).subs(r, 2 + a))
    assert nonneg_coefficients(neg, [N, eps, alpha, ia, beta, a, q])


@pytest.mark.parametrize("al,be", [(Fraction(1), Fraction(1)), (Fraction(1, 9), Fraction(7)),
                                   (Fraction(11, 2), Fraction(1, 13))])
def test_sharp_partial_window_exhaustively(al, be):
    for Nv, ev in ((Fraction(1), Fraction(0)), (Fraction(0), Fraction(1)), (Fraction(2, 3), Fraction(3, 5))):
        f = sp.lambdify((k, N, eps, alpha, ia, beta), (1 + alpha) * k * N
                        + (1 + ia) * k * (1 + (k - 1) * (1 + beta)) * eps**2)  # exact on Fractions
        full = [Fraction(0), Nv + ev * ev] + [f(kk, Nv, ev, al, 1 / al, be) for kk in range(2, P_MAX)]
        assert all(isinstance(x, Fraction) for x in full)
        for P_ in range(1, P_MAX + 1):
            seq = full[:P_]
            assert all(x <= y for x, y in zip(seq, seq[1:])) and lemma3_holds(seq)
