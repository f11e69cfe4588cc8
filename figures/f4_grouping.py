"""F4: the grouping strategy matters (THEORY.md remark "grouping matters").

The same problem and hierarchy, grouped at random, homogeneously (similar workers together:
the divergence moves up to the global level, ``eps_g`` large) and heterogeneously (mixed
groups: ``eps_g`` small, H-SGD close to local SGD with period ``I``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.hierarchy import two_level
from figures.checker import RUNS, default_problem, run_check
from figures.io import publish
from figures.plotting import COLOURS, pyplot

__all__ = ["f4_data", "draw_f4", "build_f4"]

STRATEGIES = ("heterogeneous", "random", "homogeneous")


def f4_data(quick: bool = False) -> dict[str, Any]:
    problem = default_problem()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    rows = []
    for grouping in STRATEGIES:
        h = two_level(problem.n, 4, 5, 50, grouping=grouping, problem=problem)
        r = run_check(problem, h, steps=steps, seeds=seeds)
        rows.append({"grouping": grouping, "eps_g": r.constants["eps_g"], "eps_l": r.constants["eps_l"],
                     "empirical": {k: r.empirical[k]["mean"] for k in RUNS}, "bound": r.bound,
                     "verdicts": r.verdicts})
    return {"problem": problem.params, "N": 4, "I": 5, "G": 50, "steps": steps, "seeds": seeds, "rows": rows}


def draw_f4(data: dict[str, Any]):
    plt = pyplot()
    fig, (meas, bnd) = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.arange(len(data["rows"]))
    width = 0.27
    for i, k in enumerate(RUNS):
        meas.bar(x + (i - 1) * width, [r["empirical"][k] for r in data["rows"]], width, color=COLOURS[k], label=k)
        bnd.bar(x + (i - 1) * width, [r["bound"][k] for r in data["rows"]], width, color=COLOURS[k], label=k)
    labels = [f"{r['grouping']}\neps_g={r['eps_g']:.2f}, eps_l={r['eps_l']:.2f}" for r in data["rows"]]
    for ax, title in ((meas, "measured average $\\|\\nabla f\\|^2$"), (bnd, "bound, own-grouping constants")):
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title(title, fontsize=10)
    lo = min(min(r["empirical"].values()) for r in data["rows"])
    hi = max(max(r["empirical"].values()) for r in data["rows"])
    meas.set_ylim(lo - 0.2 * (hi - lo), hi + 0.1 * (hi - lo))
    meas.legend(fontsize=8)
    fig.suptitle(f"F4: grouping strategy (N={data['N']}, I={data['I']}, G={data['G']})")
    fig.tight_layout()
    return fig


def build_f4(out_dir: str | Path, quick: bool = False) -> list[Path]:
    data = f4_data(quick)
    return publish(draw_f4(data), data, Path(out_dir) / "f4_grouping")
