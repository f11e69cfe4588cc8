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

__all__ = ["theorem2", "THEOREM_2", "period_sum_label"]


@lru_cache(maxsize=None)
def theorem2(coefficients: Coefficients = THEORY) -> Theorem:
    """Theorem 2 with the given named constants (by default docs/theory.md §0 Provenance's);
    the same object for equal constants, so that what is compiled for it is reused.

    Example:
        >>> from bounds import multi_level
        >>> b = multi_level([5, 25], [4], theorem=theorem2())
        >>> list(b.terms), list(b.parts["level_1"])
        (['init', 'noise', 'level_1', 'level_2'], ['noise', 'heterogeneity'])
    """
    c = coefficients

    def state(levels: tuple[Level, ...]) -> Statement:
        gamma, L, sigma, n = s.gamma, s.L, s.sigma, s.n
        terms = {"init": c.init * s.F0 / (gamma * s.T), "noise": c.noise * gamma * L * sigma**2 / n}
        parts = {}
        for level in levels:
            P = level.period
            factor = c.divergence * gamma**2 * L**2 * (P - 1)
            share = (level.finer_count - level.count) * sigma**2 / n
            heterogeneity = c.heterogeneity * (level.eps_sq * (2 * P - 1))
            terms[level.term] = factor * (share + heterogeneity)
            parts[level.term] = {"noise": factor * share, "heterogeneity": factor * heterogeneity}
        period_sum = sum((lev.period * (lev.period - 1) for lev in levels), sp.Integer(0))
        conditions = (
            Condition("gamma*L <= 1", gamma * L, sp.Integer(1)),
            Condition(f"{c.condition}*gamma^2*L^2*({period_sum_label(levels)}) <= 1",
                      c.condition * gamma**2 * L**2 * period_sum, sp.Integer(1)),
        )
        return Statement(terms=terms, conditions=conditions, parts=parts)

    return Theorem(name="theorem2", title="Theorem 2",
                   source="docs/theory.md §4.2 Theorem 2; structure from Wang et al. 2022, arXiv:2010.12998",
                   state=state, coefficients=c)


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
