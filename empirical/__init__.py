"""Vectorised H-SGD simulation on problems with known constants (docs/theory.md §1.3 Assumptions
A1-A3).

Hierarchies (:mod:`empirical.hierarchy`), problems (:mod:`empirical.problems`), the engine
(:mod:`empirical.engine`) with its per-seed random streams (:mod:`empirical.streams`) and
aggregation on the sorted grouping (:mod:`empirical.aggregation`), certified suprema for
the constants (:mod:`empirical.certify`), estimated smoothness where ``L`` is not known
(:mod:`empirical.smoothness`: :func:`estimate_smoothness` by Hessian power iteration at the
points of a :func:`pilot_trajectory`) and result files (:mod:`empirical.results`) live
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
from empirical.smoothness import PilotTrajectory, estimate_smoothness, pilot_trajectory
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
    "PilotTrajectory",
    "Problem",
    "SeedStreams",
    "SimulationResult",
    "estimate_smoothness",
    "from_gradient_fn",
    "load_result",
    "local_sgd",
    "multi_level",
    "pilot_trajectory",
    "save_result",
    "simulate",
    "two_level",
]
