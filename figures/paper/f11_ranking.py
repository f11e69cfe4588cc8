"""F11: does the bound rank designs correctly? Predicted against measured time to a target.

For a grid of designs (two-level H-SGD over ``(I, G, N)``, a few three-level designs, and the
baselines: local SGD at each ``I`` and each ``G``, minibatch SGD), on two problems and three
networks, the design advisor's two numbers (:mod:`figures.advise`) are set side by side:

* **predicted time**: the smallest ``T`` whose bound (docs/theory.md §4.2 Theorem 2, the
  grouping's own per-level ``eps``; constants derived for this project, not the paper's) is at
  most the target, at the step size that makes that ``T`` smallest within the step-size
  condition (:func:`bounds.time_to_target.fastest_step_size`), charged ``time(T)`` of the
  network's cost model (:mod:`empirical.cost`);
* **measured time**: the design simulated at *that same step size* (several seeds), the first
  ``T`` at which the running average of ``||grad f(u^t)||^2`` is at most the target, charged
  ``time(T)`` the same way; the mean over seeds when every seed got there, else **not
  reached** within the horizon simulated (``min(predicted T, max_steps)``, doubled from 512
  until every seed got there, so a design that gets there early is not run to the cap).

The step size and ``T`` do not depend on the network (the bound counts steps), so each
design is simulated once per problem and its steps are charged under every network. A
design of ``M`` levels uses the network's links as follows: local SGD and minibatch SGD the
global link, two levels the local and the global link, three levels all three (so the
local link is the same for every multi-level design).

Per problem and network the figure reports Spearman's rank correlation of predicted and
measured times over the designs that got there (:func:`rank_agreement`), the same with the
designs not reached ranked last (tied), the measured time of the bound's choice over the best
measured (:func:`chosen_over_best`, at least 1 by definition) and how far down the bound's
ranking the measured best is (:func:`oracle_rank`). The bound is an upper bound, so measured
times lie below predicted ones; the ``y = x`` line is drawn only as a guide, and a dashed
line per network marks the geometric-mean ratio predicted/measured.

**What the agreement rests on.** At the bound's step sizes (50-800 times below minibatch
SGD's on the heterogeneous problem) both the bound's ``T`` and the measured ``T`` scale as
``1/gamma`` (``gamma T`` measured is constant to about 15% over every design, reported per
problem), so the rank agreement says the bound orders designs correctly *at the step sizes it
chooses*. It does not say the bound's step size is a good one. A second check runs every
design at **one common step size**, the one the bound picks for minibatch SGD (outside the
other designs' conditions: the theorem says nothing there, the simulation does), and reports
the measured time of the bound's choice (at its own step size) over the best design at that
common step size. In that check only, the global model must exist at ``T``: one more
top-level aggregation is charged unless ``P_M`` divides ``T`` (without it, a design could
"reach" a target with its groups never having averaged).
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bounds.shape import Shape
from figures.advise import Prediction, design_name
from figures.plotting import pyplot, tally

__all__ = ["PROBLEMS", "REGIMES", "designs_for", "regime_cost", "rank_agreement", "chosen_over_best",
           "oracle_rank", "within_bar", "measure_design", "time_with_final_aggregation", "f11_data", "draw_f11", "summary", "build_f11"]

PROBLEMS: dict[str, dict[str, Any]] = {
    "heterogeneous": {"params": dict(n=32, d=10, clusters=4, between=2.0, within=1.0, a=1.0, lam=4.0, sigma=1.0,
                                     seed=0), "target": 1.0},
    "low-heterogeneity noisy": {"params": dict(n=32, d=10, clusters=4, between=0.1, within=0.05, a=1.0, lam=4.0,
                                               sigma=10.0, seed=0), "target": 0.5},
}
"""The two problems (:class:`empirical.problems.HeterogeneousNonconvex`, certified constants)
and their targets. The first is the checker's default (:func:`figures.checker.default_problem`);
its target 1.0 is about a quarter of ``||grad f(x0)||^2 = 4.4``: at the advisor's default
0.05 every multi-level design needs millions of bound-steps at a step size 50-100 times smaller
than minibatch SGD's, and none gets there in a simulation of affordable length."""

COMPUTE = 1e-3
"""Seconds per local step, every network."""

