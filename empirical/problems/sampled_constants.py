"""Constants estimated by sampling, labelled ``"estimated (...)"`` with how they were sampled:
A2's ``sigma`` (:func:`sampled_sigma`), ``eps`` and A3's per-level ``eps_l`` (:func:`sampled_divergences`,
size- or data-weighted) and all of them at once (:func:`sampled_constants`), for the problems
whose constants are not known in closed form (docs/theory.md §1.3 Assumptions A1-A3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.aggregation import SortedLevels
from empirical.constants import ESTIMATED, LOWER, Constant, Constants
from empirical.partitions import weighted_divergences
from empirical.streams import SeedStreams

__all__ = ["sampled_constants", "sampled_divergences", "sampled_sigma"]


def sampled_sigma(problem: Any, points: NDArray[np.float64], rng: np.random.Generator, *, draws: int = 32,
                  source: str = "sampled") -> Constant:
    """Estimate A2's ``sigma`` from samples, labelled ``"estimated (...)"`` with its sampling.

    ``sigma^2`` is the largest, over workers and ``points`` (``(P, d)``), of the mean of
    ``||g - grad F_j||^2`` over ``draws`` draws of ``problem.stochastic_grads`` (the points
    are the seed axis of a :class:`~empirical.streams.SeedStreams` seeded from ``rng``).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, problem.d)
    xs = np.broadcast_to(points[:, None, :], (points.shape[0], problem.n, problem.d)).copy()
    true = problem.worker_grads(xs)
    streams = SeedStreams(int(rng.integers(1 << 31)), points.shape[0])
    total = np.zeros(xs.shape[:2])
    buf = np.empty_like(xs)
    for _ in range(draws):
        problem.stochastic_grads(xs, streams, buf)
        buf -= true
        total += np.einsum("pjd,pjd->pj", buf, buf)
    value = float(np.sqrt((total / draws).max()))
    return Constant(value, ESTIMATED, f"largest per-worker mean of ||g - grad F_j||^2 over {draws} draws "
                                      f"at {points.shape[0]} {source} points")


def sampled_divergences(problem: Any, points: NDArray[np.float64], levels: list[NDArray[np.intp]], *,
                        source: str = "sampled", weights: ArrayLike | None = None
                        ) -> tuple[Constant, tuple[Constant, ...]]:
    """Estimate ``eps`` and A3's per-level ``eps_l`` from samples, labelled ``"estimated (...)"``.

    At every point of ``points`` (``(P, d)``, every worker evaluated there): ``eps^2`` is the
    largest ``(1/n) sum_j ||grad F_j - grad f||^2``, and ``eps_l^2`` is A3's form,
    ``sum_p (n_p/n) max_points div_p`` (each group's worst point on its own, docs/theory.md
    §1.3 Assumptions A1-A3), not the worst point of the weighted sum, which can be smaller.
    Maxima over finitely many points are at most the suprema: these are lower estimates.

    With ``weights`` (data weights ``p_j``, summing to 1) the same with ``1/n`` and ``n_q/n``
    replaced by ``p_j`` and the weight sums ``p_q`` (docs/theory.md §10.1 Setting, A3 with weights;
    :func:`empirical.partitions.weighted_divergences`);
    ``None`` (default) is the size-weighted form above.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, problem.d)
    P = points.shape[0]
    xs = np.broadcast_to(points[:, None, :], (P, problem.n, problem.d))
    grads = np.asarray(problem.worker_grads(xs), dtype=np.float64)
    if weights is not None:
        total, divs, group_weights = weighted_divergences(grads, levels, weights)
        where = f"at {P} {source} points"
        return (Constant(float(np.sqrt(total.max())), ESTIMATED, f"largest data-weighted divergence {where}"),
                tuple(Constant(float(np.sqrt(div.max(axis=0) @ pw)),
                               ESTIMATED, f"A3's data-weighted sum of per-group maxima {where}")
                      for div, pw in zip(divs, group_weights)))
    centred = grads - grads.mean(axis=1, keepdims=True)
    total_sq = float(np.einsum("pjd,pjd->p", centred, centred).max() / problem.n)
    sl = SortedLevels(levels, problem.n, validate=False)
    divs, _ = sl.group_divergences(grads[:, sl.order])
    level_sq = [float(div.max(axis=0) @ (sl.sizes[l] / problem.n)) for l, div in enumerate(divs, start=1)]
    where = f"at {P} {source} points"
    return (Constant(float(np.sqrt(total_sq)), ESTIMATED, f"largest divergence {where}"),
            tuple(Constant(float(np.sqrt(v)), ESTIMATED, f"A3's size-weighted sum of per-group maxima {where}")
                  for v in level_sq))


def sampled_constants(problem: Any, points: NDArray[np.float64], levels: list[NDArray[np.intp]], L: Constant,
                      rng: np.random.Generator, noise_points: int = 64, draws: int = 32,
                      source: str = "sampled") -> Constants:
    """Estimate ``sigma``, ``eps`` and the per-level ``eps`` from samples, labelled ``"estimated (...)"``.

    :func:`sampled_divergences` at every point of ``points``, :func:`sampled_sigma` at the first
    ``noise_points`` of them with ``draws`` draws; ``source`` says what the points are. ``L``
    is passed through, and ``f* >= 0`` (non-negative losses) is a certified lower bound.
    """
    eps, eps_levels = sampled_divergences(problem, points, levels, source=source)
    sigma = sampled_sigma(problem, np.asarray(points)[:noise_points], rng, draws=draws, source=source)
    return Constants(L=L, sigma=sigma, eps=eps, eps_levels=eps_levels, f_star=Constant(0.0, LOWER))
