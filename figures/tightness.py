"""How tight a theorem is at one configuration, term by term (``hsgd tightness``).

For a configuration (``n``, groups, periods, ``L``, ``sigma``, ``eps_l`` per level, ``gamma``,
``T``) the bound ``B`` is a sum of terms. A run of a problem with exactly these constants
(the kink family, :mod:`figures.falsify`, whose constants are exact: offsets with
``eps_l`` on each level, two-point noise of level ``sigma``) that measures ``m`` refutes every
bound in which term ``k`` is multiplied by less than

    theta_k = 1 - (B - m) / term_k

with the other terms unchanged. So the smallest valid constant of term ``k`` (for this shape of
bound) lies in ``[theta_k, 1]`` times the stated one: the term is *known to within a factor*
``1/theta_k`` (nothing is known when ``theta_k <= 0``). In total, the worst case of
``(1/T) sum E||grad f(u^t)||^2`` over the class lies in ``[m, B]``, a factor ``B/m``.

Every interval comes from a run on fresh seeds (:data:`figures.falsify.FRESH_SEEDS`, never seen by
the search that chose it) through the lower end of its 95% interval: ``m`` is that lower end.
Per term the search (:func:`figures.falsify.search_cell` with the ``tightness`` objective)
maximises ``theta_k`` over the kink's level and turn-around, the start and the noise law's reset
period; ``F0`` follows from the start, so ``B`` is the bound at the witnessing run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from bounds.instance import Instance, theorem_condition, theorem_terms
from bounds.theorems import theorem as resolve_theorem

__all__ = ["THEOREMS", "configuration_cells", "default_configuration", "tightness"]

THEOREMS = ("theorem2", "sharp", "sharp_recursion")
"""The theorems ``hsgd tightness`` reports by default."""


def default_configuration() -> dict[str, Any]:
    """The configuration of ``hsgd check``'s defaults: its problem's exact and certified constants on
    its random grouping (``n = 32``, ``N = 4``, ``I = 5``, ``G = 50``), Theorem 2's largest step size
    and ``T = 3000``."""
    from bounds.optimal import largest_step_size
    from empirical.hierarchy import Hierarchy
    from figures.checker import default_problem

    problem = default_problem()
    h = Hierarchy.two_level(32, 4, 5, 50, grouping="random", seed=0, problem=problem)
    k = problem.constants(h.levels)
    gamma = largest_step_size(h.shape.bound(), L=k.L.value)[0]
    return {"n": 32, "counts": [4], "periods": [5, 50], "L": k.L.value, "sigma": k.sigma.value,
            "eps": [e.value for e in k.eps_levels], "gamma": gamma, "T": 3000}


def _check(config: dict[str, Any]) -> Instance:
    """The configuration as an instance (``F0 = 0``), after checking it."""
    n, counts, periods = config["n"], list(config["counts"]), list(config["periods"])
    if len(counts) != len(periods) - 1:
        raise ValueError(f"counts must have one entry fewer than periods (K_1 .. K_(M-1)), got {counts} and {periods}")
    if len(config["eps"]) != len(periods):
        raise ValueError(f"eps must have one value per level ({len(periods)}), got {config['eps']}")
    sizes = [n, *counts, 1]
    for l in range(len(periods)):
        if sizes[l] % sizes[l + 1] or (sizes[l] // sizes[l + 1]) % 2 and config["eps"][l] > 0:
            raise ValueError(f"level {l + 1}: {sizes[l]} units in {sizes[l + 1]} groups; tightness needs an even number "
                             f"in each group where eps_{l + 1} > 0 (the offsets alternate in sign between siblings, "
                             f"which gives eps_{l + 1} exactly)")
    x = Instance(gamma=float(config["gamma"]), L=float(config["L"]), sigma=float(config["sigma"]), F0=0.0, n=n,
                 T=int(config["T"]), periods=tuple(periods), counts=tuple(sizes), eps=tuple(map(float, config["eps"])))
    return x


def configuration_cells(config: dict[str, Any], terms: Sequence[str]) -> list[dict[str, Any]]:
    """One search cell per term, and one for the whole bound (target ``"total"``).

    A term's cell is the configuration with every constant that does not feed the term set to 0
    (a problem with smaller constants satisfies A1-A3 with the configuration's, so it is in the
    class): a level's heterogeneity keeps only its own ``eps_l`` (``sigma = 0``); a noise share or
    the noise term keeps ``sigma`` (``eps = 0``) with the noise law resetting at the level's period
    (each worker drawing on its own axis inside a level-1 group above level 1); ``init`` keeps
    nothing (the quadratic's transient)."""
    periods = list(config["periods"])
    M = len(periods)
    cells = []
    for term in [*terms, "total"]:
        level = int(term.split("_")[1]) if term.startswith("level_") else 1
        fixed = {k: config[k] for k in ("gamma", "L", "sigma", "eps")}
        fixed["scale"] = (max(config["eps"]) + config["sigma"]) or 1.0  # the init cell's start, in gradient units
        if term.endswith("_heterogeneity") or (term.startswith("level_") and term.count("_") == 1):
            fixed["sigma"] = 0.0 if term.endswith("_heterogeneity") else config["sigma"]
            fixed["eps"] = [config["eps"][l] if l == level - 1 else 0.0 for l in range(M)]
        elif term.endswith("noise"):
            fixed["eps"] = [0.0] * M
        elif term == "init":
            fixed["sigma"], fixed["eps"] = 0.0, [0.0] * M
        noise_above = term.endswith("_noise") and level >= 2
        cells.append({"name": term, "n": config["n"], "periods": periods, "counts": list(config["counts"]),
                      "family": "fixed", "T": int(config["T"]), "target": term, "reset": periods[level - 1],
                      "axes": "within_group" if noise_above else "shared", "fixed": fixed})
    return cells


def tightness(config: dict[str, Any] | None = None, *, theorems: Sequence[str] = THEOREMS, budget: int = 48,
              seed: int = 0, out_dir: str | Path = "out", executor: Executor | None = None,
              progress: bool = True, terms: Sequence[str] | None = None) -> dict[str, Any]:
    """The tightness intervals of each theorem at ``config`` (module docstring); resumable in ``out_dir``.

    Args:
        config: ``n``, ``counts`` (``K_1 .. K_(M-1)``), ``periods``, ``L``, ``sigma``, ``eps`` (per
            level), ``gamma``, ``T``; default :func:`default_configuration`.
        theorems: registered names.
        budget: search runs per term and theorem.
        seed: the search's seed (``0 <= seed < 10_000``).
        terms: only these terms (and not the total); default every term of each theorem and the total.

    Returns:
        ``{"configuration", "theorems": {name: {"title", "terms": {term: {...}}, "total": {...}}}, "runs"}``.
    """
    from figures.falsify import (
        FRESH_OFFSET,
        FRESH_SEEDS,
        _valid_confirm,
        _valid_search,
        confirm,
        search_cell,
    )
    from figures.sweep import run_sweep

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer (runs per term), got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 10_000:
        raise ValueError(f"seed must be an integer in [0, 10000), got {seed!r}")
    config = dict(config or default_configuration())
    probe = _check(config)
    jobs, owners = [], []
    for name in theorems:
        t = resolve_theorem(name)
        if not theorem_condition(probe, 1, t):
            raise ValueError(f"gamma = {config['gamma']:.6g} is outside {t.title}'s condition at this configuration")
        own = [k for k, v in theorem_terms(probe, t).items() if v > 0 or k == "init"]
        cells = configuration_cells(config, own)
        if terms is not None:
            cells = [c for c in cells if c["target"] in terms]
        for i, cell in enumerate(cells):
            jobs.append({"theorem": name, "mutant": None, "cell": cell, "budget": budget, "seed": seed * 100 + i,
                         "objective": "tightness"})
            owners.append((name, cell["target"]))
    runs_dir = Path(out_dir) / "tightness_runs"
    searched = run_sweep(search_cell, jobs, runs_dir, executor=executor, progress=progress,
                         description="tightness: search", validate=_valid_search)
    confirms = []
    for job, result, (name, term) in zip(jobs, searched, owners):
        if term == "total":
            best = {"candidate": result["best"][0]["candidate"], "theta": result["best"][0]["ratio"]} \
                if result["best"] else None
        else:
            best = result["per_theta"].get(term)
        if best is None:
            continue
        noisy = best["candidate"]["sigma"] > 0
        confirms.append(({"theorem": name, "mutant": None, "candidate": best["candidate"],
                          "seeds": FRESH_SEEDS if noisy else 1, "seed": job["seed"] + FRESH_OFFSET, "level": 0.95},
                         name, term, best["theta"]))
    fresh = run_sweep(confirm, [c[0] for c in confirms], runs_dir, executor=executor, progress=progress,
                      description="tightness: fresh seeds", validate=_valid_confirm)
    report: dict[str, Any] = {"configuration": config, "theorems": {}, "runs": sum(r["runs"] for r in searched),
                              "budget": budget, "seed": seed}
    for name in theorems:
        t = resolve_theorem(name)
        entry: dict[str, Any] = {"title": t.title, "source": t.source, "terms": {}, "total": None}
        for (job, owner, term, search_value), result in zip(confirms, fresh):
            if owner != name:
                continue
            lower = result["lower"]
            ratio = lower / result["bound"] if lower is not None and result["bound"] > 0 else None
            if term == "total":
                entry["total"] = {"ratio": ratio, "interval": [max(ratio or 0.0, 0.0), 1.0],
                                  "factor": 1.0 / ratio if ratio and ratio > 0 else math.inf,
                                  "search_ratio": search_value, "bound": result["bound"], "measured_lower": lower}
                continue
            theta = result["theta"].get(term)
            entry["terms"][term] = {
                "theta": theta, "interval": [max(theta, 0.0) if theta is not None else 0.0, 1.0],
                "factor": (1.0 / theta) if theta and theta > 0 else math.inf, "ratio": ratio,
                "search_theta": search_value, "term": result["parts"].get(term), "bound": result["bound"],
                "measured_lower": lower, "share": result["shares"].get(term), "constants": job["candidate"]["cell"]["fixed"]}
        report["theorems"][name] = entry
    return report
