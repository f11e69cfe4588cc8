"""Many small configurations as one simulation: a batch axis of problems and step sizes.

A sweep over step sizes, heterogeneity levels or problem instances that share one hierarchy
runs as one :func:`empirical.simulate` call whose leading axis has ``K * seeds`` rows: rows
``k * seeds .. (k + 1) * seeds - 1`` are configuration ``k``'s seeds. Every step then costs
one set of numpy passes over a ``(K * seeds, n, d)`` array instead of ``K`` Python-level steps,
which is where small problems spend their time (docs/theory.md §1.2 Algorithm, unchanged).

:class:`BatchedNonconvex` stacks the per-worker arrays of ``K``
:class:`empirical.problems.HeterogeneousNonconvex` problems (same ``n`` and ``d``; any
``clusters``, ``between``, ``within``, ``a``, ``lam``, ``sigma`` and ``seed``) along the batch
axis, with the per-configuration scalars as ``(K, 1, 1, 1)`` columns, and takes the fused step
(gradient, noise, ``x -= lr g``) with a per-row step size: no Python loop over configurations
or workers in the step. The engine is unchanged: the wrapper's ``stochastic_grads`` takes the
engine's fused ``lr=`` keyword and ignores its value (the engine is called with ``lr = 1``),
using its own per-configuration step sizes instead.

Equivalence, bit for bit: result ``k`` of :func:`simulate_batch` equals
``simulate(problems[k], hierarchy, lrs[k], steps, seeds, seeds_k)`` in every recorded array and
in its ``config``. The step applies the same floating-point operations, element by element, as
:meth:`HeterogeneousNonconvex.stochastic_grads` (elementwise operations do not depend on the
shape of the array they run over); the noise of configuration ``k`` is drawn from
``SeedStreams(seed_k, seeds)``, the single run's streams: with one ``seed`` for all, the
``(seeds, n, d)`` normals are drawn once per step and shared by the ``K`` configurations
(common random numbers, as ``K`` copies of the same streams would give); ``f`` and ``grad f``
at the recorded averages sum over the workers in the same blocks as the single run; the
divergences and aggregations are row by row. The tests check equality with ``==``.

A configuration whose run produces a non-finite value stops the batched run there (the engine
stops at the first non-finite record); that configuration's result is then its single run's
(stopped at the same step and seed), and the others are run again as a batch without it (the
same streams give the same numbers), so a sweep with ``m`` diverging configurations costs at
most ``m + 1`` batched runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.engine import DivergenceWarning, simulate
from empirical.hierarchy import Hierarchy
from empirical.problems.heterogeneous import HeterogeneousNonconvex, _gradient_block
from empirical.problems.protocol import ProblemBase
from empirical.problems.witness import KinkProblem, two_point_law
from empirical.results import SimulationResult
from empirical.streams import SeedStreams

__all__ = ["BatchedKink", "BatchedNonconvex", "simulate_batch"]

_BLOCK = 1 << 16  # elements per block of the step's elementwise passes (as empirical.problems.heterogeneous)
_SPREAD = 1 << 20  # up to this many state elements, the step's constants are stored at the state's shape


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _as_list(name: str, value: Any) -> list[Any]:
    """``value`` as a non-empty list (a scalar or a problem is a list of one)."""
    if isinstance(value, (HeterogeneousNonconvex, KinkProblem)) or np.ndim(value) == 0:
        return [value]
    items = list(value)
    if not items:
        raise ValueError(f"{name} must not be empty")
    return items


def _step_sizes(lrs: Sequence[float], K: int, noise_seeds: Sequence[int]) -> NDArray[np.float64]:
    """The ``K`` step sizes of a batch as an array, after checking them and the noise seeds' count."""
    lr = np.asarray(lrs, dtype=np.float64)
    if lr.shape != (K,) or not np.all(np.isfinite(lr)) or not np.all(lr > 0):
        raise ValueError(f"lrs must be {K} positive finite numbers, got {lrs!r}")
    if len(noise_seeds) != K:
        raise ValueError(f"noise_seeds must be {K} integers (one per problem), got {len(noise_seeds)}")
    return lr


