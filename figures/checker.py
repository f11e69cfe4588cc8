"""The sandwich checker: three runs, three bounds, three verdicts.

Runs local SGD with period ``P_1`` (``I``), H-SGD, and local SGD with period ``P_M`` (``G``)
on the same problem with the same seeds and step size, and evaluates the three bounds of
THEORY.md with the problem's constants:

* ``bound``: the grouping's own constants (``eps_l``, ``eps_g`` of A3 for this grouping, and
  the total ``eps`` for the local SGD ends): the bounds that must hold for these runs;
* ``bound_random_grouping``: H-SGD with Lemma 2's shares of the total ``eps`` (Corollary 1),
  the values that compare the bounds (THEORY.md, "Scope of the corollaries").

Verdicts:

* ``bound_valid``: each own-constant bound is at least the upper end of the 95% confidence
  interval of its measured average (a conservative reading of "the bound holds");
* ``bound_sandwich``: Corollary 1-2's ordering of the random-grouping bounds (a theorem:
  ``false`` would be a bug);
* ``bound_sandwich_own_grouping``: the same ordering with the grouping's own constants (may
  fail for adversarial groupings; reported, not hidden);
* ``empirical_sandwich``: the measured ordering, decided on the per-seed paired differences
  (the runs share their noise): true when neither difference is significantly negative;
  ``empirical_sandwich_significant`` when both are significantly positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import bounds
from bounds.optimal import largest_step_size
from empirical.statistics import confidence_interval
from figures.plotting import COLOURS, pyplot
from empirical.engine import simulate
from empirical.hierarchy import Hierarchy, local_sgd, multi_level

__all__ = ["CheckResult", "run_check", "draw_check", "default_problem"]

RUNS = ("local_I", "hsgd", "local_G")


def default_problem(n: int = 32, d: int = 10, seed: int = 0) -> Any:
    """The checker's default: heterogeneous enough that the empirical sandwich is visible."""
    from empirical.problems import HeterogeneousNonconvex

    return HeterogeneousNonconvex(n=n, d=d, clusters=4, between=2.0, within=1.0, a=1.0, lam=4.0, sigma=1.0, seed=seed)


@dataclass
class CheckResult:
    """Everything the checker measured and computed (see the module docstring)."""

    params: dict[str, Any]
    constants: dict[str, Any]
    empirical: dict[str, dict[str, float]]
    bound: dict[str, float]
    bound_random_grouping: dict[str, float] | None
    verdicts: dict[str, bool | None]
    gamma_rule: str
    hierarchy: str
    curves: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    bound_curves: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "empirical": {k: v["mean"] for k, v in self.empirical.items()},
            "empirical_ci95": {k: [v["ci_low"], v["ci_high"]] for k, v in self.empirical.items()},
            "bound": self.bound,
            "bound_random_grouping": self.bound_random_grouping,
            **self.verdicts,
            "params": self.params,
            "constants": self.constants,
            "gamma_rule": self.gamma_rule,
            "hierarchy": self.hierarchy,
            "ratio_bound_to_empirical": {k: self.bound[k] / self.empirical[k]["mean"] for k in RUNS},
        }


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    return confidence_interval(b - a)


