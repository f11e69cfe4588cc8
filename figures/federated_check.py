"""The sandwich checker with data-size weights and partial participation (docs/theory.md §10).

:func:`run_federated_check` is :func:`figures.checker.run_check`'s counterpart under Theorems W
and P (derived for this project, not in the paper): the same three runs (local SGD with
period ``P_1``, H-SGD, local SGD with period ``P_M``), the same weights and the same sampling for
all three, and the same :class:`figures.checker.CheckResult`, so ``hsgd check`` prints and draws
it in the same way.

* The local SGD runs share H-SGD's sampling (``S`` workers of every level-1 group per round):
  they run as H-SGD with every period equal to ``P_1`` (or ``P_M``), where only the global
  aggregation ever happens, and their bound is docs/theory.md §10.4's local SGD on the same
  sampled system (one level, noise share ``1 - omega``, ``eps^2 = sum_l eps_l^2``, the same
  ``omega`` and ``eps_S``).
* Constants: at full participation the problem's own (weighted) constants for the grouping;
  with participation, the sampled system's are **estimated**: the suprema over the points of a
  pilot trajectory (:func:`empirical.smoothness.pilot_trajectory`), averaged over random samples
  (:func:`empirical.federated.estimated_sampled_constants`), and labelled so; every bound
  verdict then says "not applicable". Exact constants for such runs exist for x-independent
  offsets (:func:`empirical.federated.offset_constants`, the battery of docs/theory.md §10.5).
* Verdicts: the step-size condition exactly; each bound against its run (95% CI over seeds);
  the ordering of the three bounds exactly (the init and noise terms are common, and
  ``(sqrt D + eps_S)^2`` increases with ``D``, so the order is that of the ``D``'s, decided in
  rationals); the measured sandwich on paired per-seed differences. Corollary 1's random-grouping
  position is not evaluated here (docs/theory.md §10.4 says when it holds).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from bounds.federated import (FederatedInstance, exact_divergence_part, federated_condition, federated_terms,
                              largest_step_size, participation_shares)
from empirical.engine import simulate
from empirical.federated import estimated_sampled_constants
from empirical.hierarchy import Hierarchy, multi_level
from empirical.statistics import confidence_band, confidence_interval
from figures.checker import NAMES, RUNS, CheckResult
from figures.executor import executor
from figures.verdicts import (EXACT, NOT_APPLICABLE, Verdict, all_hold, bound_holds, estimated_constants,
                              sandwich_order)

__all__ = ["run_federated_check", "participation_count"]


def participation_count(fraction: float, hierarchy: Hierarchy) -> int:
    """``S`` for a participation ``fraction`` in ``(0, 1]``: that share of the smallest level-1
    group, rounded, at least 1."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"participation must be a fraction in (0, 1], got {fraction!r}")
    first = hierarchy.levels[0] if hierarchy.levels else np.zeros(hierarchy.n, dtype=np.intp)
    smallest = int(np.bincount(first).min())
    return max(1, int(round(fraction * smallest)))


def _equal_period(h: Hierarchy, P: int) -> Hierarchy:
    """``h``'s grouping with every period ``P``: local SGD with period ``P`` and ``h``'s sampling."""
    return multi_level(h.n, [P] * h.M, list(h.group_counts[1:-1]), grouping=[lab for lab in h.levels])


