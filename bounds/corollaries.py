r"""The sandwich: the H-SGD bound lies between the local SGD bounds with periods ``P_1`` and ``P_M``.

docs/theory.md §6.2 Corollary 0 (any grouping, with ``eps^2 = sum_l eps_l^2``), §6.3
Corollary 1 (two levels, random grouping) and §6.4 Corollary 2 (``M`` levels, random
grouping); the key identity and the shared step size are docs/theory.md §6.1 Preliminaries. For each, this
module builds the three bounds, the two gaps, their factored forms, and, with random
grouping, the convex-combination identity

.. math:: B_{H\text{-}SGD} = \sum_l \frac{K_{l-1} - K_l}{n - 1} B_{local}(P_l),

then checks symbolically that each factored form equals its gap and *proves* each gap
non-negative with :mod:`bounds.proofs` (sympy reasoning on the factored form, no sampling).
Structure from Wang et al. 2022, arXiv:2010.12998; constants those of docs/theory.md §0
Provenance, derived for this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Level
from bounds.proofs import Certificate, Domain, prove_nonnegative
from bounds.random_grouping import random_grouping, shares
from bounds.two_level import two_level

__all__ = ["Sandwich", "SandwichError", "sandwich", "hierarchy_domain", "is_identity"]


class SandwichError(AssertionError):
    """A symbolic check of the sandwich failed: a bug in the formulas, never a user error."""


@dataclass(frozen=True)
class Sandwich:
    """The three bounds of a sandwich corollary and the machine-checked facts about them.

    Attributes:
        grouping: ``"random"`` (Corollaries 1-2) or ``"any"`` (Corollary 0).
        lower: local SGD with period ``P_1`` (``I``), total divergence ``eps``.
        middle: the H-SGD bound (with Lemma 2's values when ``grouping == "random"``).
        upper: local SGD with period ``P_M`` (``G``).
        lower_gap: ``middle - lower`` as one rational expression.
        upper_gap: ``upper - middle``.
        lower_gap_factored: the same gap as a sum of products of signed factors.
        upper_gap_factored: likewise.
        weights: the convex weights ``(K_{l-1} - K_l)/(n - 1)`` (``None`` for ``"any"``).
        identity: ``middle == sum_l weights[l] * local(P_l)`` (``None`` for ``"any"``).
        lower_proof: certificate that ``lower_gap_factored >= 0``.
        upper_proof: certificate that ``upper_gap_factored >= 0``.
        condition_proofs: certificates that H-SGD's step-size sum dominates each local
            one, so the same ``gamma`` satisfies all three conditions.
        domain: the domain the proofs hold on.
    """

    grouping: str
    lower: Bound
    middle: Bound
    upper: Bound
    lower_gap: sp.Expr
    upper_gap: sp.Expr
    lower_gap_factored: sp.Expr
    upper_gap_factored: sp.Expr
    weights: tuple[sp.Expr, ...] | None
    identity: sp.Eq | None
    lower_proof: Certificate
    upper_proof: Certificate
    condition_proofs: tuple[Certificate, Certificate]
    domain: Domain

    def evaluate(self, *, strict: bool = True, **values: Any) -> tuple[float, float, float]:
        """``(lower, middle, upper)`` at the same parameter values.

        Example:
            >>> sw = sandwich()
            >>> lo, mid, hi = sw.evaluate(gamma=0.01, L=1, sigma=1, n=32, T=10000, F0=10,
            ...                           N=4, I=5, G=50, eps=1)
            >>> lo <= mid <= hi
            True
        """
        return tuple(b.evaluate(strict=strict, **values) for b in (self.lower, self.middle, self.upper))


def is_identity(lhs: sp.Expr, rhs: sp.Expr) -> bool:
    """Whether ``lhs == rhs`` as rational functions (exact, symbolic)."""
    return sp.expand(sp.numer(sp.together(sp.expand(lhs - rhs)))) == 0


def hierarchy_domain(bound: Bound, *, at_least_two_workers: bool) -> Domain:
    """The domain ``1 <= P_1 <= ... <= P_M`` and ``1 <= K_{M-1} <= ... <= K_1 <= n`` as
    parametrisations in non-negative shift variables (and ``n >= 2`` when asked).

    Only symbolic entries are shifted; a symbolic entry is written as the entry below it
    plus a shift. (A symbolic period *below* a numeric one is bounded above too, which this
    parametrisation does not express; a proof that needs it fails with a clear error.)
    """
    def shift(name: str) -> sp.Dummy:
        # Dummies: a user symbol can never share a shift variable's identity (a name clash
        # would make the parametrisation a wrong cover of the domain).
        return sp.Dummy(f"d_{name}", nonnegative=True)

    period_subs: list[tuple[sp.Symbol, sp.Expr]] = []
    periods = bound.periods
    for l in range(len(periods) - 1, -1, -1):
        p = periods[l]
        if isinstance(p, sp.Symbol):
            below = periods[l - 1] if l > 0 else sp.Integer(1)
            period_subs.append((p, below + shift(p.name)))
    count_subs: list[tuple[sp.Symbol, sp.Expr]] = []
    counts = bound.group_counts  # n, K_1, ..., 1
    for l in range(len(counts) - 1):
        k = counts[l]
        if isinstance(k, sp.Symbol):
            count_subs.append((k, counts[l + 1] + shift(k.name)))
    parts = ["1 <= " + " <= ".join(str(p) for p in periods),
             "1 <= " + " <= ".join(str(k) for k in reversed(counts[:-1]))]
    params: list[tuple[tuple[sp.Symbol, sp.Expr], ...]] = [tuple(period_subs + count_subs)]
    if at_least_two_workers:
        parts.append("n >= 2")
        params.append(tuple(period_subs + [(s.n, 2 + shift("n2"))]))
    return Domain(", ".join(parts), tuple(params))


def _local(bound: Bound, level_index: int, eps_sq: sp.Expr, end: str) -> Bound:
    period = bound.levels[level_index].period
    level = Level(period=period, finer_count=s.n, count=sp.Integer(1), eps_sq=eps_sq,
                  term="divergence", period_label=bound.levels[level_index].period_label,
                  count_label="1")
    return Bound(theorem=bound.theorem, setting=f"local SGD with P = {period}, {end} end of the sandwich",
                 levels=(level,), parameters=bound.parameters, equal_groups=bound.equal_groups, note=bound.note)


def _bracket(bound: Bound, a: sp.Expr, b: sp.Expr, noise_count: sp.Expr, eps_sq: sp.Expr) -> sp.Expr:
    """``c_div gamma^2 L^2 (b - a) [noise_count sigma^2/n + c_het eps_sq (2a + 2b - 3)]``."""
    c = bound.coefficients
    return (c.divergence * s.gamma**2 * s.L**2 * (b - a)
            * (noise_count * s.sigma**2 / s.n + c.heterogeneity * (eps_sq * (2 * a + 2 * b - 3))))


def sandwich(bound: Bound | None = None, *, grouping: Literal["random", "any"] = "random") -> Sandwich:
    r"""Build and prove the sandwich ``B_local(P_1) <= B_H-SGD <= B_local(P_M)``.

    With ``grouping="random"`` (docs/theory.md §6.3 Corollary 1 and
    §6.4 Corollary 2) each level's divergence is
    Lemma 2's share of a total ``eps^2`` and

    .. math:: B_{H\text{-}SGD} = \sum_{l=1}^M \frac{K_{l-1}-K_l}{n-1} B_{local}(P_l),

    a convex combination; in two levels the gaps factor as ``(N-1) X`` and ``(n-N) X`` with
    ``X = 2 gamma^2 L^2 (G-I) [4 eps^2 n (G+I) - 6 eps^2 n + 3 sigma^2 (n-1)] / (3 n (n-1))``.
    With ``grouping="any"`` (Corollary 0) the local bounds use ``eps^2 = sum_l eps_l^2`` and
    the two-level gaps are
    ``2 gamma^2 L^2 (G-I) [2 n eps_g^2 (2G+2I-3) + 3 sigma^2 (N-1)] / (3n)`` and the same with
    ``eps_l`` and ``n - N``. Both gaps are proved non-negative on the domain
    ``1 <= P_1 <= ... <= P_M``, ``1 <= K_{M-1} <= ... <= n`` (and ``n >= 2`` for random
    grouping), for symbolic or numeric periods and group counts.

    Args:
        bound: :func:`~bounds.two_level` (default) or :func:`~bounds.multi_level` bound with
            per-level divergences (not already passed through ``random_grouping``).
        grouping: ``"random"`` or ``"any"``.

    Returns:
        A :class:`Sandwich`.

    Raises:
        ValueError: for an unknown ``grouping`` or a bound that already has random grouping.
        SandwichError: if a symbolic check fails (a bug).

    Example:
        >>> sw = sandwich()
        >>> sw.weights
        ((-N + n)/(n - 1), (N - 1)/(n - 1))
        >>> sw.lower_gap_factored
        2*L**2*gamma**2*(G - I)*(N - 1)*(2*eps**2*(2*G + 2*I - 3)/3 + sigma**2*(n - 1)/n)/(n - 1)
    """
    if grouping not in ("random", "any"):
        raise ValueError(f"grouping must be 'random' or 'any', got {grouping!r}")
    base = two_level() if bound is None else bound
    if base.coefficients is None:
        raise ValueError(f"the sandwich is proved for Theorem 2's form (named Coefficients); {base.theorem.title} "
                         "has none")
    if base.equal_groups:
        raise ValueError("pass the bound with per-level divergences; sandwich() applies random grouping itself")
    M = len(base.levels)
    periods = base.periods
    counts = base.group_counts
    if grouping == "random":
        middle = random_grouping(base)
        total_sq = s.eps**2
        weights: tuple[sp.Expr, ...] | None = shares(base)
    else:
        middle = base
        total_sq = sp.Add(*(lev.eps_sq for lev in base.levels))
        weights = None
    lower = _local(middle, 0, total_sq, "lower")
    upper = _local(middle, M - 1, total_sq, "upper")
    lower_gap = sp.cancel(middle.expr - lower.expr)
    upper_gap = sp.cancel(upper.expr - middle.expr)

    if grouping == "random":
        # B_local(b) - B_local(a) = (n - 1) * X(a, b); the gaps are weighted sums of X.
        def X(a: sp.Expr, b: sp.Expr) -> sp.Expr:
            return _bracket(middle, a, b, s.n - 1, total_sq) / (s.n - 1)

        lower_fact = sp.Add(*((counts[l] - counts[l + 1]) * X(periods[0], periods[l]) for l in range(1, M)))
        upper_fact = sp.Add(*((counts[l] - counts[l + 1]) * X(periods[l], periods[-1]) for l in range(M - 1)))
        combination = sp.Add(*(w * _local(middle, l, total_sq, "level").expr for l, w in enumerate(weights)))
        if not is_identity(middle.expr, combination):
            raise SandwichError("the H-SGD bound is not the convex combination of Corollaries 1-2")
        identity = sp.Eq(sp.Symbol("B_HSGD"), combination, evaluate=False)
    else:
        lower_fact = sp.Add(*(_bracket(middle, periods[0], periods[l], counts[l] - counts[l + 1],
                                       base.levels[l].eps_sq) for l in range(1, M)))
        upper_fact = sp.Add(*(_bracket(middle, periods[l], periods[-1], counts[l] - counts[l + 1],
                                       base.levels[l].eps_sq) for l in range(M - 1)))
        identity = None
    for name, gap, fact in (("lower", lower_gap, lower_fact), ("upper", upper_gap, upper_fact)):
        if not is_identity(gap, fact):
            raise SandwichError(f"the factored {name} gap does not equal the {name} gap")

    domain = hierarchy_domain(base, at_least_two_workers=(grouping == "random"))
    period_sum = sp.Add(*(p * (p - 1) for p in periods))
    return Sandwich(
        grouping=grouping,
        lower=lower,
        middle=middle,
        upper=upper,
        lower_gap=lower_gap,
        upper_gap=upper_gap,
        lower_gap_factored=lower_fact,
        upper_gap_factored=upper_fact,
        weights=weights,
        identity=identity,
        lower_proof=prove_nonnegative(lower_fact, domain),
        upper_proof=prove_nonnegative(upper_fact, domain),
        condition_proofs=(
            prove_nonnegative(period_sum - periods[0] * (periods[0] - 1), domain),
            prove_nonnegative(period_sum - periods[-1] * (periods[-1] - 1), domain),
        ),
        domain=domain,
    )
