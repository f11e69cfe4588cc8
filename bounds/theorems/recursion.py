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

**Float level terms are never below the exact ones.** A bound evaluated in floats must not come
out below the value it stands for. Round-to-nearest alone does not give that: the recursion's
values can span 1e7..1e53 and its float sums came out up to 1.5e-14 (relative) below the exact
rational value of the same float inputs (issue 21's re-audit, a seeded battery of 300 extreme
instances). So the float path carries, for every value it computes, a proven bound on its
rounding error and rounds up at the end (:class:`_Rounded`, :func:`_round_up`):

* *Model* (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., Thm 2.2 and
  (2.5)): for floats ``x, y`` and ``op`` in ``+ - * /``, if the result neither overflows nor
  is subnormal, ``fl(x op y) = (x op y)(1 + d) = (x op y)/(1 + d')`` with ``|d|, |d'| <= u = 2^-53``.
  So for ``z >= 0``, ``z/(1+u) <= fl(z) <= z(1+u)``. Sums of floats are exact when they are
  subnormal (no relative error beyond ``u`` in any case).
* *Invariant.* Every quantity is non-negative (inputs ``gamma, L, sigma, n, alpha, beta > 0``,
  ``eps^2 >= 0``, ``K_{l-1} >= K_l``, integers ``k >= 0``), and each computed value ``v`` of an
  exact value ``x`` carries an integer ``e`` with ``x (1+u)^-e <= v <= x (1+u)^e`` (inputs:
  ``e = 0``). Then ``v = 0`` exactly when ``x = 0``.
* *Steps.* With non-negative operands, ``x + y`` gets ``max(e_x, e_y) + 1``, ``x * y`` and
  ``x / y`` get ``e_x + e_y + 1`` (the exact operation on the perturbed operands is within
  ``(1+u)^(+-(e_x + e_y))`` resp. ``(1+u)^(+-max)`` since every term is non-negative, and the
  rounding adds one factor). The only subtraction, ``K_{l-1} - K_l``, is of two exact inputs
  (``e = 1``). A product or quotient of non-zero operands that comes out below the normal range
  (underflow), or any result that is not finite, breaks the model: then the recursion is run in
  exact fractions instead (:func:`_level_sums`) and only its final sums are rounded.
* *Rounding up.* With ``m = e + 1``, ``(1+u)^m <= exp(m u) <= 1/(1 - m u)`` for ``m u < 1``, so the
  float ``F_m >= 2^53/(2^53 - m)`` (rounded upwards, exactly, from the fraction) is at least
  ``(1+u)^m``, and ``fl(v F_m) >= v F_m/(1+u) >= v (1+u)^e >= x``.

The prefix sums of one top period are so made upper floats; the level term
``L^2 (q S_{P_M} + S_r)/T`` (``T = q P_M + r``) is then computed from them exactly (a ``T`` given
as a number) or in floats with its five roundings and one more factor ``F_6`` (an array of
``T``), again falling back to exact fractions wherever a value is outside the normal range. So
each level term evaluated in floats is at least its exact value at the same (float) inputs. The
sum of the terms into the bound (``init + noise + levels``, by :meth:`bounds.Bound.evaluate`'s
generic float evaluation, the same for every theorem) is still rounded to nearest.
"""

from __future__ import annotations

import math
import sys
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


_U_BITS = 53  # binary64: unit roundoff u = 2^-53 (round to nearest)
_TINY = sys.float_info.min  # the smallest normal float


class _Unreliable(ArithmeticError):
    """A float operation left the range where the rounding model holds (underflow, overflow)."""


def _round_up(value: Fraction | float) -> float:
    """The smallest float ``>= value`` (``inf`` above the float range); ``value >= 0``."""
    if isinstance(value, float):
        return value
    try:
        f = float(value)
    except OverflowError:
        return math.inf
    return f if Fraction(f) >= value else math.nextafter(f, math.inf)


@lru_cache(maxsize=4096)
def _factor(m: int) -> float:
    """A float ``>= (1 + u)^m``: ``(1+u)^m <= exp(m u) <= 1/(1 - m u)``, rounded upwards."""
    if m >= 2**_U_BITS:
        return math.inf
    return _round_up(Fraction(2**_U_BITS, 2**_U_BITS - m))


class _Rounded:
    """A non-negative float ``v`` with a bound ``e`` on its rounding error: the exact value ``x``
    it was computed for satisfies ``x (1+u)^-e <= v <= x (1+u)^e`` (module docstring). Supports
    the operations :func:`window_table` performs; raises :class:`_Unreliable` where the model
    does not hold."""

    __slots__ = ("e", "v")

    def __init__(self, v: float, e: int = 0) -> None:
        if not math.isfinite(v) or v < 0:
            raise _Unreliable(v)
        self.v, self.e = v, e

    @staticmethod
    def of(x: Any) -> _Rounded:
        if isinstance(x, _Rounded):
            return x
        if isinstance(x, int) and abs(x) > 2**_U_BITS:
            raise _Unreliable(x)  # not exact as a float
        return _Rounded(float(x))

    def __add__(self, other: Any) -> _Rounded:
        o = _Rounded.of(other)
        if o.v == 0:
            return self
        if self.v == 0:
            return o
        return _Rounded(self.v + o.v, max(self.e, o.e) + 1)

    __radd__ = __add__

    def _product(self, v: float, o: _Rounded) -> _Rounded:
        if v == 0 and self.v != 0 and o.v != 0 or 0 < v < _TINY:
            raise _Unreliable(v)  # underflow
        return _Rounded(v, 0 if v == 0 else self.e + o.e + 1)

    def __mul__(self, other: Any) -> _Rounded:
        o = _Rounded.of(other)
        return self._product(self.v * o.v, o)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> _Rounded:
        o = _Rounded.of(other)
        if o.v == 0:
            raise _Unreliable(0.0)
        return self._product(self.v / o.v, o)

    def __rtruediv__(self, other: Any) -> _Rounded:
        return _Rounded.of(other) / self

    def __sub__(self, other: Any) -> _Rounded:
        o = _Rounded.of(other)
        if self.e or o.e or self.v < o.v:
            raise _Unreliable(self.v - o.v)  # only a difference of exact inputs (K_{l-1} - K_l)
        d = self.v - o.v
        return _Rounded(d, 0 if Fraction(d) == Fraction(self.v) - Fraction(o.v) else 1)

    def __rsub__(self, other: Any) -> _Rounded:
        return _Rounded.of(other) - self

    def upper(self) -> float:
        """A float at least the exact value (``fl(v F_{e+1}) >= v (1+u)^e >= x``)."""
        if self.e == 0 or self.v == 0:
            return self.v
        up = self.v * _factor(self.e + 1)
        if not math.isfinite(up):
            raise _Unreliable(up)
        return up


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
    inputs = (gamma, L, sigma, n, periods, counts, eps_sq, alpha, beta)
    if all(isinstance(x, (Fraction, int)) for x in (gamma, L, sigma, n, *counts, *eps_sq, *alpha, *beta)):
        return _prefix_sums(M, window_table(*inputs))  # exact
    try:  # floats, each value with its proven error bound, rounded up at the end
        wrap = [_Rounded.of(x) for x in (gamma, L, sigma, n)]
        lists = [[_Rounded.of(x) for x in xs] for xs in (counts, eps_sq, alpha, beta)]
        sums = _prefix_sums(M, window_table(*wrap, periods, lists[0], *lists[1:]))
        return tuple(tuple(x.upper() if isinstance(x, _Rounded) else float(x) for x in row) for row in sums)
    except _Unreliable:  # outside the normal float range somewhere: exactly, then rounded up
        exact = [[Fraction(x) for x in xs] for xs in ((gamma, L, sigma, n), counts, eps_sq, alpha, beta)]
        sums = _prefix_sums(M, window_table(*exact[0], periods, *exact[1:]))
        return tuple(tuple(_round_up(x) for x in row) for row in sums)


def _prefix_sums(M: int, table: list[list[Any]]) -> tuple[tuple[Any, ...], ...]:
    out = []
    for l in range(M):
        prefix = [0 * table[0][l]]
        for row in table:
            prefix.append(prefix[-1] + row[l])
        out.append(tuple(prefix))
    return tuple(out)


def _exact_term(L: Any, full: int, whole: Any, part: Any, T: int | Fraction) -> Fraction | float:
    """``L^2 (full * whole + part) / T`` in exact fractions (floats taken at their exact values;
    ``inf`` where a prefix sum overflowed the float range)."""
    if any(isinstance(x, float) and math.isinf(x) for x in (whole, part)):
        return math.inf
    return Fraction(L) ** 2 * (full * Fraction(whole) + Fraction(part)) / Fraction(T)


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
            value = _exact_term(L, full, prefix[-1], prefix[r], T)
            return _round_up(value) if isinstance(prefix[-1], float) else value
        horizons = np.asarray(T, dtype=np.int64)
        full, r = np.divmod(horizons, top)
        sums = np.asarray(prefix, dtype=np.float64)
        L = float(L)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            inner = full * sums[-1] + sums[r]
            value = L * L * inner / horizons  # five roundings from the (upper) prefix sums
            value = value * _factor(6)  # so at least the exact value from them (module docstring)
        # where a value may be outside the normal range the model does not hold: exactly, rounded up
        bad = ~np.isfinite(value) | ((inner > 0) & ((value < 2.0**-1000) | (L * L < 2.0**-1000)))
        if np.any(bad):
            value = np.array(value, dtype=np.float64)
            for i in zip(*np.nonzero(bad)) if value.ndim else [()]:
                value[i] = _round_up(_exact_term(L, int(full[i]), prefix[-1], prefix[int(r[i])], int(horizons[i])))
        return value

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