REGIMES: dict[str, tuple[tuple[float, float], ...]] = {
    "fast global": ((1e-4, 1e9), (1e-4, 1e9), (1e-4, 1e9)),
    "slow global": ((1e-4, 1e9), (1e-3, 1e9), (1e-2, 1e8)),
    "very slow global": ((1e-4, 1e9), (1e-2, 1e8), (1.0, 1e7)),
}
"""Per network, ``(latency s, bandwidth B/s)`` of the local, middle and global links. Fast:
every link alike (communication is a small part of the time); slow: global latency 100 times
the local one; very slow: 10^4 times."""

LINK_NAMES = ("local", "middle", "global")
LOCAL_PERIODS = (1, 2, 5)
GLOBAL_PERIODS = (10, 20, 50)
GROUP_COUNTS = (2, 4, 8, 16)
THREE_LEVEL = (((1, 2, 10), (8, 2)), ((1, 5, 20), (16, 4)), ((1, 5, 50), (8, 2)), ((2, 10, 50), (16, 4)))
QUICK_DESIGNS = (((1,), ()), ((2,), ()), ((10,), ()), ((1, 10), (4,)), ((2, 10), (8,)), ((1, 10), (16,)),
                 ((1, 2, 10), (8, 2)))


def designs_for(n: int, quick: bool = False) -> list[Shape]:
    """The designs compared, for ``n`` workers (at least 16): two-level ``I`` in (1, 2, 5), ``G`` in
    (10, 20, 50), ``N`` in (2, 4, 8, 16); four three-level designs; local SGD at every ``I`` and ``G``
    (``P = 1`` is minibatch SGD). ``quick``: seven designs of every kind.

    Example:
        >>> len(designs_for(32)), len(designs_for(32, quick=True))
        (46, 7)
    """
    if quick:
        return [Shape(n, p, g) for p, g in QUICK_DESIGNS]
    two = [Shape(n, (I, G), (N,)) for I in LOCAL_PERIODS for G in GLOBAL_PERIODS for N in GROUP_COUNTS]
    three = [Shape(n, p, g) for p, g in THREE_LEVEL]
    one = [Shape(n, (P,)) for P in sorted(set(LOCAL_PERIODS) | set(GLOBAL_PERIODS))]
    return one + two + three


def regime_cost(regime: str, M: int) -> Any:
    """The cost model a design of ``M`` levels pays on network ``regime``: the global link for
    one level, local and global for two, local, middle and global for three.

    Example:
        >>> [l.name for l in regime_cost("slow global", 2).levels]
        ['local', 'global']
        >>> regime_cost("dial-up", 1)
        Traceback (most recent call last):
        ValueError: regime must be one of fast global, slow global, very slow global, got 'dial-up'
    """
    from empirical.cost import CostModel, LinkCost

    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {', '.join(REGIMES)}, got {regime!r}")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or not 1 <= M <= 3:
        raise ValueError(f"M must be 1, 2 or 3 (levels of the design), got {M!r}")
    which = {1: (2,), 2: (0, 2), 3: (0, 1, 2)}[int(M)]
    links = REGIMES[regime]
    return CostModel([LinkCost(*links[i], LINK_NAMES[i]) for i in which], compute=COMPUTE)


def _pairs(predicted: Sequence[float], measured: Sequence[float | None]) -> tuple[list[float], list[float | None]]:
    predicted, measured = list(predicted), list(measured)
    if len(predicted) != len(measured):
        raise ValueError(f"predicted and measured must have the same length, got {len(predicted)} and {len(measured)}")
    for name, values in (("predicted", predicted), ("measured", [m for m in measured if m is not None])):
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v) \
                    or v < 0:
                raise ValueError(f"{name} times must be finite non-negative numbers (None: not reached), got {v!r}")
    return [float(p) for p in predicted], [None if m is None else float(m) for m in measured]


