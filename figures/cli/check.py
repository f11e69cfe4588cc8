"""``hsgd check``: the sandwich checker from the command line (a thin layer over :mod:`figures.checker`)."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Any

import numpy as np

from figures.cli.options import add_execution_options, add_theorem_option, integer_option, real_option
from bounds.multi_level import multi_level
from bounds.theorems import THEOREM_2, theorem as resolve_theorem
from empirical.engine import PARTICIPATION_MODES
from figures.cli.arguments import (COST_DEFAULTS, MAX_SEED, add_cost_arguments, add_hierarchy_arguments, add_problem_arguments, make_cost_model,
                           make_hierarchy, make_problem)

__all__ = ["register"]

DEFAULT_STEPS = 3000  # figures.checker.run_check's T when --steps is not given (for the memory check)


def _fraction(text: str) -> float:
    """A share in ``(0, 1]`` (``--participation``)."""
    value = real_option("positive")(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1], got {text!r}")
    return value


def _render(result: Any, formats: tuple[str, ...]) -> dict[str, bytes]:
    """Draw ``result`` (:func:`figures.checker.draw_check`) and render it in ``formats`` (a
    top-level function, so that a worker process can render one format while this process
    renders the other); nothing is written here."""
    from figures.checker import draw_check
    from figures.io import figure_bytes
    from figures.plotting import pyplot

    fig = draw_check(result)
    try:
        return {fmt: figure_bytes(fig, fmt) for fmt in formats}
    finally:
        pyplot().close(fig)


def _prepare_drawing() -> None:
    """Import matplotlib and its PDF backend, and draw a small figure with a formula to PNG and
    PDF (loading the fonts and building the formula parsers): ``hsgd check`` does this while
    its runs run in other processes, and the process that later saves the PDF is forked from
    this one, so neither pays for it again. Writes no file; the objects alive after it are
    frozen out of the garbage collector's scans until ``hsgd check`` ends (:func:`_check`)."""
    import io

    gc.freeze()
    import matplotlib.backends.backend_pdf  # noqa: F401 - imported for the fork that saves the PDF

    from figures.plotting import pyplot

    plt = pyplot()
    fig = plt.figure(figsize=(1, 1))
    try:
        fig.text(0.1, 0.5, "$\\|\\nabla f\\|^2$ 10")
        for fmt in ("png", "pdf"):
            fig.savefig(io.BytesIO(), format=fmt, dpi=20)
    finally:
        plt.close(fig)
    gc.freeze()  # and matplotlib's modules (see _check)


def _drawing(result: Any, stem: Path, workers: int | None) -> dict[Path, bytes]:
    """``stem.png`` and ``stem.pdf`` rendered (not written): with more than one worker, the PDF
    in another process."""
    from figures.executor import executor, is_inline

    with executor(workers, tasks=2) as pool:  # at most two processes: the PNG is drawn here, the PDF there
        if is_inline(pool):
            rendered = _render(result, ("png", "pdf"))
        else:
            pdf = pool.submit(_render, result, ("pdf",))
            rendered = {**_render(result, ("png",)), **pdf.result()}
    return {stem.with_name(f"{stem.name}.{fmt}"): rendered[fmt] for fmt in ("png", "pdf")}


def _outputs(args: argparse.Namespace) -> list[str]:
    """The files ``hsgd check`` writes in ``--out-dir`` (checked before any work)."""
    return ["check.png", "check.pdf", "check.json"] + (["check-time.png", "check-time.pdf"] if args.time else [])


def _check(args: argparse.Namespace) -> int:
    """``hsgd check``, with the objects alive at its start (and those of :func:`_prepare_drawing`)
    left out of the garbage collector's scans until it ends (``gc.freeze``: the modules of
    sympy, scipy and matplotlib are some 170,000 objects, and scanning them made the collector
    take about 0.2 s of the command). Unfrozen at the end: nothing stays out of the collector."""
    gc.freeze()
    try:
        return _run_check(args)
    finally:
        gc.unfreeze()


