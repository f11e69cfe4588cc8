"""Which (I, G, N, gamma) reaches a target fastest on a network: predicted by the bound, then measured.

For each design (a :class:`bounds.Shape`: the problem's ``n`` workers, periods and group counts;
local SGD and minibatch SGD are one-level designs) on the problem's certified constants:

1. **predicted steps**: the smallest horizon ``T`` whose bound (docs/theory.md §4.2 Theorem 2,
   the grouping's own per-level ``eps``) is at most the target, at the step size that makes it
   smallest among those that meet the step-size condition exactly
   (:func:`bounds.time_to_target.fastest_step_size`, capped by
   :func:`bounds.largest_step_size`);
2. **predicted time**: ``time(T)`` of the cost model (:mod:`empirical.cost`: compute per step,
   ``2 (a_l + B/b_l)`` per aggregation at level ``l``);
3. **measured time**: the design is simulated (:func:`empirical.simulate`, several seeds, the
   same step size) and, per seed, the first horizon ``T`` at which the running average
   ``(1/T) sum_{t<T} ||grad f(u^t)||^2`` (the quantity the bound controls) is at most the
   target is charged ``time(T)``, exactly as the prediction is. The measured time is the mean
   over seeds when every seed got there within the horizon, else "not reached".

:func:`evaluate_designs` does 1-3 for any list of designs in one call (2 and 3 levels mixed);
:func:`advise` searches a grid, simulates the best designs and the baselines (local SGD at the
best design's ``I`` and ``G``, minibatch SGD), and reports Spearman's rank correlation between
predicted and measured times and how much slower the advisor's choice was than the measured
best. The constants in the bounds were derived for this project (docs/theory.md §0
Provenance), not taken from the paper.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from bounds.shape import Shape

if TYPE_CHECKING:
    from empirical.hierarchy import Hierarchy

__all__ = ["Prediction", "Outcome", "Advice", "design_name", "design_hierarchy", "design_grid", "predict", "measure",
           "evaluate_designs", "advise", "measured_steps_to_target"]

DEFAULT_LOCAL_PERIODS = (1, 2, 4, 5, 10, 20)
DEFAULT_GLOBAL_PERIODS = (2, 4, 5, 10, 20, 40, 50, 100, 200)
DEFAULT_MAX_STEPS = 20000
MAX_STEPS = 2**53 - 1
"""The largest predicted ``T`` the advisor takes: every step count up to it is exact in floating
point, and with the cost options of ``hsgd advise`` (each at most 1e30) its time stays finite."""


def _big(number: int) -> str:
    """An integer of any size in scientific notation (``float`` overflows above ``1e308``).

    Example:
        >>> _big(12345), _big(10**400 * 3)
        ('1.23e+04', '3.00e+400')
    """
    digits = str(number)
    return f"{digits[0]}.{digits[1:3].ljust(2, '0')}e+{len(digits) - 1:02d}"


def design_name(design: Shape) -> str:
    """A design's name in reports: ``minibatch SGD``, ``local SGD (P = 5)``, ``H-SGD (I = 5, G = 50,
    N = 4)`` and the like.

    Example:
        >>> design_name(Shape(8, (1,))), design_name(Shape(8, (5, 50), (4,)))
        ('minibatch SGD', 'H-SGD (I = 5, G = 50, N = 4)')
    """
    if design.M == 1:
        return "minibatch SGD" if design.periods[0] == 1 else f"local SGD (P = {design.periods[0]})"
    if design.M == 2:
        return f"H-SGD (I = {design.periods[0]}, G = {design.periods[1]}, N = {design.groups[0]})"
    return f"H-SGD (periods {','.join(map(str, design.periods))}, groups {','.join(map(str, design.groups))})"


def design_hierarchy(design: Shape, seed: int = 0) -> Hierarchy:
    """The simulator's hierarchy of a design: a random nested grouping with ``seed`` (local SGD for
    one level)."""
    from empirical.hierarchy import Hierarchy

    if design.M == 1:
        return Hierarchy.local_sgd(design.n, design.periods[0])
    return Hierarchy.multi_level(design.n, list(design.periods), list(design.groups), grouping="random", seed=seed)


@dataclass(frozen=True)
class Prediction:
    """What the bound predicts for one design.

    Attributes:
        design: the design (its :class:`bounds.Shape`).
        gamma: the step size that reaches the target in the fewest bound-steps.
        gamma_max: the largest step size meeting the step-size condition exactly.
        steps: predicted ``T``: the smallest horizon whose bound is at most the target.
        time: ``time(steps)`` under the cost model, seconds.
        floor: the bound's ``T``-independent terms at ``gamma``.
        eps: the grouping's own per-level ``eps`` used, finest first.
    """

    design: Shape
    gamma: float
    gamma_max: float
    steps: int
    time: float
    floor: float
    eps: tuple[float, ...]


@dataclass(frozen=True)
class Outcome:
    """A prediction and what the simulation measured.

    Attributes:
        prediction: the :class:`Prediction`.
        horizon: steps simulated (``min(predicted steps, max_steps)``).
        seed_steps: per seed, the first horizon ``T`` with running average ``<= target``, or
            ``None`` when it was not reached within :attr:`horizon`.
        seed_times: per seed, ``time(T)`` or ``None``.
        diverged: whether a run produced a non-finite value.
    """

    prediction: Prediction
    horizon: int
    seed_steps: tuple[int | None, ...]
    seed_times: tuple[float | None, ...]
    diverged: bool = False

    @property
    def reached(self) -> bool:
        """Every seed reached the target within the horizon."""
        return all(t is not None for t in self.seed_times)

    @property
    def measured_time(self) -> float | None:
        """Mean over seeds of the measured time to target, ``None`` unless every seed reached it."""
        return float(np.mean(self.seed_times)) if self.reached else None

    @property
    def measured_steps(self) -> float | None:
        """Mean over seeds of the measured steps to target, ``None`` unless every seed reached it."""
        return float(np.mean(self.seed_steps)) if self.reached else None

    def to_json(self) -> dict[str, Any]:
        """The issue's fields (``periods``, ``groups``, ``gamma``, ``predicted_time``,
        ``measured_time``) first, then the detail."""
        p = self.prediction
        times = [t for t in self.seed_times if t is not None]
        return {
            "periods": list(p.design.periods), "groups": list(p.design.groups), "gamma": p.gamma,
            "predicted_time": p.time, "measured_time": self.measured_time,
            "name": design_name(p.design), "predicted_steps": p.steps, "measured_steps": self.measured_steps,
            "measured_time_range": [min(times), max(times)] if times else None,
            "seeds_reached": len(times), "seeds": len(self.seed_times), "horizon": self.horizon,
            "gamma_max": p.gamma_max, "bound_floor": p.floor, "eps": list(p.eps), "diverged": self.diverged,
        }


@dataclass
class Advice:
    """The result of :func:`advise`.

    Attributes:
        designs: the best designs by predicted time, simulated (the first is the advisor's choice).
        baselines: local SGD at the best multi-level design's ``P_1`` and ``P_M``, and
            minibatch SGD, simulated.
        ranking: every design searched, by predicted time.
        spearman: Spearman's rank correlation of predicted and measured times over the
            designs simulated (each once; a design not reached ranks last), or ``None``.
        chosen_over_best_measured: measured time of the choice over the best measured time
            among the designs simulated, or ``None`` when the choice did not reach the target.
        target, cost_model, constants: the inputs; ``constants["estimated"]`` names any
            estimated (not certified) constant.
        notes: sentences the report must carry.
    """

    designs: list[Outcome]
    baselines: list[Outcome]
    ranking: list[Prediction]
    spearman: float | None
    chosen_over_best_measured: float | None
    target: float
    cost_model: Any
    constants: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"designs", "baselines", "spearman", "chosen_over_best_measured"}`` (the issue's
        shape), then ``target``, ``cost_model``, ``constants``, ``searched`` and ``notes``."""
        return {
            "designs": [o.to_json() for o in self.designs],
            "baselines": [o.to_json() for o in self.baselines],
            "spearman": self.spearman,
            "chosen_over_best_measured": self.chosen_over_best_measured,
            "target": self.target, "cost_model": self.cost_model.to_json(), "constants": self.constants,
            "searched": len(self.ranking), "notes": list(self.notes),
        }


def _divisors(n: int) -> list[int]:
    return [k for k in range(1, n + 1) if n % k == 0]


def design_grid(n: int, levels: Iterable[int] = (1, 2), *, local_periods: Sequence[int] = DEFAULT_LOCAL_PERIODS,
                global_periods: Sequence[int] = DEFAULT_GLOBAL_PERIODS) -> list[Shape]:
    """Designs to search, for ``n`` workers: hierarchy shapes (:class:`bounds.Shape`).

    * one level: local SGD at every period of ``local_periods`` and ``global_periods``
      (period 1 is minibatch SGD);
    * two levels: ``I`` in ``local_periods``, ``G`` in ``global_periods`` with ``I | G`` and
      ``I < G``, ``N | n`` with ``1 < N < n`` (``N = 1`` or ``N = n`` is local SGD with a
      wasted level);
    * three levels: ``P_1 | P_2 | P_3`` strictly increasing, ``P_1`` and ``P_2`` from
      ``local_periods``, ``P_3`` from ``global_periods``; ``K_2 | K_1 | n`` with
      ``n > K_1 > K_2 > 1``.

    Example:
        >>> [design_name(d) for d in design_grid(4, levels=(2,), local_periods=(1, 2), global_periods=(2, 3))]
        ['H-SGD (I = 1, G = 2, N = 2)', 'H-SGD (I = 1, G = 3, N = 2)']
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    levels = tuple(levels)
    for M in levels:
        if M not in (1, 2, 3):
            raise ValueError(f"levels must be among 1, 2, 3, got {M!r}")
    for name, periods in (("local_periods", local_periods), ("global_periods", global_periods)):
        if not periods or any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1 for p in periods):
            raise ValueError(f"{name} must be a non-empty list of positive integers, got {list(periods)!r}")
    n = int(n)
    counts = [k for k in _divisors(n) if 1 < k < n]
    out: list[Shape] = []
    if 1 in levels:
        out += [Shape(n, (P,)) for P in sorted(set(local_periods) | set(global_periods))]
    if 2 in levels:
        out += [Shape(n, (I, G), (N,)) for I in local_periods for G in global_periods if G % I == 0 and I < G
                for N in counts]
    if 3 in levels:
        out += [Shape(n, (P1, P2, P3), (K1, K2)) for P1 in local_periods for P2 in local_periods
                for P3 in global_periods if P1 < P2 < P3 and P2 % P1 == 0 and P3 % P2 == 0
                for K1 in counts for K2 in counts if K2 < K1 and K1 % K2 == 0]
    return out




def _check_workers(design: Shape, problem: Any) -> None:
    """A design is for the problem's workers: ``ValueError`` naming both ``n`` otherwise."""
    if design.n != problem.n:
        raise ValueError(f"design {design_name(design)} is for n = {design.n} workers, the problem has n = {problem.n}")


def _initial_gap(problem: Any, f_star: float) -> float:
    return float(problem.loss(np.asarray(problem.default_x0(), dtype=float))) - f_star


def _check_target(target: Any) -> float:
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(target)) or target <= 0:
        raise ValueError(f"target must be a finite positive number, got {target!r}")
    return float(target)


