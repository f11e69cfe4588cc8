"""Verification power: how large an error in a theorem the toolkit would catch, term by term.

Two instruments, run on the same *evidence* (measured runs with exact or certified constants):

* **witnesses** (:mod:`empirical.studies.witnesses`): instances built so that one term of the theorem
  dominates its bound; for each term the best ratio ``measured / bound`` over the evidence
  where that term is at least half of the bound says how much of that term a run can reach;
* **mutation testing** (:mod:`bounds.mutants`): optimistic mutants of the theorem (a
  coefficient halved, a term dropped, a factor halved, the condition loosened, ...). A mutant
  is *killed* when some run inside the mutant's own step-size condition measures more than the
  mutant's bound: for a deterministic run, the value itself (up to the floating-point tolerance
  of :mod:`figures.verdicts`); for a noisy run, in two stages (:data:`RULE`). First stage: the
  lower end of the run's 95% confidence interval over its own seeds is above the bound. Of the
  noisy runs flagged so, the one with the largest margin is run again on fresh seeds
  (:data:`CONFIRM_SEEDS` seeds from the root seed ``+`` :data:`CONFIRM_OFFSET`, disjoint from
  every first-stage run's), and the mutant is killed only if that run's lower 95% end is above
  the bound too. Without the second stage a valid bound that ``k`` of the ~250 runs reach
  would be killed by chance with probability ``1 - 0.975^k``; with it the selection is made on
  one set of seeds and the kill tested on another, once per mutant, so a valid bound is falsely
  killed with probability about 2.5% (one one-sided interval) however many runs there are. The
  score is the fraction of mutants killed; the real theorem must never be killed (the same
  rule). The confirmations are runs of the same sweep, cached and resumed like the others.

Per term, the run with the best ratio is *selected* on its own seeds and its ratio *reported*
from a fresh-seed run of it when it is noisy (the selection biases its own value upward).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

import numpy as np

from bounds import mutants
from bounds.instance import Instance, instance_bound, theorem_terms
from bounds.mutants import Mutant
from bounds.statement import Theorem
from bounds.theorems import theorem
from empirical.statistics import confidence_interval
from figures.verdicts import ATOL, RTOL, bound_holds

__all__ = ["STRETCHES", "CONFIRM_SEEDS", "CONFIRM_OFFSET", "RULE", "Evidence", "evidence_configs", "evidence_point",
           "valid_point", "collect_evidence", "fresh_config", "confirm_runs", "analyse", "power_report"]

STRETCHES = (math.sqrt(2.0), 2.0, math.sqrt(10.0))
"""Step sizes beyond the theorem's largest admissible one, as multiples of it: the largest that
``condition/2``, ``condition x4`` and ``condition/10`` admit."""

HORIZONS = {"kink_heterogeneity": 50, "kink_noise": 4}
"""How many times a witness's own horizon is also run (full mode), by family."""

QUICK_HORIZONS = {"kink_heterogeneity": 10}
"""The same in quick mode: the kink runs are four one-dimensional workers, cheap at any horizon."""

CONFIRM_SEEDS = 64
"""Seeds of a fresh-seed confirmation run (the witness library's :data:`~empirical.studies.witnesses.FRESH_SEEDS`)."""

CONFIRM_OFFSET = 10**6
"""Added to a run's root seed for its confirmation run: ``SeedSequence(seed + 10**6)`` spawns streams
independent of the first stage's ``SeedSequence(seed)`` (the witness library's
:data:`~empirical.studies.witnesses.FRESH_SEED_OFFSET`: a witness at its own step and horizon
is confirmed on the very seeds its library value is measured on). Only the noise changes: a
battery problem and its grouping keep their own seed."""

RULE = (f"killed: a run inside the mutant's own condition measures more than its bound; a deterministic run "
        f"by its value (beyond {RTOL:g} relative + {ATOL:g}); a noisy run in two stages: flagged when the lower "
        f"end of its 95% CI over its own seeds is above the bound, then the flagged run with the largest margin "
        f"is re-run on {CONFIRM_SEEDS} fresh seeds (root seed + 10^6) and kills only if that run's lower 95% end "
        f"is above the bound too (one confirmation per mutant: a valid bound is falsely killed with probability "
        f"about 2.5%, however many runs)")