def _run_check(args: argparse.Namespace) -> int:
    """``hsgd check``: run, save its files together (the figure, the time figure with ``--time``,
    the JSON), then print the results. If the files cannot be saved, the results are printed
    all the same (text or ``--json``), and then the error is raised (one line, status 2)."""
    from empirical.io import json_text, write_together
    from figures.checker import participation_count, run_check

    cost_given = [name for name in COST_DEFAULTS if getattr(args, name) is not None] + [
        name for name in ("middle_latency", "middle_bandwidth", "model_bytes") if getattr(args, name) is not None]
    if cost_given and not args.time:
        raise ValueError(f"--{cost_given[0].replace('_', '-')} describes the cost model of --time: add --time")
    problem = make_problem(args)
    hierarchy = make_hierarchy(args, problem)
    if args.time:
        depth = 2 + (args.middle_latency is not None or args.middle_bandwidth is not None)
        if depth != hierarchy.M:
            hint = (" (add --middle-latency and --middle-bandwidth)" if hierarchy.M == 3 else
                    " (leave out --middle-latency and --middle-bandwidth)" if depth == 3 else "")
            raise ValueError(f"--time: the network has {depth} levels but the hierarchy has {hierarchy.M}{hint}")
    quiet = args.json or args.no_progress or not sys.stderr.isatty()
    say = None if quiet else (lambda stage: print(f"... {stage}", file=sys.stderr))
    # --participation 1 is everyone: the default algorithm, with the default theorem and verdicts
    S = None if args.participation is None else participation_count(args.participation, hierarchy)
    if args.participation_mode is not None and args.participation is None:
        raise ValueError("--participation-mode says when the participants are drawn: it needs --participation")
    federated = S is not None or args.partition is not None or args.weights is not None
    theorem = args.theorem if args.theorem is not None else ("theorem_p" if federated else "theorem2")
    chosen = resolve_theorem(theorem)  # an unknown theorem: one line, before any run
    weights = np.ones(problem.n) if args.weights == "equal" else None
    steps = args.steps if args.steps is not None else (500 if args.problem == "digits" and federated else None)
    result = run_check(problem, hierarchy, theorem=chosen, weights=weights, participation=S,
                       participation_mode=args.participation_mode or "local_round", lr=args.lr, steps=steps,
                       seeds=args.seeds, seed=args.seed, workers=args.workers, scheduler=args.dask_scheduler,
                       progress=say, while_running=_prepare_drawing)
    payload = result.to_json()
    out = Path(args.out_dir)
    files = _drawing(result, out / "check", args.workers)
    if args.time:  # the same runs against wall-clock-equivalent time (empirical.cost)
        from figures.io import figure_bytes
        from figures.plotting import pyplot
        from figures.time_axis import draw_against_time, run_times

        cost_model = make_cost_model(args)
        times = run_times(result, cost_model, problem.d)
        payload["time"] = {"cost_model": cost_model.to_json(),
                           **{k: {key: v[key] for key in ("total", "aggregations", "bytes", "links",
                                                          "communication_share")} for k, v in times.items()}}
        fig = draw_against_time(result, cost_model, problem.d)
        try:
            files.update({out / f"check-time.{fmt}": figure_bytes(fig, fmt) for fmt in ("png", "pdf")})
        finally:
            pyplot().close(fig)
    files[out / "check.json"] = (json_text(payload) + "\n").encode()
    try:
        paths, failure = write_together(files), None  # all of them or none
    except OSError as err:  # a full disk, a folder changed since the check before the runs
        paths, failure = [], err
    payload["files"] = [str(p) for p in paths]
    _print_results(args, result, payload, chosen, federated)
    if failure is not None:  # after the results, so that a failed save does not lose them
        raise type(failure)(failure.errno, f"the results above were not saved ({', '.join(p.name for p in files)}): "
                            f"{failure.strerror or failure}", str(out))
    return 0