def rank_agreement(predicted: Sequence[float], measured: Sequence[float | None], *,
                   not_reached_last: bool = False) -> float | None:
    """Spearman's rank correlation of predicted against measured times.

    By default over the designs reached only (``measured`` not ``None``); with
    ``not_reached_last`` every design, those not reached ranked last and tied. ``None`` when
    fewer than three designs count or either side is constant (no correlation is defined).

    Example:
        >>> rank_agreement([1, 2, 3, 9], [0.1, 0.2, 0.3, None])
        1.0
        >>> rank_agreement([1, 2, 3], [0.3, 0.2, 0.1])
        -1.0
        >>> rank_agreement([1, 2], [0.1, 0.2]) is None
        True
    """
    from scipy.stats import spearmanr

    predicted, measured = _pairs(predicted, measured)
    if not_reached_last:
        xs, ys = predicted, [math.inf if m is None else m for m in measured]
    else:
        kept = [(p, m) for p, m in zip(predicted, measured) if m is not None]
        xs, ys = [p for p, _ in kept], [m for _, m in kept]
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    ranks_y = ys
    if not_reached_last and any(math.isinf(y) for y in ys):  # spearmanr ranks inf last, ties averaged
        finite = max((y for y in ys if math.isfinite(y)), default=0.0)
        ranks_y = [finite + 1.0 if math.isinf(y) else y for y in ys]
    rho = float(spearmanr(xs, ranks_y).statistic)
    return rho if math.isfinite(rho) else None


def chosen_over_best(predicted: Sequence[float], measured: Sequence[float | None]) -> float | None:
    """Measured time of the bound's choice (smallest predicted time; the first on a tie) over
    the best measured time; ``None`` when the choice or every design did not get there.
    At least 1 whenever defined.

    Example:
        >>> chosen_over_best([1, 2, 3], [0.3, 0.1, None])
        3.0
        >>> chosen_over_best([1, 2], [None, 0.1]) is None
        True
    """
    predicted, measured = _pairs(predicted, measured)
    if not predicted:
        raise ValueError("predicted must list at least one design")
    chosen = measured[int(np.argmin(predicted))]
    reached = [m for m in measured if m is not None]
    if chosen is None or not reached:
        return None
    best = min(reached)
    return 1.0 if chosen == best else (chosen / best if best > 0 else math.inf)


def oracle_rank(predicted: Sequence[float], measured: Sequence[float | None]) -> int | None:
    """Where the measured best design stands in the bound's ranking: 1 when it is the bound's
    choice, ``k`` when ``k - 1`` designs come before it (predicted faster, or as fast and listed
    earlier, as :func:`chosen_over_best` breaks ties); ``None`` when no design got there.

    Example:
        >>> oracle_rank([1, 2, 3], [0.3, 0.1, None])
        2
    """
    predicted, measured = _pairs(predicted, measured)
    reached = [(m, i) for i, m in enumerate(measured) if m is not None]
    if not reached:
        return None
    best = min(reached)[1]
    return 1 + sum(p < predicted[best] or (p == predicted[best] and j < best) for j, p in enumerate(predicted))


@functools.lru_cache(maxsize=4)
def _problem(key: str) -> Any:
    from empirical.problems import HeterogeneousNonconvex

    if key not in PROBLEMS:
        raise ValueError(f"problem must be one of {', '.join(PROBLEMS)}, got {key!r}")
    return HeterogeneousNonconvex(**PROBLEMS[key]["params"])


def measure_design(problem_key: str, prediction: Prediction, target: float, seeds: int, max_steps: int,
                   first: int = 512) -> dict[str, Any]:
    """Simulate one design at its predicted step size until every seed reaches ``target``
    (horizon ``first``, doubled, at most ``min(predicted T, max_steps)``); per seed the first
    ``T`` with running average ``<= target`` or ``None``. A top-level function of picklable
    arguments, so a process pool or a Dask cluster can run it (:mod:`figures.executor`).

    Returns:
        ``{"seed_steps", "horizon", "diverged"}``; ``horizon`` is the last horizon simulated.
    """
    from figures.advise import measure

    if isinstance(first, bool) or not isinstance(first, int) or first < 1:
        raise ValueError(f"first must be a positive integer (first horizon), got {first!r}")
    problem = _problem(problem_key)
    cap = int(min(prediction.steps, max_steps))
    costless = regime_cost("fast global", prediction.design.M)  # steps only: any network will do
    horizon = min(first, cap)
    while True:
        outcome = measure(problem, [prediction], costless, target, seeds=seeds, max_steps=horizon)[0]
        if outcome.reached or outcome.diverged or horizon >= cap:
            return {"seed_steps": list(outcome.seed_steps), "horizon": outcome.horizon,
                    "diverged": outcome.diverged}
        horizon = min(2 * horizon, cap)


