"""F5: the three-level sandwich (docs/theory.md §6.4 Corollary 2): local SGD (P_1) <= 3-level H-SGD <= local SGD (P_3).

The checker (:func:`figures.checker.run_check`) runs local SGD with the finest period, the
three-level H-SGD and local SGD with the coarsest period, with the same seeds and step size.
Left: the running averages (mean over seeds, 95% band); middle: the paired differences with
their 95% bands (where the measured sandwich can be seen); right: the three bounds, with the
grouping's own constants and with random grouping, with the verdicts in words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.hierarchy import Hierarchy
from figures.checker import RUNS, default_problem, run_check
from figures.paper.f1_sandwich import DIFFERENCES
from figures.io import publish
from figures.plotting import COLOURS, band_json, draw_band, pyplot, run_names, thin, verdict_words

__all__ = ["f5_data", "draw_f5", "build_f5", "summary"]


def f5_data(quick: bool = False, *, lr: float | None = None) -> dict[str, Any]:
    """Run the checker on a three-level hierarchy (16 and 4 groups, periods 5, 25, 100);
    returns curves with bands, paired differences, bounds and verdicts (JSON). ``lr``
    defaults to the largest step size the three-level condition allows."""
    problem = default_problem()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    groups, periods = [16, 4], [5, 25, 100]
    r = run_check(problem, Hierarchy.multi_level(problem.n, periods, groups), lr=lr, steps=steps, seeds=seeds)
    idx = thin(steps)
    return {"problem": problem.params, "n": problem.n, "groups": groups, "periods": periods, "steps": r.params["T"],
            "seeds": seeds, "t": (idx + 1).tolist(),
            "curves": {k: band_json(r.curves[k], *r.curve_bands[k], idx) for k in RUNS},
            "differences": {k: band_json(*r.difference_curves[k], idx) for k in DIFFERENCES},
            "final_differences": {k: {"mean": float(m[-1]), "ci_low": float(lo[-1]), "ci_high": float(hi[-1])}
                                  for k, (m, lo, hi) in r.difference_curves.items()},
            "empirical": r.empirical, "bound": r.bound, "bound_random_grouping": r.bound_random_grouping,
            "verdicts": {name: v.to_json() for name, v in r.verdicts.items()}, "gamma": r.params["gamma"],
            "gamma_rule": r.gamma_rule, "L": r.constants["L"], "F0": r.constants["F0"],
            "estimated": r.constants["estimated"]}


def draw_f5(data: dict[str, Any]):
    """Draw F5 from :func:`f5_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, (curves, diffs, bars) = plt.subplots(1, 3, figsize=(16, 4.8))
    P, g = data["periods"], data["groups"]
    names = run_names(P[0], P[-1], f"3-level H-SGD ({g[0]}, {g[1]} groups; periods {', '.join(map(str, P))})")
    t = np.asarray(data["t"])
    keep = t >= t[-1] // 5
    for k in RUNS:
        curve = {key: np.asarray(vals, dtype=float)[keep] for key, vals in data["curves"][k].items()}
        draw_band(curves, t[keep], curve, colour=COLOURS[k], label=names[k], **({"ls": "--"} if k == "hsgd" else {}))
    curves.set_xlabel("step t")
    curves.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$ (mean, 95% band)")
    curves.legend(fontsize=7)
    v = data["verdicts"]
    curves.set_title("measured, past the first fifth of the run", fontsize=9)
    diff_names = {"hsgd - local_I": f"H-SGD $-$ local SGD, period {P[0]}",
                  "local_G - hsgd": f"local SGD, period {P[-1]} $-$ H-SGD"}
    diff_colours = {"hsgd - local_I": COLOURS["local_I"], "local_G - hsgd": COLOURS["local_G"]}
    for key in DIFFERENCES:
        curve = {k: np.asarray(vals, dtype=float)[keep] for k, vals in data["differences"][key].items()}
        fd = data["final_differences"][key]
        draw_band(diffs, t[keep], curve, colour=diff_colours[key],
                  label=f"{diff_names[key]}: {fd['mean']:.3g} at T (CI {fd['ci_low']:.3g} .. {fd['ci_high']:.3g})")
    diffs.axhline(0.0, color="k", lw=0.8)
    diffs.set_xlabel("step t")
    diffs.set_ylabel("paired difference of running averages (95% band)")
    diffs.set_title("measured sandwich (both above 0): "
                    + verdict_words(v["empirical_sandwich"], yes="in order", no="a side reversed"), fontsize=9)
    diffs.legend(fontsize=7)
    x = np.arange(3)
    own = [data["bound"][k] for k in RUNS]
    bars.bar(x - 0.2, own, 0.4, color=[COLOURS[k] for k in RUNS])
    rg = data["bound_random_grouping"]
    if rg is not None:
        bars.bar(x + 0.2, [rg[k] for k in RUNS], 0.4, color=[COLOURS[k] for k in RUNS], alpha=0.45, hatch="//")
    bars.set_xticks(x, [f"local SGD\nperiod {P[0]}", "3-level\nH-SGD", f"local SGD\nperiod {P[-1]}"])
    bars.set_xlabel("run (same step size)")
    bars.set_ylabel("bound on the average of $\\|\\nabla f(u^t)\\|^2$")
    bars.set_ylim(0, max(own + ([rg[k] for k in RUNS] if rg else [])) * 1.3)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="grey", label="this grouping's constants")]
    if rg is not None:
        handles.append(Patch(facecolor="grey", alpha=0.45, hatch="//", label="random grouping (Corollary 2)"))
    bars.legend(handles=handles, fontsize=7, loc="upper left")
    bars.set_title(f"bounds ordered (random grouping): {verdict_words(v['bound_sandwich'])}\n"
                   f"bounds hold (>= upper CI): {verdict_words(v['bound_valid'])}", fontsize=9)
    est = f"; estimated: {', '.join(data['estimated'])}" if data.get("estimated") else ""
    fig.suptitle(f"F5: three-level sandwich, {data['n']} workers, {data['seeds']} seeds\n"
                 f"gamma = {data['gamma']:.4g} (largest allowed), L = {data['L']:.3g}, T = {data['steps']}, "
                 f"F0 = {data['F0']:.4g}{est}", fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F5 shows and its verdicts, in words with their basis."""
    v = data["verdicts"]
    return (f"F5 (three levels, groups {data['groups'][0]}, {data['groups'][1]}, periods "
            f"{', '.join(map(str, data['periods']))}): measured sandwich "
            f"{verdict_words(v['empirical_sandwich'], yes='in order', no='a side reversed')}; bounds hold: "
            f"{verdict_words(v['bound_valid'])}; bounds ordered (random grouping): "
            f"{verdict_words(v['bound_sandwich'])}")


def build_f5(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F5 (``f5_three_level.png/.pdf/.json``) into ``out_dir``."""
    data = f5_data(quick)
    return publish(draw_f5(data), data, Path(out_dir) / "f5_three_level")
