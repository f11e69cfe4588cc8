"""``hsgd figures``: rebuild every figure (PNG, PDF and the data behind it as JSON).

F1 sandwich curves (N = 2, 4, 8); F2 bounds against G and N (Corollary 1's interpolation);
F3 measured / bound over 90 configurations (a resumable sweep, process pool or Dask);
F4 grouping strategies; F5 three-level sandwich; F6 the divergence sawtooth; F7 handwritten
digits split by label across workers (scikit-learn's bundled data); F8 verification power (the
best witness ratio per term and the kill matrix of Theorem 2's mutants, :mod:`figures.power`;
its runs resume from ``<out-dir>/power_runs``); F9 the proof-step audit along a run
(:mod:`empirical.audit`).

After the files, ``hsgd figures`` prints one line per figure: what it shows and its verdicts
in words with their basis (each figure module's ``summary(data)``, read from the JSON it wrote).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Callable

from bounds.cli import list_option
from figures import (f1_sandwich, f2_interpolation, f3_battery, f4_grouping, f5_three_level, f6_sawtooth, f7_digits,
                     f8_power, f9_audit)
from figures.f1_sandwich import build_f1
from figures.f2_interpolation import build_f2
from figures.f3_battery import build_f3
from figures.f4_grouping import build_f4
from figures.f5_three_level import build_f5
from figures.f6_sawtooth import build_f6
from figures.f7_digits import build_f7
from figures.f8_power import build_f8
from figures.f9_audit import build_f9
from figures.sweep import executor_for

__all__ = ["FIGURES", "SUMMARIES", "SWEEPS", "build_all", "summaries", "figure_name", "register"]

FIGURES: dict[str, Callable[..., list[Path]]] = {
    "f1": build_f1, "f2": build_f2, "f3": build_f3, "f4": build_f4, "f5": build_f5, "f6": build_f6,
    "f7": build_f7, "f8": build_f8, "f9": build_f9,
}


SUMMARIES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "f1": ("f1_sandwich", f1_sandwich.summary), "f2": ("f2_interpolation", f2_interpolation.summary),
    "f3": ("f3_battery", f3_battery.summary), "f4": ("f4_grouping", f4_grouping.summary),
    "f5": ("f5_three_level", f5_three_level.summary), "f6": ("f6_sawtooth", f6_sawtooth.summary),
    "f7": ("f7_digits", f7_digits.summary), "f8": ("f8_power", f8_power.summary),
    "f9": ("f9_audit", f9_audit.summary),
}
"""Per figure: the stem of its files and the function that words its data in one line."""


def summaries(out_dir: str | Path, only: list[str] | None = None) -> list[str]:
    """One line per figure named in ``only`` (default all), from the JSON in ``out_dir``:
    what the figure shows and its verdicts in words, with their basis."""
    lines = []
    for name in only or list(FIGURES):
        if name not in SUMMARIES:
            raise ValueError(f"unknown figure {name!r}; choose from {', '.join(FIGURES)}")
        stem, words = SUMMARIES[name]
        lines.append(words(json.loads((Path(out_dir) / f"{stem}.json").read_text())))
    return lines


SWEEPS = ("f3", "f8")
"""Figures whose runs are a sweep (:func:`figures.sweep.run_sweep`), parallel on their own."""


def _build_one(name: str, out_dir: str, quick: bool) -> list[Path]:
    """Build one figure that is not a sweep (a top-level function, so a process pool can run it)."""
    return FIGURES[name](out_dir, quick=quick)


def build_all(out_dir: str | Path, *, quick: bool = False, only: list[str] | None = None,
              executor: Executor | None = None, progress: bool = True, workers: int | None = None) -> list[Path]:
    """Build the figures named in ``only`` (default all) into ``out_dir``; returns the files, in
    the order of :data:`FIGURES`.

    Both cores: the figures that are not sweeps run in a process pool of ``workers`` processes
    (default: the CPU count; ``1`` builds them one after the other in this process) while this
    process runs the sweeps of F3 and F8 (``executor``: their own process pool by default, or a
    Dask cluster's). Every figure is seeded, so the files are the same either way.
    """
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    names = only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}")
    done: dict[str, list[Path]] = {}
    light = [n for n in names if n not in SWEEPS]
    pool = ProcessPoolExecutor(max_workers=workers) if light and workers != 1 else None
    try:
        futures = {n: pool.submit(_build_one, n, str(out_dir), quick) for n in light} if pool else {}
        with tqdm(total=len(names), desc="figures", unit="figure", disable=not progress) as bar:
            for name in names:
                if name in SWEEPS:
                    bar.set_postfix_str(name)
                    done[name] = FIGURES[name](out_dir, quick=quick, executor=executor, progress=progress) \
                        if name == "f3" else FIGURES[name](out_dir, quick=quick)
                    bar.update(1)
                elif pool is None:
                    bar.set_postfix_str(name)
                    done[name] = _build_one(name, str(out_dir), quick)
                    bar.update(1)
            for name, future in futures.items():
                done[name] = future.result()
                bar.update(1)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return [path for name in names for path in done[name]]


def figure_name(text: str) -> str:
    """An argparse ``type`` for one item of ``--only``: the name of a figure in :data:`FIGURES`.

    Example:
        >>> figure_name(" f2 ")
        'f2'
        >>> figure_name("f0")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be a figure name, one of f1, f2, ...; unknown figure 'f0'
    """
    name = text.strip()
    if name not in FIGURES:
        raise argparse.ArgumentTypeError(f"must be a figure name, one of {', '.join(FIGURES)}; unknown figure {name!r}")
    return name


def _figures(args: argparse.Namespace) -> int:
    if args.out_dir is None:
        args.out_dir = "out/figures-quick" if args.quick else "figures"
    with executor_for(args.dask_scheduler) as executor:
        paths = build_all(args.out_dir, quick=args.quick, only=args.only, executor=executor,
                          progress=not args.no_progress and sys.stderr.isatty())
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
    p.add_argument("--only", type=list_option(figure_name), default=None,
                   help="comma-separated figure names, e.g. f1,f3 (default: all)")
    p.add_argument("--dask-scheduler", default=None,
                   help="run the F3 sweep on a Dask cluster at this address (e.g. tcp://host:8786)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=_figures)