def time_with_final_aggregation(cost: Any, periods: Sequence[int], T: int, d: int) -> float:
    """``time(T)`` plus one top-level aggregation unless ``P_M`` divides ``T`` (the global
    model exists at ``T``).

    Example:
        >>> cost = regime_cost("slow global", 2)
        >>> from empirical.cost import run_time
        >>> extra = time_with_final_aggregation(cost, [1, 10], 19, 10) - run_time(cost, [1, 10], 19, 10)
        >>> round(extra, 9) == round(cost.aggregation_costs(2, 10)[-1], 9)
        True
        >>> time_with_final_aggregation(cost, [1, 10], 20, 10) == run_time(cost, [1, 10], 20, 10)
        True
    """
    from empirical.cost import run_time

    return run_time(cost, periods, T, d) + (0.0 if T % periods[-1] == 0 else cost.aggregation_costs(len(periods), d)[-1])


BAR = 1.5
"""Issue 12's bar: the advisor's choice within this factor of the measured best design's time."""


def within_bar(claim: str, chosen: Sequence[float | None] | None, best: Sequence[float | None] | None,
               bar: float = BAR) -> Any:
    """Is the chosen design's time within ``bar`` times the best one's? A statistical verdict
    (:mod:`figures.verdicts`) on the per-seed ratios ``chosen[s] / best[s]`` (seeds paired by
    index): yes when the upper end of their 95% Student-t interval is at most ``bar``, no when
    the lower end is above it, else undecided; not applicable when either did not get there on
    every seed, or with one seed.

    Example:
        >>> within_bar("c", [1.0, 1.1, 1.0], [1.0, 1.0, 1.0]).line()
        'c: yes (statistical): upper 95% CI of the per-seed ratio 1.18 <= 1.5 (mean 1.03)'
        >>> within_bar("c", [3.0, 3.3], [1.0, 1.1]).word
        'no'
        >>> within_bar("c", [None, 1.0], [1.0, 1.0]).word
        'not applicable'
    """
    from empirical.statistics import confidence_interval
    from figures.verdicts import NOT_APPLICABLE, STATISTICAL, Verdict

    if chosen is None or any(t is None for t in chosen):
        return Verdict(claim, None, NOT_APPLICABLE, "the choice did not reach the target on every seed within its "
                                                    "horizon")
    if best is None or any(t is None for t in best):
        return Verdict(claim, None, NOT_APPLICABLE, "no design reached the target on every seed")
    if len(chosen) != len(best):
        raise ValueError(f"chosen and best must list the same seeds, got {len(chosen)} and {len(best)}")
    if len(chosen) < 2:
        return Verdict(claim, None, NOT_APPLICABLE, "1 seed: no confidence interval can be formed")
    ratio = np.asarray(chosen, dtype=float) / np.asarray(best, dtype=float)
    mean, lo, hi = confidence_interval(ratio)
    if hi <= bar:
        return Verdict(claim, True, STATISTICAL, f"upper 95% CI of the per-seed ratio {hi:.3g} <= {bar:g} "
                                                 f"(mean {mean:.3g})", state="within")
    if lo > bar:
        return Verdict(claim, False, STATISTICAL, f"lower 95% CI of the per-seed ratio {lo:.3g} > {bar:g} "
                                                  f"(mean {mean:.3g})", state="beyond")
    return Verdict(claim, None, STATISTICAL, f"{bar:g} inside the 95% CI {lo:.3g} .. {hi:.3g} of the per-seed "
                                             f"ratio (mean {mean:.3g}): undecided", state="straddles")


def _geometric_mean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v > 0 and math.isfinite(v)]
    return float(np.exp(np.mean(np.log(values)))) if values else None


