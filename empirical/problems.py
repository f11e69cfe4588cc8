"""Problems with known constants (THEORY.md A1-A3) for the simulator.

A problem is anything with this small interface (:class:`Problem`):

* ``n``, ``d``: number of workers and dimension;
* ``worker_grads(x)``: true per-worker gradients, ``x`` of shape ``(..., n, d)``;
* ``stochastic_grads(x, rng, out)``: the same plus noise satisfying A2, for a whole
  ``(seeds, n, d)`` array at once, written into ``out``;
* ``loss(u)``, ``grad(u)``: the global objective and its gradient, ``u`` of shape ``(..., d)``;
* ``default_x0()``: the common start;
* ``constants(levels)``: :class:`Constants` for a grouping (``levels`` as in
  :mod:`bounds.divergence`, finest first), each value labelled *exact*, *certified upper
  bound*, *certified lower bound* or *estimated*.

Problems know nothing of hierarchies beyond the labels passed to ``constants``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import group_means, validate_levels

__all__ = [
    "Constant",
    "Constants",
    "Problem",
    "HeterogeneousNonconvex",
    "FunctionProblem",
    "from_gradient_fn",
    "FiniteSumLogistic",
    "sampled_constants",
    "PHI_SECOND_MIN",
    "PHI_SECOND_MAX",
    "PHI_PRIME_MAX",
]

EXACT, UPPER, LOWER, ESTIMATED = "exact", "certified upper bound", "certified lower bound", "estimated"

# phi(u) = u^2 / (1 + u^2): phi'(u) = 2u/(1+u^2)^2, phi''(u) = 2(1 - 3u^2)/(1+u^2)^3.
PHI_SECOND_MAX = 2.0          # phi''(0)
PHI_SECOND_MIN = -0.5         # phi''(+-1)
PHI_PRIME_MAX = 3 * np.sqrt(3) / 8  # |phi'| at u^2 = 1/3


@dataclass(frozen=True)
class Constant:
    """A number and how it is known."""

    value: float
    label: str


@dataclass(frozen=True)
class Constants:
    """THEORY.md's constants of a problem under one grouping.

    Attributes:
        L: smoothness of every ``F_j`` (A1).
        sigma: noise level, ``E||xi||^2 <= sigma^2`` (A2).
        eps: total divergence, ``sup_x (1/n) sum_j ||grad F_j - grad f||^2 <= eps^2``.
        eps_levels: per level, finest first, A3's ``eps_l`` for the grouping given.
        f_star: ``f*`` or a lower bound of it.
    """

    L: Constant
    sigma: Constant
    eps: Constant
    eps_levels: tuple[Constant, ...]
    f_star: Constant

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Problem(Protocol):
    """The interface the simulator needs (see the module docstring)."""

    n: int
    d: int

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def default_x0(self) -> NDArray[np.float64]: ...
    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants: ...


def _gaussian_noise(sigma: float, rng: np.random.Generator, out: NDArray[np.float64]) -> None:
    """Add N(0, sigma^2/d I) to ``out`` in place: E||xi||^2 = sigma^2 exactly."""
    if sigma > 0:
        noise = rng.standard_normal(out.shape)
        noise *= sigma / np.sqrt(out.shape[-1])
        out += noise


def _phi_prime(u: NDArray[np.float64]) -> NDArray[np.float64]:
    s = 1.0 + u * u
    return 2.0 * u / (s * s)


class HeterogeneousNonconvex:
    r"""A heterogeneous non-convex family with certified constants.

    .. math::
        F_j(x) = \frac a2\|x - b_j\|^2 + \lambda\sum_{k=1}^d \varphi(x_k - c_{jk}),
        \qquad \varphi(u) = \frac{u^2}{1 + u^2},

    with worker centres ``b_j`` and ``c_j`` drawn around ``clusters`` cluster centres: the
    cluster centres are spread with scale ``between`` and the workers around their cluster
    with scale ``within``, so heterogeneity between clusters and inside them can be dialled
    independently (group workers by cluster and ``eps_g`` grows with ``between``, ``eps_l``
    with ``within``). Worker ``j`` belongs to cluster ``j * clusters // n``. The ``phi`` terms
    differ per worker, so heterogeneity is not averaged away (with a common curvature and
    nothing else differing, local SGD's average would equal mini-batch SGD). Non-convex when
    ``lam > 2a``. Gradient noise is Gaussian with ``E||xi||^2 = sigma^2`` exactly.

    Constants: ``L = a + 2 lam`` is exact (``phi''`` ranges over ``[-1/2, 2]``, attained);
    ``eps`` and per-level ``eps_l`` are certified upper bounds (the divergences are separable
    over coordinates; each 1-d supremum is bounded on a fine grid with a Lipschitz margin and
    a tail margin); ``f* >= (a/2)(1/n) sum_j ||b_j - b̄||^2`` is a certified lower bound
    (``phi >= 0``).
    """

    def __init__(self, n: int = 32, d: int = 10, *, clusters: int = 4, between: float = 2.0, within: float = 1.0,
                 a: float = 1.0, lam: float = 4.0, sigma: float = 1.0, seed: int = 0) -> None:
        for name, value in (("n", n), ("d", d), ("clusters", clusters)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, value in (("between", between), ("within", within), ("a", a), ("lam", lam), ("sigma", sigma)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        if a == 0 and lam == 0:
            raise ValueError("a and lam cannot both be 0 (the objective would be constant)")
        self.n, self.d, self.a, self.lam, self.sigma = int(n), int(d), float(a), float(lam), float(sigma)
        rng = np.random.default_rng(seed)
        self.cluster = np.arange(self.n) * int(clusters) // self.n
        centre_b = rng.normal(scale=between, size=(clusters, self.d))
        centre_c = rng.normal(scale=between, size=(clusters, self.d))
        self.b = centre_b[self.cluster] + rng.normal(scale=within, size=(self.n, self.d))
        self.c = centre_c[self.cluster] + rng.normal(scale=within, size=(self.n, self.d))
        self._ab = self.a * self.b
        self._buffer: NDArray[np.float64] | None = None
        self.params = dict(n=self.n, d=self.d, clusters=int(clusters), between=float(between), within=float(within),
                           a=self.a, lam=self.lam, sigma=self.sigma, seed=int(seed))

    def __repr__(self) -> str:
        return "HeterogeneousNonconvex(" + ", ".join(f"{k}={v}" for k, v in self.params.items()) + ")"

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.a * (x - self.b) + self.lam * _phi_prime(x - self.c)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        # In place, with one scratch array reused across calls of the same shape: at these
        # sizes fresh temporaries (new pages on every allocation) cost more than the arithmetic.
        scratch = self._scratch(out.shape)
        np.subtract(x, self.c, out=out)
        np.multiply(out, out, out=scratch)
        scratch += 1.0
        np.multiply(scratch, scratch, out=scratch)
        np.divide(out, scratch, out=out)
        out *= 2.0 * self.lam
        np.multiply(x, self.a, out=scratch)
        out += scratch
        out -= self._ab
        if self.sigma > 0:
            rng.standard_normal(out=scratch)
            scratch *= self.sigma / np.sqrt(self.d)
            out += scratch
        return out

    def _scratch(self, shape: tuple[int, ...]) -> NDArray[np.float64]:
        if self._buffer is None or self._buffer.shape != shape:
            self._buffer = np.empty(shape)
        return self._buffer

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        diff = u[..., None, :] - self.b
        quad = 0.5 * self.a * np.einsum("...jk,...jk->...", diff, diff) / self.n
        v = u[..., None, :] - self.c
        return quad + self.lam * np.sum(v * v / (1 + v * v), axis=(-2, -1)) / self.n

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.a * (u - self.b.mean(axis=0)) + self.lam * _phi_prime(u[..., None, :] - self.c).mean(axis=-2)

    # ------------------------------------------------------------------ constants
    def _values(self, t: NDArray[np.float64], k: int) -> NDArray[np.float64]:
        """``v_j(t) = -a b_jk + lam phi'(t - c_jk)``: coordinate ``k`` of ``grad F_j`` minus ``a t``."""
        return -self.a * self.b[:, k] + self.lam * _phi_prime(t[:, None] - self.c[:, k])

    def _sup_divergence(self, levels: list[NDArray[np.intp]]) -> tuple[float, list[float]]:
        """Certified ``eps^2`` and A3's per-level ``eps_l^2`` (weighted sum of group sups).

        Every divergence here is a weighted L2 norm (squared) of differences of group means of
        ``v_j(t)``, separable over coordinates. As a function of ``t`` its square root is
        Lipschitz with constant ``lam (max phi'' - min phi'') = 2.5 lam`` (each mean
        difference moves at most that fast), so on a grid of spacing ``h`` the supremum is at
        most ``(max over the grid of the root + 1.25 lam h)^2``. Beyond the grid
        (``|t - c_jk| >= 30``) ``|phi'| <= 2/30^3``, so each mean difference is within
        ``2 lam 2/30^3`` of its limit at infinity.
        """
        n, M = self.n, len(levels) + 1
        chain = [np.arange(n), *levels, np.zeros(n, dtype=np.intp)]
        span, h = 30.0, 1e-3
        grid = np.arange(self.c.min() - span, self.c.max() + span + h, h)
        root_slack = 0.5 * h * self.lam * (PHI_SECOND_MAX - PHI_SECOND_MIN)
        tail = 2 * self.lam * 2.0 / span**3
        rows = max(1, 4_000_000 // n)  # grid points per chunk: bounded memory for any n
        total_sq, level_sq = 0.0, [0.0] * M
        for k in range(self.d):
            at_inf = -self.a * self.b[:, k]
            sup_total = _spread(at_inf[None, :])[0]
            sup_total = (np.sqrt(sup_total) + tail) ** 2  # the tail, a limit plus its margin
            sups = [(np.sqrt(_group_divergences(at_inf[None, :], chain[l - 1], chain[l])[0]) + tail) ** 2
                    for l in range(1, M + 1)]
            for start in range(0, grid.size, rows):
                vals = self._values(grid[start:start + rows], k)
                sup_total = max(sup_total, (np.sqrt(_spread(vals).max()) + root_slack) ** 2)
                for l in range(1, M + 1):
                    grid_max = _group_divergences(vals, chain[l - 1], chain[l]).max(axis=0)
                    sups[l - 1] = np.maximum(sups[l - 1], (np.sqrt(grid_max) + root_slack) ** 2)
            total_sq += float(sup_total)
            for l in range(1, M + 1):
                coarse_sizes = np.bincount(chain[l])
                level_sq[l - 1] += float(np.sum(coarse_sizes / n * sups[l - 1]))
        return total_sq, level_sq

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        labs = validate_levels(levels, self.n)
        total_sq, level_sq = self._sup_divergence(labs)
        f_lower = 0.5 * self.a * float(np.mean(np.sum((self.b - self.b.mean(axis=0)) ** 2, axis=1)))
        return Constants(
            L=Constant(self.a + PHI_SECOND_MAX * self.lam, EXACT),  # a + lam phi''(0); >= |a - lam/2|
            sigma=Constant(self.sigma, EXACT),
            eps=Constant(float(np.sqrt(total_sq)), UPPER),
            eps_levels=tuple(Constant(float(np.sqrt(v)), UPPER) for v in level_sq),
            f_star=Constant(f_lower, LOWER),
        )


def _spread(vals: NDArray[np.float64]) -> NDArray[np.float64]:
    """Variance over workers (last axis): the total divergence of one coordinate."""
    return ((vals - vals.mean(axis=-1, keepdims=True)) ** 2).mean(axis=-1)


def _group_divergences(vals: NDArray[np.float64], fine: NDArray[np.intp], coarse: NDArray[np.intp]) -> NDArray[np.float64]:
    """``div_p`` of every coarse group ``p`` (children: the fine groups), shape ``(rows, K_coarse)``.

    ``div_p = sum_{u child of p} (n_u/n_p) (mean_u - mean_p)^2`` for each row of ``vals`` (workers last).
    """
    fine_means, fine_sizes = group_means(vals[..., None], fine)
    coarse_means, coarse_sizes = group_means(vals[..., None], coarse)
    parent = np.empty(fine_sizes.size, dtype=np.intp)
    parent[fine] = coarse
    weighted = (fine_means[..., 0] - coarse_means[..., parent, 0]) ** 2 * (fine_sizes / coarse_sizes[parent])
    out = np.zeros(weighted.shape[:-1] + (coarse_sizes.size,))
    for p in range(coarse_sizes.size):  # loop over groups of a level, not workers
        out[..., p] = weighted[..., parent == p].sum(axis=-1)
    return out


class FunctionProblem:
    """A problem made of plain functions; see :func:`from_gradient_fn`."""

    def __init__(self, worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None,
                 noise: float | Callable | None, constants: Constants | dict | None, x0: ArrayLike | None) -> None:
        for name, value in (("n", n), ("d", d)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if noise is not None and not callable(noise) and not (np.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be None, a non-negative sigma, or a function (rng, shape) -> array; got {noise!r}")
        self.n, self.d = int(n), int(d)
        self._worker_grads, self._grad, self._loss, self._noise = worker_grads, grad, loss, noise
        self._constants = constants
        self._x0 = np.zeros(self.d) if x0 is None else np.broadcast_to(np.asarray(x0, dtype=float), (self.d,)).copy()
        self.params = dict(n=self.n, d=self.d, kind="from_gradient_fn")

    def default_x0(self) -> NDArray[np.float64]:
        return self._x0

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self._worker_grads(x), dtype=np.float64)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        out[...] = self._worker_grads(x)
        if callable(self._noise):
            out += self._noise(rng, out.shape)
        elif self._noise:
            _gaussian_noise(float(self._noise), rng, out)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        if self._loss is None:
            return np.full(np.shape(u)[:-1], np.nan)
        return np.asarray(self._loss(u), dtype=np.float64)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(self._grad(u), dtype=np.float64)

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        if self._constants is None:
            raise ValueError("this problem was made without constants: pass constants=... to from_gradient_fn")
        if isinstance(self._constants, Constants):
            return self._constants
        c = dict(self._constants)
        label = c.pop("label", "given")
        per_level = c.get("eps_levels", ())
        return Constants(L=Constant(float(c["L"]), label), sigma=Constant(float(c.get("sigma", 0.0)), label),
                         eps=Constant(float(c.get("eps", 0.0)), label),
                         eps_levels=tuple(Constant(float(e), label) for e in per_level),
                         f_star=Constant(float(c.get("f_star", 0.0)), label))


def from_gradient_fn(worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None = None,
                     noise: float | Callable | None = None, constants: Constants | dict | None = None,
                     x0: ArrayLike | None = None) -> FunctionProblem:
    """A problem from plain functions, for plugging in your own objective in three lines.

    Args:
        worker_grads: maps ``x`` of shape ``(..., n, d)`` to the per-worker true gradients.
        grad: maps ``u`` of shape ``(..., d)`` to the global gradient.
        n, d: number of workers and dimension.
        loss: optional global loss ``(..., d) -> (...)``.
        noise: ``None`` (deterministic run), a number ``sigma`` (Gaussian noise with
            ``E||xi||^2 = sigma^2``), or a function ``(rng, shape) -> array``.
        constants: a :class:`Constants`, or a dict with ``L, sigma, eps, eps_levels, f_star``
            and an optional ``label`` (default ``"given"``).
        x0: default start (zeros).

    Example:
        >>> import numpy as np
        >>> b = np.arange(4.0)[:, None]                      # F_j(x) = (x - b_j)^2 / 2
        >>> p = from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(), n=4, d=1)
        >>> p.worker_grads(np.zeros((4, 1)))[:, 0].tolist()
        [0.0, -1.0, -2.0, -3.0]
    """
    return FunctionProblem(worker_grads, grad, n, d, loss, noise, constants, x0)


class FiniteSumLogistic:
    r"""Non-convex regularised logistic regression on per-worker synthetic data, minibatch SGD.

    Worker ``j`` holds ``m`` examples ``(a_i, y_i)`` whose features are shifted by a
    worker-specific mean (``shift`` scales how different the workers' data are) and
    .. math:: F_j(x) = \frac1m\sum_i \log(1 + e^{-y_i a_i^\top x}) + \lambda\sum_k \frac{x_k^2}{1+x_k^2}.

    Stochastic gradients average a minibatch of ``batch`` examples drawn with replacement.
    ``L <= max_j lambda_max(A_j^T A_j)/(4m) + 2 lambda`` is a certified upper bound; ``f* >= 0``
    a certified lower bound; ``sigma`` and ``eps`` are *estimated* from samples (and labelled
    so): use them for comparisons, not as guarantees.
    """

    def __init__(self, n: int = 16, d: int = 10, m: int = 64, *, batch: int = 4, shift: float = 1.0,
                 lam: float = 0.1, seed: int = 0) -> None:
        for name, value in (("n", n), ("d", d), ("m", m), ("batch", batch)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.n, self.d, self.m, self.batch, self.lam = int(n), int(d), int(m), int(batch), float(lam)
        rng = np.random.default_rng(seed)
        truth = rng.normal(size=self.d)
        means = rng.normal(scale=shift, size=(self.n, 1, self.d))
        self.A = means + rng.normal(size=(self.n, self.m, self.d))
        logits = self.A @ truth
        self.y = np.where(rng.random((self.n, self.m)) < 1 / (1 + np.exp(-logits)), 1.0, -1.0)
        self._seed = seed
        self.params = dict(n=self.n, d=self.d, m=self.m, batch=self.batch, shift=float(shift), lam=self.lam, seed=int(seed))

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def _reg_grad(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lam * _phi_prime(x)

    def _data_grad(self, x: NDArray[np.float64], A: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        margins = y * np.einsum("...bd,...d->...b", A, x)
        weights = -y / (1 + np.exp(margins))  # d/dz log(1 + e^{-yz}) at z = a.x
        return np.einsum("...b,...bd->...d", weights, A) / A.shape[-2]

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._data_grad(x, self.A, self.y) + self._reg_grad(x)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        idx = rng.integers(0, self.m, size=x.shape[:-1] + (self.batch,))          # (..., n, B)
        workers = np.arange(self.n)[:, None]
        A = self.A[workers, idx]                                                    # (..., n, B, d)
        y = self.y[workers, idx]
        out[...] = self._data_grad(x, A, y) + self._reg_grad(x)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        margins = self.y * np.einsum("jmd,...d->...jm", self.A, u)
        data = np.logaddexp(0, -margins).mean(axis=(-2, -1))
        return data + self.lam * np.sum(u * u / (1 + u * u), axis=-1)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        xs = np.broadcast_to(u[..., None, :], u.shape[:-1] + (self.n, self.d))
        return self.worker_grads(xs).mean(axis=-2)

    def constants(self, levels: Sequence[ArrayLike] = (), samples: int = 256) -> Constants:
        labs = validate_levels(levels, self.n)
        L = max(np.linalg.eigvalsh(Aj.T @ Aj).max() for Aj in self.A) / (4 * self.m) + PHI_SECOND_MAX * self.lam
        rng = np.random.default_rng(self._seed + 1)
        points = rng.normal(scale=2.0, size=(samples, self.d))
        return sampled_constants(self, points, labs, Constant(float(L), UPPER), rng)


def sampled_constants(problem: Any, points: NDArray[np.float64], levels: list[NDArray[np.intp]], L: Constant,
                      rng: np.random.Generator, noise_points: int = 64, draws: int = 32) -> Constants:
    """Estimate ``sigma``, ``eps`` and the per-level ``eps`` from samples, labelled *estimated*.

    The divergences are maximised over ``points`` (``(samples, d)``); ``sigma^2`` is the
    largest per-worker mean of ``||g - grad F_j||^2`` over ``draws`` minibatch draws at the
    first ``noise_points`` points. ``f* >= 0`` (non-negative losses) is a certified lower bound.
    """
    from bounds.divergence import level_divergences

    xs = np.broadcast_to(points[:, None, :], (points.shape[0], problem.n, problem.d))
    grads = problem.worker_grads(xs)
    parts = level_divergences(grads, levels)                                       # (samples, M)
    x_noise = xs[:noise_points]
    samples = np.stack([problem.stochastic_grads(x_noise, rng, np.empty(x_noise.shape)) for _ in range(draws)])
    sigma_sq = float(((samples - grads[:noise_points]) ** 2).sum(axis=-1).mean(axis=0).max())
    return Constants(
        L=L,
        sigma=Constant(float(np.sqrt(sigma_sq)), ESTIMATED),
        eps=Constant(float(np.sqrt(parts.sum(axis=-1).max())), ESTIMATED),
        eps_levels=tuple(Constant(float(np.sqrt(v)), ESTIMATED) for v in parts.max(axis=0)),
        f_star=Constant(0.0, LOWER),
    )
