"""F3: measured against bound over a battery of configurations (every point under the diagonal).

Each configuration is one H-SGD run (several seeds) on :class:`HeterogeneousNonconvex` with
its own grouping's certified constants; the bound is Theorem 2 at the step size its
condition allows. The battery runs through :func:`figures.sweep.run_sweep` (a process pool,
or a Dask cluster), writing each point as it finishes, so a re-run resumes.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

import bounds
from bounds.optimal import largest_step_size
from empirical.engine import simulate
from empirical.hierarchy import two_level
from empirical.problems import HeterogeneousNonconvex
from figures.io import publish
from figures.plotting import pyplot
from figures.sweep import run_sweep

__all__ = ["battery_configs", "battery_point", "f3_data", "draw_f3", "build_f3"]


def battery_configs(quick: bool = False) -> list[dict[str, Any]]:
    """90 configurations (6 with ``quick``): groups, periods, grouping, noise and heterogeneity."""
    grid = itertools.product((1, 2, 4, 8, 16), ((1, 10), (2, 10), (5, 20)), ("random", "homogeneous", "heterogeneous"),
                             ((0.5, 2.0, 1.0), (2.0, 1.0, 0.5)))
    configs = [{"n": 16, "d": 4, "N": N, "I": I, "G": G, "grouping": g, "sigma": s, "between": b, "within": w,
                "steps": 400, "seeds": 4, "seed": 0}
               for N, (I, G), g, (s, b, w) in grid]
    configs = configs if not quick else configs[::15]
    return configs


def battery_point(config: dict[str, Any]) -> dict[str, float]:
    """Run one configuration; returns the measured mean, its standard error, the bound and gamma."""
    c = config
    problem = HeterogeneousNonconvex(n=c["n"], d=c["d"], sigma=c["sigma"], between=c["between"], within=c["within"],
                                     seed=c["seed"])
    h = two_level(c["n"], c["N"], c["I"], c["G"], grouping=c["grouping"], problem=problem, seed=c["seed"])
    k = problem.constants(h.levels)
    b = bounds.two_level()
    gamma = largest_step_size(b, L=k.L.value, I=c["I"], G=c["G"])[0]
    run = simulate(problem, h, lr=gamma, steps=c["steps"], seeds=c["seeds"], seed=c["seed"])
    avg = run.average_grad_norm_sq()
    F0 = float(problem.loss(problem.default_x0())) - k.f_star.value
    bound = b.evaluate(gamma=gamma, L=k.L.value, sigma=k.sigma.value, n=c["n"], T=c["steps"], F0=F0, N=c["N"],
                       I=c["I"], G=c["G"], eps_g=k.eps_levels[1].value, eps_l=k.eps_levels[0].value)
    return {"measured": float(avg.mean()), "se": float(avg.std(ddof=1) / np.sqrt(avg.size)), "bound": bound,
            "gamma": gamma}


def f3_data(out_dir: str | Path, quick: bool = False, executor: Executor | None = None,
            progress: bool = True) -> dict[str, Any]:
    configs = battery_configs(quick)
    results = run_sweep(battery_point, configs, Path(out_dir) / "f3_battery_runs", executor=executor,
                        progress=progress, description="F3 battery")
    points = [{**cfg, **res} for cfg, res in zip(configs, results)]
    ratios = [p["measured"] / p["bound"] for p in points]
    return {"points": points, "all_under_diagonal": all(p["measured"] + 3 * p["se"] <= p["bound"] for p in points),
            "max_ratio": max(ratios), "median_ratio": float(np.median(ratios))}


def draw_f3(data: dict[str, Any]):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    markers = {"random": "o", "homogeneous": "s", "heterogeneous": "^"}
    for grouping, marker in markers.items():
        pts = [p for p in data["points"] if p["grouping"] == grouping]
        ax.scatter([p["bound"] for p in pts], [p["measured"] for p in pts], marker=marker, label=grouping, alpha=0.8)
    lo = min(min(p["measured"] for p in data["points"]), min(p["bound"] for p in data["points"]))
    hi = max(p["bound"] for p in data["points"])
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = bound")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("Theorem 1 bound (own-grouping constants)")
    ax.set_ylabel("measured average $\\|\\nabla f(u^t)\\|^2$")
    ax.set_title(f"F3: {len(data['points'])} configurations; measured/bound "
                 f"max {data['max_ratio']:.3f}, median {data['median_ratio']:.3f}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def build_f3(out_dir: str | Path, quick: bool = False, executor: Executor | None = None,
             progress: bool = True) -> list[Path]:
    data = f3_data(out_dir, quick, executor, progress)
    return publish(draw_f3(data), data, Path(out_dir) / "f3_battery")
