"""A straightforward per-worker H-SGD loop: the reference the vectorised engine is checked against.

It follows docs/theory.md §1.2 Algorithm literally, one worker and one group at a time, for
:class:`~empirical.problems.HeterogeneousNonconvex`. Each seed has its own generator
(:class:`~empirical.streams.SeedStreams`) and each worker draws its own ``d`` normals in turn,
which is the same stream the engine draws as one block (so trajectories agree to rounding). Slow on purpose; used by the tests and
by ``hsgd bench engine`` as the baseline.

With data-size weights or partial participation (docs/theory.md §10.1 Setting) it follows the
same rules as :func:`empirical.simulate`, literally:
:func:`round_weights` draws each round's participants group by group from each seed's own
participation stream (:func:`~empirical.streams.participation_streams`), only participants
step, a group below the top averages its participants with their weights, and the top
gives everyone ``u = sum_j w_j x_j``. A round is ``P_1`` steps with
``participation_mode="local_round"`` (the default, the authors' code: below the top every
member then receives its group's mean) and ``P_M`` steps with ``"global_round"`` (below the
top only the participants receive it).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.hierarchy import Hierarchy
from empirical.problems import HeterogeneousNonconvex
from empirical.streams import SeedStreams, participation_streams

__all__ = ["reference_run", "round_weights"]


def _level1_groups(hierarchy: Hierarchy) -> list[NDArray[np.intp]]:
    """Members of each level-1 group (everyone when ``M = 1``), in increasing worker index."""
    if hierarchy.M == 1:
        return [np.arange(hierarchy.n)]
    lab = hierarchy.levels[0]
    return [np.flatnonzero(lab == q) for q in range(int(lab.max()) + 1)]


def round_weights(hierarchy: Hierarchy, rounds: int, seeds: int = 1, seed: int = 0,
                  weights: ArrayLike | None = None, participation: int | None = None
                  ) -> list[NDArray[np.float64]]:
    """The sampled system's weights ``w`` of each round, ``rounds`` arrays ``(seeds, n)``, worker
    by worker (docs/theory.md §10.1 Setting).

    ``p_j = weights_j / sum weights`` (``1/n`` each for ``None``). Without participation every
    round has ``w = p``. With ``S = participation``, at each round seed ``s`` draws ``n`` uniform
    keys from its participation stream (``generator.random(n)``, key ``j`` for worker ``j``)
    and in every level-1 group ``q`` the ``S`` members with the smallest keys (ties to the
    lower index) take part with ``w_j = p_q p_j / sum_{i sampled in q} p_i``; the others get 0.
    No input checks (the engine's are the checked ones).

    Example:
        >>> from empirical import Hierarchy
        >>> w = round_weights(Hierarchy.two_level(4, 2, 1, 2, grouping="contiguous"), rounds=1, participation=1)[0]
        >>> w.tolist() in ([[0.5, 0, 0.5, 0]], [[0.5, 0, 0, 0.5]], [[0, 0.5, 0.5, 0]], [[0, 0.5, 0, 0.5]])
        True
    """
    n = hierarchy.n
    p = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    if participation is None:
        return [np.tile(p, (seeds, 1)) for _ in range(rounds)]
    generators = participation_streams(seed, seeds).generators
    groups = _level1_groups(hierarchy)
    out = []
    for _ in range(rounds):
        w = np.zeros((seeds, n))
        for s in range(seeds):
            keys = generators[s].random(n)
            for members in groups:
                chosen = members[np.argsort(keys[members], kind="stable")[:participation]]
                p_q = sum(p[j] for j in members)
                p_sampled = sum(p[j] for j in chosen)
                for j in chosen:
                    w[s, j] = p_q * p[j] / p_sampled
        out.append(w)
    return out


def _members(hierarchy: Hierarchy) -> dict[int, list[NDArray[np.intp]]]:
    members = {l: [np.flatnonzero(lab == g) for g in range(int(lab.max()) + 1)]
               for l, lab in enumerate(hierarchy.levels, start=1)}
    members[hierarchy.M] = [np.arange(hierarchy.n)]
    return members


def reference_run(problem: HeterogeneousNonconvex, hierarchy: Hierarchy, lr: float, steps: int, seeds: int = 1,
                  seed: int = 0, weights: Sequence[float] | NDArray[np.float64] | None = None,
                  participation: int | None = None, participation_mode: str = "local_round"
                  ) -> NDArray[np.float64]:
    """Final models ``(seeds, n, d)`` of H-SGD run worker by worker (no recording).

    ``weights``, ``participation`` and ``participation_mode`` as in :func:`empirical.simulate`;
    ``weights`` and ``participation`` both ``None`` runs the unweighted algorithm with plain means.
    """
    generators = SeedStreams(seed, seeds).generators
    scale = problem.sigma / np.sqrt(problem.d)
    n, d = problem.n, problem.d
    x = [[problem.default_x0().astype(float).copy() for _ in range(n)] for _ in range(seeds)]
    members = _members(hierarchy)
    plain = weights is None and participation is None
    span = hierarchy.periods[0 if participation_mode == "local_round" else -1]  # steps per draw
    w = None if plain else round_weights(hierarchy, -(-steps // span), seeds, seed, weights, participation)
    for t in range(steps):
        for s in range(seeds):
            for j in range(n):
                u = x[s][j] - problem.c[j]
                grad = problem.a * (x[s][j] - problem.b[j]) + problem.lam * 2 * u / (1 + u * u) ** 2
                if problem.sigma > 0:
                    grad = grad + generators[s].standard_normal(d) * scale  # drawn by every worker
                if plain or w[t // span][s, j] > 0:  # only participants step
                    x[s][j] = x[s][j] - lr * grad
        level = hierarchy.level_to_aggregate(t)
        if not level:
            continue
        for s in range(seeds):
            if plain:
                for group in members[level]:
                    mean = sum(x[s][j] for j in group) / len(group)
                    for j in group:
                        x[s][j] = mean.copy()
                continue
            ws = w[t // span][s]
            if level == hierarchy.M:  # the round ends: everyone receives u = sum_j w_j x_j
                u = sum(ws[j] * x[s][j] for j in range(n))
                for j in range(n):
                    x[s][j] = u.copy()
                continue
            for group in members[level]:
                mean = sum(ws[j] * x[s][j] for j in group) / sum(ws[j] for j in group)
                for j in group:
                    # "local_round": the round ends, every member receives the group's mean;
                    # "global_round": participants only, the others keep their model
                    if participation_mode == "local_round" or ws[j] > 0:
                        x[s][j] = mean.copy()
    return np.array(x)
