"""What a theorem is, as data: a :class:`Theorem` turns a hierarchy's :class:`Level` descriptions
into a :class:`Statement` (named sympy terms, optional parts of terms, conditions, free parameters).

Every theorem of the toolkit (docs/theory.md §4.2 Theorem 2 and its cases, §9.1 Theorem S, ...)
is one :class:`Theorem` built by one builder function, and :class:`bounds.Bound` is a theorem
applied to a hierarchy. Float evaluation, the exact (rational) condition check, the per-part
values that mutants and witnesses read, and the optimisation of free parameters are all
derived from the one sympy statement: nothing restates a theorem's formula.

A user's own theorem is a :class:`Theorem` whose ``state`` function returns a
:class:`Statement` for the levels it is given (see the README, "Your own theorem").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import sympy as sp

from bounds.coefficients import Coefficients

__all__ = ["Level", "Condition", "ConditionCheck", "Statement", "Theorem"]


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy, as a theorem sees it.

    Attributes:
        period: ``P_l``, number or sympy expression.
        finer_count: ``K_{l-1}``, the number of groups one level down (``n`` at level 1).
        count: ``K_l``, the number of groups at this level (``1`` at the top).
        eps_sq: ``eps_l^2``, the squared divergence bound of this level (A3).
        term: the name of this level's term in :attr:`bounds.Bound.terms`.
        period_label: how error messages name the period (``"G"``, ``"periods[1]"``).
        count_label: how error messages name ``K_l``.
    """

    period: sp.Expr
    finer_count: sp.Expr
    count: sp.Expr
    eps_sq: sp.Expr
    term: str
    period_label: str
    count_label: str


@dataclass(frozen=True)
class Condition:
    """A condition ``lhs <= rhs`` (``lhs < rhs`` when ``strict``) under which a bound holds."""

    label: str
    lhs: sp.Expr
    rhs: sp.Expr
    strict: bool = False

    @property
    def relational(self) -> sp.Expr:
        """The condition as a sympy relational ``lhs <= rhs`` (or ``lhs < rhs``)."""
        return (sp.Lt if self.strict else sp.Le)(self.lhs, self.rhs, evaluate=False)

    def met(self, lhs: Any, rhs: Any) -> Any:
        """Whether numbers (or arrays) ``lhs``, ``rhs`` meet it: ``lhs < rhs`` when strict, else
        ``lhs <= rhs``, with no slack. On float sides this is only the float comparison: a
        decision about a theorem takes the exact one near the boundary
        (:func:`bounds.exact.decide`)."""
        return lhs < rhs if self.strict else lhs <= rhs


@dataclass(frozen=True)
class ConditionCheck:
    """A condition at numbers: both sides (floats, for reading) and whether it holds, decided
    exactly where the floats are too close to tell (:func:`bounds.exact.decide`)."""

    condition: Condition
    lhs: float
    rhs: float
    holds: bool

    @property
    def excess(self) -> float:
        """``lhs - rhs``: by how much the condition fails (negative when it holds)."""
        return self.lhs - self.rhs

    def describe(self) -> str:
        verdict = "holds" if self.holds else f"FAILS by {self.excess:.6g}"
        return f"{self.condition.label}: {self.lhs:.6g} {'<' if self.condition.strict else '<='} {self.rhs:.6g} {verdict}"


@dataclass(frozen=True)
class Statement:
    """What a theorem says for one hierarchy.

    Attributes:
        terms: named terms, in print order; their sum is the bound.
        conditions: the conditions under which the bound holds.
        parts: for some terms, a split into named parts that sum to the term (e.g. a level's
            ``noise`` and ``heterogeneity``); mutants and witnesses read terms at this grain
            (:meth:`bounds.Bound.part_values`). That they sum to the term is the builder's
            claim, checked symbolically for every registered theorem in the tests.
        free: keyword -> symbols of parameters the bound holds for *every* admissible value of
            (Young's ``alpha``, ``beta`` in Theorem S); :meth:`bounds.Bound.optimise` chooses
            them when they are not given.
        extra: keyword -> symbol (or symbols, one per level) of the numbers the theorem needs
            beyond the hierarchy and A1-A3 (Theorem P's noise weight ``omega``, noise shares
            and sampling error).
    """

    terms: Mapping[str, sp.Expr]
    conditions: tuple[Condition, ...]
    parts: Mapping[str, Mapping[str, sp.Expr]] = field(default_factory=dict)
    free: Mapping[str, tuple[sp.Symbol, ...]] = field(default_factory=dict)
    extra: Mapping[str, sp.Symbol | tuple[sp.Symbol, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, split in self.parts.items():
            if name not in self.terms:
                raise ValueError(f"parts are given for {name!r}, which is not a term ({', '.join(self.terms)})")
            if not split:
                raise ValueError(f"the term {name!r} is split into no parts")


@dataclass(frozen=True, eq=False)
class Theorem:
    """A theorem as data: its name, where it comes from, and its statement for any hierarchy.

    Attributes:
        name: the registry name (``hsgd ... --theorem NAME``), e.g. ``"theorem2"``.
        title: how output names it, e.g. ``"Theorem 2"``.
        source: where the statement and its derivation are (a section of docs/theory.md).
        state: levels (finest first) -> :class:`Statement`.
        coefficients: the named constants, for theorems written with
            :class:`~bounds.coefficients.Coefficients` (Theorem 2 and its cases), else ``None``.
    """

    name: str
    title: str
    source: str
    state: Callable[[tuple[Level, ...]], Statement] = field(repr=False)
    coefficients: Coefficients | None = None
