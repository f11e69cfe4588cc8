"""The sandwich checker: three runs, three bounds, and verdicts that never claim more than was shown.

Runs local SGD with period ``P_1`` (``I``), H-SGD, and local SGD with period ``P_M`` (``G``)
on the same problem with the same seeds and step size, and evaluates the three bounds of
docs/theory.md §4.2 Theorem 2 and §4.3 Local SGD with the problem's constants:

* ``bound``: the grouping's own constants (``eps_l``, ``eps_g`` of A3 for this grouping, and
  for the local SGD ends Corollary 0's total ``eps = sqrt(sum_l eps_l^2)``, docs/theory.md
  §6.2, taken at its exact value): the bounds that must hold for these runs, and the three
  that Corollary 0 orders (so ``I = G`` reads as equal);
* ``bound_random_grouping``: for a run with random grouping, the three bounds at the problem's
  total ``eps`` with Lemma 2's shares for H-SGD (Corollaries 1-2), the values that compare the
  bounds (docs/theory.md §7.1 Scope of the corollaries); ``None`` for any other grouping.

Verdicts (:class:`figures.verdicts.Verdict`; each says its basis, and is *not applicable*
with the reason when a hypothesis fails):

* ``condition_holds`` (exact): H-SGD's step-size conditions at ``gamma`` (they imply both local
  SGD conditions);
* ``bound_valid`` (statistical, or floating point for noise-free runs): each own-constant
  bound is at least the upper end of the 95% confidence interval of its measured average.
  Not applicable when a condition fails, a constant is estimated, or only one seed of a
  noisy run ran;
* ``bound_sandwich`` (exact): Corollary 1-2's ordering of the random-grouping bounds, decided
  in exact rational arithmetic (``false`` would be a bug);
* ``bound_sandwich_own_grouping`` (exact): the same ordering with the grouping's own
  constants (may fail for adversarial groupings; reported, not hidden);
* ``empirical_sandwich`` (statistical; floating point for noise-free runs): the measured
  ordering, decided on the per-seed paired differences (the runs share their noise); each side
  is *in order*, *indistinguishable* or *reversed* at 95% (noise-free: *in order*, *equal* or
  *reversed*), and the verdict holds only when both sides are in order (or equal, noise-free).
  Not applicable when the runs coincide seed by seed in a noisy run (no aggregation separates
  them by step ``T``: nothing about the ordering was measured).

Verdicts resting on constants the user gave (kind ``given``) say so in their detail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

import bounds
from bounds.exact import ExactReal, exact_conditions
from bounds.statement import Theorem
from bounds.theorems import THEOREM_2, theorem as resolve_theorem
from bounds.optimal import largest_step_size
from bounds.federated import participation_shares
from empirical.constants import ESTIMATED, EXACT, GIVEN, UPPER, Constant
from empirical.engine import DivergenceWarning, check_participation_mode, simulate
from empirical.federated import estimated_sampled_constants
from empirical.problems.protocol import require_hooks
from empirical.hierarchy import Hierarchy
from empirical.statistics import confidence_band, confidence_interval
from figures.executor import executor, is_inline
from figures.io import SAVE_DPI
from figures.plotting import COLOURS, pyplot, thin
from figures.verdicts import (
    NOT_APPLICABLE,
    Verdict,
    all_hold,
    bound_holds,
    bounds_ordered,
    condition_holds,
    sandwich_order,
)

__all__ = ["CheckResult", "run_check", "draw_check", "default_problem", "participation_count", "RUNS", "NAMES"]

RUNS = ("local_I", "hsgd", "local_G")

NAMES = {"local_I": "local SGD (P = I)", "hsgd": "H-SGD", "local_G": "local SGD (P = G)"}
"""How text, JSON details and figures name the three runs."""

PLOTTED_POINTS = 1500
"""At most about this many points of each curve are drawn (evenly spaced steps, the last kept;
:func:`figures.plotting.thin`): 2 or 3 steps a pixel at the saved size. The numbers computed,
and the limits of the zoomed panel, use every step."""


def default_problem(n: int = 32, d: int = 10, seed: int = 0) -> Any:
    """The checker's default: heterogeneous enough that the empirical sandwich is visible."""
    from empirical.problems import HeterogeneousNonconvex

    return HeterogeneousNonconvex(n=n, d=d, clusters=4, between=2.0, within=1.0, a=1.0, lam=4.0, sigma=1.0, seed=seed)


