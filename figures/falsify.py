"""Try to break a theorem: a seeded, resumable search of the assumption class for the run that
comes closest to the bound, confirmed on fresh seeds (``hsgd falsify``).

**What is searched.** The kink family of docs/theory.md §7.4 (:class:`~empirical.problems.witness.
KinkProblem`), whose constants ``L``, ``sigma``, every ``eps_l`` and ``f*`` are exact, so a run
measured above the bound at these constants is a counter-example to the theorem, not to a
certificate. (A family with certified, i.e. upper, constants has a larger bound than at its exact
constants: it can only hide a violation.) ``L = 1`` without loss of generality (the kink family
is closed under rescaling ``x``, and ``measured/bound`` does not change). The search runs over
:data:`CELLS`, discrete *cells* (workers, grouping, periods, horizon, noise law; the
heterogeneity, noise-share, noise, init and mixed constructions of §7.4 generalised to any
hierarchy), and inside a cell over the continuous parameters of :func:`candidate_of`: the step
size as a fraction of the theorem's own largest one (its condition decided exactly), one offset
amplitude per level (the signs alternate between siblings, so each level's offsets average to
zero inside its parent), the noise level, the kink's level ``c`` and turn-around ``a``, and the
start. Cells run in parallel on :func:`figures.executor.executor` (each a cached task of
:func:`figures.sweep.run_sweep`: an interrupted search resumes with every finished cell); inside
a cell :func:`scipy.optimize.differential_evolution` (``vectorized``) proposes whole generations,
which run as one batched simulation (:func:`empirical.batch.simulate_batch`, one row per
candidate and seed) on common random numbers.

**What is maximised.** ``measured / bound`` for the statement under test (the theorem, or one
of its mutants, :mod:`bounds.mutants`), and, per term of the theorem, ``measured / bound`` over
the runs where that term is at least half of the bound (the grain of ``hsgd power``). For a
theorem with free parameters (Theorem S's ``alpha``, ``beta``) the search scores candidates at
one admissible choice per cell (a valid bound, never below the optimised one, so the search's
ratios are conservative); every confirmed candidate is scored at the optimised choice.

**What is claimed.** Nothing rests on the seeds the search selected on. Every candidate whose
search ratio is above :data:`THRESHOLD` (at most :data:`MAX_CONFIRM`, the highest first), and
the best candidate of each term and in total, is re-run on :data:`FRESH_SEEDS` seeds never used
by the search (seed ``+`` :data:`FRESH_OFFSET`). The statement is *falsified* when a re-run's
lower confidence bound on the mean is above its bound (a deterministic run: its value, beyond the
float tolerance of :mod:`figures.verdicts`), at the Bonferroni-corrected level
``1 - 0.05/k`` over the ``k`` candidates tested; the answer then carries a reproducer (JSON that
``hsgd falsify --replay FILE`` re-runs to the same numbers). Otherwise it *survived* ``N`` runs,
with the worst fresh-seed ratio per term and in total.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bounds import mutants as mutant_lib
from bounds.exact import exact_conditions
from bounds.instance import Instance, _numeric_bound, theorem_condition, theorem_terms
from bounds.mutants import Mutant
from bounds.statement import Theorem
from bounds.theorems import theorem as resolve_theorem
from empirical.engine import PARTICIPATION_MODES
from empirical.studies.witnesses import FRESH_SEED_OFFSET, FRESH_SEEDS

__all__ = [
    "CELLS",
    "FEDERATED_CELLS",
    "FRESH_OFFSET",
    "FRESH_SEEDS",
    "MAX_CONFIRM",
    "QUICK_CELLS",
    "SEARCH_SEEDS",
    "THRESHOLD",
    "build",
    "candidate_of",
    "confirm",
    "falsify",
    "measure",
    "replay",
    "search_cell",
]

SEARCH_SEEDS = 8
"""Seeds per noisy candidate during the search (a noise-free candidate runs once)."""
FRESH_OFFSET = FRESH_SEED_OFFSET
"""Confirmation runs use root seed ``seed + FRESH_OFFSET`` (the offset of every fresh-seed run of
the toolkit: the witness library's and ``hsgd power``'s); the search's root seeds stay below it,
so the two never share a stream. :data:`FRESH_SEEDS` seeds each, as there."""
THRESHOLD = 0.9
"""A candidate whose search ratio (against the statement under test) is above this is confirmed."""
MAX_CONFIRM = 8
"""At most this many candidates above :data:`THRESHOLD` are confirmed (the highest first); the
falsification test is Bonferroni-corrected over those tested."""
LEVEL = 0.95
"""The family-wise confidence of a falsification."""
LARGE_SHARE = 0.25
"""A cell with more than 64 workers gets this share of another cell's budget (its runs cost 16x more)."""


def _cell(name: str, n: int, periods: Sequence[int], counts: Sequence[int], family: str, T: int, target: str, *,
          reset: int = 1, axes: str = "shared", weights: Sequence[float] | None = None,
          participation: int | None = None, participation_mode: str = "local_round") -> dict[str, Any]:
    cell = {"name": name, "n": n, "periods": list(periods), "counts": list(counts), "family": family, "T": T,
            "target": target, "reset": reset, "axes": axes}
    if weights is not None or participation is not None:  # docs/theory.md §10: only for a theorem that takes them
        cell.update(weights=None if weights is None else list(weights), participation=participation)
    if participation is not None:  # when the sample is redrawn (docs/theory.md §10.1; Theorem P covers both, §10.6)
        cell.update(participation_mode=participation_mode)
    return cell