def predict(problem: Any, designs: Sequence[Shape], cost_model: Any, target: float, *,
            grouping_seed: int = 0, theorem: Any = "theorem2") -> tuple[list[Prediction], dict[str, Any]]:
    """The bound's steps and time to ``target`` for each design, and the constants used.

    Each design gets the constants of its own grouping (``problem.constants(levels)``), the
    step size of :func:`bounds.time_to_target.fastest_step_size` below the largest admissible
    one (:func:`bounds.largest_step_size`, exact), its predicted ``T`` and
    ``time(T)``, all under ``theorem`` (a registered name, ``file.py:attr`` or a
    :class:`~bounds.statement.Theorem`; default Theorem 2), which must have the form
    ``S/T + R(gamma)`` of :mod:`bounds.time_to_target` (a theorem with free parameters or a
    square root does not: the error says so).

    Returns:
        ``(predictions, constants)``; ``constants`` has ``L``, ``sigma``, ``F0``, the labels
        and ``estimated`` (names of estimated constants over all designs).
    """
    from bounds.instance import instance_bound
    from bounds.theorems import theorem as resolve_theorem
    from bounds.time_to_target import fastest_step_size
    from empirical.cost import run_time
    from bounds.optimal import largest_step_size

    chosen = resolve_theorem(theorem)

    target = _check_target(target)
    out: list[Prediction] = []
    estimated: set[str] = set()
    info: dict[str, Any] = {}
    for design in designs:
        _check_workers(design, problem)
        h = design_hierarchy(design, grouping_seed)
        c = problem.constants(h.levels)
        estimated |= set(c.estimated())
        F0 = _initial_gap(problem, c.f_star.value)
        eps = tuple(e.value for e in c.eps_levels)
        bound = instance_bound(chosen, design.M)  # symbolic periods and counts, one per depth
        if bound.free or bound.extra:
            raise ValueError(f"theorem {chosen.name} ({chosen.title}) has free or extra parameters: the advisor's "
                             "exact time to target needs a bound of the form S/T + R(gamma) (bounds.time_to_target)")
        structure = design.symbol_values()
        gamma_max, _ = largest_step_size(bound, L=c.L.value, **structure)
        best = fastest_step_size(bound, target, gamma_max, L=c.L.value, sigma=c.sigma.value, n=problem.n, F0=F0,
                                 eps=list(eps), **structure)
        assert best.T is not None  # a positive target is reachable at some step size
        if best.T > MAX_STEPS:
            raise ValueError(f"target {target:g} is too small for this problem: {design_name(design)} needs "
                             f"T = {_big(best.T)} steps by the bound, more than 2**53 - 1 (the most steps "
                             "counted exactly); give a larger target")
        out.append(Prediction(design, best.gamma, gamma_max, best.T, run_time(cost_model, design.periods, best.T,
                                                                                problem.d), best.floor, eps))
        info = {"L": c.L.value, "sigma": c.sigma.value, "F0": F0, "f_star": c.f_star.value,
                "labels": {"L": c.L.label, "sigma": c.sigma.label, "eps_levels": c.eps_levels[0].label,
                           "f_star": c.f_star.label}}
    info["estimated"] = sorted(estimated)
    return out, info


