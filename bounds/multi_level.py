"""docs/theory.md §4.2 Theorem 2: the convergence bound of H-SGD with ``M`` levels.

Structure from Wang, Wang, Chen, Ji, *Demystifying Why Local Aggregation Helps: Convergence
Analysis of Hierarchical SGD*, AAAI 2022, arXiv:2010.12998; the constants are those of
docs/theory.md §0 Provenance, derived for this project (see :mod:`bounds.coefficients`).
"""

from __future__ import annotations

from typing import Sequence, Union

import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Level
from bounds.statement import Theorem
from bounds.theorems.theorem2 import THEOREM_2
from bounds.validation import check_structure_numbers

__all__ = ["multi_level", "BASE_PARAMETERS"]

BASE_PARAMETERS: dict[str, sp.Symbol] = {
    "gamma": s.gamma, "L": s.L, "sigma": s.sigma, "n": s.n, "T": s.T, "F0": s.F0,
}
"""The keywords every bound takes."""

Entry = Union[int, sp.Expr]


def multi_level(
    periods: Sequence[Entry], groups: Sequence[Entry], *, theorem: Theorem = THEOREM_2
) -> Bound:
    r"""Theorem 2 (M-level H-SGD): the bound on the average squared gradient norm.

    Setting: ``n`` workers, nested groupings with ``K_1 >= ... >= K_{M-1}`` groups
    (``K_0 = n``, ``K_M = 1``), periods ``P_1 | P_2 | ... | P_M``; every ``P_l`` steps the
    level-``l`` groups average their models (docs/theory.md §1.1 Workers, hierarchy, periods
    and §1.2 Algorithm). Under A1 (``L``-smooth
    local objectives), A2 (noise variance ``sigma^2``) and A3 (divergence ``eps_l^2`` at
    level ``l``), and the step-size condition below,

    .. math::
        \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le \frac{2F_0}{\gamma T}
        + \frac{\gamma L\sigma^2}{n} + \sum_{l=1}^{M} 2\gamma^2L^2(P_l-1)
        \Big[\frac{(K_{l-1}-K_l)\sigma^2}{n} + \frac{2}{3}(2P_l-1)\varepsilon_l^2\Big].

    Condition: :math:`\gamma \le 1/L` and :math:`4\gamma^2L^2\sum_l P_l(P_l-1) \le 1`;
    any horizon ``T >= 1``, not necessarily a multiple of ``P_M`` (docs/theory.md §5.5 Any
    horizon). Guarantee: upper bound. docs/theory.md §4.2 Theorem 2; structure from Wang et
    al. 2022 [1], constants derived for this project.

    References:
        [1] J. Wang, S. Wang, R.-R. Chen, M. Ji. Demystifying Why Local Aggregation Helps:
        Convergence Analysis of Hierarchical SGD. AAAI 2022. https://arxiv.org/abs/2010.12998

    Args:
        periods: ``[P_1, ..., P_M]``, numbers or sympy symbols, finest first.
        groups: ``[K_1, ..., K_{M-1}]``, group counts of the intermediate levels, finest
            first; numbers or sympy symbols.
        coefficients: the numbers in front of each term (by default those of docs/theory.md §0 Provenance).

    Returns:
        A :class:`~bounds.Bound` with terms ``init``, ``noise``, ``level_1`` ... ``level_M``
        and keywords ``gamma, L, sigma, n, T, F0, eps`` (``eps`` a sequence of ``M`` values,
        finest first) plus the name of every symbol in ``periods`` and ``groups``.

    Raises:
        ValueError: for a numeric period or group count that is not a positive integer,
            periods that do not nest, or counts that grow from fine to coarse.

    Example:
        >>> b = multi_level([5, 25, 100], [16, 4])
        >>> list(b.terms)
        ['init', 'noise', 'level_1', 'level_2', 'level_3']
        >>> round(b.evaluate(gamma=0.004, L=1, sigma=1, n=64, T=10000, F0=10,
        ...                  eps=[1, 0.5, 0.25]), 6)
        0.533759
        >>> multi_level(*s.symbolic_hierarchy(3)).terms['level_2']
        2*L**2*gamma**2*(P_2 - 1)*(2*eps_2**2*(2*P_2 - 1)/3 + sigma**2*(K_1 - K_2)/n)
    """
    periods, groups = list(periods), list(groups)
    if not periods:
        raise ValueError("periods must list at least one period (P_1 for local SGD)")
    if len(groups) != len(periods) - 1:
        raise ValueError(
            f"groups must list the {len(periods) - 1} intermediate group counts K_1 .. K_{{M-1}} "
            f"for {len(periods)} periods, got {len(groups)}"
        )
    check_structure_numbers(periods, groups)
    P = [sp.sympify(p) for p in periods]
    K = [s.n, *(sp.sympify(k) for k in groups), sp.Integer(1)]
    M = len(P)
    eps = tuple(s.level_eps(l) for l in range(1, M + 1))
    levels = tuple(
        Level(
            period=P[l],
            finer_count=K[l],
            count=K[l + 1],
            eps_sq=eps[l] ** 2,
            term=f"level_{l + 1}",
            period_label=P[l].name if isinstance(P[l], sp.Symbol) else f"periods[{l}]",
            count_label=(K[l + 1].name if isinstance(K[l + 1], sp.Symbol)
                         else "1" if l + 1 == M else f"groups[{l}]"),
        )
        for l in range(M)
    )
    parameters: dict[str, sp.Symbol | tuple[sp.Symbol, ...]] = dict(BASE_PARAMETERS)
    reserved = {**BASE_PARAMETERS, **{e.name: e for e in eps}, "eps": None}
    for entry in [*P, *K[1:]]:
        for sym in sorted(entry.free_symbols, key=lambda x: x.name):
            if sym.name in reserved and reserved[sym.name] != sym:
                raise ValueError(f"a period or group count may not be a symbol named {sym.name!r}: that name "
                                 "is taken by a parameter of the bound")
            if parameters.setdefault(sym.name, sym) != sym:
                raise ValueError(f"two different symbols are named {sym.name!r} in periods and groups")
    parameters["eps"] = eps
    return Bound(theorem=theorem, setting=f"{M}-level H-SGD", levels=levels, parameters=parameters)
