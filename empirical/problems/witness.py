"""Problems that make one term of Theorem 2 bite (docs/theory.md §7.4 Remark: witnesses).

Three families, each with exact constants (every :class:`~empirical.constants.Constant`
labelled *exact*):

* :class:`KinkProblem`: ``F_j(x) = sum_k phi(x_k) + <b_j, x>`` with the "kink"
  ``phi'(t) = c + L|t|`` for ``t >= -a``, continued with slope ``+L`` below ``-a``. Every
  ``phi''`` is ``+L`` or ``-L``, so ``L`` is exact; the gradient offsets
  ``grad F_j - grad f = b_j - mean(b)`` do not depend on ``x``, so every ``eps_l`` is exact;
  ``f*`` is the smallest of the (at most two) local minima of each coordinate, in closed form.
  With ``noise="two_point"`` the workers draw the adaptive two-point noise of
  :func:`two_point_draw` (the noise-share witnesses), with ``noise="none"`` the run is
  deterministic (the heterogeneity witnesses).
* :class:`QuadraticProblem`: ``F_j(x) = (L/2)||x||^2`` with Rademacher noise of size
  ``sigma`` on one axis (``E xi = 0``, ``||xi||^2 = sigma^2`` exactly): the init and plain
  noise witnesses, where Theorem 2 is tight.

The adaptive two-point law (docs/theory.md §7.4 Remark: witnesses): let ``m`` be a worker's noise summed
since its last reset and ``k`` the steps since that reset, so ``|m| = sqrt(k) sigma``. With
``r = sqrt(k+1)``, ``q = sqrt(k)``, the next draw is ``sgn(m) (r - q) sigma`` with probability
``(r + q)/(2r)`` and ``-sgn(m) (r + q) sigma`` otherwise (``sgn(0) = +1``). Its conditional mean
is 0 and its conditional variance exactly ``sigma^2`` (A2 holds), independently across
workers given the past, and after the draw ``|m| = sqrt(k+1) sigma``: the displacement's size
is deterministic, which makes Jensen's step of the proof tight.

The law needs ``k``. A witness fixes its hierarchy, so the problem counts its own steps:
``k = t mod reset_period``, with ``t`` the number of draws made from the current random stream
(the engine makes one :meth:`KinkProblem.stochastic_grads` call per step and creates a new
:class:`~empirical.streams.SeedStreams` per run, so a new stream starts a new run). This keeps
the engine free of any witness hook. Whatever ``k`` is, every draw has mean 0 and variance
``sigma^2`` given the past, so A2 holds under any hierarchy; the count only decides how
adversarial the law is.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import level_divergences, validate_levels
from empirical.constants import Constant, Constants
from empirical.problems.protocol import ProblemBase

__all__ = [
    "KinkProblem",
    "QuadraticProblem",
    "kink_phi",
    "kink_phi_prime",
    "kink_minimum",
    "two_point_law",
    "two_point_draw",
    "NOISE_LAWS",
]

EXACT = "exact"
NOISE_LAWS = ("none", "two_point")


def _finite(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite real number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if nonnegative and v < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return v


def _count(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def kink_phi_prime(t: ArrayLike, c: float, L: float, a: float) -> NDArray[np.float64]:
    """``phi'(t) = c + L|t|`` for ``t >= -a``, ``c + 2La + Lt`` below (slope ``+L``).

    Example:
        >>> kink_phi_prime(np.array([-3.0, -1.0, 0.0, 2.0]), c=-1.0, L=1.0, a=2.0).tolist()
        [0.0, 0.0, -1.0, 1.0]
    """
    t = np.asarray(t, dtype=np.float64)
    return np.where(t >= -a, c + L * np.abs(t), c + 2.0 * L * a + L * t)


def kink_phi(t: ArrayLike, c: float, L: float, a: float) -> NDArray[np.float64]:
    """The kink ``phi`` with ``phi(0) = 0`` (the integral of :func:`kink_phi_prime`).

    Example:
        >>> kink_phi(np.array([-1.0, 1.0]), c=0.0, L=2.0, a=5.0).tolist()
        [-1.0, 1.0]
    """
    t = np.asarray(t, dtype=np.float64)
    inner = c * t + 0.5 * L * t * np.abs(t)
    y = t + a
    outer = (-c * a - 0.5 * L * a * a) + (c + L * a) * y + 0.5 * L * y * y
    return np.where(t >= -a, inner, outer)


def kink_minimum(c: float, L: float, a: float) -> tuple[float, float]:
    """``(argmin, min)`` of the kink ``phi``, exactly: the smaller of its local minima.

    The local minima are ``t = -c/L`` (when ``c <= 0``, right branch) and
    ``t = -a - (c + La)/L`` (when ``c + La >= 0``, left branch); the middle branch has
    ``phi'' = -L`` and holds only maxima. At least one exists since ``a >= 0``.

    Example:
        >>> kink_minimum(-1.0, 1.0, 0.5)   # turn-around inside: only the right minimum
        (1.0, -0.5)
        >>> kink_minimum(-1.0, 1.0, 10.0)  # far turn-around: the left minimum is deeper
        (-19.0, -80.5)
    """
    c, L, a = float(c), float(L), float(a)
    candidates = []
    if c <= 0:
        candidates.append((-c / L, -c * c / (2 * L)))
    if c + L * a >= 0:
        y = -(c + L * a) / L
        candidates.append((y - a, (-c * a - 0.5 * L * a * a) - (c + L * a) ** 2 / (2 * L)))
    return min(candidates, key=lambda tv: tv[1])


def two_point_law(k: int | NDArray[np.integer], sign: ArrayLike = 1.0) -> tuple[NDArray, NDArray, NDArray]:
    """The adaptive two-point law after ``k`` steps, for a unit ``sigma``: ``(low, high, p)``.

    The draw is ``high = sign (r - q)`` with probability ``p = (r + q)/(2r)`` and
    ``low = -sign (r + q)`` otherwise, ``r = sqrt(k+1)``, ``q = sqrt(k)``. Mean
    ``p high + (1-p) low = 0`` and second moment ``r^2 - q^2 = 1`` exactly.

    Example:
        >>> low, high, p = two_point_law(np.arange(4))
        >>> bool(np.allclose(p * high + (1 - p) * low, 0)), bool(np.allclose(p * high**2 + (1 - p) * low**2, 1))
        (True, True)
    """
    k = np.asarray(k)
    if np.any(k < 0):
        raise ValueError("k must be non-negative (steps since the last reset)")
    r, q = np.sqrt(k + 1.0), np.sqrt(k * 1.0)
    s = np.asarray(sign, dtype=np.float64)
    return -s * (r + q), s * (r - q), (r + q) / (2.0 * r)


def two_point_draw(m: NDArray[np.float64], k: int, sigma: float, uniforms: NDArray[np.float64]) -> NDArray[np.float64]:
    """One draw of the adaptive two-point noise for every worker, from uniforms on ``[0, 1)``.

    Args:
        m: the noise summed since the last reset, any shape (``|m| = sqrt(k) sigma``).
        k: steps since the last reset.
        sigma: the noise level (``E xi^2 = sigma^2``).
        uniforms: uniforms of ``m``'s shape (from the run's random stream).

    Returns:
        The draws ``xi``; ``m + xi`` has size ``sqrt(k+1) sigma``.

    Example:
        >>> xi = two_point_draw(np.zeros(4), 0, 2.0, np.array([0.1, 0.6, 0.4, 0.9]))
        >>> xi.tolist()   # k = 0: +-sigma with probability 1/2 each
        [2.0, -2.0, 2.0, -2.0]
    """
    sign = np.where(m < 0, -1.0, 1.0)
    low, high, p = two_point_law(k, sign)
    return sigma * np.where(uniforms < p, high, low)


class KinkProblem(ProblemBase):
    r"""The kink family: exact ``L``, ``eps_l``, ``sigma`` and ``f*`` (docs/theory.md §7.4 Remark: witnesses).

    .. math::
        F_j(x) = \sum_{k=1}^d \varphi(x_k) + \langle b_j, x\rangle,\qquad
        \varphi'(t) = \begin{cases} c + L|t| & t \ge -a \\ c + 2La + Lt & t < -a.\end{cases}

    Args:
        b: the offsets, shape ``(n, d)`` (or ``(n,)`` for ``d = 1``).
        c, L, a: the kink's level, curvature and turn-around (``L > 0``, ``a >= 0``).
        sigma: noise level (``0`` for a deterministic run).
        noise: ``"none"`` or ``"two_point"`` (:func:`two_point_draw`).
        axes: for ``"two_point"``, the axis on which each worker draws its noise (length
            ``n``; default all on axis 0).
        reset_period: for ``"two_point"``, the period of the resets the law adapts to.
        weights: data-size weights ``p_j`` (normalised here; ``None`` for ``1/n``): the global
            objective becomes ``f = sum_j p_j F_j`` and the constants are docs/theory.md §10.1's
            weighted ones. Pass the same weights to :func:`empirical.simulate`.

    Example:
        >>> p = KinkProblem(b=[1.0, -1.0, 1.0, -1.0], c=-0.5, L=1.0, a=3.0)
        >>> p.constants([[0, 0, 1, 1]]).eps_levels
        (Constant(value=1.0, kind='exact', note=''), Constant(value=0.0, kind='exact', note=''))
    """

    def __init__(self, b: ArrayLike, c: float, L: float = 1.0, a: float = 1.0, *, sigma: float = 0.0,
                 noise: str = "none", axes: Sequence[int] | None = None, reset_period: int = 1,
                 weights: ArrayLike | None = None) -> None:
        b = np.asarray(b, dtype=np.float64)
        if b.ndim == 1:
            b = b[:, None]
        if b.ndim != 2 or b.shape[0] < 1 or b.shape[1] < 1 or not np.all(np.isfinite(b)):
            raise ValueError(f"b must be a finite (n, d) or (n,) array, got shape {np.shape(b)}")
        self.c = _finite("c", c)
        self.L = _finite("L", L, positive=True)
        self.a = _finite("a", a, nonnegative=True)
        self.sigma = _finite("sigma", sigma, nonnegative=True)
        if noise not in NOISE_LAWS:
            raise ValueError(f"noise must be one of {', '.join(NOISE_LAWS)}, got {noise!r}")
        if noise == "none" and self.sigma > 0:
            raise ValueError("sigma must be 0 when noise is 'none'")
        self.noise = noise
        self.reset_period = _count("reset_period", reset_period)
        self.b = b
        self.n, self.d = b.shape
        axes_arr = np.zeros(self.n, dtype=np.intp) if axes is None else np.asarray(axes)
        if axes_arr.shape != (self.n,) or not np.issubdtype(axes_arr.dtype, np.integer) \
                or np.any(axes_arr < 0) or np.any(axes_arr >= self.d):
            raise ValueError(f"axes must list one axis in [0, {self.d}) per worker ({self.n} of them)")
        self.axes = axes_arr.astype(np.intp)
        self._workers = np.arange(self.n)
        if weights is None:
            self.weights = None
            self._b_mean = b.mean(axis=0)
        else:
            from bounds.federated import normalised_weights  # checks length, sign, finiteness

            self.weights = np.array([float(w) for w in normalised_weights(weights, self.n)])
            self._b_mean = self.weights @ b
        self._stream: Any = None
        self._m: NDArray[np.float64] | None = None
        self._t = 0
        self.params = dict(kind="kink", n=self.n, d=self.d, c=self.c, L=self.L, a=self.a, sigma=self.sigma,
                           noise=noise, reset_period=self.reset_period)

    def __repr__(self) -> str:
        return f"KinkProblem(n={self.n}, d={self.d}, c={self.c!r}, L={self.L!r}, a={self.a!r}, noise={self.noise!r})"

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def _phi_prime(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return kink_phi_prime(x, self.c, self.L, self.a)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._phi_prime(x) + self.b

    def stochastic_grads(self, x: NDArray[np.float64], rng: Any, out: NDArray[np.float64]) -> NDArray[np.float64]:
        """``worker_grads(x)`` plus the noise law's draws (see the module docstring), into ``out``."""
        out[...] = self._phi_prime(x)
        out += self.b
        if self.noise == "two_point" and self.sigma > 0:
            if rng is not self._stream or self._m is None or self._m.shape != x.shape[:-1]:
                self._stream, self._m, self._t = rng, np.zeros(x.shape[:-1]), 0   # a new run
            k = self._t % self.reset_period
            if k == 0:
                self._m[...] = 0.0
            xi = two_point_draw(self._m, k, self.sigma, rng.random(size=self._m.shape))
            self._m += xi
            out[..., self._workers, self.axes] += xi
            self._t += 1
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        u = np.asarray(u, dtype=np.float64)
        return kink_phi(u, self.c, self.L, self.a).sum(axis=-1) + u @ self._b_mean

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._phi_prime(np.asarray(u, dtype=np.float64)) + self._b_mean

    def f_star(self) -> float:
        """``min f``, exactly: coordinate ``k`` of ``f`` is a kink ``phi`` with level ``c + mean(b)_k``."""
        return float(sum(kink_minimum(self.c + bk, self.L, self.a)[1] for bk in self._b_mean))

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        labs = validate_levels(levels, self.n)
        offsets = self.b - self._b_mean                 # grad F_j - grad f, the same at every x
        if self.weights is None:
            parts = level_divergences(offsets, labs)    # A3's eps_l^2 (sup over x of a constant)
            total = float(np.mean(np.sum(offsets * offsets, axis=-1)))
        else:                                           # docs/theory.md §10.1: A3 with weights
            from empirical.federated import offset_constants

            parts = np.square(offset_constants(self.b, labs, self.weights).eps)
            total = float(self.weights @ np.sum(offsets * offsets, axis=-1))
        return Constants(L=Constant(self.L, EXACT), sigma=Constant(self.sigma, EXACT),
                         eps=Constant(math.sqrt(total), EXACT),
                         eps_levels=tuple(Constant(float(np.sqrt(max(v, 0.0))), EXACT) for v in parts),
                         f_star=Constant(self.f_star(), EXACT))


