"""F12: how tight the theorems' constants are, per level and period (:mod:`figures.tightness`).

For each level ``l`` in ``{1, 2}`` and period ``P`` in :data:`PERIODS`, a two-level configuration
where that level's period is ``P`` (level 1: ``I = P``, ``G = 2P``; level 2: ``I = 1``, ``G = P``;
four workers in two groups for the heterogeneity, 1024 for the noise shares (level 2: groups of
two), ``L = 1``,
the step size half Theorem 2's largest, ``T = 40 G``), and for Theorem 2 and Theorem S: the
interval ``[theta, 1]`` in which the smallest valid constant of the level's heterogeneity term
and of its noise share lies (as multiples of the stated constant), from a fresh-seed run of
the search (:func:`figures.tightness.tightness`). A short bar is a constant known closely; a
bar down to 0, one no run has refuted any part of.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from figures.plotting import pyplot

__all__ = ["PERIODS", "configuration", "f12_data", "draw_f12", "summary", "build_f12"]

PERIODS = (2, 4, 8)
"""The periods of the witnessed level."""
THEOREMS = ("theorem2", "sharp")
KINDS = ("heterogeneity", "noise")


def configuration(level: int, P: int, kind: str, quick: bool = False) -> dict[str, Any]:
    """The configuration of one bar: level ``level`` at period ``P``, only its ``kind``'s constant
    nonzero. A noise share is of order ``gamma^2 sigma^2`` against the plain noise term's
    ``gamma sigma^2/n``, which the share's interval must also pay for: its bars have 1024 workers
    (64 in the quick build, where no run can pin a noise share down)."""
    from bounds.federated import largest_step_size

    periods = [P, 2 * P] if level == 1 else [1, P]
    n = 4 if kind == "heterogeneity" else (64 if quick else 1024)
    groups = 2 if level == 1 or kind == "heterogeneity" else n // 2
    gamma = 0.5 * largest_step_size(1.0, tuple(periods))
    eps = [0.0, 0.0]
    if kind == "heterogeneity":
        eps[level - 1] = 1.0
    return {"n": n, "counts": [groups], "periods": periods, "L": 1.0, "sigma": 0.0 if kind == "heterogeneity" else 1.0,
            "eps": eps, "gamma": gamma, "T": 40 * periods[-1]}


def f12_data(quick: bool = False, executor: Executor | None = None, out_dir: str | Path = "out") -> dict[str, Any]:
    """Every bar's interval (resumable in ``out_dir/tightness_runs``)."""
    from figures.tightness import tightness

    budgets = {"heterogeneity": 32 if quick else 128, "noise": 16 if quick else 32}  # a 1024-worker run costs 250x
    bars = []
    for level in (1, 2):
        for P in PERIODS[:2] if quick else PERIODS:
            for kind in KINDS:
                term = f"level_{level}_{kind}"
                config = configuration(level, P, kind, quick)
                report = tightness(config, theorems=THEOREMS, budget=budgets[kind], seed=P, out_dir=out_dir,
                                   executor=executor, progress=False, terms=[term])
                for name in THEOREMS:
                    info = report["theorems"][name]["terms"].get(term)
                    bars.append({"level": level, "P": P, "kind": kind, "theorem": name, "term": term,
                                 "theta": None if info is None else info["theta"],
                                 "interval": [0.0, 1.0] if info is None else info["interval"], "configuration": config})
    return {"bars": bars, "budget": budgets, "quick": quick, "periods": list(PERIODS[:2] if quick else PERIODS)}


def draw_f12(data: dict[str, Any]):
    """Per level and kind, the intervals against ``P``, Theorem 2 and Theorem S side by side."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharey=True)
    colours = {"theorem2": "tab:blue", "sharp": "tab:orange"}
    names = {"theorem2": "Theorem 2", "sharp": "Theorem S"}
    for row, level in enumerate((1, 2)):
        for col, kind in enumerate(KINDS):
            ax = axes[row][col]
            for offset, name in zip((-0.12, 0.12), THEOREMS):
                bars = [b for b in data["bars"] if b["level"] == level and b["kind"] == kind and b["theorem"] == name]
                xs = [data["periods"].index(b["P"]) + offset for b in bars]
                lows = [b["interval"][0] for b in bars]
                ax.vlines(xs, lows, [1.0] * len(bars), colors=colours[name], lw=6, alpha=0.8, label=names[name])
                for x, low in zip(xs, lows):
                    ax.annotate(f"{low:.2f}", (x, low), textcoords="offset points", xytext=(0, -11), ha="center",
                                fontsize=7)
            ax.set_xticks(range(len(data["periods"])), [str(P) for P in data["periods"]])
            ax.set_xlabel(f"period of level {level}")
            ax.set_ylim(-0.08, 1.05)
            ax.set_title(f"level {level} {'heterogeneity' if kind == 'heterogeneity' else 'noise share'}")
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("smallest valid constant / stated constant")

    fig.suptitle("F12: each bar is where the true constant lies, [theta, 1] (fresh-seed runs; search budget "
                 f"{data['budget']['heterogeneity']} per heterogeneity bar, {data['budget']['noise']} per noise bar "
                 "at 1024 workers)", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=2, fontsize=9, bbox_to_anchor=(0.5, 0.955))
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: per theorem, the widest and narrowest interval."""
    parts = []
    for name, title in (("theorem2", "Theorem 2"), ("sharp", "Theorem S")):
        lows = [(b["interval"][0], b["term"], b["P"]) for b in data["bars"] if b["theorem"] == name]
        best, worst = max(lows), min(lows)
        parts.append(f"{title}: best known {best[1]} at P = {best[2]} within [{best[0]:.2f}, 1], least "
                     f"{worst[1]} at P = {worst[2]} within [{worst[0]:.2f}, 1]")
    return ("F12 (tightness of the constants, level 1 and 2 against their period): " + "; ".join(parts)
            + " (statistical: the lower 95% end of a noisy run on 64 fresh seeds; a noise-free run's value)")


def build_f12(out_dir: str | Path, quick: bool = False, executor: Executor | None = None) -> list[Path]:
    """Compute, draw and save F12 (``f12_tightness.png/.pdf/.json``) into ``out_dir``."""
    from figures.io import publish

    data = f12_data(quick, executor=executor, out_dir=out_dir)
    return publish(draw_f12(data), data, Path(out_dir) / "f12_tightness")
