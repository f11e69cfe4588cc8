r"""docs/theory.md §10.3 Theorem P (and §10.2 Theorem W): H-SGD with data-size weights and partial
participation, as a :class:`~bounds.statement.Theorem`, for the sample redrawn at every level-1
aggregation (the authors' timing, §10.6) or once per top-level round (§10.3). Derived for this
project, not in Wang et al. 2022; every algebraic step is checked in
``tests/bounds/test_federated_derivation.py``.

.. math::
    \frac1T\sum_{t<T}\mathbb E\|\nabla f(u^t)\|^2 \le \frac{c_{init}F_0}{\gamma T}
    + c_{noise}\gamma L\sigma^2\bar\omega + \big(\sqrt D + \varepsilon_S\big)^2,\quad
    D = \sum_l c_{div}\gamma^2L^2(P_l-1)\Big[\lambda_l\sigma^2 + c_{het}(2P_l-1)\varepsilon_l^2\Big]

under Theorem 2's step-size condition, with the sampled system's noise weight ``omega``, noise
shares ``lambda_l`` and divergences ``eps_l``, and the sampling error ``eps_S``
(:func:`bounds.federated.participation_shares` computes ``omega`` and the shares). At full
participation ``eps_S = 0``: Theorem W; at ``p_j = 1/n`` as well (``omega = 1/n``,
``lambda_l = (K_{l-1} - K_l)/n``): Theorem 2. The terms are ``init``, ``noise``, the level terms
(their sum is ``D``, each split into ``noise`` and ``heterogeneity`` parts as in Theorem 2) and
``sampling = (sqrt D + eps_S)^2 - D = 2 eps_S sqrt(D) + eps_S^2``.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from bounds import symbols as s
from bounds.coefficients import THEORY, Coefficients
from bounds.statement import Level, Statement, Theorem
from bounds.theorems.theorem2 import level_terms, step_size_conditions

__all__ = ["theorem_p", "THEOREM_P", "OMEGA", "EPS_SAMPLE", "noise_share"]

OMEGA = sp.Symbol("omega", positive=True)
"""``omega = E sum_j w_j^2``, the noise weight of the sampled system (``1/n`` in Theorem 2)."""

EPS_SAMPLE = sp.Symbol("eps_S", nonnegative=True)
"""``eps_S``, the sampling error of a round's objective (0 at full participation)."""


def noise_share(level: int) -> sp.Symbol:
    """``lambda_l``, level ``l``'s noise share (``(K_{l-1} - K_l)/n`` in Theorem 2)."""
    return sp.Symbol(f"lambda_{level}", nonnegative=True)


def theorem_p(coefficients: Coefficients = THEORY) -> Theorem:
    """Theorem P with the given named constants (by default docs/theory.md §0 Provenance's).

    Example:
        >>> from bounds import local_sgd
        >>> b = local_sgd(theorem=theorem_p())
        >>> list(b.terms), list(b.extra)
        (['init', 'noise', 'divergence', 'sampling'], ['omega', 'noise_shares', 'eps_sample'])
        >>> v = dict(gamma=0.1, L=1, sigma=1, n=2, T=10, F0=1, P=2, eps=1)
        >>> round(b.evaluate(**v, omega=0.5, noise_shares=[0.5], eps_sample=0), 6)  # Theorem 2 at n = 2
        2.1
        >>> round(local_sgd().evaluate(**v), 6)
        2.1
    """
    return _theorem_p(coefficients)


@lru_cache(maxsize=None)
def _theorem_p(c: Coefficients) -> Theorem:
    """:func:`theorem_p`, cached by the constants alone."""

    def state(levels: tuple[Level, ...]) -> Statement:
        shares = tuple(noise_share(l) for l in range(1, len(levels) + 1))
        terms = {"init": c.init * s.F0 / (s.gamma * s.T), "noise": c.noise * s.gamma * s.L * s.sigma**2 * OMEGA}
        level_sums, parts = level_terms(levels, list(shares), c)
        terms.update(level_sums)
        D = sp.Add(*level_sums.values())
        terms["sampling"] = 2 * EPS_SAMPLE * sp.sqrt(D) + EPS_SAMPLE**2
        return Statement(terms=terms, conditions=step_size_conditions(levels, c), parts=parts,
                         extra={"omega": OMEGA, "noise_shares": shares, "eps_sample": EPS_SAMPLE})

    return Theorem(name="theorem_p", title="Theorem P",
                   source="docs/theory.md §10.3 Theorem P (Theorem W at full participation; derived for this "
                          "project, not in the paper)", state=state, coefficients=c)


THEOREM_P = theorem_p()
"""Theorem P (docs/theory.md §10.3, derived for this project) with the constants of §0 Provenance."""
