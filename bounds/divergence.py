"""Lemma 1 (exact divergence split) and Lemma 2 (random grouping) as numpy functions.

These are the numerical counterparts of docs/theory.md §2.2 Lemma 1 and §3.1 Lemma 2. They
take per-worker vectors, models ``x_j`` or gradients ``grad F_j(x)``, and a grouping given
as integer labels, and return the divergences the bounds are built from. The empirical
module computes the model divergences of every run with these functions.

A grouping of ``n`` workers into ``M`` levels is given by ``levels``: a sequence of ``M - 1``
label arrays, finest first. ``levels[l - 1][j]`` is the index (``0 .. K_l - 1``) of the
level-``l`` group of worker ``j``. Level 0 (each worker alone) and level ``M`` (everyone)
are implicit. The groupings must nest: workers that share a level-``l`` group share every
coarser group. Two-level H-SGD has ``levels = [labels]`` with ``N`` labels.

Structure from Wang, Wang, Chen, Ji, *Demystifying Why Local Aggregation Helps:
Convergence Analysis of Hierarchical SGD*, AAAI 2022, arXiv:2010.12998.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DivergenceSplit",
    "group_means",
    "divergence_split",
    "level_divergences",
    "validate_levels",
    "expected_shares",
    "random_nested_labels",
]


@dataclass(frozen=True)
class DivergenceSplit:
    """Lemma 1's split of the total divergence into upward and downward parts.

    Attributes:
        total: ``(1/n) sum_j ||v_j - v̄||^2``.
        upward: ``sum_p (n_p/n) ||v̄_p - v̄||^2`` (group averages around the global one).
        downward: ``(1/n) sum_p sum_{j in p} ||v_j - v̄_p||^2`` (workers around their group).

    Each has the leading (batch) shape of the input; ``total == upward + downward`` up to
    rounding.
    """

    total: NDArray[np.float64]
    upward: NDArray[np.float64]
    downward: NDArray[np.float64]


def _as_labels(labels: ArrayLike, n: int, name: str = "labels") -> NDArray[np.intp]:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must be a 1-d array of length n = {n}, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name} must hold integer group indices")
        arr = arr.astype(np.intp)
    arr = arr.astype(np.intp, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be non-negative group indices 0 .. K-1")
    k = int(arr.max()) + 1 if arr.size else 0
    if np.bincount(arr, minlength=k).min(initial=1) == 0:
        raise ValueError(f"{name} must use every group index 0 .. K-1 = {k - 1} (an empty group)")
    return arr


def _as_vectors(vectors: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(vectors, dtype=np.float64)
    if arr.ndim < 2:
        raise ValueError(f"vectors must have shape (..., n, d), got shape {arr.shape}")
    return arr


def group_means(vectors: ArrayLike, labels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Plain averages of the workers' vectors inside each group.

    Args:
        vectors: array ``(..., n, d)``.
        labels: group index of each worker, ``(n,)`` with values ``0 .. K-1``.

    Returns:
        ``(means, sizes)``: means ``(..., K, d)`` and group sizes ``(K,)``.

    Example:
        >>> means, sizes = group_means([[0.0], [2.0], [4.0]], [0, 0, 1])
        >>> means[:, 0].tolist(), sizes.tolist()
        ([1.0, 4.0], [2, 1])
    """
    x = _as_vectors(vectors)
    return _group_means(x, _as_labels(labels, x.shape[-2]))


