"""F1: the sandwich in measured curves, two levels, for ``N`` in {2, 4, 8} groups.

For each ``N`` the checker runs local SGD (period ``I``), H-SGD and local SGD (period ``G``)
with the same seeds and step size; the figure shows the running averages of
``||grad f(u^t)||^2`` (mean over seeds), zoomed past the first fifth of the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from empirical.hierarchy import two_level
from figures.checker import RUNS, default_problem, run_check
from figures.io import publish
from figures.plotting import COLOURS, pyplot

__all__ = ["f1_data", "draw_f1", "build_f1"]


def f1_data(quick: bool = False) -> dict[str, Any]:
    """Run the checker for each ``N``; returns curves, measured values, bounds and verdicts."""
    problem = default_problem()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    panels = []
    for N in (2, 4, 8):
        r = run_check(problem, two_level(problem.n, N, 5, 50), steps=steps, seeds=seeds)
        panels.append({"N": N, "curves": {k: r.curves[k].tolist() for k in RUNS},
                       "empirical": {k: r.empirical[k] for k in RUNS}, "bound": r.bound,
                       "verdicts": r.verdicts, "gamma": r.params["gamma"]})
    return {"problem": problem.params, "I": 5, "G": 50, "steps": steps, "seeds": seeds, "panels": panels}


def draw_f1(data: dict[str, Any]):
    plt = pyplot()
    fig, axes = plt.subplots(1, len(data["panels"]), figsize=(4.2 * len(data["panels"]), 3.6))
    names = {"local_I": f"local SGD, P={data['I']}", "hsgd": "H-SGD", "local_G": f"local SGD, P={data['G']}"}
    for ax, panel in zip(axes, data["panels"]):
        start = len(panel["curves"]["hsgd"]) // 5
        for k in RUNS:
            curve = panel["curves"][k]
            ax.plot(range(start + 1, len(curve) + 1), curve[start:], color=COLOURS[k], label=names[k])
        v = panel["verdicts"]
        ax.set_title(f"N = {panel['N']}: measured sandwich {v['empirical_sandwich']}", fontsize=9)
        ax.set_xlabel("step t")
    axes[0].set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"F1: local SGD (I) <= H-SGD <= local SGD (G), measured ({data['seeds']} seeds)")
    fig.tight_layout()
    return fig


def build_f1(out_dir: str | Path, quick: bool = False) -> list[Path]:
    data = f1_data(quick)
    return publish(draw_f1(data), data, Path(out_dir) / "f1_sandwich")
