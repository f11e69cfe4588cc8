"""docs/theory.md's statements (§4 Statements) typed in by hand, independently of the code under test.

Each formula below is copied from the project's specification, docs/theory.md, symbol by
symbol, with its own symbols: §4.1 Theorem 1, §4.2 Theorem 2 and §4.3 Local SGD, the gaps of
§6.2 Corollary 0 and the factor ``X`` and random-grouping values of §6.3 Corollary 1. A test
comparing it with :mod:`bounds` thus compares two independent transcriptions of the
specification.
"""

import sympy as sp

gamma, L = sp.symbols("gamma L", positive=True)
sigma, F0, eps, eps_g, eps_l = sp.symbols("sigma F0 eps eps_g eps_l", nonnegative=True)
n, T, N, I, G, P = sp.symbols("n T N I G P", positive=True, integer=True)

R = sp.Rational

# Theorem 1 (docs/theory.md §4.1)
THEOREM_1 = (
    2 * F0 / (gamma * T) + gamma * L * sigma**2 / n
    + 2 * gamma**2 * L**2 * (G - 1) * ((N - 1) * sigma**2 / n + R(2, 3) * (2 * G - 1) * eps_g**2)
    + 2 * gamma**2 * L**2 * (I - 1) * ((n - N) * sigma**2 / n + R(2, 3) * (2 * I - 1) * eps_l**2)
)
THEOREM_1_CONDITION = (gamma * L, 4 * gamma**2 * L**2 * (G * (G - 1) + I * (I - 1)))

# Local SGD (docs/theory.md §4.3, Theorem 2 with M = 1)
LOCAL = (
    2 * F0 / (gamma * T) + gamma * L * sigma**2 / n
    + 2 * gamma**2 * L**2 * (P - 1) * ((n - 1) * sigma**2 / n + R(2, 3) * (2 * P - 1) * eps**2)
)
LOCAL_CONDITION = (gamma * L, 4 * gamma**2 * L**2 * P * (P - 1))


def theorem_2(periods, counts, level_eps):
    """Theorem 2 (docs/theory.md §4.2) with counts = [K_0 = n, K_1, ..., K_M = 1]."""
    total = 2 * F0 / (gamma * T) + gamma * L * sigma**2 / n
    for l, (p, e) in enumerate(zip(periods, level_eps), start=1):
        total += 2 * gamma**2 * L**2 * (p - 1) * (
            (counts[l - 1] - counts[l]) * sigma**2 / n + R(2, 3) * (2 * p - 1) * e**2)
    return total


def local_at(period, eps_sq):
    """Local SGD with period ``period`` and squared divergence ``eps_sq``."""
    return LOCAL.subs({P: period, eps: sp.sqrt(eps_sq)}, simultaneous=True)


# Corollary 0 gaps (docs/theory.md §6.2; any grouping, eps^2 = eps_g^2 + eps_l^2)
COR0_LOWER = 2 * gamma**2 * L**2 * (G - I) * (2 * n * eps_g**2 * (2 * G + 2 * I - 3) + 3 * sigma**2 * (N - 1)) / (3 * n)
COR0_UPPER = 2 * gamma**2 * L**2 * (G - I) * (2 * n * eps_l**2 * (2 * G + 2 * I - 3) + 3 * sigma**2 * (n - N)) / (3 * n)

# Corollary 1 (docs/theory.md §6.3; random grouping)
X = 2 * gamma**2 * L**2 * (G - I) * (4 * eps**2 * n * (G + I) - 6 * eps**2 * n + 3 * sigma**2 * (n - 1)) / (3 * n * (n - 1))
COR1_LOWER = (N - 1) * X
COR1_UPPER = (n - N) * X
EPS_G_RANDOM_SQ = (N - 1) / (n - 1) * eps**2
EPS_L_RANDOM_SQ = (n - N) / (n - 1) * eps**2