def measured_steps_to_target(running_avg: np.ndarray, target: float) -> list[int | None]:
    """Per seed, the first horizon ``T = r + 1`` with ``running_avg[:, r] <= target``, else ``None``.

    Example:
        >>> measured_steps_to_target(np.array([[3.0, 2.0, 1.0], [3.0, 3.0, 3.0]]), 2.0)
        [2, None]
    """
    hit = np.asarray(running_avg) <= target
    first = hit.argmax(axis=1)
    return [int(f) + 1 if hit[s, f] else None for s, f in enumerate(first)]


def measure(problem: Any, predictions: Sequence[Prediction], cost_model: Any, target: float, *, seeds: int = 4,
            seed: int = 0, max_steps: int = DEFAULT_MAX_STEPS, grouping_seed: int = 0, pool: Any = None,
            progress: Callable[[str], Any] | None = None) -> list[Outcome]:
    """Simulate each predicted design at its step size for ``min(predicted T, max_steps)`` steps
    and measure its time to ``target`` (module docstring).

    ``pool``: an executor (:func:`figures.executor.executor`) the simulations are submitted to, one
    task per design, so they run on every core it has; ``None`` runs them here. The outcomes are
    the same either way, in the order of ``predictions``. ``progress`` is told each design as its
    simulation finishes.
    """
    target = _check_target(target)
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    for p in predictions:
        _check_workers(p.design, problem)
    say = progress or (lambda message: None)
    arguments = [(problem, p, cost_model, target, seeds, seed, int(min(p.steps, max_steps)), grouping_seed)
                 for p in predictions]
    if pool is None:
        futures = None
    else:
        futures = [pool.submit(_measure_one, *args) for args in arguments]
    out = []
    for k, args in enumerate(arguments):
        out.append(_measure_one(*args) if futures is None else futures[k].result())
        say(f"simulated {design_name(args[1].design)} for {args[6]:,} steps ({k + 1} of {len(arguments)})")
    return out


