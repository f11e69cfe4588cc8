"""What a run costs in wall-clock-equivalent time: compute per step and communication per aggregation.

The model (one number per quantity, no queueing, no overlap of compute and communication):

* every local step costs ``compute`` seconds (``c``), on every worker in parallel;
* after step ``t`` the highest level ``l`` whose period divides ``t + 1`` averages
  (docs/theory.md §1.2 Algorithm; the lower levels are implied and cost nothing more). That
  aggregation sends the model up to the level-``l`` aggregator and the average back down, each
  way one transfer of ``B`` bytes over level ``l``'s link:

  .. math::
      \\mathrm{cost}_l = 2\\,(a_l + B / b_l),

  with ``a_l`` the link's latency (seconds per transfer), ``b_l`` its bandwidth (bytes per
  second) and ``B`` the model size (``8 d`` bytes of float64 by default);
* the time of ``T`` steps (steps ``t = 0 .. T-1``) is therefore

  .. math::
      \\mathrm{time}(T) = c\\,T + \\sum_{l=1}^{M} A_l(T)\\,\\mathrm{cost}_l,\\qquad
      A_l(T) = \\lfloor T/P_l \\rfloor - \\lfloor T/P_{l+1} \\rfloor\\ (P_{M+1} = \\infty),

  where ``A_l(T)`` counts the steps after which level ``l`` is the highest to average.

A level's ``(a_l, b_l)`` is the whole path from a worker to the level-``l`` aggregator. A
path through several links is one :class:`LinkCost` with the latencies added and the inverse
bandwidths added (``a = a_1 + a_2``, ``1/b = 1/b_1 + 1/b_2``): then ``a + B/b`` is the path's
transfer time, so a store-and-forward model (a global aggregation also pays the local links)
is this model with those effective numbers.

Which link a level uses: a hierarchy's levels take the network's levels from the top, so its
coarsest level always uses the network's coarsest (global) link. Local SGD (one level) pays
the global link at each aggregation; two-level H-SGD on a two-level network pays the local
link at level 1 and the global link at level 2; a hierarchy with more levels than the network
is an error.

Counts are per worker: ``bytes`` of a level is ``2 B`` per aggregation (up and down).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.hierarchy import check_nesting

__all__ = ["LinkCost", "CostModel", "Timeline", "aggregation_counts", "timeline", "run_time"]


def _finite(name: str, value: Any, rule: str) -> float:
    """``value`` as a float, or one line naming ``name`` and ``rule``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a {rule} number, got {value!r}")
    number = float(value)
    ok = {"non-negative": number >= 0, "positive": number > 0}[rule]
    if not (math.isfinite(number) and ok):
        raise ValueError(f"{name} must be a finite {rule} number, got {value!r}")
    return number


@dataclass(frozen=True)
class LinkCost:
    """One level's link: a transfer of ``B`` bytes takes ``latency + B / bandwidth`` seconds.

    Attributes:
        latency: seconds per transfer (``a_l >= 0``).
        bandwidth: bytes per second (``b_l > 0``).
        name: how reports name the level (e.g. ``"local"``, ``"global"``).

    Example:
        >>> LinkCost(latency=0.01, bandwidth=1e6).transfer_time(8000)
        0.018
        >>> LinkCost(latency=-1, bandwidth=1e6)
        Traceback (most recent call last):
        ValueError: latency must be a finite non-negative number, got -1
    """

    latency: float
    bandwidth: float
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency", _finite("latency", self.latency, "non-negative"))
        object.__setattr__(self, "bandwidth", _finite("bandwidth", self.bandwidth, "positive"))

    def transfer_time(self, nbytes: float) -> float:
        """Seconds for one transfer of ``nbytes`` bytes, one way."""
        return self.latency + nbytes / self.bandwidth