@dataclass
class CheckResult:
    """Everything the checker measured and computed (see the module docstring).

    ``curves`` are the running averages (mean over seeds), ``curve_bands`` their pointwise 95%
    confidence bands, and ``difference_curves`` the paired differences of the running
    averages (``hsgd - local_I``, ``local_G - hsgd``) as ``(mean, low, high)``.
    """

    params: dict[str, Any]
    constants: dict[str, Any]
    empirical: dict[str, dict[str, float]]
    bound: dict[str, float]
    bound_random_grouping: dict[str, float] | None
    verdicts: dict[str, Verdict]
    gamma_rule: str
    hierarchy: str
    curves: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    bound_curves: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    curve_bands: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False, default_factory=dict)
    difference_curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(repr=False, default_factory=dict)

    def holds(self, name: str) -> bool | None:
        """The verdict ``name`` as JSON shows it: ``True``, ``False`` or ``None`` (not applicable
        or undecided; the :class:`~figures.verdicts.Verdict` in :attr:`verdicts` says which)."""
        return self.verdicts[name].holds

    def to_json(self) -> dict[str, Any]:
        return {
            "empirical": {k: v["mean"] for k, v in self.empirical.items()},
            "empirical_ci95": {k: [v["ci_low"], v["ci_high"]] for k, v in self.empirical.items()},
            "bound": self.bound,
            "bound_random_grouping": self.bound_random_grouping,
            **{name: v.holds for name, v in self.verdicts.items()},
            "verdicts": {name: v.to_json() for name, v in self.verdicts.items()},
            "params": self.params,
            "constants": self.constants,
            "gamma_rule": self.gamma_rule,
            "hierarchy": self.hierarchy,
            "ratio_bound_to_empirical": {k: self.bound[k] / self.empirical[k]["mean"] for k in RUNS},
        }


def _with_free_chosen(bound: bounds.Bound, values: dict[str, Any]) -> tuple[bounds.Bound, dict[str, Any]]:
    """``bound`` and ``values`` with its free parameters (Theorem S's Young parameters) chosen
    to minimise it (:meth:`bounds.Bound.optimise`); ``values`` as they are when it has none."""
    return bound, (bound.optimised_values(**values) if bound.free else values)


def _within_theorem(bound: bounds.Bound, gamma: float, values: dict[str, Any]) -> float:
    """The largest float step size at most ``gamma`` at which ``bound``'s conditions hold exactly
    (free parameters in their limit: some choice of them meets them), by bisection on floats;
    ``gamma`` itself when they hold there."""
    def inside(g: float) -> bool:
        return all(c.holds for c in exact_conditions(bound, dict(values, gamma=g)))

    if inside(gamma):
        return gamma
    low, high = 0.0, gamma
    while True:
        middle = low + (high - low) / 2
        if middle in (low, high):
            break
        low, high = (middle, high) if inside(middle) else (low, middle)
    if low == 0.0:
        raise ValueError(f"no step size meets the conditions of {bound.title}")
    return low


def _simulate_quietly(problem: Any, hierarchy: Hierarchy, **options: Any) -> Any:
    """:func:`empirical.simulate` recording every step (the curves at every horizon), without its
    :class:`~empirical.engine.DivergenceWarning` (the checker reports a diverged run itself, in
    one line); top-level, so a process pool can run it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        return simulate(problem, hierarchy, record_every=1, **options)


def _check_picklable(problem: Any) -> None:
    """A problem sent to other processes must pickle (top-level functions and classes, no lambdas)."""
    import pickle

    try:
        pickle.dumps(problem)
    except Exception as err:  # PicklingError, AttributeError, TypeError: each means the same here
        raise ValueError(f"workers > 1 (or a scheduler) sends the problem to other processes, and this problem "
                         f"does not pickle ({type(err).__name__}: {err}); use workers=1") from None


def _import_statistics() -> None:
    """Import scipy.special, which :func:`empirical.statistics.confidence_interval` needs (about
    0.15 s): :func:`run_check` calls this while the runs run in a pool, so that the import
    overlaps them instead of following them."""
    import scipy.special  # noqa: F401


def participation_count(fraction: float, hierarchy: Hierarchy) -> int | None:
    """``S`` for a participation ``fraction`` in ``(0, 1]``: that share of the smallest level-1
    group, rounded down (as the authors' ``int(frac * len(group))``), at least 1; ``None`` (full
    participation, the default algorithm) at ``fraction = 1`` with equal groups.

    Raises:
        ValueError: naming ``participation`` when it is not in ``(0, 1]``, or when a fraction
            below 1 still selects every worker of every level-1 group (groups too small for it).

    Example:
        >>> h = Hierarchy.two_level(8, 2, 2, 4)
        >>> participation_count(0.5, h), participation_count(0.99, h), participation_count(1, h)
        (2, 3, None)
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ValueError(f"participation must be a fraction in (0, 1], got {fraction!r}")
    sizes = _group_sizes(hierarchy)
    S = max(1, math.floor(fraction * int(sizes.min()) + 1e-9))  # 1e-9: 0.3 * 10 is 3, not 2.9999...
    if S == sizes.max():
        if fraction < 1:
            raise ValueError(f"participation {fraction:g} selects all {S} workers of every level-1 group: that is full "
                             "participation; give 1 (or leave it out), or a smaller fraction")
        return None
    return S


