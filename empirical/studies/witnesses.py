"""Witnesses: instances that make one term of Theorem 2 bite, a seeded search, and the saved library.

docs/theory.md §4.2 Theorem 2 bounds the average ``(1/T) sum_{t<T} E||grad f(u^t)||^2`` by a sum of
terms: ``init`` ``2F0/(gamma T)``, ``noise`` ``gamma L sigma^2/n``, and per level ``l`` a noise
share ``2 gamma^2 L^2 (P_l-1)(K_{l-1}-K_l) sigma^2/n`` and a heterogeneity term
``2 gamma^2 L^2 (P_l-1)(2/3)(2P_l-1) eps_l^2``. A *witness* for a term is an instance (problem
with exact constants, hierarchy, step size inside the condition, start, horizon) where that term
is most of the bound and the measured value is a large fraction of it. The larger that
fraction, the smaller an error in the term's constant the toolkit can catch.

Families (docs/theory.md §7.4 Remark: witnesses; problems in :mod:`empirical.problems.witness`):

* ``kink_heterogeneity``: the kink problem, ``sigma = 0``, four workers in two groups.
  Level 1: ``b = (e, -e, e, -e)``, ``I = P``, ``G = 2P``; level 2: ``b = (e, e, -e, -e)``,
  ``I = 1``, ``G = P``. The start ``x0`` is solved so that the run is exactly
  ``P_M``-periodic (:func:`kink_orbits`), so the measured average is the orbit mean for
  every ``T`` (a multiple of ``P_M``): the ratio measured/term is its ``T -> inf`` limit.
  Only orbits that attract (return-map derivative below ``1 - STABILITY_MARGIN``) are kept:
  the others drift away in floating point.
* ``kink_noise``: the kink problem, ``eps = 0``, adaptive two-point noise. Level 1: ``d = 1``,
  ``N = 2`` groups, ``I = P``, ``G = 2P``; level 2: groups of 2, ``d = 2``, worker ``i`` of each
  group draws on axis ``i``, ``I = 1``, ``G = P``.
* ``quadratic``: ``f = (L/2) x^2`` at ``gamma = 1/L``, periods 1: from ``x0 != 0`` with
  ``sigma = 0`` the ``init`` witness (measured = bound exactly), from ``x0 = 0`` with one worker
  and Rademacher noise the ``noise`` witness (measured = ``(T-1)/T`` of the bound, exactly).

What is reported for each witness (:func:`evaluate_witness`):

* ``measured``: the mean over seeds of each seed's ``(1/T) sum_{t<T} ||grad f(u^t)||^2``, its
  standard error over seeds (0 for a deterministic run) and its Student-t 95% interval (the
  mean itself for one seed), **on fresh seeds**: the root seed ``entry["seed"] +``
  :data:`FRESH_SEED_OFFSET` (numpy ``SeedSequence`` streams independent of the search's), with
  :data:`FRESH_SEEDS` seeds for a noisy witness (``sigma > 0``). The search selects an instance
  on its own seeds (root ``entry["seed"]``; ``entry["search"]`` says how many), and a value
  measured on the seeds that selected it is biased upward (the level-1 noise witnesses at
  ``P = 2, 5`` measure 23% and 12% less on 64 fresh seeds than on the 8 seeds, four of them the
  search's, that the library used to report).
  A deterministic witness (``sigma = 0``: the kink heterogeneity witnesses and the init witness)
  measures the same value bit for bit on any seed, so for it nothing changes (nor for the
  quadratic noise witness, whose every seed measures ``(T-1)/T`` of the bound, and which no
  search selected);
* ``terms``: Theorem 2's terms (:func:`bounds.multi_level`'s ``evaluate_terms``) with each
  level split into its noise share and its heterogeneity; ``bound`` their sum;
* ``ratio_bound = measured / bound``: the whole bound at this ``T`` (the search maximises it);
* ``ratio_term = measured / term``: the witnessed term's share. For the kink witnesses the
  measured value does not depend on ``T`` (periodic orbit) and the other terms are 0 as
  ``T -> inf``, so this is the ``T -> inf`` limit docs/theory.md §7.4 quotes; for the noise shares
  it attributes the whole measured value to the share (the plain noise term
  ``gamma L sigma^2/n`` and the start's transient are included, both small at large ``n``).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from bounds.instance import theorem_condition, theorem_terms
from empirical.aggregation import SortedLevels
from empirical.engine import _schedule, simulate
from empirical.hierarchy import Hierarchy
from empirical.statistics import confidence_interval
from empirical.instances import instance_of
from empirical.problems.witness import KinkProblem, QuadraticProblem

__all__ = [
    "TERMS",
    "FAMILIES",
    "STABILITY_MARGIN",
    "build",
    "edge_step",
    "kink_orbits",
    "kink_witness",
    "noise_witness",
    "init_witness",
    "noise_term_witness",
    "bound_terms",
    "run_witness",
    "evaluate_witness",
    "search",
    "build_library",
    "remeasure_library",
    "FRESH_SEED_OFFSET",
    "FRESH_SEEDS",
    "save_witnesses",
    "load_witnesses",
    "DATA_PATH",
]

TERMS = ("init", "noise", "level_1_noise", "level_2_noise", "level_1_heterogeneity", "level_2_heterogeneity")
FAMILIES = ("kink_heterogeneity", "kink_noise", "quadratic")
STABILITY_MARGIN = 1e-3
"""An orbit is kept when its return map's derivative is at most ``1 - STABILITY_MARGIN``."""
DATA_PATH = Path(__file__).parents[1] / "data" / "witnesses.json"  # empirical/data/, with the others
FRESH_SEED_OFFSET = 10**6
"""Added to a witness's root seed for every value reported about it (:func:`run_witness`,
``hsgd power``'s confirmations): ``SeedSequence(seed + 10**6)`` spawns streams independent of
the ones ``SeedSequence(seed)`` gave the search."""
FRESH_SEEDS = 64
"""How many fresh seeds a noisy witness (``sigma > 0``) is measured on: at 64 the 95% interval
of every noise-share witness of the library is within 8% of its mean."""


