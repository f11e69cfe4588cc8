"""The step size that minimises a bound under its step-size condition.

Every bound of THEORY.md has the form ``a/gamma + b gamma + c gamma^2`` in ``gamma`` (with
``a = c_init F0/T``, ``b = c_noise L sigma^2/n``, ``c`` the divergence terms over
``gamma^2``), which is convex on ``gamma > 0``; the conditions are ``gamma <= gamma_max``.
The minimiser is therefore unique, and found by scipy's bounded scalar minimiser on
``log gamma`` (where the function is unimodal too, and tiny and large scales are equally
well resolved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

from bounds import symbols as s
from bounds.bound import Bound
from bounds.validation import check_domain

__all__ = ["OptimalStepSize", "optimal_lr", "largest_step_size"]

# The search covers gamma_max * [1e-30, 1]: far below any step size of practical use.
LOG_RANGE = 30 * math.log(10)


@dataclass(frozen=True)
class OptimalStepSize:
    """The result of :func:`optimal_lr`.

    Attributes:
        gamma: the minimising step size.
        value: the bound at ``gamma``.
        gamma_max: the largest step size the conditions allow.
        limiting_condition: label of the condition that sets ``gamma_max``.
        at_boundary: whether the minimiser is ``gamma_max`` (the condition is active).
        rule: a sentence saying how ``gamma`` was chosen.
    """

    gamma: float
    value: float
    gamma_max: float
    limiting_condition: str
    at_boundary: bool
    rule: str


def largest_step_size(bound: Bound, **values: Any) -> tuple[float, str]:
    """The largest ``gamma`` that satisfies every condition of ``bound``, and which one binds.

    Each condition reads ``c gamma^k <= rhs``, so its largest ``gamma`` is
    ``(rhs/c)^(1/k)``.

    Example:
        >>> from bounds import two_level
        >>> g, which = largest_step_size(two_level(), L=1, I=5, G=50)
        >>> round(g, 6), which
        (0.01006, '4*gamma^2*L^2*(I*(I-1) + G*(G-1)) <= 1')
    """
    best, label = math.inf, ""
    for cond in bound.conditions:
        k = int(sp.degree(cond.lhs, s.gamma))
        subs = {sym: sp.sympify(values[sym.name]) for sym in (cond.lhs.free_symbols | cond.rhs.free_symbols)
                if sym != s.gamma}
        coeff = float(cond.lhs.subs(s.gamma, 1).subs(subs))
        rhs = float(cond.rhs.subs(subs))
        if coeff > 0:
            limit = float((rhs / coeff) ** (1.0 / k))
            if limit < best:
                best, label = limit, cond.label
    return best, label


def optimal_lr(bound: Bound, **values: Any) -> OptimalStepSize:
    """Minimise ``bound`` over the step size ``gamma`` subject to its conditions.

    Args:
        bound: any :class:`~bounds.Bound`.
        **values: every parameter of ``bound`` except ``gamma``.

    Raises:
        ValueError: for a missing or invalid parameter, a given ``gamma``, or ``F0 = 0``
            (then the bound decreases to its noise-free limit as ``gamma -> 0`` and no step
            size attains the infimum).

    Example:
        >>> from bounds import two_level
        >>> opt = optimal_lr(two_level(), L=1, sigma=1, n=32, T=10000, F0=10, N=4, I=5,
        ...                  G=50, eps_g=0.5, eps_l=1)
        >>> round(opt.gamma, 5), round(opt.value, 4), opt.at_boundary
        (0.00841, 0.357, False)
    """
    if "gamma" in values:
        raise ValueError("optimal_lr chooses gamma: do not pass it")
    arrays = bound.values_to_arrays({**values, "gamma": 1.0})
    check_domain(bound, arrays)
    if float(arrays[s.F0]) == 0.0:
        raise ValueError("F0 must be positive to optimise gamma: with F0 = 0 the bound only decreases as gamma -> 0")
    gamma_max, limiting = largest_step_size(bound, **values)
    fn = bound.lambdify(validate=False)
    scalars = {sym: arr for sym, arr in arrays.items() if sym != s.gamma}

    def value_at(log_gamma: float) -> float:
        return float(fn.evaluate_arrays({**scalars, s.gamma: np.asarray(math.exp(log_gamma))}))

    top = math.log(gamma_max)
    res = minimize_scalar(value_at, bounds=(top - LOG_RANGE, top), method="bounded",
                          options={"xatol": 1e-12, "maxiter": 500})
    gamma, value = math.exp(res.x), float(res.fun)
    edge = value_at(top)
    at_boundary = edge <= value or math.isclose(gamma, gamma_max, rel_tol=1e-8)
    if at_boundary:
        gamma, value = gamma_max, edge
        rule = f"the largest step size allowed by {limiting} (the bound still decreases there)"
    else:
        rule = "the stationary point of the bound in gamma, inside the step-size condition"
    return OptimalStepSize(gamma=gamma, value=value, gamma_max=gamma_max,
                           limiting_condition=limiting, at_boundary=at_boundary, rule=rule)
