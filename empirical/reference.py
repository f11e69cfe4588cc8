"""A straightforward per-worker H-SGD loop: the reference the vectorised engine is checked against.

It follows docs/theory.md §1.2 Algorithm literally, one worker and one group at a time, for
:class:`~empirical.problems.HeterogeneousNonconvex`. Each seed has its own generator
(:class:`~empirical.streams.SeedStreams`) and each worker draws its own ``d`` normals in turn,
which is the same stream the engine draws as one block (so trajectories agree to rounding). Slow on purpose; used by the tests and
by ``hsgd bench engine`` as the baseline.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from empirical.hierarchy import Hierarchy
from empirical.problems import HeterogeneousNonconvex
from empirical.streams import SeedStreams

__all__ = ["reference_run"]


def reference_run(problem: HeterogeneousNonconvex, hierarchy: Hierarchy, lr: float, steps: int, seeds: int = 1,
                  seed: int = 0) -> NDArray[np.float64]:
    """Final models ``(seeds, n, d)`` of H-SGD run worker by worker (no recording)."""
    generators = SeedStreams(seed, seeds).generators
    scale = problem.sigma / np.sqrt(problem.d)
    n, d = problem.n, problem.d
    x = [[problem.default_x0().astype(float).copy() for _ in range(n)] for _ in range(seeds)]
    members = {l: [np.flatnonzero(lab == g) for g in range(int(lab.max()) + 1)]
               for l, lab in enumerate(hierarchy.levels, start=1)}
    members[hierarchy.M] = [np.arange(n)]
    for t in range(steps):
        for s in range(seeds):
            for j in range(n):
                u = x[s][j] - problem.c[j]
                grad = problem.a * (x[s][j] - problem.b[j]) + problem.lam * 2 * u / (1 + u * u) ** 2
                if problem.sigma > 0:
                    grad = grad + generators[s].standard_normal(d) * scale
                x[s][j] = x[s][j] - lr * grad
        level = hierarchy.level_to_aggregate(t)
        if level:
            for s in range(seeds):
                for group in members[level]:
                    mean = sum(x[s][j] for j in group) / len(group)
                    for j in group:
                        x[s][j] = mean.copy()
    return np.array(x)