def _cell(problem: dict[str, Any], regime: str) -> dict[str, Any]:
    """Every design of one problem charged on one network, and the rank statistics."""
    from empirical.cost import run_time

    d = problem["params"]["d"]
    rows = []
    for r in problem["designs"]:
        cost = regime_cost(regime, len(r["periods"]))
        seed_times = [None if T is None else run_time(cost, r["periods"], T, d) for T in r["seed_steps"]]
        reached = all(t is not None for t in seed_times)
        rows.append({"name": r["name"], "periods": r["periods"], "groups": r["groups"],
                     "predicted_time": run_time(cost, r["periods"], r["predicted_steps"], d),
                     "measured_time": float(np.mean(seed_times)) if reached else None,
                     "seed_times": seed_times, "horizon_time": run_time(cost, r["periods"], r["horizon"], d)})
    predicted = [r["predicted_time"] for r in rows]
    measured = [r["measured_time"] for r in rows]
    choice = int(np.argmin(predicted))
    common_seeds = []
    for r in problem["designs"]:
        cost = regime_cost(regime, len(r["periods"]))
        steps = r["common"]["seed_steps"]
        common_seeds.append(None if any(T is None for T in steps) else
                            [time_with_final_aggregation(cost, r["periods"], T, d) for T in steps])
    common = [None if t is None else float(np.mean(t)) for t in common_seeds]
    own = problem["designs"][choice]
    own_cost = regime_cost(regime, len(own["periods"]))
    own_seeds = (None if measured[choice] is None else
                 [time_with_final_aggregation(own_cost, own["periods"], T, d) for T in own["seed_steps"]])
    own_time = None if own_seeds is None else float(np.mean(own_seeds))
    got = [i for i, t in enumerate(common) if t is not None]
    fastest = min(got, key=lambda i: common[i]) if got else None
    for r, t in zip(rows, common):
        r["common_step_measured_time"] = t
    if fastest is None or own_time is None or own_time <= common[fastest]:
        common_best_seeds = own_seeds
    else:
        common_best_seeds = common_seeds[fastest]
    reached = [i for i, m in enumerate(measured) if m is not None]
    best = min(reached, key=lambda i: measured[i]) if reached else None
    ratios = [predicted[i] / measured[i] for i in reached if measured[i] > 0]
    verdicts = {
        "choice_within_bar": within_bar(
            f"the bound's choice within {BAR:g}x of the measured best (at the bound's step sizes)",
            rows[choice]["seed_times"], None if best is None else rows[best]["seed_times"]).to_json(),
        "choice_within_bar_common_step": within_bar(
            f"the bound's choice within {BAR:g}x of the best design at one common step size",
            own_seeds, common_best_seeds).to_json(),
    }
    return {
        "problem": problem["name"], "regime": regime, "designs": rows, "n_designs": len(rows),
        "n_reached": len(reached), "not_reached": [rows[i]["name"] for i in range(len(rows)) if measured[i] is None],
        "spearman": rank_agreement(predicted, measured),
        "spearman_not_reached_last": rank_agreement(predicted, measured, not_reached_last=True),
        "choice": rows[choice]["name"], "choice_measured_time": measured[choice],
        "best_measured": None if best is None else rows[best]["name"],
        "best_measured_time": None if best is None else measured[best],
        "chosen_over_best_measured": chosen_over_best(predicted, measured),
        "best_measured_rank_in_bound": oracle_rank(predicted, measured),
        "best_measured_predicted_over_choice_predicted": None if best is None else predicted[best] / predicted[choice],
        "predicted_over_measured": {"geometric_mean": _geometric_mean(ratios),
                                    "min": min(ratios) if ratios else None, "max": max(ratios) if ratios else None},
        "common_step_size": {
            "gamma": problem["common_gamma"], "n_reached": len(got),
            "best": None if fastest is None else rows[fastest]["name"],
            "best_time": None if fastest is None else common[fastest],
            "choice_time_at_its_own_step_size": own_time,
            "chosen_over_best": (None if own_time is None or fastest is None
                                 else max(1.0, own_time / min(common[fastest], own_time))),
        },
        "verdicts": verdicts,
    }


