"""Vectorised H-SGD simulation on problems with known constants (docs/theory.md §1.3 Assumptions
A1-A3).

Hierarchies (:mod:`empirical.hierarchy`), problems (:mod:`empirical.problems`), the engine
(:mod:`empirical.engine`) with its per-seed random streams (:mod:`empirical.streams`) and
aggregation on the sorted grouping (:mod:`empirical.aggregation`), certified suprema for
the constants (:mod:`empirical.certify`) and result files (:mod:`empirical.results`) live
apart: problems know nothing of hierarchies, and the engine knows nothing of plots.
"""

from empirical.engine import DivergenceWarning, SimulationResult, simulate
from empirical.hierarchy import GROUPINGS, Hierarchy, local_sgd, multi_level, two_level
from empirical.problems import (
    Constant,
    Constants,
    FiniteSumLogistic,
    FunctionProblem,
    HeterogeneousNonconvex,
    Problem,
    from_gradient_fn,
)
from empirical.results import load_result, save_result
from empirical.streams import SeedStreams

__all__ = [
    "Constant",
    "Constants",
    "DivergenceWarning",
    "FiniteSumLogistic",
    "FunctionProblem",
    "GROUPINGS",
    "HeterogeneousNonconvex",
    "Hierarchy",
    "Problem",
    "SeedStreams",
    "SimulationResult",
    "from_gradient_fn",
    "load_result",
    "local_sgd",
    "multi_level",
    "save_result",
    "simulate",
    "two_level",
]