"""The kill rule, as the report states it."""


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
    config: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The configuration of :func:`evidence_configs` it was run from (what a confirmation re-runs)."""
    seed: int | None = field(default=None, compare=False)
    """The root seed of its noise (``None`` when not known)."""

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
    if config["kind"] == "witness":  # a witness runs at more than one horizon: say which
        step_text += f", T = {int(config['T'])}"
    seed += int(config.get("seed_offset", 0))  # a confirmation's fresh seeds: the noise only, not the problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        run = simulate(problem, hierarchy, lr=gamma, steps=int(config.get("T", config.get("steps"))),
                       seeds=int(config["seeds"]), seed=seed, x0=x0, record_every=1)
    out: dict[str, Any] = {"source": f"{source} ({step_text})", "group": group, "term": config.get("term"),
                           "seed": seed, "seeds": int(config["seeds"])}
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
    results = run_sweep(evidence_point, configs, _runs_dir(out_dir, quick), executor=executor, progress=progress,
                        description="power: runs", validate=valid_point)
    evidence, dropped = [], {"diverged": 0, "estimated constants": 0}
    for config, result in zip(configs, results):
        if result.get("estimated"):
            dropped["estimated constants"] += 1
            continue
        dropped["diverged"] += "diverged" in result
        evidence.append(_evidence_of(result, config))
    if theorem_spec is not None:
        prepare_terms(theorem_spec, evidence, executor)
    return evidence, dropped


def _runs_dir(out_dir: str | Path, quick: bool) -> Path:
    return Path(out_dir) / ("power_runs_quick" if quick else "power_runs")


def _evidence_of(result: dict[str, Any], config: Mapping[str, Any]) -> Evidence:
    """The evidence of one result of :func:`evidence_point`."""
    if "diverged" in result:
        # A run whose average is infinite measures more than any finite bound: evidence
        # against every statement whose condition admits it (only "condition x4" here).
        return Evidence(f"{result['source']}, diverged at step {result['diverged']}", result["group"],
                        Instance.from_json(result["instance"]), (math.inf,), True, result.get("term"), config,
                        result.get("seed"))
    return Evidence(result["source"], result["group"], Instance.from_json(result["instance"]),
                    tuple(result["samples"]), result["deterministic"], result.get("term"), config, result.get("seed"))


def fresh_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The confirmation run of a configuration: :data:`CONFIRM_SEEDS` seeds from its root seed
    ``+`` :data:`CONFIRM_OFFSET` (the same problem, horizon and step size)."""
    return {**config, "seeds": CONFIRM_SEEDS, "seed_offset": CONFIRM_OFFSET}


Confirm = Callable[[Sequence[Evidence]], Sequence[Evidence]]
"""What runs confirmations: given noisy runs, the same runs on fresh seeds (one each, in order)."""


def confirm_runs(out_dir: str | Path, runs: Sequence[Evidence], *, quick: bool = False,
                 executor: Executor | None = None, progress: bool = True) -> list[Evidence]:
    """Each run of ``runs`` again on fresh seeds (:func:`fresh_config`), through the same sweep
    as the first-stage runs (cached in ``out_dir/power_runs[_quick]``, resumed, on ``executor``)."""
    from figures.sweep import run_sweep

    if not runs:
        return []
    missing = [e.source for e in runs if e.config is None]
    if missing:
        raise ValueError(f"a run without its configuration cannot be confirmed: {missing[0]}")
    configs = [fresh_config(e.config) for e in runs]
    results = run_sweep(evidence_point, configs, _runs_dir(out_dir, quick), executor=executor, progress=progress,
                        description="power: fresh-seed confirmations", validate=valid_point)
    return [_evidence_of(result, config) for result, config in zip(results, configs)]


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
    found = mutants.candidates(t, levels=2, parts=functools.partial(_cached_terms, t))
    return t, found[0].parts, found[0].condition_of, found