def _print_results(args: argparse.Namespace, result: Any, payload: dict[str, Any], chosen: Any, federated: bool) -> None:
    """The results of ``hsgd check`` on standard output: ``payload`` as JSON with ``--json``, else as text."""
    from empirical.io import json_text
    from figures.checker import RUNS

    if args.json:
        print(json_text(payload))
        return
    print(result.hierarchy)
    if chosen is not THEOREM_2:
        free = multi_level([1], [], theorem=chosen).free
        print(f"bounds: {chosen.title} ({chosen.source})"
              + (f", {' and '.join(free)} optimised per bound" if free else ""))
    if "omega" in result.constants:
        print(f"omega = {result.constants['omega']:.4g}, noise shares "
              + ", ".join(f"{s:.4g}" for s in result.constants["noise_shares"])
              + f", sampling error eps_S = {result.constants['eps_sample']:.4g} ({result.constants['labels']['eps_sample']})")
    print(f"gamma = {result.params['gamma']:.6g}: {result.gamma_rule}")
    print(f"T = {result.params['T']}, seeds = {result.params['seeds']}")
    c = result.constants
    labels = c["labels"]
    print(f"constants: L = {c['L']:.4g} ({labels['L']}), sigma = {c['sigma']:.4g} ({labels['sigma']}), "
          f"eps = {c['eps']:.4g} ({labels['eps']}), F0 <= {c['F0']:.4g}")
    print("          per-level eps (this grouping, finest first): "
          + ", ".join(f"{e:.4g}" for e in c["eps_levels"]) + f" ({labels['eps_levels'][0]}); the local SGD "
          f"bounds take Corollary 0's eps = sqrt(sum of their squares) = {c['eps_corollary0']:.4g}")
    p = result.params
    print(f"{'run':<9} {'measured':>10} {'95% CI':>23} {'bound':>10} {'bound/measured':>15} {'random-grouping bound':>22}")
    rg = result.bound_random_grouping
    for name in RUNS:
        e = result.empirical[name]
        rg_text = f"{rg[name]:.4g}" if rg else ("n/a (weights/participation)" if federated else
                                                "n/a (not random grouping)" if p["grouping"] != "random"
                                                else "n/a (unequal groups)")
        ci = (f"{e['ci_low']:>11.5g} .. {e['ci_high']:<9.5g}" if e["ci_low"] == e["ci_low"]
              else f"{'n/a (1 seed)':>23}")
        ratio = result.bound[name] / e["mean"] if e["mean"] > 0 else float("inf")
        ratio_text = f"{ratio:.1f}" if 0.1 <= ratio < 1e6 else f"{ratio:.3g}"
        print(f"{name:<9} {e['mean']:>10.5g} {ci} {result.bound[name]:>10.4g} {ratio_text:>15} {rg_text:>22}")
    if c["estimated"]:
        print(f"estimated (not certified) constants: {', '.join(c['estimated'])}")
    if c["given"]:
        print(f"constants given by the user (the verdicts are as true as they are): {', '.join(c['given'])}")
    if not c["estimated"] and not c["given"]:
        print("every constant is exact or certified")
    print(f"runs: local_I = local SGD with period {p['periods'][0]}; hsgd = H-SGD; local_G = local SGD with "
          f"period {p['periods'][-1]}")
    print("verdicts (exact: rational arithmetic; statistical: 95% CIs over seeds; floating point: a noise-free")
    print("run against the bound, with a stated tolerance; not applicable: a hypothesis fails, and why):")
    for name, verdict in result.verdicts.items():
        basis = f" ({verdict.basis})" if verdict.applicable else ""
        print(f"  {name:<28} {verdict.word}{basis}: {verdict.claim}")
        print(f"  {'':<28}   {verdict.detail}")
    if args.time:
        print("time under the cost model (empirical.cost; compute + per-level aggregations, finest first):")
        for name in RUNS:
            t = payload["time"][name]
            print(f"  {name:<9} {t['total']:>10.4g} s, {100 * t['communication_share']:.0f}% communication, "
                  f"aggregations {t['aggregations']} over {t['links']}")
    if payload["files"]:
        print("wrote " + ", ".join(payload["files"]))


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd check``."""
    p = commands.add_parser("check", help="the sandwich checker: local SGD (I), H-SGD, local SGD (G) and their bounds")
    add_problem_arguments(p)
    add_hierarchy_arguments(p)
    # the project's option parsers: a bad value is one line naming the option and the rule
    p.add_argument("--lr", type=real_option("positive"), default=None,
                   help="step size (default: the largest that H-SGD's step-size condition allows)")
    p.add_argument("--steps", type=integer_option(), default=None,
                   help="T, any T >= 1, not necessarily a multiple of a period (docs/theory.md §5.5 Any "
                        "horizon; default 3000, 500 with --problem digits and --partition/--weights/--participation)")
    p.add_argument("--seeds", type=integer_option(), default=8, help="independent runs (default 8)")
    p.add_argument("--seed", type=integer_option(0, MAX_SEED), default=0, help="seed of the noise (default 0)")
    p.add_argument("--out-dir", default="out", help="where check.png/.pdf/.json go (default ./out)")
    add_theorem_option(p, default=None, default_text="theorem2, or theorem_p with --partition/--weights/--participation")
    add_execution_options(p, "the three runs")
    p.add_argument("--participation", type=_fraction, default=None,
                   help="share of every level-1 group that trains in a round, in (0, 1] (docs/theory.md §10.3; "
                        "default: everyone)")
    p.add_argument("--participation-mode", choices=PARTICIPATION_MODES, default=None,
                   help="when the participants are drawn afresh: local_round (default, the authors' code) at every "
                        "level-1 aggregation, global_round once per global round (docs/theory.md §10.1; Theorem P "
                        "covers both)")
    p.add_argument("--time", action="store_true",
                   help="also plot the runs against wall-clock-equivalent time under the cost model below "
                        "(check-time.png; defaults as in hsgd advise)")
    add_cost_arguments(p, optional=True)
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=_check, outputs=_outputs, default_steps=DEFAULT_STEPS)
