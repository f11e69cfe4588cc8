"""``hsgd tightness``: per term, the interval in which a theorem's true constant lies (a thin layer over
:mod:`figures.tightness`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from figures.cli.options import (
    add_execution_options,
    integer_option,
    list_option,
    real_option,
)

__all__ = ["format_report", "register"]

_CONFIGURATION = ("n", "groups", "periods", "L", "sigma", "eps", "lr", "steps")


def format_report(report: dict[str, Any]) -> str:
    """The intervals as text, one line per term and theorem."""
    c = report["configuration"]
    lines = [f"configuration: n = {c['n']}, groups {c['counts']}, periods {c['periods']}, L = {c['L']:.6g}, "
             f"sigma = {c['sigma']:.6g}, eps = [{', '.join(f'{e:.6g}' for e in c['eps'])}], gamma = {c['gamma']:.6g}, "
             f"T = {c['T']} ({report['runs']} search runs, every interval on fresh seeds)",
             "per term: the smallest valid constant lies in [theta, 1] x the stated one (theta from the best run "
             "on fresh seeds; 'none' where no run refutes any smaller constant)"]
    for entry in report["theorems"].values():
        lines.append(f"{entry['title']} ({entry['source']}):")
        for term, info in entry["terms"].items():
            theta = info["theta"]
            if theta is None or theta <= 0:
                shown = f"none (theta {theta:.3g})" if theta is not None else "none"
            else:
                shown = f"[{theta:.3f}, 1]  known within {info['factor']:.3g}x"
            lines.append(f"  {term:24s} {shown}")
        total = entry["total"]
        if total is not None and total["ratio"] is not None:
            lines.append(f"  {'total':24s} worst case in [{total['ratio']:.3f}, 1] x the bound "
                         f"({total['bound']:.6g}; known within {total['factor']:.3g}x)")
    return "\n".join(lines)


def _configuration(args: argparse.Namespace) -> dict[str, Any] | None:
    """The configuration the options give, the rest from ``hsgd check``'s defaults (``None``: all of them)."""
    given = {k: getattr(args, k) for k in _CONFIGURATION if getattr(args, k) is not None}
    if not given:
        return None
    from figures.tightness import default_configuration

    config = default_configuration()
    mapping = {"groups": "counts", "lr": "gamma", "steps": "T"}
    for key, value in given.items():
        config[mapping.get(key, key)] = value
    if ("periods" in given) != ("groups" in given) and len(config["periods"]) - 1 != len(config["counts"]):
        raise ValueError("--periods and --groups must describe the same depth: give both (groups K_1..K_(M-1))")
    if "eps" not in given and len(config["eps"]) != len(config["periods"]):
        raise ValueError(f"--eps must be given for {len(config['periods'])} levels (one value per level, finest first)")
    return config


def _tightness(args: argparse.Namespace) -> int:
    from empirical.io import json_text, write_json
    from figures.executor import executor
    from figures.tightness import THEOREMS, tightness

    config = _configuration(args)
    theorems = args.theorem or list(THEOREMS)
    with executor(args.workers, args.dask_scheduler) as pool:
        report = tightness(config, theorems=theorems, budget=args.budget, seed=args.seed, out_dir=args.out_dir,
                           executor=pool, progress=not (args.json or args.no_progress) and sys.stderr.isatty())
    path = Path(args.out_dir) / "tightness.json"
    write_json(path, report)
    print(json_text(report) if args.json else format_report(report))
    if not args.json:
        print(f"wrote {path}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd tightness``."""
    p = commands.add_parser("tightness", help="per term, the interval in which a theorem's true constant lies, "
                                              "from runs on fresh seeds")
    p.add_argument("--n", type=integer_option(2, 4096), default=None, help="workers (default: hsgd check's, 32)")
    p.add_argument("--groups", type=list_option(integer_option(), allow_empty=True), default=None,
                   help="K_1,...,K_(M-1), finest first (default 4)")
    p.add_argument("--periods", type=list_option(integer_option(1, 10**4)), default=None,
                   help="P_1,...,P_M, finest first (default 5,50)")
    p.add_argument("--L", type=real_option("positive", low=1e-6, high=1e6), default=None,
                   help="smoothness L (default: hsgd check's problem's, 9)")
    p.add_argument("--sigma", type=real_option("non-negative", high=1e6), default=None,
                   help="gradient noise sigma (default 1)")
    p.add_argument("--eps", type=list_option(real_option("non-negative", high=1e6)), default=None,
                   help="eps_1,...,eps_M, finest first (default: hsgd check's certified ones)")
    p.add_argument("--lr", type=real_option("positive", high=1.0), default=None,
                   help="step size gamma (default: Theorem 2's largest at hsgd check's defaults)")
    p.add_argument("--steps", type=integer_option(1, 10**5), default=None, help="T (default 3000)")
    p.add_argument("--theorem", action="append", metavar="NAME", default=None,
                   help="a registered theorem (repeat for several; default theorem2, sharp and sharp_recursion)")
    p.add_argument("--budget", type=integer_option(1, 10**6), default=48,
                   help="search runs per term and theorem (default 48: about two minutes at hsgd check's "
                        "defaults, 32 workers x 3000 steps; more runs can only narrow the intervals)")
    p.add_argument("--seed", type=integer_option(0, 9999), default=0, help="the search's seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out-dir", default="out", help="where the runs (resumable) and tightness.json go (default ./out)")
    add_execution_options(p, "the searches", "progress bars")
    p.set_defaults(handler=_tightness, kept=_kept)


def _kept(args: argparse.Namespace) -> str:
    """What an interrupted ``hsgd tightness`` keeps (the line of Ctrl-C)."""
    return f"the finished searches in {Path(args.out_dir) / 'tightness_runs'} are kept and resume on the next run"