@dataclass(frozen=True)
class CostModel:
    """Compute time per step and a link per network level (see the module docstring).

    Attributes:
        levels: one :class:`LinkCost` per network level, finest first (the last is global).
        compute: seconds per local step (``c >= 0``).
        model_bytes: bytes of one model transfer ``B``; ``None`` for ``8 d`` (float64).

    Example:
        >>> m = CostModel([LinkCost(0.001, 1e9, "local"), LinkCost(0.05, 1e7, "global")], compute=0.01)
        >>> m.aggregation_costs(2, d=1000)  # 2 (a + 8000 / b) per level
        (0.002016, 0.1016)
        >>> m.aggregation_costs(1, d=1000)  # local SGD uses the global link
        (0.1016,)
        >>> CostModel([LinkCost(0.001, 1e9)], compute=0.01).aggregation_costs(2, d=10)
        Traceback (most recent call last):
        ValueError: levels: a 2-level hierarchy needs a network of at least 2 levels, this one has 1
    """

    levels: tuple[LinkCost, ...]
    compute: float
    model_bytes: float | None = None

    def __post_init__(self) -> None:
        links = tuple(self.levels) if isinstance(self.levels, (list, tuple)) else None
        if not links:
            raise ValueError(f"levels must be a non-empty list of LinkCost, one per network level (finest first), "
                             f"got {self.levels!r}")
        for i, link in enumerate(links):
            if not isinstance(link, LinkCost):
                raise ValueError(f"levels[{i}] must be a LinkCost, got {type(link).__name__}")
        object.__setattr__(self, "levels", links)
        object.__setattr__(self, "compute", _finite("compute", self.compute, "non-negative"))
        if self.model_bytes is not None:
            object.__setattr__(self, "model_bytes", _finite("model_bytes", self.model_bytes, "positive"))

    def model_size(self, d: int | None) -> float:
        """``B``: :attr:`model_bytes`, or ``8 d`` when it is ``None``."""
        if self.model_bytes is not None:
            return self.model_bytes
        if d is None or isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"d must be a positive integer (the model's dimension) when model_bytes is not given, "
                             f"got {d!r}")
        return 8.0 * int(d)

    def links(self, M: int) -> tuple[LinkCost, ...]:
        """The links the levels of an ``M``-level hierarchy use, finest first (the network's top ``M``)."""
        if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
            raise ValueError(f"M must be a positive integer (levels of the hierarchy), got {M!r}")
        if M > len(self.levels):
            raise ValueError(f"levels: a {M}-level hierarchy needs a network of at least {M} levels, this one has "
                             f"{len(self.levels)}")
        return self.levels[len(self.levels) - M:]

    def aggregation_costs(self, M: int, d: int | None = None) -> tuple[float, ...]:
        """``cost_l = 2 (a_l + B / b_l)`` for each level of an ``M``-level hierarchy, finest first."""
        B = self.model_size(d)
        return tuple(2.0 * link.transfer_time(B) for link in self.links(M))

    def to_json(self) -> dict[str, Any]:
        """The model as plain numbers."""
        return {"levels": [{"name": l.name, "latency": l.latency, "bandwidth": l.bandwidth} for l in self.levels],
                "compute": self.compute, "model_bytes": self.model_bytes}


def _periods(periods: Sequence[int]) -> tuple[int, ...]:
    out = []
    for i, p in enumerate(periods):
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)) or p < 1:
            raise ValueError(f"periods[{i}] must be a positive integer, got {p!r}")
        out.append(int(p))
    check_nesting(tuple(out))
    return tuple(out)


