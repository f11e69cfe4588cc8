r"""The heterogeneous non-convex family with certified constants (:class:`HeterogeneousNonconvex`).

``F_j(x) = (a/2)||x - b_j||^2 + lam sum_k phi(x_k - c_jk)`` with :mod:`empirical.problems.phi`'s
``phi``: ``L`` and ``sigma`` exact, ``eps`` and the per-level ``eps_l`` certified upper bounds
(branch and bound, :func:`empirical.certify.certified_sup`), ``f*`` a certified lower bound.
The problem of ``hsgd check --problem nonconvex`` and of most tests; its step is fused
(:meth:`HeterogeneousNonconvex.stochastic_grads` with ``lr``), and :mod:`empirical.batch`
reuses its gradient block (:func:`_gradient_block`) so both agree bit for bit.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.aggregation import SortedLevels
from empirical.certify import certified_sup
from empirical.constants import EXACT, LOWER, UPPER, Constant, Constants
from empirical.problems.protocol import ProblemBase
from empirical.problems.phi import PHI_SECOND_MAX, phi_prime, phi_second_range, phi_third_max

__all__ = ["HeterogeneousNonconvex"]

_BLOCK = 1 << 16  # elements per block of an elementwise pipeline: a block's passes stay in cache


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




class HeterogeneousNonconvex(ProblemBase):
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

    Its step is fused (``fused_step``, :mod:`empirical.problems.protocol`): a subclass that
    overrides :meth:`stochastic_grads` without the ``lr=`` keyword sets ``fused_step = False``.
    """

    fused_step = True

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

    def default_x0(self) -> NDArray[np.float64]:
        return np.zeros(self.d)

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.a * (x - self.b) + self.lam * phi_prime(x - self.c)

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
            phi_sum += np.einsum("...jk->...", sq)  # einsum: no slow strided reduce
            multiply(s, s, out=s)
            multiply(v, 2.0, out=v)
            divide(v, s, out=v)
            prime_sum += np.einsum("...jk->...k", v)
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
            z1 = (self.lam * phi_second_range(R))[:, None]
            z2 = (self.lam * 2.0 * phi_third_max(R))[:, None]
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
        beyond = (np.sqrt(at_inf) + self.lam * float(phi_prime(reach[-1]))) ** 2
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

