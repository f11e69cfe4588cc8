r"""Exact constants of Theorems W and P (docs/theory.md §10) for problems whose gradient offsets do
not depend on ``x``, and the instance a run is checked against.

For ``grad F_j(x) = grad h(x) + b_j`` (the kink witnesses of :mod:`empirical.problems.witness`,
with or without weights) every divergence of docs/theory.md §10 is the same at every ``x``, so
the suprema are values and the expectations over the sampling are finite averages: each
level-1 group's ``C(n_q, S)`` samples are enumerated (groups are sampled independently, so
the expectations factor through each group's mean and spread of its sampled offset mean).
Nothing is estimated unless a group has more than :data:`bounds.federated.MAX_SUBSETS`
samples, and then the result says so.

* ``eps_1^2 = sum_q p_q E[ sum_{j in S_q} (p_j/p(S_q)) ||b_j - Y_q||^2 ]``, ``Y_q`` the sampled
  weighted mean of the offsets;
* ``eps_l^2`` (``l >= 2``) ``= E sum_{q in G_{l-1}} p_q ||Ybar_q - Ybar_{parent}||^2``, the sampled
  group means weighted by their full weights;
* ``eps_S^2 = E ||sum_q p_q Y_q - sum_j p_j b_j||^2``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from bounds.federated import MAX_SUBSETS, participation_shares
from bounds.instance import Instance
from empirical.constants import ESTIMATED, EXACT

__all__ = ["SampledConstants", "offset_constants", "federated_instance", "estimated_sampled_constants"]

EXACT_NOTE = "x-independent offsets, every sample enumerated"


@dataclass(frozen=True)
class SampledConstants:
    """The sampled system's constants of docs/theory.md §10.3 (full participation: §10.2).

    Attributes:
        eps: ``(eps_1, ..., eps_M)``, finest first.
        eps_sample: ``eps_S`` (0 at full participation).
        omega, shares: the noise weight and the noise shares (floats).
        kind: how they are known, a declared kind of :data:`empirical.constants.KINDS`
            (``exact`` or ``estimated``); ``note`` says how.
    """

    eps: tuple[float, ...]
    eps_sample: float
    omega: float
    shares: tuple[float, ...]
    kind: str
    note: str

    @property
    def label(self) -> str:
        """The kind with its note, as :attr:`empirical.constants.Constant.label`."""
        return f"{self.kind} ({self.note})"


def _group_samples(b: NDArray[np.float64], p: NDArray[np.float64], members: NDArray[np.intp], S: int,
                   rng: np.random.Generator) -> tuple[NDArray[np.float64], float, float, bool]:
    """Mean ``E Y_q``, spread ``E||Y_q||^2 - ||E Y_q||^2`` and ``E div`` over ``q``'s samples."""
    if S == len(members) or math.comb(len(members), S) <= MAX_SUBSETS:
        subsets = np.array(list(itertools.combinations(members, S)), dtype=np.intp).reshape(-1, S)
        exact = True
    else:
        subsets = np.argsort(rng.random((20_000, len(members))), axis=1)[:, :S]
        subsets = members[subsets]
        exact = False
    w = p[subsets]                                    # (C, S)
    w = w / w.sum(axis=1, keepdims=True)
    Y = np.einsum("cs,csd->cd", w, b[subsets])        # sampled weighted means
    div = np.einsum("cs,cs->c", w, np.sum((b[subsets] - Y[:, None, :]) ** 2, axis=-1))
    mean = Y.mean(axis=0)
    spread = float(np.mean(np.sum(Y * Y, axis=1)) - mean @ mean)
    return mean, max(spread, 0.0), float(div.mean()), exact


