"""F5: the three-level sandwich (THEORY.md Corollary 2): local SGD (P_1) <= 3-level H-SGD <= local SGD (P_3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from empirical.hierarchy import multi_level
from figures.checker import RUNS, default_problem, run_check
from figures.io import publish
from figures.plotting import COLOURS, pyplot

__all__ = ["f5_data", "draw_f5", "build_f5"]


def f5_data(quick: bool = False) -> dict[str, Any]:
    problem = default_problem()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    r = run_check(problem, multi_level(problem.n, [16, 4], [5, 25, 100]), steps=steps, seeds=seeds)
    return {"problem": problem.params, "groups": [16, 4], "periods": [5, 25, 100], "steps": r.params["T"],
            "seeds": seeds, "curves": {k: r.curves[k].tolist() for k in RUNS},
            "empirical": r.empirical, "bound": r.bound, "bound_random_grouping": r.bound_random_grouping,
            "verdicts": r.verdicts, "gamma": r.params["gamma"]}


def draw_f5(data: dict[str, Any]):
    plt = pyplot()
    fig, (curves, bars) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = {"local_I": "local SGD, P=5", "hsgd": "3-level H-SGD (16, 4 groups; 5, 25, 100)", "local_G": "local SGD, P=100"}
    for k in RUNS:
        c = data["curves"][k]
        start = len(c) // 5
        curves.plot(range(start + 1, len(c) + 1), c[start:], color=COLOURS[k], label=names[k])
    curves.set_xlabel("step t")
    curves.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$")
    curves.legend(fontsize=7)
    curves.set_title(f"measured: sandwich {data['verdicts']['empirical_sandwich']}", fontsize=9)
    rg = data["bound_random_grouping"]
    bars.bar(range(3), [rg[k] for k in RUNS], color=[COLOURS[k] for k in RUNS])
    bars.set_xticks(range(3), ["local P=5", "3-level", "local P=100"])
    bars.set_title("bounds, random grouping (Corollary 2)", fontsize=9)
    fig.suptitle("F5: three-level sandwich")
    fig.tight_layout()
    return fig


def build_f5(out_dir: str | Path, quick: bool = False) -> list[Path]:
    data = f5_data(quick)
    return publish(draw_f5(data), data, Path(out_dir) / "f5_three_level")
