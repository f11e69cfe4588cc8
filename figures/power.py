"""Verification power: how large an error in a theorem the toolkit would catch, term by term.

Two instruments, run on the same *evidence* (measured runs with exact or certified constants):

* **witnesses** (:mod:`empirical.studies.witnesses`): instances built so that one term of the theorem
  dominates its bound; for each term the best ratio ``measured / bound`` over the evidence
  where that term is at least half of the bound says how much of that term a run can reach;
* **mutation testing** (:mod:`bounds.mutants`): optimistic mutants of the theorem (a
  coefficient halved, a term dropped, a factor halved, the condition loosened, ...). A mutant
  is *killed* when some run inside the mutant's own step-size condition measures more than the
  mutant's bound: the lower end of its 95% confidence interval over seeds is above it, or, for
  a deterministic run, the value itself is (up to the floating-point tolerance of
  :mod:`figures.verdicts`). The score is the fraction of mutants killed; the real theorem
  must never be killed.

Evidence: every saved witness at its own step size and horizon, at a longer horizon
(:data:`HORIZONS`), and at larger step sizes (``sqrt 2``, ``2`` and ``sqrt 10`` times the
theorem's largest admissible step, which only the mutants with looser conditions admit), and
the F3 battery (:func:`figures.paper.f3_battery.battery_configs`) at its own
step size and twice it. Runs go through :func:`figures.sweep.run_sweep` on the executor of
:func:`figures.executor.executor` (a process pool, this process, or a Dask cluster; the same
numbers from each), each written as it finishes, so an interrupted run resumes. Runs whose constants are
estimated are not evidence. A run that diverges measures an infinite average: it is evidence
against every statement whose condition admits it (counted under ``dropped["diverged"]``, and
kept).

``--theorem NAME`` does the same for any theorem (:mod:`bounds.theorems`: a registered name or a
user's own ``file.py:attr``), e.g. Theorem S (``sharp``, derived for this project); a theorem
not of Theorem 2's form has the generic mutants, which scale each of its parts
(:func:`bounds.mutants.term_mutants`).
"""

from __future__ import annotations

import functools
import math
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import numpy as np

from bounds import mutants
from bounds.instance import Instance, instance_bound, theorem_condition, theorem_terms
from bounds.mutants import Mutant
from bounds.statement import Theorem
from bounds.theorems import theorem, theorem2
from empirical.statistics import confidence_interval
from figures.verdicts import ATOL, RTOL, bound_holds

__all__ = ["STRETCHES", "Evidence", "evidence_configs", "evidence_point", "valid_point", "collect_evidence",
           "analyse", "power_report"]

STRETCHES = (math.sqrt(2.0), 2.0, math.sqrt(10.0))
"""Step sizes beyond the theorem's largest admissible one, as multiples of it: the largest that
``condition/2``, ``condition x4`` and ``condition/10`` admit."""

HORIZONS = {"kink_heterogeneity": 50, "kink_noise": 4}
"""How many times a witness's own horizon is also run (full mode), by family."""

QUICK_HORIZONS = {"kink_heterogeneity": 10}
"""The same in quick mode: the kink runs are four one-dimensional workers, cheap at any horizon."""


@dataclass(frozen=True)
class Evidence:
    """One measured run: where it came from, the numbers the theorem is evaluated at, and the
    per-seed averages of ``||grad f(u^t)||^2`` over ``t < T``."""

    source: str
    group: str
    instance: Instance
    samples: tuple[float, ...]
    deterministic: bool
    term: str | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @functools.cached_property
    def lower(self) -> float:
        """The lower end of the 95% interval of the mean (the value itself when deterministic)."""
        if self.deterministic:
            return self.samples[0]
        return confidence_interval(np.asarray(self.samples))[1]


