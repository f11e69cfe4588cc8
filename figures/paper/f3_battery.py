"""F3: measured against bound over a battery of configurations, as the ratio measured / bound.

Each configuration is one H-SGD run (several seeds) on :class:`HeterogeneousNonconvex` with
its own grouping's certified constants; the bound is the two-level H-SGD bound
(docs/theory.md §4.1 Theorem 1) at the largest step size its condition allows exactly. Each
point's verdict is :func:`figures.verdicts.bound_holds` (statistical: the upper end of the 95%
confidence interval over seeds at most the bound; not applicable where a condition fails or
a constant is estimated). The figure shows measured / bound per configuration, with the 95%
interval divided by the bound as error bars, on a log scale with the line ratio = 1.

The battery runs through :func:`figures.sweep.run_sweep` (a process pool, or a Dask
cluster), writing each point as it finishes, so a re-run resumes.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

import bounds
from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.problems import HeterogeneousNonconvex
from empirical.statistics import confidence_interval
from bounds.optimal import largest_step_size
from figures.io import publish
from figures.plotting import pyplot, tally, wrap
from figures.sweep import run_sweep
from figures.verdicts import bound_holds, condition_holds

__all__ = ["battery_configs", "battery_setup", "battery_point", "valid_point", "f3_data", "marker_styles", "draw_f3",
           "build_f3", "summary"]


def battery_configs(quick: bool = False) -> list[dict[str, Any]]:
    """90 configurations (6 with ``quick``): groups, periods, grouping, noise and heterogeneity."""
    grid = itertools.product((1, 2, 4, 8, 16), ((1, 10), (2, 10), (5, 20)), ("random", "homogeneous", "heterogeneous"),
                             ((0.5, 2.0, 1.0), (2.0, 1.0, 0.5)))
    configs = [{"n": 16, "d": 4, "N": N, "I": I, "G": G, "grouping": g, "sigma": s, "between": b, "within": w,
                "steps": 400, "seeds": 4, "seed": 0, "record": 2}
               for N, (I, G), g, (s, b, w) in grid]
    configs = configs if not quick else configs[::15]
    return configs


def battery_setup(config: dict[str, Any]) -> tuple[HeterogeneousNonconvex, Any]:
    """The problem and hierarchy of one battery configuration."""
    c = config
    problem = HeterogeneousNonconvex(n=c["n"], d=c["d"], sigma=c["sigma"], between=c["between"], within=c["within"],
                                     seed=c["seed"])
    return problem, Hierarchy.two_level(c["n"], c["N"], c["I"], c["G"], grouping=c["grouping"], problem=problem,
                                        seed=c["seed"])


def battery_point(config: dict[str, Any]) -> dict[str, Any]:
    """Run one configuration; returns the per-seed measured averages, their mean and 95% CI,
    the bound, the step size and constants it was evaluated at, and the verdict (as JSON).

    ``config["lr"]``, when present, replaces the largest admissible step size (a step size
    the condition rejects makes the verdict not applicable).
    """
    c = config
    problem, h = battery_setup(c)
    k = problem.constants(h.levels)
    b = bounds.two_level()
    L = k.L.value
    gamma = c["lr"] if c.get("lr") is not None else largest_step_size(b, L=L, I=c["I"], G=c["G"])[0]
    run = simulate(problem, h, lr=gamma, steps=c["steps"], seeds=c["seeds"], seed=c["seed"], record_every=1)
    avg = run.average_grad_norm_sq()
    F0 = float(problem.loss(problem.default_x0())) - k.f_star.value
    values = dict(gamma=gamma, L=L, sigma=k.sigma.value, n=c["n"], T=c["steps"], F0=F0, N=c["N"], I=c["I"],
                  G=c["G"], eps_g=k.eps_levels[1].value, eps_l=k.eps_levels[0].value)
    bound = b.evaluate(strict=False, **values)
    condition = condition_holds(b, values, name="H-SGD")
    verdict = bound_holds(avg, bound, condition=condition, estimated=k.estimated(), name="H-SGD")
    mean, lo, hi = confidence_interval(avg)
    return {"samples": avg.tolist(), "measured": mean, "ci_low": lo, "ci_high": hi, "bound": bound,
            "gamma": gamma, "L": L, "F0": F0, "estimated": list(k.estimated()), "verdict": verdict.to_json()}


POINT_KEYS = ("samples", "measured", "ci_low", "ci_high", "bound", "gamma", "L", "F0", "estimated", "verdict")
"""The keys of :func:`battery_point`'s result."""


def valid_point(result: Any) -> str | None:
    """``None`` if ``result`` has the shape :func:`battery_point` returns, else what is wrong (the
    check a cached run of ``f3_battery_runs`` passes before it is used, :mod:`figures.sweep`)."""
    if not isinstance(result, dict):
        return "not a JSON object"
    missing = [key for key in POINT_KEYS if key not in result]
    if missing:
        return f"no {missing[0]!r}"
    if not isinstance(result["samples"], list) or not result["samples"]:
        return "'samples' is not a non-empty list"
    return None


