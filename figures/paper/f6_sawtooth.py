"""F6: upward and downward model divergence over time: the sawtooth that resets every I and G.

The downward divergence ``D_t`` (the mean squared distance of the workers' models from their
group's model) drops to zero after every local aggregation (every ``I`` steps); the upward
one ``U_t`` (the size-weighted mean squared distance of the group models from the global
model) only after a global aggregation (every ``G`` steps), when both vanish
(docs/theory.md §2.1 Definitions). No bound is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.statistics import confidence_band
from figures.checker import default_problem
from figures.io import publish
from figures.plotting import band_json, draw_band, pyplot

__all__ = ["f6_data", "draw_f6", "build_f6", "summary", "ZERO"]

ZERO = 1e-20
"""A divergence at most this is read as reset to 0 (floating point)."""


def f6_data(quick: bool = False, *, lr: float = 0.001) -> dict[str, Any]:
    """Simulate two-level H-SGD (N = 4, I = 5, G = 50) for 150 steps; returns both divergences
    with 95% bands over seeds, and whether each reset to 0 at every aggregation step."""
    problem = default_problem()
    I, G, steps = 5, 50, 150
    seeds = 4 if quick else 8
    r = simulate(problem, Hierarchy.two_level(problem.n, 4, I, G), lr=lr, steps=steps, seeds=seeds,
                 record_every=1)
    up, down = r.upward, r.downward
    t = r.steps
    local, glob = t[(t % I == 0)], t[(t % G == 0)]
    resets = {
        "downward": {"steps": int(local.size), "reset": int(np.sum(np.all(down[:, t % I == 0] <= ZERO, axis=0)))},
        "upward": {"steps": int(glob.size), "reset": int(np.sum(np.all(up[:, t % G == 0] <= ZERO, axis=0)))},
    }
    return {"problem": problem.params, "n": problem.n, "N": 4, "I": I, "G": G, "lr": lr, "seeds": seeds,
            "steps": t.tolist(), "upward": band_json(*confidence_band(up)),
            "downward": band_json(*confidence_band(down)), "resets": resets}


def draw_f6(data: dict[str, Any]):
    """Draw F6 from :func:`f6_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    draw_band(ax, data["steps"], data["downward"], colour="tab:red",
              label="downward $D_t$: workers' models around their group's model")
    draw_band(ax, data["steps"], data["upward"], colour="tab:purple",
              label="upward $U_t$: group models around the global model")
    for t in range(0, len(data["steps"]), data["G"]):
        ax.axvline(t, color="grey", lw=0.6, ls=":")
    ax.set_xlabel(f"step t (local aggregation every I = {data['I']} steps, global every G = {data['G']}: dotted)")
    ax.set_ylabel("model divergence: mean squared\ndistance between models (95% band)")
    res = data["resets"]
    ax.set_title(f"F6: the divergence sawtooth, {data['n']} workers, N = {data['N']} groups, step size {data['lr']:g}, "
                 f"{data['seeds']} seeds\n0 after every local aggregation: {res['downward']['reset']} of "
                 f"{res['downward']['steps']}; after every global one: {res['upward']['reset']} of "
                 f"{res['upward']['steps']} (floating point, <= {ZERO:g})", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F6 shows and what was checked, in words with the basis."""
    res = data["resets"]
    return (f"F6 (divergence sawtooth, N = {data['N']}, I = {data['I']}, G = {data['G']}; no bound drawn): downward "
            f"divergence 0 after {res['downward']['reset']} of {res['downward']['steps']} local aggregations, "
            f"upward after {res['upward']['reset']} of {res['upward']['steps']} global ones (floating point, "
            f"<= {ZERO:g})")


def build_f6(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F6 (``f6_sawtooth.png/.pdf/.json``) into ``out_dir``."""
    data = f6_data(quick)
    return publish(draw_f6(data), data, Path(out_dir) / "f6_sawtooth")
