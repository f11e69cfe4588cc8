"""``hsgd simulate`` and ``hsgd bench engine``: a thin layer over :mod:`empirical`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from figures.cli.arguments import MAX_SEED, add_hierarchy_arguments, add_problem_arguments, make_hierarchy, make_problem
from figures.cli.options import integer_option, real_option
from bounds.optimal import largest_step_size
from empirical.engine import RECORDS, default_record_every, simulate
from empirical.hierarchy import Hierarchy
from empirical.io import check_parent, json_text
from figures.verdicts import Verdict, condition_holds

__all__ = ["register", "register_bench", "step_size", "averaged_over"]

def step_size(hierarchy: Hierarchy, constants: Any, lr: float | None) -> tuple[float, str, Verdict, str | None]:
    """The step size of a run, the rule that chose it, the step-size condition's verdict, and a
    warning when a given one breaks the condition.

    The condition is that of the hierarchy's bound (docs/theory.md §4.2 Theorem 2; §4.1 Theorem 1
    for two levels) at the problem's ``L``, decided exactly (:func:`figures.verdicts.condition_holds`,
    the decision ``hsgd check`` makes); not applicable at an estimated ``L``. Without ``lr``, the
    largest float step size it allows exactly (:func:`bounds.largest_step_size`).

    Returns:
        ``(lr, rule, verdict, warning)``; ``warning`` is ``None`` unless ``lr`` was given and
        breaks the condition, and then says which condition and by how much.
    """
    bound = hierarchy.shape.bound()
    L = constants.L
    gamma_max, limiting = largest_step_size(bound, L=L.value)
    where = f"{bound.title}, L = {L.value:.4g} ({L.label})"
    chosen = gamma_max if lr is None else lr
    verdict = condition_holds(bound, dict(gamma=chosen, L=L.value), name=bound.title, estimated=constants.estimated(),
                              given=[name for name in constants.given() if name == "L"])
    if lr is None:
        return gamma_max, f"the largest step size the condition {limiting} allows ({where})", verdict, None
    failing = [c for c in bound.check_condition(gamma=lr, L=L.value) if not c.holds]
    if not failing:
        return lr, f"given; within the step-size condition ({where}: lr <= {gamma_max:.4g})", verdict, None
    c = failing[0]
    warning = (f"lr = {lr:g} breaks the step-size condition {c.condition.label} of {where}: "
               f"{c.lhs:.4g} > {c.rhs:.4g}; the condition allows lr <= {gamma_max:.4g}, and lr is "
               f"{lr / gamma_max:.3g} times that. The bound does not cover this run.")
    return (lr, f"given; breaks the step-size condition {c.condition.label} ({where}: lr <= {gamma_max:.4g})",
            verdict, warning)


def _ordinal(k: int) -> str:
    """``7th``, ``2nd``, ``11th``."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def averaged_over(recorded: Any, steps: int, record_every: int) -> str:
    """What an average over the recorded steps ``recorded`` of a ``steps``-step run is an average of.

    Example:
        >>> averaged_over(range(0, 3000, 7), 3000, 7)
        'the recorded steps t = 0, 7, ..., 2996 (every 7th step: 429 of the T = 3000 steps)'
        >>> averaged_over(range(3000), 3000, 1)
        'every step t < T = 3000'
    """
    recorded = list(recorded)
    R = len(recorded)
    if R == 0:
        return "no step (nothing was recorded)"
    if record_every == 1 and R == steps:
        return f"every step t < T = {steps}"
    if record_every == 1:
        return f"the steps t = 0, ..., {recorded[-1]} recorded before the run diverged ({R} of T = {steps})"
    shown = ", ".join(str(t) for t in recorded[:2]) + (f", ..., {recorded[-1]}" if R > 2 else "")
    return f"the recorded steps t = {shown} (every {_ordinal(record_every)} step: {R} of the T = {steps} steps)"


