"""Certified suprema of functions of one variable, by branch and bound.

The constants ``eps`` and ``eps_l`` of assumption A3 (docs/theory.md §1.3 Assumptions A1-A3) are suprema over
``x`` of divergences of gradients. For a separable problem they split into one-dimensional
suprema, one per coordinate; each is certified here. The caller bounds each function on an
interval (for instance ``r(t) + Lip * w`` for a Lipschitz function on ``[t - w, t + w]``, or a
second-order Taylor bound); intervals whose bound cannot beat the best value seen so far
(plus a tolerance) are retired, the others are halved. Every retired interval contributes its
bound, so the result is a certified upper bound of the supremum over the union of the
starting intervals, within the tolerance of the best value actually attained.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["certified_sup"]

Evaluate = Callable[[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]],
                    tuple[NDArray[np.float64], NDArray[np.float64]]]  # (k, t, w) -> (values, bounds)


def certified_sup(evaluate: Evaluate, k: NDArray[np.intp], centre: NDArray[np.float64],
                  half_width: NDArray[np.float64], n_coords: int, lower: NDArray[np.float64],
                  tolerance: Callable[[NDArray[np.float64]], NDArray[np.float64]],
                  max_rounds: int = 60, chunk: int = 4096, max_items: int = 1 << 21
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Certified upper bounds of ``sup_t r_{k,f}(t)`` over a union of intervals, for every ``k, f``.

    Args:
        evaluate: ``evaluate(k, t, w) -> (values, bounds)``: for items (coordinate ``k_i``,
            centre ``t_i``, half-width ``w_i``) the values ``r_{k_i, f}(t_i)`` and certified
            upper bounds of ``r_{k_i, f}`` on ``[t_i - w_i, t_i + w_i]``, each ``(items, F)``.
        k, centre, half_width: the starting intervals (they must cover the domain).
        n_coords: the number of coordinates ``K`` (``0 <= k < K``).
        lower: ``(K, F)`` known lower bounds of the suprema (e.g. a limit at infinity).
        tolerance: maps the current lower bounds ``(K, F)`` to the accepted slack ``(K, F)``
            (positive): an interval retires once its bound is within it of the lower bound.
        max_rounds: halvings before every interval is retired as it stands (still certified).
        chunk: items evaluated per call.
        max_items: if halving would exceed this many live intervals, every interval is
            retired as it stands instead (still certified, just less tight).

    Returns:
        ``(upper, lower)``, each ``(K, F)``: certified upper bounds, and the largest values
        attained (so ``lower <= sup <= upper``).

    Example:
        >>> def f(k, t, w):  # |sin| is 1-Lipschitz
        ...     v = np.abs(np.sin(t))[:, None]
        ...     return v, v + w[:, None]
        >>> t = np.linspace(0.05, 3.05, 31); w = np.full(31, 0.05)
        >>> up, lo = certified_sup(f, np.zeros(31, dtype=np.intp), t, w, 1, np.zeros((1, 1)),
        ...                        lambda lb: 1e-6 + 0 * lb)
        >>> bool(lo[0, 0] <= 1.0 <= up[0, 0] <= 1.0 + 2e-6)
        True
    """
    lower = np.array(lower, dtype=np.float64)
    upper = np.full_like(lower, -np.inf)
    k, t, w = np.asarray(k, dtype=np.intp), np.asarray(centre, dtype=np.float64), np.asarray(half_width, dtype=np.float64)
    for round_ in range(max_rounds + 1):
        if k.size == 0:
            break
        values = np.empty((k.size, lower.shape[1]))
        bound = np.empty_like(values)
        for start in range(0, k.size, chunk):
            stop = start + chunk
            values[start:stop], bound[start:stop] = evaluate(k[start:stop], t[start:stop], w[start:stop])
        _max_into(lower, k, values)
        slack = tolerance(lower)
        active = np.any(bound > (lower + slack)[k], axis=1)
        if round_ == max_rounds or 2 * int(active.sum()) > max_items:
            active[:] = False
        retired = ~active
        _max_into(upper, k[retired], bound[retired])
        k, t, w = k[active], t[active], w[active]
        # halve: two children per active interval
        k = np.repeat(k, 2)
        w = np.repeat(w / 2, 2)
        t = np.repeat(t, 2) + np.tile([-1.0, 1.0], t.size) * w
    return np.maximum(upper, lower), lower


def _max_into(target: NDArray[np.float64], k: NDArray[np.intp], values: NDArray[np.float64]) -> None:
    """``target[k_i] = max(target[k_i], values_i)`` row-wise (a segment max; ``k`` is kept sorted)."""
    if k.size == 0:
        return
    if np.any(k[1:] < k[:-1]):
        order = np.argsort(k, kind="stable")
        k, values = k[order], values[order]
    starts = np.concatenate(([0], np.flatnonzero(k[1:] != k[:-1]) + 1))
    rows = k[starts]
    target[rows] = np.maximum(target[rows], np.maximum.reduceat(values, starts, axis=0))
