r"""The bounded non-convex penalty ``phi(u) = u^2 / (1 + u^2)`` of :class:`HeterogeneousNonconvex`
(per-worker centres) and :class:`FiniteSumLogistic` (the regulariser), with the ranges of its
derivatives that their constants use.

``phi'(u) = 2u/(1+u^2)^2``, ``phi''(u) = 2(1 - 3u^2)/(1+u^2)^3``: ``phi''`` ranges over
``[PHI_SECOND_MIN, PHI_SECOND_MAX] = [-1/2, 2]`` (attained at ``|u| = 1`` and ``u = 0``), and
``|phi'| <= PHI_PRIME_MAX``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["PHI_SECOND_MIN", "PHI_SECOND_MAX", "PHI_PRIME_MAX", "phi_prime", "phi_second_range", "phi_third_max"]

# phi(u) = u^2 / (1 + u^2): phi'(u) = 2u/(1+u^2)^2, phi''(u) = 2(1 - 3u^2)/(1+u^2)^3.
PHI_SECOND_MAX = 2.0          # phi''(0)
PHI_SECOND_MIN = -0.5         # phi''(+-1)
PHI_PRIME_MAX = 3 * np.sqrt(3) / 8  # |phi'| at u^2 = 1/3


def phi_prime(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """``phi'(u) = 2u/(1+u^2)^2``, elementwise."""
    s = 1.0 + u * u
    return 2.0 * u / (s * s)


def phi_second_range(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """``max phi'' - min phi''`` over ``|u| >= R``: ``max(phi''(R), 0) + 1/2`` for ``R <= 1``
    (``phi''`` is even, has its minimum ``-1/2`` at ``|u| = 1`` and tends to 0), ``-phi''(R)`` beyond.

    Example:
        >>> phi_second_range(np.array([0.0, 0.7, 1.0, 2.0])).round(4).tolist()
        [2.5, 0.5, 0.5, 0.176]
    """
    s = 1.0 + R * R
    second = 2.0 * (1.0 - 3.0 * R * R) / (s * s * s)
    return np.where(R <= 1.0, np.maximum(second, 0.0) + 0.5, -second)


def phi_third_max(R: NDArray[np.float64]) -> NDArray[np.float64]:
    """An upper bound of ``|phi'''|`` over ``|u| >= R``: ``|phi'''(u)| = 24|u||u^2-1|/(1+u^2)^4
    <= 24|u|/(1+u^2)^3``, which decreases for ``|u| >= 1/sqrt(5)``.

    Example:
        >>> u = np.linspace(0.3, 50, 100001); third = 24 * u * (u * u - 1) / (1 + u * u) ** 4
        >>> bool(np.all(np.abs(third) <= phi_third_max(u)))
        True
    """
    r = np.maximum(R, 1.0 / np.sqrt(5.0))
    return 24.0 * r / (1.0 + r * r) ** 3