def f11_data(quick: bool = False, *, executor: Executor | None = None, seeds: int | None = None,
             max_steps: int | None = None) -> dict[str, Any]:
    """Predict every design on both problems, simulate each once (on ``executor``, default this
    process), charge both under every network and compute the rank statistics (JSON).

    Args:
        quick: seven designs, 2 seeds, horizons up to 2048 steps (seconds); else 46 designs,
            4 seeds, up to 16384 steps. The common-step-size check: the same seeds, horizons up
            to a quarter of those.
        executor: where the simulations run (:func:`figures.executor.executor`); ``None`` for
            this process. The numbers do not depend on it.
        seeds, max_steps: override the mode's seeds and longest horizon.
    """
    from figures.advise import predict
    from figures.executor import InlineExecutor

    seeds = seeds if seeds is not None else (2 if quick else 4)
    max_steps = max_steps if max_steps is not None else (2048 if quick else 16384)
    for name, value in (("seeds", seeds), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    pool = executor if executor is not None else InlineExecutor()
    problems, jobs = {}, {}
    try:
        for key, spec in PROBLEMS.items():
            designs = designs_for(_problem(key).n, quick)
            predictions, constants = predict(_problem(key), designs, regime_cost("fast global", 3), spec["target"])
            problems[key] = {"name": key, "params": dict(spec["params"]), "target": spec["target"],
                             "constants": constants, "predictions": predictions}
            jobs[key] = [pool.submit(measure_design, key, p, spec["target"], seeds, max_steps) for p in predictions]
            gamma = next(p.gamma for p in predictions if p.design.periods == (1,))  # the bound's, for minibatch SGD
            problems[key]["common_gamma"] = gamma
            short = max(1, max_steps // 4)
            jobs[key + " common"] = [pool.submit(measure_design, key, replace(p, gamma=gamma, steps=short),
                                                 spec["target"], seeds, short, 64) for p in predictions]
        for key, problem in problems.items():
            rows = []
            for p, job, other in zip(problem.pop("predictions"), jobs[key], jobs[key + " common"]):
                m, c = job.result(), other.result()
                steps = m["seed_steps"]
                rows.append({"name": design_name(p.design), "periods": list(p.design.periods),
                             "groups": list(p.design.groups), "gamma": p.gamma, "gamma_max": p.gamma_max,
                             "bound_floor": p.floor, "eps": list(p.eps), "predicted_steps": p.steps,
                             "seed_steps": steps, "horizon": m["horizon"], "diverged": m["diverged"],
                             "measured_steps": (float(np.mean(steps)) if all(s is not None for s in steps)
                                                else None),
                             "common": c})
            problem["designs"] = rows
            gT = [r["gamma"] * r["measured_steps"] for r in rows if r["measured_steps"] is not None]
            problem["gamma_times_measured_steps"] = ({"min": min(gT), "median": float(np.median(gT)), "max": max(gT)}
                                                     if gT else None)
    finally:
        if executor is None:
            pool.shutdown()
    regimes = {name: {"links": [{"name": LINK_NAMES[i], "latency": a, "bandwidth": b}
                                for i, (a, b) in enumerate(links)], "compute": COMPUTE}
               for name, links in REGIMES.items()}
    cells = [_cell(problems[key], regime) for key in problems for regime in REGIMES]
    return {"quick": quick, "seeds": seeds, "max_steps": max_steps, "regimes": regimes, "problems": problems,
            "cells": cells}


REGIME_COLOURS = {"fast global": "tab:green", "slow global": "tab:orange", "very slow global": "tab:red"}


def _short(name: str) -> str:
    return (name.replace("H-SGD ", "").replace("minibatch SGD", "minibatch").replace("local SGD (P = ", "local P=")
            .replace(" = ", "=").replace("periods ", "P ").replace("groups ", "K "))


def draw_f11(data: dict[str, Any]):
    """Draw F11 from :func:`f11_data`'s output: per problem, predicted against measured time
    (log-log; open triangles: not reached, at the time of the horizon simulated, a lower
    bound on their measured time), and the rank statistics per problem and network."""
    plt = pyplot()
    problems = list(data["problems"])
    fig = plt.figure(figsize=(6.2 * len(problems) + 6.8, 8.4))
    grid = fig.add_gridspec(2, len(problems) + 1, width_ratios=[1.0] * len(problems) + [1.1],
                            height_ratios=[1.0, 1.35])
    axes = [fig.add_subplot(grid[:, i]) for i in range(len(problems))]
    top, bottom = fig.add_subplot(grid[0, -1]), fig.add_subplot(grid[1, -1])
    for ax, key in zip(axes, problems):
        lo, hi = math.inf, 0.0
        for cell in (c for c in data["cells"] if c["problem"] == key):
            colour = REGIME_COLOURS[cell["regime"]]
            rows = cell["designs"]
            got = [r for r in rows if r["measured_time"] is not None]
            missed = [r for r in rows if r["measured_time"] is None]
            for marker, depth in (("s", 1), ("o", 2), ("D", 3)):
                pts = [r for r in got if len(r["periods"]) == depth]
                ax.scatter([r["predicted_time"] for r in pts], [r["measured_time"] for r in pts], s=22,
                           marker=marker, color=colour, alpha=0.75, lw=0)
            if missed:
                ax.scatter([r["predicted_time"] for r in missed], [r["horizon_time"] for r in missed], s=30,
                           marker="^", facecolors="none", edgecolors=colour, lw=1)
            choice = next(r for r in rows if r["name"] == cell["choice"])
            ax.scatter([choice["predicted_time"]], [choice["measured_time"] or choice["horizon_time"]], s=160,
                       marker="*", color=colour, edgecolors="k", lw=0.8, zorder=5)
            if cell["best_measured"] is not None:
                best = next(r for r in rows if r["name"] == cell["best_measured"])
                ax.scatter([best["predicted_time"]], [best["measured_time"]], s=120, marker="o",
                           facecolors="none", edgecolors="k", lw=1.2, zorder=6)
            xs = [r["predicted_time"] for r in rows]
            ys = [r["measured_time"] or r["horizon_time"] for r in rows]
            lo, hi = min(lo, *xs, *ys), max(hi, *xs, *ys)
            k = cell["predicted_over_measured"]["geometric_mean"]
            rho = cell["spearman"]
            label = (f"{cell['regime']}: Spearman {'n/a' if rho is None else f'{rho:.2f}'}, "
                     f"{cell['n_reached']}/{cell['n_designs']} reached")
            if k is not None:
                grid = np.geomspace(min(xs), max(xs), 2)
                ax.plot(grid, grid / k, ls="--", lw=0.9, color=colour, label=label + f", predicted/measured {k:.3g}")
            else:
                ax.plot([], [], ls="--", color=colour, label=label)
        grid = np.geomspace(lo / 2, hi * 2, 2)
        ax.plot(grid, grid, ls=":", color="0.5", lw=0.9, label="y = x (guide only: the bound is an upper bound)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("predicted time to target, s (bound's T at its step size)")
        ax.set_ylabel("measured time to target, s (same step size, mean over seeds)")
        p = data["problems"][key]
        c = p["constants"]
        gT = p["gamma_times_measured_steps"]
        spread = "" if gT is None else f"; gamma x measured T: {gT['min']:.3g} .. {gT['max']:.3g}"
        ax.set_title(f"{key} (between {p['params']['between']:g}, within {p['params']['within']:g}, "
                     f"sigma {p['params']['sigma']:g}), target {p['target']:g}\nL = {c['L']:.3g}, F0 = {c['F0']:.3g}"
                     f"{spread};\n"
                     f"square: 1 level, circle: 2, diamond: 3; star: bound's choice; ringed: measured best;\n"
                     f"open triangle: not reached (at the horizon's time)", fontsize=8)
        ax.legend(fontsize=6.5, loc="upper left")
    cells = data["cells"]
    x = np.arange(len(cells))
    colours = [REGIME_COLOURS[c["regime"]] for c in cells]
    labels = [f"{c['problem']}\n{c['regime']}" for c in cells]
    rho = [c["spearman"] for c in cells]
    top.bar(x, [0.0 if r is None else r for r in rho], 0.6, color=colours, edgecolor="k", lw=0.5)
    for i, r in enumerate(rho):
        top.text(i, 0.02 if r is None or r >= 0 else r - 0.02, "n/a" if r is None else f"{r:.3f}", fontsize=7,
                 ha="center", va="bottom" if r is None or r >= 0 else "top")
    top.set_ylim(-1.05, 1.15)
    top.axhline(0, color="k", lw=0.6)
    top.set_xticks(x, [""] * len(cells))
    top.set_xlabel("problem, network (as below)")
    top.set_ylabel("Spearman's rho, predicted vs measured")
    top.set_title("rank agreement over the designs reached (at the bound's own step sizes)", fontsize=9)
    own = [c["chosen_over_best_measured"] for c in cells]
    common = [c["common_step_size"]["chosen_over_best"] for c in cells]
    bottom.bar(x - 0.2, [1.0 if r is None else r for r in own], 0.4, color=colours, edgecolor="k", lw=0.5,
               label="vs the best design at its own (bound's) step size")
    bottom.bar(x + 0.2, [1.0 if r is None else r for r in common], 0.4, color=colours, hatch="//", alpha=0.55,
               edgecolor="k", lw=0.5, label="vs the best design at one common step size (the bound's for minibatch)")
    bottom.axhline(1.5, color="k", ls="--", lw=0.8, label="1.5x the measured best")
    bottom.set_yscale("log")
    high = max([r for r in own + common if r is not None] + [2.0])
    bottom.set_ylim(0.8, high * 30)  # above the bars: the choices in words, and above them the legend
    for i, c in enumerate(cells):
        for dx, r in ((-0.2, own[i]), (0.2, common[i])):
            bottom.text(i + dx, (r or 1.0) * 1.05, "n/a" if r is None else f"{r:.2f}x", fontsize=6, ha="center",
                        va="bottom")
        bottom.text(i, high * 5.5, f"choice: {_short(c['choice'])}\nbest: {_short(c['best_measured'] or '-')}"
                    f" (#{c['best_measured_rank_in_bound']})\ncommon: {_short(c['common_step_size']['best'] or '-')}",
                    fontsize=5, ha="center", va="top")
    bottom.set_xticks(x, labels, fontsize=6.5, rotation=30, ha="right")
    bottom.set_xlabel("problem, network")
    bottom.set_ylabel("measured time of the bound's choice / best")
    bottom.set_title(f"the cost of trusting the bound (#k: the measured best's place in the bound's ranking)\n"
                     f"within {BAR:g}x of the best at the bound's step sizes: "
                     + tally([c["verdicts"]["choice_within_bar"] for c in cells], "cells", limit=40)
                     + f"\nwithin {BAR:g}x of the best at one common step size: "
                     + tally([c["verdicts"]["choice_within_bar_common_step"] for c in cells], "cells", limit=40),
                     fontsize=8)
    bottom.legend(fontsize=6, loc="upper center")
    fig.suptitle(f"F11: does the bound rank designs correctly? {len(data['cells'][0]['designs'])} designs, "
                 f"{data['seeds']} seeds, horizons up to {data['max_steps']:,} steps; bound: docs/theory.md §4.2 "
                 f"Theorem 2 (constants derived for this project)", fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: the verdicts on the 1.5x bar (chosen within 1.5x of the measured best), then per problem and network Spearman and
    the choice's measured time over the best's."""
    cells = data["cells"]
    parts = []
    for c in cells:
        rho = "n/a" if c["spearman"] is None else f"{c['spearman']:.3f}"
        own = c["chosen_over_best_measured"]
        common = c["common_step_size"]["chosen_over_best"]
        parts.append(f"{c['problem']}/{c['regime']}: Spearman {rho} over {c['n_reached']}/{c['n_designs']} reached, "
                     f"choice {_short(c['choice'])} at {'n/a' if own is None else f'{own:.2f}x'} the measured best "
                     f"({'n/a' if common is None else f'{common:.2f}x'} at one common step size)")
    return (f"F11 (the bound's predicted vs measured time to target): choice within {BAR:g}x of the measured best "
            f"{tally([c['verdicts']['choice_within_bar'] for c in cells], 'problem/network cells')}; "
            f"of the best at one common step size "
            f"{tally([c['verdicts']['choice_within_bar_common_step'] for c in cells], 'cells')}; "
            + "; ".join(parts))


def build_f11(out_dir: str | Path, quick: bool = False, executor: Executor | None = None) -> list[Path]:
    """Compute, draw and save F11 (``f11_ranking.png/.pdf/.json``) into ``out_dir``; the
    simulations run on ``executor`` (default this process)."""
    from figures.io import publish

    data = f11_data(quick, executor=executor)
    return publish(draw_f11(data), data, Path(out_dir) / "f11_ranking")
