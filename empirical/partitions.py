"""Seeded data partitioners: which examples each worker holds (non-IID splits of a labelled set).

Every partitioner returns a :class:`Partition`, a list of ``n`` integer index arrays into the
data (disjoint, covering every item unless its docstring says otherwise, each sorted), that
also records how it was made (``spec``). The recipes are the usual ones of the federated
learning literature:

* :func:`dirichlet_partition`: label skew; per class, the workers' shares are drawn from a
  symmetric ``Dirichlet(alpha)`` (as FedLab's and flwr-datasets' Dirichlet partitioners, after
  Hsu, Qi and Brown 2019, arXiv:1909.06335). Small ``alpha``: each worker sees few classes.
* :func:`shard_partition`: sort by label, cut into ``n k`` shards, deal ``k`` to each worker
  (the pathological non-IID split of the FedAvg paper, McMahan et al. 2017, arXiv:1602.05629).
* :func:`quantity_skew_partition`: IID labels, worker sizes from ``Dirichlet(alpha)``.
* :func:`iid_partition`: a uniformly random split into near-equal parts, the baseline.
* :func:`class_partition` and :func:`group_iid_partition`: the authors' splits of the paper's
  experiments (one class per worker; groups that each see every class), for ``hsgd replay``.

:func:`data_weights` gives the data-size weights ``p_j = |part_j| / total`` with which the
global objective is ``f = sum_j p_j F_j``; :func:`weighted_divergences` gives A3's divergences
with those weights (docs/theory.md §10.1 Setting, "A3 with weights": §1.3 Assumptions A1-A3 with
``n_q/n`` replaced by the weight sums ``p_q``; the weights of Theorem W, §10.2), and :func:`partition_report` what a partitioned problem reports: its
partition, sizes, weights and constants for a grouping.

Everything is numpy and seeded: the same arguments give the same partition.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Partition",
    "KINDS",
    "as_partition",
    "make_partition",
    "dirichlet_partition",
    "shard_partition",
    "quantity_skew_partition",
    "iid_partition",
    "class_partition",
    "group_iid_partition",
    "data_weights",
    "label_entropy",
    "weighted_divergences",
    "partition_report",
    "MAX_TRIES",
]

MAX_TRIES = 100
"""Draws a Dirichlet partitioner makes before it gives up on giving every worker ``min_size`` items."""


class Partition(list):
    """A list of ``n`` index arrays (worker ``j`` holds items ``self[j]``) and how it was made.

    Attributes:
        spec: the partitioner and its parameters, e.g. ``{"kind": "dirichlet", "n": 10,
            "alpha": 0.5, "seed": 0, "min_size": 1}``.
    """

    def __init__(self, parts: Sequence[ArrayLike], spec: dict[str, Any] | None = None) -> None:
        super().__init__(np.asarray(p, dtype=np.intp) for p in parts)
        self.spec: dict[str, Any] = dict(spec or {"kind": "given"})

    @property
    def sizes(self) -> NDArray[np.intp]:
        """Items per worker, ``(n,)``."""
        return np.array([len(p) for p in self], dtype=np.intp)


# ---------------------------------------------------------------------- validation
def _positive_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _alpha(alpha: Any) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be > 0, got {alpha!r}") from None
    if not (np.isfinite(a) and a > 0):
        raise ValueError(f"alpha must be > 0 (and finite), got {alpha!r}")
    return a


def _labels(labels: ArrayLike) -> NDArray[np.intp]:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"labels must be a non-empty 1-d array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.number) and np.all(np.mod(arr, 1) == 0)):
            raise ValueError("labels must be integers")
    arr = arr.astype(np.intp)
    if arr.min() < 0:
        raise ValueError(f"labels must be non-negative, got {int(arr.min())}")
    return arr


def _check_room(total: int, n: int, min_size: int) -> None:
    if n * min_size > total:
        raise ValueError(f"n must be at most {total // max(min_size, 1)}: {n} workers with min_size = {min_size} "
                         f"need {n * min_size} items, there are {total}")


def _empty_worker(alpha: float, n: int, min_size: int) -> ValueError:
    what = "no data" if min_size <= 1 else f"fewer than min_size = {min_size} items"
    return ValueError(f"a worker was left with {what} (alpha = {alpha:g}, n = {n}): use a larger alpha or fewer workers")


def _cut(items: NDArray[np.intp], shares: NDArray[np.float64]) -> list[NDArray[np.intp]]:
    """Split ``items`` in order into ``len(shares)`` runs of about ``shares * len(items)`` each."""
    cuts = (np.cumsum(shares)[:-1] * len(items)).astype(np.intp)
    return np.split(items, cuts)


# ---------------------------------------------------------------------- partitioners
def dirichlet_partition(labels: ArrayLike, n: int, alpha: float, seed: int, min_size: int = 1) -> Partition:
    """Label skew: for each class, the workers' shares of its items ~ ``Dirichlet(alpha, ..., alpha)``.

    Each class's items are shuffled and cut at the cumulative shares (the FedLab /
    flwr-datasets recipe, without their optional balancing). The whole draw is repeated, up to
    :data:`MAX_TRIES` times, until every worker holds at least ``min_size`` items. Small
    ``alpha`` concentrates each class on few workers (more skew); large ``alpha`` tends to IID.

    Args:
        labels: class of every item, ``(N,)`` non-negative integers.
        n: workers (at most ``N / min_size``).
        alpha: Dirichlet concentration, ``> 0``.
        seed: seed of the draw.
        min_size: least items per worker (``>= 1``).

    Returns:
        A :class:`Partition` covering all ``N`` items.

    Raises:
        ValueError: bad arguments, or no draw in :data:`MAX_TRIES` gave every worker
            ``min_size`` items.

    Example:
        >>> labels = np.repeat(np.arange(4), 25)
        >>> parts = dirichlet_partition(labels, 5, alpha=0.5, seed=0)
        >>> len(parts), sum(len(p) for p in parts), parts.spec["kind"]
        (5, 100, 'dirichlet')
    """
    y = _labels(labels)
    n, min_size, seed, alpha = _positive_int("n", n), _positive_int("min_size", min_size), _seed(seed), _alpha(alpha)
    _check_room(y.size, n, min_size)
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(y == c) for c in np.unique(y)]
    for _ in range(MAX_TRIES):
        chunks: list[list[NDArray[np.intp]]] = [[] for _ in range(n)]
        for idx in by_class:
            shares = rng.dirichlet(np.full(n, alpha))
            for j, piece in enumerate(_cut(rng.permutation(idx), shares)):
                chunks[j].append(piece)
        parts = [np.sort(np.concatenate(c)) for c in chunks]
        if min(len(p) for p in parts) >= min_size:
            return Partition(parts, dict(kind="dirichlet", n=n, alpha=alpha, seed=seed, min_size=min_size))
    raise _empty_worker(alpha, n, min_size)


def shard_partition(labels: ArrayLike, n: int, classes_per_worker: int, seed: int) -> Partition:
    """The FedAvg paper's split: sort by label, cut into ``n k`` near-equal shards, deal ``k`` per worker.

    Ties inside a class are broken by a seeded shuffle; the shards are dealt at random. With
    shards no larger than a class, each worker sees at most about ``k`` classes (a shard can
    straddle two).

    Args:
        labels: class of every item, ``(N,)``.
        n: workers.
        classes_per_worker: shards per worker, ``k >= 1`` (``n k <= N``).
        seed: seed of the shuffle and of the deal.

    Returns:
        A :class:`Partition` covering all items; sizes differ by at most ``k``.

    Example:
        >>> parts = shard_partition(np.repeat(np.arange(10), 10), 5, classes_per_worker=2, seed=0)
        >>> [len(np.unique(np.repeat(np.arange(10), 10)[p])) for p in parts]
        [2, 2, 2, 2, 2]
    """
    y = _labels(labels)
    n, k, seed = _positive_int("n", n), _positive_int("classes_per_worker", classes_per_worker), _seed(seed)
    if n * k > y.size:
        raise ValueError(f"classes_per_worker must be at most {y.size // n}: {n} workers x {k} shards exceeds "
                         f"the {y.size} items")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(y.size)
    order = perm[np.argsort(y[perm], kind="stable")]
    shards = np.array_split(order, n * k)
    deal = rng.permutation(n * k).reshape(n, k)
    parts = [np.sort(np.concatenate([shards[s] for s in row])) for row in deal]
    return Partition(parts, dict(kind="shards", n=n, classes_per_worker=k, seed=seed))


def quantity_skew_partition(size: int, n: int, alpha: float, seed: int, min_size: int = 1) -> Partition:
    """IID items, unequal amounts: worker sizes in proportions ~ ``Dirichlet(alpha)``.

    The items are shuffled and cut at the cumulative proportions; redrawn (up to
    :data:`MAX_TRIES` times) until every worker holds ``min_size`` items. Small ``alpha``:
    very unequal sizes (and data weights).

    Args:
        size: number of items ``N``.
        n: workers.
        alpha: Dirichlet concentration, ``> 0``.
        seed: seed of the draw.
        min_size: least items per worker.

    Example:
        >>> parts = quantity_skew_partition(100, 4, alpha=1.0, seed=0)
        >>> sum(len(p) for p in parts), len(np.unique(np.concatenate(parts)))
        (100, 100)
    """
    size = _positive_int("size", size)
    n, min_size, seed, alpha = _positive_int("n", n), _positive_int("min_size", min_size), _seed(seed), _alpha(alpha)
    _check_room(size, n, min_size)
    rng = np.random.default_rng(seed)
    for _ in range(MAX_TRIES):
        parts = [np.sort(p) for p in _cut(rng.permutation(size), rng.dirichlet(np.full(n, alpha)))]
        if min(len(p) for p in parts) >= min_size:
            return Partition(parts, dict(kind="quantity", n=n, alpha=alpha, seed=seed, min_size=min_size))
    raise _empty_worker(alpha, n, min_size)


def iid_partition(labels_or_size: ArrayLike | int, n: int, seed: int) -> Partition:
    """The IID baseline: a uniformly random split into ``n`` parts whose sizes differ by at most one.

    Args:
        labels_or_size: the labels (only their number is used) or the number of items.
        n: workers (at most the number of items).
        seed: seed of the shuffle.

    Example:
        >>> [len(p) for p in iid_partition(10, 3, seed=0)]
        [4, 3, 3]
    """
    if isinstance(labels_or_size, (int, np.integer)) and not isinstance(labels_or_size, bool):
        size = _positive_int("labels_or_size", labels_or_size)
    else:
        size = _labels(labels_or_size).size
    n, seed = _positive_int("n", n), _seed(seed)
    _check_room(size, n, 1)
    rng = np.random.default_rng(seed)
    parts = [np.sort(p) for p in np.array_split(rng.permutation(size), n)]
    return Partition(parts, dict(kind="iid", n=n, seed=seed))


def class_partition(labels: ArrayLike, n: int) -> Partition:
    """One class per worker: the authors' label-sorted split (their ``cifar_noniid``), cut at class
    boundaries.

    Each of the ``C`` classes is cut, in index order, into ``n / C`` near-equal pieces, and worker
    ``j`` holds piece ``j mod (n / C)`` of class ``j // (n / C)``: with ``n = C`` worker ``j`` holds
    all of class ``j``; with ``n = 2C`` workers ``2c`` and ``2c + 1`` hold the halves of class ``c``.
    The authors' ``cifar_noniid`` sorts the labels and cuts ``n`` equal shards, which on
    CIFAR-10's equal classes (5,000 images each) is exactly this split; on unequal classes equal
    shards would straddle two classes, so here the cuts follow the classes and the sizes follow
    the classes' sizes (deterministic: no seed).

    Args:
        labels: class of every item, ``(N,)``; the classes are ``np.unique(labels)``.
        n: workers, a multiple of the number of classes.

    Example:
        >>> parts = class_partition(np.array([0, 1, 0, 1, 1, 0]), 4)
        >>> [p.tolist() for p in parts]
        [[0, 2], [5], [1, 3], [4]]
    """
    y = _labels(labels)
    n = _positive_int("n", n)
    classes = np.unique(y)
    if n % classes.size:
        raise ValueError(f"n must be a multiple of the {classes.size} classes (one class per worker), got n = {n}")
    per_class = n // classes.size
    parts = [piece for c in classes for piece in np.array_split(np.flatnonzero(y == c), per_class)]
    if min(len(p) for p in parts) == 0:
        raise ValueError(f"n = {n} leaves a worker with no items: a class has fewer than {per_class} items")
    return Partition(parts, dict(kind="class", n=n))


def group_iid_partition(labels: ArrayLike, n: int, N: int, seed: int) -> Partition:
    """Group-IID: every one of ``N`` contiguous groups sees every class (the authors' ``cifar_giid``).

    The items are split uniformly at random into ``N`` near-equal halves (``N = 2``) or parts, one
    per group of ``n / N`` consecutive workers; inside group ``g``, class ``c`` of part ``g`` goes to
    the group's worker ``c mod (n / N)``. With ``n = 10``, ``N = 2`` and ten classes this is
    ``cifar_giid`` of the authors' ``utils/sampling.py``: workers ``i`` and ``i + 5`` hold classes
    ``i`` and ``i + 5``, from the two random halves of the data, so each group of five holds all ten
    classes and each worker two.

    Args:
        labels: class of every item, ``(N_items,)``.
        n: workers, a multiple of ``N``.
        N: groups (workers ``g n/N .. (g+1) n/N - 1`` form group ``g``, the authors' contiguous groups).
        seed: seed of the random split into parts.

    Example:
        >>> y = np.repeat(np.arange(4), 50)
        >>> parts = group_iid_partition(y, 4, 2, seed=0)
        >>> [sorted(set(y[p].tolist())) for p in parts]
        [[0, 2], [1, 3], [0, 2], [1, 3]]
    """
    y = _labels(labels)
    n, N, seed = _positive_int("n", n), _positive_int("N", N), _seed(seed)
    if n % N:
        raise ValueError(f"n must be a multiple of N (equal contiguous groups), got n = {n}, N = {N}")
    size = n // N
    classes = np.unique(y)
    if classes.size < size:
        raise ValueError(f"a group of n / N = {size} workers needs at least {size} classes (one per worker), "
                         f"there are {classes.size}")
    rng = np.random.default_rng(seed)
    chunks: list[list[NDArray[np.intp]]] = [[] for _ in range(n)]
    for g, part in enumerate(np.array_split(rng.permutation(y.size), N)):
        for k, c in enumerate(classes):
            chunks[g * size + k % size].append(part[y[part] == c])
    parts = [np.sort(np.concatenate(c)) for c in chunks]
    if min(len(p) for p in parts) == 0:
        raise ValueError(f"a worker was left with no items (n = {n}, N = {N}): too few items per class")
    return Partition(parts, dict(kind="group_iid", n=n, N=N, seed=seed))


KINDS = ("dirichlet", "shards", "quantity", "iid")
"""The partitioners :func:`make_partition` knows, by name."""


def make_partition(kind: str, labels: ArrayLike, n: int, *, alpha: float | None = None,
                   classes_per_worker: int | None = None, seed: int = 0, min_size: int = 1) -> Partition:
    """One of the partitioners by name, with only the parameter it uses.

    Args:
        kind: ``"dirichlet"`` (:func:`dirichlet_partition`, needs ``alpha``), ``"shards"``
            (:func:`shard_partition`, needs ``classes_per_worker``), ``"quantity"``
            (:func:`quantity_skew_partition` of ``len(labels)`` items, needs ``alpha``) or
            ``"iid"`` (:func:`iid_partition`).
        labels: class of every item, ``(N,)``.
        n, seed: workers and seed.
        alpha, classes_per_worker, min_size: the partitioner's parameter; giving one the
            partitioner does not use is an error.

    Example:
        >>> make_partition("shards", np.repeat(np.arange(4), 5), 2, classes_per_worker=2).spec["kind"]
        'shards'
        >>> make_partition("iid", np.zeros(8, dtype=int), 2, alpha=0.5)
        Traceback (most recent call last):
        ...
        ValueError: alpha applies to kind 'dirichlet' or 'quantity', not 'iid'
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if alpha is not None and kind not in ("dirichlet", "quantity"):
        raise ValueError(f"alpha applies to kind 'dirichlet' or 'quantity', not {kind!r}")
    if classes_per_worker is not None and kind != "shards":
        raise ValueError(f"classes_per_worker applies to kind 'shards', not {kind!r}")
    if kind in ("dirichlet", "quantity") and alpha is None:
        raise ValueError(f"alpha is required for kind {kind!r}")
    if kind == "shards" and classes_per_worker is None:
        raise ValueError("classes_per_worker is required for kind 'shards'")
    if kind == "dirichlet":
        return dirichlet_partition(labels, n, alpha, seed, min_size=min_size)
    if kind == "shards":
        return shard_partition(labels, n, classes_per_worker, seed)
    if kind == "quantity":
        return quantity_skew_partition(_labels(labels).size, n, alpha, seed, min_size=min_size)
    return iid_partition(labels, n, seed)


def as_partition(partition: Sequence[ArrayLike], n: int, size: int, what: str = "items") -> Partition:
    """``partition`` checked as ``n`` non-empty integer index arrays into ``size`` items, as a
    :class:`Partition` (keeping its ``spec``, else ``{"kind": "given"}``). Overlaps are allowed.

    Example:
        >>> as_partition([[0, 1], [5]], 2, size=4)
        Traceback (most recent call last):
        ...
        ValueError: partition[1] must index the 4 items (0 .. 3)
    """
    if isinstance(partition, (str, bytes)) or not hasattr(partition, "__len__") or len(partition) != n:
        got = len(partition) if hasattr(partition, "__len__") else repr(partition)
        raise ValueError(f"partition must hold n = {n} index arrays, got {got}")
    parts = []
    for j, p in enumerate(partition):
        arr = np.asarray(p)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"partition[{j}] must be a non-empty 1-d array of integer indices")
        if arr.min() < 0 or arr.max() >= size:
            raise ValueError(f"partition[{j}] must index the {size} {what} (0 .. {size - 1})")
        parts.append(arr)
    return Partition(parts, partition.spec if isinstance(partition, Partition) else None)


# ---------------------------------------------------------------------- weights and skew
def data_weights(parts: Sequence[ArrayLike]) -> NDArray[np.float64]:
    """The data-size weights ``p_j = |part_j| / sum_k |part_k|`` (they sum to 1).

    Example:
        >>> data_weights([[0, 1, 2], [3]]).tolist()
        [0.75, 0.25]
    """
    if len(parts) == 0:
        raise ValueError("parts must hold at least one worker's indices")
    sizes = np.array([np.size(p) for p in parts], dtype=np.float64)
    if sizes.min() == 0:
        raise ValueError(f"parts must all be non-empty: worker {int(np.argmin(sizes))} holds no items")
    return sizes / sizes.sum()


def label_entropy(labels: ArrayLike, parts: Sequence[ArrayLike]) -> NDArray[np.float64]:
    """Entropy (nats) of each worker's label distribution, ``(n,)``: ``log C`` for a balanced mix
    of ``C`` classes, 0 for a single class. Its mean over workers falls as label skew grows.

    Example:
        >>> label_entropy([0, 0, 1, 1], [[0, 1], [0, 2]]).round(4).tolist()
        [0.0, 0.6931]
    """
    y = _labels(labels)
    k = int(y.max()) + 1
    out = np.empty(len(parts))
    for j, p in enumerate(parts):
        counts = np.bincount(y[np.asarray(p, dtype=np.intp)], minlength=k).astype(np.float64)
        q = counts[counts > 0] / counts.sum()
        out[j] = float(-(q * np.log(q)).sum())
    return out


# ---------------------------------------------------------------------- weighted divergences
def _check_weights(weights: ArrayLike, n: int) -> NDArray[np.float64]:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), got {w.shape}")
    if not np.all(np.isfinite(w)) or w.min() <= 0 or abs(w.sum() - 1) > 1e-9:
        raise ValueError("weights must be positive and sum to 1")
    return w


