r"""Theorem S and Theorem S': sharper constants from the same proof chain (derived for this project).

Neither statement is in the paper: both were derived for this project from the derivation of
Theorem 2 (docs/theory.md §9.1 Theorem S, §9.2 Theorem S'), and every algebraic step is checked
with sympy in ``tests/bounds/test_sharp_derivation.py``.

Notation per level ``l`` (``K_0 = n``, ``K_M = 1``):

* ``N_l = (K_{l-1} - K_l) sigma^2 / n`` (the level's noise share),
* ``Q_l = P_l (P_l - 1)/2``, ``kappa_l = max(0, (P_l - 2)(P_l + 1)/2)``,
  ``R_l = P_l (P_l - 1)(P_l - 2)/3``,
* free Young parameters ``alpha_l, beta_l > 0`` and
  ``c_l = (1 + 1/alpha_l)(1 + 1/beta_l) gamma^2 L^2 kappa_l``.

**Theorem S.** Under A1-A3, ``gamma L <= 1`` and ``c_l < 1`` for every ``l``,

.. math::
    \frac1T\sum_{t<T}\mathbb E\|\nabla f(u^t)\|^2 \le \frac{2F_0}{\gamma T} + \frac{\gamma L\sigma^2}{n}
    + \sum_{l} \frac{\gamma^2L^2}{P_l\prod_{m\ge l}(1 - c_m)}\Big[(Q_l + \alpha_l\kappa_l)N_l
    + \big(Q_l + \kappa_l/\alpha_l + (1 + 1/\alpha_l)(1 + \beta_l)R_l\big)\varepsilon_l^2\Big].

Levels with ``P_l = 1`` contribute nothing (``Q = kappa = R = 0``). The bound holds for every
admissible ``alpha, beta``; :meth:`bounds.Bound.optimise` picks them per instance by a smooth
minimisation (scipy), as for any theorem's free parameters. At ``alpha = beta = 1`` each level's constants are at most Theorem 2's
and Theorem 2's condition gives ``prod (1 - c_m) >= 1/2``, so Theorem 2 follows from S.

**Theorem S'** (:mod:`bounds.theorems.recursion`): the forward recursion of the same chain, the sharpest
it gives; needs only ``gamma L <= 1``. For ``t`` in one top period, ``k = t mod P_l``,
``s = t - k``: ``D_l(t) = 0`` at ``k = 0``, ``gamma^2 (N_l + eps_l^2)`` at ``k = 1``, and for
``k >= 2``

    D_l(t) = (1 + alpha_l) gamma^2 k N_l + (1 + 1/alpha_l) gamma^2 k [ (1 + (k-1)(1+beta_l)) eps_l^2
             + (1 + 1/beta_l) L^2 sum_{tau=s+1}^{t-1} sum_{m<=l} D_m(tau) ];

the bound is ``2F0/(gamma T) + gamma L sigma^2/n + (L^2/T) sum_{t<T} sum_l D_l(t mod P_M)``
(for ``T`` a multiple of ``P_M`` this is the one-period average ``(L^2/P_M) sum_{t<P_M}``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import sympy as sp

from bounds import symbols as s
from bounds.statement import Condition, Level, Statement, Theorem

__all__ = ["theorem_s", "THEOREM_S", "kappa", "kappa_of", "window_sums"]


def kappa(P: Any) -> sp.Expr:
    """``kappa = max(0, (P - 2)(P + 1)/2)``: the largest coupling weight ``(P(P-1) - j(j+1))/2``
    over ``j >= 1`` (0 for ``P <= 2``)."""
    return sp.Max(0, (P - 2) * (P + 1) / 2)


def kappa_of(P: int) -> Fraction:
    """The number ``kappa = max(0, (P - 2)(P + 1)/2)`` of an integer period, exactly (the same
    as :func:`kappa` at a number)."""
    return max(Fraction(0), Fraction((int(P) - 2) * (int(P) + 1), 2))


def window_sums(P: Any) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(Q, kappa, R) = (P(P-1)/2, max(0, (P-2)(P+1)/2), P(P-1)(P-2)/3)``."""
    return P * (P - 1) / 2, kappa(P), P * (P - 1) * (P - 2) / 3


def theorem_s() -> Theorem:
    """Theorem S (see the module docstring) as a :class:`~bounds.statement.Theorem`: for any
    hierarchy, the level terms with free Young parameters ``alpha``, ``beta`` (one per level,
    finest first) and the conditions ``gamma L <= 1``, ``c_l < 1``. Each level's term is split
    into its ``noise`` part (the ``N_l`` part) and its ``heterogeneity`` part (the ``eps_l^2``
    part), which it is linear in once ``alpha``, ``beta`` are fixed.

    Example:
        >>> from bounds import local_sgd
        >>> b = local_sgd().under(THEOREM_S)
        >>> list(b.parameters)
        ['gamma', 'L', 'sigma', 'n', 'T', 'F0', 'P', 'eps', 'alpha', 'beta']
        >>> v = dict(gamma=0.01, L=1, sigma=1, n=8, T=1000, F0=1, P=5, eps=1)
        >>> bool(b.evaluate(**v) < local_sgd().evaluate(**v))
        True
    """

    def state(levels: tuple[Level, ...]) -> Statement:
        M = len(levels)
        alphas = tuple(sp.Symbol(f"alpha_{l}", positive=True) for l in range(1, M + 1))
        betas = tuple(sp.Symbol(f"beta_{l}", positive=True) for l in range(1, M + 1))
        gamma, L, n = s.gamma, s.L, s.n
        c = [(1 + 1 / a) * (1 + 1 / b) * gamma**2 * L**2 * kappa(lev.period)
             for lev, a, b in zip(levels, alphas, betas)]
        terms = {"init": 2 * s.F0 / (gamma * s.T), "noise": gamma * L * s.sigma**2 / n}
        parts = {}
        for l, (lev, a, b) in enumerate(zip(levels, alphas, betas)):
            P = lev.period
            Q, K, R = window_sums(P)
            noise_share = (lev.finer_count - lev.count) * s.sigma**2 / n
            product = sp.Mul(*(1 - c[m] for m in range(l, M)))
            front = gamma**2 * L**2 / (P * product)
            noise = (Q + a * K) * noise_share
            heterogeneity = (Q + K / a + (1 + 1 / a) * (1 + b) * R) * lev.eps_sq
            terms[lev.term] = front * (noise + heterogeneity)
            parts[lev.term] = {"noise": front * noise, "heterogeneity": front * heterogeneity}
        conditions = (
            Condition("gamma*L <= 1", gamma * L, sp.Integer(1)),
            *(Condition(f"c_{l + 1} = (1+1/alpha_{l + 1})(1+1/beta_{l + 1}) gamma^2 L^2 kappa_{l + 1} < 1",
                        c[l], sp.Integer(1), strict=True) for l in range(M)),
        )
        return Statement(terms=terms, conditions=conditions, parts=parts, free={"alpha": alphas, "beta": betas})

    return Theorem(name="sharp", title="Theorem S",
                   source="docs/theory.md §9.1 Theorem S (derived for this project, not in the paper)", state=state)


THEOREM_S = theorem_s()
"""Theorem S (docs/theory.md §9.1, derived for this project)."""
