"""F1: the sandwich in measured curves, two levels, for ``N`` in {2, 4, 8} groups.

For each ``N`` the checker (:func:`figures.checker.run_check`) runs local SGD (period ``I``),
H-SGD and local SGD (period ``G``) with the same seeds and step size. The top row shows the
running averages of ``||grad f(u^t)||^2`` (mean over seeds, 95% band), past the first fifth
of the run; the two rows below show the paired differences ``H-SGD - local SGD (period I)``
and ``local SGD (period G) - H-SGD`` with their 95% bands, one row each because they differ
by two orders of magnitude. The measured sandwich holds where both stay above 0; with
``N = 2`` H-SGD is within a few 1e-4 of local SGD with period ``I``, which the raw curves
cannot show. Verdicts are the checker's (docs/theory.md §4.2 Theorem 2 and §6.3 Corollary 1).
The bottom row shows the same running averages against wall-clock-equivalent time under
:data:`NETWORK` (:mod:`empirical.cost`: compute per step, latency and bandwidth per
aggregation), where local aggregation pays: H-SGD stays close to local SGD (period ``I``)'s
curve at close to local SGD (period ``G``)'s cost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.hierarchy import Hierarchy
from figures.checker import RUNS, default_problem, run_check
from figures.io import publish
from figures.plotting import COLOURS, band_json, draw_band, pyplot, run_names, tally, thin, verdict_words

__all__ = ["f1_data", "draw_f1", "build_f1", "summary", "DIFFERENCES", "NETWORK"]

DIFFERENCES = ("hsgd - local_I", "local_G - hsgd")

NETWORK = {"local": (1e-4, 1e9), "global": (1e-2, 1e8), "compute": 1e-3}
"""The bottom row's network: (latency s, bandwidth B/s) per level and seconds per local step
(the defaults of ``hsgd advise`` and ``hsgd check --time``)."""


def _cost_model():
    from empirical.cost import CostModel, LinkCost

    return CostModel([LinkCost(*NETWORK["local"], "local"), LinkCost(*NETWORK["global"], "global")],
                     compute=NETWORK["compute"])


def f1_data(quick: bool = False, *, lr: float | None = None, Ns: tuple[int, ...] = (2, 4, 8)) -> dict[str, Any]:
    """Run the checker for each ``N``; returns curves with bands, paired differences, bounds and
    verdicts (as JSON). ``lr`` defaults to the largest step size H-SGD's condition allows."""
    from figures.time_axis import run_times

    problem = default_problem()
    cost_model = _cost_model()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    I, G = 5, 50
    panels = []
    for N in Ns:
        r = run_check(problem, Hierarchy.two_level(problem.n, N, I, G), lr=lr, steps=steps, seeds=seeds)
        idx = thin(steps)
        panels.append({
            "N": N,
            "t": (idx + 1).tolist(),
            "curves": {k: band_json(r.curves[k], *r.curve_bands[k], idx) for k in RUNS},
            "differences": {k: band_json(*r.difference_curves[k], idx) for k in DIFFERENCES},
            "final_differences": {k: {"mean": float(m[-1]), "ci_low": float(lo[-1]), "ci_high": float(hi[-1])}
                                  for k, (m, lo, hi) in r.difference_curves.items()},
            "empirical": {k: r.empirical[k] for k in RUNS}, "bound": r.bound,
            "verdicts": {name: v.to_json() for name, v in r.verdicts.items()},
            "gamma": r.params["gamma"], "gamma_rule": r.gamma_rule,
            "constants": {k: r.constants[k] for k in ("L", "sigma", "F0", "eps_g", "eps_l", "estimated")},
            "time": {k: {"t": v["time"][idx].tolist(), "total": v["total"],
                         "communication_share": v["communication_share"]}
                     for k, v in run_times(r, cost_model, problem.d).items()},
        })
    return {"problem": problem.params, "n": problem.n, "I": I, "G": G, "steps": steps, "seeds": seeds,
            "network": cost_model.to_json(), "panels": panels}


