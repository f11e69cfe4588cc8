"""Problems with known constants (docs/theory.md §1.3 Assumptions A1-A3) for the simulator.

For now every problem is in :mod:`empirical.problems.heterogeneous` (the former
``empirical/problems.py``, moved unchanged so that its history follows); the next commit
gives each family its own module. The public names are the same as before.
"""

from empirical.problems.heterogeneous import (
    PHI_PRIME_MAX,
    PHI_SECOND_MAX,
    PHI_SECOND_MIN,
    FiniteSumLogistic,
    FunctionProblem,
    HeterogeneousNonconvex,
    Problem,
    from_gradient_fn,
    sampled_constants,
    sampled_divergences,
    sampled_sigma,
)

__all__ = [
    "Problem",
    "HeterogeneousNonconvex",
    "FunctionProblem",
    "from_gradient_fn",
    "FiniteSumLogistic",
    "sampled_constants",
    "sampled_divergences",
    "sampled_sigma",
    "PHI_SECOND_MIN",
    "PHI_SECOND_MAX",
    "PHI_PRIME_MAX",
]