def _everyone(participation: Any, h: Hierarchy) -> bool:
    """Whether ``participation`` (``S``, an integer) is every level-1 group's size: full participation."""
    if isinstance(participation, bool) or not isinstance(participation, (int, np.integer)):
        return False  # participation_shares names the type error
    return bool(np.all(_group_sizes(h) == participation))


def _group_sizes(h: Hierarchy) -> np.ndarray:
    """The size of every level-1 group (one group of ``n`` for local SGD)."""
    return np.bincount(h.levels[0] if h.levels else np.zeros(h.n, dtype=np.intp))


def _weakest(constants: Any) -> str:
    """The weakest declared kind among ``constants`` (estimated < given < certified < exact): the
    kind of a number computed from all of them."""
    kinds = {x.kind for x in constants}
    for kind in (ESTIMATED, GIVEN):
        if kind in kinds:
            return kind
    return EXACT if kinds <= {EXACT} else UPPER


def run_check(problem: Any = None, hierarchy: Hierarchy | None = None, *, theorem: str | Theorem | None = None,
              weights: Any = None, participation: int | None = None, participation_mode: str = "local_round",
              lr: float | None = None,
              steps: int | None = None, seeds: int = 8, seed: int = 0, workers: int | None = 1,
              scheduler: str | None = None, samples: int = 32, progress: Callable[[str], Any] | None = None,
              while_running: Callable[[], Any] | None = None) -> CheckResult:
    """Run the three simulations, evaluate the three bounds, and decide the verdicts.

    Args:
        problem: default :func:`default_problem`.
        hierarchy: the H-SGD hierarchy; default two levels ``N = 4, I = 5, G = 50``, random
            grouping.
        theorem: the theorem the three bounds come from: a registered name, ``path/to/file.py:attr``,
            ``module:attr`` or a :class:`~bounds.statement.Theorem` (:func:`bounds.theorems.theorem`).
            Default: ``"theorem2"`` (docs/theory.md §4.2 Theorem 2 and its local SGD case), or,
            with weights or participation, ``"theorem_p"`` (§10.3 Theorem P; Theorem W at full
            participation), the theorem that covers them. Free parameters (Theorem S's Young
            parameters) are optimised for each bound, and the orderings are decided exactly at them.
        weights: ``p_j`` (docs/theory.md §10.1); ``None`` for the problem's own (a partitioned
            problem's data sizes), else equal. Needs a theorem that takes the noise weight
            ``omega`` and noise shares (Theorem P).
        participation: ``S`` workers per level-1 group and round, or ``None`` for everyone; the
            sampled system's constants are then *estimated* (labelled so:
            :func:`empirical.federated.estimated_sampled_constants`, ``samples`` random samples).
            The local SGD runs share H-SGD's weights and sampling (docs/theory.md §10.4's comparator).
        participation_mode: when the sample is drawn afresh (:func:`empirical.simulate`):
            ``"local_round"`` (default; the authors' code) at every level-1 aggregation, or
            ``"global_round"`` once per top-level round. Theorem P holds for both (docs/theory.md
            §10.3, §10.6); without ``participation`` it has no effect.
        lr: step size; default the largest one H-SGD's condition allows exactly under Theorem 2
            (docs/theory.md §4.2), which implies both local SGD conditions, lowered if needed until
            the chosen theorem's own conditions hold too (so that theorems are compared on the
            same runs where they can be).
        steps: ``T``, any positive integer (the theorem holds for every ``T >= 1``,
            docs/theory.md §5.5 Any horizon); default 3000.
        seeds, seed: runs and noise seed, shared by the three runs.
        workers: where the three runs go (:func:`figures.executor.executor`): ``1`` (default)
            runs them here one after the other; ``k > 1`` (``None``: one per CPU) in a pool of
            ``k`` processes while this process evaluates the bounds, which needs a picklable
            ``problem`` (no lambdas). The numbers are the same for every choice.
        scheduler: the address of a Dask scheduler to run the three runs on instead.
        progress: optional callback told the name of each stage as it starts.
        while_running: optional work for this process while the runs run in a pool, called
            after the bounds are evaluated (``hsgd check`` imports matplotlib there); with
            ``workers=1`` it is called after the runs. It cannot change a number.
    """
    problem = problem if problem is not None else default_problem()
    h = hierarchy if hierarchy is not None else Hierarchy.multi_level(problem.n, [5, 50], [4], grouping="random")
    if h.M < 2:
        raise ValueError("the checker needs a hierarchy with at least two levels (H-SGD)")
    P1, PM = h.periods[0], h.periods[-1]
    T = 3000 if steps is None else steps
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"steps must be a positive integer, got {T!r}")
    require_hooks(problem)
    check_participation_mode(participation_mode)
    if participation is not None and _everyone(participation, h):
        participation = None  # S = every group's size: full participation, the default algorithm
    if weights is None and problem.weights is not None:
        weights = problem.weights  # the problem's own, as empirical.simulate takes them
    federated = weights is not None or participation is not None  # docs/theory.md §10
    theorem = resolve_theorem(theorem if theorem is not None else "theorem_p" if federated else "theorem2")
    hsgd_bound = h.shape.bound(theorem)
    if federated and not {"omega", "noise_shares"} <= set(hsgd_bound.parameters):
        raise ValueError(f"theorem {theorem.name} ({theorem.title}) has no weighted or partial-participation version "
                         "(it takes no noise weight omega and noise shares): use theorem_p (docs/theory.md §10), or "
                         "leave weights and participation out")
    say = progress or (lambda stage: None)
    say("constants")
    c = problem.constants(h.levels)
    L, sigma = c.L.value, c.sigma.value
    F0 = float(problem.loss(np.asarray(problem.default_x0(), dtype=float))) - c.f_star.value
    shares = participation_shares(weights, h.levels, problem.n, participation)
    sample = Constant(0.0, EXACT, "full participation")
    if participation is not None:  # the sampled system's eps_l and eps_S (docs/theory.md §10.3), estimated
        est = estimated_sampled_constants(problem, h.levels, weights, participation, L=L, samples=samples, seed=seed)
        c = replace(c, eps_levels=tuple(Constant(e, est.kind, est.note) for e in est.eps))
        sample = Constant(est.eps_sample, est.kind, est.note)
    eps_levels, eps_sample = [e.value for e in c.eps_levels], sample.value
    # Corollary 0 (docs/theory.md §6.2, §10.4): eps^2 = sum_l eps_l^2 is a valid total divergence; the local SGD
    # ends of this grouping's comparison take it, at its exact value, so that I = G reads as equal
    eps = ExactReal.root_sum_of_squares(eps_levels)
    corollary0 = Constant(float(eps), _weakest(c.eps_levels), "Corollary 0: sqrt of the sum of the eps_l^2")
    if federated:
        c = replace(c, eps=corollary0)  # the only total divergence with weights or sampling
    labels = {"L": c.L.label, "sigma": c.sigma.label, "eps": c.eps.label,
              "eps_levels": [e.label for e in c.eps_levels], "f_star": c.f_star.label,
              "eps_corollary0": corollary0.label}
    estimated, given = list(c.estimated()), list(c.given())
    if federated:
        labels["eps_sample"] = sample.label
        estimated += ["eps_sample"] if sample.kind == ESTIMATED else []
    omega = float(shares.omega)
    if lr is None:  # Theorem 2's largest step size, so that every theorem is compared on the same runs
        lr, limiting = largest_step_size(h.shape.bound(), L=L)
        rule = f"the largest step size allowed by H-SGD's condition {limiting} (implies both local SGD conditions)"
        if theorem is not THEOREM_2 and not federated:
            own_lr = _within_theorem(hsgd_bound, lr, dict(L=L, sigma=sigma, n=problem.n, T=T, F0=F0, eps=eps_levels))
            rule = (f"the largest step size allowed by Theorem 2's condition {limiting}, kept for {theorem.title} "
                    f"(whose conditions hold there) so that both theorems are compared on the same runs"
                    if own_lr == lr else
                    f"the largest step size at which Theorem 2's condition {limiting} and {theorem.title}'s "
                    f"conditions both hold (lowered from {lr:.6g} for {theorem.title})")
            lr = own_lr
    else:
        rule = "given"
    if federated:
        runs = {"local_I": h.every_period(P1), "hsgd": h, "local_G": h.every_period(PM)}
    else:
        runs = {"local_I": Hierarchy.local_sgd(problem.n, P1), "hsgd": h,
                "local_G": Hierarchy.local_sgd(problem.n, PM)}
    run_options = dict(weights=weights, participation=participation, participation_mode=participation_mode
                       ) if federated else {}
    with executor(workers, scheduler, tasks=len(runs)) as pool:
        if not is_inline(pool):
            _check_picklable(problem)
        futures = {}
        for name, hier in runs.items():  # in a pool they run while this process evaluates the bounds
            say(f"simulate {name}")
            futures[name] = pool.submit(_simulate_quietly, problem, hier, lr=lr, steps=T, seeds=seeds, seed=seed,
                                        **run_options)
        say("bounds")
        common = dict(gamma=lr, L=L, sigma=sigma, n=problem.n, T=T, F0=F0 if not federated else max(F0, 0.0),
                      omega=omega, eps_sample=eps_sample)
        local = bounds.local_sgd(theorem=theorem)
        local_shares = [1 - omega]  # one level: the shares telescope to 1 - omega
        # free parameters (Theorem S's Young parameters, docs/theory.md §9.1) chosen per bound
        inputs = {"local_I": _with_free_chosen(local, local.taken(dict(common, P=P1, eps=eps, noise_shares=local_shares))),
                  "hsgd": _with_free_chosen(hsgd_bound, hsgd_bound.taken(dict(
                      common, eps=eps_levels, noise_shares=[float(x) for x in shares.shares]))),
                  "local_G": _with_free_chosen(local, local.taken(dict(common, P=PM, eps=eps, noise_shares=local_shares)))}
        random = h.grouping == "random" and h.shape.equal_groups and not federated
        rg_bound = bounds.random_grouping(hsgd_bound) if random else None
        rg_values = dict(hsgd_bound.taken(common), eps=c.eps.value)  # Lemma 2's shares of the total eps
        if rg_bound is not None:
            rg_bound, rg_values = _with_free_chosen(rg_bound, rg_values)
        try:
            own = {k: b.evaluate(strict=False, **v) for k, (b, v) in inputs.items()}
        except ValueError as err:
            if "not finite" not in str(err):
                raise
            raise ValueError(f"lr = {lr:g}: the bounds overflow float64 at this step size; lower lr (Theorem 2's "
                             f"condition allows lr <= {largest_step_size(h.shape.bound(), L=L)[0]:.4g})") from None
        random_values, random_chain = None, []
        if rg_bound is not None:  # Corollaries 1-2: the three bounds at the total eps (docs/theory.md §6.3-§6.4)
            ends = {k: _with_free_chosen(local, local.taken(dict(common, P=P, eps=c.eps.value, noise_shares=local_shares)))
                    for k, P in (("local_I", P1), ("local_G", PM))}
            random_chain = [(NAMES["local_I"], *ends["local_I"]),
                            (NAMES["hsgd"] + " (random grouping)", rg_bound, rg_values),
                            (NAMES["local_G"], *ends["local_G"])]
            random_values = {k: b.evaluate(strict=False, **v) for k, (_, b, v) in zip(RUNS, random_chain)}
        conditions = {k: condition_holds(b, v, name=NAMES[k], estimated=estimated, given=given)
                      for k, (b, v) in inputs.items()}
        # Each bound at every horizon T' = 1 .. T (the theorem holds for every T'), for the plot.
        per_horizon = np.arange(1, T + 1)
        bound_curves = {"horizons": per_horizon,
                        **{k: b.lambdify()(**{**v, "T": per_horizon}) for k, (b, v) in inputs.items()}}
        if while_running is not None:
            while_running()
        _import_statistics()  # while the runs run: confidence_interval needs scipy.special
        results = {name: futures[name].result() for name in RUNS}
    for name in RUNS:
        if results[name].diverged:
            raise ValueError(f"the {name} run diverged at step {results[name].diverged['step']}, seed "
                             f"{results[name].diverged['seed']}: lower lr")
    averages = {name: r.average_grad_norm_sq() for name, r in results.items()}
    empirical = {}
    for name, avg in averages.items():
        mean, lo, hi = confidence_interval(avg)
        empirical[name] = {"mean": mean, "ci_low": lo, "ci_high": hi}
    # noise-free: sigma = 0 known (not estimated), every worker in every round, and every seed the same run
    deterministic = (sigma == 0 and "sigma" not in estimated and participation is None
                     and all(np.all(a == a[0]) for a in averages.values()))
    valid = {k: bound_holds(averages[k], own[k], condition=conditions[k], estimated=estimated, given=given,
                            deterministic=deterministic, name=NAMES[k]) for k in RUNS}
    chain = [(NAMES[k], b, v) for k, (b, v) in inputs.items()]
    if rg_bound is None:
        reason = ("with weights or partial participation Corollary 1's position is not evaluated here (docs/theory.md "
                  "§10.4 says when it holds)" if federated else
                  "unequal groups: Lemma 2's random grouping needs equal nested groups" if not h.shape.equal_groups else
                  f"this run's grouping is {h.grouping}, not random: Corollaries 1-2 speak of random grouping "
                  "(bound_sandwich_own_grouping orders this grouping's bounds)")
        sandwich = Verdict("bounds ordered, random grouping (Corollaries 1-2)", None, NOT_APPLICABLE, reason)
    else:
        sandwich = bounds_ordered(
            "bounds ordered, random grouping (Corollaries 1-2)" if hsgd_bound.coefficients is not None else
            f"{theorem.title} bounds ordered, random grouping (no corollary proves it for {theorem.title}: "
            "checked at these numbers)", random_chain, estimated=estimated, given=given)
    own_claim = (f"{theorem.title} bounds ordered, this grouping's constants (Corollary 0, docs/theory.md "
                 f"§6.2{', §10.4' if federated else ''}: local SGD at eps = sqrt(sum_l eps_l^2) = {float(eps):.6g})")
    verdicts: dict[str, Verdict] = {
        "condition_holds": conditions["hsgd"],
        "bound_valid": all_hold("every bound >= its measured average (upper 95% CI)",
                                {NAMES[k]: v for k, v in valid.items()}),
        "bound_sandwich": sandwich,
        "bound_sandwich_own_grouping": bounds_ordered(own_claim, chain, estimated=estimated, given=given),
        "empirical_sandwich": sandwich_order(averages["local_I"], averages["hsgd"], averages["local_G"],
                                             names=[NAMES[k] for k in RUNS], deterministic=deterministic),
    }
    constants = {"L": L, "sigma": sigma, "eps": c.eps.value, "eps_corollary0": float(eps), "F0": F0,
                 "f_star_lower_bound": c.f_star.value, "eps_levels": eps_levels, "labels": labels,
                 "estimated": estimated, "given": given}
    if federated:
        constants.update(eps_sample=eps_sample, omega=omega, noise_shares=[float(x) for x in shares.shares])
    if h.M == 2:
        constants.update(eps_g=eps_levels[1], eps_l=eps_levels[0])
    params = {"gamma": lr, "n": problem.n, "T": T, "seeds": seeds, "seed": seed, "theorem": theorem.name,
              "periods": list(h.periods), "groups": list(h.shape.groups), "grouping": h.grouping}
    if federated:
        params.update(weights=None if weights is None else [float(w) for w in np.asarray(weights, dtype=float)],
                      participation=participation,
                      participation_mode=None if participation is None else participation_mode)
    if h.M == 2:
        params.update(N=h.shape.groups[0], I=P1, G=PM)
    running = {name: r.running_avg for name, r in results.items()}
    curves = {name: run.mean(axis=0) for name, run in running.items()}
    bands = {name: confidence_band(run)[1:] for name, run in running.items()}
    differences = {"hsgd - local_I": confidence_band(running["hsgd"] - running["local_I"]),
                   "local_G - hsgd": confidence_band(running["local_G"] - running["hsgd"])}
    described = h.describe() + ("" if participation is None else
                                f"; {participation} worker(s) per level-1 group, drawn afresh every "
                                f"{P1 if participation_mode == 'local_round' else PM} steps ({participation_mode})")
    return CheckResult(params=params, constants=constants, empirical=empirical, bound=own,
                       bound_random_grouping=random_values, verdicts=verdicts, gamma_rule=rule,
                       hierarchy=described, curves=curves, bound_curves=bound_curves, curve_bands=bands,
                       difference_curves=differences)


