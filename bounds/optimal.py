"""The step size that minimises a bound under its step-size condition.

Every bound of docs/theory.md has the form ``a/gamma + b gamma + c gamma^2`` in ``gamma`` (with
``a = c_init F0/T``, ``b = c_noise L sigma^2/n``, ``c`` the divergence terms over
``gamma^2``), which is convex on ``gamma > 0``; the conditions are ``gamma <= gamma_max``.
The minimiser is therefore unique: the positive root of the derivative's numerator
``2c gamma^3 + b gamma^2 - a``, found by scipy's ``brentq`` on ``log gamma`` (tiny and large
scales are equally well resolved), or ``gamma_max`` when the bound still decreases there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Condition
from bounds.compiled import compiled
from bounds.exact import decide
from bounds.validation import check_domain, largest_inputs

__all__ = ["OptimalStepSize", "optimal_lr", "largest_step_size"]

# The bracket of the stationary point is widened downwards by this factor at a time.
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
    """The largest float ``gamma`` that satisfies every condition of ``bound`` *exactly*, and which one binds.

    Each condition reads ``c gamma^k <= rhs``, so its largest ``gamma`` is
    ``(rhs/c)^(1/k)``. A condition whose left side is zero (the period sum when every
    period is 1) holds for every ``gamma`` and sets no limit; ``gamma*L <= 1`` always does.
    That limit computed in floats can land an ulp above the true one, so it is stepped down
    ulp by ulp until every such condition holds in exact rational arithmetic (the decision
    every command makes, :func:`bounds.exact.decide`): the result is never rejected.

    Args:
        bound: any :class:`~bounds.Bound`.
        **values: keyword values of ``bound`` (as for :meth:`~bounds.Bound.evaluate`); only
            those the conditions use are needed (``L`` and the periods), others are ignored.

    Raises:
        ValueError: for a keyword ``bound`` does not take, a missing one the conditions need,
            or values at which a condition cannot be evaluated.

    Example:
        >>> from bounds import two_level, multi_level
        >>> g, which = largest_step_size(two_level(), L=1, I=5, G=50)
        >>> round(g, 6), which
        (0.01006, '4*gamma^2*L^2*(I*(I-1) + G*(G-1)) <= 1')
        >>> largest_step_size(multi_level([1, 1], [4]), L=2)  # every period 1
        (0.5, 'gamma*L <= 1')
    """
    unknown = sorted(set(values) - set(bound.parameters))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for {bound.title}; expected: {', '.join(bound.parameters)}")
    by_symbol: dict[sp.Symbol, Any] = {}
    for key, value in values.items():
        spec = bound.parameters[key]
        if isinstance(spec, tuple):
            items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else []
            if len(items) != len(spec):
                raise ValueError(f"parameter {key} must be a sequence of {len(spec)} values, one per level "
                                 f"(finest first), got {value!r}")
            by_symbol.update(zip(spec, items))
        else:
            by_symbol[spec] = value
    best, label, limiting = math.inf, "", []
    for cond in bound.conditions:
        form = _power_form(cond)
        if form is None:
            continue  # 0 <= rhs: vacuous, no limit on gamma
        k, others, fn = form
        missing = [sym.name for sym in others if sym not in by_symbol]
        if missing:
            raise ValueError(f"missing parameter {missing[0]!r} for the condition {cond.label}")
        with np.errstate(over="ignore", invalid="ignore"):
            coeff, rhs = fn(*(np.float64(by_symbol[sym]) for sym in others))
        if not (np.isfinite(coeff) and np.isfinite(rhs)) or coeff < 0:
            raise ValueError(f"the condition {cond.label} cannot be evaluated at these values (overflow or a "
                             f"negative parameter)")
        if coeff > 0 and k > 0:
            limiting.append(cond)
            limit = float((rhs / coeff) ** (1.0 / k))
            if limit < best:
                best, label = limit, cond.label
    if not math.isfinite(best) or best <= 0:
        raise ValueError("no condition limits gamma at these values: the bound has no largest step size")
    while best > 0 and not all(_holds_exactly(cond, by_symbol, best) for cond in limiting):
        best = float(np.nextafter(best, 0.0))
    return best, label


def _holds_exactly(cond: Condition, by_symbol: dict[sp.Symbol, Any], gamma: float) -> bool:
    """Whether ``cond`` holds at ``gamma`` and the values ``by_symbol``, decided exactly."""
    syms = sorted(cond.lhs.free_symbols | cond.rhs.free_symbols, key=lambda x: x.name)
    inputs = [gamma if sym == s.gamma else by_symbol[sym] for sym in syms]
    with np.errstate(over="ignore", invalid="ignore"):
        lhs, rhs = compiled(syms, sp.Tuple(cond.lhs, cond.rhs))(*(np.float64(x) for x in inputs))
    return bool(decide(cond, syms, inputs, lhs, rhs))


@functools.lru_cache(maxsize=256)
def _power_form(cond: Condition) -> tuple[int, tuple[sp.Symbol, ...], Callable[..., Any]] | None:
    """``(k, symbols, f)`` with the condition ``c gamma^k <= rhs`` and ``f(*symbols) = (c, rhs)``,
    or ``None`` when its left side is zero (then it holds for every ``gamma``); cached, since
    the sympy work costs milliseconds and property tests call this per example."""
    lhs = sp.expand(cond.lhs)
    if lhs.is_zero:
        if not cond.rhs.is_nonnegative:  # pragma: no cover - no bound has such a condition
            raise ValueError(f"the condition {cond.label} cannot hold")
        return None
    k = int(sp.degree(lhs, s.gamma))
    others = tuple(sorted((cond.lhs.free_symbols | cond.rhs.free_symbols) - {s.gamma}, key=lambda x: x.name))
    return k, others, compiled(others, sp.Tuple(cond.lhs.subs(s.gamma, 1), cond.rhs))


def _largest_step_size_at(bound: Bound, scalars: dict[sp.Symbol, float]) -> tuple[float, str]:
    """:func:`largest_step_size` at values keyed by symbol (per-level symbols included)."""
    keywords: dict[str, Any] = {}
    for key, spec in bound.parameters.items():
        if isinstance(spec, tuple):
            if all(sym in scalars for sym in spec):
                keywords[key] = [scalars[sym] for sym in spec]
        elif spec in scalars:
            keywords[key] = scalars[spec]
    return largest_step_size(bound, **keywords)


def _gamma_coefficients(bound: Bound, arrays: dict[sp.Symbol, np.ndarray]) -> tuple[float, float, float]:
    """``(a, b, c)`` with ``bound = a/gamma + b gamma + c gamma^2`` at the given values."""
    poly = sp.Poly(sp.expand(bound.expr * s.gamma), s.gamma)
    degrees = {m[0]: coeff for m, coeff in zip(poly.monoms(), poly.coeffs())}
    if set(degrees) - {0, 2, 3}:
        raise ValueError(f"{bound.title} is not of the form a/gamma + b gamma + c gamma^2")
    exprs = sp.Tuple(*(degrees.get(k, sp.Integer(0)) for k in (0, 2, 3)))
    others = sorted(exprs.free_symbols, key=lambda x: x.name)
    with np.errstate(over="ignore", invalid="ignore"):
        a, b, c = (float(v) for v in compiled(others, exprs)(*(np.float64(arrays[sym]) for sym in others)))
    if not all(math.isfinite(v) for v in (a, b, c)):
        raise ValueError("the bound's coefficients overflow float64 at these values; rescale the problem "
                         f"({largest_inputs(arrays)})")
    return a, b, c


def optimal_lr(bound: Bound, **values: Any) -> OptimalStepSize:
    """Minimise ``bound`` over the step size ``gamma`` subject to its conditions.

    The bound is ``a/gamma + b gamma + c gamma^2`` with ``a > 0`` and ``b, c >= 0``, so its
    derivative ``(2c gamma^3 + b gamma^2 - a)/gamma^2`` has exactly one positive root; scipy's
    ``brentq`` finds it on a logarithmic bracket, and the condition caps it at ``gamma_max``.

    Args:
        bound: any :class:`~bounds.Bound`.
        **values: every parameter of ``bound`` except ``gamma``, as numbers.

    Raises:
        ValueError: for a missing or invalid parameter, a given ``gamma``, ``F0 = 0`` (then
            the bound decreases to its noise-free limit as ``gamma -> 0`` and no step size
            attains the infimum), or values that overflow.

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
    for sym, arr in arrays.items():
        if arr.ndim != 0:
            raise ValueError(f"optimal_lr takes one number per parameter, but {sym.name} has shape {arr.shape}")
    check_domain(bound, arrays)
    if float(arrays[s.F0]) == 0.0:
        raise ValueError("F0 must be positive to optimise gamma: with F0 = 0 the bound only decreases as gamma -> 0")
    scalars = {sym: float(v) for sym, v in arrays.items() if sym != s.gamma}
    gamma_max, limiting = _largest_step_size_at(bound, scalars)
    a, b, c = _gamma_coefficients(bound, arrays)

    def slope_sign(log_gamma: float) -> float:  # 2c g^3 + b g^2 - a, increasing in g
        g = math.exp(log_gamma)
        return (2 * c * g + b) * g * g - a

    top = math.log(gamma_max)
    if slope_sign(top) <= 0:
        gamma = gamma_max
        rule = f"the largest step size allowed by {limiting} (the bound still decreases there)"
    else:
        low = top
        while slope_sign(low) > 0:
            low -= LOG_RANGE
            if low < -745:  # below the smallest float64
                raise ValueError("the optimal step size is below the smallest float64; rescale the problem")
        from scipy.optimize import brentq  # imported here: keeps `hsgd ... --help` light

        gamma = math.exp(brentq(slope_sign, low, top, xtol=1e-14, rtol=1e-14, maxiter=500))
        rule = "the stationary point of the bound in gamma, inside the step-size condition"
    value = float(bound.lambdify(validate=False).evaluate_arrays({**arrays, s.gamma: np.asarray(gamma)}))
    if not math.isfinite(value):
        raise ValueError(f"the bound is not finite ({value}) at the optimal step size: float64 overflows; rescale "
                         "the problem")
    return OptimalStepSize(gamma=gamma, value=value, gamma_max=gamma_max, limiting_condition=limiting,
                           at_boundary=gamma == gamma_max, rule=rule)
