"""A real-data problem: scikit-learn's bundled handwritten digits, split across workers by label.

The non-IID setting of the paper's experiments, in miniature: each worker holds the training
images of only ``labels_per_worker`` classes, and all workers train one small non-convex
model, a one-hidden-layer network ``softmax(W2 tanh(W1 a + b1) + b2)`` with cross-entropy
loss, by minibatch SGD. The data ships inside scikit-learn (no download).

Any other split of the training images can be given as ``partition`` (index arrays, e.g.
from :mod:`empirical.partitions`; :func:`digits_partitioned` builds the common ones); workers
may then hold unequal numbers of images, and the global objective is the data-weighted
``f = sum_j p_j F_j`` with ``p_j`` the worker's share of the images (docs/theory.md §10.1
Setting).

Constants here are *estimated* (sampled along a pilot trajectory, and labelled so, see
:meth:`DigitsMLP.constants`): the problem serves the F7 comparison of local SGD, H-SGD and
local SGD, not the validity checks.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.partitions import KINDS, Partition, as_partition, data_weights, make_partition
from empirical.constants import LOWER, Constant, Constants
from empirical.problems.protocol import ProblemBase
from empirical.problems.sampled_constants import sampled_divergences, sampled_sigma

__all__ = ["DigitsMLP", "digits_partitioned", "digits_train_labels"]


@lru_cache(maxsize=1)
def _load() -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The digits as ``(X / 16, y)``, loaded once per process (read-only arrays)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _split(test_fraction: float, seed: int) -> tuple[np.random.Generator, NDArray[np.intp], NDArray[np.intp]]:
    """The seeded generator (after the shuffle) and the test and training indices of the images."""
    y = _load()[1]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    return rng, perm[:n_test], perm[n_test:]


def digits_train_labels(test_fraction: float = 0.2, seed: int = 0) -> NDArray[np.intp]:
    """Labels of the training images of ``DigitsMLP(test_fraction=..., seed=...)``, in the order a
    ``partition`` indexes them (give these to a partitioner of :mod:`empirical.partitions`).

    Example:
        >>> y = digits_train_labels()
        >>> y.shape, sorted(set(y.tolist())) == list(range(10))
        ((1438,), True)
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    _, _, train = _split(test_fraction, seed)
    return _load()[1][train].copy()


