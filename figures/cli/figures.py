"""``hsgd figures``: rebuild the figures (a thin layer over :mod:`figures.paper.build`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from figures.cli.options import add_execution_options, list_option
from figures.paper.build import build_all, figure_name, summaries

__all__ = ["register"]


def _figure_list(text: str) -> list[str]:
    """An argparse ``type`` for ``--only``: comma-separated figure names (:func:`figures.cli.options.list_option`)."""
    return list_option(figure_name)(text)


def _figures(args: argparse.Namespace) -> int:
    from figures.cli import check_output_paths
    from figures.executor import executor

    if args.out_dir is None:
        args.out_dir = "out/figures-quick" if args.quick else "figures"
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)  # our own default, not a mistyped path
        check_output_paths(args)  # checked before any work, as a given folder is

    sweeps = executor(scheduler=args.dask_scheduler) if args.dask_scheduler else None
    try:
        paths = build_all(args.out_dir, quick=args.quick, only=args.only, executor=sweeps, workers=args.workers,
                          progress=not args.no_progress and sys.stderr.isatty())
    finally:
        if sweeps is not None:
            sweeps.shutdown()
    for p in paths:
        print(p)
    for line in summaries(args.out_dir, args.only):
        print(line)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd figures``."""
    p = commands.add_parser("figures", help="rebuild every figure (PNG, PDF, data)")
    p.add_argument("--out-dir", default=None,
                   help="where the files go (default ./figures; with --quick, ./out/figures-quick, so that a quick "
                        "build never replaces the full figures)")
    p.add_argument("--quick", action="store_true", help="a small version (about 25 seconds)")
    p.add_argument("--only", type=_figure_list, default=None,
                   help="comma-separated figure names, e.g. f1,f3 (default: all)")
    add_execution_options(p, "the figures' runs (with --dask-scheduler: the runs of the F3 and F8 sweeps)",
                          "progress bar")
    p.set_defaults(handler=_figures, kept=_kept)


def _kept(args: argparse.Namespace) -> str:
    """What an interrupted ``hsgd figures`` keeps (the line of Ctrl-C)."""
    from pathlib import Path

    out = Path(args.out_dir or ("out/figures-quick" if args.quick else "figures"))
    return (f"each figure in {out} is whole or absent (its PNG, PDF and JSON are written together); the finished "
            f"runs in {out / 'f3_battery_runs'} and {out / ('power_runs_quick' if args.quick else 'power_runs')} resume on the next run")