def _column(values: Sequence[float], K: int) -> NDArray[np.float64]:
    """Per-configuration scalars as a ``(K, 1, 1, 1)`` column, broadcast over seeds, workers, coordinates."""
    return np.array(values, dtype=np.float64).reshape(K, 1, 1, 1)


class _Batch(ProblemBase):
    """What every batch of ``K`` problems of one type shares: the problems (checked non-empty and
    of exactly :attr:`problem_type`), ``K``, the step sizes as a ``(K, 1, 1, 1)`` column ``lr``,
    ``seeds``, ``n``, ``d``, ``rows = K * seeds``, and the noise seeds with, per configuration,
    the index of its distinct seed (``stream_of``; ``distinct`` lists them in order)."""

    fused_step = True  # stochastic_grads takes the step itself, with the rows' own lrs
    problem_type: type = object

    def __init__(self, problems: Sequence[Any], lrs: Sequence[float], seeds: int, noise_seeds: Sequence[int]) -> None:
        problems = list(problems)
        if not problems:
            raise ValueError("problems must not be empty")
        for k, p in enumerate(problems):
            if type(p) is not self.problem_type:
                raise ValueError(f"problems must all be {self.problem_type.__name__}, got {type(p).__name__} at "
                                 f"index {k}")
        self._check_compatible(problems)
        self.K = len(problems)
        self.lr = self._column([float(v) for v in _step_sizes(lrs, self.K, noise_seeds)])
        self.seeds = _positive_int("seeds", seeds)
        self.problems = problems
        self.n, self.d = problems[0].n, problems[0].d
        self.rows = self.K * self.seeds
        self.noise_seeds = [int(s) for s in noise_seeds]
        self.distinct = sorted(set(self.noise_seeds))
        self.stream_of = np.array([self.distinct.index(s) for s in self.noise_seeds], dtype=np.intp)

    def _check_compatible(self, problems: list[Any]) -> None:
        """Raise ``ValueError`` if the problems cannot run as one batch (a subclass's rule)."""

    def _column(self, values: Sequence[float]) -> NDArray[np.float64]:
        return _column(values, self.K)

    def default_x0(self) -> NDArray[np.float64]:
        """The common start of every configuration (0, as every batched problem type's)."""
        return np.zeros(self.d)

    def _split(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        if x.shape[0] != self.rows:
            raise ValueError(f"x must have K * seeds = {self.rows} rows, got shape {x.shape}")
        return x.reshape((self.K, self.seeds) + x.shape[1:])


class BatchedNonconvex(_Batch):
    """``K`` :class:`~empirical.problems.HeterogeneousNonconvex` problems, ``seeds`` rows each,
    as one problem on ``(K * seeds, n, d)`` arrays for :func:`empirical.simulate`.

    Row ``k * seeds + s`` is seed ``s`` of configuration ``k``. The step size of every row is
    ``lrs[k]`` (the ``lr`` the engine passes is ignored: run it with ``lr = 1``) and its noise
    comes from ``SeedStreams(noise_seeds[k], seeds)``; the ``rng`` the engine passes is ignored
    too. ``grad`` and ``loss`` take the ``(K * seeds, d)`` averages of the recording.

    Memory, besides the engine's: one scratch array of the state's size, one step's normals per
    distinct noise seed, and, when the state has at most ``2**20`` elements, the step's six
    per-configuration constants spread to the state's shape (contiguous operands make the
    step's passes about twice as fast; larger states broadcast them instead).

    Args:
        problems: ``K`` problems of type ``HeterogeneousNonconvex`` (exactly: a subclass may
            change the step), all with the same ``n`` and ``d``.
        lrs: ``K`` positive finite step sizes.
        seeds: seeds (rows) per configuration.
        noise_seeds: ``K`` root seeds of the noise streams (equal ones share one draw).

    Example:
        >>> ps = [HeterogeneousNonconvex(n=4, d=2, within=w) for w in (0.5, 1.0)]
        >>> b = BatchedNonconvex(ps, [0.01, 0.02], seeds=3, noise_seeds=[0, 0])
        >>> b.n, b.d, b.rows
        (4, 2, 6)
    """

    problem_type = HeterogeneousNonconvex

    def __init__(self, problems: Sequence[HeterogeneousNonconvex], lrs: Sequence[float], seeds: int,
                 noise_seeds: Sequence[int]) -> None:
        super().__init__(problems, lrs, seeds, noise_seeds)
        problems, K, column = self.problems, self.K, self._column
        # the same doubles the single problems use (2.0 * lam, sigma / math.sqrt(d), their own a (c - b))
        self.a = column([p.a for p in problems])
        self.lam = column([p.lam for p in problems])
        self.two_lam = column([2.0 * p.lam for p in problems])
        self.scale = column([p.sigma / math.sqrt(p.d) for p in problems])
        self.noisy = np.array([p.sigma > 0 for p in problems]).reshape(K, 1, 1, 1)
        self.c = np.stack([p.c for p in problems])[:, None]        # (K, 1, n, d)
        self.b = np.stack([p.b for p in problems])[:, None]
        self.acb = np.stack([p._acb for p in problems])[:, None]   # a (c - b), the problem's own array
        # the step's constants, spread to the state's shape when small: a broadcast operand
        # with a short inner loop makes a numpy pass about twice as slow as a contiguous one
        shape = (K, self.seeds, self.n, self.d)
        spread = (lambda v: np.ascontiguousarray(np.broadcast_to(v, shape))) if math.prod(shape) <= _SPREAD \
            else (lambda v: v)
        self._step_constants = tuple(spread(v) for v in (self.c, self.acb, self.a, self.two_lam, self.scale, self.lr))
        self.b_mean = np.stack([p._b_mean for p in problems])[:, None]  # (K, 1, d)
        self.b_spread = np.array([p._b_spread for p in problems])[:, None]  # (K, 1)
        self.streams = [SeedStreams(s, self.seeds) for s in self.distinct] if self.noisy.any() else []
        self.shared = len(self.distinct) == 1
        self._noise = np.empty((len(self.distinct), self.seeds, self.n, self.d)) if self.streams else None
        self._scratch = np.empty((K, self.seeds, self.n, self.d))
        self._memo: tuple[Any, tuple[NDArray[np.float64], NDArray[np.float64]]] | None = None

    def _check_compatible(self, problems: list[HeterogeneousNonconvex]) -> None:
        for k, p in enumerate(problems):
            if (p.n, p.d) != (problems[0].n, problems[0].d):
                raise ValueError(f"problems must share n and d, got (n, d) = ({p.n}, {p.d}) at index {k} and "
                                 f"({problems[0].n}, {problems[0].d}) at index 0")

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Every row's true per-worker gradients, ``x`` of shape ``(K * seeds, n, d)``."""
        xs = self._split(np.asarray(x, dtype=np.float64))
        u = xs - self.c
        s = 1.0 + u * u
        return (self.a * (xs - self.b) + self.lam * (2.0 * u / (s * s))).reshape(x.shape)

    def _draw(self) -> None:
        """One step's normals: ``(seeds, n, d)`` per distinct noise seed, each seed's stream in
        worker order (the numbers of one draw of the single run's whole array)."""
        for streams, block in zip(self.streams, self._noise):
            for gen, rows_of_seed in zip(streams.generators, block):
                gen.standard_normal(out=rows_of_seed)

    def stochastic_grads(self, x: NDArray[np.float64], rng: Any, out: NDArray[np.float64], *,
                         lr: float | None = None) -> NDArray[np.float64]:
        """The fused step of every row: ``out = lr_k (grad F_j(x) + noise)`` and ``x -= out``.

        The operations of :meth:`HeterogeneousNonconvex.stochastic_grads` with ``lr``, in the
        same order, with each configuration's constants broadcast over its rows; blocks of
        whole configurations keep the passes in cache. ``rng`` and ``lr`` are ignored (the
        streams and step sizes are the wrapper's own, see the class docstring); the class
        declares ``fused_step``, so the engine passes ``lr`` and leaves the step to it.
        """
        xs, outs = self._split(x), self._split(out)
        if self.streams:
            self._draw()
        K = self.K
        per_config = self.seeds * self.n * self.d
        block = max(1, _BLOCK // per_config)
        subtract, multiply, add = np.subtract, np.multiply, np.add
        mixed = self.streams and not bool(self.noisy.all())
        for k0 in range(0, K, block):
            k1 = min(K, k0 + block)
            whole = k0 == 0 and k1 == K
            sl = slice(k0, k1)
            xb, ob, scratch = (xs, outs, self._scratch) if whole else (xs[sl], outs[sl], self._scratch[sl])
            cb, acbb, a, two_lam, scale, lr_b = (v[sl] for v in self._step_constants)
            _gradient_block(xb, cb, acbb, a, two_lam, ob, scratch)  # the single run's operations
            if self.streams:
                if self.shared:
                    multiply(self._noise[0], scale, scratch)  # the shared draw, scaled per configuration
                else:
                    np.take(self._noise, self.stream_of[sl], axis=0, out=scratch)
                    multiply(scratch, scale, scratch)
                if mixed:  # a noiseless configuration adds nothing, as its single run does
                    add(ob, scratch, ob, where=self.noisy[sl])
                else:
                    add(ob, scratch, ob)
            multiply(ob, lr_b, ob)
            subtract(xb, ob, xb)
        return out

    def _phi_terms(self, u: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """:meth:`HeterogeneousNonconvex._phi_terms` for every configuration, ``u`` of shape
        ``(K, seeds, d)``: the workers in the single run's blocks (its ``seeds`` rows), so the
        sums are added in the same order; configurations in chunks of bounded memory."""
        key = (u.shape, u.tobytes())
        if self._memo is not None and self._memo[0] == key:
            return self._memo[1]
        K, S, d, n = self.K, self.seeds, self.d, self.n
        block = max(1, _BLOCK // max(1, S * d))  # the single run's worker block: rows = seeds
        phi_sum = np.zeros((K, S))
        prime_sum = np.zeros((K, S, d))
        chunk = max(1, _BLOCK // max(1, S * min(n, block) * d))
        for k0 in range(0, K, chunk):
            ks = slice(k0, k0 + chunk)
            uk = u[ks, :, None, :]
            for j0 in range(0, n, block):
                v = uk - self.c[ks, :, j0:j0 + block]
                sq = v * v
                s = sq + 1.0
                sq /= s
                phi_sum[ks] += np.einsum("...jk->...", sq)  # einsum: no slow strided reduce
                s *= s
                v *= 2.0
                v /= s
                prime_sum[ks] += np.einsum("...jk->...k", v)
        self._memo = (key, (phi_sum, prime_sum))
        return phi_sum, prime_sum

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``f_k(u)`` of every row's configuration, ``u`` of shape ``(K * seeds, d)``."""
        us = self._split(np.asarray(u, dtype=np.float64))
        diff = us - self.b_mean
        phi_sum, _ = self._phi_terms(us)
        a, lam = self.a[:, :, 0, 0], self.lam[:, :, 0, 0]
        value = 0.5 * a * (np.einsum("...k,...k->...", diff, diff) + self.b_spread) + lam * phi_sum / self.n
        return value.reshape(self.rows)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad f_k(u)`` of every row's configuration, ``u`` of shape ``(K * seeds, d)``."""
        us = self._split(np.asarray(u, dtype=np.float64))
        _, prime_sum = self._phi_terms(us)
        a, lam = self.a[:, :, :, 0], self.lam[:, :, :, 0]
        return (a * (us - self.b_mean) + (lam / self.n) * prime_sum).reshape(self.rows, self.d)


class BatchedKink(_Batch):
    """``K`` :class:`~empirical.problems.witness.KinkProblem` s, ``seeds`` rows each, as one problem
    on ``(K * seeds, n, d)`` arrays for :func:`empirical.simulate` (the kink family of
    docs/theory.md §7.4, whose constants are exact: what :mod:`figures.falsify` searches).

    Row ``k * seeds + s`` is seed ``s`` of configuration ``k``, with the kink ``(c_k, L_k, a_k)``,
    offsets ``b_k``, noise level ``sigma_k`` and step size ``lrs[k]`` (the engine's ``lr`` is
    ignored: run it with ``lr = 1``). The two-point noise (:func:`two_point_draw`) of configuration
    ``k`` comes from ``SeedStreams(noise_seeds[k], seeds)`` as in its single run (the uniforms of
    one draw are drawn once per distinct seed and shared); a configuration with ``noise="none"``
    adds ``sigma_k = 0`` times the draw, which changes no bit. The workers' axes, the
    ``reset_period`` and the weights must be the same for all ``K``: they belong to the run.

    Each configuration's result equals its single run's (:func:`simulate_batch` checks the
    problems are of this type; ``tests/empirical/test_batch.py`` compares them with ``==``).

    Example:
        >>> from empirical.problems.witness import KinkProblem
        >>> ps = [KinkProblem(b=[e, -e, e, -e], c=-0.2, L=1.0, a=5.0) for e in (0.5, 1.0)]
        >>> BatchedKink(ps, [0.1, 0.2], seeds=2, noise_seeds=[0, 0]).rows
        4
    """

    problem_type = KinkProblem

    def __init__(self, problems: Sequence[KinkProblem], lrs: Sequence[float], seeds: int,
                 noise_seeds: Sequence[int]) -> None:
        super().__init__(problems, lrs, seeds, noise_seeds)
        problems, K, first = self.problems, self.K, self.problems[0]
        self.weights = first.weights
        self.axes, self.reset_period = first.axes, first.reset_period
        self.c, self.L, self.a = (self._column([getattr(p, name) for p in problems]) for name in ("c", "L", "a"))
        self.sigma = np.array([p.sigma for p in problems], dtype=np.float64).reshape(K, 1, 1)
        self.b = np.stack([p.b for p in problems])[:, None]               # (K, 1, n, d)
        self.b_mean = np.stack([p._b_mean for p in problems])[:, None]     # (K, 1, d)
        self.noisy = any(p.noise == "two_point" and p.sigma > 0 for p in problems)
        self.streams = [SeedStreams(s, self.seeds) for s in self.distinct] if self.noisy else []
        self._m = np.zeros((K, self.seeds, self.n))
        self._t = 0
        self._workers = np.arange(self.n)
        self.params = dict(kind="batched_kink", K=K, n=self.n, d=self.d)

    def _check_compatible(self, problems: list[KinkProblem]) -> None:
        first = problems[0]
        for k, p in enumerate(problems):
            if (p.n, p.d, p.reset_period) != (first.n, first.d, first.reset_period) \
                    or not np.array_equal(p.axes, first.axes) \
                    or (p.weights is None) != (first.weights is None) \
                    or (p.weights is not None and not np.array_equal(p.weights, first.weights)):
                raise ValueError(f"problems must share n, d, axes, reset_period and weights; index {k} differs "
                                 f"from index 0")

    def _phi_prime(self, xs: NDArray[np.float64], c: Any, L: Any, a: Any) -> NDArray[np.float64]:
        return np.where(xs >= -a, c + L * np.abs(xs), c + 2.0 * L * a + L * xs)  # kink_phi_prime's operations

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Every row's true per-worker gradients, ``x`` of shape ``(K * seeds, n, d)``."""
        xs = self._split(np.asarray(x, dtype=np.float64))
        return (self._phi_prime(xs, self.c, self.L, self.a) + self.b).reshape(x.shape)

    def stochastic_grads(self, x: NDArray[np.float64], rng: Any, out: NDArray[np.float64], *,
                         lr: float | None = None) -> NDArray[np.float64]:
        """The step of every row: ``out = lr_k (grad F_j(x) + xi)``, ``x -= out`` (the engine's
        ``g *= lr; x -= g`` after :meth:`KinkProblem.stochastic_grads`, row by row); ``rng`` and
        ``lr`` are ignored (the class docstring)."""
        xs, outs = self._split(x), self._split(out)
        outs[...] = self._phi_prime(xs, self.c, self.L, self.a)
        outs += self.b
        if self.streams:
            k = self._t % self.reset_period
            if k == 0:
                self._m[...] = 0.0
            uniforms = np.stack([streams.random(size=(self.seeds, self.n)) for streams in self.streams])
            sign = np.where(self._m < 0, -1.0, 1.0)
            low, high, p = two_point_law(k, sign)
            xi = self.sigma * np.where(uniforms[self.stream_of] < p, high, low)
            self._m += xi
            outs[..., self._workers, self.axes] += xi
            self._t += 1
        np.multiply(outs, self.lr, out=outs)
        np.subtract(xs, outs, out=xs)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``f_k(u)`` of every row's configuration, ``u`` of shape ``(K * seeds, d)``."""
        us = self._split(np.asarray(u, dtype=np.float64))
        c, L, a = (v[:, :, 0] for v in (self.c, self.L, self.a))
        middle = c * us + 0.5 * L * us * np.abs(us)  # kink_phi's operations
        y = us + a
        left = (-c * a - 0.5 * L * a * a) + (c + L * a) * y + 0.5 * L * y * y
        phi = np.where(us >= -a, middle, left)
        return (phi.sum(axis=-1) + np.einsum("ksd,kzd->ks", us, self.b_mean)).reshape(self.rows)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """``grad f_k(u)`` of every row's configuration, ``u`` of shape ``(K * seeds, d)``."""
        us = self._split(np.asarray(u, dtype=np.float64))
        c, L, a = (v[:, :, 0] for v in (self.c, self.L, self.a))
        return (self._phi_prime(us, c, L, a) + self.b_mean).reshape(self.rows, self.d)


def _split_result(result: SimulationResult, k: int, seeds: int, problem: Any, lr: float,
                  seed: int, diverged: dict[str, int] | None, start: NDArray[np.float64] | None) -> SimulationResult:
    """Configuration ``k``'s rows of a batched result, with its single run's ``config``."""
    rows = slice(k * seeds, (k + 1) * seeds)
    config = dict(result.config)
    config.update(problem=problem.params, lr=float(lr), seeds=int(seeds), seed=int(seed))
    if start is not None:
        config["x0"] = start.tolist()
    return SimulationResult(steps=result.steps.copy(), grad_norm_sq=result.grad_norm_sq[rows].copy(),
                            loss=result.loss[rows].copy(), divergence=result.divergence[rows].copy(),
                            config=config, diverged=diverged, extra={})


def simulate_batch(problems: Any, hierarchy: Hierarchy,
                   lrs: float | ArrayLike, steps: int, seeds: int = 1, seed: int | Sequence[int] = 0,
                   record_every: int | None = None, x0: ArrayLike | None = None, progress: Any = None
                   ) -> list[SimulationResult]:
    """Run ``K`` configurations of H-SGD on one hierarchy as one simulation (module docstring).

    Configuration ``k`` is ``(problems[k], lrs[k], seed[k])``; each of the three is one value
    (shared by all) or ``K`` values. Result ``k`` equals, bit for bit,
    ``simulate(problems[k], hierarchy, lrs[k], steps, seeds, seed[k], x0, record_every)``
    (docs/theory.md §1.2 Algorithm), its ``config`` included.

    Args:
        problems: one :class:`~empirical.problems.HeterogeneousNonconvex` or ``K`` of them,
            with the same ``n`` and ``d`` (other parameters free); or ``K``
            :class:`~empirical.problems.witness.KinkProblem` s (:class:`BatchedKink`).
        hierarchy: shared by every configuration; same ``n`` as the problems.
        lrs: one step size or ``K``, positive and finite.
        steps: ``T``, the number of steps.
        seeds: independent runs per configuration.
        seed: the root seed of the noise, one for all (every configuration sees the same noise,
            drawn once per step) or one per configuration.
        record_every: record before every this many steps; ``None`` (the default) for
            :func:`empirical.engine.default_record_every` (``max(1, steps // 1000)``), as
            :func:`empirical.simulate`.
        x0: common start (scalar or vector), or one start per configuration (shape ``(K, d)``);
            ``None`` for the problems' default (0).
        progress: an optional callable ``progress(steps_done)``, as in :func:`empirical.simulate`
            (called again for a re-run after a divergence).

    Returns:
        ``K`` :class:`~empirical.results.SimulationResult`, in configuration order. A
        configuration that diverges gets its single run's truncated result (and a
        :class:`~empirical.engine.DivergenceWarning` naming it); the others are unaffected.

    Example:
        >>> from empirical import Hierarchy
        >>> ps = [HeterogeneousNonconvex(n=8, d=3, within=w, seed=1) for w in (0.5, 1.0, 2.0)]
        >>> rs = simulate_batch(ps, Hierarchy.two_level(8, 2, 2, 4), lrs=[0.01, 0.02, 0.05], steps=20, seeds=4)
        >>> len(rs), rs[2].grad_norm_sq.shape, rs[2].config["lr"]
        (3, (4, 20), 0.05)
    """
    plist, lrlist, seedlist = _as_list("problems", problems), _as_list("lrs", lrs), _as_list("seed", seed)
    K = max(len(plist), len(lrlist), len(seedlist))
    for name, items in (("problems", plist), ("lrs", lrlist), ("seed", seedlist)):
        if len(items) not in (1, K):
            raise ValueError(f"{name} must have 1 or K = {K} entries (K: the longest of problems, lrs, seed), "
                             f"got {len(items)}")
    plist, lrlist, seedlist = (items * K if len(items) == 1 else items for items in (plist, lrlist, seedlist))
    for k, value in enumerate(lrlist):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not np.isfinite(value) or value <= 0:
            raise ValueError(f"lrs must be positive finite numbers, got {value!r} at index {k}")
    for k, value in enumerate(seedlist):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"seed must be non-negative integers, got {value!r} at index {k}")
    seeds = _positive_int("seeds", seeds)
    _positive_int("steps", steps)
    if record_every is not None:
        _positive_int("record_every", record_every)
    if not isinstance(hierarchy, Hierarchy):
        raise ValueError(f"hierarchy must be an empirical.Hierarchy, got {type(hierarchy).__name__}")

    kinks = all(type(p) is KinkProblem for p in plist)
    wrapper = BatchedKink if kinks else BatchedNonconvex
    starts = None
    if x0 is not None and np.ndim(x0) == 2:
        starts = np.asarray(x0, dtype=np.float64)
        if starts.shape[0] != K:
            raise ValueError(f"x0 must be one start or one per configuration (K = {K} rows), got shape {starts.shape}")

    results: list[SimulationResult | None] = [None] * K
    active = list(range(K))
    while active:
        batch = wrapper([plist[k] for k in active], [lrlist[k] for k in active], seeds, [seedlist[k] for k in active])
        if batch.n != hierarchy.n:
            raise ValueError(f"problems have n = {batch.n} workers but the hierarchy has n = {hierarchy.n}")
        start = x0 if starts is None else np.repeat(starts[active], seeds, axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            run = simulate(batch, hierarchy, 1.0, steps, seeds=batch.rows, seed=int(seedlist[active[0]]), x0=start,
                           record_every=record_every, progress=progress)
        stopped = None
        if run.diverged is not None:  # the first non-finite row: its configuration is done, the rest re-run
            stopped = run.diverged["seed"] // seeds
            diverged = {"step": run.diverged["step"], "seed": run.diverged["seed"] % seeds}
            k = active[stopped]
            results[k] = _split_result(run, stopped, seeds, plist[k], lrlist[k], seedlist[k], diverged,
                                       None if starts is None else starts[k])
            warnings.warn(f"configuration {k} diverged (a non-finite value) at step {diverged['step']}, seed "
                          f"{diverged['seed']}; returning the {run.steps.size} steps recorded before it",
                          DivergenceWarning, stacklevel=2)
            active.pop(stopped)
            continue
        for i, k in enumerate(active):
            results[k] = _split_result(run, i, seeds, plist[k], lrlist[k], seedlist[k], None,
                                       None if starts is None else starts[k])
        active = []
    return [r for r in results if r is not None]