CELLS: tuple[dict[str, Any], ...] = (
    # heterogeneity: noise-free, offsets on every level (docs/theory.md §7.4's kink orbits, any hierarchy);
    # long horizons, because the start's term 2 F0/(gamma T) is about 2/(gamma T) of a level's term on an
    # orbit (the runs are deterministic: one seed each, cheap at any horizon)
    _cell("local P=2 heterogeneity", 4, [2], [], "heterogeneity", 20000, "level_1_heterogeneity"),
    _cell("local P=5 heterogeneity", 4, [5], [], "heterogeneity", 20000, "level_1_heterogeneity"),
    _cell("two-level 2,4 heterogeneity", 4, [2, 4], [2], "heterogeneity", 20000, "level_1_heterogeneity"),
    _cell("two-level 5,10 heterogeneity", 4, [5, 10], [2], "heterogeneity", 20000, "level_1_heterogeneity"),
    _cell("two-level 1,5 heterogeneity", 4, [1, 5], [2], "heterogeneity", 20000, "level_2_heterogeneity"),
    _cell("two-level 3,3 heterogeneity", 8, [3, 3], [2], "heterogeneity", 9999, "level_2_heterogeneity"),
    _cell("two-level 4,8 heterogeneity n=8", 8, [4, 8], [4], "heterogeneity", 10000, "level_2_heterogeneity"),
    _cell("three-level 1,2,4 heterogeneity", 8, [1, 2, 4], [4, 2], "heterogeneity", 10000, "level_3_heterogeneity"),
    # noise shares: adaptive two-point noise, resets at the witnessed level's period
    _cell("two-level 5,10 level-1 noise", 16, [5, 10], [2], "noise", 1000, "level_1_noise", reset=5),
    _cell("two-level 1,5 level-2 noise", 16, [1, 5], [8], "noise", 1000, "level_2_noise", reset=5,
          axes="within_group"),
    _cell("two-level 2,4 level-1 noise n=64", 64, [2, 4], [2], "noise", 400, "level_1_noise", reset=2),
    _cell("two-level 1,4 level-2 noise n=64", 64, [1, 4], [32], "noise", 400, "level_2_noise", reset=4,
          axes="within_group"),
    _cell("local P=4 noise", 8, [4], [], "noise", 800, "level_1_noise", reset=4),
    # a noise share is of order gamma^2 sigma^2 against the plain noise term's gamma sigma^2 / n: only
    # a large n lets the share dominate at the step sizes where it bites (§7.4's witnesses: n = 1000)
    _cell("two-level 10,20 level-1 noise n=1024", 1024, [10, 20], [2], "noise", 560, "level_1_noise", reset=10),
    _cell("two-level 1,10 level-2 noise n=1024", 1024, [1, 10], [512], "noise", 500, "level_2_noise", reset=10,
          axes="within_group"),
    # the plain noise term and the init term
    _cell("every step noise", 2, [1], [], "noise", 200, "noise", reset=1),
    _cell("init", 1, [1], [], "init", 4, "init"),
    # noise and heterogeneity together
    _cell("two-level 2,8 mixed", 8, [2, 8], [2], "mixed", 800, "level_1_heterogeneity", reset=2),
)
"""The discrete part of the search space (module docstring)."""

FEDERATED_CELLS: tuple[dict[str, Any], ...] = (
    # data-size weights and partial participation (docs/theory.md §10 Theorems W and P)
    _cell("weighted two-level 2,4 heterogeneity", 4, [2, 4], [2], "heterogeneity", 400, "level_1_heterogeneity",
          weights=[1, 3, 2, 2]),
    _cell("weighted two-level 5,10 level-1 noise", 16, [5, 10], [2], "noise", 1000, "level_1_noise", reset=5,
          weights=[1 + (j % 4) for j in range(16)]),
    # the authors' timing (a fresh sample at every level-1 aggregation, docs/theory.md §10.6) and once per round
    *(_cell(f"participation 2 of 4, {mode}, two-level 2,4 heterogeneity", 8, [2, 4], [2], "heterogeneity", 400,
            "level_1_heterogeneity", participation=2, participation_mode=mode) for mode in PARTICIPATION_MODES),
    *(_cell(f"participation 4 of 8, {mode}, weighted, two-level 5,10 mixed", 16, [5, 10], [2], "mixed", 500,
            "level_1_noise", reset=5, weights=[1 + (j % 3) for j in range(16)], participation=4,
            participation_mode=mode) for mode in PARTICIPATION_MODES),
    _cell("participation 1 of 4, local_round, two-level 1,8 sampling", 8, [1, 8], [2], "heterogeneity", 400,
          "sampling", participation=1),
)
"""Cells for a theorem that takes weights and partial participation (its statement declares Theorem
P's numbers, ``omega``, the noise shares and the sampling error): the others assume equal weights
and full participation."""

QUICK_CELLS = tuple(CELLS[i] for i in (0, 2, 4, 8, 9, 15, 16))
"""Fewer cells, for a small budget."""


