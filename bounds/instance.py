"""Theorem 2 at numbers: an :class:`Instance` (the values one run is evaluated at), the
theorem's named terms there, and its step-size conditions decided exactly.

This is the common currency of the witnesses (:mod:`empirical.witnesses`), the mutation tests
(:mod:`bounds.mutants`, :mod:`figures.power`) and Theorem S (:func:`bounds.sharp.sharp_terms`):

    init = c_init F0 / (gamma T),   noise = c_noise gamma L sigma^2 / n,
    level l:  c_div gamma^2 L^2 (P_l - 1) [ share_l + c_het (2 P_l - 1) eps_l^2 ],
    share_l = (K_{l-1} - K_l) sigma^2 / n,
    condition: gamma L <= 1 and c_cond gamma^2 L^2 sum_l P_l (P_l - 1) <= 1

(docs/theory.md §4.2 Theorem 2); the sum of the terms equals :func:`bounds.multi_level` (a test
checks it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from bounds.coefficients import THEORY, Coefficients

__all__ = ["Instance", "theorem_terms", "theorem_condition", "step_size_condition"]


@dataclass(frozen=True)
class Instance:
    """The numbers Theorem 2 is evaluated at, for one run.

    Attributes:
        gamma, L, sigma, F0: step size and the constants (A1, A2, ``f(x0) - f*``).
        n, T: workers and steps.
        periods: ``(P_1, ..., P_M)``, finest first.
        counts: ``(K_0 = n, K_1, ..., K_M = 1)``.
        eps: ``(eps_1, ..., eps_M)`` of A3 for the run's grouping, finest first.
    """

    gamma: float
    L: float
    sigma: float
    F0: float
    n: int
    T: int
    periods: tuple[int, ...]
    counts: tuple[int, ...]
    eps: tuple[float, ...]

    def __post_init__(self) -> None:
        M = len(self.periods)
        if M < 1 or len(self.counts) != M + 1 or len(self.eps) != M:
            raise ValueError(f"an instance needs M >= 1 periods, M + 1 counts (K_0 .. K_M) and M eps values; got "
                             f"{len(self.periods)}, {len(self.counts)}, {len(self.eps)}")
        if self.counts[0] != self.n or self.counts[-1] != 1:
            raise ValueError(f"counts must run from K_0 = n = {self.n} to K_M = 1, got {self.counts}")

    @property
    def M(self) -> int:
        return len(self.periods)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Instance":
        return cls(**{**data, "periods": tuple(data["periods"]), "counts": tuple(data["counts"]),
                      "eps": tuple(data["eps"])})

    def values(self) -> dict[str, object]:
        """Keyword values for ``bounds.multi_level(periods, counts[1:-1]).evaluate(**values)``."""
        return dict(gamma=self.gamma, L=self.L, sigma=self.sigma, n=self.n, T=self.T, F0=self.F0, eps=list(self.eps))


@dataclass(frozen=True)
class _Pieces:
    """Theorem 2's pieces at an instance, each a float; a mutant edits them."""

    init: float
    noise: float
    factor: list[float]        # c_div gamma^2 L^2 (P_l - 1), per level
    share: list[float]         # (K_{l-1} - K_l) sigma^2 / n, per level
    heterogeneity: list[float]  # c_het (2 P_l - 1) eps_l^2, per level
    c_het: float

    def total(self) -> float:
        return self.init + self.noise + sum(f * (s + h) for f, s, h in zip(self.factor, self.share, self.heterogeneity))


def _pieces(x: Instance, c: Coefficients) -> _Pieces:
    g, L, n = x.gamma, x.L, x.n
    K = x.counts
    return _Pieces(
        init=float(c.init) * x.F0 / (g * x.T),
        noise=float(c.noise) * g * L * x.sigma ** 2 / n,
        factor=[float(c.divergence) * g * g * L * L * (P - 1) for P in x.periods],
        share=[(K[l] - K[l + 1]) * x.sigma ** 2 / n for l in range(x.M)],
        heterogeneity=[float(c.heterogeneity) * (2 * P - 1) * e * e for P, e in zip(x.periods, x.eps)],
        c_het=float(c.heterogeneity),
    )


def theorem_condition(x: Instance, loosen: int = 1, coefficients: Coefficients = THEORY) -> bool:
    """Theorem 2's step-size conditions at ``x`` (right-hand sides times ``loosen``), exactly."""
    return _condition(x, coefficients, loosen)


def _condition(x: Instance, c: Coefficients, loosen: int = 1) -> bool:
    """Theorem 2's conditions, decided exactly (each float at its exact rational value)."""
    return step_size_condition(x.gamma, x.L, x.periods, c, loosen)


def step_size_condition(gamma: float, L: float, periods: tuple[int, ...], coefficients: Coefficients = THEORY,
                        loosen: int = 1) -> bool:
    """``gamma L <= loosen`` and ``c_cond gamma^2 L^2 sum_l P_l (P_l - 1) <= loosen``, decided
    exactly (each float at its exact rational value): the step-size condition of
    docs/theory.md §4.2 Theorem 2, shared by its extensions (§10)."""
    c = coefficients
    g, L = Fraction(gamma), Fraction(L)
    period_sum = sum(P * (P - 1) for P in periods)
    cond = Fraction(c.condition.p, c.condition.q) if c.condition.is_Rational else Fraction(float(c.condition))
    return g * L <= loosen and cond * g * g * L * L * period_sum <= loosen


def theorem_terms(x: Instance, coefficients: Coefficients = THEORY) -> dict[str, float]:
    """Theorem 2's terms at ``x`` by name: ``init``, ``noise``, then per level
    ``level_l_noise`` (its noise share) and ``level_l_heterogeneity``; they sum to the bound.

    Example:
        >>> x = Instance(gamma=0.1, L=1.0, sigma=1.0, F0=1.0, n=2, T=10, periods=(2,), counts=(2, 1), eps=(1.0,))
        >>> {k: round(v, 6) for k, v in theorem_terms(x).items()}
        {'init': 2.0, 'noise': 0.05, 'level_1_noise': 0.01, 'level_1_heterogeneity': 0.04}
    """
    p = _pieces(x, coefficients)
    out = {"init": p.init, "noise": p.noise}
    for l in range(x.M):
        out[f"level_{l + 1}_noise"] = p.factor[l] * p.share[l]
        out[f"level_{l + 1}_heterogeneity"] = p.factor[l] * p.heterogeneity[l]
    return out
