"""Choosing a theorem's free parameters: the bound holds for *every* admissible value of them
(Young's ``alpha_l``, ``beta_l`` in docs/theory.md §9.1 Theorem S), so any admissible choice
gives a valid bound, and the smallest one found is the one reported.

The search is generic over a :class:`~bounds.Bound`'s declared free parameters
(:attr:`bounds.Bound.free`): it minimises the terms that depend on them over the logarithms of
the free parameters, in ``[-LOG_LIMIT, LOG_LIMIT]``, with L-BFGS-B from several starts,
treating a point where a condition that involves them fails as infinitely bad, and then
polishes the best point one parameter at a time over :data:`LOG_GRID` (:func:`optimise` states
what is guaranteed). It is a local search: the value it reports is a valid bound (the bound at
the parameters it returns, which meet every condition), not a proven global minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from bounds.compiled import compiled

if TYPE_CHECKING:  # only for type hints: bounds.bound imports this module
    from bounds.bound import Bound

__all__ = ["LOG_GRID", "LOG_LIMIT", "RESTARTS", "STARTS", "FreeOptimum", "optimise"]

LOG_LIMIT = 35.0
"""The search runs over ``log`` of each free parameter in ``[-LOG_LIMIT, LOG_LIMIT]`` (for Theorem
S, ``alpha = inf`` is only needed when ``sigma = 0`` or ``eps_l = 0``, where ``e^35`` is as good
to 15 digits)."""

STARTS = (0.0, -8.0, 8.0, 3.0, -3.0, LOG_LIMIT)
"""The starting points of the search: every free parameter ``e^start``. The last is the loosest
choice (for Theorem S every ``c_l`` is smallest there), feasible whenever any choice is for a
condition that relaxes as the free parameters grow."""

LOG_GRID = (-LOG_LIMIT, -8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0, 8.0, LOG_LIMIT)
"""The values (of ``log`` of one free parameter) the polishing step tries, one parameter at a time."""

RESTARTS = 50
"""At most this many rounds of polishing and descending again (each must gain), and of descents
from the loosest choice when every start fails a condition."""


@dataclass(frozen=True)
class FreeOptimum:
    """The free parameters :func:`optimise` chose (keyword -> value, a list for a per-level
    keyword) and the bound's value there."""

    values: dict[str, Any]
    value: float


