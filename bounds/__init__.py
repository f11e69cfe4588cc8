"""Symbolic H-SGD convergence bounds (docs/theory.md) and the divergence identities behind them.

The structure of every statement is that of Wang, Wang, Chen, Ji, *Demystifying Why Local
Aggregation Helps: Convergence Analysis of Hierarchical SGD*, AAAI 2022, arXiv:2010.12998;
the constants are those of docs/theory.md §0 Provenance, derived for this project, not the
paper's (:mod:`bounds.coefficients`; the default set is the constant :data:`bounds.THEORY`).

A hierarchy's shape (``n`` workers, periods, group counts) is one value type, :class:`Shape`
(:mod:`bounds.shape`), used by every package; ``shape.bound(theorem)`` is the theorem at it.

Property-based tests of bound orderings: :mod:`bounds.strategies` holds hypothesis strategies
(hierarchies of any depth, periods and group counts, constants, step sizes inside the
condition). Import it explicitly (``from bounds import strategies``); ``import bounds`` does
not import hypothesis.
"""

from bounds import symbols
from bounds.bound import Bound, Condition, ConditionCheck, Level, VectorizedBound
from bounds.statement import Statement, Theorem
from bounds.theorems import REGISTRY, THEOREM_2, THEOREM_P, THEOREM_S, theorem, theorem2, theorem_p, theorem_s
from bounds.coefficients import THEORY, Coefficients
from bounds.divergence import (
    DivergenceSplit,
    divergence_split,
    expected_shares,
    group_means,
    level_divergences,
    random_nested_labels,
    validate_levels,
)
from bounds.local_sgd import local_sgd
from bounds.multi_level import multi_level
from bounds.shape import Shape
from bounds.optimal import OptimalStepSize, largest_step_size, optimal_lr
from bounds.proofs import Certificate, Domain, ProofError, prove_nonnegative, prove_positive
from bounds.random_grouping import random_grouping, shares
from bounds.corollaries import Sandwich, SandwichError, sandwich
from bounds.two_level import two_level
from bounds.instance import Instance, theorem_condition, theorem_terms

__all__ = [
    "Bound",
    "Statement",
    "Theorem",
    "REGISTRY",
    "THEOREM_2",
    "THEOREM_S",
    "THEOREM_P",
    "theorem_p",
    "theorem",
    "theorem2",
    "theorem_s",
    "Instance",
    "Shape",
    "theorem_condition",
    "theorem_terms",
    "Certificate",
    "Domain",
    "OptimalStepSize",
    "ProofError",
    "Sandwich",
    "SandwichError",
    "largest_step_size",
    "optimal_lr",
    "prove_nonnegative",
    "prove_positive",
    "sandwich",
    "Coefficients",
    "Condition",
    "ConditionCheck",
    "DivergenceSplit",
    "Level",
    "THEORY",
    "VectorizedBound",
    "divergence_split",
    "expected_shares",
    "group_means",
    "level_divergences",
    "local_sgd",
    "multi_level",
    "random_grouping",
    "random_nested_labels",
    "shares",
    "symbols",
    "two_level",
    "validate_levels",
]
