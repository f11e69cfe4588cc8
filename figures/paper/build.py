"""``hsgd figures``: rebuild every figure (PNG, PDF and the data behind it as JSON).

F1 sandwich curves (N = 2, 4, 8); F2 bounds against G and N (Corollary 1's interpolation);
F3 measured / bound over 90 configurations (a resumable sweep, process pool or Dask);
F4 grouping strategies; F5 three-level sandwich; F6 the divergence sawtooth; F7 handwritten
digits split by label across workers (scikit-learn's bundled data); F8 verification power (the
best witness ratio per term and the kill matrix of Theorem 2's mutants, :mod:`figures.power`;
its runs resume from ``<out-dir>/power_runs``); F9 the proof-step audit along a run
(:mod:`empirical.studies.audit`); F10 the Dirichlet label partition against alpha: eps_l, eps_g, Theorem W's
bounds and the measured sandwich for random and label-aware grouping (:mod:`figures.paper.f10_partitions`);
F11 the bound's ranking of designs against measured time; F12 the tightness interval of each level's
constants against its period (:mod:`figures.paper.f12_tightness`); F13 the paper's experimental setups
replayed on the digits (``hsgd replay``, :mod:`figures.replay`).

After the files, ``hsgd figures`` prints one line per figure: what it shows and its verdicts
in words with their basis (each figure module's ``summary(data)``, read from the JSON it wrote).
"""

from __future__ import annotations

import argparse
import importlib
from concurrent.futures import Executor
from pathlib import Path
from typing import Any


__all__ = ["FIGURES", "SUMMARIES", "SWEEPS", "build_all", "summaries", "figure_name"]

MODULES = {"f1": "f1_sandwich", "f2": "f2_interpolation", "f3": "f3_battery", "f4": "f4_grouping",
           "f5": "f5_three_level", "f6": "f6_sawtooth", "f7": "f7_digits", "f8": "f8_power", "f9": "f9_audit",
           "f10": "f10_partitions", "f11": "f11_ranking", "f12": "f12_tightness",
           "f13": "f13_replay"}
"""Per figure: its module in :mod:`figures` (``build_<name>``, ``summary``) and the stem of its files.

The modules load when a figure is built or summarised, so that ``hsgd figures --help`` imports
neither matplotlib nor the simulator."""


def _module(name: str) -> Any:
    return importlib.import_module(f"figures.paper.{MODULES[name]}")


def __getattr__(attr: str) -> Any:
    """``FIGURES`` (per figure its ``build_<name>`` function) and ``SUMMARIES`` (per figure the
    stem of its files and the function that words its data in one line), loaded on first use."""
    if attr == "FIGURES":
        return {name: getattr(_module(name), f"build_{name}") for name in MODULES}
    if attr == "SUMMARIES":
        return {name: (stem, _module(name).summary) for name, stem in MODULES.items()}
    raise AttributeError(f"module 'figures.paper.build' has no attribute {attr!r}")


def summaries(out_dir: str | Path, only: list[str] | None = None) -> list[str]:
    """One line per figure named in ``only`` (default all), from the JSON in ``out_dir``:
    what the figure shows and its verdicts in words, with their basis."""
    from empirical.io import read_json

    lines = []
    for name in only or list(MODULES):
        if name not in MODULES:
            raise ValueError(f"unknown figure {name!r}; choose from {', '.join(MODULES)}")
        lines.append(_module(name).summary(read_json((Path(out_dir) / f"{MODULES[name]}.json").read_text())))
    return lines


SWEEPS = ("f3", "f8", "f12", "f13")
"""Figures whose runs are a sweep (:func:`figures.sweep.run_sweep`): their configurations go to the
executor one by one, and the figure is drawn in this process (F12's are the searches of
:func:`figures.tightness.tightness`; F13's the runs of :func:`figures.replay.replay`)."""


def _build_one(name: str, out_dir: str, quick: bool) -> list[Path]:
    """Build one figure that is not a sweep (a top-level function, so a process pool can run it)."""
    return getattr(_module(name), f"build_{name}")(out_dir, quick=quick)


def _build_sweep(name: str, out_dir: str | Path, quick: bool, executor: Executor, progress: bool) -> list[Path]:
    """Build F3 or F8 in this process, their runs on ``executor`` (resumed from ``out_dir``)."""
    if name == "f3":
        return _module(name).build_f3(out_dir, quick=quick, executor=executor, progress=progress)
    if name == "f12":  # its searches on the executor, one per bar and theorem
        return _module(name).build_f12(out_dir, quick=quick, executor=executor)
    if name == "f13":  # its nine runs on the executor
        return _module(name).build_f13(out_dir, quick=quick, executor=executor)
    from figures.power import collect_evidence

    # the runs, and Theorem S's terms of each (its Young parameters optimised per run), on the executor;
    # F8 reads them back and analyses them here
    collect_evidence(out_dir, quick=quick, executor=executor, progress=progress, theorem_spec="sharp")
    return _module(name).build_f8(out_dir, quick=quick, executor=executor)  # its fresh-seed confirmations too


def build_all(out_dir: str | Path, *, quick: bool = False, only: list[str] | None = None,
              executor: Executor | None = None, progress: bool = True, workers: int | None = None) -> list[Path]:
    """Build the figures named in ``only`` (default all) into ``out_dir``; returns the files, in
    the order of :data:`FIGURES`.

    One executor (:func:`figures.executor.executor`, ``workers`` processes: default one per CPU,
    ``1`` builds everything in this process, one figure after the other) runs the figures that
    are not sweeps and, unless ``executor`` is given (e.g. a Dask cluster's), the runs of the F3
    and F8 sweeps too, while this process collects the sweeps' results and draws F3 and F8. The
    figures that write files run on this machine, whatever ``executor`` is. Every figure is
    seeded, so the files are the same whatever runs where.
    """
    from tqdm import tqdm

    from figures.executor import executor as make_executor
    from figures.executor import is_inline

    names = only or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        raise ValueError(f"unknown figure {unknown[0]!r}; choose from {', '.join(MODULES)}")
    done: dict[str, list[Path]] = {}
    light = [n for n in names if n not in SWEEPS]
    with make_executor(workers) as local:
        sweeps = executor if executor is not None else local
        inline = is_inline(local)
        futures = {} if inline else {n: local.submit(_build_one, n, str(out_dir), quick) for n in light}
        with tqdm(total=len(names), desc="figures", unit="figure", disable=not progress) as bar:
            for name in names:
                if name in SWEEPS or inline:
                    bar.set_postfix_str(name)
                    done[name] = (_build_sweep(name, out_dir, quick, sweeps, progress) if name in SWEEPS
                                  else _build_one(name, str(out_dir), quick))
                    bar.update(1)
            for name, future in futures.items():
                done[name] = future.result()
                bar.update(1)
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
    if name not in MODULES:
        raise argparse.ArgumentTypeError(f"must be a figure name, one of {', '.join(MODULES)}; unknown figure {name!r}")
    return name