# ----------------------------------------------------------------------- statements
@dataclass(frozen=True)
class SearchTarget:
    """What a search tests: the statement (the theorem or a mutant of it) and the theorem's own
    parts (the per-term grain), both at the search's scoring and at the confirmed one."""

    theorem: Theorem
    target: Mutant
    parts: Callable[[Instance], dict[str, float]]


def _statement(spec: str | Theorem, mutant: str | None, parts: Callable[[Instance], dict[str, float]] | None = None
               ) -> SearchTarget:
    """The statement a search tests: ``spec``'s theorem itself (``mutant=None``) or its mutant
    named ``mutant`` (:func:`bounds.mutants.candidates`, as ``hsgd power`` names them; ``parts``
    replaces the theorem's parts where the mutants are written on them: the search's cheaper
    valid scoring)."""
    t = resolve_theorem(spec)
    found = mutant_lib.candidates(t, levels=3, parts=parts)
    name = "theorem" if mutant is None else mutant
    for m in found:
        if m.name == name:
            return SearchTarget(t, m, found[0].parts)
    raise ValueError(f"mutant must be one of {', '.join(m.name for m in found[1:])}; got {mutant!r}")


def _probe(cell: dict[str, Any], gamma: float = 0.1) -> Instance:
    """An instance of the cell's hierarchy (``L = 1``), for what depends only on its structure."""
    periods = tuple(cell["periods"])
    return Instance(gamma=gamma, L=1.0, sigma=1.0, F0=1.0, n=cell["n"], T=cell["T"], periods=periods,
                    counts=(cell["n"], *cell["counts"], 1), eps=(1.0,) * len(periods))


def largest_step(inside: Theorem | Callable[[Instance], bool], cell: dict[str, Any], loosen: int = 1) -> float:
    """The largest step size (``L = 1``) on the cell's hierarchy inside a statement's conditions:
    a theorem's (right-hand sides times ``loosen``; for *some* choice of its free parameters,
    :func:`bounds.instance.theorem_condition`, decided exactly) or any ``inside(instance)`` (a
    mutant's own, e.g. a coefficient of the condition halved). Doubled from 1 while inside (at
    most 16), then bisection to the float, so the result is inside."""
    if isinstance(inside, Theorem):
        theorem_ = inside

        def inside(x: Instance) -> bool:
            return theorem_condition(x, loosen, theorem_)

    x = _probe(cell)
    low, high = 0.0, 1.0
    while high < 16 and inside(replace(x, gamma=high)):
        low, high = high, 2 * high
    if high >= 16:  # inside up to 8: enough for any search here
        return low
    for _ in range(80):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if inside(replace(x, gamma=mid)):
            low = mid
        else:
            high = mid
    if low <= 0:
        raise ValueError(f"no step size meets the conditions on {cell['name']}")
    return low


SCREENING_FRACTIONS = (0.3, 0.6, 0.85, 0.97)
"""The step sizes (fractions of the cell's largest) at which a theorem's free parameters are
chosen once per cell for the search's scoring (:func:`_screening_parts`)."""


def _screening_parts(t: Theorem, cell: dict[str, Any]) -> Callable[[Instance], dict[str, float]] | None:
    """For a theorem with free parameters: its parts at one admissible choice (a valid bound, never
    below the optimised one). The choices are made once per cell, at :data:`SCREENING_FRACTIONS` of
    its largest step size; a candidate takes the one made at the smallest of those steps at or
    above its own (a condition that a choice meets at one step size it meets at every smaller
    one, as Theorem S's ``c_l`` grow with ``gamma``; checked anyway), and one above them all gets
    the optimised parts. ``None`` for a theorem without free parameters."""
    probe = _probe(cell)
    bound = _numeric_bound(t, probe.shape)
    if not bound.free:
        return None
    top = largest_step(t, cell)
    noisy = cell["family"] in ("noise", "mixed")
    hetero = cell["family"] in ("heterogeneity", "mixed")
    choices: list[tuple[float, dict[str, Any]]] = []
    for fraction in SCREENING_FRACTIONS:
        gamma = top * fraction
        reference = replace(probe, gamma=gamma, sigma=1.0 if noisy else 0.0,
                            eps=(1.0 if hetero else 0.0,) * probe.M)
        try:
            choices.append((gamma, bound.optimise(require_conditions=False,
                                                  **bound.taken(reference.hierarchy_values())).values))
        except ValueError:
            continue

    def parts(x: Instance) -> dict[str, float]:
        for gamma, choice in choices:
            if x.gamma <= gamma:
                at = dict(bound.taken(x.hierarchy_values()), **choice)
                if all(check.holds for check in exact_conditions(bound, at)):
                    return bound.part_values(**at)
                break
        return theorem_terms(x, t)

    return parts


# ----------------------------------------------------------------------- candidates
def _dimension(cell: dict[str, Any]) -> int:
    """The continuous parameters of a cell (:func:`candidate_of`)."""
    return 5 + len(cell["periods"])


def _signs(cell: dict[str, Any]) -> np.ndarray:
    """Per level, ``+-1`` per worker: the parity of a worker's unit one level down inside its
    group at this level (workers at level 1), contiguous equal groups."""
    n, counts = cell["n"], [cell["n"], *cell["counts"], 1]
    out = np.empty((len(cell["periods"]), n))
    worker = np.arange(n)
    for l in range(len(cell["periods"])):
        unit = worker // (n // counts[l])  # the worker's unit one level down (its group at level l - 1)
        per_parent = counts[l] // counts[l + 1]
        out[l] = np.where((unit % per_parent) % 2 == 0, 1.0, -1.0)
    return out