def weighted_divergences(grads: ArrayLike, levels: Sequence[ArrayLike], weights: ArrayLike
                         ) -> tuple[NDArray[np.float64], list[NDArray[np.float64]], list[NDArray[np.float64]]]:
    r"""A3's divergences with data weights, at every point: the total and every group's ``div_p``.

    With weights ``p_j`` (summing to 1), a group's weight is ``p_q = sum_{j in q} p_j``, its
    objective ``f_q = sum_{j in q} (p_j/p_q) F_j``, and (docs/theory.md §10.1 Setting, A3 with
    weights: §1.3 Assumptions A1-A3 with ``n_q/n`` replaced by ``p_q``)

    .. math::
        \operatorname{div}_p(x) = \sum_{q\text{ child of }p} \frac{p_q}{p_p}
        \lVert\nabla f_q(x) - \nabla f_p(x)\rVert^2,\qquad
        \varepsilon_l^2 \ge \sum_{p \in \mathcal G_l} p_p \sup_x \operatorname{div}_p(x).

    Equal weights ``1/n`` give the size-weighted divergences.

    Args:
        grads: per-worker gradients at ``P`` points, ``(P, n, d)``.
        levels: ``M - 1`` nested label arrays, finest first (:mod:`bounds.divergence`).
        weights: ``(n,)``, positive, summing to 1.

    Returns:
        ``(total, divs, group_weights)``: ``total`` ``(P,)`` is ``sum_j p_j ||grad F_j - grad f||^2``;
        ``divs[l-1]`` ``(P, K_l)`` is ``div_p`` of every level-``l`` group (``l = 1..M``,
        groups numbered by their labels; level ``M`` is the one global group);
        ``group_weights[l-1]`` ``(K_l,)`` their ``p_p``.

    Example:
        >>> g = np.array([[[0.0], [3.0], [6.0]]])          # one point, three workers, d = 1
        >>> total, divs, pw = weighted_divergences(g, [[0, 0, 1]], [0.25, 0.25, 0.5])
        >>> float(total[0]), divs[0][0].tolist(), divs[1][0].tolist(), pw[0].tolist()
        (6.1875, [2.25, 0.0], [5.0625], [0.5, 0.5])
    """
    from bounds.divergence import validate_levels

    g = np.asarray(grads, dtype=np.float64)
    if g.ndim != 3:
        raise ValueError(f"grads must have shape (P, n, d), got {g.shape}")
    n = g.shape[1]
    w = _check_weights(weights, n)
    labs = validate_levels(levels, n)
    chain = [*labs, np.zeros(n, dtype=np.intp)]
    f = np.einsum("j,pjd->pd", w, g)
    centred = g - f[:, None, :]
    total = np.einsum("j,pjd,pjd->p", w, centred, centred)
    divs, group_weights = [], []
    prev_lab, prev_means, prev_w = np.arange(n), g, w
    for lab in chain:
        K = int(lab.max()) + 1
        pw = np.bincount(lab, weights=w, minlength=K)
        onehot = np.zeros((n, K))
        onehot[np.arange(n), lab] = w / pw[lab]                    # worker j's share of its group
        means = np.einsum("jk,pjd->pkd", onehot, g)                # grad f_q for every level-l group
        parent = np.empty(prev_w.size, dtype=np.intp)
        parent[prev_lab] = lab                                     # level-l group of each child
        diff = prev_means - means[:, parent, :]
        sq = np.einsum("pcd,pcd->pc", diff, diff) * (prev_w / pw[parent])
        div = np.zeros((g.shape[0], K))
        np.add.at(div, (slice(None), parent), sq)
        divs.append(div)
        group_weights.append(pw)
        prev_lab, prev_means, prev_w = lab, means, pw
    return total, divs, group_weights