def _measure_one(problem: Any, p: Prediction, cost_model: Any, target: float, seeds: int, seed: int, horizon: int,
                 grouping_seed: int) -> Outcome:
    """One design of :func:`measure` (a top-level function, so a process pool can run it)."""
    from empirical.cost import timeline
    from empirical.engine import DivergenceWarning, simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        r = simulate(problem, design_hierarchy(p.design, grouping_seed), lr=p.gamma, steps=horizon,
                     seeds=seeds, seed=seed, record_every=1)  # running averages at every T
    steps = measured_steps_to_target(r.running_avg, target)
    times = timeline(cost_model, p.design.periods, np.arange(horizon + 1), d=problem.d).time
    return Outcome(p, horizon, tuple(steps), tuple(None if T is None else float(times[T]) for T in steps),
                   diverged=r.diverged is not None)


def evaluate_designs(problem: Any, designs: Sequence[Shape], cost_model: Any, target: float, *, seeds: int = 4,
                     seed: int = 0, max_steps: int = DEFAULT_MAX_STEPS, grouping_seed: int = 0) -> list[Outcome]:
    """Predict and measure the time to ``target`` of every design (any mix of depths): one call
    for a grid of (I, G, N) on 2 and 3 levels.

    Example:
        >>> from bounds import Shape
        >>> from empirical import HeterogeneousNonconvex
        >>> from empirical.cost import CostModel, LinkCost
        >>> net = CostModel([LinkCost(1e-4, 1e9), LinkCost(1e-2, 1e8)], compute=1e-3)
        >>> p = HeterogeneousNonconvex(n=8, d=3, sigma=0.5)
        >>> [o.prediction.steps >= o.seed_steps[0] for o in evaluate_designs(
        ...     p, [Shape(8, (1,)), Shape(8, (2, 4), (2,))], net, 0.5, seeds=2, max_steps=3000)]
        [True, True]
    """
    predictions, _ = predict(problem, designs, cost_model, target, grouping_seed=grouping_seed)
    return measure(problem, predictions, cost_model, target, seeds=seeds, seed=seed, max_steps=max_steps,
                   grouping_seed=grouping_seed)


