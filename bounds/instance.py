"""A theorem at numbers: an :class:`Instance` (the values one run is evaluated at), the
theorem's named parts there, and its conditions decided exactly.

This is the common currency of the witnesses (:mod:`empirical.studies.witnesses`) and the mutation
tests (:mod:`bounds.mutants`, :mod:`figures.power`). Every number here is read off the
theorem's one sympy statement (:mod:`bounds.theorems`) applied to the instance's hierarchy
(:func:`instance_bound`): the float parts by :meth:`bounds.Bound.part_values`, the conditions
by :func:`bounds.exact.exact_conditions`. For Theorem 2 (docs/theory.md §4.2) the parts are

    init = c_init F0 / (gamma T),   noise = c_noise gamma L sigma^2 / n,
    level_l_noise = c_div gamma^2 L^2 (P_l - 1) (K_{l-1} - K_l) sigma^2 / n,
    level_l_heterogeneity = c_div gamma^2 L^2 (P_l - 1) c_het (2 P_l - 1) eps_l^2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

from bounds import symbols as s
from bounds.bound import Bound
from bounds.exact import exact_conditions
from bounds.multi_level import multi_level
from bounds.shape import Shape
from bounds.statement import Theorem
from bounds.theorems.theorem2 import THEOREM_2

__all__ = ["Instance", "instance_bound", "theorem_terms", "theorem_condition", "step_size_condition"]


@dataclass(frozen=True)
class Instance:
    """The numbers a theorem is evaluated at, for one run.

    Attributes:
        gamma, L, sigma, F0: step size and the constants (A1, A2, ``f(x0) - f*``).
        n, T: workers and steps.
        periods: ``(P_1, ..., P_M)``, finest first.
        counts: ``(K_0 = n, K_1, ..., K_M = 1)``.
        eps: ``(eps_1, ..., eps_M)`` of A3 for the run's grouping, finest first (the sampled
            system's, with partial participation: docs/theory.md §10.3).
        omega: the noise weight ``E sum_j w_j^2`` of docs/theory.md §10 (``None``: equal weights,
            full participation, ``1/n``).
        noise_shares: ``(lambda_1, ..., lambda_M)`` of §10 (``None``: ``(K_{l-1} - K_l)/n``).
        eps_sample: ``eps_S``, the sampling error of §10.3 (0 at full participation).
        notes: how the constants are known, in words.
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
    omega: float | None = None
    noise_shares: tuple[float, ...] | None = None
    eps_sample: float = 0.0
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        M = len(self.periods)
        if M < 1 or len(self.counts) != M + 1 or len(self.eps) != M:
            raise ValueError(f"an instance needs M >= 1 periods, M + 1 counts (K_0 .. K_M) and M eps values; got "
                             f"{len(self.periods)}, {len(self.counts)}, {len(self.eps)}")
        if self.counts[0] != self.n or self.counts[-1] != 1:
            raise ValueError(f"counts must run from K_0 = n = {self.n} to K_M = 1, got {self.counts}")
        if self.noise_shares is not None and len(self.noise_shares) != M:
            raise ValueError(f"noise_shares must have one value per level ({M}), got {len(self.noise_shares)}")
        Shape(self.n, self.periods, self.counts[1:-1])  # periods nest, counts do not grow: else ValueError

    @property
    def M(self) -> int:
        """The number of levels."""
        return len(self.periods)

    @property
    def shape(self) -> Shape:
        """The hierarchy's :class:`~bounds.Shape`: ``n``, :attr:`periods` and the intermediate
        :attr:`counts` ``K_1 .. K_{M-1}``."""
        return Shape(self.n, self.periods, self.counts[1:-1])

    def to_json(self) -> dict[str, Any]:
        """The fields by name (``periods`` and ``counts`` as stored, not a shape)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Instance":
        """The instance :meth:`to_json` wrote (lists read back as tuples)."""
        tuples = {k: tuple(data[k]) for k in ("periods", "counts", "eps", "noise_shares", "notes")
                  if data.get(k) is not None}
        return cls(**{**data, **tuples})

    def values(self) -> dict[str, object]:
        """Keyword values for ``x.shape.bound().evaluate(**x.values())``."""
        return dict(gamma=self.gamma, L=self.L, sigma=self.sigma, n=self.n, T=self.T, F0=self.F0, eps=list(self.eps))

    def hierarchy_values(self) -> dict[str, object]:
        """:meth:`values` plus the periods ``P_l`` and counts ``K_l`` by name, for
        :func:`instance_bound` (whose hierarchy is symbolic), and the numbers of docs/theory.md §10
        (``omega``, ``noise_shares``, ``eps_sample``; at equal weights and full participation
        ``1/n``, ``(K_{l-1} - K_l)/n`` and 0, where Theorem P is Theorem 2)."""
        out = self.values()
        out.update(self.shape.symbol_values())
        K = self.counts
        out["omega"] = Fraction(1, self.n) if self.omega is None else self.omega
        out["noise_shares"] = (list(self.noise_shares) if self.noise_shares is not None
                               else [Fraction(K[l] - K[l + 1], self.n) for l in range(self.M)])
        out["eps_sample"] = self.eps_sample
        return out


@lru_cache(maxsize=None)
def instance_bound(theorem: Theorem, levels: int) -> Bound:
    """``theorem`` on a symbolic hierarchy of ``levels`` levels (``P_l``, ``K_l`` as keywords):
    one compiled statement per theorem and depth serves every instance."""
    return multi_level(*s.symbolic_hierarchy(levels), theorem=theorem)


def theorem_terms(x: Instance, theorem: Theorem = THEOREM_2) -> dict[str, float]:
    """``theorem``'s parts at ``x`` by name (:attr:`bounds.Bound.part_exprs`): ``init``,
    ``noise``, then per level ``level_l_noise`` and ``level_l_heterogeneity``; they sum to the
    bound. Free parameters (Theorem S's ``alpha``, ``beta``) are chosen per instance
    (:meth:`bounds.Bound.optimise`); the formula is evaluated even where a condition that does
    not involve them fails (mutants with a looser condition ask), and where no choice meets
    those that do, every part is ``inf``.

    Example:
        >>> x = Instance(gamma=0.1, L=1.0, sigma=1.0, F0=1.0, n=2, T=10, periods=(2,), counts=(2, 1), eps=(1.0,))
        >>> {k: round(v, 6) for k, v in theorem_terms(x).items()}
        {'init': 2.0, 'noise': 0.05, 'level_1_noise': 0.01, 'level_1_heterogeneity': 0.04}
    """
    bound, values = _bound_at(theorem, x)
    if bound.free:
        try:
            values.update(bound.optimise(require_conditions=False, **values).values)
        except ValueError:
            return {name: math.inf for name in bound.part_exprs}
    return bound.part_values(**values)


def theorem_condition(x: Instance, loosen: int = 1, theorem: Theorem = THEOREM_2) -> bool:
    """Whether ``theorem``'s conditions hold at ``x`` (right-hand sides times ``loosen``),
    decided exactly (:func:`bounds.exact.exact_conditions`; free parameters in their limit:
    whether *some* choice meets them)."""
    bound, values = _bound_at(theorem, x)
    return all(check.holds for check in exact_conditions(bound, values, loosen))


def _bound_at(theorem: Theorem, x: Instance) -> tuple[Bound, dict[str, object]]:
    """The bound that evaluates ``theorem`` at ``x`` and the values it takes (an instance carries
    the numbers of every theorem). A theorem with free parameters, which are optimised per
    instance, is applied to the instance's own numeric hierarchy, as the checker applies it: the
    optimiser's path depends on the rounding of its objective, so the same statement gives the
    same choice wherever it is made; every other theorem is read off one symbolic hierarchy per
    depth (:func:`instance_bound`)."""
    bound = instance_bound(theorem, x.M)
    if bound.free:
        bound = _numeric_bound(theorem, x.shape)
    return bound, bound.taken(x.hierarchy_values())


@lru_cache(maxsize=None)
def _numeric_bound(theorem: Theorem, shape: Shape) -> Bound:
    return shape.bound(theorem)


def step_size_condition(gamma: float, L: float, periods: tuple[int, ...], theorem: Theorem = THEOREM_2,
                        loosen: int = 1) -> bool:
    """``theorem``'s conditions at step size ``gamma``, smoothness ``L`` and ``periods`` alone
    (right-hand sides times ``loosen``), decided exactly: for Theorem 2, ``gamma L <= 1`` and
    ``c_cond gamma^2 L^2 sum_l P_l (P_l - 1) <= 1`` (docs/theory.md §4.2), the condition of its
    extensions (§10) too.

    Example:
        >>> step_size_condition(0.25, 1.0, (2,)), step_size_condition(0.36, 1.0, (2,))
        (True, False)
    """
    values = {"gamma": gamma, "L": L, **{f"P_{l}": P for l, P in enumerate(periods, start=1)}}
    return all(check.holds for check in exact_conditions(instance_bound(theorem, len(periods)), values, loosen))
