r"""Steps to a target from a bound: the smallest ``T`` whose bound is at most the target.

Every bound of docs/theory.md §4.2 Theorem 2 (and its cases §4.1 Theorem 1 and §4.3 Local
SGD) depends on the horizon only through its first term:

.. math::
    B(T) = \frac{S}{T} + R, \qquad S = \frac{2F_0}{\gamma}, \qquad
    R = \frac{\gamma L\sigma^2}{n} + \sum_{l=1}^M 2\gamma^2L^2(P_l-1)\Big[\frac{(K_{l-1}-K_l)\sigma^2}{n}
      + \frac23(2P_l-1)\varepsilon_l^2\Big],

(with the numbers of :class:`bounds.Coefficients`, derived for this project), so
``B(T) <= target`` exactly when ``target > R`` and ``T >= S / (target - R)``:

.. math::
    T^\star = \Big\lceil \frac{S}{\mathrm{target} - R} \Big\rceil ,

and no ``T`` reaches a target ``<= R`` (the floor) at that step size. ``S`` and ``R`` are read
off the bound's own terms (``init`` at ``T = 1``, and the others), at the exact rational value
of every input, so ``T*`` is exact: ``B(T* - 1) > target >= B(T*)`` in rational arithmetic.

Over the step size, ``T*`` is smallest where ``gamma (target - R(gamma))`` is largest; with
``R(gamma) = b gamma + c gamma^2`` (:func:`bounds.optimal` reads ``b`` and ``c`` off the bound)
that is the concave ``h(gamma) = target gamma - b gamma^2 - c gamma^3``, maximised at the
positive root of ``target - 2 b gamma - 3 c gamma^2``, or at the largest admissible step size
when the root lies beyond it (:func:`fastest_step_size`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound
from bounds.exact import exact_conditions, exact_terms, exact_value
from bounds.optimal import _gamma_coefficients
from bounds.validation import check_domain

__all__ = ["TargetSteps", "steps_to_target", "fastest_step_size", "exact_bound"]


@dataclass(frozen=True)
class TargetSteps:
    """The result of :func:`steps_to_target`: ``B(T) = start / T + floor``.

    Attributes:
        T: the smallest horizon with ``B(T) <= target``, or ``None`` when no horizon reaches it.
        gamma: the step size.
        target: the target of the average squared gradient norm.
        start: ``S``, the ``init`` term times ``T`` (``2 F0 / gamma`` for Theorem 2).
        floor: ``R``, the terms that do not depend on ``T``.
        reason: a sentence saying how ``T`` was found, or why there is none.
    """

    T: int | None
    gamma: float
    target: float
    start: float
    floor: float
    reason: str

    @property
    def reachable(self) -> bool:
        """Whether some horizon reaches the target at this step size."""
        return self.T is not None


def _check(bound: Bound, values: dict[str, Any]) -> None:
    """The usual checks of ``values`` (names, one number each, the domain) before an exact evaluation."""
    arrays = bound.values_to_arrays(values)
    for sym, arr in arrays.items():
        if arr.ndim != 0:
            raise ValueError(f"{sym.name} must be one number, got shape {arr.shape}")
    check_domain(bound, arrays)


def _positive_target(target: Any) -> float:
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(target)) or float(target) <= 0:
        raise ValueError(f"target must be a finite positive number, got {target!r}")
    return float(target)


def exact_bound(bound: Bound, **values: Any) -> Fraction:
    """``bound`` at ``values`` (``T`` included) as an exact fraction, each float at its exact value,
    after the usual checks (:func:`bounds.exact.exact_value`).

    Example:
        >>> from bounds import local_sgd
        >>> exact_bound(local_sgd(), gamma=0.5, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1)
        Fraction(7, 5)
    """
    _check(bound, values)
    value = exact_value(bound, values)
    if not isinstance(value, Fraction):
        raise ValueError(f"{bound.title} did not evaluate to a rational number at these values: {value}")
    return value


def steps_to_target(bound: Bound, target: float, **values: Any) -> TargetSteps:
    r"""The smallest horizon ``T`` with ``bound(T) <= target``, decided exactly.

    ``T* = ceil(S / (target - R))`` (module docstring); unreachable (``T = None``) when the
    target is at or below the floor ``R``. The theorem says nothing outside its step-size
    condition, so the condition must hold exactly at ``values``.

    Args:
        bound: a bound of docs/theory.md §4.2 Theorem 2 or one of its cases.
        target: the target of the average squared gradient norm, positive.
        **values: every parameter of ``bound`` except ``T`` (``gamma`` included).

    Raises:
        ValueError: for a bad target, a given ``T``, a missing or invalid parameter, or a
            step-size condition that fails (naming it).

    Example:
        >>> from bounds import local_sgd
        >>> v = dict(gamma=0.1, L=1, sigma=1, n=10, F0=1, P=2, eps=1)
        >>> r = steps_to_target(local_sgd(), 0.5, **v)
        >>> r.T, round(r.floor, 6), r.start
        (47, 0.068, 20.0)
        >>> float(exact_bound(local_sgd(), T=46, **v)) > 0.5 >= float(exact_bound(local_sgd(), T=47, **v))
        True
        >>> steps_to_target(local_sgd(), 0.05, **v).reason
        'unreachable at gamma = 0.1: the target 0.05 is at or below the floor 0.068 of the terms that do not depend on T'
    """
    target = _positive_target(target)
    if "T" in values:
        raise ValueError("steps_to_target finds T: do not pass it")
    at_one = {**values, "T": 1}
    _check(bound, at_one)
    for check in exact_conditions(bound, at_one):
        if not check.holds:
            raise ValueError(f"gamma = {values.get('gamma')!r} breaks the step-size condition {check.condition.label} "
                             f"({float(check.lhs):.6g} > {float(check.rhs):.6g}): the bound says nothing there")
    init = bound.terms["init"]
    others = [term for name, term in bound.terms.items() if name != "init"]
    if any(term.has(s.T) for term in others) or sp.cancel(init * s.T).has(s.T):
        raise ValueError(f"{bound.title} does not have the form S/T + R: steps_to_target does not apply")
    terms = exact_terms(bound, at_one)
    start = terms.pop("init")
    floor = sum(terms.values(), Fraction(0))
    goal = Fraction(target)
    gamma = float(values["gamma"])
    if start == 0 and floor <= goal:  # F0 = 0: the bound is R at every horizon
        return TargetSteps(1, gamma, target, 0.0, float(floor), "T = 1: the bound has no start term (S = 0) and "
                           f"R = {float(floor):.6g} <= target")
    if goal <= floor:
        return TargetSteps(None, gamma, target, float(start), float(floor),
                           f"unreachable at gamma = {gamma:.6g}: the target {target:.6g} is at or below the floor "
                           f"{float(floor):.6g} of the terms that do not depend on T")
    T = max(1, math.ceil(start / (goal - floor)))  # S > 0 here (S = 0 was decided above)
    return TargetSteps(T, gamma, target, float(start), float(floor),
                       f"T = ceil(S / (target - R)) with S = {float(start):.6g}, R = {float(floor):.6g}, exact")


def _stationary_point(goal: float, b: float, c: float) -> float:
    """The positive root ``2 goal / (2b + sqrt(4b^2 + 12 c goal))`` of ``goal - 2b gamma - 3c gamma^2``
    (``inf`` when ``b = c = 0``), without overflow for a large ``goal``: above 1 it is divided
    through by ``goal`` (a target of ``1e308`` gave ``inf / inf = nan``).

    Example:
        >>> _stationary_point(0.5, 0.068, 0.0) == 0.5 / (2 * 0.068)
        True
        >>> _stationary_point(1e308, 0.1, 0.2) > 0  # inf / inf before
        True
    """
    if b <= 0 and c <= 0:
        return math.inf
    if goal <= 1:
        return 2 * goal / (2 * b + math.sqrt(4 * b * b + 12 * c * goal))
    b_g, c_g = b / goal, c / goal
    denominator = 2 * b_g + math.sqrt(4 * b_g * b_g + 12 * c_g)
    return 2 / denominator if denominator > 0 else math.inf


def fastest_step_size(bound: Bound, target: float, gamma_max: float, **values: Any) -> TargetSteps:
    """The step size in ``(0, gamma_max]`` that reaches ``target`` in the fewest steps, and those steps.

    ``T*(gamma) = ceil(S(gamma) / (target - R(gamma)))`` is smallest where ``h(gamma) = target
    gamma - b gamma^2 - c gamma^3`` is largest (module docstring); ``h`` is concave, so its
    maximiser is the root ``2 target / (2b + sqrt(4b^2 + 12 c target))`` of ``h'``, capped at
    ``gamma_max``. A smaller ``target`` is always reachable at some step size (``R -> 0`` as
    ``gamma -> 0``), so ``T`` is never ``None`` here.

    Args:
        bound: a bound of docs/theory.md §4.2 Theorem 2 or one of its cases.
        target: the target, positive.
        gamma_max: the largest step size to consider; it must meet the step-size condition
            exactly (e.g. :func:`bounds.largest_step_size`).
        **values: every parameter of ``bound`` except ``gamma`` and ``T``.

    Example:
        >>> from bounds import local_sgd
        >>> v = dict(L=1, sigma=1, n=10, F0=1, P=2, eps=1)
        >>> r = fastest_step_size(local_sgd(), 0.5, 0.35, **v)
        >>> round(r.gamma, 4), r.T
        (0.1639, 38)
        >>> all(steps_to_target(local_sgd(), 0.5, gamma=g, **v).T >= r.T for g in (0.1, 0.15, 0.2, 0.25))
        True
        >>> steps_to_target(local_sgd(), 0.5, gamma=0.3, **v).T is None  # its floor is above 0.5
        True
    """
    if "gamma" in values or "T" in values:
        raise ValueError("fastest_step_size chooses gamma and finds T: pass neither")
    goal = _positive_target(target)
    if isinstance(gamma_max, (bool, np.bool_)) or not isinstance(gamma_max, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(gamma_max)) or gamma_max <= 0:
        raise ValueError(f"gamma_max must be a finite positive number, got {gamma_max!r}")
    arrays = bound.values_to_arrays({**values, "gamma": 1.0, "T": 1})
    check_domain(bound, arrays)
    _, b, c = _gamma_coefficients(bound, arrays)  # R(gamma) = b gamma + c gamma^2
    b, c = max(b, 0.0), max(c, 0.0)  # both are sums of non-negative terms; no rounding below 0
    root = _stationary_point(goal, b, c)
    gamma = min(root, float(gamma_max))
    best = steps_to_target(bound, goal, gamma=gamma, **values)
    if gamma < gamma_max:  # the float root may sit a rounding step off: the cap is the only other candidate
        capped = steps_to_target(bound, goal, gamma=float(gamma_max), **values)
        if capped.T is not None and (best.T is None or capped.T < best.T):
            best = capped
    return best
