"""``hsgd power``: how large an error in a theorem the toolkit catches (a thin layer over :mod:`figures.power`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from figures.cli.options import add_execution_options, add_theorem_option

__all__ = ["register", "format_report"]



def format_report(report: dict[str, Any]) -> str:
    """The report as text: per term the best ratio and its run, per mutant killed or not (and, for
    a noisy run, its fresh-seed confirmation), the score."""
    lines = [f"{report['title']} ({report['source']}): {report['evidence']} runs with exact or certified constants, {report['dropped']['diverged']} "
             f"of them diverged (an infinite average, kept as evidence); "
             f"{report['dropped']['estimated constants']} runs with estimated constants left out"
             f"{'; quick' if report.get('quick') else ''}",
             ("per term, the best measured/bound where the term is at least half of the bound (the run selected "
              "on its own seeds; a noisy one measured on fresh seeds):")]
    for term, info in report["terms"].items():
        if info.get("best_ratio") is None:
            lines.append(f"  {term:24s} none: {info.get('note', '')}")
            continue
        seeds = "deterministic"
        if info.get("fresh"):
            m = info["measured"]
            low, high = info["ratio_ci95"]
            seeds = (f"{m['seeds']} fresh seeds from root {m['seed']}, 95% CI [{low:.4f}, {high:.4f}]; "
                     f"{info['first_ratio']:.4f} on its own seeds")
        lines.append(f"  {term:24s} {info['best_ratio']:.4f}  (measured/term {info['ratio_to_term']:.4f}; "
                     f"{info['witness']}; {seeds})")
    lines.append(f"mutants ({report['rule']}):")
    for m in report["mutants"]:
        margin = "n/a" if m["margin"] is None else f"{m['margin']:+.3g}"
        verdict = "killed  " if m["killed"] else "survives"
        by = m["by"] or "no run where this mutant differs from the theorem"
        lines.append(f"  {m['name']:28s} {verdict} margin {margin:>9}  by {by}")
        c = m.get("confirmation")
        if c is not None:
            lines.append(f"  {'':28s} {'confirmed' if c['killed'] else 'NOT confirmed'} on {c['seeds']} fresh seeds "
                         f"(root {c['seed']}): mean {c['mean']:.4g}, 95% CI [{c['ci_low']:.4g}, {c['ci_high']:.4g}] vs "
                         f"bound {c['bound']:.4g}; margin on its own seeds {m['first_margin']:+.3g}")
        elif m.get("note"):
            lines.append(f"  {'':28s} {m['note']}")
    closest = report["theorem_closest"]
    margin = "n/a" if closest["margin"] is None else f"{closest['margin']:+.3g}"
    lines.append(f"the theorem itself killed: {'YES' if report['theorem_killed'] else 'no'} (closest run: "
                 f"{closest['by']}, margin {margin})")
    c = report.get("confirmations")
    if c is not None:
        unconfirmed = ", ".join(c["not_confirmed"]) or "none"
        lines.append(f"fresh-seed confirmations: {c['runs']} runs; {c['confirmed']} kills confirmed; flagged on their "
                     f"own seeds but not confirmed: {unconfirmed}")
    lines.append(f"mutation score: {report['killed']} of {report['total']} = {report['score']:.3f}")
    return "\n".join(lines)


def _power(args: argparse.Namespace) -> int:
    from bounds.theorems import theorem
    from empirical.io import write_json
    from empirical.io import json_text
    from figures.executor import executor
    from figures.power import power_report

    name = theorem(args.theorem).name  # an unknown theorem: one line, before any run
    with executor(args.workers, args.dask_scheduler) as pool:
        report = power_report(args.out_dir, theorem_spec=args.theorem, quick=args.quick, executor=pool,
                              progress=not (args.json or args.no_progress) and sys.stderr.isatty())
    path = Path(args.out_dir) / f"power_{name}{'_quick' if args.quick else ''}.json"
    try:
        write_json(path, report)
    except OSError as err:  # print the report first: a failed save must not lose it
        print(json_text(report) if args.json else format_report(report))
        raise type(err)(err.errno, f"the report above was not saved: {err.strerror or err}", str(path)) from None
    if args.json:
        print(json_text(report))
    else:
        print(format_report(report))
        print(f"wrote {path}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd power``."""
    p = commands.add_parser("power", help="verification power: witnesses per term and mutation testing of a theorem")
    p.add_argument("--quick", action="store_true", help="fewer, shorter runs (under two minutes)")
    add_theorem_option(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out-dir", default="out", help="where the runs (resumable) and the report go (default ./out)")
    add_execution_options(p, "the runs", "progress bar")
    p.set_defaults(handler=_power, kept=_kept)


def _kept(args: argparse.Namespace) -> str:
    """What an interrupted ``hsgd power`` keeps (the line of Ctrl-C)."""
    runs = Path(args.out_dir) / ("power_runs_quick" if args.quick else "power_runs")
    return f"the finished runs in {runs} are kept and resume on the next run"