# ----------------------------------------------------------------------- the runs
def evidence_configs(quick: bool = False) -> list[dict[str, Any]]:
    """The runs: each witness at its own step size and stretched, and the F3 battery.

    With ``quick``, the witnesses at their own step size and at ``sqrt 2`` and 2 times the
    largest admissible one, with horizons capped at 600 steps (the kink witnesses also at ten times their own),
    and the quick battery.
    """
    from empirical.studies.witnesses import load_witnesses
    from figures.paper.f3_battery import battery_configs

    configs: list[dict[str, Any]] = []
    for index, entry in enumerate(load_witnesses()):
        T = int(entry["T"]) if not quick else min(int(entry["T"]), 600)
        seeds = max(int(entry["seeds"]), 1)
        for step in (("own",) + (STRETCHES if not quick else STRETCHES[:2])):
            configs.append({"kind": "witness", "index": index, "term": entry["term"], "T": T, "seeds": seeds,
                            "step": step})
        # A longer horizon shrinks the init term, so the witnessed term is nearly the whole
        # bound: the kink orbits are periodic (the measured value does not change), the noise
        # witnesses settle; both are what lets a run catch a term that is too small.
        longer = HORIZONS.get(entry["instance"]["family"], 1) if not quick else QUICK_HORIZONS.get(
            entry["instance"]["family"], 1)
        if longer > 1:
            configs.append({"kind": "witness", "index": index, "term": entry["term"], "T": T * longer,
                            "seeds": seeds, "step": "own"})
    for config in battery_configs(quick):
        for step in ("own", 2.0):
            configs.append({"kind": "battery", **{k: v for k, v in config.items() if k != "record"}, "step": step})
    return configs


