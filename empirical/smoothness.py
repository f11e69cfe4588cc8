"""Estimated smoothness ``L`` (A1, docs/theory.md §1.3 Assumptions A1-A3) from worker Hessians.

Where ``L`` is not known in closed form it has to be estimated, and the estimate must err
upwards: a bound evaluated with too small an ``L`` is too small, and the step-size condition
it admits is too generous. Secants ``||grad F_j(x) - grad F_j(y)|| / ||x - y||`` between
random nearby points measure the Hessian along a *random* direction, which is far below its
largest eigenvalue in high dimension (on :class:`empirical.problems.digits.DigitsMLP` secants gave
0.448 where the Hessians at the start have norm 3.9). Here instead:

* :func:`hessian_norms`: for every point and every worker, power iteration for the largest
  ``|eigenvalue|`` of ``nabla^2 F_j``, with Hessian-vector products by central finite
  differences of ``problem.worker_grads`` (one call evaluates every worker and every point:
  worker ``j`` gets its own direction in row ``j``; no loop over workers);
* :func:`estimate_smoothness`: the largest of those, times a stated safety margin, as a
  :class:`~empirical.constants.Constant` labelled ``"estimated (...)"`` with how it was sampled;
* :func:`pilot_trajectory`: the points to sample, from the start ``x0`` along the kind of path
  a run takes (see its docstring).

Power iteration approaches ``||H||`` from below (``||H v|| <= ||H||`` for unit ``v``), and the
points are finitely many, so the estimate is still a lower estimate of ``sup ||H||``: the
margin and the label say so; it is not a certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.constants import ESTIMATED, Constant

__all__ = ["PilotTrajectory", "hessian_norms", "estimate_smoothness", "pilot_trajectory"]

_CHUNK = 1 << 22  # elements of a (points, n, d) block per worker_grads call


def _as_points(problem: Any, points: ArrayLike) -> NDArray[np.float64]:
    """``points`` as ``(P, n, d)``: a ``(P, d)`` array puts every worker at the same point."""
    n, d = problem.n, problem.d
    x = np.asarray(points, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim == 2 and x.shape[-1] == d:
        x = np.broadcast_to(x[:, None, :], (x.shape[0], n, d))
    if x.ndim != 3 or x.shape[1:] != (n, d) or x.shape[0] == 0:
        raise ValueError(f"points must have shape (P, d) or (P, n, d) with n = {n}, d = {d}, P >= 1; "
                         f"got {np.shape(points)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("points must be finite")
    return x


FULL_HESSIAN_MAX_D = 64
"""Up to this dimension the whole Hessian is formed (``2d`` gradient calls) and its norm taken
exactly by ``numpy.linalg.eigvalsh``; above it, power iteration."""


def _full_hessian_norms(problem: Any, x: NDArray[np.float64], h: NDArray[np.float64]) -> NDArray[np.float64]:
    """``||H||`` per point and worker from the central-difference Hessian, symmetrised."""
    d = x.shape[-1]
    H = np.empty(x.shape + (d,))
    for k in range(d):  # one column per dimension; workers and points stay vectorised
        e = np.zeros(d)
        e[k] = 1.0
        col = np.asarray(problem.worker_grads(x + h * e), dtype=np.float64)
        col -= np.asarray(problem.worker_grads(x - h * e), dtype=np.float64)
        H[..., k] = col / (2.0 * h)
    if not np.all(np.isfinite(H)):
        raise ValueError("worker_grads returned a non-finite value near the points given")
    H = 0.5 * (H + np.swapaxes(H, -1, -2))
    return np.abs(np.linalg.eigvalsh(H)).max(axis=-1)


def hessian_norms(problem: Any, points: ArrayLike, *, iters: int = 30, seed: int = 0,
                  step: float = 1e-5) -> NDArray[np.float64]:
    r"""Power iteration for ``||nabla^2 F_j(x)||`` (largest ``|eigenvalue|``) at every point, every worker.

    .. math::
        v \leftarrow \frac{Hv}{\lVert Hv\rVert},\qquad
        Hv \approx \frac{\nabla F_j(x + hv) - \nabla F_j(x - hv)}{2h},

    with ``h = step * max(1, ||x||/sqrt(d))``. In dimension ``d <= 64`` the whole Hessian is
    formed instead, one central difference per coordinate, and its norm taken exactly (power
    iteration converges slowly when the top two eigenvalues are close). Every iteration is two calls of
    ``problem.worker_grads`` on a ``(P, n, d)`` array (worker ``j`` is displaced along its
    own direction), so workers and points are vectorised. The value returned is the largest
    ``||Hv||`` over the iterations; for a symmetric ``H`` each is at most ``||H||`` and they
    increase towards it (the gap closes like ``(|lambda_2|/|lambda_1|)^iters``).

    Args:
        problem: a :class:`~empirical.problems.Problem` (only ``n``, ``d``, ``worker_grads``).
        points: ``(P, d)`` (every worker at the same point) or ``(P, n, d)`` (worker ``j`` at
            ``points[:, j]``, e.g. its own model along a run).
        iters: power-iteration steps (at least 1).
        seed: seed of the random starting directions.
        step: relative finite-difference step (positive).

    Returns:
        ``(P, n)``: the estimate of ``||nabla^2 F_j(points[p, j])||``.

    Example:
        >>> from empirical import HeterogeneousNonconvex
        >>> p = HeterogeneousNonconvex(n=4, d=3, a=1.0, lam=4.0)
        >>> float(hessian_norms(p, p.c[:1])[0, 0].round(6))  # at x = c_0 worker 0's Hessian is (a + 2 lam) I
        9.0
    """
    if int(iters) != iters or iters < 1:
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    x = _as_points(problem, points)
    P, n, d = x.shape
    rng = np.random.default_rng(seed)
    out = np.zeros((P, n))
    per_chunk = max(1, _CHUNK // (n * d))
    for p0 in range(0, P, per_chunk):
        xc = x[p0:p0 + per_chunk]
        h = step * np.maximum(1.0, np.linalg.norm(xc, axis=-1, keepdims=True) / np.sqrt(d))   # (p, n, 1)
        if d <= FULL_HESSIAN_MAX_D:
            out[p0:p0 + per_chunk] = _full_hessian_norms(problem, xc, h)
            continue
        v = rng.standard_normal(xc.shape)
        v /= np.linalg.norm(v, axis=-1, keepdims=True)
        best = np.zeros(xc.shape[:2])
        for _ in range(int(iters)):
            hv = np.asarray(problem.worker_grads(xc + h * v), dtype=np.float64)
            hv -= np.asarray(problem.worker_grads(xc - h * v), dtype=np.float64)
            hv /= 2.0 * h
            norm = np.linalg.norm(hv, axis=-1)
            if not np.all(np.isfinite(norm)):
                raise ValueError("worker_grads returned a non-finite value near the points given")
            np.maximum(best, norm, out=best)
            live = norm > 0
            v = np.where(live[..., None], hv / np.where(live, norm, 1.0)[..., None], v)
        out[p0:p0 + per_chunk] = best
    return out


def estimate_smoothness(problem: Any, points: ArrayLike | PilotTrajectory, *, iters: int = 30, seed: int = 0,
                        margin: float = 1.1, step: float = 1e-5, source: str = "given") -> Any:
    """An estimate of A1's ``L``: ``margin * max_{points, workers} ||nabla^2 F_j||`` (see :func:`hessian_norms`).

    Args:
        problem: a :class:`~empirical.problems.Problem`.
        points: ``(P, d)`` or ``(P, n, d)``, ideally from the run's own trajectory; or a
            :class:`PilotTrajectory` (:func:`pilot_trajectory` gives such points before a run),
            whose Hessian norms were computed along the way and are reused (its ``iters``
            apply, and ``source`` defaults to ``"pilot-trajectory"``).
        iters, seed, step: as in :func:`hessian_norms`.
        margin: safety factor (at least 1) applied to the largest value found.
        source: what the points are, for the label (e.g. ``"pilot-trajectory"``).

    Returns:
        A :class:`~empirical.constants.Constant` whose label starts with ``"estimated"`` and
        says how it was sampled, e.g. ``"estimated (Hessian power iteration, 30 iterations,
        at 12 pilot-trajectory points, x1.1 margin)"``.

    Example:
        >>> from empirical import HeterogeneousNonconvex
        >>> p = HeterogeneousNonconvex(n=4, d=3, a=1.0, lam=4.0)
        >>> c = estimate_smoothness(p, p.c[:1], source="worker-centre")
        >>> round(c.value, 6), c.label
        (9.9, 'estimated (Hessian power iteration, 30 iterations, at 1 worker-centre point, x1.1 margin)')
    """
    if not (np.isfinite(margin) and margin >= 1):
        raise ValueError(f"margin must be a finite number >= 1, got {margin!r}")
    if isinstance(points, PilotTrajectory):
        norms, iters = points.norms, points.iters   # computed along the pilot, at points.all_points()
        if source == "given":
            source = "pilot-trajectory"
    else:
        norms = hessian_norms(problem, points, iters=iters, seed=seed, step=step)
    P = norms.shape[0]
    note = (f"Hessian power iteration, {int(iters)} iterations, at {P} {source} "
            f"point{'s' if P != 1 else ''}, x{margin:g} margin")
    return Constant(float(margin * norms.max()), ESTIMATED, note)


@dataclass(frozen=True)
class PilotTrajectory:
    """Points along a short pilot run from ``x0`` (see :func:`pilot_trajectory`).

    Attributes:
        x0: ``(d,)``: the start.
        shared: ``(P1, d)``: gradient-descent iterates, every worker evaluated there.
        workers: ``(P2, n, d)``: snapshots of the noisy run, worker ``j`` at its own model.
        lr: the step size the pilot ended with (``1 / L`` of its last estimate).
        norms: ``(1 + P1 + P2, n)``: :func:`hessian_norms` at the points of :meth:`all_points`,
            computed along the way (so :func:`estimate_smoothness` of a pilot costs nothing more).
        iters: power-iteration steps behind ``norms``.
        description: one line saying how the points were produced.
    """

    x0: NDArray[np.float64]
    shared: NDArray[np.float64]
    workers: NDArray[np.float64]
    lr: float
    norms: NDArray[np.float64]
    iters: int
    description: str

    @property
    def size(self) -> int:
        """Number of points where Hessians were sampled, ``1 + P1 + P2`` (``x0`` included)."""
        return int(1 + self.shared.shape[0] + self.workers.shape[0])

    def all_points(self) -> NDArray[np.float64]:
        """``x0``, the gradient-descent iterates and the snapshots as ``(1 + P1 + P2, n, d)``
        (``x0`` and the iterates broadcast to the ``n`` workers)."""
        n, d = self.workers.shape[1], self.x0.shape[0]
        shared = np.concatenate([self.x0[None, :], self.shared], axis=0)
        return np.concatenate([np.broadcast_to(shared[:, None, :], (shared.shape[0], n, d)), self.workers], axis=0)

    def points(self) -> NDArray[np.float64]:
        """Every model the pilot saw as one point, ``(1 + P1 + P2 + P2 n, d)``: ``x0``, the
        gradient-descent iterates, each snapshot's worker average and each worker's model
        (where divergences, which compare all workers at one point, are sampled)."""
        d = self.x0.shape[0]
        return np.concatenate([self.x0[None, :], self.shared, self.workers.mean(axis=1),
                               self.workers.reshape(-1, d)], axis=0)


def pilot_trajectory(problem: Any, *, steps: int = 60, keep: int = 8, noisy_steps: int = 20, snapshots: int = 4,
                     iters: int = 30, margin: float = 1.1, seed: int = 0) -> PilotTrajectory:
    """Points where the curvature of a run is sampled, produced from ``x0`` before the run.

    Two pilot runs from ``problem.default_x0()``, both with step size ``1 / L_cur``, where
    ``L_cur`` is the current estimate (``margin`` times :func:`hessian_norms` at ``x0``, then
    raised to the largest value seen at each kept point, so the step size only shrinks):

    1. full-gradient descent on ``f`` for ``steps`` steps; ``keep`` iterates, evenly spaced and
       ending at the last, are kept (the path the averaged model follows);
    2. a noisy run of ``noisy_steps`` steps in which every worker runs SGD on its own ``F_j``
       with ``problem.stochastic_grads`` and never averages (the most a worker can drift from
       the average in that many steps); ``snapshots`` snapshots of all worker models, evenly
       spaced and ending at the last, are kept.

    It samples the region a run of similar length and step size visits; a longer run, or a
    larger step size, can go elsewhere. The checker's runs use step sizes at most ``1/L``.

    Args:
        problem: a :class:`~empirical.problems.Problem`.
        steps, keep: gradient-descent steps and how many iterates to keep (``1 <= keep <= steps``).
        noisy_steps, snapshots: noisy-run steps and how many snapshots to keep
            (``0 <= snapshots <= noisy_steps``).
        iters, margin: power iteration steps and safety margin for ``L_cur``.
        seed: seed of the noisy run (:class:`~empirical.streams.SeedStreams` with one seed)
            and of the power iteration.

    Returns:
        A :class:`PilotTrajectory`.

    Example:
        >>> from empirical import HeterogeneousNonconvex
        >>> pilot = pilot_trajectory(HeterogeneousNonconvex(n=4, d=3), steps=10, keep=5, noisy_steps=4, snapshots=2)
        >>> pilot.shared.shape, pilot.workers.shape, pilot.size, pilot.all_points().shape
        ((5, 3), (2, 4, 3), 8, (8, 4, 3))
    """
    from empirical.streams import SeedStreams

    for name, value, low in (("steps", steps, 1), ("keep", keep, 1), ("noisy_steps", noisy_steps, 0),
                             ("snapshots", snapshots, 0)):
        if int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if keep > steps:
        raise ValueError(f"keep must be at most steps ({steps}), got {keep}")
    if snapshots > noisy_steps:
        raise ValueError(f"snapshots must be at most noisy_steps ({noisy_steps}), got {snapshots}")
    if not (np.isfinite(margin) and margin >= 1):
        raise ValueError(f"margin must be a finite number >= 1, got {margin!r}")
    n, d = problem.n, problem.d
    x0 = np.asarray(problem.default_x0(), dtype=np.float64).reshape(d)
    norms = [hessian_norms(problem, x0, iters=iters, seed=seed)[0]]
    L_cur = margin * float(norms[0].max())
    if not L_cur > 0:
        raise ValueError("the worker Hessians vanish at x0: no step size 1/L can be formed; pass the constants")
    kept_at = set(np.linspace(0, steps, keep + 1).round().astype(int)[1:].tolist())
    u, shared = x0.copy(), []
    for t in range(1, steps + 1):
        u = u - np.asarray(problem.grad(u), dtype=np.float64) / L_cur
        if not np.all(np.isfinite(u)):
            raise ValueError(f"the pilot gradient descent diverged at step {t} (step size 1/{L_cur:.4g})")
        if t in kept_at:
            shared.append(u.copy())
            norms.append(hessian_norms(problem, u, iters=iters, seed=seed + t)[0])
            L_cur = max(L_cur, margin * float(norms[-1].max()))
    rng = SeedStreams(seed, 1)
    x = np.broadcast_to(x0, (1, n, d)).copy()
    g = np.empty_like(x)
    snap_at = set(np.linspace(0, noisy_steps, snapshots + 1).round().astype(int)[1:].tolist()) if snapshots else set()
    workers = []
    for t in range(1, noisy_steps + 1):
        problem.stochastic_grads(x, rng, g)
        x -= g / L_cur
        if not np.all(np.isfinite(x)):
            raise ValueError(f"the pilot noisy run diverged at step {t} (step size 1/{L_cur:.4g})")
        if t in snap_at:
            workers.append(x[0].copy())
            norms.append(hessian_norms(problem, x, iters=iters, seed=seed + steps + t)[0])
            L_cur = max(L_cur, margin * float(norms[-1].max()))
    description = (f"x0, {len(shared)} gradient-descent iterates over {steps} steps and {len(workers)} snapshots "
                   f"of a {noisy_steps}-step noisy run without averaging, from x0 at step size 1/L_cur")
    return PilotTrajectory(x0=x0, shared=np.array(shared).reshape(-1, d), workers=np.array(workers).reshape(-1, n, d),
                           lr=1.0 / L_cur, norms=np.array(norms), iters=int(iters), description=description)
