"""F6: upward and downward model divergence over time: the sawtooth that resets every I and G.

The downward divergence (workers around their group) drops to zero after every local
aggregation (every ``I`` steps); the upward one (groups around the global model) only after
a global aggregation (every ``G`` steps), when both vanish (THEORY.md section 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from empirical.engine import simulate
from empirical.hierarchy import two_level
from figures.checker import default_problem
from figures.io import publish
from figures.plotting import pyplot

__all__ = ["f6_data", "draw_f6", "build_f6"]


def f6_data(quick: bool = False) -> dict[str, Any]:
    problem = default_problem()
    I, G, steps = 5, 50, 150
    r = simulate(problem, two_level(problem.n, 4, I, G), lr=0.001, steps=steps, seeds=4 if quick else 8)
    return {"problem": problem.params, "I": I, "G": G, "lr": 0.001, "steps": r.steps.tolist(),
            "upward": r.upward.mean(axis=0).tolist(), "downward": r.downward.mean(axis=0).tolist()}


def draw_f6(data: dict[str, Any]):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(data["steps"], data["downward"], label="downward $D_t$ (workers around their group)")
    ax.plot(data["steps"], data["upward"], label="upward $U_t$ (groups around the global model)")
    for t in range(0, len(data["steps"]), data["G"]):
        ax.axvline(t, color="grey", lw=0.6, ls=":")
    ax.set_xlabel(f"step t (local aggregation every I={data['I']}, global every G={data['G']}: dotted)")
    ax.set_ylabel("model divergence")
    ax.set_title("F6: the divergence sawtooth")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def build_f6(out_dir: str | Path, quick: bool = False) -> list[Path]:
    data = f6_data(quick)
    return publish(draw_f6(data), data, Path(out_dir) / "f6_sawtooth")