def f3_data(out_dir: str | Path, quick: bool = False, executor: Executor | None = None,
            progress: bool = True, configs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run (or resume) the battery; returns every point with ``ratio = measured / bound`` and
    its 95% interval ``ratio_low .. ratio_high``, and the verdicts (JSON) per point."""
    configs = battery_configs(quick) if configs is None else configs
    results = run_sweep(battery_point, configs, Path(out_dir) / "f3_battery_runs", executor=executor,
                        progress=progress, description="F3 battery", validate=valid_point)
    points = []
    for cfg, res in zip(configs, results):
        bound = res["bound"]
        points.append({**cfg, **res, "ratio": res["measured"] / bound, "ratio_low": res["ci_low"] / bound,
                       "ratio_high": res["ci_high"] / bound})
    ratios = [p["ratio"] for p in points]
    return {"points": points, "max_ratio": max(ratios), "median_ratio": float(np.median(ratios)),
            "max_ratio_high": max(p["ratio_high"] for p in points), "steps": sorted({p["steps"] for p in points}),
            "seeds": sorted({p["seeds"] for p in points})}


GROUPING_COLOURS = {"random": "tab:orange", "homogeneous": "tab:purple", "heterogeneous": "tab:cyan",
                    "contiguous": "tab:brown"}
"""Colour means grouping, and nothing else (grey: not applicable, whatever the grouping)."""

NOT_APPLICABLE_COLOUR = "grey"

SHAPES = ("o", "s", "^", "D", "v", "P", "X", "h")
"""Shape means the periods ``(I, G)``, and nothing else: one shape per pair, in the order the pairs
first appear (the battery's ``(1, 10), (2, 10), (5, 20)`` get a circle, a square, a triangle)."""

FILLS = (("full", "filled"), ("none", "hollow"), ("left", "left half filled"), ("bottom", "bottom half filled"),
         ("right", "right half filled"), ("top", "top half filled"))
"""Fill means the noise and heterogeneity setting ``(sigma, between, within)``, and nothing else:
one matplotlib ``fillstyle`` per setting, in the order the settings first appear, with its name."""


def marker_styles(points: list[dict[str, Any]]) -> dict[str, dict[Any, Any]]:
    """What each marker style of F3 means, one to one: ``colour`` per grouping, ``shape`` per
    periods ``(I, G)``, ``fill`` per ``(sigma, between, within)`` as ``(fillstyle, name)``; the
    meanings in the order they first appear in ``points``.

    Example:
        >>> pts = [dict(grouping="random", I=1, G=10, sigma=0.5, between=2.0, within=1.0),
        ...        dict(grouping="random", I=2, G=10, sigma=2.0, between=1.0, within=0.5)]
        >>> styles = marker_styles(pts)
        >>> styles["shape"], styles["fill"][(2.0, 1.0, 0.5)]
        ({(1, 10): 'o', (2, 10): 's'}, ('none', 'hollow'))
    """
    groupings = list(dict.fromkeys(p["grouping"] for p in points))
    periods = list(dict.fromkeys((p["I"], p["G"]) for p in points))
    settings = list(dict.fromkeys((p["sigma"], p["between"], p["within"]) for p in points))
    for what, used, styles in (("period pairs", periods, SHAPES), ("noise and heterogeneity settings", settings,
                                                                    FILLS)):
        if len(used) > len(styles):
            raise ValueError(f"F3 draws at most {len(styles)} {what} (one marker style each), got {len(used)}")
    unknown = [g for g in groupings if g not in GROUPING_COLOURS]
    if unknown:
        raise ValueError(f"F3 has no colour for grouping {unknown[0]!r}; known: {', '.join(GROUPING_COLOURS)}")
    return {"colour": {g: GROUPING_COLOURS[g] for g in groupings}, "shape": dict(zip(periods, SHAPES)),
            "fill": dict(zip(settings, FILLS))}


def draw_f3(data: dict[str, Any]):
    """Draw F3 from :func:`f3_data`'s output: measured / bound per configuration, log scale.

    Each marker style means one thing (:func:`marker_styles`): colour the grouping (grey: not
    applicable), shape the periods, fill the noise and heterogeneity setting. The legend says
    so in three groups of entries, ``colour:``, ``shape:`` and ``fill:``; a shape's entry shows
    it in every fill drawn, and a fill's entry in every shape drawn, so that no legend marker
    stands for two things.
    """
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.lines import Line2D

    plt = pyplot()
    pts = data["points"]
    fig, ax = plt.subplots(figsize=(12, 4.8))
    def span(values: list[float], fmt: str) -> str:
        lo, hi = min(values), max(values)
        return format(lo, fmt) if lo == hi else f"{lo:{fmt}} .. {hi:{fmt}}"

    styles = marker_styles(pts)
    x = np.arange(len(pts))
    for i, p in enumerate(pts):
        na = p["verdict"]["basis"] == "not applicable"
        colour = NOT_APPLICABLE_COLOUR if na else styles["colour"][p["grouping"]]
        ax.errorbar(x[i], p["ratio"], yerr=[[p["ratio"] - p["ratio_low"]], [p["ratio_high"] - p["ratio"]]],
                    fmt=styles["shape"][(p["I"], p["G"])], color=colour,
                    fillstyle=styles["fill"][(p["sigma"], p["between"], p["within"])][0],
                    ms=4.5, elinewidth=0.8, capsize=1.5)
    # legend: one entry per colour, shape and fill that has points, each saying which it is
    handles, labels = [], []

    def marker(shape: str, fill: str) -> Line2D:
        return Line2D([], [], ls="none", marker=shape, fillstyle=fill, color="k", ms=5)

    for grouping, colour in styles["colour"].items():
        if any(p["grouping"] == grouping and p["verdict"]["basis"] != "not applicable" for p in pts):
            handles.append(Line2D([], [], color=colour, lw=4))
            labels.append(f"colour: {grouping} grouping")
    if any(p["verdict"]["basis"] == "not applicable" for p in pts):
        handles.append(Line2D([], [], color=NOT_APPLICABLE_COLOUR, lw=4))
        labels.append("colour: grey, not applicable (any grouping)")
    fills = [fill for fill, _ in styles["fill"].values()]
    for (I, G), shape in styles["shape"].items():
        handles.append(tuple(marker(shape, fill) for fill in fills))
        labels.append(f"shape: periods I = {I}, G = {G}")
    for (sigma, between, within), (fill, name) in styles["fill"].items():
        handles.append(tuple(marker(shape, fill) for shape in styles["shape"].values()))
        labels.append(f"fill: {name}, sigma = {sigma:g}, heterogeneity between {between:g}, within {within:g}")
    handles.append(ax.axhline(1.0, color="k", lw=1, ls="--"))
    labels.append("measured = bound (ratio 1)")
    ax.set_yscale("log")
    Ns = [p["N"] for p in pts]
    edges = [i for i in range(1, len(pts)) if Ns[i] != Ns[i - 1]]
    for e in edges:
        ax.axvline(e - 0.5, color="grey", lw=0.5, ls=":")
    starts = [0] + edges
    ends = edges + [len(pts)]
    ax.set_xticks([(a + b - 1) / 2 for a, b in zip(starts, ends)], [f"N = {Ns[a]}" for a in starts])
    ax.set_xlabel("configuration (grouped by number of groups N; within each, colour: grouping, shape: periods, "
                  "fill: noise and heterogeneity)", fontsize=8)
    ax.set_ylabel("measured / bound (95% CI over seeds)")
    ax.set_ylim(top=1.6)
    verdicts = [p["verdict"] for p in pts]
    gammas, Ls, F0s = ([p[k] for p in pts] for k in ("gamma", "L", "F0"))
    ax.set_title(wrap(
        f"F3: {len(pts)} configurations of two-level H-SGD, 16 workers, own-grouping "
        f"{'estimated' if any(p.get('estimated') for p in pts) else 'certified'} constants; "
        f"measured / bound: max {data['max_ratio']:.3g}, median {data['median_ratio']:.3g}\n"
        f"gamma = the largest the condition allows ({span(gammas, '.3g')}), "
        f"L = {span(Ls, '.3g')}, T = {', '.join(map(str, data['steps']))}, "
        f"F0 = {span(F0s, '.3g')}, {', '.join(map(str, data['seeds']))} seeds\n"
        f"bound >= measured: {tally(verdicts, 'configurations', yes='holds', limit=60)}", 160), fontsize=8)
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              handler_map={tuple: HandlerTuple(ndivide=None, pad=0.3)}, handlelength=4)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F3 shows and its verdict, in words with the basis."""
    pts = data["points"]
    return (f"F3 (measured / bound over {len(pts)} configurations): bound "
            f"{tally([p['verdict'] for p in pts], 'configurations', no='violated')}; measured / bound max {data['max_ratio']:.3g} "
            f"(upper CI {data['max_ratio_high']:.3g}), median {data['median_ratio']:.3g}")


def build_f3(out_dir: str | Path, quick: bool = False, executor: Executor | None = None,
             progress: bool = True) -> list[Path]:
    """Run (or resume) the battery, draw and save F3 (``f3_battery.png/.pdf/.json``) into ``out_dir``."""
    data = f3_data(out_dir, quick, executor, progress)
    return publish(draw_f3(data), data, Path(out_dir) / "f3_battery")