def offset_constants(b: ArrayLike, levels: Sequence[ArrayLike], weights: ArrayLike | None = None,
                     participation: int | None = None, *, seed: int = 0) -> SampledConstants:
    """Theorem P's constants for offsets ``b`` (``(n, d)``): exact enumeration (module docstring).

    Args:
        b: the offsets ``grad F_j - grad h``, one row per worker.
        levels: the grouping, finest first (``[]`` for local SGD).
        weights: ``p_j`` (normalised here) or ``None`` for equal weights.
        participation: ``S`` per level-1 group, or ``None`` for everyone.
        seed: Monte-Carlo seed, used only for groups past :data:`bounds.federated.MAX_SUBSETS`.

    Example:
        >>> c = offset_constants([[1.0], [-1.0], [1.0], [-1.0]], [[0, 0, 1, 1]])
        >>> c.eps, c.eps_sample, c.omega  # equal weights, everyone: eps_1 = 1, eps_2 = 0
        ((1.0, 0.0), 0.0, 0.25)
        >>> round(offset_constants([[1.0], [-1.0], [1.0], [-1.0]], [[0, 0, 1, 1]], participation=1).eps_sample, 6)
        0.707107
    """
    b = np.asarray(b, dtype=np.float64)
    if b.ndim == 1:
        b = b[:, None]
    n = b.shape[0]
    shares = participation_shares(weights, levels, n, participation, seed=seed)
    labels = validate_levels(levels, n)
    p = np.ones(n) / n if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    first = labels[0] if labels else np.zeros(n, dtype=np.intp)
    groups = [np.flatnonzero(first == g) for g in range(int(first.max()) + 1)]
    rng = np.random.default_rng(seed)
    means, spreads, divs, exact = [], [], [], shares.exact
    for members in groups:
        S = len(members) if participation is None else int(participation)
        mean, spread, div, ok = _group_samples(b, p, members, S, rng)
        means.append(mean), spreads.append(spread), divs.append(div)
        exact = exact and ok
    pq = np.array([p[m].sum() for m in groups])
    mu, v = np.array(means), np.array(spreads)
    eps_sq = [float(pq @ np.array(divs))]

    def second_moments(parent_of_group: NDArray[np.intp]) -> float:
        """sum over the parents r of p_r E||Ybar_r||^2, Ybar_r = sum_{c in r} (p_c/p_r) Y_c."""
        total = 0.0
        for r in np.unique(parent_of_group):
            inside = parent_of_group == r
            pr = pq[inside].sum()
            a = pq[inside] / pr
            m = a @ mu[inside]
            total += pr * (m @ m + a * a @ v[inside])
        return float(total)

    ancestor = [np.arange(len(groups))]                # level-1 group of each level-1 group
    for lab in labels[1:]:
        ancestor.append(np.array([lab[m[0]] for m in groups]))
    if labels:                                         # the top level (M >= 2); with M = 1 level 1 is the top
        ancestor.append(np.zeros(len(groups), dtype=np.intp))
    for l in range(1, len(ancestor)):
        eps_sq.append(max(second_moments(ancestor[l - 1]) - second_moments(ancestor[l]), 0.0))
    full_mean = p @ b
    top = pq @ mu - full_mean
    eps_sample_sq = float(top @ top + pq * pq @ v) if participation is not None else 0.0
    kind, note = (EXACT, EXACT_NOTE) if exact else (ESTIMATED, "Monte Carlo over 20000 samples for the largest groups")
    return SampledConstants(eps=tuple(math.sqrt(max(e, 0.0)) for e in eps_sq), eps_sample=math.sqrt(max(eps_sample_sq, 0.0)),
                            omega=float(shares.omega), shares=tuple(float(s) for s in shares.shares), kind=kind,
                            note=note)


def federated_instance(problem: Any, levels: Sequence[ArrayLike], periods: Sequence[int], lr: float, T: int,
                       x0: ArrayLike | None = None, weights: ArrayLike | None = None,
                       participation: int | None = None) -> Instance:
    """The :class:`bounds.instance.Instance` of a run on an offset problem, with the numbers of
    Theorem P (docs/theory.md §10.3: ``omega``, the noise shares, the sampled system's ``eps`` and
    the sampling error), evaluated by ``bounds.theorems.THEOREM_P``.

    ``problem`` needs ``b`` (offsets), ``L``, ``sigma``, ``loss`` and ``f_star()`` (as
    :class:`empirical.problems.witness.KinkProblem`); its global objective must be the
    ``weights``-weighted one. ``weights=None`` takes the problem's own ``weights`` (as
    :func:`empirical.simulate` does), else equal ones. ``F0 = f(x0) - f*`` exactly as the
    problem computes it.
    """
    if weights is None:  # the problem's own weights, as empirical.simulate takes them
        weights = problem.weights
    c = offset_constants(problem.b, levels, weights, participation)
    start = problem.default_x0() if x0 is None else np.broadcast_to(np.asarray(x0, dtype=np.float64), (problem.d,))
    F0 = float(problem.loss(start)) - float(problem.f_star())
    n = int(np.asarray(problem.b).shape[0])
    counts = (n, *(int(lab.max()) + 1 for lab in validate_levels(levels, n)), 1)
    return Instance(gamma=float(lr), L=float(problem.L), sigma=float(problem.sigma), F0=max(F0, 0.0), n=n, T=int(T),
                    periods=tuple(int(P) for P in periods), counts=counts, eps=c.eps, omega=c.omega,
                    noise_shares=c.shares, eps_sample=c.eps_sample, notes=(c.label,))


