"""A real-data problem: scikit-learn's bundled handwritten digits, split across workers by label.

The non-IID setting of the paper's experiments, in miniature: each worker holds the training
images of only ``labels_per_worker`` classes, and all workers train one small non-convex
model, a one-hidden-layer network ``softmax(W2 tanh(W1 a + b1) + b2)`` with cross-entropy
loss, by minibatch SGD. The data ships inside scikit-learn (no download).

Constants here are *estimated* (sampled along a pilot trajectory, and labelled so, see
:meth:`DigitsMLP.constants`): the problem serves the F7 comparison of local SGD, H-SGD and
local SGD, not the validity checks.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.problems import LOWER, Constant, Constants, sampled_divergences, sampled_sigma

__all__ = ["DigitsMLP"]


class DigitsMLP:
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
    """

    def __init__(self, n: int = 20, hidden: int = 16, batch: int = 8, labels_per_worker: int = 2,
                 test_fraction: float = 0.2, seed: int = 0) -> None:
        from sklearn.datasets import load_digits

        for name, value in (("n", n), ("hidden", hidden), ("batch", batch), ("labels_per_worker", labels_per_worker)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 1 <= labels_per_worker <= 10:
            raise ValueError(f"labels_per_worker must be between 1 and 10, got {labels_per_worker}")
        digits = load_digits()
        X, y = digits.data / 16.0, digits.target
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        n_test = int(round(test_fraction * len(y)))
        test, train = perm[:n_test], perm[n_test:]
        self.test_X, self.test_y = X[test], y[test]
        train_X, train_y = X[train], y[train]
        self.n, self.hidden, self.batch = int(n), int(hidden), int(batch)
        self.shapes = [(hidden, 64), (hidden,), (10, hidden), (10,)]
        self.d = int(sum(np.prod(s) for s in self.shapes))
        # which workers hold each class; each class's images are dealt evenly among them
        classes = [[(j * labels_per_worker + k) % 10 for k in range(labels_per_worker)] for j in range(self.n)]
        owners = {c: [j for j in range(self.n) if c in classes[j]] for c in range(10)}
        per_worker: list[list[int]] = [[] for _ in range(self.n)]
        for c in range(10):
            idx = np.flatnonzero(train_y == c)
            if not owners[c]:
                continue
            for k, part in enumerate(np.array_split(idx, len(owners[c]))):
                per_worker[owners[c][k]].extend(part.tolist())
        m = min(len(p) for p in per_worker)
        if m == 0:
            raise ValueError("some worker holds no images: use fewer workers or more labels per worker")
        # equal shards (the first m of each worker's images) keep every array rectangular
        self.X = np.stack([train_X[p[:m]] for p in per_worker])           # (n, m, 64)
        self.Y = np.stack([train_y[p[:m]] for p in per_worker])           # (n, m)
        self.m = m
        self.classes = classes
        self._x0 = np.concatenate([rng.normal(scale=1 / np.sqrt(64), size=hidden * 64), np.zeros(hidden),
                                   rng.normal(scale=1 / np.sqrt(hidden), size=10 * hidden), np.zeros(10)])
        self.params = dict(kind="digits_mlp", n=self.n, hidden=self.hidden, batch=self.batch,
                           labels_per_worker=int(labels_per_worker), m=int(m), seed=int(seed))
        self._estimates: tuple | None = None

    def default_x0(self) -> NDArray[np.float64]:
        return self._x0

    def _unpack(self, x: NDArray[np.float64]):
        parts, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            parts.append(x[..., start:start + size].reshape(x.shape[:-1] + shape))
            start += size
        return parts

    def _loss_grad(self, x: NDArray[np.float64], A: NDArray[np.float64], y: NDArray[np.intp], need_grad: bool = True):
        """Mean cross-entropy over the examples axis of ``A`` (``(..., B, 64)``) and its gradient."""
        W1, b1, W2, b2 = self._unpack(x)
        # batched matrix products (BLAS) rather than einsum: several times faster here
        H = np.tanh(A @ np.swapaxes(W1, -1, -2) + b1[..., None, :])      # (..., B, hidden)
        Z = H @ np.swapaxes(W2, -1, -2) + b2[..., None, :]                 # (..., B, 10)
        Z = Z - Z.max(axis=-1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=-1, keepdims=True)
        onehot = np.eye(10)[y]
        loss = -np.mean(np.sum(onehot * np.log(P + 1e-300), axis=-1), axis=-1)
        if not need_grad:
            return loss, None
        B = A.shape[-2]
        dZ = (P - onehot) / B                                              # (..., B, 10)
        gW2 = np.swapaxes(dZ, -1, -2) @ H
        gb2 = dZ.sum(axis=-2)
        dH = (dZ @ W2) * (1 - H * H)
        gW1 = np.swapaxes(dH, -1, -2) @ A
        gb1 = dH.sum(axis=-2)
        lead = x.shape[:-1]
        grad = np.concatenate([g.reshape(lead + (-1,)) for g in (gW1, gb1, gW2, gb2)], axis=-1)
        return loss, grad

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._loss_grad(x, self.X, self.Y)[1]

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        idx = rng.integers(0, self.m, size=x.shape[:-1] + (self.batch,))   # (..., n, B)
        workers = np.arange(self.n)[:, None]
        out[...] = self._loss_grad(x, self.X[workers, idx], self.Y[workers, idx])[1]
        return out

    def _all_workers(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.broadcast_to(u[..., None, :], u.shape[:-1] + (self.n, self.d))

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._loss_grad(self._all_workers(u), self.X, self.Y, need_grad=False)[0].mean(axis=-1)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.worker_grads(self._all_workers(u)).mean(axis=-2)

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
        ``eps_l`` (for the grouping ``levels``) from every model the pilot saw. Estimates, not
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
        eps, eps_levels = sampled_divergences(self, pilot.points(), labs, source="pilot-trajectory")
        return Constants(L=L, sigma=sigma, eps=eps, eps_levels=eps_levels, f_star=Constant(0.0, LOWER))
