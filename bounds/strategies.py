"""Hypothesis strategies for property-based tests of the bounds: hierarchies, constants,
step sizes inside the condition, and ready-to-evaluate theorem instances.

A test of an ordering of bounds (the sandwich of docs/theory.md §6.3 Corollary 1 and §6.4 Corollary 2, or one of
your own) then takes a few lines::

    from hypothesis import given
    import bounds
    from bounds.strategies import theorem_instances

    @given(theorem_instances(random_grouping=True))
    def test_sandwich(inst):
        hsgd = inst.bound.evaluate(**inst.values)
        low = bounds.local_sgd().evaluate(**inst.local_values(inst.periods[0]))
        high = bounds.local_sgd().evaluate(**inst.local_values(inst.periods[-1]))
        assert low <= hsgd * (1 + 1e-12) and hsgd <= high * (1 + 1e-12)

The draws shrink to the edge cases of the theorems: every period 1, one group (``N = 1``),
one worker per group (``N = n``), ``sigma = 0``, ``eps = 0``, ``T = 1``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from bounds import symbols as s
from bounds.bound import Bound
from bounds.multi_level import multi_level
from bounds.optimal import largest_step_size
from bounds.random_grouping import random_grouping as _random_grouping
from bounds.shape import Shape

__all__ = ["TheoremInstance", "hierarchies", "constants", "step_sizes", "theorem_instances"]


@functools.lru_cache(maxsize=512)
def _numeric_bound(periods: tuple[int, ...], groups: tuple[int, ...], random_grouping: bool) -> Bound:
    """``bounds.multi_level(periods, groups)`` (with Lemma 2's random grouping if asked), built once
    per periods and groups (``n`` is a keyword of the bound, so shapes that differ in ``n`` share it)."""
    b = multi_level(list(periods), list(groups))
    return _random_grouping(b) if random_grouping else b


@functools.lru_cache(maxsize=16)
def _symbolic_bound(levels: int, random_grouping: bool) -> Bound:
    b = multi_level(*s.symbolic_hierarchy(levels))
    return _random_grouping(b) if random_grouping else b


def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {value!r}")
    return float(value)


def _divisors(k: int) -> list[int]:
    return [d for d in range(1, k + 1) if k % d == 0]


def hierarchies(
    max_levels: int = 4,
    *,
    min_levels: int = 1,
    min_workers: int = 1,
    max_workers: int = 64,
    max_first_period: int = 10,
    max_period_factor: int = 5,
    equal_groups: bool = False,
) -> st.SearchStrategy[Shape]:
    """Hierarchy shapes (:class:`bounds.Shape`) of ``min_levels`` to ``max_levels`` levels.

    ``P_1`` is drawn in ``1 .. max_first_period`` and each next period is the previous one
    times ``1 .. max_period_factor`` (so the periods nest, and may be equal); ``n`` in
    ``min_workers .. max_workers``; each group count is at most the finer one, and with
    ``equal_groups`` divides it (the equal nested groups of Lemma 2's random grouping,
    which also needs ``min_workers >= 2``). Draws shrink to one level, every period 1,
    ``n = min_workers`` and every count 1.

    Raises:
        ValueError: for a bound that is not a positive integer, or ``min_*`` above ``max_*``.

    Example:
        >>> from hypothesis import find
        >>> find(hierarchies(), lambda h: h.M == 3 and h.groups[0] == h.n > 1)  # N = n
        Shape(n=2, periods=(1, 1, 1), groups=(2, 1))
        >>> find(hierarchies(equal_groups=True, min_workers=2), lambda h: h.M == 2 and h.groups[0] > 1)
        Shape(n=2, periods=(1, 1), groups=(2,))
    """
    max_levels = _positive_int("max_levels", max_levels)
    min_levels = _positive_int("min_levels", min_levels)
    min_workers = _positive_int("min_workers", min_workers)
    max_workers = _positive_int("max_workers", max_workers)
    max_first_period = _positive_int("max_first_period", max_first_period)
    max_period_factor = _positive_int("max_period_factor", max_period_factor)
    if min_levels > max_levels:
        raise ValueError(f"min_levels must be at most max_levels, got {min_levels} > {max_levels}")
    if min_workers > max_workers:
        raise ValueError(f"min_workers must be at most max_workers, got {min_workers} > {max_workers}")

    @st.composite
    def draw_hierarchy(draw: st.DrawFn) -> Shape:
        M = draw(st.integers(min_levels, max_levels))
        periods = [draw(st.integers(1, max_first_period))]
        for _ in range(M - 1):
            periods.append(periods[-1] * draw(st.integers(1, max_period_factor)))
        n = draw(st.integers(min_workers, max_workers))
        groups: list[int] = []
        finer = n
        for _ in range(M - 1):
            finer = draw(st.sampled_from(_divisors(finer)) if equal_groups else st.integers(1, finer))
            groups.append(finer)
        return Shape(n=n, periods=tuple(periods), groups=tuple(groups))

    return draw_hierarchy()


@functools.lru_cache(maxsize=64)
def constants(
    levels: int | None = None,
    *,
    max_L: float = 10.0,
    max_sigma: float = 10.0,
    max_eps: float = 10.0,
    max_F0: float = 100.0,
    min_F0: float = 0.0,
    max_T: int = 10**6,
) -> st.SearchStrategy[dict[str, Any]]:
    """The problem constants of a bound: a dict with ``L`` (A1), ``sigma`` (A2), ``eps``
    (A3), ``F0`` and the horizon ``T``.

    ``eps`` is one number when ``levels`` is ``None`` (the total divergence, as local SGD
    and the random-grouping bounds take it) and a list of ``levels`` numbers otherwise (one
    per level, finest first, as :func:`bounds.multi_level` takes it). ``L`` is drawn in
    ``[0.01, max_L]``, ``sigma``, ``eps`` and ``F0`` from 0 up, ``T`` from 1 up (any ``T``,
    not only multiples of the top period: docs/theory.md §5.5 Any horizon). Pass ``min_F0 > 0``
    for :func:`bounds.optimal_lr`, which needs ``F0 > 0``.

    Raises:
        ValueError: for a bound that is not a finite number of the right sign.

    Example:
        >>> from hypothesis import find
        >>> find(constants(levels=2), lambda c: True)
        {'L': 1.0, 'sigma': 0.0, 'F0': 0.0, 'T': 1, 'eps': [0.0, 0.0]}
    """
    if levels is not None:
        levels = _positive_int("levels", levels)
    max_L = _positive_float("max_L", max_L)
    if max_L < 0.01:
        raise ValueError(f"max_L must be at least 0.01, got {max_L}")
    max_sigma = _positive_float("max_sigma", max_sigma, allow_zero=True)
    max_eps = _positive_float("max_eps", max_eps, allow_zero=True)
    max_F0 = _positive_float("max_F0", max_F0, allow_zero=True)
    min_F0 = _positive_float("min_F0", min_F0, allow_zero=True)
    if min_F0 > max_F0:
        raise ValueError(f"min_F0 must be at most max_F0, got {min_F0} > {max_F0}")
    max_T = _positive_int("max_T", max_T)
    eps = st.floats(0.0, max_eps)
    return st.fixed_dictionaries({
        "L": st.floats(0.01, max_L),
        "sigma": st.floats(0.0, max_sigma),
        "F0": st.floats(min_F0, max_F0),
        "T": st.integers(1, max_T),
        "eps": eps if levels is None else st.lists(eps, min_size=levels, max_size=levels),
    })


def step_sizes(bound: Bound, *, min_fraction: float = 1e-4, boundary: bool = False,
               **values: Any) -> st.SearchStrategy[float]:
    """Step sizes ``gamma`` strictly inside every condition of ``bound`` at ``values``.

    ``gamma = u * gamma_max`` with ``u`` in ``[min_fraction, 1)`` and ``gamma_max`` from
    :func:`bounds.largest_step_size` (``1/L`` when every period is 1), at most
    ``(1 - 1e-12) gamma_max``, so every drawn ``gamma`` meets the conditions, in exact
    arithmetic too (as :func:`bounds.time_to_target.steps_to_target` decides them); with ``boundary`` the largest
    step size itself is drawn too (the tight case of docs/theory.md §7.2 Remark:
    tightness is at ``gamma = 1/L``).

    Args:
        bound: any :class:`~bounds.Bound`.
        min_fraction: the smallest ``gamma / gamma_max``, in ``(0, 1)``; tiny step sizes
            make ``2 F0 / (gamma T)`` huge.
        boundary: also draw ``gamma_max``.
        **values: keyword values of ``bound`` other than ``gamma`` (those of the
            conditions are needed: ``L`` and the periods).

    Raises:
        ValueError: for a given ``gamma``, ``min_fraction`` outside ``(0, 1)``, or values
            :func:`bounds.largest_step_size` rejects.

    Example:
        >>> from hypothesis import find
        >>> from bounds import two_level
        >>> find(step_sizes(two_level(), L=1, I=5, G=50, boundary=True), lambda g: g > 0.01)
        0.010060545457319171
    """
    if "gamma" in values:
        raise ValueError("step_sizes draws gamma: do not pass it")
    if isinstance(min_fraction, bool) or not isinstance(min_fraction, (int, float)) or not 0 < min_fraction < 1:
        raise ValueError(f"min_fraction must be a number in (0, 1), got {min_fraction!r}")
    gamma_max, _ = largest_step_size(bound, **values)
    # gamma_max is the limit computed in floats, a few roundings from the exact one (either
    # side): draws stay a relative 1e-12 below it, so they are inside in exact arithmetic too
    below = gamma_max * (1.0 - 1e-12)
    inside = st.floats(float(min_fraction), 1.0, exclude_max=True).map(lambda u: min(u * gamma_max, below))
    return st.one_of(inside, st.just(gamma_max)) if boundary else inside


@dataclass(frozen=True)
class TheoremInstance:
    """A ready-to-evaluate instance of Theorem 2 (docs/theory.md §4.2), drawn by
    :func:`theorem_instances`.

    Attributes:
        shape: the drawn hierarchy's :class:`bounds.Shape`.
        values: every keyword of :attr:`bound`, ``gamma`` included (inside the condition).
        random_grouping: whether :attr:`bound` has Lemma 2's random-grouping shares (then
            ``values["eps"]`` is the total divergence, else one value per level).
        symbolic: whether :attr:`bound` is the symbolic ``M``-level bound (periods and
            counts as keywords ``P_1 ..``, ``K_1 ..``; compiled once per depth, so faster
            over many examples) rather than ``shape.bound()``.
    """

    shape: Shape
    values: dict[str, Any] = field(hash=False)
    random_grouping: bool = False
    symbolic: bool = False

    @property
    def periods(self) -> tuple[int, ...]:
        """``(P_1, ..., P_M)``."""
        return self.shape.periods

    @property
    def groups(self) -> tuple[int, ...]:
        """``(K_1, ..., K_{M-1})``."""
        return self.shape.groups

    @property
    def n(self) -> int:
        """The number of workers."""
        return self.shape.n

    @property
    def bound(self) -> Bound:
        """The bound :attr:`values` are for (cached)."""
        if self.symbolic:
            return _symbolic_bound(self.shape.M, self.random_grouping)
        return _numeric_bound(self.shape.periods, self.shape.groups, self.random_grouping)

    def local_values(self, period: int, eps: float | None = None) -> dict[str, Any]:
        """Keywords for :func:`bounds.local_sgd` with period ``period`` and the same
        ``gamma, L, sigma, n, T, F0``; ``eps`` defaults to the total divergence of a
        random-grouping instance (a per-level instance has none: pass it).

        ``gamma`` also satisfies local SGD's condition at any period ``P_l`` of the
        hierarchy: ``P_l (P_l - 1)`` is one term of the period sum of the H-SGD condition.
        """
        if eps is None:
            if not self.random_grouping:
                raise ValueError("eps must be given for an instance with per-level eps (random_grouping=False)")
            eps = self.values["eps"]
        keep = ("gamma", "L", "sigma", "n", "T", "F0")
        return {**{k: self.values[k] for k in keep}, "P": period, "eps": eps}


def theorem_instances(
    max_levels: int = 4,
    *,
    min_levels: int = 1,
    random_grouping: bool = False,
    symbolic: bool = False,
    boundary: bool = False,
    hierarchy: st.SearchStrategy[Shape] | None = None,
    constant: st.SearchStrategy[dict[str, Any]] | None = None,
) -> st.SearchStrategy[TheoremInstance]:
    """Instances of Theorem 2: a hierarchy, constants and a step size inside the condition,
    as a :class:`TheoremInstance` whose ``bound.evaluate(**values)`` is the theorem's bound.

    With ``random_grouping`` the groups are equal and nested, ``n >= 2``, the bound is
    ``bounds.random_grouping(bounds.multi_level(periods, groups))`` and ``eps`` is one total
    divergence (docs/theory.md §3.2 Nested random grouping); otherwise the groups may be unequal and ``eps``
    lists one value per level.

    Args:
        max_levels, min_levels: the depth range, passed to :func:`hierarchies`.
        random_grouping: draw for the random-grouping bound.
        symbolic: evaluate through the symbolic ``M``-level bound (see
            :class:`TheoremInstance`).
        boundary: also draw ``gamma`` at the largest step size (see :func:`step_sizes`).
        hierarchy: a strategy of :class:`bounds.Shape` replacing the default (with random
            grouping its draws must have equal groups and ``n >= 2``).
        constant: a strategy replacing :func:`constants` (its ``eps`` must match the above).

    Example:
        >>> from hypothesis import given, settings
        >>> import bounds
        >>> @settings(max_examples=20, deadline=None)
        ... @given(theorem_instances(max_levels=3, random_grouping=True))
        ... def check_sandwich(inst):
        ...     hsgd = inst.bound.evaluate(**inst.values)
        ...     low = bounds.local_sgd().evaluate(**inst.local_values(inst.periods[0]))
        ...     high = bounds.local_sgd().evaluate(**inst.local_values(inst.periods[-1]))
        ...     assert low <= hsgd * (1 + 1e-12) and hsgd <= high * (1 + 1e-12)
        >>> check_sandwich()
    """
    if hierarchy is None:
        hierarchy = hierarchies(max_levels, min_levels=min_levels, equal_groups=random_grouping,
                                min_workers=2 if random_grouping else 1)

    @st.composite
    def draw_instance(draw: st.DrawFn) -> TheoremInstance:
        h = draw(hierarchy)
        if random_grouping and not (h.equal_groups and h.n >= 2):
            raise ValueError(f"random_grouping needs equal nested groups and n >= 2; the hierarchy strategy drew {h}")
        c = dict(draw(constant if constant is not None else constants(None if random_grouping else h.M)))
        values: dict[str, Any] = {"L": c["L"], "sigma": c["sigma"], "n": h.n, "T": c["T"], "F0": c["F0"],
                                  "eps": c["eps"]}
        structure = h.symbol_values()
        if symbolic:
            values.update(structure)
        # The symbolic bound has the numeric one's condition and is compiled once per depth:
        # the numeric bound is only built when an instance's ``bound`` is used.
        values["gamma"] = draw(step_sizes(_symbolic_bound(h.M, random_grouping), boundary=boundary,
                                          L=values["L"], **structure))
        return TheoremInstance(shape=h, values=values, random_grouping=random_grouping, symbolic=symbolic)

    return draw_instance()