def optimise(bound: "Bound", values: dict[str, Any], *, require_conditions: bool = True) -> FreeOptimum:
    """Choose ``bound``'s free parameters to minimise it at ``values`` (the other keywords).

    Only the terms that depend on the free parameters are minimised (the others are
    constant), scaled to 1 at each start so that they are not lost beside a large constant
    term. Steps:

    1. L-BFGS-B over the logarithms from each of :data:`STARTS` (every free parameter
       ``e^start``; the last, every one ``e^LOG_LIMIT``, is the loosest choice) that meets the
       conditions; where none does, descend again and again from the loosest point itself,
       rescaled each time (near Theorem S's edge every ``c_l`` is below 1 only for large
       parameters, and the objective there spans many orders of magnitude).
    2. Polish: move one free parameter at a time to each value of :data:`LOG_GRID` and keep any
       move that lowers the objective, until a whole pass gains nothing; then L-BFGS-B again
       from there; repeat while that gains (at most :data:`RESTARTS` rounds). This is what
       frees the parameters of a level whose ``c_l`` does not bind from the others, and what
       sends those of a level without terms of its own (``sigma = eps_l = 0``) to the limit.

    Guaranteed: the chosen parameters meet every condition, the value is the bound there
    (evaluated by :meth:`bounds.Bound.evaluate`), it is at most the objective at every feasible
    start, and no single free parameter moved to a value of :data:`LOG_GRID` lowers it by
    more than a relative ``1e-9``. Not guaranteed: the global minimum (the search is local;
    e.g. a full product grid over all parameters at once is not searched).

    Args:
        require_conditions: refuse values at which a condition that does not involve the
            free parameters fails (e.g. ``gamma L <= 1``); with ``False`` the formula is
            minimised anyway (for mutants with a looser condition).

    Raises:
        ValueError: naming the condition that fails at ``values``, or, when no free
            parameters were found that meet the conditions that involve them, those conditions.
    """
    if not bound.free:
        raise ValueError(f"{bound.title} has no free parameters to optimise")
    keys = list(bound.free)
    free_syms = [sym for key in keys for sym in bound.free[key]]
    base = {k: v for k, v in values.items() if k not in bound.free}
    ones = {key: [1.0] * len(syms) if isinstance(bound.parameters[key], tuple) else 1.0
            for key, syms in bound.free.items()}
    fixed = bound.values_to_arrays(dict(base, **ones))
    involved = set(free_syms)
    coupled = [c for c in bound.conditions if (c.lhs.free_symbols | c.rhs.free_symbols) & involved]
    if require_conditions:
        for check in bound.check_condition(**{sym.name: float(arr) for sym, arr in fixed.items()}):
            if check.condition not in coupled and not check.holds:
                raise ValueError(f"{bound.theorem.title} needs {check.condition.label}, got {check.lhs:.6g}")
    symbols = bound.symbols
    varying = [name for name, term in bound.terms.items() if term.free_symbols & involved]
    objective_fn = compiled(symbols, sp.Add(*(bound.terms[name] for name in varying)))
    sides = compiled(symbols, sp.Tuple(*(side for c in coupled for side in (c.lhs, c.rhs))))

    def at(z: np.ndarray) -> dict[sp.Symbol, Any]:
        arrays = dict(fixed)
        for sym, v in zip(free_syms, z):
            arrays[sym] = np.float64(math.exp(v))
        return arrays

    def feasible(arrays: dict[sp.Symbol, Any]) -> bool:
        with np.errstate(all="ignore"):
            both = sides(*(arrays[sym] for sym in symbols))
        return all(bool(c.met(both[2 * i], both[2 * i + 1])) for i, c in enumerate(coupled))

    def objective(z: np.ndarray) -> float:
        arrays = at(z)
        if not feasible(arrays):
            return math.inf
        with np.errstate(all="ignore"):
            value = float(objective_fn(*(arrays[sym] for sym in symbols)))
        return value if math.isfinite(value) else math.inf

    def descend(z0: np.ndarray) -> tuple[np.ndarray, float] | None:
        """The better of ``z0`` and L-BFGS-B's end point from it; ``None`` where ``z0`` is infeasible."""
        scale = objective(z0)
        if not math.isfinite(scale):
            return None
        if scale == 0.0:
            return z0, 0.0

        def scaled(z: np.ndarray) -> float:
            value = objective(z)
            return value / scale if math.isfinite(value) else 1e300

        from scipy.optimize import minimize  # imported here: keeps `hsgd ... --help` light (no cycle)

        res = minimize(scaled, z0, method="L-BFGS-B", bounds=[(-LOG_LIMIT, LOG_LIMIT)] * len(free_syms))
        value = objective(res.x)
        return (np.array(res.x), value) if value <= scale else (z0, scale)

    def polish(z: np.ndarray, value: float) -> tuple[np.ndarray, float]:
        """Coordinate search over LOG_GRID from ``z`` until a whole pass gains nothing."""
        z = np.array(z, dtype=float)
        for _ in range(RESTARTS):
            gained = False
            for i in range(len(z)):
                for g in LOG_GRID:
                    if g == z[i]:
                        continue
                    trial = z.copy()
                    trial[i] = g
                    v = objective(trial)
                    if v < value * (1 - 1e-9):
                        z, value, gained = trial, v, True
            if not gained:
                break
        return z, value

    best_z, best = np.zeros(len(free_syms)), math.inf
    for start in STARTS:
        found = descend(np.full(len(free_syms), start))
        if found is not None and found[1] < best:
            best_z, best = found
        if best == 0.0:
            break
    if not math.isfinite(best):
        # every start infeasible (the loosest among them too, for a condition that relaxes as the
        # free parameters grow): descend from the loosest point itself, rather than stopping
        # at it; the values there span many orders of magnitude, so again, rescaled, while that gains
        found = descend(np.full(len(free_syms), LOG_LIMIT))
        for _ in range(RESTARTS):
            if found is None:
                break
            best_z, best = found
            found = descend(best_z)
            if found is None or not found[1] < best * (1 - 1e-9):
                break
    if math.isfinite(best) and best > 0.0:
        for _ in range(RESTARTS):
            before = best
            best_z, best = polish(best_z, best)
            found = descend(best_z)
            if found is not None and found[1] < best:
                best_z, best = found
            if not best < before * (1 - 1e-9) or best == 0.0:
                break
    if not math.isfinite(best):
        arrays = at(best_z)
        with np.errstate(all="ignore"):
            both = sides(*(arrays[sym] for sym in symbols))
        failing = [f"{c.label} (left side {float(both[2 * i]):.6g})" for i, c in enumerate(coupled)
                   if not c.met(both[2 * i], both[2 * i + 1])]
        raise ValueError(f"{bound.theorem.title}: no {', '.join(keys)} meet the conditions at these values; at "
                         f"every {'/'.join(keys)} = e^{LOG_LIMIT:g} still failing: {'; '.join(failing) or 'the value is not finite'}")
    chosen: dict[str, Any] = {}
    i = 0
    for key in keys:
        count = len(bound.free[key])
        numbers = [math.exp(v) for v in best_z[i:i + count]]
        chosen[key] = numbers if isinstance(bound.parameters[key], tuple) else numbers[0]
        i += count
    value = bound.evaluate(strict=False, **base, **chosen)
    return FreeOptimum(values=chosen, value=value)

