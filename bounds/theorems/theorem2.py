r"""docs/theory.md §4.2 Theorem 2: the convergence bound of H-SGD with ``M`` levels, as a
:class:`~bounds.statement.Theorem`.

Structure from Wang, Wang, Chen, Ji, *Demystifying Why Local Aggregation Helps: Convergence
Analysis of Hierarchical SGD*, AAAI 2022, arXiv:2010.12998; the constants are those of
docs/theory.md §0 Provenance, derived for this project (:mod:`bounds.coefficients`), not the
paper's.

.. math::
    \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le
    \frac{c_{init}F_0}{\gamma T} + c_{noise}\frac{\gamma L\sigma^2}{n}
    + \sum_{l=1}^{M} c_{div}\gamma^2L^2(P_l-1)\Big[\frac{(K_{l-1}-K_l)\sigma^2}{n}
    + c_{het}(2P_l-1)\varepsilon_l^2\Big]

under :math:`\gamma L \le 1` and :math:`c_{cond}\gamma^2L^2\sum_l P_l(P_l-1) \le 1`, any
horizon ``T >= 1`` (docs/theory.md §5.5). Guarantee: upper bound. Each level's term is split
into its ``noise`` part (the share ``(K_{l-1} - K_l) sigma^2 / n``) and its ``heterogeneity``
part (the ``eps_l^2`` part).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from bounds import symbols as s
from bounds.coefficients import THEORY, Coefficients
from bounds.statement import Condition, Level, Statement, Theorem

__all__ = ["theorem2", "THEOREM_2", "period_sum_label", "level_terms", "step_size_conditions"]


def theorem2(coefficients: Coefficients = THEORY) -> Theorem:
    """Theorem 2 with the given named constants (by default docs/theory.md §0 Provenance's);
    the same object for equal constants, so that what is compiled for it is reused.

    Example:
        >>> from bounds import multi_level
        >>> b = multi_level([5, 25], [4], theorem=theorem2())
        >>> list(b.terms), list(b.parts["level_1"])
        (['init', 'noise', 'level_1', 'level_2'], ['noise', 'heterogeneity'])
    """
    return _theorem2(coefficients)


@lru_cache(maxsize=None)
def _theorem2(c: Coefficients) -> Theorem:
    """:func:`theorem2`, cached by the constants alone (``theorem2()`` and ``theorem2(THEORY)`` are
    one object)."""

    def state(levels: tuple[Level, ...]) -> Statement:
        terms = {"init": c.init * s.F0 / (s.gamma * s.T), "noise": c.noise * s.gamma * s.L * s.sigma**2 / s.n}
        level_sums, parts = level_terms(levels, [(level.finer_count - level.count) / s.n for level in levels], c)
        terms.update(level_sums)
        return Statement(terms=terms, conditions=step_size_conditions(levels, c), parts=parts)

    return Theorem(name="theorem2", title="Theorem 2",
                   source="docs/theory.md §4.2 Theorem 2; structure from Wang et al. 2022, arXiv:2010.12998",
                   state=state, coefficients=c)


def level_terms(levels: tuple[Level, ...], shares: list[sp.Expr], c: Coefficients
                ) -> tuple[dict[str, sp.Expr], dict[str, dict[str, sp.Expr]]]:
    """Theorem 2's level terms ``c_div gamma^2 L^2 (P_l - 1) [share_l sigma^2 + c_het (2 P_l - 1) eps_l^2]``
    for noise shares ``share_l`` (``(K_{l-1} - K_l)/n`` in Theorem 2, ``lambda_l`` in Theorems W and
    P), and each split into its ``noise`` and ``heterogeneity`` parts."""
    gamma, L, sigma = s.gamma, s.L, s.sigma
    terms, parts = {}, {}
    for level, share in zip(levels, shares):
        P = level.period
        factor = c.divergence * gamma**2 * L**2 * (P - 1)
        noise = share * sigma**2
        heterogeneity = c.heterogeneity * (level.eps_sq * (2 * P - 1))
        terms[level.term] = factor * (noise + heterogeneity)
        parts[level.term] = {"noise": factor * noise, "heterogeneity": factor * heterogeneity}
    return terms, parts


def step_size_conditions(levels: tuple[Level, ...], c: Coefficients) -> tuple[Condition, ...]:
    """Theorem 2's conditions ``gamma L <= 1`` and ``c_cond gamma^2 L^2 sum_l P_l (P_l - 1) <= 1``
    (docs/theory.md §4.2; the conditions of Theorems W and P too, §10)."""
    gamma, L = s.gamma, s.L
    period_sum = sum((lev.period * (lev.period - 1) for lev in levels), sp.Integer(0))
    return (
        Condition("gamma*L <= 1", gamma * L, sp.Integer(1)),
        Condition(f"{c.condition}*gamma^2*L^2*({period_sum_label(levels)}) <= 1",
                  c.condition * gamma**2 * L**2 * period_sum, sp.Integer(1)),
    )


def period_sum_label(levels: tuple[Level, ...]) -> str:
    """``sum_l P_l (P_l - 1)`` as a condition's label writes it (numbers multiplied out)."""
    parts = []
    for level in levels:
        p = level.period
        parts.append(f"{p}*({p}-1)" if isinstance(p, sp.Symbol) else f"{p}*{p - 1}" if p.is_number
                     else f"({p})*({p} - 1)")
    return " + ".join(parts)


THEOREM_2 = theorem2()
"""Theorem 2 with the constants of docs/theory.md §0 Provenance (derived for this project)."""