def _group_means(x: NDArray[np.float64], lab: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    sizes = np.bincount(lab)
    order = np.argsort(lab, kind="stable")
    contiguous = bool(np.all(order == np.arange(order.size)))
    xs = x if contiguous else np.take(x, order, axis=-2)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    sums = np.add.reduceat(xs, starts, axis=-2)
    return sums / sizes[:, None], sizes


def _sq_norm(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.einsum("...d,...d->...", v, v)


def validate_levels(levels: Sequence[ArrayLike], n: int) -> list[NDArray[np.intp]]:
    """Check that ``levels`` is a nested grouping of ``n`` workers and return it as arrays.

    Raises:
        ValueError: naming the level that is not a labelling of ``n`` workers, or the pair
            of levels that do not nest.

    Example:
        >>> [a.tolist() for a in validate_levels([[0, 0, 1, 1], [0, 0, 0, 0]], 4)]
        [[0, 0, 1, 1], [0, 0, 0, 0]]
        >>> validate_levels([[0, 1, 0, 1], [0, 0, 1, 1]], 4)
        Traceback (most recent call last):
        ...
        ValueError: levels[1] does not nest levels[0]: workers 0 and 2 share a level-1 group but not a level-2 group
    """
    arrays = [_as_labels(lab, n, name=f"levels[{i}]") for i, lab in enumerate(levels)]
    for i in range(1, len(arrays)):
        fine, coarse = arrays[i - 1], arrays[i]
        # Nested iff every fine group maps to exactly one coarse group.
        k_fine = int(fine.max()) + 1
        parent = np.full(k_fine, -1, dtype=np.intp)
        parent[fine] = coarse  # last write wins; compare against all
        bad = np.nonzero(parent[fine] != coarse)[0]
        if bad.size:
            j = int(bad[0])
            other = int(np.nonzero((fine == fine[j]) & (coarse != coarse[j]))[0][0])
            a, b = sorted((j, other))
            raise ValueError(
                f"levels[{i}] does not nest levels[{i - 1}]: workers {a} and {b} share a "
                f"level-{i} group but not a level-{i + 1} group"
            )
    return arrays


def level_divergences(vectors: ArrayLike, levels: Sequence[ArrayLike], *, validate: bool = True) -> NDArray[np.float64]:
    r"""Lemma 1 for ``M`` levels: the per-level parts of the total divergence.

    With ``m_u`` the average of group ``u`` and ``parent(u)`` its group one level up,
    level ``l`` contributes

    .. math:: \Delta_l = \sum_{u \text{ at level } l-1} \frac{n_u}{n} \|m_u - m_{parent(u)}\|^2,

    and ``sum_l Delta_l = (1/n) sum_j ||v_j - v̄||^2`` exactly (law of total variance,
    docs/theory.md §2.2 Lemma 1). For two levels ``Delta_1`` is the downward and ``Delta_2`` the upward
    divergence.

    Args:
        vectors: array ``(..., n, d)``.
        levels: ``M - 1`` nested label arrays, finest first (see the module docstring).
        validate: check the labels (default). A hot loop that checked them once with
            :func:`validate_levels` may pass ``False``.

    Returns:
        Array ``(..., M)``: ``Delta_1, ..., Delta_M``.

    Example:
        >>> v = [[0.0], [2.0], [4.0], [6.0]]
        >>> level_divergences(v, [[0, 0, 1, 1]]).tolist()
        [1.0, 4.0]
    """
    x = _as_vectors(vectors)
    n = x.shape[-2]
    labs = validate_levels(levels, n) if validate else list(levels)
    means = x  # level-0 groups: the workers themselves
    sizes = np.ones(n, dtype=np.intp)
    prev_labels = np.arange(n)  # worker -> its level-(l-1) group
    parts = []
    for lab in [*labs, np.zeros(n, dtype=np.intp)]:
        coarse_means, _ = _group_means(x, lab)
        # parent of each level-(l-1) group: the level-l group of any of its workers
        k_prev = sizes.size
        parent = np.empty(k_prev, dtype=np.intp)
        parent[prev_labels] = lab
        diff = means - coarse_means[..., parent, :]
        parts.append(np.tensordot(_sq_norm(diff), sizes / n, axes=([-1], [0])))
        means, sizes, prev_labels = coarse_means, np.bincount(lab), lab
    return np.stack(parts, axis=-1)


def divergence_split(vectors: ArrayLike, labels: ArrayLike) -> DivergenceSplit:
    """Lemma 1 for two levels: total = upward + downward, for one grouping.

    Works for models (``U_t``, ``D_t`` of docs/theory.md §2.1 Definitions) and for gradients at a common
    point (between-group and within-group heterogeneity, whose worst cases are
    ``eps_g^2`` and ``eps_l^2`` of assumption A3).

    Args:
        vectors: array ``(..., n, d)`` of per-worker vectors.
        labels: group index of each worker, ``(n,)``, values ``0 .. N-1``; sizes may differ.

    Returns:
        A :class:`DivergenceSplit` with arrays of the leading shape ``(...)``.

    Example:
        >>> s = divergence_split([[0.0], [2.0], [4.0], [6.0]], [0, 0, 1, 1])
        >>> float(s.total), float(s.upward), float(s.downward)
        (5.0, 4.0, 1.0)
    """
    x = _as_vectors(vectors)
    parts = level_divergences(x, [_as_labels(labels, x.shape[-2])])
    total = _sq_norm(x - x.mean(axis=-2, keepdims=True)).mean(axis=-1)
    return DivergenceSplit(total=total, upward=parts[..., 1], downward=parts[..., 0])


def _check_group_counts(n: int, groups: Sequence[int], *, equal: bool) -> list[int]:
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    counts = [int(n)]
    for i, k in enumerate(groups):
        if isinstance(k, bool) or int(k) != k or k < 1:
            raise ValueError(f"groups[{i}] must be a positive integer, got {k!r}")
        if k > counts[-1]:
            raise ValueError(
                f"groups[{i}] = {k} exceeds the finer level's group count {counts[-1]}: "
                "group counts must not increase from fine to coarse"
            )
        if equal and counts[-1] % k:
            raise ValueError(
                f"groups[{i}] = {k} must divide {counts[-1]} for equal nested groups"
            )
        counts.append(int(k))
    return counts + [1]


def expected_shares(n: int, groups: Sequence[int]) -> NDArray[np.float64]:
    """Lemma 2: the expected share of the total divergence that each level receives.

    For a uniformly random nested split of ``n`` workers into ``K_1 > ... > K_{M-1}`` equal
    groups (``K_0 = n``, ``K_M = 1``), level ``l`` receives ``(K_{l-1} - K_l)/(n - 1)`` of the
    total divergence in expectation, for every fixed point ``x`` (sampling without
    replacement). The shares sum to 1. docs/theory.md §3.1 Lemma 2
    and §3.2 Nested random grouping.

    Args:
        n: number of workers, at least 2.
        groups: ``[K_1, ..., K_{M-1}]``, finest first; each must divide the previous one.

    Returns:
        Array of ``M`` shares, finest level first.

    Example:
        >>> expected_shares(8, [4]).tolist()  # two levels: within, between
        [0.5714285714285714, 0.42857142857142855]
    """
    counts = _check_group_counts(n, groups, equal=True)
    if n < 2:
        raise ValueError(f"n must be at least 2 for Lemma 2's shares (they divide by n - 1), got {n}")
    k = np.asarray(counts, dtype=np.float64)
    return (k[:-1] - k[1:]) / (n - 1)


def random_nested_labels(
    n: int, groups: Sequence[int], rng: np.random.Generator | int | None = None
) -> list[NDArray[np.intp]]:
    """A uniformly random nested split of ``n`` workers into equal groups (Lemma 2's model).

    Workers are shuffled once; level ``l`` then puts consecutive blocks of ``n/K_l`` shuffled
    workers together, which nests and is uniform over equal nested splits.

    Args:
        n: number of workers.
        groups: ``[K_1, ..., K_{M-1}]``, finest first; each must divide the previous one.
        rng: a numpy ``Generator`` or a seed.

    Returns:
        ``M - 1`` label arrays, finest first, as :func:`level_divergences` takes them.

    Example:
        >>> levels = random_nested_labels(8, [4, 2], rng=0)
        >>> [np.bincount(lab).tolist() for lab in levels]
        [[2, 2, 2, 2], [4, 4]]
    """
    counts = _check_group_counts(n, groups, equal=True)
    gen = np.random.default_rng(rng)
    position = np.empty(n, dtype=np.intp)
    position[gen.permutation(n)] = np.arange(n)
    return [position // (n // k) for k in counts[1:-1]]
