"""A seeded adversarial search against Theorem S (docs/theory.md §9, derived for this project).

Theorem S allows larger step sizes than Theorem 2 (``gamma^2 L^2 kappa_l < 1`` instead of
``4 gamma^2 L^2 sum_l P_l (P_l - 1) <= 1``) and has constants up to 8 times smaller, so it is
the statement most at risk of being wrong. This search tries to break it where it is tightest:
the kink heterogeneity construction (:mod:`empirical.studies.witnesses`), over the level, the period,
the step size as a fraction of *Theorem S's* largest one (``min(1/L, 1/(L sqrt(kappa_max)))``)
and the kink offset ``c``, keeping every exactly periodic orbit (attracting or not: the theorem
holds for every start). A periodic orbit's average is the average over any ``T`` that is a
multiple of the top period, so it is compared with the bound's ``T -> inf`` limit (``F0``'s term
dropped, which only lowers the bound): a ratio above 1 would be a counterexample.

For each orbit it reports ``measured / S`` (``alpha``, ``beta`` optimised) and ``measured / S'``
(the recursion at the same ``alpha``, ``beta``, never above S).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bounds.theorems.recursion import THEOREM_S_PRIME
from bounds.theorems.sharp import THEOREM_S, kappa_of
from empirical.problems.witness import KinkProblem
from empirical.studies.witnesses import _hierarchy, kink_orbits

__all__ = ["sharp_edge", "orbit_ratios", "adversarial_search"]


def sharp_edge(periods: tuple[int, ...], L: float = 1.0) -> float:
    """Theorem S's largest step size: ``gamma L <= 1`` and ``gamma^2 L^2 kappa_l < 1`` (just below)."""
    kappa = float(max(kappa_of(P) for P in periods))
    limit = 1.0 / L if kappa <= 1 else 1.0 / (L * math.sqrt(kappa))
    return float(np.nextafter(limit, 0.0)) if kappa > 1 else limit


def orbit_ratios(level: int, P: int, frac: float, cmul: float, *, e: float = 1.0, L: float = 1.0) -> list[dict[str, Any]]:
    """Every periodic orbit of the kink construction at ``gamma = frac * sharp_edge``, with
    ``measured / S`` and ``measured / S'`` (``T -> inf``)."""
    hierarchy = _hierarchy("kink_heterogeneity", level, P, 4)
    gamma = frac * sharp_edge(hierarchy.periods, L)
    c = -cmul * gamma * L * e * (P - 1) / 2
    problem = KinkProblem(b=[e, -e, e, -e] if level == 1 else [e, e, -e, -e], c=c, L=L, a=1e6 * (e + abs(c) + 1) / L)
    k = problem.constants(hierarchy.levels)
    eps = [x.value for x in k.eps_levels]
    bound = hierarchy.shape.bound(THEOREM_S)
    values = dict(gamma=gamma, L=L, sigma=0.0, n=4, T=1, F0=0.0, eps=eps)
    opt = bound.optimise(**values)
    recursion = hierarchy.shape.bound(THEOREM_S_PRIME).evaluate(strict=False, **dict(values, T=hierarchy.periods[-1]),
                                                                **opt.values)
    out = []
    for orbit in kink_orbits(problem, hierarchy, gamma):
        out.append({"level": level, "P": P, "frac": frac, "cmul": cmul, "gamma": gamma, "x0": orbit["x0"],
                    "derivative": orbit["derivative"], "measured": orbit["measured"],
                    "ratio_sharp": orbit["measured"] / opt.value, "ratio_recursion": orbit["measured"] / recursion})
    return out


def adversarial_search(*, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Random starts then :func:`scipy.optimize.differential_evolution` per (level, P), maximising
    ``measured / S`` over ``(frac, cmul)``; returns the worst orbit found and how many were tried.

    Example:
        >>> result = adversarial_search(quick=True)
        >>> result["worst"]["ratio_sharp"] <= 1.0, result["orbits"] > 50
        (True, True)
    """
    from scipy.optimize import differential_evolution

    worst: dict[str, Any] | None = None
    worst_recursion: dict[str, Any] | None = None
    tried = 0
    periods = (2, 3, 5) if quick else (2, 3, 4, 5, 8, 10, 16)
    for level in (1, 2):
        for P in periods:
            found: list[dict[str, Any]] = []

            def objective(v: np.ndarray) -> float:
                orbits = orbit_ratios(level, P, float(v[0]), float(v[1]))
                found.extend(orbits)
                return -max((o["ratio_sharp"] for o in orbits), default=0.0)

            differential_evolution(objective, [(0.02, 1.0), (0.5, 1.5)], rng=seed, popsize=3 if quick else 8,
                                   maxiter=1 if quick else 8, tol=0, polish=False, init="sobol")
            tried += len(found)
            for o in found:
                if worst is None or o["ratio_sharp"] > worst["ratio_sharp"]:
                    worst = o
                if worst_recursion is None or o["ratio_recursion"] > worst_recursion["ratio_recursion"]:
                    worst_recursion = o
    return {"worst": worst, "worst_recursion": worst_recursion, "orbits": tried, "seed": seed, "quick": quick}