def draw_check(result: CheckResult):
    """The three runs against their bounds, the measured sandwich zoomed, and its paired differences.

    Left: running average of ``||grad f(u^t)||^2`` (mean over seeds, solid, 95% band) under each
    bound at the same horizon (dashed). On the defaults the bounds sit 29-103 times above the
    runs, whose curves lie within 7% of each other: on one axis the three measured curves
    overlap, and only the gap to the bounds can show. So the y-axis is logarithmic (linear when
    a value is 0, e.g. a run started at the minimiser), spanning every bound and every measured
    curve, so that gap shows as a distance, and the legend gives each curve's value at ``T`` and
    each bound's ratio to its run: the panel reads without telling the measured curves apart,
    which the other two panels do.

    Middle: the measured curves alone, zoomed to the steps after ``T/5``, with a legend: the
    first fifth is left out because its transient from the start point would set the scale
    (nothing is left out when ``T < 5``).

    Right: the paired differences ``H-SGD - local(I)`` (the lower side) and ``local(G) - H-SGD``
    (the upper side) with their 95% bands, from the same step. The title is the measured
    sandwich's verdict at ``T`` in words (:func:`figures.plotting.sandwich_words`): what each
    side showed (above 0, indistinguishable from 0, reversed; at 95% or in every seed) and what
    that allows ("sandwich shown", "undecided", "sandwich fails", "not applicable (1 seed ...)"),
    never more than the verdict. The figure's title states every verdict in words, with its
    basis, and what the bounds were evaluated at.

    It draws without a warning at every ``T >= 1``: with few steps every point is marked, and a
    flat range (every curve equal, as at ``T = 1``) is widened around its value.
    """
    from figures.plotting import sandwich_words, wrap

    plt = pyplot()
    # made at the dpi it is saved at (figures.io.save_figure), so that the text is laid out once
    fig, (top, zoom, diff) = plt.subplots(1, 3, figsize=(15, 4.6), dpi=SAVE_DPI)
    p, c = result.params, result.constants
    labels = {"local_I": f"local SGD, P = {p['periods'][0]}", "hsgd": "H-SGD",
              "local_G": f"local SGD, P = {p['periods'][-1]}"}
    t = np.arange(1, result.curves["hsgd"].size + 1)
    T = t.size
    start = T // 5  # the zoom and the differences show steps start + 1 .. T
    shown = thin(T, PLOTTED_POINTS)  # the curves are drawn at these steps only
    late = np.union1d([start], shown[shown >= start])  # the zoom and the differences, from step start + 1
    few = dict(marker="o", ms=3) if late.size <= 40 else {}  # so that a curve of one or a few steps shows
    horizons = result.bound_curves["horizons"]
    positive = all(np.all(result.curves[k] > 0) and np.all(result.bound_curves[k] > 0) for k in RUNS)
    for name in RUNS:
        curve, (lo, hi) = result.curves[name], result.curve_bands.get(name, (None, None))
        banded = lo is not None and np.all(np.isfinite(lo))
        bound = result.bound_curves[name]
        top.plot(t[shown], curve[shown], color=COLOURS[name], **(few if shown.size <= 40 else {}),
                 label=f"{labels[name]}: measured, {curve[-1]:.4g} at T")
        zoom.plot(t[late], curve[late], color=COLOURS[name], **few,
                  label=labels[name] + (" (95% band)" if banded else ""))
        if banded:
            top.fill_between(t[shown], lo[shown], hi[shown], color=COLOURS[name], alpha=0.25, lw=0)
            zoom.fill_between(t[late], lo[late], hi[late], color=COLOURS[name], alpha=0.25, lw=0)
        ratio = f", {bound[-1] / curve[-1]:.3g}x measured" if curve[-1] > 0 else ""
        top.plot(horizons[shown], bound[shown], color=COLOURS[name], ls="--", **(few if shown.size <= 40 else {}),
                 mfc="none", label=f"{labels[name]}: bound, {bound[-1]:.4g} at T{ratio}")
    if positive:
        top.set_yscale("log")
    top.set_xlabel("step t (horizon T' = t)")
    top.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$ over seeds")
    top.set_title("measured (solid, 95% band) under the bound for the same horizon (dashed);\n"
                  "measured curves overlap here: values at T in the legend; zoomed in the middle",
                  fontsize=8)
    top.legend(fontsize=6)
    zoom.set_xlim(*((start, T) if not few else (t[late[0]] - 0.5, T + 0.5)))  # a few marked points: none on the edge
    values = [result.curves[k][start:] for k in RUNS]
    values += [b[start:] for k in RUNS for b in result.curve_bands.get(k, ()) if np.all(np.isfinite(b))]
    lo, hi = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
    pad = 0.05 * (hi - lo) if hi - lo > 1e-9 * max(abs(lo), abs(hi)) else 0.05 * (abs(hi) or 1.0)
    zoom.set_ylim(lo - pad, hi + pad)
    zoom.set_xlabel(f"step t > T/5 = {start} (first fifth left out: transient)" if start else
                    "step t (T < 5: nothing left out)")
    zoom.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$ (zoomed)")
    zoom.set_title("measured only, zoomed, from step T/5 (first fifth left out: transient)" if start else
                   "measured only, zoomed (every step: T < 5)", fontsize=8)
    zoom.legend(fontsize=7)
    diff_labels = {"hsgd - local_I": f"lower side: H-SGD $-$ {labels['local_I']}",
                   "local_G - hsgd": f"upper side: {labels['local_G']} $-$ H-SGD"}
    diff_colours = {"hsgd - local_I": COLOURS["local_I"], "local_G - hsgd": COLOURS["local_G"]}
    banded = False
    for key, (mean, dlo, dhi) in result.difference_curves.items():
        diff.plot(t[late], mean[late], color=diff_colours[key], label=diff_labels[key], **few)
        if np.all(np.isfinite(dlo)):
            banded = True
            diff.fill_between(t[late], dlo[late], dhi[late], color=diff_colours[key], alpha=0.25, lw=0)
    diff.axhline(0.0, color="k", lw=0.8)
    diff.set_xlabel(f"step t > T/5 = {start}" if start else "step t")
    diff.set_ylabel("paired difference of running averages")
    sandwich = result.verdicts["empirical_sandwich"]
    diff.set_title(f"paired differences{' (95% bands)' if banded else ''}\n"
                   + wrap(f"measured sandwich at T = {T}: " + sandwich_words(sandwich.to_json()), 64), fontsize=8)
    if result.difference_curves:
        diff.legend(fontsize=7)
    v = result.verdicts
    estimated = c.get("estimated") or []
    at = (f"gamma = {p['gamma']:.4g}, L = {c['L']:.4g}, sigma = {c['sigma']:.3g}, T = {p['T']}, "
          f"F0 = {c['F0']:.4g}, {p['seeds']} seeds")
    if estimated:
        at += "; ESTIMATED constants: " + ", ".join(estimated)
    words = (f"step-size condition met: {v['condition_holds'].word}; bounds hold: {_word(v['bound_valid'])}; "
             f"bounds ordered (random grouping): {_word(v['bound_sandwich'])}; "
             f"measured sandwich: {_word(v['empirical_sandwich'])}")
    fig.suptitle(f"{result.hierarchy}\n{at}\n{words}", fontsize=8)
    fig.tight_layout()
    return fig


def _word(verdict: Verdict) -> str:
    """A verdict in a few words with its basis; when not applicable, the first reason (a combined
    verdict's, e.g. the measured sandwich's, is that of its first part that is not applicable)."""
    if not verdict.applicable:
        inner = next((part for _, part in verdict.parts if not part.applicable), None)
        if inner is not None:
            return _word(inner)
        return "not applicable (" + verdict.detail.split(";")[0].split(" (")[0] + ")"
    return f"{verdict.word} ({verdict.basis})"
