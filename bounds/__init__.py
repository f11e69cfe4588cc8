"""Symbolic H-SGD convergence bounds (THEORY.md) and the divergence identities behind them."""

from bounds.divergence import (
    DivergenceSplit,
    divergence_split,
    expected_shares,
    group_means,
    level_divergences,
    random_nested_labels,
    validate_levels,
)

__all__ = [
    "DivergenceSplit",
    "divergence_split",
    "expected_shares",
    "group_means",
    "level_divergences",
    "random_nested_labels",
    "validate_levels",
]
