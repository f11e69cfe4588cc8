"""F13: the paper's experimental setups replayed on the digits (``hsgd replay``, :mod:`figures.replay`).

One row per setup (two levels group-non-IID, two levels group-IID, three levels), training loss
and test accuracy of the global model against global rounds for local SGD (period ``P_1``),
H-SGD and local SGD (period ``P_M``), each with its 95% band over seeds, and the claims' verdicts
in the titles. No bound is drawn: the theorems are not applicable to these runs
(:func:`figures.replay.theorem_verdict`).
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from empirical.statistics import confidence_band
from figures.io import publish
from figures.plotting import COLOURS, band_json, draw_band, pyplot, wrap
from figures.replay import QUICK, RUNS, replay, verdict_word

__all__ = ["f13_data", "draw_f13", "build_f13", "summary"]


def f13_data(quick: bool = False, executor: Executor | None = None) -> dict[str, Any]:
    """:func:`figures.replay.replay` at its defaults (``quick``: :data:`figures.replay.QUICK`)."""
    return replay(**(QUICK if quick else {}), executor=executor)


def _short(word: str) -> str:
    return word.split(" (")[0]


def draw_f13(data: dict[str, Any]):
    """Draw F13 from :func:`figures.replay.replay`'s data; returns the matplotlib figure."""
    plt = pyplot()
    setups = data["setups"]
    fig, axes = plt.subplots(len(setups), 2, figsize=(11, 3.6 * len(setups)), squeeze=False)
    v = data["verdicts"]
    for (name, s), (loss, acc) in zip(setups.items(), axes):
        P = s["periods"]
        labels = {"local_I": f"local SGD, period {P[0]}", "hsgd": f"H-SGD, periods {', '.join(map(str, P))}",
                  "local_G": f"local SGD, period {P[-1]}"}
        for run in RUNS:
            r = s["runs"][run]
            style = {"ls": "--"} if run == "hsgd" else {}
            for ax, key in ((loss, "loss"), (acc, "accuracy")):
                draw_band(ax, r["rounds"], band_json(*confidence_band(np.asarray(r[key], dtype=float))),
                          colour=COLOURS[run], label=labels[run], **style)
        loss.set_yscale("log")
        loss.set_ylabel("training loss f(u) (95% band)")
        acc.set_ylabel("test accuracy (95% band)")
        acc.set_ylim(0.0, 1.0)
        for ax, metric in ((loss, "loss"), (acc, "accuracy")):
            ax.set_xlabel(f"global rounds ({P[-1]} steps each)")
            closes = v.get(f"{name}/c/{metric}", {})
            ax.set_title(wrap(f"{s['title']}\n(a) between: {_short(verdict_word(v[f'{name}/a/{metric}']))}; "
                              f"(c) closes > 50%: {_short(verdict_word(closes))}", 75), fontsize=8)
        acc.legend(fontsize=7, loc="lower right")
    c = data["config"]
    b = v.get("b/loss")
    extra = f"; (b) group-IID beats group-non-IID in loss: {_short(verdict_word(b))}" if b else ""
    fig.suptitle(wrap(f"F13: the paper's setups on the digits, S = 1 per group resampled at every local round, "
                      f"lr {c['lr']:g}, minibatch {c['batch']}, {c['seeds']} seeds, T = {c['steps']} steps{extra}; "
                      f"the theorems: not applicable (Theorem P covers this sampling, but the constants are estimated)", 140),
                 fontsize=9)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F13 shows and its claims' verdicts, in words with their basis."""
    v = data["verdicts"]
    parts = [f"{key} {_short(verdict_word(value))}" for key, value in v.items() if key != "theorem"]
    return (f"F13 (the paper's setups replayed on the digits, {data['config']['seeds']} seeds, T = "
            f"{data['config']['steps']}): " + ", ".join(parts) + " (statistical, paired 95% intervals); the theorem: "
            + verdict_word(v["theorem"]))


def build_f13(out_dir: str | Path, quick: bool = False, executor: Executor | None = None) -> list[Path]:
    """Compute, draw and save F13 (``f13_replay.png/.pdf/.json``) into ``out_dir``, its runs on ``executor``."""
    data = f13_data(quick, executor)
    return publish(draw_f13(data), data, Path(out_dir) / "f13_replay")