def _descent_points(problem: Any, count: int, L: float) -> NDArray[np.float64]:
    """``x0`` and ``count - 1`` iterates of full-gradient descent on ``f`` with step ``1/L``."""
    x = np.asarray(problem.default_x0(), dtype=np.float64).copy()
    points = [x.copy()]
    for _ in range(count - 1):
        x = x - problem.grad(x[None, :])[0] / L
        points.append(x.copy())
    return np.array(points)


def estimated_sampled_constants(problem: Any, levels: Sequence[ArrayLike], weights: ArrayLike | None,
                                participation: int | None, *, L: float | None = None, points: int = 12,
                                samples: int = 32, seed: int = 0) -> SampledConstants:
    """The sampled system's constants of docs/theory.md §10.3 for any problem, **estimated**.

    Each supremum over ``x`` is a maximum over ``points`` points (``x0`` and a full-gradient
    descent path on ``f`` with step ``1/L``, ``L`` the problem's own unless given, as the
    caller may already have it), each expectation over
    the sampling a mean over ``samples`` random joint samples (and their exact count when
    there are fewer). Labelled "estimated (...)": a bound built on them is not a guarantee.
    """
    from empirical.partitions import weighted_divergences

    n = problem.n
    labels = validate_levels(levels, n)
    shares = participation_shares(weights, levels, n, participation, seed=seed)
    p = np.ones(n) / n if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    L = float(problem.constants(labels).L.value) if L is None else float(L)
    X = _descent_points(problem, points, L)
    grads = problem.worker_grads(np.ascontiguousarray(np.broadcast_to(X[:, None, :], (len(X), n, problem.d))))
    full = np.einsum("j,pjd->pd", p, grads)
    first = labels[0] if labels else np.zeros(n, dtype=np.intp)
    groups = [np.flatnonzero(first == g) for g in range(int(first.max()) + 1)]
    rng = np.random.default_rng(seed)
    S = None if participation is None else int(participation)
    draws = 1 if S is None else samples
    eps_sq = np.zeros(len(labels) + 1)
    sampling = 0.0
    for _ in range(draws):
        chosen_parts, w = [], np.zeros(n)
        for members in groups:
            pick = members if S is None else np.sort(rng.choice(members, size=S, replace=False))
            w[pick] = p[members].sum() * p[pick] / p[pick].sum()
            chosen_parts.append(pick)
        chosen = np.sort(np.concatenate(chosen_parts))
        sub = [np.unique(lab[chosen], return_inverse=True)[1] for lab in labels]
        _, divs, group_weights = weighted_divergences(grads[:, chosen], sub, w[chosen])
        eps_sq += [float(gw @ dv.max(axis=0)) for dv, gw in zip(divs, group_weights)]
        error = np.einsum("j,pjd->pd", w[chosen], grads[:, chosen]) - full
        sampling += float(np.max(np.sum(error * error, axis=1)))
    eps_sq /= draws
    note = f"sup over {len(X)} points of a gradient-descent path from x0, mean over {draws} random samples"
    return SampledConstants(eps=tuple(float(np.sqrt(max(e, 0.0))) for e in eps_sq),
                            eps_sample=math.sqrt(sampling / draws) if S is not None else 0.0,
                            omega=float(shares.omega), shares=tuple(float(s) for s in shares.shares), kind=ESTIMATED,
                            note=note)