# ---------------------------------------------------------------------- report
def _constant(c: Any) -> dict[str, Any]:
    return {"value": float(c.value), "label": str(c.label)}


def partition_report(problem: Any, levels: Sequence[ArrayLike] = ()) -> dict[str, Any]:
    """What a partitioned problem reports for a grouping: its partition, sizes, weights and constants.

    ``L``, ``sigma``, ``eps`` and A3's per-level ``eps_l`` (finest first) come from
    ``problem.constants(levels)``, each with its label (``"estimated (...)"`` with the sampling
    they came from, where sampled); on a problem with data weights the divergences are the
    weighted ones of :func:`weighted_divergences`.

    Args:
        problem: a problem whose ``partition`` (a :class:`Partition`) and ``weights`` are set,
            and ``labels`` where it has them (the hooks of :mod:`empirical.problems.protocol`):
            :class:`empirical.problems.digits.DigitsMLP`, :class:`empirical.problems.FiniteSumLogistic`.
        levels: the grouping, ``M - 1`` nested label arrays, finest first.

    Returns:
        A dict: ``partition`` (its ``spec``: kind and parameter), ``n``, ``sizes``,
        ``weights``, ``label_entropy`` (mean over workers, nats, where the problem has
        labels), ``L``, ``sigma``, ``eps``, ``eps_levels`` (each ``{"value", "label"}``),
        ``f_star`` and ``estimated`` (:meth:`empirical.constants.Constants.estimated`).

    Raises:
        ValueError: ``problem`` has no partition (nothing to report).
    """
    partition = problem.partition
    if partition is None or problem.weights is None:
        raise ValueError(f"problem must be a partitioned problem (with partition and weights), got "
                         f"{type(problem).__name__}")
    c = problem.constants(levels)
    report: dict[str, Any] = {
        "partition": dict(partition.spec),
        "n": int(problem.n),
        "sizes": [int(s) for s in partition.sizes],
        "weights": [float(w) for w in problem.weights],
    }
    labels = problem.labels
    if labels is not None:
        report["label_entropy"] = float(label_entropy(labels, partition).mean())
    report.update(L=_constant(c.L), sigma=_constant(c.sigma), eps=_constant(c.eps),
                  eps_levels=[_constant(e) for e in c.eps_levels], f_star=_constant(c.f_star),
                  estimated=list(c.estimated()))
    return report
