"""``hsgd falsify``: try to break a theorem (a thin layer over :mod:`figures.falsify`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from figures.cli.options import (
    add_execution_options,
    add_theorem_option,
    integer_option,
)

__all__ = ["format_report", "register"]


def format_report(report: dict[str, Any]) -> str:
    """The report as text: the answer, the worst fresh-seed ratios, the candidates tested and the reproducer."""
    what = report["title"] if report["statement"] == "theorem" else f"{report['title']}, mutant {report['statement']!r}"
    lines = [f"{what} ({report['source']}): {report['runs']} candidate runs in {report['seconds']:.1f} s "
             f"({report['runs_per_minute']} runs/min), seed {report['seed']}, {len(report['cells'])} cells"]
    if report["falsified"]:
        lines.append("FALSIFIED: a run measures more than the bound on fresh seeds")
    else:
        lines.append(f"survived {report['runs']} runs")
    worst = report["worst"]
    total = worst["total"]

    def lower(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4g}"

    lines.append(f"worst measured/bound on fresh seeds (mean; lower {100 * report['level']:.4g}% end): total "
                 f"{total:.4g}; {lower(report['worst_total_lower'])}" if total is not None else "no run")
    for name, info in worst["terms"].items():
        share = "" if info["share"] is None else f", term {info['share']:.0%} of the bound"
        lines.append(f"  {name:24s} {info['ratio']:.4g}; {lower(info['lower_ratio'])}  (search seeds "
                     f"{info['search_ratio']:.4g}{share}; {info['cell']})")
    if report["confirmed"]:
        lines.append(f"tested on fresh seeds (measured/bound: search seeds -> fresh mean, fresh lower "
                     f"{100 * report['level']:.4g}% end):")
    for c in report["confirmed"]:
        low = "n/a" if c["fresh_lower_ratio"] is None else f"{c['fresh_lower_ratio']:.4g}"
        lines.append(f"  {c['cell']}: {c['search_ratio']:.4g} -> {c['fresh_ratio']:.4g}, lower {low} ({c['state']})")
    lines.append(f"rule: {report['rule']}")
    return "\n".join(lines)


def _falsify(args: argparse.Namespace) -> int:
    from bounds.theorems import theorem
    from empirical.io import json_text, read_json, write_json
    from figures.executor import executor
    from figures.falsify import falsify, replay

    if args.replay is not None:
        try:
            reproducer = read_json(Path(args.replay).read_bytes())
        except (OSError, ValueError) as err:
            raise ValueError(f"--replay {args.replay}: cannot read the reproducer ({err})") from None
        result = replay(reproducer)
        if args.json:
            print(json_text(result))
        else:
            print(f"measured {result['mean']:.10g} (lower {result['lower']}), bound {result['bound']:.10g}: "
                  f"{result['state']}; the same numbers as the reproducer: {'yes' if result['same'] else 'no'}")
        return 0 if result["same"] is not False else 1
    name = theorem(args.theorem).name
    with executor(args.workers, args.dask_scheduler) as pool:
        report = falsify(args.theorem, mutant=args.mutant, budget=args.budget, seed=args.seed, out_dir=args.out_dir,
                         executor=pool, progress=not (args.json or args.no_progress) and sys.stderr.isatty())
    stem = f"falsify_{name}" + ("" if args.mutant is None else "_" + "".join(
        ch if ch.isalnum() else "_" for ch in args.mutant))
    path = Path(args.out_dir) / f"{stem}_reproducer.json"
    if report["reproducer"] is not None:
        report["reproducer"]["command"] = f"hsgd falsify --replay {path}"
        write_json(path, report["reproducer"])
    print(json_text(report) if args.json else format_report(report))
    if not args.json and report["reproducer"] is not None:
        print(f"reproducer: {path} (re-run: hsgd falsify --replay {path})")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd falsify``."""
    p = commands.add_parser("falsify", help="try to break a theorem: a search of the assumption class, "
                                            "confirmed on fresh seeds")
    add_theorem_option(p)
    p.add_argument("--mutant", default=None, metavar="NAME",
                   help="test this mutant of the theorem instead (the names of hsgd power, e.g. 'level_1_noise/2')")
    p.add_argument("--budget", type=integer_option(1, 10**7), default=2000,
                   help="candidate runs of the search (default 2000; below 500 a smaller set of cells)")
    p.add_argument("--seed", type=integer_option(0, 9999), default=0, help="the search's seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out-dir", default="out", help="where the cells' runs (resumable) and the reproducer go "
                                                    "(default ./out)")
    p.add_argument("--replay", default=None, metavar="FILE", help="re-run a reproducer this command wrote")
    add_execution_options(p, "the cells", "progress bars")
    p.set_defaults(handler=_falsify, kept=_kept)


def _kept(args: argparse.Namespace) -> str:
    """What an interrupted ``hsgd falsify`` keeps (the line of Ctrl-C)."""
    return f"the finished cells in {Path(args.out_dir) / 'falsify_runs'} are kept and resume on the next run"