def run_check(problem: Any = None, hierarchy: Hierarchy | None = None, *, lr: float | None = None,
              steps: int | None = None, seeds: int = 8, seed: int = 0,
              progress: Callable[[str], Any] | None = None) -> CheckResult:
    """Run the three simulations and evaluate the three bounds.

    Args:
        problem: default :func:`default_problem`.
        hierarchy: the H-SGD hierarchy; default two levels ``N = 4, I = 5, G = 50``, random
            grouping.
        lr: step size; default the largest one H-SGD's condition allows (THEORY.md Theorem
            1/2), which implies both local SGD conditions.
        steps: ``T``; default the smallest multiple of the top period that is at least 3000.
        seeds, seed: runs and noise seed, shared by the three runs.
        progress: optional callback told the name of each stage as it starts.
    """
    problem = problem if problem is not None else default_problem()
    h = hierarchy if hierarchy is not None else multi_level(problem.n, [4], [5, 50], grouping="random")
    if h.M < 2:
        raise ValueError("the checker needs a hierarchy with at least two levels (H-SGD)")
    P1, PM = h.periods[0], h.periods[-1]
    T = steps if steps is not None else -(-3000 // PM) * PM
    if T % PM:
        raise ValueError(f"steps must be a multiple of the top period {PM} (THEORY.md section 4), got {T}")
    counts = list(h.group_counts[1:-1])
    hsgd_bound = bounds.multi_level(list(h.periods), counts)
    say = progress or (lambda stage: None)
    say("constants")
    c = problem.constants(h.levels)
    L, sigma, eps = c.L.value, c.sigma.value, c.eps.value
    if lr is None:
        lr, limiting = largest_step_size(hsgd_bound, L=L)
        rule = f"the largest step size allowed by H-SGD's condition {limiting} (implies both local SGD conditions)"
    else:
        rule = "given"
    F0 = float(problem.loss(np.asarray(problem.default_x0(), dtype=float))) - c.f_star.value
    runs = {"local_I": local_sgd(problem.n, P1), "hsgd": h, "local_G": local_sgd(problem.n, PM)}
    results = {}
    for name, hier in runs.items():
        say(f"simulate {name}")
        results[name] = simulate(problem, hier, lr=lr, steps=T, seeds=seeds, seed=seed)
        if results[name].diverged:
            raise ValueError(f"the {name} run diverged at step {results[name].diverged['step']}, seed "
                             f"{results[name].diverged['seed']}: lower lr")
    averages = {name: r.average_grad_norm_sq() for name, r in results.items()}
    empirical = {}
    for name, avg in averages.items():
        mean, lo, hi = confidence_interval(avg)
        empirical[name] = {"mean": mean, "ci_low": lo, "ci_high": hi}

    common = dict(gamma=lr, L=L, sigma=sigma, n=problem.n, T=T, F0=F0)
    local = bounds.local_sgd()
    ends = {"local_I": local.evaluate(strict=False, **common, P=P1, eps=eps),
            "local_G": local.evaluate(strict=False, **common, P=PM, eps=eps)}
    own = {"local_I": ends["local_I"],
           "hsgd": hsgd_bound.evaluate(strict=False, **common, eps=[e.value for e in c.eps_levels]),
           "local_G": ends["local_G"]}
    equal = all(k_fine % k == 0 for k_fine, k in zip(h.group_counts[:-1], h.group_counts[1:]))
    random_values = None
    if equal:
        rg = bounds.random_grouping(hsgd_bound).evaluate(strict=False, **common, eps=eps)
        random_values = {"local_I": ends["local_I"], "hsgd": rg, "local_G": ends["local_G"]}
    checks = hsgd_bound.check_condition(gamma=lr, L=L)
    d_low = _paired(averages["local_I"], averages["hsgd"])
    d_high = _paired(averages["hsgd"], averages["local_G"])
    verdicts: dict[str, bool | None] = {
        "condition_holds": all(ch.holds for ch in checks),
        "bound_valid": all(own[k] >= empirical[k]["ci_high"] for k in RUNS),
        "bound_sandwich": None if random_values is None else bool(
            random_values["local_I"] <= random_values["hsgd"] <= random_values["local_G"]),
        "bound_sandwich_own_grouping": bool(own["local_I"] <= own["hsgd"] <= own["local_G"]),
        "empirical_sandwich": bool(d_low[2] >= 0 and d_high[2] >= 0),
        "empirical_sandwich_significant": bool(d_low[1] > 0 and d_high[1] > 0),
    }
    eps_levels = [e.value for e in c.eps_levels]
    constants = {"L": L, "sigma": sigma, "eps": eps, "F0": F0, "f_star_lower_bound": c.f_star.value,
                 "eps_levels": eps_levels,
                 "labels": {"L": c.L.label, "sigma": c.sigma.label, "eps": c.eps.label,
                            "eps_levels": [e.label for e in c.eps_levels], "f_star": c.f_star.label}}
    if h.M == 2:
        constants.update(eps_g=eps_levels[1], eps_l=eps_levels[0])
    params = {"gamma": lr, "n": problem.n, "T": T, "seeds": seeds, "seed": seed,
              "periods": list(h.periods), "groups": counts, "grouping": h.grouping}
    if h.M == 2:
        params.update(N=counts[0], I=P1, G=PM)
    curves = {name: r.running_avg.mean(axis=0) for name, r in results.items()}
    # Each bound at every admissible horizon T' = k P_M <= T, for the running-average plot.
    horizons = np.arange(PM, T + 1, PM)
    per_horizon = dict(common, T=horizons)
    bound_curves = {
        "horizons": horizons,
        "local_I": local.lambdify()(**per_horizon, P=P1, eps=eps),
        "hsgd": hsgd_bound.lambdify()(**per_horizon, eps=[e.value for e in c.eps_levels]),
        "local_G": local.lambdify()(**per_horizon, P=PM, eps=eps),
    }
    return CheckResult(params=params, constants=constants, empirical=empirical, bound=own,
                       bound_random_grouping=random_values, verdicts=verdicts, gamma_rule=rule,
                       hierarchy=h.describe(), curves=curves, bound_curves=bound_curves)


def draw_check(result: CheckResult):
    """The running average of ``||grad f(u^t)||^2`` of the three runs, with their bounds."""
    plt = pyplot()
    fig, (top, zoom) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {"local_I": f"local SGD, P = {result.params['periods'][0]}", "hsgd": "H-SGD",
              "local_G": f"local SGD, P = {result.params['periods'][-1]}"}
    for name in RUNS:
        curve = result.curves[name]
        t = np.arange(1, curve.size + 1)
        for ax in (top, zoom):
            ax.plot(t, curve, color=COLOURS[name], label=f"{labels[name]} (measured)")
        top.plot(result.bound_curves["horizons"], result.bound_curves[name], color=COLOURS[name], ls="--",
                 label=f"{labels[name]} bound at horizon t")
    top.set_yscale("log")
    top.set_xlabel("step t")
    top.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$")
    top.set_title("running average (solid) under the bound for the same horizon (dashed)", fontsize=9)
    top.legend(fontsize=7)
    start = len(result.curves["hsgd"]) // 5
    zoom.set_xlim(start, len(result.curves["hsgd"]))
    lo = min(result.curves[k][start:].min() for k in RUNS)
    hi = max(result.curves[k][start:].max() for k in RUNS)
    zoom.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    zoom.set_xlabel("step t")
    zoom.set_title("measured, zoomed: the empirical sandwich")
    v = result.verdicts
    fig.suptitle(f"{result.hierarchy}; gamma = {result.params['gamma']:.3g}; bound valid: {v['bound_valid']}, "
                 f"bounds sandwiched: {v['bound_sandwich']}, measured sandwiched: {v['empirical_sandwich']}",
                 fontsize=9)
    fig.tight_layout()
    return fig
