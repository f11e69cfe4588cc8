"""Problems with known constants (docs/theory.md §1.3 Assumptions A1-A3) for the simulator.

A problem is anything with this small interface (:class:`Problem`):

* ``n``, ``d``: number of workers and dimension;
* ``worker_grads(x)``: true per-worker gradients, ``x`` of shape ``(..., n, d)``;
* ``stochastic_grads(x, rng, out)``: the same plus noise satisfying A2, for a whole
  ``(seeds, n, d)`` array at once, written into ``out``. The engine passes ``rng`` as an
  :class:`empirical.streams.SeedStreams` (one stream per seed, Generator-like draws with the
  seed axis first: ``rng.standard_normal(out=buf)``, ``rng.integers(0, m, size=(seeds, ...))``);
* ``loss(u)``, ``grad(u)``: the global objective and its gradient, ``u`` of shape ``(..., d)``;
* ``default_x0()``: the common start;
* ``constants(levels)``: :class:`Constants` for a grouping (``levels`` as in
  :mod:`bounds.divergence`, finest first), each value labelled *exact*, *certified upper
  bound*, *certified lower bound* or *estimated (how it was sampled)*; a label whose first
  word is "estimated" marks a sampled value, not a certificate (:meth:`Constants.estimated`
  lists them; ``L`` is estimated from worker Hessians by :mod:`empirical.smoothness`).

Problems know nothing of hierarchies beyond the labels passed to ``constants``.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, Protocol, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.constants import ESTIMATED, EXACT, LOWER, UPPER, Constant, Constants
from empirical.smoothness import estimate_smoothness, pilot_trajectory

__all__ = [
    "Problem",
    "HeterogeneousNonconvex",
    "FunctionProblem",
    "from_gradient_fn",
    "FiniteSumLogistic",
    "sampled_constants",
    "sampled_divergences",
    "sampled_sigma",
    "PHI_SECOND_MIN",
    "PHI_SECOND_MAX",
    "PHI_PRIME_MAX",
]


# phi(u) = u^2 / (1 + u^2): phi'(u) = 2u/(1+u^2)^2, phi''(u) = 2(1 - 3u^2)/(1+u^2)^3.
PHI_SECOND_MAX = 2.0          # phi''(0)
PHI_SECOND_MIN = -0.5         # phi''(+-1)
PHI_PRIME_MAX = 3 * np.sqrt(3) / 8  # |phi'| at u^2 = 1/3
_BLOCK = 1 << 16  # elements per block of an elementwise pipeline: a block's passes stay in cache


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


def _gradient_block(xb: NDArray[np.float64], cb: Any, acb: Any, a: Any, two_lam: Any, out: NDArray[np.float64],
                    work: NDArray[np.float64]) -> None:
    """``out = a (x - b) + 2 lam u/(1 + u^2)^2`` for a block of :class:`HeterogeneousNonconvex`'s
    workers, written as ``u (a + 2 lam/(1 + u^2)^2) + a (c - b)`` with ``u = x - c``; ``work``
    is scratch of ``out``'s shape. The one sequence of operations every step path uses (the
    single run's step and :mod:`empirical.batch`'s), so they agree bit for bit;
    ``a`` and ``two_lam`` may be scalars or arrays broadcast over the block."""
    subtract, multiply, divide, add = np.subtract, np.multiply, np.divide, np.add
    subtract(xb, cb, out)
    multiply(out, out, work)
    add(work, 1.0, work)
    multiply(work, work, work)
    divide(two_lam, work, work)
    add(work, a, work)
    multiply(out, work, out)
    add(out, acb, out)


def _draw_normals(out: NDArray[np.float64], rng: Any, generators: Any) -> None:
    """Standard normals into ``out``: from ``rng`` in one draw, or seed by seed from
    ``generators`` (one per leading row), the same numbers in the same order."""
    if generators is None:
        rng.standard_normal(out=out)
    else:
        for gen, rows_of_seed in zip(generators, out):
            gen.standard_normal(out=rows_of_seed)



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
    ``eps`` and per-level ``eps_l`` are certified upper bounds, within about ``0.1%`` of the
    true suprema (the divergences are separable over coordinates; each one-variable supremum
    is bounded by branch and bound with local Lipschitz constants, see ``_sup_divergence``);
    ``f* >= (a/2)(1/n) sum_j ||b_j - b̄||^2`` is a certified lower bound (``phi >= 0``).
    ``constants`` caches its result per grouping.
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
        self._acb = self.a * (self.c - self.b)
        self._b_mean = self.b.mean(axis=0)
        self._b_spread = float(np.mean(np.sum((self.b - self._b_mean) ** 2, axis=1)))
        self._buffers: dict[tuple[int, ...], NDArray[np.float64]] = {}
        self._phi_buffers: dict[int, dict[tuple[int, ...], tuple[NDArray[np.float64], ...]]] = {}
        self._constants_cache: dict[tuple[bytes, ...], tuple[float, list[float]]] = {}
        self._phi_memo: tuple[Any, tuple[NDArray[np.float64], NDArray[np.float64]]] | None = None
        self.params = dict(n=self.n, d=self.d, clusters=int(clusters), between=float(between), within=float(within),
                           a=self.a, lam=self.lam, sigma=self.sigma, seed=int(seed))

    def __repr__(self) -> str:
        return "HeterogeneousNonconvex(" + ", ".join(f"{k}={v}" for k, v in self.params.items()) + ")"

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.a * (x - self.b) + self.lam * _phi_prime(x - self.c)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64], *, lr: float | None = None) -> NDArray[np.float64]:
        """``worker_grads(x)`` plus Gaussian noise ``N(0, sigma^2/d I)`` (A2), written into ``out``.

        In place, block by block over the workers: the dozen elementwise passes of a block
        stay in cache, and the only scratch is one block (kept between calls), whatever the
        size of ``x``. Each block's noise is drawn in worker order, so with one stream per
        seed (:class:`empirical.streams.SeedStreams`) the numbers are those of one draw of
        the whole array.

        With ``lr`` (the engine's fused step, docs/theory.md, Algorithm), each block also
        takes the SGD step while it is in cache: ``out *= lr`` then ``x -= out``, the same
        floating-point operations as doing both afterwards on the whole arrays, so the
        results are bit for bit those of the unfused step; ``out`` then holds ``lr`` times
        the stochastic gradients.
        """
        shape = x.shape
        n, d = shape[-2:]
        rows = shape[0] if len(shape) == 3 else math.prod(shape[:-2])
        block = max(1, _BLOCK // max(1, rows * d))
        generators = getattr(rng, "generators", None)
        if generators is not None and (x.ndim != 3 or len(generators) != x.shape[0]):
            generators = None  # let rng.standard_normal raise its own error
        noisy, scale = self.sigma > 0, self.sigma / math.sqrt(self.d)  # math.sqrt: np.sqrt's double
        a, two_lam = self.a, 2.0 * self.lam
        multiply, add, subtract = np.multiply, np.add, np.subtract
        for j0 in range(0, n, block):
            j1 = min(n, j0 + block)
            if j0 == 0 and j1 == n:
                xb, ob, cb, acb = x, out, self.c, self._acb
            else:
                xb, ob, cb, acb = x[..., j0:j1, :], out[..., j0:j1, :], self.c[j0:j1], self._acb[j0:j1]
            scratch = self._scratch(xb.shape)
            _gradient_block(xb, cb, acb, a, two_lam, ob, scratch)
            if noisy:
                _draw_normals(scratch, rng, generators)
                multiply(scratch, scale, scratch)
                add(ob, scratch, ob)
            if lr is not None:
                multiply(ob, lr, ob)
                subtract(xb, ob, xb)
        return out

    def _scratch(self, shape: tuple[int, ...]) -> NDArray[np.float64]:
        """A scratch block of ``shape``, kept between calls (at most two shapes: a step's full
        blocks and its last one), so repeated steps reuse the same pages."""
        buffers = self._buffers
        scratch = buffers.get(shape)
        if scratch is None:
            if len(buffers) >= 2:
                buffers.clear()
            scratch = buffers[shape] = np.empty(shape)
        return scratch

    def _phi_scratch(self, shape: tuple[int, ...]) -> tuple[NDArray[np.float64], ...]:
        """Three scratch arrays of ``shape`` for :meth:`_phi_terms`, kept between calls (per
        thread, at most two shapes: full blocks and the last one)."""
        buffers = self._phi_buffers.setdefault(threading.get_ident(), {})  # each thread its own
        scratch = buffers.get(shape)
        if scratch is None:
            if len(buffers) >= 2:
                buffers.clear()
            scratch = buffers[shape] = (np.empty(shape), np.empty(shape), np.empty(shape))
        return scratch

    def _phi_terms(self, u: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(sum_j sum_k phi(u_k - c_jk), sum_j phi'(u - c_j))`` for ``u`` of shape ``(..., d)``,
        block by block over the workers (bounded memory). The last result is kept: the engine
        asks for ``grad`` and ``loss`` at the same points."""
        key = (u.shape, u.tobytes())
        if self._phi_memo is not None and self._phi_memo[0] == key:
            return self._phi_memo[1]
        lead = u.shape[:-1]
        block = max(1, _BLOCK // max(1, math.prod(lead) * self.d))
        phi_sum = np.zeros(lead)
        prime_sum = np.zeros(lead + (self.d,))
        subtract, multiply, add, divide = np.subtract, np.multiply, np.add, np.divide
        for j0 in range(0, self.n, block):
            cb = self.c[j0:j0 + block]
            v, sq, s = self._phi_scratch(lead + cb.shape)  # reused: no fresh pages per call
            subtract(u[..., None, :], cb, out=v)
            multiply(v, v, out=sq)
            add(sq, 1.0, out=s)
            divide(sq, s, out=sq)
            phi_sum += sq.sum(axis=(-2, -1))
            multiply(s, s, out=s)
            multiply(v, 2.0, out=v)
            divide(v, s, out=v)
            prime_sum += v.sum(axis=-2)
        self._phi_memo = (key, (phi_sum, prime_sum))
        return phi_sum, prime_sum

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        u = np.asarray(u, dtype=np.float64)
        return self._loss_from(u, self._phi_terms(u)[0])

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        u = np.asarray(u, dtype=np.float64)
        return self._grad_from(u, self._phi_terms(u)[1])

    def _loss_from(self, u: NDArray[np.float64], phi_sum: NDArray[np.float64]) -> NDArray[np.float64]:
        diff = u - self._b_mean
        # (1/n) sum_j ||u - b_j||^2 = ||u - b̄||^2 + (1/n) sum_j ||b_j - b̄||^2
        return 0.5 * self.a * (np.einsum("...k,...k->...", diff, diff) + self._b_spread) + self.lam * phi_sum / self.n

    def _grad_from(self, u: NDArray[np.float64], prime_sum: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.a * (u - self._b_mean) + (self.lam / self.n) * prime_sum

    # ------------------------------------------------------------------ constants
    def _sup_divergence(self, levels: list[NDArray[np.intp]], rtol: float = 1e-3) -> tuple[float, list[float]]:
        """Certified ``eps^2`` and A3's per-level ``eps_l^2`` (size-weighted sum of group sups).

        Coordinate ``k`` of ``grad F_j(x) - a x`` is ``v_j(t) = lam phi'(t - c_jk) - a b_jk`` with
        ``t = x_k``, so every divergence is a sum over coordinates of one-variable functions
        and its supremum over ``x`` is the sum of one-variable suprema (separability; A3's
        weights ``n_p/n`` apply group by group). Each such function (the total, or ``div_p``
        of a group) is ``f = sum_u alpha_u z_u^2`` with weights ``alpha_u`` summing to 1 and
        ``z_u`` a difference of group means of ``v_j``. On ``[t - w, t + w]`` every
        ``|t - c_jk|`` is at least ``R`` (the distance from the interval to the nearest
        ``c_jk``), so there ``|z_u'| <= Z1 = lam (max - min of phi'' over |u| >= R)`` and
        ``|z_u''| <= Z2 = 2 lam max |phi'''|``. That gives two certified bounds on the
        interval, ``(sqrt f(t) + Z1 w)^2`` and the Taylor bound
        ``f(t) + |f'(t)| w + w^2 (Z1^2 + Z2 (sqrt f(t) + Z1 w))``;
        :func:`empirical.certify.certified_sup` refines intervals until the smaller is within
        ``rtol`` (relative to the function's value or its level's weighted sum) of the largest
        value attained, so each ``eps_l^2`` is within ``2 rtol`` of a sampled value. Beyond ``[min_j c_jk - D, max_j c_jk + D]``
        (``D >= 100``) every ``z_u`` is within ``lam phi'(D)`` of its limit at infinity. Groups
        that cannot diverge on a coordinate (one child, or identical workers) get exactly 0.
        """
        from empirical.aggregation import SortedLevels
        from empirical.certify import certified_sup

        sl = SortedLevels(levels, self.n, validate=False)
        b, c = self.b[sl.order], self.c[sl.order]
        counts = [s.size for s in sl.sizes[1:]]               # K_1 .. K_M
        F = 1 + sum(counts)
        column_level = np.repeat(np.arange(sl.M + 1), [1, *counts])  # 0: the total
        level_starts = np.flatnonzero(np.diff(column_level, prepend=-1))

        def divergences(v, dv=None):
            """``(items, n)`` values of ``v_j`` (and derivatives) -> ``(items, F)`` (and slopes)."""
            divs, slopes = sl.group_divergences(v[:, :, None], None if dv is None else dv[:, :, None])
            z = v - v.mean(axis=1, keepdims=True)
            values = np.concatenate([np.mean(z * z, axis=1)[:, None], *divs], axis=1)
            if dv is None:
                return values, None
            dz = dv - dv.mean(axis=1, keepdims=True)
            return values, np.concatenate([2 * np.mean(z * dz, axis=1)[:, None], *slopes], axis=1)

        def evaluate(kk, t, w):
            u = t[:, None] - c[:, kk].T                               # (items, n)
            R = np.maximum(np.abs(u).min(axis=1) - w, 0.0)
            s = 1.0 + u * u
            v = self.lam * 2.0 * u / (s * s) - self.a * b[:, kk].T     # lam phi'(u) - a b
            dv = self.lam * 2.0 * (1.0 - 3.0 * u * u) / (s * s * s)    # lam phi''(u)
            f, slope = divergences(v, dv)
            f = np.maximum(f, 0.0)
            z1 = (self.lam * _phi_second_range(R))[:, None]
            z2 = (self.lam * 2.0 * _phi_third_max(R))[:, None]
            w2 = w[:, None]
            root_bound = np.sqrt(f) + z1 * w2
            taylor = f + np.abs(slope) * w2 + w2 * w2 * (z1 * z1 + z2 * root_bound)
            return f, np.minimum(root_bound * root_bound, taylor)

        # structural zeros: a group with one child, or whose workers are identical on coordinate k
        zero = np.zeros((self.d, F), dtype=bool)
        zero[:, 0] = (np.ptp(b, axis=0) == 0) & (np.ptp(c, axis=0) == 0)
        col = 1
        for l in range(1, sl.M + 1):
            starts = sl.worker_starts[l]
            same = ((np.maximum.reduceat(b, starts) == np.minimum.reduceat(b, starts))
                    & (np.maximum.reduceat(c, starts) == np.minimum.reduceat(c, starts)))   # (K_l, d)
            one_child = np.diff(np.append(sl.child_starts[l], sl.sizes[l - 1].size)) == 1
            zero[:, col:col + counts[l - 1]] = same.T | one_child[None, :]
            col += counts[l - 1]

        at_inf = np.maximum(divergences((-self.a * b).T)[0], 0.0)   # (d, F): limits at +-infinity
        scale = (self.lam + self.a * float(np.abs(b).max()) + 1.0) ** 2

        column_weight = np.concatenate([[1.0], *(sl.sizes[l] / self.n for l in range(1, sl.M + 1))])

        def tolerance(lower: NDArray[np.float64]) -> NDArray[np.float64]:
            # slack rtol * max(own value, the level's weighted sum): A3's weighted sum of a
            # level is then within 2 rtol of the sampled one, however small each group is
            level_sum = np.add.reduceat(lower * column_weight, level_starts, axis=1)[:, column_level]
            slack = rtol * np.maximum(np.maximum(lower, level_sum), 1e-4 * lower[:, :1]) + 1e-12 * scale
            return np.where(zero, np.inf, slack)

        # starting intervals: width 1/4 around the centres, then widths growing by 1.5 outwards
        reach = 2.0 * 1.5 ** np.arange(11)                         # 2 .. 115
        ks, centres, halves = [], [], []
        for k in range(self.d):
            lo, hi = c[:, k].min() - reach[0], c[:, k].max() + reach[0]
            m = max(1, int(np.ceil((hi - lo) / 0.25)))
            edges = np.concatenate([c[:, k].min() - reach[::-1], np.linspace(lo, hi, m + 1)[1:-1],
                                    c[:, k].max() + reach])
            ks.append(np.full(edges.size - 1, k))
            centres.append((edges[1:] + edges[:-1]) / 2)
            halves.append((edges[1:] - edges[:-1]) / 2)
        upper, _ = certified_sup(evaluate, np.concatenate(ks), np.concatenate(centres), np.concatenate(halves),
                                 self.d, at_inf, tolerance, chunk=max(1, (1 << 19) // self.n))
        beyond = (np.sqrt(at_inf) + self.lam * float(_phi_prime(reach[-1]))) ** 2
        sq = np.maximum(upper, beyond)
        sq[zero] = 0.0
        total_sq = float(sq[:, 0].sum())
        level_sq = [float((sq[:, column_level == l] @ (sl.sizes[l] / self.n)).sum()) for l in range(1, sl.M + 1)]
        return total_sq, level_sq

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        labs = validate_levels(levels, self.n)
        key = tuple(lab.tobytes() for lab in labs)
        if key not in self._constants_cache:
            self._constants_cache[key] = self._sup_divergence(labs)
        total_sq, level_sq = self._constants_cache[key]
        return Constants(
            L=Constant(self.a + PHI_SECOND_MAX * self.lam, EXACT),  # a + lam phi''(0); >= |a - lam/2|
            sigma=Constant(self.sigma, EXACT),
            eps=Constant(float(np.sqrt(total_sq)), UPPER),
            eps_levels=tuple(Constant(float(np.sqrt(v)), UPPER) for v in level_sq),
            f_star=Constant(0.5 * self.a * self._b_spread, LOWER),  # min of the quadratic part; phi >= 0
        )


def _phi_second_range(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """``max phi'' - min phi''`` over ``|u| >= R``: ``max(phi''(R), 0) + 1/2`` for ``R <= 1``
    (``phi''`` is even, has its minimum ``-1/2`` at ``|u| = 1`` and tends to 0), ``-phi''(R)`` beyond.

    Example:
        >>> _phi_second_range(np.array([0.0, 0.7, 1.0, 2.0])).round(4).tolist()
        [2.5, 0.5, 0.5, 0.176]
    """
    s = 1.0 + R * R
    second = 2.0 * (1.0 - 3.0 * R * R) / (s * s * s)
    return np.where(R <= 1.0, np.maximum(second, 0.0) + 0.5, -second)


def _phi_third_max(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """An upper bound of ``|phi'''|`` over ``|u| >= R``: ``|phi'''(u)| = 24|u||u^2-1|/(1+u^2)^4
    <= 24|u|/(1+u^2)^3``, which decreases for ``|u| >= 1/sqrt(5)``.

    Example:
        >>> u = np.linspace(0.3, 50, 100001); third = 24 * u * (u * u - 1) / (1 + u * u) ** 4
        >>> bool(np.all(np.abs(third) <= _phi_third_max(u)))
        True
    """
    r = np.maximum(R, 1.0 / np.sqrt(5.0))
    return 24.0 * r / (1.0 + r * r) ** 3


_CONSTANT_KEYS = ("L", "sigma", "eps", "eps_levels", "f_star", "label", "levels")


def _grouping_key(levels: list[NDArray[np.intp]]) -> tuple[bytes, ...]:
    """A grouping as a partition: each level's labels renumbered by first appearance.

    Example:
        >>> _grouping_key([np.array([1, 1, 0, 0])]) == _grouping_key([np.array([0, 0, 1, 1])])
        True
    """
    key = []
    for lab in levels:
        _, first, inverse = np.unique(lab, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(first.size)
        key.append(rank[inverse.reshape(-1)].tobytes())
    return tuple(key)


def _as_constant(name: str, value: Any, label: str) -> Constant:
    """``value`` (a number or a :class:`Constant`) as a :class:`Constant`, checked for its range."""
    if isinstance(value, Constant):
        number, label = value.value, value.label
    else:
        number = value
    if isinstance(number, bool) or not isinstance(number, (int, float, np.integer, np.floating)):
        raise ValueError(f"constants['{name}'] must be a number or a Constant, got {type(number).__name__}")
    number = float(number)
    if not np.isfinite(number):
        raise ValueError(f"constants['{name}'] must be finite, got {number!r}")
    if name == "L" and number <= 0:
        raise ValueError(f"constants['L'] must be positive, got {number!r}")
    if name not in ("L", "f_star") and number < 0:
        raise ValueError(f"constants['{name}'] must be non-negative, got {number!r}")
    return Constant(number, str(label))


def _probe(name: str, fn: Callable, args: tuple, shape: tuple[int, ...], what: str) -> NDArray[np.float64]:
    """Call ``fn(*args)`` once and check that it returns a finite array of exactly ``shape``."""
    try:
        value = np.asarray(fn(*args), dtype=np.float64)
    except Exception as exc:  # the user's function: say which one failed, on what
        raise ValueError(f"{name} failed on {what}: {type(exc).__name__}: {exc}") from exc
    if value.shape != shape:
        raise ValueError(f"{name} must return an array of shape {shape} for {what}, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} returned a non-finite value for {what}")
    return value


class FunctionProblem:
    """A problem made of plain functions; see :func:`from_gradient_fn` (which documents every argument)."""

    def __init__(self, worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None,
                 noise: float | Callable | None, constants: Constants | dict | None, x0: ArrayLike | None,
                 estimate: bool = False) -> None:
        for name, value in (("n", n), ("d", d)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, fn in (("worker_grads", worker_grads), ("grad", grad)):
            if not callable(fn):
                raise ValueError(f"{name} must be a function, got {type(fn).__name__}")
        if loss is not None and not callable(loss):
            raise ValueError(f"loss must be None or a function (..., d) -> (...), got {type(loss).__name__}")
        if noise is not None and not callable(noise) and (
                isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating))
                or not (np.isfinite(noise) and noise >= 0)):
            raise ValueError(f"noise must be None, a non-negative sigma, or a function (rng, shape) -> array; got {noise!r}")
        if not isinstance(estimate, bool):
            raise ValueError(f"estimate must be True or False, got {estimate!r}")
        self.n, self.d = int(n), int(d)
        self._worker_grads, self._grad, self._loss, self._noise = worker_grads, grad, loss, noise
        self._estimate = estimate
        if x0 is None:
            self._x0 = np.zeros(self.d)
        else:
            start = np.asarray(x0, dtype=np.float64)
            if start.shape not in ((), (self.d,)) or not np.all(np.isfinite(start)):
                raise ValueError(f"x0 must be a finite number or a finite array of shape ({self.d},), got shape {start.shape}")
            self._x0 = np.broadcast_to(start, (self.d,)).copy()
        self._given, self._eps_levels, self._bound_key = self._parse_constants(constants)
        self._has_constants = constants is not None
        self._estimates: dict[str, Any] = {}
        self._check_functions()
        self.params = dict(n=self.n, d=self.d, kind="from_gradient_fn")

    # ------------------------------------------------------------------ setup checks
    def _parse_constants(self, constants: Constants | dict | None
                         ) -> tuple[dict[str, Constant], Callable | tuple[Constant, ...] | None, tuple[bytes, ...] | None]:
        """Given constants by name, the ``eps_levels`` (a function or values) and the grouping they belong to."""
        self._label = "given"
        if constants is None:
            return {}, None, None
        if isinstance(constants, Constants):
            given = {"L": constants.L, "sigma": constants.sigma, "eps": constants.eps, "f_star": constants.f_star}
            for name, c in given.items():
                _as_constant(name, c, c.label)
            return given, tuple(constants.eps_levels), None
        if not isinstance(constants, dict):
            raise ValueError(f"constants must be None, a Constants or a dict, got {type(constants).__name__}")
        unknown = sorted(set(constants) - set(_CONSTANT_KEYS))
        if unknown:
            raise ValueError(f"constants has unknown keys {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(_CONSTANT_KEYS)}")
        label = constants.get("label", "given")
        if not isinstance(label, str):
            raise ValueError(f"constants['label'] must be a string, got {type(label).__name__}")
        self._label = label
        given = {k: _as_constant(k, constants[k], label) for k in ("L", "sigma", "eps", "f_star") if k in constants}
        spec = constants.get("eps_levels")
        bound_key = None
        if spec is not None and not callable(spec):
            if isinstance(spec, (str, bytes)) or not hasattr(spec, "__len__"):
                raise ValueError(f"constants['eps_levels'] must be a list of numbers or a function levels -> list, "
                                 f"got {type(spec).__name__}")
            spec = tuple(_as_constant(f"eps_levels[{i}]", v, label) for i, v in enumerate(spec))
            if not spec:
                raise ValueError("constants['eps_levels'] must not be empty")
        if "levels" in constants:
            if spec is None or callable(spec):
                raise ValueError("constants['levels'] names the grouping a list constants['eps_levels'] was "
                                 "computed for: give that list too")
            labs = validate_levels(constants["levels"], self.n)
            if len(spec) != len(labs) + 1:
                raise ValueError(f"constants['eps_levels'] must have {len(labs) + 1} values for the "
                                 f"{len(labs) + 1}-level grouping constants['levels'], got {len(spec)}")
            bound_key = _grouping_key(labs)
        return given, spec, bound_key

    def _check_functions(self) -> None:
        """Call every function once at ``x0`` and check the shapes (and that ``grad`` averages ``worker_grads``)."""
        n, d, x0 = self.n, self.d, self._x0
        many = _probe("worker_grads", self._worker_grads, (np.broadcast_to(x0, (2, n, d)).copy(),), (2, n, d),
                      f"x of shape (2, {n}, {d}) (a leading seed axis)")
        _probe("worker_grads", self._worker_grads, (np.broadcast_to(x0, (n, d)).copy(),), (n, d),
               f"x of shape ({n}, {d})")
        g = _probe("grad", self._grad, (np.broadcast_to(x0, (2, d)).copy(),), (2, d), f"u of shape (2, {d})")
        _probe("grad", self._grad, (x0.copy(),), (d,), f"u of shape ({d},)")
        mean = many[0].mean(axis=0)
        gap = float(np.max(np.abs(g[0] - mean)))
        if gap > 1e-6 * (1.0 + float(np.max(np.abs(many[0])))):
            raise ValueError(f"grad must be the average of worker_grads (f = (1/n) sum_j F_j, docs/theory.md "
                             f"§1.1 Workers, hierarchy, periods): at x0 they differ by {gap:.3g}")
        if self._loss is not None:
            _probe("loss", self._loss, (np.broadcast_to(x0, (2, d)).copy(),), (2,), f"u of shape (2, {d})")
            _probe("loss", self._loss, (x0.copy(),), (), f"u of shape ({d},)")
        if callable(self._noise):
            from empirical.streams import SeedStreams

            _probe("noise", self._noise, (SeedStreams(0, 2), (2, n, d)), (2, n, d),
                   f"rng = SeedStreams(seed, 2), shape = (2, {n}, {d}): one noise vector per seed and worker, "
                   f"not broadcast")

    # ------------------------------------------------------------------ the Problem interface
    def default_x0(self) -> NDArray[np.float64]:
        """The start given as ``x0`` (zeros by default)."""
        return self._x0

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``worker_grads(x)`` as a float array."""
        return np.asarray(self._worker_grads(x), dtype=np.float64)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        """``worker_grads(x)`` plus the noise, written into ``out`` (shapes checked, never broadcast)."""
        g = self._worker_grads(x)
        if np.shape(g) != out.shape:
            raise ValueError(f"worker_grads returned shape {np.shape(g)} for x of shape {x.shape}")
        out[...] = g
        if callable(self._noise):
            xi = self._noise(rng, out.shape)
            if np.shape(xi) != out.shape:
                raise ValueError(f"noise returned shape {np.shape(xi)}, expected {out.shape}")
            out += xi
        elif self._noise:
            _gaussian_noise(float(self._noise), rng, out)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``loss(u)``, or NaN where none was given."""
        if self._loss is None:
            return np.full(np.shape(u)[:-1], np.nan)
        return np.asarray(self._loss(u), dtype=np.float64)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``grad(u)`` as a float array."""
        return np.asarray(self._grad(u), dtype=np.float64)

    # ------------------------------------------------------------------ constants
    def _pilot(self) -> Any:
        if "pilot" not in self._estimates:
            self._estimates["pilot"] = pilot_trajectory(self, seed=0)
        return self._estimates["pilot"]

    def _estimated(self, name: str, levels: list[NDArray[np.intp]]) -> Any:
        """An estimated constant, sampled along the pilot trajectory (cached where independent of the grouping)."""
        pilot = self._pilot()
        if name == "L":
            if "L" not in self._estimates:
                self._estimates["L"] = estimate_smoothness(self, pilot)
            return self._estimates["L"]
        if name == "sigma":
            if "sigma" not in self._estimates:
                self._estimates["sigma"] = sampled_sigma(self, pilot.shared, np.random.default_rng(1),
                                                         source="pilot-trajectory")
            return self._estimates["sigma"]
        return sampled_divergences(self, pilot.points(), levels, source="pilot-trajectory")  # (eps, eps_levels)

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        """The constants for the grouping ``levels`` (see :func:`from_gradient_fn` for where each comes from).

        Raises:
            ValueError: naming the constants that are missing (without ``estimate=True``), or
                when ``eps_levels`` were given for another grouping.
        """
        labs = validate_levels(levels, self.n)
        M = len(labs) + 1
        if not self._has_constants and not self._estimate:
            raise ValueError("this problem was made without constants: pass constants=... (or estimate=True) "
                             "to from_gradient_fn")
        given = dict(self._given)
        if "sigma" not in given and not callable(self._noise):
            sigma = float(self._noise or 0.0)
            given["sigma"] = Constant(sigma, EXACT + (" (no noise)" if sigma == 0 else
                                                      " (Gaussian noise with E||xi||^2 = sigma^2)"))
        missing = [k for k in ("L", "sigma", "eps", "f_star") if k not in given]
        if missing and (not self._estimate or "f_star" in missing):
            hint = [] if self._estimate else ["give them, or pass estimate=True to estimate L, sigma and eps by "
                                              "sampling (labelled 'estimated')"]
            if "f_star" in missing:
                hint.append("f_star (f* or a lower bound of it, e.g. 0 for a non-negative loss) is never estimated: "
                            "a sampled minimum lies above f*, the wrong direction")
            named = missing if not self._estimate else ["f_star"]  # the others will be estimated
            raise ValueError(f"constants is missing {', '.join(named)}: {'; '.join(hint)}")
        L = given["L"] if "L" in given else self._estimated("L", labs)
        sigma = given["sigma"] if "sigma" in given else self._estimated("sigma", labs)
        sampled = None
        if "eps" in given:
            eps = given["eps"]
        else:
            sampled = self._estimated("divergences", labs)
            eps = sampled[0]
        return Constants(L=L, sigma=sigma, eps=eps, eps_levels=self._eps_levels_for(labs, M, eps, sampled),
                         f_star=given["f_star"])

    def _eps_levels_for(self, labs: list[NDArray[np.intp]], M: int, eps: Constant,
                        sampled: tuple[Constant, tuple[Constant, ...]] | None) -> tuple[Constant, ...]:
        spec = self._eps_levels
        if callable(spec):
            values = spec(labs)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != M:
                raise ValueError(f"constants['eps_levels'] (a function) must return {M} values for a {M}-level "
                                 f"grouping, got {values!r}")
            return tuple(_as_constant(f"eps_levels[{i}]", v, self._label) for i, v in enumerate(values))
        if M == 1:
            return (eps,)  # one level: A3 at the top is the total divergence, eps_1 = eps
        if spec is not None:
            key = _grouping_key(labs)
            if self._bound_key is None:
                self._bound_key = key  # a list without constants['levels'] belongs to the first grouping asked for
            if key == self._bound_key:
                if len(spec) != M:
                    raise ValueError(f"constants['eps_levels'] has {len(spec)} values; this grouping has {M} levels")
                return spec
            if not self._estimate:
                raise ValueError("constants['eps_levels'] were given for another grouping (A3's eps_l belong to one "
                                 "grouping): pass eps_levels as a function levels -> list, or estimate=True")
        elif not self._estimate:
            raise ValueError(f"constants is missing eps_levels (A3's eps_l, {M} values for this grouping): give a "
                             f"list (with levels=... naming its grouping) or a function levels -> list, or pass "
                             f"estimate=True")
        if sampled is None:
            sampled = self._estimated("divergences", labs)
        return sampled[1]


def from_gradient_fn(worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None = None,
                     noise: float | Callable | None = None, constants: Constants | dict | None = None,
                     x0: ArrayLike | None = None, *, estimate: bool = False) -> FunctionProblem:
    """A problem from plain functions, for plugging in your own objective.

    Every function is called once at ``x0`` when the problem is made, and a wrong output
    shape (a scalar noise, a gradient missing the seed axis, ...) is a ``ValueError`` naming
    the function, instead of being broadcast through the run.

    Args:
        worker_grads: maps ``x`` of shape ``(..., n, d)`` to the per-worker true gradients,
            the same shape.
        grad: maps ``u`` of shape ``(..., d)`` to the global gradient; it must be the average
            of ``worker_grads`` (``f = (1/n) sum_j F_j``; checked at ``x0``).
        n, d: number of workers and dimension.
        loss: optional global loss ``(..., d) -> (...)`` (the checker needs it for ``F0``).
        noise: ``None`` (deterministic run), a number ``sigma`` (Gaussian noise with
            ``E||xi||^2 = sigma^2``), or a function ``(rng, shape) -> array`` of exactly
            ``shape``; ``rng`` is the run's :class:`~empirical.streams.SeedStreams`
            (``standard_normal``, ``normal``, ``random``, ``uniform``, ``integers``, each
            drawing along the leading seed axis).
        constants: the constants of docs/theory.md §1.3 Assumptions A1-A3: a :class:`Constants`,
            or a dict with ``L``, ``sigma``, ``eps``, ``eps_levels``, ``f_star`` (numbers or
            :class:`Constant`), an optional ``label`` for the numbers (default ``"given"``)
            and an optional ``levels``. ``sigma`` may be left out when ``noise`` is ``None``
            or a number (it is then exact). ``eps_levels`` (A3's ``eps_l``, finest first)
            belong to one grouping: give a function ``levels -> list`` to compute them for
            any grouping, or a list together with ``levels``, the grouping it is for (a list
            without ``levels`` belongs to the first grouping :meth:`constants` is asked for).
            Another grouping is then an error, never a silent reuse. With one level
            (``levels = ()``) ``eps_levels`` is ``(eps,)``.
        x0: default start (zeros), a number or shape ``(d,)``.
        estimate: what to do with missing constants. ``False`` (default): asking for
            :meth:`constants` raises, naming them. ``True``: ``L``, ``sigma``, ``eps`` and
            ``eps_levels`` that are not given are estimated along a pilot trajectory from
            ``x0`` (:func:`empirical.smoothness.pilot_trajectory`): ``L`` by Hessian power
            iteration with a 1.1 margin (:func:`empirical.smoothness.estimate_smoothness`),
            ``sigma`` and the divergences by sampling (:func:`sampled_sigma`,
            :func:`sampled_divergences`); each is labelled ``"estimated (...)"`` with its
            sampling, so :meth:`Constants.estimated` lists it. ``f_star`` is never estimated
            (a sampled minimum lies above ``f*``): it must be given.

    Raises:
        ValueError: a non-callable function, a wrong output shape or non-finite output at
            ``x0``, ``grad`` not the average of ``worker_grads``, unknown or out-of-range
            constants.

    Example:
        >>> import numpy as np
        >>> b = np.arange(4.0)[:, None]                      # F_j(x) = (x - b_j)^2 / 2
        >>> p = from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(), n=4, d=1,
        ...                      constants=dict(L=1, eps=float(b.std()), f_star=0.625))
        >>> p.worker_grads(np.zeros((4, 1)))[:, 0].tolist()
        [0.0, -1.0, -2.0, -3.0]
        >>> p.constants().sigma.label                        # no noise: sigma = 0 is exact
        'exact (no noise)'
        >>> p.constants([[0, 0, 1, 1]])
        Traceback (most recent call last):
        ...
        ValueError: constants is missing eps_levels (A3's eps_l, 2 values for this grouping): give a list (with levels=... naming its grouping) or a function levels -> list, or pass estimate=True
    """
    return FunctionProblem(worker_grads, grad, n, d, loss, noise, constants, x0, estimate)


class FiniteSumLogistic:
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
        from empirical.partitions import Partition, as_partition, data_weights

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
        from empirical.partitions import make_partition

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
        return self.lam * _phi_prime(x)

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


def sampled_sigma(problem: Any, points: NDArray[np.float64], rng: np.random.Generator, *, draws: int = 32,
                  source: str = "sampled") -> Constant:
    """Estimate A2's ``sigma`` from samples, labelled ``"estimated (...)"`` with its sampling.

    ``sigma^2`` is the largest, over workers and ``points`` (``(P, d)``), of the mean of
    ``||g - grad F_j||^2`` over ``draws`` draws of ``problem.stochastic_grads`` (the points
    are the seed axis of a :class:`~empirical.streams.SeedStreams` seeded from ``rng``).
    """
    from empirical.streams import SeedStreams

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
    return Constant(value, f"{ESTIMATED} (largest per-worker mean of ||g - grad F_j||^2 over {draws} draws "
                           f"at {points.shape[0]} {source} points)")


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
    from empirical.aggregation import SortedLevels

    points = np.asarray(points, dtype=np.float64).reshape(-1, problem.d)
    P = points.shape[0]
    xs = np.broadcast_to(points[:, None, :], (P, problem.n, problem.d))
    grads = np.asarray(problem.worker_grads(xs), dtype=np.float64)
    if weights is not None:
        from empirical.partitions import weighted_divergences

        total, divs, group_weights = weighted_divergences(grads, levels, weights)
        where = f"at {P} {source} points"
        return (Constant(float(np.sqrt(total.max())), f"{ESTIMATED} (largest data-weighted divergence {where})"),
                tuple(Constant(float(np.sqrt(div.max(axis=0) @ pw)),
                               f"{ESTIMATED} (A3's data-weighted sum of per-group maxima {where})")
                      for div, pw in zip(divs, group_weights)))
    centred = grads - grads.mean(axis=1, keepdims=True)
    total_sq = float(np.einsum("pjd,pjd->p", centred, centred).max() / problem.n)
    sl = SortedLevels(levels, problem.n, validate=False)
    divs, _ = sl.group_divergences(grads[:, sl.order])
    level_sq = [float(div.max(axis=0) @ (sl.sizes[l] / problem.n)) for l, div in enumerate(divs, start=1)]
    where = f"at {P} {source} points"
    return (Constant(float(np.sqrt(total_sq)), f"{ESTIMATED} (largest divergence {where})"),
            tuple(Constant(float(np.sqrt(v)), f"{ESTIMATED} (A3's size-weighted sum of per-group maxima {where})")
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
