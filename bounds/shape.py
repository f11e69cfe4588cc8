"""The shape of a hierarchy: ``n`` workers, periods ``P_1 | ... | P_M`` and group counts
``K_0 = n >= K_1 >= ... >= K_M = 1`` (docs/theory.md §1.1 Workers, hierarchy, periods).

One value type for every package: the bounds read a theorem off it (:meth:`Shape.bound`), the
simulator's :class:`empirical.Hierarchy` (which adds the grouping labels) has one
(:attr:`empirical.Hierarchy.shape`), as do a theorem's numbers (:attr:`bounds.Instance.shape`),
the advisor's designs (:mod:`figures.advise`) and the hypothesis draws
(:func:`bounds.strategies.hierarchies`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy as sp

from bounds.bound import Bound
from bounds.multi_level import multi_level
from bounds.statement import Theorem
from bounds.theorems.theorem2 import THEOREM_2
from bounds.validation import check_structure_numbers

__all__ = ["Shape"]


@dataclass(frozen=True)
class Shape:
    """A hierarchy's shape, numbers only: ``n`` workers, periods ``(P_1, ..., P_M)`` and the
    intermediate group counts ``(K_1, ..., K_{M-1})``, both finest first, in the order of
    :func:`bounds.multi_level` (which also takes sympy symbols; a shape does not).

    One level (``groups = ()``) is local SGD, minibatch SGD when its period is 1; two levels
    are ``periods = (I, G)`` and ``groups = (N,)``.

    Attributes:
        n: the number of workers ``K_0``, a positive integer.
        periods: ``(P_1, ..., P_M)``, positive integers, each dividing the next.
        groups: ``(K_1, ..., K_{M-1})``, positive integers, none above the finer one (nor ``n``).

    Raises:
        ValueError: on construction, naming the entry that is not a positive integer, the
            periods that do not nest or the counts that grow from fine to coarse (the rules of
            :func:`bounds.validation.check_structure_numbers`, and ``K_1 <= n``).

    Example:
        >>> h = Shape(n=64, periods=(5, 25, 100), groups=(16, 4))
        >>> h.M, h.counts, h.equal_groups
        (3, (64, 16, 4, 1), True)
        >>> round(h.bound().evaluate(gamma=0.004, L=1, sigma=1, n=h.n, T=10000, F0=10,
        ...                          eps=[1, 0.5, 0.25]), 6)
        0.533759
        >>> Shape(n=8, periods=(2, 5), groups=(4,))
        Traceback (most recent call last):
        ...
        ValueError: periods[1] = 5 must be a multiple of periods[0] = 2 (periods must nest)
    """

    n: int
    periods: tuple[int, ...]
    groups: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        periods, groups = _as_tuple("periods", self.periods), _as_tuple("groups", self.groups)
        if not periods:
            raise ValueError("periods must list at least one period (P_1 for local SGD)")
        if len(groups) != len(periods) - 1:
            raise ValueError(f"groups must list {len(periods) - 1} group counts for {len(periods)} periods, "
                             f"got {len(groups)}")
        for kind, seq in (("periods", periods), ("groups", groups)):
            for i, value in enumerate(seq):
                if isinstance(value, sp.Basic) and not value.is_number:
                    raise ValueError(f"{kind}[{i}] must be a number in a shape, got the symbol {value!r} "
                                     "(bounds.multi_level takes symbols)")
        check_structure_numbers(periods, groups)
        n = _positive_int("n", self.n)
        if groups and int(groups[0]) > n:
            raise ValueError(f"groups[0] = {groups[0]} must be at most n = {n} (counts cannot grow from fine to "
                             "coarse)")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "periods", tuple(int(p) for p in periods))
        object.__setattr__(self, "groups", tuple(int(k) for k in groups))

    @property
    def M(self) -> int:
        """The number of levels."""
        return len(self.periods)

    @property
    def counts(self) -> tuple[int, ...]:
        """``(K_0 = n, K_1, ..., K_{M-1}, K_M = 1)``."""
        return (self.n, *self.groups, 1)

    @property
    def equal_groups(self) -> bool:
        """Whether every count divides the finer one (equal nested groups are possible: Lemma 2's
        random grouping, docs/theory.md §3.2)."""
        c = self.counts
        return all(c[l - 1] % c[l] == 0 for l in range(1, len(c)))

    def symbol_values(self) -> dict[str, int]:
        """The periods and intermediate counts by the names of :func:`bounds.symbols.symbolic_hierarchy`
        (``P_1 .. P_M``, ``K_1 .. K_{M-1}``): the keywords of a theorem applied to a symbolic
        hierarchy of this depth.

        Example:
            >>> Shape(8, (2, 6), (4,)).symbol_values()
            {'P_1': 2, 'P_2': 6, 'K_1': 4}
        """
        return {**{f"P_{l}": P for l, P in enumerate(self.periods, start=1)},
                **{f"K_{l}": K for l, K in enumerate(self.groups, start=1)}}

    def bound(self, theorem: Theorem = THEOREM_2) -> Bound:
        """``theorem`` applied to this shape: ``bounds.multi_level(periods, groups, theorem=theorem)``
        (``n`` stays one of the bound's keywords; pass ``n=shape.n``)."""
        return multi_level(list(self.periods), list(self.groups), theorem=theorem)


def _positive_int(name: str, value: Any) -> int:
    """``value`` as an ``int`` if it is a positive integer (a float or sympy number with an
    integer value too), else ``ValueError`` naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, sp.Basic)) \
            or (isinstance(value, sp.Basic) and not (value.is_number and value.is_extended_real)):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not (abs(value) < 2**53 and float(value) == int(value) and value >= 1):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_tuple(name: str, values: Any) -> tuple[Any, ...]:
    """``values`` as a tuple, or ``ValueError`` naming ``name`` if it is not a sequence."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) and not isinstance(values, np.ndarray):
        raise ValueError(f"{name} must be a sequence of positive integers, finest first, got {values!r}")
    return tuple(values)