def _rank_agreement(outcomes: Sequence[Outcome]) -> float | None:
    """Spearman's rho of predicted against measured times (not reached: ranked last, tied)."""
    from scipy.stats import spearmanr

    if len(outcomes) < 3:
        return None
    predicted = [o.prediction.time for o in outcomes]
    measured = [o.measured_time if o.measured_time is not None else math.inf for o in outcomes]
    if len(set(measured)) < 2 or len(set(predicted)) < 2:
        return None
    rho = float(spearmanr(predicted, measured).statistic)
    return rho if math.isfinite(rho) else None


def advise(problem: Any = None, cost_model: Any = None, target: float = 0.05, *, top: int = 3, seeds: int = 4,
           seed: int = 0, max_steps: int = DEFAULT_MAX_STEPS, levels: Iterable[int] | None = None,
           designs: Sequence[Shape] | None = None, grouping_seed: int = 0, theorem: Any = "theorem2",
           workers: int | None = 1, scheduler: str | None = None,
           progress: Callable[[str], Any] | None = None) -> Advice:
    """Search designs by the bound's predicted time to ``target``, then simulate the best and the baselines.

    Args:
        problem: default :func:`figures.checker.default_problem` (certified constants).
        cost_model: an :class:`empirical.cost.CostModel`; default a fast local link
            (``1e-4`` s, 1 GB/s), a slow global link (``1e-2`` s, 100 MB/s), ``1e-3`` s per step.
        target: the target of the average squared gradient norm.
        top: how many of the best designs to simulate.
        seeds, seed: runs per design and the noise seed.
        max_steps: the longest simulation (a design is simulated for ``min(predicted T,
            max_steps)`` steps).
        levels: depths to search (default 1 and 2, and 3 when the network has 3 levels).
        designs: the designs to search instead of :func:`design_grid` (shapes of ``problem.n`` workers).
        grouping_seed: seed of the random groupings.
        theorem: the bound that ranks the designs (:func:`predict`; default Theorem 2).
        workers, scheduler: where the simulations run (:func:`figures.executor.executor`): ``1``
            (default) here, one after the other; ``k > 1`` (``None``: one per CPU) in a pool,
            one design per task (the problem must pickle); a Dask scheduler's address. The
            advice is the same for every choice.
        progress: optional callback told each stage (predicting, each simulation finished).

    Returns:
        An :class:`Advice`; ``advice.to_json()`` has the shape of ``hsgd advise --json``.
    """
    from empirical.cost import CostModel, LinkCost
    from figures.checker import default_problem

    target = _check_target(target)
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top must be a positive integer, got {top!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
    problem = problem if problem is not None else default_problem()
    if cost_model is None:
        cost_model = CostModel([LinkCost(1e-4, 1e9, "local"), LinkCost(1e-2, 1e8, "global")], compute=1e-3)
    if designs is None:
        depth = len(cost_model.levels)
        levels = tuple(levels) if levels is not None else tuple(M for M in (1, 2, 3) if M <= depth)
        designs = design_grid(problem.n, levels)
    designs = list(designs)
    if not designs:
        raise ValueError("designs: nothing to search (no design fits this n and these levels)")
    for d in designs:
        cost_model.links(d.M)  # a design deeper than the network: one line, before any work
    from figures.executor import executor, is_inline

    say = progress or (lambda message: None)
    with executor(workers, scheduler) as pool:
        pool = None if is_inline(pool) else pool
        say(f"predicting the time to target of {len(designs)} designs")
        predictions, constants = _predict_in(pool, problem, designs, cost_model, target, grouping_seed, theorem)
        advice = _simulate_best(pool, problem, predictions, constants, cost_model, target, top=top, seeds=seeds,
                                seed=seed, max_steps=max_steps, grouping_seed=grouping_seed, theorem=theorem, say=say)
    return advice


def _predict_in(pool: Any, problem: Any, designs: Sequence[Shape], cost_model: Any, target: float,
                grouping_seed: int, theorem: Any) -> tuple[list[Prediction], dict[str, Any]]:
    """:func:`predict`, in slices of ``designs`` submitted to ``pool`` (here when ``None``): the
    same predictions in the same order, and the constants of the last design with the estimated
    names of all of them."""
    if pool is None or len(designs) < 2:
        return predict(problem, designs, cost_model, target, grouping_seed=grouping_seed, theorem=theorem)
    size = -(-len(designs) // 8)  # eight slices: both cores stay busy though designs differ in cost
    futures = [pool.submit(predict, problem, designs[i:i + size], cost_model, target, grouping_seed=grouping_seed,
                           theorem=theorem) for i in range(0, len(designs), size)]
    parts = [future.result() for future in futures]
    constants = dict(parts[-1][1], estimated=sorted({name for _, info in parts for name in info["estimated"]}))
    return [p for part, _ in parts for p in part], constants


def _simulate_best(pool: Any, problem: Any, predictions: list[Prediction], constants: dict[str, Any], cost_model: Any,
                   target: float, *, top: int, seeds: int, seed: int, max_steps: int, grouping_seed: int,
                   theorem: Any, say: Callable[[str], Any]) -> Advice:
    """The rest of :func:`advise`: rank the predictions, simulate the best and the baselines in
    ``pool`` (here when ``None``), and compare."""
    ranking = sorted(predictions, key=lambda p: (p.time, p.steps, p.design.M, p.design.periods))
    best = ranking[:top]
    multi = next((p for p in ranking if p.design.M > 1), None)
    wanted = [Shape(problem.n, (1,))]
    if multi is not None:
        wanted = [Shape(problem.n, (multi.design.periods[0],)), Shape(problem.n, (multi.design.periods[-1],)),
                  Shape(problem.n, (1,))]
    known = {p.design: p for p in predictions}
    missing = [d for d in dict.fromkeys(wanted) if d not in known]
    if missing:
        extra, _ = predict(problem, missing, cost_model, target, grouping_seed=grouping_seed, theorem=theorem)
        known.update({p.design: p for p in extra})
    baseline_predictions = [known[d] for d in dict.fromkeys(wanted)]
    simulated: dict[Shape, Outcome] = {}
    to_run = list(dict.fromkeys([p.design for p in best] + [p.design for p in baseline_predictions]))
    outcomes = measure(problem, [known[d] for d in to_run], cost_model, target, seeds=seeds, seed=seed,
                       max_steps=max_steps, grouping_seed=grouping_seed, pool=pool, progress=say)
    for outcome in outcomes:
        simulated[outcome.prediction.design] = outcome
    every = list(simulated.values())
    chosen = simulated[best[0].design]
    reached = [o.measured_time for o in every if o.measured_time is not None]
    ratio = chosen.measured_time / min(reached) if chosen.measured_time is not None and reached else None
    notes = []
    if constants["estimated"]:
        notes.append("estimated (not certified) constants: " + ", ".join(constants["estimated"])
                     + "; the bound's predictions rest on estimates")
    if any(not o.reached for o in every):
        notes.append("a design not reached within its horizon ranks last in the rank correlation")
    if chosen.measured_time is None:
        notes.append("the advisor's choice did not reach the target within its horizon: "
                     "chosen_over_best_measured is null")
    return Advice(designs=[simulated[p.design] for p in best],
                  baselines=[simulated[p.design] for p in baseline_predictions], ranking=ranking,
                  spearman=_rank_agreement(every), chosen_over_best_measured=ratio, target=target,
                  cost_model=cost_model, constants=constants, notes=notes)
