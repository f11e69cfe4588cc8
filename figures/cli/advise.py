"""``hsgd advise``: the design advisor from the command line (a thin layer over :mod:`figures.advise`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from figures.cli.options import add_execution_options, add_theorem_option, integer_option, real_option
from figures.cli.arguments import MAX_SEED, add_cost_arguments, add_problem_arguments, make_cost_model, make_problem

__all__ = ["register", "format_advice"]

HELP = "the design (I, G, N, gamma) that reaches a target fastest on a network, checked by simulation"

_positive = real_option("positive")


def _seconds(value: float | None) -> str:
    return "not reached within the horizon" if value is None else f"{value:.4g} s"


def format_advice(advice: Any) -> str:
    """The advice as text: the search's best designs, then every simulated design with its
    predicted and measured time, the rank agreement and the choice against the measured best."""
    from figures.advise import design_name

    payload = advice.to_json()
    c = advice.constants
    lines = [f"target: average ||grad f(u^t)||^2 <= {advice.target:g}; {payload['searched']} designs searched; "
             f"network (finest first): " + ", ".join(
                 f"{l['name'] or 'level'} {l['latency']:g} s + B/{l['bandwidth']:g} B/s" for l in
                 payload["cost_model"]["levels"])
             + f"; compute {advice.cost_model.compute:g} s/step",
             f"constants: L = {c['L']:.4g} ({c['labels']['L']}), sigma = {c['sigma']:.4g} ({c['labels']['sigma']}), "
             f"per-level eps ({c['labels']['eps_levels']}), F0 <= {c['F0']:.4g}",
             "estimated (not certified) constants: " + ", ".join(c["estimated"]) if c["estimated"]
             else "every constant is exact or certified",
             "best designs by predicted time (bound: docs/theory.md §4.2 Theorem 2, constants derived for this "
             "project; gamma: fewest bound-steps within the step-size condition):"]
    for p in advice.ranking[:max(len(advice.designs), 5)]:
        lines.append(f"  {design_name(p.design):<36} gamma {p.gamma:<11.4g} T {p.steps:>12,}  predicted {p.time:.4g} s")
    lines.append(f"simulated ({len(advice.designs[0].seed_times)} seeds; measured: first T where the running "
                 f"average <= target, charged time(T)):")
    lines.append(f"  {'design':<36} {'predicted':>12} {'measured':>12} {'seed range':>23} {'steps pred/meas':>22}")
    seen = set()
    for kind, outcome in [("top", o) for o in advice.designs] + [("baseline", o) for o in advice.baselines]:
        j = outcome.to_json()
        key = (tuple(j["periods"]), tuple(j["groups"]))
        tag = "" if key not in seen else " (again)"
        seen.add(key)
        spread = (f"{j['measured_time_range'][0]:.4g} .. {j['measured_time_range'][1]:.4g}"
                  if j["measured_time_range"] else "-")
        reached = (f"{j['measured_time']:.4g} s" if j["measured_time"] is not None
                   else f"not reached ({j['seeds_reached']}/{j['seeds']} in {j['horizon']:,} steps)")
        steps = f"{j['predicted_steps']:,}/" + (f"{j['measured_steps']:,.0f}" if j["measured_steps"] else "-")
        lines.append(f"  {(kind + ': ' + j['name'] + tag):<36} {j['predicted_time']:>10.4g} s {reached:>12} "
                     f"{spread:>23} {steps:>22}")
    rho = "n/a (too few designs or ties)" if advice.spearman is None else f"{advice.spearman:.3f}"
    ratio = ("n/a (the choice did not reach the target)" if advice.chosen_over_best_measured is None
             else f"{advice.chosen_over_best_measured:.3f}")
    lines.append(f"Spearman rank correlation, predicted vs measured time: {rho}")
    chosen = design_name(advice.designs[0].prediction.design)
    lines.append(f"advisor's choice ({chosen}) measured / best measured: {ratio}")
    lines += [f"note: {n}" for n in advice.notes]
    return "\n".join(lines)


def _advise(args: argparse.Namespace) -> int:
    from figures.advise import advise
    from empirical.io import json_text

    if args.partition is not None or args.weights is not None:  # its bounds take no weights
        raise ValueError("hsgd advise ranks designs with a bound of the form S/T + R(gamma) at equal weights and full "
                         "participation: --partition and --weights are not supported here (use hsgd check)")
    cost_model = make_cost_model(args)
    problem = make_problem(args)
    quiet = args.json or args.no_progress or not sys.stderr.isatty()
    advice = advise(problem, cost_model, args.target, top=args.top, seeds=args.seeds, seed=args.seed,
                    max_steps=args.max_steps, theorem=args.theorem, workers=args.workers,
                    scheduler=args.dask_scheduler,
                    progress=None if quiet else (lambda stage: print(f"... {stage}", file=sys.stderr, flush=True)))
    if args.json:
        print(json_text(advice.to_json()))
    else:
        print(format_advice(advice))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd advise``."""
    p = commands.add_parser("advise", help=HELP)
    add_problem_arguments(p)
    # make_problem also reads the hierarchy options; the advisor chooses the hierarchy itself
    p.set_defaults(N=None, I=None, G=None, groups=None, periods=None, grouping="random", grouping_seed=None)
    p.add_argument("--target", type=_positive, default=0.05,
                   help="target of the average squared gradient norm (default 0.05); a target so small that "
                        "a searched design needs more than 2**53 - 1 steps by the bound is refused")
    add_cost_arguments(p)
    p.add_argument("--top", type=integer_option(), default=3, help="best designs to simulate (default 3)")
    p.add_argument("--seeds", type=integer_option(), default=4, help="runs per simulated design (default 4)")
    p.add_argument("--seed", type=integer_option(0, MAX_SEED), default=0, help="seed of the noise (default 0)")
    p.add_argument("--max-steps", type=integer_option(), default=20000,
                   help="longest simulation; a design runs min(predicted T, this) steps (default 20000)")
    add_theorem_option(p)
    add_execution_options(p, "the simulations of the chosen designs (one task per design)")
    p.add_argument("--json", action="store_true", help="print the advice as JSON")
    p.set_defaults(handler=_advise)
