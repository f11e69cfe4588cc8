r"""The numbers of Theorems W and P (docs/theory.md §10, derived for this project, not in Wang et
al. 2022): the noise weight ``omega`` and noise shares of a weighting, grouping and participation.
The statement itself is :mod:`bounds.theorems.participation` (``THEOREM_P``); it is evaluated at
an :class:`bounds.instance.Instance` that carries these numbers.

**Weights (Theorem W, docs/theory.md §10.2).** Worker ``j`` has weight ``p_j > 0``
(``sum_j p_j = 1``), ``f = sum_j p_j F_j``, groups average their members with weights
``p_j / p_q``. Theorem 2's ``1/n`` becomes ``omega = sum_j p_j^2`` and its noise weights
``(K_{l-1} - K_l)/n`` become the **noise shares**

    lambda_l = sum_j p_j^2 (1 / p_{l-1}(j) - 1 / p_l(j)),

``p_l(j)`` the weight of worker ``j``'s level-``l`` group (``p_0(j) = p_j``, ``p_M(j) = 1``).
They telescope to ``1 - omega``.

**Partial participation (Theorem P, docs/theory.md §10.3).** At the start of each round (every
level-1 aggregation in the authors' timing, or every top-level one; §10.6: the same bound
holds for both) every level-1 group ``q`` samples ``S`` of its members uniformly without
replacement; the sampled
members train and average with their weights renormalised inside the sample, groups keep
their full weight ``p_q`` above. With

    rho_q = E[ sum_{j in S_q} p_j^2 / p(S_q)^2 ]     (1/S when q's weights are equal),

the sampled system has ``omega = sum_q p_q^2 rho_q``, ``lambda_1 = 1 - sum_q p_q rho_q`` and
``lambda_l = sum_q p_q^2 rho_q (1/p_{l-1}(q) - 1/p_l(q))`` for ``l >= 2``. The bound is

    c_init F0 / (gamma T) + c_noise gamma L sigma^2 omega + (sqrt(D) + eps_S)^2,
    D = sum_l c_div gamma^2 L^2 (P_l - 1) [lambda_l sigma^2 + c_het (2 P_l - 1) eps_l^2],

``eps_l`` the sampled system's divergences (expected over the sampling) and ``eps_S^2 >=
E sup_x ||grad f_S(x) - grad f(x)||^2`` the **sampling error** of a round's objective. At full
participation ``eps_S = 0``: Theorem W; at ``p_j = 1/n`` as well: Theorem 2 (a test checks both).
The condition is Theorem 2's.

Everything here is exact (``fractions.Fraction``) when the weights are, except ``rho_q`` for a
group with unequal weights and more than :data:`MAX_SUBSETS` samples, which is estimated by
Monte Carlo and flagged so.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from bounds.coefficients import THEORY, Coefficients
from bounds.divergence import validate_levels
from bounds import optimal
from bounds.instance import instance_bound
from bounds.theorems.theorem2 import theorem2

__all__ = ["ParticipationShares", "participation_shares", "normalised_weights", "largest_step_size", "MAX_SUBSETS"]

MAX_SUBSETS = 200_000
"""Largest number of samples ``C(n_q, S)`` enumerated exactly for one group with unequal weights."""


def normalised_weights(weights: ArrayLike | None, n: int) -> list[Fraction]:
    """The weights ``p_j`` as exact fractions summing to 1 (``None``: ``1/n`` each).

    Each float is taken at its exact binary value, then all are divided by their sum.

    Raises:
        ValueError: wrong length, a weight that is not positive and finite.
    """
    if weights is None:
        return [Fraction(1, n)] * n
    values = list(np.asarray(weights, dtype=object).ravel()) if not isinstance(weights, (list, tuple)) else list(weights)
    if len(values) != n:
        raise ValueError(f"weights must have one entry per worker (n = {n}), got {len(values)}")
    exact = []
    for j, w in enumerate(values):
        try:
            value = Fraction(w) if isinstance(w, (int, Fraction)) else Fraction(float(w))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"weights[{j}] must be a positive finite number, got {w!r}") from None
        if value <= 0:
            raise ValueError(f"weights[{j}] must be a positive finite number, got {w!r}")
        exact.append(value)
    total = sum(exact)
    return [w / total for w in exact]


def _level_one_groups(levels: Sequence[ArrayLike], n: int) -> tuple[list[np.ndarray], list[list[int]]]:
    """Validated labels and the members of each level-1 group (everyone, when ``M = 1``)."""
    labels = validate_levels(levels, n)
    if not labels:
        return labels, [list(range(n))]
    first = labels[0]
    return labels, [np.flatnonzero(first == g).tolist() for g in np.unique(first)]


def _rho(p: list[Fraction], members: list[int], S: int, rng: np.random.Generator) -> tuple[Fraction | float, bool]:
    """``E[sum_{j in S_q} p_j^2 / p(S_q)^2]`` for a uniform ``S``-subset of ``members``: exact,
    or a Monte-Carlo estimate (flagged ``False``) when there are too many subsets."""
    w = [p[j] for j in members]
    if S == len(w):
        total = sum(w)
        return sum(x * x for x in w) / (total * total), True
    if all(x == w[0] for x in w):
        return Fraction(1, S), True
    if math.comb(len(w), S) <= MAX_SUBSETS:
        values = [sum(w[i] * w[i] for i in c) / sum(w[i] for i in c) ** 2 for c in itertools.combinations(range(len(w)), S)]
        return sum(values) / len(values), True
    wf = np.array([float(x) for x in w])
    keys = rng.random((20_000, len(wf)))
    chosen = wf[np.argsort(keys, axis=1)[:, :S]]
    return float(np.mean((chosen ** 2).sum(1) / chosen.sum(1) ** 2)), False


@dataclass(frozen=True)
class ParticipationShares:
    """The noise weights of docs/theory.md §10 for one weighting, grouping and participation.

    Attributes:
        omega: ``E sum_j w_j^2`` over the sampled system's weights (``1/n`` in Theorem 2).
        shares: ``(lambda_1, ..., lambda_M)``, the noise shares (``(K_{l-1} - K_l)/n`` in Theorem 2).
        rho: ``rho_q`` per level-1 group.
        sampled: workers that train in a round (``sum_q min(S, n_q)``).
        exact: ``False`` if some ``rho_q`` is a Monte-Carlo estimate.
    """

    omega: Fraction | float
    shares: tuple[Fraction | float, ...]
    rho: tuple[Fraction | float, ...]
    sampled: int
    exact: bool = True


def participation_shares(weights: ArrayLike | None, levels: Sequence[ArrayLike], n: int,
                         participation: int | None = None, *, seed: int = 0) -> ParticipationShares:
    """``omega`` and the noise shares ``lambda_l`` (docs/theory.md §10.2 and §10.3).

    Args:
        weights: ``p_j`` (normalised here), or ``None`` for ``1/n``.
        levels: the grouping, finest first, as in :func:`bounds.divergence.level_divergences`
            (``[]`` for local SGD: one group, everyone).
        n: workers.
        participation: ``S``, workers sampled per level-1 group and round; ``None`` for all.
        seed: the Monte-Carlo seed, used only past :data:`MAX_SUBSETS`.

    Example:
        >>> s = participation_shares(None, [[0, 0, 1, 1]], 4)
        >>> s.omega, s.shares  # Theorem 2: 1/n and ((n - N)/n, (N - 1)/n)
        (Fraction(1, 4), (Fraction(1, 2), Fraction(1, 4)))
        >>> participation_shares(None, [[0, 0, 1, 1]], 4, participation=1).shares
        (Fraction(0, 1), Fraction(1, 2))
    """
    p = normalised_weights(weights, n)
    labels, groups = _level_one_groups(levels, n)
    smallest = min(len(g) for g in groups)
    if participation is not None:
        if isinstance(participation, bool) or int(participation) != participation or participation < 1:
            raise ValueError(f"participation must be a positive integer (workers per level-1 group), got {participation!r}")
        if participation > smallest:
            raise ValueError(f"participation S = {participation} is larger than the smallest level-1 group "
                             f"({smallest} workers)")
    rng = np.random.default_rng(seed)
    rho, exact = [], True
    for members in groups:
        value, ok = _rho(p, members, len(members) if participation is None else int(participation), rng)
        rho.append(value)
        exact = exact and ok
    weight_q = [sum(p[j] for j in members) for members in groups]
    M = len(labels) + 1
    # p_l(q): the weight of level-1 group q's level-l ancestor, l = 1..M
    ancestors = [weight_q]
    for l in range(1, M):
        if l < len(labels):
            lab = labels[l]
            totals = {g: sum(p[j] for j in np.flatnonzero(lab == g)) for g in np.unique(lab)}
            ancestors.append([totals[lab[members[0]]] for members in groups])
        else:
            ancestors.append([Fraction(1)] * len(groups))
    omega = sum(w * w * r for w, r in zip(weight_q, rho))
    shares = [1 - sum(w * r for w, r in zip(weight_q, rho))]
    for l in range(1, M):
        shares.append(sum(w * w * r * (1 / a - 1 / b) for w, r, a, b in zip(weight_q, rho, ancestors[l - 1], ancestors[l])))
    sampled = sum(len(g) if participation is None else int(participation) for g in groups)
    return ParticipationShares(omega=omega, shares=tuple(shares), rho=tuple(rho), sampled=sampled, exact=exact)


def largest_step_size(L: float, periods: Sequence[int], coefficients: Coefficients = THEORY) -> float:
    """The largest float ``gamma`` meeting Theorem 2's step-size condition exactly (the
    condition of Theorems W and P too) at ``L`` and ``periods`` alone:
    :func:`bounds.largest_step_size` of the per-depth statement (:func:`bounds.instance.instance_bound`).

    Example:
        >>> largest_step_size(1.0, (1,)), largest_step_size(2.0, (2,))  # 1/L; 1/(2 L sqrt(2))
        (1.0, 0.17677669529663687)
    """
    periods = tuple(int(P) for P in periods)
    bound = instance_bound(theorem2(coefficients), len(periods))
    return optimal.largest_step_size(bound, L=L, **{f"P_{l}": P for l, P in enumerate(periods, start=1)})[0]
