"""Sampling error of Monte-Carlo estimates over seeds."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["confidence_interval", "confidence_band", "ratio_interval"]


def confidence_interval(samples: ArrayLike, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean of ``samples`` (one per seed).

    Returns ``(mean, low, high)``; the interval is ``nan`` with a single sample.

    Example:
        >>> m, lo, hi = confidence_interval([1.0, 2.0, 3.0])
        >>> m, round(lo, 3), round(hi, 3)
        (2.0, -0.484, 4.484)
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"samples must be a non-empty 1-d array, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    from scipy.special import stdtrit  # the t quantile stats.t.ppf computes, without importing scipy.stats (0.45 s)

    half = float(stdtrit(x.size - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def confidence_band(samples: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean and Student-t confidence interval of curves, one curve per seed.

    ``samples`` has shape ``(seeds, steps)``; returns ``(mean, low, high)``, each ``(steps,)``,
    the same numbers :func:`confidence_interval` gives column by column (``nan`` bands with
    a single seed).

    Example:
        >>> m, lo, hi = confidence_band([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
        >>> m.tolist(), lo.round(3).tolist(), hi.round(3).tolist()
        ([2.0, 0.0], [-0.484, 0.0], [4.484, 0.0])
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"samples must be a (seeds, steps) array with at least one seed, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    mean = x.mean(axis=0)
    if x.shape[0] < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan.copy()
    from scipy.special import stdtrit

    half = stdtrit(x.shape[0] - 1, 0.5 + level / 2) * x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    return mean, mean - half, mean + half


def ratio_interval(numerator: ArrayLike, denominator: ArrayLike, level: float = 0.95) -> tuple[float, float, float]:
    """The ratio of two means, ``mean(a) / mean(b)``, with Fieller's confidence interval, for
    paired samples (one ``(a_i, b_i)`` per seed).

    The interval is every ``theta`` at which the Student-t test of :func:`confidence_interval`
    on the per-seed contrasts ``a_i - theta b_i`` does not reject a mean of 0, so "the ratio
    exceeds ``theta``" is decided by the same test as "``mean(a - theta b) > 0``" (when
    ``mean(b) > 0``). It is bounded only when ``mean(b)`` is itself significantly away from 0;
    otherwise it is ``(-inf, inf)``: the data do not bound the ratio. ``nan`` with fewer than two
    samples.

    Returns ``(ratio, low, high)``.

    Example:
        >>> r, lo, hi = ratio_interval([1.0, 1.2, 0.8, 1.0], [2.0, 2.1, 1.9, 2.0])
        >>> round(r, 3), round(lo, 3), round(hi, 3)
        (0.5, 0.396, 0.591)
        >>> ratio_interval([1.0, -1.0, 1.0], [1.0, -1.0, 0.5])[1:]
        (-inf, inf)
    """
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise ValueError(f"numerator and denominator must be non-empty 1-d arrays of one shape, got {a.shape} and "
                         f"{b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    ma, mb = float(a.mean()), float(b.mean())
    ratio = ma / mb if mb != 0 else float("nan")
    if a.size < 2:
        return ratio, float("nan"), float("nan")
    from scipy.special import stdtrit

    q = float(stdtrit(a.size - 1, 0.5 + level / 2)) ** 2 / a.size
    cov = np.cov(a, b, ddof=1)
    # (ma - theta mb)^2 <= q var(a - theta b): A theta^2 - 2 B theta + C <= 0
    A, B, C = mb * mb - q * cov[1, 1], ma * mb - q * cov[0, 1], ma * ma - q * cov[0, 0]
    if A <= 0:
        return ratio, float("-inf"), float("inf")
    half = float(np.sqrt(max(B * B - A * C, 0.0)))
    return ratio, float((B - half) / A), float((B + half) / A)