def candidate_of(cell: dict[str, Any], v: Sequence[float], gamma_max: float) -> dict[str, Any]:
    """The run a point ``v`` of ``[0, 1]^D`` stands for in ``cell``: JSON, everything
    :func:`build` needs.

    ``v`` = (step fraction, kink level, turn-around, start, noise level, one offset amplitude per
    level): ``gamma = gamma_max 10^(-3 (1 - v_0))``; offsets ``b_j = sum_l e_l s_l(j)`` with
    ``e_l = v_{5+l}`` (0 for a pure-noise or init cell), signs ``s_l`` alternating between
    siblings, so that ``eps_l = e_l`` when every parent has an even number of children; ``sigma =
    v_4`` (1 in a noise cell, 0 in a heterogeneity or init cell); with ``scale = max(e) + sigma``
    (gradient units), the kink level ``c = (2 v_1 - 1) gamma L P_M scale``, turn-around
    ``a = (scale / L) 10^(8 v_2 - 4)`` and start ``x0 = (2 v_3 - 1) gamma P_M scale``. An init cell
    is the quadratic ``(L/2) x^2`` (``c = a = 0``) from ``x0 = (2 v_3 - 1) 10``. A cell with
    ``fixed`` numbers (``gamma``, ``L``, ``sigma``, ``eps``: :mod:`figures.tightness`) takes them
    instead of ``v_0``, ``v_4`` and the amplitudes, and scales its start by ``10^(3 v_4 - 1)``.
    """
    v = [float(z) for z in v]
    family, periods = cell["family"], cell["periods"]
    M, top = len(periods), periods[-1]
    fixed = cell.get("fixed")
    if fixed is not None:
        gamma, L, sigma, e = float(fixed["gamma"]), float(fixed["L"]), float(fixed["sigma"]), list(fixed["eps"])
    else:
        L = 1.0
        gamma = gamma_max * 10 ** (-3 * (1 - v[0]))
        e = [v[5 + l] if family in ("heterogeneity", "mixed") else 0.0 for l in range(M)]
        sigma = {"noise": 1.0, "mixed": v[4]}.get(family, 0.0)
    b = (np.asarray(e, dtype=float) @ _signs(cell)).tolist()
    scale = max(e + [0.0]) + sigma
    if scale == 0:  # nothing but the start moves the run (an init cell of a fixed configuration)
        scale = float(fixed.get("scale", 1.0)) if fixed is not None else 1.0
    if family == "init":
        c, a, x0 = 0.0, 0.0, (2 * v[3] - 1) * 10.0  # a = 0: the quadratic (L/2) x^2
    else:
        c = (2 * v[1] - 1) * gamma * L * top * scale
        a = scale / L * 10 ** (8 * v[2] - 4)
        x0 = (2 * v[3] - 1) * gamma * top * scale
        if fixed is not None:  # v_4 is free here: the start's magnitude, over three decades
            x0 *= 10 ** (3 * v[4] - 1)
    return {"cell": cell, "gamma": gamma, "L": L, "b": b, "c": c, "a": a, "sigma": sigma, "x0": [x0]}


def _target_period(cell: dict[str, Any]) -> int:
    """The period of the level the cell's target term belongs to (level 1's for init and noise)."""
    target = cell["target"]
    level = int(target.split("_")[1]) if target.startswith("level_") else 1
    return int(cell["periods"][level - 1])


PRIOR = ((0.1, 0.5, 0.5), (0.1, 0.3, 0.25), (0.03, 0.85, 0.5), (0.1, 0.85, 0.5), (0.1, 1.0, 1.3),
         (0.03, 0.5, 0.5), (0.2, 0.3, 0.25), (0.3, 0.5, 0.5), (0.03, 1.0, 1.3), (0.3, 1.0, 1.3), (0.01, 1.0, 1.3))
"""Where §7.4's saved witnesses sit, as (step size / largest, ``k``, ``r``) with the kink's level
``c = -k gamma L s (P - 1)/2`` and turn-around ``a = r gamma s (P - 1)`` (``empirical/data/witnesses.json``:
the noise witnesses at ``k`` 0.25-0.85, ``r`` 0.2-1.7; the offset witnesses at ``k = 1``, ``r``
about 1.3, as docs/theory.md §7.4 states), the most promising first."""


def prior_points(cell: dict[str, Any], gamma_max: float) -> np.ndarray:
    """Starting points for a cell's search (:data:`PRIOR`, in :func:`candidate_of`'s coordinates;
    ``P`` the target level's period, ``s`` the offset or noise size 1, the start ``-gamma s/2`` for
    noise and 0 for offsets). The rest of the first generation is a Latin hypercube."""
    family, periods = cell["family"], cell["periods"]
    if family == "init":
        return np.empty((0, _dimension(cell)))
    top = periods[-1]
    P = max(_target_period(cell), 2)
    target = cell["target"]
    level = int(target.split("_")[1]) if target.startswith("level_") else 1
    noisy = family in ("noise", "mixed") or bool(cell.get("fixed", {}).get("sigma"))
    fixed = cell.get("fixed") is not None  # the step size is the configuration's: only (k, r) vary
    points = []
    for fraction, k, r in dict.fromkeys((1.0, k, r) for _, k, r in PRIOR) if fixed else PRIOR:
        v = np.zeros(_dimension(cell))
        v[0] = 1 + math.log10(fraction) / 3
        v[1] = (-k * (P - 1) / 2 / top + 1) / 2
        v[2] = (math.log10(max(r * (P - 1) * gamma_max * fraction, 1e-4)) + 4) / 8
        v[3] = (-0.5 / top + 1) / 2 if noisy else 0.5
        v[4] = 1.0 if family != "fixed" else 1 / 3  # sigma = 1 (mixed); a fixed cell's start scale 10^0
        if family in ("heterogeneity", "mixed"):
            v[5 + level - 1] = 1.0
        points.append(np.clip(v, 0.0, 1.0))
    return np.array(points)


