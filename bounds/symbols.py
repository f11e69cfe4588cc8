"""The named sympy symbols every bound is written in, and their LaTeX names.

Keyword names (``gamma, L, sigma, n, T, F0, N, I, G, eps_g, eps_l, P, eps``) are the symbol
names, so ``Bound.evaluate(gamma=0.01, ...)`` and ``expr.subs(symbols.gamma, 0.01)`` talk
about the same thing. Assumptions (positive, non-negative, integer) are set so that sympy
can reason about signs.

Example:
    >>> from bounds import symbols as s
    >>> s.gamma.is_positive, s.sigma.is_nonnegative, s.G.is_integer
    (True, True, True)
    >>> s.period(2), s.group_count(1), s.level_eps(3)
    (P_2, K_1, eps_3)
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "gamma",
    "L",
    "sigma",
    "n",
    "T",
    "F0",
    "N",
    "I",
    "G",
    "eps_g",
    "eps_l",
    "P",
    "eps",
    "period",
    "group_count",
    "level_eps",
    "symbolic_hierarchy",
    "LATEX_NAMES",
]

gamma = sp.Symbol("gamma", positive=True)
"""Step size (learning rate)."""
L = sp.Symbol("L", positive=True)
"""Smoothness constant of every local objective (A1)."""
sigma = sp.Symbol("sigma", nonnegative=True)
"""Bound on the standard deviation of one worker's gradient noise (A2)."""
n = sp.Symbol("n", positive=True, integer=True)
"""Number of workers."""
T = sp.Symbol("T", positive=True, integer=True)
"""Number of steps: any integer ``T >= 1``, not necessarily a multiple of a period
(docs/theory.md §5.5 Any horizon)."""
F0 = sp.Symbol("F0", nonnegative=True)
"""Initial optimality gap ``f(x^0) - f*``."""
N = sp.Symbol("N", positive=True, integer=True)
"""Number of groups (two levels)."""
I = sp.Symbol("I", positive=True, integer=True)  # noqa: E741  (the paper's name)
"""Local aggregation period (two levels)."""
G = sp.Symbol("G", positive=True, integer=True)
"""Global aggregation period (two levels)."""
eps_g = sp.Symbol("eps_g", nonnegative=True)
"""Upward (between-group) gradient divergence bound, A3 at the top level."""
eps_l = sp.Symbol("eps_l", nonnegative=True)
"""Downward (within-group) gradient divergence bound, A3 at level 1."""
P = sp.Symbol("P", positive=True, integer=True)
"""Period of local SGD."""
eps = sp.Symbol("eps", nonnegative=True)
"""Total gradient divergence bound."""


def period(level: int) -> sp.Symbol:
    """The symbol ``P_l`` of the aggregation period of level ``l`` (1-based)."""
    return sp.Symbol(f"P_{level}", positive=True, integer=True)


def group_count(level: int) -> sp.Symbol:
    """The symbol ``K_l`` of the number of level-``l`` groups (1-based)."""
    return sp.Symbol(f"K_{level}", positive=True, integer=True)


def level_eps(level: int) -> sp.Symbol:
    """The symbol ``eps_l`` of the divergence bound at level ``l`` (1-based, A3)."""
    return sp.Symbol(f"eps_{level}", nonnegative=True)


def symbolic_hierarchy(levels: int) -> tuple[list[sp.Symbol], list[sp.Symbol]]:
    """Fully symbolic ``(periods, groups)`` for an ``M``-level hierarchy.

    Example:
        >>> symbolic_hierarchy(3)
        ([P_1, P_2, P_3], [K_1, K_2])
    """
    if int(levels) != levels or levels < 1:
        raise ValueError(f"levels must be a positive integer, got {levels!r}")
    return [period(l) for l in range(1, levels + 1)], [group_count(l) for l in range(1, levels)]


LATEX_NAMES: dict[sp.Symbol, str] = {
    gamma: r"\gamma",
    sigma: r"\sigma",
    F0: r"F_0",
    eps_g: r"\varepsilon_g",
    eps_l: r"\varepsilon_l",
    eps: r"\varepsilon",
}
"""LaTeX spellings of the symbols whose names are not already LaTeX."""


def latex_name(symbol: sp.Symbol) -> str:
    """LaTeX spelling of a symbol (``eps_3`` becomes ``\\varepsilon_{3}``)."""
    if symbol in LATEX_NAMES:
        return LATEX_NAMES[symbol]
    name = symbol.name
    if name.startswith("eps_"):
        return r"\varepsilon_{" + name[4:] + "}"
    return sp.latex(symbol)
