"""Hierarchies of workers: nested groupings and the periods at which each level averages.

docs/theory.md §1.1 Workers, hierarchy, periods: ``n`` workers, levels ``l = 1..M`` with ``K_l`` groups (``K_0 = n``,
``K_M = 1``), each level-``l`` group a union of level-``(l-1)`` groups, and periods
``P_1 | P_2 | ... | P_M``. After step ``t`` the highest level ``l`` with ``P_l | t+1``
averages (inside its groups); lower levels are implied.

Groupings:

* ``"contiguous"``: workers ``0..`` in order, consecutive blocks (sizes differ by at most 1);
* ``"random"``: the same after a random permutation (seeded);
* ``"homogeneous"``: similar workers together (needs the problem): workers ordered by the
  leading principal direction of their gradient offsets at the start, then contiguous;
* ``"heterogeneous"``: each group as mixed as possible (needs the problem): the same order,
  dealt round-robin into the level-1 groups;
* an explicit label array (two levels) or list of label arrays, finest first (any levels).

Coarser levels are always unions of consecutive level-1 groups, so every grouping nests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from bounds.shape import Shape

__all__ = ["Hierarchy", "GROUPINGS", "check_nesting"]

GROUPINGS = ("random", "contiguous", "homogeneous", "heterogeneous")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float, np.floating)) \
            or float(value) != int(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_nesting(periods: tuple[int, ...]) -> None:
    """Raise unless ``periods`` lists at least one period and each divides the next
    (docs/theory.md §1.1: ``P_1 | P_2 | ... | P_M``)."""
    if not periods:
        raise ValueError("periods must list at least one period")
    for i in range(1, len(periods)):
        if periods[i] % periods[i - 1]:
            raise ValueError(f"periods[{i}] = {periods[i]} must be a multiple of periods[{i - 1}] = "
                             f"{periods[i - 1]} (periods must nest)")


@dataclass(frozen=True, eq=False)  # label arrays: identity, not elementwise, equality
class Hierarchy:
    """An ``M``-level hierarchy of ``n`` workers.

    Attributes:
        n: number of workers.
        periods: ``(P_1, ..., P_M)``, each dividing the next.
        levels: ``M - 1`` label arrays (finest first); ``levels[l-1][j]`` is worker ``j``'s
            level-``l`` group. Empty for local SGD.
        grouping: how the labels were made (for reports).
    """

    n: int
    periods: tuple[int, ...]
    levels: tuple[NDArray[np.intp], ...] = ()
    grouping: str = "contiguous"
    order: NDArray[np.intp] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = _positive_int("n", self.n)
        periods = tuple(_positive_int(f"periods[{i}]", p) for i, p in enumerate(self.periods))
        check_nesting(periods)
        if len(self.levels) != len(periods) - 1:
            raise ValueError(f"a hierarchy with {len(periods)} periods needs {len(periods) - 1} "
                             f"groupings, got {len(self.levels)}")
        levels = tuple(validate_levels(self.levels, n))
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "periods", periods)
        object.__setattr__(self, "levels", levels)
        # Sorting by (coarsest label, ..., finest label) makes every level's groups contiguous.
        keys = [lab for lab in reversed(levels)] or [np.zeros(n, dtype=np.intp)]
        object.__setattr__(self, "order", np.lexsort(tuple(reversed(keys))))

    @property
    def M(self) -> int:
        """Number of levels."""
        return len(self.periods)

    @property
    def group_counts(self) -> tuple[int, ...]:
        """``(K_0 = n, K_1, ..., K_M = 1)``, read off the labels."""
        return (self.n, *(int(lab.max()) + 1 for lab in self.levels), 1)

    @cached_property
    def shape(self) -> Shape:
        """The hierarchy's :class:`bounds.Shape` (``n``, periods, :attr:`group_counts` ``K_1 ..
        K_{M-1}``) without the labels: ``h.shape.bound(theorem)`` is the theorem at this hierarchy.

        Example:
            >>> Hierarchy.multi_level(8, [1, 2, 4], [4, 2]).shape
            Shape(n=8, periods=(1, 2, 4), groups=(4, 2))
        """
        return Shape(self.n, self.periods, self.group_counts[1:-1])

    def level_to_aggregate(self, step: int) -> int:
        """The level that averages after step ``step`` (0-based): the highest ``l`` with
        ``P_l | step + 1``, or 0 when none does."""
        for l in range(self.M, 0, -1):
            if (step + 1) % self.periods[l - 1] == 0:
                return l
        return 0

    def describe(self) -> str:
        """One line for reports: the kind, ``n``, the periods and the group counts with the grouping."""
        counts = ",".join(map(str, self.group_counts[1:-1]))
        kind = "local SGD" if self.M == 1 else f"{self.M}-level H-SGD"
        groups = f", groups {counts} ({self.grouping})" if counts else ""
        return f"{kind}: n={self.n}, periods {','.join(map(str, self.periods))}{groups}"

    def every_period(self, P: int) -> Hierarchy:
        """This grouping with every period ``P``: local SGD with period ``P`` whose partial
        participation samples from this hierarchy's level-1 groups, the comparator of
        docs/theory.md §10.4 (with everyone taking part it is plain local SGD).

        Example:
            >>> h = Hierarchy.multi_level(8, [2, 6], [2], grouping="contiguous")
            >>> h.every_period(6).periods, [lab.tolist() for lab in h.every_period(6).levels]
            ((6, 6), [[0, 0, 0, 0, 1, 1, 1, 1]])
        """
        return Hierarchy(n=self.n, periods=(P,) * self.M, levels=self.levels, grouping=self.grouping)

    @classmethod
    def local_sgd(cls, n: int, P: int) -> Hierarchy:
        """Local SGD: all ``n`` workers average every ``P`` steps (docs/theory.md §4.3 Local SGD, ``M = 1``).

        Example:
            >>> Hierarchy.local_sgd(8, 4).describe()
            'local SGD: n=8, periods 4'
        """
        return cls(n=n, periods=(P,), levels=(), grouping="none")

    @classmethod
    def two_level(cls, n: int, N: int, I: int, G: int, grouping: str | ArrayLike = "random", *, seed: int = 0,
                  problem: Any = None) -> Hierarchy:
        """Two-level H-SGD: ``N`` groups average every ``I`` steps, everyone every ``G`` steps.

        Args:
            n, N, I, G: workers, groups, local and global period (``I | G``, ``N <= n``).
            grouping: one of :data:`GROUPINGS` or an array of ``n`` group labels.
            seed: seed of the ``"random"`` grouping.
            problem: the problem, needed by ``"homogeneous"`` and ``"heterogeneous"``.

        Example:
            >>> h = Hierarchy.two_level(8, 2, 2, 4, grouping="contiguous")
            >>> h.levels[0].tolist(), h.level_to_aggregate(1), h.level_to_aggregate(3)
            ([0, 0, 0, 0, 1, 1, 1, 1], 1, 2)
        """
        n, N = _positive_int("n", n), _positive_int("N", N)
        I, G = _positive_int("I", I), _positive_int("G", G)
        if G % I:
            raise ValueError(f"G must be a multiple of I (got G = {G}, I = {I})")
        if N > n:
            raise ValueError(f"N must be at most n (got N = {N}, n = {n})")
        levels = ([np.asarray(grouping)] if not isinstance(grouping, str)
                  else _make_levels(n, [N], grouping, seed, problem))
        if not isinstance(grouping, str) and int(np.max(levels[0])) + 1 != N:
            raise ValueError(f"grouping has {int(np.max(levels[0])) + 1} groups, but N = {N}")
        return cls(n=n, periods=(I, G), levels=tuple(levels),
                   grouping=grouping if isinstance(grouping, str) else "explicit")

    @classmethod
    def multi_level(cls, n: int, periods: Sequence[int], groups: Sequence[int],
                    grouping: str | Sequence[ArrayLike] = "random", *, seed: int = 0, problem: Any = None) -> Hierarchy:
        """``M``-level H-SGD with periods ``[P_1, ..., P_M]`` and group counts
        ``groups = [K_1, ..., K_{M-1}]`` (both finest first, in the order of
        :func:`bounds.multi_level`).

        Example:
            >>> h = Hierarchy.multi_level(8, [1, 2, 4], [4, 2], grouping="contiguous")
            >>> [lab.tolist() for lab in h.levels], h.group_counts
            ([[0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 0, 0, 1, 1, 1, 1]], (8, 4, 2, 1))
        """
        n = _positive_int("n", n)
        counts = [_positive_int(f"groups[{i}]", k) for i, k in enumerate(groups)]
        if len(counts) != len(periods) - 1:
            hint = (" (the order is Hierarchy.multi_level(n, periods, groups), as bounds.multi_level(periods, groups))"
                    if len(counts) == len(periods) + 1 else "")
            raise ValueError(f"groups must list {len(periods) - 1} group counts for {len(periods)} periods, got "
                             f"{len(counts)}{hint}")
        previous = n
        for i, k in enumerate(counts):
            if k > previous:
                raise ValueError(f"groups[{i}] = {k} must be at most {previous} (counts cannot grow from fine to coarse)")
            previous = k
        if isinstance(grouping, str):
            levels = _make_levels(n, counts, grouping, seed, problem)
            name = grouping
        else:
            levels, name = [np.asarray(lab) for lab in grouping], "explicit"
            if len(levels) != len(counts):
                raise ValueError(f"grouping must give {len(counts)} label arrays (one per intermediate level), "
                                 f"got {len(levels)}")
            for i, (lab, k) in enumerate(zip(levels, counts)):
                if lab.size and int(np.max(lab)) + 1 != k:
                    raise ValueError(f"grouping[{i}] has {int(np.max(lab)) + 1} groups, but groups[{i}] = {k}")
        return cls(n=n, periods=tuple(periods), levels=tuple(levels), grouping=name)


def _make_levels(n: int, counts: list[int], grouping: str, seed: int, problem: Any) -> list[NDArray[np.intp]]:
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {', '.join(GROUPINGS)} or label arrays, got {grouping!r}")
    if grouping == "contiguous":
        position = np.arange(n)
    elif grouping == "random":
        position = np.empty(n, dtype=np.intp)
        position[np.random.default_rng(seed).permutation(n)] = np.arange(n)
    else:
        if problem is None:
            raise ValueError(f"grouping {grouping!r} needs the problem: pass problem=...")
        if problem.n != n:
            raise ValueError(f"problem has n = {problem.n} workers, hierarchy n = {n}")
        position = np.empty(n, dtype=np.intp)
        position[_similarity_order(problem)] = np.arange(n)
    if not counts:
        return []
    if grouping == "heterogeneous":
        fine = position % counts[0]  # deal the ordered workers round-robin: mixed groups
    else:
        fine = position * counts[0] // n  # consecutive blocks of the order
    levels = [fine]
    for k_fine, k in zip(counts, counts[1:]):
        levels.append(levels[-1] * k // k_fine)  # unions of consecutive finer groups: nested
    return levels


def _similarity_order(problem: Any) -> NDArray[np.intp]:
    """Workers ordered along the leading principal direction of their gradient offsets at x0."""
    x0 = np.broadcast_to(np.asarray(problem.default_x0(), dtype=np.float64), (problem.n, problem.d))
    grads = problem.worker_grads(x0)
    offsets = grads - grads.mean(axis=0)
    if not np.any(offsets):
        return np.arange(problem.n)
    _, _, vt = np.linalg.svd(offsets, full_matrices=False)
    return np.argsort(offsets @ vt[0], kind="stable")
