"""``hsgd simulate`` and ``hsgd bench engine``: a thin layer over :mod:`empirical`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from empirical.engine import simulate
from empirical.hierarchy import GROUPINGS, local_sgd, multi_level, two_level
from empirical.problems import FiniteSumLogistic, HeterogeneousNonconvex
from empirical.statistics import confidence_interval

__all__ = ["register", "register_bench", "make_problem", "make_hierarchy"]

PROBLEMS = ("nonconvex", "logistic")


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_problem_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose and shape the problem (shared with ``hsgd check``)."""
    p.add_argument("--problem", choices=PROBLEMS, default="nonconvex",
                   help="nonconvex: HeterogeneousNonconvex (certified constants); logistic: finite-sum "
                        "logistic regression with minibatches (estimated sigma, eps)")
    p.add_argument("--n", type=int, default=32, help="workers (default 32)")
    p.add_argument("--d", type=int, default=10, help="dimension (default 10)")
    p.add_argument("--sigma", type=float, default=1.0, help="gradient noise, nonconvex problem (default 1)")
    p.add_argument("--between", type=float, default=2.0, help="heterogeneity between clusters (default 2)")
    p.add_argument("--within", type=float, default=1.0, help="heterogeneity inside clusters (default 1)")
    p.add_argument("--clusters", type=int, default=4, help="data clusters of the nonconvex problem (default 4)")
    p.add_argument("--problem-seed", type=int, default=0, help="seed of the problem's data (default 0)")


def add_hierarchy_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose the hierarchy (shared with ``hsgd check``)."""
    p.add_argument("--N", type=int, default=4, help="groups, two levels (default 4)")
    p.add_argument("--I", type=int, default=5, help="local period (default 5)")
    p.add_argument("--G", type=int, default=50, help="global period (default 50)")
    p.add_argument("--groups", type=_ints, default=None, help="multi-level: K_1,...,K_{M-1}, finest first")
    p.add_argument("--periods", type=_ints, default=None, help="multi-level: P_1,...,P_M, finest first")
    p.add_argument("--grouping", choices=GROUPINGS, default="random", help="how workers are grouped (default random)")
    p.add_argument("--grouping-seed", type=int, default=0, help="seed of the random grouping (default 0)")


def make_problem(args: argparse.Namespace) -> Any:
    if args.problem == "logistic":
        return FiniteSumLogistic(n=args.n, d=args.d, seed=args.problem_seed)
    return HeterogeneousNonconvex(n=args.n, d=args.d, sigma=args.sigma, between=args.between, within=args.within,
                                  clusters=args.clusters, seed=args.problem_seed)


def make_hierarchy(args: argparse.Namespace, problem: Any, local_period: int | None = None) -> Any:
    """The hierarchy the options describe, or local SGD with ``local_period``."""
    if local_period is not None:
        return local_sgd(args.n, local_period)
    if args.periods is not None or args.groups is not None:
        if args.periods is None or args.groups is None:
            raise ValueError("--groups and --periods go together (multi-level)")
        return multi_level(args.n, args.groups, args.periods, grouping=args.grouping, seed=args.grouping_seed,
                           problem=problem)
    return two_level(args.n, args.N, args.I, args.G, grouping=args.grouping, seed=args.grouping_seed, problem=problem)


def progress_bar(total: int, enabled: bool, desc: str):
    """A tqdm bar on standard error, or a no-op when disabled or not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not (enabled and sys.stderr.isatty()), unit="step")


def _simulate(args: argparse.Namespace) -> int:
    problem = make_problem(args)
    hierarchy = make_hierarchy(args, problem)
    with progress_bar(args.steps, not args.no_progress, "simulate") as bar:
        done = [0]

        def advance(steps_done: int) -> None:
            bar.update(steps_done - done[0])
            done[0] = steps_done

        result = simulate(problem, hierarchy, lr=args.lr, steps=args.steps, seeds=args.seeds, seed=args.seed,
                          record_every=args.record_every, progress=advance)
    constants = problem.constants(hierarchy.levels)
    result.extra["constants"] = constants.as_dict()
    avg = result.average_grad_norm_sq()
    mean, lo, hi = confidence_interval(avg)
    summary = {
        "hierarchy": hierarchy.describe(), "lr": args.lr, "steps": args.steps, "seeds": args.seeds,
        "avg_grad_norm_sq": {"mean": mean, "ci95": [lo, hi]},
        "final_upward": float(result.upward[:, -1].mean()), "final_downward": float(result.downward[:, -1].mean()),
        "final_loss": float(result.loss[:, -1].mean()), "diverged": result.diverged,
        "constants": constants.as_dict(),
    }
    if args.out:
        paths = [str(p) for p in _save(result, args.out)]
        summary["saved"] = paths
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{hierarchy.describe()}; {problem!r}")
    print(f"lr={args.lr} steps={args.steps} seeds={args.seeds} seed={args.seed}")
    print(f"average ||grad f(u^t)||^2 over t < T: {mean:.6g}  (95% CI over seeds {lo:.6g} .. {hi:.6g})")
    print(f"final loss {summary['final_loss']:.6g}; final divergence: upward {summary['final_upward']:.4g}, "
          f"downward {summary['final_downward']:.4g}")
    for name in ("L", "sigma", "eps", "f_star"):
        c = getattr(constants, name)
        print(f"  {name:<7} {c.value:.6g}  ({c.label})")
    for l, c in enumerate(constants.eps_levels, start=1):
        print(f"  eps_{l:<3} {c.value:.6g}  ({c.label})")
    if result.diverged:
        print(f"DIVERGED at step {result.diverged['step']}, seed {result.diverged['seed']}")
    if args.out:
        print("saved " + ", ".join(summary["saved"]))
    return 0


def _save(result: Any, out: str):
    from empirical.results import save_result

    return save_result(result, out)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd simulate``."""
    p = commands.add_parser("simulate", help="run H-SGD (or local SGD) on a synthetic problem")
    add_problem_arguments(p)
    add_hierarchy_arguments(p)
    p.add_argument("--lr", type=float, default=0.01, help="step size (default 0.01)")
    p.add_argument("--steps", type=int, default=3000, help="steps T (default 3000)")
    p.add_argument("--seeds", type=int, default=8, help="independent runs (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--record-every", type=int, default=1, help="record every k steps (default 1)")
    p.add_argument("--out", default=None, help="save the result as OUT.npz + OUT.json")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_simulate)


def register_bench(targets: argparse._SubParsersAction) -> None:
    """Add ``hsgd bench engine``."""
    from empirical.bench import run_from_args

    p = targets.add_parser("engine", help="worker-steps per second, against a per-worker loop and the bare update")
    p.add_argument("--quick", action="store_true", help="a tiny version (seconds)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(handler=run_from_args)
