"""The engine's records taken several at a time (docs/theory.md §1.4 Horizon and recording convention).

A record before step ``t`` stores the per-level divergences (docs/theory.md §2.1 Definitions),
``||grad f(u^t)||^2`` and ``f(u^t)`` at the global average ``u^t``, and the user's metrics. On
small problems each of these is a few dozen numpy calls on a few thousand numbers, so a
record costs about a step of call overhead. :class:`BatchedRecords` instead copies the state
aside (one ``copyto`` per record) and evaluates up to ``capacity`` records together, as one
``(capacity * seeds, n, d)`` batch: the same operations on longer arrays.

The numbers are those of recording one step at a time, bit for bit: the divergences and the
averages are computed row by row (:meth:`empirical.aggregation.SortedLevels.divergences`
treats every row of the batch alike), and ``grad``/``loss`` go through the problem's
``grad_and_loss(u, rows)``, which promises each batch of ``rows`` points the numbers of its own
call (:meth:`empirical.problems.HeterogeneousNonconvex.grad_and_loss`). The metrics are
called record by record, in the order of one-at-a-time recording.

The run stops where it did: a problem that batches also gives ``finite_record_radius()``, a
size below which every record is finite, and a record whose state is larger (or not finite)
is evaluated at once, with those before it. So the first non-finite record is always the
last of its batch, found before the next step: the same steps, the same report, the same
calls of the problem, ``progress`` and the metrics as one-at-a-time recording.
:func:`batchable` says which problems qualify (the others record one at a time).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["BatchedRecords", "batch_capacity", "batchable", "defined_together", "CHUNK_BYTES", "MAX_BATCH",
           "MIN_BATCH"]

CHUNK_BYTES = 1 << 20
"""Bytes of state copies held at once (the copies and their scratch: twice this)."""
MAX_BATCH = 64
"""At most this many records are evaluated together."""
MIN_BATCH = 4
"""Below this many records per batch (large states) the engine records one step at a time."""


def defined_together(obj: Any, name: str, *others: str) -> bool:
    """Whether ``obj``'s method ``name`` exists and comes from the same class as each of
    ``others`` (so a subclass that overrides one of ``others`` but not ``name`` does not get
    ``name``'s shortcut, which would bypass its override).

    Example:
        >>> from empirical.problems import HeterogeneousNonconvex
        >>> class Clipped(HeterogeneousNonconvex):
        ...     def grad(self, u): ...
        >>> p = HeterogeneousNonconvex(n=2, d=1)
        >>> defined_together(p, "grad_and_loss", "grad"), defined_together(Clipped(n=2, d=1), "grad_and_loss", "grad")
        (True, False)
    """
    def owner(attr: str) -> type | None:
        if attr in getattr(obj, "__dict__", {}):
            return None  # set on the instance: no class vouches for it
        return next((cls for cls in type(obj).__mro__ if attr in vars(cls)), None)

    mine = owner(name)
    return mine is not None and all(owner(other) is mine for other in others)


def batchable(problem: Any) -> bool:
    """Whether a problem's records can be batched: it has ``grad_and_loss`` and
    ``finite_record_radius`` from the same class as its ``grad`` and ``loss``."""
    return defined_together(problem, "grad_and_loss", "grad", "loss", "finite_record_radius")


def batch_capacity(seeds: int, n: int, d: int, records: int) -> int:
    """Records evaluated together for a ``(seeds, n, d)`` state and ``records`` records in all:
    as many copies as fit in :data:`CHUNK_BYTES`, at most :data:`MAX_BATCH` and at most
    ``records``; ``0`` when fewer than :data:`MIN_BATCH` would fit (record one at a time).

    Example:
        >>> batch_capacity(8, 32, 10, 1000), batch_capacity(1, 4096, 1000, 1000), batch_capacity(1, 8, 2, 3)
        (51, 0, 3)
    """
    fit = min(MAX_BATCH, CHUNK_BYTES // (8 * seeds * n * d), records)
    return fit if fit >= min(MIN_BATCH, records) else 0


class BatchedRecords:
    """Records of one run, evaluated ``capacity`` at a time.

    Args:
        problem: the run's problem (:func:`batchable`).
        divergences: ``divergences(x, work) -> (Delta, u)`` of the run's grouping
            (:meth:`empirical.aggregation.SortedLevels.divergences`).
        shape: the state's shape ``(seeds, n, d)``.
        records: ``(grad_norm_sq, loss, divergence)`` arrays of the result, filled row by row.
        metric_items: ``[(fn, values), ...]``: ``values[:, r] = fn(u)`` for every row.
        capacity: records per batch (:func:`batch_capacity`).
    """

    def __init__(self, problem: Any, divergences: Callable[..., Any], shape: tuple[int, int, int],
                 records: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
                 metric_items: list[Any], capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        if not batchable(problem):
            raise ValueError(f"{type(problem).__name__} cannot batch its records (see empirical.recording.batchable)")
        self.seeds, self.n, self.d = shape
        self.divergences, self.records, self.metric_items = divergences, records, metric_items
        self.grad_and_loss = problem.grad_and_loss
        self.radius = float(problem.finite_record_radius())
        self.radius_sq = 0.5 * self.radius * self.radius if self.radius > 0 else -1.0  # 0: no state passes
        self.capacity = int(capacity)
        self.copies = np.empty((self.capacity,) + tuple(shape))
        self.work = np.empty_like(self.copies)
        self.steps = [0] * self.capacity
        self.count = 0
        self.rows = 0  # rows filled (and found finite) so far

    def add(self, t: int, x: NDArray[np.float64]) -> dict[str, int] | None:
        """Record the state ``x`` before step ``t``; evaluates the batch when it is full or when
        ``x`` may be beyond the problem's finite-record radius (its norm is checked, a sufficient
        test) or is not finite. Returns the
        divergence report (first non-finite step and seed) or ``None``."""
        np.copyto(self.copies[self.count], x)
        self.steps[self.count] = t
        self.count += 1
        flat = self.copies[self.count - 1].reshape(-1)
        # ||x||^2 <= R^2 / 2 gives max |x| <= R with room for the dot's rounding (NaN and inf fail)
        if self.count == self.capacity or not np.dot(flat, flat) <= self.radius_sq:
            return self.flush()
        return None

    def flush(self) -> dict[str, int] | None:
        """Evaluate the records held and write them into the result's arrays (rows from
        :attr:`rows` on). Returns the divergence report of the first non-finite record (the
        rows from it on are not counted), or ``None``."""
        k, seeds, n, d = self.count, self.seeds, self.n, self.d
        if k == 0:
            return None
        self.count = 0
        batch = k * seeds
        delta, u = self.divergences(self.copies[:k].reshape(batch, n, d), work=self.work[:k].reshape(batch, n, d))
        gu, loss = self.grad_and_loss(u, seeds)
        grad_norm_sq = np.einsum("sd,sd->s", gu, gu).reshape(k, seeds)
        delta = delta.reshape(k, seeds, -1)
        bad = ~np.isfinite(grad_norm_sq) | ~np.all(np.isfinite(delta), axis=-1)  # (k, seeds)
        first = int(np.argmax(bad.any(axis=1))) if bad.any() else k
        r0, kept = self.rows, min(k, first + 1)  # one at a time also recorded the bad row's values
        out_grad, out_loss, out_div = self.records
        out_grad[:, r0:r0 + kept] = grad_norm_sq[:kept].T
        out_loss[:, r0:r0 + kept] = loss.reshape(k, seeds)[:kept].T
        out_div[:, r0:r0 + kept] = delta[:kept].transpose(1, 0, 2)
        for i in range(kept):  # record by record, as one at a time
            for fn, values in self.metric_items:
                values[:, r0 + i] = fn(u[i * seeds:(i + 1) * seeds])
        if first < k:
            self.rows = r0 + first
            return {"step": int(self.steps[first]), "seed": int(np.argmax(bad[first]))}
        self.rows = r0 + k
        return None