def draw_f1(data: dict[str, Any]):
    """Draw F1 from :func:`f1_data`'s output: one column per ``N``; raw curves, then the two
    paired differences."""
    plt = pyplot()
    cols = len(data["panels"])
    fig, axes = plt.subplots(4, cols, figsize=(4.4 * cols, 12.6), squeeze=False)
    names = run_names(data["I"], data["G"])
    diff_names = {"hsgd - local_I": f"H-SGD $-$ {names['local_I']}",
                  "local_G - hsgd": f"{names['local_G']} $-$ H-SGD"}
    diff_colours = {"hsgd - local_I": COLOURS["local_I"], "local_G - hsgd": COLOURS["local_G"]}
    for j, panel in enumerate(data["panels"]):
        t = np.asarray(panel["t"])
        keep = t >= t[-1] // 5
        raw = axes[0, j]
        for k in RUNS:
            curve = {key: np.asarray(vals, dtype=float)[keep] for key, vals in panel["curves"][k].items()}
            style = {"ls": "--", "zorder": 3} if k == "hsgd" else {}
            draw_band(raw, t[keep], curve, colour=COLOURS[k], label=names[k] if k != "hsgd" else
                      f"H-SGD, N = {panel['N']} groups (dashed)", **style)
        v = panel["verdicts"]
        raw.set_title(f"N = {panel['N']} groups\nmeasured sandwich: {verdict_words(v['empirical_sandwich'], yes='in order', no='a side reversed')}",
                      fontsize=9)
        raw.set_xlabel("step t")
        raw.legend(fontsize=7)
        for row, key in ((1, "hsgd - local_I"), (2, "local_G - hsgd")):
            ax = axes[row, j]
            curve = {k: np.asarray(vals, dtype=float)[keep] for k, vals in panel["differences"][key].items()}
            draw_band(ax, t[keep], curve, colour=diff_colours[key], label=diff_names[key])
            ax.axhline(0.0, color="k", lw=0.8)
            fd = panel["final_differences"][key]
            side = "lower side" if row == 1 else "upper side"
            state = v["empirical_sandwich"].get("parts", {}).get(side, {})
            ax.set_title(f"{diff_names[key]}\nat T: {fd['mean']:.3g} (95% CI {fd['ci_low']:.3g} .. "
                         f"{fd['ci_high']:.3g}): {verdict_words(state, yes='in order', no='reversed')}"
                         if state else diff_names[key], fontsize=8)
            ax.set_xlabel("step t")
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        timed = axes[3, j]
        for k in RUNS:
            tt = np.asarray(panel["time"][k]["t"])
            draw_band(timed, tt, panel["curves"][k], colour=COLOURS[k],
                      label=f"{names[k] if k != 'hsgd' else 'H-SGD'}: {panel['time'][k]['total']:.3g} s to T")
        timed.set_xscale("log")
        timed.set_xlabel("wall-clock-equivalent time, s (network: title)")
        timed.set_title("the same runs against time", fontsize=8)
        timed.legend(fontsize=7)
    net = data.get("network")
    for j in range(cols):
        axes[3, j].set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$")
        axes[0, j].set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$\n(mean over seeds, 95% band)")
        axes[1, j].set_ylabel("paired difference of running\naverages (95% band over seeds)")
        axes[2, j].set_ylabel("paired difference of running\naverages (95% band over seeds)")
    c0, p0 = data["panels"][0]["constants"], data["panels"][0]
    fig.suptitle(
        f"F1: measured sandwich, local SGD (period {data['I']}) <= H-SGD (periods {data['I']}, {data['G']}) <= "
        f"local SGD (period {data['G']}); {data['n']} workers, {data['seeds']} seeds\n"
        f"gamma = {p0['gamma']:.4g} (largest allowed), L = {c0['L']:.3g}, T = {data['steps']}, "
        f"F0 = {c0['F0']:.4g}; bounds (not drawn: 20-100x larger) "
        f"{tally([p['verdicts']['bound_valid'] for p in data['panels']], 'panels', yes='hold')}"
        + ("" if not net else "\nbottom row: " + ", ".join(f"{l['name']} link {l['latency']:g} s + B/{l['bandwidth']:g} B/s"
                                                             for l in net["levels"])
           + f", compute {net['compute']:g} s/step (empirical.cost)"), fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F1 shows and its verdicts, in words with their basis."""
    panels = data["panels"]
    Ns = ", ".join(str(p["N"]) for p in panels)
    measured = tally([p["verdicts"]["empirical_sandwich"] for p in panels], "panels", yes="in order",
                     no="a side reversed")
    valid = tally([p["verdicts"]["bound_valid"] for p in panels], "panels", yes="hold")
    ordered = tally([p["verdicts"]["bound_sandwich"] for p in panels], "panels", yes="ordered")
    return (f"F1 (measured sandwich, N = {Ns}): measured sandwich {measured}; bounds {valid}; "
            f"bounds with random grouping {ordered}")


def build_f1(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F1 (``f1_sandwich.png/.pdf/.json``) into ``out_dir``."""
    data = f1_data(quick)
    return publish(draw_f1(data), data, Path(out_dir) / "f1_sandwich")