def _killed(e: Evidence, value: float) -> tuple[bool, float]:
    """Whether ``e``'s own measurement is above a bound ``value`` (for a noisy run the first stage
    only), and the margin ``lower / value - 1``."""
    verdict = bound_holds(e.samples, value, deterministic=e.deterministic)
    lower = e.lower
    margin = math.inf if value <= 0 and lower > ATOL else (lower / value - 1 if value > 0 else -1.0)
    return verdict.state == "above", margin


def _measurement(e: Evidence) -> dict[str, Any]:
    """A run's mean, 95% interval and seeds, as the report states a confirmation."""
    n = len(e.samples)
    mean = float(np.mean(e.samples))
    low, high = (mean, mean) if e.deterministic or n < 2 else confidence_interval(np.asarray(e.samples))[1:]
    return {"seed": e.seed, "seeds": n, "mean": mean, "ci_low": float(low), "ci_high": float(high)}


def analyse(evidence: Sequence[Evidence], theorem_spec: TheoremSpec = "theorem2",
            confirm: Confirm | None = None) -> dict[str, Any]:
    """The per-term best ratios, the kill matrix and the score (the JSON of ``hsgd power``).

    A noisy run kills only when confirmed on fresh seeds (:data:`RULE`): ``confirm`` runs the
    confirmations (:func:`confirm_runs`; a test may pass its own), all in one call. Without it
    no noisy run kills, and a mutant a noisy run flags says ``"not confirmed"``. Per term, the
    best run is selected by its own seeds' mean and, when noisy, its ratio is its fresh run's
    (``first_ratio``: the selecting one).
    """
    t, terms_of, condition_of, candidates = _theorem_of(theorem_spec)
    groups = sorted({e.group for e in evidence})
    index = {id(e): i for i, e in enumerate(evidence)}

    # the per-term selection, on each run's own seeds
    selected: dict[str, tuple[Evidence, float, float, float]] = {}
    for e in evidence:
        if not condition_of(e.instance):
            continue
        parts = terms_of(e.instance)
        bound = sum(parts.values())
        for name, value in parts.items():
            if bound > 0 and value >= 0.5 * bound and (name not in selected or e.mean / bound > selected[name][1]):
                selected[name] = (e, e.mean / bound, value, bound)

    # the first stage: every candidate against every run it applies to
    real = candidates[0]
    reference = [(real.value(e.instance), real.condition(e.instance)) for e in evidence]
    scans = []
    for m in candidates:
        per_group: dict[str, float | None] = {g: None for g in groups}
        closest: tuple[float, Evidence] | None = None
        kills: list[tuple[float, Evidence]] = []    # deterministic: final
        flagged: list[tuple[float, Evidence, float]] = []  # noisy: to be confirmed
        for e, (real_value, real_inside) in zip(evidence, reference):
            if not (m.applies(e.instance) and m.condition(e.instance)):
                continue
            value = m.value(e.instance)
            if m is not real and value >= real_value and real_inside:
                continue  # the mutation changes nothing on this run: it says nothing about the mutant
            above, margin = _killed(e, value)
            if per_group[e.group] is None or margin > per_group[e.group]:
                per_group[e.group] = margin
            if above and e.deterministic:
                kills.append((margin, e))
            elif above:
                flagged.append((margin, e, value))
            elif closest is None or margin > closest[0]:
                closest = (margin, e)
        scans.append((m, per_group, closest, kills, flagged))

    # the second stage: one fresh-seed run per candidate a noisy run flags (and per selected noisy best run)
    wanted = {index[id(max(flagged, key=lambda f: f[0])[1])] for _, _, _, kills, flagged in scans if flagged and not kills}
    wanted |= {index[id(e)] for e, *_ in selected.values() if not e.deterministic}
    order = sorted(wanted)
    fresh: dict[int, Evidence] = {}
    if confirm is not None and order:
        for i, again in zip(order, confirm([evidence[i] for i in order]), strict=True):
            if again.instance != evidence[i].instance:
                raise ValueError(f"the confirmation of {evidence[i].source} ran another instance")
            fresh[i] = again

    terms: dict[str, dict[str, Any]] = {}
    for name, (e, first, value, bound) in selected.items():
        again = e if e.deterministic else fresh.get(index[id(e)])
        info: dict[str, Any] = {"term_share": value / bound, "witness": e.source, "instance": e.instance.to_json(),
                                "first_ratio": first}
        if again is None:
            info.update(best_ratio=None, note="selected on its own seeds, not measured on fresh ones (no confirmation "
                                              "runs)")
        else:
            measured = _measurement(again)
            info.update(best_ratio=again.mean / bound, ratio_to_term=again.mean / value, measured=measured,
                        ratio_ci95=[measured["ci_low"] / bound, measured["ci_high"] / bound],
                        fresh=not e.deterministic)
        terms[name] = info
    for name in ("init", "noise", "level_1_noise", "level_1_heterogeneity", "level_2_noise",
                 "level_2_heterogeneity"):
        terms.setdefault(name, {"best_ratio": None, "witness": None,
                                "note": "no run inside the condition where this term is at least half of the bound"})

    results = []
    for m, per_group, closest, kills, flagged in scans:
        out: dict[str, Any] = {"name": m.name, "description": m.description, "flagged": len(flagged),
                               "confirmation": None}
        if kills:
            margin, e = max(kills, key=lambda k: k[0])
            out.update(killed=True, by=e.source, margin=margin, deterministic=True,
                       killed_in=sorted({k[1].group for k in kills}))
        elif flagged:
            first, e, value = max(flagged, key=lambda f: f[0])
            again = fresh.get(index[id(e)])
            if again is None:
                out.update(killed=False, by=e.source, margin=None, first_margin=first, deterministic=False,
                           killed_in=[], note="flagged on its own seeds, not confirmed (no confirmation runs)")
            else:
                confirmed, margin = _killed(again, value)
                out.update(killed=confirmed, by=e.source, margin=margin, first_margin=first, deterministic=False,
                           killed_in=[e.group] if confirmed else [],
                           confirmation={**_measurement(again), "bound": value, "margin": margin,
                                         "killed": confirmed})
        elif closest is not None:
            out.update(killed=False, by=closest[1].source, margin=closest[0], deterministic=closest[1].deterministic,
                       killed_in=[])
        else:
            out.update(killed=False, by=None, margin=None, killed_in=[])
        out["margin_by_group"] = dict(per_group)
        results.append(out)
    theorem_result, mutant_results = results[0], results[1:]
    killed = sum(r["killed"] for r in mutant_results)
    confirmed = [r for r in results if r["confirmation"] is not None]
    return {
        "theorem": t.name,
        "title": t.title,
        "source": t.source,
        "terms": terms,
        "mutants": mutant_results,
        "theorem_killed": theorem_result["killed"],
        "theorem_closest": {"by": theorem_result["by"], "margin": theorem_result["margin"],
                            "confirmation": theorem_result["confirmation"]},
        "score": killed / len(mutant_results),
        "killed": killed,
        "total": len(mutant_results),
        "groups": groups,
        "evidence": len(evidence),
        "confirmations": {"runs": len(fresh), "seeds": CONFIRM_SEEDS, "seed_offset": CONFIRM_OFFSET,
                          "flagged_mutants": sum(r["flagged"] > 0 and not r.get("deterministic", False)
                                                 for r in mutant_results),
                          "confirmed": sum(bool(r["confirmation"]["killed"]) for r in confirmed if r is not
                                           theorem_result),
                          "not_confirmed": [r["name"] for r in mutant_results
                                            if r["flagged"] and not r["killed"]]},
        "rule": RULE,
    }


def power_report(out_dir: str | Path = "out", *, theorem_spec: TheoremSpec = "theorem2", quick: bool = False,
                 executor: Executor | None = None, progress: bool = True) -> dict[str, Any]:
    """Collect (or resume) the evidence, confirm on fresh seeds what a noisy run would kill
    (:func:`confirm_runs`), and analyse it for the theorem ``theorem_spec`` names (``hsgd power``)."""
    theorem(theorem_spec)  # an unknown theorem is refused before any run
    evidence, dropped = collect_evidence(out_dir, quick=quick, executor=executor, progress=progress,
                                         theorem_spec=theorem_spec)
    confirm = functools.partial(confirm_runs, out_dir, quick=quick, executor=executor, progress=progress)
    report = analyse(evidence, theorem_spec, confirm)
    report["dropped"] = dropped
    report["quick"] = quick
    return report