def _axes(cell: dict[str, Any]) -> tuple[int, np.ndarray]:
    n, counts = cell["n"], [cell["n"], *cell["counts"], 1]
    if cell["axes"] == "within_group":
        size = n // counts[1]
        return size, np.arange(n) % size
    return 1, np.zeros(n, dtype=np.intp)


def build(candidate: dict[str, Any]) -> tuple[Any, Any]:
    """The problem (a :class:`~empirical.problems.witness.KinkProblem`) and the hierarchy of a candidate."""
    from empirical.hierarchy import Hierarchy
    from empirical.problems.witness import KinkProblem

    cell = candidate["cell"]
    d, axes = _axes(cell)
    n, periods = cell["n"], cell["periods"]
    b = np.zeros((n, d))
    b[:, 0] = candidate["b"]
    noisy = candidate["sigma"] > 0
    problem = KinkProblem(b=b, c=candidate["c"], L=candidate.get("L", 1.0), a=candidate["a"], sigma=candidate["sigma"],
                          noise="two_point" if noisy else "none", axes=axes, reset_period=cell["reset"],
                          weights=cell.get("weights"))
    if len(periods) == 1:
        hierarchy = Hierarchy.local_sgd(n, periods[0])
    else:
        hierarchy = Hierarchy.multi_level(n, list(periods), list(cell["counts"]), grouping="contiguous")
    return problem, hierarchy


def _start(candidate: dict[str, Any], d: int) -> np.ndarray:
    return np.full(d, candidate["x0"][0])


