"""docs/theory.md §4.1 Theorem 1: the convergence bound of two-level H-SGD.

Structure from Wang, Wang, Chen, Ji, AAAI 2022, arXiv:2010.12998; the constants are those of
docs/theory.md §0 Provenance, derived for this project (see :mod:`bounds.coefficients`).
"""

from __future__ import annotations

import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Level
from bounds.multi_level import BASE_PARAMETERS
from bounds.statement import Theorem
from bounds.theorems.theorem2 import THEOREM_2

__all__ = ["two_level"]


def two_level(*, theorem: Theorem = THEOREM_2) -> Bound:
    r"""Theorem 1 (two-level H-SGD): the bound with its upward and downward parts.

    Setting: ``n`` workers in ``N`` groups (sizes may differ); every ``I`` steps each group
    averages its models, every ``G`` steps all workers do (``I | G``). Under A1-A3 with
    ``eps_g`` the divergence of the groups around the global objective (upward) and
    ``eps_l`` that of the workers around their group (downward),

    .. math::
        \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le \frac{2F_0}{\gamma T}
        + \frac{\gamma L\sigma^2}{n}
        + \underbrace{2\gamma^2L^2(G-1)\Big[\frac{(N-1)\sigma^2}{n}
          + \frac{2}{3}(2G-1)\varepsilon_g^2\Big]}_{\text{upward}}
        + \underbrace{2\gamma^2L^2(I-1)\Big[\frac{(n-N)\sigma^2}{n}
          + \frac{2}{3}(2I-1)\varepsilon_l^2\Big]}_{\text{downward}}.

    Condition: :math:`\gamma \le 1/L` and :math:`4\gamma^2L^2(G(G-1) + I(I-1)) \le 1`;
    any horizon ``T >= 1``, not necessarily a multiple of ``G`` (docs/theory.md §5.5 Any
    horizon). Guarantee: upper bound. docs/theory.md §4.1 Theorem 1 (Theorem 2 with
    ``M = 2``); structure from Wang et al. 2022 [1], constants derived for this project.

    References:
        [1] J. Wang, S. Wang, R.-R. Chen, M. Ji. Demystifying Why Local Aggregation Helps:
        Convergence Analysis of Hierarchical SGD. AAAI 2022. https://arxiv.org/abs/2010.12998

    Args:
        theorem: the theorem applied (default Theorem 2 with the constants of docs/theory.md §0
            Provenance, whose two-level case is docs/theory.md §4.1 Theorem 1).

    Returns:
        A :class:`~bounds.Bound` with terms ``init``, ``noise``, ``upward``, ``downward`` and
        keywords ``gamma, L, sigma, n, T, F0, N, I, G, eps_g, eps_l``.

    Example:
        >>> b = two_level()
        >>> list(b.terms)
        ['init', 'noise', 'upward', 'downward']
        >>> b.terms['upward']
        2*L**2*gamma**2*(G - 1)*(2*eps_g**2*(2*G - 1)/3 + sigma**2*(N - 1)/n)
        >>> b.condition
        (L*gamma <= 1) & (4*L**2*gamma**2*(G*(G - 1) + I*(I - 1)) <= 1)
    """
    levels = (
        Level(period=s.I, finer_count=s.n, count=s.N, eps_sq=s.eps_l**2, term="downward",
              period_label="I", count_label="N"),
        Level(period=s.G, finer_count=s.N, count=sp.Integer(1),
              eps_sq=s.eps_g**2, term="upward", period_label="G", count_label="1"),
    )
    return Bound(theorem=theorem, setting="two-level H-SGD", levels=levels,
                 parameters={**BASE_PARAMETERS, "N": s.N, "I": s.I, "G": s.G, "eps_g": s.eps_g, "eps_l": s.eps_l},
                 term_order=("init", "noise", "upward", "downward"))
