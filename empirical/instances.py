"""The numbers Theorem 2 is evaluated at for a run: a problem's constants, its hierarchy, the
step size, the horizon and the start, as one :class:`bounds.instance.Instance`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bounds.instance import Instance
from empirical.hierarchy import Hierarchy

__all__ = ["instance_of"]


def instance_of(problem: Any, hierarchy: Hierarchy, gamma: float, T: int, x0: ArrayLike | None = None
                ) -> tuple[Instance, Any]:
    """Theorem 2's instance for running ``problem`` on ``hierarchy`` at ``gamma`` for ``T`` steps.

    ``F0 = f(x0) - f*`` with the problem's ``f*`` (exact, or a certified lower bound, which
    only makes ``F0`` larger), the constants of ``problem.constants(hierarchy.levels)`` (A3's
    per-level ``eps`` for this grouping). Returns the instance and the
    :class:`~empirical.constants.Constants` (whose labels say which values are estimated).

    Example:
        >>> from empirical import HeterogeneousNonconvex, Hierarchy
        >>> p = HeterogeneousNonconvex(n=8, d=2)
        >>> x, k = instance_of(p, Hierarchy.two_level(8, 2, 2, 10), 0.001, 100)
        >>> x.periods, x.counts, x.L
        ((2, 10), (8, 2, 1), 9.0)
    """
    k = problem.constants(hierarchy.levels)
    start = problem.default_x0() if x0 is None else np.asarray(x0, dtype=float)
    F0 = float(problem.loss(np.broadcast_to(np.asarray(start, dtype=float), (problem.d,)))) - k.f_star.value
    return Instance(gamma=float(gamma), L=k.L.value, sigma=k.sigma.value, F0=max(F0, 0.0), n=problem.n, T=int(T),
                    periods=tuple(int(p) for p in hierarchy.periods),
                    counts=hierarchy.shape.counts,
                    eps=tuple(e.value for e in k.eps_levels)), k