def measure(candidates: Sequence[dict[str, Any]], seeds: int, seed: int) -> list[dict[str, Any]]:
    """Run candidates of one cell as one batched simulation; per candidate its instance (exact
    constants, :func:`empirical.instances.instance_of`) and per-seed averages of
    ``||grad f(u^t)||^2`` over ``t < T`` (``inf`` for a run that diverged)."""
    from empirical.batch import simulate_batch
    from empirical.engine import DivergenceWarning, simulate
    from empirical.federated import federated_instance
    from empirical.instances import instance_of

    built = [build(c) for c in candidates]
    hierarchy = built[0][1]
    cell = candidates[0]["cell"]
    T = int(cell["T"])
    d = built[0][0].d
    starts = np.stack([_start(c, d) for c in candidates])
    participation = cell.get("participation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        if participation is None:
            runs = simulate_batch([p for p, _ in built], hierarchy, [c["gamma"] for c in candidates], T, seeds=seeds,
                                  seed=seed, x0=starts, record_every=1)
        else:  # who takes part is drawn per run from its own streams: one run per candidate
            runs = [simulate(p, hierarchy, c["gamma"], T, seeds=seeds, seed=seed, x0=start, record_every=1,
                             participation=participation, participation_mode=cell["participation_mode"])
                    for c, (p, _), start in zip(candidates, built, starts)]
    out = []
    for c, (problem, _), start, run in zip(candidates, built, starts, runs):
        if "weights" in cell or participation is not None:  # Theorem P's numbers (docs/theory.md §10)
            x = federated_instance(problem, hierarchy.levels, hierarchy.periods, c["gamma"], T, start,
                                   participation=participation)
        else:
            x, _ = instance_of(problem, hierarchy, c["gamma"], T, start)
        with np.errstate(over="ignore", invalid="ignore"):
            samples = [math.inf] * seeds if run.diverged is not None else run.average_grad_norm_sq().tolist()
        if not all(math.isfinite(v) for v in samples):  # an average beyond float64: diverged, for this search
            samples = [math.inf] * seeds
        out.append({"instance": x, "samples": samples, "deterministic": not _random(c)})
    return out


def _random(candidate: dict[str, Any]) -> bool:
    """Whether a candidate's run is random: noise, or a sample of the participants drawn per round
    (then one seed is one draw, never the run's value, and its confirmation takes fresh seeds)."""
    return candidate["sigma"] > 0 or candidate["cell"].get("participation") is not None


def _score(statement: SearchTarget, x: Instance, mean: float) -> tuple[float, dict[str, float]]:
    """``measured / bound`` of the statement under test (0 where the run is outside its condition)
    and the theorem's parts at ``x``."""
    parts = statement.parts(x)
    if not statement.target.condition(x):
        return 0.0, parts
    value = statement.target.value(x)
    return (mean / value if value > 0 else (math.inf if mean > 0 else 0.0)), parts


def _dominant(parts: dict[str, float]) -> list[str]:
    """The parts at least half of the bound (the per-term grain of ``hsgd power``)."""
    total = sum(parts.values())
    return [name for name, value in parts.items() if total > 0 and value >= 0.5 * total]


# ----------------------------------------------------------------------- the search
def _thetas(parts: dict[str, float], measured: float) -> dict[str, float]:
    """Per part ``k`` of a bound ``B``, the smallest factor its constant could be multiplied by
    without the bound falling below ``measured``: ``theta_k = 1 - (B - measured) / term_k``
    (a run measuring ``m`` refutes every bound with term ``k`` scaled below ``theta_k``, the others
    unchanged)."""
    total = sum(parts.values())
    return {name: 1 - (total - measured) / value for name, value in parts.items() if value > 0}


def search_cell(config: dict[str, Any]) -> dict[str, Any]:
    """One cell's search (a task of :func:`figures.sweep.run_sweep`): differential evolution over
    :func:`candidate_of`'s box, ``config["budget"]`` candidate runs, each generation one batched
    simulation. Returns how many runs were made, the best candidates against the statement (its
    search ratio, highest first), the best per theorem part (``measured/bound`` where the part is
    at least half of the bound) and the best ``theta`` per part (:func:`_thetas`).

    ``config["objective"]``: ``"falsify"`` (default) maximises ``measured/bound`` against a mutant,
    and against the theorem itself the same times ``min(1, 2 share)`` of the cell's target part;
    ``"tightness"`` maximises the target part's ``theta``."""
    from scipy.optimize import differential_evolution

    cell, budget, seed = config["cell"], int(config["budget"]), int(config["seed"])
    tightness = config.get("objective", "falsify") == "tightness"
    t = resolve_theorem(config["theorem"])
    screening = _screening_parts(t, cell)
    statement = _statement(config["theorem"], config.get("mutant"), screening)
    gamma_max = 0.0 if cell.get("fixed") else largest_step(statement.target.condition, cell)  # its own condition
    noisy = (cell["family"] in ("noise", "mixed") or bool(cell.get("fixed", {}).get("sigma"))
             or cell.get("participation") is not None)  # a drawn sample makes a noise-free run random too
    seeds = SEARCH_SEEDS if noisy else 1
    D = _dimension(cell)
    population = max(8, min(128, budget // 8))
    evaluated: list[dict[str, Any]] = []

    def objective(V: np.ndarray) -> np.ndarray:
        V = V.T if V.ndim == 2 else V.reshape(1, D)
        remaining = budget - len(evaluated)
        scores = np.zeros(len(V))
        if remaining <= 0:
            return scores
        todo = V[:remaining]
        candidates = [candidate_of(cell, v, gamma_max) for v in todo]
        for i, (c, m) in enumerate(zip(candidates, measure(candidates, seeds, seed))):
            mean = float(np.mean(m["samples"]))
            ratio, parts = _score(statement, m["instance"], mean)
            total = sum(parts.values())
            thetas = _thetas(parts, mean) if statement.target.condition(m["instance"]) else {}
            evaluated.append({"candidate": c, "ratio": ratio, "mean": mean, "theta": thetas,
                              "terms": {name: mean / total for name in _dominant(parts)} if total > 0 else {}})
            if tightness:
                scores[i] = ratio if cell["target"] == "total" else thetas.get(cell["target"], -math.inf)
            elif statement.target.name != "theorem":
                scores[i] = ratio
            else:  # how close a run comes where the cell's term is most of the bound (short of half, in proportion)
                scores[i] = ratio * min(1.0, 2.0 * parts.get(cell["target"], 0.0) / total) if total > 0 else 0.0
        # within +-1e150: differential evolution takes the spread of the energies, whose squares must not overflow
        return -np.clip(np.nan_to_num(scores, nan=-1e150, posinf=1e150, neginf=-1e150), -1e150, 1e150)

    from scipy.stats import qmc

    fixed = cell.get("fixed")  # a fixed cell's own step, times L: the turn-around in units of s / L
    gamma_scale = gamma_max if fixed is None else float(fixed["gamma"]) * float(fixed["L"])
    prior = prior_points(cell, gamma_scale)[:population // 2]
    size = max(population, 5, len(prior) + 1)
    start = np.vstack([prior, qmc.LatinHypercube(d=D, seed=seed).random(size - len(prior))])
    generations = math.ceil(budget / size)  # the last one is cut at the budget
    differential_evolution(objective, [(0.0, 1.0)] * D, rng=seed, maxiter=max(0, generations - 1), tol=0, atol=0,
                           polish=False, vectorized=True, updating="deferred", init=start)
    ranked = sorted((e for e in evaluated if not math.isnan(e["ratio"])), key=lambda e: -e["ratio"])
    best: list[dict[str, Any]] = []
    for e in ranked:  # distinct candidates only
        if all(e["candidate"] != b["candidate"] for b in best):
            best.append({"candidate": e["candidate"], "ratio": e["ratio"]})
        if len(best) == MAX_CONFIRM:
            break
    per_term: dict[str, dict[str, Any]] = {}
    per_theta: dict[str, dict[str, Any]] = {}
    for e in evaluated:
        for name, ratio in e["terms"].items():
            if name not in per_term or ratio > per_term[name]["term_ratio"]:
                per_term[name] = {"candidate": e["candidate"], "term_ratio": ratio}
        for name, theta in e["theta"].items():
            if name not in per_theta or theta > per_theta[name]["theta"]:
                per_theta[name] = {"candidate": e["candidate"], "theta": theta}
    return {"runs": len(evaluated), "seeds": seeds, "best": best, "per_term": per_term, "per_theta": per_theta}


def confirm(config: dict[str, Any]) -> dict[str, Any]:
    """Re-run one candidate on seeds the search never used and score it at the theorem's
    optimised parts (a task of :func:`figures.sweep.run_sweep`). ``config``: ``theorem``,
    ``mutant``, ``candidate``, ``seeds``, ``seed``, ``level``. Returns the per-seed averages,
    their mean and interval, the statement's bound and condition, the theorem's parts and the
    verdict (:func:`figures.verdicts.bound_holds` at ``level``)."""
    from figures.verdicts import bound_holds

    candidate = config["candidate"]
    statement = _statement(config["theorem"], config.get("mutant"))
    m = measure([candidate], int(config["seeds"]), int(config["seed"]))[0]
    x, samples = m["instance"], m["samples"]
    parts = theorem_terms(x, statement.theorem)
    inside = statement.target.condition(x)
    value = statement.target.value(x)
    mean = float(np.mean(samples))
    with np.errstate(over="ignore", invalid="ignore"):  # a huge spread over seeds overflows its square: inf
        verdict = bound_holds(samples, value, deterministic=m["deterministic"], level=float(config["level"]))
    if not inside:
        state, lower = "outside", None
    else:
        state = verdict.state
        lower = _lower(samples, m["deterministic"], float(config["level"]))
    total = sum(parts.values())
    return {"samples": samples, "mean": mean, "lower": lower, "bound": value, "inside": inside, "state": state,
            "deterministic": m["deterministic"], "ratio": mean / value if value > 0 else math.inf,
            "parts": parts, "shares": {k: v / total for k, v in parts.items()} if total > 0 else {},
            "theta": _thetas(parts, lower) if lower is not None and math.isfinite(lower) else {},
            "instance": x.to_json()}


def _lower(samples: Sequence[float], deterministic: bool, level: float) -> float:
    from empirical.statistics import confidence_interval

    if deterministic or len(samples) < 2 or not all(math.isfinite(v) for v in samples):
        return float(min(samples))
    with np.errstate(over="ignore", invalid="ignore"):
        lower = confidence_interval(np.asarray(samples), level)[1]
    return lower if math.isfinite(lower) else float(min(samples))


def _lower_ratio(result: dict[str, Any]) -> float | None:
    """A confirmation's lower interval end over its bound (``None`` outside the condition)."""
    lower, bound = result["lower"], result["bound"]
    return lower / bound if lower is not None and bound > 0 else None


def _valid_search(result: Any) -> str | None:
    if not isinstance(result, dict) or not isinstance(result.get("runs"), int) or "best" not in result \
            or "per_term" not in result or "per_theta" not in result:
        return "not a cell's search result"
    return None


def _valid_confirm(result: Any) -> str | None:
    if not isinstance(result, dict) or "samples" not in result or "state" not in result:
        return "not a confirmation result"
    return None


def _reproducer(spec: str, mutant: str | None, job: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """What ``hsgd falsify --replay FILE`` re-runs: the statement, the run and its numbers."""
    return {"theorem": spec, "mutant": mutant, "candidate": job["candidate"], "seeds": job["seeds"],
            "seed": job["seed"], "level": job["level"],
            "expected": {"mean": result["mean"], "lower": result["lower"], "bound": result["bound"],
                         "state": result["state"]}}


def falsify(spec: str = "sharp", *, mutant: str | None = None, budget: int = 2000, seed: int = 0,
            out_dir: str | Path = "out", executor: Executor | None = None, progress: bool = True,
            cells: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Search for a run that breaks the statement (module docstring); resumable in ``out_dir``.

    Args:
        spec: the theorem (a registered name, ``path/to/file.py:attr`` or ``module:attr``).
        mutant: test this mutant of the theorem instead (``hsgd power``'s names), e.g.
            ``"level_1_noise/2"``.
        budget: candidate runs of the search (split over the cells; the confirmations come on top).
        seed: the search's seed (``0 <= seed < 10_000``); the same seed gives the same search.
        out_dir: where the cells' results (``falsify_runs/``) are kept.
        executor: where the cells run (:func:`figures.executor.executor`); ``None`` runs them here.
        progress: progress bars on standard error.
        cells: the cells to search (default :data:`CELLS`, or :data:`QUICK_CELLS` below a budget of 500).

    Returns:
        The report (the JSON of ``hsgd falsify``): ``falsified``, ``runs``, ``runs_per_minute``,
        ``worst`` (``total`` and ``terms``: fresh-seed ``measured/bound``), ``confirmed`` and the
        ``reproducer``.
    """
    from figures.sweep import run_sweep

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer (candidate runs), got {budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 10_000:
        raise ValueError(f"seed must be an integer in [0, 10000), got {seed!r}")
    if isinstance(spec, Theorem):
        raise ValueError("give the theorem by name (a registered name or path/to/file.py:attr), so that the pool's "
                         "processes can rebuild it")
    t = resolve_theorem(spec)
    statement = _statement(spec, mutant)
    chosen = list(cells if cells is not None else (QUICK_CELLS if budget < 500 else CELLS))
    if cells is None and _numeric_bound(t, _probe(CELLS[2]).shape).extra:  # weights and participation apply
        chosen += FEDERATED_CELLS[::2] if budget < 500 else FEDERATED_CELLS  # small: weights (W), participation (P)
    shares = [LARGE_SHARE if cell["n"] > 64 else 1.0 for cell in chosen]
    configs = [{"theorem": spec, "mutant": mutant, "cell": cell, "seed": seed * 100 + i,
                "budget": max(1, int(budget * share / sum(shares)))} for i, (cell, share) in enumerate(zip(chosen, shares))]
    runs_dir = Path(out_dir) / "falsify_runs"
    started = time.perf_counter()
    searched = run_sweep(search_cell, configs, runs_dir, executor=executor, progress=progress,
                         description="falsify: search", validate=_valid_search)
    search_seconds = time.perf_counter() - started
    runs = sum(r["runs"] for r in searched)

    # what is confirmed: the candidates above the threshold (highest first), the best in total
    # and the best per term, each on fresh seeds
    above = sorted(((b["ratio"], b["candidate"], config["seed"], r["seeds"])
                    for config, r in zip(configs, searched) for b in r["best"] if b["ratio"] > THRESHOLD),
                   key=lambda item: -item[0])[:MAX_CONFIRM]
    tested = max(1, len(above))
    level = 1 - (1 - LEVEL) / tested
    jobs: dict[str, dict[str, Any]] = {}

    def job(candidate: dict[str, Any], search_seed: int, seeds: int) -> str:
        noisy = _random(candidate)
        j = {"theorem": spec, "mutant": mutant, "candidate": candidate, "seeds": FRESH_SEEDS if noisy else 1,
             "seed": search_seed + FRESH_OFFSET, "level": level}
        key = repr(sorted((k, repr(v)) for k, v in j.items()))
        jobs.setdefault(key, j)
        return key

    tests = [job(c, s, k) for _, c, s, k in above]
    best_total = max(((b["ratio"], b["candidate"], config["seed"], r["seeds"]) for config, r in zip(configs, searched)
                      for b in r["best"][:1]), key=lambda item: item[0], default=None)
    total_key = job(best_total[1], best_total[2], best_total[3]) if best_total is not None else None
    term_keys: dict[str, tuple[str, float]] = {}
    for config, r in zip(configs, searched):
        for name, info in r["per_term"].items():
            if name not in term_keys or info["term_ratio"] > term_keys[name][1]:
                term_keys[name] = (job(info["candidate"], config["seed"], r["seeds"]), info["term_ratio"])
    keys = list(jobs)
    results = dict(zip(keys, run_sweep(confirm, [jobs[k] for k in keys], runs_dir, executor=executor,
                                       progress=progress, description="falsify: fresh seeds",
                                       validate=_valid_confirm)))

    falsifying = [k for k in tests if results[k]["state"] == "above"]
    confirmed = [{"search_ratio": ratio, "fresh_ratio": results[k]["ratio"], "state": results[k]["state"],
                  "fresh_lower_ratio": _lower_ratio(results[k]),
                  "cell": jobs[k]["candidate"]["cell"]["name"]} for (ratio, *_), k in zip(above, tests)]
    terms = {}
    for name, (k, search_ratio) in term_keys.items():
        r = results[k]
        terms[name] = {"ratio": r["ratio"], "lower_ratio": _lower_ratio(r), "share": r["shares"].get(name),
                       "search_ratio": search_ratio, "cell": jobs[k]["candidate"]["cell"]["name"], "inside": r["inside"]}
    shown = falsifying[0] if falsifying else total_key
    report = {
        "theorem": t.name, "title": t.title, "source": t.source,
        "statement": statement.target.name, "description": statement.target.description,
        "falsified": bool(falsifying),
        "runs": runs, "seconds": round(search_seconds, 3),
        "runs_per_minute": round(60 * runs / search_seconds) if search_seconds > 0 else None,
        "worst": {"total": results[total_key]["ratio"] if total_key else None, "terms": terms},
        "worst_total_lower": _lower_ratio(results[total_key]) if total_key else None,
        "confirmed": confirmed,
        "reproducer": _reproducer(spec, mutant, jobs[shown], results[shown]) if shown else None,
        "budget": budget, "seed": seed, "cells": [c["name"] for c in chosen], "level": level,
        "rule": (f"falsified: a run inside the statement's condition whose lower {100 * level:.4g}% confidence bound "
                 f"on fresh seeds ({FRESH_SEEDS}; one for a noise-free run, its value) is above the bound; "
                 f"{LEVEL:.0%} family-wise (Bonferroni over k = {tested}: {len(above)} candidate(s) above "
                 f"{THRESHOLD} were tested)"),
    }
    return report


def replay(reproducer: dict[str, Any]) -> dict[str, Any]:
    """Re-run a reproducer (:func:`falsify`'s ``reproducer``): the confirmation run again, with
    ``same`` telling whether it measured the same numbers (it does, within one install: the same
    seeds and operations)."""
    for key in ("theorem", "candidate", "seeds", "seed", "level"):
        if key not in reproducer:
            raise ValueError(f"the reproducer has no {key!r}: give the JSON that hsgd falsify wrote")
    result = confirm({k: reproducer[k] for k in ("theorem", "mutant", "candidate", "seeds", "seed", "level")
                      if k in reproducer})
    expected = reproducer.get("expected", {})
    same = all(result[k] == expected.get(k) for k in ("mean", "lower", "bound", "state")) if expected else None
    return {**result, "same": same, "expected": expected}