def _horizons(steps: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(steps)
    if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
        raise ValueError(f"steps must be non-negative integers (numbers of steps done), got {steps!r}")
    return arr.astype(np.int64)


def aggregation_counts(periods: Sequence[int], steps: ArrayLike) -> NDArray[np.int64]:
    """``A_l(T)``: after how many of the steps ``0 .. T-1`` level ``l`` is the highest to average.

    Shape ``steps.shape + (M,)``; ``A_l(T) = floor(T/P_l) - floor(T/P_{l+1})`` (the top level:
    ``floor(T/P_M)``).

    Example:
        >>> aggregation_counts([2, 6], [0, 1, 2, 6, 13]).tolist()
        [[0, 0], [0, 0], [1, 0], [2, 1], [4, 2]]
    """
    P = _periods(periods)
    T = _horizons(steps)[..., None]
    done = T // np.asarray(P, dtype=np.int64)  # level l or higher averaged, per level
    higher = np.concatenate([done[..., 1:], np.zeros_like(done[..., :1])], axis=-1)
    return done - higher


@dataclass(frozen=True)
class Timeline:
    """Time, aggregations and bytes after each number of steps (see :func:`timeline`).

    Attributes:
        steps: numbers of steps done ``T``, shape ``(R,)``.
        time: wall-clock-equivalent seconds of those ``T`` steps, ``(R,)``.
        aggregations: per level (finest first), the aggregations ``A_l(T)`` with ``l`` the
            highest level to average, ``(R, M)``.
        bytes: per level, bytes each worker sent and received over that level's link, ``(R, M)``.
        compute_time, communication_time: the two parts of ``time``, ``(R,)`` each.
        costs: ``cost_l`` per level, seconds per aggregation.
        links: the names of the links the levels use.
    """

    steps: NDArray[np.int64]
    time: NDArray[np.float64]
    aggregations: NDArray[np.int64]
    bytes: NDArray[np.float64]
    compute_time: NDArray[np.float64]
    communication_time: NDArray[np.float64]
    costs: tuple[float, ...]
    links: tuple[str, ...] = field(default=())


def timeline(cost_model: CostModel, periods: Sequence[int], steps: ArrayLike, d: int | None = None) -> Timeline:
    """Wall-clock-equivalent time of ``T`` steps of H-SGD with ``periods``, for each ``T`` in ``steps``.

    ``time(T) = c T + sum_l A_l(T) cost_l`` (module docstring), with the levels on the
    network's top links.

    Args:
        cost_model: the network and compute costs.
        periods: ``(P_1, ..., P_M)``, finest first, nesting (a one-level list is local SGD).
        steps: numbers of steps done (an integer array, any shape flattened to ``(R,)``).
        d: the model's dimension, for the default model size ``8 d`` bytes.

    Example:
        >>> m = CostModel([LinkCost(1.0, 1e9), LinkCost(10.0, 1e9)], compute=0.5, model_bytes=1)
        >>> tl = timeline(m, [2, 4], [0, 1, 2, 4, 5])
        >>> tl.time.round(6).tolist()  # 0.5 T, + ~2 per local and ~20 per global aggregation
        [0.0, 0.5, 3.0, 24.0, 24.5]
        >>> tl.aggregations.tolist()
        [[0, 0], [0, 0], [1, 0], [1, 1], [1, 1]]
    """
    P = _periods(periods)
    T = _horizons(steps).reshape(-1)
    costs = cost_model.aggregation_costs(len(P), d)
    counts = aggregation_counts(P, T)
    B = cost_model.model_size(d)
    compute = cost_model.compute * T.astype(np.float64)
    communication = counts @ np.asarray(costs, dtype=np.float64) if counts.size else np.zeros(T.shape)
    return Timeline(steps=T, time=compute + communication, aggregations=counts,
                    bytes=counts.astype(np.float64) * (2.0 * B), compute_time=compute,
                    communication_time=np.asarray(communication, dtype=np.float64), costs=costs,
                    links=tuple(link.name for link in cost_model.links(len(P))))


def run_time(cost_model: CostModel, periods: Sequence[int], T: int, d: int | None = None) -> float:
    """``time(T)``: the wall-clock-equivalent seconds of ``T`` steps (see :func:`timeline`).

    Example:
        >>> run_time(CostModel([LinkCost(0.0, 1.0)], compute=1.0, model_bytes=1), [1], 3)  # 3 + 3 x 2
        9.0
    """
    if isinstance(T, (bool, np.bool_)) or not isinstance(T, (int, np.integer)) or T < 0:
        raise ValueError(f"T must be a non-negative integer (steps), got {T!r}")
    P = _periods(periods)
    costs = cost_model.aggregation_costs(len(P), d)
    T = int(T)  # Python integers: a predicted T may exceed int64
    done = [T // p for p in P] + [0]
    return cost_model.compute * T + sum((done[l] - done[l + 1]) * costs[l] for l in range(len(P)))
