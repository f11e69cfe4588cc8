"""A seeded adversarial battery for Theorems W and P (docs/theory.md §10.5).

Every case is an H-SGD run of one to three levels on a kink problem
(:class:`empirical.problems.witness.KinkProblem`: exact ``L``, ``f*`` and, its offsets not
depending on ``x``, exact sampled-system constants from :func:`empirical.federated.offset_constants`)
with data-size weights and/or partial participation, at a step size up to the largest the
condition allows. The cases are drawn to make the divergence terms bite: offsets alternating
inside the level-1 groups (the level-1 witness of docs/theory.md §7.4), constant on them (the
upper-level witness) or random; the kink's level placed as the witnesses place it; the
adaptive two-point noise (A2 holds with equality) or none; heavy weights on single workers;
one to all members sampled; the sample redrawn at every level-1 aggregation (the authors' timing,
``participation_mode="local_round"``) or once per global round, half the cases each
(docs/theory.md §10.6: Theorem P covers both). A fifth of the cases are the noise witness instead
(:class:`empirical.problems.witness.QuadraticProblem`, every period 1, ``gamma = 1/L``, start
at the minimiser), where the noise term ``gamma L sigma^2 omega`` is reached up to ``(T-1)/T``:
it is what makes the weights' ``omega`` testable.

A case *violates* its bound when the lower end of the 95% Student-t interval of the measured
``(1/T) sum_t ||grad f(u^t)||^2`` over seeds lies above the bound (a deterministic run, no
noise and full participation, is compared directly), beyond a floating-point tolerance of
``1e-9`` relative plus ``1e-20`` absolute (the tolerance of :mod:`figures.verdicts`: a run
started at the minimiser measures gradients of order ``1e-15``, squares of ``1e-30``).

Many cases sit close to their bound (the noise witness at ``(T-1)/T``), so with 95% intervals
a few would be flagged by chance alone. :func:`run_battery` therefore confirms every flag: a
flagged case (for the theorem or for a mutant) is run again with :data:`CONFIRM_SEEDS` seeds
from fresh streams, and counts as a violation (or a rejection) only if the second run flags it
too. The summary reports the first-stage flags as well.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from bounds.federated import largest_step_size
from bounds.instance import Instance, theorem_condition, theorem_terms
from bounds.theorems import THEOREM_P
from empirical.engine import simulate
from empirical.federated import federated_instance, offset_constants
from empirical.hierarchy import Hierarchy
from empirical.statistics import confidence_interval
from empirical.problems.witness import KinkProblem, QuadraticProblem, kink_minimum

__all__ = ["Case", "battery_cases", "run_case", "run_battery", "MUTANTS", "SHARPER", "summary"]

RTOL = 1e-9
ATOL = 1e-20
CONFIRM_SEEDS = 2000
CONFIRM_OFFSET = 1_000_000


@dataclass(frozen=True)
class Case:
    """One battery case: a hierarchy, weights, participation, offsets and a step size."""

    n: int
    periods: tuple[int, ...]
    levels: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...] | None
    participation: int | None
    b: tuple[tuple[float, ...], ...]
    c: float
    sigma: float
    step_fraction: float
    T: int
    x0: float | None
    seeds: int
    family: str = "kink"
    participation_mode: str = "local_round"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _nested_levels(rng: np.random.Generator, n: int, M: int) -> list[list[int]]:
    """Random nested labels (finest first), unequal groups allowed, at least 2 workers per level-1 group."""
    if M == 1:
        return []
    K1 = int(rng.integers(1, n // 2 + 1))
    cuts = np.sort(rng.choice(np.arange(2, n - 1), size=K1 - 1, replace=False)) if K1 > 1 else np.array([], int)
    cuts = [c for c in cuts if True]
    sizes = np.diff(np.concatenate(([0], cuts, [n]))).astype(int)
    if np.any(sizes < 2):  # fall back to equal-ish groups of at least two
        K1 = max(1, n // 2)
        sizes = np.full(K1, n // K1)
        sizes[: n - sizes.sum()] += 1
    perm = rng.permutation(n)
    first = np.empty(n, dtype=int)
    first[perm] = np.repeat(np.arange(len(sizes)), sizes)
    levels = [first.tolist()]
    for _ in range(M - 2):
        K = len(set(levels[-1]))
        parent = rng.integers(0, max(1, K // 2), size=K)
        parent = np.unique(parent, return_inverse=True)[1]
        levels.append(parent[np.array(levels[-1])].tolist())
    return levels


def battery_cases(count: int, seed: int = 0) -> list[Case]:
    """``count`` seeded adversarial cases (module docstring)."""
    rng = np.random.default_rng(seed)
    # the timing comes from its own stream, so that the other draws (and the once-per-round
    # cases of earlier versions of this battery) are unchanged by it
    timing = np.random.default_rng([seed, 19])
    cases = []
    for _ in range(count):
        mode = str(timing.choice(["local_round", "global_round"]))
        n = int(rng.choice([4, 6, 8, 12]))
        M = int(rng.choice([1, 2, 2, 3]))
        levels = _nested_levels(rng, n, M)
        periods, P = [], 1
        for l in range(M):
            P *= int(rng.choice([1, 2, 3, 5] if l else [1, 2, 4, 5]))
            periods.append(P)
        if periods[-1] == 1:
            periods[-1] = 2
            periods = [min(p, 2) for p in periods]
        kind = rng.choice(["none", "data", "one heavy"])
        if kind == "none":
            weights = None
        elif kind == "data":
            weights = tuple(float(w) for w in rng.dirichlet(np.ones(n)) + 0.02)
        else:
            w = np.ones(n)
            w[rng.integers(n)] = float(rng.choice([5.0, 20.0]))
            weights = tuple(float(x) for x in w)
        first = np.array(levels[0]) if levels else np.zeros(n, int)
        smallest = int(np.bincount(first).min())
        participation = None if rng.random() < 0.3 else int(rng.integers(1, smallest + 1))
        e = float(rng.choice([0.5, 2.0, 5.0]))
        pattern = rng.choice(["alternate", "by group", "random"])
        if pattern == "alternate":
            b = np.zeros(n)
            for g in np.unique(first):
                members = np.flatnonzero(first == g)
                b[members] = e * (1 - 2 * (np.arange(len(members)) % 2))
        elif pattern == "by group":
            b = e * (1 - 2 * (first % 2)).astype(float)
        else:
            b = rng.normal(scale=e, size=n)
        d = int(rng.choice([1, 2]))
        B = np.stack([b, rng.permutation(b)], axis=1)[:, :d] if d == 2 else b[:, None]
        step_fraction = float(rng.choice([1.0, 1.0, 0.5, 0.25]))
        gamma = step_fraction * largest_step_size(1.0, periods)
        c = float(-gamma * e * (periods[0] - 1) / 2 if rng.random() < 0.5 else rng.uniform(-1, 1))
        sigma = float(rng.choice([0.0, 0.5, 1.0]))
        rounds = int(rng.integers(2, 12))
        T = rounds * periods[-1] + int(rng.integers(0, periods[-1]))
        x0 = [0.0, float(rng.uniform(-3, 3)), None][int(rng.choice(3, p=[0.2, 0.3, 0.5]))]  # None: f's minimiser
        noisy = sigma > 0 or participation is not None
        if rng.random() < 0.2:  # the noise witness: every period 1, gamma = 1/L, start at 0
            periods = [1] * M
            T = int(rng.integers(5, 40))
            cases.append(Case(n=n, periods=tuple(periods), levels=tuple(tuple(l) for l in levels), weights=weights,
                              participation=participation, b=tuple((0.0,) for _ in range(n)), c=0.0, sigma=1.0,
                              step_fraction=1.0, T=T, x0=0.0, seeds=16, family="quadratic",
                              participation_mode=mode))
            continue
        cases.append(Case(n=n, periods=tuple(periods), levels=tuple(tuple(l) for l in levels), weights=weights,
                          participation=participation, b=tuple(tuple(float(v) for v in row) for row in B), c=c,
                          sigma=sigma, step_fraction=step_fraction, T=max(T, 1), x0=x0, seeds=8 if noisy else 1,
                          participation_mode=mode))
    return cases


def _problem(case: Case) -> KinkProblem | QuadraticProblem:
    if case.family == "quadratic":
        return QuadraticProblem(n=case.n, d=1, L=1.0, sigma=case.sigma)
    return KinkProblem(b=np.array(case.b), c=case.c, L=1.0, a=3.0, sigma=case.sigma,
                       noise="two_point" if case.sigma > 0 else "none", reset_period=case.periods[0],
                       weights=case.weights)


def _start(problem: KinkProblem, case: Case) -> np.ndarray:
    """``case.x0`` on every coordinate, or the minimiser of ``f`` (``x0 = None``): only the divergence terms count."""
    if case.x0 is not None:
        return np.full(problem.d, case.x0)
    mean = np.average(problem.b, axis=0, weights=case.weights)
    return np.array([kink_minimum(problem.c + m, problem.L, problem.a)[0] for m in mean])


def _verdict(mean: float, low: float, seeds: int, x: Instance) -> dict[str, Any]:
    terms = theorem_terms(x, THEOREM_P)
    bound = sum(terms.values())
    violated = bool((mean if seeds == 1 else low) > bound * (1 + RTOL) + ATOL)
    return {"bound": bound, "terms": terms, "ratio": mean / bound if bound > 0 else 0.0, "violated": violated}


def run_case(case: Case, seed: int = 0, *,
             mutants: dict[str, Callable[[Instance, Case], Instance]] | None = None) -> dict[str, Any]:
    """Run one case and compare it with Theorem P (W at full participation).

    Returns the measured mean and its 95% interval, the bound, its terms, the ratio and
    ``violated``; with ``mutants`` (name -> edit of the instance), ``"mutants"`` holds each
    wrong bound's verdict on the same run.
    """
    problem = _problem(case)
    hierarchy = Hierarchy.multi_level(case.n, list(case.periods), [len(set(l)) for l in case.levels],
                                      grouping=[np.array(l) for l in case.levels])  # no levels: local SGD
    gamma = case.step_fraction * largest_step_size(problem.L, case.periods)
    x0 = _start(problem, case)
    result = simulate(problem, hierarchy, lr=gamma, steps=case.T, seeds=case.seeds, seed=seed, x0=x0,
                      weights=case.weights, participation=case.participation,
                      participation_mode=case.participation_mode, record_every=1)
    x = federated_instance(problem, [np.array(l) for l in case.levels], case.periods, gamma, case.T,
                           x0=x0, weights=case.weights, participation=case.participation)
    measured = result.grad_norm_sq.mean(axis=1)
    if result.diverged is not None or measured.size == 0:
        raise RuntimeError(f"a battery run diverged at step {result.diverged}: {case}")  # pragma: no cover
    mean, low, high = confidence_interval(measured)
    row = {"case": case.to_json(), "gamma": gamma, "condition": theorem_condition(x, theorem=THEOREM_P), "mean": mean,
           "ci_low": low, "ci_high": high, **_verdict(mean, low, case.seeds, x)}
    if mutants:
        row["mutants"] = {name: _verdict(mean, low, case.seeds, edit(x, case)) for name, edit in mutants.items()}
    return row


def _without_participation(x: Instance, case: Case) -> Instance:
    c = offset_constants(np.array(case.b), [np.array(l) for l in case.levels], case.weights, None)
    return replace(x, omega=c.omega, noise_shares=c.shares, eps=c.eps, eps_sample=0.0)


def _without_weights(x: Instance, case: Case) -> Instance:
    c = offset_constants(np.array(case.b), [np.array(l) for l in case.levels], None, case.participation)
    return replace(x, omega=c.omega, noise_shares=c.shares, eps=c.eps, eps_sample=c.eps_sample)


def _sampling_over_redraws(x: Instance, case: Case) -> Instance:
    """The sampling term divided by the redraws per global round, ``P_M / P_1`` with the authors'
    timing (1 once per round): a sharper-looking version docs/theory.md §10.6 does not prove."""
    redraws = case.periods[-1] // case.periods[0] if case.participation_mode == "local_round" else 1
    return replace(x, eps_sample=x.eps_sample / np.sqrt(redraws))


MUTANTS: dict[str, Callable[[Instance, Case], Instance]] = {
    "no sampling term (eps_S = 0)": lambda x, case: replace(x, eps_sample=0.0),
    "full-participation constants": _without_participation,
    "equal-weight constants": _without_weights,
    "noise weight 1/n": lambda x, case: replace(x, omega=1.0 / case.n),
    "half the init term": lambda x, case: replace(x, F0=x.F0 / 2),
}
"""Wrong versions of Theorem P a user might write; the battery must reject each (the tests).
Dropping the heterogeneity term is not among them: these cases do not reach it (the
heterogeneity witnesses of ``hsgd power``, docs/theory.md §7.4, do, at equal weights)."""

SHARPER: dict[str, Callable[[Instance, Case], Instance]] = {
    "sampling term / redraws per round": _sampling_over_redraws,
}
"""Sharper versions of Theorem P that are not proved (docs/theory.md §10.6), tried on the same runs
like the mutants: a confirmed rejection would refute one; none is expected, and none proves it."""


def run_battery(count: int = 300, seed: int = 0, progress: Callable[[int], Any] | None = None,
                mutants: bool = True) -> list[dict[str, Any]]:
    """Run :func:`battery_cases` ``(count, seed)`` (with the :data:`MUTANTS` and the :data:`SHARPER`
    versions unless told not to); ``progress(i)`` after each case."""
    edits = {**MUTANTS, **SHARPER}
    rows = []
    for i, case in enumerate(battery_cases(count, seed)):
        row = run_case(case, seed=i, mutants=edits if mutants else None)
        flagged = row["violated"] or any(v["violated"] for v in row.get("mutants", {}).values())
        if flagged and case.seeds > 1:  # confirm on a fresh, larger run (module docstring)
            again = run_case(replace(case, seeds=CONFIRM_SEEDS), seed=CONFIRM_OFFSET + i,
                             mutants=edits if mutants else None)
            row["flagged"] = row["violated"]
            row["violated"] = row["violated"] and again["violated"]
            row["confirmation"] = {k: again[k] for k in ("mean", "ci_low", "ci_high", "bound", "ratio")}
            for name, verdict in row.get("mutants", {}).items():
                verdict["violated"] = verdict["violated"] and again["mutants"][name]["violated"]
        rows.append(row)
        if progress is not None:
            progress(i + 1)
    return rows


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Cases, violations, the largest first-stage measured/bound (over bounds above ``1e-12``:
    below it both sides are rounding; a first-stage mean above 1 whose interval still contains
    the bound is sampling error, which the confirmation run settles), the largest confirmed
    ratio and, per mutant (and :data:`SHARPER` version), the cases that reject it; under
    ``by_timing``, the same for the participation cases of each timing of the draw."""
    def worst(items: Sequence[dict[str, Any]]) -> float:
        ratios = [r["ratio"] for r in items if r["bound"] > 1e-12]
        return max(ratios) if ratios else 0.0

    out = {"cases": len(rows), "violations": sum(r["violated"] for r in rows),
           "flagged_then_cleared": sum(bool(r.get("flagged")) and not r["violated"] for r in rows),
           "worst_first_stage_ratio": worst(rows),
           "worst_confirmed_ratio": max([r["confirmation"]["ratio"] for r in rows if "confirmation" in r], default=None),
           "participation_cases": sum(r["case"]["participation"] is not None for r in rows),
           "weighted_cases": sum(r["case"]["weights"] is not None for r in rows), "mutants": {}}
    for name in rows[0].get("mutants", {}) if rows else {}:
        verdicts = [r["mutants"][name] for r in rows]
        out["mutants"][name] = {"rejected_by": sum(v["violated"] for v in verdicts)}
    out["by_timing"] = {}
    for mode in ("local_round", "global_round"):  # participation cases only: the timing matters there
        part = [r for r in rows if r["case"]["participation"] is not None and r["case"]["participation_mode"] == mode]
        # where the two timings are different algorithms: more than one level-1 round per global round
        differ = [r for r in part if r["case"]["periods"][0] < r["case"]["periods"][-1]]
        out["by_timing"][mode] = {
            "participation_cases": len(part), "violations": sum(r["violated"] for r in part),
            "cases_where_timings_differ": len(differ), "worst_first_stage_ratio_where_timings_differ": worst(differ),
            "worst_confirmed_ratio": max([r["confirmation"]["ratio"] for r in part if "confirmation" in r],
                                         default=None),
            "mutants": {name: {"rejected_by": sum(r["mutants"][name]["violated"] for r in part)}
                        for name in (part[0].get("mutants", {}) if part else {})}}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m empirical.studies.federated_battery [--count N] [--seed S] [--out FILE]``: run the
    battery and print (or write, atomically) its summary as JSON."""
    import argparse

    from empirical.io import json_text, write_json

    parser = argparse.ArgumentParser(prog="python -m empirical.studies.federated_battery",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be a positive integer, got {args.count}")
    result = {"count": args.count, "seed": args.seed, **summary(run_battery(args.count, args.seed))}
    if args.out:
        write_json(args.out, result)
    print(json_text(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