def progress_bar(total: int, enabled: bool, desc: str):
    """A tqdm bar on standard error, or a no-op when disabled or not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not (enabled and sys.stderr.isatty()), unit="step")


def _simulate(args: argparse.Namespace) -> int:
    from empirical.statistics import confidence_interval  # scipy.stats: only when a command runs

    if args.out:
        check_parent(args.out)  # before the run, not after it (OUT.npz and OUT.json go next to OUT)
    if args.record_every is None:  # the library's rule, resolved before the memory check needs it
        args.record_every = default_record_every(args.steps)
    problem = make_problem(args)
    hierarchy = make_hierarchy(args, problem)
    constants = problem.constants(hierarchy.levels)
    lr, lr_rule, condition, warning = step_size(hierarchy, constants, args.lr)
    if warning:
        print(f"hsgd: warning: {warning}", file=sys.stderr)
    with progress_bar(args.steps, not args.no_progress, "simulate") as bar:
        done = [0]

        def advance(steps_done: int) -> None:
            bar.update(steps_done - done[0])
            done[0] = steps_done

        result = simulate(problem, hierarchy, lr=lr, steps=args.steps, seeds=args.seeds, seed=args.seed,
                          record_every=args.record_every, progress=advance)
    result.extra["constants"] = constants.as_dict()
    avg = result.average_grad_norm_sq()
    mean, lo, hi = confidence_interval(avg)
    over = averaged_over(result.steps.tolist(), args.steps, args.record_every)
    summary = {
        "hierarchy": hierarchy.describe(), "lr": lr, "lr_rule": lr_rule, "condition_holds": condition.holds,
        "condition": condition.to_json(),
        "steps": args.steps, "seeds": args.seeds, "record_every": args.record_every,
        "avg_grad_norm_sq": {"mean": mean, "ci95": [lo, hi], "averaged_over": over},
        "final_upward": float(result.upward[:, -1].mean()), "final_downward": float(result.downward[:, -1].mean()),
        "final_loss": float(result.loss[:, -1].mean()), "diverged": result.diverged,
        "constants": constants.as_dict(),
    }
    if args.out:
        paths = [str(p) for p in _save(result, args.out)]
        summary["saved"] = paths
    if args.json:
        print(json_text(summary))
        return 0
    print(f"{hierarchy.describe()}; {problem!r}")
    print(f"lr = {lr:.6g}: {lr_rule}")
    print(condition.line())
    print(f"steps={args.steps} seeds={args.seeds} seed={args.seed} record_every={args.record_every}")
    interval = f"95% CI over seeds {lo:.6g} .. {hi:.6g}" if args.seeds > 1 else "one seed: no confidence interval"
    print(f"average ||grad f(u^t)||^2 over {over}: {mean:.6g}  ({interval})")
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
    p.add_argument("--lr", type=real_option("positive"), default=None,
                   help="step size (default: the largest that the hierarchy's step-size condition allows at the "
                        "problem's L; a warning when a given one breaks it)")
    count = integer_option()
    p.add_argument("--steps", type=count, default=3000, help="steps T (default 3000)")
    p.add_argument("--seeds", type=count, default=8, help="independent runs (default 8)")
    p.add_argument("--seed", type=integer_option(0, MAX_SEED), default=0, help="seed of the noise (default 0)")
    p.add_argument("--record-every", type=count, default=None,
                   help=f"record (and average over) every k-th step t = 0, k, 2k, ... (default max(1, steps // "
                        f"{RECORDS}): every step up to {2 * RECORDS - 1} steps, about {RECORDS:,} records beyond; "
                        f"1 averages over every step, as the theorems do)")
    p.add_argument("--out", default=None,
                   help="save the result as OUT.npz + OUT.json (OUT is a file name without extension, not a folder)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_simulate, outputs=_outputs)


def _outputs(args: argparse.Namespace) -> list[str]:
    """The files ``hsgd simulate --out OUT`` writes next to ``OUT`` (checked before any work)."""
    from pathlib import Path

    if not args.out:
        return []
    stem = Path(args.out)
    stem = stem.with_suffix("") if stem.suffix in (".npz", ".json") else stem
    return [f"{stem.name}.npz", f"{stem.name}.json"]


def register_bench(targets: argparse._SubParsersAction) -> None:
    """Add ``hsgd bench engine``."""
    from empirical.bench import run_from_args

    p = targets.add_parser("engine", help="worker-steps per second, against a per-worker loop and the bare update")
    p.add_argument("--quick", action="store_true", help="a tiny version (seconds)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(handler=run_from_args)