def run_federated_check(problem: Any, hierarchy: Hierarchy, *, weights: Any = None, participation: int | None = None,
                        lr: float | None = None, steps: int | None = None, seeds: int = 8, seed: int = 0,
                        workers: int | None = 1, samples: int = 32,
                        progress: Callable[[str], Any] | None = None) -> CheckResult:
    """The three runs with ``weights`` and ``participation`` against Theorem P (module docstring).

    Args:
        problem, hierarchy: as for :func:`figures.checker.run_check` (at least two levels).
        weights: ``p_j``; ``None`` for the problem's own (a partitioned problem's data sizes) or equal.
        participation: ``S`` workers per level-1 group and round, or ``None`` for everyone.
        lr: step size; default the largest Theorem 2's condition allows at the problem's ``L``.
        steps, seeds, seed, workers: as for :func:`figures.checker.run_check`.
        samples: random samples the estimated sampled-system constants average over.
        progress: optional callback told each stage's name.
    """
    h = hierarchy
    if h.M < 2:
        raise ValueError("the checker needs a hierarchy with at least two levels (H-SGD)")
    T = 3000 if steps is None else steps
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"steps must be a positive integer, got {T!r}")
    if weights is None and getattr(problem, "weights", None) is not None:
        weights = problem.weights
    say = progress or (lambda stage: None)
    say("constants")
    c = problem.constants(h.levels)
    L, sigma = c.L.value, c.sigma.value
    F0 = float(problem.loss(np.asarray(problem.default_x0(), dtype=float))) - c.f_star.value
    shares = participation_shares(weights, h.levels, problem.n, participation)
    if participation is None:
        eps_levels = [e.value for e in c.eps_levels]
        eps_labels = [e.label for e in c.eps_levels]
        eps_sample, sample_label = 0.0, "exact (full participation)"
    else:
        est = estimated_sampled_constants(problem, h.levels, weights, participation, L=L, samples=samples, seed=seed)
        eps_levels, eps_sample = list(est.eps), est.eps_sample
        eps_labels = [est.label] * len(eps_levels)
        sample_label = est.label
    periods = tuple(h.periods)
    if lr is None:
        lr = largest_step_size(L, periods)
        rule = "the largest step size allowed by H-SGD's condition (docs/theory.md §4.2, shared by §10)"
    else:
        rule = "given"
    omega = float(shares.omega)
    total_eps = math.sqrt(sum(e * e for e in eps_levels))
    common = dict(gamma=lr, L=L, sigma=sigma, F0=max(F0, 0.0), T=T, omega=omega, eps_sample=eps_sample)
    instances = {
        "local_I": FederatedInstance(periods=(periods[0],), shares=(1 - omega,), eps=(total_eps,), **common),
        "hsgd": FederatedInstance(periods=periods, shares=tuple(float(s) for s in shares.shares), eps=tuple(eps_levels),
                                  **common),
        "local_G": FederatedInstance(periods=(periods[-1],), shares=(1 - omega,), eps=(total_eps,), **common),
    }
    runs = {"local_I": _equal_period(h, periods[0]), "hsgd": h, "local_G": _equal_period(h, periods[-1])}
    with executor(workers) as pool:
        futures = {name: pool.submit(simulate, problem, hier, lr=lr, steps=T, seeds=seeds, seed=seed,
                                     weights=weights, participation=participation) for name, hier in runs.items()}
        say("bounds")
        own = {k: federated_terms(x)["total"] for k, x in instances.items()}
        results = {name: futures[name].result() for name in RUNS}
    for name in RUNS:
        if results[name].diverged:
            raise ValueError(f"the {name} run diverged at step {results[name].diverged['step']}, seed "
                             f"{results[name].diverged['seed']}: lower lr")
    labels = {"L": c.L.label, "sigma": c.sigma.label, "eps": eps_labels[0], "eps_levels": eps_labels,
              "f_star": c.f_star.label, "eps_sample": sample_label}
    estimated = estimated_constants(labels)
    if "estimated" in sample_label.split()[0] and "eps_sample" not in estimated:
        estimated = [*estimated, "eps_sample"]
    condition = Verdict("step-size condition (docs/theory.md §4.2, shared by §10)", None, NOT_APPLICABLE,
                        "L is estimated, not certified") if "L" in estimated else Verdict(
        "step-size condition (docs/theory.md §4.2, shared by §10)", federated_condition(instances["hsgd"]), EXACT,
        f"gamma = {lr:.6g}, L = {L:.6g}, periods {list(periods)}")
    averages = {name: r.average_grad_norm_sq() for name, r in results.items()}
    deterministic = sigma == 0 and participation is None and all(np.all(a == a[0]) for a in averages.values())
    valid = {k: bound_holds(averages[k], own[k], condition=condition, estimated=estimated,
                            deterministic=deterministic, name=NAMES[k]) for k in RUNS}
    D = {k: exact_divergence_part(x) for k, x in instances.items()}
    ordered_claim = "Theorem P bounds ordered, this grouping's constants (Corollary 0, docs/theory.md §10.4)"
    if estimated:
        ordering = Verdict(ordered_claim, None, NOT_APPLICABLE,
                           "the bounds rest on estimated constants (" + ", ".join(estimated) + ")")
    else:
        ok = D["local_I"] <= D["hsgd"] <= D["local_G"]
        ordering = Verdict(ordered_claim, ok, EXACT, "decided on the divergence parts D in rationals "
                           "(the other terms are common and (sqrt D + eps_S)^2 increases with D)")
    verdicts = {
        "condition_holds": condition,
        "bound_valid": all_hold("every bound >= its measured average (upper 95% CI)",
                                {NAMES[k]: v for k, v in valid.items()}),
        "bound_sandwich": Verdict("bounds ordered, random grouping (Corollaries 1-2)", None, NOT_APPLICABLE,
                                  "with weights or partial participation Corollary 1's position is not evaluated "
                                  "here (docs/theory.md §10.4 says when it holds)"),
        "bound_sandwich_own_grouping": ordering,
        "empirical_sandwich": sandwich_order(averages["local_I"], averages["hsgd"], averages["local_G"],
                                             names=[NAMES[k] for k in RUNS]),
    }
    empirical = {}
    for name, avg in averages.items():
        mean, lo, hi = confidence_interval(avg)
        empirical[name] = {"mean": mean, "ci_low": lo, "ci_high": hi}
    counts = list(h.group_counts[1:-1])
    constants = {"L": L, "sigma": sigma, "eps": total_eps, "F0": F0, "f_star_lower_bound": c.f_star.value,
                 "eps_levels": eps_levels, "eps_sample": eps_sample, "omega": omega,
                 "noise_shares": [float(s) for s in shares.shares], "labels": labels, "estimated": estimated}
    if h.M == 2:
        constants.update(eps_g=eps_levels[1], eps_l=eps_levels[0])
    params = {"gamma": lr, "n": problem.n, "T": T, "seeds": seeds, "seed": seed, "theorem": "federated",
              "periods": list(periods), "groups": counts, "grouping": h.grouping,
              "weights": None if weights is None else [float(w) for w in np.asarray(weights, dtype=float)],
              "participation": participation}
    if h.M == 2:
        params.update(N=counts[0], I=periods[0], G=periods[-1])
    horizons = np.arange(1, T + 1)
    bound_curves = {"horizons": horizons}
    for k, x in instances.items():
        terms = federated_terms(x)
        bound_curves[k] = terms["total"] - terms["init"] + terms["init"] * x.T / horizons  # init is c F0/(gamma T)
    running = {name: r.running_avg for name, r in results.items()}
    return CheckResult(params=params, constants=constants, empirical=empirical, bound=own, bound_random_grouping=None,
                       verdicts=verdicts, gamma_rule=rule, hierarchy=h.describe() + (
                           "" if participation is None else f"; {participation} worker(s) per level-1 group per round"),
                       curves={k: v.mean(axis=0) for k, v in running.items()}, bound_curves=bound_curves,
                       curve_bands={k: confidence_band(v)[1:] for k, v in running.items()},
                       difference_curves={"hsgd - local_I": confidence_band(running["hsgd"] - running["local_I"]),
                                          "local_G - hsgd": confidence_band(running["local_G"] - running["hsgd"])})
