"""Regularised logistic regression on per-worker synthetic data (:class:`FiniteSumLogistic`):
minibatch noise, a certified ``L`` and ``f*``, estimated ``sigma`` and divergences; its pool
of examples can be split by any partitioner of :mod:`empirical.partitions` (data weights).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.constants import LOWER, UPPER, Constant, Constants
from empirical.partitions import Partition, as_partition, data_weights, make_partition
from empirical.problems.phi import PHI_SECOND_MAX, phi_prime
from empirical.problems.protocol import ProblemBase
from empirical.problems.sampled_constants import sampled_divergences, sampled_sigma

__all__ = ["FiniteSumLogistic"]


class FiniteSumLogistic(ProblemBase):
    r"""Non-convex regularised logistic regression on per-worker synthetic data, minibatch SGD.

    A pool of ``n m`` examples ``(a_i, y_i)`` is drawn from ``classes`` Gaussian classes
    (default ``classes = n``): class ``c`` has ``a_i = mu_c + N(0, I)`` with
    ``mu_c ~ N(0, shift^2 I)`` (``shift`` scales how different the classes are), and
    ``y_i = +-1`` from the logistic model of a common random ``truth``. The pool's class
    labels (:attr:`labels`, sorted, near-equal class sizes; :meth:`pool_labels`) let any
    partitioner of :mod:`empirical.partitions` split it. By default worker ``j`` holds the
    ``j``-th contiguous block of ``m`` examples (with ``classes = n``: class ``j``, worker
    ``j``'s own mean); with ``partition`` it holds ``pool[partition[j]]``, and
    .. math:: F_j(x) = \frac1{m_j}\sum_{i \in j} \log(1 + e^{-y_i a_i^\top x}) + \lambda\sum_k \frac{x_k^2}{1+x_k^2},
        \qquad f = \sum_j p_j F_j,\quad p_j = \frac{m_j}{\sum_k m_k}

    (equal sizes: the plain average). Stochastic gradients average a minibatch of ``batch``
    of the worker's own examples drawn uniformly with replacement.
    ``L <= max_j lambda_max(A_j^T A_j)/(4 m_j) + 2 lambda`` is a certified upper bound; ``f* >= 0``
    a certified lower bound; ``sigma`` and ``eps`` are *estimated* from samples (and labelled
    so; with unequal sizes the divergences are the data-weighted ones,
    :func:`empirical.partitions.weighted_divergences`): use them for comparisons, not as guarantees.

    Attributes:
        A, y: ``(n, m_max, d)`` features and ``(n, m_max)`` targets per worker; rows past a
            worker's size are zero padding (never used).
        labels: class of every pool example, ``(n m,)``; ``partition`` indexes the pool.
        partition: the workers' index arrays into the pool, a :class:`~empirical.partitions.Partition`.
        sizes, weights: examples per worker and the data weights ``p_j``.
    """

    def __init__(self, n: int = 16, d: int = 10, m: int = 64, *, batch: int = 4, shift: float = 1.0,
                 lam: float = 0.1, seed: int = 0, classes: int | None = None,
                 partition: Sequence[ArrayLike] | None = None) -> None:
        for name, value in (("n", n), ("d", d), ("m", m), ("batch", batch)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.n, self.d, self.batch, self.lam = int(n), int(d), int(batch), float(lam)
        self.labels = self.pool_labels(self.n, int(m), classes)
        C = int(self.labels[-1]) + 1
        rng = np.random.default_rng(seed)
        truth = rng.normal(size=self.d)
        means = rng.normal(scale=shift, size=(C, self.d))
        pool_A = means[self.labels] + rng.normal(size=(self.labels.size, self.d))
        logits = pool_A @ truth
        pool_y = np.where(rng.random(self.labels.size) < 1 / (1 + np.exp(-logits)), 1.0, -1.0)
        if partition is None:
            self.partition = Partition(np.arange(self.labels.size).reshape(self.n, int(m)),
                                       dict(kind="contiguous", n=self.n, classes=C))
        else:
            self.partition = as_partition(partition, self.n, self.labels.size, "pool examples")
        self.sizes = self.partition.sizes
        self.weights = data_weights(self.partition)
        self._equal = bool(np.all(self.sizes == self.sizes[0]))
        self.m = int(self.sizes.max())
        if self._equal:
            self.A = np.stack([pool_A[p] for p in self.partition])
            self.y = np.stack([pool_y[p] for p in self.partition])
            self._mask = None
        else:  # padding: zero rows with y = 0 add nothing to a gradient; the mask drops them from the loss
            self.A = np.zeros((self.n, self.m, self.d))
            self.y = np.zeros((self.n, self.m))
            self._mask = np.zeros((self.n, self.m))
            for j, p in enumerate(self.partition):
                self.A[j, :len(p)], self.y[j, :len(p)], self._mask[j, :len(p)] = pool_A[p], pool_y[p], 1.0
        self._size_col = self.sizes[:, None]
        self._seed = seed
        self.params = dict(n=self.n, d=self.d, m=int(m), batch=self.batch, shift=float(shift), lam=self.lam, seed=int(seed))
        if classes is not None:
            self.params["classes"] = C
        if partition is not None:
            self.params["partition"] = dict(self.partition.spec)

    @classmethod
    def partitioned(cls, kind: str, n: int = 16, *, alpha: float | None = None, classes_per_worker: int | None = None,
                    seed: int = 0, min_size: int = 1, m: int = 64, classes: int = 10,
                    **kwargs: Any) -> "FiniteSumLogistic":
        """The problem with its pool of ``n m`` examples from ``classes`` classes split by
        :func:`empirical.partitions.make_partition` (``kind`` ``"dirichlet"``, ``"shards"``,
        ``"quantity"`` or ``"iid"`` and its parameter); ``seed`` seeds the data and the partition;
        ``kwargs`` (``d``, ``batch``, ``shift``, ``lam``) go to the constructor.

        Example:
            >>> p = FiniteSumLogistic.partitioned("dirichlet", 8, alpha=0.2, d=3, m=16, classes=4)
            >>> p.partition.spec["alpha"], int(p.sizes.sum()), p.weights.shape
            (0.2, 128, (8,))
        """
        labels = cls.pool_labels(n, m, classes)
        parts = make_partition(kind, labels, n, alpha=alpha, classes_per_worker=classes_per_worker, seed=seed,
                               min_size=min_size)
        return cls(n, m=m, seed=seed, classes=classes, partition=parts, **kwargs)

    @staticmethod
    def pool_labels(n: int, m: int, classes: int | None = None) -> NDArray[np.intp]:
        """Class labels of the pool of ``FiniteSumLogistic(n, m=m, classes=classes)``: ``n m``
        examples, sorted, class sizes differing by at most one (what a partitioner splits).

        Example:
            >>> FiniteSumLogistic.pool_labels(2, 3, classes=4).tolist()
            [0, 0, 1, 1, 2, 3]
        """
        for name, value in (("n", n), ("m", m)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        n, m = int(n), int(m)
        C = n if classes is None else classes
        if isinstance(C, bool) or int(C) != C or not 1 <= C <= n * m:
            raise ValueError(f"classes must be an integer between 1 and n m = {n * m}, got {classes!r}")
        counts = [len(c) for c in np.array_split(np.arange(n * m), int(C))]
        return np.repeat(np.arange(int(C)), counts)

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def _reg_grad(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lam * phi_prime(x)

    def _data_grad(self, x: NDArray[np.float64], A: NDArray[np.float64], y: NDArray[np.float64],
                   count: ArrayLike | None = None) -> NDArray[np.float64]:
        """Mean logistic-loss gradient over the examples axis (divided by ``count`` per worker if given)."""
        margins = y * np.einsum("...bd,...d->...b", A, x)
        weights = -y / (1 + np.exp(margins))  # d/dz log(1 + e^{-yz}) at z = a.x
        return np.einsum("...b,...bd->...d", weights, A) / (A.shape[-2] if count is None else count)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad F_j`` of every worker, ``F_j`` the mean loss over its own examples (padding adds 0)."""
        return self._data_grad(x, self.A, self.y, None if self._equal else self._size_col) + self._reg_grad(x)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        """Minibatch gradients, ``batch`` of each worker's own examples drawn uniformly with
        replacement (among its ``sizes[j]``), written into ``out``."""
        high = self.m if self._equal else self._size_col
        idx = rng.integers(0, high, size=x.shape[:-1] + (self.batch,))               # (..., n, B)
        workers = np.arange(self.n)[:, None]
        A = self.A[workers, idx]                                                    # (..., n, B, d)
        y = self.y[workers, idx]
        out[...] = self._data_grad(x, A, y) + self._reg_grad(x)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``f(u) = sum_j p_j F_j(u)``: the mean loss over all the workers' examples."""
        margins = self.y * np.einsum("jmd,...d->...jm", self.A, u)
        if self._equal:
            data = np.logaddexp(0, -margins).mean(axis=(-2, -1))
        else:
            data = np.einsum("...jm,jm->...", np.logaddexp(0, -margins), self._mask) / self.sizes.sum()
        return data + self.lam * np.sum(u * u / (1 + u * u), axis=-1)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad f(u) = sum_j p_j grad F_j(u)``."""
        xs = np.broadcast_to(u[..., None, :], u.shape[:-1] + (self.n, self.d))
        grads = self.worker_grads(xs)
        return grads.mean(axis=-2) if self._equal else np.einsum("j,...jd->...d", self.weights, grads)

    def constants(self, levels: Sequence[ArrayLike] = (), samples: int = 256) -> Constants:
        """``L`` certified, ``f* >= 0`` certified, ``sigma`` and the (data-weighted) divergences
        estimated at ``samples`` random ``N(0, 4 I)`` points (:func:`sampled_divergences`;
        :func:`sampled_sigma` at the first 64 of them, 32 draws each), labelled so."""
        labs = validate_levels(levels, self.n)
        if self._equal:
            L = max(np.linalg.eigvalsh(Aj.T @ Aj).max() for Aj in self.A) / (4 * self.m) + PHI_SECOND_MAX * self.lam
        else:
            L = max(np.linalg.eigvalsh(Aj.T @ Aj).max() / (4 * s) for Aj, s in zip(self.A, self.sizes)) \
                + PHI_SECOND_MAX * self.lam
        rng = np.random.default_rng(self._seed + 1)
        points = rng.normal(scale=2.0, size=(samples, self.d))
        source = "random N(0, 4 I)"
        eps, eps_levels = sampled_divergences(self, points, labs, source=source,
                                              weights=None if self._equal else self.weights)
        sigma = sampled_sigma(self, points[:64], rng, draws=32, source=source)
        return Constants(L=Constant(float(L), UPPER), sigma=sigma, eps=eps, eps_levels=eps_levels,
                         f_star=Constant(0.0, LOWER))