def evidence_point(config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration of :func:`evidence_configs`; returns the instance (JSON), the
    per-seed averages and whether the run is deterministic, or where it diverged."""
    from empirical.engine import DivergenceWarning, simulate
    from empirical.instances import instance_of
    from bounds.optimal import largest_step_size

    if config["kind"] == "witness":
        from empirical.studies.witnesses import build, load_witnesses

        entry = load_witnesses()[config["index"]]
        problem, hierarchy = build(entry)
        x0, seed, own = np.asarray(entry["x0"], dtype=float), int(entry.get("seed", 0)), float(entry["gamma"])
        source = f"witness {entry['term']}, P = {entry['instance'].get('P')}"
        group = f"witness {entry['term']}"
    else:
        from figures.paper.f3_battery import battery_setup

        c = config
        problem, hierarchy = battery_setup(c)
        x0, seed, own = None, int(c["seed"]), None
        source = f"battery N = {c['N']}, I = {c['I']}, G = {c['G']}, {c['grouping']}, sigma = {c['sigma']}"
        group = "F3 battery"
    k = problem.constants(hierarchy.levels)
    edge = largest_step_size(hierarchy.shape.bound(), L=k.L.value)[0]
    gamma = (own if own is not None else edge) if config["step"] == "own" else edge * float(config["step"])
    step_text = "own step" if config["step"] == "own" else f"{float(config['step']):.3g} x the largest step"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        run = simulate(problem, hierarchy, lr=gamma, steps=int(config.get("T", config.get("steps"))),
                       seeds=int(config["seeds"]), seed=seed, x0=x0, record_every=1)
    out: dict[str, Any] = {"source": f"{source} ({step_text})", "group": group, "term": config.get("term")}
    x, constants = instance_of(problem, hierarchy, gamma, int(run.config["steps"]), x0)
    samples = run.average_grad_norm_sq()
    if run.diverged is not None or not np.all(np.isfinite(samples)):
        step = run.diverged["step"] if run.diverged is not None else int(run.steps[-1])
        return {**out, "diverged": step, "instance": x.to_json(), "estimated": list(constants.estimated())}
    deterministic = bool(x.sigma == 0 or (samples.size >= 2 and np.all(samples == samples[0])))
    return {**out, "instance": x.to_json(), "samples": samples.tolist(), "deterministic": deterministic,
            "estimated": list(constants.estimated())}


def valid_point(result: Any) -> str | None:
    """``None`` if ``result`` has the shape :func:`evidence_point` returns, else what is wrong (the
    check a cached run of ``power_runs`` passes before it is used, :mod:`figures.sweep`)."""
    if not isinstance(result, dict):
        return "not a JSON object"
    for key in ("source", "group", "instance", "estimated"):
        if key not in result:
            return f"no {key!r}"
    if "diverged" in result:
        return None
    samples = result.get("samples")
    if not isinstance(samples, list) or not samples or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in samples):
        return "'samples' is not a non-empty list of numbers"
    if not isinstance(result.get("deterministic"), bool):
        return "no boolean 'deterministic'"
    return None


def collect_evidence(out_dir: str | Path, *, quick: bool = False, executor: Executor | None = None,
                     progress: bool = True, theorem_spec: TheoremSpec | None = None
                     ) -> tuple[list[Evidence], dict[str, int]]:
    """Run (or resume) every configuration; returns the evidence and counts of what was dropped.

    With ``theorem_spec``, the theorem's parts at every run are computed on ``executor`` too when
    it has free parameters (:func:`prepare_terms`), for an analysis of it that follows.
    """
    from figures.sweep import run_sweep

    configs = evidence_configs(quick)
    results = run_sweep(evidence_point, configs, Path(out_dir) / ("power_runs_quick" if quick else "power_runs"),
                        executor=executor, progress=progress, description="power: runs", validate=valid_point)
    evidence, dropped = [], {"diverged": 0, "estimated constants": 0}
    for result in results:
        if result.get("estimated"):
            dropped["estimated constants"] += 1
        elif "diverged" in result:
            # A run whose average is infinite measures more than any finite bound: evidence
            # against every statement whose condition admits it (only "condition x4" here).
            dropped["diverged"] += 1
            evidence.append(Evidence(f"{result['source']}, diverged at step {result['diverged']}", result["group"],
                                     Instance.from_json(result["instance"]), (math.inf,), True, result.get("term")))
        else:
            evidence.append(Evidence(result["source"], result["group"], Instance.from_json(result["instance"]),
                                     tuple(result["samples"]), result["deterministic"], result.get("term")))
    if theorem_spec is not None:
        prepare_terms(theorem_spec, evidence, executor)
    return evidence, dropped


# ----------------------------------------------------------------------- the analysis
TheoremSpec = Union[str, Theorem]
"""A registered name, ``path/to/file.py:attr`` or ``module:attr`` (:func:`bounds.theorems.theorem`),
or a :class:`~bounds.statement.Theorem`."""

_TERMS: dict[tuple[Theorem, Instance], dict[str, float]] = {}
"""A theorem's parts per instance (keyed by the theorem object, which hashes by identity), computed
once: a theorem with free parameters optimises them per instance."""


def _terms_of(spec: TheoremSpec, x: Instance) -> dict[str, float]:
    """The theorem's parts at ``x`` (a top-level function of a name, so that a worker process can
    compute them)."""
    return theorem_terms(x, theorem(spec))


def _cached_terms(t: Theorem, x: Instance) -> dict[str, float]:
    key = (t, x)
    terms = _TERMS.get(key)
    if terms is None:
        terms = _TERMS[key] = theorem_terms(x, t)
    return terms


def prepare_terms(spec: TheoremSpec, evidence: Sequence[Evidence], executor: Executor | None) -> None:
    """Compute the parts of every run not yet known on ``executor``, for a theorem with free
    parameters (one optimisation per run, the bulk of :func:`analyse` for Theorem S), so that the
    analysis, which follows in this process, finds them. Nothing to do for a theorem without
    free parameters, without an executor, with one that runs here, or for a theorem given as an
    object (a worker process could not rebuild it)."""
    from figures.executor import is_inline

    t = theorem(spec)
    if not instance_bound(t, 1).free or isinstance(spec, Theorem):
        return
    todo = [x for x in dict.fromkeys(e.instance for e in evidence) if (t, x) not in _TERMS]
    if not todo or executor is None or is_inline(executor):
        return
    for x, terms in zip(todo, executor.map(functools.partial(_terms_of, spec), todo)):
        _TERMS[(t, x)] = terms


def _theorem_of(spec: TheoremSpec) -> tuple[Theorem, Callable[[Instance], dict[str, float]],
                                          Callable[..., bool], list[Mutant]]:
    """The theorem, its parts and conditions at an instance, and its candidates: the theorem
    itself first, then its mutants (Theorem 2's named ones for a theorem of Theorem 2's form,
    else the generic part mutants, :mod:`bounds.mutants`)."""
    t = theorem(spec)
    if t.coefficients is not None and theorem2(t.coefficients) is t:
        return t, mutants.theorem(t.coefficients).parts, mutants.theorem(t.coefficients).condition_of, [
            mutants.theorem(t.coefficients), *mutants.mutants(max_levels=2, coefficients=t.coefficients)]
    terms_of = functools.partial(_cached_terms, t)

    def condition_of(x: Instance, loosen: int = 1) -> bool:
        return theorem_condition(x, loosen, t)

    real = mutants.identity("theorem", f"{t.title} ({t.source})", terms_of, condition_of)
    return t, terms_of, condition_of, [real, *mutants.term_mutants(terms_of, condition_of,
                                                                    list(instance_bound(t, 2).part_exprs))]


def _killed(e: Evidence, value: float) -> tuple[bool, float]:
    """Whether ``e`` kills a bound ``value``, and the margin ``lower / value - 1``."""
    verdict = bound_holds(e.samples, value, deterministic=e.deterministic)
    lower = e.lower
    margin = math.inf if value <= 0 and lower > ATOL else (lower / value - 1 if value > 0 else -1.0)
    return verdict.state == "above", margin


def analyse(evidence: Sequence[Evidence], theorem_spec: TheoremSpec = "theorem2") -> dict[str, Any]:
    """The per-term best ratios, the kill matrix and the score (the JSON of ``hsgd power``)."""
    t, terms_of, condition_of, candidates = _theorem_of(theorem_spec)
    inside = [e for e in evidence if condition_of(e.instance)]
    terms: dict[str, dict[str, Any]] = {}
    for e in inside:
        parts = terms_of(e.instance)
        bound = sum(parts.values())
        for name, value in parts.items():
            if bound > 0 and value >= 0.5 * bound:
                ratio = e.mean / bound
                if name not in terms or ratio > terms[name]["best_ratio"]:
                    terms[name] = {"best_ratio": ratio, "term_share": value / bound, "witness": e.source,
                                   "ratio_to_term": e.mean / value, "instance": e.instance.to_json()}
    for name in ("init", "noise", "level_1_noise", "level_1_heterogeneity", "level_2_noise",
                 "level_2_heterogeneity"):
        terms.setdefault(name, {"best_ratio": None, "witness": None,
                                "note": "no run inside the condition where this term is at least half of the bound"})
    groups = sorted({e.group for e in evidence})
    real = candidates[0]
    reference = [(real.value(e.instance), real.condition(e.instance)) for e in evidence]
    results = []
    for m in candidates:
        best: dict[str, Any] | None = None
        per_group = {g: None for g in groups}
        for e, (real_value, real_inside) in zip(evidence, reference):
            if not (m.applies(e.instance) and m.condition(e.instance)):
                continue
            value = m.value(e.instance)
            if m is not real and value >= real_value and real_inside:
                continue  # the mutation changes nothing on this run: it says nothing about the mutant
            killed, margin = _killed(e, value)
            if per_group[e.group] is None or margin > per_group[e.group]:
                per_group[e.group] = margin
            if best is None or (killed, margin) > (best["killed"], best["margin"]):
                best = {"killed": killed, "by": e.source, "margin": margin}
        best = best or {"killed": False, "by": None, "margin": None}
        results.append({"name": m.name, "description": m.description, **best,
                        "margin_by_group": {g: v for g, v in per_group.items()}})
    theorem_result, mutant_results = results[0], results[1:]
    killed = sum(r["killed"] for r in mutant_results)
    return {
        "theorem": t.name,
        "title": t.title,
        "source": t.source,
        "terms": terms,
        "mutants": mutant_results,
        "theorem_killed": theorem_result["killed"],
        "theorem_closest": {"by": theorem_result["by"], "margin": theorem_result["margin"]},
        "score": killed / len(mutant_results),
        "killed": killed,
        "total": len(mutant_results),
        "groups": groups,
        "evidence": len(evidence),
        "rule": (f"killed: some run inside the mutant's own condition has the lower end of its 95% CI over "
                 f"seeds above the mutant's bound (deterministic runs: its value, beyond {RTOL:g} relative + "
                 f"{ATOL:g})"),
    }


def power_report(out_dir: str | Path = "out", *, theorem_spec: TheoremSpec = "theorem2", quick: bool = False,
                 executor: Executor | None = None, progress: bool = True) -> dict[str, Any]:
    """Collect (or resume) the evidence and analyse it for the theorem ``theorem_spec`` names
    (``hsgd power``)."""
    theorem(theorem_spec)  # an unknown theorem is refused before any run
    evidence, dropped = collect_evidence(out_dir, quick=quick, executor=executor, progress=progress,
                                         theorem_spec=theorem_spec)
    report = analyse(evidence, theorem_spec)
    report["dropped"] = dropped
    report["quick"] = quick
    return report