# --------------------------------------------------------------------------- instances
def _level(value: Any) -> int:
    if value not in (1, 2) or isinstance(value, bool):
        raise ValueError(f"level must be 1 or 2, got {value!r}")
    return int(value)


def _period(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"P must be a positive integer, got {value!r}")
    return int(value)


def _hierarchy(family: str, level: int, P: int, n: int) -> Hierarchy:
    if family == "quadratic":
        return Hierarchy.local_sgd(n, P)
    if family == "kink_heterogeneity":
        labels = np.array([0, 0, 1, 1])
        return Hierarchy.two_level(4, 2, P, 2 * P, labels) if level == 1 else Hierarchy.two_level(4, 2, 1, P, labels)
    if level == 1:
        return Hierarchy.two_level(n, 2, P, 2 * P, "contiguous")
    return Hierarchy.two_level(n, n // 2, 1, P, "contiguous")


def build(spec: dict[str, Any]) -> tuple[Any, Hierarchy]:
    """The problem and hierarchy of a witness ``spec`` (an entry of the library, or its ``"instance"``).

    ``spec`` has ``family`` (one of :data:`FAMILIES`), ``P`` and ``problem`` (the family's
    parameters): ``kink_heterogeneity``: ``level, e, c, L, a``; ``kink_noise``:
    ``level, n, sigma, c, L, a``; ``quadratic``: ``n, L, sigma``.

    Example:
        >>> p, h = build({"family": "kink_heterogeneity", "P": 3,
        ...               "problem": {"level": 2, "e": 1.0, "c": -0.1, "L": 1.0, "a": 1.0}})
        >>> p.b[:, 0].tolist(), h.periods
        ([1.0, 1.0, -1.0, -1.0], (1, 3))
    """
    spec = spec.get("instance", spec)
    family = spec.get("family")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    P, q = _period(spec.get("P")), dict(spec.get("problem", {}))
    if family == "quadratic":
        n = int(q.get("n", 1))
        return QuadraticProblem(n=n, d=1, L=q["L"], sigma=q.get("sigma", 0.0)), _hierarchy(family, 0, P, n)
    level = _level(q.get("level"))
    if family == "kink_heterogeneity":
        e = float(q["e"])
        b = [e, -e, e, -e] if level == 1 else [e, e, -e, -e]
        return KinkProblem(b=b, c=q["c"], L=q["L"], a=q["a"]), _hierarchy(family, level, P, 4)
    n = int(q["n"])
    if level == 1:
        if n < 2:
            raise ValueError(f"n must be at least 2 for the level-1 noise witness, got {n}")
        problem = KinkProblem(b=np.zeros(n), c=q["c"], L=q["L"], a=q["a"], sigma=q["sigma"], noise="two_point",
                              reset_period=P)
    else:
        if n < 4 or n % 2:
            raise ValueError(f"n must be even and at least 4 for the level-2 noise witness, got {n}")
        problem = KinkProblem(b=np.zeros((n, 2)), c=q["c"], L=q["L"], a=q["a"], sigma=q["sigma"], noise="two_point",
                              axes=np.arange(n) % 2, reset_period=P)
    return problem, _hierarchy(family, level, P, n)


def edge_step(periods: Sequence[int], L: float = 1.0) -> float:
    """The largest float ``gamma`` Theorem 2's condition allows, *exactly*:
    ``min(1/L, 1/(2L sqrt(sum_l P_l(P_l-1))))`` computed in floats, then stepped down ulp by ulp
    until the condition holds in rationals (:func:`bounds.federated.largest_step_size`; the
    float formula alone can land a rounding above the limit, e.g. at ``L = 1``, periods
    ``(1, 3)``, where ``4 gamma^2 L^2 * 6`` exceeds 1).

    Example:
        >>> edge_step([1]), round(edge_step([2, 4]), 6)
        (1.0, 0.133631)
    """
    from bounds.federated import largest_step_size

    return largest_step_size(float(L), tuple(int(p) for p in periods))


def bound_terms(problem: Any, hierarchy: Hierarchy, gamma: float, T: int, x0: Sequence[float]) -> dict[str, float]:
    """Theorem 2's terms for this instance, each level split into its noise share and heterogeneity.

    ``F0 = f(x0) - f*`` with the problem's exact ``f*``; constants from
    ``problem.constants(hierarchy.levels)``. Keys: ``init``, ``noise``, ``level_l_noise``,
    ``level_l_heterogeneity`` for ``l = 1..M``.

    Raises:
        ValueError: when ``gamma`` is outside Theorem 2's step-size condition.
    """
    x, _ = instance_of(problem, hierarchy, gamma, T, x0)
    if not theorem_condition(x):
        raise ValueError(f"gamma = {gamma!r} is outside the condition of Theorem 2 (decided exactly) at periods {x.periods}")
    return theorem_terms(x)


# --------------------------------------------------------------------------- orbits
def _orbit_runs(problem: Any, hierarchy: Hierarchy, gamma: float, x0s: NDArray[np.float64],
                steps: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Deterministic runs from a batch of starts (the engine's update, batched along the starts):
    ``u`` before every step and after the last, ``(steps + 1, B)``, and each start's lowest worker
    coordinate, ``(B,)``."""
    levels = SortedLevels(hierarchy.levels, hierarchy.n, validate=False)
    schedule = _schedule(hierarchy.periods)
    x = np.empty((x0s.size, problem.n, problem.d))
    x[...] = x0s[:, None, None]
    g = np.empty_like(x)
    us = np.empty((steps + 1, x0s.size))
    lowest = x0s.copy()
    for t in range(steps):
        us[t] = x.mean(axis=1)[:, 0]
        g[...] = problem.worker_grads(x)
        g *= gamma
        x -= g
        lowest = np.minimum(lowest, x.min(axis=(1, 2)))
        level = schedule[(t + 1) % schedule.size]
        if level:
            levels.aggregate(x, level, work=g)
    us[steps] = x.mean(axis=1)[:, 0]
    return us, lowest


def kink_orbits(problem: KinkProblem, hierarchy: Hierarchy, gamma: float, *, grid: int = 2001,
                span: float | None = None) -> list[dict[str, float]]:
    """Every ``P_M``-periodic orbit of a deterministic kink run: ``u^{P_M} = x0``.

    After a global average every worker sits at ``u``, so the state is one number and an orbit
    is a fixed point of the return map ``x0 -> u^{P_M}``. The map is scanned on ``grid``
    starts in ``[-span, span]`` and each sign change of ``u^{P_M} - x0`` refined by Brent's
    method. For each orbit: ``x0``, the return map's ``derivative`` (central difference;
    below 1 the orbit attracts, above 1 it repels and a float run drifts off it), the orbit
    mean of ``||grad f(u^t)||^2`` (``measured``) and the lowest worker coordinate (``lowest``).
    """
    from scipy.optimize import brentq

    if problem.d != 1 or problem.sigma != 0:
        raise ValueError("problem must be a deterministic one-dimensional kink problem (sigma = 0, d = 1)")
    top = hierarchy.periods[-1]
    if span is None:
        span = 4.0 * gamma * float(np.abs(problem.b).max()) * top + 3.0 * abs(problem.c) / problem.L + 1e-12
    xs = np.linspace(-span, span, grid)
    us, _ = _orbit_runs(problem, hierarchy, gamma, xs, top)
    gap = us[-1] - xs

    def return_gap(z: float) -> float:
        return float(_orbit_runs(problem, hierarchy, gamma, np.array([z]), top)[0][-1, 0] - z)

    orbits = []
    for i in np.nonzero(np.sign(gap[:-1]) * np.sign(gap[1:]) < 0)[0]:
        z = brentq(return_gap, xs[i], xs[i + 1], xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)
        h = 1e-6 * span
        ends, _ = _orbit_runs(problem, hierarchy, gamma, np.array([z - h, z + h]), top)
        derivative = float((ends[-1, 1] - ends[-1, 0]) / (2 * h))
        u, lowest = _orbit_runs(problem, hierarchy, gamma, np.array([z]), top)
        grads = problem.grad(u[:-1, :1])[:, 0]
        orbits.append(dict(x0=float(z), derivative=derivative, measured=float(np.mean(grads * grads)),
                           lowest=float(lowest[0])))
    return orbits


def _horizon(term: float, init_per_T: float, top: int, share: float = 0.1, minimum: int = 8) -> int:
    """The smallest multiple of ``top`` (at least ``minimum`` periods) where ``init <= share * term``."""
    need = init_per_T / (share * term) if term > 0 else 0.0
    return top * max(minimum, int(math.ceil(need / top)))


def kink_witness(level: int, P: int, frac: float, cmul: float, *, e: float = 1.0, L: float = 1.0,
                 stable: bool = True) -> dict[str, Any] | None:
    """A heterogeneity witness from the construction: step ``frac`` times the edge step,
    ``c = -cmul gamma L e (P-1)/2``, ``x0`` on the best periodic orbit (the best attracting one
    when ``stable``), the turn-around ``a`` just outside the orbit (5% beyond its lowest worker
    coordinate; ``f*`` stays exact and ``F0`` small), and ``T`` the smallest multiple of ``P_M``
    (at least 8 periods) where ``init <= term/10``. ``None`` when no such orbit exists.

    Example:
        >>> w = kink_witness(1, 5, 0.25, 1.0)
        >>> w["instance"]["family"], round(w["orbit"]["ratio_term"], 3)
        ('kink_heterogeneity', 0.081)
    """
    level, P = _level(level), _period(P)
    if not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1] (a fraction of the edge step), got {frac!r}")
    spec = {"family": "kink_heterogeneity", "P": P, "problem": {"level": level, "e": float(e), "L": float(L)}}
    hierarchy = _hierarchy("kink_heterogeneity", level, P, 4)
    gamma = frac * edge_step(hierarchy.periods, L)
    c = -cmul * gamma * L * e * (P - 1) / 2
    wide = 1e6 * (abs(e) + abs(c) + 1.0) / L   # turn-around out of reach while solving
    problem = KinkProblem(b=[e, -e, e, -e] if level == 1 else [e, e, -e, -e], c=c, L=L, a=wide)
    orbits = kink_orbits(problem, hierarchy, gamma)
    keep = [o for o in orbits if not stable or o["derivative"] <= 1 - STABILITY_MARGIN]
    if not keep:
        return None
    best = max(keep, key=lambda o: o["measured"])
    a = 1.05 * max(0.0, -best["lowest"]) + 1e-9 * abs(e) * gamma
    spec["problem"].update(c=float(c), a=float(a))
    problem, hierarchy = build(spec)
    term_name = f"level_{level}_heterogeneity"
    per_T = bound_terms(problem, hierarchy, gamma, 1, [best["x0"]])
    T = _horizon(per_T[term_name], per_T["init"], hierarchy.periods[-1])
    terms = bound_terms(problem, hierarchy, gamma, T, [best["x0"]])
    bound = sum(terms.values())
    return {"term": term_name, "instance": spec, "gamma": float(gamma), "x0": [best["x0"]], "T": T, "seeds": 1,
            "seed": 0, "periods": list(hierarchy.periods), "groups": [lab.tolist() for lab in hierarchy.levels],
            "orbit": {"derivative": best["derivative"], "stable": best["derivative"] <= 1 - STABILITY_MARGIN,
                      "measured": best["measured"], "ratio_term": best["measured"] / terms[term_name],
                      "ratio_bound": best["measured"] / bound}}


def noise_witness(level: int, P: int, frac: float, cmul: float, x0_scale: float, *, n: int = 2000,
                  sigma: float = 1.0, L: float = 1.0, seeds: int = 8, seed: int = 0, min_periods: int = 20,
                  turn: float = 1.2) -> dict[str, Any]:
    """A noise-share witness from the construction: step ``frac`` times the edge step, ``c =
    -cmul gamma L s mean_{k<P} sqrt(k)`` with ``s`` the per-axis size of the displacement at the
    witnessed level (``sigma`` at level 1, ``sigma/2`` at level 2), start ``x0 = x0_scale gamma s``
    (on every axis), turn-around ``a = turn gamma s sqrt(P)`` (just outside the displacements'
    reach, so ``F0`` stays small), and ``T`` the smallest multiple of ``P_M`` (at least
    ``min_periods`` periods) where ``init <= term/10``.

    Example:
        >>> w = noise_witness(1, 2, 0.25, 1.0, 0.5, n=8, seeds=2)
        >>> w["term"], w["T"], w["instance"]["problem"]["n"]
        ('level_1_noise', 476, 8)
    """
    level, P = _level(level), _period(P)
    if not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1] (a fraction of the edge step), got {frac!r}")
    hierarchy = _hierarchy("kink_noise", level, P, n)
    gamma = frac * edge_step(hierarchy.periods, L)
    s = sigma if level == 1 else sigma / 2
    c = -cmul * gamma * L * s * float(np.mean(np.sqrt(np.arange(P))))
    a = turn * gamma * s * math.sqrt(P)
    spec = {"family": "kink_noise", "P": P,
            "problem": {"level": level, "n": int(n), "sigma": float(sigma), "c": float(c), "L": float(L), "a": float(a)}}
    d = 1 if level == 1 else 2
    x0 = [float(x0_scale * gamma * s)] * d
    problem, hierarchy = build(spec)
    term_name = f"level_{level}_noise"
    per_T = bound_terms(problem, hierarchy, gamma, 1, x0)
    T = _horizon(per_T[term_name], per_T["init"], hierarchy.periods[-1], minimum=min_periods)
    return {"term": term_name, "instance": spec, "gamma": float(gamma), "x0": x0, "T": T,
            "seeds": int(seeds), "seed": int(seed), "periods": list(hierarchy.periods),
            "groups": [lab.tolist() for lab in hierarchy.levels] if n <= 64 else "contiguous"}


def init_witness(T: int = 10, L: float = 1.0, x0: float = 1.0) -> dict[str, Any]:
    """``f = (L/2) x^2``, ``gamma = 1/L``, one worker, period 1, ``sigma = 0``: ``u^1 = 0``, so the
    measured average is ``L^2 x0^2 / T``, exactly Theorem 2's ``2F0/(gamma T)`` (the tight case)."""
    return {"term": "init", "instance": {"family": "quadratic", "P": 1, "problem": {"n": 1, "L": float(L), "sigma": 0.0}},
            "gamma": 1.0 / L, "x0": [float(x0)], "T": int(T), "seeds": 1, "seed": 0, "periods": [1], "groups": []}


def noise_term_witness(T: int = 1000, L: float = 1.0, sigma: float = 1.0) -> dict[str, Any]:
    """``f = (L/2) x^2`` at its minimiser, ``gamma = 1/L``, one worker, Rademacher noise: every
    ``u^t = -xi/L`` (``t >= 1``), so the measured average is ``(T-1)/T sigma^2``, and the bound is
    ``gamma L sigma^2/n = sigma^2``: ratio ``(T-1)/T``, deterministic."""
    return {"term": "noise", "instance": {"family": "quadratic", "P": 1,
                                          "problem": {"n": 1, "L": float(L), "sigma": float(sigma)}},
            "gamma": 1.0 / L, "x0": [0.0], "T": int(T), "seeds": 4, "seed": 0, "periods": [1], "groups": []}


# --------------------------------------------------------------------------- measuring
def _noisy(entry: dict[str, Any]) -> bool:
    """Whether a witness has noise (``sigma > 0``): its measured value depends on the seeds."""
    spec = entry.get("instance", entry)
    return float(spec.get("problem", {}).get("sigma", 0.0)) > 0


def run_witness(entry: dict[str, Any], *, T: int | None = None, seeds: int | None = None,
                seed: int | None = None) -> dict[str, float]:
    """Re-run a witness with the project's engine and return the measured statistics.

    By default on **fresh seeds**, never the ones the search selected the witness on: the root
    seed ``entry["seed"] +`` :data:`FRESH_SEED_OFFSET` and, for a noisy witness,
    :data:`FRESH_SEEDS` seeds (a deterministic one keeps ``entry["seeds"]``: every seed gives
    the same value).

    Args:
        entry: a library entry (or the dict a ``*_witness`` constructor returns).
        T, seeds: override the horizon and the number of seeds (quick re-runs).
        seed: override the root seed (the search passes ``entry["seed"]``: its own seeds).

    Returns:
        ``{"mean", "se", "ci_low", "ci_high", "T", "seeds", "seed"}``: the mean over seeds of
        each seed's average of ``||grad f(u^t)||^2`` over ``t < T``, its standard error over
        seeds, the Student-t 95% interval (with one seed, or when every seed measures the same
        value, that value and a standard error of 0), and the horizon, number of seeds and root
        seed it was measured with.
    """
    problem, hierarchy = build(entry)
    T = int(entry["T"] if T is None else T)
    if seeds is None:
        seeds = FRESH_SEEDS if _noisy(entry) else int(entry["seeds"])
    seeds = int(seeds)
    seed = int(entry.get("seed", 0)) + FRESH_SEED_OFFSET if seed is None else int(seed)
    result = simulate(problem, hierarchy, float(entry["gamma"]), T, seeds=seeds, seed=seed,
                      x0=np.asarray(entry["x0"], dtype=float), record_every=1)
    if result.diverged is not None:
        raise ValueError(f"the witness run diverged at step {result.diverged['step']}")
    per_seed = result.grad_norm_sq.mean(axis=1)
    if seeds == 1 or np.all(per_seed == per_seed[0]):  # one seed, or every seed the same run (no noise reaches it)
        value = float(per_seed[0])
        return {"mean": value, "se": 0.0, "ci_low": value, "ci_high": value, "T": T, "seeds": seeds, "seed": seed}
    mean, low, high = confidence_interval(per_seed)
    se = float(per_seed.std(ddof=1) / math.sqrt(seeds))
    return {"mean": float(mean), "se": se, "ci_low": float(low), "ci_high": float(high), "T": T, "seeds": seeds,
            "seed": seed}


def evaluate_witness(entry: dict[str, Any], *, quick_T: int | None = None, quick_seeds: int | None = None
                     ) -> dict[str, Any]:
    """Run a witness, evaluate Theorem 2 on it and return the complete library entry.

    Adds ``measured`` (:func:`run_witness` on fresh seeds: root ``entry["seed"] +``
    :data:`FRESH_SEED_OFFSET`, :data:`FRESH_SEEDS` seeds when noisy), ``terms``, ``bound``,
    ``term_value``, ``ratio_bound``, ``ratio_term``, ``term_share`` (term / bound) and, with
    ``quick_T`` or ``quick_seeds``, a ``quick`` re-run (its own horizon and seeds, the same fresh
    root seed) for tests. ``entry["seed"]`` and ``entry["seeds"]`` stay the search's root seed
    and the number of seeds ``hsgd power``'s first-stage runs use.
    """
    problem, hierarchy = build(entry)
    out = dict(entry)
    out["measured"] = run_witness(entry)
    terms = bound_terms(problem, hierarchy, float(entry["gamma"]), int(entry["T"]), entry["x0"])
    out["terms"] = terms
    out["bound"] = float(sum(terms.values()))
    out["term_value"] = float(terms[entry["term"]])
    out["term_share"] = out["term_value"] / out["bound"]
    out["ratio_bound"] = out["measured"]["mean"] / out["bound"]
    out["ratio_term"] = out["measured"]["mean"] / out["term_value"]
    if quick_T is not None or quick_seeds is not None:
        q = run_witness(entry, T=quick_T, seeds=quick_seeds)
        out["quick"] = q
    return out


# --------------------------------------------------------------------------- search
def _kink_objective(level: int, P: int) -> Callable[[NDArray[np.float64]], float]:
    def objective(v: NDArray[np.float64]) -> float:
        w = kink_witness(level, P, float(v[0]), float(v[1]))
        return 0.0 if w is None else -w["orbit"]["ratio_bound"]
    return objective


def _noise_objective(level: int, P: int, n: int, seeds: int, min_periods: int) -> Callable[[NDArray[np.float64]], float]:
    def objective(v: NDArray[np.float64]) -> float:
        w = noise_witness(level, P, float(v[0]), float(v[1]), float(v[2]), n=n, seeds=seeds, min_periods=min_periods)
        problem, hierarchy = build(w)
        try:
            m = run_witness(w, seeds=seeds, seed=w["seed"])["mean"]   # the search's own seeds
        except ValueError:
            return 0.0
        terms = bound_terms(problem, hierarchy, w["gamma"], w["T"], w["x0"])
        if terms[w["term"]] < 0.5 * sum(terms.values()):
            return 0.0
        return -m / sum(terms.values())
    return objective


def search(term: str, P: int, *, quick: bool = False, seed: int = 0, n: int | None = None) -> dict[str, Any]:
    """Seeded search (:func:`scipy.optimize.differential_evolution`) over a family's parameters,
    maximising measured/bound, starting from the construction.

    Heterogeneity (``term = "level_l_heterogeneity"``): over ``(frac, cmul)``, the step as a
    fraction of the edge step and ``c`` in units of ``gamma L e (P-1)/2``; each candidate's best
    attracting orbit is solved exactly (:func:`kink_witness`). ``e`` and ``L`` scale out of the
    ratio (``x``, ``b``, ``c``, ``a`` scale together; only ``gamma L`` matters) and ``n = 4`` is
    the construction's. Noise share (``term = "level_l_noise"``): over ``(frac, cmul, x0_scale)``
    with ``n`` fixed (larger is better, only slower; see :func:`noise_witness`), each candidate
    one engine run with the same seeds (common random numbers: root ``seed``, ``seeds`` of them).
    Returns the best witness's constructor arguments, its objective on the search's seeds (biased
    upward by the selection: :func:`evaluate_witness` measures on fresh ones) and those seeds.
    """
    from scipy.optimize import differential_evolution

    if term not in TERMS[2:]:
        raise ValueError(f"term must be one of {', '.join(TERMS[2:])}, got {term!r}")
    level = int(term.split("_")[1])
    if term.endswith("heterogeneity"):
        objective = _kink_objective(level, P)
        box = [(0.02, 1.0), (0.98, 1.12)]
        start = [0.25, 1.0]
    else:
        n = n or (400 if quick else 1000)
        seeds, min_periods = (2, 10) if quick else (4, 20)
        objective = _noise_objective(level, P, n, seeds, min_periods)
        box = [(0.02, 1.0), (0.8, 1.4), (-1.0, 2.0)]
        start = [0.25, 1.05, 0.3]
    heterogeneity = term.endswith("heterogeneity")
    noise = {} if heterogeneity else {"noise_seed": 0, "noise_seeds": seeds}   # noise_witness's default root seed
    res = differential_evolution(objective, box, rng=seed, popsize=4 if quick else (8 if heterogeneity else 6),
                                 maxiter=2 if quick else (10 if heterogeneity else 4), tol=0,
                                 polish=False, x0=start, init="sobol")
    return {"term": term, "P": P, "params": [float(v) for v in res.x], "ratio_bound": float(-res.fun),
            "evaluations": int(res.nfev), "n": n, **noise}


# --------------------------------------------------------------------------- library
def build_library(*, quick: bool = False, Ps: Sequence[int] = (2, 5, 10), progress: Callable[[str], None] | None = None
                  ) -> list[dict[str, Any]]:
    """Search every term's family and return the evaluated witnesses (one per term and ``P``).

    The kink witnesses are re-solved at the best parameters found; the noise witnesses are
    rebuilt at the search's ``n`` with ``seeds = 8`` (the first-stage runs of ``hsgd power``; a
    different ``n`` changes the orbit's stability, so the optimum does not carry over) and
    measured on :data:`FRESH_SEEDS` fresh seeds (:func:`evaluate_witness`), never on the seeds
    the search selected them on. The init and plain noise witnesses are the tight quadratic cases.
    """
    say = progress or (lambda message: None)
    entries = [evaluate_witness(init_witness(), quick_T=10), evaluate_witness(noise_term_witness(), quick_T=100)]
    for level in (1, 2):
        for P in Ps:
            term = f"level_{level}_heterogeneity"
            found = search(term, P, quick=quick)
            w = kink_witness(level, P, *found["params"])
            entry = evaluate_witness(w, quick_T=w["T"])
            entry["search"] = found
            entries.append(entry)
            say(f"{term} P={P}: {entry['ratio_term']:.4f} of the term, {entry['ratio_bound']:.4f} of the bound")
    for level in (1, 2):
        for P in Ps:
            term = f"level_{level}_noise"
            found = search(term, P, quick=quick)
            w = noise_witness(level, P, *found["params"], n=found["n"], seeds=8)
            entry = evaluate_witness(w, quick_T=w["T"] // 4, quick_seeds=2)
            entry["search"] = found
            entries.append(entry)
            say(f"{term} P={P}: {entry['ratio_term']:.4f} of the term, {entry['ratio_bound']:.4f} of the bound "
                f"(on the search's seeds {found['ratio_bound']:.4f} of the bound)")
    return entries


_MEASURED = ("measured", "terms", "bound", "term_value", "term_share", "ratio_bound", "ratio_term", "quick")
"""The keys :func:`evaluate_witness` adds: what :func:`remeasure_library` recomputes."""


def remeasure_library(entries: Sequence[dict[str, Any]], progress: Callable[[str], None] | None = None
                      ) -> list[dict[str, Any]]:
    """The same witnesses (instances, search records) with every reported value measured again
    by :func:`evaluate_witness` (fresh seeds); each ``quick`` re-run keeps its horizon and seeds.

    A noise witness's ``search`` record without its seeds gets them: root 0 and 4 seeds (2 for a
    quick search, ``n = 400``), what :func:`search` used (``noise_seed``, ``noise_seeds``).
    """
    say = progress or (lambda message: None)
    out = []
    for entry in entries:
        base = {k: v for k, v in entry.items() if k not in _MEASURED}
        quick = entry.get("quick") or {}
        fresh = evaluate_witness(base, quick_T=quick.get("T"), quick_seeds=quick.get("seeds"))
        again = {**{k: fresh.get(k, v) for k, v in entry.items() if k in fresh}, **fresh}  # the entry's key order
        found = again.get("search")
        if isinstance(found, dict) and found.get("term", "").endswith("_noise"):
            found = again["search"] = dict(found)
            found.setdefault("noise_seed", 0)
            found.setdefault("noise_seeds", 2 if found.get("n") == 400 else 4)
        out.append(again)
        old = entry.get("measured", {}).get("mean")
        say(f"{entry['term']} P={entry['instance'].get('P')}: {again['ratio_term']:.4f} of the term, "
            f"{again['ratio_bound']:.4f} of the bound (was {old / again['term_value']:.4f} of the term)"
            if old is not None else f"{entry['term']}: {again['ratio_term']:.4f} of the term")
    return out


def save_witnesses(entries: list[dict[str, Any]], path: str | Path = DATA_PATH) -> Path:
    """Write the library as JSON (atomically)."""
    from empirical.io import atomic_write_bytes, json_text

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json_text({"version": 1, "witnesses": entries}, indent=1) + "\n").encode())
    return path


def load_witnesses(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The saved witness library (``empirical/data/witnesses.json`` by default): a list of entries,
    each re-runnable with :func:`run_witness`.

    Example:
        >>> ws = load_witnesses()
        >>> sorted({w["term"] for w in ws}) == sorted(TERMS)
        True
    """
    if path is None:
        text = resources.files("empirical").joinpath("data/witnesses.json").read_text()
    else:
        text = Path(path).read_text()
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("witnesses"), list):
        raise ValueError("path must be a witness library: a JSON object with a 'witnesses' list")
    return data["witnesses"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m empirical.studies.witnesses [--quick] [--remeasure] [--out PATH]``: search,
    evaluate and save the library (``--remeasure``: keep the saved witnesses, measure them again)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Build the witness library (docs/theory.md §7.4 Remark: witnesses).")
    parser.add_argument("--quick", action="store_true", help="a small search (well under a minute)")
    parser.add_argument("--remeasure", action="store_true",
                        help="no search: measure the saved witnesses again (fresh seeds) and save them")
    parser.add_argument("--out", default=str(DATA_PATH), help="where to write the JSON library")
    args = parser.parse_args(argv)
    start = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f}s] {message}", flush=True)

    if args.remeasure:
        entries = remeasure_library(load_witnesses(), progress=say)
    else:
        entries = build_library(quick=args.quick, progress=say)
    print(f"wrote {save_witnesses(entries, args.out)} ({len(entries)} witnesses)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
