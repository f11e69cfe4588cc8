r"""docs/theory.md §9.2 Theorem S' (the forward recursion), derived for this project, not in the
paper, as a :class:`~bounds.statement.Theorem` whose level terms have no closed form.

Notation as in :mod:`bounds.theorems.sharp`. For ``t`` in one top period, ``k = t mod P_l``,
``s = t - k``: ``D_l(t) = 0`` at ``k = 0``, ``gamma^2 (N_l + eps_l^2)`` at ``k = 1``, and for
``k >= 2``

    D_l(t) = (1 + alpha_l) gamma^2 k N_l + (1 + 1/alpha_l) gamma^2 k [ (1 + (k-1)(1+beta_l)) eps_l^2
             + (1 + 1/beta_l) L^2 sum_{tau=s+1}^{t-1} sum_{m<=l} D_m(tau) ];

under ``gamma L <= 1`` alone the bound is

    2 F0/(gamma T) + gamma L sigma^2/n + sum_l (L^2/T) sum_{t<T} D_l(t mod P_M),

the prefix sum over ``t < T`` (for ``T`` a multiple of ``P_M``, the one-period average
``(L^2/P_M) sum_{t<P_M}``). It holds for every ``alpha_l, beta_l > 0``, declared free and chosen
by :meth:`bounds.Bound.optimise`. Each level term is a sympy function of the parameters whose
implementation runs the recursion (:func:`window_table`): in floats where the bound is
evaluated in floats, in exact fractions where :mod:`bounds.exact` decides (so Theorem S' is
decided exactly like every other theorem). The coupling sum is accumulated directly, a sum of
non-negative terms, never as a difference of running totals (which cancels catastrophically
when the values span many orders of magnitude).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import sympy as sp
from sympy.utilities.lambdify import implemented_function

from bounds import symbols as s
from bounds.statement import Condition, Level, Statement, Theorem

__all__ = ["theorem_s_prime", "THEOREM_S_PRIME", "window_table"]


def window_table(gamma: Any, L: Any, sigma: Any, n: Any, periods: Sequence[int], counts: Sequence[Any],
                 eps_sq: Sequence[Any], alpha: Sequence[Any], beta: Sequence[Any]) -> list[list[Any]]:
    """``D[t][l]`` of the recursion for ``t`` in one top period, finest level first: exact when the
    inputs are ``Fraction`` s, floats otherwise (the same operations).

    Example:
        >>> one = Fraction(1)
        >>> table = window_table(Fraction(1, 10), one, one, 2 * one, [3], [2 * one, one], [one], [one], [one])
        >>> [row[0] for row in table]  # k = 0, 1, 2
        [Fraction(0, 1), Fraction(3, 200), Fraction(353, 2500)]
    """
    M = len(periods)
    top = int(periods[-1])
    g2 = gamma * gamma
    noise = [(counts[l] - counts[l + 1]) * sigma * sigma / n for l in range(M)]
    table: list[list[Any]] = []
    window = [0] * M  # per level: sum_{tau = s+1}^{t-1} sum_{m <= l} D_m(tau), the current window's coupling
    for t in range(top):
        row = []
        for l in range(M):
            k = t % int(periods[l])
            if k == 0:
                value = 0 * g2
            elif k == 1:
                value = g2 * (noise[l] + eps_sq[l])
            else:
                a, b = alpha[l], beta[l]
                value = ((1 + a) * g2 * k * noise[l]
                         + (1 + 1 / a) * g2 * k * ((1 + (k - 1) * (1 + b)) * eps_sq[l]
                                                   + (1 + 1 / b) * L * L * window[l]))
            row.append(value)
        table.append(row)
        for l in range(M):
            window[l] = 0 * g2 if t % int(periods[l]) == 0 else window[l] + sum(row[:l + 1])
    return table


def _key(value: Any) -> Any:
    """A hashable form of one scalar input (numpy scalars and 0-d arrays become floats)."""
    return value if isinstance(value, (Fraction, int)) else float(value)


@lru_cache(maxsize=256)
def _level_sums(M: int, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    """Per level, the prefix sums ``sum_{t < r} D_l(t)`` for ``r = 0 .. P_M`` (cached: every level
    term of one evaluation reads the same table)."""
    gamma, L, sigma, n = args[:4]
    periods = args[4:4 + M]
    counts = args[4 + M:5 + 2 * M]
    eps_sq, alpha, beta = (args[5 + 2 * M + i * M:5 + 2 * M + (i + 1) * M] for i in range(3))
    if any(int(P) != P or P < 1 for P in periods):
        raise ValueError(f"Theorem S' needs positive integer periods, got {list(periods)}")
    table = window_table(gamma, L, sigma, n, periods, counts, eps_sq, alpha, beta)
    out = []
    for l in range(M):
        prefix = [0 * gamma]
        for row in table:
            prefix.append(prefix[-1] + row[l])
        out.append(tuple(prefix))
    return tuple(out)


def _level_term(level: int, M: int) -> Callable[..., Any]:
    """The implementation of level ``level``'s term: ``(L^2 / T) sum_{t < T} D_l(t mod P_M)``,
    ``T`` a number or an array (the other inputs are numbers)."""

    def term(*args: Any) -> Any:
        T, rest = args[4], (*args[:4], *args[5:])
        prefix = _level_sums(M, tuple(_key(np.asarray(a).item() if isinstance(a, np.ndarray) else a) for a in rest))[level]
        L = rest[1]
        top = len(prefix) - 1
        if isinstance(T, (int, Fraction)) and not isinstance(T, bool):
            full, r = divmod(int(T), top)
            return L * L * (full * prefix[-1] + prefix[r]) / T
        horizons = np.asarray(T, dtype=np.int64)
        full, r = np.divmod(horizons, top)
        sums = np.asarray(prefix, dtype=np.float64)
        return float(L) ** 2 * (full * sums[-1] + sums[r]) / horizons

    return term


def theorem_s_prime() -> Theorem:
    """Theorem S' (module docstring) as a :class:`~bounds.statement.Theorem`.

    Example:
        >>> from bounds import local_sgd
        >>> from bounds.theorems.sharp import THEOREM_S
        >>> v = dict(gamma=0.01, L=1.0, sigma=1.0, n=8, T=1000, F0=1.0, P=5, eps=1.0, alpha=[1.0], beta=[1.0])
        >>> bool(local_sgd(theorem=THEOREM_S_PRIME).evaluate(**v) <= local_sgd(theorem=THEOREM_S).evaluate(**v))
        True
    """

    def state(levels: tuple[Level, ...]) -> Statement:
        M = len(levels)
        alphas = tuple(sp.Symbol(f"alpha_{l}", positive=True) for l in range(1, M + 1))
        betas = tuple(sp.Symbol(f"beta_{l}", positive=True) for l in range(1, M + 1))
        counts = (levels[0].finer_count, *(lev.count for lev in levels))
        args = (s.gamma, s.L, s.sigma, s.n, s.T, *(lev.period for lev in levels), *counts,
                *(lev.eps_sq for lev in levels), *alphas, *betas)
        terms = {"init": 2 * s.F0 / (s.gamma * s.T), "noise": s.gamma * s.L * s.sigma**2 / s.n}
        for l, lev in enumerate(levels):
            function = implemented_function(sp.Function(f"recursion_{M}_{l + 1}"), _level_term(l, M))
            terms[lev.term] = function(*args)
        return Statement(terms=terms, conditions=(Condition("gamma*L <= 1", s.gamma * s.L, sp.Integer(1)),),
                         free={"alpha": alphas, "beta": betas})

    return Theorem(name="sharp_recursion", title="Theorem S'",
                   source="docs/theory.md §9.2 Theorem S' (derived for this project, not in the paper)", state=state)


THEOREM_S_PRIME = theorem_s_prime()
"""Theorem S' (docs/theory.md §9.2, derived for this project)."""
