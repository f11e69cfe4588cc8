"""``hsgd replay``: the paper's experimental setups on the digits (a thin layer over :mod:`figures.replay`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from figures.cli.options import add_execution_options, integer_option, real_option

__all__ = ["register"]

HELP = "replay the paper's experimental setups (the authors' code's semantics) on scikit-learn's digits"


def _outputs(args: argparse.Namespace) -> list[str]:
    """The files ``--out`` names (checked before any work)."""
    stem = Path(args.out).name
    return [f"{stem}.{ext}" for ext in ("png", "pdf", "json")]


def _replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from empirical.io import json_text
    from figures.executor import executor
    from figures.io import publish
    from figures.paper.f13_replay import draw_f13
    from figures.replay import RUNS, SETUPS, format_report, replay

    start = time.perf_counter()
    total = len(SETUPS) * len(RUNS)
    show = not (args.json or args.no_progress) and sys.stderr.isatty()
    with executor(args.workers, args.dask_scheduler, tasks=total) as pool, \
            tqdm(total=total, desc="replay", unit="run", disable=not show) as bar:
        data = replay(rounds=args.rounds, seeds=args.seeds, seed=args.seed, lr=args.lr, executor=pool,
                      progress=lambda name: (bar.set_postfix_str(name), bar.update(1)))
    paths = publish(draw_f13(data), data, args.out)
    if args.json:
        print(json_text(data))
        return 0
    print(format_report(data))
    print(f"wrote {', '.join(map(str, paths))}")
    print(f"took {time.perf_counter() - start:.1f} s")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd replay``."""
    p = commands.add_parser("replay", help=HELP)
    p.add_argument("--rounds", type=integer_option(1, 10**6), default=100,
                   help="two-level global rounds of 50 steps (default 100); every run takes 50 x ROUNDS steps")
    p.add_argument("--seeds", type=integer_option(1, 10**4), default=6,
                   help="independent runs (default 6; at least 2 for a verdict)")
    p.add_argument("--seed", type=integer_option(0, 2**32 - 1), default=0, help="root seed of the runs (default 0)")
    p.add_argument("--lr", type=real_option("positive", high=1e3), default=0.02,
                   help="step size (default 0.02, the authors')")
    p.add_argument("--json", action="store_true", help="print the data and verdicts as JSON")
    p.add_argument("--out", default="out/replay",
                   help="file stem of the figure and its data: OUT.png, OUT.pdf, OUT.json (default out/replay)")
    add_execution_options(p, "the runs", "progress bar")
    p.set_defaults(handler=_replay, outputs=_outputs)