class QuadraticProblem(ProblemBase):
    r"""``F_j(x) = (L/2)||x||^2`` for every worker, Rademacher noise ``+-sigma`` on axis 0.

    The noise has mean 0 and ``||xi||^2 = sigma^2`` exactly, so with one worker the mean noise
    is deterministic in size: at ``gamma = 1/L`` every ``u^t`` with ``t >= 1`` is ``-xi/L``.
    Constants: ``L``, ``sigma``, ``eps = 0`` and ``f* = 0``, all exact.

    Example:
        >>> QuadraticProblem(n=2, d=1, L=2.0).worker_grads(np.ones((2, 1))).tolist()
        [[2.0], [2.0]]
    """

    def __init__(self, n: int = 1, d: int = 1, L: float = 1.0, sigma: float = 0.0) -> None:
        self.n, self.d = _count("n", n), _count("d", d)
        self.L = _finite("L", L, positive=True)
        self.sigma = _finite("sigma", sigma, nonnegative=True)
        self.params = dict(kind="quadratic", n=self.n, d=self.d, L=self.L, sigma=self.sigma)
        self.b = np.zeros((self.n, self.d))  # the offsets grad F_j - grad h: none (every F_j is the same)

    def f_star(self) -> float:
        """``min f = 0``, at ``x = 0``."""
        return 0.0

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.L * np.asarray(x, dtype=np.float64)

    def stochastic_grads(self, x: NDArray[np.float64], rng: Any, out: NDArray[np.float64]) -> NDArray[np.float64]:
        """``L x`` plus ``+-sigma`` on axis 0 (Rademacher, from the run's stream), into ``out``."""
        np.multiply(x, self.L, out=out)
        if self.sigma > 0:
            u = rng.random(size=x.shape[:-1])
            out[..., 0] += np.where(u < 0.5, self.sigma, -self.sigma)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        u = np.asarray(u, dtype=np.float64)
        return 0.5 * self.L * np.einsum("...k,...k->...", u, u)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.L * np.asarray(u, dtype=np.float64)

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        labs = validate_levels(levels, self.n)
        zero = Constant(0.0, EXACT)
        return Constants(L=Constant(self.L, EXACT), sigma=Constant(self.sigma, EXACT), eps=zero,
                         eps_levels=tuple(zero for _ in range(len(labs) + 1)), f_star=zero)