class DigitsMLP(ProblemBase):
    """One-hidden-layer network on the digits, ``n`` workers with few labels each.

    Args:
        n: workers; worker ``j`` holds the training images of classes
            ``(j * labels_per_worker + k) mod 10`` for ``k < labels_per_worker``, split evenly
            among the workers that share a class.
        hidden: hidden units.
        batch: minibatch size per worker and step.
        labels_per_worker: classes per worker (10 is IID).
        test_fraction: held-out share of the images for the test accuracy.
        seed: seed of the split and of the default start.
        partition: ``None`` (the label split above, cut to equal shards of ``m`` images), or
            ``n`` non-empty index arrays into the training images (labels:
            :func:`digits_train_labels`), e.g. a :class:`~empirical.partitions.Partition`;
            ``labels_per_worker`` is then unused. Workers may hold unequal numbers of images.

    Attributes:
        X, Y: ``(n, m, 64)`` images and ``(n, m)`` labels per worker, ``m`` the largest
            worker's size; a smaller worker's rows past its size are zero padding, never used.
        sizes: images per worker, ``(n,)``.
        weights: data weights ``p_j = sizes[j] / sizes.sum()`` (:func:`~empirical.partitions.data_weights`);
            the global objective is ``f = sum_j p_j F_j`` (equal weights: the plain average).
        partition: the worker index arrays into the training images, a
            :class:`~empirical.partitions.Partition` whose ``spec`` says how it was made.
        labels: labels of the training images (what ``partition`` indexes).
        classes: the classes each worker holds.
    """

    def __init__(self, n: int = 20, hidden: int = 16, batch: int = 8, labels_per_worker: int = 2,
                 test_fraction: float = 0.2, seed: int = 0, partition: Sequence[ArrayLike] | None = None) -> None:
        for name, value in (("n", n), ("hidden", hidden), ("batch", batch), ("labels_per_worker", labels_per_worker)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 1 <= labels_per_worker <= 10:
            raise ValueError(f"labels_per_worker must be between 1 and 10, got {labels_per_worker}")
        if not 0 <= test_fraction < 1:
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
        X, y = _load()
        rng, test, train = _split(test_fraction, seed)
        self.test_X, self.test_y = X[test], y[test]
        train_X, train_y = X[train], y[train]
        self.n, self.hidden, self.batch = int(n), int(hidden), int(batch)
        self.shapes = [(hidden, 64), (hidden,), (10, hidden), (10,)]
        self.d = int(sum(np.prod(s) for s in self.shapes))
        self.labels = train_y
        if partition is None:
            per_worker = self._label_split(train_y, labels_per_worker)
            m = min(len(p) for p in per_worker)
            if m == 0:
                raise ValueError("some worker holds no images: use fewer workers or more labels per worker")
            # equal shards (the first m of each worker's images) keep every array rectangular
            self.partition = Partition([p[:m] for p in per_worker],
                                       dict(kind="label_pairs", n=self.n, labels_per_worker=int(labels_per_worker)))
        else:
            self.partition = as_partition(partition, self.n, len(train_y), "training images")
        self.sizes = self.partition.sizes
        self.weights = data_weights(self.partition)
        self._equal = bool(np.all(self.sizes == self.sizes[0]))
        m = int(self.sizes.max())
        if self._equal:
            self.X = np.stack([train_X[p] for p in self.partition])           # (n, m, 64)
            self.Y = np.stack([train_y[p] for p in self.partition])           # (n, m)
            self._example_w = None
        else:  # pad to the largest worker; padded rows weigh 0 and are never drawn
            self.X = np.zeros((self.n, m, 64))
            self.Y = np.zeros((self.n, m), dtype=train_y.dtype)
            self._example_w = np.zeros((self.n, m))
            for j, p in enumerate(self.partition):
                self.X[j, :len(p)], self.Y[j, :len(p)] = train_X[p], train_y[p]
                self._example_w[j, :len(p)] = 1.0 / len(p)
        self._size_col = self.sizes[:, None]
        self.m = m
        self.classes = ([[(j * labels_per_worker + k) % 10 for k in range(labels_per_worker)] for j in range(self.n)]
                        if partition is None else [np.unique(train_y[p]).tolist() for p in self.partition])
        self._x0 = np.concatenate([rng.normal(scale=1 / np.sqrt(64), size=hidden * 64), np.zeros(hidden),
                                   rng.normal(scale=1 / np.sqrt(hidden), size=10 * hidden), np.zeros(10)])
        self.params = dict(kind="digits_mlp", n=self.n, hidden=self.hidden, batch=self.batch,
                           labels_per_worker=int(labels_per_worker), m=int(m), seed=int(seed))
        if partition is not None:
            del self.params["labels_per_worker"]
            self.params["partition"] = dict(self.partition.spec)
        self._estimates: tuple | None = None

    def _label_split(self, train_y: NDArray[np.intp], labels_per_worker: int) -> list[list[int]]:
        """The default split: which workers hold each class; each class's images dealt evenly among them."""
        classes = [[(j * labels_per_worker + k) % 10 for k in range(labels_per_worker)] for j in range(self.n)]
        owners = {c: [j for j in range(self.n) if c in classes[j]] for c in range(10)}
        per_worker: list[list[int]] = [[] for _ in range(self.n)]
        for c in range(10):
            idx = np.flatnonzero(train_y == c)
            if not owners[c]:
                continue
            for k, part in enumerate(np.array_split(idx, len(owners[c]))):
                per_worker[owners[c][k]].extend(part.tolist())
        return per_worker

    def default_x0(self) -> NDArray[np.float64]:
        return self._x0

    def _unpack(self, x: NDArray[np.float64]):
        parts, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            parts.append(x[..., start:start + size].reshape(x.shape[:-1] + shape))
            start += size
        return parts

    def _loss_grad(self, x: NDArray[np.float64], A: NDArray[np.float64], y: NDArray[np.intp], need_grad: bool = True,
                   w: NDArray[np.float64] | None = None):
        """Mean cross-entropy over the examples axis of ``A`` (``(..., B, 64)``) and its gradient;
        with ``w`` (``(..., B)``, summing to 1 over ``B``) the ``w``-weighted mean instead."""
        W1, b1, W2, b2 = self._unpack(x)
        # batched matrix products (BLAS) rather than einsum: several times faster here
        H = np.tanh(A @ np.swapaxes(W1, -1, -2) + b1[..., None, :])      # (..., B, hidden)
        Z = H @ np.swapaxes(W2, -1, -2) + b2[..., None, :]                 # (..., B, 10)
        Z = Z - Z.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=-1, keepdims=True)
        onehot = np.eye(10)[y]
        if w is None:
            loss = -np.mean(np.sum(onehot * np.log(P + 1e-300), axis=-1), axis=-1)
        else:
            loss = -np.sum(w * np.sum(onehot * np.log(P + 1e-300), axis=-1), axis=-1)
        if not need_grad:
            return loss, None
        if w is None:
            dZ = (P - onehot) / A.shape[-2]                                # (..., B, 10)
        else:
            dZ = (P - onehot) * w[..., None]
        gW2 = np.swapaxes(dZ, -1, -2) @ H
        gb2 = dZ.sum(axis=-2)
        dH = (dZ @ W2) * (1 - H * H)
        gW1 = np.swapaxes(dH, -1, -2) @ A
        gb1 = dH.sum(axis=-2)
        lead = x.shape[:-1]
        grad = np.concatenate([g.reshape(lead + (-1,)) for g in (gW1, gb1, gW2, gb2)], axis=-1)
        return loss, grad

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad F_j`` of every worker, ``F_j`` the mean loss over worker ``j``'s own images."""
        return self._loss_grad(x, self.X, self.Y, w=self._example_w)[1]

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        """Minibatch gradients: each worker averages ``batch`` of its own images drawn uniformly
        with replacement (among its ``sizes[j]``, never the padding), written into ``out``."""
        if self._equal:
            idx = rng.integers(0, self.m, size=x.shape[:-1] + (self.batch,))   # (..., n, B)
        else:
            idx = rng.integers(0, self._size_col, size=x.shape[:-1] + (self.batch,))
        workers = np.arange(self.n)[:, None]
        out[...] = self._loss_grad(x, self.X[workers, idx], self.Y[workers, idx])[1]
        return out

    def _all_workers(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(u[..., None, :], u.shape[:-1] + (self.n, self.d))

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The global objective ``f(u) = sum_j p_j F_j(u)`` (the plain average for equal sizes)."""
        per_worker = self._loss_grad(self._all_workers(u), self.X, self.Y, need_grad=False, w=self._example_w)[0]
        return per_worker.mean(axis=-1) if self._equal else per_worker @ self.weights

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad f(u) = sum_j p_j grad F_j(u)``."""
        grads = self.worker_grads(self._all_workers(u))
        return grads.mean(axis=-2) if self._equal else np.einsum("j,...jd->...d", self.weights, grads)

    def test_accuracy(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Share of held-out images the model ``u`` (``(..., d)``) classifies correctly."""
        W1, b1, W2, b2 = self._unpack(u)
        H = np.tanh(np.einsum("...hi,bi->...bh", W1, self.test_X) + b1[..., None, :])
        Z = np.einsum("...ch,...bh->...bc", W2, H) + b2[..., None, :]
        return np.mean(Z.argmax(axis=-1) == self.test_y, axis=-1)

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        """Estimated constants, labelled ``"estimated (...)"`` with their sampling; ``f* >= 0`` is certified.

        All are sampled along one pilot trajectory from the start
        (:func:`empirical.smoothness.pilot_trajectory`: gradient descent, and a noisy run
        without averaging): ``L`` by Hessian power iteration on every worker at every pilot
        point, times 1.1 (:func:`empirical.smoothness.estimate_smoothness`); ``sigma`` from
        16 minibatch draws at the gradient-descent points; ``eps`` and A3's per-level
        ``eps_l`` (for the grouping ``levels``) from every model the pilot saw; with unequal
        worker sizes these are the data-weighted divergences (``n_q/n`` replaced by the
        weight sums ``p_q``, docs/theory.md §10.1 Setting;
        :func:`empirical.partitions.weighted_divergences`). Estimates, not
        certificates: a verdict resting on them is not a check of the theorem
        (:meth:`Constants.estimated` lists them). The grouping-independent part is cached.
        """
        from empirical.smoothness import estimate_smoothness, pilot_trajectory

        labs = validate_levels(levels, self.n)
        if self._estimates is None:
            pilot = pilot_trajectory(self, seed=1)
            L = estimate_smoothness(self, pilot)
            sigma = sampled_sigma(self, pilot.shared, np.random.default_rng(1), draws=16, source="pilot-trajectory")
            self._estimates = (pilot, L, sigma)
        pilot, L, sigma = self._estimates
        eps, eps_levels = sampled_divergences(self, pilot.points(), labs, source="pilot-trajectory",
                                              weights=None if self._equal else self.weights)
        return Constants(L=L, sigma=sigma, eps=eps, eps_levels=eps_levels, f_star=Constant(0.0, LOWER))


def digits_partitioned(kind: str, n: int, *, alpha: float | None = None, classes_per_worker: int | None = None,
                       seed: int = 0, min_size: int = 1, **kwargs: Any) -> DigitsMLP:
    """:class:`DigitsMLP` with its training images split by a partitioner of :mod:`empirical.partitions`.

    Args:
        kind: ``"dirichlet"`` (label skew, needs ``alpha``), ``"shards"`` (the FedAvg paper's
            split, needs ``classes_per_worker``), ``"quantity"`` (IID labels, sizes skewed,
            needs ``alpha``) or ``"iid"``.
        n: workers.
        alpha: Dirichlet concentration (``"dirichlet"``, ``"quantity"``).
        classes_per_worker: shards per worker (``"shards"``).
        seed: seed of the partition, and of the problem (its test split and start).
        min_size: least images per worker (``"dirichlet"``, ``"quantity"``).
        **kwargs: passed to :class:`DigitsMLP` (``hidden``, ``batch``, ``test_fraction``).

    Example:
        >>> p = digits_partitioned("dirichlet", 10, alpha=0.3, seed=0)
        >>> p.n, p.partition.spec["kind"], round(float(p.weights.sum()), 12)
        (10, 'dirichlet', 1.0)
    """
    for key in ("partition", "labels_per_worker", "n", "seed"):
        if key in kwargs:
            raise ValueError(f"{key} is set by digits_partitioned, not passed through")
    if kind not in KINDS:  # before loading the data
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    labels = digits_train_labels(kwargs.get("test_fraction", 0.2), seed)
    parts = make_partition(kind, labels, n, alpha=alpha, classes_per_worker=classes_per_worker, seed=seed,
                           min_size=min_size)
    return DigitsMLP(n=n, seed=seed, partition=parts, **kwargs)
