"""Vectorised H-SGD simulation on problems with known constants (docs/theory.md §1.3 Assumptions
A1-A3).

Hierarchies (:mod:`empirical.hierarchy`), problems (:mod:`empirical.problems`, one module per
family, and the :class:`Problem` protocol with its declared hooks), the engine
(:mod:`empirical.engine`) with its per-seed random streams (:mod:`empirical.streams`) and
aggregation on the sorted grouping (:mod:`empirical.aggregation`), certified suprema for
the constants (:mod:`empirical.certify`), estimated smoothness where ``L`` is not known
(:mod:`empirical.smoothness`: :func:`estimate_smoothness` by Hessian power iteration at the
points of a :func:`pilot_trajectory`) and result files (:mod:`empirical.results`) live
apart: problems know nothing of hierarchies, and the engine knows nothing of plots. The
verification studies built on the simulator (witnesses, Theorem S's orbit search, Theorem W's
battery, the proof-step audit) are in :mod:`empirical.studies`.
"""

from empirical.batch import simulate_batch
from empirical.cost import CostModel, LinkCost
from empirical.engine import DivergenceWarning, SimulationResult, default_record_every, simulate
from empirical.hierarchy import GROUPINGS, Hierarchy
from empirical.constants import Constant, Constants
from empirical.problems import (
    FiniteSumLogistic,
    FunctionProblem,
    HeterogeneousNonconvex,
    Problem,
    from_gradient_fn,
)
from empirical.partitions import (
    data_weights,
    dirichlet_partition,
    iid_partition,
    partition_report,
    quantity_skew_partition,
    shard_partition,
)
from empirical.results import load_result, save_result
from empirical.smoothness import PilotTrajectory, estimate_smoothness, pilot_trajectory
from empirical.streams import SeedStreams

__all__ = [
    "Constant",
    "Constants",
    "CostModel",
    "DivergenceWarning",
    "FiniteSumLogistic",
    "FunctionProblem",
    "GROUPINGS",
    "HeterogeneousNonconvex",
    "Hierarchy",
    "LinkCost",
    "PilotTrajectory",
    "Problem",
    "SeedStreams",
    "SimulationResult",
    "data_weights",
    "default_record_every",
    "dirichlet_partition",
    "estimate_smoothness",
    "from_gradient_fn",
    "iid_partition",
    "load_result",
    "partition_report",
    "pilot_trajectory",
    "quantity_skew_partition",
    "save_result",
    "shard_partition",
    "simulate",
    "simulate_batch",
]
